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


def convert(cardvm, classes, package, aid, version, applets, out_cap, export_path=(), extra=(), timeout=None):
    cmd = [cardvm, "convert", "--classes", classes, "--package", package, "--aid", aid, "--version", version]
    for a, cls in applets:
        cmd += ["--applet", a, cls]
    for d in export_path:
        cmd += ["--export-path", d]
    cmd += ["-o", out_cap, "--jca", out_cap[:-4] + ".jca"] + list(extra)
    return subprocess.run(cmd, capture_output=True, text=True, errors="replace", timeout=timeout)


def read_exp(path):
    """An export file's public tokens: {class: (token, {member name+desc: token})} (JCVM ch. 5)."""
    import struct
    b = open(path, "rb").read()
    assert b[:4] == b"\x00\xfa\xca\xde", path
    n = struct.unpack(">H", b[6:8])[0]
    at, cp = 8, []
    for _ in range(n):
        tag = b[at]
        if tag == 1:
            ln = struct.unpack(">H", b[at + 1:at + 3])[0]
            cp.append((1, b[at + 3:at + 3 + ln].decode()))
            at += 3 + ln
        elif tag == 3:
            cp.append((3, struct.unpack(">i", b[at + 1:at + 5])[0]))
            at += 5
        elif tag == 7:
            cp.append((7, struct.unpack(">H", b[at + 1:at + 3])[0]))
            at += 3
        elif tag == 13:
            alen = b[at + 6]
            cp.append((13, None))
            at += 7 + alen
        else:
            raise ValueError("%s: tag %d" % (path, tag))
    at += 2
    classes = {}
    nc = b[at]
    at += 1
    for _ in range(nc):
        tok = b[at]
        name = cp[cp[struct.unpack(">H", b[at + 3:at + 5])[0]][1]][1]
        at += 5
        ns = struct.unpack(">H", b[at:at + 2])[0]
        at += 2 + 2 * ns
        ni = b[at]
        at += 1 + 2 * ni
        members = {}
        nf = struct.unpack(">H", b[at:at + 2])[0]
        at += 2
        for _ in range(nf):
            ftok = b[at]
            fname = cp[struct.unpack(">H", b[at + 3:at + 5])[0]][1]
            fdesc = cp[struct.unpack(">H", b[at + 5:at + 7])[0]][1]
            na = struct.unpack(">H", b[at + 7:at + 9])[0]
            at += 9
            for _ in range(na):
                ln = struct.unpack(">I", b[at + 2:at + 6])[0]
                at += 6 + ln
            members["field " + fname + " " + fdesc] = ftok
        nm = struct.unpack(">H", b[at:at + 2])[0]
        at += 2
        for _ in range(nm):
            mtok = b[at]
            flags = struct.unpack(">H", b[at + 1:at + 3])[0]
            mname = cp[struct.unpack(">H", b[at + 3:at + 5])[0]][1]
            mdesc = cp[struct.unpack(">H", b[at + 5:at + 7])[0]][1]
            at += 7
            kind = "static" if flags & 0x08 else "method"
            members[kind + " " + mname + mdesc] = mtok
        classes[name] = (tok, members)
    return classes
