/*
 * loader.c — the LOADER as card OS: binding to the chip, the lifecycle mode
 * (derived from the OTP trace), dispatch by mode, and GET DATA, which every
 * mode answers (even TERMINATED).
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "atr.h"
#include "loader_internal.h"

/* ---- ROM descriptor ---- */
static uint32_t get32le(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

void rom_descriptor_read(const chip *c, rom_descriptor *d)
{
    memset(d, 0, sizeof *d);
    const chip_geometry *g = chip_get_geometry(c);
    if (g->rom_size < ROM_PACKAGES_OFFSET) return;
    const uint8_t *r = chip_rom_view(c) + ROM_LOADER_OFFSET;
    if (memcmp(r, "CVML", 4) != 0 || r[4] != 1) return;
    if (r[5] < 1 || r[5] > 15 || r[6] > LOADER_MAX_VECTORED || r[7] > LOADER_MAX_MASKED) return;
    d->tries = r[5];
    d->n_vectored = r[6];
    for (unsigned i = 0; i < d->n_vectored; i++) {
        d->vectored_ins[i] = r[8 + 2 * i];
        d->vectored_slot[i] = r[9 + 2 * i];
        if (d->vectored_slot[i] >= LOADER_VECTOR_SLOTS) return;
    }
    d->n_masked = r[7];
    for (unsigned i = 0; i < d->n_masked; i++) {
        d->masked_off[i] = get32le(r + 40 + 8 * i);
        d->masked_len[i] = get32le(r + 44 + 8 * i);
        if (d->masked_off[i] > g->rom_size || d->masked_len[i] > g->rom_size - d->masked_off[i]) return;
    }
    d->present = 1;
}

/* ---- lifecycle ---- */
enum loader_mode loader_mode_of(const chip *c)
{
    uint8_t t;
    if (chip_otp_read(c, 0, &t, 1) != CHIP_OK) return LOADER_MODE_NONE;
    if (t & (1u << OTP_BIT_TERMINATED)) return LOADER_MODE_TERMINATED;
    if (t & (1u << OTP_BIT_USER)) return LOADER_MODE_USER;
    if (t & (1u << OTP_BIT_CUSTOMIZATION)) return LOADER_MODE_CUSTOMIZATION;
    if (t & (1u << OTP_BIT_ISSUER)) return LOADER_MODE_ISSUER;
    return LOADER_MODE_NONE;
}

int loader_set_mode(chip *c, enum loader_mode m)
{
    static const uint8_t bit[] = {0, OTP_BIT_ISSUER, OTP_BIT_CUSTOMIZATION, OTP_BIT_USER, OTP_BIT_TERMINATED};
    if (m == LOADER_MODE_NONE || m > LOADER_MODE_TERMINATED) return CHIP_ERR_ARG;
    int rc = chip_otp_burn_bit(c, bit[m]);
    uint8_t v = (uint8_t)m;
    if (!rc) rc = chip_nvm_write(c, SYS_MODE, &v, 1);
    return rc;
}

const char *loader_mode_name(enum loader_mode m)
{
    switch (m) {
    case LOADER_MODE_ISSUER: return "ISSUER";
    case LOADER_MODE_CUSTOMIZATION: return "CUSTOMIZATION";
    case LOADER_MODE_USER: return "USER";
    case LOADER_MODE_TERMINATED: return "TERMINATED";
    default: return "none (no LOADER masked)";
    }
}

/* The NVM mirror must agree with OTP; a disagreement means a damaged or
 * tampered image, and the card then only answers GET DATA. */
static int mode_consistent(const chip *c, enum loader_mode m)
{
    uint8_t v;
    return chip_nvm_read(c, SYS_MODE, &v, 1) == CHIP_OK && v == (uint8_t)m;
}

uint16_t chip_status_to_sw(int rc)
{
    switch (rc) {
    case CHIP_OK: return SW_OK;
    case CHIP_ERR_FULL: return SW_FILE_FULL;
    default: return SW_MEMORY_FAILURE;
    }
}

uint16_t vm_status_to_sw(int rc)
{
    switch (rc) {
    case VM_OK: return SW_OK;
    case VM_ERR_VERIFY: return SW_WRONG_DATA;
    case VM_ERR_FULL: return SW_FILE_FULL;
    case VM_ERR_EXISTS: return SW_CONDITIONS_NOT_SATISFIED;
    case VM_ERR_NOTFOUND: return SW_REFERENCED_DATA_NOT_FOUND;
    case VM_ERR_STATE: return SW_CONDITIONS_NOT_SATISFIED;
    case VM_ERR_DEPENDENCY: return SW_CONDITIONS_NOT_SATISFIED;
    default: return SW_UNKNOWN;
    }
}

loader_ram *loader_ram_of(card_os *os) { return (loader_ram *)(void *)(chip_ram(os->chip) + os->ram_off); }

/* ---- card_os.h ---- */
int card_os_attach(chip *c, card_os **out) { return card_os_attach_trusting(c, NULL, out); }

int card_os_attach_trusting(chip *c, struct vm_rom_trust *trust, card_os **out)
{
    /* apdu and work (200 KB, last in the struct) are scratch that every
     * command writes before it reads: not zeroed here, wiped at detach. */
    card_os *os = malloc(sizeof *os);
    if (!os) return CHIP_ERR_NOMEM;
    memset(os, 0, offsetof(card_os, apdu));
    os->chip = c;
    chip_power_on(c);
    rom_descriptor_read(c, &os->rom);
    int rc = chip_ram_reserve(c, sizeof(loader_ram), &os->ram_off);
    if (!rc && os->rom.present) {
        rc = vm_create(c, NULL, &os->vm);
        if (rc) rc = CHIP_ERR_FORMAT;
        else {
            custom_init_extension(os);
            vm_set_rom_trust(os->vm, trust);
        }
        /* Masked packages run in place from ROM, verified at every open
         * unless the very same bytes were verified before (trust).
         * EXISTS: an image from before, with the package copied in NVM. */
        for (unsigned i = 0; !rc && i < os->rom.n_masked; i++) {
            int vrc = vm_register_rom_package(os->vm, os->rom.masked_off[i], os->rom.masked_len[i], NULL, 0);
            if (vrc && vrc != VM_ERR_EXISTS) rc = CHIP_ERR_FORMAT;
        }
        if (rc && os->vm) vm_destroy(os->vm);
        os->vm_fresh = !rc;
        os->vm_epoch = chip_epoch(c);
    }
    if (rc) {
        free(os);
        return rc;
    }
    *out = os;
    return CHIP_OK;
}

void card_os_detach(card_os *os)
{
    if (!os) return;
    if (os->vm) vm_destroy(os->vm);
    scp03_wipe(os->work, sizeof os->work);
    scp03_wipe(os->apdu, sizeof os->apdu);
    free(os);
}

struct vm_runtime *card_os_vm(card_os *os)
{
    os->vm_fresh = 0;   /* whoever asks may change it: the next reset rebuilds it */
    return os->vm;
}

void card_os_atr(card_os *os, uint8_t *atr, size_t *atr_len) { rom_identity_atr(os->chip, atr, atr_len); }

void card_os_reset(card_os *os)
{
    /* RAM is already zero: the session is closed, nothing is selected.
     * The VM is rebuilt from NVM, unless attach just built it from the
     * same contents and nothing ran since (a card opened and powered: the
     * rebuild would make the same VM again). */
    if (os->vm && !(os->vm_fresh && chip_epoch(os->chip) == os->vm_epoch)) vm_reset(os->vm);
    os->vm_fresh = 0;
    memset(os->select_cache, 0, sizeof os->select_cache);   /* the image may have changed */
    loader_ram_of(os)->isd_selected = 1;
    loader_ram_of(os)->isd_channels = 1;   /* implicitly selected on the basic channel */
}

/* ---- GET DATA (all modes) ----
 *   9F7F  CPLC-like data with the serial number
 *   DF20  serial number (8)        DF21 mode (1)        DF22 OTP trace (1)
 *   DF23  free NVM bytes (4)       DF24 UNLOCK tries left (1)
 * USER mode adds the security domain's tags (isd.c). */
static size_t tlv(uint8_t *out, uint16_t tag, const uint8_t *v, size_t n)
{
    size_t i = 0;
    if (tag > 0xFF) out[i++] = (uint8_t)(tag >> 8);
    out[i++] = (uint8_t)tag;
    out[i++] = (uint8_t)n;
    memcpy(out + i, v, n);
    return i + n;
}

uint16_t loader_get_data(card_os *os, const apdu_command *a, uint8_t *out, size_t cap, size_t *len)
{
    (void)cap;
    uint16_t tag = (uint16_t)(a->p1 << 8 | a->p2);
    uint8_t v[64];
    uint8_t trace = 0, serial[8] = {0};
    chip_otp_read(os->chip, 0, &trace, 1);
    int have_serial = (trace >> OTP_BIT_SERIAL) & 1;
    chip_otp_read(os->chip, OTP_SERIAL_OFFSET, serial, 8);
    switch (tag) {
    case 0xDF20:
        if (!have_serial) return SW_REFERENCED_DATA_NOT_FOUND;
        *len = tlv(out, tag, serial, 8);
        return SW_OK;
    case 0xDF21:
        v[0] = (uint8_t)loader_mode_of(os->chip);
        *len = tlv(out, tag, v, 1);
        return SW_OK;
    case 0xDF22:
        *len = tlv(out, tag, &trace, 1);
        return SW_OK;
    case 0xDF23: {
        chip_stats st;
        chip_get_stats(os->chip, &st);
        for (int i = 0; i < 4; i++) v[i] = (uint8_t)(st.nvm_heap_free >> (24 - 8 * i));
        *len = tlv(out, tag, v, 4);
        return SW_OK;
    }
    case 0xDF24:
        if (chip_nvm_read(os->chip, SYS_TRIES_LEFT, v, 1) != CHIP_OK) return SW_MEMORY_FAILURE;
        *len = tlv(out, tag, v, 1);
        return SW_OK;
    case 0x9F7F:
        memset(v, 0, 42);
        memcpy(v, "CV\x00\x01" "CV\x26\x32\x00\x01", 10);  /* fabricator, IC type, OS id, OS date, level */
        memcpy(v + 15, serial + 4, 4);                  /* IC serial number */
        v[19] = serial[0];
        v[20] = serial[1];                              /* IC batch identifier */
        *len = tlv(out, tag, v, 42);
        return SW_OK;
    default:
        return SW_REFERENCED_DATA_NOT_FOUND;
    }
}

uint16_t card_os_process(card_os *os, const uint8_t *cmd, size_t len, const apdu_command *a,
                         uint8_t *out, size_t cap, size_t *out_len)
{
    *out_len = 0;
    os->vm_fresh = 0;
    if (!os->rom.present) {
        if (!a) return SW_WRONG_LENGTH;
        return builtin_sd_process(os->chip, &loader_ram_of(os)->isd_selected, a, out, cap, out_len);
    }
    enum loader_mode m = loader_mode_of(os->chip);
    int consistent = mode_consistent(os->chip, m);
    /* USER mode: the security domain judges even malformed bytes, CLA FF and
     * channel bits itself, since inside a secure channel they close it. */
    if (!(consistent && m == LOADER_MODE_USER)) {
        if (!a) return SW_WRONG_LENGTH;
        if (a->cla == 0xFF) return SW_CLA_NOT_SUPPORTED;
        /* logical channels exist for applets, in USER mode (isd_process) */
        if (apdu_cla_channel(a->cla) != 0) return SW_LOGICAL_CHANNEL_NOT_SUPPORTED;
        int get_data = a->ins == 0xCA && (a->cla & 0xFC) == 0x80 && a->nc == 0;
        if (!consistent || m == LOADER_MODE_TERMINATED || m == LOADER_MODE_NONE)
            return get_data ? loader_get_data(os, a, out, cap, out_len) : SW_CONDITIONS_NOT_SATISFIED;
    }
    uint16_t sw;
    os->applet_ran = 0;
    os->keep_writes_on_error = 0;
    switch (m) {
    case LOADER_MODE_ISSUER:
        sw = issuer_process(os, a, out, cap, out_len);
        break;
    case LOADER_MODE_CUSTOMIZATION:
        sw = custom_process(os, a, out, cap, out_len);
        break;
    default:
        sw = isd_process(os, cmd, len, a, out, cap, out_len);
        broadcast_after_command(os, sw);
        break;
    }
    /* A LOADER command that fails leaves the card as it was (DESIGN.md
     * section 10). Applet code is different: Java Card keeps writes made
     * outside a transaction even when an exception ends the command. The
     * 63Cx of a failed UNLOCK is a warning and keeps its try decrement.
     * vm_reset re-reads the VM's caches from the rolled-back NVM; it also
     * clears the VM's transient RAM, as a card reset would (docs/loader.md). */
    if (sw != 0 && !apdu_sw_is_success(sw) && !os->applet_ran && !os->keep_writes_on_error && chip_is_powered(os->chip) &&
        chip_is_dirty(os->chip)) {
        chip_rollback(os->chip);
        if (os->vm) vm_reset(os->vm);
        *out_len = 0;
    }
    return sw;
}

/* ---- info for the CLI ---- */
int loader_read_info(chip *c, loader_info *info)
{
    memset(info, 0, sizeof *info);
    if (!chip_is_powered(c)) chip_power_on(c);
    rom_descriptor d;
    rom_descriptor_read(c, &d);
    info->mode = loader_mode_of(c);
    info->n_vectored = d.n_vectored;
    chip_otp_read(c, 0, &info->otp_trace, 1);
    info->serial_written = (info->otp_trace >> OTP_BIT_SERIAL) & 1;
    chip_otp_read(c, OTP_SERIAL_OFFSET, info->serial, 8);
    if (!d.present) return 0;
    uint8_t sys[SYS_SIZE];
    if (chip_nvm_read(c, 0, sys, sizeof sys) != CHIP_OK) return -1;
    info->tries_left = sys[SYS_TRIES_LEFT];
    info->tries_max = sys[SYS_TRIES_MAX];
    info->isd_aid_len = sys[SYS_ISD_AID_LEN] <= 16 ? sys[SYS_ISD_AID_LEN] : 0;
    memcpy(info->isd_aid, sys + SYS_ISD_AID, info->isd_aid_len);
    info->scp_i = sys[SYS_SCP_I];
    scp03_wipe(sys, sizeof sys);
    scp03_keyset sets[16];
    size_t n = 0;
    keystore_load(c, sets, 16, &n);
    info->n_keysets = (unsigned)n;
    for (size_t i = 0; i < n; i++) info->kvns[i] = sets[i].kvn;
    scp03_wipe(sets, sizeof sets);
    uint8_t k[32];
    size_t kl;
    info->has_kos = keystore_get_common(c, 1, k, &kl) == CHIP_OK;
    info->has_kmac = keystore_get_common(c, 2, k, &kl) == CHIP_OK;
    scp03_wipe(k, sizeof k);
    info->has_sealed = chip_nvm_find(c, KIND_SEALED, 0xFFFF, 0, NULL, NULL) == CHIP_OK;
    for (uint8_t s = 0; s < LOADER_VECTOR_SLOTS; s++) {
        uint8_t aid[16], al;
        uint16_t meth;
        if (vectors_get(c, s, aid, &al, &meth) == CHIP_OK && al) info->vectors_set++;
    }
    return 0;
}
