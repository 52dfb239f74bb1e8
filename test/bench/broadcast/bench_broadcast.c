/*
 * bench_broadcast.c — seed 004: what the broadcast update saves the server.
 *
 *  1. Server-side work per card for a 64 KiB DATASEND over 10 000 cards:
 *     broadcast = P_AUT only (key diversification, INITIALIZE UPDATE,
 *     EXTERNAL AUTHENTICATE, CHANGE MODE with BK, AUTHORIZE_ACTION);
 *     diversified = the same session plus a per-card SCP03-encrypted copy of
 *     DATASEND (C-MAC + C-DECRYPTION, 224-byte blocks). Prints both and the
 *     ratio.
 *  2. Cards updated per second end to end in one process (make N cards once,
 *     then per run and mode on fresh copies of them: for each card open the
 *     image, play P_AUT + P_SE + AUTHORIZE_ACTION, verify ST, close), N =
 *     1000 by default, durable and lab mode alternately, min/median/max over
 *     the runs.
 *
 *     bench_broadcast [-S] [-r RUNS] [-m full|lab|both] [-w WORKERS] [CARDS...]
 *     (-S skips part 1; RUNS default 5; WORKERS: card threads, 1 = one card
 *     at a time, default campaign_runner_default_workers)
 *
 * Built, never run as a test. Card images go to $TMPDIR (default /tmp) and are
 * removed afterwards (about 400 KB each, twice).
 */
#define _DEFAULT_SOURCE   /* sync() */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "apdu.h"
#include "broadcast.h"
#include "campaign_cards.h"
#include "campaign_core.h"
#include "campaign_runner.h"
#include "card.h"
#include "packages.h"

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* CPU time of the whole process (all worker threads, user + system). On a
 * machine shared with other builds the wall clock measures the load as much
 * as the campaign; cards per CPU-second measures the campaign. */
static double cpu_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static const uint8_t master[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
static const uint8_t kos[16] = {0x4B, 0x4F, 0x53, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
static const uint8_t kmac[16] = {0x4B, 0x4D, 0x41, 0x43, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};

static void server_side(void)
{
    enum { CARDS = 10000, SIZE = 65536, CHUNK = 224 };
    uint8_t *ds = malloc(SIZE);
    for (size_t i = 0; i < SIZE; i++) ds[i] = (uint8_t)(i * 7 + 3);
    /* A campaign record as the design system hands it over (FIG.3). */
    campaign c;
    memset(&c, 0, sizeof c);
    c.profile = 3;
    memset(c.id, 0x11, 8);
    memset(c.counter, 0x22, 8);
    memset(c.chain, 0x33, 16);
    c.size = SIZE;
    uint8_t bk[16] = {0xB0};
    size_t a = 0, b = 0;
    scp03_key_block_encrypt(kos, 16, bk, 16, c.keys, sizeof c.keys, &a);
    scp03_key_block_encrypt(kos, 16, bk, 16, c.keys + a, sizeof c.keys - a, &b);
    c.keys_len = a + b;
    scp03_cmac(bk, 16, ds, SIZE, c.mac);
    c.action[0] = BROADCAST_ACT_VECTOR;
    c.action_len = 4;

    static const uint8_t hc[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    size_t paut_bytes = 0;
    double t0 = now();
    for (uint32_t i = 0; i < CARDS; i++) {
        campaign_card id;
        campaign_card_default(i + 1, &id);
        id.counter = i % 1000;
        apdu_list p = {0};
        if (campaign_build_paut(&c, master, &id, hc, &p, NULL)) abort();
        paut_bytes = p.len;
        apdu_list_free(&p);
    }
    double tb = (now() - t0) / CARDS;

    size_t div_bytes = 0;
    t0 = now();
    uint8_t plain[CHUNK + 16], w[CHUNK + 64], iu[32], ea[32];
    for (uint32_t i = 0; i < CARDS; i++) {
        campaign_card id;
        campaign_card_default(i + 1, &id);
        id.counter = i % 1000;
        uint8_t enc[16], mac[16], dek[16];
        size_t n, wn;
        scp03_host_session h;
        if (campaign_derive_keys(master, id.serial, id.div_data, enc, mac, dek) ||
            scp03_host_init(&h, enc, mac, 16, id.isd_aid, id.isd_aid_len) ||
            scp03_host_initialize_update(&h, id.kvn, hc, iu, sizeof iu, &n) ||
            scp03_host_begin_offline(&h, id.kvn, id.scp_i, id.counter + 1, hc) ||
            scp03_host_external_authenticate(&h, 0x33, ea, sizeof ea, &n))
            abort();
        div_bytes = 0;
        for (size_t off = 0, blk = 0; off < SIZE; off += CHUNK, blk++) {
            size_t take = SIZE - off < CHUNK ? SIZE - off : CHUNK;
            apdu_command cm = {.cla = 0x80, .ins = 0xE8, .p1 = (uint8_t)(blk >> 8), .p2 = (uint8_t)blk,
                               .data = ds + off, .nc = (uint32_t)take};
            n = apdu_encode(&cm, plain, sizeof plain);
            if (scp03_host_wrap(&h, plain, n, w, sizeof w, &wn)) abort();
            div_bytes += wn;
        }
        scp03_host_close(&h);
    }
    double td = (now() - t0) / CARDS;
    printf("server-side work per card, DATASEND 64 KiB, %d cards:\n", CARDS);
    printf("  broadcast   (P_AUT only, %zu bytes/card): %8.2f us/card\n", paut_bytes, tb * 1e6);
    printf("  diversified (SCP03 copy, %zu bytes/card): %8.2f us/card\n", div_bytes, td * 1e6);
    printf("  ratio diversified/broadcast: %.0fx (goal >= 50x)\n", td / tb);
    free(ds);
}

static int copy_file(const char *from, const char *to)
{
    FILE *a = fopen(from, "rb"), *b = a ? fopen(to, "wb") : NULL;
    static char buf[1 << 16];
    size_t n;
    int rc = a && b ? 0 : -1;
    while (!rc && (n = fread(buf, 1, sizeof buf, a)) > 0)
        if (fwrite(buf, 1, n, b) != n) rc = -1;
    if (a) fclose(a);
    if (b && fclose(b)) rc = -1;
    return rc;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void fresh_copies(const char *dir, unsigned cards)
{
    char from[700], path[700];
    for (unsigned i = 0; i < cards; i++) {
        snprintf(from, sizeof from, "%s/pristine/c%05u.img", dir, i);
        snprintf(path, sizeof path, "%s/run/c%05u.img", dir, i);
        if (copy_file(from, path)) abort();
    }
    sync();   /* the copies' writeback must not land in the timed part */
}

/* One campaign over the cards of dir/run/, as `cardvm campaign run` plays
 * it without the registry: P_AUT per card, then the runner's workers (open,
 * play, close, check ST). Returns how many were updated. */
__attribute__((noinline)) static unsigned play_all(const char *dir, unsigned cards, enum chip_durability durability,
                                                   unsigned workers, const campaign *c, const apdu_list *pse)
{
    static const uint8_t hc[8] = {8, 7, 6, 5, 4, 3, 2, 1};
    campaign_job *jobs = calloc(cards, sizeof *jobs);
    campaign_card *ids = calloc(cards, sizeof *ids);
    apdu_list *p = calloc(cards, sizeof *p);
    scp03_host_session *h = calloc(cards, sizeof *h);
    char (*paths)[700] = calloc(cards, sizeof *paths);
    if (!jobs || !ids || !p || !h || !paths) abort();
    for (unsigned i = 0; i < cards; i++) {
        campaign_card_default(i + 1, &ids[i]);
        snprintf(paths[i], sizeof paths[i], "%s/run/c%05u.img", dir, i);
        if (campaign_build_paut(c, master, &ids[i], hc, &p[i], &h[i])) abort();
        jobs[i] = (campaign_job){.image = paths[i], .paut = &p[i], .card = &ids[i], .h = &h[i]};
    }
    campaign_runner r = {.pse = pse, .durability = durability, .workers = workers};
    if (campaign_run_jobs(&r, c, jobs, cards)) abort();
    unsigned ok = 0;
    for (unsigned i = 0; i < cards; i++) {
        if (jobs[i].rv == CAMPAIGN_OK) ok++;
        else if (i - ok < 3) fprintf(stderr, "card %u: rv %d SW %04X %s\n", i, jobs[i].rv, jobs[i].sw, jobs[i].err);
        scp03_host_close(&h[i]);
        apdu_list_free(&p[i]);
    }
    free(jobs);
    free(ids);
    free(p);
    free(h);
    free(paths);
    return ok;
}

/* Where the wall clock went: CPU time per card (all threads), context
 * switches per card (voluntary ones are waits: I/O, locks; involuntary ones
 * are preemptions by other processes), and, when the cards run on this
 * thread (one worker), the time it sat runnable waiting for a CPU
 * (/proc/thread-self/schedstat: the load's share of the wall clock). */
typedef struct run_cost {
    double cpu_us, vol, invol, runq_ms;
} run_cost;

static double runq_wait_ms(void)
{
    FILE *f = fopen("/proc/thread-self/schedstat", "r");
    unsigned long long on = 0, wait = 0;
    int n = f ? fscanf(f, "%llu %llu", &on, &wait) : 0;
    if (f) fclose(f);
    return n == 2 ? (double)wait / 1e6 : -1;
}

/* One campaign on fresh copies of the cards: cards/s, and cards per
 * CPU-second in *per_cpu. */
static double one_campaign(const char *dir, unsigned cards, enum chip_durability durability, unsigned workers,
                           const campaign *c, const apdu_list *pse, double *per_cpu, run_cost *cost)
{
    fresh_copies(dir, cards);
    struct rusage u0, u1;
    getrusage(RUSAGE_SELF, &u0);
    double q0 = runq_wait_ms(), c0 = cpu_now(), t0 = now();
    unsigned ok = play_all(dir, cards, durability, workers, c, pse);
    double t = now() - t0;
    double cpu = cpu_now() - c0, q1 = runq_wait_ms();
    getrusage(RUSAGE_SELF, &u1);
    *per_cpu = cards / cpu;
    cost->cpu_us = cpu * 1e6 / cards;
    cost->vol = (double)(u1.ru_nvcsw - u0.ru_nvcsw) / cards;
    cost->invol = (double)(u1.ru_nivcsw - u0.ru_nivcsw) / cards;
    cost->runq_ms = q0 >= 0 && q1 >= 0 ? q1 - q0 : -1;
    if (ok != cards) {
        fprintf(stderr, "bench_broadcast: only %u of %u cards updated\n", ok, cards);
        exit(1);
    }
    return cards / t;
}

static void end_to_end(unsigned cards, unsigned runs, int modes, unsigned workers)
{
    const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    char dir[512], path[700];
    snprintf(dir, sizeof dir, "%s/cardvm-bench-bc-XXXXXX", tmp);
    if (!mkdtemp(dir)) abort();
    snprintf(path, sizeof path, "%s/pristine", dir);
    if (mkdir(path, 0700)) abort();
    snprintf(path, sizeof path, "%s/run", dir);
    if (mkdir(path, 0700)) abort();
    snprintf(path, sizeof path, "%s/issuer.img", dir);
    campaign_factory f;
    if (campaign_factory_init(&f, path, NULL, master, kos, kmac)) abort();
    f.fast = 1;
    double t0 = now();
    for (unsigned i = 0; i < cards; i++) {
        campaign_card id;
        campaign_card_default(i + 1, &id);
        snprintf(path, sizeof path, "%s/pristine/c%05u.img", dir, i);
        if (campaign_factory_make(&f, path, &id)) abort();
    }
    double tmake = now() - t0;
    campaign_factory_free(&f);
    printf("end to end, %u cards (made in %.1f s, %.0f cards/s), %u runs each on fresh copies:\n", cards, tmake,
           cards / tmake, runs);
    campaign c;
    apdu_list pse = {0};
    campaign_action act = {.flags = BROADCAST_ACT_VECTOR};
    if (campaign_design(example_os_update_package, example_os_update_package_len, 3, kos, NULL, &act, 224, &c, &pse))
        abort();
    double *rate[2], *cpu[2];
    rate[0] = calloc(runs, sizeof(double));
    rate[1] = calloc(runs, sizeof(double));
    cpu[0] = calloc(runs, sizeof(double));
    cpu[1] = calloc(runs, sizeof(double));
    /* Modes alternate within a run so that both see the same disk. */
    for (unsigned r = 0; r < runs; r++)
        for (int m = 0; m < 2; m++)
            if (modes & (1 << m)) {
                enum chip_durability d = m ? CHIP_DURABLE_LAB : CHIP_DURABLE_FULL;
                run_cost k;
                double load[3] = {0, 0, 0};
                rate[m][r] = one_campaign(dir, cards, d, workers, &c, &pse, &cpu[m][r], &k);
                if (getloadavg(load, 3) < 1) load[0] = -1;
                fprintf(stderr,
                        "  run %u %s: %.0f cards/s (%.0f ms), %.0f cards per CPU-second (%.0f us per card); "
                        "context switches per card %.2f voluntary, %.2f involuntary; load %.1f",
                        r + 1, m ? "lab" : "durable", rate[m][r], cards * 1e3 / rate[m][r], cpu[m][r], k.cpu_us,
                        k.vol, k.invol, load[0]);
                if (workers == 1 && k.runq_ms >= 0) fprintf(stderr, "; waiting for a CPU %.0f ms", k.runq_ms);
                fputc('\n', stderr);
            }
    for (int m = 0; m < 2; m++) {
        if (!(modes & (1 << m))) continue;
        qsort(rate[m], runs, sizeof(double), cmp_double);
        qsort(cpu[m], runs, sizeof(double), cmp_double);
        enum chip_durability d = m ? CHIP_DURABLE_LAB : CHIP_DURABLE_FULL;
        printf("  %-8s %3u workers, cards/s: min %.0f / median %.0f / max %.0f (goal >= %u); "
               "cards per CPU-second: %.0f / %.0f / %.0f\n",
               m ? "lab" : "durable", workers ? workers : campaign_runner_default_workers(d), rate[m][0],
               rate[m][runs / 2], rate[m][runs - 1], m ? 5000u : 400u, cpu[m][0], cpu[m][runs / 2],
               cpu[m][runs - 1]);
        free(rate[m]);
        free(cpu[m]);
    }
    for (unsigned i = 0; i < cards; i++) {
        snprintf(path, sizeof path, "%s/pristine/c%05u.img", dir, i);
        remove(path);
        snprintf(path, sizeof path, "%s/run/c%05u.img", dir, i);
        remove(path);
    }
    snprintf(path, sizeof path, "%s/pristine", dir);
    rmdir(path);
    snprintf(path, sizeof path, "%s/run", dir);
    rmdir(path);
    snprintf(path, sizeof path, "%s/issuer.img", dir);
    remove(path);
    rmdir(dir);
    apdu_list_free(&pse);
}

int main(int argc, char **argv)
{
    unsigned runs = 5, workers = 0;
    int modes = 3, server = 1, opt;
    while ((opt = getopt(argc, argv, "r:m:w:S")) != -1) {
        switch (opt) {
        case 'r': runs = (unsigned)strtoul(optarg, NULL, 10); break;
        case 'm': modes = !strcmp(optarg, "full") ? 1 : !strcmp(optarg, "lab") ? 2 : 3; break;
        case 'S': server = 0; break;
        case 'w': workers = (unsigned)strtoul(optarg, NULL, 10); break;
        default:
            fprintf(stderr, "usage: bench_broadcast [-S (no server-side part)] [-r RUNS] [-m full|lab|both] [-w WORKERS] [CARDS...]\n");
            return 2;
        }
    }
    if (!runs) runs = 1;
    if (server) server_side();
    if (optind == argc) end_to_end(1000, runs, modes, workers);
    for (int i = optind; i < argc; i++) end_to_end((unsigned)strtoul(argv[i], NULL, 10), runs, modes, workers);
    return 0;
}
