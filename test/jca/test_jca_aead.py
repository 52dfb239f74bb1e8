#!/usr/bin/env python3
"""javacardx.crypto.AEADCipher (AES-GCM, AES-CCM) through a real applet over
APDUs: test/jca/aeadtest.jca (the JCA of test/jca/aead/src, see its header)
assembled with `cardvm asm --verify`, loaded and installed with `cardvm gp`,
driven with `cardvm send` (each `send` one card session: a reset first).

Expected values are published vectors: the GCM specification's test cases
2, 3, 4, 5, 6 (AES-128), 10 (AES-192) and 16 (AES-256) (McGrew & Viega,
"The Galois/Counter Mode of Operation", the vectors NIST's GCM validation
uses), RFC 3610 packet vector #1 and NIST SP 800-38C appendix C examples
1 to 3 for CCM; and the JC 3.0.5 AEADCipher API for the exceptions (the
applet answers 6F00 | CryptoException reason): wrong init form
INVALID_INIT (4), bad values ILLEGAL_VALUE (1), calls out of order
ILLEGAL_USE (5), unknown algorithm NO_SUCH_ALGORITHM (3). With
python3-cryptography present, random lengths, split points and keys are
also cross-checked against it (an independent implementation).

usage: test_jca_aead.py CARDVM AEADTEST_JCA
Exit 0 pass, 1 fail.
"""
import os
import random
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from jcatest import expect, failures, report, run  # noqa: E402
AID = "F063617264766D0501"
SELECT = "00A40400%02X%s" % (len(AID) // 2, AID)
OK = "9000"
GCM, CCM = 0xF3, 0xF4
ENC, DEC = 2, 1

# GCM test cases (K, IV, P, A, C, T)
K1 = "feffe9928665731c6d6a8f9467308308"
IV1 = "cafebabefacedbaddecaf888"
P64 = ("d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
       "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255")
P60 = P64[:120]
A20 = "feedfacedeadbeeffeedfacedeadbeefabaddad2"
TC2 = ("00" * 16, "00" * 12, "00" * 16, "", "0388dace60b6a392f328c2b971b2fe78", "ab6e47d42cec13bdf53a67b21257bddf")
TC3 = (K1, IV1, P64, "",
       "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e"
       "21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091473f5985", "4d5c2af327cd64a62cf35abd2ba6fab4")
TC4 = (K1, IV1, P60, A20,
       "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e"
       "21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091", "5bc94fbc3221a5db94fae95ae7121a47")
TC5 = (K1, "cafebabefacedbad", P60, A20,
       "61353b4c2806934a777ff51fa22a4755699b2a714fcdc6f83766e5f97b6c7423"
       "73806900e49f24b22b097544d4896b424989b5e1ebac0f07c23f4598", "3612d2e79e3b0785561be14aaca2fccb")
TC6 = (K1, "9313225df88406e555909c5aff5269aa6a7a9538534f7da1e4c303d2a318a728"
       "c3c0c95156809539fcf0e2429a6b525416aedbf5a0de6a57a637b39b", P60, A20,
       "8ce24998625615b603a033aca13fb894be9112a5c3a211a8ba262a3cca7e2ca7"
       "01e4a9a4fba43c90ccdcb281d48c7c6fd62875d2aca417034c34aee5", "619cc5aefffe0bfa462af43c1699d050")
TC10 = (K1 + K1[:16], IV1, P60, A20,
        "3980ca0b3c00e841eb06fac4872a2757859e1ceaa6efd984628593b40ca1e19c"
        "7d773d00c144c525ac619d18c84a3f4718e2448b2fe324d9ccda2710", "2519498e80f1478f37ba55bd6d27618c")
TC16 = (K1 + K1, IV1, P60, A20,
        "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
        "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662", "76fc6ece0f4e1768cddf8853bb2d551b")

# CCM (K, nonce, A, P, C, T)
RFC3610_1 = ("c0c1c2c3c4c5c6c7c8c9cacbcccdcecf", "00000003020100a0a1a2a3a4a5", "0001020304050607",
             "08090a0b0c0d0e0f101112131415161718191a1b1c1d1e",
             "588c979a61c663d2f066d0c2c0f989806d5f6b61dac384", "17e8d12cfdf926e0")
K_38C = "404142434445464748494a4b4c4d4e4f"
C38_1 = (K_38C, "10111213141516", "0001020304050607", "20212223", "7162015b", "4dac255d")
C38_2 = (K_38C, "1011121314151617", "000102030405060708090a0b0c0d0e0f", "202122232425262728292a2b2c2d2e2f",
         "d2a1f0e051ea5f62081a7792073d593d", "1fc64fbfaccd")
C38_3 = (K_38C, "101112131415161718191a1b", "000102030405060708090a0b0c0d0e0f10111213",
         "202122232425262728292a2b2c2d2e2f3031323334353637",
         "e3b201a9f5b71a7a9b1ceaeccd97e70b6176aad9a4428aa5", "484392fbc1b09951")



def apdu(ins, p1=0, p2=0, data="", le=False):
    h = "80%02X%02X%02X" % (ins, p1 & 0xFF, p2 & 0xFF)
    if data:
        h += "%02X%s" % (len(data) // 2, data)
    if le:
        h += "00"
    return h


def session(cardvm, img, steps, what):
    """steps: [(apdu, expected answer incl. SW, or None)] in one card
    session. Returns the answers."""
    cmds = [SELECT] + [s[0] for s in steps]
    r = run(cardvm, "send", img, *cmds, ok=False)
    answers = [line.strip().upper() for line in r.stdout.splitlines() if line.strip()]
    if len(answers) != len(cmds):
        failures.append(f"{what}: {len(answers)} answers to {len(cmds)} commands\n{r.stdout}{r.stderr}")
        return answers
    if answers[0] != OK:
        failures.append(f"{what}: SELECT answered {answers[0]}")
    for (cmd, want), got in zip(steps, answers[1:]):
        if want is not None and got != want.upper():
            failures.append(f"{what}: {cmd}\n  want {want.upper()}\n  got  {got}")
    return answers[1:]


def key(k):
    return (apdu(0x10, 0, 0, k), OK)


def chunks(hexs, cuts):
    """hexs split at the byte offsets in cuts."""
    out, last = [], 0
    for c in list(cuts) + [len(hexs) // 2]:
        out.append(hexs[2 * last:2 * c])
        last = c
    return out


def gcm_steps(v, slot=0, mode=ENC, aad_cuts=(), text_cuts=(), tag_len=16):
    """init with the nonce, AAD and text in parts, doFinal with the last
    part, then the tag (retrieveTag or verifyTag)."""
    k, iv, p, a, c, t = v
    src, dst = (p, c) if mode == ENC else (c, p)
    steps = [(apdu(0x22, mode, slot, iv), OK)]
    if a:
        steps += [(apdu(0x24, 0, slot, x), OK) for x in chunks(a, aad_cuts)]
    parts = chunks(src, text_cuts)
    outs = chunks(dst, text_cuts)
    for x, y in zip(parts[:-1], outs[:-1]):
        steps.append((apdu(0x26, 0, slot, x, le=True), y + OK))
    steps.append((apdu(0x28, 0, slot, parts[-1], le=True), outs[-1] + OK))
    if mode == ENC:
        steps.append((apdu(0x2A, tag_len, slot, le=True), t[:2 * tag_len] + OK))
    else:
        steps.append((apdu(0x2C, tag_len, slot, t[:2 * tag_len], le=True), "01" + OK))
    return steps


def ccm_init(slot, mode, v, tag=None):
    k, n, a, p, c, t = v
    tag = len(t) // 2 if tag is None else tag
    return apdu(0x23, mode, slot, "%04X%04X%02X" % (len(a) // 2, len(p) // 2, tag) + n)


def ccm_steps(v, slot=0, mode=ENC, aad_cuts=(), text_cuts=()):
    k, n, a, p, c, t = v
    src, dst = (p, c) if mode == ENC else (c, p)
    steps = [(ccm_init(slot, mode, v), OK)]
    steps += [(apdu(0x24, 0, slot, x), OK) for x in chunks(a, aad_cuts)]
    parts, outs = chunks(src, text_cuts), chunks(dst, text_cuts)
    for x, y in zip(parts[:-1], outs[:-1]):
        steps.append((apdu(0x26, 0, slot, x, le=True), y + OK))
    steps.append((apdu(0x28, 0, slot, parts[-1], le=True), outs[-1] + OK))
    tl = len(t) // 2
    if mode == ENC:
        steps.append((apdu(0x2A, tl, slot, le=True), t + OK))
    else:
        steps.append((apdu(0x2C, tl, slot, t, le=True), "01" + OK))
    return steps


def known_answers(cardvm, img):
    steps = [(apdu(0x20, GCM, 0), OK), (apdu(0x20, GCM, 1), OK), (apdu(0x20, CCM, 2), OK),
             # getAlgorithm, getCipherAlgorithm (CIPHER_AES_GCM -15), PAD_NULL
             (apdu(0x2E, 0, 0, le=True), "F3F100" + OK), (apdu(0x2E, 0, 2, le=True), "F4F200" + OK)]
    # TC2 through init(key, mode): the API's zero IV is 12 zero bytes
    steps += [key(TC2[0]), (apdu(0x22, ENC, 0), OK),
              (apdu(0x28, 0, 0, TC2[2], le=True), TC2[4] + OK), (apdu(0x2A, 16, 0, le=True), TC2[5] + OK)]
    steps += [key(K1)]
    steps += gcm_steps(TC3, text_cuts=(7, 37))
    steps += [(apdu(0x2A, 12, 0, le=True), TC3[5][:24] + OK)]       # a 96-bit tag: its first 12 bytes
    steps += gcm_steps(TC4, aad_cuts=(5,), text_cuts=(16, 17))
    steps += gcm_steps(TC4, mode=DEC, aad_cuts=(13,), text_cuts=(31,))
    # the tag: a flipped bit, a 12-byte prefix (required 12, then 16)
    bad = TC4[5][:-2] + "%02x" % (int(TC4[5][-2:], 16) ^ 1)
    steps += [(apdu(0x2C, 16, 0, bad, le=True), "00" + OK),
              (apdu(0x2C, 12, 0, TC4[5][:24], le=True), "01" + OK),
              (apdu(0x2C, 16, 0, TC4[5][:24], le=True), "00" + OK),
              (apdu(0x2C, 16, 0, TC4[5][:30] + "00", le=True), "00" + OK)]
    steps += gcm_steps(TC5, aad_cuts=(19,))
    steps += gcm_steps(TC6, text_cuts=(1, 2, 3))
    steps += gcm_steps(TC6, mode=DEC)
    # two objects, two keys (AES-256 on 1), interleaved; then AES-192
    k16 = TC16
    steps += [key(k16[0]), (apdu(0x22, ENC, 1, k16[1]), OK), key(K1), (apdu(0x22, ENC, 0, IV1), OK),
              (apdu(0x24, 0, 1, A20), OK), (apdu(0x24, 0, 0, A20), OK),
              (apdu(0x26, 0, 1, P60[:64], le=True), k16[4][:64] + OK),
              (apdu(0x26, 0, 0, P60[:64], le=True), TC4[4][:64] + OK),
              (apdu(0x28, 0, 1, P60[64:], le=True), k16[4][64:] + OK),
              (apdu(0x28, 0, 0, P60[64:], le=True), TC4[4][64:] + OK),
              (apdu(0x2A, 16, 1, le=True), k16[5] + OK), (apdu(0x2A, 16, 0, le=True), TC4[5] + OK)]
    steps += [key(TC10[0])] + gcm_steps(TC10, slot=1, aad_cuts=(3,), text_cuts=(50,))
    # the same key object set to another key between two messages
    steps += [key(K1)] + gcm_steps(TC3, slot=1) + [key(TC2[0]), (apdu(0x22, ENC, 1), OK),
                                                  (apdu(0x28, 0, 1, TC2[2], le=True), TC2[4] + OK)]
    # CCM
    steps += [key(RFC3610_1[0])] + ccm_steps(RFC3610_1, slot=2, aad_cuts=(3,), text_cuts=(10,))
    steps += ccm_steps(RFC3610_1, slot=2, mode=DEC, text_cuts=(1,))
    steps += [key(K_38C)]
    for v in (C38_1, C38_2, C38_3):
        steps += ccm_steps(v, slot=2) + ccm_steps(v, slot=2, mode=DEC, aad_cuts=(1,))
    steps += [(apdu(0x2C, 8, 2, C38_3[5][:-2] + "00", le=True), "00" + OK)]
    session(cardvm, img, steps, "known answers")


def errors(cardvm, img):
    e = {"value": "6F01", "key": "6F02", "alg": "6F03", "init": "6F04", "use": "6F05"}
    steps = [
        # getInstance(CIPHER_AES_GCM / _CCM, PAD_NULL), not another padding;
        # no OneShot
        (apdu(0x21, 0xF1, 0, "00"), OK), (apdu(0x2E, 0, 0, le=True), "F3F100" + OK),
        (apdu(0x21, 0xF2, 2, "00"), OK), (apdu(0x2E, 0, 2, le=True), "F4F200" + OK),
        (apdu(0x21, 0xF1, 1, "01"), e["alg"]), (apdu(0x30, 0xF1, 0), e["alg"]), (apdu(0x30, 0xF2, 0), e["alg"]),
        (apdu(0x20, GCM, 1), OK),
        # not initialized yet
        (apdu(0x26, 0, 0, "00", le=True), e["init"]), (apdu(0x24, 0, 0, "00"), e["init"]),
        (apdu(0x2A, 16, 0, le=True), e["use"]),
        key(K1),
        # the other algorithm's init form; a bad mode; an uninitialized key
        (apdu(0x23, ENC, 0, "000000100d" + "00" * 12), e["init"]),
        (apdu(0x22, ENC, 2), e["init"]), (apdu(0x22, ENC, 2, IV1), e["init"]),
        (apdu(0x22, 3, 0, IV1), e["value"]), (apdu(0x32, ENC, 0), e["key"]),
        # CCM values: nonce 6 and 14 bytes, odd tag, tag 2 and 18,
        # negative lengths
        (apdu(0x23, ENC, 2, "00000000" + "08" + "00" * 6), e["value"]),
        (apdu(0x23, ENC, 2, "00000000" + "08" + "00" * 14), e["value"]),
        (apdu(0x23, ENC, 2, "00000000" + "07" + "00" * 12), e["value"]),
        (apdu(0x23, ENC, 2, "00000000" + "02" + "00" * 12), e["value"]),
        (apdu(0x23, ENC, 2, "00000000" + "12" + "00" * 12), e["value"]),
        (apdu(0x23, ENC, 2, "FFFF0000" + "08" + "00" * 12), e["value"]),
        (apdu(0x23, ENC, 2, "0000FFFF" + "08" + "00" * 12), e["value"]),
        # GCM order: AAD after text; the tag before doFinal, in the other
        # mode, of a length GCM does not have
        (apdu(0x22, ENC, 0, IV1), OK), (apdu(0x24, 0, 0, A20), OK),
        (apdu(0x2A, 16, 0, le=True), e["use"]),
        (apdu(0x26, 0, 0, P60[:20], le=True), TC4[4][:20] + OK),
        (apdu(0x24, 0, 0, A20), e["use"]),
        (apdu(0x28, 0, 0, P60[20:], le=True), TC4[4][20:] + OK),
        (apdu(0x2C, 16, 0, TC4[5], le=True), e["use"]),
        (apdu(0x2A, 5, 0, le=True), e["value"]), (apdu(0x2A, 17, 0, le=True), e["value"]),
        (apdu(0x2A, 16, 0, le=True), TC4[5] + OK),
        # doFinal put it back to its init: the same message again, and the
        # tag of the last doFinal is gone once a new one starts
        (apdu(0x24, 0, 0, A20), OK), (apdu(0x2A, 16, 0, le=True), e["use"]),
        (apdu(0x28, 0, 0, P60, le=True), TC4[4] + OK), (apdu(0x2A, 16, 0, le=True), TC4[5] + OK),
        (apdu(0x22, DEC, 0, IV1), OK), (apdu(0x24, 0, 0, A20), OK),
        (apdu(0x28, 0, 0, TC4[4], le=True), P60 + OK),
        (apdu(0x2A, 16, 0, le=True), e["use"]), (apdu(0x2C, 3, 0, TC4[5][:6], le=True), e["value"]),
        # CCM order (SP 800-38C example 2: AAD 16, text 16, tag 6)
        key(K_38C), (ccm_init(2, ENC, C38_2), OK),
        (apdu(0x26, 0, 2, C38_2[3][:8], le=True), e["use"]),              # AAD missing
        (apdu(0x24, 0, 2, C38_2[2][:20]), OK),
        (apdu(0x24, 0, 2, C38_2[2][20:] + "00"), e["value"]),            # more AAD than announced
        (apdu(0x28, 0, 2, C38_2[3], le=True), e["use"]),                   # still missing 6 bytes
        (apdu(0x24, 0, 2, C38_2[2][20:]), OK),
        (apdu(0x26, 0, 2, C38_2[3][:8], le=True), C38_2[4][:8] + OK),
        (apdu(0x24, 0, 2, ""), e["use"]),                                  # AAD after text
        (apdu(0x26, 0, 2, C38_2[3][8:] + "00", le=True), e["use"]),        # beyond the message
        (apdu(0x28, 0, 2, C38_2[3][8:20], le=True), e["use"]),             # short of it
        (apdu(0x2A, 6, 2, le=True), e["use"]),
        (apdu(0x28, 0, 2, C38_2[3][8:], le=True), C38_2[4][8:] + OK),
        (apdu(0x2A, 4, 2, le=True), e["value"]), (apdu(0x2A, 6, 2, le=True), C38_2[5] + OK),
    ]
    session(cardvm, img, steps, "exceptions")


def resets(cardvm, img):
    # before a reset: GCM object 0 initialized for encryption with a
    # nonce under the zero key, CCM object 2 initialized
    steps = [(apdu(0x20, GCM, 0), OK), (apdu(0x20, CCM, 2), OK), key(TC2[0]), (apdu(0x22, ENC, 0, IV1), OK),
             (apdu(0x24, 0, 0, A20), OK), (ccm_init(2, ENC, C38_1), OK)]
    session(cardvm, img, steps, "before a reset")
    # after it: GCM keeps key and mode with the zero IV (TC2); CCM lost
    # its nonce and lengths
    steps = [(apdu(0x28, 0, 0, TC2[2], le=True), TC2[4] + OK), (apdu(0x2A, 16, 0, le=True), TC2[5] + OK),
             (apdu(0x28, 0, 2, "00", le=True), "6F04"), (apdu(0x24, 0, 2, "00"), "6F04")]
    session(cardvm, img, steps, "after a reset")


def cross_check(cardvm, img):
    try:
        from cryptography.hazmat.primitives.ciphers.aead import AESCCM
        from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
    except ImportError:
        print("python3-cryptography not installed: random cross-check skipped")
        return
    rnd = random.Random(15)
    steps = [(apdu(0x20, GCM, 0), OK), (apdu(0x20, CCM, 2), OK)]
    for i in range(12):
        k = rnd.randbytes(rnd.choice((16, 24, 32)))
        a = rnd.randbytes(rnd.randrange(0, 60))
        p = rnd.randbytes(rnd.randrange(0, 200))
        if i % 2 == 0:
            iv = rnd.randbytes(rnd.choice((1, 8, 12, 16, 33)))
            enc = Cipher(algorithms.AES(k), modes.GCM(iv)).encryptor()
            enc.authenticate_additional_data(a)
            c = enc.update(p) + enc.finalize()
            v = (k.hex(), iv.hex(), p.hex(), a.hex(), c.hex(), enc.tag.hex())
            cut = sorted(rnd.sample(range(0, len(p) + 1), 2)) if len(p) > 2 else ()
            acut = (rnd.randrange(0, len(a) + 1),) if a else ()
            steps += [key(v[0])] + gcm_steps(v, aad_cuts=acut, text_cuts=cut) + \
                gcm_steps(v, mode=DEC, text_cuts=cut[:1])
        else:
            n = rnd.randbytes(rnd.randrange(7, 14))
            tl = rnd.choice((4, 6, 8, 10, 12, 14, 16))
            ct = AESCCM(k, tl).encrypt(n, p, a)
            v = (k.hex(), n.hex(), a.hex(), p.hex(), ct[:len(p)].hex(), ct[len(p):].hex())
            cut = (rnd.randrange(0, len(p) + 1),) if p else ()
            steps += [key(v[0])] + ccm_steps(v, slot=2, text_cuts=cut) + ccm_steps(v, slot=2, mode=DEC)
    session(cardvm, img, steps, "random cross-check with python3-cryptography")


def main():
    cardvm, jca = sys.argv[1], sys.argv[2]
    with tempfile.TemporaryDirectory() as tmp:
        cap = os.path.join(tmp, "aeadtest.cap")
        run(cardvm, "asm", jca, "-o", cap, "--verify")
        img = os.path.join(tmp, "card.img")
        run(cardvm, "create", img, "--quiet")
        r = run(cardvm, "gp", img, "--load", cap, "--install", "--list")
        expect("APP: %s (SELECTABLE)" % AID in r.stdout, "the applet is installed", r.stdout)
        if failures:
            return report()
        known_answers(cardvm, img)
        errors(cardvm, img)
        resets(cardvm, img)
        cross_check(cardvm, img)
    return report()


if __name__ == "__main__":
    sys.exit(main())
