#!/usr/bin/env python3
"""The CAP acceptance runs through PC/SC: `cap_transcripts --reader` against
fresh card images served by a private pcscd (`cardvm pcscd`, started here and
stopped by its process id, as test/pcsc/pcsc_clients.py does: its
PrivatePcscd is reused).

usage: run_pcscd.py --cardvm CARDVM --driver LIBIFD --runner CAP_TRANSCRIPTS
                    --shared DIR [--variant V]... NAME...
One pcscd per variant, with one fresh image (reader) per NAME; the runner
replays NAME's transcript on its reader. With the first variant's pcscd,
one more fresh card gets counter.cap through `cardvm gp --reader` in the
combined INSTALL [for load, install and make selectable] process
(--one-step) and answers `cardvm send --reader` as counter.apdu says. Exit 0 pass, 1 fail, 77 skipped
(../shared absent, or pcscd not installed).
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pcsc"))
from pcsc_clients import Context, PrivatePcscd, TestFailure, find_pcscd  # noqa: E402

SKIP = 77
VARIANTS = ["jc222", "jc222-nodebug", "jc305u3", "jc305u3-nodebug"]


def gp_one_step(args, pcscd, image, variant):
    """cardvm gp --reader ... --load counter.cap --install --one-step, then
    the counter transcript's first exchange after SELECT."""
    cap = os.path.join(args.shared, "javacard", "applets", "counter", variant, "counter.cap")
    reader = pcscd.reader(image)
    gp = subprocess.run([args.cardvm, "gp", "--reader", reader, "--load", cap, "--install", "--one-step", "--list"],
                        env=pcscd.env(), capture_output=True, text=True, timeout=120)
    send = subprocess.run([args.cardvm, "send", "--reader", reader, "00A4040008F0434150574B0101", "8011000006"],
                          env=pcscd.env(), capture_output=True, text=True, timeout=60)
    ok = (gp.returncode == 0 and "APP: F0434150574B0101 (SELECTABLE)" in gp.stdout and
          send.stdout.split()[-2:] == ["9000", "0000000100009000"])
    print(f"{'PASS' if ok else 'FAIL'} gp --one-step counter {variant} through pcscd")
    if not ok:
        print(gp.stdout + gp.stderr + send.stdout + send.stderr)
    return ok


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cardvm", required=True)
    ap.add_argument("--driver", required=True)
    ap.add_argument("--runner", required=True)
    ap.add_argument("--shared", required=True)
    ap.add_argument("--variant", action="append")
    ap.add_argument("names", nargs="+")
    args = ap.parse_args()
    if not os.path.isdir(os.path.join(args.shared, "javacard")):
        print(f"SKIP: {args.shared}/javacard not found (the shared Java Card test material is not beside this clone)")
        return SKIP
    if not find_pcscd():
        print("SKIP: pcscd is not installed")
        return SKIP
    tmp = tempfile.mkdtemp(prefix="cardvm-cap-pcscd.")
    # Context wants the attributes pcsc_clients' command line gives it
    args.data = tmp
    ctx = Context(args, tmp)
    fails = 0
    runs = 0
    try:
        for n, variant in enumerate(args.variant or VARIANTS):
            images = [ctx.create(f"{os.path.basename(name)}-{variant}.img", blank=False) for name in args.names]
            one_step = ctx.create(f"one-step-{variant}.img", blank=False) if n == 0 else None
            with PrivatePcscd(ctx, images + ([one_step] if one_step else [])) as pcscd:
                if one_step:
                    runs += 1
                    if not gp_one_step(args, pcscd, one_step, variant):
                        fails += 1
                for name, image in zip(args.names, images):
                    runs += 1
                    r = subprocess.run([args.runner, "--shared", args.shared, "--reader", pcscd.reader(image),
                                        "--variant", variant, name],
                                       env=pcscd.env(), capture_output=True, text=True, timeout=300)
                    sys.stdout.write(r.stdout)
                    if r.returncode != 0:
                        fails += 1
                        sys.stdout.write(r.stderr)
    except TestFailure as e:
        print(f"FAIL: {e}")
        return 1
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"pcscd: {runs - fails} of {runs} runs passed")
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
