/* test_cap_api_symmetric.c — the symmetric half of the crypto API
 * (vm/api_symmetric.c, api_keys.c, api_cipher.c, api_signature.c,
 * api_random.c) called through its token table on a real runtime.
 *
 * Expected values: FIPS 81 (DES ECB/CBC of "Now is the time for all "),
 * NIST SP 800-67 (TDEA example), SP 800-38A F.2.1 / F.5.1 (AES CBC, CTR),
 * RFC 4493 section 4 (AES-CMAC examples 1-4), ISO/IEC 9797-1 annex B
 * (MAC algorithm 1 and 3 with padding method 1). The padded modes are
 * checked by structure: the padded algorithm's output equals the NOPAD
 * algorithm's (itself checked against the vectors above) on input padded
 * by the rule of ISO 9797-1 method 1/2 or PKCS#5; the values derived that
 * way for MAC algorithm 3 with method 2 and the 3DES CBC-MAC were also
 * recomputed with OpenSSL. Exceptions follow the JC 3.0.5 API. */
#include "api_test.h"

#define SEC "javacard/security/"
#define CIPHER "javacardx/crypto/Cipher"
#define SIG SEC "Signature"
#define INIT "(Ljavacard/security/Key;B)V"
#define INIT_IV "(Ljavacard/security/Key;B[BSS)V"
#define IO "([BSS[BS)S"

enum { TYPE_DES = 3, TYPE_DES_TRANSIENT_RESET = 1, TYPE_AES = 15, ENCRYPT = 2, DECRYPT = 1, SIGN = 1,
       VERIFY = 2 };

static const char NOW[] = "4e6f77206973207468652074696d6520666f7220616c6c20";   /* "Now is the time for all " */
static const char SP_KEY[] = "2b7e151628aed2a6abf7158809cf4f3c";
static const char SP_PT[] = "6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51"
                            "30c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710";

static uint16_t key(vm_runtime *rt, uint8_t type, const char *hex)
{
    uint8_t k[32];
    uint16_t n = at_hex(hex, k), h, ret;
    const char *cls = type <= TYPE_DES ? SEC "DESKeyImpl" : SEC "AESKeyImpl";
    assert_int_equal(at_call(rt, SEC "KeyBuilder", "buildKey", "(BSZ)Ljavacard/security/Key;", &h, type, n * 8, 0),
                     0);
    assert_int_equal(at_call(rt, cls, "setKey", "([BS)V", NULL, h, at_bytes(rt, k, n), 0), 0);
    assert_int_equal(at_call(rt, cls, "getSize", "()S", &ret, h), 0);
    assert_int_equal(ret, n * 8);
    return h;
}

static uint16_t cipher(vm_runtime *rt, uint8_t alg)
{
    uint16_t c;
    assert_int_equal(at_call(rt, CIPHER, "getInstance", "(BZ)Ljavacardx/crypto/Cipher;", &c, alg, 0), 0);
    return c;
}

static uint16_t sig(vm_runtime *rt, uint8_t alg)
{
    uint16_t s;
    assert_int_equal(at_call(rt, SIG, "getInstance", "(BZ)Ljavacard/security/Signature;", &s, alg, 0), 0);
    return s;
}

static void cinit(vm_runtime *rt, uint16_t c, uint16_t k, uint8_t mode, const char *iv_hex)
{
    if (!iv_hex) {
        assert_int_equal(at_call(rt, CIPHER, "init", INIT, NULL, c, k, mode), 0);
        return;
    }
    uint8_t iv[16];
    uint16_t n = at_hex(iv_hex, iv);
    assert_int_equal(at_call(rt, CIPHER, "init", INIT_IV, NULL, c, k, mode, at_bytes(rt, iv, n), 0, n), 0);
}

/* doFinal(in) -> bytes into out[]; returns the length */
static uint16_t final_bytes(vm_runtime *rt, uint16_t c, const uint8_t *in, uint16_t n, uint8_t *out)
{
    uint16_t ib = at_bytes(rt, in, n), ob = at_bytes(rt, NULL, (uint16_t)(n + 32)), ret;
    assert_int_equal(at_call(rt, CIPHER, "doFinal", IO, &ret, c, ib, 0, n, ob, 0), 0);
    memcpy(out, at_data(rt, ob), ret);
    return ret;
}

static void expect_final(vm_runtime *rt, uint16_t c, const char *in_hex, const char *out_hex)
{
    uint8_t in[128], want[128], got[160];
    uint16_t n = at_hex(in_hex, in), m = at_hex(out_hex, want);
    assert_int_equal(final_bytes(rt, c, in, n, got), m);
    assert_memory_equal(got, want, m);
}

static void test_des_tdea(void **state)
{
    (void)state;
    vt_card k;
    vt_card_new(&k, NULL);
    vm_runtime *rt = k.rt;
    /* FIPS 81 appendix B (ECB) and C (CBC, IV 1234567890abcdef) */
    uint16_t des = key(rt, TYPE_DES, "0123456789abcdef");
    uint16_t ecb = cipher(rt, 5), cbc = cipher(rt, 1);
    cinit(rt, ecb, des, ENCRYPT, NULL);
    expect_final(rt, ecb, NOW, "3fa40e8a984d48156a271787ab8883f9893d51ec4b563b53");
    cinit(rt, cbc, des, ENCRYPT, "1234567890abcdef");
    expect_final(rt, cbc, NOW, "e5c7cdde872bf27c43e934008c389c0f683788499a7c05f6");
    cinit(rt, cbc, des, DECRYPT, "1234567890abcdef");
    expect_final(rt, cbc, "e5c7cdde872bf27c43e934008c389c0f683788499a7c05f6", NOW);
    /* SP 800-67 TDEA example (three keys) */
    uint16_t k3 = key(rt, TYPE_DES, "0123456789abcdef23456789abcdef01456789abcdef0123");
    cinit(rt, ecb, k3, ENCRYPT, NULL);
    expect_final(rt, ecb, "54686520717566636b2062726f776e20666f78206a756d70",
                 "a826fd8ce53b855fcce21c8112256fe668d5c05dd9b6b900");
    cinit(rt, ecb, k3, DECRYPT, NULL);
    expect_final(rt, ecb, "a826fd8ce53b855fcce21c8112256fe668d5c05dd9b6b900",
                 "54686520717566636b2062726f776e20666f78206a756d70");
    /* two-key TDEA is three-key with K3 = K1 */
    uint16_t k2 = key(rt, TYPE_DES, "0123456789abcdef23456789abcdef01");
    uint16_t k21 = key(rt, TYPE_DES, "0123456789abcdef23456789abcdef010123456789abcdef");
    uint8_t in[24], a[32], b[32];
    at_hex(NOW, in);
    cinit(rt, ecb, k2, ENCRYPT, NULL);
    assert_int_equal(final_bytes(rt, ecb, in, 24, a), 24);
    cinit(rt, ecb, k21, ENCRYPT, NULL);
    assert_int_equal(final_bytes(rt, ecb, in, 24, b), 24);
    assert_memory_equal(a, b, 24);
    assert_memory_not_equal(a, "\x3f\xa4\x0e\x8a", 4);
    /* a DES cipher refuses an AES key and the other way round */
    uint16_t aes = key(rt, TYPE_AES, SP_KEY), r;
    assert_int_equal(at_call(rt, CIPHER, "init", INIT, NULL, ecb, aes, ENCRYPT), AT_CRYPTO(1));
    assert_int_equal(at_call(rt, CIPHER, "init", INIT, NULL, cipher(rt, 14), des, ENCRYPT), AT_CRYPTO(1));
    /* an IV of the wrong length (16 for DES) */
    uint16_t iv = at_bytes(rt, NULL, 16);
    assert_int_equal(at_call(rt, CIPHER, "init", INIT_IV, NULL, cbc, des, ENCRYPT, iv, 0, 16), AT_CRYPTO(1));
    /* the key's type and size; getKey gives the bytes back */
    assert_int_equal(at_call(rt, SEC "DESKeyImpl", "getType", "()B", &r, k2), 0);
    assert_int_equal(r, TYPE_DES);
    uint16_t back = at_bytes(rt, NULL, 16);
    assert_int_equal(at_call(rt, SEC "DESKeyImpl", "getKey", "([BS)B", &r, k2, back, 0), 0);
    assert_int_equal(r, 16);
    assert_memory_equal(at_data(rt, back), "\x01\x23\x45\x67\x89\xab\xcd\xef", 8);
    /* KeyBuilder lengths: 64, 128, 192 only */
    assert_int_equal(at_call(rt, SEC "KeyBuilder", "buildKey", "(BSZ)Ljavacard/security/Key;", &r, TYPE_DES, 256, 0),
                     AT_CRYPTO(3));
    /* the 4-argument form: ALG_TYPE_DES (1), MEMORY_TYPE_TRANSIENT_RESET */
    assert_int_equal(at_call(rt, SEC "KeyBuilder", "buildKey", "(BBSZ)Ljavacard/security/Key;", &r, 1, 1, 128, 0), 0);
    uint16_t t;
    assert_int_equal(at_call(rt, SEC "DESKeyImpl", "getType", "()B", &t, r), 0);
    assert_int_equal(t, TYPE_DES_TRANSIENT_RESET);
    vt_card_free(&k);
}

/* Pad by rule: 2 ISO 9797-1 method 1, 3 method 2, 6 PKCS#5. */
static uint16_t pad_by_rule(uint8_t pad, uint8_t *m, uint16_t n, uint16_t bs)
{
    uint16_t rest = n % bs;
    if (pad == 2) {
        if (rest == 0 && n)
            return n;
        memset(m + n, 0, bs - rest);
    } else if (pad == 3) {
        m[n] = 0x80;
        memset(m + n + 1, 0, bs - rest - 1);
    } else {
        memset(m + n, bs - rest, bs - rest);
    }
    return (uint16_t)(n + bs - rest);
}

static void test_padding_by_structure(void **state)
{
    (void)state;
    /* (padded alg, NOPAD alg of the same cipher and mode, pad rule, block) */
    static const struct { uint8_t alg, nopad, pad, bs; } v[] = {
        { 2, 1, 2, 8 }, { 3, 1, 3, 8 }, { 4, 1, 6, 8 }, { 6, 5, 2, 8 }, { 7, 5, 3, 8 }, { 8, 5, 6, 8 },
        { 22, 13, 2, 16 }, { 23, 13, 3, 16 }, { 24, 13, 6, 16 }, { 25, 14, 2, 16 }, { 26, 14, 3, 16 },
        { 27, 14, 6, 16 },
    };
    vt_card k;
    vt_card_new(&k, NULL);
    vm_runtime *rt = k.rt;
    uint16_t des = key(rt, TYPE_DES, "0123456789abcdef23456789abcdef01"), aes = key(rt, TYPE_AES, SP_KEY);
    uint8_t msg[64];
    at_hex(SP_PT, msg);
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        uint16_t kk = v[i].bs == 8 ? des : aes;
        uint16_t c = cipher(rt, v[i].alg), np = cipher(rt, v[i].nopad), ret;
        assert_int_equal(at_call(rt, CIPHER, "getPaddingAlgorithm", "()B", &ret, c), 0);
        assert_int_equal(ret, v[i].pad);
        /* lengths: empty, one short of a block, a block, between blocks */
        static const uint16_t lens[] = { 0, 7, 15, 16, 21, 32 };
        for (size_t j = 0; j < sizeof lens / sizeof lens[0]; j++) {
            uint16_t n = lens[j];
            if (v[i].pad == 2 && n == 0)
                continue;   /* method 1 on nothing is checked below */
            uint8_t padded[64], a[96], b[96], back[96];
            memcpy(padded, msg, n);
            uint16_t pn = pad_by_rule(v[i].pad, padded, n, v[i].bs);
            cinit(rt, c, kk, ENCRYPT, NULL);
            uint16_t an = final_bytes(rt, c, msg, n, a);
            cinit(rt, np, kk, ENCRYPT, NULL);
            uint16_t bn = final_bytes(rt, np, padded, pn, b);
            assert_int_equal(an, pn);
            assert_int_equal(bn, pn);
            assert_memory_equal(a, b, pn);
            /* and back: method 1 keeps the zeros, 2 and PKCS#5 strip */
            cinit(rt, c, kk, DECRYPT, NULL);
            uint16_t dn = final_bytes(rt, c, a, an, back);
            assert_int_equal(dn, v[i].pad == 2 ? pn : n);
            assert_memory_equal(back, padded, dn);
        }
        /* a ciphertext whose padding is wrong: ILLEGAL_USE (NOPAD output of
         * a block of zeros decrypts to zeros: no 0x80, no PKCS#5 count) */
        if (v[i].pad != 2) {
            uint8_t zeros[16] = { 0 }, ct[32];
            cinit(rt, np, kk, ENCRYPT, NULL);
            final_bytes(rt, np, zeros, v[i].bs, ct);
            cinit(rt, c, kk, DECRYPT, NULL);
            uint16_t ib = at_bytes(rt, ct, v[i].bs), ob = at_bytes(rt, NULL, 16);
            assert_int_equal(at_call(rt, CIPHER, "doFinal", IO, &ret, c, ib, 0, v[i].bs, ob, 0), AT_CRYPTO(5));
            /* a decryption that is not whole blocks: ILLEGAL_USE */
            assert_int_equal(at_call(rt, CIPHER, "doFinal", IO, &ret, c, ib, 0, 5, ob, 0), AT_CRYPTO(5));
        }
    }
    /* method 1 on an empty message: one block of zeros */
    uint16_t c = cipher(rt, 25), np = cipher(rt, 14);
    uint8_t zeros[16] = { 0 }, a[32], b[32];
    cinit(rt, c, aes, ENCRYPT, NULL);
    assert_int_equal(final_bytes(rt, c, zeros, 0, a), 16);
    cinit(rt, np, aes, ENCRYPT, NULL);
    final_bytes(rt, np, zeros, 16, b);
    assert_memory_equal(a, b, 16);
    /* SP 800-38A F.2.1's first block with PKCS#5 (OpenSSL's default
     * padding agrees) */
    uint16_t p5 = cipher(rt, 24);
    cinit(rt, p5, aes, ENCRYPT, "000102030405060708090a0b0c0d0e0f");
    expect_final(rt, p5, "6bc1bee22e409f96e93d7e117393172a",
                 "7649abac8119b246cee98e9b12e9197d8964e0b149c10b7b682e6e39aaeb731c");
    /* the two-argument getInstance and the getters */
    uint16_t ret, g;
    assert_int_equal(at_call(rt, CIPHER, "getInstance", "(BBZ)Ljavacardx/crypto/Cipher;", &g, 3, 3, 0), 0);
    assert_int_equal(at_call(rt, CIPHER, "getAlgorithm", "()B", &ret, g), 0);
    assert_int_equal(ret, 3);   /* ALG_DES_CBC_ISO9797_M2 */
    assert_int_equal(at_call(rt, CIPHER, "getCipherAlgorithm", "()B", &ret, g), 0);
    assert_int_equal(ret, 3);   /* CIPHER_DES_CBC */
    assert_int_equal(at_call(rt, CIPHER, "getInstance", "(BBZ)Ljavacardx/crypto/Cipher;", &g, 2, 6, 0), 0);
    assert_int_equal(at_call(rt, CIPHER, "getAlgorithm", "()B", &ret, g), 0);
    assert_int_equal(ret, 27);  /* ALG_AES_ECB_PKCS5 */
    assert_int_equal(at_call(rt, CIPHER, "getInstance", "(BBZ)Ljavacardx/crypto/Cipher;", &g, 2, 9, 0),
                     AT_CRYPTO(3));
    vt_card_free(&k);
}

/* Padded decryption holds the last whole block back until doFinal; the
 * sizes update returns add up to the plaintext. */
static void test_update_pieces(void **state)
{
    (void)state;
    vt_card k;
    vt_card_new(&k, NULL);
    vm_runtime *rt = k.rt;
    uint16_t aes = key(rt, TYPE_AES, SP_KEY), c = cipher(rt, 23), ret;   /* AES CBC M2 */
    uint8_t msg[64], ct[96];
    at_hex(SP_PT, msg);
    cinit(rt, c, aes, ENCRYPT, NULL);
    uint16_t cn = final_bytes(rt, c, msg, 40, ct);
    assert_int_equal(cn, 48);
    uint16_t ib = at_bytes(rt, ct, cn), ob = at_bytes(rt, NULL, 64);
    cinit(rt, c, aes, DECRYPT, NULL);
    assert_int_equal(at_call(rt, CIPHER, "update", IO, &ret, c, ib, 0, 32, ob, 0), 0);
    assert_int_equal(ret, 16);   /* the second block waits: it might be the last */
    uint16_t total = ret;
    assert_int_equal(at_call(rt, CIPHER, "update", IO, &ret, c, ib, 32, 3, ob, total), 0);
    assert_int_equal(ret, 16);
    total = (uint16_t)(total + ret);
    assert_int_equal(at_call(rt, CIPHER, "doFinal", IO, &ret, c, ib, 35, 13, ob, total), 0);
    assert_int_equal(ret, 8);
    total = (uint16_t)(total + ret);
    assert_int_equal(total, 40);
    assert_memory_equal(at_data(rt, ob), msg, 40);
    vt_card_free(&k);
}

static void test_aes_ctr_sp800_38a(void **state)
{
    (void)state;
    static const char ct[] = "874d6191b620e3261bef6864990db6ce9806f66b7970fdff8617187bb9fffdff"
                             "5ae4df3edbd5d35e5b4f09020db03eab1e031dda2fbe03d1792170a0f3009cee";
    vt_card k;
    vt_card_new(&k, NULL);
    vm_runtime *rt = k.rt;
    uint16_t aes = key(rt, TYPE_AES, SP_KEY), c = cipher(rt, 0xF0), ret;
    const char *icb = "f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff";
    cinit(rt, c, aes, ENCRYPT, icb);
    expect_final(rt, c, SP_PT, ct);
    /* in pieces that cut keystream blocks: 5, 20, then the rest */
    uint8_t pt[64], want[64];
    at_hex(SP_PT, pt);
    at_hex(ct, want);
    uint16_t ib = at_bytes(rt, pt, 64), ob = at_bytes(rt, NULL, 64);
    assert_int_equal(at_call(rt, CIPHER, "update", IO, &ret, c, ib, 0, 5, ob, 0), 0);
    assert_int_equal(ret, 5);
    assert_int_equal(at_call(rt, CIPHER, "update", IO, &ret, c, ib, 5, 20, ob, 5), 0);
    assert_int_equal(ret, 20);
    assert_int_equal(at_call(rt, CIPHER, "doFinal", IO, &ret, c, ib, 25, 39, ob, 25), 0);
    assert_int_equal(ret, 39);
    assert_memory_equal(at_data(rt, ob), want, 64);
    /* F.5.2: decryption is the same operation */
    cinit(rt, c, aes, DECRYPT, icb);
    expect_final(rt, c, ct, SP_PT);
    assert_int_equal(at_call(rt, CIPHER, "getAlgorithm", "()B", &ret, c), 0);
    assert_int_equal(ret, 0xF0);
    vt_card_free(&k);
}

/* Output overlapping the input in the same array, ahead of it and behind
 * it: the same result as separate arrays. */
static void test_overlap(void **state)
{
    (void)state;
    vt_card k;
    vt_card_new(&k, NULL);
    vm_runtime *rt = k.rt;
    uint16_t aes = key(rt, TYPE_AES, SP_KEY), ret;
    static const uint8_t algs[] = { 13, 24, 0xF0 };
    uint8_t msg[64];
    at_hex(SP_PT, msg);
    for (size_t i = 0; i < sizeof algs; i++) {
        uint16_t c = cipher(rt, algs[i]);
        uint8_t ref[96];
        cinit(rt, c, aes, ENCRYPT, NULL);
        uint16_t n = final_bytes(rt, c, msg, 48, ref);
        static const int16_t shifts[] = { -5, 0, 3, 16 };
        for (size_t s = 0; s < sizeof shifts / sizeof shifts[0]; s++) {
            uint16_t buf = at_bytes(rt, NULL, 128);
            api_store(rt, &rt->objs[buf], 20, msg, 48, 0);
            cinit(rt, c, aes, ENCRYPT, NULL);
            uint16_t out = (uint16_t)(20 + shifts[s]), got = 0;
            if (shifts[s] <= 0) {
                /* an update of 21 bytes, then doFinal of the rest: the
                 * update's output stays behind the input still to come */
                assert_int_equal(at_call(rt, CIPHER, "update", IO, &got, c, buf, 20, 21, buf, out), 0);
                assert_int_equal(at_call(rt, CIPHER, "doFinal", IO, &ret, c, buf, 41, 27, buf,
                                         (uint16_t)(out + got)), 0);
            } else {
                assert_int_equal(at_call(rt, CIPHER, "doFinal", IO, &ret, c, buf, 20, 48, buf, out), 0);
            }
            assert_int_equal(got + ret, n);
            assert_memory_equal(at_data(rt, buf) + out, ref, n);
        }
    }
    vt_card_free(&k);
}

static void sign_expect(vm_runtime *rt, uint16_t s, uint16_t kh, const char *msg_hex, const char *mac_hex)
{
    uint8_t m[128], want[16];
    uint16_t n = at_hex(msg_hex, m), ml = at_hex(mac_hex, want), ret;
    uint16_t ib = at_bytes(rt, m, n ? n : 1), ob = at_bytes(rt, NULL, 20);
    assert_int_equal(at_call(rt, SIG, "init", INIT, NULL, s, kh, SIGN), 0);
    assert_int_equal(at_call(rt, SIG, "sign", "([BSS[BS)S", &ret, s, ib, 0, n, ob, 2), 0);
    assert_int_equal(ret, ml);
    assert_memory_equal(at_data(rt, ob) + 2, want, ml);
    assert_int_equal(at_call(rt, SIG, "getLength", "()S", &ret, s), 0);
    assert_int_equal(ret, ml);
    /* in pieces: update of 1 and of 17 bytes first */
    if (n > 18) {
        assert_int_equal(at_call(rt, SIG, "update", "([BSS)V", NULL, s, ib, 0, 1), 0);
        assert_int_equal(at_call(rt, SIG, "update", "([BSS)V", NULL, s, ib, 1, 17), 0);
        assert_int_equal(at_call(rt, SIG, "sign", "([BSS[BS)S", &ret, s, ib, 18, n - 18, ob, 2), 0);
        assert_memory_equal(at_data(rt, ob) + 2, want, ml);
    }
    /* verify: right, one bit off, one byte short */
    assert_int_equal(at_call(rt, SIG, "init", INIT, NULL, s, kh, VERIFY), 0);
    uint16_t good = at_bytes(rt, want, ml);
    assert_int_equal(at_call(rt, SIG, "verify", "([BSS[BSS)Z", &ret, s, ib, 0, n, good, 0, ml), 0);
    assert_int_equal(ret, 1);
    want[ml - 1] ^= 1;
    uint16_t bad = at_bytes(rt, want, ml);
    assert_int_equal(at_call(rt, SIG, "verify", "([BSS[BSS)Z", &ret, s, ib, 0, n, bad, 0, ml), 0);
    assert_int_equal(ret, 0);
    assert_int_equal(at_call(rt, SIG, "verify", "([BSS[BSS)Z", &ret, s, ib, 0, n, good, 0, ml - 1), 0);
    assert_int_equal(ret, 0);
}

static void test_cmac_rfc4493(void **state)
{
    (void)state;
    vt_card k;
    vt_card_new(&k, NULL);
    vm_runtime *rt = k.rt;
    uint16_t aes = key(rt, TYPE_AES, SP_KEY), s = sig(rt, 49), ret;
    sign_expect(rt, s, aes, "", "bb1d6929e95937287fa37d129b756746");
    sign_expect(rt, s, aes, "6bc1bee22e409f96e93d7e117393172a", "070a16b46b4d4144f79bdd9dd04a287c");
    sign_expect(rt, s, aes, "6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e5130c81c46a35ce411",
                "dfa66747de9ae63030ca32611497c827");
    sign_expect(rt, s, aes, SP_PT, "51f0bebf7e3b9d92fc49741779363cfe");
    /* the three-argument form: (ALG_NULL, SIG_CIPHER_AES_CMAC128, PAD_NULL) */
    assert_int_equal(at_call(rt, SIG, "getInstance", "(BBBZ)Ljavacard/security/Signature;", &s, 0, 10, 0, 0), 0);
    assert_int_equal(at_call(rt, SIG, "getAlgorithm", "()B", &ret, s), 0);
    assert_int_equal(ret, 49);
    /* CMAC takes no IV */
    uint16_t iv = at_bytes(rt, NULL, 16);
    assert_int_equal(at_call(rt, SIG, "init", INIT_IV, NULL, s, aes, SIGN, iv, 0, 16), AT_CRYPTO(1));
    vt_card_free(&k);
}

static void test_des_macs_iso9797(void **state)
{
    (void)state;
    vt_card k;
    vt_card_new(&k, NULL);
    vm_runtime *rt = k.rt;
    uint16_t k1 = key(rt, TYPE_DES, "0123456789abcdef"), k12 = key(rt, TYPE_DES, "0123456789abcdeffedcba9876543210");
    /* ISO/IEC 9797-1 B: MAC algorithm 1, padding method 1, DES */
    sign_expect(rt, sig(rt, 4), k1, NOW, "70a30640cc76dd8b");
    sign_expect(rt, sig(rt, 3), k1, NOW, "70a30640");
    /* NOPAD on whole blocks is the same as method 1 there */
    sign_expect(rt, sig(rt, 2), k1, NOW, "70a30640cc76dd8b");
    /* MAC algorithm 3 (retail), padding method 1: ISO 9797-1 B */
    sign_expect(rt, sig(rt, 48), k12, NOW, "a1c72e74ea3fa9b6");
    sign_expect(rt, sig(rt, 47), k12, NOW, "a1c72e74");
    /* method 2 (0x80 then zeros: a whole block more here) */
    sign_expect(rt, sig(rt, 20), k12, NOW, "e9086230ca3be796");
    sign_expect(rt, sig(rt, 19), k12, NOW, "e9086230");
    /* MAC algorithm 1 with two-key TDEA, method 2 */
    sign_expect(rt, sig(rt, 6), k12, NOW, "805036d50bb76107");
    /* PKCS#5 is method 2's structure with the count as the pad byte:
     * check by padding by hand under NOPAD */
    uint8_t m[40];
    at_hex(NOW, m);
    memset(m + 24, 8, 8);
    uint16_t s8 = sig(rt, 8), s2 = sig(rt, 2), ret;
    uint16_t ib = at_bytes(rt, m, 32), oa = at_bytes(rt, NULL, 8), ob = at_bytes(rt, NULL, 8);
    assert_int_equal(at_call(rt, SIG, "init", INIT, NULL, s8, k12, SIGN), 0);
    assert_int_equal(at_call(rt, SIG, "sign", "([BSS[BS)S", &ret, s8, ib, 0, 24, oa, 0), 0);
    assert_int_equal(at_call(rt, SIG, "init", INIT, NULL, s2, k12, SIGN), 0);
    assert_int_equal(at_call(rt, SIG, "sign", "([BSS[BS)S", &ret, s2, ib, 0, 32, ob, 0), 0);
    assert_memory_equal(at_data(rt, oa), at_data(rt, ob), 8);
    /* NOPAD on a partial block: ILLEGAL_USE; an AES key: ILLEGAL_VALUE */
    assert_int_equal(at_call(rt, SIG, "sign", "([BSS[BS)S", &ret, s2, ib, 0, 5, ob, 0), AT_CRYPTO(5));
    assert_int_equal(at_call(rt, SIG, "init", INIT, NULL, s2, key(rt, TYPE_AES, SP_KEY), SIGN), AT_CRYPTO(1));
    /* the getters */
    uint16_t s = sig(rt, 20);
    assert_int_equal(at_call(rt, SIG, "getCipherAlgorithm", "()B", &ret, s), 0);
    assert_int_equal(ret, 2);   /* SIG_CIPHER_DES_MAC8 */
    assert_int_equal(at_call(rt, SIG, "getPaddingAlgorithm", "()B", &ret, s), 0);
    assert_int_equal(ret, 5);   /* PAD_ISO9797_1_M2_ALG3 */
    assert_int_equal(at_call(rt, SIG, "getMessageDigestAlgorithm", "()B", &ret, s), 0);
    assert_int_equal(ret, 0);
    vt_card_free(&k);
}

static void test_oneshot(void **state)
{
    (void)state;
    vt_card k;
    vt_card_new(&k, NULL);
    vm_runtime *rt = k.rt;
    uint16_t aes = key(rt, TYPE_AES, SP_KEY), c, c2, ret;
    /* Cipher.OneShot.open(CIPHER_AES_CBC, PAD_NOPAD): SP 800-38A F.2.1 */
    assert_int_equal(at_call(rt, CIPHER "$OneShot", "open", "(BB)Ljavacardx/crypto/Cipher$OneShot;", &c, 1, 1), 0);
    assert_int_equal(at_call(rt, CIPHER "$OneShot", "init", INIT_IV, NULL, c, aes, ENCRYPT,
                             at_bytes(rt, "\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f", 16), 0,
                             16), 0);
    expect_final(rt, c, "6bc1bee22e409f96e93d7e117393172a", "7649abac8119b246cee98e9b12e9197d");
    assert_int_equal(at_call(rt, CIPHER "$OneShot", "close", "()V", NULL, c), 0);
    /* closed: not initialized any more; open again reuses the object */
    uint16_t buf = at_bytes(rt, NULL, 16);
    assert_int_equal(at_call(rt, CIPHER "$OneShot", "doFinal", IO, &ret, c, buf, 0, 16, buf, 0), AT_CRYPTO(4));
    assert_int_equal(at_call(rt, CIPHER "$OneShot", "open", "(BB)Ljavacardx/crypto/Cipher$OneShot;", &c2, 1, 1), 0);
    assert_int_equal(c2, c);
    /* while c is open another open gives another object */
    uint16_t c3;
    assert_int_equal(at_call(rt, CIPHER "$OneShot", "open", "(BB)Ljavacardx/crypto/Cipher$OneShot;", &c3, 1, 1), 0);
    assert_int_not_equal(c3, c);
    /* CIPHER_KOREAN_SEED_ECB, PAD_NOPAD: not on this card */
    assert_int_equal(at_call(rt, CIPHER "$OneShot", "open", "(BB)Ljavacardx/crypto/Cipher$OneShot;", &ret, 6, 1),
                     AT_CRYPTO(3));
    /* Signature.OneShot.open(ALG_NULL, SIG_CIPHER_AES_CMAC128, PAD_NULL) */
    uint16_t s;
    assert_int_equal(at_call(rt, SIG "$OneShot", "open", "(BBB)Ljavacard/security/Signature$OneShot;", &s, 0, 10, 0),
                     0);
    sign_expect(rt, s, aes, "6bc1bee22e409f96e93d7e117393172a", "070a16b46b4d4144f79bdd9dd04a287c");
    assert_int_equal(at_call(rt, SIG "$OneShot", "close", "()V", NULL, s), 0);
    /* MessageDigest.OneShot SHA-256 of "abc" (FIPS 180-2 B.1) */
    uint16_t md, in = at_bytes(rt, "abc", 3), out = at_bytes(rt, NULL, 32);
    assert_int_equal(at_call(rt, SEC "MessageDigest$OneShot", "open", "(B)Ljavacard/security/MessageDigest$OneShot;",
                             &md, 4), 0);
    assert_int_equal(at_call(rt, SEC "MessageDigest$OneShot", "doFinal", "([BSS[BS)S", &ret, md, in, 0, 3, out, 0), 0);
    assert_int_equal(ret, 32);
    uint8_t want[32];
    at_hex("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", want);
    assert_memory_equal(at_data(rt, out), want, 32);
    assert_int_equal(at_call(rt, SEC "MessageDigest$OneShot", "close", "()V", NULL, md), 0);
    /* RandomData.OneShot */
    uint16_t r;
    assert_int_equal(at_call(rt, SEC "RandomData$OneShot", "open", "(B)Ljavacard/security/RandomData$OneShot;", &r, 2),
                     0);
    assert_int_equal(at_call(rt, SEC "RandomData$OneShot", "nextBytes", "([BSS)S", &ret, r, out, 0, 32), 0);
    assert_int_equal(ret, 32);
    assert_int_equal(at_call(rt, SEC "RandomData$OneShot", "close", "()V", NULL, r), 0);
    vt_card_free(&k);
}

static void test_pseudo_random(void **state)
{
    (void)state;
    vt_card k;
    vt_card_new(&k, NULL);
    vm_runtime *rt = k.rt;
    uint16_t p1, p2, p3, s1, seed = at_bytes(rt, "seed", 4), other = at_bytes(rt, "seee", 4);
    const char *gi = "(B)Ljavacard/security/RandomData;", *gen = "([BSS)V";
    assert_int_equal(at_call(rt, SEC "RandomData", "getInstance", gi, &p1, 1), 0);
    assert_int_equal(at_call(rt, SEC "RandomData", "getInstance", gi, &p2, 1), 0);
    assert_int_equal(at_call(rt, SEC "RandomData", "getInstance", gi, &p3, 1), 0);
    assert_int_equal(at_call(rt, SEC "RandomData", "setSeed", gen, NULL, p1, seed, 0, 4), 0);
    assert_int_equal(at_call(rt, SEC "RandomData", "setSeed", gen, NULL, p2, seed, 0, 4), 0);
    assert_int_equal(at_call(rt, SEC "RandomData", "setSeed", gen, NULL, p3, other, 0, 4), 0);
    uint16_t a = at_bytes(rt, NULL, 100), b = at_bytes(rt, NULL, 100), c = at_bytes(rt, NULL, 100);
    /* the same seed, the same sequence, whatever the draw sizes */
    assert_int_equal(at_call(rt, SEC "RandomData", "generateData", gen, NULL, p1, a, 0, 100), 0);
    assert_int_equal(at_call(rt, SEC "RandomData", "generateData", gen, NULL, p2, b, 0, 100), 0);
    assert_memory_equal(at_data(rt, a), at_data(rt, b), 100);
    assert_int_equal(at_call(rt, SEC "RandomData", "generateData", gen, NULL, p3, c, 0, 100), 0);
    assert_memory_not_equal(at_data(rt, a), at_data(rt, c), 100);
    /* a second draw differs from the first */
    assert_int_equal(at_call(rt, SEC "RandomData", "generateData", gen, NULL, p1, a, 0, 100), 0);
    assert_memory_not_equal(at_data(rt, a), at_data(rt, b), 100);
    assert_int_equal(at_call(rt, SEC "RandomData", "generateData", gen, NULL, p2, b, 0, 100), 0);
    assert_memory_equal(at_data(rt, a), at_data(rt, b), 100);
    /* the secure generator ignores seeds */
    assert_int_equal(at_call(rt, SEC "RandomData", "getInstance", gi, &s1, 2), 0);
    assert_int_equal(at_call(rt, SEC "RandomData", "setSeed", gen, NULL, s1, seed, 0, 4), 0);
    assert_int_equal(at_call(rt, SEC "RandomData", "generateData", gen, NULL, s1, c, 0, 100), 0);
    assert_memory_not_equal(at_data(rt, a), at_data(rt, c), 100);
    /* the 3.0.5 names */
    for (uint8_t alg = 3; alg <= 6; alg++) {
        uint16_t r, ret;
        assert_int_equal(at_call(rt, SEC "RandomData", "getInstance", gi, &r, alg), 0);
        assert_int_equal(at_call(rt, SEC "RandomData", "getAlgorithm", "()B", &ret, r), 0);
        assert_int_equal(ret, alg);
    }
    vt_card_free(&k);
}

/* A key cleared at reset is uninitialized afterwards, and a Cipher
 * initialised with it says so (UNINITIALIZED_KEY), not crashes. */
static void test_transient_des_key_reset(void **state)
{
    (void)state;
    vt_card k;
    vt_card_new(&k, NULL);
    uint16_t t = key(k.rt, TYPE_DES_TRANSIENT_RESET, "0123456789abcdef"), c = cipher(k.rt, 5), ret;
    cinit(k.rt, c, t, ENCRYPT, NULL);
    vt_commit(&k);
    vt_reset(&k);
    assert_int_equal(at_call(k.rt, SEC "DESKeyImpl", "isInitialized", "()Z", &ret, t), 0);
    assert_int_equal(ret, 0);
    uint16_t buf = at_bytes(k.rt, NULL, 8);
    /* the cipher's state was CLEAR_ON_DESELECT too: not initialised */
    int rc = at_call(k.rt, CIPHER, "doFinal", IO, &ret, c, buf, 0, 8, buf, 0);
    assert_true(rc == AT_CRYPTO(4) || rc == AT_CRYPTO(2));
    assert_int_equal(at_call(k.rt, CIPHER, "init", INIT, NULL, c, t, ENCRYPT), AT_CRYPTO(2));
    vt_card_free(&k);
}

/* JC API: a reset puts an initialized Cipher or Signature back to the
 * state init() made with the same key and mode, default values for the
 * rest (a zero IV); a deselect keeps its state. */
static void test_reset_keeps_init(void **state)
{
    (void)state;
    vt_card k;
    vt_card_new(&k, NULL);
    vm_runtime *rt = k.rt;
    uint16_t aes = key(rt, TYPE_AES, SP_KEY), cbc = cipher(rt, 13), ref = cipher(rt, 13), ret;
    uint16_t hk, hs = sig(rt, 25);
    assert_int_equal(at_call(rt, SEC "KeyBuilder", "buildKey", "(BSZ)Ljavacard/security/Key;", &hk, 21, 64, 0), 0);
    assert_int_equal(at_call(rt, SEC "HMACKeyImpl", "setKey", "([BSS)V", NULL, hk, at_bytes(rt, "Jefe", 4), 0, 4), 0);
    assert_int_equal(at_call(rt, SIG, "init", INIT, NULL, hs, hk, SIGN), 0);
    cinit(rt, cbc, aes, ENCRYPT, "000102030405060708090a0b0c0d0e0f");
    cinit(rt, ref, aes, ENCRYPT, NULL);
    uint8_t msg[64], zero_iv[32], got[48];
    at_hex(SP_PT, msg);
    final_bytes(rt, ref, msg, 32, zero_iv);
    /* something pending in both before the reset */
    uint16_t ib = at_bytes(rt, msg, 32), ob = at_bytes(rt, NULL, 32);
    assert_int_equal(at_call(rt, CIPHER, "update", IO, &ret, cbc, ib, 0, 5, ob, 0), 0);
    assert_int_equal(at_call(rt, SIG, "update", "([BSS)V", NULL, hs, ib, 0, 5), 0);
    vt_commit(&k);
    vt_reset(&k);
    assert_int_equal(final_bytes(rt, cbc, msg, 32, got), 32);
    assert_memory_equal(got, zero_iv, 32);
    /* HMAC-SHA-256 of RFC 4231 test case 2: nothing of the update before
     * the reset, the key still there */
    const char *m = "what do ya want for nothing?";
    uint16_t in = at_bytes(rt, m, 28), out = at_bytes(rt, NULL, 32);
    assert_int_equal(at_call(rt, SIG, "sign", "([BSS[BS)S", &ret, hs, in, 0, 28, out, 0), 0);
    uint8_t want[32];
    at_hex("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843", want);
    assert_memory_equal(at_data(rt, out), want, 32);
    vt_card_free(&k);
}

/* The class tokens api_support.h names for the crypto code are the ones
 * the generator gave (hidden classes take tokens in HIDDEN's order: two
 * branches adding one each must renumber). */
static void test_class_tokens(void **state)
{
    (void)state;
    static const struct { const char *name; unsigned token; } v[] = {
        { SEC "AESKeyImpl", JC_SEC_AESKeyImpl }, { SEC "HMACKeyImpl", JC_SEC_HMACKeyImpl },
        { SEC "DESKeyImpl", JC_SEC_DESKeyImpl }, { SEC "MessageDigest$OneShot", JC_SEC_MessageDigest_OneShot },
        { SEC "RandomData$OneShot", JC_SEC_RandomData_OneShot }, { SEC "Signature$OneShot", JC_SEC_Signature_OneShot },
        { CIPHER "$OneShot", JC_CRYPTO_Cipher_OneShot }, { CIPHER, JC_CRYPTO_Cipher },
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        const jc_api_class *c = jc_api_class_by_name(v[i].name, NULL);
        assert_non_null(c);
        if (c->token != v[i].token)
            fail_msg("%s: token %u in vm/api_tokens.c, %u in vm/api_support.h", v[i].name, c->token, v[i].token);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_des_tdea),
        cmocka_unit_test(test_padding_by_structure),
        cmocka_unit_test(test_update_pieces),
        cmocka_unit_test(test_aes_ctr_sp800_38a),
        cmocka_unit_test(test_overlap),
        cmocka_unit_test(test_cmac_rfc4493),
        cmocka_unit_test(test_des_macs_iso9797),
        cmocka_unit_test(test_oneshot),
        cmocka_unit_test(test_pseudo_random),
        cmocka_unit_test(test_transient_des_key_reset),
        cmocka_unit_test(test_reset_keeps_init),
        cmocka_unit_test(test_class_tokens),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
