/*
 * api_rsa.c — RSA for the Java Card API (api_asym.h): the primitive over
 * the key objects' components, Cipher ALG_RSA_NOPAD / _PKCS1 (RSAES-
 * PKCS1-v1_5) / _PKCS1_OAEP (RSAES-OAEP, SHA-1 and MGF1-SHA-1, empty
 * label, as JC 3.0.5 defines it), the signature encodings EMSA-PKCS1-v1_5
 * and EMSA-PSS (RFC 8017), and key generation. The encodings, prime
 * generation and arithmetic are libtomcrypt's and its math library's.
 *
 * The math library. Debian's libtomcrypt is built with both libtommath
 * and GMP; libtommath is selected because it zeroes a number's digits when
 * the number is freed (GMP leaves them in freed memory), which is what
 * wiping secrets needs. libtomcrypt keeps the choice in its global
 * `ltc_mp`; it is set once to the same value and never changed.
 *
 * The private operation. JC keys do not carry what libtomcrypt's
 * rsa_exptmod wants (a CRT key has no modulus and no exponents e, d; a
 * plain private key has no primes), so the primitive is the textbook one
 * written over the library's arithmetic: x^d mod N, or for CRT keys
 * m1 = x^DP1 mod P, m2 = x^DQ1 mod Q, m = m2 + Q * (PQ * (m1 - m2) mod P).
 *
 * Blinding. libtomcrypt's rsa_exptmod blinds the base (Debian builds it
 * with LTC_RSA_BLINDING, the default of tomcrypt_custom.h), but it needs
 * e, which a JC private key does not carry; so the private operation here
 * blinds on its own, with a fresh random r from the system PRNG each time:
 *   - CRT keys, per prime q with exponent dq: e_q = dq^-1 mod (q - 1)
 *     (= e mod (q - 1)), then (x r^e_q)^dq = x^dq r (mod q) by Fermat,
 *     so the exponentiation sees x r^e_q and the result is multiplied by
 *     r^-1; costs one small exponentiation and two inversions per prime;
 *   - plain private keys (N, d): (x r)^d (r^-1)^d = x^d (mod N), which
 *     costs a second exponentiation with d (no e, no primes to do better).
 * Public operations are not blinded (nothing secret in them).
 */
#define LTM_DESC
#include <string.h>
#include <tomcrypt.h>

#include "api_asym.h"

void asym_math_setup(void)
{
    if (ltc_mp.name == NULL)
        ltc_mp = ltm_desc;
}

int asym_prng(void)
{
    int i = find_prng("sprng");
    if (i < 0) {
        register_prng(&sprng_desc);
        i = find_prng("sprng");
    }
    return i;
}

static int hash_index(const struct ltc_hash_descriptor *d)
{
    int i = find_hash(d->name);
    if (i < 0) {
        register_hash(d);
        i = find_hash(d->name);
    }
    return i;
}

int asym_random_below(void *limit, void *out)
{
    unsigned char buf[512 + 8];
    unsigned long bytes = ltc_mp.unsigned_size(limit) + 8;   /* 64 bits over: a negligible bias */
    int prng = asym_prng(), err = bytes <= sizeof buf && prng >= 0 ? CRYPT_OK : CRYPT_INVALID_ARG;
    for (unsigned tries = 0; err == CRYPT_OK; tries++) {
        if (tries == 64 || prng_descriptor[prng].read(buf, bytes, NULL) != bytes) {
            err = CRYPT_ERROR_READPRNG;
            break;
        }
        err = ltc_mp.unsigned_read(out, buf, bytes);
        if (err == CRYPT_OK)
            err = ltc_mp.mpdiv(out, limit, NULL, out);
        if (err == CRYPT_OK && ltc_mp.compare_d(out, 0) != LTC_MP_EQ)
            break;
    }
    zeromem(buf, sizeof buf);
    return err;
}

int asym_mp_read(void **n, const uint8_t *b, unsigned long len)
{
    asym_math_setup();
    int err = ltc_mp.init(n);
    if (err != CRYPT_OK)
        return err;
    if (len)
        err = ltc_mp.unsigned_read(*n, (unsigned char *)b, len);
    if (err != CRYPT_OK) {
        ltc_mp.deinit(*n);
        *n = NULL;
    }
    return err;
}

int asym_mp_write(void *n, uint8_t *out, unsigned long len)
{
    unsigned long size = ltc_mp.unsigned_size(n);
    if (size > len)
        return CRYPT_BUFFER_OVERFLOW;
    memset(out, 0, len - size);
    return ltc_mp.unsigned_write(n, out + (len - size));
}

static void mp_free(void *n)
{
    if (n)
        ltc_mp.deinit(n);
}

/* The component as a number (CRYPT_PK_NOT_PRIVATE when not set). */
static int comp_mp(const asym_key *k, unsigned c, void **n)
{
    uint16_t len;
    const uint8_t *p = asym_comp(k, c, &len);
    *n = NULL;
    if (!p)
        return CRYPT_PK_NOT_PRIVATE;
    return asym_mp_read(n, p, len);
}

/* The modulus as a number: N, or P * Q. */
static int modulus_mp(const asym_key *k, void **n)
{
    if (k->kind != AK_RSA_CRT)
        return comp_mp(k, RSA_N, n);
    void *p = NULL, *q = NULL;
    int err = comp_mp(k, CRT_P, &p);
    if (err == CRYPT_OK)
        err = comp_mp(k, CRT_Q, &q);
    if (err == CRYPT_OK)
        err = asym_mp_read(n, NULL, 0);
    if (err == CRYPT_OK)
        err = ltc_mp.mul(p, q, *n);
    mp_free(p);
    mp_free(q);
    return err;
}

int rsa_modulus(const asym_key *k, uint8_t *n, unsigned long *nlen)
{
    void *m;
    int err = modulus_mp(k, &m);
    if (err != CRYPT_OK)
        return err;
    *nlen = ltc_mp.unsigned_size(m);
    err = *nlen > 512 ? CRYPT_BUFFER_OVERFLOW : ltc_mp.unsigned_write(m, n);
    mp_free(m);
    return err;
}

/* The modulus length in bits and bytes. */
static int modulus_size(const asym_key *k, unsigned long *bits, unsigned long *bytes)
{
    void *m;
    int err = modulus_mp(k, &m);
    if (err != CRYPT_OK)
        return err;
    *bits = (unsigned long)ltc_mp.count_bits(m);
    *bytes = (*bits + 7) / 8;
    mp_free(m);
    return CRYPT_OK;
}

/* m = x^dq mod q with x blinded (the CRT half; see the header). */
static int exptmod_blind_prime(void *x, void *dq, void *q, void *m)
{
    void *q1 = NULL, *eq = NULL, *r = NULL, *t = NULL;
    int err = asym_mp_read(&q1, NULL, 0);
    if (err == CRYPT_OK) err = asym_mp_read(&eq, NULL, 0);
    if (err == CRYPT_OK) err = asym_mp_read(&r, NULL, 0);
    if (err == CRYPT_OK) err = asym_mp_read(&t, NULL, 0);
    if (err == CRYPT_OK) err = ltc_mp.subi(q, 1, q1);
    if (err == CRYPT_OK) err = ltc_mp.invmod(dq, q1, eq);
    if (err != CRYPT_OK) {
        /* DQ not invertible mod q - 1: no RSA key, compute what is asked */
        err = ltc_mp.exptmod(x, dq, q, m);
    } else {
        err = asym_random_below(q, r);
        if (err == CRYPT_OK) err = ltc_mp.exptmod(r, eq, q, t);          /* r^e_q */
        if (err == CRYPT_OK) err = ltc_mp.mulmod(x, t, q, t);            /* x r^e_q */
        if (err == CRYPT_OK) err = ltc_mp.exptmod(t, dq, q, m);          /* x^dq r */
        if (err == CRYPT_OK) err = ltc_mp.invmod(r, q, t);
        if (err == CRYPT_OK) err = ltc_mp.mulmod(m, t, q, m);
    }
    mp_free(q1);
    mp_free(eq);
    mp_free(r);
    mp_free(t);
    return err;
}

/* y = x^d mod n with x blinded (a plain private key; see the header). */
static int exptmod_blind_plain(void *x, void *d, void *n, void *y)
{
    void *r = NULL, *ri = NULL;
    int err = asym_mp_read(&r, NULL, 0);
    if (err == CRYPT_OK) err = asym_mp_read(&ri, NULL, 0);
    /* r must be invertible mod n; one that is not would factor n */
    for (unsigned tries = 0; err == CRYPT_OK; tries++) {
        err = tries < 8 ? asym_random_below(n, r) : CRYPT_ERROR;
        if (err == CRYPT_OK && ltc_mp.invmod(r, n, ri) == CRYPT_OK)
            break;
    }
    if (err == CRYPT_OK) err = ltc_mp.mulmod(x, r, n, r);                /* x r */
    if (err == CRYPT_OK) err = ltc_mp.exptmod(r, d, n, y);               /* x^d r^d */
    if (err == CRYPT_OK) err = ltc_mp.exptmod(ri, d, n, ri);             /* r^-d */
    if (err == CRYPT_OK) err = ltc_mp.mulmod(y, ri, n, y);
    mp_free(r);
    mp_free(ri);
    return err;
}

int rsa_apply(const asym_key *k, const uint8_t *in, uint8_t *out, unsigned long len)
{
    void *x = NULL, *y = NULL, *n = NULL, *e = NULL;
    void *p = NULL, *q = NULL, *dp = NULL, *dq = NULL, *qinv = NULL, *m1 = NULL, *m2 = NULL;
    int err = asym_mp_read(&x, in, len);
    if (err == CRYPT_OK)
        err = asym_mp_read(&y, NULL, 0);
    if (err == CRYPT_OK)
        err = modulus_mp(k, &n);
    if (err == CRYPT_OK && ltc_mp.compare(x, n) != LTC_MP_LT)
        err = CRYPT_PK_INVALID_SIZE;
    if (err == CRYPT_OK && k->kind != AK_RSA_CRT) {
        err = comp_mp(k, RSA_E, &e);
        if (err == CRYPT_OK)
            err = k->kind == AK_RSA_PRIV ? exptmod_blind_plain(x, e, n, y) : ltc_mp.exptmod(x, e, n, y);
    } else if (err == CRYPT_OK) {
        err = comp_mp(k, CRT_P, &p);
        if (err == CRYPT_OK) err = comp_mp(k, CRT_Q, &q);
        if (err == CRYPT_OK) err = comp_mp(k, CRT_DP, &dp);
        if (err == CRYPT_OK) err = comp_mp(k, CRT_DQ, &dq);
        if (err == CRYPT_OK) err = comp_mp(k, CRT_PQ, &qinv);
        if (err == CRYPT_OK) err = asym_mp_read(&m1, NULL, 0);
        if (err == CRYPT_OK) err = asym_mp_read(&m2, NULL, 0);
        if (err == CRYPT_OK) err = exptmod_blind_prime(x, dp, p, m1);
        if (err == CRYPT_OK) err = exptmod_blind_prime(x, dq, q, m2);
        if (err == CRYPT_OK) err = ltc_mp.submod(m1, m2, p, m1);
        if (err == CRYPT_OK) err = ltc_mp.mulmod(m1, qinv, p, m1);
        if (err == CRYPT_OK) err = ltc_mp.mul(m1, q, m1);
        if (err == CRYPT_OK) err = ltc_mp.add(m1, m2, y);
    }
    if (err == CRYPT_OK)
        err = asym_mp_write(y, out, len);
    void *all[] = { x, y, n, e, p, q, dp, dq, qinv, m1, m2 };
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        mp_free(all[i]);
    return err;
}

/* DigestInfo prefixes (RFC 8017 §9.2, note 1) by digest length. */
static const uint8_t *digest_info(unsigned long dlen, unsigned long *plen)
{
    static const uint8_t sha1[] = { 0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e, 0x03, 0x02, 0x1a, 0x05,
                                    0x00, 0x04, 0x14 };
    static const uint8_t sha2[4][19] = {
        { 0x30, 0x2d, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x04, 0x05, 0x00,
          0x04, 0x1c },
        { 0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00,
          0x04, 0x20 },
        { 0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02, 0x05, 0x00,
          0x04, 0x30 },
        { 0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03, 0x05, 0x00,
          0x04, 0x40 },
    };
    *plen = 19;
    switch (dlen) {
    case 20: *plen = sizeof sha1; return sha1;
    case 28: return sha2[0];
    case 32: return sha2[1];
    case 48: return sha2[2];
    case 64: return sha2[3];
    default: return NULL;
    }
}

/* The encoded message for digest d: EMSA-PKCS1-v1_5 (modlen bytes), or
 * EMSA-PSS left-padded to modlen bytes with a fresh salt. */
static int encode_digest(int pss, int hash_idx, const uint8_t *d, unsigned long dlen, unsigned long modbits,
                         unsigned long modlen, uint8_t *em)
{
    unsigned long emlen = modlen;
    if (pss) {
        int err = pkcs_1_pss_encode(d, dlen, dlen, NULL, asym_prng(), hash_idx, modbits, em, &emlen);
        if (err == CRYPT_OK && emlen < modlen) {
            memmove(em + (modlen - emlen), em, emlen);
            memset(em, 0, modlen - emlen);
        }
        return err;
    }
    unsigned long plen;
    const uint8_t *prefix = digest_info(dlen, &plen);
    if (!prefix)
        return CRYPT_INVALID_ARG;
    uint8_t t[19 + 64];
    memcpy(t, prefix, plen);
    memcpy(t + plen, d, dlen);
    return pkcs_1_v1_5_encode(t, plen + dlen, LTC_PKCS_1_EMSA, modbits, NULL, 0, em, &emlen);
}

int rsa_sign_digest(const asym_key *k, int pss, int hash_idx, const uint8_t *d, unsigned long dlen,
                    uint8_t *sig, unsigned long *siglen)
{
    unsigned long modbits, modlen;
    if (modulus_size(k, &modbits, &modlen) != CRYPT_OK)
        return API_CRYPTO(JC_CRYPTO_UNINITIALIZED_KEY);
    uint8_t em[512];
    int err = encode_digest(pss, hash_idx, d, dlen, modbits, modlen, em);
    if (err == CRYPT_OK)
        err = rsa_apply(k, em, sig, modlen);
    zeromem(em, sizeof em);
    if (err != CRYPT_OK)
        return ASYM_ILLEGAL_VALUE;   /* a key too small for the encoding */
    *siglen = modlen;
    return 0;
}

int rsa_verify_digest(const asym_key *k, int pss, int hash_idx, const uint8_t *d, unsigned long dlen,
                      const uint8_t *sig, unsigned long siglen, int *ok)
{
    unsigned long modbits, modlen;
    *ok = 0;
    if (modulus_size(k, &modbits, &modlen) != CRYPT_OK)
        return API_CRYPTO(JC_CRYPTO_UNINITIALIZED_KEY);
    if (siglen != modlen)
        return 0;
    uint8_t em[512], want[512];
    if (rsa_apply(k, sig, em, modlen) != CRYPT_OK)
        return 0;   /* s >= N: not a signature */
    if (pss) {
        unsigned long emlen = (modbits - 1 + 7) / 8;
        int res = 0;
        if ((modlen == emlen || em[0] == 0) &&
            pkcs_1_pss_decode(d, dlen, em + (modlen - emlen), emlen, dlen, hash_idx, modbits, &res) == CRYPT_OK)
            *ok = res == 1;
        return 0;
    }
    if (encode_digest(0, hash_idx, d, dlen, modbits, modlen, want) == CRYPT_OK)
        *ok = mem_neq(em, want, modlen) == 0;
    return 0;
}

enum { ALG_RSA_PKCS1 = 10, ALG_RSA_NOPAD = 12, ALG_RSA_PKCS1_OAEP = 15 };

int rsa_cipher(const asym_key *k, uint8_t alg, int encrypt, const uint8_t *in, unsigned long inlen,
               uint8_t *out, unsigned long *outlen)
{
    unsigned long modbits, modlen;
    if (modulus_size(k, &modbits, &modlen) != CRYPT_OK)
        return API_CRYPTO(JC_CRYPTO_UNINITIALIZED_KEY);
    int sha1 = hash_index(&sha1_desc);
    uint8_t em[512];
    unsigned long emlen = modlen;
    int err;
    if (encrypt) {
        switch (alg) {
        case ALG_RSA_NOPAD:
            if (inlen != modlen)
                return ASYM_ILLEGAL_USE;
            memcpy(em, in, inlen);
            err = CRYPT_OK;
            break;
        case ALG_RSA_PKCS1:
            if (inlen + 11 > modlen)
                return ASYM_ILLEGAL_USE;
            err = pkcs_1_v1_5_encode(in, inlen, LTC_PKCS_1_EME, modbits, NULL, asym_prng(), em, &emlen);
            break;
        default:
            if (inlen + 2 * 20 + 2 > modlen)
                return ASYM_ILLEGAL_USE;
            err = pkcs_1_oaep_encode(in, inlen, NULL, 0, modbits, NULL, asym_prng(), sha1, em, &emlen);
            break;
        }
        if (err == CRYPT_OK)
            err = rsa_apply(k, em, out, modlen);
        zeromem(em, sizeof em);
        if (err != CRYPT_OK)
            return ASYM_ILLEGAL_USE;   /* NOPAD input not below the modulus */
        *outlen = modlen;
        return 0;
    }
    /* decrypt: exactly one block; the padding must check */
    if (inlen != modlen)
        return ASYM_ILLEGAL_USE;
    if (rsa_apply(k, in, em, modlen) != CRYPT_OK)
        return ASYM_ILLEGAL_USE;
    int res = 1, rc = 0;
    switch (alg) {
    case ALG_RSA_NOPAD:
        memcpy(out, em, modlen);
        *outlen = modlen;
        break;
    case ALG_RSA_PKCS1:
        *outlen = modlen;
        err = pkcs_1_v1_5_decode(em, modlen, LTC_PKCS_1_EME, modbits, out, outlen, &res);
        if (err != CRYPT_OK || res != 1)
            rc = ASYM_ILLEGAL_USE;
        break;
    default:
        *outlen = modlen;
        err = pkcs_1_oaep_decode(em, modlen, NULL, 0, modbits, sha1, out, outlen, &res);
        if (err != CRYPT_OK || res != 1)
            rc = ASYM_ILLEGAL_USE;
        break;
    }
    zeromem(em, sizeof em);
    return rc;
}

/* ---- key generation ---- */

/* The public exponent the public key holds, or 65537. */
static int public_exponent(const asym_key *pub, unsigned long *e)
{
    uint16_t len;
    const uint8_t *p = asym_comp(pub, RSA_E, &len);
    *e = 65537;
    if (!p)
        return 0;
    unsigned long v = 0;
    for (uint16_t i = 0; i < len; i++) {
        if (v >> 23)
            return ASYM_ILLEGAL_VALUE;   /* over 31 bits: not a usable public exponent */
        v = (v << 8) | p[i];
    }
    if (v < 3 || !(v & 1))
        return ASYM_ILLEGAL_VALUE;
    *e = v;
    return 0;
}

/* A prime of `bytes` bytes (top two bits set, so two of them make a
 * modulus of exactly 16 * bytes bits) with gcd(p - 1, e) = 1. */
static int prime_for(void *p, unsigned long bytes, void *e)
{
    void *t = NULL, *g = NULL;
    int err = asym_mp_read(&t, NULL, 0);
    if (err == CRYPT_OK)
        err = asym_mp_read(&g, NULL, 0);
    for (int tries = 0; err == CRYPT_OK; tries++) {
        err = rand_prime(p, (long)bytes, NULL, asym_prng());
        if (err == CRYPT_OK)
            err = ltc_mp.subi(p, 1, t);
        if (err == CRYPT_OK)
            err = ltc_mp.gcd(t, e, g);
        if (err == CRYPT_OK && ltc_mp.compare_d(g, 1) == LTC_MP_EQ)
            break;
        if (tries > 1000)
            err = CRYPT_ERROR;
    }
    mp_free(t);
    mp_free(g);
    return err;
}

int rsa_generate(vm_runtime *rt, const asym_key *pub, const asym_key *priv)
{
    unsigned long e_val;
    API_TRY(public_exponent(pub, &e_val));
    unsigned long bytes = pub->bits / 8;
    if (pub->bits != priv->bits || bytes % 2)
        return ASYM_ILLEGAL_VALUE;
    void *e = NULL, *p = NULL, *q = NULL, *n = NULL, *d = NULL, *t1 = NULL, *t2 = NULL, *l = NULL;
    void *dp = NULL, *dq = NULL, *qinv = NULL;
    int err = asym_mp_read(&e, NULL, 0);
    void **all[] = { &p, &q, &n, &d, &t1, &t2, &l, &dp, &dq, &qinv };
    for (size_t i = 0; i < sizeof all / sizeof all[0] && err == CRYPT_OK; i++)
        err = asym_mp_read(all[i], NULL, 0);
    if (err == CRYPT_OK)
        err = ltc_mp.set_int(e, e_val);
    /* p != q, N = p q of exactly `bits` bits, d = e^-1 mod lcm(p-1, q-1) */
    do {
        if (err == CRYPT_OK)
            err = prime_for(p, bytes / 2, e);
        if (err == CRYPT_OK)
            err = prime_for(q, bytes / 2, e);
    } while (err == CRYPT_OK && ltc_mp.compare(p, q) == LTC_MP_EQ);
    if (err == CRYPT_OK) err = ltc_mp.mul(p, q, n);
    if (err == CRYPT_OK) err = ltc_mp.subi(p, 1, t1);
    if (err == CRYPT_OK) err = ltc_mp.subi(q, 1, t2);
    if (err == CRYPT_OK) err = ltc_mp.lcm(t1, t2, l);
    if (err == CRYPT_OK) err = ltc_mp.invmod(e, l, d);
    if (err == CRYPT_OK) err = ltc_mp.mpdiv(d, t1, NULL, dp);
    if (err == CRYPT_OK) err = ltc_mp.mpdiv(d, t2, NULL, dq);
    if (err == CRYPT_OK) err = ltc_mp.invmod(q, p, qinv);
    int rc = err == CRYPT_OK ? 0 : ASYM_ILLEGAL_VALUE;
    uint8_t buf[512];
    /* the numbers into the components, each at its minimal length */
    struct { const asym_key *k; unsigned c; void *v; } out[7] = {
        { pub, RSA_N, n }, { pub, RSA_E, e }, { priv, RSA_N, n }, { priv, RSA_E, d },
    };
    size_t nout = 4;
    if (priv->kind == AK_RSA_CRT) {
        void *crt[] = { p, q, dp, dq, qinv };
        for (unsigned c = CRT_P; c <= CRT_PQ; c++) {
            out[2 + c].k = priv;
            out[2 + c].c = c;
            out[2 + c].v = crt[c];
        }
        nout = 7;
    }
    for (size_t i = 0; i < nout && !rc; i++) {
        unsigned long len = ltc_mp.unsigned_size(out[i].v);
        if (len == 0 || len > sizeof buf || ltc_mp.unsigned_write(out[i].v, buf) != CRYPT_OK)
            rc = ASYM_ILLEGAL_VALUE;
        else
            rc = asym_comp_set(rt, out[i].k, out[i].c, buf, (uint16_t)len, 1);
    }
    zeromem(buf, sizeof buf);
    mp_free(e);
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        mp_free(*all[i]);
    return rc;
}
