#!/usr/bin/env python3
"""Issue 16: a killed personalization always completes on the next run.

The real `cardvm personalize` (fork/exec) is killed with SIGKILL at a random
delay, N times, each time on a fresh copy of the same mounted ISSUER-mode
card; `cardvm personalize` is then run again with the same arguments, and
the card must end in USER mode with the same content as an uninterrupted
run: the same `cardvm info` (less the wear and free-space figures, which
depend on where the cut fell), the same answers from the security domain,
the vectored OS commands and the key information template, and the same
`cardvm gp --list` through an SCP03 session with the personalized keys.

    kill_personalize.py CARDVM SOURCE_DIR [--kills N] [--seed S]

N kills mid-way (runs that end before their kill are not counted): $CARDVM_KILLS if set (it overrides --kills, so `CARDVM_KILLS=1000 ctest -R
personalize_kill` works), else --kills, else 200. The personalization loads an update
package and both common keys, so every customization command is cut.
"""
import argparse
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

UNLOCK = "C0C1C2C3C4C5C6C7C8C9CACBCCCDCECFD0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF"
KOS = "00112233445566778899AABBCCDDEEFF"
KMAC = "0F1E2D3C4B5A69788796A5B4C3D2E1F0"
PROBE = ["00A4040008A00000015100000000", "80F0000000", "80F400000548656C6C6F00", "80CA00E000",
         "80CADF2100", "80CA00CF00", "80CADF2400"]
VOLATILE = re.compile(r"^(image|NVM free|page writes|commits):")


def run(args, ok=True):
    r = subprocess.run(args, capture_output=True, text=True, timeout=60)
    if ok and r.returncode != 0:
        sys.exit(f"FAIL: {' '.join(args)} -> {r.returncode}\n{r.stdout}{r.stderr}")
    return r


def content(cardvm, img):
    """What the card holds: its info, the answers to PROBE, and (last, as it
    moves the sequence counter) a GP session with the key set personalized,
    which proves the key values, listing the card's content."""
    info = run([cardvm, "info", img]).stdout.splitlines()
    info = [l for l in info if not VOLATILE.match(l)]
    answers = run([cardvm, "send", img] + PROBE).stdout
    gp = run([cardvm, "gp", img, "--list"]).stdout
    return "\n".join(info) + "\n" + answers + gp


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("cardvm")
    ap.add_argument("source")
    ap.add_argument("--kills", type=int, default=200)
    ap.add_argument("--seed", type=int, default=16)
    a = ap.parse_args()
    if os.environ.get("CARDVM_KILLS"):
        a.kills = int(os.environ["CARDVM_KILLS"])   # overrides ctest's count
    cardvm = os.path.realpath(a.cardvm)
    rnd = random.Random(a.seed)
    tmp = tempfile.mkdtemp(prefix="cardvm-kill-")
    try:
        p = lambda n: os.path.join(tmp, n)
        run([cardvm, "asm", os.path.join(a.source, "examples/customization/custom.jca"), "-o", p("custom.cap")])
        run([cardvm, "asm", os.path.join(a.source, "examples/update/os_update.jca"), "-o", p("update.cap")])
        hash_code = run([cardvm, "seal", p("custom.cap"), "--unlock-key", UNLOCK, "-o", p("custom.sealed")]).stdout.split()[2]
        run([cardvm, "mask", p("template.img"), "--sealed", p("custom.sealed")])
        run([cardvm, "send", p("template.img"), "80120000080000000000001016"])
        perso = lambda img: [cardvm, "personalize", img, "--unlock-key", UNLOCK, "--hash", hash_code,
                             "--load", p("update.cap"), "--kos", KOS, "--kmac", KMAC, "--quiet"]

        # The uninterrupted run's time (the fastest of three: the first one
        # pays for cold caches) bounds the kill delays.
        t_ref = None
        for _ in range(3):
            shutil.copyfile(p("template.img"), p("ref.img"))
            t0 = time.monotonic()
            run(perso(p("ref.img")))
            t = time.monotonic() - t0
            t_ref = t if t_ref is None else min(t_ref, t)
        ref = content(cardvm, p("ref.img"))
        if "mode:         USER" not in ref or "A0000006990101 v2.0 library" not in ref:
            sys.exit(f"FAIL: the uninterrupted run:\n{ref}")

        # Runs go on until N of them were killed mid-way (a run that ends
        # before its kill does not count; at most 3N runs).
        # The delay bound adapts to the machine's speed as it goes (a loaded
        # machine slows runs down, an idle one speeds them up): shrink it when
        # a run ended before its kill, let it grow back towards 0.9 t_ref.
        seen = {}
        hi = 0.9 * t_ref
        t_start = time.monotonic()
        i = -1
        while (i := i + 1) < 3 * a.kills and i - seen.get("finished before the kill", 0) < a.kills:
            img = p("k.img")
            shutil.copyfile(p("template.img"), img)
            proc = subprocess.Popen(perso(img), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(rnd.uniform(0, hi))
            finished = proc.poll() is not None
            hi = hi * 0.8 if finished else min(hi * 1.05, 0.9 * t_ref)
            if not finished:
                os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
            r = run(perso(img)[:-1], ok=False)   # not --quiet: it says what it found
            if finished:
                where = "finished before the kill"
            elif "already in USER mode" in r.stdout:
                where = "USER"
            elif "resuming" in r.stdout:
                where = "CUSTOMIZATION"
            elif "UNLOCK" in r.stdout:
                where = "ISSUER"
            else:
                where = "?"
            seen[where] = seen.get(where, 0) + 1
            if r.returncode != 0:
                sys.exit(f"FAIL: kill {i} (card {where}): personalize after the kill -> {r.returncode}\n{r.stderr}")
            got = content(cardvm, img)
            if got != ref:
                sys.exit(f"FAIL: kill {i} (card {where}): content differs\n--- uninterrupted\n{ref}\n--- resumed\n{got}")
        took = time.monotonic() - t_start
        kills = i - seen.get("finished before the kill", 0)
        if kills < a.kills:
            sys.exit(f"FAIL: only {kills} of {i} runs could be killed mid-way")
        print(f"ok: {kills} runs killed mid-way ({i} started), all completed by the next personalize "
              f"({took:.1f} s; uninterrupted run {t_ref * 1000:.0f} ms)")
        for k in sorted(seen):
            print(f"  card found in {k}: {seen[k]}" if k != "finished before the kill" else f"  {k}: {seen[k]}")
        return 0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
