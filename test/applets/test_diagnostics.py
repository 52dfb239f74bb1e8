#!/usr/bin/env python3
"""Applet diagnostics (issue 14 item 4) with the debugging example
examples/applets/faulty (FaultyApplet.java, faulty.jca with a Debug
component):

* `cardvm --trace send`: INS 10 with P1 = 5 reads past pick()'s 4-byte
  table: the trace names java/lang/ArrayIndexOutOfBoundsException, the
  helper pick(B)B at the pc of its baload with its source line, and the
  caller process() at its source line; INS 20 runs out of the bytecode
  budget in spin()'s loop (its line); the card client sees only the status
  words (ISO 7816-4 6F00 "no precise diagnosis", 6D00), the same with and
  without --trace.
* without the Debug component: the same frames by Method offset and pc.
* `cardvm --trace gp --install` without the application data install()
  needs: the failed install() is explained (install, its source line).
* `cardvm verify` on a CAP whose install() has too small a max_stack: the
  refusal names the method and its source line.
* `cardvm --trace --debug-cap pcscd`: the driver's log explains the same
  exception (skipped when pcscd is not installed).
Expected lines and pcs come from the Java source and the JVM instruction
sizes (JCVM 3.0.5 ch. 7), never from cardvm's output.
usage: test_diagnostics.py CARDVM FAULTY_CAP JAVA_SOURCE JCA DRIVER
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "pcsc"))
from pcsc_clients import Context, PrivatePcscd, TestFailure, find_pcscd  # noqa: E402

PKG = "F063617264766D1F"
APPLET = PKG + "01"
failures = []


def expect(cond, what, out=""):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures.append(what)
        print(out[-3000:])


def run(*args, env=None):
    return subprocess.run(list(args), capture_output=True, text=True, timeout=120, env=env)


def source_line(java, needle):
    lines = [i + 1 for i, l in enumerate(open(java)) if needle in l]
    assert len(lines) == 1, needle
    return lines[0]


def main():
    cardvm, cap, java, jca, driver = sys.argv[1:6]
    src = os.path.basename(java)
    pick_line = source_line(java, "return table[index];")
    call_line = source_line(java, "buf[0] = pick(")
    loop_line = source_line(java, "n++;")
    install_line = source_line(java, "new FaultyApplet(bArray")
    # pick(B)B: getfield_a_this (2 bytes), sload_1 (1), then baload: pc 3
    pick_pc = 3
    with tempfile.TemporaryDirectory() as tmp:
        img = os.path.join(tmp, "card.img")
        run(cardvm, "create", img, "--quiet")
        # a failed install(): no application data
        r = run(cardvm, "--trace", "gp", img, "--load", cap, "--install")
        expect(r.returncode != 0 and "6F00" in r.stderr, "install without parameters fails with 6F00", r.stderr)
        expect(re.search(r"card: install\(\) ended with uncaught java/lang/ArrayIndexOutOfBoundsException", r.stderr)
               and f"FaultyApplet.install([BSB)V pc " in r.stderr and f"({src}:{install_line})" in r.stderr,
               f"trace: the failed install() at {src}:{install_line}", r.stderr)
        r = run(cardvm, "--trace", "gp", img, "--install", "--package", PKG, "--applet", APPLET, "--params", "04")
        expect(r.returncode == 0 and "card:" not in r.stderr, "install with a 4-byte table: no fault", r.stderr)

        cmds = ["00A40400" + "%02X" % (len(APPLET) // 2) + APPLET, "8010030000", "8010050000", "8020000000",
                "80300000"]
        want = ["9000", "009000", "6F00", "6F00", "6D00"]
        plain = run(cardvm, "send", img, *cmds)
        expect(plain.stdout.split() == want, f"the client sees {want}", plain.stdout + plain.stderr)
        r = run(cardvm, "--trace", "--debug-cap", cap, "send", img, *cmds)
        expect(r.stdout == plain.stdout, "--trace changes nothing the client sees", r.stdout)
        t = r.stderr
        expect("card: process() ended with uncaught java/lang/ArrayIndexOutOfBoundsException -> SW 6F00" in t,
               "trace: exception class, entry point, SW", t)
        expect(re.search(rf"card:   at cardvm/examples/faulty/FaultyApplet\.pick\(B\)B pc {pick_pc} "
                         rf"\({src}:{pick_line}\)", t),
               f"trace: the helper pick() at pc {pick_pc}, {src}:{pick_line}", t)
        frames = re.findall(r"card:   at (\S+) pc (\d+)", t)
        expect(len(frames) >= 2 and frames[1][0].endswith("FaultyApplet.process(Ljavacard/framework/APDU;)V")
               and f"({src}:{call_line})" in t, f"trace: the caller process() at {src}:{call_line}", t)
        expect(re.search(rf"card: process\(\) ran out of its bytecode budget.*\n"
                         rf"card:   loop at \S+FaultyApplet\.spin\(\)V pc \d+ \({src}:{loop_line}\)", t),
               f"trace: the budget overrun in spin()'s loop, {src}:{loop_line}", t)
        expect("ISOException.throwIt(0x6D00)" in t, "trace: where the 6D00 came from", t)
        # no Debug component: frames by Method offset and pc
        r = run(cardvm, "--trace", "send", img, cmds[0], cmds[2])
        expect(re.search(rf"card:   at package {PKG} method 0x[0-9A-F]{{4}} pc {pick_pc}\n", r.stderr),
               "trace without Debug: package, Method offset, pc", r.stderr)

        # a script: the CAP it loads gives the names, no --debug-cap needed
        script = os.path.join(tmp, "faulty.script")
        open(script, "w").write(f"open 30 404142434445464748494A4B4C4D4E4F 03\nload {os.path.basename(cap)}\n"
                                f"install {PKG} {APPLET} - 04\nselect {APPLET}\nsend 8010050000 -> 6F00\n")
        img3 = os.path.join(tmp, "script.img")
        run(cardvm, "create", img3, "--quiet")
        r = run(cardvm, "--trace", "script", script, img3, "-I", os.path.dirname(cap))
        expect(r.returncode == 0 and f"FaultyApplet.pick(B)B pc {pick_pc} ({src}:{pick_line})" in r.stderr,
               "script --trace: names and lines from the CAP the script loads", r.stdout + r.stderr)

        # verify: a refusal in install() in source terms
        bad = os.path.join(tmp, "bad.jca")
        text = open(jca).read()
        i = text.index("install([BSB)V")
        open(bad, "w").write(text[:i] + text[i:].replace(".stack 5;", ".stack 2;", 1))
        badcap = os.path.join(tmp, "bad.cap")
        r = run(cardvm, "asm", bad, "-o", badcap)
        r = run(cardvm, "verify", badcap)
        expect(r.returncode == 1 and "Method offset" in r.stdout and "stack overflow" in r.stdout
               and re.search(rf"in \S+FaultyApplet\.install\(\[BSB\)V pc \d+ \({src}:\d+\)", r.stdout),
               "verify: the refused method by name and source line", r.stdout)

        # pcscd: the driver's log
        if not find_pcscd() or not os.path.exists(driver):
            print("skip: pcscd or the driver is not here (driver log part)")
        else:
            class A:
                pass
            a = A()
            a.cardvm, a.driver, a.data = cardvm, driver, None
            ctx = Context(a, tmp)
            img2 = os.path.join(tmp, "reader.img")
            shutil.copy(img, img2)
            p = PrivatePcscd(ctx, [img2], extra=["--trace", "--debug-cap", cap])
            try:
                p.start()
                r = run(cardvm, "send", "--reader", p.reader(img2), cmds[0], cmds[2], env=p.env())
                expect(r.stdout.split() == ["9000", "6F00"], "through pcscd: 6F00", r.stdout + r.stderr)
                log = p.read_log()
                expect("card: process() ended with uncaught java/lang/ArrayIndexOutOfBoundsException" in log
                       and f"FaultyApplet.pick(B)B pc {pick_pc} ({src}:{pick_line})" in log,
                       "pcscd log: the exception with the helper's source line", log)
            except TestFailure as e:
                expect(False, f"pcscd: {e}")
            finally:
                p.stop()
    print("ok" if not failures else f"{len(failures)} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
