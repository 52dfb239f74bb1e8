#!/usr/bin/env python3
"""extended_length_e2e: issue #13 item 6 end to end, with the example applet
examples/applets/extlen (it implements javacardx.apdu.ExtendedLength) and
the counter example (it does not).

Every expected value is computed here from what is sent: the SHA-256 of
the command data (hashlib), getIncomingLength = Nc, getOffsetCdata = 7 for
an extended Lc (JCRE 3.0.5 9.4.4.1), and the READ object's bytes
((i >> 8) ^ i, as the applet's source defines them). The Java Card limits:
Nc and the Ne an applet sees are shorts, so Le 0000 (Ne 65 536) reaches it
as setOutgoing() = 32 767 (one response carries 32 767 bytes; the
65 536-byte object takes three READs), and Nc above 32 767 is answered
6700 by the runtime (JCRE 9.4.4), as is any extended command to an applet
without ExtendedLength.

Three ways to the same card:
  1. in process: `cardvm gp` loads the CAP over SCP03, `cardvm send IMAGE`
     sends the commands (32 767 data bytes, Le 0000, unsplit);
  2. a `cardvm script` written here: loads and installs over SCP03, sends
     the same commands with their full expected answers, and a wrapped
     extended command (32 000 data bytes) to the security domain;
  3. `cardvm pcscd` with pyscard: the reader's PC/SC part 10 TLV properties
     (dwMaxAPDUDataSize) and SCARD_ATTR_MAXINPUT, then the same commands
     through libpcsclite and pcscd, unsplit (a T=1 exchange each).

usage: test_extlen.py CARDVM CAPDIR PCSC_TEST_DIR [DRIVER]
  (the pcscd part is skipped, with a message, when DRIVER or pcscd or
  pyscard is missing; the rest always runs)
       test_extlen.py --pyscard READER    (the pyscard client, run by part 3)
"""
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile

EXTLEN_PKG = "F063617264766D14"
EXTLEN = "F063617264766D1401"
COUNTER_PKG = "F063617264766D11"
COUNTER = "F063617264766D1101"
KEY = "404142434445464748494A4B4C4D4E4F"
OBJECT = bytes(((i >> 8) ^ i) & 0xFF for i in range(65536))

fails = []


def check(cond, what):
    if not cond:
        fails.append(what)
        print("FAIL " + what)
    return cond


def select(aid):
    return "00A40400%02X%s00" % (len(aid) // 2, aid)


def data_of(n, seed):
    return bytes((i * 7 + seed) & 0xFF for i in range(n))


def digest_cmd(data, le=True):
    """DIGEST in extended form: 80 10 00 00 00 Lc1 Lc2 data [00 00]."""
    return "80100000" + "00%04X" % len(data) + data.hex().upper() + ("0000" if le else "")


def digest_answer(data):
    n = len(data)
    return ("%04X%04X%04X" % (n, 7, n)) + hashlib.sha256(data).hexdigest().upper() + "9000"


def read_cmd(offset):
    return "8020%04X000000" % offset     # case 2E, Le 0000: Ne = 65 536


def read_answer(offset):
    n = min(32767, 65536 - offset)
    return OBJECT[offset:offset + n].hex().upper() + "9000"


# The commands every path sends, with the answer each must give.
def cases():
    small = data_of(10, 1)
    full = data_of(32767, 3)
    return [
        ("extlen: select", select(EXTLEN), "9000"),
        ("extlen: DIGEST 32 767 bytes, Le 0000", digest_cmd(full), digest_answer(full)),
        ("extlen: DIGEST 256 bytes, no Le", digest_cmd(data_of(256, 5), le=False), digest_answer(data_of(256, 5))),
        ("extlen: DIGEST 10 bytes, extended Lc", digest_cmd(small), digest_answer(small)),
        ("extlen: DIGEST 10 bytes, short form", "801000000A" + small.hex().upper() + "00",
         "000A0005000A" + hashlib.sha256(small).hexdigest().upper() + "9000"),
        ("extlen: READ at 0, Le 0000", read_cmd(0), read_answer(0)),
        ("extlen: READ at 32 767, Le 0000", read_cmd(32767), read_answer(32767)),
        ("extlen: READ at 65 534, Le 0000", read_cmd(65534), read_answer(65534)),
        ("extlen: READ at 1000, Le 0400 (extended)", "80200" + "3E8" + "000400", OBJECT[1000:2024].hex().upper() + "9000"),
        ("extlen: Nc 32 768 (above a short): 6700", digest_cmd(data_of(32768, 9)), "6700"),
        ("counter: select", select(COUNTER), "9000"),
        ("counter (no ExtendedLength): 300 data bytes, extended: 6700",
         "80010500" + "00012C" + "00" * 300 + "0000", "6700"),
        ("counter: 2 data bytes in extended form: 6700", "80020000" + "000002" + "0102" + "0000", "6700"),
        ("counter: Le 0100 in extended form: 6700", "80020000000100", "6700"),
        ("counter: the short form still works", "8002000002", "00009000"),
    ]


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=300, **kw)


def part_send(cardvm, capdir, tmp):
    image = os.path.join(tmp, "send.img")
    run([cardvm, "create", "--quiet", image])
    for pkg in ("extlen", "counter"):
        r = run([cardvm, "gp", image, "--load", os.path.join(capdir, pkg + ".cap"), "--install"])
        if not check(r.returncode == 0, f"send: cardvm gp --load {pkg}.cap: {r.stderr.strip()}"):
            return None
    cs = cases()
    r = run([cardvm, "send", image] + [c for _, c, _ in cs])
    got = r.stdout.split()
    check(len(got) == len(cs), f"send: {len(cs)} answers expected, got {len(got)}: {r.stderr.strip()[:300]}")
    for (what, _, want), g in zip(cs, got):
        check(g == want, f"send: {what}: got {g[:80]}{'...' if len(g) > 80 else ''} ({len(g) // 2} bytes), "
                         f"expected {want[:80]}... ({len(want) // 2} bytes)")
    print(f"ok in process (cardvm send): {len(cs)} commands")
    return image


def part_script(cardvm, capdir, tmp):
    image = os.path.join(tmp, "script.img")
    run([cardvm, "create", "--quiet", image])
    # A wrapped (C-MAC + C-DECRYPTION) extended command to the security
    # domain: GET STATUS of the ISD, its search criterion followed by bytes
    # the card ignores (docs/gp.md), 32 000 data bytes in all.
    crit = "4F00" + "00" * 31998
    lines = [
        "# written by test/applets/test_extlen.py",
        f"open 30 {KEY} 03",
        "echo wrapped extended GET STATUS (32 000 data bytes)",
        "send 80F28002 007D00 " + crit + " 0000 -> E3*9000",
        f"load {os.path.join(capdir, 'extlen.cap')}",
        f"install {EXTLEN_PKG} {EXTLEN}",
        f"load {os.path.join(capdir, 'counter.cap')}",
        f"install {COUNTER_PKG} {COUNTER}",
    ]
    for what, cmd, want in cases():
        if cmd.startswith("00A40400"):
            aid = cmd[10:-2]
            lines.append(f"echo {what}")
            lines.append(f"select {aid} -> {want}")
        else:
            lines.append(f"echo {what}")
            lines.append(f"send {cmd} -> {want}")
    path = os.path.join(tmp, "extlen.script")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    r = run([cardvm, "script", path, image])
    check(r.returncode == 0, f"script: exit {r.returncode}: {(r.stdout + r.stderr)[-1500:]}")
    if r.returncode == 0:
        print(f"ok cardvm script: {len(lines)} lines")


def pyscard_client(reader):
    """Run by part 3 with PCSCLITE_CSOCK_NAME set: what a pcsc-lite client
    sees of the reader, then every case through SCardTransmit."""
    from smartcard.CardConnection import CardConnection
    from smartcard.pcsc.PCSCPart10 import getFeatureRequest, getTlvProperties, hasFeature
    from smartcard.scard import SCARD_ATTR_MAXINPUT
    from smartcard.System import readers
    found = [r for r in readers() if str(r) == reader]
    if not check(found, f"pyscard: reader {reader!r} not in {readers()}"):
        return
    conn = found[0].createConnection()
    conn.connect(CardConnection.T1_protocol)
    features = getFeatureRequest(conn)
    check(hasFeature(features, "FEATURE_GET_TLV_PROPERTIES"), f"pyscard: part 10 features {features}")
    props = getTlvProperties(conn)
    size = props.get("PCSCv2_PART10_PROPERTY_dwMaxAPDUDataSize", 0)
    check(size >= 65535, f"pyscard: dwMaxAPDUDataSize {size} (properties {props})")
    maxinput = conn.getAttrib(SCARD_ATTR_MAXINPUT)
    maxinput = int.from_bytes(bytes(maxinput), "little") if maxinput else 0
    check(maxinput >= 4 + 3 + 32767 + 2, f"pyscard: SCARD_ATTR_MAXINPUT {maxinput}")
    n = 0
    for what, cmd, want in cases():
        data, sw1, sw2 = conn.transmit(list(bytes.fromhex(cmd)))
        while sw1 == 0x61:   # response data for a command without Le (ISO 7816-4 5.3.4), as send/script fetch it
            more, sw1, sw2 = conn.transmit([0x00, 0xC0, 0x00, 0x00, sw2])
            data += more
        got = (bytes(data) + bytes([sw1, sw2])).hex().upper()
        check(got == want, f"pyscard: {what}: got {got[:80]} ({len(got) // 2} bytes), expected {want[:80]}")
        n += 1
    conn.disconnect()
    print(f"ok pyscard through pcscd: dwMaxAPDUDataSize {size}, SCARD_ATTR_MAXINPUT {maxinput}, {n} commands")


def part_pcscd(cardvm, pcsc_dir, driver, image, tmp):
    if not driver or not os.path.exists(driver):
        print("SKIP pcscd part: no IFD driver built")
        return
    if not (shutil.which("pcscd") or os.path.exists("/usr/sbin/pcscd")):
        print("SKIP pcscd part: pcscd is not installed")
        return
    py = next((c for c in ("/usr/bin/python3", shutil.which("python3"), sys.executable)
               if c and run([c, "-c", "import smartcard"]).returncode == 0), None)
    if not py:
        print("SKIP pcscd part: pyscard is not installed (python3-pyscard)")
        return
    sys.path.insert(0, pcsc_dir)
    import pcsc_clients as pc

    class Args:
        pass
    a = Args()
    a.cardvm, a.driver, a.data = cardvm, driver, pcsc_dir
    ctx = pc.Context(a, tmp)
    try:
        with pc.PrivatePcscd(ctx, [image]) as d:
            r = run([py, os.path.abspath(__file__), "--pyscard", d.reader(image)], env=d.env())
            print(r.stdout, end="")
            for line in r.stdout.splitlines():
                if line.startswith("FAIL "):
                    fails.append(line[5:])
            check(r.returncode == 0 and "ok pyscard" in r.stdout, f"pyscard client: {r.stderr.strip()[-800:]}")
    except pc.TestFailure as e:
        check(False, f"pcscd: {e}")


def main():
    if sys.argv[1:2] == ["--pyscard"]:
        pyscard_client(sys.argv[2])
        return 1 if fails else 0
    cardvm, capdir, pcsc_dir = sys.argv[1:4]
    driver = sys.argv[4] if len(sys.argv) > 4 else ""
    with tempfile.TemporaryDirectory(prefix="cardvm-extlen-") as tmp:
        image = part_send(cardvm, capdir, tmp)
        part_script(cardvm, capdir, tmp)
        if image:
            part_pcscd(cardvm, pcsc_dir, driver, image, tmp)
    print(f"extended_length_e2e: {len(fails)} failure(s)")
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
