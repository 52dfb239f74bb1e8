#!/usr/bin/env python3
"""A library method inherited by a subclass, named through the subclass
(JCVM 3.0.5 6.7.2: a CONSTANT_VirtualMethodref's token is defined within
the hierarchy of the class it names), and what the verifier refuses about
final classes and methods (JLS 8.1.1.2, 8.4.3.3; the VM calls a final API
method without looking at the object's class).

inherit_lib.jca: Base declares twice() (token 1); Sub extends Base and
declares plus() only. inherit_app.jca calls s.twice() on a Sub through
virtualMethodRef 1.1.1 (Sub). Checked with `cardvm verify --lib` and on a
card (load, install, SELECT, the command: 21 * 2 = 002A, from the JCA):
  * the client verifies and answers 002A9000;
  * a token no class of Sub's hierarchy has (1.1.5) is refused;
  * a library whose Base is final: Sub extending it is refused;
  * a library whose Base.twice() is final and Sub overrides it: refused;
  * a client overriding Applet.register()V (final, token 1): refused.
usage: test_jca_inherit.py CARDVM INHERIT_LIB_JCA INHERIT_APP_JCA
Exit 0 pass, 1 fail.
"""
import os
import subprocess
import sys
import tempfile

failures = []


def run(*args):
    return subprocess.run(list(args), capture_output=True, text=True, timeout=120)


def expect(cond, what, out=""):
    print("%s %s" % ("ok" if cond else "FAIL", what))
    if not cond:
        failures.append("%s\n%s" % (what, out))


def variant(tmp, name, text, old, new):
    assert old in text, old
    path = os.path.join(tmp, name)
    with open(path, "w") as f:
        f.write(text.replace(old, new, 1))
    return path


def main():
    cardvm, lib_jca, app_jca = sys.argv[1:4]
    lib_src, app_src = open(lib_jca).read(), open(app_jca).read()
    with tempfile.TemporaryDirectory() as tmp:
        lib, app = os.path.join(tmp, "lib.cap"), os.path.join(tmp, "app.cap")
        r = run(cardvm, "asm", lib_jca, "-o", lib, "--verify")
        expect(r.returncode == 0, "the library assembles and verifies", r.stderr)
        r = run(cardvm, "asm", app_jca, "-o", app)
        expect(r.returncode == 0, "the client assembles", r.stderr)
        if failures:
            return report()
        r = run(cardvm, "verify", app, "--lib", lib)
        expect(r.returncode == 0 and "app.cap: OK" in r.stdout,
               "the client, naming Sub for Base's twice(), verifies", r.stdout + r.stderr)

        bad = variant(tmp, "app_token.jca", app_src, "virtualMethodRef 1.1.1()S;", "virtualMethodRef 1.1.5()S;")
        r = run(cardvm, "asm", bad, "-o", bad[:-4] + ".cap")
        r = run(cardvm, "verify", bad[:-4] + ".cap", "--lib", lib)
        expect(r.returncode == 1 and "no such virtual method in the library class or its superclasses" in r.stdout,
               "a token outside Sub's hierarchy is refused", r.stdout + r.stderr)

        bad = variant(tmp, "lib_final.jca", lib_src, ".class public Base 0", ".class public final Base 0")
        r = run(cardvm, "asm", bad, "-o", bad[:-4] + ".cap", "--verify")
        expect(r.returncode == 1 and "is final" in r.stderr, "a subclass of a final class is refused", r.stderr)

        text = lib_src.replace(".method public twice()S 1", ".method public final twice()S 1")
        bad = variant(tmp, "lib_final_method.jca", text, "\t\t.method public plus(S)S 2 {",
                      "\t\t.method public twice()S 1 {\n\t\t\t.stack 1;\n\t\t\t.locals 0;\n\n\t\t\t\tsconst_0;\n"
                      "\t\t\t\tsreturn;\n\t\t}\n\n\t\t.method public plus(S)S 2 {")
        r = run(cardvm, "asm", bad, "-o", bad[:-4] + ".cap", "--verify")
        expect(r.returncode == 1 and "overrides a final method" in r.stderr,
               "an override of a final library method is refused", r.stderr)

        bad = variant(tmp, "app_register.jca", app_src, "\t\t.method public static install([BSB)V 0 {",
                      "\t\t.method public register()V 1 {\n\t\t\t.stack 0;\n\t\t\t.locals 0;\n\n\t\t\t\treturn;\n"
                      "\t\t}\n\n\t\t.method public static install([BSB)V 0 {")
        r = run(cardvm, "asm", bad, "-o", bad[:-4] + ".cap")
        r = run(cardvm, "verify", bad[:-4] + ".cap", "--lib", lib)
        expect(r.returncode == 1 and "overrides a final method" in r.stdout,
               "an override of Applet.register()V (final) is refused", r.stdout + r.stderr)

        img = os.path.join(tmp, "card.img")
        run(cardvm, "create", img, "--quiet")
        r = run(cardvm, "gp", img, "--load", lib)
        expect(r.returncode == 0, "the library loads on a card", r.stdout + r.stderr)
        r = run(cardvm, "gp", img, "--load", app, "--install")
        expect(r.returncode == 0, "the client loads and installs", r.stdout + r.stderr)
        r = run(cardvm, "send", img, "00A4040006F000000E0201", "8010000002")
        expect(r.stdout.split() == ["9000", "002A9000"], "the client answers 002A9000", r.stdout + r.stderr)
    return report()


def report():
    print("ok" if not failures else "%d failure(s)" % len(failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
