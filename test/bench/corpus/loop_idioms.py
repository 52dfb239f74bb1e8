#!/usr/bin/env python3
"""loop_idioms.py CARDVM [SHARED] — static count of the loop idioms
vm/cap_xlat.c recognizes (match_idiom: element-wise COPY, FILL, first
MISMATCH in javac's counted loop `H: sload i; n; if_scmpge E ... sinc i 1;
goto H`) over the CAP files op_pairs.sh reads (each shared package once,
jc305u3-nodebug; the bench corpus nodebug; the public CAPs), disassembled
by `cardvm disasm`. Prints the loops (backward jumps), the counted loops
of that shape, and each idiom found. The rules are the translator's, read
from JCA text (a check on the figures in docs/vm.md, "Loop idioms"), not
its code. Prints figures, never fails."""
import glob
import os
import re
import subprocess
import sys
import tempfile


def methods(path):
    """Each method's code as (label, op, args) tuples."""
    meths, cur = [], None
    for line in open(path):
        line = re.sub(r"//.*", "", line).strip()
        if line.startswith(".method"):
            cur = []
            meths.append(cur)
            continue
        if cur is None or not line:
            continue
        m = re.match(r"(L\d+):\s*(.*)", line)
        lab = None
        if m:
            lab, line = m.group(1), m.group(2)
        line = line.rstrip(";").strip()
        if not line or line.startswith(".") or line.startswith("}"):
            if lab:
                cur.append((lab, None, []))
            continue
        f = line.split()
        cur.append((lab, f[0], f[1:]))
    return meths


def local_of(t, kind):
    if t[1] == kind:
        return int(t[2][0])
    m = re.match(kind + r"_(\d)$", t[1] or "")
    return int(m.group(1)) if m else None


def const(t):
    return t[1] in ("bspush", "sspush") or (t[1] or "").startswith("sconst")


def leaf(t):
    return local_of(t, "sload") is not None or const(t)


def index(b, k, i):
    """An index i, b + i, i + b or i - c at b[k]: the position after it."""
    if k < len(b) and local_of(b[k], "sload") == i:
        if k + 2 < len(b) and leaf(b[k + 1]) and local_of(b[k + 1], "sload") != i and b[k + 2][1] == "sadd":
            return k + 3
        if k + 2 < len(b) and const(b[k + 1]) and b[k + 2][1] == "ssub":
            return k + 3
        return k + 1
    if k + 2 < len(b) and leaf(b[k]) and local_of(b[k + 1], "sload") == i and b[k + 2][1] == "sadd":
        return k + 3
    return None


def idiom(b, i):
    """The body after the loop test: COPY, FILL, MISMATCH or None."""
    if not b or local_of(b[0], "aload") is None:
        return None
    k = index(b, 1, i)
    if k is None or k >= len(b):
        return None
    if leaf(b[k]) and k + 2 == len(b) and b[k + 1][1] in ("bastore", "sastore"):
        return "FILL"
    if local_of(b[k], "aload") is not None:
        k2 = index(b, k + 1, i)
        if k2 is not None and k2 + 2 == len(b) and (b[k2][1], b[k2 + 1][1]) in (("baload", "bastore"),
                                                                                 ("saload", "sastore")):
            return "COPY"
        return None
    if b[k][1] not in ("baload", "saload"):
        return None
    ld, k = b[k][1], k + 1
    into_locals = k < len(b) and (b[k][1] or "").startswith("sstore")
    k += into_locals
    if k >= len(b) or local_of(b[k], "aload") is None:
        return None
    k2 = index(b, k + 1, i)
    if k2 is None or k2 >= len(b) or b[k2][1] != ld:
        return None
    k = k2 + 1 + 3 * into_locals
    if k < len(b) and b[k][1] in ("if_scmpne", "if_scmpne_w", "if_scmpeq", "if_scmpeq_w"):
        return "MISMATCH"
    return None


def main():
    cardvm = sys.argv[1]
    shared = sys.argv[2] if len(sys.argv) > 2 else os.path.join(os.path.dirname(__file__), "../../../../shared")
    caps = sorted(c for c in glob.glob(os.path.join(shared, "javacard", "**", "*.cap"), recursive=True)
                  if re.search(r"jc305u3-nodebug/|/nodebug/bench/|/public/", c))
    if not caps:
        print(f"no CAP files under {shared}/javacard: skipped")
        return 0
    loops = counted = 0
    found = []
    with tempfile.TemporaryDirectory() as tmp:
        for n, cap in enumerate(caps):
            out = os.path.join(tmp, f"{n}.jca")
            if subprocess.run([cardvm, "disasm", "-o", out, cap], capture_output=True).returncode != 0:
                print(f"disasm failed: {cap}")
                continue
            for m in methods(out):
                labs = {t[0]: n for n, t in enumerate(m) if t[0]}
                for n, t in enumerate(m):
                    if not t[1] or not (t[1].startswith("goto") or t[1].startswith("if")) or not t[2]:
                        continue
                    if t[2][-1] not in labs or labs[t[2][-1]] > n:
                        continue
                    loops += 1
                    if not t[1].startswith("goto") or m[n - 1][1] != "sinc" or m[n - 1][2][1] != "1":
                        continue
                    i = int(m[n - 1][2][0])
                    body = [x for x in m[labs[t[2][-1]]:n - 1] if x[1]]
                    if len(body) < 3 or local_of(body[0], "sload") != i or not leaf(body[1]) or \
                            body[2][1] not in ("if_scmpge", "if_scmpge_w"):
                        continue
                    counted += 1
                    form = idiom(body[3:], i)
                    if form:
                        found.append(f"{form} {os.path.relpath(cap, shared)} {t[2][-1]}")
    print(f"{len(caps)} CAP files: {loops} loops, {counted} counted (i < n, sinc i 1), {len(found)} idioms")
    for f in found:
        print("  " + f)
    return 0


if __name__ == "__main__":
    sys.exit(main())
