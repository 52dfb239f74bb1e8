/* staging.c — block-by-block package reception (see staging.h).
 * Block layout (KIND_STAGING): total u32 LE, received u32 LE, next block
 * number u8, 3 reserved, then the package bytes. */
#include <string.h>

#include "apdu.h"
#include "layout.h"
#include "staging.h"

#define STAGING_HDR 12u
#define STAGING_ID 0x0001u

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static void wr32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}

int staging_clear(chip *c)
{
    uint32_t off;
    while (chip_nvm_find(c, KIND_STAGING, STAGING_ID, 0, &off, NULL) == CHIP_OK) {
        int rc = chip_nvm_free(c, off);
        if (rc) return rc;
    }
    return CHIP_OK;
}

uint16_t staging_block(chip *c, uint8_t p1, uint8_t p2, const uint8_t *data, size_t len, int *last)
{
    *last = 0;
    if (p2 & 0x7F) return SW_INCORRECT_P1P2;
    uint32_t off, size;
    int rc;
    if (p1 == 0) {
        /* C4 L: L is 1..127 in one byte, or 81 xx, or 82 xx xx */
        if (len < 2 || data[0] != 0xC4) return SW_WRONG_DATA;
        size_t hl, total;
        if (data[1] < 0x80) { total = data[1]; hl = 2; }
        else if (data[1] == 0x81 && len >= 3) { total = data[2]; hl = 3; }
        else if (data[1] == 0x82 && len >= 4) { total = (size_t)data[2] << 8 | data[3]; hl = 4; }
        else return SW_WRONG_DATA;
        if (total == 0 || len - hl > total) return SW_WRONG_DATA;
        rc = staging_clear(c);
        if (!rc) rc = chip_nvm_alloc(c, KIND_STAGING, STAGING_ID, STAGING_HDR + (uint32_t)total, &off);
        if (rc) return rc == CHIP_ERR_FULL ? SW_FILE_FULL : SW_MEMORY_FAILURE;
        uint8_t h[STAGING_HDR] = {0};
        wr32(h, (uint32_t)total);
        data += hl;
        len -= hl;
        wr32(h + 4, (uint32_t)len);
        h[8] = 1;
        rc = chip_nvm_write(c, off, h, sizeof h);
        if (!rc && len) rc = chip_nvm_write(c, off + STAGING_HDR, data, len);
        if (rc) return SW_MEMORY_FAILURE;
        if (p2 & 0x80) {
            if (len != total) return SW_WRONG_DATA;
            *last = 1;
        }
        return SW_OK;
    }
    if (chip_nvm_find(c, KIND_STAGING, STAGING_ID, 0, &off, &size) != CHIP_OK) return SW_CONDITIONS_NOT_SATISFIED;
    const uint8_t *h = chip_nvm_view(c) + off;
    uint32_t total = rd32(h), got = rd32(h + 4);
    if (p1 != h[8]) return SW_INCORRECT_P1P2;
    if (len > total - got) return SW_WRONG_DATA;
    rc = chip_nvm_write(c, off + STAGING_HDR + got, data, len);
    uint8_t upd[5];
    wr32(upd, got + (uint32_t)len);
    upd[4] = (uint8_t)(p1 + 1);
    if (!rc) rc = chip_nvm_write(c, off + 4, upd, sizeof upd);
    if (rc) return SW_MEMORY_FAILURE;
    if (p2 & 0x80) {
        if (got + len != total) return SW_WRONG_DATA;
        *last = 1;
    }
    return SW_OK;
}

int staging_view(const chip *c, const uint8_t **blob, size_t *len)
{
    uint32_t off, size;
    if (chip_nvm_find(c, KIND_STAGING, STAGING_ID, 0, &off, &size) != CHIP_OK) return -1;
    const uint8_t *h = chip_nvm_view(c) + off;
    uint32_t total = rd32(h), got = rd32(h + 4);
    if (got != total || STAGING_HDR + total > size) return -1;
    *blob = h + STAGING_HDR;
    *len = total;
    return 0;
}
