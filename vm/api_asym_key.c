/*
 * api_asym_key.c — the RSA and EC_FP key objects KeyBuilder returns (the
 * card's hidden classes RSAPublicKeyImpl, RSAPrivateKeyImpl,
 * RSAPrivateCrtKeyImpl, ECPublicKeyImpl, ECPrivateKeyImpl; api_asym.h).
 *
 * Components and where they live. Every component is a u16 length (0 = not
 * set) and a fixed capacity; n = size in bytes (modulus or field), h = half
 * the modulus in bytes:
 *   RSA public   persistent: modulus[n], exponent[n]
 *   RSA private  persistent: modulus[n]; secret: exponent[n]
 *   RSA CRT      secret: P[h], Q[h], DP1[h], DQ1[h], PQ[h]
 *   EC public    persistent: field[n], A[n], B[n], G[1+2n], R[n+1], K[2],
 *                W[1+2n]
 *   EC private   persistent: the domain parameters as above; secret: S[n+1]
 * The secret array has the key type's memory type, so a transient key
 * loses exactly its secret at reset/deselect and reads as uninitialized.
 *
 * Length checks (JC 3.0.5 RSAPublicKey.setModulus etc.): an integer longer
 * than its capacity after its leading zero bytes is CryptoException
 * ILLEGAL_VALUE, so is an empty one; a point must be the uncompressed
 * (04 X Y) or compressed (02/03 X) form of the field's size. getters of a
 * component never set: UNINITIALIZED_KEY.
 */
#include <string.h>
#include <tomcrypt.h>

#include "api_asym.h"

static const char *const kind_class[AK_KINDS] = {
    "javacard/security/RSAPublicKeyImpl", "javacard/security/RSAPrivateKeyImpl",
    "javacard/security/RSAPrivateCrtKeyImpl", "javacard/security/ECPublicKeyImpl",
    "javacard/security/ECPrivateKeyImpl",
};

/* The class token of a kind's hidden class, looked up in the security
 * package by name (its token depends on the generator's hidden list). */
static int kind_token(enum asym_kind kind, uint8_t *token)
{
    const jc_api_package *p = &jc_api_packages[JC_PKG_SECURITY];
    for (uint16_t t = 0; t < p->class_count; t++)
        if (p->classes[t].name && strcmp(p->classes[t].name, kind_class[kind]) == 0) {
            *token = (uint8_t)t;
            return 0;
        }
    return API_SECURITY;
}

enum asym_kind asym_key_kind(vm_runtime *rt, uint16_t h)
{
    if (h == 0 || h >= rt->obj_cap || rt->objs[h].kind != VM_OBJ_INSTANCE)
        return AK_NONE;
    for (int k = 0; k < AK_KINDS; k++) {
        uint8_t token;
        if (kind_token((enum asym_kind)k, &token) == 0 && api_is_class(&rt->objs[h], JC_PKG_SECURITY, token))
            return (enum asym_kind)k;
    }
    return AK_NONE;
}

/* ---- layout ---- */

enum { COMP_MAX = 7 };

typedef struct comp_spec {
    uint8_t count;
    uint8_t arr[COMP_MAX];     /* 0 persistent, 1 secret */
    uint16_t cap[COMP_MAX];
    uint8_t integer[COMP_MAX]; /* leading zeros may be stripped */
} comp_spec;

static void layout(enum asym_kind kind, uint16_t bits, comp_spec *s)
{
    uint16_t n = (uint16_t)((bits + 7) / 8), h = (uint16_t)((bits + 15) / 16);
    memset(s, 0, sizeof *s);
    switch (kind) {
    case AK_RSA_PUB:
    case AK_RSA_PRIV:
        s->count = 2;
        s->cap[RSA_N] = s->cap[RSA_E] = n;
        s->arr[RSA_E] = kind == AK_RSA_PRIV;
        s->integer[RSA_N] = s->integer[RSA_E] = 1;
        break;
    case AK_RSA_CRT:
        s->count = 5;
        for (unsigned i = 0; i < 5; i++) {
            s->cap[i] = h;
            s->arr[i] = 1;
            s->integer[i] = 1;
        }
        break;
    case AK_EC_PUB:
    case AK_EC_PRIV:
        s->count = 7;
        s->cap[EC_FIELD] = s->cap[EC_A] = s->cap[EC_B] = n;
        s->cap[EC_G] = (uint16_t)(1 + 2 * n);
        s->cap[EC_R] = (uint16_t)(n + 1);
        s->cap[EC_K] = 2;
        s->integer[EC_FIELD] = s->integer[EC_A] = s->integer[EC_B] = s->integer[EC_R] = 1;
        if (kind == AK_EC_PUB) {
            s->cap[EC_KEY] = (uint16_t)(1 + 2 * n);
        } else {
            s->cap[EC_KEY] = (uint16_t)(n + 1);
            s->arr[EC_KEY] = 1;
            s->integer[EC_KEY] = 1;
        }
        break;
    default:
        break;
    }
}

static uint32_t comp_offset(const comp_spec *s, unsigned c)
{
    uint32_t off = 0;
    for (unsigned i = 0; i < c; i++)
        if (s->arr[i] == s->arr[c])
            off += 2u + s->cap[i];
    return off;
}

static uint32_t array_size(const comp_spec *s, unsigned arr)
{
    uint32_t size = 0;
    for (unsigned i = 0; i < s->count; i++)
        if (s->arr[i] == arr)
            size += 2u + s->cap[i];
    return size;
}

/* ---- objects ---- */

static int key_array(vm_runtime *rt, const vm_obj *self, unsigned slot, uint32_t size, vm_obj **out)
{
    *out = NULL;
    uint16_t h = api_slot(self, slot);
    if (size == 0)
        return h == 0 ? 0 : API_SECURITY;
    if (h == 0 || h >= rt->obj_cap || rt->objs[h].kind != VM_OBJ_BYTES || rt->objs[h].length != size)
        return API_SECURITY;
    *out = &rt->objs[h];
    return 0;
}

int asym_key_get(vm_runtime *rt, uint16_t h, unsigned mask, asym_key *k)
{
    if (h == 0)
        return API_NPE;
    enum asym_kind kind = asym_key_kind(rt, h);
    if (kind == AK_NONE || !(mask & (1u << kind)))
        return ASYM_ILLEGAL_VALUE;
    k->self = &rt->objs[h];
    k->kind = kind;
    k->type = (uint8_t)api_slot(k->self, 0);
    k->bits = api_slot(k->self, 1);
    comp_spec s;
    layout(kind, k->bits, &s);
    API_TRY(key_array(rt, k->self, 2, array_size(&s, 0), &k->arr[0]));
    API_TRY(key_array(rt, k->self, 3, array_size(&s, 1), &k->arr[1]));
    return 0;
}

const uint8_t *asym_comp(const asym_key *k, unsigned c, uint16_t *len)
{
    comp_spec s;
    layout(k->kind, k->bits, &s);
    *len = 0;
    if (c >= s.count || !k->arr[s.arr[c]])
        return NULL;
    const uint8_t *p = k->arr[s.arr[c]]->data + comp_offset(&s, c);
    uint16_t n = (uint16_t)((p[0] << 8) | p[1]);
    if (n == 0 || n > s.cap[c])
        return NULL;
    *len = n;
    return p + 2;
}

int asym_comp_set(vm_runtime *rt, const asym_key *k, unsigned c, const uint8_t *src, uint16_t len, int logged)
{
    comp_spec s;
    layout(k->kind, k->bits, &s);
    if (c >= s.count || !k->arr[s.arr[c]])
        return API_SECURITY;
    if (s.integer[c])
        while (len > s.cap[c] && *src == 0) {
            src++;
            len--;
        }
    if (len == 0 || len > s.cap[c])
        return ASYM_ILLEGAL_VALUE;
    uint8_t buf[2 + 1 + 2 * 66];
    uint8_t *p = buf;
    uint32_t total = 2u + s.cap[c];
    if (total > sizeof buf) {
        /* RSA components: write length and value, then wipe the rest */
        uint8_t hdr[2] = { (uint8_t)(len >> 8), (uint8_t)len };
        uint32_t off = comp_offset(&s, c);
        vm_obj *arr = k->arr[s.arr[c]];
        API_TRY(api_store(rt, arr, off, hdr, 2, logged));
        API_TRY(api_store(rt, arr, off + 2, src, len, logged));
        uint8_t zero[64] = { 0 };
        for (uint32_t done = 2u + len; done < total;) {
            uint32_t n = total - done > sizeof zero ? (uint32_t)sizeof zero : total - done;
            API_TRY(api_store(rt, arr, off + done, zero, n, logged));
            done += n;
        }
        return 0;
    }
    memset(buf, 0, sizeof buf);
    p[0] = (uint8_t)(len >> 8);
    p[1] = (uint8_t)len;
    memcpy(p + 2, src, len);
    int rc = api_store(rt, k->arr[s.arr[c]], comp_offset(&s, c), buf, total, logged);
    zeromem(buf, sizeof buf);
    return rc;
}

int asym_key_ready(const asym_key *k)
{
    comp_spec s;
    layout(k->kind, k->bits, &s);
    for (unsigned c = 0; c < s.count; c++) {
        uint16_t n;
        if ((k->kind == AK_EC_PUB || k->kind == AK_EC_PRIV) && c == EC_K)
            continue;   /* the cofactor defaults to 1 */
        if (!asym_comp(k, c, &n))
            return 0;
    }
    return 1;
}

static int clear_all(vm_runtime *rt, const asym_key *k)
{
    uint8_t zero[128] = { 0 };
    for (unsigned a = 0; a < 2; a++) {
        vm_obj *arr = k->arr[a];
        if (!arr)
            continue;
        for (uint32_t done = 0; done < arr->length;) {
            uint32_t n = arr->length - done > sizeof zero ? (uint32_t)sizeof zero : arr->length - done;
            API_TRY(api_store(rt, arr, done, zero, n, 1));
            done += n;
        }
    }
    return 0;
}

int asym_new_key(vm_runtime *rt, uint8_t type, int16_t bits, uint16_t *ret)
{
    enum asym_kind kind;
    uint8_t secret_flags = VM_OF_PERSISTENT;
    switch (type) {
    case AK_TYPE_RSA_PUBLIC: kind = AK_RSA_PUB; break;
    case AK_TYPE_RSA_PRIVATE: kind = AK_RSA_PRIV; break;
    case AK_TYPE_RSA_PRIVATE_TRANSIENT_RESET: kind = AK_RSA_PRIV; secret_flags = VM_OF_CLEAR_RESET; break;
    case AK_TYPE_RSA_PRIVATE_TRANSIENT_DESELECT: kind = AK_RSA_PRIV; secret_flags = VM_OF_CLEAR_DESELECT; break;
    case AK_TYPE_RSA_CRT_PRIVATE: kind = AK_RSA_CRT; break;
    case AK_TYPE_RSA_CRT_PRIVATE_TRANSIENT_RESET: kind = AK_RSA_CRT; secret_flags = VM_OF_CLEAR_RESET; break;
    case AK_TYPE_RSA_CRT_PRIVATE_TRANSIENT_DESELECT: kind = AK_RSA_CRT; secret_flags = VM_OF_CLEAR_DESELECT; break;
    case AK_TYPE_EC_FP_PUBLIC: kind = AK_EC_PUB; break;
    case AK_TYPE_EC_FP_PRIVATE: kind = AK_EC_PRIV; break;
    case AK_TYPE_EC_FP_PRIVATE_TRANSIENT_RESET: kind = AK_EC_PRIV; secret_flags = VM_OF_CLEAR_RESET; break;
    case AK_TYPE_EC_FP_PRIVATE_TRANSIENT_DESELECT: kind = AK_EC_PRIV; secret_flags = VM_OF_CLEAR_DESELECT; break;
    default: return ASYM_NO_SUCH_ALGORITHM;
    }
    int rsa = kind <= AK_RSA_CRT;
    /* RSA 512..4096 in steps of 16 bits, so both primes are whole bytes
     * (the LENGTH_RSA_* values and the sizes between them); EC_FP
     * 112..521 (the LENGTH_EC_FP_* values and any field between). */
    if (rsa ? (bits < 512 || bits > 4096 || bits % 16) : (bits < 112 || bits > 521))
        return ASYM_NO_SUCH_ALGORITHM;
    comp_spec s;
    layout(kind, (uint16_t)bits, &s);
    uint8_t token;
    API_TRY(kind_token(kind, &token));
    uint16_t h, a0 = 0, a1 = 0;
    API_TRY(api_new_instance(rt, JC_PKG_SECURITY, token, 0, &h));
    uint32_t s0 = array_size(&s, 0), s1 = array_size(&s, 1);
    if (s0)
        API_TRY(api_new_array(rt, VM_OBJ_BYTES, VM_OF_PERSISTENT, (uint16_t)s0, 0, &a0));
    if (s1)
        API_TRY(api_new_array(rt, VM_OBJ_BYTES, secret_flags, (uint16_t)s1, 0, &a1));
    vm_obj *o = &rt->objs[h];
    API_TRY(api_slot_set(rt, o, 0, type));
    API_TRY(api_slot_set(rt, o, 1, (uint16_t)bits));
    API_TRY(api_slot_set(rt, o, 2, a0));
    API_TRY(api_slot_set(rt, o, 3, a1));
    *ret = h;
    return 0;
}

int asym_key_claims(uint8_t type)
{
    switch (type) {
    case AK_TYPE_RSA_PUBLIC: case AK_TYPE_RSA_PRIVATE: case AK_TYPE_RSA_CRT_PRIVATE:
    case AK_TYPE_EC_FP_PUBLIC: case AK_TYPE_EC_FP_PRIVATE:
    case AK_TYPE_RSA_PRIVATE_TRANSIENT_RESET: case AK_TYPE_RSA_PRIVATE_TRANSIENT_DESELECT:
    case AK_TYPE_RSA_CRT_PRIVATE_TRANSIENT_RESET: case AK_TYPE_RSA_CRT_PRIVATE_TRANSIENT_DESELECT:
    case AK_TYPE_EC_FP_PRIVATE_TRANSIENT_RESET: case AK_TYPE_EC_FP_PRIVATE_TRANSIENT_DESELECT:
        return 1;
    default:
        return 0;
    }
}

/* ---- the methods ---- */

#define M_RSA_PUB (1u << AK_RSA_PUB)
#define M_RSA_PRIV (1u << AK_RSA_PRIV)
#define M_RSA_CRT (1u << AK_RSA_CRT)
#define M_EC_PUB (1u << AK_EC_PUB)
#define M_EC_PRIV (1u << AK_EC_PRIV)
#define M_EC (M_EC_PUB | M_EC_PRIV)
#define M_ALL (M_RSA_PUB | M_RSA_PRIV | M_RSA_CRT | M_EC)

/* setX(byte[] buf, short off, short len) */
static int key_set(vm_runtime *rt, const uint16_t *a, unsigned mask, unsigned c)
{
    asym_key k;
    API_TRY(asym_key_get(rt, a[0], mask, &k));
    vm_obj *src;
    API_TRY(api_bytes(rt, a[1], &src));
    API_TRY(api_range(src, a[2], a[3]));
    uint16_t len = a[3];
    const uint8_t *p = src->data + a[2];
    if (k.kind >= AK_EC_PUB && (c == EC_G || (c == EC_KEY && k.kind == AK_EC_PUB))) {
        /* a point: 04 X Y or 02/03 X, X and Y of the field's size */
        uint16_t n = (uint16_t)((k.bits + 7) / 8);
        if (!(len == 1 + 2 * n && p[0] == 4) && !(len == 1 + n && (p[0] == 2 || p[0] == 3)))
            return ASYM_ILLEGAL_VALUE;
    }
    return asym_comp_set(rt, &k, c, p, len, 1);
}

/* getX(byte[] buf, short off) -> length */
static int key_get(vm_runtime *rt, const uint16_t *a, uint16_t *ret, unsigned mask, unsigned c)
{
    asym_key k;
    API_TRY(asym_key_get(rt, a[0], mask, &k));
    uint16_t n;
    const uint8_t *p = asym_comp(&k, c, &n);
    if (!p)
        return API_CRYPTO(JC_CRYPTO_UNINITIALIZED_KEY);
    vm_obj *dst;
    API_TRY(api_bytes(rt, a[1], &dst));
    API_TRY(api_range(dst, a[2], n));
    API_TRY(api_store(rt, dst, a[2], p, n, 1));
    *ret = n;
    return 0;
}

static int key_clear(vm_runtime *rt, const uint16_t *a)
{
    asym_key k;
    API_TRY(asym_key_get(rt, a[0], M_ALL, &k));
    return clear_all(rt, &k);
}

static int key_is_init(vm_runtime *rt, const uint16_t *a, uint16_t *ret)
{
    asym_key k;
    API_TRY(asym_key_get(rt, a[0], M_ALL, &k));
    *ret = (uint16_t)asym_key_ready(&k);
    return 0;
}

static int key_size(vm_runtime *rt, const uint16_t *a, uint16_t *ret)
{
    asym_key k;
    API_TRY(asym_key_get(rt, a[0], M_ALL, &k));
    *ret = k.bits;
    return 0;
}

static int key_type(vm_runtime *rt, const uint16_t *a, uint16_t *ret)
{
    asym_key k;
    API_TRY(asym_key_get(rt, a[0], M_ALL, &k));
    *ret = k.type;
    return 0;
}

/* Key's four methods for class C. */
#define KEY_COMMON(C) \
    int api_##C##_clearKey(vm_runtime *rt, uint16_t *a, uint16_t *ret) { (void)ret; return key_clear(rt, a); } \
    int api_##C##_isInitialized(vm_runtime *rt, uint16_t *a, uint16_t *ret) { return key_is_init(rt, a, ret); } \
    int api_##C##_getSize(vm_runtime *rt, uint16_t *a, uint16_t *ret) { return key_size(rt, a, ret); } \
    int api_##C##_getType(vm_runtime *rt, uint16_t *a, uint16_t *ret) { return key_type(rt, a, ret); }
#define KEY_SET(C, name, mask, comp) \
    int api_##C##_##name(vm_runtime *rt, uint16_t *a, uint16_t *ret) { (void)ret; return key_set(rt, a, mask, comp); }
#define KEY_GET(C, name, mask, comp) \
    int api_##C##_##name(vm_runtime *rt, uint16_t *a, uint16_t *ret) { return key_get(rt, a, ret, mask, comp); }

KEY_COMMON(RSAPublicKeyImpl)
KEY_SET(RSAPublicKeyImpl, setModulus, M_RSA_PUB, RSA_N)
KEY_SET(RSAPublicKeyImpl, setExponent, M_RSA_PUB, RSA_E)
KEY_GET(RSAPublicKeyImpl, getModulus, M_RSA_PUB, RSA_N)
KEY_GET(RSAPublicKeyImpl, getExponent, M_RSA_PUB, RSA_E)

KEY_COMMON(RSAPrivateKeyImpl)
KEY_SET(RSAPrivateKeyImpl, setModulus, M_RSA_PRIV, RSA_N)
KEY_SET(RSAPrivateKeyImpl, setExponent, M_RSA_PRIV, RSA_E)
KEY_GET(RSAPrivateKeyImpl, getModulus, M_RSA_PRIV, RSA_N)
KEY_GET(RSAPrivateKeyImpl, getExponent, M_RSA_PRIV, RSA_E)

KEY_COMMON(RSAPrivateCrtKeyImpl)
KEY_SET(RSAPrivateCrtKeyImpl, setP, M_RSA_CRT, CRT_P)
KEY_SET(RSAPrivateCrtKeyImpl, setQ, M_RSA_CRT, CRT_Q)
KEY_SET(RSAPrivateCrtKeyImpl, setDP1, M_RSA_CRT, CRT_DP)
KEY_SET(RSAPrivateCrtKeyImpl, setDQ1, M_RSA_CRT, CRT_DQ)
KEY_SET(RSAPrivateCrtKeyImpl, setPQ, M_RSA_CRT, CRT_PQ)
KEY_GET(RSAPrivateCrtKeyImpl, getP, M_RSA_CRT, CRT_P)
KEY_GET(RSAPrivateCrtKeyImpl, getQ, M_RSA_CRT, CRT_Q)
KEY_GET(RSAPrivateCrtKeyImpl, getDP1, M_RSA_CRT, CRT_DP)
KEY_GET(RSAPrivateCrtKeyImpl, getDQ1, M_RSA_CRT, CRT_DQ)
KEY_GET(RSAPrivateCrtKeyImpl, getPQ, M_RSA_CRT, CRT_PQ)

/* ---- EC: the domain parameters (ECKey) ---- */

static int ec_set_k(vm_runtime *rt, const uint16_t *a)
{
    asym_key k;
    API_TRY(asym_key_get(rt, a[0], M_EC, &k));
    if ((int16_t)a[1] < 1)
        return ASYM_ILLEGAL_VALUE;
    uint8_t v[2] = { (uint8_t)(a[1] >> 8), (uint8_t)a[1] };
    return asym_comp_set(rt, &k, EC_K, v, 2, 1);
}

static int ec_get_k(vm_runtime *rt, const uint16_t *a, uint16_t *ret)
{
    asym_key k;
    API_TRY(asym_key_get(rt, a[0], M_EC, &k));
    uint16_t n;
    const uint8_t *p = asym_comp(&k, EC_K, &n);
    if (!p || n != 2)
        return API_CRYPTO(JC_CRYPTO_UNINITIALIZED_KEY);
    *ret = (uint16_t)((p[0] << 8) | p[1]);
    return 0;
}

/* copyDomainParametersFrom(ECKey): same size, all of them set. */
static int ec_copy_domain(vm_runtime *rt, const uint16_t *a)
{
    asym_key k, from;
    API_TRY(asym_key_get(rt, a[0], M_EC, &k));
    API_TRY(asym_key_get(rt, a[1], M_EC, &from));
    if (from.bits != k.bits)
        return ASYM_ILLEGAL_VALUE;
    for (unsigned c = EC_FIELD; c <= EC_R; c++) {
        uint16_t n;
        if (!asym_comp(&from, c, &n))
            return API_CRYPTO(JC_CRYPTO_UNINITIALIZED_KEY);
    }
    for (unsigned c = EC_FIELD; c <= EC_K; c++) {
        uint16_t n;
        const uint8_t *p = asym_comp(&from, c, &n);
        if (p) {
            uint8_t buf[2 + 2 * 66];
            memcpy(buf, p, n);
            API_TRY(asym_comp_set(rt, &k, c, buf, n, 1));
        }
    }
    return 0;
}

/* Binary fields are not on this card (NO_SUCH_ALGORITHM at buildKey):
 * an FP key refuses them. */
static int ec_f2m(vm_runtime *rt, const uint16_t *a)
{
    asym_key k;
    API_TRY(asym_key_get(rt, a[0], M_EC, &k));
    return ASYM_ILLEGAL_VALUE;
}

#define EC_DOMAIN(C) \
    KEY_COMMON(C) \
    KEY_SET(C, setFieldFP, M_EC, EC_FIELD) \
    KEY_SET(C, setA, M_EC, EC_A) \
    KEY_SET(C, setB, M_EC, EC_B) \
    KEY_SET(C, setG, M_EC, EC_G) \
    KEY_SET(C, setR, M_EC, EC_R) \
    KEY_GET(C, getField, M_EC, EC_FIELD) \
    KEY_GET(C, getA, M_EC, EC_A) \
    KEY_GET(C, getB, M_EC, EC_B) \
    KEY_GET(C, getG, M_EC, EC_G) \
    KEY_GET(C, getR, M_EC, EC_R) \
    int api_##C##_setK(vm_runtime *rt, uint16_t *a, uint16_t *ret) { (void)ret; return ec_set_k(rt, a); } \
    int api_##C##_getK(vm_runtime *rt, uint16_t *a, uint16_t *ret) { return ec_get_k(rt, a, ret); } \
    int api_##C##_setFieldF2M__S(vm_runtime *rt, uint16_t *a, uint16_t *ret) { (void)ret; return ec_f2m(rt, a); } \
    int api_##C##_setFieldF2M__SSS(vm_runtime *rt, uint16_t *a, uint16_t *ret) { (void)ret; return ec_f2m(rt, a); } \
    int api_##C##_copyDomainParametersFrom(vm_runtime *rt, uint16_t *a, uint16_t *ret) \
    { (void)ret; return ec_copy_domain(rt, a); }

EC_DOMAIN(ECPublicKeyImpl)
KEY_SET(ECPublicKeyImpl, setW, M_EC_PUB, EC_KEY)
KEY_GET(ECPublicKeyImpl, getW, M_EC_PUB, EC_KEY)

EC_DOMAIN(ECPrivateKeyImpl)
KEY_SET(ECPrivateKeyImpl, setS, M_EC_PRIV, EC_KEY)
KEY_GET(ECPrivateKeyImpl, getS, M_EC_PRIV, EC_KEY)
