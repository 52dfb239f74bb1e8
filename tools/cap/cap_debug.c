/*
 * cap_debug.c — the Debug component's names and line tables (cap_debug.h).
 *
 * Layout (JCVM 3.0.5 §6.14), all big-endian:
 *   u2 string_count, utf8 strings[] (u2 length, bytes)
 *   u2 package_name_index, u2 class_count, then per class:
 *     u2 name, u2 access, u2 location, u2 superclass, u2 source_file,
 *     u1 interface_count, u2 field_count, u2 method_count,
 *     u2 interfaces[interface_count], fields[field_count] (10 bytes each),
 *     per method: u2 name, u2 descriptor, u2 access, u2 location,
 *       u1 header_size, u2 body_size, u2 variable_count, u2 line_count,
 *       variables[variable_count] (9 bytes each),
 *       lines[line_count]: u2 start_pc, u2 end_pc, u2 source_line
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cap_debug.h"
#include "cap_file.h"

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

static void skip(rd *r, size_t bytes)
{
    if (r->at + bytes > r->n) {
        r->bad = 1;
        r->at = r->n;
    } else {
        r->at += bytes;
    }
}

static const char *keep(cap_debug *d, const uint8_t *s, size_t n)
{
    char **ns = realloc(d->strings, (d->n_strings + 1) * sizeof *ns);
    if (!ns)
        return NULL;
    d->strings = ns;
    char *c = malloc(n + 1);
    if (!c)
        return NULL;
    memcpy(c, s, n);
    c[n] = 0;
    d->strings[d->n_strings++] = c;
    return c;
}

typedef struct strtab {
    const uint8_t *comp;
    size_t *at;
    uint16_t *len;
    unsigned n;
} strtab;

static const char *string_of(cap_debug *d, const strtab *t, unsigned i)
{
    return i < t->n ? keep(d, t->comp + t->at[i], t->len[i]) : NULL;
}

static int parse(cap_debug *d, const capfile *cf, const uint8_t *comp, size_t len)
{
    rd r = {comp, len, 0, 0};
    strtab st = {comp, NULL, NULL, get(&r, 2)};
    st.at = calloc(st.n ? st.n : 1, sizeof *st.at);
    st.len = calloc(st.n ? st.n : 1, sizeof *st.len);
    int rc = -1;
    if (!st.at || !st.len)
        goto out;
    for (unsigned i = 0; i < st.n && !r.bad; i++) {
        st.len[i] = (uint16_t)get(&r, 2);
        st.at[i] = r.at;
        skip(&r, st.len[i]);
    }
    (void)get(&r, 2);                       /* package name */
    unsigned n_classes = get(&r, 2);
    for (unsigned c = 0; c < n_classes && !r.bad; c++) {
        unsigned name = get(&r, 2);
        skip(&r, 2);                         /* access */
        uint16_t class_location = (uint16_t)get(&r, 2);
        skip(&r, 2);                         /* superclass */
        unsigned src = get(&r, 2);
        unsigned n_if = get(&r, 1), n_fields = get(&r, 2), n_methods = get(&r, 2);
        skip(&r, 2u * n_if + 10u * n_fields);
        if (r.bad)
            break;
        const char *class_name = string_of(d, &st, name);
        const char *source = string_of(d, &st, src);
        cap_debug_class *nc = realloc(d->classes, (d->n_classes + 1) * sizeof *nc);
        if (!nc)
            goto out;
        d->classes = nc;
        cap_debug_class *k = &d->classes[d->n_classes++];
        memcpy(k->aid, cf->pkg_aid, sizeof k->aid);
        k->aid_len = cf->pkg_aid_len;
        k->location = class_location;
        k->name = class_name;
        for (unsigned m = 0; m < n_methods && !r.bad; m++) {
            unsigned mname = get(&r, 2), mdesc = get(&r, 2);
            skip(&r, 2);                     /* access */
            uint16_t location = (uint16_t)get(&r, 2);
            skip(&r, 3);                     /* header_size, body_size */
            unsigned n_vars = get(&r, 2), n_lines = get(&r, 2);
            skip(&r, 9u * n_vars);
            if (r.bad)
                break;
            cap_debug_method *nm = realloc(d->methods, (d->n_methods + 1) * sizeof *nm);
            if (!nm)
                goto out;
            d->methods = nm;
            cap_debug_method *e = &d->methods[d->n_methods++];
            memset(e, 0, sizeof *e);
            memcpy(e->aid, cf->pkg_aid, sizeof e->aid);
            e->aid_len = cf->pkg_aid_len;
            e->location = location;
            e->name = string_of(d, &st, mname);
            e->descriptor = string_of(d, &st, mdesc);
            e->class_name = class_name;
            e->source = source;
            e->lines = calloc(n_lines ? n_lines : 1, sizeof *e->lines);
            if (!e->lines)
                goto out;
            for (unsigned l = 0; l < n_lines && !r.bad; l++) {
                cap_debug_line *ln = &e->lines[e->n_lines];
                ln->start_pc = (uint16_t)get(&r, 2);
                ln->end_pc = (uint16_t)get(&r, 2);
                ln->line = (uint16_t)get(&r, 2);
                if (!r.bad)
                    e->n_lines++;
            }
        }
    }
    rc = r.bad ? -1 : 0;
out:
    free(st.at);
    free(st.len);
    return rc;
}

int cap_debug_add_cap(cap_debug *d, const uint8_t *zip, size_t len)
{
    capfile cf;
    char err[300];
    if (capfile_read_bytes(zip, len, CAPFILE_WITH_DEBUG, &cf, err, sizeof err)) {
        capfile_free(&cf);
        return -1;
    }
    int rc = 0;
    for (unsigned i = 0; i < cf.n_components; i++) {
        const capfile_component *c = &cf.components[i];
        if (c->tag == 12 && c->size >= 3)
            rc = parse(d, &cf, cf.load_file + c->offset + 3, c->size - 3);
    }
    capfile_free(&cf);
    return rc;
}

int cap_debug_add_file(cap_debug *d, const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    uint8_t *b = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (n == cap) {
            size_t nc = cap ? 2 * cap : 65536;
            uint8_t *nb = realloc(b, nc);
            if (!nb) {
                free(b);
                fclose(f);
                return -1;
            }
            b = nb;
            cap = nc;
        }
        size_t got = fread(b + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
    }
    int err = ferror(f);
    fclose(f);
    int rc = err ? -1 : cap_debug_add_cap(d, b, n);
    free(b);
    return rc;
}

const cap_debug_method *cap_debug_method_at(const cap_debug *d, const uint8_t *aid, size_t aid_len,
                                            uint16_t location)
{
    for (size_t i = 0; d && i < d->n_methods; i++) {
        const cap_debug_method *m = &d->methods[i];
        if (m->location == location && m->aid_len == aid_len && !memcmp(m->aid, aid, aid_len))
            return m;
    }
    return NULL;
}

unsigned cap_debug_line_at(const cap_debug_method *m, uint16_t pc)
{
    const cap_debug_line *best = NULL;
    for (size_t i = 0; m && i < m->n_lines; i++) {
        const cap_debug_line *e = &m->lines[i];
        if (pc < e->start_pc || pc > e->end_pc)
            continue;
        if (!best || e->end_pc - e->start_pc < best->end_pc - best->start_pc)
            best = e;
    }
    return best ? best->line : 0;
}

const cap_debug_class *cap_debug_class_at(const cap_debug *d, const uint8_t *aid, size_t aid_len,
                                          uint16_t location)
{
    for (size_t i = 0; d && i < d->n_classes; i++) {
        const cap_debug_class *c = &d->classes[i];
        if (c->location == location && c->aid_len == aid_len && !memcmp(c->aid, aid, aid_len))
            return c;
    }
    return NULL;
}

void cap_debug_free(cap_debug *d)
{
    for (size_t i = 0; i < d->n_methods; i++)
        free(d->methods[i].lines);
    free(d->methods);
    free(d->classes);
    for (size_t i = 0; i < d->n_strings; i++)
        free(d->strings[i]);
    free(d->strings);
    memset(d, 0, sizeof *d);
}
