/*
 * Customization.java — the customization software of seed 000 (part 300)
 * as Java source: the same code as custom.jca beside it, which the build
 * assembles. To build it with Oracle's kit, compile against the kit's
 * api_classic.jar and examples/loader-api/ and convert with the export
 * file of cardvm.loader (examples/loader-api/README.md).
 *
 * Package cardvm.customization, AID A0 00 00 06 99 02 00, version 1.0; a
 * library (no applet): the LOADER calls the exported process(APDU) (class
 * token 0, method token 0) for every customization command.
 */
package cardvm.customization;

import cardvm.loader.Loader;
import javacard.framework.APDU;
import javacard.framework.ISO7816;
import javacard.framework.ISOException;
import javacard.framework.Util;

public final class Customization {
    private Customization() {
    }

    public static void process(APDU apdu) {
        byte[] buf = apdu.getBuffer();
        if ((short) (buf[ISO7816.OFFSET_CLA] & 0xFF) != (short) 0x80)
            ISOException.throwIt(ISO7816.SW_CLA_NOT_SUPPORTED);
        short lc = apdu.setIncomingAndReceive();
        short ins = buf[ISO7816.OFFSET_INS];
        switch (ins) {
        case 0x30:
            Loader.setVector(buf, ISO7816.OFFSET_CDATA, lc);
            return;
        case 0x32:
            Loader.loadBlock(buf, ISO7816.OFFSET_CDATA, lc,
                             Util.makeShort(buf[ISO7816.OFFSET_P1], buf[ISO7816.OFFSET_P2]));
            return;
        case 0x34:
            Loader.install(buf, ISO7816.OFFSET_CDATA, lc);
            return;
        case 0x36:
            Loader.putKeySet(buf, ISO7816.OFFSET_CDATA, lc);
            return;
        case 0x38:
            Loader.putCommonKey(buf, ISO7816.OFFSET_CDATA, lc, buf[ISO7816.OFFSET_P1]);
            return;
        case 0x3A:
            Loader.setSecurityDomain(buf, ISO7816.OFFSET_CDATA, lc);
            return;
        default:
            ISOException.throwIt(ISO7816.SW_INS_NOT_SUPPORTED);
        }
    }
}
