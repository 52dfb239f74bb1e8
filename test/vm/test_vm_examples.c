/*
 * test_vm_examples.c — every example applet end to end: the .cvp built at
 * build time is verified and loaded into a chip-backed VM, installed, and
 * its APDU script is played (the scripts include a reset and a reopen of
 * the card image from its file).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "vmtest.h"

static void run_example(const char *name)
{
    vt_card k;
    vt_card_new(&k, NULL);
    size_t len;
    uint8_t *blob = vt_example(name, &len);
    char err[256];
    int rc = vm_load_package(k.rt, blob, len, 0, err, sizeof err);
    if (rc != VM_OK)
        fail_msg("%s: %s: %s", name, vm_strerror(rc), err);
    free(blob);
    vt_commit(&k);
    char path[512];
    snprintf(path, sizeof path, "%s/%s.apdu", VT_EXAMPLES_SRC, name);
    vt_run_script(&k, path);
    vt_card_free(&k);
}

static void test_hello(void **s) { (void)s; run_example("hello"); }
static void test_counter(void **s) { (void)s; run_example("counter"); }
static void test_wallet(void **s) { (void)s; run_example("wallet"); }
static void test_crypto(void **s) { (void)s; run_example("crypto"); }

/* Several applets on one card; selecting one deselects the other; the
 * firewall keeps each to its own objects; enumerate and delete. */
static void test_many_applets(void **state)
{
    (void)state;
    vt_card k;
    vt_card_new(&k, NULL);
    const char *names[] = { "hello", "counter", "wallet" };
    for (int i = 0; i < 3; i++) {
        size_t len;
        uint8_t *blob = vt_example(names[i], &len);
        assert_int_equal(vm_load_package(k.rt, blob, len, 0, NULL, 0), VM_OK);
        free(blob);
    }
    uint16_t sw;
    static const uint8_t hello_pkg[] = { 0xA0, 0, 0, 0, 0x62, 0x01, 0x00 };
    static const uint8_t hello_app[] = { 0xA0, 0, 0, 0, 0x62, 0x01, 0x01, 0x01 };
    static const uint8_t ctr_pkg[] = { 0xA0, 0, 0, 0, 0x62, 0x02, 0x00 };
    static const uint8_t ctr_app[] = { 0xA0, 0, 0, 0, 0x62, 0x02, 0x01, 0x01 };
    static const uint8_t ctr2[] = { 0xA0, 0, 0, 0, 0x62, 0x02, 0x01, 0x02 };
    static const uint8_t pin[] = { '1', '2', '3', '4' };
    static const uint8_t wal_pkg[] = { 0xA0, 0, 0, 0, 0x62, 0x03, 0x00 };
    static const uint8_t wal_app[] = { 0xA0, 0, 0, 0, 0x62, 0x03, 0x01, 0x01 };
    assert_int_equal(vm_install(k.rt, hello_pkg, 7, hello_app, 8, NULL, 0, NULL, 0, &sw), VM_OK);
    assert_int_equal(sw, 0x9000);
    assert_int_equal(vm_install(k.rt, ctr_pkg, 7, ctr_app, 8, NULL, 0, NULL, 0, &sw), VM_OK);
    assert_int_equal(vm_install(k.rt, ctr_pkg, 7, ctr_app, 8, ctr2, 8, NULL, 0, &sw), VM_OK);
    assert_int_equal(sw, 0x9000);
    assert_int_equal(vm_install(k.rt, ctr_pkg, 7, ctr_app, 8, ctr2, 8, NULL, 0, &sw), VM_ERR_EXISTS);
    assert_int_equal(vm_install(k.rt, wal_pkg, 7, wal_app, 8, NULL, 0, pin, 4, &sw), VM_OK);
    vt_commit(&k);

    uint8_t resp[300];
    size_t rlen;
    /* two counter instances keep separate values */
    assert_int_equal(vt_send_hex(&k, "00A4040008A000000062020101", resp, &rlen), 0x9000);
    assert_int_equal(vt_send_hex(&k, "8001070000", resp, &rlen), 0x9000);
    assert_int_equal(vt_send_hex(&k, "00A4040008A000000062020102", resp, &rlen), 0x9000);
    assert_int_equal(vt_send_hex(&k, "8002000000", resp, &rlen), 0x9000);
    assert_int_equal(resp[1], 0);
    /* partial AID selects the first match */
    assert_int_equal(vt_send_hex(&k, "00A4040007A0000000620101", resp, &rlen), 0x9000);
    assert_int_equal(vt_send_hex(&k, "0010000000", resp, &rlen), 0x9000);
    assert_int_equal(rlen, 12);
    /* unknown AID: 6A82, the current applet stays selected */
    assert_int_equal(vt_send_hex(&k, "00A4040005A000000099", resp, &rlen), 0x6A82);
    assert_int_equal(vt_send_hex(&k, "0010000000", resp, &rlen), 0x9000);

    vm_applet_info ai;
    unsigned n = 0;
    while (vm_applet_info_at(k.rt, n, &ai) == VM_OK)
        n++;
    assert_int_equal(n, 4);
    vm_package_info pi;
    n = 0;
    while (vm_package_info_at(k.rt, n, &pi) == VM_OK) {
        assert_true(pi.nvm_used >= pi.blob_size);
        n++;
    }
    assert_int_equal(n, 3);

    /* a package with instances cannot go; after the instances, it can */
    assert_int_equal(vm_delete_package(k.rt, ctr_pkg, 7), VM_ERR_STATE);
    assert_int_equal(vm_delete_instance(k.rt, ctr_app, 8), VM_OK);
    assert_int_equal(vm_delete_instance(k.rt, ctr2, 8), VM_OK);
    assert_int_equal(vm_delete_package(k.rt, ctr_pkg, 7), VM_OK);
    vt_reopen(&k, NULL);
    n = 0;
    while (vm_package_info_at(k.rt, n, &pi) == VM_OK)
        n++;
    assert_int_equal(n, 2);
    assert_int_equal(vt_send_hex(&k, "00A4040008A000000062020101", resp, &rlen), 0x6A82);
    assert_int_equal(vt_send_hex(&k, "00A4040008A000000062030101", resp, &rlen), 0x9000);
    assert_int_equal(vt_send_hex(&k, "8050000002", resp, &rlen), 0x9000);
    vt_card_free(&k);
}

/* The instruction budget stops a runaway applet with 6F00, and the
 * transaction it had open is rolled back. */
static void test_budget(void **state)
{
    (void)state;
    vm_config cfg;
    vm_config_default(&cfg);
    cfg.budget = 100000;
    vt_card k;
    vt_card_new(&k, &cfg);
    const char *src =
        ".package A0000000FF0002 1.0\n"
        ".class Loop extends Applet\n"
        ".field n\n"
        ".method install static args=3\n new Loop\n invokestatic Applet.register\n return\n.end\n"
        ".method process args=2\n"
        "    invokestatic Applet.selectingApplet\n ifeq go\n return\n"
        "go: aload_1\n invokestatic APDU.getBuffer\n sconst_1\n baload\n ifne spin\n"
        "    getfield_s_this Loop.n\n sconst_1\n sadd\n putfield_s_this Loop.n\n"
        "    aload_1\n invokestatic APDU.getBuffer\n sconst_0\n getfield_s_this Loop.n\n invokestatic Util.setShort\n pop\n"
        "    aload_1\n sconst_0\n sconst_2\n invokestatic APDU.setOutgoingAndSend\n return\n"
        "spin: invokestatic JCSystem.beginTransaction\n sspush 1000\n putfield_s_this Loop.n\n"
        "l:  goto l\n"
        ".end\n"
        ".applet A0000000FF000201 Loop install=install process=process\n";
    uint8_t *blob;
    size_t len;
    vt_asm(src, &blob, &len);
    assert_int_equal(vm_load_package(k.rt, blob, len, 0, NULL, 0), VM_OK);
    free(blob);
    uint16_t sw;
    static const uint8_t pkg[] = { 0xA0, 0, 0, 0, 0xFF, 0, 2 }, app[] = { 0xA0, 0, 0, 0, 0xFF, 0, 2, 1 };
    assert_int_equal(vm_install(k.rt, pkg, 7, app, 8, NULL, 0, NULL, 0, &sw), VM_OK);
    uint8_t resp[300];
    size_t rlen;
    assert_int_equal(vt_send_hex(&k, "00A4040008A0000000FF000201", resp, &rlen), 0x9000);
    assert_int_equal(vt_send_hex(&k, "8000000000", resp, &rlen), 0x9000);
    assert_int_equal(vt_send_hex(&k, "8001000000", resp, &rlen), 0x6F00);
    vm_stats st;
    vm_get_stats(k.rt, &st);
    assert_true(st.last_bytecodes >= 100000 && st.last_bytecodes < 100010);
    assert_int_equal(vt_send_hex(&k, "8000000000", resp, &rlen), 0x9000);
    assert_int_equal(resp[1], 2);   /* 1000 was rolled back */
    vt_card_free(&k);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hello),
        cmocka_unit_test(test_counter),
        cmocka_unit_test(test_wallet),
        cmocka_unit_test(test_crypto),
        cmocka_unit_test(test_many_applets),
        cmocka_unit_test(test_budget),
    };
    return cmocka_run_group_tests_name("vm_examples", tests, NULL, NULL);
}
