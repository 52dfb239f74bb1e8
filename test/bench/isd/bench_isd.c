/*
 * bench_isd.c — load throughput of a 32 KiB CAP package through SCP03 at
 * security level 33 (INSTALL [for load] with the load file data block hash,
 * LOAD blocks of 239 bytes, each C-MAC'd, encrypted, R-MAC'd), next to the
 * raw cost of the same work without the card around it:
 *   crypto  AES-CBC + AES-CMAC over the same blocks on both ends (host wrap,
 *           card unwrap, response R-MAC), and the SHA-256 passes (host hash,
 *           card hash check; a CAP load file has no trailer of its own)
 *   NVM     the same bytes written into an NVM heap block of a copy of the
 *           card, one commit per block, then the package copy and a commit
 * and the ratio. Both sync modes of the image file (fsync per commit, the
 * default, and none).
 *
 * usage: bench_isd [CARDVM] [ROUNDS]   (CARDVM: default, next to this program)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <tomcrypt.h>

#include "card.h"
#include "gp_host.h"
#include "jca.h"

#define TARGET 32768u
#define BLOCK 239u

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* A CAP library (JCA, assembled by tools/jca) of 32 static methods of nops:
 * the load file is the components the card receives. */
static uint8_t *assemble(unsigned extra, size_t *len)
{
    size_t cap = 1u << 20, n = 0;
    char *src = malloc(cap);
    if (!src) exit(1);
    n += (size_t)snprintf(src + n, cap - n,
                          ".package bench/big {\n .aid 0xA0:0x0:0x0:0x0:0x62:0x99:0x90;\n .version 1.0;\n"
                          " .imports {\n  0xA0:0x0:0x0:0x0:0x62:0x0:0x1 1.0;\n }\n"
                          " .class public Big 0 extends 0.0 {\n"
                          "  .publicMethodTable 1 {\n   equals(Ljava/lang/Object;)Z;\n  }\n"
                          "  .packageMethodTable 0 {\n  }\n");
    for (int m = 0; m < 32; m++) {
        n += (size_t)snprintf(src + n, cap - n, "  .method public static m%d()V %d {\n   .stack 0;\n   .locals 0;\n   L0:",
                              m, m);
        unsigned nops = 990 + (m == 31 ? extra : 0);
        for (unsigned i = 0; i < nops; i++) n += (size_t)snprintf(src + n, cap - n, " nop;\n");
        n += (size_t)snprintf(src + n, cap - n, "   return;\n  }\n");
    }
    n += (size_t)snprintf(src + n, cap - n, " }\n}\n");
    jca_options opt = {0, 0};
    jca_cap jc;
    char err[512];
    uint8_t *out = NULL;
    if (jca_assemble(src, n, "big.jca", &opt, &jc, err, sizeof err) || jca_load_file(&jc, &out, len)) {
        fprintf(stderr, "bench_isd: %s\n", err);
        exit(1);
    }
    jca_cap_free(&jc);
    free(src);
    return out;
}

/* The 32 KiB package: as many nops as it takes. */
static uint8_t *big_package(size_t *len)
{
    uint8_t *b = assemble(0, len);
    if (*len > TARGET) return b;
    unsigned extra = (unsigned)(TARGET - *len);
    free(b);
    return assemble(extra, len);
}

static double best(const double *v, int n)
{
    double b = v[0];
    for (int i = 1; i < n; i++)
        if (v[i] < b) b = v[i];
    return b;
}

/* The crypto of the load without the card: per block, host C-MAC + CBC
 * encrypt, card C-MAC + CBC decrypt, and a 16-byte R-MAC each side; two
 * SHA-256 passes over the package. */
static double raw_crypto(const uint8_t *lf, size_t total, const uint8_t *pkg, size_t plen)
{
    static const uint8_t key[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
    static const uint8_t iv[16];
    int aes = find_cipher("aes");
    symmetric_CBC cbc;
    uint8_t buf[512], mac[16];
    unsigned long ml;
    hash_state hs;
    double t0 = now();
    for (size_t off = 0; off < total; off += BLOCK) {
        size_t m = total - off < BLOCK ? total - off : BLOCK;
        size_t padded = (m / 16 + 1) * 16;
        memcpy(buf + 21, lf + off, m);
        buf[21 + m] = 0x80;
        memset(buf + 22 + m, 0, padded - m - 1);
        for (int side = 0; side < 2; side++) {
            cbc_start(aes, iv, key, 16, 0, &cbc);
            if (side == 0) cbc_encrypt(buf + 21, buf + 21, padded, &cbc);
            else cbc_decrypt(buf + 21, buf + 21, padded, &cbc);
            cbc_done(&cbc);
            ml = 16;
            omac_memory(aes, key, 16, buf, 21 + padded, mac, &ml);        /* C-MAC: chain || header || data */
            ml = 16;
            omac_memory(aes, key, 16, buf, 16 + 3, mac, &ml);             /* R-MAC: chain || data || SW */
        }
    }
    uint8_t h[32];
    for (int i = 0; i < 2; i++) {
        sha256_init(&hs);
        sha256_process(&hs, pkg, (unsigned long)plen);
        sha256_done(&hs, h);
    }
    return now() - t0;
}

/* The NVM writes of the load without the card: the blocks into a staging
 * block with a commit each, then the package copy and a commit. */
static double raw_nvm(const char *image, const uint8_t *lf, size_t total, const uint8_t *pkg, size_t plen,
                      enum chip_sync mode)
{
    chip *c;
    char err[256];
    if (chip_open(image, &c, err, sizeof err)) {
        fprintf(stderr, "bench_isd: %s\n", err);
        exit(1);
    }
    chip_set_sync(c, mode);
    chip_power_on(c);
    uint32_t a, b;
    double t0 = now();
    if (chip_nvm_alloc(c, 0x7E01, 1, (uint32_t)total + 12, &a)) { fprintf(stderr, "alloc\n"); exit(1); }
    for (size_t off = 0; off < total; off += BLOCK) {
        size_t m = total - off < BLOCK ? total - off : BLOCK;
        chip_nvm_write(c, a + 12 + (uint32_t)off, lf + off, m);
        chip_nvm_write(c, a + 4, &off, 4);   /* the received count */
        chip_commit(c);
    }
    if (chip_nvm_alloc(c, 0x7E02, 1, (uint32_t)plen, &b)) { fprintf(stderr, "alloc\n"); exit(1); }
    chip_nvm_write(c, b, pkg, plen);
    chip_nvm_free(c, a);
    chip_commit(c);
    double t = now() - t0;
    chip_close(c);   /* the image is a scratch copy */
    return t;
}

static void copy_file(const char *from, const char *to)
{
    FILE *a = fopen(from, "rb"), *b = fopen(to, "wb");
    static char buf[65536];
    size_t n;
    if (!a || !b) { fprintf(stderr, "bench_isd: cannot copy %s\n", from); exit(1); }
    while ((n = fread(buf, 1, sizeof buf, a)) > 0) fwrite(buf, 1, n, b);
    fclose(a);
    fclose(b);
}

int main(int argc, char **argv)
{
    char cardvm[1024];
    if (argc > 1) {
        snprintf(cardvm, sizeof cardvm, "%s", argv[1]);
    } else {
        snprintf(cardvm, sizeof cardvm, "%s", argv[0]);
        char *s = strrchr(cardvm, '/');
        snprintf(s ? s + 1 : cardvm, sizeof cardvm - (size_t)(s ? s + 1 - cardvm : 0), "cardvm");
    }
    int rounds = argc > 2 ? atoi(argv[2]) : 5;
    if (rounds < 1 || rounds > 100) rounds = 5;
    scp03_crypto_init();
    register_hash(&sha256_desc);

    size_t plen;
    uint8_t *pkg = big_package(&plen);
    char dir[] = "/tmp/cardvm-bench-isd-XXXXXX";
    if (!mkdtemp(dir)) return 1;
    char tmpl[256], img[256], scratch[256], cmd[2048];
    snprintf(tmpl, sizeof tmpl, "%s/template.img", dir);
    snprintf(img, sizeof img, "%s/card.img", dir);
    snprintf(scratch, sizeof scratch, "%s/raw.img", dir);
    snprintf(cmd, sizeof cmd, "'%s' create '%s' --quiet", cardvm, tmpl);
    if (system(cmd) != 0) { fprintf(stderr, "bench_isd: %s failed\n", cmd); return 1; }

    /* the load file data block as the host sends it */
    size_t total = plen + 4;
    uint8_t *lf = malloc(total);
    lf[0] = 0xC4; lf[1] = 0x82; lf[2] = (uint8_t)(plen >> 8); lf[3] = (uint8_t)plen;
    memcpy(lf + 4, pkg, plen);

    printf("bench_isd: load of a %zu-byte package (%zu LOAD blocks of <= %u bytes) at SCP03 level 33,\n"
           "best of %d rounds\n\n", plen, (total + BLOCK - 1) / BLOCK, BLOCK, rounds);
    printf("%-22s %12s %12s %12s %12s %8s\n", "image sync", "load s", "bytes/s", "crypto s", "NVM s", "ratio");
    static const enum chip_sync modes[] = {CHIP_SYNC_FULL, CHIP_SYNC_OFF};
    static const char *names[] = {"fsync per commit", "no fsync"};
    for (int mi = 0; mi < 2; mi++) {
        double tl[100], tc[100], tn[100];
        for (int r = 0; r < rounds; r++) {
            copy_file(tmpl, img);
            transport *t;
            char err[256];
            if (transport_open_image(img, &t, err, sizeof err)) { fprintf(stderr, "%s\n", err); return 1; }
            chip_set_sync(card_chip(transport_card(t)), modes[mi]);
            gp_session gp;
            gp_init(&gp, t, NULL);
            gp_keys k;
            gp_default_keys(&k);
            uint16_t sw;
            if (gp_open(&gp, &k, 0x33, NULL, 0, &sw) || !gp.open) { fprintf(stderr, "open: %04X %s\n", sw, gp.err); return 1; }
            int blk;
            double t0 = now();
            int rc = gp_load_package(&gp, pkg, plen, 1, &sw, &blk);
            tl[r] = now() - t0;
            if (rc || sw != 0x9000) { fprintf(stderr, "load: %04X (block %d) %s\n", sw, blk, gp.err); return 1; }
            gp_close(&gp);
            transport_close(t);
            tc[r] = raw_crypto(lf, total, pkg, plen);
            copy_file(tmpl, scratch);
            tn[r] = raw_nvm(scratch, lf, total, pkg, plen, modes[mi]);
        }
        double l = best(tl, rounds), c = best(tc, rounds), n = best(tn, rounds);
        printf("%-22s %12.4f %12.0f %12.6f %12.4f %8.2f\n", names[mi], l, plen / l, c, n, l / (c + n));
    }
    printf("\nratio = load time / (raw crypto + raw NVM time); the rest is APDU\n"
           "encoding, the card object, the LOADER's checks, the verifier and the VM's\n"
           "package store.\n");
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) return 1;
    free(lf);
    free(pkg);
    return 0;
}
