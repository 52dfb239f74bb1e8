/*
 * jca_disasm.c — CAP -> JCA (tools/jca/jca.h).
 *
 * A CAP file carries no names: classes, methods and fields are offsets and
 * tokens. The Descriptor component gives each one's access flags and type,
 * so the disassembler needs it (it refuses a CAP without it) and invents
 * names from what identifies each member on the card:
 *   classes          C<class offset>
 *   virtual methods  v<token> (public), p<token> (package-visible)
 *   other methods    <init>, install (the applet's), m<method offset>
 *   instance fields  f<token>;  static fields  s<static image offset>
 * External classes get their API name from vm/api_tokens.h when the import
 * is a built-in API package ("javacard/framework/APDU"), else pkg<P>/C<C>.
 * Comments give each instruction's bytecode pc and what each constant-pool
 * operand names.
 *
 * The text is laid out so that jca_assemble() rebuilds the same components:
 * classes in Class component order, each class's methods in Method
 * component order, static fields by image offset, a `.descriptor` line for
 * each external class a signature names, `.capFormat` for CAP 2.2.
 */
#include "jca.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_tokens.h"
#include "cap_format.h"
#include "opcodes.h"

typedef struct text {
    char *s;
    size_t n, cap;
    int oom;
} text;

static void out(text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void out(text *t, const char *fmt, ...)
{
    if (t->oom)
        return;
    va_list ap;
    for (;;) {
        va_start(ap, fmt);
        int n = vsnprintf(t->s ? t->s + t->n : NULL, t->s ? t->cap - t->n : 0, fmt, ap);
        va_end(ap);
        if (n < 0) {
            t->oom = 1;
            return;
        }
        if (t->s && t->n + (size_t)n < t->cap) {
            t->n += (size_t)n;
            return;
        }
        size_t nc = t->cap ? t->cap * 2 : 4096;
        while (nc < t->n + (size_t)n + 1)
            nc *= 2;
        char *x = realloc(t->s, nc);
        if (!x) {
            t->oom = 1;
            return;
        }
        t->s = x;
        t->cap = nc;
    }
}

typedef struct dclass {
    uint8_t token, acc;
    uint16_t offset;
    uint8_t nif;
    uint16_t nf, nm;
    const uint8_t *ifaces, *fields, *methods;
} dclass;

typedef struct extname {
    int pkg, cls;
    char name[160];
} extname;

/* Names from a Debug component (CAP 2.2 with -debug), when there is one. */
typedef struct dbg_name {
    uint8_t kind;            /* 'c' class, 'm' method, 'i' instance field, 's' static field,
                                'k' compile-time constant (in no other component) */
    uint16_t cls;            /* class offset */
    uint16_t key;            /* method offset, field token, static offset; constants: access flags */
    char name[96];
    char type;               /* constants: Z B S I */
    int32_t value;           /* constants */
} dbg_name;

/* Source files and line tables from a Debug component, printed back as
 * `.sourceFile` and `.line` (docs/jca.md) so that asm(disasm(cap)) keeps
 * them. */
typedef struct dbg_source {
    uint16_t cls;            /* class offset */
    char name[96];
} dbg_source;
typedef struct dbg_line {
    uint16_t method;         /* method_info offset */
    uint16_t start_pc, line;
} dbg_line;

typedef struct dis {
    dbg_name *names;
    int nnames;
    dbg_source *sources;
    int nsources;
    dbg_line *lines;
    int nlines;
    cap_view v;
    char pkg[256];
    dclass *classes;
    int nclasses;
    const uint8_t *cp_types;     /* u2 per CP entry */
    const uint8_t *types;        /* type_descriptor_info start (offsets are from here) */
    size_t types_len;
    extname *ext;
    int next, maxext;
    char *err;
    size_t errlen;
} dis;

static uint16_t be16(const uint8_t *p)
{
    return (uint16_t)((p[0] << 8) | p[1]);
}

static const char *dbg_lookup(const dis *d, char kind, uint16_t cls, uint16_t key)
{
    for (int i = 0; i < d->nnames; i++)
        if (d->names[i].kind == kind && d->names[i].cls == cls && d->names[i].key == key)
            return d->names[i].name;
    return NULL;
}

/* A name usable as a JCA word: letters, digits, '_', '$', '<', '>'. */
static int plain_name(const uint8_t *s, unsigned n)
{
    if (n == 0 || n >= 96)
        return 0;
    for (unsigned i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') ||
              s[i] == '_' || s[i] == '$' || s[i] == '<' || s[i] == '>'))
            return 0;
    return 1;
}

static dbg_name *dbg_add(dis *d, char kind, uint16_t cls, uint16_t key, const uint8_t *s, unsigned n)
{
    /* the simple name: after the last '/' or '.' */
    unsigned b = 0;
    for (unsigned i = 0; i < n; i++)
        if (s[i] == '/' || s[i] == '.')
            b = i + 1;
    if (!plain_name(s + b, n - b) || (kind != 'k' && dbg_lookup(d, kind, cls, key)))
        return NULL;
    /* two classes, or two fields of a class, with one name: keep the
     * invented names (the text must name each once) */
    for (int i = 0; i < d->nnames; i++)
        if (d->names[i].kind == kind && (kind == 'c' || d->names[i].cls == cls) && kind != 'm' &&
            strlen(d->names[i].name) == n - b && memcmp(d->names[i].name, s + b, n - b) == 0)
            return NULL;
    dbg_name *x = realloc(d->names, (size_t)(d->nnames + 1) * sizeof *x);
    if (!x)
        return NULL;
    d->names = x;
    dbg_name *e = &d->names[d->nnames++];
    e->kind = (uint8_t)kind;
    e->cls = cls;
    e->key = key;
    memcpy(e->name, s + b, n - b);
    e->name[n - b] = 0;
    e->type = 0;
    e->value = 0;
    return e;
}

/* A source file name usable as one JCA word. */
static int plain_source(const uint8_t *s, unsigned n)
{
    if (n == 0 || n >= 96)
        return 0;
    for (unsigned i = 0; i < n; i++)
        if (s[i] <= ' ' || s[i] == ';' || s[i] == '{' || s[i] == '}' || s[i] == '/' || s[i] >= 0x7F)
            return 0;
    return 1;
}

/* Read the Debug component's names (JCVM 3.0.5 §6.14); anything that does
 * not add up leaves the invented names in place. */
static void dbg_read(dis *d, const uint8_t *p, size_t n)
{
    if (!p || n < 2)
        return;
    unsigned count = be16(p);
    size_t at = 2;
    const uint8_t **str = calloc(count + 1u, sizeof *str);
    unsigned *len = calloc(count + 1u, sizeof *len);
    if (!str || !len)
        goto out;
    for (unsigned i = 0; i < count; i++) {
        if (at + 2 > n)
            goto out;
        len[i] = be16(p + at);
        str[i] = p + at + 2;
        at += 2 + len[i];
        if (at > n)
            goto out;
    }
    if (at + 4 > n)
        goto out;
    unsigned ncls = be16(p + at + 2);
    at += 4;
    for (unsigned c = 0; c < ncls; c++) {
        if (at + 15 > n)
            goto out;
        unsigned name = be16(p + at), loc = be16(p + at + 4), nif = p[at + 10], nf = be16(p + at + 11),
                 nm = be16(p + at + 13);
        if (name < count)
            dbg_add(d, 'c', (uint16_t)loc, 0, str[name], len[name]);
        unsigned src = be16(p + at + 8);
        if (src < count && plain_source(str[src], len[src])) {
            dbg_source *ns = realloc(d->sources, (size_t)(d->nsources + 1) * sizeof *ns);
            if (ns) {
                d->sources = ns;
                ns[d->nsources].cls = (uint16_t)loc;
                memcpy(ns[d->nsources].name, str[src], len[src]);
                ns[d->nsources].name[len[src]] = 0;
                d->nsources++;
            }
        }
        at += 15 + 2u * nif;
        for (unsigned f = 0; f < nf; f++) {
            if (at + 10 > n)
                goto out;
            unsigned fname = be16(p + at), fdesc = be16(p + at + 2), acc = be16(p + at + 4);
            const uint8_t *ct = p + at + 6;
            int constant = (acc & 0x18) == 0x18 && fname < count && fdesc < count && len[fdesc] == 1 &&
                           strchr("ZBSI", str[fdesc][0]);
            if (constant) {
                dbg_name *k = dbg_add(d, 'k', (uint16_t)loc, (uint16_t)acc, str[fname], len[fname]);
                if (k) {
                    k->type = (char)str[fdesc][0];
                    k->value = (int32_t)((uint32_t)be16(ct) << 16 | be16(ct + 2));
                }
            } else if (fname < count) {
                if (acc & 0x08)
                    dbg_add(d, 's', (uint16_t)loc, be16(ct + 2), str[fname], len[fname]);
                else
                    dbg_add(d, 'i', (uint16_t)loc, ct[3], str[fname], len[fname]);
            }
            at += 10;
        }
        for (unsigned m = 0; m < nm; m++) {
            if (at + 15 > n)
                goto out;
            unsigned mname = be16(p + at), mloc = be16(p + at + 6), nv = be16(p + at + 11), nl = be16(p + at + 13);
            if (mname < count && mloc != 0)
                dbg_add(d, 'm', (uint16_t)loc, (uint16_t)mloc, str[mname], len[mname]);
            size_t lt = at + 15 + 9u * nv;
            if (mloc != 0 && lt + 6u * nl <= n) {
                dbg_line *nlp = realloc(d->lines, (size_t)(d->nlines + (int)nl + 1) * sizeof *nlp);
                if (nlp) {
                    d->lines = nlp;
                    for (unsigned k = 0; k < nl; k++) {
                        dbg_line *e = &d->lines[d->nlines++];
                        e->method = (uint16_t)mloc;
                        e->start_pc = be16(p + lt + 6 * k);
                        e->line = be16(p + lt + 6 * k + 4);
                    }
                }
            }
            at += 15 + 9u * nv + 6u * nl;
        }
    }
out:
    free(str);
    free(len);
}

static const char *class_name(const dis *d, uint16_t off, char *buf, size_t cap)
{
    const char *n = dbg_lookup(d, 'c', off, 0);
    if (n)   /* a debug name longer than the caller's buffer is cut */
        snprintf(buf, cap, "%.*s", (int)(cap ? cap - 1 : 0), n);
    else
        snprintf(buf, cap, "C%u", off);
    return buf;
}

/* An instance field (by token) or a static field (by image offset) of class cls. */
static const char *field_name(const dis *d, uint16_t cls, int is_static, unsigned key, char *buf, size_t cap)
{
    const char *n = dbg_lookup(d, is_static ? 's' : 'i', cls, (uint16_t)key);
    if (n)
        snprintf(buf, cap, "%s", n);
    else
        snprintf(buf, cap, "%c%u", is_static ? 's' : 'f', key);
    return buf;
}

static const dclass *class_at(const dis *d, uint16_t off)
{
    for (int i = 0; i < d->nclasses; i++)
        if (d->classes[i].offset == off)
            return &d->classes[i];
    return NULL;
}

static const char *ext_class_name(dis *d, int pkg, int cls)
{
    for (int i = 0; i < d->next; i++)
        if (d->ext[i].pkg == pkg && d->ext[i].cls == cls)
            return d->ext[i].name;
    if (d->next == d->maxext) {
        int nm = d->maxext ? d->maxext * 2 : 32;
        extname *x = realloc(d->ext, (size_t)nm * sizeof *x);
        if (!x)
            return "?";
        d->ext = x;
        d->maxext = nm;
    }
    extname *e = &d->ext[d->next++];
    e->pkg = pkg;
    e->cls = cls;
    const jc_api_package *ap = pkg < d->v.import_count
                                   ? jc_api_find_package(d->v.imports[pkg].aid.b, d->v.imports[pkg].aid.len)
                                   : NULL;
    const jc_api_class *ac = ap ? jc_api_class_by_token(ap, (uint8_t)cls) : NULL;
    if (ac && ac->name)
        snprintf(e->name, sizeof e->name, "%s", ac->name);
    else
        snprintf(e->name, sizeof e->name, "pkg%d/C%d", pkg, cls);
    return e->name;
}

/* The class_ref as JCA writes a class: internal name or P.C. */
static void class_word(const dis *d, uint16_t ref, char *buf, size_t cap)
{
    if (CAP_REF_EXTERNAL(ref))
        snprintf(buf, cap, "%u.%u", CAP_REF_PKG_TOKEN(ref), CAP_REF_CLASS_TOKEN(ref));
    else
        class_name(d, ref, buf, cap);
}

/* Decode the type descriptor at offset `off` (from type_descriptor_info)
 * into a list of types. as_sig: "(args)ret" JVM form; else a JCA field
 * type word ("short", "byte[]", "C12", "0.10[]"). */
static int decode_type(dis *d, unsigned off, int as_sig, char *buf, size_t cap)
{
    if (off + 1 > d->types_len)
        return -1;
    const uint8_t *p = d->types + off;
    unsigned nn = p[0];
    if (off + 1 + (nn + 1) / 2 > d->types_len)
        return -1;
    uint8_t nib[512];
    for (unsigned i = 0; i < nn; i++)
        nib[i] = (uint8_t)((i & 1) ? p[1 + i / 2] & 15 : p[1 + i / 2] >> 4);
    size_t at = 0;
    buf[0] = 0;
    unsigned ntypes = 0;
    /* count types to know which is the result */
    for (unsigned i = 0; i < nn; ntypes++) {
        i += (nib[i] == 6 || nib[i] == 0xE) ? 5 : 1;
    }
    unsigned k = 0;
#define APPEND(...)                                                   \
    do {                                                              \
        int w_ = snprintf(buf + at, cap > at ? cap - at : 0, __VA_ARGS__); \
        if (w_ < 0 || at + (size_t)w_ >= cap)                         \
            return -1;                                                \
        at += (size_t)w_;                                             \
    } while (0)
    if (as_sig)
        APPEND("(");
    for (unsigned i = 0; i < nn; k++) {
        if (as_sig && k == ntypes - 1)
            APPEND(")");
        uint8_t c = nib[i];
        int arr = c >= 0xA;
        if (c == 6 || c == 0xE) {
            if (i + 4 >= nn)
                return -1;
            uint16_t ref = (uint16_t)((nib[i + 1] << 12) | (nib[i + 2] << 8) | (nib[i + 3] << 4) | nib[i + 4]);
            if (as_sig) {
                if (CAP_REF_EXTERNAL(ref))
                    APPEND("%sL%s;", arr ? "[" : "", ext_class_name(d, CAP_REF_PKG_TOKEN(ref), CAP_REF_CLASS_TOKEN(ref)));
                else {
                    char cn[100];
                    APPEND("%sL%s/%s;", arr ? "[" : "", d->pkg, class_name(d, ref, cn, sizeof cn));
                }
            } else {
                char w[32];
                class_word(d, ref, w, sizeof w);
                if (CAP_REF_EXTERNAL(ref))
                    ext_class_name(d, CAP_REF_PKG_TOKEN(ref), CAP_REF_CLASS_TOKEN(ref));
                APPEND("%s%s", w, arr ? "[]" : "");
            }
            i += 5;
            continue;
        }
        static const char *const sig_letter[16] = { [1] = "V", [2] = "Z", [3] = "B", [4] = "S", [5] = "I",
                                                   [0xA] = "[Z", [0xB] = "[B", [0xC] = "[S", [0xD] = "[I" };
        static const char *const word_name[16] = { [1] = "void", [2] = "boolean", [3] = "byte", [4] = "short",
                                                  [5] = "int", [0xA] = "boolean[]", [0xB] = "byte[]",
                                                  [0xC] = "short[]", [0xD] = "int[]" };
        if (!sig_letter[c])
            return -1;
        APPEND("%s", as_sig ? sig_letter[c] : word_name[c]);
        i++;
    }
#undef APPEND
    return 0;
}

static int virtual_name(dis *d, uint16_t cls, unsigned tok, char *name, size_t ncap, char *sig, size_t scap);
static int api_virtual_name(dis *d, const cap_class *k, unsigned tok, char *name, size_t ncap, char *sig,
                            size_t scap);
static int method_sig(dis *d, const uint8_t *m, char *buf, size_t cap);

/* ---- members by offset / token ---- */

typedef struct mref {
    const dclass *cls;
    const uint8_t *m;            /* method_descriptor_info (12 bytes) */
} mref;

static mref method_at(const dis *d, uint16_t off)
{
    mref r = { NULL, NULL };
    for (int i = 0; i < d->nclasses; i++) {
        const dclass *c = &d->classes[i];
        if (c->acc & 0x40)
            continue;
        for (unsigned k = 0; k < c->nm; k++)
            if (be16(c->methods + 12 * k + 2) == off) {
                r.cls = c;
                r.m = c->methods + 12 * k;
                return r;
            }
    }
    return r;
}

static int is_install(const dis *d, uint16_t off)
{
    for (unsigned i = 0; i < d->v.applet_count; i++)
        if (d->v.applets[i].install_offset == off)
            return 1;
    return 0;
}

static void method_name(dis *d, const dclass *c, const uint8_t *m, char *buf, size_t cap)
{
    uint8_t tok = m[0], acc = m[1];
    uint16_t off = be16(m + 2);
    const char *dn = !(c->acc & 0x40) && !(acc & 0x40) ? dbg_lookup(d, 'm', c->offset, off) : NULL;
    if (dn) {
        snprintf(buf, cap, "%s", dn);
        return;
    }
    if (tok != 0xFF && !(tok & 0x80) && !(acc & 0x88) && !(c->acc & 0x40)) {
        /* an override of an API method: the API's name, when the types agree */
        const cap_class *k = cap_class_at(&d->v, c->offset);
        while (k && !CAP_REF_EXTERNAL(k->super_ref) && k->super_ref != 0xFFFF)
            k = cap_class_at(&d->v, k->super_ref);
        char an[160], as[512], ms[512];
        if (k && CAP_REF_EXTERNAL(k->super_ref) && api_virtual_name(d, k, tok, an, sizeof an, as, sizeof as) == 0 &&
            method_sig(d, m, ms, sizeof ms) == 0 && strcmp(as, ms) == 0) {
            snprintf(buf, cap, "%s", an);
            return;
        }
    }
    if (acc & 0x80)
        snprintf(buf, cap, "<init>");
    else if (!(c->acc & 0x40) && (acc & 0x08) && is_install(d, off))
        snprintf(buf, cap, "install");
    else if (tok != 0xFF && !(acc & 0x08))
        snprintf(buf, cap, "%c%u", (tok & 0x80) ? 'p' : 'v', tok & 0x7Fu);
    else
        snprintf(buf, cap, "m%u", off);
}

static int method_sig(dis *d, const uint8_t *m, char *buf, size_t cap)
{
    return decode_type(d, be16(m + 4), 1, buf, cap);
}

/* The static field at image offset `off`: its class, or NULL. */
static const dclass *static_field_class(const dis *d, uint16_t off)
{
    for (int i = 0; i < d->nclasses; i++) {
        const dclass *c = &d->classes[i];
        for (unsigned k = 0; k < c->nf; k++) {
            const uint8_t *f = c->fields + 7 * k;
            if ((f[1] & 0x08) && be16(f + 3) == off)
                return c;
        }
    }
    return NULL;
}


/* ---- the constant pool, in words and comments ---- */

static int cp_entry(dis *d, unsigned i, char *words, size_t wcap, char *comment, size_t ccap)
{
    const uint8_t *e = d->v.cp + 4 * i;
    unsigned tyoff = be16(d->cp_types + 2 * i);
    char ty[512] = "", cw[64];
    comment[0] = 0;
    static const char *const kind[] = { "", "classRef", "instanceFieldRef", "virtualMethodRef", "superMethodRef",
                                        "staticFieldRef", "staticMethodRef" };
    if (e[0] < 1 || e[0] > 6)
        return -1;
    uint16_t ref = be16(e + 1);
    if (e[0] == CAP_CP_CLASSREF) {
        class_word(d, ref, cw, sizeof cw);
        snprintf(words, wcap, "classRef %s", cw);
        if (CAP_REF_EXTERNAL(ref))
            snprintf(comment, ccap, "%s", ext_class_name(d, CAP_REF_PKG_TOKEN(ref), CAP_REF_CLASS_TOKEN(ref)));
        return 0;
    }
    int field = e[0] == CAP_CP_INSTANCE_FIELDREF || e[0] == CAP_CP_STATIC_FIELDREF;
    if (tyoff == 0xFFFF || decode_type(d, tyoff, !field, ty, sizeof ty) != 0)
        return -1;
    int ext = (e[0] == CAP_CP_STATIC_FIELDREF || e[0] == CAP_CP_STATIC_METHODREF) ? (e[1] & 0x80) != 0
                                                                                 : CAP_REF_EXTERNAL(ref);
    if (ext) {
        unsigned pk = e[1] & 0x7Fu, cl = e[2], tk = e[3];
        if (field)
            snprintf(words, wcap, "%s %s %u.%u.%u", kind[e[0]], ty, pk, cl, tk);
        else
            snprintf(words, wcap, "%s %u.%u.%u%s", kind[e[0]], pk, cl, tk, ty);
        /* name the API member when the card knows it */
        const jc_api_package *ap =
            pk < d->v.import_count ? jc_api_find_package(d->v.imports[pk].aid.b, d->v.imports[pk].aid.len) : NULL;
        const jc_api_class *ac = ap ? jc_api_class_by_token(ap, (uint8_t)cl) : NULL;
        if (ac && ac->name) {
            const char *mn = NULL, *md = "";
            if (field) {
                for (unsigned k = 0; k < ac->field_count; k++)
                    if (ac->fields[k].token == tk &&
                        (ac->fields[k].kind == JC_STATIC_FIELD) == (e[0] == CAP_CP_STATIC_FIELDREF)) {
                        mn = ac->fields[k].name;
                        break;
                    }
            } else {
                static const uint8_t kinds_static[] = { JC_STATIC_METHOD, JC_CONSTRUCTOR };
                const jc_api_method *am = NULL;
                if (e[0] == CAP_CP_STATIC_METHODREF) {
                    for (size_t k = 0; k < 2 && !am; k++)
                        am = jc_api_method_by_token(ac, (uint8_t)tk, kinds_static[k]);
                } else {
                    am = jc_api_method_by_token(ac, (uint8_t)tk, JC_VIRTUAL_METHOD);
                }
                if (am) {
                    mn = am->name;
                    md = am->desc;
                }
            }
            snprintf(comment, ccap, "%s.%s%s", ac->name, mn ? mn : "?", md);
        }
        return 0;
    }
    if (field) {
        if (e[0] == CAP_CP_INSTANCE_FIELDREF) {
            char cn[100], fn[100];
            snprintf(words, wcap, "%s %s %s/%s", kind[e[0]], ty, class_name(d, ref, cn, sizeof cn),
                     field_name(d, ref, 0, e[3], fn, sizeof fn));
        } else {
            uint16_t off = be16(e + 2);
            const dclass *c = static_field_class(d, off);
            if (!c)
                return -1;
            char cn[100], fn[100];
            snprintf(words, wcap, "%s %s %s/%s", kind[e[0]], ty, class_name(d, c->offset, cn, sizeof cn),
                     field_name(d, c->offset, 1, off, fn, sizeof fn));
        }
        return 0;
    }
    if (e[0] == CAP_CP_STATIC_METHODREF) {
        mref m = method_at(d, be16(e + 2));
        char mn[64];
        if (!m.m)
            return -1;
        method_name(d, m.cls, m.m, mn, sizeof mn);
        char cn[100];
        snprintf(words, wcap, "%s %s/%s%s", kind[e[0]], class_name(d, m.cls->offset, cn, sizeof cn), mn, ty);
        return 0;
    }
    /* virtual or super: the token names the method */
    char vn[160], vs[512], cn[100];
    class_name(d, ref, cn, sizeof cn);
    if (virtual_name(d, ref, e[3], vn, sizeof vn, vs, sizeof vs) == 0 && strcmp(vs, ty) == 0)
        snprintf(words, wcap, "%s %s/%s%s", kind[e[0]], cn, vn, ty);
    else
        snprintf(words, wcap, "%s %s/%c%u%s", kind[e[0]], cn, (e[3] & 0x80) ? 'p' : 'v', e[3] & 0x7Fu, ty);
    return 0;
}

/* The name of virtual method `tok` as seen from the internal class at
 * class offset `cls`: a method of the package with that token in the class
 * chain (v<t>/p<t>), else the API method of the external superclass with
 * that token (its real name and descriptor), else NULL. */
static int virtual_name(dis *d, uint16_t cls, unsigned tok, char *name, size_t ncap, char *sig, size_t scap)
{
    const cap_class *k = cap_class_at(&d->v, cls);
    while (k) {
        const dclass *dc = class_at(d, k->offset);
        for (unsigned i = 0; dc && i < dc->nm; i++) {
            const uint8_t *m = dc->methods + 12 * i;
            if (m[0] == tok && !(m[1] & 0x08) && !(m[1] & 0x80)) {
                method_name(d, dc, m, name, ncap);
                return method_sig(d, m, sig, scap);
            }
        }
        if (k->super_ref == 0xFFFF)
            return -1;
        if (CAP_REF_EXTERNAL(k->super_ref))
            break;
        k = cap_class_at(&d->v, k->super_ref);
    }
    if (!k || (tok & 0x80))
        return -1;
    return api_virtual_name(d, k, tok, name, ncap, sig, scap);
}

/* The API method with virtual token `tok` in the external superclass of k
 * (k's super_ref is external). */
static int api_virtual_name(dis *d, const cap_class *k, unsigned tok, char *name, size_t ncap, char *sig, size_t scap)
{
    unsigned pk = CAP_REF_PKG_TOKEN(k->super_ref);
    const jc_api_package *ap =
        pk < d->v.import_count ? jc_api_find_package(d->v.imports[pk].aid.b, d->v.imports[pk].aid.len) : NULL;
    const jc_api_class *ac = ap ? jc_api_class_by_token(ap, CAP_REF_CLASS_TOKEN(k->super_ref)) : NULL;
    for (int depth = 0; ac && depth < 16; depth++) {
        const jc_api_method *am = jc_api_method_by_token(ac, (uint8_t)tok, JC_VIRTUAL_METHOD);
        if (am) {
            snprintf(name, ncap, "%s", am->name);
            snprintf(sig, scap, "%s", am->desc);
            return 0;
        }
        ac = ac->super_name ? jc_api_class_by_name(ac->super_name, NULL) : NULL;
    }
    return -1;
}

/* The signature to write for virtual token `tok` of class c in its method
 * table: a method of the package with that token in c's chain, else a CP
 * reference to the chain with that token, else "()V" (the entry only has to
 * match the constant pool's spelling). */
static void vtable_sig(dis *d, const cap_class *cc, unsigned tok, char *buf, size_t cap)
{
    snprintf(buf, cap, "()V");
    for (const cap_class *k = cc; k;) {
        const dclass *dc = class_at(d, k->offset);
        for (unsigned i = 0; dc && i < dc->nm; i++) {
            const uint8_t *m = dc->methods + 12 * i;
            if (m[0] == tok && !(m[1] & 0x08) && !(m[1] & 0x80)) {
                method_sig(d, m, buf, cap);
                return;
            }
        }
        for (unsigned i = 0; i < d->v.cp_count; i++) {
            const uint8_t *e = d->v.cp + 4 * i;
            if ((e[0] == CAP_CP_VIRTUAL_METHODREF || e[0] == CAP_CP_SUPER_METHODREF) && be16(e + 1) == k->offset &&
                e[3] == tok) {
                decode_type(d, be16(d->cp_types + 2 * i), 1, buf, cap);
                return;
            }
        }
        if (CAP_REF_EXTERNAL(k->super_ref) || k->super_ref == 0xFFFF)
            break;
        k = cap_class_at(&d->v, k->super_ref);
    }
}

/* ---- code ---- */

typedef struct opname {
    const char *name;
    uint8_t fmt;
} opname;

static void op_table(opname t[256])
{
    memset(t, 0, 256 * sizeof *t);
#define OPN(n, code, f, pop, push) t[code].name = #n, t[code].fmt = f;
    VM_OPCODES(OPN) VM_CAP_ONLY_OPCODES(OPN)
#undef OPN
}

static long insn_len(const opname *t, const uint8_t *c, long len, long pc)
{
    const opname *o = &t[c[pc]];
    if (!o->name)
        return 0;
    long n;
    switch (o->fmt) {
    case OPF_NONE: n = 1; break;
    case OPF_S1: case OPF_LOCAL: case OPF_CP1: case OPF_BR1: case OPF_MN: case OPF_ATYPE: n = 2; break;
    case OPF_S2: case OPF_CP2: case OPF_BR2: case OPF_SINC: n = 3; break;
    case OPF_SINCW: case OPF_CAST: n = 4; break;
    case OPF_IFACE: n = 5; break;
    case OPF_TSWITCH:
        if (pc + 7 > len)
            return 0;
        n = 7 + 2 * ((long)(int16_t)be16(c + pc + 5) - (long)(int16_t)be16(c + pc + 3) + 1);
        break;
    case OPF_LSWITCH:
        if (pc + 5 > len)
            return 0;
        n = 5 + 4 * (long)be16(c + pc + 3);
        break;
    default: return 0;
    }
    return pc + n <= len && n > 0 ? n : 0;
}

static int dis_method(dis *d, text *t, const opname *ops, const dclass *c, const uint8_t *m)
{
    char name[64], sig[512];
    method_name(d, c, m, name, sizeof name);
    if (method_sig(d, m, sig, sizeof sig) != 0) {
        snprintf(d->err, d->errlen, "Descriptor: bad method type at %u", be16(m + 4));
        return -1;
    }
    uint8_t tok = m[0], acc = m[1];
    out(t, "\t\t.method %s%s%s%s%s%s%s%s",
        (acc & 1) ? "public " : "", (acc & 2) ? "private " : "", (acc & 4) ? "protected " : "",
        (acc & 8) ? "static " : "", (acc & 0x10) ? "final " : "", (acc & 0x40) ? "abstract " : "", name, sig);
    if (tok != 0xFF)
        out(t, " %u", tok);
    out(t, " {\n");
    if ((c->acc & 0x40) || (acc & 0x40)) {
        out(t, "\t\t}\n\n");
        return 0;
    }
    uint16_t moff = be16(m + 2), count = be16(m + 6), nh = be16(m + 8), hi = be16(m + 10);
    cap_method_header h;
    if (cap_method_header_at(&d->v, moff, &h) != 0 || (size_t)h.code_offset + count > d->v.methods_size) {
        snprintf(d->err, d->errlen, "Method: bad method at offset %u", moff);
        return -1;
    }
    out(t, "\t\t\t.stack %u;\n\t\t\t.locals %u;\n\n", h.max_stack, h.max_locals);
    const uint8_t *code = d->v.methods + h.code_offset;
    long len = count;
    uint8_t *lab = calloc((size_t)len + 1, 1);
    if (!lab)
        return -1;
    for (unsigned k = 0; k < nh && hi + k < d->v.handler_count; k++) {
        const cap_handler *x = &d->v.handlers[hi + k];
        long s = (long)x->start - h.code_offset, e = (long)x->end - h.code_offset,
             hh = (long)x->handler - h.code_offset;
        if (s >= 0 && s <= len) lab[s] = 1;
        if (e >= 0 && e <= len) lab[e] = 1;
        if (hh >= 0 && hh <= len) lab[hh] = 1;
    }
    for (long pc = 0; pc < len;) {
        long n = insn_len(ops, code, len, pc);
        if (!n) {
            free(lab);
            snprintf(d->err, d->errlen, "Method: unknown or cut instruction 0x%02X at method offset %ld", code[pc],
                     h.code_offset + pc);
            return -1;
        }
        const opname *o = &ops[code[pc]];
        long tg[2] = { -1, -1 };
        if (o->fmt == OPF_BR1)
            tg[0] = pc + (int8_t)code[pc + 1];
        else if (o->fmt == OPF_BR2)
            tg[0] = pc + (int16_t)be16(code + pc + 1);
        if (tg[0] >= 0 && tg[0] <= len)
            lab[tg[0]] = 1;
        if (o->fmt == OPF_TSWITCH || o->fmt == OPF_LSWITCH) {
            long d0 = pc + (int16_t)be16(code + pc + 1);
            if (d0 >= 0 && d0 <= len) lab[d0] = 1;
            long first = o->fmt == OPF_TSWITCH ? 7 : 5, step = o->fmt == OPF_TSWITCH ? 2 : 4,
                 at = o->fmt == OPF_TSWITCH ? 0 : 2;
            for (long q = pc + first; q + step <= pc + n; q += step) {
                long x = pc + (int16_t)be16(code + q + at);
                if (x >= 0 && x <= len) lab[x] = 1;
            }
        }
        pc += n;
    }
    for (long pc = 0; pc < len;) {
        long n = insn_len(ops, code, len, pc);
        const opname *o = &ops[code[pc]];
        char line[8192];
        size_t at = 0;
#define L(...)                                                                                 \
    do {                                                                                       \
        int w_ = snprintf(line + at, sizeof line - at, __VA_ARGS__);                           \
        if (w_ > 0) at = at + (size_t)w_ < sizeof line ? at + (size_t)w_ : sizeof line - 1;    \
    } while (0)
        /* the source lines that start here, each once, in the table's order */
        for (int k = 0; k < d->nlines; k++) {
            const dbg_line *e = &d->lines[k];
            if (e->method != moff || e->start_pc != pc)
                continue;
            int seen = 0;
            for (int j = 0; j < k && !seen; j++)
                seen = d->lines[j].method == moff && d->lines[j].start_pc == pc && d->lines[j].line == e->line;
            if (!seen)
                out(t, "\t\t\t\t.line %u;\n", e->line);
        }
        if (lab[pc])
            L("\t\t\t\tL%ld:\t%s", pc, o->name);
        else
            L("\t\t\t\t\t%s", o->name);
        const uint8_t *p = code + pc;
        long cpi = -1;
        switch (o->fmt) {
        case OPF_NONE: break;
        case OPF_S1: L(" %d", (int8_t)p[1]); break;
        case OPF_S2: L(" %d", (int16_t)be16(p + 1)); break;
        case OPF_LOCAL: case OPF_MN: case OPF_ATYPE: L(" %u", p[1]); break;
        case OPF_CP1: L(" %u", p[1]); cpi = p[1]; break;
        case OPF_CP2: L(" %u", be16(p + 1)); cpi = be16(p + 1); break;
        case OPF_BR1: L(" L%ld", pc + (int8_t)p[1]); break;
        case OPF_BR2: L(" L%ld", pc + (int16_t)be16(p + 1)); break;
        case OPF_SINC: L(" %u %d", p[1], (int8_t)p[2]); break;
        case OPF_SINCW: L(" %u %d", p[1], (int16_t)be16(p + 2)); break;
        case OPF_CAST:
            L(" %u %u", p[1], be16(p + 2));
            if (p[1] == 0 || p[1] == 14)
                cpi = be16(p + 2);
            break;
        case OPF_IFACE: L(" %u %u %u", p[1], be16(p + 2), p[4]); cpi = be16(p + 2); break;
        case OPF_TSWITCH: {
            int lo = (int16_t)be16(p + 3), hi2 = (int16_t)be16(p + 5);
            L(" L%ld %d %d", pc + (int16_t)be16(p + 1), lo, hi2);
            for (long q = 7; q + 2 <= n; q += 2)
                L(" L%ld", pc + (int16_t)be16(p + q));
            break;
        }
        case OPF_LSWITCH: {
            unsigned np = be16(p + 3);
            L(" L%ld %u", pc + (int16_t)be16(p + 1), np);
            for (long q = 5; q + 4 <= n; q += 4)
                L(" %d L%ld", (int16_t)be16(p + q), pc + (int16_t)be16(p + q + 2));
            break;
        }
        default: break;
        }
        L(";\t\t// pc %ld", pc);
        if (cpi >= 0 && cpi < d->v.cp_count) {
            char w[600], cm[400];
            if (cp_entry(d, (unsigned)cpi, w, sizeof w, cm, sizeof cm) == 0)
                L(": %s", cm[0] ? cm : strchr(w, ' ') + 1);
        }
#undef L
        out(t, "%s\n", line);
        pc += n;
    }
    if (lab[len])
        out(t, "\t\t\t\tL%ld:\n", len);
    if (nh) {
        out(t, "\t\t\t.exceptionTable {\n\t\t\t\t// start_block end_block handler_block catch_type_index\n");
        for (unsigned k = 0; k < nh && hi + k < d->v.handler_count; k++) {
            const cap_handler *x = &d->v.handlers[hi + k];
            out(t, "\t\t\t\tL%ld L%ld L%ld %u;\n", (long)x->start - h.code_offset, (long)x->end - h.code_offset,
                (long)x->handler - h.code_offset, x->catch_type);
        }
        out(t, "\t\t\t}\n");
    }
    free(lab);
    out(t, "\t\t}\n\n");
    return 0;
}

static void aid_words(text *t, const uint8_t *aid, unsigned len)
{
    for (unsigned i = 0; i < len; i++)
        out(t, "%s0x%X", i ? ":" : "", aid[i]);
}

static int dis_fields(dis *d, text *t, const dclass *c)
{
    int nconst = 0;
    for (int i = 0; i < d->nnames; i++)
        if (d->names[i].kind == 'k' && d->names[i].cls == c->offset)
            nconst++;
    if (!c->nf && !nconst)
        return 0;
    out(t, "\t\t.fields {\n");
    /* compile-time constants (from the Debug component only: no other
     * component holds them) */
    for (int i = 0; i < d->nnames; i++) {
        const dbg_name *k = &d->names[i];
        if (k->kind != 'k' || k->cls != c->offset)
            continue;
        static const char *const tn[] = { "boolean", "byte", "short", "int" };
        const char *ty = tn[strchr("ZBSI", k->type) - "ZBSI"];
        long v = k->type == 'B' ? (int8_t)k->value : k->type == 'S' ? (int16_t)k->value : (long)k->value;
        out(t, "\t\t\t%s%s%sstatic final %s %s = %ld;\n", (k->key & 1) ? "public " : "", (k->key & 2) ? "private " : "",
            (k->key & 4) ? "protected " : "", ty, k->name, v);
    }
    /* image offset of the non-default values */
    unsigned nondef_at = d->v.sf_image_size - d->v.sf_nondefault_count;
    for (unsigned k = 0; k < c->nf; k++) {
        const uint8_t *f = c->fields + 7 * k;
        uint8_t tok = f[0], acc = f[1];
        uint16_t ty = be16(f + 5);
        char tw[300];
        if (ty & 0x8000) {
            static const char *const prim[] = { "", "", "boolean", "byte", "short", "int" };
            unsigned pt = ty & 0x7FFF;
            snprintf(tw, sizeof tw, "%s", pt >= 2 && pt <= 5 ? prim[pt] : "short");
        } else if (decode_type(d, ty, 0, tw, sizeof tw) != 0) {
            snprintf(d->err, d->errlen, "Descriptor: bad field type at %u", ty);
            return -1;
        }
        out(t, "\t\t\t%s%s%s%s%s%s ", (acc & 1) ? "public " : "", (acc & 2) ? "private " : "",
            (acc & 4) ? "protected " : "", (acc & 8) ? "static " : "", (acc & 0x10) ? "final " : "", tw);
        if (!(acc & 0x08)) {
            char fn[100];
            out(t, "%s %u;\n", field_name(d, c->offset, 0, tok, fn, sizeof fn), tok);
            continue;
        }
        uint16_t off = be16(f + 3);
        char fn[100];
        out(t, "%s", field_name(d, c->offset, 1, off, fn, sizeof fn));
        if (tok != 0xFF)
            out(t, " %u", tok);
        /* an initialized array: one of the first array_init_count reference slots */
        if (!(ty & 0x8000) && off / 2 < d->v.sf_array_init_count) {
            const uint8_t *a = d->v.sf_array_inits;
            for (unsigned i = 0; i < off / 2; i++)
                a += 3 + be16(a + 1);
            unsigned es = a[0] == 4 ? 2 : a[0] == 5 ? 4 : 1, nb = be16(a + 1);
            out(t, " = {");
            for (unsigned i = 0; i + es <= nb; i += es) {
                long v = es == 1 ? (int8_t)a[3 + i] : es == 2 ? (int16_t)be16(a + 3 + i)
                                                                : (int32_t)((uint32_t)be16(a + 3 + i) << 16 | be16(a + 5 + i));
                out(t, "%s%ld", i ? "," : "", v);
            }
            out(t, "}");
        } else if ((ty & 0x8000) && off >= nondef_at && d->v.sf_nondefault_count <= d->v.sf_image_size &&
                   off + ((ty & 0x7FFF) == 4 ? 2u : (ty & 0x7FFF) == 5 ? 4u : 1u) <= d->v.sf_image_size) {
            unsigned es = (ty & 0x7FFF) == 4 ? 2 : (ty & 0x7FFF) == 5 ? 4 : 1;
            const uint8_t *vp = d->v.sf_nondefault + (off - nondef_at);
            long v = es == 1 ? (int8_t)vp[0] : es == 2 ? (int16_t)be16(vp) : (int32_t)((uint32_t)be16(vp) << 16 | be16(vp + 2));
            out(t, " = %ld", v);
        }
        out(t, ";\n");
    }
    out(t, "\t\t}\n\n");
    return 0;
}

static int dis_class(dis *d, text *t, const opname *ops, const dclass *c)
{
    const cap_class *cc = cap_class_at(&d->v, c->offset);
    if (!cc)
        return -1;
    int iface = (c->acc & 0x40) != 0;
    char cn[100];
    out(t, "\t.%s %s%s%s%s", iface ? "interface" : "class", (c->acc & 1) ? "public " : "",
        (c->acc & 0x10) ? "final " : "", (c->acc & 0x80) && !iface ? "abstract " : "",
        class_name(d, c->offset, cn, sizeof cn));
    if (c->token != 0xFF)
        out(t, " %u", c->token);
    char w[64];
    if (!iface) {
        class_word(d, cc->super_ref, w, sizeof w);
        out(t, " extends %s", w);
    }
    out(t, " {");
    if (!iface && CAP_REF_EXTERNAL(cc->super_ref))
        out(t, "\t\t// extends %s", ext_class_name(d, CAP_REF_PKG_TOKEN(cc->super_ref), CAP_REF_CLASS_TOKEN(cc->super_ref)));
    out(t, "\n\n");
    if (cc->flags & CAP_ACC_SHAREABLE)
        out(t, "\t\t.shareable;\n\n");
    for (int k = 0; k < d->nsources; k++)
        if (d->sources[k].cls == c->offset) {
            out(t, "\t\t.sourceFile %s;\n\n", d->sources[k].name);
            break;
        }
    if (iface) {
        if (cc->interface_count) {
            out(t, "\t\t.superInterfaces {\n");
            for (unsigned i = 0; i < cc->interface_count; i++) {
                class_word(d, be16(cc->interfaces + 2 * i), w, sizeof w);
                out(t, "\t\t\t%s;\n", w);
            }
            out(t, "\t\t}\n\n");
        }
        for (unsigned k = 0; k < c->nm; k++)
            if (dis_method(d, t, ops, c, c->methods + 12 * k))
                return -1;
        out(t, "\t}\n\n");
        return 0;
    }
    if (dis_fields(d, t, c))
        return -1;
    for (int pk = 0; pk < 2; pk++) {
        unsigned base = pk ? cc->package_base : cc->public_base, n = pk ? cc->package_count : cc->public_count;
        const uint8_t *tab = pk ? cc->package_vtable : cc->public_vtable;
        out(t, "\t\t.%sMethodTable %u {\n", pk ? "package" : "public", base);
        for (unsigned tok = 0; tok < base + n; tok++) {
            char sig[512];
            unsigned ftok = pk ? (tok | 0x80) : tok;
            vtable_sig(d, cc, ftok, sig, sizeof sig);
            char vn[160], vs[512];
            if (tok >= base && be16(tab + 2 * (tok - base)) == 0xFFFF)
                out(t, "\t\t\tinherited%u%s;\n", ftok, sig);
            else if (virtual_name(d, cc->offset, ftok, vn, sizeof vn, vs, sizeof vs) == 0)
                out(t, "\t\t\t%s%s;\n", vn, vs);
            else
                out(t, "\t\t\t%c%u%s;\n", pk ? 'p' : 'v', tok, sig);
        }
        out(t, "\t\t}\n\n");
    }
    if (cc->interface_count) {
        out(t, "\t\t.implementedInterfaceInfoTable {\n");
        const uint8_t *q = cc->interfaces;
        for (unsigned i = 0; i < cc->interface_count; i++) {
            class_word(d, be16(q), w, sizeof w);
            out(t, "\t\t\t.interface %s {\n", w);
            for (unsigned k = 0; k < q[2]; k++)
                out(t, "\t\t\t\t%u;\n", q[3 + k]);
            out(t, "\t\t\t}\n");
            q += 3 + q[2];
        }
        out(t, "\t\t}\n\n");
    }
    /* methods in Method component order */
    int *done = calloc(c->nm + 1u, sizeof *done);
    if (!done)
        return -1;
    for (unsigned round = 0; round < c->nm; round++) {
        int bi = -1;
        for (unsigned k = 0; k < c->nm; k++)
            if (!done[k] && (bi < 0 || be16(c->methods + 12 * k + 2) < be16(c->methods + 12 * (unsigned)bi + 2)))
                bi = (int)k;
        done[bi] = 1;
        if (dis_method(d, t, ops, c, c->methods + 12 * (unsigned)bi)) {
            free(done);
            return -1;
        }
    }
    free(done);
    out(t, "\t}\n\n");
    return 0;
}

int jca_disassemble(const uint8_t *load_file, size_t len, const char *package_path, char **textp, char *err,
                    size_t errlen)
{
    *textp = NULL;
    dis *d = calloc(1, sizeof *d);
    opname *ops = calloc(256, sizeof *ops);
    text t = { 0 };
    int rc = -1;
    if (!d || !ops) {
        snprintf(err, errlen, "out of memory");
        goto done;
    }
    d->err = err;
    d->errlen = errlen;
    if (errlen)
        err[0] = 0;
    op_table(ops);
    if (cap_parse(load_file, len, &d->v, err, errlen) != 0)
        goto done;
    dbg_read(d, d->v.info[CAP_Debug], d->v.info[CAP_Debug] ? d->v.size[CAP_Debug] : 0);
    if (d->v.pkg_name)
        snprintf(d->pkg, sizeof d->pkg, "%.*s", d->v.pkg_name_len, (const char *)d->v.pkg_name);
    else
        snprintf(d->pkg, sizeof d->pkg, "%s", package_path && *package_path ? package_path : "package");
    const uint8_t *de = d->v.info[CAP_Descriptor];
    size_t dl = d->v.size[CAP_Descriptor];
    if (!de) {
        snprintf(err, errlen, "the CAP has no Descriptor component: its classes' types cannot be named");
        goto done;
    }
    /* walk the Descriptor component */
    size_t at = 1;
    d->nclasses = dl ? de[0] : 0;
    d->classes = calloc((size_t)d->nclasses + 1, sizeof *d->classes);
    if (!d->classes)
        goto done;
    for (int i = 0; i < d->nclasses; i++) {
        if (at + 9 > dl)
            goto bad;
        dclass *c = &d->classes[i];
        c->token = de[at];
        c->acc = de[at + 1];
        c->offset = be16(de + at + 2);
        c->nif = de[at + 4];
        c->nf = be16(de + at + 5);
        c->nm = be16(de + at + 7);
        at += 9;
        c->ifaces = de + at;
        at += 2u * c->nif;
        c->fields = de + at;
        at += 7u * c->nf;
        c->methods = de + at;
        at += 12u * c->nm;
        if (at > dl)
            goto bad;
    }
    if (at + 2 > dl || be16(de + at) != d->v.cp_count || at + 2 + 2u * d->v.cp_count > dl)
        goto bad;
    d->types = de + at;
    d->types_len = dl - at;
    d->cp_types = de + at + 2;

    out(&t, "// disassembled by cardvm from a CAP %u.%u file\n\n", d->v.cap_major, d->v.cap_minor);
    out(&t, ".package %s {\n\t.aid ", d->pkg);
    aid_words(&t, d->v.pkg_aid.b, d->v.pkg_aid.len);
    out(&t, ";\n\t.version %u.%u;\n", d->v.pkg_major, d->v.pkg_minor);
    if (d->v.cap_major == 2 && d->v.cap_minor == 2)
        out(&t, "\t.capFormat 2.2;\n");
    out(&t, "\n\t.imports {\n");
    for (unsigned i = 0; i < d->v.import_count; i++) {
        out(&t, "\t\t");
        aid_words(&t, d->v.imports[i].aid.b, d->v.imports[i].aid.len);
        const jc_api_package *ap = jc_api_find_package(d->v.imports[i].aid.b, d->v.imports[i].aid.len);
        out(&t, " %u.%u;\t\t// %u%s%s\n", d->v.imports[i].major, d->v.imports[i].minor, i, ap ? " " : "",
            ap ? ap->name : "");
    }
    out(&t, "\t}\n\n");
    if (d->v.applet_count) {
        out(&t, "\t.applet {\n");
        for (unsigned i = 0; i < d->v.applet_count; i++) {
            mref m = method_at(d, d->v.applets[i].install_offset);
            out(&t, "\t\t");
            aid_words(&t, d->v.applets[i].aid.b, d->v.applets[i].aid.len);
            char cn[100];
            out(&t, " %s;\n", class_name(d, m.cls ? m.cls->offset : 0, cn, sizeof cn));
        }
        out(&t, "\t}\n\n");
    }
    out(&t, "\t.constantPool {\n");
    for (unsigned i = 0; i < d->v.cp_count; i++) {
        char w[600], cm[400];
        if (cp_entry(d, i, w, sizeof w, cm, sizeof cm) != 0) {
            snprintf(err, errlen, "ConstantPool: entry %u cannot be named (bad reference or type)", i);
            goto done;
        }
        out(&t, "\t\t// %u\n\t\t%s;%s%s\n", i, w, cm[0] ? "\t\t// " : "", cm);
    }
    /* classes named in signatures and field types: their tokens (filled
     * while naming; the class names below may add more, so walk them first) */
    for (int i = 0; i < d->nclasses; i++) {
        char buf[512];
        for (unsigned k = 0; k < d->classes[i].nm; k++)
            method_sig(d, d->classes[i].methods + 12 * k, buf, sizeof buf);
        for (unsigned k = 0; k < d->classes[i].nf; k++) {
            uint16_t ty = be16(d->classes[i].fields + 7 * k + 5);
            if (!(ty & 0x8000))
                decode_type(d, ty, 0, buf, sizeof buf);
        }
    }
    for (int i = 0; i < d->next; i++)
        out(&t, "\t\t\t.descriptor\tL%s;\t%d.%d;\n", d->ext[i].name, d->ext[i].pkg, d->ext[i].cls);
    out(&t, "\t}\n\n");
    for (int i = 0; i < d->nclasses; i++)
        if (dis_class(d, &t, ops, &d->classes[i]) != 0) {
            if (!err[0])
                snprintf(err, errlen, "Class: class at offset %u cannot be disassembled", d->classes[i].offset);
            goto done;
        }
    out(&t, "}\n");
    if (t.oom) {
        snprintf(err, errlen, "out of memory");
        goto done;
    }
    *textp = t.s;
    t.s = NULL;
    rc = 0;
    goto done;
bad:
    snprintf(err, errlen, "Descriptor: counts run past the component");
done:
    free(t.s);
    if (d) {
        cap_view_free(&d->v);
        free(d->classes);
        free(d->ext);
        free(d->names);
        free(d->sources);
        free(d->lines);
    }
    free(d);
    free(ops);
    return rc;
}
