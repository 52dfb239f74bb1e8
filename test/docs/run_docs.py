#!/usr/bin/env python3
"""Docs that run (issue #18): every shell example marked to run — a fenced
block opened with ```sh run — in README.md and docs/*.md is executed, and
any error fails the test.

usage: run_docs.py --src SRC --bin BIN [--pcscd-optional] [FILE.md...]

Each file's marked blocks run in order in one bash (set -euo pipefail), so
later blocks see what earlier ones made, in a fresh scratch folder that
holds symbolic links to the source's examples/, test/, docs/ and scripts/
(examples are written from the repository root) and BIN first on PATH (the
`cardvm` being tested). Background processes a block starts are stopped at
the end by their pids (bash's job table); a file whose run passes its time
limit is stopped by the process group this runner made for it. Blocks that
need pcscd are skipped (77) only when pcscd is not installed.
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

FENCE = re.compile(r"^```(\S*)(.*)$")


def marked_blocks(path):
    """[(line, text)] of the ```sh run blocks of a markdown file."""
    blocks, cur, start = [], None, 0
    for n, line in enumerate(open(path, encoding="utf-8").read().splitlines(), 1):
        m = FENCE.match(line)
        if cur is None and m:
            if m.group(1) == "sh" and m.group(2).split()[:1] == ["run"]:
                cur, start = [], n + 1
            else:
                cur, start = False, n   # another block: skip to its end
            continue
        if cur is not None and line.startswith("```"):
            if cur is not False:
                blocks.append((start, "\n".join(cur)))
            cur = None
            continue
        if cur:
            cur.append(line)
        elif cur == []:
            cur.append(line)
    return blocks


def script_for(path, blocks, src):
    rel = os.path.relpath(path, src)
    out = ["set -euo pipefail",
           # background jobs a block started: stopped by pid when the file ends
           "trap 'for p in $(jobs -p); do kill $p 2>/dev/null || true; done; wait || true' EXIT"]
    for line, text in blocks:
        out.append(f"echo '--- {rel}:{line}' >&2")
        out.append(text)
    return "\n".join(out) + "\n"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--src", required=True)
    ap.add_argument("--bin", required=True)
    ap.add_argument("--timeout", type=int, default=300)
    ap.add_argument("files", nargs="*")
    a = ap.parse_args()
    src = os.path.abspath(a.src)
    files = a.files or [os.path.join(src, "README.md")] + sorted(glob.glob(os.path.join(src, "docs", "*.md")))
    runs = [(f, marked_blocks(f)) for f in files]
    runs = [(f, b) for f, b in runs if b]
    if not runs:
        print("FAIL: no ```sh run block found")
        return 1
    needs_pcscd = any("cardvm pcscd" in t for _, b in runs for _, t in b)
    if needs_pcscd and not (shutil.which("pcscd") or os.path.exists("/usr/sbin/pcscd")):
        print("SKIP: pcscd is not installed (Debian package pcscd): the walk-through uses it")
        return 77
    env = dict(os.environ)
    env["PATH"] = os.path.abspath(a.bin) + os.pathsep + env.get("PATH", "")
    # `python3` in the examples is Debian's, with python3-pyscard: when the
    # first python3 on PATH lacks it (a pyenv shim), one that has it goes first
    shim = tempfile.mkdtemp(prefix="cardvm-docs-py-")
    for cand in [shutil.which("python3"), "/usr/bin/python3"]:
        if cand and subprocess.run([cand, "-c", "import smartcard"], capture_output=True).returncode == 0:
            os.symlink(cand, os.path.join(shim, "python3"))
            env["PATH"] = os.path.abspath(a.bin) + os.pathsep + shim + os.pathsep + env["PATH"].split(os.pathsep, 1)[1]
            break
    env.pop("PCSCLITE_CSOCK_NAME", None)
    failed = 0
    total = 0
    for path, blocks in runs:
        total += len(blocks)
        rel = os.path.relpath(path, src)
        with tempfile.TemporaryDirectory(prefix="cardvm-docs-") as scratch:
            for d in ("examples", "test", "docs", "scripts"):
                os.symlink(os.path.join(src, d), os.path.join(scratch, d))
            # `build/` in the examples is the build tree (README's cmake -B build)
            os.symlink(os.path.dirname(os.path.abspath(a.bin)), os.path.join(scratch, "build"))
            proc = subprocess.Popen(["bash", "-c", script_for(path, blocks, src)], cwd=scratch, env=env,
                                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                    start_new_session=True)
            try:
                out, _ = proc.communicate(timeout=a.timeout)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)   # the group this runner made for the file
                out, _ = proc.communicate()
                out += f"\n(stopped after {a.timeout} s)"
            if proc.returncode == 0:
                print(f"PASS {rel}: {len(blocks)} block(s)")
            else:
                failed += 1
                where = [l for l in out.splitlines() if l.startswith("--- ")]
                print(f"FAIL {rel}: exit {proc.returncode} in block {where[-1][4:] if where else '?'}")
                print("\n".join("    " + l for l in out.splitlines()[-40:]))
    shutil.rmtree(shim, ignore_errors=True)
    print(f"{len(runs) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
