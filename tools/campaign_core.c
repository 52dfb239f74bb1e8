/* campaign_core.c — design system, HSM, terminal and ST check (see
 * campaign_core.h and docs/broadcast.md). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <tomcrypt.h>

#include "apdu.h"
#include "broadcast.h"
#include "campaign_core.h"
#include "vm.h"

/* ---- APDU lists ---- */
int apdu_list_add(apdu_list *l, const uint8_t *apdu, size_t n)
{
    if (n > 0xFFFF) return CAMPAIGN_ERR_PARAM;
    if (l->len + n + 2 > l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 1024;
        while (cap < l->len + n + 2) cap *= 2;
        uint8_t *b = realloc(l->buf, cap);
        if (!b) return CAMPAIGN_ERR_PARAM;
        l->buf = b;
        l->cap = cap;
    }
    l->buf[l->len++] = (uint8_t)(n >> 8);
    l->buf[l->len++] = (uint8_t)n;
    memcpy(l->buf + l->len, apdu, n);
    l->len += n;
    l->n++;
    return CAMPAIGN_OK;
}

int apdu_list_next(const apdu_list *l, size_t *pos, const uint8_t **apdu, size_t *n)
{
    if (*pos + 2 > l->len) return 0;
    size_t k = (size_t)l->buf[*pos] << 8 | l->buf[*pos + 1];
    if (*pos + 2 + k > l->len) return 0;
    *apdu = l->buf + *pos + 2;
    *n = k;
    *pos += 2 + k;
    return 1;
}

void apdu_list_free(apdu_list *l)
{
    if (l->buf) scp03_wipe(l->buf, l->cap);
    free(l->buf);
    memset(l, 0, sizeof *l);
}

void campaign_hex(const uint8_t *b, size_t n, char *out)
{
    static const char d[] = "0123456789ABCDEF";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = d[b[i] >> 4];
        out[2 * i + 1] = d[b[i] & 15];
    }
    out[2 * n] = 0;
}

static int random_bytes(uint8_t *b, size_t n)
{
    return rng_get_bytes(b, (unsigned long)n, NULL) == n ? 0 : -1;
}

static size_t plain_apdu(uint8_t *o, uint8_t ins, uint8_t p1, uint8_t p2, const uint8_t *d, size_t n)
{
    apdu_command a = {.cla = 0x80, .ins = ins, .p1 = p1, .p2 = p2, .data = d, .nc = (uint32_t)n};
    return apdu_encode(&a, o, n + 16);
}

/* ---- design system ---- */
static int build_action(const campaign_action *a, uint8_t *out, size_t *len)
{
    size_t n = 0;
    out[n++] = a->flags;
    if (a->flags & BROADCAST_ACT_INSTALL) {
        out[n++] = a->applet_len;
        memcpy(out + n, a->applet, a->applet_len);
        n += a->applet_len;
        out[n++] = a->instance_len;
        memcpy(out + n, a->instance, a->instance_len);
        n += a->instance_len;
        out[n++] = 0;   /* install parameters */
    }
    if (a->flags & BROADCAST_ACT_VECTOR) {
        out[n++] = a->slot;
        out[n++] = (uint8_t)(a->method >> 8);
        out[n++] = (uint8_t)a->method;
    }
    *len = n;
    return 0;
}

int campaign_design(const uint8_t *datasend, size_t len, uint8_t profile, const uint8_t kos[16],
                    const uint8_t kmac[16], const campaign_action *act, size_t chunk,
                    campaign *out, apdu_list *pse)
{
    return campaign_design_bk(datasend, len, profile, kos, kmac, act, chunk, NULL, out, pse);
}

int campaign_design_bk(const uint8_t *datasend, size_t len, uint8_t profile, const uint8_t kos[16],
                       const uint8_t kmac[16], const campaign_action *act, size_t chunk, const uint8_t bk[32],
                       campaign *out, apdu_list *pse)
{
    if (!datasend || !len || len > BCM_MAX_PENDING - 64 || !kos || !out || !pse || chunk < 16 || chunk > 4096)
        return CAMPAIGN_ERR_PARAM;
    if (profile != BROADCAST_PROFILE_FIG3 && profile != BROADCAST_PROFILE_FIG4) return CAMPAIGN_ERR_PARAM;
    if (profile == BROADCAST_PROFILE_FIG4 && (!kmac || chunk % 16)) return CAMPAIGN_ERR_PARAM;
    if (scp03_crypto_init() != SCP03_OK) return CAMPAIGN_ERR_CRYPTO;
    memset(out, 0, sizeof *out);
    if (vm_package_identify(datasend, len, out->aid, &out->aid_len, &out->major, &out->minor) != VM_OK)
        return CAMPAIGN_ERR_PARAM;

    uint8_t bk_enc[16], bk_mac[16];
    int rc = CAMPAIGN_ERR_CRYPTO;
    uint8_t *payload = NULL;
    scp03_host_session *h = calloc(1, sizeof *h);
    if (!h) return CAMPAIGN_ERR_PARAM;
    out->profile = profile;
    if (random_bytes(out->id, 8) || random_bytes(bk_enc, 16) || random_bytes(bk_mac, 16) ||
        random_bytes(out->counter, 8) || random_bytes(out->chain, 16))
        goto done;
    if (bk) {
        memcpy(bk_enc, bk, 16);
        memcpy(bk_mac, bk + 16, 16);
    }
    /* Counter: 8 random bytes then zeros, so no campaign can wrap it. */
    hash_state hs;
    sha256_init(&hs);
    sha256_process(&hs, datasend, (unsigned long)len);
    sha256_done(&hs, out->hash);
    build_action(act, out->action, &out->action_len);

    /* The transport payload: DATASEND (FIG.3) or IV || AES-CBC(Kos) (FIG.4). */
    size_t plen = len;
    if (profile == BROADCAST_PROFILE_FIG4) {
        size_t padded = (len / 16 + 1) * 16;
        plen = 16 + padded;
        payload = calloc(1, plen);
        if (!payload) goto done;
        if (random_bytes(payload, 16)) goto done;
        memcpy(payload + 16, datasend, len);
        payload[16 + len] = 0x80;
        symmetric_CBC cbc;
        if (cbc_start(find_cipher("aes"), payload, kos, 16, 0, &cbc) != CRYPT_OK) goto done;
        int ok = cbc_encrypt(payload + 16, payload + 16, (unsigned long)padded, &cbc) == CRYPT_OK;
        cbc_done(&cbc);
        if (!ok) goto done;
        if (scp03_cmac(kmac, 16, datasend, len, out->mac) != SCP03_OK) goto done;
        out->keys[0] = 16;
        memcpy(out->keys + 1, bk_enc, 16);
        memcpy(out->keys + 17, bk_mac, 16);
        out->keys_len = 33;
    } else {
        size_t a = 0, b = 0;
        if (scp03_key_block_encrypt(kos, 16, bk_enc, 16, out->keys, sizeof out->keys, &a) != SCP03_OK ||
            scp03_key_block_encrypt(kos, 16, bk_mac, 16, out->keys + a, sizeof out->keys - a, &b) != SCP03_OK)
            goto done;
        out->keys_len = a + b;
        if (scp03_cmac(bk_mac, 16, datasend, len, out->mac) != SCP03_OK) goto done;
    }
    out->size = (uint32_t)plen;

    /* The broadcast channel as a host session: BK, the chosen counter and
     * chaining value, C-MAC + C-DECRYPTION (E22: same bytes for every card). */
    scp03_context ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.key_len = 16;
    ctx.level = BROADCAST_LEVEL;
    memcpy(ctx.s_enc, bk_enc, 16);
    memcpy(ctx.s_mac, bk_mac, 16);
    memcpy(ctx.next_counter, out->counter, 16);
    memcpy(ctx.chain, out->chain, 16);
    if (scp03_host_init(h, bk_enc, bk_mac, 16, NULL, 0) != SCP03_OK || scp03_host_import_context(h, &ctx) != SCP03_OK) {
        scp03_wipe(&ctx, sizeof ctx);
        goto done;
    }
    scp03_wipe(&ctx, sizeof ctx);
    uint8_t plain[4096 + 16], wrapped[4096 + 64];
    size_t pos = 0;
    uint16_t blk = 0;
    const uint8_t *src = profile == BROADCAST_PROFILE_FIG4 ? payload : datasend;
    while (pos < plen) {
        size_t take = plen - pos < chunk ? plen - pos : chunk;
        size_t n = plain_apdu(plain, BROADCAST_INS_CMDI, (uint8_t)(blk >> 8), (uint8_t)blk, src + pos, take), wn;
        if (scp03_host_wrap(h, plain, n, wrapped, sizeof wrapped, &wn) != SCP03_OK) goto done;
        if (apdu_list_add(pse, wrapped, wn)) goto done;
        pos += take;
        blk++;
    }
    out->n_cmdi = blk;
    size_t n = plain_apdu(plain, BROADCAST_INS_CHANGE_MODE, BROADCAST_P1_BACK, 0, NULL, 0), wn;
    if (scp03_host_wrap(h, plain, n, wrapped, sizeof wrapped, &wn) != SCP03_OK) goto done;
    if (apdu_list_add(pse, wrapped, wn)) goto done;
    rc = CAMPAIGN_OK;
done:
    scp03_wipe(bk_enc, sizeof bk_enc);
    scp03_wipe(bk_mac, sizeof bk_mac);
    scp03_host_close(h);
    free(h);
    if (payload) {
        scp03_wipe(payload, plen);
        free(payload);
    }
    return rc;
}

/* ---- files ---- */
static void put_hex(FILE *f, const char *k, const uint8_t *b, size_t n)
{
    char *s = malloc(2 * n + 1);
    if (!s) return;
    campaign_hex(b, n, s);
    fprintf(f, "%s=%s\n", k, s);
    free(s);
}

int campaign_save(const char *path, const campaign *c)
{
    FILE *f = fopen(path, "w");
    if (!f) return CAMPAIGN_ERR_IO;
    fprintf(f, "cardvm-campaign 1\n");
    put_hex(f, "id", c->id, 8);
    fprintf(f, "profile=%u\n", c->profile);
    put_hex(f, "counter", c->counter, 16);
    put_hex(f, "chain", c->chain, 16);
    fprintf(f, "size=%u\n", (unsigned)c->size);
    fprintf(f, "cmdi=%u\n", (unsigned)c->n_cmdi);
    put_hex(f, "keys", c->keys, c->keys_len);
    put_hex(f, "mac", c->mac, 16);
    put_hex(f, "action", c->action, c->action_len);
    put_hex(f, "hash", c->hash, 32);
    put_hex(f, "aid", c->aid, c->aid_len);
    fprintf(f, "version=%u.%u\n", c->major, c->minor);
    int bad = ferror(f);
    return fclose(f) || bad ? CAMPAIGN_ERR_IO : CAMPAIGN_OK;
}

static int get_hex(const char *v, uint8_t *out, size_t cap, size_t *n)
{
    long k = hex_decode(v, out, cap);
    if (k < 0) return -1;
    if (n) *n = (size_t)k;
    return 0;
}

int campaign_load(const char *path, campaign *c)
{
    FILE *f = fopen(path, "r");
    if (!f) return CAMPAIGN_ERR_IO;
    memset(c, 0, sizeof *c);
    char line[512];
    int ok = fgets(line, sizeof line, f) && !strncmp(line, "cardvm-campaign 1", 17);
    unsigned seen = 0;
    while (ok && fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = 0;
        char *eq = strchr(line, '=');
        if (!eq) continue;
        *eq = 0;
        const char *k = line, *v = eq + 1;
        size_t n = 0;
        unsigned a, b;
        if (!strcmp(k, "id")) ok = !get_hex(v, c->id, 8, &n) && n == 8, seen |= 1;
        else if (!strcmp(k, "profile")) c->profile = (uint8_t)atoi(v), seen |= 2;
        else if (!strcmp(k, "counter")) ok = !get_hex(v, c->counter, 16, &n) && n == 16, seen |= 4;
        else if (!strcmp(k, "chain")) ok = !get_hex(v, c->chain, 16, &n) && n == 16, seen |= 8;
        else if (!strcmp(k, "size")) c->size = (uint32_t)strtoul(v, NULL, 10), seen |= 16;
        else if (!strcmp(k, "cmdi")) c->n_cmdi = (uint32_t)strtoul(v, NULL, 10);
        else if (!strcmp(k, "keys")) ok = !get_hex(v, c->keys, sizeof c->keys, &c->keys_len), seen |= 32;
        else if (!strcmp(k, "mac")) ok = !get_hex(v, c->mac, 16, &n) && n == 16, seen |= 64;
        else if (!strcmp(k, "action")) ok = !get_hex(v, c->action, sizeof c->action, &c->action_len), seen |= 128;
        else if (!strcmp(k, "hash")) ok = !get_hex(v, c->hash, 32, &n) && n == 32, seen |= 256;
        else if (!strcmp(k, "aid")) {
            ok = !get_hex(v, c->aid, 16, &n);
            c->aid_len = (uint8_t)n;
        } else if (!strcmp(k, "version") && sscanf(v, "%u.%u", &a, &b) == 2) {
            c->major = (uint8_t)a;
            c->minor = (uint8_t)b;
        }
    }
    fclose(f);
    scp03_wipe(line, sizeof line);
    if (!ok || seen != 511 || (c->profile != 3 && c->profile != 4) || c->action_len == 0) return CAMPAIGN_ERR_PARAM;
    return CAMPAIGN_OK;
}

int pse_save(const char *path, const apdu_list *pse)
{
    FILE *f = fopen(path, "w");
    if (!f) return CAMPAIGN_ERR_IO;
    fprintf(f, "cardvm-pse 1\n");
    size_t pos = 0, n;
    const uint8_t *a;
    char *s = malloc(2 * 65536 + 8);
    if (!s) {
        fclose(f);
        return CAMPAIGN_ERR_IO;
    }
    while (apdu_list_next(pse, &pos, &a, &n)) {
        campaign_hex(a, n, s);
        fprintf(f, "%s\n", s);
    }
    free(s);
    int bad = ferror(f);
    return fclose(f) || bad ? CAMPAIGN_ERR_IO : CAMPAIGN_OK;
}

int pse_load(const char *path, apdu_list *pse)
{
    FILE *f = fopen(path, "r");
    if (!f) return CAMPAIGN_ERR_IO;
    size_t cap = 2 * 65536 + 16;
    char *line = malloc(cap);
    uint8_t *b = malloc(65536 + 16);
    int rc = CAMPAIGN_ERR_PARAM;
    if (line && b && fgets(line, (int)cap, f) && !strncmp(line, "cardvm-pse 1", 12)) {
        rc = CAMPAIGN_OK;
        while (fgets(line, (int)cap, f)) {
            line[strcspn(line, "\r\n")] = 0;
            if (!line[0]) continue;
            long n = hex_decode(line, b, 65536 + 16);
            if (n < 4 || apdu_list_add(pse, b, (size_t)n)) {
                rc = CAMPAIGN_ERR_PARAM;
                break;
            }
        }
    }
    free(line);
    free(b);
    fclose(f);
    return rc;
}

/* ---- HSM ---- */
/* One static key of a card: key id 1 ENC, 2 MAC, 3 DEK. */
static int derive_key(const uint8_t master[16], const uint8_t serial[8], const uint8_t div_data[10], uint8_t id,
                      uint8_t out[16])
{
    uint8_t label[6] = {'C', 'V', 'K', 'D', 0, id}, ctx[18];
    memcpy(ctx, serial, 8);
    memcpy(ctx + 8, div_data, 10);
    /* fixed input: label || 00 || key id, [i], context, no L (always 128 bits) */
    return scp03_kdf_counter_cmac(master, 16, label, sizeof label, ctx, sizeof ctx, out, 16) == SCP03_OK
               ? CAMPAIGN_OK
               : CAMPAIGN_ERR_CRYPTO;
}

int campaign_derive_keys(const uint8_t master[16], const uint8_t serial[8], const uint8_t div_data[10],
                         uint8_t enc[16], uint8_t mac[16], uint8_t dek[16])
{
    if (derive_key(master, serial, div_data, 1, enc) || derive_key(master, serial, div_data, 2, mac) ||
        derive_key(master, serial, div_data, 3, dek))
        return CAMPAIGN_ERR_CRYPTO;
    return CAMPAIGN_OK;
}

static uint8_t level_for(uint8_t i)
{
    if ((i & SCP03_I_RENC) && (i & SCP03_I_RMAC)) return 0x33;
    if (i & SCP03_I_RMAC) return 0x13;
    return 0x03;
}

int campaign_build_paut(const campaign *c, const uint8_t master[16], const campaign_card *card,
                        const uint8_t host_challenge[8], apdu_list *paut, scp03_host_session *hout)
{
    if (!c || !master || !card || !host_challenge || !paut) return CAMPAIGN_ERR_PARAM;
    /* P_AUT needs the card's ENC and MAC keys, not its DEK */
    uint8_t enc[16], mac[16];
    if (derive_key(master, card->serial, card->div_data, 1, enc) ||
        derive_key(master, card->serial, card->div_data, 2, mac)) {
        scp03_wipe(enc, 16);
        return CAMPAIGN_ERR_CRYPTO;
    }
    scp03_host_session hs, *h = hout ? hout : &hs;
    int rc = CAMPAIGN_ERR_CRYPTO;
    uint8_t a[600], w[700];
    size_t n, wn;
    if (scp03_host_init(h, enc, mac, 16, card->isd_aid, card->isd_aid_len) != SCP03_OK) goto done;
    if (scp03_host_initialize_update(h, card->kvn, host_challenge, a, sizeof a, &n) != SCP03_OK) goto done;
    if (apdu_list_add(paut, a, n)) goto done;
    rc = scp03_host_begin_offline(h, card->kvn, card->scp_i, card->counter + 1, host_challenge);
    if (rc != SCP03_OK) {
        rc = CAMPAIGN_ERR_PARAM;
        goto done;
    }
    rc = CAMPAIGN_ERR_CRYPTO;
    if (scp03_host_external_authenticate(h, level_for(card->scp_i), a, sizeof a, &n) != SCP03_OK) goto done;
    if (apdu_list_add(paut, a, n)) goto done;
    /* CHANGE MODE (to broadcast) */
    uint8_t d[BCM_KEYS + sizeof c->keys];
    d[BCM_PROFILE] = c->profile;
    memcpy(d + BCM_CAMPAIGN, c->id, 8);
    d[BCM_LEVEL] = BROADCAST_LEVEL;
    memcpy(d + BCM_COUNTER, c->counter, 16);
    memcpy(d + BCM_CHAIN, c->chain, 16);
    d[BCM_SIZE] = (uint8_t)(c->size >> 24);
    d[BCM_SIZE + 1] = (uint8_t)(c->size >> 16);
    d[BCM_SIZE + 2] = (uint8_t)(c->size >> 8);
    d[BCM_SIZE + 3] = (uint8_t)c->size;
    memcpy(d + BCM_KEYS, c->keys, c->keys_len);
    apdu_command cm = {.cla = 0x80, .ins = BROADCAST_INS_CHANGE_MODE, .p1 = BROADCAST_P1_TO_BROADCAST,
                       .data = d, .nc = (uint32_t)(BCM_KEYS + c->keys_len), .ne = 256};   /* Le: the R-MAC */
    n = apdu_encode(&cm, a, sizeof a);
    scp03_wipe(d, sizeof d);
    if (scp03_host_wrap(h, a, n, w, sizeof w, &wn) != SCP03_OK || apdu_list_add(paut, w, wn)) goto done;
    /* AUTHORIZE_ACTION: MAC of DATASEND || action, Le 00 for ST */
    memcpy(d, c->mac, 16);
    memcpy(d + 16, c->action, c->action_len);
    apdu_command ac = {.cla = 0x80, .ins = BROADCAST_INS_AUTHORIZE, .data = d, .nc = (uint32_t)(16 + c->action_len),
                       .ne = 256};
    n = apdu_encode(&ac, a, sizeof a);
    if (!n || scp03_host_wrap(h, a, n, w, sizeof w, &wn) != SCP03_OK || apdu_list_add(paut, w, wn)) goto done;
    rc = CAMPAIGN_OK;
done:
    scp03_wipe(enc, 16);
    scp03_wipe(mac, 16);
    scp03_wipe(a, sizeof a);
    if (!hout || rc) scp03_host_close(h);
    return rc;
}

/* ---- terminal ---- */
static int play(campaign_send_fn send, void *ctx, const uint8_t *const cmd[4], const size_t cn[4],
                const apdu_list *pse, uint8_t *rsp, size_t rsp_cap, uint8_t *st, size_t st_cap, size_t *st_len,
                uint32_t *reported, uint16_t *sw);

int campaign_play(campaign_send_fn send, void *ctx, const apdu_list *paut, const apdu_list *pse,
                  uint8_t *st, size_t st_cap, size_t *st_len, uint32_t *reported, uint16_t *sw)
{
    const uint8_t *cmd[4];
    size_t cn[4], pos = 0;
    *reported = 0;
    *sw = 0;
    *st_len = 0;
    for (int i = 0; i < 4; i++)
        if (!apdu_list_next(paut, &pos, &cmd[i], &cn[i])) return CAMPAIGN_ERR_PARAM;
    /* per call, not static: terminals run in parallel threads (campaign_runner.h) */
    uint8_t *rsp = malloc(65536 + 2);
    if (!rsp) return CAMPAIGN_ERR_PARAM;
    int rc = play(send, ctx, cmd, cn, pse, rsp, 65536 + 2, st, st_cap, st_len, reported, sw);
    free(rsp);
    return rc;
}

static int play(campaign_send_fn send, void *ctx, const uint8_t *const cmd[4], const size_t cn[4],
                const apdu_list *pse, uint8_t *rsp, size_t rsp_cap, uint8_t *st, size_t st_cap, size_t *st_len,
                uint32_t *reported, uint16_t *sw)
{
    size_t pos, rn;
    for (int i = 0; i < 3; i++) {
        if (send(ctx, cmd[i], cn[i], rsp, rsp_cap, &rn) || rn < 2) return CAMPAIGN_ERR_MUTE;
        *sw = (uint16_t)(rsp[rn - 2] << 8 | rsp[rn - 1]);
        if (i == 0 && *sw == 0x9000 && rn >= 34)
            *reported = (uint32_t)rsp[29] << 16 | (uint32_t)rsp[30] << 8 | rsp[31];
        if (*sw != 0x9000) return i == 1 && *sw == 0x6300 ? CAMPAIGN_ERR_STALE : CAMPAIGN_ERR_CARD;
    }
    pos = 0;
    const uint8_t *a;
    size_t n;
    while (apdu_list_next(pse, &pos, &a, &n)) {
        if (send(ctx, a, n, rsp, rsp_cap, &rn) || rn < 2) return CAMPAIGN_ERR_MUTE;
        *sw = (uint16_t)(rsp[rn - 2] << 8 | rsp[rn - 1]);
        if (*sw != 0x9000) return CAMPAIGN_ERR_CARD;
    }
    if (send(ctx, cmd[3], cn[3], rsp, rsp_cap, &rn) || rn < 2) return CAMPAIGN_ERR_MUTE;
    *sw = (uint16_t)(rsp[rn - 2] << 8 | rsp[rn - 1]);
    if (rn > st_cap) return CAMPAIGN_ERR_PARAM;
    memcpy(st, rsp, rn);
    *st_len = rn;
    return *sw == 0x9000 ? CAMPAIGN_OK : CAMPAIGN_ERR_CARD;
}

/* ---- server: ST ---- */
int campaign_check_st(const campaign *c, const campaign_card *card, scp03_host_session *h,
                      const uint8_t *rsp, size_t len, campaign_st *st)
{
    uint8_t d[300];
    size_t n = 0;
    uint16_t sw = 0;
    memset(st, 0, sizeof *st);
    if (scp03_host_unwrap(h, rsp, len, d, sizeof d, &n, &sw) != SCP03_OK || sw != 0x9000) return CAMPAIGN_ERR_ST;
    if (n < 2 || d[0] != 0xE3 || d[1] != n - 2) return CAMPAIGN_ERR_ST;
    unsigned have = 0;
    for (size_t p = 2; p + 2 <= n;) {
        uint8_t t = d[p], l = d[p + 1];
        const uint8_t *v = d + p + 2;
        if (p + 2 + l > n) return CAMPAIGN_ERR_ST;
        switch (t) {
        case 0x80: if (l == 1) st->action = v[0], have |= 1; break;
        case 0x4F: if (l <= 16) memcpy(st->aid, v, l), st->aid_len = l, have |= 2; break;
        case 0x81: if (l == 2) st->major = v[0], st->minor = v[1], have |= 4; break;
        case 0x82: if (l == 32) memcpy(st->hash, v, 32), have |= 8; break;
        case 0x83: if (l == 8) memcpy(st->serial, v, 8), have |= 16; break;
        case 0x84: if (l == 3) st->counter = (uint32_t)v[0] << 16 | (uint32_t)v[1] << 8 | v[2], have |= 32; break;
        case 0x85: if (l == 8) memcpy(st->campaign, v, 8), have |= 64; break;
        default: break;
        }
        p += 2 + l;
    }
    if (have != 127) return CAMPAIGN_ERR_ST;
    if (memcmp(st->campaign, c->id, 8) || memcmp(st->hash, c->hash, 32) || st->aid_len != c->aid_len ||
        memcmp(st->aid, c->aid, c->aid_len) || memcmp(st->serial, card->serial, 8) || st->counter != card->counter + 1)
        return CAMPAIGN_ERR_ST;
    return CAMPAIGN_OK;
}
