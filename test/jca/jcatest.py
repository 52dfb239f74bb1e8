"""What the JCA applet tests (test_jca_*.py) share: running cardvm, the
list of failures a test collects and reports at the end, command APDUs of
the test applets (CLA 80) and sending them after a SELECT.

A test imports it from its own folder:
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from jcatest import apdu, expect, failures, report, run, send
"""
import os
import subprocess
import sys

failures = []


def need_cryptography():
    """Exit 77 (skip) when python3-cryptography, the tests' independent
    implementation, is not installed."""
    try:
        import cryptography  # noqa: F401
    except ImportError:
        print("SKIP: python3-cryptography is not installed (scripts/deps.sh)")
        sys.exit(77)


def run(*args, ok=True):
    """Run a command; unless ok=False, a non-zero exit is a failure."""
    r = subprocess.run(list(args), capture_output=True, text=True, timeout=300)
    if ok and r.returncode != 0:
        failures.append(f"{' '.join(args)} exited {r.returncode}:\n{r.stdout}{r.stderr}")
    return r


def expect(cond, what, out=""):
    if not cond:
        failures.append(f"{what}\n{out}")


def report():
    """Print the failures; the exit status (0 pass, 1 fail)."""
    for f in failures:
        print("FAIL:", f)
    print("ok" if not failures else f"{len(failures)} failure(s)")
    return 1 if failures else 0


def apdu(ins, p1, data=b"", le=True, p2=0):
    """80 INS P1 P2 [Lc data] [Le 00], as hex."""
    h = bytes([0x80, ins, p1, p2])
    if data:
        h += bytes([len(data)]) + data
    if le:
        h += b"\x00"
    return h.hex().upper()


def send(cardvm, img, select, *cmds):
    """Answers (data bytes, SW hex) of the commands after SELECT `select`
    (which must answer 9000), in one `cardvm send`."""
    r = run(cardvm, "send", img, select, *cmds, ok=False)
    lines = r.stdout.split()
    if len(lines) != len(cmds) + 1 or lines[0] != "9000":
        failures.append(f"send {cmds}: {r.stdout}{r.stderr}")
        return [(b"", "????")] * len(cmds)
    return [(bytes.fromhex(l[:-4]), l[-4:]) for l in lines[1:]]


def new_card(cardvm, img, cap):
    """A new card image at img with the CAP's applet loaded and installed."""
    if os.path.exists(img):
        os.remove(img)
    run(cardvm, "create", img, "--quiet")
    run(cardvm, "gp", img, "--load", cap, "--install")
