#!/usr/bin/env python3
"""convert_examples: the example applets (examples/applets/NAME/src) built
from their Java with the project's own stubs and converter: javac, `cardvm
convert` (package, AIDs and version as their NAME.jca gives them), `cardvm
verify`, then their transcripts NAME.apdu replayed by the examples' own
runner (test/applets/test_examples.py) on the converted CAP files.

The two forms of an example, its Java and its JCA (NAME.jca), give the
same package: the same classes, fields, methods with their tokens, method
tables and applets (the JCA the converter writes against NAME.jca, imports,
constant pool and code aside; ctest examples_cap and examples_cap_jca show
they behave the same). With BUILT_DIR (the build's examples/applets, when
the build has a JDK) the CAP files the build made, which the demo loads,
are the ones converted here, component for component.

usage: test_convert_examples.py CARDVM JAVAC JAR EXAMPLES_DIR RUNNER [BUILT_DIR]
(exit 77 when there are no example sources or no runner)
"""
import glob
import os
import subprocess
import sys
import tempfile
import zipfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from convert_shared import convert, javac, oracle_packages  # noqa: E402


BLOCKS = (".fields", ".publicMethodTable", ".packageMethodTable", ".applet", ".superInterfaces")


def structure(text):
    """A JCA package's declarations: class, field and method headers, method
    tables in token order, applets (comments, imports, constant pool, code
    and the order of declarations left out)."""
    out, block, cls = [], None, ""
    for raw in text.splitlines():
        line = raw.split("//")[0].strip()
        if not line:
            continue
        if block is not None:
            if line == "}":
                out.append(cls + " " + " | ".join(block))
                block = None
            elif block[0].startswith(".fields"):
                out.append(cls + " .field " + line)
            else:
                block.append(line)
            continue
        head = line.rstrip("{").strip()
        if line.startswith(BLOCKS) and line.endswith("{"):
            block = [head]
        elif line.startswith((".class", ".interface")):
            cls = head
            out.append(head)
        elif line.startswith((".method", ".shareable", ".package", ".aid", ".version")):
            out.append(cls + " " + head)
    return sorted(out)


def components(cap):
    with zipfile.ZipFile(cap) as z:
        return {n: z.read(n) for n in z.namelist()}


def main():
    cardvm, javac_exe, jar, examples, runner = sys.argv[1:6]
    built = sys.argv[6] if len(sys.argv) > 6 else None
    names = sorted(os.path.basename(os.path.dirname(d)) for d in glob.glob(os.path.join(examples, "*", "src")))
    if not names or not os.path.exists(runner):
        print("SKIP: no example applet sources under %s or no runner %s" % (examples, runner))
        return 77
    failures = []
    replay = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            d = os.path.join(examples, name)
            sources = sorted(glob.glob(os.path.join(d, "src", "**", "*.java"), recursive=True))
            classes = os.path.join(tmp, name + "-classes")
            r = javac(javac_exe, jar, sources, classes)
            if r.returncode:
                failures.append("%s: javac\n%s" % (name, r.stderr))
                continue
            pk = oracle_packages(d)
            if len(pk) != 1:
                failures.append("%s: expected one JCA file naming the package" % name)
                continue
            _, pkg, aid, ver, applets = pk[0]
            cap = os.path.join(tmp, name + ".cap")
            r = convert(cardvm, classes, pkg, aid, ver, applets, cap)
            if r.returncode:
                failures.append("%s: convert\n%s" % (name, r.stderr))
                continue
            v = subprocess.run([cardvm, "verify", cap], capture_output=True, text=True)
            print("%s: %s" % (name, (v.stdout + v.stderr).strip()))
            if v.returncode:
                failures.append("%s: verify" % name)
            if os.path.exists(os.path.join(d, name + ".apdu")):
                replay.append(name)
            # --debug: a Debug component naming the Java source, kept by disasm
            dcap = os.path.join(tmp, name + "-debug.cap")
            r = convert(cardvm, classes, pkg, aid, ver, applets, dcap, extra=["--debug"])
            if r.returncode:
                failures.append("%s: convert --debug\n%s" % (name, r.stderr))
                continue
            with zipfile.ZipFile(dcap) as z:
                if not any(n.endswith("/Debug.cap") for n in z.namelist()):
                    failures.append("%s: convert --debug wrote no Debug component" % name)
            mine, theirs = structure(open(dcap[:-4] + ".jca").read()), structure(open(pk[0][0]).read())
            if mine != theirs:
                diff = [x for x in mine if x not in theirs][:3] + ["JCA: " + x for x in theirs if x not in mine][:3]
                failures.append("%s: the converted package differs from %s.jca: %s" % (name, name, diff))
            else:
                print("%s: Java and JCA give the same %d declarations" % (name, len(mine)))
            if built:
                b = os.path.join(built, name + ".cap")
                if not os.path.exists(b) or components(b) != components(dcap):
                    failures.append("%s: the build's %s is not the CAP converted from the Java" % (name, b))
            dis = subprocess.run([cardvm, "disasm", dcap], capture_output=True, text=True)
            java = {os.path.basename(s) for s in sources}
            if dis.returncode or not any((".sourceFile %s;" % j) in dis.stdout for j in java) \
                    or ".line " not in dis.stdout:
                failures.append("%s: the Debug component of convert --debug names no source file/lines" % name)
            if subprocess.run([cardvm, "verify", dcap], capture_output=True).returncode:
                failures.append("%s: verify of the --debug CAP" % name)
        if replay:
            r = subprocess.run([sys.executable, runner, cardvm, tmp, examples] + replay, capture_output=True,
                               text=True)
            print(r.stdout + r.stderr)
            if r.returncode:
                failures.append("transcripts")
    for f in failures:
        print("FAIL " + f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
