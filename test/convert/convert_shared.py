#!/usr/bin/env python3
"""Shared helpers of the converter tests: the packages of the shared
applets as Oracle's converter was told to make them (name, AID, version,
applets: read from its JCA), javac against the stubs, `cardvm convert`."""
import glob
import os
import re
import subprocess


def oracle_packages(jca_dir):
    """[(jca path, package dotted, aid hex, version, [(applet aid hex, class)])] of the JCA files in jca_dir."""
    out = []
    for path in sorted(glob.glob(os.path.join(jca_dir, "*.jca"))):
        text = open(path).read()
        name = re.search(r"^\.package\s+(\S+)\s*\{", text, re.M).group(1)
        aid = re.search(r"^\s*\.aid\s+([0-9A-Fa-fx:]+);", text, re.M).group(1)
        ver = re.search(r"^\s*\.version\s+([0-9.]+);", text, re.M).group(1)
        applets = []
        m = re.search(r"\.applet\s*\{(.*?)\}", text, re.S)
        if m:
            for line in m.group(1).splitlines():
                line = line.split("//")[0].strip().rstrip(";")
                if line:
                    a, cls = line.split()
                    applets.append((hexaid(a), cls))
        out.append((path, name.replace("/", "."), hexaid(aid), ver, applets))
    return out


def hexaid(jca_aid):
    return "".join("%02X" % int(b, 16) for b in jca_aid.split(":"))


def javac(javac_exe, jar, sources, out):
    os.makedirs(out, exist_ok=True)
    return subprocess.run([javac_exe, "-g", "-nowarn", "--release", "8", "-cp", jar, "-d", out] + sources,
                          capture_output=True, text=True)


def convert(cardvm, classes, package, aid, version, applets, out_cap, export_path=(), extra=()):
    cmd = [cardvm, "convert", "--classes", classes, "--package", package, "--aid", aid, "--version", version]
    for a, cls in applets:
        cmd += ["--applet", a, cls]
    for d in export_path:
        cmd += ["--export-path", d]
    cmd += ["-o", out_cap, "--jca", out_cap[:-4] + ".jca"] + list(extra)
    return subprocess.run(cmd, capture_output=True, text=True)
