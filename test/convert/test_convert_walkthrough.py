#!/usr/bin/env python3
"""convert_walkthrough: the walkthrough of docs/convert.md works as written. The Java block is
the applet, the `$ ` lines are run in order (cardvm and the stubs jar
replaced by the build's), and the `cardvm send` answers must be the block
after "answers". Expected answers are the page's, written from the
applet's code and ISO 7816-4 (6D00: INS not supported).

usage: test_convert_walkthrough.py CARDVM JAVAC JAR DOC
"""
import os
import re
import shlex
import subprocess
import sys
import tempfile


def main():
    cardvm, javac_exe, jar, doc = [os.path.abspath(a) if os.path.exists(a) else a for a in sys.argv[1:5]]
    text = open(doc).read()
    java = re.search(r"```java\n(.*?)```", text, re.S).group(1)
    src_path = re.search(r"`(src/[^`]+\.java)`:", text).group(1)
    commands = [l.strip()[2:] for l in re.findall(r"^ {4}\$ (?:[^\n]*\\\n)*[^\n]*", text, re.M)]
    commands = [re.sub(r"\\\n\s*", "", c) for c in commands]
    answers = re.search(r"answers\n\n((?: {4}\S+\n)+)", text).group(1).split()
    with tempfile.TemporaryDirectory() as tmp:
        os.makedirs(os.path.join(tmp, os.path.dirname(src_path)))
        open(os.path.join(tmp, src_path), "w").write(java)
        out = ""
        for c in commands:
            argv = shlex.split(c.replace("build/share/cardvm-api.jar", jar))
            argv[0] = {"cardvm": cardvm, "javac": javac_exe}[argv[0]]
            r = subprocess.run(argv, cwd=tmp, capture_output=True, text=True, timeout=300)
            print("$ %s -> %d" % (c, r.returncode))
            if r.returncode != 0:
                print("FAIL:\n" + r.stdout + r.stderr)
                return 1
            out = r.stdout
        got = out.split()
        print("answers: %s\nexpected: %s" % (got, answers))
        if [g.upper() for g in got] != answers:
            print("FAIL: the answers differ from the page's")
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
