/* test_cap_engine_format.c — cap_parse() on every CAP of the shared test
 * material, its decoded view checked against the converter's own JCA text
 * of the same package (AIDs, imports, applets, constant pool and class
 * counts), and structural refusals. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "cap_format.h"
#include "cap_testfile.h"
#include "testfiles.h"
#include "vm.h"

/* What the JCA text says about a package. */
typedef struct jca_facts {
    vm_aid pkg;
    unsigned import_count;
    vm_aid imports[16];
    unsigned import_major[16], import_minor[16];
    unsigned applet_count;
    vm_aid applets[16];
    unsigned cp_count;
    unsigned class_count;
} jca_facts;

/* "0xF0:0x43:0x1" -> AID bytes; returns the end of the token. */
static const char *parse_jca_aid(const char *s, vm_aid *aid)
{
    aid->len = 0;
    while (s[0] == '0' && s[1] == 'x' && aid->len < VM_AID_MAX) {
        char *end;
        aid->b[aid->len++] = (uint8_t)strtoul(s + 2, &end, 16);
        s = end;
        if (*s == ':')
            s++;
    }
    return s;
}

static int read_jca(const char *path, jca_facts *f)
{
    size_t len;
    char *text = (char *)test_read_file(path, &len);
    if (!text)
        return -1;
    memset(f, 0, sizeof *f);
    enum { NONE, IMPORTS, APPLETS, CP } section = NONE;
    int cp_max = -1;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        const char *s = line;
        while (*s == '\t' || *s == ' ')
            s++;
        if (!strncmp(s, ".aid ", 5) && f->pkg.len == 0)
            parse_jca_aid(s + 5, &f->pkg);
        else if (!strncmp(s, ".imports", 8))
            section = IMPORTS;
        else if (!strncmp(s, ".applet {", 9))
            section = APPLETS;
        else if (!strncmp(s, ".constantPool", 13))
            section = CP;
        else if (*s == '}')
            section = NONE;
        else if (section == IMPORTS && s[0] == '0') {
            unsigned i = f->import_count++;
            const char *e = parse_jca_aid(s, &f->imports[i]);
            sscanf(e, " %u.%u", &f->import_major[i], &f->import_minor[i]);
        } else if (section == APPLETS && s[0] == '0') {
            parse_jca_aid(s, &f->applets[f->applet_count++]);
        } else if (section == CP && s[0] == '/' && s[1] == '/') {
            int n;
            if (sscanf(s + 2, " %d", &n) == 1 && n > cp_max)
                cp_max = n;
        }
        /* Declarations sit one level in; deeper ".interface" lines list a
         * class's implemented interfaces. */
        if (s == line + 1 && (!strncmp(s, ".class ", 7) || !strncmp(s, ".interface ", 11)))
            f->class_count++;
    }
    f->cp_count = (unsigned)(cp_max + 1);
    free(text);
    return 0;
}

static void assert_aid_equal(const vm_aid *a, const vm_aid *b)
{
    assert_int_equal(a->len, b->len);
    assert_memory_equal(a->b, b->b, a->len);
}

static void check_against_jca(const char *cap_path, const cap_view *v)
{
    char jca[1024];
    snprintf(jca, sizeof jca, "%s", cap_path);
    memcpy(jca + strlen(jca) - 3, "jca", 3);
    jca_facts f;
    if (read_jca(jca, &f) != 0)
        return;   /* public CAPs come without JCA */
    assert_aid_equal(&v->pkg_aid, &f.pkg);
    assert_int_equal(v->import_count, f.import_count);
    for (unsigned i = 0; i < f.import_count; i++) {
        assert_aid_equal(&v->imports[i].aid, &f.imports[i]);
        assert_int_equal(v->imports[i].major, f.import_major[i]);
        assert_int_equal(v->imports[i].minor, f.import_minor[i]);
    }
    if (v->applet_count != f.applet_count)
        fail_msg("%s: %u applets, the JCA lists %u", cap_path, v->applet_count, f.applet_count);
    for (unsigned i = 0; i < f.applet_count; i++)
        assert_aid_equal(&v->applets[i].aid, &f.applets[i]);
    assert_int_equal(v->cp_count, f.cp_count);
    assert_int_equal(v->class_count, f.class_count);
}

static void check_view_structure(const cap_view *v)
{
    /* Every applet's install method and every vtable entry has a header
     * inside the Method component; class_at finds every record. */
    cap_method_header h;
    for (unsigned i = 0; i < v->applet_count; i++)
        assert_int_equal(cap_method_header_at(v, v->applets[i].install_offset, &h), 0);
    for (unsigned i = 0; i < v->class_count; i++) {
        const cap_class *k = &v->classes[i];
        assert_ptr_equal(cap_class_at(v, k->offset), k);
        if (k->flags & CAP_ACC_INTERFACE)
            continue;
        for (unsigned j = 0; j < k->public_count; j++) {
            uint16_t off = vm_be16(k->public_vtable + 2 * j);
            if (off != 0xFFFF)
                assert_int_equal(cap_method_header_at(v, off, &h), 0);
        }
    }
    assert_true(v->cap_major == 2 && (v->cap_minor == 1 || v->cap_minor == 2));
}

static void test_parse_every_shared_cap(void **state)
{
    (void)state;
    const char *shared = cap_test_shared_dir();
    if (!shared) {
        print_message("SKIP: ../shared/javacard absent (no shared test material)\n");
        skip();
    }
    char **paths;
    size_t n = cap_test_find_caps(shared, &paths);
    assert_true(n >= 20);
    size_t with_debug = 0;
    for (size_t i = 0; i < n; i++) {
        size_t len;
        uint8_t *lf = cap_test_load_file(paths[i], &len);
        assert_non_null(lf);
        assert_true(cap_is_load_file(lf, len));
        cap_view v;
        char err[256];
        int rc = cap_parse(lf, len, &v, err, sizeof err);
        if (rc != 0)
            fail_msg("%s: %s", paths[i], err);
        check_view_structure(&v);
        check_against_jca(paths[i], &v);
        if (v.cap_minor == 2)
            with_debug++;
        cap_view_free(&v);
        free(lf);
    }
    assert_true(with_debug > 0);   /* both CAP format versions were seen */
    cap_test_free_paths(paths, n);
}

/* A load file of the counter applet, or skip. */
static uint8_t *counter_load_file(size_t *len)
{
    const char *shared = cap_test_shared_dir();
    if (!shared) {
        print_message("SKIP: ../shared/javacard absent (no shared test material)\n");
        return NULL;
    }
    char path[1024];
    snprintf(path, sizeof path, "%s/applets/counter/jc305u3/counter.cap", shared);
    return cap_test_load_file(path, len);
}

static void test_truncation_refused_everywhere(void **state)
{
    (void)state;
    size_t len;
    uint8_t *lf = counter_load_file(&len);
    if (!lf)
        skip();
    /* The Descriptor is optional: cutting exactly before it leaves a
     * complete load file. */
    size_t descriptor_at = len;
    for (size_t pos = 0; pos + 3 <= len; pos += 3u + vm_be16(lf + pos + 1))
        if (lf[pos] == CAP_Descriptor)
            descriptor_at = pos;
    for (size_t cut = 0; cut < len; cut++) {
        if (cut == descriptor_at)
            continue;
        cap_view v;
        char err[256];
        assert_int_equal(cap_parse(lf, cut, &v, err, sizeof err), VM_ERR_VERIFY);
        assert_true(err[0] != 0);
        cap_view_free(&v);
    }
    free(lf);
}

/* Every component's size field one more and one less than the truth: the
 * components then overlap or run past the end, or the Directory disagrees. */
static void test_component_size_off_by_one_refused(void **state)
{
    (void)state;
    size_t len;
    uint8_t *lf = counter_load_file(&len);
    if (!lf)
        skip();
    for (size_t pos = 0; pos + 3 <= len; pos += 3u + vm_be16(lf + pos + 1)) {
        for (int delta = -1; delta <= 1; delta += 2) {
            uint8_t *copy = malloc(len);
            assert_non_null(copy);
            memcpy(copy, lf, len);
            vm_put16(copy + pos + 1, (uint16_t)(vm_be16(lf + pos + 1) + delta));
            cap_view v;
            char err[256];
            int rc = cap_parse(copy, len, &v, err, sizeof err);
            if (rc != VM_ERR_VERIFY)
                fail_msg("component tag %u size %+d accepted", lf[pos], delta);
            cap_view_free(&v);
            free(copy);
        }
    }
    free(lf);
}

static void test_duplicate_and_missing_components_refused(void **state)
{
    (void)state;
    size_t len;
    uint8_t *lf = counter_load_file(&len);
    if (!lf)
        skip();
    /* Header twice. */
    size_t hlen = 3u + vm_be16(lf + 1);
    uint8_t *twice = malloc(len + hlen);
    assert_non_null(twice);
    memcpy(twice, lf, len);
    memcpy(twice + len, lf, hlen);
    cap_view v;
    char err[256];
    assert_int_equal(cap_parse(twice, len + hlen, &v, err, sizeof err), VM_ERR_VERIFY);
    assert_non_null(strstr(err, "second Header"));
    cap_view_free(&v);
    free(twice);
    /* Method left out. */
    uint8_t *without = malloc(len);
    assert_non_null(without);
    size_t n = 0;
    for (size_t pos = 0; pos < len; pos += 3u + vm_be16(lf + pos + 1)) {
        size_t clen = 3u + vm_be16(lf + pos + 1);
        if (lf[pos] != CAP_Method) {
            memcpy(without + n, lf + pos, clen);
            n += clen;
        }
    }
    assert_int_equal(cap_parse(without, n, &v, err, sizeof err), VM_ERR_VERIFY);
    assert_non_null(strstr(err, "no Method"));
    cap_view_free(&v);
    free(without);
    /* Bad magic. */
    lf[3] ^= 1;
    assert_false(cap_is_load_file(lf, len));
    assert_int_equal(cap_parse(lf, len, &v, err, sizeof err), VM_ERR_VERIFY);
    cap_view_free(&v);
    free(lf);
}

static void test_component_table(void **state)
{
    (void)state;
    /* The spec's tags and load order (JCVM 3.0.5 §6.1, §6.2). */
    assert_int_equal(cap_components[CAP_Header].tag, 1);
    assert_int_equal(cap_components[CAP_ConstantPool].tag, 5);
    assert_int_equal(cap_components[CAP_Debug].tag, 12);
    assert_int_equal(cap_components[CAP_Header].order, 0);
    assert_int_equal(cap_components[CAP_RefLocation].order, 9);
    assert_string_equal(cap_components[CAP_StaticField].file, "StaticField.cap");
    assert_int_equal(cap_components[CAP_Descriptor].required, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_component_table),
        cmocka_unit_test(test_parse_every_shared_cap),
        cmocka_unit_test(test_truncation_refused_everywhere),
        cmocka_unit_test(test_component_size_off_by_one_refused),
        cmocka_unit_test(test_duplicate_and_missing_components_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
