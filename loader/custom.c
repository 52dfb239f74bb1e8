/*
 * custom.c — CUSTOMIZATION mode (seed 000, FIG. 3).
 *
 * Every customization command arrives through the customization channel,
 * an SCP03 session (scp03/, the same card side as the issuer security
 * domain's) whose key set is derived from K-CUST, which UNLOCK derived from
 * the unlocking key and the serial number (seal.c; docs/loader.md has the
 * derivation and the session rules, custom_process below the why). Outside
 * the channel only GET DATA answers.
 *
 * Unwrapped, the LOADER hands every command to the customization software
 * (part 300, a privileged bytecode package: static method 0 is its
 * `process(APDU)`), except GET DATA and ENTER USER MODE, which are masked ROM
 * code. The customization software completes the card through the
 * privileged native API below, which exists only while a CUSTOMIZATION-mode
 * command runs:
 *
 *   token  name                      arguments (byte[] b, short off, short len, ...)
 *   8000   Loader.setVector          record: slot, method (2), aid_len, aid       (301)
 *   8001   Loader.loadBlock          b/off/len = block, 4th: P1<<8 | P2           (302, 303)
 *   8002   Loader.install            record: pkg aid, applet aid, instance aid,
 *                                    params (each: length byte, bytes)
 *   8003   Loader.putKeySet          GP PUT KEY data: KVN, ENC, MAC, DEK key
 *                                    blocks, each AES-CBC under the channel's
 *                                    DEK, with KCV
 *   8004   Loader.putCommonKey       one key block under the channel's DEK;
 *                                    4th: 1 Kos, 2 K-MAC
 *   8005   Loader.setSecurityDomain  record: i, aid_len, aid, [div data (10)]
 *
 * Errors end the native by throwing ISOException with the status word, which
 * the customization software lets through (or maps). Loading a completed
 * package and installing an applet run the VM itself, which is not
 * reentrant: they are deferred until the bytecode returns, and if one fails
 * the whole APDU is rolled back.
 *
 * K-CUST lives in NVM (SYS_TRANSPORT_KEY) from UNLOCK to ENTER USER MODE,
 * which wipes it; the channel's keys are re-derived from it when needed.
 */
#include <string.h>
#include <tomcrypt.h>

#include "loader_internal.h"
#include "staging.h"

/* ---- vector table (301) ---- */
static int vectors_block(chip *c, uint32_t *off, int create)
{
    if (chip_nvm_find(c, KIND_VECTORS, 0xFFFF, 0, off, NULL) == CHIP_OK) return CHIP_OK;
    if (!create) return CHIP_ERR_RANGE;
    return chip_nvm_alloc(c, KIND_VECTORS, 0, LOADER_VECTOR_SLOTS * VECTOR_ENTRY_SIZE, off);
}

int vectors_set(chip *c, uint8_t slot, const uint8_t *aid, uint8_t aid_len, uint16_t method)
{
    if (slot >= LOADER_VECTOR_SLOTS || aid_len > 16 || (aid_len && aid_len < 5)) return CHIP_ERR_ARG;
    uint32_t off;
    int rc = vectors_block(c, &off, 1);
    if (rc) return rc;
    uint8_t e[VECTOR_ENTRY_SIZE] = {aid_len};
    memcpy(e + 1, aid, aid_len);
    e[17] = (uint8_t)method;
    e[18] = (uint8_t)(method >> 8);
    return chip_nvm_write(c, off + slot * VECTOR_ENTRY_SIZE, e, sizeof e);
}

int vectors_get(const chip *c, uint8_t slot, uint8_t *aid, uint8_t *aid_len, uint16_t *method)
{
    uint32_t off;
    if (slot >= LOADER_VECTOR_SLOTS) return CHIP_ERR_ARG;
    if (chip_nvm_find(c, KIND_VECTORS, 0xFFFF, 0, &off, NULL) != CHIP_OK) {
        *aid_len = 0;
        return CHIP_OK;
    }
    uint8_t e[VECTOR_ENTRY_SIZE];
    int rc = chip_nvm_read(c, off + slot * VECTOR_ENTRY_SIZE, e, sizeof e);
    if (rc) return rc;
    *aid_len = e[0] <= 16 ? e[0] : 0;
    memcpy(aid, e + 1, *aid_len);
    *method = (uint16_t)(e[17] | e[18] << 8);
    return CHIP_OK;
}

/* ---- the privileged natives ---- */
static int record_arg(vm_ext_call *call, const uint8_t **rec, uint16_t *len)
{
    const uint8_t *data;
    uint16_t n;
    if (vm_call_bytes(call, 0, &data, &n) != 0) return -1;
    uint16_t off = vm_call_arg(call, 1), l = vm_call_arg(call, 2);
    if (off > n || l > n - off) return -1;
    *rec = data + off;
    *len = l;
    return 0;
}

static void fail(vm_ext_call *call, uint16_t sw) { vm_call_throw(call, sw); }

static void nat_set_vector(void *ctx, vm_ext_call *call)
{
    card_os *os = ctx;
    const uint8_t *r;
    uint16_t n;
    if (record_arg(call, &r, &n) || n < 4 || n != 4u + r[3]) return fail(call, SW_WRONG_DATA);
    int rc = vectors_set(os->chip, r[0], r + 4, r[3], (uint16_t)(r[1] << 8 | r[2]));
    if (rc == CHIP_ERR_ARG) return fail(call, SW_WRONG_DATA);
    if (rc) return fail(call, chip_status_to_sw(rc));
}

static void nat_load_block(void *ctx, vm_ext_call *call)
{
    card_os *os = ctx;
    const uint8_t *r;
    uint16_t n;
    if (record_arg(call, &r, &n)) return fail(call, SW_WRONG_DATA);
    uint16_t p1p2 = vm_call_arg(call, 3);
    int last = 0;
    uint16_t sw = staging_block(os->chip, (uint8_t)(p1p2 >> 8), (uint8_t)p1p2, r, n, &last);
    if (sw != SW_OK) return fail(call, sw);
    if (last) os->deferred.op = DEFER_LOAD;
}

static void nat_install(void *ctx, vm_ext_call *call)
{
    card_os *os = ctx;
    const uint8_t *r;
    uint16_t n;
    if (record_arg(call, &r, &n) || n > sizeof os->deferred.data) return fail(call, SW_WRONG_DATA);
    os->deferred.op = DEFER_INSTALL;
    memcpy(os->deferred.data, r, n);
    os->deferred.len = n;
}

/* The customization key set, re-derived from K-CUST (NVM) whenever it is
 * needed: the card keeps one secret, not three. */
static int custom_keyset(card_os *os, scp03_keyset *ks)
{
    uint8_t k_cust[32];
    memset(ks, 0, sizeof *ks);
    if (chip_nvm_read(os->chip, SYS_TRANSPORT_KEY, k_cust, sizeof k_cust) != CHIP_OK) return -1;
    uint8_t any = 0;
    for (size_t i = 0; i < sizeof k_cust; i++) any |= k_cust[i];
    int rc = any ? custom_keys_derive(k_cust, ks->enc, ks->mac, ks->dek) : -1;
    scp03_wipe(k_cust, sizeof k_cust);
    ks->kvn = LOADER_CUSTOM_KVN;
    ks->key_len = LOADER_CUSTOM_KEY_LEN;
    return rc;
}

/* Key data in PUT KEY SET and PUT COMMON KEY is wrapped under the DEK of the
 * customization key set, as GP PUT KEY data is under the session's DEK. */
static int transport_key(card_os *os, uint8_t dek[32])
{
    scp03_keyset ks;
    int rc = custom_keyset(os, &ks);
    memcpy(dek, ks.dek, 32);
    scp03_wipe(&ks, sizeof ks);
    return rc;
}

static void nat_put_key_set(void *ctx, vm_ext_call *call)
{
    card_os *os = ctx;
    const uint8_t *r;
    uint16_t n;
    if (record_arg(call, &r, &n) || n < 1) return fail(call, SW_WRONG_DATA);
    uint8_t kt[32];
    if (transport_key(os, kt)) return fail(call, SW_CONDITIONS_NOT_SATISFIED);
    scp03_keyset ks;
    memset(&ks, 0, sizeof ks);
    ks.kvn = r[0];
    uint8_t *dst[3] = {ks.enc, ks.mac, ks.dek};
    size_t pos = 1, klen = 0;
    uint16_t sw = SW_OK;
    for (int i = 0; i < 3 && sw == SW_OK; i++) {
        size_t used, len;
        int rc = scp03_key_block_decrypt(kt, sizeof kt, r + pos, n - pos, &used, dst[i], &len);
        if (rc == SCP03_ERR_AUTH) sw = SW_SECURITY_NOT_SATISFIED;
        else if (rc || (i > 0 && len != klen)) sw = SW_WRONG_DATA;
        klen = len;
        pos += used;
    }
    if (sw == SW_OK && (pos != n || ks.kvn == 0 || ks.kvn == 0xFF)) sw = SW_WRONG_DATA;
    if (sw == SW_OK) {
        ks.key_len = (uint8_t)klen;
        int rc = keystore_put(os->chip, &ks);
        if (rc) sw = chip_status_to_sw(rc);
    }
    scp03_wipe(&ks, sizeof ks);
    scp03_wipe(kt, sizeof kt);
    if (sw != SW_OK) fail(call, sw);
}

static void nat_put_common_key(void *ctx, vm_ext_call *call)
{
    card_os *os = ctx;
    const uint8_t *r;
    uint16_t n;
    uint16_t id = vm_call_arg(call, 3);
    if (record_arg(call, &r, &n) || (id != 1 && id != 2)) return fail(call, SW_WRONG_DATA);
    uint8_t kt[32], key[SCP03_KEY_MAX];
    if (transport_key(os, kt)) return fail(call, SW_CONDITIONS_NOT_SATISFIED);
    size_t used, len;
    int rc = scp03_key_block_decrypt(kt, sizeof kt, r, n, &used, key, &len);
    uint16_t sw = rc == SCP03_ERR_AUTH ? SW_SECURITY_NOT_SATISFIED : rc || used != n ? SW_WRONG_DATA : SW_OK;
    if (sw == SW_OK) {
        rc = keystore_put_common(os->chip, (uint8_t)id, key, len);
        if (rc) sw = chip_status_to_sw(rc);
    }
    scp03_wipe(key, sizeof key);
    scp03_wipe(kt, sizeof kt);
    if (sw != SW_OK) fail(call, sw);
}

static void nat_set_security_domain(void *ctx, vm_ext_call *call)
{
    card_os *os = ctx;
    const uint8_t *r;
    uint16_t n;
    if (record_arg(call, &r, &n) || n < 2) return fail(call, SW_WRONG_DATA);
    uint8_t i = r[0], alen = r[1];
    static const uint8_t allowed_i[] = {0x00, 0x10, 0x20, 0x30, 0x60, 0x70};
    if (!memchr(allowed_i, i, sizeof allowed_i) || alen < 5 || alen > 16 ||
        (n != 2u + alen && n != 2u + alen + SCP03_DIV_DATA_LEN))
        return fail(call, SW_WRONG_DATA);
    uint8_t sys[1 + 16 + 1];
    memset(sys, 0, sizeof sys);
    sys[0] = alen;
    memcpy(sys + 1, r + 2, alen);
    sys[17] = i;
    int rc = chip_nvm_write(os->chip, SYS_ISD_AID_LEN, sys, sizeof sys);
    if (!rc && n == 2u + alen + SCP03_DIV_DATA_LEN)
        rc = chip_nvm_write(os->chip, SYS_DIV_DATA, r + 2 + alen, SCP03_DIV_DATA_LEN);
    if (rc) fail(call, chip_status_to_sw(rc));
}

const vm_ext_entry loader_extension_entries[] = {
    {"Loader.setVector", 3, 0, nat_set_vector},
    {"Loader.loadBlock", 4, 0, nat_load_block},
    {"Loader.install", 3, 0, nat_install},
    {"Loader.putKeySet", 3, 0, nat_put_key_set},
    {"Loader.putCommonKey", 4, 0, nat_put_common_key},
    {"Loader.setSecurityDomain", 3, 0, nat_set_security_domain},
};
const uint16_t loader_extension_count = sizeof loader_extension_entries / sizeof loader_extension_entries[0];

void custom_init_extension(card_os *os)
{
    os->ext.entries = loader_extension_entries;
    os->ext.count = loader_extension_count;
    os->ext.ctx = os;
}

/* ---- deferred VM work ---- */
static uint16_t run_deferred(card_os *os)
{
    loader_deferred *d = &os->deferred;
    char err[128];
    int rc = VM_OK;
    uint16_t sw = SW_OK;
    if (d->op == DEFER_LOAD) {
        const uint8_t *blob;
        size_t len;
        if (staging_view(os->chip, &blob, &len) != 0) return SW_CONDITIONS_NOT_SATISFIED;
        rc = vm_load_package(os->vm, blob, len, 0, err, sizeof err);
        if (rc == VM_OK) rc = staging_clear(os->chip) ? VM_ERR_POWER : VM_OK;
    } else if (d->op == DEFER_INSTALL) {
        /* pkg aid, applet aid, instance aid, params: each a length byte + bytes */
        const uint8_t *p = d->data, *end = d->data + d->len;
        const uint8_t *f[4] = {0};
        uint8_t fl[4] = {0};
        for (int i = 0; i < 4; i++) {
            if (i == 3 && p == end) break;          /* install parameters are optional */
            if (p >= end || *p > end - p - 1) return SW_WRONG_DATA;
            fl[i] = *p;
            f[i] = p + 1;
            p += 1 + *p;
        }
        if (p != end) return SW_WRONG_DATA;
        rc = vm_install(os->vm, f[0], fl[0], f[1], fl[1], f[2], fl[2], f[3], fl[3], &sw);
    }
    if (rc == VM_ERR_POWER) return 0;
    if (rc) return vm_status_to_sw(rc);
    return sw;
}

/* ---- ENTER USER MODE (masked ROM code) ---- */
static uint16_t enter_user_mode(card_os *os, const apdu_command *a)
{
    if (a->p1 || a->p2) return SW_INCORRECT_P1P2;
    if (a->nc) return SW_WRONG_LENGTH;
    chip *c = os->chip;
    scp03_keyset sets[16];
    size_t n = 0;
    keystore_load(c, sets, 16, &n);
    scp03_wipe(sets, sizeof sets);
    uint8_t aid_len;
    if (n == 0 || chip_nvm_read(c, SYS_ISD_AID_LEN, &aid_len, 1) || aid_len < 5)
        return SW_CONDITIONS_NOT_SATISFIED;   /* a USER card must be manageable */

    /* Erase 300 (the decrypted software) and 201 (the sealed one): freeing
     * zeroes the NVM, so neither stays in the image. */
    uint8_t rec[17];
    int rc = chip_nvm_read(c, SYS_CUSTOM_AID_LEN, rec, sizeof rec);
    if (!rc && rec[0] >= 5 && rec[0] <= 16) {
        int vrc = vm_delete_package(os->vm, rec + 1, rec[0]);
        if (vrc == VM_ERR_POWER) return 0;
        if (vrc != VM_OK && vrc != VM_ERR_NOTFOUND) return vm_status_to_sw(vrc);
    }
    uint32_t off;
    while (!rc && chip_nvm_find(c, KIND_SEALED, 0xFFFF, 0, &off, NULL) == CHIP_OK) rc = chip_nvm_free(c, off);
    if (!rc) rc = staging_clear(c);
    if (!rc) rc = chip_nvm_fill(c, SYS_CUSTOM_AID_LEN, 0, 17);
    if (!rc) rc = chip_nvm_fill(c, SYS_TRANSPORT_KEY, 0, 32);
    if (!rc) rc = loader_set_mode(c, LOADER_MODE_USER);
    if (rc == CHIP_ERR_POWER) return 0;
    return rc ? chip_status_to_sw(rc) : SW_OK;
}

/* GET DATA inside the customization channel adds DF25: the packages loaded
 * so far (302, 303), each as AID length || AID, so that an interrupted
 * personalization learns what is missing without a second copy of it. */
static uint16_t custom_get_data(card_os *os, const apdu_command *a, uint8_t *out, size_t cap, size_t *len)
{
    if (a->nc) return SW_WRONG_LENGTH;
    if (a->p1 != 0xDF || a->p2 != 0x25) return loader_get_data(os, a, out, cap, len);
    size_t n = 3;
    vm_package_info pi;
    for (unsigned i = 0; vm_package_info_at(os->vm, i, &pi) == VM_OK; i++) {
        if (pi.masked || pi.kind == VM_PKG_CUSTOMIZATION) continue;
        if (n + 1 + pi.aid_len > 3 + 255 || n + 1 + pi.aid_len > cap) return SW_FILE_FULL;
        out[n++] = pi.aid_len;
        memcpy(out + n, pi.aid, pi.aid_len);
        n += pi.aid_len;
    }
    out[0] = 0xDF;
    out[1] = 0x25;
    out[2] = (uint8_t)(n - 3);
    *len = n;
    return SW_OK;
}

/* A customization command, unwrapped: ENTER USER MODE and GET DATA are
 * masked ROM code, everything else goes to the customization software. */
static uint16_t custom_dispatch(card_os *os, const apdu_command *a, uint8_t *out, size_t cap, size_t *len)
{
    if ((a->cla & 0xFC) != 0x80) return SW_CLA_NOT_SUPPORTED;
    if (a->ins == 0xCA) return custom_get_data(os, a, out, cap, len);
    if (a->ins == 0x3E) return enter_user_mode(os, a);

    uint8_t rec[17];
    if (chip_nvm_read(os->chip, SYS_CUSTOM_AID_LEN, rec, sizeof rec) || rec[0] < 5 || rec[0] > 16)
        return SW_CONDITIONS_NOT_SATISFIED;
    if (a->nc > 255 || a->ne > 256) return SW_WRONG_LENGTH;   /* the VM's APDU buffer is short form */
    size_t n = apdu_encode(a, os->apdu, sizeof os->apdu);
    memset(&os->deferred, 0, sizeof os->deferred);
    uint16_t sw;
    vm_set_extension(os->vm, &os->ext);
    int rc = vm_invoke(os->vm, rec + 1, rec[0], 0, os->apdu, n, out, cap, len, &sw);
    vm_set_extension(os->vm, NULL);
    if (rc == VM_ERR_POWER || !chip_is_powered(os->chip)) return 0;
    if (rc) return vm_status_to_sw(rc);
    if (sw == SW_OK && os->deferred.op != DEFER_NONE) {
        sw = run_deferred(os);
        if (!chip_is_powered(os->chip)) return 0;
        if (sw != SW_OK) {
            /* All or nothing: the whole command's NVM writes go. */
            chip_rollback(os->chip);
            vm_reset(os->vm);
            *len = 0;
        }
    }
    memset(&os->deferred, 0, sizeof os->deferred);
    return sw;
}

static int random_bytes(void *ctx, uint8_t *out, size_t len)
{
    (void)ctx;
    return rng_get_bytes(out, (unsigned long)len, NULL) == len ? 0 : -1;
}

/*
 * The customization channel. Every command but the plain service commands
 * passes the SCP03 card side with the customization key set (KVN 3F, i 60:
 * random card challenge, so no counter needs NVM and a recorded session
 * cannot be replayed). The channel must be ACTIVE at C-MAC + C-DECRYPTION
 * or more for anything to reach the customization software; otherwise 6982
 * and nothing changes. Stricter than GP, any error status word also ends the
 * session: the host's picture of the card is stale after a refusal, so it
 * must re-read the card's state in a new session. ENTER USER MODE is the
 * session's last command: its response is wrapped under the customization
 * keys, then the session ends, so nothing of it survives into USER mode.
 */
uint16_t custom_process(card_os *os, const apdu_command *a, uint8_t *out, size_t cap, size_t *len)
{
    if ((a->cla & 0xF0) != 0x80) return a->ins == 0xA4 ? SW_CONDITIONS_NOT_SATISFIED : SW_CLA_NOT_SUPPORTED;
    if (a->ins == 0x10 || a->ins == 0x12 || a->ins == 0x14 || a->ins == 0x16) return SW_CONDITIONS_NOT_SATISFIED;

    loader_ram *ram = loader_ram_of(os);
    size_t raw_len = apdu_encode(a, os->apdu, sizeof os->apdu);
    if (raw_len == 0) return SW_WRONG_LENGTH;
    if (a->ins == 0x82 && apdu_cla_secure(a->cla) && scp03_card_state(&ram->session) == SCP03_STATE_PENDING &&
        (a->p1 & LOADER_CUSTOM_MIN_LEVEL) != LOADER_CUSTOM_MIN_LEVEL) {
        scp03_card_reset(&ram->session);   /* too weak a level for customization */
        return SW_SECURITY_NOT_SATISFIED;
    }

    scp03_keyset ks;
    uint8_t aid[17];
    if (custom_keyset(os, &ks) || chip_nvm_read(os->chip, SYS_CUSTOM_AID_LEN, aid, sizeof aid) || aid[0] < 5 ||
        aid[0] > 16) {
        /* No channel can open (an image from before K-CUST): the service
         * tags still answer in clear. */
        scp03_wipe(&ks, sizeof ks);
        if (a->ins == 0xCA && !apdu_cla_secure(a->cla)) return a->nc ? SW_WRONG_LENGTH : loader_get_data(os, a, out, cap, len);
        return SW_CONDITIONS_NOT_SATISFIED;
    }
    scp03_card_config cfg = {.keysets = &ks, .n_keysets = 1, .aid = aid + 1, .aid_len = aid[0],
                             .i_param = LOADER_CUSTOM_I, .random = random_bytes};
    size_t plain_len = 0;
    uint16_t sw;
    int r = scp03_card_command(&ram->session, &cfg, os->apdu, raw_len, os->work, sizeof os->work, &plain_len, &sw);
    scp03_wipe(&ks, sizeof ks);
    if (r == SCP03_CARD_REPLY) {
        size_t n = plain_len >= 2 ? plain_len - 2 : 0;
        memcpy(out, os->work, n);
        *len = n;
        return sw;
    }
    if (r != SCP03_CARD_PROCESS) return sw ? sw : SW_UNKNOWN;

    apdu_command pa = {0};
    int active = scp03_card_state(&ram->session) == SCP03_STATE_ACTIVE &&
                 (scp03_card_security_level(&ram->session) & LOADER_CUSTOM_MIN_LEVEL) == LOADER_CUSTOM_MIN_LEVEL;
    if (!active) {
        /* Outside the channel only GET DATA (the service tags) answers. */
        if (a->ins != 0xCA || apdu_cla_secure(a->cla)) return SW_SECURITY_NOT_SATISFIED;
        return a->nc ? SW_WRONG_LENGTH : loader_get_data(os, a, out, cap, len);
    }
    memcpy(os->apdu, os->work, plain_len);
    uint8_t *plain_rsp = os->work + APDU_MAX_COMMAND;
    size_t rlen = 0;
    sw = apdu_parse(os->apdu, plain_len, &pa);
    if (sw == SW_OK) sw = custom_dispatch(os, &pa, plain_rsp, sizeof os->work - APDU_MAX_COMMAND - 64, &rlen);
    if (!chip_is_powered(os->chip)) return 0;
    if (!apdu_sw_is_success(sw)) rlen = 0;
    size_t wrapped = 0;
    int wrc = scp03_card_wrap_response(&ram->session, plain_rsp, rlen, sw, out, cap, &wrapped);
    if (!apdu_sw_is_success(sw) || pa.ins == 0x3E) scp03_card_reset(&ram->session);
    if (wrc != SCP03_OK || wrapped < 2) {
        scp03_card_reset(&ram->session);
        return SW_UNKNOWN;
    }
    sw = (uint16_t)(out[wrapped - 2] << 8 | out[wrapped - 1]);
    *len = wrapped - 2;
    return sw;
}
