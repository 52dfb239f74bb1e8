#!/usr/bin/env python3
"""counter_variants.py SHARED_COUNTER_CAP OUTDIR — the broken/fixed applet pair
of examples/tearing, made from the shared counter applet's Oracle-converted CAP
(examples/tearing/README.md explains why there is no converter run here).

Both variants: COMPARE (INS 14) compares against history[0..] instead of
history[2..], so that a check can read the two bytes INC writes there.
Broken: INC (INS 10) without its transaction — `counter++` and
`Util.setShort(history, 0, counter)` are two separate persistent updates.
Fixed: INC unchanged (JCSystem.beginTransaction ... commitTransaction).

The bytecode is found by its instruction sequence (counter.jca, method
process), the two invokestatics become nops, and their constant pool
operands leave the RefLocation component (JCVM 3.0.5 §6.11) and the
Directory component's size table (§6.5) follows. Every other byte is kept.
Prints, one per line: the Method component offset of process(), the bytecode
offset (pc) of INC's Util.setShort invokestatic and of the COMPARE patch.
"""
import sys
import zipfile

# INC in process(): invokestatic 16 (beginTransaction); aload_0; dup;
# getfield_s 3; sconst_1; sadd; putfield_s 3; getfield_a_this 0; sconst_0;
# getfield_s_this 3; invokestatic 18 (Util.setShort); pop; invokestatic 19
INC = bytes.fromhex("8D0010 18 3D 8503 04 41 8903 AD00 03 AF03 8D0012 3B 8D0013".replace(" ", ""))
SETSHORT_AT = 16                      # offset of invokestatic 18 inside INC
# COMPARE: aload_2; sconst_0; aload_2; sconst_5; getfield_a_this 0; sconst_2;
# sload_3; invokestatic 26 (Util.arrayCompare)
CMP = bytes.fromhex("1A031A08AD00051F8D001A")
CMP_SCONST2_AT = 6
# process() begins: aload_0; invokevirtual (selectingApplet)
PROCESS_START = bytes.fromhex("188B")


def find_once(b, pat):
    i = b.find(pat)
    assert i >= 0 and b.find(pat, i + 1) < 0, "pattern not found exactly once: " + pat.hex()
    return i


def comp(data):
    assert len(data) == 3 + int.from_bytes(data[1:3], "big")
    return data


def reloc_decode(lst):
    out, at, i = [], 0, 0
    while i < len(lst):
        d = 0
        while lst[i] == 255:
            d += 255
            i += 1
        d += lst[i]
        i += 1
        at += d
        out.append(at)
    return out


def reloc_encode(offs):
    out, prev = bytearray(), 0
    for o in offs:
        d = o - prev
        while d >= 255:
            out.append(255)
            d -= 255
        out.append(d)
        prev = o
    return bytes(out)


def main():
    src, outdir = sys.argv[1], sys.argv[2]
    z = zipfile.ZipFile(src)
    files = {i.filename: z.read(i.filename) for i in z.infolist()}
    names = {n.rsplit("/", 1)[-1]: n for n in files}
    method = bytearray(comp(files[names["Method.cap"]]))
    info = method[3:]
    inc = find_once(bytes(info), INC)
    cmp_at = find_once(bytes(info), CMP)
    # process() is the method holding INC: the last method start before it
    code = bytes(info).rfind(PROCESS_START, 0, inc)
    # header (JCVM §6.9): 2 bytes, flags<<4|max_stack, nargs<<4|max_locals;
    # counter.jca: .stack 7, .locals 5, 2 arguments (this, apdu)
    assert info[code - 2] == 0x07 and info[code - 1] == 0x25, "process() header"
    process_off = code - 2
    for variant in ("fixed", "broken"):
        m = bytearray(info)
        m[cmp_at + CMP_SCONST2_AT] = 0x03          # sconst_0
        reloc = bytearray(comp(files[names["RefLocation.cap"]]))
        directory = bytearray(comp(files[names["Directory.cap"]]))
        if variant == "broken":
            gone = [inc + 1, inc + len(INC) - 2]    # the u2 operands
            m[inc:inc + 3] = b"\0\0\0"
            m[inc + len(INC) - 3:inc + len(INC)] = b"\0\0\0"
            r = reloc[3:]
            n1 = int.from_bytes(r[0:2], "big")
            byte1 = r[2:2 + n1]
            n2 = int.from_bytes(r[2 + n1:4 + n1], "big")
            offs = reloc_decode(r[4 + n1:4 + n1 + n2])
            assert all(g in offs for g in gone), "RefLocation lists the invokestatic operands"
            enc = reloc_encode([o for o in offs if o not in gone])
            body = len(byte1).to_bytes(2, "big") + bytes(byte1) + len(enc).to_bytes(2, "big") + enc
            reloc = bytearray(b"\x09" + len(body).to_bytes(2, "big") + body)
            # Directory: component_sizes[tag - 1] (RefLocation tag 9)
            directory[3 + 2 * 8:3 + 2 * 8 + 2] = len(body).to_bytes(2, "big")
        out = zipfile.ZipFile(f"{outdir}/counter-{variant}.cap", "w", zipfile.ZIP_STORED)
        for i in z.infolist():
            data = files[i.filename]
            base = i.filename.rsplit("/", 1)[-1]
            if base == "Method.cap":
                data = bytes(method[:3]) + bytes(m)
            elif base == "RefLocation.cap":
                data = bytes(reloc)
            elif base == "Directory.cap":
                data = bytes(directory)
            out.writestr(i.filename, data)
        out.close()
    print(process_off)
    print(inc + SETSHORT_AT - code)
    print(cmp_at + CMP_SCONST2_AT - code)


if __name__ == "__main__":
    main()
