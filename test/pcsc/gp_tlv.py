"""BER-TLV (ISO/IEC 8825-1) and the GlobalPlatform data objects built from
it, parsed independently of the card: expectations come from GPCS v2.3.1
(Annex H, 11.3.3.1) and the rules of BER, never from the card's bytes.

Used by pcsc_clients.py (scriptor, opensc-tool) and gp_checks.py.
"""


class TlvError(Exception):
    pass


def parse(data):
    """[(tag, value bytes)] for a run of BER-TLV objects filling `data`
    exactly; raises TlvError on a length that runs past its container."""
    out, i, data = [], 0, bytes(data)
    while i < len(data):
        tag = data[i]
        i += 1
        if tag & 0x1F == 0x1F:                 # multi-byte tag
            while True:
                if i >= len(data):
                    raise TlvError("tag runs past the end")
                tag = tag << 8 | data[i]
                i += 1
                if not data[i - 1] & 0x80:
                    break
        if i >= len(data):
            raise TlvError(f"tag {tag:X}: no length")
        n = data[i]
        i += 1
        if n & 0x80:
            k = n & 0x7F
            if k == 0 or k > 3 or i + k > len(data):
                raise TlvError(f"tag {tag:X}: bad length form")
            n = int.from_bytes(data[i:i + k], "big")
            i += k
        if i + n > len(data):
            raise TlvError(f"tag {tag:X}: length {n} runs past its container ({len(data) - i} bytes left)")
        out.append((tag, data[i:i + n]))
        i += n
    return out


def one(data, tag):
    objs = parse(data)
    if len(objs) != 1 or objs[0][0] != tag:
        raise TlvError(f"expected exactly one {tag:X} object, got {[hex(t) for t, _ in objs]}")
    return objs[0][1]


def oid_arcs(value):
    """The arcs of a BER-encoded object identifier."""
    if not value:
        raise TlvError("empty OID")
    first = value[0]
    arcs = [min(first // 40, 2), first - 40 * min(first // 40, 2)]
    acc = 0
    for b in value[1:]:
        acc = acc << 7 | (b & 0x7F)
        if not b & 0x80:
            arcs.append(acc)
            acc = 0
    if value[-1] & 0x80:
        raise TlvError("OID ends inside an arc")
    return arcs


GLOBAL_PLATFORM = [1, 2, 840, 114283]      # {iso member-body us globalPlatform}


def card_recognition_data(data):
    """Checks tag 66 against GPCS Annex H.2 (format 1 or 2) and returns
    {'version': [..], 'scp': [(scp, i), ...]}."""
    crd = one(one(data, 0x66), 0x73)
    objs = parse(crd)
    tags = [t for t, _ in objs]
    if tags[0] != 0x06 or oid_arcs(objs[0][1]) != GLOBAL_PLATFORM + [1]:
        raise TlvError("73 must open with OID {globalPlatform 1}")
    result = {"version": None, "scp": [], "scheme": False}
    for tag, value in objs[1:]:
        inner = parse(value)
        if tag in (0x60, 0x63, 0x64):
            if not inner or any(t != 0x06 for t, _ in inner):
                raise TlvError(f"application tag {tag:X} must hold OIDs")
        if tag == 0x60:
            arcs = oid_arcs(inner[0][1])
            if arcs[:5] != GLOBAL_PLATFORM + [2]:
                raise TlvError(f"60: not {{globalPlatform 2 v}}: {arcs}")
            result["version"] = arcs[5:]
        elif tag == 0x63:
            if oid_arcs(inner[0][1]) != GLOBAL_PLATFORM + [3]:
                raise TlvError("63: not {globalPlatform 3}")
            result["scheme"] = True
        elif tag == 0x64:
            for _, v in inner:
                arcs = oid_arcs(v)
                if arcs[:5] != GLOBAL_PLATFORM + [4] or len(arcs) != 7:
                    raise TlvError(f"64: not {{globalPlatform 4 scp i}}: {arcs}")
                result["scp"].append((arcs[5], arcs[6]))
    if result["version"] is None or not result["scp"]:
        raise TlvError("60 and 64 are mandatory")
    return result


def key_information(data):
    """E0 (GPCS 11.3.3.1): [(key id, kvn, key type, key length)]."""
    keys = []
    for tag, v in parse(one(data, 0xE0)):
        if tag != 0xC0 or len(v) < 4:
            raise TlvError(f"E0 holds C0 objects, got {tag:X} {v.hex()}")
        keys.append((v[0], v[1], v[2], v[3]))
    return keys
