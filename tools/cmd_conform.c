/*
 * cmd_conform.c — `cardvm conform [--reader NAME | IMAGE]`: run the
 * conformance scripts of test/conformance (docs/conformance.md) and report
 * each check as passed, failed or skipped, in text and JUnit XML.
 *
 * Each script is one check. It runs through the `cardvm script` interpreter
 * (cmd_script) in a child process, so that its failure report (stderr) is
 * captured as the reason and a crash fails only that check. A first-lines
 * directive `# requires: user` or `# requires: issuer` names the card mode the
 * script needs:
 *   - with IMAGE or --reader the card's mode (GET DATA DF21) is read once,
 *     and scripts needing another mode are skipped with that reason;
 *   - with neither, every script runs on a fresh card of its mode made by
 *     `cardvm create [--issuer]` in a temporary directory.
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

#include "cli.h"

int cmd_script(int argc, char **argv);
int cmd_create(int argc, char **argv);

#ifndef CARDVM_CONFORMANCE_DIR
#define CARDVM_CONFORMANCE_DIR ""
#endif

enum { MODE_ANY = 0, MODE_ISSUER = 1, MODE_CUSTOMIZATION = 2, MODE_USER = 3, MODE_TERMINATED = 4 };
enum { R_PASS, R_FAIL, R_SKIP };

typedef struct check {
    char name[256];
    char path[1536];
    int mode;
    int result;
    double secs;
    char *reason;
} check;

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
        fprintf(f, "PASS %s\n", c->name);
    } else {
        /* the first line of the reason on the status line, the rest indented */
        const char *r = c->reason ? c->reason : "";
        const char *nl = strchr(r, '\n');
        fprintf(f, "%s %s: %.*s\n", c->result == R_FAIL ? "FAIL" : "SKIP", c->name,
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
            "Each script is one check: PASS, FAIL with the reason, or SKIP. A script\n"
            "starting with '# requires: issuer' (or user) needs a card in that mode.\n"
            "With no IMAGE and no reader every script runs on a fresh card of its\n"
            "mode, made by `cardvm create [--issuer]` in a temporary directory.\n"
            "Scripts may change the card (the issuer script writes the serial).\n\n"
            "Options:\n"
            "  --reader NAME   a PC/SC reader instead of IMAGE\n"
            "  --suite DIR     the scripts (default %s)\n"
            "  --junit FILE    write a JUnit XML report\n"
            "  --report FILE   write the text report too\n"
            "Exit status: 0 no check failed, 1 a check failed, 2 usage error.\n",
            "the source test/conformance");
}

int cmd_conform(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) { help(stdout); return 0; }
    static const struct option opts[] = {{"reader", required_argument, 0, 'r'},
                                         {"suite", required_argument, 0, 's'},
                                         {"junit", required_argument, 0, 'j'},
                                         {"report", required_argument, 0, 'o'},
                                         {0, 0, 0, 0}};
    const char *reader = NULL, *junit = NULL, *report = NULL, *image = NULL;
    char suite[1024];
    default_suite(suite, sizeof suite);
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 'r') reader = optarg;
        else if (c == 's') snprintf(suite, sizeof suite, "%s", optarg);
        else if (c == 'j') junit = optarg;
        else if (c == 'o') report = optarg;
        else { help(stderr); return 2; }
    }
    if (optind < argc && !reader) image = argv[optind++];
    if (optind != argc) { cli_error("conform", "unexpected argument '%s'", argv[optind]); return 2; }

    struct dirent **ents = NULL;
    int n = scandir(suite, &ents, is_script, by_name);
    if (n < 0) { cli_error("conform", "cannot read the suite %s: %s", suite, strerror(errno)); return 1; }
    if (n == 0) { free(ents); cli_error("conform", "no *.script in %s", suite); return 1; }
    check *checks = calloc((size_t)n, sizeof *checks);
    if (!checks) { for (int i = 0; i < n; i++) free(ents[i]); free(ents); return 1; }
    for (int i = 0; i < n; i++) {
        snprintf(checks[i].path, sizeof checks[i].path, "%s/%s", suite, ents[i]->d_name);
        snprintf(checks[i].name, sizeof checks[i].name, "%.*s", (int)(strlen(ents[i]->d_name) - 7), ents[i]->d_name);
        checks[i].mode = script_mode(checks[i].path);
        free(ents[i]);
    }
    free(ents);

    int own = !image && !reader, target_mode = -1;
    char tmpdir[] = "/tmp/cardvm-conform-XXXXXX";
    if (own) {
        if (!mkdtemp(tmpdir)) { cli_error("conform", "mkdtemp: %s", strerror(errno)); free(checks); return 1; }
        printf("conform: %s, %d scripts, fresh cards in %s\n", suite, n, tmpdir);
    } else {
        target_mode = card_mode(image, reader);
        if (target_mode < 0) {
            cli_error("conform", "cannot read the card's mode (GET DATA DF21)");
            free(checks);
            return 1;
        }
        printf("conform: %s, %d scripts, card %s in %s mode\n", suite, n, reader ? reader : image,
               mode_name(target_mode));
    }

    int npass = 0, nfail = 0, nskip = 0;
    double t_all = now();
    for (int i = 0; i < n; i++) {
        check *k = &checks[i];
        double t0 = now();
        char card[sizeof tmpdir + 300];
        int ok = 1;
        if (own) {
            int mode = k->mode == MODE_ANY ? MODE_USER : k->mode;
            if (mode != MODE_USER && mode != MODE_ISSUER) {
                k->result = R_SKIP;
                if (asprintf(&k->reason, "requires %s mode; cardvm create makes user or issuer cards",
                             mode_name(mode)) < 0) k->reason = NULL;
                ok = 0;
            } else {
                snprintf(card, sizeof card, "%s/%s.img", tmpdir, k->name);
                char *cargv[] = {"create", "--force", card, NULL, NULL};
                int cargc = 3;
                if (mode == MODE_ISSUER) { cargv[1] = "--issuer"; cargv[2] = "--force"; cargv[3] = card; cargc = 4; }
                char *out = NULL;
                int rc = run_child(cmd_create, cargc, cargv, &out);
                if (rc != 0) {
                    k->result = R_FAIL;
                    if (asprintf(&k->reason, "cardvm create%s failed (%d): %s",
                                 mode == MODE_ISSUER ? " --issuer" : "", rc, out ? out : "") < 0) k->reason = NULL;
                    ok = 0;
                }
                free(out);
            }
        } else if (k->mode != MODE_ANY && k->mode != target_mode) {
            k->result = R_SKIP;
            if (asprintf(&k->reason, "requires a card in %s mode; the card is in %s mode", mode_name(k->mode),
                         mode_name(target_mode)) < 0) k->reason = NULL;
            ok = 0;
        }
        if (ok) {
            char *sargv[5];
            int sargc = 0;
            sargv[sargc++] = "script";
            sargv[sargc++] = k->path;
            if (reader) { sargv[sargc++] = "--reader"; sargv[sargc++] = (char *)reader; }
            else sargv[sargc++] = own ? card : (char *)image;
            sargv[sargc] = NULL;
            char *out = NULL;
            int rc = run_child(cmd_script, sargc, sargv, &out);
            if (out) trim(out);
            if (rc == 0) {
                k->result = R_PASS;
                free(out);
            } else {
                k->result = R_FAIL;
                if (out && *out) k->reason = out;
                else {
                    free(out);
                    if (asprintf(&k->reason, "script exited with status %d", rc) < 0) k->reason = NULL;
                }
            }
            if (own) unlink(card);
        }
        k->secs = now() - t0;
        if (k->result == R_PASS) npass++;
        else if (k->result == R_FAIL) nfail++;
        else nskip++;
        print_result(stdout, k);
        fflush(stdout);
    }
    t_all = now() - t_all;
    if (own) rmdir(tmpdir);
    printf("%d checks: %d passed, %d failed, %d skipped (%.2f s)\n", n, npass, nfail, nskip, t_all);

    int status = nfail ? 1 : 0;
    if (report) {
        FILE *f = fopen(report, "w");
        if (!f) { cli_error("conform", "cannot write %s: %s", report, strerror(errno)); status = 1; }
        else {
            fprintf(f, "cardvm conformance: suite %s, card %s\n", suite,
                    reader ? reader : image ? image : "fresh cards (cardvm create)");
            for (int i = 0; i < n; i++) print_result(f, &checks[i]);
            fprintf(f, "%d checks: %d passed, %d failed, %d skipped\n", n, npass, nfail, nskip);
            if (fclose(f)) status = 1;
        }
    }
    if (junit) {
        FILE *f = fopen(junit, "w");
        if (!f) { cli_error("conform", "cannot write %s: %s", junit, strerror(errno)); status = 1; }
        else {
            fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
            fprintf(f, "<testsuites tests=\"%d\" failures=\"%d\" skipped=\"%d\" errors=\"0\" time=\"%.3f\">\n", n,
                    nfail, nskip, t_all);
            fprintf(f, "  <testsuite name=\"cardvm.conformance\" tests=\"%d\" failures=\"%d\" skipped=\"%d\" "
                       "errors=\"0\" time=\"%.3f\">\n", n, nfail, nskip, t_all);
            fprintf(f, "    <properties><property name=\"card\" value=\"");
            xml_escape(f, reader ? reader : image ? image : "fresh cards");
            fprintf(f, "\"/><property name=\"transport\" value=\"%s\"/></properties>\n",
                    reader ? "pcsc" : "in-process");
            for (int i = 0; i < n; i++) {
                check *k = &checks[i];
                fprintf(f, "    <testcase classname=\"conformance\" name=\"");
                xml_escape(f, k->name);
                fprintf(f, "\" file=\"");
                xml_escape(f, k->path);
                fprintf(f, "\" time=\"%.3f\"", k->secs);
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
    for (int i = 0; i < n; i++) free(checks[i].reason);
    free(checks);
    return status;
}
