/*
 * mask.c — the chip manufacturer's step: an ISSUER-mode card image from the
 * masked ROM part and the sealed customization software. Nothing here sees
 * the unlocking key, the hash code or a plain customization package.
 */
#include <stdio.h>
#include <string.h>

#include "atr.h"
#include "loader_internal.h"

static void put32le(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get32le(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static int fail(char *err, size_t errlen, const char *msg, int rc)
{
    if (err && errlen) snprintf(err, errlen, "%s", msg);
    return rc ? rc : -1;
}

int loader_mask(const char *path, const loader_mask_params *p, char *err, size_t errlen)
{
    if (!p->sealed || p->sealed_len < 44 || memcmp(p->sealed, "CVMS", 4) != 0)
        return fail(err, errlen, "the customization software is not sealed (run cardvm seal)", CHIP_ERR_ARG);
    if (p->n_masked > LOADER_MAX_MASKED || p->n_vectored > LOADER_MAX_VECTORED)
        return fail(err, errlen, "too many masked packages or vectored commands", CHIP_ERR_ARG);
    chip *c;
    int rc = chip_create(&p->geometry, path, &c);
    if (rc) return fail(err, errlen, "unusable memory sizes", rc);

    /* ROM: identity, LOADER descriptor, masked packages. */
    uint8_t atr[33];
    size_t atr_len = p->historical ? atr_build(p->historical, p->historical_len, atr) : atr_default(atr);
    rc = rom_identity_write(c, atr, atr_len);
    uint8_t d[ROM_LOADER_SIZE] = {'C', 'V', 'M', 'L', 1};
    d[5] = p->unlock_tries ? p->unlock_tries : LOADER_DEFAULT_TRIES;
    d[6] = (uint8_t)p->n_vectored;
    d[7] = (uint8_t)p->n_masked;
    for (size_t i = 0; i < p->n_vectored; i++) {
        if (p->vectored[i].slot >= LOADER_VECTOR_SLOTS) {
            chip_close(c);
            return fail(err, errlen, "vector slot out of range", CHIP_ERR_ARG);
        }
        d[8 + 2 * i] = p->vectored[i].ins;
        d[9 + 2 * i] = p->vectored[i].slot;
    }
    uint32_t rom_at = ROM_PACKAGES_OFFSET;
    for (size_t i = 0; !rc && i < p->n_masked; i++) {
        if (p->masked_len[i] > p->geometry.rom_size - rom_at) {
            chip_close(c);
            return fail(err, errlen, "the masked packages do not fit in ROM", CHIP_ERR_FULL);
        }
        put32le(d + 40 + 8 * i, rom_at);
        put32le(d + 44 + 8 * i, (uint32_t)p->masked_len[i]);
        rc = chip_rom_write(c, rom_at, p->masked[i], p->masked_len[i]);
        rom_at += (uint32_t)p->masked_len[i];
    }
    if (!rc) rc = chip_rom_write(c, ROM_LOADER_OFFSET, d, sizeof d);

    /* NVM system area with the defaults the customization may change. */
    uint8_t sys[SYS_SIZE] = {'L', 'D', 'R', 'S', 1, LOADER_MODE_ISSUER};
    sys[SYS_TRIES_LEFT] = sys[SYS_TRIES_MAX] = d[5];
    static const uint8_t default_isd[] = {0xA0, 0x00, 0x00, 0x01, 0x51, 0x00, 0x00, 0x00};
    sys[SYS_ISD_AID_LEN] = sizeof default_isd;
    memcpy(sys + SYS_ISD_AID, default_isd, sizeof default_isd);
    sys[SYS_SCP_I] = 0x70;
    if (!rc) rc = chip_nvm_write(c, 0, sys, sizeof sys);

    /* Part 201: the sealed customization software, in EEPROM. */
    uint32_t off;
    if (!rc) rc = chip_nvm_alloc(c, KIND_SEALED, 0, (uint32_t)p->sealed_len, &off);
    if (!rc) rc = chip_nvm_write(c, off, p->sealed, p->sealed_len);
    if (rc) {
        chip_close(c);
        return fail(err, errlen, rc == CHIP_ERR_FULL ? "the sealed software does not fit in NVM"
                                                     : chip_strerror(rc), rc);
    }

    /* The masked bytecode runs in place from ROM: verify it there and create
     * its statics records now (later opens find them, writing nothing). */
    vm_runtime *vm;
    rc = vm_create(c, NULL, &vm);
    for (size_t i = 0; !rc && i < p->n_masked; i++) {
        char verr[160];
        int vrc = vm_register_rom_package(vm, get32le(d + 40 + 8 * i), get32le(d + 44 + 8 * i), verr, sizeof verr);
        if (vrc) {
            char msg[256];
            snprintf(msg, sizeof msg, "masked package %zu refused: %s", i + 1, verr[0] ? verr : vm_strerror(vrc));
            vm_destroy(vm);
            chip_close(c);
            return fail(err, errlen, msg, CHIP_ERR_ARG);
        }
    }
    if (!rc) vm_destroy(vm);
    if (!rc) rc = chip_otp_burn_bit(c, OTP_BIT_ISSUER);
    if (!rc) {
        chip_end_masking(c);
        rc = chip_commit(c);
    }
    chip_close(c);
    return rc ? fail(err, errlen, chip_strerror(rc), rc) : 0;
}
