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
 *   status    counts per status
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <tomcrypt.h>

#include "apdu.h"
#include "broadcast.h"
#include "campaign_cards.h"
#include "campaign_core.h"
#include "campaign_registry.h"
#include "card.h"
#include "cli.h"
#include "packages.h"

static void help(FILE *f)
{
    fprintf(f,
            "usage: cardvm campaign ROLE [options]   (seed 004 broadcast update, docs/broadcast.md)\n\n"
            "  design   --package FILE.cap | --example os-update, --profile 3|4, --kos HEX [--kmac HEX]\n"
            "           [--install APPLET[:INSTANCE]] [--vector SLOT:METHOD] [--replace] [--chunk N]\n"
            "           --campaign OUT.cvc --pse OUT.pse\n"
            "  enroll   --registry DB --dir DIR --count N --master HEX --kos HEX --kmac HEX\n"
            "           [--first N] [--load FILE.cap] [--fast|--lab] [--force]\n"
            "           (refuses to replace cards already enrolled or on disk unless --force)\n"
            "  server   --registry DB --master HEX --campaign C.cvc [--record]\n"
            "  terminal --registry DB --pse P.pse --serial HEX [--image FILE]\n"
            "  run      --registry DB --master HEX --campaign C.cvc --pse P.pse [--fast|--lab] [--quiet]\n"
            "  status   --registry DB [--campaign C.cvc]\n");
}

typedef struct opts {
    const char *package, *example, *campaign, *pse, *registry, *dir, *serial, *image, *load;
    int profile, record, fast, quiet, replace, force, have_master, have_kos, have_kmac;
    unsigned long count, first, chunk;
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
           O_COUNT, O_FIRST, O_MASTER, O_REC, O_SER, O_IMG, O_FAST, O_QUIET, O_LOAD, O_FORCE };
    static const struct option lo[] = {
        {"package", 1, 0, O_PKG}, {"example", 1, 0, O_EX}, {"profile", 1, 0, O_PROF}, {"kos", 1, 0, O_KOS},
        {"kmac", 1, 0, O_KMAC}, {"install", 1, 0, O_INST}, {"vector", 1, 0, O_VEC}, {"replace", 0, 0, O_REPL},
        {"chunk", 1, 0, O_CHUNK}, {"campaign", 1, 0, O_CAMP}, {"pse", 1, 0, O_PSE}, {"registry", 1, 0, O_REG},
        {"dir", 1, 0, O_DIR}, {"count", 1, 0, O_COUNT}, {"first", 1, 0, O_FIRST}, {"master", 1, 0, O_MASTER},
        {"record", 0, 0, O_REC}, {"serial", 1, 0, O_SER}, {"image", 1, 0, O_IMG}, {"fast", 0, 0, O_FAST}, {"lab", 0, 0, O_FAST},
        {"quiet", 0, 0, O_QUIET}, {"load", 1, 0, O_LOAD}, {"force", 0, 0, O_FORCE}, {0, 0, 0, 0}};
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
        scp03_wipe(&f, sizeof f);
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
        scp03_wipe(&f, sizeof f);
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
    scp03_wipe(&f, sizeof f);
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
    transport_close(t);
    if (rv == CAMPAIGN_OK) {
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
static int send_card(void *ctx, const uint8_t *cmd, size_t n, uint8_t *rsp, size_t cap, size_t *rlen)
{
    return card_transmit(ctx, cmd, n, rsp, cap, rlen);
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
    unsigned long updated = 0, failed = 0, retried = 0, skipped = 0;
    time_t t0 = time(NULL);
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    registry_begin(r);
    for (size_t i = 0; i < n; i++) {
        registry_card rc;
        if (registry_get(r, serials[i], &rc)) continue;
        if (!strcmp(rc.campaign, cid) && !strcmp(rc.status, "updated")) {
            skipped++;
            apdu_list_free(&rc.paut);
            progress("run", i + 1, n, t0, o->quiet);
            continue;
        }
        if (strcmp(rc.campaign, cid)) rc.attempts = 0;
        /* A card left "playing" by an interrupted run may have been updated
         * without the registry knowing: its new P_AUT replaces the package
         * (activation is then idempotent) instead of failing on "exists". */
        int uncertain = !strcmp(rc.campaign, cid) && (!strcmp(rc.status, "playing") || !strcmp(rc.status, "failed"));
        campaign cr = c;
        if (uncertain) cr.action[0] |= BROADCAST_ACT_REPLACE;
        card *cd = NULL;
        char err[256];
        int ok = 0;
        if (card_open(rc.image, &cd, err, sizeof err) == 0) {
            if (o->fast) chip_set_sync(card_chip(cd), CHIP_SYNC_OFF);
            for (int attempt = 0; attempt < 2 && !ok; attempt++) {
                int need = strcmp(rc.campaign, cid) || strcmp(rc.status, "prepared") || !rc.paut.n || attempt;
                if (need && issue_paut(r, &cr, cid, o->master, &rc)) break;
                /* durable before the card changes: a resume knows it was in flight */
                if (registry_set_status(r, rc.id.serial, "playing", rc.id.counter, NULL, 0, 0) ||
                    registry_commit(r) || registry_begin(r))
                    break;
                strcpy(rc.status, "playing");
                card_power(cd, CARD_COLD, NULL, NULL);
                uint8_t reply[600];
                size_t rn = 0;
                uint32_t rep = 0;
                uint16_t sw = 0;
                int rv = campaign_play(send_card, cd, &rc.paut, &pse, reply, sizeof reply, &rn, &rep, &sw);
                if (rv == CAMPAIGN_OK) {
                    ok = record_reply(r, &cr, o->master, &rc, reply, rn) == 0;
                    break;
                }
                if (rv != CAMPAIGN_ERR_STALE) break;
                /* the counter moved: the server learns it and reissues once */
                rc.id.counter = rep;
                registry_set_status(r, rc.id.serial, "stale", rep, NULL, 0, 0);
                retried++;
            }
            card_close(cd);
        }
        if (ok) updated++;
        else {
            failed++;
            registry_set_status(r, rc.id.serial, "failed", rc.id.counter, NULL, 0, 0);
        }
        apdu_list_free(&rc.paut);
        registry_commit(r);   /* resumable: each card's result is durable */
        registry_begin(r);
        progress("run", i + 1, n, t0, o->quiet);
    }
    registry_commit(r);
    clock_gettime(CLOCK_MONOTONIC, &b);
    double secs = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
    printf("campaign %s: %zu cards: %lu updated, %lu failed, %lu retried, %lu already updated; %.2f s (%.0f cards/s)\n",
           cid, n, updated, failed, retried, skipped, secs, secs > 0 ? (double)(updated) / secs : 0.0);
    free(serials);
    apdu_list_free(&pse);
    registry_close(r);
    return failed ? 1 : 0;
}

static int do_status(opts *o)
{
    if (!o->registry) return 2;
    registry *r;
    if (registry_open(o->registry, 0, &r)) {
        cli_error("campaign", "cannot open registry %s (no such file, or not a registry)", o->registry);
        return 1;
    }
    printf("enrolled: %ld cards\n", registry_count(r, NULL, NULL));
    if (o->campaign) {
        campaign c;
        char cid[17];
        if (!campaign_load(o->campaign, &c)) {
            campaign_hex(c.id, 8, cid);
            static const char *sts[] = {"prepared", "playing", "played", "stale", "updated", "failed"};
            for (int i = 0; i < 6; i++) printf("%-9s %ld\n", sts[i], registry_count(r, cid, sts[i]));
        }
    }
    registry_close(r);
    return 0;
}

int cmd_campaign(int argc, char **argv)
{
    if (argc < 2 || cli_wants_help(argc, argv)) {
        help(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
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
