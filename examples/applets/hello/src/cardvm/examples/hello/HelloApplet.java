/* hello: the smallest useful applet (docs/applets.md).
 *   SELECT        9000
 *   00 10 00 00   "Hello, card!" (or its first Le bytes)
 *   other INS     6D00 (ISO7816.SW_INS_NOT_SUPPORTED)
 *   CLA with bits other than the logical channel and secure messaging ones
 *                 6E00 (ISO7816.SW_CLA_NOT_SUPPORTED) */
package cardvm.examples.hello;

import javacard.framework.*;

public class HelloApplet extends Applet {
    static final byte INS_HELLO = (byte) 0x10;

    private static final byte[] GREETING = { 'H', 'e', 'l', 'l', 'o', ',', ' ', 'c', 'a', 'r', 'd', '!' };

    private HelloApplet() {
        register();
    }

    public static void install(byte[] bArray, short bOffset, byte bLength) {
        new HelloApplet();
    }

    public void process(APDU apdu) {
        if (selectingApplet()) {
            return;
        }
        byte[] buf = apdu.getBuffer();
        if ((buf[ISO7816.OFFSET_CLA] & 0x7C) != 0) {
            ISOException.throwIt(ISO7816.SW_CLA_NOT_SUPPORTED);
        }
        if (buf[ISO7816.OFFSET_INS] != INS_HELLO) {
            ISOException.throwIt(ISO7816.SW_INS_NOT_SUPPORTED);
        }
        short le = apdu.setOutgoing();
        if (le > (short) GREETING.length) {
            le = (short) GREETING.length;
        }
        apdu.setOutgoingLength(le);
        apdu.sendBytesLong(GREETING, (short) 0, le);
    }
}
