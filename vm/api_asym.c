/*
 * api_asym.c — the API objects of the asymmetric half (api_asym.h): the
 * Cipher and Signature family operations (RSA ciphers; RSA PKCS#1 v1.5 /
 * PSS and ECDSA signatures over the message's hash, kept as MessageDigest
 * keeps its state),
 * KeyPair and KeyAgreement.
 *
 * Algorithms (JC 3.0.5 constants):
 *   Cipher     ALG_RSA_PKCS1 (10), ALG_RSA_NOPAD (12), ALG_RSA_PKCS1_OAEP
 *              (15); CIPHER_RSA (7) with PAD_PKCS1, PAD_NOPAD,
 *              PAD_PKCS1_OAEP by api_cipher.c's table.
 *   Signature  ALG_RSA_SHA_PKCS1 (10), ALG_RSA_SHA_{224,256,384,512}_PKCS1
 *              (39-42), ALG_RSA_SHA_PKCS1_PSS (21),
 *              ALG_RSA_SHA_{224,256,384,512}_PKCS1_PSS (43-46), ALG_ECDSA_SHA
 *              (17), ALG_ECDSA_SHA_{224,256,384,512} (37, 33, 34, 38); the
 *              same through getInstance(md, SIG_CIPHER_RSA / _ECDSA, pad).
 *              PSS: MGF1 with the message's hash, salt as long as the hash.
 *   KeyPair    ALG_RSA, ALG_RSA_CRT, ALG_EC_FP
 *   KeyAgreement ALG_EC_SVDP_DH (= _KDF: SHA-1 of x), ALG_EC_SVDP_DHC (the
 *              same with the cofactor), ALG_EC_SVDP_DH_PLAIN and
 *              ALG_EC_SVDP_DHC_PLAIN (x itself), ALG_EC_SVDP_DH_PLAIN_XY
 *              (the whole point, uncompressed: 04 || x || y)
 */
#include <string.h>
#include <tomcrypt.h>

#include "api_crypto.h"
#include "api_asym.h"

enum { ALG_RSA_PKCS1 = 10, ALG_RSA_NOPAD = 12, ALG_RSA_PKCS1_OAEP = 15 };

#define RSA_KEYS ((1u << AK_RSA_PUB) | (1u << AK_RSA_PRIV) | (1u << AK_RSA_CRT))
#define RSA_PRIVATE ((1u << AK_RSA_PRIV) | (1u << AK_RSA_CRT))
#define EC_PUBLIC (1u << AK_EC_PUB)
#define EC_PRIVATE (1u << AK_EC_PRIV)

/* ---- Cipher (family functions, api_asym.h) ---- */

int asym_cipher_claims(uint8_t alg)
{
    return alg == ALG_RSA_PKCS1 || alg == ALG_RSA_NOPAD || alg == ALG_RSA_PKCS1_OAEP;
}

int asym_cipher_setup(vm_runtime *rt, vm_obj *self, uint8_t alg, int jcre)
{
    (void)rt; (void)self; (void)alg; (void)jcre;
    return 0;   /* no state beyond the slots: one block per doFinal */
}

int asym_cipher_init(vm_runtime *rt, uint16_t *a, int with_params)
{
    vm_obj *self;
    API_TRY(api_this(rt, a[0], &self));
    asym_key k;
    API_TRY(asym_key_get(rt, a[1], RSA_KEYS, &k));
    uint8_t mode = (uint8_t)a[2];
    if (with_params || (mode != MODE_ENCRYPT && mode != MODE_DECRYPT))
        return ASYM_ILLEGAL_VALUE;   /* RSA takes no parameters */
    if (!asym_key_ready(&k))
        return API_CRYPTO(JC_CRYPTO_UNINITIALIZED_KEY);
    API_TRY(api_slot_set(rt, self, 1, mode));
    return api_slot_set(rt, self, 2, a[1]);
}

int asym_cipher_update(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    (void)rt; (void)a; (void)ret;
    return ASYM_ILLEGAL_USE;   /* one block: doFinal only */
}

int asym_cipher_do_final(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    vm_obj *self;
    API_TRY(api_this(rt, a[0], &self));
    uint8_t mode = (uint8_t)api_slot(self, 1);
    if (mode == 0)
        return API_CRYPTO(JC_CRYPTO_INVALID_INIT);
    asym_key k;
    API_TRY(asym_key_get(rt, api_slot(self, 2), RSA_KEYS, &k));
    if (!asym_key_ready(&k))
        return API_CRYPTO(JC_CRYPTO_UNINITIALIZED_KEY);
    vm_obj *in, *out;
    API_TRY(api_bytes(rt, a[1], &in));
    API_TRY(api_range(in, a[2], a[3]));
    API_TRY(api_bytes(rt, a[4], &out));
    if ((int16_t)a[5] < 0)
        return API_AIOOBE;
    if (a[3] > 512)
        return ASYM_ILLEGAL_USE;
    /* the input copied aside first: in and out may overlap */
    uint8_t src[512], dst[512];
    memcpy(src, in->data + a[2], a[3]);
    unsigned long n = 0;
    int rc = rsa_cipher(&k, (uint8_t)api_slot(self, 0), mode == MODE_ENCRYPT, src, a[3], dst, &n);
    if (!rc)
        rc = api_range(out, a[5], (uint16_t)n);
    if (!rc)
        rc = api_store(rt, out, a[5], dst, (uint32_t)n, 0);
    zeromem(src, sizeof src);
    zeromem(dst, sizeof dst);
    if (!rc)
        *ret = (uint16_t)n;
    return rc;
}

/* ---- Signature (family functions, api_asym.h) ---- */

enum sig_scheme { SCHEME_PKCS1, SCHEME_PSS, SCHEME_ECDSA };

typedef struct sig_alg {
    uint8_t alg, md;        /* Signature.ALG_*, MessageDigest.ALG_* */
    uint8_t scheme;
    uint8_t dlen;
    const struct ltc_hash_descriptor *hash;
} sig_alg;

static const sig_alg sig_algs[] = {
    { 10, 1, SCHEME_PKCS1, 20, &sha1_desc }, { 39, 7, SCHEME_PKCS1, 28, &sha224_desc },
    { 40, 4, SCHEME_PKCS1, 32, &sha256_desc }, { 41, 5, SCHEME_PKCS1, 48, &sha384_desc },
    { 42, 6, SCHEME_PKCS1, 64, &sha512_desc },
    { 21, 1, SCHEME_PSS, 20, &sha1_desc }, { 43, 7, SCHEME_PSS, 28, &sha224_desc },
    { 44, 4, SCHEME_PSS, 32, &sha256_desc }, { 45, 5, SCHEME_PSS, 48, &sha384_desc },
    { 46, 6, SCHEME_PSS, 64, &sha512_desc },
    { 17, 1, SCHEME_ECDSA, 20, &sha1_desc }, { 37, 7, SCHEME_ECDSA, 28, &sha224_desc },
    { 33, 4, SCHEME_ECDSA, 32, &sha256_desc }, { 34, 5, SCHEME_ECDSA, 48, &sha384_desc },
    { 38, 6, SCHEME_ECDSA, 64, &sha512_desc },
};

static const sig_alg *sig_find(uint16_t alg)
{
    for (size_t i = 0; i < sizeof sig_algs / sizeof sig_algs[0]; i++)
        if (sig_algs[i].alg == alg)
            return &sig_algs[i];
    return NULL;
}

int asym_sig_claims(uint8_t alg)
{
    return sig_find(alg) != NULL;
}

static int hash_idx(const sig_alg *s)
{
    int i = find_hash(s->hash->name);
    if (i < 0) {
        register_hash(s->hash);
        i = find_hash(s->hash->name);
    }
    return i;
}

/* The hash state array (MD_STATE_SIZE, CLEAR_ON_RESET, as MessageDigest's)
 * is made at the first init(), not by getInstance(): an applet (or an
 * algorithm survey) that only asks for objects uses no RAM. */
int asym_sig_setup(vm_runtime *rt, vm_obj *self, uint8_t alg, int jcre)
{
    (void)rt; (void)self; (void)jcre;
    return sig_find(alg) ? 0 : API_SECURITY;
}

typedef struct sig_ctx {
    vm_obj *self;
    const sig_alg *s;
    const md_algo *m;
    uint8_t mode;
    vm_obj *st;           /* the hash state, NULL before the first init */
} sig_ctx;

static int sig_get(vm_runtime *rt, uint16_t h, sig_ctx *c)
{
    API_TRY(api_this(rt, h, &c->self));
    c->s = sig_find(api_slot(c->self, 0));
    c->m = c->s ? api_md_find(c->s->md) : NULL;
    if (!c->m || c->m->out_len != c->s->dlen)
        return API_SECURITY;
    c->mode = (uint8_t)api_slot(c->self, 1);
    c->st = NULL;
    if (api_slot(c->self, 3) != 0)
        API_TRY(api_crypto_state(rt, c->self, MD_STATE_SIZE, &c->st));
    else if (c->mode != 0)
        return API_SECURITY;
    return 0;
}

static unsigned key_mask(const sig_alg *s, uint8_t mode)
{
    if (s->scheme == SCHEME_ECDSA)
        return mode == MODE_SIGN ? EC_PRIVATE : EC_PUBLIC;
    return mode == MODE_SIGN ? RSA_PRIVATE : (1u << AK_RSA_PUB);
}

/* The key of an initialized object, ready for mode. */
static int sig_key(vm_runtime *rt, const sig_ctx *c, uint8_t mode, asym_key *k)
{
    if (c->mode == 0 || c->mode != mode)
        return API_CRYPTO(JC_CRYPTO_INVALID_INIT);
    API_TRY(asym_key_get(rt, api_slot(c->self, 2), key_mask(c->s, mode), k));
    if (!asym_key_ready(k))
        return API_CRYPTO(JC_CRYPTO_UNINITIALIZED_KEY);
    return 0;
}

int asym_sig_init(vm_runtime *rt, uint16_t *a, int with_params)
{
    sig_ctx c;
    API_TRY(sig_get(rt, a[0], &c));
    uint8_t mode = (uint8_t)a[2];
    if (with_params || (mode != MODE_SIGN && mode != MODE_VERIFY))
        return ASYM_ILLEGAL_VALUE;   /* no parameters for these algorithms */
    asym_key k;
    API_TRY(asym_key_get(rt, a[1], key_mask(c.s, mode), &k));
    if (!asym_key_ready(&k))
        return API_CRYPTO(JC_CRYPTO_UNINITIALIZED_KEY);
    if (!c.st) {
        API_TRY(api_crypto_state_new(rt, c.self, MD_STATE_SIZE, 0));
        API_TRY(sig_get(rt, a[0], &c));   /* the object table may have moved */
    }
    uint8_t fresh[MD_STATE_SIZE] = { 0 };
    API_TRY(api_store(rt, c.st, 0, fresh, MD_STATE_SIZE, 0));
    API_TRY(api_slot_set(rt, c.self, 1, mode));
    return api_slot_set(rt, c.self, 2, a[1]);
}

/* Hash in[off, off + len) into the state; with d, finish into d and
 * leave the state fresh. */
static int sig_hash(vm_runtime *rt, const sig_ctx *c, uint16_t in_h, uint16_t off, uint16_t len, uint8_t *d)
{
    vm_obj *in;
    API_TRY(api_bytes(rt, in_h, &in));
    API_TRY(api_range(in, off, len));
    hash_state md;
    uint8_t p[MD_STATE_SIZE];
    api_md_load(c->m, c->st->data, &md);
    c->m->desc->process(&md, in->data + off, len);
    if (d) {
        c->m->desc->done(&md, d);
        memset(p, 0, sizeof p);
    } else {
        api_md_save(c->m, &md, p);
    }
    zeromem(&md, sizeof md);
    int rc = api_store(rt, c->st, 0, p, MD_STATE_SIZE, 0);
    zeromem(p, sizeof p);
    return rc;
}

int asym_sig_update(vm_runtime *rt, uint16_t *a)
{
    sig_ctx c;
    API_TRY(sig_get(rt, a[0], &c));
    if (c.mode == 0)
        return API_CRYPTO(JC_CRYPTO_INVALID_INIT);
    return sig_hash(rt, &c, a[1], a[2], a[3], NULL);
}

static int do_sign(vm_runtime *rt, const sig_ctx *c, const asym_key *k, const uint8_t *d, uint16_t sig_h,
                   uint16_t sig_off, uint16_t *ret)
{
    vm_obj *out;
    API_TRY(api_bytes(rt, sig_h, &out));
    uint8_t sig[512];
    unsigned long n = sizeof sig;
    int rc = c->s->scheme == SCHEME_ECDSA ? ec_sign_digest(k, d, c->s->dlen, sig, &n)
           : rsa_sign_digest(k, c->s->scheme == SCHEME_PSS, hash_idx(c->s), d, c->s->dlen, sig, &n);
    if (!rc)
        rc = api_range(out, sig_off, (uint16_t)n);
    if (!rc)
        rc = api_store(rt, out, sig_off, sig, (uint32_t)n, 0);
    if (!rc)
        *ret = (uint16_t)n;
    return rc;
}

static int do_verify(vm_runtime *rt, const sig_ctx *c, const asym_key *k, const uint8_t *d, uint16_t sig_h,
                     uint16_t sig_off, uint16_t sig_len, uint16_t *ret)
{
    vm_obj *sv;
    API_TRY(api_bytes(rt, sig_h, &sv));
    API_TRY(api_range(sv, sig_off, sig_len));
    if (sig_len > 512) {
        *ret = 0;
        return 0;
    }
    uint8_t sig[512];
    memcpy(sig, sv->data + sig_off, sig_len);
    int ok = 0;
    int rc = c->s->scheme == SCHEME_ECDSA ? ec_verify_digest(k, d, c->s->dlen, sig, sig_len, &ok)
           : rsa_verify_digest(k, c->s->scheme == SCHEME_PSS, hash_idx(c->s), d, c->s->dlen, sig, sig_len, &ok);
    *ret = (uint16_t)(ok == 1);
    return rc;
}

/* A precomputed hash of exactly the algorithm's digest length. */
static int given_hash(vm_runtime *rt, const sig_ctx *c, const uint16_t *a, uint8_t *d)
{
    vm_obj *h;
    API_TRY(api_bytes(rt, a[1], &h));
    API_TRY(api_range(h, a[2], a[3]));
    if (a[3] != c->s->dlen)
        return ASYM_ILLEGAL_VALUE;
    memcpy(d, h->data + a[2], a[3]);
    return 0;
}

/* The hash of the message's first part, as MessageDigest's
 * setInitialDigest takes it; after init() (which starts the hash afresh). */
int asym_sig_set_initial_digest(vm_runtime *rt, uint16_t *a)
{
    sig_ctx c;
    API_TRY(sig_get(rt, a[0], &c));
    if (c.mode == 0)
        return API_CRYPTO(JC_CRYPTO_INVALID_INIT);
    uint8_t p[MD_STATE_SIZE];
    int rc = api_md_initial_state(rt, c.m, a, p);
    if (!rc)
        rc = api_store(rt, c.st, 0, p, MD_STATE_SIZE, 0);
    zeromem(p, sizeof p);
    return rc;
}

int asym_sig_sign(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    sig_ctx c;
    asym_key k;
    uint8_t d[64];
    API_TRY(sig_get(rt, a[0], &c));
    API_TRY(sig_key(rt, &c, MODE_SIGN, &k));
    API_TRY(sig_hash(rt, &c, a[1], a[2], a[3], d));
    return do_sign(rt, &c, &k, d, a[4], a[5], ret);
}

int asym_sig_verify(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    sig_ctx c;
    asym_key k;
    uint8_t d[64];
    API_TRY(sig_get(rt, a[0], &c));
    API_TRY(sig_key(rt, &c, MODE_VERIFY, &k));
    API_TRY(sig_hash(rt, &c, a[1], a[2], a[3], d));
    return do_verify(rt, &c, &k, d, a[4], a[5], a[6], ret);
}

int asym_sig_sign_precomputed(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    sig_ctx c;
    asym_key k;
    uint8_t d[64];
    API_TRY(sig_get(rt, a[0], &c));
    API_TRY(sig_key(rt, &c, MODE_SIGN, &k));
    API_TRY(given_hash(rt, &c, a, d));
    return do_sign(rt, &c, &k, d, a[4], a[5], ret);
}

int asym_sig_verify_precomputed(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    sig_ctx c;
    asym_key k;
    uint8_t d[64];
    API_TRY(sig_get(rt, a[0], &c));
    API_TRY(sig_key(rt, &c, MODE_VERIFY, &k));
    API_TRY(given_hash(rt, &c, a, d));
    return do_verify(rt, &c, &k, d, a[4], a[5], a[6], ret);
}

int asym_sig_length(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    sig_ctx c;
    asym_key k;
    API_TRY(sig_get(rt, a[0], &c));
    if (c.mode == 0)
        return API_CRYPTO(JC_CRYPTO_INVALID_INIT);
    API_TRY(sig_key(rt, &c, c.mode, &k));
    if (c.s->scheme == SCHEME_ECDSA) {
        *ret = ec_sig_max(&k);
        return 0;
    }
    uint8_t n[512];
    unsigned long nlen;
    if (rsa_modulus(&k, n, &nlen) != CRYPT_OK)
        return API_CRYPTO(JC_CRYPTO_UNINITIALIZED_KEY);
    *ret = (uint16_t)nlen;
    return 0;
}

/* ---- KeyPair ---- */

enum { KP_RSA = 1, KP_RSA_CRT = 2, KP_EC_FP = 5 };

int api_KeyPair_init__BS(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    (void)ret;
    THIS(self);
    uint8_t pub_type, priv_type;
    switch ((uint8_t)a[1]) {
    case KP_RSA: pub_type = AK_TYPE_RSA_PUBLIC; priv_type = AK_TYPE_RSA_PRIVATE; break;
    case KP_RSA_CRT: pub_type = AK_TYPE_RSA_PUBLIC; priv_type = AK_TYPE_RSA_CRT_PRIVATE; break;
    case KP_EC_FP: pub_type = AK_TYPE_EC_FP_PUBLIC; priv_type = AK_TYPE_EC_FP_PRIVATE; break;
    default: return ASYM_NO_SUCH_ALGORITHM;
    }
    uint16_t pub, priv;
    API_TRY(asym_new_key(rt, pub_type, (int16_t)a[2], &pub));
    API_TRY(asym_new_key(rt, priv_type, (int16_t)a[2], &priv));
    /* the allocations may have moved the object table */
    self = &rt->objs[a[0]];
    API_TRY(api_slot_set(rt, self, 0, pub));
    return api_slot_set(rt, self, 1, priv);
}

int api_KeyPair_init__PublicKeyPrivateKey(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    (void)ret;
    THIS(self);
    asym_key pub, priv;
    if (asym_key_get(rt, a[1], (1u << AK_RSA_PUB) | EC_PUBLIC, &pub) ||
        asym_key_get(rt, a[2], RSA_PRIVATE | EC_PRIVATE, &priv))
        return ASYM_ILLEGAL_VALUE;
    if ((pub.kind == AK_EC_PUB) != (priv.kind == AK_EC_PRIV) || pub.bits != priv.bits)
        return ASYM_ILLEGAL_VALUE;
    API_TRY(api_slot_set(rt, self, 0, a[1]));
    return api_slot_set(rt, self, 1, a[2]);
}

int api_KeyPair_genKeyPair(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    (void)ret;
    THIS(self);
    asym_key pub, priv;
    API_TRY(asym_key_get(rt, api_slot(self, 0), (1u << AK_RSA_PUB) | EC_PUBLIC, &pub));
    API_TRY(asym_key_get(rt, api_slot(self, 1), RSA_PRIVATE | EC_PRIVATE, &priv));
    if (pub.kind == AK_EC_PUB)
        return ec_generate(rt, &pub, &priv);
    return rsa_generate(rt, &pub, &priv);
}

int api_KeyPair_getPublic(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    THIS(self);
    *ret = api_slot(self, 0);
    return 0;
}

int api_KeyPair_getPrivate(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    THIS(self);
    *ret = api_slot(self, 1);
    return 0;
}

/* ---- KeyAgreement ---- */

enum { KA_DH = 1, KA_DHC = 2, KA_DH_PLAIN = 3, KA_DHC_PLAIN = 4, KA_PACE_GM = 5, KA_DH_PLAIN_XY = 6 };

int api_KeyAgreement_getInstance(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    uint8_t alg = (uint8_t)a[0];
    if (alg < KA_DH || alg > KA_DH_PLAIN_XY || alg == KA_PACE_GM)
        return ASYM_NO_SUCH_ALGORITHM;
    uint8_t token;
    const jc_api_package *p = &jc_api_packages[JC_PKG_SECURITY];
    for (token = 0; token < p->class_count; token++)
        if (p->classes[token].name && strcmp(p->classes[token].name, "javacard/security/KeyAgreement") == 0)
            break;
    uint16_t h;
    API_TRY(api_new_instance(rt, JC_PKG_SECURITY, token, 0, &h));
    API_TRY(api_slot_set(rt, &rt->objs[h], 0, alg));
    *ret = h;
    return 0;
}

int api_KeyAgreement_init(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    (void)ret;
    THIS(self);
    asym_key k;
    API_TRY(asym_key_get(rt, a[1], EC_PRIVATE, &k));
    if (!asym_key_ready(&k))
        return API_CRYPTO(JC_CRYPTO_UNINITIALIZED_KEY);
    return api_slot_set(rt, self, 1, a[1]);
}

int api_KeyAgreement_getAlgorithm(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    THIS(self);
    *ret = api_slot(self, 0);
    return 0;
}

/* generateSecret(publicData, off, len, secret, secretOff) */
int api_KeyAgreement_generateSecret(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    THIS(self);
    uint8_t alg = (uint8_t)api_slot(self, 0);
    if (api_slot(self, 1) == 0)
        return API_CRYPTO(JC_CRYPTO_INVALID_INIT);
    asym_key k;
    API_TRY(asym_key_get(rt, api_slot(self, 1), EC_PRIVATE, &k));
    if (!asym_key_ready(&k))
        return API_CRYPTO(JC_CRYPTO_UNINITIALIZED_KEY);
    vm_obj *in, *out;
    API_TRY(api_bytes(rt, a[1], &in));
    API_TRY(api_range(in, a[2], a[3]));
    API_TRY(api_bytes(rt, a[4], &out));
    uint8_t x[66], y[66], res[1 + 2 * 66];
    unsigned long xlen = 0, n;
    int rc = a[3] > 1 + 2 * 66 ? ASYM_ILLEGAL_VALUE
           : ec_dh(&k, alg == KA_DHC || alg == KA_DHC_PLAIN, in->data + a[2], a[3], x,
                   alg == KA_DH_PLAIN_XY ? y : NULL, &xlen);
    if (!rc && alg == KA_DH_PLAIN_XY) {
        res[0] = 4;
        memcpy(res + 1, x, xlen);
        memcpy(res + 1 + xlen, y, xlen);
        n = 1 + 2 * xlen;
    } else if (!rc && (alg == KA_DH || alg == KA_DHC)) {
        hash_state md;
        sha1_init(&md);
        sha1_process(&md, x, xlen);
        sha1_done(&md, res);
        zeromem(&md, sizeof md);
        n = 20;
    } else {
        memcpy(res, x, xlen);
        n = xlen;
    }
    if (!rc)
        rc = api_range(out, a[5], (uint16_t)n);
    if (!rc)
        rc = api_store(rt, out, a[5], res, (uint32_t)n, 0);
    zeromem(x, sizeof x);
    zeromem(y, sizeof y);
    zeromem(res, sizeof res);
    if (!rc)
        *ret = (uint16_t)n;
    return rc;
}
