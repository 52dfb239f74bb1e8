/*
 * api_keys.c — KeyBuilder and the card's secret key classes (DESKeyImpl,
 * AESKeyImpl, HMACKeyImpl; hidden, see gen_api_tokens.py). KeyBuilder
 * asks each family of api_key_families[] in turn (api_crypto.h).
 *
 * Object state, in ordinary arrays so that transactions, transient
 * clearing and power cuts treat it like applet data:
 *   DESKeyImpl, AESKeyImpl  [0] key type (KeyBuilder.TYPE_*), [1] size in
 *               bits, [2] ref byte[size/8 + 1]: the key, then an
 *               initialized flag (so a transient key that is cleared at
 *               reset or deselect is also uninitialized, as the spec
 *               requires); persistent or transient by key type
 *   HMACKeyImpl [0] key type, [1] capacity in bytes, [2] ref
 *               byte[capacity + 3]: the key, an initialized flag, the
 *               key's length (u16 big-endian)
 */
#include <string.h>

#include "api_crypto.h"

/* ---- KeyBuilder ---- */

static const api_key_family *const api_key_families[] = {
    &api_secret_key_family,
    &api_hmac_key_family,
    &api_asym_key_family,
};

static uint8_t memory_flags(uint8_t persistent, uint8_t reset, uint8_t type)
{
    return type == persistent ? VM_OF_PERSISTENT : type == reset ? VM_OF_CLEAR_RESET : VM_OF_CLEAR_DESELECT;
}

int api_KeyBuilder_buildKey__BSZ(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    uint8_t type = (uint8_t)a[0];
    if (a[2])
        return NO_SUCH_ALGORITHM;   /* no key encryption interface */
    for (size_t i = 0; i < sizeof api_key_families / sizeof api_key_families[0]; i++)
        if (api_key_families[i]->claims(type))
            return api_key_families[i]->build(rt, type, (int16_t)a[1], ret);
    return NO_SUCH_ALGORITHM;
}

/* buildKey(algorithmicKeyType, keyMemoryType, length, keyEncryption): the
 * spec's (ALG_TYPE_*, JCSystem.MEMORY_TYPE_*) -> TYPE_* table; 0 where the
 * spec has no such type. */
int api_KeyBuilder_buildKey__BBSZ(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    static const uint8_t type_of[][3] = {
        /* persistent, transient reset, transient deselect */
        [1] = { 3, 1, 2 },      /* DES */
        [2] = { 15, 13, 14 },   /* AES */
        [3] = { 7, 0, 0 },      /* DSA public */
        [4] = { 8, 26, 27 },    /* DSA private */
        [5] = { 9, 0, 0 },      /* EC F2M public */
        [6] = { 10, 28, 29 },   /* EC F2M private */
        [7] = { 11, 0, 0 },     /* EC FP public */
        [8] = { 12, 30, 31 },   /* EC FP private */
        [9] = { 21, 19, 20 },   /* HMAC */
        [10] = { 18, 16, 17 },  /* Korean SEED */
        [11] = { 4, 0, 0 },     /* RSA public */
        [12] = { 5, 22, 23 },   /* RSA private */
        [13] = { 6, 24, 25 },   /* RSA CRT private */
        [14] = { 32, 34, 33 },  /* DH public */
        [15] = { 35, 37, 36 },  /* DH private */
    };
    uint8_t alg = (uint8_t)a[0], mem = (uint8_t)a[1];
    if (alg >= sizeof type_of / sizeof type_of[0] || mem > MEMORY_TYPE_TRANSIENT_DESELECT || !type_of[alg][mem])
        return NO_SUCH_ALGORITHM;
    uint16_t args[3] = { type_of[alg][mem], a[2], a[3] };
    return api_KeyBuilder_buildKey__BSZ(rt, args, ret);
}

int api_KeyBuilder_buildKeyWithSharedDomain(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    (void)rt; (void)a; (void)ret;
    return NO_SUCH_ALGORITHM;
}

/* ---- DES and AES keys ---- */

static int secret_claims(uint8_t type)
{
    return (type >= KEY_TYPE_DES_TRANSIENT_RESET && type <= KEY_TYPE_DES) ||
           (type >= KEY_TYPE_AES_TRANSIENT_RESET && type <= KEY_TYPE_AES);
}

static int secret_build(vm_runtime *rt, uint8_t type, int16_t bits, uint16_t *ret)
{
    int des = type <= KEY_TYPE_DES;
    if (des ? (bits != 64 && bits != 128 && bits != 192) : (bits != 128 && bits != 192 && bits != 256))
        return NO_SUCH_ALGORITHM;
    uint8_t flags = des ? memory_flags(KEY_TYPE_DES, KEY_TYPE_DES_TRANSIENT_RESET, type)
                        : memory_flags(KEY_TYPE_AES, KEY_TYPE_AES_TRANSIENT_RESET, type);
    uint16_t k, arr;
    API_TRY(api_new_instance(rt, JC_PKG_SECURITY, des ? JC_SEC_DESKeyImpl : JC_SEC_AESKeyImpl, 0, &k));
    API_TRY(api_new_array(rt, VM_OBJ_BYTES, flags, (uint16_t)(bits / 8 + 1), 0, &arr));
    vm_obj *o = &rt->objs[k];
    API_TRY(api_slot_set(rt, o, 0, type));
    API_TRY(api_slot_set(rt, o, 1, (uint16_t)bits));
    API_TRY(api_slot_set(rt, o, 2, arr));
    *ret = k;
    return 0;
}

const api_key_family api_secret_key_family = { secret_claims, secret_build };

/* The key's byte array (size/8 bytes + initialized flag) and size. */
static int key_parts(vm_runtime *rt, uint16_t h, uint8_t cls, vm_obj **arr, uint16_t *bytes)
{
    vm_obj *k;
    API_TRY(api_this(rt, h, &k));
    if (!api_is_class(k, JC_PKG_SECURITY, cls))
        return ILLEGAL_VALUE;
    uint16_t ah = api_slot(k, 2);
    if (ah == 0 || ah >= rt->obj_cap || rt->objs[ah].kind != VM_OBJ_BYTES)
        return API_SECURITY;
    *arr = &rt->objs[ah];
    *bytes = (uint16_t)(api_slot(k, 1) / 8);
    if ((*arr)->length != *bytes + 1u)
        return API_SECURITY;
    return 0;
}

int api_secret_key(vm_runtime *rt, uint16_t h, uint8_t cls, const uint8_t **key, uint16_t *len)
{
    if (h == 0)
        return API_NPE;
    if (h >= rt->obj_cap || !api_is_class(&rt->objs[h], JC_PKG_SECURITY, cls))
        return ILLEGAL_VALUE;
    vm_obj *arr;
    API_TRY(key_parts(rt, h, cls, &arr, len));
    if (!arr->data[*len])
        return UNINITIALIZED_KEY;
    *key = arr->data;
    return 0;
}

static int secret_set(vm_runtime *rt, uint16_t *a, uint8_t cls)
{
    vm_obj *key;
    uint16_t n;
    API_TRY(key_parts(rt, a[0], cls, &key, &n));
    BYTES(src, a[1]);
    RANGE(src, a[2], n);
    uint8_t buf[33];
    memcpy(buf, src->data + a[2], n);
    buf[n] = 1;
    int rc = api_store(rt, key, 0, buf, n + 1u, 1);
    zeromem(buf, sizeof buf);
    return rc;
}

static int secret_get(vm_runtime *rt, uint16_t *a, uint16_t *ret, uint8_t cls)
{
    vm_obj *key;
    uint16_t n;
    API_TRY(key_parts(rt, a[0], cls, &key, &n));
    if (!key->data[n])
        return UNINITIALIZED_KEY;
    BYTES(dst, a[1]);
    RANGE(dst, a[2], n);
    API_TRY(api_store(rt, dst, a[2], key->data, n, 1));
    *ret = n;
    return 0;
}

static int secret_clear(vm_runtime *rt, uint16_t *a, uint8_t cls)
{
    vm_obj *key;
    uint16_t n;
    API_TRY(key_parts(rt, a[0], cls, &key, &n));
    uint8_t zero[33] = { 0 };
    return api_store(rt, key, 0, zero, n + 1u, 1);
}

static int secret_is_initialized(vm_runtime *rt, uint16_t *a, uint16_t *ret, uint8_t cls)
{
    vm_obj *key;
    uint16_t n;
    API_TRY(key_parts(rt, a[0], cls, &key, &n));
    *ret = key->data[n] != 0;
    return 0;
}

static int key_slot(vm_runtime *rt, uint16_t *a, uint16_t *ret, unsigned slot)
{
    THIS(k);
    *ret = api_slot(k, slot);
    return 0;
}

/* An AES key's old value must not outlive it in AEADCipher's GCM memo:
 * setKey and clearKey wipe the memo (it is rebuilt at the next use). */
int api_AESKeyImpl_setKey(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    (void)ret;
    api_aead_cache_clear(rt);
    return secret_set(rt, a, JC_SEC_AESKeyImpl);
}
int api_AESKeyImpl_getKey(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    return secret_get(rt, a, ret, JC_SEC_AESKeyImpl);
}
int api_AESKeyImpl_clearKey(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    (void)ret;
    api_aead_cache_clear(rt);
    return secret_clear(rt, a, JC_SEC_AESKeyImpl);
}
int api_AESKeyImpl_isInitialized(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    return secret_is_initialized(rt, a, ret, JC_SEC_AESKeyImpl);
}
int api_AESKeyImpl_getSize(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    return key_slot(rt, a, ret, 1);
}
int api_AESKeyImpl_getType(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    return key_slot(rt, a, ret, 0);
}

int api_DESKeyImpl_setKey(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    (void)ret;
    return secret_set(rt, a, JC_SEC_DESKeyImpl);
}
int api_DESKeyImpl_getKey(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    return secret_get(rt, a, ret, JC_SEC_DESKeyImpl);
}
int api_DESKeyImpl_clearKey(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    (void)ret;
    return secret_clear(rt, a, JC_SEC_DESKeyImpl);
}
int api_DESKeyImpl_isInitialized(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    return secret_is_initialized(rt, a, ret, JC_SEC_DESKeyImpl);
}
int api_DESKeyImpl_getSize(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    return key_slot(rt, a, ret, 1);
}
int api_DESKeyImpl_getType(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    return key_slot(rt, a, ret, 0);
}

/* ---- HMAC keys: the length given to buildKey is the key's capacity in
 * bytes (the API's LENGTH_HMAC_* constants are block sizes in bytes);
 * setKey takes any length from 1 to it. ---- */

enum { HMAC_MAX_KEY = 1024 };

static int hmac_claims(uint8_t type)
{
    return type >= KEY_TYPE_HMAC_TRANSIENT_RESET && type <= KEY_TYPE_HMAC;
}

static int hmac_build(vm_runtime *rt, uint8_t type, int16_t bytes, uint16_t *ret)
{
    if (bytes < 1 || bytes > HMAC_MAX_KEY)
        return NO_SUCH_ALGORITHM;
    uint8_t flags = memory_flags(KEY_TYPE_HMAC, KEY_TYPE_HMAC_TRANSIENT_RESET, type);
    uint16_t k, arr;
    API_TRY(api_new_instance(rt, JC_PKG_SECURITY, JC_SEC_HMACKeyImpl, 0, &k));
    API_TRY(api_new_array(rt, VM_OBJ_BYTES, flags, (uint16_t)(bytes + 3), 0, &arr));
    vm_obj *o = &rt->objs[k];
    API_TRY(api_slot_set(rt, o, 0, type));
    API_TRY(api_slot_set(rt, o, 1, (uint16_t)bytes));
    API_TRY(api_slot_set(rt, o, 2, arr));
    *ret = k;
    return 0;
}

const api_key_family api_hmac_key_family = { hmac_claims, hmac_build };

/* The key's array and capacity; *klen the key's length, 0 when not
 * initialized. */
static int hmac_key_parts(vm_runtime *rt, uint16_t h, vm_obj **arr, uint16_t *cap, uint16_t *klen)
{
    vm_obj *k;
    API_TRY(api_this(rt, h, &k));
    if (!api_is_class(k, JC_PKG_SECURITY, JC_SEC_HMACKeyImpl))
        return ILLEGAL_VALUE;
    uint16_t ah = api_slot(k, 2);
    if (ah == 0 || ah >= rt->obj_cap || rt->objs[ah].kind != VM_OBJ_BYTES)
        return API_SECURITY;
    *arr = &rt->objs[ah];
    *cap = api_slot(k, 1);
    if ((*arr)->length != *cap + 3u)
        return API_SECURITY;
    const uint8_t *d = (*arr)->data;
    *klen = d[*cap] ? (uint16_t)((d[*cap + 1] << 8) | d[*cap + 2]) : 0;
    if (*klen > *cap)
        return API_SECURITY;
    return 0;
}

int api_hmac_key(vm_runtime *rt, uint16_t h, const uint8_t **key, uint16_t *len)
{
    if (h == 0)
        return API_NPE;
    if (h >= rt->obj_cap || !api_is_class(&rt->objs[h], JC_PKG_SECURITY, JC_SEC_HMACKeyImpl))
        return ILLEGAL_VALUE;
    vm_obj *arr;
    uint16_t cap;
    API_TRY(hmac_key_parts(rt, h, &arr, &cap, len));
    if (*len == 0)
        return UNINITIALIZED_KEY;
    *key = arr->data;
    return 0;
}

int api_HMACKeyImpl_setKey(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    (void)ret;
    vm_obj *key;
    uint16_t cap, old;
    API_TRY(hmac_key_parts(rt, a[0], &key, &cap, &old));
    BYTES(src, a[1]);
    int16_t len = (int16_t)a[3];
    if (len < 1 || len > (int16_t)cap)
        return ILLEGAL_VALUE;
    RANGE(src, a[2], (uint16_t)len);
    uint8_t buf[HMAC_MAX_KEY + 3] = { 0 };
    memcpy(buf, src->data + a[2], (size_t)len);
    buf[cap] = 1;
    buf[cap + 1] = (uint8_t)(len >> 8);
    buf[cap + 2] = (uint8_t)len;
    int rc = api_store(rt, key, 0, buf, cap + 3u, 1);
    zeromem(buf, sizeof buf);
    return rc;
}

int api_HMACKeyImpl_getKey(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    vm_obj *key;
    uint16_t cap, n;
    API_TRY(hmac_key_parts(rt, a[0], &key, &cap, &n));
    if (n == 0)
        return UNINITIALIZED_KEY;
    BYTES(dst, a[1]);
    RANGE(dst, a[2], n);
    API_TRY(api_store(rt, dst, a[2], key->data, n, 1));
    *ret = n;
    return 0;
}

int api_HMACKeyImpl_clearKey(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    (void)ret;
    vm_obj *key;
    uint16_t cap, n;
    API_TRY(hmac_key_parts(rt, a[0], &key, &cap, &n));
    uint8_t zero[HMAC_MAX_KEY + 3] = { 0 };
    return api_store(rt, key, 0, zero, cap + 3u, 1);
}

int api_HMACKeyImpl_isInitialized(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    vm_obj *key;
    uint16_t cap, n;
    API_TRY(hmac_key_parts(rt, a[0], &key, &cap, &n));
    *ret = n != 0;
    return 0;
}

/* The size in bits of the key as built (its capacity). */
int api_HMACKeyImpl_getSize(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    THIS(k);
    *ret = (uint16_t)(api_slot(k, 1) * 8u);
    return 0;
}

int api_HMACKeyImpl_getType(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    return key_slot(rt, a, ret, 0);
}
