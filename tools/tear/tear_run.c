/*
 * tear_run.c — the tearing campaign (see tear_run.h for the steps and the
 * EEPROM model; docs/tearing.md for users).
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cap_file.h"
#include "card.h"
#include "chip.h"
#include "cli.h"
#include "gp_host.h"
#include "script_run.h"
#include "cap_debug.h"
#include "tear_run.h"
#include "transport.h"
#include "vm.h"

/* ---- what the VM's store hook sees during one card run ---- */
typedef struct tear_probe {
    chip *chip;
    vm_runtime *vm;
    int write_through;         /* the EEPROM model (tear_run.h), during a torn command */
    int open;                  /* a store began (phase 0) and has not completed */
    vm_nvm_writer last;
} tear_probe;

static void probe_hook(void *ctx, const vm_nvm_writer *w, int phase)
{
    tear_probe *p = ctx;
    /* A store outside a transaction (and outside install()'s own undo log)
     * is durable on EEPROM once made: commit what came before it, and it. */
    if (p->write_through && !w->tx_depth && !w->guarded && chip_is_powered(p->chip))
        (void)chip_commit(p->chip);
    if (phase == 0) {
        p->last = *w;
        p->open = 1;
    } else {
        p->open = 0;
    }
}

/* ---- one card run: an in-memory copy of the image, a script runner ---- */
typedef struct tear_image {
    chip *orig;                /* the user's image, opened read-only in spirit */
    cap_debug debug;           /* names and line tables of the CAPs the script loads */
} tear_image;

typedef struct session {
    transport *t;
    card *card;
    chip *chip;
    script_runner *s;
    tear_probe probe;
} session;

static int clone_chip(chip *orig, chip **out)
{
    const chip_geometry *g = chip_get_geometry(orig);
    chip *c;
    int rc = chip_create(g, NULL, &c);
    if (rc)
        return rc;
    chip_power_on(c);
    uint8_t *buf = malloc(g->rom_size > g->nvm_size ? g->rom_size : g->nvm_size);
    if (!buf) {
        chip_close(c);
        return CHIP_ERR_NOMEM;
    }
    rc = chip_rom_read(orig, 0, buf, g->rom_size);
    if (!rc) rc = chip_rom_write(c, 0, buf, g->rom_size);
    if (!rc) rc = chip_nvm_read(orig, 0, buf, g->nvm_size);
    if (!rc) rc = chip_nvm_write(c, 0, buf, g->nvm_size);
    if (!rc && g->otp_size) rc = chip_otp_read(orig, 0, buf, g->otp_size);
    if (!rc && g->otp_size) rc = chip_otp_write(c, 0, buf, g->otp_size);
    free(buf);
    if (!rc && !chip_is_masking(orig))
        chip_end_masking(c);
    if (!rc)
        rc = chip_commit(c);
    if (rc) {
        chip_close(c);
        return rc;
    }
    *out = c;
    return 0;
}

static void session_hook(session *se)
{
    se->probe.vm = card_vm(se->card);
    if (se->probe.vm)
        vm_set_nvm_hook(se->probe.vm, probe_hook, &se->probe);
}

static int session_open(tear_campaign *tc, session *se)
{
    tear_image *im = tc->priv;
    memset(se, 0, sizeof *se);
    chip *c;
    if (clone_chip(im->orig, &c))
        return -1;
    if (card_from_chip(c, &se->card)) {
        chip_close(c);
        return -1;
    }
    if (transport_open_card(se->card, &se->t)) {
        card_close(se->card);
        return -1;
    }
    se->chip = card_chip(se->card);
    se->probe.chip = se->chip;
    se->s = malloc(sizeof *se->s);
    if (!se->s || script_runner_init(se->s, tc->script_file, se->t, 0, NULL)) {
        free(se->s);
        transport_close(se->t);
        return -1;
    }
    for (int i = 0; i < tc->opt.npaths; i++)
        se->s->paths[se->s->npaths++] = tc->opt.paths[i];
    session_hook(se);
    tc->runs++;
    return 0;
}

static void session_close(session *se)
{
    if (se->s) {
        script_runner_free(se->s);
        free(se->s);
    }
    if (se->t)
        transport_close(se->t);
    memset(se, 0, sizeof *se);
}

/* Run script line i; 0 or -1 (messages go to `err`, NULL: silent). */
static int session_line(tear_campaign *tc, session *se, size_t i, FILE *err)
{
    char *copy = strdup(tc->lines[i].text);
    if (!copy)
        return -1;
    se->s->line = tc->lines[i].lineno;
    se->s->err = err;
    int rc = script_run_line(se->s, copy);
    free(copy);
    return rc;
}

/* Script lines [from, to). */
static int session_run(tear_campaign *tc, session *se, size_t from, size_t to, FILE *err)
{
    for (size_t i = from; i < to; i++)
        if (tc->lines[i].kind == TEAR_LINE_SCRIPT && session_line(tc, se, i, err))
            return -1;
    return 0;
}

static int hex_append(char **buf, size_t *len, size_t *cap, const uint8_t *b, size_t n, char sep)
{
    if (*len + 2 * n + 2 > *cap) {
        size_t nc = (*cap ? *cap * 2 : 256) + 2 * n + 2;
        char *nb = realloc(*buf, nc);
        if (!nb)
            return -1;
        *buf = nb;
        *cap = nc;
    }
    for (size_t i = 0; i < n; i++)
        *len += (size_t)sprintf(*buf + *len, "%02X", b[i]);
    if (sep)
        (*buf)[(*len)++] = sep;
    (*buf)[*len] = 0;
    return 0;
}

/* The words of a line after its first, as one hex string, up to "->". */
static int line_hex(const char *text, uint8_t *out, size_t cap, size_t *n)
{
    char hex[4096];
    size_t h = 0;
    const char *p = text;
    while (*p && isspace((unsigned char)*p)) p++;
    while (*p && !isspace((unsigned char)*p)) p++;   /* the command word */
    for (; *p && h + 1 < sizeof hex; p++) {
        if (p[0] == '-' && p[1] == '>')
            break;
        if (!isspace((unsigned char)*p))
            hex[h++] = *p;
    }
    hex[h] = 0;
    return gp_parse_hex(hex, out, cap, n);
}

/* Cold reset, then a plain SELECT of the applet selected at line `at`. */
static int session_reset_select(tear_campaign *tc, session *se, size_t at)
{
    static const uint8_t select_hdr[4] = {0x00, 0xA4, 0x04, 0x00};
    uint8_t cmd[300];
    size_t n, rl;
    gp_close(&se->s->gp);
    if (transport_reset(se->t, 1))
        return -1;
    session_hook(se);
    int sel = tc->lines[at].sel;
    if (sel >= 0 && line_hex(tc->lines[sel].text, cmd + 5, sizeof cmd - 5, &n) == 0 && n > 0 && n <= 16) {
        memcpy(cmd, select_hdr, 4);
        cmd[4] = (uint8_t)n;
        (void)transport_transmit(se->t, cmd, 5 + n, se->s->rsp, 65536, &rl);
    }
    return 0;
}

/* The observable state: cold reset, SELECT of the applet selected at line
 * `at`, then every check; their answers (data || SW) in hex. NULL on a
 * host failure (out of memory). */
static char *session_state(tear_campaign *tc, session *se, size_t at)
{
    uint8_t cmd[300], *rsp = se->s->rsp;
    size_t n, rl;
    char *out = NULL;
    size_t len = 0, cap = 0;
    if (session_reset_select(tc, se, at))
        return NULL;
    if (hex_append(&out, &len, &cap, NULL, 0, 0))
        return NULL;
    for (size_t i = 0; i < tc->n_lines; i++) {
        if (tc->lines[i].kind != TEAR_LINE_CHECK)
            continue;
        if (line_hex(tc->lines[i].text, cmd, sizeof cmd, &n) || n < 4 ||
            transport_transmit(se->t, cmd, n, rsp, 65536, &rl))
            rl = 0;                      /* mute: the state says so (empty) */
        if (hex_append(&out, &len, &cap, rsp, rl, '|')) {
            free(out);
            return NULL;
        }
    }
    if (len && out[len - 1] == '|')
        out[--len] = 0;
    return out;
}

/* ---- parsing ---- */

/* A `load FILE.cap` line: read the CAP's Debug component, found where the
 * script runner finds it (the script's folder, each -I, the current one). */
static void load_debug(tear_campaign *tc, const tear_line *l)
{
    char w[2][1024];
    const char *t = l->text;
    for (int k = 0; k < 2; k++) {
        while (*t == ' ' || *t == '\t') t++;
        size_t n = 0;
        while (*t && *t != ' ' && *t != '\t' && n + 1 < sizeof w[k]) w[k][n++] = *t++;
        w[k][n] = 0;
    }
    if (l->kind != TEAR_LINE_SCRIPT || strcmp(w[0], "load") || !w[1][0])
        return;
    char dir[1024], path[2300];
    snprintf(dir, sizeof dir, "%s", tc->script_file);
    char *slash = strrchr(dir, '/');
    if (slash) *slash = 0;
    else strcpy(dir, ".");
    uint8_t *b = NULL;
    size_t n = 0;
    for (int i = -1; i <= tc->opt.npaths && !b; i++) {
        if (w[1][0] == '/') { if (i > -1) break; snprintf(path, sizeof path, "%s", w[1]); }
        else if (i == -1) snprintf(path, sizeof path, "%s/%s", dir, w[1]);
        else if (i < tc->opt.npaths) snprintf(path, sizeof path, "%s/%s", tc->opt.paths[i], w[1]);
        else snprintf(path, sizeof path, "%s", w[1]);
        b = cli_read_file(path, &n);
    }
    if (b && capfile_is_zip(b, n))
        (void)cap_debug_add_cap(&((tear_image *)tc->priv)->debug, b, n);
    free(b);
}
static void first_word(const char *t, char *w, size_t cap)
{
    while (*t && isspace((unsigned char)*t)) t++;
    size_t n = 0;
    while (t[n] && !isspace((unsigned char)t[n]) && n + 1 < cap) {
        w[n] = t[n];
        n++;
    }
    w[n] = 0;
}

static int words(const char *t)
{
    int n = 0, in = 0;
    for (; *t; t++) {
        if (t[0] == '-' && t[1] == '>')
            break;
        if (isspace((unsigned char)*t)) in = 0;
        else if (!in) { in = 1; n++; }
    }
    return n;
}

int tear_campaign_init(tear_campaign *tc, const char *script_file, const char *image_file,
                       const tear_options *opt, FILE *err)
{
    memset(tc, 0, sizeof *tc);
    tc->script_file = script_file;
    tc->image_file = image_file;
    tc->opt = *opt;
    size_t len;
    char *text = (char *)cli_read_file(script_file, &len);
    if (!text) {
        fprintf(err, "cardvm tear: cannot read %s\n", script_file);
        return -1;
    }
    size_t count = 1;
    for (size_t i = 0; i < len; i++)
        count += text[i] == '\n';
    tc->lines = calloc(count, sizeof *tc->lines);
    if (!tc->lines) {
        free(text);
        return -1;
    }
    int block = 0, in_block = 0, sel = -1, rc = 0;
    unsigned lineno = 0, block_line = 0;
    char *p = text;
    while (p && *p && !rc) {
        char *nl = strchr(p, '\n');
        if (nl) *nl = 0;
        lineno++;
        char *hash = strchr(p, '#');
        if (hash) *hash = 0;
        char w[32];
        first_word(p, w, sizeof w);
        if (!w[0]) {
            /* blank */
        } else if (!strcmp(w, "tear")) {
            if (in_block || words(p) != 1) {
                fprintf(err, "%s:%u: %s\n", script_file, lineno,
                        in_block ? "tear inside a tear block (close it with end)" : "usage: tear");
                rc = -1;
            }
            in_block = 1;
            block++;
            block_line = lineno;
        } else if (!strcmp(w, "end")) {
            if (!in_block) {
                fprintf(err, "%s:%u: end without tear\n", script_file, lineno);
                rc = -1;
            }
            in_block = 0;
        } else {
            tear_line *l = &tc->lines[tc->n_lines];
            l->lineno = lineno;
            l->text = strdup(p);
            if (!l->text) { rc = -1; break; }
            l->block = in_block ? block : 0;
            uint8_t b[300];
            size_t n;
            if (!strcmp(w, "check")) {
                l->kind = TEAR_LINE_CHECK;
                if (line_hex(p, b, sizeof b, &n) || n < 4) {
                    fprintf(err, "%s:%u: usage: check APDU (4 bytes or more of hex)\n", script_file, lineno);
                    rc = -1;
                }
                tc->n_checks++;
            } else {
                l->kind = TEAR_LINE_SCRIPT;
                l->torn = in_block;
                if (!strcmp(w, "select"))
                    sel = words(p) >= 2 ? (int)tc->n_lines : -1;
            }
            l->sel = sel;
            tc->n_lines++;
        }
        p = nl ? nl + 1 : NULL;
    }
    free(text);
    if (!rc && in_block) {
        fprintf(err, "%s:%u: tear without end\n", script_file, block_line);
        rc = -1;
    }
    if (!rc && !block) {
        fprintf(err, "%s: no tear block: nothing to tear (tear ... end)\n", script_file);
        rc = -1;
    }
    if (!rc && !tc->n_checks) {
        fprintf(err, "%s: no check line: the state would be empty (check APDU)\n", script_file);
        rc = -1;
    }
    if (rc)
        return -1;
    tear_image *im = calloc(1, sizeof *im);
    if (!im)
        return -1;
    tc->priv = im;
    char e[512] = "";
    if (chip_open(image_file, &im->orig, e, sizeof e)) {
        fprintf(err, "cardvm tear: %s\n", e[0] ? e : image_file);
        return -1;
    }
    chip_power_on(im->orig);
    for (size_t i = 0; i < tc->n_lines; i++)
        load_debug(tc, &tc->lines[i]);
    return 0;
}

/* ---- the campaign ---- */
static tear_command *new_command(tear_campaign *tc, size_t line)
{
    tear_command *n = realloc(tc->cmds, (tc->n_cmds + 1) * sizeof *n);
    if (!n)
        return NULL;
    tc->cmds = n;
    tear_command *c = &tc->cmds[tc->n_cmds++];
    memset(c, 0, sizeof *c);
    c->line = line;
    return c;
}

static int add_point(tear_command *c, const char *answers, uint32_t point, const tear_writer *w)
{
    c->n_points++;
    if (!strcmp(answers, c->before)) { c->n_before++; return 0; }
    if (!strcmp(answers, c->after)) { c->n_after++; return 0; }
    c->n_other++;
    tear_state *s = NULL;
    for (size_t i = 0; i < c->n_states; i++)
        if (!strcmp(c->states[i].answers, answers))
            s = &c->states[i];
    if (!s) {
        tear_state *ns = realloc(c->states, (c->n_states + 1) * sizeof *ns);
        if (!ns)
            return -1;
        c->states = ns;
        s = &c->states[c->n_states++];
        memset(s, 0, sizeof *s);
        s->answers = strdup(answers);
        if (!s->answers)
            return -1;
    }
    uint32_t *np = realloc(s->points, (s->n_points + 1) * sizeof *np);
    tear_writer *nw = realloc(s->writers, (s->n_points + 1) * sizeof *nw);
    if (np) s->points = np;
    if (nw) s->writers = nw;
    if (!np || !nw)
        return -1;
    s->points[s->n_points] = point;
    s->writers[s->n_points] = *w;
    s->n_points++;
    return 0;
}

/* State of the card after the script lines [0, upto), at line `at`. */
static char *state_after(tear_campaign *tc, size_t upto, size_t at, FILE *err)
{
    session se;
    if (session_open(tc, &se))
        return NULL;
    char *st = NULL;
    if (session_run(tc, &se, 0, upto, err) == 0)
        st = session_state(tc, &se, at);
    session_close(&se);
    return st;
}

static int cut_point(tear_campaign *tc, tear_command *c, uint32_t k)
{
    session se;
    if (session_open(tc, &se))
        return -1;
    if (session_run(tc, &se, 0, c->line, NULL)) {
        session_close(&se);
        return -1;
    }
    se.probe.write_through = 1;
    se.probe.open = 0;
    chip_set_tear(se.chip, k);
    (void)session_line(tc, &se, c->line, NULL);
    se.probe.write_through = 0;
    tear_writer w;
    memset(&w, 0, sizeof w);
    w.source_line = -1;
    if (chip_tear_fired(se.chip) && se.probe.open && se.probe.last.pkg >= 0) {
        w.known = 1;
        w.pkg_aid_len = (uint8_t)vm_package_aid(se.probe.vm, se.probe.last.pkg, w.pkg_aid);
        w.method = se.probe.last.method;
        w.pc = se.probe.last.pc;
        w.tx_depth = se.probe.last.tx_depth;
        const cap_debug_method *dm = cap_debug_method_at(&((tear_image *)tc->priv)->debug, w.pkg_aid,
                                                         w.pkg_aid_len, w.method);
        unsigned line = cap_debug_line_at(dm, w.pc);
        if (line) {
            w.source_line = (int)line;
            w.source_file = dm->source;
        }
    } else if (se.probe.open) {
        w.tx_depth = se.probe.last.tx_depth;
    }
    char *st = session_state(tc, &se, c->line);
    session_close(&se);
    tc->points++;
    if (!st)
        return -1;
    int rc = add_point(c, st, k, &w);
    free(st);
    return rc;
}

/* Resets mode: a cold reset after line i (inside a block), then the rest of
 * the block (answers ignored), then the checks. */
static int reset_point(tear_campaign *tc, tear_command *c, size_t block_end)
{
    session se;
    if (session_open(tc, &se))
        return -1;
    if (session_run(tc, &se, 0, c->line + 1, NULL)) {
        session_close(&se);
        return -1;
    }
    int rc = session_reset_select(tc, &se, c->line);
    for (size_t i = c->line + 1; !rc && i < block_end; i++)
        if (tc->lines[i].kind == TEAR_LINE_SCRIPT)
            (void)session_line(tc, &se, i, NULL);
    char *st = rc ? NULL : session_state(tc, &se, block_end - 1);
    session_close(&se);
    tc->points++;
    if (!st)
        return -1;
    tear_writer w;
    memset(&w, 0, sizeof w);
    w.source_line = -1;
    rc = add_point(c, st, 0, &w);
    free(st);
    return rc;
}

int tear_campaign_run(tear_campaign *tc, FILE *err)
{
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    /* 1. reference run: count the writes of each torn command */
    session se;
    if (session_open(tc, &se)) {
        fprintf(err, "cardvm tear: cannot make a card from %s\n", tc->image_file);
        return -1;
    }
    int rc = 0;
    for (size_t i = 0; i < tc->n_lines && !rc; i++) {
        if (tc->lines[i].kind != TEAR_LINE_SCRIPT)
            continue;
        chip_set_tear(se.chip, 0);
        if (session_line(tc, &se, i, err)) {
            fprintf(err, "cardvm tear: the script fails without any cut (above)\n");
            rc = -1;
            break;
        }
        uint32_t writes = chip_page_writes_since_arm(se.chip);
        if (tc->lines[i].torn && writes) {
            tear_command *c = new_command(tc, i);
            if (!c) rc = -1;
            else c->writes = writes;
        }
    }
    session_close(&se);
    /* 2.-3. states and cuts per writing command */
    size_t n_writing = tc->n_cmds;
    for (size_t ci = 0; ci < n_writing && !rc; ci++) {
        tear_command *c = &tc->cmds[ci];
        c->before = state_after(tc, c->line, c->line, err);
        c->after = state_after(tc, c->line + 1, c->line, err);
        if (!c->before || !c->after) { rc = -1; break; }
        uint32_t n = c->writes, m = tc->opt.max_points && tc->opt.max_points < n ? tc->opt.max_points : n;
        for (uint32_t j = 0; j < m && !rc; j++) {
            uint32_t k = m == n ? j + 1 : m == 1 ? n : 1 + (uint32_t)((uint64_t)j * (n - 1) / (m - 1));
            rc = cut_point(tc, &tc->cmds[ci], k);
        }
    }
    /* 4. resets between the commands of a block */
    if (!rc && tc->opt.resets) {
        for (size_t i = 0; i < tc->n_lines && !rc; i++) {
            const tear_line *l = &tc->lines[i];
            if (l->kind != TEAR_LINE_SCRIPT || !l->torn)
                continue;
            size_t first = i, end = i;
            while (first > 0 && tc->lines[first - 1].block == l->block) first--;
            while (end < tc->n_lines && tc->lines[end].block == l->block)
                end++;
            /* the next script line of the block: none for the last one */
            size_t next = i + 1;
            while (next < end && tc->lines[next].kind != TEAR_LINE_SCRIPT) next++;
            if (next >= end)
                continue;
            tear_command *c = new_command(tc, i);
            if (!c) { rc = -1; break; }
            c->reset_point = 1;
            c->before = state_after(tc, first, i, err);
            c->after = state_after(tc, end, end - 1, err);
            if (!c->before || !c->after) { rc = -1; break; }
            rc = reset_point(tc, c, end);
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    tc->seconds = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    if (rc && err)
        fprintf(err, "cardvm tear: a replay of the script failed or the host ran out of memory\n");
    return rc;
}

size_t tear_campaign_torn(const tear_campaign *tc)
{
    size_t n = 0;
    for (size_t i = 0; i < tc->n_cmds; i++)
        n += tc->cmds[i].n_states;
    return n;
}

void tear_campaign_free(tear_campaign *tc)
{
    for (size_t i = 0; i < tc->n_lines; i++)
        free(tc->lines[i].text);
    free(tc->lines);
    for (size_t i = 0; i < tc->n_cmds; i++) {
        tear_command *c = &tc->cmds[i];
        free(c->before);
        free(c->after);
        for (size_t j = 0; j < c->n_states; j++) {
            free(c->states[j].answers);
            free(c->states[j].points);
            free(c->states[j].writers);
        }
        free(c->states);
    }
    free(tc->cmds);
    tear_image *im = tc->priv;
    if (im) {
        if (im->orig)
            chip_close(im->orig);
        cap_debug_free(&im->debug);
        free(im);
    }
    memset(tc, 0, sizeof *tc);
}
