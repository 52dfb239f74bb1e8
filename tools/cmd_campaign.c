/*
 * cmd_campaign.c — `cardvm campaign ROLE ...`: the broadcast OS update of
 * seed 004 (FIG. 5), one subcommand per role.
 *
 *   design    the design system: DATASEND + profile -> campaign record + P_SE
 *   enroll    the factory (simulation): N USER cards and their registry rows
 *   server    the management server and its HSM: P_AUT per card (from the
 *             registry's known counter); --record verifies the terminals'
 *             ST and reissues P_AUT to the cards whose counter moved
 *   terminal  plays P_AUT's first part, P_SE and AUTHORIZE_ACTION to one card
 *   run       all of it over every card of the registry, in one process,
 *             resumable: cards already updated by this campaign are skipped
 *   status    counts per status (text or --json)
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <jansson.h>
#include <tomcrypt.h>

#include "apdu.h"
#include "broadcast.h"
#include "campaign_cards.h"
#include "campaign_core.h"
#include "campaign_registry.h"
#include "campaign_runner.h"
#include "card.h"
#include "cli.h"
#include "packages.h"

static void help(FILE *f)
{
    fprintf(f,
            "usage: cardvm campaign ROLE [options]   (seed 004 broadcast update, docs/broadcast.md)\n"
            "       cardvm campaign ROLE --help      (what ROLE does, its inputs and outputs, the next step)\n\n"
            "A broadcast update sends one dataset, identical for every card, to a whole fleet;\n"
            "each card gets only a small authorization of its own. The roles, in order:\n\n"
            "  1 design    the design system: DATASEND (a package) + profile -> campaign record + P_SE\n"
            "  2 enroll    the factory (simulation): N USER-mode cards and their registry rows\n"
            "  3 server    the management server with its HSM: one P_AUT per card; later --record checks ST\n"
            "  4 terminal  plays P_AUT, P_SE and AUTHORIZE_ACTION to one card, keeps its ST\n"
            "  5 run       3 and 4 (and the ST check) for every card of the registry, resumable\n"
            "  6 status    how many cards are in each state\n\n"
            "Terms (seed 004):\n"
            "  DATASEND  the data sent to every card: a package to load (a CAP file's load file)\n"
            "  P_SE      the dataset that carries DATASEND, the same bytes for every card: CMDi\n"
            "            commands wrapped with broadcast keys BK, then CHANGE MODE back (file .pse)\n"
            "  P_AUT     the per-card part, a few hundred bytes: opens the card's own (diversified)\n"
            "            SCP03 channel and CHANGE MODE hands the card BK; AUTHORIZE_ACTION follows P_SE\n"
            "  ST        the card's signed status after AUTHORIZE_ACTION: proof of what it did\n"
            "  FIG.3     profile 3: BK travels wrapped under the common key Kos; DATASEND in clear\n"
            "            inside the broadcast channel (--profile 3, needs --kos)\n"
            "  FIG.4     profile 4: BK travels under the session key only; DATASEND is also\n"
            "            encrypted under Kos (--profile 4, needs --kos and --kmac)\n"
            "  Kos, K-MAC  common keys the cards received at customization (16 bytes, hex)\n"
            "  master    the issuer's master key from which each card's SCP03 keys are derived\n\n"
            "  design   --package FILE.cap | --example os-update, --profile 3|4, --kos HEX [--kmac HEX]\n"
            "           [--install APPLET[:INSTANCE]] [--vector SLOT:METHOD] [--replace] [--chunk N]\n"
            "           --campaign OUT.cvc --pse OUT.pse\n"
            "  enroll   --registry DB --dir DIR --count N --master HEX --kos HEX --kmac HEX\n"
            "           [--first N] [--load FILE.cap] [--fast|--lab] [--force]\n"
            "           (refuses to replace cards already enrolled or on disk unless --force)\n"
            "  server   --registry DB --master HEX --campaign C.cvc [--record]\n"
            "  terminal --registry DB --pse P.pse --serial HEX [--image FILE]\n"
            "  run      --registry DB --master HEX --campaign C.cvc --pse P.pse [--fast|--lab] [--quiet]\n"
            "           [--workers N]  (cards in flight; default 8 per CPU durable, 1 per CPU --lab)\n"
            "  status   --registry DB [--campaign C.cvc] [--json]\n");
}

/* `campaign ROLE --help`: the role's job, inputs, outputs and next step. */
static const struct role_help {
    const char *role, *text;
} role_helps[] = {
    {"design",
     "usage: cardvm campaign design (--package FILE.cap | --example os-update) --profile 3|4\n"
     "                              --kos HEX [--kmac HEX] [--install APPLET[:INSTANCE]]\n"
     "                              [--vector SLOT:METHOD] [--replace] [--chunk N]\n"
     "                              --campaign OUT.cvc --pse OUT.pse\n\n"
     "Step 1 of 6, the design system. Builds the campaign from DATASEND: the broadcast\n"
     "keys BK, the campaign record (.cvc: id, profile, counter, chaining value, the\n"
     "action the cards take afterwards, BK wrapped under Kos for FIG.3 or in clear for\n"
     "FIG.4 - keep it with the HSM) and P_SE (.pse: the wrapped CMDi, identical for\n"
     "every card).\n\n"
     "Inputs:\n"
     "  --package FILE.cap   DATASEND: a CAP file (cardvm asm); or\n"
     "  --example os-update  the built-in OS update (examples/update/os_update.jca); it\n"
     "                       takes effect through vector slot 0, so --vector 0:0 is the\n"
     "                       default for it\n"
     "  --profile 3|4        FIG.3 (BK under Kos) or FIG.4 (DATASEND under Kos too)\n"
     "  --kos HEX, --kmac HEX  the common keys of the cards (16 bytes; --kmac for FIG.4)\n"
     "  --install APPLET[:INSTANCE]  after loading, install that applet class (AIDs in hex)\n"
     "  --vector SLOT:METHOD  after loading, point vector slot 0-15 at method METHOD of the\n"
     "                       package (what a masked-OS command runs; see docs/loader.md)\n"
     "  --replace            delete an already loaded package of the same AID first\n"
     "  --chunk N            bytes of DATASEND per CMDi (16-4096, default 224)\n"
     "Without --install or --vector the cards only store the package: nothing they run\n"
     "changes, and design says so.\n\n"
     "Outputs: OUT.cvc and OUT.pse; one line with the campaign id and sizes.\n"
     "Next: `cardvm campaign enroll` (cards to update) or `cardvm campaign server`.\n"},
    {"enroll",
     "usage: cardvm campaign enroll --registry DB --dir DIR --count N --master HEX\n"
     "                              --kos HEX --kmac HEX [--first N] [--load FILE.cap]\n"
     "                              [--fast|--lab] [--force]\n\n"
     "Step 2 of 6, the factory of a simulation. Makes N USER-mode card images in DIR\n"
     "(serials --first .. first+N-1, SCP03 keys derived from --master and the serial,\n"
     "Kos and K-MAC put at customization, --load FILE.cap loaded beforehand) and a\n"
     "registry row for each (SQLite file DB: serial, keys version, counter, status).\n"
     "Refuses (exit 1, nothing changed) when a serial is already enrolled or its image\n"
     "exists, unless --force. Each card is made in memory and written once, whole and\n"
     "synced: one fsync per card, with or without --fast/--lab.\n\n"
     "Outputs: DB and DIR/*.img; a progress bar on a terminal, plain lines otherwise.\n"
     "Next: `cardvm campaign server` (or `run`).\n"},
    {"server",
     "usage: cardvm campaign server --registry DB --master HEX --campaign C.cvc [--record]\n\n"
     "Step 3 of 6, the management server and its HSM. For every card of DB it makes\n"
     "P_AUT from the card's last known counter and the master key, and stores it in\n"
     "the registry (status prepared). With --record (after the terminals ran), it\n"
     "checks each card's ST (the card's proof), marks the card updated or failed, and\n"
     "reissues P_AUT to cards whose counter moved (stale).\n\n"
     "Outputs: the registry rows; a count of P_AUT issued (or recorded/failed/reissued).\n"
     "Next: `cardvm campaign terminal` for each card, then `server --record`.\n"},
    {"terminal",
     "usage: cardvm campaign terminal --registry DB --pse P.pse --serial HEX [--image FILE]\n\n"
     "Step 4 of 6, the terminal in front of one card. Plays the card's P_AUT (from DB),\n"
     "then P_SE, then AUTHORIZE_ACTION, and stores the card's reply (ST) in DB. The\n"
     "card image is the one enrolled for --serial (16 hex digits) unless --image.\n"
     "A card whose counter moved answers 6300: the row becomes stale, and the server\n"
     "reissues P_AUT.\n\n"
     "Outputs: the card image changes, the registry row (played / stale / failed).\n"
     "Next: `cardvm campaign server --record`.\n"},
    {"run",
     "usage: cardvm campaign run --registry DB --master HEX --campaign C.cvc --pse P.pse\n"
     "                           [--fast|--lab] [--quiet] [--workers N]\n\n"
     "Step 5 of 6: server, terminal and the ST check for every card of DB in one\n"
     "process. Resumable: cards this campaign already updated are skipped, each\n"
     "card's result is committed as soon as it is known, and a card left playing by\n"
     "an interrupted run gets a P_AUT that replaces the package. A stale counter is\n"
     "learnt and P_AUT reissued once.\n\n"
     "Outputs: the card images, the registry; a summary line: cards updated, failed,\n"
     "retried, already updated, cards/s. Exit 1 if a card failed.\n"
     "Next: `cardvm campaign status`.\n"},
    {"status",
     "usage: cardvm campaign status --registry DB [--campaign C.cvc] [--json]\n\n"
     "Step 6 of 6. How many cards DB holds and, with --campaign, how many are in each\n"
     "state of that campaign: prepared (P_AUT issued), playing (a terminal started),\n"
     "played (ST received), stale (counter moved, P_AUT to reissue), updated (ST\n"
     "verified), failed.\n"
     "  --json   one JSON object: {\"registry\", \"enrolled\", and with --campaign\n"
     "           \"campaign\" (its id) and \"states\": {state: count}} (docs/cli.md)\n"},
};

static int role_help(const char *role)
{
    for (size_t i = 0; i < sizeof role_helps / sizeof role_helps[0]; i++)
        if (!strcmp(role, role_helps[i].role)) {
            fputs(role_helps[i].text, stdout);
            return 0;
        }
    help(stdout);
    return 0;
}

typedef struct opts {
    const char *package, *example, *campaign, *pse, *registry, *dir, *serial, *image, *load;
    int profile, record, fast, quiet, replace, force, have_master, have_kos, have_kmac, json;
    unsigned long count, first, chunk, workers;
    uint8_t master[16], kos[16], kmac[16];
    campaign_action act;
} opts;

/* A 16-byte key option; says which option is wrong and why. */
static int hex16(const char *option, const char *s, uint8_t out[16])
{
    size_t len = strlen(s);
    if (hex_decode(s, out, 16) == 16 && len == 32) return 0;
    cli_error("campaign", "%s '%s': needs a 16-byte key as 32 hex digits (%zu characters given)", option, s, len);
    return -1;
}

/* Says which option has which wrong value and what it takes; returns -2
 * (reported: the caller does not print the whole usage). */
static int bad_value(const char *option, const char *value, const char *takes)
{
    cli_error("campaign", "%s '%s': needs %s", option, value, takes);
    return -2;
}

/* A whole decimal or 0x number within [lo, hi]. */
static int number(const char *s, unsigned long lo, unsigned long hi, unsigned long *out)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 0);
    if (end == s || *end || errno || s[0] == '-' || v < lo || v > hi) return -1;
    *out = v;
    return 0;
}

static int parse(int argc, char **argv, opts *o)
{
    enum { O_PKG = 256, O_EX, O_PROF, O_KOS, O_KMAC, O_INST, O_VEC, O_REPL, O_CHUNK, O_CAMP, O_PSE, O_REG, O_DIR,
           O_COUNT, O_FIRST, O_MASTER, O_REC, O_SER, O_IMG, O_FAST, O_QUIET, O_LOAD, O_FORCE, O_WORKERS, O_JSON };
    static const struct option lo[] = {
        {"package", 1, 0, O_PKG}, {"example", 1, 0, O_EX}, {"profile", 1, 0, O_PROF}, {"kos", 1, 0, O_KOS},
        {"kmac", 1, 0, O_KMAC}, {"install", 1, 0, O_INST}, {"vector", 1, 0, O_VEC}, {"replace", 0, 0, O_REPL},
        {"chunk", 1, 0, O_CHUNK}, {"campaign", 1, 0, O_CAMP}, {"pse", 1, 0, O_PSE}, {"registry", 1, 0, O_REG},
        {"dir", 1, 0, O_DIR}, {"count", 1, 0, O_COUNT}, {"first", 1, 0, O_FIRST}, {"master", 1, 0, O_MASTER},
        {"record", 0, 0, O_REC}, {"serial", 1, 0, O_SER}, {"image", 1, 0, O_IMG}, {"fast", 0, 0, O_FAST}, {"lab", 0, 0, O_FAST},
        {"quiet", 0, 0, O_QUIET}, {"load", 1, 0, O_LOAD}, {"force", 0, 0, O_FORCE}, {"workers", 1, 0, O_WORKERS},
        {"json", 0, 0, O_JSON}, {0, 0, 0, 0}};
    memset(o, 0, sizeof *o);
    o->profile = 3;
    o->count = 1000;
    o->first = 1;
    o->chunk = 224;
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        switch (c) {
        case O_PKG: o->package = optarg; break;
        case O_EX: o->example = optarg; break;
        case O_PROF:
            if (strcmp(optarg, "3") && strcmp(optarg, "4")) return bad_value("--profile", optarg, "3 (FIG.3) or 4 (FIG.4)");
            o->profile = optarg[0] - '0';
            break;
        case O_KOS: if (hex16("--kos", optarg, o->kos)) return -2; o->have_kos = 1; break;
        case O_KMAC: if (hex16("--kmac", optarg, o->kmac)) return -2; o->have_kmac = 1; break;
        case O_MASTER: if (hex16("--master", optarg, o->master)) return -2; o->have_master = 1; break;
        case O_INST: {
            char buf[128];
            snprintf(buf, sizeof buf, "%s", optarg);
            char *colon = strchr(buf, ':');
            if (colon) *colon = 0;
            long n = hex_decode(buf, o->act.applet, 16);
            if (n < 5) return bad_value("--install", optarg, "APPLET[:INSTANCE], AIDs of 5 to 16 bytes in hex");
            o->act.applet_len = (uint8_t)n;
            if (colon) {
                n = hex_decode(colon + 1, o->act.instance, 16);
                if (n < 5) return bad_value("--install", optarg, "APPLET[:INSTANCE], AIDs of 5 to 16 bytes in hex");
                o->act.instance_len = (uint8_t)n;
            }
            o->act.flags |= BROADCAST_ACT_INSTALL;
            break;
        }
        case O_VEC: {
            unsigned s, m;
            if (sscanf(optarg, "%u:%u", &s, &m) != 2 || s >= 16 || m > 0xFFFF)
                return bad_value("--vector", optarg, "SLOT:METHOD, slot 0-15, method 0-65535");
            o->act.slot = (uint8_t)s;
            o->act.method = (uint16_t)m;
            o->act.flags |= BROADCAST_ACT_VECTOR;
            break;
        }
        case O_REPL: o->act.flags |= BROADCAST_ACT_REPLACE; break;
        case O_CHUNK:
            if (number(optarg, 16, 4096, &o->chunk)) return bad_value("--chunk", optarg, "a byte count from 16 to 4096");
            break;
        case O_CAMP: o->campaign = optarg; break;
        case O_PSE: o->pse = optarg; break;
        case O_REG: o->registry = optarg; break;
        case O_DIR: o->dir = optarg; break;
        case O_COUNT:
            if (number(optarg, 1, 10000000, &o->count)) return bad_value("--count", optarg, "a card count from 1");
            break;
        case O_FIRST:
            if (number(optarg, 0, 0xFFFFFFFFul, &o->first)) return bad_value("--first", optarg, "a serial number");
            break;
        case O_REC: o->record = 1; break;
        case O_SER: o->serial = optarg; break;
        case O_IMG: o->image = optarg; break;
        case O_FAST: o->fast = 1; break;
        case O_QUIET: o->quiet = 1; break;
        case O_LOAD: o->load = optarg; break;
        case O_FORCE: o->force = 1; break;
        case O_WORKERS:
            if (number(optarg, 1, 256, &o->workers)) return bad_value("--workers", optarg, "a thread count from 1 to 256");
            break;
        case O_JSON: o->json = 1; break;
        default: return -1;
        }
    }
    return optind == argc ? 0 : -1;
}

/* ---- design ---- */
static int do_design(opts *o)
{
    if (!o->campaign || !o->pse || !o->have_kos || (o->profile == 4 && !o->have_kmac) ||
        (!o->package && !o->example)) {
        cli_error("campaign", "design: needs --package or --example, --kos (and --kmac for --profile 4), "
                              "--campaign and --pse");
        return 2;
    }
    uint8_t *owned = NULL;
    const uint8_t *ds;
    size_t len = 0;
    if (o->package) {
        char rerr[300];
        if (!(owned = cli_read_package(o->package, &len, rerr, sizeof rerr))) {
            cli_error("campaign", "%s", rerr);
            return 1;
        }
        ds = owned;
    } else if (!strcmp(o->example, "os-update")) {
        ds = example_os_update_package;
        len = example_os_update_package_len;
        if (!(o->act.flags & BROADCAST_ACT_VECTOR)) {
            /* the update's new GET OS VERSION runs only through vector slot 0 */
            o->act.flags |= BROADCAST_ACT_VECTOR;
            o->act.slot = 0;
            o->act.method = 0;
            printf("os-update: --vector 0:0 (GET OS VERSION runs the update's method 0)\n");
        }
    } else {
        cli_error("campaign", "--example: os-update");
        return 2;
    }
    campaign c;
    apdu_list pse = {0};
    int rc = campaign_design(ds, len, (uint8_t)o->profile, o->kos, o->have_kmac ? o->kmac : NULL, &o->act, o->chunk,
                             &c, &pse);
    free(owned);
    if (rc) {
        cli_error("campaign", "design failed (%d): not a package, bad chunk size or profile", rc);
        apdu_list_free(&pse);
        return 1;
    }
    if (campaign_save(o->campaign, &c) || pse_save(o->pse, &pse)) {
        cli_error("campaign", "cannot write %s / %s", o->campaign, o->pse);
        apdu_list_free(&pse);
        return 1;
    }
    char id[17];
    campaign_hex(c.id, 8, id);
    printf("campaign %s: profile FIG.%d, DATASEND %zu bytes, P_SE %zu commands (%zu bytes), same for all cards\n",
           id, o->profile, len, pse.n, pse.len);
    if (!(o->act.flags & (BROADCAST_ACT_INSTALL | BROADCAST_ACT_VECTOR)))
        printf("note: no --install and no --vector: the cards will store the package, "
               "but nothing they run changes\n");
    apdu_list_free(&pse);
    scp03_wipe(&c, sizeof c);
    return 0;
}

/* ---- enroll ---- */
/* A bar redrawn with \r on a terminal; into a file or pipe, where \r would
 * pile up on one line, a plain line at every tenth of the work. */
static void progress(const char *what, unsigned long done, unsigned long total, time_t t0, int quiet)
{
    if (quiet || !total) return;
    if (!isatty(fileno(stderr))) {
        if (done != total && done * 10 / total == (done - 1) * 10 / total) return;
        fprintf(stderr, "%s: %lu/%lu  %.0fs\n", what, done, total, difftime(time(NULL), t0));
        return;
    }
    if (done != total && done % 50) return;
    int w = 40, k = (int)(done * (unsigned long)w / total);
    double el = difftime(time(NULL), t0);
    fprintf(stderr, "\r%-8s [%.*s%*s] %lu/%lu  %.0fs", what, k, "########################################", w - k, "",
            done, total, el);
    if (done == total) fputc('\n', stderr);
    fflush(stderr);
}

static int do_enroll(opts *o)
{
    if (!o->registry || !o->dir || !o->have_master || !o->have_kos || !o->have_kmac || !o->count) {
        cli_error("campaign", "enroll: needs --registry, --dir, --count, --master, --kos, --kmac");
        return 2;
    }
    mkdir(o->dir, 0777);
    char tpl[1024];
    snprintf(tpl, sizeof tpl, "%s/issuer-template.img", o->dir);
    campaign_factory f;
    if (campaign_factory_init(&f, tpl, NULL, o->master, o->kos, o->kmac)) return 1;
    f.fast = o->fast;
    uint8_t *pkg = NULL;
    size_t pkg_len = 0;
    const uint8_t *pkgs[1];
    size_t lens[1];
    if (o->load) {
        char rerr[300];
        if (!(pkg = cli_read_package(o->load, &pkg_len, rerr, sizeof rerr))) {
            cli_error("campaign", "%s", rerr);
            return 1;
        }
        pkgs[0] = pkg;
        lens[0] = pkg_len;
        f.packages = pkgs;
        f.package_lens = lens;
        f.n_packages = 1;
    }
    registry *r;
    if (registry_open(o->registry, 1, &r)) {
        cli_error("campaign", "cannot open registry %s", o->registry);
        free(pkg);
        remove(tpl);
        campaign_factory_free(&f);
        return 1;
    }
    /* Enrolling makes fresh cards: over an existing one it would silently
     * drop its applets and updates. Check them all before touching any. */
    unsigned long existing = 0;
    char first_existing[17] = "";
    for (unsigned long i = 0; i < o->count; i++) {
        campaign_card id;
        campaign_card_default((uint32_t)(o->first + i), &id);
        char path[1200], s[17];
        campaign_hex(id.serial, 8, s);
        snprintf(path, sizeof path, "%s/card-%s.img", o->dir, s);
        registry_card rc;
        struct stat st;
        int known = registry_get(r, id.serial, &rc) == CAMPAIGN_OK;
        apdu_list_free(&rc.paut);
        if (known || stat(path, &st) == 0) {
            if (!existing++) snprintf(first_existing, sizeof first_existing, "%s", s);
        }
    }
    if (existing && !o->force) {
        cli_error("campaign",
                  "enroll: %lu of the %lu cards (first: %s) are already enrolled or on disk; nothing changed. "
                  "--first N enrolls further cards, --force replaces these (their applets and updates are lost)",
                  existing, o->count, first_existing);
        registry_close(r);
        remove(tpl);
        free(pkg);
        campaign_factory_free(&f);
        return 1;
    }
    time_t t0 = time(NULL);
    int status = 0;
    registry_begin(r);
    for (unsigned long i = 0; i < o->count; i++) {
        campaign_card id;
        campaign_card_default((uint32_t)(o->first + i), &id);
        char path[1200], s[17];
        campaign_hex(id.serial, 8, s);
        snprintf(path, sizeof path, "%s/card-%s.img", o->dir, s);
        if (campaign_factory_make(&f, path, &id) || registry_add(r, &id, path)) {
            cli_error("campaign", "enroll: card %s failed", s);
            status = 1;
            break;
        }
        progress("enroll", i + 1, o->count, t0, o->quiet);
    }
    registry_commit(r);
    registry_close(r);
    remove(tpl);
    free(pkg);
    campaign_factory_free(&f);
    if (!status) {
        printf("enrolled %lu cards in %s (registry %s)", o->count, o->dir, o->registry);
        if (existing) printf(", %lu of them replaced (--force)", existing);
        printf("\n");
    }
    return status;
}

/* ---- server ---- */
static int issue_paut(registry *r, const campaign *c, const char *cid, const uint8_t master[16], registry_card *rc)
{
    uint8_t hc[8];
    if (rng_get_bytes(hc, 8, NULL) != 8) return CAMPAIGN_ERR_CRYPTO;
    apdu_list p = {0};
    int rv = campaign_build_paut(c, master, &rc->id, hc, &p, NULL);
    if (!rv) rv = registry_set_paut(r, rc->id.serial, cid, hc, &p, rc->attempts + 1);
    if (!rv) {
        memcpy(rc->hc, hc, 8);
        apdu_list_free(&rc->paut);
        rc->paut = p;
        rc->attempts++;
    } else {
        apdu_list_free(&p);
    }
    return rv;
}

/* Verify the reply a terminal brought back; record ST. */
static int record_reply(registry *r, const campaign *c, const uint8_t master[16], registry_card *rc,
                        const uint8_t *reply, size_t reply_len)
{
    scp03_host_session h;
    apdu_list p = {0};
    int rv = campaign_build_paut(c, master, &rc->id, rc->hc, &p, &h);   /* same host session again */
    apdu_list_free(&p);
    if (rv) return rv;
    campaign_st st;
    rv = campaign_check_st(c, &rc->id, &h, reply, reply_len, &st);
    scp03_host_close(&h);
    if (rv) return registry_set_status(r, rc->id.serial, "failed", rc->id.counter, NULL, 0, 0) ? CAMPAIGN_ERR_IO : rv;
    uint8_t stb[64];
    size_t n = 0;
    stb[n++] = st.action;
    memcpy(stb + n, st.hash, 32);
    n += 32;
    memcpy(stb + n, st.serial, 8);
    n += 8;
    stb[n++] = (uint8_t)(st.counter >> 16);
    stb[n++] = (uint8_t)(st.counter >> 8);
    stb[n++] = (uint8_t)st.counter;
    memcpy(stb + n, st.campaign, 8);
    n += 8;
    return registry_set_status(r, rc->id.serial, "updated", st.counter, stb, n, 1);
}

static int open_reg_campaign(opts *o, registry **r, campaign *c, char cid[17])
{
    if (!o->registry || !o->campaign || !o->have_master) {
        cli_error("campaign", "needs --registry, --campaign and --master");
        return 2;
    }
    if (campaign_load(o->campaign, c)) {
        cli_error("campaign", "%s: not a campaign record", o->campaign);
        return 1;
    }
    campaign_hex(c->id, 8, cid);
    if (registry_open(o->registry, 0, r)) {
        cli_error("campaign", "cannot open registry %s (no such file, or not a registry)", o->registry);
        return 1;
    }
    return 0;
}

static int do_server(opts *o)
{
    registry *r;
    campaign c;
    char cid[17];
    int st = open_reg_campaign(o, &r, &c, cid);
    if (st) return st;
    long total = registry_count(r, NULL, NULL);
    uint8_t (*serials)[8] = malloc((size_t)(total > 0 ? total : 1) * 8);
    size_t n = serials ? registry_serials(r, serials, (size_t)total) : 0;
    unsigned long issued = 0, updated = 0, failed = 0, reissued = 0;
    registry_begin(r);
    for (size_t i = 0; i < n; i++) {
        registry_card rc;
        if (registry_get(r, serials[i], &rc)) continue;
        int same = !strcmp(rc.campaign, cid);
        if (o->record) {
            if (same && !strcmp(rc.status, "played")) {
                if (record_reply(r, &c, o->master, &rc, rc.reply, rc.reply_len) == 0) updated++;
                else failed++;
            } else if (same && !strcmp(rc.status, "stale")) {
                if (!issue_paut(r, &c, cid, o->master, &rc)) reissued++;
            }
        } else if (!same || (strcmp(rc.status, "updated") && strcmp(rc.status, "prepared"))) {
            if (!same) rc.attempts = 0;
            if (!issue_paut(r, &c, cid, o->master, &rc)) issued++;
        }
        apdu_list_free(&rc.paut);
    }
    registry_commit(r);
    if (o->record) printf("recorded: %lu updated, %lu failed, %lu P_AUT reissued\n", updated, failed, reissued);
    else printf("issued %lu P_AUT for campaign %s\n", issued, cid);
    free(serials);
    registry_close(r);
    return 0;
}

/* ---- terminal ---- */
static int send_transport(void *ctx, const uint8_t *cmd, size_t n, uint8_t *rsp, size_t cap, size_t *rlen)
{
    return transport_transmit(ctx, cmd, n, rsp, cap, rlen);
}

static int do_terminal(opts *o)
{
    if (!o->registry || !o->pse || !o->serial) {
        cli_error("campaign", "terminal: needs --registry, --pse and --serial");
        return 2;
    }
    uint8_t serial[8];
    if (hex_decode(o->serial, serial, 8) != 8) return 2;
    registry *r;
    if (registry_open(o->registry, 0, &r)) {
        cli_error("campaign", "cannot open registry %s (no such file, or not a registry)", o->registry);
        return 1;
    }
    registry_card rc;
    apdu_list pse = {0};
    int status = 1;
    if (registry_get(r, serial, &rc) || !rc.paut.n || strcmp(rc.status, "prepared")) {
        cli_error("campaign", "terminal: no P_AUT waiting for card %s", o->serial);
        goto out;
    }
    if (pse_load(o->pse, &pse)) {
        cli_error("campaign", "%s: not a P_SE file", o->pse);
        goto out;
    }
    transport *t = cli_open_card(o->image ? o->image : rc.image, NULL);
    if (!t) goto out;
    uint8_t st[600];
    size_t stn = 0;
    uint32_t rep = 0;
    uint16_t sw = 0;
    int rv = campaign_play(send_transport, t, &rc.paut, &pse, st, sizeof st, &stn, &rep, &sw);
    char commit_error[400];
    snprintf(commit_error, sizeof commit_error, "%s", transport_commit_error(t));
    transport_close(t);
    if (commit_error[0]) {
        /* the card rolled the command back (6581): the image is as it was */
        registry_set_status(r, serial, "failed", rc.id.counter, NULL, 0, 0);
        cli_error("campaign", "terminal: card image not written: %s", commit_error);
        status = CLI_EXIT_IO;
    } else if (rv == CAMPAIGN_OK) {
        registry_set_status(r, serial, "played", rc.id.counter, st, stn, 0);
        char h[1300];
        campaign_hex(st, stn, h);
        printf("ST (for the server, under R-MAC/R-ENC): %s\n", h);
        status = 0;
    } else if (rv == CAMPAIGN_ERR_STALE) {
        registry_set_status(r, serial, "stale", rep, NULL, 0, 0);
        printf("card %s: sequence counter moved (now %u): the server must reissue P_AUT\n", o->serial, rep);
    } else {
        registry_set_status(r, serial, "failed", rc.id.counter, NULL, 0, 0);
        printf("card %s: failed with SW %04X\n", o->serial, sw);
    }
out:
    apdu_list_free(&rc.paut);
    apdu_list_free(&pse);
    registry_close(r);
    return status;
}

/* ---- run ---- */
/* One card of a batch: its registry row, the campaign as its P_AUT has it
 * (REPLACE for a card that may already have the package), and its job. */
typedef struct run_card {
    registry_card rc;
    campaign cr;
    campaign_job job;
    int attempt;
} run_card;

/* Issue (or keep) the P_AUT of each card and mark it "playing", durable
 * before any of these cards changes: a resume knows they were in flight. */
static int prepare_batch(registry *r, opts *o, const char *cid, run_card *b, size_t nb)
{
    for (size_t k = 0; k < nb; k++) {
        registry_card *rc = &b[k].rc;
        int need = strcmp(rc->campaign, cid) || strcmp(rc->status, "prepared") || !rc->paut.n || b[k].attempt;
        if (need && issue_paut(r, &b[k].cr, cid, o->master, rc)) return -1;
        if (registry_set_status(r, rc->id.serial, "playing", rc->id.counter, NULL, 0, 0)) return -1;
        strcpy(rc->status, "playing");
        b[k].job = (campaign_job){.image = rc->image, .paut = &rc->paut};
    }
    return registry_commit(r) || registry_begin(r) ? -1 : 0;
}

static int do_run(opts *o)
{
    registry *r;
    campaign c;
    char cid[17];
    int st = open_reg_campaign(o, &r, &c, cid);
    if (st) return st;
    apdu_list pse = {0};
    if (!o->pse || pse_load(o->pse, &pse)) {
        cli_error("campaign", "run: --pse: not a P_SE file");
        registry_close(r);
        return 1;
    }
    long total = registry_count(r, NULL, NULL);
    uint8_t (*serials)[8] = malloc((size_t)(total > 0 ? total : 1) * 8);
    size_t n = serials ? registry_serials(r, serials, (size_t)total) : 0;
    unsigned long updated = 0, failed = 0, retried = 0, skipped = 0, io_errors = 0;
    campaign_runner runner = {.pse = &pse, .durability = o->fast ? CHIP_DURABLE_LAB : CHIP_DURABLE_FULL,
                              .workers = (unsigned)o->workers};
    unsigned workers = runner.workers ? runner.workers : campaign_runner_default_workers(runner.durability);
    /* Cards go to the workers in batches; the registry is written once
     * before a batch (P_AUT, "playing") and once after it (results). */
    size_t batch = workers * 8u < 64u ? 64u : workers * 8u;
    run_card *b = calloc(batch, sizeof *b);
    if (!b) {
        free(serials);
        apdu_list_free(&pse);
        registry_close(r);
        return 1;
    }
    time_t t0 = time(NULL);
    struct timespec a, e;
    clock_gettime(CLOCK_MONOTONIC, &a);
    registry_begin(r);
    for (size_t i = 0; i < n;) {
        size_t nb = 0;
        for (; i < n && nb < batch; i++) {
            run_card *x = &b[nb];
            memset(x, 0, sizeof *x);
            if (registry_get(r, serials[i], &x->rc)) continue;
            if (!strcmp(x->rc.campaign, cid) && !strcmp(x->rc.status, "updated")) {
                skipped++;
                apdu_list_free(&x->rc.paut);
                progress("run", i + 1, n, t0, o->quiet);
                continue;
            }
            if (strcmp(x->rc.campaign, cid)) x->rc.attempts = 0;
            /* A card left "playing" by an interrupted run may have been
             * updated without the registry knowing: its new P_AUT replaces
             * the package (activation is then idempotent) instead of failing
             * on "exists". */
            int uncertain = !strcmp(x->rc.campaign, cid) &&
                            (!strcmp(x->rc.status, "playing") || !strcmp(x->rc.status, "failed"));
            x->cr = c;
            if (uncertain) x->cr.action[0] |= BROADCAST_ACT_REPLACE;
            nb++;
        }
        /* Attempt 0, then once more for the cards whose counter moved. */
        size_t todo = nb;
        for (int attempt = 0; attempt < 2 && todo; attempt++) {
            size_t np = 0;
            for (size_t k = 0; k < nb; k++)
                if (b[k].attempt == attempt) {
                    if (np != k) {
                        run_card t = b[np];
                        b[np] = b[k];
                        b[k] = t;
                    }
                    np++;
                }
            if (prepare_batch(r, o, cid, b, np)) {
                cli_error("campaign", "run: cannot write registry %s", o->registry);
                failed += np;
                i = n;
                break;
            }
            campaign_job *jobs = malloc(np * sizeof *jobs);
            for (size_t k = 0; jobs && k < np; k++) jobs[k] = b[k].job;
            if (jobs) campaign_run_jobs(&runner, &c, jobs, np);
            todo = 0;
            for (size_t k = 0; k < np; k++) {
                run_card *x = &b[k];
                campaign_job *j = jobs ? &jobs[k] : &x->job;
                if (!jobs) j->rv = CAMPAIGN_ERR_PARAM;
                int ok = 0;
                if (j->rv == CAMPAIGN_OK) {
                    ok = record_reply(r, &x->cr, o->master, &x->rc, j->reply, j->reply_len) == 0;
                } else if (j->rv == CAMPAIGN_ERR_STALE && attempt == 0) {
                    /* the counter moved: the server learns it and reissues once */
                    x->rc.id.counter = j->reported;
                    registry_set_status(r, x->rc.id.serial, "stale", j->reported, NULL, 0, 0);
                    retried++;
                    x->attempt = 1;
                    todo++;
                    continue;
                }
                if (j->rv == CAMPAIGN_ERR_IO && j->err[0]) {
                    /* the card image could not be read or a commit failed (6581) */
                    char s[17];
                    campaign_hex(x->rc.id.serial, 8, s);
                    cli_error("campaign", "card %s: %s", s, j->err);
                    io_errors++;
                }
                if (ok) updated++;
                else {
                    failed++;
                    registry_set_status(r, x->rc.id.serial, "failed", x->rc.id.counter, NULL, 0, 0);
                }
                x->attempt = 2;
            }
            free(jobs);
            registry_commit(r);   /* resumable: each card's result is durable */
            registry_begin(r);
        }
        for (size_t k = 0; k < nb; k++) {
            apdu_list_free(&b[k].rc.paut);
            scp03_wipe(&b[k].cr, sizeof b[k].cr);
        }
        progress("run", i, n, t0, o->quiet);
    }
    registry_commit(r);
    clock_gettime(CLOCK_MONOTONIC, &e);
    double secs = (double)(e.tv_sec - a.tv_sec) + (double)(e.tv_nsec - a.tv_nsec) / 1e9;
    printf("campaign %s: %zu cards: %lu updated, %lu failed, %lu retried, %lu already updated; %.2f s (%.0f cards/s, "
           "%u workers)\n",
           cid, n, updated, failed, retried, skipped, secs, secs > 0 ? (double)(updated) / secs : 0.0, workers);
    if (!(c.action[0] & (BROADCAST_ACT_INSTALL | BROADCAST_ACT_VECTOR)) && updated)
        printf("note: this campaign only stores its package (no install, no vector): "
               "the updated cards run nothing new\n");
    free(b);
    free(serials);
    apdu_list_free(&pse);
    registry_close(r);
    return io_errors ? CLI_EXIT_IO : failed ? 1 : 0;
}

static int do_status(opts *o)
{
    if (!o->registry) {
        cli_error("campaign", "status: needs --registry");
        return 2;
    }
    registry *r;
    if (registry_open(o->registry, 0, &r)) {
        cli_error("campaign", "cannot open registry %s (no such file, or not a registry)", o->registry);
        return 1;
    }
    static const char *sts[] = {"prepared", "playing", "played", "stale", "updated", "failed"};
    long enrolled = registry_count(r, NULL, NULL);
    campaign c;
    char cid[17] = "";
    int have = 0;
    if (o->campaign) {
        if (campaign_load(o->campaign, &c)) {
            cli_error("campaign", "status: --campaign %s: not a campaign record", o->campaign);
            registry_close(r);
            return 1;
        }
        campaign_hex(c.id, 8, cid);
        scp03_wipe(&c, sizeof c);
        have = 1;
    }
    int rc = 0;
    if (o->json) {
        json_t *j = json_object();
        json_object_set_new(j, "registry", json_string(o->registry));
        json_object_set_new(j, "enrolled", json_integer(enrolled));
        if (have) {
            json_object_set_new(j, "campaign", json_string(cid));
            json_t *states = json_object();
            for (int i = 0; i < 6; i++) json_object_set_new(states, sts[i], json_integer(registry_count(r, cid, sts[i])));
            json_object_set_new(j, "states", states);
        }
        if (json_dumpf(j, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER) != 0) rc = 1;
        fputc('\n', stdout);
        json_decref(j);
    } else {
        printf("enrolled: %ld cards\n", enrolled);
        if (have)
            for (int i = 0; i < 6; i++) printf("%-9s %ld\n", sts[i], registry_count(r, cid, sts[i]));
    }
    registry_close(r);
    return rc;
}

int cmd_campaign(int argc, char **argv)
{
    if (argc < 2) {
        help(stderr);
        return 2;
    }
    if (cli_wants_help(argc, argv)) {
        if (argv[1][0] == '-') {
            help(stdout);
            return 0;
        }
        return role_help(argv[1]);
    }
    const char *role = argv[1];
    opts o;
    int parsed = parse(argc - 1, argv + 1, &o);
    if (parsed) {
        if (parsed != -2) help(stderr);   /* -2: the wrong value was named */
        return CLI_EXIT_USAGE;
    }
    int rc;
    if (!strcmp(role, "design")) rc = do_design(&o);
    else if (!strcmp(role, "enroll")) rc = do_enroll(&o);
    else if (!strcmp(role, "server")) rc = do_server(&o);
    else if (!strcmp(role, "terminal")) rc = do_terminal(&o);
    else if (!strcmp(role, "run")) rc = do_run(&o);
    else if (!strcmp(role, "status")) rc = do_status(&o);
    else {
        help(stderr);
        rc = 2;
    }
    scp03_wipe(&o, sizeof o);
    return rc;
}
