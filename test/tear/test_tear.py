#!/usr/bin/env python3
"""test_tear.py CARDVM SHARED EXAMPLES CAPDIR — acceptance of `cardvm tear`.

* broken INC (two persistent updates, no transaction): torn, at the write of
  the second update (the last write of the command), written by process()
  at the Util.setShort invokestatic, transaction depth 0 — the method and pc
  found in the CAP's Method component by the instruction sequence of the
  source's INC (broken_inc_site), the state from the applet's source:
  counter already incremented, history[0..1] still old. The two CAPs are
  what the build assembled from examples/tearing/{broken,fixed}.jca (CAPDIR).
* fixed INC (the same updates in a transaction): every write index ends in
  the before-state or the after-state.
* the shared counter transcript (counter.apdu) as a tearing run: every
  writing command clean.
* text/JSON/JUnit agree; usage errors exit 2; --max-points; --resets.
"""
import json
import os
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
KEY = "404142434445464748494A4B4C4D4E4F"
failures = 0


def expect(cond, what, detail=""):
    global failures
    if cond:
        print("ok   ", what)
    else:
        failures += 1
        print("FAIL ", what, detail[:3000])


def run(*args, ok_codes=(0, 1)):
    r = subprocess.run(args, capture_output=True, text=True, timeout=100)
    if r.returncode not in ok_codes:
        print(r.stdout, r.stderr)
    return r


def transcript_script(apdu_file, cap):
    """counter.apdu as a tearing script: the install it names, then every
    command with its expected answer, torn; resets kept; GET as the check."""
    lines = [f"open 30 {KEY} 01", f"load {cap}"]
    inst = None
    for l in open(apdu_file):
        if l.startswith("# @install"):
            w = l.split()
            inst = (w[2], w[4].split("=")[1])
    lines.append(f"install {inst[1]} {inst[0]}")
    lines.append("tear")
    cmd = None
    selected = False
    for l in open(apdu_file):
        l = l.split("#", 1)[0].strip() if not l.startswith("# reset") else "reset"
        if l == "reset":
            lines.append("reset")
            selected = False
        elif l.startswith("=>"):
            cmd = l[2:].replace(" ", "")
        elif l.startswith("<=") and cmd:
            exp = l[2:].strip().replace("?", "")
            if "?" in l:
                exp = "*" + exp[-4:]
            verb = "select " + cmd[10:] if cmd.startswith("00A40400") else "send " + cmd
            if cmd.startswith("00A40400"):
                selected = True
            elif not selected:
                # no applet selected: on this card the ISD answers (as in
                # test/cap_host/cap_transcripts.c, not compared)
                exp = "*"
            lines.append(f"{verb} -> {exp}")
            cmd = None
    lines.append("end")
    lines.append("check 8011000006")
    lines.append("check 8014000005112233445502")
    return "\n".join(lines) + "\n"


# INC of the broken source, as a converter compiles it (no transaction):
# aload_0; dup; getfield_s 3 (counter); sconst_1; sadd; putfield_s 3;
# getfield_a_this 0 (history); sconst_0; getfield_s_this 3; invokestatic 18
# (Util.setShort)
BROKEN_INC = bytes.fromhex("183D850304418903AD0003AF038D0012")
SETSHORT_AT = len(BROKEN_INC) - 3
# process() begins: aload_0; invokevirtual (selectingApplet); its header
# (JCVM 3.0.5 §6.9) is 2 bytes: .stack 7, 2 arguments, .locals 5
PROCESS_START = bytes.fromhex("0725188B")


def broken_inc_site(cap):
    """(Method component offset of process(), pc of INC's Util.setShort)."""
    with zipfile.ZipFile(cap) as z:
        info = [z.read(n) for n in z.namelist() if n.endswith("/Method.cap")][0][3:]
    inc = info.find(BROKEN_INC)
    assert inc >= 0 and info.find(BROKEN_INC, inc + 1) < 0, "INC found once in the broken CAP"
    process_off = info.rfind(PROCESS_START, 0, inc)
    return process_off, inc + SETSHORT_AT - (process_off + 2)


def main():
    cardvm, shared, examples, capdir = sys.argv[1:5]
    counter_cap = os.path.join(shared, "javacard/applets/counter/jc305u3/counter.cap")
    if not os.path.exists(counter_cap):
        print(f"SKIP: {counter_cap} not found (the shared Java Card material is not beside the project)")
        return 77
    with tempfile.TemporaryDirectory() as tmp:
        process_off, setshort_pc = broken_inc_site(os.path.join(capdir, "counter-broken.cap"))
        img = os.path.join(tmp, "card.img")
        run(cardvm, "create", img, "--quiet", ok_codes=(0,))
        before = open(img, "rb").read()

        # broken
        junit = os.path.join(tmp, "broken.xml")
        r = run(cardvm, "tear", os.path.join(examples, "broken.tear"), img, "-I", capdir, "--json", "--junit", junit)
        expect(r.returncode == 1, "broken: exit status 1 (torn)", r.stdout + r.stderr)
        rep = json.loads(r.stdout) if r.stdout.startswith("{") else {"torn": 0, "commands": []}
        expect(rep["torn"] == 1, "broken: one torn state", r.stdout)
        cmds = [c for c in rep["commands"] if c["kind"] == "cut"]
        expect(len(cmds) == 1 and cmds[0]["apdu"] == "8010000002" and cmds[0]["torn"],
               "broken: the INC command is the torn one", r.stdout)
        if cmds and cmds[0]["states"]:
            c = cmds[0]
            st = c["states"][0]
            n = c["writes"]
            # two stores: counter (putfield), then history (setShort): the
            # cut in the second store's write is the last write
            expect(n >= 2 and st["cut_points"] == [n], f"broken: torn at write {n} of {n} exactly", json.dumps(c))
            expect(c["before"] == n - 1 and c["after"] == 0 and c["other"] == 1, "broken: the other cuts: before-state")
            w = st["writers"][0]
            expect(w["bytecode"] and w["package"] == "F0434150574B01" and w["method"] == process_off
                   and w["pc"] == setshort_pc and w["transaction_depth"] == 0,
                   f"broken: writer process() @{process_off} pc {setshort_pc} (Util.setShort), depth 0", json.dumps(w))
            # the source line: where the example's Java source calls
            # Util.setShort(history, ...) (its lines match the CAP's Debug)
            java = os.path.join(examples, "src/broken/CounterApplet.java")
            want = [i + 1 for i, l in enumerate(open(java)) if "Util.setShort(history" in l]
            expect(w.get("source_file") == "CounterApplet.java" and [w.get("source_line")] == want,
                   f"broken: source line {want} from the Debug component", json.dumps(w))
            get, cmp_ = st["checks"].split("|")
            expect(get.startswith("0002") and cmp_.startswith("01"),
                   "broken: torn state = counter incremented, history not", st["checks"])
        tree = ET.parse(junit).getroot()
        cases = tree.findall(".//testcase")
        expect(len(cases) == 1 and cases[0].find("failure") is not None, "broken: JUnit testcase with a failure")
        r = run(cardvm, "tear", os.path.join(examples, "broken.tear"), img, "-I", capdir)
        expect(r.returncode == 1 and "TORN" in r.stdout and f"pc 0x{setshort_pc:04X}" in r.stdout,
               "broken: text report names the pc", r.stdout)

        # fixed
        r = run(cardvm, "tear", os.path.join(examples, "fixed.tear"), img, "-I", capdir, "--json")
        rep = json.loads(r.stdout) if r.stdout.startswith("{") else {"torn": -1, "commands": []}
        expect(r.returncode == 0 and rep["torn"] == 0, "fixed: clean, exit 0", r.stdout + r.stderr)
        c = [c for c in rep["commands"] if c["kind"] == "cut"]
        expect(len(c) == 1 and c[0]["cut_points"] == c[0]["writes"] >= 2 and c[0]["before"] + c[0]["after"] == c[0]["writes"],
               "fixed: every write index tried, each before or after", json.dumps(c))

        # the shared transcript as a tearing run
        apdu = os.path.join(shared, "javacard/applets/counter/counter.apdu")
        script = os.path.join(tmp, "counter.tear")
        open(script, "w").write(transcript_script(apdu, counter_cap))
        r = run(cardvm, "tear", script, img, "--json")
        rep = json.loads(r.stdout) if r.stdout.startswith("{") else {"torn": -1, "commands": []}
        writing = [c for c in rep["commands"] if c["kind"] == "cut"]
        expect(r.returncode == 0 and rep["torn"] == 0 and len(writing) >= 4,
               f"counter transcript: {len(writing)} writing commands, clean", r.stdout + r.stderr)
        expect(all(c["cut_points"] == c["writes"] for c in writing), "counter transcript: every write index")

        # --max-points, --resets
        r = run(cardvm, "tear", script, img, "--json", "--max-points", "1")
        rep = json.loads(r.stdout) if r.stdout.startswith("{") else {"commands": []}
        expect(r.returncode == 0 and all(c["cut_points"] == 1 for c in rep["commands"]), "--max-points 1")
        # --resets: a cold reset at every boundary of the block, the rest of
        # the block, then the checks: the counter keeps its state in NVM only
        body = open(script).read().split("tear\n", 1)[1].split("end\n", 1)[0]
        boundaries = len([l for l in body.splitlines() if l.strip()]) - 1
        r = run(cardvm, "tear", script, img, "--json", "--max-points", "1", "--resets")
        rep = json.loads(r.stdout) if r.stdout.startswith("{") else {"commands": [], "torn": -1}
        resets = [c for c in rep["commands"] if c["kind"] == "reset"]
        expect(r.returncode == 0 and rep["torn"] == 0 and len(resets) == boundaries,
               f"--resets: {boundaries} reset points, each the block's before- or after-state", r.stdout[-2000:])

        # usage errors: 2
        for args in ([], ["only-one"], [script, img, "--max-points", "0"], [os.path.join(tmp, "none.tear"), img]):
            r = run(cardvm, "tear", *args, ok_codes=(2,))
            expect(r.returncode == 2, f"usage error {args[-1:] if args else '[]'}: exit 2", r.stderr)
        bad = os.path.join(tmp, "bad.tear")
        open(bad, "w").write("tear\nsend 8010000002\n")
        r = run(cardvm, "tear", bad, img, ok_codes=(2,))
        expect(r.returncode == 2 and "tear without end" in r.stderr, "tear without end: exit 2", r.stderr)
        expect(open(img, "rb").read() == before, "the image is never written")
    print(f"{failures} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
