/* fwkit: the javacard.framework 3.0.5 additions, driven by ctest
 * framework_applet (test/applets/test_fwkit.py).
 *
 *   SELECT         answers what select() and deselect() saw: reSelectingApplet()
 *                  in the last select() (1), in the last deselect() (1), the
 *                  number of deselect() calls since reset (1), and
 *                  reSelectingApplet() in this process() (1)
 *   80 10 P1 P2    sens[P2] = P1 (a bytecode store into an integrity-sensitive
 *                  CLEAR_ON_RESET byte[8]), assertIntegrity(sens); answers
 *                  sens (8), isIntegritySensitive(sens), isIntegritySensitiveArraysSupported()
 *   80 11          clearArray(sens) (2), then sens (8)
 *   80 20 data     update() of both PINs
 *   80 21          pin.decrementTriesRemaining() (1)
 *   80 22 data     pin.check(data) (1), getTriesRemaining() (1), isValidated() (1);
 *                  a PINException becomes 69xx, xx its reason
 *   80 30 P1 P2    pinx.setTryLimit(P1), pinx.setTriesRemaining(P2); answers
 *                  getTryLimit(), getTriesRemaining()
 *   80 31 data     pinx.check(data), getTriesRemaining(), isValidated()
 * pin: OwnerPINBuilder OWNER_PIN_X_WITH_PREDECREMENT, try limit 3;
 * pinx: OWNER_PIN_X, try limit 2; both at most 8 bytes. */
package cardvm.test.fwkit;

import javacard.framework.*;

public class FwKitApplet extends Applet {
    private final byte[] seen;
    private final byte[] sens;
    private final OwnerPINxWithPredecrement pin;
    private final OwnerPINx pinx;

    private FwKitApplet() {
        seen = JCSystem.makeTransientByteArray((short) 3, JCSystem.CLEAR_ON_RESET);
        sens = (byte[]) SensitiveArrays.makeIntegritySensitiveArray(JCSystem.ARRAY_TYPE_BYTE,
                JCSystem.MEMORY_TYPE_TRANSIENT_RESET, (short) 8);
        pin = (OwnerPINxWithPredecrement) OwnerPINBuilder.buildOwnerPIN((byte) 3, (byte) 8,
                OwnerPINBuilder.OWNER_PIN_X_WITH_PREDECREMENT);
        pinx = (OwnerPINx) OwnerPINBuilder.buildOwnerPIN((byte) 2, (byte) 8, OwnerPINBuilder.OWNER_PIN_X);
        register();
    }

    public static void install(byte[] bArray, short bOffset, byte bLength) {
        new FwKitApplet();
    }

    public boolean select() {
        seen[0] = (byte) (reSelectingApplet() ? 1 : 0);
        return true;
    }

    public void deselect() {
        seen[1] = (byte) (reSelectingApplet() ? 1 : 0);
        seen[2] = (byte) (seen[2] + 1);
    }

    public void process(APDU apdu) {
        byte[] buf = apdu.getBuffer();
        if (selectingApplet()) {
            buf[0] = seen[0];
            buf[1] = seen[1];
            buf[2] = seen[2];
            buf[3] = (byte) (reSelectingApplet() ? 1 : 0);
            apdu.setOutgoingAndSend((short) 0, (short) 4);
            return;
        }
        short n;
        switch (buf[ISO7816.OFFSET_INS]) {
        case 0x10:
            sens[buf[ISO7816.OFFSET_P2]] = buf[ISO7816.OFFSET_P1];
            SensitiveArrays.assertIntegrity(sens);
            Util.arrayCopyNonAtomic(sens, (short) 0, buf, (short) 0, (short) 8);
            buf[8] = (byte) (SensitiveArrays.isIntegritySensitive(sens) ? 1 : 0);
            buf[9] = (byte) (SensitiveArrays.isIntegritySensitiveArraysSupported() ? 1 : 0);
            apdu.setOutgoingAndSend((short) 0, (short) 10);
            return;
        case 0x11:
            Util.setShort(buf, (short) 0, SensitiveArrays.clearArray(sens));
            Util.arrayCopyNonAtomic(sens, (short) 0, buf, (short) 2, (short) 8);
            apdu.setOutgoingAndSend((short) 0, (short) 10);
            return;
        case 0x20:
            n = apdu.setIncomingAndReceive();
            pin.update(buf, ISO7816.OFFSET_CDATA, (byte) n);
            pinx.update(buf, ISO7816.OFFSET_CDATA, (byte) n);
            return;
        case 0x21:
            buf[0] = pin.decrementTriesRemaining();
            apdu.setOutgoingAndSend((short) 0, (short) 1);
            return;
        case 0x22:
            n = apdu.setIncomingAndReceive();
            try {
                buf[0] = (byte) (pin.check(buf, ISO7816.OFFSET_CDATA, (byte) n) ? 1 : 0);
            } catch (PINException e) {
                ISOException.throwIt((short) (0x6900 | e.getReason()));
            }
            buf[1] = pin.getTriesRemaining();
            buf[2] = (byte) (pin.isValidated() ? 1 : 0);
            apdu.setOutgoingAndSend((short) 0, (short) 3);
            return;
        case 0x30:
            pinx.setTryLimit(buf[ISO7816.OFFSET_P1]);
            pinx.setTriesRemaining(buf[ISO7816.OFFSET_P2]);
            buf[0] = pinx.getTryLimit();
            buf[1] = pinx.getTriesRemaining();
            apdu.setOutgoingAndSend((short) 0, (short) 2);
            return;
        case 0x31:
            n = apdu.setIncomingAndReceive();
            buf[0] = (byte) (pinx.check(buf, ISO7816.OFFSET_CDATA, (byte) n) ? 1 : 0);
            buf[1] = pinx.getTriesRemaining();
            buf[2] = (byte) (pinx.isValidated() ? 1 : 0);
            apdu.setOutgoingAndSend((short) 0, (short) 3);
            return;
        default:
            ISOException.throwIt(ISO7816.SW_INS_NOT_SUPPORTED);
        }
    }
}
