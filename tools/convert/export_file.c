/*
 * export_file.c — imported packages' tokens (export_file.h).
 */
#include "export_file.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *dup_s(const char *s)
{
    return s ? strdup(s) : NULL;
}

int ex_from_api(const jc_api_package *api, ex_package *p)
{
    memset(p, 0, sizeof *p);
    p->name = dup_s(api->name);
    memcpy(p->aid, api->aid, api->aid_len);
    p->aid_len = api->aid_len;
    p->major = api->major;
    p->minor = api->minor;
    p->classes = calloc(api->class_count + 1u, sizeof *p->classes);
    if (!p->name || !p->classes)
        return -1;
    for (unsigned i = 0; i < api->class_count; i++) {
        const jc_api_class *k = &api->classes[i];
        if (!k->name || (k->flags & JC_API_HIDDEN))
            continue;
        ex_class *c = &p->classes[p->n_classes++];
        c->name = dup_s(k->name);
        c->token = k->token;
        c->flags = k->flags;
        unsigned ns = 0;
        for (const jc_api_class *s = k; s && s->super_name; s = jc_api_class_by_name(s->super_name, NULL))
            ns++;
        c->supers = calloc(ns + 2, sizeof *c->supers);
        if (!c->supers)
            return -1;
        for (const jc_api_class *s = k; s && s->super_name; s = jc_api_class_by_name(s->super_name, NULL))
            c->supers[c->n_supers++] = dup_s(s->super_name);
        if ((k->flags & JC_ACC_INTERFACE) && c->n_supers == 0)
            c->supers[c->n_supers++] = dup_s("java/lang/Object");
        unsigned ni = 0;
        for (const char *const *x = k->interfaces; x && *x; x++)
            ni++;
        c->interfaces = calloc(ni + 1, sizeof *c->interfaces);
        c->members = calloc(k->method_count + k->field_count + 1u, sizeof *c->members);
        if (!c->interfaces || !c->members)
            return -1;
        for (const char *const *x = k->interfaces; x && *x; x++)
            c->interfaces[c->n_interfaces++] = dup_s(*x);
        for (unsigned m = 0; m < k->method_count; m++) {
            ex_member *e = &c->members[c->n_members++];
            e->name = dup_s(k->methods[m].name);
            e->desc = dup_s(k->methods[m].desc);
            e->token = k->methods[m].token;
            e->flags = k->methods[m].flags;
            e->kind = k->methods[m].kind == JC_STATIC_METHOD ? EX_STATIC
                      : k->methods[m].kind == JC_CONSTRUCTOR ? EX_CONSTRUCTOR
                                                             : EX_VIRTUAL;
        }
        for (unsigned f = 0; f < k->field_count; f++) {
            ex_member *e = &c->members[c->n_members++];
            e->name = dup_s(k->fields[f].name);
            e->desc = dup_s(k->fields[f].desc);
            e->token = k->fields[f].token;
            e->flags = k->fields[f].flags;
            e->kind = EX_FIELD;
            e->value = k->fields[f].value;
        }
    }
    return 0;
}

typedef struct rd {
    const uint8_t *p;
    size_t len, at;
    int bad;
} rd;

static unsigned g1(rd *r)
{
    if (r->at >= r->len) {
        r->bad = 1;
        return 0;
    }
    return r->p[r->at++];
}
static unsigned g2(rd *r)
{
    unsigned h = g1(r);
    return (h << 8) | g1(r);
}
static uint32_t g4(rd *r)
{
    uint32_t h = g2(r);
    return (h << 16) | g2(r);
}

typedef struct exp_cp {
    uint8_t tag;
    char *utf8;
    uint16_t name;
    int32_t value;
    uint8_t flags, minor, major, aid_len, aid[16];
} exp_cp;

static const char *cp_utf8(const exp_cp *cp, unsigned n, unsigned i)
{
    return (i < n && cp[i].tag == 1) ? cp[i].utf8 : NULL;
}
static const char *cp_class(const exp_cp *cp, unsigned n, unsigned i)
{
    return (i < n && cp[i].tag == 7) ? cp_utf8(cp, n, cp[i].name) : NULL;
}

int ex_read(const uint8_t *bytes, size_t len, ex_package *p, char *err, size_t errlen)
{
    memset(p, 0, sizeof *p);
    rd r = {bytes, len, 0, 0};
    if (g4(&r) != 0x00FACADEu) {
        snprintf(err, errlen, "not an export file (magic)");
        return -1;
    }
    unsigned minor = g1(&r), major = g1(&r);
    if (major != 2 || minor > 2) {
        snprintf(err, errlen, "export file format %u.%u not supported (2.1, 2.2)", major, minor);
        return -1;
    }
    unsigned n = g2(&r);
    exp_cp *cp = calloc(n + 1, sizeof *cp);
    if (!cp) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    int rc = -1;
    for (unsigned i = 0; i < n && !r.bad; i++) {
        cp[i].tag = (uint8_t)g1(&r);
        switch (cp[i].tag) {
        case 1: {
            unsigned l = g2(&r);
            if (r.at + l > len) {
                r.bad = 1;
                break;
            }
            cp[i].utf8 = malloc(l + 1);
            if (!cp[i].utf8)
                goto out;
            memcpy(cp[i].utf8, bytes + r.at, l);
            cp[i].utf8[l] = '\0';
            r.at += l;
            break;
        }
        case 3: cp[i].value = (int32_t)g4(&r); break;
        case 7: cp[i].name = (uint16_t)g2(&r); break;
        case 13:
            cp[i].flags = (uint8_t)g1(&r);
            cp[i].name = (uint16_t)g2(&r);
            cp[i].minor = (uint8_t)g1(&r);
            cp[i].major = (uint8_t)g1(&r);
            cp[i].aid_len = (uint8_t)g1(&r);
            if (cp[i].aid_len < 5 || cp[i].aid_len > 16) {
                r.bad = 1;
                break;
            }
            for (unsigned k = 0; k < cp[i].aid_len; k++)
                cp[i].aid[k] = (uint8_t)g1(&r);
            break;
        default: r.bad = 1; break;
        }
    }
    unsigned self = g2(&r);
    if (r.bad || self >= n || cp[self].tag != 13 || !cp_utf8(cp, n, cp[self].name)) {
        snprintf(err, errlen, "bad export file constant pool or this_package");
        goto out;
    }
    p->name = strdup(cp_utf8(cp, n, cp[self].name));
    memcpy(p->aid, cp[self].aid, cp[self].aid_len);
    p->aid_len = cp[self].aid_len;
    p->major = cp[self].major;
    p->minor = cp[self].minor;
    unsigned nc = g1(&r);
    p->classes = calloc(nc + 1, sizeof *p->classes);
    if (!p->name || !p->classes)
        goto out;
    for (unsigned i = 0; i < nc && !r.bad; i++) {
        ex_class *c = &p->classes[p->n_classes++];
        c->token = (uint8_t)g1(&r);
        c->flags = (uint16_t)g2(&r);
        const char *nm = cp_class(cp, n, g2(&r));
        unsigned ns = g2(&r);
        c->supers = calloc(ns + 1, sizeof *c->supers);
        if (!nm || !c->supers)
            goto bad;
        c->name = strdup(nm);
        for (unsigned k = 0; k < ns; k++) {
            const char *s = cp_class(cp, n, g2(&r));
            if (!s)
                goto bad;
            c->supers[c->n_supers++] = strdup(s);
        }
        unsigned ni = g1(&r);
        c->interfaces = calloc(ni + 1, sizeof *c->interfaces);
        if (!c->interfaces)
            goto bad;
        for (unsigned k = 0; k < ni; k++) {
            const char *s = cp_class(cp, n, g2(&r));
            if (!s)
                goto bad;
            c->interfaces[c->n_interfaces++] = strdup(s);
        }
        unsigned nf = g2(&r);
        ex_member *mem = calloc(nf + 1, sizeof *mem);
        if (!mem)
            goto bad;
        c->members = mem;
        for (unsigned k = 0; k < nf && !r.bad; k++) {
            ex_member *e = &c->members[c->n_members++];
            e->token = (uint8_t)g1(&r);
            e->flags = (uint16_t)g2(&r);
            const char *fn = cp_utf8(cp, n, g2(&r)), *fd = cp_utf8(cp, n, g2(&r));
            if (!fn || !fd)
                goto bad;
            e->name = strdup(fn);
            e->desc = strdup(fd);
            e->kind = EX_FIELD;
            unsigned na = g2(&r);
            for (unsigned a = 0; a < na && !r.bad; a++) {
                const char *an = cp_utf8(cp, n, g2(&r));
                uint32_t l = g4(&r);
                if (an && !strcmp(an, "ConstantValue") && l == 2) {
                    unsigned vi = g2(&r);
                    if (vi < n && cp[vi].tag == 3)
                        e->value = cp[vi].value;
                } else {
                    if (r.at + l > len)
                        goto bad;
                    r.at += l;
                }
            }
        }
        unsigned nm2 = g2(&r);
        ex_member *all = realloc(c->members, (c->n_members + nm2 + 1) * sizeof *all);
        if (!all)
            goto bad;
        c->members = all;
        for (unsigned k = 0; k < nm2 && !r.bad; k++) {
            ex_member *e = &c->members[c->n_members++];
            memset(e, 0, sizeof *e);
            e->token = (uint8_t)g1(&r);
            e->flags = (uint16_t)g2(&r);
            const char *mn = cp_utf8(cp, n, g2(&r)), *md = cp_utf8(cp, n, g2(&r));
            if (!mn || !md)
                goto bad;
            e->name = strdup(mn);
            e->desc = strdup(md);
            e->kind = !strcmp(mn, "<init>") ? EX_CONSTRUCTOR : (e->flags & JC_ACC_STATIC) ? EX_STATIC : EX_VIRTUAL;
        }
    }
    if (r.bad)
        goto bad;
    rc = 0;
    goto out;
bad:
    snprintf(err, errlen, "malformed export file (at byte %zu)", r.at);
out:
    for (unsigned i = 0; i < n; i++)
        free(cp[i].utf8);
    free(cp);
    if (rc)
        ex_free(p);
    return rc;
}

void ex_class_free(ex_class *c)
{
    free(c->name);
    for (unsigned k = 0; k < c->n_supers; k++)
        free(c->supers[k]);
    for (unsigned k = 0; k < c->n_interfaces; k++)
        free(c->interfaces[k]);
    for (unsigned k = 0; k < c->n_members; k++) {
        free(c->members[k].name);
        free(c->members[k].desc);
    }
    free(c->supers);
    free(c->interfaces);
    free(c->members);
    memset(c, 0, sizeof *c);
}

void ex_free(ex_package *p)
{
    for (unsigned i = 0; i < p->n_classes; i++)
        ex_class_free(&p->classes[i]);
    free(p->classes);
    free(p->name);
    memset(p, 0, sizeof *p);
}

const ex_class *ex_class_by_name(const ex_package *p, const char *name)
{
    for (unsigned i = 0; i < p->n_classes; i++)
        if (!strcmp(p->classes[i].name, name))
            return &p->classes[i];
    return NULL;
}

const ex_member *ex_member_of(const ex_class *c, const char *name, const char *desc, int kind)
{
    for (unsigned i = 0; i < c->n_members; i++) {
        const ex_member *m = &c->members[i];
        if (!strcmp(m->name, name) && !strcmp(m->desc, desc) &&
            (m->kind == kind || (kind == EX_VIRTUAL && m->kind == EX_VIRTUAL)))
            return m;
    }
    return NULL;
}

int ex_add_member(ex_class *e, const char *name, const char *desc, uint8_t token, uint16_t flags, int kind,
                  int32_t value)
{
    ex_member *m = realloc(e->members, (e->n_members + 1) * sizeof *m);
    if (!m)
        return -1;
    e->members = m;
    m = &e->members[e->n_members++];
    m->name = strdup(name);
    m->desc = strdup(desc);
    m->token = token;
    m->flags = flags;
    m->kind = (uint8_t)kind;
    m->value = value;
    return (m->name && m->desc) ? 0 : -1;
}

int ex_add_str(char ***v, unsigned *n, const char *s)
{
    char **t = realloc(*v, (*n + 1) * sizeof *t);
    if (!t)
        return -1;
    *v = t;
    t[*n] = strdup(s);
    return t[(*n)++] ? 0 : -1;
}

/* ---- writer ---- */

typedef struct wbuf {
    uint8_t *b;
    size_t n, cap;
    int oom;
} wbuf;

static void put(wbuf *w, const void *p, size_t n)
{
    if (w->n + n > w->cap) {
        size_t cap = (w->cap + n) * 2 + 64;
        uint8_t *b = realloc(w->b, cap);
        if (!b) {
            w->oom = 1;
            return;
        }
        w->b = b;
        w->cap = cap;
    }
    memcpy(w->b + w->n, p, n);
    w->n += n;
}
static void p1(wbuf *w, unsigned v)
{
    uint8_t b = (uint8_t)v;
    put(w, &b, 1);
}
static void p2(wbuf *w, unsigned v)
{
    p1(w, v >> 8);
    p1(w, v);
}
static void p4(wbuf *w, uint32_t v)
{
    p2(w, v >> 16);
    p2(w, v & 0xFFFF);
}

typedef struct pool {
    wbuf bytes;
    unsigned count;
    char **keys;
    unsigned nkeys, capkeys;
} pool;

/* The index of an entry (tag + payload as a key), added when new. */
static unsigned pool_add(pool *pl, uint8_t tag, const void *payload, size_t n)
{
    char key[1024];
    size_t kl = 0;
    key[kl++] = (char)('A' + tag);
    for (size_t i = 0; i < n && kl + 3 < sizeof key; i++)
        kl += (size_t)snprintf(key + kl, sizeof key - kl, "%02x", ((const uint8_t *)payload)[i]);
    key[kl] = '\0';
    for (unsigned i = 0; i < pl->nkeys; i++)
        if (!strcmp(pl->keys[i], key))
            return i;
    if (pl->nkeys == pl->capkeys) {
        unsigned cap = pl->capkeys * 2 + 16;
        char **k = realloc(pl->keys, cap * sizeof *k);
        if (!k) {
            pl->bytes.oom = 1;
            return 0;
        }
        pl->keys = k;
        pl->capkeys = cap;
    }
    pl->keys[pl->nkeys] = strdup(key);
    p1(&pl->bytes, tag);
    put(&pl->bytes, payload, n);
    return pl->nkeys++;
}

static unsigned pool_utf8(pool *pl, const char *s)
{
    uint8_t b[512];
    size_t l = strlen(s);
    if (l > sizeof b - 2)
        l = sizeof b - 2;
    b[0] = (uint8_t)(l >> 8);
    b[1] = (uint8_t)l;
    memcpy(b + 2, s, l);
    return pool_add(pl, 1, b, l + 2);
}

static unsigned pool_class(pool *pl, const char *s)
{
    unsigned u = pool_utf8(pl, s);
    uint8_t b[2] = {(uint8_t)(u >> 8), (uint8_t)u};
    return pool_add(pl, 7, b, 2);
}

int ex_write(const ex_package *p, uint8_t **bytes, size_t *len)
{
    pool pl = {0};
    wbuf body = {0};
    unsigned self_name = pool_utf8(&pl, p->name);
    /* CONSTANT_Package: flags, name, minor, major, AID */
    uint8_t pkg[6 + 16];
    pkg[0] = 0;
    pkg[1] = (uint8_t)(self_name >> 8);
    pkg[2] = (uint8_t)self_name;
    pkg[3] = p->minor;
    pkg[4] = p->major;
    pkg[5] = p->aid_len;
    memcpy(pkg + 6, p->aid, p->aid_len);
    unsigned self = pool_add(&pl, 13, pkg, 6u + p->aid_len);
    p1(&body, p->n_classes);
    for (unsigned i = 0; i < p->n_classes; i++) {
        const ex_class *c = &p->classes[i];
        p1(&body, c->token);
        p2(&body, c->flags);
        p2(&body, pool_class(&pl, c->name));
        p2(&body, c->n_supers);
        for (unsigned k = 0; k < c->n_supers; k++)
            p2(&body, pool_class(&pl, c->supers[k]));
        p1(&body, c->n_interfaces);
        for (unsigned k = 0; k < c->n_interfaces; k++)
            p2(&body, pool_class(&pl, c->interfaces[k]));
        unsigned nf = 0, nm = 0;
        for (unsigned k = 0; k < c->n_members; k++)
            if (c->members[k].kind == EX_FIELD)
                nf++;
            else
                nm++;
        p2(&body, nf);
        for (unsigned k = 0; k < c->n_members; k++) {
            const ex_member *e = &c->members[k];
            if (e->kind != EX_FIELD)
                continue;
            p1(&body, e->token);
            p2(&body, e->flags);
            p2(&body, pool_utf8(&pl, e->name));
            p2(&body, pool_utf8(&pl, e->desc));
            if (e->token == 0xFF) {
                p2(&body, 1);
                p2(&body, pool_utf8(&pl, "ConstantValue"));
                p4(&body, 2);
                uint8_t v[4] = {(uint8_t)((uint32_t)e->value >> 24), (uint8_t)((uint32_t)e->value >> 16),
                                (uint8_t)((uint32_t)e->value >> 8), (uint8_t)e->value};
                p2(&body, pool_add(&pl, 3, v, 4));
            } else {
                p2(&body, 0);
            }
        }
        p2(&body, nm);
        for (unsigned k = 0; k < c->n_members; k++) {
            const ex_member *e = &c->members[k];
            if (e->kind == EX_FIELD)
                continue;
            p1(&body, e->token);
            p2(&body, e->flags);
            p2(&body, pool_utf8(&pl, e->name));
            p2(&body, pool_utf8(&pl, e->desc));
        }
    }
    wbuf out = {0};
    p4(&out, 0x00FACADEu);
    p1(&out, 1);
    p1(&out, 2);
    p2(&out, pl.nkeys);
    put(&out, pl.bytes.b, pl.bytes.n);
    p2(&out, self);
    put(&out, body.b, body.n);
    int oom = pl.bytes.oom || body.oom || out.oom;
    for (unsigned i = 0; i < pl.nkeys; i++)
        free(pl.keys[i]);
    free(pl.keys);
    free(pl.bytes.b);
    free(body.b);
    if (oom) {
        free(out.b);
        return -1;
    }
    *bytes = out.b;
    *len = out.n;
    return 0;
}
