#!/usr/bin/env python3
"""The shapes the CAP translation treats specially (vm/cap_xlat.c), in a
hand-written JCA applet (xlat.jca: a local changed while a pending copy of
it sits under a value on the stack, a result stored over a pending local,
dup of a pending local, exceptions inside folded ops caught by their
handlers, branches on constants, stores from locals/constants/the stack,
a sinc+goto loop, index sums folded into element ops and computed
elsewhere, dup2 of a pending array and index, loop regions: an array
checked once per entry, re-checked after each entry, exceptions at the
right iteration; loop-invariant code motion: nested loops, bounds
re-computed at every entry, locals written in the loop, a division and an
out-of-bounds access in such a loop, a head entered by a jump; an element
load fused with the compare that consumes it, every operand form, its
exceptions caught by a handler whose range holds the load alone; loop
idioms; calls whose last arguments are pending, `return a op b` with
exceptions at the binop; field reads of this, arraylength of a field's
array, null at the right place). Expected
answers are worked out from the JCVM semantics in xlat.jca's header (the
hoisting cases by a Python model of each loop), not taken from the card.
usage: test_jca_xlat.py CARDVM XLAT_JCA
Exit 0 pass, 1 fail.
"""
import os
import subprocess
import sys
import tempfile

CASES = [
    ("00A4040009F063617264766D0301", "9000"),
    ("8001020000", "0003" "9000"),     # 5 - P1
    ("8001070000", "FFFE" "9000"),     # 5 - 7 = -2
    ("8002030000", "0007" "9000"),     # 2 * 3 + 1
    ("8002FF0000", "FFFF" "9000"),     # P1 = (byte)0xFF = -1: 2 * -1 + 1
    ("8003070200", "0003" "9000"),     # 7 / 2
    ("8003F90200", "FFFD" "9000"),     # -7 / 2 truncates toward zero
    ("8003070000", "0077" "9000"),     # / 0: ArithmeticException caught
    ("8004000000", "0055" "9000"),     # buf[300]: ArrayIndexOutOfBounds caught
    ("8005030300", "0003" "9000"),     # 3 < 10, equal: 1 + 2
    ("8005140100", "0006" "9000"),     # 20 >= 10, differ: 2 + 4
    ("80060A0000", "002D" "9000"),     # 0 + 1 + ... + 9
    ("8006000000", "0000" "9000"),     # empty loop
    ("8007410000", "4142" "9000"),     # buf[0] = P1, buf[1] = P1 + 1
    ("8008090000", "0012" "9000"),     # 9 + 9
    ("8009050300", "0003" "9000"),     # (5 + 1) - 3
    ("800A023300", "003A" "9000"),     # buf[3] = P2 = 0x33, + 2 + 5
    ("800B030400", "0002" "9000"),     # buf[7] = 3 - 1
    ("800BFF0000", "6F00"),            # buf[-1]: out of bounds, uncaught
    ("800C010200", "000D" "9000"),     # 2 * 3 + 5 + 2
    ("800D032100", "0042" "9000"),     # buf[3] = P2 = 0x21, += P2
    ("800D012100", "002E" "9000"),     # buf[1] = INS 0x0D, += 0x21
    ("800D027F00", "FF81" "9000"),     # buf[2] = P1 = 2, += 0x7F: (byte)0x81
    ("800E010200", "FFF5" "9000"),     # (-128 + 14 + 1 + 2) + 100 = -11
    ("800F000100", "0000" "9000"),     # no iteration
    ("800F030000", "0066" "9000"),     # null array: NullPointerException at i = 0
    ("800F030100", "0003" "9000"),     # three zero elements, + 1 each
    ("800F060100", "0104" "9000"),     # a[4]: out of bounds at i = 4
    ("8010000000", "0066" "9000"),     # null.length: NullPointerException caught
    ("8010000100", "0004" "9000"),     # new byte[4]
    ("8011000000", "6D00"),
]


# Loop-invariant code motion (xlat.jca, method hoist): each answer from a
# Python model of the loop in 16-bit JCVM arithmetic (sadd/smul wrap,
# if_scmp compares signed shorts, sdiv/srem truncate toward zero).
def s16(v):
    v &= 0xFFFF
    return v - 0x10000 if v & 0x8000 else v


def jdiv(a, b):
    q = abs(a) // abs(b)
    return q if (a < 0) == (b < 0) else -q


def hoist_model(ins, p1, p2):
    if ins == 0x20:                     # nested loops, invariant bounds
        r, i = 0, 0
        while i < s16(p1 - 1):
            j = 0
            while j < s16(s16(p1 - 1) - i):
                r = s16(r + (s16(p2 << 2) ^ i) + j)
                j += 1
            i += 1
        return r
    if ins == 0x21:                     # locals written in the loop: nothing hoisted
        r, k, m, i = 0, p2, 1, 0
        while i < s16(k + p1):
            r = s16(r + s16(m * 3))
            m = s16(m + i)
            if i == 2:
                k -= 1
            i += 1
        return r
    if ins == 0x22:                     # a division by a local in the loop
        r, i = 0, 0
        while i < s16(p1 - 3):
            if p2 == 0:
                return 0x77             # ArithmeticException, caught
            r = s16(r + jdiv(p1, p2) + (p1 - 3 * jdiv(p1, 3)))
            i += 1
        return r
    if ins == 0x23:                     # a[i + p2] over a byte[4] of zeros
        r, i = 0, 0
        while i < s16(p1 * p2):
            if not 0 <= s16(i + p2) < 4:
                return s16(0x100 + 16 * i + r)   # ArrayIndexOutOfBoundsException, caught
            r = s16(r + 0 + 1)
            i += 1
        return r
    if ins == 0x24:                     # the head entered by a jump or by falling through
        r, i = 0, 0
        if p2 != 0:
            p1 = s16(p1 + 10)
        while i < s16(p1 * 2):
            r += 1
            i += 1
        return r
    if ins == 0x25:                     # count-down loops, tests against zero
        r, i = 0, p1
        while i >= 0:
            r = s16(r + i)
            i -= 1
        k = p2
        while k != 0:
            r = s16(r + 2 * k)
            k -= 1
        return r
    if ins == 0x2A:                     # short-array indices, 16-bit sums that wrap
        a, i = [0] * 4, 0x7FFE
        while i != 0x8002:
            a[(i + 0x8002) & 0xFFFF] = s16(i + p1)     # sadd wraps: 0 .. 3
            i += 1
        r, j, k = 0, 0x7FFB, s16(0x8005 + p2)
        while j < 0x7FFF:
            x = s16(j + k)
            if not 0 <= x < 4:
                return None             # ArrayIndexOutOfBoundsException, uncaught
            r = s16(s16(r * 7) + a[x])
            j += 1
        return r
    raise ValueError(ins)


# Calls and returns (xlat.jca, method calls): JCVM 16-bit arithmetic;
# sshl/sshr/sushr shift the short, sign-extended to 32 bits, by the low 5
# bits of the count and truncate; sdiv/srem truncate toward zero.
def jrem(a, b):
    return a - b * jdiv(a, b)


def calls_model(ins, p1, p2):
    if ins == 0x50:
        def f2(a, b):
            return s16(s16(a * 3) - b)

        def f1(x):
            return s16(x ^ 0x55)
        r = f2(p1, p2)
        r = s16(r + f2(5, s16(p1 + p2)))
        r = s16(r + f2(p2, s16(p1 - 7)))
        r = s16(r + f2(s16(p1 + 1), 9))
        for x in (p1, 100, s16(p2 + 3), s16(p1 + p2)):
            r = s16(r + f1(x))
        return r
    if ins == 0x51:
        op, a, b = p1 - 16 if p1 >= 16 else p1, p2, s16(p2 - 3)
        sh = b & 31
        if op in (9, 10, 15) and b == 0:
            return 0x77
        if op == 14 and b == 0:
            return 0x88
        return s16({0: a + b, 1: a - b, 2: a * b, 3: a & b, 4: a | b, 5: a ^ b,
                    6: (a & 0xFFFFFFFF) << sh, 7: a >> sh, 8: (a & 0xFFFFFFFF) >> sh,
                    9: jdiv(a, b) if b else 0, 10: jrem(a, b) if b else 0, 11: 100 - b,
                    12: a * b + b, 13: a + a * b, 14: jrem(a, b) if b else 0,
                    15: jdiv(a, b) if b else 0}[op])
    if ins == 0x70:
        def g5(a, b, c, d, e):
            r = a
            for x in (b, c, d, e):
                r = s16(s16(r * 3) + x)
            return r
        r = g5(p1, s16(p2 * 3), s16(p1 ^ p2), p2, s16(p1 + 1))
        return s16(g5(7, s16(p1 | p2), r, s16(p2 & p1), s16(p1 - 7)) + r)
    raise ValueError(ins)


def calls_case(ins, p1, p2):
    want = calls_model(ins, s16(p1 if p1 < 0x80 else p1 - 0x100), s16(p2 if p2 < 0x80 else p2 - 0x100))
    return (f"80{ins:02X}{p1:02X}{p2:02X}00", f"{want & 0xFFFF:04X}9000")


def hoist_case(ins, p1, p2):
    want = hoist_model(ins, s16(p1 if p1 < 0x80 else p1 - 0x100), p2)
    if want is None:                    # uncaught exception: the JCRE's 6F00
        return (f"80{ins:02X}{p1:02X}{p2:02X}00", "6F00")
    return (f"80{ins:02X}{p1:02X}{p2:02X}00", f"{want & 0xFFFF:04X}9000")


CASES += [hoist_case(ins, p1, p2) for ins, p1, p2 in [
    (0x20, 0, 1), (0x20, 1, 1), (0x20, 2, 3), (0x20, 9, 5), (0x20, 30, 0x7F), (0x20, 0xFE, 1),
    (0x21, 5, 3), (0x21, 1, 0), (0x21, 4, 9),
    (0x22, 3, 0), (0x22, 0xF9, 0), (0x22, 5, 0), (0x22, 7, 2), (0x22, 20, 3),
    (0x23, 0, 3), (0x23, 2, 1), (0x23, 3, 2), (0x23, 2, 3), (0x23, 5, 0),
    (0x24, 4, 0), (0x24, 4, 1), (0x24, 0, 0), (0x24, 0xF6, 1),
    (0x25, 0, 0), (0x25, 5, 3), (0x25, 0xFF, 1), (0x25, 0x7F, 0x7F),
    (0x2A, 0x33, 0), (0x2A, 0xF0, 0), (0x2A, 0x7F, 0), (0x2A, 0, 1), (0x2A, 5, 0x7F),
]]


# An element load and the compare that consumes it (xlat.jca, method ecmp):
# each answer from a Python model in 16-bit JCVM arithmetic.
def ecmp_model(ins, p1, p2):
    a, b, x = [], [], s16(p2)
    for _ in range(8):
        x = s16(s16(x * 25173) + p1)
        a.append(x)
        b.append(s16((x & 0xFF) - 0x100 if x & 0x80 else x & 0xFF))
    v, r = a[3], 0
    if ins == 0x40:
        for i in range(7):
            r = s16(2 * r) + (a[i] > a[i + 1])
    elif ins == 0x41:
        for i in range(8):
            r = s16(2 * r) + (a[i] < v)
            r = s16(2 * r) + (v > a[i])
    elif ins == 0x42:
        for i in range(7):
            r = s16(2 * r) + (b[i] < 0)
            r = s16(2 * r) + (b[i + 1] >= 16)
    elif ins == 0x43:
        for i in range(max(p1, 0)):
            r = s16(2 * r)
            if p2 == 0:
                return 0x66                 # NullPointerException, caught
            if i + 1 >= 8:
                return s16(16 * i + r + 256)   # ArrayIndexOutOfBounds, caught
            r += a[i + 1] > 7
    elif ins == 0x44:
        for i in range(8):
            r = s16(2 * r) + ((r & 3) < a[i])
            r = s16(2 * r) + (0 >= a[i])
    return r


def ecmp_case(ins, p1, p2):
    want = ecmp_model(ins, s16(p1 if p1 < 0x80 else p1 - 0x100), s16(p2 if p2 < 0x80 else p2 - 0x100))
    return (f"80{ins:02X}{p1:02X}{p2:02X}00", f"{want & 0xFFFF:04X}9000")


CASES += [ecmp_case(ins, p1, p2) for ins in (0x40, 0x41, 0x42, 0x44)
          for p1, p2 in [(0, 0), (1, 2), (0x35, 0x7F), (0xFE, 0x81), (0x7F, 0x10)]]
CASES += [ecmp_case(0x43, p1, p2) for p1, p2 in [(0, 0), (3, 0), (7, 1), (8, 5), (9, 0x42), (0x7F, 0xC3)]]

# Loop idioms (xlat.jca, method idiom; vm/cap_xlat.c "loop idioms": copy,
# fill and first-mismatch loops run whole when they can be): a Python model
# of each case's bytecodes, element by element in JCVM semantics (an
# index is (short)(base + i); loads before stores; bounds and null checked
# at each access, the exception caught by the handler, which sees i).
class JcExc(Exception):
    pass


class Npe(JcExc):
    pass


class Aioobe(JcExc):
    pass


def sb8(v):
    v &= 0xFF
    return v - 0x100 if v & 0x80 else v


def ld(arr, idx):
    if arr is None:
        raise Npe()
    idx = s16(idx)
    if not 0 <= idx < len(arr):
        raise Aioobe()
    return arr[idx]


def st(arr, idx, v, short=False):
    if arr is None:
        raise Npe()
    idx = s16(idx)
    if not 0 <= idx < len(arr):
        raise Aioobe()
    arr[idx] = s16(v) if short else sb8(v)


def idiom_model(ins, p1, p2):
    buf = [0] * 261                     # the APDU buffer (only [16, 80) is read back)
    for k in range(32):
        buf[16 + k] = sb8(k * 37 + 5)
        buf[48 + k] = 0

    def bufhash(r):
        for k in range(64):
            r = s16(r * 31 + buf[16 + k])
        return r

    def shash(r, a):
        for k in range(16):
            r = s16(r * 31 + a[k])
        return r

    def shorts():
        return [s16(k * 4099 + 7) for k in range(16)]

    i = 0
    if ins in (0x30, 0x31):             # COPY buf[o + i] = buf[i + 16], o = p2 + 48 / p2 + 16
        o = s16(p2 + (48 if ins == 0x30 else 16))
        while i < p1:
            st(buf, o + i, ld(buf, i + 16))
            i += 1
        return bufhash(i)
    if ins == 0x32:                     # COPY buf[i + 48] = a[p2 + i], a = {1..8}: bounds at iteration k
        a = [sb8(k + 1) for k in range(8)]
        try:
            while i < p1:
                st(buf, i + 48, ld(a, p2 + i))
                i += 1
        except Aioobe:
            return bufhash(s16(0x4000 + i))
        return bufhash(i)
    if ins == 0x33:                     # COPY with index wraparound: buf[(short)(o + i)] = buf[(short)(i + o2)]
        o, i = s16((p1 << 8) + 48), s16(p2 << 8)
        n, o2 = s16(i + 4), s16(16 - i)
        try:
            while i < n:
                st(buf, o + i, ld(buf, i + o2))
                i = s16(i + 1)
        except Aioobe:
            return bufhash(s16(0x4000 + i))
        return bufhash(i)
    if ins == 0x34:                     # FILL buf[48 + i] = p2
        while i < p1:
            st(buf, 48 + i, p2)
            i += 1
        return bufhash(i)
    if ins == 0x35:                     # MISMATCH of bytes into locals x, y, the difference falling through
        for k in range(32):
            buf[48 + k] = buf[16 + k]
        buf[48 + p2] = sb8(buf[48 + p2] ^ 1)
        x = y = 0
        while i < p1:
            x, y = buf[16 + i], buf[48 + i]
            if x != y:
                return s16((i << 8) | ((x ^ y) & 0xFF))
            i += 1
        return s16((i << 8) + 0x7000 + (x & 0xFF))
    if ins == 0x36:                     # MISMATCH of shorts on the stack, if_scmpne out of the loop
        a, b = shorts(), shorts()
        if p2 < 16:
            b[p2] = s16(b[p2] + 1)
        try:
            while i < p1:
                if ld(a, i) != ld(b, i):
                    return s16(i + 256)
                i += 1
        except Aioobe:
            return bufhash(s16(0x4000 + i))
        return s16(i + 512)
    if ins in (0x37, 0x38, 0x3B):       # COPY / FILL into a transient short[]; bytes into shorts (not fused)
        a, b = shorts(), [0] * 16
        try:
            while i < p1:
                if ins == 0x37:
                    st(b, p2 + i, ld(a, i), True)
                elif ins == 0x38:
                    st(b, i, -3, True)
                else:
                    st(b, i, ld(buf, i + 16), True)
                i += 1
        except Aioobe:
            return shash(s16(0x4000 + i), b)
        return shash(i, b)
    if ins == 0x39:                     # COPY from a null array (p2 = 0) or a byte[4] of zeros
        a = None if p2 == 0 else [0] * 4
        try:
            while i < p1:
                st(buf, 48 + i, ld(a, i))
                i += 1
        except Npe:
            return bufhash(s16(102 + i))
        except Aioobe:
            return bufhash(s16(0x4000 + i))
        return bufhash(i)
    if ins == 0x3A:                     # COPY into a persistent byte[8] in a transaction: aborted (p2 = 0) or committed
        a = [0] * 8
        while i < p1:
            st(a, i, ld(buf, 16 + i))
            i += 1
        if p2 == 0:
            a = [0] * 8
        r = i
        for k in range(8):
            r = s16(r * 31 + a[k])
        return r
    if ins == 0x3C:                     # COPY as 0x30, the test at the bottom (goto to it first)
        o = s16(p2 + 48)
        while i < p1:
            st(buf, o + i, ld(buf, i + 16))
            i += 1
        return bufhash(i)
    if ins == 0x3D:                     # MISMATCH buf[48 + i] vs buf[i + 49], test at the bottom (p1 > i)
        buf[48 + p2] = sb8(buf[48 + p2] ^ 1)
        while p1 > i:
            if ld(buf, 48 + i) != ld(buf, i + 49):
                return s16(i + 256)
            i += 1
        return s16(i + 512)
    raise ValueError(ins)


def idiom_case(ins, p1, p2):
    want = idiom_model(ins, sb8(p1), sb8(p2))
    return (f"80{ins:02X}{p1:02X}{p2:02X}00", f"{want & 0xFFFF:04X}9000")


CASES += [idiom_case(ins, p1, p2) for ins, p1, p2 in [
    (0x30, 0, 0), (0x30, 16, 0), (0x30, 10, 6), (0x30, 32, 0), (0x30, 5, 3),
    (0x31, 8, 3), (0x31, 16, 0), (0x31, 8, 0xFD), (0x31, 20, 1), (0x31, 24, 2),
    (0x32, 8, 0), (0x32, 8, 3), (0x32, 3, 0xFF), (0x32, 0, 9), (0x32, 1, 7),
    (0x33, 0x80, 0x80), (0x33, 0x7F, 0x01), (0x33, 0, 0), (0x33, 0x7F, 0x80), (0x33, 0x80, 0x7F),
    (0x34, 0, 5), (0x34, 16, 0x41), (0x34, 32, 0xFF), (0x34, 7, 0x80),
    (0x35, 32, 5), (0x35, 32, 40), (0x35, 5, 5), (0x35, 6, 5), (0x35, 0, 0), (0x35, 32, 0), (0x35, 32, 31),
    (0x36, 16, 7), (0x36, 16, 16), (0x36, 7, 7), (0x36, 17, 16), (0x36, 0, 3), (0x36, 16, 0),
    (0x37, 16, 0), (0x37, 10, 6), (0x37, 10, 7), (0x37, 0, 0), (0x37, 3, 0xFF),
    (0x38, 0, 0), (0x38, 5, 0), (0x38, 16, 0), (0x38, 17, 0),
    (0x39, 0, 0), (0x39, 1, 0), (0x39, 3, 1), (0x39, 5, 1),
    (0x3A, 8, 0), (0x3A, 8, 1), (0x3A, 3, 0), (0x3A, 0, 1),
    (0x3B, 16, 0), (0x3B, 5, 0), (0x3B, 0, 0),
    (0x3C, 0, 0), (0x3C, 16, 0), (0x3C, 10, 6), (0x3C, 32, 0),
    (0x3D, 0, 0), (0x3D, 31, 0x30), (0x3D, 20, 0x30), (0x3D, 31, 5), (0x3D, 31, 6), (0x3D, 4, 20),
]]

# every INS 50 call site runs before (x_INVOKE) and after its quickening
CASES += [calls_case(0x50, p1, p2) for p1, p2 in [(0, 0), (1, 2), (0x7F, 0x80), (0xF9, 3), (0x40, 0xC0)]]
CASES += [calls_case(0x51, op, p2) for op in range(27) for p2 in (3, 5, 0x83, 0x7F, 0xF0)]
# INS 70 twice with the same operands: before and after the quickening
CASES += [calls_case(0x70, p1, p2) for p1, p2 in [(0, 0), (0, 0), (1, 2), (1, 2), (0x7F, 0x80), (0xF9, 3), (0x40, 0xC5)]]


# Field reads of this (xlat.jca, method fields): getfield_s_this,
# getfield_b_this (the byte sign-extended), arraylength of a field's array
# on the stack, null there throwing NullPointerException (JCVM 7.5.3,
# arraylength) at the right place: before the multiply, at the first loop
# test. 16-bit JCVM arithmetic.
def fields_model(p1, p2):
    fs, fb = s16(p1 * 3), p2
    n = None if p2 == 0 else p1 & 7
    r = s16(fs + fb)
    r = s16(r + 0x66) if n is None else s16(r + n * 16)
    if n is None:
        r = s16(r + 0x700)
    else:
        for _ in range(n):
            r = s16(r + fs)
    return s16(r * 3 + fb)


def fields_case(p1, p2):
    want = fields_model(s16(p1 if p1 < 0x80 else p1 - 0x100), s16(p2 if p2 < 0x80 else p2 - 0x100))
    return (f"8060{p1:02X}{p2:02X}00", f"{want & 0xFFFF:04X}9000")


# each twice: getfield_<t>_this runs before and after its quickening
CASES += [fields_case(p1, p2) for p1, p2 in [(0, 0), (5, 0), (5, 1), (7, 0x80), (0xFF, 0x7F), (3, 0xF0),
                                             (0x7F, 0x81), (0, 0), (7, 0x80)]]


def main():
    cardvm, jca = sys.argv[1], sys.argv[2]
    with tempfile.TemporaryDirectory() as tmp:
        cap = os.path.join(tmp, "xlat.cap")
        img = os.path.join(tmp, "card.img")
        for args in (["asm", jca, "-o", cap, "--verify"], ["create", img, "--quiet"],
                     ["gp", img, "--load", cap, "--install"]):
            r = subprocess.run([cardvm] + args, capture_output=True, text=True, timeout=120)
            if r.returncode != 0:
                print(f"cardvm {' '.join(args)} exited {r.returncode}:\n{r.stdout}{r.stderr}")
                return 1
        r = subprocess.run([cardvm, "send", img] + [c for c, _ in CASES], capture_output=True, text=True,
                           timeout=120)
        got = r.stdout.split()
        bad = 0
        for i, (cmd, want) in enumerate(CASES):
            g = got[i] if i < len(got) else "(none)"
            if g != want:
                print(f"{cmd}: got {g}, expected {want}")
                bad += 1
        print(f"{len(CASES)} APDUs, {bad} wrong")
        return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
