/* test_cap_api_asym.c — the asymmetric half of the built-in crypto API
 * (vm/api_asym.h) called through its token table on a real runtime.
 * Expected values: RFC 6979 A.2.5 / A.2.6 (ECDSA P-256 / P-384 keys and the
 * signatures of "sample"), RFC 5903 §8.1 / §8.2 (ECDH P-256 / P-384 shared
 * x; the whole point g^ir of §8.1 for ALG_EC_SVDP_DH_PLAIN_XY),
 * secp256k1 values computed with python3-cryptography (OpenSSL),
 * setInitialDigest against SHA chaining states read from libtomcrypt's
 * hash_state and the whole message's hash (hash_memory), the curves' FIPS 186 parameters (libtomcrypt's table), NIST CAVP
 * SigGen15 (RSA PKCS#1 v1.5 signatures of a published 1024-bit key), and for RSA
 * libtomcrypt's own key generation, PKCS#1 signing and encryption
 * (rsa_sign_hash_ex / rsa_encrypt_key_ex: a separate code path from the
 * card's, which works from Java Card key components). Errors follow the JC
 * 3.0.5 API: CryptoException ILLEGAL_VALUE (1), UNINITIALIZED_KEY (2),
 * NO_SUCH_ALGORITHM (3), INVALID_INIT (4), ILLEGAL_USE (5).
 * `test_cap_api_asym long` runs the RSA-4096 key generation only. */
#define LTM_DESC
#include <tomcrypt.h>

#include "api_test.h"
#include "tear.h"
#include <stdlib.h>

#define SEC "javacard/security/"
#define KB SEC "KeyBuilder"
#define SIG SEC "Signature"
#define CIPHER "javacardx/crypto/Cipher"
#define RSAPUB SEC "RSAPublicKeyImpl"
#define RSAPRIV SEC "RSAPrivateKeyImpl"
#define RSACRT SEC "RSAPrivateCrtKeyImpl"
#define ECPUB SEC "ECPublicKeyImpl"
#define ECPRIV SEC "ECPrivateKeyImpl"
#define KP SEC "KeyPair"
#define KA SEC "KeyAgreement"
#define BUILD "(BSZ)Ljavacard/security/Key;"
#define SET "([BSS)V"
#define GET "([BS)S"
#define INIT "(Ljavacard/security/Key;B)V"
#define SIGN "([BSS[BS)S"
#define VERIFY "([BSS[BSS)Z"

enum {
    T_RSA_PUB = 4, T_RSA_PRIV = 5, T_RSA_CRT = 6, T_EC_PUB = 11, T_EC_PRIV = 12, T_RSA_CRT_RESET = 24,
    T_DSA_PUB = 7,
    RSA_SHA_PKCS1 = 10, RSA_SHA256_PKCS1 = 40, RSA_SHA256_PSS = 44, RSA_MD5_PKCS1 = 11,
    ECDSA_SHA256 = 33, ECDSA_SHA384 = 34,
    C_RSA_PKCS1 = 10, C_RSA_NOPAD = 12, C_RSA_OAEP = 15, C_RSA_ISO9796 = 11,
    M_SIGN = 1, M_VERIFY = 2, M_DECRYPT = 1, M_ENCRYPT = 2,
    KP_RSA = 1, KP_RSA_CRT = 2, KP_DSA = 3, KP_EC_FP = 5,
    KA_DH = 1, KA_DH_PLAIN = 3, KA_PACE_GM = 5, KA_DH_PLAIN_XY = 6,
    E_VALUE = 1, E_UNINIT = 2, E_NO_ALG = 3, E_INIT = 4, E_USE = 5,
};

static void ltc_setup(void)
{
    if (ltc_mp.name == NULL)
        ltc_mp = ltm_desc;
    const struct ltc_hash_descriptor *hashes[] = { &sha1_desc, &sha224_desc, &sha256_desc, &sha384_desc,
                                                    &sha512_desc };
    for (size_t i = 0; i < sizeof hashes / sizeof hashes[0]; i++)
        if (find_hash(hashes[i]->name) < 0)
            register_hash(hashes[i]);
    if (find_prng("sprng") < 0)
        register_prng(&sprng_desc);
}

/* The card a test works on, libtomcrypt ready beside it. */
static vm_runtime *new_card(vt_card *k)
{
    ltc_setup();
    vt_card_new(k, NULL);
    return k->rt;
}

static uint16_t build(vm_runtime *rt, uint8_t type, int bits)
{
    uint16_t k = 0;
    assert_int_equal(at_call(rt, KB, "buildKey", BUILD, &k, type, bits, 0), 0);
    return k;
}

static void set_comp(vm_runtime *rt, const char *cls, const char *setter, uint16_t key, const uint8_t *b, uint16_t n)
{
    assert_int_equal(at_call(rt, cls, setter, SET, NULL, key, at_bytes(rt, b, n), 0, n), 0);
}

static void set_hex(vm_runtime *rt, const char *cls, const char *setter, uint16_t key, const char *hex)
{
    uint8_t b[256];
    set_comp(rt, cls, setter, key, b, at_hex(hex, b));
}

static void set_mp(vm_runtime *rt, const char *cls, const char *setter, uint16_t key, void *n)
{
    uint8_t b[512];
    unsigned long len = ltc_mp.unsigned_size(n);
    assert_int_equal(ltc_mp.unsigned_write(n, b), CRYPT_OK);
    set_comp(rt, cls, setter, key, b, (uint16_t)len);
}

static uint16_t signature(vm_runtime *rt, uint8_t alg)
{
    uint16_t s = 0;
    assert_int_equal(at_call(rt, SIG, "getInstance", "(BZ)Ljavacard/security/Signature;", &s, alg, 0), 0);
    return s;
}

/* sign msg with sig object s (initialized): the signature into out */
static uint16_t sign(vm_runtime *rt, uint16_t s, const void *msg, uint16_t n, uint8_t *out)
{
    uint16_t in = at_bytes(rt, msg, n), ob = at_bytes(rt, NULL, 600), len = 0;
    assert_int_equal(at_call(rt, SIG, "sign", SIGN, &len, s, in, 0, n, ob, 0), 0);
    memcpy(out, at_data(rt, ob), len);
    return len;
}

static int verify(vm_runtime *rt, uint16_t s, const void *msg, uint16_t n, const uint8_t *sig, uint16_t slen)
{
    uint16_t in = at_bytes(rt, msg, n), sb = at_bytes(rt, sig, slen), ok = 0xDEAD;
    assert_int_equal(at_call(rt, SIG, "verify", VERIFY, &ok, s, in, 0, n, sb, 0, slen), 0);
    return ok;
}

/* ---- RSA ---- */

static void test_rsa_components(void **state)
{
    (void)state;
    vt_card k;
    vt_card_new(&k, NULL);
    vm_runtime *rt = k.rt;
    uint16_t pub = build(rt, T_RSA_PUB, 1024), ret;
    uint16_t buf = at_bytes(rt, NULL, 200);
    assert_int_equal(at_call(rt, RSAPUB, "getSize", "()S", &ret, pub), 0);
    assert_int_equal(ret, 1024);
    assert_int_equal(at_call(rt, RSAPUB, "getType", "()B", &ret, pub), 0);
    assert_int_equal(ret, T_RSA_PUB);
    assert_int_equal(at_call(rt, RSAPUB, "getModulus", GET, &ret, pub, buf, 0), AT_CRYPTO(E_UNINIT));
    /* 129 bytes: too long, unless the first is a zero */
    uint8_t m[129];
    memset(m, 0xC5, sizeof m);
    assert_int_equal(at_call(rt, RSAPUB, "setModulus", SET, NULL, pub, at_bytes(rt, m, 129), 0, 129),
                     AT_CRYPTO(E_VALUE));
    assert_int_equal(at_call(rt, RSAPUB, "setModulus", SET, NULL, pub, at_bytes(rt, m, 129), 0, 0),
                     AT_CRYPTO(E_VALUE));
    m[0] = 0;
    set_comp(rt, RSAPUB, "setModulus", pub, m, 129);
    assert_int_equal(at_call(rt, RSAPUB, "isInitialized", "()Z", &ret, pub), 0);
    assert_int_equal(ret, 0);
    set_hex(rt, RSAPUB, "setExponent", pub, "010001");
    assert_int_equal(at_call(rt, RSAPUB, "isInitialized", "()Z", &ret, pub), 0);
    assert_int_equal(ret, 1);
    assert_int_equal(at_call(rt, RSAPUB, "getModulus", GET, &ret, pub, buf, 3), 0);
    assert_int_equal(ret, 128);
    assert_memory_equal(at_data(rt, buf) + 3, m + 1, 128);
    assert_int_equal(at_call(rt, RSAPUB, "getExponent", GET, &ret, pub, buf, 0), 0);
    assert_int_equal(ret, 3);
    /* the getter's destination range is checked */
    assert_int_equal(at_call(rt, RSAPUB, "getModulus", GET, &ret, pub, buf, 100), API_AIOOBE);
    assert_int_equal(at_call(rt, RSAPUB, "clearKey", "()V", NULL, pub), 0);
    assert_int_equal(at_call(rt, RSAPUB, "isInitialized", "()Z", &ret, pub), 0);
    assert_int_equal(ret, 0);
    /* sizes and types the card does not have */
    assert_int_equal(at_call(rt, KB, "buildKey", BUILD, &ret, T_RSA_PUB, 500, 0), AT_CRYPTO(E_NO_ALG));
    assert_int_equal(at_call(rt, KB, "buildKey", BUILD, &ret, T_RSA_PUB, 4104, 0), AT_CRYPTO(E_NO_ALG));
    assert_int_equal(at_call(rt, KB, "buildKey", BUILD, &ret, T_DSA_PUB, 1024, 0), AT_CRYPTO(E_NO_ALG));
    assert_int_equal(at_call(rt, KB, "buildKey", BUILD, &ret, T_RSA_PUB, 1024, 1), AT_CRYPTO(E_NO_ALG));
    /* the memory-type form: ALG_TYPE_RSA_CRT_PRIVATE, MEMORY_TYPE_TRANSIENT_RESET */
    assert_int_equal(at_call(rt, KB, "buildKey", "(BBSZ)Ljavacard/security/Key;", &ret, 13, 1, 2048, 0), 0);
    uint16_t t;
    assert_int_equal(at_call(rt, RSACRT, "getType", "()B", &t, ret), 0);
    assert_int_equal(t, T_RSA_CRT_RESET);
    vt_card_free(&k);
}

/* libtomcrypt's key into the card's three RSA key forms */
typedef struct rsa_keys { uint16_t pub, priv, crt; } rsa_keys;

static rsa_keys card_keys(vm_runtime *rt, rsa_key *key, int bits)
{
    rsa_keys r = { build(rt, T_RSA_PUB, bits), build(rt, T_RSA_PRIV, bits), build(rt, T_RSA_CRT, bits) };
    set_mp(rt, RSAPUB, "setModulus", r.pub, key->N);
    set_mp(rt, RSAPUB, "setExponent", r.pub, key->e);
    set_mp(rt, RSAPRIV, "setModulus", r.priv, key->N);
    set_mp(rt, RSAPRIV, "setExponent", r.priv, key->d);
    set_mp(rt, RSACRT, "setP", r.crt, key->p);
    set_mp(rt, RSACRT, "setQ", r.crt, key->q);
    set_mp(rt, RSACRT, "setDP1", r.crt, key->dP);
    set_mp(rt, RSACRT, "setDQ1", r.crt, key->dQ);
    set_mp(rt, RSACRT, "setPQ", r.crt, key->qP);
    return r;
}

/* A 1024-bit RSA key from libtomcrypt's key generation, its components in
 * the card's three key objects. */
static rsa_keys rsa_1024(vm_runtime *rt, rsa_key *key)
{
    assert_int_equal(rsa_make_key(NULL, find_prng("sprng"), 128, 65537, key), CRYPT_OK);
    return card_keys(rt, key, 1024);
}

static void test_rsa_signatures_match_libtomcrypt(void **state)
{
    (void)state;
    vt_card k;
    vm_runtime *rt = new_card(&k);
    rsa_key key;
    rsa_keys ck = rsa_1024(rt, &key);
    const char *msg = "abc";
    uint8_t h[32], want[128], got[600];
    unsigned long hl = sizeof h, wl = sizeof want;
    hash_memory(find_hash("sha256"), (const unsigned char *)msg, 3, h, &hl);
    assert_int_equal(rsa_sign_hash_ex(h, 32, want, &wl, LTC_PKCS_1_V1_5, NULL, 0, find_hash("sha256"), 0, &key),
                     CRYPT_OK);
    uint16_t s = signature(rt, RSA_SHA256_PKCS1), ret;
    /* PKCS#1 v1.5 is deterministic: both private key forms give libtomcrypt's bytes */
    uint16_t priv_keys[2] = { ck.crt, ck.priv };
    for (int i = 0; i < 2; i++) {
        assert_int_equal(at_call(rt, SIG, "init", INIT, NULL, s, priv_keys[i], M_SIGN), 0);
        assert_int_equal(at_call(rt, SIG, "getLength", "()S", &ret, s), 0);
        assert_int_equal(ret, 128);
        /* in two pieces through update */
        uint16_t in = at_bytes(rt, msg, 3), ob = at_bytes(rt, NULL, 128);
        assert_int_equal(at_call(rt, SIG, "update", "([BSS)V", NULL, s, in, 0, 1), 0);
        assert_int_equal(at_call(rt, SIG, "sign", SIGN, &ret, s, in, 1, 2, ob, 0), 0);
        assert_int_equal(ret, 128);
        assert_memory_equal(at_data(rt, ob), want, 128);
    }
    /* signPreComputedHash: the same */
    uint16_t hb = at_bytes(rt, h, 32), ob = at_bytes(rt, NULL, 128);
    assert_int_equal(at_call(rt, SIG, "signPreComputedHash", SIGN, &ret, s, hb, 0, 32, ob, 0), 0);
    assert_memory_equal(at_data(rt, ob), want, 128);
    assert_int_equal(at_call(rt, SIG, "signPreComputedHash", SIGN, &ret, s, hb, 0, 31, ob, 0), AT_CRYPTO(E_VALUE));
    /* verify: libtomcrypt's signature, then one bit off */
    assert_int_equal(at_call(rt, SIG, "sign", SIGN, &ret, s, hb, 0, 3, ob, 0), 0);
    assert_int_equal(at_call(rt, SIG, "init", INIT, NULL, s, ck.pub, M_VERIFY), 0);
    assert_int_equal(verify(rt, s, msg, 3, want, 128), 1);
    want[77] ^= 0x10;
    assert_int_equal(verify(rt, s, msg, 3, want, 128), 0);
    assert_int_equal(verify(rt, s, msg, 3, want, 127), 0);
    /* modes and keys: sign in verify mode, a public key to sign */
    assert_int_equal(at_call(rt, SIG, "sign", SIGN, &ret, s, hb, 0, 3, ob, 0), AT_CRYPTO(E_INIT));
    assert_int_equal(at_call(rt, SIG, "init", INIT, NULL, s, ck.pub, M_SIGN), AT_CRYPTO(E_VALUE));

    /* SHA-1 PKCS#1 v1.5 */
    uint8_t h1[20];
    hl = sizeof h1;
    wl = sizeof want;
    hash_memory(find_hash("sha1"), (const unsigned char *)msg, 3, h1, &hl);
    assert_int_equal(rsa_sign_hash_ex(h1, 20, want, &wl, LTC_PKCS_1_V1_5, NULL, 0, find_hash("sha1"), 0, &key),
                     CRYPT_OK);
    uint16_t s1 = signature(rt, RSA_SHA_PKCS1);
    assert_int_equal(at_call(rt, SIG, "init", INIT, NULL, s1, ck.crt, M_SIGN), 0);
    assert_int_equal(sign(rt, s1, msg, 3, got), 128);
    assert_memory_equal(got, want, 128);

    /* PSS (salt = hash length): libtomcrypt's signature verifies on the
     * card, the card's verifies with libtomcrypt */
    wl = sizeof want;
    assert_int_equal(rsa_sign_hash_ex(h, 32, want, &wl, LTC_PKCS_1_PSS, NULL, find_prng("sprng"),
                                      find_hash("sha256"), 32, &key), CRYPT_OK);
    uint16_t ps = signature(rt, RSA_SHA256_PSS);
    assert_int_equal(at_call(rt, SIG, "init", INIT, NULL, ps, ck.pub, M_VERIFY), 0);
    assert_int_equal(verify(rt, ps, msg, 3, want, 128), 1);
    want[5] ^= 1;
    assert_int_equal(verify(rt, ps, msg, 3, want, 128), 0);
    assert_int_equal(at_call(rt, SIG, "init", INIT, NULL, ps, ck.crt, M_SIGN), 0);
    assert_int_equal(sign(rt, ps, msg, 3, got), 128);
    int stat = 0;
    assert_int_equal(rsa_verify_hash_ex(got, 128, h, 32, LTC_PKCS_1_PSS, find_hash("sha256"), 32, &stat, &key),
                     CRYPT_OK);
    assert_int_equal(stat, 1);
    rsa_free(&key);
    vt_card_free(&k);
}


/* Blinding: the private operation draws a fresh r from the PRNG libtomcrypt
 * knows as "sprng" (vm/api_rsa.c). PKCS#1 v1.5 signing is deterministic,
 * so without blinding it reads no random bytes at all; here "sprng" is
 * replaced, for this test, by one that counts its reads and hands out the
 * system generator's bytes. The signatures stay libtomcrypt's bytes. */
static unsigned long counted_reads;

static unsigned long counting_read(unsigned char *out, unsigned long outlen, prng_state *prng)
{
    counted_reads++;
    return sprng_desc.read(out, outlen, prng);
}

static void test_rsa_blinding(void **state)
{
    (void)state;
    vt_card k;
    vm_runtime *rt = new_card(&k);
    rsa_key key;
    rsa_keys ck = rsa_1024(rt, &key);
    uint8_t h[32], want[128], got[128];
    unsigned long hl = sizeof h, wl = sizeof want;
    hash_memory(find_hash("sha256"), (const unsigned char *)"abc", 3, h, &hl);
    assert_int_equal(rsa_sign_hash_ex(h, 32, want, &wl, LTC_PKCS_1_V1_5, NULL, 0, find_hash("sha256"), 0, &key),
                     CRYPT_OK);
    struct ltc_prng_descriptor counting = sprng_desc;
    counting.read = counting_read;
    assert_int_equal(unregister_prng(&sprng_desc), CRYPT_OK);
    assert_true(register_prng(&counting) >= 0);
    uint16_t s = signature(rt, RSA_SHA256_PKCS1);
    uint16_t priv_keys[2] = { ck.crt, ck.priv };
    for (int i = 0; i < 2; i++) {
        assert_int_equal(at_call(rt, SIG, "init", INIT, NULL, s, priv_keys[i], M_SIGN), 0);
        counted_reads = 0;
        assert_int_equal(sign(rt, s, "abc", 3, got), 128);
        assert_memory_equal(got, want, 128);
        /* CRT: an r per prime; plain: one r */
        assert_true(counted_reads >= (i == 0 ? 2u : 1u));
    }
    /* the public operation draws nothing */
    assert_int_equal(at_call(rt, SIG, "init", INIT, NULL, s, ck.pub, M_VERIFY), 0);
    counted_reads = 0;
    assert_int_equal(verify(rt, s, "abc", 3, want, 128), 1);
    assert_int_equal(counted_reads, 0);
    assert_int_equal(unregister_prng(&counting), CRYPT_OK);
    assert_true(register_prng(&sprng_desc) >= 0);
    rsa_free(&key);
    vt_card_free(&k);
}

/* NIST CAVP SigGen15_186-3.rsp (CAVS 10.1, RSASSA-PKCS1-v1_5), [mod = 1024]:
 * the first SHA1 and the first SHA256 case. The card must accept the
 * published signatures and refuse them altered. */
static const char CAVP_N[] =
    "a3ecf80ff1804833c36a89a1583f58ef3332476a50a153e73ced17796139636045c131a6b17222ba8848f70150b18dfa"
    "390bfb1670ae982dfbc311fd0ede055564687af3805ca883944bb5ac9ec19b0e0cfbd9a314d70b17080c3d49b50cbf41"
    "7062eb41bd639d67a5fb330ec55a0489fee08eeec97ed487c114b20393fe0aef";
static const struct { uint8_t alg; const char *msg, *sig; } cavp15[] = {
    { RSA_SHA_PKCS1,
      "1018469fda81f41922cfdb2dca679f7f3a286f11ba448ab71e4e02cca994c0242caec9416e57c0cad07cab383193fad3"
      "102ec5ddf0d0550d01ffe63ffc9aab694f6d13d17a034b7db9bb04ebe31e76039270a44a8485e25841d7958cfed53bfe"
      "c27dabb5c72c9d1b23b56cada7b11bf7081797c03c0d3b8227fd991d77ea78cb",
      "147A8797D9D653F52D210135F61BBDFE59698D755B076230F2B252E7792C86121469FAB7B410789DF4F193A76E8BE99A"
      "2162E422C6A56106FA4E2FE5ABAFC542FF1A899D8580F9F6B4CD29A8310CD34964CE22BBAD9618D97E4C36695B246BDD"
      "0C0D5D0C75D044265E6F275A272718B0C2B93974DC76DDCCA985BEF994CE67BD" },
    { RSA_SHA256_PKCS1,
      "dfce08b64b9ea4014947012670548da4ceeee084dbfe509aac92bf096982b8050153bbdd1c5bd4385226729e9a19773b"
      "05558ce0acdfb74be6fd2fa8bfe36f58a68e89f066f1bd85584f4a27d6e884abf2d727ae683bebd6d295585b1b71dcc6"
      "36491bf910a68670c3882fc60c08db7bff3c59f4f95b13c3d721e329657528d9",
      "8D9D30A87DF0C2F6CD651FCAF2B9AC1296287AD3D4B03132E330F08AB701FC197040D0A261F631E7E34478B592551E1F"
      "682395C9E2B54C8CE8B0C72C1B5A79748CC34F9152730A7F67FAE1225A4CE750F1D5D4E288176DF197E7503C88B5BAEC"
      "EF3ABCF2875F111E6D7F7B4DC8AFA2ED3C1D7AD8E7CF45A77F0B1CB178518402" },
};

static void test_rsa_cavp_sigver(void **state)
{
    (void)state;
    vt_card k;
    vt_card_new(&k, NULL);
    vm_runtime *rt = k.rt;
    uint16_t pub = build(rt, T_RSA_PUB, 1024);
    set_hex(rt, RSAPUB, "setModulus", pub, CAVP_N);
    set_hex(rt, RSAPUB, "setExponent", pub, "1001");
    for (size_t i = 0; i < sizeof cavp15 / sizeof cavp15[0]; i++) {
        uint8_t msg[128], sig[128];
        uint16_t ml = at_hex(cavp15[i].msg, msg), sl = at_hex(cavp15[i].sig, sig);
        uint16_t s = signature(rt, cavp15[i].alg);
        assert_int_equal(at_call(rt, SIG, "init", INIT, NULL, s, pub, M_VERIFY), 0);
        assert_int_equal(verify(rt, s, msg, ml, sig, sl), 1);
        msg[3] ^= 0x20;
        assert_int_equal(verify(rt, s, msg, ml, sig, sl), 0);
        msg[3] ^= 0x20;
        sig[127] ^= 1;
        assert_int_equal(verify(rt, s, msg, ml, sig, sl), 0);
    }
    vt_card_free(&k);
}

static uint16_t rsa_cipher(vm_runtime *rt, uint8_t alg, uint16_t key, uint8_t mode)
{
    uint16_t c = 0;
    assert_int_equal(at_call(rt, CIPHER, "getInstance", "(BZ)Ljavacardx/crypto/Cipher;", &c, alg, 0), 0);
    assert_int_equal(at_call(rt, CIPHER, "init", INIT, NULL, c, key, mode), 0);
    return c;
}

static int do_final(vm_runtime *rt, uint16_t c, const uint8_t *in, uint16_t n, uint8_t *out, uint16_t *outlen)
{
    uint16_t ib = at_bytes(rt, in, n), ob = at_bytes(rt, NULL, 300);
    int rc = at_call(rt, CIPHER, "doFinal", "([BSS[BS)S", outlen, c, ib, 0, n, ob, 0);
    if (rc == 0)
        memcpy(out, at_data(rt, ob), *outlen);
    return rc;
}

static void test_rsa_ciphers(void **state)
{
    (void)state;
    vt_card k;
    vm_runtime *rt = new_card(&k);
    rsa_key key;
    rsa_keys ck = rsa_1024(rt, &key);
    uint8_t m[128], c[300], back[300];
    uint16_t n;
    unsigned long len;
    /* NOPAD: x^e mod N as libtomcrypt computes it, and back with both private forms */
    for (unsigned i = 0; i < sizeof m; i++)
        m[i] = (uint8_t)(i * 7 + 1);
    m[0] = 0x11;
    assert_int_equal(do_final(rt, rsa_cipher(rt, C_RSA_NOPAD, ck.pub, M_ENCRYPT), m, 128, c, &n), 0);
    assert_int_equal(n, 128);
    len = sizeof back;
    assert_int_equal(rsa_exptmod(m, 128, back, &len, PK_PUBLIC, &key), CRYPT_OK);
    assert_memory_equal(c, back, 128);
    assert_int_equal(do_final(rt, rsa_cipher(rt, C_RSA_NOPAD, ck.crt, M_DECRYPT), c, 128, back, &n), 0);
    assert_memory_equal(back, m, 128);
    assert_int_equal(do_final(rt, rsa_cipher(rt, C_RSA_NOPAD, ck.priv, M_DECRYPT), c, 128, back, &n), 0);
    assert_memory_equal(back, m, 128);
    /* NOPAD input must be one block below the modulus */
    uint16_t nc = rsa_cipher(rt, C_RSA_NOPAD, ck.pub, M_ENCRYPT);
    assert_int_equal(do_final(rt, nc, m, 127, c, &n), AT_CRYPTO(E_USE));
    memset(back, 0xFF, 128);
    assert_int_equal(do_final(rt, nc, back, 128, c, &n), AT_CRYPTO(E_USE));
    assert_int_equal(at_call(rt, CIPHER, "update", "([BSS[BS)S", &n, nc, at_bytes(rt, m, 16), 0, 16,
                             at_bytes(rt, NULL, 200), 0), AT_CRYPTO(E_USE));

    /* PKCS#1 v1.5: the card encrypts, libtomcrypt decrypts; and back */
    const uint8_t secret[] = "sixteen byte key";
    assert_int_equal(do_final(rt, rsa_cipher(rt, C_RSA_PKCS1, ck.pub, M_ENCRYPT), secret, 16, c, &n), 0);
    int stat = 0;
    len = sizeof back;
    assert_int_equal(rsa_decrypt_key_ex(c, n, back, &len, NULL, 0, 0, LTC_PKCS_1_V1_5, &stat, &key), CRYPT_OK);
    assert_int_equal(stat, 1);
    assert_int_equal(len, 16);
    assert_memory_equal(back, secret, 16);
    len = sizeof c;
    assert_int_equal(rsa_encrypt_key_ex(secret, 16, c, &len, NULL, 0, NULL, find_prng("sprng"), 0, LTC_PKCS_1_V1_5,
                                        &key), CRYPT_OK);
    assert_int_equal(do_final(rt, rsa_cipher(rt, C_RSA_PKCS1, ck.crt, M_DECRYPT), c, 128, back, &n), 0);
    assert_int_equal(n, 16);
    assert_memory_equal(back, secret, 16);
    /* a block that is no PKCS#1 padding */
    assert_int_equal(do_final(rt, rsa_cipher(rt, C_RSA_PKCS1, ck.crt, M_DECRYPT), m, 128, back, &n),
                     AT_CRYPTO(E_USE));
    /* too long for PKCS#1: k - 11 at most */
    assert_int_equal(do_final(rt, rsa_cipher(rt, C_RSA_PKCS1, ck.pub, M_ENCRYPT), m, 118, c, &n), AT_CRYPTO(E_USE));

    /* OAEP (SHA-1, no label), both directions */
    len = sizeof c;
    assert_int_equal(rsa_encrypt_key_ex(secret, 16, c, &len, NULL, 0, NULL, find_prng("sprng"), find_hash("sha1"),
                                        LTC_PKCS_1_OAEP, &key), CRYPT_OK);
    assert_int_equal(do_final(rt, rsa_cipher(rt, C_RSA_OAEP, ck.priv, M_DECRYPT), c, 128, back, &n), 0);
    assert_int_equal(n, 16);
    assert_memory_equal(back, secret, 16);
    assert_int_equal(do_final(rt, rsa_cipher(rt, C_RSA_OAEP, ck.pub, M_ENCRYPT), secret, 16, c, &n), 0);
    len = sizeof back;
    assert_int_equal(rsa_decrypt_key_ex(c, n, back, &len, NULL, 0, find_hash("sha1"), LTC_PKCS_1_OAEP, &stat, &key),
                     CRYPT_OK);
    assert_int_equal(stat, 1);
    assert_memory_equal(back, secret, 16);

    /* CIPHER_RSA with its paddings; the rest: NO_SUCH_ALGORITHM */
    uint16_t ret;
    assert_int_equal(at_call(rt, CIPHER, "getInstance", "(BBZ)Ljavacardx/crypto/Cipher;", &ret, 7, 9, 0), 0);
    assert_int_equal(at_call(rt, CIPHER, "getAlgorithm", "()B", &n, ret), 0);
    assert_int_equal(n, C_RSA_OAEP);
    assert_int_equal(at_call(rt, CIPHER, "getInstance", "(BZ)Ljavacardx/crypto/Cipher;", &ret, C_RSA_ISO9796, 0),
                     AT_CRYPTO(E_NO_ALG));
    assert_int_equal(at_call(rt, CIPHER, "getInstance", "(BBZ)Ljavacardx/crypto/Cipher;", &ret, 7, 8, 0),
                     AT_CRYPTO(E_NO_ALG));
    /* an uninitialized key, a key of another kind */
    uint16_t c2 = 0, empty = build(rt, T_RSA_PUB, 1024), ec = build(rt, T_EC_PUB, 256);
    assert_int_equal(at_call(rt, CIPHER, "getInstance", "(BZ)Ljavacardx/crypto/Cipher;", &c2, C_RSA_PKCS1, 0), 0);
    assert_int_equal(at_call(rt, CIPHER, "init", INIT, NULL, c2, empty, M_ENCRYPT), AT_CRYPTO(E_UNINIT));
    assert_int_equal(at_call(rt, CIPHER, "init", INIT, NULL, c2, ec, M_ENCRYPT), AT_CRYPTO(E_VALUE));
    assert_int_equal(do_final(rt, c2, secret, 16, c, &n), AT_CRYPTO(E_INIT));
    rsa_free(&key);
    vt_card_free(&k);
}

/* ---- EC ---- */

/* libtomcrypt's table entry of a curve ("ECC-256", "ECC-384"): the FIPS
 * 186 parameters, A = p - 3. */
static const ltc_ecc_set_type *nist_curve(const char *name)
{
    for (const ltc_ecc_set_type *s = ltc_ecc_sets; s->size; s++)
        if (!strcmp(s->name, name))
            return s;
    fail_msg("no curve %s", name);
    return NULL;
}

static void hex_mp_bytes(const char *hex, uint8_t *out, unsigned n)
{
    void *v;
    assert_int_equal(ltc_mp.init(&v), CRYPT_OK);
    assert_int_equal(ltc_mp.read_radix(v, hex, 16), CRYPT_OK);
    unsigned long len = ltc_mp.unsigned_size(v);
    memset(out, 0, n);
    ltc_mp.unsigned_write(v, out + (n - len));
    ltc_mp.deinit(v);
}

/* the curve's domain parameters through the ECKey setters */
static void set_domain(vm_runtime *rt, const char *cls, uint16_t key, const ltc_ecc_set_type *s)
{
    unsigned n = (unsigned)s->size;
    uint8_t b[1 + 2 * 66];
    hex_mp_bytes(s->prime, b, n);
    set_comp(rt, cls, "setFieldFP", key, b, (uint16_t)n);
    b[n - 1] = (uint8_t)(b[n - 1] - 3);   /* A = p - 3: p ends in no byte below 3 on these curves */
    set_comp(rt, cls, "setA", key, b, (uint16_t)n);
    hex_mp_bytes(s->B, b, n);
    set_comp(rt, cls, "setB", key, b, (uint16_t)n);
    hex_mp_bytes(s->order, b, n);
    set_comp(rt, cls, "setR", key, b, (uint16_t)n);
    b[0] = 4;
    hex_mp_bytes(s->Gx, b + 1, n);
    hex_mp_bytes(s->Gy, b + 1 + n, n);
    set_comp(rt, cls, "setG", key, b, (uint16_t)(1 + 2 * n));
    assert_int_equal(at_call(rt, cls, "setK", "(S)V", NULL, key, 1), 0);
}

/* DER SEQUENCE { INTEGER r, INTEGER s } of two n-byte numbers */
static uint16_t der_sig(const char *r_hex, const char *s_hex, uint8_t *out)
{
    uint8_t r[70], s[70];
    uint16_t rl = at_hex(r_hex, r + 1), sl = at_hex(s_hex, s + 1);
    r[0] = s[0] = 0;
    const uint8_t *rp = r[1] & 0x80 ? r : r + 1, *sp = s[1] & 0x80 ? s : s + 1;
    rl = (uint16_t)(rl + (rp == r));
    sl = (uint16_t)(sl + (sp == s));
    uint16_t body = (uint16_t)(4 + rl + sl), o = 0;
    out[o++] = 0x30;
    if (body > 127)
        out[o++] = 0x81;
    out[o++] = (uint8_t)body;
    out[o++] = 2;
    out[o++] = (uint8_t)rl;
    memcpy(out + o, rp, rl);
    o = (uint16_t)(o + rl);
    out[o++] = 2;
    out[o++] = (uint8_t)sl;
    memcpy(out + o, sp, sl);
    return (uint16_t)(o + sl);
}

typedef struct ecdsa_vector {
    const char *curve, *x, *ux, *uy, *r, *s;
    int bits;
    uint8_t alg;
} ecdsa_vector;

/* RFC 6979 A.2.5 (P-256, SHA-256) and A.2.6 (P-384, SHA-384), message "sample" */
static const ecdsa_vector rfc6979[] = {
    { "ECC-256", "C9AFA9D845BA75166B5C215767B1D6934E50C3DB36E89B127B8A622B120F6721",
      "60FED4BA255A9D31C961EB74C6356D68C049B8923B61FA6CE669622E60F29FB6",
      "7903FE1008B8BC99A41AE9E95628BC64F2F1B20C2D7E9F5177A3C294D4462299",
      "EFD48B2AACB6A8FD1140DD9CD45E81D69D2C877B56AAF991C34D0EA84EAF3716",
      "F7CB1C942D657C41D436C7A1B6E29F65F3E900DBB9AFF4064DC4AB2F843ACDA8", 256, ECDSA_SHA256 },
    { "ECC-384",
      "6B9D3DAD2E1B8C1C05B19875B6659F4DE23C3B667BF297BA9AA47740787137D896D5724E4C70A825F872C9EA60D2EDF5",
      "EC3A4E415B4E19A4568618029F427FA5DA9A8BC4AE92E02E06AAE5286B300C64DEF8F0EA9055866064A254515480BC13",
      "8015D9B72D7D57244EA8EF9AC0C621896708A59367F9DFB9F54CA84B3F1C9DB1288B231C3AE0D4FE7344FD2533264720",
      "94EDBB92A5ECB8AAD4736E56C691916B3F88140666CE9FA73D64C4EA95AD133C81A648152E44ACF96E36DD1E80FABE46",
      "99EF4AEB15F178CEA1FE40DB2603138F130E740A19624526203B6351D0A3A94FA329C145786E679E7B82C71A38628AC8",
      384, ECDSA_SHA384 },
};

static void test_ecdsa_rfc6979(void **state)
{
    (void)state;
    vt_card k;
    vm_runtime *rt = new_card(&k);
    for (size_t i = 0; i < sizeof rfc6979 / sizeof rfc6979[0]; i++) {
        const ecdsa_vector *v = &rfc6979[i];
        const ltc_ecc_set_type *cv = nist_curve(v->curve);
        unsigned n = (unsigned)cv->size;
        uint16_t pub = build(rt, T_EC_PUB, v->bits), priv = build(rt, T_EC_PRIV, v->bits), ret;
        set_domain(rt, ECPUB, pub, cv);
        set_domain(rt, ECPRIV, priv, cv);
        uint8_t w[1 + 2 * 48], sig[120], mine[200];
        w[0] = 4;
        at_hex(v->ux, w + 1);
        at_hex(v->uy, w + 1 + n);
        set_comp(rt, ECPUB, "setW", pub, w, (uint16_t)(1 + 2 * n));
        set_hex(rt, ECPRIV, "setS", priv, v->x);
        assert_int_equal(at_call(rt, ECPUB, "isInitialized", "()Z", &ret, pub), 0);
        assert_int_equal(ret, 1);
        uint16_t slen = der_sig(v->r, v->s, sig);
        uint16_t s = signature(rt, v->alg);
        assert_int_equal(at_call(rt, SIG, "init", INIT, NULL, s, pub, M_VERIFY), 0);
        assert_int_equal(verify(rt, s, "sample", 6, sig, slen), 1);
        assert_int_equal(verify(rt, s, "samplf", 6, sig, slen), 0);
        sig[slen - 1] ^= 1;
        assert_int_equal(verify(rt, s, "sample", 6, sig, slen), 0);
        assert_int_equal(verify(rt, s, "sample", 6, sig, 5), 0);
        /* the card's own signature with the RFC's private key verifies
         * with the RFC's public key */
        assert_int_equal(at_call(rt, SIG, "init", INIT, NULL, s, priv, M_SIGN), 0);
        assert_int_equal(at_call(rt, SIG, "getLength", "()S", &ret, s), 0);
        assert_int_equal(ret, n == 32 ? 72 : 104);
        uint16_t ml = sign(rt, s, "sample", 6, mine);
        assert_true(ml <= ret && mine[0] == 0x30);
        assert_int_equal(at_call(rt, SIG, "init", INIT, NULL, s, pub, M_VERIFY), 0);
        assert_int_equal(verify(rt, s, "sample", 6, mine, ml), 1);
        /* the point is validated: W off the curve */
        w[1 + 2 * n - 1] ^= 1;
        set_comp(rt, ECPUB, "setW", pub, w, (uint16_t)(1 + 2 * n));
        uint16_t in = at_bytes(rt, "sample", 6), sb = at_bytes(rt, mine, ml);
        assert_int_equal(at_call(rt, SIG, "verify", VERIFY, &ret, s, in, 0, 6, sb, 0, ml), AT_CRYPTO(E_VALUE));
    }
    vt_card_free(&k);
}

typedef struct ecdh_vector {
    const char *curve, *i, *grx, *gry, *girx, *giry;   /* giry: NULL where not given here */
    int bits;
} ecdh_vector;

/* RFC 5903 §8.1 (256-bit random ECP group) and §8.2 (384-bit) */
static const ecdh_vector rfc5903[] = {
    { "ECC-256", "C88F01F510D9AC3F70A292DAA2316DE544E9AAB8AFE84049C62A9C57862D1433",
      "D12DFB5289C8D4F81208B70270398C342296970A0BCCB74C736FC7554494BF63",
      "56FBF3CA366CC23E8157854C13C58D6AAC23F046ADA30F8353E74F33039872AB",
      "D6840F6B42F6EDAFD13116E0E12565202FEF8E9ECE7DCE03812464D04B9442DE",
      "522BDE0AF0D8585B8DEF9C183B5AE38F50235206A8674ECB5D98EDB20EB153A2", 256 },
    { "ECC-384",
      "099F3C7034D4A2C699884D73A375A67F7624EF7C6B3C0F160647B67414DCE655E35B538041E649EE3FAEF896783AB194",
      "E558DBEF53EECDE3D3FCCFC1AEA08A89A987475D12FD950D83CFA41732BC509D0D1AC43A0336DEF96FDA41D0774A3571",
      "DCFBEC7AACF3196472169E838430367F66EEBE3C6E70C416DD5F0C68759DD1FFF83FA40142209DFF5EAAD96DB9E6386C",
      "11187331C279962D93D604243FD592CB9D0A926F422E47187521287E7156C5C4D603135569B9E9D09CF5D4A270F59746", NULL,
      384 },
};

static uint16_t agree(vm_runtime *rt, uint8_t alg, uint16_t priv, const uint8_t *pub, uint16_t n, uint8_t *out,
                      int *rc)
{
    uint16_t ka = 0, len = 0;
    assert_int_equal(at_call(rt, KA, "getInstance", "(BZ)Ljavacard/security/KeyAgreement;", &ka, alg, 0), 0);
    assert_int_equal(at_call(rt, KA, "init", "(Ljavacard/security/PrivateKey;)V", NULL, ka, priv), 0);
    uint16_t ob = at_bytes(rt, NULL, 80);
    *rc = at_call(rt, KA, "generateSecret", "([BSS[BS)S", &len, ka, at_bytes(rt, pub, n), 0, n, ob, 2);
    if (*rc == 0)
        memcpy(out, at_data(rt, ob) + 2, len);
    return len;
}

static void test_ecdh_rfc5903(void **state)
{
    (void)state;
    vt_card k;
    vm_runtime *rt = new_card(&k);
    for (size_t i = 0; i < sizeof rfc5903 / sizeof rfc5903[0]; i++) {
        const ecdh_vector *v = &rfc5903[i];
        const ltc_ecc_set_type *cv = nist_curve(v->curve);
        unsigned n = (unsigned)cv->size;
        uint16_t priv = build(rt, T_EC_PRIV, v->bits);
        set_domain(rt, ECPRIV, priv, cv);
        set_hex(rt, ECPRIV, "setS", priv, v->i);
        uint8_t pt[1 + 2 * 48], want[48], got[80], sha[20];
        pt[0] = 4;
        at_hex(v->grx, pt + 1);
        at_hex(v->gry, pt + 1 + n);
        at_hex(v->girx, want);
        int rc;
        assert_int_equal(agree(rt, KA_DH_PLAIN, priv, pt, (uint16_t)(1 + 2 * n), got, &rc), n);
        assert_int_equal(rc, 0);
        assert_memory_equal(got, want, n);
        /* ALG_EC_SVDP_DH_PLAIN_XY: the point g^ir, uncompressed */
        if (v->giry) {
            uint8_t xy[1 + 2 * 48];
            xy[0] = 4;
            memcpy(xy + 1, want, n);
            at_hex(v->giry, xy + 1 + n);
            assert_int_equal(agree(rt, KA_DH_PLAIN_XY, priv, pt, (uint16_t)(1 + 2 * n), got, &rc), 1 + 2 * n);
            assert_int_equal(rc, 0);
            assert_memory_equal(got, xy, 1 + 2 * n);
        }
        /* ALG_EC_SVDP_DH: SHA-1 of x */
        unsigned long sl = sizeof sha;
        hash_memory(find_hash("sha1"), want, n, sha, &sl);
        assert_int_equal(agree(rt, KA_DH, priv, pt, (uint16_t)(1 + 2 * n), got, &rc), 20);
        assert_memory_equal(got, sha, 20);
        /* the compressed form of the same point */
        uint8_t cp[1 + 48];
        cp[0] = (uint8_t)(2 | (pt[2 * n] & 1));
        memcpy(cp + 1, pt + 1, n);
        assert_int_equal(agree(rt, KA_DH_PLAIN, priv, cp, (uint16_t)(1 + n), got, &rc), n);
        assert_int_equal(rc, 0);
        assert_memory_equal(got, want, n);
        /* a point off the curve, a truncated one */
        pt[2 * n] ^= 1;
        agree(rt, KA_DH_PLAIN, priv, pt, (uint16_t)(1 + 2 * n), got, &rc);
        assert_int_equal(rc, AT_CRYPTO(E_VALUE));
        agree(rt, KA_DH_PLAIN, priv, pt, (uint16_t)(2 * n), got, &rc);
        assert_int_equal(rc, AT_CRYPTO(E_VALUE));
    }
    uint16_t ka;
    assert_int_equal(at_call(rt, KA, "getInstance", "(BZ)Ljavacard/security/KeyAgreement;", &ka, KA_PACE_GM, 0),
                     AT_CRYPTO(E_NO_ALG));
    vt_card_free(&k);
}

/* secp256k1 (SEC 2): A = 0, outside the A = -3 family libtomcrypt 1.18
 * computes on, so api_ec_point.c's arithmetic. Expected values computed
 * with python3-cryptography (OpenSSL), independent of libtomcrypt, for
 * d = SECP_D, e = SECP_E: Q = e G, d G, (d e) G, and an OpenSSL ECDSA
 * SHA-256 signature of "sample" by e. */
#define SECP_P "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEFFFFFC2F"
#define SECP_G "0479BE667EF9DCBBAC55A06295CE870B07029BFCDB2DCE28D959F2815B16F81798" \
               "483ADA7726A3C4655DA4FBFC0E1108A8FD17B448A68554199C47D08FFB10D4B8"
#define SECP_N "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141"
#define SECP_D "7A1C4E2B90D3F5A6C8E01B3D5F7092A4C6E8F0A1B3C5D7E9F1A2B4C6D8E0F213"
#define SECP_Q "04FABD2F36DC1543853BF8BB99441B90975C5771B4F2E5E64E94298ED1A94B1115" \
               "8E715D724D575F9ACFC68063E8F550BEA58F51EC95089FBBB213A036E0DBAD9A"
#define SECP_DG "0472DCA7F543D4EBD43A66185FB8925FEE254031C1B11C2C6F88AFBBB0AE5049AA" \
                "00E24B1726487D47DB8AEAEE9A4166E3004E3587E5CD01305F9CA23573292C57"
#define SECP_DEG "046941B53149FEA9377B1AADFEB6854FAD69777DD2869E0C8CBCE8CA34AE3CC22A" \
                 "62B1E3A82EE003F45BA9C03DBCDA9D5BB317E5E31B5183E3A5E37F65B32EFB78"
#define SECP_SIG "3046022100F61592234982C635B40EAACB98765DB9237A05F3C7A2E33CDB71CA14BF249ADF" \
                 "022100E0B05F42A7A5B6C04E943B1F0B8FA1AF26946582825F45DB8070244FAECE9C38"

static void set_secp256k1(vm_runtime *rt, const char *cls, uint16_t key, const char *b)
{
    set_hex(rt, cls, "setFieldFP", key, SECP_P);
    set_hex(rt, cls, "setA", key, "00");
    set_hex(rt, cls, "setB", key, b);
    set_hex(rt, cls, "setG", key, SECP_G);
    set_hex(rt, cls, "setR", key, SECP_N);
    assert_int_equal(at_call(rt, cls, "setK", "(S)V", NULL, key, 1), 0);
}

static void test_ec_secp256k1(void **state)
{
    (void)state;
    vt_card k;
    vm_runtime *rt = new_card(&k);
    uint16_t priv = build(rt, T_EC_PRIV, 256), pub = build(rt, T_EC_PUB, 256), ret;
    set_secp256k1(rt, ECPRIV, priv, "07");
    set_secp256k1(rt, ECPUB, pub, "07");
    set_hex(rt, ECPRIV, "setS", priv, SECP_D);
    uint8_t q[65], want[65], got[80], sig[80], mine[120];
    at_hex(SECP_Q, q);
    /* ECDH: x and the whole point of d Q = (d e) G */
    int rc;
    at_hex(SECP_DEG, want);
    assert_int_equal(agree(rt, KA_DH_PLAIN, priv, q, 65, got, &rc), 32);
    assert_int_equal(rc, 0);
    assert_memory_equal(got, want + 1, 32);
    assert_int_equal(agree(rt, KA_DH_PLAIN_XY, priv, q, 65, got, &rc), 65);
    assert_int_equal(rc, 0);
    assert_memory_equal(got, want, 65);
    /* d G through the generator as the public data */
    at_hex(SECP_G, q);
    at_hex(SECP_DG, want);
    assert_int_equal(agree(rt, KA_DH_PLAIN_XY, priv, q, 65, got, &rc), 65);
    assert_memory_equal(got, want, 65);
    /* OpenSSL's signature by e verifies with W = Q; a changed one does not */
    at_hex(SECP_Q, q);
    set_comp(rt, ECPUB, "setW", pub, q, 65);
    uint16_t slen = at_hex(SECP_SIG, sig), s = signature(rt, ECDSA_SHA256);
    assert_int_equal(at_call(rt, SIG, "init", INIT, NULL, s, pub, M_VERIFY), 0);
    assert_int_equal(verify(rt, s, "sample", 6, sig, slen), 1);
    assert_int_equal(verify(rt, s, "samplf", 6, sig, slen), 0);
    sig[slen - 1] ^= 1;
    assert_int_equal(verify(rt, s, "sample", 6, sig, slen), 0);
    /* the card's signature with d verifies with W = d G, not with Q */
    assert_int_equal(at_call(rt, SIG, "init", INIT, NULL, s, priv, M_SIGN), 0);
    uint16_t ml = sign(rt, s, "sample", 6, mine);
    assert_true(ml <= 72 && mine[0] == 0x30);
    assert_int_equal(at_call(rt, SIG, "init", INIT, NULL, s, pub, M_VERIFY), 0);
    assert_int_equal(verify(rt, s, "sample", 6, mine, ml), 0);
    set_comp(rt, ECPUB, "setW", pub, want, 65);
    assert_int_equal(verify(rt, s, "sample", 6, mine, ml), 1);
    /* a singular curve (A = B = 0) is refused at use */
    set_hex(rt, ECPRIV, "setB", priv, "00");
    set_hex(rt, ECPRIV, "setG", priv, "040000000000000000000000000000000000000000000000000000000000000000"
                                      "0000000000000000000000000000000000000000000000000000000000000000");
    assert_int_equal(at_call(rt, SIG, "init", INIT, NULL, s, priv, M_SIGN), 0);
    uint16_t in = at_bytes(rt, "x", 1), ob = at_bytes(rt, NULL, 80);
    assert_int_equal(at_call(rt, SIG, "sign", SIGN, &ret, s, in, 0, 1, ob, 0), AT_CRYPTO(E_VALUE));
    /* points of the wrong size or form are refused by the setters */
    assert_int_equal(at_call(rt, ECPRIV, "setG", SET, NULL, priv, at_bytes(rt, "\x04\x01", 2), 0, 2),
                     AT_CRYPTO(E_VALUE));
    assert_int_equal(at_call(rt, ECPRIV, "setFieldF2M", "(S)V", NULL, priv, 163), AT_CRYPTO(E_VALUE));
    vt_card_free(&k);
}

/* ---- setInitialDigest (Signature, InitializedMessageDigest) ---- */

#define MD "javacard/security/MessageDigest"
#define IMD "javacard/security/InitializedMessageDigest"
#define SETINIT "([BSS[BSS)V"

typedef struct md_case {
    uint8_t md_alg;
    const char *hash;
    unsigned block, state;
    uint8_t rsa_alg, ecdsa_alg;
} md_case;

static const md_case md_cases[] = {
    { 1, "sha1", 64, 20, 10, 17 },   { 7, "sha224", 64, 32, 39, 37 }, { 4, "sha256", 64, 32, 40, 33 },
    { 5, "sha384", 128, 64, 41, 34 }, { 6, "sha512", 128, 64, 42, 38 },
};

/* The chaining state of `hash` after the first n bytes of m (whole
 * blocks), big-endian words, read from libtomcrypt's hash_state: not
 * through the card's serialisation. */
static void midstate(const md_case *c, const uint8_t *m, unsigned n, uint8_t *out)
{
    int idx = find_hash(c->hash);
    assert_true(idx >= 0);
    hash_state md;
    hash_descriptor[idx].init(&md);
    hash_descriptor[idx].process(&md, m, n);
    for (unsigned i = 0; i < c->state / (c->block == 128 ? 8u : 4u); i++) {
        uint64_t w = c->block == 128 ? md.sha512.state[i] : c->state == 20 ? md.sha1.state[i] : md.sha256.state[i];
        unsigned wl = c->block == 128 ? 8 : 4;
        for (unsigned b = 0; b < wl; b++)
            out[i * wl + b] = (uint8_t)(w >> (8 * (wl - 1 - b)));
    }
}

/* setInitialDigest(state, msglen as `lenlen` big-endian bytes) on object
 * o of class cls */
static int set_initial(vm_runtime *rt, const char *cls, uint16_t o, const uint8_t *st, unsigned stlen, uint64_t msglen,
                       unsigned lenlen)
{
    uint8_t lb[9];
    for (unsigned i = 0; i < lenlen; i++)
        lb[i] = lenlen - 1 - i < 8 ? (uint8_t)(msglen >> (8 * (lenlen - 1 - i))) : 0;
    return at_call(rt, cls, "setInitialDigest", SETINIT, NULL, o, at_bytes(rt, st, (uint16_t)stlen), 0, stlen,
                   at_bytes(rt, lb, (uint16_t)lenlen), 0, lenlen);
}

static void test_set_initial_digest(void **state)
{
    (void)state;
    vt_card k;
    vm_runtime *rt = new_card(&k);
    rsa_key key;
    rsa_keys ck = rsa_1024(rt, &key);
    /* the RFC 6979 P-256 key pair */
    const ecdsa_vector *v = &rfc6979[0];
    uint16_t epub = build(rt, T_EC_PUB, 256), epriv = build(rt, T_EC_PRIV, 256), ret;
    set_domain(rt, ECPUB, epub, nist_curve(v->curve));
    set_domain(rt, ECPRIV, epriv, nist_curve(v->curve));
    uint8_t w[65];
    w[0] = 4;
    at_hex(v->ux, w + 1);
    at_hex(v->uy, w + 33);
    set_comp(rt, ECPUB, "setW", epub, w, 65);
    set_hex(rt, ECPRIV, "setS", epriv, v->x);

    uint8_t m[2 * 128 + 40];
    for (unsigned i = 0; i < sizeof m; i++)
        m[i] = (uint8_t)(i * 7 + 1);
    for (size_t i = 0; i < sizeof md_cases / sizeof md_cases[0]; i++) {
        const md_case *c = &md_cases[i];
        unsigned first = 2 * c->block, n = first + 40, dl = c->state == 20 ? 20 : c->md_alg == 7 ? 28
                                                        : c->md_alg == 5 ? 48 : c->state;
        uint8_t mid[64], h[64], want[128], sig[600];
        unsigned long hl = sizeof h, wl = sizeof want;
        midstate(c, m, first, mid);
        assert_int_equal(hash_memory(find_hash(c->hash), m, n, h, &hl), CRYPT_OK);
        assert_int_equal(hl, dl);
        uint16_t tail = at_bytes(rt, m + first, 40), ob = at_bytes(rt, NULL, 200);

        /* InitializedMessageDigest: the rest of the message gives the
         * whole message's digest */
        uint16_t md = 0;
        assert_int_equal(at_call(rt, MD, "getInitializedMessageDigestInstance",
                                 "(BZ)Ljavacard/security/InitializedMessageDigest;", &md, c->md_alg, 0), 0);
        assert_int_equal(set_initial(rt, IMD, md, mid, c->state, first, 8), 0);
        assert_int_equal(at_call(rt, IMD, "doFinal", "([BSS[BS)S", &ret, md, tail, 0, 40, ob, 0), 0);
        assert_int_equal(ret, dl);
        assert_memory_equal(at_data(rt, ob), h, dl);
        /* doFinal left it fresh: the default start again */
        uint8_t h0[64];
        unsigned long h0l = sizeof h0;
        hash_memory(find_hash(c->hash), m + first, 40, h0, &h0l);
        assert_int_equal(at_call(rt, IMD, "doFinal", "([BSS[BS)S", &ret, md, tail, 0, 40, ob, 0), 0);
        assert_memory_equal(at_data(rt, ob), h0, dl);

        /* RSA PKCS#1 v1.5 (deterministic): libtomcrypt's signature of the
         * whole message's hash */
        assert_int_equal(rsa_sign_hash_ex(h, dl, want, &wl, LTC_PKCS_1_V1_5, NULL, 0, find_hash(c->hash), 0, &key),
                         CRYPT_OK);
        uint16_t s = signature(rt, c->rsa_alg);
        assert_int_equal(set_initial(rt, SIG, s, mid, c->state, first, 8), AT_CRYPTO(E_INIT));
        assert_int_equal(at_call(rt, SIG, "init", INIT, NULL, s, ck.crt, M_SIGN), 0);
        /* the message length in 2 bytes is as good as in 8 */
        assert_int_equal(set_initial(rt, SIG, s, mid, c->state, first, 2), 0);
        assert_int_equal(at_call(rt, SIG, "sign", SIGN, &ret, s, tail, 0, 40, ob, 0), 0);
        assert_int_equal(ret, 128);
        assert_memory_equal(at_data(rt, ob), want, 128);
        assert_int_equal(at_call(rt, SIG, "init", INIT, NULL, s, ck.pub, M_VERIFY), 0);
        assert_int_equal(set_initial(rt, SIG, s, mid, c->state, first, 8), 0);
        assert_int_equal(verify(rt, s, m + first, 40, want, 128), 1);
        mid[3] ^= 1;
        assert_int_equal(set_initial(rt, SIG, s, mid, c->state, first, 8), 0);
        assert_int_equal(verify(rt, s, m + first, 40, want, 128), 0);
        mid[3] ^= 1;
        /* ILLEGAL_VALUE: the state's length, a first part not of whole
         * blocks, a length of more than 8 bytes */
        assert_int_equal(set_initial(rt, SIG, s, mid, c->state - 1, first, 8), AT_CRYPTO(E_VALUE));
        assert_int_equal(set_initial(rt, SIG, s, mid, c->state, first + 1, 8), AT_CRYPTO(E_VALUE));
        assert_int_equal(set_initial(rt, SIG, s, mid, c->state, first, 9), AT_CRYPTO(E_VALUE));
        assert_int_equal(set_initial(rt, IMD, md, mid, c->state, first - 1, 8), AT_CRYPTO(E_VALUE));

        /* ECDSA: the card's signature over the rest verifies as a
         * signature of the whole message's hash */
        uint16_t e = signature(rt, c->ecdsa_alg);
        assert_int_equal(at_call(rt, SIG, "init", INIT, NULL, e, epriv, M_SIGN), 0);
        assert_int_equal(set_initial(rt, SIG, e, mid, c->state, first, 8), 0);
        uint16_t sl = sign(rt, e, m + first, 40, sig);
        assert_int_equal(at_call(rt, SIG, "init", INIT, NULL, e, epub, M_VERIFY), 0);
        uint16_t hb = at_bytes(rt, h, (uint16_t)dl), sb = at_bytes(rt, sig, sl);
        assert_int_equal(at_call(rt, SIG, "verifyPreComputedHash", VERIFY, &ret, e, hb, 0, dl, sb, 0, sl), 0);
        assert_int_equal(ret, 1);
        assert_int_equal(set_initial(rt, SIG, e, mid, c->state, first, 8), 0);
        assert_int_equal(verify(rt, e, m + first, 40, sig, sl), 1);
        assert_int_equal(verify(rt, e, m + first, 40, sig, sl), 0);   /* the state was used up */
    }
    /* the OneShot form */
    const md_case *c = &md_cases[2];
    uint8_t mid[32], h[32];
    unsigned long hl = sizeof h;
    midstate(c, m, 64, mid);
    hash_memory(find_hash("sha256"), m, 100, h, &hl);
    uint16_t os = 0, ob = at_bytes(rt, NULL, 32);
    assert_int_equal(at_call(rt, IMD "$OneShot", "open", "(B)Ljavacard/security/InitializedMessageDigest$OneShot;",
                             &os, c->md_alg), 0);
    assert_int_equal(set_initial(rt, IMD "$OneShot", os, mid, 32, 64, 8), 0);
    assert_int_equal(at_call(rt, IMD "$OneShot", "doFinal", "([BSS[BS)S", &ret, os, at_bytes(rt, m + 64, 36), 0, 36,
                             ob, 0), 0);
    assert_memory_equal(at_data(rt, ob), h, 32);
    assert_int_equal(at_call(rt, IMD "$OneShot", "close", "()V", NULL, os), 0);
    /* a MAC has no digest to start from */
    uint16_t hm = signature(rt, 25);
    assert_int_equal(set_initial(rt, SIG, hm, mid, 32, 64, 8), AT_CRYPTO(E_USE));
    rsa_free(&key);
    vt_card_free(&k);
}

/* ---- KeyPair ---- */

static void keypair(vm_runtime *rt, uint8_t alg, int bits, uint16_t *kp, uint16_t *pub, uint16_t *priv)
{
    *kp = at_new(rt, KP);
    assert_int_equal(at_call(rt, KP, "<init>", "(BS)V", NULL, *kp, alg, bits), 0);
    assert_int_equal(at_call(rt, KP, "getPublic", "()Ljavacard/security/PublicKey;", pub, *kp), 0);
    assert_int_equal(at_call(rt, KP, "getPrivate", "()Ljavacard/security/PrivateKey;", priv, *kp), 0);
}

static void rsa_roundtrip(vm_runtime *rt, uint16_t pub, uint16_t priv, uint8_t alg, uint16_t modlen)
{
    uint8_t sig[512];
    uint16_t s = signature(rt, alg);
    assert_int_equal(at_call(rt, SIG, "init", INIT, NULL, s, priv, M_SIGN), 0);
    assert_int_equal(sign(rt, s, "round trip", 10, sig), modlen);
    assert_int_equal(at_call(rt, SIG, "init", INIT, NULL, s, pub, M_VERIFY), 0);
    assert_int_equal(verify(rt, s, "round trip", 10, sig, modlen), 1);
    sig[modlen / 2] ^= 4;
    assert_int_equal(verify(rt, s, "round trip", 10, sig, modlen), 0);
}

static void test_keypair_rsa(void **state)
{
    (void)state;
    vt_card k;
    vt_card_new(&k, NULL);
    vm_runtime *rt = k.rt;
    uint16_t kp, pub, priv, ret, buf = at_bytes(rt, NULL, 300);
    keypair(rt, KP_RSA_CRT, 2048, &kp, &pub, &priv);
    assert_int_equal(at_call(rt, RSAPUB, "isInitialized", "()Z", &ret, pub), 0);
    assert_int_equal(ret, 0);
    assert_int_equal(at_call(rt, KP, "genKeyPair", "()V", NULL, kp), 0);
    assert_int_equal(at_call(rt, RSACRT, "isInitialized", "()Z", &ret, priv), 0);
    assert_int_equal(ret, 1);
    assert_int_equal(at_call(rt, RSAPUB, "getModulus", GET, &ret, pub, buf, 0), 0);
    assert_int_equal(ret, 256);
    assert_true(at_data(rt, buf)[0] & 0x80);   /* exactly 2048 bits */
    assert_int_equal(at_call(rt, RSAPUB, "getExponent", GET, &ret, pub, buf, 0), 0);
    assert_int_equal(ret, 3);
    assert_memory_equal(at_data(rt, buf), "\x01\x00\x01", 3);
    rsa_roundtrip(rt, pub, priv, RSA_SHA256_PKCS1, 256);
    rsa_roundtrip(rt, pub, priv, RSA_SHA256_PSS, 256);
    /* genKeyPair again: new keys */
    uint8_t n1[256];
    assert_int_equal(at_call(rt, RSAPUB, "getModulus", GET, &ret, pub, buf, 0), 0);
    memcpy(n1, at_data(rt, buf), 256);
    assert_int_equal(at_call(rt, KP, "genKeyPair", "()V", NULL, kp), 0);
    assert_int_equal(at_call(rt, RSAPUB, "getModulus", GET, &ret, pub, buf, 0), 0);
    assert_memory_not_equal(n1, at_data(rt, buf), 256);

    /* ALG_RSA 512 with a preset public exponent: kept */
    keypair(rt, KP_RSA, 512, &kp, &pub, &priv);
    set_hex(rt, RSAPUB, "setExponent", pub, "03");
    assert_int_equal(at_call(rt, KP, "genKeyPair", "()V", NULL, kp), 0);
    assert_int_equal(at_call(rt, RSAPUB, "getExponent", GET, &ret, pub, buf, 0), 0);
    assert_int_equal(ret, 1);
    assert_int_equal(at_data(rt, buf)[0], 3);
    assert_int_equal(at_call(rt, RSAPRIV, "getType", "()B", &ret, priv), 0);
    assert_int_equal(ret, T_RSA_PRIV);
    rsa_roundtrip(rt, pub, priv, RSA_SHA_PKCS1, 64);
    /* an even preset exponent is no exponent */
    set_hex(rt, RSAPUB, "setExponent", pub, "04");
    assert_int_equal(at_call(rt, KP, "genKeyPair", "()V", NULL, kp), AT_CRYPTO(E_VALUE));

    /* KeyPair(public, private): consistent keys only */
    uint16_t kp2 = at_new(rt, KP), p1 = build(rt, T_RSA_PUB, 1024), q1 = build(rt, T_RSA_CRT, 1024);
    uint16_t q2 = build(rt, T_RSA_CRT, 2048);
    const char *both = "(Ljavacard/security/PublicKey;Ljavacard/security/PrivateKey;)V";
    assert_int_equal(at_call(rt, KP, "<init>", both, NULL, kp2, p1, q2), AT_CRYPTO(E_VALUE));
    assert_int_equal(at_call(rt, KP, "<init>", both, NULL, kp2, q1, p1), AT_CRYPTO(E_VALUE));
    assert_int_equal(at_call(rt, KP, "<init>", both, NULL, kp2, p1, q1), 0);
    assert_int_equal(at_call(rt, KP, "genKeyPair", "()V", NULL, kp2), 0);
    rsa_roundtrip(rt, p1, q1, RSA_SHA256_PKCS1, 128);
    uint16_t kp3 = at_new(rt, KP);
    assert_int_equal(at_call(rt, KP, "<init>", "(BS)V", NULL, kp3, KP_DSA, 1024), AT_CRYPTO(E_NO_ALG));
    assert_int_equal(at_call(rt, KP, "<init>", "(BS)V", NULL, kp3, KP_RSA, 1000), AT_CRYPTO(E_NO_ALG));
    vt_card_free(&k);
}

static void test_keypair_ec(void **state)
{
    (void)state;
    vt_card k;
    vm_runtime *rt = new_card(&k);
    uint16_t kp1, pub1, priv1, kp2, pub2, priv2, ret, buf = at_bytes(rt, NULL, 200);
    keypair(rt, KP_EC_FP, 256, &kp1, &pub1, &priv1);
    keypair(rt, KP_EC_FP, 256, &kp2, &pub2, &priv2);
    assert_int_equal(at_call(rt, KP, "genKeyPair", "()V", NULL, kp1), 0);
    assert_int_equal(at_call(rt, KP, "genKeyPair", "()V", NULL, kp2), 0);
    /* no preset domain: P-256 (FIPS 186) */
    uint8_t p[32];
    hex_mp_bytes(nist_curve("ECC-256")->prime, p, 32);
    assert_int_equal(at_call(rt, ECPUB, "getField", GET, &ret, pub1, buf, 0), 0);
    assert_int_equal(ret, 32);
    assert_memory_equal(at_data(rt, buf), p, 32);
    assert_int_equal(at_call(rt, ECPRIV, "getK", "()S", &ret, priv1), 0);
    assert_int_equal(ret, 1);
    /* ECDSA round trip */
    uint8_t sig[160];
    uint16_t s = signature(rt, ECDSA_SHA256);
    assert_int_equal(at_call(rt, SIG, "init", INIT, NULL, s, priv1, M_SIGN), 0);
    uint16_t sl = sign(rt, s, "hello", 5, sig);
    assert_int_equal(at_call(rt, SIG, "init", INIT, NULL, s, pub1, M_VERIFY), 0);
    assert_int_equal(verify(rt, s, "hello", 5, sig, sl), 1);
    assert_int_equal(at_call(rt, SIG, "init", INIT, NULL, s, pub2, M_VERIFY), 0);
    assert_int_equal(verify(rt, s, "hello", 5, sig, sl), 0);
    /* ECDH both ways: the same x */
    uint8_t w1[65], w2[65], x1[80], x2[80];
    assert_int_equal(at_call(rt, ECPUB, "getW", GET, &ret, pub1, buf, 0), 0);
    assert_int_equal(ret, 65);
    memcpy(w1, at_data(rt, buf), 65);
    assert_int_equal(at_call(rt, ECPUB, "getW", GET, &ret, pub2, buf, 0), 0);
    memcpy(w2, at_data(rt, buf), 65);
    int rc1, rc2;
    assert_int_equal(agree(rt, KA_DH_PLAIN, priv1, w2, 65, x1, &rc1), 32);
    assert_int_equal(agree(rt, KA_DH_PLAIN, priv2, w1, 65, x2, &rc2), 32);
    assert_int_equal(rc1 | rc2, 0);
    assert_memory_equal(x1, x2, 32);
    /* P-384 domain preset on the public key only: copied to the private */
    uint16_t kp3, pub3, priv3;
    keypair(rt, KP_EC_FP, 384, &kp3, &pub3, &priv3);
    set_domain(rt, ECPUB, pub3, nist_curve("ECC-384"));
    assert_int_equal(at_call(rt, KP, "genKeyPair", "()V", NULL, kp3), 0);
    assert_int_equal(at_call(rt, ECPRIV, "getR", GET, &ret, priv3, buf, 0), 0);
    assert_int_equal(ret, 48);
    uint16_t s3 = signature(rt, ECDSA_SHA384);
    assert_int_equal(at_call(rt, SIG, "init", INIT, NULL, s3, priv3, M_SIGN), 0);
    sl = sign(rt, s3, "hello", 5, sig);
    assert_int_equal(at_call(rt, SIG, "init", INIT, NULL, s3, pub3, M_VERIFY), 0);
    assert_int_equal(verify(rt, s3, "hello", 5, sig, sl), 1);
    /* P-521 from the card's table */
    uint16_t kp5, pub5, priv5;
    keypair(rt, KP_EC_FP, 521, &kp5, &pub5, &priv5);
    assert_int_equal(at_call(rt, KP, "genKeyPair", "()V", NULL, kp5), 0);
    assert_int_equal(at_call(rt, ECPUB, "getW", GET, &ret, pub5, buf, 0), 0);
    assert_int_equal(ret, 1 + 2 * 66);
    uint16_t s5 = signature(rt, 38);   /* ALG_ECDSA_SHA_512 */
    assert_int_equal(at_call(rt, SIG, "init", INIT, NULL, s5, priv5, M_SIGN), 0);
    uint8_t sig5[160];
    sl = sign(rt, s5, "hello", 5, sig5);
    assert_int_equal(at_call(rt, SIG, "init", INIT, NULL, s5, pub5, M_VERIFY), 0);
    assert_int_equal(verify(rt, s5, "hello", 5, sig5, sl), 1);
    /* a domain copied key to key */
    uint16_t e = build(rt, T_EC_PUB, 256);
    assert_int_equal(at_call(rt, ECPUB, "copyDomainParametersFrom", "(Ljavacard/security/ECKey;)V", NULL, e, pub1), 0);
    assert_int_equal(at_call(rt, ECPUB, "getField", GET, &ret, e, buf, 0), 0);
    assert_memory_equal(at_data(rt, buf), p, 32);
    assert_int_equal(at_call(rt, ECPUB, "copyDomainParametersFrom", "(Ljavacard/security/ECKey;)V", NULL, e, pub3),
                     AT_CRYPTO(E_VALUE));
    vt_card_free(&k);
}

static void test_transient_private_key(void **state)
{
    (void)state;
    vt_card k;
    vt_card_new(&k, NULL);
    vm_runtime *rt = k.rt;
    uint16_t pub = build(rt, T_RSA_PUB, 512), priv = build(rt, T_RSA_CRT_RESET, 512), ret;
    uint16_t kp = at_new(rt, KP);
    assert_int_equal(at_call(rt, KP, "<init>", "(Ljavacard/security/PublicKey;Ljavacard/security/PrivateKey;)V",
                             NULL, kp, pub, priv), 0);
    assert_int_equal(at_call(rt, KP, "genKeyPair", "()V", NULL, kp), 0);
    assert_int_equal(at_call(rt, RSACRT, "isInitialized", "()Z", &ret, priv), 0);
    assert_int_equal(ret, 1);
    vt_commit(&k);
    vt_reset(&k);
    assert_int_equal(at_call(k.rt, RSACRT, "isInitialized", "()Z", &ret, priv), 0);
    assert_int_equal(ret, 0);
    assert_int_equal(at_call(k.rt, RSAPUB, "isInitialized", "()Z", &ret, pub), 0);
    assert_int_equal(ret, 1);
    uint16_t s = signature(k.rt, RSA_SHA_PKCS1);
    assert_int_equal(at_call(k.rt, SIG, "init", INIT, NULL, s, priv, M_SIGN), AT_CRYPTO(E_UNINIT));
    assert_int_equal(at_call(k.rt, SIG, "getInstance", "(BZ)Ljavacard/security/Signature;", &ret, RSA_MD5_PKCS1, 0),
                     AT_CRYPTO(E_NO_ALG));
    /* getInstance(md, cipher, pad): SHA-256, SIG_CIPHER_RSA, PAD_PKCS1_PSS */
    assert_int_equal(at_call(k.rt, SIG, "getInstance", "(BBBZ)Ljavacard/security/Signature;", &s, 4, 3, 8, 0), 0);
    assert_int_equal(at_call(k.rt, SIG, "getAlgorithm", "()B", &ret, s), 0);
    assert_int_equal(ret, RSA_SHA256_PSS);
    assert_int_equal(at_call(k.rt, SIG, "getPaddingAlgorithm", "()B", &ret, s), 0);
    assert_int_equal(ret, 8);
    vt_card_free(&k);
}


/* ---- power cut at every page write of genKeyPair (tear_sweep): the
 * image reopened holds the old key pair or the new one, and its two halves
 * belong together (a signature of the private key verifies with the
 * public one). ---- */

typedef struct gen_ctx {
    vt_card k;
    int rsa;
    uint16_t kp, pub, priv;
    uint8_t old_pub[300];
    uint16_t old_len;
} gen_ctx;

static uint16_t public_bytes(gen_ctx *g, uint8_t *out)
{
    uint16_t buf = at_bytes(g->k.rt, NULL, 300), n = 0;
    int rc = g->rsa ? at_call(g->k.rt, RSAPUB, "getModulus", GET, &n, g->pub, buf, 0)
                    : at_call(g->k.rt, ECPUB, "getW", GET, &n, g->pub, buf, 0);
    if (rc)
        return 0;
    memcpy(out, at_data(g->k.rt, buf), n);
    return n;
}

static void *gen_setup(void *arg)
{
    gen_ctx *g = calloc(1, sizeof *g);
    assert_non_null(g);
    g->rsa = *(const int *)arg;
    vt_card_new(&g->k, NULL);
    keypair(g->k.rt, g->rsa ? KP_RSA_CRT : KP_EC_FP, g->rsa ? 512 : 256, &g->kp, &g->pub, &g->priv);
    assert_int_equal(at_call(g->k.rt, KP, "genKeyPair", "()V", NULL, g->kp), 0);
    g->old_len = public_bytes(g, g->old_pub);
    assert_true(g->old_len > 0);
    vt_commit(&g->k);
    return g;
}

static chip *gen_chip(void *ctx) { return ((gen_ctx *)ctx)->k.c; }

static int gen_run(void *ctx)
{
    gen_ctx *g = ctx;
    if (at_call(g->k.rt, KP, "genKeyPair", "()V", NULL, g->kp) != 0)
        return 1;
    return chip_commit(g->k.c) == CHIP_OK ? 0 : 2;
}

static void gen_power_on(void *ctx) { vt_reset(&((gen_ctx *)ctx)->k); }

static int gen_check(void *ctx, uint32_t cut_at)
{
    gen_ctx *g = ctx;
    vt_reopen(&g->k, NULL);
    vm_runtime *rt = g->k.rt;
    uint8_t now[300];
    uint16_t n = public_bytes(g, now);
    if (n == 0)
        return 1;
    if (cut_at == 0 && n == g->old_len && !memcmp(now, g->old_pub, n))
        return 2;   /* the uncut run made a new key */
    uint16_t s = 0, ok = 0, len = 0, ib = at_bytes(rt, "torn", 4), ob = at_bytes(rt, NULL, 100);
    if (at_call(rt, SIG, "getInstance", "(BZ)Ljavacard/security/Signature;", &s,
                g->rsa ? RSA_SHA_PKCS1 : ECDSA_SHA256, 0) ||
        at_call(rt, SIG, "init", INIT, NULL, s, g->priv, M_SIGN) ||
        at_call(rt, SIG, "sign", SIGN, &len, s, ib, 0, 4, ob, 0) ||
        at_call(rt, SIG, "init", INIT, NULL, s, g->pub, M_VERIFY) ||
        at_call(rt, SIG, "verify", VERIFY, &ok, s, ib, 0, 4, ob, 0, len) || ok != 1) {
        fprintf(stderr, "cut at %u: the key pair's halves do not match\n", cut_at);
        return 3;
    }
    return 0;
}

static void gen_teardown(void *ctx)
{
    gen_ctx *g = ctx;
    vt_card_free(&g->k);
    free(g);
}

static void test_tear_genkeypair(void **state)
{
    (void)state;
    for (int rsa = 0; rsa < 2; rsa++) {
        tear_scenario s = { rsa ? "genKeyPair RSA-512 CRT" : "genKeyPair EC P-256", gen_setup, gen_chip, gen_run,
                            gen_power_on, gen_check, gen_teardown };
        uint32_t n = tear_sweep(&s, &rsa);
        print_message("%s: %u write indexes cut\n", s.name, n);
        assert_true(n > 0);
    }
}

/* RSA-4096: one key generation, sign and verify (label long). */
static void test_rsa_4096(void **state)
{
    (void)state;
    vt_card k;
    vt_card_new(&k, NULL);
    uint16_t kp, pub, priv;
    keypair(k.rt, KP_RSA_CRT, 4096, &kp, &pub, &priv);
    assert_int_equal(at_call(k.rt, KP, "genKeyPair", "()V", NULL, kp), 0);
    rsa_roundtrip(k.rt, pub, priv, RSA_SHA256_PKCS1, 512);
    vt_card_free(&k);
}

int main(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "long")) {
        const struct CMUnitTest long_tests[] = { cmocka_unit_test(test_rsa_4096) };
        return cmocka_run_group_tests(long_tests, NULL, NULL);
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rsa_components),
        cmocka_unit_test(test_rsa_signatures_match_libtomcrypt),
        cmocka_unit_test(test_rsa_blinding),
        cmocka_unit_test(test_rsa_cavp_sigver),
        cmocka_unit_test(test_rsa_ciphers),
        cmocka_unit_test(test_ecdsa_rfc6979),
        cmocka_unit_test(test_ecdh_rfc5903),
        cmocka_unit_test(test_ec_secp256k1),
        cmocka_unit_test(test_set_initial_digest),
        cmocka_unit_test(test_keypair_rsa),
        cmocka_unit_test(test_keypair_ec),
        cmocka_unit_test(test_transient_private_key),
        cmocka_unit_test(test_tear_genkeypair),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
