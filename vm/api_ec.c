/*
 * api_ec.c — elliptic curves over prime fields for the Java Card API
 * (api_asym.h): the curve of an EC key from its domain parameters, ECDSA
 * (the DER SEQUENCE {r, s} form Signature.ALG_ECDSA_* specifies, the
 * digest cut to the order's bit length as SEC 1 4.1.3 says), ECDH for
 * KeyAgreement, key generation.
 *
 * Curves. Any prime-field curve y^2 = x^3 + A x + B set through the ECKey
 * setters (field, A, B, G, R, K): A and B below p, 4 A^3 + 27 B^2 != 0,
 * G on the curve. Two implementations, by A:
 *   - A = -3 mod p (the NIST P-curves, the SEC "r1" curves, the Brainpool
 *     "t1" twists): libtomcrypt's (ecc_sign_hash, ecc_verify_hash,
 *     ltc_ecc_mulmod, ecc_make_key_ex), whose point doubling is written
 *     for that A only and whose curve descriptor has no A;
 *   - any other A (secp256k1's 0, the Brainpool "r1" curves, ...):
 *     api_ec_point.c's general-A arithmetic over the same math library,
 *     with ECDSA (SEC 1 4.1.3 / 4.1.4), ECDH and key generation written
 *     here on top of it: the nonce and the private key from libtomcrypt's
 *     rand_bn_upto and the system PRNG, DER from der_encode/
 *     decode_sequence_multi, so the two paths give the same encodings.
 * When neither key of a KeyPair has domain parameters, genKeyPair takes
 * the card's curve of that size (libtomcrypt's table: secp112r1,
 * secp128r1, secp160r1, P-192, P-224, P-256, P-384, P-521).
 * Points: the uncompressed form; compressed input is accepted when
 * p = 3 mod 4, where the square root is one exponentiation. Every point
 * received is checked to be on the curve.
 */
#define LTM_DESC
#include <string.h>
#include <tomcrypt.h>

#include "api_asym.h"
#include "api_ec_point.h"

enum { FIELD_MAX = 66 };

typedef struct curve {
    ltc_ecc_set_type dp;        /* A = -3: libtomcrypt's descriptor, hex strings below */
    char prime[2 * FIELD_MAX + 4], b[2 * FIELD_MAX + 4], order[2 * FIELD_MAX + 6];
    char gx[2 * FIELD_MAX + 4], gy[2 * FIELD_MAX + 4];
    void *p, *a, *bn;           /* field prime, A, B as numbers */
    void *r, *gx_n, *gy_n;      /* order, generator */
    ecp_field f;                /* p, a: api_ec_point.c's view */
    unsigned n;                 /* field length in bytes */
    uint16_t cofactor;
    int general;                /* A != -3: api_ec_point.c's arithmetic */
} curve;

static void mp_free(void *n)
{
    if (n)
        ltc_mp.deinit(n);
}

static void curve_free(curve *c)
{
    void **all[] = { &c->p, &c->a, &c->bn, &c->r, &c->gx_n, &c->gy_n };
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        mp_free(*all[i]);
        *all[i] = NULL;
    }
}

/* y^2 = x^3 + A x + B (mod p), x and y below p. */
static int on_curve(const curve *c, void *x, void *y)
{
    void *l = NULL, *r = NULL, *t = NULL;
    int ok = 0;
    if (ltc_mp.compare(x, c->p) != LTC_MP_LT || ltc_mp.compare(y, c->p) != LTC_MP_LT)
        return 0;
    if (asym_mp_read(&l, NULL, 0) == CRYPT_OK && asym_mp_read(&r, NULL, 0) == CRYPT_OK &&
        asym_mp_read(&t, NULL, 0) == CRYPT_OK &&
        ltc_mp.sqrmod(y, c->p, l) == CRYPT_OK &&
        ltc_mp.sqrmod(x, c->p, r) == CRYPT_OK &&
        ltc_mp.addmod(r, c->a, c->p, r) == CRYPT_OK &&      /* x^2 + A */
        ltc_mp.mulmod(r, x, c->p, r) == CRYPT_OK &&         /* x^3 + A x */
        ltc_mp.addmod(r, c->bn, c->p, r) == CRYPT_OK)
        ok = ltc_mp.compare(l, r) == LTC_MP_EQ;
    mp_free(l);
    mp_free(r);
    mp_free(t);
    return ok;
}

/* A point in SEC 1 form into x, y (new numbers), checked on the curve.
 * 0 or CRYPT_INVALID_PACKET. */
static int point_read(const curve *c, const uint8_t *in, unsigned long len, void **x, void **y)
{
    *x = *y = NULL;
    int err = CRYPT_INVALID_PACKET;
    if (len == 1 + 2 * c->n && in[0] == 4) {
        if (asym_mp_read(x, in + 1, c->n) == CRYPT_OK && asym_mp_read(y, in + 1 + c->n, c->n) == CRYPT_OK)
            err = CRYPT_OK;
    } else if (len == 1 + c->n && (in[0] == 2 || in[0] == 3) && ltc_mp.get_digit(c->p, 0) % 4 == 3) {
        /* y = (x^3 + A x + B)^((p + 1) / 4), the root of the parity asked */
        void *rhs = NULL, *e = NULL;
        if (asym_mp_read(x, in + 1, c->n) == CRYPT_OK && asym_mp_read(y, NULL, 0) == CRYPT_OK &&
            asym_mp_read(&rhs, NULL, 0) == CRYPT_OK && asym_mp_read(&e, NULL, 0) == CRYPT_OK &&
            ltc_mp.compare(*x, c->p) == LTC_MP_LT &&
            ltc_mp.sqrmod(*x, c->p, rhs) == CRYPT_OK && ltc_mp.addmod(rhs, c->a, c->p, rhs) == CRYPT_OK &&
            ltc_mp.mulmod(rhs, *x, c->p, rhs) == CRYPT_OK && ltc_mp.addmod(rhs, c->bn, c->p, rhs) == CRYPT_OK &&
            ltc_mp.addi(c->p, 1, e) == CRYPT_OK && ltc_mp.div_2(e, e) == CRYPT_OK && ltc_mp.div_2(e, e) == CRYPT_OK &&
            ltc_mp.exptmod(rhs, e, c->p, *y) == CRYPT_OK) {
            int odd = ltc_mp.get_digit_count(*y) > 0 && (ltc_mp.get_digit(*y, 0) & 1);
            if (odd != (in[0] == 3) && ltc_mp.compare_d(*y, 0) != LTC_MP_EQ)
                err = ltc_mp.sub(c->p, *y, *y);
            else
                err = CRYPT_OK;
        }
        mp_free(rhs);
        mp_free(e);
    }
    if (err == CRYPT_OK && !on_curve(c, *x, *y))
        err = CRYPT_INVALID_PACKET;
    if (err != CRYPT_OK) {
        mp_free(*x);
        mp_free(*y);
        *x = *y = NULL;
    }
    return err;
}

/* 4 A^3 + 27 B^2 != 0 (mod p): the curve is not singular. */
static int nonsingular(const curve *c)
{
    void *u = NULL, *v = NULL;
    int ok = 0;
    if (asym_mp_read(&u, NULL, 0) == CRYPT_OK && asym_mp_read(&v, NULL, 0) == CRYPT_OK &&
        ltc_mp.sqrmod(c->a, c->p, u) == CRYPT_OK && ltc_mp.mulmod(u, c->a, c->p, u) == CRYPT_OK &&
        ltc_mp.muli(u, 4, u) == CRYPT_OK && ltc_mp.sqrmod(c->bn, c->p, v) == CRYPT_OK &&
        ltc_mp.muli(v, 27, v) == CRYPT_OK && ltc_mp.addmod(u, v, c->p, u) == CRYPT_OK)
        ok = ltc_mp.compare_d(u, 0) != LTC_MP_EQ;
    mp_free(u);
    mp_free(v);
    return ok;
}

/* The curve of key k (its domain parameters, all set). 0 or a
 * CryptoException. */
static int curve_load(const asym_key *k, curve *c)
{
    memset(c, 0, sizeof *c);
    asym_math_setup();
    uint16_t lf, la, lb, lg, lr, lk;
    const uint8_t *f = asym_comp(k, EC_FIELD, &lf), *a = asym_comp(k, EC_A, &la), *b = asym_comp(k, EC_B, &lb);
    const uint8_t *g = asym_comp(k, EC_G, &lg), *r = asym_comp(k, EC_R, &lr), *kk = asym_comp(k, EC_K, &lk);
    if (!f || !a || !b || !g || !r)
        return API_CRYPTO(JC_CRYPTO_UNINITIALIZED_KEY);
    c->n = (unsigned)((k->bits + 7) / 8);
    c->cofactor = kk ? (uint16_t)((kk[0] << 8) | kk[1]) : 1;
    void *t = NULL;
    int rc = ASYM_ILLEGAL_VALUE;
    if (asym_mp_read(&c->p, f, lf) != CRYPT_OK || asym_mp_read(&c->a, a, la) != CRYPT_OK ||
        asym_mp_read(&c->bn, b, lb) != CRYPT_OK || asym_mp_read(&t, NULL, 0) != CRYPT_OK ||
        asym_mp_read(&c->r, r, lr) != CRYPT_OK)
        goto out;
    /* the field prime's length the key's; A, B below p; an order above 1 */
    if ((unsigned)ltc_mp.count_bits(c->p) > k->bits || ltc_mp.compare_d(c->p, 3) != LTC_MP_GT ||
        ltc_mp.compare(c->a, c->p) != LTC_MP_LT || ltc_mp.compare(c->bn, c->p) != LTC_MP_LT ||
        ltc_mp.compare_d(c->r, 1) != LTC_MP_GT || !nonsingular(c))
        goto out;
    if (ltc_mp.addi(c->a, 3, t) != CRYPT_OK)
        goto out;
    c->general = ltc_mp.compare(t, c->p) != LTC_MP_EQ;
    c->f.p = c->p;
    c->f.a = c->a;
    if (point_read(c, g, lg, &c->gx_n, &c->gy_n) != CRYPT_OK)
        goto out;
    if (!c->general &&
        (ltc_mp.write_radix(c->p, c->prime, 16) != CRYPT_OK || ltc_mp.write_radix(c->bn, c->b, 16) != CRYPT_OK ||
         ltc_mp.write_radix(c->r, c->order, 16) != CRYPT_OK || ltc_mp.write_radix(c->gx_n, c->gx, 16) != CRYPT_OK ||
         ltc_mp.write_radix(c->gy_n, c->gy, 16) != CRYPT_OK))
        goto out;
    c->dp.size = (int)c->n;
    c->dp.name = "cardvm";
    c->dp.prime = c->prime;
    c->dp.B = c->b;
    c->dp.order = c->order;
    c->dp.Gx = c->gx;
    c->dp.Gy = c->gy;
    rc = 0;
out:
    mp_free(t);
    if (rc)
        curve_free(c);
    return rc;
}

/* ---- the general-A operations (api_ec_point.c underneath) ---- */

/* A new affine point (x, y) (copies), or the generator when x is NULL. */
static int gen_point(const curve *c, void *x, void *y, ecc_point *P)
{
    memset(P, 0, sizeof *P);
    int err = asym_mp_read(&P->x, NULL, 0);
    if (err == CRYPT_OK) err = asym_mp_read(&P->y, NULL, 0);
    if (err == CRYPT_OK) err = asym_mp_read(&P->z, NULL, 0);
    if (err == CRYPT_OK) err = ltc_mp.copy(x ? x : c->gx_n, P->x);
    if (err == CRYPT_OK) err = ltc_mp.copy(y ? y : c->gy_n, P->y);
    if (err == CRYPT_OK) err = ltc_mp.set_int(P->z, 1);
    return err;
}

static void point_clear(ecc_point *P)
{
    mp_free(P->x);
    mp_free(P->y);
    mp_free(P->z);
    memset(P, 0, sizeof *P);
}

/* The digest as a number: its leftmost bits, as many as the order has
 * (SEC 1 4.1.3 step 5; what libtomcrypt's ecc_sign_hash does). */
static int digest_number(const curve *c, const uint8_t *d, unsigned long dlen, void *e)
{
    unsigned char buf[64];
    unsigned long bits = (unsigned long)ltc_mp.count_bits(c->r), bytes = (bits + 7) / 8;
    if (dlen > sizeof buf)
        return CRYPT_INVALID_ARG;
    memcpy(buf, d, dlen);
    if (bits >= dlen * 8)
        return ltc_mp.unsigned_read(e, buf, dlen);
    int err = ltc_mp.unsigned_read(e, buf, bytes);
    for (unsigned long i = bits % 8 ? 8 - bits % 8 : 0; i > 0 && err == CRYPT_OK; i--)
        err = ltc_mp.div_2(e, e);
    return err;
}

/* A secret scalar in [1, order - 1] from the system PRNG (64 bits more
 * than the order reduced mod the order, FIPS 186-4 B.4.1's way). */
static int random_scalar(const curve *c, void *k)
{
    return asym_random_below(c->r, k);
}

static int general_sign(const curve *c, void *priv, const uint8_t *d, unsigned long dlen, uint8_t *sig,
                        unsigned long *siglen)
{
    void *k = NULL, *e = NULL, *r = NULL, *s = NULL;
    ecc_point G, R;
    memset(&R, 0, sizeof R);
    int err = gen_point(c, NULL, NULL, &G);
    if (err == CRYPT_OK) err = gen_point(c, NULL, NULL, &R);
    if (err == CRYPT_OK) err = asym_mp_read(&k, NULL, 0);
    if (err == CRYPT_OK) err = asym_mp_read(&e, NULL, 0);
    if (err == CRYPT_OK) err = asym_mp_read(&r, NULL, 0);
    if (err == CRYPT_OK) err = asym_mp_read(&s, NULL, 0);
    if (err == CRYPT_OK) err = digest_number(c, d, dlen, e);
    if (err == CRYPT_OK && (ltc_mp.compare_d(priv, 0) != LTC_MP_GT || ltc_mp.compare(priv, c->r) != LTC_MP_LT))
        err = CRYPT_INVALID_ARG;
    /* a nonce giving r = 0 or s = 0 is drawn again (SEC 1 4.1.3) */
    int done = 0;
    for (unsigned tries = 0; err == CRYPT_OK && !done && tries < 16; tries++) {
        err = random_scalar(c, k);
        if (err == CRYPT_OK) err = ecp_mul(&c->f, k, &G, &R);
        if (err != CRYPT_OK || ecp_is_infinity(&R))
            continue;
        err = ltc_mp.mpdiv(R.x, c->r, NULL, r);
        if (err != CRYPT_OK || ltc_mp.compare_d(r, 0) == LTC_MP_EQ)
            continue;
        err = ltc_mp.mulmod(r, priv, c->r, s);
        if (err == CRYPT_OK) err = ltc_mp.addmod(s, e, c->r, s);
        if (err == CRYPT_OK) err = ltc_mp.invmod(k, c->r, k);
        if (err == CRYPT_OK) err = ltc_mp.mulmod(s, k, c->r, s);
        done = err == CRYPT_OK && ltc_mp.compare_d(s, 0) != LTC_MP_EQ;
    }
    if (err == CRYPT_OK && !done)
        err = CRYPT_ERROR;
    if (err == CRYPT_OK)
        err = der_encode_sequence_multi(sig, siglen, LTC_ASN1_INTEGER, 1UL, r, LTC_ASN1_INTEGER, 1UL, s,
                                        LTC_ASN1_EOL, 0UL, NULL);
    point_clear(&G);
    point_clear(&R);
    mp_free(k);
    mp_free(e);
    mp_free(r);
    mp_free(s);
    return err;
}

static int general_verify(const curve *c, void *qx, void *qy, const uint8_t *d, unsigned long dlen,
                          const uint8_t *sig, unsigned long siglen, int *ok)
{
    void *e = NULL, *r = NULL, *s = NULL, *w = NULL;
    ecc_point G, Q, R;
    memset(&Q, 0, sizeof Q);
    memset(&R, 0, sizeof R);
    *ok = 0;
    int err = gen_point(c, NULL, NULL, &G);
    if (err == CRYPT_OK) err = gen_point(c, qx, qy, &Q);
    if (err == CRYPT_OK) err = gen_point(c, NULL, NULL, &R);
    if (err == CRYPT_OK) err = asym_mp_read(&e, NULL, 0);
    if (err == CRYPT_OK) err = asym_mp_read(&r, NULL, 0);
    if (err == CRYPT_OK) err = asym_mp_read(&s, NULL, 0);
    if (err == CRYPT_OK) err = asym_mp_read(&w, NULL, 0);
    if (err == CRYPT_OK &&
        der_decode_sequence_multi(sig, siglen, LTC_ASN1_INTEGER, 1UL, r, LTC_ASN1_INTEGER, 1UL, s,
                                  LTC_ASN1_EOL, 0UL, NULL) == CRYPT_OK &&
        ltc_mp.compare_d(r, 0) == LTC_MP_GT && ltc_mp.compare(r, c->r) == LTC_MP_LT &&
        ltc_mp.compare_d(s, 0) == LTC_MP_GT && ltc_mp.compare(s, c->r) == LTC_MP_LT) {
        /* SEC 1 4.1.4: R = (e / s) G + (r / s) Q, valid when R.x = r mod n */
        err = digest_number(c, d, dlen, e);
        if (err == CRYPT_OK) err = ltc_mp.invmod(s, c->r, w);
        if (err == CRYPT_OK) err = ltc_mp.mulmod(e, w, c->r, e);
        if (err == CRYPT_OK) err = ltc_mp.mulmod(r, w, c->r, w);
        if (err == CRYPT_OK) err = ecp_mul2(&c->f, e, &G, w, &Q, &R);
        if (err == CRYPT_OK && !ecp_is_infinity(&R)) {
            err = ltc_mp.mpdiv(R.x, c->r, NULL, s);
            *ok = err == CRYPT_OK && ltc_mp.compare(s, r) == LTC_MP_EQ;
        }
    }
    point_clear(&G);
    point_clear(&Q);
    point_clear(&R);
    mp_free(e);
    mp_free(r);
    mp_free(s);
    mp_free(w);
    return err;
}

int ec_sign_digest(const asym_key *k, const uint8_t *d, unsigned long dlen, uint8_t *sig, unsigned long *siglen)
{
    curve c;
    API_TRY(curve_load(k, &c));
    uint16_t ls;
    const uint8_t *s = asym_comp(k, EC_KEY, &ls);
    ecc_key key;
    memset(&key, 0, sizeof key);
    key.type = PK_PRIVATE;
    key.idx = -1;
    key.dp = &c.dp;
    int rc = API_CRYPTO(JC_CRYPTO_UNINITIALIZED_KEY);
    if (s && asym_mp_read(&key.k, s, ls) == CRYPT_OK) {
        int err = c.general ? general_sign(&c, key.k, d, dlen, sig, siglen)
                            : ecc_sign_hash(d, dlen, sig, siglen, NULL, asym_prng(), &key);
        rc = err == CRYPT_OK ? 0 : ASYM_ILLEGAL_VALUE;
        mp_free(key.k);
    }
    curve_free(&c);
    return rc;
}

int ec_verify_digest(const asym_key *k, const uint8_t *d, unsigned long dlen, const uint8_t *sig,
                     unsigned long siglen, int *ok)
{
    *ok = 0;
    curve c;
    API_TRY(curve_load(k, &c));
    uint16_t lw;
    const uint8_t *w = asym_comp(k, EC_KEY, &lw);
    ecc_key key;
    memset(&key, 0, sizeof key);
    key.type = PK_PUBLIC;
    key.idx = -1;
    key.dp = &c.dp;
    int rc = 0;
    if (!w || point_read(&c, w, lw, &key.pubkey.x, &key.pubkey.y) != CRYPT_OK) {
        rc = w ? ASYM_ILLEGAL_VALUE : API_CRYPTO(JC_CRYPTO_UNINITIALIZED_KEY);
    } else if (c.general) {
        general_verify(&c, key.pubkey.x, key.pubkey.y, d, dlen, sig, siglen, ok);
    } else if (asym_mp_read(&key.pubkey.z, NULL, 0) == CRYPT_OK && ltc_mp.set_int(key.pubkey.z, 1) == CRYPT_OK) {
        int stat = 0;
        if (ecc_verify_hash(sig, siglen, d, dlen, &stat, &key) == CRYPT_OK)
            *ok = stat == 1;
    }
    mp_free(key.pubkey.x);
    mp_free(key.pubkey.y);
    mp_free(key.pubkey.z);
    curve_free(&c);
    return rc;
}

uint16_t ec_sig_max(const asym_key *k)
{
    uint16_t lr;
    const uint8_t *r = asym_comp(k, EC_R, &lr);
    while (r && lr > 1 && *r == 0) {
        r++;
        lr--;
    }
    /* SEQUENCE { INTEGER r, INTEGER s }, each up to the order's length
     * plus a sign byte */
    unsigned body = 2u * (2u + lr + 1u);
    return (uint16_t)(body + (body > 127 ? 3 : 2));
}

int ec_dh(const asym_key *priv, int cofactor, const uint8_t *pub, unsigned long len, uint8_t *x, uint8_t *y,
          unsigned long *xlen)
{
    curve c;
    API_TRY(curve_load(priv, &c));
    uint16_t ls;
    const uint8_t *s = asym_comp(priv, EC_KEY, &ls);
    ecc_point in, res;
    void *k = NULL, *px = NULL, *py = NULL;
    memset(&in, 0, sizeof in);
    memset(&res, 0, sizeof res);
    int rc = ASYM_ILLEGAL_VALUE;
    if (!s) {
        rc = API_CRYPTO(JC_CRYPTO_UNINITIALIZED_KEY);
    } else if (asym_mp_read(&k, s, ls) == CRYPT_OK && point_read(&c, pub, len, &px, &py) == CRYPT_OK &&
               gen_point(&c, px, py, &in) == CRYPT_OK && gen_point(&c, NULL, NULL, &res) == CRYPT_OK) {
        int err = CRYPT_OK;
        if (cofactor && c.cofactor > 1)
            err = ltc_mp.muli(k, c.cofactor, k);
        if (err == CRYPT_OK && ltc_mp.compare_d(k, 0) == LTC_MP_EQ)
            err = CRYPT_INVALID_ARG;
        if (err == CRYPT_OK)
            err = c.general ? ecp_mul(&c.f, k, &in, &res) : ltc_ecc_mulmod(k, &in, &res, c.p, 1);
        /* libtomcrypt gives the point at infinity as (0, 0) */
        int infinity = c.general ? ecp_is_infinity(&res)
                     : ltc_mp.compare_d(res.x, 0) == LTC_MP_EQ && ltc_mp.compare_d(res.y, 0) == LTC_MP_EQ;
        if (err == CRYPT_OK && !infinity && asym_mp_write(res.x, x, c.n) == CRYPT_OK &&
            (!y || asym_mp_write(res.y, y, c.n) == CRYPT_OK)) {
            *xlen = c.n;
            rc = 0;
        }
    }
    mp_free(k);
    mp_free(px);
    mp_free(py);
    point_clear(&in);
    point_clear(&res);
    curve_free(&c);
    return rc;
}

/* ---- key generation ---- */

static int has_domain(const asym_key *k)
{
    uint16_t n;
    for (unsigned c = EC_FIELD; c <= EC_R; c++)
        if (!asym_comp(k, c, &n))
            return 0;
    return 1;
}

static int copy_domain(vm_runtime *rt, const asym_key *from, const asym_key *to)
{
    if (from->bits != to->bits)
        return ASYM_ILLEGAL_VALUE;
    for (unsigned c = EC_FIELD; c <= EC_K; c++) {
        uint16_t n;
        const uint8_t *p = asym_comp(from, c, &n);
        if (p) {
            uint8_t buf[1 + 2 * FIELD_MAX];
            memcpy(buf, p, n);
            API_TRY(asym_comp_set(rt, to, c, buf, n, 1));
        }
    }
    return 0;
}

/* The card's curve of `bits` (libtomcrypt's table) into key k. */
static int set_default_domain(vm_runtime *rt, const asym_key *k)
{
    int rc = ASYM_ILLEGAL_VALUE;
    for (const ltc_ecc_set_type *s = ltc_ecc_sets; s->size != 0 && rc; s++) {
        void *p = NULL, *v = NULL;
        if (asym_mp_read(&p, NULL, 0) != CRYPT_OK || asym_mp_read(&v, NULL, 0) != CRYPT_OK ||
            ltc_mp.read_radix(p, s->prime, 16) != CRYPT_OK || (unsigned)ltc_mp.count_bits(p) != k->bits) {
            mp_free(p);
            mp_free(v);
            continue;
        }
        unsigned n = (unsigned)((k->bits + 7) / 8);
        uint8_t buf[1 + 2 * FIELD_MAX + 1];
        rc = 0;
        const char *ints[] = { s->prime, NULL, s->B, s->order };
        for (unsigned c = EC_FIELD; c <= EC_R && !rc; c++) {
            if (c == EC_G) {
                buf[0] = 4;
                if (ltc_mp.read_radix(v, s->Gx, 16) != CRYPT_OK || asym_mp_write(v, buf + 1, n) != CRYPT_OK ||
                    ltc_mp.read_radix(v, s->Gy, 16) != CRYPT_OK || asym_mp_write(v, buf + 1 + n, n) != CRYPT_OK)
                    rc = ASYM_ILLEGAL_VALUE;
                else
                    rc = asym_comp_set(rt, k, c, buf, (uint16_t)(1 + 2 * n), 1);
                continue;
            }
            int err = c == EC_A ? ltc_mp.subi(p, 3, v) : ltc_mp.read_radix(v, ints[c == EC_R ? 3 : c], 16);
            unsigned long len = ltc_mp.unsigned_size(v);
            if (err != CRYPT_OK || len > sizeof buf || ltc_mp.unsigned_write(v, buf) != CRYPT_OK)
                rc = ASYM_ILLEGAL_VALUE;
            else
                rc = asym_comp_set(rt, k, c, buf, (uint16_t)len, 1);
        }
        uint8_t one[2] = { 0, 1 };
        if (!rc)
            rc = asym_comp_set(rt, k, EC_K, one, 2, 1);
        mp_free(p);
        mp_free(v);
    }
    return rc;
}

int ec_generate(vm_runtime *rt, const asym_key *pub, const asym_key *priv)
{
    asym_math_setup();
    if (pub->bits != priv->bits)
        return ASYM_ILLEGAL_VALUE;
    if (has_domain(priv))
        API_TRY(copy_domain(rt, priv, pub));
    else if (has_domain(pub))
        API_TRY(copy_domain(rt, pub, priv));
    else {
        API_TRY(set_default_domain(rt, priv));
        API_TRY(copy_domain(rt, priv, pub));
    }
    curve c;
    API_TRY(curve_load(priv, &c));
    ecc_key key;
    memset(&key, 0, sizeof key);
    int rc = ASYM_ILLEGAL_VALUE, err;
    if (c.general) {
        /* SEC 1 3.2.1: d in [1, n - 1], Q = d G */
        ecc_point G;
        err = gen_point(&c, NULL, NULL, &G);
        if (err == CRYPT_OK) err = gen_point(&c, NULL, NULL, &key.pubkey);
        if (err == CRYPT_OK) err = asym_mp_read(&key.k, NULL, 0);
        if (err == CRYPT_OK) err = random_scalar(&c, key.k);
        if (err == CRYPT_OK) err = ecp_mul(&c.f, key.k, &G, &key.pubkey);
        if (err == CRYPT_OK && ecp_is_infinity(&key.pubkey))
            err = CRYPT_ERROR;
        point_clear(&G);
    } else {
        err = ecc_make_key_ex(NULL, asym_prng(), &key, &c.dp);
    }
    if (err == CRYPT_OK) {
        uint8_t s[FIELD_MAX + 1], w[1 + 2 * FIELD_MAX];
        uint16_t lr;
        asym_comp(priv, EC_R, &lr);
        unsigned long rlen = ltc_mp.unsigned_size(key.k) > lr ? ltc_mp.unsigned_size(key.k) : lr;
        w[0] = 4;
        if (rlen <= sizeof s && asym_mp_write(key.k, s, rlen) == CRYPT_OK &&
            asym_mp_write(key.pubkey.x, w + 1, c.n) == CRYPT_OK &&
            asym_mp_write(key.pubkey.y, w + 1 + c.n, c.n) == CRYPT_OK) {
            rc = asym_comp_set(rt, priv, EC_KEY, s, (uint16_t)rlen, 1);
            if (!rc)
                rc = asym_comp_set(rt, pub, EC_KEY, w, (uint16_t)(1 + 2 * c.n), 1);
        }
        zeromem(s, sizeof s);
    }
    if (c.general) {
        mp_free(key.k);
        point_clear(&key.pubkey);
    } else if (err == CRYPT_OK) {
        ecc_free(&key);
    }
    curve_free(&c);
    return rc;
}
