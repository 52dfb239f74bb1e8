/*
 * convert.c — class files -> JCA (convert.h). The steps are those of the
 * header: load, resolve, check, type, tokens, emit.
 */
#include "convert.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zip.h>

#include "classfile.h"

#define MAX_CLASSES 255
#define MAX_IMPORTS 64
#define MAX_CP 65535
#define MAX_IMPORT_DEPTH 8
/* What a refusal of int says (JCVM 3.0.5 ch. 2: int is optional; this
 * card's VM has no int bytecodes and its verifier refuses ACC_INT). */
#define INT_REFUSED                                                                                          \
    "int (the int type is optional in Java Card and this card does not implement it: use short or byte, "  \
    "and cast int arithmetic back, (short) (a + b))"

/* ---- text buffer ---- */

typedef struct sbuf {
    char *s;
    size_t n, cap;
    int oom;
} sbuf;

static void sb_vprintf(sbuf *b, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int need = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (need < 0 || b->oom)
        return;
    if (b->n + (size_t)need + 1 > b->cap) {
        size_t cap = (b->n + (size_t)need + 1) * 2;
        char *s = realloc(b->s, cap);
        if (!s) {
            b->oom = 1;
            return;
        }
        b->s = s;
        b->cap = cap;
    }
    vsnprintf(b->s + b->n, b->cap - b->n, fmt, ap);
    b->n += (size_t)need;
}

static void sb_printf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(sbuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    sb_vprintf(b, fmt, ap);
    va_end(ap);
}

/* ---- the model ---- */

typedef struct pfield {
    int token;            /* instance: field token; public static: static token; else -1 */
    int is_const;         /* static final primitive with a ConstantValue: inlined, no room */
    int32_t value;        /* constant value, or static initial value */
    int has_init;         /* static field with a value from <clinit> */
    int32_t *array;       /* static array initializer values */
    unsigned n_array;
    int is_array_init;
} pfield;

typedef struct pclass {
    cf_class cf;
    const char *simple;   /* name without the package */
    int is_iface, is_public;
    int super_internal;   /* index in conv.cls, or -1 */
    int token;            /* class token (public classes), else -1 */
    int state;            /* tables: 0 not done, 1 in progress, 2 done */
    char **pub, **pkg;    /* virtual method tables: "name(desc)" by token */
    unsigned npub, npkg;
    int pub_base, pkg_base;
    int *mtok;            /* per method: virtual token (pkg: 128+n), static token, or -1 */
    pfield *fields;       /* per cf field */
    int emitted;
} pclass;

typedef struct pkgref {
    ex_package pkg;
    int token;            /* import token, -1 while not used */
} pkgref;

typedef struct conv {
    const convert_options *o;
    char name[256];       /* this package, slashed */
    pclass cls[MAX_CLASSES];
    unsigned ncls;
    unsigned order[MAX_CLASSES];   /* emission order */
    pkgref imp[MAX_IMPORTS];
    unsigned nimp;
    unsigned import_order[MAX_IMPORTS];
    unsigned nimport;
    char **cp;            /* constant-pool entries as JCA text (the key) */
    unsigned ncp, capcp;
    sbuf cptext;          /* the .constantPool body */
    char described[8192]; /* external classes already given a .descriptor in the pool */
    ex_package prev;      /* --export-map: the previous export file of this package */
    int has_prev;
    int import_depth;     /* library CAPs being read for their superclasses */
    char *err;
    size_t errlen;
    /* where we are, for errors */
    const pclass *at_cls;
    const cf_method *at_m;
    const char *at_field; /* a field's declaration is being checked */
    unsigned at_pc;
    int has_pc;
} conv;

static int fail(conv *cv, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(conv *cv, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    char field[300] = "";
    if (cv->at_field)
        snprintf(field, sizeof field, "%sfield %s", cv->at_m ? " (where it uses " : ", ", cv->at_field);
    if (cv->at_cls && cv->at_m) {
        unsigned line = cv->has_pc ? cf_line_of(cv->at_m, cv->at_pc) : (cv->at_m->n_lines ? cv->at_m->lines[0].line : 0);
        snprintf(cv->err, cv->errlen, "%s:%u: class %s, method %s%s%s%s: %s",
                 cv->at_cls->cf.source_file ? cv->at_cls->cf.source_file : cv->at_cls->cf.name, line,
                 cv->at_cls->cf.name, cv->at_m->name, cv->at_m->desc, field, cv->at_field ? ")" : "", msg);
    } else if (cv->at_cls) {
        snprintf(cv->err, cv->errlen, "%s: class %s%s: %s",
                 cv->at_cls->cf.source_file ? cv->at_cls->cf.source_file : cv->at_cls->cf.name, cv->at_cls->cf.name,
                 field, msg);
    } else {
        snprintf(cv->err, cv->errlen, "%s", msg);
    }
    return -1;
}

/* ---- names ---- */

static void package_of(const char *cls, char *out, size_t n)
{
    const char *s = strrchr(cls, '/');
    size_t l = s ? (size_t)(s - cls) : 0;
    if (l >= n)
        l = n - 1;
    memcpy(out, cls, l);
    out[l] = '\0';
}

static int find_internal(const conv *cv, const char *name)
{
    for (unsigned i = 0; i < cv->ncls; i++)
        if (!strcmp(cv->cls[i].cf.name, name))
            return (int)i;
    return -1;
}

static int find_field(const cf_class *c, const char *name, const char *desc)
{
    for (unsigned i = 0; i < c->n_fields; i++)
        if (!strcmp(c->fields[i].name, name) && (!desc || !strcmp(c->fields[i].desc, desc)))
            return (int)i;
    return -1;
}

static int find_method(const cf_class *c, const char *name, const char *desc)
{
    for (unsigned i = 0; i < c->n_methods; i++)
        if (!strcmp(c->methods[i].name, name) && !strcmp(c->methods[i].desc, desc))
            return (int)i;
    return -1;
}

/* The previous export's token of a member of class `cls` (kind as in
 * export_file.h), or -1: kept for binary compatibility (JCVM 4.4). */
static int prev_token(const conv *cv, const char *cls, const char *name, const char *desc, int kind)
{
    if (!cv->has_prev)
        return -1;
    const ex_class *c = ex_class_by_name(&cv->prev, cls);
    if (!c)
        return -1;
    if (!name)
        return c->token;
    const ex_member *m = ex_member_of(c, name, desc, kind);
    return (m && m->kind == kind && m->token != 0xFF) ? m->token : -1;
}

/* The first token after every previous one of class `cls` of this kind. */
static int prev_next(const conv *cv, const char *cls, int kind)
{
    int next = 0;
    const ex_class *c = cv->has_prev ? ex_class_by_name(&cv->prev, cls) : NULL;
    for (unsigned i = 0; c && i < c->n_members; i++)
        if (c->members[i].kind == kind && c->members[i].token != 0xFF && c->members[i].token + 1 > next &&
            (kind != EX_FIELD || (c->members[i].flags & JC_ACC_STATIC)))
            next = c->members[i].token + 1;
    return next;
}

/* ---- imports ---- */

static int read_file(const char *path, uint8_t **bytes, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    size_t cap = 4096, n = 0;
    uint8_t *b = malloc(cap);
    while (b) {
        size_t r = fread(b + n, 1, cap - n, f);
        n += r;
        if (n < cap)
            break;
        uint8_t *nb = cap < (64u << 20) ? realloc(b, cap * 2) : NULL;
        if (!nb) {
            free(b);
            b = NULL;
            break;
        }
        b = nb;
        cap *= 2;
    }
    int bad = ferror(f);
    fclose(f);
    if (!b || bad) {
        free(b);
        return -1;
    }
    *bytes = b;
    *len = n;
    return 0;
}

static int find_package(conv *cv, const char *name);

/* ex_from_cap's way to the classes a library's classes extend. */
static const ex_class *lookup_class(void *ctx, const char *name)
{
    conv *cv = ctx;
    char pkg[256];
    package_of(name, pkg, sizeof pkg);
    int pi = find_package(cv, pkg);
    return pi < 0 ? NULL : ex_class_by_name(&cv->imp[pi].pkg, name);
}

/* One export path entry for package `name` (slashed, last component
 * `last`): its export file, else its CAP file, in Oracle's layout
 * (DIR/<path>/javacard/<last>.exp) or flat (DIR/<last>.exp). 1 with *out
 * filled; 0 when none is there (a CAP without names: its reason in
 * why); -1 on a damaged file (error set). */
static int read_import(conv *cv, const char *dir, const char *name, const char *last, ex_package *out, char *why,
                       size_t whylen)
{
    for (unsigned form = 0; form < 4; form++) {
        char path[1024];
        if (form % 2 == 0)
            snprintf(path, sizeof path, "%s/%s/javacard/%s.%s", dir, name, last, form < 2 ? "exp" : "cap");
        else
            snprintf(path, sizeof path, "%s/%s.%s", dir, last, form < 2 ? "exp" : "cap");
        uint8_t *b;
        size_t len;
        if (read_file(path, &b, &len) != 0)
            continue;
        char e[512];
        int rc;
        if (form < 2) {
            rc = ex_read(b, len, out, e, sizeof e);
        } else {
            /* a library's superclasses are found the same way, one level down */
            if (cv->import_depth >= MAX_IMPORT_DEPTH) {
                free(b);
                return fail(cv, "%s: imports nested more than %d deep (a cycle?)", path, MAX_IMPORT_DEPTH);
            }
            cv->import_depth++;
            rc = ex_from_cap(b, len, lookup_class, cv, out, e, sizeof e);
            cv->import_depth--;
        }
        free(b);
        if (rc == EX_NO_NAMES) {
            snprintf(why, whylen, "%s: %s", path, e);
            continue;
        }
        if (rc != 0)
            return fail(cv, "%s: %s", path, e);
        if (strcmp(out->name, name) != 0) {
            ex_free(out);
            continue;
        }
        return 1;
    }
    return 0;
}

/* The package named (slashed), from the built-in API, or an export file or
 * a CAP file on the export path: index in cv->imp, or -1 (error set). */
static int find_package(conv *cv, const char *name)
{
    for (unsigned i = 0; i < cv->nimp; i++)
        if (!strcmp(cv->imp[i].pkg.name, name))
            return (int)i;
    const char *last = strrchr(name, '/');
    last = last ? last + 1 : name;
    char why[1600] = "";
    for (unsigned d = 0; d < cv->o->n_export_path; d++) {
        ex_package pkg;
        int r = read_import(cv, cv->o->export_path[d], name, last, &pkg, why, sizeof why);
        if (r < 0)
            return -1;
        if (r == 0)
            continue;
        /* reading a CAP may have imported the packages it builds on */
        for (unsigned i = 0; i < cv->nimp; i++)
            if (!strcmp(cv->imp[i].pkg.name, name)) {
                ex_free(&pkg);
                return (int)i;
            }
        if (cv->nimp >= MAX_IMPORTS) {
            ex_free(&pkg);
            return fail(cv, "too many imported packages");
        }
        cv->imp[cv->nimp].pkg = pkg;
        cv->imp[cv->nimp].token = -1;
        return (int)cv->nimp++;
    }
    char dotted[256];
    snprintf(dotted, sizeof dotted, "%s", name);
    for (char *p = dotted; *p; p++)
        if (*p == '/')
            *p = '.';
    if (why[0])
        return fail(cv, "missing import: package %s: %s", dotted, why);
    return fail(cv, "missing import: package %s is neither a built-in API package nor found as an export file "
                    "or a CAP file on the export path (%s/javacard/%s.exp or .cap)",
                dotted, name, last);
}

static int import_token(conv *cv, int pi)
{
    if (cv->imp[pi].token < 0) {
        cv->imp[pi].token = (int)cv->nimport;
        cv->import_order[cv->nimport++] = (unsigned)pi;
    }
    return cv->imp[pi].token;
}

/* An external class: its package index and export entry, or NULL (error set). */
static const ex_class *ext_class(conv *cv, const char *name, int *pi)
{
    char pkg[256];
    package_of(name, pkg, sizeof pkg);
    *pi = find_package(cv, pkg);
    if (*pi < 0)
        return NULL;
    const ex_class *c = ex_class_by_name(&cv->imp[*pi].pkg, name);
    if (!c) {
        fail(cv, "unsupported API: class %s is not in the export of package %s", name, pkg);
        return NULL;
    }
    return c;
}

/* "P.C" of an external class. */
static int ext_ref(conv *cv, const char *name, char *out, size_t n)
{
    int pi;
    const ex_class *c = ext_class(cv, name, &pi);
    if (!c)
        return -1;
    snprintf(out, n, "%d.%u", import_token(cv, pi), c->token);
    return 0;
}

/* ---- constant pool ---- */

static int cp_index(conv *cv, const char *entry)
{
    for (unsigned i = 0; i < cv->ncp; i++)
        if (!strcmp(cv->cp[i], entry))
            return (int)i;
    if (cv->ncp >= 0xFFFF)
        return fail(cv, "constant pool full");
    if (cv->ncp == cv->capcp) {
        unsigned cap = cv->capcp * 2 + 64;
        char **p = realloc(cv->cp, cap * sizeof *p);
        if (!p)
            return fail(cv, "out of memory");
        cv->cp = p;
        cv->capcp = cap;
    }
    cv->cp[cv->ncp] = strdup(entry);
    if (!cv->cp[cv->ncp])
        return fail(cv, "out of memory");
    sb_printf(&cv->cptext, "\t\t// %u\n\t\t%s;\n", cv->ncp, entry);
    return (int)cv->ncp++;
}

/* .descriptor lines for the external classes a descriptor names, into b;
 * `seen` (NUL-separated names) avoids repeating them. */
static int describe(conv *cv, const char *desc, sbuf *b, char *seen, size_t seenlen, const char *indent)
{
    for (const char *p = desc; (p = strchr(p, 'L')) != NULL;) {
        const char *e = strchr(p, ';');
        if (!e)
            break;
        char name[256];
        size_t n = (size_t)(e - p - 1);
        if (n >= sizeof name)
            n = sizeof name - 1;
        memcpy(name, p + 1, n);
        name[n] = '\0';
        p = e + 1;
        if (find_internal(cv, name) >= 0)
            continue;
        char key[260];
        snprintf(key, sizeof key, "|%s|", name);
        if (strstr(seen, key))
            continue;
        char ref[32];
        if (ext_ref(cv, name, ref, sizeof ref))
            return -1;
        sb_printf(b, "%s.descriptor\tL%s;\t%s;\n", indent, name, ref);
        if (strlen(seen) + strlen(key) + 1 < seenlen)
            strcat(seen, key);
    }
    return 0;
}

static int cp_entry(conv *cv, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int cp_entry(conv *cv, const char *fmt, ...)
{
    char e[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e, sizeof e, fmt, ap);
    va_end(ap);
    unsigned before = cv->ncp;
    int i = cp_index(cv, e);
    if (i >= 0 && (unsigned)i == before) {
        /* a method reference's descriptor may name external classes */
        const char *paren = strchr(e, '(');
        if (paren && describe(cv, paren, &cv->cptext, cv->described, sizeof cv->described, "\t\t\t") != 0)
            return -1;
    }
    return i;
}

/* JCA type of a field descriptor: short, byte[], Rect, 0.10[] */
static int jca_type(conv *cv, const char *desc, char *out, size_t n)
{
    const char *arr = desc[0] == '[' ? "[]" : "";
    const char *d = desc + (desc[0] == '[');
    switch (d[0]) {
    case 'Z': snprintf(out, n, "boolean%s", arr); return 0;
    case 'B': snprintf(out, n, "byte%s", arr); return 0;
    case 'S': snprintf(out, n, "short%s", arr); return 0;
    case 'L': {
        char name[256];
        const char *e = strchr(d, ';');
        size_t l = e ? (size_t)(e - d - 1) : 0;
        if (!e || l >= sizeof name || e[1] != '\0')
            break;
        memcpy(name, d + 1, l);
        name[l] = '\0';
        int k = find_internal(cv, name);
        if (k >= 0) {
            snprintf(out, n, "%s%s", cv->cls[k].simple, arr);
            return 0;
        }
        char ref[32];
        if (ext_ref(cv, name, ref, sizeof ref))
            return -1;
        snprintf(out, n, "%s%s", ref, arr);
        return 0;
    }
    default: break;
    }
    return fail(cv, "type %s is not supported by Java Card (only boolean, byte, short, references and "
                    "one-dimensional arrays of them)",
                desc);
}

/* The Java type of a descriptor Java Card lacks, or NULL. */
static const char *bad_type(const char *desc)
{
    for (const char *p = desc; *p; p++) {
        switch (*p) {
        case 'L':
            p = strchr(p, ';');
            if (!p)
                return NULL;
            break;
        case 'J': return "long";
        case 'F': return "float";
        case 'D': return "double";
        case 'C': return "char";
        case 'I': return INT_REFUSED;
        case '[':
            if (p[1] == '[')
                return "a multi-dimensional array";
            break;
        default: break;
        }
    }
    return NULL;
}

/* Refuse the types Java Card lacks in a method descriptor. */
static int check_desc(conv *cv, const char *desc)
{
    const char *t = bad_type(desc);
    if (t)
        return fail(cv, "type %s is not supported by Java Card (descriptor %s)", t, desc);
    return 0;
}

/* ---- tokens and tables ---- */

static int add_name(char ***tab, unsigned *n, const char *s)
{
    char **t = realloc(*tab, (*n + 1) * sizeof *t);
    if (!t)
        return -1;
    *tab = t;
    t[*n] = strdup(s);
    if (!t[*n])
        return -1;
    (*n)++;
    return 0;
}

static int lookup_name(char **tab, unsigned n, const char *s)
{
    for (unsigned i = 0; i < n; i++)
        if (tab[i] && !strcmp(tab[i], s))
            return (int)i;
    return -1;
}

static int is_virtual(const cf_method *m)
{
    return !(m->flags & (CF_ACC_STATIC | CF_ACC_PRIVATE)) && m->name[0] != '<';
}

static int tables(conv *cv, unsigned ci)
{
    pclass *c = &cv->cls[ci];
    if (c->state == 2)
        return 0;
    if (c->state == 1)
        return fail(cv, "class %s is its own superclass", c->cf.name);
    c->state = 1;
    cv->at_cls = c;
    cv->at_m = NULL;
    if (c->is_iface) {
        int t = prev_next(cv, c->cf.name, EX_VIRTUAL);
        for (unsigned i = 0; i < c->cf.n_methods; i++) {
            const cf_method *m = &c->cf.methods[i];
            int p = is_virtual(m) ? prev_token(cv, c->cf.name, m->name, m->desc, EX_VIRTUAL) : -1;
            c->mtok[i] = !is_virtual(m) ? -1 : p >= 0 ? p : t++;
        }
        c->state = 2;
        return 0;
    }
    if (c->super_internal >= 0) {
        if (tables(cv, (unsigned)c->super_internal))
            return -1;
        cv->at_cls = c;
        const pclass *s = &cv->cls[c->super_internal];
        for (unsigned i = 0; i < s->npub; i++)
            if (add_name(&c->pub, &c->npub, s->pub[i]))
                return fail(cv, "out of memory");
        for (unsigned i = 0; i < s->npkg; i++)
            if (add_name(&c->pkg, &c->npkg, s->pkg[i]))
                return fail(cv, "out of memory");
    } else if (c->cf.super_name) {
        int pi;
        const ex_class *s = ext_class(cv, c->cf.super_name, &pi);
        if (!s)
            return -1;
        for (unsigned i = 0; i < s->n_members; i++) {
            const ex_member *m = &s->members[i];
            if (m->kind != EX_VIRTUAL)
                continue;
            while (c->npub <= m->token)
                if (add_name(&c->pub, &c->npub, ""))
                    return fail(cv, "out of memory");
            char full[512];
            snprintf(full, sizeof full, "%s%s", m->name, m->desc);
            free(c->pub[m->token]);
            c->pub[m->token] = strdup(full);
        }
    }
    c->pub_base = -1;
    c->pkg_base = -1;
    /* new public methods after the inherited ones and after every token
     * the previous export gave (those keep theirs) */
    unsigned first_new = c->npub;
    if ((unsigned)prev_next(cv, c->cf.name, EX_VIRTUAL) > first_new)
        first_new = (unsigned)prev_next(cv, c->cf.name, EX_VIRTUAL);
    for (int pass = 0; pass < 2; pass++)
    for (unsigned i = 0; i < c->cf.n_methods; i++) {
        const cf_method *m = &c->cf.methods[i];
        if (pass == 0)
            c->mtok[i] = -1;
        if (!is_virtual(m))
            continue;
        char full[512];
        snprintf(full, sizeof full, "%s%s", m->name, m->desc);
        int t;
        int pt = prev_token(cv, c->cf.name, m->name, m->desc, EX_VIRTUAL);
        if (pt >= 0 && (unsigned)pt < c->npub && c->pub[pt][0] && strcmp(c->pub[pt], full) != 0)
            pt = -1;   /* the slot is taken (the superclass changed): a new token */
        if (m->flags & (CF_ACC_PUBLIC | CF_ACC_PROTECTED)) {
            t = lookup_name(c->pub, c->npub, full);
            if (t < 0 && (pass == 0) != (pt >= 0))
                continue;   /* kept tokens first, new ones in pass 1 */
            if (t < 0) {
                unsigned at = pt >= 0 ? (unsigned)pt : first_new > c->npub ? first_new : c->npub;
                while (c->npub < at)
                    if (add_name(&c->pub, &c->npub, ""))
                        return fail(cv, "out of memory");
                if (at < c->npub && c->pub[at][0] == '\0') {
                    free(c->pub[at]);
                    c->pub[at] = strdup(full);
                    if (!c->pub[at])
                        return fail(cv, "out of memory");
                } else if (add_name(&c->pub, &c->npub, full)) {
                    return fail(cv, "out of memory");
                }
                t = (int)at;
                if (pt < 0)
                    first_new = at + 1;
            }
            if (c->pub_base < 0 || t < c->pub_base)
                c->pub_base = t;
            c->mtok[i] = t;
        } else {
            if (pass == 1)
                continue;
            t = lookup_name(c->pkg, c->npkg, full);
            if (t < 0) {
                t = (int)c->npkg;
                if (add_name(&c->pkg, &c->npkg, full))
                    return fail(cv, "out of memory");
            }
            if (c->pkg_base < 0 || t < c->pkg_base)
                c->pkg_base = t;
            c->mtok[i] = 128 + t;
        }
        if (c->npub > 128 || c->npkg > 128)
            return fail(cv, "more than 128 virtual methods");
    }
    if (c->pub_base < 0)
        c->pub_base = (int)c->npub;
    if (c->pkg_base < 0)
        c->pkg_base = (int)c->npkg;
    /* static methods and constructors of a public class: public tokens */
    int st = prev_next(cv, c->cf.name, EX_STATIC);
    if (prev_next(cv, c->cf.name, EX_CONSTRUCTOR) > st)
        st = prev_next(cv, c->cf.name, EX_CONSTRUCTOR);
    for (unsigned i = 0; i < c->cf.n_methods; i++) {
        const cf_method *m = &c->cf.methods[i];
        if (is_virtual(m) || !strcmp(m->name, "<clinit>"))
            continue;
        if (c->is_public && (m->flags & (CF_ACC_PUBLIC | CF_ACC_PROTECTED))) {
            int p = prev_token(cv, c->cf.name, m->name, m->desc,
                               !strcmp(m->name, "<init>") ? EX_CONSTRUCTOR : EX_STATIC);
            c->mtok[i] = p >= 0 ? p : st++;
        }
    }
    c->state = 2;
    return 0;
}

static int is_ref_desc(const char *d)
{
    return d[0] == 'L' || d[0] == '[';
}

static void field_tokens(const conv *cv, pclass *c)
{
    int t = 0, st = prev_next(cv, c->cf.name, EX_FIELD);
    /* public/protected: primitives then references; then the others:
     * references then primitives (JCVM 4.3.7.5) */
    for (int pass = 0; pass < 4; pass++) {
        for (unsigned i = 0; i < c->cf.n_fields; i++) {
            const cf_field *f = &c->cf.fields[i];
            if (f->flags & CF_ACC_STATIC)
                continue;
            int pub = (f->flags & (CF_ACC_PUBLIC | CF_ACC_PROTECTED)) != 0;
            int ref = is_ref_desc(f->desc);
            int want_pub = pass < 2, want_ref = (pass == 1 || pass == 2);
            if (pub == want_pub && ref == want_ref)
                c->fields[i].token = t++;
        }
    }
    for (unsigned i = 0; i < c->cf.n_fields; i++) {
        const cf_field *f = &c->cf.fields[i];
        if (!(f->flags & CF_ACC_STATIC))
            continue;
        c->fields[i].is_const = (f->flags & CF_ACC_FINAL) && f->has_value && !is_ref_desc(f->desc);
        if (!c->fields[i].is_const && c->is_public && (f->flags & (CF_ACC_PUBLIC | CF_ACC_PROTECTED))) {
            int p = prev_token(cv, c->cf.name, f->name, f->desc, EX_FIELD);
            c->fields[i].token = p >= 0 ? p : st++;
        }
        else if (!c->fields[i].is_const)
            c->fields[i].token = -1;
    }
}

/* ---- static initializers: constants and arrays of constants only ---- */

typedef struct sval {
    int kind;             /* 0 constant, 1 array, 2 null */
    int32_t v;
    int32_t *arr;
    unsigned n;
    char type;            /* array element: Z B S */
} sval;

static int clinit(conv *cv, pclass *c, const cf_method *m)
{
    cv->at_m = m;
    cv->has_pc = 1;
    sval st[16];
    int sp = 0, rc = -1;
    const uint8_t *code = m->code;
    unsigned pc = 0, len = m->code_len;
#define NEED(n)                                                                                                    \
    do {                                                                                                           \
        if (sp < (n))                                                                                              \
            goto unsupported;                                                                                      \
    } while (0)
#define PUSHC(x)                                                                                                   \
    do {                                                                                                           \
        if (sp >= 16)                                                                                              \
            goto unsupported;                                                                                      \
        st[sp].kind = 0;                                                                                           \
        st[sp].arr = NULL;                                                                                         \
        st[sp++].v = (x);                                                                                          \
    } while (0)
    while (pc < len) {
        cv->at_pc = pc;
        uint8_t op = code[pc];
        if (op >= 0x02 && op <= 0x08) {
            PUSHC((int32_t)op - 3);
            pc++;
        } else if (op == 0x01) {
            PUSHC(0);
            st[sp - 1].kind = 2;
            pc++;
        } else if (op == 0x10 && pc + 1 < len) {
            PUSHC((int8_t)code[pc + 1]);
            pc += 2;
        } else if (op == 0x11 && pc + 2 < len) {
            PUSHC((int16_t)(code[pc + 1] << 8 | code[pc + 2]));
            pc += 3;
        } else if ((op == 0x12 && pc + 1 < len) || (op == 0x13 && pc + 2 < len)) {
            unsigned i = op == 0x12 ? code[pc + 1] : (unsigned)(code[pc + 1] << 8 | code[pc + 2]);
            if (i == 0 || i >= c->cf.cp_count || c->cf.cp[i].tag != CF_INTEGER)
                goto unsupported;
            PUSHC(c->cf.cp[i].value);
            pc += op == 0x12 ? 2 : 3;
        } else if (op == 0x91 || op == 0x93) {   /* i2b, i2s of a constant */
            NEED(1);
            st[sp - 1].v = op == 0x91 ? (int8_t)st[sp - 1].v : (int16_t)st[sp - 1].v;
            pc++;
        } else if (op == 0xbc && pc + 1 < len) {
            NEED(1);
            uint8_t t = code[pc + 1];
            char ty = t == 4 ? 'Z' : t == 8 ? 'B' : t == 9 ? 'S' : 0;
            if (!ty) {
                fail(cv, "static initializer: only boolean, byte and short arrays can be initialized");
                goto out;
            }
            if (st[sp - 1].kind != 0 || st[sp - 1].v < 0 || st[sp - 1].v > 32767)
                goto unsupported;
            st[sp - 1].kind = 1;
            st[sp - 1].type = ty;
            st[sp - 1].n = (unsigned)st[sp - 1].v;
            st[sp - 1].arr = calloc(st[sp - 1].n + 1, sizeof(int32_t));
            if (!st[sp - 1].arr)
                goto unsupported;
            pc += 2;
        } else if (op == 0x59) {
            NEED(1);
            if (sp >= 16)
                goto unsupported;
            st[sp] = st[sp - 1];
            sp++;
            pc++;
        } else if (op == 0x54 || op == 0x56) {   /* bastore, sastore */
            NEED(3);
            sval *a = &st[sp - 3], *i = &st[sp - 2], *v = &st[sp - 1];
            if (a->kind != 1 || i->kind != 0 || v->kind != 0 || i->v < 0 || (unsigned)i->v >= a->n)
                goto unsupported;
            a->arr[i->v] = v->v;
            sp -= 3;
            pc++;
        } else if (op == 0xb3 && pc + 2 < len) {
            NEED(1);
            const char *owner, *name, *desc;
            if (cf_member_ref(&c->cf, (unsigned)(code[pc + 1] << 8 | code[pc + 2]), &owner, &name, &desc) ||
                strcmp(owner, c->cf.name) != 0)
                goto unsupported;
            int fi = find_field(&c->cf, name, desc);
            if (fi < 0)
                goto unsupported;
            pfield *f = &c->fields[fi];
            sval *v = &st[--sp];
            if (v->kind == 0) {
                f->has_init = 1;
                f->value = v->v;
            } else if (v->kind == 1) {
                if (desc[0] != '[' || desc[1] != v->type) {
                    free(v->arr);
                    goto unsupported;
                }
                free(f->array);
                f->is_array_init = 1;
                f->array = v->arr;
                f->n_array = v->n;
                /* the same array may still be on the stack (dup): it now belongs to the field */
                for (int k = 0; k < sp; k++)
                    if (st[k].arr == v->arr)
                        st[k].kind = 2;
            }
            pc += 3;
        } else if (op == 0xb1) {
            rc = 0;
            break;
        } else {
            goto unsupported;
        }
    }
    if (rc == 0)
        goto out;
unsupported:
    fail(cv, "static initializer: Java Card initializes static fields only with constants and arrays of "
             "constants (no code runs at load time)");
    rc = -1;
out:
    for (int k = 0; k < sp; k++)
        if (st[k].kind == 1) {
            int owned = 0;
            for (unsigned i = 0; i < c->cf.n_fields; i++)
                if (c->fields[i].array == st[k].arr)
                    owned = 1;
            if (!owned) {
                for (int j = k + 1; j < sp; j++)
                    if (st[j].arr == st[k].arr)
                        st[j].kind = 2;
                free(st[k].arr);
            }
        }
    cv->has_pc = 0;
    return rc;
#undef NEED
#undef PUSHC
}

/* ---- bytecode ---- */

static int jvm_insn_len(const uint8_t *code, unsigned len, unsigned pc)
{
    uint8_t op = code[pc];
    if (op == 0xaa || op == 0xab) {
        unsigned p = (pc + 4) & ~3u;
        if (p + 12 > len)
            return -1;
        int32_t a = (int32_t)((uint32_t)code[p + 4] << 24 | (uint32_t)code[p + 5] << 16 | code[p + 6] << 8 | code[p + 7]);
        int32_t b = (int32_t)((uint32_t)code[p + 8] << 24 | (uint32_t)code[p + 9] << 16 | code[p + 10] << 8 | code[p + 11]);
        long n;
        if (op == 0xaa) {
            if (b < a || (long)b - a > 65535)
                return -1;
            n = 12 + 4L * ((long)b - a + 1);
        } else {
            if (a < 0 || a > 65535)
                return -1;
            n = 8 + 8L * a;
        }
        if (p + (unsigned long)n > len)
            return -1;
        return (int)(p + (unsigned)n - pc);
    }
    if (op == 0xc4)
        return (pc + 1 < len && code[pc + 1] == 0x84) ? 6 : 4;
    switch (op) {
    case 0x10: case 0x12: case 0x15: case 0x16: case 0x17: case 0x18: case 0x19:
    case 0x36: case 0x37: case 0x38: case 0x39: case 0x3a: case 0xa9: case 0xbc:
        return 2;
    case 0x11: case 0x13: case 0x14: case 0x84: case 0xa7: case 0xa8: case 0xb2: case 0xb3: case 0xb4:
    case 0xb5: case 0xb6: case 0xb7: case 0xb8: case 0xbb: case 0xbd: case 0xc0: case 0xc1: case 0xc6:
    case 0xc7:
        return 3;
    case 0xc5:
        return 4;
    case 0xb9: case 0xba: case 0xc8: case 0xc9:
        return 5;
    default:
        if (op >= 0x99 && op <= 0xa6)
            return 3;
        return op <= 0xca ? 1 : -1;
    }
}

typedef struct mctx {
    conv *cv;
    pclass *c;
    const cf_method *m;
    const uint8_t *code;
    unsigned len, max_stack;
    int *depth;           /* per pc: -1 not reached */
    char *kinds;          /* per pc: max_stack kinds: S short, I int intermediate, A reference */
    unsigned *work;
    unsigned nwork;
    uint8_t *target;      /* a label is needed here */
    int emit;             /* 0 typing, 1 sizing (no text), 2 text */
    sbuf *out;
    unsigned *jc_size;    /* per JVM pc: size of its JC instruction (short branch form) */
    unsigned *jc_off;     /* per JVM pc: its JC offset (len + 1 entries) */
    int *branch_to;       /* per JVM pc: the (canonical) target of a one-target branch, or -1 */
    uint8_t *wide;        /* per JVM pc: the branch needs its _w form */
    unsigned last_line;   /* debug info: the last .line written */
    char st[256];
    int sp;
} mctx;

static int16_t s2at(const uint8_t *p)
{
    return (int16_t)(p[0] << 8 | p[1]);
}

static int32_t s4at(const uint8_t *p)
{
    return (int32_t)((uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]);
}

/* The pc a label for `pc` lands on: i2s emits nothing, so its label moves on. */
static unsigned canon(const mctx *x, unsigned pc)
{
    while (pc < x->len && x->code[pc] == 0x93)
        pc++;
    return pc;
}

static int flow_to(mctx *x, unsigned t, const char *st, int sp)
{
    if (t >= x->len)
        return fail(x->cv, "branch out of the code");
    x->target[canon(x, t)] = 1;
    if (x->emit)
        return 0;
    char *k = x->kinds + (size_t)t * x->max_stack;
    if (x->depth[t] < 0) {
        x->depth[t] = sp;
        memcpy(k, st, (size_t)sp);
        x->work[x->nwork++] = t;
        return 0;
    }
    if (x->depth[t] != sp)
        return fail(x->cv, "stack height differs where paths join (pc %u)", t);
    int changed = 0;
    for (int i = 0; i < sp; i++) {
        if (k[i] == st[i])
            continue;
        if ((k[i] == 'S' && st[i] == 'I') || (k[i] == 'I' && st[i] == 'S')) {
            if (k[i] != 'I') {
                k[i] = 'I';
                changed = 1;
            }
        } else {
            return fail(x->cv, "stack types differ where paths join (pc %u)", t);
        }
    }
    if (changed) {
        for (unsigned i = 0; i < x->nwork; i++)
            if (x->work[i] == t)
                return 0;
        x->work[x->nwork++] = t;
    }
    return 0;
}

/* The size in bytes of a JC instruction as out_insn writes it (JCVM 3.0.5
 * ch. 7; branches in their short form). */
static unsigned jc_insn_size(const char *t)
{
    static const char *const one[] = {
        "nop", "aconst_null", "aaload", "baload", "saload", "aastore", "bastore", "sastore", "pop", "pop2",
        "dup", "dup2", "sadd", "ssub", "smul", "sdiv", "srem", "sneg", "sshl", "sshr", "sushr", "sand", "sor",
        "sxor", "s2b", "areturn", "sreturn", "return", "arraylength", "athrow", NULL};
    static const char *const three[] = {"sspush", "sinc", "invokevirtual", "invokespecial", "invokestatic", "new",
                                        "anewarray", NULL};
    char m[32];
    if (sscanf(t, "%31s", m) != 1)
        return 0;
    size_t n = strlen(m);
    for (const char *const *p = one; *p; p++)
        if (!strcmp(m, *p))
            return 1;
    if (!strncmp(m, "sconst_", 7) || ((m[0] == 'a' || m[0] == 's') && (!strncmp(m + 1, "load_", 5) ||
                                                                         !strncmp(m + 1, "store_", 6))))
        return 1;
    for (const char *const *p = three; *p; p++)
        if (!strcmp(m, *p))
            return 3;
    if (!strcmp(m, "stableswitch") || !strcmp(m, "slookupswitch")) {
        unsigned words = 0;
        for (const char *p = t; *p;) {
            while (*p == ' ')
                p++;
            if (!*p)
                break;
            words++;
            while (*p && *p != ' ')
                p++;
        }
        /* stableswitch DEF LO HI L...: 1+2+2+2+2n; slookupswitch DEF N (K L)...: 1+2+2+4n */
        return m[1] == 't' ? 7 + 2 * (words - 4) : 5 + 2 * (words - 3);
    }
    if (!strncmp(m, "getstatic", 9) || !strncmp(m, "putstatic", 9))
        return 3;
    if (!strncmp(m, "getfield", 8) || !strncmp(m, "putfield", 8))
        return (n > 2 && !strcmp(m + n - 2, "_w")) ? 3 : 2;
    if (!strcmp(m, "sinc_w") || !strcmp(m, "checkcast") || !strcmp(m, "instanceof"))
        return 4;
    if (!strcmp(m, "invokeinterface"))
        return 5;
    if (!strncmp(m, "if", 2) || !strcmp(m, "goto"))
        return 2;
    return 2;   /* bspush, sload, aload, sstore, astore, newarray, dup_x, swap_x */
}

static void out_insn(mctx *x, unsigned pc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void out_insn(mctx *x, unsigned pc, const char *fmt, ...)
{
    if (!x->emit)
        return;
    if (x->emit == 1) {
        sbuf t = {0};
        va_list ap;
        va_start(ap, fmt);
        sb_vprintf(&t, fmt, ap);
        va_end(ap);
        x->jc_size[pc] = t.s ? jc_insn_size(t.s) : 0;
        free(t.s);
        return;
    }
    if (x->cv->o->debug_info) {
        unsigned line = cf_line_of(x->m, pc);
        if (line && line != x->last_line)
            sb_printf(x->out, "\t\t\t\t.line %u;\n", line);
        x->last_line = line;
    }
    if (x->target[pc])
        sb_printf(x->out, "\t\t\tL%u:\t", pc);
    else
        sb_printf(x->out, "\t\t\t\t");
    va_list ap;
    va_start(ap, fmt);
    sb_vprintf(x->out, fmt, ap);
    va_end(ap);
    sb_printf(x->out, ";\n");
}

/* A one-target branch: its short form when the target is in reach, as
 * the sizing pass decided. */
static int out_branch(mctx *x, unsigned pc, const char *name, unsigned target)
{
    unsigned t = canon(x, target);
    if (x->emit == 1)
        x->branch_to[pc] = (int)t;
    out_insn(x, pc, "%s%s L%u", name, (x->emit == 2 && x->wide[pc]) ? "_w" : "", t);
    return flow_to(x, target, x->st, x->sp);
}

static int pop(mctx *x, char want, const char *use)
{
    if (x->sp <= 0)
        return fail(x->cv, "stack underflow");
    char k = x->st[--x->sp];
    if (want == '?')
        return k;
    if (want == 'A') {
        if (k != 'A')
            return fail(x->cv, "a reference was expected on the stack");
        return 0;
    }
    if (k == 'A')
        return fail(x->cv, "a short was expected on the stack");
    if (want == 'S' && k == 'I')
        return fail(x->cv, "int intermediate value %s: cast it to short or byte first (Java Card computes "
                           "in 16 bits; the result of + - * / << >>> or unary - may exceed a short)",
                    use);
    return k;   /* 'S' or 'I' for want 'X' (any primitive) */
}

static int push(mctx *x, char k)
{
    if (x->sp >= (int)x->max_stack || x->sp >= (int)sizeof x->st)
        return fail(x->cv, "stack overflow");
    x->st[x->sp++] = k;
    return 0;
}

static void out_const(mctx *x, unsigned pc, int32_t v)
{
    int16_t s = (int16_t)v;
    if (s >= -1 && s <= 5)
        out_insn(x, pc, s < 0 ? "sconst_m1" : "sconst_%d", s);
    else if (s >= -128 && s <= 127)
        out_insn(x, pc, "bspush %d", s);
    else
        out_insn(x, pc, "sspush %d", s);
}

static int class_ref(conv *cv, const char *name)
{
    int k = find_internal(cv, name);
    if (k >= 0)
        return cp_entry(cv, ".classRef %s", cv->cls[k].simple);
    char ref[32];
    if (ext_ref(cv, name, ref, sizeof ref))
        return -1;
    return cp_entry(cv, ".classRef %s", ref);
}

/* The cp entry of a field access. */
/* A field or static method named through a subclass of its declaring
 * class (javac names the class written in the source: Square.made for
 * Shape.made): export files list a class's own fields and static methods,
 * so look in *e and up its superclass chain; *e and *pi become the
 * declaring class and its package. 0 with *out the member or NULL, -1
 * (error set) when a superclass's package is missing. */
static int ext_member_up(conv *cv, const ex_class **e, int *pi, const char *name, const char *desc, int kind,
                         const ex_member **out)
{
    const ex_class *c = *e;
    *out = ex_member_of(c, name, desc, kind);
    for (unsigned i = 0; !*out && i < c->n_supers; i++) {
        int pj;
        const ex_class *s = ext_class(cv, c->supers[i], &pj);
        if (!s)
            return -1;
        if ((*out = ex_member_of(s, name, desc, kind)) != NULL) {
            *e = s;
            *pi = pj;
        }
    }
    return 0;
}

static int field_ref(conv *cv, const char *owner, const char *name, const char *desc, int is_static)
{
    if (check_desc(cv, desc))
        return -1;
    char type[300];
    if (jca_type(cv, desc, type, sizeof type))
        return -1;
    const char *cls = owner;
    for (int guard = 0; cls && guard < 64; guard++) {
        int k = find_internal(cv, cls);
        if (k < 0)
            break;
        int fi = find_field(&cv->cls[k].cf, name, desc);
        if (fi >= 0) {
            if (((cv->cls[k].cf.fields[fi].flags & CF_ACC_STATIC) != 0) != is_static)
                return fail(cv, "field %s.%s: static and instance access mixed", cls, name);
            if (cv->cls[k].fields[fi].is_const)
                return fail(cv, "field %s.%s is a compile-time constant: javac inlines it", cls, name);
            return cp_entry(cv, "%s %s %s/%s", is_static ? "staticFieldRef" : "instanceFieldRef", type,
                            cv->cls[k].simple, name);
        }
        cls = cv->cls[k].cf.super_name;
    }
    if (!cls)
        return fail(cv, "no field %s.%s", owner, name);
    int pi;
    const ex_class *e = ext_class(cv, cls, &pi);
    if (!e)
        return -1;
    const ex_member *f;
    if (ext_member_up(cv, &e, &pi, name, desc, EX_FIELD, &f))
        return -1;
    if (!f || f->token == 0xFF)
        return fail(cv, "unsupported API: field %s.%s is not in the export of %s", cls, name, cls);
    return cp_entry(cv, "%s %s %d.%u.%u", is_static ? "staticFieldRef" : "instanceFieldRef", type,
                    import_token(cv, pi), e->token, f->token);
}

enum { CALL_VIRTUAL, CALL_SPECIAL, CALL_STATIC, CALL_INTERFACE };

/* The cp entry of a call; *jc_op gets the JC instruction, *itoken the
 * interface method token. */
static int method_ref(mctx *x, const char *owner, const char *name, const char *desc, int call, const char **jc_op,
                      int *itoken)
{
    conv *cv = x->cv;
    if (owner[0] == '[')
        return fail(cv, "unsupported: calling %s%s on an array", name, desc);
    /* the descriptor is checked by the declaration (internal) or was the
     * export's (external): what is not found is refused as such */
    int k = find_internal(cv, owner);
    if (call == CALL_SPECIAL && !strcmp(name, "<init>")) {
        *jc_op = "invokespecial";
        if (k >= 0) {
            if (find_method(&cv->cls[k].cf, name, desc) < 0)
                return fail(cv, "no constructor %s%s in %s", name, desc, owner);
            return cp_entry(cv, "staticMethodRef %s/<init>%s", cv->cls[k].simple, desc);
        }
        int pi;
        const ex_class *e = ext_class(cv, owner, &pi);
        if (!e)
            return -1;
        const ex_member *m = ex_member_of(e, name, desc, EX_CONSTRUCTOR);
        if (!m)
            return fail(cv, "unsupported API call: constructor %s%s is not in the export of %s", owner, desc,
                        owner);
        return cp_entry(cv, "staticMethodRef %d.%u.%u%s", import_token(cv, pi), e->token, m->token, desc);
    }
    /* walk the internal classes up to the declaring one */
    const char *cls = owner;
    for (int guard = 0; cls && guard < 64; guard++) {
        int ki = find_internal(cv, cls);
        if (ki < 0)
            break;
        pclass *pc = &cv->cls[ki];
        int mi = find_method(&pc->cf, name, desc);
        if (mi >= 0) {
            const cf_method *m = &pc->cf.methods[mi];
            if (call == CALL_STATIC) {
                *jc_op = "invokestatic";
                return cp_entry(cv, "staticMethodRef %s/%s%s", pc->simple, name, desc);
            }
            if (m->flags & CF_ACC_PRIVATE) {
                *jc_op = "invokespecial";
                return cp_entry(cv, "staticMethodRef %s/%s%s", pc->simple, name, desc);
            }
            if (call == CALL_INTERFACE) {
                *jc_op = "invokeinterface";
                *itoken = pc->mtok[mi];
                return cp_entry(cv, ".classRef %s", pc->simple);
            }
            if (call == CALL_SPECIAL) {   /* super.m(): looked up from the calling class's superclass */
                *jc_op = "invokespecial";
                return cp_entry(cv, "superMethodRef %s/%s%s", x->c->simple, name, desc);
            }
            *jc_op = "invokevirtual";
            return cp_entry(cv, "virtualMethodRef %s/%s%s", pc->simple, name, desc);
        }
        if (call == CALL_INTERFACE) {
            /* declared in a superinterface */
            for (unsigned i = 0; i < pc->cf.n_interfaces; i++) {
                int r = method_ref(x, pc->cf.interfaces[i], name, desc, call, jc_op, itoken);
                if (r >= 0 || strstr(cv->err, "no method") == NULL)
                    return r;
            }
            break;
        }
        cls = pc->cf.super_name;
    }
    if (!cls || (call == CALL_INTERFACE && find_internal(cv, cls) >= 0))
        return fail(cv, "no method %s%s in %s", name, desc, owner);
    int pi;
    const ex_class *e = ext_class(cv, cls, &pi);
    if (!e)
        return -1;
    int kind = call == CALL_STATIC ? EX_STATIC : EX_VIRTUAL;
    const ex_member *m = ex_member_of(e, name, desc, kind);
    if (!m && kind == EX_STATIC && ext_member_up(cv, &e, &pi, name, desc, kind, &m))
        return -1;
    if (!m && kind == EX_VIRTUAL && (e->flags & JC_ACC_INTERFACE)) {
        /* an Object method called through an interface type */
        int pj;
        const ex_class *o = ext_class(cv, "java/lang/Object", &pj);
        if (o && (m = ex_member_of(o, name, desc, kind)) != NULL) {
            e = o;
            pi = pj;
            call = CALL_VIRTUAL;
        }
    }
    if (!m)
        return fail(cv, "unsupported API call: %s.%s%s is not in the export of %s", cls, name, desc, cls);
    int pt = import_token(cv, pi);
    if (call == CALL_STATIC) {
        *jc_op = "invokestatic";
        return cp_entry(cv, "staticMethodRef %d.%u.%u%s", pt, e->token, m->token, desc);
    }
    if (call == CALL_INTERFACE) {
        *jc_op = "invokeinterface";
        *itoken = m->token;
        return cp_entry(cv, ".classRef %d.%u", pt, e->token);
    }
    if (call == CALL_SPECIAL) {
        /* super.m() of an API superclass */
        *jc_op = "invokespecial";
        return cp_entry(cv, "superMethodRef %s/%s%s", x->c->simple, name, desc);
    }
    *jc_op = "invokevirtual";
    return cp_entry(cv, "virtualMethodRef %d.%u.%u%s", pt, e->token, m->token, desc);
}

static int desc_words(const char *desc, char *kinds, int max)
{
    int n = 0;
    for (const char *p = desc + 1; *p && *p != ')'; p++) {
        char k = 'S';
        if (*p == '[') {
            while (*p == '[')
                p++;
            k = 'A';
        }
        if (*p == 'L') {
            p = strchr(p, ';');
            if (!p)
                return -1;
            k = 'A';
        }
        if (n < max)
            kinds[n] = k;
        n++;
    }
    return n;
}

static const char *const if_names[] = {"ifeq", "ifne", "iflt", "ifge", "ifgt", "ifle"};
static const char *const icmp_names[] = {"if_scmpeq", "if_scmpne", "if_scmplt", "if_scmpge", "if_scmpgt", "if_scmple"};

#define TRY(e)                                                                                                     \
    do {                                                                                                           \
        if ((e) < 0)                                                                                               \
            return -1;                                                                                             \
    } while (0)

/* One JVM instruction at pc with the stack in x->st: checks, the JC
 * instruction (when emitting), the stack after it and its successors.
 * *fall: 1 when execution may continue at the next instruction. */
static int step(mctx *x, unsigned pc, int ilen, int *fall)
{
    conv *cv = x->cv;
    const uint8_t *c = x->code + pc;
    uint8_t op = c[0];
    *fall = 1;
    int k;
    switch (op) {
    case 0x00: out_insn(x, pc, "nop"); return 0;
    case 0x01: out_insn(x, pc, "aconst_null"); return push(x, 'A');
    case 0x02: case 0x03: case 0x04: case 0x05: case 0x06: case 0x07: case 0x08:
        out_const(x, pc, (int32_t)op - 3);
        return push(x, 'S');
    case 0x09: case 0x0a: case 0x14: case 0x16: case 0x1e: case 0x1f: case 0x20: case 0x21: case 0x2f: case 0x37:
    case 0x3f: case 0x40: case 0x41: case 0x42: case 0x50: case 0x61: case 0x65: case 0x69: case 0x6d: case 0x71:
    case 0x75: case 0x79: case 0x7b: case 0x7d: case 0x7f: case 0x81: case 0x83: case 0x85: case 0x88: case 0x89:
    case 0x8a: case 0x8c: case 0x8f: case 0x94: case 0xad:
        return fail(cv, "type long is not supported by Java Card");
    case 0x0b: case 0x0c: case 0x0d: case 0x0e: case 0x0f: case 0x17: case 0x18: case 0x22: case 0x23: case 0x24:
    case 0x25: case 0x26: case 0x27: case 0x28: case 0x29: case 0x30: case 0x31: case 0x38: case 0x39: case 0x43:
    case 0x44: case 0x45: case 0x46: case 0x47: case 0x48: case 0x49: case 0x4a: case 0x51: case 0x52: case 0x62:
    case 0x63: case 0x66: case 0x67: case 0x6a: case 0x6b: case 0x6e: case 0x6f: case 0x72: case 0x73: case 0x76:
    case 0x77: case 0x86: case 0x87: case 0x8b: case 0x8d: case 0x8e: case 0x90: case 0x95: case 0x96: case 0x97:
    case 0x98: case 0xae: case 0xaf:
        return fail(cv, "types float and double are not supported by Java Card");
    case 0x10: out_const(x, pc, (int8_t)c[1]); return push(x, 'S');
    case 0x11: out_const(x, pc, s2at(c + 1)); return push(x, 'S');
    case 0x12: case 0x13: {
        unsigned i = op == 0x12 ? c[1] : (unsigned)(c[1] << 8 | c[2]);
        const cf_const *k2 = i < x->c->cf.cp_count ? &x->c->cf.cp[i] : NULL;
        if (!k2 || k2->tag != CF_INTEGER) {
            if (k2 && k2->tag == CF_STRING)
                return fail(cv, "String is not supported by Java Card (a string literal)");
            if (k2 && k2->tag == CF_FLOAT)
                return fail(cv, "type float is not supported by Java Card");
            return fail(cv, "this constant (a class literal or method handle) is not supported by Java Card");
        }
        out_const(x, pc, k2->value);
        /* beyond a short: only its low 16 bits can matter, and only until a cast */
        return push(x, (k2->value >= -32768 && k2->value <= 32767) ? 'S' : 'I');
    }
    case 0x15: case 0x19:
        out_insn(x, pc, "%s %u", op == 0x15 ? "sload" : "aload", c[1]);
        return push(x, op == 0x15 ? 'S' : 'A');
    case 0x1a: case 0x1b: case 0x1c: case 0x1d:
        out_insn(x, pc, "sload_%d", op - 0x1a);
        return push(x, 'S');
    case 0x2a: case 0x2b: case 0x2c: case 0x2d:
        out_insn(x, pc, "aload_%d", op - 0x2a);
        return push(x, 'A');
    case 0x2e: case 0x4f:
        return fail(cv, "arrays of %s are not supported by Java Card", INT_REFUSED);
    case 0x34: case 0x55:
        return fail(cv, "type char is not supported by Java Card");
    case 0x33: case 0x35: case 0x32:
        TRY(pop(x, 'S', "used as an array index"));
        TRY(pop(x, 'A', ""));
        out_insn(x, pc, op == 0x33 ? "baload" : op == 0x35 ? "saload" : "aaload");
        return push(x, op == 0x32 ? 'A' : 'S');
    case 0x36: case 0x3a:
        TRY(pop(x, op == 0x36 ? 'S' : 'A', "stored in a local variable"));
        out_insn(x, pc, "%s %u", op == 0x36 ? "sstore" : "astore", c[1]);
        return 0;
    case 0x3b: case 0x3c: case 0x3d: case 0x3e:
        TRY(pop(x, 'S', "stored in a local variable"));
        out_insn(x, pc, "sstore_%d", op - 0x3b);
        return 0;
    case 0x4b: case 0x4c: case 0x4d: case 0x4e:
        TRY(pop(x, 'A', ""));
        out_insn(x, pc, "astore_%d", op - 0x4b);
        return 0;
    case 0x54: case 0x56:
        TRY(pop(x, 'S', "stored in an array"));
        TRY(pop(x, 'S', "used as an array index"));
        TRY(pop(x, 'A', ""));
        out_insn(x, pc, op == 0x54 ? "bastore" : "sastore");
        return 0;
    case 0x53:
        TRY(pop(x, 'A', ""));
        TRY(pop(x, 'S', "used as an array index"));
        TRY(pop(x, 'A', ""));
        out_insn(x, pc, "aastore");
        return 0;
    case 0x57: TRY(pop(x, '?', "")); out_insn(x, pc, "pop"); return 0;
    case 0x58:
        if (x->sp < 2)
            return fail(cv, "stack underflow");
        x->sp -= 2;
        out_insn(x, pc, "pop2");
        return 0;
    case 0x59: case 0x5a: case 0x5b: case 0x5c: case 0x5d: case 0x5e: case 0x5f: {
        /* dup dup_x1 dup_x2 dup2 dup2_x1 dup2_x2 swap: every value is one word */
        static const int m_of[] = {1, 1, 1, 2, 2, 2, 1}, n_of[] = {0, 2, 3, 0, 3, 4, 2};
        int m = m_of[op - 0x59], n = n_of[op - 0x59];
        int need = n ? n : m;
        if (x->sp < need)
            return fail(cv, "stack underflow");
        if (op == 0x5f) {
            char t = x->st[x->sp - 1];
            x->st[x->sp - 1] = x->st[x->sp - 2];
            x->st[x->sp - 2] = t;
            out_insn(x, pc, "swap_x %d", 0x11);
            return 0;
        }
        if (x->sp + m > (int)x->max_stack)
            return fail(cv, "stack overflow");
        /* insert copies of the top m words n words down (n = 0: on top) */
        char top[2];
        memcpy(top, x->st + x->sp - m, (size_t)m);
        int down = n ? n : m;
        memmove(x->st + x->sp - down + m, x->st + x->sp - down, (size_t)down);
        memcpy(x->st + x->sp - down, top, (size_t)m);
        x->sp += m;
        if (op == 0x59)
            out_insn(x, pc, "dup");
        else if (op == 0x5c)
            out_insn(x, pc, "dup2");
        else
            out_insn(x, pc, "dup_x %d", m << 4 | n);
        return 0;
    }
    case 0x60: case 0x64: case 0x68: case 0x78: {   /* iadd isub imul ishl: wrap in 16 bits alike */
        TRY(pop(x, 'X', ""));
        TRY(pop(x, 'X', ""));
        out_insn(x, pc, op == 0x60 ? "sadd" : op == 0x64 ? "ssub" : op == 0x68 ? "smul" : "sshl");
        return push(x, 'I');
    }
    case 0x74:
        TRY(pop(x, 'X', ""));
        out_insn(x, pc, "sneg");
        return push(x, 'I');
    case 0x7e: case 0x80: case 0x82: {   /* iand ior ixor: shorts stay shorts */
        int a = pop(x, 'X', ""), b;
        TRY(a);
        TRY(b = pop(x, 'X', ""));
        out_insn(x, pc, op == 0x7e ? "sand" : op == 0x80 ? "sor" : "sxor");
        return push(x, (a == 'S' && b == 'S') ? 'S' : 'I');
    }
    case 0x6c: case 0x70: case 0x7a: case 0x7c: {   /* idiv irem ishr iushr need exact operands */
        const char *what = (op == 0x6c || op == 0x70) ? "used in a division" : "shifted right";
        TRY(pop(x, 'S', what));
        TRY(pop(x, 'S', what));
        out_insn(x, pc, op == 0x6c ? "sdiv" : op == 0x70 ? "srem" : op == 0x7a ? "sshr" : "sushr");
        return push(x, (op == 0x70 || op == 0x7a) ? 'S' : 'I');
    }
    case 0x84:
        out_insn(x, pc, "sinc %u %d", c[1], (int8_t)c[2]);
        return 0;
    case 0x91:
        TRY(pop(x, 'X', ""));
        out_insn(x, pc, "s2b");
        return push(x, 'S');
    case 0x93:
        TRY(pop(x, 'X', ""));
        return push(x, 'S');
    case 0x92:
        return fail(cv, "type char is not supported by Java Card");
    case 0x99: case 0x9a: case 0x9b: case 0x9c: case 0x9d: case 0x9e:
        TRY(pop(x, 'S', "compared"));
        return out_branch(x, pc, if_names[op - 0x99], (unsigned)((int)pc + s2at(c + 1)));
    case 0x9f: case 0xa0: case 0xa1: case 0xa2: case 0xa3: case 0xa4:
        TRY(pop(x, 'S', "compared"));
        TRY(pop(x, 'S', "compared"));
        return out_branch(x, pc, icmp_names[op - 0x9f], (unsigned)((int)pc + s2at(c + 1)));
    case 0xa5: case 0xa6:
        TRY(pop(x, 'A', ""));
        TRY(pop(x, 'A', ""));
        return out_branch(x, pc, op == 0xa5 ? "if_acmpeq" : "if_acmpne", (unsigned)((int)pc + s2at(c + 1)));
    case 0xc6: case 0xc7:
        TRY(pop(x, 'A', ""));
        return out_branch(x, pc, op == 0xc6 ? "ifnull" : "ifnonnull", (unsigned)((int)pc + s2at(c + 1)));
    case 0xa7: case 0xc8: {
        int off = op == 0xa7 ? s2at(c + 1) : s4at(c + 1);
        *fall = 0;
        return out_branch(x, pc, "goto", (unsigned)((int)pc + off));
    }
    case 0xa8: case 0xa9: case 0xc9:
        return fail(cv, "subroutines (jsr/ret) are not supported: compile with javac -target 7 or later");
    case 0xaa: case 0xab: {
        TRY(pop(x, 'S', "switched on"));
        *fall = 0;
        unsigned p = (pc + 4) & ~3u;
        const uint8_t *b = x->code + p;
        unsigned def = (unsigned)((int)pc + s4at(b));
        sbuf line = {0};
        if (op == 0xaa) {
            int32_t lo = s4at(b + 4), hi = s4at(b + 8);
            if (lo < -32768 || hi > 32767)
                return fail(cv, "switch case values must be shorts");
            sb_printf(&line, "stableswitch L%u %d %d", canon(x, def), lo, hi);
            for (int32_t i = 0; i <= hi - lo; i++) {
                unsigned t = (unsigned)((int)pc + s4at(b + 12 + 4 * i));
                sb_printf(&line, " L%u", canon(x, t));
                if (flow_to(x, t, x->st, x->sp)) {
                    free(line.s);
                    return -1;
                }
            }
        } else {
            int32_t n = s4at(b + 4);
            sb_printf(&line, "slookupswitch L%u %d", canon(x, def), n);
            for (int32_t i = 0; i < n; i++) {
                int32_t key = s4at(b + 8 + 8 * i);
                unsigned t = (unsigned)((int)pc + s4at(b + 12 + 8 * i));
                if (key < -32768 || key > 32767) {
                    free(line.s);
                    return fail(cv, "switch case values must be shorts");
                }
                sb_printf(&line, " %d L%u", key, canon(x, t));
                if (flow_to(x, t, x->st, x->sp)) {
                    free(line.s);
                    return -1;
                }
            }
        }
        if (line.oom) {
            free(line.s);
            return fail(cv, "out of memory");
        }
        out_insn(x, pc, "%s", line.s);
        free(line.s);
        return flow_to(x, def, x->st, x->sp);
    }
    case 0xac:
        TRY(pop(x, 'S', "returned"));
        *fall = 0;
        out_insn(x, pc, "sreturn");
        return 0;
    case 0xb0:
        TRY(pop(x, 'A', ""));
        *fall = 0;
        out_insn(x, pc, "areturn");
        return 0;
    case 0xb1:
        *fall = 0;
        out_insn(x, pc, "return");
        return 0;
    case 0xb2: case 0xb3: case 0xb4: case 0xb5: {
        const char *owner, *name, *desc;
        if (cf_member_ref(&x->c->cf, (unsigned)(c[1] << 8 | c[2]), &owner, &name, &desc))
            return fail(cv, "bad field reference");
        int is_static = op <= 0xb3, put = op == 0xb3 || op == 0xb5;
        int idx = field_ref(cv, owner, name, desc, is_static);
        TRY(idx);
        char t = (desc[0] == 'L' || desc[0] == '[') ? 'a' : (desc[0] == 'S') ? 's' : 'b';
        if (put)
            TRY(pop(x, t == 'a' ? 'A' : 'S', "stored in a field"));
        if (!is_static)
            TRY(pop(x, 'A', ""));
        out_insn(x, pc, "%s%s_%c%s %d", put ? "put" : "get", is_static ? "static" : "field", t,
                 (!is_static && idx > 255) ? "_w" : "", idx);
        if (!put)
            return push(x, t == 'a' ? 'A' : 'S');
        return 0;
    }
    case 0xb6: case 0xb7: case 0xb8: case 0xb9: {
        const char *owner, *name, *desc;
        if (cf_member_ref(&x->c->cf, (unsigned)(c[1] << 8 | c[2]), &owner, &name, &desc))
            return fail(cv, "bad method reference");
        int call = op == 0xb6 ? CALL_VIRTUAL : op == 0xb7 ? CALL_SPECIAL : op == 0xb8 ? CALL_STATIC : CALL_INTERFACE;
        const char *jc = NULL;
        int itok = 0;
        int idx = method_ref(x, owner, name, desc, call, &jc, &itok);
        TRY(idx);
        char kinds[256];
        int n = desc_words(desc, kinds, (int)sizeof kinds);
        if (n < 0 || n > 255)
            return fail(cv, "bad descriptor %s", desc);
        for (int i = n - 1; i >= 0; i--)
            TRY(pop(x, kinds[i], "passed as an argument"));
        if (call != CALL_STATIC)
            TRY(pop(x, 'A', ""));
        if (!strcmp(jc, "invokeinterface"))
            out_insn(x, pc, "invokeinterface %d %d %d", n + 1, idx, itok);
        else
            out_insn(x, pc, "%s %d", jc, idx);
        const char *r = strchr(desc, ')') + 1;
        if (*r == 'V')
            return 0;
        return push(x, (*r == 'L' || *r == '[') ? 'A' : 'S');
    }
    case 0xba:
        return fail(cv, "invokedynamic (lambdas, string concatenation) is not supported by Java Card");
    case 0xbb: {
        const char *cn = cf_class_name(&x->c->cf, (unsigned)(c[1] << 8 | c[2]));
        if (!cn)
            return fail(cv, "bad class reference");
        int idx = class_ref(cv, cn);
        TRY(idx);
        out_insn(x, pc, "new %d", idx);
        return push(x, 'A');
    }
    case 0xbc: {
        TRY(pop(x, 'S', "used as an array size"));
        int t = c[1] == 4 ? 10 : c[1] == 8 ? 11 : c[1] == 9 ? 12 : 0;
        if (!t)
            return fail(cv, "arrays of %s are not supported by Java Card",
                        c[1] == 5 ? "char" : c[1] == 10 ? INT_REFUSED : c[1] == 11 ? "long" : "float or double");
        out_insn(x, pc, "newarray %d", t);
        return push(x, 'A');
    }
    case 0xbd: {
        TRY(pop(x, 'S', "used as an array size"));
        const char *cn = cf_class_name(&x->c->cf, (unsigned)(c[1] << 8 | c[2]));
        if (!cn)
            return fail(cv, "bad class reference");
        if (cn[0] == '[')
            return fail(cv, "multi-dimensional arrays are not supported by Java Card");
        int idx = class_ref(cv, cn);
        TRY(idx);
        out_insn(x, pc, "anewarray %d", idx);
        return push(x, 'A');
    }
    case 0xbe:
        TRY(pop(x, 'A', ""));
        out_insn(x, pc, "arraylength");
        return push(x, 'S');
    case 0xbf:
        TRY(pop(x, 'A', ""));
        *fall = 0;
        out_insn(x, pc, "athrow");
        return 0;
    case 0xc0: case 0xc1: {
        TRY(pop(x, 'A', ""));
        const char *cn = cf_class_name(&x->c->cf, (unsigned)(c[1] << 8 | c[2]));
        if (!cn)
            return fail(cv, "bad class reference");
        int atype = 0, idx = 0;
        if (cn[0] == '[') {
            switch (cn[1]) {
            case 'Z': atype = 10; break;
            case 'B': atype = 11; break;
            case 'S': atype = 12; break;
            case 'L': {
                char el[256];
                const char *e = strchr(cn, ';');
                size_t l = e ? (size_t)(e - cn - 2) : 0;
                if (!e || l >= sizeof el)
                    return fail(cv, "bad array class %s", cn);
                memcpy(el, cn + 2, l);
                el[l] = '\0';
                atype = 14;
                TRY(idx = class_ref(cv, el));
                break;
            }
            default: return fail(cv, "type %s is not supported by Java Card", cn);
            }
        } else {
            TRY(idx = class_ref(cv, cn));
        }
        out_insn(x, pc, "%s %d %d", op == 0xc0 ? "checkcast" : "instanceof", atype, idx);
        return push(x, op == 0xc0 ? 'A' : 'S');
    }
    case 0xc2: case 0xc3:
        return fail(cv, "synchronized is not supported by Java Card");
    case 0xc4: {
        uint8_t wop = c[1];
        unsigned idx = (unsigned)(c[2] << 8 | c[3]);
        if (wop == 0x84) {
            if (idx > 255)
                return fail(cv, "more than 256 local variables");
            out_insn(x, pc, "sinc_w %u %d", idx, s2at(c + 4));
            return 0;
        }
        return fail(cv, "more than 256 local variables (wide)");
    }
    case 0xc5:
        return fail(cv, "multi-dimensional arrays are not supported by Java Card");
    default:
        break;
    }
    (void)ilen;
    (void)k;
    return fail(cv, "instruction 0x%02X is not supported by Java Card", op);
}

static int arg_words(const cf_method *m)
{
    char k[256];
    int n = desc_words(m->desc, k, (int)sizeof k);
    return n < 0 ? -1 : n + ((m->flags & CF_ACC_STATIC) ? 0 : 1);
}

static void method_modifiers(sbuf *b, uint16_t f)
{
    if (f & CF_ACC_PUBLIC) sb_printf(b, "public ");
    if (f & CF_ACC_PRIVATE) sb_printf(b, "private ");
    if (f & CF_ACC_PROTECTED) sb_printf(b, "protected ");
    if (f & CF_ACC_STATIC) sb_printf(b, "static ");
    if (f & CF_ACC_FINAL) sb_printf(b, "final ");
    if (f & CF_ACC_ABSTRACT) sb_printf(b, "abstract ");
}

/* One method: checks, typing (a data-flow pass to a fixed point), then
 * the JC code with its labels and exception table. */
static int translate(conv *cv, pclass *c, unsigned mi, sbuf *out)
{
    const cf_method *m = &c->cf.methods[mi];
    cv->at_m = m;
    cv->has_pc = 0;
    if (m->flags & CF_ACC_SYNCHRONIZED)
        return fail(cv, "synchronized is not supported by Java Card");
    if (m->flags & CF_ACC_NATIVE)
        return fail(cv, "native methods are not supported");
    TRY(check_desc(cv, m->desc));
    sb_printf(out, "\t\t.method ");
    method_modifiers(out, m->flags & (c->is_iface ? (CF_ACC_PUBLIC | CF_ACC_ABSTRACT) : 0xFFFF));
    sb_printf(out, "%s%s", m->name, m->desc);
    if (c->mtok[mi] >= 0)
        sb_printf(out, " %d", c->mtok[mi]);
    sb_printf(out, " {\n");
    if (!m->has_code) {
        if (!(m->flags & CF_ACC_ABSTRACT))
            return fail(cv, "a method without code");
        sb_printf(out, "\t\t}\n\n");
        return 0;
    }
    /* int and char locals look like short ones in the bytecode: the
     * LocalVariableTable (javac -g) tells them; the line is that of the
     * store before the variable's scope starts. long, float and double
     * are refused by their instructions. */
    for (unsigned i = 0; i < m->n_locals; i++) {
        const char *d = m->locals[i].desc;
        if (d[0] == 'I' || d[0] == 'C') {
            cv->has_pc = m->locals[i].start > 0;
            cv->at_pc = m->locals[i].start - 1u;
            return fail(cv, "local variable %s: type %s is not supported by Java Card", m->locals[i].name,
                        d[0] == 'C' ? "char" : INT_REFUSED);
        }
    }
    int nargs = arg_words(m);
    if (nargs < 0 || m->max_locals < nargs || m->max_locals > 255)
        return fail(cv, "bad locals (%u)", m->max_locals);
    mctx x = {0};
    x.cv = cv;
    x.c = c;
    x.m = m;
    x.code = m->code;
    x.len = m->code_len;
    x.max_stack = m->max_stack ? m->max_stack : 1;
    if (x.max_stack > 255)
        return fail(cv, "operand stack deeper than 255");
    x.depth = malloc(sizeof(int) * (x.len + 1));
    x.kinds = malloc((size_t)x.max_stack * (x.len + 1));
    x.work = malloc(sizeof(unsigned) * (x.len + 1) * 2);
    x.target = calloc(x.len + 1, 1);
    int *ilen = malloc(sizeof(int) * (x.len + 1));
    int rc = -1;
    if (!x.depth || !x.kinds || !x.work || !x.target || !ilen) {
        fail(cv, "out of memory");
        goto out;
    }
    for (unsigned pc = 0; pc <= x.len; pc++)
        x.depth[pc] = -1;
    /* instruction boundaries */
    for (unsigned pc = 0; pc < x.len; pc++)
        ilen[pc] = 0;
    for (unsigned pc = 0; pc < x.len;) {
        int l = jvm_insn_len(x.code, x.len, pc);
        if (l <= 0 || pc + (unsigned)l > x.len) {
            cv->has_pc = 1;
            cv->at_pc = pc;
            fail(cv, "bad instruction");
            goto out;
        }
        ilen[pc] = l;
        pc += (unsigned)l;
    }
    x.depth[0] = 0;
    x.work[x.nwork++] = 0;
    while (x.nwork) {
        unsigned pc = x.work[--x.nwork];
        if (pc >= x.len || ilen[pc] == 0) {
            fail(cv, "branch into the middle of an instruction");
            goto out;
        }
        cv->has_pc = 1;
        cv->at_pc = pc;
        x.sp = x.depth[pc];
        memcpy(x.st, x.kinds + (size_t)pc * x.max_stack, (size_t)x.sp);
        /* handlers covering pc see an exception object */
        for (unsigned h = 0; h < m->n_handlers; h++)
            if (pc >= m->handlers[h].start && pc < m->handlers[h].end) {
                char a = 'A';
                if (flow_to(&x, m->handlers[h].handler, &a, 1))
                    goto out;
            }
        int fall;
        if (step(&x, pc, ilen[pc], &fall))
            goto out;
        if (fall && flow_to(&x, pc + (unsigned)ilen[pc], x.st, x.sp))
            goto out;
    }
    for (unsigned h = 0; h < m->n_handlers; h++) {
        x.target[canon(&x, m->handlers[h].start)] = 1;
        x.target[canon(&x, m->handlers[h].end)] = 1;
    }
    /* emit */
    sb_printf(out, "\t\t\t.stack %u;\n\t\t\t.locals %d;\n", m->max_stack, m->max_locals - nargs);
    char seen[2048] = "";
    if (describe(cv, m->desc, out, seen, sizeof seen, "\t\t\t"))
        goto out;
    sb_printf(out, "\n");
    x.out = out;
    x.jc_size = calloc(x.len + 1, sizeof *x.jc_size);
    x.jc_off = calloc(x.len + 1, sizeof *x.jc_off);
    x.branch_to = malloc((x.len + 1) * sizeof *x.branch_to);
    x.wide = calloc(x.len + 1, 1);
    if (!x.jc_size || !x.jc_off || !x.branch_to || !x.wide) {
        fail(cv, "out of memory");
        goto out;
    }
    for (unsigned pc = 0; pc <= x.len; pc++)
        x.branch_to[pc] = -1;
    /* pass 1 sizes the JC code (short branches), then branches that do not
     * reach take their _w form until nothing changes; pass 2 writes it */
    for (x.emit = 1; x.emit <= 2; x.emit++) {
        for (unsigned pc = 0; pc < x.len; pc += (unsigned)ilen[pc]) {
            if (x.depth[pc] < 0)
                continue;   /* not reached: javac leaves none, other compilers may */
            cv->has_pc = 1;
            cv->at_pc = pc;
            x.sp = x.depth[pc];
            memcpy(x.st, x.kinds + (size_t)pc * x.max_stack, (size_t)x.sp);
            int fall;
            if (step(&x, pc, ilen[pc], &fall))
                goto out;
        }
        for (int changed = 1; x.emit == 1 && changed;) {
            changed = 0;
            unsigned off = 0;
            for (unsigned pc = 0; pc < x.len; pc++) {
                x.jc_off[pc] = off;
                if (x.depth[pc] >= 0 && ilen[pc])
                    off += x.jc_size[pc] + (x.wide[pc] ? 1u : 0u);
            }
            x.jc_off[x.len] = off;
            if (off > 32767) {
                fail(cv, "method too long for Java Card (%u bytes of code)", off);
                goto out;
            }
            for (unsigned pc = 0; pc < x.len; pc++) {
                if (x.branch_to[pc] < 0 || x.wide[pc])
                    continue;
                long d = (long)x.jc_off[x.branch_to[pc]] - (long)x.jc_off[pc];
                if (d < -128 || d > 127) {
                    x.wide[pc] = 1;
                    changed = 1;
                }
            }
        }
    }
    if (x.target[x.len])
        sb_printf(out, "\t\t\tL%u:\n", x.len);
    if (m->n_handlers) {
        cv->has_pc = 0;
        sb_printf(out, "\t\t\t.exceptionTable {\n");
        for (unsigned h = 0; h < m->n_handlers; h++) {
            const cf_handler *hd = &m->handlers[h];
            int idx = 0;
            if (hd->catch_type) {
                if (cv->ncp == 0 && cp_entry(cv, ".classRef %s", c->simple) < 0)
                    goto out;
                idx = class_ref(cv, cf_class_name(&c->cf, hd->catch_type));
                if (idx < 0)
                    goto out;
            }
            sb_printf(out, "\t\t\t\tL%u L%u L%u %d;\n", canon(&x, hd->start), canon(&x, hd->end),
                      canon(&x, hd->handler), idx);
        }
        sb_printf(out, "\t\t\t}\n");
    }
    sb_printf(out, "\t\t}\n\n");
    rc = 0;
out:
    cv->has_pc = 0;
    free(x.depth);
    free(x.kinds);
    free(x.work);
    free(x.target);
    free(x.jc_size);
    free(x.jc_off);
    free(x.branch_to);
    free(x.wide);
    free(ilen);
    return rc;
}

/* ---- interfaces a class implements ---- */

typedef struct ilist {
    char names[64][256];
    unsigned n;
} ilist;

static int ilist_add(conv *cv, ilist *l, const char *name)
{
    for (unsigned i = 0; i < l->n; i++)
        if (!strcmp(l->names[i], name))
            return 0;
    if (l->n >= 64)
        return fail(cv, "too many interfaces");
    snprintf(l->names[l->n++], sizeof l->names[0], "%s", name);
    int k = find_internal(cv, name);
    if (k >= 0) {
        for (unsigned i = 0; i < cv->cls[k].cf.n_interfaces; i++)
            TRY(ilist_add(cv, l, cv->cls[k].cf.interfaces[i]));
        return 0;
    }
    int pi;
    const ex_class *e = ext_class(cv, name, &pi);
    if (!e)
        return -1;
    for (unsigned i = 0; i < e->n_interfaces; i++)
        TRY(ilist_add(cv, l, e->interfaces[i]));
    return 0;
}

static int is_shareable(const ilist *l)
{
    for (unsigned i = 0; i < l->n; i++)
        if (!strcmp(l->names[i], "javacard/framework/Shareable"))
            return 1;
    return 0;
}

static int class_name_ref(conv *cv, const char *name, char *out, size_t n)
{
    int k = find_internal(cv, name);
    if (k >= 0) {
        snprintf(out, n, "%s", cv->cls[k].simple);
        return 0;
    }
    return ext_ref(cv, name, out, n);
}

/* Errors about a field's declaration (its type names a class the imports
 * lack, or that the card lacks) point at the first instruction of the
 * class that uses the field, for a method and a line: a field has none. */
static void at_field_use(conv *cv, const pclass *c, const cf_field *f)
{
    for (unsigned i = 0; i < c->cf.n_methods; i++) {
        const cf_method *m = &c->cf.methods[i];
        for (unsigned pc = 0; m->has_code && pc < m->code_len;) {
            int l = jvm_insn_len(m->code, m->code_len, pc);
            if (l <= 0 || pc + (unsigned)l > m->code_len)
                break;
            const char *owner, *name, *desc;
            if (m->code[pc] >= 0xb2 && m->code[pc] <= 0xb5 &&
                cf_member_ref(&c->cf, (unsigned)(m->code[pc + 1] << 8 | m->code[pc + 2]), &owner, &name, &desc) == 0 &&
                !strcmp(owner, c->cf.name) && !strcmp(name, f->name)) {
                cv->at_m = m;
                cv->at_pc = pc;
                cv->has_pc = 1;
                return;
            }
            pc += (unsigned)l;
        }
    }
}

static int emit_class(conv *cv, pclass *c, sbuf *out)
{
    cv->at_cls = c;
    cv->at_m = NULL;
    ilist ifs = {0};
    for (unsigned i = 0; i < c->cf.n_interfaces; i++)
        TRY(ilist_add(cv, &ifs, c->cf.interfaces[i]));
    char ref[300];
    if (c->is_iface) {
        sb_printf(out, "\t.interface %sabstract %s", c->is_public ? "public " : "", c->simple);
        if (c->token >= 0)
            sb_printf(out, " %d", c->token);
        sb_printf(out, " {\n\n");
        if (cv->o->debug_info && c->cf.source_file)
            sb_printf(out, "\t\t.sourceFile %s;\n\n", c->cf.source_file);
        if (is_shareable(&ifs))
            sb_printf(out, "\t\t.shareable;\n\n");
        if (ifs.n) {
            sb_printf(out, "\t\t.superInterfaces {\n");
            for (unsigned i = 0; i < ifs.n; i++) {
                TRY(class_name_ref(cv, ifs.names[i], ref, sizeof ref));
                sb_printf(out, "\t\t\t%s;\n", ref);
            }
            sb_printf(out, "\t\t}\n\n");
        }
    } else {
        sb_printf(out, "\t.class %s%s%s%s", c->is_public ? "public " : "",
                  (c->cf.flags & CF_ACC_FINAL) ? "final " : "", (c->cf.flags & CF_ACC_ABSTRACT) ? "abstract " : "",
                  c->simple);
        if (c->token >= 0)
            sb_printf(out, " %d", c->token);
        if (!c->cf.super_name)
            return fail(cv, "a class without a superclass");
        TRY(class_name_ref(cv, c->cf.super_name, ref, sizeof ref));
        sb_printf(out, " extends %s {\n\n", ref);
        if (cv->o->debug_info && c->cf.source_file)
            sb_printf(out, "\t\t.sourceFile %s;\n\n", c->cf.source_file);
        if (is_shareable(&ifs))
            sb_printf(out, "\t\t.shareable;\n\n");
    }
    /* fields */
    if (c->cf.n_fields) {
        sb_printf(out, "\t\t.fields {\n");
        for (unsigned i = 0; i < c->cf.n_fields; i++) {
            const cf_field *f = &c->cf.fields[i];
            const pfield *pf = &c->fields[i];
            if (pf->is_const && !strchr("ZBS", f->desc[0]))
                continue;   /* an int constant: javac inlined it, the CAP has no room for it */
            cv->at_field = f->name;
            at_field_use(cv, c, f);
            TRY(check_desc(cv, f->desc));
            char type[300];
            TRY(jca_type(cv, f->desc, type, sizeof type));
            cv->at_field = NULL;
            cv->at_m = NULL;
            cv->has_pc = 0;
            sb_printf(out, "\t\t\t");
            method_modifiers(out, f->flags & (CF_ACC_PUBLIC | CF_ACC_PRIVATE | CF_ACC_PROTECTED | CF_ACC_STATIC |
                                              CF_ACC_FINAL));
            sb_printf(out, "%s %s", type, f->name);
            if (pf->token >= 0)
                sb_printf(out, " %d", pf->token);
            if (pf->is_const) {
                const cf_const *k = f->value_index < c->cf.cp_count ? &c->cf.cp[f->value_index] : NULL;
                if (!k || k->tag != CF_INTEGER)
                    return fail(cv, "field %s: bad constant value", f->name);
                sb_printf(out, " = %d", (int)k->value);
            } else if (pf->is_array_init) {
                sb_printf(out, " = {");
                for (unsigned v = 0; v < pf->n_array; v++)
                    sb_printf(out, "%s%d", v ? "," : "", (int)pf->array[v]);
                sb_printf(out, "}");
            } else if (pf->has_init && pf->value != 0) {
                sb_printf(out, " = %d", (int)pf->value);
            }
            sb_printf(out, ";\n");
        }
        sb_printf(out, "\t\t}\n\n");
    }
    if (!c->is_iface) {
        /* interface tables first: an abstract class may leave the body of
         * an interface method to its subclasses, and the method then takes
         * a public token here */
        sbuf itab = {0};
        for (unsigned i = 0; i < ifs.n; i++) {
            TRY(class_name_ref(cv, ifs.names[i], ref, sizeof ref));
            sb_printf(&itab, "\t\t\t.interface %s {\n", ref);
            int k = find_internal(cv, ifs.names[i]);
            char **names = NULL;
            unsigned nn = 0;
            if (k >= 0) {
                for (unsigned t = 0; t < cv->cls[k].cf.n_methods; t++)
                    for (unsigned mi = 0; mi < cv->cls[k].cf.n_methods; mi++)
                        if (cv->cls[k].mtok[mi] == (int)t) {
                            char full[512];
                            snprintf(full, sizeof full, "%s%s", cv->cls[k].cf.methods[mi].name,
                                     cv->cls[k].cf.methods[mi].desc);
                            if (add_name(&names, &nn, full))
                                return fail(cv, "out of memory");
                        }
            } else {
                int pi;
                const ex_class *e = ext_class(cv, ifs.names[i], &pi);
                if (!e)
                    return -1;
                for (unsigned t = 0; t < 256; t++)
                    for (unsigned mi = 0; mi < e->n_members; mi++)
                        if (e->members[mi].kind == EX_VIRTUAL && e->members[mi].token == t) {
                            char full[512];
                            snprintf(full, sizeof full, "%s%s", e->members[mi].name, e->members[mi].desc);
                            if (add_name(&names, &nn, full))
                                return fail(cv, "out of memory");
                        }
            }
            for (unsigned t = 0; t < nn; t++) {
                int vt = lookup_name(c->pub, c->npub, names[t]);
                if (vt < 0) {
                    vt = (int)c->npub;
                    if (add_name(&c->pub, &c->npub, names[t]))
                        return fail(cv, "out of memory");
                }
                sb_printf(&itab, "\t\t\t\t%d;\t\t// %s\n", vt, names[t]);
                free(names[t]);
            }
            free(names);
            sb_printf(&itab, "\t\t\t}\n\n");
        }
        sb_printf(out, "\t\t.publicMethodTable %d {\n", c->pub_base);
        for (unsigned i = 0; i < c->npub; i++)
            sb_printf(out, "\t\t\t%s;\n", c->pub[i]);
        sb_printf(out, "\t\t}\n\n\t\t.packageMethodTable %d {\n", c->pkg_base);
        for (unsigned i = 0; i < c->npkg; i++)
            sb_printf(out, "\t\t\t%s;\n", c->pkg[i]);
        sb_printf(out, "\t\t}\n\n");
        if (ifs.n)
            sb_printf(out, "\t\t.implementedInterfaceInfoTable {\n%s\t\t}\n\n", itab.s ? itab.s : "");
        free(itab.s);
    }
    for (unsigned i = 0; i < c->cf.n_methods; i++) {
        const cf_method *m = &c->cf.methods[i];
        if (!strcmp(m->name, "<clinit>"))
            continue;
        if (c->is_iface && (m->flags & CF_ACC_STATIC)) {
            cv->at_m = m;
            return fail(cv, "static methods in interfaces are not supported by Java Card");
        }
        TRY(translate(cv, c, i, out));
    }
    cv->at_m = NULL;
    sb_printf(out, "\t}\n\n");
    return 0;
}

/* ---- loading the package's classes ---- */

static int add_class(conv *cv, uint8_t *bytes, size_t len, const char *where)
{
    if (cv->ncls >= MAX_CLASSES) {
        free(bytes);
        return fail(cv, "more than %d classes in the package", MAX_CLASSES);
    }
    pclass *c = &cv->cls[cv->ncls];
    memset(c, 0, sizeof *c);
    char e[256];
    if (cf_parse(bytes, len, &c->cf, e, sizeof e)) {
        cf_free(&c->cf);
        return fail(cv, "%s: %s", where, e);
    }
    cv->ncls++;
    char pkg[256];
    package_of(c->cf.name, pkg, sizeof pkg);
    if (strcmp(pkg, cv->name) != 0)
        return fail(cv, "%s: class %s is not in package %s", where, c->cf.name, cv->name);
    if (strchr(c->cf.name, '$'))
        return fail(cv, "%s: nested classes are not supported (%s)", where, c->cf.name);
    c->simple = strrchr(c->cf.name, '/') + 1;
    c->is_iface = (c->cf.flags & CF_ACC_INTERFACE) != 0;
    c->is_public = (c->cf.flags & CF_ACC_PUBLIC) != 0;
    c->token = -1;
    c->mtok = calloc(c->cf.n_methods + 1, sizeof *c->mtok);
    c->fields = calloc(c->cf.n_fields + 1, sizeof *c->fields);
    if (!c->mtok || !c->fields)
        return fail(cv, "out of memory");
    for (unsigned i = 0; i < c->cf.n_fields; i++)
        c->fields[i].token = -1;
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int load_classes(conv *cv)
{
    const char *src = cv->o->classes;
    size_t l = strlen(src);
    char prefix[300];
    snprintf(prefix, sizeof prefix, "%s/", cv->name);
    if (l > 4 && !strcmp(src + l - 4, ".jar")) {
        int ze;
        zip_t *z = zip_open(src, ZIP_RDONLY, &ze);
        if (!z)
            return fail(cv, "%s: cannot open the jar", src);
        zip_int64_t n = zip_get_num_entries(z, 0);
        int rc = 0;
        for (zip_int64_t i = 0; i < n && rc == 0; i++) {
            const char *nm = zip_get_name(z, (zip_uint64_t)i, 0);
            if (!nm || strncmp(nm, prefix, strlen(prefix)) != 0 || strchr(nm + strlen(prefix), '/'))
                continue;
            size_t nl = strlen(nm);
            if (nl < 7 || strcmp(nm + nl - 6, ".class") != 0)
                continue;
            zip_stat_t st;
            if (zip_stat_index(z, (zip_uint64_t)i, 0, &st) || st.size > (16u << 20)) {
                rc = fail(cv, "%s: %s: cannot read", src, nm);
                break;
            }
            uint8_t *b = malloc(st.size + 1);
            zip_file_t *f = b ? zip_fopen_index(z, (zip_uint64_t)i, 0) : NULL;
            if (!f || zip_fread(f, b, st.size) != (zip_int64_t)st.size) {
                if (f)
                    zip_fclose(f);
                free(b);
                rc = fail(cv, "%s: %s: cannot read", src, nm);
                break;
            }
            zip_fclose(f);
            rc = add_class(cv, b, st.size, nm);
        }
        zip_close(z);
        return rc;
    }
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/%s", src, cv->name);
    DIR *d = opendir(dir);
    if (!d) {
        /* the folder may be the package's own */
        snprintf(dir, sizeof dir, "%s", src);
        d = opendir(dir);
    }
    if (!d)
        return fail(cv, "%s: %s", src, strerror(errno));
    char *names[MAX_CLASSES + 1];
    unsigned nn = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL && nn <= MAX_CLASSES) {
        size_t nl = strlen(e->d_name);
        if (nl > 6 && !strcmp(e->d_name + nl - 6, ".class"))
            names[nn++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(names, nn, sizeof *names, cmp_str);
    int rc = 0;
    for (unsigned i = 0; i < nn; i++) {
        if (rc == 0) {
            char path[1400];
            snprintf(path, sizeof path, "%s/%s", dir, names[i]);
            uint8_t *b;
            size_t len;
            if (!names[i] || read_file(path, &b, &len) != 0)
                rc = fail(cv, "%s: cannot read", path);
            else
                rc = add_class(cv, b, len, path);
        }
        free(names[i]);
    }
    if (rc == 0 && cv->ncls == 0)
        return fail(cv, "no class files of package %s in %s", cv->name, src);
    return rc;
}

/* Emission order: interfaces, then classes, each after its internal
 * superclass / superinterfaces (the order the Class component needs). */
static int order_classes(conv *cv)
{
    int placed[MAX_CLASSES] = {0};
    unsigned n = 0;
    for (int pass = 0; pass < 2; pass++) {
        int progress = 1;
        while (progress) {
            progress = 0;
            for (unsigned i = 0; i < cv->ncls; i++) {
                pclass *c = &cv->cls[i];
                if (placed[i] || c->is_iface != (pass == 0))
                    continue;
                int ready = 1;
                int s = c->cf.super_name ? find_internal(cv, c->cf.super_name) : -1;
                if (s >= 0 && !placed[s])
                    ready = 0;
                for (unsigned k = 0; k < c->cf.n_interfaces; k++) {
                    int j = find_internal(cv, c->cf.interfaces[k]);
                    if (j >= 0 && !placed[j])
                        ready = 0;
                }
                if (ready) {
                    placed[i] = 1;
                    cv->order[n++] = i;
                    progress = 1;
                }
            }
        }
    }
    if (n != cv->ncls)
        return fail(cv, "circular class hierarchy");
    int tok = 0;
    for (unsigned i = 0; cv->has_prev && i < cv->prev.n_classes; i++)
        if (cv->prev.classes[i].token + 1 > tok)
            tok = cv->prev.classes[i].token + 1;
    for (unsigned i = 0; i < n; i++) {
        pclass *c = &cv->cls[cv->order[i]];
        c->super_internal = c->cf.super_name ? find_internal(cv, c->cf.super_name) : -1;
        if (c->is_public) {
            int p = prev_token(cv, c->cf.name, NULL, NULL, 0);
            c->token = p >= 0 ? p : tok++;
        }
    }
    return 0;
}

/* ---- the export model of this package ---- */

static int build_export(conv *cv, ex_package *p)
{
    memset(p, 0, sizeof *p);
    p->name = strdup(cv->name);
    memcpy(p->aid, cv->o->aid, cv->o->aid_len);
    p->aid_len = cv->o->aid_len;
    p->major = cv->o->major;
    p->minor = cv->o->minor;
    p->classes = calloc(cv->ncls + 1, sizeof *p->classes);
    if (!p->name || !p->classes)
        return -1;
    for (unsigned o = 0; o < cv->ncls; o++) {
        pclass *c = &cv->cls[cv->order[o]];
        if (!c->is_public)
            continue;
        ilist ifs = {0};
        for (unsigned i = 0; i < c->cf.n_interfaces; i++)
            if (ilist_add(cv, &ifs, c->cf.interfaces[i]))
                return -1;
        /* an applet package exports only its Shareable interfaces (JCVM 3.0.5 4.3.7) */
        if (cv->o->n_applets && !(c->is_iface && is_shareable(&ifs)))
            continue;
        ex_class *e = &p->classes[p->n_classes++];
        e->name = strdup(c->cf.name);
        e->token = (uint8_t)c->token;
        e->flags = (uint16_t)(c->cf.flags & (CF_ACC_PUBLIC | CF_ACC_FINAL | CF_ACC_INTERFACE | CF_ACC_ABSTRACT));
        /* a class also implements its superclasses' interfaces */
        for (const char *s = c->cf.super_name; s;) {
            int k = find_internal(cv, s);
            if (k >= 0) {
                for (unsigned i = 0; i < cv->cls[k].cf.n_interfaces; i++)
                    if (ilist_add(cv, &ifs, cv->cls[k].cf.interfaces[i]))
                        return -1;
                if (ex_add_str(&e->supers, &e->n_supers, s))
                    return -1;
                s = cv->cls[k].cf.super_name;
            } else {
                int pi;
                const ex_class *x = ext_class(cv, s, &pi);
                if (!x)
                    return -1;
                if (ex_add_str(&e->supers, &e->n_supers, s))
                    return -1;
                for (unsigned i = 0; i < x->n_supers; i++)
                    if (ex_add_str(&e->supers, &e->n_supers, x->supers[i]))
                        return -1;
                for (unsigned i = 0; i < x->n_interfaces; i++)
                    if (ilist_add(cv, &ifs, x->interfaces[i]))
                        return -1;
                break;
            }
        }
        /* an interface's "superclass" is java/lang/Object, listed once */
        if (c->is_iface && e->n_supers == 0 && ex_add_str(&e->supers, &e->n_supers, "java/lang/Object"))
            return -1;
        if (is_shareable(&ifs))
            e->flags |= JC_ACC_SHAREABLE;
        for (unsigned i = 0; i < ifs.n; i++)
            if (ex_add_str(&e->interfaces, &e->n_interfaces, ifs.names[i]))
                return -1;
        for (unsigned i = 0; i < c->cf.n_fields; i++) {
            const cf_field *f = &c->cf.fields[i];
            if (!(f->flags & (CF_ACC_PUBLIC | CF_ACC_PROTECTED)))
                continue;
            uint16_t fl = f->flags & (CF_ACC_PUBLIC | CF_ACC_PROTECTED | CF_ACC_STATIC | CF_ACC_FINAL);
            if (c->fields[i].is_const) {
                const cf_const *k = &c->cf.cp[f->value_index];
                if (ex_add_member(e, f->name, f->desc, 0xFF, fl, EX_FIELD, k->tag == CF_INTEGER ? k->value : 0))
                    return -1;
            } else if (c->fields[i].token >= 0) {
                if (ex_add_member(e, f->name, f->desc, (uint8_t)c->fields[i].token, fl, EX_FIELD, 0))
                    return -1;
            }
        }
        for (unsigned i = 0; i < c->cf.n_methods; i++) {
            const cf_method *m = &c->cf.methods[i];
            if (!(m->flags & (CF_ACC_PUBLIC | CF_ACC_PROTECTED)) || c->mtok[i] < 0 || c->mtok[i] >= 128)
                continue;
            int kind = !strcmp(m->name, "<init>") ? EX_CONSTRUCTOR : (m->flags & CF_ACC_STATIC) ? EX_STATIC : EX_VIRTUAL;
            uint16_t fl = m->flags & (CF_ACC_PUBLIC | CF_ACC_PROTECTED | CF_ACC_STATIC | CF_ACC_FINAL | CF_ACC_ABSTRACT);
            if (ex_add_member(e, m->name, m->desc, (uint8_t)c->mtok[i], fl, kind, 0))
                return -1;
        }
        /* inherited public virtual methods, as export files list them */
        for (unsigned t = 0; t < c->npub && !c->is_iface; t++) {
            const char *paren = strchr(c->pub[t], '(');
            if (!paren)
                continue;
            char name[256];
            snprintf(name, sizeof name, "%.*s", (int)(paren - c->pub[t]), c->pub[t]);
            if (ex_member_of(e, name, paren, EX_VIRTUAL))
                continue;
            if (ex_add_member(e, name, paren, (uint8_t)t, JC_ACC_PUBLIC, EX_VIRTUAL, 0))
                return -1;
        }
    }
    return 0;
}

/* ---- the package ---- */

int convert_parse_aid(const char *s, uint8_t *aid, uint8_t *len)
{
    unsigned n = 0;
    const char *p = s;
    while (*p) {
        while (*p == ':' || *p == ' ')
            p++;
        if (!*p)
            break;
        if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
            /* 0xF0:0x1 form: one number per byte */
            char *end;
            unsigned long v = strtoul(p + 2, &end, 16);
            if (end == p + 2 || v > 255 || n >= 16)
                return -1;
            aid[n++] = (uint8_t)v;
            p = end;
            continue;
        }
        if (!isxdigit((unsigned char)p[0]) || !isxdigit((unsigned char)p[1]) || n >= 16)
            return -1;
        char h[3] = {p[0], p[1], 0};
        aid[n++] = (uint8_t)strtoul(h, NULL, 16);
        p += 2;
    }
    if (n < 5 || n > 16)
        return -1;
    *len = (uint8_t)n;
    return 0;
}

static void jca_aid(sbuf *b, const uint8_t *aid, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        sb_printf(b, "%s0x%X", i ? ":" : "", aid[i]);
}

int convert_package(const convert_options *o, convert_result *res, char *err, size_t errlen)
{
    memset(res, 0, sizeof *res);
    conv *cv = calloc(1, sizeof *cv);
    if (!cv) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    cv->o = o;
    cv->err = err;
    cv->errlen = errlen;
    snprintf(cv->name, sizeof cv->name, "%s", o->package);
    for (char *p = cv->name; *p; p++)
        if (*p == '.')
            *p = '/';
    sbuf body = {0}, out = {0};
    int rc = -1;
    for (unsigned i = 0; i < jc_api_package_count; i++) {
        if (ex_from_api(&jc_api_packages[i], &cv->imp[cv->nimp].pkg)) {
            fail(cv, "out of memory");
            goto done;
        }
        cv->imp[cv->nimp++].token = -1;
    }
    if (o->export_map) {
        uint8_t *b;
        size_t len;
        char e[256];
        if (read_file(o->export_map, &b, &len) != 0) {
            fail(cv, "%s: cannot read", o->export_map);
            goto done;
        }
        int r = ex_read(b, len, &cv->prev, e, sizeof e);
        free(b);
        if (r != 0) {
            fail(cv, "%s: %s", o->export_map, e);
            goto done;
        }
        cv->has_prev = 1;
        if (strcmp(cv->prev.name, cv->name) != 0) {
            fail(cv, "%s: the export file of %s, not of %s", o->export_map, cv->prev.name, cv->name);
            goto done;
        }
    }
    if (load_classes(cv) || order_classes(cv))
        goto done;
    for (unsigned i = 0; i < cv->ncls; i++) {
        pclass *c = &cv->cls[i];
        cv->at_cls = c;
        cv->at_m = NULL;
        for (unsigned f = 0; f < c->cf.n_fields; f++) {
            const char *t = bad_type(c->cf.fields[f].desc);
            if (t) {
                cv->at_field = c->cf.fields[f].name;
                at_field_use(cv, c, &c->cf.fields[f]);
                fail(cv, "type %s is not supported by Java Card", t);
                goto done;
            }
        }
        field_tokens(cv, c);
        if (tables(cv, i))
            goto done;
        int ci = find_method(&c->cf, "<clinit>", "()V");
        if (ci >= 0 && clinit(cv, c, &c->cf.methods[ci]))
            goto done;
    }
    for (unsigned i = 0; i < cv->ncls; i++)
        if (emit_class(cv, &cv->cls[cv->order[i]], &body))
            goto done;
    cv->at_cls = NULL;
    cv->at_m = NULL;
    /* applets */
    sbuf applets = {0};
    for (unsigned a = 0; a < o->n_applets; a++) {
        const char *cn = o->applets[a].class_name;
        char slashed[256];
        snprintf(slashed, sizeof slashed, "%s", cn);
        for (char *p = slashed; *p; p++)
            if (*p == '.')
                *p = '/';
        int k = find_internal(cv, slashed);
        if (k < 0) {
            char full[600];
            snprintf(full, sizeof full, "%s/%s", cv->name, slashed);
            k = find_internal(cv, full);
        }
        if (k < 0 || cv->cls[k].is_iface) {
            free(applets.s);
            fail(cv, "applet class %s: no such class in package %s", cn, o->package);
            goto done;
        }
        int mi = find_method(&cv->cls[k].cf, "install", "([BSB)V");
        if (mi < 0 || !(cv->cls[k].cf.methods[mi].flags & CF_ACC_STATIC) ||
            !(cv->cls[k].cf.methods[mi].flags & CF_ACC_PUBLIC)) {
            free(applets.s);
            fail(cv, "applet class %s has no public static void install(byte[], short, byte)", cn);
            goto done;
        }
        sb_printf(&applets, "\t\t");
        jca_aid(&applets, o->applets[a].aid, o->applets[a].aid_len);
        sb_printf(&applets, " %s;\n", cv->cls[k].simple);
    }
    /* java.lang is always imported (the Oracle converter does the same) */
    for (unsigned i = 0; i < cv->nimp; i++)
        if (!strcmp(cv->imp[i].pkg.name, "java/lang"))
            import_token(cv, (int)i);
    sb_printf(&out, "// converted by cardvm convert\n\n.package %s {\n\t.aid ", cv->name);
    jca_aid(&out, o->aid, o->aid_len);
    sb_printf(&out, ";\n\t.version %u.%u;\n", o->major, o->minor);
    if (o->cap22)
        sb_printf(&out, "\t.capFormat 2.2;\n");
    sb_printf(&out, "\n\t.imports {\n");
    for (unsigned i = 0; i < cv->nimport; i++) {
        const ex_package *p = &cv->imp[cv->import_order[i]].pkg;
        sb_printf(&out, "\t\t");
        jca_aid(&out, p->aid, p->aid_len);
        sb_printf(&out, " %u.%u;\t\t// %s\n", p->major, p->minor, p->name);
    }
    sb_printf(&out, "\t}\n\n");
    if (o->n_applets)
        sb_printf(&out, "\t.applet {\n%s\t}\n\n", applets.s);
    free(applets.s);
    sb_printf(&out, "\t.constantPool {\n%s\t}\n\n%s}\n", cv->cptext.s ? cv->cptext.s : "", body.s ? body.s : "");
    if (out.oom || body.oom || cv->cptext.oom) {
        fail(cv, "out of memory");
        goto done;
    }
    if (build_export(cv, &res->exp)) {
        if (!err[0])
            fail(cv, "out of memory");
        ex_free(&res->exp);
        goto done;
    }
    res->jca = out.s;
    out.s = NULL;
    snprintf(res->package_path, sizeof res->package_path, "%s", cv->name);
    rc = 0;
done:
    free(out.s);
    free(body.s);
    free(cv->cptext.s);
    for (unsigned i = 0; i < cv->ncp; i++)
        free(cv->cp[i]);
    free(cv->cp);
    for (unsigned i = 0; i < cv->nimp; i++)
        ex_free(&cv->imp[i].pkg);
    if (cv->has_prev)
        ex_free(&cv->prev);
    for (unsigned i = 0; i < cv->ncls; i++) {
        pclass *c = &cv->cls[i];
        for (unsigned k = 0; k < c->npub; k++)
            free(c->pub[k]);
        for (unsigned k = 0; k < c->npkg; k++)
            free(c->pkg[k]);
        free(c->pub);
        free(c->pkg);
        for (unsigned f = 0; c->fields && f < c->cf.n_fields; f++)
            free(c->fields[f].array);
        free(c->fields);
        free(c->mtok);
        cf_free(&c->cf);
    }
    free(cv);
    return rc;
}

void convert_result_free(convert_result *r)
{
    free(r->jca);
    ex_free(&r->exp);
    memset(r, 0, sizeof *r);
}
