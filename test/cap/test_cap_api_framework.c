/* test_cap_api_framework.c — javacard.framework in C (vm/api_framework.c)
 * called through its token table on a real runtime: OwnerPIN's try counter
 * (spent before the compare, durable, outside transactions), Util's
 * bounds, null and overlap rules, AID, JCSystem transient arrays and
 * transactions, the APDU state machine over short and extended commands,
 * and the firewall on array arguments. Expected values come from the JC
 * 3.0.5 API specification. */
#include "api_test.h"

#define FW "javacard/framework/"

enum { CLEAR_ON_RESET = 1, CLEAR_ON_DESELECT = 2 };

static uint16_t new_pin(vm_runtime *rt, int limit, int max, const char *value)
{
    uint16_t pin = at_new(rt, FW "OwnerPIN");
    assert_int_equal(at_call(rt, FW "OwnerPIN", "<init>", "(BB)V", NULL, pin, limit, max), 0);
    uint16_t v = at_bytes(rt, value, (uint16_t)strlen(value));
    assert_int_equal(at_call(rt, FW "OwnerPIN", "update", "([BSB)V", NULL, pin, v, 0, (int)strlen(value)), 0);
    return pin;
}

static int check(vm_runtime *rt, uint16_t pin, const char *cand)
{
    uint16_t b = at_bytes(rt, cand, (uint16_t)strlen(cand)), ret;
    assert_int_equal(at_call(rt, FW "OwnerPIN", "check", "([BSB)Z", &ret, pin, b, 0, (int)strlen(cand)), 0);
    return ret;
}

static int tries(vm_runtime *rt, uint16_t pin)
{
    uint16_t ret;
    assert_int_equal(at_call(rt, FW "OwnerPIN", "getTriesRemaining", "()B", &ret, pin), 0);
    return ret;
}

static int validated(vm_runtime *rt, uint16_t pin)
{
    uint16_t ret;
    assert_int_equal(at_call(rt, FW "OwnerPIN", "isValidated", "()Z", &ret, pin), 0);
    return ret;
}

static void test_owner_pin(void **state)
{
    (void)state;
    vt_card k;
    vt_card_new(&k, NULL);
    vm_runtime *rt = k.rt;
    uint16_t pin = new_pin(rt, 3, 8, "1234");
    assert_int_equal(tries(rt, pin), 3);
    assert_false(check(rt, pin, "1235"));
    assert_int_equal(tries(rt, pin), 2);
    assert_false(check(rt, pin, "123"));      /* shorter: a prefix is not the PIN */
    assert_int_equal(tries(rt, pin), 1);
    assert_true(check(rt, pin, "1234"));
    assert_int_equal(tries(rt, pin), 3);
    assert_true(validated(rt, pin));
    /* reset: only when validated, back to the limit */
    assert_int_equal(at_call(rt, FW "OwnerPIN", "reset", "()V", NULL, pin), 0);
    assert_false(validated(rt, pin));
    /* blocked after three failures: even the right PIN fails */
    for (int i = 0; i < 3; i++)
        assert_false(check(rt, pin, "0000"));
    assert_int_equal(tries(rt, pin), 0);
    assert_false(check(rt, pin, "1234"));
    assert_int_equal(at_call(rt, FW "OwnerPIN", "resetAndUnblock", "()V", NULL, pin), 0);
    assert_int_equal(tries(rt, pin), 3);
    assert_true(check(rt, pin, "1234"));
    /* a failed check clears the validated flag */
    assert_false(check(rt, pin, "9999"));
    assert_false(validated(rt, pin));
    /* too long for maxPINSize: PINException.ILLEGAL_VALUE; bad limits too */
    uint16_t nine = at_bytes(rt, "123456789", 9);
    assert_int_equal(at_call(rt, FW "OwnerPIN", "update", "([BSB)V", NULL, pin, nine, 0, 9),
                     AT_EXC_FW(JC_FW_PINException, 1));
    uint16_t p2 = at_new(rt, FW "OwnerPIN");
    assert_int_equal(at_call(rt, FW "OwnerPIN", "<init>", "(BB)V", NULL, p2, 0, 8), AT_EXC_FW(JC_FW_PINException, 1));
    /* null candidate: NullPointerException, and the try is spent */
    int before = tries(rt, pin);
    assert_int_equal(at_call(rt, FW "OwnerPIN", "check", "([BSB)Z", NULL, pin, 0, 0, 4), API_NPE);
    assert_int_equal(tries(rt, pin), before - 1);
    vt_card_free(&k);
}

/* The try counter and the validated flag stay out of transactions; the
 * PIN value does not (JC API OwnerPIN). */
static void test_owner_pin_transactions(void **state)
{
    (void)state;
    vt_card k;
    vt_card_new(&k, NULL);
    vm_runtime *rt = k.rt;
    uint16_t pin = new_pin(rt, 3, 8, "1234");
    assert_int_equal(at_call(rt, FW "JCSystem", "beginTransaction", "()V", NULL), 0);
    assert_false(check(rt, pin, "1111"));
    uint16_t v = at_bytes(rt, "5678", 4);
    assert_int_equal(at_call(rt, FW "OwnerPIN", "update", "([BSB)V", NULL, pin, v, 0, 4), 0);
    assert_int_equal(at_call(rt, FW "JCSystem", "abortTransaction", "()V", NULL), 0);
    assert_int_equal(tries(rt, pin), 2);
    assert_true(check(rt, pin, "1234"));
    vt_card_free(&k);
}

/* A wrong guess costs a try even when the command never completes: the
 * decrement is durable before the compare, so a power cut right after the
 * answer (nothing committed by the card) keeps it spent. The validated
 * flag is CLEAR_ON_RESET. */
static void test_owner_pin_durable(void **state)
{
    (void)state;
    vt_card k;
    vt_card_new(&k, NULL);
    uint16_t pin = new_pin(k.rt, 3, 8, "1234");
    vt_commit(&k);
    assert_false(check(k.rt, pin, "0000"));
    vt_reset(&k);   /* power cut: uncommitted work is gone */
    assert_int_equal(tries(k.rt, pin), 2);
    assert_true(check(k.rt, pin, "1234"));
    vt_commit(&k);
    assert_true(validated(k.rt, pin));
    vt_reset(&k);
    assert_false(validated(k.rt, pin));
    vt_card_free(&k);
}

static void test_util(void **state)
{
    (void)state;
    vt_card k;
    vt_card_new(&k, NULL);
    vm_runtime *rt = k.rt;
    const char *copy = "([BS[BSS)S";
    uint8_t init[10] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9 };
    uint16_t a = at_bytes(rt, init, 10), ret;
    /* overlapping, forwards and backwards: as if through a temporary */
    assert_int_equal(at_call(rt, FW "Util", "arrayCopy", copy, &ret, a, 0, a, 2, 6), 0);
    assert_int_equal(ret, 8);
    const uint8_t fwd[10] = { 0, 1, 0, 1, 2, 3, 4, 5, 8, 9 };
    assert_memory_equal(at_data(rt, a), fwd, 10);
    assert_int_equal(at_call(rt, FW "Util", "arrayCopyNonAtomic", copy, &ret, a, 4, a, 1, 6), 0);
    const uint8_t back[10] = { 0, 2, 3, 4, 5, 8, 9, 5, 8, 9 };
    assert_memory_equal(at_data(rt, a), back, 10);
    /* the same into a transient (RAM) array, which is copied in one move */
    uint16_t t = 0;
    assert_int_equal(api_new_array(rt, VM_OBJ_BYTES, VM_OF_CLEAR_RESET, 10, 0, &t), 0);
    memcpy(rt->objs[t].data, init, 10);
    assert_int_equal(at_call(rt, FW "Util", "arrayCopyNonAtomic", copy, &ret, t, 0, t, 2, 6), 0);
    assert_int_equal(ret, 8);
    assert_memory_equal(rt->objs[t].data, fwd, 10);
    assert_int_equal(at_call(rt, FW "Util", "arrayCopy", copy, &ret, t, 4, t, 1, 6), 0);
    assert_memory_equal(rt->objs[t].data, back, 10);
    assert_int_equal(at_call(rt, FW "Util", "arrayCopyNonAtomic", copy, &ret, a, 0, t, 5, 6), API_AIOOBE);
    assert_memory_equal(rt->objs[t].data, back, 10);
    /* bounds, negative length, null */
    assert_int_equal(at_call(rt, FW "Util", "arrayCopy", copy, &ret, a, 5, a, 0, 6), API_AIOOBE);
    assert_int_equal(at_call(rt, FW "Util", "arrayCopy", copy, &ret, a, 0, a, 0, -1), API_AIOOBE);
    assert_int_equal(at_call(rt, FW "Util", "arrayCopy", copy, &ret, 0, 0, a, 0, 1), API_NPE);
    assert_int_equal(at_call(rt, FW "Util", "arrayCopyNonAtomic", copy, &ret, a, 0, 0, 0, 1), API_NPE);
    /* arrayCompare: signed bytes, -1/0/1 */
    uint8_t x[2] = { 0x01, 0x80 }, y[2] = { 0x01, 0x7F };
    uint16_t xb = at_bytes(rt, x, 2), yb = at_bytes(rt, y, 2);
    assert_int_equal(at_call(rt, FW "Util", "arrayCompare", "([BS[BSS)B", &ret, xb, 0, yb, 0, 2), 0);
    assert_int_equal((int16_t)ret, -1);
    assert_int_equal(at_call(rt, FW "Util", "arrayCompare", "([BS[BSS)B", &ret, yb, 0, xb, 0, 2), 0);
    assert_int_equal((int16_t)ret, 1);
    assert_int_equal(at_call(rt, FW "Util", "arrayCompare", "([BS[BSS)B", &ret, xb, 0, xb, 0, 2), 0);
    assert_int_equal(ret, 0);
    /* fill, set/get/make short */
    assert_int_equal(at_call(rt, FW "Util", "arrayFillNonAtomic", "([BSSB)S", &ret, a, 2, 3, 0xEE), 0);
    assert_int_equal(ret, 5);
    assert_int_equal(at_data(rt, a)[1], 2);
    assert_int_equal(at_data(rt, a)[2], 0xEE);
    assert_int_equal(at_data(rt, a)[4], 0xEE);
    assert_int_equal(at_data(rt, a)[5], 8);
    assert_int_equal(at_call(rt, FW "Util", "arrayFill", "([BSSB)S", &ret, a, 8, 3, 0), API_AIOOBE);
    assert_int_equal(at_call(rt, FW "Util", "setShort", "([BSS)S", &ret, a, 8, 0x1234), 0);
    assert_int_equal(ret, 10);
    assert_int_equal(at_call(rt, FW "Util", "getShort", "([BS)S", &ret, a, 8), 0);
    assert_int_equal(ret, 0x1234);
    assert_int_equal(at_call(rt, FW "Util", "getShort", "([BS)S", &ret, a, 9), API_AIOOBE);
    assert_int_equal(at_call(rt, FW "Util", "makeShort", "(BB)S", &ret, 0xFF, 0x80), 0);
    assert_int_equal(ret, 0xFF80);
    vt_card_free(&k);
}

/* An array of another context, not global: SecurityException. */
static void test_firewall_on_arguments(void **state)
{
    (void)state;
    vt_card k;
    vt_card_new(&k, NULL);
    vm_runtime *rt = k.rt;
    uint16_t jcre = at_bytes(rt, "abcd", 4), ret;   /* owned by context 0 */
    rt->ctx = 1;
    uint16_t mine = at_bytes(rt, NULL, 4);
    assert_int_equal(at_call(rt, FW "Util", "arrayCopy", "([BS[BSS)S", &ret, jcre, 0, mine, 0, 4), API_SECURITY);
    /* the APDU buffer is global */
    assert_int_equal(at_call(rt, FW "Util", "arrayCopy", "([BS[BSS)S", &ret, VM_H_APDU_BUFFER, 0, mine, 0, 4), 0);
    rt->ctx = 0;
    vt_card_free(&k);
}

static void test_aid(void **state)
{
    (void)state;
    vt_card k;
    vt_card_new(&k, NULL);
    vm_runtime *rt = k.rt;
    const uint8_t bytes[8] = { 0xA0, 0, 0, 0, 0x62, 3, 1, 0x0C };
    uint16_t src = at_bytes(rt, bytes, 8), ret;
    uint16_t aid = at_new(rt, FW "AID");
    assert_int_equal(at_call(rt, FW "AID", "<init>", "([BSB)V", NULL, aid, src, 0, 8), 0);
    uint16_t short4 = at_new(rt, FW "AID");
    assert_int_equal(at_call(rt, FW "AID", "<init>", "([BSB)V", NULL, short4, src, 0, 4),
                     AT_EXC_FW(JC_FW_SystemException, 1));
    assert_int_equal(at_call(rt, FW "AID", "equals", "([BSB)Z", &ret, aid, src, 0, 8), 0);
    assert_int_equal(ret, 1);
    assert_int_equal(at_call(rt, FW "AID", "equals", "([BSB)Z", &ret, aid, src, 0, 7), 0);
    assert_int_equal(ret, 0);
    assert_int_equal(at_call(rt, FW "AID", "equals", "([BSB)Z", &ret, aid, 0, 0, 8), 0);
    assert_int_equal(ret, 0);
    assert_int_equal(at_call(rt, FW "AID", "partialEquals", "([BSB)Z", &ret, aid, src, 0, 5), 0);
    assert_int_equal(ret, 1);
    uint16_t other = at_new(rt, FW "AID");
    uint16_t src2 = at_bytes(rt, bytes, 8);
    at_call(rt, FW "Util", "arrayFillNonAtomic", "([BSSB)S", NULL, src2, 7, 1, 0x0D);
    assert_int_equal(at_call(rt, FW "AID", "<init>", "([BSB)V", NULL, other, src2, 0, 8), 0);
    assert_int_equal(at_call(rt, FW "AID", "equals", "(Ljava/lang/Object;)Z", &ret, aid, other), 0);
    assert_int_equal(ret, 0);
    assert_int_equal(at_call(rt, FW "AID", "RIDEquals", "(Ljavacard/framework/AID;)Z", &ret, aid, other), 0);
    assert_int_equal(ret, 1);
    assert_int_equal(at_call(rt, FW "AID", "equals", "(Ljava/lang/Object;)Z", &ret, aid, src), 0);
    assert_int_equal(ret, 0);   /* a byte[] is not an AID */
    uint16_t out = at_bytes(rt, NULL, 10);
    assert_int_equal(at_call(rt, FW "AID", "getBytes", "([BS)B", &ret, aid, out, 2), 0);
    assert_int_equal(ret, 8);
    assert_memory_equal(at_data(rt, out) + 2, bytes, 8);
    assert_int_equal(at_call(rt, FW "AID", "getPartialBytes", "(S[BSB)B", &ret, aid, 5, out, 0, 0), 0);
    assert_int_equal(ret, 3);
    assert_memory_equal(at_data(rt, out), bytes + 5, 3);
    assert_int_equal(at_call(rt, FW "AID", "getBytes", "([BS)B", &ret, aid, out, 3), API_AIOOBE);
    vt_card_free(&k);
}

static void test_jcsystem(void **state)
{
    (void)state;
    vt_card k;
    vt_card_new(&k, NULL);
    vm_runtime *rt = k.rt;
    uint16_t ret, arr;
    assert_int_equal(at_call(rt, FW "JCSystem", "getVersion", "()S", &ret), 0);
    assert_int_equal(ret, 0x0305);
    assert_int_equal(at_call(rt, FW "JCSystem", "makeTransientByteArray", "(SB)[B", &arr, 16, 3),
                     AT_EXC_FW(JC_FW_SystemException, 1));
    assert_int_equal(at_call(rt, FW "JCSystem", "makeTransientByteArray", "(SB)[B", &arr, -1, CLEAR_ON_RESET),
                     API_NEGSIZE);
    assert_int_equal(at_call(rt, FW "JCSystem", "makeTransientShortArray", "(SB)[S", &arr, 4, CLEAR_ON_RESET), 0);
    assert_int_equal(rt->objs[arr].kind, VM_OBJ_SHORTS);
    assert_int_equal(at_call(rt, FW "JCSystem", "isTransient", "(Ljava/lang/Object;)B", &ret, arr), 0);
    assert_int_equal(ret, CLEAR_ON_RESET);
    assert_int_equal(at_call(rt, FW "JCSystem", "makeTransientBooleanArray", "(SB)[Z", &arr, 4, CLEAR_ON_DESELECT),
                     0);
    assert_int_equal(at_call(rt, FW "JCSystem", "isTransient", "(Ljava/lang/Object;)B", &ret, arr), 0);
    assert_int_equal(ret, CLEAR_ON_DESELECT);
    uint16_t p = at_bytes(rt, NULL, 2);
    assert_int_equal(at_call(rt, FW "JCSystem", "isTransient", "(Ljava/lang/Object;)B", &ret, p), 0);
    assert_int_equal(ret, 0);
    /* transactions: depth, nesting refused, commit capacity */
    assert_int_equal(at_call(rt, FW "JCSystem", "getMaxCommitCapacity", "()S", &ret), 0);
    uint16_t cap = ret;
    assert_true(cap > 0);
    assert_int_equal(at_call(rt, FW "JCSystem", "commitTransaction", "()V", NULL),
                     AT_EXC_FW(JC_FW_TransactionException, 2));
    assert_int_equal(at_call(rt, FW "JCSystem", "beginTransaction", "()V", NULL), 0);
    assert_int_equal(at_call(rt, FW "JCSystem", "getTransactionDepth", "()B", &ret), 0);
    assert_int_equal(ret, 1);
    assert_int_equal(at_call(rt, FW "JCSystem", "beginTransaction", "()V", NULL),
                     AT_EXC_FW(JC_FW_TransactionException, 1));
    assert_int_equal(at_call(rt, FW "Util", "setShort", "([BSS)S", &ret, p, 0, 0x4242), 0);
    assert_int_equal(at_call(rt, FW "JCSystem", "getUnusedCommitCapacity", "()S", &ret), 0);
    assert_true(ret < cap);
    assert_int_equal(at_call(rt, FW "JCSystem", "abortTransaction", "()V", NULL), 0);
    assert_int_equal(at_data(rt, p)[0], 0);   /* rolled back */
    assert_int_equal(at_call(rt, FW "JCSystem", "getTransactionDepth", "()B", &ret), 0);
    assert_int_equal(ret, 0);
    /* available memory: both forms, the int one high word first */
    assert_int_equal(at_call(rt, FW "JCSystem", "getAvailableMemory", "(B)S", &ret, 0), 0);
    uint16_t small = ret;
    assert_true(small > 0);
    assert_int_equal(at_call(rt, FW "JCSystem", "getAvailableMemory", "(B)S", &ret, 7),
                     AT_EXC_FW(JC_FW_SystemException, 1));
    uint16_t sa;
    assert_int_equal(at_call(rt, FW "JCSystem", "makeTransientShortArray", "(SB)[S", &sa, 3, CLEAR_ON_RESET), 0);
    assert_int_equal(at_call(rt, FW "JCSystem", "getAvailableMemory", "([SSB)V", NULL, sa, 1, 0), 0);
    uint32_t big = ((uint32_t)vm_rd16(at_data(rt, sa) + 2) << 16) | vm_rd16(at_data(rt, sa) + 4);
    assert_true(big >= small);
    assert_true(small == 32767 || big == small);
    assert_int_equal(at_call(rt, FW "JCSystem", "getAvailableMemory", "([SSB)V", NULL, sa, 2, 0), API_AIOOBE);
    vt_card_free(&k);
}

/* requestObjectDeletion: the context's objects nothing reaches go (NVM
 * and RAM back); what a root reaches, directly or through a reference
 * array, stays; inside a transaction nothing goes. */
static void test_object_deletion(void **state)
{
    (void)state;
    vt_card k;
    vt_card_new(&k, NULL);
    vm_runtime *rt = k.rt;
    uint16_t ret;
    memset(rt->stack, 0, rt->cfg.stack_slots * sizeof *rt->stack);
    rt->ctx = 1;
    uint16_t garbage = at_bytes(rt, NULL, 40), kept = at_bytes(rt, NULL, 40), holder, tgarbage;
    assert_int_equal(api_new_array(rt, VM_OBJ_REFS, VM_OF_PERSISTENT, 2, 0, &holder), 0);
    uint8_t w[2];
    vm_wr16(w, kept);
    assert_int_equal(api_store(rt, &rt->objs[holder], 2, w, 2, 0), 0);
    assert_int_equal(at_call(rt, FW "JCSystem", "makeTransientByteArray", "(SB)[B", &tgarbage, 64, CLEAR_ON_RESET),
                     0);
    rt->stack[5] = holder;   /* a local of a running frame */
    chip_stats before, after;
    chip_get_stats(k.c, &before);
    uint32_t ram_before = vm_ram_free(rt);

    /* in a transaction: a no-op */
    assert_int_equal(at_call(rt, FW "JCSystem", "beginTransaction", "()V", NULL), 0);
    assert_int_equal(at_call(rt, FW "JCSystem", "requestObjectDeletion", "()V", NULL), 0);
    assert_int_equal(rt->objs[garbage].kind, VM_OBJ_BYTES);
    assert_int_equal(at_call(rt, FW "JCSystem", "commitTransaction", "()V", NULL), 0);

    assert_int_equal(at_call(rt, FW "JCSystem", "isObjectDeletionSupported", "()Z", &ret), 0);
    assert_int_equal(ret, 1);
    assert_int_equal(at_call(rt, FW "JCSystem", "requestObjectDeletion", "()V", NULL), 0);
    assert_int_equal(rt->objs[garbage].kind, VM_OBJ_FREE);
    assert_int_equal(rt->objs[tgarbage].kind, VM_OBJ_FREE);
    assert_int_equal(rt->objs[holder].kind, VM_OBJ_REFS);
    assert_int_equal(rt->objs[kept].kind, VM_OBJ_BYTES);
    chip_get_stats(k.c, &after);
    assert_true(after.nvm_heap_free >= before.nvm_heap_free + 40);
    assert_true(vm_ram_free(rt) >= ram_before + 64);

    /* the last reference gone: the rest goes too */
    rt->stack[5] = 0;
    assert_int_equal(at_call(rt, FW "JCSystem", "requestObjectDeletion", "()V", NULL), 0);
    assert_int_equal(rt->objs[holder].kind, VM_OBJ_FREE);
    assert_int_equal(rt->objs[kept].kind, VM_OBJ_FREE);
    rt->ctx = 0;
    vt_card_free(&k);
}

static void test_exceptions(void **state)
{
    (void)state;
    vt_card k;
    vt_card_new(&k, NULL);
    vm_runtime *rt = k.rt;
    uint16_t ret;
    assert_int_equal(at_call(rt, FW "ISOException", "throwIt", "(S)V", NULL, 0x6A82),
                     AT_EXC_FW(JC_FW_ISOException, 0x6A82));
    assert_int_equal(at_call(rt, FW "UserException", "throwIt", "(S)V", NULL, 7), AT_EXC_FW(JC_FW_UserException, 7));
    assert_int_equal(at_call(rt, "javacard/security/CryptoException", "throwIt", "(S)V", NULL, 3), AT_CRYPTO(3));
    /* an applet's own instance keeps its reason in slot 0 */
    uint16_t e = at_new(rt, FW "ISOException");
    assert_int_equal(at_call(rt, FW "ISOException", "<init>", "(S)V", NULL, e, 0x6985), 0);
    assert_int_equal(at_call(rt, FW "ISOException", "getReason", "()S", &ret, e), 0);
    assert_int_equal(ret, 0x6985);
    assert_int_equal(at_call(rt, FW "ISOException", "setReason", "(S)V", NULL, e, 0x6A80), 0);
    assert_int_equal(at_call(rt, FW "ISOException", "getReason", "()S", &ret, e), 0);
    assert_int_equal(ret, 0x6A80);
    uint16_t u = at_new(rt, FW "UserException");
    assert_int_equal(at_call(rt, FW "UserException", "<init>", "()V", NULL, u), 0);
    assert_int_equal(at_call(rt, FW "UserException", "getReason", "()S", &ret, u), 0);
    assert_int_equal(ret, 0);
    assert_int_equal(at_call(rt, "java/lang/Object", "equals", "(Ljava/lang/Object;)Z", &ret, e, e), 0);
    assert_int_equal(ret, 1);
    assert_int_equal(at_call(rt, "java/lang/Object", "equals", "(Ljava/lang/Object;)Z", &ret, e, u), 0);
    assert_int_equal(ret, 0);
    vt_card_free(&k);
}

/* ---- APDU ---- */

static uint8_t resp[1200];

static void begin(vm_runtime *rt, const char *hex)
{
    static uint8_t cmd[1100];
    uint16_t n = at_hex(hex, cmd);
    assert_int_equal(api_apdu_begin(rt, cmd, n, resp, sizeof resp), 0);
}

#define APDU_CALL(name, desc, ...) at_call(rt, FW "APDU", name, desc, __VA_ARGS__)

static void test_apdu_short(void **state)
{
    (void)state;
    vt_card k;
    vt_card_new(&k, NULL);
    vm_runtime *rt = k.rt;
    uint16_t ret, h = VM_H_APDU;
    begin(rt, "8012000003AABBCC02");
    assert_int_equal(APDU_CALL("getCurrentState", "()B", &ret, h), 0);
    assert_int_equal(ret, 0);
    /* before setIncomingAndReceive: ILLEGAL_USE */
    assert_int_equal(APDU_CALL("getIncomingLength", "()S", &ret, h), AT_EXC_FW(JC_FW_APDUException, 1));
    assert_int_equal(APDU_CALL("setIncomingAndReceive", "()S", &ret, h), 0);
    assert_int_equal(ret, 3);
    assert_int_equal(APDU_CALL("getCurrentState", "()B", &ret, h), 0);
    assert_int_equal(ret, 2);   /* STATE_FULL_INCOMING */
    assert_int_equal(APDU_CALL("setIncomingAndReceive", "()S", &ret, h), AT_EXC_FW(JC_FW_APDUException, 1));
    assert_int_equal(APDU_CALL("receiveBytes", "(S)S", &ret, h, 5), 0);
    assert_int_equal(ret, 0);
    assert_int_equal(APDU_CALL("getIncomingLength", "()S", &ret, h), 0);
    assert_int_equal(ret, 3);
    assert_int_equal(APDU_CALL("getOffsetCdata", "()S", &ret, h), 0);
    assert_int_equal(ret, 5);
    assert_int_equal(vm_ram(rt)[VM_RAM_APDU + 6], 0xBB);
    /* sending before the length is known: ILLEGAL_USE */
    assert_int_equal(APDU_CALL("sendBytes", "(SS)V", NULL, h, 0, 2), AT_EXC_FW(JC_FW_APDUException, 1));
    assert_int_equal(APDU_CALL("setOutgoing", "()S", &ret, h), 0);
    assert_int_equal(ret, 2);   /* Ne */
    assert_int_equal(APDU_CALL("setOutgoing", "()S", &ret, h), AT_EXC_FW(JC_FW_APDUException, 1));
    assert_int_equal(APDU_CALL("setOutgoingLength", "(S)V", NULL, h, -1), AT_EXC_FW(JC_FW_APDUException, 3));
    assert_int_equal(APDU_CALL("setOutgoingLength", "(S)V", NULL, h, 3), 0);
    assert_int_equal(APDU_CALL("sendBytes", "(SS)V", NULL, h, 5, 2), 0);
    assert_int_equal(APDU_CALL("getCurrentState", "()B", &ret, h), 0);
    assert_int_equal(ret, 5);   /* STATE_PARTIAL_OUTGOING */
    /* more than announced: ILLEGAL_USE; outside the buffer: BUFFER_BOUNDS */
    assert_int_equal(APDU_CALL("sendBytes", "(SS)V", NULL, h, 5, 2), AT_EXC_FW(JC_FW_APDUException, 1));
    assert_int_equal(APDU_CALL("sendBytes", "(SS)V", NULL, h, 300, 1), AT_EXC_FW(JC_FW_APDUException, 2));
    assert_int_equal(APDU_CALL("sendBytes", "(SS)V", NULL, h, 7, 1), 0);
    assert_int_equal(APDU_CALL("getCurrentState", "()B", &ret, h), 0);
    assert_int_equal(ret, 6);   /* STATE_FULL_OUTGOING */
    assert_int_equal(rt->resp_len, 3);
    const uint8_t sent[3] = { 0xAA, 0xBB, 0xCC };
    assert_memory_equal(resp, sent, 3);

    /* CLA: channel bits, interindustry, secure messaging; read from the
     * command even after the applet overwrote the buffer */
    begin(rt, "0BA4000000");
    vm_ram(rt)[VM_RAM_APDU] = 0x80;
    assert_int_equal(APDU_CALL("getCLAChannel", "()B", &ret), 0);
    assert_int_equal(ret, 3);
    assert_int_equal(APDU_CALL("isISOInterindustryCLA", "()Z", &ret, h), 0);
    assert_int_equal(ret, 1);
    assert_int_equal(APDU_CALL("isSecureMessagingCLA", "()Z", &ret, h), 0);
    assert_int_equal(ret, 1);
    begin(rt, "4500000000");
    assert_int_equal(APDU_CALL("getCLAChannel", "()B", &ret), 0);
    assert_int_equal(ret, 9);   /* further interindustry: 4 + low nibble */
    assert_int_equal(APDU_CALL("isSecureMessagingCLA", "()Z", &ret, h), 0);
    assert_int_equal(ret, 0);
    begin(rt, "9000000000");
    assert_int_equal(APDU_CALL("isISOInterindustryCLA", "()Z", &ret, h), 0);
    assert_int_equal(ret, 0);
    assert_int_equal(APDU_CALL("isCommandChainingCLA", "()Z", &ret, h), 0);
    assert_int_equal(ret, 0);
    begin(rt, "1000000000");
    assert_int_equal(APDU_CALL("isCommandChainingCLA", "()Z", &ret, h), 0);
    assert_int_equal(ret, 1);
    assert_int_equal(APDU_CALL("getProtocol", "()B", &ret), 0);
    assert_int_equal(ret, 1);   /* T=1, contact */
    /* malformed: Lc says 3, 2 bytes follow */
    uint8_t bad[7] = { 0x80, 0x10, 0, 0, 3, 1, 2 };
    assert_int_equal(api_apdu_begin(rt, bad, 7, resp, sizeof resp), -1);
    vt_card_free(&k);
}

/* Extended case 4E with 600 data bytes: the buffer takes what fits after
 * the 7-byte header, receiveBytes the rest; Ne from the 2-byte Le. */
static void test_apdu_extended(void **state)
{
    (void)state;
    vt_card k;
    vt_card_new(&k, NULL);
    vm_runtime *rt = k.rt;
    static uint8_t cmd[7 + 600 + 2];
    cmd[0] = 0x80;
    cmd[1] = 0x10;
    cmd[4] = 0;
    cmd[5] = 600 >> 8;
    cmd[6] = 600 & 0xFF;
    for (unsigned i = 0; i < 600; i++)
        cmd[7 + i] = (uint8_t)(i * 7);
    cmd[7 + 600] = 0x03;
    cmd[8 + 600] = 0xE8;   /* Le 1000 */
    assert_int_equal(api_apdu_begin(rt, cmd, sizeof cmd, resp, sizeof resp), 0);
    uint16_t ret, h = VM_H_APDU;
    assert_int_equal(APDU_CALL("setIncomingAndReceive", "()S", &ret, h), 0);
    uint16_t got = ret, total = 0;
    assert_int_equal(got, VM_APDU_BUFFER_SIZE - 7);
    assert_int_equal(APDU_CALL("getOffsetCdata", "()S", &ret, h), 0);
    assert_int_equal(ret, 7);
    assert_int_equal(APDU_CALL("getIncomingLength", "()S", &ret, h), 0);
    assert_int_equal(ret, 600);
    uint8_t seen[600];
    while (got > 0) {
        memcpy(seen + total, vm_ram(rt) + VM_RAM_APDU + 7, got);
        total = (uint16_t)(total + got);
        assert_int_equal(APDU_CALL("receiveBytes", "(S)S", &ret, h, 7), 0);
        got = ret;
    }
    assert_int_equal(total, 600);
    assert_memory_equal(seen, cmd + 7, 600);
    assert_int_equal(APDU_CALL("setOutgoing", "()S", &ret, h), 0);
    assert_int_equal(ret, 1000);
    /* 1000 bytes out of a persistent array */
    uint16_t data = at_bytes(rt, NULL, 1000);
    assert_int_equal(APDU_CALL("setOutgoingLength", "(S)V", NULL, h, 1000), 0);
    assert_int_equal(APDU_CALL("sendBytesLong", "([BSS)V", NULL, h, data, 0, 600), 0);
    assert_int_equal(APDU_CALL("sendBytesLong", "([BSS)V", NULL, h, data, 600, 400), 0);
    assert_int_equal(rt->resp_len, 1000);
    /* case 2E, Le 0000 = 65536: what a short can say */
    uint8_t c2e[7] = { 0x80, 0x14, 0, 0, 0, 0, 0 };
    assert_int_equal(api_apdu_begin(rt, c2e, 7, resp, sizeof resp), 0);
    assert_int_equal(APDU_CALL("setOutgoing", "()S", &ret, h), 0);
    assert_int_equal(ret, 32767);
    vt_card_free(&k);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_owner_pin),
        cmocka_unit_test(test_owner_pin_transactions),
        cmocka_unit_test(test_owner_pin_durable),
        cmocka_unit_test(test_util),
        cmocka_unit_test(test_firewall_on_arguments),
        cmocka_unit_test(test_aid),
        cmocka_unit_test(test_jcsystem),
        cmocka_unit_test(test_object_deletion),
        cmocka_unit_test(test_exceptions),
        cmocka_unit_test(test_apdu_short),
        cmocka_unit_test(test_apdu_extended),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
