/* counter: a persistent counter changed under transactions (docs/applets.md).
 *   80 01 P1 00   add P1 (0..255) inside a transaction; answers the value
 *   80 02 00 00   answers the value (2 bytes, big-endian)
 *   80 03 00 00   adds 1, then aborts the transaction: the value stays
 *   80 04 00 00   adds 1 inside a transaction, then fails with 6A80 while it
 *                 is open: the card aborts it (JCRE 3.0.5 §7.6.2), the
 *                 value stays
 *   other INS     6D00 */
package cardvm.examples.counter;

import javacard.framework.*;

public class CounterApplet extends Applet {
    static final byte INS_ADD = (byte) 0x01;
    static final byte INS_GET = (byte) 0x02;
    static final byte INS_ADD_ABORT = (byte) 0x03;
    static final byte INS_ADD_FAIL = (byte) 0x04;

    private short value;

    private CounterApplet() {
        register();
    }

    public static void install(byte[] bArray, short bOffset, byte bLength) {
        new CounterApplet();
    }

    public void process(APDU apdu) {
        if (selectingApplet()) {
            return;
        }
        byte[] buf = apdu.getBuffer();
        switch (buf[ISO7816.OFFSET_INS]) {
        case INS_ADD:
            JCSystem.beginTransaction();
            value += (short) (buf[ISO7816.OFFSET_P1] & 0xFF);
            JCSystem.commitTransaction();
            break;
        case INS_GET:
            break;
        case INS_ADD_ABORT:
            JCSystem.beginTransaction();
            value++;
            JCSystem.abortTransaction();
            break;
        case INS_ADD_FAIL:
            JCSystem.beginTransaction();
            value++;
            ISOException.throwIt(ISO7816.SW_WRONG_DATA);
            break;
        default:
            ISOException.throwIt(ISO7816.SW_INS_NOT_SUPPORTED);
        }
        Util.setShort(buf, (short) 0, value);
        apdu.setOutgoingAndSend((short) 0, (short) 2);
    }
}
