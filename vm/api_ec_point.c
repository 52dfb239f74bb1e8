/*
 * api_ec_point.c — general-A point arithmetic over libtomcrypt's math
 * descriptor (api_ec_point.h).
 */
#define LTM_DESC
#include <string.h>
#include <tomcrypt.h>

#include "api_ec_point.h"

enum { SCRATCH = 10, SCALAR_MAX = 80 };

/* Inside the ladder, field elements are in Montgomery form (x R mod p),
 * multiplied with the library's Montgomery reduction: a division-free
 * product, as libtomcrypt's own point arithmetic does. */
typedef struct ecp_ctx {
    const ecp_field *f;
    void *t[SCRATCH];
    void *mp;       /* the reduction digit (montgomery_setup) */
    void *norm;     /* R mod p */
    void *am;       /* A in Montgomery form */
} ecp_ctx;

static int ctx_open(ecp_ctx *c, const ecp_field *f)
{
    memset(c, 0, sizeof *c);
    c->f = f;
    for (unsigned i = 0; i < SCRATCH; i++)
        if (ltc_mp.init(&c->t[i]) != CRYPT_OK)
            return CRYPT_MEM;
    if (ltc_mp.init(&c->norm) != CRYPT_OK || ltc_mp.init(&c->am) != CRYPT_OK)
        return CRYPT_MEM;
    int err = ltc_mp.montgomery_setup(f->p, &c->mp);
    if (err == CRYPT_OK) err = ltc_mp.montgomery_normalization(c->norm, f->p);
    if (err == CRYPT_OK) err = ltc_mp.mulmod(f->a, c->norm, f->p, c->am);
    return err;
}

static void ctx_close(ecp_ctx *c)
{
    for (unsigned i = 0; i < SCRATCH; i++)
        if (c->t[i])
            ltc_mp.deinit(c->t[i]);
    if (c->mp)
        ltc_mp.montgomery_deinit(c->mp);
    if (c->norm)
        ltc_mp.deinit(c->norm);
    if (c->am)
        ltc_mp.deinit(c->am);
}

/* Field operations on reduced (Montgomery-form) elements. */
static int fmul(ecp_ctx *c, void *a, void *b, void *out)
{
    int err = ltc_mp.mul(a, b, out);
    return err == CRYPT_OK ? ltc_mp.montgomery_reduce(out, c->f->p, c->mp) : err;
}

static int fsqr(ecp_ctx *c, void *a, void *out)
{
    int err = ltc_mp.sqr(a, out);
    return err == CRYPT_OK ? ltc_mp.montgomery_reduce(out, c->f->p, c->mp) : err;
}

static int fadd(ecp_ctx *c, void *a, void *b, void *out)
{
    int err = ltc_mp.add(a, b, out);
    if (err == CRYPT_OK && ltc_mp.compare(out, c->f->p) != LTC_MP_LT)
        err = ltc_mp.sub(out, c->f->p, out);
    return err;
}

static int fsub(ecp_ctx *c, void *a, void *b, void *out)
{
    int err = ltc_mp.sub(a, b, out);
    if (err == CRYPT_OK && ltc_mp.compare_d(out, 0) == LTC_MP_LT)
        err = ltc_mp.add(out, c->f->p, out);
    return err;
}

static int point_new(ecc_point *P)
{
    memset(P, 0, sizeof *P);
    if (ltc_mp.init(&P->x) != CRYPT_OK || ltc_mp.init(&P->y) != CRYPT_OK || ltc_mp.init(&P->z) != CRYPT_OK)
        return CRYPT_MEM;
    return CRYPT_OK;
}

static void point_free(ecc_point *P)
{
    if (P->x) ltc_mp.deinit(P->x);
    if (P->y) ltc_mp.deinit(P->y);
    if (P->z) ltc_mp.deinit(P->z);
    memset(P, 0, sizeof *P);
}

static int point_copy(const ecc_point *from, ecc_point *to)
{
    int err = ltc_mp.copy(from->x, to->x);
    if (err == CRYPT_OK) err = ltc_mp.copy(from->y, to->y);
    if (err == CRYPT_OK) err = ltc_mp.copy(from->z, to->z);
    return err;
}

static int set_infinity(ecc_point *R)
{
    int err = ltc_mp.set_int(R->x, 1);
    if (err == CRYPT_OK) err = ltc_mp.set_int(R->y, 1);
    if (err == CRYPT_OK) err = ltc_mp.set_int(R->z, 0);
    return err;
}

int ecp_is_infinity(const ecc_point *R)
{
    return ltc_mp.compare_d(R->z, 0) == LTC_MP_EQ;
}

/* The chains below stop at the first error: each step runs only while
 * err is CRYPT_OK. */
#define STEP(call) do { if (err == CRYPT_OK) err = (call); } while (0)

/* R = 2P (dbl-1998-cmo-2, any A). R may be P. */
static int jdbl(ecp_ctx *c, const ecc_point *P, ecc_point *R)
{
    if (ecp_is_infinity(P) || ltc_mp.compare_d(P->y, 0) == LTC_MP_EQ)
        return set_infinity(R);
    void **t = c->t;
    int err = CRYPT_OK;
    STEP(fsqr(c, P->x, t[0]));              /* XX */
    STEP(fsqr(c, P->y, t[1]));              /* YY */
    STEP(fsqr(c, P->z, t[2]));              /* ZZ */
    STEP(fmul(c, P->x, t[1], t[3]));
    STEP(fadd(c, t[3], t[3], t[3]));
    STEP(fadd(c, t[3], t[3], t[3]));        /* S = 4 X YY */
    STEP(fsqr(c, t[2], t[2]));
    STEP(fmul(c, t[2], c->am, t[2]));     /* A ZZ^2 */
    STEP(fadd(c, t[0], t[0], t[4]));
    STEP(fadd(c, t[4], t[0], t[4]));
    STEP(fadd(c, t[4], t[2], t[4]));        /* M = 3 XX + A ZZ^2 */
    STEP(fmul(c, P->y, P->z, t[5]));
    STEP(fadd(c, t[5], t[5], t[5]));        /* Z3 = 2 Y Z */
    STEP(fsqr(c, t[4], t[0]));
    STEP(fsub(c, t[0], t[3], t[0]));
    STEP(fsub(c, t[0], t[3], t[0]));        /* X3 = T = M^2 - 2 S */
    STEP(fsub(c, t[3], t[0], t[3]));
    STEP(fmul(c, t[4], t[3], t[3]));        /* M (S - T) */
    STEP(fsqr(c, t[1], t[1]));
    STEP(fadd(c, t[1], t[1], t[1]));
    STEP(fadd(c, t[1], t[1], t[1]));
    STEP(fadd(c, t[1], t[1], t[1]));        /* 8 YY^2 */
    STEP(fsub(c, t[3], t[1], R->y));
    STEP(ltc_mp.copy(t[0], R->x));
    STEP(ltc_mp.copy(t[5], R->z));
    return err;
}

/* R = P + Q (add-1998-cmo-2, with the cases it leaves out: either point
 * at infinity, P = Q, P = -Q). R may be P or Q. */
static int jadd(ecp_ctx *c, const ecc_point *P, const ecc_point *Q, ecc_point *R)
{
    if (ecp_is_infinity(P))
        return R == Q ? CRYPT_OK : point_copy(Q, R);
    if (ecp_is_infinity(Q))
        return R == P ? CRYPT_OK : point_copy(P, R);
    void **t = c->t;
    int err = CRYPT_OK;
    STEP(fsqr(c, P->z, t[0]));              /* Z1Z1 */
    STEP(fsqr(c, Q->z, t[1]));              /* Z2Z2 */
    STEP(fmul(c, P->x, t[1], t[2]));        /* U1 */
    STEP(fmul(c, Q->x, t[0], t[3]));        /* U2 */
    STEP(fmul(c, P->y, Q->z, t[4]));
    STEP(fmul(c, t[4], t[1], t[4]));        /* S1 */
    STEP(fmul(c, Q->y, P->z, t[5]));
    STEP(fmul(c, t[5], t[0], t[5]));        /* S2 */
    STEP(fsub(c, t[3], t[2], t[3]));        /* H */
    STEP(fsub(c, t[5], t[4], t[5]));        /* r */
    if (err != CRYPT_OK)
        return err;
    if (ltc_mp.compare_d(t[3], 0) == LTC_MP_EQ)
        return ltc_mp.compare_d(t[5], 0) == LTC_MP_EQ ? jdbl(c, P, R) : set_infinity(R);
    STEP(fmul(c, P->z, Q->z, t[6]));
    STEP(fmul(c, t[6], t[3], t[6]));        /* Z3 = Z1 Z2 H */
    STEP(fsqr(c, t[3], t[7]));              /* HH */
    STEP(fmul(c, t[3], t[7], t[8]));        /* HHH */
    STEP(fmul(c, t[2], t[7], t[9]));        /* V = U1 HH */
    STEP(fsqr(c, t[5], t[0]));
    STEP(fsub(c, t[0], t[8], t[0]));
    STEP(fsub(c, t[0], t[9], t[0]));
    STEP(fsub(c, t[0], t[9], t[0]));        /* X3 = r^2 - HHH - 2 V */
    STEP(fsub(c, t[9], t[0], t[9]));
    STEP(fmul(c, t[5], t[9], t[9]));        /* r (V - X3) */
    STEP(fmul(c, t[4], t[8], t[8]));        /* S1 HHH */
    STEP(fsub(c, t[9], t[8], R->y));
    STEP(ltc_mp.copy(t[0], R->x));
    STEP(ltc_mp.copy(t[6], R->z));
    return err;
}

/* Jacobian to affine in place (infinity stays z = 0). */
static int to_affine(ecp_ctx *c, ecc_point *R)
{
    if (ecp_is_infinity(R))
        return set_infinity(R);
    void *p = c->f->p, **t = c->t;
    int err = CRYPT_OK;
    STEP(ltc_mp.invmod(R->z, p, t[0]));
    STEP(ltc_mp.sqrmod(t[0], p, t[1]));
    STEP(ltc_mp.mulmod(R->x, t[1], p, R->x));
    STEP(ltc_mp.mulmod(t[1], t[0], p, t[1]));
    STEP(ltc_mp.mulmod(R->y, t[1], p, R->y));
    STEP(ltc_mp.set_int(R->z, 1));
    return err;
}

/* Point P (affine or Jacobian) into / out of Montgomery form. */
static int point_to_mont(ecp_ctx *c, const ecc_point *P, ecc_point *M)
{
    void *p = c->f->p;
    int err = ltc_mp.mulmod(P->x, c->norm, p, M->x);
    STEP(ltc_mp.mulmod(P->y, c->norm, p, M->y));
    STEP(ltc_mp.mulmod(P->z, c->norm, p, M->z));
    return err;
}

static int point_from_mont(ecp_ctx *c, ecc_point *M)
{
    void *p = c->f->p;
    int err = ltc_mp.montgomery_reduce(M->x, p, c->mp);
    STEP(ltc_mp.montgomery_reduce(M->y, p, c->mp));
    STEP(ltc_mp.montgomery_reduce(M->z, p, c->mp));
    return err;
}

/* R = k P: P affine, R Jacobian in Montgomery form (the ladder: R0 = m P,
 * R1 = (m + 1) P for the prefix m of k read so far). */
static int ladder(ecp_ctx *c, void *k, const ecc_point *P, ecc_point *R)
{
    unsigned char kb[SCALAR_MAX];
    unsigned long n = ltc_mp.unsigned_size(k);
    if (n > sizeof kb)
        return CRYPT_INVALID_ARG;
    if (n == 0 || ecp_is_infinity(P))
        return set_infinity(R);
    int err = ltc_mp.unsigned_write(k, kb);
    ecc_point M[2];
    memset(M, 0, sizeof M);
    STEP(point_new(&M[0]));
    STEP(point_new(&M[1]));
    STEP(point_to_mont(c, P, &M[0]));
    STEP(jdbl(c, &M[0], &M[1]));
    /* the first byte's leading zeros and its top one bit are done */
    int top = 7;
    while (top > 0 && !((kb[0] >> top) & 1))
        top--;
    for (unsigned long i = 0; i < n && err == CRYPT_OK; i++) {
        for (int b = i == 0 ? top - 1 : 7; b >= 0 && err == CRYPT_OK; b--) {
            unsigned bit = (kb[i] >> b) & 1u;
            err = jadd(c, &M[0], &M[1], &M[bit ^ 1u]);
            STEP(jdbl(c, &M[bit], &M[bit]));
        }
    }
    STEP(point_copy(&M[0], R));
    point_free(&M[0]);
    point_free(&M[1]);
    zeromem(kb, sizeof kb);
    return err;
}

int ecp_mul(const ecp_field *f, void *k, const ecc_point *P, ecc_point *R)
{
    ecp_ctx c;
    int err = ctx_open(&c, f);
    STEP(ladder(&c, k, P, R));
    STEP(point_from_mont(&c, R));
    STEP(to_affine(&c, R));
    ctx_close(&c);
    return err;
}

/* k1 P1 + k2 P2 on public values: one double-and-add pass over both
 * scalars with P1 + P2 precomputed (Shamir's trick), about half the work
 * of two ladders. */
int ecp_mul2(const ecp_field *f, void *k1, const ecc_point *P1, void *k2, const ecc_point *P2, ecc_point *R)
{
    unsigned char b1[SCALAR_MAX], b2[SCALAR_MAX];
    unsigned long n1 = ltc_mp.unsigned_size(k1), n2 = ltc_mp.unsigned_size(k2), n = n1 > n2 ? n1 : n2;
    if (n > sizeof b1)
        return CRYPT_INVALID_ARG;
    memset(b1, 0, sizeof b1);
    memset(b2, 0, sizeof b2);
    ecp_ctx c;
    ecc_point T[3];   /* P1, P2, P1 + P2, in Montgomery form */
    memset(T, 0, sizeof T);
    int err = ctx_open(&c, f);
    for (unsigned i = 0; i < 3; i++)
        STEP(point_new(&T[i]));
    STEP(ltc_mp.unsigned_write(k1, b1 + (n - n1)));
    STEP(ltc_mp.unsigned_write(k2, b2 + (n - n2)));
    STEP(point_to_mont(&c, P1, &T[0]));
    STEP(point_to_mont(&c, P2, &T[1]));
    STEP(jadd(&c, &T[0], &T[1], &T[2]));
    STEP(set_infinity(R));
    for (unsigned long i = 0; i < n && err == CRYPT_OK; i++) {
        for (int b = 7; b >= 0 && err == CRYPT_OK; b--) {
            unsigned sel = ((b1[i] >> b) & 1u) | ((b2[i] >> b) & 1u) << 1;
            err = jdbl(&c, R, R);
            if (sel)
                STEP(jadd(&c, R, &T[sel - 1], R));
        }
    }
    STEP(point_from_mont(&c, R));
    STEP(to_affine(&c, R));
    for (unsigned i = 0; i < 3; i++)
        point_free(&T[i]);
    ctx_close(&c);
    return err;
}
