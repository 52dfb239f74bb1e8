/* bench_cap_engine.c — figures, printed, never judged: the per-APDU cost of
 * a CAP applet (shared counter, jc305u3) against the .cvp hello applet,
 * SELECT and a simple command, through vm_select / vm_process on one
 * card, VM only and with the chip commit the card makes after every
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

static void rate_opt(vt_card *k, const char *name, const char *hex, int commit)
{
    uint8_t cmd[300], rsp[300];
    int n = vt_hex(hex, cmd, sizeof cmd);
    int select = cmd[1] == 0xA4;
    size_t rlen;
    uint16_t sw = 0;
    long count = 0;
    double t0 = now(), t;
    do {
        for (int i = 0; i < 2000; i++) {
            if (select)
                vm_select(k->rt, cmd + 5, cmd[4], cmd, (size_t)n, rsp, sizeof rsp, &rlen, &sw);
            else
                vm_process(k->rt, cmd, (size_t)n, rsp, sizeof rsp, &rlen, &sw);
            if (commit)
                chip_commit(k->c);
        }
        count += 2000;
        t = now() - t0;
    } while (t < 1.0);
    printf("%-34s %-9s %10.0f APDU/s  %7.2f us/APDU  (SW %04X)\n", name, commit ? "+commit" : "VM only",
           count / t, t / count * 1e6, sw);
    vt_commit(k);
}

static void rate(vt_card *k, const char *name, const char *hex)
{
    rate_opt(k, name, hex, 0);
    rate_opt(k, name, hex, 1);
}

static void bench(void **state)
{
    (void)state;
    vt_card k;
    vt_card_new(&k, NULL);
    size_t len;
    uint8_t *hello = vt_example("hello", &len);
    char err[256];
    uint16_t sw;
    assert_int_equal(vm_load_package(k.rt, hello, len, 0, err, sizeof err), VM_OK);
    free(hello);
    static const uint8_t hello_pkg[] = { 0xA0, 0, 0, 0, 0x62, 1, 0 }, hello_app[] = { 0xA0, 0, 0, 0, 0x62, 1, 1, 1 };
    assert_int_equal(vm_install(k.rt, hello_pkg, 7, hello_app, 8, NULL, 0, NULL, 0, &sw), VM_OK);
    vt_commit(&k);
    rate(&k, ".cvp hello SELECT", "00A4040008A000000062010101");
    rate(&k, ".cvp hello INS 10", "0010000000");

    const char *shared = cap_test_shared_dir();
    if (!shared) {
        printf("CAP figures skipped: ../shared/javacard absent\n");
        vt_card_free(&k);
        return;
    }
    char path[1024];
    snprintf(path, sizeof path, "%s/applets/counter/jc305u3/counter.cap", shared);
    uint8_t *lf = cap_test_load_file(path, &len);
    assert_non_null(lf);
    assert_int_equal(vm_load_package(k.rt, lf, len, 0, err, sizeof err), VM_OK);
    free(lf);
    static const uint8_t pkg[] = { 0xF0, 0x43, 0x41, 0x50, 0x57, 0x4B, 0x01 };
    static const uint8_t app[] = { 0xF0, 0x43, 0x41, 0x50, 0x57, 0x4B, 0x01, 0x01 };
    static const uint8_t barray[] = { 0x08, 0xF0, 0x43, 0x41, 0x50, 0x57, 0x4B, 0x01, 0x01, 0x01, 0x00, 0x00 };
    assert_int_equal(vm_install(k.rt, pkg, 7, app, 8, app, 8, barray, sizeof barray, &sw), VM_OK);
    assert_int_equal(sw, 0x9000);
    vt_commit(&k);
    rate(&k, "CAP counter SELECT", "00A4040008F0434150574B0101");
    rate(&k, "CAP counter GET (80 11)", "8011000006");
    vt_card_free(&k);
}

int main(void)
{
    const struct CMUnitTest tests[] = { cmocka_unit_test(bench) };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
