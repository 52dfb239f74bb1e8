/*
 * bench_broadcast.c — seed 004: what the broadcast update saves the server.
 *
 *  1. Server-side work per card for a 64 KiB DATASEND over 10 000 cards:
 *     broadcast = P_AUT only (key diversification, INITIALIZE UPDATE,
 *     EXTERNAL AUTHENTICATE, CHANGE MODE with BK, AUTHORIZE_ACTION);
 *     diversified = the same session plus a per-card SCP03-encrypted copy of
 *     DATASEND (C-MAC + C-DECRYPTION, 224-byte blocks). Prints both and the
 *     ratio.
 *  2. Cards updated per second end to end in one process (make N cards, then
 *     for each: open the image, play P_AUT + P_SE + AUTHORIZE_ACTION, verify
 *     ST, close), for N = 1000 durable and in lab mode, and 10000 in lab
 *     mode (argv overrides: bench_broadcast N... runs both modes).
 *
 * Built, never run as a test. Card images go to $TMPDIR (default /tmp) and are
 * removed afterwards (about 400 KB each).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "apdu.h"
#include "broadcast.h"
#include "campaign_cards.h"
#include "campaign_core.h"
#include "card.h"
#include "packages.h"

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static const uint8_t master[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
static const uint8_t kos[16] = {0x4B, 0x4F, 0x53, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
static const uint8_t kmac[16] = {0x4B, 0x4D, 0x41, 0x43, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};

static void server_side(void)
{
    enum { CARDS = 10000, SIZE = 65536, CHUNK = 224 };
    uint8_t *ds = malloc(SIZE);
    for (size_t i = 0; i < SIZE; i++) ds[i] = (uint8_t)(i * 7 + 3);
    /* A campaign record as the design system hands it over (FIG.3). */
    campaign c;
    memset(&c, 0, sizeof c);
    c.profile = 3;
    memset(c.id, 0x11, 8);
    memset(c.counter, 0x22, 8);
    memset(c.chain, 0x33, 16);
    c.size = SIZE;
    uint8_t bk[16] = {0xB0};
    size_t a = 0, b = 0;
    scp03_key_block_encrypt(kos, 16, bk, 16, c.keys, sizeof c.keys, &a);
    scp03_key_block_encrypt(kos, 16, bk, 16, c.keys + a, sizeof c.keys - a, &b);
    c.keys_len = a + b;
    scp03_cmac(bk, 16, ds, SIZE, c.mac);
    c.action[0] = BROADCAST_ACT_VECTOR;
    c.action_len = 4;

    static const uint8_t hc[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    size_t paut_bytes = 0;
    double t0 = now();
    for (uint32_t i = 0; i < CARDS; i++) {
        campaign_card id;
        campaign_card_default(i + 1, &id);
        id.counter = i % 1000;
        apdu_list p = {0};
        if (campaign_build_paut(&c, master, &id, hc, &p, NULL)) abort();
        paut_bytes = p.len;
        apdu_list_free(&p);
    }
    double tb = (now() - t0) / CARDS;

    size_t div_bytes = 0;
    t0 = now();
    uint8_t plain[CHUNK + 16], w[CHUNK + 64], iu[32], ea[32];
    for (uint32_t i = 0; i < CARDS; i++) {
        campaign_card id;
        campaign_card_default(i + 1, &id);
        id.counter = i % 1000;
        uint8_t enc[16], mac[16], dek[16];
        size_t n, wn;
        scp03_host_session h;
        if (campaign_derive_keys(master, id.serial, id.div_data, enc, mac, dek) ||
            scp03_host_init(&h, enc, mac, 16, id.isd_aid, id.isd_aid_len) ||
            scp03_host_initialize_update(&h, id.kvn, hc, iu, sizeof iu, &n) ||
            scp03_host_begin_offline(&h, id.kvn, id.scp_i, id.counter + 1, hc) ||
            scp03_host_external_authenticate(&h, 0x33, ea, sizeof ea, &n))
            abort();
        div_bytes = 0;
        for (size_t off = 0, blk = 0; off < SIZE; off += CHUNK, blk++) {
            size_t take = SIZE - off < CHUNK ? SIZE - off : CHUNK;
            apdu_command cm = {.cla = 0x80, .ins = 0xE8, .p1 = (uint8_t)(blk >> 8), .p2 = (uint8_t)blk,
                               .data = ds + off, .nc = (uint32_t)take};
            n = apdu_encode(&cm, plain, sizeof plain);
            if (scp03_host_wrap(&h, plain, n, w, sizeof w, &wn)) abort();
            div_bytes += wn;
        }
        scp03_host_close(&h);
    }
    double td = (now() - t0) / CARDS;
    printf("server-side work per card, DATASEND 64 KiB, %d cards:\n", CARDS);
    printf("  broadcast   (P_AUT only, %zu bytes/card): %8.2f us/card\n", paut_bytes, tb * 1e6);
    printf("  diversified (SCP03 copy, %zu bytes/card): %8.2f us/card\n", div_bytes, td * 1e6);
    printf("  ratio diversified/broadcast: %.0fx (goal >= 50x)\n", td / tb);
    free(ds);
}

static int send_card(void *ctx, const uint8_t *cmd, size_t n, uint8_t *rsp, size_t cap, size_t *rlen)
{
    return card_transmit(ctx, cmd, n, rsp, cap, rlen);
}

static void end_to_end(unsigned cards, enum chip_durability durability)
{
    const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    char dir[512], path[600];
    snprintf(dir, sizeof dir, "%s/cardvm-bench-bc-XXXXXX", tmp);
    if (!mkdtemp(dir)) abort();
    snprintf(path, sizeof path, "%s/issuer.img", dir);
    campaign_factory f;
    if (campaign_factory_init(&f, path, NULL, master, kos, kmac)) abort();
    f.fast = 1;
    double t0 = now();
    for (unsigned i = 0; i < cards; i++) {
        campaign_card id;
        campaign_card_default(i + 1, &id);
        snprintf(path, sizeof path, "%s/c%05u.img", dir, i);
        if (campaign_factory_make(&f, path, &id)) abort();
    }
    double tmake = now() - t0;
    campaign c;
    apdu_list pse = {0};
    campaign_action act = {.flags = BROADCAST_ACT_VECTOR};
    if (campaign_design(example_os_update_package, example_os_update_package_len, 3, kos, NULL, &act, 224, &c, &pse))
        abort();
    static const uint8_t hc[8] = {8, 7, 6, 5, 4, 3, 2, 1};
    unsigned ok = 0;
    t0 = now();
    for (unsigned i = 0; i < cards; i++) {
        campaign_card id;
        campaign_card_default(i + 1, &id);
        snprintf(path, sizeof path, "%s/c%05u.img", dir, i);
        apdu_list p = {0};
        scp03_host_session h;
        if (campaign_build_paut(&c, master, &id, hc, &p, &h)) abort();
        card *cd;
        char err[256];
        if (card_open(path, &cd, err, sizeof err)) abort();
        chip_set_durability(card_chip(cd), durability);
        card_power(cd, CARD_COLD, NULL, NULL);
        uint8_t st[600];
        size_t stn;
        uint32_t rep;
        uint16_t sw;
        campaign_st s;
        if (campaign_play(send_card, cd, &p, &pse, st, sizeof st, &stn, &rep, &sw) == CAMPAIGN_OK &&
            campaign_check_st(&c, &id, &h, st, stn, &s) == CAMPAIGN_OK)
            ok++;
        card_close(cd);
        scp03_host_close(&h);
        apdu_list_free(&p);
        remove(path);
    }
    double tup = now() - t0;
    printf("end to end, %u cards, %s: made in %.1f s (%.0f cards/s); updated %u in %.2f s: %.0f cards/s\n", cards,
           durability == CHIP_DURABLE_LAB ? "lab mode" : "durable", tmake, cards / tmake, ok, tup, ok / tup);
    snprintf(path, sizeof path, "%s/issuer.img", dir);
    remove(path);
    rmdir(dir);
    apdu_list_free(&pse);
}

int main(int argc, char **argv)
{
    server_side();
    /* Each card: durable (one fdatasync per writing APDU), then lab mode (the
     * card in memory, saved once when closed). */
    if (argc > 1) {
        for (int i = 1; i < argc; i++) {
            end_to_end((unsigned)strtoul(argv[i], NULL, 10), CHIP_DURABLE_FULL);
            end_to_end((unsigned)strtoul(argv[i], NULL, 10), CHIP_DURABLE_LAB);
        }
    } else {
        end_to_end(1000, CHIP_DURABLE_FULL);
        end_to_end(1000, CHIP_DURABLE_LAB);
        end_to_end(10000, CHIP_DURABLE_LAB);
    }
    return 0;
}
