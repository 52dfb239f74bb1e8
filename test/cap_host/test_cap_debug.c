/*
 * test_cap_debug.c — tools/cap/cap_debug.c, the one reader of the Debug
 * component (JCVM 3.0.5 §6.14) that `cardvm --trace`, the tearing report
 * and the converter's export model (tools/convert/export_cap.c) share, on
 * the Debug components Oracle's converters wrote (-debug) for the shared
 * test applets (jc305u3 and jc222 variants).
 *
 * Expected values come from the applets' Java sources beside the CAPs, not
 * from the reader: the package name is the sources' folder, every class is
 * declared in the source file its entry names, which lies in that folder,
 * no line entry points past the end of that file, every class (but an
 * interface) has a constructor, process(APDU) of an applet is there with
 * the descriptor the JCVM gives it. The names-and-lines table built from
 * the same component answers the same names at the same method offsets.
 * Damage: every strict prefix of a component is refused as malformed (its
 * counts promise more than is there), and single bytes changed are
 * refused or read, never read past the component (the sanitizer builds
 * watch that).
 *
 * argv[1] = the shared folder (../shared); exit 77 when it is absent.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "cap_debug.h"
#include "cap_file.h"
#include "testfiles.h"

#define ACC_INTERFACE 0x0200

static char javacard_dir[1024];

/* applet folder, CAP file names in it (libshare has three packages) */
static const struct {
    const char *applet;
    const char *caps[3];
} APPLETS[] = {
    {"counter", {"counter"}},
    {"pinaes", {"pinaes"}},
    {"objects", {"objects"}},
    {"apdukit", {"apdukit"}},
    {"libshare", {"loyalty", "loyaltysrv", "shop"}},
};
static const char *const VARIANTS[] = {"jc305u3", "jc222"};   /* the -debug ones */

typedef void (*cap_check)(const char *applet, const char *cap_path, const capfile *f, const uint8_t *info,
                          size_t n);

/* Run `check` on the Debug component of every -debug CAP; the count. */
static unsigned each_debug_cap(cap_check check)
{
    unsigned count = 0;
    for (size_t a = 0; a < sizeof APPLETS / sizeof APPLETS[0]; a++)
        for (size_t v = 0; v < sizeof VARIANTS / sizeof VARIANTS[0]; v++)
            for (size_t c = 0; c < 3 && APPLETS[a].caps[c]; c++) {
                char path[1400], err[256];
                snprintf(path, sizeof path, "%s/applets/%s/%s/%s.cap", javacard_dir, APPLETS[a].applet,
                         VARIANTS[v], APPLETS[a].caps[c]);
                capfile f;
                if (capfile_read(path, CAPFILE_WITH_DEBUG, &f, err, sizeof err) != 0) {
                    capfile_free(&f);
                    fail_msg("%s: %s", path, err);
                }
                const capfile_component *dc = capfile_component_of(&f, 12);
                if (!dc || dc->size < 3)
                    fail_msg("%s: no Debug component in a -debug CAP", path);
                check(APPLETS[a].applet, path, &f, f.load_file + dc->offset + 3, dc->size - 3);
                capfile_free(&f);
                count++;
            }
    return count;
}

static int ends_with(const char *s, const char *tail)
{
    size_t n = strlen(s), m = strlen(tail);
    return n >= m && !strcmp(s + n - m, tail);
}

static unsigned count_lines(const uint8_t *b, size_t n)
{
    unsigned lines = 0;
    for (size_t i = 0; i < n; i++)
        lines += b[i] == '\n';
    return lines + (n && b[n - 1] != '\n');
}

/* Names and lines against the Java sources. */
static void names_and_lines(const char *applet, const char *cap_path, const capfile *f, const uint8_t *info,
                            size_t n)
{
    cap_debug_component dc;
    assert_int_equal(cap_debug_component_read(info, n, &dc), 0);
    const char *pkg = cap_debug_string(&dc, dc.package_name);
    assert_non_null(pkg);
    char src_dir[1400];
    snprintf(src_dir, sizeof src_dir, "%s/applets/%s/src/%s", javacard_dir, applet, pkg);
    struct stat sb;
    if (stat(src_dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
        fail_msg("%s: package %s: no source folder %s", cap_path, pkg, src_dir);
    assert_true(dc.n_classes > 0);
    int has_process = 0;
    for (unsigned c = 0; c < dc.n_classes; c++) {
        const cap_debug_class_info *k = &dc.classes[c];
        const char *name = cap_debug_string(&dc, k->name), *src = cap_debug_string(&dc, k->source_file);
        assert_non_null(name);
        assert_non_null(cap_debug_string(&dc, k->superclass));
        if (strncmp(name, pkg, strlen(pkg)) != 0 || name[strlen(pkg)] != '/')
            fail_msg("%s: class %s is not in package %s", cap_path, name, pkg);
        if (!src || !ends_with(src, ".java"))
            fail_msg("%s: class %s: source file %s", cap_path, name, src ? src : "(none)");
        char src_path[1700];
        snprintf(src_path, sizeof src_path, "%s/%s", src_dir, src);
        size_t len;
        uint8_t *text = test_read_file(src_path, &len);
        if (!text)
            fail_msg("%s: class %s: %s cannot be read", cap_path, name, src_path);
        /* declared there: "class Simple" or "interface Simple" */
        const char *simple = strrchr(name, '/') + 1;
        char decl[300];
        snprintf(decl, sizeof decl, "%s %s", (k->access & ACC_INTERFACE) ? "interface" : "class", simple);
        if (!strchr(simple, '$') && !strstr((const char *)text, decl))
            fail_msg("%s: %s does not declare %s", cap_path, src_path, decl);
        unsigned file_lines = count_lines(text, len);
        free(text);
        for (unsigned i = 0; i < k->n_interfaces; i++)
            assert_non_null(cap_debug_string(&dc, k->interfaces[i]));
        for (unsigned i = 0; i < k->n_fields; i++) {
            assert_non_null(cap_debug_string(&dc, k->fields[i].name));
            assert_non_null(cap_debug_string(&dc, k->fields[i].descriptor));
        }
        int has_init = 0;
        for (unsigned m = 0; m < k->n_methods; m++) {
            const cap_debug_method_info *mi = &k->methods[m];
            const char *mname = cap_debug_string(&dc, mi->name), *desc = cap_debug_string(&dc, mi->descriptor);
            assert_non_null(mname);
            assert_non_null(desc);
            assert_true(desc[0] == '(');
            has_init |= !strcmp(mname, "<init>");
            has_process |= !strcmp(mname, "process") && !strcmp(desc, "(Ljavacard/framework/APDU;)V");
            for (size_t l = 0; l < mi->n_lines; l++) {
                const cap_debug_line *ln = &mi->lines[l];
                if (ln->start_pc > ln->end_pc || ln->line == 0 || ln->line > file_lines)
                    fail_msg("%s: %s.%s: line entry %u..%u -> %u (%s has %u lines)", cap_path, name, mname,
                             ln->start_pc, ln->end_pc, ln->line, src, file_lines);
            }
        }
        if (!(k->access & ACC_INTERFACE) && !has_init)
            fail_msg("%s: class %s has no constructor", cap_path, name);
    }
    if (f->n_applets > 0 && !has_process)
        fail_msg("%s: an applet package without process(Ljavacard/framework/APDU;)V", cap_path);

    /* the names-and-lines table of the same CAP: same names at the same
     * Method component offsets (abstract methods have none) */
    cap_debug table;
    memset(&table, 0, sizeof table);
    assert_int_equal(cap_debug_add_file(&table, cap_path), 0);
    for (unsigned c = 0; c < dc.n_classes; c++)
        for (unsigned m = 0; m < dc.classes[c].n_methods; m++) {
            const cap_debug_method_info *mi = &dc.classes[c].methods[m];
            if (mi->location == 0)
                continue;
            const cap_debug_method *e = cap_debug_method_at(&table, f->pkg_aid, f->pkg_aid_len, mi->location);
            assert_non_null(e);
            assert_string_equal(e->name, cap_debug_string(&dc, mi->name));
            assert_string_equal(e->descriptor, cap_debug_string(&dc, mi->descriptor));
            assert_string_equal(e->class_name, cap_debug_string(&dc, dc.classes[c].name));
            assert_int_equal(e->n_lines, mi->n_lines);
        }
    cap_debug_free(&table);
    cap_debug_component_free(&dc);
}

/* Every strict prefix refused; single bytes changed: refused or read. */
static void damage(const char *applet, const char *cap_path, const capfile *f, const uint8_t *info, size_t n)
{
    (void)applet;
    (void)f;
    cap_debug_component dc;
    for (size_t len = 0; len < n; len++) {
        /* a copy of exactly len bytes, so that a read past it is caught */
        uint8_t *cut = malloc(len ? len : 1);
        assert_non_null(cut);
        memcpy(cut, info, len);
        int rc = cap_debug_component_read(cut, len, &dc);
        free(cut);
        if (rc != CAP_DEBUG_MALFORMED)
            fail_msg("%s: the first %zu of %zu bytes read as %d, not refused", cap_path, len, n, rc);
        assert_int_equal(dc.n_classes, 0);
        assert_null(dc.strings);
    }
    uint8_t *b = malloc(n);
    assert_non_null(b);
    unsigned refused = 0;
    for (size_t at = 0; at < n; at++) {
        memcpy(b, info, n);
        b[at] ^= 0xFF;
        int rc = cap_debug_component_read(b, n, &dc);
        assert_true(rc == 0 || rc == CAP_DEBUG_MALFORMED);
        refused += rc != 0;
        cap_debug_component_free(&dc);
    }
    free(b);
    assert_true(refused > 0);
}

static void test_names_and_lines(void **state)
{
    (void)state;
    unsigned n = each_debug_cap(names_and_lines);
    print_message("%u Debug components against their Java sources\n", n);
    assert_int_equal(n, 14);
}

static void test_damage(void **state)
{
    (void)state;
    unsigned n = each_debug_cap(damage);
    print_message("%u Debug components cut at every length and changed at every byte\n", n);
    assert_int_equal(n, 14);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: test_cap_debug SHARED_DIR\n");
        return 2;
    }
    snprintf(javacard_dir, sizeof javacard_dir, "%s/javacard", argv[1]);
    struct stat sb;
    if (stat(javacard_dir, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
        printf("SKIP: %s not found (the shared Java Card test material is not beside this clone)\n", javacard_dir);
        return 77;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names_and_lines),
        cmocka_unit_test(test_damage),
    };
    return cmocka_run_group_tests_name("cap_debug", tests, NULL, NULL);
}
