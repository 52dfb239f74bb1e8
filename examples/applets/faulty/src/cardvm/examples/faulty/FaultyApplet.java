/* The debugging example of docs/applets.md: three bugs, each of which the
 * card answers with a plain status word, and `cardvm --trace` explains.
 *   INS 10  answer table[P1] (1 byte): P1 4 and above is past the table's
 *           end -> ArrayIndexOutOfBoundsException in pick(), SW 6F00
 *   INS 20  spin(): a loop that never ends -> the bytecode budget, SW 6F00
 *   other   ISOException 6D00 (ISO7816.SW_INS_NOT_SUPPORTED)
 * install() takes the table's size from the install parameters'
 * application data (one byte); without it, it reads past the parameters. */
package cardvm.examples.faulty;

import javacard.framework.*;

public class FaultyApplet extends Applet {
    static final byte INS_PICK = (byte) 0x10;
    static final byte INS_SPIN = (byte) 0x20;

    private byte[] table;

    private FaultyApplet(byte size) {
        table = new byte[size];
        register();
    }

    public static void install(byte[] bArray, short bOffset, byte bLength) {
        short at = (short) (bOffset + bArray[bOffset] + 1);   // past the instance AID
        at = (short) (at + bArray[at] + 1);                   // past the privileges
        new FaultyApplet(bArray[(short) (at + 1)]);           // application data[0]
    }

    public void process(APDU apdu) {
        if (selectingApplet()) {
            return;
        }
        byte[] buf = apdu.getBuffer();
        switch (buf[ISO7816.OFFSET_INS]) {
        case INS_PICK:
            buf[0] = pick(buf[ISO7816.OFFSET_P1]);
            apdu.setOutgoingAndSend((short) 0, (short) 1);
            return;
        case INS_SPIN:
            spin();
            return;
        default:
            ISOException.throwIt(ISO7816.SW_INS_NOT_SUPPORTED);
        }
    }

    private byte pick(byte index) {
        return table[index];
    }

    private void spin() {
        short n = 0;
        while (true) {
            n++;
        }
    }
}
