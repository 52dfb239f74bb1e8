#!/usr/bin/env python3
"""convert_applets: the acceptance of `cardvm convert` on the shared Java
Card material. For every applet under ../shared/javacard/applets/*/src and
the bench corpus:

  * javac --release 8 -cp cardvm-api.jar, then `cardvm convert` of each
    package (name, AIDs, version and applets as Oracle's converter was told:
    read from its JCA), libraries first, clients against the export files
    the converter wrote;
  * `cardvm verify` accepts every CAP;
  * the CAPs load over SCP03 into a fresh card, install, and answer the
    shared transcript exactly (test/cap_host/cap_transcripts); the bench
    corpus answers its checksums.txt (n = 0 1 2 3 7 100 per kernel);
  * the public tokens of every export file equal those of the Oracle-made
    export file of the same package;
  * libshare across converters: the server and client converted against
    Oracle's loyalty.exp run with Oracle's loyalty.cap, and Oracle's server
    and client with the converter's loyalty.cap.

usage: test_convert_applets.py CARDVM CAP_TRANSCRIPTS JAVAC JAR SHARED_DIR
(exit 77: no ../shared)
"""
import glob
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from convert_shared import convert, javac, oracle_packages, read_exp  # noqa: E402

LOAD_ORDER = {"loyalty": 0, "loyaltysrv": 1, "shop": 2}
BENCH_N = (0, 1, 2, 3, 7, 100)


def bench_transcript(checksums, path):
    lines = ["# generated from ../shared/javacard/bench/checksums.txt",
             "# @install F043415057420101 bench.corpus.BenchApplet package=F0434150574201"
             "  (install parameters 08F043415057420101010000)",
             "# reset", "=> 00A4040008F043415057420101", "<= 9000"]
    for line in open(checksums):
        w = line.split()
        if len(w) < 3 or not w[0].isalnum() or line.startswith("#") or "=" not in w[2]:
            continue
        ins = int(w[0], 16)
        sums = dict(x.split("=") for x in w[2:])
        for n in BENCH_N:
            lines += ["=> 80%02X%04X02" % (ins, n), "<= %s9000" % sums[str(n)]]
    lines += ["=> 8010800002", "<= 6B00", "=> 8099000102", "<= 6D00"]
    open(path, "w").write("\n".join(lines) + "\n")


def main():
    cardvm, runner, javac_exe, jar, shared = sys.argv[1:6]
    root = os.path.join(shared, "javacard")
    if not os.path.isdir(root):
        print("SKIP: %s absent (the shared Java Card material)" % root)
        return 77
    failures = []
    work = tempfile.mkdtemp(prefix="convert_applets.")
    try:
        tree = os.path.join(work, "tree", "javacard", "applets")
        groups = []
        for d in sorted(glob.glob(os.path.join(root, "applets", "*"))):
            if glob.glob(os.path.join(d, "src")):
                groups.append((os.path.basename(d), d, os.path.join(d, "jc305u3-nodebug")))
        groups.append(("bench", os.path.join(root, "bench"), os.path.join(root, "bench", "cap", "nodebug", "bench",
                                                                           "corpus", "javacard")))
        names = []
        for app, src_dir, oracle_dir in groups:
            sources = sorted(glob.glob(os.path.join(src_dir, "src", "**", "*.java"), recursive=True))
            classes = os.path.join(work, app, "classes")
            r = javac(javac_exe, jar, sources, classes)
            if r.returncode != 0:
                failures.append("%s: javac: %s" % (app, r.stderr))
                continue
            out = os.path.join(tree, app, "cardvm")
            os.makedirs(out)
            for t in glob.glob(os.path.join(src_dir, "*.apdu")):
                shutil.copy(t, os.path.join(tree, app))
                names.append(os.path.basename(t)[:-5])
            if app == "bench":
                bench_transcript(os.path.join(src_dir, "checksums.txt"), os.path.join(tree, app, "bench.apdu"))
                names.append("bench")
            pkgs = oracle_packages(oracle_dir)
            pkgs.sort(key=lambda p: LOAD_ORDER.get(os.path.basename(p[0])[:-4], 0))
            libs = []
            for jca, name, aid, ver, applets in pkgs:
                base = os.path.basename(jca)[:-4]
                cap = os.path.join(out, base + ".cap")
                r = convert(cardvm, classes, name, aid, ver, applets, cap, export_path=[out])
                if r.returncode != 0:
                    failures.append("%s: convert %s: %s" % (app, name, r.stderr))
                    continue
                v = subprocess.run([cardvm, "verify", cap] + sum([["--lib", x] for x in libs], []),
                                   capture_output=True, text=True)
                print("%s %s: converted, verify: %s" % (app, name, v.stdout.strip().splitlines()[-1:]))
                if v.returncode != 0:
                    failures.append("%s: verify %s: %s%s" % (app, name, v.stdout, v.stderr))
                libs.append(cap)
                # public tokens against the Oracle-made export file
                oracle_exp = jca[:-4] + ".exp"
                mine, theirs = read_exp(cap[:-4] + ".exp"), read_exp(oracle_exp)
                diffs = []
                for cls, (tok, members) in theirs.items():
                    if cls not in mine:
                        diffs.append("class %s missing" % cls)
                        continue
                    if mine[cls][0] != tok:
                        diffs.append("class %s token %d, Oracle %d" % (cls, mine[cls][0], tok))
                    for m, t in members.items():
                        if mine[cls][1].get(m) != t:
                            diffs.append("%s %s token %s, Oracle %d" % (cls, m, mine[cls][1].get(m), t))
                for cls in mine:
                    if cls not in theirs:
                        diffs.append("class %s not in Oracle's export" % cls)
                n = sum(1 + len(m) for _, m in theirs.values())
                print("%s %s: export tokens: %d compared, %d differ" % (app, name, n, len(diffs)))
                if diffs:
                    failures.append("%s %s export: %s" % (app, name, "; ".join(diffs)))
        # libshare across converters
        ls = os.path.join(root, "applets", "libshare", "jc305u3-nodebug")
        if os.path.isdir(ls) and os.path.isdir(os.path.join(tree, "libshare", "cardvm")):
            mine = os.path.join(tree, "libshare", "cardvm")
            x1 = os.path.join(tree, "libshare", "cardvm-oracle-lib")
            x2 = os.path.join(tree, "libshare", "oracle-cardvm-lib")
            os.makedirs(x1)
            os.makedirs(x2)
            shutil.copy(os.path.join(ls, "loyalty.cap"), x1)
            shutil.copy(os.path.join(mine, "loyalty.cap"), x2)
            for base in ("loyaltysrv", "shop"):
                shutil.copy(os.path.join(ls, base + ".cap"), x2)
            for jca, name, aid, ver, applets in oracle_packages(ls):
                base = os.path.basename(jca)[:-4]
                if base == "loyalty":
                    continue
                r = convert(cardvm, os.path.join(work, "libshare", "classes"), name, aid, ver, applets,
                            os.path.join(x1, base + ".cap"), export_path=[ls])
                if r.returncode != 0:
                    failures.append("libshare against Oracle's loyalty.exp: %s" % r.stderr)
        variants = ["cardvm"]
        cmd = [runner, "--shared", os.path.join(work, "tree"), "--cardvm", cardvm, "--workdir", work]
        r = subprocess.run(cmd + ["--variant", "cardvm"] + names, capture_output=True, text=True)
        print(r.stdout + r.stderr)
        if r.returncode != 0:
            failures.append("transcripts")
        r = subprocess.run(cmd + ["--variant", "cardvm-oracle-lib", "--variant", "oracle-cardvm-lib", "libshare"],
                           capture_output=True, text=True)
        print(r.stdout + r.stderr)
        if r.returncode != 0:
            failures.append("libshare across converters")
        del variants
    finally:
        shutil.rmtree(work, ignore_errors=True)
    for f in failures:
        print("FAIL " + f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
