#!/usr/bin/env python3
"""The CAP acceptance runs through PC/SC: `cap_transcripts --reader` against
fresh card images served by a private pcscd (`cardvm pcscd`, started here and
stopped by its process id, as test/pcsc/pcsc_clients.py does: its
PrivatePcscd is reused).

usage: run_pcscd.py --cardvm CARDVM --driver LIBIFD --runner CAP_TRANSCRIPTS
                    --shared DIR [--variant V]... NAME...
One pcscd per variant, with one fresh image (reader) per NAME; the runner
replays NAME's transcript on its reader. Exit 0 pass, 1 fail, 77 skipped
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
        for variant in args.variant or VARIANTS:
            images = [ctx.create(f"{name}-{variant}.img", blank=False) for name in args.names]
            with PrivatePcscd(ctx, images) as pcscd:
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
