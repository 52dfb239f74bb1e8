/* cmd_info.c — `cardvm info IMAGE`: what a card image holds. Read-only. */
#include <string.h>

#include "apdu.h"
#include "atr.h"
#include "chip.h"
#include "cli.h"

static void help(FILE *f)
{
    fprintf(f,
            "usage: cardvm info IMAGE\n\n"
            "Print a card image's memory regions, free space, wear (page writes)\n"
            "and ATR. The image is only read, never written.\n");
}

static void kib(char *buf, size_t n, uint64_t bytes)
{
    if (bytes >= 1024 && bytes % 1024 == 0) snprintf(buf, n, "%llu KiB", (unsigned long long)(bytes / 1024));
    else snprintf(buf, n, "%llu bytes", (unsigned long long)bytes);
}

int cmd_info(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        help(stdout);
        return 0;
    }
    if (argc != 2) {
        help(stderr);
        return 2;
    }
    chip *c;
    char err[512];
    if (chip_open(argv[1], &c, err, sizeof err) != CHIP_OK) {
        fprintf(stderr, "cardvm info: %s\n", err);
        return 1;
    }
    chip_power_on(c);
    const chip_geometry *g = chip_get_geometry(c);
    chip_stats st;
    chip_get_stats(c, &st);
    char a[32], b[32];
    printf("image:        %s\n", argv[1]);
    kib(a, sizeof a, g->rom_size);
    printf("ROM:          %s%s\n", a, chip_is_masking(c) ? " (masking, writable)" : " (masked, read-only)");
    kib(a, sizeof a, g->nvm_size);
    printf("NVM:          %s in %u-byte pages\n", a, g->nvm_page_size);
    kib(a, sizeof a, g->ram_size);
    printf("RAM:          %s\n", a);
    kib(a, sizeof a, g->otp_size);
    printf("OTP:          %s, %u bits burnt\n", a, st.otp_bits_burnt);
    kib(a, sizeof a, st.nvm_heap_free);
    kib(b, sizeof b, st.nvm_heap_used);
    printf("NVM free:     %s (largest block %u bytes), %s in use\n", a, st.nvm_heap_largest, b);
    printf("page writes:  NVM %llu (most-written page %u), OTP %llu\n",
           (unsigned long long)st.nvm_page_writes, st.nvm_max_page_writes,
           (unsigned long long)st.otp_writes);
    printf("commits:      %llu\n", (unsigned long long)st.commits);
    uint8_t atr[33];
    size_t n;
    rom_identity_atr(c, atr, &n);
    char hex[67];
    hex_encode(atr, n, hex);
    printf("ATR:          %s\n", hex);
    chip_close(c);
    return 0;
}
