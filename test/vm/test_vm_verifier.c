/*
 * test_vm_verifier.c — damaged CAP load files of the example applets
 * (examples/applets, assembled by the build) against vm_load_package: a
 * refused package leaves NVM byte for byte as it was, and a mutant the
 * verifier accepts is installed and run, answering status words whatever it
 * does (the sanitizer builds watch the rest). The verifier's refusals one
 * by one, with their messages, are test_cap_verify's (on converter output)
 * and vm_opcodes' REFUSED cases.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "cap_format.h"
#include "vmtest.h"

static const char *const EXAMPLES[] = { "hello", "counter", "wallet", "crypto" };

/* A card whose budget ends a mutant's runaway loop soon. */
static void new_card(vt_card *k)
{
    vm_config cfg;
    vm_config_default(&cfg);
    cfg.budget = 50000;
    vt_card_new(k, &cfg);
}

/* Load a blob; when refused, NVM must be unchanged and nothing left to
 * commit. 1 when it loaded. */
static int load_or_nothing(vt_card *k, const char *what, const uint8_t *b, size_t len)
{
    uint8_t *snap = vt_nvm_snapshot(k);
    char err[256] = "";
    int rc = vm_load_package(k->rt, b, len, 0, err, sizeof err);
    if (rc != VM_OK) {
        if (rc != VM_ERR_VERIFY && rc != VM_ERR_DEPENDENCY && rc != VM_ERR_EXISTS)
            fail_msg("%s: refused with %s (%s), not as unverifiable", what, vm_strerror(rc), err);
        if (!vt_nvm_same(k, snap))
            fail_msg("%s: NVM changed by a refused package (%s)", what, err);
        assert_false(chip_is_dirty(k->c));
    }
    free(snap);
    return rc == VM_OK;
}

/* A loaded mutant: every applet installed, selected and sent the examples'
 * commands; each answers a status word. Then everything goes again. */
static void run_mutant(vt_card *k, const uint8_t *b, size_t len)
{
    cap_view v;
    char err[160];
    if (cap_parse(b, len, &v, err, sizeof err) != 0) {
        cap_view_free(&v);
        fail_msg("a loaded package does not parse: %s", err);
    }
    static const char *cmds[] = { "0010000000", "8001050000", "8002000000", "802000000431323334",
                                  "80300000020064", "8050000002", "8010000003616263", "80200000106BC1BEE22E409F96E93D7E117393172A" };
    static const uint8_t params[16] = { '1', '2', '3', '4' };
    for (unsigned i = 0; i < v.applet_count; i++) {
        const vm_aid *a = &v.applets[i].aid;
        uint16_t sw = 0;
        if (vt_install(k, v.pkg_aid.b, v.pkg_aid.len, a->b, a->len, a->b, a->len, params,
                       a->b[a->len - 2] == 0x13 ? 16 : 4, &sw) != VM_OK ||
            sw != 0x9000)
            continue;
        uint8_t resp[300];
        size_t rlen;
        vm_select(k->rt, a->b, a->len, NULL, 0, resp, sizeof resp, &rlen, &sw);
        for (unsigned c = 0; c < sizeof cmds / sizeof cmds[0]; c++) {
            uint8_t apdu[64];
            int n = vt_hex(cmds[c], apdu, sizeof apdu);
            sw = 0;
            assert_int_equal(vm_process(k->rt, apdu, (size_t)n, resp, sizeof resp, &rlen, &sw), VM_OK);
            assert_true(sw != 0);
        }
        vt_commit(k);
        assert_int_equal(vm_delete_instance(k->rt, a->b, a->len), VM_OK);
    }
    assert_int_equal(vm_delete_package(k->rt, v.pkg_aid.b, v.pkg_aid.len), VM_OK);
    vt_commit(k);
    cap_view_free(&v);
}

/* Cut short, and single bytes changed: refused without a trace or loaded
 * and run; afterwards the good package still loads, and once more is
 * refused as a duplicate without change. */
static void test_damaged_examples(void **state)
{
    (void)state;
    vt_card k;
    new_card(&k);
    unsigned refused = 0, loaded = 0;
    for (size_t e = 0; e < sizeof EXAMPLES / sizeof EXAMPLES[0]; e++) {
        size_t len;
        uint8_t *good = vt_example(EXAMPLES[e], &len);
        uint8_t *b = malloc(len);
        assert_non_null(b);
        char what[96];
        for (size_t cut = 0; cut < len; cut += 1 + len / 40) {
            snprintf(what, sizeof what, "%s cut to %zu bytes", EXAMPLES[e], cut);
            if (load_or_nothing(&k, what, good, cut)) {
                loaded++;
                run_mutant(&k, good, cut);
            } else {
                refused++;
            }
        }
        for (size_t at = 0; at < len; at += 1 + len / 60) {
            static const uint8_t masks[] = { 0xFF, 0x01, 0x80 };
            for (unsigned m = 0; m < sizeof masks; m++) {
                memcpy(b, good, len);
                b[at] ^= masks[m];
                snprintf(what, sizeof what, "%s byte %zu ^ %02X", EXAMPLES[e], at, masks[m]);
                if (load_or_nothing(&k, what, b, len)) {
                    loaded++;
                    run_mutant(&k, b, len);
                } else {
                    refused++;
                }
            }
        }
        vt_load(&k, good, len, 0, EXAMPLES[e]);
        vt_commit(&k);
        char err[256] = "";
        uint8_t *snap = vt_nvm_snapshot(&k);
        assert_int_equal(vm_load_package(k.rt, good, len, 0, err, sizeof err), VM_ERR_EXISTS);
        assert_true(vt_nvm_same(&k, snap));
        free(snap);
        free(b);
        free(good);
    }
    print_message("damaged example packages: %u refused without a trace, %u loaded and run\n", refused, loaded);
    assert_true(refused > loaded);
    vt_card_free(&k);
}

/* Random multi-byte mutations: never a crash, refused without a trace or
 * loaded and run. */
static void test_random_mutants(void **state)
{
    (void)state;
    vt_card k;
    new_card(&k);
    uint32_t seed = 12345;
    unsigned accepted = 0, total = 0;
    for (size_t e = 0; e < sizeof EXAMPLES / sizeof EXAMPLES[0]; e++) {
        size_t len;
        uint8_t *good = vt_example(EXAMPLES[e], &len);
        uint8_t *b = malloc(len);
        assert_non_null(b);
        for (int iter = 0; iter < 500; iter++) {
            memcpy(b, good, len);
            int flips = 1 + (int)((seed = seed * 1103515245u + 12345u) >> 16) % 4;
            for (int f = 0; f < flips; f++) {
                seed = seed * 1103515245u + 12345u;
                size_t at = (seed >> 8) % len;
                seed = seed * 1103515245u + 12345u;
                b[at] = (uint8_t)(seed >> 16);
            }
            char what[64];
            snprintf(what, sizeof what, "%s mutant %d", EXAMPLES[e], iter);
            total++;
            if (load_or_nothing(&k, what, b, len)) {
                accepted++;
                run_mutant(&k, b, len);
            }
        }
        free(b);
        free(good);
    }
    print_message("random mutants: %u of %u loaded (and run)\n", accepted, total);
    vt_card_free(&k);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_damaged_examples),
        cmocka_unit_test(test_random_mutants),
    };
    return cmocka_run_group_tests_name("vm_verifier", tests, NULL, NULL);
}
