/*
 * test_export_cap.c — a package's export model read from its CAP file
 * (ex_from_cap, tools/convert/export_file.h) against the export file
 * Oracle's converter wrote beside it.
 *
 *   test_export_cap SHARED_DIR [CAP EXP]...
 *
 * For every CAP file Oracle's converter made with -debug under
 * SHARED_DIR/javacard (applets/<applet>/jc305u3 and jc222, the bench
 * corpus' debug build), the model from the CAP equals the model from the
 * .exp beside it (ex_read): package name, AID and version; the same
 * classes with the same tokens, access flags, superclass chain and
 * interfaces; the same members with the same kind, token, flags and
 * constant value. Pairs given on the command line (the ctest convert_libcap
 * gives the converter's own) are checked the same way. The -nodebug CAPs
 * must be refused with EX_NO_NAMES: without a Debug component a CAP has
 * tokens but no names. Exit 77 when SHARED_DIR/javacard is absent.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_tokens.h"
#include "export_file.h"
#include "testfiles.h"

static int failures, compared, refused;

/* the built-in API, for the classes a CAP's classes extend */
static ex_package api[64];
static unsigned n_api;

static const ex_class *lookup(void *ctx, const char *name)
{
    (void)ctx;
    for (unsigned i = 0; i < n_api; i++) {
        const ex_class *c = ex_class_by_name(&api[i], name);
        if (c)
            return c;
    }
    return NULL;
}

static int same_set(char **a, unsigned na, char **b, unsigned nb)
{
    if (na != nb)
        return 0;
    for (unsigned i = 0; i < na; i++) {
        unsigned j = 0;
        while (j < nb && strcmp(a[i], b[j]))
            j++;
        if (j == nb)
            return 0;
    }
    return 1;
}

static const ex_member *member_like(const ex_class *c, const ex_member *m)
{
    for (unsigned i = 0; i < c->n_members; i++) {
        const ex_member *x = &c->members[i];
        if (x->kind == m->kind && !strcmp(x->name, m->name) && !strcmp(x->desc, m->desc))
            return x;
    }
    return NULL;
}

static void fail(const char *what, const char *fmt, const char *a, const char *b)
{
    printf("FAIL %s: ", what);
    printf(fmt, a, b);
    printf("\n");
    failures++;
}

static void compare(const char *what, const ex_package *got, const ex_package *want)
{
    int bad = failures;
    if (strcmp(got->name, want->name) || got->aid_len != want->aid_len ||
        memcmp(got->aid, want->aid, want->aid_len) || got->major != want->major || got->minor != want->minor)
        fail(what, "package %s, export file %s (or AID, version)", got->name, want->name);
    if (got->n_classes != want->n_classes) {
        printf("FAIL %s: %u classes, export file %u\n", what, got->n_classes, want->n_classes);
        failures++;
    }
    for (unsigned i = 0; i < want->n_classes; i++) {
        const ex_class *w = &want->classes[i];
        const ex_class *g = ex_class_by_name(got, w->name);
        if (!g) {
            fail(what, "class %s%s missing", w->name, "");
            continue;
        }
        if (g->token != w->token || g->flags != w->flags) {
            printf("FAIL %s: class %s token %u flags %04X, export file %u %04X\n", what, w->name, g->token, g->flags,
                   w->token, w->flags);
            failures++;
        }
        int chain = g->n_supers == w->n_supers;
        for (unsigned k = 0; chain && k < w->n_supers; k++)
            chain = !strcmp(g->supers[k], w->supers[k]);
        if (!chain)
            fail(what, "class %s%s: superclass chain differs", w->name, "");
        if (!same_set(g->interfaces, g->n_interfaces, w->interfaces, w->n_interfaces))
            fail(what, "class %s%s: interfaces differ", w->name, "");
        if (g->n_members != w->n_members) {
            printf("FAIL %s: class %s: %u members, export file %u\n", what, w->name, g->n_members, w->n_members);
            failures++;
        }
        for (unsigned k = 0; k < w->n_members; k++) {
            const ex_member *wm = &w->members[k];
            const ex_member *gm = member_like(g, wm);
            if (!gm) {
                fail(what, "member %s%s missing", wm->name, wm->desc);
            } else if (gm->token != wm->token || gm->flags != wm->flags ||
                       (wm->token == 0xFF && gm->value != wm->value)) {
                printf("FAIL %s: %s.%s%s token %u flags %04X value %d, export file %u %04X %d\n", what, w->name,
                       wm->name, wm->desc, gm->token, gm->flags, gm->value, wm->token, wm->flags, wm->value);
                failures++;
            }
        }
    }
    if (bad == failures) {
        unsigned members = 0;
        for (unsigned i = 0; i < want->n_classes; i++)
            members += want->classes[i].n_members;
        printf("ok %s: %s, %u classes, %u members\n", what, want->name, want->n_classes, members);
    }
    compared++;
}

static void check_pair(const char *cap_path, const char *exp_path)
{
    size_t cl = 0, el = 0;
    uint8_t *cap = test_read_file(cap_path, &cl), *exp = test_read_file(exp_path, &el);
    char err[512];
    ex_package got, want;
    if (!cap || !exp) {
        fail(cap_path, "cannot read it or %s%s", exp_path, "");
    } else if (ex_read(exp, el, &want, err, sizeof err)) {
        fail(exp_path, "%s%s", err, "");
    } else {
        if (ex_from_cap(cap, cl, lookup, NULL, &got, err, sizeof err))
            fail(cap_path, "%s%s", err, "");
        else
            compare(cap_path, &got, &want);
        ex_free(&got);
        ex_free(&want);
    }
    free(cap);
    free(exp);
}

static void check_nodebug(const char *cap_path)
{
    size_t cl = 0;
    uint8_t *cap = test_read_file(cap_path, &cl);
    char err[512] = "";
    ex_package got;
    int rc = cap ? ex_from_cap(cap, cl, lookup, NULL, &got, err, sizeof err) : -1;
    if (rc != EX_NO_NAMES || !strstr(err, "no Debug component")) {
        fail(cap_path, "without Debug component: not refused for its names (%s)%s", err, "");
        if (rc == 0)
            ex_free(&got);
    } else {
        refused++;
    }
    free(cap);
}

/* Every X.cap in dir with X.exp beside it. */
static void each_cap(const char *dir, int debug)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t l = strlen(e->d_name);
        if (l < 5 || strcmp(e->d_name + l - 4, ".cap"))
            continue;
        char cap[1024], exp[1024];
        snprintf(cap, sizeof cap, "%s/%s", dir, e->d_name);
        snprintf(exp, sizeof exp, "%s/%.*s.exp", dir, (int)(l - 4), e->d_name);
        if (!debug)
            check_nodebug(cap);
        else
            check_pair(cap, exp);
    }
    closedir(d);
}

int main(int argc, char **argv)
{
    if (argc < 2 || argc % 2) {
        fprintf(stderr, "usage: test_export_cap SHARED_DIR [CAP EXP]...\n");
        return 2;
    }
    for (unsigned i = 0; i < jc_api_package_count && n_api < 64; i++)
        if (ex_from_api(&jc_api_packages[i], &api[n_api++]))
            return 2;
    for (int i = 2; i + 1 < argc; i += 2)
        check_pair(argv[i], argv[i + 1]);
    char root[1024];
    snprintf(root, sizeof root, "%s/javacard/applets", argv[1]);
    DIR *d = opendir(root);
    if (!d && argc == 2) {
        printf("SKIP: %s absent (the shared Java Card material)\n", root);
        return 77;
    }
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        static const char *const variants[] = {"jc305u3", "jc222", "jc305u3-nodebug", "jc222-nodebug"};
        for (unsigned v = 0; v < 4; v++) {
            char dir[1400];
            snprintf(dir, sizeof dir, "%s/%s/%s", root, e->d_name, variants[v]);
            each_cap(dir, v < 2);
        }
    }
    if (d)
        closedir(d);
    char bench[1400];
    snprintf(bench, sizeof bench, "%s/javacard/bench/cap/debug/bench/corpus/javacard", argv[1]);
    each_cap(bench, 1);
    snprintf(bench, sizeof bench, "%s/javacard/bench/cap/nodebug/bench/corpus/javacard", argv[1]);
    each_cap(bench, 0);
    for (unsigned i = 0; i < n_api; i++)
        ex_free(&api[i]);
    printf("%d packages compared, %d CAPs without Debug component refused, %d failures\n", compared, refused,
           failures);
    if (d && (compared < 10 || refused < 10)) {
        printf("FAIL: fewer Oracle-made CAP files than expected under %s\n", argv[1]);
        return 1;
    }
    return failures ? 1 : 0;
}
