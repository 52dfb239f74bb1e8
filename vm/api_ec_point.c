/*
 * api_ec_point.c — general-A point arithmetic over libtomcrypt's math
 * descriptor (api_ec_point.h).
 */
#define LTM_DESC
#include <string.h>
#include <tomcrypt.h>

#include "api_ec_point.h"

enum { SCRATCH = 10, SCALAR_MAX = 80 };

typedef struct ecp_ctx {
    const ecp_field *f;
    void *t[SCRATCH];
} ecp_ctx;

static int ctx_open(ecp_ctx *c, const ecp_field *f)
{
    memset(c, 0, sizeof *c);
    c->f = f;
    for (unsigned i = 0; i < SCRATCH; i++)
        if (ltc_mp.init(&c->t[i]) != CRYPT_OK)
            return CRYPT_MEM;
    return CRYPT_OK;
}

static void ctx_close(ecp_ctx *c)
{
    for (unsigned i = 0; i < SCRATCH; i++)
        if (c->t[i])
            ltc_mp.deinit(c->t[i]);
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
    void *p = c->f->p, **t = c->t;
    int err = CRYPT_OK;
    STEP(ltc_mp.sqrmod(P->x, p, t[0]));              /* XX */
    STEP(ltc_mp.sqrmod(P->y, p, t[1]));              /* YY */
    STEP(ltc_mp.sqrmod(P->z, p, t[2]));              /* ZZ */
    STEP(ltc_mp.mulmod(P->x, t[1], p, t[3]));
    STEP(ltc_mp.addmod(t[3], t[3], p, t[3]));
    STEP(ltc_mp.addmod(t[3], t[3], p, t[3]));        /* S = 4 X YY */
    STEP(ltc_mp.sqrmod(t[2], p, t[2]));
    STEP(ltc_mp.mulmod(t[2], c->f->a, p, t[2]));     /* A ZZ^2 */
    STEP(ltc_mp.addmod(t[0], t[0], p, t[4]));
    STEP(ltc_mp.addmod(t[4], t[0], p, t[4]));
    STEP(ltc_mp.addmod(t[4], t[2], p, t[4]));        /* M = 3 XX + A ZZ^2 */
    STEP(ltc_mp.mulmod(P->y, P->z, p, t[5]));
    STEP(ltc_mp.addmod(t[5], t[5], p, t[5]));        /* Z3 = 2 Y Z */
    STEP(ltc_mp.sqrmod(t[4], p, t[0]));
    STEP(ltc_mp.submod(t[0], t[3], p, t[0]));
    STEP(ltc_mp.submod(t[0], t[3], p, t[0]));        /* X3 = T = M^2 - 2 S */
    STEP(ltc_mp.submod(t[3], t[0], p, t[3]));
    STEP(ltc_mp.mulmod(t[4], t[3], p, t[3]));        /* M (S - T) */
    STEP(ltc_mp.sqrmod(t[1], p, t[1]));
    STEP(ltc_mp.addmod(t[1], t[1], p, t[1]));
    STEP(ltc_mp.addmod(t[1], t[1], p, t[1]));
    STEP(ltc_mp.addmod(t[1], t[1], p, t[1]));        /* 8 YY^2 */
    STEP(ltc_mp.submod(t[3], t[1], p, R->y));
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
    void *p = c->f->p, **t = c->t;
    int err = CRYPT_OK;
    STEP(ltc_mp.sqrmod(P->z, p, t[0]));              /* Z1Z1 */
    STEP(ltc_mp.sqrmod(Q->z, p, t[1]));              /* Z2Z2 */
    STEP(ltc_mp.mulmod(P->x, t[1], p, t[2]));        /* U1 */
    STEP(ltc_mp.mulmod(Q->x, t[0], p, t[3]));        /* U2 */
    STEP(ltc_mp.mulmod(P->y, Q->z, p, t[4]));
    STEP(ltc_mp.mulmod(t[4], t[1], p, t[4]));        /* S1 */
    STEP(ltc_mp.mulmod(Q->y, P->z, p, t[5]));
    STEP(ltc_mp.mulmod(t[5], t[0], p, t[5]));        /* S2 */
    STEP(ltc_mp.submod(t[3], t[2], p, t[3]));        /* H */
    STEP(ltc_mp.submod(t[5], t[4], p, t[5]));        /* r */
    if (err != CRYPT_OK)
        return err;
    if (ltc_mp.compare_d(t[3], 0) == LTC_MP_EQ)
        return ltc_mp.compare_d(t[5], 0) == LTC_MP_EQ ? jdbl(c, P, R) : set_infinity(R);
    STEP(ltc_mp.mulmod(P->z, Q->z, p, t[6]));
    STEP(ltc_mp.mulmod(t[6], t[3], p, t[6]));        /* Z3 = Z1 Z2 H */
    STEP(ltc_mp.sqrmod(t[3], p, t[7]));              /* HH */
    STEP(ltc_mp.mulmod(t[3], t[7], p, t[8]));        /* HHH */
    STEP(ltc_mp.mulmod(t[2], t[7], p, t[9]));        /* V = U1 HH */
    STEP(ltc_mp.sqrmod(t[5], p, t[0]));
    STEP(ltc_mp.submod(t[0], t[8], p, t[0]));
    STEP(ltc_mp.submod(t[0], t[9], p, t[0]));
    STEP(ltc_mp.submod(t[0], t[9], p, t[0]));        /* X3 = r^2 - HHH - 2 V */
    STEP(ltc_mp.submod(t[9], t[0], p, t[9]));
    STEP(ltc_mp.mulmod(t[5], t[9], p, t[9]));        /* r (V - X3) */
    STEP(ltc_mp.mulmod(t[4], t[8], p, t[8]));        /* S1 HHH */
    STEP(ltc_mp.submod(t[9], t[8], p, R->y));
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

/* R = k P, Jacobian (the ladder: R0 = m P, R1 = (m + 1) P for the prefix
 * m of k read so far). */
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
    STEP(point_copy(P, &M[0]));
    STEP(jdbl(c, P, &M[1]));
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
    STEP(to_affine(&c, R));
    ctx_close(&c);
    return err;
}

int ecp_mul2(const ecp_field *f, void *k1, const ecc_point *P1, void *k2, const ecc_point *P2, ecc_point *R)
{
    ecp_ctx c;
    ecc_point T;
    memset(&T, 0, sizeof T);
    int err = ctx_open(&c, f);
    STEP(point_new(&T));
    STEP(ladder(&c, k1, P1, &T));
    STEP(ladder(&c, k2, P2, R));
    STEP(jadd(&c, &T, R, R));
    STEP(to_affine(&c, R));
    point_free(&T);
    ctx_close(&c);
    return err;
}
