/* test_cap_verify.c — the on-card CAP verifier (vm/cap_verify.h) on the
 * shared converter output and on mutations of it.
 *
 * Every shared CAP (four converter variants of each applet, the libshare
 * library and its clients, the public CAPs, the benchmark corpus) must
 * verify. Then each mutation below must be refused. The expected outcome of
 * each mutation follows from the CAP format (JCVM 3.0.5 ch. 6) and the
 * instruction set (ch. 7): where a test walks a component to find what to
 * mutate, the walk is written here from the specification, independently
 * of the verifier. Skips when ../shared is absent. */
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
#include "cap_verify.h"
#include "opcodes.h"
#include "vm.h"

/* ---- load files and the environment ---- */

typedef struct lfile {
    uint8_t *b;
    size_t len;
} lfile;

static int lf_read(const char *rel, lfile *f)
{
    const char *dir = cap_test_shared_dir();
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    f->b = cap_test_load_file(path, &f->len);
    return f->b ? 0 : -1;
}

static lfile lf_copy(const lfile *f)
{
    lfile c = { malloc(f->len + 1), f->len };
    assert_non_null(c.b);
    memcpy(c.b, f->b, f->len);
    return c;
}

/* The user libraries a test makes "loaded": parsed views kept alive. */
typedef struct libset {
    unsigned n;
    lfile files[4];
    cap_view views[4];
} libset;

static const cap_view *find_lib(void *ctx, const uint8_t *aid, uint8_t len)
{
    libset *s = ctx;
    for (unsigned i = 0; i < s->n; i++)
        if (s->views[i].pkg_aid.len == len && memcmp(s->views[i].pkg_aid.b, aid, len) == 0)
            return &s->views[i];
    return NULL;
}

static void libset_free(libset *s)
{
    for (unsigned i = 0; i < s->n; i++) {
        cap_view_free(&s->views[i]);
        free(s->files[i].b);
    }
    s->n = 0;
}

static void env_with(cap_link_env *env, libset *libs)
{
    cap_link_env_builtin(env);
    if (libs) {
        env->find_user = find_lib;
        env->ctx = libs;
    }
}

static int verify(const lfile *f, libset *libs, unsigned flags, char *err, size_t errlen)
{
    cap_link_env env;
    env_with(&env, libs);
    return vm_cap_verify_load_file(f->b, f->len, &env, flags, err, errlen);
}

static int skip_without_shared(void)
{
    if (!cap_test_shared_dir()) {
        fprintf(stderr, "SKIP: ../shared/javacard is absent (the shared CAP test material)\n");
        return 1;
    }
    return 0;
}

static void load_library(libset *s, const char *rel)
{
    lfile f;
    assert_int_equal(lf_read(rel, &f), 0);
    char err[256];
    assert_int_equal(cap_parse(f.b, f.len, &s->views[s->n], err, sizeof err), 0);
    s->files[s->n++] = f;
}

/* ---- a spec-side walk of the load file ---- */

static uint16_t be16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }

/* Offset of the tag byte of a component in the load file, or -1. */
static long comp_at(const lfile *f, uint8_t tag)
{
    size_t pos = 0;
    while (pos + 3 <= f->len) {
        if (f->b[pos] == tag)
            return (long)pos;
        pos += 3u + be16(f->b + pos + 1);
    }
    return -1;
}

static size_t info_at(const lfile *f, uint8_t tag)
{
    long p = comp_at(f, tag);
    assert_true(p >= 0);
    return (size_t)p + 3;
}

typedef struct tmethod {
    uint16_t offset, bytecode_count, handler_count, handler_index, class_ref;
    uint8_t token, access;
    size_t desc_pos;      /* load-file offset of its method_descriptor_info */
} tmethod;

/* Methods with code, from the Descriptor component (§6.13). */
static unsigned walk_methods(const lfile *f, tmethod *out, unsigned cap)
{
    size_t d = info_at(f, CAP_Descriptor);
    const uint8_t *p = f->b + d;
    unsigned n = p[0], pos = 1, count = 0;
    for (unsigned i = 0; i < n; i++) {
        uint16_t this_ref = be16(p + pos + 2);
        unsigned ni = p[pos + 4], nf = be16(p + pos + 5), nm = be16(p + pos + 7);
        pos += 9 + 2 * ni + 7 * nf;
        for (unsigned j = 0; j < nm; j++, pos += 12) {
            const uint8_t *m = p + pos;
            if (be16(m + 6) == 0)
                continue;       /* abstract or interface: no bytecode */
            assert_true(count < cap);
            tmethod *t = &out[count++];
            t->token = m[0];
            t->access = m[1];
            t->offset = be16(m + 2);
            t->bytecode_count = be16(m + 6);
            t->handler_count = be16(m + 8);
            t->handler_index = be16(m + 10);
            t->class_ref = this_ref;
            t->desc_pos = d + pos;
        }
    }
    return count;
}

/* Load-file offset of a method's first bytecode. */
static size_t code_at(const lfile *f, const tmethod *m)
{
    size_t meth = info_at(f, CAP_Method);
    uint8_t h = f->b[meth + m->offset];
    return meth + m->offset + ((h & 0x80) ? 4u : 2u);
}

static uint32_t insn_len(const uint8_t *code, uint32_t len, uint32_t pc)
{
    if (code[pc] == 0x8E)      /* invokeinterface: nargs, u2 index, token */
        return 5;
    return vm_insn_length(code, len, pc);
}

#define MAX_METHODS 256

/* ---- every shared CAP verifies ---- */

static const char *const applets[] = { "counter", "pinaes", "objects", "apdukit" };
static const char *const variants[] = { "jc222", "jc222-nodebug", "jc305u3", "jc305u3-nodebug" };

static void expect_ok(const char *rel, libset *libs)
{
    lfile f;
    char err[256] = "";
    assert_int_equal(lf_read(rel, &f), 0);
    int rc = verify(&f, libs, 0, err, sizeof err);
    if (rc != 0)
        fail_msg("%s: %d %s", rel, rc, err);
    free(f.b);
}

static void test_shared_caps_verify(void **state)
{
    (void)state;
    if (skip_without_shared())
        skip();
    char rel[256];
    for (unsigned v = 0; v < 4; v++) {
        for (unsigned a = 0; a < 4; a++) {
            snprintf(rel, sizeof rel, "applets/%s/%s/%s.cap", applets[a], variants[v], applets[a]);
            expect_ok(rel, NULL);
        }
        /* libshare: the library first, its clients link against it. */
        libset libs = { 0 };
        snprintf(rel, sizeof rel, "applets/libshare/%s/loyalty.cap", variants[v]);
        expect_ok(rel, NULL);
        load_library(&libs, rel);
        snprintf(rel, sizeof rel, "applets/libshare/%s/loyaltysrv.cap", variants[v]);
        expect_ok(rel, &libs);
        snprintf(rel, sizeof rel, "applets/libshare/%s/shop.cap", variants[v]);
        expect_ok(rel, &libs);
        libset_free(&libs);
    }
}

static void test_public_and_bench_caps_verify(void **state)
{
    (void)state;
    if (skip_without_shared())
        skip();
    char **paths;
    const char *dir = cap_test_shared_dir();
    const char *subs[] = { "public", "bench" };
    unsigned total = 0;
    for (unsigned s = 0; s < 2; s++) {
        char d[1024];
        snprintf(d, sizeof d, "%s/%s", dir, subs[s]);
        size_t n = cap_test_find_caps(d, &paths);
        for (size_t i = 0; i < n; i++) {
            size_t len;
            uint8_t *b = cap_test_load_file(paths[i], &len);
            assert_non_null(b);
            lfile f = { b, len };
            char err[256] = "";
            int rc = verify(&f, NULL, 0, err, sizeof err);
            if (rc != 0)
                fail_msg("%s: %d %s", paths[i], rc, err);
            free(b);
            total++;
        }
        cap_test_free_paths(paths, n);
    }
    assert_true(total >= 5);
}

/* ---- linking ---- */

static void test_missing_library_is_a_dependency(void **state)
{
    (void)state;
    if (skip_without_shared())
        skip();
    lfile f;
    char err[256];
    assert_int_equal(lf_read("applets/libshare/jc305u3/shop.cap", &f), 0);
    assert_int_equal(verify(&f, NULL, 0, err, sizeof err), VM_ERR_DEPENDENCY);
    assert_non_null(strstr(err, "Import offset"));
    /* The host without the library at hand: shape only. */
    assert_int_equal(verify(&f, NULL, CAP_VERIFY_UNRESOLVED_IMPORTS_OK, err, sizeof err), 0);
    /* vm_verify on CAP bytes runs the same verifier. */
    assert_int_equal(vm_verify(f.b, f.len, 0, err, sizeof err), 0);
    free(f.b);
}

/* The Import component's entries: minor, major, AID length, AID. */
static void test_import_versions(void **state)
{
    (void)state;
    if (skip_without_shared())
        skip();
    lfile f;
    char err[256];
    assert_int_equal(lf_read("applets/counter/jc305u3/counter.cap", &f), 0);
    size_t imp = info_at(&f, CAP_Import);
    unsigned n = f.b[imp], pos = 1;
    unsigned seen_framework = 0;
    static const uint8_t framework[] = { 0xA0, 0x00, 0x00, 0x00, 0x62, 0x01, 0x01 };
    for (unsigned i = 0; i < n; i++) {
        uint8_t alen = f.b[imp + pos + 2];
        if (alen == sizeof framework && !memcmp(f.b + imp + pos + 3, framework, alen)) {
            seen_framework = 1;
            /* javacard.framework on the card is 1.6: 1.7 and 2.x do not link,
             * 1.2 does (same major, lower minor). */
            lfile m = lf_copy(&f);
            m.b[imp + pos] = 7;
            assert_int_equal(verify(&m, NULL, 0, err, sizeof err), VM_ERR_DEPENDENCY);
            m.b[imp + pos] = 2;
            assert_int_equal(verify(&m, NULL, 0, err, sizeof err), 0);
            m.b[imp + pos + 1] = 2;
            assert_int_equal(verify(&m, NULL, 0, err, sizeof err), VM_ERR_DEPENDENCY);
            /* An AID no card package has. */
            m.b[imp + pos + 1] = 1;
            m.b[imp + pos + 3 + alen - 1] ^= 0x40;
            assert_int_equal(verify(&m, NULL, 0, err, sizeof err), VM_ERR_DEPENDENCY);
            free(m.b);
        }
        pos += 3u + alen;
    }
    assert_true(seen_framework);
    free(f.b);
}

static void test_descriptor_required(void **state)
{
    (void)state;
    if (skip_without_shared())
        skip();
    lfile f;
    char err[256];
    assert_int_equal(lf_read("applets/counter/jc305u3-nodebug/counter.cap", &f), 0);
    long d = comp_at(&f, CAP_Descriptor);
    assert_true(d > 0);
    size_t dsize = 3u + be16(f.b + d + 1);
    /* The load file without its Descriptor (the Directory may still give
     * its size: the component is optional on the load path). */
    memmove(f.b + d, f.b + d + dsize, f.len - (size_t)d - dsize);
    f.len -= dsize;
    assert_int_equal(verify(&f, NULL, 0, err, sizeof err), VM_ERR_VERIFY);
    assert_non_null(strstr(err, "Descriptor component required for on-card verification"));
    free(f.b);
}

/* ---- structural mutations ---- */

static const char *const mutation_caps[] = {
    "applets/counter/jc305u3-nodebug/counter.cap",
    "applets/objects/jc222/objects.cap",
    "applets/libshare/jc305u3/loyalty.cap",
};

static void expect_refused(const lfile *m, libset *libs, const char *what, unsigned arg)
{
    char err[256] = "";
    int rc = verify(m, libs, 0, err, sizeof err);
    if (rc != VM_ERR_VERIFY && rc != VM_ERR_DEPENDENCY)
        fail_msg("%s (%u): accepted (rc %d)", what, arg, rc);
}

static void test_truncated_components(void **state)
{
    (void)state;
    if (skip_without_shared())
        skip();
    for (unsigned c = 0; c < 3; c++) {
        lfile f;
        assert_int_equal(lf_read(mutation_caps[c], &f), 0);
        for (uint8_t tag = 1; tag <= CAP_TAG_MAX; tag++) {
            long at = comp_at(&f, tag);
            if (at < 0)
                continue;
            uint16_t size = be16(f.b + at + 1);
            for (unsigned fix_dir = 0; fix_dir < 2; fix_dir++) {
                /* Drop the component's last byte. */
                lfile m = lf_copy(&f);
                size_t end = (size_t)at + 3u + size;
                memmove(m.b + end - 1, m.b + end, m.len - end);
                m.len--;
                put16(m.b + at + 1, (uint16_t)(size - 1));
                if (fix_dir && tag != CAP_Directory) {
                    /* ... and let the Directory agree, so the component's
                     * own content has to give it away. */
                    size_t dir = info_at(&m, CAP_Directory);
                    put16(m.b + dir + 2u * (tag - 1), (uint16_t)(size - 1));
                }
                expect_refused(&m, NULL, cap_components[tag].name, fix_dir);
                free(m.b);
            }
        }
        free(f.b);
    }
}

/* Every length or count field of the load file, as (offset, width). */
typedef struct lenfield {
    size_t at;
    uint8_t width;
    const char *what;
} lenfield;

static unsigned add_field(lenfield *out, unsigned n, size_t at, uint8_t w, const char *what)
{
    if (n < 1024) {
        out[n].at = at;
        out[n].width = w;
        out[n].what = what;
    }
    return n + 1;
}

static unsigned length_fields(const lfile *f, lenfield *out)
{
    unsigned n = 0;
    /* Component sizes. */
    for (size_t pos = 0; pos + 3 <= f->len; pos += 3u + be16(f->b + pos + 1))
        n = add_field(out, n, pos + 1, 2, "component size");
    size_t h = info_at(f, CAP_Header);
    uint8_t cap_minor = f->b[h + 4];
    n = add_field(out, n, h + 9, 1, "package AID length");
    if (cap_minor >= 2)
        n = add_field(out, n, h + 10 + f->b[h + 9], 1, "package name length");
    /* Directory: sizes of the components present. */
    size_t d = info_at(f, CAP_Directory);
    unsigned nsizes = cap_minor >= 2 ? 12 : 11;
    for (unsigned t = 1; t <= nsizes; t++)
        if (comp_at(f, (uint8_t)t) >= 0)
            n = add_field(out, n, d + 2u * (t - 1), 2, "Directory component size");
    size_t sfs = d + 2u * nsizes;
    n = add_field(out, n, sfs, 2, "Directory image_size");
    n = add_field(out, n, sfs + 2, 2, "Directory array_init_count");
    n = add_field(out, n, sfs + 4, 2, "Directory array_init_size");
    n = add_field(out, n, sfs + 6, 1, "Directory import_count");
    n = add_field(out, n, sfs + 7, 1, "Directory applet_count");
    n = add_field(out, n, sfs + 8, 1, "Directory custom_count");
    /* Import. */
    size_t imp = info_at(f, CAP_Import);
    n = add_field(out, n, imp, 1, "Import count");
    for (unsigned i = 0, pos = 1; i < f->b[imp]; i++) {
        n = add_field(out, n, imp + pos + 2, 1, "Import AID length");
        pos += 3u + f->b[imp + pos + 2];
    }
    /* Applet. */
    if (comp_at(f, CAP_Applet) >= 0) {
        size_t ap = info_at(f, CAP_Applet);
        n = add_field(out, n, ap, 1, "Applet count");
        for (unsigned i = 0, pos = 1; i < f->b[ap]; i++) {
            n = add_field(out, n, ap + pos, 1, "Applet AID length");
            pos += 3u + f->b[ap + pos];
        }
    }
    /* ConstantPool. */
    n = add_field(out, n, info_at(f, CAP_ConstantPool), 2, "ConstantPool count");
    /* Class: signature pool (2.2) and every class's method table counts. */
    size_t cl = info_at(f, CAP_Class);
    size_t cl_end = cl + be16(f->b + cl - 2);
    size_t pos = cl;
    if (cap_minor >= 2) {
        n = add_field(out, n, pos, 2, "signature_pool_length");
        pos += 2u + be16(f->b + pos);
    }
    while (pos < cl_end) {
        uint8_t bits = f->b[pos];
        unsigned ni = bits & 0x0F;
        if (bits & 0x80) {                  /* interface_info */
            pos += 1u + 2u * ni;
            continue;
        }
        /* bitfield, super_class_ref, declared_instance_size,
         * first_reference_token, reference_count, public base and count,
         * package base and count, the two tables. */
        n = add_field(out, n, pos + 7, 1, "public_method_table_count");
        n = add_field(out, n, pos + 9, 1, "package_method_table_count");
        unsigned pubc = f->b[pos + 7], pkgc = f->b[pos + 9];
        pos += 10u + 2u * pubc + 2u * pkgc;
        for (unsigned i = 0; i < ni; i++) {
            n = add_field(out, n, pos + 2, 1, "implemented interface count");
            pos += 3u + f->b[pos + 2];
        }
    }
    /* Method. */
    n = add_field(out, n, info_at(f, CAP_Method), 1, "handler_count");
    /* StaticField. */
    size_t sf = info_at(f, CAP_StaticField);
    n = add_field(out, n, sf, 2, "StaticField image_size");
    n = add_field(out, n, sf + 2, 2, "StaticField reference_count");
    n = add_field(out, n, sf + 4, 2, "StaticField array_init_count");
    pos = sf + 6;
    for (unsigned i = 0; i < be16(f->b + sf + 4); i++) {
        n = add_field(out, n, pos + 1, 2, "array_init count");
        pos += 3u + be16(f->b + pos + 1);
    }
    n = add_field(out, n, pos, 2, "default_value_count");
    n = add_field(out, n, pos + 2, 2, "non_default_value_count");
    /* RefLocation. */
    size_t rl = info_at(f, CAP_RefLocation);
    n = add_field(out, n, rl, 2, "byte_index_count");
    n = add_field(out, n, rl + 2u + be16(f->b + rl), 2, "byte2_index_count");
    /* Export. */
    if (comp_at(f, CAP_Export) >= 0) {
        size_t ex = info_at(f, CAP_Export);
        n = add_field(out, n, ex, 1, "Export class_count");
        pos = ex + 1;
        for (unsigned i = 0; i < f->b[ex]; i++) {
            n = add_field(out, n, pos + 2, 1, "static_field_count");
            n = add_field(out, n, pos + 3, 1, "static_method_count");
            pos += 4u + 2u * f->b[pos + 2] + 2u * f->b[pos + 3];
        }
    }
    /* Descriptor. */
    size_t de = info_at(f, CAP_Descriptor);
    size_t de_end = de + be16(f->b + de - 2);
    n = add_field(out, n, de, 1, "Descriptor class_count");
    pos = de + 1;
    for (unsigned i = 0; i < f->b[de]; i++) {
        n = add_field(out, n, pos + 4, 1, "class interface_count");
        n = add_field(out, n, pos + 5, 2, "class field_count");
        n = add_field(out, n, pos + 7, 2, "class method_count");
        unsigned ni = f->b[pos + 4], nf = be16(f->b + pos + 5), nm = be16(f->b + pos + 7);
        pos += 9u + 2u * ni + 7u * nf;
        for (unsigned j = 0; j < nm; j++, pos += 12)
            if (be16(f->b + pos + 6))
                n = add_field(out, n, pos + 6, 2, "method bytecode_count");
    }
    n = add_field(out, n, pos, 2, "Descriptor constant_pool_count");
    pos += 2u + 2u * be16(f->b + pos);
    while (pos < de_end) {
        n = add_field(out, n, pos, 1, "type_descriptor nibble_count");
        pos += 1u + (f->b[pos] + 1u) / 2u;
    }
    return n;
}

static void test_length_fields_off_by_one(void **state)
{
    (void)state;
    if (skip_without_shared())
        skip();
    static lenfield fields[1024];
    for (unsigned c = 0; c < 3; c++) {
        lfile f;
        assert_int_equal(lf_read(mutation_caps[c], &f), 0);
        unsigned n = length_fields(&f, fields);
        assert_true(n > 30 && n <= 1024);
        for (unsigned i = 0; i < n; i++) {
            for (int delta = -1; delta <= 1; delta += 2) {
                lfile m = lf_copy(&f);
                uint8_t *p = m.b + fields[i].at;
                if (fields[i].width == 1)
                    p[0] = (uint8_t)(p[0] + delta);
                else
                    put16(p, (uint16_t)(be16(p) + delta));
                char what[128];
                snprintf(what, sizeof what, "%s: %s at %zu %+d", mutation_caps[c], fields[i].what,
                         fields[i].at, delta);
                expect_refused(&m, NULL, what, 0);
                free(m.b);
            }
        }
        free(f.b);
    }
}

/* ---- constant pool ---- */

static void test_cp_entries_of_the_wrong_kind(void **state)
{
    (void)state;
    if (skip_without_shared())
        skip();
    for (unsigned c = 0; c < 2; c++) {
        lfile f;
        assert_int_equal(lf_read(mutation_caps[c], &f), 0);
        size_t cp = info_at(&f, CAP_ConstantPool);
        unsigned n = be16(f.b + cp);
        for (unsigned i = 0; i < n; i++) {
            uint8_t tag = f.b[cp + 2 + 4 * i];
            for (uint8_t t = 1; t <= 6; t++) {
                if (t == tag)
                    continue;
                lfile m = lf_copy(&f);
                m.b[cp + 2 + 4 * i] = t;
                char what[96];
                snprintf(what, sizeof what, "%s CP %u tag %u -> %u", mutation_caps[c], i, tag, t);
                expect_refused(&m, NULL, what, i);
                free(m.b);
            }
        }
        free(f.b);
    }
}

static void test_cp_tokens_out_of_range(void **state)
{
    (void)state;
    if (skip_without_shared())
        skip();
    for (unsigned c = 0; c < 2; c++) {
        lfile f;
        assert_int_equal(lf_read(mutation_caps[c], &f), 0);
        size_t cp = info_at(&f, CAP_ConstantPool);
        size_t cl = info_at(&f, CAP_Class);
        uint16_t class_size = be16(f.b + cl - 2);
        uint16_t method_size = be16(f.b + info_at(&f, CAP_Method) - 2);
        uint16_t image = be16(f.b + info_at(&f, CAP_StaticField));
        uint8_t imports = f.b[info_at(&f, CAP_Import)];
        unsigned n = be16(f.b + cp);
        unsigned tried = 0;
        for (unsigned i = 0; i < n; i++) {
            size_t e = cp + 2 + 4 * i;
            uint8_t tag = f.b[e];
            lfile m;
            char what[96];
            snprintf(what, sizeof what, "%s CP %u (tag %u)", mutation_caps[c], i, tag);
            int external = (f.b[e + 1] & 0x80) != 0;
            if (tag == CAP_CP_CLASSREF || tag == CAP_CP_INSTANCE_FIELDREF ||
                tag == CAP_CP_VIRTUAL_METHODREF || tag == CAP_CP_SUPER_METHODREF) {
                if (external) {
                    /* Package token past the imports; class token no API
                     * package uses (the largest has fewer than 64). */
                    m = lf_copy(&f);
                    m.b[e + 1] = (uint8_t)(0x80 | imports);
                    expect_refused(&m, NULL, what, 1);
                    free(m.b);
                    m = lf_copy(&f);
                    m.b[e + 2] = 0x7E;
                    expect_refused(&m, NULL, what, 2);
                    free(m.b);
                } else {
                    m = lf_copy(&f);
                    put16(m.b + e + 1, class_size);
                    expect_refused(&m, NULL, what, 3);
                    free(m.b);
                }
                if (tag != CAP_CP_CLASSREF) {
                    /* Member token no class of these packages reaches. */
                    m = lf_copy(&f);
                    m.b[e + 3] = tag == CAP_CP_INSTANCE_FIELDREF ? 0xFE : 0x7E;
                    expect_refused(&m, NULL, what, 4);
                    free(m.b);
                }
                tried++;
                continue;
            }
            /* Static field / method refs. */
            if (external) {
                m = lf_copy(&f);
                m.b[e + 1] = (uint8_t)(0x80 | imports);
                expect_refused(&m, NULL, what, 5);
                free(m.b);
                m = lf_copy(&f);
                m.b[e + 3] = 0x7E;
                expect_refused(&m, NULL, what, 6);
                free(m.b);
            } else {
                m = lf_copy(&f);
                put16(m.b + e + 2, tag == CAP_CP_STATIC_FIELDREF ? image : method_size);
                expect_refused(&m, NULL, what, 7);
                free(m.b);
            }
            tried++;
        }
        assert_true(tried > 10);
        free(f.b);
    }
}

/* ---- bytecode ---- */

static int is_branch1(uint8_t op) { return vm_opinfo_table[op].name && vm_opinfo_table[op].fmt == OPF_BR1; }
static int is_branch2(uint8_t op) { return vm_opinfo_table[op].name && vm_opinfo_table[op].fmt == OPF_BR2; }

typedef int (*insn_mutator)(uint8_t *code, uint32_t pc, uint32_t len);

/* Apply a mutation to every instruction it accepts, one at a time, and
 * expect each result refused. Returns the number of mutants. */
static unsigned mutate_each_insn(const char *rel, insn_mutator mut, const char *what)
{
    lfile f;
    assert_int_equal(lf_read(rel, &f), 0);
    static tmethod ms[MAX_METHODS];
    unsigned nm = walk_methods(&f, ms, MAX_METHODS);
    unsigned mutants = 0;
    for (unsigned i = 0; i < nm; i++) {
        size_t at = code_at(&f, &ms[i]);
        uint32_t len = ms[i].bytecode_count;
        for (uint32_t pc = 0; pc < len;) {
            uint32_t n = insn_len(f.b + at, len, pc);
            assert_true(n > 0);
            lfile m = lf_copy(&f);
            if (mut(m.b + at, pc, len)) {
                char w[160];
                snprintf(w, sizeof w, "%s: %s, method offset %u pc", rel, what, ms[i].offset);
                expect_refused(&m, NULL, w, pc);
                mutants++;
            }
            free(m.b);
            pc += n;
        }
    }
    free(f.b);
    return mutants;
}

/* A branch whose target is its own operand byte. */
static int mut_branch_into_operand(uint8_t *code, uint32_t pc, uint32_t len)
{
    (void)len;
    if (is_branch1(code[pc])) {
        code[pc + 1] = 1;
        return 1;
    }
    if (is_branch2(code[pc])) {
        code[pc + 1] = 0;
        code[pc + 2] = 1;
        return 1;
    }
    return 0;
}

/* A short where a reference was: aload_n -> sconst_0, aload n -> bspush n
 * (the `sspush 0x1234; getfield_a` of a forged reference, same length). */
static int mut_short_as_reference(uint8_t *code, uint32_t pc, uint32_t len)
{
    (void)len;
    if (code[pc] >= OP_aload_0 && code[pc] <= OP_aload_3) {
        code[pc] = OP_sconst_0;
        return 1;
    }
    if (code[pc] == OP_aload) {
        code[pc] = OP_bspush;
        return 1;
    }
    return 0;
}

/* A reference where a short was: sload_n -> aconst_null. */
static int mut_reference_as_short(uint8_t *code, uint32_t pc, uint32_t len)
{
    (void)len;
    if (code[pc] >= OP_sload_0 && code[pc] <= OP_sload_3) {
        code[pc] = OP_aconst_null;
        return 1;
    }
    return 0;
}

/* An array of the wrong element type: newarray byte <-> short. */
static int mut_array_kind(uint8_t *code, uint32_t pc, uint32_t len)
{
    (void)len;
    if (code[pc] == OP_newarray && (code[pc + 1] == VM_T_BYTE || code[pc + 1] == VM_T_SHORT)) {
        code[pc + 1] = code[pc + 1] == VM_T_BYTE ? VM_T_SHORT : VM_T_BYTE;
        return 1;
    }
    return 0;
}

static void test_bytecode_mutations(void **state)
{
    (void)state;
    if (skip_without_shared())
        skip();
    unsigned total = 0, shorts = 0;
    for (unsigned c = 0; c < 2; c++) {
        total += mutate_each_insn(mutation_caps[c], mut_branch_into_operand, "branch into its operand");
        shorts += mutate_each_insn(mutation_caps[c], mut_short_as_reference, "short used as a reference");
        total += mutate_each_insn(mutation_caps[c], mut_reference_as_short, "reference used as a short");
    }
    /* pinaes allocates byte and short arrays and uses them as such. */
    total += mutate_each_insn("applets/pinaes/jc305u3/pinaes.cap", mut_array_kind, "array of the wrong kind");
    assert_true(shorts > 50);
    assert_true(total > 50);
}

/* Is class `sub` (a class offset) `sup` or below it? Walks super_class_ref
 * in the Class component (§6.9: class_info starts bitfield, super ref). */
static int is_subclass(const lfile *f, uint16_t sub, uint16_t sup)
{
    size_t cl = info_at(f, CAP_Class);
    for (unsigned depth = 0; depth < 64; depth++) {
        if (sub == sup)
            return 1;
        if (sub & 0x8000)
            return 0;
        sub = be16(f->b + cl + sub + 1);
    }
    return 0;
}

/* A field access on "this" redirected to an instance field of a class
 * "this" does not belong to: the object would be read or written through
 * another class's layout (a short stored into a reference slot). The CP
 * index operand stays where it was, so only the types can tell. */
static void test_field_of_another_class(void **state)
{
    (void)state;
    if (skip_without_shared())
        skip();
    lfile f;
    assert_int_equal(lf_read("applets/objects/jc305u3/objects.cap", &f), 0);
    static tmethod ms[MAX_METHODS];
    unsigned nm = walk_methods(&f, ms, MAX_METHODS);
    size_t cp = info_at(&f, CAP_ConstantPool);
    unsigned ncp = be16(f.b + cp), mutants = 0;
    for (unsigned i = 0; i < nm; i++) {
        if (ms[i].access & 0x08)
            continue;   /* static: no "this" */
        size_t at = code_at(&f, &ms[i]);
        for (uint32_t pc = 0; pc < ms[i].bytecode_count; pc += insn_len(f.b + at, ms[i].bytecode_count, pc)) {
            uint8_t op = f.b[at + pc];
            if (!(op >= OP_getfield_a_this && op <= OP_getfield_s_this) &&
                !(op >= OP_putfield_a_this && op <= OP_putfield_s_this))
                continue;
            for (unsigned e = 0; e < ncp && e < 256; e++) {
                const uint8_t *ent = f.b + cp + 2 + 4 * e;
                uint16_t owner = be16(ent + 1);
                if (ent[0] != CAP_CP_INSTANCE_FIELDREF || (owner & 0x8000) ||
                    is_subclass(&f, ms[i].class_ref, owner))
                    continue;
                lfile m = lf_copy(&f);
                m.b[at + pc + 1] = (uint8_t)e;
                expect_refused(&m, NULL, "field of another class through this", pc);
                free(m.b);
                mutants++;
            }
        }
    }
    assert_true(mutants > 0);
    free(f.b);
}

/* The runtime finds an object's references by their token range
 * (first_reference_token, reference_count of class_info, §6.9); a range
 * that disagrees with the fields' declared types would let a short sit in
 * a reference slot. Shift the range or shrink it: refused. */
static void test_reference_token_range(void **state)
{
    (void)state;
    if (skip_without_shared())
        skip();
    unsigned mutants = 0;
    for (unsigned c = 0; c < 3; c++) {
        lfile f;
        assert_int_equal(lf_read(mutation_caps[c], &f), 0);
        size_t cl = info_at(&f, CAP_Class);
        size_t end = cl + be16(f.b + cl - 2);
        size_t pos = cl + (f.b[info_at(&f, CAP_Header) + 4] >= 2 ? 2u + be16(f.b + cl) : 0u);
        while (pos < end) {
            uint8_t bits = f.b[pos];
            unsigned ni = bits & 0x0F;
            if (bits & 0x80) {
                pos += 1u + 2u * ni;
                continue;
            }
            if (f.b[pos + 5] > 0) {
                lfile m = lf_copy(&f);
                m.b[pos + 4]++;
                expect_refused(&m, NULL, "first_reference_token + 1", (unsigned)pos);
                free(m.b);
                m = lf_copy(&f);
                m.b[pos + 5]--;
                expect_refused(&m, NULL, "reference_count - 1", (unsigned)pos);
                free(m.b);
                mutants += 2;
            }
            unsigned pubc = f.b[pos + 7], pkgc = f.b[pos + 9];
            pos += 10u + 2u * pubc + 2u * pkgc;
            for (unsigned i = 0; i < ni; i++)
                pos += 3u + f.b[pos + 2];
        }
        free(f.b);
    }
    assert_true(mutants >= 4);
}

/* `new C; dup; ...; invokespecial C.<init>(...)V` with the constructor
 * call replaced by pops of the same words: the object is then used before its
 * constructor ran. (RefLocation would notice the vanished operand too; the
 * message shows which check spoke first.) */
static void test_object_used_before_constructor(void **state)
{
    (void)state;
    if (skip_without_shared())
        skip();
    unsigned hits = 0;
    for (unsigned c = 0; c < 2; c++) {
        lfile f;
        assert_int_equal(lf_read(mutation_caps[c], &f), 0);
        static tmethod ms[MAX_METHODS];
        unsigned nm = walk_methods(&f, ms, MAX_METHODS);
        size_t cp = info_at(&f, CAP_ConstantPool);
        size_t de = info_at(&f, CAP_Descriptor);
        /* The Descriptor's type table: after the class descriptors. */
        size_t tpos = de + 1;
        for (unsigned i = 0; i < f.b[de]; i++) {
            unsigned ni = f.b[tpos + 4], nf = be16(f.b + tpos + 5), nmth = be16(f.b + tpos + 7);
            tpos += 9u + 2u * ni + 7u * nf + 12u * nmth;
        }
        size_t types = tpos;
        for (unsigned i = 0; i < nm; i++) {
            size_t at = code_at(&f, &ms[i]);
            for (uint32_t pc = 0; pc < ms[i].bytecode_count; pc += insn_len(f.b + at, ms[i].bytecode_count, pc)) {
                if (f.b[at + pc] != OP_invokespecial)
                    continue;
                uint16_t idx = be16(f.b + at + pc + 1);
                if (f.b[cp + 2 + 4 * idx] != CAP_CP_STATIC_METHODREF)
                    continue;
                /* Its type: short/byte/boolean parameters, void. */
                uint16_t toff = be16(f.b + types + 2 + 2 * idx);
                unsigned nib = f.b[types + toff], words = 1, ok = 1;
                for (unsigned k = 0; k < nib; k++) {
                    uint8_t b = f.b[types + toff + 1 + k / 2];
                    unsigned t = (k & 1) ? (b & 0x0F) : (b >> 4);
                    if (k + 1 == nib)
                        ok &= t == 1;
                    else if (t >= 2 && t <= 4)
                        words++;
                    else
                        ok = 0;
                }
                if (!ok || words > 6)
                    continue;
                /* The same stack effect without the call. */
                lfile m = lf_copy(&f);
                for (unsigned k = 0; k < 3; k++) {
                    uint8_t op = OP_nop;
                    if (words >= 2) {
                        op = OP_pop2;
                        words -= 2;
                    } else if (words == 1) {
                        op = OP_pop;
                        words = 0;
                    }
                    m.b[at + pc + k] = op;
                }
                char err[256];
                assert_int_equal(verify(&m, NULL, 0, err, sizeof err), VM_ERR_VERIFY);
                if (strstr(err, "before its constructor ran"))
                    hits++;
                free(m.b);
            }
        }
        free(f.b);
    }
    assert_true(hits >= 1);
}

/* `aload e; athrow` in an applet's instance method turned into
 * `aload_0; athrow`: the applet itself thrown, which is no Throwable (a
 * handler would then treat the applet as an exception object). */
static void test_throw_of_a_non_throwable(void **state)
{
    (void)state;
    if (skip_without_shared())
        skip();
    lfile f;
    assert_int_equal(lf_read(mutation_caps[0], &f), 0);
    static tmethod ms[MAX_METHODS];
    unsigned nm = walk_methods(&f, ms, MAX_METHODS), mutants = 0;
    for (unsigned i = 0; i < nm; i++) {
        if (ms[i].access & 0x08)
            continue;
        size_t at = code_at(&f, &ms[i]);
        uint32_t prev = 0, len = ms[i].bytecode_count;
        for (uint32_t pc = 0; pc < len; prev = pc, pc += insn_len(f.b + at, len, pc)) {
            if (pc == 0 || f.b[at + pc] != OP_athrow)
                continue;
            uint8_t op = f.b[at + prev];
            if (!(op == OP_aload || (op >= OP_aload_0 && op <= OP_aload_3)))
                continue;
            lfile m = lf_copy(&f);
            m.b[at + prev] = OP_aload_0;
            if (op == OP_aload)
                m.b[at + prev + 1] = OP_nop;
            expect_refused(&m, NULL, "athrow of the applet", pc);
            free(m.b);
            mutants++;
        }
    }
    assert_true(mutants >= 1);
    free(f.b);
}

/* An overriding method whose type changes from ()S to ()B: its own code
 * still verifies (sreturn serves both), but callers typed by the method
 * it overrides (or the interface method it implements) would get a byte
 * where they expect a short. Types are nibbles in the Descriptor (§6.13):
 * parameters then result, so ()S is one nibble 4 (byte 0x40), ()B 3. */
static void test_override_with_another_type(void **state)
{
    (void)state;
    if (skip_without_shared())
        skip();
    lfile f;
    assert_int_equal(lf_read("applets/objects/jc305u3/objects.cap", &f), 0);
    size_t de = info_at(&f, CAP_Descriptor);
    size_t tpos = de + 1;
    for (unsigned i = 0; i < f.b[de]; i++) {
        unsigned ni = f.b[tpos + 4], nf = be16(f.b + tpos + 5), nmth = be16(f.b + tpos + 7);
        tpos += 9u + 2u * ni + 7u * nf + 12u * nmth;
    }
    size_t types = tpos, end = de + be16(f.b + de - 2);
    uint16_t type_b = 0, type_s = 0;
    for (size_t p = types + 2 + 2 * be16(f.b + types); p < end; p += 1u + (f.b[p] + 1u) / 2u) {
        if (f.b[p] == 1 && f.b[p + 1] == 0x30)
            type_b = (uint16_t)(p - types);
        if (f.b[p] == 1 && f.b[p + 1] == 0x40)
            type_s = (uint16_t)(p - types);
    }
    assert_true(type_b && type_s);
    static tmethod ms[MAX_METHODS];
    unsigned nm = walk_methods(&f, ms, MAX_METHODS), hits = 0;
    for (unsigned i = 0; i < nm; i++) {
        if ((ms[i].access & 0x08) || ms[i].token >= 0x80 || be16(f.b + ms[i].desc_pos + 4) != type_s)
            continue;
        lfile m = lf_copy(&f);
        put16(m.b + ms[i].desc_pos + 4, type_b);
        char err[256];
        assert_int_equal(verify(&m, NULL, 0, err, sizeof err), VM_ERR_VERIFY);
        if (strstr(err, "overrides a method of another type") || strstr(err, "does not implement"))
            hits++;
        free(m.b);
    }
    assert_true(hits >= 1);
    free(f.b);
}

/* Every opcode the card does not have, in place of every method's first
 * instruction: int instructions (iadd 0x42, iload 0x17, ...), jsr/ret, and
 * unassigned values. */
static void test_unknown_opcodes(void **state)
{
    (void)state;
    if (skip_without_shared())
        skip();
    lfile f;
    assert_int_equal(lf_read(mutation_caps[0], &f), 0);
    static tmethod ms[MAX_METHODS];
    unsigned nm = walk_methods(&f, ms, MAX_METHODS);
    assert_true(nm >= 3);
    for (unsigned op = 0; op < 256; op++) {
        if (vm_opinfo_table[op].name || op == 0x8E)
            continue;
        for (unsigned i = 0; i < nm; i++) {
            lfile m = lf_copy(&f);
            m.b[code_at(&f, &ms[i])] = (uint8_t)op;
            expect_refused(&m, NULL, "unknown opcode", op);
            free(m.b);
        }
    }
    free(f.b);
}

/* max_stack and max_locals one below what the converter computed: the
 * converter's values are exact, so each method then overflows. */
static void test_stack_and_locals_limits(void **state)
{
    (void)state;
    if (skip_without_shared())
        skip();
    for (unsigned c = 0; c < 2; c++) {
        lfile f;
        assert_int_equal(lf_read(mutation_caps[c], &f), 0);
        static tmethod ms[MAX_METHODS];
        unsigned nm = walk_methods(&f, ms, MAX_METHODS);
        size_t meth = info_at(&f, CAP_Method);
        unsigned stack_mutants = 0;
        for (unsigned i = 0; i < nm; i++) {
            uint8_t *h = f.b + meth + ms[i].offset;
            int ext = (h[0] & 0x80) != 0;
            unsigned max_stack = ext ? h[1] : (h[0] & 0x0F);
            unsigned max_locals = ext ? h[3] : (h[1] & 0x0F);
            if (max_stack) {
                lfile m = lf_copy(&f);
                uint8_t *mh = m.b + meth + ms[i].offset;
                if (ext)
                    mh[1]--;
                else
                    mh[0]--;
                expect_refused(&m, NULL, "max_stack - 1 at method offset", ms[i].offset);
                free(m.b);
                stack_mutants++;
            }
            if (max_locals) {
                lfile m = lf_copy(&f);
                uint8_t *mh = m.b + meth + ms[i].offset;
                if (ext)
                    mh[3]--;
                else
                    mh[1]--;
                expect_refused(&m, NULL, "max_locals - 1 at method offset", ms[i].offset);
                free(m.b);
            }
        }
        assert_true(stack_mutants >= 3);
        free(f.b);
    }
}

/* Handlers (§6.9.1): u2 start, u2 stop bit + active_length, u2 handler, u2
 * catch type. Ranges exchanged between handlers of different methods,
 * nested handlers swapped, stop bits flipped, an empty range, and a catch
 * type that is no class reference. */
static unsigned handler_mutations(const char *rel)
{
    lfile f;
    assert_int_equal(lf_read(rel, &f), 0);
    static tmethod ms[MAX_METHODS];
    unsigned nm = walk_methods(&f, ms, MAX_METHODS);
    size_t meth = info_at(&f, CAP_Method);
    unsigned nh = f.b[meth];
    /* Owner method of each handler, from the Descriptor. */
    unsigned owner[256];
    for (unsigned h = 0; h < nh; h++) {
        owner[h] = ~0u;
        for (unsigned i = 0; i < nm; i++)
            if (h >= ms[i].handler_index && h < (unsigned)ms[i].handler_index + ms[i].handler_count)
                owner[h] = i;
        assert_true(owner[h] != ~0u);
    }
    size_t cp = info_at(&f, CAP_ConstantPool);
    unsigned mutants = 0;
    for (unsigned a = 0; a < nh; a++) {
        uint8_t *ha = f.b + meth + 1 + 8 * a;
        for (unsigned b = 0; b < nh; b++) {
            if (owner[a] == owner[b])
                continue;
            lfile m = lf_copy(&f);
            memcpy(m.b + meth + 1 + 8 * a, f.b + meth + 1 + 8 * b, 4);
            expect_refused(&m, NULL, "handler range of another method", a);
            free(m.b);
            mutants++;
        }
        /* Swapped with a later handler of the same method whose range
         * meets this one: the enclosing try block would then come first,
         * or the stop bits no longer describe the nesting (§6.9.1). */
        for (unsigned b = a + 1; b < nh; b++) {
            const uint8_t *hb = f.b + meth + 1 + 8 * b;
            unsigned as = be16(ha), ae = as + (be16(ha + 2) & 0x7FFFu);
            unsigned bs = be16(hb), be = bs + (be16(hb + 2) & 0x7FFFu);
            if (owner[a] != owner[b] || ae <= bs || be <= as)
                continue;
            /* Two catch blocks of one try (same range, same stop bit) may
             * come in either order. */
            if (as == bs && ae == be && (ha[2] & 0x80) == (hb[2] & 0x80))
                continue;
            lfile m = lf_copy(&f);
            memcpy(m.b + meth + 1 + 8 * a, hb, 8);
            memcpy(m.b + meth + 1 + 8 * b, ha, 8);
            char w[160];
            snprintf(w, sizeof w, "%s: handlers %u and %u (nested) swapped", rel, a, b);
            expect_refused(&m, NULL, w, a);
            free(m.b);
            mutants++;
        }
        /* The stop bit flipped. */
        {
            lfile m = lf_copy(&f);
            m.b[meth + 1 + 8 * a + 2] ^= 0x80;
            expect_refused(&m, NULL, "stop bit flipped", a);
            free(m.b);
            mutants++;
        }
        /* Empty range (active_length 0, stop bit kept). */
        lfile m = lf_copy(&f);
        put16(m.b + meth + 1 + 8 * a + 2, (uint16_t)(be16(ha + 2) & 0x8000u));
        expect_refused(&m, NULL, "empty handler range", a);
        free(m.b);
        mutants++;
        /* Catch type: an entry that is not a CONSTANT_Classref. */
        for (unsigned i = 1; i < be16(f.b + cp); i++) {   /* 0 means "any" */
            if (f.b[cp + 2 + 4 * i] == CAP_CP_CLASSREF)
                continue;
            m = lf_copy(&f);
            put16(m.b + meth + 1 + 8 * a + 6, (uint16_t)i);
            expect_refused(&m, NULL, "catch type not a class", a);
            free(m.b);
            mutants++;
            break;
        }
    }
    free(f.b);
    return mutants;
}

static void test_handler_mutations(void **state)
{
    (void)state;
    if (skip_without_shared())
        skip();
    unsigned mutants = 0;
    for (unsigned c = 0; c < 3; c++)
        mutants += handler_mutations(mutation_caps[c]);
    mutants += handler_mutations("applets/apdukit/jc305u3/apdukit.cap");
    assert_true(mutants > 6);
}

/* The message names the method (its offset, class and token) and the pc. */
static void test_bytecode_error_message(void **state)
{
    (void)state;
    if (skip_without_shared())
        skip();
    lfile f;
    assert_int_equal(lf_read(mutation_caps[0], &f), 0);
    static tmethod ms[MAX_METHODS];
    unsigned nm = walk_methods(&f, ms, MAX_METHODS);
    for (unsigned i = 0; i < nm; i++) {
        size_t at = code_at(&f, &ms[i]);
        for (uint32_t pc = 0; pc < ms[i].bytecode_count; pc += insn_len(f.b + at, ms[i].bytecode_count, pc)) {
            if (f.b[at + pc] < OP_sload_0 || f.b[at + pc] > OP_sload_3)
                continue;
            lfile m = lf_copy(&f);
            m.b[at + pc] = OP_aconst_null;
            char err[256], want[128];
            assert_int_equal(verify(&m, NULL, 0, err, sizeof err), VM_ERR_VERIFY);
            /* The reference reaches its first use at or after pc. */
            snprintf(want, sizeof want, "Method offset %u (class %u method %u) pc ", ms[i].offset,
                     ms[i].class_ref, ms[i].token);
            if (strncmp(err, want, strlen(want)) != 0)
                fail_msg("message \"%s\", expected prefix \"%s\"", err, want);
            unsigned epc = (unsigned)strtoul(err + strlen(want), NULL, 10);
            assert_true(epc >= pc && epc < ms[i].bytecode_count);
            free(m.b);
            free(f.b);
            return;
        }
    }
    fail_msg("no sload in %s", mutation_caps[0]);
}

/* Every byte of a small CAP, flipped: never a crash (run under ASan in
 * CI), and whatever is accepted still parses. */
static void test_byte_flip_sweep(void **state)
{
    (void)state;
    if (skip_without_shared())
        skip();
    lfile f;
    assert_int_equal(lf_read("applets/counter/jc305u3-nodebug/counter.cap", &f), 0);
    unsigned accepted = 0, refused = 0;
    static const uint8_t masks[] = { 0xFF, 0x01, 0x80 };
    for (size_t i = 0; i < f.len; i++) {
        for (unsigned k = 0; k < sizeof masks; k++) {
            uint8_t keep = f.b[i];
            f.b[i] ^= masks[k];
            char err[256];
            int rc = verify(&f, NULL, 0, err, sizeof err);
            assert_true(rc == 0 || rc == VM_ERR_VERIFY || rc == VM_ERR_DEPENDENCY);
            if (rc == 0)
                accepted++;
            else
                refused++;
            f.b[i] = keep;
        }
    }
    /* Most flips break something; some (constants, AID bytes of an
     * applet) are legitimately still a valid package. */
    assert_true(refused > accepted);
    free(f.b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shared_caps_verify),
        cmocka_unit_test(test_public_and_bench_caps_verify),
        cmocka_unit_test(test_missing_library_is_a_dependency),
        cmocka_unit_test(test_import_versions),
        cmocka_unit_test(test_descriptor_required),
        cmocka_unit_test(test_truncated_components),
        cmocka_unit_test(test_length_fields_off_by_one),
        cmocka_unit_test(test_cp_entries_of_the_wrong_kind),
        cmocka_unit_test(test_cp_tokens_out_of_range),
        cmocka_unit_test(test_bytecode_mutations),
        cmocka_unit_test(test_field_of_another_class),
        cmocka_unit_test(test_reference_token_range),
        cmocka_unit_test(test_object_used_before_constructor),
        cmocka_unit_test(test_throw_of_a_non_throwable),
        cmocka_unit_test(test_override_with_another_type),
        cmocka_unit_test(test_unknown_opcodes),
        cmocka_unit_test(test_stack_and_locals_limits),
        cmocka_unit_test(test_handler_mutations),
        cmocka_unit_test(test_bytecode_error_message),
        cmocka_unit_test(test_byte_flip_sweep),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
