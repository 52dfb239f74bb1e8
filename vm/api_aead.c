/*
 * api_aead.c — javacardx.crypto.AEADCipher: ALG_AES_GCM (NIST SP 800-38D)
 * and ALG_AES_CCM (RFC 3610, NIST SP 800-38C), driven through libtomcrypt's
 * streaming functions (gcm_add_aad/gcm_process/gcm_done, ccm_add_aad/
 * ccm_process/ccm_done), one call of theirs per API call.
 *
 * Objects: Cipher.getInstance(ALG_AES_GCM or _CCM) (or CIPHER_AES_GCM/_CCM
 * with PAD_NULL) makes an instance of AEADCipher with Cipher's slots
 * (api_crypto.h); Cipher.init/update/doFinal reach this family through
 * api_cipher.c, the AEADCipher methods (the CCM init, updateAAD,
 * retrieveTag, verifyTag) are defined here. Cipher.OneShot has no AEAD
 * algorithms (its class has no AEAD methods): NO_SUCH_ALGORITHM.
 *
 * Where the running state lives. The card's state stays in the object's
 * CLEAR_ON_RESET state array (slot 3), as for every Cipher: libtomcrypt's
 * fields that change as data goes through (GHASH accumulator X and counter
 * Y for GCM, CBC-MAC block PAD and counter for CCM, lengths, positions),
 * never a key schedule, a table or keystream (the keystream block of a
 * partly used counter is re-encrypted when the state is loaded). At each
 * call a libtomcrypt state is rebuilt from the key and those fields, run,
 * and its changed fields written back; the fields are the public members
 * of gcm_state/ccm_state (tomcrypt_mac.h, pointer-free in 1.18).
 * What is derived from the key alone is cached: GCM's state holds, as
 * Debian builds libtomcrypt (LTC_GCM_TABLES), a 64 KB multiplication table
 * whose computation costs about ten times a 1 KB message, so the card
 * object keeps a few of those (struct api_aead_cache, in rt->aead_cache)
 * keyed by the key bytes, compared in constant time at every use; the
 * cache is a memo only (a miss recomputes), is wiped when evicted, when
 * any AES key is set or cleared (AESKey.setKey/clearKey, api_keys.c), at
 * every card reset and when the runtime is destroyed (a key cleared at
 * deselect stays in it until one of those). CCM needs no cache (its
 * setup is one AES key schedule).
 *
 * Semantics (JC 3.0.5 AEADCipher):
 *   - GCM takes init(key, mode) (the IV is then 12 zero bytes, as the API
 *     specifies "0 for initial vector") or init(key, mode, nonce, off,
 *     len) with a nonce of 1 byte or more; the CCM init with lengths is
 *     INVALID_INIT for GCM. CCM takes only the init with nonce (7 to 13
 *     bytes), AAD length, message length (each 0 or more) and tag size (4,
 *     6, ..., 16 bytes); the other two are INVALID_INIT.
 *   - updateAAD before any update/doFinal data (else ILLEGAL_USE); CCM:
 *     more AAD than announced ILLEGAL_VALUE; update/doFinal with part of
 *     the announced AAD missing, or beyond the announced message length,
 *     or a doFinal short of it: ILLEGAL_USE.
 *   - update and doFinal output as many bytes as they take (both are
 *     streams); doFinal computes the tag and puts the object back to the
 *     state its init made (same key, mode, nonce), keeping the tag for
 *     retrieveTag (MODE_ENCRYPT) / verifyTag (MODE_DECRYPT) until the next
 *     message starts; either before a doFinal, or in the other mode:
 *     ILLEGAL_USE. retrieveTag gives the first tagLen bytes (GCM: 4, 8, or
 *     12 to 16, SP 800-38D 5.2.1.2; CCM: exactly the tag size of init;
 *     else ILLEGAL_VALUE). verifyTag(buf, off, len, required): true when
 *     len >= required and the len bytes equal the tag's first len bytes
 *     (constant time); required must be a length retrieveTag accepts
 *     (else ILLEGAL_VALUE); a mismatch answers false (the 3.0.5 API has no
 *     exception for it).
 *   - A tear or reset clears the state array: GCM is then as init(key,
 *     mode) leaves it (zero IV, per the API's rule for a reset Cipher);
 *     CCM has lost its nonce and lengths: INVALID_INIT until the next init.
 *   - The state array is not transaction-logged; a call that throws
 *     leaves it (and its output) as they were.
 */
#include <stdlib.h>
#include <string.h>

#include "api_crypto.h"

/* State array layout. Common: flags, the last tag. GCM: J0 (the initial
 * counter block its nonce gives), X, Y, bytes of the current block used,
 * phase (AAD or text), AAD and text bit counts. CCM: nonce, its length,
 * the announced lengths and tag size, then PAD, ctr, the keystream bytes
 * of ctr used, PAD position, AAD and text bytes taken. */
enum {
    F_NONCE = 1,        /* init gave a nonce (GCM: J0 valid) */
    F_RUNNING = 2,      /* a message is under way: the running fields hold */
    F_TAG = 4,          /* TAG holds the tag of the last doFinal */
};
enum {
    ST_FLAGS = 0, ST_TAG = 1,                                   /* 16 */
    G_J0 = 17, G_X = 33, G_Y = 49, G_BUFLEN = 65, G_MODE = 66, G_TOTLEN = 67, G_PTLEN = 75, /* 8 each */
    C_NONCE = 17, C_NONCE_LEN = 30, C_AAD_LEN = 31, C_MSG_LEN = 33, C_TAG_LEN = 35,
    C_PAD = 36, C_CTR = 52, C_CTRLEN = 68, C_X = 69, C_AAD_DONE = 70, C_MSG_DONE = 72,
    ST_SIZE = 83,
};

static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static void put16(uint8_t *p, uint32_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static uint64_t get64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}
static void put64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t)v;
}

/* ---- the GCM key cache (the card object's; see the header) ---- */

enum { GCM_CACHED = 2 };

struct api_aead_cache {
    struct gcm_entry {
        gcm_state *g;       /* NULL: empty */
        uint8_t key[32];
        uint8_t key_len;
        uint32_t used;      /* last use (tick), for eviction */
    } e[GCM_CACHED];
    uint32_t tick;
};

static void entry_wipe(struct gcm_entry *e)
{
    if (e->g) {
        api_wipe(e->g, sizeof *e->g);
        free(e->g);
    }
    api_wipe(e, sizeof *e);
}

void api_aead_cache_clear(vm_runtime *rt)
{
    if (!rt->aead_cache)
        return;
    for (unsigned i = 0; i < GCM_CACHED; i++)
        entry_wipe(&rt->aead_cache->e[i]);
    free(rt->aead_cache);
    rt->aead_cache = NULL;
}

/* A gcm_state with the key's schedule, H and tables; its running fields
 * are the caller's to set. NULL: out of memory. */
static gcm_state *gcm_for_key(vm_runtime *rt, const uint8_t *key, uint16_t len)
{
    if (!rt->aead_cache && !(rt->aead_cache = calloc(1, sizeof *rt->aead_cache)))
        return NULL;
    struct api_aead_cache *c = rt->aead_cache;
    struct gcm_entry *victim = &c->e[0];
    c->tick++;
    for (unsigned i = 0; i < GCM_CACHED; i++) {
        struct gcm_entry *e = &c->e[i];
        if (e->g && e->key_len == len && api_ct_equal(e->key, key, len)) {
            e->used = c->tick;
            return e->g;
        }
        if (!e->g || (victim->g && e->used < victim->used))
            victim = e;
    }
    entry_wipe(victim);
    if (!(victim->g = malloc(sizeof *victim->g)))
        return NULL;
    if (gcm_init(victim->g, api_aes_index(), key, len) != CRYPT_OK) {
        entry_wipe(victim);
        return NULL;
    }
    memcpy(victim->key, key, len);
    victim->key_len = (uint8_t)len;
    victim->used = c->tick;
    return victim->g;
}

/* ---- the object ---- */

typedef struct aead_ctx {
    vm_obj *self, *state;
    uint8_t alg, mode;
    const uint8_t *key;
    uint16_t key_len;
    uint8_t st[ST_SIZE];    /* copy of the state array, written back on success */
} aead_ctx;

static int is_aead(uint8_t alg)
{
    return alg == ALG_AES_GCM || alg == ALG_AES_CCM;
}

/* The object and its state; with `keyed`, also its mode (INVALID_INIT
 * when not initialized) and key. */
static int ctx_load(vm_runtime *rt, uint16_t h, int keyed, aead_ctx *c)
{
    memset(c->st, 0, sizeof c->st);
    API_TRY(api_this(rt, h, &c->self));
    c->alg = (uint8_t)api_slot(c->self, 0);
    if (!is_aead(c->alg) || !api_is_class(c->self, JC_PKG_CRYPTO, JC_CRYPTO_AEADCipher))
        return API_SECURITY;
    API_TRY(api_crypto_state(rt, c->self, ST_SIZE, &c->state));
    c->mode = (uint8_t)api_slot(c->self, 1);
    if (keyed) {
        if (c->mode == 0)
            return INVALID_INIT;
        API_TRY(api_secret_key(rt, api_slot(c->self, 2), JC_SEC_AESKeyImpl, &c->key, &c->key_len));
    }
    memcpy(c->st, c->state->data, ST_SIZE);
    return 0;
}

static int ctx_store(vm_runtime *rt, aead_ctx *c)
{
    int rc = api_store(rt, c->state, 0, c->st, ST_SIZE, 0);
    api_wipe(c->st, sizeof c->st);
    return rc;
}

/* ---- GCM: the running fields <-> gcm_state ---- */

/* The J0 of a nonce (gcm_add_iv, then the switch to AAD that computes it). */
static int gcm_j0(gcm_state *g, const uint8_t *nonce, unsigned long len, uint8_t *j0)
{
    if (gcm_reset(g) != CRYPT_OK || gcm_add_iv(g, nonce, len) != CRYPT_OK || gcm_add_aad(g, NULL, 0) != CRYPT_OK)
        return ILLEGAL_VALUE;
    memcpy(j0, g->Y_0, 16);
    return 0;
}

static int gcm_load(gcm_state *g, const uint8_t *st)
{
    uint8_t j0[16] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 };   /* a 12-byte zero IV's */
    if (st[ST_FLAGS] & F_NONCE)
        memcpy(j0, st + G_J0, 16);
    memcpy(g->Y_0, j0, 16);
    g->ivmode = 0;
    memset(g->buf, 0, 16);
    if (!(st[ST_FLAGS] & F_RUNNING)) {
        memset(g->X, 0, 16);
        memcpy(g->Y, j0, 16);
        g->buflen = 0;
        g->mode = LTC_GCM_MODE_AAD;
        g->totlen = g->pttotlen = 0;
        return 0;
    }
    memcpy(g->X, st + G_X, 16);
    memcpy(g->Y, st + G_Y, 16);
    g->buflen = st[G_BUFLEN];
    g->mode = st[G_MODE] == LTC_GCM_MODE_TEXT ? LTC_GCM_MODE_TEXT : LTC_GCM_MODE_AAD;
    g->totlen = get64(st + G_TOTLEN);
    g->pttotlen = get64(st + G_PTLEN);
    if (g->buflen > 16)
        return API_SECURITY;
    /* in the text phase buf is the keystream block of Y */
    if (g->mode == LTC_GCM_MODE_TEXT &&
        cipher_descriptor[g->cipher].ecb_encrypt(g->Y, g->buf, &g->K) != CRYPT_OK)
        return API_SECURITY;
    return 0;
}

static void gcm_save(const gcm_state *g, uint8_t *st)
{
    memcpy(st + G_X, g->X, 16);
    memcpy(st + G_Y, g->Y, 16);
    st[G_BUFLEN] = (uint8_t)g->buflen;
    st[G_MODE] = (uint8_t)g->mode;
    put64(st + G_TOTLEN, g->totlen);
    put64(st + G_PTLEN, g->pttotlen);
    st[ST_FLAGS] = (uint8_t)((st[ST_FLAGS] | F_RUNNING) & ~F_TAG);
}

/* Wipe the running fields of a cached state (the key part stays). */
static void gcm_scrub(gcm_state *g)
{
    api_wipe(g->X, 16);
    api_wipe(g->Y, 16);
    api_wipe(g->Y_0, 16);
    api_wipe(g->buf, 16);
}

/* ---- CCM: the running fields <-> ccm_state ---- */

static int ccm_load(const aead_ctx *c, ccm_state *m)
{
    const uint8_t *st = c->st;
    if (!(st[ST_FLAGS] & F_NONCE))
        return INVALID_INIT;
    if (ccm_init(m, api_aes_index(), c->key, c->key_len, get16(st + C_MSG_LEN), st[C_TAG_LEN],
                 get16(st + C_AAD_LEN)) != CRYPT_OK ||
        ccm_add_nonce(m, st + C_NONCE, st[C_NONCE_LEN]) != CRYPT_OK)
        return ILLEGAL_VALUE;
    if (!(st[ST_FLAGS] & F_RUNNING))
        return 0;
    memcpy(m->PAD, st + C_PAD, 16);
    memcpy(m->ctr, st + C_CTR, 16);
    m->CTRlen = st[C_CTRLEN];
    m->x = st[C_X];
    m->current_aadlen = get16(st + C_AAD_DONE);
    m->current_ptlen = get16(st + C_MSG_DONE);
    if (m->CTRlen > 16 || m->x > 16)
        return API_SECURITY;
    if (m->CTRlen < 16 && cipher_descriptor[m->cipher].ecb_encrypt(m->ctr, m->CTRPAD, &m->K) != CRYPT_OK)
        return API_SECURITY;
    return 0;
}

static void ccm_save(const ccm_state *m, uint8_t *st)
{
    memcpy(st + C_PAD, m->PAD, 16);
    memcpy(st + C_CTR, m->ctr, 16);
    st[C_CTRLEN] = m->CTRlen;
    st[C_X] = (uint8_t)m->x;
    put16(st + C_AAD_DONE, (uint32_t)m->current_aadlen);
    put16(st + C_MSG_DONE, (uint32_t)m->current_ptlen);
    st[ST_FLAGS] = (uint8_t)((st[ST_FLAGS] | F_RUNNING) & ~F_TAG);
}

/* ---- init ---- */

static int aead_setup(vm_runtime *rt, vm_obj *self, uint8_t alg, int jcre)
{
    (void)alg;
    return api_crypto_state_new(rt, self, ST_SIZE, jcre);
}

/* The checks every init shares: the algorithm's own init form (else
 * INVALID_INIT), the key (class, initialized), the mode. */
static int init_common(vm_runtime *rt, uint16_t *a, int ccm_form, aead_ctx *c)
{
    API_TRY(ctx_load(rt, a[0], 0, c));
    if ((c->alg == ALG_AES_CCM) != ccm_form)
        return INVALID_INIT;
    API_TRY(api_secret_key(rt, a[1], JC_SEC_AESKeyImpl, &c->key, &c->key_len));
    if (a[2] != MODE_ENCRYPT && a[2] != MODE_DECRYPT)
        return ILLEGAL_VALUE;
    memset(c->st, 0, sizeof c->st);
    return 0;
}

static int init_finish(vm_runtime *rt, uint16_t *a, aead_ctx *c)
{
    API_TRY(api_slot_set(rt, c->self, 1, a[2]));
    API_TRY(api_slot_set(rt, c->self, 2, a[1]));
    return ctx_store(rt, c);
}

/* Cipher.init(key, mode[, nonce, off, len]) */
static int aead_init(vm_runtime *rt, uint16_t *a, int with_params)
{
    aead_ctx c;
    API_TRY(init_common(rt, a, 0, &c));
    if (with_params) {
        BYTES(nonce, a[3]);
        if ((int16_t)a[5] < 1)
            return ILLEGAL_VALUE;
        RANGE(nonce, a[4], a[5]);
        gcm_state *g = gcm_for_key(rt, c.key, c.key_len);
        if (!g)
            return API_SYSTEM(JC_SYS_NO_RESOURCE);
        int rc = gcm_j0(g, nonce->data + a[4], a[5], c.st + G_J0);
        gcm_scrub(g);
        API_TRY(rc);
        c.st[ST_FLAGS] = F_NONCE;
    }
    return init_finish(rt, a, &c);
}

int api_AEADCipher_init__KeyBaBSSSSS(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    (void)ret;
    aead_ctx c;
    API_TRY(init_common(rt, a, 1, &c));
    BYTES(nonce, a[3]);
    int16_t nlen = (int16_t)a[5], aad = (int16_t)a[6], msg = (int16_t)a[7], tag = (int16_t)a[8];
    if (nlen < 7 || nlen > 13 || aad < 0 || msg < 0 || tag < 4 || tag > 16 || tag % 2)
        return ILLEGAL_VALUE;
    RANGE(nonce, a[4], (uint16_t)nlen);
    memcpy(c.st + C_NONCE, nonce->data + a[4], (size_t)nlen);
    c.st[C_NONCE_LEN] = (uint8_t)nlen;
    put16(c.st + C_AAD_LEN, (uint16_t)aad);
    put16(c.st + C_MSG_LEN, (uint16_t)msg);
    c.st[C_TAG_LEN] = (uint8_t)tag;
    c.st[ST_FLAGS] = F_NONCE;
    return init_finish(rt, a, &c);
}

/* ---- AAD and data ---- */

int api_AEADCipher_updateAAD(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    (void)ret;
    aead_ctx c;
    API_TRY(ctx_load(rt, a[0], 1, &c));
    BYTES(in, a[1]);
    RANGE(in, a[2], a[3]);
    int rc = 0;
    if (c.alg == ALG_AES_GCM) {
        gcm_state *g = gcm_for_key(rt, c.key, c.key_len);
        if (!g)
            return API_SYSTEM(JC_SYS_NO_RESOURCE);
        if ((rc = gcm_load(g, c.st)) == 0) {
            if (g->mode != LTC_GCM_MODE_AAD)
                rc = ILLEGAL_USE;
            else if (a[3] && gcm_add_aad(g, in->data + a[2], a[3]) != CRYPT_OK)
                rc = ILLEGAL_USE;
            else
                gcm_save(g, c.st);
        }
        gcm_scrub(g);
    } else {
        ccm_state m;
        if ((rc = ccm_load(&c, &m)) == 0) {
            if (m.current_ptlen > 0)
                rc = ILLEGAL_USE;
            else if (m.current_aadlen + a[3] > m.aadlen)
                rc = ILLEGAL_VALUE;
            else if (a[3] && ccm_add_aad(&m, in->data + a[2], a[3]) != CRYPT_OK)
                rc = ILLEGAL_VALUE;
            else
                ccm_save(&m, c.st);
        }
        api_wipe(&m, sizeof m);
    }
    if (!rc)
        rc = ctx_store(rt, &c);
    api_wipe(c.st, sizeof c.st);
    return rc;
}

/* update (final 0) or doFinal (final 1): in[a1 + a2, a3] -> out[a4 + a5] */
static int aead_run(vm_runtime *rt, uint16_t *a, uint16_t *ret, int final)
{
    aead_ctx c;
    API_TRY(ctx_load(rt, a[0], 1, &c));
    BYTES(in, a[1]);
    RANGE(in, a[2], a[3]);
    BYTES(out, a[4]);
    if ((int16_t)a[5] < 0)
        return API_AIOOBE;
    RANGE(out, a[5], a[3]);
    uint16_t len = a[3];
    uint8_t *work = malloc(len ? len : 1u);
    if (!work)
        return API_SYSTEM(JC_SYS_NO_RESOURCE);
    memcpy(work, in->data + a[2], len);
    int dir = c.mode == MODE_ENCRYPT ? LTC_ENCRYPT : LTC_DECRYPT, rc = 0;
    uint8_t tag[16];
    unsigned long tag_len = sizeof tag;
    if (c.alg == ALG_AES_GCM) {
        gcm_state *g = gcm_for_key(rt, c.key, c.key_len);
        if (!g) {
            rc = API_SYSTEM(JC_SYS_NO_RESOURCE);
        } else {
            if ((rc = gcm_load(g, c.st)) == 0 && len && gcm_process(g, work, len, work, dir) != CRYPT_OK)
                rc = ILLEGAL_USE;
            int rekeyed = 1;
            if (!rc && final) {
                if (gcm_done(g, tag, &tag_len) != CRYPT_OK)
                    rc = ILLEGAL_USE;
                /* gcm_done ends with the cipher's done(): schedule the key
                 * again so that the cached state stays usable */
                rekeyed = cipher_descriptor[g->cipher].setup(c.key, c.key_len, 0, &g->K) == CRYPT_OK;
            } else if (!rc) {
                gcm_save(g, c.st);
            }
            gcm_scrub(g);
            if (!rekeyed)
                api_aead_cache_clear(rt);
        }
    } else {
        ccm_state m;
        if ((rc = ccm_load(&c, &m)) == 0) {
            if (m.current_aadlen != m.aadlen || m.current_ptlen + len > m.ptlen ||
                (final && m.current_ptlen + len != m.ptlen))
                rc = ILLEGAL_USE;
            else if (len && ccm_process(&m, work, len, work, dir) != CRYPT_OK)
                rc = ILLEGAL_USE;
            else if (final && ccm_done(&m, tag, &tag_len) != CRYPT_OK)
                rc = ILLEGAL_USE;
            else if (!final)
                ccm_save(&m, c.st);
            if (!rc && final)
                tag_len = c.st[C_TAG_LEN];
        }
        api_wipe(&m, sizeof m);
    }
    if (!rc && final) {
        /* back to what init made, the tag kept */
        c.st[ST_FLAGS] = (uint8_t)((c.st[ST_FLAGS] & ~F_RUNNING) | F_TAG);
        memset(c.st + ST_TAG, 0, 16);
        memcpy(c.st + ST_TAG, tag, tag_len);
    }
    if (!rc)
        rc = api_store(rt, out, a[5], work, len, 0);
    if (!rc)
        rc = ctx_store(rt, &c);
    if (!rc)
        *ret = len;
    api_wipe(work, len);
    free(work);
    api_wipe(tag, sizeof tag);
    api_wipe(c.st, sizeof c.st);
    return rc;
}

static int aead_update(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    return aead_run(rt, a, ret, 0);
}

static int aead_final(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    return aead_run(rt, a, ret, 1);
}

/* ---- the tag ---- */

/* Whether a tag of n bytes is one this algorithm gives (see the header). */
static int tag_len_ok(const aead_ctx *c, int16_t n)
{
    if (c->alg == ALG_AES_CCM)
        return n == c->st[C_TAG_LEN];
    return n == 4 || n == 8 || (n >= 12 && n <= 16);
}

/* The tag of the last doFinal in `want_mode`, else ILLEGAL_USE. */
static int tag_ready(const aead_ctx *c, uint8_t want_mode)
{
    return (c->st[ST_FLAGS] & F_TAG) && c->mode == want_mode ? 0 : ILLEGAL_USE;
}

int api_AEADCipher_retrieveTag(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    aead_ctx c;
    int rc = ctx_load(rt, a[0], 0, &c);
    vm_obj *out = NULL;
    if (!rc)
        rc = tag_ready(&c, MODE_ENCRYPT);
    if (!rc && !tag_len_ok(&c, (int16_t)a[3]))
        rc = ILLEGAL_VALUE;
    if (!rc)
        rc = api_bytes(rt, a[1], &out);
    if (!rc)
        rc = api_range(out, a[2], a[3]);
    if (!rc)
        rc = api_store(rt, out, a[2], c.st + ST_TAG, a[3], 0);
    if (!rc)
        *ret = a[3];
    api_wipe(c.st, sizeof c.st);
    return rc;
}

int api_AEADCipher_verifyTag(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    aead_ctx c;
    int rc = ctx_load(rt, a[0], 0, &c);
    vm_obj *in = NULL;
    if (!rc)
        rc = tag_ready(&c, MODE_DECRYPT);
    if (!rc && !tag_len_ok(&c, (int16_t)a[4]))
        rc = ILLEGAL_VALUE;
    if (!rc)
        rc = api_bytes(rt, a[1], &in);
    if (!rc)
        rc = api_range(in, a[2], a[3]);
    if (!rc) {
        unsigned full = c.alg == ALG_AES_CCM ? c.st[C_TAG_LEN] : 16;
        int16_t n = (int16_t)a[3];
        *ret = n >= (int16_t)a[4] && n <= (int)full && api_ct_equal(in->data + a[2], c.st + ST_TAG, (unsigned)n);
    }
    api_wipe(c.st, sizeof c.st);
    return rc;
}

static int aead_claims(uint8_t alg)
{
    return is_aead(alg);
}

const api_cipher_family api_aead_cipher_family = {
    aead_claims, aead_setup, aead_init, aead_update, aead_final,
};
