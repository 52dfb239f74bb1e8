/*
 * asm.c — the assembler: text (docs/vm.md, "Assembly language") to a
 * package blob (docs/package-format.md).
 *
 * Pass 1 reads directives, declares names (classes, fields, statics,
 * methods, labels) and sizes every instruction, so that labels get their
 * offsets. Pass 2 builds vtables, the constant pool (explicit `.cp` entries
 * first, then entries in order of first use), encodes the code and the
 * tables, and computes max stack for methods that do not state it (with the
 * verifier's own dataflow). Nothing is ever guessed silently: an unknown
 * name, an operand out of range, a branch too far for its form are errors.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "natives.h"
#include "opcodes.h"
#include "package.h"
#include "vm_asm.h"

typedef struct tok {
    const char *s;
    int len;
    int col;
} tok;

typedef struct line {
    int no;
    int first, n;          /* tokens [first, first+n) */
} line;

typedef struct label {
    tok name;
    int pc;
} label;

typedef struct amethod {
    tok name;
    int cls;               /* class index or 0xFF */
    uint8_t flags;
    int special;           /* not placed in the vtable */
    int args, locals, stack; /* -1: compute */
    int first, last;       /* body lines (exclusive of .method/.end) */
    label *labels;
    int nlabels;
    int code_len;
    uint8_t *code;
    int max_local;         /* highest local index used */
    uint8_t *handlers;
    int nhandlers;
    int decl_line;
} amethod;

typedef struct aclass {
    tok name;
    uint16_t super;
    tok *fields;           /* own fields */
    int nfields;
    int total_fields;
    uint16_t vt[256];
    int nvt;
    int vtable_line;       /* explicit .vtable line, -1 */
} aclass;

typedef struct named_value {
    tok name;
    long value;
} named_value;

typedef struct A {
    const char *file;
    char *err;
    size_t errlen;
    int failed;
    const vm_extension *ext;

    tok *toks;
    int ntoks, captoks;
    line *lines;
    int nlines, caplines;

    int have_pkg;
    uint8_t kind, major, minor;
    vm_aid aid;
    vm_import imports[VM_MAX_IMPORTS];
    int nimports;
    named_value *equs;
    int nequs;
    named_value *statics;
    int nstatics;
    aclass *classes;
    int nclasses;
    amethod *methods;
    int nmethods;
    int *applet_lines;
    int napplets;
    int *cp_lines;
    int ncp_lines;
    named_value *natives;  /* name -> token */
    int nnatives;
    uint8_t *cp;           /* 4 bytes per entry */
    int ncp, capcp;
    amethod *cur;          /* method being encoded */
} A;

/* ---- errors and small helpers ---- */

static void afail(A *a, int lineno, int col, const char *fmt, ...)
{
    if (a->failed)
        return;
    a->failed = 1;
    if (!a->err || !a->errlen)
        return;
    int n = snprintf(a->err, a->errlen, "%s:%d:%d: ", a->file, lineno, col);
    if (n < 0 || (size_t)n >= a->errlen)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(a->err + n, a->errlen - (size_t)n, fmt, ap);
    va_end(ap);
}

#define TOKFAIL(a, ln, t, ...) afail((a), (ln)->no, (t)->col, __VA_ARGS__)

static int teq(const tok *t, const char *s)
{
    return (int)strlen(s) == t->len && memcmp(t->s, s, (size_t)t->len) == 0;
}

static int tok_same(const tok *x, const tok *y)
{
    return x->len == y->len && memcmp(x->s, y->s, (size_t)x->len) == 0;
}

static void *grow(void *p, int n, int *cap, size_t elem)
{
    if (n < *cap)
        return p;
    int nc = *cap ? *cap * 2 : 16;
    void *q = realloc(p, (size_t)nc * elem);
    if (!q) {
        free(p);
        return NULL;
    }
    *cap = nc;
    return q;
}

/* Append to a dynamic array stored as (ptr, count) without a capacity: we
 * realloc every time; the assembler is not a hot path. */
#define PUSH(arr, count, value)                                            \
    do {                                                                   \
        void *np_ = realloc((arr), sizeof *(arr) * (size_t)((count) + 1));  \
        if (!np_) { afail(a, 0, 0, "out of memory"); break; }             \
        (arr) = np_;                                                       \
        (arr)[(count)++] = (value);                                        \
    } while (0)

/* ---- lexer ---- */

static int lex(A *a, const char *src, size_t len)
{
    size_t i = 0;
    int lineno = 1;
    while (i <= len) {
        size_t start = i;
        while (i < len && src[i] != '\n')
            i++;
        size_t end = i;
        /* strip comments: ';' or "//" outside a character literal */
        for (size_t k = start; k < end; k++) {
            if (src[k] == '\'' && k + 2 < end && src[k + 2] == '\'') {
                k += 2;
                continue;
            }
            if (src[k] == ';' || (src[k] == '/' && k + 1 < end && src[k + 1] == '/')) {
                end = k;
                break;
            }
        }
        line ln = { lineno, a->ntoks, 0 };
        size_t k = start;
        while (k < end) {
            while (k < end && (isspace((unsigned char)src[k]) || src[k] == ','))
                k++;
            if (k >= end)
                break;
            size_t ts = k;
            if (src[k] == '\'' && k + 2 < end && src[k + 2] == '\'') {
                k += 3;
            } else {
                while (k < end && !isspace((unsigned char)src[k]) && src[k] != ',')
                    k++;
            }
            a->toks = grow(a->toks, a->ntoks, &a->captoks, sizeof *a->toks);
            if (!a->toks)
                return -1;
            a->toks[a->ntoks++] = (tok){ src + ts, (int)(k - ts), (int)(ts - start) + 1 };
            ln.n++;
        }
        if (ln.n) {
            a->lines = grow(a->lines, a->nlines, &a->caplines, sizeof *a->lines);
            if (!a->lines)
                return -1;
            a->lines[a->nlines++] = ln;
        }
        lineno++;
        i++;
    }
    return 0;
}

/* ---- values ---- */

static int find_named(const named_value *v, int n, const tok *t)
{
    for (int i = 0; i < n; i++)
        if (tok_same(&v[i].name, t))
            return i;
    return -1;
}

/* Parse an integer literal or .equ name. */
static int parse_value(A *a, const line *ln, const tok *t, long *out)
{
    char buf[64];
    if (t->len >= 3 && t->s[0] == '\'' && t->s[2] == '\'') {
        *out = (unsigned char)t->s[1];
        return 0;
    }
    if (t->len < (int)sizeof buf && (isdigit((unsigned char)t->s[0]) ||
                                     ((t->s[0] == '-' || t->s[0] == '+') && t->len > 1))) {
        memcpy(buf, t->s, (size_t)t->len);
        buf[t->len] = 0;
        char *endp;
        long v = strtol(buf, &endp, 0);
        if (*endp == 0) {
            *out = v;
            return 0;
        }
        if (buf[0] == '-' || buf[0] == '+') {
            tok sub = { t->s + 1, t->len - 1, t->col + 1 };
            int e = find_named(a->equs, a->nequs, &sub);
            if (e >= 0) {
                *out = buf[0] == '-' ? -a->equs[e].value : a->equs[e].value;
                return 0;
            }
        }
    }
    int e = find_named(a->equs, a->nequs, t);
    if (e >= 0) {
        *out = a->equs[e].value;
        return 0;
    }
    TOKFAIL(a, ln, t, "'%.*s' is not a number or a named constant", t->len, t->s);
    return -1;
}

static int parse_range(A *a, const line *ln, const tok *t, long lo, long hi, long *out)
{
    if (parse_value(a, ln, t, out) != 0)
        return -1;
    if (*out < lo || *out > hi) {
        TOKFAIL(a, ln, t, "value %ld outside %ld..%ld", *out, lo, hi);
        return -1;
    }
    return 0;
}

static int parse_aid(A *a, const line *ln, const tok *t, vm_aid *aid)
{
    int n = 0;
    if (t->len % 2) {
        TOKFAIL(a, ln, t, "AID must be an even number of hex digits");
        return -1;
    }
    for (int i = 0; i < t->len; i += 2) {
        char b[3] = { t->s[i], t->s[i + 1], 0 };
        if (!isxdigit((unsigned char)b[0]) || !isxdigit((unsigned char)b[1]) || n >= VM_AID_MAX) {
            TOKFAIL(a, ln, t, "bad AID '%.*s' (5 to 16 bytes of hex)", t->len, t->s);
            return -1;
        }
        aid->b[n++] = (uint8_t)strtol(b, NULL, 16);
    }
    if (n < VM_AID_MIN) {
        TOKFAIL(a, ln, t, "AID too short (5 to 16 bytes)");
        return -1;
    }
    aid->len = (uint8_t)n;
    return 0;
}

static int parse_version(A *a, const line *ln, const tok *t, uint8_t *major, uint8_t *minor)
{
    char buf[32];
    unsigned ma, mi;
    char extra;
    if (t->len >= (int)sizeof buf)
        goto bad;
    memcpy(buf, t->s, (size_t)t->len);
    buf[t->len] = 0;
    if (sscanf(buf, "%u.%u%c", &ma, &mi, &extra) != 2 || ma > 255 || mi > 255)
        goto bad;
    *major = (uint8_t)ma;
    *minor = (uint8_t)mi;
    return 0;
bad:
    TOKFAIL(a, ln, t, "bad version '%.*s' (major.minor)", t->len, t->s);
    return -1;
}

/* key=value option; returns the value token or NULL. */
static int opt(const tok *t, const char *key, tok *val)
{
    int kl = (int)strlen(key);
    if (t->len > kl + 1 && memcmp(t->s, key, (size_t)kl) == 0 && t->s[kl] == '=') {
        *val = (tok){ t->s + kl + 1, t->len - kl - 1, t->col + kl + 1 };
        return 1;
    }
    return 0;
}

/* ---- names ---- */

static int find_class(A *a, const tok *t)
{
    for (int i = 0; i < a->nclasses; i++)
        if (tok_same(&a->classes[i].name, t))
            return i;
    return -1;
}

/* Class id of a name: package class, system class, or -1. */
static int class_id(A *a, const tok *t)
{
    int c = find_class(a, t);
    if (c >= 0)
        return c;
    return vm_sys_class_by_name(t->s, (size_t)t->len);
}

/* Split "Class.member" at the last dot. */
static int split(const tok *t, tok *cls, tok *member)
{
    for (int i = t->len - 1; i > 0; i--)
        if (t->s[i] == '.') {
            *cls = (tok){ t->s, i, t->col };
            *member = (tok){ t->s + i + 1, t->len - i - 1, t->col + i + 1 };
            return member->len > 0;
        }
    return 0;
}

/* Method named `name` in class c or its package superclasses. */
static int method_in_class(A *a, int c, const tok *name)
{
    for (int guard = 0; c >= 0 && c < a->nclasses && guard < 256; guard++) {
        for (int i = 0; i < a->nmethods; i++)
            if (a->methods[i].cls == c && tok_same(&a->methods[i].name, name))
                return i;
        c = a->classes[c].super < VM_SC_Object ? a->classes[c].super : -1;
    }
    return -1;
}

/* Method reference: "Class.name", or "name" in class `defcls` (or, for
 * methods outside classes, by name alone). */
static int find_method(A *a, const tok *t, int defcls)
{
    tok c, m;
    if (split(t, &c, &m)) {
        int ci = find_class(a, &c);
        if (ci >= 0)
            return method_in_class(a, ci, &m);
        return -1;
    }
    if (defcls >= 0 && defcls != 0xFF) {
        int r = method_in_class(a, defcls, t);
        if (r >= 0)
            return r;
    }
    for (int i = 0; i < a->nmethods; i++)
        if (a->methods[i].cls == 0xFF && tok_same(&a->methods[i].name, t))
            return i;
    return -1;
}

static int field_slot(A *a, int c, const tok *name)
{
    for (int guard = 0; c >= 0 && c < a->nclasses && guard < 256; guard++) {
        aclass *k = &a->classes[c];
        for (int i = 0; i < k->nfields; i++)
            if (tok_same(&k->fields[i], name))
                return k->total_fields - k->nfields + i;
        c = k->super < VM_SC_Object ? k->super : -1;
    }
    return -1;
}

static int cp_add(A *a, uint8_t tag, uint8_t b1, uint8_t b2, uint8_t b3, int force_new)
{
    if (!force_new)
        for (int i = 0; i < a->ncp; i++) {
            const uint8_t *e = a->cp + 4 * i;
            if (e[0] == tag && e[1] == b1 && e[2] == b2 && e[3] == b3)
                return i;
        }
    if (a->ncp >= VM_MAX_CP)
        return -1;
    a->cp = grow(a->cp, a->ncp * 4 + 4, &a->capcp, 1);
    if (!a->cp)
        return -1;
    /* grow() works in elements of 1 byte here; make sure there is room. */
    uint8_t *e = a->cp + 4 * a->ncp;
    e[0] = tag;
    e[1] = b1;
    e[2] = b2;
    e[3] = b3;
    return a->ncp++;
}

/* Constant pool index for an operand, by opcode. -1 after an error. */
static int cp_operand(A *a, const line *ln, const tok *t, uint8_t op)
{
    amethod *m = a->cur;
    if (t->len > 1 && t->s[0] == '#') {
        long v;
        tok num = { t->s + 1, t->len - 1, t->col + 1 };
        if (parse_range(a, ln, &num, 0, 65535, &v) != 0)
            return -1;
        return (int)v;
    }
    tok c, mem;
    switch (op) {
    case OP_getstatic_a: case OP_getstatic_b: case OP_getstatic_s:
    case OP_putstatic_a: case OP_putstatic_b: case OP_putstatic_s: {
        int s = find_named(a->statics, a->nstatics, t);
        if (s < 0) {
            TOKFAIL(a, ln, t, "unknown static field '%.*s'", t->len, t->s);
            return -1;
        }
        return cp_add(a, VM_CP_SFIELD, (uint8_t)(s >> 8), (uint8_t)s, 0, 0);
    }
    case OP_new: case OP_anewarray: {
        int id = class_id(a, t);
        if (id < 0) {
            TOKFAIL(a, ln, t, "unknown class '%.*s'", t->len, t->s);
            return -1;
        }
        return cp_add(a, VM_CP_CLASS, (uint8_t)(id >> 8), (uint8_t)id, 0, 0);
    }
    case OP_invokestatic: case OP_invokespecial: {
        int mi = find_method(a, t, m->cls);
        if (mi >= 0)
            return cp_add(a, VM_CP_SMETHOD, (uint8_t)(mi >> 8), (uint8_t)mi, 0, 0);
        if (op == OP_invokestatic) {
            int tokn = vm_native_by_name(t->s, (size_t)t->len);
            if (tokn < 0) {
                int k = find_named(a->natives, a->nnatives, t);
                if (k >= 0)
                    tokn = (int)a->natives[k].value;
            }
            if (tokn < 0 && a->ext)
                for (unsigned i = 0; i < a->ext->count; i++)
                    if (a->ext->entries[i].name && teq(t, a->ext->entries[i].name))
                        tokn = (int)(VM_EXT_TOKEN_FIRST + i);
            if (tokn >= 0)
                return cp_add(a, VM_CP_NATIVE, (uint8_t)(tokn >> 8), (uint8_t)tokn, 0, 0);
        }
        TOKFAIL(a, ln, t, "unknown method '%.*s'", t->len, t->s);
        return -1;
    }
    case OP_invokevirtual: {
        int ci;
        if (!split(t, &c, &mem) || (ci = find_class(a, &c)) < 0) {
            TOKFAIL(a, ln, t, "virtual method must be Class.method: '%.*s'", t->len, t->s);
            return -1;
        }
        aclass *k = &a->classes[ci];
        for (int s = 0; s < k->nvt; s++)
            if (tok_same(&a->methods[k->vt[s]].name, &mem))
                return cp_add(a, VM_CP_VMETHOD, (uint8_t)ci, (uint8_t)s, 0, 0);
        TOKFAIL(a, ln, t, "class %.*s has no virtual method '%.*s'", c.len, c.s, mem.len, mem.s);
        return -1;
    }
    default: {
        /* instance fields */
        int ci, slot;
        if (!split(t, &c, &mem) || (ci = find_class(a, &c)) < 0) {
            TOKFAIL(a, ln, t, "field must be Class.field: '%.*s'", t->len, t->s);
            return -1;
        }
        if ((slot = field_slot(a, ci, &mem)) < 0) {
            TOKFAIL(a, ln, t, "class %.*s has no field '%.*s'", c.len, c.s, mem.len, mem.s);
            return -1;
        }
        return cp_add(a, VM_CP_IFIELD, (uint8_t)ci, (uint8_t)slot, 0, 0);
    }
    }
}

/* ---- pass 1 ---- */

static int opcode_by_name(const tok *t)
{
    for (int i = 0; i < 256; i++)
        if (vm_opinfo_table[i].name && teq(t, vm_opinfo_table[i].name))
            return i;
    return -1;
}

/* Size of an instruction line (tokens t[0..n)), or -1. */
static int insn_size(A *a, const line *ln, const tok *t, int n)
{
    if (teq(&t[0], ".db"))
        return n - 1;
    int op = opcode_by_name(&t[0]);
    if (op < 0) {
        TOKFAIL(a, ln, &t[0], "unknown instruction '%.*s'", t[0].len, t[0].s);
        return -1;
    }
    static const int want[] = {
        [OPF_NONE] = 0, [OPF_S1] = 1, [OPF_S2] = 1, [OPF_LOCAL] = 1, [OPF_CP1] = 1, [OPF_CP2] = 1,
        [OPF_BR1] = 1, [OPF_BR2] = 1, [OPF_SINC] = 2, [OPF_SINCW] = 2, [OPF_MN] = 2, [OPF_ATYPE] = 1,
        [OPF_CAST] = 1,
    };
    const vm_opinfo *oi = &vm_opinfo_table[op];
    switch (oi->fmt) {
    case OPF_TSWITCH:
        if (n < 5) {
            TOKFAIL(a, ln, &t[0], "stableswitch low high default label...");
            return -1;
        }
        return 7 + 2 * (n - 4);
    case OPF_LSWITCH:
        if (n < 2) {
            TOKFAIL(a, ln, &t[0], "slookupswitch default [key:label]...");
            return -1;
        }
        return 5 + 4 * (n - 2);
    default:
        if (n - 1 != want[oi->fmt]) {
            TOKFAIL(a, ln, &t[0], "%s takes %d operand(s)", oi->name, want[oi->fmt]);
            return -1;
        }
        switch (oi->fmt) {
        case OPF_NONE: return 1;
        case OPF_S1: case OPF_LOCAL: case OPF_CP1: case OPF_BR1: case OPF_MN: case OPF_ATYPE: return 2;
        case OPF_SINCW: case OPF_CAST: return 4;
        default: return 3;
        }
    }
}

static int pass1(A *a)
{
    int cur_class = -1;
    amethod *m = NULL;
    for (int li = 0; li < a->nlines && !a->failed; li++) {
        line *ln = &a->lines[li];
        tok *t = &a->toks[ln->first];
        int n = ln->n;
        if (m) {
            if (teq(&t[0], ".end")) {
                m->last = li;
                m = NULL;
                continue;
            }
            if (teq(&t[0], ".catch"))
                continue;
            if (t[0].len > 1 && t[0].s[t[0].len - 1] == ':') {
                label lb = { { t[0].s, t[0].len - 1, t[0].col }, m->code_len };
                for (int i = 0; i < m->nlabels; i++)
                    if (tok_same(&m->labels[i].name, &lb.name)) {
                        TOKFAIL(a, ln, &t[0], "label '%.*s' defined twice", lb.name.len, lb.name.s);
                        return -1;
                    }
                PUSH(m->labels, m->nlabels, lb);
                t++;
                n--;
                if (!n)
                    continue;
            }
            int sz = insn_size(a, ln, t, n);
            if (sz < 0)
                return -1;
            m->code_len += sz;
            continue;
        }
        if (teq(&t[0], ".package")) {
            if (n < 3 || n > 4) {
                TOKFAIL(a, ln, &t[0], ".package AID major.minor [applet|library|customization|update]");
                return -1;
            }
            if (parse_aid(a, ln, &t[1], &a->aid) || parse_version(a, ln, &t[2], &a->major, &a->minor))
                return -1;
            a->kind = VM_PKG_APPLET;
            if (n == 4) {
                if (teq(&t[3], "applet")) a->kind = VM_PKG_APPLET;
                else if (teq(&t[3], "library")) a->kind = VM_PKG_LIBRARY;
                else if (teq(&t[3], "customization")) a->kind = VM_PKG_CUSTOMIZATION;
                else if (teq(&t[3], "update")) a->kind = VM_PKG_UPDATE;
                else {
                    TOKFAIL(a, ln, &t[3], "unknown package kind '%.*s'", t[3].len, t[3].s);
                    return -1;
                }
            }
            a->have_pkg = 1;
        } else if (teq(&t[0], ".import")) {
            if (n != 3 || a->nimports >= VM_MAX_IMPORTS) {
                TOKFAIL(a, ln, &t[0], ".import AID major.minor (at most %d)", VM_MAX_IMPORTS);
                return -1;
            }
            vm_import *im = &a->imports[a->nimports++];
            if (parse_aid(a, ln, &t[1], &im->aid) || parse_version(a, ln, &t[2], &im->major, &im->minor))
                return -1;
        } else if (teq(&t[0], ".equ")) {
            named_value v = { t[1], 0 };
            if (n != 3) {
                TOKFAIL(a, ln, &t[0], ".equ NAME value");
                return -1;
            }
            if (parse_value(a, ln, &t[2], &v.value))
                return -1;
            PUSH(a->equs, a->nequs, v);
        } else if (teq(&t[0], ".static")) {
            named_value v = { t[1], 0 };
            if (n < 2 || n > 3) {
                TOKFAIL(a, ln, &t[0], ".static NAME [initial value]");
                return -1;
            }
            if (find_named(a->statics, a->nstatics, &t[1]) >= 0) {
                TOKFAIL(a, ln, &t[1], "static '%.*s' declared twice", t[1].len, t[1].s);
                return -1;
            }
            if (n == 3 && parse_range(a, ln, &t[2], -32768, 65535, &v.value))
                return -1;
            PUSH(a->statics, a->nstatics, v);
        } else if (teq(&t[0], ".class")) {
            aclass k;
            memset(&k, 0, sizeof k);
            k.name = t[1];
            k.super = VM_CLASS_NONE;
            k.vtable_line = -1;
            if (!(n == 2 || (n == 4 && teq(&t[2], "extends")))) {
                TOKFAIL(a, ln, &t[0], ".class NAME [extends SUPER]");
                return -1;
            }
            if (find_class(a, &t[1]) >= 0 || vm_sys_class_by_name(t[1].s, (size_t)t[1].len) >= 0) {
                TOKFAIL(a, ln, &t[1], "class '%.*s' already exists", t[1].len, t[1].s);
                return -1;
            }
            if (n == 4) {
                int id = class_id(a, &t[3]);
                if (id < 0) {
                    TOKFAIL(a, ln, &t[3], "unknown superclass '%.*s' (declare it first)", t[3].len, t[3].s);
                    return -1;
                }
                k.super = (uint16_t)id;
                if (id < VM_SC_Object)
                    k.total_fields = a->classes[id].total_fields;
            }
            if (a->nclasses >= VM_MAX_CLASSES - 1) {
                TOKFAIL(a, ln, &t[0], "too many classes");
                return -1;
            }
            PUSH(a->classes, a->nclasses, k);
            cur_class = a->nclasses - 1;
        } else if (teq(&t[0], ".field")) {
            if (cur_class < 0 || n != 2) {
                TOKFAIL(a, ln, &t[0], ".field NAME, inside a .class");
                return -1;
            }
            aclass *k = &a->classes[cur_class];
            if (field_slot(a, cur_class, &t[1]) >= 0) {
                TOKFAIL(a, ln, &t[1], "field '%.*s' already exists", t[1].len, t[1].s);
                return -1;
            }
            if (k->total_fields >= 255) {
                TOKFAIL(a, ln, &t[1], "too many fields");
                return -1;
            }
            PUSH(k->fields, k->nfields, t[1]);
            k->total_fields++;
        } else if (teq(&t[0], ".vtable")) {
            if (cur_class < 0) {
                TOKFAIL(a, ln, &t[0], ".vtable inside a .class");
                return -1;
            }
            a->classes[cur_class].vtable_line = li;
        } else if (teq(&t[0], ".method")) {
            amethod nm;
            memset(&nm, 0, sizeof nm);
            tok cn, mn;
            nm.cls = cur_class < 0 ? 0xFF : cur_class;
            nm.name = t[1];
            nm.args = nm.locals = nm.stack = -1;
            nm.decl_line = li;
            if (n < 2) {
                TOKFAIL(a, ln, &t[0], ".method NAME [static] [args=N] [locals=N] [stack=N] [returns]");
                return -1;
            }
            if (split(&t[1], &cn, &mn)) {
                int ci = find_class(a, &cn);
                if (ci < 0) {
                    TOKFAIL(a, ln, &t[1], "unknown class '%.*s'", cn.len, cn.s);
                    return -1;
                }
                nm.cls = ci;
                nm.name = mn;
            }
            for (int i = 2; i < n; i++) {
                tok v;
                long x;
                if (teq(&t[i], "static")) nm.flags |= VM_MF_STATIC;
                else if (teq(&t[i], "returns")) nm.flags |= VM_MF_RETURNS;
                else if (teq(&t[i], "special")) nm.special = 1;
                else if (teq(&t[i], "noclass")) nm.cls = 0xFF;
                else if (opt(&t[i], "args", &v)) { if (parse_range(a, ln, &v, 0, 255, &x)) return -1; nm.args = (int)x; }
                else if (opt(&t[i], "locals", &v)) { if (parse_range(a, ln, &v, 0, 255, &x)) return -1; nm.locals = (int)x; }
                else if (opt(&t[i], "stack", &v)) { if (parse_range(a, ln, &v, 0, 255, &x)) return -1; nm.stack = (int)x; }
                else {
                    TOKFAIL(a, ln, &t[i], "unknown method option '%.*s'", t[i].len, t[i].s);
                    return -1;
                }
            }
            if (nm.args < 0)
                nm.args = (nm.flags & VM_MF_STATIC) ? 0 : 1;
            for (int i = 0; i < a->nmethods; i++)
                if (a->methods[i].cls == nm.cls && tok_same(&a->methods[i].name, &nm.name)) {
                    TOKFAIL(a, ln, &t[1], "method '%.*s' declared twice in its class", nm.name.len, nm.name.s);
                    return -1;
                }
            nm.first = li + 1;
            nm.max_local = -1;
            PUSH(a->methods, a->nmethods, nm);
            m = &a->methods[a->nmethods - 1];
        } else if (teq(&t[0], ".applet")) {
            PUSH(a->applet_lines, a->napplets, li);
        } else if (teq(&t[0], ".cp")) {
            PUSH(a->cp_lines, a->ncp_lines, li);
        } else if (teq(&t[0], ".native")) {
            named_value v = { t[1], 0 };
            if (n != 3) {
                TOKFAIL(a, ln, &t[0], ".native NAME TOKEN");
                return -1;
            }
            if (parse_range(a, ln, &t[2], 0, 65535, &v.value))
                return -1;
            PUSH(a->natives, a->nnatives, v);
        } else {
            TOKFAIL(a, ln, &t[0], "unknown directive '%.*s'", t[0].len, t[0].s);
            return -1;
        }
    }
    if (m) {
        afail(a, a->lines[m->decl_line].no, 1, "method '%.*s' has no .end", m->name.len, m->name.s);
        return -1;
    }
    if (!a->have_pkg && !a->failed) {
        afail(a, 1, 1, "missing .package");
        return -1;
    }
    return a->failed ? -1 : 0;
}

/* ---- pass 2 ---- */

static int build_vtables(A *a)
{
    for (int ci = 0; ci < a->nclasses; ci++) {
        aclass *k = &a->classes[ci];
        if (k->vtable_line >= 0) {
            line *ln = &a->lines[k->vtable_line];
            tok *t = &a->toks[ln->first];
            for (int i = 1; i < ln->n; i++) {
                int mi = find_method(a, &t[i], ci);
                if (mi < 0) {
                    TOKFAIL(a, ln, &t[i], "unknown method '%.*s'", t[i].len, t[i].s);
                    return -1;
                }
                k->vt[k->nvt++] = (uint16_t)mi;
            }
            continue;
        }
        if (k->super < VM_SC_Object) {
            memcpy(k->vt, a->classes[k->super].vt, sizeof k->vt);
            k->nvt = a->classes[k->super].nvt;
        }
        for (int mi = 0; mi < a->nmethods; mi++) {
            amethod *m = &a->methods[mi];
            if (m->cls != ci || (m->flags & VM_MF_STATIC) || m->special)
                continue;
            int slot = -1;
            for (int s = 0; s < k->nvt; s++)
                if (tok_same(&a->methods[k->vt[s]].name, &m->name))
                    slot = s;
            if (slot < 0) {
                if (k->nvt >= 255) {
                    afail(a, a->lines[m->decl_line].no, 1, "too many virtual methods");
                    return -1;
                }
                slot = k->nvt++;
            }
            k->vt[slot] = (uint16_t)mi;
        }
    }
    return 0;
}

static int explicit_cp(A *a)
{
    for (int i = 0; i < a->ncp_lines; i++) {
        line *ln = &a->lines[a->cp_lines[i]];
        tok *t = &a->toks[ln->first];
        int idx = -1;
        if (ln->n == 6 && teq(&t[1], "raw")) {
            long v[4];
            for (int k = 0; k < 4; k++)
                if (parse_range(a, ln, &t[2 + k], 0, 255, &v[k]))
                    return -1;
            idx = cp_add(a, (uint8_t)v[0], (uint8_t)v[1], (uint8_t)v[2], (uint8_t)v[3], 1);
        } else if (ln->n == 3) {
            uint8_t op;
            if (teq(&t[1], "class")) op = OP_new;
            else if (teq(&t[1], "ifield")) op = OP_getfield_s;
            else if (teq(&t[1], "sfield")) op = OP_getstatic_s;
            else if (teq(&t[1], "smethod")) op = OP_invokespecial;
            else if (teq(&t[1], "vmethod")) op = OP_invokevirtual;
            else if (teq(&t[1], "native")) op = OP_invokestatic;
            else {
                TOKFAIL(a, ln, &t[1], "unknown constant kind '%.*s'", t[1].len, t[1].s);
                return -1;
            }
            int before = a->ncp;
            if (op == OP_invokestatic) {
                long tokn;
                int k = vm_native_by_name(t[2].s, (size_t)t[2].len);
                if (k < 0 && (k = find_named(a->natives, a->nnatives, &t[2])) >= 0)
                    k = (int)a->natives[k].value;
                if (k < 0) {
                    if (parse_range(a, ln, &t[2], 0, 65535, &tokn))
                        return -1;
                    k = (int)tokn;
                }
                idx = cp_add(a, VM_CP_NATIVE, (uint8_t)(k >> 8), (uint8_t)k, 0, 1);
            } else {
                amethod dummy;
                memset(&dummy, 0, sizeof dummy);
                dummy.cls = 0xFF;
                a->cur = &dummy;
                if (op == OP_invokespecial) {
                    int mi = find_method(a, &t[2], -1);
                    if (mi < 0) {
                        TOKFAIL(a, ln, &t[2], "unknown method '%.*s'", t[2].len, t[2].s);
                        return -1;
                    }
                    idx = cp_add(a, VM_CP_SMETHOD, (uint8_t)(mi >> 8), (uint8_t)mi, 0, 1);
                } else {
                    idx = cp_operand(a, ln, &t[2], op);
                    if (idx >= 0 && idx < before) {
                        /* an identical explicit entry: keep it as a duplicate */
                        const uint8_t *e = a->cp + 4 * idx;
                        idx = cp_add(a, e[0], e[1], e[2], e[3], 1);
                    }
                }
                a->cur = NULL;
            }
        } else {
            TOKFAIL(a, ln, &t[0], ".cp KIND NAME  or  .cp raw TAG B1 B2 B3");
            return -1;
        }
        if (idx < 0) {
            if (!a->failed)
                TOKFAIL(a, ln, &t[0], "constant pool full");
            return -1;
        }
    }
    return 0;
}

static int find_label(A *a, const line *ln, const tok *t, int *pc)
{
    amethod *m = a->cur;
    if (t->len > 1 && t->s[0] == '@') {
        long v;
        tok num = { t->s + 1, t->len - 1, t->col + 1 };
        if (parse_range(a, ln, &num, -32768, 32767, &v))
            return -1;
        *pc = (int)(0x40000000 + v);   /* raw offset marker */
        return 0;
    }
    for (int i = 0; i < m->nlabels; i++)
        if (tok_same(&m->labels[i].name, t)) {
            *pc = m->labels[i].pc;
            return 0;
        }
    TOKFAIL(a, ln, t, "unknown label '%.*s'", t->len, t->s);
    return -1;
}

/* Branch offset from `at` to the label t, checked against [lo, hi]. */
static int branch_offset(A *a, const line *ln, const tok *t, int at, long lo, long hi, long *off)
{
    int target;
    if (find_label(a, ln, t, &target))
        return -1;
    *off = target >= 0x40000000 - 40000 ? (long)target - 0x40000000 : (long)target - at;
    if (*off < lo || *off > hi) {
        TOKFAIL(a, ln, t, "branch to '%.*s' too far for this form (offset %ld)", t->len, t->s, *off);
        return -1;
    }
    return 0;
}

static void note_local(amethod *m, long idx)
{
    if (idx > m->max_local)
        m->max_local = (int)idx;
}

static int encode_method(A *a, amethod *m)
{
    a->cur = m;
    m->code = calloc((size_t)m->code_len + 1, 1);
    if (!m->code) {
        afail(a, 0, 0, "out of memory");
        return -1;
    }
    int pc = 0;
    for (int li = m->first; li < m->last; li++) {
        line *ln = &a->lines[li];
        tok *t = &a->toks[ln->first];
        int n = ln->n;
        if (teq(&t[0], ".catch")) {
            long v;
            int s, e, h;
            uint16_t cp = 0xFFFF;
            if (n < 4 || n > 5) {
                TOKFAIL(a, ln, &t[0], ".catch START END HANDLER [CLASS|any]");
                return -1;
            }
            if (find_label(a, ln, &t[1], &s) || find_label(a, ln, &t[2], &e) || find_label(a, ln, &t[3], &h))
                return -1;
            /* "@N" in a handler means the absolute pc N. */
            if (s >= 0x40000000 - 40000) s -= 0x40000000;
            if (e >= 0x40000000 - 40000) e -= 0x40000000;
            if (h >= 0x40000000 - 40000) h -= 0x40000000;
            if (n == 5 && !teq(&t[4], "any")) {
                if (t[4].s[0] == '#') {
                    tok num = { t[4].s + 1, t[4].len - 1, t[4].col + 1 };
                    if (parse_range(a, ln, &num, 0, 65535, &v))
                        return -1;
                    cp = (uint16_t)v;
                } else {
                    int id = class_id(a, &t[4]);
                    if (id < 0) {
                        TOKFAIL(a, ln, &t[4], "unknown class '%.*s'", t[4].len, t[4].s);
                        return -1;
                    }
                    int k = cp_add(a, VM_CP_CLASS, (uint8_t)(id >> 8), (uint8_t)id, 0, 0);
                    if (k < 0)
                        return -1;
                    cp = (uint16_t)k;
                }
            }
            uint8_t rec[8];
            vm_put16(rec, (uint16_t)s);
            vm_put16(rec + 2, (uint16_t)e);
            vm_put16(rec + 4, (uint16_t)h);
            vm_put16(rec + 6, cp);
            uint8_t *nh = realloc(m->handlers, (size_t)(m->nhandlers + 1) * 8);
            if (!nh)
                return -1;
            m->handlers = nh;
            memcpy(m->handlers + 8 * m->nhandlers++, rec, 8);
            continue;
        }
        if (t[0].len > 1 && t[0].s[t[0].len - 1] == ':') {
            t++;
            n--;
            if (!n)
                continue;
        }
        uint8_t *c = m->code + pc;
        if (teq(&t[0], ".db")) {
            for (int i = 1; i < n; i++) {
                long v;
                if (parse_range(a, ln, &t[i], -128, 255, &v))
                    return -1;
                c[i - 1] = (uint8_t)v;
            }
            pc += n - 1;
            continue;
        }
        int op = opcode_by_name(&t[0]);
        const vm_opinfo *oi = &vm_opinfo_table[op];
        int size = insn_size(a, ln, t, n);
        long v, w;
        c[0] = (uint8_t)op;
        switch (oi->fmt) {
        case OPF_NONE:
            if (op >= OP_aload_0 && op <= OP_aload_3) note_local(m, op - OP_aload_0);
            if (op >= OP_sload_0 && op <= OP_sload_3) note_local(m, op - OP_sload_0);
            if (op >= OP_astore_0 && op <= OP_astore_3) note_local(m, op - OP_astore_0);
            if (op >= OP_sstore_0 && op <= OP_sstore_3) note_local(m, op - OP_sstore_0);
            break;
        case OPF_S1:
            if (parse_range(a, ln, &t[1], -128, 127, &v)) return -1;
            c[1] = (uint8_t)v;
            break;
        case OPF_S2:
            if (parse_range(a, ln, &t[1], -32768, 65535, &v)) return -1;
            vm_put16(c + 1, (uint16_t)v);
            break;
        case OPF_LOCAL:
            if (parse_range(a, ln, &t[1], 0, 255, &v)) return -1;
            c[1] = (uint8_t)v;
            note_local(m, v);
            break;
        case OPF_CP1: case OPF_CP2: {
            int idx = cp_operand(a, ln, &t[1], (uint8_t)op);
            if (idx < 0)
                return -1;
            if (oi->fmt == OPF_CP1) {
                if (idx > 255) {
                    TOKFAIL(a, ln, &t[1], "constant #%d does not fit in one byte; use the _w form", idx);
                    return -1;
                }
                c[1] = (uint8_t)idx;
            } else {
                vm_put16(c + 1, (uint16_t)idx);
            }
            break;
        }
        case OPF_BR1:
            if (branch_offset(a, ln, &t[1], pc, -128, 127, &v)) return -1;
            c[1] = (uint8_t)v;
            break;
        case OPF_BR2:
            if (branch_offset(a, ln, &t[1], pc, -32768, 32767, &v)) return -1;
            vm_put16(c + 1, (uint16_t)v);
            break;
        case OPF_SINC:
            if (parse_range(a, ln, &t[1], 0, 255, &v) || parse_range(a, ln, &t[2], -128, 127, &w)) return -1;
            c[1] = (uint8_t)v;
            c[2] = (uint8_t)w;
            note_local(m, v);
            break;
        case OPF_SINCW:
            if (parse_range(a, ln, &t[1], 0, 255, &v) || parse_range(a, ln, &t[2], -32768, 65535, &w)) return -1;
            c[1] = (uint8_t)v;
            vm_put16(c + 2, (uint16_t)w);
            note_local(m, v);
            break;
        case OPF_MN:
            if (parse_range(a, ln, &t[1], 0, 15, &v) || parse_range(a, ln, &t[2], 0, 15, &w)) return -1;
            c[1] = (uint8_t)(v << 4 | w);
            break;
        case OPF_ATYPE:
            if (teq(&t[1], "boolean")) v = VM_T_BOOLEAN;
            else if (teq(&t[1], "byte")) v = VM_T_BYTE;
            else if (teq(&t[1], "short")) v = VM_T_SHORT;
            else if (parse_range(a, ln, &t[1], 0, 255, &v)) return -1;
            c[1] = (uint8_t)v;
            break;
        case OPF_CAST: {
            tok ty = t[1];
            int arr = ty.len > 2 && ty.s[ty.len - 2] == '[' && ty.s[ty.len - 1] == ']';
            if (arr)
                ty.len -= 2;
            if (arr && teq(&ty, "boolean")) { c[1] = VM_T_BOOLEAN; vm_put16(c + 2, 0); }
            else if (arr && teq(&ty, "byte")) { c[1] = VM_T_BYTE; vm_put16(c + 2, 0); }
            else if (arr && teq(&ty, "short")) { c[1] = VM_T_SHORT; vm_put16(c + 2, 0); }
            else {
                int idx = cp_operand(a, ln, &ty, OP_new);
                if (idx < 0)
                    return -1;
                c[1] = arr ? VM_T_REFERENCE : VM_T_CLASS;
                vm_put16(c + 2, (uint16_t)idx);
            }
            break;
        }
        case OPF_TSWITCH: {
            long lo, hi;
            if (parse_range(a, ln, &t[1], -32768, 32767, &lo) || parse_range(a, ln, &t[2], -32768, 32767, &hi))
                return -1;
            if (hi - lo + 1 != n - 4) {
                TOKFAIL(a, ln, &t[0], "stableswitch %ld..%ld needs %ld labels, has %d", lo, hi, hi - lo + 1, n - 4);
                return -1;
            }
            if (branch_offset(a, ln, &t[3], pc, -32768, 32767, &v)) return -1;
            vm_put16(c + 1, (uint16_t)v);
            vm_put16(c + 3, (uint16_t)lo);
            vm_put16(c + 5, (uint16_t)hi);
            for (int i = 4; i < n; i++) {
                if (branch_offset(a, ln, &t[i], pc, -32768, 32767, &v)) return -1;
                vm_put16(c + 7 + 2 * (i - 4), (uint16_t)v);
            }
            break;
        }
        case OPF_LSWITCH: {
            if (branch_offset(a, ln, &t[1], pc, -32768, 32767, &v)) return -1;
            vm_put16(c + 1, (uint16_t)v);
            vm_put16(c + 3, (uint16_t)(n - 2));
            for (int i = 2; i < n; i++) {
                const char *colon = memchr(t[i].s, ':', (size_t)t[i].len);
                if (!colon) {
                    TOKFAIL(a, ln, &t[i], "expected key:label");
                    return -1;
                }
                tok key = { t[i].s, (int)(colon - t[i].s), t[i].col };
                tok lab = { colon + 1, t[i].len - key.len - 1, t[i].col + key.len + 1 };
                if (parse_range(a, ln, &key, -32768, 32767, &w) ||
                    branch_offset(a, ln, &lab, pc, -32768, 32767, &v))
                    return -1;
                vm_put16(c + 5 + 4 * (i - 2), (uint16_t)w);
                vm_put16(c + 7 + 4 * (i - 2), (uint16_t)v);
            }
            break;
        }
        }
        pc += size;
    }
    a->cur = NULL;
    if (m->locals < 0) {
        int need = m->max_local + 1 - m->args;
        m->locals = need > 0 ? need : 0;
    }
    return 0;
}

static int applet_method(A *a, const line *ln, const tok *t, int cls, const char *key, uint16_t *out, int required)
{
    for (int i = 3; i < ln->n; i++) {
        tok v;
        if (opt(&t[i], key, &v)) {
            int mi = find_method(a, &v, cls);
            if (mi < 0) {
                TOKFAIL(a, ln, &v, "unknown method '%.*s'", v.len, v.s);
                return -1;
            }
            *out = (uint16_t)mi;
            return 0;
        }
    }
    if (required) {
        TOKFAIL(a, ln, &t[0], ".applet needs %s=METHOD", key);
        return -1;
    }
    *out = 0xFFFF;
    return 0;
}

/* ---- output ---- */

typedef struct obuf {
    uint8_t *p;
    size_t n, cap;
    int oom;
} obuf;

static void put(obuf *b, const void *src, size_t n)
{
    if (b->oom)
        return;
    if (b->n + n > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 1024;
        while (cap < b->n + n)
            cap *= 2;
        uint8_t *q = realloc(b->p, cap);
        if (!q) {
            b->oom = 1;
            return;
        }
        b->p = q;
        b->cap = cap;
    }
    if (n) memcpy(b->p + b->n, src, n);   /* src may be NULL when n == 0 */
    b->n += n;
}

static void put8(obuf *b, unsigned v) { uint8_t x = (uint8_t)v; put(b, &x, 1); }
static void put16(obuf *b, unsigned v) { uint8_t x[2] = { (uint8_t)(v >> 8), (uint8_t)v }; put(b, x, 2); }

static void free_a(A *a)
{
    free(a->toks);
    free(a->lines);
    free(a->equs);
    free(a->statics);
    for (int i = 0; i < a->nclasses; i++)
        free(a->classes[i].fields);
    free(a->classes);
    for (int i = 0; i < a->nmethods; i++) {
        free(a->methods[i].labels);
        free(a->methods[i].code);
        free(a->methods[i].handlers);
    }
    free(a->methods);
    free(a->applet_lines);
    free(a->cp_lines);
    free(a->natives);
    free(a->cp);
}

int vm_asm(const char *src, size_t len, const char *name, const vm_extension *ext, uint8_t **out, size_t *out_len,
           char *err, size_t errlen)
{
    A a;
    memset(&a, 0, sizeof a);
    a.file = name ? name : "<input>";
    a.err = err;
    a.errlen = errlen;
    a.ext = ext;
    if (err && errlen)
        err[0] = 0;
    *out = NULL;
    *out_len = 0;
    obuf b = { 0 };
    vm_applet_decl applets[VM_MAX_APPLETS];
    size_t *stack_at = NULL;
    int rc = VM_ERR_VERIFY;

    if (lex(&a, src, len) != 0) {
        afail(&a, 0, 0, "out of memory");
        goto out;
    }
    if (pass1(&a) || build_vtables(&a) || explicit_cp(&a))
        goto out;
    for (int i = 0; i < a.nmethods; i++)
        if (encode_method(&a, &a.methods[i]))
            goto out;
    if (a.napplets > VM_MAX_APPLETS) {
        afail(&a, a.lines[a.applet_lines[VM_MAX_APPLETS]].no, 1, "too many applets (at most %d)", VM_MAX_APPLETS);
        goto out;
    }
    for (int i = 0; i < a.napplets; i++) {
        line *ln = &a.lines[a.applet_lines[i]];
        tok *t = &a.toks[ln->first];
        vm_applet_decl *d = &applets[i];
        if (ln->n < 4) {
            TOKFAIL(&a, ln, &t[0], ".applet AID CLASS install=M process=M [select=M] [deselect=M]");
            goto out;
        }
        if (parse_aid(&a, ln, &t[1], &d->aid))
            goto out;
        int ci = find_class(&a, &t[2]);
        if (ci < 0) {
            TOKFAIL(&a, ln, &t[2], "unknown class '%.*s'", t[2].len, t[2].s);
            goto out;
        }
        d->cls = (uint8_t)ci;
        if (applet_method(&a, ln, t, ci, "install", &d->install, 1) ||
            applet_method(&a, ln, t, ci, "process", &d->process, 1) ||
            applet_method(&a, ln, t, ci, "select", &d->select, 0) ||
            applet_method(&a, ln, t, ci, "deselect", &d->deselect, 0))
            goto out;
    }

    /* Emit. */
    put(&b, "CVPK", 4);
    put8(&b, VM_PKG_FORMAT);
    put8(&b, a.kind);
    put16(&b, 0);
    put8(&b, a.major);
    put8(&b, a.minor);
    put8(&b, a.aid.len);
    put(&b, a.aid.b, a.aid.len);
    put8(&b, (unsigned)a.nimports);
    for (int i = 0; i < a.nimports; i++) {
        put8(&b, a.imports[i].aid.len);
        put(&b, a.imports[i].aid.b, a.imports[i].aid.len);
        put8(&b, a.imports[i].major);
        put8(&b, a.imports[i].minor);
    }
    put16(&b, (unsigned)a.ncp);
    put(&b, a.cp, 4u * (unsigned)a.ncp);
    put8(&b, (unsigned)a.nclasses);
    for (int i = 0; i < a.nclasses; i++) {
        aclass *k = &a.classes[i];
        put16(&b, k->super);
        put8(&b, (unsigned)k->total_fields);
        put8(&b, (unsigned)k->nvt);
        for (int s = 0; s < k->nvt; s++)
            put16(&b, k->vt[s]);
    }
    put16(&b, (unsigned)a.nstatics);
    for (int i = 0; i < a.nstatics; i++)
        put16(&b, (unsigned)(a.statics[i].value & 0xFFFF));
    put16(&b, (unsigned)a.nmethods);
    stack_at = calloc((size_t)a.nmethods + 1, sizeof *stack_at);
    if (!stack_at)
        goto out;
    for (int i = 0; i < a.nmethods; i++) {
        amethod *m = &a.methods[i];
        if (m->args + m->locals > 255) {
            afail(&a, a.lines[m->decl_line].no, 1, "method '%.*s' has more than 255 locals", m->name.len, m->name.s);
            goto out;
        }
        if (m->code_len == 0 || m->code_len > VM_MAX_CODE) {
            afail(&a, a.lines[m->decl_line].no, 1, "method '%.*s' has %d bytes of code", m->name.len, m->name.s,
                  m->code_len);
            goto out;
        }
        put8(&b, m->flags);
        put8(&b, (unsigned)m->cls);
        put8(&b, (unsigned)m->args);
        put8(&b, (unsigned)m->locals);
        stack_at[i] = b.n;
        put8(&b, m->stack < 0 ? 255u : (unsigned)m->stack);
        put16(&b, (unsigned)m->code_len);
        put(&b, m->code, (size_t)m->code_len);
        put8(&b, (unsigned)m->nhandlers);
        put(&b, m->handlers, 8u * (unsigned)m->nhandlers);
    }
    put8(&b, (unsigned)a.napplets);
    for (int i = 0; i < a.napplets; i++) {
        put8(&b, applets[i].aid.len);
        put(&b, applets[i].aid.b, applets[i].aid.len);
        put8(&b, applets[i].cls);
        put16(&b, applets[i].install);
        put16(&b, applets[i].process);
        put16(&b, applets[i].select);
        put16(&b, applets[i].deselect);
    }
    uint8_t digest[32] = { 0 };
    put(&b, digest, 32);
    if (b.oom) {
        afail(&a, 0, 0, "out of memory");
        goto out;
    }
    vm_sha256(b.p, b.n - 32, b.p + b.n - 32);

    /* Max stack for methods that did not state it: the verifier's dataflow
     * on the package as built (with 255 as the provisional limit). */
    int any_auto = 0;
    for (int i = 0; i < a.nmethods; i++)
        any_auto |= a.methods[i].stack < 0;
    if (any_auto) {
        vm_package p;
        char verr[256];
        if (vm_pkg_parse(b.p, b.n, &p, verr, sizeof verr) != VM_OK) {
            afail(&a, 1, 1, "internal: built package does not parse: %s", verr);
            goto out;
        }
        for (int i = 0; i < a.nmethods && !a.failed; i++) {
            if (a.methods[i].stack >= 0)
                continue;
            int need = vm_method_stack_need(&p, &p.methods[i], ext, verr, sizeof verr);
            if (need < 0)
                afail(&a, a.lines[a.methods[i].decl_line].no, 1, "method '%.*s': %s", a.methods[i].name.len,
                      a.methods[i].name.s, verr);
            else
                b.p[stack_at[i]] = (uint8_t)need;
        }
        vm_pkg_free(&p);
        if (a.failed)
            goto out;
        vm_sha256(b.p, b.n - 32, b.p + b.n - 32);
    }
    *out = b.p;
    *out_len = b.n;
    b.p = NULL;
    rc = VM_OK;
out:
    free(stack_at);
    free(b.p);
    free_a(&a);
    return rc;
}
