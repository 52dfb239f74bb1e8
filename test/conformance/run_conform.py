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


def check_junit(path, expect_pass, expect_skip=()):
    root = ET.parse(path).getroot()
    suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
    if not suites:
        raise Fail(f"{path}: no testsuite")
    cases = {}
    for s in suites:
        for tc in s.iter("testcase"):
            state = "pass"
            if tc.find("failure") is not None or tc.find("error") is not None:
                state = "fail"
            elif tc.find("skipped") is not None:
                state = "skip"
            cases[tc.get("name")] = state
    failed = [n for n, s in cases.items() if s == "fail"]
    if failed:
        raise Fail(f"{path}: failures: {failed}")
    if int(root.get("failures", "0")) != 0:
        raise Fail(f"{path}: failures attribute {root.get('failures')}")
    for n in expect_pass:
        if cases.get(n) != "pass":
            raise Fail(f"{path}: {n} is {cases.get(n)}, expected pass ({cases})")
    for n in expect_skip:
        if cases.get(n) != "skip":
            raise Fail(f"{path}: {n} is {cases.get(n)}, expected skip ({cases})")
    return cases


def suite_scripts(suite):
    return sorted(f[:-7] for f in os.listdir(suite) if f.endswith(".script"))


def conform(cardvm, args, env=None):
    r = subprocess.run([cardvm, "conform", *args], capture_output=True, text=True, env=env, timeout=120)
    sys.stdout.write(r.stdout)
    sys.stderr.write(r.stderr)
    if r.returncode != 0:
        raise Fail(f"cardvm conform {' '.join(args)} exited {r.returncode}")
    return r


def case_inprocess(a, tmp):
    junit = os.path.join(tmp, "conform.xml")
    report = os.path.join(tmp, "conform.txt")
    conform(a.cardvm, ["--suite", a.suite, "--junit", junit, "--report", report])
    check_junit(junit, suite_scripts(a.suite))
    text = open(report).read()
    if "0 failed" not in text:
        raise Fail(f"text report:\n{text}")
    # On a given USER image the ISSUER script is skipped, not failed.
    img = os.path.join(tmp, "user.img")
    subprocess.run([a.cardvm, "create", img], check=True, capture_output=True)
    junit2 = os.path.join(tmp, "user.xml")
    conform(a.cardvm, [img, "--suite", a.suite, "--junit", junit2])
    check_junit(junit2, [], ["lifecycle_issuer"])


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
        conform(a.cardvm, ["--reader", readers[os.path.realpath(user)], "--suite", a.suite, "--junit", ju], cenv)
        check_junit(ju, [s for s in scripts if s != "lifecycle_issuer"], ["lifecycle_issuer"])
        ji = os.path.join(tmp, "issuer.xml")
        conform(a.cardvm, ["--reader", readers[os.path.realpath(issuer)], "--suite", a.suite, "--junit", ji], cenv)
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
    p.add_argument("case", choices=["inprocess", "pcscd"])
    a = p.parse_args()
    a.cardvm = os.path.realpath(a.cardvm)
    with tempfile.TemporaryDirectory(prefix="cardvm-conformance-") as tmp:
        try:
            rc = case_inprocess(a, tmp) if a.case == "inprocess" else case_pcscd(a, tmp)
        except Fail as e:
            print(f"FAIL: {e}", file=sys.stderr)
            return 1
    return rc or 0


if __name__ == "__main__":
    sys.exit(main())
