/*
 * api_impl.h — the C implementations of the built-in Java Card API:
 * vm/api_lang.c (java.lang), api_framework.c (javacard.framework),
 * the crypto files of javacard.security and javacardx.crypto (listed in
 * api_crypto.h; the asymmetric half in api_asym.h), api_gc.c (the object
 * deletion service), api_loader.c (cardvm's own privileged cardvm.loader
 * package); javacardx.apdu
 * is one interface without methods. api_support.h is what they use of the
 * runtime. The generator (scripts/gen_api_tokens.py) binds a table entry
 * of vm/api_tokens.c to the function below whose name follows its rule
 * (api_<Class>_<method>[__<args>]); a method without one is not
 * implemented (fn NULL), and docs/cap-api.md lists them all.
 */
#ifndef CARDVM_VM_API_IMPL_H
#define CARDVM_VM_API_IMPL_H

#include <stdint.h>
#include "api_tokens.h"

/* Index of each built-in package in jc_api_packages[] (JC_API_EXC). */
enum jc_api_pkg_index {
    JC_PKG_LANG = 0,
    JC_PKG_FRAMEWORK = 1,
    JC_PKG_SECURITY = 2,
    JC_PKG_CRYPTO = 3,
    JC_PKG_APDU = 4,
};

/* Every implementation is a jc_api_fn (api_tokens.h): args[0..] the
 * argument words ("this" first), *ret the result word; returns 0, an
 * exception (JC_API_EXC) or < 0 fatal. Object state: see each file's
 * header. */
#define API_ARGS vm_runtime *rt, uint16_t *args, uint16_t *ret

/* java.lang (vm/api_lang.c) */
int api_Object_init(API_ARGS);
int api_Object_equals(API_ARGS);
int api_Throwable_init(API_ARGS);
int api_Exception_init(API_ARGS);
int api_RuntimeException_init(API_ARGS);
int api_IndexOutOfBoundsException_init(API_ARGS);
int api_ArrayIndexOutOfBoundsException_init(API_ARGS);
int api_NegativeArraySizeException_init(API_ARGS);
int api_NullPointerException_init(API_ARGS);
int api_ClassCastException_init(API_ARGS);
int api_ArithmeticException_init(API_ARGS);
int api_SecurityException_init(API_ARGS);
int api_ArrayStoreException_init(API_ARGS);

/* javacard.framework (vm/api_framework.c) */
int api_CardRuntimeException_init(API_ARGS);
int api_CardRuntimeException_getReason(API_ARGS);
int api_CardRuntimeException_setReason(API_ARGS);
int api_CardException_init(API_ARGS);
int api_CardException_getReason(API_ARGS);
int api_CardException_setReason(API_ARGS);
int api_UserException_init__v(API_ARGS);
int api_UserException_init__S(API_ARGS);
int api_ISOException_init(API_ARGS);
int api_ISOException_throwIt(API_ARGS);
int api_PINException_init(API_ARGS);
int api_PINException_throwIt(API_ARGS);
int api_APDUException_init(API_ARGS);
int api_APDUException_throwIt(API_ARGS);
int api_SystemException_init(API_ARGS);
int api_SystemException_throwIt(API_ARGS);
int api_TransactionException_init(API_ARGS);
int api_TransactionException_throwIt(API_ARGS);
int api_CryptoException_init(API_ARGS);
int api_CryptoException_throwIt(API_ARGS);
int api_CardRuntimeException_throwIt(API_ARGS);
int api_CardException_throwIt(API_ARGS);
int api_UserException_throwIt(API_ARGS);
int api_Applet_init(API_ARGS);
int api_Applet_install(API_ARGS);
int api_Applet_reSelectingApplet(API_ARGS);
int api_Applet_register__v(API_ARGS);
int api_Applet_register__aBSB(API_ARGS);
int api_Applet_selectingApplet(API_ARGS);
int api_Applet_select(API_ARGS);
int api_Applet_deselect(API_ARGS);
int api_Applet_getShareableInterfaceObject(API_ARGS);
int api_AID_init(API_ARGS);
int api_AID_equals__aBSB(API_ARGS);
int api_AID_partialEquals(API_ARGS);
int api_AID_equals__Object(API_ARGS);
int api_AID_RIDEquals(API_ARGS);
int api_AID_getBytes(API_ARGS);
int api_AID_getPartialBytes(API_ARGS);
int api_OwnerPIN_init(API_ARGS);
int api_OwnerPIN_check(API_ARGS);
int api_OwnerPIN_getTriesRemaining(API_ARGS);
int api_OwnerPIN_isValidated(API_ARGS);
int api_OwnerPIN_getValidatedFlag(API_ARGS);
int api_OwnerPIN_setValidatedFlag(API_ARGS);
int api_OwnerPIN_reset(API_ARGS);
int api_OwnerPIN_resetAndUnblock(API_ARGS);
int api_OwnerPIN_update(API_ARGS);
int api_OwnerPINBuilder_buildOwnerPIN(API_ARGS);
int api_OwnerPINxImpl_check(API_ARGS);
int api_OwnerPINxImpl_getTriesRemaining(API_ARGS);
int api_OwnerPINxImpl_isValidated(API_ARGS);
int api_OwnerPINxImpl_reset(API_ARGS);
int api_OwnerPINxImpl_update(API_ARGS);
int api_OwnerPINxImpl_getTryLimit(API_ARGS);
int api_OwnerPINxImpl_setTryLimit(API_ARGS);
int api_OwnerPINxImpl_setTriesRemaining(API_ARGS);
int api_OwnerPINxWithPredecrementImpl_check(API_ARGS);
int api_OwnerPINxWithPredecrementImpl_getTriesRemaining(API_ARGS);
int api_OwnerPINxWithPredecrementImpl_isValidated(API_ARGS);
int api_OwnerPINxWithPredecrementImpl_reset(API_ARGS);
int api_OwnerPINxWithPredecrementImpl_update(API_ARGS);
int api_OwnerPINxWithPredecrementImpl_getTryLimit(API_ARGS);
int api_OwnerPINxWithPredecrementImpl_setTryLimit(API_ARGS);
int api_OwnerPINxWithPredecrementImpl_setTriesRemaining(API_ARGS);
int api_OwnerPINxWithPredecrementImpl_decrementTriesRemaining(API_ARGS);
int api_SensitiveArrays_isIntegritySensitiveArraysSupported(API_ARGS);
int api_SensitiveArrays_isIntegritySensitive(API_ARGS);
int api_SensitiveArrays_makeIntegritySensitiveArray(API_ARGS);
int api_SensitiveArrays_assertIntegrity(API_ARGS);
int api_SensitiveArrays_clearArray(API_ARGS);
int api_Util_arrayCopy(API_ARGS);
int api_Util_arrayCopyNonAtomic(API_ARGS);
int api_Util_arrayCompare(API_ARGS);
int api_Util_arrayFill(API_ARGS);
int api_Util_arrayFillNonAtomic(API_ARGS);
int api_Util_getShort(API_ARGS);
int api_Util_setShort(API_ARGS);
int api_Util_makeShort(API_ARGS);
int api_JCSystem_getVersion(API_ARGS);
int api_JCSystem_isTransient(API_ARGS);
int api_JCSystem_makeTransientBooleanArray(API_ARGS);
int api_JCSystem_makeTransientByteArray(API_ARGS);
int api_JCSystem_makeTransientShortArray(API_ARGS);
int api_JCSystem_makeTransientObjectArray(API_ARGS);
int api_JCSystem_makeGlobalArray(API_ARGS);
int api_JCSystem_getAID(API_ARGS);
int api_JCSystem_lookupAID(API_ARGS);
int api_JCSystem_getPreviousContextAID(API_ARGS);
int api_JCSystem_getAppletShareableInterfaceObject(API_ARGS);
int api_JCSystem_isAppletActive(API_ARGS);
int api_JCSystem_getAssignedChannel(API_ARGS);
int api_JCSystem_beginTransaction(API_ARGS);
int api_JCSystem_commitTransaction(API_ARGS);
int api_JCSystem_abortTransaction(API_ARGS);
int api_JCSystem_getTransactionDepth(API_ARGS);
int api_JCSystem_getMaxCommitCapacity(API_ARGS);
int api_JCSystem_getUnusedCommitCapacity(API_ARGS);
int api_JCSystem_getAvailableMemory__B(API_ARGS);
int api_JCSystem_getAvailableMemory__aSSB(API_ARGS);
int api_JCSystem_isObjectDeletionSupported(API_ARGS);
int api_JCSystem_requestObjectDeletion(API_ARGS);
int api_APDU_getBuffer(API_ARGS);
int api_APDU_getNAD(API_ARGS);
int api_APDU_getCurrentState(API_ARGS);
int api_APDU_setIncomingAndReceive(API_ARGS);
int api_APDU_receiveBytes(API_ARGS);
int api_APDU_getIncomingLength(API_ARGS);
int api_APDU_getOffsetCdata(API_ARGS);
int api_APDU_setOutgoing(API_ARGS);
int api_APDU_setOutgoingNoChaining(API_ARGS);
int api_APDU_setOutgoingLength(API_ARGS);
int api_APDU_sendBytes(API_ARGS);
int api_APDU_sendBytesLong(API_ARGS);
int api_APDU_setOutgoingAndSend(API_ARGS);
int api_APDU_isCommandChainingCLA(API_ARGS);
int api_APDU_isSecureMessagingCLA(API_ARGS);
int api_APDU_isISOInterindustryCLA(API_ARGS);
int api_APDU_isValidCLA(API_ARGS);
int api_APDU_getInBlockSize(API_ARGS);
int api_APDU_getOutBlockSize(API_ARGS);
int api_APDU_getProtocol(API_ARGS);
int api_APDU_waitExtension(API_ARGS);
int api_APDU_getCLAChannel(API_ARGS);
int api_APDU_getCurrentAPDU(API_ARGS);
int api_APDU_getCurrentAPDUBuffer(API_ARGS);

/* javacard.security, javacardx.crypto (api_crypto.h lists the files) */
int api_KeyBuilder_buildKey__BSZ(API_ARGS);
int api_KeyBuilder_buildKey__BBSZ(API_ARGS);
int api_KeyBuilder_buildKeyWithSharedDomain(API_ARGS);
int api_AESKeyImpl_setKey(API_ARGS);
int api_AESKeyImpl_getKey(API_ARGS);
int api_AESKeyImpl_clearKey(API_ARGS);
int api_AESKeyImpl_isInitialized(API_ARGS);
int api_AESKeyImpl_getSize(API_ARGS);
int api_AESKeyImpl_getType(API_ARGS);
int api_DESKeyImpl_setKey(API_ARGS);
int api_DESKeyImpl_getKey(API_ARGS);
int api_DESKeyImpl_clearKey(API_ARGS);
int api_DESKeyImpl_isInitialized(API_ARGS);
int api_DESKeyImpl_getSize(API_ARGS);
int api_DESKeyImpl_getType(API_ARGS);
int api_HMACKeyImpl_setKey(API_ARGS);
int api_HMACKeyImpl_getKey(API_ARGS);
int api_HMACKeyImpl_clearKey(API_ARGS);
int api_HMACKeyImpl_isInitialized(API_ARGS);
int api_HMACKeyImpl_getSize(API_ARGS);
int api_HMACKeyImpl_getType(API_ARGS);
int api_Cipher_getInstance__BZ(API_ARGS);
int api_Cipher_getInstance__BBZ(API_ARGS);
int api_Cipher_init__KeyB(API_ARGS);
int api_Cipher_init__KeyBaBSS(API_ARGS);
int api_Cipher_update(API_ARGS);
int api_Cipher_doFinal(API_ARGS);
int api_Cipher_getAlgorithm(API_ARGS);
int api_Cipher_getCipherAlgorithm(API_ARGS);
int api_Cipher_getPaddingAlgorithm(API_ARGS);
int api_Cipher_OneShot_open(API_ARGS);
int api_Cipher_OneShot_close(API_ARGS);
int api_AEADCipher_init__KeyBaBSSSSS(API_ARGS);
int api_AEADCipher_updateAAD(API_ARGS);
int api_AEADCipher_retrieveTag(API_ARGS);
int api_AEADCipher_verifyTag(API_ARGS);
/* AEADCipher's cache of what GCM derives from a key (api_aead.c):
 * wiped and freed; vm_reset and vm_destroy call it */
void api_aead_cache_clear(vm_runtime *rt);
int api_Signature_getInstance__BZ(API_ARGS);
int api_Signature_getInstance__BBBZ(API_ARGS);
int api_Signature_init__KeyB(API_ARGS);
int api_Signature_init__KeyBaBSS(API_ARGS);
int api_Signature_update(API_ARGS);
int api_Signature_sign(API_ARGS);
int api_Signature_verify(API_ARGS);
int api_Signature_getAlgorithm(API_ARGS);
int api_Signature_getLength(API_ARGS);
int api_Signature_getMessageDigestAlgorithm(API_ARGS);
int api_Signature_getCipherAlgorithm(API_ARGS);
int api_Signature_getPaddingAlgorithm(API_ARGS);
int api_Signature_setInitialDigest(API_ARGS);
int api_Signature_signPreComputedHash(API_ARGS);
int api_Signature_verifyPreComputedHash(API_ARGS);
int api_Signature_OneShot_open(API_ARGS);
int api_Signature_OneShot_close(API_ARGS);
int api_MessageDigest_getInstance(API_ARGS);
int api_MessageDigest_getInitializedMessageDigestInstance(API_ARGS);
int api_MessageDigest_update(API_ARGS);
int api_MessageDigest_doFinal(API_ARGS);
int api_MessageDigest_reset(API_ARGS);
int api_MessageDigest_getLength(API_ARGS);
int api_MessageDigest_getAlgorithm(API_ARGS);
int api_MessageDigest_OneShot_open(API_ARGS);
int api_MessageDigest_OneShot_close(API_ARGS);
int api_InitializedMessageDigest_setInitialDigest(API_ARGS);
int api_InitializedMessageDigest_OneShot_open(API_ARGS);
int api_InitializedMessageDigest_OneShot_close(API_ARGS);
int api_RandomData_getInstance(API_ARGS);
int api_RandomData_generateData(API_ARGS);
int api_RandomData_nextBytes(API_ARGS);
int api_RandomData_setSeed(API_ARGS);
int api_RandomData_getAlgorithm(API_ARGS);
int api_RandomData_OneShot_open(API_ARGS);
int api_RandomData_OneShot_close(API_ARGS);
int api_Checksum_getInstance(API_ARGS);
int api_Checksum_init(API_ARGS);
int api_Checksum_getAlgorithm(API_ARGS);
int api_Checksum_update(API_ARGS);
int api_Checksum_doFinal(API_ARGS);

/* The asymmetric half (vm/api_asym.c, api_asym_key.c; api_asym.h) */
int api_KeyPair_init__BS(API_ARGS);
int api_KeyPair_init__PublicKeyPrivateKey(API_ARGS);
int api_KeyPair_genKeyPair(API_ARGS);
int api_KeyPair_getPublic(API_ARGS);
int api_KeyPair_getPrivate(API_ARGS);
int api_KeyAgreement_getInstance(API_ARGS);
int api_KeyAgreement_init(API_ARGS);
int api_KeyAgreement_getAlgorithm(API_ARGS);
int api_KeyAgreement_generateSecret(API_ARGS);
int api_RSAPublicKeyImpl_clearKey(API_ARGS);
int api_RSAPublicKeyImpl_isInitialized(API_ARGS);
int api_RSAPublicKeyImpl_getSize(API_ARGS);
int api_RSAPublicKeyImpl_getType(API_ARGS);
int api_RSAPublicKeyImpl_setModulus(API_ARGS);
int api_RSAPublicKeyImpl_setExponent(API_ARGS);
int api_RSAPublicKeyImpl_getModulus(API_ARGS);
int api_RSAPublicKeyImpl_getExponent(API_ARGS);
int api_RSAPrivateKeyImpl_clearKey(API_ARGS);
int api_RSAPrivateKeyImpl_isInitialized(API_ARGS);
int api_RSAPrivateKeyImpl_getSize(API_ARGS);
int api_RSAPrivateKeyImpl_getType(API_ARGS);
int api_RSAPrivateKeyImpl_setModulus(API_ARGS);
int api_RSAPrivateKeyImpl_setExponent(API_ARGS);
int api_RSAPrivateKeyImpl_getModulus(API_ARGS);
int api_RSAPrivateKeyImpl_getExponent(API_ARGS);
int api_RSAPrivateCrtKeyImpl_clearKey(API_ARGS);
int api_RSAPrivateCrtKeyImpl_isInitialized(API_ARGS);
int api_RSAPrivateCrtKeyImpl_getSize(API_ARGS);
int api_RSAPrivateCrtKeyImpl_getType(API_ARGS);
int api_RSAPrivateCrtKeyImpl_setP(API_ARGS);
int api_RSAPrivateCrtKeyImpl_setQ(API_ARGS);
int api_RSAPrivateCrtKeyImpl_setDP1(API_ARGS);
int api_RSAPrivateCrtKeyImpl_setDQ1(API_ARGS);
int api_RSAPrivateCrtKeyImpl_setPQ(API_ARGS);
int api_RSAPrivateCrtKeyImpl_getP(API_ARGS);
int api_RSAPrivateCrtKeyImpl_getQ(API_ARGS);
int api_RSAPrivateCrtKeyImpl_getDP1(API_ARGS);
int api_RSAPrivateCrtKeyImpl_getDQ1(API_ARGS);
int api_RSAPrivateCrtKeyImpl_getPQ(API_ARGS);
int api_ECPublicKeyImpl_clearKey(API_ARGS);
int api_ECPublicKeyImpl_isInitialized(API_ARGS);
int api_ECPublicKeyImpl_getSize(API_ARGS);
int api_ECPublicKeyImpl_getType(API_ARGS);
int api_ECPublicKeyImpl_setFieldFP(API_ARGS);
int api_ECPublicKeyImpl_setA(API_ARGS);
int api_ECPublicKeyImpl_setB(API_ARGS);
int api_ECPublicKeyImpl_setG(API_ARGS);
int api_ECPublicKeyImpl_setR(API_ARGS);
int api_ECPublicKeyImpl_getField(API_ARGS);
int api_ECPublicKeyImpl_getA(API_ARGS);
int api_ECPublicKeyImpl_getB(API_ARGS);
int api_ECPublicKeyImpl_getG(API_ARGS);
int api_ECPublicKeyImpl_getR(API_ARGS);
int api_ECPublicKeyImpl_setK(API_ARGS);
int api_ECPublicKeyImpl_getK(API_ARGS);
int api_ECPublicKeyImpl_setFieldF2M__S(API_ARGS);
int api_ECPublicKeyImpl_setFieldF2M__SSS(API_ARGS);
int api_ECPublicKeyImpl_copyDomainParametersFrom(API_ARGS);
int api_ECPublicKeyImpl_setW(API_ARGS);
int api_ECPublicKeyImpl_getW(API_ARGS);
int api_ECPrivateKeyImpl_clearKey(API_ARGS);
int api_ECPrivateKeyImpl_isInitialized(API_ARGS);
int api_ECPrivateKeyImpl_getSize(API_ARGS);
int api_ECPrivateKeyImpl_getType(API_ARGS);
int api_ECPrivateKeyImpl_setFieldFP(API_ARGS);
int api_ECPrivateKeyImpl_setA(API_ARGS);
int api_ECPrivateKeyImpl_setB(API_ARGS);
int api_ECPrivateKeyImpl_setG(API_ARGS);
int api_ECPrivateKeyImpl_setR(API_ARGS);
int api_ECPrivateKeyImpl_getField(API_ARGS);
int api_ECPrivateKeyImpl_getA(API_ARGS);
int api_ECPrivateKeyImpl_getB(API_ARGS);
int api_ECPrivateKeyImpl_getG(API_ARGS);
int api_ECPrivateKeyImpl_getR(API_ARGS);
int api_ECPrivateKeyImpl_setK(API_ARGS);
int api_ECPrivateKeyImpl_getK(API_ARGS);
int api_ECPrivateKeyImpl_setFieldF2M__S(API_ARGS);
int api_ECPrivateKeyImpl_setFieldF2M__SSS(API_ARGS);
int api_ECPrivateKeyImpl_copyDomainParametersFrom(API_ARGS);
int api_ECPrivateKeyImpl_setS(API_ARGS);
int api_ECPrivateKeyImpl_getS(API_ARGS);

/* cardvm.loader (vm/api_loader.c): the LOADER's privileged functions; each
 * forwards to the handler the LOADER plugged in (vm_set_extension), entry i
 * for method token i. */
int api_Loader_setVector(API_ARGS);
int api_Loader_loadBlock(API_ARGS);
int api_Loader_install(API_ARGS);
int api_Loader_putKeySet(API_ARGS);
int api_Loader_putCommonKey(API_ARGS);
int api_Loader_setSecurityDomain(API_ARGS);
#endif
