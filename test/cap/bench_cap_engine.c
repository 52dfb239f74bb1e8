/* bench_cap_engine.c — figures, printed, never judged: the per-APDU cost of
 * two CAP applets side by side, the example hello applet (examples/applets,
 * assembled by the build) and the shared counter (converter output,
 * jc305u3): SELECT and a simple command, through vm_select / vm_process on
 * one card, VM only and with the chip commit the card makes after every
 * command. */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "cap_testfile.h"
#include "vm.h"
#include "vmtest.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One command's figures: per-APDU time over BATCHES batches (min, median,
 * max: the machine is shared, so the min is the least disturbed figure)
 * and the bytecodes the command executes, so that the applets can be
 * compared per bytecode as well as per APDU. */
enum { BATCHES = 15, BATCH_APDUS = 20000 };

typedef struct figures {
    double min_us, median_us, max_us;
    uint64_t bytecodes;
    uint16_t sw;
} figures;

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static uint16_t send_once(vt_card *k, const uint8_t *cmd, size_t n, int commit)
{
    uint8_t rsp[300];
    size_t rlen;
    uint16_t sw = 0;
    if (cmd[1] == 0xA4)
        vm_select(k->rt, cmd + 5, cmd[4], cmd, n, rsp, sizeof rsp, &rlen, &sw);
    else
        vm_process(k->rt, cmd, n, rsp, sizeof rsp, &rlen, &sw);
    if (commit)
        chip_commit(k->c);
    return sw;
}

static figures measure(vt_card *k, const char *hex, int commit)
{
    uint8_t cmd[300];
    size_t n = (size_t)vt_hex(hex, cmd, sizeof cmd);
    figures f = { 0 };
    double us[BATCHES];
    f.sw = send_once(k, cmd, n, commit);
    vm_stats st;
    vm_get_stats(k->rt, &st);
    f.bytecodes = st.last_bytecodes;
    for (int b = 0; b < BATCHES; b++) {
        double t0 = now();
        for (int i = 0; i < BATCH_APDUS; i++)
            send_once(k, cmd, n, commit);
        us[b] = (now() - t0) / BATCH_APDUS * 1e6;
    }
    qsort(us, BATCHES, sizeof us[0], cmp_double);
    f.min_us = us[0];
    f.median_us = us[BATCHES / 2];
    f.max_us = us[BATCHES - 1];
    vt_commit(k);
    return f;
}

static void print_row(const char *name, const char *mode, const figures *f)
{
    printf("%-26s %-8s %5.3f %6.3f %6.3f us  %4llu bc  %6.1f ns/bc  (SW %04X)\n", name, mode, f->min_us,
           f->median_us, f->max_us, (unsigned long long)f->bytecodes,
           f->bytecodes ? f->median_us * 1e3 / (double)f->bytecodes : 0.0, f->sw);
}

/* The four commands compared, by name, for the fixed-count mode. */
static const struct bench_case {
    const char *name, *hex;
} cases[] = {
    { "CAP hello SELECT", "00A4040009F063617264766D1001" },
    { "CAP hello INS 10", "0010000000" },
    { "CAP counter SELECT", "00A4040008F0434150574B0101" },
    { "CAP counter GET (80 11)", "8011000006" },
};

/* Load and install the example hello applet and (when ../shared is
 * there) the shared counter CAP; 1 when the shared applet is installed. */
static int setup_card(vt_card *k)
{
    vt_card_new(k, NULL);
    size_t len;
    uint8_t *hello = vt_example("hello", &len);
    char err[256];
    uint16_t sw;
    assert_int_equal(vm_load_package(k->rt, hello, len, 0, err, sizeof err), VM_OK);
    free(hello);
    static const uint8_t hello_pkg[] = { 0xF0, 0x63, 0x61, 0x72, 0x64, 0x76, 0x6D, 0x10 };
    static const uint8_t hello_app[] = { 0xF0, 0x63, 0x61, 0x72, 0x64, 0x76, 0x6D, 0x10, 0x01 };
    uint8_t hello_barray[16];
    size_t hb = vt_barray(hello_app, sizeof hello_app, NULL, 0, hello_barray, sizeof hello_barray);
    assert_int_equal(vm_install(k->rt, hello_pkg, sizeof hello_pkg, hello_app, sizeof hello_app, hello_app,
                                sizeof hello_app, hello_barray, (uint8_t)hb, &sw), VM_OK);
    assert_int_equal(sw, 0x9000);
    vt_commit(k);

    const char *shared = cap_test_shared_dir();
    if (!shared)
        return 0;
    char path[1024];
    snprintf(path, sizeof path, "%s/applets/counter/jc305u3/counter.cap", shared);
    uint8_t *lf = cap_test_load_file(path, &len);
    assert_non_null(lf);
    assert_int_equal(vm_load_package(k->rt, lf, len, 0, err, sizeof err), VM_OK);
    free(lf);
    static const uint8_t pkg[] = { 0xF0, 0x43, 0x41, 0x50, 0x57, 0x4B, 0x01 };
    static const uint8_t app[] = { 0xF0, 0x43, 0x41, 0x50, 0x57, 0x4B, 0x01, 0x01 };
    static const uint8_t barray[] = { 0x08, 0xF0, 0x43, 0x41, 0x50, 0x57, 0x4B, 0x01, 0x01, 0x01, 0x00, 0x00 };
    assert_int_equal(vm_install(k->rt, pkg, 7, app, 8, app, 8, barray, sizeof barray, &sw), VM_OK);
    assert_int_equal(sw, 0x9000);
    vt_commit(k);
    return 1;
}

static void bench(void **state)
{
    (void)state;
    vt_card k;
    int have_cap = setup_card(&k);
    figures f[4][2];
    int ncases = have_cap ? 4 : 2;
    /* Each SELECT is measured right before its applet's command, which
     * therefore runs with that applet selected. */
    for (int c = 0; c < ncases; c++)
        for (int commit = 0; commit < 2; commit++)
            f[c][commit] = measure(&k, cases[c].hex, commit);
    printf("%-26s %-8s %5s %6s %6s     %7s  %12s\n", "per APDU", "", "min", "median", "max", "bytecodes",
           "median/bc");
    for (int c = 0; c < ncases; c++) {
        print_row(cases[c].name, "VM only", &f[c][0]);
        print_row(cases[c].name, "+commit", &f[c][1]);
    }
    if (!have_cap)
        printf("shared counter figures skipped: ../shared/javacard absent\n");
    vt_card_free(&k);
}

/* bench_cap_engine CASE COUNT: send case CASE (0-3, see cases[]) COUNT
 * times, untimed, after selecting its applet: the mode to run under
 * valgrind --tool=callgrind --toggle-collect=vm_select
 * --toggle-collect=vm_process, whose Ir divided by COUNT is the
 * instructions per APDU (repeatable on a loaded machine). */
static int run_fixed(int c, long count)
{
    vt_card k;
    if (c < 0 || c > 3 || count <= 0)
        return 2;
    if (!setup_card(&k) && c >= 2) {
        printf("CAP case skipped: ../shared/javacard absent\n");
        vt_card_free(&k);
        return 77;
    }
    uint8_t cmd[300];
    size_t n = (size_t)vt_hex(cases[c & 2].hex, cmd, sizeof cmd);
    send_once(&k, cmd, n, 0);
    n = (size_t)vt_hex(cases[c].hex, cmd, sizeof cmd);
    uint16_t sw = 0;
    for (long i = 0; i < count; i++)
        sw = send_once(&k, cmd, n, 0);
    vm_stats st;
    vm_get_stats(k.rt, &st);
    printf("%s x %ld: SW %04X, %llu bytecodes each\n", cases[c].name, count, sw,
           (unsigned long long)st.last_bytecodes);
    vt_card_free(&k);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 3)
        return run_fixed(atoi(argv[1]), atol(argv[2]));
    const struct CMUnitTest tests[] = { cmocka_unit_test(bench) };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
