/*
 * test_vm_calls.c — calls and returns on the CAP engine (vm/cap_run.c: the
 * inline frames of calls inside a package, the C recursion past them, the
 * return ops): the frame limit exact, exceptions unwinding through inline
 * and C frames to the handler of the right call, the bytecode count exact
 * across calls of every kind, the callers an out-of-budget record lists,
 * and locals that the callee does not find
 * zeroed. Expected values are worked out from the JCVM semantics (ch. 7)
 * and the configuration (vm.h: max_frames counts every CAP frame), never
 * taken from the VM's own output:
 *   rec(n)  = n, through n + 1 frames: rec(n) .. rec(0)
 *   rec2(k, n) = k + n, the same with two arguments (the call's last two
 *             pending: a local, then local - constant)
 *   vrec(n) = n, the same through invokevirtual on a C; prec(n) through
 *             invokespecial of a private method
 *   thr(n)  = n for n >= 0; for n < 0 it recurses up to thr(-1), which
 *             divides by zero (ArithmeticException) |n| frames down
 *   cat(a, b) = thr(a) + thr(b); thr(b) is inside cat's handler for
 *             ArithmeticException, which answers thr(a) + 100; thr(a) is not
 *   loc(n)  = 0 + 1 + .. + n - 1 with two locals it writes before reading,
 *             after junk() left 0x1234 in the same stack words
 *   fib(n)  = n for n < 2, else fib(n - 1) + fib(n - 2) (javac's `if (n <
 *             2) return n;`: a guard return, CAP_X_GRET, a local against a
 *             constant, the local returned); big(a) = -1 if a > 100,
 *             else a (a constant returned); sel(a, b) = b if a < 0, else
 *             a (a test against zero, another local returned); cnt(a) = a
 *             if a >= 20, else cnt(a + 3), as a loop whose test is the
 *             guard (its return op also reached from the fused `sinc;
 *             goto` back edge)
 * Each case is main's body leaving a short (as test_vm_opcodes.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "vm_internal.h"
#include "vmtest.h"

static const uint8_t PKG_AID[] = { 0xA0, 0x00, 0x00, 0x00, 0xFF, 0x00, 0x31 };

/* Constant pool:
 *   0 APDU.getBuffer  1 APDU.setOutgoingAndSend  2 Util.setShort
 *   3 rec(S)S  4 thr(S)S  5 cat(SS)S  6 junk()V  7 loc(S)S
 *   8 class C  9 C.<init>  10 C.vrec(S)S  11 C.prec(S)S (private)
 *  12 Object.<init>  13 ArithmeticException  14 C.startp(S)S
 *  15 rec2(SS)S  16 fib(S)S  17 big(S)S  18 sel(SS)S  19 cnt(S)S
 *  20 g(S)S (each case's own, G_DEFAULT unless it brings one)
 *  21 g2(SS)S
 * Locals of main: 0 apdu, 1 result, 2 buffer. */
static const char *PKG_HEAD =
    ".package cardvm/calltest {\n"
    " .aid 0xA0:0x0:0x0:0x0:0xFF:0x0:0x31;\n"
    " .version 1.0;\n"
    " .imports {\n"
    VT_JCA_IMPORT_FRAMEWORK_LANG
    " }\n"
    " .constantPool {\n"
    VT_JCA_CP_APDU_IO
    "  staticMethodRef Main/rec(S)S;\n"
    "  staticMethodRef Main/thr(S)S;\n"
    "  staticMethodRef Main/cat(SS)S;\n"
    "  staticMethodRef Main/junk()V;\n"
    "  staticMethodRef Main/loc(S)S;\n"
    "  classRef C;\n"
    "  staticMethodRef C/<init>()V;\n"
    "  virtualMethodRef C/vrec(S)S;\n"
    "  staticMethodRef C/prec(S)S;\n"
    "  staticMethodRef 1.0.0()V;\n"
    "  classRef 1.9;\n"
    "  virtualMethodRef C/startp(S)S;\n"
    "  staticMethodRef Main/rec2(SS)S;\n"
    "  staticMethodRef Main/fib(S)S;\n"
    "  staticMethodRef Main/big(S)S;\n"
    "  staticMethodRef Main/sel(SS)S;\n"
    "  staticMethodRef Main/cnt(S)S;\n"
    "  staticMethodRef Main/g(S)S;\n"
    "  staticMethodRef Main/g2(SS)S;\n"
    "   .descriptor Ljavacard/framework/APDU; 0.10;\n"
    " }\n"
    " .class public Main 0 extends 1.0 {\n"
    VT_JCA_OBJECT_METHOD_TABLES
    "  .method public static main(Ljavacard/framework/APDU;)V 0 {\n"
    "   .stack 4;\n"
    "   .locals 2;\n"
    "   .descriptor Ljavacard/framework/APDU; 0.10;\n";


/* rec: 9 bytecodes a level above 0 (sload_0 ifne, then the 7 from L1), 4
 * at 0; vrec and prec: 10 a level (the receiver's aload_0), 4 at 0 */
static const char *PKG_TAIL =
    "  .method static rec(S)S {\n"
    "   .stack 2;\n .locals 0;\n"
    "   L0: sload_0;\n ifne L1;\n sconst_0;\n sreturn;\n"
    "   L1: sload_0;\n sconst_1;\n ssub;\n invokestatic 3;\n sconst_1;\n sadd;\n sreturn;\n"
    "  }\n"
    "  .method static rec2(SS)S {\n"
    "   .stack 3;\n .locals 0;\n"
    "   L0: sload_1;\n ifne L1;\n sload_0;\n sreturn;\n"
    "   L1: sload_0;\n sload_1;\n sconst_1;\n ssub;\n invokestatic 15;\n sconst_1;\n sadd;\n sreturn;\n"
    "  }\n"
    "  .method static fib(S)S {\n"
    "   .stack 3;\n .locals 0;\n"
    "   L0: sload_0;\n sconst_2;\n if_scmpge L1;\n sload_0;\n sreturn;\n"
    "   L1: sload_0;\n sconst_1;\n ssub;\n invokestatic 16;\n sload_0;\n sconst_2;\n ssub;\n invokestatic 16;\n"
    "   sadd;\n sreturn;\n"
    "  }\n"
    "  .method static big(S)S {\n"
    "   .stack 2;\n .locals 0;\n"
    "   L0: sload_0;\n bspush 100;\n if_scmple L1;\n sconst_m1;\n sreturn;\n"
    "   L1: sload_0;\n sreturn;\n"
    "  }\n"
    "  .method static sel(SS)S {\n"
    "   .stack 1;\n .locals 0;\n"
    "   L0: sload_0;\n ifge L1;\n sload_1;\n sreturn;\n"
    "   L1: sload_0;\n sreturn;\n"
    "  }\n"
    "  .method static cnt(S)S {\n"
    "   .stack 2;\n .locals 0;\n"
    "   L0: sload_0;\n bspush 20;\n if_scmplt L1;\n sload_0;\n sreturn;\n"
    "   L1: sinc 0 3;\n goto L0;\n"
    "  }\n"
    "  .method static thr(S)S {\n"
    "   .stack 2;\n .locals 0;\n"
    "   L0: sload_0;\n ifne L1;\n sconst_0;\n sreturn;\n"
    "   L1: sload_0;\n ifge L3;\n sload_0;\n sconst_m1;\n if_scmpne L2;\n sconst_1;\n sconst_0;\n sdiv;\n"
    "   sreturn;\n"
    "   L2: sload_0;\n sconst_1;\n sadd;\n invokestatic 4;\n sconst_1;\n sadd;\n sreturn;\n"
    "   L3: sload_0;\n sconst_1;\n ssub;\n invokestatic 4;\n sconst_1;\n sadd;\n sreturn;\n"
    "  }\n"
    "  .method static cat(SS)S {\n"
    "   .stack 2;\n .locals 1;\n"
    "   L0: sload_0;\n invokestatic 4;\n sstore_2;\n"
    "   L1: sload_1;\n invokestatic 4;\n sload_2;\n sadd;\n sreturn;\n"
    "   L2: pop;\n sload_2;\n bspush 100;\n sadd;\n sreturn;\n"
    "   .exceptionTable {\n"
    "    L1 L2 L2 13;\n"
    "   }\n"
    "  }\n"
    "  .method static junk()V {\n"
    "   .stack 1;\n .locals 4;\n"
    "   L0: sspush 4660;\n sstore_0;\n sspush 4660;\n sstore_1;\n sspush 4660;\n sstore_2;\n"
    "   sspush 4660;\n sstore_3;\n return;\n"
    "  }\n"
    "  .method static loc(S)S {\n"
    "   .stack 2;\n .locals 2;\n"
    "   L0: sconst_0;\n sstore_1;\n sconst_0;\n sstore_2;\n"
    "   L1: sload_2;\n sload_0;\n if_scmpge L2;\n sload_1;\n sload_2;\n sadd;\n sstore_1;\n sinc 2 1;\n goto L1;\n"
    "   L2: sload_1;\n sreturn;\n"
    "  }\n"
    "  .method static g2(SS)S {\n"
    "   .stack 3;\n .locals 0;\n"
    "   L0: sload_1;\n ifne L1;\n sload_0;\n sreturn;\n"
    "   L1: sload_0;\n sconst_1;\n sadd;\n sload_1;\n sconst_1;\n ssub;\n invokestatic 21;\n sreturn;\n"
    "  }\n";

/* g(S)S, when a case brings none */
static const char *G_DEFAULT =
    "  .method static g(S)S {\n"
    "   .stack 1;\n .locals 0;\n"
    "   L0: sload_0;\n sreturn;\n"
    "  }\n";

static const char *PKG_CLASS_C =
    " }\n"
    " .class C extends 1.0 {\n"
    "  .publicMethodTable 1 {\n"
    "   equals(Ljava/lang/Object;)Z;\n"
    "   vrec(S)S;\n"
    "   startp(S)S;\n"
    "  }\n"
    "  .packageMethodTable 0 {\n"
    "  }\n"
    "  .method <init>()V {\n"
    "   .stack 1;\n .locals 0;\n"
    "   L0: aload_0;\n invokespecial 12;\n return;\n"
    "  }\n"
    "  .method public vrec(S)S 1 {\n"
    "   .stack 3;\n .locals 0;\n"
    "   L0: sload_1;\n ifne L1;\n sconst_0;\n sreturn;\n"
    "   L1: aload_0;\n sload_1;\n sconst_1;\n ssub;\n invokevirtual 10;\n sconst_1;\n sadd;\n sreturn;\n"
    "  }\n"
    "  .method public startp(S)S 2 {\n"
    "   .stack 2;\n .locals 0;\n"
    "   L0: aload_0;\n sload_1;\n invokespecial 11;\n sreturn;\n"
    "  }\n"
    "  .method private prec(S)S {\n"
    "   .stack 3;\n .locals 0;\n"
    "   L0: sload_1;\n ifne L1;\n sconst_0;\n sreturn;\n"
    "   L1: aload_0;\n sload_1;\n sconst_1;\n ssub;\n invokespecial 11;\n sconst_1;\n sadd;\n sreturn;\n"
    "  }\n"
    " }\n"
    "}\n";


/* Load the package with main's body (and its handlers, "START END HANDLER
 * CATCH;"), run main, answer the SW and the value in *v. */
static uint16_t run_body_g(vt_card *k, const char *body, const char *handlers, const char *g, int16_t *v)
{
    size_t cap = strlen(PKG_HEAD) + strlen(PKG_TAIL) + strlen(g) + strlen(PKG_CLASS_C) +
                 2 * (strlen(body) + strlen(VT_JCA_MAIN_ANSWER)) + 2 * (handlers ? strlen(handlers) : 0) + 256;
    char *src = malloc(cap);
    assert_non_null(src);
    snprintf(src, cap, "%s%s", PKG_HEAD, body[0] == 'L' ? "" : "L0: ");   /* L0 first, unless the body has it */
    vt_put_statements(src, cap, body);
    vt_put_statements(src, cap, VT_JCA_MAIN_ANSWER);
    if (handlers) {
        strcat(src, "   .exceptionTable {\n");
        vt_put_statements(src, cap, handlers);
        strcat(src, "   }\n");
    }
    strcat(src, "  }\n");
    strcat(src, PKG_TAIL);
    strcat(src, g);
    strcat(src, PKG_CLASS_C);
    uint8_t *blob;
    size_t len;
    vt_jca(src, "calltest.jca", &blob, &len);
    free(src);
    vm_delete_package(k->rt, PKG_AID, sizeof PKG_AID);
    char err[512] = "";
    int rc = vm_load_package(k->rt, blob, len, 0, err, sizeof err);
    free(blob);
    if (rc != VM_OK)
        fail_msg("load: %s %s", vm_strerror(rc), err);
    uint8_t apdu[] = { 0x80, 0x01, 0x00, 0x00, 0x00 };
    uint8_t resp[300];
    size_t rlen = 0;
    uint16_t sw = vt_invoke(k, PKG_AID, sizeof PKG_AID, 0, apdu, sizeof apdu, resp, &rlen, NULL);
    *v = rlen == 2 ? (int16_t)(resp[0] << 8 | resp[1]) : 0;
    return sw;
}

static uint16_t run_body(vt_card *k, const char *body, const char *handlers, int16_t *v)
{
    return run_body_g(k, body, handlers, G_DEFAULT, v);
}

static void expect(vt_card *k, const char *body, const char *handlers, uint16_t want_sw, int16_t want)
{
    int16_t v = 0;
    uint16_t sw = run_body(k, body, handlers, &v);
    if (sw != want_sw || (sw == 0x9000 && v != want))
        fail_msg("%s: SW %04X value %d, expected SW %04X value %d", body, sw, v, want_sw, want);
}

/* The bytecodes main's body "sspush N; <call>" ran, through the stats. */
/* The bytecodes main's body ran, after checking it answered `want`. */
static uint64_t bytecodes_of_body(vt_card *k, const char *body, int16_t want)
{
    int16_t v = 0;
    assert_int_equal(run_body(k, body, NULL, &v), 0x9000);
    assert_int_equal(v, want);
    vm_stats st;
    vm_get_stats(k->rt, &st);
    return st.last_bytecodes;
}

static uint64_t bytecodes_of(vt_card *k, const char *call, int n)
{
    char body[160];
    snprintf(body, sizeof body, "%ssspush %d;%s", strncmp(call, "new", 3) ? "" : "new 8;dup;invokespecial 9;", n,
             strncmp(call, "new", 3) ? call : call + 4);
    return bytecodes_of_body(k, body, (int16_t)n);
}

/* max_frames (64) counts main and every callee: main + rec(62) .. rec(0)
 * is 64 frames, rec(63) needs a 65th: StackOverflowError, thrown in the
 * third loop (24 inline frames in each of the first two, C recursion
 * between them) and caught by main's catch-any; the same limit through
 * invokevirtual and invokespecial, where one more frame (startp) is on
 * the way. */
static void test_frame_limit(void **state)
{
    (void)state;
    vt_card k;
    vt_card_new(&k, NULL);
    const char *h = "L1 L2 L3 0;";
    expect(&k, "L0: nop;L1: sspush 62;invokestatic 3;L2: goto L4;L3: pop;bspush 77;L4: nop;", h, 0x9000, 62);
    expect(&k, "L0: nop;L1: sspush 63;invokestatic 3;L2: goto L4;L3: pop;bspush 77;L4: nop;", h, 0x9000, 77);
    expect(&k, "sspush 63;invokestatic 3;", NULL, 0x6F00, 0);
    expect(&k, "L0: nop;L1: new 8;dup;invokespecial 9;sspush 62;invokevirtual 10;L2: goto L4;L3: pop;bspush 77;L4: nop;",
           h, 0x9000, 62);
    expect(&k, "L0: nop;L1: new 8;dup;invokespecial 9;sspush 63;invokevirtual 10;L2: goto L4;L3: pop;bspush 77;L4: nop;",
           h, 0x9000, 77);
    expect(&k, "L0: nop;L1: new 8;dup;invokespecial 9;sspush 61;invokevirtual 14;L2: goto L4;L3: pop;bspush 77;L4: nop;",
           h, 0x9000, 61);
    expect(&k, "L0: nop;L1: new 8;dup;invokespecial 9;sspush 62;invokevirtual 14;L2: goto L4;L3: pop;bspush 77;L4: nop;",
           h, 0x9000, 77);
    /* rec2: main + rec2(7, 62) .. rec2(7, 0) is 64 frames, one more is
     * StackOverflowError; main's call passes two constants */
    expect(&k, "L0: nop;L1: bspush 7;sspush 62;invokestatic 15;L2: goto L4;L3: pop;bspush 77;L4: nop;", h, 0x9000, 69);
    expect(&k, "L0: nop;L1: bspush 7;sspush 63;invokestatic 15;L2: goto L4;L3: pop;bspush 77;L4: nop;", h, 0x9000, 77);
    expect(&k, "bspush 7;sspush 63;invokestatic 15;", NULL, 0x6F00, 0);
    /* and the card goes on: the depth count came back to 0 */
    expect(&k, "sspush 62;invokestatic 3;", NULL, 0x9000, 62);
    vt_card_free(&k);
}

/* Stack space, not the frame count: with 64 stack words (vm.h's minimum)
 * and max_frames 64, rec(60) is 62 frames (allowed) but rec(d)'s locals
 * start one word above rec(d - 1)'s (its argument was the caller's top)
 * and its frame is 3 words, so rec(0)'s frame ends at least 60 + 3 words
 * above main's stack, past 64 words with main's own 3 locals:
 * StackOverflowError from the stack-space test of a quickened static call
 * (ENTER_STATIC, which tests the frame count in the same compare), caught
 * by main. rec2 (two arguments, 2 words a level, frame 5) and vrec
 * (invokevirtual: the receiver and n, 2 words a level) at depth 30 the
 * same. rec(20), rec2(7, 10) and vrec(10) need under 40 words: they run,
 * and the card goes on after each overflow. */
static void test_stack_space(void **state)
{
    (void)state;
    vm_config cfg;
    vm_config_default(&cfg);
    cfg.stack_slots = 64;
    vt_card k;
    vt_card_new(&k, &cfg);
    const char *h = "L1 L2 L3 0;";
    expect(&k, "L0: nop;L1: sspush 20;invokestatic 3;L2: goto L4;L3: pop;bspush 77;L4: nop;", h, 0x9000, 20);
    expect(&k, "L0: nop;L1: sspush 60;invokestatic 3;L2: goto L4;L3: pop;bspush 77;L4: nop;", h, 0x9000, 77);
    expect(&k, "sspush 60;invokestatic 3;", NULL, 0x6F00, 0);
    expect(&k, "L0: nop;L1: bspush 7;sspush 10;invokestatic 15;L2: goto L4;L3: pop;bspush 77;L4: nop;", h, 0x9000, 17);
    expect(&k, "L0: nop;L1: bspush 7;sspush 30;invokestatic 15;L2: goto L4;L3: pop;bspush 77;L4: nop;", h, 0x9000, 77);
    expect(&k, "L0: nop;L1: new 8;dup;invokespecial 9;sspush 10;invokevirtual 10;L2: goto L4;L3: pop;bspush 77;L4: nop;",
           h, 0x9000, 10);
    expect(&k, "L0: nop;L1: new 8;dup;invokespecial 9;sspush 30;invokevirtual 10;L2: goto L4;L3: pop;bspush 77;L4: nop;",
           h, 0x9000, 77);
    expect(&k, "sspush 20;invokestatic 3;", NULL, 0x9000, 20);
    vt_card_free(&k);
}

/* An exception thrown deep down (thr(-1), below 24 inline frames, a C
 * frame, more inline frames) reaches the handler of the call it
 * happened under: cat's for its second call, main's for cat's first;
 * thrown in the 64th frame it is still the ArithmeticException, one
 * frame deeper the call throws StackOverflowError, which main's handler
 * does not catch. */
static void test_exception_unwinds_to_its_call(void **state)
{
    (void)state;
    vt_card k;
    vt_card_new(&k, NULL);
    const char *h = "L1 L2 L3 13;";
    expect(&k, "L0: nop;L1: bspush 30;bspush 30;invokestatic 5;L2: goto L4;L3: pop;bspush 55;L4: nop;", h, 0x9000, 60);
    expect(&k, "L0: nop;L1: bspush 30;sconst_m1;invokestatic 5;L2: goto L4;L3: pop;bspush 55;L4: nop;", h, 0x9000, 130);
    expect(&k, "L0: nop;L1: bspush 5;bspush -40;invokestatic 5;L2: goto L4;L3: pop;bspush 55;L4: nop;", h, 0x9000, 105);
    expect(&k, "L0: nop;L1: bspush 40;bspush -1;invokestatic 5;L2: goto L4;L3: pop;bspush 55;L4: nop;", h, 0x9000, 140);
    expect(&k, "L0: nop;L1: sconst_m1;bspush 5;invokestatic 5;L2: goto L4;L3: pop;bspush 55;L4: nop;", h, 0x9000, 55);
    expect(&k, "L0: nop;L1: bspush -40;bspush 5;invokestatic 5;L2: goto L4;L3: pop;bspush 55;L4: nop;", h, 0x9000, 55);
    /* main + thr(-63) .. thr(-1): 64 frames, thr(-64) needs 65 */
    expect(&k, "L0: nop;L1: bspush -63;invokestatic 4;L2: goto L4;L3: pop;bspush 55;L4: nop;", h, 0x9000, 55);
    expect(&k, "L0: nop;L1: bspush -64;invokestatic 4;L2: goto L4;L3: pop;bspush 55;L4: nop;", h, 0x6F00, 0);
    expect(&k, "bspush 62;invokestatic 4;", NULL, 0x9000, 62);
    vt_card_free(&k);
}

/* The bytecode count across calls: one more level of recursion is 9
 * bytecodes (rec) or 10 (vrec, prec), whether the new frame is inline
 * or past a C call (levels 23..26, 48..51 cross the loops' 24 frames) */
static void test_budget_across_calls(void **state)
{
    (void)state;
    vt_card k;
    vt_card_new(&k, NULL);
    static const struct {
        const char *call;
        unsigned per_level;
    } kinds[] = { { "invokestatic 3;", 9 }, { "new invokevirtual 10;", 10 }, { "new invokevirtual 14;", 10 } };
    static const int levels[] = { 1, 2, 22, 23, 24, 25, 26, 40, 47, 48, 49, 50, 60 };
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        uint64_t base = bytecodes_of(&k, kinds[i].call, 0);
        for (size_t j = 0; j < sizeof levels / sizeof levels[0]; j++) {
            uint64_t got = bytecodes_of(&k, kinds[i].call, levels[j]) - base;
            if (got != (uint64_t)kinds[i].per_level * (unsigned)levels[j])
                fail_msg("%s level %d: %llu bytecodes more than level 0, expected %u", kinds[i].call, levels[j],
                         (unsigned long long)got, kinds[i].per_level * (unsigned)levels[j]);
        }
    }
    /* rec2(5, n): 10 a level (sload_1 ifne, then the 8 from L1), main's
     * body one bytecode longer than with rec */
    uint64_t base2 = 0;
    for (size_t j = 0; j < sizeof levels / sizeof levels[0]; j++) {
        char body[64];
        snprintf(body, sizeof body, "sconst_5;sspush %d;invokestatic 15;", levels[j]);
        uint64_t got = bytecodes_of_body(&k, body, (int16_t)(5 + levels[j]));
        if (j == 0)
            base2 = got - 10u * (unsigned)levels[0];
        else if (got - base2 != 10u * (unsigned)levels[j])
            fail_msg("rec2 level %d: %llu bytecodes more than level 0, expected %u", levels[j],
                     (unsigned long long)(got - base2), 10u * (unsigned)levels[j]);
        if (j == 0)
            assert_int_equal(got, bytecodes_of(&k, "invokestatic 3;", levels[0]) + 1 + 10 - 9);
    }
    /* a budget one short of what rec(60) runs ends it in 6F00; enough runs it */
    uint64_t used = bytecodes_of(&k, "invokestatic 3;", 60);
    vm_set_budget(k.rt, (uint32_t)used + 1);
    int16_t v = 0;
    assert_int_equal(run_body(&k, "sspush 60;invokestatic 3;", NULL, &v), 0x9000);
    assert_int_equal(v, 60);
    vm_set_budget(k.rt, (uint32_t)used - 9);
    assert_int_equal(run_body(&k, "sspush 60;invokestatic 3;", NULL, &v), 0x6F00);
    vt_card_free(&k);
}

/* Out of budget in inline frames, the fault record lists where it ran out
 * (in rec), then each caller at its call: rec's invokestatic at pc 8
 * (sload_0 ifne sconst_0 sreturn, L1: sload_0 sconst_1 ssub), main's at
 * pc 3 (after sspush's 3 bytes), in main's method, not rec's. */
static void test_budget_trail(void **state)
{
    (void)state;
    vt_card k;
    vt_card_new(&k, NULL);
    uint64_t used = bytecodes_of(&k, "invokestatic 3;", 10);
    vm_fault f;
    (void)vm_take_fault(k.rt, &f);
    vm_set_budget(k.rt, (uint32_t)used - 9);
    int16_t v = 0;
    assert_int_equal(run_body(&k, "sspush 10;invokestatic 3;", NULL, &v), 0x6F00);
    assert_int_equal(vm_take_fault(k.rt, &f), 1);
    assert_int_equal(f.kind, VM_FAULT_BUDGET);
    assert_true(f.n_frames >= 3 && f.n_frames <= 12 && !f.truncated);
    unsigned n = f.n_frames;
    for (unsigned i = 1; i + 1 < n; i++) {
        assert_int_equal(f.frames[i].method, f.frames[0].method);
        assert_int_equal(f.frames[i].pc, 8);
    }
    assert_int_not_equal(f.frames[n - 1].method, f.frames[0].method);
    assert_int_equal(f.frames[n - 1].pc, 3);
    vt_card_free(&k);
}

/* Guard returns (CAP_X_GRET: a compare of a local with a constant or zero
 * whose fall-through returns a local or a constant), both paths. Values:
 * fib as defined; big, sel and cnt on both sides of their compares,
 * negative values included (signed compares). Bytecodes: main's body is 16 (sspush,
 * invokestatic and VT_JCA_MAIN_ANSWER's 14, one run: no branch), fib(n) runs
 * F(n) = 5 for n < 2 (sload_0 sconst_2 if_scmpge, then sload_0 sreturn),
 * else 13 + F(n - 1) + F(n - 2). The budget is tested at method entries
 * and taken branches only (docs/vm.md "Budget"): at fib's entry (3, the run
 * up to if_scmpge) and its taken guard (10, the run at L1); the not-taken
 * guard charges 2 untested. So a command needing B bytecodes whose last
 * test saw T runs with any budget > T: fib(1) (B = 21, T = 19: fib's
 * entry) runs with 20 and stops with 19; fib(5) (B = 16 + 5 * 8 + 13 * 7
 * = 147, last test at the last leaf's entry, T = B - 2) runs with 146,
 * stops with 145; with 29 it stops at fib(5)'s taken guard (16 + 3 + 10 =
 * 29: the fault in fib, main its caller: 2 frames), with 30 at fib(4)'s
 * entry (32: 3 frames). */
static void test_guard_return(void **state)
{
    (void)state;
    vt_card k;
    vt_card_new(&k, NULL);
    static const int16_t fibs[] = { 0, 1, 1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144, 233, 377, 610 };
    uint32_t f[16];
    for (int n = 0; n < 16; n++) {
        f[n] = n < 2 ? 5u : 13u + f[n - 1] + f[n - 2];
        char body[64];
        snprintf(body, sizeof body, "sspush %d;invokestatic 16;", n);
        int16_t v = 0;
        assert_int_equal(run_body(&k, body, NULL, &v), 0x9000);
        assert_int_equal(v, fibs[n]);
        vm_stats st;
        vm_get_stats(k.rt, &st);
        if (st.last_bytecodes != 16u + f[n])
            fail_msg("fib(%d): %llu bytecodes, expected %u", n, (unsigned long long)st.last_bytecodes, 16u + f[n]);
    }
    /* fib(-5): the guard's not-taken path with a negative local */
    expect(&k, "bspush -5;invokestatic 16;", NULL, 0x9000, -5);
    static const struct { int16_t a, b, big, sel, cnt; } ab[] = {
        { 3, 9, 3, 3, 21 }, { 150, 9, -1, 150, 150 }, { 100, -2, 100, 100, 100 }, { -4, 2, -4, 2, 20 },
        { 0, 5, 0, 0, 21 }, { -300, 77, -300, 77, 21 }, { 20, 1, 20, 20, 20 }, { 19, 1, 19, 19, 22 },
        { 101, 6, -1, 101, 101 },
    };
    for (size_t i = 0; i < sizeof ab / sizeof ab[0]; i++) {
        char body[96];
        snprintf(body, sizeof body, "sspush %d;invokestatic 17;", ab[i].a);
        expect(&k, body, NULL, 0x9000, ab[i].big);
        snprintf(body, sizeof body, "sspush %d;sspush %d;invokestatic 18;", ab[i].a, ab[i].b);
        expect(&k, body, NULL, 0x9000, ab[i].sel);
        snprintf(body, sizeof body, "sspush %d;invokestatic 19;", ab[i].a);
        expect(&k, body, NULL, 0x9000, ab[i].cnt);
    }
    int16_t v = 0;
    vm_fault flt;
    vm_set_budget(k.rt, 20);
    assert_int_equal(run_body(&k, "sspush 1;invokestatic 16;", NULL, &v), 0x9000);
    assert_int_equal(v, 1);
    vm_set_budget(k.rt, 19);
    assert_int_equal(run_body(&k, "sspush 1;invokestatic 16;", NULL, &v), 0x6F00);
    assert_int_equal(16u + f[5], 147u);
    vm_set_budget(k.rt, 146);
    assert_int_equal(run_body(&k, "sspush 5;invokestatic 16;", NULL, &v), 0x9000);
    assert_int_equal(v, 5);
    vm_set_budget(k.rt, 145);
    assert_int_equal(run_body(&k, "sspush 5;invokestatic 16;", NULL, &v), 0x6F00);
    (void)vm_take_fault(k.rt, &flt);
    vm_set_budget(k.rt, 29);
    assert_int_equal(run_body(&k, "sspush 5;invokestatic 16;", NULL, &v), 0x6F00);
    assert_int_equal(vm_take_fault(k.rt, &flt), 1);
    assert_int_equal(flt.kind, VM_FAULT_BUDGET);
    assert_int_equal(flt.n_frames, 2);
    assert_int_not_equal(flt.frames[0].method, flt.frames[1].method);
    vm_set_budget(k.rt, 30);
    assert_int_equal(run_body(&k, "sspush 5;invokestatic 16;", NULL, &v), 0x6F00);
    assert_int_equal(vm_take_fault(k.rt, &flt), 1);
    assert_int_equal(flt.n_frames, 3);
    assert_int_equal(flt.frames[0].method, flt.frames[1].method);
    vt_card_free(&k);
}

/* C's own comparison, the oracle of the guard tests */
static int cond_holds(int cond, int32_t v, int32_t b)
{
    switch (cond) {
    case CAP_XC_EQ: return v == b;
    case CAP_XC_NE: return v != b;
    case CAP_XC_LT: return v < b;
    case CAP_XC_GE: return v >= b;
    case CAP_XC_GT: return v > b;
    default: return v <= b;
    }
}

/* cap_guard_range, the interval where a guard returns, against C's
 * comparisons: every condition, constants at both ends of int16_t and
 * around 0, every value. EQ (returns for all but b), GE -32768 and LE
 * 32767 (never return) have no interval. */
static void test_guard_range(void **state)
{
    (void)state;
    static const int16_t bs[] = { -32768, -32767, -2, -1, 0, 1, 2, 100, 32766, 32767 };
    for (int cond = 0; cond < CAP_XC_COUNT; cond++) {
        for (size_t i = 0; i < sizeof bs / sizeof bs[0]; i++) {
            uint16_t lo = 0, span = 0;
            int none = cond == CAP_XC_EQ || (cond == CAP_XC_GE && bs[i] == -32768) ||
                       (cond == CAP_XC_LE && bs[i] == 32767);
            int rc = cap_guard_range(cond, bs[i], &lo, &span);
            assert_int_equal(rc, none ? -1 : 0);
            if (rc != 0)
                continue;
            for (int32_t v = -32768; v <= 32767; v++) {
                int taken = (uint16_t)((uint16_t)v - lo) > span;
                if (taken != cond_holds(cond, v, bs[i]))
                    fail_msg("cond %d b %d v %d: taken %d", cond, bs[i], (int)v, taken);
            }
        }
    }
}

/* A guard first in g (x_CALLG_*: the call site evaluates it once the
 * call is quickened, so each call runs twice from a loop in main): g(v) =
 * v + 1 where `v cond b` holds (the branch to the body), else the guard
 * returns v, or 77 (a constant). Every condition (EQ has no guard op and
 * runs as compare and return: the same values), constants at the ends of
 * int16_t, the test against zero (`ifXX`) for b = 0, values on both
 * sides; the argument a constant, or a local plus a constant. Expected
 * values from C's comparisons; bytecodes counted from the code: main's
 * body before the loop (3, or 5 with the local), 6 (or 8) a pass, the
 * tail's 14; g's compare 3 (2 with ifXX), then 2 (returned) or 4. */
static void test_guard_call_site(void **state)
{
    (void)state;
    vt_card k;
    vt_card_new(&k, NULL);
    static const char *const cmp[] = { "if_scmpeq", "if_scmpne", "if_scmplt", "if_scmpge", "if_scmpgt", "if_scmple" };
    static const char *const zcmp[] = { "ifeq", "ifne", "iflt", "ifge", "ifgt", "ifle" };
    static const int16_t bs[] = { -32768, -1, 0, 2, 32767 };
    for (int cond = 0; cond < CAP_XC_COUNT; cond++) {
        for (size_t i = 0; i < sizeof bs / sizeof bs[0]; i++) {
            int16_t b = bs[i];
            for (int retc = 0; retc < 2; retc++) {
                char g[512];
                char test[64];
                if (b == 0)
                    snprintf(test, sizeof test, "sload_0;\n %s L1;\n", zcmp[cond]);
                else
                    snprintf(test, sizeof test, "sload_0;\n sspush %d;\n %s L1;\n", b, cmp[cond]);
                snprintf(g, sizeof g,
                         "  .method static g(S)S {\n   .stack 2;\n .locals 0;\n"
                         "   L0: %s %s\n sreturn;\n   L1: sload_0;\n sconst_1;\n sadd;\n sreturn;\n  }\n",
                         test, retc ? "bspush 77;" : "sload_0;");
                const int32_t vs[] = { b - 1, b, b + 1, -32768, 32767, 0, 5 };
                for (size_t j = 0; j < sizeof vs / sizeof vs[0]; j++) {
                    if (vs[j] < -32768 || vs[j] > 32767)
                        continue;
                    int16_t v = (int16_t)vs[j];
                    int taken = cond_holds(cond, v, b);
                    int16_t r = taken ? (int16_t)(v + 1) : retc ? 77 : v;
                    uint64_t per_call = (b == 0 ? 2u : 3u) + (taken ? 4u : 2u);
                    for (int lc = 0; lc < 2; lc++) {
                        char body[256];
                        if (lc)
                            snprintf(body, sizeof body,
                                     "sspush %d;sstore_1;sconst_0;sconst_2;sstore_2;"
                                     "L1: sload_1;sspush 3;sadd;invokestatic 20;sadd;sinc 2 -1;sload_2;ifne L1;",
                                     (int16_t)(v - 3));
                        else
                            snprintf(body, sizeof body,
                                     "sconst_0;sconst_2;sstore_2;"
                                     "L1: sspush %d;invokestatic 20;sadd;sinc 2 -1;sload_2;ifne L1;", v);
                        int16_t got = 0;
                        uint16_t sw = run_body_g(&k, body, NULL, g, &got);
                        if (sw != 0x9000 || got != (int16_t)(2 * r))
                            fail_msg("%s b %d v %d %s: SW %04X, %d, expected %d", cmp[cond], b, v,
                                     lc ? "local + 3" : "constant", sw, got, (int16_t)(2 * r));
                        vm_stats st;
                        vm_get_stats(k.rt, &st);
                        uint64_t want = (lc ? 5u : 3u) + 2u * ((lc ? 8u : 6u) + per_call) + 14u;
                        if (st.last_bytecodes != want)
                            fail_msg("%s b %d v %d: %llu bytecodes, expected %llu", cmp[cond], b, v,
                                     (unsigned long long)st.last_bytecodes, (unsigned long long)want);
                    }
                }
            }
        }
    }
    vt_card_free(&k);
}

/* g2(k, n) = g2(k + 1, n - 1), g2(k, 0) = k: two arguments, the guard on
 * the last (pending at the call: k + 1 is pushed), the first returned,
 * so the call site reads it from the callee's locals; 10 bytecodes a
 * level (sload_1 ifne, then 8 from L1), 4 at 0. main + g2(k, 62) ..
 * g2(k, 0) is 64 frames; with n = 63 the last call, a guard that would
 * return at the call site, still needs a 65th: StackOverflowError. */
static void test_guard_call_site_arguments(void **state)
{
    (void)state;
    vt_card k;
    vt_card_new(&k, NULL);
    static const int levels[] = { 0, 1, 2, 5, 23, 24, 25, 40, 62 };
    uint64_t base = 0;
    for (size_t j = 0; j < sizeof levels / sizeof levels[0]; j++) {
        char body[64];
        snprintf(body, sizeof body, "sspush -300;sspush %d;invokestatic 21;", levels[j]);
        uint64_t got = bytecodes_of_body(&k, body, (int16_t)(-300 + levels[j]));
        if (j == 0)
            base = got;
        else if (got - base != 10u * (unsigned)levels[j])
            fail_msg("g2 level %d: %llu bytecodes more than level 0, expected %u", levels[j],
                     (unsigned long long)(got - base), 10u * (unsigned)levels[j]);
    }
    expect(&k, "L0: nop;L1: sspush 9;sspush 63;invokestatic 21;L2: goto L4;L3: pop;bspush 77;L4: nop;", "L1 L2 L3 0;",
           0x9000, 77);
    expect(&k, "sspush 9;sspush 63;invokestatic 21;", NULL, 0x6F00, 0);
    expect(&k, "sspush 9;sspush 62;invokestatic 21;", NULL, 0x9000, 71);
    vt_card_free(&k);
}

/* The budget where a call site evaluates the guard (see test_guard_return
 * for the charges: main 16, fib's entry 3, its taken guard 10): fib(5)
 * calls fib(4) from its first call op, which quickens it, so fib(4)'s
 * call of fib(3) and every deeper call of that op are the call site's.
 * A command stops where the running count reaches the budget: with 30..32
 * at fib(4)'s entry (a plain call, 3 frames), 33..42 at fib(4)'s taken
 * guard, 43..45 at fib(3)'s entry (the call site, its guard taken: 4
 * frames), 46..55 at fib(3)'s taken guard, 56..58 at fib(2)'s entry,
 * 59..68 at its taken guard, 69..71 at fib(1)'s entry (the call site,
 * the guard returning: 6 frames). A stop at an entry records fib's first
 * op, at a taken guard the op at its target, in fib, whichever call made
 * the frame: the same method and pc as the plain call's. */
static void test_guard_call_site_budget(void **state)
{
    (void)state;
    vt_card k;
    vt_card_new(&k, NULL);
    static const struct { uint32_t from, to; unsigned frames; int entry; } stops[] = {
        { 30, 32, 3, 1 }, { 33, 42, 3, 0 }, { 43, 45, 4, 1 }, { 46, 55, 4, 0 },
        { 56, 58, 5, 1 }, { 59, 68, 5, 0 }, { 69, 71, 6, 1 },
    };
    vm_fault ref[2];
    for (size_t i = 0; i < sizeof stops / sizeof stops[0]; i++) {
        for (uint32_t b = stops[i].from; b <= stops[i].to; b++) {
            int16_t v = 0;
            vm_fault f;
            (void)vm_take_fault(k.rt, &f);
            vm_set_budget(k.rt, b);
            assert_int_equal(run_body(&k, "sspush 5;invokestatic 16;", NULL, &v), 0x6F00);
            assert_int_equal(vm_take_fault(k.rt, &f), 1);
            assert_int_equal(f.kind, VM_FAULT_BUDGET);
            if (f.n_frames != stops[i].frames)
                fail_msg("budget %u: %u frames, expected %u", b, f.n_frames, stops[i].frames);
            for (unsigned j = 1; j + 1 < f.n_frames; j++)
                assert_int_equal(f.frames[j].method, f.frames[0].method);
            assert_int_not_equal(f.frames[f.n_frames - 1].method, f.frames[0].method);
            if (i < 2) {
                ref[stops[i].entry] = f;
            } else {
                assert_int_equal(f.frames[0].method, ref[stops[i].entry].frames[0].method);
                assert_int_equal(f.frames[0].pc, ref[stops[i].entry].frames[0].pc);
            }
        }
    }
    assert_int_not_equal(ref[0].frames[0].pc, ref[1].frames[0].pc);
    vt_card_free(&k);
}

/* Locals are not zeroed at a call: the verifier types a local unusable
 * until a store (cap_verify_code.c, T_TOP), so a method that
 * writes before it reads answers the same whatever junk() left in the
 * stack words below; one that could read an unset local is refused. */
static void test_locals_written_before_read(void **state)
{
    (void)state;
    vt_card k;
    vt_card_new(&k, NULL);
    expect(&k, "invokestatic 6;bspush 5;invokestatic 7;", NULL, 0x9000, 10);
    expect(&k, "invokestatic 6;bspush 8;invokestatic 7;invokestatic 6;bspush 5;invokestatic 7;sadd;", NULL, 0x9000,
           38);
    vt_card_free(&k);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_frame_limit),
        cmocka_unit_test(test_stack_space),
        cmocka_unit_test(test_exception_unwinds_to_its_call),
        cmocka_unit_test(test_budget_across_calls),
        cmocka_unit_test(test_budget_trail),
        cmocka_unit_test(test_locals_written_before_read),
        cmocka_unit_test(test_guard_return),
        cmocka_unit_test(test_guard_range),
        cmocka_unit_test(test_guard_call_site),
        cmocka_unit_test(test_guard_call_site_budget),
        cmocka_unit_test(test_guard_call_site_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
