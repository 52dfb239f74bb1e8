/* test_cap_engine_link.c — linking CAP packages on the card: a library and
 * its clients load in order and call each other (the shared libshare
 * packages), a missing or too new import is refused with nothing stored,
 * an imported package cannot be deleted, and everything links again after
 * the card image is reopened. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "cap_format.h"
#include "cap_testfile.h"
#include "vm.h"
#include "vmtest.h"

static const uint8_t LOYALTY[] = { 0xF0, 0x43, 0x41, 0x50, 0x57, 0x32, 0x01 };
static const uint8_t SERVER_PKG[] = { 0xF0, 0x43, 0x41, 0x50, 0x57, 0x32, 0x02 };
static const uint8_t SERVER[] = { 0xF0, 0x43, 0x41, 0x50, 0x57, 0x32, 0x02, 0x01 };
static const uint8_t SHOP_PKG[] = { 0xF0, 0x43, 0x41, 0x50, 0x57, 0x32, 0x03 };
static const uint8_t SHOP[] = { 0xF0, 0x43, 0x41, 0x50, 0x57, 0x32, 0x03, 0x01 };

static uint8_t *libshare(const char *name, size_t *len)
{
    const char *shared = cap_test_shared_dir();
    if (!shared)
        return NULL;
    char path[1024];
    snprintf(path, sizeof path, "%s/applets/libshare/jc222-nodebug/%s.cap", shared, name);
    uint8_t *lf = cap_test_load_file(path, len);
    assert_non_null(lf);
    return lf;
}

static int load(vt_card *k, const char *name, char *err, size_t errlen)
{
    size_t len;
    uint8_t *lf = libshare(name, &len);
    int rc = vm_load_package(k->rt, lf, len, 0, err, errlen);
    free(lf);
    vt_commit(k);
    return rc;
}

/* install bArray: instance AID, no privileges, no parameters */
static void install(vt_card *k, const uint8_t *pkg, const uint8_t *app)
{
    uint8_t barray[12] = { 8 };
    memcpy(barray + 1, app, 8);
    barray[9] = 1;
    uint16_t sw = 0;
    assert_int_equal(vm_install(k->rt, pkg, 7, app, 8, app, 8, barray, sizeof barray, &sw), VM_OK);
    assert_int_equal(sw, 0x9000);
    vt_commit(k);
}

#define NEED_SHARED()                                                               \
    do {                                                                            \
        if (!cap_test_shared_dir()) {                                               \
            print_message("SKIP: ../shared/javacard absent (no shared test material)\n"); \
            skip();                                                                 \
        }                                                                           \
    } while (0)

static void test_missing_import_refused_nothing_stored(void **state)
{
    (void)state;
    NEED_SHARED();
    vt_card k;
    vt_card_new(&k, NULL);
    uint8_t *before = vt_nvm_snapshot(&k);
    char err[256] = "";
    /* the server imports the library, which is not there yet */
    assert_int_equal(load(&k, "loyaltysrv", err, sizeof err), VM_ERR_DEPENDENCY);
    assert_true(err[0] != 0);
    assert_true(vt_nvm_same(&k, before));
    vm_package_info pi;
    assert_int_equal(vm_package_info_at(k.rt, 0, &pi), VM_ERR_NOTFOUND);
    free(before);
    vt_card_free(&k);
}

/* An import of javacard.framework at a minor version above the card's
 * (1.6 in JC 3.0.5), or at another major version, does not link. */
static void test_import_version_checked(void **state)
{
    (void)state;
    NEED_SHARED();
    static const uint8_t framework[] = { 0xA0, 0, 0, 0, 0x62, 0x01, 0x01 };
    for (int variant = 0; variant < 2; variant++) {
        vt_card k;
        vt_card_new(&k, NULL);
        size_t len;
        uint8_t *lf = libshare("loyalty", &len);
        cap_view v;
        assert_int_equal(cap_parse(lf, len, &v, NULL, 0), 0);
        /* Import component info: u1 count, then minor, major, AID len, AID */
        uint8_t *imp = (uint8_t *)(uintptr_t)v.info[CAP_Import];
        size_t pos = 1;
        int patched = 0;
        for (unsigned i = 0; i < v.import_count; i++) {
            if (imp[pos + 2] == sizeof framework && !memcmp(imp + pos + 3, framework, sizeof framework)) {
                if (variant == 0)
                    imp[pos] = 7;            /* 1.7: newer than the card */
                else
                    imp[pos + 1] = 2;        /* 2.x: another major version */
                patched = 1;
            }
            pos += 3u + imp[pos + 2];
        }
        cap_view_free(&v);
        assert_true(patched);
        uint8_t *before = vt_nvm_snapshot(&k);
        char err[256];
        assert_int_equal(vm_load_package(k.rt, lf, len, 0, err, sizeof err), VM_ERR_DEPENDENCY);
        assert_true(vt_nvm_same(&k, before));
        free(before);
        free(lf);
        vt_card_free(&k);
    }
}

static void test_library_and_clients(void **state)
{
    (void)state;
    NEED_SHARED();
    vt_card k;
    vt_card_new(&k, NULL);
    char err[256];
    assert_int_equal(load(&k, "loyalty", err, sizeof err), VM_OK);
    assert_int_equal(load(&k, "loyaltysrv", err, sizeof err), VM_OK);
    assert_int_equal(load(&k, "shop", err, sizeof err), VM_OK);
    assert_int_equal(load(&k, "shop", err, sizeof err), VM_ERR_EXISTS);
    install(&k, SERVER_PKG, SERVER);
    install(&k, SHOP_PKG, SHOP);

    /* what the card reports: versions 1.0 from the Header components */
    vm_package_info pi;
    unsigned libraries = 0, applets = 0;
    for (unsigned i = 0; vm_package_info_at(k.rt, i, &pi) == VM_OK; i++) {
        assert_int_equal(pi.major, 1);
        assert_int_equal(pi.minor, 0);
        if (pi.kind == VM_PKG_LIBRARY)
            libraries++;
        applets += pi.applet_count;
    }
    assert_int_equal(libraries, 1);
    assert_int_equal(applets, 3);   /* server, shop and guest shop */

    /* the client calls the server through the library's interface */
    uint8_t r[300];
    size_t n;
    assert_int_equal(vt_send_hex(&k, "00A4040008F043415057320301", r, &n), 0x9000);
    assert_int_equal(vt_send_hex(&k, "8020001004", r, &n), 0x9000);
    assert_int_equal(n, 4);
    assert_int_equal(r[0] << 8 | r[1], 0x10);   /* new balance */

    /* imported packages stay */
    assert_int_equal(vm_delete_package(k.rt, LOYALTY, sizeof LOYALTY), VM_ERR_DEPENDENCY);
    assert_int_equal(vm_delete_package(k.rt, SERVER_PKG, sizeof SERVER_PKG), VM_ERR_STATE);

    /* everything links again from NVM */
    vt_reopen(&k, NULL);
    assert_int_equal(vt_send_hex(&k, "00A4040008F043415057320301", r, &n), 0x9000);
    assert_int_equal(vt_send_hex(&k, "8020000104", r, &n), 0x9000);
    assert_int_equal(r[0] << 8 | r[1], 0x11);

    /* clients gone, the library goes too */
    assert_int_equal(vm_delete_instance(k.rt, SHOP, sizeof SHOP), VM_OK);
    assert_int_equal(vm_delete_package(k.rt, SHOP_PKG, sizeof SHOP_PKG), VM_OK);
    assert_int_equal(vm_delete_instance(k.rt, SERVER, sizeof SERVER), VM_OK);
    assert_int_equal(vm_delete_package(k.rt, SERVER_PKG, sizeof SERVER_PKG), VM_OK);
    assert_int_equal(vm_delete_package(k.rt, LOYALTY, sizeof LOYALTY), VM_OK);
    vt_commit(&k);
    vt_reopen(&k, NULL);
    assert_int_equal(vm_package_info_at(k.rt, 0, &pi), VM_ERR_NOTFOUND);
    vt_card_free(&k);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_missing_import_refused_nothing_stored),
        cmocka_unit_test(test_import_version_checked),
        cmocka_unit_test(test_library_and_clients),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
