/*
 * fuzz_card.c — the card as a whole under arbitrary APDU sequences.
 *
 * Input: byte 0 picks the card (mode ISSUER, CUSTOMIZATION or USER, each a
 * template image made once through the real lifecycle); the rest is a
 * sequence of APDUs, each a length byte and that many bytes. Every input
 * starts from a fresh copy of the template.
 *
 * Checked for every APDU (DESIGN.md section 10): the card answers (at least a
 * status word), never crashes, never hangs (the VM budget), and an error status
 * word leaves NVM and OTP exactly as they were.
 *
 * Two drivers: built with clang and -DCARDVM_FUZZ=ON this is a libFuzzer
 * target (coverage guided, `./fuzz_card -max_total_time=60`); otherwise a
 * main() runs N pseudo-random inputs (the ctest smoke run) or replays files
 * given on the command line.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "card.h"
#include "lifecycle.h"

static char templates[3][512];
static char work_path[512];

static void die(const char *what)
{
    fprintf(stderr, "fuzz_card: %s\n", what);
    abort();
}

static void make_templates(void)
{
    static int done;
    if (done) return;
    done = 1;
    char dir[] = "/tmp/cardvm-fuzz-XXXXXX";
    if (!mkdtemp(dir)) die("mkdtemp");
    lifecycle_params lp;
    lifecycle_defaults(&lp);
    uint8_t *sealed, hash[32];
    size_t sealed_len;
    if (loader_seal(example_custom_package, example_custom_package_len, lp.unlock_key, NULL, &sealed,
                    &sealed_len, hash))
        die("seal");
    memcpy(lp.hash_code, hash, 32);
    for (int m = 0; m < 3; m++) {
        snprintf(templates[m], sizeof templates[m], "%s/mode%d.img", dir, m);
        loader_mask_params mp;
        lifecycle_mask_defaults(&mp);
        /* Small memories: every input copies and opens a whole image. */
        mp.geometry.rom_size = 8192;
        mp.geometry.nvm_size = 16384;
        mp.sealed = sealed;
        mp.sealed_len = sealed_len;
        char err[256];
        if (loader_mask(templates[m], &mp, err, sizeof err)) die(err);
        if (m == 0) continue;
        transport *t;
        if (transport_open_image(templates[m], &t, err, sizeof err)) die(err);
        if (lifecycle_mount(t, &lp, NULL)) die("mount");
        if (m == 1) {
            uint8_t cmd[69] = {0x80, 0x14, 0, 0, 64}, rsp[300];
            memcpy(cmd + 5, lp.unlock_key, 32);
            memcpy(cmd + 37, hash, 32);
            size_t n;
            if (transport_transmit(t, cmd, sizeof cmd, rsp, sizeof rsp, &n) || rsp[n - 2] != 0x90) die("unlock");
        } else if (lifecycle_customize(t, &lp, NULL)) {
            die("customize");
        }
        transport_close(t);
    }
    free(sealed);
    snprintf(work_path, sizeof work_path, "%s/work.img", dir);
}

static void copy_file(const char *from, const char *to)
{
    FILE *a = fopen(from, "rb"), *b = fopen(to, "wb");
    if (!a || !b) die("copy");
    char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, a)) > 0)
        if (fwrite(buf, 1, n, b) != n) die("copy");
    fclose(a);
    fclose(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    make_templates();
    if (size < 1) return 0;
    copy_file(templates[data[0] % 3], work_path);
    card *c;
    char err[256];
    if (card_open(work_path, &c, err, sizeof err)) die(err);
    chip *ch = card_chip(c);
    chip_set_sync(ch, CHIP_SYNC_OFF);
    card_power(c, CARD_COLD, NULL, NULL);
    size_t nvm = chip_get_geometry(ch)->nvm_size, otp = chip_get_geometry(ch)->otp_size;
    uint8_t *before = malloc(nvm), obefore[4096], oafter[4096];
    static uint8_t rsp[CARD_MAX_RESPONSE];
    size_t pos = 1;
    while (pos < size) {
        size_t n = data[pos++];
        if (n > size - pos) n = size - pos;
        memcpy(before, chip_nvm_view(ch), nvm);
        chip_otp_read(ch, 0, obefore, otp);
        size_t rlen = 0;
        if (card_transmit(c, data + pos, n, rsp, sizeof rsp, &rlen) != 0 || rlen < 2) die("card mute");
        uint16_t sw = (uint16_t)(rsp[rlen - 2] << 8 | rsp[rlen - 1]);
        int ok = sw == 0x9000 || (sw >> 8) == 0x61 || (sw >> 8) == 0x62 || (sw >> 8) == 0x63 || (sw >> 8) == 0x6C;
        chip_otp_read(ch, 0, oafter, otp);
        /* Applets keep non-transactional writes across exceptions (Java Card);
         * the fuzz cards have no applets, so every error must change nothing. */
        if (!ok && (memcmp(before, chip_nvm_view(ch), nvm) || memcmp(obefore, oafter, otp))) {
            fprintf(stderr, "fuzz_card: APDU of %zu bytes answered %04X and changed the card\n", n, sw);
            abort();
        }
        pos += n;
    }
    free(before);
    card_close(c);
    return 0;
}

#ifndef CARDVM_LIBFUZZER
int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--random") != 0) {
        for (int i = 1; i < argc; i++) {
            FILE *f = fopen(argv[i], "rb");
            if (!f) die(argv[i]);
            static uint8_t buf[1 << 16];
            size_t n = fread(buf, 1, sizeof buf, f);
            fclose(f);
            LLVMFuzzerTestOneInput(buf, n);
        }
        return 0;
    }
    long runs = argc > 2 ? atol(argv[2]) : 300;
    srand(20261123);
    static const uint8_t ins[] = {0x10, 0x12, 0x14, 0x16, 0x30, 0x32, 0x34, 0x36, 0x38, 0x3A, 0x3E, 0x50,
                                  0x82, 0xA4, 0xCA, 0xC0, 0xE4, 0xE6, 0xE8, 0xF0, 0xF2, 0xF4, 0xD8, 0x5A, 0x5C};
    uint8_t in[2048];
    for (long r = 0; r < runs; r++) {
        size_t n = 1;
        in[0] = (uint8_t)r;
        int apdus = 1 + rand() % 12;
        for (int a = 0; a < apdus && n < sizeof in - 300; a++) {
            size_t len = (size_t)(rand() % 40);
            if (rand() % 8 == 0) len = (size_t)(rand() % 260);
            in[n++] = (uint8_t)len;
            for (size_t k = 0; k < len; k++) in[n + k] = (uint8_t)rand();
            if (len >= 2) {
                in[n] = (uint8_t)(rand() % 2 ? 0x80 : rand() % 2 ? 0x84 : 0x00);
                in[n + 1] = ins[rand() % sizeof ins];
            }
            if (len >= 5 && rand() % 2) in[n + 4] = (uint8_t)(len - 5);
            n += len;
        }
        LLVMFuzzerTestOneInput(in, n);
    }
    printf("fuzz_card: %ld random inputs, no crash, every error left the card unchanged\n", runs);
    return 0;
}
#endif
