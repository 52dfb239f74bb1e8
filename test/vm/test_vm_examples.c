/*
 * test_vm_examples.c — the example applets' CAP files (examples/applets,
 * assembled by the build with `cardvm asm`) in process: each is loaded
 * into a chip-backed VM, installed as its transcript says and the
 * transcript (NAME/NAME.apdu) is played, its "# reset" lines alternately a
 * power cycle and a reopen of the card image from its file. Then several
 * applets on one card (instances, selection, enumeration, deletion) and
 * the instruction budget stopping a runaway applet.
 */
#include <ctype.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "transcript.h"
#include "vmtest.h"

#ifndef VT_EXAMPLES_SRC
#define VT_EXAMPLES_SRC "."
#endif

static int hex_word(const char *s, uint8_t *out, size_t cap)
{
    char w[600];
    size_t n = 0;
    while (*s && !isspace((unsigned char)*s) && n + 1 < sizeof w)
        w[n++] = *s++;
    w[n] = 0;
    return vt_hex(w, out, cap);
}

/* "# @install APPLET package=PKG [app-data=HEX]" */
static void install_line(vt_card *k, const char *path, int ln, const char *s)
{
    uint8_t app[16], pkg[16], params[128];
    int alen = hex_word(s + strspn(s, " "), app, sizeof app), plen = -1, dlen = 0;
    const char *p = strstr(s, "package=");
    if (p)
        plen = hex_word(p + 8, pkg, sizeof pkg);
    const char *d = strstr(s, "app-data=");
    if (d)
        dlen = hex_word(d + 9, params, sizeof params);
    if (alen < 5 || plen < 5 || dlen < 0)
        fail_msg("%s:%d: bad @install", path, ln);
    uint16_t sw = 0;
    int rc = vt_install(k, pkg, (uint8_t)plen, app, (uint8_t)alen, app, (uint8_t)alen, params, (uint8_t)dlen, &sw);
    if (rc != VM_OK || sw != 0x9000)
        fail_msg("%s:%d: install: %s, SW %04X", path, ln, vm_strerror(rc), sw);
    vt_commit(k);
}

static void run_example(const char *name)
{
    vt_card k;
    vt_card_new(&k, NULL);
    vt_load_example(&k, name);
    vt_commit(&k);

    char path[512];
    snprintf(path, sizeof path, "%s/%s/%s.apdu", VT_EXAMPLES_SRC, name, name);
    FILE *f = fopen(path, "r");
    if (!f)
        fail_msg("cannot read %s", path);
    char line[2048], cmd_text[600] = "";
    int ln = 0, resets = 0, answers = 0;
    uint8_t resp[300];
    size_t rlen = 0;
    uint16_t sw = 0;
    while (fgets(line, sizeof line, f)) {
        ln++;
        char *s = line + strspn(line, " \t");
        s[strcspn(s, "\r\n")] = 0;
        if (!strncmp(s, "# @install", 10)) {
            install_line(&k, path, ln, s + 10);
        } else if (!strcmp(s, "# reset")) {
            if (resets++ % 2 == 0)
                vt_reset(&k);
            else
                vt_reopen(&k, NULL);
        } else if (!strncmp(s, "=>", 2)) {
            uint8_t apdu[300];
            snprintf(cmd_text, sizeof cmd_text, "%s", s + 2 + strspn(s + 2, " "));
            int n = hex_word(cmd_text, apdu, sizeof apdu);
            if (n < 4)
                fail_msg("%s:%d: bad command", path, ln);
            sw = vt_send(&k, apdu, (size_t)n, resp, &rlen);
        } else if (!strncmp(s, "<=", 2)) {
            char want[700];
            size_t w = 0;
            for (const char *e = s + 2 + strspn(s + 2, " "); *e && !isspace((unsigned char)*e) && w + 1 < sizeof want;
                 e++)
                want[w++] = (char)toupper((unsigned char)*e);
            want[w] = 0;
            resp[rlen] = (uint8_t)(sw >> 8);
            resp[rlen + 1] = (uint8_t)sw;
            if (!transcript_match(want, resp, rlen + 2)) {
                char have[700] = "";
                for (size_t i = 0; i < rlen + 2 && 2 * i + 3 < sizeof have; i++)
                    snprintf(have + 2 * i, 3, "%02X", resp[i]);
                fail_msg("%s:%d: => %s: expected %s, got %s", path, ln, cmd_text, want, have);
            }
            answers++;
        }
    }
    fclose(f);
    print_message("%s: %d answers, %d resets\n", name, answers, resets);
    assert_true(answers > 0);
    vt_card_free(&k);
}

static void test_hello(void **s) { (void)s; run_example("hello"); }
static void test_counter(void **s) { (void)s; run_example("counter"); }
static void test_wallet(void **s) { (void)s; run_example("wallet"); }
static void test_crypto(void **s) { (void)s; run_example("crypto"); }

static const uint8_t HELLO_PKG[] = { 0xF0, 0x63, 0x61, 0x72, 0x64, 0x76, 0x6D, 0x10 };
static const uint8_t HELLO_APP[] = { 0xF0, 0x63, 0x61, 0x72, 0x64, 0x76, 0x6D, 0x10, 0x01 };
static const uint8_t CTR_PKG[] = { 0xF0, 0x63, 0x61, 0x72, 0x64, 0x76, 0x6D, 0x11 };
static const uint8_t CTR_APP[] = { 0xF0, 0x63, 0x61, 0x72, 0x64, 0x76, 0x6D, 0x11, 0x01 };
static const uint8_t CTR2[] = { 0xF0, 0x63, 0x61, 0x72, 0x64, 0x76, 0x6D, 0x11, 0x02 };
static const uint8_t WAL_PKG[] = { 0xF0, 0x63, 0x61, 0x72, 0x64, 0x76, 0x6D, 0x12 };
static const uint8_t WAL_APP[] = { 0xF0, 0x63, 0x61, 0x72, 0x64, 0x76, 0x6D, 0x12, 0x01 };

static int install(vt_card *k, const uint8_t *pkg, uint8_t plen, const uint8_t *app, const uint8_t *inst,
                   const uint8_t *params, uint8_t params_len, uint16_t *sw)
{
    return vt_install(k, pkg, plen, app, 9, inst, 9, params, params_len, sw);
}

/* Several applets on one card; selecting one deselects the other; each
 * keeps its own objects; enumerate and delete. */
static void test_many_applets(void **state)
{
    (void)state;
    vt_card k;
    vt_card_new(&k, NULL);
    const char *names[] = { "hello", "counter", "wallet" };
    for (int i = 0; i < 3; i++)
        vt_load_example(&k, names[i]);
    uint16_t sw = 0;
    static const uint8_t pin[] = { '1', '2', '3', '4' };
    assert_int_equal(install(&k, HELLO_PKG, 8, HELLO_APP, HELLO_APP, NULL, 0, &sw), VM_OK);
    assert_int_equal(sw, 0x9000);
    assert_int_equal(install(&k, CTR_PKG, 8, CTR_APP, CTR_APP, NULL, 0, &sw), VM_OK);
    assert_int_equal(install(&k, CTR_PKG, 8, CTR_APP, CTR2, NULL, 0, &sw), VM_OK);
    assert_int_equal(sw, 0x9000);
    assert_int_equal(install(&k, CTR_PKG, 8, CTR_APP, CTR2, NULL, 0, &sw), VM_ERR_EXISTS);
    assert_int_equal(install(&k, WAL_PKG, 8, WAL_APP, WAL_APP, pin, 4, &sw), VM_OK);
    assert_int_equal(sw, 0x9000);
    vt_commit(&k);

    uint8_t resp[300];
    size_t rlen;
    /* two counter instances keep separate values */
    assert_int_equal(vt_send_hex(&k, "00A4040009F063617264766D1101", resp, &rlen), 0x9000);
    assert_int_equal(vt_send_hex(&k, "8001070000", resp, &rlen), 0x9000);
    assert_int_equal(vt_send_hex(&k, "00A4040009F063617264766D1102", resp, &rlen), 0x9000);
    assert_int_equal(vt_send_hex(&k, "8002000000", resp, &rlen), 0x9000);
    assert_int_equal(rlen, 2);
    assert_int_equal(resp[0] << 8 | resp[1], 0);
    assert_int_equal(vt_send_hex(&k, "00A4040009F063617264766D1101", resp, &rlen), 0x9000);
    assert_int_equal(vt_send_hex(&k, "8002000000", resp, &rlen), 0x9000);
    assert_int_equal(resp[0] << 8 | resp[1], 7);
    /* hello answers its greeting */
    assert_int_equal(vt_send_hex(&k, "00A4040009F063617264766D1001", resp, &rlen), 0x9000);
    assert_int_equal(vt_send_hex(&k, "0010000000", resp, &rlen), 0x9000);
    assert_int_equal(rlen, 12);
    assert_memory_equal(resp, "Hello, card!", 12);
    /* a partial AID (its first two bytes) selects the first instance whose
     * AID starts with it: hello, installed first */
    assert_int_equal(vt_send_hex(&k, "00A4040002F063", resp, &rlen), 0x9000);
    assert_int_equal(vt_send_hex(&k, "0010000000", resp, &rlen), 0x9000);
    assert_int_equal(rlen, 12);
    /* unknown AID: 6A82, the current applet stays selected */
    assert_int_equal(vt_send_hex(&k, "00A4040005A000000099", resp, &rlen), 0x6A82);
    assert_int_equal(vt_send_hex(&k, "0010000000", resp, &rlen), 0x9000);
    assert_int_equal(rlen, 12);

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
    assert_int_equal(vm_delete_package(k.rt, CTR_PKG, 8), VM_ERR_STATE);
    assert_int_equal(vm_delete_instance(k.rt, CTR_APP, 9), VM_OK);
    assert_int_equal(vm_delete_instance(k.rt, CTR2, 9), VM_OK);
    assert_int_equal(vm_delete_package(k.rt, CTR_PKG, 8), VM_OK);
    vt_reopen(&k, NULL);
    n = 0;
    while (vm_package_info_at(k.rt, n, &pi) == VM_OK)
        n++;
    assert_int_equal(n, 2);
    assert_int_equal(vt_send_hex(&k, "00A4040009F063617264766D1101", resp, &rlen), 0x6A82);
    assert_int_equal(vt_send_hex(&k, "00A4040009F063617264766D1201", resp, &rlen), 0x9000);
    assert_int_equal(vt_send_hex(&k, "8050000002", resp, &rlen), 0x9000);
    assert_int_equal(rlen, 2);
    vt_card_free(&k);
}

/* The constructor and install() of the applets below, whose constant pools
 * start alike: 0 Applet.<init>, 1 Applet.register(), 2 the applet class,
 * 3 its <init>. */
#define EX_APPLET_INIT_INSTALL                                                                        \
    "  .method private <init>()V {\n"                                                              \
    "   .stack 1;\n .locals 0;\n"                                                                  \
    "   L0: aload_0;\n invokespecial 0;\n return;\n"                                               \
    "  }\n"                                                                                        \
    "  .method public static install([BSB)V 0 {\n"                                                 \
    "   .stack 2;\n .locals 0;\n"                                                                  \
    "   L0: new 2;\n dup;\n invokespecial 3;\n invokevirtual 1;\n return;\n"                       \
    "  }\n"

/* An applet: INS 00 adds one to an instance field n and answers it; INS
 * 01 begins a transaction, sets n = 1000 and loops for ever. */
static const char *LOOP_JCA =
    ".package cardvm/loop {\n"
    " .aid 0xA0:0x0:0x0:0x0:0xFF:0x0:0x2;\n"
    " .version 1.0;\n"
    " .imports {\n"
    VT_JCA_IMPORT_FRAMEWORK_LANG
    " }\n"
    " .applet {\n"
    "  0xA0:0x0:0x0:0x0:0xFF:0x0:0x2:0x1 Loop;\n"
    " }\n"
    " .constantPool {\n"
    "  staticMethodRef 0.3.0()V;\n"
    "  virtualMethodRef 0.3.1()V;\n"
    "  classRef Loop;\n"
    "  staticMethodRef Loop/<init>()V;\n"
    "  virtualMethodRef 0.3.3()Z;\n"
    "  virtualMethodRef 0.10.1()[B;\n"
    "  staticMethodRef 0.16.6([BSS)S;\n"
    "  virtualMethodRef 0.10.8(SS)V;\n"
    "  staticMethodRef 0.8.1()V;\n"
    "  instanceFieldRef short Loop/n;\n"
    "   .descriptor Ljavacard/framework/APDU; 0.10;\n"
    " }\n"
    " .class public Loop 0 extends 0.3 {\n"
    "  .fields {\n"
    "   private short n 0;\n"
    "  }\n"
    VT_JCA_APPLET_METHOD_TABLES
    EX_APPLET_INIT_INSTALL
    "  .method public process(Ljavacard/framework/APDU;)V 7 {\n"
    "   .stack 4;\n .locals 1;\n"
    "   .descriptor Ljavacard/framework/APDU; 0.10;\n"
    "   L0: aload_0;\n invokevirtual 4;\n ifeq L2;\n"
    "   L1: return;\n"
    "   L2: aload_1;\n invokevirtual 5;\n astore_2;\n aload_2;\n sconst_1;\n baload;\n ifne L3;\n"
    "   getfield_s_this 9;\n sconst_1;\n sadd;\n putfield_s_this 9;\n"
    "   aload_2;\n sconst_0;\n getfield_s_this 9;\n invokestatic 6;\n pop;\n"
    "   aload_1;\n sconst_0;\n sconst_2;\n invokevirtual 7;\n return;\n"
    "   L3: invokestatic 8;\n sspush 1000;\n putfield_s_this 9;\n"
    "   L4: goto L4;\n"
    "  }\n"
    " }\n"
    "}\n";

/* A card (budget: the config's, or the default when 0) with the applet
 * of `jca` installed from package A0 00 00 00 FF 00 n as instance n 01,
 * selected. */
static void card_with_applet(vt_card *k, uint32_t budget, const char *jca, const char *name, uint8_t n)
{
    const uint8_t pkg[] = { 0xA0, 0, 0, 0, 0xFF, 0, n }, app[] = { 0xA0, 0, 0, 0, 0xFF, 0, n, 1 };
    vm_config cfg;
    vm_config_default(&cfg);
    if (budget)
        cfg.budget = budget;
    vt_card_new(k, &cfg);
    vt_load_jca(k, jca, name, 0);
    uint16_t sw;
    assert_int_equal(vt_install(k, pkg, 7, app, 8, app, 8, NULL, 0, &sw), VM_OK);
    assert_int_equal(sw, 0x9000);
    vt_commit(k);
    uint8_t resp[300];
    size_t rlen;
    char select[64];
    snprintf(select, sizeof select, "00A4040008A0000000FF00%02X01", n);
    assert_int_equal(vt_send_hex(k, select, resp, &rlen), 0x9000);
}

/* The instruction budget stops a runaway applet with 6F00, and the
 * transaction it had open is rolled back (JCRE 3.0.5 §7.6.2). */
static void test_budget(void **state)
{
    (void)state;
    vt_card k;
    card_with_applet(&k, 100000, LOOP_JCA, "loop.jca", 2);
    uint8_t resp[300];
    size_t rlen;
    assert_int_equal(vt_send_hex(&k, "8000000000", resp, &rlen), 0x9000);
    assert_int_equal(vt_send_hex(&k, "8001000000", resp, &rlen), 0x6F00);
    vm_stats st;
    vm_get_stats(k.rt, &st);
    print_message("budget 100000: the runaway command ran %llu bytecodes\n", (unsigned long long)st.last_bytecodes);
    assert_true(st.last_bytecodes >= 100000 && st.last_bytecodes < 100100);
    assert_int_equal(vt_send_hex(&k, "8000000000", resp, &rlen), 0x9000);
    assert_int_equal(rlen, 2);
    assert_int_equal(resp[0] << 8 | resp[1], 2);   /* the 1000 was rolled back */
    vt_card_free(&k);
}

/* A bubble-sort-shaped nest (javac's `for (j = 0; j < (short)(p - 1 - i);
 * j++)` inside `for (i = 0; i < (short)(p - 1); i++)`, p = P1): both bounds
 * are loop-invariant expressions the translator computes once per loop
 * entry (cap_xlat.c, xl_loop); r counts the inner iterations. */
static const char *NEST_JCA =
    ".package cardvm/nest {\n"
    " .aid 0xA0:0x0:0x0:0x0:0xFF:0x0:0x3;\n"
    " .version 1.0;\n"
    " .imports {\n"
    VT_JCA_IMPORT_FRAMEWORK_LANG
    " }\n"
    " .applet {\n"
    "  0xA0:0x0:0x0:0x0:0xFF:0x0:0x3:0x1 Nest;\n"
    " }\n"
    " .constantPool {\n"
    "  staticMethodRef 0.3.0()V;\n"
    "  virtualMethodRef 0.3.1()V;\n"
    "  classRef Nest;\n"
    "  staticMethodRef Nest/<init>()V;\n"
    "  virtualMethodRef 0.3.3()Z;\n"
    "  virtualMethodRef 0.10.1()[B;\n"
    "  staticMethodRef 0.16.6([BSS)S;\n"
    "  virtualMethodRef 0.10.8(SS)V;\n"
    "   .descriptor Ljavacard/framework/APDU; 0.10;\n"
    " }\n"
    " .class public Nest 0 extends 0.3 {\n"
    VT_JCA_APPLET_METHOD_TABLES
    EX_APPLET_INIT_INSTALL
    "  .method public process(Ljavacard/framework/APDU;)V 7 {\n"
    "   .stack 4;\n .locals 5;\n"
    "   .descriptor Ljavacard/framework/APDU; 0.10;\n"
    "   L0: aload_0;\n invokevirtual 4;\n ifeq L2;\n"
    "   L1: return;\n"
    "   L2: aload_1;\n invokevirtual 5;\n astore_2;\n aload_2;\n sconst_2;\n baload;\n sstore_3;\n"
    "   sconst_0;\n sstore 4;\n sconst_0;\n sstore 5;\n"
    "   L3: sload 5;\n sload_3;\n sconst_1;\n ssub;\n if_scmpge L7;\n"
    "   L4: sconst_0;\n sstore 6;\n"
    "   L5: sload 6;\n sload_3;\n sconst_1;\n ssub;\n sload 5;\n ssub;\n if_scmpge L6;\n"
    "   L8: sinc 4 1;\n sinc 6 1;\n goto L5;\n"
    "   L6: sinc 5 1;\n goto L3;\n"
    "   L7: aload_2;\n sconst_0;\n sload 4;\n invokestatic 6;\n pop;\n"
    "   aload_1;\n sconst_0;\n sconst_2;\n invokevirtual 7;\n return;\n"
    "  }\n"
    " }\n"
    "}\n";

/* Bytecodes NEST_JCA's process runs for P1 = p >= 1, counted from its
 * code: 3 (selectingApplet test) + 11 (to the outer head) + 10 (answer)
 * + per outer test 5 (O + 1 of them, O = p - 1) + per outer iteration
 * 2 (j = 0) + 2 (sinc, goto) + per inner test 7 (I_i + 1 for each i,
 * I_i = p - 1 - i) + per inner iteration 3 (sinc, sinc, goto). */
static uint64_t nest_bytecodes(unsigned p)
{
    uint64_t o = p - 1, inner = o * (o + 1) / 2;
    return 24 + 5 * (o + 1) + 4 * o + 7 * (inner + o) + 3 * inner;
}

/* The budget counts the original bytecodes where expressions are hoisted
 * out of loops: exactly, per APDU, whatever the number of loop entries;
 * a budget of exactly that many runs out at the last taken branch (it
 * charges the run at its target, and 0 left is out), one more suffices. */
static void test_budget_hoisted(void **state)
{
    (void)state;
    static const unsigned ps[] = { 1, 2, 3, 10, 40 };
    for (unsigned round = 0; round < 3; round++) {
        for (unsigned n = 0; n < sizeof ps / sizeof ps[0]; n++) {
            unsigned p = ps[n];
            vt_card k;
            card_with_applet(&k, round == 0 ? 0 : (uint32_t)nest_bytecodes(p) + (round == 2), NEST_JCA, "nest.jca", 3);
            uint8_t resp[300];
            size_t rlen;
            char apdu[16];
            snprintf(apdu, sizeof apdu, "8000%02X0000", p);
            for (int again = 0; again < 2; again++) {   /* translated, then run again */
                uint16_t got = vt_send_hex(&k, apdu, resp, &rlen);
                vm_stats st;
                vm_get_stats(k.rt, &st);
                if (round == 1) {
                    assert_int_equal(got, 0x6F00);
                    continue;
                }
                assert_int_equal(got, 0x9000);
                assert_int_equal(rlen, 2);
                assert_int_equal(resp[0] << 8 | resp[1], (p - 1) * p / 2);
                assert_int_equal(st.last_bytecodes, nest_bytecodes(p));
            }
            vt_card_free(&k);
        }
    }
}

/* An applet whose INS 00 counts i from 0 while i < P1, storing n = i + 1
 * in a persistent field at every iteration (no transaction: what was
 * stored stays when the budget runs out); with P2 != 0 it answers n. */
static const char *EDGE_JCA =
    ".package cardvm/edge {\n"
    " .aid 0xA0:0x0:0x0:0x0:0xFF:0x0:0x4;\n"
    " .version 1.0;\n"
    " .imports {\n"
    VT_JCA_IMPORT_FRAMEWORK_LANG
    " }\n"
    " .applet {\n"
    "  0xA0:0x0:0x0:0x0:0xFF:0x0:0x4:0x1 Edge;\n"
    " }\n"
    " .constantPool {\n"
    "  staticMethodRef 0.3.0()V;\n"
    "  virtualMethodRef 0.3.1()V;\n"
    "  classRef Edge;\n"
    "  staticMethodRef Edge/<init>()V;\n"
    "  virtualMethodRef 0.3.3()Z;\n"
    "  virtualMethodRef 0.10.1()[B;\n"
    "  staticMethodRef 0.16.6([BSS)S;\n"
    "  virtualMethodRef 0.10.8(SS)V;\n"
    "  staticMethodRef 0.8.1()V;\n"
    "  instanceFieldRef short Edge/n;\n"
    "   .descriptor Ljavacard/framework/APDU; 0.10;\n"
    " }\n"
    " .class public Edge 0 extends 0.3 {\n"
    "  .fields {\n"
    "   private short n 0;\n"
    "  }\n"
    VT_JCA_APPLET_METHOD_TABLES
    EX_APPLET_INIT_INSTALL
    "  .method public process(Ljavacard/framework/APDU;)V 7 {\n"
    "   .stack 4;\n .locals 3;\n"
    "   .descriptor Ljavacard/framework/APDU; 0.10;\n"
    "   L0: aload_0;\n invokevirtual 4;\n ifeq L2;\n"
    "   L1: return;\n"
    "   L2: aload_1;\n invokevirtual 5;\n astore_2;\n aload_2;\n sconst_2;\n baload;\n sstore_3;\n"
    "   aload_2;\n sconst_3;\n baload;\n ifne L5;\n"
    "   sconst_0;\n sstore 4;\n"
    "   L3: sload 4;\n sload_3;\n if_scmpge L6;\n"
    "   L4: sload 4;\n sconst_1;\n sadd;\n putfield_s_this 9;\n sinc 4 1;\n goto L3;\n"
    "   L6: return;\n"
    "   L5: aload_2;\n sconst_0;\n getfield_s_this 9;\n invokestatic 6;\n pop;\n"
    "   aload_1;\n sconst_0;\n sconst_2;\n invokevirtual 7;\n return;\n"
    "  }\n"
    " }\n"
    "}\n";

/* The budget running out at a loop's back edge (`sinc; goto` fused with
 * the head's test: the goto's run and the test's charged at once, then
 * tested), counted from EDGE_JCA's code by the rule of docs/vm.md
 * ("Budget": a run is charged where control arrives other than by falling
 * through; taken branches and method entries test it, 0 left is out):
 * entry 3 (tested), ifeq taken 11 (tested), ifne not taken 5, the head's
 * test falling through 6 (untested: iteration 1 runs, n = 1); then each
 * back edge k = 1, 2, .. charges 3 + 6 = 9 (k < P1) or 3 + 1 (k = P1, to
 * the return) and tests: the charge reaches 25 + 9k there, so a budget B
 * ends the loop with n = 1 + #{k >= 1: 25 + 9k < B} and a whole run costs
 * 20 + 9 * P1. The answer (P2 != 0) costs 3 + 11 + 10 = 24 < every B. */
static void test_budget_back_edge(void **state)
{
    (void)state;
    enum { P = 100 };
    static const uint32_t bs[] = { 34, 35, 61, 62, 25 + 9 * 99, 25 + 9 * 99 + 1, 20 + 9 * P, 20 + 9 * P + 1 };
    for (unsigned n = 0; n < sizeof bs / sizeof bs[0]; n++) {
        uint32_t b = bs[n];
        unsigned want = 1;
        for (unsigned k = 1; k < P && 25 + 9 * k < b; k++)
            want++;
        vt_card k;
        card_with_applet(&k, b, EDGE_JCA, "edge.jca", 4);
        uint8_t resp[300];
        size_t rlen;
        char apdu[16];
        snprintf(apdu, sizeof apdu, "8000%02X0000", P);
        assert_int_equal(vt_send_hex(&k, apdu, resp, &rlen), b > 20 + 9 * P ? 0x9000 : 0x6F00);
        assert_int_equal(vt_send_hex(&k, "8000000100", resp, &rlen), 0x9000);
        assert_int_equal(rlen, 2);
        assert_int_equal(resp[0] << 8 | resp[1], want);
        vt_card_free(&k);
    }
}

/* Loop idioms (cap_xlat.c) and the budget: INS 00 copies buf[8 + i] to
 * buf[64 + i] for i < P1 (COPY on the APDU buffer, a RAM array: run whole
 * when the budget covers the loop), INS 01 sets buf[73] = 1 and finds the
 * first i < P1 with buf[64 + i] != buf[65 + i] (MISMATCH, javac's `if (x
 * != y)` exit path: answer 0100 + i, else i; the buffer past the header
 * holds zeros, no data being received: the difference is at i = 8), INS
 * 02 is INS 00's copy with the test at the bottom (`goto` to it first). */
static const char *IDIOM_JCA =
    ".package cardvm/idiom {\n"
    " .aid 0xA0:0x0:0x0:0x0:0xFF:0x0:0x5;\n"
    " .version 1.0;\n"
    " .imports {\n"
    VT_JCA_IMPORT_FRAMEWORK_LANG
    " }\n"
    " .applet {\n"
    "  0xA0:0x0:0x0:0x0:0xFF:0x0:0x5:0x1 Idiom;\n"
    " }\n"
    " .constantPool {\n"
    "  staticMethodRef 0.3.0()V;\n"
    "  virtualMethodRef 0.3.1()V;\n"
    "  classRef Idiom;\n"
    "  staticMethodRef Idiom/<init>()V;\n"
    "  virtualMethodRef 0.3.3()Z;\n"
    "  virtualMethodRef 0.10.1()[B;\n"
    "  staticMethodRef 0.16.6([BSS)S;\n"
    "  virtualMethodRef 0.10.8(SS)V;\n"
    "   .descriptor Ljavacard/framework/APDU; 0.10;\n"
    " }\n"
    " .class public Idiom 0 extends 0.3 {\n"
    VT_JCA_APPLET_METHOD_TABLES
    EX_APPLET_INIT_INSTALL
    "  .method public process(Ljavacard/framework/APDU;)V 7 {\n"
    "   .stack 5;\n .locals 5;\n"
    "   .descriptor Ljavacard/framework/APDU; 0.10;\n"
    "   L0: aload_0;\n invokevirtual 4;\n ifeq L2;\n"
    "   L1: return;\n"
    "   L2: aload_1;\n invokevirtual 5;\n astore_2;\n aload_2;\n sconst_2;\n baload;\n sstore_3;\n"
    "   sconst_0;\n sstore 4;\n aload_2;\n sconst_1;\n baload;\n ifne L5;\n"
    "   L3: sload 4;\n sload_3;\n if_scmpge L4;\n"
    "   aload_2;\n sload 4;\n bspush 64;\n sadd;\n aload_2;\n sload 4;\n bspush 8;\n sadd;\n baload;\n bastore;\n"
    "   sinc 4 1;\n goto L3;\n"
    "   L4: aload_2;\n sconst_0;\n sload 4;\n invokestatic 6;\n pop;\n"
    "   aload_1;\n sconst_0;\n sconst_2;\n invokevirtual 7;\n return;\n"
    "   L5: aload_2;\n sconst_1;\n baload;\n sconst_1;\n if_scmpne L8;\n"
    "   aload_2;\n bspush 73;\n sconst_1;\n bastore;\n"
    "   L6: sload 4;\n sload_3;\n if_scmpge L4;\n"
    "   aload_2;\n sload 4;\n bspush 64;\n sadd;\n baload;\n sstore 5;\n"
    "   aload_2;\n sload 4;\n bspush 65;\n sadd;\n baload;\n sstore 6;\n"
    "   sload 5;\n sload 6;\n if_scmpeq L7;\n"
    "   L9: sspush 256;\n sload 4;\n sadd;\n sstore 4;\n goto L4;\n"
    "   L7: sinc 4 1;\n goto L6;\n"
    "   L8: goto L11;\n"
    "   L10: aload_2;\n sload 4;\n bspush 64;\n sadd;\n aload_2;\n sload 4;\n bspush 8;\n sadd;\n baload;\n bastore;\n"
    "   sinc 4 1;\n"
    "   L11: sload 4;\n sload_3;\n if_scmplt L10;\n"
    "   goto L4;\n"
    "  }\n"
    " }\n"
    "}\n";

/* Bytecodes IDIOM_JCA's process runs (counted from its code): 3 to L2, 13
 * to the branch on INS, 10 to answer; COPY of p: 3 per test (p + 1), 12
 * per iteration; MISMATCH: 9 to its loop, 3 per test, 17 per iteration
 * (15 to the compare, 2 for sinc, goto), at a difference at k 15 + 5 of
 * the k-th and no test after it. */
static uint64_t idiom_bytecodes(int mismatch, unsigned p, unsigned k)
{
    if (mismatch == 2)   /* 5 to L8, its goto, the test, 14 per iteration (11 + the test), goto L4 */
        return 36 + 14 * p;
    if (!mismatch)
        return 26 + 3 * (p + 1) + 12 * p;
    if (k < p)
        return 35 + 3 * (k + 1) + 17 * k + 15 + 5;
    return 35 + 3 * (p + 1) + 17 * p;
}

/* The budget of a loop run whole by its idiom op is the bytecodes': the
 * count per APDU exact; a budget of exactly that many runs out (at the
 * last taken branch), one more suffices, and so does every budget in
 * between: the command ends 6F00 exactly when the bytecodes' count
 * reaches the budget (the loop's own ops run it then). */
static void test_budget_idiom(void **state)
{
    (void)state;
    /* data from buf[5]: 3 bytes, then buf[8 ..]: 0x11 x 9, 0x22, 0x30 + j */
    char data[2 * 64 + 1];
    size_t dn = 0;
    for (unsigned j = 0; j < 3; j++)
        dn += (size_t)snprintf(data + dn, sizeof data - dn, "00");
    for (unsigned j = 0; j < 40; j++)
        dn += (size_t)snprintf(data + dn, sizeof data - dn, "%02X", j < 9 ? 0x11 : j == 9 ? 0x22 : 0x30 + j);
    for (unsigned round = 0; round < 3; round++) {
        for (unsigned p = 0; p <= 30; p += 6) {
            uint64_t total = idiom_bytecodes(round, p, 8);   /* buf[16] != buf[17] */
            for (uint64_t b = total > 60 ? total - 60 : 1; b <= total + 2; b++) {
                vt_card k;
                card_with_applet(&k, 0, IDIOM_JCA, "idiom.jca", 5);
                uint8_t resp[300];
                size_t rlen;
                char apdu[256];
                vm_set_budget(k.rt, (uint32_t)b);
                snprintf(apdu, sizeof apdu, "80%02X%02X00%02X%s", round, p, 43, data);
                uint16_t got = vt_send_hex(&k, apdu, resp, &rlen);
                vm_stats st;
                vm_get_stats(k.rt, &st);
                if (b <= total) {
                    assert_int_equal(got, 0x6F00);
                } else {
                    assert_int_equal(got, 0x9000);
                    assert_int_equal(rlen, 2);
                    unsigned want = round != 1 ? p : p > 8 ? 0x100 + 8 : p;
                    assert_int_equal(resp[0] << 8 | resp[1], want);
                    assert_int_equal(st.last_bytecodes, total);
                }
                vt_card_free(&k);
            }
        }
    }
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
        cmocka_unit_test(test_budget_hoisted),
        cmocka_unit_test(test_budget_back_edge),
        cmocka_unit_test(test_budget_idiom),
    };
    return cmocka_run_group_tests_name("vm_examples", tests, NULL, NULL);
}
