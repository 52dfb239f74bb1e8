/* script_syntax.c — see script_syntax.h. */
#include "script_syntax.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

/* What a word must be. */
enum arg {
    A_ANY,      /* anything (file names, echo text) */
    A_BYTE,     /* one byte of hex */
    A_AID,      /* 5..16 bytes of hex */
    A_AID_OPT,  /* an AID or "-" */
    A_HEX_OPT,  /* hex of any length or "-" */
    A_PRIVS,    /* 3 bytes of hex */
    A_KEY,      /* 16, 24 or 32 bytes of hex */
    A_HEX,      /* hex, any length (send: the words join into one APDU) */
    A_WARM,     /* the word "warm" */
    A_NOHASH,   /* the word "nohash" */
    A_RELATED,  /* the word "related" */
};

typedef struct command_syntax {
    const char *name;
    unsigned min_args, max_args;   /* words after the command */
    enum arg args[5];              /* kinds of the first words; the last repeats */
    int expect_fail;               /* "-> fail" allowed (open) */
} command_syntax;

/* The script language (docs/scripts.md). A line has at most 16 words
 * (cmd_script.c MAX_TOK): 15 after the command. */
static const command_syntax commands[] = {
    {"echo", 0, 15, {A_ANY}, 0},
    {"reset", 0, 1, {A_WARM}, 0},
    {"isd", 1, 1, {A_AID}, 0},
    {"open", 3, 5, {A_BYTE, A_KEY, A_KEY, A_KEY, A_BYTE}, 1},
    {"close", 0, 0, {A_ANY}, 0},
    {"select", 0, 1, {A_HEX}, 0},
    {"send", 1, 15, {A_HEX}, 0},
    {"send-raw", 1, 15, {A_HEX}, 0},
    {"load", 1, 2, {A_ANY, A_NOHASH}, 0},
    {"install", 2, 5, {A_AID, A_AID, A_AID_OPT, A_HEX_OPT, A_PRIVS}, 0},
    {"delete", 1, 2, {A_AID, A_RELATED}, 0},
    {"lock", 1, 1, {A_AID}, 0},
    {"unlock", 1, 1, {A_AID}, 0},
    {"put-key", 3, 5, {A_BYTE, A_BYTE, A_KEY, A_KEY, A_KEY}, 0},
    {"list", 0, 0, {A_ANY}, 0},
    {"present", 1, 1, {A_AID}, 0},
    {"absent", 1, 1, {A_AID}, 0},
};

/* Bytes of hex in w, or -1. */
static long hex_bytes(const char *w)
{
    size_t n = strlen(w);
    if (n % 2) return -1;
    for (size_t i = 0; i < n; i++)
        if (!isxdigit((unsigned char)w[i])) return -1;
    return (long)(n / 2);
}

static const char *arg_ok(enum arg kind, const char *w)
{
    long n = hex_bytes(w);
    switch (kind) {
    case A_ANY: return NULL;
    case A_BYTE: return n == 1 ? NULL : "one byte of hex";
    case A_AID: return n >= 5 && n <= 16 ? NULL : "an AID (5 to 16 bytes of hex)";
    case A_AID_OPT: return !strcmp(w, "-") || (n >= 5 && n <= 16) ? NULL : "an AID or -";
    case A_HEX_OPT: return !strcmp(w, "-") || n >= 0 ? NULL : "hex or -";
    case A_PRIVS: return n == 3 ? NULL : "3 bytes of privileges";
    case A_KEY: return n == 16 || n == 24 || n == 32 ? NULL : "a key (16, 24 or 32 bytes of hex)";
    case A_HEX: return n >= 0 ? NULL : "hex";
    case A_WARM: return !strcmp(w, "warm") ? NULL : "'warm'";
    case A_NOHASH: return !strcmp(w, "nohash") ? NULL : "'nohash'";
    case A_RELATED: return !strcmp(w, "related") ? NULL : "'related'";
    }
    return "?";
}

/* An expectation: hex bytes, ?? and * (blanks between), or "fail". */
static int pattern_ok(const char *p, int fail_allowed)
{
    while (*p == ' ' || *p == '\t') p++;
    if (!strncmp(p, "fail", 4)) {
        const char *q = p + 4;
        while (*q == ' ' || *q == '\t' || *q == '\r') q++;
        if (*q == 0) return fail_allowed;
    }
    size_t items = 0;
    for (const char *c = p; *c;) {
        if (isspace((unsigned char)*c)) { c++; continue; }
        if (*c == '*') { c++; items++; continue; }
        if (c[0] == '?' && c[1] == '?') { c += 2; items++; continue; }
        if (!isxdigit((unsigned char)c[0]) || !isxdigit((unsigned char)c[1])) return 0;
        c += 2;
        items++;
    }
    return items > 0 && items <= SCRIPT_PATTERN_MAX;
}

static int syntax_words(char *buf, char *err, size_t errlen);

int script_syntax_line(const char *line, char *err, size_t errlen)
{
    char *buf = strdup(line);
    if (!buf) { snprintf(err, errlen, "out of memory"); return -1; }
    int rc = syntax_words(buf, err, errlen);
    free(buf);
    return rc;
}

/* script_syntax_line on a copy of the line it may cut up. */
static int syntax_words(char *buf, char *err, size_t errlen)
{
    char *hash = strchr(buf, '#');
    if (hash) *hash = 0;
    char *expect = strstr(buf, "->");
    if (expect) { *expect = 0; expect += 2; }
    char *words[80];
    unsigned n = 0;
    for (char *w = strtok(buf, " \t\r\n"); w; w = strtok(NULL, " \t\r\n")) {
        if (n >= 80) { snprintf(err, errlen, "too many words"); return -1; }
        words[n++] = w;
    }
    if (n == 0) {
        if (expect) { snprintf(err, errlen, "an expectation without a command"); return -1; }
        return 0;
    }
    const command_syntax *cs = NULL;
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(commands[i].name, words[0])) cs = &commands[i];
    if (!cs) { snprintf(err, errlen, "unknown command '%s'", words[0]); return -1; }
    unsigned args = n - 1;
    if (!strcmp(cs->name, "echo")) {   /* free text, '->' included */
        if (args > cs->max_args) { snprintf(err, errlen, "echo takes at most %u words", cs->max_args); return -1; }
        return 0;
    }
    if (args < cs->min_args || args > cs->max_args ||
        ((!strcmp(cs->name, "open") || !strcmp(cs->name, "put-key")) && args != 3 && args != 5)) {
        snprintf(err, errlen, "%s takes %u to %u words, got %u", cs->name, cs->min_args, cs->max_args, args);
        return -1;
    }
    for (unsigned i = 0; i < args; i++) {
        enum arg kind = cs->args[i < 5 ? i : 4];
        if (!strcmp(cs->name, "open") && args == 3 && i == 2) kind = A_BYTE;   /* open KVN KEY LEVEL */
        if ((!strcmp(cs->name, "send") || !strcmp(cs->name, "send-raw") || !strcmp(cs->name, "echo")))
            kind = cs->args[0];
        const char *why = arg_ok(kind, words[i + 1]);
        if (why) { snprintf(err, errlen, "%s: word %u '%s' is not %s", cs->name, i + 1, words[i + 1], why); return -1; }
    }
    if (!strcmp(cs->name, "send")) {
        size_t bytes = 0;
        for (unsigned i = 1; i < n; i++) bytes += strlen(words[i]) / 2;
        if (bytes < 4) { snprintf(err, errlen, "send: an APDU has at least 4 bytes (CLA INS P1 P2)"); return -1; }
    }
    if (expect && !pattern_ok(expect, cs->expect_fail)) {
        snprintf(err, errlen, "%s: bad expectation '->%s'", cs->name, expect);
        return -1;
    }
    return 0;
}

unsigned script_syntax_check(const char *file, const char *text, FILE *report)
{
    unsigned bad = 0, line = 0;
    for (const char *p = text; p && *p;) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        char err[256];
        line++;
        char *buf = strndup(p, len);
        if (!buf) snprintf(err, sizeof err, "out of memory");
        if (!buf || syntax_words(buf, err, sizeof err)) {
            bad++;
            if (report) fprintf(report, "%s:%u: syntax: %s\n", file, line, err);
        }
        free(buf);
        p = nl ? nl + 1 : NULL;
    }
    return bad;
}

size_t script_checks(const char *text, script_check *out, size_t cap)
{
    size_t n = 0;
    unsigned line = 0;
    int open_check = 0;
    for (const char *p = text; p && *p;) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        line++;
        const char *w = p, *end = p + len;
        while (w < end && (*w == ' ' || *w == '\t')) w++;
        int comment_or_blank = w == end || *w == '#' || *w == '\r';
        int is_echo = (size_t)(end - w) >= 4 && !strncmp(w, "echo", 4) &&
                      (w + 4 == end || w[4] == ' ' || w[4] == '\t');
        if (is_echo || (!comment_or_blank && !open_check)) {
            if (n < cap) {
                script_check *c = &out[n];
                memset(c, 0, sizeof *c);
                if (is_echo) {
                    const char *t = w + 4;
                    while (t < end && (*t == ' ' || *t == '\t')) t++;
                    size_t tl = (size_t)(end - t);
                    while (tl && (t[tl - 1] == '\r' || t[tl - 1] == ' ')) tl--;
                    snprintf(c->name, sizeof c->name, "%.*s", (int)(tl < sizeof c->name ? tl : sizeof c->name - 1), t);
                } else {
                    snprintf(c->name, sizeof c->name, "setup");
                }
                c->first_line = c->last_line = line;
            }
            n++;
            open_check = 1;
        }
        if (open_check && n && n <= cap) out[n - 1].last_line = line;
        p = nl ? nl + 1 : NULL;
    }
    return n;
}
