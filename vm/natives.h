/*
 * natives.h — the native API token table (reached by `invokestatic` of a
 * NATIVE constant pool entry). The same table is printed in docs/vm.md.
 *
 *   X(id, "Class.method", token, argument words, returns)
 *
 * `returns` is 0 for void, 1 for one word (short, byte, boolean or
 * reference). References to arrays must be reachable from the caller's
 * firewall context (own package, or a global array such as the APDU buffer);
 * otherwise the call throws SecurityException. Tokens 0x8000..0x80FF are the
 * embedder's privileged extension (vm.h, vm_extension), not listed here.
 */
#ifndef CARDVM_VM_NATIVES_H
#define CARDVM_VM_NATIVES_H

#include <stddef.h>
#include <stdint.h>

#define VM_NATIVES(X)                                                          \
    /* javacard.framework.APDU (first argument: the APDU object) */           \
    X(apdu_getBuffer,            "APDU.getBuffer",              0x0000, 1, 1)  \
    X(apdu_setIncomingAndReceive,"APDU.setIncomingAndReceive",  0x0001, 1, 1)  \
    X(apdu_setOutgoingAndSend,   "APDU.setOutgoingAndSend",     0x0002, 3, 0)  \
    X(apdu_setOutgoing,          "APDU.setOutgoing",            0x0003, 1, 1)  \
    X(apdu_setOutgoingLength,    "APDU.setOutgoingLength",      0x0004, 2, 0)  \
    X(apdu_sendBytes,            "APDU.sendBytes",              0x0005, 3, 0)  \
    X(apdu_sendBytesLong,        "APDU.sendBytesLong",          0x0006, 4, 0)  \
    X(apdu_getIncomingLength,    "APDU.getIncomingLength",      0x0007, 1, 1)  \
    /* javacard.framework.Applet */                                           \
    X(applet_register,           "Applet.register",             0x0100, 1, 0)  \
    X(applet_selectingApplet,    "Applet.selectingApplet",      0x0101, 0, 1)  \
    /* javacard.framework.Util */                                             \
    X(util_arrayCopy,            "Util.arrayCopy",              0x0200, 5, 1)  \
    X(util_arrayCopyNonAtomic,   "Util.arrayCopyNonAtomic",     0x0201, 5, 1)  \
    X(util_arrayCompare,         "Util.arrayCompare",           0x0202, 5, 1)  \
    X(util_arrayFillNonAtomic,   "Util.arrayFillNonAtomic",     0x0203, 4, 1)  \
    X(util_getShort,             "Util.getShort",               0x0204, 2, 1)  \
    X(util_setShort,             "Util.setShort",               0x0205, 3, 1)  \
    X(util_makeShort,            "Util.makeShort",              0x0206, 2, 1)  \
    /* javacard.framework.JCSystem */                                         \
    X(jc_beginTransaction,       "JCSystem.beginTransaction",   0x0300, 0, 0)  \
    X(jc_commitTransaction,      "JCSystem.commitTransaction",  0x0301, 0, 0)  \
    X(jc_abortTransaction,       "JCSystem.abortTransaction",   0x0302, 0, 0)  \
    X(jc_getTransactionDepth,    "JCSystem.getTransactionDepth",0x0303, 0, 1)  \
    X(jc_makeTransientByteArray, "JCSystem.makeTransientByteArray", 0x0304, 2, 1) \
    X(jc_makeTransientShortArray,"JCSystem.makeTransientShortArray",0x0305, 2, 1) \
    X(jc_getAvailableMemory,     "JCSystem.getAvailableMemory", 0x0306, 1, 1)  \
    X(jc_isTransient,            "JCSystem.isTransient",        0x0307, 1, 1)  \
    /* exceptions */                                                          \
    X(iso_throwIt,               "ISOException.throwIt",        0x0400, 1, 0)  \
    X(cre_getReason,             "CardRuntimeException.getReason", 0x0401, 1, 1) \
    /* javacard.framework.OwnerPIN (first argument: the PIN object) */        \
    X(pin_new,                   "OwnerPIN.new",                0x0500, 2, 1)  \
    X(pin_check,                 "OwnerPIN.check",              0x0501, 4, 1)  \
    X(pin_isValidated,           "OwnerPIN.isValidated",        0x0502, 1, 1)  \
    X(pin_reset,                 "OwnerPIN.reset",              0x0503, 1, 0)  \
    X(pin_update,                "OwnerPIN.update",             0x0504, 4, 0)  \
    X(pin_getTriesRemaining,     "OwnerPIN.getTriesRemaining",  0x0505, 1, 1)  \
    X(pin_resetAndUnblock,       "OwnerPIN.resetAndUnblock",    0x0506, 1, 0)  \
    /* crypto (libtomcrypt) */                                                \
    X(aes_ecb,                   "Crypto.aesEcb",               0x0600, 9, 1)  \
    X(aes_cbc,                   "Crypto.aesCbc",               0x0601, 11, 1) \
    X(sha256,                    "Crypto.sha256",               0x0602, 5, 1)  \
    X(aes_cmac,                  "Crypto.aesCmac",              0x0603, 8, 1)  \
    X(random,                    "Crypto.random",               0x0604, 3, 0)

#define VM_EXT_TOKEN_FIRST 0x8000u
#define VM_EXT_TOKEN_LAST  0x80FFu

/* Look up a built-in native by token: 0 and fills nargs/returns/name, or -1. */
int vm_native_lookup(uint16_t token, uint8_t *nargs, uint8_t *returns, const char **name);
/* Look up by name ("Util.arrayCopy"): token or -1. */
int vm_native_by_name(const char *name, size_t len);

#endif
