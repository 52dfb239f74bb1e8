/*
 * test_isd_cap.c — the issuer security domain with Java Card CAP load files
 * (loader/isd_gp.c), driven by the host side the tools use (tools/gp_host.c,
 * tools/cap/cap_file.c) on cards made by `cardvm create`.
 *
 * Expected values come from the specifications and the shared material:
 * package and applet AIDs and versions are the CAP files' own (the Header
 * and Applet components, and the transcripts' @install lines), status words
 * are GPCS 2.3.1's and the (6A80 refused, 6985 missing import or
 * package in use), and "nothing stored" is the card's free NVM and GET
 * STATUS unchanged.
 *
 * argv[1] = the cardvm binary, argv[2] = the shared folder (exit 77 when
 * absent). Optional argv[3..] = names of the tests to run (default: all).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "card.h"
#include "cap_file.h"
#include "gp_host.h"
#include "gpcard.h"
#include "tear.h"
#include "testfiles.h"
#include "transport.h"

static const char *cardvm_bin;
static char javacard_dir[1024], tmpdir[256];

/* ---- fixtures ---- */
static void fx_close(gpcard *f)
{
    gpcard_close(f);
    unlink(f->path);
}

static unsigned open_default(gpcard *f)
{
    gp_keys k;
    uint16_t sw = 0;
    gp_default_keys(&k);
    if (gp_open(&f->gp, &k, 0x03, NULL, 0, &sw)) return 0xFFFF;
    return f->gp.open ? 0x9000 : sw;
}

static void cap_of(const char *rel, capfile *c)
{
    char p[1200], err[400];
    snprintf(p, sizeof p, "%s/applets/%s", javacard_dir, rel);
    if (capfile_read(p, 0, c, err, sizeof err)) fail_msg("%s", err);
}

static unsigned load_cap(gpcard *f, const capfile *c)
{
    uint16_t sw = 0;
    int blk;
    if (gp_load_package(&f->gp, c->load_file, c->len, 1, &sw, &blk)) return 0xFFFF;
    return sw;
}

static unsigned install_cap(gpcard *f, const capfile *c, unsigned applet, const uint8_t *instance, size_t il)
{
    static const uint8_t priv = 0;
    gp_install_req r = {0x0C, c->pkg_aid, c->pkg_aid_len, c->applets[applet].aid, c->applets[applet].aid_len,
                        instance, il, &priv, 1, NULL, 0, 0};
    uint16_t sw = 0;
    if (gp_install_send(&f->gp, &r, &sw)) return 0xFFFF;
    return sw;
}

static unsigned delete_aid(gpcard *f, const uint8_t *aid, size_t n, int related)
{
    uint16_t sw = 0;
    if (gp_delete(&f->gp, aid, n, related, &sw)) return 0xFFFF;
    return sw;
}

/* The card as GET STATUS and the NVM heap describe it. */
static void card_summary(gpcard *f, char *out, size_t cap)
{
    char apps[1536], pkgs[1536];
    chip_stats st;
    chip_get_stats(gpcard_chip(f), &st);
    gpcard_status_list(f, 0x40, apps, sizeof apps);
    gpcard_status_list(f, 0x10, pkgs, sizeof pkgs);
    snprintf(out, cap, "heap %u | %s | %s", st.nvm_heap_free, apps, pkgs);
}

static int status_has(gpcard *f, uint8_t p1, const uint8_t *aid, size_t n, gp_entry *found)
{
    static gp_entry e[64];
    size_t cnt;
    uint16_t sw;
    assert_int_equal(gp_get_status(&f->gp, p1, e, 64, &cnt, &sw), 0);
    assert_int_equal(sw, 0x9000);
    for (size_t i = 0; i < cnt; i++)
        if (e[i].aid_len == n && !memcmp(e[i].aid, aid, n)) {
            if (found) *found = e[i];
            return 1;
        }
    return 0;
}

/* ---- tests ---- */

/* INSTALL [for load] naming another AID than the Header's: the last LOAD
 * block is refused (6A80) and nothing stays. */
static void load_aid_mismatch_refused(void **st)
{
    (void)st;
    gpcard f;
    capfile c;
    gpcard_open(&f, tmpdir, "mismatch.img");
    cap_of("counter/jc222-nodebug/counter.cap", &c);
    assert_int_equal(open_default(&f), 0x9000);
    char before[4096], after[4096];
    card_summary(&f, before, sizeof before);
    uint8_t other[16];
    memcpy(other, c.pkg_aid, c.pkg_aid_len);
    other[c.pkg_aid_len - 1] ^= 0x01;
    uint8_t d[64];
    size_t n = 0;
    uint16_t sw;
    d[n++] = c.pkg_aid_len;
    memcpy(d + n, other, c.pkg_aid_len);
    n += c.pkg_aid_len;
    d[n++] = 0; d[n++] = 0; d[n++] = 0; d[n++] = 0;
    assert_int_equal(gp_cmd(&f.gp, 0x80, 0xE6, 0x02, 0x00, d, n, NULL, 0, NULL, &sw), 0);
    assert_int_equal(sw, 0x9000);
    /* LOAD blocks by hand (gp_load_package would name the Header's AID) */
    uint8_t *lf = malloc(c.len + 4);
    lf[0] = 0xC4; lf[1] = 0x82; lf[2] = (uint8_t)(c.len >> 8); lf[3] = (uint8_t)c.len;
    memcpy(lf + 4, c.load_file, c.len);
    size_t total = c.len + 4;
    unsigned blk = 0;
    for (size_t off = 0; off < total; off += 200, blk++) {
        size_t m = total - off < 200 ? total - off : 200;
        int last = off + m == total;
        assert_int_equal(gp_cmd(&f.gp, 0x80, 0xE8, last ? 0x80 : 0x00, (uint8_t)blk, lf + off, m, NULL, 0, NULL, &sw), 0);
        assert_int_equal(sw, last ? 0x6A80 : 0x9000);
    }
    free(lf);
    card_summary(&f, after, sizeof after);
    assert_string_equal(before, after);
    capfile_free(&c);
    fx_close(&f);
}

/* Load files the card must refuse (6A80) with nothing stored: bytecode
 * whose operands name constant-pool entries that do not exist, and a load
 * file without its last required component (RefLocation). */
static void malformed_cap_refused(void **st)
{
    (void)st;
    gpcard f;
    capfile c;
    gpcard_open(&f, tmpdir, "malformed.img");
    cap_of("counter/jc222-nodebug/counter.cap", &c);
    assert_int_equal(open_default(&f), 0x9000);
    char before[4096], after[4096];
    card_summary(&f, before, sizeof before);
    const capfile_component *m = capfile_component_of(&c, 7);
    const capfile_component *rl = capfile_component_of(&c, 9);
    assert_non_null(m);
    assert_non_null(rl);
    uint8_t *bad = malloc(c.len);
    memcpy(bad, c.load_file, c.len);
    /* Method info: u1 handler_count, 8 bytes per handler, then methods;
     * everything after the first method header becomes FF */
    size_t code = m->offset + 3 + 1 + 8u * c.load_file[m->offset + 3] + 2;
    memset(bad + code, 0xFF, m->offset + m->size - code);
    capfile mut = c;
    mut.load_file = bad;
    assert_int_equal(load_cap(&f, &mut), 0x6A80);
    card_summary(&f, after, sizeof after);
    assert_string_equal(before, after);
    /* RefLocation left out: the components after it move up */
    memcpy(bad, c.load_file, rl->offset);
    memcpy(bad + rl->offset, c.load_file + rl->offset + rl->size, c.len - rl->offset - rl->size);
    mut.len = c.len - rl->size;
    assert_int_equal(load_cap(&f, &mut), 0x6A80);
    card_summary(&f, after, sizeof after);
    assert_string_equal(before, after);
    free(bad);
    capfile_free(&c);
    fx_close(&f);
}

/* A client whose library is not on the card: 6985, nothing stored. */
static void missing_import_refused(void **st)
{
    (void)st;
    gpcard f;
    capfile shop;
    gpcard_open(&f, tmpdir, "noimport.img");
    cap_of("libshare/jc305u3-nodebug/shop.cap", &shop);
    assert_int_equal(open_default(&f), 0x9000);
    char before[4096], after[4096];
    card_summary(&f, before, sizeof before);
    assert_int_equal(load_cap(&f, &shop), 0x6985);
    card_summary(&f, after, sizeof after);
    assert_string_equal(before, after);
    capfile_free(&shop);
    fx_close(&f);
}

/* Load and install counter; GET STATUS shows the package with its version
 * and applet class, and the instance from it; SELECT answers 9000. */
static void load_install_status_select(void **st)
{
    (void)st;
    gpcard f;
    capfile c;
    gpcard_open(&f, tmpdir, "counter.img");
    cap_of("counter/jc305u3/counter.cap", &c);
    assert_int_equal(open_default(&f), 0x9000);
    assert_int_equal(load_cap(&f, &c), 0x9000);
    gp_entry e;
    assert_true(status_has(&f, 0x10, c.pkg_aid, c.pkg_aid_len, &e));
    assert_true(e.has_version);
    assert_int_equal(e.version[0], 1);   /* the converter's "1.0" */
    assert_int_equal(e.version[1], 0);
    assert_int_equal(e.n_modules, 1);
    assert_int_equal(e.modules[0][0], c.applets[0].aid_len);
    assert_memory_equal(e.modules[0] + 1, c.applets[0].aid, c.applets[0].aid_len);
    assert_int_equal(install_cap(&f, &c, 0, NULL, 0), 0x9000);
    assert_true(status_has(&f, 0x40, c.applets[0].aid, c.applets[0].aid_len, &e));
    assert_int_equal(e.state, 0x07);
    assert_int_equal(e.elf_len, c.pkg_aid_len);
    assert_memory_equal(e.elf, c.pkg_aid, c.pkg_aid_len);
    /* a second instance under another AID (the JC bArray carries it to
     * register()) */
    uint8_t inst2[8];
    memcpy(inst2, c.applets[0].aid, 8);
    inst2[7] ^= 0x10;
    assert_int_equal(install_cap(&f, &c, 0, inst2, 8), 0x9000);
    assert_true(status_has(&f, 0x40, inst2, 8, NULL));
    /* the counter transcript's first exchange after SELECT: counter 0,
     * installs 2 (both instances), tshorts[0] 0 */
    uint8_t rsp[300];
    size_t rl;
    uint16_t sw;
    assert_int_equal(gp_select(&f.gp, inst2, 8, rsp, sizeof rsp, &rl, &sw), 0);
    assert_int_equal(sw, 0x9000);
    static const uint8_t get[] = {0x80, 0x11, 0x00, 0x00, 0x06};
    assert_int_equal(gp_send(&f.gp, get, sizeof get, rsp, sizeof rsp, &rl, &sw), 0);
    assert_int_equal(sw, 0x9000);
    assert_int_equal(rl, 6);
    static const uint8_t want[] = {0x00, 0x00, 0x00, 0x02, 0x00, 0x00};
    assert_memory_equal(rsp, want, 6);
    capfile_free(&c);
    fx_close(&f);
}

/* Library, server, client load in order; the library cannot go while the
 * others import it (6985); the client and server can, then the library. */
static void library_in_use_not_deleted(void **st)
{
    (void)st;
    gpcard f;
    capfile lib, srv, cli;
    gpcard_open(&f, tmpdir, "libshare.img");
    cap_of("libshare/jc222/loyalty.cap", &lib);
    cap_of("libshare/jc222/loyaltysrv.cap", &srv);
    cap_of("libshare/jc222/shop.cap", &cli);
    assert_int_equal(open_default(&f), 0x9000);
    char before[4096], after[4096];
    card_summary(&f, before, sizeof before);
    assert_int_equal(load_cap(&f, &lib), 0x9000);
    assert_int_equal(load_cap(&f, &srv), 0x9000);
    assert_int_equal(load_cap(&f, &cli), 0x9000);
    assert_int_equal(delete_aid(&f, lib.pkg_aid, lib.pkg_aid_len, 0), 0x6985);
    assert_int_equal(delete_aid(&f, lib.pkg_aid, lib.pkg_aid_len, 1), 0x6985);
    assert_true(status_has(&f, 0x20, lib.pkg_aid, lib.pkg_aid_len, NULL));
    assert_int_equal(delete_aid(&f, cli.pkg_aid, cli.pkg_aid_len, 1), 0x9000);
    assert_int_equal(delete_aid(&f, srv.pkg_aid, srv.pkg_aid_len, 1), 0x9000);
    assert_int_equal(delete_aid(&f, lib.pkg_aid, lib.pkg_aid_len, 0), 0x9000);
    card_summary(&f, after, sizeof after);
    assert_string_equal(before, after);
    capfile_free(&lib);
    capfile_free(&srv);
    capfile_free(&cli);
    fx_close(&f);
}

/* The combined load, install and make selectable process (GPCS 2.3.1
 * §9.3.8, INSTALL P1 0E): the package and its application arrive together,
 * or (the last INSTALL naming an applet class the package lacks) neither. */
static void combined_load_install(void **st)
{
    (void)st;
    gpcard f;
    capfile c;
    gpcard_open(&f, tmpdir, "combined.img");
    cap_of("counter/jc222/counter.cap", &c);
    assert_int_equal(open_default(&f), 0x9000);
    char before[4096], after[4096];
    card_summary(&f, before, sizeof before);
    static const uint8_t priv = 0;
    uint8_t wrong[8];
    memcpy(wrong, c.applets[0].aid, 8);
    wrong[7] ^= 0x40;
    gp_install_req bad = {0, NULL, 0, wrong, 8, NULL, 0, &priv, 1, NULL, 0, 0};
    uint16_t sw = 0;
    int blk = 0;
    assert_int_equal(gp_load_install(&f.gp, c.load_file, c.len, 1, &bad, &sw, &blk), 0);
    assert_int_equal(blk, -2);
    assert_int_equal(sw, 0x6A88);
    assert_int_equal(open_default(&f), 0x9000);   /* the next session drops the staged file */
    card_summary(&f, after, sizeof after);
    assert_string_equal(before, after);
    gp_install_req good = {0, NULL, 0, c.applets[0].aid, c.applets[0].aid_len, NULL, 0, &priv, 1, NULL, 0, 0};
    assert_int_equal(gp_load_install(&f.gp, c.load_file, c.len, 1, &good, &sw, &blk), 0);
    assert_int_equal(sw, 0x9000);
    assert_true(status_has(&f, 0x20, c.pkg_aid, c.pkg_aid_len, NULL));
    gp_entry e;
    assert_true(status_has(&f, 0x40, c.applets[0].aid, c.applets[0].aid_len, &e));
    assert_int_equal(e.state, 0x07);
    uint8_t rsp[300];
    size_t rl;
    assert_int_equal(gp_select(&f.gp, c.applets[0].aid, c.applets[0].aid_len, rsp, sizeof rsp, &rl, &sw), 0);
    assert_int_equal(sw, 0x9000);
    capfile_free(&c);
    fx_close(&f);
}

/* ---- power cuts over CAP LOAD + INSTALL ---- */
typedef struct tear_ctx {
    gpcard f;
    capfile c;
    int combined;                /* the INSTALL [for load, install and make selectable] process */
    char before[4096];
} tear_ctx;

static void *tear_setup(void *arg)
{
    tear_ctx *t = calloc(1, sizeof *t);
    t->combined = *(const int *)arg;
    gpcard_open(&t->f, tmpdir, "tear.img");
    cap_of("counter/jc222-nodebug/counter.cap", &t->c);
    assert_int_equal(open_default(&t->f), 0x9000);
    card_summary(&t->f, t->before, sizeof t->before);
    return t;
}
static chip *tear_chip(void *ctx) { return gpcard_chip(&((tear_ctx *)ctx)->f); }
static void tear_power(void *ctx) { transport_reset(((tear_ctx *)ctx)->f.t, 1); }
static void tear_teardown(void *ctx)
{
    tear_ctx *t = ctx;
    capfile_free(&t->c);
    fx_close(&t->f);
    free(t);
}

static int tear_run(void *ctx)
{
    tear_ctx *t = ctx;
    if (t->combined) {
        static const uint8_t priv = 0;
        gp_install_req r = {0, NULL, 0, t->c.applets[0].aid, t->c.applets[0].aid_len, NULL, 0, &priv, 1, NULL, 0, 0};
        uint16_t sw = 0;
        int blk;
        if (gp_load_install(&t->f.gp, t->c.load_file, t->c.len, 1, &r, &sw, &blk)) return 1;
        return sw == 0x9000 ? 0 : 1;
    }
    if (load_cap(&t->f, &t->c) != 0x9000) return 1;
    return install_cap(&t->f, &t->c, 0, NULL, 0) == 0x9000 ? 0 : 1;
}

/* Reopen the image: nothing, the package alone, or package and instance;
 * never half a package. Whatever state, finishing the job works and the
 * applet answers. */
static int tear_check(void *ctx, uint32_t cut)
{
    tear_ctx *t = ctx;
    gpcard_reopen(&t->f);
    if (open_default(&t->f) != 0x9000) return 1;
    int loaded = status_has(&t->f, 0x20, t->c.pkg_aid, t->c.pkg_aid_len, NULL);
    int installed = status_has(&t->f, 0x40, t->c.applets[0].aid, t->c.applets[0].aid_len, NULL);
    if (cut == 0 && !installed) return 2;
    if (installed && !loaded) return 3;
    if (t->combined && loaded != installed) return 9;   /* both or neither */
    if (!loaded) {
        char now[4096];
        card_summary(&t->f, now, sizeof now);
        if (strcmp(now, t->before) != 0) {
            fprintf(stderr, "cut %u:\n before %s\n now    %s\n", cut, t->before, now);
            return 4;
        }
        if (load_cap(&t->f, &t->c) != 0x9000) return 5;
    }
    if (!installed && install_cap(&t->f, &t->c, 0, NULL, 0) != 0x9000) return 6;
    uint8_t rsp[300];
    size_t rl;
    uint16_t sw;
    if (gp_select(&t->f.gp, t->c.applets[0].aid, t->c.applets[0].aid_len, rsp, sizeof rsp, &rl, &sw) ||
        sw != 0x9000)
        return 7;
    static const uint8_t get[] = {0x80, 0x11, 0x00, 0x00, 0x06};
    static const uint8_t want[] = {0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x90, 0x00};
    if (transport_transmit(t->f.t, get, sizeof get, rsp, sizeof rsp, &rl) || rl != 8 || memcmp(rsp, want, 8))
        return 8;
    return 0;
}

static void tear_cap_load_install(void **st)
{
    (void)st;
    int combined = 0;
    tear_scenario sc = {"CAP LOAD+INSTALL", tear_setup, tear_chip, tear_run, tear_power, tear_check, tear_teardown};
    uint32_t writes = tear_sweep(&sc, &combined);
    print_message("CAP LOAD+INSTALL: %u write indexes\n", writes);
    assert_true(writes > 0);
}

static void tear_cap_combined(void **st)
{
    (void)st;
    int combined = 1;
    tear_scenario sc = {"CAP combined", tear_setup, tear_chip, tear_run, tear_power, tear_check, tear_teardown};
    uint32_t writes = tear_sweep(&sc, &combined);
    print_message("CAP combined load/install: %u write indexes\n", writes);
    assert_true(writes > 0);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: test_isd_cap CARDVM SHARED_DIR [TEST...]\n");
        return 2;
    }
    cardvm_bin = argv[1];
    snprintf(javacard_dir, sizeof javacard_dir, "%s/javacard", argv[2]);
    struct stat sb;
    if (stat(javacard_dir, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
        printf("SKIP: %s not found (the shared Java Card test material is not beside this clone)\n", javacard_dir);
        return 77;
    }
    if (gpcard_make_template(cardvm_bin, "isd-cap", tmpdir, sizeof tmpdir)) return 1;
    const struct CMUnitTest all[] = {
        cmocka_unit_test(load_aid_mismatch_refused),
        cmocka_unit_test(malformed_cap_refused),
        cmocka_unit_test(missing_import_refused),
        cmocka_unit_test(load_install_status_select),
        cmocka_unit_test(library_in_use_not_deleted),
        cmocka_unit_test(combined_load_install),
        cmocka_unit_test(tear_cap_load_install),
        cmocka_unit_test(tear_cap_combined),
    };
    struct CMUnitTest chosen[sizeof all / sizeof all[0]];
    size_t n = 0;
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        int want = argc == 3;
        for (int a = 3; a < argc; a++)
            if (!strcmp(argv[a], all[i].name)) want = 1;
        if (want) chosen[n++] = all[i];
    }
    int rc = _cmocka_run_group_tests("isd_cap", chosen, n, NULL, NULL);
    char tmpl[512];
    snprintf(tmpl, sizeof tmpl, "%s/template.img", tmpdir);
    unlink(tmpl);
    rmdir(tmpdir);
    return rc;
}
