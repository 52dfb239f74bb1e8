#!/usr/bin/env python3
"""convert_errors: what Java Card does not have is refused by `cardvm
convert`, each refusal naming the class, the method and the source line.
int (an int field, an int loop counter, a method returning int) is refused
with why (the type is optional and this card lacks it) and what to write
instead; `--int` (Oracle's -i) is refused for this card.

Each case is a small applet whose offending line carries the marker
`// REFUSED`; the expected line number is the marker's, read from the
source (javac -g gives the converter its LineNumberTable). A control
package without the fault must convert, so that a case cannot pass by the
converter refusing everything.

usage: test_convert_errors.py CARDVM JAVAC JAR
"""
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from convert_shared import convert, javac  # noqa: E402

HEAD = """package neg.c_%s;
import javacard.framework.*;
public class A extends Applet {
    short s; byte[] buf = new byte[8];
    public static void install(byte[] b, short o, byte l) { new A().register(); }
"""

# name -> (body of process(APDU), words the message must contain)
CASES = {
    "control": ("""    public void process(APDU apdu) {
        short x = (short) (s + 1);
        buf[(short) (x & 7)] = (byte) x;
    }
""", None),
    "float": ("""    public void process(APDU apdu) {
        float f = s * 1.5f;   // REFUSED
        s = (short) f;
    }
""", ["float"]),
    "long": ("""    public void process(APDU apdu) {
        long l = s;   // REFUSED
        s = (short) (l >> 3);
    }
""", ["long"]),
    "api": ("""    public void process(APDU apdu) {
        System.arraycopy(buf, 0, buf, 1, 2);   // REFUSED
    }
""", ["unsupported API", "java/lang/System"]),
    "apimember": ("""    public void process(APDU apdu) {
        Object o = apdu;
        s = (short) o.hashCode();   // REFUSED
    }
""", ["unsupported API call", "hashCode"]),
    "intermediate": ("""    public void process(APDU apdu) {
        short a = s;
        if (a + buf[0] > 10) {   // REFUSED
            s = 0;
        }
    }
""", ["int intermediate", "cast"]),
    "index": ("""    public void process(APDU apdu) {
        short a = s;
        buf[a + 1] = 0;   // REFUSED
    }
""", ["int intermediate", "index"]),
    "intlocal": ("""    public void process(APDU apdu) {
        int i = s;   // REFUSED
        s = (short) i;
    }
""", ["local variable i", "int"]),
    "intfield": ("""    int total;
    public void process(APDU apdu) {
        total = s;   // REFUSED
    }
""", ["field total", "type int", "optional", "short"]),
    "intloop": ("""    public void process(APDU apdu) {
        for (int i = 0; i < 4; i++) {   // REFUSED
            buf[(short) i] = 0;
        }
    }
""", ["local variable i", "type int", "optional"]),
    "intmethod": ("""    static int twice(short v) { return v * 2; }   // REFUSED
    public void process(APDU apdu) {
        s = (short) twice(s);
    }
""", ["method twice(S)I", "type int", "optional"]),
    "sync": ("""    public void process(APDU apdu) {
        synchronized (this) {   // REFUSED
            s = 1;
        }
    }
""", ["synchronized"]),
    "string": ("""    public void process(APDU apdu) {
        Object o = "hello";   // REFUSED
        s = (short) (o == null ? 0 : 1);
    }
""", ["String"]),
    "import": ("""    public void process(APDU apdu) {
        s = neg.lib.Lib.f();   // REFUSED
    }
""", ["missing import", "neg.lib"]),
}

LIB = """package neg.lib;
public class Lib { public static short f() { return 3; } }
"""


def main():
    cardvm, javac_exe, jar = sys.argv[1:4]
    failures = 0
    with tempfile.TemporaryDirectory() as tmp:
        sources = []
        lines = {}
        for name, (body, _) in CASES.items():
            d = os.path.join(tmp, "src", "neg", "c_" + name)
            os.makedirs(d)
            text = HEAD % name + body + "}\n"
            path = os.path.join(d, "A.java")
            open(path, "w").write(text)
            sources.append(path)
            marks = [i + 1 for i, l in enumerate(text.splitlines()) if "// REFUSED" in l]
            lines[name] = marks[0] if marks else None
        lib = os.path.join(tmp, "src", "neg", "lib")
        os.makedirs(lib)
        open(os.path.join(lib, "Lib.java"), "w").write(LIB)
        sources.append(os.path.join(lib, "Lib.java"))
        classes = os.path.join(tmp, "classes")
        r = javac(javac_exe, jar, sources, classes)
        if r.returncode != 0:
            print("FAIL javac:\n" + r.stderr)
            return 1
        for i, (name, (_, words)) in enumerate(CASES.items()):
            r = convert(cardvm, classes, "neg.c_" + name, "F0000000%02X01" % i, "1.0",
                        [("F0000000%02X0101" % i, "A")], os.path.join(tmp, name + ".cap"))
            msg = r.stderr.strip()
            if words is None:
                ok = r.returncode == 0 and os.path.exists(os.path.join(tmp, name + ".cap"))
                print("%s %s: converts (%s)" % ("ok" if ok else "FAIL", name, msg or "no message"))
            else:
                method = [] if any(w.startswith("method ") for w in words) else ["method process("]
                want = ["A.java:%d:" % lines[name], "class neg/c_%s/A" % name] + method + words
                missing = [w for w in want if w not in msg]
                ok = r.returncode == 1 and not missing
                print("%s %s: %s%s" % ("ok" if ok else "FAIL", name, msg,
                                       "" if ok else "  (rc %d, missing %s)" % (r.returncode, missing)))
            if not ok:
                failures += 1
        # Oracle's -i: the option is known, and refused for this card
        r = convert(cardvm, classes, "neg.c_control", "F000000000", "1.0", [("F00000000001", "A")],
                    os.path.join(tmp, "int.cap"), extra=["--int"])
        ok = r.returncode == 1 and "no int support" in r.stderr and not os.path.exists(os.path.join(tmp, "int.cap"))
        print("%s --int: %s" % ("ok" if ok else "FAIL", r.stderr.strip()))
        failures += not ok
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
