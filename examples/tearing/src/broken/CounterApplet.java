/* examples/tearing, BROKEN: INC updates counter and history[0..1] WITHOUT a
 * transaction; COMPARE reads history[0..]. Lines match the CAP's Debug component. */
package capwork.counter;

import javacard.framework.*;

public class CounterApplet extends Applet {
    static final byte INS_INC      = (byte) 0x10;
    static final byte INS_GET      = (byte) 0x11;
    static final byte INS_ABORT    = (byte) 0x12;
    static final byte INS_COPY     = (byte) 0x13;
    static final byte INS_COMPARE  = (byte) 0x14;
    static final byte INS_NESTED   = (byte) 0x15;
    static final byte INS_DIV      = (byte) 0x16;
    static final byte INS_TRANSIENT = (byte) 0x17;

    private short counter;
    private byte[] history;   // persistent
    private byte[] scratch;   // transient, CLEAR_ON_DESELECT
    private short[] tshorts;  // transient, CLEAR_ON_RESET
    private static short installs;

    private CounterApplet(byte[] bArray, short bOffset, byte bLength) {
        history = new byte[32];
        scratch = JCSystem.makeTransientByteArray((short) 32, JCSystem.CLEAR_ON_DESELECT);
        tshorts = JCSystem.makeTransientShortArray((short) 4, JCSystem.CLEAR_ON_RESET);
        installs++;
        byte aidLen = bArray[bOffset];
        if (aidLen == 0) {
            register();
        } else {
            register(bArray, (short) (bOffset + 1), aidLen);
        }
    }

    public static void install(byte[] bArray, short bOffset, byte bLength) {
        new CounterApplet(bArray, bOffset, bLength);
    }

    public void process(APDU apdu) {
        if (selectingApplet()) {
            return;
        }
        byte[] buf = apdu.getBuffer();
        short len;
        switch (buf[ISO7816.OFFSET_INS]) {
        case INS_INC:
            // BROKEN: no JCSystem.beginTransaction() here,
            counter++;                                      // persistent update 1
            Util.setShort(history, (short) 0, counter);     // persistent update 2
            // and no JCSystem.commitTransaction() here
            Util.setShort(buf, (short) 0, counter);
            apdu.setOutgoingAndSend((short) 0, (short) 2);
            return;
        case INS_GET:
            Util.setShort(buf, (short) 0, counter);
            Util.setShort(buf, (short) 2, installs);
            Util.setShort(buf, (short) 4, tshorts[0]);
            apdu.setOutgoingAndSend((short) 0, (short) 6);
            return;
        case INS_ABORT:
            JCSystem.beginTransaction();
            counter += (short) 100;
            history[1] = (byte) 0x55;
            JCSystem.abortTransaction();
            Util.setShort(buf, (short) 0, counter);
            apdu.setOutgoingAndSend((short) 0, (short) 2);
            return;
        case INS_COPY:
            len = apdu.setIncomingAndReceive();
            if (len > (short) 30) {
                ISOException.throwIt(ISO7816.SW_WRONG_LENGTH);
            }
            JCSystem.beginTransaction();
            Util.arrayCopy(buf, ISO7816.OFFSET_CDATA, history, (short) 2, len);
            JCSystem.commitTransaction();
            Util.arrayCopyNonAtomic(buf, ISO7816.OFFSET_CDATA, scratch, (short) 0, len);
            return;
        case INS_COMPARE:
            len = apdu.setIncomingAndReceive();
            if (len > (short) 30) {
                ISOException.throwIt(ISO7816.SW_WRONG_LENGTH);
            }
            buf[0] = Util.arrayCompare(buf, ISO7816.OFFSET_CDATA, history, (short) 0, len);
            buf[1] = Util.arrayCompare(scratch, (short) 0, history, (short) 2, len);
            apdu.setOutgoingAndSend((short) 0, (short) 2);
            return;
        case INS_NESTED:
            short reason = 0;
            JCSystem.beginTransaction();
            try {
                JCSystem.beginTransaction();
            } catch (TransactionException e) {
                reason = e.getReason();
            } finally {
                JCSystem.abortTransaction();
            }
            Util.setShort(buf, (short) 0, reason);
            buf[2] = JCSystem.getTransactionDepth();
            apdu.setOutgoingAndSend((short) 0, (short) 3);
            return;
        case INS_DIV:
            short q;
            try {
                q = (short) (counter / buf[ISO7816.OFFSET_P2]);
            } catch (ArithmeticException e) {
                q = (short) -1;
            }
            try {
                buf[(short) (buf[ISO7816.OFFSET_P1] & 0xFF)] = 1;
            } catch (ArrayIndexOutOfBoundsException e) {
                q ^= (short) 0x4000;
            }
            Util.setShort(buf, (short) 0, q);
            apdu.setOutgoingAndSend((short) 0, (short) 2);
            return;
        case INS_TRANSIENT:
            tshorts[0]++;
            scratch[31]++;
            Util.arrayFillNonAtomic(buf, (short) 0, (short) 4, (byte) 0);
            buf[0] = JCSystem.isTransient(scratch);
            buf[1] = JCSystem.isTransient(history);
            buf[2] = scratch[31];
            apdu.setOutgoingAndSend((short) 0, (short) 4);
            return;
        default:
            ISOException.throwIt(ISO7816.SW_INS_NOT_SUPPORTED);
        }
    }
}
