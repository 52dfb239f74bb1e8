#!/usr/bin/env python3
"""EC keys on curves set through the ECKey setters, A = -3 or not, through a
real CAP applet over APDUs (curvetest.jca, see its header), checked against
an independent implementation (python3-cryptography, i.e. OpenSSL).

Curves: brainpoolP256r1, brainpoolP384r1, brainpoolP512r1 (RFC 5639, A not
-3), secp256k1 (SEC 2, A = 0) and P-256 (A = -3, libtomcrypt's path on
the card, as the control). Domain parameters: RFC 5639 / SEC 2 / FIPS 186
as OpenSSL's `ecparam -param_enc explicit` prints them; were one wrong,
every cross-check below would fail. Per curve:
  - genKeyPair on the card; its W is a point of the host's curve, and the
    card's ECDSA SHA-256 (and SHA-1/384/512 on brainpoolP256r1) signatures
    verify with it on the host; not for another message;
  - a host key's signature verifies on the card (01), a changed one not;
  - ECDH: the card's ALG_EC_SVDP_DH_PLAIN x equals the host's exchange();
    with the card's private S set to a host-chosen d and the host's public
    point Q = e G, ALG_EC_SVDP_DH_PLAIN_XY answers 04 || x || y of (d e) G,
    which the host computes as the public key of d e mod n; the compressed
    form of Q gives the same x;
  - the card signs with that known d: the host verifies with d G.
usage: test_jca_curves.py CARDVM CURVETEST_JCA
Exit 0 pass, 1 fail, 77 skip (no python3-cryptography).
"""
import os
import secrets
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from jcatest import apdu, expect, failures, need_cryptography, new_card, report, run, send  # noqa: E402

need_cryptography()
from cryptography.exceptions import InvalidSignature  # noqa: E402
from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402

SELECT = "00A4040009F063617264766D0401"
ECDSA = {"SHA1": (17, hashes.SHA1), "SHA256": (33, hashes.SHA256), "SHA384": (34, hashes.SHA384),
         "SHA512": (38, hashes.SHA512)}
KA_DH_PLAIN, KA_DH_PLAIN_XY = 3, 6

# name, bits, curve, p, A, B, G (uncompressed), n
CURVES = [
    ("brainpoolP256r1", 256, ec.BrainpoolP256R1(),
     "a9fb57dba1eea9bc3e660a909d838d726e3bf623d52620282013481d1f6e5377",
     "7d5a0975fc2c3057eef67530417affe7fb8055c126dc5c6ce94a4b44f330b5d9",
     "26dc5c6ce94a4b44f330b5d9bbd77cbf958416295cf7e1ce6bccdc18ff8c07b6",
     "048bd2aeb9cb7e57cb2c4b482ffc81b7afb9de27e1e3bd23c23a4453bd9ace3262"
     "547ef835c3dac4fd97f8461a14611dc9c27745132ded8e545c1d54c72f046997",
     "a9fb57dba1eea9bc3e660a909d838d718c397aa3b561a6f7901e0e82974856a7"),
    ("secp256k1", 256, ec.SECP256K1(),
     "fffffffffffffffffffffffffffffffffffffffffffffffffffffffefffffc2f",
     "00", "07",
     "0479be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798"
     "483ada7726a3c4655da4fbfc0e1108a8fd17b448a68554199c47d08ffb10d4b8",
     "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141"),
    ("brainpoolP384r1", 384, ec.BrainpoolP384R1(),
     "8cb91e82a3386d280f5d6f7e50e641df152f7109ed5456b412b1da197fb71123acd3a729901d1a71874700133107ec53",
     "7bc382c63d8c150c3c72080ace05afa0c2bea28e4fb22787139165efba91f90f8aa5814a503ad4eb04a8c7dd22ce2826",
     "04a8c7dd22ce28268b39b55416f0447c2fb77de107dcd2a62e880ea53eeb62d57cb4390295dbc9943ab78696fa504c11",
     "041d1c64f068cf45ffa2a63a81b7c13f6b8847a3e77ef14fe3db7fcafe0cbd10e8e826e03436d646aaef87b2e247d4af1e"
     "8abe1d7520f9c2a45cb1eb8e95cfd55262b70b29feec5864e19c054ff99129280e4646217791811142820341263c5315",
     "8cb91e82a3386d280f5d6f7e50e641df152f7109ed5456b31f166e6cac0425a7cf3ab6af6b7fc3103b883202e9046565"),
    ("brainpoolP512r1", 512, ec.BrainpoolP512R1(),
     "aadd9db8dbe9c48b3fd4e6ae33c9fc07cb308db3b3c9d20ed6639cca703308717d4d9b009bc66842aecda12ae6a380e6"
     "2881ff2f2d82c68528aa6056583a48f3",
     "7830a3318b603b89e2327145ac234cc594cbdd8d3df91610a83441caea9863bc2ded5d5aa8253aa10a2ef1c98b9ac8b5"
     "7f1117a72bf2c7b9e7c1ac4d77fc94ca",
     "3df91610a83441caea9863bc2ded5d5aa8253aa10a2ef1c98b9ac8b57f1117a72bf2c7b9e7c1ac4d77fc94cadc083e67"
     "984050b75ebae5dd2809bd638016f723",
     "0481aee4bdd82ed9645a21322e9c4c6a9385ed9f70b5d916c1b43b62eef4d0098eff3b1f78e2d0d48d50d1687b93b97d"
     "5f7c6d5047406a5e688b352209bcb9f8227dde385d566332ecc0eabfa9cf7822fdf209f70024a57b1aa000c55b881f81"
     "11b2dcde494a5f485e5bca4bd88a2763aed1ca2b2fa8f0540678cd1e0f3ad80892",
     "aadd9db8dbe9c48b3fd4e6ae33c9fc07cb308db3b3c9d20ed6639cca70330870553e5c414ca92619418661197fac1047"
     "1db1d381085ddaddb58796829ca90069"),
    ("P-256", 256, ec.SECP256R1(),
     "ffffffff00000001000000000000000000000000ffffffffffffffffffffffff",
     "ffffffff00000001000000000000000000000000fffffffffffffffffffffffc",
     "5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604b",
     "046b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296"
     "4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5",
     "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551"),
]






def verifies(key, sig, msg, h):
    try:
        key.verify(sig, msg, ec.ECDSA(h()))
        return True
    except InvalidSignature:
        return False


def point(key):
    return key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)


def check_curve(cardvm, img, name, bits, curve, p, a, b, g, n):
    dom = [bytes.fromhex(h) for h in (p, a, b, g, n)]
    setup = [apdu(0x01, bits >> 8, le=False, p2=bits & 0xFF)]
    setup += [apdu(0x10, i, v, le=False) for i, v in enumerate(dom)] + [apdu(0x10, 5, b"\x01", le=False)]
    msg = f"cardvm on {name}".encode()
    algs = ["SHA256"] + (["SHA1", "SHA384", "SHA512"] if name == "brainpoolP256r1" else [])
    ans = send(cardvm, img, SELECT, *setup, apdu(0x20, 0), *[apdu(0x30, ECDSA[h][0], msg) for h in algs])
    sws = [sw for _, sw in ans]
    expect(sws == ["9000"] * len(sws), f"{name}: domain, genKeyPair and signatures answer 9000", str(sws))
    if failures:
        return
    w = ans[len(setup)][0]
    try:
        card_pub = ec.EllipticCurvePublicKey.from_encoded_point(curve, w)
    except ValueError as err:
        failures.append(f"{name}: the card's W is no point of the curve: {err} {w.hex()}")
        return
    for i, h in enumerate(algs):
        sig = ans[len(setup) + 1 + i][0]
        expect(verifies(card_pub, sig, msg, ECDSA[h][1]), f"{name}: the card's ECDSA {h} signature verifies",
               sig.hex())
        expect(not verifies(card_pub, sig, msg + b"!", ECDSA[h][1]), f"{name}: ... and not for another message")

    # host key: its signature verifies on the card; ECDH
    host = ec.generate_private_key(curve)
    hw = point(host.public_key())
    m32 = secrets.token_bytes(32)
    hsig = host.sign(m32, ec.ECDSA(hashes.SHA256()))
    bad = bytearray(hsig)
    bad[-1] ^= 1
    nb = (bits + 7) // 8
    compressed = bytes([2 | (hw[-1] & 1)]) + hw[1:1 + nb]
    ans = send(cardvm, img, SELECT, *setup, apdu(0x20, 0), apdu(0x22, 0, hw, le=False),
               apdu(0x31, 33, bytes([32]) + m32 + hsig), apdu(0x31, 33, bytes([32]) + m32 + bytes(bad)),
               apdu(0x40, KA_DH_PLAIN, hw), apdu(0x40, KA_DH_PLAIN, compressed))
    sws = [sw for _, sw in ans]
    expect(sws == ["9000"] * len(sws), f"{name}: setW, verify and ECDH answer 9000", str(sws))
    if failures:
        return
    card_pub = ec.EllipticCurvePublicKey.from_encoded_point(curve, ans[len(setup)][0])
    k = len(setup) + 2
    expect([ans[k][0].hex(), ans[k + 1][0].hex()] == ["01", "00"],
           f"{name}: the host's signature verifies on the card, a changed one does not",
           f"{ans[k][0].hex()} {ans[k + 1][0].hex()}")
    x = host.exchange(ec.ECDH(), card_pub)
    expect(ans[k + 2][0] == x, f"{name}: the card's ECDH x is the host's", f"{ans[k + 2][0].hex()} != {x.hex()}")
    expect(ans[k + 3][0] == x, f"{name}: the same x from the compressed point", ans[k + 3][0].hex())

    # a known private value d on the card: d Q = (d e) G, x and y; its signature
    order = int(n, 16)
    d = secrets.randbelow(order - 1) + 1
    e = host.private_numbers().private_value
    want = point(ec.derive_private_key(d * e % order, curve).public_key())
    ans = send(cardvm, img, SELECT, *setup, apdu(0x20, 0), apdu(0x23, 0, d.to_bytes(nb, "big"), le=False),
               apdu(0x40, KA_DH_PLAIN_XY, hw), apdu(0x40, KA_DH_PLAIN_XY, compressed),
               apdu(0x40, KA_DH_PLAIN, hw), apdu(0x30, 33, msg))
    sws = [sw for _, sw in ans]
    expect(sws == ["9000"] * len(sws), f"{name}: setS, ECDH XY and sign answer 9000", str(sws))
    if failures:
        return
    k = len(setup) + 2
    expect(ans[k][0] == want, f"{name}: ALG_EC_SVDP_DH_PLAIN_XY is 04 || x || y of d Q",
           f"{ans[k][0].hex()} != {want.hex()}")
    expect(ans[k + 1][0] == want, f"{name}: ... from the compressed Q too", ans[k + 1][0].hex())
    expect(ans[k + 2][0] == want[1:1 + nb], f"{name}: ALG_EC_SVDP_DH_PLAIN is its x", ans[k + 2][0].hex())
    dpub = ec.derive_private_key(d, curve).public_key()
    expect(verifies(dpub, ans[k + 3][0], msg, hashes.SHA256),
           f"{name}: the card's signature with S = d verifies with d G", ans[k + 3][0].hex())


def main():
    cardvm, jca = sys.argv[1], sys.argv[2]
    with tempfile.TemporaryDirectory() as tmp:
        cap = os.path.join(tmp, "curvetest.cap")
        img = os.path.join(tmp, "card.img")
        run(cardvm, "asm", jca, "-o", cap, "--verify")
        # a card per curve: the applet makes its objects per command and
        # the transient memory of the Signature objects is the card's
        for c in CURVES:
            new_card(cardvm, img, cap)
            if not failures:
                check_curve(cardvm, img, *c)
            if failures:
                break
    return report()



if __name__ == "__main__":
    sys.exit(main())
