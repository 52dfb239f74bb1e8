#!/usr/bin/env python3
"""convert_stubs: the shared applets' Java sources compile against the API
stubs jar, both ways docs/convert.md gives (javac --release 8 -cp JAR, and
-source/-target 8 -bootclasspath JAR), and the stubs really declare the
API: a source using a member the card has not is refused by javac.

usage: test_convert_stubs.py JAVAC JAR SHARED_DIR   (exit 77: no ../shared)
"""
import glob
import os
import subprocess
import sys
import tempfile


def javac(javac_exe, mode, jar, out, sources):
    cmd = [javac_exe, "-g", "-nowarn", "-d", out]
    if mode == "release":
        cmd += ["--release", "8", "-cp", jar]
    else:
        cmd += ["-source", "8", "-target", "8", "-Xlint:-options", "-bootclasspath", jar]
    return subprocess.run(cmd + sources, capture_output=True, text=True)


def main():
    javac_exe, jar, shared = sys.argv[1:4]
    root = os.path.join(shared, "javacard")
    if not os.path.isdir(root):
        print("SKIP: %s absent (the shared Java Card material)" % root)
        return 77
    groups = {os.path.basename(d): sorted(glob.glob(os.path.join(d, "src", "**", "*.java"), recursive=True))
              for d in sorted(glob.glob(os.path.join(root, "applets", "*")))}
    groups["bench"] = sorted(glob.glob(os.path.join(root, "bench", "src", "**", "*.java"), recursive=True))
    failures = 0
    with tempfile.TemporaryDirectory() as tmp:
        # every source in one javac run (-bootclasspath: only the stubs),
        # and one package also the --release 8 -cp way
        runs = [("all", "bootclasspath", [s for v in groups.values() for s in v])]
        if groups.get("counter"):
            runs.append(("counter", "release", groups["counter"]))
        for name, mode, sources in runs:
            out = os.path.join(tmp, name + "-" + mode)
            r = javac(javac_exe, mode, jar, out, sources)
            classes = glob.glob(os.path.join(out, "**", "*.class"), recursive=True)
            ok = r.returncode == 0 and len(classes) >= len(sources) and len(sources) > 0
            print("%s %s (%s): %d sources, %d classes" % ("ok" if ok else "FAIL", name, mode, len(sources),
                                                          len(classes)))
            if not ok:
                print(r.stderr)
                failures += 1
        # Constants keep their values: a duplicate case label is javac's
        # compile-time equality test (ALG_AES_BLOCK_128_CBC_NOPAD is 13, not 2)
        src = os.path.join(tmp, "neg", "p")
        os.makedirs(src)
        checks = [("javacard.framework.ISO7816.SW_WRONG_LENGTH", "(short) 0x6700", True),
                  ("javacardx.crypto.Cipher.ALG_AES_BLOCK_128_CBC_NOPAD", "(byte) 2", False),
                  ("javacard.framework.JCSystem.CLEAR_ON_DESELECT", "(byte) 2", True)]
        text = "package p;\npublic class A {\n"
        for i, (const, value, _) in enumerate(checks):
            text += "  void f%d(short s) {\n    switch (s) { case %s: case %s: break; }\n  }\n" % (i, const, value)
        text += "}\n"
        open(os.path.join(src, "A.java"), "w").write(text)
        r = javac(javac_exe, "bootclasspath", jar, os.path.join(tmp, "neg-out"), [os.path.join(src, "A.java")])
        for i, (const, value, equal) in enumerate(checks):
            line = 4 + 3 * i
            dup = ("A.java:%d: error: duplicate case label" % line) in r.stderr
            print("%s %s %s %s" % ("ok" if dup == equal else "FAIL", const, "==" if dup else "!=", value))
            if dup != equal:
                print(r.stderr)
                failures += 1
        # what the card lacks does not compile against -bootclasspath
        with open(os.path.join(src, "B.java"), "w") as f:
            f.write("package p;\npublic class B { Object o = Math.abs(1); }\n")
        r = javac(javac_exe, "bootclasspath", jar, os.path.join(tmp, "neg-out"), [os.path.join(src, "B.java")])
        if r.returncode == 0 or "Math" not in r.stderr:
            print("FAIL: java.lang.Math compiled against the stubs")
            failures += 1
        else:
            print("ok java.lang.Math refused by javac against the stubs")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
