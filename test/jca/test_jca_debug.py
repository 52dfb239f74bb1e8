#!/usr/bin/env python3
"""The Debug component `cardvm asm` writes from `.sourceFile` / `.line`
(docs/jca.md) against the converter's own: for every JCA/CAP pair Oracle's
converter wrote with -debug in ../shared (jc305u3/, jc222/), the JCA gets
the `.line` marks of the converter's Debug component (before the
instruction at each line-table start_pc, the pcs counted from the JCVM
instruction lengths as `cardvm disasm` prints them) and each class its
source file; assembled, every class (its interface names as a set), field
and method record and every line table must equal the converter's (its local variable tables and string
order aside, which JCA does not carry), and every other component stays
byte-identical. And `cardvm disasm` prints the converter's Debug component
back as `.sourceFile` / `.line`: asm(disasm(cap)) has every method's line
table and every class's source file again (matched by Method and Class
component location). Exit 0 pass, 1 fail, 77 when ../shared is absent.
usage: test_jca_debug.py CARDVM SHARED
"""
import glob
import os
import re
import subprocess
import sys
import tempfile
import zipfile


def comps(path):
    with zipfile.ZipFile(path) as z:
        return {n.split("/")[-1]: z.read(n) for n in z.namelist() if "/javacard/" in n}


def parse_debug(d):
    d = d[3:]
    p = 0

    def g(n):
        nonlocal p
        v = int.from_bytes(d[p:p + n], "big")
        p += n
        return v
    strs = []
    for _ in range(g(2)):
        n = g(2)
        strs.append(d[p:p + n].decode())
        p += n
    pkg = strs[g(2)]
    out = {"package": pkg}
    for _ in range(g(2)):
        cn = strs[g(2)]
        acc, loc, sup, src = g(2), g(2), strs[g(2)], strs[g(2)]
        ni, nf, nm = g(1), g(2), g(2)
        ifs = frozenset(strs[g(2)] for _ in range(ni))
        out[cn] = (acc, loc, sup, src)
        out[cn + " interfaces"] = ("interfaces", ifs)
        for _ in range(nf):
            fn = strs[g(2)]
            fd, fa, fc = strs[g(2)], g(2), g(4)
            out[cn + "." + fn] = (fd, fa, fc)
        for _ in range(nm):
            name = strs[g(2)]
            desc = strs[g(2)]
            acc, loc, hs, bs, nv, nl = g(2), g(2), g(1), g(2), g(2), g(2)
            p += 9 * nv
            out[cn + "." + name + desc] = (acc, loc, hs, bs, [(g(2), g(2), g(2)) for _ in range(nl)])
    return out, strs


def with_lines(cardvm, cap, jca, dbg):
    """The JCA with .capFormat 2.2, .sourceFile and .line marks."""
    debug, _ = dbg
    lines_of, src_of = {}, {}
    for k, v in debug.items():
        if k == "package":
            continue
        head = k.split("(")[0]
        if "(" in k:   # class/Name.method(desc)
            cls, meth = head.rsplit(".", 1)
            lines_of[(cls.split("/")[-1], meth + "(" + k.split("(", 1)[1])] = v[4]
        elif len(v) == 4:
            src_of[k.split("/")[-1]] = v[3]

    def class_of(line):
        if not (line.startswith("\t.class ") or line.startswith("\t.interface ")):
            return None
        words = [w for w in line.split() if w not in ("public", "final", "abstract", ".class", ".interface")]
        return words[0]

    def method_of(s):
        m = re.match(r"\.method .*?(\S+\(.*?\)\S*?)( \d+)? \{", s)
        return m.group(1) if m else None
    dis = subprocess.run([cardvm, "disasm", cap], capture_output=True, text=True, check=True).stdout
    # the disassembly names user-library classes by token: methods are
    # matched by their place in their class, as both list them in order
    pcs, cls, cur, nth = {}, None, None, {}
    for l in dis.splitlines():
        cls = class_of(l) or cls
        if method_of(l.strip()):
            nth[cls] = nth.get(cls, -1) + 1
            cur = (cls, nth[cls])
            pcs[cur] = []
            continue
        m = re.search(r"// pc (\d+)", l)
        if m and cur:
            pcs[cur].append(int(m.group(1)))
    out, cls, cur, idx, nth, key = [], None, None, 0, {}, None
    for l in open(jca).read().split("\n"):
        s = l.strip()
        if class_of(l):
            cls = class_of(l)
            out.append(l)
            if src_of.get(cls):
                out.append("\t\t.sourceFile %s;" % src_of[cls])
            continue
        if method_of(s):
            nth[cls] = nth.get(cls, -1) + 1
            cur, key, idx = (cls, nth[cls]), (cls, method_of(s)), 0
            out.append(l)
            continue
        if s.startswith(".version"):
            out.append(l)
            out.append("\t.capFormat 2.2;")
            continue
        body = re.sub(r"^L\d+:\s*", "", s)
        if cur and body and not body.startswith((".", "//", "}", "L")) and cur in pcs and idx < len(pcs[cur]):
            pc = pcs[cur][idx]
            idx += 1
            for ln in sorted({ln for (sp, ep, ln) in lines_of.get(key, []) if sp == pc}):
                out.append("\t\t\t\t.line %d;" % ln)
        out.append(l)
    return "\n".join(out)


def main():
    cardvm, shared = sys.argv[1:3]
    caps = sorted(glob.glob(os.path.join(shared, "javacard/applets/*/jc305u3/*.cap")) +
                  glob.glob(os.path.join(shared, "javacard/applets/*/jc222/*.cap")))
    if not caps:
        print("SKIP: no shared Java Card applets (../shared absent)")
        return 77
    failures = 0
    with tempfile.TemporaryDirectory() as tmp:
        for cap in caps:
            jca = cap[:-4] + ".jca"
            oracle = comps(cap)
            if "Debug.cap" not in oracle or not os.path.exists(jca):
                continue
            want = parse_debug(oracle["Debug.cap"])
            text = with_lines(cardvm, cap, jca, want)
            src = os.path.join(tmp, "x.jca")
            open(src, "w").write(text)
            out = os.path.join(tmp, "x.cap")
            r = subprocess.run([cardvm, "asm", src, "-o", out], capture_output=True, text=True)
            name = os.path.relpath(cap, shared)
            if r.returncode != 0:
                print(f"FAIL {name}: asm: {r.stderr}")
                failures += 1
                continue
            mine = comps(out)
            got = parse_debug(mine["Debug.cap"])[0] if "Debug.cap" in mine else {}
            pkg = want[0]["package"]
            for k, v in want[0].items():
                # JCA names a user library's class by tokens only: its
                # interfaces cannot be named by the assembler
                if k.endswith(" interfaces") and k in got:
                    unnamed = {n for n in v[1] - got[k][1] if not n.startswith(("java/", "javacard/", "javacardx/"))
                               and not n.startswith(pkg + "/")}
                    if got[k][1] == v[1] - unnamed:
                        got[k] = v
            diff = [k for k in want[0] if got.get(k) != want[0][k]] + [k for k in got if k not in want[0]]
            other = [k for k in oracle if k not in ("Debug.cap", "Directory.cap") and mine.get(k) != oracle[k]]
            if diff or other:
                failures += 1
                print(f"FAIL {name}: Debug records differ: {diff[:5]}; components differ: {other}")
                for k in diff[:3]:
                    print("   ", k, "\n      want", want[0].get(k), "\n      got ", got.get(k))
            else:
                print(f"ok   {name}: {len(want[0])} Debug records equal")
            # the round trip through the disassembler
            again = os.path.join(tmp, "again.jca")
            subprocess.run([cardvm, "disasm", cap, "-o", again], check=True)
            r = subprocess.run([cardvm, "asm", again, "-o", out], capture_output=True, text=True)
            rt = parse_debug(comps(out)["Debug.cap"])[0] if r.returncode == 0 and "Debug.cap" in comps(out) else {}

            def by_location(recs):
                lines = {v[1]: v[4] for k, v in recs.items() if k != "package" and len(v) == 5 and v[1]}
                srcs = {v[1]: v[3] for k, v in recs.items() if k != "package" and len(v) == 4}
                return lines, srcs
            if by_location(rt) != by_location(want[0]):
                failures += 1
                print(f"FAIL {name}: asm(disasm(cap)) lost line tables or source files")
            else:
                print(f"ok   {name}: asm(disasm(cap)) keeps the line tables and source files")
    print(f"{failures} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
