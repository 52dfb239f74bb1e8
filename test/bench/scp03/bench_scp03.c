/*
 * bench_scp03: throughput of the SCP03 module, next to what the same AES
 * work costs when libtomcrypt is called directly. Prints figures only; it
 * never passes or fails.
 *
 * One "round trip" at level 0x33 (C-MAC, C-DECRYPTION, R-MAC, R-ENC):
 *   host wraps a command with 255 data bytes (extended form, 256 encrypted
 *   + 8 MAC), the card unwraps it, the card wraps a 255-byte response, the
 *   host unwraps it.
 * The crypto in it: 4 ICV block encryptions, 4 CBC passes over 256 bytes
 * and 4 CMACs (2 over chain||header||256, 2 over chain||256||SW).
 *
 * Baselines, the same operations on the same bytes with libtomcrypt alone:
 *   raw-api   keys scheduled once where the API allows it: CBC states
 *             started once (cbc_setiv per message), ICV by ecb_encrypt on
 *             the scheduled key; CMAC by omac_init/process/done per MAC
 *             (the omac API has no restart without re-keying);
 *   raw-floor as raw-api, but each CMAC starts from a copy of an omac_state
 *             initialised once: no key expansion anywhere, only the block
 *             work. This is the figure the module is measured against.
 *
 *   aes-blk   the bare block cipher, as many blocks as the round trip
 *             needs, without CBC/CMAC mode code: a lower bound.
 *
 * Usage: bench_scp03 [seconds per measurement, default 0.3]
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <tomcrypt.h>

#include "scp03.h"

#define DATA 255
#define PADDED 256

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static volatile uint8_t sink;

/* ---------------- the module ---------------- */

static int commit_ok(void *ctx, uint8_t kvn, uint32_t v)
{
    (void)ctx;
    (void)kvn;
    (void)v;
    return 0;
}

typedef struct {
    scp03_keyset ks;
    scp03_card_config cfg;
    scp03_card_session card;
    scp03_host_session host;
    uint8_t plain[300], wrapped[400], unwrapped[400], rdata[300], rsp[400], back[400];
    size_t plain_len;
} bench_ctx;

static const uint8_t aid[] = { 0xA0, 0x00, 0x00, 0x05, 0x59, 0x10, 0x10, 0xFF,
                               0xFF, 0xFF, 0xFF, 0x89, 0x00, 0x00, 0x01, 0x00 };

static int open_session(bench_ctx *b, size_t key_len, uint8_t level)
{
    memset(b, 0, sizeof *b);
    b->ks.kvn = 0x30;
    b->ks.key_len = (uint8_t)key_len;
    for (size_t i = 0; i < key_len; i++) {
        b->ks.enc[i] = (uint8_t)i;
        b->ks.mac[i] = (uint8_t)(0x10 + i);
        b->ks.dek[i] = (uint8_t)(0x20 + i);
    }
    b->cfg.keysets = &b->ks;
    b->cfg.n_keysets = 1;
    b->cfg.aid = aid;
    b->cfg.aid_len = sizeof aid;
    b->cfg.i_param = 0x70;
    b->cfg.commit_counter = commit_ok;
    scp03_card_reset(&b->card);
    if (scp03_host_init(&b->host, b->ks.enc, b->ks.mac, key_len, aid, sizeof aid) != SCP03_OK) return -1;
    uint8_t hc[8] = { 1, 2, 3, 4, 5, 6, 7, 8 }, apdu[64], out[64];
    size_t n = 0, on = 0;
    uint16_t sw = 0;
    if (scp03_host_initialize_update(&b->host, 0x30, hc, apdu, sizeof apdu, &n) != SCP03_OK) return -2;
    if (scp03_card_command(&b->card, &b->cfg, apdu, n, out, sizeof out, &on, &sw) != SCP03_CARD_REPLY) return -3;
    if (scp03_host_check_initialize_update_response(&b->host, out, on) != SCP03_OK) return -4;
    if (scp03_host_external_authenticate(&b->host, level, apdu, sizeof apdu, &n) != SCP03_OK) return -5;
    if (scp03_card_command(&b->card, &b->cfg, apdu, n, out, sizeof out, &on, &sw) != SCP03_CARD_REPLY ||
        sw != 0x9000)
        return -6;
    /* 80 E8 00 00 00 00 FF <255 bytes> 00 00 : extended case 4 */
    size_t k = 0;
    b->plain[k++] = 0x80;
    b->plain[k++] = 0xE8;
    b->plain[k++] = 0x00;
    b->plain[k++] = 0x00;
    b->plain[k++] = 0x00;
    b->plain[k++] = 0x00;
    b->plain[k++] = DATA;
    for (int i = 0; i < DATA; i++) b->plain[k++] = (uint8_t)(i * 7);
    b->plain[k++] = 0x00;
    b->plain[k++] = 0x00;
    b->plain_len = k;
    for (int i = 0; i < DATA; i++) b->rdata[i] = (uint8_t)(i ^ 0xA5);
    return 0;
}

static int module_round_trip(bench_ctx *b)
{
    size_t wn = 0, un = 0, rn = 0, dn = 0;
    uint16_t sw = 0;
    if (scp03_host_wrap(&b->host, b->plain, b->plain_len, b->wrapped, sizeof b->wrapped, &wn) != SCP03_OK) return -1;
    if (scp03_card_command(&b->card, &b->cfg, b->wrapped, wn, b->unwrapped, sizeof b->unwrapped, &un, &sw) !=
        SCP03_CARD_PROCESS)
        return -2;
    if (scp03_card_wrap_response(&b->card, b->rdata, DATA, 0x9000, b->rsp, sizeof b->rsp, &rn) != SCP03_OK) return -3;
    if (scp03_host_unwrap(&b->host, b->rsp, rn, b->back, sizeof b->back, &dn, &sw) != SCP03_OK) return -4;
    sink ^= b->back[0];
    return (dn == DATA && sw == 0x9000) ? 0 : -5;
}

/* ---------------- raw libtomcrypt ---------------- */

typedef struct {
    int idx;
    symmetric_CBC enc_e, enc_d;        /* S-ENC, encrypt and decrypt directions */
    omac_state mac_tpl, rmac_tpl;      /* initialised once (raw-floor) */
    uint8_t s_mac[32], s_rmac[32];
    size_t kl;
    uint8_t chain[16], ctr[16];
    uint8_t cmd_mac_in[16 + 7 + PADDED];   /* chain || header || data */
    uint8_t rsp_mac_in[16 + PADDED + 2];   /* chain || data || SW */
    uint8_t buf[PADDED], buf2[PADDED];
} raw_ctx;

static int raw_init(raw_ctx *r, size_t kl)
{
    memset(r, 0, sizeof *r);
    r->idx = find_cipher("aes");
    if (r->idx < 0) r->idx = register_cipher(&aes_desc);
    uint8_t k[32], iv[16] = { 0 };
    for (size_t i = 0; i < kl; i++) {
        k[i] = (uint8_t)(i * 3);
        r->s_mac[i] = (uint8_t)(i * 5);
        r->s_rmac[i] = (uint8_t)(i * 11);
    }
    r->kl = kl;
    if (cbc_start(r->idx, iv, k, (int)kl, 0, &r->enc_e) != CRYPT_OK) return -1;
    if (cbc_start(r->idx, iv, k, (int)kl, 0, &r->enc_d) != CRYPT_OK) return -1;
    if (omac_init(&r->mac_tpl, r->idx, r->s_mac, (unsigned long)kl) != CRYPT_OK) return -1;
    if (omac_init(&r->rmac_tpl, r->idx, r->s_rmac, (unsigned long)kl) != CRYPT_OK) return -1;
    for (int i = 0; i < PADDED; i++) r->buf[i] = (uint8_t)i;
    return 0;
}

static void raw_cmac(raw_ctx *r, int floor, int rmac, const uint8_t *in, size_t len, uint8_t out[16])
{
    omac_state st;
    if (floor) {
        memcpy(&st, rmac ? &r->rmac_tpl : &r->mac_tpl, sizeof st);
    } else {
        omac_init(&st, r->idx, rmac ? r->s_rmac : r->s_mac, (unsigned long)r->kl);
    }
    omac_process(&st, in, (unsigned long)len);
    unsigned long ol = 16;
    omac_done(&st, out, &ol);
}

static void raw_cbc(raw_ctx *r, int decrypt, const uint8_t ctr[16], const uint8_t *in, uint8_t *out)
{
    symmetric_CBC *c = decrypt ? &r->enc_d : &r->enc_e;
    uint8_t icv[16];
    cipher_descriptor[r->idx].ecb_encrypt(ctr, icv, &c->key);
    cbc_setiv(icv, 16, c);
    if (decrypt) {
        cbc_decrypt(in, out, PADDED, c);
    } else {
        cbc_encrypt(in, out, PADDED, c);
    }
}

/* The crypto of one module round trip, nothing else. */
static void raw_round_trip(raw_ctx *r, int floor)
{
    uint8_t mac[16], rctr[16];
    r->ctr[15]++;
    /* host: encrypt, MAC */
    raw_cbc(r, 0, r->ctr, r->buf, r->cmd_mac_in + 23);
    memcpy(r->cmd_mac_in, r->chain, 16);
    raw_cmac(r, floor, 0, r->cmd_mac_in, sizeof r->cmd_mac_in, mac);
    /* card: MAC, decrypt */
    raw_cmac(r, floor, 0, r->cmd_mac_in, sizeof r->cmd_mac_in, r->chain);
    raw_cbc(r, 1, r->ctr, r->cmd_mac_in + 23, r->buf2);
    /* card: encrypt response, R-MAC */
    memcpy(rctr, r->ctr, 16);
    rctr[0] = 0x80;
    raw_cbc(r, 0, rctr, r->buf2, r->rsp_mac_in + 16);
    memcpy(r->rsp_mac_in, r->chain, 16);
    raw_cmac(r, floor, 1, r->rsp_mac_in, sizeof r->rsp_mac_in, mac);
    /* host: R-MAC, decrypt */
    raw_cmac(r, floor, 1, r->rsp_mac_in, sizeof r->rsp_mac_in, mac);
    raw_cbc(r, 1, rctr, r->rsp_mac_in + 16, r->buf2);
    sink ^= mac[0] ^ r->buf2[0];
}

/* ---------------- measurement ---------------- */

typedef int (*step_fn)(void *);

/* Iterations that take about `secs`. */
static unsigned calibrate(step_fn fn, void *arg, double secs)
{
    unsigned n = 64;
    for (;;) {
        double t0 = now();
        for (unsigned i = 0; i < n; i++) fn(arg);
        double dt = now() - t0;
        if (dt > secs / 10 || n > (1u << 28)) {
            n = (unsigned)((double)n * secs / (dt > 0 ? dt : 1e-6));
            return n < 16 ? 16 : n;
        }
        n *= 2;
    }
}

static double run_once(step_fn fn, void *arg, unsigned n)
{
    double t0 = now();
    for (unsigned i = 0; i < n; i++) {
        if (fn(arg) != 0) {
            fprintf(stderr, "bench_scp03: round trip failed\n");
            return 0;
        }
    }
    return n / (now() - t0);
}

/* Best rate of several runs; the contenders are run in turns so that a
 * burst of load on the machine does not favour one of them. */
#define MAXC 4
static void measure_many(int nc, step_fn *fns, void **args, double secs, double *best)
{
    unsigned n[MAXC];
    for (int c = 0; c < nc; c++) {
        n[c] = calibrate(fns[c], args[c], secs);
        best[c] = 0;
    }
    for (int rep = 0; rep < 7; rep++) {
        for (int c = 0; c < nc; c++) {
            double r = run_once(fns[c], args[c], n[c]);
            if (r > best[c]) best[c] = r;
        }
    }
}

static double measure(step_fn fn, void *arg, double secs)
{
    double best;
    measure_many(1, &fn, &arg, secs, &best);
    return best;
}

/* The bare block cipher: as many AES block operations as one round trip
 * needs (4 ICV + 4 x 16 CBC + 2 x 18 + 2 x 18 CMAC = 140), nothing else. */
#define RT_BLOCKS (4 + 4 * (PADDED / 16) + 2 * ((16 + 7 + PADDED + 15) / 16) + 2 * ((16 + PADDED + 2 + 15) / 16))
static int step_blocks(void *p)
{
    raw_ctx *r = p;
    uint8_t blk[16];
    memcpy(blk, r->buf, 16);
    for (int i = 0; i < RT_BLOCKS; i++) {
        cipher_descriptor[r->idx].ecb_encrypt(blk, blk, &r->enc_e.key);
    }
    sink ^= blk[0];
    return 0;
}

static int step_module(void *p) { return module_round_trip(p); }
static int step_raw_api(void *p) { raw_round_trip(p, 0); return 0; }
static int step_raw_floor(void *p) { raw_round_trip(p, 1); return 0; }

typedef struct {
    bench_ctx b;
    size_t kl;
} setup_ctx;

static int step_session(void *p)
{
    setup_ctx *s = p;
    return open_session(&s->b, s->kl, 0x33);
}

int main(int argc, char **argv)
{
    double secs = argc > 1 ? atof(argv[1]) : 0.3;
    if (secs <= 0) secs = 0.3;
    if (scp03_crypto_init() != SCP03_OK) {
        fprintf(stderr, "bench_scp03: AES not available\n");
        return 0;
    }
    static bench_ctx b;
    static raw_ctx r;
    static setup_ctx sc;
    printf("SCP03 round trip at level 33: 255-byte command and 255-byte response,\n"
           "host wrap + card unwrap + card wrap + host unwrap (4 CBC x 256 B, 4 CMAC, 4 ICV)\n\n");
    printf("%-8s %11s %11s %11s %11s %9s %9s %9s\n", "AES", "module/s", "raw-floor/s", "raw-api/s",
           "aes-blk/s", "vs floor", "vs api", "vs blk");
    for (size_t kl = 16; kl <= 32; kl += 8) {
        if (open_session(&b, kl, 0x33) != 0 || raw_init(&r, kl) != 0) {
            fprintf(stderr, "bench_scp03: set-up failed\n");
            return 0;
        }
        step_fn fns[4] = { step_module, step_raw_floor, step_raw_api, step_blocks };
        void *args[4] = { &b, &r, &r, &r };
        double v[4];
        measure_many(4, fns, args, secs, v);
        printf("AES-%-4zu %11.0f %11.0f %11.0f %11.0f %9.3f %9.3f %9.3f\n", kl * 8, v[0], v[1], v[2], v[3],
               v[1] > 0 ? v[0] / v[1] : 0, v[2] > 0 ? v[0] / v[2] : 0, v[3] > 0 ? v[0] / v[3] : 0);
        printf("         module: %.2f us per round trip, %.1f MB/s of APDU data each way\n", 1e6 / v[0],
               v[0] * DATA / 1e6);
    }
    printf("\nvs = module rate / baseline rate (goal >= 0.85 against raw-floor);\n"
           "aes-blk is the bare block cipher for the same %d blocks, a lower bound no mode code reaches\n\n",
           RT_BLOCKS);

    /* other figures: lighter levels and session set-up */
    printf("%-28s %14s\n", "AES-128, other work", "per second");
    static const uint8_t levels[] = { 0x01, 0x03, 0x13 };
    for (size_t i = 0; i < sizeof levels; i++) {
        if (open_session(&b, 16, levels[i]) != 0) return 0;
        char label[40];
        snprintf(label, sizeof label, "round trip, level %02X", levels[i]);
        printf("%-28s %14.0f\n", label, measure(step_module, &b, secs));
    }
    sc.kl = 16;
    printf("%-28s %14.0f\n", "open session (IU + EA)", measure(step_session, &sc, secs));
    return 0;
}
