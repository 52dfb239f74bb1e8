/* extlen: extended-length APDUs end to end (docs/applets.md, docs/pcsc.md).
 * The applet implements javacardx.apdu.ExtendedLength, so the runtime hands
 * it commands with up to 32 767 data bytes and Le up to 65 536 (Le 0000);
 * an applet without it gets 6700 for those (JCRE 3.0.5 9.4.4).
 *
 *   80 10 00 00 Lc data [Le]  DIGEST: receives the data in pieces
 *       (setIncomingAndReceive, then receiveBytes until it answers 0) into
 *       SHA-256; answers getIncomingLength (2), getOffsetCdata (2), the
 *       number of bytes received (2) and the SHA-256 of the data (32)
 *   80 20 P1 P2 [Le]          READ: bytes P1P2 (unsigned) onwards of a
 *       65 536-byte object whose byte i is (i >> 8) ^ i (low 8 bits);
 *       answers as many as Ne (setOutgoing: at most 32 767, the Java Card
 *       limit) and the object allow, sent with sendBytesLong in 256-byte
 *       pieces; the whole object is three READs with Le 0000
 *   other INS                 6D00 */
package cardvm.examples.extlen;

import javacard.framework.APDU;
import javacard.framework.Applet;
import javacard.framework.ISO7816;
import javacard.framework.ISOException;
import javacard.framework.JCSystem;
import javacard.framework.Util;
import javacard.security.MessageDigest;
import javacardx.apdu.ExtendedLength;

public class ExtLenApplet extends Applet implements ExtendedLength {
    static final byte INS_DIGEST = (byte) 0x10;
    static final byte INS_READ = (byte) 0x20;
    static final short PIECE = (short) 256;

    private final MessageDigest sha;
    private final byte[] piece;

    private ExtLenApplet() {
        sha = MessageDigest.getInstance(MessageDigest.ALG_SHA_256, false);
        piece = JCSystem.makeTransientByteArray(PIECE, JCSystem.CLEAR_ON_DESELECT);
        register();
    }

    public static void install(byte[] bArray, short bOffset, byte bLength) {
        new ExtLenApplet();
    }

    public void process(APDU apdu) {
        if (selectingApplet()) {
            return;
        }
        byte[] buf = apdu.getBuffer();
        switch (buf[ISO7816.OFFSET_INS]) {
        case INS_DIGEST:
            digest(apdu, buf);
            return;
        case INS_READ:
            read(apdu, Util.getShort(buf, ISO7816.OFFSET_P1));
            return;
        default:
            ISOException.throwIt(ISO7816.SW_INS_NOT_SUPPORTED);
        }
    }

    private void digest(APDU apdu, byte[] buf) {
        short got = apdu.setIncomingAndReceive();
        short cdata = apdu.getOffsetCdata();
        short total = apdu.getIncomingLength();
        short received = 0;
        sha.reset();
        while (got > 0) {
            sha.update(buf, cdata, got);
            received += got;
            got = apdu.receiveBytes(cdata);
        }
        Util.setShort(buf, (short) 0, total);
        Util.setShort(buf, (short) 2, cdata);
        Util.setShort(buf, (short) 4, received);
        sha.doFinal(buf, (short) 0, (short) 0, buf, (short) 6);
        apdu.setOutgoingAndSend((short) 0, (short) 38);
    }

    private void read(APDU apdu, short off) {
        short ne = apdu.setOutgoing();
        short left = (short) -off;   /* to the end of the object, for off above 32 768 */
        short n = ne;
        if (left > 0 && left < n) {
            n = left;
        }
        apdu.setOutgoingLength(n);
        short pos = 0;
        while (pos < n) {
            short k = (short) (n - pos);
            if (k > PIECE) {
                k = PIECE;
            }
            for (short j = 0; j < k; j++) {
                short i = (short) (off + pos + j);
                piece[j] = (byte) (i ^ (i >> 8));
            }
            apdu.sendBytesLong(piece, (short) 0, k);
            pos += k;   /* never past n: a short would wrap above 32 767 */
        }
    }
}
