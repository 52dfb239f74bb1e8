/*
 * builtin_sd.c — the minimal security domain of a chip that carries no
 * LOADER yet (an empty masked chip from `cardvm create --blank`). It lets the
 * whole path — transport, parsing, dispatch, commit, PC/SC — be exercised
 * before a LOADER is masked. Commands:
 *
 *   00 A4 04 00 Lc AID [Le]   SELECT by AID (full or partial): FCI, or 6A82
 *   80 CA P1 P2 [Le]          GET DATA: 0042 IIN, 0045 CIN, 0066 card data,
 *                             9F7F CPLC; other tags 6A88
 *   80 DA 00 42|45 Lc data    PUT DATA: store IIN or CIN (1..16 bytes, NVM)
 *   80 EE 00 00 Lc data [Le]  ECHO: returns the data (transport diagnostics)
 */
#include <stdlib.h>
#include <string.h>

#include "loader_internal.h"

#define SD_DATA_KIND 0x5D00u        /* NVM heap blocks: one per stored tag */
#define SD_DATA_MAX 16u

static const uint8_t sd_aid[] = {0xA0, 0x00, 0x00, 0x01, 0x51, 0x00, 0x00, 0x00};

/* The built-in SD's whole state is one RAM byte: "selected". */
typedef struct builtin_sd {
    chip *chip;
    uint8_t *selected;
} builtin_sd;

static uint16_t do_select(builtin_sd *os, const apdu_command *a, uint8_t *out, size_t cap, size_t *len)
{
    if (a->p1 != 0x04) return SW_INCORRECT_P1P2;
    if (a->p2 != 0x00 && a->p2 != 0x0C) return SW_INCORRECT_P1P2;
    if (a->nc > 16) return SW_WRONG_LENGTH;
    if (a->nc < 5 && a->nc != 0) return SW_FILE_NOT_FOUND;
    if (a->nc > sizeof sd_aid || memcmp(a->data, sd_aid, a->nc) != 0) {
        *os->selected = 0;
        return SW_FILE_NOT_FOUND;
    }
    *os->selected = 1;
    if (a->p2 == 0x0C) return SW_OK;
    /* FCI: 6F { 84 AID, A5 { 9F6E? no: 9F65 max command length } } */
    static const uint8_t fci[] = {0x6F, 0x10, 0x84, 0x08, 0xA0, 0x00, 0x00, 0x01, 0x51, 0x00,
                                  0x00, 0x00, 0xA5, 0x04, 0x9F, 0x65, 0x01, 0xFF};
    if (cap < sizeof fci) return SW_UNKNOWN;
    memcpy(out, fci, sizeof fci);
    *len = sizeof fci;
    return SW_OK;
}

static uint16_t do_get_data(builtin_sd *os, const apdu_command *a, uint8_t *out, size_t cap, size_t *len)
{
    uint16_t tag = (uint16_t)(a->p1 << 8 | a->p2);
    size_t n = 0;
    if (tag == 0x0042 || tag == 0x0045) {
        uint32_t off, size;
        if (chip_nvm_find(os->chip, SD_DATA_KIND, tag, 0, &off, &size) != CHIP_OK)
            return SW_REFERENCED_DATA_NOT_FOUND;
        uint8_t v[SD_DATA_MAX + 1];
        if (size < 1 || chip_nvm_read(os->chip, off, v, size > sizeof v ? sizeof v : size) != CHIP_OK)
            return SW_UNKNOWN;
        uint8_t vlen = v[0] <= SD_DATA_MAX ? v[0] : SD_DATA_MAX;
        out[n++] = (uint8_t)tag;
        out[n++] = vlen;
        memcpy(out + n, v + 1, vlen);
        n += vlen;
    } else if (tag == 0x0066) {
        n = gp_card_recognition_data(0x70, out);   /* GP 2.3.1 card, SCP03 i=70 */
    } else if (tag == 0x9F7F) {
        /* CPLC: fabricator, type, OS id/date/level, then zeros for a blank chip. */
        out[n++] = 0x9F;
        out[n++] = 0x7F;
        out[n++] = 0x2A;
        static const uint8_t head[] = {'C', 'V', 0x00, 0x01, 'C', 'V', 0x26, 0x32, 0x00, 0x01};
        memcpy(out + n, head, sizeof head);
        memset(out + n + sizeof head, 0, 0x2A - sizeof head);
        n += 0x2A;
    } else {
        return SW_REFERENCED_DATA_NOT_FOUND;
    }
    (void)cap;
    *len = n;
    return SW_OK;
}

static uint16_t do_put_data(builtin_sd *os, const apdu_command *a)
{
    uint16_t tag = (uint16_t)(a->p1 << 8 | a->p2);
    if (tag != 0x0042 && tag != 0x0045) return SW_INCORRECT_P1P2;
    if (a->nc < 1 || a->nc > SD_DATA_MAX) return SW_WRONG_LENGTH;
    uint32_t off, size;
    int rc;
    if (chip_nvm_find(os->chip, SD_DATA_KIND, tag, 0, &off, &size) != CHIP_OK) {
        rc = chip_nvm_alloc(os->chip, SD_DATA_KIND, tag, SD_DATA_MAX + 1, &off);
        if (rc == CHIP_ERR_FULL) return SW_FILE_FULL;
        if (rc) return SW_MEMORY_FAILURE;
    }
    uint8_t v[SD_DATA_MAX + 1] = {(uint8_t)a->nc};
    memcpy(v + 1, a->data, a->nc);
    rc = chip_nvm_write(os->chip, off, v, sizeof v);
    return rc ? SW_MEMORY_FAILURE : SW_OK;
}

uint16_t builtin_sd_process(chip *c, uint8_t *selected, const apdu_command *a, uint8_t *out,
                            size_t cap, size_t *out_len)
{
    builtin_sd sd = {c, selected}, *os = &sd;
    *out_len = 0;
    if (apdu_cla_channel(a->cla) != 0) return a->cla == 0xFF ? SW_CLA_NOT_SUPPORTED
                                                             : SW_LOGICAL_CHANNEL_NOT_SUPPORTED;
    if (a->ins == 0xA4 && (a->cla & 0x80) == 0) return do_select(os, a, out, cap, out_len);
    if (!*os->selected) return SW_CONDITIONS_NOT_SATISFIED;
    if (apdu_cla_secure(a->cla)) return SW_SECURE_MESSAGING_NOT_SUPPORTED;
    if ((a->cla & 0xFC) != 0x80 && !(a->cla == 0x00 && a->ins == 0xCA)) return SW_CLA_NOT_SUPPORTED;
    switch (a->ins) {
    case 0xCA:
        if (a->nc) return SW_WRONG_LENGTH;
        return do_get_data(os, a, out, cap, out_len);
    case 0xDA:
        return do_put_data(os, a);
    case 0xEE:
        if (a->p1 || a->p2) return SW_INCORRECT_P1P2;
        if (a->nc > cap) return SW_WRONG_LENGTH;
        if (a->nc) memcpy(out, a->data, a->nc);
        *out_len = a->nc;
        return SW_OK;
    default:
        return SW_INS_NOT_SUPPORTED;
    }
}
