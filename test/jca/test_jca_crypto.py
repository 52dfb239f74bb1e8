#!/usr/bin/env python3
"""The symmetric crypto API through a real applet over APDUs:
test/jca/cryptodriver.jca assembled with `cardvm asm --verify`, loaded and
installed with `cardvm gp` (SCP03), driven with `cardvm send`.

Expected values come from published vectors: FIPS 81 (DES ECB/CBC of "Now
is the time for all "), NIST SP 800-67 (TDEA example), SP 800-38A (AES
ECB F.1.1, CBC F.2.1, CTR F.5.1), RFC 4493 (AES-CMAC), ISO/IEC 9797-1
annex B (MAC algorithms 1 and 3, padding method 1), RFC 4231 test case 2
(HMAC-SHA-256), FIPS 180 (SHA-1/SHA-256 of "abc"); from the JC 3.0.5 API
(CryptoException reasons, answered by the applet as 6F00 | reason; key
clearing at deselect and reset; a reset leaves an initialized Cipher with
its key and mode and a zero IV); and, for the algorithm survey, from
docs/cap.md's table of the 3.0.5 constants (the survey's answer and the
table must agree). PKCS#5 on one SP 800-38A block was recomputed with
OpenSSL.

usage: test_jca_crypto.py CARDVM CRYPTODRIVER_JCA CAP_MD
Exit 0 pass, 1 fail.
"""
import os
import re
import subprocess
import sys
import tempfile

failures = []
AID = "F063617264766D0201"
SELECT = "00A40400%02X%s" % (len(AID) // 2, AID)

NOW = "4e6f77206973207468652074696d6520666f7220616c6c20"
SP_KEY = "2b7e151628aed2a6abf7158809cf4f3c"
SP_PT = ("6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51"
         "30c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710")
SP_CTR = ("874d6191b620e3261bef6864990db6ce9806f66b7970fdff8617187bb9fffdff"
          "5ae4df3edbd5d35e5b4f09020db03eab1e031dda2fbe03d1792170a0f3009cee")


def run(*args, ok=True):
    r = subprocess.run(list(args), capture_output=True, text=True, timeout=300)
    if ok and r.returncode != 0:
        failures.append(f"{' '.join(args[:3])} ... exited {r.returncode}:\n{r.stdout[-2000:]}{r.stderr[-2000:]}")
    return r


def apdu(ins, p1=0, p2=0, data="", le=False):
    h = "80%02X%02X%02X" % (ins, p1 & 0xFF, p2 & 0xFF)
    if data:
        h += "%02X%s" % (len(data) // 2, data)
    if le:
        h += "00"
    return h


def build_key(slot, ktype, bits):
    return apdu(0x10, ktype, slot, "%04X" % bits)


def set_key(slot, kind, key):
    return apdu(0x12, kind, slot, key)


def session(cardvm, img, steps, what):
    """steps: [(apdu, expected answer hex incl. SW, or None)]; one `cardvm
    send` (one card session: a reset before it). Returns the answers."""
    cmds = [SELECT] + [s[0] for s in steps]
    r = run(cardvm, "send", img, *cmds, ok=False)
    answers = [l.strip().upper() for l in r.stdout.splitlines() if l.strip()]
    if len(answers) != len(cmds):
        failures.append(f"{what}: {len(answers)} answers to {len(cmds)} commands\n{r.stdout}{r.stderr}")
        return answers
    if answers[0] != "9000":
        failures.append(f"{what}: SELECT answered {answers[0]}")
    for (cmd, want), got in zip(steps, answers[1:]):
        if want is not None and got != want.upper():
            failures.append(f"{what}: {cmd}\n  want {want.upper()}\n  got  {got}")
    return answers[1:]


def kats(cardvm, img):
    ok = "9000"
    steps = [
        # DES (FIPS 81): key 1, ECB cipher 2, CBC cipher 3
        (build_key(1, 3, 64), ok), (set_key(1, 0, "0123456789abcdef"), ok), (apdu(0x14, 0, 1, le=True), "01" + ok),
        (apdu(0x20, 5, 2), ok), (apdu(0x22, 2, 2, "01"), ok),
        (apdu(0x26, 0, 2, NOW, le=True), "3fa40e8a984d48156a271787ab8883f9893d51ec4b563b53" + ok),
        (apdu(0x20, 1, 3), ok), (apdu(0x22, 2, 3, "01" + "1234567890abcdef"), ok),
        (apdu(0x26, 0, 3, NOW, le=True), "e5c7cdde872bf27c43e934008c389c0f683788499a7c05f6" + ok),
        # the same in place (output at the input's offset 5) and overlapping
        # (output 3 bytes ahead of the input)
        (apdu(0x26, 5, 3, NOW, le=True), "e5c7cdde872bf27c43e934008c389c0f683788499a7c05f6" + ok),
        (apdu(0x26, 2, 3, NOW, le=True), "e5c7cdde872bf27c43e934008c389c0f683788499a7c05f6" + ok),
        (apdu(0x22, 1, 3, "01" + "1234567890abcdef"), ok),
        (apdu(0x26, 8, 3, "e5c7cdde872bf27c43e934008c389c0f683788499a7c05f6", le=True), NOW + ok),
        # TDEA (SP 800-67), three keys
        (build_key(4, 3, 192), ok), (set_key(4, 0, "0123456789abcdef23456789abcdef01456789abcdef0123"), ok),
        (apdu(0x22, 2, 2, "04"), ok),
        (apdu(0x26, 0, 2, "54686520717566636b2062726f776e20666f78206a756d70", le=True),
         "a826fd8ce53b855fcce21c8112256fe668d5c05dd9b6b900" + ok),
        # AES (SP 800-38A): key 5, CTR cipher 6 across three APDUs
        (build_key(5, 15, 128), ok), (set_key(5, 1, SP_KEY), ok),
        (apdu(0x20, 0xF0, 6), ok), (apdu(0x22, 2, 6, "05" + "f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff"), ok),
        (apdu(0x24, 0, 6, SP_PT[:40], le=True), SP_CTR[:40] + ok),
        (apdu(0x24, 0, 6, SP_PT[40:70], le=True), SP_CTR[40:70] + ok),
        (apdu(0x26, 0, 6, SP_PT[70:], le=True), SP_CTR[70:] + ok),
        # CBC PKCS#5 (cipher 7): F.2.1's first block and the padding block
        (apdu(0x20, 24, 7), ok), (apdu(0x22, 2, 7, "05" + "000102030405060708090a0b0c0d0e0f"), ok),
        (apdu(0x26, 0, 7, SP_PT[:32], le=True),
         "7649abac8119b246cee98e9b12e9197d8964e0b149c10b7b682e6e39aaeb731c" + ok),
        # decrypting it with a 5-byte update first (nothing comes out yet)
        (apdu(0x22, 1, 7, "05" + "000102030405060708090a0b0c0d0e0f"), ok),
        (apdu(0x24, 0, 7, "7649abac81", le=True), ok),
        (apdu(0x26, 0, 7, "19b246cee98e9b12e9197d8964e0b149c10b7b682e6e39aaeb731c", le=True), SP_PT[:32] + ok),
        # AES-CMAC (RFC 4493), Signature 8: example 1, example 3 in two APDUs
        (apdu(0x30, 49, 8), ok), (apdu(0x32, 1, 8, "05"), ok),
        (apdu(0x36, 0, 8, "", le=True), "bb1d6929e95937287fa37d129b756746" + ok),
        (apdu(0x34, 0, 8, SP_PT[:34]), ok),
        (apdu(0x36, 0, 8, SP_PT[34:80], le=True), "dfa66747de9ae63030ca32611497c827" + ok),
        (apdu(0x32, 2, 8, "05"), ok),
        (apdu(0x38, 16, 8, "070a16b46b4d4144f79bdd9dd04a287c" + SP_PT[:32], le=True), "01" + ok),
        (apdu(0x38, 16, 8, "070a16b46b4d4144f79bdd9dd04a287d" + SP_PT[:32], le=True), "00" + ok),
        # ISO 9797-1 annex B: MAC algorithm 3 (retail, M1) with key 9, and
        # MAC algorithm 1 (DES, M1) with key 1
        (build_key(9, 3, 128), ok), (set_key(9, 0, "0123456789abcdeffedcba9876543210"), ok),
        (apdu(0x30, 48, 10), ok), (apdu(0x32, 1, 10, "09"), ok),
        (apdu(0x36, 0, 10, NOW, le=True), "a1c72e74ea3fa9b6" + ok),
        (apdu(0x30, 4, 11), ok), (apdu(0x32, 1, 11, "01"), ok),
        (apdu(0x36, 0, 11, NOW, le=True), "70a30640cc76dd8b" + ok),
        # HMAC-SHA-256, RFC 4231 test case 2
        (build_key(12, 21, 64), ok), (set_key(12, 2, "4a656665"), ok),
        (apdu(0x30, 25, 13), ok), (apdu(0x32, 1, 13, "0c"), ok),
        (apdu(0x36, 0, 13, b"what do ya want for nothing?".hex(), le=True),
         "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843" + ok),
        # SHA-256 of "abc"
        (apdu(0x40, 4, 14), ok),
        (apdu(0x42, 0, 14, "616263", le=True),
         "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" + ok),
        # OneShot: Cipher (CIPHER_AES_ECB, PAD_NOPAD), SP 800-38A F.1.1;
        # MessageDigest ALG_SHA; Signature (ALG_NULL, SIG_CIPHER_AES_CMAC128,
        # PAD_NULL), RFC 4493 example 2; twice each (the object is reused)
        (apdu(0x60, 2, 1, "0502" + SP_PT[:32], le=True), "3ad77bb40d7a3660a89ecaf32466ef97" + ok),
        (apdu(0x60, 2, 1, "0502" + SP_PT[:32], le=True), "3ad77bb40d7a3660a89ecaf32466ef97" + ok),
        (apdu(0x62, 1, 0, "616263", le=True), "a9993e364706816aba3e25717850c26c9cd0d89d" + ok),
        (apdu(0x62, 1, 0, "616263", le=True), "a9993e364706816aba3e25717850c26c9cd0d89d" + ok),
        (apdu(0x64, 0, 10, "0005" + SP_PT[:32], le=True), "070a16b46b4d4144f79bdd9dd04a287c" + ok),
        (apdu(0x64, 0, 10, "0005" + SP_PT[:32], le=True), "070a16b46b4d4144f79bdd9dd04a287c" + ok),
        # CryptoException reasons: NO_SUCH_ALGORITHM (Korean SEED), an AES
        # key on a DES cipher (ILLEGAL_VALUE), 5 bytes without padding
        # (ILLEGAL_USE), a padding that is not there (ILLEGAL_USE: a NOPAD
        # block of zeros decrypts to zeros under PKCS#5), an IV on ECB
        (apdu(0x20, 16, 15), "6F03"), (apdu(0x22, 2, 2, "05"), "6F01"),
        (apdu(0x22, 2, 2, "01"), ok), (apdu(0x26, 0, 2, "0102030405", le=True), "6F05"),
        (apdu(0x22, 2, 2, "01" + "0000000000000000"), "6F01"),
        # cipher 3 left initialized for encryption with an IV (see persistence)
        (apdu(0x22, 2, 3, "01" + "1234567890abcdef"), ok),
    ]
    session(cardvm, img, steps, "known answers")
    # PKCS#5 decryption of a block that is not padded: encrypt zeros with
    # ECB NOPAD first
    r = session(cardvm, img, [(apdu(0x22, 2, 2, "01"), "9000"), (apdu(0x26, 0, 2, "00" * 8, le=True), None)],
                "zeros under DES ECB")
    if len(r) == 2 and r[1].endswith("9000"):
        session(cardvm, img, [(apdu(0x20, 8, 15), "9000"), (apdu(0x22, 1, 15, "01"), "9000"),
                              (apdu(0x26, 0, 15, r[1][:-4], le=True), "6F05")], "bad PKCS#5 padding")


def persistence(cardvm, img):
    ok = "9000"
    # a new session (card reset): persistent keys are still set; cipher 3
    # (DES CBC, initialized with an IV, encrypt) keeps key and mode with a
    # zero IV: its first block is the ECB block of FIPS 81
    r = session(cardvm, img, [(apdu(0x14, 0, 1, le=True), "01" + ok),
                              (apdu(0x26, 0, 3, NOW, le=True), None)], "after a reset")
    if len(r) == 2:
        expect(r[1][:16] == "3FA40E8A984D4815" and r[1].endswith("9000") and len(r[1]) == 48 + 4,
               "after a reset, CBC with the init key and mode and a zero IV", r[1])
    # transient keys: DESELECT-cleared at reselect, RESET-cleared at reset
    steps = [
        (build_key(0, 2, 64), ok), (set_key(0, 0, "0123456789abcdef"), ok), (apdu(0x14, 0, 0, le=True), "01" + ok),
        (build_key(15, 13, 128), ok), (set_key(15, 1, SP_KEY), ok), (apdu(0x14, 0, 15, le=True), "01" + ok),
        (SELECT, ok),
        (apdu(0x14, 0, 0, le=True), "00" + ok), (apdu(0x14, 0, 15, le=True), "01" + ok),
        # a cipher on the cleared key: UNINITIALIZED_KEY
        (apdu(0x22, 2, 2, "00"), "6F02"),
    ]
    session(cardvm, img, steps, "transient keys")
    session(cardvm, img, [(apdu(0x14, 0, 15, le=True), "00" + ok)], "TRANSIENT_RESET key after a reset")
    # PSEUDO_RANDOM: the same seed, the same bytes, in two sessions
    seeded = [(apdu(0x50, 1, 14), ok), (apdu(0x52, 0, 14, "73656564"), ok), (apdu(0x54, 40, 14, le=True), None)]
    a = session(cardvm, img, seeded, "PSEUDO_RANDOM")
    b = session(cardvm, img, seeded, "PSEUDO_RANDOM again")
    if len(a) == 3 and len(b) == 3:
        expect(a[2] == b[2] and len(a[2]) == 84 and a[2].endswith("9000"), "PSEUDO_RANDOM from one seed repeats",
               f"{a[2]}\n{b[2]}")
    c = session(cardvm, img, [(apdu(0x50, 2, 14), ok), (apdu(0x54, 40, 14, le=True), None)], "SECURE_RANDOM")
    if len(c) == 2 and len(a) == 3:
        expect(c[1] != a[2] and len(c[1]) == 84, "SECURE_RANDOM differs", c[1])


def expect(cond, what, out=""):
    if not cond:
        failures.append(f"{what}\n{out}")


def doc_table(cap_md):
    """{(class, value): supported} from docs/cap.md's algorithm table."""
    rows = {}
    with open(cap_md) as f:
        for line in f:
            m = re.match(r"\| (\w+) \| (\w+) \| (-?\d+) \| ([^|]+) \|$", line.strip())
            if m:
                rows.setdefault(m.group(1), []).append((m.group(2), int(m.group(3)), m.group(4).strip()))
    return rows


def survey(cardvm, img, cap_md):
    table = doc_table(cap_md)
    families = [(0, ["Cipher", "AEADCipher"]), (1, ["Signature"]), (2, ["MessageDigest"]), (3, ["RandomData"]),
                (5, ["Checksum"]), (6, ["KeyAgreement"])]
    steps = [(apdu(0x70, fam, 0, le=True), None) for fam, _ in families]
    lengths = [64, 128, 192, 256]
    steps += [(apdu(0x70, 4, 0, "%04X" % n, le=True), None) for n in lengths]
    answers = session(cardvm, img, steps, "survey")
    if len(answers) != len(steps):
        return

    def bits(ans):
        if not ans.endswith("9000") or len(ans) != 68:
            failures.append(f"survey answer {ans}")
            return set()
        b = bytes.fromhex(ans[:-4])
        return {v for v in range(256) if b[v >> 3] & (0x80 >> (v & 7))}

    def check(classes, got, supported_of):
        documented = set()
        for cls in classes:
            if cls not in table:
                failures.append(f"docs/cap.md has no rows for {cls}")
                continue
            for name, value, col in table[cls]:
                v = value & 0xFF
                documented.add(v)
                want = supported_of(col)
                if (v in got) != want:
                    failures.append(f"survey: {cls}.{name} ({value}) {'works' if v in got else 'fails'} on the "
                                    f"card, docs/cap.md says '{col}'")
        for v in sorted(got - documented):
            failures.append(f"survey: {classes[0]} value {v - 256 if v > 127 else v} works but is not in docs/cap.md")

    for (fam, classes), ans in zip(families, answers):
        check(classes, bits(ans), lambda col: col == "yes")
    for n, ans in zip(lengths, answers[len(families):]):
        check(["KeyBuilder"], bits(ans),
              lambda col, n=n: col == "any" or (col != "no" and str(n) in [x.strip() for x in col.split(",")]))


def report():
    for f in failures:
        print("FAIL:", f)
    print("%d passed, %d failed" % (0 if failures else 1, 1 if failures else 0))
    return 1 if failures else 0


def main():
    cardvm, jca, cap_md = sys.argv[1], sys.argv[2], sys.argv[3]
    with tempfile.TemporaryDirectory() as tmp:
        cap = os.path.join(tmp, "cryptodriver.cap")
        run(cardvm, "asm", jca, "-o", cap, "--verify")
        img = os.path.join(tmp, "card.img")
        run(cardvm, "create", img, "--quiet")
        r = run(cardvm, "gp", img, "--load", cap, "--install", "--list")
        expect("APP: %s (SELECTABLE)" % AID in r.stdout, "the applet is installed", r.stdout)
        if failures:
            return report()
        kats(cardvm, img)
        persistence(cardvm, img)
        survey(cardvm, img, cap_md)
    return report()


if __name__ == "__main__":
    sys.exit(main())
