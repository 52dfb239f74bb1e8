/*
 * test_capfile.c — tools/cap/cap_file.c on real CAP files: every CAP of the
 * shared test applets (4 converter variants) and the public CAPs.
 *
 * Expected values come from structure, not from the reader's output: the
 * Directory component declares the size of every component (checked against
 * each component in the load file), the load order is the specification's
 * (JCVM 3.0.5 §6.2), the package and applet AIDs are the ones the shared
 * transcripts name in their "@install" lines. Broken zips are built here
 * with libzip from a real CAP's components.
 *
 * argv[1] = the shared folder (../shared); exit 77 when it is absent.
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zip.h>
#include <cmocka.h>

#include "cap_file.h"
#include "cap_format.h"

static char javacard_dir[1024];

/* Load order position of a tag (the specification's list). */
static int order_of(uint8_t tag)
{
    static const uint8_t order[] = {1, 2, 4, 3, 6, 7, 8, 10, 5, 9, 11, 12};
    for (int i = 0; i < 12; i++)
        if (order[i] == tag) return i;
    return -1;
}

static unsigned rd16(const uint8_t *p) { return (unsigned)p[0] << 8 | p[1]; }

/* Checks one CAP file read with `flags` against its own Directory. */
static void check_structure(const char *path, unsigned flags)
{
    capfile f;
    char err[256];
    if (capfile_read(path, flags, &f, err, sizeof err) != 0) fail_msg("%s", err);
    /* contiguous, in load order, each component's size field matching */
    size_t at = 0;
    int last = -1;
    for (unsigned i = 0; i < f.n_components; i++) {
        const capfile_component *c = &f.components[i];
        assert_int_equal(c->offset, at);
        assert_int_equal(f.load_file[at], c->tag);
        assert_int_equal(rd16(f.load_file + at + 1) + 3u, c->size);
        int o = order_of(c->tag);
        assert_true(o > last);
        last = o;
        at += c->size;
    }
    assert_int_equal(at, f.len);
    /* required components are there; Debug only when asked; Descriptor
     * unless asked not to */
    for (uint8_t t = CAP_Header; t <= CAP_RefLocation; t++)
        if (t != CAP_Applet && t != CAP_Export) assert_non_null(capfile_component_of(&f, t));
    if (!(flags & CAPFILE_WITH_DEBUG)) assert_null(capfile_component_of(&f, CAP_Debug));
    if (flags & CAPFILE_NO_DESCRIPTOR) assert_null(capfile_component_of(&f, CAP_Descriptor));

    /* the Directory: u2 component_sizes[11 (CAP 2.1) or 12 (2.2)] */
    const capfile_component *d = capfile_component_of(&f, CAP_Directory);
    const uint8_t *info = f.load_file + d->offset + 3;
    unsigned listed = f.cap_minor >= 2 ? 12 : 11;
    assert_int_equal(f.cap_major, 2);
    for (unsigned t = 1; t <= listed; t++) {
        unsigned declared = rd16(info + 2 * (t - 1));
        const capfile_component *c = capfile_component_of(&f, (uint8_t)t);
        if (c) {
            assert_int_equal(c->size - 3, declared);
        } else {
            int dropped = (t == CAP_Debug && !(flags & CAPFILE_WITH_DEBUG)) ||
                          (t == CAP_Descriptor && (flags & CAPFILE_NO_DESCRIPTOR));
            if (!dropped && declared != 0)
                fail_msg("%s: Directory declares component %u (%u bytes) but it is missing", path, t, declared);
        }
    }
    /* Applet component present exactly when the Header says ACC_APPLET */
    assert_int_equal(capfile_component_of(&f, CAP_Applet) != NULL, (f.flags & CAP_ACC_APPLET) != 0);
    assert_int_equal(f.n_applets > 0, (f.flags & CAP_ACC_APPLET) != 0);
    capfile_free(&f);
}

/* Calls fn on every *.cap file under dir (recursively). Returns the count. */
static int walk_caps(const char *dir, void (*fn)(const char *path, void *ctx), void *ctx)
{
    DIR *dp = opendir(dir);
    if (!dp) return 0;
    int n = 0;
    struct dirent *de;
    char *names[256];
    int nn = 0;
    while ((de = readdir(dp)) != NULL && nn < 256)
        if (de->d_name[0] != '.') names[nn++] = strdup(de->d_name);
    closedir(dp);
    for (int i = 0; i < nn; i++) {
        char p[2048];
        snprintf(p, sizeof p, "%s/%s", dir, names[i]);
        struct stat st;
        if (stat(p, &st) == 0 && S_ISDIR(st.st_mode)) {
            n += walk_caps(p, fn, ctx);
        } else {
            size_t l = strlen(p);
            if (l > 4 && strcmp(p + l - 4, ".cap") == 0) {
                fn(p, ctx);
                n++;
            }
        }
        free(names[i]);
    }
    return n;
}

static void structure_cb(const char *path, void *ctx)
{
    (void)ctx;
    check_structure(path, 0);
    check_structure(path, CAPFILE_WITH_DEBUG);
    check_structure(path, CAPFILE_NO_DESCRIPTOR);
}

static void every_shared_cap_matches_its_directory(void **st)
{
    (void)st;
    char d[1100];
    snprintf(d, sizeof d, "%s/applets", javacard_dir);
    int n = walk_caps(d, structure_cb, NULL);
    /* 5 applets x 4 variants, libshare has 3 packages */
    assert_int_equal(n, 7 * 4);
    snprintf(d, sizeof d, "%s/public", javacard_dir);
    assert_true(walk_caps(d, structure_cb, NULL) >= 1);
}

/* The Debug component is in the -debug variants only, and left out unless
 * asked for. */
static void debug_component_only_on_request(void **st)
{
    (void)st;
    char p[1100], err[256];
    capfile f;
    snprintf(p, sizeof p, "%s/applets/counter/jc305u3/counter.cap", javacard_dir);
    assert_int_equal(capfile_read(p, CAPFILE_WITH_DEBUG, &f, err, sizeof err), 0);
    assert_non_null(capfile_component_of(&f, CAP_Debug));
    assert_int_equal(f.components[f.n_components - 1].tag, CAP_Debug);
    size_t with = f.len;
    capfile_free(&f);
    assert_int_equal(capfile_read(p, 0, &f, err, sizeof err), 0);
    assert_null(capfile_component_of(&f, CAP_Debug));
    assert_true(f.len < with);
    assert_int_equal(f.components[f.n_components - 1].tag, CAP_Descriptor);
    capfile_free(&f);
}

/* Package and applet AIDs as the transcripts' @install lines name them. */
static void aids_match_the_transcripts(void **st)
{
    (void)st;
    static const struct {
        const char *cap, *pkg;
        const char *applets[2];
    } want[] = {
        {"counter/%s/counter.cap", "F0434150574B01", {"F0434150574B0101", NULL}},
        {"pinaes/%s/pinaes.cap", "F0434150574B02", {"F0434150574B0201", NULL}},
        {"objects/%s/objects.cap", "F0434150574B03", {"F0434150574B0301", NULL}},
        {"apdukit/%s/apdukit.cap", "F0434150573204", {"F043415057320401", NULL}},
        {"libshare/%s/loyalty.cap", "F0434150573201", {NULL, NULL}},
        {"libshare/%s/loyaltysrv.cap", "F0434150573202", {"F043415057320201", NULL}},
        {"libshare/%s/shop.cap", "F0434150573203", {"F043415057320301", "F043415057320302"}},
    };
    static const char *variants[] = {"jc222", "jc222-nodebug", "jc305u3", "jc305u3-nodebug"};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        for (size_t v = 0; v < 4; v++) {
            char rel[256], p[1400], err[256], hex[40];
            snprintf(rel, sizeof rel, want[i].cap, variants[v]);
            snprintf(p, sizeof p, "%s/applets/%s", javacard_dir, rel);
            capfile f;
            if (capfile_read(p, 0, &f, err, sizeof err)) fail_msg("%s", err);
            for (unsigned k = 0; k < f.pkg_aid_len; k++) sprintf(hex + 2 * k, "%02X", f.pkg_aid[k]);
            assert_string_equal(hex, want[i].pkg);
            assert_int_equal(f.pkg_major, 1);
            assert_int_equal(f.pkg_minor, 0);
            unsigned n = want[i].applets[1] ? 2 : want[i].applets[0] ? 1 : 0;
            assert_int_equal(f.n_applets, n);
            for (unsigned a = 0; a < n; a++) {
                for (unsigned k = 0; k < f.applets[a].aid_len; k++) sprintf(hex + 2 * k, "%02X", f.applets[a].aid[k]);
                assert_string_equal(hex, want[i].applets[a]);
            }
            capfile_free(&f);
        }
    }
}

/* ---- broken zips, made from counter's real components ---- */
typedef struct zentry {
    const char *name;
    const uint8_t *data;
    size_t len;
} zentry;

/* Writes a zip of the entries to path. */
static void write_zip(const char *path, const zentry *e, size_t n)
{
    int zerr;
    unlink(path);
    zip_t *z = zip_open(path, ZIP_CREATE | ZIP_TRUNCATE, &zerr);
    assert_non_null(z);
    for (size_t i = 0; i < n; i++) {
        zip_source_t *s = zip_source_buffer(z, e[i].data, e[i].len, 0);
        assert_non_null(s);
        assert_true(zip_file_add(z, e[i].name, s, ZIP_FL_OVERWRITE) >= 0);
    }
    assert_int_equal(zip_close(z), 0);
}

typedef struct parts {
    capfile f;
    zentry e[12];
    char names[12][128];
    size_t n;
} parts;

static void counter_parts(parts *p, const char *pkgdir)
{
    char path[1100], err[256];
    snprintf(path, sizeof path, "%s/applets/counter/jc222-nodebug/counter.cap", javacard_dir);
    assert_int_equal(capfile_read(path, 0, &p->f, err, sizeof err), 0);
    p->n = p->f.n_components;
    static const char *files[] = {"", "Header", "Directory", "Applet", "Import", "ConstantPool", "Class", "Method",
                                  "StaticField", "RefLocation", "Export", "Descriptor", "Debug"};
    for (size_t i = 0; i < p->n; i++) {
        const capfile_component *c = &p->f.components[i];
        snprintf(p->names[i], sizeof p->names[i], "%s/javacard/%s.cap", pkgdir, files[c->tag]);
        p->e[i].name = p->names[i];
        p->e[i].data = p->f.load_file + c->offset;
        p->e[i].len = c->size;
    }
}

static void refused(const char *zpath, const char *why)
{
    capfile f;
    char err[256] = "";
    assert_int_equal(capfile_read(zpath, 0, &f, err, sizeof err), -1);
    if (!strstr(err, why)) fail_msg("expected '%s' in: %s", why, err);
    capfile_free(&f);
}

static void broken_zips_refused(void **st)
{
    (void)st;
    char zpath[64];
    snprintf(zpath, sizeof zpath, "/tmp/capfile-test-%d.cap", (int)getpid());
    parts p;
    counter_parts(&p, "capwork/counter");

    /* a faithful rebuild reads back to the same load file (shuffled order) */
    zentry rev[12];
    for (size_t i = 0; i < p.n; i++) rev[i] = p.e[p.n - 1 - i];
    write_zip(zpath, rev, p.n);
    capfile g;
    char err[256];
    assert_int_equal(capfile_read(zpath, 0, &g, err, sizeof err), 0);
    assert_int_equal(g.len, p.f.len);
    assert_memory_equal(g.load_file, p.f.load_file, g.len);
    assert_string_equal(g.package_path, "capwork/counter");
    capfile_free(&g);

    /* each required component missing in turn */
    for (size_t drop = 0; drop < p.n; drop++) {
        uint8_t tag = p.f.components[drop].tag;
        if (tag == CAP_Applet || tag == CAP_Descriptor || tag == CAP_Export) continue;
        zentry e[12];
        size_t n = 0;
        for (size_t i = 0; i < p.n; i++)
            if (i != drop) e[n++] = p.e[i];
        write_zip(zpath, e, n);
        refused(zpath, "missing");
    }

    /* a second package's component */
    zentry two[13];
    memcpy(two, p.e, p.n * sizeof two[0]);
    two[p.n] = p.e[0];
    two[p.n].name = "capwork/other/javacard/Header.cap";
    write_zip(zpath, two, p.n + 1);
    refused(zpath, "two packages");

    /* a size field that does not match the file */
    uint8_t bad[512];
    memcpy(two, p.e, p.n * sizeof two[0]);
    assert_true(p.e[1].len <= sizeof bad);
    memcpy(bad, p.e[1].data, p.e[1].len);
    bad[2] ^= 1;
    two[1].data = bad;
    write_zip(zpath, two, p.n);
    refused(zpath, "size field");

    /* a component under a wrong name (tag mismatch) */
    memcpy(two, p.e, p.n * sizeof two[0]);
    two[0].data = p.e[1].data;
    two[0].len = p.e[1].len;
    write_zip(zpath, two, p.n);
    refused(zpath, "tag");

    /* not a zip at all */
    FILE *fp = fopen(zpath, "wb");
    assert_non_null(fp);
    fwrite(p.f.load_file, 1, p.f.len, fp);
    fclose(fp);
    refused(zpath, "not a CAP file");
    assert_int_equal(capfile_is_zip(p.f.load_file, p.f.len), 0);

    /* no javacard/ folder */
    zentry other = {"META-INF/MANIFEST.MF", (const uint8_t *)"Manifest-Version: 1.0\n", 22};
    write_zip(zpath, &other, 1);
    refused(zpath, "no */javacard/*.cap");

    unlink(zpath);
    capfile_free(&p.f);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: test_capfile SHARED_DIR\n");
        return 2;
    }
    snprintf(javacard_dir, sizeof javacard_dir, "%s/javacard", argv[1]);
    struct stat st;
    if (stat(javacard_dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        printf("SKIP: %s not found (the shared Java Card test material is not beside this clone)\n", javacard_dir);
        return 77;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_shared_cap_matches_its_directory),
        cmocka_unit_test(debug_component_only_on_request),
        cmocka_unit_test(aids_match_the_transcripts),
        cmocka_unit_test(broken_zips_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
