/*
 * api_asym.h — the asymmetric half of javacard.security / javacardx.crypto
 * (RSA and EC_FP keys, Cipher RSA, Signature RSA and ECDSA, KeyPair,
 * KeyAgreement), over libtomcrypt and the big-number library libtomcrypt
 * is built with. Files:
 *   api_asym_key.c  the key objects (RSA public/private/CRT, EC_FP
 *                   public/private): components, their length checks,
 *                   clearing, building them
 *   api_rsa.c       the RSA primitive, Cipher ALG_RSA_*, the RSA signature
 *                   encodings, RSA key generation
 *   api_ec.c        curves, ECDSA, ECDH (KeyAgreement), EC key generation
 *   api_ec_point.c  point arithmetic for curves whose A is not -3
 *                   (api_ec_point.h), which libtomcrypt's does not do
 *   api_asym.c      the Cipher operations, the Signature engine shared by
 *                   RSA and ECDSA (message digest, sign/verify, precomputed
 *                   hash), KeyPair, KeyAgreement
 *   api_asym_families.c  the families below in the shared tables of
 *                   api_crypto.h: KeyBuilder, Cipher and Signature (their
 *                   factories, algorithm tables, getters and dispatch)
 *                   serve both halves
 *
 * Object state (native slots; arrays so transactions, transient clearing
 * and power cuts treat it like applet data):
 *   RSA/EC key    [0] KeyBuilder.TYPE_*, [1] size in bits, [2] ref
 *   (hidden       byte[] persistent components, [3] ref byte[] secret
 *   classes)      components (memory type of the key type; 0 if none).
 *                 Each component is u16 length (0 = not set) + capacity
 *                 bytes; see api_asym_key.c for which goes where.
 *   Cipher (RSA)  [0] algorithm, [1] mode (0 = not initialized), [2] key
 *   Signature     [0] algorithm, [1] mode, [2] key, [3] ref
 *   (RSA, ECDSA)  CLEAR_ON_RESET byte[MD_STATE_SIZE], made at the first
 *                 init(): the hash of the message so far, serialised as
 *                 MessageDigest's (api_crypto.h)
 *   KeyPair       [0] public key, [1] private key
 *   KeyAgreement  [0] algorithm, [1] private key (0 = not initialized)
 *
 * Secrets live in C only during one call, in buffers wiped before return
 * (big numbers are cleared by the math library, which zeroes them).
 */
#ifndef CARDVM_VM_API_ASYM_H
#define CARDVM_VM_API_ASYM_H

#include <stdint.h>
#include "api_support.h"

/* ---- the families (api_crypto.h's api_key_family, api_cipher_family,
 * api_sig_family): a[] the API method's argument words, a[0] the object;
 * with_params: the init form with a parameter buffer ---- */

/* Cipher ALG_RSA_PKCS1, ALG_RSA_NOPAD, ALG_RSA_PKCS1_OAEP. */
int asym_cipher_claims(uint8_t alg);
int asym_cipher_setup(vm_runtime *rt, vm_obj *self, uint8_t alg, int jcre);
int asym_cipher_init(vm_runtime *rt, uint16_t *a, int with_params);
int asym_cipher_update(vm_runtime *rt, uint16_t *a, uint16_t *ret);
int asym_cipher_do_final(vm_runtime *rt, uint16_t *a, uint16_t *ret);

/* Signature RSA PKCS#1 v1.5 / PSS and ECDSA with SHA-1/224/256/384/512
 * (setInitialDigest too). */
int asym_sig_claims(uint8_t alg);
int asym_sig_setup(vm_runtime *rt, vm_obj *self, uint8_t alg, int jcre);
int asym_sig_init(vm_runtime *rt, uint16_t *a, int with_params);
int asym_sig_update(vm_runtime *rt, uint16_t *a);
int asym_sig_sign(vm_runtime *rt, uint16_t *a, uint16_t *ret);
int asym_sig_verify(vm_runtime *rt, uint16_t *a, uint16_t *ret);
int asym_sig_length(vm_runtime *rt, uint16_t *a, uint16_t *ret);
int asym_sig_set_initial_digest(vm_runtime *rt, uint16_t *a);
int asym_sig_sign_precomputed(vm_runtime *rt, uint16_t *a, uint16_t *ret);
int asym_sig_verify_precomputed(vm_runtime *rt, uint16_t *a, uint16_t *ret);

/* KeyBuilder TYPE_RSA_* and TYPE_EC_FP_* (see asym_new_key). */
int asym_key_claims(uint8_t type);

/* ---- shared inside the asymmetric half ---- */

/* KeyBuilder key types and algorithm numbers (JC 3.0.5 constants). */
enum {
    AK_TYPE_RSA_PUBLIC = 4, AK_TYPE_RSA_PRIVATE = 5, AK_TYPE_RSA_CRT_PRIVATE = 6,
    AK_TYPE_EC_FP_PUBLIC = 11, AK_TYPE_EC_FP_PRIVATE = 12,
    AK_TYPE_RSA_PRIVATE_TRANSIENT_RESET = 22, AK_TYPE_RSA_PRIVATE_TRANSIENT_DESELECT = 23,
    AK_TYPE_RSA_CRT_PRIVATE_TRANSIENT_RESET = 24, AK_TYPE_RSA_CRT_PRIVATE_TRANSIENT_DESELECT = 25,
    AK_TYPE_EC_FP_PRIVATE_TRANSIENT_RESET = 30, AK_TYPE_EC_FP_PRIVATE_TRANSIENT_DESELECT = 31,
};

/* The key kinds (one hidden class each). */
enum asym_kind { AK_NONE = -1, AK_RSA_PUB = 0, AK_RSA_PRIV, AK_RSA_CRT, AK_EC_PUB, AK_EC_PRIV, AK_KINDS };

/* Components: RSA public/private: modulus, exponent; CRT: P, Q, DP1, DQ1,
 * PQ; EC: field, A, B, G, R, K (u16 value), then W (public) or S
 * (private). */
enum { RSA_N = 0, RSA_E = 1 };
enum { CRT_P = 0, CRT_Q, CRT_DP, CRT_DQ, CRT_PQ };
enum { EC_FIELD = 0, EC_A, EC_B, EC_G, EC_R, EC_K, EC_KEY };

/* A key object resolved: its kind, type, size and the two arrays. */
typedef struct asym_key {
    vm_obj *self;
    enum asym_kind kind;
    uint8_t type;
    uint16_t bits;
    vm_obj *arr[2];   /* persistent components, secret components (or NULL) */
} asym_key;

/* The kind of object h (AK_NONE when it is no asymmetric key). */
enum asym_kind asym_key_kind(vm_runtime *rt, uint16_t h);
/* Resolve key h, which must be of one of the kinds in mask (1 << kind):
 * null -> NullPointerException, another class -> CryptoException
 * ILLEGAL_VALUE. */
int asym_key_get(vm_runtime *rt, uint16_t h, unsigned mask, asym_key *k);
/* Component c of key k: its bytes (NULL and 0 when not set). */
const uint8_t *asym_comp(const asym_key *k, unsigned c, uint16_t *len);
/* Set component c (length-checked against its capacity after stripping
 * leading zeros of integers), not transaction-logged when logged = 0. */
int asym_comp_set(vm_runtime *rt, const asym_key *k, unsigned c, const uint8_t *src, uint16_t len, int logged);
/* 1 when every component the key's operations need is set. */
int asym_key_ready(const asym_key *k);
/* A new key of KeyBuilder type `type` and `bits` (KeyPair uses it). */
int asym_new_key(vm_runtime *rt, uint8_t type, int16_t bits, uint16_t *ret);

/* The math library libtomcrypt uses, selected once (idempotent). */
void asym_math_setup(void);
/* libtomcrypt's index of the system PRNG ("sprng"), registered on first use. */
int asym_prng(void);
/* A random number in [1, limit - 1] from that PRNG into out. */
int asym_random_below(void *limit, void *out);
/* Bytes (big-endian) into a new big number / out of one, left-padded to
 * len bytes (CRYPT_BUFFER_OVERFLOW when it does not fit). */
int asym_mp_read(void **n, const uint8_t *b, unsigned long len);
int asym_mp_write(void *n, uint8_t *out, unsigned long len);

/* RSA (api_rsa.c). The modulus bytes (computed P*Q for CRT keys) into
 * n[512]; *nlen its length without leading zeros. */
int rsa_modulus(const asym_key *k, uint8_t *n, unsigned long *nlen);
/* out = in ^ key mod N, len bytes both (len = modulus length); in must be
 * below N (CRYPT_PK_INVALID_SIZE otherwise). */
int rsa_apply(const asym_key *k, const uint8_t *in, uint8_t *out, unsigned long len);
/* Signature encodings over a digest of hash `hash_idx`: PKCS#1 v1.5
 * (EMSA-PKCS1-v1_5) or PSS (MGF1 with the same hash, salt = digest length).
 * Returns 0 or a CryptoException. */
int rsa_sign_digest(const asym_key *k, int pss, int hash_idx, const uint8_t *d, unsigned long dlen,
                    uint8_t *sig, unsigned long *siglen);
int rsa_verify_digest(const asym_key *k, int pss, int hash_idx, const uint8_t *d, unsigned long dlen,
                      const uint8_t *sig, unsigned long siglen, int *ok);
/* Cipher doFinal for ALG_RSA_PKCS1 / _NOPAD / _PKCS1_OAEP. */
int rsa_cipher(const asym_key *k, uint8_t alg, int encrypt, const uint8_t *in, unsigned long inlen,
               uint8_t *out, unsigned long *outlen);
/* Generate an RSA key pair into pub (exponent kept when set, else 65537)
 * and priv (RSA_PRIV or RSA_CRT). */
int rsa_generate(vm_runtime *rt, const asym_key *pub, const asym_key *priv);

/* EC (api_ec.c). ECDSA over a digest: DER SEQUENCE { r, s }. */
int ec_sign_digest(const asym_key *k, const uint8_t *d, unsigned long dlen, uint8_t *sig, unsigned long *siglen);
int ec_verify_digest(const asym_key *k, const uint8_t *d, unsigned long dlen, const uint8_t *sig,
                     unsigned long siglen, int *ok);
/* The longest DER signature of key k's curve. */
uint16_t ec_sig_max(const asym_key *k);
/* ECDH: the point at pub[len] (uncompressed or compressed) times the
 * private key (times the cofactor when cofactor is set): x into x[] and,
 * when y is not NULL, y into y[]; the field length in *xlen. */
int ec_dh(const asym_key *priv, int cofactor, const uint8_t *pub, unsigned long len, uint8_t *x, uint8_t *y,
          unsigned long *xlen);
/* Generate an EC key pair: domain parameters from whichever key has them
 * (copied to the other), else the card's curve for the size. */
int ec_generate(vm_runtime *rt, const asym_key *pub, const asym_key *priv);

#define ASYM_CRYPTO(r) API_CRYPTO(r)
#define ASYM_ILLEGAL_VALUE API_CRYPTO(JC_CRYPTO_ILLEGAL_VALUE)
#define ASYM_ILLEGAL_USE API_CRYPTO(JC_CRYPTO_ILLEGAL_USE)
#define ASYM_NO_SUCH_ALGORITHM API_CRYPTO(JC_CRYPTO_NO_SUCH_ALGORITHM)

#endif
