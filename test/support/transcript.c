/* transcript.c — parser of the shared APDU transcripts (see transcript.h). */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "transcript.h"

static int fail(char *err, size_t errlen, const char *path, unsigned line, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static int fail(char *err, size_t errlen, const char *path, unsigned line, const char *fmt, ...)
{
    char m[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m, sizeof m, fmt, ap);
    va_end(ap);
    snprintf(err, errlen, "%s:%u: %s", path, line, m);
    return -1;
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    c = toupper(c);
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Hex digits (blanks between bytes allowed) up to the end or a '#'. Returns
 * the byte count, -1 on a bad digit or an odd count. */
static long parse_hex(const char *s, uint8_t *out, size_t cap)
{
    size_t n = 0;
    int hi = -1;
    for (; *s && *s != '#'; s++) {
        if (isspace((unsigned char)*s)) continue;
        int v = hexval((unsigned char)*s);
        if (v < 0) return -1;
        if (hi < 0) {
            hi = v;
        } else {
            if (n >= cap) return -1;
            out[n++] = (uint8_t)(hi << 4 | v);
            hi = -1;
        }
    }
    return hi < 0 ? (long)n : -1;
}

static int grow(transcript *t, size_t *cap)
{
    if (t->n_steps < *cap) return 0;
    size_t nc = *cap ? *cap * 2 : 64;
    tr_step *ns = realloc(t->steps, nc * sizeof *ns);
    if (!ns) return -1;
    t->steps = ns;
    *cap = nc;
    return 0;
}

static int parse_install(const char *s, tr_install *in)
{
    /* INSTANCE CLASS package=PKG (install parameters HEX) */
    char inst[64], cls[128], pkg[64], par[300];
    if (sscanf(s, " %63s %127s package=%63s (install parameters %299[0-9A-Fa-f])", inst, cls, pkg, par) != 4)
        return -1;
    long n;
    if ((n = parse_hex(inst, in->instance, 16)) < 5) return -1;
    in->instance_len = (uint8_t)n;
    if ((n = parse_hex(pkg, in->pkg, 16)) < 5) return -1;
    in->pkg_len = (uint8_t)n;
    if ((n = parse_hex(par, in->barray, sizeof in->barray)) < 0) return -1;
    in->barray_len = (size_t)n;
    snprintf(in->class_name, sizeof in->class_name, "%s", cls);
    return 0;
}

int transcript_load(const char *path, transcript *t, char *err, size_t errlen)
{
    memset(t, 0, sizeof *t);
    FILE *f = fopen(path, "r");
    if (!f) return fail(err, errlen, path, 0, "cannot open");
    char line[70000];
    unsigned ln = 0;
    size_t cap = 0;
    int rc = 0;
    tr_step *pending = NULL;   /* a command waiting for its "<=" */
    uint8_t *buf = malloc(sizeof line / 2);
    if (!buf) { fclose(f); return fail(err, errlen, path, 0, "out of memory"); }
    while (rc == 0 && fgets(line, sizeof line, f)) {
        ln++;
        char *s = line;
        while (isspace((unsigned char)*s)) s++;
        size_t l = strlen(s);
        while (l && isspace((unsigned char)s[l - 1])) s[--l] = 0;
        if (!*s) continue;
        if (s[0] == '#') {
            const char *c = s + 1;
            while (*c == ' ') c++;
            if (!strncmp(c, "@install", 8)) {
                if (t->n_installs >= TR_MAX_INSTALLS || parse_install(c + 8, &t->installs[t->n_installs]))
                    rc = fail(err, errlen, path, ln, "bad @install line");
                else
                    t->n_installs++;
            } else if (!strncmp(c, "@protocol", 9)) {
                snprintf(t->protocol, sizeof t->protocol, "%s", c + 9 + strspn(c + 9, " "));
            } else if (!strcmp(c, "reset")) {
                if (pending) rc = fail(err, errlen, path, ln, "reset before the answer of line %u", pending->line);
                else if (grow(t, &cap)) rc = fail(err, errlen, path, ln, "out of memory");
                else t->steps[t->n_steps++] = (tr_step){TR_RESET, ln, NULL, 0, NULL, 0};
            }
            continue;
        }
        if (!strncmp(s, "=>", 2)) {
            if (pending) { rc = fail(err, errlen, path, ln, "command without an answer at line %u", pending->line); break; }
            long n = parse_hex(s + 2, buf, sizeof line / 2);
            if (n < 4) { rc = fail(err, errlen, path, ln, "bad command"); break; }
            if (grow(t, &cap)) { rc = fail(err, errlen, path, ln, "out of memory"); break; }
            tr_step *st = &t->steps[t->n_steps++];
            *st = (tr_step){TR_APDU, ln, malloc((size_t)n), (size_t)n, NULL, 0};
            if (!st->cmd) { rc = fail(err, errlen, path, ln, "out of memory"); break; }
            memcpy(st->cmd, buf, (size_t)n);
            pending = st;
        } else if (!strncmp(s, "<=", 2)) {
            if (!pending) { rc = fail(err, errlen, path, ln, "answer without a command"); break; }
            const char *p = s + 2;
            char *e = malloc(strlen(p) + 1);
            size_t k = 0;
            if (!e) { rc = fail(err, errlen, path, ln, "out of memory"); break; }
            for (; *p && *p != '#'; p++) {
                if (isspace((unsigned char)*p)) continue;
                if (*p != '?' && hexval((unsigned char)*p) < 0) break;
                e[k++] = (char)toupper((unsigned char)*p);
            }
            e[k] = 0;
            if ((*p && *p != '#') || k < 4 || k % 2) {
                free(e);
                rc = fail(err, errlen, path, ln, "bad answer");
                break;
            }
            pending->expect = e;
            pending->spec = strstr(p, "# spec:") != NULL;
            pending = NULL;
        } else {
            rc = fail(err, errlen, path, ln, "unexpected line");
        }
    }
    if (rc == 0 && pending) rc = fail(err, errlen, path, ln, "command of line %u has no answer", pending->line);
    free(buf);
    fclose(f);
    return rc;
}

void transcript_free(transcript *t)
{
    for (size_t i = 0; i < t->n_steps; i++) {
        free(t->steps[i].cmd);
        free(t->steps[i].expect);
    }
    free(t->steps);
    memset(t, 0, sizeof *t);
}

int transcript_match(const char *expect, const uint8_t *rsp, size_t len)
{
    size_t n = strlen(expect);
    if (n != 2 * len) return 0;
    for (size_t i = 0; i < n; i++) {
        int nib = (i % 2) ? rsp[i / 2] & 0x0F : rsp[i / 2] >> 4;
        if (expect[i] != '?' && hexval((unsigned char)expect[i]) != nib) return 0;
    }
    return 1;
}

int transcript_is_select(const uint8_t *cmd, size_t len)
{
    /* interindustry class (b8 = 0) on any channel, INS A4, P1 04 */
    return len >= 4 && (cmd[0] & 0x80) == 0 && cmd[1] == 0xA4 && cmd[2] == 0x04;
}
