/* cmd_create.c — `cardvm create IMAGE`: make a new card image. */
#include <getopt.h>
#include <string.h>
#include <sys/stat.h>

#include "apdu.h"
#include "atr.h"
#include "chip.h"
#include "cli.h"

static void help(FILE *f)
{
    fprintf(f,
            "usage: cardvm create IMAGE [options]\n\n"
            "Make a new card image file: an empty masked chip whose built-in\n"
            "security domain (AID A000000151000000) answers SELECT, GET DATA,\n"
            "PUT DATA and ECHO.\n\n"
            "Options:\n"
            "  --rom-size N     ROM bytes (default 256K)\n"
            "  --nvm-size N     NVM (EEPROM) bytes, a multiple of the page size (default 128K)\n"
            "  --page-size N    NVM page bytes, a power of two 16..4096 (default 64)\n"
            "  --ram-size N     RAM bytes (default 8K)\n"
            "  --otp-size N     OTP bytes (default 64)\n"
            "  --historical HEX ATR historical bytes, at most 15 (default 8056636172647676D: \"cardvm\")\n"
            "  --force          replace IMAGE if it exists\n"
            "Sizes take K and M suffixes.\n");
}

int cmd_create(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        help(stdout);
        return 0;
    }
    static const struct option opts[] = {
        {"rom-size", required_argument, 0, 'r'}, {"nvm-size", required_argument, 0, 'n'},
        {"page-size", required_argument, 0, 'p'}, {"ram-size", required_argument, 0, 'm'},
        {"otp-size", required_argument, 0, 'o'}, {"historical", required_argument, 0, 'H'},
        {"force", no_argument, 0, 'f'},          {0, 0, 0, 0},
    };
    chip_geometry g;
    chip_geometry_default(&g);
    uint8_t atr[33];
    size_t atr_len = atr_default(atr);
    int force = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        unsigned long v = 0;
        if (c == 'f') { force = 1; continue; }
        if (c == 'H') {
            uint8_t hist[32];
            long n = hex_decode(optarg, hist, sizeof hist);
            if (n < 0 || n > (long)ATR_MAX_HISTORICAL) {
                cli_error("create", "--historical: at most 15 bytes of hex");
                return 2;
            }
            atr_len = atr_build(hist, (size_t)n, atr);
            continue;
        }
        if (c == '?' || cli_parse_size(optarg, &v) != 0 || v > 0xFFFFFFFFul) {
            if (c != '?') cli_error("create", "bad size '%s'", optarg);
            help(stderr);
            return 2;
        }
        switch (c) {
        case 'r': g.rom_size = (uint32_t)v; break;
        case 'n': g.nvm_size = (uint32_t)v; break;
        case 'p': g.nvm_page_size = (uint32_t)v; break;
        case 'm': g.ram_size = (uint32_t)v; break;
        case 'o': g.otp_size = (uint32_t)v; break;
        }
    }
    if (optind != argc - 1) {
        help(stderr);
        return 2;
    }
    const char *path = argv[optind];
    struct stat st;
    if (!force && stat(path, &st) == 0) {
        cli_error("create", "%s exists (use --force to replace it)", path);
        return 1;
    }
    chip *ch;
    int rc = chip_create(&g, path, &ch);
    if (rc) {
        cli_error("create", "%s", rc == CHIP_ERR_ARG ? "unusable memory sizes" : chip_strerror(rc));
        return rc == CHIP_ERR_ARG ? 2 : 1;
    }
    rc = rom_identity_write(ch, atr, atr_len);
    if (!rc) {
        chip_end_masking(ch);
        rc = chip_commit(ch);
    }
    chip_close(ch);
    if (rc) {
        cli_error("create", "%s: %s", path, chip_strerror(rc));
        return 1;
    }
    printf("created %s\n", path);
    return 0;
}
