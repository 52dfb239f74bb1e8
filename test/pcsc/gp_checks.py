#!/usr/bin/env python3
"""GlobalPlatform / SCP03 conformance checks of issue #13, driven by an
SCP03 host written here from Amendment D with python3-cryptography (AES,
CMAC) — independent of cardvm's own scp03/ code, so a bug cannot hide by
being symmetric. Expectations come from the specifications.

usage: gp_checks.py --reader NAME              (pyscard, through pcscd)
       gp_checks.py --vicc CARDVM IMAGE        (`cardvm vicc`: the card in
                                                 the cardvm process, no pcscd)
       [--hello-cap FILE]                      (first install the example
                                                 hello CAP as GPShell's
                                                 `install -file` does)

The card is a fresh `cardvm create` card: ISD A000000151000000, key set 30
with ENC = MAC = DEK = 40..4F, i = 70. Prints "ok CHECK" per check and
"gp checks: ok" at the end; the first failure raises.
"""
import argparse
import os
import signal
import socket
import subprocess
import sys

from cryptography.hazmat.primitives import cmac
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gp_tlv  # noqa: E402

ISD = bytes.fromhex("A000000151000000")
KEY30 = bytes(range(0x40, 0x50))
SCP_I = 0x70


class CheckFailed(Exception):
    pass


def need(cond, what):
    if not cond:
        raise CheckFailed(what)


# ---------------------------------------------------------------- crypto


def aes_cmac(key, data):
    c = cmac.CMAC(algorithms.AES(key))
    c.update(data)
    return c.finalize()


def aes_ecb(key, block):
    e = Cipher(algorithms.AES(key), modes.ECB()).encryptor()
    return e.update(block) + e.finalize()


def aes_cbc(key, iv, data, decrypt=False):
    c = Cipher(algorithms.AES(key), modes.CBC(iv))
    x = c.decryptor() if decrypt else c.encryptor()
    return x.update(data) + x.finalize()


def kdf(key, constant, context, bits):
    """Amendment D 4.1.5: NIST SP 800-108 counter mode, PRF CMAC; label 11
    zero bytes || constant, separator 00, L (2 bytes), counter, context."""
    out = b""
    i = 1
    while len(out) * 8 < bits:
        out += aes_cmac(key, bytes(11) + bytes([constant, 0]) + bits.to_bytes(2, "big") + bytes([i]) + context)
        i += 1
    return out[:bits // 8]


def pad80(data):
    data = data + b"\x80"
    return data + bytes(-len(data) % 16)


def kcv(key):
    return aes_ecb(key, b"\x01" * 16)[:3]


# ---------------------------------------------------------------- transports


class PyscardCard:
    def __init__(self, reader):
        from smartcard.CardConnection import CardConnection
        from smartcard.System import readers
        found = [r for r in readers() if str(r) == reader]
        need(found, f"reader {reader!r} not found")
        self.conn = found[0].createConnection()
        self.conn.connect(CardConnection.T1_protocol)

    def raw(self, apdu):
        data, sw1, sw2 = self.conn.transmit(list(apdu))
        return bytes(data) + bytes([sw1, sw2])

    def close(self):
        self.conn.disconnect()


class ViccCard:
    """vsmartcard's vpcd side on 127.0.0.1: 2-byte length + payload."""

    def __init__(self, cardvm, image):
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(1)
        self.listener.settimeout(15)
        port = self.listener.getsockname()[1]
        self.proc = subprocess.Popen([cardvm, "vicc", image, "--port", str(port)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.conn, _ = self.listener.accept()
        self.conn.settimeout(15)
        self._send(b"\x01")                  # power on
        need(self.raw_ctl(b"\x04"), "ATR")

    def _send(self, payload):
        self.conn.sendall(len(payload).to_bytes(2, "big") + payload)

    def _recv(self, n):
        buf = b""
        while len(buf) < n:
            chunk = self.conn.recv(n - len(buf))
            need(chunk, "vicc closed the connection")
            buf += chunk
        return buf

    def raw_ctl(self, payload):
        self._send(payload)
        return self._recv(int.from_bytes(self._recv(2), "big"))

    def raw(self, apdu):
        return self.raw_ctl(bytes(apdu))

    def close(self):
        try:
            self.conn.close()
            self.listener.close()
        finally:
            if self.proc.poll() is None:
                os.kill(self.proc.pid, signal.SIGTERM)   # the process we started, by its pid
            self.proc.wait(timeout=10)


def transmit(card, apdu):
    """Sends apdu and settles 61xx (GET RESPONSE) and 6Cxx (same command,
    Le = xx) as a T=0-minded host does; returns (data, sw)."""
    rsp = card.raw(apdu)
    sw = rsp[-2] << 8 | rsp[-1]
    if sw >> 8 == 0x6C:
        rsp = card.raw(bytes(apdu[:-1]) + bytes([sw & 0xFF]))
    data = rsp[:-2]
    sw = rsp[-2] << 8 | rsp[-1]
    while sw >> 8 == 0x61:
        more = card.raw(bytes([0x00, 0xC0, 0x00, 0x00, sw & 0xFF]))
        data += more[:-2]
        sw = more[-2] << 8 | more[-1]
    return data, sw


# ---------------------------------------------------------------- SCP03 host


def cla_on(cla, channel):
    """A class byte of the basic channel (first interindustry coding) on
    logical channel `channel` (GPCS 11.1.4: b2b1 for 0..3; for 4..19
    b7 set, b4..b1 = channel - 4, secure messaging in b6)."""
    if channel < 4:
        return (cla & 0xFC) | channel
    return (cla & 0x90) | 0x40 | (0x20 if cla & 0x0C else 0) | (channel - 4)


class Scp03:
    """The host end of one session (Amendment D 6.2), on logical channel
    `channel`: the C-MAC covers the class of the basic channel (6.2.4)."""

    def __init__(self, card, kvn=0x30, enc=KEY30, mac=KEY30, level=0x01, host_challenge=bytes(range(1, 9)),
                 channel=0):
        self.card = card
        self.channel = channel
        data, sw = transmit(card, bytes([cla_on(0x00, channel), 0xA4, 0x04, 0x00, len(ISD)]) + ISD + b"\x00")
        need(sw == 0x9000, f"SELECT ISD {sw:04X}")
        data, sw = transmit(card, bytes([cla_on(0x80, channel), 0x50, kvn, 0x00, 0x08]) + host_challenge + b"\x00")
        need(sw == 0x9000 and len(data) in (29, 32), f"INITIALIZE UPDATE {data.hex()} {sw:04X}")
        need(data[11] == 0x03, "SCP 03")
        self.i = data[12]
        card_challenge, card_cryptogram = data[13:21], data[21:29]
        ctx = host_challenge + card_challenge
        bits = len(enc) * 8
        self.s_enc = kdf(enc, 0x04, ctx, bits)
        self.s_mac = kdf(mac, 0x06, ctx, bits)
        self.s_rmac = kdf(mac, 0x07, ctx, bits)
        need(kdf(self.s_mac, 0x00, ctx, 64) == card_cryptogram, "card cryptogram")
        host_cryptogram = kdf(self.s_mac, 0x01, ctx, 64)
        self.chain = bytes(16)
        self.counter = 0
        self.level = level
        hdr = bytes([0x84, 0x82, level, 0x00, 0x10])
        mac_full = aes_cmac(self.s_mac, self.chain + hdr + host_cryptogram)
        data, sw = transmit(card, bytes([cla_on(0x84, channel)]) + hdr[1:] + host_cryptogram + mac_full[:8])
        need(sw == 0x9000, f"EXTERNAL AUTHENTICATE {sw:04X}")
        self.chain = mac_full

    def wrap(self, plain, extended=False, commit=True):
        """plain = CLA INS P1 P2 [Lc data] [Le] (short form); returns the
        wrapped command in short or extended form, MACed as transmitted."""
        cla, ins, p1, p2 = plain[:4]
        body, le = b"", None
        if len(plain) == 5:
            le = plain[4:5]
        elif len(plain) > 7 and plain[4] == 0:   # extended case 3/4: 00 Lc1 Lc2 data [Le1 Le2]
            n = int.from_bytes(plain[5:7], "big")
            body = plain[7:7 + n]
            rest = plain[7 + n:]
            le = rest if rest else None
            extended = True
        elif len(plain) > 5:
            body = plain[5:5 + plain[4]]
            rest = plain[5 + plain[4]:]
            le = rest if rest else None
        counter = self.counter + 1
        if self.level & 0x02 and body:
            body = aes_cbc(self.s_enc, aes_ecb(self.s_enc, counter.to_bytes(16, "big")), pad80(body))
        lc = len(body) + 8
        lc_field = (b"\x00" + lc.to_bytes(2, "big")) if extended else bytes([lc])
        head = bytes([(cla & ~0x0C) | 0x04, ins, p1, p2]) + lc_field
        mac_full = aes_cmac(self.s_mac, self.chain + head + body)
        if le is not None and extended and len(le) == 1:
            le = b"\x00" + le if le != b"\x00" else b"\x00\x00"
        if commit:
            self.chain = mac_full
            self.counter = counter
        return bytes([cla_on(head[0], self.channel)]) + head[1:] + body + mac_full[:8] + (le or b"")

    def unwrap(self, data, sw):
        if not self.level & 0x10 or sw >> 8 not in (0x90, 0x62, 0x63):
            return data
        need(len(data) >= 8, f"R-MAC missing: {data.hex()} {sw:04X}")
        body, rmac = data[:-8], data[-8:]
        need(aes_cmac(self.s_rmac, self.chain + body + sw.to_bytes(2, "big"))[:8] == rmac, "R-MAC")
        if self.level & 0x20 and body:
            icv = aes_ecb(self.s_enc, b"\x80" + self.counter.to_bytes(16, "big")[1:])
            body = aes_cbc(self.s_enc, icv, body, decrypt=True)
            body = body[:body.rindex(b"\x80")]
        return body

    def send(self, plain, extended=False):
        data, sw = transmit(self.card, self.wrap(plain, extended))
        return self.unwrap(data, sw), sw


GET_STATUS_ISD = bytes.fromhex("80F28002024F0000")


def key_block(dek, key, length_byte=True):
    """GPCS 11.8.2.3 key data field of an AES key under the DEK (zero ICV)."""
    padded = key + bytes(-len(key) % 16)
    enc = aes_cbc(dek, bytes(16), padded)
    comp = (bytes([len(key)]) if length_byte else b"") + enc
    return bytes([0x88, len(comp)]) + comp + b"\x03" + kcv(key)


def put_key(sc, p1, p2, new_kvn, keys, length_byte=True):
    data = bytes([new_kvn]) + b"".join(key_block(KEY30, k, length_byte) for k in keys)
    return sc.send(bytes([0x80, 0xD8, p1, p2, len(data)]) + data + b"\x00")


def key_info(card, sc=None):
    """(key id, KVN) of E0; through the session sc when one is open (a plain
    command would end a C-MAC session)."""
    get = bytes.fromhex("80CA00E000")
    data, sw = sc.send(get) if sc else transmit(card, get)
    need(sw == 0x9000, f"GET DATA E0 {sw:04X}")
    return sorted((kid, kvn) for kid, kvn, ktype, klen in gp_tlv.key_information(data))


# ---------------------------------------------------------------- checks


def check_card_recognition_data(card):
    transmit(card, bytes([0x00, 0xA4, 0x04, 0x00, len(ISD)]) + ISD)
    data, sw = transmit(card, bytes.fromhex("80CA006600"))
    need(sw == 0x9000, f"GET DATA 66 {sw:04X}")
    crd = gp_tlv.card_recognition_data(data)
    need(crd["version"] == [2, 3, 1] and crd["scp"] == [(3, SCP_I)] and crd["scheme"], f"66 says {crd}")


def check_get_data_tags(card):
    transmit(card, bytes([0x00, 0xA4, 0x04, 0x00, len(ISD)]) + ISD)
    answers = {}
    for tag in (0x0042, 0x0045, 0x0066, 0x0067, 0x00CF, 0x00C1, 0x00E0, 0x9F7F, 0x00FE):
        answers[tag] = transmit(card, bytes([0x80, 0xCA, tag >> 8, tag & 0xFF, 0x00]))
    for tag, (data, sw) in answers.items():
        need(sw in (0x9000, 0x6A88), f"GET DATA {tag:04X}: {sw:04X}")
        if sw == 0x9000:
            objs = gp_tlv.parse(data)
            need(len(objs) == 1 and objs[0][0] == tag, f"GET DATA {tag:04X} answers one object of its tag")
    need(answers[0x00FE][1] == 0x6A88, "unknown tag 6A88")
    cap = dict(gp_tlv.parse(gp_tlv.one(answers[0x0067][0], 0x67)))
    scp = dict(gp_tlv.parse(cap[0xA0]))
    need(scp[0x80] == b"\x03" and scp[0x81] == bytes([SCP_I]) and scp[0x82][0] & 0x01, f"67 A0 {scp}")
    need(len(cap[0x82]) == 3 and cap[0x83], "67: 82 and 83 present")
    need(len(gp_tlv.one(answers[0x00CF][0], 0xCF)) == 10, "CF: 10 bytes of diversification data")
    need(len(gp_tlv.one(answers[0x00C1][0], 0xC1)) == 3, "C1: 3-byte sequence counter")
    need(key_info(card) == [(1, 0x30), (2, 0x30), (3, 0x30)], "E0: key set 30")
    need(len(gp_tlv.one(answers[0x9F7F][0], 0x9F7F)) == 42, "9F7F: 42-byte CPLC")


def mutations(wrapped):
    """Every length, Lc, Le and CLA mutation of a short case-4 wrapped
    command (CLA INS P1 P2 Lc data Le)."""
    lc = wrapped[4]
    body = wrapped[5:5 + lc]
    head = wrapped[:4]
    m = {
        "Lc+1": head + bytes([lc + 1]) + body + wrapped[5 + lc:],
        "Lc-1": head + bytes([lc - 1]) + body + wrapped[5 + lc:],
        "Lc=0": head + b"\x00" + body + wrapped[5 + lc:],
        "trailing byte": wrapped + b"\x00",
        "two trailing bytes": wrapped + b"\x00\x00",
        "last data byte cut": head + bytes([lc]) + body[:-1],
        "Le dropped": wrapped[:-1],
        "Le 01": wrapped[:-1] + b"\x01",
        "Le FF": wrapped[:-1] + b"\xFF",
        "extended Lc, same MAC": head + b"\x00\x00" + bytes([lc]) + body + b"\x00\x00",
        "extended Lc, no Le": head + b"\x00\x00" + bytes([lc]) + body,
        "truncated header": wrapped[:3],
        "header only": wrapped[:4],
    }
    for name, cla in [("CLA 80 (no SM)", 0x80), ("CLA 85 (channel 1)", 0x85), ("CLA 87 (channel 3)", 0x87),
                      ("CLA 8C (ISO SM)", 0x8C), ("CLA 04", 0x04), ("CLA 00", 0x00), ("CLA FF", 0xFF),
                      ("CLA C0 (channel 4)", 0xC0), ("CLA E0 (SM, channel 4)", 0xE0), ("CLA E3 (SM, channel 7)", 0xE3),
                      ("CLA A4", 0xA4)]:
        m[name] = bytes([cla]) + wrapped[1:]
    return m


def check_mutations(card):
    """GP Amendment D 5.6: a secure messaging error closes the session. Each
    mutation either runs (then the next command of the session works) or
    closes the session (then the next correctly wrapped command gets 6982)."""
    outcomes = {}
    names = list(mutations(Scp03(card).wrap(GET_STATUS_ISD)))
    for name in names:
        sc = Scp03(card)
        original = sc.wrap(GET_STATUS_ISD)   # what the host meant; advances its chain
        mutated = mutations(original)[name]
        try:
            data, sw = transmit(card, mutated)
        except Exception as e:                # a transport that refuses the bytes never reaches the card
            outcomes[name] = f"not sent ({type(e).__name__})"
            continue
        ok = sw == 0x9000
        if "channel" in name and not ok:
            # GPCS 10.2: a session is bound to the logical channel it was
            # opened on. A command on another channel is that channel's
            # business (6881: not open) and leaves the basic channel's
            # session alone: the command the host meant still runs there.
            need(sw == 0x6881 and not data, f"{name}: {sw:04X} on a channel that is not open")
            odata, osw = transmit(card, original)
            need(osw == 0x9000, f"{name}: the basic channel's session did not survive ({osw:04X})")
            outcomes[name] = f"{sw:04X}, basic session kept"
            continue
        if ok:
            need(gp_tlv.parse(data), f"{name}: executed, its data parses")
        nxt, nsw = transmit(card, sc.wrap(GET_STATUS_ISD))
        if ok:
            need(nsw == 0x9000, f"{name}: executed (9000) but the session then refused: {nsw:04X}")
            outcomes[name] = "executed"
        else:
            need(not data, f"{name}: error {sw:04X} carries data {data.hex()}")
            need(nsw == 0x6982, f"{name}: answered {sw:04X} and left the session open (next command {nsw:04X})")
            outcomes[name] = f"{sw:04X}, session closed"
    for name, what in outcomes.items():
        print(f"    {name:28s} {what}")
    need(outcomes["Le 01"] == "executed" and outcomes["Le dropped"] == "executed", "Le is not MACed: runs")
    need(outcomes["Lc+1"].endswith("closed") and outcomes["trailing byte"].endswith("closed"), "lengths close")
    need(outcomes["CLA 85 (channel 1)"].endswith("kept"), "another channel's command leaves the session alone")


def check_extended_mac(card):
    """Amendment D 6.2.4: the C-MAC covers the header as transmitted."""
    sc = Scp03(card)
    data, sw = sc.send(GET_STATUS_ISD, extended=True)
    need(sw == 0x9000 and gp_tlv.parse(data)[0][0] == 0xE3, f"extended form, MACed as extended: {sw:04X}")
    # MACed short, sent extended: refused, and the session is gone.
    short = sc.wrap(GET_STATUS_ISD)
    lc = short[4]
    ext = short[:4] + b"\x00\x00" + bytes([lc]) + short[5:5 + lc] + b"\x00\x00"
    _, sw = transmit(card, ext)
    need(sw == 0x6982, f"short MAC on an extended APDU: {sw:04X}")
    _, sw = transmit(card, sc.wrap(GET_STATUS_ISD))
    need(sw == 0x6982, f"session closed after it: {sw:04X}")
    # Level 33: R-MAC and R-ENC checked by this host.
    sc = Scp03(card, level=0x33, host_challenge=bytes(8))
    data, sw = sc.send(GET_STATUS_ISD, extended=True)
    need(sw == 0x9000 and gp_tlv.parse(data)[0][0] == 0xE3, f"level 33 extended: {sw:04X}")


def check_key_management(card):
    k31 = [bytes([0x31] * 16), bytes([0x32] * 16), bytes([0x33] * 16)]
    sc = Scp03(card, level=0x03)
    # single key (P2 01), then two keys at once (P2 82: ids 2, 3), length byte absent
    data, sw = put_key(sc, 0x00, 0x01, 0x31, k31[:1])
    need(sw == 0x9000 and data == b"\x31" + kcv(k31[0]), f"PUT KEY single: {data.hex()} {sw:04X}")
    keys = key_info(card, sc)
    need((1, 0x31) in keys and (2, 0x31) not in keys, f"E0 after single key: {keys}")
    sc = Scp03(card, level=0x03)
    data, sw = put_key(sc, 0x00, 0x82, 0x31, k31[1:], length_byte=False)
    need(sw == 0x9000 and data == b"\x31" + kcv(k31[1]) + kcv(k31[2]), f"PUT KEY multiple: {data.hex()} {sw:04X}")
    Scp03(card, kvn=0x31, enc=k31[0], mac=k31[1])   # the new set opens a session
    # an add of a key that exists: refused
    sc = Scp03(card, level=0x03)
    _, sw = put_key(sc, 0x00, 0x01, 0x31, k31[:1])
    need(sw == 0x6A80, f"PUT KEY adding an existing key: {sw:04X}")
    # chained (P1 b8): applied by the last command, all or nothing
    k32 = [bytes([0x51 + i] * 32) for i in range(3)]
    sc = Scp03(card, level=0x03)
    for p1, p2, k in [(0x80, 0x01, k32[0]), (0x80, 0x02, k32[1]), (0x00, 0x03, k32[2])]:
        _, sw = put_key(sc, p1, p2, 0x32, [k])
        need(sw == 0x9000, f"PUT KEY chain P1 {p1:02X}: {sw:04X}")
    need([(i, 0x32) for i in (1, 2, 3)] == [x for x in key_info(card, sc) if x[1] == 0x32], "chain applied")
    # a chain broken by another command keeps nothing of its first part
    sc = Scp03(card, level=0x03)
    _, sw = put_key(sc, 0x80, 0x01, 0x33, k31[:1])
    need(sw == 0x9000, "chain start")
    sc.send(GET_STATUS_ISD)
    _, sw = put_key(sc, 0x00, 0x02, 0x33, k31[1:2])
    need(sw == 0x9000, f"after the break: a plain single key {sw:04X}")
    need([x for x in key_info(card, sc) if x[1] == 0x33] == [(2, 0x33)], "broken chain keeps only the plain key")
    # replacing keeps the key length (11.8.2.3.3)
    _, sw = put_key(sc, 0x31, 0x01, 0x31, [bytes(32)])
    need(sw == 0x6A80, f"replacement with another length: {sw:04X}")
    # a wrong key check value
    bad = bytes([0x34]) + key_block(KEY30, k31[0])[:-1] + b"\x00"
    _, sw = sc.send(bytes([0x80, 0xD8, 0x00, 0x01, len(bad)]) + bad + b"\x00")
    need(sw == 0x6A80, f"wrong KCV: {sw:04X}")
    # DELETE [key] (11.2.2.3.2): one key, a whole version, unknown, the last usable set
    data, sw = sc.send(bytes.fromhex("80E4000006D00102D2013200"))
    need(sw == 0x9000 and data == b"\x00", f"DELETE key 2 of 32: {data.hex()} {sw:04X}")
    need([x for x in key_info(card, sc) if x[1] == 0x32] == [(1, 0x32), (3, 0x32)], "one key gone")
    for kvn in (0x31, 0x32, 0x33):
        data, sw = sc.send(bytes([0x80, 0xE4, 0x00, 0x00, 0x03, 0xD2, 0x01, kvn, 0x00]))
        need(sw == 0x9000 and data == b"\x00", f"DELETE KVN {kvn:02X}: {sw:04X}")
    _, sw = sc.send(bytes.fromhex("80E4000003D2017700"))
    need(sw == 0x6A88, f"DELETE unknown KVN: {sw:04X}")
    _, sw = sc.send(bytes.fromhex("80E4000003D2013000"))
    need(sw == 0x6985, f"DELETE of the last key set: {sw:04X}")
    need(key_info(card, sc) == [(1, 0x30), (2, 0x30), (3, 0x30)], "left as found")


def check_reader_extended(card):
    """PC/SC part 10: the reader says it carries extended APDUs
    (dwMaxAPDUDataSize > 255), and a wrapped command with 1000 data bytes
    goes through unsplit and is MACed as sent."""
    if isinstance(card, PyscardCard):
        from smartcard.pcsc.PCSCPart10 import getFeatureRequest, getTlvProperties, hasFeature
        features = getFeatureRequest(card.conn)
        need(hasFeature(features, "FEATURE_GET_TLV_PROPERTIES"), f"features {features}")
        props = getTlvProperties(card.conn)
        need(props.get("PCSCv2_PART10_PROPERTY_dwMaxAPDUDataSize", 0) > 255, f"properties {props}")
    sc = Scp03(card, level=0x03)
    # GET STATUS ignores what follows its 4F search criterion (docs/gp.md)
    crit = b"\x4F\x00" + bytes(998)
    plain = bytes([0x80, 0xF2, 0x80, 0x02, 0x00]) + len(crit).to_bytes(2, "big") + crit + b"\x00\x00"
    data, sw = sc.send(plain, extended=True)
    need(sw == 0x9000 and gp_tlv.parse(data)[0][0] == 0xE3, f"1000-byte GET STATUS: {sw:04X}")


def tlv_find(data, tag):
    """The value of the first `tag` object in BER-TLV `data`, looking into
    constructed objects (tag byte b6); None if there is none."""
    for t, v in gp_tlv.parse(data):
        if t == tag:
            return v
        first = t >> 8 * ((t.bit_length() - 1) // 8)
        if first & 0x20:
            found = tlv_find(v, tag)
            if found is not None:
                return found
    return None


def manage(card, channel, p1, p2, le=True):
    """MANAGE CHANNEL sent on `channel`; returns (data, sw)."""
    return transmit(card, bytes([cla_on(0x00, channel), 0x70, p1, p2]) + (b"\x01" if le else b""))


def check_logical_channels(card):
    """ISO 7816-4 5.1.1 / GPCS 6.4, 10.2, 11.1.4, 11.7 / JCRE 4.5.1, 4.6.1:
    MANAGE CHANNEL, the ISD implicitly selectable on every channel, one
    secure channel session bound to the channel it was opened on."""
    get_cpl = bytes.fromhex("80CA9F7F00")
    # a new application session on the basic channel: no secure channel left from earlier checks
    data, sw = transmit(card, bytes([0x00, 0xA4, 0x04, 0x00, len(ISD)]) + ISD + b"\x00")
    need(sw == 0x9000, f"SELECT ISD {sw:04X}")
    # opened from the basic channel: the lowest free number, the ISD selected there (GPCS 6.4.2.2)
    data, sw = manage(card, 0, 0x00, 0x00)
    need(sw == 0x9000 and data == b"\x01", f"MANAGE CHANNEL open: {data.hex()} {sw:04X}")
    data, sw = transmit(card, bytes([cla_on(0x80, 1)]) + bytes.fromhex("CA006600"))
    need(sw == 0x9000 and data[:1] == b"\x66", f"GET DATA 66 on channel 1: {data.hex()} {sw:04X}")
    # a given number past 3 (further interindustry class), and from there another one
    data, sw = manage(card, 0, 0x00, 19, le=False)
    need(sw == 0x9000 and not data, f"MANAGE CHANNEL open 19: {data.hex()} {sw:04X}")
    data, sw = manage(card, 0, 0x00, 19, le=False)
    need(sw == 0x6A86, f"opening channel 19 again: {sw:04X} (JCRE 4.5.1: 6A86)")
    data, sw = transmit(card, bytes([cla_on(0x80, 19)]) + get_cpl[1:])
    need(sw == 0x9000 and data[:2] == b"\x9F\x7F", f"GET DATA 9F7F on channel 19 (CLA {cla_on(0x80, 19):02X}): {sw:04X}")
    data, sw = manage(card, 19, 0x00, 0x00)
    need(sw == 0x9000 and data == b"\x02", f"MANAGE CHANNEL open from channel 19: {data.hex()} {sw:04X}")
    data, sw = transmit(card, bytes([cla_on(0x80, 2)]) + get_cpl[1:])
    need(sw == 0x9000, f"the ISD followed to channel 2: {sw:04X}")
    # SELECT of the ISD on a supplementary channel answers its FCI with its AID
    data, sw = transmit(card, bytes([cla_on(0x00, 2), 0xA4, 0x04, 0x00, len(ISD)]) + ISD + b"\x00")
    need(sw == 0x9000 and tlv_find(data, 0x84) == ISD, f"SELECT ISD on channel 2: {data.hex()} {sw:04X}")
    # every further number up to 19, then none left (JCRE 4.5.1: 6A81)
    got = []
    while True:
        data, sw = manage(card, 0, 0x00, 0x00)
        if sw != 0x9000:
            break
        got.append(data[0])
    need(got == list(range(3, 19)) and sw == 0x6A81, f"opened {got} then {sw:04X}")
    # closing: the basic channel or a number past 19 is an error, a closed channel a warning
    for p2, want in [(0x00, 0x6A81), (20, 0x6A81), (0x05, 0x9000), (0x05, 0x6200)]:
        data, sw = manage(card, 0, 0x80, p2, le=False)
        need(sw == want, f"MANAGE CHANNEL close {p2:02X}: {sw:04X}, expected {want:04X}")
    data, sw = manage(card, 0, 0x40, 0x01, le=False)
    need(sw == 0x6A81, f"MANAGE CHANNEL P1 40: {sw:04X}")
    data, sw = transmit(card, bytes([0x04, 0x70, 0x00, 0x00, 0x01]))
    need(sw == 0x6882, f"MANAGE CHANNEL with secure messaging bits: {sw:04X}")
    data, sw = transmit(card, bytes([cla_on(0x80, 5)]) + get_cpl[1:])
    need(sw == 0x6881, f"a command on closed channel 5: {sw:04X}")
    # a secure channel on channel 19; the basic channel cannot open a second one
    # (GPCS 10.2: one session at a time here, never ended for another channel's)
    sc = Scp03(card, level=0x03, channel=19)
    data, sw = sc.send(GET_STATUS_ISD)
    need(sw == 0x9000 and tlv_find(data, 0x4F) == ISD, f"GET STATUS in the session of channel 19: {sw:04X}")
    data, sw = transmit(card, bytes([0x00, 0xA4, 0x04, 0x00, len(ISD)]) + ISD + b"\x00")
    need(sw == 0x9000, f"SELECT ISD on channel 0: {sw:04X}")
    data, sw = transmit(card, bytes.fromhex("8050300008") + bytes(8) + b"\x00")
    need(sw != 0x9000, "INITIALIZE UPDATE on channel 0 while channel 19 has a session was accepted")
    data, sw = transmit(card, get_cpl)
    need(sw == 0x9000, f"plain GET DATA on channel 0 beside the session: {sw:04X}")
    data, sw = transmit(card, GET_STATUS_ISD)
    need(sw == 0x6982, f"plain GET STATUS on channel 0 (no session there): {sw:04X}")
    # channel 19's wrapped command sent on channel 2 is not the session's: refused, session kept
    foreign = sc.wrap(GET_STATUS_ISD, commit=False)
    data, sw = transmit(card, bytes([cla_on(foreign[0], 2)]) + foreign[1:])
    need(sw != 0x9000, f"channel 19's wrapped command on channel 2 answered {sw:04X}")
    data, sw = sc.send(GET_STATUS_ISD)
    need(sw == 0x9000, f"the session of channel 19 after the other channels' commands: {sw:04X}")
    # closing channel 19 ends its session (GPCS 10.2.3): reopened, the old MAC chain is refused
    data, sw = manage(card, 0, 0x80, 19, le=False)
    need(sw == 0x9000, f"close 19: {sw:04X}")
    data, sw = manage(card, 0, 0x00, 19, le=False)
    need(sw == 0x9000, f"reopen 19: {sw:04X}")
    data, sw = transmit(card, sc.wrap(GET_STATUS_ISD))
    need(sw != 0x9000, f"the closed channel's session answered {sw:04X}")
    # the basic channel may open one now
    sc0 = Scp03(card)
    data, sw = sc0.send(GET_STATUS_ISD)
    need(sw == 0x9000, f"a session on the basic channel after channel 19 closed: {sw:04X}")
    for ch in range(1, 20):
        data, sw = manage(card, 0, 0x80, ch, le=False)
        need(sw in (0x9000, 0x6200), f"closing {ch}: {sw:04X}")
    data, sw = sc0.send(GET_STATUS_ISD)
    need(sw == 0x9000, f"the basic channel's session after closing the others: {sw:04X}")


# ------------------------------------------------- one-step CAP install


LOAD_ORDER = ("Header", "Directory", "Import", "Applet", "Class", "Method", "StaticField", "Export",
              "ConstantPool", "RefLocation", "Descriptor")   # JCVM 3.0.5 6.2; Debug is not sent


def cap_load_file(path):
    """The load file a GP host sends for a CAP: tag C4, a BER length, the
    components in the specification's order (read here with zipfile,
    independent of cardvm's CAP reader); also the package AID (Header
    component) and the applet AIDs (Applet component), parsed per JCVM ch. 6."""
    import zipfile
    with zipfile.ZipFile(path) as z:
        names = {n.rsplit("/", 1)[-1][:-4]: n for n in z.namelist() if "/javacard/" in n and n.endswith(".cap")}
        comps = {k: z.read(v) for k, v in names.items()}
    body = b"".join(comps[c] for c in LOAD_ORDER if c in comps)
    n = len(body)
    ber = bytes([n]) if n < 0x80 else (bytes([0x81, n]) if n < 0x100 else b"\x82" + n.to_bytes(2, "big"))
    hdr = comps["Header"]
    pkg = hdr[13:13 + hdr[12]]                  # tag, size, magic, minor, major, flags, pkg minor, major, AID
    applets, app = [], comps["Applet"]
    pos = 4                                      # tag, size (2), count
    for _ in range(app[3]):
        applets.append(app[pos + 1:pos + 1 + app[pos]])
        pos += 1 + app[pos] + 2
    return b"\xC4" + ber + body, pkg, applets


def lv(b):
    return bytes([len(b)]) + b


def check_cap_install(card, cap_path, command, expected):
    """What GPShell's `install -file X.cap` does, in one SCP03 session:
    INSTALL [for load], LOAD in blocks, INSTALL [for install and make
    selectable] (GPCS 11.5, 11.6); then the applet answers `command` with
    `expected`; DELETE of the package and its applets (11.2) ends it."""
    load_file, pkg, applets = cap_load_file(cap_path)
    need(applets, "the CAP has an applet")
    sc = Scp03(card)
    _, sw = sc.send(bytes([0x80, 0xE6, 0x02, 0x00, len(pkg) + 5]) + lv(pkg) + b"\x00\x00\x00\x00" + b"\x00")
    need(sw == 0x9000, f"INSTALL [for load] {sw:04X}")
    block = 200                                 # any size up to Lc: not a multiple of anything in the CAP
    chunks = [load_file[i:i + block] for i in range(0, len(load_file), block)]
    for i, chunk in enumerate(chunks):
        p1 = 0x80 if i == len(chunks) - 1 else 0x00
        _, sw = sc.send(bytes([0x80, 0xE8, p1, i, len(chunk)]) + chunk + b"\x00")
        need(sw == 0x9000, f"LOAD block {i} {sw:04X}")
    inst = applets[0]
    data = lv(pkg) + lv(inst) + lv(inst) + b"\x01\x00" + lv(b"\xC9\x00") + b"\x00"
    _, sw = sc.send(bytes([0x80, 0xE6, 0x0C, 0x00, len(data)]) + data + b"\x00")
    need(sw == 0x9000, f"INSTALL [for install and make selectable] {sw:04X}")
    data, sw = transmit(card, bytes([0x00, 0xA4, 0x04, 0x00, len(inst)]) + inst + b"\x00")
    need(sw == 0x9000, f"SELECT the installed applet {sw:04X}")
    data, sw = transmit(card, command)
    need(data + sw.to_bytes(2, "big") == expected, f"applet answers {data.hex()} {sw:04X}")
    sc = Scp03(card)
    _, sw = sc.send(bytes([0x80, 0xE4, 0x00, 0x80, len(pkg) + 2, 0x4F]) + lv(pkg) + b"\x00")
    need(sw == 0x9000, f"DELETE package and applets {sw:04X}")
    _, sw = transmit(card, bytes([0x00, 0xA4, 0x04, 0x00, len(inst)]) + inst + b"\x00")
    need(sw == 0x6A82, f"SELECT after DELETE {sw:04X}")


CHECKS = [
    ("card recognition data (GET DATA 66) parses per GPCS Annex H", check_card_recognition_data),
    ("GET DATA 42 45 66 67 CF C1 E0 9F7F: one object of the tag, or 6A88", check_get_data_tags),
    ("every length/Lc/Le/CLA mutation of a wrapped command runs or closes the session", check_mutations),
    ("C-MAC over the command as transmitted (extended form)", check_extended_mac),
    ("PUT KEY forms and DELETE [key]", check_key_management),
    ("extended APDUs: reader capability (PC/SC part 10) and a 1000-byte wrapped command", check_reader_extended),
    ("logical channels 1-19: MANAGE CHANNEL, the ISD on every channel, a session bound to its channel",
     check_logical_channels),
]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reader")
    ap.add_argument("--vicc", nargs=2, metavar=("CARDVM", "IMAGE"))
    ap.add_argument("--hello-cap", help="the example hello applet's CAP: also install it as a GP host does")
    a = ap.parse_args()
    card = PyscardCard(a.reader) if a.reader else ViccCard(*a.vicc)
    try:
        if a.hello_cap:
            # HelloApplet.java: INS 10 sends "Hello, card!"
            check_cap_install(card, a.hello_cap, bytes.fromhex("0010000000"), b"Hello, card!\x90\x00")
            print("ok one-step install of a CAP (INSTALL [for load], LOAD, INSTALL [for install]), DELETE")
        for name, fn in CHECKS:
            fn(card)
            print(f"ok {name}")
    finally:
        card.close()
    print("gp checks: ok")


if __name__ == "__main__":
    main()
