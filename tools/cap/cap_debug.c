/*
 * cap_debug.c — the Debug component read once (cap_debug_component_read)
 * and the names and line tables built from it (cap_debug.h).
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
#include "cap_reader.h"

/* Room for `count` entries of at least `each` bytes left in the component:
 * a count the bytes cannot hold is malformed, and is not allocated for. */
static int fits(cap_reader *r, unsigned count, size_t each)
{
    if ((size_t)count * each > r->n - r->at) {
        r->bad = 1;
        r->at = r->n;
        return 0;
    }
    return 1;
}

/* as read_class */
static int read_method(cap_reader *r, cap_debug_method_info *m)
{
    m->name = (uint16_t)cap_reader_get(r, 2);
    m->descriptor = (uint16_t)cap_reader_get(r, 2);
    m->access = (uint16_t)cap_reader_get(r, 2);
    m->location = (uint16_t)cap_reader_get(r, 2);
    cap_reader_skip(r, 3);          /* header_size, body_size */
    unsigned n_vars = cap_reader_get(r, 2), n_lines = cap_reader_get(r, 2);
    cap_reader_skip(r, 9u * n_vars);
    if (r->bad || !fits(r, n_lines, 6))
        return 0;
    m->lines = calloc(n_lines ? n_lines : 1, sizeof *m->lines);
    if (!m->lines)
        return CAP_DEBUG_NO_MEMORY;
    for (unsigned l = 0; l < n_lines; l++) {
        cap_debug_line *ln = &m->lines[m->n_lines++];
        ln->start_pc = (uint16_t)cap_reader_get(r, 2);
        ln->end_pc = (uint16_t)cap_reader_get(r, 2);
        ln->line = (uint16_t)cap_reader_get(r, 2);
    }
    return 0;
}

/* 0 read (r->bad set when the bytes ran out), or CAP_DEBUG_NO_MEMORY */
static int read_class(cap_reader *r, cap_debug_class_info *k)
{
    k->name = (uint16_t)cap_reader_get(r, 2);
    k->access = (uint16_t)cap_reader_get(r, 2);
    k->location = (uint16_t)cap_reader_get(r, 2);
    k->superclass = (uint16_t)cap_reader_get(r, 2);
    k->source_file = (uint16_t)cap_reader_get(r, 2);
    unsigned n_ifs = cap_reader_get(r, 1), n_fields = cap_reader_get(r, 2), n_methods = cap_reader_get(r, 2);
    /* interfaces 2 bytes each, fields 10, methods at least 15 */
    if (r->bad || !fits(r, n_ifs, 2) || !fits(r, n_fields, 10) || !fits(r, n_methods, 15))
        return 0;
    k->interfaces = calloc(n_ifs + 1u, sizeof *k->interfaces);
    k->fields = calloc(n_fields + 1u, sizeof *k->fields);
    k->methods = calloc(n_methods + 1u, sizeof *k->methods);
    if (!k->interfaces || !k->fields || !k->methods)
        return CAP_DEBUG_NO_MEMORY;
    for (; k->n_interfaces < n_ifs; k->n_interfaces++)
        k->interfaces[k->n_interfaces] = (uint16_t)cap_reader_get(r, 2);
    for (; k->n_fields < n_fields; k->n_fields++) {
        cap_debug_field_info *f = &k->fields[k->n_fields];
        f->name = (uint16_t)cap_reader_get(r, 2);
        f->descriptor = (uint16_t)cap_reader_get(r, 2);
        f->access = (uint16_t)cap_reader_get(r, 2);
        f->contents = (uint32_t)cap_reader_get(r, 4);
    }
    while (k->n_methods < n_methods && !r->bad)
        if (read_method(r, &k->methods[k->n_methods++]))
            return CAP_DEBUG_NO_MEMORY;
    return 0;
}

int cap_debug_component_read(const uint8_t *info, size_t len, cap_debug_component *out)
{
    memset(out, 0, sizeof *out);
    cap_reader r = {info, len, 0, 0};
    int rc = CAP_DEBUG_NO_MEMORY;
    unsigned n_strings = cap_reader_get(&r, 2);
    if (!fits(&r, n_strings, 2))
        return CAP_DEBUG_MALFORMED;
    out->strings = calloc(n_strings + 1u, sizeof *out->strings);
    if (!out->strings)
        return CAP_DEBUG_NO_MEMORY;
    for (; out->n_strings < n_strings && !r.bad; out->n_strings++) {
        unsigned l = cap_reader_get(&r, 2);
        const uint8_t *s = info + r.at;
        cap_reader_skip(&r, l);
        if (r.bad)
            break;
        char *c = malloc(l + 1u);
        if (!c)
            goto fail;
        memcpy(c, s, l);
        c[l] = '\0';
        out->strings[out->n_strings] = c;
    }
    out->package_name = (uint16_t)cap_reader_get(&r, 2);
    unsigned n_classes = cap_reader_get(&r, 2);
    if (!r.bad && fits(&r, n_classes, 15)) {
        out->classes = calloc(n_classes + 1u, sizeof *out->classes);
        if (!out->classes)
            goto fail;
        while (out->n_classes < n_classes && !r.bad)
            if (read_class(&r, &out->classes[out->n_classes++]))
                goto fail;
    }
    if (!r.bad)
        return 0;
    rc = CAP_DEBUG_MALFORMED;
fail:
    cap_debug_component_free(out);
    return rc;
}

const char *cap_debug_string(const cap_debug_component *c, unsigned index)
{
    return index < c->n_strings ? c->strings[index] : NULL;
}

void cap_debug_component_free(cap_debug_component *c)
{
    for (unsigned i = 0; i < c->n_strings; i++)
        free(c->strings[i]);
    free(c->strings);
    for (unsigned i = 0; i < c->n_classes; i++) {
        cap_debug_class_info *k = &c->classes[i];
        for (unsigned m = 0; m < k->n_methods; m++)
            free(k->methods[m].lines);
        free(k->interfaces);
        free(k->fields);
        free(k->methods);
    }
    free(c->classes);
    memset(c, 0, sizeof *c);
}

/* The names and lines of one package's Debug component into the table;
 * the table takes over the component's strings and line tables. */
static int add_component(cap_debug *d, const capfile *cf, cap_debug_component *dc)
{
    char **ns = realloc(d->strings, (d->n_strings + dc->n_strings + 1) * sizeof *ns);
    if (!ns)
        return -1;
    d->strings = ns;
    size_t base = d->n_strings;
    for (unsigned i = 0; i < dc->n_strings; i++) {
        d->strings[d->n_strings++] = dc->strings[i];
        dc->strings[i] = NULL;
    }
    dc->n_strings = 0;
#define STR(i) ((i) < d->n_strings - base ? d->strings[base + (i)] : NULL)
    for (unsigned c = 0; c < dc->n_classes; c++) {
        cap_debug_class_info *k = &dc->classes[c];
        cap_debug_class *nc = realloc(d->classes, (d->n_classes + 1) * sizeof *nc);
        if (!nc)
            return -1;
        d->classes = nc;
        cap_debug_class *e = &d->classes[d->n_classes++];
        memcpy(e->aid, cf->pkg_aid, sizeof e->aid);
        e->aid_len = cf->pkg_aid_len;
        e->location = k->location;
        e->name = STR(k->name);
        for (unsigned m = 0; m < k->n_methods; m++) {
            cap_debug_method_info *mi = &k->methods[m];
            cap_debug_method *nm = realloc(d->methods, (d->n_methods + 1) * sizeof *nm);
            if (!nm)
                return -1;
            d->methods = nm;
            cap_debug_method *e2 = &d->methods[d->n_methods++];
            memset(e2, 0, sizeof *e2);
            memcpy(e2->aid, cf->pkg_aid, sizeof e2->aid);
            e2->aid_len = cf->pkg_aid_len;
            e2->location = mi->location;
            e2->name = STR(mi->name);
            e2->descriptor = STR(mi->descriptor);
            e2->class_name = STR(k->name);
            e2->source = STR(k->source_file);
            e2->lines = mi->lines;
            e2->n_lines = mi->n_lines;
            mi->lines = NULL;
            mi->n_lines = 0;
        }
    }
#undef STR
    return 0;
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
        if (c->tag != 12 || c->size < 3)
            continue;
        cap_debug_component dc;
        rc = cap_debug_component_read(cf.load_file + c->offset + 3, c->size - 3, &dc) ? -1 : 0;
        if (rc == 0)
            rc = add_component(d, &cf, &dc);
        cap_debug_component_free(&dc);
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
