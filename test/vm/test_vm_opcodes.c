/*
 * test_vm_opcodes.c — one small program per instruction family, with edge
 * values: each body leaves a short on the stack; the template sends it back
 * as two bytes, or the uncaught exception ends in its status word.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "vm_asm.h"
#include "vmtest.h"

static const uint8_t PKG_AID[] = { 0xA0, 0x00, 0x00, 0x00, 0xFF, 0x00, 0x01 };

static const char *TEMPLATE_HEAD =
    ".package A0000000FF0001 1.0 applet\n"
    ".static st 0\n"
    ".static st2 7\n"
    ".class T\n"
    ".field a\n"
    ".field b\n"
    ".class U extends T\n"
    ".field c\n"
    ".class Main\n"
    ".method Main.main static args=1\n";
static const char *TEMPLATE_TAIL =
    "    sstore_1\n"
    "    aload_0\n"
    "    invokestatic APDU.getBuffer\n"
    "    astore_2\n"
    "    aload_2\n"
    "    sconst_0\n"
    "    sload_1\n"
    "    invokestatic Util.setShort\n"
    "    pop\n"
    "    aload_0\n"
    "    sconst_0\n"
    "    sconst_2\n"
    "    invokestatic APDU.setOutgoingAndSend\n"
    "    return\n"
    ".end\n";

typedef struct op_case {
    const char *name;
    const char *body;
    const char *extra;   /* more classes/methods after main */
    int sw;              /* 0x9000: expect `value` */
    int value;
} op_case;

/* Run one case: returns SW, value in *v. */
static uint16_t run_case(vt_card *k, const op_case *c, int16_t *v)
{
    size_t n = strlen(TEMPLATE_HEAD) + strlen(c->body) + strlen(TEMPLATE_TAIL) + (c->extra ? strlen(c->extra) : 0) + 8;
    char *src = malloc(n);
    snprintf(src, n, "%s%s\n%s%s", TEMPLATE_HEAD, c->body, TEMPLATE_TAIL, c->extra ? c->extra : "");
    uint8_t *blob;
    size_t len;
    char err[512];
    if (vm_asm(src, strlen(src), c->name, NULL, &blob, &len, err, sizeof err) != VM_OK)
        fail_msg("%s: %s", c->name, err);
    free(src);
    vm_delete_package(k->rt, PKG_AID, sizeof PKG_AID);
    int rc = vm_load_package(k->rt, blob, len, 0, err, sizeof err);
    if (rc != VM_OK)
        fail_msg("%s: load: %s %s", c->name, vm_strerror(rc), err);
    free(blob);
    uint8_t apdu[] = { 0x80, 0x01, 0x00, 0x00, 0x00 };
    uint8_t resp[300];
    size_t rlen = 0;
    uint16_t sw = 0;
    assert_int_equal(vm_invoke(k->rt, PKG_AID, sizeof PKG_AID, 0, apdu, sizeof apdu, resp, sizeof resp, &rlen, &sw),
                     VM_OK);
    *v = rlen == 2 ? (int16_t)(resp[0] << 8 | resp[1]) : 0;
    return sw;
}

static const op_case cases[] = {
    /* constants */
    { "sconst_m1", "sconst_m1", NULL, 0x9000, -1 },
    { "sconst_5", "sconst_5", NULL, 0x9000, 5 },
    { "bspush_min", "bspush -128", NULL, 0x9000, -128 },
    { "sspush_max", "sspush 32767", NULL, 0x9000, 32767 },
    { "aconst_null", "aconst_null\n ifnull y\n sconst_0\n goto e\ny: sconst_1\ne: nop", NULL, 0x9000, 1 },
    /* locals */
    { "locals", "sspush 1234\n sstore 7\n sload 7\n sstore_3\n sload_3", NULL, 0x9000, 1234 },
    { "sinc", "bspush 10\n sstore_3\n sinc 3 -128\n sload_3", NULL, 0x9000, -118 },
    { "sinc_w", "sspush 32767\n sstore_3\n sinc_w 3 1\n sload_3", NULL, 0x9000, -32768 },
    /* arithmetic */
    { "sadd_wrap", "sspush 32767\n sconst_1\n sadd", NULL, 0x9000, -32768 },
    { "ssub_wrap", "sspush -32768\n sconst_1\n ssub", NULL, 0x9000, 32767 },
    { "smul_wrap", "sspush 300\n sspush 300\n smul", NULL, 0x9000, 24464 },
    { "sdiv", "bspush 7\n bspush -2\n sdiv", NULL, 0x9000, -3 },
    { "sdiv_min", "sspush -32768\n sconst_m1\n sdiv", NULL, 0x9000, -32768 },
    { "sdiv_zero", "sconst_1\n sconst_0\n sdiv", NULL, 0x6F00, 0 },
    { "srem", "bspush -7\n sconst_3\n srem", NULL, 0x9000, -1 },
    { "srem_min", "sspush -32768\n sconst_m1\n srem", NULL, 0x9000, 0 },
    { "srem_zero", "sconst_1\n sconst_0\n srem", NULL, 0x6F00, 0 },
    { "sneg_min", "sspush -32768\n sneg", NULL, 0x9000, -32768 },
    { "sshl_15", "sconst_1\n bspush 15\n sshl", NULL, 0x9000, -32768 },
    { "sshl_16", "sconst_1\n bspush 16\n sshl", NULL, 0x9000, 0 },
    { "sshl_33", "sconst_1\n bspush 33\n sshl", NULL, 0x9000, 2 },
    { "sshl_negative", "sconst_1\n sconst_m1\n sshl", NULL, 0x9000, 0 },
    { "sshr_neg", "sspush -32768\n bspush 15\n sshr", NULL, 0x9000, -1 },
    { "sshr_31", "sspush 16384\n bspush 31\n sshr", NULL, 0x9000, 0 },
    { "sushr_neg", "bspush -16\n sconst_2\n sushr", NULL, 0x9000, -4 },
    { "sushr_large", "sspush -32768\n bspush 15\n sushr", NULL, 0x9000, -1 },
    { "sushr_pos", "sconst_4\n sconst_1\n sushr", NULL, 0x9000, 2 },
    { "sushr_20", "sconst_m1\n bspush 20\n sushr", NULL, 0x9000, 0x0FFF },
    { "sand", "sspush 0x0FF0\n sspush 0x3C3C\n sand", NULL, 0x9000, 0x0C30 },
    { "sor", "sspush 0x0F00\n bspush 0x0F\n sor", NULL, 0x9000, 0x0F0F },
    { "sxor", "sconst_m1\n sspush 0x00FF\n sxor", NULL, 0x9000, (int16_t)0xFF00 },
    { "s2b_ff", "sspush 0x01FF\n s2b", NULL, 0x9000, -1 },
    { "s2b_80", "sspush 0x0080\n s2b", NULL, 0x9000, -128 },
    /* stack: fold the stack into digits: ((x*10+y)*10+z) */
    { "dup", "sconst_3\n dup\n sadd", NULL, 0x9000, 6 },
    { "dup2", "sconst_1\n sconst_2\n dup2\n sstore 6\n sstore 5\n sstore 4\n sstore_3\n"
              " sload_3\n bspush 10\n smul\n sload 4\n sadd\n bspush 10\n smul\n sload 5\n sadd\n bspush 10\n smul\n sload 6\n sadd",
      NULL, 0x9000, 1212 },
    { "pop_pop2", "sconst_1\n sconst_2\n sconst_3\n sconst_4\n pop2\n pop", NULL, 0x9000, 1 },
    { "dup_x_12", "sconst_1\n sconst_2\n dup_x 1 2\n sstore 5\n sstore 4\n sstore_3\n"
                  " sload_3\n bspush 10\n smul\n sload 4\n sadd\n bspush 10\n smul\n sload 5\n sadd", NULL, 0x9000, 212 },
    { "dup_x_20", "sconst_1\n sconst_2\n dup_x 2 0\n sstore 6\n sstore 5\n sstore 4\n sstore_3\n"
                  " sload_3\n bspush 10\n smul\n sload 4\n sadd\n bspush 10\n smul\n sload 5\n sadd\n bspush 10\n smul\n sload 6\n sadd",
      NULL, 0x9000, 1212 },
    { "swap_x_11", "sconst_1\n sconst_2\n swap_x 1 1\n sstore 4\n sstore_3\n sload_3\n bspush 10\n smul\n sload 4\n sadd",
      NULL, 0x9000, 21 },
    { "swap_x_12", "sconst_1\n sconst_2\n sconst_3\n swap_x 1 2\n sstore 5\n sstore 4\n sstore_3\n"
                   " sload_3\n bspush 10\n smul\n sload 4\n sadd\n bspush 10\n smul\n sload 5\n sadd", NULL, 0x9000, 312 },
    /* branches */
    { "ifeq_taken", "sconst_0\n ifeq y\n sconst_0\n goto e\ny: sconst_1\ne: nop", NULL, 0x9000, 1 },
    { "ifne_not", "sconst_0\n ifne y\n sconst_0\n goto e\ny: sconst_1\ne: nop", NULL, 0x9000, 0 },
    { "iflt", "sconst_m1\n iflt y\n sconst_0\n goto e\ny: sconst_1\ne: nop", NULL, 0x9000, 1 },
    { "ifge", "sconst_0\n ifge y\n sconst_0\n goto e\ny: sconst_1\ne: nop", NULL, 0x9000, 1 },
    { "ifgt", "sconst_0\n ifgt y\n sconst_0\n goto e\ny: sconst_1\ne: nop", NULL, 0x9000, 0 },
    { "ifle", "sspush -32768\n ifle y\n sconst_0\n goto e\ny: sconst_1\ne: nop", NULL, 0x9000, 1 },
    { "if_scmplt_signed", "sconst_m1\n sconst_1\n if_scmplt y\n sconst_0\n goto e\ny: sconst_1\ne: nop", NULL, 0x9000, 1 },
    { "if_scmpge", "sconst_2\n sconst_2\n if_scmpge y\n sconst_0\n goto e\ny: sconst_1\ne: nop", NULL, 0x9000, 1 },
    { "if_scmpgt", "sconst_2\n sconst_2\n if_scmpgt y\n sconst_0\n goto e\ny: sconst_1\ne: nop", NULL, 0x9000, 0 },
    { "if_scmple", "sconst_2\n sconst_3\n if_scmple y\n sconst_0\n goto e\ny: sconst_1\ne: nop", NULL, 0x9000, 1 },
    { "if_scmpeq", "sconst_2\n sconst_2\n if_scmpeq y\n sconst_0\n goto e\ny: sconst_1\ne: nop", NULL, 0x9000, 1 },
    { "if_scmpne", "sconst_2\n sconst_2\n if_scmpne y\n sconst_0\n goto e\ny: sconst_1\ne: nop", NULL, 0x9000, 0 },
    { "if_acmp", "new T\n astore_3\n aload_3\n aload_3\n if_acmpeq y\n sconst_0\n goto e\n"
                 "y: aload_3\n aconst_null\n if_acmpne z\n sconst_0\n goto e\nz: sconst_1\ne: nop", NULL, 0x9000, 1 },
    { "ifnonnull", "new T\n ifnonnull y\n sconst_0\n goto e\ny: sconst_1\ne: nop", NULL, 0x9000, 1 },
    { "wide_branches", "sconst_0\n ifeq_w y\n sconst_0\n goto_w e\ny: sconst_1\n sconst_2\n if_scmplt_w z\n sconst_0\n goto_w e\n"
                       "z: sconst_3\ne: nop", NULL, 0x9000, 3 },
    { "loop_sum", "sconst_0\n sstore_3\n sconst_0\n sstore 4\nl: sload_3\n sload 4\n sadd\n sstore_3\n sinc 4 1\n"
                  " sload 4\n bspush 100\n if_scmple l\n sload_3", NULL, 0x9000, 5050 },
    { "stableswitch_in", "sconst_2\n stableswitch 1 3 d a b c\na: bspush 10\n goto e\nb: bspush 20\n goto e\n"
                         "c: bspush 30\n goto e\nd: bspush 99\ne: nop", NULL, 0x9000, 20 },
    { "stableswitch_out", "bspush 7\n stableswitch 1 3 d a b c\na: bspush 10\n goto e\nb: bspush 20\n goto e\n"
                          "c: bspush 30\n goto e\nd: bspush 99\ne: nop", NULL, 0x9000, 99 },
    { "stableswitch_neg", "sconst_m1\n stableswitch -1 0 d a b\na: bspush 10\n goto e\nb: bspush 20\n goto e\n"
                          "d: bspush 99\ne: nop", NULL, 0x9000, 10 },
    { "slookupswitch_hit", "sspush -300\n slookupswitch d -300:a 5:b 1000:c\na: bspush 10\n goto e\nb: bspush 20\n goto e\n"
                           "c: bspush 30\n goto e\nd: bspush 99\ne: nop", NULL, 0x9000, 10 },
    { "slookupswitch_last", "sspush 1000\n slookupswitch d -300:a 5:b 1000:c\na: bspush 10\n goto e\nb: bspush 20\n goto e\n"
                            "c: bspush 30\n goto e\nd: bspush 99\ne: nop", NULL, 0x9000, 30 },
    { "slookupswitch_miss", "sconst_4\n slookupswitch d -300:a 5:b 1000:c\na: bspush 10\n goto e\nb: bspush 20\n goto e\n"
                            "c: bspush 30\n goto e\nd: bspush 99\ne: nop", NULL, 0x9000, 99 },
    /* arrays */
    { "bytes", "sconst_3\n newarray byte\n astore_3\n aload_3\n sconst_2\n bspush -5\n bastore\n aload_3\n sconst_2\n baload", NULL, 0x9000, -5 },
    { "bastore_truncates", "sconst_1\n newarray byte\n astore_3\n aload_3\n sconst_0\n sspush 0x1234\n bastore\n aload_3\n sconst_0\n baload", NULL, 0x9000, 0x34 },
    { "booleans", "sconst_1\n newarray boolean\n astore_3\n aload_3\n sconst_0\n sconst_1\n bastore\n aload_3\n sconst_0\n baload", NULL, 0x9000, 1 },
    { "shorts", "sconst_4\n newarray short\n astore_3\n aload_3\n sconst_3\n sspush -2\n sastore\n aload_3\n sconst_3\n saload", NULL, 0x9000, -2 },
    { "arraylength", "bspush 17\n newarray short\n arraylength", NULL, 0x9000, 17 },
    { "array_zero_length", "sconst_0\n newarray byte\n arraylength", NULL, 0x9000, 0 },
    { "array_index_high", "sconst_3\n newarray byte\n sconst_3\n baload", NULL, 0x6F00, 0 },
    { "array_index_negative", "sconst_3\n newarray short\n sconst_m1\n saload", NULL, 0x6F00, 0 },
    { "array_null", "aconst_null\n sconst_0\n baload", NULL, 0x6F00, 0 },
    { "array_negative_size", "sconst_m1\n newarray byte\n arraylength", NULL, 0x6F00, 0 },
    { "array_wrong_kind", "sconst_3\n newarray byte\n sconst_0\n saload", NULL, 0x6F00, 0 },
    { "refs", "sconst_2\n anewarray T\n astore_3\n aload_3\n sconst_1\n new U\n aastore\n aload_3\n sconst_1\n aaload\n"
              " instanceof U", NULL, 0x9000, 1 },
    { "aastore_wrong_class", "sconst_2\n anewarray U\n sconst_0\n new T\n aastore\n sconst_0", NULL, 0x6F00, 0 },
    { "transient_bytes", "bspush 8\n sconst_1\n invokestatic JCSystem.makeTransientByteArray\n astore_3\n"
                         " aload_3\n sconst_5\n bspush 42\n bastore\n aload_3\n sconst_5\n baload", NULL, 0x9000, 42 },
    /* objects and fields */
    { "fields", "new U\n astore_3\n aload_3\n sspush 1111\n putfield_s U.a\n aload_3\n sspush 2222\n putfield_s U.c\n"
                " aload_3\n getfield_s U.c\n aload_3\n getfield_s T.a\n ssub", NULL, 0x9000, 1111 },
    { "putfield_b", "new T\n astore_3\n aload_3\n sspush 0x1FF\n putfield_b T.b\n aload_3\n getfield_b T.b", NULL, 0x9000, -1 },
    { "fields_wide", "new T\n astore_3\n aload_3\n sspush 77\n putfield_s_w T.b\n aload_3\n getfield_s_w T.b", NULL, 0x9000, 77 },
    { "field_null", "aconst_null\n getfield_s T.a", NULL, 0x6F00, 0 },
    { "field_on_array", "sconst_1\n newarray short\n getfield_s T.a", NULL, 0x6F00, 0 },
    { "statics", "sspush 4321\n putstatic_s st\n getstatic_s st\n getstatic_s st2\n sadd", NULL, 0x9000, 4328 },
    { "putstatic_b", "sspush 0x180\n putstatic_b st\n getstatic_b st", NULL, 0x9000, -128 },
    { "checkcast_ok", "new U\n checkcast T\n instanceof U", NULL, 0x9000, 1 },
    { "checkcast_fail", "new T\n checkcast U\n pop\n sconst_0", NULL, 0x6F00, 0 },
    { "checkcast_null", "aconst_null\n checkcast U\n ifnull y\n sconst_0\n goto e\ny: sconst_1\ne: nop", NULL, 0x9000, 1 },
    { "instanceof_array", "sconst_1\n newarray byte\n instanceof byte[]", NULL, 0x9000, 1 },
    { "instanceof_wrong", "sconst_1\n newarray byte\n instanceof short[]", NULL, 0x9000, 0 },
    /* calls */
    { "invokestatic", "bspush 20\n bspush 22\n invokestatic Main.add", 
      ".method Main.add static args=2 returns\n sload_0\n sload_1\n sadd\n sreturn\n.end\n", 0x9000, 42 },
    { "recursion", "bspush 7\n invokestatic Main.fact",
      ".method Main.fact static args=1 returns\n sload_0\n sconst_1\n if_scmpgt r\n sconst_1\n sreturn\n"
      "r: sload_0\n sload_0\n sconst_1\n ssub\n invokestatic Main.fact\n smul\n sreturn\n.end\n", 0x9000, 5040 },
    { "deep_recursion", "sconst_0\n invokestatic Main.down",
      ".method Main.down static args=1 returns\n sload_0\n sconst_1\n sadd\n invokestatic Main.down\n sreturn\n.end\n", 0x6F00, 0 },
    { "invokevirtual", "new U\n invokevirtual T.who\n new T\n invokevirtual T.who\n ssub",
      ".class T2\n.method T.who returns\n sconst_1\n sreturn\n.end\n.method U.who returns\n bspush 10\n sreturn\n.end\n", 0x9000, 9 },
    { "invokevirtual_null", "aconst_null\n invokevirtual T.who",
      ".method T.who returns\n sconst_1\n sreturn\n.end\n", 0x6F00, 0 },
    { "invokespecial", "new T\n dup\n invokespecial T.init\n getfield_s T.a",
      ".method T.init special\n aload_0\n bspush 55\n putfield_s_this T.a\n return\n.end\n", 0x9000, 55 },
    { "getfield_this", "new T\n dup\n invokespecial T.init\n getfield_s T.b",
      ".method T.init special\n bspush 66\n putfield_s_this T.b\n getfield_s_this T.b\n pop\n return\n.end\n", 0x9000, 66 },
    /* exceptions */
    { "catch_arith", "sconst_1\n sconst_0\ns: sdiv\n goto e\nend: nop\nh: pop\n bspush 77\ne: nop\n .catch s end h ArithmeticException",
      NULL, 0x9000, 77 },
    { "catch_any", "aconst_null\ns: arraylength\n goto e\nend: nop\nh: pop\n bspush 78\ne: nop\n .catch s end h any", NULL, 0x9000, 78 },
    { "catch_wrong_type", "sconst_1\n sconst_0\ns: sdiv\n goto e\nend: nop\nh: pop\n bspush 77\ne: nop\n .catch s end h NullPointerException",
      NULL, 0x6F00, 0 },
    { "catch_iso_reason", "s: sspush 0x6A88\n invokestatic ISOException.throwIt\n sconst_0\n goto e\nend: nop\n"
                          "h: invokestatic CardRuntimeException.getReason\ne: nop\n .catch s end h ISOException", NULL, 0x9000, 0x6A88 },
    { "iso_uncaught", "sspush 0x6982\n invokestatic ISOException.throwIt\n sconst_0", NULL, 0x6982, 0 },
    { "catch_in_caller", "s: invokestatic Main.boom\n goto e\nend: nop\nh: pop\n bspush 79\ne: nop\n .catch s end h RuntimeException",
      ".method Main.boom static returns\n aconst_null\n arraylength\n sreturn\n.end\n", 0x9000, 79 },
    { "athrow_user", "s: new X\n athrow\nend: nop\nh: instanceof X\n .catch s end h Exception",
      ".class X extends Exception\n", 0x9000, 1 },
    { "athrow_null", "aconst_null\n athrow\n sconst_0", NULL, 0x6F00, 0 },
    { "athrow_not_throwable", "new T\n athrow\n sconst_0", NULL, 0x6F00, 0 },
    { "forged_reference", "sspush 9999\n arraylength", NULL, 0x6F00, 0 },
    { "budget", "l: goto l\n sconst_0", NULL, 0x6F00, 0 },
};

static void test_opcodes(void **state)
{
    (void)state;
    vt_card k;
    vm_config cfg;
    vm_config_default(&cfg);
    cfg.budget = 200000;
    vt_card_new(&k, &cfg);
    int failures = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int16_t v = 0;
        uint16_t sw = run_case(&k, &cases[i], &v);
        if (sw != cases[i].sw || (sw == 0x9000 && v != (int16_t)cases[i].value)) {
            print_error("case %s: expected SW %04X value %d, got SW %04X value %d\n", cases[i].name, cases[i].sw,
                        cases[i].value, sw, v);
            failures++;
        }
    }
    vt_card_free(&k);
    assert_int_equal(failures, 0);
}

/* A runtime error leaves persistent state as the last committed
 * transaction left it: the open transaction's writes are undone, earlier
 * non-transactional writes stay (Java Card semantics). */
static void test_error_keeps_committed_state(void **state)
{
    (void)state;
    vt_card k;
    vt_card_new(&k, NULL);
    const char *src =
        ".package A0000000FF0001 1.0 applet\n"
        ".static st 1\n"
        ".static st2 7\n"
        ".class Main\n"
        ".method fail static args=1\n"
        "    sspush 11\n putstatic_s st\n invokestatic JCSystem.beginTransaction\n"
        "    sspush 22\n putstatic_s st2\n aconst_null\n arraylength\n pop\n return\n"
        ".end\n"
        ".method read static args=1\n"
        "    aload_0\n invokestatic APDU.getBuffer\n sconst_0\n"
        "    getstatic_s st\n bspush 100\n smul\n getstatic_s st2\n sadd\n"
        "    invokestatic Util.setShort\n pop\n"
        "    aload_0\n sconst_0\n sconst_2\n invokestatic APDU.setOutgoingAndSend\n return\n"
        ".end\n";
    uint8_t *blob;
    size_t len;
    vt_asm(src, &blob, &len);
    assert_int_equal(vm_load_package(k.rt, blob, len, 0, NULL, 0), VM_OK);
    free(blob);
    uint8_t apdu[] = { 0x80, 0x01, 0x00, 0x00, 0x00 }, resp[300];
    size_t rlen;
    uint16_t sw;
    assert_int_equal(vm_invoke(k.rt, PKG_AID, sizeof PKG_AID, 1, apdu, sizeof apdu, resp, sizeof resp, &rlen, &sw), VM_OK);
    assert_int_equal(sw, 0x9000);
    assert_int_equal(resp[0] << 8 | resp[1], 107);
    assert_int_equal(vm_invoke(k.rt, PKG_AID, sizeof PKG_AID, 0, apdu, sizeof apdu, resp, sizeof resp, &rlen, &sw), VM_OK);
    assert_int_equal(sw, 0x6F00);
    assert_int_equal(vm_invoke(k.rt, PKG_AID, sizeof PKG_AID, 1, apdu, sizeof apdu, resp, sizeof resp, &rlen, &sw), VM_OK);
    assert_int_equal(resp[0] << 8 | resp[1], 1107);   /* st = 11 kept, st2 = 7 restored */
    vt_reopen(&k, NULL);
    assert_int_equal(vm_invoke(k.rt, PKG_AID, sizeof PKG_AID, 1, apdu, sizeof apdu, resp, sizeof resp, &rlen, &sw), VM_OK);
    assert_int_equal(resp[0] << 8 | resp[1], 1107);
    vt_card_free(&k);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_opcodes),
        cmocka_unit_test(test_error_keeps_committed_state),
    };
    return cmocka_run_group_tests_name("vm_opcodes", tests, NULL, NULL);
}
