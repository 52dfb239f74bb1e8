/*
 * test_vm_fused.c — the interpreter's translated form (interp.c, xlate):
 * superinstructions give the same results as the bytecode they replace,
 * on edge values (srem by constants, wrap-around), and an exception inside
 * a fused op leaves the locals as the original code would (handler sees
 * the stores made before, none after).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "vmtest.h"

static const char *SRC =
    ".package A0000000FF0F01 1.0 library\n"
    /* out(apdu, v0..v3): 8 bytes */
    ".method out static args=5\n"
    "    aload_0\n invokestatic APDU.getBuffer\n astore 5\n"
    "    aload 5\n sconst_0\n sload_1\n invokestatic Util.setShort\n pop\n"
    "    aload 5\n sconst_2\n sload_2\n invokestatic Util.setShort\n pop\n"
    "    aload 5\n sconst_4\n sload_3\n invokestatic Util.setShort\n pop\n"
    "    aload 5\n bspush 6\n sload 4\n invokestatic Util.setShort\n pop\n"
    "    aload_0\n sconst_0\n bspush 8\n invokestatic APDU.setOutgoingAndSend\n return\n"
    ".end\n"
    /* 1: remainders by constants */
    ".method rem static args=1\n"
    "    bspush -7\n sstore_1\n"
    "    sload_1\n sconst_3\n srem\n sstore_2\n"                       /* -1 */
    "    sspush -32768\n sstore_3\n"
    "    sload_3\n bspush 7\n srem\n sstore 4\n"                       /* -32768 % 7 = -1 */
    "    sspush 32767\n sspush 32767\n sadd\n bspush 10\n srem\n sstore 5\n"   /* -2 % 10 = -2 */
    "    sload_3\n bspush -3\n srem\n sstore 6\n"                      /* -32768 % -3 = -2 */
    "    sload_1\n sspush -32768\n srem\n sstore_1\n"                  /* -7 */
    "    aload_0\n sload 2\n sload 4\n sload 5\n sload 6\n invokestatic out\n"
    "    aload_0\n invokestatic APDU.getBuffer\n pop\n return\n"
    ".end\n"
    /* 2: exception inside fused ops */
    ".method exc static args=1\n"
    "    sconst_4\n newarray byte\n astore_1\n"
    "    sconst_4\n newarray short\n astore_2\n"
    "    bspush 9\n sstore_3\n sconst_5\n sstore 4\n sconst_0\n sstore 5\n sconst_0\n sstore 6\n"
    "t1: aload_2\n sload_3\n saload\n sstore 4\n"                    /* throws: l4 stays 5 */
    "    sconst_1\n sstore 4\n"
    "t1e: goto n2\n"
    "h1: pop\n sload 5\n sconst_1\n sadd\n sstore 5\n"
    "n2: sload 4\n aload_1\n sload_3\n baload\n sspush 255\n sand\n sadd\n sstore 6\n"  /* throws */
    "t2e: goto n3\n"
    "h2: pop\n sload 5\n bspush 16\n sadd\n sstore 5\n"
    "n3: aload_1\n sconst_3\n bspush -1\n bastore\n"
    "    aload_1\n sconst_3\n baload\n sspush 255\n sand\n sstore 6\n"    /* 255 */
    "    aload_0\n sload 4\n sload 5\n sload 6\n aload_2\n arraylength\n invokestatic out\n return\n"
    ".catch t1 t1e h1 any\n"
    ".catch n2 t2e h2 ArrayIndexOutOfBoundsException\n"
    ".end\n"
    /* 3: loops: triangular and counted, with wrap */
    ".method loops static args=1\n"
    "    sconst_0\n sstore_1\n sconst_0\n sstore_2\n"
    "o:  sconst_0\n sstore_3\n"
    "i:  sinc 1 1\n sinc 3 1\n sload_3\n bspush 10\n sload_2\n ssub\n if_scmplt i\n"
    "    sinc 2 1\n sload_2\n bspush 10\n if_scmplt o\n"                 /* sum_{j<10} (10-j) = 55, +? */
    "    sspush 32760\n sstore 4\n sconst_0\n sstore 5\n"
    "w:  sinc 5 1\n sinc 4 1\n sload 4\n sconst_0\n if_scmpgt w\n"    /* runs until wrap: 8 */
    "    aload_0\n sload_1\n sload_2\n sload 4\n sload 5\n invokestatic out\n return\n"
    ".end\n"
    /* 4: element pairs (load-load-compare, store-store): the second element's
     * exception comes after the first element's local/array write */
    ".method pairs static args=1\n"
    "    sconst_4\n newarray short\n astore_1\n sconst_3\n sstore_2\n sconst_0\n sstore 5\n sspush 4660\n sstore 6\n"
    "    aload_1\n sconst_3\n bspush -5\n sastore\n sconst_1\n sstore 7\n"
    "t1: aload_1\n sload_2\n saload\n sstore 5\n aload_1\n sload_2\n sconst_1\n sadd\n saload\n sstore 6\n"
    "    sload 5\n sload 6\n if_scmple t1e\n"
    "    sconst_0\n sstore 7\n"
    "t1e: goto n2\n"
    "h1: pop\n"
    "n2: bspush 7\n sstore_3\n bspush 9\n sstore 4\n"
    "t2: aload_1\n sload_2\n sload_3\n sastore\n aload_1\n sload_2\n sconst_1\n sadd\n sload 4\n sastore\n"
    "t2e: goto n3\n"
    "h2: pop\n sinc 7 16\n"
    "n3: aload_0\n sload 5\n sload 6\n aload_1\n sconst_3\n saload\n sload 7\n invokestatic out\n return\n"
    ".catch t1 t1e h1 ArrayIndexOutOfBoundsException\n"
    ".catch t2 t2e h2 ArrayIndexOutOfBoundsException\n"
    ".end\n"
    /* 5: fused accumulate-and-remainder, and a compare-and-swap that runs */
    ".method arith static args=1\n"
    "    sconst_4\n newarray byte\n astore 8\n aload 8\n sconst_1\n sconst_m1\n bastore\n"
    "    bspush -100\n sstore 7\n sspush -32768\n sstore 9\n sspush 32767\n sstore 10\n sspush 32767\n sstore 11\n"
    "    sload 7\n aload 8\n sconst_1\n baload\n sspush 255\n sand\n sadd\n sspush 255\n srem\n sstore 7\n"   /* 155 */
    "    sload 9\n aload 8\n sconst_0\n baload\n sspush 255\n sand\n sadd\n bspush -7\n srem\n sstore 9\n"  /* -1 */
    "    sload 10\n sload 11\n sadd\n sspush -32768\n srem\n sstore 10\n"                                     /* -2 */
    "    sconst_2\n newarray short\n astore_1\n aload_1\n sconst_0\n sconst_3\n sastore\n aload_1\n sconst_1\n sconst_1\n sastore\n"
    "    sconst_0\n sstore_2\n"
    "    aload_1\n sload_2\n saload\n sstore 5\n aload_1\n sload_2\n sconst_1\n sadd\n saload\n sstore 6\n"
    "    sload 5\n sload 6\n if_scmple done\n"
    "    aload_1\n sload_2\n sload 6\n sastore\n aload_1\n sload_2\n sconst_1\n sadd\n sload 5\n sastore\n"
    "done: aload_0\n sload 7\n sload 9\n sload 10\n"
    "    aload_1\n sconst_0\n saload\n bspush 4\n sshl\n aload_1\n sconst_1\n saload\n sor\n invokestatic out\n return\n"
    ".end\n";

static void run(vt_card *k, uint16_t m, const uint8_t *expect)
{
    static const uint8_t aid[] = { 0xA0, 0, 0, 0, 0xFF, 0x0F, 0x01 };
    uint8_t apdu[5] = { 0x80, 0x00, 0, 0, 0 }, resp[256];
    size_t rlen = 0;
    uint16_t sw = 0;
    int rc = vm_invoke(k->rt, aid, sizeof aid, m, apdu, sizeof apdu, resp, sizeof resp, &rlen, &sw);
    if (rc != VM_OK || sw != 0x9000)
        fail_msg("method %u: rc %d sw %04X", m, rc, sw);
    assert_int_equal(rlen, 8);
    assert_memory_equal(resp, expect, 8);
}

static void test_fused(void **state)
{
    (void)state;
    vt_card k;
    vt_card_new(&k, NULL);
    uint8_t *blob;
    size_t len;
    vt_asm(SRC, &blob, &len);
    char err[200];
    assert_int_equal(vm_load_package(k.rt, blob, len, 0, err, sizeof err), VM_OK);
    free(blob);
    vt_commit(&k);
    static const uint8_t exc_[8] = { 0, 5, 0, 17, 0, 255, 0, 4 };
    static const uint8_t loops_[8] = { 0, 55, 0, 10, 0x80, 0x00, 0, 8 };
    static const uint8_t rem[8] = { 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFE, 0xFF, 0xFE };
    run(&k, 3, loops_);
    run(&k, 2, exc_);
    run(&k, 1, rem);
    /* l4 = 5 (store after the throw not done), l5 = 1 + 16, l6 = 255, length 4 */
    static const uint8_t exc[8] = { 0, 5, 0, 17, 0, 255, 0, 4 };
    run(&k, 2, exc);
    /* inner loop runs 10 - j times for j = 0..9: 55; j ends at 10; l4 wraps to -32768 after 8 increments */
    static const uint8_t loops[8] = { 0, 55, 0, 10, 0x80, 0x00, 0, 8 };
    run(&k, 3, loops);
    /* after a reset (translations dropped), same results */
    vt_reset(&k);
    run(&k, 3, loops);
    run(&k, 1, rem);
    /* l5 = s[3] = -5 (written before the throw), l6 untouched, s[3] = 7
     * (stored before the throw), both handlers ran: 1 + 16 */
    static const uint8_t pairs[8] = { 0xFF, 0xFB, 0x12, 0x34, 0, 7, 0, 17 };
    run(&k, 4, pairs);
    static const uint8_t arith[8] = { 0, 155, 0xFF, 0xFF, 0xFF, 0xFE, 0, 0x13 };
    run(&k, 5, arith);
    vt_card_free(&k);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
