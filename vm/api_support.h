/*
 * api_support.h — what the API implementations (vm/api_*.c) need from the
 * runtime, in one place: reaching objects and arrays with the firewall's
 * rules, reading and writing an API object's native slots, creating API
 * objects and arrays, and the exceptions they throw. The implementations
 * call nothing else of the runtime except the transaction functions and
 * the APDU state of vm_internal.h, so an engine change of the object model
 * is absorbed here.
 *
 * Firewall. The engine has checked `this` of a virtual call before the
 * implementation runs (an entry point object, or the caller's own), so
 * api_this() only checks null and kind. Array and object *arguments* are
 * checked here: the caller's context must own them, or they are global
 * (APDU buffer, install array, makeGlobalArray), or the caller is the JCRE
 * (context 0). A refused access throws SecurityException.
 *
 * Exceptions: every helper returns 0 or what the implementation must
 * return (JC_API_EXC(...), or < 0 for a fatal VM error).
 */
#ifndef CARDVM_VM_API_SUPPORT_H
#define CARDVM_VM_API_SUPPORT_H

#include <stdint.h>
#include "api_impl.h"
#include "vm_internal.h"

/* Class tokens the implementations throw or create (export-file facts). */
enum {
    JC_LANG_ArrayIndexOutOfBoundsException = 5,
    JC_LANG_NegativeArraySizeException = 6,
    JC_LANG_NullPointerException = 7,
    JC_LANG_ClassCastException = 8,
    JC_LANG_ArithmeticException = 9,
    JC_LANG_SecurityException = 10,
    JC_LANG_Object = 0,
    JC_FW_CardException = 4,
    JC_FW_CardRuntimeException = 5,
    JC_FW_AID = 6,
    JC_FW_ISOException = 7,
    JC_FW_OwnerPIN = 9,
    JC_FW_APDU = 10,
    JC_FW_PINException = 11,
    JC_FW_APDUException = 12,
    JC_FW_SystemException = 13,
    JC_FW_TransactionException = 14,
    JC_FW_UserException = 15,
    JC_SEC_MessageDigest = 11,
    JC_SEC_CryptoException = 12,
    JC_SEC_RandomData = 14,
    JC_SEC_Signature = 15,
    JC_SEC_AESKeyImpl = 34,
    JC_SEC_HMACKeyImpl = 35,
    JC_SEC_DESKeyImpl = 36,           /* hidden classes: gen_api_tokens.py HIDDEN order */
    JC_SEC_MessageDigest_OneShot = 30,
    JC_SEC_InitializedMessageDigest = 26,
    JC_SEC_Checksum = 21,
    JC_SEC_InitializedMessageDigest_OneShot = 31,
    JC_SEC_RandomData_OneShot = 32,
    JC_SEC_Signature_OneShot = 33,
    JC_CRYPTO_Cipher = 1,
    JC_CRYPTO_Cipher_OneShot = 2,
    JC_CRYPTO_AEADCipher = 3,
};

/* Reason codes (javacard.framework / javacard.security constants). */
enum {
    JC_SYS_ILLEGAL_VALUE = 1, JC_SYS_NO_TRANSIENT_SPACE = 2, JC_SYS_ILLEGAL_TRANSIENT = 3,
    JC_SYS_ILLEGAL_AID = 4, JC_SYS_NO_RESOURCE = 5, JC_SYS_ILLEGAL_USE = 6,
    JC_APDU_ILLEGAL_USE = 1, JC_APDU_BUFFER_BOUNDS = 2, JC_APDU_BAD_LENGTH = 3, JC_APDU_IO_ERROR = 4,
    JC_PIN_ILLEGAL_VALUE = 1, JC_PIN_ILLEGAL_STATE = 2,
    JC_CRYPTO_ILLEGAL_VALUE = 1, JC_CRYPTO_UNINITIALIZED_KEY = 2, JC_CRYPTO_NO_SUCH_ALGORITHM = 3,
    JC_CRYPTO_INVALID_INIT = 4, JC_CRYPTO_ILLEGAL_USE = 5,
};

#define API_NPE      JC_API_EXC(JC_PKG_LANG, JC_LANG_NullPointerException, 0)
#define API_AIOOBE   JC_API_EXC(JC_PKG_LANG, JC_LANG_ArrayIndexOutOfBoundsException, 0)
#define API_NEGSIZE  JC_API_EXC(JC_PKG_LANG, JC_LANG_NegativeArraySizeException, 0)
#define API_SECURITY JC_API_EXC(JC_PKG_LANG, JC_LANG_SecurityException, 0)
#define API_CLASSCAST JC_API_EXC(JC_PKG_LANG, JC_LANG_ClassCastException, 0)
#define API_SYSTEM(r) JC_API_EXC(JC_PKG_FRAMEWORK, JC_FW_SystemException, (r))
#define API_APDU(r)   JC_API_EXC(JC_PKG_FRAMEWORK, JC_FW_APDUException, (r))
#define API_PIN(r)    JC_API_EXC(JC_PKG_FRAMEWORK, JC_FW_PINException, (r))
#define API_ISO(sw)   JC_API_EXC(JC_PKG_FRAMEWORK, JC_FW_ISOException, (sw))
#define API_CRYPTO(r) JC_API_EXC(JC_PKG_SECURITY, JC_SEC_CryptoException, (r))

/* Run `expr` (an int helper call); return its result when not 0. */
#define API_TRY(expr) do { int api_rc_ = (expr); if (api_rc_) return api_rc_; } while (0)

/* The runtime class id of API class `token` of package `pkg`. */
uint16_t api_class_id(unsigned pkg, uint8_t token);
/* 1 if object o is an instance of that API class (exactly; API classes
 * the implementations create are never subclassed). */
int api_is_class(const vm_obj *o, unsigned pkg, uint8_t token);

/* `this` of a virtual call or constructor: null -> NullPointerException;
 * not an instance object -> SecurityException. */
int api_this(vm_runtime *rt, uint16_t h, vm_obj **out);
/* An object argument the caller must be able to reach (any kind). */
int api_object(vm_runtime *rt, uint16_t h, vm_obj **out);
/* A byte[] (or boolean[]) argument. */
int api_bytes(vm_runtime *rt, uint16_t h, vm_obj **out);
/* [off, off + len) inside array o (Java's signed shorts), else
 * ArrayIndexOutOfBoundsException. */
int api_range(const vm_obj *o, uint16_t off, uint16_t len);

/* Native slot i of an instance (16-bit, big-endian like every field). */
uint16_t api_slot(const vm_obj *o, unsigned i);
/* Write slot i; logged in an open transaction like any field write. */
int api_slot_set(vm_runtime *rt, vm_obj *o, unsigned i, uint16_t v);
/* Write bytes into an array, transaction-logged (atomic = 1, like a
 * bytecode store) or not (atomic = 0, the NonAtomic/crypto outputs). */
int api_store(vm_runtime *rt, vm_obj *o, uint32_t off, const void *src, uint32_t len, int logged);
/* Fill len bytes of o's data at off with value, unlogged (non-atomic). */
int api_fill(vm_runtime *rt, vm_obj *o, uint32_t off, uint8_t value, uint32_t len);

/* A new instance of API class (pkg, token) with its native slots zero,
 * owned by the current context (by the JCRE when jcre is 1). */
int api_new_instance(vm_runtime *rt, unsigned pkg, uint8_t token, int jcre, uint16_t *h);
/* A new array: kind VM_OBJ_BYTES/BOOLS/SHORTS/REFS; flags
 * VM_OF_PERSISTENT, VM_OF_CLEAR_RESET or VM_OF_CLEAR_DESELECT (| GLOBAL). */
int api_new_array(vm_runtime *rt, uint8_t kind, uint8_t flags, uint16_t length, int jcre, uint16_t *h);
/* An integrity-sensitive array (VM_OF_SENSITIVE, SensitiveArrays): as
 * api_new_array in the current context, with its CRC-16 after the data. */
int api_new_sensitive_array(vm_runtime *rt, uint8_t kind, uint8_t flags, uint16_t length, uint16_t *h);

/* The applet instance whose context is current (index in rt->insts), or
 * -1 (JCRE, or no instance yet: during install()). */
int api_current_instance(vm_runtime *rt);
/* The JCRE-owned AID object of instance `inst` (permanent entry point
 * object: created at first use, found again by its bytes). */
int api_instance_aid(vm_runtime *rt, int inst, uint16_t *h);
/* AID bytes of an AID object (its byte[] slot), or NULL. */
const uint8_t *api_aid_bytes(vm_runtime *rt, const vm_obj *aid, uint8_t *len);

/* Make what this command wrote so far durable now (chip_commit), for
 * the few writes the API must not let a power cut undo (the PIN try
 * counter). Outside a transaction and an install only: there, everything
 * written so far is already final in Java Card terms; inside one, an early
 * commit would persist half a transaction, so the write stays part of the
 * command's commit. 0, or < 0 (VM_ERR_POWER when the power was cut). */
int api_make_durable(vm_runtime *rt);

/* The object deletion service (api_gc.c): delete the objects of context
 * `owner` nothing can reach. A no-op inside a transaction or an install.
 * 0 and the count in *freed, or < 0 fatal. */
int api_collect_garbage(vm_runtime *rt, uint8_t owner, unsigned *freed);

/* Available bytes of a JCSystem.MEMORY_TYPE_* for the current context.
 * -1 for an unknown type. */
int64_t api_available_memory(vm_runtime *rt, uint8_t memory_type);

#endif
