/*
 * api_crypto.h — what the crypto half of the built-in API shares: the
 * javacard.security / javacardx.crypto constants (JC 3.0.5 values), the
 * family tables through which an algorithm family plugs in, and the
 * accessors of the card's key objects.
 *
 * Files: api_keys.c (KeyBuilder, the secret key classes), api_cipher.c
 * (Cipher and Cipher.OneShot: factories, getters, dispatch),
 * api_signature.c (Signature and Signature.OneShot, the same),
 * api_symmetric.c (the block cipher family: AES/DES modes and paddings,
 * and the block MACs), api_digest.c (MessageDigest, its OneShot, and the
 * HMAC signature family; InitializedMessageDigest), api_checksum.c
 * (Checksum CRC16/CRC32), api_random.c (RandomData), api_aead.c
 * (AEADCipher: AES GCM and CCM), api_security.c (the
 * factories of the families this card does not have); the asymmetric half
 * (RSA, EC, KeyPair, KeyAgreement) is api_asym.h's, plugged in by
 * api_asym_families.c.
 *
 * Plugging a family in (one line each):
 *   - keys: an api_key_family in api_key_families[] (api_keys.c); its
 *     claims() says which KeyBuilder.TYPE_* it builds. The 4-argument
 *     buildKey maps (ALG_TYPE_*, memory type) to TYPE_* first (spec table
 *     in api_keys.c), so a family sees TYPE_* only.
 *   - Cipher: an api_cipher_family in api_cipher_families[] (api_cipher.c);
 *     getInstance(cipherAlg, padAlg) and the getters use the spec's
 *     (ALG_*, CIPHER_*, PAD_*) table there, so a family sees ALG_* only.
 *   - Signature: an api_sig_family in api_sig_families[]
 *     (api_signature.c), with the same (ALG_*, MD, SIG_CIPHER, PAD) table.
 * A NULL operation answers CryptoException.ILLEGAL_USE.
 *
 * Object slots. Cipher and Signature (and their OneShot subclasses):
 *   [0] algorithm (ALG_*), [1] mode (0 = not initialized), [2] key handle,
 *   [3] ref of the family's state array, CLEAR_ON_RESET: the JC API has a
 *   tear or reset put an initialized object back to the state init() made
 *   with the same key and mode (slots 1 and 2 are persistent) and default
 *   values (zero IV, nothing pending: an all-zero state array), and keeps
 *   it across deselect; its updates are not transaction-logged ("shall not
 *   participate in the transaction").
 * The family's setup() creates [3]; the rest is common. An AEAD
 * algorithm's object is of class AEADCipher (api_aead.c), with the same
 * slots.
 */
#ifndef CARDVM_VM_API_CRYPTO_H
#define CARDVM_VM_API_CRYPTO_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <tomcrypt.h>

#include "api_support.h"

#define THIS(var) vm_obj *var; API_TRY(api_this(rt, a[0], &var))
#define BYTES(var, h) vm_obj *var; API_TRY(api_bytes(rt, (h), &var))
#define RANGE(o, off, len) API_TRY(api_range((o), (off), (len)))

#define NO_SUCH_ALGORITHM API_CRYPTO(JC_CRYPTO_NO_SUCH_ALGORITHM)
#define ILLEGAL_VALUE API_CRYPTO(JC_CRYPTO_ILLEGAL_VALUE)
#define ILLEGAL_USE API_CRYPTO(JC_CRYPTO_ILLEGAL_USE)
#define INVALID_INIT API_CRYPTO(JC_CRYPTO_INVALID_INIT)
#define UNINITIALIZED_KEY API_CRYPTO(JC_CRYPTO_UNINITIALIZED_KEY)

/* KeyBuilder.TYPE_*, ALG_TYPE_*; JCSystem.MEMORY_TYPE_* */
enum {
    KEY_TYPE_DES_TRANSIENT_RESET = 1, KEY_TYPE_DES_TRANSIENT_DESELECT = 2, KEY_TYPE_DES = 3,
    KEY_TYPE_AES_TRANSIENT_RESET = 13, KEY_TYPE_AES_TRANSIENT_DESELECT = 14, KEY_TYPE_AES = 15,
    KEY_TYPE_HMAC_TRANSIENT_RESET = 19, KEY_TYPE_HMAC_TRANSIENT_DESELECT = 20, KEY_TYPE_HMAC = 21,
    KEY_ALG_TYPE_DES = 1, KEY_ALG_TYPE_AES = 2, KEY_ALG_TYPE_HMAC = 9,
    MEMORY_TYPE_PERSISTENT = 0, MEMORY_TYPE_TRANSIENT_RESET = 1, MEMORY_TYPE_TRANSIENT_DESELECT = 2,
};

/* Cipher */
enum {
    ALG_DES_CBC_NOPAD = 1, ALG_DES_CBC_ISO9797_M1 = 2, ALG_DES_CBC_ISO9797_M2 = 3, ALG_DES_CBC_PKCS5 = 4,
    ALG_DES_ECB_NOPAD = 5, ALG_DES_ECB_ISO9797_M1 = 6, ALG_DES_ECB_ISO9797_M2 = 7, ALG_DES_ECB_PKCS5 = 8,
    ALG_AES_BLOCK_128_CBC_NOPAD = 13, ALG_AES_BLOCK_128_ECB_NOPAD = 14,
    ALG_AES_BLOCK_192_CBC_NOPAD = 18, ALG_AES_BLOCK_192_ECB_NOPAD = 19,
    ALG_AES_BLOCK_256_CBC_NOPAD = 20, ALG_AES_BLOCK_256_ECB_NOPAD = 21,
    ALG_AES_CBC_ISO9797_M1 = 22, ALG_AES_CBC_ISO9797_M2 = 23, ALG_AES_CBC_PKCS5 = 24,
    ALG_AES_ECB_ISO9797_M1 = 25, ALG_AES_ECB_ISO9797_M2 = 26, ALG_AES_ECB_PKCS5 = 27,
    ALG_AES_CTR = 0xF0,   /* -16 */
    ALG_AES_GCM = 0xF3, ALG_AES_CCM = 0xF4,                    /* AEADCipher, -13 and -12 */
    CIPHER_AES_GCM = 0xF1, CIPHER_AES_CCM = 0xF2,
    CIPHER_AES_CBC = 1, CIPHER_AES_ECB = 2, CIPHER_DES_CBC = 3, CIPHER_DES_ECB = 4, CIPHER_RSA = 7,
    CIPHER_AES_CTR = 0xF0,
    PAD_NULL = 0, PAD_NOPAD = 1, PAD_ISO9797_M1 = 2, PAD_ISO9797_M2 = 3, PAD_ISO9797_1_M1_ALG3 = 4,
    PAD_ISO9797_1_M2_ALG3 = 5, PAD_PKCS5 = 6, PAD_PKCS1 = 7, PAD_PKCS1_PSS = 8, PAD_PKCS1_OAEP = 9,
    MODE_DECRYPT = 1, MODE_ENCRYPT = 2,
};

/* Signature */
enum {
    SIG_ALG_DES_MAC4_NOPAD = 1, SIG_ALG_DES_MAC8_NOPAD = 2, SIG_ALG_DES_MAC4_ISO9797_M1 = 3,
    SIG_ALG_DES_MAC8_ISO9797_M1 = 4, SIG_ALG_DES_MAC4_ISO9797_M2 = 5, SIG_ALG_DES_MAC8_ISO9797_M2 = 6,
    SIG_ALG_DES_MAC4_PKCS5 = 7, SIG_ALG_DES_MAC8_PKCS5 = 8,
    SIG_ALG_AES_MAC_128_NOPAD = 18, SIG_ALG_DES_MAC4_ISO9797_1_M2_ALG3 = 19,
    SIG_ALG_DES_MAC8_ISO9797_1_M2_ALG3 = 20,
    SIG_ALG_HMAC_SHA1 = 24, SIG_ALG_HMAC_SHA_256 = 25, SIG_ALG_HMAC_SHA_384 = 26, SIG_ALG_HMAC_SHA_512 = 27,
    SIG_ALG_DES_MAC4_ISO9797_1_M1_ALG3 = 47, SIG_ALG_DES_MAC8_ISO9797_1_M1_ALG3 = 48,
    SIG_ALG_AES_CMAC_128 = 49,
    SIG_CIPHER_DES_MAC4 = 1, SIG_CIPHER_DES_MAC8 = 2, SIG_CIPHER_RSA = 3, SIG_CIPHER_DSA = 4,
    SIG_CIPHER_ECDSA = 5, SIG_CIPHER_AES_MAC128 = 6, SIG_CIPHER_HMAC = 7, SIG_CIPHER_AES_CMAC128 = 10,
    MODE_SIGN = 1, MODE_VERIFY = 2,
};

/* MessageDigest, RandomData */
enum {
    MD_ALG_NULL = 0, MD_ALG_SHA = 1, MD_ALG_SHA_256 = 4, MD_ALG_SHA_384 = 5, MD_ALG_SHA_512 = 6,
    MD_ALG_SHA_224 = 7,
    RND_ALG_PSEUDO_RANDOM = 1, RND_ALG_SECURE_RANDOM = 2, RND_ALG_TRNG = 3, RND_ALG_PRESEEDED_DRBG = 4,
    RND_ALG_FAST = 5, RND_ALG_KEYGENERATION = 6,
};

/* ---- families ---- */

typedef struct api_key_family {
    int (*claims)(uint8_t type);
    /* a new key of that type; `length` as given to buildKey (bits) */
    int (*build)(vm_runtime *rt, uint8_t type, int16_t length, uint16_t *ret);
} api_key_family;

/* Cipher operations get the argument words of the API method (a[0] the
 * Cipher object). init: with_params 0 for init(key, mode), 1 for
 * init(key, mode, buf, off, len). */
typedef struct api_cipher_family {
    int (*claims)(uint8_t alg);
    /* the state array of a new object (slot 3); jcre: owned by the JCRE */
    int (*setup)(vm_runtime *rt, vm_obj *self, uint8_t alg, int jcre);
    int (*init)(vm_runtime *rt, uint16_t *a, int with_params);
    int (*update)(vm_runtime *rt, uint16_t *a, uint16_t *ret);
    int (*do_final)(vm_runtime *rt, uint16_t *a, uint16_t *ret);
} api_cipher_family;

typedef struct api_sig_family {
    int (*claims)(uint8_t alg);
    int (*setup)(vm_runtime *rt, vm_obj *self, uint8_t alg, int jcre);
    int (*init)(vm_runtime *rt, uint16_t *a, int with_params);
    int (*update)(vm_runtime *rt, uint16_t *a);
    int (*sign)(vm_runtime *rt, uint16_t *a, uint16_t *ret);
    int (*verify)(vm_runtime *rt, uint16_t *a, uint16_t *ret);
    int (*length)(vm_runtime *rt, uint16_t *a, uint16_t *ret);
    int (*set_initial_digest)(vm_runtime *rt, uint16_t *a);                 /* may be NULL */
    int (*sign_precomputed)(vm_runtime *rt, uint16_t *a, uint16_t *ret);    /* may be NULL */
    int (*verify_precomputed)(vm_runtime *rt, uint16_t *a, uint16_t *ret);  /* may be NULL */
} api_sig_family;

/* The families (each defined in its own file). */
extern const api_key_family api_secret_key_family;      /* api_keys.c: DES, AES */
extern const api_key_family api_hmac_key_family;        /* api_keys.c */
extern const api_cipher_family api_block_cipher_family; /* api_symmetric.c */
extern const api_sig_family api_block_mac_family;       /* api_symmetric.c */
extern const api_sig_family api_hmac_sig_family;        /* api_digest.c */
extern const api_cipher_family api_aead_cipher_family;  /* api_aead.c: AES GCM, CCM */
/* the asymmetric half (api_asym_families.c; api_asym.h) */
extern const api_key_family api_asym_key_family;        /* RSA, EC_FP */
extern const api_cipher_family api_rsa_cipher_family;   /* RSA PKCS1, NOPAD, OAEP */
extern const api_sig_family api_asym_sig_family;        /* RSA PKCS#1 v1.5 / PSS, ECDSA */

/* ---- shared helpers ---- */

/* A state array of `len` bytes for slot 3 of a new Cipher/Signature. */
int api_crypto_state_new(vm_runtime *rt, vm_obj *self, uint16_t len, int jcre);
/* Slot 3's array, which must be `len` bytes. */
int api_crypto_state(vm_runtime *rt, const vm_obj *self, uint16_t len, vm_obj **st);

/* A secret key object (AES or DES) of class token `cls` (JC_SEC_AESKeyImpl
 * or JC_SEC_DESKeyImpl): null -> NullPointerException, another class ->
 * ILLEGAL_VALUE, not initialized -> UNINITIALIZED_KEY; else its bytes. */
int api_secret_key(vm_runtime *rt, uint16_t h, uint8_t cls, const uint8_t **key, uint16_t *len);
/* The same for an HMAC key (any length from 1 to its capacity). */
int api_hmac_key(vm_runtime *rt, uint16_t h, const uint8_t **key, uint16_t *len);

/* The OneShot classes (JC 3.0.5): open() hands out an object of class
 * (pkg, token) owned by the caller's context, reusing a closed one of the
 * same algorithm (slot open_slot: 1 while open), so an applet that opens
 * one per APDU does not use up memory; make() builds a new one. close()
 * frees it again (Cipher/Signature: also uninitialized, no key). */
typedef int (*api_oneshot_make)(vm_runtime *rt, uint8_t token, uint8_t alg, uint16_t *ret);
int api_oneshot_open(vm_runtime *rt, unsigned pkg, uint8_t token, uint8_t alg, unsigned open_slot,
                     api_oneshot_make make, uint16_t *ret);
int api_oneshot_close_keyed(vm_runtime *rt, uint16_t *a);

/* Wipe a secret: memset, then an empty asm that takes the pointer and
 * clobbers memory, so the compiler must assume the zeros are read and
 * cannot drop them as dead stores (explicit_bzero's guarantee). At
 * memset's speed, where libtomcrypt's zeromem writes byte by byte through
 * a volatile pointer: on the per-APDU crypto paths (a few hundred bytes
 * of key schedule, hash state and buffers a call) that loop cost as much
 * as the AES or SHA work on a 240-byte command. */
static inline void api_wipe(void *p, size_t n)
{
    memset(p, 0, n);
    __asm__ __volatile__("" : : "r"(p) : "memory");
}

/* Constant-time equality of n bytes: 1 equal, 0 not. */
int api_ct_equal(const uint8_t *x, const uint8_t *y, unsigned n);

/* libtomcrypt descriptor indexes (registered at first use). */
int api_aes_index(void);
int api_des_index(void);
int api_des3_index(void);

/* MessageDigest algorithms and their state, serialised big-endian into
 * a byte array of MD_STATE_SIZE (api_digest.c; HMAC uses it too). */
enum { MD_STATE_SIZE = 202 };
typedef struct md_algo {
    uint8_t alg;
    uint8_t out_len;        /* digest bytes */
    uint8_t words;          /* chaining words kept */
    uint8_t wide;           /* 64-bit words and 128-byte blocks */
    const struct ltc_hash_descriptor *desc;
} md_algo;
const md_algo *api_md_find(uint8_t alg);
/* libtomcrypt state <-> array (a state array whose started flag is 0
 * loads as a fresh hash) */
void api_md_load(const md_algo *m, const uint8_t *p, hash_state *md);
void api_md_save(const md_algo *m, const hash_state *md, uint8_t *p);
/* setInitialDigest(buf, off, len, lenBuf, lenOff, lenLen) (a[1..6]) as a
 * serialised state into p[MD_STATE_SIZE]: the intermediate hash value
 * (the algorithm's whole chaining state, big-endian words: 20 bytes for
 * SHA-1, 32 for SHA-224/256, 64 for SHA-384/512) after the message's
 * first lenBuf bytes (big-endian, up to 8 bytes, a multiple of the block
 * size). 0 or CryptoException.ILLEGAL_VALUE (or the array exceptions). */
int api_md_initial_state(vm_runtime *rt, const md_algo *m, const uint16_t *a, uint8_t *p);

#endif
