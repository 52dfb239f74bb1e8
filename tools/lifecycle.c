/* lifecycle.c — a card's life through APDUs (see lifecycle.h). */
#include "lifecycle.h"

#include <stdlib.h>
#include <string.h>

#include "apdu.h"
#include "apdu_redact.h"
#include "card.h"
#include "vm.h"
#include "scp03.h"
#include <tomcrypt.h>

void lifecycle_defaults(lifecycle_params *p)
{
    memset(p, 0, sizeof *p);
    for (int i = 0; i < 32; i++) p->unlock_key[i] = (uint8_t)(0xC0 + i);
    p->serial[7] = 1;
    static const uint8_t isd[] = {0xA0, 0x00, 0x00, 0x01, 0x51, 0x00, 0x00, 0x00};
    memcpy(p->isd_aid, isd, sizeof isd);
    p->isd_aid_len = sizeof isd;
    p->scp_i = 0x70;
    p->n_keysets = 1;
    p->keysets[0].kvn = 0x30;
    p->keysets[0].key_len = 16;
    for (int i = 0; i < 16; i++)
        p->keysets[0].enc[i] = p->keysets[0].mac[i] = p->keysets[0].dek[i] = (uint8_t)(0x40 + i);
}

/* The masked "os" package serves two ISD commands through vector slots:
 * 80 F0 GET OS VERSION (slot 0) and 80 F4 OS CHECKSUM (slot 1). */
static const loader_vectored_command default_vectored[] = {{0xF0, 0}, {0xF4, 1}};

void lifecycle_mask_defaults(loader_mask_params *m)
{
    static const uint8_t *masked[1];
    static size_t masked_len[1];
    masked[0] = example_masked_os_package;
    masked_len[0] = example_masked_os_package_len;
    memset(m, 0, sizeof *m);
    chip_geometry_default(&m->geometry);
    m->masked = masked;
    m->masked_len = masked_len;
    m->n_masked = 1;
    m->vectored = default_vectored;
    m->n_vectored = sizeof default_vectored / sizeof default_vectored[0];
}

/* Never a secret on the log: UNLOCK shows as "UNLOCK <key hidden>". */
static void log_line(FILE *log, const char *name, const uint8_t *cmd, size_t len, int sw)
{
    if (!log) return;
    char hex[128];
    if (apdu_secret_kind(cmd, len)) snprintf(hex, sizeof hex, "<key hidden>");
    else apdu_log_hex(cmd, len, 24, hex, sizeof hex);
    fprintf(log, "  %-24s %s", name, hex);
    if (sw >= 0) fprintf(log, "  -> %04X\n", sw);
    else fprintf(log, "  -> no response\n");
}

/* One APDU; the response data must fit `cap` bytes of rsp (a longer one is
 * treated as no answer: the card is not what the client talks to). */
static int apdu_capped(transport *t, FILE *log, const char *name, const uint8_t *cmd, size_t len, uint8_t *rsp,
                       size_t cap, size_t *rsp_len)
{
    uint8_t *buf = malloc(CARD_MAX_RESPONSE);
    size_t n = 0;
    int sw = -1;
    if (buf && transport_transmit(t, cmd, len, buf, CARD_MAX_RESPONSE, &n) == 0 && n >= 2 &&
        (!rsp || n - 2 <= cap)) {
        sw = buf[n - 2] << 8 | buf[n - 1];
        if (rsp) memcpy(rsp, buf, n - 2);
        if (rsp_len) *rsp_len = n - 2;
    }
    log_line(log, name, cmd, len, sw);
    if (buf) scp03_wipe(buf, n);
    free(buf);
    return sw;
}

int lifecycle_apdu(transport *t, FILE *log, const char *name, const uint8_t *cmd, size_t len,
                   uint8_t *rsp, size_t *rsp_len)
{
    return apdu_capped(t, log, name, cmd, len, rsp, CARD_MAX_RESPONSE, rsp_len);
}

static int expect(transport *t, FILE *log, const char *name, const uint8_t *cmd, size_t len, int want)
{
    int sw = lifecycle_apdu(t, log, name, cmd, len, NULL, NULL);
    if (sw != want) {
        fprintf(stderr, "cardvm: %s answered %04X, expected %04X\n", name, sw < 0 ? 0 : sw, want);
        return -1;
    }
    return 0;
}

static size_t mk(uint8_t *b, uint8_t ins, uint8_t p1, uint8_t p2, const uint8_t *data, size_t n)
{
    /* Le = 00 on the commands that answer data, so no GET RESPONSE is needed. */
    apdu_command c = {.cla = 0x80, .ins = ins, .p1 = p1, .p2 = p2, .data = data, .nc = (uint32_t)n,
                      .ne = ins == 0x10 ? 256u : 0u};
    return apdu_encode(&c, b, 300);
}

/* ---- the customization channel ----
 * Commands after UNLOCK go through an SCP03 session keyed from the
 * unlocking key and the serial number (loader_customization_keys). */
typedef struct custom_channel {
    transport *t;
    FILE *log;
    scp03_host_session h;
} custom_channel;

/* One command through the channel: wrapped, sent, response unwrapped. The
 * log shows the name and the wrapped bytes, as they cross the wire. Returns
 * the SW, or -1 (no answer, or a response that fails its R-MAC). */
static int channel_send(custom_channel *ch, const char *name, const uint8_t *plain, size_t n,
                        uint8_t *rsp, size_t cap, size_t *rsp_len)
{
    uint8_t wrapped[300 + SCP03_WRAP_OVERHEAD + 4], raw[512], data[512];
    size_t wl, rl = 0, dl = 0;
    if (scp03_host_wrap(&ch->h, plain, n, wrapped, sizeof wrapped, &wl) != SCP03_OK) return -1;
    int sw = apdu_capped(ch->t, NULL, name, wrapped, wl, raw, sizeof raw - 2, &rl);
    if (sw >= 0 && (sw >> 8) == 0x61) {
        /* The R-MAC is response data: fetch it (T=0 style, no Le sent). */
        uint8_t gr[5] = {0x00, 0xC0, 0x00, 0x00, (uint8_t)sw};
        sw = apdu_capped(ch->t, NULL, "GET RESPONSE", gr, sizeof gr, raw, sizeof raw - 2, &rl);
    }
    log_line(ch->log, name, wrapped, wl, sw);
    if (sw < 0) return -1;
    raw[rl] = (uint8_t)(sw >> 8);
    raw[rl + 1] = (uint8_t)sw;
    uint16_t usw;
    if (scp03_host_unwrap(&ch->h, raw, rl + 2, data, sizeof data, &dl, &usw) != SCP03_OK) {
        fprintf(stderr, "cardvm: %s: the response failed its R-MAC\n", name);
        return -1;
    }
    if (rsp && dl > cap) usw = 0x6700;   /* longer than the command allows: refuse it */
    else if (rsp) memcpy(rsp, data, dl);
    if (rsp_len) *rsp_len = dl;
    scp03_wipe(data, sizeof data);
    return usw;
}

static int channel_expect(custom_channel *ch, const char *name, const uint8_t *plain, size_t n)
{
    int sw = channel_send(ch, name, plain, n, NULL, 0, NULL);
    if (sw != 0x9000) {
        if (sw >= 0) fprintf(stderr, "cardvm: %s answered %04X, expected 9000\n", name, sw);
        return -1;
    }
    return 0;
}

/* INITIALIZE UPDATE (KVN 3F, a random host challenge) and EXTERNAL
 * AUTHENTICATE at C-MAC + C-DECRYPTION + R-MAC. */
static int channel_open(custom_channel *ch, const lifecycle_params *p, const uint8_t serial[8])
{
    uint8_t enc[32], mac[32], dek[32], hc[8], cmd[64], rsp[64];
    size_t n, rl;
    int rc = loader_customization_keys(p->unlock_key, serial, enc, mac, dek);
    if (!rc) rc = scp03_host_init(&ch->h, enc, mac, LOADER_CUSTOM_KEY_LEN, NULL, 0) == SCP03_OK ? 0 : -1;
    scp03_wipe(enc, sizeof enc);
    scp03_wipe(mac, sizeof mac);
    scp03_wipe(dek, sizeof dek);
    if (rc || rng_get_bytes(hc, sizeof hc, NULL) != sizeof hc ||
        scp03_host_initialize_update(&ch->h, LOADER_CUSTOM_KVN, hc, cmd, sizeof cmd, &n) != SCP03_OK) {
        fprintf(stderr, "cardvm: cannot prepare the customization channel\n");
        return -1;
    }
    if (ch->log) fprintf(ch->log, "customization channel: SCP03 with the key set derived from the unlocking key and serial\n");
    int sw = apdu_capped(ch->t, ch->log, "INITIALIZE UPDATE", cmd, n, rsp, sizeof rsp - 2, &rl);
    if (sw != 0x9000) {
        fprintf(stderr, "cardvm: INITIALIZE UPDATE answered %04X, expected 9000\n", sw < 0 ? 0 : sw);
        return -1;
    }
    rsp[rl] = 0x90;
    rsp[rl + 1] = 0x00;
    if (scp03_host_check_initialize_update_response(&ch->h, rsp, rl + 2) != SCP03_OK) {
        fprintf(stderr, "cardvm: the card cryptogram is wrong: another unlocking key or serial number?\n");
        return -1;
    }
    if (scp03_host_external_authenticate(&ch->h, LOADER_CUSTOM_LEVEL, cmd, sizeof cmd, &n) != SCP03_OK) return -1;
    return expect(ch->t, ch->log, "EXTERNAL AUTHENTICATE", cmd, n, 0x9000);
}

/* LOAD a package to the customization software in blocks of at most 240
 * bytes; the first block starts with C4 and the package length. */
static int load_package(custom_channel *ch, const uint8_t *pkg, size_t len)
{
    uint8_t block[250], cmd[300];
    size_t pos = 0;
    unsigned blockno = 0;
    while (pos < len || blockno == 0) {
        size_t n = 0;
        if (blockno == 0) {
            block[n++] = 0xC4;
            if (len < 128) block[n++] = (uint8_t)len;
            else if (len < 256) { block[n++] = 0x81; block[n++] = (uint8_t)len; }
            else { block[n++] = 0x82; block[n++] = (uint8_t)(len >> 8); block[n++] = (uint8_t)len; }
        }
        size_t take = len - pos < 240 - n ? len - pos : 240 - n;
        memcpy(block + n, pkg + pos, take);
        n += take;
        pos += take;
        int last = pos == len;
        char name[40];
        snprintf(name, sizeof name, "LOAD PACKAGE block %u", blockno);
        if (channel_expect(ch, name, cmd, mk(cmd, 0x32, (uint8_t)blockno, last ? 0x80 : 0x00, block, n)))
            return -1;
        blockno++;
        if (blockno > 255) return -1;
    }
    return 0;
}

int lifecycle_mount(transport *t, const lifecycle_params *p, FILE *log)
{
    uint8_t cmd[300], rsp[512];
    size_t rlen;
    if (log) fprintf(log, "card mounter (no key):\n");
    if (apdu_capped(t, log, "SELF TEST", cmd, mk(cmd, 0x10, 0, 0, NULL, 0), rsp, sizeof rsp, &rlen) != 0x9000 ||
        rlen != 12 || rsp[3] || rsp[7] || rsp[11]) {
        fprintf(stderr, "cardvm: SELF TEST failed\n");
        return -1;
    }
    return expect(t, log, "WRITE SERIAL NUMBER", cmd, mk(cmd, 0x12, 0, 0, p->serial, 8), 0x9000);
}

/* GET DATA by tag, plain (a service command of every mode). */
static int get_data(transport *t, uint16_t tag, uint8_t *v, size_t cap, size_t *vlen)
{
    uint8_t cmd[8] = {0x80, 0xCA, (uint8_t)(tag >> 8), (uint8_t)tag, 0x00}, rsp[300];
    size_t rl;
    int sw = apdu_capped(t, NULL, "GET DATA", cmd, 5, rsp, sizeof rsp, &rl);
    size_t hl = tag > 0xFF ? 3 : 2;
    if (sw != 0x9000 || rl < hl || rsp[hl - 1] != rl - hl || rl - hl > cap) return -1;
    memcpy(v, rsp + hl, rl - hl);
    *vlen = rl - hl;
    return 0;
}

/* Is the package (by its AID) in the DF25 list the card gave? */
static int package_present(const uint8_t *list, size_t n, const uint8_t *pkg, size_t len)
{
    uint8_t aid[VM_AID_MAX], aid_len, major, minor;
    if (vm_package_identify(pkg, len, aid, &aid_len, &major, &minor) != VM_OK) return 0;
    int found = 0;
    for (size_t i = 0; i < n && !found; i += 1u + list[i])
        found = list[i] == aid_len && i + 1 + list[i] <= n && !memcmp(list + i + 1, aid, aid_len);
    return found;
}

int lifecycle_customize(transport *t, const lifecycle_params *p, FILE *log)
{
    uint8_t cmd[300], data[256], serial[8];
    size_t n = 0;
    if (get_data(t, 0xDF21, data, sizeof data, &n) || n != 1) {
        fprintf(stderr, "cardvm: the card does not report its lifecycle mode\n");
        return -1;
    }
    if (data[0] == LOADER_MODE_USER) {
        /* A personalization that was cut after ENTER USER MODE: done. */
        if (log) fprintf(log, "client: the card is already in USER mode, nothing to do\n");
        return 0;
    }
    if (data[0] == LOADER_MODE_ISSUER) {
        if (log) fprintf(log, "client (unlocking key and hash code):\n");
        memcpy(data, p->unlock_key, 32);
        memcpy(data + 32, p->hash_code, 32);
        int rc = expect(t, log, "UNLOCK", cmd, mk(cmd, 0x14, 0, 0, data, 64), 0x9000);
        scp03_wipe(data, 64);
        scp03_wipe(cmd, sizeof cmd);
        if (rc) return -1;
    } else if (data[0] == LOADER_MODE_CUSTOMIZATION) {
        /* An interrupted personalization: UNLOCK is done; the idempotent
         * steps are redone and missing packages loaded. */
        if (log) fprintf(log, "client: the card is in CUSTOMIZATION mode, resuming the customization\n");
    } else {
        fprintf(stderr, "cardvm: the card is in mode %u, not ISSUER or CUSTOMIZATION\n", data[0]);
        return -1;
    }
    if (get_data(t, 0xDF20, serial, sizeof serial, &n) || n != 8) {
        fprintf(stderr, "cardvm: the card has no serial number (the card mounter's step)\n");
        return -1;
    }

    custom_channel ch = {.t = t, .log = log};
    int rc = channel_open(&ch, p, serial);
    uint8_t dek[32], enc[32], mac[32];
    if (!rc) rc = loader_customization_keys(p->unlock_key, serial, enc, mac, dek);
    scp03_wipe(enc, sizeof enc);
    scp03_wipe(mac, sizeof mac);

    n = 0;
    data[n++] = p->scp_i;
    data[n++] = p->isd_aid_len;
    memcpy(data + n, p->isd_aid, p->isd_aid_len);
    n += p->isd_aid_len;
    memcpy(data + n, p->div_data, 10);
    n += 10;
    if (!rc) rc = channel_expect(&ch, "SET SECURITY DOMAIN", cmd, mk(cmd, 0x3A, 0, 0, data, n));
    for (size_t k = 0; !rc && k < p->n_keysets; k++) {
        const lifecycle_keyset *ks = &p->keysets[k];
        size_t dl;
        if (scp03_put_key_data(dek, sizeof dek, ks->kvn, ks->enc, ks->mac, ks->dek, ks->key_len, data, sizeof data,
                               &dl)) {
            rc = -1;
            break;
        }
        rc = channel_expect(&ch, "PUT KEY SET", cmd, mk(cmd, 0x36, 0, 0, data, dl));
    }
    const struct { int has; const uint8_t *key; uint8_t id; const char *name; } common[] = {
        {p->has_kos, p->kos, 1, "PUT COMMON KEY Kos"}, {p->has_kmac, p->kmac, 2, "PUT COMMON KEY K-MAC"}};
    for (int i = 0; !rc && i < 2; i++) {
        if (!common[i].has) continue;
        size_t dl;
        if (scp03_key_block_encrypt(dek, sizeof dek, common[i].key, 16, data, sizeof data, &dl)) {
            rc = -1;
            break;
        }
        rc = channel_expect(&ch, common[i].name, cmd, mk(cmd, 0x38, common[i].id, 0, data, dl));
    }
    scp03_wipe(dek, sizeof dek);
    scp03_wipe(data, sizeof data);
    scp03_wipe(cmd, sizeof cmd);

    /* The vector table (301): slots 0 and 1 to the masked os package's
     * methods 0 (version) and 1 (checksum). */
    static const uint8_t os_aid[] = {0xA0, 0x00, 0x00, 0x06, 0x99, 0x01, 0x00};
    for (uint8_t slot = 0; !rc && slot < 2; slot++) {
        n = 0;
        data[n++] = slot;
        data[n++] = 0;
        data[n++] = slot;
        data[n++] = sizeof os_aid;
        memcpy(data + n, os_aid, sizeof os_aid);
        n += sizeof os_aid;
        rc = channel_expect(&ch, "SET VECTOR", cmd, mk(cmd, 0x30, 0, 0, data, n));
    }
    /* Additional software (302): only what the card does not have yet (a
     * load cut short restarts from block 0, which discards the partial one). */
    uint8_t loaded[3 + 255];
    size_t nloaded = 0;
    if (!rc && p->n_packages) {
        static const uint8_t df25[] = {0x80, 0xCA, 0xDF, 0x25, 0x00};
        int sw = channel_send(&ch, "GET DATA loaded packages", df25, sizeof df25, loaded, sizeof loaded, &nloaded);
        if (sw != 0x9000 || nloaded < 3 || loaded[2] != nloaded - 3) {
            if (sw >= 0) fprintf(stderr, "cardvm: GET DATA DF25 answered %04X\n", sw);
            rc = -1;
        } else {
            memmove(loaded, loaded + 3, nloaded - 3);
            nloaded -= 3;
        }
    }
    for (size_t i = 0; !rc && i < p->n_packages; i++) {
        if (package_present(loaded, nloaded, p->packages[i], p->package_lens[i])) {
            if (log) fprintf(log, "  package %zu is already on the card\n", i + 1);
            continue;
        }
        rc = load_package(&ch, p->packages[i], p->package_lens[i]);
    }
    if (!rc) rc = channel_expect(&ch, "ENTER USER MODE", cmd, mk(cmd, 0x3E, 0, 0, NULL, 0));
    scp03_host_close(&ch.h);
    return rc ? -1 : 0;
}
