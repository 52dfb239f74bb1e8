/* cmd_create.c — `cardvm create IMAGE`: a card through its real lifecycle. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "apdu.h"
#include "atr.h"
#include "chip.h"
#include "cli.h"
#include "lifecycle.h"
#include "scp03.h"

static void personalize_help(FILE *f)
{
    fprintf(f,
            "usage: cardvm personalize IMAGE|--reader NAME --unlock-key HEX --hash HEX [options]\n\n"
            "The client's step on a masked card whose serial number is written:\n"
            "UNLOCK with the unlocking key and the hash code (from cardvm seal), then\n"
            "an SCP03 customization channel keyed from the unlocking key and the\n"
            "serial number, and through it the customization commands (security\n"
            "domain, key sets, vector table, extra packages) and ENTER USER MODE.\n"
            "A card found in CUSTOMIZATION mode (an interrupted run) is resumed: the\n"
            "channel is reopened, the idempotent steps redone and only missing\n"
            "packages loaded. A card already in USER mode is left as it is.\n"
            "A card without a serial number refuses UNLOCK (6985, no try spent):\n"
            "personalize then exits 1 and the card is unchanged; the card mounter\n"
            "writes the serial first (docs/loader.md, Who does what).\n"
            "Options as for cardvm create: --isd-aid, --keys, --scp-i, --div-data,\n"
            "--kos, --kmac, --load, --quiet; --reader NAME reaches the card through\n"
            "PC/SC instead of an image file.\n");
}

static void help(FILE *f)
{
    fprintf(f,
            "usage: cardvm create IMAGE [options]\n\n"
            "Make a USER-mode card by running its real lifecycle: seal the default\n"
            "customization software with the unlocking key, mask an ISSUER-mode chip,\n"
            "then through APDUs: SELF TEST, WRITE SERIAL NUMBER, UNLOCK, the\n"
            "customization commands (security domain, key sets, vector table,\n"
            "extra packages) and ENTER USER MODE.\n\n"
            "Options:\n"
            "  --isd-aid HEX        security domain AID (default A000000151000000)\n"
            "  --keys KVN:ENC:MAC:DEK  an SCP03 key set, hex; repeatable\n"
            "                       (default 30:404142434445464748494A4B4C4D4E4F x3)\n"
            "  --scp-i HEX          SCP03 i parameter: 00 10 20 30 60 70 (default 70)\n"
            "  --div-data HEX       key diversification data, 10 bytes (default zeros)\n"
            "  --serial HEX         serial number, 8 bytes (default 0000000000000001)\n"
            "  --unlock-key HEX     the client's unlocking key, 32 bytes (default C0C1..DF)\n"
            "  --kos HEX            common key Kos (16 bytes), for broadcast updates\n"
            "  --kmac HEX           common key K-MAC (16 bytes)\n"
            "  --load FILE.cap      an additional package loaded during customization; repeatable\n"
            "  --blank              only an empty masked chip with the built-in security\n"
            "                       domain (no LOADER lifecycle)\n"
            "  --issuer             stop after masking: the card stays in ISSUER mode\n"
            "  --rom-size N, --nvm-size N, --page-size N, --ram-size N, --otp-size N\n"
            "                       memory sizes (defaults 256K, 128K, 64, 8K, 64; K/M suffixes)\n"
            "  --historical HEX     ATR historical bytes (at most 15)\n"
            "  --quiet              do not print the lifecycle steps\n"
            "  --force              replace IMAGE if it exists\n");
}

static int parse_hex_exact(const char *s, uint8_t *out, size_t want, const char *what)
{
    uint8_t buf[64];
    long n = hex_decode(s, buf, sizeof buf);
    if (n != (long)want) {
        cli_error("create", "%s: expected %zu bytes of hex", what, want);
        return -1;
    }
    memcpy(out, buf, want);
    scp03_wipe(buf, sizeof buf);
    return 0;
}

static int parse_keyset(const char *s, lifecycle_keyset *ks)
{
    char buf[256];
    if (strlen(s) >= sizeof buf) return -1;
    strcpy(buf, s);
    char *parts[4];
    int n = 0;
    for (char *tok = strtok(buf, ":"); tok && n < 4; tok = strtok(NULL, ":")) parts[n++] = tok;
    if (n != 4) return -1;
    uint8_t kvn[1];
    if (hex_decode(parts[0], kvn, 1) != 1 || kvn[0] == 0 || kvn[0] == 0xFF) return -1;
    ks->kvn = kvn[0];
    long l0 = hex_decode(parts[1], ks->enc, 32), l1 = hex_decode(parts[2], ks->mac, 32),
         l2 = hex_decode(parts[3], ks->dek, 32);
    if (l0 != l1 || l1 != l2 || (l0 != 16 && l0 != 24 && l0 != 32)) return -1;
    ks->key_len = (uint8_t)l0;
    scp03_wipe(buf, sizeof buf);
    return 0;
}

static int create_blank(const char *path, const chip_geometry *g, const uint8_t *atr, size_t atr_len)
{
    chip *ch;
    int rc = chip_create(g, path, &ch);
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
    return 0;
}

int cmd_create(int argc, char **argv)
{
    int personalize = !strcmp(argv[0], "personalize");
    if (cli_wants_help(argc, argv)) {
        if (personalize) personalize_help(stdout); else help(stdout);
        return 0;
    }
    enum { O_ISD = 256, O_KEYS, O_SCPI, O_DIV, O_SERIAL, O_UNLOCK, O_KOS, O_KMAC, O_LOAD, O_BLANK,
           O_ISSUER, O_QUIET, O_HIST, O_FORCE, O_HASH, O_READER };
    static const struct option opts[] = {
        {"rom-size", required_argument, 0, 'r'}, {"nvm-size", required_argument, 0, 'n'},
        {"page-size", required_argument, 0, 'p'}, {"ram-size", required_argument, 0, 'm'},
        {"otp-size", required_argument, 0, 'o'}, {"historical", required_argument, 0, O_HIST},
        {"isd-aid", required_argument, 0, O_ISD}, {"keys", required_argument, 0, O_KEYS},
        {"scp-i", required_argument, 0, O_SCPI}, {"div-data", required_argument, 0, O_DIV},
        {"serial", required_argument, 0, O_SERIAL}, {"unlock-key", required_argument, 0, O_UNLOCK},
        {"kos", required_argument, 0, O_KOS}, {"kmac", required_argument, 0, O_KMAC},
        {"load", required_argument, 0, O_LOAD}, {"blank", no_argument, 0, O_BLANK},
        {"issuer", no_argument, 0, O_ISSUER}, {"quiet", no_argument, 0, O_QUIET},
        {"force", no_argument, 0, O_FORCE}, {"hash", required_argument, 0, O_HASH},
        {"reader", required_argument, 0, O_READER}, {0, 0, 0, 0},
    };
    lifecycle_params lp;
    lifecycle_defaults(&lp);
    loader_mask_params mp;
    lifecycle_mask_defaults(&mp);
    uint8_t atr[33], hist[32];
    size_t atr_len = atr_default(atr);
    long hist_len = -1;
    const char *reader = NULL;
    int have_hash = 0, force = 0, blank = 0, issuer_only = 0, quiet = 0, user_keys = 0, c, status = 2;
    char rerr[300];
    const uint8_t *pkgs[16];
    size_t pkg_lens[16];
    uint8_t *owned[16];
    size_t n_pkgs = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        unsigned long v = 0;
        switch (c) {
        case 'r': case 'n': case 'p': case 'm': case 'o':
            if (cli_parse_size(optarg, &v) != 0 || v > 0xFFFFFFFFul) {
                cli_error("create", "bad size '%s'", optarg);
                goto out;
            }
            if (c == 'r') mp.geometry.rom_size = (uint32_t)v;
            if (c == 'n') mp.geometry.nvm_size = (uint32_t)v;
            if (c == 'p') mp.geometry.nvm_page_size = (uint32_t)v;
            if (c == 'm') mp.geometry.ram_size = (uint32_t)v;
            if (c == 'o') mp.geometry.otp_size = (uint32_t)v;
            break;
        case O_HIST:
            hist_len = hex_decode(optarg, hist, sizeof hist);
            if (hist_len < 0 || hist_len > (long)ATR_MAX_HISTORICAL) {
                cli_error("create", "--historical: at most 15 bytes of hex");
                goto out;
            }
            atr_len = atr_build(hist, (size_t)hist_len, atr);
            break;
        case O_ISD: {
            long n = hex_decode(optarg, lp.isd_aid, sizeof lp.isd_aid);
            if (n < 5 || n > 16) { cli_error("create", "--isd-aid: 5 to 16 bytes of hex"); goto out; }
            lp.isd_aid_len = (uint8_t)n;
            break;
        }
        case O_KEYS:
            if (!user_keys) lp.n_keysets = 0;
            user_keys = 1;
            if (lp.n_keysets >= 8 || parse_keyset(optarg, &lp.keysets[lp.n_keysets])) {
                cli_error("create", "--keys: KVN:ENC:MAC:DEK with 16, 24 or 32-byte keys (at most 8 sets)");
                goto out;
            }
            lp.n_keysets++;
            break;
        case O_SCPI: {
            uint8_t i;
            if (hex_decode(optarg, &i, 1) != 1 || (i != 0x00 && i != 0x10 && i != 0x20 && i != 0x30 &&
                                                   i != 0x60 && i != 0x70)) {
                cli_error("create", "--scp-i: one of 00 10 20 30 60 70");
                goto out;
            }
            lp.scp_i = i;
            break;
        }
        case O_DIV: if (parse_hex_exact(optarg, lp.div_data, 10, "--div-data")) goto out; break;
        case O_SERIAL: if (parse_hex_exact(optarg, lp.serial, 8, "--serial")) goto out; break;
        case O_UNLOCK: if (parse_hex_exact(optarg, lp.unlock_key, 32, "--unlock-key")) goto out; break;
        case O_KOS: if (parse_hex_exact(optarg, lp.kos, 16, "--kos")) goto out; lp.has_kos = 1; break;
        case O_KMAC: if (parse_hex_exact(optarg, lp.kmac, 16, "--kmac")) goto out; lp.has_kmac = 1; break;
        case O_LOAD:
            if (n_pkgs >= 16 || !(owned[n_pkgs] = cli_read_package(optarg, &pkg_lens[n_pkgs], rerr, sizeof rerr))) {
                cli_error("create", "--load %s", n_pkgs >= 16 ? "at most 16 packages" : rerr);
                status = 1;
                goto out;
            }
            pkgs[n_pkgs] = owned[n_pkgs];
            n_pkgs++;
            break;
        case O_BLANK: blank = 1; break;
        case O_ISSUER: issuer_only = 1; break;
        case O_QUIET: quiet = 1; break;
        case O_FORCE: force = 1; break;
        case O_READER:
            if (!personalize) { help(stderr); goto out; }
            reader = optarg;
            break;
        case O_HASH: if (parse_hex_exact(optarg, lp.hash_code, 32, "--hash")) goto out; have_hash = 1; break;
        default: help(stderr); goto out;
        }
    }
    if (optind != argc - (reader ? 0 : 1)) {
        if (personalize) personalize_help(stderr); else help(stderr);
        goto out;
    }
    const char *path = reader ? NULL : argv[optind];
    struct stat st;
    if (personalize) {
        if (!have_hash) {
            cli_error("personalize", "--hash is required (the hash code cardvm seal printed)");
            goto out;
        }
        lp.packages = pkgs;
        lp.package_lens = pkg_lens;
        lp.n_packages = n_pkgs;
        transport *t = cli_open_card(path, reader);
        if (!t) { status = 1; goto out; }
        status = lifecycle_customize(t, &lp, quiet ? NULL : stdout) ? 1 : 0;
        transport_close(t);
        goto out;
    }
    if (!force && stat(path, &st) == 0) {
        cli_error("create", "%s exists (use --force to replace it)", path);
        status = 1;
        goto out;
    }
    if (blank) {
        status = create_blank(path, &mp.geometry, atr, atr_len);
        if (!status) printf("created %s (blank chip, built-in security domain)\n", path);
        goto out;
    }
    lp.packages = pkgs;
    lp.package_lens = pkg_lens;
    lp.n_packages = n_pkgs;
    FILE *log = quiet ? NULL : stdout;

    /* The client seals; the manufacturer masks with the sealed bytes only. */
    uint8_t *sealed = NULL, hash[32];
    size_t sealed_len;
    if (loader_seal(example_custom_package, example_custom_package_len, lp.unlock_key, NULL, &sealed,
                    &sealed_len, hash)) {
        cli_error("create", "sealing the customization software failed");
        status = 1;
        goto out;
    }
    memcpy(lp.hash_code, hash, 32);
    if (log) fprintf(log, "client: sealed the customization software (%zu bytes), hash code computed\n", sealed_len);
    mp.sealed = sealed;
    mp.sealed_len = sealed_len;
    if (hist_len >= 0) {
        mp.historical = hist;
        mp.historical_len = (size_t)hist_len;
    }
    char err[512];
    int rc = loader_mask(path, &mp, err, sizeof err);
    free(sealed);
    if (rc) {
        cli_error("create", "masking: %s", err);
        status = rc == CHIP_ERR_ARG ? 2 : 1;
        goto out;
    }
    if (log) fprintf(log, "manufacturer: masked %s in ISSUER mode\n", path);
    status = 0;
    if (!issuer_only) {
        transport *t = cli_open_card(path, NULL);
        if (!t) { status = 1; goto out; }
        rc = lifecycle_mount(t, &lp, log);
        if (!rc) rc = lifecycle_customize(t, &lp, log);
        transport_close(t);
        if (rc) { status = 1; goto out; }
        if (log) fprintf(log, "card %s is in USER mode\n", path);
    }
out:
    for (size_t i = 0; i < n_pkgs; i++) free(owned[i]);
    scp03_wipe(&lp, sizeof lp);
    return status;
}
