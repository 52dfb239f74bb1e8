/*
 * bench_image.c — what a writing APDU costs, against the floor of the disk
 * (prints figures; not a test):
 *
 *   floor   64 bytes written in place in a preallocated file + fsync,
 *           measured here, on the same file system as the cards;
 *   INITIALIZE UPDATE (it commits the SCP03 sequence counter) on USER-mode
 *           cards of NVM 128 KiB, 2 MiB and 32 MiB, full durability and lab
 *           mode, as min / median / max ratios to the floor's median.
 *
 * usage: bench_image [DIR] [SAMPLES]   (DIR default: the current directory)
 */
#define _DEFAULT_SOURCE 1
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "apdu.h"
#include "card.h"
#include "lifecycle.h"

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

typedef struct figures {
    double min, median, max;
} figures;

static figures summarize(double *t, int n)
{
    qsort(t, (size_t)n, sizeof *t, cmp_double);
    figures f = {t[0], t[n / 2], t[n - 1]};
    return f;
}

/* The floor file: 64 KiB written and synced once, then 64-byte rewrites. */
static int floor_open(const char *dir, char *path, size_t cap)
{
    snprintf(path, cap, "%s/bench-floor.bin", dir);
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (fd < 0) exit(1);
    static uint8_t block[65536];
    if (write(fd, block, sizeof block) != (ssize_t)sizeof block || fsync(fd)) exit(1);
    return fd;
}

static double floor_sample(int fd, int i)
{
    uint8_t b[64];
    memset(b, i, sizeof b);
    double t0 = now_us();
    if (pwrite(fd, b, sizeof b, 4096 + 64 * (i % 16)) != (ssize_t)sizeof b || fsync(fd)) exit(1);
    return now_us() - t0;
}

/* A USER-mode card through its real lifecycle, NVM of the given size. */
static int make_card(const char *path, uint32_t nvm_size)
{
    lifecycle_params lp;
    lifecycle_defaults(&lp);
    loader_mask_params mp;
    lifecycle_mask_defaults(&mp);
    mp.geometry.nvm_size = nvm_size;
    uint8_t *sealed;
    size_t sealed_len;
    if (loader_seal(example_custom_package, example_custom_package_len, lp.unlock_key, NULL, &sealed, &sealed_len,
                    lp.hash_code))
        return -1;
    mp.sealed = sealed;
    mp.sealed_len = sealed_len;
    char err[256];
    transport *t;
    unlink(path);
    int rc = loader_mask(path, &mp, err, sizeof err) || transport_open_image(path, &t, err, sizeof err);
    if (!rc) {
        rc = lifecycle_mount(t, &lp, NULL) || lifecycle_customize(t, &lp, NULL);
        transport_close(t);
    }
    free(sealed);
    if (rc) fprintf(stderr, "bench_image: %s\n", err);
    return rc ? -1 : 0;
}

/* Samples alternate with floor samples, so that both see the same disk
 * weather (this machine's disk is shared and noisy). */
static figures init_update_cost(const char *path, enum chip_durability d, int n, int floor_fd, figures *fl)
{
    card *c;
    char err[256];
    if (card_open(path, &c, err, sizeof err)) {
        fprintf(stderr, "%s\n", err);
        exit(1);
    }
    chip_set_durability(card_chip(c), d);
    if (card_power(c, CARD_COLD, NULL, NULL)) exit(1);
    static const uint8_t select[] = {0x00, 0xA4, 0x04, 0x00, 0x08, 0xA0, 0x00, 0x00, 0x01, 0x51, 0x00, 0x00, 0x00};
    static const uint8_t init[] = {0x80, 0x50, 0x30, 0x00, 0x08, 1, 2, 3, 4, 5, 6, 7, 8};
    uint8_t rsp[300];
    size_t rl;
    card_transmit(c, select, sizeof select, rsp, sizeof rsp, &rl);
    double *t = malloc(sizeof *t * (size_t)n), *tf = malloc(sizeof *tf * (size_t)n);
    for (int i = 0; i < n; i++) {
        tf[i] = floor_sample(floor_fd, i);
        double t0 = now_us();
        if (card_transmit(c, init, sizeof init, rsp, sizeof rsp, &rl) || rl != 2 || rsp[0] != 0x61) {
            fprintf(stderr, "INITIALIZE UPDATE: %02X%02X\n", rsp[rl - 2], rsp[rl - 1]);
            exit(1);
        }
        t[i] = now_us() - t0;
    }
    double t0 = now_us();
    card_close(c);   /* lab mode: the save at exit */
    double close_us = now_us() - t0;
    figures f = summarize(t, n);
    *fl = summarize(tf, n);
    free(t);
    free(tf);
    if (d == CHIP_DURABLE_LAB) printf("      (lab mode: card_close, i.e. the save plus wiping the card's memory: %.0f us)\n", close_us);
    return f;
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : ".";
    int n = argc > 2 ? atoi(argv[2]) : 400;
    if (n < 10) n = 10;
    char floor_path[512];
    int floor_fd = floor_open(dir, floor_path, sizeof floor_path);
    printf("cardvm image benchmark, %d samples each, in %s\n", n, dir);
    printf("INITIALIZE UPDATE (commits the sequence counter) against the floor (64 bytes written in place +\n"
           "fsync), sampled alternately; ratios to the floor's median of the same run:\n");
    printf("  %-8s %-5s %8s %8s %8s | %9s %9s | %9s %9s %9s\n", "NVM", "mode", "min", "median", "max",
           "APDU us", "floor us", "floor min", "floor max", "");
    static const uint32_t sizes[] = {128u * 1024u, 2u * 1024u * 1024u, 32u * 1024u * 1024u};
    static const char *names[] = {"128 KiB", "2 MiB", "32 MiB"};
    char path[512];
    snprintf(path, sizeof path, "%s/bench-image.img", dir);
    for (int s = 0; s < 3; s++) {
        double t0 = now_us();
        if (make_card(path, sizes[s])) return 1;
        printf("  (%s card made through its lifecycle in %.0f ms)\n", names[s], (now_us() - t0) / 1000);
        for (int m = 0; m < 2; m++) {
            enum chip_durability d = m ? CHIP_DURABLE_LAB : CHIP_DURABLE_FULL;
            figures fl;
            figures f = init_update_cost(path, d, n, floor_fd, &fl);
            printf("  %-8s %-5s %7.2fx %7.2fx %7.2fx | %9.1f %9.1f | %9.1f %9.1f\n", names[s], m ? "lab" : "full",
                   f.min / fl.median, f.median / fl.median, f.max / fl.median, f.median, fl.median, fl.min, fl.max);
        }
    }
    close(floor_fd);
    unlink(floor_path);
    unlink(path);
    return 0;
}
