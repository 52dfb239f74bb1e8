/*
 * gp_data.c — the GlobalPlatform data objects a security domain answers
 * GET DATA with (GPCS v2.3.1 section 11.3 and Annex H), for the ISD of a
 * USER-mode card (isd.c) and the built-in SD of a blank chip (builtin_sd.c).
 *
 * Every object is built inside out with BER-TLV lengths (ISO/IEC 8825-1)
 * computed from what was written, never typed in: a hand-counted length is
 * how tag 66 once announced 42 bytes and carried 49.
 *
 * Object identifiers: globalPlatform is {iso(1) member-body(2) us(840)
 * 114283}; GPCS Annex H names the arcs below it (1 card recognition data,
 * 2 card management type and version, 3 card identification scheme, 4 secure
 * channel protocol with its "i").
 */
#include <string.h>

#include "loader_internal.h"

/* {1 2 840 114283} in BER: 1*40+2, 840 and 114283 in base 128. */
static const uint8_t oid_gp[] = {0x2A, 0x86, 0x48, 0x86, 0xFC, 0x6B};

size_t gp_ber_len(uint8_t *p, size_t len)
{
    if (len < 0x80) {
        p[0] = (uint8_t)len;
        return 1;
    }
    if (len <= 0xFF) {
        p[0] = 0x81;
        p[1] = (uint8_t)len;
        return 2;
    }
    p[0] = 0x82;
    p[1] = (uint8_t)(len >> 8);
    p[2] = (uint8_t)len;
    return 3;
}

/* Moves content[0..n) (already at out + 3 + tag length, the room a BER
 * length needs at most) right behind tag and length. Returns the object's
 * whole length. Works in place: content is written first, wrapped after. */
static size_t wrap(uint8_t *out, uint16_t tag, size_t n)
{
    size_t tl = tag > 0xFF ? 2 : 1;
    uint8_t head[5];
    size_t h = 0;
    if (tl == 2) head[h++] = (uint8_t)(tag >> 8);
    head[h++] = (uint8_t)tag;
    h += gp_ber_len(head + h, n);
    memmove(out + h, out + tl + 3, n);
    memcpy(out, head, h);
    return h + n;
}
#define CONTENT(out, tag) ((out) + ((tag) > 0xFF ? 2 : 1) + 3)

/* 06 L {globalPlatform arcs...} (each arc below 128: one byte). */
static size_t gp_oid(uint8_t *out, const uint8_t *arcs, size_t n)
{
    uint8_t *c = CONTENT(out, 0x06);
    memcpy(c, oid_gp, sizeof oid_gp);
    memcpy(c + sizeof oid_gp, arcs, n);
    return wrap(out, 0x06, sizeof oid_gp + n);
}

size_t gp_card_recognition_data(uint8_t scp_i, uint8_t *out)
{
    uint8_t *crd = CONTENT(out, 0x66);      /* 66 { 73 { ... } } */
    uint8_t *c = CONTENT(crd, 0x73);
    size_t n = 0;
    static const uint8_t arc_crd[] = {1};
    static const uint8_t arc_version[] = {2, 2, 3, 1};   /* {globalPlatform 2 v}, v = 2.3.1 */
    static const uint8_t arc_scheme[] = {3};
    uint8_t arc_scp[] = {4, 0x03, scp_i};
    n += gp_oid(c + n, arc_crd, sizeof arc_crd);
    n += wrap(c + n, 0x60, gp_oid(CONTENT(c + n, 0x60), arc_version, sizeof arc_version));
    n += wrap(c + n, 0x63, gp_oid(CONTENT(c + n, 0x63), arc_scheme, sizeof arc_scheme));
    n += wrap(c + n, 0x64, gp_oid(CONTENT(c + n, 0x64), arc_scp, sizeof arc_scp));
    return wrap(out, 0x66, wrap(crd, 0x73, n));
}

size_t gp_card_capability(uint8_t scp_i, uint8_t aes_sizes, uint8_t *out)
{
    uint8_t *c = CONTENT(out, 0x67);
    size_t n = 0;
    /* A0 SCP information: 80 SCP type, 81 options (i), 82 supported keys */
    uint8_t *a0 = CONTENT(c, 0xA0);
    size_t m = 0;
    a0[m++] = 0x80; a0[m++] = 1; a0[m++] = 0x03;
    a0[m++] = 0x81; a0[m++] = 1; a0[m++] = scp_i;
    a0[m++] = 0x82; a0[m++] = 1; a0[m++] = aes_sizes;
    n += wrap(c, 0xA0, m);
    /* 82 privileges an application may be given: all but Security Domain
     * (no supplementary security domains, so no 81 and no 87). */
    static const uint8_t app_privileges[] = {0x82, 3, 0x7F, 0xFF, 0xF0};
    memcpy(c + n, app_privileges, sizeof app_privileges);
    n += sizeof app_privileges;
    /* 83 load file data block hash algorithms: SHA-1 (01), SHA-256 (02) */
    static const uint8_t lfdbh[] = {0x83, 2, 0x01, 0x02};
    memcpy(c + n, lfdbh, sizeof lfdbh);
    n += sizeof lfdbh;
    return wrap(out, 0x67, n);
}

size_t gp_key_information(const scp03_keyset *sets, const uint8_t *absent, size_t n_sets, uint8_t *out)
{
    uint8_t *c = CONTENT(out, 0xE0);
    size_t n = 0;
    for (size_t k = 0; k < n_sets; k++) {
        for (uint8_t id = 1; id <= 3; id++) {
            if (absent && (absent[k] >> (id - 1) & 1)) continue;
            /* C0 basic format: key id, KVN, key type 88 (AES), key length */
            uint8_t c0[] = {0xC0, 0x04, id, sets[k].kvn, 0x88, sets[k].key_len};
            memcpy(c + n, c0, sizeof c0);
            n += sizeof c0;
        }
    }
    return wrap(out, 0xE0, n);
}
