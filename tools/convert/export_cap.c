/*
 * export_cap.c — a library's export model read from its CAP file
 * (export_file.h, ex_from_cap).
 *
 * Which classes the package exports and their tokens: the Export component
 * (JCVM 3.0.5 §6.12: one entry per exported class or interface, in class
 * token order). The tokens of their methods and fields: the Descriptor
 * component (§6.13: every method's token with its Method component offset,
 * every field's token with its static field offset). The names javac's
 * class files use: only the Debug component has them (§6.14: class names,
 * superclass and interface names, each field's and method's name and
 * descriptor with its offset, and the values of compile-time constants).
 * Debug and Descriptor entries are matched by those offsets; abstract
 * methods, which have no code to be located by, by their order in the class
 * (both components list a class's methods in the same order).
 */
#include "export_file.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cap_debug.h"
#include "cap_file.h"
#include "cap_reader.h"

enum { COMP_EXPORT = 10, COMP_DESCRIPTOR = 11, COMP_DEBUG = 12 };

/* Debug component access flags (class file values) that export files keep. */
#define CLASS_FLAGS (JC_ACC_PUBLIC | JC_ACC_FINAL | JC_ACC_INTERFACE | JC_ACC_ABSTRACT | JC_ACC_SHAREABLE)
#define MEMBER_FLAGS (JC_ACC_PUBLIC | JC_ACC_PROTECTED | JC_ACC_STATIC | JC_ACC_FINAL | JC_ACC_ABSTRACT)
#define DESC_ACC_STATIC 0x08    /* Descriptor component field and method flags */
#define DESC_ACC_ABSTRACT 0x40
#define MAX_DEPTH 256           /* superclass chain within one package */

/* A class of the Debug component (read by tools/cap/cap_debug) with what
 * the other components and the model add to it. */
typedef struct dbg_class {
    const cap_debug_class_info *info;
    int *field_token;           /* per Debug field: from the Descriptor component; -1 none */
    int *method_token;          /* per Debug method: likewise */
    int export_token;           /* class token when the Export component lists it, else -1 */
    int state;                  /* model: 0 not built, 1 building, 2 built */
    ex_class model;             /* every public/protected member, inherited virtual methods included */
} dbg_class;

typedef struct capx {
    cap_debug_component debug;
    dbg_class *cls;
    unsigned n_cls;
    ex_class_lookup lookup;
    void *ctx;
    char *err;
    size_t errlen;
} capx;

static const char *S(const capx *x, unsigned i)
{
    return cap_debug_string(&x->debug, i);
}

static int bad(capx *x, const char *what)
{
    snprintf(x->err, x->errlen, "%s", what);
    return -1;
}

static int *no_tokens(unsigned n)
{
    int *t = malloc((n + 1u) * sizeof *t);
    for (unsigned i = 0; t && i < n; i++)
        t[i] = -1;
    return t;
}

/* The Debug component; every name the model uses must be in its string
 * table. */
static int parse_debug(capx *x, const uint8_t *p, size_t n)
{
    int rc = cap_debug_component_read(p, n, &x->debug);
    if (rc == CAP_DEBUG_NO_MEMORY)
        return bad(x, "out of memory");
    if (rc)
        return bad(x, "malformed Debug component");
    x->n_cls = x->debug.n_classes;
    x->cls = calloc(x->n_cls + 1u, sizeof *x->cls);
    if (!x->cls)
        return bad(x, "out of memory");
    int named = S(x, x->debug.package_name) != NULL;
    for (unsigned c = 0; c < x->n_cls; c++) {
        dbg_class *k = &x->cls[c];
        const cap_debug_class_info *ki = k->info = &x->debug.classes[c];
        k->export_token = -1;
        k->field_token = no_tokens(ki->n_fields);
        k->method_token = no_tokens(ki->n_methods);
        if (!k->field_token || !k->method_token)
            return bad(x, "out of memory");
        named &= S(x, ki->name) && S(x, ki->superclass);
        for (unsigned i = 0; i < ki->n_interfaces; i++)
            named &= S(x, ki->interfaces[i]) != NULL;
        for (unsigned i = 0; i < ki->n_fields; i++)
            named &= S(x, ki->fields[i].name) && S(x, ki->fields[i].descriptor);
        for (unsigned i = 0; i < ki->n_methods; i++)
            named &= S(x, ki->methods[i].name) && S(x, ki->methods[i].descriptor);
    }
    if (!named)
        return bad(x, "malformed Debug component");
    return 0;
}

static dbg_class *class_at(capx *x, unsigned location)
{
    for (unsigned i = 0; i < x->n_cls; i++)
        if (x->cls[i].info->location == location)
            return &x->cls[i];
    return NULL;
}

/* Tokens of methods and fields from the Descriptor component. */
static int parse_descriptor(capx *x, const uint8_t *p, size_t n)
{
    cap_reader r = {p, n, 0, 0};
    unsigned nc = cap_reader_get(&r, 1);
    for (unsigned c = 0; c < nc && !r.bad; c++) {
        (void)cap_reader_get(&r, 1);        /* class token: the Export component's is the one a client uses */
        (void)cap_reader_get(&r, 1);        /* access flags: the Debug component's are the class file's */
        unsigned this_ref = cap_reader_get(&r, 2);
        unsigned n_ifs = cap_reader_get(&r, 1), n_fields = cap_reader_get(&r, 2);
        unsigned n_methods = cap_reader_get(&r, 2);
        cap_reader_skip(&r, 2u * n_ifs);
        dbg_class *k = (this_ref & 0x8000) ? NULL : class_at(x, this_ref);
        if (r.bad || !k)
            return bad(x, "malformed Descriptor component (a class the Debug component does not list)");
        for (unsigned i = 0; i < n_fields && !r.bad; i++) {
            unsigned token = cap_reader_get(&r, 1), flags = cap_reader_get(&r, 1), ref = cap_reader_get(&r, 3);
            (void)cap_reader_get(&r, 2);               /* type */
            if (!(flags & DESC_ACC_STATIC))
                continue;                   /* instance field tokens are in the Debug component */
            const cap_debug_class_info *ki = k->info;
            for (unsigned f = 0; f < ki->n_fields; f++)
                if ((ki->fields[f].access & JC_ACC_STATIC) && (uint16_t)ki->fields[f].contents == (ref & 0xFFFF))
                    k->field_token[f] = (int)token;
        }
        unsigned abstract_at = 0;
        for (unsigned i = 0; i < n_methods && !r.bad; i++) {
            unsigned token = cap_reader_get(&r, 1), flags = cap_reader_get(&r, 1), offset = cap_reader_get(&r, 2);
            cap_reader_skip(&r, 8);         /* type, bytecode count, handler count and index */
            const cap_debug_class_info *ki = k->info;
            unsigned m = ki->n_methods;     /* the Debug method it is; n_methods: none */
            if (flags & DESC_ACC_ABSTRACT) {
                while (abstract_at < ki->n_methods && !(ki->methods[abstract_at].access & JC_ACC_ABSTRACT))
                    abstract_at++;
                if (abstract_at < ki->n_methods)
                    m = abstract_at++;
            } else {
                for (unsigned j = 0; j < ki->n_methods && m == ki->n_methods; j++)
                    if (!(ki->methods[j].access & JC_ACC_ABSTRACT) && ki->methods[j].location == offset)
                        m = j;
            }
            if (m == ki->n_methods)
                return bad(x, "malformed Descriptor component (a method the Debug component does not list)");
            k->method_token[m] = token == 0xFF ? -1 : (int)token;
        }
    }
    if (r.bad)
        return bad(x, "malformed Descriptor component");
    return 0;
}

static int parse_export(capx *x, const uint8_t *p, size_t n)
{
    cap_reader r = {p, n, 0, 0};
    unsigned nc = cap_reader_get(&r, 1);
    for (unsigned c = 0; c < nc && !r.bad; c++) {
        unsigned offset = cap_reader_get(&r, 2);
        unsigned n_sf = cap_reader_get(&r, 1), n_sm = cap_reader_get(&r, 1);
        cap_reader_skip(&r, 2u * (n_sf + n_sm));
        dbg_class *k = class_at(x, offset);
        if (!k || k->export_token >= 0)
            r.bad = 1;
        else
            k->export_token = (int)c;
    }
    if (r.bad)
        return bad(x, "malformed Export component (a class the Debug component does not list)");
    return 0;
}

static int is_primitive(const char *desc)
{
    return desc[0] && !desc[1] && strchr("ZBSI", desc[0]) != NULL;
}

static dbg_class *class_named(capx *x, const char *name)
{
    for (unsigned i = 0; i < x->n_cls; i++)
        if (!strcmp(S(x, x->cls[i].info->name), name))
            return &x->cls[i];
    return NULL;
}

static int has_str(char **v, unsigned n, const char *s)
{
    for (unsigned i = 0; i < n; i++)
        if (!strcmp(v[i], s))
            return 1;
    return 0;
}

static int add_iface(ex_class *e, const char *s)
{
    return has_str(e->interfaces, e->n_interfaces, s) ? 0 : ex_add_str(&e->interfaces, &e->n_interfaces, s);
}

/* The model of class k: its own public and protected members, the virtual
 * methods it inherits, its superclass chain and all its interfaces. */
static int build_class(capx *x, dbg_class *dk, unsigned depth)
{
    const cap_debug_class_info *k = dk->info;
    if (dk->state == 2)
        return 0;
    if (dk->state == 1 || depth > MAX_DEPTH)
        return bad(x, "malformed Debug component (a superclass cycle)");
    dk->state = 1;
    ex_class *e = &dk->model;
    e->name = strdup(S(x, k->name));
    if (!e->name)
        return bad(x, "out of memory");
    e->token = (uint8_t)(dk->export_token < 0 ? 0 : dk->export_token);
    e->flags = k->access & CLASS_FLAGS;
    for (unsigned i = 0; i < k->n_interfaces; i++)
        if (add_iface(e, S(x, k->interfaces[i])))
            return bad(x, "out of memory");
    for (unsigned i = 0; i < k->n_fields; i++) {
        const cap_debug_field_info *f = &k->fields[i];
        if (!(f->access & (JC_ACC_PUBLIC | JC_ACC_PROTECTED)))
            continue;
        const char *desc = S(x, f->descriptor);
        int is_const = (f->access & JC_ACC_STATIC) && (f->access & JC_ACC_FINAL) && is_primitive(desc);
        int token = is_const ? 0xFF : (f->access & JC_ACC_STATIC) ? dk->field_token[i] : (int)(f->contents & 0xFF);
        if (token < 0)
            return bad(x, "malformed Descriptor component (a public static field without a token)");
        if (ex_add_member(e, S(x, f->name), desc, (uint8_t)token, f->access & MEMBER_FLAGS, EX_FIELD,
                          is_const ? (int32_t)f->contents : 0))
            return bad(x, "out of memory");
    }
    for (unsigned i = 0; i < k->n_methods; i++) {
        const cap_debug_method_info *m = &k->methods[i];
        int token = dk->method_token[i];
        if (!(m->access & (JC_ACC_PUBLIC | JC_ACC_PROTECTED)) || token < 0)
            continue;
        const char *name = S(x, m->name);
        int kind = !strcmp(name, "<init>") ? EX_CONSTRUCTOR : (m->access & JC_ACC_STATIC) ? EX_STATIC : EX_VIRTUAL;
        if (ex_add_member(e, name, S(x, m->descriptor), (uint8_t)token, m->access & MEMBER_FLAGS, kind, 0))
            return bad(x, "out of memory");
    }
    /* the superclass chain; a class inherits the public virtual methods it
     * does not override (interfaces list only their own) */
    const char *super = S(x, k->superclass);
    const ex_class *inherit = NULL;
    dbg_class *in = class_named(x, super);
    if (in) {
        if (build_class(x, in, depth + 1))
            return -1;
        inherit = &in->model;
        if (ex_add_str(&e->supers, &e->n_supers, super))
            return bad(x, "out of memory");
    } else {
        inherit = x->lookup ? x->lookup(x->ctx, super) : NULL;
        if (!inherit) {
            snprintf(x->err, x->errlen, "class %s: its superclass %s is not in a known package", e->name, super);
            return -1;
        }
        if (ex_add_str(&e->supers, &e->n_supers, super))
            return bad(x, "out of memory");
    }
    for (unsigned i = 0; i < inherit->n_supers; i++)
        if (ex_add_str(&e->supers, &e->n_supers, inherit->supers[i]))
            return bad(x, "out of memory");
    if (!(k->access & JC_ACC_INTERFACE)) {
        for (unsigned i = 0; i < inherit->n_interfaces; i++)
            if (add_iface(e, inherit->interfaces[i]))
                return bad(x, "out of memory");
        for (unsigned i = 0; i < inherit->n_members; i++) {
            const ex_member *m = &inherit->members[i];
            if (m->kind != EX_VIRTUAL || ex_member_of(e, m->name, m->desc, EX_VIRTUAL))
                continue;
            if (ex_add_member(e, m->name, m->desc, m->token, m->flags, EX_VIRTUAL, 0))
                return bad(x, "out of memory");
        }
    }
    dk->state = 2;
    return 0;
}

static void capx_free(capx *x)
{
    for (unsigned i = 0; i < x->n_cls; i++) {
        ex_class_free(&x->cls[i].model);
        free(x->cls[i].field_token);
        free(x->cls[i].method_token);
    }
    free(x->cls);
    cap_debug_component_free(&x->debug);
}

static const uint8_t *component(const capfile *f, uint8_t tag, size_t *n)
{
    const capfile_component *c = capfile_component_of(f, tag);
    if (!c || c->size < 3)
        return NULL;
    *n = c->size - 3;
    return f->load_file + c->offset + 3;
}

int ex_from_cap(const uint8_t *zip, size_t len, ex_class_lookup lookup, void *ctx, ex_package *p, char *err,
                size_t errlen)
{
    memset(p, 0, sizeof *p);
    capfile f;
    char e[256];
    if (capfile_read_bytes(zip, len, CAPFILE_WITH_DEBUG, &f, e, sizeof e)) {
        snprintf(err, errlen, "not a readable CAP file: %s", e);
        capfile_free(&f);
        return -1;
    }
    capx x = {.lookup = lookup, .ctx = ctx, .err = err, .errlen = errlen};
    int rc = -1;
    size_t n_debug = 0, n_desc = 0, n_export = 0;
    const uint8_t *debug = component(&f, COMP_DEBUG, &n_debug);
    const uint8_t *desc = component(&f, COMP_DESCRIPTOR, &n_desc);
    const uint8_t *export = component(&f, COMP_EXPORT, &n_export);
    if (!debug) {
        snprintf(err, errlen,
                 "package %s has no Debug component: a CAP file gives its tokens, not the names class files "
                 "use; give its export file, or a CAP converted with --debug (Oracle's converter: -debug)",
                 f.package_path);
        rc = EX_NO_NAMES;
        goto out;
    }
    if (!desc) {
        snprintf(err, errlen, "package %s has no Descriptor component", f.package_path);
        goto out;
    }
    if (parse_debug(&x, debug, n_debug) || parse_descriptor(&x, desc, n_desc) ||
        (export && parse_export(&x, export, n_export)))
        goto out;
    p->name = strdup(S(&x, x.debug.package_name));
    memcpy(p->aid, f.pkg_aid, f.pkg_aid_len);
    p->aid_len = f.pkg_aid_len;
    p->major = f.pkg_major;
    p->minor = f.pkg_minor;
    p->classes = calloc(x.n_cls + 1u, sizeof *p->classes);
    if (!p->name || !p->classes) {
        bad(&x, "out of memory");
        goto out;
    }
    for (unsigned i = 0; i < x.n_cls; i++)
        if (x.cls[i].export_token >= 0 && build_class(&x, &x.cls[i], 0))
            goto out;
    /* exported classes in class token order, as export files list them */
    for (int token = 0; token < 256; token++)
        for (unsigned i = 0; i < x.n_cls; i++)
            if (x.cls[i].export_token == token) {
                p->classes[p->n_classes++] = x.cls[i].model;
                memset(&x.cls[i].model, 0, sizeof x.cls[i].model);
            }
    rc = 0;
out:
    capx_free(&x);
    capfile_free(&f);
    if (rc)
        ex_free(p);
    return rc;
}
