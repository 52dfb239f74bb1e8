/* test_cap_engine_rules.c — run-time rules of the CAP engine that the
 * transcripts do not reach: the budget counts CAP bytecodes, and running
 * out of it ends the command with 6F00 and leaves the card usable. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "cap_testfile.h"
#include "vm.h"
#include "vmtest.h"

static int objects_card(vt_card *k)
{
    const char *shared = cap_test_shared_dir();
    if (!shared)
        return -1;
    char path[1024];
    snprintf(path, sizeof path, "%s/applets/objects/jc305u3/objects.cap", shared);
    size_t len;
    uint8_t *lf = cap_test_load_file(path, &len);
    assert_non_null(lf);
    vt_card_new(k, NULL);
    char err[256];
    assert_int_equal(vm_load_package(k->rt, lf, len, 0, err, sizeof err), VM_OK);
    free(lf);
    static const uint8_t pkg[] = { 0xF0, 0x43, 0x41, 0x50, 0x57, 0x4B, 0x03 };
    static const uint8_t app[] = { 0xF0, 0x43, 0x41, 0x50, 0x57, 0x4B, 0x03, 0x01 };
    uint8_t barray[12] = { 8 };
    memcpy(barray + 1, app, 8);
    barray[9] = 1;
    uint16_t sw;
    assert_int_equal(vm_install(k->rt, pkg, 7, app, 8, app, 8, barray, sizeof barray, &sw), VM_OK);
    assert_int_equal(sw, 0x9000);
    vt_commit(k);
    return 0;
}

static void test_budget_ends_runaway_command(void **state)
{
    (void)state;
    vt_card k;
    if (objects_card(&k) != 0) {
        print_message("SKIP: ../shared/javacard absent (no shared test material)\n");
        skip();
    }
    uint8_t r[300];
    size_t n;
    assert_int_equal(vt_send_hex(&k, "00A4040008F0434150574B0301", r, &n), 0x9000);
    /* longLoop(0x7F00): 109 rounds of ~40 bytecodes; the transcript's answer */
    assert_int_equal(vt_send_hex(&k, "80057F0002", r, &n), 0x9000);
    assert_int_equal(r[0] << 8 | r[1], 0x0937);
    vm_stats st;
    vm_get_stats(k.rt, &st);
    uint64_t used = st.last_bytecodes;
    assert_true(used > 109 * 20 && used < 109 * 200);
    /* a budget below that: the command ends in 6F00 */
    vm_set_budget(k.rt, (uint32_t)(used / 2));
    assert_int_equal(vt_send_hex(&k, "80057F0002", r, &n), 0x6F00);
    assert_int_equal(n, 0);
    /* and the card goes on */
    vm_set_budget(k.rt, 10000000);
    assert_int_equal(vt_send_hex(&k, "80057F0002", r, &n), 0x9000);
    assert_int_equal(r[0] << 8 | r[1], 0x0937);
    assert_int_equal(vt_send_hex(&k, "8005010002", r, &n), 0x9000);
    assert_int_equal(r[0] << 8 | r[1], 0x0496);
    vt_card_free(&k);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_budget_ends_runaway_command),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
