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
        for name, sources in groups.items():
            if not sources:
                print("FAIL %s: no Java sources" % name)
                failures += 1
                continue
            # both ways for one package; -bootclasspath (stricter) for all
            for mode in (("release", "bootclasspath") if name == "counter" else ("bootclasspath",)):
                out = os.path.join(tmp, name + "-" + mode)
                r = javac(javac_exe, mode, jar, out, sources)
                classes = glob.glob(os.path.join(out, "**", "*.class"), recursive=True)
                ok = r.returncode == 0 and len(classes) >= len(sources)
                print("%s %s (%s): %d sources, %d classes" % ("ok" if ok else "FAIL", name, mode,
                                                              len(sources), len(classes)))
                if not ok:
                    print(r.stderr)
                    failures += 1
        # Constants keep their values (a duplicate case label is javac's
        # compile-time equality test), and what the card lacks does not
        # compile against -bootclasspath (no String, no Math).
        src = os.path.join(tmp, "neg", "p")
        os.makedirs(src)
        for name, const, value in (("A", "javacard.framework.ISO7816.SW_WRONG_LENGTH", "(short) 0x6700"),
                                   ("C", "javacardx.crypto.Cipher.ALG_AES_BLOCK_128_CBC_NOPAD", "(byte) 2"),
                                   ("D", "javacard.framework.JCSystem.CLEAR_ON_DESELECT", "(byte) 2")):
            with open(os.path.join(src, name + ".java"), "w") as f:
                f.write("package p;\npublic class %s { void f(short s) { switch (s) { case %s: case %s: break; } } }\n"
                        % (name, const, value))
            r = javac(javac_exe, "bootclasspath", jar, os.path.join(tmp, "neg-out"), [os.path.join(src, name + ".java")])
            equal = r.returncode != 0 and "duplicate case label" in r.stderr
            expect_equal = name != "C"     # ALG_AES_BLOCK_128_CBC_NOPAD is 13
            print("%s %s %s %s" % ("ok" if equal == expect_equal else "FAIL", const, "==" if equal else "!=", value))
            if equal != expect_equal:
                print(r.stderr)
                failures += 1
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
