/*
 * tear_debug.c — the Debug component's line tables (see tear_debug.h).
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
#include <stdlib.h>
#include <string.h>

#include "cap_file.h"
#include "tear_debug.h"

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

static const char *intern(tear_debug *d, const uint8_t *s, size_t n)
{
    for (size_t i = 0; i < d->n_sources; i++)
        if (strlen(d->sources[i]) == n && !memcmp(d->sources[i], s, n))
            return d->sources[i];
    char **ns = realloc(d->sources, (d->n_sources + 1) * sizeof *ns);
    if (!ns)
        return NULL;
    d->sources = ns;
    char *c = malloc(n + 1);
    if (!c)
        return NULL;
    memcpy(c, s, n);
    c[n] = 0;
    d->sources[d->n_sources++] = c;
    return c;
}

static int parse(tear_debug *d, const capfile *cf, const uint8_t *comp, size_t len)
{
    rd r = {comp, len, 0, 0};
    unsigned n_strings = get(&r, 2);
    size_t *str_at = calloc(n_strings ? n_strings : 1, sizeof *str_at);
    uint16_t *str_len = calloc(n_strings ? n_strings : 1, sizeof *str_len);
    int rc = -1;
    if (!str_at || !str_len)
        goto out;
    for (unsigned i = 0; i < n_strings && !r.bad; i++) {
        str_len[i] = (uint16_t)get(&r, 2);
        str_at[i] = r.at;
        skip(&r, str_len[i]);
    }
    (void)get(&r, 2);                       /* package name */
    unsigned n_classes = get(&r, 2);
    for (unsigned c = 0; c < n_classes && !r.bad; c++) {
        skip(&r, 8);                         /* name, access, location, superclass */
        unsigned src = get(&r, 2);
        unsigned n_if = get(&r, 1), n_fields = get(&r, 2), n_methods = get(&r, 2);
        skip(&r, 2u * n_if + 10u * n_fields);
        const char *source = src < n_strings ? intern(d, comp + str_at[src], str_len[src]) : NULL;
        for (unsigned m = 0; m < n_methods && !r.bad; m++) {
            skip(&r, 6);                     /* name, descriptor, access */
            uint16_t location = (uint16_t)get(&r, 2);
            skip(&r, 3);                     /* header_size, body_size */
            unsigned n_vars = get(&r, 2), n_lines = get(&r, 2);
            skip(&r, 9u * n_vars);
            for (unsigned l = 0; l < n_lines && !r.bad; l++) {
                if (d->n == d->cap) {
                    size_t nc = d->cap ? 2 * d->cap : 64;
                    tear_debug_line *nl = realloc(d->lines, nc * sizeof *nl);
                    if (!nl)
                        goto out;
                    d->lines = nl;
                    d->cap = nc;
                }
                tear_debug_line *e = &d->lines[d->n];
                memcpy(e->aid, cf->pkg_aid, sizeof e->aid);
                e->aid_len = cf->pkg_aid_len;
                e->method = location;
                e->start_pc = (uint16_t)get(&r, 2);
                e->end_pc = (uint16_t)get(&r, 2);
                e->line = (uint16_t)get(&r, 2);
                e->source = source;
                if (!r.bad)
                    d->n++;
            }
        }
    }
    rc = r.bad ? -1 : 0;
out:
    free(str_at);
    free(str_len);
    return rc;
}

int tear_debug_add_cap(tear_debug *d, const uint8_t *zip, size_t len)
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

const tear_debug_line *tear_debug_find(const tear_debug *d, const uint8_t *aid, size_t aid_len, uint16_t method,
                                       uint16_t pc)
{
    const tear_debug_line *best = NULL;
    for (size_t i = 0; i < d->n; i++) {
        const tear_debug_line *e = &d->lines[i];
        if (e->method != method || e->aid_len != aid_len || memcmp(e->aid, aid, aid_len) || pc < e->start_pc ||
            pc > e->end_pc)
            continue;
        if (!best || e->end_pc - e->start_pc < best->end_pc - best->start_pc)
            best = e;
    }
    return best;
}

void tear_debug_free(tear_debug *d)
{
    for (size_t i = 0; i < d->n_sources; i++)
        free(d->sources[i]);
    free(d->sources);
    free(d->lines);
    memset(d, 0, sizeof *d);
}
