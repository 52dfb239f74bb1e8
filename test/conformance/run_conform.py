#!/usr/bin/env python3
"""Run `cardvm conform` for ctest (docs/conformance.md).

  inprocess  conform on fresh cards it makes itself (USER + ISSUER)
  pcscd      fresh USER and ISSUER images behind a private `cardvm pcscd`,
             `cardvm conform --reader NAME` on each, pcscd stopped by the
             process id of the `cardvm pcscd` started here (never by name)

Each run writes a JUnit report that is parsed with xml.etree and must show
the expected checks with zero failures. Exit 0 pass, 1 fail, 77 skipped
(pcscd not installed).
"""
import argparse
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import xml.etree.ElementTree as ET

SKIP = 77


class Fail(Exception):
    pass


def junit_cases(path):
    """{script: [(check, state, text)]} from the JUnit report: one testcase
    per check, classname conformance.SCRIPT."""
    root = ET.parse(path).getroot()
    suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
    if not suites:
        raise Fail(f"{path}: no testsuite")
    scripts = {}
    for s in suites:
        for tc in s.iter("testcase"):
            state, text = "pass", ""
            for tag in ("failure", "error"):
                if tc.find(tag) is not None:
                    state, text = "fail", tc.find(tag).text or ""
            if state == "pass" and tc.find("skipped") is not None:
                state = "skip"
            cls = tc.get("classname", "")
            if not cls.startswith("conformance."):
                raise Fail(f"{path}: classname {cls!r}")
            scripts.setdefault(cls[len("conformance."):], []).append((tc.get("name"), state, text))
    return root, scripts


def check_junit(path, expect_pass, expect_skip=()):
    root, scripts = junit_cases(path)
    failed = [(s, c) for s, cs in scripts.items() for c, st, _ in cs if st == "fail"]
    if failed:
        raise Fail(f"{path}: failures: {failed}")
    if int(root.get("failures", "0")) != 0:
        raise Fail(f"{path}: failures attribute {root.get('failures')}")
    for n in expect_pass:
        states = {st for _, st, _ in scripts.get(n, [])}
        if states != {"pass"}:
            raise Fail(f"{path}: {n}: {scripts.get(n)}, expected every check to pass")
    for n in expect_skip:
        states = {st for _, st, _ in scripts.get(n, [])}
        if states != {"skip"}:
            raise Fail(f"{path}: {n}: {scripts.get(n)}, expected every check skipped")
    return scripts


def suite_scripts(suite):
    return sorted(f[:-7] for f in os.listdir(suite) if f.endswith(".script"))


def conform(cardvm, args, env=None, want=0):
    r = subprocess.run([cardvm, "conform", *args], capture_output=True, text=True, env=env, timeout=180)
    sys.stdout.write(r.stdout)
    sys.stderr.write(r.stderr)
    if r.returncode != want:
        raise Fail(f"cardvm conform {' '.join(args)} exited {r.returncode}, expected {want}")
    return r


def case_inprocess(a, tmp):
    junit = os.path.join(tmp, "conform.xml")
    report = os.path.join(tmp, "conform.txt")
    conform(a.cardvm, ["--replace-suite", "--suite", a.suite, "--junit", junit, "--report", report])
    scripts = check_junit(junit, suite_scripts(a.suite))
    if sum(len(v) for v in scripts.values()) <= len(scripts):
        raise Fail(f"one testcase per check expected, got {scripts}")
    text = open(report).read()
    if "0 failed" not in text:
        raise Fail(f"text report:\n{text}")
    # On a given USER image the ISSUER script is skipped, not failed.
    img = os.path.join(tmp, "user.img")
    subprocess.run([a.cardvm, "create", img], check=True, capture_output=True)
    junit2 = os.path.join(tmp, "user.xml")
    conform(a.cardvm, [img, "--replace-suite", "--suite", a.suite, "--junit", junit2])
    check_junit(junit2, [], ["lifecycle_issuer"])


def sequence_counter(cardvm, img):
    out = subprocess.run([cardvm, "send", img, "00A4040008A000000151000000", "80CA00C100"], check=True,
                         capture_output=True, text=True).stdout.split()
    return out[-1]


def case_runner(a, tmp):
    """The runner itself: every check reported, a failure does not stop the
    script, a script with a syntax error sends nothing, --suite adds to the
    built-in suite and --replace-suite replaces it."""
    extra = os.path.join(tmp, "extra")
    os.mkdir(extra)
    with open(os.path.join(extra, "mixed.script"), "w") as f:
        f.write("# requires: user\n"
                "echo first passes\nsend 80CA00C100 -> C103??????9000\n"
                "echo second fails\nsend 80CA00C100 -> 6A88\nsend 80CA00C100 -> 6A88\n"
                "echo third passes after the failure\nsend 80CA00CF00 -> CF0A*9000\n")
    with open(os.path.join(extra, "syntax.script"), "w") as f:
        # The first line would move the sequence counter; the third is not the language.
        f.write("# requires: user\necho moves the counter\nsend 8050300008 0102030405060708 -> *9000\n"
                "echo broken\nsend 80CA00C1 -> C1*9000 extra\nfrob 12\n")
    img = os.path.join(tmp, "runner.img")
    subprocess.run([a.cardvm, "create", img], check=True, capture_output=True)
    before = sequence_counter(a.cardvm, img)
    junit = os.path.join(tmp, "runner.xml")
    conform(a.cardvm, [img, "--replace-suite", "--suite", extra, "--junit", junit], want=1)
    _, scripts = junit_cases(junit)
    mixed = [(c, st) for c, st, _ in scripts["mixed"]]
    if mixed != [("first passes", "pass"), ("second fails", "fail"), ("third passes after the failure", "pass")]:
        raise Fail(f"mixed: {mixed}")
    text = scripts["mixed"][1][2]
    if "mixed.script:5:" not in text or "mixed.script:6:" in text:
        raise Fail(f"the failing check reports its first failed line only: {text!r}")
    syn = scripts["syntax"]
    if len(syn) != 1 or syn[0][0] != "syntax" or syn[0][1] != "fail" or "syntax.script:6:" not in syn[0][2]:
        raise Fail(f"syntax: {syn}")
    if sequence_counter(a.cardvm, img) != before:
        raise Fail("a script with a syntax error sent commands")
    # --suite adds to the built-in suite (its path is compiled in).
    junit2 = os.path.join(tmp, "added.xml")
    conform(a.cardvm, ["--suite", extra, "--junit", junit2], want=1)
    _, added = junit_cases(junit2)
    if not set(suite_scripts(a.suite)) | {"mixed", "syntax"} <= set(added):
        raise Fail(f"--suite adds: {sorted(added)}")


def process_alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ")[-1].split()[0] != "Z"
    except OSError:
        return False


def case_pcscd(a, tmp):
    if not any(os.path.exists(p) for p in [shutil.which("pcscd") or "", "/usr/sbin/pcscd", "/usr/local/sbin/pcscd"]):
        print("pcscd not installed: skipped")
        return SKIP
    user = os.path.join(tmp, "user.img")
    issuer = os.path.join(tmp, "issuer.img")
    subprocess.run([a.cardvm, "create", user], check=True, capture_output=True)
    subprocess.run([a.cardvm, "create", "--issuer", issuer], check=True, capture_output=True)
    env = dict(os.environ)
    if os.environ.get("CARDVM_TEST_PCSCD_PRELOAD"):
        env["LD_PRELOAD"] = os.environ["CARDVM_TEST_PCSCD_PRELOAD"]
        env["ASAN_OPTIONS"] = "detect_leaks=0"
    log = open(os.path.join(tmp, "pcscd.log"), "w")
    proc = subprocess.Popen([a.cardvm, "pcscd", "--driver", a.driver, "--dir", os.path.join(tmp, "state"), user, issuer],
                            stdout=subprocess.PIPE, stderr=log, text=True, env=env)
    lines = queue.Queue()
    threading.Thread(target=lambda: [lines.put(l.rstrip("\n")) for l in proc.stdout], daemon=True).start()
    pcscd_pid, sock, readers = None, None, {}
    try:
        end = time.monotonic() + 20
        while True:
            try:
                line = lines.get(timeout=0.2)
            except queue.Empty:
                if proc.poll() is not None or time.monotonic() >= end:
                    raise Fail("cardvm pcscd did not become ready: " + open(log.name).read())
                continue
            m = re.match(r"pcscd pid (\d+)", line)
            if m:
                pcscd_pid = int(m.group(1))
            m = re.match(r'reader "(.*)": (\S+)', line)
            if m:
                readers[m.group(2)] = m.group(1)
            m = re.match(r"export PCSCLITE_CSOCK_NAME=(\S+)", line)
            if m:
                sock = m.group(1)
            if line.startswith("ready"):
                break
        if not sock or len(readers) != 2:
            raise Fail(f"pcscd: socket {sock}, readers {readers}")
        cenv = dict(os.environ)
        cenv["PCSCLITE_CSOCK_NAME"] = sock
        scripts = suite_scripts(a.suite)
        ju = os.path.join(tmp, "user.xml")
        conform(a.cardvm, ["--reader", readers[os.path.realpath(user)], "--replace-suite", "--suite", a.suite,
                           "--junit", ju], cenv)
        check_junit(ju, [s for s in scripts if s != "lifecycle_issuer"], ["lifecycle_issuer"])
        ji = os.path.join(tmp, "issuer.xml")
        conform(a.cardvm, ["--reader", readers[os.path.realpath(issuer)], "--replace-suite", "--suite", a.suite,
                           "--junit", ji], cenv)
        check_junit(ji, ["lifecycle_issuer"])
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait()
        if pcscd_pid:
            end = time.monotonic() + 10
            while process_alive(pcscd_pid) and time.monotonic() < end:
                time.sleep(0.1)
            if process_alive(pcscd_pid):
                raise Fail(f"pcscd pid {pcscd_pid} still alive")
        log.close()
    return 0


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--cardvm", required=True)
    p.add_argument("--driver")
    p.add_argument("--suite", required=True)
    p.add_argument("case", choices=["inprocess", "pcscd", "runner"])
    a = p.parse_args()
    a.cardvm = os.path.realpath(a.cardvm)
    with tempfile.TemporaryDirectory(prefix="cardvm-conformance-") as tmp:
        try:
            rc = {"inprocess": case_inprocess, "pcscd": case_pcscd, "runner": case_runner}[a.case](a, tmp)
        except Fail as e:
            print(f"FAIL: {e}", file=sys.stderr)
            return 1
    return rc or 0


if __name__ == "__main__":
    sys.exit(main())
