/*
 * api_checksum.c — javacard.security.Checksum: ALG_ISO3309_CRC16 and
 * ALG_ISO3309_CRC32 as the JC 3.0.5 API defines them: the ISO/IEC 3309
 * (HDLC, ISO/IEC 13239 frame checking sequence) CRCs, bits taken least
 * significant first, generator x^16 + x^12 + x^5 + 1 (CRC16) or the
 * CRC-32 generator (CRC32), register starting at the value init() gives
 * (default 0), no final complement: an applet gets the usual CCITT/X.25
 * and PKZip/Ethernet values by initialising to all ones and complementing
 * the result, as the API notes say. doFinal writes the register
 * big-endian (2 or 4 bytes) and starts the next checksum from the
 * initial value again.
 *
 * CRC32 is zlib's crc32() (which complements before and after, undone
 * here); CRC16 is bitwise (no maintained library has this one).
 *
 * Object state: [0] algorithm, [1] ref byte[9] CLEAR_ON_RESET (register
 * u32, initial value u32, started flag): a tear or reset puts the object
 * back to its state upon construction, as the API specifies, and updates
 * are not transaction-logged ("shall not participate in the transaction").
 */
#include <string.h>
#include <zlib.h>

#include "api_crypto.h"

enum { CRC16 = 1, CRC32 = 2 };
enum { ST_REG = 0, ST_INIT = 4, ST_STARTED = 8, ST_SIZE = 9 };

static uint32_t get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put_u32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* The register after data, bits least significant first. */
static uint32_t crc_run(uint8_t alg, uint32_t reg, const uint8_t *data, uint32_t len)
{
    if (alg == CRC32)
        return ~(uint32_t)crc32(~reg & 0xFFFFFFFFu, data, (uInt)len) & 0xFFFFFFFFu;
    uint16_t r = (uint16_t)reg;
    for (uint32_t i = 0; i < len; i++) {
        r ^= data[i];
        for (int b = 0; b < 8; b++)
            r = (uint16_t)(r & 1 ? (r >> 1) ^ 0x8408u : r >> 1);   /* 0x1021 reflected */
    }
    return r;
}

int api_Checksum_getInstance(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    uint8_t alg = (uint8_t)a[0];
    if (alg != CRC16 && alg != CRC32)
        return NO_SUCH_ALGORITHM;
    uint16_t h, st;
    API_TRY(api_new_instance(rt, JC_PKG_SECURITY, JC_SEC_Checksum, 0, &h));
    API_TRY(api_new_array(rt, VM_OBJ_BYTES, VM_OF_CLEAR_RESET, ST_SIZE, 0, &st));
    vm_obj *o = &rt->objs[h];
    API_TRY(api_slot_set(rt, o, 0, alg));
    API_TRY(api_slot_set(rt, o, 1, st));
    *ret = h;
    return 0;
}

static int cs_state(vm_runtime *rt, uint16_t h, uint8_t *alg, vm_obj **st)
{
    vm_obj *self;
    API_TRY(api_this(rt, h, &self));
    uint16_t s = api_slot(self, 1);
    *alg = (uint8_t)api_slot(self, 0);
    if ((*alg != CRC16 && *alg != CRC32) || s == 0 || s >= rt->obj_cap || rt->objs[s].kind != VM_OBJ_BYTES ||
        rt->objs[s].length != ST_SIZE)
        return API_SECURITY;
    *st = &rt->objs[s];
    return 0;
}

/* init(bArray, bOff, bLen): the initial checksum value, 2 or 4 bytes. */
int api_Checksum_init(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    (void)ret;
    uint8_t alg;
    vm_obj *st;
    API_TRY(cs_state(rt, a[0], &alg, &st));
    BYTES(in, a[1]);
    RANGE(in, a[2], a[3]);
    if (a[3] != (alg == CRC16 ? 2 : 4))
        return ILLEGAL_VALUE;
    uint8_t v[ST_SIZE] = { 0 };
    put_u32(v + ST_INIT, alg == CRC16 ? (uint32_t)(in->data[a[2]] << 8 | in->data[a[2] + 1])
                                      : get_u32(in->data + a[2]));
    return api_store(rt, st, 0, v, ST_SIZE, 0);
}

int api_Checksum_getAlgorithm(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    THIS(self);
    *ret = api_slot(self, 0);
    return 0;
}

static uint32_t current(const vm_obj *st)
{
    return st->data[ST_STARTED] ? get_u32(st->data + ST_REG) : get_u32(st->data + ST_INIT);
}

int api_Checksum_update(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    (void)ret;
    uint8_t alg;
    vm_obj *st;
    API_TRY(cs_state(rt, a[0], &alg, &st));
    BYTES(in, a[1]);
    RANGE(in, a[2], a[3]);
    uint8_t v[4], started = 1;
    put_u32(v, crc_run(alg, current(st), in->data + a[2], a[3]));
    API_TRY(api_store(rt, st, ST_REG, v, 4, 0));
    return api_store(rt, st, ST_STARTED, &started, 1, 0);
}

/* The output may overlap the input (computed before it is written). */
int api_Checksum_doFinal(vm_runtime *rt, uint16_t *a, uint16_t *ret)
{
    uint8_t alg;
    vm_obj *st;
    API_TRY(cs_state(rt, a[0], &alg, &st));
    BYTES(in, a[1]);
    RANGE(in, a[2], a[3]);
    BYTES(out, a[4]);
    uint16_t n = alg == CRC16 ? 2 : 4;
    RANGE(out, a[5], n);
    uint8_t v[4];
    put_u32(v, crc_run(alg, current(st), in->data + a[2], a[3]));
    uint8_t fresh = 0;
    API_TRY(api_store(rt, st, ST_STARTED, &fresh, 1, 0));
    API_TRY(api_store(rt, out, a[5], v + 4 - n, n, 0));
    *ret = n;
    return 0;
}
