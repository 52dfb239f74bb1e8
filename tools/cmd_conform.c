/*
 * cmd_conform.c — `cardvm conform [--reader NAME | IMAGE]`: run the
 * conformance scripts (docs/conformance.md) and report every check as
 * passed, failed or skipped, in text and JUnit XML.
 *
 * A check is an `echo` line of a script and the lines up to the next one
 * (script_syntax.h); one JUnit testcase per check, classname
 * conformance.SCRIPT. Each script is first checked for syntax (an error
 * fails the script's "syntax" testcase and nothing is sent), then run by the
 * `cardvm script` interpreter with --keep-going in a child process: a failed
 * line is reported (file:line, sent, got, expected), the rest of its check
 * is skipped and the next check runs; a crash fails only the checks it left
 * unrun. The failure reports are attributed to checks by their line number.
 *
 * A first-lines directive `# requires: user` or `# requires: issuer` names
 * the card mode a script needs:
 *   - with IMAGE or --reader the card's mode (GET DATA DF21) is read once,
 *     and every check of a script needing another mode is skipped;
 *   - with neither, every script runs on a fresh card of its mode made by
 *     `cardvm create [--issuer]` in a temporary directory.
 *
 * Suites: the built-in suite (test/conformance, or the installed copy), plus
 * every `--suite DIR`; `--replace-suite` drops the built-in one.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "cli.h"
#include "script_syntax.h"

int cmd_script(int argc, char **argv);
int cmd_create(int argc, char **argv);

#ifndef CARDVM_CONFORMANCE_DIR
#define CARDVM_CONFORMANCE_DIR ""
#endif

enum { MODE_ANY = 0, MODE_ISSUER = 1, MODE_CUSTOMIZATION = 2, MODE_USER = 3, MODE_TERMINATED = 4 };
enum { R_PASS, R_FAIL, R_SKIP };

typedef struct check {
    char script[256];       /* the script's name: JUnit classname conformance.SCRIPT */
    char name[256];         /* the echo text */
    const char *path;       /* the script's path (owned by its script_entry) */
    unsigned first_line, last_line;
    int result;
    double secs;
    char *reason;
} check;

typedef struct script_entry {
    char name[256];
    char path[1536];
    int mode;
    size_t first, count;    /* its checks in the check array */
} script_entry;

static const char *mode_name(int m)
{
    switch (m) {
    case MODE_ISSUER: return "issuer";
    case MODE_CUSTOMIZATION: return "customization";
    case MODE_USER: return "user";
    case MODE_TERMINATED: return "terminated";
    default: return "unknown";
    }
}

/* The default suite: CARDVM_CONFORMANCE_DIR, else the installed copy beside
 * the binary (BIN/../share/cardvm/conformance), else test/conformance next to
 * this source file (its path is compiled in), else ./test/conformance. */
static void default_suite(char *out, size_t cap) /* cap >= 1024 */
{
    if (CARDVM_CONFORMANCE_DIR[0]) { snprintf(out, cap, "%s", CARDVM_CONFORMANCE_DIR); return; }
    char exe[700];
    ssize_t en = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (en > 0) {
        exe[en] = 0;
        char *slash = strrchr(exe, '/');
        if (slash) {
            *slash = 0;
            struct stat st;
            snprintf(out, cap, "%s/../share/cardvm/conformance", exe);
            if (stat(out, &st) == 0 && S_ISDIR(st.st_mode)) return;
        }
    }
    char src[900];
    snprintf(src, sizeof src, "%s", __FILE__);
    char *t = strstr(src, "/tools/cmd_conform.c");
    if (t && src[0] == '/') {
        *t = 0;
        snprintf(out, cap, "%s/test/conformance", src);
        struct stat st;
        if (stat(out, &st) == 0 && S_ISDIR(st.st_mode)) return;
    }
    snprintf(out, cap, "test/conformance");
}

/* `# requires: MODE` in the comment lines at the top of the script. */
static int script_mode(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) return MODE_ANY;
    char line[512];
    int mode = MODE_ANY;
    for (int i = 0; i < 10 && fgets(line, sizeof line, f); i++) {
        if (line[0] != '#') break;
        char *r = strstr(line, "requires:");
        if (!r) continue;
        r += 9;
        while (*r == ' ' || *r == '\t') r++;
        if (!strncmp(r, "issuer", 6)) mode = MODE_ISSUER;
        else if (!strncmp(r, "user", 4)) mode = MODE_USER;
        else if (!strncmp(r, "customization", 13)) mode = MODE_CUSTOMIZATION;
        break;
    }
    fclose(f);
    return mode;
}

static int by_name(const struct dirent **a, const struct dirent **b) { return strcmp((*a)->d_name, (*b)->d_name); }
static int is_script(const struct dirent *d)
{
    size_t n = strlen(d->d_name);
    return n > 7 && !strcmp(d->d_name + n - 7, ".script") && d->d_name[0] != '.';
}

/* Run cmd(argc, argv) in a child; its stderr (and, if keep_out, stdout) is
 * returned in *out (malloc'ed). Returns the exit status, or -1. */
static int run_child(int (*cmd)(int, char **), int argc, char **argv, char **out)
{
    int fd[2];
    *out = NULL;
    fflush(stdout);
    fflush(stderr);
    if (pipe(fd)) return -1;
    pid_t pid = fork();
    if (pid < 0) { close(fd[0]); close(fd[1]); return -1; }
    if (pid == 0) {
        close(fd[0]);
        int nul = open("/dev/null", O_WRONLY);
        if (nul >= 0) dup2(nul, 1);
        dup2(fd[1], 2);
        int rc = cmd(argc, argv);
        fflush(stdout);
        fflush(stderr);
        _exit(rc & 0xff);
    }
    close(fd[1]);
    size_t len = 0, cap = 4096;
    char *buf = malloc(cap);
    for (;;) {
        if (buf && len + 1024 >= cap) {
            char *nb = realloc(buf, cap * 2);
            if (!nb) break;
            buf = nb;
            cap *= 2;
        }
        ssize_t r = buf ? read(fd[0], buf + len, cap - len - 1) : -1;
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        len += (size_t)r;
    }
    close(fd[0]);
    if (buf) buf[len] = 0;
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR) { free(buf); return -1; }
    *out = buf;
    if (WIFEXITED(st)) return WEXITSTATUS(st);
    if (buf && len + 64 < cap) snprintf(buf + len, cap - len, "killed by signal %d\n", WTERMSIG(st));
    return 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
}

/* The mode of the card: GET DATA DF21. -1 when it cannot be read. */
static int card_mode(const char *image, const char *reader)
{
    transport *t = cli_open_card(image, reader);
    if (!t) return -1;
    static const uint8_t cmd[] = {0x80, 0xCA, 0xDF, 0x21, 0x00};
    uint8_t rsp[64];
    size_t rl = 0;
    int mode = -1;
    if (transport_transmit(t, cmd, sizeof cmd, rsp, sizeof rsp, &rl) == 0 && rl == 6 && rsp[0] == 0xDF &&
        rsp[1] == 0x21 && rsp[2] == 1 && rsp[4] == 0x90 && rsp[5] == 0)
        mode = rsp[3];
    transport_close(t);
    return mode;
}

static void trim(char *s)
{
    size_t n = strlen(s);
    while (n && (s[n - 1] == '\n' || s[n - 1] == ' ' || s[n - 1] == '\r')) s[--n] = 0;
}

static void xml_escape(FILE *f, const char *s)
{
    for (; s && *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '<') fputs("&lt;", f);
        else if (c == '>') fputs("&gt;", f);
        else if (c == '&') fputs("&amp;", f);
        else if (c == '"') fputs("&quot;", f);
        else if (c < 0x20 && c != '\n' && c != '\t') fputc('?', f);
        else fputc(c, f);
    }
}

static double now(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return tv.tv_sec + tv.tv_usec / 1e6;
}

static void print_result(FILE *f, const check *c)
{
    if (c->result == R_PASS) {
        fprintf(f, "PASS %s: %s\n", c->script, c->name);
    } else {
        /* the first line of the reason on the status line, the rest indented */
        const char *r = c->reason ? c->reason : "";
        const char *nl = strchr(r, '\n');
        fprintf(f, "%s %s: %s: %.*s\n", c->result == R_FAIL ? "FAIL" : "SKIP", c->script, c->name,
                (int)(nl ? (size_t)(nl - r) : strlen(r)), r);
        while (nl) {
            const char *next = strchr(nl + 1, '\n');
            size_t n = next ? (size_t)(next - nl - 1) : strlen(nl + 1);
            if (n) fprintf(f, "    %.*s\n", (int)n, nl + 1);
            nl = next;
        }
    }
}

static void help(FILE *f)
{
    fprintf(f,
            "usage: cardvm conform [IMAGE | --reader NAME] [options]\n\n"
            "Run the conformance scripts (docs/conformance.md): GlobalPlatform/SCP03,\n"
            "the seed 000 lifecycle, seed 004 broadcast commands, ISO 7816 rules.\n"
            "Every check (an echo line and the lines up to the next) is reported:\n"
            "PASS, FAIL with the reason, or SKIP; a failure does not stop the run.\n"
            "Scripts are syntax-checked before anything is sent. A script starting\n"
            "with '# requires: issuer' (or user) needs a card in that mode. With no\n"
            "IMAGE and no reader every script runs on a fresh card of its mode, made\n"
            "by `cardvm create [--issuer]` in a temporary directory. Scripts may\n"
            "change the card (the issuer script writes the serial).\n\n"
            "Options:\n"
            "  --reader NAME    a PC/SC reader instead of IMAGE\n"
            "  --suite DIR      run DIR's *.script too (repeatable); the built-in\n"
            "                   suite is %s\n"
            "  --replace-suite  run only the --suite directories\n"
            "  --junit FILE     write a JUnit XML report (one testcase per check)\n"
            "  --json FILE      write a JSON report (keys in docs/cli.md; - for stdout,\n"
            "                   which then carries only the JSON)\n"
            "  --report FILE    write the text report too\n"
            "Exit status: 0 no check failed, 1 a check failed, 2 usage error.\n",
            "the source test/conformance");
}

static void set_reason(check *k, int result, const char *fmt, const char *a, const char *b)
{
    k->result = result;
    free(k->reason);
    k->reason = NULL;
    if (asprintf(&k->reason, fmt, a, b) < 0) k->reason = NULL;
}

/* Attributes `cardvm script --keep-going` failure reports to checks: a
 * report starts with "PATH:LINE: " and runs to the next report. Returns the
 * highest line a report named (0 if none). */
static unsigned attribute_failures(check *ks, size_t n, const char *path, const char *out)
{
    size_t pl = strlen(path);
    unsigned last = 0;
    const char *p = out;
    while (p && *p) {
        const char *start = NULL;
        unsigned line = 0;
        for (const char *q = p; q && *q; q = strchr(q, '\n') ? strchr(q, '\n') + 1 : NULL) {
            char *end;
            if (!strncmp(q, path, pl) && q[pl] == ':' && (line = (unsigned)strtoul(q + pl + 1, &end, 10)) > 0 &&
                *end == ':') {
                start = q;
                break;
            }
        }
        if (!start) break;
        const char *next = NULL;
        for (const char *q = strchr(start, '\n'); q && q[1]; q = strchr(q + 1, '\n')) {
            char *end;
            if (!strncmp(q + 1, path, pl) && q[1 + pl] == ':' && strtoul(q + 2 + pl, &end, 10) > 0 && *end == ':') {
                next = q + 1;
                break;
            }
        }
        size_t len = next ? (size_t)(next - start) : strlen(start);
        while (len && (start[len - 1] == '\n' || start[len - 1] == ' ')) len--;
        for (size_t i = 0; i < n; i++) {
            if (line < ks[i].first_line || line > ks[i].last_line) continue;
            char *r = NULL;
            if (ks[i].reason) {
                if (asprintf(&r, "%s\n%.*s", ks[i].reason, (int)len, start) < 0) r = NULL;
            } else if (asprintf(&r, "%.*s", (int)len, start) < 0) {
                r = NULL;
            }
            free(ks[i].reason);
            ks[i].reason = r;
            ks[i].result = R_FAIL;
        }
        if (line > last) last = line;
        p = next;
    }
    return last;
}

/* Appends DIR's *.script files (sorted) to the script list. */
static int add_suite(const char *dir, script_entry **list, size_t *n)
{
    struct dirent **ents = NULL;
    int m = scandir(dir, &ents, is_script, by_name);
    if (m < 0) { cli_error("conform", "cannot read the suite %s: %s", dir, strerror(errno)); return -1; }
    script_entry *nl = realloc(*list, (*n + (size_t)m + 1) * sizeof **list);
    if (!nl) { for (int i = 0; i < m; i++) free(ents[i]); free(ents); return -1; }
    *list = nl;
    for (int i = 0; i < m; i++) {
        script_entry *e = &(*list)[(*n)++];
        memset(e, 0, sizeof *e);
        snprintf(e->path, sizeof e->path, "%s/%s", dir, ents[i]->d_name);
        snprintf(e->name, sizeof e->name, "%.*s", (int)(strlen(ents[i]->d_name) - 7), ents[i]->d_name);
        e->mode = script_mode(e->path);
        free(ents[i]);
    }
    free(ents);
    return 0;
}

/* The JSON report (docs/cli.md): one object, one entry per check. `out_fd`
 * is the real stdout when FILE is "-" (the text lines went elsewhere). */
static int write_json(const char *path, const check *checks, size_t n, const char *suites, const char *reader,
                      const char *image, int npass, int nfail, int nskip, double secs, int out_fd)
{
    static const char *results[] = {"pass", "fail", "skip"};
    json_t *j = json_object();
    json_object_set_new(j, "suite", json_string(suites));
    json_object_set_new(j, "card", json_string(reader ? reader : image ? image : "fresh cards (cardvm create)"));
    json_object_set_new(j, "transport", json_string(reader ? "pcsc" : "in-process"));
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        const check *k = &checks[i];
        json_t *o = json_object();
        json_object_set_new(o, "script", json_string(k->script));
        json_object_set_new(o, "name", json_string(k->name));
        json_object_set_new(o, "file", json_string(k->path));
        json_object_set_new(o, "line", json_integer(k->first_line));
        json_object_set_new(o, "result", json_string(results[k->result]));
        json_object_set_new(o, "reason", k->reason ? json_string(k->reason) : json_null());
        json_object_set_new(o, "time", json_real(k->secs));
        json_array_append_new(arr, o);
    }
    json_object_set_new(j, "checks", arr);
    json_t *t = json_object();
    json_object_set_new(t, "checks", json_integer((json_int_t)n));
    json_object_set_new(t, "passed", json_integer(npass));
    json_object_set_new(t, "failed", json_integer(nfail));
    json_object_set_new(t, "skipped", json_integer(nskip));
    json_object_set_new(t, "time", json_real(secs));
    json_object_set_new(j, "totals", t);
    int rc;
    if (!strcmp(path, "-")) {
        fflush(stdout);
        FILE *f = fdopen(dup(out_fd >= 0 ? out_fd : 1), "w");
        rc = !f || json_dumpf(j, f, JSON_INDENT(2) | JSON_PRESERVE_ORDER) != 0;
        if (f) {
            fputc('\n', f);
            if (fclose(f)) rc = 1;
        }
    } else {
        rc = json_dump_file(j, path, JSON_INDENT(2) | JSON_PRESERVE_ORDER) != 0;
        if (rc) cli_error("conform", "cannot write %s: %s", path, strerror(errno));
    }
    json_decref(j);
    return rc;
}

int cmd_conform(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) { help(stdout); return 0; }
    static const struct option opts[] = {{"reader", required_argument, 0, 'r'},
                                         {"suite", required_argument, 0, 's'},
                                         {"replace-suite", no_argument, 0, 'R'},
                                         {"junit", required_argument, 0, 'j'},
                                         {"json", required_argument, 0, 'J'},
                                         {"report", required_argument, 0, 'o'},
                                         {0, 0, 0, 0}};
    const char *reader = NULL, *junit = NULL, *report = NULL, *image = NULL, *json = NULL;
    const char *extra[16];
    int n_extra = 0, replace = 0;
    char builtin[1024];
    default_suite(builtin, sizeof builtin);
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 'r') reader = optarg;
        else if (c == 's' && n_extra < 16) extra[n_extra++] = optarg;
        else if (c == 'R') replace = 1;
        else if (c == 'j') junit = optarg;
        else if (c == 'J') json = optarg;
        else if (c == 'o') report = optarg;
        else { help(stderr); return 2; }
    }
    if (optind < argc && !reader) image = argv[optind++];
    if (optind != argc) { cli_error("conform", "unexpected argument '%s'", argv[optind]); return 2; }
    if (replace && n_extra == 0) { cli_error("conform", "--replace-suite needs at least one --suite DIR"); return 2; }
    /* --json -: stdout carries the JSON alone; the text lines go to stderr */
    int saved_stdout = -1;
    if (json && !strcmp(json, "-")) {
        fflush(stdout);
        saved_stdout = dup(1);
        if (saved_stdout < 0 || dup2(2, 1) < 0) { cli_error("conform", "--json -: %s", strerror(errno)); return 1; }
    }

    script_entry *scripts = NULL;
    size_t n_scripts = 0;
    char suites[4096];
    suites[0] = 0;
    if (!replace) {
        if (add_suite(builtin, &scripts, &n_scripts)) { free(scripts); return 1; }
        snprintf(suites, sizeof suites, "%s", builtin);
    }
    for (int i = 0; i < n_extra; i++) {
        if (add_suite(extra[i], &scripts, &n_scripts)) { free(scripts); return 1; }
        size_t l = strlen(suites);
        snprintf(suites + l, sizeof suites - l, "%s%s", l ? " + " : "", extra[i]);
    }
    if (n_scripts == 0) { free(scripts); cli_error("conform", "no *.script in %s", suites); return 1; }

    /* Syntax, then checks: every script's testcases, in order. */
    check *checks = NULL;
    size_t n = 0;
    for (size_t si = 0; si < n_scripts; si++) {
        script_entry *e = &scripts[si];
        size_t tl;
        char *text = (char *)cli_read_file(e->path, &tl);
        script_check sc[256];
        size_t m = 0;
        char *syntax = NULL;
        size_t syntax_len = 0;
        if (!text) {
            if (asprintf(&syntax, "cannot read %s", e->path) < 0) syntax = NULL;
        } else {
            FILE *mf = open_memstream(&syntax, &syntax_len);
            unsigned bad = mf ? script_syntax_check(e->path, text, mf) : 0;
            if (mf) fclose(mf);
            if (!bad) { free(syntax); syntax = NULL; m = script_checks(text, sc, 256); }
            if (m > 256) m = 256;
        }
        free(text);
        size_t want = n + (m ? m : 1);
        check *nc = realloc(checks, want * sizeof *checks);
        if (!nc) { free(syntax); break; }
        checks = nc;
        e->first = n;
        e->count = m ? m : 1;
        for (size_t i = 0; i < e->count; i++) {
            check *k = &checks[n++];
            memset(k, 0, sizeof *k);
            snprintf(k->script, sizeof k->script, "%s", e->name);
            k->path = e->path;
            if (m) {
                snprintf(k->name, sizeof k->name, "%.*s", (int)(sizeof k->name - 1), sc[i].name);
                k->first_line = sc[i].first_line;
                k->last_line = sc[i].last_line;
            } else {
                snprintf(k->name, sizeof k->name, "%s", syntax ? "syntax" : "checks");
                k->result = R_FAIL;
                if (syntax) { while (syntax_len && syntax[syntax_len - 1] == '\n') syntax[--syntax_len] = 0; }
                k->reason = syntax ? syntax : strdup("the script has no command");
                syntax = NULL;
            }
        }
        free(syntax);
    }

    int own = !image && !reader, target_mode = -1;
    char tmpdir[] = "/tmp/cardvm-conform-XXXXXX";
    if (own) {
        if (!mkdtemp(tmpdir)) { cli_error("conform", "mkdtemp: %s", strerror(errno)); free(checks); free(scripts); return 1; }
        printf("conform: %s, %zu scripts, %zu checks, fresh cards in %s\n", suites, n_scripts, n, tmpdir);
    } else {
        target_mode = card_mode(image, reader);
        if (target_mode < 0) {
            cli_error("conform", "cannot read the card's mode (GET DATA DF21)");
            free(checks);
            free(scripts);
            return 1;
        }
        printf("conform: %s, %zu scripts, %zu checks, card %s in %s mode\n", suites, n_scripts, n,
               reader ? reader : image, mode_name(target_mode));
    }

    int npass = 0, nfail = 0, nskip = 0;
    double t_all = now();
    for (size_t si = 0; si < n_scripts; si++) {
        script_entry *e = &scripts[si];
        check *ks = checks + e->first;
        double t0 = now();
        char card[sizeof tmpdir + 300];
        int ok = ks[0].result != R_FAIL || ks[0].first_line != 0;   /* not a syntax failure */
        if (!ok) {
            /* reported as it is */
        } else if (own) {
            int mode = e->mode == MODE_ANY ? MODE_USER : e->mode;
            if (mode != MODE_USER && mode != MODE_ISSUER) {
                for (size_t i = 0; i < e->count; i++)
                    set_reason(&ks[i], R_SKIP, "requires %s mode; cardvm create makes %s cards", mode_name(mode),
                               "user or issuer");
                ok = 0;
            } else {
                snprintf(card, sizeof card, "%s/%s.img", tmpdir, e->name);
                char *cargv[] = {"create", "--force", card, NULL, NULL};
                int cargc = 3;
                if (mode == MODE_ISSUER) { cargv[1] = "--issuer"; cargv[2] = "--force"; cargv[3] = card; cargc = 4; }
                char *out = NULL;
                int rc = run_child(cmd_create, cargc, cargv, &out);
                if (rc != 0) {
                    for (size_t i = 0; i < e->count; i++)
                        set_reason(&ks[i], R_FAIL, "cardvm create%s failed: %s", mode == MODE_ISSUER ? " --issuer" : "",
                                   out ? out : "");
                    ok = 0;
                }
                free(out);
            }
        } else if (e->mode != MODE_ANY && e->mode != target_mode) {
            for (size_t i = 0; i < e->count; i++)
                set_reason(&ks[i], R_SKIP, "requires a card in %s mode; the card is in %s mode", mode_name(e->mode),
                           mode_name(target_mode));
            ok = 0;
        }
        if (ok) {
            char *sargv[6];
            int sargc = 0;
            sargv[sargc++] = "script";
            sargv[sargc++] = "--keep-going";
            sargv[sargc++] = e->path;
            if (reader) { sargv[sargc++] = "--reader"; sargv[sargc++] = (char *)reader; }
            else sargv[sargc++] = own ? card : (char *)image;
            sargv[sargc] = NULL;
            char *out = NULL;
            int rc = run_child(cmd_script, sargc, sargv, &out);
            if (out) trim(out);
            unsigned last = attribute_failures(ks, e->count, e->path, out ? out : "");
            if (rc != 0 && rc != 1) {
                /* ended abnormally: what it did not report on did not run */
                char status[64];
                snprintf(status, sizeof status, "%d", rc);
                for (size_t i = 0; i < e->count; i++)
                    if (ks[i].result != R_FAIL && ks[i].last_line > last)
                        set_reason(&ks[i], R_FAIL, "not run: the script ended abnormally (status %s): %s", status,
                                   out ? out : "");
            } else if (rc == 1 && last == 0) {
                for (size_t i = 0; i < e->count; i++)
                    set_reason(&ks[i], R_FAIL, "%s%s", "the script failed: ", out && *out ? out : "no report");
            }
            free(out);
            if (own) unlink(card);
        }
        double per = (now() - t0) / (double)(e->count ? e->count : 1);
        for (size_t i = 0; i < e->count; i++) {
            ks[i].secs = per;
            if (ks[i].result == R_PASS) npass++;
            else if (ks[i].result == R_FAIL) nfail++;
            else nskip++;
            print_result(stdout, &ks[i]);
        }
        fflush(stdout);
    }
    t_all = now() - t_all;
    if (own) rmdir(tmpdir);
    printf("%zu checks: %d passed, %d failed, %d skipped (%.2f s)\n", n, npass, nfail, nskip, t_all);

    int status = nfail ? 1 : 0;
    if (report) {
        FILE *f = fopen(report, "w");
        if (!f) { cli_error("conform", "cannot write %s: %s", report, strerror(errno)); status = 1; }
        else {
            fprintf(f, "cardvm conformance: suite %s, card %s\n", suites,
                    reader ? reader : image ? image : "fresh cards (cardvm create)");
            for (size_t i = 0; i < n; i++) print_result(f, &checks[i]);
            fprintf(f, "%zu checks: %d passed, %d failed, %d skipped\n", n, npass, nfail, nskip);
            if (fclose(f)) status = 1;
        }
    }
    if (junit) {
        FILE *f = fopen(junit, "w");
        if (!f) { cli_error("conform", "cannot write %s: %s", junit, strerror(errno)); status = 1; }
        else {
            fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
            fprintf(f, "<testsuites tests=\"%zu\" failures=\"%d\" skipped=\"%d\" errors=\"0\" time=\"%.3f\">\n", n,
                    nfail, nskip, t_all);
            fprintf(f, "  <testsuite name=\"cardvm.conformance\" tests=\"%zu\" failures=\"%d\" skipped=\"%d\" "
                       "errors=\"0\" time=\"%.3f\">\n", n, nfail, nskip, t_all);
            fprintf(f, "    <properties><property name=\"card\" value=\"");
            xml_escape(f, reader ? reader : image ? image : "fresh cards");
            fprintf(f, "\"/><property name=\"transport\" value=\"%s\"/></properties>\n",
                    reader ? "pcsc" : "in-process");
            for (size_t i = 0; i < n; i++) {
                check *k = &checks[i];
                fprintf(f, "    <testcase classname=\"conformance.");
                xml_escape(f, k->script);
                fprintf(f, "\" name=\"");
                xml_escape(f, k->name);
                fprintf(f, "\" file=\"");
                xml_escape(f, k->path);
                fprintf(f, "\" line=\"%u\" time=\"%.3f\"", k->first_line, k->secs);
                if (k->result == R_PASS) { fprintf(f, "/>\n"); continue; }
                fprintf(f, ">\n      <%s message=\"", k->result == R_FAIL ? "failure" : "skipped");
                const char *r = k->reason ? k->reason : "";
                const char *nl = strchr(r, '\n');
                char first[512];
                snprintf(first, sizeof first, "%.*s", (int)(nl ? (size_t)(nl - r) : strlen(r)), r);
                xml_escape(f, first);
                if (k->result == R_FAIL) {
                    fprintf(f, "\">");
                    xml_escape(f, r);
                    fprintf(f, "</failure>\n");
                } else {
                    fprintf(f, "\"/>\n");
                }
                fprintf(f, "    </testcase>\n");
            }
            fprintf(f, "  </testsuite>\n</testsuites>\n");
            if (fclose(f)) status = 1;
        }
    }
    if (json && write_json(json, checks, n, suites, reader, image, npass, nfail, nskip, t_all, saved_stdout))
        status = 1;
    if (saved_stdout >= 0) close(saved_stdout);
    for (size_t i = 0; i < n; i++) free(checks[i].reason);
    free(checks);
    free(scripts);
    return status;
}
