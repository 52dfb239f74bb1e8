/*
 * api_digest.c — javacard.security.MessageDigest (SHA-1, SHA-224,
 * SHA-256, SHA-384, SHA-512), MessageDigest.OneShot, InitializedMessageDigest
 * and its OneShot (setInitialDigest: api_md_initial_state), and the HMAC
 * signature family (Signature.ALG_HMAC_SHA1/_SHA_256/_SHA_384/_SHA_512),
 * which keeps its inner hash in the same serialised form.
 *
 * Object state:
 *   MessageDigest [0] algorithm, [1] ref byte[MD_STATE_SIZE]
 *                 CLEAR_ON_RESET (a tear or reset puts the object back to
 *                 its state after construction): the SHA state, serialised
 *                 big-endian (started flag, buffered count, bit length u64,
 *                 H[8] u64, block[128]; SHA-1/224/256 use u32 words and 64
 *                 bytes of block); OneShot: [2] open flag
 *   Signature (HMAC) [3] ref byte[MD_STATE_SIZE] CLEAR_ON_RESET: the
 *                 inner hash after K0 ^ ipad and the message so far; found
 *                 cleared (not started) after a reset, it is rebuilt from
 *                 the key, so the object is back to what init() made
 * The state is never copied as a C struct, so the array's meaning does
 * not depend on the host's layout.
 */
#include <string.h>

#include "api_crypto.h"

enum { MD_STARTED = 0, MD_CURLEN = 1, MD_LENGTH = 2, MD_H = 10, MD_BUF = 74, MD_SIZE = MD_STATE_SIZE };

static const md_algo md_algos[] = {
    { MD_ALG_SHA, 20, 5, 0, &sha1_desc },
    { MD_ALG_SHA_224, 28, 8, 0, &sha224_desc },
    { MD_ALG_SHA_256, 32, 8, 0, &sha256_desc },
    { MD_ALG_SHA_384, 48, 8, 1, &sha384_desc },
    { MD_ALG_SHA_512, 64, 8, 1, &sha512_desc },
};

const md_algo *api_md_find(uint8_t alg)
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

void api_md_load(const md_algo *m, const uint8_t *p, hash_state *md)
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

void api_md_save(const md_algo *m, const hash_state *md, uint8_t *p)
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

int api_md_initial_state(vm_runtime *rt, const md_algo *m, const uint16_t *a, uint8_t *p)
{
    BYTES(h, a[1]);
    RANGE(h, a[2], a[3]);
    BYTES(l, a[4]);
    RANGE(l, a[5], a[6]);
    unsigned state_len = m->words * (m->wide ? 8u : 4u);
    if (a[3] != state_len || a[6] > 8)
        return ILLEGAL_VALUE;
    uint64_t bytes = get_be(l->data + a[5], a[6]);
    /* block-aligned, and its length in bits fits the hash's counter */
    if (bytes % m->desc->blocksize || bytes >> 61)
        return ILLEGAL_VALUE;
    memset(p, 0, MD_SIZE);
    p[MD_STARTED] = 1;
    put_be(p + MD_LENGTH, bytes * 8, 8);
    memcpy(p + MD_H, h->data + a[2], state_len);   /* the state's words, big-endian as serialised */
    return 0;
}

/* ---- MessageDigest ---- */

static int md_new(vm_runtime *rt, uint8_t token, uint8_t alg, uint16_t *ret)
{
    const md_algo *m = api_md_find(alg);
    if (!m)
        return NO_SUCH_ALGORITHM;
    uint16_t h, st;
    API_TRY(api_new_instance(rt, JC_PKG_SECURITY, token, 0, &h));
    API_TRY(api_new_array(rt, VM_OBJ_BYTES, VM_OF_CLEAR_RESET, MD_SIZE, 0, &st));
    vm_obj *o = &rt->objs[h];
    API_TRY(api_slot_set(rt, o, 0, m->alg));
    API_TRY(api_slot_set(rt, o, 1, st));
    *ret = h;
    return 0;
}

int api_MessageDigest_getInstance(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    return md_new(rt, JC_SEC_MessageDigest, (uint8_t)a[0], ret);
}

int api_MessageDigest_getInitializedMessageDigestInstance(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    return md_new(rt, JC_SEC_InitializedMessageDigest, (uint8_t)a[0], ret);
}

static int md_state(vm_runtime *rt, uint16_t h, vm_obj **st, const md_algo **m)
{
    vm_obj *self;
    API_TRY(api_this(rt, h, &self));
    uint16_t s = api_slot(self, 1);
    if (s == 0 || s >= rt->obj_cap || rt->objs[s].kind != VM_OBJ_BYTES || rt->objs[s].length != MD_SIZE)
        return API_SECURITY;
    *m = api_md_find((uint8_t)api_slot(self, 0));
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
    api_md_load(m, st->data, &md);
    m->desc->process(&md, in->data + a[2], a[3]);
    uint8_t p[MD_SIZE];
    api_md_save(m, &md, p);
    api_wipe(&md, sizeof md);
    int rc = api_store(rt, st, 0, p, MD_SIZE, 0);
    api_wipe(p, sizeof p);
    return rc;
}

/* The output may overlap the input (the digest is computed before it is
 * written). */
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
    api_md_load(m, st->data, &md);
    uint8_t d[64];
    m->desc->process(&md, in->data + a[2], a[3]);
    m->desc->done(&md, d);
    api_wipe(&md, sizeof md);
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

enum { MD_ONESHOT_OPEN_SLOT = 2 };

int api_MessageDigest_OneShot_open(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    if (!api_md_find((uint8_t)a[0]))
        return NO_SUCH_ALGORITHM;
    return api_oneshot_open(rt, JC_PKG_SECURITY, JC_SEC_MessageDigest_OneShot, (uint8_t)a[0],
                            MD_ONESHOT_OPEN_SLOT, md_new, ret);
}

int api_MessageDigest_OneShot_close(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    (void)ret;
    THIS(self);
    API_TRY(api_MessageDigest_reset(rt, a, ret));
    return api_slot_set(rt, self, MD_ONESHOT_OPEN_SLOT, 0);
}

/* InitializedMessageDigest (and its OneShot): a MessageDigest whose state
 * setInitialDigest can set; the same slots and state array. */
int api_InitializedMessageDigest_setInitialDigest(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    (void)ret;
    vm_obj *st;
    const md_algo *m;
    API_TRY(md_state(rt, a[0], &st, &m));
    uint8_t p[MD_SIZE];
    int rc = api_md_initial_state(rt, m, a, p);
    if (!rc)
        rc = api_store(rt, st, 0, p, MD_SIZE, 0);
    api_wipe(p, sizeof p);
    return rc;
}

int api_InitializedMessageDigest_OneShot_open(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    if (!api_md_find((uint8_t)a[0]))
        return NO_SUCH_ALGORITHM;
    return api_oneshot_open(rt, JC_PKG_SECURITY, JC_SEC_InitializedMessageDigest_OneShot, (uint8_t)a[0],
                            MD_ONESHOT_OPEN_SLOT, md_new, ret);
}

int api_InitializedMessageDigest_OneShot_close(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    return api_MessageDigest_OneShot_close(rt, a, ret);
}

/* ---- Signature HMAC-SHA-1/256/384/512 (RFC 2104): sign/verify rebuild
 * the outer hash from the key, then put the state back to after init. */

static const md_algo *hmac_md(uint8_t sig_alg)
{
    static const uint8_t md_of[] = { MD_ALG_SHA, MD_ALG_SHA_256, MD_ALG_SHA_384, MD_ALG_SHA_512 };
    if (sig_alg < SIG_ALG_HMAC_SHA1 || sig_alg > SIG_ALG_HMAC_SHA_512)
        return NULL;
    return api_md_find(md_of[sig_alg - SIG_ALG_HMAC_SHA1]);
}

static int hmac_sig_claims(uint8_t alg)
{
    return hmac_md(alg) != NULL;
}

static int hmac_sig_setup(vm_runtime *rt, vm_obj *self, uint8_t alg, int jcre)
{
    (void)alg;
    return api_crypto_state_new(rt, self, MD_SIZE, jcre);
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
        api_wipe(&md, sizeof md);
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

/* The object's state and its (initialized) key. */
static int hmac_get(vm_runtime *rt, uint16_t h, hmac_sig_ctx *c)
{
    API_TRY(api_this(rt, h, &c->self));
    c->m = hmac_md((uint8_t)api_slot(c->self, 0));
    if (!c->m)
        return API_SECURITY;
    API_TRY(api_crypto_state(rt, c->self, MD_SIZE, &c->state));
    c->mode = (uint8_t)api_slot(c->self, 1);
    if (c->mode == 0)
        return INVALID_INIT;
    return api_hmac_key(rt, api_slot(c->self, 2), &c->key, &c->klen);
}

static int hmac_restart(vm_runtime *rt, hmac_sig_ctx *c);

/* hmac_get, then the state init() made if a reset cleared it. */
static int hmac_ready(vm_runtime *rt, uint16_t h, hmac_sig_ctx *c)
{
    API_TRY(hmac_get(rt, h, c));
    return c->state->data[0] ? 0 : hmac_restart(rt, c);
}

/* The state after init: the inner hash of K0 ^ ipad. */
static int hmac_restart(vm_runtime *rt, hmac_sig_ctx *c)
{
    uint8_t block[128], p[MD_SIZE];
    hash_state md;
    hmac_pad(c->m, c->key, c->klen, 0x36, block);
    c->m->desc->init(&md);
    c->m->desc->process(&md, block, c->m->desc->blocksize);
    api_md_save(c->m, &md, p);
    int rc = api_store(rt, c->state, 0, p, MD_SIZE, 0);
    api_wipe(block, sizeof block);
    api_wipe(p, sizeof p);
    api_wipe(&md, sizeof md);
    return rc;
}

static int hmac_sig_init(vm_runtime *rt, uint16_t *a, int with_params)
{
    hmac_sig_ctx c;
    API_TRY(api_this(rt, a[0], &c.self));
    c.m = hmac_md((uint8_t)api_slot(c.self, 0));
    if (!c.m)
        return API_SECURITY;
    API_TRY(api_crypto_state(rt, c.self, MD_SIZE, &c.state));
    API_TRY(api_hmac_key(rt, a[1], &c.key, &c.klen));
    uint8_t mode = (uint8_t)a[2];
    if ((mode != MODE_SIGN && mode != MODE_VERIFY) || with_params)   /* HMAC takes no parameters */
        return ILLEGAL_VALUE;
    API_TRY(api_slot_set(rt, c.self, 1, mode));
    API_TRY(api_slot_set(rt, c.self, 2, a[1]));
    return hmac_restart(rt, &c);
}

static int hmac_feed(vm_runtime *rt, hmac_sig_ctx *c, uint16_t in_h, uint16_t off, uint16_t len, uint8_t *mac)
{
    BYTES(in, in_h);
    RANGE(in, off, len);
    hash_state md;
    api_md_load(c->m, c->state->data, &md);
    c->m->desc->process(&md, in->data + off, len);
    if (!mac) {
        uint8_t p[MD_SIZE];
        api_md_save(c->m, &md, p);
        api_wipe(&md, sizeof md);
        int rc = api_store(rt, c->state, 0, p, MD_SIZE, 0);
        api_wipe(p, sizeof p);
        return rc;
    }
    uint8_t inner[64], block[128];
    c->m->desc->done(&md, inner);
    hmac_pad(c->m, c->key, c->klen, 0x5c, block);
    c->m->desc->init(&md);
    c->m->desc->process(&md, block, c->m->desc->blocksize);
    c->m->desc->process(&md, inner, c->m->out_len);
    c->m->desc->done(&md, mac);
    api_wipe(&md, sizeof md);
    api_wipe(inner, sizeof inner);
    api_wipe(block, sizeof block);
    return hmac_restart(rt, c);
}

static int hmac_sig_update(vm_runtime *rt, uint16_t *a)
{
    hmac_sig_ctx c;
    API_TRY(hmac_ready(rt, a[0], &c));
    return hmac_feed(rt, &c, a[1], a[2], a[3], NULL);
}

static int hmac_sig_sign(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    hmac_sig_ctx c;
    API_TRY(hmac_ready(rt, a[0], &c));
    if (c.mode != MODE_SIGN)
        return INVALID_INIT;
    BYTES(out, a[4]);
    RANGE(out, a[5], c.m->out_len);
    uint8_t mac[64];
    API_TRY(hmac_feed(rt, &c, a[1], a[2], a[3], mac));
    int rc = api_store(rt, out, a[5], mac, c.m->out_len, 0);
    api_wipe(mac, sizeof mac);
    *ret = c.m->out_len;
    return rc;
}

static int hmac_sig_verify(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    hmac_sig_ctx c;
    API_TRY(hmac_ready(rt, a[0], &c));
    if (c.mode != MODE_VERIFY)
        return INVALID_INIT;
    BYTES(sig, a[4]);
    RANGE(sig, a[5], a[6]);
    uint8_t mac[64];
    API_TRY(hmac_feed(rt, &c, a[1], a[2], a[3], mac));
    *ret = a[6] == c.m->out_len && api_ct_equal(mac, sig->data + a[5], c.m->out_len);
    api_wipe(mac, sizeof mac);
    return 0;
}

static int hmac_sig_length(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    hmac_sig_ctx c;
    API_TRY(hmac_get(rt, a[0], &c));
    *ret = c.m->out_len;
    return 0;
}

const api_sig_family api_hmac_sig_family = {
    hmac_sig_claims, hmac_sig_setup, hmac_sig_init, hmac_sig_update, hmac_sig_sign, hmac_sig_verify, hmac_sig_length, NULL, NULL, NULL,
};
