#!/usr/bin/env python3
"""convert_libcap: a client converted against a library given as a CAP
file only (no export file), JCVM 3.0.5 ch. 6: the library's Export and
Descriptor components give the tokens, its Debug component the names.

Project-made library (xl.lib: an abstract class with a constructor, static
and instance fields, constants, static, virtual and abstract methods; a
subclass implementing an interface; a subclass of the API's
CardRuntimeException), converted with --debug:
  * its CAP read as an export model equals its export file (test_export_cap
    given the pair);
  * the client (xl.app) converted against the library's CAP alone is the
    same CAP, component for component, as the one converted against its
    .exp alone;
  * against the library converted without --debug (no Debug component) the
    client is refused: "no Debug component", with class, method and line;
  * library and client load, install and answer what the Java says
    (expected answers worked out from the source below, not from a run).
Oracle-made library (../shared libshare, loyalty): the server and client
converted against Oracle's loyalty.cap alone (3.0.5 and 2.2.2 -debug) are
the CAPs converted against Oracle's loyalty.exp, and with Oracle's
loyalty.cap on the card they answer the libshare transcript (skipped
without ../shared); against the -nodebug loyalty.cap they are refused.

usage: test_convert_libcap.py CARDVM JAVAC JAR TEST_EXPORT_CAP CAP_TRANSCRIPTS SHARED_DIR
"""
import glob
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from convert_shared import convert, javac, oracle_packages  # noqa: E402

LIB = {
    "Shape.java": """package xl.lib;
public abstract class Shape {
    public static final short MAX = 100;
    public static final byte NEG = -3;
    public static short made;
    protected short size;
    public short id;
    protected Shape(short s) {
        size = s;
        made = (short) (made + 1);
        id = made;
    }
    public abstract short area();
    public short twice() { return (short) (area() * 2); }
    public static short clamp(short v) { return v > MAX ? MAX : v; }
}
""",
    "Measured.java": """package xl.lib;
public interface Measured { short measure(); }
""",
    "Square.java": """package xl.lib;
public class Square extends Shape implements Measured {
    public Square(short s) { super(s); }
    public short area() { return (short) (size * size); }
    public short measure() { return (short) (size + NEG); }
}
""",
    "LibException.java": """package xl.lib;
public class LibException extends javacard.framework.CardRuntimeException {
    public LibException(short reason) { super(reason); }
    public static void raise(short reason) { throw new LibException(reason); }
}
""",
}

APP = """package xl.app;
import javacard.framework.*;
import xl.lib.*;
public class App extends Applet {
    private Square sq;
    private App() { sq = new Square((short) 5); }
    public static void install(byte[] b, short o, byte l) { new App().register(); }
    public void process(APDU apdu) {
        if (selectingApplet()) return;
        byte[] buf = apdu.getBuffer();
        short r = 0;
        switch (buf[ISO7816.OFFSET_INS]) {
        case 0x10: r = sq.area(); break;
        case 0x11: r = sq.twice(); break;
        case 0x12: r = Shape.clamp((short) 250); break;
        case 0x13: r = ((Measured) sq).measure(); break;
        case 0x14: r = Shape.made; break;
        case 0x15:
            try {
                LibException.raise((short) 0x1234);
            } catch (LibException e) {
                r = e.getReason();
            }
            break;
        case 0x16: r = (short) (Shape.MAX + Shape.NEG); break;
        case 0x17: r = sq.id; break;
        default: ISOException.throwIt(ISO7816.SW_INS_NOT_SUPPORTED);
        }
        Util.setShort(buf, (short) 0, r);
        apdu.setOutgoingAndSend((short) 0, (short) 2);
    }
}
"""
MISSING_LINE = [i + 1 for i, l in enumerate(APP.splitlines()) if "private App()" in l][0]

# INS -> answer, from the Java above: area 5*5, twice 2*25, clamp(250) = MAX,
# measure 5 + NEG, one Square made (its id 1), the exception's reason,
# MAX + NEG
EXPECT = [("10", "0019"), ("11", "0032"), ("12", "0064"), ("13", "0002"), ("14", "0001"), ("15", "1234"),
          ("16", "0061"), ("17", "0001")]

failures = []


def check(ok, what):
    print("%s %s" % ("ok" if ok else "FAIL", what))
    if not ok:
        failures.append(what)


def components(cap):
    """The CAP's files and their bytes (the zip's own dates aside)."""
    with zipfile.ZipFile(cap) as z:
        return {n: z.read(n) for n in z.namelist()}


def same_cap(a, b):
    return os.path.exists(a) and os.path.exists(b) and components(a) == components(b)


def put(folder, files):
    os.makedirs(folder, exist_ok=True)
    for name, text in files.items():
        open(os.path.join(folder, name), "w").write(text)
    return [os.path.join(folder, n) for n in files]


def only(src_files, folder):
    """A folder holding just these files: the export path of one conversion."""
    os.makedirs(folder)
    for f in src_files:
        shutil.copy(f, folder)
    return folder


def project_library(cardvm, javac_exe, jar, test_export_cap, tmp):
    srcs = put(os.path.join(tmp, "src", "xl", "lib"), LIB) + put(os.path.join(tmp, "src", "xl", "app"),
                                                                 {"App.java": APP})
    classes = os.path.join(tmp, "classes")
    r = javac(javac_exe, jar, srcs, classes)
    if r.returncode:
        check(False, "javac: " + r.stderr)
        return
    lib_dbg = os.path.join(tmp, "dbg", "lib.cap")
    lib_plain = os.path.join(tmp, "plain", "lib.cap")
    for cap, extra in ((lib_dbg, ["--debug"]), (lib_plain, [])):
        os.makedirs(os.path.dirname(cap))
        r = convert(cardvm, classes, "xl.lib", "F000000D01", "1.0", [], cap, extra=extra)
        check(r.returncode == 0, "library xl.lib converted %s %s" % (" ".join(extra), r.stderr.strip()))
        if r.returncode:
            return
    r = subprocess.run([test_export_cap, "-", lib_dbg, lib_dbg[:-4] + ".exp"], capture_output=True, text=True)
    check(r.returncode == 0, "the library's CAP read as an export model equals its export file:\n" +
          (r.stdout + r.stderr).strip())

    app = [("F000000D0201", "xl.app.App")]
    caps = {}
    for tag, files in (("exp", [lib_dbg[:-4] + ".exp"]), ("cap", [lib_dbg]), ("nodebug", [lib_plain])):
        path = only(files, os.path.join(tmp, "path-" + tag))
        cap = os.path.join(tmp, "app-%s.cap" % tag)
        r = convert(cardvm, classes, "xl.app", "F000000D02", "1.0", app, cap, export_path=[path])
        caps[tag] = (r, cap)
    (r_exp, cap_exp), (r_cap, cap_cap), (r_nod, _) = caps["exp"], caps["cap"], caps["nodebug"]
    check(r_exp.returncode == 0 and r_cap.returncode == 0,
          "client converted against the library's .exp alone and its CAP alone %s%s" % (r_exp.stderr, r_cap.stderr))
    if r_exp.returncode or r_cap.returncode:
        return
    check(same_cap(cap_exp, cap_cap), "client against lib.cap == client against lib.exp, component for component")
    msg = r_nod.stderr.strip()
    want = ["App.java:%d:" % MISSING_LINE, "class xl/app/App", "method <init>", "missing import",
            "no Debug component", "--debug"]
    check(r_nod.returncode == 1 and all(w in msg for w in want),
          "client against a library CAP without Debug component refused: %s" % msg)

    img = os.path.join(tmp, "card.img")
    subprocess.run([cardvm, "create", img, "--quiet"], check=True)
    r = subprocess.run([cardvm, "gp", img, "--load", lib_dbg], capture_output=True, text=True)
    check(r.returncode == 0, "library loaded %s" % r.stderr.strip())
    r = subprocess.run([cardvm, "gp", img, "--load", cap_cap, "--install"], capture_output=True, text=True)
    check(r.returncode == 0, "client (converted against the library CAP) loaded and installed %s" % r.stderr.strip())
    r = subprocess.run([cardvm, "send", img, "00A4040006F000000D0201"] + ["80%s000002" % i for i, _ in EXPECT],
                       capture_output=True, text=True)
    got = r.stdout.split()
    want = ["9000"] + [v + "9000" for _, v in EXPECT]
    check(got == want, "client answers %s (want %s)" % (got, want))


def oracle_library(cardvm, javac_exe, jar, runner, shared, tmp):
    ls = os.path.join(shared, "javacard", "applets", "libshare")
    if not os.path.isdir(ls):
        print("skip (no %s): the Oracle-made library" % ls)
        return
    classes = os.path.join(tmp, "ls-classes")
    r = javac(javac_exe, jar, sorted(glob.glob(os.path.join(ls, "src", "**", "*.java"), recursive=True)), classes)
    if r.returncode:
        check(False, "javac libshare: " + r.stderr)
        return
    clients = [p for p in oracle_packages(os.path.join(ls, "jc305u3-nodebug")) if not p[0].endswith("loyalty.jca")]
    paths = {
        "exp": [os.path.join(ls, "jc305u3", "loyalty.exp")],
        "cap305": [os.path.join(ls, "jc305u3", "loyalty.cap")],
        "cap222": [os.path.join(ls, "jc222", "loyalty.cap")],
        "nodebug": [os.path.join(ls, "jc305u3-nodebug", "loyalty.cap")],
    }
    out = {}
    for tag, files in paths.items():
        path = only(files, os.path.join(tmp, "ls-path-" + tag))
        out[tag] = os.path.join(tmp, "tree", "javacard", "applets", "libshare", "cardvm-libcap-" + tag)
        os.makedirs(out[tag])
        for jca, name, aid, ver, applets in clients:
            base = os.path.basename(jca)[:-4]
            r = convert(cardvm, classes, name, aid, ver, applets, os.path.join(out[tag], base + ".cap"),
                        export_path=[path])
            if tag == "nodebug":
                check(r.returncode == 1 and "no Debug component" in r.stderr and ".java:" in r.stderr,
                      "%s against Oracle's loyalty.cap without Debug component refused: %s" % (base,
                                                                                            r.stderr.strip()))
            else:
                check(r.returncode == 0, "%s against Oracle's loyalty %s %s" % (base, tag, r.stderr.strip()))
    for tag in ("cap305", "cap222"):
        for jca, _, _, _, _ in clients:
            base = os.path.basename(jca)[:-4] + ".cap"
            a, b = os.path.join(out["exp"], base), os.path.join(out[tag], base)
            check(same_cap(a, b),
                  "%s against Oracle's loyalty.cap alone (%s) == against its loyalty.exp" % (base, tag))
    # on a card: Oracle's library CAP with the clients converted against it
    variant = out["cap305"]
    shutil.copy(paths["cap305"][0], variant)
    shutil.copy(os.path.join(ls, "libshare.apdu"), os.path.dirname(variant))
    r = subprocess.run([runner, "--shared", os.path.join(tmp, "tree"), "--cardvm", cardvm, "--workdir", tmp,
                        "--variant", os.path.basename(variant), "libshare"], capture_output=True, text=True)
    print(r.stdout + r.stderr)
    check(r.returncode == 0, "libshare transcript: Oracle's loyalty.cap + clients converted against it")


def main():
    cardvm, javac_exe, jar, test_export_cap, runner, shared = sys.argv[1:7]
    tmp = tempfile.mkdtemp(prefix="convert_libcap.")
    try:
        project_library(cardvm, javac_exe, jar, test_export_cap, os.path.join(tmp, "project"))
        oracle_library(cardvm, javac_exe, jar, runner, shared, os.path.join(tmp, "oracle"))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    for f in failures:
        print("FAIL " + f.splitlines()[0])
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
