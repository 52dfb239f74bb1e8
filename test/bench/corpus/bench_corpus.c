/*
 * bench_corpus.c — VM speed on real converter output, printed, never judged.
 *
 * Kernels: the shared corpus CAP (../shared/javacard/bench, Oracle's 3.0.5
 * converter) is loaded over SCP03 into a fresh card through the card's own
 * path (card → ISD → LOADER → VM), installed and selected; each kernel
 * runs as one APDU `80 INS P1 P2 02` (repeat count P1P2), its checksum
 * checked against checksums.txt. The Lua 5.4 and C twins of the corpus run
 * in the same invocation (child processes timing themselves by CPU time,
 * the C twin built with -O2 -fno-tree-slp-vectorize and a volatile sink).
 * Every figure is CPU time (CLOCK_PROCESS_CPUTIME_ID), SAMPLES samples of
 * at least SECS each, µs per repeat, min / median / max; the ratios use
 * the medians.
 *
 * Per APDU: the hello applet's SELECT, its command, the two in turn, and
 * a counter increment (examples/jca/hello.jca, the shared counter CAP),
 * through card_transmit on a card in lab durability (CHIP_DURABLE_LAB:
 * commits stay in memory). Under each row, the reference the issue
 * measures against: the `.cvp` twin's figures from the last run with both
 * formats, before the `.cvp` VM was removed (docs/vm.md).
 *
 *   bench_corpus [--samples N] [--secs S] [--only INS] [--no-twins]
 *                [--apdu-only [--row I]] [--kernels-only]
 *   bench_corpus --row I --apdu-count N
 *                                  per-APDU row I's APDUs N times in
 *                                  measured_apdus(), untimed, for callgrind
 *   bench_corpus --check MAX       every kernel at each repeat count <= MAX of
 *                                  checksums.txt (the corpus_kernels test)
 *   bench_corpus --count INS N     one kernel APDU in measured_apdu(), for
 *                                  run_callgrind.sh (host instructions per
 *                                  executed bytecode)
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "card.h"
#include "cap_file.h"
#include "gp_host.h"
#include "transport.h"
#include "vm.h"

#ifndef SHARED_DIR
#define SHARED_DIR "../shared"
#endif

static const char *BENCH = SHARED_DIR "/javacard/bench";

static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

typedef struct stat3 {
    double min, median, max;
} stat3;

static stat3 summarize(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    stat3 s = {v[0], v[(n - 1) / 2], v[n - 1]};
    return s;
}

/* ---- the card ---- */

typedef struct bench_card {
    char image[256];
    transport *t;
    card *c;
    gp_session gp;
} bench_card;

static int card_up(bench_card *b)
{
    char err[300], cmd[800];
    memset(b, 0, sizeof *b);
    snprintf(b->image, sizeof b->image, "/tmp/bench-corpus-%ld.img", (long)getpid());
    snprintf(cmd, sizeof cmd, "'%s' create '%s' --quiet", CARDVM_BIN, b->image);
    if (system(cmd) != 0) {
        fprintf(stderr, "cannot create a card: %s\n", cmd);
        return -1;
    }
    if (card_open(b->image, &b->c, err, sizeof err)) {
        fprintf(stderr, "card %s: %s\n", b->image, err);
        return -1;
    }
    chip_set_durability(card_chip(b->c), CHIP_DURABLE_LAB);
    if (transport_open_card(b->c, &b->t))
        return -1;
    gp_init(&b->gp, b->t, NULL);
    gp_keys k;
    uint16_t sw = 0;
    gp_default_keys(&k);
    if (gp_open(&b->gp, &k, 0x03, NULL, 0, &sw) || !b->gp.open) {
        fprintf(stderr, "SCP03: %s (SW %04X)\n", b->gp.err, sw);
        return -1;
    }
    return 0;
}

static void card_down(bench_card *b)
{
    gp_close(&b->gp);
    if (b->t)
        transport_close(b->t);
    unlink(b->image);
}

/* Load a CAP file over the open channel and install its first applet
 * (instance AID = applet AID). */
static int load_install(bench_card *b, const char *path)
{
    capfile f;
    char err[300];
    memset(&f, 0, sizeof f);
    if (capfile_read(path, 0, &f, err, sizeof err)) {
        fprintf(stderr, "%s: %s\n", path, err);
        capfile_free(&f);
        return -1;
    }
    uint8_t aid[16], aid_len, applets[8][17], n_applets;
    uint16_t sw = 0;
    int blk = -1, rc = -1;
    if (gp_package_aids(f.load_file, f.len, aid, &aid_len, applets, &n_applets) || n_applets == 0)
        fprintf(stderr, "%s: no applet\n", path);
    else if (gp_load_package(&b->gp, f.load_file, f.len, 1, &sw, &blk) || sw != 0x9000)
        fprintf(stderr, "%s: load block %d: %04X %s\n", path, blk, sw, b->gp.err);
    else {
        gp_install_req req = {0x0C, aid, aid_len, applets[0] + 1, applets[0][0], NULL, 0, NULL, 0, NULL, 0, 0};
        if (gp_install_send(&b->gp, &req, &sw) || sw != 0x9000)
            fprintf(stderr, "%s: install: %04X %s\n", path, sw, b->gp.err);
        else
            rc = 0;
    }
    capfile_free(&f);
    return rc;
}

static uint16_t send(bench_card *b, const uint8_t *cmd, size_t n, uint8_t *rsp, size_t *rlen)
{
    if (card_transmit(b->c, cmd, n, rsp, CARD_MAX_RESPONSE, rlen) || *rlen < 2)
        return 0;
    return (uint16_t)(rsp[*rlen - 2] << 8 | rsp[*rlen - 1]);
}

static int select_aid(bench_card *b, const uint8_t *aid, size_t n)
{
    uint8_t cmd[5 + 16] = {0x00, 0xA4, 0x04, 0x00, (uint8_t)n}, rsp[CARD_MAX_RESPONSE];
    size_t rlen;
    memcpy(cmd + 5, aid, n);
    return send(b, cmd, 5 + n, rsp, &rlen) == 0x9000 ? 0 : -1;
}

/* ---- per-APDU figures ---- */

enum { APDU_SAMPLES_MAX = 64 };

/* What a per-APDU row sends, over and over: its SELECT, its command, or
 * the SELECT then the command (each counting as one APDU). */
enum row_mode { ROW_SELECT, ROW_COMMAND, ROW_PAIR };

typedef struct apdu_row {
    const char *name;
    const char *reference;   /* the `.cvp` twin's M APDU/s, docs/vm.md */
    const uint8_t *aid;
    size_t aid_len;
    const uint8_t *cmd;
    size_t n;
    enum row_mode mode;
    uint8_t sel[5 + 16];
    double v[APDU_SAMPLES_MAX];
    uint16_t sw;
    int skip;
} apdu_row;

/* The APDUs of a row, `count` rounds; the SW of the last one. Callgrind
 * counts this (--toggle-collect=measured_apdus). */
__attribute__((noinline)) uint16_t measured_apdus(bench_card *b, const apdu_row *r, long count);
__attribute__((noinline)) uint16_t measured_apdus(bench_card *b, const apdu_row *r, long count)
{
    uint8_t rsp[CARD_MAX_RESPONSE];
    size_t rlen;
    uint16_t sw = 0;
    for (long i = 0; i < count; i++) {
        if (r->mode != ROW_COMMAND)
            sw = send(b, r->sel, 5 + r->aid_len, rsp, &rlen);
        if (r->mode != ROW_SELECT)
            sw = send(b, r->cmd, r->n, rsp, &rlen);
    }
    return sw;
}

/* One sample of a row: APDUs per second over >= secs of CPU time. */
static double apdu_sample(bench_card *b, apdu_row *r, double secs)
{
    long count = 0;
    double t0 = cpu_now(), t;
    do {
        r->sw = measured_apdus(b, r, 1000);
        count += r->mode == ROW_PAIR ? 2000 : 1000;
        t = cpu_now() - t0;
    } while (t < secs);
    return (double)count / t;
}

static void print_rate(const char *name, stat3 s, uint16_t sw)
{
    printf("  %-34s %6.2f %6.2f %6.2f M APDU/s  (%.3f us median, SW %04X)\n", name, s.min / 1e6, s.median / 1e6,
           s.max / 1e6, 1e6 / s.median, sw);
}

/* Figures of every row (or row `only_row`), the rows' samples taken in
 * turn (round after round) so that a change in the machine's load falls
 * on every row alike; with count > 0, no timing: the row's APDUs `count`
 * rounds in measured_apdus(), for callgrind. */
static int per_apdu(int samples, double secs, int only_row, long count)
{
    static const uint8_t cap_hello[] = {0xF0, 0x63, 0x61, 0x72, 0x64, 0x76, 0x6D, 0x02, 0x01};
    static const uint8_t cap_counter[] = {0xF0, 0x43, 0x41, 0x50, 0x57, 0x4B, 0x01, 0x01};
    static const uint8_t hello_cmd[] = {0x00, 0x10, 0x00, 0x00, 0x00};
    static const uint8_t cap_inc[] = {0x80, 0x10, 0x00, 0x00, 0x02};
    bench_card b;
    char counter_cap[600];
    snprintf(counter_cap, sizeof counter_cap, "%s/javacard/applets/counter/jc305u3-nodebug/counter.cap",
             SHARED_DIR);
    if (card_up(&b) || load_install(&b, HELLO_CAP))
        return -1;
    int have_counter = access(counter_cap, R_OK) == 0 && load_install(&b, counter_cap) == 0;
#define ROW(name_, ref_, aid_, cmd_, mode_)                                                                        \
    { .name = (name_), .reference = (ref_), .aid = (aid_), .aid_len = sizeof(aid_), .cmd = (cmd_),                 \
      .n = sizeof(cmd_), .mode = (mode_) }
    apdu_row rows[] = {
        ROW("hello SELECT", "3.88 6.19 6.70", cap_hello, hello_cmd, ROW_SELECT),
        ROW("hello 0010", "3.73 5.36 6.29", cap_hello, hello_cmd, ROW_COMMAND),
        ROW("hello SELECT + 0010", "3.50 5.67 6.53", cap_hello, hello_cmd, ROW_PAIR),
        ROW("counter increment 8010", "3.88 5.28 6.52 (.cvp counter 8001)", cap_counter, cap_inc, ROW_COMMAND),
    };
#undef ROW
    enum { NROWS = sizeof rows / sizeof rows[0] };
    for (unsigned i = 0; i < NROWS; i++) {
        apdu_row *r = &rows[i];
        r->skip = (r->aid == cap_counter && !have_counter) || (only_row >= 0 && (int)i != only_row);
        r->sel[0] = 0x00, r->sel[1] = 0xA4, r->sel[2] = 0x04, r->sel[3] = 0x00, r->sel[4] = (uint8_t)r->aid_len;
        memcpy(r->sel + 5, r->aid, r->aid_len);
        if (!r->skip && select_aid(&b, r->aid, r->aid_len)) {
            printf("  %s: SELECT refused\n", r->name);
            r->skip = 1;
        }
    }
    if (count > 0) {
        for (unsigned i = 0; i < NROWS; i++)
            if (!rows[i].skip) {
                select_aid(&b, rows[i].aid, rows[i].aid_len);
                uint16_t sw = measured_apdus(&b, &rows[i], count);
                printf("%s x %ld: SW %04X\n", rows[i].name, count, sw);
            }
        card_down(&b);
        return 0;
    }
    printf("per APDU, in process (card_transmit, lab durability), %d samples of >= %.2f s CPU each, the rows in "
           "turn, min median max\n",
           samples, secs);
    for (int s = 0; s < samples; s++)
        for (unsigned i = 0; i < NROWS; i++)
            if (!rows[i].skip) {
                select_aid(&b, rows[i].aid, rows[i].aid_len);   /* the row's applet, untimed */
                rows[i].v[s] = apdu_sample(&b, &rows[i], secs);
            }
    for (unsigned i = 0; i < NROWS; i++)
        if (!rows[i].skip) {
            print_rate(rows[i].name, summarize(rows[i].v, samples), rows[i].sw);
            printf("    .cvp reference (2026-12-02, docs/vm.md)  %s M APDU/s\n", rows[i].reference);
        }
    card_down(&b);
    return 0;
}

/* ---- kernels ---- */

typedef struct kernel {
    uint8_t ins;
    char name[24];
    uint16_t check1, check100;   /* checksums.txt */
    stat3 vm, loop, lua, c;   /* vm: native loop regions (vm_config.native), loop: the dispatch loop only */
    int have_lua, have_c;
} kernel;

/* --native 0: check and count modes with the dispatch loop only */
static int native_mode = 1;

static int read_checksums(kernel *k, int cap)
{
    char path[600], line[600];
    snprintf(path, sizeof path, "%s/checksums.txt", BENCH);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    int n = 0;
    while (n < cap && fgets(line, sizeof line, f)) {
        unsigned ins;
        char name[24];
        if (sscanf(line, "%x %23s", &ins, name) != 2 || line[0] == '#')
            continue;
        const char *p1 = strstr(line, " 1="), *p100 = strstr(line, " 100=");
        if (!p1 || !p100)
            continue;
        memset(&k[n], 0, sizeof k[n]);
        k[n].ins = (uint8_t)ins;
        snprintf(k[n].name, sizeof k[n].name, "%s", name);
        k[n].check1 = (uint16_t)strtoul(p1 + 3, NULL, 16);
        k[n].check100 = (uint16_t)strtoul(p100 + 5, NULL, 16);
        n++;
    }
    fclose(f);
    return n;
}

static int kernel_apdu(bench_card *b, uint8_t ins, unsigned reps, uint16_t *result)
{
    uint8_t cmd[5] = {0x80, ins, (uint8_t)(reps >> 8), (uint8_t)reps, 0x02}, rsp[CARD_MAX_RESPONSE];
    size_t rlen;
    uint16_t sw = send(b, cmd, sizeof cmd, rsp, &rlen);
    if (sw != 0x9000 || rlen != 4)
        return -1;
    *result = (uint16_t)(rsp[0] << 8 | rsp[1]);
    return 0;
}

/* The APDU callgrind counts (--toggle-collect=measured_apdu). */
__attribute__((noinline)) int measured_apdu(bench_card *b, uint8_t ins, unsigned reps, uint16_t *result);
__attribute__((noinline)) int measured_apdu(bench_card *b, uint8_t ins, unsigned reps, uint16_t *result)
{
    return kernel_apdu(b, ins, reps, result);
}

static int corpus_card(bench_card *b)
{
    char cap[600];
    snprintf(cap, sizeof cap, "%s/cap/nodebug/bench/corpus/javacard/corpus.cap", BENCH);
    static const uint8_t applet[] = {0xF0, 0x43, 0x41, 0x50, 0x57, 0x42, 0x01, 0x01};
    if (card_up(b) || load_install(b, cap) || select_aid(b, applet, sizeof applet))
        return -1;
    /* A kernel APDU of 32767 repeats runs far more bytecodes than the
     * card's default per-command budget allows. */
    vm_set_budget(card_vm(b->c), 0xFFFFFFFFu);
    vm_set_native(card_vm(b->c), native_mode);
    return 0;
}

/* One kernel in the VM: checksums for n = 1 and 100, then n calibrated
 * so that one APDU takes >= secs (n <= 32767), samples of it. */
static int vm_kernel(bench_card *b, kernel *k, int samples, double secs)
{
    uint16_t r1, r100;
    if (kernel_apdu(b, k->ins, 1, &r1) || kernel_apdu(b, k->ins, 100, &r100)) {
        printf("  %02X %s: the APDU failed\n", k->ins, k->name);
        return -1;
    }
    if (r1 != k->check1 || r100 != k->check100) {
        printf("  %02X %s: checksum %04X/%04X, expected %04X/%04X\n", k->ins, k->name, r1, r100, k->check1,
               k->check100);
        return -1;
    }
    unsigned n = 1;
    uint16_t r = 0;
    for (;;) {
        double t0 = cpu_now();
        kernel_apdu(b, k->ins, n, &r);
        double t = cpu_now() - t0;
        if (t >= secs || n == 32767)
            break;
        double want = t < secs / 16 ? n * 8.0 : n * 1.3 * secs / t + 1;
        n = want > 32767 ? 32767 : (unsigned)want;
    }
    /* the two VM modes sample by sample, side by side */
    double v[2][64];
    uint16_t first = r;
    for (int s = 0; s < samples; s++)
        for (int native = 1; native >= 0; native--) {
            vm_set_native(card_vm(b->c), native);
            double t0 = cpu_now();
            int bad = kernel_apdu(b, k->ins, n, &r);
            v[native][s] = (cpu_now() - t0) / n * 1e6;
            if (bad || r != first) {
                printf("  %02X %s: the APDU of %u repeats failed or its result differs\n", k->ins, k->name, n);
                vm_set_native(card_vm(b->c), 1);
                return -1;
            }
        }
    vm_set_native(card_vm(b->c), 1);
    k->vm = summarize(v[1], samples);
    k->loop = summarize(v[0], samples);
    return 0;
}

/* Parse the twins' "lua|c INS NAME n=N min X median Y max Z us" lines. */
static void run_twin(const char *cmd, const char *tag, kernel *k, int nk, int is_lua)
{
    FILE *p = popen(cmd, "r");
    char line[600];
    if (!p)
        return;
    while (fgets(line, sizeof line, p)) {
        char t[8], name[32];
        unsigned ins;
        double mn, md, mx;
        if (sscanf(line, "%7s %x %31s n=%*d min %lf median %lf max %lf", t, &ins, name, &mn, &md, &mx) != 6 ||
            strcmp(t, tag))
            continue;
        for (int i = 0; i < nk; i++)
            if (k[i].ins == ins) {
                stat3 s = {mn, md, mx};
                if (is_lua) {
                    k[i].lua = s;
                    k[i].have_lua = 1;
                } else {
                    k[i].c = s;
                    k[i].have_c = 1;
                }
            }
    }
    pclose(p);
}

static int kernels(int samples, double secs, int only, int twins)
{
    kernel k[32];
    int nk = read_checksums(k, 32);
    if (nk <= 0) {
        printf("no %s/checksums.txt\n", BENCH);
        return -1;
    }
    bench_card b;
    if (corpus_card(&b))
        return -1;
    printf("kernels: corpus.cap loaded over SCP03, one APDU per run; us per repeat, %d samples of >= %.2f s CPU\n",
           samples, secs);
    for (int i = 0; i < nk; i++)
        if (only < 0 || k[i].ins == only)
            vm_kernel(&b, &k[i], samples, secs);
    card_down(&b);
    if (twins) {
        char cmd[900], o[16] = "";
        if (only >= 0)
            snprintf(o, sizeof o, "%02X", (unsigned)only & 0xFFu);
        snprintf(cmd, sizeof cmd, "lua5.4 '%s/lua/bench.lua' time %d %.3f %s 2>/dev/null", BENCH, samples, secs, o);
        run_twin(cmd, "lua", k, nk, 1);
#ifdef C_TWIN
        snprintf(cmd, sizeof cmd, "'%s' time %d %.3f %s 2>/dev/null", C_TWIN, samples, secs, o);
        run_twin(cmd, "c", k, nk, 0);
#endif
    }
    printf("%-2s %-15s %9s %9s %9s | %9s %7s | %9s %9s | %7s %7s\n", "", "kernel", "VM min", "VM median", "VM max",
           "loop med", "VM/loop", "Lua med", "C med", "VM/Lua", "VM/C");
    double worst_lua = 0, worst_c = 0;
    for (int i = 0; i < nk; i++) {
        if (only >= 0 && k[i].ins != only)
            continue;
        if (k[i].vm.median <= 0)
            continue;
        double rl = k[i].have_lua ? k[i].vm.median / k[i].lua.median : 0;
        double rc = k[i].have_c ? k[i].vm.median / k[i].c.median : 0;
        if (rl > worst_lua)
            worst_lua = rl;
        if (rc > worst_c)
            worst_c = rc;
        printf("%02X %-15s %9.3f %9.3f %9.3f | %9.3f %7.2f | %9.3f %9.3f | %7.2f %7.2f\n", k[i].ins, k[i].name,
               k[i].vm.min, k[i].vm.median, k[i].vm.max, k[i].loop.median, k[i].vm.median / k[i].loop.median,
               k[i].lua.median, k[i].c.median, rl, rc);
    }
    printf("worst VM/Lua %.2f, worst VM/C %.2f (medians)\n", worst_lua, worst_c);
    return 0;
}

/* Every kernel at every repeat count of checksums.txt up to max_reps,
 * through the card: the expected values are those jCardSim, Oracle's
 * reference implementation, Lua and C agree on. 0 all equal, 1 not. */
static int check_mode(unsigned max_reps)
{
    char path[600], line[600];
    snprintf(path, sizeof path, "%s/checksums.txt", BENCH);
    FILE *f = fopen(path, "r");
    bench_card b;
    if (!f || corpus_card(&b)) {
        printf("cannot read %s or set up the card\n", path);
        if (f)
            fclose(f);
        return 1;
    }
    unsigned checked = 0, bad = 0;
    while (fgets(line, sizeof line, f)) {
        unsigned ins;
        char name[24];
        if (line[0] == '#' || sscanf(line, "%x %23s", &ins, name) != 2)
            continue;
        for (const char *p = strchr(line, ' '); p && (p = strchr(p + 1, ' ')) != NULL;) {
            unsigned n, want;
            if (sscanf(p + 1, "%u=%x", &n, &want) != 2 || n > max_reps)
                continue;
            uint16_t got = 0;
            int rc = kernel_apdu(&b, (uint8_t)ins, n, &got);
            checked++;
            if (rc || got != want) {
                printf("%02X %s n=%u: %s %04X, expected %04X\n", ins, name, n, rc ? "failed" : "got", got, want);
                bad++;
            }
        }
    }
    fclose(f);
    card_down(&b);
    printf("%u kernel runs checked, %u wrong\n", checked, bad);
    return bad != 0 || checked == 0;
}

static int count_mode(unsigned ins, unsigned reps)
{
    bench_card b;
    if (corpus_card(&b))
        return 1;
    uint16_t r;
    vm_stats st;
    measured_apdu(&b, (uint8_t)ins, reps, &r);
    vm_get_stats(card_vm(b.c), &st);
    printf("count %02X %u bytecodes %llu result %04X\n", ins, reps, (unsigned long long)st.last_bytecodes, r);
    card_down(&b);
    return 0;
}

int main(int argc, char **argv)
{
    int samples = 9, only = -1, twins = 1, do_apdu = 1, do_kernels = 1, row = -1;
    long apdu_count = 0;
    double secs = 0.05;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--samples") && i + 1 < argc)
            samples = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--secs") && i + 1 < argc)
            secs = atof(argv[++i]);
        else if (!strcmp(argv[i], "--only") && i + 1 < argc)
            only = (int)strtol(argv[++i], NULL, 16);
        else if (!strcmp(argv[i], "--row") && i + 1 < argc)
            row = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--apdu-count") && i + 1 < argc)
            apdu_count = atol(argv[++i]);
        else if (!strcmp(argv[i], "--native") && i + 1 < argc)
            native_mode = atoi(argv[++i]) != 0;
        else if (!strcmp(argv[i], "--no-twins"))
            twins = 0;
        else if (!strcmp(argv[i], "--apdu-only"))
            do_kernels = 0;
        else if (!strcmp(argv[i], "--kernels-only"))
            do_apdu = 0;
        else if (!strcmp(argv[i], "--check") && i + 1 < argc) {
            if (access(BENCH, R_OK) != 0) {
                printf("%s is absent: skipped\n", BENCH);
                return 77;
            }
            return check_mode((unsigned)atoi(argv[i + 1]));
        } else if (!strcmp(argv[i], "--count") && i + 2 < argc)
            return count_mode((unsigned)strtoul(argv[i + 1], NULL, 16), (unsigned)atoi(argv[i + 2]));
        else {
            fprintf(stderr, "usage: bench_corpus [--samples N] [--secs S] [--only INS] [--no-twins] "
                            "[--apdu-only [--row I]|--kernels-only] | --check MAX | --count INS N | "
                            "--row I --apdu-count N\n");
            return 2;
        }
    }
    if (samples < 1 || samples > APDU_SAMPLES_MAX)
        samples = 9;
    if (access(BENCH, R_OK) != 0) {
        printf("%s is absent: nothing to measure\n", BENCH);
        return 0;
    }
    if (apdu_count > 0)
        return per_apdu(1, 0, row, apdu_count) ? 1 : 0;
    if (do_apdu && per_apdu(samples, secs > 0.2 ? secs : 0.2, row, 0))
        return 1;
    if (do_kernels && kernels(samples, secs, only, twins))
        return 1;
    return 0;
}
