#!/usr/bin/env python3
"""Real, unmodified PC/SC clients against the cardvm virtual reader.

Each case starts its own private pcscd with `cardvm pcscd --dir DIR IMAGE...`
(its socket lives in DIR, clients find it through PCSCLITE_CSOCK_NAME), runs
clients against it, and stops it by the process id of the `cardvm pcscd` it
started (which stops pcscd by its pid). Nothing else is ever signalled; the
system's pcscd, if any, is not touched.

usage: pcsc_clients.py --cardvm PATH --driver PATH --data DIR CASE
cases: scan scriptor opensc pyscard send readers restart lifecycle vicc
Exit 0 pass, 1 fail, 77 skipped (pcscd not installed).
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

SKIP = 77


class TestFailure(Exception):
    pass


def check(cond, what):
    if not cond:
        raise TestFailure(what)


def find_pcscd():
    for cand in [shutil.which("pcscd"), "/usr/sbin/pcscd", "/usr/local/sbin/pcscd"]:
        if cand and os.access(cand, os.X_OK):
            return cand
    return None


def process_alive(pid):
    """True while pid exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
        return state != "Z"
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False


# Bound for pcscd to notice a card coming or going (it polls; a waiting test
# costs nothing when the machine is idle).
SETTLE_S = 30


def wait_until(pred, timeout, what):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return
        time.sleep(0.1)
    raise TestFailure(f"timed out ({timeout} s) waiting for: {what}")


class PrivatePcscd:
    """`cardvm pcscd` as a context manager: started, parsed, stopped by pid."""

    def __init__(self, ctx, images, state_dir=None, extra=()):
        self.ctx = ctx
        self.images = images
        self.state_dir = state_dir
        self.extra = list(extra)
        self.proc = None
        self.pcscd_pid = None
        self.readers = {}       # image path -> reader name
        self.socket = None
        self.lines = queue.Queue()
        self.log_path = None

    def start(self, timeout=20):
        args = [self.ctx.cardvm, "pcscd", "--driver", self.ctx.driver]
        if self.state_dir:
            args += ["--dir", self.state_dir]
        args += self.extra + self.images
        self.log_path = os.path.join(self.ctx.tmp, f"pcscd-{len(os.listdir(self.ctx.tmp))}.log")
        self.log = open(self.log_path, "w")
        env = dict(os.environ)
        preload = os.environ.get("CARDVM_TEST_PCSCD_PRELOAD")
        if preload:
            # Sanitizer build: the driver needs the sanitizer runtimes, which
            # must come first in pcscd (not built with them). pcscd's own
            # allocations are not ours to leak-check.
            env["LD_PRELOAD"] = preload
            env["ASAN_OPTIONS"] = "detect_leaks=0"
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=self.log, text=True, env=env)
        threading.Thread(target=self._pump, daemon=True).start()
        end = time.monotonic() + timeout
        while True:
            try:
                line = self.lines.get(timeout=0.2)
            except queue.Empty:
                line = None
            if line is None:
                if self.proc.poll() is not None or time.monotonic() >= end:
                    self.stop()
                    raise TestFailure(f"cardvm pcscd did not become ready; log:\n{self.read_log()}")
                continue
            m = re.match(r"pcscd pid (\d+)", line)
            if m:
                self.pcscd_pid = int(m.group(1))
            m = re.match(r'reader "(.*)": (\S+)', line)
            if m:
                self.readers[m.group(2)] = m.group(1)
            m = re.match(r"export PCSCLITE_CSOCK_NAME=(\S+)", line)
            if m:
                self.socket = m.group(1)
            if line.startswith("ready"):
                break
        check(self.pcscd_pid and process_alive(self.pcscd_pid), "pcscd pid printed and alive")
        check(self.socket and os.path.exists(self.socket), "socket path printed and present")
        check(len(self.readers) == len(self.images), f"one reader per image: {self.readers}")
        return self

    def _pump(self):
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))

    def env(self):
        e = dict(os.environ)
        e["PCSCLITE_CSOCK_NAME"] = self.socket
        return e

    def reader(self, image):
        return self.readers[os.path.realpath(image)]

    def read_log(self):
        try:
            with open(self.log_path) as f:
                return f.read()
        except OSError:
            return ""

    def stop(self, sig=signal.SIGTERM):
        """Stop the `cardvm pcscd` we started, by its pid; check pcscd went."""
        if not self.proc or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        os.kill(self.proc.pid, sig)
        try:
            rc = self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
            raise TestFailure("cardvm pcscd did not stop on " + signal.Signals(sig).name)
        if self.pcscd_pid:
            wait_until(lambda: not process_alive(self.pcscd_pid), 10, f"pcscd pid {self.pcscd_pid} gone")
        self.log.close()
        return rc

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False


class Context:
    def __init__(self, args, tmp):
        self.cardvm = os.path.realpath(args.cardvm)
        self.driver = os.path.realpath(args.driver)
        self.data = args.data
        self.tmp = tmp

    def path(self, name):
        return os.path.join(self.tmp, name)

    def cardvm_run(self, *args, env=None, ok=True):
        r = subprocess.run([self.cardvm, *args], capture_output=True, text=True, env=env, timeout=60)
        if ok and r.returncode != 0:
            raise TestFailure(f"cardvm {' '.join(args)} failed ({r.returncode}): {r.stderr.strip()}")
        return r

    def create(self, name, *extra, blank=True):
        """A card image. blank: the empty masked chip whose built-in security
        domain the expected answers here describe (`cardvm create --blank`,
        where cardvm has that option); otherwise a card through its full
        lifecycle."""
        p = self.path(name)
        if blank and self.has_blank_option():
            extra = ("--blank",) + extra
        self.cardvm_run("create", *extra, p)
        return p

    def has_blank_option(self):
        if not hasattr(self, "_blank"):
            self._blank = "--blank" in self.cardvm_run("create", "--help").stdout
        return self._blank

    def atr_of(self, image):
        out = self.cardvm_run("info", image).stdout
        m = re.search(r"^ATR:\s+([0-9A-Fa-f]+)", out, re.M)
        check(m, f"cardvm info prints the ATR: {out}")
        return m.group(1).upper()


def run(cmd, env, timeout=30, ok=True):
    r = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout)
    if ok and r.returncode != 0:
        raise TestFailure(f"{' '.join(cmd)} failed ({r.returncode}):\n{r.stdout}\n{r.stderr}")
    return r


def need(program):
    path = shutil.which(program)
    check(path, f"{program} is not installed (it comes with pcsc-tools / opensc; the test command installs them)")
    return path


def spaced(hexstr):
    return " ".join(hexstr[i:i + 2] for i in range(0, len(hexstr), 2))


# ---------------------------------------------------------------- cases


def case_scan(ctx):
    """pcsc_scan lists both readers, the ATR of the card, and the empty one."""
    need("pcsc_scan")
    card = ctx.create("scan.img")
    missing = ctx.path("absent.img")
    with PrivatePcscd(ctx, [card, missing]) as d:
        r = run(["pcsc_scan", "-r"], d.env())
        check(d.reader(card) in r.stdout and d.reader(missing) in r.stdout, f"pcsc_scan -r lists readers:\n{r.stdout}")
        # pcsc_scan runs until told: -t quits after so many seconds.
        r = run(["pcsc_scan", "-n", "-t", "2"], d.env(), timeout=20)
        out = r.stdout
        atr = spaced(ctx.atr_of(card))
        check(re.search(r"Reader \d+: " + re.escape(d.reader(card)), out), f"reader shown:\n{out}")
        check("ATR: " + atr in out, f"ATR {atr} shown:\n{out}")
        block = out.split("Reader 1: ")[-1] if "Reader 1: " in out else ""
        check("Card removed" in block or "Card state: Card removed" in out, f"empty reader shown:\n{out}")


def load_exchanges(path):
    exchanges = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            cmd, want = [x.strip() for x in line.split("=>")]
            exchanges.append((cmd, want.replace(" ", "").upper()))
    return exchanges


def parse_scriptor(out):
    """Responses in order: '< XX XX ... : text' possibly over several lines."""
    responses = []
    current = None
    for line in out.splitlines():
        if line.startswith("< "):
            current = line[2:]
        elif current is not None and re.match(r"^[0-9A-F]{2}( [0-9A-F]{2})*", line):
            current += " " + line
        else:
            continue
        if ":" in current:
            body = current.split(":", 1)
            if current.startswith("OK"):
                responses.append(("ATR", body[1].replace(" ", "").strip().upper()))
            else:
                responses.append(("APDU", body[0].replace(" ", "").upper()))
            current = None
    return responses


def check_crd(answer_hex, what):
    """Card recognition data || 9000, parsed (GPCS Annex H): a GP 2.3.1 card
    whose ISD speaks SCP03 with i = 70, every BER length exact."""
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import gp_tlv
    check(answer_hex.endswith("9000"), f"{what}: {answer_hex} does not end in 9000")
    try:
        crd = gp_tlv.card_recognition_data(bytes.fromhex(answer_hex[:-4]))
    except gp_tlv.TlvError as e:
        raise TestFailure(f"{what}: malformed card recognition data {answer_hex}: {e}")
    check(crd["version"] == [2, 3, 1] and crd["scp"] == [(3, 0x70)] and crd["scheme"],
          f"{what}: card recognition data says {crd}")


def case_scriptor(ctx):
    """scriptor runs an APDU script; every answer is the expected one."""
    need("scriptor")
    card = ctx.create("scriptor.img")
    atr = ctx.atr_of(card)
    exchanges = load_exchanges(os.path.join(ctx.data, "sd_basic.apdu"))
    script = ctx.path("sd_basic.script")
    with open(script, "w") as f:
        for cmd, _ in exchanges:
            f.write(("reset" if cmd == "reset" else spaced(cmd)) + "\n")
    with PrivatePcscd(ctx, [card]) as d:
        r = run(["scriptor", "-r", d.reader(card), script], d.env())
        got = parse_scriptor(r.stdout)
        check(len(got) == len(exchanges), f"{len(exchanges)} answers, got {len(got)}:\n{r.stdout}")
        for (cmd, want), (kind, answer) in zip(exchanges, got):
            if want == "ATR":
                want = atr
            if want == "CRD":
                check_crd(answer, f"{cmd} through scriptor")
                continue
            check(answer == want, f"{cmd}: expected {want}, scriptor got {answer}\n{r.stdout}")


def case_opensc(ctx):
    """opensc-tool lists readers (-l), prints the ATR (-a), sends APDUs (-s)."""
    need("opensc-tool")
    card = ctx.create("opensc.img")
    missing = ctx.path("absent.img")
    with PrivatePcscd(ctx, [card, missing]) as d:
        env = d.env()
        # Keep OpenSC from reading a user's configuration or cache.
        env["OPENSC_CONF"] = "/dev/null"
        env["HOME"] = ctx.tmp
        out = run(["opensc-tool", "-l"], env).stdout
        rows = {m.group(3).strip(): m.group(2) for m in re.finditer(r"^(\d+)\s+(Yes|No)\s+(.*)$", out, re.M)}
        check(rows.get(d.reader(card)) == "Yes", f"card reader has a card:\n{out}")
        check(rows.get(d.reader(missing)) == "No", f"missing image: no card:\n{out}")
        index = [m.group(1) for m in re.finditer(r"^(\d+)\s+(Yes|No)\s+(.*)$", out, re.M)
                 if m.group(3).strip() == d.reader(card)][0]
        out = run(["opensc-tool", "-r", index, "-a"], env).stdout
        want = ":".join(ctx.atr_of(card)[i:i + 2] for i in range(0, len(ctx.atr_of(card)), 2)).lower()
        check(want in out.lower(), f"ATR {want}:\n{out}")
        # SELECT with Le (case 4): the FCI comes back at once. GET DATA card
        # data; an unknown instruction.
        out = run(["opensc-tool", "-r", index, "-s", "00A4040008A00000015100000000",
                   "-s", "80CA006600", "-s", "80FF000000"], env).stdout
        sws = [(a.lower(), b.lower()) for a, b in re.findall(r"SW1=0x([0-9a-f]{2}), SW2=0x([0-9a-f]{2})", out, re.I)]
        check(sws == [("90", "00"), ("90", "00"), ("6d", "00")], f"opensc-tool -s answers {sws}:\n{out}")
        check("6F 10 84 08 A0 00 00 01 51 00 00 00" in out, f"FCI shown:\n{out}")
        m = re.search(r"Received \(SW1=0x90, SW2=0x00\)(?::\s*\n)?((?:\s*[0-9A-F]{2}(?: [0-9A-F]{2})*[^\n]*\n)+)", 
                      out.split("Sending: 80 CA 00 66 00")[-1], re.I)
        check(m, f"card data shown:\n{out}")
        data = "".join(re.findall(r"\b[0-9A-F]{2}\b", "\n".join(l[:55] for l in m.group(1).splitlines()), re.I))
        check_crd(data.upper() + "9000", "GET DATA 66 through opensc-tool")


PYSCARD_CLIENT = "pyscard_client.py"


def python_with_pyscard():
    for cand in ["/usr/bin/python3", shutil.which("python3"), sys.executable]:
        if cand and subprocess.run([cand, "-c", "import smartcard"], capture_output=True).returncode == 0:
            return cand
    raise TestFailure("no python3 with pyscard (Debian: apt-get install python3-pyscard)")


def case_pyscard(ctx):
    """A pyscard program: readers, connect T=1, ATR, chained and echo APDUs."""
    py = python_with_pyscard()
    card = ctx.create("pyscard.img")
    with PrivatePcscd(ctx, [card]) as d:
        r = run([py, os.path.join(ctx.data, PYSCARD_CLIENT), d.reader(card), ctx.atr_of(card)], d.env())
        check("pyscard client: ok" in r.stdout, f"pyscard client:\n{r.stdout}\n{r.stderr}")


def hello_cap_args(ctx):
    """The build's example hello CAP (examples/applets, built from its Java
    source), for gp_checks.py's one-step install."""
    cap = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(ctx.cardvm))), "examples", "applets",
                       "hello.cap")
    check(os.path.exists(cap), f"the build's hello CAP is at {cap}")
    return ["--hello-cap", cap]


def case_gp(ctx):
    """Issue #13 checks (gp_checks.py: its own SCP03 host) with pyscard
    through a private pcscd, on a USER-mode card."""
    py = python_with_pyscard()
    card = ctx.create("gp.img", blank=False)
    with PrivatePcscd(ctx, [card]) as d:
        r = run([py, os.path.join(ctx.data, "gp_checks.py"), "--reader", d.reader(card), *hello_cap_args(ctx)],
                d.env(), timeout=120, ok=False)
        print(r.stdout)
        check(r.returncode == 0 and "gp checks: ok" in r.stdout, f"gp checks through pcscd:\n{r.stdout}\n{r.stderr}")


def case_gp_inprocess(ctx):
    """The same checks on the card in the cardvm process (`cardvm vicc`),
    no pcscd in between."""
    py = python_with_pyscard()
    card = ctx.create("gp-vicc.img", blank=False)
    r = run([py, os.path.join(ctx.data, "gp_checks.py"), "--vicc", ctx.cardvm, card, *hello_cap_args(ctx)],
            dict(os.environ), timeout=120, ok=False)
    print(r.stdout)
    check(r.returncode == 0 and "gp checks: ok" in r.stdout, f"gp checks in process:\n{r.stdout}\n{r.stderr}")


def case_send(ctx):
    """`cardvm send --reader` goes through libpcsclite and answers like in process."""
    card = ctx.create("send.img")
    twin = ctx.path("twin.img")
    shutil.copyfile(card, twin)
    other = ctx.create("send-other.img")
    apdus = ["00A4040008A000000151000000", "00C0000012", "80CA9F7F00", "80DA004204A1B2C3D4", "80CA004200",
             "80EE0000FF" + "5A" * 255 + "00"]
    inproc = ctx.cardvm_run("send", twin, *apdus).stdout
    with PrivatePcscd(ctx, [card, other]) as d:
        env = d.env()
        via_reader = ctx.cardvm_run("send", "--reader", d.reader(card), *apdus, env=env).stdout
        check(via_reader == inproc, f"same answers through pcscd:\n{via_reader}\nvs in process:\n{inproc}")
        # Committed per APDU: another process sees the write while pcscd runs.
        out = ctx.cardvm_run("send", card, "80CA004200").stdout.strip()
        check(out == "4204A1B2C3D49000", f"in-process read of the reader's write: {out}")
        info = ctx.cardvm_run("info", card).stdout
        check("commits:" in info, "cardvm info reads the image while pcscd runs")
        # The in-process send above did not write, so the reader still has the card.
        # A unique prefix selects the reader; --trace logs the APDUs.
        prefix = d.reader(card)[:len("cardvm send.")]
        r = ctx.cardvm_run("--trace", "send", "--reader", prefix, "80CA004200", env=env, ok=False)
        if r.returncode != 0:  # --trace may be a per-command option
            r = ctx.cardvm_run("send", "--trace", "--reader", prefix, "80CA004200", env=env)
        check(r.stdout.strip() == "4204A1B2C3D49000", f"prefix reader: {r.stdout}")
        check("=>" in r.stderr and "<=" in r.stderr, f"trace on stderr: {r.stderr}")
        # Ambiguous prefix and unknown reader: errors naming the readers.
        r = ctx.cardvm_run("send", "--reader", "cardvm", "80CA004200", env=env, ok=False)
        check(r.returncode != 0 and "ambiguous" in r.stderr, f"ambiguous prefix refused: {r.stderr}")
        r = ctx.cardvm_run("send", "--reader", "no such reader", "80CA004200", env=env, ok=False)
        check(r.returncode != 0 and d.reader(card) in r.stderr, f"unknown reader lists readers: {r.stderr}")
        # A card through its full lifecycle (the LOADER as card OS) answers
        # through pcscd exactly as in process too.
        if ctx.has_blank_option():
            full = ctx.create("full.img", "--quiet", blank=False)
            full_twin = ctx.path("full-twin.img")
            shutil.copyfile(full, full_twin)
            reads = ["00A4040008A000000151000000", "00C0000000", "80CA006600", "80CA9F7F00", "80CA004500"]
            inproc = ctx.cardvm_run("send", full_twin, *reads).stdout
            with PrivatePcscd(ctx, [full]) as f:
                via_reader = ctx.cardvm_run("send", "--reader", f.reader(full), *reads, env=f.env()).stdout
            check(via_reader == inproc, f"full card through pcscd:\n{via_reader}\nvs in process:\n{inproc}")
    # No pcscd at that socket any more.
    r = ctx.cardvm_run("send", "--reader", "cardvm", "80CA004200", env=env, ok=False)
    check(r.returncode != 0, "send without pcscd fails")


def reader_states(env):
    out = run(["opensc-tool", "-l"], dict(env, OPENSC_CONF="/dev/null")).stdout
    return {m.group(3).strip(): m.group(2) for m in re.finditer(r"^(\d+)\s+(Yes|No)\s+(.*)$", out, re.M)}


def case_readers(ctx):
    """Several readers in one pcscd; missing and corrupt images are readers
    without a card; pcscd survives them; cards come and go with the files."""
    need("opensc-tool")
    good = ctx.create("good.img")
    missing = ctx.path("later.img")
    corrupt = ctx.path("corrupt.img")
    with open(corrupt, "wb") as f:
        f.write(b"this is not a card image" * 10)
    truncated = ctx.create("truncated.img")
    with open(truncated, "r+b") as f:
        f.truncate(200)
    with PrivatePcscd(ctx, [good, missing, corrupt, truncated]) as d:
        env = d.env()
        # pcscd learns card presence by polling its readers: under load its
        # first poll may come after "ready", so wait for it (bounded, and
        # generous: a loaded CI machine once missed a 5 s bound).
        expected = {d.reader(good): "Yes", **{d.reader(img): "No" for img in (missing, corrupt, truncated)}}
        last = {}

        def settled():
            last.clear()
            last.update(reader_states(env))
            return all(last.get(r) == v for r, v in expected.items())

        try:
            wait_until(settled, SETTLE_S, "initial card states")
        except TestFailure:
            check(False, f"good image has a card, the others none: {last}")
        # Talking to an empty reader fails cleanly; pcscd is still there.
        r = ctx.cardvm_run("send", "--reader", d.reader(corrupt), "80CA004200", env=env, ok=False)
        check(r.returncode != 0, "send to a reader without card fails")
        check(process_alive(d.pcscd_pid), "pcscd survives a corrupt image")
        with open(corrupt, "rb") as f:
            check(f.read() == b"this is not a card image" * 10, "corrupt image left untouched")

        # The missing image is created: its card appears.
        ctx.cardvm_run("create", missing)
        wait_until(lambda: reader_states(env).get(d.reader(missing)) == "Yes", SETTLE_S, "created image appears")
        out = ctx.cardvm_run("send", "--raw", "--reader", d.reader(missing), "00A4040008A000000151000000",
                             env=env).stdout
        check(out.strip() == "6112", f"new card answers: {out}")
        # The corrupt one is repaired.
        ctx.cardvm_run("create", "--force", corrupt)
        wait_until(lambda: reader_states(env).get(d.reader(corrupt)) == "Yes", SETTLE_S, "repaired image appears")
        # The good one is deleted: its card goes.
        os.unlink(good)
        wait_until(lambda: reader_states(env).get(d.reader(good)) == "No", SETTLE_S, "deleted image: card removed")
        # Each reader its own card: a write on one is not seen on another.
        ctx.cardvm_run("send", "--reader", d.reader(missing), "80DA0042020101", env=env)
        out = ctx.cardvm_run("send", "--reader", d.reader(corrupt), "80CA004200", env=env).stdout
        check(out.strip() == "6A88", f"readers are independent: {out}")
        check(process_alive(d.pcscd_pid), "pcscd alive at the end")


def case_restart(ctx):
    """A pcscd restart keeps every committed byte."""
    card = ctx.create("restart.img")
    state = ctx.path("state")
    with PrivatePcscd(ctx, [card], state_dir=state) as d:
        socket1 = d.socket
        env = d.env()
        ctx.cardvm_run("send", "--reader", d.reader(card), "80DA004505C0FFEE0001", env=env)
        out = ctx.cardvm_run("send", "--reader", d.reader(card), "80CA004500", env=env).stdout.strip()
        check(out == "4505C0FFEE00019000", f"written: {out}")
    commits = re.search(r"commits:\s+(\d+)", ctx.cardvm_run("info", card).stdout)
    check(commits and int(commits.group(1)) >= 2, "cardvm info shows the reader's commit")
    check(ctx.cardvm_run("send", card, "80CA004500").stdout.strip() == "4505C0FFEE00019000",
          "in process after pcscd stopped")
    check(not os.path.exists(socket1), "socket removed at stop")
    # Same --dir, same socket path: a client's environment stays valid.
    with PrivatePcscd(ctx, [card], state_dir=state) as d:
        check(d.socket == socket1, "same socket path across restarts")
        out = ctx.cardvm_run("send", "--reader", d.reader(card), "80CA004500", env=d.env()).stdout.strip()
        check(out == "4505C0FFEE00019000", f"after restart: {out}")
        ctx.cardvm_run("send", "--reader", d.reader(card), "80DA004501AA", env=d.env())
        rc = d.stop(signal.SIGINT)
        check(rc == 0, f"stops with status 0 on SIGINT, got {rc}")
    with PrivatePcscd(ctx, [card], state_dir=state) as d:
        out = ctx.cardvm_run("send", "--reader", d.reader(card), "80CA004500", env=d.env()).stdout.strip()
        check(out == "4501AA9000", f"after second restart: {out}")


def case_lifecycle(ctx):
    """Start and stop: temp files removed, pcscd gone; errors are reported."""
    card = ctx.create("life.img")
    d = PrivatePcscd(ctx, [card]).start()
    private_dir = os.path.dirname(os.path.dirname(os.path.dirname(d.socket)))
    check(os.path.isdir(private_dir), "private folder exists while running")
    check(d.reader(card) == "cardvm life.img 00 00", f"reader naming: {d.reader(card)}")
    rc = d.stop(signal.SIGTERM)
    check(rc == 0, f"exit status 0 on SIGTERM, got {rc}")
    check(not os.path.exists(private_dir), f"private folder {private_dir} removed")

    # cardvm killed hard: the kernel stops pcscd (parent-death signal).
    d = PrivatePcscd(ctx, [card]).start()
    private_dir = os.path.dirname(os.path.dirname(os.path.dirname(d.socket)))
    os.kill(d.proc.pid, signal.SIGKILL)
    d.proc.wait()
    wait_until(lambda: not process_alive(d.pcscd_pid), 10, "pcscd follows a killed cardvm")
    shutil.rmtree(private_dir, ignore_errors=True)

    # Same file name twice: distinct reader names.
    os.makedirs(ctx.path("other"), exist_ok=True)
    twin = ctx.create("other/life.img")
    with PrivatePcscd(ctx, [card, twin]) as d:
        names = sorted(d.readers.values())
        check(len(set(names)) == 2 and names[1].startswith("cardvm life.img-2 "), f"unique names: {names}")

    # Usage errors and a bad driver path.
    r = ctx.cardvm_run("pcscd", ok=False)
    check(r.returncode == 2, f"no image: usage error, got {r.returncode}")
    r = ctx.cardvm_run("pcscd", "--driver", ctx.path("nope.so"), card, ok=False)
    check(r.returncode == 1 and "nope.so" in r.stderr, f"bad driver: {r.stderr}")
    r = ctx.cardvm_run("pcscd", "--help")
    check("usage: cardvm pcscd" in r.stdout, "help")


class FakeVpcd:
    """The reader side of vsmartcard's vpcd protocol, on 127.0.0.1, just
    enough to drive `cardvm vicc`: 2-byte big-endian length + payload; a
    1-byte payload is a control code (0 off, 1 on, 2 reset, 4 ATR)."""

    def __init__(self):
        import socket
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(1)
        self.listener.settimeout(15)
        self.port = self.listener.getsockname()[1]
        self.conn = None

    def accept(self):
        self.conn, _ = self.listener.accept()
        self.conn.settimeout(15)

    def _recv(self, n):
        buf = b""
        while len(buf) < n:
            chunk = self.conn.recv(n - len(buf))
            check(chunk, "vicc closed the connection")
            buf += chunk
        return buf

    def send(self, payload):
        self.conn.sendall(len(payload).to_bytes(2, "big") + payload)

    def exchange(self, payload):
        self.send(payload)
        n = int.from_bytes(self._recv(2), "big")
        return self._recv(n)

    def close(self):
        if self.conn:
            self.conn.close()
        self.listener.close()


def case_vicc(ctx):
    """`cardvm vicc` speaks vpcd's protocol: ATR, power, APDUs, reconnects."""
    card = ctx.create("vicc.img")
    atr = bytes.fromhex(ctx.atr_of(card))
    vpcd = FakeVpcd()
    proc = subprocess.Popen([ctx.cardvm, "vicc", card, "--port", str(vpcd.port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        vpcd.accept()
        vpcd.send(b"\x01")                                     # power on
        check(vpcd.exchange(b"\x04") == atr, "ATR request")      # ATR
        check(vpcd.exchange(bytes.fromhex("00A4040008A000000151000000")) == bytes.fromhex("6112"), "SELECT")
        fci = vpcd.exchange(bytes.fromhex("00C0000012"))
        check(fci[:2] == b"\x6f\x10" and fci[-2:] == b"\x90\x00", f"GET RESPONSE {fci.hex()}")
        payload = bytes(range(255))
        echo = vpcd.exchange(bytes.fromhex("80EE0000FF") + payload + b"\x00")
        check(echo == payload + b"\x90\x00", "255-byte echo")
        check(vpcd.exchange(bytes.fromhex("80DA00420177")) == b"\x90\x00", "PUT DATA")
        vpcd.send(b"\x02")                                     # reset
        check(vpcd.exchange(bytes.fromhex("80CA004200")) == bytes.fromhex("420177 9000".replace(" ", "")),
              "NVM kept over reset")
        vpcd.send(b"\x00")                                     # power off
        # vpcd goes away and comes back: vicc reconnects.
        vpcd.conn.close()
        vpcd.accept()
        vpcd.send(b"\x01")
        check(vpcd.exchange(b"\x04") == atr, "ATR after reconnect")
        # While vicc's card is powered it holds the image: a second writer
        # waits, then fails naming vicc's pid; nothing is lost.
        busy = ctx.cardvm_run("send", card, "80CA004200", ok=False,
                              env=dict(os.environ, CARDVM_LOCK_WAIT_MS="200"))
        check(busy.returncode != 0 and f"in use by pid {proc.pid}" in busy.stderr,
              f"busy image: {busy.returncode} {busy.stderr}")
        # Committed per APDU: visible to a reader while vicc runs...
        info = ctx.cardvm_run("info", card).stdout
        check("image:" in info, f"info while held: {info}")
        # ... and to the next writer once vicc powers the card off.
        # (cardvm send waits for the lock while vicc handles the power-off.)
        vpcd.send(b"\x00")
        out = ctx.cardvm_run("send", card, "80CA004200").stdout.strip()
        check(out == "4201779000", f"in process: {out}")
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGTERM)
        try:
            rc = proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
            rc = None
        vpcd.close()
    check(rc == 0, f"cardvm vicc stops with 0 on SIGTERM, got {rc}: {proc.stderr.read()}")
    r = ctx.cardvm_run("vicc", "--once", "--port", "1", card, ok=False)
    check(r.returncode == 1 and "127.0.0.1:1" in r.stderr, f"no vpcd: error, got {r.returncode} {r.stderr}")


def case_secrets(ctx):
    """Issue 16: `cardvm personalize --reader` through a private pcscd with
    --debug: the driver's APDU log hides UNLOCK's data and a PUT KEY sent in
    clear (and says so), and no key byte this test set is in pcscd's log or
    in the client's --trace."""
    unlock = "6B1F02D3C4B5A69788796A5B4C3D2E1F00F1E2D3C4B5A6978879605142332415"
    enc, mac, dek = "11223344556677881122334455667788", "8877665544332211AABBCCDDEEFF0011", "0F1E2D3C4B5A69788796A5B4C3D2E1F0"
    custom_jca = os.path.join(ctx.data, "..", "..", "examples", "customization", "custom.jca")
    ctx.cardvm_run("asm", custom_jca, "-o", ctx.path("custom.cap"))
    out = ctx.cardvm_run("seal", ctx.path("custom.cap"), "--unlock-key", unlock, "-o", ctx.path("custom.sealed")).stdout
    hash_code = out.split()[2]
    card = ctx.path("secrets.img")
    ctx.cardvm_run("mask", card, "--sealed", ctx.path("custom.sealed"))
    ctx.cardvm_run("send", card, "80120000080102030405060708")
    with PrivatePcscd(ctx, [card], extra=["--debug"]) as d:
        env = d.env()
        r = ctx.cardvm_run("--trace", "personalize", "--reader", d.reader(card), "--unlock-key", unlock,
                           "--hash", hash_code, "--keys", f"31:{enc}:{mac}:{dek}", env=env)
        client = r.stdout + r.stderr
        check("UNLOCK                   <key hidden>" in r.stdout, f"personalize prints UNLOCK hidden: {r.stdout}")
        check("INITIALIZE UPDATE" in r.stdout and "843E0000" in r.stdout, f"customization in the channel: {r.stdout}")
        ctx.cardvm_run("send", "--reader", d.reader(card), "80D8008117" + enc + "00" * 8, env=env, ok=False)
        d.stop()
        log = d.read_log()
    check("=> 8014000040 <64 bytes hidden: UNLOCK>" in log, f"driver log hides UNLOCK: {log[-3000:]}")
    check("bytes hidden: PUT KEY>" in log, "driver log hides a PUT KEY in clear")
    check("=> 80503F0008" in log, "driver log shows the other APDUs")
    for text, what in ((log, "pcscd log"), (client, "personalize --trace")):
        flat = re.sub(r"[\s:]", "", text).upper()
        for key in (unlock, enc, mac, dek):
            for i in range(0, len(key) - 11, 2):
                check(key[i:i + 12] not in flat, f"{what} shows key bytes {key[i:i + 12]}")
    info = ctx.cardvm_run("info", card).stdout
    check("mode:         USER" in info, f"personalized through pcscd: {info}")


CASES = {
    "scan": case_scan,
    "scriptor": case_scriptor,
    "opensc": case_opensc,
    "pyscard": case_pyscard,
    "send": case_send,
    "readers": case_readers,
    "restart": case_restart,
    "lifecycle": case_lifecycle,
    "vicc": case_vicc,
    "gp": case_gp,
    "gp_inprocess": case_gp_inprocess,
    "secrets": case_secrets,
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cardvm", required=True)
    ap.add_argument("--driver", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("case", choices=sorted(CASES))
    args = ap.parse_args()
    if args.case not in ("vicc", "gp_inprocess") and not find_pcscd():
        print("pcscd is not installed: skipped")
        return SKIP
    tmp = tempfile.mkdtemp(prefix=f"cardvm-pcsc-{args.case}.")
    try:
        CASES[args.case](Context(args, tmp))
    except TestFailure as e:
        print(f"FAIL pcsc_{args.case}: {e}")
        for name in sorted(os.listdir(tmp)):
            if name.endswith(".log"):
                with open(os.path.join(tmp, name)) as f:
                    print(f"--- {name}\n{f.read()}")
        return 1
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"ok pcsc_{args.case}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
