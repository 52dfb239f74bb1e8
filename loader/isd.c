/*
 * isd.c — USER mode: the LOADER routes SELECT between the issuer security
 * domain and the applets, and *is* the issuer security domain: every
 * command to it passes through the SCP03 card side (scp03/), which answers
 * INITIALIZE UPDATE and EXTERNAL AUTHENTICATE itself and unwraps the rest.
 *
 * Commands of the security domain (after unwrapping):
 *   80 CA  GET DATA: the LOADER's tags (loader.c: DF20..DF24, 9F7F CPLC)
 *          and 0045 card image number (the serial), 0066 card recognition
 *          data, 0067 card capability information, 00CF key diversification
 *          data, 00C1 sequence counter, 00E0 key information template;
 *          0042 (no issuer identification number is personalized) and any
 *          other tag 6A88 (docs/gp.md)
 *   80 xx  a vectored command of the masked ROM code (the ROM descriptor
 *          lists which INS use which vector slot): runs the bytecode method
 *          the vector table names; an empty slot answers 6985
 */
#include <string.h>
#include <tomcrypt.h>

#include "isd_gp.h"
#include "loader_internal.h"

#define ISD_MAX_KEYSETS 16

typedef struct isd_config {
    scp03_card_config cfg;
    /* Every key set, those that can open a session (ENC and MAC present)
     * first, each group in ascending KVN order; cfg.keysets = the first
     * cfg.n_keysets of them, so KVN 00 names the first usable one. */
    scp03_keyset sets[ISD_MAX_KEYSETS];
    uint8_t absent[ISD_MAX_KEYSETS];
    size_t n_all;
    uint8_t aid[16];
    card_os *os;
} isd_config;

static int commit_counter(void *ctx, uint8_t kvn, uint32_t value)
{
    isd_config *ic = ctx;
    /* Durable before the challenge leaves the card: commit now, not with the
     * response, so no power cut can hand out a challenge twice. */
    int rc = keystore_set_counter(ic->os->chip, kvn, value);
    if (!rc) rc = chip_commit(ic->os->chip);
    return rc;
}

static int random_bytes(void *ctx, uint8_t *out, size_t len)
{
    (void)ctx;
    return rng_get_bytes(out, (unsigned long)len, NULL) == len ? 0 : -1;
}

/* with_keys 0: only the AID and parameters (a command refused before the
 * secure channel looks at it needs no key set unmasked). */
static int isd_config_load(card_os *os, isd_config *ic, int with_keys)
{
    memset(ic, 0, sizeof *ic);
    uint8_t sys[SYS_SIZE];
    if (chip_nvm_read(os->chip, 0, sys, sizeof sys)) return -1;
    if (with_keys) {
        size_t n = 0;
        scp03_keyset all[ISD_MAX_KEYSETS];
        uint8_t absent[ISD_MAX_KEYSETS];
        if (keystore_load_masked(os->chip, all, absent, ISD_MAX_KEYSETS, &n)) {
            scp03_wipe(all, sizeof all);
            return -1;
        }
        size_t usable = 0;
        for (int pass = 0; pass < 2; pass++)
            for (size_t k = 0; k < n; k++) {
                int can_open = (absent[k] & 0x03) == 0;
                if (can_open != (pass == 0)) continue;
                ic->absent[ic->n_all] = absent[k];
                ic->sets[ic->n_all++] = all[k];
                usable += can_open;
            }
        scp03_wipe(all, sizeof all);
        ic->cfg.keysets = ic->sets;
        ic->cfg.n_keysets = usable;
    }
    ic->os = os;
    uint8_t alen = sys[SYS_ISD_AID_LEN];
    if (alen < 5 || alen > 16) return -1;
    memcpy(ic->aid, sys + SYS_ISD_AID, alen);
    ic->cfg.aid = ic->aid;
    ic->cfg.aid_len = alen;
    ic->cfg.i_param = sys[SYS_SCP_I];
    memcpy(ic->cfg.div_data, sys + SYS_DIV_DATA, SCP03_DIV_DATA_LEN);
    ic->cfg.commit_counter = commit_counter;
    ic->cfg.commit_ctx = ic;
    ic->cfg.random = random_bytes;
    return 0;
}

static void isd_config_wipe(isd_config *ic) { scp03_wipe(ic, sizeof *ic); }

static uint16_t isd_get_data(card_os *os, const isd_config *ic, const apdu_command *a,
                             uint8_t *out, size_t cap, size_t *len)
{
    uint16_t tag = (uint16_t)(a->p1 << 8 | a->p2);
    size_t n = 0;
    switch (tag) {
    case 0x0066:
        n = gp_card_recognition_data(ic->cfg.i_param, out);
        break;
    case 0x0067:
        n = gp_card_capability(ic->cfg.i_param, 0x07, out);   /* AES-128, -192, -256 */
        break;
    case 0x0045: {
        /* Card image number: the serial number the card mounter wrote to
         * OTP, unique in the issuer's card base (GPCS 7.4.1.2). */
        uint8_t trace = 0;
        chip_otp_read(os->chip, 0, &trace, 1);
        if (!((trace >> OTP_BIT_SERIAL) & 1)) return SW_REFERENCED_DATA_NOT_FOUND;
        out[n++] = 0x45;
        out[n++] = 8;
        chip_otp_read(os->chip, OTP_SERIAL_OFFSET, out + n, 8);
        n += 8;
        break;
    }
    case 0x00CF:
        out[n++] = 0xCF;
        out[n++] = SCP03_DIV_DATA_LEN;
        memcpy(out + n, ic->cfg.div_data, SCP03_DIV_DATA_LEN);
        n += SCP03_DIV_DATA_LEN;
        break;
    case 0x00C1: {
        if (ic->cfg.n_keysets == 0) return SW_REFERENCED_DATA_NOT_FOUND;
        uint32_t ctr = ic->sets[0].counter;
        out[n++] = 0xC1;
        out[n++] = 3;
        out[n++] = (uint8_t)(ctr >> 16);
        out[n++] = (uint8_t)(ctr >> 8);
        out[n++] = (uint8_t)ctr;
        break;
    }
    case 0x00E0:
        n = gp_key_information(ic->sets, ic->absent, ic->n_all, out);
        break;
    default:
        return loader_get_data(os, a, out, cap, len);
    }
    *len = n;
    return SW_OK;
}

/* A vectored command: the ROM descriptor maps INS to a slot, the vector
 * table (301, maybe redirected by an update, 303) maps the slot to code. */
static int vectored_slot(const card_os *os, uint8_t ins)
{
    for (unsigned i = 0; i < os->rom.n_vectored; i++)
        if (os->rom.vectored_ins[i] == ins) return os->rom.vectored_slot[i];
    return -1;
}

static uint16_t run_vector(card_os *os, int slot, const uint8_t *apdu, size_t n,
                           uint8_t *out, size_t cap, size_t *len)
{
    uint8_t aid[16], aid_len;
    uint16_t method, sw;
    if (vectors_get(os->chip, (uint8_t)slot, aid, &aid_len, &method) != CHIP_OK) return SW_MEMORY_FAILURE;
    if (aid_len == 0) return SW_CONDITIONS_NOT_SATISFIED;   /* no vector: the ROM code is unreachable */
    os->applet_ran = 1;
    int rc = vm_invoke(os->vm, aid, aid_len, method, apdu, n, out, cap, len, &sw);
    if (rc == VM_ERR_POWER) return 0;
    return rc ? vm_status_to_sw(rc) : sw;
}

/* `cla` as the same class on the basic channel (ISO 7816-4 first
 * interindustry coding): channel bits cleared, a further interindustry
 * class's secure messaging bit b6 moved to b3. */
static uint8_t basic_class(uint8_t cla)
{
    if (cla == 0xFF) return cla;
    if (cla & 0x40) return (uint8_t)((cla & 0x90) | ((cla & 0x20) ? 0x04 : 0x00));
    return (uint8_t)(cla & 0xFC);
}

/* An interindustry class without secure messaging or chaining: the SELECT
 * and MANAGE CHANNEL forms the card itself routes. */
static int plain_interindustry(uint8_t cla)
{
    return (cla & 0x40) ? (cla & 0xF0) == 0x40 : (cla & 0xFC) == 0x00;
}

static uint16_t isd_dispatch(card_os *os, isd_config *ic, const uint8_t *raw, size_t raw_len,
                             uint8_t *out, size_t cap, size_t *len)
{
    apdu_command a;
    uint16_t sw = apdu_parse(raw, raw_len, &a);
    if (sw != SW_OK) return sw;
    /* The security domain's commands read the class as on the basic
     * channel: which channel a command came on is the router's business. */
    a.cla = basic_class(a.cla);
    if (broadcast_routes(os, a.ins)) return broadcast_command(os, &a, out, cap, len);   /* seed 004 */
    if (isd_gp_handles(a.ins, a.p1)) {
        loader_ram *ram = loader_ram_of(os);
        isd_gp_ctx g = {os, &ram->session, ic->sets, ic->n_all, ic->aid, (uint8_t)ic->cfg.aid_len,
                        ram->isd_gp, ic->absent, &ram->put_key};
        return isd_gp_command(&g, &a, out, cap, len);
    }
    if ((a.cla & 0xF0) != 0x80 && !(a.cla == 0x00 && a.ins == 0xCA)) return SW_CLA_NOT_SUPPORTED;
    if (a.ins == 0xCA) return a.nc ? SW_WRONG_LENGTH : isd_get_data(os, ic, &a, out, cap, len);
    int slot = vectored_slot(os, a.ins);
    if (slot >= 0) {
        /* bytecode reads a short APDU buffer (a short-encodable command
         * sent in extended form is re-encoded short, as before) */
        size_t vm_len = apdu_encode(&a, os->work, APDU_MAX_COMMAND);
        if (vm_len == 0 || vm_len > 261) return SW_WRONG_LENGTH;
        return run_vector(os, slot, os->work, vm_len, out, cap, len);
    }
    return SW_INS_NOT_SUPPORTED;
}

/* The security domain's AID: all a SELECT needs of its configuration
 * (where it is in NVM: read in place, every SELECT needs it). */
typedef struct isd_name {
    const uint8_t *aid;
    uint8_t len;
} isd_name;

static int isd_name_load(const card_os *os, isd_name *nm)
{
    const uint8_t *b = chip_nvm_view(os->chip) + SYS_ISD_AID_LEN;
    if (b[0] < 5 || b[0] > 16) return -1;
    nm->len = b[0];
    nm->aid = b + 1;
    return 0;
}

static uint16_t select_isd_fci(const isd_name *nm, uint8_t *out, size_t *len)
{
    size_t n = 0;
    out[n++] = 0x6F;
    size_t l6f = n++;
    out[n++] = 0x84;
    out[n++] = nm->len;
    memcpy(out + n, nm->aid, nm->len);
    n += nm->len;
    static const uint8_t a5[] = {0xA5, 0x04, 0x9F, 0x65, 0x01, 0xFF};
    memcpy(out + n, a5, sizeof a5);
    n += sizeof a5;
    out[l6f] = (uint8_t)(n - 2);
    *len = n;
    return SW_OK;
}

/* The secure channel session, if any, ends (GPCS 10.2.3) along with the
 * GET STATUS continuation and PUT KEY chain of the channel. */
static void end_channel_session(loader_ram *ram, uint8_t ch)
{
    if (ram->session_channel == ch) scp03_card_reset(&ram->session);
    if (ram->gp_channel == ch) {
        isd_gp_forget(ram->isd_gp);
        isd_put_key_forget(&ram->put_key);
    }
}

/* SELECT [by name] (P1 04) on logical channel `ch`, open: the security
 * domain (empty AID or a prefix of its AID; GPCS 6.4.2.1.2, 6.4.3.1.2) or
 * an applet. An AID that matches nothing leaves the channel as it was, so
 * does a selection the multiselection rules refuse (6985). */
static uint16_t select_on(card_os *os, const isd_name *nm, uint8_t ch, const apdu_command *a, const uint8_t *raw,
                          size_t raw_len, uint8_t *out, size_t cap, size_t *len)
{
    loader_ram *ram = loader_ram_of(os);
    if (a->p2 != 0x00 && a->p2 != 0x0C) return SW_INCORRECT_P1P2;
    if (a->nc > 16) return SW_WRONG_LENGTH;
    if (a->nc == 0 || (a->nc <= nm->len && memcmp(a->data, nm->aid, a->nc) == 0)) {
        if (vm_channel_has_applet(os->vm, ch)) {
            os->applet_ran = 1;   /* its deselect() runs */
            int rc = vm_deselect_on(os->vm, ch);
            if (rc == VM_ERR_POWER) return 0;
        }
        ram->isd_channels |= 1u << ch;
        end_channel_session(ram, ch);   /* a new application session */
        if (a->p2 == 0x0C) return SW_OK;
        return select_isd_fci(nm, out, len);
    }
    if (a->nc < 5) return SW_FILE_NOT_FOUND;
    int idx;
    uint16_t sw = isd_gp_select_check(os, a->data, (uint8_t)a->nc, &idx);
    if (sw) return sw;   /* INSTALLED but not SELECTABLE, or LOCKED */
    os->applet_ran = 1;
    int rc = vm_select_index_on(os->vm, ch, idx, raw, raw_len, out, cap, len, &sw);
    if (rc == VM_ERR_POWER) return 0;
    if (rc) return vm_status_to_sw(rc);
    if (vm_channel_has_applet(os->vm, ch) || sw == VM_SW_SELECT_FAILED) {
        /* Another application is selected (or none, if it refused). */
        if (ram->isd_channels & (1u << ch)) end_channel_session(ram, ch);
        ram->isd_channels &= ~(1u << ch);
    }
    return sw;
}

/* MANAGE CHANNEL (GPCS 11.7, JCRE 4.5.1 / 4.6.1) received on open channel
 * `ch`. The VM keeps which channels are open and the applets on them; the
 * security domain is implicitly selectable on every channel (GPCS 6.4.1),
 * so a channel opened from the basic channel, or from one where the
 * security domain is selected, starts with it selected. Closing a channel
 * ends the application session there, secure channel included. */
static uint16_t manage_channel(card_os *os, uint8_t ch, const apdu_command *a, uint8_t *out, size_t cap,
                               size_t *len)
{
    loader_ram *ram = loader_ram_of(os);
    if (apdu_cla_secure(a->cla)) return SW_SECURE_MESSAGING_NOT_SUPPORTED;
    if (a->nc) return SW_WRONG_LENGTH;
    if (a->p1 == 0x80 && a->p2 > 0 && a->p2 < VM_MAX_CHANNELS && vm_channel_is_open(os->vm, a->p2)) {
        if (ram->isd_channels & (1u << a->p2)) end_channel_session(ram, a->p2);
        ram->isd_channels &= ~(1u << a->p2);
    }
    uint16_t sw;
    os->applet_ran = 1;   /* deselect() / select() may run */
    int rc = vm_manage_channel(os->vm, ch, a->p1, a->p2, out, cap, len, &sw);
    if (rc == VM_ERR_POWER) return 0;
    if (rc) return vm_status_to_sw(rc);
    if (a->p1 == 0x00 && sw == SW_OK) {
        uint8_t opened = a->p2 ? a->p2 : out[0];
        if (ch == 0 || (ram->isd_channels & (1u << ch))) ram->isd_channels |= 1u << opened;
    }
    return sw;
}

/* A command for the security domain selected on channel `ch`, through the
 * SCP03 card side. */
static uint16_t isd_command(card_os *os, uint8_t ch, const uint8_t *cmd, size_t raw_len, const apdu_command *a,
                            uint8_t *out, size_t cap, size_t *len)
{
    loader_ram *ram = loader_ram_of(os);
    if (ram->gp_channel != ch) {
        /* GET STATUS continuation and PUT KEY chains stay on their channel */
        isd_gp_forget(ram->isd_gp);
        isd_put_key_forget(&ram->put_key);
        ram->gp_channel = ch;
    }
    uint16_t sw;
    isd_config ic;
    /* a SELECT form the router does not handle (not by name): refused,
     * and no key set needs unmasking for that */
    int refused_select = a && a->ins == 0xA4 && plain_interindustry(a->cla);
    if (isd_config_load(os, &ic, !refused_select) != 0) {
        isd_config_wipe(&ic);
        return SW_MEMORY_FAILURE;
    }
    if (refused_select) {
        isd_config_wipe(&ic);
        return SW_INCORRECT_P1P2;
    }

    /* The bytes as they arrived, malformed or not: the SCP03 layer MACs
     * the header as transmitted and closes its session on a bad length. */
    size_t plain_len = 0;
    int r = scp03_card_command(&ram->session, &ic.cfg, cmd, raw_len, os->work, sizeof os->work,
                               &plain_len, &sw);
    if (scp03_card_state(&ram->session) != SCP03_STATE_NONE) ram->session_channel = ch;
    if (!chip_is_powered(os->chip)) {
        isd_config_wipe(&ic);
        return 0;
    }
    if (r == SCP03_CARD_REPLY) {
        /* The module built the whole response: data || SW. */
        size_t n = plain_len >= 2 ? plain_len - 2 : 0;
        memcpy(out, os->work, n);
        *len = n;
        isd_config_wipe(&ic);
        if (a && a->ins == 0x82 && sw == SW_OK && scp03_card_state(&ram->session) == SCP03_STATE_ACTIVE) {
            /* A new session: an interrupted load of an earlier one goes. */
            if (isd_gp_session_opened(os, ram->isd_gp) != CHIP_OK) return chip_is_powered(os->chip) ? SW_MEMORY_FAILURE : 0;
        }
        return sw;
    }
    if (r != SCP03_CARD_PROCESS) {
        isd_config_wipe(&ic);
        return sw ? sw : SW_UNKNOWN;
    }
    uint8_t *plain_rsp = os->work + APDU_MAX_COMMAND;   /* after the plain command */
    size_t rlen = 0;
    memcpy(os->apdu, os->work, plain_len);
    sw = isd_dispatch(os, &ic, os->apdu, plain_len, plain_rsp, sizeof os->work - APDU_MAX_COMMAND - 64, &rlen);
    isd_config_wipe(&ic);
    if (!chip_is_powered(os->chip)) return 0;
    if (!apdu_sw_is_success(sw)) rlen = 0;
    size_t wrapped = 0;
    if (scp03_card_wrap_response(&ram->session, plain_rsp, rlen, sw, out, cap, &wrapped) != SCP03_OK ||
        wrapped < 2)
        return SW_UNKNOWN;
    sw = (uint16_t)(out[wrapped - 2] << 8 | out[wrapped - 1]);
    *len = wrapped - 2;
    return sw;
}

/* The security domain keeps one secure channel session at a time, bound to
 * the channel it was opened on (GPCS 10.2: a session is never ended in
 * favour of one on another channel, a request to open a second one is
 * refused). On any other channel the security domain answers as without
 * a session: the session is set aside for the command and put back. */
static uint16_t isd_on_channel(card_os *os, uint8_t ch, const uint8_t *cmd, size_t raw_len,
                               const apdu_command *a, uint8_t *out, size_t cap, size_t *len)
{
    loader_ram *ram = loader_ram_of(os);
    if (scp03_card_state(&ram->session) == SCP03_STATE_NONE || ram->session_channel == ch)
        return isd_command(os, ch, cmd, raw_len, a, out, cap, len);
    if (a && (a->cla & 0x80) && a->ins == 0x50) return SW_CONDITIONS_NOT_SATISFIED;
    scp03_card_session held;
    uint8_t held_channel = ram->session_channel;
    memcpy(&held, &ram->session, sizeof held);
    memset(&ram->session, 0, sizeof ram->session);
    scp03_card_reset(&ram->session);
    uint16_t sw = isd_command(os, ch, cmd, raw_len, a, out, cap, len);
    scp03_card_reset(&ram->session);
    memcpy(&ram->session, &held, sizeof held);
    ram->session_channel = held_channel;
    scp03_wipe(&held, sizeof held);
    return sw;
}

uint16_t isd_process(card_os *os, const uint8_t *cmd, size_t raw_len, const apdu_command *a, uint8_t *out,
                     size_t cap, size_t *len)
{
    loader_ram *ram = loader_ram_of(os);
    /* A PUT KEY chain continues only with the next PUT KEY (GPCS 11.8.2.1). */
    if (ram->put_key.active && !(a && a->ins == 0xD8)) isd_put_key_forget(&ram->put_key);
    /* The logical channel the class names (ISO 7816-4 / GPCS 11.1.4: CLA
     * b2b1 for 0..3, 40..7F and C0..FE b4..b1 + 4 for 4..19); CLA FF and
     * bytes too short to carry a class are judged on the basic channel. */
    uint8_t ch = 0;
    if (raw_len && cmd[0] != 0xFF) ch = (uint8_t)apdu_cla_channel(cmd[0]);
    if (!vm_channel_is_open(os->vm, ch)) return SW_LOGICAL_CHANNEL_NOT_SUPPORTED;   /* no session is touched */
    int isd_here = (ram->isd_channels >> ch) & 1;
    if (a && a->cla != 0xFF && !(a->cla & 0x80) && a->ins == 0x70) return manage_channel(os, ch, a, out, cap, len);
    if (a && plain_interindustry(a->cla) && a->ins == 0xA4 && a->p1 == 0x04) {
        isd_name nm;   /* SELECT needs the AID, not the keys */
        if (isd_name_load(os, &nm) != 0) return SW_MEMORY_FAILURE;
        /* for the applet's select(): in short form (a short command is
         * that already) */
        if (!a->extended) return select_on(os, &nm, ch, a, cmd, raw_len, out, cap, len);
        size_t vm_len = apdu_encode(a, os->apdu, sizeof os->apdu);
        return vm_len ? select_on(os, &nm, ch, a, os->apdu, vm_len, out, cap, len) : SW_WRONG_LENGTH;
    }
    if (isd_here) return isd_on_channel(os, ch, cmd, raw_len, a, out, cap, len);
    if (!a) return SW_WRONG_LENGTH;
    if (a->cla == 0xFF) return SW_CLA_NOT_SUPPORTED;
    /* Applets get the command as transmitted (JCRE 3.0.5 9.4.4: an
     * extended Lc puts the data at offset 7 even when it is short); the VM
     * judges the length: 6700 for an extended command to an applet without
     * ExtendedLength. With nothing selected on the channel (a select()
     * refused) the VM answers 6999. */
    os->applet_ran = 1;
    uint16_t sw;
    int rc = vm_process_on(os->vm, ch, cmd, raw_len, out, cap, len, &sw);
    if (rc == VM_ERR_POWER) return 0;
    return rc ? vm_status_to_sw(rc) : sw;
}
