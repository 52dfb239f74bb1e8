package cardvm.aeadtest;

import javacard.framework.APDU;
import javacard.framework.Applet;
import javacard.framework.ISO7816;
import javacard.framework.ISOException;
import javacard.framework.Util;
import javacard.security.AESKey;
import javacard.security.CryptoException;
import javacard.security.KeyBuilder;
import javacardx.crypto.AEADCipher;
import javacardx.crypto.Cipher;

/**
 * Drives javacardx.crypto.AEADCipher over APDUs for the ctest jca_aead
 * (test/jca/test_jca_aead.py). CLA 80; P2 picks one of three cipher objects
 * where it says "cipher".
 *
 *   INS 10  key = AES key of the data (16, 24 or 32 bytes), built on the
 *           first use of each length
 *   INS 20  cipher = Cipher.getInstance(P1, false), cast to AEADCipher
 *   INS 21  cipher = Cipher.getInstance(P1, data[0], false), cast
 *   INS 22  cipher.init(key, P1) without data, else init(key, P1, data)
 *   INS 23  cipher.init(key, P1, nonce, adataLen, messageLen, tagSize):
 *           data = adataLen (2), messageLen (2), tagSize (1), nonce
 *   INS 24  cipher.updateAAD(data)
 *   INS 26  cipher.update(data): answers the output
 *   INS 28  cipher.doFinal(data): answers the output
 *   INS 2A  cipher.retrieveTag(P1 bytes): answers them
 *   INS 2C  cipher.verifyTag(data, required P1): answers 01 or 00
 *   INS 2E  answers getAlgorithm, getCipherAlgorithm, getPaddingAlgorithm
 *   INS 30  Cipher.OneShot.open(P1, P2) (an AEAD one: refused)
 *   INS 32  cipher.init(key, P1) with an uninitialized AES key
 * A CryptoException answers 6F00 | reason, a ClassCastException 6FCC,
 * any other exception 6FEE; an unknown INS 6D00.
 */
public class AeadTest extends Applet {
    private final Cipher[] ciphers = new Cipher[3];
    private final AESKey[] keys = new AESKey[3];
    private AESKey key;
    private AESKey blank;

    private AeadTest() {
        register();
    }

    public static void install(byte[] bArray, short bOffset, byte bLength) {
        new AeadTest();
    }

    public void process(APDU apdu) {
        if (selectingApplet()) {
            return;
        }
        byte[] buf = apdu.getBuffer();
        try {
            run(apdu, buf);
        } catch (CryptoException e) {
            ISOException.throwIt((short) (0x6F00 | e.getReason()));
        } catch (ClassCastException e) {
            ISOException.throwIt((short) 0x6FCC);
        } catch (ISOException e) {
            throw e;
        } catch (RuntimeException e) {
            ISOException.throwIt((short) 0x6FEE);
        }
    }

    private void run(APDU apdu, byte[] buf) {
        short len = apdu.setIncomingAndReceive();
        short data = ISO7816.OFFSET_CDATA;
        byte p1 = buf[ISO7816.OFFSET_P1];
        byte p2 = buf[ISO7816.OFFSET_P2];
        switch (buf[ISO7816.OFFSET_INS]) {
        case 0x10: {
            short slot = (short) ((len >> 3) - 2);
            if (slot < 0 || slot > 2 || (short) (len & 7) != 0) {
                ISOException.throwIt(ISO7816.SW_WRONG_LENGTH);
            }
            if (keys[slot] == null) {
                keys[slot] = (AESKey) KeyBuilder.buildKey(KeyBuilder.TYPE_AES, (short) (len * 8), false);
            }
            key = keys[slot];
            key.setKey(buf, data);
            return;
        }
        case 0x20:
            ciphers[p2] = (AEADCipher) Cipher.getInstance(p1, false);
            return;
        case 0x21:
            ciphers[p2] = (AEADCipher) Cipher.getInstance(p1, buf[data], false);
            return;
        case 0x22:
            if (len == 0) {
                aead(p2).init(key, p1);
            } else {
                aead(p2).init(key, p1, buf, data, len);
            }
            return;
        case 0x23:
            aead(p2).init(key, p1, buf, (short) (data + 5), (short) (len - 5), Util.getShort(buf, data),
                    Util.getShort(buf, (short) (data + 2)), buf[(short) (data + 4)]);
            return;
        case 0x24:
            aead(p2).updateAAD(buf, data, len);
            return;
        case 0x26:
            apdu.setOutgoingAndSend((short) 0, aead(p2).update(buf, data, len, buf, (short) 0));
            return;
        case 0x28:
            apdu.setOutgoingAndSend((short) 0, aead(p2).doFinal(buf, data, len, buf, (short) 0));
            return;
        case 0x2A:
            apdu.setOutgoingAndSend((short) 0, aead(p2).retrieveTag(buf, (short) 0, p1));
            return;
        case 0x2C:
            buf[0] = aead(p2).verifyTag(buf, data, len, p1) ? (byte) 1 : (byte) 0;
            apdu.setOutgoingAndSend((short) 0, (short) 1);
            return;
        case 0x2E: {
            Cipher c = ciphers[p2];
            buf[0] = c.getAlgorithm();
            buf[1] = c.getCipherAlgorithm();
            buf[2] = c.getPaddingAlgorithm();
            apdu.setOutgoingAndSend((short) 0, (short) 3);
            return;
        }
        case 0x30:
            Cipher.OneShot.open(p1, p2).close();
            return;
        case 0x32:
            if (blank == null) {
                blank = (AESKey) KeyBuilder.buildKey(KeyBuilder.TYPE_AES, KeyBuilder.LENGTH_AES_128, false);
            }
            aead(p2).init(blank, p1);
            return;
        default:
            ISOException.throwIt(ISO7816.SW_INS_NOT_SUPPORTED);
        }
    }

    private AEADCipher aead(byte p2) {
        return (AEADCipher) ciphers[p2];
    }
}
