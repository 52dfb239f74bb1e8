#!/usr/bin/env python3
"""framework_applet: the javacard.framework 3.0.5 additions through a CAP
applet (test/applets/fwkit: Java source and its JCA, assembled by the
build), in one power session of `cardvm send`, then after a power cycle.

Expected answers from the specifications:
  * Applet.reSelectingApplet() (JC 3.0.5 API; JCRE 3.0.5 4.6: a SELECT of
    the same applet instance deselects it first): false on a first
    selection; true in deselect(), select() and process() when the selected
    applet is selected again on the same channel; false again after
    another applet (here the ISD) was selected in between.
  * SensitiveArrays: a bytecode store into an integrity-sensitive
    CLEAR_ON_RESET array passes assertIntegrity, isIntegritySensitive and
    isIntegritySensitiveArraysSupported are true, an index out of bounds is
    an ArrayIndexOutOfBoundsException (uncaught: 6F00, JCRE), clearArray
    zeroes it; a reset clears it and it stays intact.
  * OwnerPINxWithPredecrement: check without a preceding
    decrementTriesRemaining is PINException.ILLEGAL_STATE (reason 2, the
    applet answers 69 02); check does not spend a try; a match restores the
    try limit and sets the validated flag.
  * OwnerPINx: setTryLimit / setTriesRemaining / getTryLimit; check spends
    a try on a mismatch and restores the limit on a match; a try count
    above the limit is PINException (uncaught: 6F00).

usage: test_fwkit.py CARDVM FWKIT.cap
"""
import os
import subprocess
import sys
import tempfile

APPLET = "F063617264766DF101"
SEL = "00A40400%02X%s00" % (len(APPLET) // 2, APPLET)

SESSION = [
    ("first SELECT: select/deselect/process saw no reselection, no deselect yet", SEL, "00000000" "9000"),
    ("SELECT again on the same channel: true in deselect, select and process", SEL, "01010101" "9000"),
    ("SELECT of the ISD deselects it (no reselection)", "00A4040000", None),
    ("SELECT after the ISD: a plain selection again, 2 deselect() calls", SEL, "00000200" "9000"),
    ("sens[3] = AB by bastore, intact", "8010AB0300", "000000AB00000000" "0101" "9000"),
    ("sens[0] = CD", "8010CD0000", "CD0000AB00000000" "0101" "9000"),
    ("sens[8]: ArrayIndexOutOfBoundsException", "8010010800", "6F00"),
    ("clearArray: the length, then zeros", "8011000000", "0008" "0000000000000000" "9000"),
    ("PIN value 1234 to both PINs", "802000000431323334", "9000"),
    ("predecrement: check before decrementTriesRemaining: ILLEGAL_STATE", "802200000431323334", "6902"),
    ("decrementTriesRemaining: 3 -> 2", "8021000000", "02" "9000"),
    ("a wrong PIN: false, no further try spent", "80220000023030", "000200" "9000"),
    ("check again without a decrement: ILLEGAL_STATE", "802200000431323334", "6902"),
    ("decrementTriesRemaining: 2 -> 1", "8021000000", "01" "9000"),
    ("the right PIN: true, tries back to the limit 3, validated", "802200000431323334", "010301" "9000"),
    ("OwnerPINx: setTryLimit(5), setTriesRemaining(4)", "8030050400", "0504" "9000"),
    ("OwnerPINx: a wrong PIN spends a try", "80310000023030", "000300" "9000"),
    ("OwnerPINx: the right PIN restores the limit, validated", "803100000431323334", "010501" "9000"),
    ("OwnerPINx: tries above the limit: PINException", "8030020700", "6F00"),
]
AFTER_RESET = [
    ("after a power cycle: a plain first selection", SEL, "00000000" "9000"),
    ("sens cleared by the reset and intact: sens[1] = 01", "8010010100", "0001000000000000" "0101" "9000"),
    # setTryLimit(2) ran before the failed setTriesRemaining(7), outside a
    # transaction: it stays (an uncaught exception rolls back nothing else)
    ("OwnerPINx kept its value and its try limit 2 across the reset", "803100000431323334", "010201" "9000"),
]


def run_session(cardvm, image, steps, fails):
    r = subprocess.run([cardvm, "send", image] + [c for _, c, _ in steps], capture_output=True, text=True)
    got = r.stdout.split()
    if len(got) != len(steps):
        fails.append(f"{len(steps)} answers expected, got {len(got)}: {r.stderr.strip()}")
        return
    for (what, _, want), g in zip(steps, got):
        if want is not None and g != want:
            fails.append(f"{what}: got {g}, expected {want}")


def main():
    cardvm, cap = sys.argv[1:3]
    fails = []
    with tempfile.TemporaryDirectory(prefix="cardvm-fwkit-") as tmp:
        image = os.path.join(tmp, "card.img")
        subprocess.run([cardvm, "create", "--quiet", image], check=True)
        r = subprocess.run([cardvm, "gp", image, "--load", cap, "--install"], capture_output=True, text=True)
        if r.returncode != 0:
            print(f"FAIL load/install: {r.stderr}")
            return 1
        run_session(cardvm, image, SESSION, fails)
        run_session(cardvm, image, AFTER_RESET, fails)
    for f in fails:
        print("FAIL " + f)
    print(f"framework_applet: {len(SESSION) + len(AFTER_RESET)} checks, {len(fails)} failure(s)")
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
