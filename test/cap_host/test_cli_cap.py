#!/usr/bin/env python3
"""CAP files through the command line: `cardvm gp --load X.cap --install`,
the script command `load X.cap`, `cardvm info`.

Expected answers come from the shared transcripts (counter.apdu: after a
fresh install, GET answers counter 0000, installs 0001, tshorts[0] 0000) and
from the CAP files' own AIDs (libshare's shop.cap declares two applets).

usage: test_cli_cap.py CARDVM SHARED_DIR
Exit 0 pass, 1 fail, 77 skipped (SHARED_DIR/javacard absent).
"""
import os
import subprocess
import sys
import tempfile

SKIP = 77
failures = []


def run(*args, ok=True):
    r = subprocess.run(list(args), capture_output=True, text=True, timeout=120)
    if ok and r.returncode != 0:
        failures.append(f"{' '.join(args)} exited {r.returncode}:\n{r.stdout}{r.stderr}")
    return r


def expect(cond, what, out=""):
    if not cond:
        failures.append(f"{what}\n{out}")


def main():
    cardvm, shared = sys.argv[1], sys.argv[2]
    apps = os.path.join(shared, "javacard", "applets")
    if not os.path.isdir(apps):
        print(f"SKIP: {apps} not found (the shared Java Card test material is not beside this clone)")
        return SKIP
    counter = os.path.join(apps, "counter", "jc305u3", "counter.cap")
    libshare = os.path.join(apps, "libshare", "jc222-nodebug")
    with tempfile.TemporaryDirectory() as tmp:
        img = os.path.join(tmp, "card.img")
        run(cardvm, "create", img, "--quiet")

        # gp: load + install (applet AID from the Applet component), list
        r = run(cardvm, "gp", img, "--load", counter, "--install", "--list")
        expect("APP: F0434150574B0101 (SELECTABLE)" in r.stdout, "gp lists the instance", r.stdout)
        expect("PKG: F0434150574B01 (LOADED) version 1.0" in r.stdout, "gp lists the package", r.stdout)
        expect("applet F0434150574B0101" in r.stdout, "gp lists the applet class", r.stdout)
        r = run(cardvm, "send", img, "00A4040008F0434150574B0101", "8011000006")
        lines = r.stdout.split()
        expect(lines[-2:] == ["9000", "0000000100009000"], "the applet answers as its transcript says", r.stdout)
        r = run(cardvm, "info", img)
        expect("F0434150574B01 v1.0 applet" in r.stdout and "F0434150574B0101 of package F0434150574B01" in r.stdout,
               "info lists the CAP package and its instance", r.stdout)
        # the same package again: 6985 at INSTALL [for load]
        r = run(cardvm, "gp", img, "--load", counter, ok=False)
        expect(r.returncode == 4 and "6985" in r.stderr, "loading it twice is refused with 6985", r.stderr)
        # a second instance under another AID with explicit options
        r = run(cardvm, "gp", img, "--install", "--package", "F0434150574B01", "--applet", "F0434150574B0101",
                "--instance-aid", "F0434150574B0199", "--privileges", "00", "--list")
        expect("APP: F0434150574B0199 (SELECTABLE)" in r.stdout, "second instance listed", r.stdout)
        r = run(cardvm, "send", img, "00A4040008F0434150574B0199", "8011000006")
        expect(r.stdout.split()[-2:] == ["9000", "0000000200009000"], "installs counts both instances", r.stdout)

        # gp with a library, then a package with two applets: each installed
        img2 = os.path.join(tmp, "card2.img")
        run(cardvm, "create", img2, "--quiet")
        run(cardvm, "gp", img2, "--load", os.path.join(libshare, "loyalty.cap"))
        run(cardvm, "gp", img2, "--load", os.path.join(libshare, "loyaltysrv.cap"), "--install")
        r = run(cardvm, "gp", img2, "--load", os.path.join(libshare, "shop.cap"), "--install", "--list")
        for aid in ["F043415057320201", "F043415057320301", "F043415057320302"]:
            expect(f"APP: {aid} (SELECTABLE)" in r.stdout, f"{aid} installed", r.stdout)
        # deleting the library while others import it: 6985
        r = run(cardvm, "gp", img2, "--delete", "F0434150573201", ok=False)
        expect(r.returncode == 4 and "6985" in r.stderr, "library in use not deleted", r.stderr)

        # script: load FILE.cap, install, send with expected answers
        img3 = os.path.join(tmp, "card3.img")
        run(cardvm, "create", img3, "--quiet")
        script = os.path.join(tmp, "cap.script")
        with open(script, "w") as f:
            f.write("open 30 404142434445464748494A4B4C4D4E4F 03\n"
                    f"load {counter}\n"
                    "install F0434150574B01 F0434150574B0101\n"
                    "present F0434150574B0101\n"
                    "select F0434150574B0101 -> 9000\n"
                    "send 8010000002 -> 00019000\n"
                    "send 8011000006 -> 0001000100009000\n")
        r = run(cardvm, "script", script, img3)
        expect(r.returncode == 0, "script with load FILE.cap", r.stdout + r.stderr)
        # a broken CAP file: the script says why, before talking to the card
        bad = os.path.join(tmp, "bad.cap")
        with open(bad, "wb") as f:
            f.write(b"PK\x03\x04 not really a zip")
        with open(script, "w") as f:
            f.write("open 30 404142434445464748494A4B4C4D4E4F 03\n"
                    f"load {bad}\n")
        r = run(cardvm, "script", script, img3, ok=False)
        expect(r.returncode == 1 and "not a CAP file" in r.stderr, "broken CAP refused by the script", r.stderr)
    for f in failures:
        print("FAIL:", f)
    print("ok" if not failures else f"{len(failures)} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
