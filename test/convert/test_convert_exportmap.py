#!/usr/bin/env python3
"""convert_exportmap: a library's second version converted with
--export-map (the first version's export file) keeps every public token of
the first (classes, static methods, constructors, static fields, virtual
and interface methods) although members were added before the old ones;
new members get tokens after them; the CAP verifies. Without the map the
same source gives other tokens (so the comparison can fail).

usage: test_convert_exportmap.py CARDVM JAVAC JAR
"""
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from convert_shared import convert, javac, read_exp  # noqa: E402

V1 = {
    "Lib.java": """package xm.lib;
public class Lib {
    public static short count;
    public Lib() { }
    public static short a() { return 1; }
    public static short b() { return 2; }
    public short v1() { return 3; }
    public short v2() { return 4; }
}
""",
    "Svc.java": """package xm.lib;
public interface Svc extends javacard.framework.Shareable { short x(); short y(); }
""",
}
V2 = {
    "Lib.java": """package xm.lib;
public class Lib {
    public static short added;
    public static short count;
    public Lib() { }
    public Lib(short s) { }
    public static short c() { return 0; }
    public static short a() { return 1; }
    public static short b() { return 2; }
    public short v0() { return 5; }
    public short v1() { return 3; }
    public short v2() { return 4; }
}
""",
    "Svc.java": """package xm.lib;
public interface Svc extends javacard.framework.Shareable { short w(); short x(); short y(); }
""",
    "Aa.java": """package xm.lib;
public interface Aa { short z(); }
""",
}


def build(cardvm, javac_exe, jar, tmp, tag, files, extra=()):
    src = os.path.join(tmp, tag, "src", "xm", "lib")
    os.makedirs(src, exist_ok=True)
    for n, t in files.items():
        open(os.path.join(src, n), "w").write(t)
    classes = os.path.join(tmp, tag, "classes")
    r = javac(javac_exe, jar, [os.path.join(src, n) for n in files], classes)
    if r.returncode:
        raise SystemExit("FAIL javac %s\n%s" % (tag, r.stderr))
    cap = os.path.join(tmp, tag, "lib.cap")
    r = convert(cardvm, classes, "xm.lib", "F000000C01", "1.0" if tag == "v1" else "1.1", [], cap, extra=extra)
    if r.returncode:
        raise SystemExit("FAIL convert %s\n%s" % (tag, r.stderr))
    v = subprocess.run([cardvm, "verify", cap], capture_output=True, text=True)
    if v.returncode:
        raise SystemExit("FAIL verify %s\n%s%s" % (tag, v.stdout, v.stderr))
    return read_exp(cap[:-4] + ".exp")


def kept(old, new):
    diffs = []
    for cls, (tok, members) in old.items():
        if cls not in new or new[cls][0] != tok:
            diffs.append("class %s" % cls)
            continue
        for m, t in members.items():
            if new[cls][1].get(m) != t:
                diffs.append("%s %s: %d -> %s" % (cls, m, t, new[cls][1].get(m)))
    return diffs


def main():
    cardvm, javac_exe, jar = sys.argv[1:4]
    with tempfile.TemporaryDirectory() as tmp:
        e1 = build(cardvm, javac_exe, jar, tmp, "v1", V1)
        e2 = build(cardvm, javac_exe, jar, tmp, "v2", V2, ["--export-map", os.path.join(tmp, "v1", "lib.exp")])
        e2free = build(cardvm, javac_exe, jar, tmp, "v2free", V2)
        failures = 0
        d = kept(e1, e2)
        n = sum(1 + len(m) for _, m in e1.values())
        print("%s with --export-map: %d old tokens, %d changed %s" % ("ok" if not d else "FAIL", n, len(d), d))
        failures += bool(d)
        # new members: tokens after the old ones, none shared within a kind
        for cls, (tok, members) in e2.items():
            for kind in ("static", "method", "field"):
                # constructors share the static method tokens
                toks = [t for m, t in members.items()
                        if ("static" if m.startswith("method <init>") else m.split()[0]) == kind]
                if len(toks) != len(set(toks)):
                    print("FAIL %s: %s tokens repeat: %s" % (cls, kind, members))
                    failures += 1
        if "xm/lib/Aa" not in e2 or e2["xm/lib/Aa"][0] <= max(t for t, _ in e1.values()):
            print("FAIL the new class Aa does not follow the old class tokens: %s" % e2.get("xm/lib/Aa"))
            failures += 1
        d = kept(e1, e2free)
        print("%s without the map: %d changed" % ("ok" if d else "FAIL", len(d)))
        failures += not d
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
