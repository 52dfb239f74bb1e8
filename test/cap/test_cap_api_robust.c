/* test_cap_api_robust.c — every implemented API method called with
 * argument words an applet could never pass after verification, and ones
 * it could: null, handles of every object kind (arrays of each type and
 * size, API objects in every state, the APDU buffer and object), edge and
 * random shorts. Each call must end in 0 or an exception for the applet,
 * never a fatal VM error, a crash or (under CARDVM_SANITIZE) a memory
 * error; half of the calls come from a context that owns none of the
 * objects. The seed is fixed, so a failure repeats. */
#include "api_test.h"

#define SEC "javacard/security/"

static uint32_t rnd_state = 0x2545F491u;

static uint32_t rnd(void)
{
    rnd_state ^= rnd_state << 13;
    rnd_state ^= rnd_state >> 17;
    rnd_state ^= rnd_state << 5;
    return rnd_state;
}

static void test_every_method_survives_junk(void **state)
{
    (void)state;
    vt_card k;
    vt_card_new(&k, NULL);
    vm_runtime *rt = k.rt;
    uint16_t pool[64];
    unsigned n = 0;
    pool[n++] = 0;
    pool[n++] = VM_H_APDU_BUFFER;
    pool[n++] = VM_H_INSTALL_ARRAY;
    pool[n++] = VM_H_APDU;
    static const uint16_t sizes[] = { 0, 1, 2, 5, 16, 17, 32, 300 };
    for (unsigned i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
        pool[n++] = at_bytes(rt, NULL, sizes[i]);
    uint16_t h;
    assert_int_equal(api_new_array(rt, VM_OBJ_SHORTS, VM_OF_PERSISTENT, 4, 0, &h), 0);
    pool[n++] = h;
    assert_int_equal(api_new_array(rt, VM_OBJ_BOOLS, VM_OF_CLEAR_RESET, 3, 0, &h), 0);
    pool[n++] = h;
    assert_int_equal(api_new_array(rt, VM_OBJ_REFS, VM_OF_PERSISTENT, 3, 0, &h), 0);
    pool[n++] = h;
    /* API objects, constructed and not */
    pool[n++] = at_new(rt, "javacard/framework/OwnerPIN");
    pool[n++] = at_new(rt, "javacard/framework/AID");
    pool[n++] = at_new(rt, "javacard/framework/ISOException");
    uint16_t pin = at_new(rt, "javacard/framework/OwnerPIN");
    assert_int_equal(at_call(rt, "javacard/framework/OwnerPIN", "<init>", "(BB)V", NULL, pin, 3, 8), 0);
    pool[n++] = pin;
    uint16_t key;
    assert_int_equal(at_call(rt, SEC "KeyBuilder", "buildKey", "(BSZ)Ljavacard/security/Key;", &key, 15, 128, 0), 0);
    pool[n++] = key;
    assert_int_equal(at_call(rt, SEC "KeyBuilder", "buildKey", "(BSZ)Ljavacard/security/Key;", &h, 14, 256, 0), 0);
    pool[n++] = h;
    assert_int_equal(at_call(rt, "javacardx/crypto/Cipher", "getInstance", "(BZ)Ljavacardx/crypto/Cipher;", &h, 13, 0),
                     0);
    pool[n++] = h;
    assert_int_equal(at_call(rt, SEC "Signature", "getInstance", "(BZ)Ljavacard/security/Signature;", &h, 18, 0), 0);
    pool[n++] = h;
    assert_int_equal(at_call(rt, SEC "MessageDigest", "getInstance", "(BZ)Ljavacard/security/MessageDigest;", &h, 4,
                             0), 0);
    pool[n++] = h;
    assert_int_equal(at_call(rt, SEC "RandomData", "getInstance", "(B)Ljavacard/security/RandomData;", &h, 2), 0);
    pool[n++] = h;
    /* the asymmetric half: keys empty and generated, its engines */
    assert_int_equal(at_call(rt, SEC "KeyBuilder", "buildKey", "(BSZ)Ljavacard/security/Key;", &h, 4, 512, 0), 0);
    pool[n++] = h;
    const char *kp_cls = SEC "KeyPair";
    uint16_t kps[2] = { at_new(rt, kp_cls), at_new(rt, kp_cls) };
    assert_int_equal(at_call(rt, kp_cls, "<init>", "(BS)V", NULL, kps[0], 2, 512), 0);
    assert_int_equal(at_call(rt, kp_cls, "<init>", "(BS)V", NULL, kps[1], 5, 256), 0);
    for (unsigned i = 0; i < 2; i++) {
        assert_int_equal(at_call(rt, kp_cls, "genKeyPair", "()V", NULL, kps[i]), 0);
        pool[n++] = kps[i];
        assert_int_equal(at_call(rt, kp_cls, "getPublic", "()Ljavacard/security/PublicKey;", &h, kps[i]), 0);
        pool[n++] = h;
        assert_int_equal(at_call(rt, kp_cls, "getPrivate", "()Ljavacard/security/PrivateKey;", &h, kps[i]), 0);
        pool[n++] = h;
    }
    static const uint8_t sig_algs[] = { 40, 44, 33 };
    for (unsigned i = 0; i < sizeof sig_algs; i++) {
        assert_int_equal(at_call(rt, SEC "Signature", "getInstance", "(BZ)Ljavacard/security/Signature;", &h,
                                 sig_algs[i], 0), 0);
        pool[n++] = h;
    }
    assert_int_equal(at_call(rt, "javacardx/crypto/Cipher", "getInstance", "(BZ)Ljavacardx/crypto/Cipher;", &h, 15, 0),
                     0);
    pool[n++] = h;
    assert_int_equal(at_call(rt, SEC "KeyAgreement", "getInstance", "(BZ)Ljavacard/security/KeyAgreement;", &h, 1, 0),
                     0);
    pool[n++] = h;
    /* AEADCipher GCM and CCM, not initialized and initialized (a key of
     * their own, a 13-byte nonce; CCM: 4 bytes AAD, 16 of message) */
    const char *aead = "javacardx/crypto/AEADCipher", *ci = "javacardx/crypto/Cipher";
    uint16_t akey, nonce = at_bytes(rt, NULL, 13);
    assert_int_equal(at_call(rt, SEC "KeyBuilder", "buildKey", "(BSZ)Ljavacard/security/Key;", &akey, 15, 128, 0), 0);
    assert_int_equal(at_call(rt, SEC "AESKeyImpl", "setKey", "([BS)V", NULL, akey, at_bytes(rt, NULL, 16), 0), 0);
    pool[n++] = akey;
    for (unsigned alg = 0xF3; alg <= 0xF4; alg++) {
        assert_int_equal(at_call(rt, ci, "getInstance", "(BZ)Ljavacardx/crypto/Cipher;", &h, alg, 0), 0);
        pool[n++] = h;
        assert_int_equal(at_call(rt, ci, "getInstance", "(BZ)Ljavacardx/crypto/Cipher;", &h, alg, 0), 0);
        pool[n++] = h;
        if (alg == 0xF3)
            assert_int_equal(at_call(rt, ci, "init", "(Ljavacard/security/Key;B[BSS)V", NULL, h, akey, 2, nonce, 0, 13),
                             0);
        else
            assert_int_equal(at_call(rt, aead, "init", "(Ljavacard/security/Key;B[BSSSSS)V", NULL, h, akey, 2, nonce,
                                     0, 13, 4, 16, 16), 0);
    }
    pool[n++] = 0x7FFF;   /* no such handle */
    pool[n++] = 0xFFFF;

    static const uint16_t edges[] = { 0, 1, 2, 4, 5, 7, 8, 15, 16, 32, 127, 128, 255, 256, 0x7FFF, 0x8000, 0xFFFF };
    unsigned calls = 0, thrown = 0;
    for (unsigned p = 0; p < jc_api_package_count; p++) {
        const jc_api_package *pkg = &jc_api_packages[p];
        for (uint16_t t = 0; t < pkg->class_count; t++) {
            const jc_api_class *c = &pkg->classes[t];
            for (uint16_t m = 0; c->name && m < c->method_count; m++) {
                const jc_api_method *jm = &c->methods[m];
                if (!jm->fn)
                    continue;
                for (unsigned it = 0; it < 300; it++) {
                    uint16_t args[16], ret = 0;
                    for (unsigned i = 0; i < jm->nargs; i++) {
                        uint32_t r = rnd();
                        args[i] = (r & 1) ? pool[(r >> 1) % n]
                                : (r & 2) ? edges[(r >> 2) % (sizeof edges / sizeof edges[0])] : (uint16_t)(r >> 8);
                    }
                    /* a command in progress now and then, for the APDU methods */
                    if (it % 50 == 0) {
                        static uint8_t cmd[] = { 0x80, 0x10, 0, 0, 4, 1, 2, 3, 4, 0 };
                        static uint8_t resp[512];
                        assert_int_equal(api_apdu_begin(rt, cmd, sizeof cmd, resp, sizeof resp), 0);
                    }
                    /* half the calls from an applet context that owns none
                     * of the pool: the firewall's paths */
                    rt->ctx = (uint8_t)(it & 1);
                    int rc = jm->fn(rt, args, &ret);
                    rt->ctx = 0;
                    if (rc < 0)
                        fail_msg("%s.%s%s: fatal %d", c->name, jm->name, jm->desc, rc);
                    if (rt->tx_open && rnd() % 4 == 0)
                        vm_tx_abort(rt);
                    calls++;
                    thrown += rc != 0;
                }
            }
        }
    }
    rt->apdu_cmd = NULL;
    if (rt->tx_open)
        vm_tx_abort(rt);
    print_message("%u calls, %u ended in an exception\n", calls, thrown);
    vt_card_free(&k);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_method_survives_junk),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
