/*
 * xdiv.h — JCVM `sdiv`/`srem` by a divisor known at translation, as a
 * multiply by a precomputed reciprocal (what C compilers do for `x / 7`:
 * Granlund–Montgomery, Hacker's Delight ch. 10). cap_xlat.c computes the
 * multiplier when a division's divisor is a pending constant; cap_run.c's
 * DIVC ops evaluate it; test/vm/test_vm_xdiv.c checks it against C's
 * truncating division for every 16-bit dividend.
 *
 * The semantics are the JCVM's (short operands, quotient truncated toward
 * zero, remainder with the dividend's sign, (-32768) / (-1) = -32768 after
 * truncation to 16 bits). Why it is exact: for |d| >= 2 let
 * M = floor(2^31 / |d|) + 1, so M·|d| = 2^31 + e with 0 < e <= |d|, and
 * m = M with the sign of d. For a dividend n (|n| <= 2^15),
 * n·m / 2^31 = n/d + t where t has the sign of n·m and
 * |t| = |n|·e / (|d|·2^31) < 1/|d| (|n|·e <= 2^15·2^15 < 2^31). A
 * fraction n/d is an integer or at least 1/|d| from the next integer
 * toward zero, so floor(n·m / 2^31) is the truncated quotient when
 * n·m >= 0, and one less than it when n·m < 0 (t never makes it exact:
 * t != 0 for n != 0). Hence q = floor(n·m / 2^31) + (n·m < 0). |m| <=
 * 2^30 + 1 fits an int32_t; n·m fits 47 bits.
 *
 * Divisors 0 (ArithmeticException at the op), 1 and -1 stay with the
 * plain division op: vm_xdiv_magic answers 0 for them.
 */
#ifndef CARDVM_XDIV_H
#define CARDVM_XDIV_H

#include <stdint.h>

/* The signed multiplier for divisor d, or 0 when d is 0, 1 or -1. */
static inline int32_t vm_xdiv_magic(int16_t d)
{
    uint32_t ad = d < 0 ? (uint32_t)(-(int32_t)d) : (uint32_t)d;
    if (ad < 2)
        return 0;
    int32_t m = (int32_t)((UINT32_C(1) << 31) / ad + 1);
    return d < 0 ? -m : m;
}

/* The truncated quotient n / d for m = vm_xdiv_magic(d) != 0 (-32768 / -1
 * never reaches here: -1 keeps the plain op). The shift of a negative
 * product is arithmetic on every compiler cardvm builds with (as sshr's). */
static inline int32_t vm_xdiv_q(int32_t n, int32_t m)
{
    int64_t p = (int64_t)n * m;
    return (int32_t)(p >> 31) + (int32_t)((uint64_t)p >> 63);
}

#endif
