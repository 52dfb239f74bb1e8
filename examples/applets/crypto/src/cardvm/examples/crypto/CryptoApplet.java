/* crypto: SHA-256, AES-128 and AES CBC-MAC through the Java Card crypto API,
 * and random bytes (docs/applets.md). install() takes the AES-128 key (16
 * bytes) from the application data of its install parameters (else 6A80).
 *   80 10 00 00 Lc DATA   SHA-256(DATA)                     -> 32 bytes
 *   80 20 00 00 Lc DATA   AES-128 ECB encrypt (Lc a multiple of 16)
 *   80 22 00 00 Lc DATA   AES-128 ECB decrypt
 *   80 30 00 00 Lc DATA   AES-128 CBC encrypt, IV zero
 *   80 32 00 00 Lc DATA   AES-128 CBC decrypt, IV zero
 *   80 40 00 00 Lc DATA   AES CBC-MAC (ALG_AES_MAC_128_NOPAD)   -> 16 bytes
 *   80 50 P1 00 00        P1 random bytes
 * Data that is not a multiple of the block size: CryptoException, not
 * caught: 6F00. */
package cardvm.examples.crypto;

import javacard.framework.*;
import javacard.security.*;
import javacardx.crypto.*;

public class CryptoApplet extends Applet {
    static final byte INS_SHA = (byte) 0x10;
    static final byte INS_ECB_ENCRYPT = (byte) 0x20;
    static final byte INS_ECB_DECRYPT = (byte) 0x22;
    static final byte INS_CBC_ENCRYPT = (byte) 0x30;
    static final byte INS_CBC_DECRYPT = (byte) 0x32;
    static final byte INS_MAC = (byte) 0x40;
    static final byte INS_RANDOM = (byte) 0x50;

    private AESKey key;
    private Cipher ecb;
    private Cipher cbc;
    private Signature mac;
    private MessageDigest sha;
    private RandomData rng;

    private CryptoApplet(byte[] bArray, short keyOffset) {
        key = (AESKey) KeyBuilder.buildKey(KeyBuilder.TYPE_AES, KeyBuilder.LENGTH_AES_128, false);
        key.setKey(bArray, keyOffset);
        ecb = Cipher.getInstance(Cipher.ALG_AES_BLOCK_128_ECB_NOPAD, false);
        cbc = Cipher.getInstance(Cipher.ALG_AES_BLOCK_128_CBC_NOPAD, false);
        mac = Signature.getInstance(Signature.ALG_AES_MAC_128_NOPAD, false);
        sha = MessageDigest.getInstance(MessageDigest.ALG_SHA_256, false);
        rng = RandomData.getInstance(RandomData.ALG_SECURE_RANDOM);
        register();
    }

    public static void install(byte[] bArray, short bOffset, byte bLength) {
        short at = (short) (bOffset + bArray[bOffset] + 1);   // past the instance AID
        at = (short) (at + bArray[at] + 1);                   // past the privileges
        if (bArray[at] != 16) {
            ISOException.throwIt(ISO7816.SW_WRONG_DATA);
        }
        new CryptoApplet(bArray, (short) (at + 1));
    }

    public void process(APDU apdu) {
        if (selectingApplet()) {
            return;
        }
        byte[] buf = apdu.getBuffer();
        short n;
        switch (buf[ISO7816.OFFSET_INS]) {
        case INS_SHA:
            n = sha.doFinal(buf, ISO7816.OFFSET_CDATA, apdu.setIncomingAndReceive(), buf, (short) 0);
            break;
        case INS_ECB_ENCRYPT:
            n = crypt(apdu, ecb, Cipher.MODE_ENCRYPT);
            break;
        case INS_ECB_DECRYPT:
            n = crypt(apdu, ecb, Cipher.MODE_DECRYPT);
            break;
        case INS_CBC_ENCRYPT:
            n = crypt(apdu, cbc, Cipher.MODE_ENCRYPT);
            break;
        case INS_CBC_DECRYPT:
            n = crypt(apdu, cbc, Cipher.MODE_DECRYPT);
            break;
        case INS_MAC:
            mac.init(key, Signature.MODE_SIGN);
            n = mac.sign(buf, ISO7816.OFFSET_CDATA, apdu.setIncomingAndReceive(), buf, (short) 0);
            break;
        case INS_RANDOM:
            n = (short) (buf[ISO7816.OFFSET_P1] & 0xFF);
            rng.generateData(buf, (short) 0, n);
            break;
        default:
            ISOException.throwIt(ISO7816.SW_INS_NOT_SUPPORTED);
            return;
        }
        apdu.setOutgoingAndSend((short) 0, n);
    }

    /* The command data through a cipher, in place at the buffer's start
     * (Cipher.init without an IV: CBC starts from zero). */
    private short crypt(APDU apdu, Cipher cipher, byte mode) {
        byte[] buf = apdu.getBuffer();
        cipher.init(key, mode);
        return cipher.doFinal(buf, ISO7816.OFFSET_CDATA, apdu.setIncomingAndReceive(), buf, (short) 0);
    }
}
