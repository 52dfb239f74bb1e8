/*
 * api_ec_point.h — point arithmetic on any short Weierstrass curve
 * y^2 = x^3 + A x + B over a prime field, for the curves libtomcrypt 1.18
 * cannot do: its point doubling (ltc_mp.ecc_ptdbl) is written for
 * A = -3 only, and its curve descriptor has no A. api_ec.c uses these for
 * keys whose A is anything else (secp256k1's 0, the Brainpool "r1"
 * curves, ...); the A = -3 curves stay on libtomcrypt's own code.
 *
 * Numbers are libtomcrypt math-descriptor numbers (ltc_mp, libtommath on
 * this card); points are libtomcrypt's ecc_point (x, y, z). Inside, points
 * are Jacobian (x = X/Z^2, y = Y/Z^3) and the formulas are the general-A
 * ones of Cohen, Miyaji and Ono (1998) as the Explicit-Formulas Database
 * lists them for short Weierstrass Jacobian coordinates (dbl-1998-cmo-2,
 * add-1998-cmo-2). Results come back affine (z = 1), or z = 0 for the
 * point at infinity.
 *
 * Scalar multiplication is a Montgomery ladder over the scalar's bits: the
 * same add-and-double for a 0 bit as for a 1, as libtomcrypt's
 * LTC_ECC_TIMING_RESISTANT multiplication does (the scalar's bit length
 * shows, as there). Every function returns CRYPT_OK or a libtomcrypt
 * error; numbers and points are the caller's, scratch is freed (and so
 * zeroed by libtommath) before return.
 */
#ifndef CARDVM_VM_API_EC_POINT_H
#define CARDVM_VM_API_EC_POINT_H

#include <tomcrypt.h>

/* The field: prime p and coefficient A (0 <= A < p). */
typedef struct ecp_field {
    void *p, *a;
} ecp_field;

/* R = k * P (P affine, z = 1; R may be P). */
int ecp_mul(const ecp_field *f, void *k, const ecc_point *P, ecc_point *R);

/* R = k1 * P1 + k2 * P2 (P1, P2 affine; public values only, as in
 * verification: its time depends on the scalars' bits). */
int ecp_mul2(const ecp_field *f, void *k1, const ecc_point *P1, void *k2, const ecc_point *P2, ecc_point *R);

/* 1 when R (as ecp_mul returns it) is the point at infinity. */
int ecp_is_infinity(const ecc_point *R);

#endif
