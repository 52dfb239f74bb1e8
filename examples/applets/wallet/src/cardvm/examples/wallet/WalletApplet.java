/* wallet: an electronic purse with a PIN (docs/applets.md).
 *   80 20 00 00 Lc PIN     VERIFY: 9000, 63Cx (x tries left), 6983 blocked
 *   80 30 00 00 02 AMOUNT  CREDIT (PIN verified): answers the new balance
 *   80 40 00 00 02 AMOUNT  DEBIT (PIN verified): answers the new balance
 *   80 50 00 00 00         BALANCE
 * Errors: 6982 PIN not verified, 6700 wrong length, 6A83 amount not in
 * 1..1000, 6A84 balance would exceed 10000, 6A85 balance would go negative,
 * 6D00 unknown INS, 6E00 CLA not 80. install() takes the PIN (at most 8
 * bytes) from the application data of its install parameters. The PIN's
 * validated flag is transient: a reset or a deselect clears it. SELECT is
 * refused (6999) once the PIN is blocked. */
package cardvm.examples.wallet;

import javacard.framework.*;

public class WalletApplet extends Applet {
    static final byte CLA_WALLET = (byte) 0x80;
    static final byte INS_VERIFY = (byte) 0x20;
    static final byte INS_CREDIT = (byte) 0x30;
    static final byte INS_DEBIT = (byte) 0x40;
    static final byte INS_BALANCE = (byte) 0x50;
    static final short MAX_BALANCE = 10000;
    static final short MAX_AMOUNT = 1000;
    static final byte PIN_TRIES = 3;
    static final byte PIN_MAX = 8;
    static final short SW_WRONG_PIN = (short) 0x63C0;
    static final short SW_PIN_BLOCKED = (short) 0x6983;
    static final short SW_BAD_AMOUNT = (short) 0x6A83;
    static final short SW_EXCEED_MAXIMUM = (short) 0x6A84;
    static final short SW_NEGATIVE_BALANCE = (short) 0x6A85;

    private OwnerPIN pin;
    private short balance;

    private WalletApplet(byte[] bArray, short pinOffset, byte pinLength) {
        pin = new OwnerPIN(PIN_TRIES, PIN_MAX);
        pin.update(bArray, pinOffset, pinLength);
        register();
    }

    public static void install(byte[] bArray, short bOffset, byte bLength) {
        short at = (short) (bOffset + bArray[bOffset] + 1);   // past the instance AID
        at = (short) (at + bArray[at] + 1);                   // past the privileges
        new WalletApplet(bArray, (short) (at + 1), bArray[at]);
    }

    public boolean select() {
        return pin.getTriesRemaining() != 0;
    }

    public void deselect() {
        pin.reset();
    }

    public void process(APDU apdu) {
        if (selectingApplet()) {
            return;
        }
        byte[] buf = apdu.getBuffer();
        if (buf[ISO7816.OFFSET_CLA] != CLA_WALLET) {
            ISOException.throwIt(ISO7816.SW_CLA_NOT_SUPPORTED);
        }
        switch (buf[ISO7816.OFFSET_INS]) {
        case INS_VERIFY:
            if (!pin.check(buf, ISO7816.OFFSET_CDATA, (byte) apdu.setIncomingAndReceive())) {
                if (pin.getTriesRemaining() == 0) {
                    ISOException.throwIt(SW_PIN_BLOCKED);
                }
                ISOException.throwIt((short) (SW_WRONG_PIN | pin.getTriesRemaining()));
            }
            return;
        case INS_CREDIT:
            add(amount(apdu));
            break;
        case INS_DEBIT:
            add((short) -amount(apdu));
            break;
        case INS_BALANCE:
            break;
        default:
            ISOException.throwIt(ISO7816.SW_INS_NOT_SUPPORTED);
        }
        Util.setShort(buf, (short) 0, balance);
        apdu.setOutgoingAndSend((short) 0, (short) 2);
    }

    /* The amount of a CREDIT or DEBIT: PIN verified, 2 bytes, 1..MAX_AMOUNT. */
    private short amount(APDU apdu) {
        if (!pin.isValidated()) {
            ISOException.throwIt(ISO7816.SW_SECURITY_STATUS_NOT_SATISFIED);
        }
        if (apdu.setIncomingAndReceive() != 2) {
            ISOException.throwIt(ISO7816.SW_WRONG_LENGTH);
        }
        short amount = Util.getShort(apdu.getBuffer(), ISO7816.OFFSET_CDATA);
        if (amount <= 0 || amount > MAX_AMOUNT) {
            ISOException.throwIt(SW_BAD_AMOUNT);
        }
        return amount;
    }

    /* Change the balance by delta, within 0..MAX_BALANCE. */
    private void add(short delta) {
        short next = (short) (balance + delta);
        if (next > MAX_BALANCE) {
            ISOException.throwIt(SW_EXCEED_MAXIMUM);
        }
        if (next < 0) {
            ISOException.throwIt(SW_NEGATIVE_BALANCE);
        }
        JCSystem.beginTransaction();
        balance = next;
        JCSystem.commitTransaction();
    }
}
