/* test_cap_api_tokens.c — the built-in API token tables (vm/api_tokens.c):
 *  - the committed tables and docs/cap-api.md are what
 *    scripts/gen_api_tokens.py makes from the shared export-file facts
 *    (re-run when ../shared and python3 exist);
 *  - every API class, method and static field that a CAP file under
 *    ../shared/javacard references through its constant pool (converter
 *    output of both kits, the public applets, the benchmark) resolves in
 *    the tables, its import version links (same major, minor <= the
 *    card's), and each referenced method has an implementation;
 *  - the tables agree with themselves: class tokens index the class
 *    arrays, argument words match the descriptors, supers and interfaces
 *    name classes that exist.
 * The shared-folder parts skip with a message when ../shared is absent. */
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "api_test.h"
#include "cap_format.h"
#include "cap_testfile.h"

static unsigned desc_words(const char *d)
{
    unsigned n = 0;
    for (d++; *d && *d != ')'; d++) {
        if (*d == '[') {
            while (*d == '[')
                d++;
            if (*d == 'L')
                d = strchr(d, ';');
            n++;
        } else if (*d == 'L') {
            d = strchr(d, ';');
            n++;
        } else {
            n += (*d == 'I' || *d == 'J') ? 2 : 1;
        }
    }
    return n;
}

static void test_tables_consistent(void **state)
{
    (void)state;
    unsigned methods = 0;
    assert_int_equal(jc_api_package_count, 6);   /* 5 API packages + cardvm.loader */
    for (unsigned p = 0; p < jc_api_package_count; p++) {
        const jc_api_package *pkg = &jc_api_packages[p];
        assert_ptr_equal(jc_api_find_package(pkg->aid, pkg->aid_len), pkg);
        assert_int_equal(pkg->major, 1);
        for (uint16_t t = 0; t < pkg->class_count; t++) {
            const jc_api_class *c = &pkg->classes[t];
            if (!c->name)
                continue;
            assert_int_equal(c->token, t);
            assert_ptr_equal(jc_api_class_by_token(pkg, (uint8_t)t), c);
            const jc_api_package *found;
            assert_ptr_equal(jc_api_class_by_name(c->name, &found), c);
            assert_ptr_equal(found, pkg);
            if (c->super_name) {
                const jc_api_class *s = jc_api_class_by_name(c->super_name, NULL);
                assert_non_null(s);
                /* a subclass holds at least its superclass's slots */
                assert_true(c->native_slots >= s->native_slots);
            }
            for (const char *const *i = c->interfaces; i && *i; i++)
                assert_non_null(jc_api_class_by_name(*i, NULL));
            for (uint16_t m = 0; m < c->method_count; m++) {
                const jc_api_method *jm = &c->methods[m];
                unsigned self = jm->kind == JC_STATIC_METHOD ? 0 : 1;
                assert_int_equal(jm->nargs, desc_words(jm->desc) + self);
                assert_ptr_equal(jc_api_method_by_token(c, jm->token, jm->kind) != NULL, 1);
                methods++;
            }
        }
    }
    /* the 3.0.5 versions the issue names */
    static const uint8_t fw_aid[] = { 0xA0, 0, 0, 0, 0x62, 1, 1 };
    const jc_api_package *fw = jc_api_find_package(fw_aid, sizeof fw_aid);
    assert_non_null(fw);
    assert_int_equal(fw->minor, 6);
    /* interface methods through an implementing API class */
    const jc_api_class *pin = jc_api_class_by_name("javacard/framework/PIN", NULL);
    const jc_api_class *owner = jc_api_class_by_name("javacard/framework/OwnerPIN", NULL);
    const jc_api_method *check = jc_api_interface_method(owner, pin, 0);
    assert_non_null(check);
    assert_string_equal(check->name, "check");
    const jc_api_class *key = jc_api_class_by_name("javacard/security/Key", NULL);
    const jc_api_class *impl = jc_api_class_by_name("javacard/security/AESKeyImpl", NULL);
    assert_true(impl->flags & JC_API_HIDDEN);
    assert_true(jc_api_implements(impl, "javacard/security/AESKey"));
    assert_string_equal(jc_api_interface_method(impl, key, 3)->name, "isInitialized");
    assert_null(jc_api_interface_method(owner, key, 0));
    print_message("%u methods in the tables\n", methods);
}

/* The committed output equals a fresh run of the generator. */
static void test_generator_output_committed(void **state)
{
    (void)state;
    const char *shared = cap_test_shared_dir();
    if (!shared) {
        print_message("SKIP: ../shared/javacard absent (the generator's input)\n");
        skip();
    }
    if (system("python3 -c 'import json' >/dev/null 2>&1") != 0) {
        print_message("SKIP: python3 absent\n");
        skip();
    }
    /* the repository root from this file's path */
    char root[1024];
    snprintf(root, sizeof root, "%s", __FILE__);
    char *cut = strstr(root, "/test/cap/");
    assert_non_null(cut);
    *cut = 0;
    char out[] = "/tmp/cardvm-api-tokens-XXXXXX", doc[] = "/tmp/cardvm-api-doc-XXXXXX";
    int fd = mkstemp(out);
    assert_true(fd >= 0);
    close(fd);
    fd = mkstemp(doc);
    assert_true(fd >= 0);
    close(fd);
    char cmd[8192];
    int len = snprintf(cmd, sizeof cmd, "python3 '%s/scripts/gen_api_tokens.py' --tokens '%s/tokens' --impl '%s/vm/api_impl.h' "
             "--out '%s' --doc '%s' 2>/dev/null && cmp -s '%s' '%s/vm/api_tokens.c' && cmp -s '%s' '%s/docs/cap-api.md'",
             root, shared, root, out, doc, out, root, doc, root);
    int rc = (size_t)len < sizeof cmd ? system(cmd) : -1;
    unlink(out);
    unlink(doc);
    if (rc != 0)
        fail_msg("vm/api_tokens.c or docs/cap-api.md differs from scripts/gen_api_tokens.py's output: re-run it");
}

static const jc_api_class *api_class(const cap_view *v, uint16_t class_ref, const jc_api_package **pkg)
{
    uint8_t pt = CAP_REF_PKG_TOKEN(class_ref);
    if (pt >= v->import_count)
        return NULL;
    *pkg = jc_api_find_package(v->imports[pt].aid.b, v->imports[pt].aid.len);
    return *pkg ? jc_api_class_by_token(*pkg, CAP_REF_CLASS_TOKEN(class_ref)) : NULL;
}

/* A virtual method token in the class or a superclass. */
static const jc_api_method *virtual_in(const jc_api_class *c, uint8_t token)
{
    for (; c; c = c->super_name ? jc_api_class_by_name(c->super_name, NULL) : NULL) {
        const jc_api_method *m = jc_api_method_by_token(c, token, JC_VIRTUAL_METHOD);
        if (m)
            return m;
    }
    return NULL;
}

static void test_shared_caps_resolve(void **state)
{
    (void)state;
    const char *shared = cap_test_shared_dir();
    if (!shared) {
        print_message("SKIP: ../shared/javacard absent (no CAP files to check)\n");
        skip();
    }
    char **paths;
    size_t n = cap_test_find_caps(shared, &paths);
    assert_true(n > 0);
    unsigned refs = 0, problems = 0;
    for (size_t i = 0; i < n; i++) {
        size_t len;
        uint8_t *lf = cap_test_load_file(paths[i], &len);
        if (!lf)
            fail_msg("cannot read %s", paths[i]);
        cap_view v;
        char err[256] = "";
        if (cap_parse(lf, len, &v, err, sizeof err) != 0)
            fail_msg("%s: %s", paths[i], err);
        for (uint8_t k = 0; k < v.import_count; k++) {
            const cap_package_ref *imp = &v.imports[k];
            const jc_api_package *p = jc_api_find_package(imp->aid.b, imp->aid.len);
            if (p && (imp->major != p->major || imp->minor > p->minor)) {
                print_error("%s: imports %s %u.%u, the card has %u.%u\n", paths[i], p->name, imp->major,
                            imp->minor, p->major, p->minor);
                problems++;
            }
        }
        for (uint16_t e = 0; e < v.cp_count; e++) {
            const uint8_t *cp = v.cp + 4u * e;
            const jc_api_package *p = NULL;
            const jc_api_class *c = NULL;
            const jc_api_method *m = NULL;
            uint16_t ref = vm_rd16(cp + 1);
            const char *what = NULL;
            switch (cp[0]) {
            case CAP_CP_CLASSREF:
            case CAP_CP_INSTANCE_FIELDREF:
            case CAP_CP_VIRTUAL_METHODREF:
            case CAP_CP_SUPER_METHODREF:
                if (!CAP_REF_EXTERNAL(ref))
                    continue;
                c = api_class(&v, ref, &p);
                if (!p)
                    continue;   /* a user library */
                refs++;
                if (!c) {
                    what = "class";
                } else if (cp[0] == CAP_CP_VIRTUAL_METHODREF || cp[0] == CAP_CP_SUPER_METHODREF) {
                    m = virtual_in(c, cp[3]);
                    if (!m)
                        what = "virtual method";
                } else if (cp[0] == CAP_CP_INSTANCE_FIELDREF) {
                    what = "instance field (the API has none)";
                } else if (c->flags & JC_API_HIDDEN) {
                    what = "hidden class";
                }
                break;
            case CAP_CP_STATIC_FIELDREF:
            case CAP_CP_STATIC_METHODREF:
                if (!(cp[1] & 0x80))
                    continue;
                c = api_class(&v, (uint16_t)((cp[1] << 8) | cp[2]), &p);
                if (!p)
                    continue;
                refs++;
                if (!c) {
                    what = "class";
                } else if (cp[0] == CAP_CP_STATIC_FIELDREF) {
                    what = "static field (API constants are inlined)";
                } else {
                    m = jc_api_method_by_token(c, cp[3], JC_STATIC_METHOD);
                    if (!m)
                        m = jc_api_method_by_token(c, cp[3], JC_CONSTRUCTOR);
                    if (!m)
                        what = "static method";
                }
                break;
            default:
                continue;
            }
            /* constructors of stateless classes may lack a function: the
             * engine runs them as no-ops */
            if (!what && m && !m->fn && !(m->kind == JC_CONSTRUCTOR && m->nargs == 1) &&
                !(m->flags & JC_ACC_ABSTRACT))
                what = "method without implementation";
            if (what) {
                print_error("%s: CP[%u] tag %u -> %s%s%s token %u: %s\n", paths[i], e, cp[0], c ? c->name : "?",
                            m ? "." : "", m ? m->name : "", cp[3], what);
                problems++;
            }
        }
        cap_view_free(&v);
        free(lf);
    }
    print_message("%zu CAP files, %u references into the built-in API\n", n, refs);
    cap_test_free_paths(paths, n);
    assert_int_equal(problems, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tables_consistent),
        cmocka_unit_test(test_generator_output_committed),
        cmocka_unit_test(test_shared_caps_resolve),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
