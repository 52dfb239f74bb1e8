#!/usr/bin/env python3
"""convert_robust: `cardvm convert` given damaged class files, export
files and library CAP files answers with an error (exit 1) or a CAP (exit
0), never a crash or a hang (run it under ASan+UBSan to catch memory
errors).

The inputs are javac's output for a small applet, a library's export file
written by the converter and the library's CAP file with a Debug component
(its Debug, Descriptor, Export or Header component damaged, the zip
rewritten with the component's size adjusted, so that the damage reaches
the reader of the components), with bytes flipped, cut or inserted at
positions chosen by a fixed-seed generator (the same every run).

usage: test_convert_robust.py CARDVM JAVAC JAR  (CARDVM_CONVERT_ROBUST_RUNS: runs, 40)
"""
import os
import random
import shutil
import subprocess
import sys
import tempfile
import zipfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from convert_shared import convert, javac  # noqa: E402

LIB = """package rb.lib;
public interface Svc extends javacard.framework.Shareable { short f(short a); }
"""
APP = """package rb.app;
import javacard.framework.*;
public class A extends Applet {
    static final short[] T = { 1, 2, 3 };
    static byte k = 4;
    short s;
    rb.lib.Svc svc;
    public static void install(byte[] b, short o, byte l) { new A().register(); }
    public void process(APDU apdu) {
        byte[] buf = apdu.getBuffer();
        switch (buf[1]) {
        case 1: s = (short) (s + T[(short) (buf[2] & 3)]); break;
        case 2: s = svc.f(s); break;
        case 7: try { s = (short) (s / buf[3]); } catch (ArithmeticException e) { s = 0; } break;
        default: ISOException.throwIt(ISO7816.SW_INS_NOT_SUPPORTED);
        }
    }
}
"""

RUNS = int(os.environ.get("CARDVM_CONVERT_ROBUST_RUNS", "40"))


def mutate(rng, data):
    b = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        if not b:
            break
        op = rng.randrange(4)
        i = rng.randrange(len(b))
        if op == 0:
            b[i] ^= 1 << rng.randrange(8)
        elif op == 1:
            b[i] = rng.choice((0, 0xFF, 0x7F, 0x80))
        elif op == 2:
            del b[i:i + rng.randint(1, 16)]
        else:
            b[i:i] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 4)))
    return bytes(b)


def damaged_cap(rng, good, path):
    """good: {name: bytes} of a CAP; one of its components damaged, written to path."""
    names = [n for n in good if n.endswith(("/Debug.cap", "/Descriptor.cap", "/Export.cap", "/Header.cap"))]
    victim = rng.choice(sorted(names))
    body = mutate(rng, good[victim][3:]) if len(good[victim]) > 3 else b""
    comp = good[victim][:1] + len(body).to_bytes(2, "big") + body
    with zipfile.ZipFile(path, "w") as z:
        for n, data in good.items():
            z.writestr(n, comp if n == victim else data)
    return victim


def main():
    cardvm, javac_exe, jar = sys.argv[1:4]
    rng = random.Random(20)
    bad = 0
    with tempfile.TemporaryDirectory() as tmp:
        for rel, text in (("rb/lib/Svc.java", LIB), ("rb/app/A.java", APP)):
            os.makedirs(os.path.join(tmp, "src", os.path.dirname(rel)), exist_ok=True)
            open(os.path.join(tmp, "src", rel), "w").write(text)
        classes = os.path.join(tmp, "classes")
        r = javac(javac_exe, jar, [os.path.join(tmp, "src", "rb/lib/Svc.java"),
                                   os.path.join(tmp, "src", "rb/app/A.java")], classes)
        if r.returncode:
            print("FAIL javac\n" + r.stderr)
            return 1
        exp_dir = os.path.join(tmp, "exp")
        os.makedirs(exp_dir)
        r = convert(cardvm, classes, "rb.lib", "F000000B01", "1.0", [], os.path.join(exp_dir, "lib.cap"))
        r2 = convert(cardvm, classes, "rb.app", "F000000B02", "1.0", [("F000000B0201", "A")],
                     os.path.join(tmp, "app.cap"), export_path=[exp_dir])
        cap_dir = os.path.join(tmp, "capdir")
        os.makedirs(cap_dir)
        cap_path = os.path.join(cap_dir, "lib.cap")
        r3 = convert(cardvm, classes, "rb.lib", "F000000B01", "1.0", [], cap_path, extra=["--debug"])
        if not r3.returncode:
            os.remove(cap_path[:-4] + ".exp")
            r3 = convert(cardvm, classes, "rb.app", "F000000B02", "1.0", [("F000000B0201", "A")],
                         os.path.join(tmp, "app2.cap"), export_path=[cap_dir])
        if r.returncode or r2.returncode or r3.returncode:
            print("FAIL the undamaged inputs do not convert:\n" + r.stderr + r2.stderr + r3.stderr)
            return 1
        with zipfile.ZipFile(cap_path) as z:
            good_cap = {n: z.read(n) for n in z.namelist()}
        cls_path = os.path.join(classes, "rb", "app", "A.class")
        exp_path = os.path.join(exp_dir, "lib.exp")
        good_cls, good_exp = open(cls_path, "rb").read(), open(exp_path, "rb").read()
        outcomes = {}
        for i in range(RUNS):
            target = exp_path if i % 3 == 2 else cap_path if i % 6 == 1 else cls_path
            open(cls_path, "wb").write(good_cls)
            open(exp_path, "wb").write(good_exp)
            if target == cap_path:
                target_name = damaged_cap(rng, good_cap, cap_path)
            else:
                target_name = os.path.basename(target)
                open(target, "wb").write(mutate(rng, good_exp if target == exp_path else good_cls))
            try:
                r = convert(cardvm, classes, "rb.app", "F000000B02", "1.0", [("F000000B0201", "A")],
                            os.path.join(tmp, "m.cap"), export_path=[cap_dir if target == cap_path else exp_dir],
                            timeout=20)
            except subprocess.TimeoutExpired:
                print("FAIL run %d: hangs" % i)
                bad += 1
                continue
            outcomes[r.returncode] = outcomes.get(r.returncode, 0) + 1
            if r.returncode not in (0, 1) or "Sanitizer" in r.stderr or "runtime error" in r.stderr:
                print("FAIL run %d (%s): exit %d\n%s" % (i, target_name, r.returncode, r.stderr[-2000:]))
                bad += 1
                shutil.copy(target, os.path.join("/tmp", "convert_robust_%d_%s" % (i, os.path.basename(target))))
        print("%d damaged inputs: exit status counts %s" % (RUNS, outcomes))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
