#!/usr/bin/env python3
"""cap_extended_length: extended-length commands and the ExtendedLength
interface (JCRE 3.0.5: the runtime answers 6700 to an extended command for
an applet that does not implement javacardx.apdu.ExtendedLength).

The shared apdukit applet implements it: its INFO command (INS 12) answers
getIncomingLength, getOffsetCdata and the sum of the data bytes, which are
computed here from the command sent. The shared counter applet does not:
the same extended form gets 6700, the short form still works.

usage: test_extended_length.py CARDVM SHARED   (77 when SHARED is absent)
"""
import os
import subprocess
import sys
import tempfile

APDUKIT = "F043415057320401"   # applet AID, from the applet source
COUNTER = "F0434150574B0101"


def send(cardvm, image, *apdus):
    r = subprocess.run([cardvm, "send", image] + list(apdus), capture_output=True, text=True)
    if r.returncode not in (0, 4):
        raise SystemExit("FAIL: cardvm send: %s" % (r.stdout + r.stderr))
    return r.stdout.split()


def select(aid):
    return "00A40400%02X%s00" % (len(aid) // 2, aid)


def main():
    cardvm, shared = sys.argv[1:3]
    caps = {n: os.path.join(shared, "javacard", "applets", n, "jc305u3-nodebug", n + ".cap")
            for n in ("apdukit", "counter")}
    if not all(os.path.exists(c) for c in caps.values()):
        print("SKIP: the shared apdukit/counter CAP files are absent (%s)" % shared)
        return 77
    fails = []
    with tempfile.TemporaryDirectory(prefix="cardvm-extlen-") as tmp:
        image = os.path.join(tmp, "card.img")
        subprocess.run([cardvm, "create", "--quiet", image], check=True)
        for c in caps.values():
            subprocess.run([cardvm, "gp", image, "--load", c, "--install"], check=True, capture_output=True)
        for n in (1, 255, 256, 1000):
            data = bytes((i * 7 + 3) & 0xFF for i in range(n))
            cmd = "80120000" + "00%04X" % n + data.hex().upper() + "0000"
            want = "%04X%04X%04X9000" % (n, 7, sum(data) & 0xFFFF)
            got = send(cardvm, image, select(APDUKIT), cmd)
            if got[-1] != want:
                fails.append("apdukit extended INFO with %d bytes: %s, expected %s" % (n, got[-1], want))
        got = send(cardvm, image, select(APDUKIT), "80120000" + "0A" + "01" * 10 + "00")
        if got[-1] != "000A0005000A9000":
            fails.append("apdukit short INFO: %s" % got[-1])
        ext = "80100000" + "00012C" + "01" * 300
        got = send(cardvm, image, select(COUNTER), ext)
        if got[-1] != "6700":
            fails.append("counter (no ExtendedLength), extended command: %s, expected 6700" % got[-1])
        got = send(cardvm, image, select(COUNTER), "8010000000")
        if not got[-1].endswith("9000"):
            fails.append("counter short command after it: %s" % got[-1])
    for f in fails:
        print("FAIL " + f)
    print("cap_extended_length: %d failure(s)" % len(fails))
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
