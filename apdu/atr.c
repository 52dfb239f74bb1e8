/* atr.c — ATR construction and the ROM identity block (see atr.h). */
#include "atr.h"

#include <string.h>

size_t atr_build(const uint8_t *hist, size_t hist_len, uint8_t *atr)
{
    if (hist_len > ATR_MAX_HISTORICAL) hist_len = ATR_MAX_HISTORICAL;
    size_t n = 0;
    atr[n++] = 0x3B;
    atr[n++] = (uint8_t)(0x80 | hist_len);
    atr[n++] = 0x81;
    atr[n++] = 0x31;
    atr[n++] = 0xFE;
    atr[n++] = 0x45;
    memcpy(atr + n, hist, hist_len);
    n += hist_len;
    uint8_t tck = 0;
    for (size_t i = 1; i < n; i++) tck ^= atr[i];
    atr[n++] = tck;
    return n;
}

size_t atr_default(uint8_t *atr)
{
    static const uint8_t hist[] = {0x80, 0x56, 'c', 'a', 'r', 'd', 'v', 'm'};
    return atr_build(hist, sizeof hist, atr);
}

int atr_is_valid(const uint8_t *atr, size_t len)
{
    if (len < 7 || len > 33 || atr[0] != 0x3B || (atr[1] & 0xF0) != 0x80) return 0;
    if (atr[2] != 0x81 || atr[3] != 0x31) return 0;
    if (len != 6u + (atr[1] & 0x0Fu) + 1u) return 0;
    uint8_t x = 0;
    for (size_t i = 1; i < len; i++) x ^= atr[i];
    return x == 0;
}

int rom_identity_write(chip *c, const uint8_t *atr, size_t atr_len)
{
    uint8_t blk[ROM_IDENTITY_SIZE] = {'C', 'V', 'M', 'R', 1, (uint8_t)atr_len};
    if (atr_len > 33 || !atr_is_valid(atr, atr_len)) return CHIP_ERR_ARG;
    memcpy(blk + 6, atr, atr_len);
    return chip_rom_write(c, 0, blk, sizeof blk);
}

void rom_identity_atr(const chip *c, uint8_t *atr, size_t *atr_len)
{
    const uint8_t *r = chip_rom_view(c);
    if (chip_get_geometry(c)->rom_size >= ROM_IDENTITY_SIZE && memcmp(r, "CVMR", 4) == 0 &&
        r[4] == 1 && atr_is_valid(r + 6, r[5])) {
        memcpy(atr, r + 6, r[5]);
        *atr_len = r[5];
        return;
    }
    *atr_len = atr_default(atr);
}
