/*
 * api_security.c — the crypto subset of javacard.security and
 * javacardx.crypto, over libtomcrypt: AES and HMAC keys from KeyBuilder,
 * Cipher AES-128-block ECB/CBC without padding, MessageDigest
 * SHA-1/224/256/384/512, Signature ALG_AES_MAC_128_NOPAD (CBC-MAC) and
 * ALG_HMAC_SHA1/_SHA_256/_SHA_384/_SHA_512, RandomData. Every
 * other factory answers CryptoException.NO_SUCH_ALGORITHM, as the API
 * specifies for an algorithm a card does not support.
 *
 * Object state (native slots, api_tokens.h), all in ordinary arrays so
 * transactions, transient clearing and power cuts treat it like applet data:
 *   AESKeyImpl    [0] key type (KeyBuilder.TYPE_AES...), [1] size in bits,
 *                 [2] ref byte[size/8 + 1]: the key, then an initialized
 *                 flag (so a transient key that is cleared is also
 *                 uninitialized); persistent or transient by key type
 *   HMACKeyImpl   [0] key type, [1] capacity in bytes, [2] ref
 *                 byte[capacity + 3]: the key, an initialized flag, the
 *                 key's length (u16 big-endian)
 *   Cipher        [0] algorithm, [1] mode (0 = not initialized), [2] key,
 *   Signature     [3] ref byte[49] CLEAR_ON_DESELECT: initial IV[16],
 *                 chaining block[16], pending input[16], pending count;
 *                 for HMAC, [3] ref byte[MD_SIZE] CLEAR_ON_DESELECT: the
 *                 inner hash state (serialised as MessageDigest's)
 *   MessageDigest [0] algorithm, [1] ref byte[202] CLEAR_ON_DESELECT: the
 *                 SHA state, serialised big-endian (started flag,
 *                 buffered count, bit length u64, H[8] u64, block[128];
 *                 SHA-1/224/256 use u32 words and 64 bytes of block)
 *   RandomData    [0] algorithm
 */
#include <string.h>
#include <tomcrypt.h>

#include "api_asym.h"
#include "api_support.h"

#define THIS(var) vm_obj *var; API_TRY(api_this(rt, a[0], &var))
#define BYTES(var, h) vm_obj *var; API_TRY(api_bytes(rt, (h), &var))
#define RANGE(o, off, len) API_TRY(api_range((o), (off), (len)))

enum {
    KEY_TYPE_AES_TRANSIENT_RESET = 13, KEY_TYPE_AES_TRANSIENT_DESELECT = 14, KEY_TYPE_AES = 15,
    KEY_ALG_TYPE_AES = 2,
    KEY_TYPE_HMAC_TRANSIENT_RESET = 19, KEY_TYPE_HMAC_TRANSIENT_DESELECT = 20, KEY_TYPE_HMAC = 21,
    KEY_ALG_TYPE_HMAC = 9,
    SIG_ALG_HMAC_SHA1 = 24, SIG_ALG_HMAC_SHA_256 = 25, SIG_ALG_HMAC_SHA_384 = 26, SIG_ALG_HMAC_SHA_512 = 27,
    SIG_CIPHER_HMAC = 7,
    ALG_AES_BLOCK_128_CBC_NOPAD = 13, ALG_AES_BLOCK_128_ECB_NOPAD = 14,
    CIPHER_AES_CBC = 1, CIPHER_AES_ECB = 2, PAD_NULL = 0, PAD_NOPAD = 1,
    MODE_DECRYPT = 1, MODE_ENCRYPT = 2,
    SIG_ALG_AES_MAC_128_NOPAD = 18, SIG_CIPHER_AES_MAC128 = 6, MODE_SIGN = 1, MODE_VERIFY = 2,
    MD_ALG_NULL = 0, MD_ALG_SHA_1 = 1, MD_ALG_SHA_256 = 4,
    RND_PSEUDO = 1, RND_SECURE = 2,
};

#define NO_SUCH_ALGORITHM API_CRYPTO(JC_CRYPTO_NO_SUCH_ALGORITHM)

static int aes_index(void)
{
    int i = find_cipher("aes");
    if (i < 0) {
        register_cipher(&aes_desc);
        i = find_cipher("aes");
    }
    return i;
}

/* ---- keys ---- */

static int new_aes_key(vm_runtime *rt, uint8_t type, int16_t bits, uint16_t *ret)
{
    if (bits != 128 && bits != 192 && bits != 256)
        return NO_SUCH_ALGORITHM;
    uint8_t flags = type == KEY_TYPE_AES ? VM_OF_PERSISTENT
                  : type == KEY_TYPE_AES_TRANSIENT_RESET ? VM_OF_CLEAR_RESET : VM_OF_CLEAR_DESELECT;
    uint16_t k, arr;
    API_TRY(api_new_instance(rt, JC_PKG_SECURITY, JC_SEC_AESKeyImpl, 0, &k));
    API_TRY(api_new_array(rt, VM_OBJ_BYTES, flags, (uint16_t)(bits / 8 + 1), 0, &arr));
    vm_obj *o = &rt->objs[k];
    API_TRY(api_slot_set(rt, o, 0, type));
    API_TRY(api_slot_set(rt, o, 1, (uint16_t)bits));
    API_TRY(api_slot_set(rt, o, 2, arr));
    *ret = k;
    return 0;
}

static int new_hmac_key(vm_runtime *rt, uint8_t type, int16_t bytes, uint16_t *ret);

int api_KeyBuilder_buildKey__BSZ(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    ASYM_HOOK(asym_build_key(rt, (uint8_t)a[0], (int16_t)a[1], a[2], &mine_, ret));
    uint8_t type = (uint8_t)a[0];
    if (!a[2] && (type == KEY_TYPE_HMAC || type == KEY_TYPE_HMAC_TRANSIENT_RESET ||
                  type == KEY_TYPE_HMAC_TRANSIENT_DESELECT))
        return new_hmac_key(rt, type, (int16_t)a[1], ret);
    if (a[2] || (type != KEY_TYPE_AES && type != KEY_TYPE_AES_TRANSIENT_RESET &&
                 type != KEY_TYPE_AES_TRANSIENT_DESELECT))
        return NO_SUCH_ALGORITHM;
    return new_aes_key(rt, type, (int16_t)a[1], ret);
}

/* buildKey(algorithmicKeyType, keyMemoryType, length, keyEncryption):
 * memory type JCSystem.MEMORY_TYPE_PERSISTENT / _TRANSIENT_RESET /
 * _TRANSIENT_DESELECT. */
int api_KeyBuilder_buildKey__BBSZ(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    ASYM_HOOK(asym_build_key_mem(rt, (uint8_t)a[0], (uint8_t)a[1], (int16_t)a[2], a[3], &mine_, ret));
    static const uint8_t type_of[] = { KEY_TYPE_AES, KEY_TYPE_AES_TRANSIENT_RESET,
                                       KEY_TYPE_AES_TRANSIENT_DESELECT };
    static const uint8_t hmac_type_of[] = { KEY_TYPE_HMAC, KEY_TYPE_HMAC_TRANSIENT_RESET,
                                            KEY_TYPE_HMAC_TRANSIENT_DESELECT };
    uint8_t mem = (uint8_t)a[1];
    if ((uint8_t)a[0] == KEY_ALG_TYPE_HMAC && mem < sizeof hmac_type_of && !a[3])
        return new_hmac_key(rt, hmac_type_of[mem], (int16_t)a[2], ret);
    if ((uint8_t)a[0] != KEY_ALG_TYPE_AES || mem >= sizeof type_of || a[3])
        return NO_SUCH_ALGORITHM;
    return new_aes_key(rt, type_of[mem], (int16_t)a[2], ret);
}

int api_KeyBuilder_buildKeyWithSharedDomain(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    (void)rt; (void)a; (void)ret;
    return NO_SUCH_ALGORITHM;
}

/* The key's byte array (size/8 bytes + initialized flag) and size. */
static int key_parts(vm_runtime *rt, uint16_t h, vm_obj **arr, uint16_t *bytes)
{
    vm_obj *k;
    API_TRY(api_this(rt, h, &k));
    if (!api_is_class(k, JC_PKG_SECURITY, JC_SEC_AESKeyImpl))
        return API_CRYPTO(JC_CRYPTO_ILLEGAL_VALUE);
    uint16_t ah = api_slot(k, 2);
    if (ah == 0 || ah >= rt->obj_cap || rt->objs[ah].kind != VM_OBJ_BYTES)
        return API_SECURITY;
    *arr = &rt->objs[ah];
    *bytes = (uint16_t)(api_slot(k, 1) / 8);
    if ((*arr)->length != *bytes + 1u)
        return API_SECURITY;
    return 0;
}

int api_AESKeyImpl_setKey(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    (void)ret;
    vm_obj *key;
    uint16_t n;
    API_TRY(key_parts(rt, a[0], &key, &n));
    BYTES(src, a[1]);
    RANGE(src, a[2], n);
    uint8_t buf[33];
    memcpy(buf, src->data + a[2], n);
    buf[n] = 1;
    int rc = api_store(rt, key, 0, buf, n + 1u, 1);
    memset(buf, 0, sizeof buf);
    return rc;
}

int api_AESKeyImpl_getKey(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    vm_obj *key;
    uint16_t n;
    API_TRY(key_parts(rt, a[0], &key, &n));
    if (!key->data[n])
        return API_CRYPTO(JC_CRYPTO_UNINITIALIZED_KEY);
    BYTES(dst, a[1]);
    RANGE(dst, a[2], n);
    API_TRY(api_store(rt, dst, a[2], key->data, n, 1));
    *ret = n;
    return 0;
}

int api_AESKeyImpl_clearKey(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    (void)ret;
    vm_obj *key;
    uint16_t n;
    API_TRY(key_parts(rt, a[0], &key, &n));
    uint8_t zero[33] = { 0 };
    return api_store(rt, key, 0, zero, n + 1u, 1);
}

int api_AESKeyImpl_isInitialized(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    vm_obj *key;
    uint16_t n;
    API_TRY(key_parts(rt, a[0], &key, &n));
    *ret = key->data[n] != 0;
    return 0;
}

int api_AESKeyImpl_getSize(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    THIS(k);
    *ret = api_slot(k, 1);
    return 0;
}

int api_AESKeyImpl_getType(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    THIS(k);
    *ret = api_slot(k, 0);
    return 0;
}

/* ---- HMAC keys: the length given to buildKey is the key's capacity in
 * bytes (the API's LENGTH_HMAC_* constants are block sizes in bytes);
 * setKey takes any length from 1 to it. Array layout: key[capacity],
 * initialized flag, key length (u16 big-endian). ---- */

enum { HMAC_MAX_KEY = 1024 };

static int new_hmac_key(vm_runtime *rt, uint8_t type, int16_t bytes, uint16_t *ret)
{
    if (bytes < 1 || bytes > HMAC_MAX_KEY)
        return NO_SUCH_ALGORITHM;
    uint8_t flags = type == KEY_TYPE_HMAC ? VM_OF_PERSISTENT
                  : type == KEY_TYPE_HMAC_TRANSIENT_RESET ? VM_OF_CLEAR_RESET : VM_OF_CLEAR_DESELECT;
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

/* The key's array and capacity; *klen the key's length, 0 when not
 * initialized. */
static int hmac_key_parts(vm_runtime *rt, uint16_t h, vm_obj **arr, uint16_t *cap, uint16_t *klen)
{
    vm_obj *k;
    API_TRY(api_this(rt, h, &k));
    if (!api_is_class(k, JC_PKG_SECURITY, JC_SEC_HMACKeyImpl))
        return API_CRYPTO(JC_CRYPTO_ILLEGAL_VALUE);
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

int api_HMACKeyImpl_setKey(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    (void)ret;
    vm_obj *key;
    uint16_t cap, old;
    API_TRY(hmac_key_parts(rt, a[0], &key, &cap, &old));
    BYTES(src, a[1]);
    int16_t len = (int16_t)a[3];
    if (len < 1 || len > (int16_t)cap)
        return API_CRYPTO(JC_CRYPTO_ILLEGAL_VALUE);
    RANGE(src, a[2], (uint16_t)len);
    uint8_t buf[HMAC_MAX_KEY + 3] = { 0 };
    memcpy(buf, src->data + a[2], (size_t)len);
    buf[cap] = 1;
    buf[cap + 1] = (uint8_t)(len >> 8);
    buf[cap + 2] = (uint8_t)len;
    int rc = api_store(rt, key, 0, buf, cap + 3u, 1);
    memset(buf, 0, sizeof buf);
    return rc;
}

int api_HMACKeyImpl_getKey(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    vm_obj *key;
    uint16_t cap, n;
    API_TRY(hmac_key_parts(rt, a[0], &key, &cap, &n));
    if (n == 0)
        return API_CRYPTO(JC_CRYPTO_UNINITIALIZED_KEY);
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
    THIS(k);
    *ret = api_slot(k, 0);
    return 0;
}

/* ---- block chaining engine shared by Cipher and Signature ---- */

enum { ST_IV = 0, ST_CHAIN = 16, ST_PENDING = 32, ST_COUNT = 48, ST_SIZE = 49 };

typedef struct chain_ctx {
    vm_obj *self;
    vm_obj *state;          /* byte[ST_SIZE] */
    const uint8_t *key;     /* key bytes, klen */
    uint16_t klen;
    uint8_t mode;
    uint8_t alg;
} chain_ctx;

static int new_chained(vm_runtime *rt, unsigned pkg, uint8_t token, uint8_t alg, uint16_t *ret)
{
    uint16_t h, st;
    API_TRY(api_new_instance(rt, pkg, token, 0, &h));
    API_TRY(api_new_array(rt, VM_OBJ_BYTES, VM_OF_CLEAR_DESELECT, ST_SIZE, 0, &st));
    vm_obj *o = &rt->objs[h];
    API_TRY(api_slot_set(rt, o, 0, alg));
    API_TRY(api_slot_set(rt, o, 3, st));
    *ret = h;
    return 0;
}

static int chain_state(vm_runtime *rt, uint16_t h, chain_ctx *c)
{
    API_TRY(api_this(rt, h, &c->self));
    uint16_t st = api_slot(c->self, 3);
    if (st == 0 || st >= rt->obj_cap || rt->objs[st].kind != VM_OBJ_BYTES || rt->objs[st].length != ST_SIZE)
        return API_SECURITY;
    c->state = &rt->objs[st];
    c->alg = (uint8_t)api_slot(c->self, 0);
    c->mode = (uint8_t)api_slot(c->self, 1);
    return 0;
}

/* The object's key, which must still be initialized. */
static int chain_key(vm_runtime *rt, chain_ctx *c)
{
    vm_obj *key;
    uint16_t n;
    if (c->mode == 0)
        return API_CRYPTO(JC_CRYPTO_INVALID_INIT);
    API_TRY(key_parts(rt, api_slot(c->self, 2), &key, &n));
    if (!key->data[n])
        return API_CRYPTO(JC_CRYPTO_UNINITIALIZED_KEY);
    c->key = key->data;
    c->klen = n;
    return 0;
}

/* init(key, mode[, iv]): checks, then the fresh state. */
static int chain_init(vm_runtime *rt, uint16_t *a, int with_iv, int cbc, int sig)
{
    chain_ctx c;
    API_TRY(chain_state(rt, a[0], &c));
    vm_obj *key;
    uint16_t n;
    if (a[1] == 0)
        return API_NPE;
    if (a[1] >= rt->obj_cap || !api_is_class(&rt->objs[a[1]], JC_PKG_SECURITY, JC_SEC_AESKeyImpl))
        return API_CRYPTO(JC_CRYPTO_ILLEGAL_VALUE);
    API_TRY(key_parts(rt, a[1], &key, &n));
    if (!key->data[n])
        return API_CRYPTO(JC_CRYPTO_UNINITIALIZED_KEY);
    uint8_t mode = (uint8_t)a[2];
    if (sig ? (mode != MODE_SIGN && mode != MODE_VERIFY) : (mode != MODE_ENCRYPT && mode != MODE_DECRYPT))
        return API_CRYPTO(JC_CRYPTO_ILLEGAL_VALUE);
    uint8_t fresh[ST_SIZE] = { 0 };
    if (with_iv) {
        if (!cbc || (int16_t)a[5] != 16)
            return API_CRYPTO(JC_CRYPTO_ILLEGAL_VALUE);
        BYTES(iv, a[3]);
        RANGE(iv, a[4], 16);
        memcpy(fresh + ST_IV, iv->data + a[4], 16);
        memcpy(fresh + ST_CHAIN, iv->data + a[4], 16);
    }
    API_TRY(api_slot_set(rt, c.self, 1, mode));
    API_TRY(api_slot_set(rt, c.self, 2, a[1]));
    return api_store(rt, c.state, 0, fresh, ST_SIZE, 0);
}

/* Run pending + in through AES (ECB or CBC, encrypt or decrypt) into out
 * (may be NULL: MAC, only the chaining block matters). Full blocks only;
 * the rest stays pending unless `final`, where a rest is ILLEGAL_USE.
 * Returns the bytes produced in *produced. */
static int chain_run(vm_runtime *rt, chain_ctx *c, const vm_obj *in, uint16_t in_off, uint16_t in_len,
                     vm_obj *out, uint16_t out_off, int cbc, int decrypt, int final, uint16_t *produced)
{
    const uint8_t *st = c->state->data;
    uint8_t pending = st[ST_COUNT] & 15;
    uint32_t total = (uint32_t)pending + in_len;
    if (final && total % 16)
        return API_CRYPTO(JC_CRYPTO_ILLEGAL_USE);
    uint32_t whole = total - total % 16;
    if (out)
        RANGE(out, out_off, (uint16_t)whole);
    const uint8_t *src = in->data + in_off;
    symmetric_ECB ecb;
    if (ecb_start(aes_index(), c->key, c->klen, 0, &ecb) != CRYPT_OK)
        return API_CRYPTO(JC_CRYPTO_ILLEGAL_VALUE);
    uint8_t chain[16], block[16], res[16], outbuf[256];
    memcpy(chain, st + ST_CHAIN, 16);
    int rc = 0;
    for (uint32_t done = 0; done < whole && !rc;) {
        uint32_t chunk = whole - done > sizeof outbuf ? sizeof outbuf : whole - done;
        for (uint32_t b = 0; b < chunk; b += 16) {
            for (unsigned i = 0; i < 16; i++) {
                uint32_t pos = done + b + i;
                block[i] = pos < pending ? st[ST_PENDING + pos] : src[pos - pending];
            }
            if (decrypt) {
                ecb_decrypt(block, res, 16, &ecb);
                if (cbc)
                    for (unsigned i = 0; i < 16; i++)
                        res[i] ^= chain[i];
                memcpy(chain, block, 16);
            } else {
                if (cbc)
                    for (unsigned i = 0; i < 16; i++)
                        block[i] ^= chain[i];
                ecb_encrypt(block, res, 16, &ecb);
                memcpy(chain, res, 16);
            }
            memcpy(outbuf + b, res, 16);
        }
        if (out)
            rc = api_store(rt, out, (uint32_t)out_off + done, outbuf, chunk, 0);
        done += chunk;
    }
    ecb_done(&ecb);
    /* the new state: chaining block, what is left pending, its count;
     * after a final block, the state init() left */
    uint8_t ns[ST_SIZE - ST_CHAIN] = { 0 };
    uint32_t left = total - whole;
    memcpy(ns, final ? st + ST_IV : chain, 16);
    for (uint32_t i = 0; i < left; i++) {
        uint32_t pos = whole + i;
        ns[16 + i] = pos < pending ? st[ST_PENDING + pos] : src[pos - pending];
    }
    ns[32] = (uint8_t)left;
    if (!rc)
        rc = api_store(rt, c->state, ST_CHAIN, ns, sizeof ns, 0);
    memset(ns, 0, sizeof ns);
    memset(outbuf, 0, sizeof outbuf);
    memset(block, 0, sizeof block);
    memset(res, 0, sizeof res);
    memset(chain, 0, sizeof chain);
    *produced = (uint16_t)whole;
    return rc;
}

/* Overlapping in/out: chain_run reads input block by block as it writes
 * the output of earlier chunks, which is only safe when the output does
 * not run ahead of the input. Copy the input aside when it could. */
static int cipher_run(vm_runtime *rt, uint16_t *a, uint16_t *ret, int final)
{
    chain_ctx c;
    API_TRY(chain_state(rt, a[0], &c));
    API_TRY(chain_key(rt, &c));
    BYTES(in, a[1]);
    RANGE(in, a[2], a[3]);
    BYTES(out, a[4]);
    int16_t out_off = (int16_t)a[5];
    if (out_off < 0)
        return API_AIOOBE;
    int cbc = c.alg == ALG_AES_BLOCK_128_CBC_NOPAD;
    int dec = c.mode == MODE_DECRYPT;
    uint16_t produced;
    if (in == out && a[3] > 0) {
        /* stage the input in a fresh copy on the C stack, in pieces that
         * keep the output behind the input */
        uint16_t len = a[3];
        if (len > 4096)
            return API_CRYPTO(JC_CRYPTO_ILLEGAL_USE);
        uint8_t copy[4096];
        memcpy(copy, in->data + a[2], len);
        vm_obj tmp = *in;
        tmp.data = copy;
        tmp.length = len;
        int rc = chain_run(rt, &c, &tmp, 0, len, out, (uint16_t)out_off, cbc, dec, final, &produced);
        memset(copy, 0, len);
        API_TRY(rc);
    } else {
        API_TRY(chain_run(rt, &c, in, a[2], a[3], out, (uint16_t)out_off, cbc, dec, final, &produced));
    }
    *ret = produced;
    return 0;
}

/* ---- Cipher ---- */

static int new_cipher(vm_runtime *rt, uint8_t alg, uint16_t *ret)
{
    if (alg != ALG_AES_BLOCK_128_CBC_NOPAD && alg != ALG_AES_BLOCK_128_ECB_NOPAD)
        return NO_SUCH_ALGORITHM;
    return new_chained(rt, JC_PKG_CRYPTO, JC_CRYPTO_Cipher, alg, ret);
}

int api_Cipher_getInstance__BZ(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    ASYM_HOOK(asym_cipher_new(rt, (uint8_t)a[0], &mine_, ret));
    return new_cipher(rt, (uint8_t)a[0], ret);
}

int api_Cipher_getInstance__BBZ(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    ASYM_HOOK(asym_cipher_new_pad(rt, (uint8_t)a[0], (uint8_t)a[1], &mine_, ret));
    uint8_t cipher = (uint8_t)a[0], pad = (uint8_t)a[1];
    if (pad != PAD_NOPAD)
        return NO_SUCH_ALGORITHM;
    if (cipher == CIPHER_AES_CBC)
        return new_cipher(rt, ALG_AES_BLOCK_128_CBC_NOPAD, ret);
    if (cipher == CIPHER_AES_ECB)
        return new_cipher(rt, ALG_AES_BLOCK_128_ECB_NOPAD, ret);
    return NO_SUCH_ALGORITHM;
}

int api_Cipher_init__KeyB(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    ASYM_HOOK(asym_cipher_op(rt, ASYM_INIT, a, ret, &mine_));
    (void)ret;
    THIS(self);
    return chain_init(rt, a, 0, api_slot(self, 0) == ALG_AES_BLOCK_128_CBC_NOPAD, 0);
}

int api_Cipher_init__KeyBaBSS(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    ASYM_HOOK(asym_cipher_op(rt, ASYM_INIT_PARAMS, a, ret, &mine_));
    (void)ret;
    THIS(self);
    return chain_init(rt, a, 1, api_slot(self, 0) == ALG_AES_BLOCK_128_CBC_NOPAD, 0);
}

int api_Cipher_update(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    ASYM_HOOK(asym_cipher_op(rt, ASYM_UPDATE, a, ret, &mine_));
    return cipher_run(rt, a, ret, 0);
}

int api_Cipher_doFinal(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    ASYM_HOOK(asym_cipher_op(rt, ASYM_DO_FINAL, a, ret, &mine_));
    return cipher_run(rt, a, ret, 1);
}

int api_Cipher_getAlgorithm(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    ASYM_HOOK(asym_cipher_op(rt, ASYM_GET_ALG, a, ret, &mine_));
    THIS(self);
    *ret = api_slot(self, 0);
    return 0;
}

int api_Cipher_getCipherAlgorithm(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    ASYM_HOOK(asym_cipher_op(rt, ASYM_GET_CIPHER_ALG, a, ret, &mine_));
    THIS(self);
    *ret = api_slot(self, 0) == ALG_AES_BLOCK_128_CBC_NOPAD ? CIPHER_AES_CBC : CIPHER_AES_ECB;
    return 0;
}

int api_Cipher_getPaddingAlgorithm(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    ASYM_HOOK(asym_cipher_op(rt, ASYM_GET_PAD_ALG, a, ret, &mine_));
    (void)rt; (void)a;
    *ret = PAD_NOPAD;
    return 0;
}

int api_Cipher_OneShot_open(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    (void)rt; (void)a; (void)ret;
    return NO_SUCH_ALGORITHM;
}

/* ---- Signature: ALG_AES_MAC_128_NOPAD, CBC-MAC with a zero (or given)
 * IV and no padding; the HMAC algorithms are below MessageDigest ---- */

static int hmac_signature_new(vm_runtime *rt, uint8_t alg, uint16_t *ret);
static int hmac_dispatch(vm_runtime *rt, const char *op, uint16_t *a, uint16_t *ret, int *handled);

int api_Signature_getInstance__BZ(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    ASYM_HOOK(asym_signature_new(rt, (uint8_t)a[0], &mine_, ret));
    uint8_t alg = (uint8_t)a[0];
    if (alg >= SIG_ALG_HMAC_SHA1 && alg <= SIG_ALG_HMAC_SHA_512)
        return hmac_signature_new(rt, alg, ret);
    if (alg != SIG_ALG_AES_MAC_128_NOPAD)
        return NO_SUCH_ALGORITHM;
    return new_chained(rt, JC_PKG_SECURITY, JC_SEC_Signature, SIG_ALG_AES_MAC_128_NOPAD, ret);
}

int api_Signature_getInstance__BBBZ(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    ASYM_HOOK(asym_signature_new3(rt, (uint8_t)a[0], (uint8_t)a[1], (uint8_t)a[2], &mine_, ret));
    static const uint8_t hmac_of_md[] = { [MD_ALG_SHA_1] = SIG_ALG_HMAC_SHA1, [MD_ALG_SHA_256] = SIG_ALG_HMAC_SHA_256,
                                          [5] = SIG_ALG_HMAC_SHA_384, [6] = SIG_ALG_HMAC_SHA_512 };
    if ((uint8_t)a[1] == SIG_CIPHER_HMAC && (uint8_t)a[0] < sizeof hmac_of_md && hmac_of_md[(uint8_t)a[0]] &&
        ((uint8_t)a[2] == PAD_NULL || (uint8_t)a[2] == PAD_NOPAD))
        return hmac_signature_new(rt, hmac_of_md[(uint8_t)a[0]], ret);
    if ((uint8_t)a[0] != MD_ALG_NULL || (uint8_t)a[1] != SIG_CIPHER_AES_MAC128 ||
        ((uint8_t)a[2] != PAD_NULL && (uint8_t)a[2] != PAD_NOPAD))
        return NO_SUCH_ALGORITHM;
    return new_chained(rt, JC_PKG_SECURITY, JC_SEC_Signature, SIG_ALG_AES_MAC_128_NOPAD, ret);
}

int api_Signature_init__KeyB(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    ASYM_HOOK(asym_signature_op(rt, ASYM_INIT, a, ret, &mine_));
    int handled, hrc = hmac_dispatch(rt, "init", a, ret, &handled);
    if (handled)
        return hrc;
    return chain_init(rt, a, 0, 1, 1);
}

int api_Signature_init__KeyBaBSS(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    ASYM_HOOK(asym_signature_op(rt, ASYM_INIT_PARAMS, a, ret, &mine_));
    int handled, hrc = hmac_dispatch(rt, "initiv", a, ret, &handled);
    if (handled)
        return hrc;
    return chain_init(rt, a, 1, 1, 1);
}

/* Feed in[off, off+len) into the MAC; with `final`, the MAC of all of it
 * into mac[16] and the state back to after init(). */
static int mac_run(vm_runtime *rt, chain_ctx *c, uint16_t in_h, uint16_t off, uint16_t len, int final,
                   uint8_t mac[16])
{
    BYTES(in, in_h);
    RANGE(in, off, len);
    uint16_t produced;
    if (final) {
        /* the final chaining block is what chain_run leaves before the
         * reset to the IV: run without `final`, then read and reset */
        uint8_t pend = c->state->data[ST_COUNT];
        if ((pend + (uint32_t)len) % 16)
            return API_CRYPTO(JC_CRYPTO_ILLEGAL_USE);
        API_TRY(chain_run(rt, c, in, off, len, NULL, 0, 1, 0, 0, &produced));
        memcpy(mac, c->state->data + ST_CHAIN, 16);
        uint8_t reset[ST_SIZE - ST_CHAIN] = { 0 };
        memcpy(reset, c->state->data + ST_IV, 16);
        return api_store(rt, c->state, ST_CHAIN, reset, sizeof reset, 0);
    }
    return chain_run(rt, c, in, off, len, NULL, 0, 1, 0, 0, &produced);
}

static int sig_ready(vm_runtime *rt, uint16_t h, chain_ctx *c, uint8_t mode)
{
    API_TRY(chain_state(rt, h, c));
    if (c->mode != mode)
        return API_CRYPTO(JC_CRYPTO_INVALID_INIT);
    return chain_key(rt, c);
}

int api_Signature_update(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    ASYM_HOOK(asym_signature_op(rt, ASYM_UPDATE, a, ret, &mine_));
    int handled, hrc = hmac_dispatch(rt, "update", a, ret, &handled);
    if (handled)
        return hrc;
    chain_ctx c;
    API_TRY(chain_state(rt, a[0], &c));
    API_TRY(chain_key(rt, &c));
    uint8_t mac[16];
    return mac_run(rt, &c, a[1], a[2], a[3], 0, mac);
}

int api_Signature_sign(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    ASYM_HOOK(asym_signature_op(rt, ASYM_SIGN, a, ret, &mine_));
    int handled, hrc = hmac_dispatch(rt, "sign", a, ret, &handled);
    if (handled)
        return hrc;
    chain_ctx c;
    API_TRY(sig_ready(rt, a[0], &c, MODE_SIGN));
    BYTES(out, a[4]);
    RANGE(out, a[5], 16);
    uint8_t mac[16];
    API_TRY(mac_run(rt, &c, a[1], a[2], a[3], 1, mac));
    int rc = api_store(rt, out, a[5], mac, 16, 0);
    memset(mac, 0, sizeof mac);
    *ret = 16;
    return rc;
}

int api_Signature_verify(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    ASYM_HOOK(asym_signature_op(rt, ASYM_VERIFY, a, ret, &mine_));
    int handled, hrc = hmac_dispatch(rt, "verify", a, ret, &handled);
    if (handled)
        return hrc;
    chain_ctx c;
    API_TRY(sig_ready(rt, a[0], &c, MODE_VERIFY));
    BYTES(sig, a[4]);
    RANGE(sig, a[5], a[6]);
    uint8_t mac[16];
    API_TRY(mac_run(rt, &c, a[1], a[2], a[3], 1, mac));
    *ret = 0;
    if (a[6] == 16) {
        uint8_t diff = 0;
        for (unsigned i = 0; i < 16; i++)
            diff |= (uint8_t)(mac[i] ^ sig->data[a[5] + i]);
        *ret = diff == 0;
    }
    memset(mac, 0, sizeof mac);
    return 0;
}

int api_Signature_getAlgorithm(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    ASYM_HOOK(asym_signature_op(rt, ASYM_GET_ALG, a, ret, &mine_));
    THIS(self);
    *ret = api_slot(self, 0);
    return 0;
}

int api_Signature_getLength(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    ASYM_HOOK(asym_signature_op(rt, ASYM_GET_LENGTH, a, ret, &mine_));
    int handled, hrc = hmac_dispatch(rt, "length", a, ret, &handled);
    if (handled)
        return hrc;
    chain_ctx c;
    API_TRY(chain_state(rt, a[0], &c));
    if (c.mode == 0)
        return API_CRYPTO(JC_CRYPTO_INVALID_INIT);
    *ret = 16;
    return 0;
}

int api_Signature_getMessageDigestAlgorithm(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    ASYM_HOOK(asym_signature_op(rt, ASYM_GET_MD_ALG, a, ret, &mine_));
    int handled, hrc = hmac_dispatch(rt, "mdalg", a, ret, &handled);
    if (handled)
        return hrc;
    *ret = MD_ALG_NULL;
    return 0;
}

int api_Signature_getCipherAlgorithm(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    ASYM_HOOK(asym_signature_op(rt, ASYM_GET_CIPHER_ALG, a, ret, &mine_));
    int handled, hrc = hmac_dispatch(rt, "cipheralg", a, ret, &handled);
    if (handled)
        return hrc;
    *ret = SIG_CIPHER_AES_MAC128;
    return 0;
}

int api_Signature_getPaddingAlgorithm(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    ASYM_HOOK(asym_signature_op(rt, ASYM_GET_PAD_ALG, a, ret, &mine_));
    (void)rt; (void)a;
    *ret = PAD_NOPAD;
    return 0;
}

/* A MAC has no digest to start from or to sign precomputed (JC API:
 * ILLEGAL_USE for a signature algorithm that does not use a digest). */
int api_Signature_setInitialDigest(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    ASYM_HOOK(asym_signature_op(rt, ASYM_SET_DIGEST, a, ret, &mine_));
    (void)rt; (void)a; (void)ret;
    return API_CRYPTO(JC_CRYPTO_ILLEGAL_USE);
}
int api_Signature_signPreComputedHash(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    ASYM_HOOK(asym_signature_op(rt, ASYM_SIGN_HASH, a, ret, &mine_));
    return api_Signature_setInitialDigest(rt, a, ret);
}
int api_Signature_verifyPreComputedHash(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    ASYM_HOOK(asym_signature_op(rt, ASYM_VERIFY_HASH, a, ret, &mine_));
    return api_Signature_setInitialDigest(rt, a, ret);
}

int api_Signature_OneShot_open(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    (void)rt; (void)a; (void)ret;
    return NO_SUCH_ALGORITHM;
}

/* ---- MessageDigest: SHA-1, SHA-224, SHA-256, SHA-384, SHA-512 ----
 * The libtomcrypt state is serialised big-endian into the state array
 * (never copied as a C struct, so the array's meaning does not depend on
 * the host's layout): started flag, buffered count, message length in
 * bits (u64), the chaining words (u32 for SHA-1/224/256, u64 for
 * SHA-384/512), the pending block. */

enum { MD_STARTED = 0, MD_CURLEN = 1, MD_LENGTH = 2, MD_H = 10, MD_BUF = 74, MD_SIZE = 202 };

enum { MD_ALG_SHA = 1, MD_ALG_SHA_384 = 5, MD_ALG_SHA_512 = 6, MD_ALG_SHA_224 = 7 };

typedef struct md_algo {
    uint8_t alg;
    uint8_t out_len;        /* digest bytes */
    uint8_t words;          /* chaining words kept */
    uint8_t wide;           /* 64-bit words and 128-byte blocks */
    const struct ltc_hash_descriptor *desc;
} md_algo;

static const md_algo md_algos[] = {
    { MD_ALG_SHA, 20, 5, 0, &sha1_desc },
    { MD_ALG_SHA_224, 28, 8, 0, &sha224_desc },
    { MD_ALG_SHA_256, 32, 8, 0, &sha256_desc },
    { MD_ALG_SHA_384, 48, 8, 1, &sha384_desc },
    { MD_ALG_SHA_512, 64, 8, 1, &sha512_desc },
};

static const md_algo *md_find(uint8_t alg)
{
    for (size_t i = 0; i < sizeof md_algos / sizeof md_algos[0]; i++)
        if (md_algos[i].alg == alg)
            return &md_algos[i];
    return NULL;
}

static uint64_t get_be(const uint8_t *p, unsigned n)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < n; i++)
        v = (v << 8) | p[i];
    return v;
}

static void put_be(uint8_t *p, uint64_t v, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
}

static void md_load(const md_algo *m, const uint8_t *p, hash_state *md)
{
    m->desc->init(md);
    if (!p[MD_STARTED])
        return;
    if (m->wide) {
        md->sha512.curlen = p[MD_CURLEN] & 127;
        md->sha512.length = get_be(p + MD_LENGTH, 8);
        for (unsigned i = 0; i < 8; i++)
            md->sha512.state[i] = get_be(p + MD_H + 8 * i, 8);
        memcpy(md->sha512.buf, p + MD_BUF, 128);
    } else if (m->words == 5) {
        md->sha1.curlen = p[MD_CURLEN] & 63;
        md->sha1.length = get_be(p + MD_LENGTH, 8);
        for (unsigned i = 0; i < 5; i++)
            md->sha1.state[i] = (ulong32)get_be(p + MD_H + 4 * i, 4);
        memcpy(md->sha1.buf, p + MD_BUF, 64);
    } else {
        md->sha256.curlen = p[MD_CURLEN] & 63;
        md->sha256.length = get_be(p + MD_LENGTH, 8);
        for (unsigned i = 0; i < 8; i++)
            md->sha256.state[i] = (ulong32)get_be(p + MD_H + 4 * i, 4);
        memcpy(md->sha256.buf, p + MD_BUF, 64);
    }
}

static void md_save(const md_algo *m, const hash_state *md, uint8_t *p)
{
    memset(p, 0, MD_SIZE);
    p[MD_STARTED] = 1;
    if (m->wide) {
        p[MD_CURLEN] = (uint8_t)md->sha512.curlen;
        put_be(p + MD_LENGTH, md->sha512.length, 8);
        for (unsigned i = 0; i < 8; i++)
            put_be(p + MD_H + 8 * i, md->sha512.state[i], 8);
        memcpy(p + MD_BUF, md->sha512.buf, 128);
    } else if (m->words == 5) {
        p[MD_CURLEN] = (uint8_t)md->sha1.curlen;
        put_be(p + MD_LENGTH, md->sha1.length, 8);
        for (unsigned i = 0; i < 5; i++)
            put_be(p + MD_H + 4 * i, md->sha1.state[i], 4);
        memcpy(p + MD_BUF, md->sha1.buf, 64);
    } else {
        p[MD_CURLEN] = (uint8_t)md->sha256.curlen;
        put_be(p + MD_LENGTH, md->sha256.length, 8);
        for (unsigned i = 0; i < 8; i++)
            put_be(p + MD_H + 4 * i, md->sha256.state[i], 4);
        memcpy(p + MD_BUF, md->sha256.buf, 64);
    }
}

int api_MessageDigest_getInstance(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    const md_algo *m = md_find((uint8_t)a[0]);
    if (!m)
        return NO_SUCH_ALGORITHM;
    uint16_t h, st;
    API_TRY(api_new_instance(rt, JC_PKG_SECURITY, JC_SEC_MessageDigest, 0, &h));
    API_TRY(api_new_array(rt, VM_OBJ_BYTES, VM_OF_CLEAR_DESELECT, MD_SIZE, 0, &st));
    vm_obj *o = &rt->objs[h];
    API_TRY(api_slot_set(rt, o, 0, m->alg));
    API_TRY(api_slot_set(rt, o, 1, st));
    *ret = h;
    return 0;
}

int api_MessageDigest_getInitializedMessageDigestInstance(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    (void)rt; (void)a; (void)ret;
    return NO_SUCH_ALGORITHM;
}

static int md_state(vm_runtime *rt, uint16_t h, vm_obj **st, const md_algo **m)
{
    vm_obj *self;
    API_TRY(api_this(rt, h, &self));
    uint16_t s = api_slot(self, 1);
    if (s == 0 || s >= rt->obj_cap || rt->objs[s].kind != VM_OBJ_BYTES || rt->objs[s].length != MD_SIZE)
        return API_SECURITY;
    *m = md_find((uint8_t)api_slot(self, 0));
    if (!*m)
        return API_SECURITY;
    *st = &rt->objs[s];
    return 0;
}

int api_MessageDigest_update(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    (void)ret;
    vm_obj *st;
    const md_algo *m;
    API_TRY(md_state(rt, a[0], &st, &m));
    BYTES(in, a[1]);
    RANGE(in, a[2], a[3]);
    hash_state md;
    md_load(m, st->data, &md);
    m->desc->process(&md, in->data + a[2], a[3]);
    uint8_t p[MD_SIZE];
    md_save(m, &md, p);
    memset(&md, 0, sizeof md);
    int rc = api_store(rt, st, 0, p, MD_SIZE, 0);
    memset(p, 0, sizeof p);
    return rc;
}

int api_MessageDigest_doFinal(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    vm_obj *st;
    const md_algo *m;
    API_TRY(md_state(rt, a[0], &st, &m));
    BYTES(in, a[1]);
    RANGE(in, a[2], a[3]);
    BYTES(out, a[4]);
    RANGE(out, a[5], m->out_len);
    hash_state md;
    md_load(m, st->data, &md);
    uint8_t d[64];
    m->desc->process(&md, in->data + a[2], a[3]);
    m->desc->done(&md, d);
    memset(&md, 0, sizeof md);
    uint8_t zero = 0;
    API_TRY(api_store(rt, st, MD_STARTED, &zero, 1, 0));
    API_TRY(api_store(rt, out, a[5], d, m->out_len, 0));
    *ret = m->out_len;
    return 0;
}

int api_MessageDigest_reset(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    (void)ret;
    vm_obj *st;
    const md_algo *m;
    API_TRY(md_state(rt, a[0], &st, &m));
    uint8_t zero = 0;
    return api_store(rt, st, MD_STARTED, &zero, 1, 0);
}

int api_MessageDigest_getLength(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    vm_obj *st;
    const md_algo *m;
    API_TRY(md_state(rt, a[0], &st, &m));
    *ret = m->out_len;
    return 0;
}

int api_MessageDigest_getAlgorithm(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    THIS(self);
    *ret = api_slot(self, 0);
    return 0;
}

int api_MessageDigest_OneShot_open(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    (void)rt; (void)a; (void)ret;
    return NO_SUCH_ALGORITHM;
}

int api_InitializedMessageDigest_OneShot_open(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    (void)rt; (void)a; (void)ret;
    return NO_SUCH_ALGORITHM;
}

/* ---- Signature HMAC-SHA-1/256/384/512 (RFC 2104): the state array
 * (MD_SIZE, CLEAR_ON_DESELECT) holds the inner hash after K0 ^ ipad and
 * the message so far, serialised as MessageDigest's; sign/verify rebuild
 * the outer hash from the key, then put the state back to after init. */

static const md_algo *hmac_md(uint8_t sig_alg)
{
    static const uint8_t md_of[] = { MD_ALG_SHA, MD_ALG_SHA_256, MD_ALG_SHA_384, MD_ALG_SHA_512 };
    if (sig_alg < SIG_ALG_HMAC_SHA1 || sig_alg > SIG_ALG_HMAC_SHA_512)
        return NULL;
    return md_find(md_of[sig_alg - SIG_ALG_HMAC_SHA1]);
}

static int hmac_signature_new(vm_runtime *rt, uint8_t alg, uint16_t *ret)
{
    uint16_t h, st;
    API_TRY(api_new_instance(rt, JC_PKG_SECURITY, JC_SEC_Signature, 0, &h));
    API_TRY(api_new_array(rt, VM_OBJ_BYTES, VM_OF_CLEAR_DESELECT, MD_SIZE, 0, &st));
    vm_obj *o = &rt->objs[h];
    API_TRY(api_slot_set(rt, o, 0, alg));
    API_TRY(api_slot_set(rt, o, 3, st));
    *ret = h;
    return 0;
}

/* K0 ^ pad (RFC 2104: a key longer than the block is hashed first) into
 * block[blocksize]. */
static void hmac_pad(const md_algo *m, const uint8_t *key, uint16_t klen, uint8_t pad, uint8_t *block)
{
    unsigned long bs = m->desc->blocksize;
    memset(block, 0, bs);
    if (klen > bs) {
        hash_state md;
        m->desc->init(&md);
        m->desc->process(&md, key, klen);
        m->desc->done(&md, block);
        memset(&md, 0, sizeof md);
    } else {
        memcpy(block, key, klen);
    }
    for (unsigned long i = 0; i < bs; i++)
        block[i] ^= pad;
}

typedef struct hmac_sig_ctx {
    vm_obj *self, *state;
    const md_algo *m;
    const uint8_t *key;
    uint16_t klen;
    uint8_t mode;
} hmac_sig_ctx;

/* The object's state; with need_key, also its (initialized) key. */
static int hmac_get(vm_runtime *rt, uint16_t h, hmac_sig_ctx *c, int need_key)
{
    API_TRY(api_this(rt, h, &c->self));
    c->m = hmac_md((uint8_t)api_slot(c->self, 0));
    uint16_t st = api_slot(c->self, 3);
    if (!c->m || st == 0 || st >= rt->obj_cap || rt->objs[st].kind != VM_OBJ_BYTES || rt->objs[st].length != MD_SIZE)
        return API_SECURITY;
    c->state = &rt->objs[st];
    c->mode = (uint8_t)api_slot(c->self, 1);
    if (!need_key)
        return 0;
    if (c->mode == 0)
        return API_CRYPTO(JC_CRYPTO_INVALID_INIT);
    vm_obj *key;
    uint16_t cap;
    API_TRY(hmac_key_parts(rt, api_slot(c->self, 2), &key, &cap, &c->klen));
    if (c->klen == 0)
        return API_CRYPTO(JC_CRYPTO_UNINITIALIZED_KEY);
    c->key = key->data;
    return 0;
}

/* The state after init: the inner hash of K0 ^ ipad. */
static int hmac_restart(vm_runtime *rt, hmac_sig_ctx *c)
{
    uint8_t block[128], p[MD_SIZE];
    hash_state md;
    hmac_pad(c->m, c->key, c->klen, 0x36, block);
    c->m->desc->init(&md);
    c->m->desc->process(&md, block, c->m->desc->blocksize);
    md_save(c->m, &md, p);
    int rc = api_store(rt, c->state, 0, p, MD_SIZE, 0);
    memset(block, 0, sizeof block);
    memset(p, 0, sizeof p);
    memset(&md, 0, sizeof md);
    return rc;
}

static int hmac_sig_init(vm_runtime *rt, uint16_t *a)
{
    hmac_sig_ctx c;
    API_TRY(hmac_get(rt, a[0], &c, 0));
    if (a[1] == 0)
        return API_NPE;
    if (a[1] >= rt->obj_cap || !api_is_class(&rt->objs[a[1]], JC_PKG_SECURITY, JC_SEC_HMACKeyImpl))
        return API_CRYPTO(JC_CRYPTO_ILLEGAL_VALUE);
    uint8_t mode = (uint8_t)a[2];
    if (mode != MODE_SIGN && mode != MODE_VERIFY)
        return API_CRYPTO(JC_CRYPTO_ILLEGAL_VALUE);
    vm_obj *key;
    uint16_t cap;
    API_TRY(hmac_key_parts(rt, a[1], &key, &cap, &c.klen));
    if (c.klen == 0)
        return API_CRYPTO(JC_CRYPTO_UNINITIALIZED_KEY);
    c.key = key->data;
    API_TRY(api_slot_set(rt, c.self, 1, mode));
    API_TRY(api_slot_set(rt, c.self, 2, a[1]));
    return hmac_restart(rt, &c);
}

static int hmac_feed(vm_runtime *rt, hmac_sig_ctx *c, uint16_t in_h, uint16_t off, uint16_t len, uint8_t *mac)
{
    BYTES(in, in_h);
    RANGE(in, off, len);
    hash_state md;
    md_load(c->m, c->state->data, &md);
    c->m->desc->process(&md, in->data + off, len);
    if (!mac) {
        uint8_t p[MD_SIZE];
        md_save(c->m, &md, p);
        memset(&md, 0, sizeof md);
        int rc = api_store(rt, c->state, 0, p, MD_SIZE, 0);
        memset(p, 0, sizeof p);
        return rc;
    }
    uint8_t inner[64], block[128];
    c->m->desc->done(&md, inner);
    hmac_pad(c->m, c->key, c->klen, 0x5c, block);
    c->m->desc->init(&md);
    c->m->desc->process(&md, block, c->m->desc->blocksize);
    c->m->desc->process(&md, inner, c->m->out_len);
    c->m->desc->done(&md, mac);
    memset(&md, 0, sizeof md);
    memset(inner, 0, sizeof inner);
    memset(block, 0, sizeof block);
    return hmac_restart(rt, c);
}

/* The Signature methods for an HMAC object (*handled = 1), else nothing. */
static int hmac_dispatch(vm_runtime *rt, const char *op, uint16_t *a, uint16_t *ret, int *handled)
{
    vm_obj *self;
    *handled = 0;
    API_TRY(api_this(rt, a[0], &self));
    const md_algo *m = hmac_md((uint8_t)api_slot(self, 0));
    if (!m)
        return 0;
    *handled = 1;
    hmac_sig_ctx c;
    uint8_t mac[64];
    if (!strcmp(op, "init"))
        return hmac_sig_init(rt, a);
    if (!strcmp(op, "initiv"))
        return API_CRYPTO(JC_CRYPTO_ILLEGAL_VALUE);   /* HMAC takes no parameters */
    if (!strcmp(op, "mdalg")) {
        *ret = m->alg;
        return 0;
    }
    if (!strcmp(op, "cipheralg")) {
        *ret = SIG_CIPHER_HMAC;
        return 0;
    }
    API_TRY(hmac_get(rt, a[0], &c, 1));
    if (!strcmp(op, "length")) {
        *ret = m->out_len;
        return 0;
    }
    if (!strcmp(op, "update"))
        return hmac_feed(rt, &c, a[1], a[2], a[3], NULL);
    if (!strcmp(op, "sign")) {
        if (c.mode != MODE_SIGN)
            return API_CRYPTO(JC_CRYPTO_INVALID_INIT);
        BYTES(out, a[4]);
        RANGE(out, a[5], m->out_len);
        API_TRY(hmac_feed(rt, &c, a[1], a[2], a[3], mac));
        int rc = api_store(rt, out, a[5], mac, m->out_len, 0);
        memset(mac, 0, sizeof mac);
        *ret = m->out_len;
        return rc;
    }
    /* verify: constant time over the whole MAC */
    if (c.mode != MODE_VERIFY)
        return API_CRYPTO(JC_CRYPTO_INVALID_INIT);
    BYTES(sig, a[4]);
    RANGE(sig, a[5], a[6]);
    API_TRY(hmac_feed(rt, &c, a[1], a[2], a[3], mac));
    *ret = 0;
    if (a[6] == m->out_len) {
        uint8_t diff = 0;
        for (unsigned i = 0; i < m->out_len; i++)
            diff |= (uint8_t)(mac[i] ^ sig->data[a[5] + i]);
        *ret = diff == 0;
    }
    memset(mac, 0, sizeof mac);
    return 0;
}

/* ---- RandomData: both algorithms draw from libtomcrypt's RNG, which
 * already is a secure one; a seed adds nothing to it. ---- */

int api_RandomData_getInstance(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    uint8_t alg = (uint8_t)a[0];
    if (alg != RND_PSEUDO && alg != RND_SECURE)
        return NO_SUCH_ALGORITHM;
    uint16_t h;
    API_TRY(api_new_instance(rt, JC_PKG_SECURITY, JC_SEC_RandomData, 0, &h));
    API_TRY(api_slot_set(rt, &rt->objs[h], 0, alg));
    *ret = h;
    return 0;
}

static int random_fill(vm_runtime *rt, uint16_t *a)
{
    BYTES(out, a[1]);
    RANGE(out, a[2], a[3]);
    uint8_t buf[256];
    for (uint16_t done = 0; done < a[3];) {
        uint16_t n = (uint16_t)((size_t)(a[3] - done) > sizeof buf ? sizeof buf : (size_t)(a[3] - done));
        if (rng_get_bytes(buf, n, NULL) != n)
            return API_CRYPTO(JC_CRYPTO_ILLEGAL_VALUE);
        API_TRY(api_store(rt, out, (uint32_t)a[2] + done, buf, n, 0));
        done = (uint16_t)(done + n);
    }
    memset(buf, 0, sizeof buf);
    return 0;
}

int api_RandomData_generateData(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    (void)ret;
    return random_fill(rt, a);
}

int api_RandomData_nextBytes(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    API_TRY(random_fill(rt, a));
    *ret = (uint16_t)(a[2] + a[3]);
    return 0;
}

int api_RandomData_setSeed(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    (void)ret;
    BYTES(seed, a[1]);
    RANGE(seed, a[2], a[3]);
    return 0;
}

int api_RandomData_getAlgorithm(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    THIS(self);
    *ret = api_slot(self, 0);
    return 0;
}

int api_RandomData_OneShot_open(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    (void)rt; (void)a; (void)ret;
    return NO_SUCH_ALGORITHM;
}

/* ---- the rest of the factories: not on this card ---- */

int api_Checksum_getInstance(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    (void)rt; (void)a; (void)ret;
    return NO_SUCH_ALGORITHM;
}
