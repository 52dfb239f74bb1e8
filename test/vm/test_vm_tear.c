/*
 * test_vm_tear.c — power cut at every NVM write index (tear_sweep) during
 * the example counter's and wallet's transactions and during an applet
 * install, on their CAP files (examples/applets, assembled by the build):
 * after power-on (and reopening the image) the card holds the old state or
 * the new state, never a mix.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "tear.h"
#include "vmtest.h"

typedef struct tctx {
    vt_card k;
} tctx;

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
    free(t);
}

static const uint8_t PIN[] = { '1', '2', '3', '4' };

/* Install the example's applet (class AID = instance AID) with params. */
static int install_applet(tctx *t, const char *applet_hex, const uint8_t *params, uint8_t plen, uint16_t *sw)
{
    uint8_t aid[16];
    int alen = vt_hex(applet_hex, aid, sizeof aid);
    assert_true(alen > 5);
    /* the package AID is the applet's without its last byte */
    return vt_install(&t->k, aid, (uint8_t)(alen - 1), aid, (uint8_t)alen, aid, (uint8_t)alen, params, plen, sw);
}

static tctx *new_card(const char *example, const char *applet_hex, const uint8_t *params, uint8_t plen, int install)
{
    tctx *t = calloc(1, sizeof *t);
    vt_card_new(&t->k, NULL);
    vt_load_example(&t->k, example);
    if (install) {
        uint16_t sw;
        assert_int_equal(install_applet(t, applet_hex, params, plen, &sw), VM_OK);
        assert_int_equal(sw, 0x9000);
    }
    vt_commit(&t->k);
    return t;
}

/* ---- counter: one APDU adds 5 under a transaction (CounterApplet INS 01) ---- */

static void *counter_setup(void *arg)
{
    (void)arg;
    tctx *t = new_card("counter", "F063617264766D1101", NULL, 0, 1);
    uint8_t r[300];
    size_t n;
    assert_int_equal(send(t, "00A4040009F063617264766D1101", r, &n), 0x9000);
    assert_int_equal(send(t, "8001030000", r, &n), 0x9000);   /* value 3 committed */
    return t;
}

static int counter_run(void *ctx)
{
    uint8_t r[300];
    size_t n;
    return send(ctx, "8001050000", r, &n) == 0x9000 ? 0 : 1;
}

static int read_counter(tctx *t, int *value)
{
    uint8_t r[300];
    size_t n;
    if (send(t, "00A4040009F063617264766D1101", r, &n) != 0x9000)
        return -1;
    if (send(t, "8002000000", r, &n) != 0x9000 || n != 2)
        return -1;
    *value = r[0] << 8 | r[1];
    return 0;
}

static int counter_check(void *ctx, uint32_t cut_at)
{
    tctx *t = ctx;
    int v;
    vt_reopen(&t->k, NULL);
    if (read_counter(t, &v) != 0)
        return 1;
    if (cut_at == 0 ? v != 8 : (v != 3 && v != 8)) {
        fprintf(stderr, "counter is %d after a cut at %u\n", v, cut_at);
        return 2;
    }
    return 0;
}

static void test_tear_counter(void **state)
{
    (void)state;
    tear_scenario s = { "counter transaction", counter_setup, chip_of, counter_run, power_on, counter_check, teardown };
    assert_true(tear_sweep(&s, NULL) > 0);
}

/* ---- wallet: credit 100 then debit 30, two APDUs ---- */

static void *wallet_setup(void *arg)
{
    (void)arg;
    tctx *t = new_card("wallet", "F063617264766D1201", PIN, sizeof PIN, 1);
    return t;
}

static int wallet_run(void *ctx)
{
    uint8_t r[300];
    size_t n;
    if (send(ctx, "00A4040009F063617264766D1201", r, &n) != 0x9000) return 1;
    if (send(ctx, "802000000431323334", r, &n) != 0x9000) return 2;
    if (send(ctx, "80300000020064", r, &n) != 0x9000) return 3;
    if (send(ctx, "8040000002001E", r, &n) != 0x9000) return 4;
    return 0;
}

static int wallet_check(void *ctx, uint32_t cut_at)
{
    tctx *t = ctx;
    uint8_t r[300];
    size_t n;
    vt_reopen(&t->k, NULL);
    if (send(t, "00A4040009F063617264766D1201", r, &n) != 0x9000) return 1;
    if (send(t, "8050000002", r, &n) != 0x9000 || n != 2) return 2;
    int v = r[0] << 8 | r[1];
    if (cut_at == 0 ? v != 70 : (v != 0 && v != 100 && v != 70)) {
        fprintf(stderr, "balance is %d after a cut at %u\n", v, cut_at);
        return 3;
    }
    /* the PIN still works and has all its tries (the verify succeeded or
     * was cut before it counted) */
    if (send(t, "802000000431323334", r, &n) != 0x9000) return 4;
    return 0;
}

static void test_tear_wallet(void **state)
{
    (void)state;
    tear_scenario s = { "wallet credit/debit", wallet_setup, chip_of, wallet_run, power_on, wallet_check, teardown };
    assert_true(tear_sweep(&s, NULL) > 0);
}

/* ---- install: the instance exists completely or not at all ---- */

static void *install_setup(void *arg)
{
    (void)arg;
    return new_card("wallet", NULL, NULL, 0, 0);
}

static int install_run(void *ctx)
{
    tctx *t = ctx;
    uint16_t sw;
    if (install_applet(t, "F063617264766D1201", PIN, sizeof PIN, &sw) != VM_OK || sw != 0x9000)
        return 1;
    return chip_commit(t->k.c) == CHIP_OK ? 0 : 2;
}

static int install_check(void *ctx, uint32_t cut_at)
{
    tctx *t = ctx;
    uint8_t r[300];
    size_t n;
    vt_reopen(&t->k, NULL);
    vm_applet_info ai;
    int present = vm_applet_info_at(t->k.rt, 0, &ai) == VM_OK;
    if (cut_at == 0 && !present)
        return 1;
    if (!present) {
        /* nothing left behind: installing again works */
        if (install_run(t) != 0)
            return 2;
    }
    if (send(t, "00A4040009F063617264766D1201", r, &n) != 0x9000) return 3;
    if (send(t, "802000000431323334", r, &n) != 0x9000) return 4;
    if (send(t, "80300000020064", r, &n) != 0x9000) return 5;
    return 0;
}

static void test_tear_install(void **state)
{
    (void)state;
    tear_scenario s = { "wallet install", install_setup, chip_of, install_run, power_on, install_check, teardown };
    assert_true(tear_sweep(&s, NULL) > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tear_counter),
        cmocka_unit_test(test_tear_wallet),
        cmocka_unit_test(test_tear_install),
    };
    return cmocka_run_group_tests_name("vm_tear", tests, NULL, NULL);
}
