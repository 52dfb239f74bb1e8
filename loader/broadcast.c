/*
 * broadcast.c — seed 004 on the card: CHANGE MODE, the broadcast channel's
 * CMDi, CHANGE MODE back and AUTHORIZE_ACTION (see broadcast.h and
 * docs/broadcast.md).
 *
 * Atomicity: the card commits once per APDU. Every CMDi appends to the one
 * pending block; AUTHORIZE_ACTION verifies, loads, installs or redirects a
 * vector and erases the pending block in one APDU, so a power cut leaves the
 * old state or the new one. Pending bytes are only ever handed to the VM
 * after the MAC matched, and then only to vm_load_package (which verifies).
 */
#include <string.h>
#include <tomcrypt.h>

#include "loader_internal.h"

static broadcast_ram *bc_of(card_os *os) { return &loader_ram_of(os)->bc; }

static uint32_t rd32be(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static void wr32be(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* ---- pending store ---- */

static int pending_find(const chip *c, uint32_t *off, uint32_t *size)
{
    return chip_nvm_find(c, KIND_BROADCAST_PENDING, 0xFFFF, 0, off, size);
}

static int pending_erase(chip *c)
{
    uint32_t off;
    while (pending_find(c, &off, NULL) == CHIP_OK) {
        int rc = chip_nvm_free(c, off);
        if (rc) return rc;
    }
    return CHIP_OK;
}

static void bc_wipe(broadcast_ram *bc) { scp03_wipe(bc, sizeof *bc); }

/* End the broadcast: pending data erased (kept even though the command
 * answers an error), restore data wiped; in broadcast mode the session ends. */
static void bc_abort(card_os *os)
{
    broadcast_ram *bc = bc_of(os);
    if (bc->state == BC_BROADCAST) scp03_card_reset(&loader_ram_of(os)->session);
    bc_wipe(bc);
    pending_erase(os->chip);
    os->keep_writes_on_error = 1;
}

static int level_ok(card_os *os)
{
    unsigned l = scp03_card_security_level(&loader_ram_of(os)->session);
    unsigned need = SCP03_AUTHENTICATED | SCP03_CMAC | SCP03_CDEC;
    return (l & need) == need;
}

/* ---- CHANGE MODE (to broadcast): E14-E18 ---- */
static uint16_t change_mode_to_broadcast(card_os *os, const apdu_command *a)
{
    broadcast_ram *bc = bc_of(os);
    if (a->p2 != 0) return SW_INCORRECT_P1P2;
    if (!level_ok(os)) return SW_SECURITY_NOT_SATISFIED;
    if (a->nc < BCM_KEYS + 1) return SW_WRONG_LENGTH;
    const uint8_t *d = a->data;
    uint8_t profile = d[BCM_PROFILE];
    if (profile != BROADCAST_PROFILE_FIG3 && profile != BROADCAST_PROFILE_FIG4) return SW_WRONG_DATA;
    if (d[BCM_LEVEL] != BROADCAST_LEVEL) return SW_WRONG_DATA;
    uint32_t total = rd32be(d + BCM_SIZE);
    if (total == 0 || total > BCM_MAX_PENDING) return SW_WRONG_DATA;
    if (profile == BROADCAST_PROFILE_FIG4 && (total % 16 || total < 32)) return SW_WRONG_DATA;

    uint8_t enc[SCP03_KEY_MAX], mac[SCP03_KEY_MAX], kos[SCP03_KEY_MAX];
    size_t enc_len = 0, mac_len = 0, kos_len = 0;
    const uint8_t *k = d + BCM_KEYS;
    size_t kn = a->nc - BCM_KEYS;
    uint16_t sw = SW_OK;
    if (keystore_get_common(os->chip, 1, kos, &kos_len) != CHIP_OK) {
        /* Both profiles need Kos: FIG.3 to unwrap BK, FIG.4 for DATASEND. */
        sw = SW_CONDITIONS_NOT_SATISFIED;
    } else if (profile == BROADCAST_PROFILE_FIG3) {
        size_t c1 = 0, c2 = 0;
        if (scp03_key_block_decrypt(kos, kos_len, k, kn, &c1, enc, &enc_len) != SCP03_OK ||
            scp03_key_block_decrypt(kos, kos_len, k + c1, kn - c1, &c2, mac, &mac_len) != SCP03_OK ||
            c1 + c2 != kn || enc_len != mac_len)
            sw = SW_WRONG_DATA;
    } else {
        enc_len = mac_len = k[0];
        if ((enc_len != 16 && enc_len != 24 && enc_len != 32) || kn != 1 + 2 * enc_len) sw = SW_WRONG_DATA;
        else {
            memcpy(enc, k + 1, enc_len);
            memcpy(mac, k + 1 + enc_len, mac_len);
        }
    }
    if (sw == SW_OK && profile == BROADCAST_PROFILE_FIG4) {
        uint8_t km[SCP03_KEY_MAX];
        size_t kml;
        if (keystore_get_common(os->chip, 2, km, &kml) != CHIP_OK) sw = SW_CONDITIONS_NOT_SATISFIED;
        scp03_wipe(km, sizeof km);
    }
    scp03_wipe(kos, sizeof kos);
    if (sw != SW_OK) {
        scp03_wipe(enc, sizeof enc);
        scp03_wipe(mac, sizeof mac);
        return sw;
    }

    /* A new broadcast discards whatever an earlier one left. */
    uint32_t off;
    int rc = pending_erase(os->chip);
    if (!rc) rc = chip_nvm_alloc(os->chip, KIND_BROADCAST_PENDING, 1, BROADCAST_PENDING_HDR + total, &off);
    if (!rc) {
        uint8_t h[BROADCAST_PENDING_HDR] = {'P', profile};
        memcpy(h + 2, d + BCM_CAMPAIGN, 8);
        wr32be(h + 10, total);
        rc = chip_nvm_write(os->chip, off, h, sizeof h);
    }
    if (rc) {
        scp03_wipe(enc, sizeof enc);
        scp03_wipe(mac, sizeof mac);
        return rc == CHIP_ERR_FULL ? SW_FILE_FULL : SW_MEMORY_FAILURE;
    }

    bc_wipe(bc);
    bc->profile = profile;
    memcpy(bc->campaign, d + BCM_CAMPAIGN, 8);
    bc->bk_len = (uint8_t)mac_len;
    memcpy(bc->bk_mac, mac, mac_len);
    scp03_context *in = &bc->incoming;
    in->key_len = (uint8_t)enc_len;
    in->level = BROADCAST_LEVEL;
    in->has_rmac = 0;
    memcpy(in->s_enc, enc, enc_len);
    memcpy(in->s_mac, mac, mac_len);
    memcpy(in->next_counter, d + BCM_COUNTER, 16);
    memcpy(in->chain, d + BCM_CHAIN, 16);
    bc->switch_to = BC_BROADCAST;   /* E18-E20 after the response is wrapped */
    scp03_wipe(enc, sizeof enc);
    scp03_wipe(mac, sizeof mac);
    return SW_OK;
}

/* ---- CMDi: E22-E26 ---- */
static uint16_t cmdi(card_os *os, const apdu_command *a)
{
    broadcast_ram *bc = bc_of(os);
    uint32_t off, size;
    if (pending_find(os->chip, &off, &size) != CHIP_OK) return SW_CONDITIONS_NOT_SATISFIED;
    uint8_t h[BROADCAST_PENDING_HDR];
    if (chip_nvm_read(os->chip, off, h, sizeof h) != CHIP_OK) return SW_MEMORY_FAILURE;
    uint32_t total = rd32be(h + 10), got = rd32be(h + 14), stored = rd32be(h + 18);
    uint16_t next = (uint16_t)(h[22] << 8 | h[23]);
    if ((uint16_t)(a->p1 << 8 | a->p2) != next) return SW_INCORRECT_P1P2;   /* reordered or missing */
    if (a->nc == 0 || a->nc > total - got) return SW_WRONG_DATA;
    const uint8_t *src = a->data;
    size_t n = a->nc;
    int rc = CHIP_OK;
    if (bc->profile == BROADCAST_PROFILE_FIG4) {
        /* Second layer: IV || AES-CBC(Kos, IV, DATASEND || 80 00..). */
        if (n % 16) return SW_WRONG_DATA;
        if (!bc->have_iv) {
            memcpy(bc->cbc_iv, src, 16);
            bc->have_iv = 1;
            src += 16;
            n -= 16;
        }
        if (n) {
            uint8_t kos[SCP03_KEY_MAX];
            size_t kl;
            uint8_t *plain = os->work;   /* free while isd_dispatch runs (command copied to os->apdu) */
            symmetric_CBC cbc;
            int ok = keystore_get_common(os->chip, 1, kos, &kl) == CHIP_OK && scp03_crypto_init() == SCP03_OK &&
                     cbc_start(find_cipher("aes"), bc->cbc_iv, kos, (int)kl, 0, &cbc) == CRYPT_OK;
            if (ok) {
                ok = cbc_decrypt(src, plain, (unsigned long)n, &cbc) == CRYPT_OK;
                cbc_done(&cbc);
            }
            scp03_wipe(kos, sizeof kos);
            scp03_wipe(&cbc, sizeof cbc);
            if (!ok) return SW_UNKNOWN;
            memcpy(bc->cbc_iv, src + n - 16, 16);
            rc = chip_nvm_write(os->chip, off + BROADCAST_PENDING_HDR + stored, plain, n);
            scp03_wipe(plain, n);
        }
    } else {
        rc = chip_nvm_write(os->chip, off + BROADCAST_PENDING_HDR + stored, src, n);
    }
    uint8_t upd[10];
    wr32be(upd, got + (uint32_t)a->nc);
    wr32be(upd + 4, stored + (uint32_t)n);
    upd[8] = (uint8_t)((next + 1) >> 8);
    upd[9] = (uint8_t)(next + 1);
    if (!rc) rc = chip_nvm_write(os->chip, off + 14, upd, sizeof upd);
    return rc ? SW_MEMORY_FAILURE : SW_OK;
}

/* ---- CHANGE MODE back: E28-E30 ---- */
static uint16_t change_mode_back(card_os *os, const apdu_command *a)
{
    broadcast_ram *bc = bc_of(os);
    if (a->p2 != 0) return SW_INCORRECT_P1P2;
    if (a->nc != 0) return SW_WRONG_LENGTH;
    uint32_t off, size;
    if (pending_find(os->chip, &off, &size) != CHIP_OK) return SW_CONDITIONS_NOT_SATISFIED;
    const uint8_t *h = chip_nvm_view(os->chip) + off;
    uint32_t total = rd32be(h + 10), got = rd32be(h + 14), stored = rd32be(h + 18);
    if (got != total) return SW_WRONG_DATA;   /* missing CMDi */
    if (bc->profile == BROADCAST_PROFILE_FIG4) {
        /* Remove the ISO/IEC 9797-1 method 2 padding of the Kos layer. */
        const uint8_t *p = h + BROADCAST_PENDING_HDR;
        uint32_t i = stored;
        while (i > 0 && stored - i < 16 && p[i - 1] == 0) i--;
        if (i == 0 || p[i - 1] != 0x80) return SW_WRONG_DATA;
        stored = i - 1;
    }
    uint8_t upd[4];
    wr32be(upd, stored);
    uint8_t done = 1;
    int rc = chip_nvm_write(os->chip, off + 18, upd, 4);
    if (!rc) rc = chip_nvm_write(os->chip, off + 24, &done, 1);
    if (rc) return SW_MEMORY_FAILURE;
    bc->switch_to = BC_BACK;   /* E30 after the response is wrapped */
    return SW_OK;
}

/* ---- AUTHORIZE_ACTION: E32-E40 ---- */
typedef struct action {
    uint8_t flags;
    const uint8_t *applet, *instance, *params;
    uint8_t applet_len, instance_len, params_len;
    uint8_t slot;
    uint16_t method;
} action;

static int parse_field(const uint8_t **p, const uint8_t *end, const uint8_t **f, uint8_t *fl)
{
    if (*p >= end || **p > end - *p - 1) return -1;
    *fl = **p;
    *f = *p + 1;
    *p += 1 + **p;
    return 0;
}

static int parse_action(const uint8_t *p, const uint8_t *end, action *ac)
{
    memset(ac, 0, sizeof *ac);
    if (p >= end) return -1;
    ac->flags = *p++;
    if (ac->flags & ~(BROADCAST_ACT_INSTALL | BROADCAST_ACT_VECTOR | BROADCAST_ACT_REPLACE)) return -1;
    if (ac->flags & BROADCAST_ACT_INSTALL) {
        if (parse_field(&p, end, &ac->applet, &ac->applet_len) ||
            parse_field(&p, end, &ac->instance, &ac->instance_len) ||
            parse_field(&p, end, &ac->params, &ac->params_len))
            return -1;
        if (ac->applet_len < 5 || ac->applet_len > 16 || (ac->instance_len && (ac->instance_len < 5 || ac->instance_len > 16)))
            return -1;
    }
    if (ac->flags & BROADCAST_ACT_VECTOR) {
        if (end - p < 3 || p[0] >= LOADER_VECTOR_SLOTS) return -1;
        ac->slot = p[0];
        ac->method = (uint16_t)(p[1] << 8 | p[2]);
        p += 3;
    }
    return p == end ? 0 : -1;
}

/* Delete the loaded package `aid` and its instances (REPLACE). */
static int replace_old(card_os *os, const uint8_t *aid, uint8_t aid_len)
{
    vm_package_info pi;
    int found = 0;
    for (unsigned i = 0; vm_package_info_at(os->vm, i, &pi) == VM_OK; i++)
        if (pi.aid_len == aid_len && !memcmp(pi.aid, aid, aid_len)) found = 1;
    if (!found) return VM_OK;
    for (;;) {
        vm_applet_info ai;
        int hit = 0;
        for (unsigned i = 0; vm_applet_info_at(os->vm, i, &ai) == VM_OK; i++) {
            if (ai.pkg_aid_len == aid_len && !memcmp(ai.pkg_aid, aid, aid_len)) {
                int rc = vm_delete_instance(os->vm, ai.aid, ai.aid_len);
                if (rc) return rc;
                hit = 1;
                break;
            }
        }
        if (!hit) break;
    }
    return vm_delete_package(os->vm, aid, aid_len);
}

static size_t tlv(uint8_t *o, uint8_t tag, const uint8_t *v, size_t n)
{
    o[0] = tag;
    o[1] = (uint8_t)n;
    memcpy(o + 2, v, n);
    return n + 2;
}

static uint16_t activate(card_os *os, const uint8_t *blob, size_t len, const action *ac,
                         uint8_t *out, size_t cap, size_t *olen)
{
    broadcast_ram *bc = bc_of(os);
    char err[96];
    uint8_t aid[16], aid_len, major, minor;
    if (vm_package_identify(blob, len, aid, &aid_len, &major, &minor) != VM_OK) return SW_WRONG_DATA;
    int rc = VM_OK;
    uint16_t sw = SW_OK;
    if (ac->flags & BROADCAST_ACT_REPLACE) rc = replace_old(os, aid, aid_len);
    if (!rc) rc = vm_load_package(os->vm, blob, len, 0, err, sizeof err);
    if (!rc && (ac->flags & BROADCAST_ACT_INSTALL)) {
        rc = vm_install(os->vm, aid, aid_len, ac->applet, ac->applet_len, ac->instance, ac->instance_len,
                        ac->params, ac->params_len, &sw);
        if (!rc && sw != SW_OK) return sw;
    }
    if (rc == VM_ERR_POWER || !chip_is_powered(os->chip)) return 0;
    if (rc) return vm_status_to_sw(rc);
    if (ac->flags & BROADCAST_ACT_VECTOR) {
        int crc = vectors_set(os->chip, ac->slot, aid, aid_len, ac->method);
        if (crc) return crc == CHIP_ERR_POWER ? 0 : SW_MEMORY_FAILURE;
    }

    /* State information ST (E40). */
    uint8_t hash[32], serial[8] = {0}, v[8];
    hash_state hs;
    sha256_init(&hs);
    sha256_process(&hs, blob, (unsigned long)len);
    sha256_done(&hs, hash);
    chip_otp_read(os->chip, OTP_SERIAL_OFFSET, serial, 8);
    uint32_t ctr = 0;
    scp03_keyset sets[16];
    size_t n = 0;
    unsigned kvn = scp03_card_kvn(&loader_ram_of(os)->session);
    if (keystore_load(os->chip, sets, 16, &n) == CHIP_OK)
        for (size_t i = 0; i < n; i++)
            if (sets[i].kvn == kvn) ctr = sets[i].counter;
    scp03_wipe(sets, sizeof sets);
    if (cap < 96) return SW_UNKNOWN;
    size_t o = 2;
    v[0] = (uint8_t)(1 | ac->flags);
    o += tlv(out + o, 0x80, v, 1);
    o += tlv(out + o, 0x4F, aid, aid_len);
    v[0] = major;
    v[1] = minor;
    o += tlv(out + o, 0x81, v, 2);
    o += tlv(out + o, 0x82, hash, 32);
    o += tlv(out + o, 0x83, serial, 8);
    v[0] = (uint8_t)(ctr >> 16);
    v[1] = (uint8_t)(ctr >> 8);
    v[2] = (uint8_t)ctr;
    o += tlv(out + o, 0x84, v, 3);
    o += tlv(out + o, 0x85, bc->campaign, 8);
    out[0] = 0xE3;
    out[1] = (uint8_t)(o - 2);
    *olen = o;
    return SW_OK;
}

static uint16_t authorize_action(card_os *os, const apdu_command *a, uint8_t *out, size_t cap, size_t *len)
{
    broadcast_ram *bc = bc_of(os);
    if (a->p1 || a->p2) return SW_INCORRECT_P1P2;
    if (!level_ok(os)) return SW_SECURITY_NOT_SATISFIED;
    uint32_t off, size;
    if (bc->state != BC_BACK || pending_find(os->chip, &off, &size) != CHIP_OK)
        return SW_CONDITIONS_NOT_SATISFIED;   /* nothing pending in this session */
    if (a->nc < 17) return SW_WRONG_LENGTH;
    const uint8_t *h = chip_nvm_view(os->chip) + off;
    uint32_t stored = rd32be(h + 18);
    if (h[24] != 1 || BROADCAST_PENDING_HDR + stored > size) return SW_CONDITIONS_NOT_SATISFIED;
    const uint8_t *blob = h + BROADCAST_PENDING_HDR;

    /* E34-E36: recompute the MAC of DATASEND over the pending data. */
    uint8_t key[SCP03_KEY_MAX], mac[16];
    size_t kl = bc->bk_len;
    int ok;
    if (bc->profile == BROADCAST_PROFILE_FIG3) {
        memcpy(key, bc->bk_mac, kl);
        ok = 1;
    } else {
        ok = keystore_get_common(os->chip, 2, key, &kl) == CHIP_OK;
    }
    ok = ok && scp03_cmac(key, kl, blob, stored, mac) == SCP03_OK;
    scp03_wipe(key, sizeof key);
    ok = ok && scp03_ct_equal(mac, a->data, 16);
    action ac;
    if (ok && parse_action(a->data + 16, a->data + a->nc, &ac) != 0) {
        /* The MAC is right but the action is malformed: the server's bug;
         * nothing is activated and the campaign must start again. */
        bc_abort(os);
        return SW_WRONG_DATA;
    }
    if (!ok) {
        /* E38: mismatch: the pending data goes. */
        bc_abort(os);
        return SW_SECURITY_NOT_SATISFIED;
    }
    /* E40: activate, all in this APDU. */
    uint16_t sw = activate(os, blob, stored, &ac, out, cap, len);
    if (sw == 0 || !chip_is_powered(os->chip)) return 0;
    if (sw != SW_OK) {
        /* Undo what activation wrote, then erase durably. */
        chip_rollback(os->chip);
        vm_reset(os->vm);
        *len = 0;
        bc_abort(os);
        return sw;
    }
    if (pending_erase(os->chip) != CHIP_OK) return chip_is_powered(os->chip) ? SW_MEMORY_FAILURE : 0;
    bc_wipe(bc);
    return SW_OK;
}

/* ---- entry points ---- */

int broadcast_routes(card_os *os, uint8_t ins)
{
    return bc_of(os)->state == BC_BROADCAST || ins == BROADCAST_INS_CHANGE_MODE || ins == BROADCAST_INS_AUTHORIZE;
}

uint16_t broadcast_command(card_os *os, const apdu_command *a, uint8_t *out, size_t cap, size_t *len)
{
    broadcast_ram *bc = bc_of(os);
    *len = 0;
    if (bc->state == BC_BROADCAST) {
        /* Only CMDi and CHANGE MODE back; anything else aborts (after). */
        if (a->cla != 0x80) return SW_CONDITIONS_NOT_SATISFIED;
        if (a->ins == BROADCAST_INS_CMDI) return cmdi(os, a);
        if (a->ins == BROADCAST_INS_CHANGE_MODE && a->p1 == BROADCAST_P1_BACK) return change_mode_back(os, a);
        return SW_CONDITIONS_NOT_SATISFIED;
    }
    if ((a->cla & 0xF0) != 0x80) return SW_CLA_NOT_SUPPORTED;
    if (a->ins == BROADCAST_INS_CHANGE_MODE) {
        if (a->p1 == BROADCAST_P1_TO_BROADCAST) return change_mode_to_broadcast(os, a);
        if (a->p1 == BROADCAST_P1_BACK) return SW_CONDITIONS_NOT_SATISFIED;   /* no restore data */
        return SW_INCORRECT_P1P2;
    }
    return authorize_action(os, a, out, cap, len);
}

void broadcast_after_command(card_os *os, uint16_t sw)
{
    if (!chip_is_powered(os->chip)) return;
    broadcast_ram *bc = bc_of(os);
    scp03_card_session *ses = &loader_ram_of(os)->session;
    uint8_t to = bc->switch_to;
    bc->switch_to = 0;
    if (to || bc->state != BC_IDLE) bc->idle_clean = 0;
    if (to == BC_BROADCAST) {
        /* E18: save the diversified context; E20: switch. */
        if (sw == SW_OK && scp03_card_export_context(ses, &bc->saved) == SCP03_OK &&
            scp03_card_import_context(ses, &bc->incoming) == SCP03_OK) {
            scp03_wipe(&bc->incoming, sizeof bc->incoming);
            bc->state = BC_BROADCAST;
            return;
        }
        bc_abort(os);
        return;
    }
    if (to == BC_BACK) {
        /* E30: restore, then invalidate the restore data. */
        if (sw == SW_OK && scp03_card_import_context(ses, &bc->saved) == SCP03_OK) {
            scp03_wipe(&bc->saved, sizeof bc->saved);
            bc->state = BC_BACK;
            return;
        }
        bc_abort(os);
        return;
    }
    if (bc->state == BC_BROADCAST && (sw != SW_OK || scp03_card_state(ses) != SCP03_STATE_ACTIVE)) {
        bc_abort(os);
        return;
    }
    if (bc->state == BC_BACK && scp03_card_state(ses) != SCP03_STATE_ACTIVE) {
        bc_abort(os);
        return;
    }
    /* Looked for once per idle stretch, not after every command: the
     * scan walks the whole NVM heap, and only a reset, a power cut or
     * broadcast activity (which clear idle_clean) can leave a block. */
    if (bc->state == BC_IDLE && !bc->idle_clean) {
        int rc = CHIP_OK;
        if (pending_find(os->chip, NULL, NULL) == CHIP_OK) {
            /* Left by a reset or power cut: never executable, erase it. */
            rc = pending_erase(os->chip);
            os->keep_writes_on_error = 1;
        }
        bc->idle_clean = rc == CHIP_OK;
    }
}
