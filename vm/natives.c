/*
 * natives.c — the native API behind invokestatic NATIVE tokens (natives.h,
 * docs/vm.md). Each handler gets the argument words (args[0] is the first
 * argument), may set *ret, and returns 0, a system exception class (reason
 * set with vm_set_reason) or a negative fatal VM_ERR_*.
 */
#include <string.h>
#include <tomcrypt.h>

#include "api_support.h"
#include "natives.h"
#include "vm_internal.h"

#define THROW(cls, reason) return vm_set_reason(rt, (cls), (reason))

void vm_crypto_init(void)
{
    /* libtomcrypt keeps its own registry; registering twice is harmless. */
    register_cipher(&aes_desc);
    register_hash(&sha256_desc);
}

/* Byte array argument reachable from the current context. */
static int byte_array(vm_runtime *rt, uint16_t h, vm_obj **out)
{
    if (h == 0)
        THROW(VM_SC_NullPointerException, 0);
    if (h >= rt->obj_cap)
        THROW(VM_SC_SecurityException, 0);
    vm_obj *o = &rt->objs[h];
    if (o->kind == VM_OBJ_FREE || (o->pkg != rt->ctx && !(o->flags & VM_OF_GLOBAL)))
        THROW(VM_SC_SecurityException, 0);
    if (o->kind != VM_OBJ_BYTES && o->kind != VM_OBJ_BOOLS)
        THROW(VM_SC_SecurityException, 0);
    *out = o;
    return 0;
}

/* [off, off+len) inside o, with Java's signed arguments. */
static int in_range(vm_runtime *rt, const vm_obj *o, uint16_t off, uint16_t len)
{
    int32_t so = (int16_t)off, sl = (int16_t)len;
    if (so < 0 || sl < 0 || so + sl > o->length)
        THROW(VM_SC_ArrayIndexOutOfBoundsException, 0);
    return 0;
}

#define ARRAY(var, h) vm_obj *var = NULL; { int rc_ = byte_array(rt, (h), &var); if (rc_) return rc_; }
#define RANGE(o, off, len) { int rc_ = in_range(rt, (o), (off), (len)); if (rc_) return rc_; }

/* ---- APDU ---- */

static int send_from(vm_runtime *rt, const uint8_t *src, uint16_t len)
{
    if (!rt->resp || rt->resp_len + len > rt->resp_cap || rt->resp_len + len > 256)
        THROW(VM_SC_ISOException, 0x6700);
    memcpy(rt->resp + rt->resp_len, src, len);
    rt->resp_len += len;
    rt->apdu_state = 2;
    return 0;
}

static int apdu_send(vm_runtime *rt, uint16_t off, uint16_t len)
{
    int32_t so = (int16_t)off, sl = (int16_t)len;
    if (so < 0 || sl < 0 || so + sl > (int32_t)VM_APDU_BUFFER_SIZE)
        THROW(VM_SC_ArrayIndexOutOfBoundsException, 0);
    return send_from(rt, vm_ram(rt) + VM_RAM_APDU + so, len);
}

/* ---- OwnerPIN: persistent data [0] try limit, [1] max size, [2] tries
 * remaining, [3] PIN length, [4..] PIN; validated flag: one RAM byte
 * (cleared on deselect and reset). ---- */

static int pin_obj(vm_runtime *rt, uint16_t h, vm_obj **out)
{
    if (h == 0)
        THROW(VM_SC_NullPointerException, 0);
    if (h >= rt->obj_cap)
        THROW(VM_SC_SecurityException, 0);
    vm_obj *o = &rt->objs[h];
    if (o->kind != VM_OBJ_PIN || o->pkg != rt->ctx)
        THROW(VM_SC_SecurityException, 0);
    *out = o;
    return 0;
}
#define PIN(var, h) vm_obj *var = NULL; { int rc_ = pin_obj(rt, (h), &var); if (rc_) return rc_; }

static uint8_t *pin_validated(vm_runtime *rt, const vm_obj *o) { return vm_ram(rt) + o->ram_off; }

/* PIN bookkeeping is never part of a transaction (Java Card: the try
 * counter must not be rolled back by an abort). */
static int pin_set(vm_runtime *rt, vm_obj *o, unsigned at, uint8_t v)
{
    return vm_obj_store(rt, o, at, &v, 1, 0);
}

/* ---- crypto helpers ---- */

#define CRYPTO_MAX 1024   /* bytes per call; keeps buffers on the C stack */

static int aes_key(vm_runtime *rt, uint16_t karr, uint16_t koff, uint16_t klen, const uint8_t **key)
{
    ARRAY(k, karr);
    RANGE(k, koff, klen);
    if (klen != 16 && klen != 24 && klen != 32)
        THROW(VM_SC_CryptoException, VM_CRYPTO_ILLEGAL_VALUE);
    *key = k->data + koff;
    return 0;
}

static int aes_run(vm_runtime *rt, uint16_t *a, int cbc, uint16_t *ret)
{
    /* ecb: mode, key, keyOff, keyLen, in, inOff, len, out, outOff
     * cbc: mode, key, keyOff, keyLen, iv, ivOff, in, inOff, len, out, outOff */
    unsigned i = cbc ? 6 : 4;
    uint16_t mode = a[0];
    const uint8_t *key = NULL, *iv = NULL;
    int rc = aes_key(rt, a[1], a[2], a[3], &key);
    if (rc)
        return rc;
    if (cbc) {
        ARRAY(ivo, a[4]);
        RANGE(ivo, a[5], 16);
        iv = ivo->data + a[5];
    }
    ARRAY(in, a[i]);
    RANGE(in, a[i + 1], a[i + 2]);
    ARRAY(out, a[i + 3]);
    uint16_t len = a[i + 2];
    RANGE(out, a[i + 4], len);
    if ((mode != 1 && mode != 2) || len % 16 || len > CRYPTO_MAX)
        THROW(VM_SC_CryptoException, VM_CRYPTO_ILLEGAL_VALUE);
    uint8_t buf[CRYPTO_MAX];
    int cidx = find_cipher("aes");
    int ok;
    if (cbc) {
        symmetric_CBC st;
        ok = cbc_start(cidx, iv, key, (int)a[3], 0, &st) == CRYPT_OK &&
             (mode == 2 ? cbc_encrypt(in->data + a[i + 1], buf, len, &st)
                        : cbc_decrypt(in->data + a[i + 1], buf, len, &st)) == CRYPT_OK;
        cbc_done(&st);
    } else {
        symmetric_ECB st;
        ok = ecb_start(cidx, key, (int)a[3], 0, &st) == CRYPT_OK &&
             (mode == 2 ? ecb_encrypt(in->data + a[i + 1], buf, len, &st)
                        : ecb_decrypt(in->data + a[i + 1], buf, len, &st)) == CRYPT_OK;
        ecb_done(&st);
    }
    if (!ok)
        THROW(VM_SC_CryptoException, VM_CRYPTO_ILLEGAL_VALUE);
    rc = vm_obj_store(rt, out, a[i + 4], buf, len, 0);
    memset(buf, 0, len);
    *ret = len;
    return rc;
}

/* ---- dispatch ---- */

int vm_native(vm_runtime *rt, uint16_t token, uint16_t *a, uint16_t *ret)
{
    int rc;
    switch (token) {
    /* APDU */
    case 0x0000: *ret = VM_H_APDU_BUFFER; return 0;
    case 0x0001:
        rt->apdu_state = 1;
        *ret = rt->apdu_lc;
        return 0;
    case 0x0002:
        return apdu_send(rt, a[1], a[2]);
    case 0x0003:
        *ret = rt->apdu_le ? rt->apdu_le : 256;
        return 0;
    case 0x0004:
        if ((int16_t)a[1] < 0 || a[1] > 256)
            THROW(VM_SC_ISOException, 0x6700);
        return 0;
    case 0x0005:
        return apdu_send(rt, a[1], a[2]);
    case 0x0006: {
        ARRAY(o, a[1]);
        RANGE(o, a[2], a[3]);
        return send_from(rt, o->data + a[2], a[3]);
    }
    case 0x0007: *ret = rt->apdu_lc; return 0;

    /* Applet */
    case 0x0100: return vm_register_instance(rt, a[0]);
    case 0x0101: *ret = rt->selecting; return 0;

    /* Util */
    case 0x0200:
    case 0x0201: {
        ARRAY(src, a[0]);
        ARRAY(dst, a[2]);
        RANGE(src, a[1], a[4]);
        RANGE(dst, a[3], a[4]);
        uint16_t len = a[4];
        uint8_t tmp[512];
        /* Copy through a buffer so overlapping copies behave like memmove
         * and the source is read before the destination changes. */
        for (uint16_t done = 0; done < len;) {
            uint16_t n = (uint16_t)((uint32_t)(len - done) > sizeof tmp ? sizeof tmp : (uint32_t)(len - done));
            uint16_t at = src == dst && a[3] > a[1] ? (uint16_t)(len - done - n) : done;
            memcpy(tmp, src->data + a[1] + at, n);
            if ((rc = vm_obj_store(rt, dst, (uint32_t)a[3] + at, tmp, n, token == 0x0200)) != 0)
                return rc;
            done = (uint16_t)(done + n);
        }
        *ret = (uint16_t)(a[3] + len);
        return 0;
    }
    case 0x0202: {
        ARRAY(src, a[0]);
        ARRAY(dst, a[2]);
        RANGE(src, a[1], a[4]);
        RANGE(dst, a[3], a[4]);
        int16_t r = 0;
        for (uint16_t i = 0; i < a[4] && !r; i++) {
            int8_t x = (int8_t)src->data[a[1] + i], y = (int8_t)dst->data[a[3] + i];
            r = (int16_t)(x < y ? -1 : x > y ? 1 : 0);
        }
        *ret = (uint16_t)r;
        return 0;
    }
    case 0x0203: {
        ARRAY(o, a[0]);
        RANGE(o, a[1], a[2]);
        if ((rc = vm_obj_fill(rt, o, a[1], (uint8_t)a[3], a[2])) != 0)
            return rc;
        *ret = (uint16_t)(a[1] + a[2]);
        return 0;
    }
    case 0x0204: {
        ARRAY(o, a[0]);
        RANGE(o, a[1], 2);
        *ret = vm_rd16(o->data + a[1]);
        return 0;
    }
    case 0x0205: {
        ARRAY(o, a[0]);
        RANGE(o, a[1], 2);
        uint8_t w[2];
        vm_wr16(w, a[2]);
        if ((rc = vm_obj_store(rt, o, a[1], w, 2, 1)) != 0)
            return rc;
        *ret = (uint16_t)(a[1] + 2);
        return 0;
    }
    case 0x0206: *ret = (uint16_t)(((a[0] & 0xFF) << 8) | (a[1] & 0xFF)); return 0;

    /* JCSystem */
    case 0x0300: return vm_tx_begin(rt);
    case 0x0301: return vm_tx_commit(rt);
    case 0x0302: return vm_tx_abort(rt);
    case 0x0303: *ret = rt->tx_open; return 0;
    case 0x0304:
    case 0x0305: {
        int16_t n = (int16_t)a[0];
        uint16_t h;
        if (n < 0)
            THROW(VM_SC_NegativeArraySizeException, 0);
        if (a[1] != 1 && a[1] != 2)
            THROW(VM_SC_SystemException, VM_SYS_ILLEGAL_VALUE);
        int shorts = token == 0x0305;
        rc = vm_alloc(rt, shorts ? VM_OBJ_SHORTS : VM_OBJ_BYTES,
                      a[1] == 1 ? VM_OF_CLEAR_RESET : VM_OF_CLEAR_DESELECT, 0, (uint16_t)n, 0,
                      (uint32_t)n * (shorts ? 2u : 1u), &h);
        if (rc)
            return rc;
        *ret = h;
        return 0;
    }
    case 0x0306: {
        /* .cvp numbering: 1 persistent, 2 and 3 transient */
        int64_t avail = a[0] == 1 ? api_available_memory(rt, 0)
                      : (a[0] == 2 || a[0] == 3) ? api_available_memory(rt, 1) : -1;
        if (avail < 0)
            THROW(VM_SC_SystemException, VM_SYS_ILLEGAL_VALUE);
        *ret = (uint16_t)(avail > 32767 ? 32767 : avail);
        return 0;
    }
    case 0x0307: {
        uint16_t h = a[0];
        if (h == 0)
            THROW(VM_SC_NullPointerException, 0);
        if (h >= rt->obj_cap || rt->objs[h].kind == VM_OBJ_FREE)
            THROW(VM_SC_SecurityException, 0);
        uint8_t f = rt->objs[h].flags;
        *ret = (f & VM_OF_PERSISTENT) ? 0 : (f & VM_OF_CLEAR_RESET) ? 1 : (f & VM_OF_CLEAR_DESELECT) ? 2 : 0;
        return 0;
    }

    /* exceptions */
    case 0x0400: THROW(VM_SC_ISOException, a[0]);
    case 0x0401: {
        uint16_t h = a[0];
        if (h == 0)
            THROW(VM_SC_NullPointerException, 0);
        *ret = 0;
        if (h >= VM_H_EXC_FIRST && h < VM_H_FIRST_DYNAMIC)
            *ret = rt->exc_reason[VM_SC_FIRST_THROWABLE - VM_SC_Object + (h - VM_H_EXC_FIRST)];
        return 0;
    }

    /* OwnerPIN */
    case 0x0500: {
        int16_t limit = (int16_t)a[0], max = (int16_t)a[1];
        uint16_t h;
        if (limit < 1 || limit > 127 || max < 1 || max > 127)
            THROW(VM_SC_SystemException, VM_SYS_ILLEGAL_VALUE);
        rc = vm_alloc(rt, VM_OBJ_PIN, VM_OF_PERSISTENT, VM_SC_OwnerPIN, (uint16_t)max, 4u + (uint32_t)max, 1, &h);
        if (rc)
            return rc;
        vm_obj *o = &rt->objs[h];
        uint8_t init[3] = { (uint8_t)limit, (uint8_t)max, (uint8_t)limit };
        if ((rc = vm_obj_store(rt, o, 0, init, 3, 0)) != 0)
            return rc;
        *ret = h;
        return 0;
    }
    case 0x0501: {
        PIN(p, a[0]);
        ARRAY(arr, a[1]);
        RANGE(arr, a[2], a[3]);
        *pin_validated(rt, p) = 0;
        uint8_t tries = p->data[2];
        *ret = 0;
        if (tries == 0)
            return 0;
        /* Decrement first, so that a power cut during the comparison
         * cannot give a free try. */
        if ((rc = pin_set(rt, p, 2, (uint8_t)(tries - 1))) != 0)
            return rc;
        /* ... and commit it now (Java Card: decrement, commit, compare), so
         * that no kill or crash before the APDU's commit gives a free try. */
        if ((rc = chip_commit_now(rt->chip, p->nvm_off + VM_OBJ_HDR + 2, 1)) != 0)
            return rc == CHIP_ERR_POWER ? VM_ERR_POWER : VM_ERR_CORRUPT;
        if (a[3] == p->data[3] && !memcmp(arr->data + a[2], p->data + 4, a[3])) {
            if ((rc = pin_set(rt, p, 2, p->data[0])) != 0)
                return rc;
            *pin_validated(rt, p) = 1;
            *ret = 1;
        }
        return 0;
    }
    case 0x0502: {
        PIN(p, a[0]);
        *ret = *pin_validated(rt, p);
        return 0;
    }
    case 0x0503: {
        PIN(p, a[0]);
        if (*pin_validated(rt, p)) {
            *pin_validated(rt, p) = 0;
            return pin_set(rt, p, 2, p->data[0]);
        }
        return 0;
    }
    case 0x0504: {
        PIN(p, a[0]);
        ARRAY(arr, a[1]);
        RANGE(arr, a[2], a[3]);
        if (a[3] > p->data[1])
            THROW(VM_SC_SystemException, VM_SYS_ILLEGAL_VALUE);
        uint8_t lenb = (uint8_t)a[3];
        if ((rc = vm_obj_store(rt, p, 4, arr->data + a[2], a[3], 1)) != 0 ||
            (rc = vm_obj_store(rt, p, 3, &lenb, 1, 1)) != 0)
            return rc;
        *pin_validated(rt, p) = 0;
        return pin_set(rt, p, 2, p->data[0]);
    }
    case 0x0505: {
        PIN(p, a[0]);
        *ret = p->data[2];
        return 0;
    }
    case 0x0506: {
        PIN(p, a[0]);
        *pin_validated(rt, p) = 0;
        return pin_set(rt, p, 2, p->data[0]);
    }

    /* crypto */
    case 0x0600: return aes_run(rt, a, 0, ret);
    case 0x0601: return aes_run(rt, a, 1, ret);
    case 0x0602: {
        ARRAY(in, a[0]);
        RANGE(in, a[1], a[2]);
        ARRAY(out, a[3]);
        RANGE(out, a[4], 32);
        uint8_t d[32];
        vm_sha256(in->data + a[1], a[2], d);
        *ret = 32;
        return vm_obj_store(rt, out, a[4], d, 32, 0);
    }
    case 0x0603: {
        const uint8_t *key = NULL;
        if ((rc = aes_key(rt, a[0], a[1], a[2], &key)) != 0)
            return rc;
        ARRAY(in, a[3]);
        RANGE(in, a[4], a[5]);
        ARRAY(out, a[6]);
        RANGE(out, a[7], 16);
        uint8_t mac[16];
        unsigned long maclen = sizeof mac;
        if (omac_memory(find_cipher("aes"), key, a[2], in->data + a[4], a[5], mac, &maclen) != CRYPT_OK)
            THROW(VM_SC_CryptoException, VM_CRYPTO_ILLEGAL_VALUE);
        *ret = 16;
        return vm_obj_store(rt, out, a[7], mac, 16, 0);
    }
    case 0x0604: {
        ARRAY(out, a[0]);
        RANGE(out, a[1], a[2]);
        uint8_t buf[256];
        for (uint16_t done = 0; done < a[2];) {
            uint16_t n = (uint16_t)((uint32_t)(a[2] - done) > sizeof buf ? sizeof buf : (uint32_t)(a[2] - done));
            if (rng_get_bytes(buf, n, NULL) != n)
                THROW(VM_SC_CryptoException, VM_CRYPTO_ILLEGAL_VALUE);
            if ((rc = vm_obj_store(rt, out, (uint32_t)a[1] + done, buf, n, 0)) != 0)
                return rc;
            done = (uint16_t)(done + n);
        }
        return 0;
    }
    default:
        THROW(VM_SC_SecurityException, 0);
    }
}
