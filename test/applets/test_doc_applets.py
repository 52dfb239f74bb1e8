#!/usr/bin/env python3
"""docs/applets.md runs as written: every `$ COMMAND` line of its ```sh
blocks, in order, in one bash session started in a scratch folder that has
`examples` (the source's) and `build` (this build tree) in it and
build/bin first on the PATH; each must exit 0, and the lines shown under a
command must be among the lines it prints (stdout and stderr; APDU trace
timestamps aside). It needs javac and the build's API stubs jar, pcscd,
opensc-tool and pyscard: without them the test is skipped (77).
usage: test_doc_applets.py DOC SOURCE_DIR BUILD_DIR
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile


def commands(doc):
    out, in_sh = [], False
    for line in open(doc):
        line = line.rstrip("\n")
        if line.startswith("```"):
            in_sh = line == "```sh"
            continue
        if not in_sh:
            continue
        if line.startswith("$ "):
            out.append([line[2:], []])
        elif out and line.strip():
            out[-1][1].append(line)
    return out


def main():
    doc, src, build = sys.argv[1:4]
    have_pcsc = all(shutil.which(p, path="/usr/sbin:/usr/bin:/sbin") for p in ("pcscd", "opensc-tool", "javac"))
    if not os.path.exists(os.path.join(build, "share", "cardvm-api.jar")):
        print("SKIP: no API stubs jar (build/share/cardvm-api.jar: the build had no JDK)")
        return 77
    try:
        subprocess.run(["/usr/bin/python3", "-c", "import smartcard"], check=True, capture_output=True)
    except (subprocess.CalledProcessError, FileNotFoundError):
        have_pcsc = False
    if os.environ.get("CARDVM_TEST_PCSCD_PRELOAD"):
        # a sanitizer build: pcscd would need the sanitizer runtimes preloaded,
        # which the doc's plain commands do not do (applet_diagnostics covers
        # the driver there)
        print("SKIP: sanitizer build (the doc's pcscd would need LD_PRELOAD)")
        return 77
    if not have_pcsc:
        print("SKIP: pcscd, opensc-tool or python3-pyscard (smartcard) is not installed")
        return 77
    cmds = commands(doc)
    with tempfile.TemporaryDirectory() as tmp:
        os.symlink(os.path.join(src, "examples"), os.path.join(tmp, "examples"))
        os.symlink(build, os.path.join(tmp, "build"))
        script = ["set -u", f"cd {tmp}", f"export PATH={build}/bin:/usr/bin:$PATH"]
        for i, (c, _) in enumerate(cmds):
            script += [f"echo '@@@ begin {i}'", f"{{ {c} ; }} 2>&1", f"echo \"@@@ end {i} $?\""]
        # whatever happens, no pcscd of ours is left running
        script += ["if [ -n \"${PCSCD:-}\" ]; then kill $PCSCD 2>/dev/null; fi", "true"]
        r = subprocess.run(["bash", "-c", "\n".join(script)], capture_output=True, text=True, timeout=300)
        out = r.stdout
        failures = 0
        for i, (c, want) in enumerate(cmds):
            m = re.search(rf"@@@ begin {i}\n(.*?)@@@ end {i} (\d+)\n", out, re.S)
            if not m:
                print(f"FAIL: `{c}` did not run\n{out[-2000:]}{r.stderr[-2000:]}")
                failures += 1
                break
            got = [re.sub(r"^\d\d:\d\d:\d\d\.\d+ ", "", l) for l in m.group(1).splitlines()]
            missing = [w for w in want if w not in got]
            if m.group(2) != "0" or missing:
                failures += 1
                print(f"FAIL: `{c}` exit {m.group(2)}; missing lines: {missing}\n--- it printed:\n{m.group(1)}")
            else:
                print(f"ok   {c[:100]}")
    print(f"{len(cmds)} commands, {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
