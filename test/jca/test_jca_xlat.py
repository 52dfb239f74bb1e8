#!/usr/bin/env python3
"""The shapes the CAP translation treats specially (vm/cap_xlat.c), in a
hand-written JCA applet (xlat.jca: a local changed while a pending copy of
it sits under a value on the stack, a result stored over a pending local,
dup of a pending local, exceptions inside folded ops caught by their
handlers, branches on constants, stores from locals/constants/the stack,
a sinc+goto loop, index sums folded into element ops and computed
elsewhere, dup2 of a pending array and index, loop regions: an array
checked once per entry, re-checked after each entry, exceptions at the
right iteration). Expected answers are worked out from the JCVM
semantics in xlat.jca's header, not taken from the card.
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
