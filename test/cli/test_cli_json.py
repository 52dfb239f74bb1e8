#!/usr/bin/env python3
"""`cardvm info --json`, `cardvm send --json` and the exit code table, checked
against docs/cli.md: the keys and types come from the doc's tables, the
values from the card's structure (the text view, ISO/IEC 7816-4 answers)."""
import json
import os
import re
import subprocess
import sys
import tempfile

CARDVM, DOC = sys.argv[1], sys.argv[2]
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what)


def run(*args):
    p = subprocess.run([CARDVM, *args], capture_output=True, text=True, timeout=120)
    return p.returncode, p.stdout, p.stderr


def doc_table(heading):
    """{key: type} from the first table after `heading` in docs/cli.md."""
    text = open(DOC, encoding="utf-8").read()
    start = text.index(heading)
    rows = {}
    for line in text[start:].splitlines()[1:]:
        if line.startswith("## "):
            break
        m = re.match(r"\|\s*`([a-z_0-9]+)`\s*\|\s*([^|]+)\|", line)
        if m:
            rows[m.group(1)] = m.group(2).strip()
    return rows


def type_ok(value, doc_type):
    allowed = []
    for t in re.split(r"\s+or\s+", doc_type):
        allowed.append({"integer": int, "string": str, "boolean": bool, "number": (int, float),
                        "null": type(None), "object": dict}.get(t.split()[0], list))
    if isinstance(value, bool):
        return bool in allowed
    return any(isinstance(value, a) and (a is not int or not isinstance(value, bool)) for a in allowed)


def exit_codes():
    """{meaning word: code} from the exit code table."""
    text = open(DOC, encoding="utf-8").read()
    codes = {}
    for m in re.finditer(r"^\|\s*(\d)\s*\|\s*([^|]+)\|", text, re.M):
        codes[m.group(2).split(":")[0].split()[0].lower()] = int(m.group(1))
    return codes


info_keys = doc_table("## `cardvm info --json`")
send_keys = doc_table("## `cardvm send --json`")
codes = exit_codes()
check(len(info_keys) >= 30, f"docs/cli.md lists the info keys ({len(info_keys)})")
check(set(send_keys) == {"index", "command", "response", "sw", "sw_meaning", "time_ms"}, "send keys documented")
check({"success": 0, "usage": 2, "i/o": 3, "card": 4, "reader": 5}.items() <= codes.items(), f"exit code table {codes}")

with tempfile.TemporaryDirectory(prefix="cardvm-json-") as d:
    blank, user = os.path.join(d, "blank.img"), os.path.join(d, "user.img")
    check(run("create", "--blank", "--nvm-size", "64K", "--page-size", "128", "--historical", "8056414243",
              blank)[0] == 0, "create --blank")
    check(run("create", user)[0] == 0, "create (USER card)")

    views = {}
    for img in (blank, user):
        rc, out, err = run("info", "--json", img)
        check(rc == 0, f"info --json rc {rc}: {err}")
        j = json.loads(out)
        views[img] = j
        check(set(j) == set(info_keys), f"info keys = documented keys: extra {set(j) - set(info_keys)}, "
              f"missing {set(info_keys) - set(j)}")
        for k, v in j.items():
            if k in info_keys:
                check(type_ok(v, info_keys[k]), f"{img}: {k}={v!r} is not {info_keys[k]}")
        # the same facts as the text view
        text = run("info", img)[1]
        check(f"commits:      {j['commits']}\n" in text, "commits as in the text view")
        check(f"ATR:          {j['atr']}\n" in text, "ATR as in the text view")
        check(f"NVM:          {j['nvm_bytes'] // 1024} KiB in {j['nvm_page_bytes']}-byte pages" in text, "NVM line")
        check(j["nvm_free_bytes"] + j["nvm_used_bytes"] <= j["nvm_bytes"], "free + used within NVM")
        check(j["nvm_largest_free_block_bytes"] <= j["nvm_free_bytes"], "largest block within free")
        if j["mode"] is not None:
            check(f"mode:         {j['mode']}\n" in text, "mode as in the text view")
        for p in j["packages"]:
            check(re.fullmatch(r"([0-9A-F]{2}){5,16}", p["aid"]) is not None, f"package AID {p['aid']}")
            check(p["kind"] in ("applet", "library", "customization", "update"), f"package kind {p['kind']}")
            check(f"package:      {p['aid']} v{p['major']}.{p['minor']} {p['kind']}" in text, "package line")
        for a in j["applets"]:
            check(any(p["aid"] == a["package_aid"] for p in j["packages"]), f"applet {a['aid']}'s package listed")

    b = views[blank]
    check(b["nvm_bytes"] == 64 * 1024 and b["nvm_page_bytes"] == 128, "blank: sizes as created")
    # ISO 7816-3: TS 3B, T0 8x (5 historical bytes follow TD1/TD2), the given historical bytes, TCK
    check(b["atr"].startswith("3B85") and "8056414243" in b["atr"], f"blank: ATR {b['atr']}")
    u = views[user]
    check(u["mode"] == "USER", f"user card mode {u['mode']}")
    check("user" in u["otp_trace_flags"] and u["otp_trace"] & 8, "user card: OTP trace has the user bit")
    check(u["key_set_versions"] == [0x30], f"user card key sets {u['key_set_versions']}")
    check(re.fullmatch(r"[0-9A-F]{16}", u["serial"] or "") is not None, f"serial {u['serial']}")
    check(u["unlock_tries_left"] <= u["unlock_tries_max"], "UNLOCK tries")

    # send --json: the ISD's FCI (GP: tag 6F holding 84 = the ISD AID), then
    # an AID no card holds (ISO 7816-4: 6A82), then an INS no GP card defines (an error of class 6x).
    isd = "A000000151000000"
    rc, out, err = run("send", "--json", blank, "00A4040008" + isd, "00a4040005F0F1F2F3F4", "80FE000000")
    check(rc == 0, f"send --json rc {rc}: {err}")
    lines = out.splitlines()
    check(len(lines) == 3, f"one object per exchange: {out!r}")
    objs = [json.loads(line) for line in lines]
    for i, o in enumerate(objs):
        check(set(o) == set(send_keys), f"send keys {sorted(o)}")
        for k, v in o.items():
            check(k not in send_keys or type_ok(v, send_keys[k]), f"send {k}={v!r} is not {send_keys.get(k)}")
        check(o["index"] == i + 1, "index counts from 1")
        check(re.fullmatch(r"[0-9A-F]{4}", o["sw"]) is not None, "sw is 4 hex digits")
        check(re.fullmatch(r"([0-9A-F]{2})*", o["response"]) is not None, "response is hex")
        check(o["time_ms"] >= 0, "time is not negative")
    check(objs[0]["command"] == "00A4040008" + isd, "command echoed in uppercase hex")
    check(objs[1]["command"] == "00A4040005F0F1F2F3F4", "lowercase command printed uppercase")
    fci = objs[0]["response"]
    check(fci.startswith("6F") and int(fci[2:4], 16) * 2 == len(fci) - 4 and ("8408" + isd) in fci,
          f"FCI structure {fci}")
    check(objs[0]["sw"] == "9000" and objs[0]["sw_meaning"] == "success", "SELECT ISD 9000 success")
    check(objs[1]["sw"] == "6A82" and objs[1]["response"] == "", f"unknown AID 6A82: {objs[1]}")
    check(objs[1]["sw_meaning"] == "file or application not found", "6A82 meaning")
    check(objs[2]["sw"][0] == "6" and objs[2]["sw_meaning"] not in ("", "unknown status word"),
          f"INS FE refused with a known status word: {objs[2]}")

    # Exit codes of each class
    rc, _, err = run("info")
    check(rc == codes["usage"], f"usage: info without IMAGE rc {rc}")
    rc, _, err = run("info", "--bogus", blank)
    check(rc == codes["usage"] and "--bogus" in err, f"usage: unknown option named ({rc}, {err!r})")
    rc, _, err = run("send", "--expect", "90", blank, "80CA004200")
    check(rc == codes["usage"] and "--expect" in err and "'90'" in err, f"usage: bad --expect named ({rc}, {err!r})")
    rc, _, err = run("send", blank, "8OCA")
    check(rc == codes["usage"], f"usage: bad hex rc {rc}")
    missing = os.path.join(d, "no-such-dir", "card.img")
    rc, _, err = run("info", missing)
    check(rc == codes["i/o"] and missing in err, f"I/O: info on a missing image ({rc}, {err!r})")
    rc, _, err = run("send", missing, "80CA004200")
    check(rc == codes["i/o"] and missing in err, f"I/O: send to a missing image ({rc}, {err!r})")
    rc, _, err = run("gp", user, "--load", os.path.join(d, "missing.cap"))
    check(rc == codes["i/o"] and "missing.cap" in err and os.strerror(2) in err,
          f"I/O: gp --load missing file with the system message ({rc}, {err!r})")
    rc, out, err = run("send", "--expect", "9000", blank, "00A4040008" + isd, "00A4040005F0F1F2F3F4", "80CA9F7F00")
    check(rc == codes["card"], f"card: --expect 9000 answered 6A82 rc {rc}")
    check("APDU 2" in err and "6A82 file or application not found" in err, f"card: message {err!r}")
    check(len(out.splitlines()) == 2, "card: answers up to the failing one printed, no further APDU sent")
    rc, out, err = run("send", "--expect", "9000", "--expect", "6AXX", blank, "00A4040005F0F1F2F3F4")
    check(rc == 0, f"--expect with a pattern accepts 6A82 ({rc}, {err!r})")
    rc, _, err = run("send", "--reader", "no such reader of cardvm's tests", "00A4040000")
    check(rc == codes["reader"], f"reader: send to a reader that does not exist rc {rc}")
    script = os.path.join(d, "select.script")
    with open(script, "w") as f:
        f.write("select F0F1F2F3F4\n")
    rc, _, err = run("script", script, blank)
    check(rc != 0 and "6A82 file or application not found" in err, f"script message has the SW meaning: {err!r}")
    rc, _, err = run("gp", user, "--delete", "F0F1F2F3F4F5")
    check(rc == codes["card"] and "6A88 referenced data not found" in err, f"card: gp DELETE ({rc}, {err!r})")

# campaign status --json and conform --json, against their tables
status_keys = doc_table("## `cardvm campaign status --json`")
conform_keys = doc_table("## `cardvm conform --json FILE`")
check(set(status_keys) == {"registry", "enrolled", "campaign", "states"}, f"status keys documented {status_keys}")
check(set(conform_keys) == {"suite", "card", "transport", "checks", "totals"}, f"conform keys documented {conform_keys}")
KEY = "000102030405060708090A0B0C0D0E0F"
with tempfile.TemporaryDirectory(prefix="cardvm-json-") as d:
    reg, cvc, pse = os.path.join(d, "r.db"), os.path.join(d, "c.cvc"), os.path.join(d, "p.pse")
    rc, out, err = run("campaign", "design", "--example", "os-update", "--profile", "3", "--kos", KEY,
                       "--campaign", cvc, "--pse", pse)
    check(rc == 0 and "--vector 0:0" in out, f"design --example os-update takes vector 0:0 ({rc}, {out!r}, {err!r})")
    rc, out, err = run("campaign", "enroll", "--registry", reg, "--dir", d, "--count", "2", "--master", KEY,
                       "--kos", KEY, "--kmac", KEY, "--lab")
    check(rc == 0, f"enroll 2 cards ({rc}, {err!r})")
    rc, out, err = run("campaign", "status", "--registry", reg, "--campaign", cvc, "--json")
    check(rc == 0, f"status --json rc {rc} {err!r}")
    j = json.loads(out)
    check(set(j) == set(status_keys), f"status keys {sorted(j)}")
    for k, v in j.items():
        check(type_ok(v, status_keys[k]), f"status {k}={v!r} is not {status_keys[k]}")
    check(j["enrolled"] == 2 and j["registry"] == reg, f"status: 2 cards enrolled {j}")
    check(re.fullmatch(r"[0-9A-F]{16}", j["campaign"]) is not None, f"campaign id {j['campaign']}")
    check(set(j["states"]) == {"prepared", "playing", "played", "stale", "updated", "failed"}
          and all(v == 0 for v in j["states"].values()), f"states before the server ran {j['states']}")
    rc, out, err = run("campaign", "run", "--registry", reg, "--master", KEY, "--campaign", cvc, "--pse", pse,
                       "--lab", "--quiet")
    check(rc == 0 and "2 updated" in out, f"run ({rc}, {out!r}, {err!r})")
    j = json.loads(run("campaign", "status", "--registry", reg, "--campaign", cvc, "--json")[1])
    check(j["states"]["updated"] == 2, f"both updated {j['states']}")
    # the OS version did change: GET OS VERSION through the vector answers the update's "CVOS" 02 00
    img = [f for f in sorted(os.listdir(d)) if f.endswith(".img")][0]
    rc, out, err = run("send", os.path.join(d, img), "80F0000000")
    check(rc == 0 and out.strip().startswith("43564F530200"), f"updated card's OS version: {out!r} {err!r}")
    j = json.loads(run("campaign", "status", "--registry", reg, "--json")[1])
    check(set(j) == {"registry", "enrolled"}, f"status without --campaign {sorted(j)}")

    # per-role help: an overview with the seed's terms, each role its job, inputs, outputs, next step
    rc, out, _ = run("campaign", "--help")
    check(rc == 0 and all(t in out for t in ("P_SE", "P_AUT", "ST ", "FIG.3", "FIG.4", "DATASEND")),
          "campaign --help defines the seed's terms")
    roles = ["design", "enroll", "server", "terminal", "run", "status"]
    check([out.find(f"  {i + 1} {r}") >= 0 for i, r in enumerate(roles)] == [True] * 6, "roles listed in order")
    for i, r in enumerate(roles):
        rc, out, _ = run("campaign", r, "--help")
        check(rc == 0 and f"usage: cardvm campaign {r}" in out and f"Step {i + 1} of 6" in out,
              f"campaign {r} --help: {out[:80]!r}")
        check(r == "status" or ("Outputs" in out and "Next:" in out), f"campaign {r} --help: outputs and next step")

    suite = os.path.join(d, "suite")
    os.mkdir(suite)
    with open(os.path.join(suite, "two.script"), "w") as f:
        f.write("# requires: user\necho passes\nsend 80CA9F7F00 -> *9000\necho fails\nsend 80CA9F7F00 -> 6A88\n")
    rc, out, err = run("conform", "--suite", suite, "--replace-suite", "--json", "-")
    check(rc == codes["card"] or rc == 1, f"conform with a failing check rc {rc}")
    j = json.loads(out)
    check(set(j) == set(conform_keys), f"conform keys {sorted(j)}")
    for k, v in j.items():
        check(type_ok(v, conform_keys[k]), f"conform {k}={v!r} is not {conform_keys[k]}")
    check([c["result"] for c in j["checks"]] == ["pass", "fail"], f"results {j['checks']}")
    check(j["checks"][0]["reason"] is None and "6A88" in (j["checks"][1]["reason"] or ""), "reasons")
    check(j["checks"][1]["line"] == 4 and j["checks"][1]["script"] == "two", "script and echo line")
    check(j["totals"] == {**j["totals"], "checks": 2, "passed": 1, "failed": 1, "skipped": 0}, f"totals {j['totals']}")
    check("PASS" in err and "FAIL" in err, "text lines on stderr with --json -")

if failures:
    print(f"{len(failures)} check(s) failed")
    sys.exit(1)
print("cli json and exit codes: all checks passed")
