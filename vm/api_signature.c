/*
 * api_signature.c — javacard.security.Signature and Signature.OneShot: the
 * factories, the getters, and the dispatch of every operation to the
 * family of the object's algorithm (api_sig_families[], api_crypto.h).
 * OneShot objects are reused as Cipher.OneShot's are (api_cipher.c).
 */
#include <string.h>

#include "api_crypto.h"

static const api_sig_family *const api_sig_families[] = {
    &api_block_mac_family,
    &api_hmac_sig_family,
};

/* The spec's algorithm table: ALG_* -> (MessageDigest.ALG_*, SIG_CIPHER_*,
 * Cipher.PAD_*). */
static const struct sig_alg {
    uint8_t alg, md, cipher, pad;
} sig_algs[] = {
    { 1, 0, SIG_CIPHER_DES_MAC4, PAD_NOPAD }, { 2, 0, SIG_CIPHER_DES_MAC8, PAD_NOPAD },
    { 3, 0, SIG_CIPHER_DES_MAC4, PAD_ISO9797_M1 }, { 4, 0, SIG_CIPHER_DES_MAC8, PAD_ISO9797_M1 },
    { 5, 0, SIG_CIPHER_DES_MAC4, PAD_ISO9797_M2 }, { 6, 0, SIG_CIPHER_DES_MAC8, PAD_ISO9797_M2 },
    { 7, 0, SIG_CIPHER_DES_MAC4, PAD_PKCS5 }, { 8, 0, SIG_CIPHER_DES_MAC8, PAD_PKCS5 },
    { 9, 1, SIG_CIPHER_RSA, 10 }, { 10, 1, SIG_CIPHER_RSA, PAD_PKCS1 }, { 11, 2, SIG_CIPHER_RSA, PAD_PKCS1 },
    { 12, 3, SIG_CIPHER_RSA, 10 }, { 13, 3, SIG_CIPHER_RSA, PAD_PKCS1 }, { 14, 1, SIG_CIPHER_DSA, PAD_NULL },
    { 15, 1, SIG_CIPHER_RSA, 12 }, { 16, 2, SIG_CIPHER_RSA, 12 }, { 17, 1, SIG_CIPHER_ECDSA, PAD_NULL },
    { 18, 0, SIG_CIPHER_AES_MAC128, PAD_NOPAD },
    { 19, 0, SIG_CIPHER_DES_MAC4, PAD_ISO9797_1_M2_ALG3 }, { 20, 0, SIG_CIPHER_DES_MAC8, PAD_ISO9797_1_M2_ALG3 },
    { 21, 1, SIG_CIPHER_RSA, PAD_PKCS1_PSS }, { 22, 2, SIG_CIPHER_RSA, PAD_PKCS1_PSS },
    { 23, 3, SIG_CIPHER_RSA, PAD_PKCS1_PSS },
    { 24, 1, SIG_CIPHER_HMAC, PAD_NULL }, { 25, 4, SIG_CIPHER_HMAC, PAD_NULL },
    { 26, 5, SIG_CIPHER_HMAC, PAD_NULL }, { 27, 6, SIG_CIPHER_HMAC, PAD_NULL },
    { 28, 2, SIG_CIPHER_HMAC, PAD_NULL }, { 29, 3, SIG_CIPHER_HMAC, PAD_NULL },
    { 30, 1, SIG_CIPHER_RSA, 11 }, { 31, 3, SIG_CIPHER_RSA, 11 }, { 32, 0, 8, PAD_NOPAD },
    { 33, 4, SIG_CIPHER_ECDSA, PAD_NULL }, { 34, 5, SIG_CIPHER_ECDSA, PAD_NULL },
    { 35, 0, 0, PAD_NOPAD }, { 36, 0, 0, PAD_NOPAD },   /* AES MAC 192/256: Rijndael blocks */
    { 37, 7, SIG_CIPHER_ECDSA, PAD_NULL }, { 38, 6, SIG_CIPHER_ECDSA, PAD_NULL },
    { 39, 7, SIG_CIPHER_RSA, PAD_PKCS1 }, { 40, 4, SIG_CIPHER_RSA, PAD_PKCS1 },
    { 41, 5, SIG_CIPHER_RSA, PAD_PKCS1 }, { 42, 6, SIG_CIPHER_RSA, PAD_PKCS1 },
    { 43, 7, SIG_CIPHER_RSA, PAD_PKCS1_PSS }, { 44, 4, SIG_CIPHER_RSA, PAD_PKCS1_PSS },
    { 45, 5, SIG_CIPHER_RSA, PAD_PKCS1_PSS }, { 46, 6, SIG_CIPHER_RSA, PAD_PKCS1_PSS },
    { 47, 0, SIG_CIPHER_DES_MAC4, PAD_ISO9797_1_M1_ALG3 }, { 48, 0, SIG_CIPHER_DES_MAC8, PAD_ISO9797_1_M1_ALG3 },
    { 49, 0, SIG_CIPHER_AES_CMAC128, PAD_NULL },
};

static const struct sig_alg *sig_alg_find(uint8_t alg)
{
    for (size_t i = 0; i < sizeof sig_algs / sizeof sig_algs[0]; i++)
        if (sig_algs[i].alg == alg)
            return &sig_algs[i];
    return NULL;
}

static const api_sig_family *sig_family(uint8_t alg)
{
    for (size_t i = 0; i < sizeof api_sig_families / sizeof api_sig_families[0]; i++)
        if (api_sig_families[i]->claims(alg))
            return api_sig_families[i];
    return NULL;
}

static int sig_new(vm_runtime *rt, uint8_t token, uint8_t alg, uint16_t *ret)
{
    const api_sig_family *f = sig_family(alg);
    if (!f)
        return NO_SUCH_ALGORITHM;
    uint16_t h;
    API_TRY(api_new_instance(rt, JC_PKG_SECURITY, token, 0, &h));
    API_TRY(api_slot_set(rt, &rt->objs[h], 0, alg));
    API_TRY(f->setup(rt, &rt->objs[h], alg, 0));
    *ret = h;
    return 0;
}

/* (md, cipher, pad) -> ALG_*; PAD_NULL and PAD_NOPAD name the same thing
 * for the algorithms without padding of their own. */
static int sig_alg_of(uint8_t md, uint8_t cipher, uint8_t pad, uint8_t *alg)
{
    for (size_t i = 0; i < sizeof sig_algs / sizeof sig_algs[0]; i++) {
        const struct sig_alg *s = &sig_algs[i];
        int pad_ok = s->pad == pad || (s->pad <= PAD_NOPAD && pad <= PAD_NOPAD);
        if (s->cipher && s->cipher == cipher && s->md == md && pad_ok) {
            *alg = s->alg;
            return 0;
        }
    }
    return NO_SUCH_ALGORITHM;
}

int api_Signature_getInstance__BZ(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    return sig_new(rt, JC_SEC_Signature, (uint8_t)a[0], ret);
}

int api_Signature_getInstance__BBBZ(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    uint8_t alg;
    API_TRY(sig_alg_of((uint8_t)a[0], (uint8_t)a[1], (uint8_t)a[2], &alg));
    return sig_new(rt, JC_SEC_Signature, alg, ret);
}

static int sig_self(vm_runtime *rt, uint16_t h, const api_sig_family **f)
{
    vm_obj *self;
    API_TRY(api_this(rt, h, &self));
    *f = sig_family((uint8_t)api_slot(self, 0));
    return *f ? 0 : API_SECURITY;
}

int api_Signature_init__KeyB(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    (void)ret;
    const api_sig_family *f;
    API_TRY(sig_self(rt, a[0], &f));
    return f->init(rt, a, 0);
}

int api_Signature_init__KeyBaBSS(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    (void)ret;
    const api_sig_family *f;
    API_TRY(sig_self(rt, a[0], &f));
    return f->init(rt, a, 1);
}

int api_Signature_update(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    (void)ret;
    const api_sig_family *f;
    API_TRY(sig_self(rt, a[0], &f));
    return f->update(rt, a);
}

int api_Signature_sign(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    const api_sig_family *f;
    API_TRY(sig_self(rt, a[0], &f));
    return f->sign(rt, a, ret);
}

int api_Signature_verify(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    const api_sig_family *f;
    API_TRY(sig_self(rt, a[0], &f));
    return f->verify(rt, a, ret);
}

int api_Signature_getLength(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    const api_sig_family *f;
    API_TRY(sig_self(rt, a[0], &f));
    return f->length(rt, a, ret);
}

int api_Signature_getAlgorithm(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    THIS(self);
    *ret = api_slot(self, 0);
    return 0;
}

int api_Signature_getMessageDigestAlgorithm(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    THIS(self);
    const struct sig_alg *s = sig_alg_find((uint8_t)api_slot(self, 0));
    *ret = s ? s->md : 0;
    return 0;
}

int api_Signature_getCipherAlgorithm(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    THIS(self);
    const struct sig_alg *s = sig_alg_find((uint8_t)api_slot(self, 0));
    *ret = s ? s->cipher : 0;
    return 0;
}

int api_Signature_getPaddingAlgorithm(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    THIS(self);
    const struct sig_alg *s = sig_alg_find((uint8_t)api_slot(self, 0));
    *ret = s ? s->pad : 0;
    return 0;
}

/* The digest-based operations: ILLEGAL_USE for a family without them
 * (a MAC has no digest to start from or to sign precomputed). */
int api_Signature_setInitialDigest(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    (void)ret;
    const api_sig_family *f;
    API_TRY(sig_self(rt, a[0], &f));
    return f->set_initial_digest ? f->set_initial_digest(rt, a) : ILLEGAL_USE;
}

int api_Signature_signPreComputedHash(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    const api_sig_family *f;
    API_TRY(sig_self(rt, a[0], &f));
    return f->sign_precomputed ? f->sign_precomputed(rt, a, ret) : ILLEGAL_USE;
}

int api_Signature_verifyPreComputedHash(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    const api_sig_family *f;
    API_TRY(sig_self(rt, a[0], &f));
    return f->verify_precomputed ? f->verify_precomputed(rt, a, ret) : ILLEGAL_USE;
}

int api_Signature_OneShot_open(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    uint8_t alg;
    API_TRY(sig_alg_of((uint8_t)a[0], (uint8_t)a[1], (uint8_t)a[2], &alg));
    if (!sig_family(alg))
        return NO_SUCH_ALGORITHM;
    return api_oneshot_open(rt, JC_PKG_SECURITY, JC_SEC_Signature_OneShot, alg, 4, sig_new, ret);
}

int api_Signature_OneShot_close(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    (void)ret;
    return api_oneshot_close_keyed(rt, a);
}
