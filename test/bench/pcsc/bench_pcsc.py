#!/usr/bin/env python3
"""PC/SC round trips: the cardvm IFD handler next to vsmartcard's vpcd.

Measures, through a real pcscd and libpcsclite (pyscard's SCardTransmit), the
round-trip latency and APDUs per second of

  select   00 A4 04 00 08 A0000001510000 00   (SELECT, 2-byte answer)
  echo255  80 EE 00 00 FF <255 bytes> 00      (255 bytes in, 255 + SW out)

for three set-ups, each with its own private pcscd:

  cardvm-ifd    `cardvm pcscd IMAGE`: the cardvm driver, card in pcscd's process
  vpcd+cardvm   vsmartcard's vpcd driver, the same cardvm card behind it
                (`cardvm vicc`, TCP on 127.0.0.1)
  vpcd+pyvicc   vpcd with python3-virtualsmartcard's iso7816 card (`vicc`);
                it has no echo command, so echo255 is its answer to that
                255-byte command (an error status word), still 255 bytes in

Debian's vpcd listens on all interfaces, so the vpcd set-ups run in their own
network namespace (`unshare -n`, loopback up) together with their own mount
namespace for pcscd's /run (see docs/pcsc.md). Needs root (or user
namespaces), pcscd, python3-pyscard, and vsmartcard: either installed
(vsmartcard-vpcd, vsmartcard-vpicc, python3-virtualsmartcard) or unpacked
with `dpkg -x` into --vsmartcard-root DIR.

usage: bench_pcsc.py --cardvm build/bin/cardvm [--vsmartcard-root DIR] [--seconds S]
Prints one line per set-up and command, then the ratios to cardvm-ifd.
"""
import argparse
import glob
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

SELECT = bytes.fromhex("00A4040008A000000151000000")
ECHO255 = bytes.fromhex("80EE0000FF") + bytes((i * 13) & 0xFF for i in range(255)) + b"\x00"
VPCD_PORT = 35963

CLIENT = r'''
import sys, time
from smartcard.scard import *
socket_name, reader_prefix, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
cmds = [("select", bytes.fromhex(sys.argv[4])), ("echo255", bytes.fromhex(sys.argv[5]))]
hr, ctx = SCardEstablishContext(SCARD_SCOPE_USER)
deadline = time.monotonic() + 20
while True:
    hr, readers = SCardListReaders(ctx, [])
    names = [r for r in (readers or []) if r.startswith(reader_prefix)]
    if names:
        hr, card, proto = SCardConnect(ctx, names[0], SCARD_SHARE_SHARED, SCARD_PROTOCOL_T1 | SCARD_PROTOCOL_T0)
        if hr == SCARD_S_SUCCESS:
            break
    if time.monotonic() > deadline:
        sys.exit("no card in a reader named %r (last: %s)" % (reader_prefix, SCardGetErrorMessage(hr)))
    time.sleep(0.2)
for name, apdu in cmds:
    apdu = list(apdu)
    for _ in range(50):  # warm up
        SCardTransmit(card, proto, apdu)
    n, lat, first = 0, [], None
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        t0 = time.perf_counter()
        hr, rsp = SCardTransmit(card, proto, apdu)
        lat.append(time.perf_counter() - t0)
        if hr != SCARD_S_SUCCESS:
            sys.exit("transmit: " + SCardGetErrorMessage(hr))
        first = first or rsp
        n += 1
    total = time.perf_counter() - start
    lat.sort()
    print("%s %d %.6f %.6f %.6f %s" % (name, n, total, lat[len(lat) // 2], lat[int(len(lat) * 0.99)],
                                      bytes(first[-2:]).hex()))
SCardDisconnect(card, SCARD_LEAVE_CARD)
'''


def python_with_pyscard():
    for cand in ["/usr/bin/python3", shutil.which("python3"), sys.executable]:
        if cand and subprocess.run([cand, "-c", "import smartcard"], capture_output=True).returncode == 0:
            return cand
    sys.exit("python3-pyscard is needed")


def find(root, *candidates):
    for c in candidates:
        hits = glob.glob((root or "") + c)
        if hits:
            return hits[0]
    return None


def run_client(py, socket_name, prefix, seconds):
    env = dict(os.environ, PCSCLITE_CSOCK_NAME=socket_name)
    r = subprocess.run([py, "-c", CLIENT, socket_name, prefix, str(seconds), SELECT.hex(), ECHO255.hex()],
                       capture_output=True, text=True, env=env, timeout=120)
    if r.returncode != 0:
        raise RuntimeError(r.stderr.strip() or r.stdout)
    rows = {}
    for line in r.stdout.splitlines():
        name, n, total, p50, p99, sw = line.split()
        rows[name] = dict(n=int(n), total=float(total), p50=float(p50), p99=float(p99), sw=sw)
    return rows


def bench_cardvm_ifd(args, py, tmp, image):
    proc = subprocess.Popen([args.cardvm, "pcscd", "--dir", os.path.join(tmp, "ifd"), image],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        socket_name = None
        for line in proc.stdout:
            m = re.match(r"export PCSCLITE_CSOCK_NAME=(\S+)", line)
            if m:
                socket_name = m.group(1)
            if line.startswith("ready"):
                break
        if not socket_name:
            raise RuntimeError("cardvm pcscd did not start")
        return run_client(py, socket_name, "cardvm ", args.seconds)
    finally:
        os.kill(proc.pid, signal.SIGTERM)
        proc.wait(timeout=15)


def bench_vpcd(args, py, tmp, label, card_cmd, env_extra):
    """pcscd with vpcd plus a card, in private net + mount namespaces."""
    root = args.vsmartcard_root
    vpcd = find(root, "/usr/lib/pcsc/drivers/serial/libifdvpcd.so*")
    if not vpcd:
        raise RuntimeError("vsmartcard-vpcd not found (install it or pass --vsmartcard-root)")
    work = os.path.join(tmp, label)
    os.makedirs(os.path.join(work, "run"))
    os.makedirs(os.path.join(work, "no-usb-drivers"))
    conf = os.path.join(work, "reader.conf")
    with open(conf, "w") as f:
        f.write(f'FRIENDLYNAME "vpcd bench"\nDEVICENAME /dev/null:{VPCD_PORT}\nLIBPATH {vpcd}\nCHANNELID {VPCD_PORT}\n')
    pcscd = shutil.which("pcscd") or "/usr/sbin/pcscd"
    lib_dirs = ":".join(d for d in [os.path.join(root, "usr/lib/x86_64-linux-gnu")] if root and os.path.isdir(d))
    script = (
        "set -e; ip link set lo up; mount --make-rprivate /; "
        f"mount --bind {work}/run /run; "
        f"[ -d /usr/lib/pcsc/drivers ] && mount --bind {work}/no-usb-drivers /usr/lib/pcsc/drivers; "
        f"LD_LIBRARY_PATH={lib_dirs} {pcscd} --foreground --config {conf} >{work}/pcscd.log 2>&1 & P=$!; "
        "sleep 0.5; "
        f"{card_cmd} >{work}/card.log 2>&1 & C=$!; "
        "trap 'kill $C $P 2>/dev/null; wait' TERM INT; wait"
    )
    env = dict(os.environ, **env_extra)
    proc = subprocess.Popen(["unshare", "-n", "-m", "sh", "-c", script], env=env)
    try:
        socket_name = os.path.join(work, "run", "pcscd", "pcscd.comm")
        deadline = time.monotonic() + 15
        while not os.path.exists(socket_name):
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError(f"{label}: pcscd did not start")
            time.sleep(0.1)
        return run_client(py, socket_name, "vpcd bench", args.seconds)
    finally:
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cardvm", required=True)
    ap.add_argument("--vsmartcard-root", default="", help="folder where the vsmartcard .debs were unpacked")
    ap.add_argument("--seconds", type=float, default=3.0)
    args = ap.parse_args()
    args.cardvm = os.path.realpath(args.cardvm)
    py = python_with_pyscard()
    tmp = tempfile.mkdtemp(prefix="cardvm-bench-pcsc.")
    try:
        image = os.path.join(tmp, "bench.img")
        create = [args.cardvm, "create", image]
        if "--blank" in subprocess.run([args.cardvm, "create", "--help"], capture_output=True, text=True).stdout:
            create.insert(2, "--blank")
        subprocess.run(create, check=True, capture_output=True)

        results = {"cardvm-ifd": bench_cardvm_ifd(args, py, tmp, image)}
        try:
            results["vpcd+cardvm"] = bench_vpcd(args, py, tmp, "vpcd-cardvm",
                                                f"{args.cardvm} vicc {image} --port {VPCD_PORT}", {})
        except RuntimeError as e:
            print(f"vpcd+cardvm: skipped: {e}")
        vicc = find(args.vsmartcard_root, "/usr/bin/vicc")
        if vicc:
            pypath = find(args.vsmartcard_root, "/usr/lib/python3/*-packages/virtualsmartcard",
                          "/usr/lib/python3/dist-packages")
            paths = [pypath] if pypath else []
            if subprocess.run([py, "-c", "import Crypto"], capture_output=True).returncode != 0:
                # Without PyCrypto, virtualsmartcard falls back to Python 2's
                # `sha` module; a stand-in over hashlib is enough for iso7816.
                shim = os.path.join(tmp, "py2shim")
                os.makedirs(shim, exist_ok=True)
                with open(os.path.join(shim, "sha.py"), "w") as f:
                    f.write("import hashlib\n\n\ndef new(data=b''):\n    return hashlib.sha1(data)\n")
                paths.append(shim)
            env = {"PYTHONPATH": ":".join(paths)} if paths else {}
            try:
                results["vpcd+pyvicc"] = bench_vpcd(args, py, tmp, "vpcd-pyvicc",
                                                    f"{py} {vicc} -t iso7816 -P {VPCD_PORT}", env)
            except RuntimeError as e:
                print(f"vpcd+pyvicc: skipped: {e}")
        else:
            print("vpcd+pyvicc: skipped: vicc (vsmartcard-vpicc) not found")

        print(f"{'set-up':<13} {'command':<8} {'APDUs':>7} {'APDU/s':>9} {'p50 us':>8} {'p99 us':>8}  SW")
        for label, rows in results.items():
            for name, r in rows.items():
                print(f"{label:<13} {name:<8} {r['n']:>7} {r['n'] / r['total']:>9.0f} "
                      f"{r['p50'] * 1e6:>8.0f} {r['p99'] * 1e6:>8.0f}  {r['sw']}")
        base = results["cardvm-ifd"]
        for label, rows in results.items():
            if label == "cardvm-ifd":
                continue
            for name, r in rows.items():
                ratio = (base[name]["n"] / base[name]["total"]) / (r["n"] / r["total"])
                print(f"ratio {name}: cardvm-ifd is {ratio:.2f}x the APDUs/s of {label}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
