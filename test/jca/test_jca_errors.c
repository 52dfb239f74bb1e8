/*
 * test_jca_errors.c — the JCA assembler on malformed input: each class of
 * mistake (unknown mnemonic, bad label, wrong operand kind, constant-pool
 * reference to a missing member, bad descriptor, structure) is reported as
 * file:line:column with a message naming what was expected. The line and
 * column are those of the faulty word in the inputs below (1-based; a tab
 * is one column).
 */
#include <stdio.h>
#include <string.h>

#include "jca.h"

/* A small valid package; each case replaces one line. */
static const char *const base[] = {
    ".package t/err {",                               /* 1 */
    "\t.aid 0xF0:0x1:0x2:0x3:0x4;",                   /* 2 */
    "\t.version 1.0;",                                /* 3 */
    "\t.imports {",                                   /* 4 */
    "\t\t0xA0:0x0:0x0:0x0:0x62:0x0:0x1 1.0;",         /* 5 */
    "\t}",                                            /* 6 */
    "\t.constantPool {",                              /* 7 */
    "\t\tstaticMethodRef 0.0.0()V;",                  /* 8 */
    "\t\tstaticMethodRef K/<init>()V;",               /* 9 */
    "\t}",                                            /* 10 */
    "\t.class K extends 0.0 {",                       /* 11 */
    "\t\t.publicMethodTable 1 {",                     /* 12 */
    "\t\t\tequals(Ljava/lang/Object;)Z;",             /* 13 */
    "\t\t}",                                          /* 14 */
    "\t\t.packageMethodTable 0 {",                    /* 15 */
    "\t\t}",                                          /* 16 */
    "\t\t.method <init>()V {",                        /* 17 */
    "\t\t\t.stack 1;",                                /* 18 */
    "\t\t\t.locals 0;",                               /* 19 */
    "\t\t\t\tL0:\taload_0;",                          /* 20 */
    "\t\t\t\t\tinvokespecial 0;",                     /* 21 */
    "\t\t\t\t\treturn;",                              /* 22 */
    "\t\t}",                                          /* 23 */
    "\t}",                                            /* 24 */
    "}",                                              /* 25 */
};
#define NLINES (sizeof base / sizeof *base)

struct error_case {
    const char *what;
    int line;                /* replaced line */
    const char *text;        /* its new text (NULL: the base as is) */
    const char *want;        /* expected "file:line:col: " prefix ... */
    const char *message;     /* ... and a part of the message */
};

static const struct error_case cases[] = {
    { "unknown mnemonic", 20, "\t\t\t\tL0:\taload_9;", "e.jca:20:9: ", "unknown mnemonic 'aload_9'" },
    { "undefined label", 22, "\t\t\t\t\tgoto L7;", "e.jca:22:11: ", "label L7 is not defined" },
    { "malformed label", 20, "\t\t\t\tLx:\taload_0;", "e.jca:20:5: ", "expected a label" },
    { "label operand where an index is due", 21, "\t\t\t\t\tinvokespecial L0;", "e.jca:21:20: ",
      "expected a constant pool index" },
    { "missing operand", 21, "\t\t\t\t\tinvokespecial;", "e.jca:21:6: ", "invokespecial takes 1 operand, found 0" },
    { "reference to a missing member", 9, "\t\tstaticMethodRef K/nope()V;", "e.jca:9:19: ",
      "class K has no method nope()V" },
    { "reference to a missing class", 9, "\t\tstaticMethodRef Q/<init>()V;", "e.jca:9:19: ", "no class 'Q'" },
    { "bad descriptor in a method header", 17, "\t\t.method <init>(Q)V {", "e.jca:17:18: ", "bad descriptor" },
    { "bad descriptor in the constant pool", 9, "\t\tstaticMethodRef K/<init>(Ljava/lang/Object)V;",
      "e.jca:9:45: ", "bad descriptor" },
    { "unknown constant pool entry", 8, "\t\tmethodRef 0.0.0()V;", "e.jca:8:3: ",
      "expected a constant pool entry" },
    { "bad AID byte", 2, "\t.aid 0xF0:0x1:0x2:0x3:0x400;", "e.jca:2:24: ", "expected an AID byte" },
    { "operand out of range", 21, "\t\t\t\t\tinvokespecial 9;", "e.jca:21:20: ", "the pool has 2 entries" },
    { "missing brace", 25, "", "e.jca:25:1: ", "expected '}' before the end of the file" },
    { "source line not a number", 22, "\t\t\t\t.line x;", "e.jca:22:11: ", "expected a source line number" },
    { "source line without its number", 22, "\t\t\t\t.line;", "e.jca:22:5: ", "expected '.line NUMBER;'" },
    { "source file without its name", 16, "\t\t}\n\t\t.sourceFile;", "e.jca:17:3: ", "expected '.sourceFile NAME;'" },
    { "Debug component in CAP 2.1", 22, "\t\t\t\t.line 7;", "e.jca:22:5: ", "needs CAP format 2.2" },
    { NULL, 0, NULL, NULL, NULL },
};

int main(void)
{
    int failures = 0;
    char src[4096], err[512];
    /* the base itself assembles */
    for (const struct error_case *c = cases;; c++) {
        size_t n = 0;
        for (size_t i = 0; i < NLINES; i++) {
            const char *l = (c->what && (int)i + 1 == c->line) ? c->text : base[i];
            n += (size_t)snprintf(src + n, sizeof src - n, "%s\n", l);
        }
        jca_cap out;
        err[0] = 0;
        int rc = jca_assemble(src, n, "e.jca", NULL, &out, err, sizeof err);
        if (!c->what) {
            if (rc != 0) {
                printf("FAIL the valid base package: %s\n", err);
                failures++;
            } else {
                printf("ok   the valid base package assembles\n");
                jca_cap_free(&out);
            }
            break;
        }
        if (rc == 0) {
            printf("FAIL %s: assembled without an error\n", c->what);
            jca_cap_free(&out);
            failures++;
        } else if (strncmp(err, c->want, strlen(c->want)) != 0 || !strstr(err, c->message)) {
            printf("FAIL %s:\n  want %s...%s...\n  got  %s\n", c->what, c->want, c->message, err);
            failures++;
        } else {
            printf("ok   %s: %s\n", c->what, err);
        }
    }
    return failures ? 1 : 0;
}
