#!/usr/bin/env python3
"""`cardvm verify` on CAP files: every shared CAP is accepted (libshare's
client with its libraries as --lib), and what the card must refuse is
refused with exit status 1 and a message that says where.

usage: test_verify.py CARDVM SHARED_DIR
Exit 0 pass, 1 fail, 77 skipped (SHARED_DIR/javacard absent).
"""
import os
import subprocess
import sys
import tempfile
import zipfile

SKIP = 77
VARIANTS = ["jc222", "jc222-nodebug", "jc305u3", "jc305u3-nodebug"]
failures = []


def verify(cardvm, *args):
    r = subprocess.run([cardvm, "verify", *args], capture_output=True, text=True, timeout=60)
    return r.returncode, r.stdout + r.stderr


def expect(cond, what, out=""):
    if not cond:
        failures.append(f"{what}\n{out}")


def rewrite(src, dst, name_suffix, mutate):
    """Copy the CAP zip src to dst, passing the entry ending in name_suffix
    through mutate(bytes) -> bytes (None drops the entry)."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            if info.filename.endswith(name_suffix):
                data = mutate(bytearray(data))
                if data is None:
                    continue
            zout.writestr(info.filename, bytes(data))


def main():
    cardvm, shared = sys.argv[1], sys.argv[2]
    jc = os.path.join(shared, "javacard")
    if not os.path.isdir(jc):
        print(f"SKIP: {jc} not found (the shared Java Card test material is not beside this clone)")
        return SKIP
    apps = os.path.join(jc, "applets")
    for variant in VARIANTS:
        for name in ["counter", "pinaes", "objects", "apdukit"]:
            cap = os.path.join(apps, name, variant, f"{name}.cap")
            rc, out = verify(cardvm, cap)
            expect(rc == 0 and ": OK" in out, f"{name} {variant} accepted", out)
        d = os.path.join(apps, "libshare", variant)
        libs = ["--lib", os.path.join(d, "loyalty.cap"), "--lib", os.path.join(d, "loyaltysrv.cap")]
        rc, out = verify(cardvm, os.path.join(d, "shop.cap"), *libs)
        expect(rc == 0 and out.count(": OK") == 3, f"libshare {variant}: libraries then client accepted", out)
        # the client alone: its library import is not on the "card" (6985)
        rc, out = verify(cardvm, os.path.join(d, "shop.cap"))
        expect(rc == 1 and "6985" in out and "Import" in out, f"libshare {variant}: missing library refused", out)
    counter = os.path.join(apps, "counter", "jc222-nodebug", "counter.cap")
    with tempfile.TemporaryDirectory() as tmp:
        bad = os.path.join(tmp, "bad.cap")

        # a bytecode operand naming a constant-pool entry that does not exist:
        # the first method's first instruction is in the Method component after
        # its handler count (u1) and the method header; set every byte of the
        # component after the handler table to FF: some operand must break
        def ruin_code(b):
            handlers = b[3]
            start = 4 + 8 * handlers
            for i in range(start + 2, len(b)):
                b[i] = 0xFF
            return b
        rewrite(counter, bad, "/Method.cap", ruin_code)
        rc, out = verify(cardvm, bad)
        expect(rc == 1 and "6A80" in out and "Method" in out, "ruined bytecode refused, the Method component named", out)

        # the Directory declaring a wrong size for the Method component
        def bad_directory(b):
            i = 3 + 2 * (7 - 1)          # component_sizes[Method - 1]
            v = (b[i] << 8 | b[i + 1]) + 1
            b[i], b[i + 1] = v >> 8, v & 0xFF
            return b
        rewrite(counter, bad, "/Directory.cap", bad_directory)
        rc, out = verify(cardvm, bad)
        expect(rc == 1 and "6A80" in out, "wrong Directory size refused", out)

        # no Descriptor: the on-card verifier needs the types
        rc, out = verify(cardvm, counter, "--no-descriptor")
        expect(rc == 1 and "Descriptor" in out, "no Descriptor refused", out)

        # not a CAP file at all
        rewrite(counter, bad, "/Method.cap", lambda b: None)
        rc, out = verify(cardvm, bad)
        expect(rc == 1 and "Method.cap missing" in out, "missing Method component refused", out)
    for f in failures:
        print("FAIL:", f)
    print("ok" if not failures else f"{len(failures)} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
