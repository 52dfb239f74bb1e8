/*
 * test_vm_loader_package.c — cardvm.loader, the LOADER's privileged
 * functions as a Java Card package (vm/api_loader.c, docs/loader.md), with
 * the real customization software (examples/customization/custom.jca,
 * assembled here by tools/jca).
 *
 * What the tests hold the card to (docs/loader.md, "The LOADER package"):
 *  - only a package loaded privileged may import cardvm.loader: any other
 *    load is refused as for a missing import (VM_ERR_DEPENDENCY, which the
 *    card answers 6985) and writes nothing to NVM;
 *  - the customization software's exported process(APDU) (class token 0,
 *    static method token 0) is what vm_invoke's method 0x0000 runs;
 *  - Loader.m (method token i) reaches extension entry i with the
 *    arguments the bytecode pushed, only while the embedder's table is
 *    plugged in (else SecurityException: 6F00), and an ISOException the
 *    entry throws is the command's status word;
 *  - only from the privileged package's context: an applet that imports
 *    the customization software (a library, which it may) and calls it
 *    gets SecurityException, and the LOADER's entry never runs.
 * The command layout is custom.jca's header (80 30 SET VECTOR ...).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "testfiles.h"
#include "vmtest.h"

static const uint8_t CUSTOM_AID[] = { 0xA0, 0x00, 0x00, 0x06, 0x99, 0x02, 0x00 };

static uint8_t *custom_load_file(size_t *len)
{
    size_t n;
    char *src = (char *)test_read_file(CARDVM_SOURCE_DIR "/examples/customization/custom.jca", &n);
    assert_non_null(src);
    uint8_t *lf;
    vt_jca(src, "custom.jca", &lf, len);
    free(src);
    return lf;
}

/* A card with the customization software loaded privileged. */
static void card_with_custom(vt_card *k)
{
    vt_card_new(k, NULL);
    size_t len;
    uint8_t *lf = custom_load_file(&len);
    vt_load(k, lf, len, VM_LOAD_PRIVILEGED, "custom.jca");
    free(lf);
}

/* What the extension saw. */
typedef struct seen {
    int calls;
    unsigned entry;
    uint16_t args[4];
    uint8_t data[64];
    uint16_t data_len;
    uint16_t throw_sw;   /* 0: return normally */
} seen;

#define ENTRY(i)                                                                                        \
    static void entry_##i(void *ctx, vm_ext_call *call)                                              \
    {                                                                                                   \
        seen *s = ctx;                                                                                  \
        s->calls++;                                                                                     \
        s->entry = i;                                                                                   \
        for (unsigned a = 0; a < 4; a++)                                                                \
            s->args[a] = vm_call_arg(call, a);                                                          \
        const uint8_t *b;                                                                               \
        uint16_t bl;                                                                                    \
        if (vm_call_bytes(call, 0, &b, &bl) == 0 && s->args[1] <= bl && s->args[2] <= bl - s->args[1] && \
            s->args[2] <= sizeof s->data) {                                                             \
            memcpy(s->data, b + s->args[1], s->args[2]);                                                \
            s->data_len = s->args[2];                                                                   \
        }                                                                                               \
        if (s->throw_sw)                                                                                \
            vm_call_throw(call, s->throw_sw);                                                           \
    }
ENTRY(0)
ENTRY(1)
ENTRY(2)
ENTRY(3)
ENTRY(4)
ENTRY(5)

static const vm_ext_entry entries[] = {
    { "Loader.setVector", 3, 0, entry_0 },     { "Loader.loadBlock", 4, 0, entry_1 },
    { "Loader.install", 3, 0, entry_2 },       { "Loader.putKeySet", 3, 0, entry_3 },
    { "Loader.putCommonKey", 4, 0, entry_4 },  { "Loader.setSecurityDomain", 3, 0, entry_5 },
};

static uint16_t invoke(vt_card *k, uint16_t method, const char *hex, int *rc_out)
{
    uint8_t apdu[300], resp[300];
    int n = vt_hex(hex, apdu, sizeof apdu);
    assert_true(n >= 4);
    size_t rlen = 0;
    return vt_invoke(k, CUSTOM_AID, sizeof CUSTOM_AID, method, apdu, (size_t)n, resp, &rlen, rc_out);
}

static void refused_unless_privileged(void **state)
{
    (void)state;
    vt_card k;
    vt_card_new(&k, NULL);
    size_t len;
    uint8_t *lf = custom_load_file(&len);
    char err[256] = "";
    uint8_t *snap = vt_nvm_snapshot(&k);
    assert_int_equal(vm_load_package(k.rt, lf, len, 0, err, sizeof err), VM_ERR_DEPENDENCY);
    assert_non_null(strstr(err, "cardvm/loader"));
    assert_true(vt_nvm_same(&k, snap));
    free(snap);
    /* the host verifier says the same without the flag, accepts with it */
    assert_int_equal(vm_verify(lf, len, 0, err, sizeof err), VM_ERR_DEPENDENCY);
    assert_int_equal(vm_verify(lf, len, VM_LOAD_PRIVILEGED, err, sizeof err), VM_OK);

    assert_int_equal(vm_load_package(k.rt, lf, len, VM_LOAD_PRIVILEGED, err, sizeof err), VM_OK);
    vm_package_info pi;
    int found = 0;
    for (unsigned i = 0; vm_package_info_at(k.rt, i, &pi) == VM_OK; i++)
        if (pi.aid_len == sizeof CUSTOM_AID && !memcmp(pi.aid, CUSTOM_AID, sizeof CUSTOM_AID)) {
            found = 1;
            assert_int_equal(pi.kind, VM_PKG_CUSTOMIZATION);
            assert_int_equal(pi.privileged, 1);
        }
    assert_true(found);
    free(lf);
    vt_card_free(&k);
}

static void loader_calls_reach_the_extension(void **state)
{
    (void)state;
    vt_card k;
    card_with_custom(&k);
    vt_commit(&k);

    /* without the LOADER's handlers the package's methods do not run */
    assert_int_equal(invoke(&k, 0x0000, "80 30 00 00 03 01 02 03", NULL), 0x6F00);

    seen s;
    memset(&s, 0, sizeof s);
    vm_extension ext = { entries, 6, &s };
    vm_set_extension(k.rt, &ext);
    /* SET VECTOR: setVector(buffer, OFFSET_CDATA, Lc) */
    assert_int_equal(invoke(&k, 0x0000, "80 30 00 00 03 01 02 03", NULL), 0x9000);
    assert_int_equal(s.calls, 1);
    assert_int_equal(s.entry, 0);
    assert_int_equal(s.args[1], 5);
    assert_int_equal(s.args[2], 3);
    assert_int_equal(s.data_len, 3);
    assert_memory_equal(s.data, "\x01\x02\x03", 3);
    /* LOAD block: 4th argument P1 << 8 | P2 */
    assert_int_equal(invoke(&k, 0x0000, "80 32 07 80 02 C4 00", NULL), 0x9000);
    assert_int_equal(s.entry, 1);
    assert_int_equal(s.args[3], 0x0780);
    /* each INS its entry */
    static const struct { const char *cmd; unsigned entry; } cmds[] = {
        { "80 34 00 00 01 AA", 2 }, { "80 36 00 00 01 AA", 3 }, { "80 38 02 00 01 AA", 4 }, { "80 3A 00 00 01 AA", 5 },
    };
    for (unsigned i = 0; i < 4; i++) {
        assert_int_equal(invoke(&k, 0x0000, cmds[i].cmd, NULL), 0x9000);
        assert_int_equal(s.entry, cmds[i].entry);
    }
    assert_int_equal(s.args[2], 1);
    /* PUT COMMON KEY passes P1 */
    assert_int_equal(invoke(&k, 0x0000, "80 38 02 00 01 AA", NULL), 0x9000);
    assert_int_equal(s.args[3], 2);
    /* the entry's ISOException is the command's SW */
    s.throw_sw = 0x6A80;
    assert_int_equal(invoke(&k, 0x0000, "80 30 00 00 01 AA", NULL), 0x6A80);
    s.throw_sw = 0;
    int calls = s.calls;
    /* what the customization software answers itself */
    assert_int_equal(invoke(&k, 0x0000, "80 99 00 00", NULL), 0x6D00);
    assert_int_equal(invoke(&k, 0x0000, "00 30 00 00 01 AA", NULL), 0x6E00);
    assert_int_equal(s.calls, calls);
    /* an exported method that does not exist */
    int rc;
    invoke(&k, 0x0001, "80 30 00 00 01 AA", &rc);
    assert_int_equal(rc, VM_ERR_ARG);
    invoke(&k, 0x0100, "80 30 00 00 01 AA", &rc);
    assert_int_equal(rc, VM_ERR_ARG);
    vm_set_extension(k.rt, NULL);
    assert_int_equal(invoke(&k, 0x0000, "80 30 00 00 01 AA", NULL), 0x6F00);
    assert_int_equal(s.calls, calls);
    /* and after a reopen, the package is still privileged */
    vt_reopen(&k, NULL);
    vm_set_extension(k.rt, &ext);
    assert_int_equal(invoke(&k, 0x0000, "80 30 00 00 01 AA", NULL), 0x9000);
    assert_int_equal(s.calls, calls + 1);
    vm_set_extension(k.rt, NULL);
    vt_card_free(&k);
}

/* An applet (loaded without privilege) that imports the customization
 * software, a user library, and calls its process(APDU) from its own
 * process(): the Loader methods then run in the applet's context. */
static const char *INTRUDER =
    ".package ldrtest/intruder {\n"
    " .aid 0xA0:0x0:0x0:0x6:0x99:0x7:0x0;\n"
    " .version 1.0;\n"
    " .imports {\n"
    VT_JCA_IMPORT_FRAMEWORK_LANG
    "  0xA0:0x0:0x0:0x6:0x99:0x2:0x0 1.0;\n"
    " }\n"
    " .applet {\n"
    "  0xA0:0x0:0x0:0x6:0x99:0x7:0x0:0x1 Intruder;\n"
    " }\n"
    " .constantPool {\n"
    "  staticMethodRef 0.3.0()V;\n"
    "  virtualMethodRef 0.3.1()V;\n"
    "  classRef Intruder;\n"
    "  staticMethodRef Intruder/<init>()V;\n"
    "  staticMethodRef 2.0.0(Ljavacard/framework/APDU;)V;\n"
    "   .descriptor Ljavacard/framework/APDU; 0.10;\n"
    "  virtualMethodRef 0.3.3()Z;\n"
    " }\n"
    " .class public Intruder 0 extends 0.3 {\n"
    VT_JCA_APPLET_METHOD_TABLES
    "  .method private <init>()V {\n"
    "   .stack 1;\n"
    "   .locals 0;\n"
    "   L0: aload_0;\n"
    "    invokespecial 0;\n"
    "    return;\n"
    "  }\n"
    "  .method public static install([BSB)V 0 {\n"
    "   .stack 2;\n"
    "   .locals 0;\n"
    "   L0: new 2;\n"
    "    dup;\n"
    "    invokespecial 3;\n"
    "    invokevirtual 1;\n"
    "    return;\n"
    "  }\n"
    "  .method public process(Ljavacard/framework/APDU;)V 7 {\n"
    "   .stack 1;\n"
    "   .locals 0;\n"
    "   .descriptor Ljavacard/framework/APDU; 0.10;\n"
    "   L0: aload_0;\n"
    "    invokevirtual 5;\n"
    "    ifeq L2;\n"
    "   L1: return;\n"
    "   L2: aload_1;\n"
    "    invokestatic 4;\n"
    "    return;\n"
    "  }\n"
    " }\n"
    "}\n";

static void other_contexts_cannot_call_the_loader(void **state)
{
    (void)state;
    vt_card k;
    card_with_custom(&k);
    vt_load_jca(&k, INTRUDER, "intruder.jca", 0);
    static const uint8_t pkg[] = { 0xA0, 0, 0, 0x06, 0x99, 0x07, 0x00 };
    static const uint8_t app[] = { 0xA0, 0, 0, 0x06, 0x99, 0x07, 0x00, 0x01 };
    uint16_t sw = 0;
    assert_int_equal(vm_install(k.rt, pkg, sizeof pkg, app, sizeof app, NULL, 0, NULL, 0, &sw), VM_OK);
    assert_int_equal(sw, 0x9000);
    vt_commit(&k);

    seen s;
    memset(&s, 0, sizeof s);
    vm_extension ext = { entries, 6, &s };
    vm_set_extension(k.rt, &ext);
    uint8_t resp[300];
    size_t rlen;
    assert_int_equal(vt_send_hex(&k, "00 A4 04 00 08 A0 00 00 06 99 07 00 01", resp, &rlen), 0x9000);
    /* the same command the LOADER's call carries out (SET VECTOR) */
    assert_int_equal(vt_send_hex(&k, "80 30 00 00 01 AA", resp, &rlen), 0x6F00);
    assert_int_equal(s.calls, 0);
    /* the privileged package itself, in its own context, does reach it */
    assert_int_equal(invoke(&k, 0x0000, "80 30 00 00 01 AA", NULL), 0x9000);
    assert_int_equal(s.calls, 1);
    vm_set_extension(k.rt, NULL);
    vt_card_free(&k);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(refused_unless_privileged),
        cmocka_unit_test(loader_calls_reach_the_extension),
        cmocka_unit_test(other_contexts_cannot_call_the_loader),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
