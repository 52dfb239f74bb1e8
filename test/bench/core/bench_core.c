/*
 * bench_core.c — foundation figures, printed, never judged:
 *   APDUs per second through card_transmit() for SELECT and a 255-byte echo;
 *   the cost of one committed page write (fsync on, fsync off, memory only).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "apdu.h"
#include "atr.h"
#include "card.h"
#include "lifecycle.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static card *make_card(const char *path)
{
    chip_geometry g;
    chip_geometry_default(&g);
    chip *ch;
    if (path) unlink(path);
    if (chip_create(&g, path, &ch)) exit(1);
    uint8_t atr[33];
    rom_identity_write(ch, atr, atr_default(atr));
    chip_end_masking(ch);
    if (chip_commit(ch)) exit(1);
    card *c;
    if (card_from_chip(ch, &c)) exit(1);
    card_power(c, CARD_COLD, NULL, NULL);
    return c;
}

static void rate(card *c, const char *name, const uint8_t *cmd, size_t len)
{
    uint8_t *rsp = malloc(CARD_MAX_RESPONSE);
    size_t rlen;
    long n = 0;
    double t0 = now(), t;
    do {
        for (int i = 0; i < 1000; i++) card_transmit(c, cmd, len, rsp, CARD_MAX_RESPONSE, &rlen);
        n += 1000;
        t = now() - t0;
    } while (t < 1.0);
    printf("%-28s %10.0f APDU/s  %8.2f us/APDU  (SW %02X%02X, %zu bytes)\n", name, n / t,
           t / n * 1e6, rsp[rlen - 2], rsp[rlen - 1], rlen);
    free(rsp);
}

static void page_write_cost(const char *label, const char *path, enum chip_sync sync)
{
    card *c = make_card(path);
    chip *ch = card_chip(c);
    chip_set_sync(ch, sync);
    uint32_t off;
    chip_nvm_alloc(ch, 1, 1, 64, &off);
    chip_commit(ch);
    long n = 0;
    double t0 = now(), t;
    do {
        uint8_t v = (uint8_t)n;
        chip_nvm_write(ch, off, &v, 1);
        chip_commit(ch);
        n++;
        t = now() - t0;
    } while (t < 1.0 && n < 200000);
    printf("%-28s %10.0f /s     %8.2f us each\n", label, n / t, t / n * 1e6);
    card_close(c);
    if (path) unlink(path);
}

int main(void)
{
    char path[] = "/tmp/cardvm-bench-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0) return 1;
    close(fd);
    card *c = make_card(path);
    static const uint8_t select[] = {0x00, 0xA4, 0x04, 0x00, 0x08, 0xA0, 0x00, 0x00, 0x01, 0x51, 0x00, 0x00, 0x00, 0x00};
    uint8_t echo[5 + 255 + 1] = {0x80, 0xEE, 0x00, 0x00, 0xFF};
    for (int i = 0; i < 255; i++) echo[5 + i] = (uint8_t)i;
    echo[260] = 0x00;
    printf("cardvm foundation benchmark (in process, card_transmit)\n");
    rate(c, "SELECT", select, sizeof select);
    rate(c, "ECHO 255 bytes", echo, sizeof echo);
    card_close(c);

    /* The same path on a USER-mode card: the LOADER as security domain,
     * every command through the SCP03 layer, an applet through the VM. */
    lifecycle_params lp;
    lifecycle_defaults(&lp);
    uint8_t *sealed, hash[32];
    size_t sealed_len;
    loader_mask_params mp;
    lifecycle_mask_defaults(&mp);
    if (loader_seal(example_custom_package, example_custom_package_len, lp.unlock_key, NULL, &sealed,
                    &sealed_len, lp.hash_code))
        return 1;
    (void)hash;
    mp.sealed = sealed;
    mp.sealed_len = sealed_len;
    char err[256];
    transport *t;
    if (loader_mask(path, &mp, err, sizeof err) || transport_open_image(path, &t, err, sizeof err) ||
        lifecycle_mount(t, &lp, NULL) || lifecycle_customize(t, &lp, NULL))
        return 1;
    transport_close(t);
    free(sealed);
    if (card_open(path, &c, err, sizeof err)) return 1;
    card_power(c, CARD_COLD, NULL, NULL);
    static const uint8_t vec[] = {0x80, 0xF0, 0x00, 0x00, 0x00};
    static const uint8_t gd[] = {0x80, 0xCA, 0x00, 0x66, 0x00};
    printf("USER-mode card (LOADER security domain, SCP03 layer, VM)\n");
    rate(c, "SELECT security domain", select, sizeof select);
    rate(c, "GET DATA 66", gd, sizeof gd);
    rate(c, "vectored 80F0 (bytecode)", vec, sizeof vec);
    card_close(c);
    printf("committed page write (one page + commit of a %u KiB image)\n", (256 + 128) );
    page_write_cost("  fsync on (default)", path, CHIP_SYNC_FULL);
    page_write_cost("  fsync off", path, CHIP_SYNC_OFF);
    page_write_cost("  memory only (no file)", NULL, CHIP_SYNC_OFF);
    unlink(path);
    return 0;
}
