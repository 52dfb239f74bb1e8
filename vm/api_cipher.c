/*
 * api_cipher.c — javacardx.crypto.Cipher and Cipher.OneShot: the
 * factories, the getters, and the dispatch of init/update/doFinal to the
 * family of the object's algorithm (api_cipher_families[], api_crypto.h).
 *
 * Cipher.OneShot: open() hands out an object of class Cipher$OneShot owned
 * by the caller's context, reusing a closed one of the same algorithm
 * (slot 4: 1 while open), so an applet that opens one per APDU does not
 * use up memory; close() marks it free again and forgets its key.
 */
#include <string.h>

#include "api_crypto.h"

static const api_cipher_family *const api_cipher_families[] = {
    &api_block_cipher_family,
    &api_rsa_cipher_family,
    &api_aead_cipher_family,
};

/* The spec's algorithm table: ALG_* -> (CIPHER_*, PAD_*). */
static const struct cipher_alg {
    uint8_t alg, cipher, pad;
} cipher_algs[] = {
    { ALG_DES_CBC_NOPAD, CIPHER_DES_CBC, PAD_NOPAD },
    { ALG_DES_CBC_ISO9797_M1, CIPHER_DES_CBC, PAD_ISO9797_M1 },
    { ALG_DES_CBC_ISO9797_M2, CIPHER_DES_CBC, PAD_ISO9797_M2 },
    { ALG_DES_CBC_PKCS5, CIPHER_DES_CBC, PAD_PKCS5 },
    { ALG_DES_ECB_NOPAD, CIPHER_DES_ECB, PAD_NOPAD },
    { ALG_DES_ECB_ISO9797_M1, CIPHER_DES_ECB, PAD_ISO9797_M1 },
    { ALG_DES_ECB_ISO9797_M2, CIPHER_DES_ECB, PAD_ISO9797_M2 },
    { ALG_DES_ECB_PKCS5, CIPHER_DES_ECB, PAD_PKCS5 },
    { 9, CIPHER_RSA, PAD_NULL },            /* ALG_RSA_ISO14888 */
    { 10, CIPHER_RSA, PAD_PKCS1 },          /* ALG_RSA_PKCS1 */
    { 11, CIPHER_RSA, 10 },                 /* ALG_RSA_ISO9796, PAD_ISO9796 */
    { 12, CIPHER_RSA, PAD_NOPAD },          /* ALG_RSA_NOPAD */
    { ALG_AES_BLOCK_128_CBC_NOPAD, CIPHER_AES_CBC, PAD_NOPAD },
    { ALG_AES_BLOCK_128_ECB_NOPAD, CIPHER_AES_ECB, PAD_NOPAD },
    { 15, CIPHER_RSA, PAD_PKCS1_OAEP },     /* ALG_RSA_PKCS1_OAEP */
    { 16, 6, PAD_NOPAD },                   /* ALG_KOREAN_SEED_ECB_NOPAD */
    { 17, 5, PAD_NOPAD },                   /* ALG_KOREAN_SEED_CBC_NOPAD */
    { ALG_AES_CBC_ISO9797_M1, CIPHER_AES_CBC, PAD_ISO9797_M1 },
    { ALG_AES_CBC_ISO9797_M2, CIPHER_AES_CBC, PAD_ISO9797_M2 },
    { ALG_AES_CBC_PKCS5, CIPHER_AES_CBC, PAD_PKCS5 },
    { ALG_AES_ECB_ISO9797_M1, CIPHER_AES_ECB, PAD_ISO9797_M1 },
    { ALG_AES_ECB_ISO9797_M2, CIPHER_AES_ECB, PAD_ISO9797_M2 },
    { ALG_AES_ECB_PKCS5, CIPHER_AES_ECB, PAD_PKCS5 },
    { ALG_AES_CTR, CIPHER_AES_CTR, PAD_NOPAD },
    /* AEADCipher: padding PAD_NULL only */
    { ALG_AES_GCM, CIPHER_AES_GCM, PAD_NULL },
    { ALG_AES_CCM, CIPHER_AES_CCM, PAD_NULL },
    /* Rijndael with 192/256-bit blocks: (alg, cipher) have no CIPHER_*
     * of their own, so the two-argument form never finds them */
    { 18, 0, PAD_NOPAD }, { 19, 0, PAD_NOPAD }, { 20, 0, PAD_NOPAD }, { 21, 0, PAD_NOPAD },
};

static const struct cipher_alg *cipher_alg_find(uint8_t alg)
{
    for (size_t i = 0; i < sizeof cipher_algs / sizeof cipher_algs[0]; i++)
        if (cipher_algs[i].alg == alg)
            return &cipher_algs[i];
    return NULL;
}

static const api_cipher_family *cipher_family(uint8_t alg)
{
    for (size_t i = 0; i < sizeof api_cipher_families / sizeof api_cipher_families[0]; i++)
        if (api_cipher_families[i]->claims(alg))
            return api_cipher_families[i];
    return NULL;
}

/* A new Cipher (or OneShot: token) object of algorithm alg. */
static int cipher_new(vm_runtime *rt, uint8_t token, uint8_t alg, uint16_t *ret)
{
    const api_cipher_family *f = cipher_family(alg);
    if (!f)
        return NO_SUCH_ALGORITHM;
    /* an AEAD algorithm's object is an AEADCipher (the applet casts it) */
    if (f == &api_aead_cipher_family)
        token = JC_CRYPTO_AEADCipher;
    uint16_t h;
    API_TRY(api_new_instance(rt, JC_PKG_CRYPTO, token, 0, &h));
    API_TRY(api_slot_set(rt, &rt->objs[h], 0, alg));
    API_TRY(f->setup(rt, &rt->objs[h], alg, 0));
    *ret = h;
    return 0;
}

int api_Cipher_getInstance__BZ(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    /* externalAccess true: the object may be shared through a Shareable
     * interface; our objects already follow the owner's rules */
    return cipher_new(rt, JC_CRYPTO_Cipher, (uint8_t)a[0], ret);
}

static int cipher_alg_of(uint8_t cipher, uint8_t pad, uint8_t *alg)
{
    if (cipher == CIPHER_AES_GCM || cipher == CIPHER_AES_CCM) {
        if (pad != PAD_NULL)
            return NO_SUCH_ALGORITHM;
        *alg = cipher == CIPHER_AES_GCM ? ALG_AES_GCM : ALG_AES_CCM;
        return 0;
    }
    if (pad == PAD_NULL)
        pad = PAD_NOPAD;
    for (size_t i = 0; i < sizeof cipher_algs / sizeof cipher_algs[0]; i++)
        if (cipher_algs[i].cipher == cipher && cipher_algs[i].cipher && cipher_algs[i].pad == pad) {
            *alg = cipher_algs[i].alg;
            return 0;
        }
    return NO_SUCH_ALGORITHM;
}

int api_Cipher_getInstance__BBZ(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    uint8_t alg;
    API_TRY(cipher_alg_of((uint8_t)a[0], (uint8_t)a[1], &alg));
    return cipher_new(rt, JC_CRYPTO_Cipher, alg, ret);
}

static int cipher_self(vm_runtime *rt, uint16_t h, const api_cipher_family **f)
{
    vm_obj *self;
    API_TRY(api_this(rt, h, &self));
    *f = cipher_family((uint8_t)api_slot(self, 0));
    return *f ? 0 : API_SECURITY;
}

int api_Cipher_init__KeyB(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    (void)ret;
    const api_cipher_family *f;
    API_TRY(cipher_self(rt, a[0], &f));
    return f->init(rt, a, 0);
}

int api_Cipher_init__KeyBaBSS(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    (void)ret;
    const api_cipher_family *f;
    API_TRY(cipher_self(rt, a[0], &f));
    return f->init(rt, a, 1);
}

int api_Cipher_update(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    const api_cipher_family *f;
    API_TRY(cipher_self(rt, a[0], &f));
    return f->update(rt, a, ret);
}

int api_Cipher_doFinal(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    const api_cipher_family *f;
    API_TRY(cipher_self(rt, a[0], &f));
    return f->do_final(rt, a, ret);
}

int api_Cipher_getAlgorithm(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    THIS(self);
    *ret = api_slot(self, 0);
    return 0;
}

int api_Cipher_getCipherAlgorithm(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    THIS(self);
    const struct cipher_alg *c = cipher_alg_find((uint8_t)api_slot(self, 0));
    *ret = c ? c->cipher : 0;
    return 0;
}

int api_Cipher_getPaddingAlgorithm(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    THIS(self);
    const struct cipher_alg *c = cipher_alg_find((uint8_t)api_slot(self, 0));
    *ret = c ? c->pad : 0;
    return 0;
}

/* ---- OneShot ---- */

enum { ONESHOT_OPEN_SLOT = 4 };

int api_oneshot_open(vm_runtime *rt, unsigned pkg, uint8_t token, uint8_t alg, unsigned open_slot,
                     api_oneshot_make make, uint16_t *ret)
{
    uint16_t cls = api_class_id(pkg, token);
    for (uint32_t i = 1; i < rt->obj_cap; i++) {
        vm_obj *o = &rt->objs[i];
        if (o->kind == VM_OBJ_INSTANCE && o->cls == cls && o->pkg == rt->ctx && api_slot(o, 0) == alg &&
            api_slot(o, open_slot) == 0) {
            API_TRY(api_slot_set(rt, o, open_slot, 1));
            *ret = (uint16_t)i;
            return 0;
        }
    }
    uint16_t h;
    API_TRY(make(rt, token, alg, &h));
    API_TRY(api_slot_set(rt, &rt->objs[h], open_slot, 1));
    *ret = h;
    return 0;
}

/* close() of a Cipher or Signature OneShot: not initialized, no key. */
int api_oneshot_close_keyed(vm_runtime *rt, uint16_t *a)
{
    THIS(self);
    API_TRY(api_slot_set(rt, self, 1, 0));
    API_TRY(api_slot_set(rt, self, 2, 0));
    return api_slot_set(rt, self, ONESHOT_OPEN_SLOT, 0);
}

int api_Cipher_OneShot_open(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    uint8_t alg;
    API_TRY(cipher_alg_of((uint8_t)a[0], (uint8_t)a[1], &alg));
    /* Cipher.OneShot has no AEAD methods: no AEAD algorithm either */
    const api_cipher_family *f = cipher_family(alg);
    if (!f || f == &api_aead_cipher_family)
        return NO_SUCH_ALGORITHM;
    return api_oneshot_open(rt, JC_PKG_CRYPTO, JC_CRYPTO_Cipher_OneShot, alg, ONESHOT_OPEN_SLOT, cipher_new, ret);
}

int api_Cipher_OneShot_close(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    (void)ret;
    return api_oneshot_close_keyed(rt, a);
}
