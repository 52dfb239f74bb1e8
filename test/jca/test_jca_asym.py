#!/usr/bin/env python3
"""The asymmetric crypto API through a real CAP applet over APDUs, checked
against an independent implementation (python3-cryptography): asymtest.jca
(see its header for the commands) is assembled with `cardvm asm --verify`,
loaded and installed with `cardvm gp`, and driven with `cardvm send`.

  card -> host: RSA-2048 (CRT) and P-256 keys generated on the card; their
  signatures (RSA SHA-256 PKCS#1 v1.5 and PSS, ECDSA SHA-256) verify with
  the public keys the card gives; PKCS#1 v1.5 and OAEP ciphertexts the
  card makes with the host's RSA-1024 public key decrypt on the host; the
  card's ECDH x equals the host's.
  host -> card: the host's RSA-1024 PKCS#1 v1.5 and PSS and P-256 ECDSA
  signatures verify on the card (01), altered ones do not (00).
usage: test_jca_asym.py CARDVM ASYMTEST_JCA
Exit 0 pass, 1 fail, 77 skip (no python3-cryptography).
"""
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from jcatest import apdu, expect, failures, need_cryptography, new_card, report, run, send  # noqa: E402

need_cryptography()
from cryptography.exceptions import InvalidSignature  # noqa: E402
from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa  # noqa: E402

SELECT = "00A4040009F063617264766D0201"






def verifies(check):
    try:
        check()
        return True
    except InvalidSignature:
        return False


def main():
    cardvm, jca = sys.argv[1], sys.argv[2]
    msg = b"cardvm asymmetric cross-check"
    with tempfile.TemporaryDirectory() as tmp:
        cap = os.path.join(tmp, "asymtest.cap")
        img = os.path.join(tmp, "card.img")
        run(cardvm, "asm", jca, "-o", cap, "--verify")
        new_card(cardvm, img, cap)
        if failures:
            return report()

        # ---- keys generated on the card, signatures checked here ----
        ans = send(cardvm, img, SELECT, apdu(0x10, 0, le=False), apdu(0x10, 1, le=False), apdu(0x20, 0), apdu(0x20, 1),
                   apdu(0x20, 2), apdu(0x30, 0, msg), apdu(0x30, 1, msg), apdu(0x30, 2, msg))
        sws = [sw for _, sw in ans]
        expect(sws == ["9000"] * 8, "genKeyPair, public keys and signatures answer 9000", str(sws))
        if failures:
            return report()
        n, e, w = ans[2][0], ans[3][0], ans[4][0]
        expect(len(n) == 256 and n[0] & 0x80, "a 2048-bit modulus", n.hex())
        expect(e == b"\x01\x00\x01", "public exponent 65537 by default", e.hex())
        card_rsa = rsa.RSAPublicNumbers(int.from_bytes(e, "big"), int.from_bytes(n, "big")).public_key()
        card_ec = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), w)
        sig_pkcs1, sig_ecdsa, sig_pss = ans[5][0], ans[6][0], ans[7][0]
        expect(verifies(lambda: card_rsa.verify(sig_pkcs1, msg, padding.PKCS1v15(), hashes.SHA256())),
               "the card's RSA SHA-256 PKCS#1 v1.5 signature verifies", sig_pkcs1.hex())
        expect(verifies(lambda: card_rsa.verify(sig_pss, msg, padding.PSS(padding.MGF1(hashes.SHA256()), 32),
                                                hashes.SHA256())),
               "the card's RSA SHA-256 PSS signature (salt 32) verifies", sig_pss.hex())
        expect(verifies(lambda: card_ec.verify(sig_ecdsa, msg, ec.ECDSA(hashes.SHA256()))),
               "the card's ECDSA P-256 SHA-256 signature (DER) verifies", sig_ecdsa.hex())
        expect(not verifies(lambda: card_ec.verify(sig_ecdsa, msg + b"!", ec.ECDSA(hashes.SHA256()))),
               "and not for another message")

        # ---- host keys: signatures made here verify on the card ----
        host_rsa = rsa.generate_private_key(public_exponent=65537, key_size=1024)
        host_ec = ec.generate_private_key(ec.SECP256R1())
        hn = host_rsa.public_key().public_numbers()
        hw = host_ec.public_key().public_bytes(serialization.Encoding.X962,
                                               serialization.PublicFormat.UncompressedPoint)
        m32 = bytes(range(32))
        h_pkcs1 = host_rsa.sign(m32, padding.PKCS1v15(), hashes.SHA256())
        h_pss = host_rsa.sign(m32, padding.PSS(padding.MGF1(hashes.SHA256()), 32), hashes.SHA256())
        h_ecdsa = host_ec.sign(m32, ec.ECDSA(hashes.SHA256()))
        bad = bytearray(h_pkcs1)
        bad[40] ^= 1
        secret = b"a 16-byte secret"
        ans = send(cardvm, img, SELECT,
                   apdu(0x40, 0, hn.n.to_bytes(128, "big"), le=False),
                   apdu(0x40, 1, hn.e.to_bytes(3, "big"), le=False),
                   apdu(0x40, 2, hw, le=False),
                   apdu(0x50, 0, m32 + h_pkcs1), apdu(0x50, 1, m32 + h_ecdsa), apdu(0x50, 2, m32 + h_pss),
                   apdu(0x50, 0, m32 + bytes(bad)), apdu(0x50, 1, bytes(32) + h_ecdsa),
                   apdu(0x60, 0, hw), apdu(0x70, 0, secret), apdu(0x70, 1, secret))
        sws = [sw for _, sw in ans]
        expect(sws == ["9000"] * 11, "set keys, verify, ECDH, encrypt answer 9000", str(sws))
        results = [ans[i][0].hex() for i in range(3, 8)]
        expect(results == ["01", "01", "01", "00", "00"],
               "host signatures verify on the card (PKCS#1, ECDSA, PSS), altered ones do not", str(results))
        x = host_ec.exchange(ec.ECDH(), card_ec)
        expect(ans[8][0] == x, "the card's ECDH x is the host's", f"{ans[8][0].hex()} != {x.hex()}")
        try:
            p1 = host_rsa.decrypt(ans[9][0], padding.PKCS1v15())
        except ValueError as err:
            p1 = repr(err)
        expect(p1 == secret, "the card's PKCS#1 v1.5 ciphertext decrypts here", repr(p1))
        try:
            p2 = host_rsa.decrypt(ans[10][0], padding.OAEP(padding.MGF1(hashes.SHA1()), hashes.SHA1(), None))
        except ValueError as err:
            p2 = repr(err)
        expect(p2 == secret, "the card's OAEP (SHA-1) ciphertext decrypts here", repr(p2))
    return report()



if __name__ == "__main__":
    sys.exit(main())
