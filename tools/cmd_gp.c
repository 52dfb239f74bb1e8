/* cmd_gp.c — `cardvm gp`: GlobalPlatform card content management over SCP03. */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cap_file.h"
#include "cli.h"
#include "sw_text.h"

/* A status word with its meaning, for one message (a compound literal lives
 * until the end of the enclosing block). */
#define SW_TEXT(sw) sw_describe((sw), (char[96]){0}, 96)
#include "gp_host.h"

static void help(FILE *f)
{
    fprintf(f,
            "usage: cardvm gp IMAGE [options]\n"
            "       cardvm gp --reader NAME [options]\n\n"
            "Open an SCP03 secure channel with the issuer security domain and manage\n"
            "its content, in the style of common GlobalPlatform tools. Actions run in\n"
            "this order: --delete, --load, --install, --put-key, --lock/--unlock,\n"
            "--apdu, --list.\n\n"
            "Secure channel:\n"
            "  --key HEX          one AES key for ENC, MAC and DEK (default 404142...4F)\n"
            "  --key-enc HEX, --key-mac HEX, --key-dek HEX   the three keys separately\n"
            "  --kvn HEX          key version number (default 30; 00 = the card's first)\n"
            "  --sl HEX           security level: 01 (C-MAC), 03 (C-MAC, C-DEC, default),\n"
            "                     13, 33 (also R-MAC and R-ENC)\n"
            "  --isd AID          the security domain (default: the default application)\n"
            "Actions:\n"
            "  -l, --list         list the ISD, applications and load files\n"
            "  --load FILE        INSTALL [for load] and LOAD a package: a CAP file\n"
            "                     (FILE.cap, the zip of a Java Card converter or\n"
            "                     cardvm asm)\n"
            "  --no-hash          do not send the load file data block hash\n"
            "  --no-descriptor    leave a CAP file's Descriptor component out\n"
            "  --one-step         with --load and --install: the combined INSTALL [for\n"
            "                     load, install and make selectable] process (one applet)\n"
            "  --install          INSTALL [for install and make selectable]; with\n"
            "    --package AID    the load file (default: the one of --load)\n"
            "    --applet AID     the applet class (default: the only one of --load;\n"
            "                     for a CAP file with several, each of them)\n"
            "    --instance-aid AID  the instance AID (default: the applet AID);\n"
            "                     also --create AID\n"
            "    --params HEX     application parameters (sent as C9)\n"
            "    --privileges HEX privileges, 1 or 3 bytes (default 00); also\n"
            "                     --privs\n"
            "  --delete AID       delete an application or load file; repeatable\n"
            "  --force            delete a load file together with its applications\n"
            "  --put-key KVN      add key set KVN (or replace the one --replace names)\n"
            "    --new-key HEX, --new-key-enc HEX, --new-key-mac HEX, --new-key-dek HEX\n"
            "    --replace KVN    the key set PUT KEY replaces (P1)\n"
            "  --lock AID, --unlock AID   SET STATUS of an application\n"
            "  --apdu HEX         send a command through the channel; repeatable\n"
            "Other:\n"
            "  --reader NAME      a PC/SC reader instead of IMAGE\n"
            "  -v, --verbose      print the plain commands and responses\n"
            "  --trace            print the APDUs on the wire\n");
}

static int hexarg(const char *what, const char *s, uint8_t *out, size_t cap, size_t *len, size_t min, size_t max)
{
    if (gp_parse_hex(s, out, cap, len) || *len < min || *len > max) {
        cli_error("gp", "%s: expected %zu..%zu bytes of hex, got '%s'", what, min, max, s);
        return -1;
    }
    return 0;
}

static int keyarg(const char *what, const char *s, uint8_t *out, uint8_t *len)
{
    size_t n;
    if (hexarg(what, s, out, 32, &n, 16, 32)) return -1;
    if (n != 16 && n != 24 && n != 32) { cli_error("gp", "%s: AES keys are 16, 24 or 32 bytes", what); return -1; }
    if (*len && *len != n) { cli_error("gp", "%s: all keys of a set have the same length", what); return -1; }
    *len = (uint8_t)n;
    return 0;
}

static void print_aid(const uint8_t *a, size_t n) { gp_hex(stdout, a, n); }

static int list(gp_session *gp)
{
    static gp_entry e[64];
    size_t n;
    uint16_t sw;
    static const uint8_t cats[] = {0x80, 0x40, 0x10};
    for (int c = 0; c < 3; c++) {
        if (gp_get_status(gp, cats[c], e, 64, &n, &sw)) return -1;
        if (sw != 0x9000) {
            cli_error("gp", "GET STATUS %02X: %s", cats[c], SW_TEXT(sw));
            return -1;
        }
        for (size_t i = 0; i < n; i++) {
            const char *k = cats[c] == 0x80 ? "ISD" : cats[c] == 0x40 ? "APP" : "PKG";
            printf("%s: ", k);
            print_aid(e[i].aid, e[i].aid_len);
            printf(" (%s)", gp_state_name(e[i].kind, e[i].state));
            if (cats[c] != 0x10) printf(" privs %02X%02X%02X", e[i].priv[0], e[i].priv[1], e[i].priv[2]);
            if (e[i].elf_len) { printf(" from "); print_aid(e[i].elf, e[i].elf_len); }
            if (e[i].has_version) printf(" version %u.%u", e[i].version[0], e[i].version[1]);
            printf("\n");
            for (unsigned m = 0; m < e[i].n_modules; m++) {
                printf("     applet ");
                print_aid(e[i].modules[m] + 1, e[i].modules[m][0]);
                printf("\n");
            }
        }
    }
    return 0;
}

enum {
    O_KEY = 256, O_KEY_ENC, O_KEY_MAC, O_KEY_DEK, O_KVN, O_SL, O_ISD, O_LOAD, O_NOHASH, O_INSTALL, O_PACKAGE,
    O_APPLET, O_CREATE, O_PARAMS, O_PRIVS, O_DELETE, O_FORCE, O_PUTKEY, O_NEWKEY, O_NEWENC, O_NEWMAC, O_NEWDEK,
    O_REPLACE, O_LOCK, O_UNLOCK, O_APDU, O_READER, O_NODESC, O_ONESTEP
};

#define MAX_MULTI 16

int cmd_gp(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) { help(stdout); return 0; }
    static const struct option opts[] = {
        {"key", required_argument, 0, O_KEY}, {"key-enc", required_argument, 0, O_KEY_ENC},
        {"key-mac", required_argument, 0, O_KEY_MAC}, {"key-dek", required_argument, 0, O_KEY_DEK},
        {"kvn", required_argument, 0, O_KVN}, {"sl", required_argument, 0, O_SL},
        {"isd", required_argument, 0, O_ISD}, {"list", no_argument, 0, 'l'},
        {"load", required_argument, 0, O_LOAD}, {"no-hash", no_argument, 0, O_NOHASH},
        {"install", no_argument, 0, O_INSTALL}, {"package", required_argument, 0, O_PACKAGE},
        {"applet", required_argument, 0, O_APPLET}, {"create", required_argument, 0, O_CREATE},
        {"params", required_argument, 0, O_PARAMS}, {"privs", required_argument, 0, O_PRIVS},
        {"privileges", required_argument, 0, O_PRIVS}, {"instance-aid", required_argument, 0, O_CREATE},
        {"no-descriptor", no_argument, 0, O_NODESC}, {"one-step", no_argument, 0, O_ONESTEP},
        {"delete", required_argument, 0, O_DELETE}, {"force", no_argument, 0, O_FORCE},
        {"put-key", required_argument, 0, O_PUTKEY}, {"new-key", required_argument, 0, O_NEWKEY},
        {"new-key-enc", required_argument, 0, O_NEWENC}, {"new-key-mac", required_argument, 0, O_NEWMAC},
        {"new-key-dek", required_argument, 0, O_NEWDEK}, {"replace", required_argument, 0, O_REPLACE},
        {"lock", required_argument, 0, O_LOCK}, {"unlock", required_argument, 0, O_UNLOCK},
        {"apdu", required_argument, 0, O_APDU}, {"reader", required_argument, 0, O_READER},
        {"verbose", no_argument, 0, 'v'}, {0, 0, 0, 0}};
    gp_keys keys, nk;
    gp_default_keys(&keys);
    memset(&nk, 0, sizeof nk);
    uint8_t klen = 0, nklen = 0, have_enc = 0, have_mac = 0, have_dek = 0, nk_parts = 0;
    uint8_t level = 0x03, isd[16], pkg[16], applet[16], inst[16], params[255], privs[3] = {0};
    size_t isd_len = 0, pkg_len = 0, applet_len = 0, inst_len = 0, params_len = 0, n;
    const char *reader = NULL, *load = NULL, *deletes[MAX_MULTI], *apdus[MAX_MULTI], *locks[MAX_MULTI];
    int ndel = 0, napdu = 0, nlock = 0, lockv[MAX_MULTI], do_list = 0, do_install = 0, force = 0, hash = 1;
    int put_kvn = -1, replace = 0, verbose = 0, nodesc = 0, one_step = 0;
    size_t privs_len = 0;
    uint8_t b[32];
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "lv", opts, NULL)) != -1) {
        switch (c) {
        case O_KEY:
            if (keyarg("--key", optarg, keys.enc, &klen)) return 2;
            memcpy(keys.mac, keys.enc, 32);
            memcpy(keys.dek, keys.enc, 32);
            have_enc = have_mac = have_dek = 1;
            break;
        case O_KEY_ENC: if (keyarg("--key-enc", optarg, keys.enc, &klen)) return 2; have_enc = 1; break;
        case O_KEY_MAC: if (keyarg("--key-mac", optarg, keys.mac, &klen)) return 2; have_mac = 1; break;
        case O_KEY_DEK: if (keyarg("--key-dek", optarg, keys.dek, &klen)) return 2; have_dek = 1; break;
        case O_KVN: if (hexarg("--kvn", optarg, b, 1, &n, 1, 1)) return 2; keys.kvn = b[0]; break;
        case O_SL:
            if (hexarg("--sl", optarg, b, 1, &n, 1, 1)) return 2;
            level = b[0];
            if (level != 0x01 && level != 0x03 && level != 0x11 && level != 0x13 && level != 0x33) {
                cli_error("gp", "--sl: one of 01 03 11 13 33 (content management needs C-MAC)");
                return 2;
            }
            break;
        case O_ISD: if (hexarg("--isd", optarg, isd, 16, &isd_len, 5, 16)) return 2; break;
        case 'l': do_list = 1; break;
        case O_LOAD: load = optarg; break;
        case O_NOHASH: hash = 0; break;
        case O_INSTALL: do_install = 1; break;
        case O_PACKAGE: if (hexarg("--package", optarg, pkg, 16, &pkg_len, 5, 16)) return 2; break;
        case O_APPLET: if (hexarg("--applet", optarg, applet, 16, &applet_len, 5, 16)) return 2; break;
        case O_CREATE: if (hexarg("--create", optarg, inst, 16, &inst_len, 5, 16)) return 2; break;
        case O_PARAMS: if (hexarg("--params", optarg, params, 180, &params_len, 0, 180)) return 2; break;
        case O_PRIVS:
            if (hexarg("--privileges", optarg, privs, 3, &privs_len, 1, 3)) return 2;
            if (privs_len == 2) { cli_error("gp", "--privileges: 1 or 3 bytes"); return 2; }
            break;
        case O_NODESC: nodesc = 1; break;
        case O_ONESTEP: one_step = 1; break;
        case O_DELETE:
            if (ndel >= MAX_MULTI) { cli_error("gp", "too many --delete"); return 2; }
            deletes[ndel++] = optarg;
            break;
        case O_FORCE: force = 1; break;
        case O_PUTKEY:
            if (hexarg("--put-key", optarg, b, 1, &n, 1, 1)) return 2;
            put_kvn = b[0];
            break;
        case O_NEWKEY:
            if (keyarg("--new-key", optarg, nk.enc, &nklen)) return 2;
            memcpy(nk.mac, nk.enc, 32);
            memcpy(nk.dek, nk.enc, 32);
            nk_parts = 7;
            break;
        case O_NEWENC: if (keyarg("--new-key-enc", optarg, nk.enc, &nklen)) return 2; nk_parts |= 1; break;
        case O_NEWMAC: if (keyarg("--new-key-mac", optarg, nk.mac, &nklen)) return 2; nk_parts |= 2; break;
        case O_NEWDEK: if (keyarg("--new-key-dek", optarg, nk.dek, &nklen)) return 2; nk_parts |= 4; break;
        case O_REPLACE: if (hexarg("--replace", optarg, b, 1, &n, 1, 1)) return 2; replace = b[0]; break;
        case O_LOCK:
        case O_UNLOCK:
            if (nlock >= MAX_MULTI) { cli_error("gp", "too many --lock/--unlock"); return 2; }
            lockv[nlock] = c == O_LOCK;
            locks[nlock++] = optarg;
            break;
        case O_APDU:
            if (napdu >= MAX_MULTI) { cli_error("gp", "too many --apdu"); return 2; }
            apdus[napdu++] = optarg;
            break;
        case O_READER: reader = optarg; break;
        case 'v': verbose = 1; break;
        default: help(stderr); return 2;
        }
    }
    const char *image = NULL;
    if (!reader) {
        if (optind >= argc) { help(stderr); return 2; }
        image = argv[optind++];
    }
    if (optind != argc) { cli_error("gp", "unexpected argument '%s'", argv[optind]); return 2; }
    if (klen) {
        keys.key_len = klen;
        if (!(have_enc && have_mac && have_dek)) {
            cli_error("gp", "give --key, or all of --key-enc, --key-mac and --key-dek");
            return 2;
        }
    }
    if (put_kvn >= 0) {
        if (nk_parts != 7) { cli_error("gp", "--put-key needs --new-key (or the three --new-key-*)"); return 2; }
        nk.kvn = (uint8_t)put_kvn;
        nk.key_len = nklen;
    }
    if (!do_list && !load && !do_install && !ndel && put_kvn < 0 && !nlock && !napdu) do_list = 1;

    uint8_t *blob = NULL;
    size_t blob_len = 0;
    uint8_t lpkg[16], lpkg_len = 0, lapplets[8][17], nlapplets = 0;
    if (load) {
        blob = cli_read_file(load, &blob_len);
        if (!blob) {
            cli_error("gp", "%s: %s", load, strerror(errno));
            return CLI_EXIT_IO;
        }
        if (!capfile_is_zip(blob, blob_len)) {
            cli_error("gp", "%s: not a CAP file (expected the zip a Java Card converter or cardvm asm writes)", load);
            free(blob);
            return 1;
        }
        /* the card gets the CAP file's components, not the zip */
        capfile cf;
        char err[300];
        free(blob);
        blob = NULL;
        cli_debug_add_cap(load);
        if (capfile_read(load, nodesc ? CAPFILE_NO_DESCRIPTOR : 0, &cf, err, sizeof err)) {
            cli_error("gp", "%s", err);
            capfile_free(&cf);
            return 1;
        }
        blob = cf.load_file;
        blob_len = cf.len;
        cf.load_file = NULL;
        capfile_free(&cf);
        if (blob && blob_len > 65535) { free(blob); blob = NULL; }   /* a LOAD file data block holds at most 64 KiB - 1 */
        if (!blob || gp_package_aids(blob, blob_len, lpkg, &lpkg_len, lapplets, &nlapplets)) {
            cli_error("gp", "%s: cannot read its package AID and applets", load);
            free(blob);
            return 1;
        }
    }
    if (!privs_len) privs_len = 1;
    /* applet classes to install: the one given, the only one, or (CAP) all */
    uint8_t targets[8][17];
    unsigned ntargets = 0;
    if (do_install) {
        if (!pkg_len) {
            if (!lpkg_len) { cli_error("gp", "--install needs --package (or --load)"); free(blob); return 2; }
            memcpy(pkg, lpkg, lpkg_len);
            pkg_len = lpkg_len;
        }
        if (applet_len) {
            targets[0][0] = (uint8_t)applet_len;
            memcpy(targets[0] + 1, applet, applet_len);
            ntargets = 1;
        } else if (nlapplets == 1 || (load && nlapplets > 1 && !inst_len)) {
            memcpy(targets, lapplets, sizeof targets);
            ntargets = nlapplets;
        } else {
            cli_error("gp", "--install needs --applet%s", nlapplets > 1 ? " (the package has several)" : "");
            free(blob);
            return 2;
        }
    }

    if (one_step && (!load || !do_install || ntargets != 1)) {
        cli_error("gp", "--one-step needs --load and --install of one applet");
        free(blob);
        return 2;
    }

    transport *t = cli_open_card(image, reader);
    if (!t) { free(blob); return reader ? CLI_EXIT_READER : CLI_EXIT_IO; }
    gp_session gp;
    gp_init(&gp, t, verbose ? stdout : NULL);
    int status = 1;
    uint16_t sw;
    if (gp_open(&gp, &keys, level, isd_len ? isd : NULL, isd_len, &sw)) {
        cli_error("gp", "secure channel: %s", gp.err);
        goto out;
    }
    if (!gp.open) {
        cli_error("gp", "secure channel refused: %s%s", SW_TEXT(sw),
                  sw == 0x6A88 ? " (no key set with that KVN)" : sw == 0x6300 ? " (wrong keys)" : "");
        status = CLI_EXIT_CARD;
        goto out;
    }
    for (int i = 0; i < ndel; i++) {
        uint8_t aid[16];
        size_t al;
        if (hexarg("--delete", deletes[i], aid, 16, &al, 5, 16)) { status = 2; goto out; }
        if (gp_delete(&gp, aid, al, force, &sw)) { cli_error("gp", "DELETE: %s", gp.err); goto out; }
        if (sw != 0x9000) { cli_error("gp", "DELETE %s: %s", deletes[i], SW_TEXT(sw)); status = CLI_EXIT_CARD; goto out; }
    }
    if (one_step) {
        int blk;
        gp_install_req r = {0x0C, pkg_len ? pkg : NULL, pkg_len, targets[0] + 1, targets[0][0],
                            inst_len ? inst : NULL, inst_len, privs, privs_len, params, params_len, 0};
        if (gp_load_install(&gp, blob, blob_len, hash, &r, &sw, &blk)) { cli_error("gp", "LOAD: %s", gp.err); goto out; }
        if (sw != 0x9000) {
            if (blk == -1) cli_error("gp", "first INSTALL [for load, install and make selectable]: %s", SW_TEXT(sw));
            else if (blk == -2) cli_error("gp", "last INSTALL [for load, install and make selectable]: %s", SW_TEXT(sw));
            else cli_error("gp", "LOAD block %d: %s", blk, SW_TEXT(sw));
            status = CLI_EXIT_CARD;
            goto out;
        }
        load = NULL;
        do_install = 0;
    }
    if (load) {
        int blk;
        if (gp_load_package(&gp, blob, blob_len, hash, &sw, &blk)) { cli_error("gp", "LOAD: %s", gp.err); goto out; }
        if (sw != 0x9000) {
            if (blk < 0) cli_error("gp", "INSTALL [for load]: %s", SW_TEXT(sw));
            else cli_error("gp", "LOAD block %d: %s", blk, SW_TEXT(sw));
            status = CLI_EXIT_CARD;
            goto out;
        }
    }
    for (unsigned i = 0; do_install && i < ntargets; i++) {
        gp_install_req r = {0x0C,    pkg,     pkg_len,   targets[i] + 1, targets[i][0], inst_len ? inst : NULL,
                            inst_len, privs,  privs_len, params,         params_len, 0};
        if (gp_install_send(&gp, &r, &sw)) {
            cli_error("gp", "INSTALL: %s", gp.err);
            goto out;
        }
        if (sw != 0x9000) {
            char hex[33];
            for (unsigned k = 0; k < targets[i][0]; k++) snprintf(hex + 2 * k, 3, "%02X", targets[i][1 + k]);
            cli_error("gp", "INSTALL [for install and make selectable] of %s: %s", hex, SW_TEXT(sw));
            status = CLI_EXIT_CARD;
            goto out;
        }
    }
    if (put_kvn >= 0) {
        uint8_t kcv[10];
        if (gp_put_key(&gp, (uint8_t)replace, &nk, kcv, &sw)) { cli_error("gp", "PUT KEY: %s", gp.err); goto out; }
        if (sw != 0x9000) { cli_error("gp", "PUT KEY: %s", SW_TEXT(sw)); status = CLI_EXIT_CARD; goto out; }
        printf("PUT KEY: KVN %02X, KCV ENC %02X%02X%02X MAC %02X%02X%02X DEK %02X%02X%02X\n", kcv[0], kcv[1], kcv[2],
               kcv[3], kcv[4], kcv[5], kcv[6], kcv[7], kcv[8], kcv[9]);
    }
    for (int i = 0; i < nlock; i++) {
        uint8_t aid[16];
        size_t al;
        if (hexarg(lockv[i] ? "--lock" : "--unlock", locks[i], aid, 16, &al, 5, 16)) { status = 2; goto out; }
        if (gp_set_lock(&gp, aid, al, lockv[i], &sw)) { cli_error("gp", "SET STATUS: %s", gp.err); goto out; }
        if (sw != 0x9000) { cli_error("gp", "SET STATUS %s: %s", locks[i], SW_TEXT(sw)); status = CLI_EXIT_CARD; goto out; }
    }
    for (int i = 0; i < napdu; i++) {
        uint8_t cmd[300], *rsp = malloc(65536 + 2);
        size_t cl, rl;
        if (!rsp || hexarg("--apdu", apdus[i], cmd, sizeof cmd, &cl, 4, sizeof cmd)) { free(rsp); status = 2; goto out; }
        if (gp_send(&gp, cmd, cl, rsp, 65536, &rl, &sw)) { cli_error("gp", "%s", gp.err); free(rsp); goto out; }
        gp_hex(stdout, rsp, rl);
        printf("%04X\n", sw);
        free(rsp);
    }
    if (do_list && list(&gp)) {
        if (gp.err[0]) cli_error("gp", "%s", gp.err);
        goto out;
    }
    status = 0;
out:
    fflush(stdout);
    gp_close(&gp);
    /* A commit the card could not write (answered 6581, rolled back): the
     * image is as before that command; say why, whatever the step. */
    if (transport_commit_error(t)[0]) {
        cli_error("gp", "card image not written: %s", transport_commit_error(t));
        status = CLI_EXIT_IO;
    }
    transport_close(t);
    free(blob);
    return status;
}
