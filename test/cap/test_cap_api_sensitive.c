/* test_cap_api_sensitive.c — javacard.framework.SensitiveArrays (JC 3.0.5
 * API) on a real runtime: an integrity-sensitive array's check value follows
 * every legal update (bytecode-free API writes, transactions committed and
 * aborted, non-atomic fills, power cycles, transient clearing), and a change
 * made behind the engine's back — a byte of the chip's NVM or RAM written
 * directly, as a fault would — is found by assertIntegrity and refused at
 * the next update with SecurityException (the API: "the integrity control
 * element is automatically checked by the platform before any array update
 * operation"). The bytecode stores are covered by the fwkit applet
 * (test/applets, ctest framework_applet). */
#include <stdlib.h>

#include "api_test.h"
#include "tear.h"

#define SA "javacard/framework/SensitiveArrays"
#define FW "javacard/framework/"

enum { T_BOOLEAN = 1, T_BYTE = 2, T_SHORT = 3, T_INT = 4, T_OBJECT = 5 };
enum { M_PERSISTENT = 0, M_RESET = 1, M_DESELECT = 2 };

static uint16_t make(vm_runtime *rt, int type, int memory, int len)
{
    uint16_t h;
    assert_int_equal(at_call(rt, SA, "makeIntegritySensitiveArray", "(BBS)Ljava/lang/Object;", &h, type, memory, len), 0);
    return h;
}

static int assert_integrity(vm_runtime *rt, uint16_t h)
{
    return at_call(rt, SA, "assertIntegrity", "(Ljava/lang/Object;)V", NULL, h);
}

static int copy_into(vm_runtime *rt, uint16_t dst, const char *bytes, int atomic)
{
    uint16_t src = at_bytes(rt, bytes, (uint16_t)strlen(bytes)), ret;
    return at_call(rt, FW "Util", atomic ? "arrayCopy" : "arrayCopyNonAtomic", "([BS[BSS)S", &ret, src, 0, dst, 0,
                   (int)strlen(bytes));
}

static void test_supported_and_kinds(void **state)
{
    (void)state;
    vt_card k;
    vt_card_new(&k, NULL);
    vm_runtime *rt = k.rt;
    uint16_t ret;
    assert_int_equal(at_call(rt, SA, "isIntegritySensitiveArraysSupported", "()Z", &ret), 0);
    assert_int_equal(ret, 1);
    for (int t = T_BOOLEAN; t <= T_OBJECT; t++) {
        if (t == T_INT)
            continue;
        for (int m = M_PERSISTENT; m <= M_RESET; m++) {
            uint16_t h = make(rt, t, m, 5);
            assert_int_equal(rt->objs[h].length, 5);
            assert_int_equal(at_call(rt, SA, "isIntegritySensitive", "(Ljava/lang/Object;)Z", &ret, h), 0);
            assert_int_equal(ret, 1);
            assert_int_equal(assert_integrity(rt, h), 0);
        }
    }
    uint16_t plain = at_bytes(rt, NULL, 4);
    assert_int_equal(at_call(rt, SA, "isIntegritySensitive", "(Ljava/lang/Object;)Z", &ret, plain), 0);
    assert_int_equal(ret, 0);
    assert_int_equal(assert_integrity(rt, plain), AT_EXC_FW(JC_FW_SystemException, JC_SYS_ILLEGAL_VALUE));
    assert_int_equal(assert_integrity(rt, 0), API_NPE);
    assert_int_equal(at_call(rt, SA, "makeIntegritySensitiveArray", "(BBS)Ljava/lang/Object;", &ret, T_INT, 0, 4),
                     AT_EXC_FW(JC_FW_SystemException, JC_SYS_ILLEGAL_VALUE));
    assert_int_equal(at_call(rt, SA, "makeIntegritySensitiveArray", "(BBS)Ljava/lang/Object;", &ret, T_BYTE, 3, 4),
                     AT_EXC_FW(JC_FW_SystemException, JC_SYS_ILLEGAL_VALUE));
    assert_int_equal(at_call(rt, SA, "makeIntegritySensitiveArray", "(BBS)Ljava/lang/Object;", &ret, T_BYTE, 0, -1),
                     API_NEGSIZE);
    vt_card_free(&k);
}

/* Legal updates keep the check value: atomic and non-atomic copies, a
 * committed and an aborted transaction, a power cycle, clearArray. */
static void test_legal_updates(void **state)
{
    (void)state;
    vt_card k;
    vt_card_new(&k, NULL);
    vm_runtime *rt = k.rt;
    uint16_t p = make(rt, T_BYTE, M_PERSISTENT, 8);
    assert_int_equal(copy_into(rt, p, "ABCDEFGH", 1), 0);
    assert_int_equal(copy_into(rt, p, "xy", 0), 0);
    assert_int_equal(assert_integrity(rt, p), 0);
    assert_memory_equal(at_data(rt, p), "xyCDEFGH", 8);

    assert_int_equal(at_call(rt, FW "JCSystem", "beginTransaction", "()V", NULL), 0);
    assert_int_equal(copy_into(rt, p, "1234", 1), 0);
    assert_int_equal(assert_integrity(rt, p), 0);
    assert_int_equal(at_call(rt, FW "JCSystem", "abortTransaction", "()V", NULL), 0);
    assert_memory_equal(at_data(rt, p), "xyCDEFGH", 8);
    assert_int_equal(assert_integrity(rt, p), 0);

    assert_int_equal(at_call(rt, FW "JCSystem", "beginTransaction", "()V", NULL), 0);
    assert_int_equal(copy_into(rt, p, "1234", 1), 0);
    assert_int_equal(at_call(rt, FW "JCSystem", "commitTransaction", "()V", NULL), 0);
    assert_memory_equal(at_data(rt, p), "1234EFGH", 8);

    vt_commit(&k);
    vt_reset(&k);
    rt = k.rt;
    uint16_t ret;
    assert_int_equal(at_call(rt, SA, "isIntegritySensitive", "(Ljava/lang/Object;)Z", &ret, p), 0);
    assert_int_equal(ret, 1);
    assert_int_equal(assert_integrity(rt, p), 0);
    assert_memory_equal(at_data(rt, p), "1234EFGH", 8);

    assert_int_equal(at_call(rt, SA, "clearArray", "(Ljava/lang/Object;)S", &ret, p), 0);
    assert_int_equal(ret, 8);
    assert_memory_equal(at_data(rt, p), "\0\0\0\0\0\0\0\0", 8);
    assert_int_equal(assert_integrity(rt, p), 0);

    /* a CLEAR_ON_RESET one: written, then cleared by a reset */
    uint16_t t = make(rt, T_BYTE, M_RESET, 4);
    assert_int_equal(copy_into(rt, t, "SECR", 0), 0);
    assert_int_equal(assert_integrity(rt, t), 0);
    vt_commit(&k);
    vt_reset(&k);
    rt = k.rt;
    assert_memory_equal(at_data(rt, t), "\0\0\0\0", 4);
    assert_int_equal(assert_integrity(rt, t), 0);
    vt_card_free(&k);
}

/* A byte changed without the engine: found by assertIntegrity, and the
 * next update is refused (SecurityException) and changes nothing. */
static void test_tampering_found(void **state)
{
    (void)state;
    vt_card k;
    vt_card_new(&k, NULL);
    vm_runtime *rt = k.rt;
    uint16_t p = make(rt, T_SHORT, M_PERSISTENT, 4);
    uint16_t ret;
    uint8_t one = 0x5A;
    assert_int_equal(chip_nvm_write(k.c, rt->objs[p].nvm_off + VM_OBJ_HDR + 3, &one, 1), CHIP_OK);
    assert_int_equal(assert_integrity(rt, p), API_SECURITY);

    uint16_t b = make(rt, T_BYTE, M_PERSISTENT, 6);
    assert_int_equal(copy_into(rt, b, "ABCDEF", 1), 0);
    assert_int_equal(chip_nvm_write(k.c, rt->objs[b].nvm_off + VM_OBJ_HDR + 5, "G", 1), CHIP_OK);
    assert_int_equal(assert_integrity(rt, b), API_SECURITY);
    assert_int_not_equal(copy_into(rt, b, "zz", 1), 0);
    assert_memory_equal(at_data(rt, b), "ABCDEG", 6);

    uint16_t t = make(rt, T_BYTE, M_DESELECT, 4);
    assert_int_equal(copy_into(rt, t, "abcd", 0), 0);
    rt->objs[t].data[1] ^= 0x01;   /* RAM, as a fault would */
    assert_int_equal(assert_integrity(rt, t), API_SECURITY);
    assert_int_equal(at_call(rt, SA, "clearArray", "(Ljava/lang/Object;)S", &ret, t), API_SECURITY);

    /* an ordinary array is neither checked nor slowed */
    uint16_t plain = at_bytes(rt, "abcd", 4);
    assert_int_equal(at_call(rt, SA, "clearArray", "(Ljava/lang/Object;)S", &ret, plain), 0);
    assert_int_equal(ret, 4);
    assert_memory_equal(at_data(rt, plain), "\0\0\0\0", 4);
    vt_card_free(&k);
}

/* Power cut at every page write of an update of a persistent sensitive
 * array (data and check value in one command): reopened from the image,
 * it holds the old or the new bytes, never a mix, and is intact. */
typedef struct sctx {
    vt_card k;
    uint16_t h, src;
} sctx;

static void *tear_setup(void *arg)
{
    (void)arg;
    sctx *t = calloc(1, sizeof *t);
    assert_non_null(t);
    vt_card_new(&t->k, NULL);
    t->h = make(t->k.rt, T_BYTE, M_PERSISTENT, 8);
    assert_int_equal(copy_into(t->k.rt, t->h, "ABCDEFGH", 1), 0);
    t->src = at_bytes(t->k.rt, "12345678", 8);
    vt_commit(&t->k);
    return t;
}

static chip *tear_chip(void *ctx) { return ((sctx *)ctx)->k.c; }

static void tear_power_on(void *ctx) { vt_reset(&((sctx *)ctx)->k); }

static int tear_run(void *ctx)
{
    sctx *t = ctx;
    uint16_t ret;
    if (at_call(t->k.rt, FW "Util", "arrayCopy", "([BS[BSS)S", &ret, t->src, 0, t->h, 0, 8) != 0)
        return 1;
    return chip_commit(t->k.c) == CHIP_OK ? 0 : 2;
}

static int tear_check(void *ctx, uint32_t cut_at)
{
    sctx *t = ctx;
    vt_reopen(&t->k, NULL);
    const uint8_t *d = t->k.rt->objs[t->h].data;
    int is_old = memcmp(d, "ABCDEFGH", 8) == 0, is_new = memcmp(d, "12345678", 8) == 0;
    int intact = assert_integrity(t->k.rt, t->h) == 0;
    if (is_old == is_new || !intact || (cut_at == 0 && !is_new)) {
        fprintf(stderr, "cut at %u: old %d new %d intact %d\n", cut_at, is_old, is_new, intact);
        return 1;
    }
    return 0;
}

static void tear_teardown(void *ctx)
{
    sctx *t = ctx;
    vt_card_free(&t->k);
    free(t);
}

static void test_tear_sweep(void **state)
{
    (void)state;
    tear_scenario s = { "sensitive array update", tear_setup, tear_chip, tear_run, tear_power_on, tear_check,
                        tear_teardown };
    uint32_t n = tear_sweep(&s, NULL);
    print_message("sensitive array update: %u write indexes cut\n", n);
    assert_true(n >= 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_supported_and_kinds),
        cmocka_unit_test(test_legal_updates),
        cmocka_unit_test(test_tampering_found),
        cmocka_unit_test(test_tear_sweep),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
