/* cmd_seal.c — `cardvm seal` (the client's step) and `cardvm mask` (the
 * manufacturer's step). */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "apdu.h"
#include "cli.h"
#include "lifecycle.h"
#include "scp03.h"

static int spit(const char *path, const uint8_t *b, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    int ok = fwrite(b, 1, n, f) == n;
    return fclose(f) == 0 && ok ? 0 : -1;
}

static void seal_help(FILE *f)
{
    fprintf(f,
            "usage: cardvm seal PACKAGE.cap --unlock-key HEX -o SEALED\n\n"
            "The client's step: encrypt a customization software package (a CAP\n"
            "file: its load file is sealed, the components the card loads) with the\n"
            "unlocking key (AES-256-CBC, random IV, ISO 9797-1 padding 2) for the\n"
            "manufacturer, and print the hash code (SHA-256 of the plain package)\n"
            "that UNLOCK will need. Keep the key and the hash code: the manufacturer\n"
            "gets only SEALED.\n");
}

int cmd_seal(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        seal_help(stdout);
        return 0;
    }
    static const struct option opts[] = {{"unlock-key", required_argument, 0, 'k'},
                                         {"output", required_argument, 0, 'o'}, {0, 0, 0, 0}};
    const char *out = NULL, *keyhex = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:", opts, NULL)) != -1) {
        if (c == 'k') keyhex = optarg;
        else if (c == 'o') out = optarg;
        else { seal_help(stderr); return 2; }
    }
    uint8_t key[32];
    if (optind != argc - 1 || !out || !keyhex || hex_decode(keyhex, key, sizeof key) != 32) {
        if (keyhex) cli_error("seal", "--unlock-key: 32 bytes of hex");
        seal_help(stderr);
        return 2;
    }
    size_t len;
    char rerr[300];
    uint8_t *pkg = cli_read_package(argv[optind], &len, rerr, sizeof rerr);
    if (!pkg) {
        cli_error("seal", "%s", rerr);
        scp03_wipe(key, sizeof key);
        return 1;
    }
    uint8_t *sealed, hash[32];
    size_t sealed_len;
    int rc = loader_seal(pkg, len, key, NULL, &sealed, &sealed_len, hash);
    scp03_wipe(key, sizeof key);
    scp03_wipe(pkg, len);
    free(pkg);
    if (rc || spit(out, sealed, sealed_len)) {
        cli_error("seal", "cannot seal into %s", out);
        free(sealed);
        return 1;
    }
    free(sealed);
    char h[65];
    hex_encode(hash, 32, h);
    printf("hash code %s\n", h);
    return 0;
}

static void mask_help(FILE *f)
{
    fprintf(f,
            "usage: cardvm mask IMAGE --sealed SEALED [options]\n\n"
            "The manufacturer's step: build an ISSUER-mode card image from the masked\n"
            "ROM part and the sealed customization software. Never takes the unlocking\n"
            "key, the hash code or the plain customization software.\n\n"
            "Options:\n"
            "  --sealed FILE        sealed customization software (from cardvm seal)\n"
            "  --masked FILE.cap    a masked package (a CAP file); repeatable\n"
            "                       (default: the built-in os package with its vectors)\n"
            "  --vector INS:SLOT    a vectored command (hex INS, decimal slot); repeatable\n"
            "  --tries N            UNLOCK tries before TERMINATED (1..15, default 5)\n"
            "  --rom-size N, --nvm-size N, --page-size N, --ram-size N, --otp-size N\n"
            "  --historical HEX     ATR historical bytes\n");
}

int cmd_mask(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        mask_help(stdout);
        return 0;
    }
    static const struct option opts[] = {
        {"sealed", required_argument, 0, 's'}, {"masked", required_argument, 0, 'M'},
        {"vector", required_argument, 0, 'v'}, {"tries", required_argument, 0, 't'},
        {"rom-size", required_argument, 0, 'r'}, {"nvm-size", required_argument, 0, 'n'},
        {"page-size", required_argument, 0, 'p'}, {"ram-size", required_argument, 0, 'm'},
        {"otp-size", required_argument, 0, 'o'}, {"historical", required_argument, 0, 'H'},
        {0, 0, 0, 0}};
    loader_mask_params mp;
    lifecycle_mask_defaults(&mp);
    const char *sealed_path = NULL;
    char rerr[300];
    const uint8_t *masked[LOADER_MAX_MASKED];
    uint8_t *owned[LOADER_MAX_MASKED];
    size_t masked_len[LOADER_MAX_MASKED], n_masked = 0, n_vec = 0;
    loader_vectored_command vec[LOADER_MAX_VECTORED];
    uint8_t hist[32];
    int c, status = 2;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        unsigned long v;
        switch (c) {
        case 's': sealed_path = optarg; break;
        case 'M':
            if (n_masked >= LOADER_MAX_MASKED ||
                !(owned[n_masked] = cli_read_package(optarg, &masked_len[n_masked], rerr, sizeof rerr))) {
                cli_error("mask", "--masked %s: cannot read it (at most %u packages)", optarg, LOADER_MAX_MASKED);
                goto out;
            }
            masked[n_masked] = owned[n_masked];
            n_masked++;
            break;
        case 'v': {
            unsigned ins, slot;
            if (n_vec >= LOADER_MAX_VECTORED || sscanf(optarg, "%x:%u", &ins, &slot) != 2 || ins > 0xFF ||
                slot >= LOADER_VECTOR_SLOTS) {
                cli_error("mask", "--vector: INS:SLOT, e.g. F0:0");
                goto out;
            }
            vec[n_vec].ins = (uint8_t)ins;
            vec[n_vec].slot = (uint8_t)slot;
            n_vec++;
            break;
        }
        case 't':
            if (cli_parse_size(optarg, &v) || v < 1 || v > 15) { cli_error("mask", "--tries: 1..15"); goto out; }
            mp.unlock_tries = (uint8_t)v;
            break;
        case 'H': {
            long n = hex_decode(optarg, hist, sizeof hist);
            if (n < 0 || n > 15) { cli_error("mask", "--historical: at most 15 bytes"); goto out; }
            mp.historical = hist;
            mp.historical_len = (size_t)n;
            break;
        }
        case 'r': case 'n': case 'p': case 'm': case 'o':
            if (cli_parse_size(optarg, &v) || v > 0xFFFFFFFFul) { cli_error("mask", "bad size %s", optarg); goto out; }
            if (c == 'r') mp.geometry.rom_size = (uint32_t)v;
            if (c == 'n') mp.geometry.nvm_size = (uint32_t)v;
            if (c == 'p') mp.geometry.nvm_page_size = (uint32_t)v;
            if (c == 'm') mp.geometry.ram_size = (uint32_t)v;
            if (c == 'o') mp.geometry.otp_size = (uint32_t)v;
            break;
        default: mask_help(stderr); goto out;
        }
    }
    if (optind != argc - 1 || !sealed_path) {
        mask_help(stderr);
        goto out;
    }
    if (n_masked) {
        mp.masked = masked;
        mp.masked_len = masked_len;
        mp.n_masked = n_masked;
        mp.vectored = vec;
        mp.n_vectored = n_vec;
    }
    size_t sealed_len;
    uint8_t *sealed = cli_read_file(sealed_path, &sealed_len);
    if (!sealed) {
        cli_error("mask", "cannot read %s", sealed_path);
        status = 1;
        goto out;
    }
    mp.sealed = sealed;
    mp.sealed_len = sealed_len;
    char err[512];
    int rc = loader_mask(argv[optind], &mp, err, sizeof err);
    free(sealed);
    if (rc) {
        cli_error("mask", "%s", err);
        status = 1;
        goto out;
    }
    printf("masked %s (ISSUER mode)\n", argv[optind]);
    status = 0;
out:
    for (size_t i = 0; i < n_masked; i++) free(owned[i]);
    return status;
}
