/* test_cap_engine_tear.c — power cut at every NVM page write (tear_sweep)
 * of a CAP package's load + install, and of the shared counter applet's
 * transactions: afterwards (image reopened from its file) the card holds
 * the old state or the new one, never half a package or half an update. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "cap_testfile.h"
#include "tear.h"
#include "vm.h"
#include "vmtest.h"

static const uint8_t PKG[] = { 0xF0, 0x43, 0x41, 0x50, 0x57, 0x4B, 0x01 };
static const uint8_t APP[] = { 0xF0, 0x43, 0x41, 0x50, 0x57, 0x4B, 0x01, 0x01 };
/* install bArray as the transcript gives it: AID, no privileges, no parameters */
static const uint8_t BARRAY[] = { 0x08, 0xF0, 0x43, 0x41, 0x50, 0x57, 0x4B, 0x01, 0x01, 0x01, 0x00, 0x00 };

typedef struct tctx {
    vt_card k;
    uint8_t *lf;
    size_t lf_len;
    uint32_t objects0;       /* live objects of the empty card */
} tctx;

static uint8_t *counter_cap(size_t *len)
{
    const char *shared = cap_test_shared_dir();
    if (!shared)
        return NULL;
    char path[1024];
    snprintf(path, sizeof path, "%s/applets/counter/jc305u3/counter.cap", shared);
    return cap_test_load_file(path, len);
}

static uint16_t send(tctx *t, const char *hex, uint8_t *resp, size_t *rlen)
{
    return vt_send_hex_or_cut(&t->k, hex, resp, rlen);
}

static chip *chip_of(void *ctx) { return ((tctx *)ctx)->k.c; }

static void power_on(void *ctx)
{
    tctx *t = ctx;
    vt_reset(&t->k);
}

static void teardown(void *ctx)
{
    tctx *t = ctx;
    vt_card_free(&t->k);
    free(t->lf);
    free(t);
}

static tctx *empty_card(void)
{
    tctx *t = calloc(1, sizeof *t);
    assert_non_null(t);
    vt_card_new(&t->k, NULL);
    t->lf = counter_cap(&t->lf_len);
    assert_non_null(t->lf);
    vm_stats st;
    vm_get_stats(t->k.rt, &st);
    t->objects0 = st.objects;
    return t;
}

static int load(tctx *t)
{
    if (vm_load_package(t->k.rt, t->lf, t->lf_len, 0, NULL, 0) != VM_OK)
        return 1;
    return chip_commit(t->k.c) == CHIP_OK ? 0 : 2;
}

static int install(tctx *t)
{
    uint16_t sw;
    if (vm_install(t->k.rt, PKG, sizeof PKG, APP, sizeof APP, APP, sizeof APP, BARRAY, sizeof BARRAY, &sw) != VM_OK ||
        sw != 0x9000)
        return 1;
    return chip_commit(t->k.c) == CHIP_OK ? 0 : 2;
}

/* counter value through the applet's GET (80 11: counter, installs, tshorts[0]) */
static int read_counter(tctx *t, int *value)
{
    uint8_t r[300];
    size_t n;
    if (send(t, "00A4040008F0434150574B0101", r, &n) != 0x9000)
        return -1;
    if (send(t, "8011000006", r, &n) != 0x9000 || n != 6)
        return -1;
    *value = r[0] << 8 | r[1];
    return 0;
}

/* ---- load + install ---- */

static void *load_setup(void *arg)
{
    (void)arg;
    return empty_card();
}

static int load_run(void *ctx)
{
    tctx *t = ctx;
    return load(t) || install(t);
}

static int load_check(void *ctx, uint32_t cut_at)
{
    tctx *t = ctx;
    vt_reopen(&t->k, NULL);
    vm_package_info pi;
    vm_applet_info ai;
    int have_pkg = vm_package_info_at(t->k.rt, 0, &pi) == VM_OK;
    int have_inst = vm_applet_info_at(t->k.rt, 0, &ai) == VM_OK;
    if (cut_at == 0 && !(have_pkg && have_inst))
        return 1;
    if (have_inst && !have_pkg)
        return 2;
    if (!have_pkg) {
        /* nothing of the package left behind, and loading works again */
        vm_stats st;
        vm_get_stats(t->k.rt, &st);
        if (st.objects != t->objects0) {
            fprintf(stderr, "cut at %u: %u objects left without a package\n", cut_at, st.objects);
            return 3;
        }
        if (load(t) != 0)
            return 4;
    }
    if (!have_inst && install(t) != 0)
        return 5;
    int v;
    if (read_counter(t, &v) != 0 || v != 0)
        return 6;
    return 0;
}

static void test_tear_cap_load_install(void **state)
{
    (void)state;
    size_t len;
    uint8_t *probe = counter_cap(&len);
    if (!probe) {
        print_message("SKIP: ../shared/javacard absent (no shared test material)\n");
        skip();
    }
    free(probe);
    tear_scenario s = { "CAP load + install", load_setup, chip_of, load_run, power_on, load_check, teardown };
    uint32_t n = tear_sweep(&s, NULL);
    print_message("CAP load + install: %u write indexes cut\n", n);
    assert_true(n > 2);
}

/* ---- the counter applet's transactions ---- */

static void *tx_setup(void *arg)
{
    (void)arg;
    tctx *t = empty_card();
    assert_int_equal(load(t), 0);
    assert_int_equal(install(t), 0);
    uint8_t r[300];
    size_t n;
    assert_int_equal(send(t, "00A4040008F0434150574B0101", r, &n), 0x9000);
    assert_int_equal(send(t, "8010000002", r, &n), 0x9000);   /* counter 1, committed */
    return t;
}

/* INC (committed transaction: counter + 1), then ABORT (counter + 100
 * inside a transaction that the applet aborts: no change). */
static int tx_run(void *ctx)
{
    uint8_t r[300];
    size_t n;
    if (send(ctx, "8010000002", r, &n) != 0x9000)
        return 1;
    return send(ctx, "8012000002", r, &n) == 0x9000 ? 0 : 2;
}

static int tx_check(void *ctx, uint32_t cut_at)
{
    tctx *t = ctx;
    int v;
    vt_reopen(&t->k, NULL);
    if (read_counter(t, &v) != 0)
        return 1;
    if (cut_at == 0 ? v != 2 : (v != 1 && v != 2)) {
        fprintf(stderr, "counter is %d after a cut at %u\n", v, cut_at);
        return 2;
    }
    return 0;
}

static void test_tear_cap_counter_transaction(void **state)
{
    (void)state;
    size_t len;
    uint8_t *probe = counter_cap(&len);
    if (!probe) {
        print_message("SKIP: ../shared/javacard absent (no shared test material)\n");
        skip();
    }
    free(probe);
    tear_scenario s = { "CAP counter transaction", tx_setup, chip_of, tx_run, power_on, tx_check, teardown };
    uint32_t n = tear_sweep(&s, NULL);
    print_message("CAP counter transaction: %u write indexes cut\n", n);
    assert_true(n > 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tear_cap_load_install),
        cmocka_unit_test(test_tear_cap_counter_transaction),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
