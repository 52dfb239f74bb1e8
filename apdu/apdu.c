/* apdu.c — ISO/IEC 7816-4 command codec (see apdu.h for the encodings). */
#include "apdu.h"

#include <string.h>

uint16_t apdu_parse(const uint8_t *b, size_t len, apdu_command *out)
{
    memset(out, 0, sizeof *out);
    if (len < 4 || len > APDU_MAX_COMMAND) return SW_WRONG_LENGTH;
    out->cla = b[0];
    out->ins = b[1];
    out->p1 = b[2];
    out->p2 = b[3];
    if (len == 4) {
        out->iso_case = 1;
        return SW_OK;
    }
    if (len == 5) {                         /* case 2 short */
        out->iso_case = 2;
        out->ne = b[4] ? b[4] : 256u;
        return SW_OK;
    }
    if (b[4] != 0) {                        /* short Lc */
        size_t lc = b[4];
        if (len == 5 + lc) {
            out->iso_case = 3;
        } else if (len == 5 + lc + 1) {
            out->iso_case = 4;
            out->ne = b[5 + lc] ? b[5 + lc] : 256u;
        } else {
            return SW_WRONG_LENGTH;
        }
        out->nc = (uint32_t)lc;
        out->data = b + 5;
        return SW_OK;
    }
    /* b[4] == 0: extended length marker. */
    if (len < 7) return SW_WRONG_LENGTH;
    size_t n = ((size_t)b[5] << 8) | b[6];
    out->extended = 1;
    if (len == 7) {                         /* case 2 extended */
        out->iso_case = 2;
        out->ne = n ? (uint32_t)n : 65536u;
        return SW_OK;
    }
    if (n == 0) return SW_WRONG_LENGTH;     /* extended Lc must be 1..65535 */
    if (len == 7 + n) {
        out->iso_case = 3;
    } else if (len == 7 + n + 2) {
        size_t le = ((size_t)b[7 + n] << 8) | b[8 + n];
        out->iso_case = 4;
        out->ne = le ? (uint32_t)le : 65536u;
    } else {
        return SW_WRONG_LENGTH;
    }
    out->nc = (uint32_t)n;
    out->data = b + 7;
    return SW_OK;
}

size_t apdu_encode(const apdu_command *c, uint8_t *buf, size_t cap)
{
    if (c->nc > 65535u || c->ne > 65536u) return 0;
    int ext = c->nc > 255u || c->ne > 256u;
    size_t need = 4 + (c->nc ? (ext ? 3u : 1u) + c->nc : 0) + (c->ne ? (ext ? (c->nc ? 2u : 3u) : 1u) : 0);
    if (need > cap) return 0;
    size_t i = 0;
    buf[i++] = c->cla;
    buf[i++] = c->ins;
    buf[i++] = c->p1;
    buf[i++] = c->p2;
    if (c->nc) {
        if (ext) {
            buf[i++] = 0;
            buf[i++] = (uint8_t)(c->nc >> 8);
        }
        buf[i++] = (uint8_t)c->nc;
        memmove(buf + i, c->data, c->nc);   /* may overlap (apdu.h) */
        i += c->nc;
    }
    if (c->ne) {
        if (ext) {
            if (!c->nc) buf[i++] = 0;
            buf[i++] = (uint8_t)(c->ne >> 8);     /* 65536 encodes as 0000 */
        }
        buf[i++] = (uint8_t)c->ne;               /* 256 encodes as 00 */
    }
    return i;
}

int apdu_sw_is_success(uint16_t sw)
{
    unsigned sw1 = sw >> 8;
    return sw == SW_OK || sw1 == 0x61 || sw1 == 0x62 || sw1 == 0x63;
}

int apdu_cla_channel(uint8_t cla)
{
    if (cla == 0xFF) return -1;
    if ((cla & 0x40) == 0) return cla & 0x03;    /* first interindustry range */
    return 4 + (cla & 0x0F);                     /* further range */
}

int apdu_cla_secure(uint8_t cla)
{
    if (cla & 0x40) return (cla & 0x20) != 0;
    return (cla & 0x0C) != 0;
}

static int hexval(int ch)
{
    if (ch >= '0' && ch <= '9') return ch - '0';
    if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
    return -1;
}

long hex_decode(const char *hex, uint8_t *out, size_t cap)
{
    size_t n = 0;
    int hi = -1;
    for (const char *p = hex; *p; p++) {
        if (*p == ' ' || *p == '\t') {
            if (hi >= 0) return -1;              /* a separator may not split a byte */
            continue;
        }
        int v = hexval((unsigned char)*p);
        if (v < 0) return -1;
        if (hi < 0) {
            hi = v;
        } else {
            if (n >= cap) return -1;
            out[n++] = (uint8_t)(hi << 4 | v);
            hi = -1;
        }
    }
    if (hi >= 0) return -1;
    return (long)n;
}

void hex_encode(const uint8_t *in, size_t len, char *out)
{
    static const char digits[] = "0123456789ABCDEF";
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * len] = 0;
}
