/*
 * jca_asm.c — the JCA assembler: lexer, parser and emitter (tools/jca/jca.h).
 *
 * JCA is line-structured: every statement ends with ';' (or opens '{' /
 * closes '}') on its own line, and descriptors contain ';' themselves
 * ("(Ljava/lang/Object;)Z;"), so the lexer cuts a line into words at blanks
 * after dropping the comment and the statement's final ';'. Each word keeps
 * its column for error messages.
 *
 * The emitter lays the components out as Oracle's converter does (so that
 * its JCA gives its CAP byte for byte): classes and methods in the order of
 * the text, static fields by kind (initialized arrays, other references,
 * primitives with default value, then with a value), exception handlers in
 * method order.
 */
#include "jca.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_tokens.h"
#include "cap_format.h"
#include "opcodes.h"

/* ---- limits (a CAP is small; the card's own limits are lower) ---- */
#define MAXW 600          /* words on one line (a long stableswitch) */
#define MAX_IMPORTS 128
#define MAX_APPLETS 16
#define MAX_CP 4096
#define MAX_CLASSES 255
#define MAX_FIELDS 4096
#define MAX_METHODS 4096
#define MAX_LABELS 65536   /* labels may be named by bytecode pc */
#define MAX_NAME 256

typedef struct word {
    const char *s;
    size_t n;
    int col;
} word;

typedef struct line {
    word w[MAXW];
    int nw;
    int lineno;
    char closes;   /* '}' line */
    char opens;    /* last word was '{' (removed) */
} line;

typedef struct extref {   /* p.c or p.c.t */
    int pkg, cls, tok;
} extref;

typedef struct jfield {
    int cls;
    char name[MAX_NAME];
    char type[MAX_NAME];     /* as written: short, byte[], Shape, 0.0, 0.10[] */
    unsigned acc;            /* JC_ACC_* style: public 1 private 2 protected 4 static 8 final 16 */
    int token;               /* -1 none */
    int has_value, is_array_init;
    long value;
    long *values;            /* array initializer */
    int nvalues;
    int offset;              /* static image offset, -1 for constants */
    int line, col;
} jfield;

typedef struct jhandler {
    int start, end, handler;  /* label numbers */
    int catch_idx;
    int line, col;
} jhandler;

typedef struct jmethod {
    int cls;
    char name[MAX_NAME];
    char sig[MAX_NAME];      /* (SB)V */
    unsigned acc;            /* public 1 private 2 protected 4 static 8 final 16 abstract 0x40 */
    int token;               /* -1 none */
    int max_stack, max_locals;
    int is_init;
    /* body: kept as line range, assembled later */
    int first_line, nlines;  /* index into the package's saved lines */
    jhandler *handlers;
    int nhandlers;
    int offset;              /* method component offset */
    int code_offset, code_len;
    int line, col;
    /* `.line N;` marks (Debug component): pc where source line N starts */
    int *dbg_pc, *dbg_line;
    int ndbg;
} jmethod;

typedef struct jiface_impl {
    char iface[MAX_NAME];    /* name or p.c */
    int idx[64];
    int n;
} jiface_impl;

typedef struct jclass {
    char name[MAX_NAME];
    int is_interface, shareable;
    unsigned acc;            /* public 1, final 16, abstract 0x40 */
    int token;               /* -1: none */
    char super[MAX_NAME];    /* name or p.c; "" for none */
    char supers[16][MAX_NAME];  /* interfaces: superinterfaces */
    int nsupers;
    int pub_base, pkg_base;
    char pub_table[128][MAX_NAME];   /* name+sig */
    int npub;
    char pkg_table[128][MAX_NAME];
    int npkg;
    jiface_impl impls[16];
    int nimpls;
    int offset;              /* class component offset */
    int line, col;
    char source[MAX_NAME];   /* `.sourceFile NAME;` (Debug component), "" none */
} jclass;

typedef struct jcp {
    int kind;                /* enum cap_cp_tag */
    word w;                  /* the operand word (for errors) */
    char type[MAX_NAME];     /* field type for field refs */
    char ref[MAX_NAME];      /* the reference word */
    int line;
} jcp;

typedef struct jdesc {       /* ".descriptor Lname; p.c;" */
    char name[MAX_NAME];
    int pkg, cls;
} jdesc;

typedef struct saved_line {
    int lineno;
    size_t start, len;       /* into the source */
} saved_line;

typedef struct jca_pkg {
    const char *src;
    size_t srclen;
    const char *file;
    char *err;
    size_t errlen;
    int failed;

    char name[MAX_NAME];
    uint8_t aid[16], aid_len;
    int major, minor;
    int cap_major, cap_minor;
    struct { uint8_t aid[16], aid_len; int major, minor; } imports[MAX_IMPORTS];
    int nimports;
    struct { uint8_t aid[16], aid_len; char cls[MAX_NAME]; } applets[MAX_APPLETS];
    int napplets;
    jcp *cp;
    int ncp;
    jdesc *descs;
    int ndescs;
    jclass *classes;
    int nclasses;
    jfield *fields;
    int nfields;
    jmethod *methods;
    int nmethods;
    saved_line *lines;
    int nlines, maxlines;
    int uses_int;
    int has_debug;           /* a .line or .sourceFile: emit a Debug component */
    int debug_line, debug_col;   /* the first of them, for errors */
    int *line_at;            /* Method-info offset -> source line (jca_cap) */
    uint16_t *code_at;
    size_t method_len;
} jca_pkg;

/* ---------------------------------------------------------------- errors */

static int fail_at(jca_pkg *p, int lineno, int col, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int fail_at(jca_pkg *p, int lineno, int col, const char *fmt, ...)
{
    if (p->failed)
        return -1;
    p->failed = 1;
    int n = snprintf(p->err, p->errlen, "%s:%d:%d: ", p->file, lineno, col);
    if (n < 0 || (size_t)n >= p->errlen)
        return -1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->err + n, p->errlen - (size_t)n, fmt, ap);
    va_end(ap);
    return -1;
}

static int wfail(jca_pkg *p, const line *l, const word *w, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int wfail(jca_pkg *p, const line *l, const word *w, const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return fail_at(p, l->lineno, w ? w->col : 1, "%s", msg);
}

/* ----------------------------------------------------------------- lexer */

static int weq(const word *w, const char *s)
{
    return strlen(s) == w->n && memcmp(w->s, s, w->n) == 0;
}

static void wcopy(char *dst, size_t cap, const word *w)
{
    size_t n = w->n < cap - 1 ? w->n : cap - 1;
    memcpy(dst, w->s, n);
    dst[n] = 0;
}

/* Cut the line starting at src[pos] into words. Returns the position after
 * the line. */
static size_t lex_line(const char *src, size_t len, size_t pos, int lineno, line *l)
{
    size_t end = pos;
    while (end < len && src[end] != '\n')
        end++;
    size_t next = end < len ? end + 1 : end;
    /* drop the comment: "//" outside words never occurs inside a JCA token */
    size_t stop = end;
    for (size_t i = pos; i + 1 < end; i++)
        if (src[i] == '/' && src[i + 1] == '/') {
            stop = i;
            break;
        }
    while (stop > pos && isspace((unsigned char)src[stop - 1]))
        stop--;
    l->nw = 0;
    l->lineno = lineno;
    l->closes = l->opens = 0;
    size_t i = pos;
    while (i < stop && l->nw < MAXW) {
        while (i < stop && isspace((unsigned char)src[i]))
            i++;
        if (i >= stop)
            break;
        size_t b = i;
        while (i < stop && !isspace((unsigned char)src[i]))
            i++;
        word *w = &l->w[l->nw++];
        w->s = src + b;
        w->n = i - b;
        w->col = (int)(b - pos) + 1;
    }
    /* the statement's final ';' belongs to no word */
    if (l->nw > 0) {
        word *last = &l->w[l->nw - 1];
        if (weq(last, "{")) {
            l->opens = 1;
            l->nw--;
        } else if (weq(last, "}")) {
            l->closes = 1;
            l->nw--;
        } else if (last->n > 0 && last->s[last->n - 1] == ';') {
            last->n--;
            if (last->n == 0)
                l->nw--;
        }
    }
    return next;
}

/* --------------------------------------------------------------- numbers */

static int parse_long(const word *w, long *out)
{
    char buf[64];
    *out = 0;   /* defined on every path (-O3 -Werror=maybe-uninitialized) */
    if (w->n == 0 || w->n >= sizeof buf)
        return -1;
    memcpy(buf, w->s, w->n);
    buf[w->n] = 0;
    char *e;
    long v = strtol(buf, &e, 0);
    if (*e)
        return -1;
    *out = v;
    return 0;
}

static int parse_int_range(jca_pkg *p, const line *l, const word *w, long lo, long hi, const char *what, long *out)
{
    if (parse_long(w, out) != 0 || *out < lo || *out > hi) {
        wfail(p, l, w, "expected %s (%ld..%ld), found '%.*s'", what, lo, hi, (int)w->n, w->s);
        return -1;
    }
    return 0;
}

static int parse_aid(jca_pkg *p, const line *l, const word *w, uint8_t *aid, uint8_t *aid_len)
{
    size_t i = 0;
    int n = 0;
    while (i < w->n) {
        size_t b = i;
        while (i < w->n && w->s[i] != ':')
            i++;
        word part = { w->s + b, i - b, w->col + (int)b };
        long v;
        if (n >= 16 || parse_long(&part, &v) != 0 || v < 0 || v > 255)
            return wfail(p, l, &part, "expected an AID byte (0x00..0xFF, at most 16 separated by ':')");
        aid[n++] = (uint8_t)v;
        i++;
    }
    if (n < 5)
        return wfail(p, l, w, "expected an AID of 5 to 16 bytes");
    *aid_len = (uint8_t)n;
    return 0;
}

static int parse_version(jca_pkg *p, const line *l, const word *w, int *major, int *minor)
{
    const char *dot = memchr(w->s, '.', w->n);
    if (!dot)
        return wfail(p, l, w, "expected a version MAJOR.MINOR");
    word a = { w->s, (size_t)(dot - w->s), w->col }, b = { dot + 1, w->n - (size_t)(dot - w->s) - 1, 0 };
    long x, y;
    if (parse_long(&a, &x) || parse_long(&b, &y) || x < 0 || x > 255 || y < 0 || y > 255)
        return wfail(p, l, w, "expected a version MAJOR.MINOR");
    *major = (int)x;
    *minor = (int)y;
    return 0;
}

/* "p.c" or "p.c.t..." at the start of s: the numbers, count of them. */
static int parse_dotted(const char *s, size_t n, int *v, int max)
{
    int k = 0;
    size_t i = 0;
    while (i < n && k < max) {
        if (!isdigit((unsigned char)s[i]))
            break;
        int x = 0;
        while (i < n && isdigit((unsigned char)s[i]))
            x = x * 10 + (s[i++] - '0');
        v[k++] = x;
        if (i < n && s[i] == '.')
            i++;
        else
            break;
    }
    return k;
}

/* ------------------------------------------------------------ line store */

static int save_line(jca_pkg *p, size_t start, size_t len, int lineno)
{
    if (p->nlines == p->maxlines) {
        int nm = p->maxlines ? p->maxlines * 2 : 1024;
        saved_line *n = realloc(p->lines, (size_t)nm * sizeof *n);
        if (!n)
            return -1;
        p->lines = n;
        p->maxlines = nm;
    }
    p->lines[p->nlines].lineno = lineno;
    p->lines[p->nlines].start = start;
    p->lines[p->nlines].len = len;
    p->nlines++;
    return 0;
}

/* ----------------------------------------------------------------- types */

static int find_class(const jca_pkg *p, const char *name)
{
    for (int i = 0; i < p->nclasses; i++)
        if (strcmp(p->classes[i].name, name) == 0)
            return i;
    return -1;
}

static int find_desc(const jca_pkg *p, const char *name, size_t n)
{
    for (int i = 0; i < p->ndescs; i++)
        if (strlen(p->descs[i].name) == n && memcmp(p->descs[i].name, name, n) == 0)
            return i;
    return -1;
}

/* Words of the arguments of a descriptor "(SB[BLx;)V": 16-bit slots. */
static int sig_arg_words(const char *sig)
{
    int words = 0;
    const char *s = sig + 1;
    while (*s && *s != ')') {
        while (*s == '[')
            s++;
        if (*s == 'L') {
            while (*s && *s != ';')
                s++;
        }
        if (*s == 'I' && s[-1] != '[')
            words += 2;
        else
            words += 1;
        if (*s)
            s++;
    }
    return words;
}

/* Check a method descriptor "(args)result": the offset of the first
 * character that does not fit the grammar, or -1 when it is well formed. */
static int bad_descriptor_at(const char *s, size_t n)
{
    size_t i = 0;
    if (i >= n || s[i] != '(')
        return 0;
    i++;
    int in_args = 1;
    for (;;) {
        if (in_args && i < n && s[i] == ')') {
            in_args = 0;
            i++;
            if (i < n && s[i] == 'V')
                return i + 1 == n ? -1 : (int)i + 1;
            continue;
        }
        if (i >= n)
            return (int)i;
        if (s[i] == '[')
            i++;
        if (i >= n)
            return (int)i;
        if (strchr("ZBSI", s[i])) {
            i++;
        } else if (s[i] == 'L') {
            size_t b = ++i;
            while (i < n && s[i] != ';' && s[i] != '(' && s[i] != ')')
                i++;
            if (i >= n || s[i] != ';' || i == b)
                return (int)i;
            i++;
        } else {
            return (int)i;
        }
        if (!in_args)
            return i == n ? -1 : (int)i;
    }
}

/* ------------------------------------------------------------- parser */

static const char *const access_words[] = { "public", "private", "protected", "static", "final", "abstract" };
static const unsigned access_bits[] = { 0x01, 0x02, 0x04, 0x08, 0x10, 0x40 };

static unsigned take_access(const line *l, int *i)
{
    unsigned acc = 0;
    for (;;) {
        int hit = 0;
        for (size_t k = 0; *i < l->nw && k < sizeof access_words / sizeof *access_words; k++)
            if (weq(&l->w[*i], access_words[k])) {
                acc |= access_bits[k];
                (*i)++;
                hit = 1;
                break;
            }
        if (!hit)
            return acc;
    }
}

enum ctx {
    C_TOP, C_PACKAGE, C_IMPORTS, C_APPLET, C_CP, C_CLASS, C_SUPERIFACES, C_FIELDS, C_PUBTABLE, C_PKGTABLE,
    C_IMPLTABLE, C_IMPL, C_METHOD, C_EXCTABLE
};

static int parse_lines(jca_pkg *p, line *l)
{
    enum ctx stack[16];
    int depth = 0;
    stack[0] = C_TOP;
    size_t pos = 0;
    int lineno = 0;
    jclass *cls = NULL;
    jmethod *m = NULL;
    jiface_impl *impl = NULL;
    int saw_package = 0;
    while (pos < p->srclen && !p->failed) {
        size_t start = pos;
        lineno++;
        pos = lex_line(p->src, p->srclen, pos, lineno, l);
        enum ctx c = stack[depth];
        if (c == C_METHOD && l->nw > 0 && !weq(&l->w[0], ".exceptionTable") && !weq(&l->w[0], ".stack") &&
            !weq(&l->w[0], ".locals") && !weq(&l->w[0], ".descriptor")) {
            /* an instruction: kept for the second pass */
            if (m->nlines == 0)
                m->first_line = p->nlines;
            if (save_line(p, start, pos - start, lineno) != 0)
                return fail_at(p, lineno, 1, "out of memory");
            if (weq(&l->w[0], ".line") && !p->has_debug) {
                p->has_debug = 1;
                p->debug_line = lineno;
                p->debug_col = l->w[0].col;
            }
            m->nlines++;
            if (!l->closes)
                continue;
        }
        if (l->nw == 0 && !l->closes && !l->opens)
            continue;
        if (l->closes) {
            if (l->nw > 0 && c != C_METHOD)
                return wfail(p, l, &l->w[0], "expected ';' before '}'");
            if (depth == 0)
                return fail_at(p, lineno, 1, "'}' without an open block");
            if (stack[depth] == C_METHOD)
                m = NULL;
            depth--;
            continue;
        }
        const word *w0 = &l->w[0];
        int opens = l->opens;
#define EXPECT_OPEN(what)                                                           \
    do {                                                                            \
        if (!opens)                                                                 \
            return wfail(p, l, &l->w[l->nw - 1], "expected '{' after %s", what);    \
        if (depth + 1 >= 16)                                                        \
            return wfail(p, l, w0, "blocks nested too deep");                       \
    } while (0)
        switch (c) {
        case C_TOP:
            if (!weq(w0, ".package") || l->nw != 2)
                return wfail(p, l, w0, "expected '.package NAME {'");
            if (saw_package)
                return wfail(p, l, w0, "expected one package per file");
            EXPECT_OPEN(".package NAME");
            wcopy(p->name, sizeof p->name, &l->w[1]);
            saw_package = 1;
            stack[++depth] = C_PACKAGE;
            break;
        case C_PACKAGE:
            if (weq(w0, ".aid") && l->nw == 2) {
                if (parse_aid(p, l, &l->w[1], p->aid, &p->aid_len))
                    return -1;
            } else if (weq(w0, ".version") && l->nw == 2) {
                if (parse_version(p, l, &l->w[1], &p->major, &p->minor))
                    return -1;
            } else if (weq(w0, ".capFormat") && l->nw == 2) {
                int a, b;
                if (parse_version(p, l, &l->w[1], &a, &b))
                    return -1;
                if (!(a == 2 && (b == 1 || b == 2)))
                    return wfail(p, l, &l->w[1], "expected CAP format 2.1 or 2.2");
                if (!p->cap_major) {
                    p->cap_major = a;
                    p->cap_minor = b;
                }
            } else if (weq(w0, ".imports") && l->nw == 1) {
                EXPECT_OPEN(".imports");
                stack[++depth] = C_IMPORTS;
            } else if (weq(w0, ".applet") && l->nw == 1) {
                EXPECT_OPEN(".applet");
                stack[++depth] = C_APPLET;
            } else if (weq(w0, ".constantPool") && l->nw == 1) {
                EXPECT_OPEN(".constantPool");
                stack[++depth] = C_CP;
            } else if (weq(w0, ".class") || weq(w0, ".interface")) {
                EXPECT_OPEN("the class header");
                if (p->nclasses >= MAX_CLASSES)
                    return wfail(p, l, w0, "too many classes");
                cls = &p->classes[p->nclasses++];
                memset(cls, 0, sizeof *cls);
                cls->is_interface = weq(w0, ".interface");
                cls->line = lineno;
                cls->col = w0->col;
                int i = 1;
                cls->acc = take_access(l, &i);
                if (i >= l->nw)
                    return wfail(p, l, &l->w[l->nw - 1], "expected a class name");
                wcopy(cls->name, sizeof cls->name, &l->w[i++]);
                cls->token = -1;
                long t;
                if (i < l->nw && parse_long(&l->w[i], &t) == 0) {
                    if (t < 0 || t > 255)
                        return wfail(p, l, &l->w[i], "expected a class token (0..255)");
                    cls->token = (int)t;
                    i++;
                }
                if (!cls->is_interface) {
                    if (i + 1 >= l->nw || !weq(&l->w[i], "extends"))
                        return wfail(p, l, i < l->nw ? &l->w[i] : &l->w[l->nw - 1],
                                     "expected 'extends SUPERCLASS'");
                    wcopy(cls->super, sizeof cls->super, &l->w[i + 1]);
                    i += 2;
                }
                if (i != l->nw)
                    return wfail(p, l, &l->w[i], "expected '{' after the class header");
                stack[++depth] = C_CLASS;
            } else {
                return wfail(p, l, w0,
                             "expected .aid, .version, .imports, .applet, .constantPool, .class or .interface");
            }
            break;
        case C_IMPORTS:
            if (l->nw != 2)
                return wfail(p, l, w0, "expected 'AID MAJOR.MINOR;'");
            if (p->nimports >= MAX_IMPORTS)
                return wfail(p, l, w0, "too many imports");
            if (parse_aid(p, l, w0, p->imports[p->nimports].aid, &p->imports[p->nimports].aid_len) ||
                parse_version(p, l, &l->w[1], &p->imports[p->nimports].major, &p->imports[p->nimports].minor))
                return -1;
            p->nimports++;
            break;
        case C_APPLET:
            if (l->nw != 2)
                return wfail(p, l, w0, "expected 'AID CLASS;'");
            if (p->napplets >= MAX_APPLETS)
                return wfail(p, l, w0, "too many applets");
            if (parse_aid(p, l, w0, p->applets[p->napplets].aid, &p->applets[p->napplets].aid_len))
                return -1;
            wcopy(p->applets[p->napplets].cls, MAX_NAME, &l->w[1]);
            p->napplets++;
            break;
        case C_CP: {
            if (weq(w0, ".descriptor")) {
                if (l->nw != 3 || w0 == NULL)
                    return wfail(p, l, w0, "expected '.descriptor Lclass; P.C;'");
                int v[3];
                word n = l->w[1];
                if (n.n > 0 && n.s[n.n - 1] == ';')
                    n.n--;
                if (n.n > 0 && n.s[0] == 'L') {
                    n.s++;
                    n.n--;
                }
                if (parse_dotted(l->w[2].s, l->w[2].n, v, 3) != 2)
                    return wfail(p, l, &l->w[2], "expected a class token PACKAGE.CLASS");
                if (find_desc(p, n.s, n.n) < 0 && p->ndescs < MAX_CP) {
                    jdesc *d = &p->descs[p->ndescs++];
                    wcopy(d->name, sizeof d->name, &n);
                    d->pkg = v[0];
                    d->cls = v[1];
                }
                break;
            }
            static const struct { const char *name; int kind; int typed; } kinds[] = {
                { "classRef", CAP_CP_CLASSREF, 0 }, { ".classRef", CAP_CP_CLASSREF, 0 },
                { "instanceFieldRef", CAP_CP_INSTANCE_FIELDREF, 1 },
                { "virtualMethodRef", CAP_CP_VIRTUAL_METHODREF, 0 },
                { "superMethodRef", CAP_CP_SUPER_METHODREF, 0 },
                { "staticFieldRef", CAP_CP_STATIC_FIELDREF, 1 },
                { "staticMethodRef", CAP_CP_STATIC_METHODREF, 0 },
            };
            int k = -1;
            for (size_t i = 0; i < sizeof kinds / sizeof *kinds; i++)
                if (weq(w0, kinds[i].name))
                    k = (int)i;
            if (k < 0)
                return wfail(p, l, w0,
                             "expected a constant pool entry (classRef, instanceFieldRef, virtualMethodRef, "
                             "superMethodRef, staticFieldRef, staticMethodRef)");
            if (l->nw != 2 + kinds[k].typed)
                return wfail(p, l, w0, kinds[k].typed ? "expected '%s TYPE REFERENCE;'" : "expected '%s REFERENCE;'",
                             kinds[k].name);
            if (p->ncp >= MAX_CP)
                return wfail(p, l, w0, "too many constant pool entries");
            jcp *e = &p->cp[p->ncp++];
            memset(e, 0, sizeof *e);
            e->kind = kinds[k].kind;
            e->line = lineno;
            if (kinds[k].typed)
                wcopy(e->type, sizeof e->type, &l->w[1]);
            e->w = l->w[l->nw - 1];
            wcopy(e->ref, sizeof e->ref, &e->w);
            const char *paren = memchr(e->w.s, '(', e->w.n);
            if (paren) {
                size_t at = (size_t)(paren - e->w.s);
                int bad = bad_descriptor_at(paren, e->w.n - at);
                if (bad >= 0)
                    return fail_at(p, lineno, e->w.col + (int)at + bad,
                                   "bad descriptor '%.*s': expected (ARGS)RESULT of Z B S I Lclass; [type, V",
                                   (int)(e->w.n - at), paren);
            } else if (e->kind != CAP_CP_CLASSREF && e->kind != CAP_CP_INSTANCE_FIELDREF &&
                       e->kind != CAP_CP_STATIC_FIELDREF) {
                return wfail(p, l, &e->w, "expected a method reference with its descriptor, e.g. Class/name(S)V");
            }
            break;
        }
        case C_CLASS:
            if (weq(w0, ".shareable") && l->nw == 1) {
                cls->shareable = 1;
            } else if (weq(w0, ".sourceFile")) {
                if (l->nw != 2)
                    return wfail(p, l, w0, "expected '.sourceFile NAME;'");
                wcopy(cls->source, sizeof cls->source, &l->w[1]);
                if (!p->has_debug) {
                    p->has_debug = 1;
                    p->debug_line = lineno;
                    p->debug_col = w0->col;
                }
            } else if (weq(w0, ".superInterfaces")) {
                EXPECT_OPEN(".superInterfaces");
                stack[++depth] = C_SUPERIFACES;
            } else if (weq(w0, ".fields")) {
                EXPECT_OPEN(".fields");
                stack[++depth] = C_FIELDS;
            } else if (weq(w0, ".publicMethodTable") || weq(w0, ".packageMethodTable")) {
                int pub = weq(w0, ".publicMethodTable");
                long b;
                if (l->nw != 2)
                    return wfail(p, l, w0, "expected '%.*s BASE {'", (int)w0->n, w0->s);
                if (parse_int_range(p, l, &l->w[1], 0, 255, "the table's base token", &b))
                    return -1;
                EXPECT_OPEN("the method table");
                if (pub)
                    cls->pub_base = (int)b;
                else
                    cls->pkg_base = (int)b;
                stack[++depth] = pub ? C_PUBTABLE : C_PKGTABLE;
            } else if (weq(w0, ".implementedInterfaceInfoTable")) {
                EXPECT_OPEN(".implementedInterfaceInfoTable");
                stack[++depth] = C_IMPLTABLE;
            } else if (weq(w0, ".method")) {
                EXPECT_OPEN("the method header");
                if (p->nmethods >= MAX_METHODS)
                    return wfail(p, l, w0, "too many methods");
                m = &p->methods[p->nmethods++];
                memset(m, 0, sizeof *m);
                m->cls = (int)(cls - p->classes);
                m->line = lineno;
                m->col = w0->col;
                m->token = -1;
                int i = 1;
                m->acc = take_access(l, &i);
                if (i >= l->nw)
                    return wfail(p, l, w0, "expected NAME(ARGS)RESULT after .method");
                const word *nw = &l->w[i++];
                const char *paren = memchr(nw->s, '(', nw->n);
                const char *close = paren ? memchr(paren, ')', nw->n - (size_t)(paren - nw->s)) : NULL;
                if (!paren || paren == nw->s || !close || close + 1 >= nw->s + nw->n)
                    return wfail(p, l, nw, "expected a method NAME(ARGS)RESULT, found '%.*s'", (int)nw->n, nw->s);
                word nm = { nw->s, (size_t)(paren - nw->s), nw->col }, sg = { paren, nw->n - nm.n, 0 };
                int bad = bad_descriptor_at(sg.s, sg.n);
                if (bad >= 0)
                    return fail_at(p, lineno, nw->col + (int)nm.n + bad,
                                   "bad descriptor '%.*s': expected (ARGS)RESULT of Z B S I Lclass; [type, V",
                                   (int)sg.n, sg.s);
                wcopy(m->name, sizeof m->name, &nm);
                wcopy(m->sig, sizeof m->sig, &sg);
                m->is_init = strcmp(m->name, "<init>") == 0;
                if (i < l->nw) {
                    long t;
                    if (parse_int_range(p, l, &l->w[i], 0, 255, "a method token", &t))
                        return -1;
                    m->token = (int)t;
                    i++;
                }
                if (i != l->nw)
                    return wfail(p, l, &l->w[i], "expected '{' after the method header");
                stack[++depth] = C_METHOD;
            } else {
                return wfail(p, l, w0,
                             "expected .fields, .publicMethodTable, .packageMethodTable, "
                             ".implementedInterfaceInfoTable, .superInterfaces, .shareable or .method");
            }
            break;
        case C_SUPERIFACES:
            if (l->nw != 1 || cls->nsupers >= 16)
                return wfail(p, l, w0, "expected one interface per line");
            wcopy(cls->supers[cls->nsupers++], MAX_NAME, w0);
            break;
        case C_FIELDS: {
            if (p->nfields >= MAX_FIELDS)
                return wfail(p, l, w0, "too many fields");
            jfield *f = &p->fields[p->nfields];
            memset(f, 0, sizeof *f);
            f->cls = (int)(cls - p->classes);
            f->token = -1;
            f->offset = -1;
            f->line = lineno;
            f->col = w0->col;
            int i = 0;
            f->acc = take_access(l, &i);
            if (i + 1 >= l->nw)
                return wfail(p, l, &l->w[l->nw - 1], "expected 'TYPE NAME [TOKEN] [= VALUE];'");
            wcopy(f->type, sizeof f->type, &l->w[i++]);
            wcopy(f->name, sizeof f->name, &l->w[i++]);
            if (i < l->nw && !weq(&l->w[i], "=")) {
                long t;
                if (parse_int_range(p, l, &l->w[i], 0, 255, "a field token", &t))
                    return -1;
                f->token = (int)t;
                i++;
            }
            if (i < l->nw) {
                if (!weq(&l->w[i], "=") || i + 1 >= l->nw)
                    return wfail(p, l, &l->w[i], "expected '= VALUE'");
                i++;
                f->has_value = 1;
                if (l->w[i].n > 0 && l->w[i].s[0] == '{') {
                    /* {1,2,3} possibly spread over words */
                    f->is_array_init = 1;
                    char buf[8192];
                    size_t bl = 0;
                    int wi = i;
                    for (; wi < l->nw; wi++) {
                        if (bl + l->w[wi].n + 1 >= sizeof buf)
                            return wfail(p, l, &l->w[wi], "array initializer too long");
                        memcpy(buf + bl, l->w[wi].s, l->w[wi].n);
                        bl += l->w[wi].n;
                    }
                    buf[bl] = 0;
                    if (bl < 2 || buf[bl - 1] != '}')
                        return wfail(p, l, &l->w[i], "expected '{V, V, ...}'");
                    f->values = malloc(sizeof(long) * (bl + 1));
                    if (!f->values)
                        return wfail(p, l, w0, "out of memory");
                    char *s = buf + 1;
                    buf[bl - 1] = 0;
                    while (*s) {
                        char *e;
                        long v = strtol(s, &e, 0);
                        if (e == s)
                            return wfail(p, l, &l->w[i], "expected a number in the array initializer");
                        f->values[f->nvalues++] = v;
                        s = e;
                        if (*s == ',')
                            s++;
                        else if (*s)
                            return wfail(p, l, &l->w[i], "expected ',' in the array initializer");
                    }
                    i = l->nw;
                } else {
                    if (parse_long(&l->w[i], &f->value) != 0)
                        return wfail(p, l, &l->w[i], "expected a number or '{...}' after '='");
                    i++;
                }
            }
            if (i != l->nw)
                return wfail(p, l, &l->w[i], "expected ';' after the field");
            p->nfields++;
            break;
        }
        case C_PUBTABLE:
        case C_PKGTABLE:
            if (l->nw != 1)
                return wfail(p, l, w0, "expected one method NAME(ARGS)RESULT per line");
            if (c == C_PUBTABLE) {
                if (cls->npub >= 128)
                    return wfail(p, l, w0, "method table too long");
                wcopy(cls->pub_table[cls->npub++], MAX_NAME, w0);
            } else {
                if (cls->npkg >= 128)
                    return wfail(p, l, w0, "method table too long");
                wcopy(cls->pkg_table[cls->npkg++], MAX_NAME, w0);
            }
            break;
        case C_IMPLTABLE:
            if (!weq(w0, ".interface") || l->nw != 2)
                return wfail(p, l, w0, "expected '.interface NAME {'");
            EXPECT_OPEN(".interface NAME");
            if (cls->nimpls >= 16)
                return wfail(p, l, w0, "too many interfaces");
            impl = &cls->impls[cls->nimpls++];
            memset(impl, 0, sizeof *impl);
            wcopy(impl->iface, sizeof impl->iface, &l->w[1]);
            stack[++depth] = C_IMPL;
            break;
        case C_IMPL: {
            long v;
            if (l->nw != 1 || impl->n >= 64)
                return wfail(p, l, w0, "expected one method token per line");
            if (parse_int_range(p, l, w0, 0, 255, "a method token", &v))
                return -1;
            impl->idx[impl->n++] = (int)v;
            break;
        }
        case C_METHOD:
            if (weq(w0, ".stack") || weq(w0, ".locals")) {
                long v;
                if (l->nw != 2 || parse_int_range(p, l, &l->w[1], 0, 255, "a count", &v))
                    return p->failed ? -1 : wfail(p, l, w0, "expected '%.*s N;'", (int)w0->n, w0->s);
                if (weq(w0, ".stack"))
                    m->max_stack = (int)v;
                else
                    m->max_locals = (int)v;
            } else if (weq(w0, ".descriptor")) {
                int v[3];
                if (l->nw != 3 || parse_dotted(l->w[2].s, l->w[2].n, v, 3) != 2)
                    return wfail(p, l, w0, "expected '.descriptor Lclass; P.C;'");
                word n = l->w[1];
                if (n.n > 0 && n.s[n.n - 1] == ';')
                    n.n--;
                if (n.n > 0 && n.s[0] == 'L') {
                    n.s++;
                    n.n--;
                }
                if (find_desc(p, n.s, n.n) < 0 && p->ndescs < MAX_CP) {
                    jdesc *d = &p->descs[p->ndescs++];
                    wcopy(d->name, sizeof d->name, &n);
                    d->pkg = v[0];
                    d->cls = v[1];
                }
            } else if (weq(w0, ".exceptionTable")) {
                EXPECT_OPEN(".exceptionTable");
                stack[++depth] = C_EXCTABLE;
            }
            break;
        case C_EXCTABLE: {
            if (l->nw != 4)
                return wfail(p, l, w0, "expected 'START END HANDLER CATCH_INDEX;'");
            jhandler *n = realloc(m->handlers, (size_t)(m->nhandlers + 1) * sizeof *n);
            if (!n)
                return wfail(p, l, w0, "out of memory");
            m->handlers = n;
            jhandler *h = &m->handlers[m->nhandlers++];
            h->line = lineno;
            h->col = w0->col;
            int *dst[3] = { &h->start, &h->end, &h->handler };
            for (int i = 0; i < 3; i++) {
                long v;
                word lw = l->w[i];
                if (lw.n < 2 || lw.s[0] != 'L')
                    return wfail(p, l, &l->w[i], "expected a label (L<number>)");
                lw.s++;
                lw.n--;
                if (parse_long(&lw, &v) != 0 || v < 0 || v >= MAX_LABELS)
                    return wfail(p, l, &l->w[i], "expected a label (L<number>)");
                *dst[i] = (int)v;
            }
            long ci;
            if (parse_int_range(p, l, &l->w[3], 0, 65535, "a constant pool index (0 = any)", &ci))
                return -1;
            h->catch_idx = (int)ci;
            break;
        }
        }
    }
    if (p->failed)
        return -1;
    if (!saw_package)
        return fail_at(p, lineno ? lineno : 1, 1, "expected '.package NAME {'");
    if (depth != 0)
        return fail_at(p, lineno, 1, "expected '}' before the end of the file");
    if (!p->aid_len)
        return fail_at(p, 1, 1, "expected '.aid' in the package");
    return 0;
}

static int parse(jca_pkg *p)
{
    line *l = malloc(sizeof *l);
    if (!l)
        return fail_at(p, 1, 1, "out of memory");
    int rc = parse_lines(p, l);
    free(l);
    return rc;
}

/* ------------------------------------------------------------ byte buffer */

typedef struct buf {
    uint8_t *b;
    size_t n, cap;
    int oom;
} buf;

static void put(buf *b, const void *d, size_t n)
{
    if (b->oom)
        return;
    if (b->n + n > b->cap) {
        size_t nc = b->cap ? b->cap * 2 : 256;
        while (nc < b->n + n)
            nc *= 2;
        uint8_t *x = realloc(b->b, nc);
        if (!x) {
            b->oom = 1;
            return;
        }
        b->b = x;
        b->cap = nc;
    }
    memcpy(b->b + b->n, d, n);
    b->n += n;
}
static void u1(buf *b, unsigned v)
{
    uint8_t x = (uint8_t)v;
    put(b, &x, 1);
}
static void u2(buf *b, unsigned v)
{
    uint8_t x[2] = { (uint8_t)(v >> 8), (uint8_t)v };
    put(b, x, 2);
}
static void set2(buf *b, size_t at, unsigned v)
{
    if (!b->oom && at + 2 <= b->n) {
        b->b[at] = (uint8_t)(v >> 8);
        b->b[at + 1] = (uint8_t)v;
    }
}

/* ------------------------------------------------------------- resolving */

static int method_in_class(const jca_pkg *p, int cls, const char *name, const char *sig)
{
    for (int i = 0; i < p->nmethods; i++)
        if (p->methods[i].cls == cls && strcmp(p->methods[i].name, name) == 0 && strcmp(p->methods[i].sig, sig) == 0)
            return i;
    return -1;
}

/* Split "Class/name(sig)" (internal) into its parts. */
static int split_member(const char *ref, char *cls, char *name, char *sig)
{
    const char *slash = strchr(ref, '/');
    if (!slash)
        return -1;
    /* the class name has no '/' (it is package-relative); the member starts after the first '/' */
    size_t cn = (size_t)(slash - ref);
    if (cn == 0 || cn >= MAX_NAME)
        return -1;
    memcpy(cls, ref, cn);
    cls[cn] = 0;
    const char *paren = strchr(slash, '(');
    size_t nn = paren ? (size_t)(paren - slash - 1) : strlen(slash + 1);
    if (nn == 0 || nn >= MAX_NAME)
        return -1;
    memcpy(name, slash + 1, nn);
    name[nn] = 0;
    if (sig) {
        if (!paren || strlen(paren) >= MAX_NAME)
            return -1;
        strcpy(sig, paren);
    }
    return 0;
}

/* A class reference word: internal name -> class offset, "p.c" -> external. */
static int class_ref_of(jca_pkg *p, const char *s, int line, int col, uint16_t *out)
{
    int v[3];
    if (isdigit((unsigned char)s[0])) {
        if (parse_dotted(s, strlen(s), v, 3) != 2)
            return fail_at(p, line, col, "expected a class PACKAGE.CLASS token pair, found '%s'", s);
        if (v[0] >= p->nimports)
            return fail_at(p, line, col, "package token %d: the package imports %d packages", v[0], p->nimports);
        *out = (uint16_t)(((0x80 | v[0]) << 8) | (v[1] & 0xFF));
        return 0;
    }
    int c = find_class(p, s);
    if (c < 0)
        return fail_at(p, line, col, "expected a class of this package or PACKAGE.CLASS, found '%s'", s);
    *out = (uint16_t)p->classes[c].offset;
    return 0;
}

/* The virtual method token of name+sig in class c or its superclasses in this package. */
static int virtual_token(const jca_pkg *p, int c, const char *name, const char *sig)
{
    while (c >= 0) {
        int mi = method_in_class(p, c, name, sig);
        if (mi >= 0 && p->methods[mi].token >= 0)
            return p->methods[mi].token;
        c = isdigit((unsigned char)p->classes[c].super[0]) ? -1 : find_class(p, p->classes[c].super);
    }
    return -1;
}

static int field_index(const jca_pkg *p, int c, const char *name)
{
    for (int i = 0; i < p->nfields; i++)
        if (p->fields[i].cls == c && strcmp(p->fields[i].name, name) == 0)
            return i;
    return -1;
}

static int is_primitive_type(const char *t)
{
    return !strcmp(t, "boolean") || !strcmp(t, "byte") || !strcmp(t, "short") || !strcmp(t, "int");
}

/* A field with a compile-time constant: static final primitive with a value. */
static int is_constant(const jfield *f)
{
    return (f->acc & 0x18) == 0x18 && f->has_value && !f->is_array_init && is_primitive_type(f->type);
}

static int prim_size(const char *t)
{
    if (!strcmp(t, "int"))
        return 4;
    if (!strcmp(t, "short"))
        return 2;
    return 1;
}

/* ------------------------------------------------------------ code pass */

typedef struct opdef {
    const char *name;
    uint8_t code, fmt;
} opdef;

static const opdef opdefs[] = {
#define OPD(name, code, fmt, pop, push) { #name, code, fmt },
    VM_OPCODES(OPD) VM_CAP_ONLY_OPCODES(OPD)
#undef OPD
};

static const opdef *find_op(const word *w)
{
    for (size_t i = 0; i < sizeof opdefs / sizeof *opdefs; i++)
        if (weq(w, opdefs[i].name))
            return &opdefs[i];
    return NULL;
}

static int parse_label(const word *w, int *out)
{
    if (w->n < 2 || w->s[0] != 'L')
        return -1;
    word n = { w->s + 1, w->n - 1, 0 };
    long v;
    if (parse_long(&n, &v) != 0 || v < 0 || v >= MAX_LABELS)
        return -1;
    *out = (int)v;
    return 0;
}

typedef struct codectx {
    int labels[MAX_LABELS];
    int label_line[MAX_LABELS];
} codectx;

static int insn_size(const opdef *op, int nops)
{
    switch (op->fmt) {
    case OPF_NONE: return 1;
    case OPF_S1: case OPF_LOCAL: case OPF_CP1: case OPF_BR1: case OPF_MN: case OPF_ATYPE: return 2;
    case OPF_S2: case OPF_CP2: case OPF_BR2: case OPF_SINC: return 3;
    case OPF_SINCW: case OPF_CAST: return 4;
    case OPF_IFACE: return 5;
    case OPF_TSWITCH: return 7 + 2 * (nops > 3 ? nops - 3 : 0);
    case OPF_LSWITCH: return 5 + 4 * (nops > 2 ? (nops - 2) / 2 : 0);
    }
    return 1;
}

/* Assemble one method's code at method-component offset `base` into out;
 * record 1- and 2-byte constant-pool operand positions. */
static int assemble_code(jca_pkg *p, jmethod *m, codectx *cx, line *l, buf *out, int base, buf *ref1, buf *ref2,
                         int pass)
{
    int pc = 0;
    for (int li = 0; li < m->nlines; li++) {
        const saved_line *sl = &p->lines[m->first_line + li];
        lex_line(p->src, p->srclen, sl->start, sl->lineno, l);
        if (l->nw == 0)
            continue;
        int i = 0;
        const word *w = &l->w[0];
        if (weq(w, ".line")) {
            long ln;
            if (l->nw != 2)
                return wfail(p, l, w, "expected '.line NUMBER;'");
            if (parse_int_range(p, l, &l->w[1], 1, 65535, "a source line number", &ln))
                return -1;
            if (pass == 1) {
                int *np = realloc(m->dbg_pc, (size_t)(m->ndbg + 1) * sizeof *np);
                if (np)
                    m->dbg_pc = np;
                int *nl = realloc(m->dbg_line, (size_t)(m->ndbg + 1) * sizeof *nl);
                if (nl)
                    m->dbg_line = nl;
                if (!np || !nl)
                    return fail_at(p, l->lineno, 1, "out of memory");
                m->dbg_pc[m->ndbg] = pc;
                m->dbg_line[m->ndbg++] = (int)ln;
            }
            continue;
        }
        if (w->n > 1 && w->s[w->n - 1] == ':') {
            word lw = { w->s, w->n - 1, w->col };
            int lab;
            if (parse_label(&lw, &lab) != 0)
                return wfail(p, l, w, "expected a label L<number>: before the instruction");
            if (pass == 0) {
                if (cx->labels[lab] >= 0)
                    return wfail(p, l, w, "label L%d defined twice (first on line %d)", lab, cx->label_line[lab]);
                cx->labels[lab] = pc;
                cx->label_line[lab] = l->lineno;
            }
            i++;
        }
        if (i >= l->nw)
            continue;   /* a label alone: the end of the code (a handler's end) */
        const word *mw = &l->w[i];
        const opdef *op = find_op(mw);
        if (!op)
            return wfail(p, l, mw, "unknown mnemonic '%.*s': expected a Java Card instruction", (int)mw->n, mw->s);
        int nops = l->nw - i - 1;
        const word *ops = &l->w[i + 1];
        static const int want[] = {
            [OPF_NONE] = 0, [OPF_S1] = 1, [OPF_S2] = 1, [OPF_LOCAL] = 1, [OPF_CP1] = 1, [OPF_CP2] = 1,
            [OPF_BR1] = 1, [OPF_BR2] = 1, [OPF_SINC] = 2, [OPF_SINCW] = 2, [OPF_MN] = 1, [OPF_ATYPE] = 1,
            [OPF_CAST] = 2, [OPF_TSWITCH] = -1, [OPF_LSWITCH] = -1, [OPF_IFACE] = 3,
        };
        if (want[op->fmt] >= 0 && nops != want[op->fmt])
            return wfail(p, l, nops > want[op->fmt] ? &ops[want[op->fmt]] : mw, "%s takes %d operand%s, found %d",
                         op->name, want[op->fmt], want[op->fmt] == 1 ? "" : "s", nops);
        int size = insn_size(op, nops);
        if (pass == 1) {
            int at = base + pc;
            if (p->line_at && (size_t)at < p->method_len)
                p->line_at[at] = l->lineno;
            u1(out, op->code);
            long v = 0, v2 = 0;
            int lab;
            switch (op->fmt) {
            case OPF_NONE:
                break;
            case OPF_S1:
                if (parse_int_range(p, l, &ops[0], -128, 127, "a byte value", &v))
                    return -1;
                u1(out, (unsigned)v & 0xFF);
                break;
            case OPF_S2:
                if (parse_int_range(p, l, &ops[0], -32768, 65535, "a short value", &v))
                    return -1;
                u2(out, (unsigned)v & 0xFFFF);
                break;
            case OPF_LOCAL:
            case OPF_MN:
            case OPF_ATYPE:
                if (parse_int_range(p, l, &ops[0], 0, 255,
                                    op->fmt == OPF_LOCAL ? "a local variable index" : "a byte operand", &v))
                    return -1;
                u1(out, (unsigned)v);
                break;
            case OPF_CP1:
                if (parse_int_range(p, l, &ops[0], 0, 255, "a constant pool index", &v))
                    return -1;
                if (v >= p->ncp)
                    return wfail(p, l, &ops[0], "constant pool index %ld: the pool has %d entries", v, p->ncp);
                u1(out, (unsigned)v);
                u2(ref1, (unsigned)at + 1);
                break;
            case OPF_CP2:
                if (parse_int_range(p, l, &ops[0], 0, 65535, "a constant pool index", &v))
                    return -1;
                if (v >= p->ncp)
                    return wfail(p, l, &ops[0], "constant pool index %ld: the pool has %d entries", v, p->ncp);
                u2(out, (unsigned)v);
                u2(ref2, (unsigned)at + 1);
                break;
            case OPF_IFACE:
                if (parse_int_range(p, l, &ops[0], 0, 255, "the argument count", &v) ||
                    parse_int_range(p, l, &ops[1], 0, 65535, "a constant pool index", &v2))
                    return -1;
                if (v2 >= p->ncp)
                    return wfail(p, l, &ops[1], "constant pool index %ld: the pool has %d entries", v2, p->ncp);
                u1(out, (unsigned)v);
                u2(out, (unsigned)v2);
                u2(ref2, (unsigned)at + 2);
                if (parse_int_range(p, l, &ops[2], 0, 255, "a method token", &v))
                    return -1;
                u1(out, (unsigned)v);
                break;
            case OPF_CAST:
                if (parse_int_range(p, l, &ops[0], 0, 14, "an array type (0 class, 10..14)", &v) ||
                    parse_int_range(p, l, &ops[1], 0, 65535, "a constant pool index", &v2))
                    return -1;
                u1(out, (unsigned)v);
                u2(out, (unsigned)v2);
                if (v == 0 || v == 14) {
                    if (v2 >= p->ncp)
                        return wfail(p, l, &ops[1], "constant pool index %ld: the pool has %d entries", v2, p->ncp);
                    u2(ref2, (unsigned)at + 2);
                }
                break;
            case OPF_SINC:
                if (parse_int_range(p, l, &ops[0], 0, 255, "a local variable index", &v) ||
                    parse_int_range(p, l, &ops[1], -128, 127, "a byte increment", &v2))
                    return -1;
                u1(out, (unsigned)v);
                u1(out, (unsigned)v2 & 0xFF);
                break;
            case OPF_SINCW:
                if (parse_int_range(p, l, &ops[0], 0, 255, "a local variable index", &v) ||
                    parse_int_range(p, l, &ops[1], -32768, 32767, "a short increment", &v2))
                    return -1;
                u1(out, (unsigned)v);
                u2(out, (unsigned)v2 & 0xFFFF);
                break;
            case OPF_BR1:
            case OPF_BR2: {
                if (parse_label(&ops[0], &lab) != 0)
                    return wfail(p, l, &ops[0], "expected a label L<number>, found '%.*s'", (int)ops[0].n,
                                 ops[0].s);
                if (cx->labels[lab] < 0)
                    return wfail(p, l, &ops[0], "label L%d is not defined in this method", lab);
                int d = cx->labels[lab] - pc;
                if (op->fmt == OPF_BR1) {
                    if (d < -128 || d > 127)
                        return wfail(p, l, &ops[0], "label L%d is %d bytes away: expected -128..127 (use %s_w)", lab,
                                     d, op->name);
                    u1(out, (unsigned)d & 0xFF);
                } else {
                    u2(out, (unsigned)d & 0xFFFF);
                }
                break;
            }
            case OPF_TSWITCH:
            case OPF_LSWITCH: {
                if (nops < (op->fmt == OPF_TSWITCH ? 3 : 2))
                    return wfail(p, l, mw, "%s: expected its operands", op->name);
                if (parse_label(&ops[0], &lab) != 0 || cx->labels[lab] < 0)
                    return wfail(p, l, &ops[0], "expected a defined label as the default target");
                u2(out, (unsigned)(cx->labels[lab] - pc) & 0xFFFF);
                if (op->fmt == OPF_TSWITCH) {
                    long lo, hi;
                    if (parse_int_range(p, l, &ops[1], -32768, 32767, "the low index", &lo) ||
                        parse_int_range(p, l, &ops[2], -32768, 32767, "the high index", &hi))
                        return -1;
                    if (hi < lo || hi - lo + 1 != nops - 3)
                        return wfail(p, l, &ops[2], "expected %ld labels for %ld..%ld, found %d", hi - lo + 1, lo,
                                     hi, nops - 3);
                    u2(out, (unsigned)lo & 0xFFFF);
                    u2(out, (unsigned)hi & 0xFFFF);
                    for (int k = 3; k < nops; k++) {
                        if (parse_label(&ops[k], &lab) != 0 || cx->labels[lab] < 0)
                            return wfail(p, l, &ops[k], "expected a defined label");
                        u2(out, (unsigned)(cx->labels[lab] - pc) & 0xFFFF);
                    }
                } else {
                    long np;
                    if (parse_int_range(p, l, &ops[1], 0, 65535, "the pair count", &np))
                        return -1;
                    if (nops != 2 + 2 * np)
                        return wfail(p, l, &ops[1], "expected %ld MATCH LABEL pairs, found %d words", np, nops - 2);
                    u2(out, (unsigned)np);
                    for (int k = 2; k < nops; k += 2) {
                        long mv;
                        if (parse_int_range(p, l, &ops[k], -32768, 32767, "a match value", &mv))
                            return -1;
                        if (parse_label(&ops[k + 1], &lab) != 0 || cx->labels[lab] < 0)
                            return wfail(p, l, &ops[k + 1], "expected a defined label");
                        u2(out, (unsigned)mv & 0xFFFF);
                        u2(out, (unsigned)(cx->labels[lab] - pc) & 0xFFFF);
                    }
                }
                break;
            }
            }
        }
        pc += size;
    }
    m->code_len = pc;
    return 0;
}

/* ------------------------------------------------------------- emitting */

static void finish(buf *b, uint8_t tag, jca_cap *out)
{
    /* b holds the info; prefix tag and size */
    uint8_t *x = malloc(b->n + 3);
    if (!x) {
        b->oom = 1;
        return;
    }
    x[0] = tag;
    x[1] = (uint8_t)(b->n >> 8);
    x[2] = (uint8_t)b->n;
    if (b->n)
        memcpy(x + 3, b->b, b->n);
    out->component[tag] = x;
    out->component_len[tag] = b->n + 3;
}

static void put_deltas(buf *out, const buf *offs)
{
    unsigned last = 0;
    u2(out, 0);   /* patched below */
    size_t count_at = out->n - 2, count = 0;
    for (size_t i = 0; i + 1 < offs->n; i += 2) {
        unsigned o = (unsigned)((offs->b[i] << 8) | offs->b[i + 1]);
        unsigned d = o - last;
        /* 255 means "255 further, no operand here" (JCVM 6.11): a gap of
         * exactly 255 is 255 then 0 */
        while (d >= 255) {
            u1(out, 255);
            d -= 255;
            count++;
        }
        u1(out, d);
        count++;
        last = o;
    }
    set2(out, count_at, (unsigned)count);
}

/* Type descriptor nibbles of one type at *s (advances). */
static int type_nibbles(jca_pkg *p, const char **s, uint8_t *nib, int *nn, int line)
{
    const char *t = *s;
    int arr = 0;
    if (*t == '[') {
        arr = 1;
        t++;
    }
    uint8_t code;
    switch (*t) {
    case 'V': code = 1; break;
    case 'Z': code = arr ? 0xA : 2; break;
    case 'B': code = arr ? 0xB : 3; break;
    case 'S': code = arr ? 0xC : 4; break;
    case 'I': code = arr ? 0xD : 5; p->uses_int = 1; break;
    case 'L': {
        code = arr ? 0xE : 6;
        const char *semi = strchr(t, ';');
        if (!semi)
            return fail_at(p, line, 1, "bad descriptor: expected ';' after L%s", t + 1);
        nib[(*nn)++] = code;
        uint16_t ref = 0;
        size_t n = (size_t)(semi - t - 1);
        int d = find_desc(p, t + 1, n);
        size_t pl = strlen(p->name);
        if (n > pl && memcmp(t + 1, p->name, pl) == 0 && t[1 + pl] == '/') {
            char cn[MAX_NAME];
            size_t cl = n - pl - 1;
            if (cl >= sizeof cn)
                cl = sizeof cn - 1;
            memcpy(cn, t + 2 + pl, cl);
            cn[cl] = 0;
            int c = find_class(p, cn);
            if (c < 0)
                return fail_at(p, line, 1, "bad descriptor: class %s is not in this package", cn);
            ref = (uint16_t)p->classes[c].offset;
        } else if (d >= 0) {
            ref = (uint16_t)(((0x80 | p->descs[d].pkg) << 8) | p->descs[d].cls);
        } else {
            return fail_at(p, line, 1, "bad descriptor: no '.descriptor L%.*s; P.C;' gives the class's tokens",
                           (int)n, t + 1);
        }
        nib[(*nn)++] = (uint8_t)(ref >> 12);
        nib[(*nn)++] = (uint8_t)((ref >> 8) & 15);
        nib[(*nn)++] = (uint8_t)((ref >> 4) & 15);
        nib[(*nn)++] = (uint8_t)(ref & 15);
        *s = semi + 1;
        return 0;
    }
    default:
        return fail_at(p, line, 1, "bad descriptor: expected a type letter (ZBSIVL[), found '%c'", *t ? *t : '?');
    }
    nib[(*nn)++] = code;
    *s = t + 1;
    return 0;
}

/* A JCA field type word ("short", "byte[]", "Shape", "0.10", "0.10[]") as a descriptor string. */
static int field_type_desc(jca_pkg *p, const char *t, char *out, size_t cap, int line)
{
    size_t n = strlen(t);
    int arr = n > 2 && strcmp(t + n - 2, "[]") == 0;
    char base[MAX_NAME];
    snprintf(base, sizeof base, "%.*s", (int)(n - (arr ? 2 : 0)), t);
    const char *pre = arr ? "[" : "";
    if (!strcmp(base, "boolean")) snprintf(out, cap, "%sZ", pre);
    else if (!strcmp(base, "byte")) snprintf(out, cap, "%sB", pre);
    else if (!strcmp(base, "short")) snprintf(out, cap, "%sS", pre);
    else if (!strcmp(base, "int")) snprintf(out, cap, "%sI", pre);
    else if (isdigit((unsigned char)base[0])) {
        int v[3];
        if (parse_dotted(base, strlen(base), v, 3) != 2)
            return fail_at(p, line, 1, "bad field type '%s': expected PACKAGE.CLASS", t);
        /* find its name through the .descriptor table */
        for (int i = 0; i < p->ndescs; i++)
            if (p->descs[i].pkg == v[0] && p->descs[i].cls == v[1]) {
                snprintf(out, cap, "%sL%s;", pre, p->descs[i].name);
                return 0;
            }
        /* no name known: encode the tokens directly */
        snprintf(out, cap, "%s#%d.%d", pre, v[0], v[1]);
    } else {
        if (find_class(p, base) < 0)
            return fail_at(p, line, 1, "bad field type '%s': no class %s in this package", t, base);
        int n2 = snprintf(out, cap, "%sL%s/%s;", pre, p->name, base);
        if (n2 < 0 || (size_t)n2 >= cap)
            return fail_at(p, line, 1, "field type '%s': name too long", t);
    }
    return 0;
}

typedef struct typepool {
    buf bytes;               /* type_descriptor entries */
    char **keys;
    unsigned *offs;
    int n, cap;
} typepool;

/* Offset of the type descriptor of `desc` (a descriptor string, possibly a
 * method descriptor) in the pool, adding it when new. */
static int type_offset(jca_pkg *p, typepool *tp, const char *desc, size_t base, int line, unsigned *off)
{
    uint8_t nib[512];
    int nn = 0;
    const char *s = desc;
    if (*s == '(') {
        s++;
        while (*s && *s != ')' && nn < 500)
            if (type_nibbles(p, &s, nib, &nn, line))
                return -1;
        if (*s != ')')
            return fail_at(p, line, 1, "bad descriptor '%s': expected ')'", desc);
        s++;
    }
    if (*s == '#') {
        /* external class given by tokens only */
        int v[3], arr = 0;
        s++;
        parse_dotted(s, strlen(s), v, 3);
        (void)arr;
        nib[nn++] = 6;
        uint16_t ref = (uint16_t)(((0x80 | v[0]) << 8) | v[1]);
        nib[nn++] = (uint8_t)(ref >> 12);
        nib[nn++] = (uint8_t)((ref >> 8) & 15);
        nib[nn++] = (uint8_t)((ref >> 4) & 15);
        nib[nn++] = (uint8_t)(ref & 15);
    } else if (s[0] == '[' && s[1] == '#') {
        int v[3];
        parse_dotted(s + 2, strlen(s + 2), v, 3);
        nib[nn++] = 0xE;
        uint16_t ref = (uint16_t)(((0x80 | v[0]) << 8) | v[1]);
        nib[nn++] = (uint8_t)(ref >> 12);
        nib[nn++] = (uint8_t)((ref >> 8) & 15);
        nib[nn++] = (uint8_t)((ref >> 4) & 15);
        nib[nn++] = (uint8_t)(ref & 15);
    } else if (type_nibbles(p, &s, nib, &nn, line)) {
        return -1;
    }
    if (nn > 255)
        return fail_at(p, line, 1, "descriptor '%s' too long for a type descriptor (%d nibbles, at most 255)", desc,
                       nn);
    /* one entry per encoding: "()[B" and "[B" encode alike and share it */
    uint8_t enc[260];
    size_t el = 0;
    enc[el++] = (uint8_t)nn;
    for (int i = 0; i < nn && el < sizeof enc; i += 2)
        enc[el++] = (uint8_t)((nib[i] << 4) | (i + 1 < nn ? nib[i + 1] : 0));
    for (int i = 0; i < tp->n; i++) {
        size_t at = tp->offs[i] - base;
        if (at + el <= tp->bytes.n && memcmp(tp->bytes.b + at, enc, el) == 0) {
            *off = tp->offs[i];
            return 0;
        }
    }
    if (tp->n == tp->cap) {
        int nc = tp->cap ? tp->cap * 2 : 64;
        char **k = realloc(tp->keys, (size_t)nc * sizeof *k);
        if (!k)
            return -1;
        tp->keys = k;
        unsigned *o = realloc(tp->offs, (size_t)nc * sizeof *o);
        if (!o)
            return -1;
        tp->offs = o;
        tp->cap = nc;
    }
    tp->keys[tp->n] = strdup(desc);
    *off = (unsigned)(base + tp->bytes.n);
    tp->offs[tp->n++] = *off;
    put(&tp->bytes, enc, el);
    return 0;
}

static unsigned prim_type_code(const char *desc)
{
    switch (desc[0]) {
    case 'Z': return 0x8002;
    case 'B': return 0x8003;
    case 'S': return 0x8004;
    case 'I': return 0x8005;
    }
    return 0;
}

typedef struct emit_bufs {
    buf b, meth, ref1, ref2, cpb, cl, sf, rl, ex, de, ap, im, hd, di, dbg;
} emit_bufs;

/* ---- the Debug component (JCVM 3.0.5 §6.14), from .sourceFile / .line ----
 * Class and method names, the source file per class, and per method the
 * line table the `.line` marks give; no field or local variable tables. */
typedef struct strings {
    char **s;
    int n;
    int oom;
} strings;

static unsigned string_index(strings *t, const char *v)
{
    for (int i = 0; i < t->n; i++)
        if (!strcmp(t->s[i], v))
            return (unsigned)i;
    char **ns = realloc(t->s, (size_t)(t->n + 1) * sizeof *ns);
    size_t len = strlen(v);
    char *c = ns ? malloc(len + 1) : NULL;
    if (c)
        memcpy(c, v, len + 1);
    if (!c) {
        if (ns)
            t->s = ns;
        t->oom = 1;
        return 0;
    }
    t->s = ns;
    t->s[t->n] = c;
    return (unsigned)t->n++;
}

/* A class reference as a name: "pkg/Class" for the package's own, the API
 * name for an imported API class, else as written. */
static void class_name_of(const jca_pkg *p, const char *ref, char *out, size_t cap)
{
    int c = find_class(p, ref);
    if (c >= 0) {
        snprintf(out, cap, "%s/%s", p->name, p->classes[c].name);
        return;
    }
    int pk, cl;
    if (sscanf(ref, "%d.%d", &pk, &cl) == 2 && pk >= 0 && pk < p->nimports) {
        const jc_api_package *ap = jc_api_find_package(p->imports[pk].aid, p->imports[pk].aid_len);
        const jc_api_class *ac = ap ? jc_api_class_by_token(ap, (uint8_t)cl) : NULL;
        if (ac && ac->name) {
            snprintf(out, cap, "%s", ac->name);
            return;
        }
        /* a user library's class: named by a .descriptor line */
        for (int i = 0; i < p->ndescs; i++)
            if (p->descs[i].pkg == pk && p->descs[i].cls == cl) {
                snprintf(out, cap, "%s", p->descs[i].name);
                return;
            }
    }
    snprintf(out, cap, "%s", ref[0] ? ref : "java/lang/Object");
}

/* A field's type as a JVM descriptor for the Debug component. */
static void debug_type(const jca_pkg *p, const char *t, char *out, size_t cap)
{
    size_t n = strlen(t);
    int arr = n > 2 && strcmp(t + n - 2, "[]") == 0;
    char base[MAX_NAME], cls[2 * MAX_NAME + 2];
    snprintf(base, sizeof base, "%.*s", (int)(n - (arr ? 2 : 0)), t);
    const char *pre = arr ? "[" : "";
    if (!strcmp(base, "boolean")) snprintf(out, cap, "%sZ", pre);
    else if (!strcmp(base, "byte")) snprintf(out, cap, "%sB", pre);
    else if (!strcmp(base, "short")) snprintf(out, cap, "%sS", pre);
    else if (!strcmp(base, "int")) snprintf(out, cap, "%sI", pre);
    else {
        class_name_of(p, base, cls, sizeof cls);
        snprintf(out, cap, "%sL%.*s;", pre, (int)(cap > 8 ? cap - 8 : 0), cls);
    }
}

/* Java access flags of the Debug component from the JCA modifiers. */
static unsigned java_access(unsigned acc, int is_interface)
{
    return (acc & 0x1F) | ((acc & 0x40) ? 0x400u : 0u) | (is_interface ? 0x600u : 0u);
}

/* The Debug component's interface names of class i, as the converter
 * writes them: an interface's superinterfaces; a class's interfaces with
 * those of its superclasses (within the package, and an API superclass's).
 * A user library's interface is left out unless a .descriptor line names
 * it: JCA refers to it by tokens only. */
static unsigned debug_interfaces(const jca_pkg *p, int i, strings *t, unsigned idx[64])
{
    unsigned n = 0;
    char name[2 * MAX_NAME + 2];
    for (int c = i, depth = 0; c >= 0 && depth < 256; depth++) {
        const jclass *k = &p->classes[c];
        int count = k->is_interface ? k->nsupers : k->nimpls;
        for (int j = 0; j < count && n < 64; j++) {
            class_name_of(p, k->is_interface ? k->supers[j] : k->impls[j].iface, name, sizeof name);
            if (isdigit((unsigned char)name[0]))
                continue;       /* a user library's interface that the JCA does not name */
            unsigned s = string_index(t, name), seen = 0;
            for (unsigned x = 0; x < n; x++)
                seen |= idx[x] == s;
            if (!seen)
                idx[n++] = s;
        }
        if (k->is_interface)
            break;
        c = find_class(p, k->super);
        if (c < 0) {
            class_name_of(p, k->super, name, sizeof name);
            const jc_api_class *ac = jc_api_class_by_name(name, NULL);
            for (const char *const *x = ac ? ac->interfaces : NULL; x && *x && n < 64; x++) {
                unsigned s = string_index(t, *x), seen = 0;
                for (unsigned y = 0; y < n; y++)
                    seen |= idx[y] == s;
                if (!seen)
                    idx[n++] = s;
            }
        }
    }
    return n;
}

static int emit_debug(jca_pkg *p, buf *out)
{
    strings t = { NULL, 0, 0 };
    buf body = { 0 };
    char name[2 * MAX_NAME + 2];
    unsigned pkg_name = string_index(&t, p->name);
    u2(&body, pkg_name);
    u2(&body, (unsigned)p->nclasses);
    for (int i = 0; i < p->nclasses; i++) {
        const jclass *c = &p->classes[i];
        int nm = 0, nf = 0;
        for (int k = 0; k < p->nmethods; k++)
            nm += p->methods[k].cls == i;
        for (int k = 0; k < p->nfields; k++)
            nf += p->fields[k].cls == i;
        snprintf(name, sizeof name, "%s/%s", p->name, c->name);
        u2(&body, string_index(&t, name));
        u2(&body, java_access(c->acc, c->is_interface) | (c->shareable ? 0x800u : 0u));
        u2(&body, (unsigned)c->offset);
        class_name_of(p, c->is_interface ? "" : c->super, name, sizeof name);
        u2(&body, string_index(&t, name));
        u2(&body, string_index(&t, c->source));
        unsigned ifs[64], nif = debug_interfaces(p, i, &t, ifs);
        u1(&body, nif);
        u2(&body, (unsigned)nf);
        u2(&body, (unsigned)nm);
        for (unsigned k = 0; k < nif; k++)
            u2(&body, ifs[k]);
        for (int k = 0; k < p->nfields; k++) {
            const jfield *f = &p->fields[k];
            if (f->cls != i)
                continue;
            char desc[2 * MAX_NAME + 8];
            debug_type(p, f->type, desc, sizeof desc);
            u2(&body, string_index(&t, f->name));
            u2(&body, string_index(&t, desc));
            u2(&body, f->acc & 0x1F);
            if (is_constant(f)) {                 /* the value */
                uint32_t v = (uint32_t)(int32_t)f->value;
                u2(&body, v >> 16);
                u2(&body, v & 0xFFFF);
            } else if (f->acc & 0x08) {           /* static: its image offset */
                u2(&body, 0);
                u2(&body, f->offset < 0 ? 0u : (unsigned)f->offset);
            } else {                              /* instance: its token */
                u2(&body, 0);
                u2(&body, f->token < 0 ? 0u : (unsigned)f->token);
            }
        }
        for (int k = 0; k < p->nmethods; k++) {
            const jmethod *m = &p->methods[k];
            if (m->cls != i)
                continue;
            u2(&body, string_index(&t, m->name));
            u2(&body, string_index(&t, m->sig));
            u2(&body, java_access(m->acc, 0) & ~0x200u);
            /* an abstract method has no code: location and sizes 0 */
            int abstract = (m->acc & 0x40) || c->is_interface;
            u2(&body, abstract ? 0u : (unsigned)m->offset);
            u1(&body, abstract ? 0u : (unsigned)(m->code_offset - m->offset));
            u2(&body, abstract ? 0u : (unsigned)m->code_len);
            u2(&body, 0);                      /* variables */
            int n = 0;
            for (int d = 0; d < m->ndbg; d++)
                n += (d + 1 < m->ndbg ? m->dbg_pc[d + 1] : m->code_len) > m->dbg_pc[d];
            u2(&body, (unsigned)n);
            for (int d = 0; d < m->ndbg; d++) {
                int end = d + 1 < m->ndbg ? m->dbg_pc[d + 1] : m->code_len;
                if (end <= m->dbg_pc[d])
                    continue;                  /* a mark with no code after it */
                u2(&body, (unsigned)m->dbg_pc[d]);
                u2(&body, (unsigned)(end - 1));
                u2(&body, (unsigned)m->dbg_line[d]);
            }
        }
    }
    u2(out, (unsigned)t.n);
    for (int i = 0; i < t.n; i++) {
        size_t n = strlen(t.s[i]);
        u2(out, (unsigned)n);
        put(out, t.s[i], n);
    }
    put(out, body.b, body.n);
    int oom = t.oom || body.oom;
    for (int i = 0; i < t.n; i++)
        free(t.s[i]);
    free(t.s);
    free(body.b);
    if (out->n > 0xFFFF)
        return fail_at(p, 1, 1, "the Debug component is larger than 65535 bytes");
    return oom ? fail_at(p, 1, 1, "out of memory") : 0;
}

static int emit_components(jca_pkg *p, jca_cap *out, emit_bufs *B)
{
    int v21 = !(p->cap_major == 2 && p->cap_minor == 2);

    /* --- Class component layout (offsets needed everywhere) --- */
    {
        int off = v21 ? 0 : 2;
        for (int i = 0; i < p->nclasses; i++) {
            jclass *c = &p->classes[i];
            c->offset = off;
            if (c->is_interface) {
                off += 1 + 2 * c->nsupers;
            } else {
                int npub = c->npub - c->pub_base, npk = c->npkg - c->pkg_base;
                if (npub < 0) npub = 0;
                if (npk < 0) npk = 0;
                off += 1 + 2 + 1 + 1 + 1 + 4 + 2 * npub + 2 * npk;
                for (int k = 0; k < c->nimpls; k++)
                    off += 3 + c->impls[k].n;
            }
        }
    }

    /* --- Method component: handlers, then methods in text order --- */
    codectx *cx = malloc(sizeof *cx);
    line *l = malloc(sizeof *l);
    if (!cx || !l) {
        free(cx);
        free(l);
        return fail_at(p, 1, 1, "out of memory");
    }
    int nh = 0;
    for (int i = 0; i < p->nmethods; i++)
        if (!p->classes[p->methods[i].cls].is_interface)
            nh += p->methods[i].nhandlers;
    if (nh > 255) {
        free(cx);
        free(l);
        return fail_at(p, 1, 1, "too many exception handlers (%d, at most 255)", nh);
    }
    int off = 1 + 8 * nh;
    /* pass 0: sizes and labels, to know every method's offset */
    for (int i = 0; i < p->nmethods && !p->failed; i++) {
        jmethod *m = &p->methods[i];
        if (p->classes[m->cls].is_interface)
            continue;
        for (int k = 0; k < MAX_LABELS; k++)
            cx->labels[k] = -1;
        assemble_code(p, m, cx, l, NULL, 0, NULL, NULL, 0);
        int nargs = sig_arg_words(m->sig) + ((m->acc & 0x08) ? 0 : 1);
        int ext = m->max_stack > 15 || nargs > 15 || m->max_locals > 15;
        m->offset = off;
        int hdr = (m->acc & 0x40) ? 2 : (ext ? 4 : 2);
        m->code_offset = off + hdr;
        off += hdr + ((m->acc & 0x40) ? 0 : m->code_len);
    }
    if (p->failed) {
        free(cx);
        free(l);
        return -1;
    }
    p->method_len = (size_t)off;
    p->line_at = calloc((size_t)off + 1, sizeof *p->line_at);
    p->code_at = calloc((size_t)off + 1, sizeof *p->code_at);
    u1(&B->meth, (unsigned)nh);
    for (int i = 0; i < p->nmethods; i++) {
        jmethod *m = &p->methods[i];
        if (p->classes[m->cls].is_interface || !m->nhandlers)
            continue;
        for (int k = 0; k < MAX_LABELS; k++)
            cx->labels[k] = -1;
        assemble_code(p, m, cx, l, NULL, 0, NULL, NULL, 0);
        for (int h = 0; h < m->nhandlers; h++) {
            jhandler *x = &m->handlers[h];
            int lab[3] = { x->start, x->end, x->handler };
            for (int k = 0; k < 3; k++)
                if (cx->labels[lab[k]] < 0) {
                    free(cx);
                    free(l);
                    return fail_at(p, x->line, x->col, "label L%d is not defined in this method", lab[k]);
                }
            int s = cx->labels[x->start], e = cx->labels[x->end];
            int stop = 1;
            for (int j = h + 1; j < m->nhandlers; j++) {
                int s2 = cx->labels[m->handlers[j].start], e2 = cx->labels[m->handlers[j].end];
                if (s2 >= 0 && e2 >= 0 && s2 <= s && e2 >= e)
                    stop = 0;
            }
            u2(&B->meth, (unsigned)(m->code_offset + s));
            u2(&B->meth, (unsigned)((stop << 15) | ((e - s) & 0x7FFF)));
            u2(&B->meth, (unsigned)(m->code_offset + cx->labels[x->handler]));
            if (x->catch_idx)
                u2(&B->ref2, (unsigned)B->meth.n);   /* the catch type is a constant-pool index too */
            u2(&B->meth, (unsigned)x->catch_idx);
        }
    }
    for (int i = 0; i < p->nmethods && !p->failed; i++) {
        jmethod *m = &p->methods[i];
        if (p->classes[m->cls].is_interface)
            continue;
        int nargs = sig_arg_words(m->sig) + ((m->acc & 0x08) ? 0 : 1);
        if (p->line_at && p->code_at && (size_t)m->offset < p->method_len) {
            p->line_at[m->offset] = m->line;
            p->code_at[m->offset] = (uint16_t)m->code_offset;
        }
        if (m->acc & 0x40) {
            /* abstract: a header only, with the argument count */
            u1(&B->meth, 0x40);
            u1(&B->meth, (unsigned)(nargs << 4));
            continue;
        }
        int ext = m->max_stack > 15 || nargs > 15 || m->max_locals > 15;
        if (ext) {
            u1(&B->meth, 0x80);
            u1(&B->meth, (unsigned)m->max_stack);
            u1(&B->meth, (unsigned)nargs);
            u1(&B->meth, (unsigned)m->max_locals);
        } else {
            u1(&B->meth, (unsigned)m->max_stack);
            u1(&B->meth, (unsigned)((nargs << 4) | m->max_locals));
        }
        for (int k = 0; k < MAX_LABELS; k++)
            cx->labels[k] = -1;
        assemble_code(p, m, cx, l, NULL, 0, NULL, NULL, 0);
        assemble_code(p, m, cx, l, &B->meth, m->code_offset, &B->ref1, &B->ref2, 1);
    }
    free(cx);
    free(l);
    if (p->failed)
        return -1;

    /* --- static field image layout --- */
    int img = 0, nrefs = 0, n_arr = 0, arr_size = 0, ndef = 0, nnondef = 0;
    for (int pass = 0; pass < 4; pass++)
        for (int i = 0; i < p->nfields; i++) {
            jfield *f = &p->fields[i];
            if (!(f->acc & 0x08) || is_constant(f))
                continue;
            int ref = !is_primitive_type(f->type);
            int want = ref ? (f->is_array_init ? 0 : 1) : (f->has_value ? 3 : 2);
            if (want != pass)
                continue;
            f->offset = img;
            if (ref) {
                img += 2;
                nrefs++;
                if (f->is_array_init) {
                    n_arr++;
                    char el[MAX_NAME];
                    snprintf(el, sizeof el, "%.*s", (int)(strlen(f->type) > 2 ? strlen(f->type) - 2 : 0), f->type);
                    arr_size += f->nvalues * prim_size(el);
                }
            } else {
                img += prim_size(f->type);
                if (f->has_value)
                    nnondef += prim_size(f->type);
                else
                    ndef += prim_size(f->type);
            }
        }

    /* --- ConstantPool --- */
    u2(&B->cpb, (unsigned)p->ncp);
    for (int i = 0; i < p->ncp && !p->failed; i++) {
        jcp *e = &p->cp[i];
        u1(&B->cpb, (unsigned)e->kind);
        int v[4];
        int nd = parse_dotted(e->ref, strlen(e->ref), v, 4);
        int ext = isdigit((unsigned char)e->ref[0]);
        char cn[MAX_NAME], mn[MAX_NAME], sg[MAX_NAME];
        uint16_t cref;
        if (e->kind == CAP_CP_CLASSREF) {
            if (class_ref_of(p, e->ref, e->line, e->w.col, &cref))
                break;
            u2(&B->cpb, cref);
            u1(&B->cpb, 0);
            continue;
        }
        if (ext) {
            if (nd != 3)
                return fail_at(p, e->line, e->w.col, "expected PACKAGE.CLASS.TOKEN, found '%s'", e->ref);
            if (v[0] >= p->nimports)
                return fail_at(p, e->line, e->w.col, "package token %d: the package imports %d packages", v[0],
                               p->nimports);
            if (e->kind == CAP_CP_STATIC_FIELDREF || e->kind == CAP_CP_STATIC_METHODREF) {
                u1(&B->cpb, (unsigned)(0x80 | v[0]));
                u1(&B->cpb, (unsigned)v[1]);
                u1(&B->cpb, (unsigned)v[2]);
            } else {
                u2(&B->cpb, (unsigned)(((0x80 | v[0]) << 8) | v[1]));
                u1(&B->cpb, (unsigned)v[2]);
            }
            continue;
        }
        int is_method = e->kind != CAP_CP_INSTANCE_FIELDREF && e->kind != CAP_CP_STATIC_FIELDREF;
        if (split_member(e->ref, cn, mn, is_method ? sg : NULL) != 0)
            return fail_at(p, e->line, e->w.col, "expected CLASS/MEMBER%s or PACKAGE.CLASS.TOKEN, found '%s'",
                           is_method ? "(ARGS)RESULT" : "", e->ref);
        int c = find_class(p, cn);
        if (c < 0)
            return fail_at(p, e->line, e->w.col, "no class '%s' in this package", cn);
        switch (e->kind) {
        case CAP_CP_INSTANCE_FIELDREF:
        case CAP_CP_STATIC_FIELDREF: {
            int fi = field_index(p, c, mn);
            if (fi < 0)
                return fail_at(p, e->line, e->w.col, "class %s has no field '%s'", cn, mn);
            jfield *f = &p->fields[fi];
            if (e->kind == CAP_CP_INSTANCE_FIELDREF) {
                if (f->acc & 0x08)
                    return fail_at(p, e->line, e->w.col, "field %s/%s is static: expected staticFieldRef", cn, mn);
                u2(&B->cpb, (unsigned)p->classes[c].offset);
                u1(&B->cpb, (unsigned)f->token);
            } else {
                if (!(f->acc & 0x08) || f->offset < 0)
                    return fail_at(p, e->line, e->w.col, "field %s/%s has no place in the static image", cn, mn);
                u1(&B->cpb, 0);
                u2(&B->cpb, (unsigned)f->offset);
            }
            break;
        }
        case CAP_CP_STATIC_METHODREF: {
            int mi = method_in_class(p, c, mn, sg);
            if (mi < 0)
                return fail_at(p, e->line, e->w.col, "class %s has no method %s%s", cn, mn, sg);
            u1(&B->cpb, 0);
            u2(&B->cpb, (unsigned)p->methods[mi].offset);
            break;
        }
        case CAP_CP_VIRTUAL_METHODREF:
        case CAP_CP_SUPER_METHODREF: {
            int t = virtual_token(p, c, mn, sg);
            if (t < 0) {
                /* a method inherited from an external class: its token by
                 * name from the class's method tables */
                for (int k = 0; k < p->classes[c].npub && t < 0; k++) {
                    char full[MAX_NAME * 2];
                    snprintf(full, sizeof full, "%s%s", mn, sg);
                    if (!strcmp(p->classes[c].pub_table[k], full))
                        t = k;
                }
                for (int k = 0; k < p->classes[c].npkg && t < 0; k++) {
                    char full[MAX_NAME * 2];
                    snprintf(full, sizeof full, "%s%s", mn, sg);
                    if (!strcmp(p->classes[c].pkg_table[k], full))
                        t = 0x80 | k;
                }
            }
            if (t < 0)
                return fail_at(p, e->line, e->w.col, "class %s has no virtual method %s%s", cn, mn, sg);
            u2(&B->cpb, (unsigned)p->classes[c].offset);
            u1(&B->cpb, (unsigned)t);
            break;
        }
        }
    }
    if (p->failed)
        return -1;

    /* --- Class component --- */
    if (!v21)
        u2(&B->cl, 0);   /* signature_pool_length: no remote interfaces */
    for (int i = 0; i < p->nclasses && !p->failed; i++) {
        jclass *c = &p->classes[i];
        uint16_t r;
        if (c->is_interface) {
            u1(&B->cl, (unsigned)((0x8 | (c->shareable ? 0x4 : 0)) << 4 | (unsigned)c->nsupers));
            for (int k = 0; k < c->nsupers; k++) {
                if (class_ref_of(p, c->supers[k], c->line, c->col, &r))
                    return -1;
                u2(&B->cl, r);
            }
            continue;
        }
        u1(&B->cl, (unsigned)(((c->shareable ? 0x4 : 0) << 4) | (unsigned)c->nimpls));
        if (class_ref_of(p, c->super, c->line, c->col, &r))
            return -1;
        u2(&B->cl, r);
        int size = 0, first_ref = -1, nref = 0;
        for (int k = 0; k < p->nfields; k++) {
            jfield *f = &p->fields[k];
            if (f->cls != i || (f->acc & 0x08))
                continue;
            size += !strcmp(f->type, "int") ? 2 : 1;
            if (!is_primitive_type(f->type)) {
                nref++;
                if (first_ref < 0 || f->token < first_ref)
                    first_ref = f->token;
            }
        }
        u1(&B->cl, (unsigned)size);
        u1(&B->cl, first_ref < 0 ? 0xFF : (unsigned)first_ref);
        u1(&B->cl, (unsigned)nref);
        int npub = c->npub - c->pub_base, npk = c->npkg - c->pkg_base;
        if (npub < 0) npub = 0;
        if (npk < 0) npk = 0;
        u1(&B->cl, (unsigned)c->pub_base);
        u1(&B->cl, (unsigned)npub);
        u1(&B->cl, (unsigned)c->pkg_base);
        u1(&B->cl, (unsigned)npk);
        for (int t = 0; t < 2; t++) {
            int base = t ? c->pkg_base : c->pub_base, n = t ? c->npkg : c->npub;
            for (int k = base; k < n; k++) {
                const char *full = t ? c->pkg_table[k] : c->pub_table[k];
                const char *paren = strchr(full, '(');
                char mn[MAX_NAME];
                size_t nn = paren ? (size_t)(paren - full) : strlen(full);
                snprintf(mn, sizeof mn, "%.*s", (int)nn, full);
                unsigned mo = 0xFFFF;
                for (int cc = i; cc >= 0 && mo == 0xFFFF;) {
                    int mi = paren ? method_in_class(p, cc, mn, paren) : -1;
                    if (mi >= 0)
                        mo = (unsigned)p->methods[mi].offset;
                    cc = isdigit((unsigned char)p->classes[cc].super[0]) ? -1 : find_class(p, p->classes[cc].super);
                }
                u2(&B->cl, mo);
            }
        }
        for (int k = 0; k < c->nimpls; k++) {
            if (class_ref_of(p, c->impls[k].iface, c->line, c->col, &r))
                return -1;
            u2(&B->cl, r);
            u1(&B->cl, (unsigned)c->impls[k].n);
            for (int j = 0; j < c->impls[k].n; j++)
                u1(&B->cl, (unsigned)c->impls[k].idx[j]);
        }
    }
    if (p->failed)
        return -1;

    /* --- StaticField --- */
    u2(&B->sf, (unsigned)img);
    u2(&B->sf, (unsigned)nrefs);
    u2(&B->sf, (unsigned)n_arr);
    for (int i = 0; i < p->nfields; i++) {
        jfield *f = &p->fields[i];
        if (!(f->acc & 0x08) || !f->is_array_init || f->offset < 0)
            continue;
    }
    /* array inits in image order */
    for (int o = 0; o < img; o++)
        for (int i = 0; i < p->nfields; i++) {
            jfield *f = &p->fields[i];
            if (f->offset != o || !(f->acc & 0x08) || !f->is_array_init || is_constant(f))
                continue;
            char el[MAX_NAME];
            snprintf(el, sizeof el, "%s", f->type);
            size_t n = strlen(el);
            if (n > 2)
                el[n - 2] = 0;
            int es = prim_size(el);
            unsigned ty = !strcmp(el, "boolean") ? 2 : !strcmp(el, "byte") ? 3 : !strcmp(el, "short") ? 4 : 5;
            u1(&B->sf, ty);
            u2(&B->sf, (unsigned)(f->nvalues * es));
            for (int k = 0; k < f->nvalues; k++) {
                unsigned long v = (unsigned long)f->values[k];
                for (int s = es - 1; s >= 0; s--)
                    u1(&B->sf, (unsigned)((v >> (8 * s)) & 0xFF));
            }
        }
    u2(&B->sf, (unsigned)ndef);
    u2(&B->sf, (unsigned)nnondef);
    for (int o = 0; o < img; o++)
        for (int i = 0; i < p->nfields; i++) {
            jfield *f = &p->fields[i];
            if (f->offset != o || !(f->acc & 0x08) || is_constant(f) || !f->has_value || f->is_array_init)
                continue;
            int es = prim_size(f->type);
            for (int s = es - 1; s >= 0; s--)
                u1(&B->sf, (unsigned)(((unsigned long)f->value >> (8 * s)) & 0xFF));
        }

    /* --- RefLocation --- */
    put_deltas(&B->rl, &B->ref1);
    put_deltas(&B->rl, &B->ref2);

    /* --- Export: public classes and interfaces with their public/protected statics --- */
    int has_export = 0;
    {
        int nexp = 0;
        for (int i = 0; i < p->nclasses; i++)
            if (p->classes[i].acc & 0x01)
                nexp++;
        /* an applet package exports only when it has a shareable interface */
        int any_shareable_iface = 0;
        for (int i = 0; i < p->nclasses; i++)
            if (p->classes[i].is_interface && p->classes[i].shareable && (p->classes[i].acc & 1))
                any_shareable_iface = 1;
        has_export = nexp > 0 && (p->napplets == 0 || any_shareable_iface);
        if (has_export) {
            u1(&B->ex, (unsigned)nexp);
            for (int t = 0; t < 256; t++)
                for (int i = 0; i < p->nclasses; i++) {
                    jclass *c = &p->classes[i];
                    if (!(c->acc & 0x01) || c->token != t)
                        continue;
                    u2(&B->ex, (unsigned)c->offset);
                    int nf = 0, nm = 0;
                    for (int k = 0; k < p->nfields; k++)
                        if (p->fields[k].cls == i && (p->fields[k].acc & 0x08) && (p->fields[k].acc & 0x05) &&
                            !is_constant(&p->fields[k]))
                            nf++;
                    for (int k = 0; k < p->nmethods; k++)
                        if (p->methods[k].cls == i && (p->methods[k].acc & 0x05) &&
                            ((p->methods[k].acc & 0x08) || p->methods[k].is_init))
                            nm++;
                    u1(&B->ex, (unsigned)nf);
                    u1(&B->ex, (unsigned)nm);
                    for (int tok = 0; tok < 256; tok++)
                        for (int k = 0; k < p->nfields; k++)
                            if (p->fields[k].cls == i && (p->fields[k].acc & 0x08) && (p->fields[k].acc & 0x05) &&
                                !is_constant(&p->fields[k]) && p->fields[k].token == tok)
                                u2(&B->ex, (unsigned)p->fields[k].offset);
                    for (int tok = 0; tok < 256; tok++)
                        for (int k = 0; k < p->nmethods; k++)
                            if (p->methods[k].cls == i && (p->methods[k].acc & 0x05) &&
                                ((p->methods[k].acc & 0x08) || p->methods[k].is_init) && p->methods[k].token == tok)
                                u2(&B->ex, (unsigned)p->methods[k].offset);
                }
        }
    }

    /* --- Descriptor --- */
    {
        typepool tp = { 0 };
        size_t tbase = 2 + 2 * (size_t)p->ncp;
        unsigned *cpt = calloc((size_t)p->ncp + 1, sizeof *cpt);
        if (!cpt)
            return fail_at(p, 1, 1, "out of memory");
        for (int i = 0; i < p->ncp && !p->failed; i++) {
            jcp *e = &p->cp[i];
            char d[MAX_NAME * 2];
            unsigned o = 0xFFFF;
            if (e->kind == CAP_CP_CLASSREF) {
                cpt[i] = 0xFFFF;
                continue;
            }
            if (e->kind == CAP_CP_INSTANCE_FIELDREF || e->kind == CAP_CP_STATIC_FIELDREF) {
                if (field_type_desc(p, e->type, d, sizeof d, e->line))
                    break;
            } else {
                const char *paren = strchr(e->ref, '(');
                snprintf(d, sizeof d, "%s", paren ? paren : "()V");
            }
            if (type_offset(p, &tp, d, tbase, e->line, &o))
                break;
            cpt[i] = o;
        }
        u1(&B->de, (unsigned)p->nclasses);
        for (int i = 0; i < p->nclasses && !p->failed; i++) {
            jclass *c = &p->classes[i];
            unsigned acc = (c->acc & 0x01) | (c->acc & 0x10) | (c->is_interface ? 0x40 : 0) |
                           ((c->acc & 0x40) || c->is_interface ? 0x80 : 0);
            u1(&B->de, c->token < 0 ? 0xFF : (unsigned)c->token);
            u1(&B->de, acc);
            u2(&B->de, (unsigned)c->offset);
            /* the converter lists no superinterfaces for an interface */
            int nif = c->is_interface ? 0 : c->nimpls;
            u1(&B->de, (unsigned)nif);
            int nf = 0, nm = 0;
            for (int k = 0; k < p->nfields; k++)
                if (p->fields[k].cls == i && !is_constant(&p->fields[k]))
                    nf++;
            for (int k = 0; k < p->nmethods; k++)
                if (p->methods[k].cls == i)
                    nm++;
            u2(&B->de, (unsigned)nf);
            u2(&B->de, (unsigned)nm);
            for (int k = 0; k < nif; k++) {
                uint16_t r;
                if (class_ref_of(p, c->is_interface ? c->supers[k] : c->impls[k].iface, c->line, c->col, &r))
                    break;
                u2(&B->de, r);
            }
            /* static fields in image order, then instance fields by token */
            int order[MAX_FIELDS / 8];
            int no = 0;
            for (int key = 0; key < 0x10000 && no < (int)(sizeof order / sizeof *order); key++) {
                int any_left = 0;
                for (int k = 0; k < p->nfields; k++) {
                    jfield *f = &p->fields[k];
                    if (f->cls != i || is_constant(f))
                        continue;
                    int fk = (f->acc & 0x08) ? f->offset : 0x8000 + f->token;
                    if (fk > key)
                        any_left = 1;
                    if (fk == key && no < (int)(sizeof order / sizeof *order))
                        order[no++] = k;
                }
                if (!any_left)
                    break;
            }
            for (int oi = 0; oi < no && !p->failed; oi++) {
                jfield *f = &p->fields[order[oi]];
                u1(&B->de, f->token < 0 ? 0xFF : (unsigned)f->token);
                u1(&B->de, f->acc & 0x1F);
                if (f->acc & 0x08) {
                    u1(&B->de, 0);
                    u2(&B->de, (unsigned)f->offset);
                } else {
                    u2(&B->de, (unsigned)c->offset);
                    u1(&B->de, (unsigned)f->token);
                }
                char d[MAX_NAME * 2];
                if (field_type_desc(p, f->type, d, sizeof d, f->line))
                    break;
                unsigned pt = prim_type_code(d);
                if (!pt) {
                    unsigned o;
                    if (type_offset(p, &tp, d, tbase, f->line, &o))
                        break;
                    pt = o;
                }
                u2(&B->de, pt);
            }
            int hidx = 0;
            for (int k = 0; k < p->nmethods; k++) {
                jmethod *m = &p->methods[k];
                if (m->cls < i && !p->classes[m->cls].is_interface)
                    hidx += m->nhandlers;
            }
            for (int k = 0; k < p->nmethods && !p->failed; k++) {
                jmethod *m = &p->methods[k];
                if (m->cls != i)
                    continue;
                unsigned o;
                if (type_offset(p, &tp, m->sig, tbase, m->line, &o))
                    break;
                u1(&B->de, m->token < 0 ? 0xFF : (unsigned)m->token);
                u1(&B->de, (m->acc & 0x5F) | (m->is_init ? 0x80 : 0));
                u2(&B->de, c->is_interface ? 0 : (unsigned)m->offset);
                u2(&B->de, o);
                u2(&B->de, (c->is_interface || (m->acc & 0x40)) ? 0 : (unsigned)m->code_len);
                u2(&B->de, (unsigned)m->nhandlers);
                u2(&B->de, m->nhandlers ? (unsigned)hidx : 0);
                hidx += m->nhandlers;
            }
        }
        u2(&B->de, (unsigned)p->ncp);
        for (int i = 0; i < p->ncp; i++)
            u2(&B->de, cpt[i]);
        put(&B->de, tp.bytes.b, tp.bytes.n);
        free(cpt);
        for (int i = 0; i < tp.n; i++)
            free(tp.keys[i]);
        free(tp.keys);
        free(tp.offs);
        free(tp.bytes.b);
    }
    if (p->failed)
        return -1;

    /* --- Applet --- */
    if (p->napplets) {
        u1(&B->ap, (unsigned)p->napplets);
        for (int i = 0; i < p->napplets; i++) {
            int c = find_class(p, p->applets[i].cls);
            int mi = c >= 0 ? method_in_class(p, c, "install", "([BSB)V") : -1;
            if (mi < 0)
                return fail_at(p, 1, 1, "applet class %s: expected a class with install([BSB)V",
                               p->applets[i].cls);
            u1(&B->ap, p->applets[i].aid_len);
            put(&B->ap, p->applets[i].aid, p->applets[i].aid_len);
            u2(&B->ap, (unsigned)p->methods[mi].offset);
        }
    }

    /* --- Import --- */
    u1(&B->im, (unsigned)p->nimports);
    for (int i = 0; i < p->nimports; i++) {
        u1(&B->im, (unsigned)p->imports[i].minor);
        u1(&B->im, (unsigned)p->imports[i].major);
        u1(&B->im, p->imports[i].aid_len);
        put(&B->im, p->imports[i].aid, p->imports[i].aid_len);
    }

    /* --- Header --- */
    u2(&B->hd, 0xDECA);
    u2(&B->hd, 0xFFED);
    u1(&B->hd, v21 ? 1 : 2);
    u1(&B->hd, 2);
    u1(&B->hd, (unsigned)((p->uses_int ? 1 : 0) | (has_export ? 2 : 0) | (p->napplets ? 4 : 0)));
    u1(&B->hd, (unsigned)p->minor);
    u1(&B->hd, (unsigned)p->major);
    u1(&B->hd, p->aid_len);
    put(&B->hd, p->aid, p->aid_len);
    if (!v21) {
        u1(&B->hd, (unsigned)strlen(p->name));
        put(&B->hd, p->name, strlen(p->name));
    }

    finish(&B->hd, CAP_Header, out);
    if (p->napplets)
        finish(&B->ap, CAP_Applet, out);
    finish(&B->im, CAP_Import, out);
    finish(&B->cpb, CAP_ConstantPool, out);
    finish(&B->cl, CAP_Class, out);
    finish(&B->meth, CAP_Method, out);
    finish(&B->sf, CAP_StaticField, out);
    finish(&B->rl, CAP_RefLocation, out);
    if (has_export)
        finish(&B->ex, CAP_Export, out);
    finish(&B->de, CAP_Descriptor, out);
    if (p->has_debug) {
        if (v21)
            return fail_at(p, p->debug_line, p->debug_col,
                           "a Debug component (.sourceFile, .line) needs CAP format 2.2: add "
                           "'.capFormat 2.2;' to the package");
        if (emit_debug(p, &B->dbg) != 0)
            return -1;
        finish(&B->dbg, CAP_Debug, out);
    }

    /* --- Directory --- */
    for (int t = 1; t <= (v21 ? 11 : 12); t++)
        u2(&B->di, out->component[t] ? (unsigned)(out->component_len[t] - 3) : 0);
    u2(&B->di, (unsigned)img);
    u2(&B->di, (unsigned)n_arr);
    u2(&B->di, (unsigned)arr_size);
    u1(&B->di, (unsigned)p->nimports);
    u1(&B->di, (unsigned)p->napplets);
    u1(&B->di, 0);
    /* its own size is known only now: 2.1 has 11 sizes (+9), 2.2 12 */
    set2(&B->di, 2, (unsigned)B->di.n);
    finish(&B->di, CAP_Directory, out);

    int oom = B->hd.oom || B->ap.oom || B->im.oom || B->cpb.oom || B->cl.oom || B->meth.oom || B->sf.oom ||
              B->rl.oom || B->ex.oom || B->de.oom || B->di.oom || B->ref1.oom || B->ref2.oom;
    if (oom)
        return fail_at(p, 1, 1, "out of memory");
    snprintf(out->package_path, sizeof out->package_path, "%s", p->name);
    out->line_at = p->line_at;
    out->code_at = p->code_at;
    out->method_len = p->method_len;
    p->line_at = NULL;
    p->code_at = NULL;
    return 0;
}

int jca_source_line(const jca_cap *c, const char *msg)
{
    const char *at = msg ? strstr(msg, "Method offset ") : NULL;
    if (!at || !c->line_at || !c->code_at)
        return 0;
    unsigned m, cls, tok, pc;
    unsigned long off;
    if (sscanf(at, "Method offset %u (class %u method %u) pc %u", &m, &cls, &tok, &pc) == 4) {
        if (m >= c->method_len)
            return 0;
        off = (unsigned long)c->code_at[m] + pc;
    } else if (sscanf(at, "Method offset %u", &m) == 1) {
        off = m;
    } else {
        return 0;
    }
    /* an offset inside an instruction: the instruction's line */
    while (off > 0 && off < c->method_len && !c->line_at[off])
        off--;
    return off < c->method_len ? c->line_at[off] : 0;
}

/* The components, with every buffer freed on success and on failure. */
static int emit(jca_pkg *p, jca_cap *out)
{
    emit_bufs *B = calloc(1, sizeof *B);
    if (!B)
        return fail_at(p, 1, 1, "out of memory");
    int rc = emit_components(p, out, B);
    buf *all[] = { &B->b, &B->meth, &B->ref1, &B->ref2, &B->cpb, &B->cl, &B->sf, &B->rl,
                   &B->ex, &B->de, &B->ap, &B->im, &B->hd, &B->di, &B->dbg };
    for (size_t i = 0; i < sizeof all / sizeof *all; i++)
        free(all[i]->b);
    free(B);
    return rc;
}

void jca_cap_free(jca_cap *c)
{
    if (!c)
        return;
    for (int i = 0; i <= JCA_MAX_TAG; i++) {
        free(c->component[i]);
        c->component[i] = NULL;
        c->component_len[i] = 0;
    }
    free(c->line_at);
    free(c->code_at);
    c->line_at = NULL;
    c->code_at = NULL;
    c->method_len = 0;
}

int jca_assemble(const char *src, size_t len, const char *filename, const jca_options *opt, jca_cap *out,
                 char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    jca_pkg *p = calloc(1, sizeof *p);
    if (!p) {
        snprintf(err, errlen, "%s: out of memory", filename);
        return -1;
    }
    p->src = src;
    p->srclen = len;
    p->file = filename;
    p->err = err;
    p->errlen = errlen;
    if (opt && opt->cap_major) {
        p->cap_major = opt->cap_major;
        p->cap_minor = opt->cap_minor;
    }
    p->cp = calloc(MAX_CP, sizeof *p->cp);
    p->descs = calloc(MAX_CP, sizeof *p->descs);
    p->classes = calloc(MAX_CLASSES, sizeof *p->classes);
    p->fields = calloc(MAX_FIELDS, sizeof *p->fields);
    p->methods = calloc(MAX_METHODS, sizeof *p->methods);
    int rc;
    if (!p->cp || !p->descs || !p->classes || !p->fields || !p->methods)
        rc = fail_at(p, 1, 1, "out of memory");
    else
        rc = parse(p);
    if (rc == 0)
        rc = emit(p, out);
    if (rc != 0)
        jca_cap_free(out);
    for (int i = 0; p->fields && i < p->nfields; i++)
        free(p->fields[i].values);
    for (int i = 0; p->methods && i < p->nmethods; i++) {
        free(p->methods[i].handlers);
        free(p->methods[i].dbg_pc);
        free(p->methods[i].dbg_line);
    }
    free(p->cp);
    free(p->descs);
    free(p->classes);
    free(p->fields);
    free(p->methods);
    free(p->lines);
    free(p->line_at);
    free(p->code_at);
    free(p);
    return rc == 0 ? 0 : -1;
}

int jca_load_file(const jca_cap *c, uint8_t **bytes, size_t *len)
{
    size_t n = 0;
    for (int t = 1; t <= JCA_MAX_TAG; t++)
        if (t != CAP_Debug)
            n += c->component_len[t];
    uint8_t *x = malloc(n ? n : 1);
    if (!x)
        return -1;
    size_t at = 0;
    for (int order = 0; order <= JCA_MAX_TAG; order++)
        for (int t = 1; t <= JCA_MAX_TAG; t++)
            if (t != CAP_Debug && c->component[t] && cap_components[t].order == order) {
                memcpy(x + at, c->component[t], c->component_len[t]);
                at += c->component_len[t];
            }
    *bytes = x;
    *len = at;
    return 0;
}
