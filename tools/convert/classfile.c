/*
 * classfile.c — the JVM class file reader (classfile.h).
 */
#include "classfile.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct rd {
    const uint8_t *p;
    size_t len, at;
    int bad;
} rd;

static unsigned u1(rd *r)
{
    if (r->at + 1 > r->len) {
        r->bad = 1;
        return 0;
    }
    return r->p[r->at++];
}

static unsigned u2(rd *r)
{
    unsigned hi = u1(r);
    return (hi << 8) | u1(r);
}

static uint32_t u4(rd *r)
{
    uint32_t hi = u2(r);
    return (hi << 16) | u2(r);
}

static int skip(rd *r, size_t n)
{
    if (r->at + n > r->len || r->at + n < r->at) {
        r->bad = 1;
        return -1;
    }
    r->at += n;
    return 0;
}

const char *cf_utf8(const cf_class *c, unsigned index)
{
    if (index == 0 || index >= c->cp_count || c->cp[index].tag != CF_UTF8)
        return NULL;
    return c->cp[index].utf8;
}

const char *cf_class_name(const cf_class *c, unsigned index)
{
    if (index == 0 || index >= c->cp_count || c->cp[index].tag != CF_CLASS)
        return NULL;
    return cf_utf8(c, c->cp[index].a);
}

int cf_member_ref(const cf_class *c, unsigned index, const char **owner, const char **name, const char **desc)
{
    if (index == 0 || index >= c->cp_count)
        return -1;
    const cf_const *k = &c->cp[index];
    if (k->tag != CF_FIELDREF && k->tag != CF_METHODREF && k->tag != CF_IMETHODREF)
        return -1;
    *owner = cf_class_name(c, k->a);
    if (k->b == 0 || k->b >= c->cp_count || c->cp[k->b].tag != CF_NAMETYPE)
        return -1;
    *name = cf_utf8(c, c->cp[k->b].a);
    *desc = cf_utf8(c, c->cp[k->b].b);
    return (*owner && *name && *desc) ? 0 : -1;
}

unsigned cf_line_of(const cf_method *m, unsigned pc)
{
    unsigned best = 0, best_pc = 0;
    for (unsigned i = 0; i < m->n_lines; i++)
        if (m->lines[i].pc <= pc && (best == 0 || m->lines[i].pc >= best_pc)) {
            best = m->lines[i].line;
            best_pc = m->lines[i].pc;
        }
    return best;
}

static int fail(char *err, size_t errlen, const char *what, size_t at)
{
    snprintf(err, errlen, "class file: %s (at byte %zu)", what, at);
    return -1;
}

static int read_code(cf_class *c, rd *r, uint32_t alen, cf_method *m, char *err, size_t errlen)
{
    size_t end = r->at + alen;
    m->has_code = 1;
    m->max_stack = (uint16_t)u2(r);
    m->max_locals = (uint16_t)u2(r);
    m->code_len = u4(r);
    if (r->bad || m->code_len == 0 || m->code_len > 65535 || r->at + m->code_len > end)
        return fail(err, errlen, "bad Code attribute", r->at);
    m->code = r->p + r->at;
    skip(r, m->code_len);
    m->n_handlers = u2(r);
    m->handlers = calloc(m->n_handlers + 1, sizeof *m->handlers);
    if (!m->handlers)
        return fail(err, errlen, "out of memory", r->at);
    for (unsigned i = 0; i < m->n_handlers; i++) {
        m->handlers[i].start = (uint16_t)u2(r);
        m->handlers[i].end = (uint16_t)u2(r);
        m->handlers[i].handler = (uint16_t)u2(r);
        m->handlers[i].catch_type = (uint16_t)u2(r);
        if (m->handlers[i].start >= m->handlers[i].end || m->handlers[i].end > m->code_len ||
            m->handlers[i].handler >= m->code_len ||
            (m->handlers[i].catch_type && !cf_class_name(c, m->handlers[i].catch_type)))
            return fail(err, errlen, "bad exception table entry", r->at);
    }
    unsigned na = u2(r);
    for (unsigned i = 0; i < na && !r->bad; i++) {
        const char *an = cf_utf8(c, u2(r));
        uint32_t l = u4(r);
        size_t next = r->at + l;
        if (next > end)
            return fail(err, errlen, "attribute beyond Code", r->at);
        if (an && !strcmp(an, "LineNumberTable")) {
            unsigned n = u2(r);
            cf_line *lines = realloc(m->lines, (m->n_lines + n + 1) * sizeof *lines);
            if (!lines)
                return fail(err, errlen, "out of memory", r->at);
            m->lines = lines;
            for (unsigned k = 0; k < n; k++) {
                lines[m->n_lines].pc = (uint16_t)u2(r);
                lines[m->n_lines++].line = (uint16_t)u2(r);
            }
        } else if (an && !strcmp(an, "LocalVariableTable")) {
            unsigned n = u2(r);
            cf_local *lv = realloc(m->locals, (m->n_locals + n + 1) * sizeof *lv);
            if (!lv)
                return fail(err, errlen, "out of memory", r->at);
            m->locals = lv;
            for (unsigned k = 0; k < n; k++) {
                cf_local *x = &lv[m->n_locals++];
                x->start = (uint16_t)u2(r);
                x->length = (uint16_t)u2(r);
                x->name = cf_utf8(c, u2(r));
                x->desc = cf_utf8(c, u2(r));
                x->index = (uint16_t)u2(r);
                if (!x->name || !x->desc)
                    return fail(err, errlen, "bad LocalVariableTable", r->at);
            }
        }
        if (r->bad || r->at > next)
            return fail(err, errlen, "bad attribute in Code", r->at);
        r->at = next;
    }
    if (r->bad || r->at != end)
        return fail(err, errlen, "bad Code attribute length", r->at);
    return 0;
}

int cf_parse(uint8_t *bytes, size_t len, cf_class *c, char *err, size_t errlen)
{
    memset(c, 0, sizeof *c);
    c->bytes = bytes;
    c->len = len;
    rd r = {bytes, len, 0, 0};
    if (u4(&r) != 0xCAFEBABEu)
        return fail(err, errlen, "not a class file (magic)", 0);
    u2(&r);
    c->major = (uint16_t)u2(&r);
    if (c->major < 45 || c->major > 61)
        return fail(err, errlen, "class file version not supported (45..61: Java 1.1 to 17)", 6);
    c->cp_count = u2(&r);
    if (c->cp_count == 0)
        return fail(err, errlen, "empty constant pool", r.at);
    c->cp = calloc(c->cp_count, sizeof *c->cp);
    if (!c->cp)
        return fail(err, errlen, "out of memory", r.at);
    for (unsigned i = 1; i < c->cp_count; i++) {
        cf_const *k = &c->cp[i];
        k->tag = (uint8_t)u1(&r);
        switch (k->tag) {
        case CF_UTF8: {
            unsigned n = u2(&r);
            if (r.bad || r.at + n > len)
                return fail(err, errlen, "truncated constant pool", r.at);
            k->utf8 = malloc(n + 1);
            if (!k->utf8)
                return fail(err, errlen, "out of memory", r.at);
            memcpy(k->utf8, bytes + r.at, n);
            k->utf8[n] = '\0';
            r.at += n;
            break;
        }
        case CF_INTEGER: k->value = (int32_t)u4(&r); break;
        case CF_FLOAT: u4(&r); break;
        case CF_LONG:
        case CF_DOUBLE:
            u4(&r);
            u4(&r);
            i++;
            break;
        case CF_CLASS:
        case CF_STRING:
        case CF_METHODTYPE:
        case CF_MODULE:
        case CF_PACKAGE: k->a = (uint16_t)u2(&r); break;
        case CF_FIELDREF:
        case CF_METHODREF:
        case CF_IMETHODREF:
        case CF_NAMETYPE:
        case CF_DYNAMIC:
        case CF_INVOKEDYNAMIC:
            k->a = (uint16_t)u2(&r);
            k->b = (uint16_t)u2(&r);
            break;
        case CF_METHODHANDLE:
            u1(&r);
            k->a = (uint16_t)u2(&r);
            break;
        default: return fail(err, errlen, "unknown constant-pool tag", r.at);
        }
        if (r.bad)
            return fail(err, errlen, "truncated constant pool", r.at);
    }
    c->flags = (uint16_t)u2(&r);
    c->name = cf_class_name(c, u2(&r));
    unsigned sup = u2(&r);
    c->super_name = sup ? cf_class_name(c, sup) : NULL;
    if (!c->name || (sup && !c->super_name))
        return fail(err, errlen, "bad this_class or super_class", r.at);
    c->n_interfaces = u2(&r);
    c->interfaces = calloc(c->n_interfaces + 1, sizeof *c->interfaces);
    if (!c->interfaces)
        return fail(err, errlen, "out of memory", r.at);
    for (unsigned i = 0; i < c->n_interfaces; i++)
        if (!(c->interfaces[i] = cf_class_name(c, u2(&r))))
            return fail(err, errlen, "bad interface index", r.at);
    c->n_fields = u2(&r);
    c->fields = calloc(c->n_fields + 1, sizeof *c->fields);
    if (!c->fields)
        return fail(err, errlen, "out of memory", r.at);
    for (unsigned i = 0; i < c->n_fields && !r.bad; i++) {
        cf_field *f = &c->fields[i];
        f->flags = (uint16_t)u2(&r);
        f->name = cf_utf8(c, u2(&r));
        f->desc = cf_utf8(c, u2(&r));
        if (!f->name || !f->desc)
            return fail(err, errlen, "bad field name or descriptor", r.at);
        unsigned na = u2(&r);
        for (unsigned k = 0; k < na && !r.bad; k++) {
            const char *an = cf_utf8(c, u2(&r));
            uint32_t l = u4(&r);
            if (an && !strcmp(an, "ConstantValue") && l == 2) {
                f->has_value = 1;
                f->value_index = (uint16_t)u2(&r);
            } else if (skip(&r, l)) {
                break;
            }
        }
    }
    c->n_methods = u2(&r);
    c->methods = calloc(c->n_methods + 1, sizeof *c->methods);
    if (!c->methods)
        return fail(err, errlen, "out of memory", r.at);
    for (unsigned i = 0; i < c->n_methods && !r.bad; i++) {
        cf_method *m = &c->methods[i];
        m->flags = (uint16_t)u2(&r);
        m->name = cf_utf8(c, u2(&r));
        m->desc = cf_utf8(c, u2(&r));
        if (!m->name || !m->desc)
            return fail(err, errlen, "bad method name or descriptor", r.at);
        unsigned na = u2(&r);
        for (unsigned k = 0; k < na && !r.bad; k++) {
            const char *an = cf_utf8(c, u2(&r));
            uint32_t l = u4(&r);
            if (r.bad || r.at + l > len)
                return fail(err, errlen, "truncated method attribute", r.at);
            if (an && !strcmp(an, "Code") && !m->has_code) {
                if (read_code(c, &r, l, m, err, errlen))
                    return -1;
            } else {
                skip(&r, l);
            }
        }
    }
    unsigned na = u2(&r);
    for (unsigned k = 0; k < na && !r.bad; k++) {
        const char *an = cf_utf8(c, u2(&r));
        uint32_t l = u4(&r);
        if (an && !strcmp(an, "SourceFile") && l == 2)
            c->source_file = cf_utf8(c, u2(&r));
        else
            skip(&r, l);
    }
    if (r.bad)
        return fail(err, errlen, "truncated", r.at);
    return 0;
}

void cf_free(cf_class *c)
{
    if (c->cp)
        for (unsigned i = 0; i < c->cp_count; i++)
            free(c->cp[i].utf8);
    for (unsigned i = 0; c->methods && i < c->n_methods; i++) {
        free(c->methods[i].handlers);
        free(c->methods[i].lines);
        free(c->methods[i].locals);
    }
    free(c->cp);
    free(c->interfaces);
    free(c->fields);
    free(c->methods);
    free(c->bytes);
    memset(c, 0, sizeof *c);
}
