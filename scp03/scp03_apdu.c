/*
 * APDU layout and CLA coding, shared by the card and host roles.
 *
 * Both interindustry class codings of GPCS 11.1.4 are handled:
 *   first   (b7 = 0): secure messaging in b4 b3, logical channel 0-3 in b2 b1;
 *   further (b7 = 1): secure messaging in b6, logical channel 4-19 in b4..b1.
 * The C-MAC always covers the first-interindustry form with channel 0 and
 * b3 set (Amendment D 6.2.4), so a session is not tied to the channel
 * number the caller routes it on.
 */
#include "scp03_internal.h"

int scp03_i_apdu_parse(const uint8_t *a, size_t len, scp03_apdu *p)
{
    p->nc = 0;
    p->data_off = 4;
    p->le_len = 0;
    p->le_off = len;
    p->extended = 0;
    if (len < 4) {
        return -1;
    }
    if (len == 4) {
        return 0;                               /* case 1 */
    }
    if (len == 5) {                             /* case 2 short */
        p->le_len = 1;
        p->le_off = 4;
        return 0;
    }
    if (a[4] != 0) {                            /* short Lc */
        size_t nc = a[4];
        p->nc = nc;
        p->data_off = 5;
        if (len == 5 + nc) {
            return 0;                           /* case 3 short */
        }
        if (len == 6 + nc) {                    /* case 4 short */
            p->le_len = 1;
            p->le_off = 5 + nc;
            return 0;
        }
        return -1;
    }
    p->extended = 1;
    if (len == 7) {                             /* case 2 extended: 00 Le1 Le2 */
        p->le_len = 3;
        p->le_off = 4;
        return 0;
    }
    if (len < 8) {
        return -1;
    }
    size_t nc = ((size_t)a[5] << 8) | a[6];
    if (nc == 0) {
        return -1;
    }
    p->nc = nc;
    p->data_off = 7;
    if (len == 7 + nc) {
        return 0;                               /* case 3 extended */
    }
    if (len == 9 + nc) {                        /* case 4 extended */
        p->le_len = 2;
        p->le_off = 7 + nc;
        return 0;
    }
    return -1;
}

int scp03_i_cla_secured(uint8_t cla)
{
    if (cla & 0x40u) {
        return (cla & 0x20u) != 0;
    }
    return (cla & 0x0Cu) != 0;
}

int scp03_i_cla_sm_unsupported(uint8_t cla)
{
    /* b4 set: ISO/IEC 7816-4 secure messaging, not GP's; SCP03 cannot verify it */
    return !(cla & 0x40u) && (cla & 0x08u) != 0;
}

uint8_t scp03_i_cla_plain(uint8_t cla)
{
    if (cla & 0x40u) {
        return (uint8_t)(cla & ~0x20u);
    }
    return (uint8_t)(cla & ~0x0Cu);
}

uint8_t scp03_i_cla_sm(uint8_t cla)
{
    if (cla & 0x40u) {
        return (uint8_t)(cla | 0x20u);
    }
    return (uint8_t)((cla & ~0x08u) | 0x04u);
}

uint8_t scp03_i_cla_for_mac(uint8_t cla)
{
    if (cla & 0x40u) {
        /* further coding: keep b8 (proprietary) and b5 (chaining) */
        return (uint8_t)((cla & 0x90u) | 0x04u);
    }
    /* first coding: drop the channel, b4 b3 = 01; every other bit stays covered */
    return (uint8_t)((cla & 0xF0u) | 0x04u);
}

size_t scp03_i_put_lc(uint8_t *p, size_t nc, int extended)
{
    if (extended) {
        p[0] = 0x00;
        p[1] = (uint8_t)(nc >> 8);
        p[2] = (uint8_t)nc;
        return 3;
    }
    p[0] = (uint8_t)nc;
    return 1;
}
