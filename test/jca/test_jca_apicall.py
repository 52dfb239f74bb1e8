#!/usr/bin/env python3
"""API calls bound at link time and APDU-buffer stores keep their checks
(apicall.jca: what each INS does is in its header). Expected answers from
the JC API (NullPointerException for a call on null, the 261-byte APDU
buffer's bounds) and the applet's code, through `cardvm asm --verify`,
`cardvm gp --load --install` and `cardvm send`.
usage: test_jca_apicall.py CARDVM APICALL_JCA
Exit 0 pass, 1 fail.
"""
import os
import subprocess
import sys
import tempfile


def main():
    cardvm, jca = sys.argv[1:3]
    failures = []
    with tempfile.TemporaryDirectory() as tmp:
        cap, img = os.path.join(tmp, "apicall.cap"), os.path.join(tmp, "card.img")
        steps = [[cardvm, "asm", jca, "-o", cap, "--verify"], [cardvm, "create", img, "--quiet"],
                 [cardvm, "gp", img, "--load", cap, "--install"]]
        for s in steps:
            r = subprocess.run(s, capture_output=True, text=True, timeout=120)
            if r.returncode:
                print("FAIL", " ".join(s), r.stdout, r.stderr)
                return 1
        cmds = ["00A4040006F000000E0301", "8010000000", "8011000000", "8011FF0000", "8012000000", "8013000000",
                "8014000000", "8015000000"]
        want = ["9000", "019000", "029000", "7F9000", "5A9000", "039000", "049000", "6D00"]
        r = subprocess.run([cardvm, "send", img] + cmds, capture_output=True, text=True, timeout=120)
        got = r.stdout.split()
        for c, w, g in zip(cmds, want, got + [""] * len(want)):
            ok = w == g
            print("%s %s -> %s (want %s)" % ("ok" if ok else "FAIL", c, g, w))
            if not ok:
                failures.append(c)
    print("ok" if not failures else "%d failure(s)" % len(failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
