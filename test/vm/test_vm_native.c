/*
 * test_vm_native.c — loop regions run as machine code (vm/cap_jit.h)
 * answer what the dispatch loop answers: the same SW and value, the same
 * bytecode count, the same uncaught exception (class, method, pc), and,
 * under every budget, the same stop (method, pc, frames). The loop is
 * the reference: its own tests hold it to the JCVM specification
 * (test_vm_opcodes.c, test_vm_calls.c) and to the corpus checksums that
 * jCardSim, Lua and C agree on (bench_corpus --check).
 *
 * Each case is main's body, in loops that the translator makes regions
 * of (element ops, no call inside): every binop (shifts by a local and by
 * a constant, divisions by a constant), every compare form, element
 * compares, byte, boolean and short arrays in RAM (transient arrays, the
 * APDU buffer), stores into a persistent array (NVM: the loop runs them),
 * exceptions thrown inside a region (caught outside it or not), a return
 * from inside a region, registers written back around the array checks.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "cap_jit.h"
#include "vmtest.h"

static const uint8_t PKG_AID[] = { 0xA0, 0x00, 0x00, 0x00, 0xFF, 0x00, 0x32 };

/* Constant pool: 0 APDU.getBuffer 1 APDU.setOutgoingAndSend 2 Util.setShort
 * 3 JCSystem.makeTransientShortArray 4 JCSystem.makeTransientBooleanArray
 * 5 JCSystem.makeTransientByteArray 6 Main.find([SS)S 7 class W
 * 8 W.<init> 9 W.walk(S)S 10 W.arr 11 W.k 12 W.b 13 Object.<init>.
 * Locals of main: 0 apdu, 1 result, 2 buffer, 3..7 the body's. */
static const char *PKG_HEAD =
    ".package cardvm/nativetest {\n"
    " .aid 0xA0:0x0:0x0:0x0:0xFF:0x0:0x32;\n"
    " .version 1.0;\n"
    " .imports {\n"
    VT_JCA_IMPORT_FRAMEWORK_LANG
    " }\n"
    " .constantPool {\n"
    VT_JCA_CP_APDU_IO
    "  staticMethodRef 0.8.15(SB)[S;\n"
    "  staticMethodRef 0.8.12(SB)[Z;\n"
    "  staticMethodRef 0.8.13(SB)[B;\n"
    "  staticMethodRef Main/find([SS)S;\n"
    "  classRef W;\n"
    "  staticMethodRef W/<init>()V;\n"
    "  virtualMethodRef W/walk(S)S;\n"
    "  instanceFieldRef short[] W/arr;\n"
    "  instanceFieldRef short W/k;\n"
    "  instanceFieldRef byte W/b;\n"
    "  staticMethodRef 1.0.0()V;\n"
    "   .descriptor Ljavacard/framework/APDU; 0.10;\n"
    " }\n"
    " .class public Main 0 extends 1.0 {\n"
    VT_JCA_OBJECT_METHOD_TABLES
    "  .method public static main(Ljavacard/framework/APDU;)V 0 {\n"
    "   .stack 8;\n"
    "   .locals 7;\n"
    "   .descriptor Ljavacard/framework/APDU; 0.10;\n";


/* find(a, key): a binary search whose hit returns from inside its loop */
static const char *PKG_TAIL =
    "  .method static find([SS)S {\n"
    "   .stack 3;\n .locals 4;\n"
    "   L0: sconst_0;\n sstore_2;\n aload_0;\n arraylength;\n sconst_1;\n ssub;\n sstore_3;\n"
    "   L1: sload_2;\n sload_3;\n if_scmpgt L5;\n"
    "   sload_2;\n sload_3;\n sadd;\n sconst_1;\n sshr;\n sstore 4;\n"
    "   aload_0;\n sload 4;\n saload;\n sstore 5;\n"
    "   sload 5;\n sload_1;\n if_scmpne L2;\n sload 4;\n sreturn;\n"
    "   L2: sload 5;\n sload_1;\n if_scmpgt L3;\n sload 4;\n sconst_1;\n sadd;\n sstore_2;\n goto L1;\n"
    "   L3: sload 4;\n sconst_1;\n ssub;\n sstore_3;\n goto L1;\n"
    "   L5: sload_2;\n sconst_1;\n sadd;\n sneg;\n sreturn;\n"
    "  }\n"
    " }\n"
    " .class W extends 1.0 {\n"
    "  .fields {\n"
    "   short[] arr 0;\n"
    "   short k 1;\n"
    "   byte b 2;\n"
    "  }\n"
    "  .publicMethodTable 1 {\n"
    "   equals(Ljava/lang/Object;)Z;\n"
    "   walk(S)S;\n"
    "  }\n"
    "  .packageMethodTable 0 {\n"
    "  }\n"
    "  .method <init>()V {\n"
    "   .stack 4;\n .locals 0;\n"
    "   L0: aload_0;\n invokespecial 13;\n aload_0;\n bspush 16;\n sconst_1;\n invokestatic 3;\n putfield_a_this 10;\n"
    "   aload_0;\n sspush 1234;\n putfield_s_this 11;\n aload_0;\n bspush -7;\n putfield_b_this 12;\n return;\n"
    "  }\n"
    "  .method public walk(S)S 1 {\n"
    "   .stack 5;\n .locals 2;\n"
    "   L0: sconst_0;\n sstore_2;\n sconst_0;\n sstore_3;\n"
    "   L1: sload_2;\n bspush 16;\n if_scmpge L2;\n"
    "   getfield_a_this 10;\n sload_2;\n sload_2;\n getfield_s_this 11;\n smul;\n sload_1;\n sadd;\n sastore;\n"
    "   sload_3;\n getfield_a_this 10;\n sload_2;\n saload;\n sadd;\n getfield_b_this 12;\n sxor;\n sstore_3;\n"
    "   sinc 2 1;\n goto L1;\n"
    "   L2: sload_3;\n sreturn;\n"
    "  }\n"
    " }\n"
    "}\n";

/* the value computing part of each case */
static const char *FILL =   /* local 3: a transient short[64] of x = x * 25173 + 13849 mixed */
    "sspush 64;sconst_1;invokestatic 3;astore_3;"
    "sconst_0;sstore 4;sspush 10775;sstore 5;"
    "L1: sload 4;bspush 64;if_scmpge L2;"
    "sload 5;sspush 25173;smul;sspush 13849;sadd;sstore 5;"
    "aload_3;sload 4;sload 5;bspush 5;sshl;sload 5;sconst_3;sshr;sxor;sload 5;sconst_2;sushr;sor;sastore;"
    "sinc 4 1;goto L1;"
    "L2: nop;";

static const struct {
    const char *name;
    const char *body;       /* after FILL when fill */
    const char *handlers;
    int fill;
} CASES[] = {
    { "binops and compares",
      "sconst_0;sstore 6;sconst_0;sstore 4;"
      "L3: sload 4;bspush 64;if_scmpge_w L4;"
      "aload_3;sload 4;saload;sstore 5;"
      "sload 5;ifge L5;sload 6;sload 5;bspush 7;srem;sadd;sstore 6;goto L6;"
      "L5: sload 6;sload 5;bspush 3;sdiv;sxor;sstore 6;"
      "L6: sload 6;bspush 31;smul;sload 5;sand;sload 6;sadd;sstore 6;"
      "sload 6;sload 4;sshl;sload 5;sload 4;sushr;sor;sload 6;ssub;sstore 6;"
      "aload_3;sload 4;saload;sload 6;if_scmple L7;sinc 6 1;"
      "L7: aload_3;sload 4;saload;ifne L8;sinc 6 5;"
      "L8: sload 4;bspush 10;if_scmpne L9;sinc 6 3;"
      "L9: sload 4;bspush 20;if_scmpgt L10;sload 6;sconst_1;sxor;sstore 6;"
      "L10: sload 6;ifle L11;sload 6;sconst_1;sshr;sstore 6;"
      "L11: bspush 9;sstore 7;sconst_1;aload_3;sload 4;saload;ssub;sload 7;sadd;sstore 7;"
      "bspush 3;sneg;sload 7;sadd;sstore 7;sload 5;sneg;sstore 7;sload 6;sstore 5;sload 7;sload 5;sadd;sstore 6;"
      "aload_3;sload 4;saload;dup;sadd;sload 6;sxor;sstore 6;aload_3;sload 4;saload;pop;"
      "sload 4;sload 6;sadd;aload_3;sload 4;saload;smul;sload 6;sadd;sstore 6;"
      "sinc 4 1;goto_w L3;"
      "L4: sload 6;",
      NULL, 1 },
    { "element compares and index sums",
      "sconst_0;sstore 6;sconst_0;sstore 4;"
      "L3: sload 4;aload_3;arraylength;sconst_1;ssub;if_scmpge L4;"
      "aload_3;sload 4;dup2;saload;sload 6;sxor;sastore;"
      "aload_3;sload 4;saload;aload_3;sload 4;sconst_1;sadd;saload;if_scmplt L5;sinc 6 1;"
      "L5: aload_3;sload 4;sconst_1;sadd;saload;sload 6;if_scmpge L6;sinc 6 2;"
      "L6: aload_3;sload 4;saload;bspush 100;if_scmpeq L7;sinc 6 3;"
      "L7: sinc 4 1;goto L3;"
      "L4: sload 6;",
      NULL, 1 },
    { "bytes, booleans and the APDU buffer",
      "aload_0;invokevirtual 0;astore_3;bspush 8;sconst_1;invokestatic 4;astore 4;"
      "sconst_0;sstore 5;"
      "L1: sload 5;bspush 32;if_scmpge L2;"
      "aload_3;sload 5;sload 5;bspush 7;smul;bspush 100;ssub;s2b;bastore;"
      "aload 4;sload 5;sconst_3;sand;sload 5;s2b;bastore;"
      "sinc 5 1;goto L1;"
      "L2: sconst_0;sstore 6;sconst_0;sstore 5;"
      "L3: sload 5;bspush 32;if_scmpge L4;"
      "sload 6;aload_3;sload 5;baload;sadd;aload_3;sload 5;baload;sspush 255;sand;sxor;sstore 6;"
      "sload 6;aload 4;sload 5;sconst_3;sand;baload;sadd;sstore 6;"
      "sinc 5 1;goto L3;"
      "L4: sload 6;",
      NULL, 0 },
    { "stores into a persistent array (NVM: the loop runs them)",
      "bspush 16;newarray 12;astore 4;sconst_0;sstore 5;"
      "L3: sload 5;bspush 16;if_scmpge L4;"
      "aload 4;sload 5;aload_3;sload 5;saload;sload 5;sadd;sastore;"
      "sinc 5 1;goto L3;"
      "L4: sconst_0;sstore 6;sconst_0;sstore 5;"
      "L5: sload 5;bspush 16;if_scmpge L6;"
      "sload 6;aload 4;sload 5;saload;sxor;sstore 6;sinc 5 1;goto L5;"
      "L6: sload 6;",
      NULL, 1 },
    { "an index out of bounds inside a region, caught outside it",
      "sconst_0;sstore 6;sconst_0;sstore 4;"
      "L10: nop;"
      "L3: sload 4;bspush 70;if_scmpge L4;"
      "sload 6;aload_3;sload 4;saload;sadd;sstore 6;sinc 4 1;goto L3;"
      "L4: nop;"
      "L11: goto L12;"
      "L13: pop;sload 6;sload 4;sadd;sstore 6;"
      "L12: sload 6;",
      "L10 L11 L13 0;", 1 },
    { "an index out of bounds inside a region, not caught",
      "sconst_0;sstore 6;sconst_0;sstore 4;"
      "L3: sload 4;bspush 70;if_scmpge L4;"
      "sload 6;aload_3;sload 4;saload;sadd;sstore 6;sinc 4 1;goto L3;"
      "L4: sload 6;",
      NULL, 1 },
    { "a null array inside a region",
      "aconst_null;astore 4;sconst_0;sstore 6;sconst_0;sstore 5;"
      "L3: sload 5;bspush 8;if_scmpge L4;"
      "sload 6;aload_3;sload 5;saload;sadd;sstore 6;"
      "sload 5;bspush 5;if_scmplt L5;aload 4;sload 5;sload 6;sastore;"
      "L5: sinc 5 1;goto L3;"
      "L4: sload 6;",
      NULL, 1 },
    { "fields of this and arrays from them (an instance method's loop)",
      "new 7;dup;invokespecial 8;astore_3;aload_3;bspush 5;invokevirtual 9;aload_3;sspush 300;invokevirtual 9;sadd;",
      NULL, 0 },
    { "a return from inside a region (binary search)",
      "sconst_0;sstore 6;sconst_0;sstore 4;"
      "L3: sload 4;bspush 64;if_scmpge L4;"
      "aload_3;sload 4;saload;sstore 5;aload_3;sload 5;invokestatic 6;sload 6;sadd;sstore 6;"
      "sinc 4 9;goto L3;"
      "L4: sload 6;",
      NULL, 1 },
};


typedef struct outcome {
    uint16_t sw;
    int16_t v;
    uint64_t bytecodes;
    uint64_t native_entries;   /* regions entered as machine code */
    int has_fault;
    vm_fault fault;
} outcome;

/* The case's package, assembled. */
static void assemble(const char *body, const char *handlers, int fill, uint8_t **blob, size_t *len)
{
    size_t cap = strlen(PKG_HEAD) + strlen(PKG_TAIL) +
                 2 * (strlen(FILL) + strlen(body) + strlen(VT_JCA_MAIN_ANSWER) + (handlers ? strlen(handlers) : 0)) +
                 256;
    char *src = malloc(cap);
    assert_non_null(src);
    snprintf(src, cap, "%sL0: ", PKG_HEAD);
    if (fill)
        vt_put_statements(src, cap, FILL);
    vt_put_statements(src, cap, body);
    vt_put_statements(src, cap, VT_JCA_MAIN_ANSWER);
    if (handlers) {
        strcat(src, "   .exceptionTable {\n");
        vt_put_statements(src, cap, handlers);
        strcat(src, "   }\n");
    }
    strcat(src, "  }\n");
    strcat(src, PKG_TAIL);
    vt_jca(src, "nativetest.jca", blob, len);
    free(src);
}

/* Load the package fresh (the objects of its last run go with it), run
 * main with the given mode and budget. */
static outcome run_case(vt_card *k, const uint8_t *blob, size_t len, int native, uint32_t budget)
{
    vm_delete_package(k->rt, PKG_AID, sizeof PKG_AID);
    vm_set_native(k->rt, native);
    char err[512] = "";
    int rc = vm_load_package(k->rt, blob, len, 0, err, sizeof err);
    if (rc != VM_OK)
        fail_msg("load: %s %s", vm_strerror(rc), err);
    vm_fault f;
    (void)vm_take_fault(k->rt, &f);
    vm_set_budget(k->rt, budget);
    uint8_t apdu[] = { 0x80, 0x01, 0x00, 0x00, 0x00 };
    uint8_t resp[300];
    size_t rlen = 0;
    outcome o;
    memset(&o, 0, sizeof o);
    vm_stats st;
    vm_get_stats(k->rt, &st);
    uint64_t entries_before = st.native_entries;
    o.sw = vt_invoke(k, PKG_AID, sizeof PKG_AID, 0, apdu, sizeof apdu, resp, &rlen, NULL);
    o.v = rlen == 2 ? (int16_t)(resp[0] << 8 | resp[1]) : 0;
    vm_get_stats(k->rt, &st);
    o.bytecodes = st.last_bytecodes;
    o.native_entries = st.native_entries - entries_before;
    o.has_fault = vm_take_fault(k->rt, &o.fault);
    vm_set_budget(k->rt, 10000000u);
    return o;
}

static void same(const char *name, uint32_t budget, const outcome *n, const outcome *l)
{
    if (n->sw != l->sw || n->v != l->v || n->bytecodes != l->bytecodes || n->has_fault != l->has_fault)
        fail_msg("%s, budget %u: native SW %04X value %d bytecodes %llu fault %d; loop SW %04X value %d bytecodes "
                 "%llu fault %d",
                 name, budget, n->sw, n->v, (unsigned long long)n->bytecodes, n->has_fault, l->sw, l->v,
                 (unsigned long long)l->bytecodes, l->has_fault);
    if (!n->has_fault)
        return;
    const vm_fault *a = &n->fault, *b = &l->fault;
    if (a->kind != b->kind || strcmp(a->exc_class, b->exc_class) || a->n_frames != b->n_frames)
        fail_msg("%s, budget %u: fault kind %u %s %u frames; loop %u %s %u frames", name, budget, a->kind,
                 a->exc_class, a->n_frames, b->kind, b->exc_class, b->n_frames);
    for (unsigned j = 0; j < a->n_frames; j++)
        if (a->frames[j].method != b->frames[j].method || a->frames[j].pc != b->frames[j].pc)
            fail_msg("%s, budget %u: frame %u at %u:%u; loop %u:%u", name, budget, j, a->frames[j].method,
                     a->frames[j].pc, b->frames[j].method, b->frames[j].pc);
}

/* Each case under the default budget, then under every budget up to
 * the bytecodes it runs: each stop point of the loop, inside and outside
 * the regions */
static void test_same_as_the_loop(void **state)
{
    (void)state;
    if (!cap_jit_available())
        skip();
    vt_card k;
    vt_card_new(&k, NULL);
    for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++) {
        uint8_t *blob;
        size_t len;
        assemble(CASES[i].body, CASES[i].handlers, CASES[i].fill, &blob, &len);
        outcome n = run_case(&k, blob, len, 1, 10000000u);
        outcome l = run_case(&k, blob, len, 0, 10000000u);
        same(CASES[i].name, 10000000u, &n, &l);
        /* the case ran machine code, and the loop none */
        if (n.native_entries == 0 || l.native_entries != 0)
            fail_msg("%s: %llu regions entered as machine code, %llu with native off", CASES[i].name,
                     (unsigned long long)n.native_entries, (unsigned long long)l.native_entries);
        printf("# %s: SW %04X value %d, %llu bytecodes, %llu native region entries\n", CASES[i].name, n.sw, n.v,
               (unsigned long long)n.bytecodes, (unsigned long long)n.native_entries);
        for (uint32_t b = 1; b <= l.bytecodes + 1; b++) {
            outcome nb = run_case(&k, blob, len, 1, b);
            outcome lb = run_case(&k, blob, len, 0, b);
            same(CASES[i].name, b, &nb, &lb);
        }
        free(blob);
    }
    vt_card_free(&k);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_as_the_loop),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
