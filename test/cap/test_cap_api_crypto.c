/* test_cap_api_crypto.c — the crypto subset of the built-in API
 * (vm/api_security.c) called through its token table on a real runtime,
 * against published vectors: FIPS-197 appendix C (AES-128, AES-256),
 * NIST SP 800-38A F.1.1 / F.2.1 (ECB, CBC), FIPS 180-2 appendix B
 * (SHA-256), FIPS 180-2/180-4 examples (SHA-1, -224, -384, -512), RFC
 * 2202 / RFC 4231 (HMAC), CRC check values (Checksum), and the CBC-MAC of the shared pinaes transcript (recomputed
 * there with an independent library). Error cases follow the JC 3.0.5 API:
 * CryptoException reasons ILLEGAL_USE (5) for unaligned NOPAD input,
 * UNINITIALIZED_KEY (2), NO_SUCH_ALGORITHM (3). */
#include "api_test.h"

#define SEC "javacard/security/"
#define KEYI "javacard/security/AESKeyImpl"
#define CIPHER "javacardx/crypto/Cipher"

enum { TYPE_AES = 15, TYPE_AES_TRANSIENT_RESET = 13, ECB = 14, CBC = 13, ENCRYPT = 2, DECRYPT = 1,
       MAC_AES_128_NOPAD = 18, SIGN = 1, VERIFY = 2, SHA_256 = 4 };

static uint16_t aes_key(vm_runtime *rt, uint8_t type, const char *hex)
{
    uint8_t k[32];
    uint16_t n = at_hex(hex, k), key, ret;
    assert_int_equal(at_call(rt, SEC "KeyBuilder", "buildKey", "(BSZ)Ljavacard/security/Key;", &key, type,
                             n * 8, 0), 0);
    assert_int_equal(at_call(rt, KEYI, "setKey", "([BS)V", NULL, key, at_bytes(rt, k, n), 0), 0);
    assert_int_equal(at_call(rt, KEYI, "getSize", "()S", &ret, key), 0);
    assert_int_equal(ret, n * 8);
    return key;
}

static uint16_t cipher(vm_runtime *rt, uint8_t alg)
{
    uint16_t c;
    assert_int_equal(at_call(rt, CIPHER, "getInstance", "(BZ)Ljavacardx/crypto/Cipher;", &c, alg, 0), 0);
    return c;
}

/* doFinal of hex input; compares with hex output. */
static void expect_final(vm_runtime *rt, uint16_t c, const char *in_hex, const char *out_hex)
{
    uint8_t in[64], want[64];
    uint16_t n = at_hex(in_hex, in), m = at_hex(out_hex, want), ret;
    uint16_t ib = at_bytes(rt, in, n), ob = at_bytes(rt, NULL, 64);
    assert_int_equal(at_call(rt, CIPHER, "doFinal", "([BSS[BS)S", &ret, c, ib, 0, n, ob, 0), 0);
    assert_int_equal(ret, m);
    assert_memory_equal(at_data(rt, ob), want, m);
}

static void test_aes_ecb_fips197(void **state)
{
    (void)state;
    vt_card k;
    vt_card_new(&k, NULL);
    uint16_t key = aes_key(k.rt, TYPE_AES, "000102030405060708090a0b0c0d0e0f");
    uint16_t c = cipher(k.rt, ECB);
    assert_int_equal(at_call(k.rt, CIPHER, "init", "(Ljavacard/security/Key;B)V", NULL, c, key, ENCRYPT), 0);
    expect_final(k.rt, c, "00112233445566778899aabbccddeeff", "69c4e0d86a7b0430d8cdb78070b4c55a");
    assert_int_equal(at_call(k.rt, CIPHER, "init", "(Ljavacard/security/Key;B)V", NULL, c, key, DECRYPT), 0);
    expect_final(k.rt, c, "69c4e0d86a7b0430d8cdb78070b4c55a", "00112233445566778899aabbccddeeff");
    /* AES-256, FIPS-197 C.3 */
    uint16_t key256 = aes_key(k.rt, TYPE_AES, "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f");
    assert_int_equal(at_call(k.rt, CIPHER, "init", "(Ljavacard/security/Key;B)V", NULL, c, key256, ENCRYPT), 0);
    expect_final(k.rt, c, "00112233445566778899aabbccddeeff", "8ea2b7ca516745bfeafc49904b496089");
    /* SP 800-38A F.1.1, two blocks */
    uint16_t k2 = aes_key(k.rt, TYPE_AES, "2b7e151628aed2a6abf7158809cf4f3c");
    assert_int_equal(at_call(k.rt, CIPHER, "init", "(Ljavacard/security/Key;B)V", NULL, c, k2, ENCRYPT), 0);
    expect_final(k.rt, c, "6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51",
                 "3ad77bb40d7a3660a89ecaf32466ef97f5d3d58503b9699de785895a96fdbaaf");
    vt_card_free(&k);
}

static void test_aes_cbc_sp800_38a(void **state)
{
    (void)state;
    vt_card k;
    vt_card_new(&k, NULL);
    vm_runtime *rt = k.rt;
    uint16_t key = aes_key(rt, TYPE_AES, "2b7e151628aed2a6abf7158809cf4f3c");
    uint8_t iv[16];
    at_hex("000102030405060708090a0b0c0d0e0f", iv);
    uint16_t ivb = at_bytes(rt, iv, 16);
    uint16_t c = cipher(rt, CBC);
    const char *init_iv = "(Ljavacard/security/Key;B[BSS)V";
    assert_int_equal(at_call(rt, CIPHER, "init", init_iv, NULL, c, key, ENCRYPT, ivb, 0, 16), 0);
    const char *pt = "6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51";
    const char *ct = "7649abac8119b246cee98e9b12e9197d5086cb9b507219ee95db113a917678b2";
    expect_final(rt, c, pt, ct);
    /* doFinal leaves the state init() made: the same again */
    expect_final(rt, c, pt, ct);

    /* the same in pieces: update of 21 bytes gives one block and keeps 5
     * pending; doFinal of the other 11 completes the second block */
    uint8_t in[32], want[32];
    at_hex(pt, in);
    at_hex(ct, want);
    uint16_t ib = at_bytes(rt, in, 32), ob = at_bytes(rt, NULL, 32), ret;
    assert_int_equal(at_call(rt, CIPHER, "update", "([BSS[BS)S", &ret, c, ib, 0, 21, ob, 0), 0);
    assert_int_equal(ret, 16);
    assert_int_equal(at_call(rt, CIPHER, "doFinal", "([BSS[BS)S", &ret, c, ib, 21, 11, ob, 16), 0);
    assert_int_equal(ret, 16);
    assert_memory_equal(at_data(rt, ob), want, 32);

    /* decrypt in place (input and output the same array) */
    assert_int_equal(at_call(rt, CIPHER, "init", init_iv, NULL, c, key, DECRYPT, ivb, 0, 16), 0);
    assert_int_equal(at_call(rt, CIPHER, "doFinal", "([BSS[BS)S", &ret, c, ob, 0, 32, ob, 0), 0);
    assert_memory_equal(at_data(rt, ob), in, 32);

    /* an IV on ECB, or of the wrong length: ILLEGAL_VALUE */
    uint16_t e = cipher(rt, ECB);
    assert_int_equal(at_call(rt, CIPHER, "init", init_iv, NULL, e, key, ENCRYPT, ivb, 0, 16), AT_CRYPTO(1));
    assert_int_equal(at_call(rt, CIPHER, "init", init_iv, NULL, c, key, ENCRYPT, ivb, 0, 8), AT_CRYPTO(1));
    vt_card_free(&k);
}

static void test_cipher_errors(void **state)
{
    (void)state;
    vt_card k;
    vt_card_new(&k, NULL);
    vm_runtime *rt = k.rt;
    uint16_t c = cipher(rt, ECB), ret;
    uint16_t buf = at_bytes(rt, NULL, 32);
    /* not initialised */
    assert_int_equal(at_call(rt, CIPHER, "doFinal", "([BSS[BS)S", &ret, c, buf, 0, 16, buf, 0), AT_CRYPTO(4));
    /* a key never set */
    uint16_t key;
    assert_int_equal(at_call(rt, SEC "KeyBuilder", "buildKey", "(BSZ)Ljavacard/security/Key;", &key, TYPE_AES,
                             128, 0), 0);
    assert_int_equal(at_call(rt, KEYI, "isInitialized", "()Z", &ret, key), 0);
    assert_int_equal(ret, 0);
    assert_int_equal(at_call(rt, CIPHER, "init", "(Ljavacard/security/Key;B)V", NULL, c, key, ENCRYPT),
                     AT_CRYPTO(2));
    assert_int_equal(at_call(rt, KEYI, "getKey", "([BS)B", &ret, key, buf, 0), AT_CRYPTO(2));
    /* 5 bytes without padding: ILLEGAL_USE (the pinaes transcript's 6F05) */
    key = aes_key(rt, TYPE_AES, "000102030405060708090a0b0c0d0e0f");
    assert_int_equal(at_call(rt, CIPHER, "init", "(Ljavacard/security/Key;B)V", NULL, c, key, ENCRYPT), 0);
    assert_int_equal(at_call(rt, CIPHER, "doFinal", "([BSS[BS)S", &ret, c, buf, 0, 5, buf, 0), AT_CRYPTO(5));
    /* bad mode */
    assert_int_equal(at_call(rt, CIPHER, "init", "(Ljavacard/security/Key;B)V", NULL, c, key, 3), AT_CRYPTO(1));
    /* output out of bounds */
    assert_int_equal(at_call(rt, CIPHER, "doFinal", "([BSS[BS)S", &ret, c, buf, 0, 16, buf, 20), API_AIOOBE);
    /* getKey gives back what setKey got; clearKey uninitialises */
    assert_int_equal(at_call(rt, KEYI, "getKey", "([BS)B", &ret, key, buf, 1), 0);
    assert_int_equal(ret, 16);
    for (unsigned i = 0; i < 16; i++)
        assert_int_equal(at_data(rt, buf)[1 + i], i);
    assert_int_equal(at_call(rt, KEYI, "clearKey", "()V", NULL, key), 0);
    assert_int_equal(at_call(rt, KEYI, "isInitialized", "()Z", &ret, key), 0);
    assert_int_equal(ret, 0);
    assert_int_equal(at_call(rt, KEYI, "getType", "()B", &ret, key), 0);
    assert_int_equal(ret, TYPE_AES);
    vt_card_free(&k);
}

static void test_unsupported_algorithms(void **state)
{
    (void)state;
    vt_card k;
    vt_card_new(&k, NULL);
    vm_runtime *rt = k.rt;
    uint16_t r;
    /* ALG_KOREAN_SEED_ECB_NOPAD 16, ALG_AES_BLOCK_192_CBC_NOPAD 18 (a
     * Rijndael block of 192 bits), an unknown 99 */
    assert_int_equal(at_call(rt, CIPHER, "getInstance", "(BZ)Ljavacardx/crypto/Cipher;", &r, 16, 0), AT_CRYPTO(3));
    assert_int_equal(at_call(rt, CIPHER, "getInstance", "(BZ)Ljavacardx/crypto/Cipher;", &r, 18, 0), AT_CRYPTO(3));
    assert_int_equal(at_call(rt, CIPHER, "getInstance", "(BZ)Ljavacardx/crypto/Cipher;", &r, 99, 0), AT_CRYPTO(3));
    /* MessageDigest.ALG_MD5 2, Signature.ALG_KOREAN_SEED_MAC_NOPAD 32,
     * RandomData 7 (no such name) */
    assert_int_equal(at_call(rt, SEC "MessageDigest", "getInstance", "(BZ)Ljavacard/security/MessageDigest;", &r,
                             2, 0), AT_CRYPTO(3));
    assert_int_equal(at_call(rt, SEC "Signature", "getInstance", "(BZ)Ljavacard/security/Signature;", &r, 32, 0),
                     AT_CRYPTO(3));
    assert_int_equal(at_call(rt, SEC "RandomData", "getInstance", "(B)Ljavacard/security/RandomData;", &r, 7),
                     AT_CRYPTO(3));
    /* KeyBuilder.TYPE_KOREAN_SEED 18, a DES and an AES length that do not
     * exist */
    assert_int_equal(at_call(rt, SEC "KeyBuilder", "buildKey", "(BSZ)Ljavacard/security/Key;", &r, 18, 128, 0),
                     AT_CRYPTO(3));
    assert_int_equal(at_call(rt, SEC "KeyBuilder", "buildKey", "(BSZ)Ljavacard/security/Key;", &r, 3, 56, 0),
                     AT_CRYPTO(3));
    assert_int_equal(at_call(rt, SEC "KeyBuilder", "buildKey", "(BSZ)Ljavacard/security/Key;", &r, TYPE_AES, 100,
                             0), AT_CRYPTO(3));
    assert_int_equal(at_call(rt, SEC "Checksum", "getInstance", "(BZ)Ljavacard/security/Checksum;", &r, 3, 0),
                     AT_CRYPTO(3));
    vt_card_free(&k);
}

/* Checksum ALG_ISO3309_CRC16 / _CRC32 over "123456789", against the
 * catalogued check values of the same CRCs (LSB-first, generator 0x1021 /
 * 0x04C11DB7): initial value 0 and no complement (the API's default) is
 * CRC-16/KERMIT 0x2189; all ones and the result complemented (the API's
 * note for CCITT / PKZip) give CRC-16/X-25 0x906E and CRC-32 0xCBF43926.
 * CRC32 with initial value 0 against a bitwise computation written here
 * from the generator. */
static uint32_t crc32_bitwise(uint32_t r, const uint8_t *d, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        r ^= d[i];
        for (int b = 0; b < 8; b++)
            r = r & 1 ? (r >> 1) ^ 0xEDB88320u : r >> 1;
    }
    return r;
}

static uint32_t checksum(vm_runtime *rt, uint16_t cs, const char *msg, unsigned split, unsigned n)
{
    uint16_t in = at_bytes(rt, msg, (uint16_t)strlen(msg)), ob = at_bytes(rt, NULL, 6), ret;
    if (split)
        assert_int_equal(at_call(rt, SEC "Checksum", "update", "([BSS)V", NULL, cs, in, 0, split), 0);
    assert_int_equal(at_call(rt, SEC "Checksum", "doFinal", "([BSS[BS)S", &ret, cs, in, split,
                             (uint16_t)strlen(msg) - split, ob, 1), 0);
    assert_int_equal(ret, n);
    const uint8_t *o = at_data(rt, ob) + 1;
    return n == 2 ? (uint32_t)(o[0] << 8 | o[1]) : (uint32_t)o[0] << 24 | (uint32_t)o[1] << 16 | (uint32_t)o[2] << 8 | o[3];
}

static void test_checksum(void **state)
{
    (void)state;
    vt_card k;
    vt_card_new(&k, NULL);
    vm_runtime *rt = k.rt;
    const char *msg = "123456789";
    uint16_t c16, c32, ret;
    assert_int_equal(at_call(rt, SEC "Checksum", "getInstance", "(BZ)Ljavacard/security/Checksum;", &c16, 1, 0), 0);
    assert_int_equal(at_call(rt, SEC "Checksum", "getInstance", "(BZ)Ljavacard/security/Checksum;", &c32, 2, 0), 0);
    assert_int_equal(at_call(rt, SEC "Checksum", "getAlgorithm", "()B", &ret, c32), 0);
    assert_int_equal(ret, 2);
    /* the defaults, in one piece and in two (doFinal starts afresh) */
    assert_int_equal(checksum(rt, c16, msg, 0, 2), 0x2189);
    assert_int_equal(checksum(rt, c16, msg, 4, 2), 0x2189);
    assert_int_equal(checksum(rt, c32, msg, 0, 4), crc32_bitwise(0, (const uint8_t *)msg, 9));
    assert_int_equal(crc32_bitwise(0xFFFFFFFFu, (const uint8_t *)msg, 9), ~0xCBF43926u);
    /* initialised to all ones, complemented here */
    uint16_t ones = at_bytes(rt, "\xFF\xFF\xFF\xFF", 4);
    assert_int_equal(at_call(rt, SEC "Checksum", "init", "([BSS)V", NULL, c16, ones, 0, 2), 0);
    assert_int_equal(at_call(rt, SEC "Checksum", "init", "([BSS)V", NULL, c32, ones, 0, 4), 0);
    assert_int_equal(~checksum(rt, c16, msg, 0, 2) & 0xFFFF, 0x906E);
    assert_int_equal(~checksum(rt, c16, msg, 7, 2) & 0xFFFF, 0x906E);
    assert_int_equal(~checksum(rt, c32, msg, 3, 4), 0xCBF43926u);
    /* the initial value's length is the algorithm's */
    assert_int_equal(at_call(rt, SEC "Checksum", "init", "([BSS)V", NULL, c16, ones, 0, 4), AT_CRYPTO(1));
    assert_int_equal(at_call(rt, SEC "Checksum", "init", "([BSS)V", NULL, c32, ones, 0, 2), AT_CRYPTO(1));
    /* a reset puts the object back to its state upon construction */
    vt_commit(&k);
    vt_reset(&k);
    rt = k.rt;
    assert_int_equal(checksum(rt, c16, msg, 0, 2), 0x2189);
    vt_card_free(&k);
}

/* A CLEAR_ON_RESET key loses its value, and so its initialized state, on
 * reset; a persistent one keeps both. */
static void test_transient_key_cleared_on_reset(void **state)
{
    (void)state;
    vt_card k;
    vt_card_new(&k, NULL);
    uint16_t tkey = aes_key(k.rt, TYPE_AES_TRANSIENT_RESET, "000102030405060708090a0b0c0d0e0f");
    uint16_t pkey = aes_key(k.rt, TYPE_AES, "000102030405060708090a0b0c0d0e0f");
    uint16_t ret;
    vt_commit(&k);
    vt_reset(&k);
    assert_int_equal(at_call(k.rt, KEYI, "isInitialized", "()Z", &ret, tkey), 0);
    assert_int_equal(ret, 0);
    assert_int_equal(at_call(k.rt, KEYI, "isInitialized", "()Z", &ret, pkey), 0);
    assert_int_equal(ret, 1);
    vt_card_free(&k);
}

static void digest(vm_runtime *rt, uint16_t md, const char *msg, const char *hex)
{
    uint8_t want[64];
    uint16_t want_len = at_hex(hex, want);
    size_t n = strlen(msg);
    uint16_t in = at_bytes(rt, msg, (uint16_t)n), out = at_bytes(rt, NULL, 72), ret;
    /* in two pieces: the state must survive between calls */
    uint16_t first = (uint16_t)(n / 3);
    assert_int_equal(at_call(rt, SEC "MessageDigest", "update", "([BSS)V", NULL, md, in, 0, first), 0);
    assert_int_equal(at_call(rt, SEC "MessageDigest", "doFinal", "([BSS[BS)S", &ret, md, in, first, n - first, out, 8),
                     0);
    assert_int_equal(ret, want_len);
    assert_memory_equal(at_data(rt, out) + 8, want, want_len);
}

static void test_sha256_fips180(void **state)
{
    (void)state;
    vt_card k;
    vt_card_new(&k, NULL);
    uint16_t md, ret;
    assert_int_equal(at_call(k.rt, SEC "MessageDigest", "getInstance", "(BZ)Ljavacard/security/MessageDigest;", &md,
                             SHA_256, 0), 0);
    digest(k.rt, md, "abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    digest(k.rt, md, "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
           "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    digest(k.rt, md, "", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    /* reset drops what update gave */
    uint16_t junk = at_bytes(k.rt, "zzz", 3);
    assert_int_equal(at_call(k.rt, SEC "MessageDigest", "update", "([BSS)V", NULL, md, junk, 0, 3), 0);
    assert_int_equal(at_call(k.rt, SEC "MessageDigest", "reset", "()V", NULL, md), 0);
    digest(k.rt, md, "abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    assert_int_equal(at_call(k.rt, SEC "MessageDigest", "getLength", "()B", &ret, md), 0);
    assert_int_equal(ret, 32);
    assert_int_equal(at_call(k.rt, SEC "MessageDigest", "getAlgorithm", "()B", &ret, md), 0);
    assert_int_equal(ret, SHA_256);
    vt_card_free(&k);
}

/* FIPS 180-2 appendix A-C / FIPS 180-4 examples: "abc" and the two-block
 * messages, for SHA-1, SHA-224, SHA-384, SHA-512; a message of 200 bytes
 * in pieces crosses the 128-byte block of SHA-384/512. */
static void test_sha_family_fips180(void **state)
{
    (void)state;
    static const char m448[] = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    static const char m896[] = "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmno"
                               "ijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu";
    static const struct { uint8_t alg, len; const char *msg, *abc, *two; } v[] = {
        { 1, 20, m448, "a9993e364706816aba3e25717850c26c9cd0d89d", "84983e441c3bd26ebaae4aa1f95129e5e54670f1" },
        { 7, 28, m448, "23097d223405d8228642a477bda255b32aadbce4bda0b3f7e36c9da7",
          "75388b16512776cc5dba5da1fd890150b0c6455cb4f58b1952522525" },
        { 5, 48, m896,
          "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7",
          "09330c33f71147e83d192fc782cd1b4753111b173b3b05d22fa08086e3b0f712fcc7c71a557e2db966c3e9fa91746039" },
        { 6, 64, m896,
          "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
          "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
          "8e959b75dae313da8cf4f72814fc143f8f7779c6eb9f7fa17299aeadb6889018"
          "501d289e4900f7e4331b99dec4b5433ac7d329eeb6dd26545e96e55b874be909" },
    };
    vt_card k;
    vt_card_new(&k, NULL);
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        uint16_t md, ret;
        assert_int_equal(at_call(k.rt, SEC "MessageDigest", "getInstance", "(BZ)Ljavacard/security/MessageDigest;",
                                 &md, v[i].alg, 0), 0);
        digest(k.rt, md, "abc", v[i].abc);
        digest(k.rt, md, v[i].msg, v[i].two);
        assert_int_equal(at_call(k.rt, SEC "MessageDigest", "getLength", "()B", &ret, md), 0);
        assert_int_equal(ret, v[i].len);
        assert_int_equal(at_call(k.rt, SEC "MessageDigest", "getAlgorithm", "()B", &ret, md), 0);
        assert_int_equal(ret, v[i].alg);
        /* the output must hold the whole digest */
        uint16_t in = at_bytes(k.rt, "abc", 3), small = at_bytes(k.rt, NULL, (uint16_t)(v[i].len - 1));
        assert_int_equal(at_call(k.rt, SEC "MessageDigest", "doFinal", "([BSS[BS)S", &ret, md, in, 0, 3, small, 0),
                         API_AIOOBE);
    }
    vt_card_free(&k);
}

/* HMAC (KeyBuilder.TYPE_HMAC 21, Signature.ALG_HMAC_SHA1 24 .. _SHA_512 27)
 * against RFC 2202 (SHA-1) and RFC 4231 test cases 1, 2 and 6 (a 131-byte
 * key, hashed first); sign in pieces, verify, a wrong or short MAC. */
#define HMACKEYI "javacard/security/HMACKeyImpl"
static void test_hmac_rfc4231(void **state)
{
    (void)state;
    static const char tc6[] = "Test Using Larger Than Block-Size Key - Hash Key First";
    static const struct { uint8_t alg, key_byte, key_len; const char *msg, *mac; } v[] = {
        { 24, 0x0b, 20, "Hi There", "b617318655057264e28bc0b6fb378c8ef146be00" },
        { 24, 0, 4, "what do ya want for nothing?", "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79" },
        { 25, 0x0b, 20, "Hi There", "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7" },
        { 26, 0x0b, 20, "Hi There",
          "afd03944d84895626b0825f4ab46907f15f9dadbe4101ec682aa034c7cebc59cfaea9ea9076ede7f4af152e8b2fa9cb6" },
        { 27, 0x0b, 20, "Hi There",
          "87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cde"
          "daa833b7d6b8a702038b274eaea3f4e4be9d914eeb61f1702e696c203a126854" },
        { 25, 0, 4, "what do ya want for nothing?",
          "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843" },
        { 25, 0xaa, 131, tc6, "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54" },
        { 27, 0xaa, 131, tc6,
          "80b24263c7c1a3ebb71493c1dd7be8b49b46d1f41b4aeec1121b013783f8f352"
          "6b56d037e05f2598bd0fd2215d6a1e5295e64f73f63f0aec8b915a985d786598" },
    };
    vt_card k;
    vt_card_new(&k, NULL);
    vm_runtime *rt = k.rt;
    const char *init = "(Ljavacard/security/Key;B)V", *vdesc = "([BSS[BSS)Z";
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        uint8_t kb[131], want[64];
        if (v[i].key_byte)
            memset(kb, v[i].key_byte, v[i].key_len);
        else
            memcpy(kb, "Jefe", 4);
        uint16_t mlen = at_hex(v[i].mac, want), key, sig, ret;
        assert_int_equal(at_call(rt, SEC "KeyBuilder", "buildKey", "(BSZ)Ljavacard/security/Key;", &key, 21,
                                 v[i].key_len > 64 ? 192 : 64, 0), 0);
        assert_int_equal(at_call(rt, HMACKEYI, "setKey", "([BSS)V", NULL, key, at_bytes(rt, kb, v[i].key_len), 0,
                                 v[i].key_len), 0);
        assert_int_equal(at_call(rt, SEC "Signature", "getInstance", "(BZ)Ljavacard/security/Signature;", &sig,
                                 v[i].alg, 0), 0);
        assert_int_equal(at_call(rt, SEC "Signature", "init", init, NULL, sig, key, SIGN), 0);
        uint16_t n = (uint16_t)strlen(v[i].msg);
        uint16_t in = at_bytes(rt, v[i].msg, n), out = at_bytes(rt, NULL, 70);
        assert_int_equal(at_call(rt, SEC "Signature", "sign", "([BSS[BS)S", &ret, sig, in, 0, n, out, 2), 0);
        assert_int_equal(ret, mlen);
        assert_memory_equal(at_data(rt, out) + 2, want, mlen);
        /* again in pieces: sign left the state init() made */
        assert_int_equal(at_call(rt, SEC "Signature", "update", "([BSS)V", NULL, sig, in, 0, 3), 0);
        assert_int_equal(at_call(rt, SEC "Signature", "sign", "([BSS[BS)S", &ret, sig, in, 3, n - 3, out, 2), 0);
        assert_memory_equal(at_data(rt, out) + 2, want, mlen);
        assert_int_equal(at_call(rt, SEC "Signature", "getLength", "()S", &ret, sig), 0);
        assert_int_equal(ret, mlen);
        /* verify: right, one bit off, one byte short */
        assert_int_equal(at_call(rt, SEC "Signature", "init", init, NULL, sig, key, VERIFY), 0);
        uint16_t good = at_bytes(rt, want, mlen);
        assert_int_equal(at_call(rt, SEC "Signature", "verify", vdesc, &ret, sig, in, 0, n, good, 0, mlen), 0);
        assert_int_equal(ret, 1);
        want[mlen - 1] ^= 0x80;
        uint16_t bad = at_bytes(rt, want, mlen);
        assert_int_equal(at_call(rt, SEC "Signature", "verify", vdesc, &ret, sig, in, 0, n, bad, 0, mlen), 0);
        assert_int_equal(ret, 0);
        assert_int_equal(at_call(rt, SEC "Signature", "verify", vdesc, &ret, sig, in, 0, n, good, 0, mlen - 1), 0);
        assert_int_equal(ret, 0);
        /* getKey returns what setKey got */
        uint16_t back = at_bytes(rt, NULL, 131);
        assert_int_equal(at_call(rt, HMACKEYI, "getKey", "([BS)B", &ret, key, back, 0), 0);
        assert_int_equal(ret, v[i].key_len);
        assert_memory_equal(at_data(rt, back), kb, v[i].key_len);
    }
    /* errors: an AES key for HMAC, an uninitialised HMAC key, a key longer
     * than built */
    uint16_t sig, hkey, akey = aes_key(rt, TYPE_AES, "000102030405060708090a0b0c0d0e0f"), ret;
    assert_int_equal(at_call(rt, SEC "Signature", "getInstance", "(BZ)Ljavacard/security/Signature;", &sig, 25, 0), 0);
    assert_int_equal(at_call(rt, SEC "Signature", "init", init, NULL, sig, akey, SIGN), AT_CRYPTO(1));
    assert_int_equal(at_call(rt, SEC "KeyBuilder", "buildKey", "(BSZ)Ljavacard/security/Key;", &hkey, 21, 16, 0), 0);
    assert_int_equal(at_call(rt, SEC "Signature", "init", init, NULL, sig, hkey, SIGN), AT_CRYPTO(2));
    uint16_t big = at_bytes(rt, NULL, 17);
    assert_int_equal(at_call(rt, HMACKEYI, "setKey", "([BSS)V", NULL, hkey, big, 0, 17), AT_CRYPTO(1));
    assert_int_equal(at_call(rt, HMACKEYI, "isInitialized", "()Z", &ret, hkey), 0);
    assert_int_equal(ret, 0);
    /* the getInstance(md, cipher, pad) form: SHA-256 (4), SIG_CIPHER_HMAC (7) */
    assert_int_equal(at_call(rt, SEC "Signature", "getInstance", "(BBBZ)Ljavacard/security/Signature;", &sig, 4, 7, 0,
                             0), 0);
    assert_int_equal(at_call(rt, SEC "Signature", "getAlgorithm", "()B", &ret, sig), 0);
    assert_int_equal(ret, 25);
    vt_card_free(&k);
}

static void test_aes_cbc_mac(void **state)
{
    (void)state;
    vt_card k;
    vt_card_new(&k, NULL);
    vm_runtime *rt = k.rt;
    uint16_t key = aes_key(rt, TYPE_AES, "000102030405060708090a0b0c0d0e0f"), sig, ret;
    assert_int_equal(at_call(rt, SEC "Signature", "getInstance", "(BZ)Ljavacard/security/Signature;", &sig,
                             MAC_AES_128_NOPAD, 0), 0);
    uint8_t msg[32], want[16];
    at_hex("6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51", msg);
    at_hex("552d46cb2375d6bd85ce8b0bbc57141f", want);
    uint16_t in = at_bytes(rt, msg, 32), out = at_bytes(rt, NULL, 16);
    const char *init = "(Ljavacard/security/Key;B)V";
    assert_int_equal(at_call(rt, SEC "Signature", "init", init, NULL, sig, key, SIGN), 0);
    assert_int_equal(at_call(rt, SEC "Signature", "sign", "([BSS[BS)S", &ret, sig, in, 0, 32, out, 0), 0);
    assert_int_equal(ret, 16);
    assert_memory_equal(at_data(rt, out), want, 16);
    /* update + sign in pieces: the same MAC */
    assert_int_equal(at_call(rt, SEC "Signature", "update", "([BSS)V", NULL, sig, in, 0, 7), 0);
    assert_int_equal(at_call(rt, SEC "Signature", "sign", "([BSS[BS)S", &ret, sig, in, 7, 25, out, 0), 0);
    assert_memory_equal(at_data(rt, out), want, 16);
    /* unaligned: ILLEGAL_USE (the transcript's uncaught 6F00) */
    assert_int_equal(at_call(rt, SEC "Signature", "sign", "([BSS[BS)S", &ret, sig, in, 0, 5, out, 0), AT_CRYPTO(5));
    /* sign in verify mode: INVALID_INIT */
    assert_int_equal(at_call(rt, SEC "Signature", "init", init, NULL, sig, key, VERIFY), 0);
    assert_int_equal(at_call(rt, SEC "Signature", "sign", "([BSS[BS)S", &ret, sig, in, 0, 32, out, 0), AT_CRYPTO(4));
    const char *vdesc = "([BSS[BSS)Z";
    assert_int_equal(at_call(rt, SEC "Signature", "verify", vdesc, &ret, sig, in, 0, 32, out, 0, 16), 0);
    assert_int_equal(ret, 1);
    assert_int_equal(at_call(rt, SEC "Signature", "verify", vdesc, &ret, sig, in, 0, 32, out, 0, 15), 0);
    assert_int_equal(ret, 0);
    uint8_t bad[16];
    memcpy(bad, want, 16);
    bad[15] ^= 1;
    uint16_t badb = at_bytes(rt, bad, 16);
    assert_int_equal(at_call(rt, SEC "Signature", "verify", vdesc, &ret, sig, in, 0, 32, badb, 0, 16), 0);
    assert_int_equal(ret, 0);
    assert_int_equal(at_call(rt, SEC "Signature", "getLength", "()S", &ret, sig), 0);
    assert_int_equal(ret, 16);
    vt_card_free(&k);
}

static void test_random(void **state)
{
    (void)state;
    vt_card k;
    vt_card_new(&k, NULL);
    vm_runtime *rt = k.rt;
    uint16_t rnd, ret;
    assert_int_equal(at_call(rt, SEC "RandomData", "getInstance", "(B)Ljavacard/security/RandomData;", &rnd, 2), 0);
    uint16_t a = at_bytes(rt, NULL, 32), b = at_bytes(rt, NULL, 32);
    assert_int_equal(at_call(rt, SEC "RandomData", "generateData", "([BSS)V", NULL, rnd, a, 0, 32), 0);
    assert_int_equal(at_call(rt, SEC "RandomData", "nextBytes", "([BSS)S", &ret, rnd, b, 4, 28), 0);
    assert_int_equal(ret, 32);
    /* 28 bytes of two independent draws agreeing: 2^-224 */
    assert_memory_not_equal(at_data(rt, a) + 4, at_data(rt, b) + 4, 28);
    assert_int_equal(at_call(rt, SEC "RandomData", "generateData", "([BSS)V", NULL, rnd, a, 30, 3), API_AIOOBE);
    vt_card_free(&k);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_aes_ecb_fips197),
        cmocka_unit_test(test_aes_cbc_sp800_38a),
        cmocka_unit_test(test_cipher_errors),
        cmocka_unit_test(test_unsupported_algorithms),
        cmocka_unit_test(test_transient_key_cleared_on_reset),
        cmocka_unit_test(test_sha256_fips180),
        cmocka_unit_test(test_sha_family_fips180),
        cmocka_unit_test(test_hmac_rfc4231),
        cmocka_unit_test(test_aes_cbc_mac),
        cmocka_unit_test(test_random),
        cmocka_unit_test(test_checksum),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
