#!/usr/bin/env python3
"""The example applets as CAP files (examples/applets/NAME/NAME.jca, which
the build assembles into CAPDIR/NAME.cap): each is loaded and installed on a
fresh card with `cardvm gp` (over SCP03), then its transcript NAME.apdu is
replayed with `cardvm send`, one `cardvm send` per stretch between two
"# reset" lines (each one powers the card on anew). The expected answers in
the transcripts come from the applets' specifications (their headers), ISO
7816-4 status words and the FIPS 180-4 / SP 800-38A vectors.
usage: test_examples.py CARDVM CAPDIR EXAMPLES_DIR NAME...
"""
import os
import re
import subprocess
import sys
import tempfile

failures = []


def parse(path):
    install, steps, stretch = None, [], []
    for raw in open(path):
        line = raw.strip()
        if line.startswith("# @install"):
            w = line.split()
            install = {"applet": w[2]}
            for kv in w[3:]:
                k, v = kv.split("=", 1)
                install[k] = v
        elif line == "# reset":
            steps.append(stretch)
            stretch = []
        elif line.startswith("=>"):
            stretch.append([line[2:].split()[0], None])
        elif line.startswith("<="):
            stretch[-1][1] = line[2:].split()[0]
    steps.append(stretch)
    return install, [s for s in steps if s]


def matches(want, got):
    return len(want) == len(got) and all(w in ("?", g) for w, g in zip(want, got))


def run_one(cardvm, cap, apdu, tmp):
    install, stretches = parse(apdu)
    img = os.path.join(tmp, os.path.basename(cap) + ".img")
    subprocess.run([cardvm, "create", img, "--quiet"], check=True)
    args = [cardvm, "gp", img, "--load", cap, "--install", "--package", install["package"],
            "--applet", install["applet"]]
    if "app-data" in install:
        args += ["--params", install["app-data"]]
    r = subprocess.run(args + ["--list"], capture_output=True, text=True, timeout=120)
    if r.returncode != 0 or f"APP: {install['applet']} (SELECTABLE)" not in r.stdout:
        failures.append(f"{apdu}: load and install\n{r.stdout}{r.stderr}")
        return
    n = ok = 0
    for stretch in stretches:
        r = subprocess.run([cardvm, "send", img] + [c for c, _ in stretch], capture_output=True, text=True,
                           timeout=120)
        got = r.stdout.split()
        for i, (cmd, want) in enumerate(stretch):
            n += 1
            g = got[i] if i < len(got) else "(none)"
            if matches(want, g):
                ok += 1
            else:
                failures.append(f"{os.path.basename(apdu)}: => {cmd}\n    expected {want}\n    got      {g}")
    print(f"{'PASS' if ok == n else 'FAIL'} {os.path.basename(apdu)} ({ok} of {n} answers)")


def main():
    cardvm, capdir, examples = sys.argv[1:4]
    with tempfile.TemporaryDirectory() as tmp:
        for name in sys.argv[4:]:
            run_one(cardvm, os.path.join(capdir, name + ".cap"), os.path.join(examples, name, name + ".apdu"), tmp)
    for f in failures:
        print("FAIL:", f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
