/*
 * issuer.c — ISSUER mode (seed 000, FIG. 4): only service commands work
 * without the unlocking key, plus the one command that needs it.
 *
 *   80 10 00 00        SELF TEST    RAM, NVM and OTP pattern checks; report
 *   80 12 00 00 08 sn  WRITE SERIAL once, into OTP; again 6985
 *   80 14 00 00 40 k h UNLOCK       unlocking key (32) || hash code (32);
 *                                   needs the serial number (K-CUST is
 *                                   diversified by it), 6985 before
 *   80 16 00 00        RESET        software reset (RAM cleared)
 *   80 CA p1 p2        GET DATA     (loader.c)
 */
#include <stdlib.h>
#include <string.h>
#include <tomcrypt.h>

#include "loader_internal.h"

/* The electrical test: patterns through unreserved RAM, through a scratch NVM
 * block (then rolled back, so the test changes nothing but wear), and a
 * consistency check of the OTP trace. Report: 3 TLVs DF30..DF32 with 00 = ok. */
static uint16_t self_test(card_os *os, const apdu_command *a, uint8_t *out, size_t *len)
{
    if (a->p1 || a->p2) return SW_INCORRECT_P1P2;
    if (a->nc) return SW_WRONG_LENGTH;
    if (chip_is_dirty(os->chip)) return SW_CONDITIONS_NOT_SATISFIED;
    const chip_geometry *g = chip_get_geometry(os->chip);
    uint8_t ram_ok = 0, nvm_ok = 0, otp_ok = 0;

    uint8_t *ram = chip_ram(os->chip);
    uint32_t from = chip_ram_reserved(os->chip);
    static const uint8_t patterns[] = {0x55, 0xAA, 0x00, 0xFF};
    for (size_t p = 0; p < sizeof patterns; p++) {
        memset(ram + from, patterns[p], g->ram_size - from);
        for (uint32_t i = from; i < g->ram_size; i++)
            if (ram[i] != patterns[p]) ram_ok = 1;
    }
    memset(ram + from, 0, g->ram_size - from);

    uint32_t off;
    int rc = chip_nvm_alloc(os->chip, KIND_STAGING, 0xFFFE, g->nvm_page_size, &off);
    if (rc == CHIP_ERR_POWER) return 0;
    if (rc == CHIP_OK) {
        uint8_t buf[4096];
        for (size_t p = 0; p < sizeof patterns && nvm_ok == 0; p++) {
            rc = chip_nvm_fill(os->chip, off, patterns[p], g->nvm_page_size);
            if (rc == CHIP_ERR_POWER) return 0;
            if (rc || chip_nvm_read(os->chip, off, buf, g->nvm_page_size)) nvm_ok = 2;
            for (uint32_t i = 0; i < g->nvm_page_size && !nvm_ok; i++)
                if (buf[i] != patterns[p]) nvm_ok = 1;
        }
        chip_rollback(os->chip);
    } else {
        nvm_ok = 3;   /* no free page to test with */
    }
    enum loader_mode m = loader_mode_of(os->chip);
    uint8_t mirror = 0;
    chip_nvm_read(os->chip, SYS_MODE, &mirror, 1);
    otp_ok = (m == LOADER_MODE_ISSUER && mirror == m) ? 0 : 1;

    uint8_t r[] = {0xDF, 0x30, 1, ram_ok, 0xDF, 0x31, 1, nvm_ok, 0xDF, 0x32, 1, otp_ok};
    memcpy(out, r, sizeof r);
    *len = sizeof r;
    return SW_OK;
}

static uint16_t write_serial(card_os *os, const apdu_command *a)
{
    if (a->p1 || a->p2) return SW_INCORRECT_P1P2;
    if (a->nc != OTP_SERIAL_LEN) return SW_WRONG_LENGTH;
    if (chip_otp_bit(os->chip, OTP_BIT_SERIAL) != 0) return SW_CONDITIONS_NOT_SATISFIED;
    uint8_t cur[OTP_SERIAL_LEN];
    if (chip_otp_read(os->chip, OTP_SERIAL_OFFSET, cur, sizeof cur)) return SW_MEMORY_FAILURE;
    int rc = chip_otp_write(os->chip, OTP_SERIAL_OFFSET, a->data, OTP_SERIAL_LEN);
    if (rc == CHIP_ERR_OTP) return SW_CONDITIONS_NOT_SATISFIED;
    if (!rc) rc = chip_otp_burn_bit(os->chip, OTP_BIT_SERIAL);
    return rc ? chip_status_to_sw(rc) : SW_OK;
}

static int sha256_of(const uint8_t *p, size_t n, uint8_t out[32])
{
    hash_state md;
    return sha256_init(&md) == CRYPT_OK && sha256_process(&md, p, (unsigned long)n) == CRYPT_OK &&
                   sha256_done(&md, out) == CRYPT_OK ? 0 : -1;
}

/*
 * UNLOCK. The try counter is decremented and committed (chip_commit_now)
 * *before* the key is tried, and given back only on success, so that no
 * power cut, kill or crash lets a tried key go uncounted.
 */
static uint16_t unlock(card_os *os, const apdu_command *a)
{
    if (a->p1 || a->p2) return SW_INCORRECT_P1P2;
    if (a->nc != LOADER_UNLOCK_KEY_LEN + LOADER_HASH_LEN) return SW_WRONG_LENGTH;
    chip *c = os->chip;
    uint8_t tries, max;
    if (chip_nvm_read(c, SYS_TRIES_LEFT, &tries, 1) || chip_nvm_read(c, SYS_TRIES_MAX, &max, 1))
        return SW_MEMORY_FAILURE;
    uint32_t off, size;
    if (tries == 0 || chip_nvm_find(c, KIND_SEALED, 0xFFFF, 0, &off, &size) != CHIP_OK)
        return SW_CONDITIONS_NOT_SATISFIED;
    /* The customization channel's keys are diversified by the serial
     * number: the card mounter's step comes first (costs no try). */
    uint8_t serial[OTP_SERIAL_LEN];
    if (chip_otp_bit(c, OTP_BIT_SERIAL) != 1 || chip_otp_read(c, OTP_SERIAL_OFFSET, serial, sizeof serial))
        return SW_CONDITIONS_NOT_SATISFIED;
    uint8_t left = (uint8_t)(tries - 1);
    int rc = chip_nvm_write(c, SYS_TRIES_LEFT, &left, 1);
    /* Durable before the key is tried: a kill, crash or power cut after the
     * comparison can no longer give the try back. */
    if (!rc) rc = chip_commit_now(c, SYS_TRIES_LEFT, 1);
    if (rc) return rc == CHIP_ERR_POWER ? 0 : chip_status_to_sw(rc);

    uint8_t key[32], hash[32], computed[32];
    memcpy(key, a->data, 32);
    memcpy(hash, a->data + 32, 32);
    uint8_t *plain = NULL;
    size_t plain_len = 0;
    int match = seal_open(chip_nvm_view(c) + off, size, key, &plain, &plain_len) == 0 &&
                sha256_of(plain, plain_len, computed) == 0;
    match = scp03_ct_equal(computed, hash, 32) & match;
    scp03_wipe(computed, sizeof computed);
    scp03_wipe(hash, sizeof hash);

    uint16_t sw;
    if (!match) {
        if (left == 0) {
            rc = loader_set_mode(c, LOADER_MODE_TERMINATED);
            sw = rc ? chip_status_to_sw(rc) : (uint16_t)(SW_AUTH_FAILED | 0xC0);
        } else {
            sw = (uint16_t)(SW_AUTH_FAILED | 0xC0 | (left & 0x0F));
        }
        goto out;
    }
    /* The hash matched: part 300 is the verified, loaded package. */
    char err[128];
    /* The verifier checks calls of the privileged API against its table. */
    vm_set_extension(os->vm, &os->ext);
    rc = vm_load_package(os->vm, plain, plain_len, VM_LOAD_PRIVILEGED, err, sizeof err);
    vm_set_extension(os->vm, NULL);
    if (rc == VM_ERR_POWER) { sw = 0; goto out; }
    if (rc) {
        /* The client's own software does not verify: nothing happened. */
        chip_rollback(c);
        vm_reset(os->vm);
        sw = vm_status_to_sw(rc);
        goto out;
    }
    vm_package_info pi;
    uint8_t aid_rec[17] = {0};
    for (unsigned i = 0; vm_package_info_at(os->vm, i, &pi) == VM_OK; i++) {
        if (pi.kind == VM_PKG_CUSTOMIZATION) {
            aid_rec[0] = pi.aid_len;
            memcpy(aid_rec + 1, pi.aid, pi.aid_len);
        }
    }
    if (aid_rec[0] == 0) {                 /* not a customization package */
        chip_rollback(c);
        vm_reset(os->vm);
        sw = SW_WRONG_DATA;
        goto out;
    }
    /* K-CUST: the customization channel's key set is derived from it. */
    uint8_t k_cust[32];
    rc = custom_root_derive(key, serial, k_cust) ? CHIP_ERR_ARG : CHIP_OK;
    if (!rc) rc = chip_nvm_write(c, SYS_CUSTOM_AID_LEN, aid_rec, sizeof aid_rec);
    if (!rc) rc = chip_nvm_write(c, SYS_TRANSPORT_KEY, k_cust, sizeof k_cust);
    if (!rc) rc = chip_nvm_write(c, SYS_TRIES_LEFT, &max, 1);
    if (!rc) rc = loader_set_mode(c, LOADER_MODE_CUSTOMIZATION);
    scp03_wipe(k_cust, sizeof k_cust);
    sw = rc ? chip_status_to_sw(rc) : SW_OK;
out:
    scp03_wipe(key, sizeof key);
    if (plain) {
        scp03_wipe(plain, plain_len);
        free(plain);
    }
    return sw;
}

uint16_t issuer_process(card_os *os, const apdu_command *a, uint8_t *out, size_t cap, size_t *len)
{
    if ((a->cla & 0xFC) != 0x80) return a->ins == 0xA4 ? SW_CONDITIONS_NOT_SATISFIED : SW_CLA_NOT_SUPPORTED;
    if (apdu_cla_secure(a->cla)) return SW_SECURE_MESSAGING_NOT_SUPPORTED;
    switch (a->ins) {
    case 0x10: return self_test(os, a, out, len);
    case 0x12: return write_serial(os, a);
    case 0x14: return unlock(os, a);
    case 0x16:
        if (a->p1 || a->p2) return SW_INCORRECT_P1P2;
        if (a->nc) return SW_WRONG_LENGTH;
        memset(chip_ram(os->chip), 0, chip_get_geometry(os->chip)->ram_size);
        card_os_reset(os);
        return SW_OK;
    case 0xCA:
        if (a->nc) return SW_WRONG_LENGTH;
        return loader_get_data(os, a, out, cap, len);
    case 0x30: case 0x32: case 0x34: case 0x36: case 0x38: case 0x3A: case 0x3C: case 0x3E:
    case 0x50: case 0xE4: case 0xE6: case 0xE8: case 0xF2: case 0xD8:
        return SW_CONDITIONS_NOT_SATISFIED;   /* a command of another mode */
    default:
        return SW_INS_NOT_SUPPORTED;
    }
}
