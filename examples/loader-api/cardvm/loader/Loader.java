/*
 * Loader.java — the API of cardvm.loader, cardvm's LOADER package, as a
 * Java stub to compile customization software against with Oracle's Java
 * Card kit (examples/loader-api/README.md has the commands).
 *
 * Package AID F0 43 56 4D 4C 01 (RID F0 43 56 4D 4C: proprietary,
 * ISO/IEC 7816-5 category F, "CVML"), version 1.0. The card has the real
 * package in ROM (vm/loader_api.json, vm/api_loader.c, docs/loader.md); the
 * bodies here are never run. Only the customization software, which UNLOCK
 * loads, may import this package: the card refuses any other CAP that does
 * (6985), and the methods run only while a CUSTOMIZATION-mode command does
 * (else SecurityException).
 *
 * Every method takes its record as (buf, off, len), normally the APDU
 * buffer from ISO7816.OFFSET_CDATA, and reports a refusal by throwing
 * ISOException with the status word (which the customization software lets
 * through). Tokens: class Loader 0, methods in the order below, 0 to 5.
 */
package cardvm.loader;

public final class Loader {
    private Loader() {
    }

    /** SET VECTOR (seed 000 part 301): record slot, method (2: class token,
     *  static method token of an exported static void m(APDU)), AID length,
     *  AID. */
    public static void setVector(byte[] buf, short off, short len) {
    }

    /** One block of a package to load (302, 303); p1p2 = P1 << 8 | P2:
     *  P1 the block number, P2 0x80 on the last block. Block 0 starts with
     *  C4 and the load file's BER length. The package is verified and
     *  loaded when the command ends. */
    public static void loadBlock(byte[] buf, short off, short len, short p1p2) {
    }

    /** INSTALL: package AID, applet AID, instance AID, [install
     *  parameters], each a length byte then the bytes. Runs install() when
     *  the command ends. */
    public static void install(byte[] buf, short off, short len) {
    }

    /** PUT KEY SET: KVN, then the ENC, MAC and DEK key blocks (GP PUT KEY
     *  data, AES-CBC under the customization channel's DEK, with KCV). */
    public static void putKeySet(byte[] buf, short off, short len) {
    }

    /** PUT COMMON KEY: one key block under the channel's DEK; id 1 Kos,
     *  2 K-MAC (the broadcast keys, docs/broadcast.md). */
    public static void putCommonKey(byte[] buf, short off, short len, byte id) {
    }

    /** SET SECURITY DOMAIN: SCP03 i parameter, AID length, AID,
     *  [diversification data (10)]. */
    public static void setSecurityDomain(byte[] buf, short off, short len) {
    }
}
