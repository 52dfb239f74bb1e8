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

#include "cap_file.h"

enum { COMP_EXPORT = 10, COMP_DESCRIPTOR = 11, COMP_DEBUG = 12 };

/* Debug component access flags (class file values) that export files keep. */
#define CLASS_FLAGS (JC_ACC_PUBLIC | JC_ACC_FINAL | JC_ACC_INTERFACE | JC_ACC_ABSTRACT | JC_ACC_SHAREABLE)
#define MEMBER_FLAGS (JC_ACC_PUBLIC | JC_ACC_PROTECTED | JC_ACC_STATIC | JC_ACC_FINAL | JC_ACC_ABSTRACT)
#define DESC_ACC_STATIC 0x08    /* Descriptor component field and method flags */
#define DESC_ACC_ABSTRACT 0x40
#define MAX_DEPTH 256           /* superclass chain within one package */

typedef struct rd {
    const uint8_t *p;
    size_t n, at;
    int bad;
} rd;

static unsigned get(rd *r, unsigned bytes)
{
    if (r->at + bytes > r->n) {
        r->bad = 1;
        r->at = r->n;
        return 0;
    }
    unsigned v = 0;
    for (unsigned i = 0; i < bytes; i++)
        v = (v << 8) | r->p[r->at++];
    return v;
}

typedef struct dbg_member {
    unsigned name, desc;        /* string indexes */
    uint16_t flags;
    uint16_t location;          /* method: Method component offset; static field: static image offset */
    uint32_t contents;          /* field: token_var, location_var or const_value */
    int token;                  /* from the Descriptor component; -1 none */
} dbg_member;

typedef struct dbg_class {
    unsigned name, super;
    uint16_t flags, location;
    unsigned n_ifs, n_fields, n_methods;
    unsigned *ifs;
    dbg_member *fields, *methods;
    int export_token;           /* class token when the Export component lists it, else -1 */
    int state;                  /* model: 0 not built, 1 building, 2 built */
    ex_class model;             /* every public/protected member, inherited virtual methods included */
} dbg_class;

typedef struct capx {
    char **str;
    unsigned n_str;
    unsigned package_name;
    dbg_class *cls;
    unsigned n_cls;
    ex_class_lookup lookup;
    void *ctx;
    char *err;
    size_t errlen;
} capx;

static const char *S(const capx *x, unsigned i)
{
    return i < x->n_str ? x->str[i] : NULL;
}

static int bad(capx *x, const char *what)
{
    snprintf(x->err, x->errlen, "%s", what);
    return -1;
}

static int parse_debug(capx *x, const uint8_t *p, size_t n)
{
    rd r = {p, n, 0, 0};
    x->n_str = get(&r, 2);
    x->str = calloc(x->n_str + 1u, sizeof *x->str);
    if (!x->str)
        return bad(x, "out of memory");
    for (unsigned i = 0; i < x->n_str && !r.bad; i++) {
        unsigned l = get(&r, 2);
        if (r.at + l > n) {
            r.bad = 1;
            break;
        }
        x->str[i] = malloc(l + 1u);
        if (!x->str[i])
            return bad(x, "out of memory");
        memcpy(x->str[i], p + r.at, l);
        x->str[i][l] = '\0';
        r.at += l;
    }
    x->package_name = get(&r, 2);
    x->n_cls = get(&r, 2);
    x->cls = calloc(x->n_cls + 1u, sizeof *x->cls);
    if (!x->cls)
        return bad(x, "out of memory");
    for (unsigned c = 0; c < x->n_cls && !r.bad; c++) {
        dbg_class *k = &x->cls[c];
        k->export_token = -1;
        k->name = get(&r, 2);
        k->flags = (uint16_t)get(&r, 2);
        k->location = (uint16_t)get(&r, 2);
        k->super = get(&r, 2);
        (void)get(&r, 2);                   /* source file */
        k->n_ifs = get(&r, 1);
        k->n_fields = get(&r, 2);
        k->n_methods = get(&r, 2);
        k->ifs = calloc(k->n_ifs + 1u, sizeof *k->ifs);
        k->fields = calloc(k->n_fields + 1u, sizeof *k->fields);
        k->methods = calloc(k->n_methods + 1u, sizeof *k->methods);
        if (!k->ifs || !k->fields || !k->methods)
            return bad(x, "out of memory");
        for (unsigned i = 0; i < k->n_ifs; i++)
            k->ifs[i] = get(&r, 2);
        for (unsigned i = 0; i < k->n_fields; i++) {
            dbg_member *f = &k->fields[i];
            f->name = get(&r, 2);
            f->desc = get(&r, 2);
            f->flags = (uint16_t)get(&r, 2);
            f->contents = get(&r, 4);
            f->location = (uint16_t)f->contents;
            f->token = -1;
        }
        for (unsigned i = 0; i < k->n_methods && !r.bad; i++) {
            dbg_member *m = &k->methods[i];
            m->name = get(&r, 2);
            m->desc = get(&r, 2);
            m->flags = (uint16_t)get(&r, 2);
            m->location = (uint16_t)get(&r, 2);
            m->token = -1;
            (void)get(&r, 1);               /* header_size */
            (void)get(&r, 2);               /* body_size */
            unsigned n_vars = get(&r, 2), n_lines = get(&r, 2);
            size_t skip = 9u * n_vars + 6u * n_lines;
            if (r.at + skip > n)
                r.bad = 1;
            else
                r.at += skip;
        }
        if (!S(x, k->name) || !S(x, k->super))
            r.bad = 1;
        for (unsigned i = 0; i < k->n_ifs; i++)
            if (!S(x, k->ifs[i]))
                r.bad = 1;
        for (unsigned i = 0; i < k->n_fields; i++)
            if (!S(x, k->fields[i].name) || !S(x, k->fields[i].desc))
                r.bad = 1;
        for (unsigned i = 0; i < k->n_methods; i++)
            if (!S(x, k->methods[i].name) || !S(x, k->methods[i].desc))
                r.bad = 1;
    }
    if (r.bad || !S(x, x->package_name))
        return bad(x, "malformed Debug component");
    return 0;
}

static dbg_class *class_at(capx *x, unsigned location)
{
    for (unsigned i = 0; i < x->n_cls; i++)
        if (x->cls[i].location == location)
            return &x->cls[i];
    return NULL;
}

/* Tokens of methods and fields from the Descriptor component. */
static int parse_descriptor(capx *x, const uint8_t *p, size_t n)
{
    rd r = {p, n, 0, 0};
    unsigned nc = get(&r, 1);
    for (unsigned c = 0; c < nc && !r.bad; c++) {
        (void)get(&r, 1);                   /* class token: the Export component's is the one a client uses */
        (void)get(&r, 1);                   /* access flags: the Debug component's are the class file's */
        unsigned this_ref = get(&r, 2);
        unsigned n_ifs = get(&r, 1), n_fields = get(&r, 2), n_methods = get(&r, 2);
        r.at += 2u * n_ifs;
        if (r.at > n)
            r.bad = 1;
        dbg_class *k = (this_ref & 0x8000) ? NULL : class_at(x, this_ref);
        if (r.bad || !k)
            return bad(x, "malformed Descriptor component (a class the Debug component does not list)");
        for (unsigned i = 0; i < n_fields && !r.bad; i++) {
            unsigned token = get(&r, 1), flags = get(&r, 1), ref = get(&r, 3);
            (void)get(&r, 2);               /* type */
            if (!(flags & DESC_ACC_STATIC))
                continue;                   /* instance field tokens are in the Debug component */
            for (unsigned f = 0; f < k->n_fields; f++)
                if ((k->fields[f].flags & JC_ACC_STATIC) && k->fields[f].location == (ref & 0xFFFF))
                    k->fields[f].token = (int)token;
        }
        unsigned abstract_at = 0;
        for (unsigned i = 0; i < n_methods && !r.bad; i++) {
            unsigned token = get(&r, 1), flags = get(&r, 1), offset = get(&r, 2);
            r.at += 8;                      /* type, bytecode count, handler count and index */
            if (r.at > n)
                r.bad = 1;
            dbg_member *m = NULL;
            if (flags & DESC_ACC_ABSTRACT) {
                while (abstract_at < k->n_methods && !(k->methods[abstract_at].flags & JC_ACC_ABSTRACT))
                    abstract_at++;
                m = abstract_at < k->n_methods ? &k->methods[abstract_at++] : NULL;
            } else {
                for (unsigned j = 0; j < k->n_methods && !m; j++)
                    if (!(k->methods[j].flags & JC_ACC_ABSTRACT) && k->methods[j].location == offset)
                        m = &k->methods[j];
            }
            if (!m)
                return bad(x, "malformed Descriptor component (a method the Debug component does not list)");
            m->token = token == 0xFF ? -1 : (int)token;
        }
    }
    if (r.bad)
        return bad(x, "malformed Descriptor component");
    return 0;
}

static int parse_export(capx *x, const uint8_t *p, size_t n)
{
    rd r = {p, n, 0, 0};
    unsigned nc = get(&r, 1);
    for (unsigned c = 0; c < nc && !r.bad; c++) {
        unsigned offset = get(&r, 2);
        unsigned n_sf = get(&r, 1), n_sm = get(&r, 1);
        r.at += 2u * (n_sf + n_sm);
        if (r.at > n)
            r.bad = 1;
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
        if (!strcmp(S(x, x->cls[i].name), name))
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
static int build_class(capx *x, dbg_class *k, unsigned depth)
{
    if (k->state == 2)
        return 0;
    if (k->state == 1 || depth > MAX_DEPTH)
        return bad(x, "malformed Debug component (a superclass cycle)");
    k->state = 1;
    ex_class *e = &k->model;
    e->name = strdup(S(x, k->name));
    if (!e->name)
        return bad(x, "out of memory");
    e->token = (uint8_t)(k->export_token < 0 ? 0 : k->export_token);
    e->flags = k->flags & CLASS_FLAGS;
    for (unsigned i = 0; i < k->n_ifs; i++)
        if (add_iface(e, S(x, k->ifs[i])))
            return bad(x, "out of memory");
    for (unsigned i = 0; i < k->n_fields; i++) {
        const dbg_member *f = &k->fields[i];
        if (!(f->flags & (JC_ACC_PUBLIC | JC_ACC_PROTECTED)))
            continue;
        const char *desc = S(x, f->desc);
        int is_const = (f->flags & JC_ACC_STATIC) && (f->flags & JC_ACC_FINAL) && is_primitive(desc);
        int token = is_const ? 0xFF : (f->flags & JC_ACC_STATIC) ? f->token : (int)(f->contents & 0xFF);
        if (token < 0)
            return bad(x, "malformed Descriptor component (a public static field without a token)");
        if (ex_add_member(e, S(x, f->name), desc, (uint8_t)token, f->flags & MEMBER_FLAGS, EX_FIELD,
                          is_const ? (int32_t)f->contents : 0))
            return bad(x, "out of memory");
    }
    for (unsigned i = 0; i < k->n_methods; i++) {
        const dbg_member *m = &k->methods[i];
        if (!(m->flags & (JC_ACC_PUBLIC | JC_ACC_PROTECTED)) || m->token < 0)
            continue;
        const char *name = S(x, m->name);
        int kind = !strcmp(name, "<init>") ? EX_CONSTRUCTOR : (m->flags & JC_ACC_STATIC) ? EX_STATIC : EX_VIRTUAL;
        if (ex_add_member(e, name, S(x, m->desc), (uint8_t)m->token, m->flags & MEMBER_FLAGS, kind, 0))
            return bad(x, "out of memory");
    }
    /* the superclass chain; a class inherits the public virtual methods it
     * does not override (interfaces list only their own) */
    const char *super = S(x, k->super);
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
    if (!(k->flags & JC_ACC_INTERFACE)) {
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
    k->state = 2;
    return 0;
}

static void capx_free(capx *x)
{
    for (unsigned i = 0; i < x->n_str; i++)
        free(x->str[i]);
    free(x->str);
    for (unsigned i = 0; i < x->n_cls; i++) {
        ex_class_free(&x->cls[i].model);
        free(x->cls[i].ifs);
        free(x->cls[i].fields);
        free(x->cls[i].methods);
    }
    free(x->cls);
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
    p->name = strdup(S(&x, x.package_name));
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
