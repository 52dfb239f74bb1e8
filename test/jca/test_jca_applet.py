#!/usr/bin/env python3
"""A hand-written JCA package through the command line: `cardvm asm
echo.jca` (with the on-card verifier), its disassembly assembled again
(same components), `cardvm gp --load --install`, then `cardvm send`.
Expected answers come from what echo.jca's code does (see its header) and
ISO 7816-4 (6D00 = INS not supported); the counter starts at 0 on install.
usage: test_jca_applet.py CARDVM ECHO_JCA
Exit 0 pass, 1 fail.
"""
import os
import re
import sys
import tempfile
import zipfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from jcatest import expect, failures, report, run  # noqa: E402


def components(cap):
    """Component files of a CAP zip by name (Header.cap ...), the zip aside."""
    with zipfile.ZipFile(cap) as z:
        return {os.path.basename(n): z.read(n) for n in z.namelist() if "/javacard/" in n and n.endswith(".cap")}


def main():
    cardvm, jca = sys.argv[1], sys.argv[2]
    with tempfile.TemporaryDirectory() as tmp:
        cap = os.path.join(tmp, "echo.cap")
        run(cardvm, "asm", jca, "-o", cap, "--verify")
        if failures:
            return report()
        comps = components(cap)
        expect(set(comps) >= {"Header.cap", "Directory.cap", "Applet.cap", "Import.cap", "ConstantPool.cap",
                              "Class.cap", "Method.cap", "StaticField.cap", "RefLocation.cap", "Descriptor.cap"},
               "the CAP has every component a card needs", str(sorted(comps)))
        # disasm -> asm gives the same components
        text = os.path.join(tmp, "again.jca")
        run(cardvm, "disasm", cap, "-o", text)
        cap2 = os.path.join(tmp, "again.cap")
        run(cardvm, "asm", text, "-o", cap2)
        if os.path.exists(cap2):
            expect(components(cap2) == comps, "asm(disasm(cap)) has the same components")
        # a verifier refusal points at the JCA line: process() with max_stack 2
        # overflows (it needs 4); the line named must be an instruction of
        # process()
        src = open(jca).read()
        bad = os.path.join(tmp, "bad.jca")
        with open(bad, "w") as f:
            f.write(src.replace(".stack 4;", ".stack 2;"))
        r = run(cardvm, "asm", bad, "-o", os.path.join(tmp, "bad.cap"), "--verify", ok=False)
        m = re.match(re.escape(bad) + r":(\d+): refused by the verifier: .*stack overflow", r.stderr)
        expect(r.returncode == 1 and m, "asm --verify names the JCA line of the refused instruction", r.stderr)
        if m:
            lines = src.split("\n")
            first = next(i for i, l in enumerate(lines) if ".method public process" in l) + 1
            last = next(i for i, l in enumerate(lines) if ".exceptionTable" in l) + 1
            n = int(m.group(1))
            expect(first < n < last and not lines[n - 1].strip().startswith("."),
                   f"line {n} is an instruction of process() (lines {first}..{last})", lines[n - 1])
        # on the card
        img = os.path.join(tmp, "card.img")
        run(cardvm, "create", img, "--quiet")
        r = run(cardvm, "gp", img, "--load", cap, "--install", "--list")
        expect("APP: F063617264766D0101 (SELECTABLE)" in r.stdout, "the applet is installed", r.stdout)
        r = run(cardvm, "send", img, "00A4040009F063617264766D0101", "8010000003AABBCC00", "8020000000",
                "8020000000", "8030000000", "8030010000", "8030050000", "8040000000", ok=False)
        want = ["9000", "AABBCC9000", "00019000", "00029000", "119000", "229000", "EE9000", "6D00"]
        expect(r.stdout.split() == want, f"answers {want}", r.stdout + r.stderr)
    return report()



if __name__ == "__main__":
    sys.exit(main())
