/*
 * script_run.c — the `cardvm script` language, one line at a time (see
 * script_run.h and docs/scripts.md).
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "apdu.h"
#include "cap_file.h"
#include "cli.h"
#include "script_run.h"
#include "script_syntax.h"
#include "sw_text.h"
#include "jca.h"

#define MAX_TOK 16
#define FPRINTF_ERR(...) do { if (s->err) fprintf(s->err, __VA_ARGS__); } while (0)



static void fail(script_runner *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail(script_runner *s, const char *fmt, ...)
{
    va_list ap;
    if (!s->err)
        return;
    fprintf(s->err, "%s:%u: ", s->file, s->line);
    va_start(ap, fmt);
    vfprintf(s->err, fmt, ap);
    va_end(ap);
    fputc('\n', s->err);
}

/* ---- patterns: hex bytes, ?? any byte, * any run of bytes ---- */
typedef struct pattern {
    int16_t *b;       /* byte, -1 any byte, -2 any run; up to SCRIPT_PATTERN_MAX */
    size_t n;
    int open_fail;    /* "fail" (for open) */
} pattern;

static void pattern_free(pattern *p)
{
    free(p->b);
    p->b = NULL;
}

/* 0, or -1 for a malformed expectation (nothing to free then). */
static int pattern_parse(const char *txt, pattern *p)
{
    memset(p, 0, sizeof *p);
    if (!strcmp(txt, "fail")) { p->open_fail = 1; return 0; }
    p->b = malloc((strlen(txt) + 1) * sizeof *p->b);   /* an item takes a character at least */
    if (!p->b) return -1;
    int bad = 0;
    for (const char *c = txt; *c && !bad;) {
        if (isspace((unsigned char)*c)) { c++; continue; }
        if (p->n >= SCRIPT_PATTERN_MAX) bad = 1;
        else if (*c == '*') { p->b[p->n++] = -2; c++; }
        else if (c[0] == '?' && c[1] == '?') { p->b[p->n++] = -1; c += 2; }
        else if (!isxdigit((unsigned char)c[0]) || !isxdigit((unsigned char)c[1])) bad = 1;
        else {
            char h[3] = {c[0], c[1], 0};
            p->b[p->n++] = (int16_t)strtol(h, NULL, 16);
            c += 2;
        }
    }
    if (bad || p->n == 0) {
        pattern_free(p);
        return -1;
    }
    return 0;
}

/* Does the whole of d[0..n) match? Iterative (a response may be 65 538
 * bytes): on a mismatch after a `*`, that `*` takes one byte more. */
static int pattern_match(const pattern *p, const uint8_t *d, size_t n)
{
    size_t pi = 0, di = 0, star = (size_t)-1, star_di = 0;
    while (di < n) {
        if (pi < p->n && p->b[pi] == -2) {
            star = pi++;
            star_di = di;
        } else if (pi < p->n && (p->b[pi] == -1 || p->b[pi] == d[di])) {
            pi++;
            di++;
        } else if (star != (size_t)-1) {
            pi = star + 1;
            di = ++star_di;
        } else {
            return 0;
        }
    }
    while (pi < p->n && p->b[pi] == -2) pi++;
    return pi == p->n;
}

static void pattern_print(FILE *f, const pattern *p)
{
    for (size_t i = 0; i < p->n; i++) {
        if (p->b[i] == -2) fputc('*', f);
        else if (p->b[i] == -1) fputs("??", f);
        else fprintf(f, "%02X", p->b[i]);
    }
}

/* ---- tokens ---- */
static int tokenize(char *line, char **tok, int max, char **expect)
{
    *expect = NULL;
    char *arrow = strstr(line, "->");
    if (arrow) {
        *arrow = 0;
        *expect = arrow + 2;
        while (isspace((unsigned char)**expect)) (*expect)++;
        char *e = *expect + strlen(*expect);
        while (e > *expect && isspace((unsigned char)e[-1])) *--e = 0;
    }
    int n = 0;
    for (char *p = strtok(line, " \t\r\n"); p; p = strtok(NULL, " \t\r\n")) {
        if (n >= max) return -1;
        tok[n++] = p;
    }
    return n;
}

static int hex_tok(script_runner *s, const char *what, const char *t, uint8_t *out, size_t cap, size_t *len, size_t min,
                   size_t max)
{
    if (gp_parse_hex(t, out, cap, len) || *len < min || *len > max) {
        fail(s, "%s: expected %zu..%zu bytes of hex, got '%s'", what, min, max, t);
        return -1;
    }
    return 0;
}

static int key_tok(script_runner *s, const char *t, uint8_t *k, uint8_t *klen)
{
    size_t n;
    if (hex_tok(s, "key", t, k, 32, &n, 16, 32)) return -1;
    if ((n != 16 && n != 24 && n != 32) || (*klen && *klen != n)) {
        fail(s, "keys are 16, 24 or 32 bytes, all of one length");
        return -1;
    }
    *klen = (uint8_t)n;
    return 0;
}

/* The SW expectation of a management command: default 9000. */
static int check_sw(script_runner *s, const char *cmd, const char *expect, uint16_t sw)
{
    pattern p;
    if (pattern_parse(expect ? expect : "9000", &p)) {
        fail(s, "bad expectation '%s'", expect);
        return -1;
    }
    uint8_t b[2] = {(uint8_t)(sw >> 8), (uint8_t)sw};
    int ok = pattern_match(&p, b, 2);
    if (!ok) {
        char what[96];
        FPRINTF_ERR("%s:%u: %s: got %s, expected ", s->file, s->line, cmd, sw_describe(sw, what, sizeof what));
        if (s->err) pattern_print(s->err, &p);
        if (s->err) fputc('\n', s->err);
    }
    pattern_free(&p);
    return ok ? 0 : -1;
}

/* A package: FILE.cap (a CAP file: its components in load order, without
 * Debug) or FILE.jca (assembled, as `cardvm asm` would); relative to the
 * script, then to each --path directory. */
static uint8_t *load_package_file(script_runner *s, const char *name, size_t *len)
{
    char path[2048];
    uint8_t *b = NULL;
    size_t n = 0;
    const char *found = NULL;
    for (int i = -1; i <= s->npaths && !b; i++) {
        if (name[0] == '/') { if (i > -1) break; snprintf(path, sizeof path, "%s", name); }
        else if (i == -1) snprintf(path, sizeof path, "%s/%s", s->dir, name);
        else if (i < s->npaths) snprintf(path, sizeof path, "%s/%s", s->paths[i], name);
        else snprintf(path, sizeof path, "%s", name);
        b = cli_read_file(path, &n);
        if (b) found = path;
    }
    if (!b) { fail(s, "load: cannot read '%s'", name); return NULL; }
    size_t nl = strlen(name);
    if (capfile_is_zip(b, n)) {
        capfile cf;
        char err[300];
        cli_debug_add_cap(found);
        int rc = capfile_read_bytes(b, n, 0, &cf, err, sizeof err);
        free(b);
        b = cf.load_file;
        n = cf.len;
        cf.load_file = NULL;
        capfile_free(&cf);
        if (rc) { free(b); fail(s, "load: %s: %s", name, err); return NULL; }
    } else if (nl > 4 && !strcmp(name + nl - 4, ".jca")) {
        jca_cap cap;
        char err[512];
        int rc = jca_assemble((const char *)b, n, found, NULL, &cap, err, sizeof err);
        free(b);
        if (rc) { fail(s, "load: %s", err); return NULL; }
        b = NULL;
        rc = jca_load_file(&cap, &b, &n);
        jca_cap_free(&cap);
        if (rc) { fail(s, "load: %s: cannot make its load file", name); return NULL; }
    } else {
        free(b);
        fail(s, "load: %s: not a CAP file (FILE.cap) or JCA source (FILE.jca)", name);
        return NULL;
    }
    *len = n;
    return b;
}

static int need_session(script_runner *s, const char *cmd)
{
    if (s->gp.open) return 0;
    fail(s, "%s needs a secure channel (open ...)", cmd);
    return -1;
}

/* A `send` or `send-raw` line, its APDU's hex joined in `hex`; cmd has
 * room for APDU_MAX_COMMAND bytes. */
static int send_line(script_runner *s, const char *c, int raw, const char *hex, uint8_t *cmd, const char *expect,
                     int words)
{
    size_t cl, rl;
    uint16_t sw;
    if (words < 2 || hex_tok(s, c, hex, cmd, APDU_MAX_COMMAND, &cl, raw ? 1 : 4, APDU_MAX_COMMAND)) return -1;
    pattern p;
    if (pattern_parse(expect ? expect : "*9000", &p)) { fail(s, "bad expectation '%s'", expect); return -1; }
    if (raw) {
        if (transport_transmit(s->t, cmd, cl, s->rsp, 65536 + 2, &rl) || rl < 2) {
            fail(s, "send-raw %s: %s", hex, transport_error(s->t));
            pattern_free(&p);
            return -1;
        }
        rl -= 2;
        sw = (uint16_t)(s->rsp[rl] << 8 | s->rsp[rl + 1]);
    } else if (gp_send(&s->gp, cmd, cl, s->rsp, 65536, &rl, &sw)) {
        fail(s, "send %s: %s", hex, s->gp.err);
        pattern_free(&p);
        return -1;
    }
    s->rsp[rl] = (uint8_t)(sw >> 8);
    s->rsp[rl + 1] = (uint8_t)sw;
    if (s->verbose) { printf("  < "); gp_hex(stdout, s->rsp, rl + 2); printf("\n"); }
    int ok = pattern_match(&p, s->rsp, rl + 2);
    if (!ok) {
        char what[96];
        FPRINTF_ERR("%s:%u: %s %s\n  got      ", s->file, s->line, c, hex);
        if (s->err) gp_hex(s->err, s->rsp, rl + 2);
        FPRINTF_ERR("  (%s)\n  expected ", sw_describe(sw, what, sizeof what));
        if (s->err) pattern_print(s->err, &p);
        if (s->err) fputc('\n', s->err);
    }
    pattern_free(&p);
    return ok ? 0 : -1;
}

int script_run_line(script_runner *s, char *line)
{
    char *tok[MAX_TOK], *expect;
    int n = tokenize(line, tok, MAX_TOK, &expect);
    uint16_t sw;
    if (n < 0) { fail(s, "too many words"); return -1; }
    if (n == 0) return 0;
    const char *c = tok[0];
    if (!strcmp(c, "echo")) {
        for (int i = 1; i < n; i++) printf("%s%s", i > 1 ? " " : "", tok[i]);
        printf("\n");
        return 0;
    }
    if (s->verbose) {
        printf("%s:%u:", s->file, s->line);
        for (int i = 0; i < n; i++) printf(" %s", tok[i]);
        if (expect) printf(" -> %s", expect);
        printf("\n");
    }
    if (!strcmp(c, "reset")) {
        if (n > 2 || (n == 2 && strcmp(tok[1], "warm"))) { fail(s, "usage: reset [warm]"); return -1; }
        gp_close(&s->gp);
        if (transport_reset(s->t, n == 1)) { fail(s, "reset failed: %s", transport_error(s->t)); return -1; }
        return 0;
    }
    if (!strcmp(c, "isd")) {
        if (n != 2 || hex_tok(s, "isd", tok[1], s->isd, 16, &s->isd_len, 5, 16)) return -1;
        return 0;
    }
    if (!strcmp(c, "close")) {
        gp_close(&s->gp);
        return 0;
    }
    if (!strcmp(c, "open")) {
        /* open KVN KEY LEVEL | open KVN ENC MAC DEK LEVEL */
        gp_keys k;
        memset(&k, 0, sizeof k);
        uint8_t b[2];
        size_t bl;
        if (n != 4 && n != 6) { fail(s, "usage: open KVN KEY LEVEL | open KVN ENC MAC DEK LEVEL"); return -1; }
        if (hex_tok(s, "KVN", tok[1], b, 1, &bl, 1, 1)) return -1;
        k.kvn = b[0];
        if (key_tok(s, tok[2], k.enc, &k.key_len)) return -1;
        if (n == 4) {
            memcpy(k.mac, k.enc, 32);
            memcpy(k.dek, k.enc, 32);
        } else if (key_tok(s, tok[3], k.mac, &k.key_len) || key_tok(s, tok[4], k.dek, &k.key_len)) {
            return -1;
        }
        if (hex_tok(s, "LEVEL", tok[n - 1], b, 1, &bl, 1, 1)) return -1;
        int rc = gp_open(&s->gp, &k, b[0], s->isd_len ? s->isd : NULL, s->isd_len, &sw);
        scp03_wipe(&k, sizeof k);
        if (expect && !strcmp(expect, "fail")) {
            if (rc == 0 && s->gp.open) { fail(s, "open: the secure channel opened, expected a refusal"); return -1; }
            return 0;
        }
        if (rc) { fail(s, "open: %s", s->gp.err); return -1; }
        if (!s->gp.open) {
            char what[96];
            fail(s, "open: refused with %s", sw_describe(sw, what, sizeof what));
            return -1;
        }
        return 0;
    }
    if (!strcmp(c, "select")) {
        uint8_t aid[16];
        size_t al = 0, rl;
        if (n > 2 || (n == 2 && hex_tok(s, "select", tok[1], aid, 16, &al, 1, 16))) return -1;
        if (gp_select(&s->gp, aid, al, s->rsp, 65536, &rl, &sw)) { fail(s, "select: %s", s->gp.err); return -1; }
        pattern p;
        if (pattern_parse(expect ? expect : "*9000", &p)) { fail(s, "bad expectation '%s'", expect); return -1; }
        s->rsp[rl] = (uint8_t)(sw >> 8);
        s->rsp[rl + 1] = (uint8_t)sw;
        int ok = pattern_match(&p, s->rsp, rl + 2);
        if (!ok) {
            char what[96];
            FPRINTF_ERR("%s:%u: select %s: got ", s->file, s->line, n == 2 ? tok[1] : "(default)");
            if (s->err) gp_hex(s->err, s->rsp, rl + 2);
            FPRINTF_ERR(" (%s), expected ", sw_describe(sw, what, sizeof what));
            if (s->err) pattern_print(s->err, &p);
            if (s->err) fputc('\n', s->err);
        }
        pattern_free(&p);
        return ok ? 0 : -1;
    }
    if (!strcmp(c, "send") || !strcmp(c, "send-raw")) {
        int raw = c[4] == '-';   /* send-raw: the bytes as written, never wrapped, no 61xx fetching */
        size_t total = 1;
        for (int i = 1; i < n; i++) total += strlen(tok[i]);
        char *hex = calloc(1, total);   /* an extended command: up to 131 088 hex digits */
        uint8_t *cmd = malloc(APDU_MAX_COMMAND);
        if (!hex || !cmd) {
            free(hex);
            free(cmd);
            fail(s, "%s: out of memory", c);
            return -1;
        }
        for (int i = 1; i < n; i++) strcat(hex, tok[i]);
        int rc = send_line(s, c, raw, hex, cmd, expect, n);
        free(cmd);
        free(hex);
        return rc;
    }
    if (!strcmp(c, "load")) {
        if (n < 2 || n > 3 || (n == 3 && strcmp(tok[2], "nohash"))) { fail(s, "usage: load FILE [nohash]"); return -1; }
        if (need_session(s, "load")) return -1;
        size_t bl;
        uint8_t *blob = load_package_file(s, tok[1], &bl);
        if (!blob) return -1;
        int blk;
        int rc = gp_load_package(&s->gp, blob, bl, n == 2, &sw, &blk);
        free(blob);
        if (rc) { fail(s, "load %s: %s", tok[1], s->gp.err); return -1; }
        char what[64];
        if (blk < 0) snprintf(what, sizeof what, "load (INSTALL [for load])");
        else snprintf(what, sizeof what, "load (LOAD block %d)", blk);
        return check_sw(s, what, expect, sw);
    }
    if (!strcmp(c, "install")) {
        /* install PKG APPLET [INSTANCE|-] [PARAMS|-] [PRIVS] */
        uint8_t pkg[16], app[16], inst[16], par[180], priv[3] = {0};
        size_t pl, al, il = 0, parl = 0, prl;
        if (n < 3 || n > 6) { fail(s, "usage: install PKG APPLET [INSTANCE|-] [PARAMS|-] [PRIVS]"); return -1; }
        if (need_session(s, "install")) return -1;
        if (hex_tok(s, "PKG", tok[1], pkg, 16, &pl, 5, 16) || hex_tok(s, "APPLET", tok[2], app, 16, &al, 5, 16))
            return -1;
        if (n > 3 && strcmp(tok[3], "-") && hex_tok(s, "INSTANCE", tok[3], inst, 16, &il, 5, 16)) return -1;
        if (n > 4 && strcmp(tok[4], "-") && hex_tok(s, "PARAMS", tok[4], par, sizeof par, &parl, 0, 180)) return -1;
        if (n > 5 && hex_tok(s, "PRIVS", tok[5], priv, 3, &prl, 3, 3)) return -1;
        if (gp_install(&s->gp, 0x0C, pkg, pl, app, al, il ? inst : NULL, il, priv, par, parl, &sw)) {
            fail(s, "install: %s", s->gp.err);
            return -1;
        }
        return check_sw(s, "install", expect, sw);
    }
    if (!strcmp(c, "delete")) {
        uint8_t aid[16];
        size_t al;
        if (n < 2 || n > 3 || (n == 3 && strcmp(tok[2], "related"))) { fail(s, "usage: delete AID [related]"); return -1; }
        if (need_session(s, "delete")) return -1;
        if (hex_tok(s, "AID", tok[1], aid, 16, &al, 5, 16)) return -1;
        if (gp_delete(&s->gp, aid, al, n == 3, &sw)) { fail(s, "delete: %s", s->gp.err); return -1; }
        return check_sw(s, "delete", expect, sw);
    }
    if (!strcmp(c, "lock") || !strcmp(c, "unlock")) {
        uint8_t aid[16];
        size_t al;
        if (n != 2) { fail(s, "usage: %s AID", c); return -1; }
        if (need_session(s, c)) return -1;
        if (hex_tok(s, "AID", tok[1], aid, 16, &al, 5, 16)) return -1;
        if (gp_set_lock(&s->gp, aid, al, c[0] == 'l', &sw)) { fail(s, "%s: %s", c, s->gp.err); return -1; }
        return check_sw(s, c, expect, sw);
    }
    if (!strcmp(c, "put-key")) {
        /* put-key OLD NEW KEY | put-key OLD NEW ENC MAC DEK (OLD 00: add) */
        gp_keys k;
        memset(&k, 0, sizeof k);
        uint8_t b[2], kcv[10];
        size_t bl;
        if (n != 4 && n != 6) { fail(s, "usage: put-key OLDKVN NEWKVN KEY | put-key OLDKVN NEWKVN ENC MAC DEK"); return -1; }
        if (need_session(s, "put-key")) return -1;
        if (hex_tok(s, "OLDKVN", tok[1], b, 1, &bl, 1, 1)) return -1;
        uint8_t old = b[0];
        if (hex_tok(s, "NEWKVN", tok[2], b, 1, &bl, 1, 1)) return -1;
        k.kvn = b[0];
        if (key_tok(s, tok[3], k.enc, &k.key_len)) return -1;
        if (n == 4) {
            memcpy(k.mac, k.enc, 32);
            memcpy(k.dek, k.enc, 32);
        } else if (key_tok(s, tok[4], k.mac, &k.key_len) || key_tok(s, tok[5], k.dek, &k.key_len)) {
            return -1;
        }
        int rc = gp_put_key(&s->gp, old, &k, kcv, &sw);
        scp03_wipe(&k, sizeof k);
        if (rc) { fail(s, "put-key: %s", s->gp.err); return -1; }
        return check_sw(s, "put-key", expect, sw);
    }
    if (!strcmp(c, "list") || !strcmp(c, "present") || !strcmp(c, "absent")) {
        static const uint8_t cats[] = {0x80, 0x40, 0x20};
        gp_entry *e = malloc(64 * sizeof *e);
        if (!e) { fail(s, "%s: out of memory", c); return -1; }
        uint8_t aid[16];
        size_t al = 0, cnt;
        int found = 0;
        if (need_session(s, c)) { free(e); return -1; }
        if (c[0] != 'l' && (n != 2 || hex_tok(s, "AID", tok[1], aid, 16, &al, 5, 16))) { free(e); return -1; }
        for (int k = 0; k < 3; k++) {
            if (gp_get_status(&s->gp, cats[k], e, 64, &cnt, &sw)) { fail(s, "GET STATUS: %s", s->gp.err); { free(e); return -1; } }
            if (check_sw(s, "GET STATUS", NULL, sw)) { free(e); return -1; }
            for (size_t i = 0; i < cnt; i++) {
                if (c[0] == 'l') {
                    printf("%s: ", k == 0 ? "ISD" : k == 1 ? "APP" : "PKG");
                    gp_hex(stdout, e[i].aid, e[i].aid_len);
                    printf(" (%s)\n", gp_state_name(e[i].kind, e[i].state));
                }
                if (e[i].aid_len == al && !memcmp(e[i].aid, aid, al)) found = 1;
            }
        }
        if (c[0] == 'p' && !found) { fail(s, "present: %s is not listed by GET STATUS", tok[1]); { free(e); return -1; } }
        if (c[0] == 'a' && found) { fail(s, "absent: %s is listed by GET STATUS", tok[1]); { free(e); return -1; } }
        free(e);
        return 0;
    }
    fail(s, "unknown command '%s'", c);
    return -1;
}

int script_runner_init(script_runner *s, const char *file, transport *t, int verbose, FILE *err)
{
    memset(s, 0, sizeof *s);
    s->file = file;
    s->t = t;
    s->verbose = verbose;
    s->err = err;
    snprintf(s->dir, sizeof s->dir, "%s", file);
    char *slash = strrchr(s->dir, '/');
    if (slash) *slash = 0;
    else strcpy(s->dir, ".");
    s->rsp = malloc(65536 + 4);
    if (!s->rsp) return -1;
    gp_init(&s->gp, t, verbose ? stdout : NULL);
    return 0;
}

void script_runner_free(script_runner *s)
{
    gp_close(&s->gp);
    free(s->rsp);
    s->rsp = NULL;
}
