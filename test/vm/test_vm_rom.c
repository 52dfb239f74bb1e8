/*
 * test_vm_rom.c — masked packages executed in place from ROM
 * (vm_register_rom_package): they run, their statics persist across
 * reopen and reset, registration on later opens writes nothing to NVM, they
 * cannot be deleted, a corrupt ROM blob is refused, instances of a masked
 * applet survive reopen, and an NVM package may import a masked library.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "vmtest.h"

/* A library (JCA): a static short `count` = 5 and a static byte array
 * `table` = {1,2,3}; exported static method 0 (bump) adds P1 to count,
 * increments table[0] and sends count (2) || table (3); method 1 (add)
 * adds P1 to count and sends count (2). */
static const char *ROM_CAP_LIB =
    ".package romtest/lib {\n"
    " .aid 0xA0:0x0:0x0:0x6:0x99:0x2:0x0;\n"
    " .version 1.0;\n"
    " .imports {\n"
    VT_JCA_IMPORT_FRAMEWORK_LANG
    " }\n"
    " .constantPool {\n"
    "  virtualMethodRef 0.10.1()[B;\n"
    "   .descriptor Ljavacard/framework/APDU; 0.10;\n"
    "  virtualMethodRef 0.10.8(SS)V;\n"
    "  staticMethodRef 0.16.6([BSS)S;\n"
    "  staticFieldRef short RomLib/count;\n"
    "  staticFieldRef byte[] RomLib/table;\n"
    "  staticMethodRef 0.16.1([BS[BSS)S;\n"
    " }\n"
    " .class public RomLib 0 extends 1.0 {\n"
    "  .fields {\n"
    "   static byte[] table = {1,2,3};\n"
    "   static short count = 5;\n"
    "  }\n"
    VT_JCA_OBJECT_METHOD_TABLES
    "  .method public static bump(Ljavacard/framework/APDU;)V 0 {\n"
    "   .stack 5;\n"
    "   .locals 1;\n"
    "   .descriptor Ljavacard/framework/APDU; 0.10;\n"
    "   L0: aload_0;\n"
    "    invokevirtual 0;\n"
    "    astore_1;\n"
    "    getstatic_s 3;\n"
    "    aload_1;\n"
    "    sconst_2;\n"
    "    baload;\n"
    "    sadd;\n"
    "    putstatic_s 3;\n"
    "    getstatic_a 4;\n"
    "    sconst_0;\n"
    "    getstatic_a 4;\n"
    "    sconst_0;\n"
    "    baload;\n"
    "    sconst_1;\n"
    "    sadd;\n"
    "    bastore;\n"
    "    aload_1;\n"
    "    sconst_0;\n"
    "    getstatic_s 3;\n"
    "    invokestatic 2;\n"
    "    pop;\n"
    "    getstatic_a 4;\n"
    "    sconst_0;\n"
    "    aload_1;\n"
    "    sconst_2;\n"
    "    sconst_3;\n"
    "    invokestatic 5;\n"
    "    pop;\n"
    "    aload_0;\n"
    "    sconst_0;\n"
    "    sconst_5;\n"
    "    invokevirtual 1;\n"
    "    return;\n"
    "  }\n"
    "  .method public static add(Ljavacard/framework/APDU;)V 1 {\n"
    "   .stack 4;\n"
    "   .locals 1;\n"
    "   .descriptor Ljavacard/framework/APDU; 0.10;\n"
    "   L0: aload_0;\n"
    "    invokevirtual 0;\n"
    "    astore_1;\n"
    "    getstatic_s 3;\n"
    "    aload_1;\n"
    "    sconst_2;\n"
    "    baload;\n"
    "    sadd;\n"
    "    putstatic_s 3;\n"
    "    aload_1;\n"
    "    sconst_0;\n"
    "    getstatic_s 3;\n"
    "    invokestatic 2;\n"
    "    pop;\n"
    "    aload_0;\n"
    "    sconst_0;\n"
    "    sconst_2;\n"
    "    invokevirtual 1;\n"
    "    return;\n"
    "  }\n"
    " }\n"
    "}\n";

/* An NVM library importing it: its exported static method 0 calls
 * RomLib.add through the masked package's Export component. */
static const char *NVM_CAP_USER =
    ".package romtest/user {\n"
    " .aid 0xA0:0x0:0x0:0x6:0x99:0x3:0x0;\n"
    " .version 1.0;\n"
    " .imports {\n"
    VT_JCA_IMPORT_FRAMEWORK_LANG
    "  0xA0:0x0:0x0:0x6:0x99:0x2:0x0 1.0;\n"
    " }\n"
    " .constantPool {\n"
    "  staticMethodRef 2.0.1(Ljavacard/framework/APDU;)V;\n"
    "   .descriptor Ljavacard/framework/APDU; 0.10;\n"
    " }\n"
    " .class public User 0 extends 1.0 {\n"
    VT_JCA_OBJECT_METHOD_TABLES
    "  .method public static call(Ljavacard/framework/APDU;)V 0 {\n"
    "   .stack 1;\n"
    "   .locals 0;\n"
    "   .descriptor Ljavacard/framework/APDU; 0.10;\n"
    "   L0: aload_0;\n"
    "    invokestatic 0;\n"
    "    return;\n"
    "  }\n"
    " }\n"
    "}\n";

static void cap_asm(const char *src, uint8_t **blob, size_t *len)
{
    vt_jca(src, "romlib.jca", blob, len);
}

/* A card (vmtest.h) and where its masked packages are in ROM. */
typedef struct rom_card {
    vt_card k;
    uint32_t off[4], len[4];
    unsigned n;
} rom_card;

/* Mask: write the blobs to ROM, register them (creating the statics
 * records), commit, end masking. */
static void rom_card_mask(rom_card *r, const uint8_t *const *blobs, const size_t *lens, unsigned n)
{
    vt_card *k = &r->k;
    vt_image_new(k);
    uint32_t at = 256;
    r->n = n;
    for (unsigned i = 0; i < n; i++) {
        assert_int_equal(chip_rom_write(k->c, at, blobs[i], lens[i]), CHIP_OK);
        r->off[i] = at;
        r->len[i] = (uint32_t)lens[i];
        at += (uint32_t)lens[i];
    }
    assert_int_equal(vm_create(k->c, NULL, &k->rt), VM_OK);
    for (unsigned i = 0; i < n; i++) {
        char err[160];
        int rc = vm_register_rom_package(k->rt, r->off[i], r->len[i], err, sizeof err);
        if (rc)
            fail_msg("register %u: %d %s", i, rc, err);
    }
    chip_end_masking(k->c);
    assert_int_equal(chip_commit(k->c), CHIP_OK);
}

/* Reopen from the file; register the masked packages again. */
static void rom_card_reopen(rom_card *r)
{
    char err[160];
    vt_reopen(&r->k, NULL);
    for (unsigned i = 0; i < r->n; i++)
        assert_int_equal(vm_register_rom_package(r->k.rt, r->off[i], r->len[i], err, sizeof err), VM_OK);
}

/* bump() of the CAP library: count (2) || table (3), as bytes. */
static void cap_bump(vt_card *k, uint8_t by, uint8_t out[5])
{
    static const uint8_t aid[] = { 0xA0, 0, 0, 0x06, 0x99, 0x02, 0x00 };
    uint8_t apdu[5] = { 0x80, 0x10, by, 0, 5 }, resp[300];
    size_t rlen = 0;
    assert_int_equal(vt_invoke(k, aid, sizeof aid, 0x0000, apdu, sizeof apdu, resp, &rlen, NULL), 0x9000);
    assert_int_equal(rlen, 5);
    memcpy(out, resp, 5);
}

static int is_masked(vm_runtime *rt, const uint8_t *aid, uint8_t aid_len, vm_package_info *out)
{
    for (unsigned i = 0; vm_package_info_at(rt, i, out) == VM_OK; i++)
        if (out->aid_len == aid_len && !memcmp(out->aid, aid, aid_len))
            return out->masked;
    return -1;
}

/* A CAP library masked in ROM runs in place: its static field image (a
 * short and a static array, made at the first registration) is all it has
 * in NVM, survives power cycles and reopens, later registrations write
 * nothing, and it cannot be deleted. Expected values: the JCA's
 * initializers (count 5, table {1,2,3}) and bump()'s arithmetic. */
static void test_rom_cap_package_runs_in_place(void **state)
{
    (void)state;
    static const uint8_t aid[] = { 0xA0, 0, 0, 0x06, 0x99, 0x02, 0x00 };
    uint8_t *blob;
    size_t len;
    cap_asm(ROM_CAP_LIB, &blob, &len);
    rom_card m;
    memset(&m, 0, sizeof m);
    const uint8_t *blobs[1] = { blob };
    rom_card_mask(&m, blobs, &len, 1);
    vt_card *k = &m.k;

    vm_package_info pi;
    assert_int_equal(is_masked(k->rt, aid, sizeof aid, &pi), 1);
    assert_int_equal(pi.blob_size, len);
    assert_true(pi.nvm_used < 64);   /* statics record only, no blob */
    assert_true(pi.nvm_used < len);

    uint8_t r[5];
    cap_bump(k, 3, r);
    assert_memory_equal(r, "\x00\x08\x02\x02\x03", 5);
    cap_bump(k, 1, r);
    assert_memory_equal(r, "\x00\x09\x03\x02\x03", 5);

    vt_reset(k);
    cap_bump(k, 1, r);
    assert_memory_equal(r, "\x00\x0A\x04\x02\x03", 5);

    vt_commit(k);
    vt_close(k);
    vt_image_open(k);
    char err[160];
    chip_stats st0, st1;
    chip_get_stats(k->c, &st0);
    assert_int_equal(vm_create(k->c, NULL, &k->rt), VM_OK);
    assert_int_equal(vm_register_rom_package(k->rt, m.off[0], m.len[0], err, sizeof err), VM_OK);
    chip_get_stats(k->c, &st1);
    assert_int_equal(st1.nvm_page_writes, st0.nvm_page_writes);
    cap_bump(k, 16, r);
    assert_memory_equal(r, "\x00\x1A\x05\x02\x03", 5);
    assert_int_equal(vm_register_rom_package(k->rt, m.off[0], m.len[0], err, sizeof err), VM_OK);
    assert_int_equal(vm_delete_package(k->rt, aid, sizeof aid), VM_ERR_STATE);
    assert_int_equal(is_masked(k->rt, aid, sizeof aid, &pi), 1);
    /* a method the Export component does not have */
    uint8_t apdu[4] = { 0x80, 0x10, 0, 0 }, resp[300];
    size_t rlen;
    int rc;
    vt_invoke(k, aid, sizeof aid, 0x0002, apdu, sizeof apdu, resp, &rlen, &rc);
    assert_int_equal(rc, VM_ERR_ARG);
    free(blob);
    vt_card_free(k);
}

/* A corrupt CAP in ROM (its last component cut short by one byte) is
 * refused at registration, NVM untouched. */
static void test_rom_cap_corrupt_refused(void **state)
{
    (void)state;
    uint8_t *blob;
    size_t len;
    cap_asm(ROM_CAP_LIB, &blob, &len);
    vt_card k;
    vt_image_new(&k);
    assert_int_equal(chip_rom_write(k.c, 256, blob, len), CHIP_OK);
    assert_int_equal(vm_create(k.c, NULL, &k.rt), VM_OK);
    chip_stats st0, st1;
    chip_get_stats(k.c, &st0);
    char err[160];
    assert_int_equal(vm_register_rom_package(k.rt, 256, (uint32_t)len - 1, err, sizeof err), VM_ERR_VERIFY);
    assert_true(err[0] != 0);
    /* a region outside ROM */
    assert_int_equal(vm_register_rom_package(k.rt, chip_get_geometry(k.c)->rom_size - 4, 64, err, sizeof err),
                     VM_ERR_ARG);
    chip_get_stats(k.c, &st1);
    assert_int_equal(st1.nvm_page_writes, st0.nvm_page_writes);
    vm_package_info pi;
    assert_int_equal(vm_package_info_at(k.rt, 0, &pi), VM_ERR_NOTFOUND);
    free(blob);
    vt_card_free(&k);
}

/* Reopen with a set of masked packages verified before (vm_rom_trust);
 * returns how many packages this open ran the verifier on. */
static unsigned rom_card_reopen_trusting(rom_card *r, vm_rom_trust *t)
{
    char err[160];
    vt_reopen(&r->k, NULL);
    vm_set_rom_trust(r->k.rt, t);
    for (unsigned i = 0; i < r->n; i++)
        assert_int_equal(vm_register_rom_package(r->k.rt, r->off[i], r->len[i], err, sizeof err), VM_OK);
    return vm_rom_verified_count(r->k.rt);
}

/* Many cards of one ROM (a campaign worker): with a trust set, the first
 * open verifies the masked package and later opens of the same bytes do
 * not; the package still runs. A ROM whose package differs in one opcode
 * (same length, same AID, same place: a type error the verifier refuses)
 * is verified and refused, trust or not. */
static void test_rom_cap_verified_once_per_bytes(void **state)
{
    (void)state;
    uint8_t *blob, *bad;
    size_t len, bad_len;
    cap_asm(ROM_CAP_LIB, &blob, &len);
    /* bump(): "aload_1; sconst_2; baload" indexes the buffer with a reference */
    static const char *good_seq = "    aload_1;\n    sconst_2;\n    baload;";
    const char *at = strstr(ROM_CAP_LIB, good_seq);
    assert_non_null(at);
    size_t head = (size_t)(at - ROM_CAP_LIB);
    char *src = malloc(strlen(ROM_CAP_LIB) + 16);
    assert_non_null(src);
    sprintf(src, "%.*s    aload_1;\n    aload_1;\n    baload;%s", (int)head, ROM_CAP_LIB, at + strlen(good_seq));
    cap_asm(src, &bad, &bad_len);
    free(src);
    assert_int_equal(bad_len, len);
    assert_memory_not_equal(bad, blob, len);

    rom_card k;
    memset(&k, 0, sizeof k);
    const uint8_t *blobs[1] = { blob };
    rom_card_mask(&k, blobs, &len, 1);
    vm_rom_trust *t;
    assert_int_equal(vm_rom_trust_new(&t), VM_OK);
    assert_int_equal(rom_card_reopen_trusting(&k, NULL), 1);
    assert_int_equal(rom_card_reopen_trusting(&k, t), 1);
    assert_int_equal(rom_card_reopen_trusting(&k, t), 0);
    uint8_t r[5];
    cap_bump(&k.k, 3, r);
    assert_memory_equal(r, "\x00\x08\x02\x02\x03", 5);
    assert_int_equal(rom_card_reopen_trusting(&k, t), 0);
    cap_bump(&k.k, 1, r);
    assert_memory_equal(r, "\x00\x09\x03\x02\x03", 5);
    vt_card_free(&k.k);

    /* The same place, length and AID, other bytes. */
    memset(&k, 0, sizeof k);
    vt_image_new(&k.k);
    assert_int_equal(chip_rom_write(k.k.c, 256, bad, bad_len), CHIP_OK);
    assert_int_equal(vm_create(k.k.c, NULL, &k.k.rt), VM_OK);
    vm_set_rom_trust(k.k.rt, t);
    char err[160];
    assert_int_equal(vm_register_rom_package(k.k.rt, 256, (uint32_t)bad_len, err, sizeof err), VM_ERR_VERIFY);
    assert_int_equal(vm_rom_verified_count(k.k.rt), 0);
    assert_true(err[0] != 0);
    vt_card_free(&k.k);
    vm_rom_trust_free(t);
    free(blob);
    free(bad);
}

/* An NVM package may import a masked library and call it; the library
 * still cannot be deleted, the importer can (after a reopen too). */
static void test_rom_cap_imported_by_nvm_package(void **state)
{
    (void)state;
    static const uint8_t aid[] = { 0xA0, 0, 0, 0x06, 0x99, 0x02, 0x00 };
    static const uint8_t uaid[] = { 0xA0, 0, 0, 0x06, 0x99, 0x03, 0x00 };
    uint8_t *blob;
    size_t len;
    cap_asm(ROM_CAP_LIB, &blob, &len);
    rom_card m;
    memset(&m, 0, sizeof m);
    const uint8_t *blobs[1] = { blob };
    rom_card_mask(&m, blobs, &len, 1);
    vt_card *k = &m.k;
    vt_load_jca(k, NVM_CAP_USER, "romuser.jca", 0);
    vt_commit(k);
    vm_package_info pi;
    assert_int_equal(is_masked(k->rt, uaid, sizeof uaid, &pi), 0);
    assert_int_equal(is_masked(k->rt, aid, sizeof aid, &pi), 1);

    /* the importer's call runs the library's add in the library's statics */
    uint8_t apdu[5] = { 0x80, 0x10, 2, 0, 2 }, resp[300];
    size_t rlen = 0;
    assert_int_equal(vt_invoke(k, uaid, sizeof uaid, 0x0000, apdu, sizeof apdu, resp, &rlen, NULL), 0x9000);
    assert_int_equal(rlen, 2);
    assert_memory_equal(resp, "\x00\x07", 2);
    uint8_t r[5];
    cap_bump(k, 1, r);
    assert_memory_equal(r, "\x00\x08\x02\x02\x03", 5);

    rom_card_reopen(&m);
    assert_int_equal(is_masked(k->rt, uaid, sizeof uaid, &pi), 0);
    assert_int_equal(is_masked(k->rt, aid, sizeof aid, &pi), 1);
    assert_int_equal(vm_delete_package(k->rt, aid, sizeof aid), VM_ERR_STATE);
    assert_int_equal(vm_delete_package(k->rt, uaid, sizeof uaid), VM_OK);
    assert_int_equal(vm_delete_package(k->rt, aid, sizeof aid), VM_ERR_STATE);
    cap_bump(k, 1, r);
    assert_memory_equal(r, "\x00\x09\x03\x02\x03", 5);
    free(blob);
    vt_card_free(k);
}

/* The example counter applet's CAP masked in ROM: an instance of a masked
 * applet is installed in NVM and keeps its value across reopens, also
 * when the masked package is not registered again. */
static void test_rom_cap_applet_instance(void **state)
{
    (void)state;
    size_t len;
    uint8_t *blob = vt_example("counter", &len);
    rom_card m;
    memset(&m, 0, sizeof m);
    const uint8_t *blobs[1] = { blob };
    rom_card_mask(&m, blobs, &len, 1);
    vt_card *k = &m.k;
    vm_package_info pi;
    assert_int_equal(vm_package_info_at(k->rt, 0, &pi), VM_OK);
    assert_int_equal(pi.masked, 1);
    assert_int_equal(pi.applet_count, 1);
    static const uint8_t pkg[] = { 0xF0, 0x63, 0x61, 0x72, 0x64, 0x76, 0x6D, 0x11 };
    static const uint8_t app[] = { 0xF0, 0x63, 0x61, 0x72, 0x64, 0x76, 0x6D, 0x11, 0x01 };
    uint16_t sw = 0;
    assert_int_equal(vt_install(k, pkg, sizeof pkg, app, sizeof app, app, sizeof app, NULL, 0, &sw), VM_OK);
    assert_int_equal(sw, 0x9000);
    vt_commit(k);
    uint8_t resp[256];
    size_t rlen;
    static const uint8_t add5[] = { 0x80, 0x01, 0x05, 0x00, 0x00 }, get[] = { 0x80, 0x02, 0x00, 0x00, 0x00 };
    for (int round = 0; round < 2; round++) {
        assert_int_equal(vm_select(k->rt, app, sizeof app, NULL, 0, resp, sizeof resp, &rlen, &sw), VM_OK);
        assert_int_equal(sw, 0x9000);
        assert_int_equal(vm_process(k->rt, add5, sizeof add5, resp, sizeof resp, &rlen, &sw), VM_OK);
        assert_int_equal(sw, 0x9000);
        assert_int_equal(vm_process(k->rt, get, sizeof get, resp, sizeof resp, &rlen, &sw), VM_OK);
        assert_int_equal(sw, 0x9000);
        assert_int_equal(rlen, 2);
        assert_int_equal(resp[0] << 8 | resp[1], 5 * (round + 1));
        vm_applet_info ai;
        assert_int_equal(vm_applet_info_at(k->rt, 0, &ai), VM_OK);
        assert_memory_equal(ai.pkg_aid, pkg, sizeof pkg);
        /* the package has an instance, and is masked anyway */
        assert_int_equal(vm_delete_package(k->rt, pkg, sizeof pkg), VM_ERR_STATE);
        rom_card_reopen(&m);
    }
    /* Without registering the ROM package again, vm_create still finds it
     * (its NVM record names the ROM region) and the instance with it. */
    vt_reopen(k, NULL);
    assert_int_equal(vm_select(k->rt, app, sizeof app, NULL, 0, resp, sizeof resp, &rlen, &sw), VM_OK);
    assert_int_equal(sw, 0x9000);
    assert_int_equal(vm_process(k->rt, get, sizeof get, resp, sizeof resp, &rlen, &sw), VM_OK);
    assert_int_equal(resp[0] << 8 | resp[1], 10);
    free(blob);
    vt_card_free(k);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rom_cap_package_runs_in_place),
        cmocka_unit_test(test_rom_cap_corrupt_refused),
        cmocka_unit_test(test_rom_cap_verified_once_per_bytes),
        cmocka_unit_test(test_rom_cap_imported_by_nvm_package),
        cmocka_unit_test(test_rom_cap_applet_instance),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
