/*
 * cap_transcripts.c — the CAP acceptance runner: real converter CAP files
 * loaded over SCP03 into a fresh card, installed, and their shared APDU
 * transcripts replayed, answer by answer.
 *
 * Usage (in process, a fresh image from `cardvm create` per run):
 *   cap_transcripts --shared ../shared --cardvm build/bin/cardvm counter objects
 *   cap_transcripts --shared ../shared --cardvm CARDVM --variant jc222 libshare
 *   cap_transcripts --shared ../shared --cardvm CARDVM public
 * Through PC/SC (the card in READER must be fresh; one transcript, one variant):
 *   cap_transcripts --shared ../shared --reader 'cardvm c.img' --variant jc305u3 counter
 * Names: a transcript (counter, pinaes, objects, libshare, apdukit,
 * apdukit-channels: ../shared/javacard/applets/<folder>/<name>.apdu, the
 * folder being the name up to its first '-'), or `public` (every CAP under
 * ../shared/javacard/public: load, install each applet, SELECT it -> 9000,
 * or the answer its code gives, see public_params;
 * `public:TEXT` only those whose file name contains TEXT).
 * Variants: jc222 jc222-nodebug jc305u3 jc305u3-nodebug (default: all four).
 * Other options: --first (stop a transcript at its first mismatch),
 * --trace (APDUs on stderr), --workdir DIR (images; default a temp folder).
 *
 * What it does per transcript and variant: loads every CAP of the variant's
 * folder (a library before the packages that import it) with INSTALL [for
 * load] + LOAD blocks through tools/gp_host.c over SCP03 (level 03), installs
 * each "@install" line with INSTALL [for install and make selectable] whose
 * privileges and C9 are taken from the transcript's bArray (so install()
 * receives exactly that bArray), then replays the steps: "# reset" is a cold
 * reset, "=>" is sent plain and its answer compared with "<=" ('?' = any
 * digit).
 *
 * The ISD convention (../shared/javacard/README.md): the transcripts assume
 * no default applet, but on this GlobalPlatform card the ISD is selected
 * after a reset, so the commands before the first successful SELECT reach
 * the ISD. Their expected answer (6999 or the like) is not compared; the
 * ISD's answer must be an error status word (not 9000) and is printed.
 *
 * 61xx: the card object answers a command without Le (case 3) whose applet
 * sends data with 61xx, as ISO 7816-4 has it; the transcripts hold what the
 * applet sent. The runner does what PC/SC hosts and GP tools do: GET
 * RESPONSE until the data is complete, then compares (unless the
 * transcript itself expects 61xx).
 *
 * Output: one line per mismatch, for the engine and API work:
 *   counter jc222 line 23: => 8011000006
 *       expected 0000000100009000
 *       got      6F00
 * then "PASS|FAIL NAME VARIANT (k of n answers)". Loading and installing
 * failures are reported with the GP step and status word ("load
 * loyaltysrv.cap: LOAD block 3: 6A80"). Exit 0 all passed, 1 a failure, 2
 * usage, 77 the shared folder is absent (skipped).
 */
#include <dirent.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cap_file.h"
#include "cap_verify.h"
#include "gp_host.h"
#include "testfiles.h"
#include "transcript.h"
#include "transport.h"

static const char *all_variants[] = {"jc222", "jc222-nodebug", "jc305u3", "jc305u3-nodebug"};

typedef struct runner {
    const char *shared, *cardvm, *reader;
    char workdir[512], template_img[600];
    int first_only;
    FILE *trace;
    unsigned run_no;
} runner;

/* ---- the card ---- */
typedef struct card_link {
    transport *t;
    gp_session gp;
    char image[700];
} card_link;

static int card_open(runner *r, card_link *c)
{
    char err[300];
    memset(c, 0, sizeof *c);
    if (r->reader) {
        if (transport_open_reader(r->reader, &c->t, err, sizeof err)) {
            fprintf(stderr, "reader %s: %s\n", r->reader, err);
            return -1;
        }
    } else {
        if (!r->template_img[0]) {
            snprintf(r->template_img, sizeof r->template_img, "%s/template.img", r->workdir);
            char cmd[1400];
            snprintf(cmd, sizeof cmd, "'%s' create '%s' --quiet", r->cardvm, r->template_img);
            if (system(cmd) != 0) {
                fprintf(stderr, "cannot create a card: %s\n", cmd);
                r->template_img[0] = 0;
                return -1;
            }
        }
        snprintf(c->image, sizeof c->image, "%s/card-%u.img", r->workdir, r->run_no++);
        if (test_copy_file(r->template_img, c->image) || transport_open_image(c->image, &c->t, err, sizeof err)) {
            fprintf(stderr, "card image %s: %s\n", c->image, err);
            return -1;
        }
    }
    transport_set_trace(c->t, r->trace);
    gp_init(&c->gp, c->t, NULL);
    return 0;
}

static void card_close(card_link *c)
{
    gp_close(&c->gp);
    if (c->t) transport_close(c->t);
    if (c->image[0]) unlink(c->image);
    memset(c, 0, sizeof *c);
}

static int open_channel(card_link *c)
{
    gp_keys k;
    uint16_t sw = 0;
    gp_default_keys(&k);
    if (gp_open(&c->gp, &k, 0x03, NULL, 0, &sw) || !c->gp.open) {
        printf("    SCP03: %s (SW %04X)\n", c->gp.err[0] ? c->gp.err : "refused", sw);
        return -1;
    }
    return 0;
}

/* ---- packages ---- */
typedef struct pkg {
    char path[1200];
    capfile f;
    int loaded;
} pkg;

/* 1 when package a imports package b (Import component of a). */
static int imports(const pkg *a, const pkg *b)
{
    const capfile_component *ic = capfile_component_of(&a->f, 4);
    if (!ic) return 0;
    const uint8_t *p = a->f.load_file + ic->offset + 3, *end = a->f.load_file + ic->offset + ic->size;
    unsigned count = p < end ? *p++ : 0;
    for (unsigned i = 0; i < count && end - p >= 3; i++) {
        uint8_t al = p[2];
        if (end - p < 3 + al) break;
        if (al == b->f.pkg_aid_len && !memcmp(p + 3, b->f.pkg_aid, al)) return 1;
        p += 3 + al;
    }
    return 0;
}

static int cmp_path(const void *a, const void *b) { return strcmp(((const pkg *)a)->path, ((const pkg *)b)->path); }

/* Every CAP of a folder, in an order where imports come first. */
static int read_packages(const char *dir, pkg *out, unsigned cap, unsigned *n)
{
    DIR *d = opendir(dir);
    *n = 0;
    if (!d) { printf("    cannot open %s\n", dir); return -1; }
    struct dirent *de;
    pkg tmp[16];
    unsigned m = 0;
    while ((de = readdir(d)) != NULL) {
        size_t l = strlen(de->d_name);
        if (l < 5 || strcmp(de->d_name + l - 4, ".cap") || m >= 16 || m >= cap) continue;
        memset(&tmp[m], 0, sizeof tmp[m]);
        int w = snprintf(tmp[m].path, sizeof tmp[m].path, "%s/%s", dir, de->d_name);
        if (w > 0 && (size_t)w < sizeof tmp[m].path) m++;
    }
    closedir(d);
    qsort(tmp, m, sizeof tmp[0], cmp_path);
    for (unsigned i = 0; i < m; i++) {
        char err[400];
        if (capfile_read(tmp[i].path, 0, &tmp[i].f, err, sizeof err)) {
            printf("    %s\n", err);
            for (unsigned k = 0; k <= i; k++) capfile_free(&tmp[k].f);
            return -1;
        }
    }
    /* dependency order: repeatedly take a package none of the rest imports from */
    int used[16] = {0};
    for (unsigned placed = 0; placed < m; placed++) {
        unsigned pick = m;
        for (unsigned i = 0; i < m && pick == m; i++) {
            if (used[i]) continue;
            int ready = 1;
            for (unsigned j = 0; j < m; j++)
                if (!used[j] && j != i && imports(&tmp[i], &tmp[j])) ready = 0;
            if (ready) pick = i;
        }
        if (pick == m) {
            printf("    %s: the packages import each other in a cycle\n", dir);
            for (unsigned k = 0; k < m; k++) capfile_free(&tmp[k].f);
            return -1;
        }
        used[pick] = 1;
        out[(*n)++] = tmp[pick];
    }
    return 0;
}

static const char *base_name(const char *p)
{
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

/* Why a card may have refused a load: the same verifier on the host, with
 * the packages loaded before as libraries. */
typedef struct host_libs {
    cap_view v[8];
    unsigned n;
} host_libs;

static const cap_view *host_find(void *ctx, const uint8_t *aid, uint8_t aid_len)
{
    host_libs *h = ctx;
    for (unsigned i = 0; i < h->n; i++)
        if (h->v[i].pkg_aid.len == aid_len && !memcmp(h->v[i].pkg_aid.b, aid, aid_len)) return &h->v[i];
    return NULL;
}

static void explain_refusal(const pkg *p, unsigned upto)
{
    host_libs h;
    char err[512] = "";
    memset(&h, 0, sizeof h);
    for (unsigned i = 0; i < upto && i < 8; i++)
        if (cap_parse(p[i].f.load_file, p[i].f.len, &h.v[h.n], err, sizeof err) == 0) h.n++;
    cap_link_env env;
    cap_link_env_builtin(&env);
    env.find_user = host_find;
    env.ctx = &h;
    err[0] = 0;
    int rc = vm_cap_verify_load_file(p[upto].f.load_file, p[upto].f.len, &env, 0, err, sizeof err);
    if (rc) printf("        host verifier: %s\n", err[0] ? err : "refused");
    else printf("        host verifier: accepted (so the card's linker or storage refused it)\n");
    for (unsigned i = 0; i < 8; i++) cap_view_free(&h.v[i]);
}

static int load_all(card_link *c, pkg *p, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        uint16_t sw = 0;
        int blk = -1;
        if (gp_load_package(&c->gp, p[i].f.load_file, p[i].f.len, 1, &sw, &blk)) {
            printf("    load %s: %s\n", base_name(p[i].path), c->gp.err);
            return -1;
        }
        if (sw != 0x9000) {
            if (blk < 0) printf("    load %s: INSTALL [for load]: %04X\n", base_name(p[i].path), sw);
            else printf("    load %s: LOAD block %d: %04X\n", base_name(p[i].path), blk, sw);
            if (blk >= 0) explain_refusal(p, i);
            return -1;
        }
        p[i].loaded = 1;
    }
    return 0;
}

/* The applet class of an instance: the Applet component's AID equal to the
 * instance AID, or the package's only applet. */
static const capfile_applet *applet_for(const pkg *p, unsigned n, const tr_install *in, const pkg **owner)
{
    for (unsigned i = 0; i < n; i++) {
        if (p[i].f.pkg_aid_len != in->pkg_len || memcmp(p[i].f.pkg_aid, in->pkg, in->pkg_len)) continue;
        *owner = &p[i];
        for (unsigned k = 0; k < p[i].f.n_applets; k++)
            if (p[i].f.applets[k].aid_len == in->instance_len &&
                !memcmp(p[i].f.applets[k].aid, in->instance, in->instance_len))
                return &p[i].f.applets[k];
        return p[i].f.n_applets == 1 ? &p[i].f.applets[0] : NULL;
    }
    return NULL;
}

static int install_one(card_link *c, const pkg *p, unsigned n, const tr_install *in)
{
    const pkg *owner = NULL;
    const capfile_applet *a = applet_for(p, n, in, &owner);
    if (!a) {
        printf("    @install %s: no applet class for it in package of the transcript\n", in->class_name);
        return -1;
    }
    /* bArray: instance AID (len, bytes), privileges (len, bytes), params (len, bytes) */
    const uint8_t *b = in->barray, *end = in->barray + in->barray_len;
    const uint8_t *f[3];
    size_t fl[3];
    for (int k = 0; k < 3; k++) {
        if (b >= end || *b > end - b - 1) {
            printf("    @install %s: install parameters are not instance/privileges/params\n", in->class_name);
            return -1;
        }
        fl[k] = *b;
        f[k] = b + 1;
        b += 1 + *b;
    }
    if (b != end || fl[0] != in->instance_len || memcmp(f[0], in->instance, fl[0]) || (fl[1] != 1 && fl[1] != 3)) {
        printf("    @install %s: install parameters do not name the instance\n", in->class_name);
        return -1;
    }
    gp_install_req req = {0x0C, owner->f.pkg_aid, owner->f.pkg_aid_len, a->aid, a->aid_len, in->instance,
                          in->instance_len, f[1], fl[1], f[2], fl[2], 0};
    uint16_t sw = 0;
    if (gp_install_send(&c->gp, &req, &sw)) {
        printf("    install %s: %s\n", in->class_name, c->gp.err);
        return -1;
    }
    if (sw != 0x9000) {
        printf("    install %s: INSTALL [for install and make selectable]: %04X\n", in->class_name, sw);
        return -1;
    }
    return 0;
}

static void print_hex(const uint8_t *b, size_t n)
{
    for (size_t i = 0; i < n; i++) printf("%02X", b[i]);
}

/* ---- one transcript, one variant ---- */
static int run_transcript(runner *r, const char *name, const char *variant)
{
    char folder[64], tpath[1200], dir[1200], err[600];
    /* NAME: the shared transcript NAME.apdu of applet folder NAME up to
     * its first '-'; a path: a transcript of our own for that applet */
    const char *base = strrchr(name, '/') ? strrchr(name, '/') + 1 : name;
    snprintf(folder, sizeof folder, "%.*s", (int)strcspn(base, "-"), base);
    if (base != name)
        snprintf(tpath, sizeof tpath, "%s", name);
    else
        snprintf(tpath, sizeof tpath, "%s/javacard/applets/%s/%s.apdu", r->shared, folder, name);
    snprintf(dir, sizeof dir, "%s/javacard/applets/%s/%s", r->shared, folder, variant);
    transcript t;
    if (transcript_load(tpath, &t, err, sizeof err)) {
        printf("FAIL %s %s: %s\n", name, variant, err);
        return -1;
    }
    pkg pk[8];
    unsigned npk = 0;
    card_link c;
    int ok = 0, answers = 0, good = 0;
    uint8_t *rsp = malloc(65538);
    if (!rsp || read_packages(dir, pk, 8, &npk) || card_open(r, &c)) {
        printf("FAIL %s %s: setup\n", name, variant);
        free(rsp);
        for (unsigned i = 0; i < npk; i++) capfile_free(&pk[i].f);
        transcript_free(&t);
        return -1;
    }
    int setup = open_channel(&c) == 0 && load_all(&c, pk, npk) == 0;
    for (unsigned i = 0; setup && i < t.n_installs; i++)
        if (install_one(&c, pk, npk, &t.installs[i])) setup = 0;
    if (!setup) {
        printf("FAIL %s %s: loading or installing (above)\n", name, variant);
        goto out;
    }
    gp_close(&c.gp);
    int isd_selected = 1;   /* after a reset, until a SELECT succeeds */
    for (size_t i = 0; i < t.n_steps; i++) {
        const tr_step *s = &t.steps[i];
        if (s->kind == TR_RESET) {
            if (transport_reset(c.t, 1)) {
                printf("    %s %s line %u: reset failed: %s\n", name, variant, s->line, transport_error(c.t));
                answers++;
                break;
            }
            isd_selected = 1;
            continue;
        }
        size_t rl = 0;
        answers++;
        if (transport_transmit(c.t, s->cmd, s->cmd_len, rsp, 65538, &rl) || rl < 2) {
            printf("    %s %s line %u: => ", name, variant, s->line);
            print_hex(s->cmd, s->cmd_len);
            printf("\n        no answer: %s\n", transport_error(c.t));
            if (r->first_only) break;
            continue;
        }
        unsigned sw = (unsigned)rsp[rl - 2] << 8 | rsp[rl - 1];
        while ((sw >> 8) == 0x61 && !transcript_match(s->expect, rsp, rl)) {
            uint8_t gr[5] = {(uint8_t)(s->cmd[0] & ((s->cmd[0] & 0x40) ? 0x4F : 0x03)), 0xC0, 0x00, 0x00, (uint8_t)sw};
            size_t more = 0;
            rl -= 2;
            if (transport_transmit(c.t, gr, sizeof gr, rsp + rl, 65538 - rl, &more) || more < 2) break;
            rl += more;
            sw = (unsigned)rsp[rl - 2] << 8 | rsp[rl - 1];
        }
        int is_select = transcript_is_select(s->cmd, s->cmd_len);
        if (isd_selected && !is_select) {
            /* the ISD's answer stands for the transcript's "no applet" */
            if (sw != 0x9000) {
                good++;
            } else {
                printf("    %s %s line %u: => ", name, variant, s->line);
                print_hex(s->cmd, s->cmd_len);
                printf("\n        before the first SELECT the ISD answered 9000 (expected an error)\n");
            }
            continue;
        }
        if (is_select && sw == 0x9000 && (s->cmd[0] & 0x03) == 0) isd_selected = 0;
        if (transcript_match(s->expect, rsp, rl)) {
            good++;
            continue;
        }
        printf("    %s %s line %u: => ", name, variant, s->line);
        print_hex(s->cmd, s->cmd_len);
        printf("\n        expected %s%s\n        got      ", s->expect, s->spec ? "  (spec)" : "");
        print_hex(rsp, rl);
        printf("\n");
        if (r->first_only) break;
    }
    ok = answers == good;
    printf("%s %s %s (%d of %d answers)\n", ok ? "PASS" : "FAIL", name, variant, good, answers);
out:
    card_close(&c);
    free(rsp);
    for (unsigned i = 0; i < npk; i++) capfile_free(&pk[i].f);
    transcript_free(&t);
    return ok ? 0 : -1;
}

/* ---- public CAPs: load, install each applet, SELECT it ---- */

/* What some public applets need at install, and what their SELECT answers
 * when it is not 9000, read from their own bytecode (the CAP's Method and
 * ConstantPool components) and documentation:
 *   openjavacard-ndef tiny: a bare NDEF message (its installation guide's
 *     example, the text record "Test");
 *   openjavacard-ndef stub: install() refuses (6A80) application data
 *     outside 6..17 bytes: one byte, then the AID of the backend applet
 *     (5..16 bytes) it copies into a static array; process() on the SELECT
 *     looks the backend up (JCSystem.lookupAID, then
 *     getAppletShareableInterfaceObject) and throws ISOException 6985 when
 *     it is absent, as here (no backend installed);
 *   GlobalPlatformPro's Empty: process() is `sspush 0x6666; invokestatic
 *     javacard.security.CryptoException.throwIt` for every command, the
 *     SELECT included, and an uncaught exception other than ISOException
 *     ends in 6F00 (JCRE 3.0.5). */
static const struct {
    const char *applet, *params;
    unsigned select_sw;
} public_params[] = {
    {"D27600017710021103000101", "100BD101075402656E54657374", 0x9000},
    {"D27600017710021102000101", "3FD2760000850101", 0x6985},
    {"0102030405060708", "", 0x6F00},
};

static unsigned public_select_sw(const capfile_applet *a)
{
    char hex[40];
    for (unsigned k = 0; k < a->aid_len; k++) sprintf(hex + 2 * k, "%02X", a->aid[k]);
    for (size_t i = 0; i < sizeof public_params / sizeof public_params[0]; i++)
        if (!strcmp(hex, public_params[i].applet)) return public_params[i].select_sw;
    return 0x9000;
}

static size_t public_params_of(const capfile_applet *a, uint8_t *out, size_t cap)
{
    char hex[40];
    for (unsigned k = 0; k < a->aid_len; k++) sprintf(hex + 2 * k, "%02X", a->aid[k]);
    for (size_t i = 0; i < sizeof public_params / sizeof public_params[0]; i++) {
        if (strcmp(hex, public_params[i].applet)) continue;
        size_t n = 0;
        if (gp_parse_hex(public_params[i].params, out, cap, &n)) return 0;
        return n;
    }
    return 0;
}
static int run_public_cap(runner *r, const char *path)
{
    pkg p;
    char err[400];
    memset(&p, 0, sizeof p);
    snprintf(p.path, sizeof p.path, "%s", path);
    if (capfile_read(path, 0, &p.f, err, sizeof err)) {
        printf("FAIL public %s: %s\n", base_name(path), err);
        return -1;
    }
    card_link c;
    int ok = 0;
    if (card_open(r, &c)) {
        capfile_free(&p.f);
        return -1;
    }
    if (open_channel(&c) == 0 && load_all(&c, &p, 1) == 0) {
        ok = 1;
        for (unsigned k = 0; k < p.f.n_applets; k++) {
            const capfile_applet *a = &p.f.applets[k];
            static const uint8_t priv = 0;
            uint8_t params[64];
            size_t np = public_params_of(a, params, sizeof params);
            gp_install_req req = {0x0C, p.f.pkg_aid, p.f.pkg_aid_len, a->aid, a->aid_len, NULL, 0, &priv, 1,
                                  np ? params : NULL, np, 0};
            uint16_t sw = 0;
            if (!c.gp.open && open_channel(&c)) { ok = 0; break; }
            if (gp_install_send(&c.gp, &req, &sw) || sw != 0x9000) {
                printf("    install ");
                print_hex(a->aid, a->aid_len);
                printf(": %04X %s\n", sw, c.gp.err);
                ok = 0;
                continue;
            }
            uint8_t cmd[32] = {0x00, 0xA4, 0x04, 0x00, a->aid_len}, rsp[300];
            memcpy(cmd + 5, a->aid, a->aid_len);
            cmd[5 + a->aid_len] = 0x00;
            size_t rl = 0;
            gp_close(&c.gp);   /* SELECT ends the channel */
            unsigned want = public_select_sw(a);
            if (transport_transmit(c.t, cmd, 6u + a->aid_len, rsp, sizeof rsp, &rl) || rl < 2 ||
                rsp[rl - 2] != (uint8_t)(want >> 8) || rsp[rl - 1] != (uint8_t)want) {
                printf("    SELECT ");
                print_hex(a->aid, a->aid_len);
                printf(": got ");
                print_hex(rsp, rl);
                printf("\n");
                ok = 0;
            }
        }
    }
    printf("%s public %s\n", ok ? "PASS" : "FAIL", base_name(path));
    card_close(&c);
    capfile_free(&p.f);
    return ok ? 0 : -1;
}

static int run_public_dir(runner *r, const char *dir, const char *filter, int *fails)
{
    DIR *d = opendir(dir);
    if (!d) return 0;
    struct dirent *de;
    char names[64][256];
    int n = 0, count = 0;
    while ((de = readdir(d)) != NULL && n < 64)
        if (de->d_name[0] != '.') snprintf(names[n++], sizeof names[0], "%s", de->d_name);
    closedir(d);
    qsort(names, (size_t)n, sizeof names[0], (int (*)(const void *, const void *))strcmp);
    for (int i = 0; i < n; i++) {
        char p[1400];
        struct stat st;
        int w = snprintf(p, sizeof p, "%s/%s", dir, names[i]);
        if (w < 0 || (size_t)w >= sizeof p) continue;
        size_t l = strlen(p);
        if (stat(p, &st) == 0 && S_ISDIR(st.st_mode)) {
            count += run_public_dir(r, p, filter, fails);
        } else if (l > 4 && !strcmp(p + l - 4, ".cap") && (!filter || strstr(names[i], filter))) {
            count++;
            if (run_public_cap(r, p)) (*fails)++;
        }
    }
    return count;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: cap_transcripts --shared DIR (--cardvm CARDVM | --reader NAME) [--variant V]... [--first]\n"
               "                       [--trace] [--workdir DIR] NAME...\n"
               "NAME: counter pinaes objects libshare apdukit apdukit-channels public public:TEXT\n");
}

int main(int argc, char **argv)
{
    runner r;
    memset(&r, 0, sizeof r);
    const char *variants[4];
    int nvar = 0;
    static const struct option opts[] = {
        {"shared", required_argument, 0, 's'}, {"cardvm", required_argument, 0, 'c'},
        {"reader", required_argument, 0, 'r'}, {"variant", required_argument, 0, 'V'},
        {"first", no_argument, 0, 'f'},        {"trace", no_argument, 0, 't'},
        {"workdir", required_argument, 0, 'w'}, {0, 0, 0, 0}};
    int o;
    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (o) {
        case 's': r.shared = optarg; break;
        case 'c': r.cardvm = optarg; break;
        case 'r': r.reader = optarg; break;
        case 'V':
            if (nvar >= 4) { usage(stderr); return 2; }
            variants[nvar++] = optarg;
            break;
        case 'f': r.first_only = 1; break;
        case 't': r.trace = stderr; break;
        case 'w': snprintf(r.workdir, sizeof r.workdir, "%s", optarg); break;
        default: usage(stderr); return 2;
        }
    }
    if (!r.shared || (!r.cardvm && !r.reader) || optind >= argc) { usage(stderr); return 2; }
    char jc[1100];
    struct stat st;
    snprintf(jc, sizeof jc, "%s/javacard", r.shared);
    if (stat(jc, &st) != 0 || !S_ISDIR(st.st_mode)) {
        printf("SKIP: %s not found (the shared Java Card test material is not beside this clone)\n", jc);
        return 77;
    }
    if (!nvar)
        for (; nvar < 4; nvar++) variants[nvar] = all_variants[nvar];
    if (r.reader && (nvar != 1 || argc - optind != 1)) {
        fprintf(stderr, "cap_transcripts: with --reader, one NAME and one --variant (the card must be fresh)\n");
        return 2;
    }
    int made_workdir = 0;
    if (!r.reader && !r.workdir[0]) {
        snprintf(r.workdir, sizeof r.workdir, "/tmp/cap-transcripts-XXXXXX");
        if (!mkdtemp(r.workdir)) { perror("mkdtemp"); return 1; }
        made_workdir = 1;
    }
    int fails = 0, runs = 0;
    for (int i = optind; i < argc; i++) {
        if (!strncmp(argv[i], "public", 6) && (argv[i][6] == 0 || argv[i][6] == ':')) {
            char d[1200];
            snprintf(d, sizeof d, "%s/javacard/public", r.shared);
            runs += run_public_dir(&r, d, argv[i][6] ? argv[i] + 7 : NULL, &fails);
            continue;
        }
        for (int v = 0; v < nvar; v++) {
            runs++;
            if (run_transcript(&r, argv[i], variants[v])) fails++;
        }
    }
    if (r.template_img[0]) unlink(r.template_img);
    if (made_workdir) rmdir(r.workdir);
    printf("%d of %d runs passed\n", runs - fails, runs);
    return fails ? 1 : 0;
}
