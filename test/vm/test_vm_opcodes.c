/*
 * test_vm_opcodes.c — the Java Card VM instructions (JCVM 3.0.5 ch. 7) on
 * the CAP engine, one small CAP package per case with edge values. Each
 * case is the body of a static method of a JCA package (below): it leaves a
 * short on the stack, which the method sends back as two bytes, or it ends
 * in an uncaught exception and its status word (6F00, or an ISOException's
 * reason). A few bodies are not type-correct: the on-card verifier must
 * refuse them at load (a forged reference, a byte array read as shorts,
 * ...). The expected values are worked out from the instructions'
 * definitions in ch. 7 (16-bit two's complement arithmetic, shift counts
 * taken from their low five bits, ...), never from the VM's own output.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "vmtest.h"

static const uint8_t PKG_AID[] = { 0xA0, 0x00, 0x00, 0x00, 0xFF, 0x00, 0x01 };

/* The package around each case. Constant pool (the case bodies use these
 * indexes):
 *   0 APDU.getBuffer  1 APDU.setOutgoingAndSend  2 Util.setShort
 *   3 class T  4 class U (extends T)  5 T.<init>  6 U.<init>
 *   7 short T.a  8 byte T.b  9 short U.c
 *  10 static short st (0)  11 static short st2 (7)  12 static byte sb
 *  13 ArithmeticException  14 NullPointerException  15 RuntimeException
 *  16 ISOException  17 ISOException.throwIt  18 CardRuntimeException.getReason
 *  19 JCSystem.makeTransientByteArray  20 add(SS)S  21 fact(S)S  22 down(S)S
 *  23 T.who()S (T 1, U 10)  24 boom()S (NullPointerException)
 *  25 class X (extends Exception)  26 X.<init>  27 Exception
 *  28 Object.<init>  29 Exception.<init>  30 T.getB()S (getfield_b_this)
 *  31 static T tref  32 short[] T.arr  33 mkT()LT; (areturn)
 *  34 interface I (val()S: T 3, U 30)  35 ArrayStoreException
 *  36 ArrayIndexOutOfBoundsException  37 NegativeArraySizeException
 *  38 ClassCastException
 * T.<init> sets a = 55, b = 66. Locals of main: 0 apdu, 1 result, 2 buffer,
 * 3..11 free for the case. */
static const char *PKG_HEAD =
    ".package cardvm/optest {\n"
    " .aid 0xA0:0x0:0x0:0x0:0xFF:0x0:0x1;\n"
    " .version 1.0;\n"
    " .imports {\n"
    VT_JCA_IMPORT_FRAMEWORK_LANG
    " }\n"
    " .constantPool {\n"
    VT_JCA_CP_APDU_IO
    "  classRef T;\n"
    "  classRef U;\n"
    "  staticMethodRef T/<init>()V;\n"
    "  staticMethodRef U/<init>()V;\n"
    "  instanceFieldRef short T/a;\n"
    "  instanceFieldRef byte T/b;\n"
    "  instanceFieldRef short U/c;\n"
    "  staticFieldRef short Main/st;\n"
    "  staticFieldRef short Main/st2;\n"
    "  staticFieldRef byte Main/sb;\n"
    "  classRef 1.9;\n"
    "  classRef 1.7;\n"
    "  classRef 1.3;\n"
    "  classRef 0.7;\n"
    "  staticMethodRef 0.7.1(S)V;\n"
    "  virtualMethodRef 0.5.1()S;\n"
    "  staticMethodRef 0.8.13(SB)[B;\n"
    "  staticMethodRef Main/add(SS)S;\n"
    "  staticMethodRef Main/fact(S)S;\n"
    "  staticMethodRef Main/down(S)S;\n"
    "  virtualMethodRef T/who()S;\n"
    "  staticMethodRef Main/boom()S;\n"
    "  classRef X;\n"
    "  staticMethodRef X/<init>()V;\n"
    "  classRef 1.2;\n"
    "  staticMethodRef 1.0.0()V;\n"
    "  staticMethodRef 1.2.0()V;\n"
    "  virtualMethodRef T/getB()S;\n"
    "  staticFieldRef T Main/tref;\n"
    "  instanceFieldRef short[] T/arr;\n"
    "  staticMethodRef Main/mkT()Lcardvm/optest/T;;\n"
    "  classRef I;\n"
    "  classRef 1.11;\n"
    "  classRef 1.5;\n"
    "  classRef 1.6;\n"
    "  classRef 1.8;\n"
    "   .descriptor Ljavacard/framework/APDU; 0.10;\n"
    " }\n"
    " .interface abstract I {\n"
    "  .method public abstract val()S 0 {\n"
    "  }\n"
    " }\n"
    " .class public Main 0 extends 1.0 {\n"
    "  .fields {\n"
    "   static T tref;\n"
    "   static short st;\n"
    "   static byte sb;\n"
    "   static short st2 = 7;\n"
    "  }\n"
    VT_JCA_OBJECT_METHOD_TABLES
    "  .method public static main(Ljavacard/framework/APDU;)V 0 {\n"
    "   .stack 8;\n"
    "   .locals 11;\n"
    "   .descriptor Ljavacard/framework/APDU; 0.10;\n";

/* after the case's body: the short on the stack goes out as two bytes */

static const char *PKG_TAIL =
    "  .method static add(SS)S {\n"
    "   .stack 2;\n .locals 0;\n"
    "   L0: sload_0;\n sload_1;\n sadd;\n sreturn;\n"
    "  }\n"
    "  .method static fact(S)S {\n"
    "   .stack 3;\n .locals 0;\n"
    "   L0: sload_0;\n sconst_1;\n if_scmpgt L1;\n sconst_1;\n sreturn;\n"
    "   L1: sload_0;\n sload_0;\n sconst_1;\n ssub;\n invokestatic 21;\n smul;\n sreturn;\n"
    "  }\n"
    "  .method static down(S)S {\n"
    "   .stack 2;\n .locals 0;\n"
    "   L0: sload_0;\n sconst_1;\n sadd;\n invokestatic 22;\n sreturn;\n"
    "  }\n"
    "  .method static boom()S {\n"
    "   .stack 1;\n .locals 0;\n"
    "   L0: aconst_null;\n arraylength;\n sreturn;\n"
    "  }\n"
    "  .method static mkT()Lcardvm/optest/T; {\n"
    "   .stack 2;\n .locals 0;\n"
    "   L0: new 3;\n dup;\n invokespecial 5;\n areturn;\n"
    "  }\n"
    " }\n"
    " .class T extends 1.0 {\n"
    "  .fields {\n"
    "   short[] arr 0;\n"
    "   short a 1;\n"
    "   byte b 2;\n"
    "  }\n"
    "  .publicMethodTable 1 {\n"
    "   equals(Ljava/lang/Object;)Z;\n"
    "   who()S;\n"
    "   getB()S;\n"
    "   val()S;\n"
    "  }\n"
    "  .packageMethodTable 0 {\n"
    "  }\n"
    "  .implementedInterfaceInfoTable {\n"
    "   .interface I {\n"
    "    3;\n"
    "   }\n"
    "  }\n"
    "  .method <init>()V {\n"
    "   .stack 2;\n .locals 0;\n"
    "   L0: aload_0;\n invokespecial 28;\n bspush 55;\n putfield_s_this 7;\n bspush 66;\n putfield_b_this 8;\n"
    "   return;\n"
    "  }\n"
    "  .method public who()S 1 {\n"
    "   .stack 1;\n .locals 0;\n"
    "   L0: sconst_1;\n sreturn;\n"
    "  }\n"
    "  .method public getB()S 2 {\n"
    "   .stack 1;\n .locals 0;\n"
    "   L0: getfield_b_this 8;\n sreturn;\n"
    "  }\n"
    "  .method public val()S 3 {\n"
    "   .stack 1;\n .locals 0;\n"
    "   L0: sconst_3;\n sreturn;\n"
    "  }\n"
    " }\n"
    " .class U extends T {\n"
    "  .fields {\n"
    "   short c 0;\n"
    "  }\n"
    "  .publicMethodTable 1 {\n"
    "   equals(Ljava/lang/Object;)Z;\n"
    "   who()S;\n"
    "   getB()S;\n"
    "   val()S;\n"
    "  }\n"
    "  .packageMethodTable 0 {\n"
    "  }\n"
    "  .implementedInterfaceInfoTable {\n"
    "   .interface I {\n"
    "    3;\n"
    "   }\n"
    "  }\n"
    "  .method <init>()V {\n"
    "   .stack 1;\n .locals 0;\n"
    "   L0: aload_0;\n invokespecial 5;\n return;\n"
    "  }\n"
    "  .method public who()S 1 {\n"
    "   .stack 1;\n .locals 0;\n"
    "   L0: bspush 10;\n sreturn;\n"
    "  }\n"
    "  .method public val()S 3 {\n"
    "   .stack 1;\n .locals 0;\n"
    "   L0: bspush 30;\n sreturn;\n"
    "  }\n"
    " }\n"
    " .class X extends 1.2 {\n"
    VT_JCA_OBJECT_METHOD_TABLES
    "  .method <init>()V {\n"
    "   .stack 1;\n .locals 0;\n"
    "   L0: aload_0;\n invokespecial 29;\n return;\n"
    "  }\n"
    " }\n"
    "}\n";

enum { REFUSED = 0 };   /* sw: the verifier must refuse the package */

typedef struct op_case {
    const char *name;
    const char *body;       /* statements separated by ';' */
    const char *handlers;   /* main's exception table: "START END HANDLER CATCH_CP;" */
    int sw;                 /* 0x9000: expect `value`; REFUSED: load refused */
    int value;
} op_case;


static char *case_source(const op_case *c)
{
    size_t cap = strlen(PKG_HEAD) + strlen(PKG_TAIL) + 2 * (strlen(c->body) + strlen(VT_JCA_MAIN_ANSWER)) +
                 2 * (c->handlers ? strlen(c->handlers) : 0) + 256;
    char *src = malloc(cap);
    assert_non_null(src);
    snprintf(src, cap, "%s", PKG_HEAD);
    /* the first statement carries label L0 unless the body starts with one */
    if (c->body[0] != 'L')
        strcat(src, "L0: ");
    vt_put_statements(src, cap, c->body);
    vt_put_statements(src, cap, VT_JCA_MAIN_ANSWER);
    if (c->handlers) {
        strcat(src, "   .exceptionTable {\n");
        vt_put_statements(src, cap, c->handlers);
        strcat(src, "   }\n");
    }
    strcat(src, "  }\n");
    strcat(src, PKG_TAIL);
    return src;
}

/* Run one case: the SW (0 when the load was refused), value in *v. */
static uint16_t run_case(vt_card *k, const op_case *c, int16_t *v)
{
    char *src = case_source(c);
    uint8_t *blob;
    size_t len;
    vt_jca(src, c->name, &blob, &len);
    free(src);
    vm_delete_package(k->rt, PKG_AID, sizeof PKG_AID);
    char err[512] = "";
    int rc = vm_load_package(k->rt, blob, len, 0, err, sizeof err);
    free(blob);
    if (rc == VM_ERR_VERIFY) {
        if (c->sw != REFUSED)
            print_error("case %s: %s\n", c->name, err);
        return REFUSED;
    }
    if (rc != VM_OK)
        fail_msg("%s: load: %s %s", c->name, vm_strerror(rc), err);
    uint8_t apdu[] = { 0x80, 0x01, 0x00, 0x00, 0x00 };
    uint8_t resp[300];
    size_t rlen = 0;
    uint16_t sw = vt_invoke(k, PKG_AID, sizeof PKG_AID, 0, apdu, sizeof apdu, resp, &rlen, NULL);
    *v = rlen == 2 ? (int16_t)(resp[0] << 8 | resp[1]) : 0;
    return sw;
}

/* yes/no tails for the branch cases: the taken target pushes 1 */
#define YESNO "sconst_0;goto L2;L1: sconst_1;L2: nop;"

static const op_case cases[] = {
    /* constants (sconst_<n>, bspush sign-extends, sspush, aconst_null) */
    { "sconst_m1", "sconst_m1;", NULL, 0x9000, -1 },
    { "sconst_5", "sconst_5;", NULL, 0x9000, 5 },
    { "bspush_min", "bspush -128;", NULL, 0x9000, -128 },
    { "sspush_max", "sspush 32767;", NULL, 0x9000, 32767 },
    { "aconst_null", "aconst_null;ifnull L1;" YESNO, NULL, 0x9000, 1 },
    /* locals */
    { "locals", "sspush 1234;sstore 7;sload 7;sstore_3;sload_3;", NULL, 0x9000, 1234 },
    { "sinc", "bspush 10;sstore_3;sinc 3 -128;sload_3;", NULL, 0x9000, -118 },
    { "sinc_w", "sspush 32767;sstore_3;sinc_w 3 1;sload_3;", NULL, 0x9000, -32768 },
    { "aload_astore", "new 3;dup;invokespecial 5;astore 9;aload 9;getfield_s 7;", NULL, 0x9000, 55 },
    /* arithmetic: 16-bit two's complement, results truncated */
    { "sadd_wrap", "sspush 32767;sconst_1;sadd;", NULL, 0x9000, -32768 },
    { "ssub_wrap", "sspush -32768;sconst_1;ssub;", NULL, 0x9000, 32767 },
    { "smul_wrap", "sspush 300;sspush 300;smul;", NULL, 0x9000, 24464 },   /* 90000 - 65536 */
    { "sdiv", "bspush 7;bspush -2;sdiv;", NULL, 0x9000, -3 },              /* rounds toward 0 */
    { "sdiv_min", "sspush -32768;sconst_m1;sdiv;", NULL, 0x9000, -32768 }, /* overflow: the dividend */
    { "sdiv_zero", "sconst_1;sconst_0;sdiv;", NULL, 0x6F00, 0 },
    { "srem", "bspush -7;sconst_3;srem;", NULL, 0x9000, -1 },              /* sign of the dividend */
    { "srem_min", "sspush -32768;sconst_m1;srem;", NULL, 0x9000, 0 },
    { "srem_zero", "sconst_1;sconst_0;srem;", NULL, 0x6F00, 0 },
    { "sneg_min", "sspush -32768;sneg;", NULL, 0x9000, -32768 },
    /* shifts: the count is value2's low five bits */
    { "sshl_15", "sconst_1;bspush 15;sshl;", NULL, 0x9000, -32768 },
    { "sshl_16", "sconst_1;bspush 16;sshl;", NULL, 0x9000, 0 },
    { "sshl_33", "sconst_1;bspush 33;sshl;", NULL, 0x9000, 2 },
    { "sshl_negative", "sconst_1;sconst_m1;sshl;", NULL, 0x9000, 0 },      /* count 31 */
    { "sshr_neg", "sspush -32768;bspush 15;sshr;", NULL, 0x9000, -1 },
    { "sshr_31", "sspush 16384;bspush 31;sshr;", NULL, 0x9000, 0 },
    /* sushr works on the value sign-extended to 32 bits, result truncated */
    { "sushr_neg", "bspush -16;sconst_2;sushr;", NULL, 0x9000, -4 },
    { "sushr_large", "sspush -32768;bspush 15;sushr;", NULL, 0x9000, -1 },
    { "sushr_pos", "sconst_4;sconst_1;sushr;", NULL, 0x9000, 2 },
    { "sushr_20", "sconst_m1;bspush 20;sushr;", NULL, 0x9000, 0x0FFF },
    { "sand", "sspush 4080;sspush 15420;sand;", NULL, 0x9000, 0x0C30 },   /* 0x0FF0 & 0x3C3C */
    { "sor", "sspush 3840;bspush 15;sor;", NULL, 0x9000, 0x0F0F },
    { "sxor", "sconst_m1;sspush 255;sxor;", NULL, 0x9000, (int16_t)0xFF00 },
    /* the same into a local (an op of two constants, its result stored) */
    { "smul_wrap_local", "sspush 300;sspush 300;smul;sstore_3;sload_3;", NULL, 0x9000, 24464 },
    { "sshl_15_local", "sconst_1;bspush 15;sshl;sstore_3;sload_3;", NULL, 0x9000, -32768 },
    { "sushr_20_local", "sconst_m1;bspush 20;sushr;sstore_3;sload_3;", NULL, 0x9000, 0x0FFF },
    { "sor_local", "sspush 3840;bspush 15;sor;sstore_3;sload_3;", NULL, 0x9000, 0x0F0F },
    { "srem_local", "bspush -7;sconst_3;srem;sstore_3;sload_3;", NULL, 0x9000, -1 },
    { "sdiv_zero_local", "sconst_1;sconst_0;sdiv;sstore_3;sload_3;", NULL, 0x6F00, 0 },
    { "s2b_ff", "sspush 511;s2b;", NULL, 0x9000, -1 },
    { "s2b_80", "sspush 128;s2b;", NULL, 0x9000, -128 },
    /* stack: results folded into decimal digits, ((x*10+y)*10+z) */
    { "dup", "sconst_3;dup;sadd;", NULL, 0x9000, 6 },
    { "dup2", "sconst_1;sconst_2;dup2;sstore 6;sstore 5;sstore 4;sstore_3;"
              "sload_3;bspush 10;smul;sload 4;sadd;bspush 10;smul;sload 5;sadd;bspush 10;smul;sload 6;sadd;",
      NULL, 0x9000, 1212 },
    { "pop_pop2", "sconst_1;sconst_2;sconst_3;sconst_4;pop2;pop;", NULL, 0x9000, 1 },
    /* dup_x mn: m = 1, n = 2 (1 2 -> 2 1 2) */
    { "dup_x_12", "sconst_1;sconst_2;dup_x 18;sstore 5;sstore 4;sstore_3;"
                  "sload_3;bspush 10;smul;sload 4;sadd;bspush 10;smul;sload 5;sadd;", NULL, 0x9000, 212 },
    /* m = 2, n = 0: the top two words copied on top */
    { "dup_x_20", "sconst_1;sconst_2;dup_x 32;sstore 6;sstore 5;sstore 4;sstore_3;"
                  "sload_3;bspush 10;smul;sload 4;sadd;bspush 10;smul;sload 5;sadd;bspush 10;smul;sload 6;sadd;",
      NULL, 0x9000, 1212 },
    { "swap_x_11", "sconst_1;sconst_2;swap_x 17;sstore 4;sstore_3;sload_3;bspush 10;smul;sload 4;sadd;",
      NULL, 0x9000, 21 },
    { "swap_x_12", "sconst_1;sconst_2;sconst_3;swap_x 18;sstore 5;sstore 4;sstore_3;"
                   "sload_3;bspush 10;smul;sload 4;sadd;bspush 10;smul;sload 5;sadd;", NULL, 0x9000, 312 },
    /* branches: signed comparisons */
    { "ifeq_taken", "sconst_0;ifeq L1;" YESNO, NULL, 0x9000, 1 },
    { "ifne_not", "sconst_0;ifne L1;" YESNO, NULL, 0x9000, 0 },
    { "iflt", "sconst_m1;iflt L1;" YESNO, NULL, 0x9000, 1 },
    { "ifge", "sconst_0;ifge L1;" YESNO, NULL, 0x9000, 1 },
    { "ifgt", "sconst_0;ifgt L1;" YESNO, NULL, 0x9000, 0 },
    { "ifle", "sspush -32768;ifle L1;" YESNO, NULL, 0x9000, 1 },
    { "if_scmplt_signed", "sconst_m1;sconst_1;if_scmplt L1;" YESNO, NULL, 0x9000, 1 },
    { "if_scmpge", "sconst_2;sconst_2;if_scmpge L1;" YESNO, NULL, 0x9000, 1 },
    { "if_scmpgt", "sconst_2;sconst_2;if_scmpgt L1;" YESNO, NULL, 0x9000, 0 },
    { "if_scmple", "sconst_2;sconst_3;if_scmple L1;" YESNO, NULL, 0x9000, 1 },
    { "if_scmpeq", "sconst_2;sconst_2;if_scmpeq L1;" YESNO, NULL, 0x9000, 1 },
    { "if_scmpne", "sconst_2;sconst_2;if_scmpne L1;" YESNO, NULL, 0x9000, 0 },
    { "if_acmp", "new 3;dup;invokespecial 5;astore_3;aload_3;aload_3;if_acmpeq L3;sconst_0;goto L2;"
                 "L3: aload_3;aconst_null;if_acmpne L1;" YESNO, NULL, 0x9000, 1 },
    { "ifnonnull", "new 3;dup;invokespecial 5;ifnonnull L1;" YESNO, NULL, 0x9000, 1 },
    { "wide_branches", "sconst_0;ifeq_w L1;sconst_0;goto_w L3;L1: sconst_1;sconst_2;if_scmplt_w L2;sconst_0;"
                       "goto_w L3;L2: sconst_3;L3: nop;", NULL, 0x9000, 3 },
    { "wide_ref_branches", "aconst_null;ifnull_w L3;sconst_0;goto_w L2;L3: aconst_null;aconst_null;"
                           "if_acmpeq_w L1;" YESNO, NULL, 0x9000, 1 },
    { "loop_sum", "sconst_0;sstore_3;sconst_0;sstore 4;L1: sload_3;sload 4;sadd;sstore_3;sinc 4 1;"
                  "sload 4;bspush 100;if_scmple L1;sload_3;", NULL, 0x9000, 5050 },
    { "stableswitch_in", "sconst_2;stableswitch L4 1 3 L1 L2 L3;L1: bspush 10;goto L5;L2: bspush 20;goto L5;"
                         "L3: bspush 30;goto L5;L4: bspush 99;L5: nop;", NULL, 0x9000, 20 },
    { "stableswitch_out", "bspush 7;stableswitch L4 1 3 L1 L2 L3;L1: bspush 10;goto L5;L2: bspush 20;goto L5;"
                          "L3: bspush 30;goto L5;L4: bspush 99;L5: nop;", NULL, 0x9000, 99 },
    { "stableswitch_neg", "sconst_m1;stableswitch L3 -1 0 L1 L2;L1: bspush 10;goto L4;L2: bspush 20;goto L4;"
                          "L3: bspush 99;L4: nop;", NULL, 0x9000, 10 },
    { "slookupswitch_hit", "sspush -300;slookupswitch L4 3 -300 L1 5 L2 1000 L3;L1: bspush 10;goto L5;"
                           "L2: bspush 20;goto L5;L3: bspush 30;goto L5;L4: bspush 99;L5: nop;", NULL, 0x9000, 10 },
    { "slookupswitch_last", "sspush 1000;slookupswitch L4 3 -300 L1 5 L2 1000 L3;L1: bspush 10;goto L5;"
                            "L2: bspush 20;goto L5;L3: bspush 30;goto L5;L4: bspush 99;L5: nop;", NULL, 0x9000, 30 },
    { "slookupswitch_miss", "sconst_4;slookupswitch L4 3 -300 L1 5 L2 1000 L3;L1: bspush 10;goto L5;"
                            "L2: bspush 20;goto L5;L3: bspush 30;goto L5;L4: bspush 99;L5: nop;", NULL, 0x9000, 99 },
    /* arrays */
    { "bytes", "sconst_3;newarray 11;astore_3;aload_3;sconst_2;bspush -5;bastore;aload_3;sconst_2;baload;",
      NULL, 0x9000, -5 },
    { "bastore_truncates", "sconst_1;newarray 11;astore_3;aload_3;sconst_0;sspush 4660;bastore;aload_3;sconst_0;"
                           "baload;", NULL, 0x9000, 0x34 },
    { "booleans", "sconst_1;newarray 10;astore_3;aload_3;sconst_0;sconst_1;bastore;aload_3;sconst_0;baload;",
      NULL, 0x9000, 1 },
    { "shorts", "sconst_4;newarray 12;astore_3;aload_3;sconst_3;sspush -2;sastore;aload_3;sconst_3;saload;",
      NULL, 0x9000, -2 },
    { "arraylength", "bspush 17;newarray 12;arraylength;", NULL, 0x9000, 17 },
    { "array_zero_length", "sconst_0;newarray 11;arraylength;", NULL, 0x9000, 0 },
    { "array_index_high", "sconst_3;newarray 11;sconst_3;baload;", NULL, 0x6F00, 0 },
    { "array_index_negative", "sconst_3;newarray 12;sconst_m1;saload;", NULL, 0x6F00, 0 },
    { "array_null", "aconst_null;checkcast 11 0;sconst_0;baload;", NULL, 0x6F00, 0 },
    { "array_negative_size", "sconst_m1;newarray 11;arraylength;", NULL, 0x6F00, 0 },
    { "array_wrong_kind", "sconst_3;newarray 11;sconst_0;saload;", NULL, REFUSED, 0 },
    { "refs", "sconst_2;anewarray 3;astore_3;aload_3;sconst_1;new 4;dup;invokespecial 6;aastore;aload_3;sconst_1;"
              "aaload;instanceof 0 4;", NULL, 0x9000, 1 },
    { "refs_null_element", "sconst_2;anewarray 3;sconst_0;aaload;ifnull L1;" YESNO, NULL, 0x9000, 1 },
    { "aastore_wrong_class", "sconst_2;anewarray 4;sconst_0;new 3;dup;invokespecial 5;aastore;sconst_0;",
      NULL, 0x6F00, 0 },
    { "transient_bytes", "bspush 8;sconst_1;invokestatic 19;astore_3;aload_3;sconst_5;bspush 42;bastore;aload_3;"
                         "sconst_5;baload;", NULL, 0x9000, 42 },
    /* objects and fields */
    { "fields", "new 4;dup;invokespecial 6;astore_3;aload_3;sspush 1111;putfield_s 7;aload_3;sspush 2222;"
                "putfield_s 9;aload_3;getfield_s 9;aload_3;getfield_s 7;ssub;", NULL, 0x9000, 1111 },
    { "putfield_b", "new 3;dup;invokespecial 5;astore_3;aload_3;sspush 511;putfield_b 8;aload_3;getfield_b 8;",
      NULL, 0x9000, -1 },
    { "fields_wide", "new 3;dup;invokespecial 5;astore_3;aload_3;bspush 77;putfield_s_w 7;aload_3;getfield_s_w 7;",
      NULL, 0x9000, 77 },
    { "field_ref", "new 3;dup;invokespecial 5;astore_3;aload_3;sconst_4;newarray 12;putfield_a 32;"
                   "aload_3;getfield_a 32;arraylength;", NULL, 0x9000, 4 },
    { "field_null", "aconst_null;checkcast 0 3;getfield_s 7;", NULL, 0x6F00, 0 },
    { "field_on_array", "sconst_1;newarray 12;getfield_s 7;", NULL, REFUSED, 0 },
    { "statics", "sspush 4321;putstatic_s 10;getstatic_s 10;getstatic_s 11;sadd;", NULL, 0x9000, 4328 },
    { "putstatic_b", "sspush 384;putstatic_b 12;getstatic_b 12;", NULL, 0x9000, -128 },
    { "static_ref", "getstatic_a 31;ifnonnull L3;invokestatic 33;putstatic_a 31;getstatic_a 31;getfield_s 7;"
                    "goto L4;L3: sconst_0;L4: nop;", NULL, 0x9000, 55 },
    { "checkcast_ok", "new 4;dup;invokespecial 6;checkcast 0 3;instanceof 0 4;", NULL, 0x9000, 1 },
    { "checkcast_fail", "new 3;dup;invokespecial 5;checkcast 0 4;pop;sconst_0;", NULL, 0x6F00, 0 },
    { "checkcast_null", "aconst_null;checkcast 0 4;ifnull L1;" YESNO, NULL, 0x9000, 1 },
    { "checkcast_interface", "new 4;dup;invokespecial 6;checkcast 0 34;instanceof 0 34;", NULL, 0x9000, 1 },
    { "instanceof_array", "sconst_1;newarray 11;instanceof 11 0;", NULL, 0x9000, 1 },
    { "instanceof_wrong", "sconst_1;newarray 11;instanceof 12 0;", NULL, 0x9000, 0 },
    { "instanceof_class_array", "sconst_1;anewarray 4;instanceof 14 3;", NULL, 0x9000, 1 },
    { "instanceof_null", "aconst_null;instanceof 0 3;", NULL, 0x9000, 0 },
    /* calls */
    { "invokestatic", "bspush 20;bspush 22;invokestatic 20;", NULL, 0x9000, 42 },
    { "recursion", "bspush 7;invokestatic 21;", NULL, 0x9000, 5040 },
    { "deep_recursion", "sconst_0;invokestatic 22;", NULL, 0x6F00, 0 },
    { "areturn", "invokestatic 33;getfield_s 7;", NULL, 0x9000, 55 },
    { "invokevirtual", "new 4;dup;invokespecial 6;invokevirtual 23;new 3;dup;invokespecial 5;invokevirtual 23;ssub;",
      NULL, 0x9000, 9 },
    { "invokevirtual_null", "aconst_null;checkcast 0 3;invokevirtual 23;", NULL, 0x6F00, 0 },
    { "invokeinterface", "new 4;dup;invokespecial 6;invokeinterface 1 34 0;new 3;dup;invokespecial 5;"
                         "invokeinterface 1 34 0;ssub;", NULL, 0x9000, 27 },
    { "invokespecial", "new 3;dup;invokespecial 5;getfield_s 7;", NULL, 0x9000, 55 },
    { "getfield_this", "new 3;dup;invokespecial 5;invokevirtual 30;", NULL, 0x9000, 66 },
    /* exceptions */
    { "catch_arith", "sconst_1;sconst_0;L1: sdiv;L2: goto L4;L3: pop;bspush 77;L4: nop;", "L1 L2 L3 13;",
      0x9000, 77 },
    { "catch_any", "aconst_null;checkcast 11 0;L1: arraylength;L2: goto L4;L3: pop;bspush 78;L4: nop;",
      "L1 L2 L3 0;", 0x9000, 78 },
    { "catch_wrong_type", "sconst_1;sconst_0;L1: sdiv;L2: goto L4;L3: pop;bspush 77;L4: nop;", "L1 L2 L3 14;",
      0x6F00, 0 },
    { "catch_iso_reason", "L1: sspush 27272;invokestatic 17;sconst_0;L2: goto L4;L3: invokevirtual 18;L4: nop;",
      "L1 L2 L3 16;", 0x9000, 0x6A88 },
    { "iso_uncaught", "sspush 27010;invokestatic 17;sconst_0;", NULL, 0x6982, 0 },
    { "catch_in_caller", "L1: invokestatic 24;L2: goto L4;L3: pop;bspush 79;L4: nop;", "L1 L2 L3 15;", 0x9000, 79 },
    { "athrow_user", "L1: new 25;dup;invokespecial 26;athrow;L2: instanceof 0 25;", "L1 L2 L2 27;", 0x9000, 1 },
    { "athrow_null", "aconst_null;checkcast 0 25;athrow;", NULL, 0x6F00, 0 },
    /* the exception each runtime check throws (JCVM ch. 7), caught by class */
    { "aastore_throws_ArrayStore", "L1: sconst_2;anewarray 4;sconst_0;new 3;dup;invokespecial 5;aastore;sconst_0;"
                                   "L2: goto L4;L3: pop;bspush 81;L4: nop;", "L1 L2 L3 35;", 0x9000, 81 },
    { "baload_throws_AIOOBE", "L1: sconst_3;newarray 11;sconst_3;baload;L2: goto L4;L3: pop;bspush 82;L4: nop;",
      "L1 L2 L3 36;", 0x9000, 82 },
    { "newarray_throws_NegativeArraySize", "L1: sconst_m1;newarray 12;arraylength;L2: goto L4;L3: pop;bspush 83;"
                                           "L4: nop;", "L1 L2 L3 37;", 0x9000, 83 },
    { "checkcast_throws_ClassCast", "L1: new 3;dup;invokespecial 5;checkcast 0 4;pop;sconst_0;L2: goto L4;L3: pop;"
                                    "bspush 84;L4: nop;", "L1 L2 L3 38;", 0x9000, 84 },
    { "getfield_throws_NPE", "L1: aconst_null;checkcast 0 3;getfield_s 7;L2: goto L4;L3: pop;bspush 85;L4: nop;",
      "L1 L2 L3 14;", 0x9000, 85 },
    { "srem_throws_Arithmetic", "L1: sconst_1;sconst_0;srem;L2: goto L4;L3: pop;bspush 86;L4: nop;", "L1 L2 L3 13;",
      0x9000, 86 },
    /* the verifier's part: types the bytecode may not mix */
    { "athrow_not_throwable", "new 3;dup;invokespecial 5;athrow;", NULL, REFUSED, 0 },
    { "forged_reference", "sspush 9999;arraylength;", NULL, REFUSED, 0 },
    { "short_as_reference", "sconst_1;astore_3;aload_3;getfield_s 7;", NULL, REFUSED, 0 },
    { "stack_underflow", "pop;sconst_0;", NULL, REFUSED, 0 },
    /* a local is unusable until stored on every path to its read: what
     * lets a call leave the callee's locals as the stack held them */
    { "sload_unset_local", "sload_3;", NULL, REFUSED, 0 },
    { "aload_unset_local", "aload 9;arraylength;", NULL, REFUSED, 0 },
    { "sinc_unset_local", "sinc 4 1;sconst_0;", NULL, REFUSED, 0 },
    { "local_set_on_one_path", "sconst_0;ifeq L1;sconst_2;sstore_3;L1: sload_3;", NULL, REFUSED, 0 },
    /* the instruction budget ends a loop that never does */
    { "budget", "L1: goto L1;", NULL, 0x6F00, 0 },
};

static void test_opcodes(void **state)
{
    (void)state;
    vt_card k;
    vm_config cfg;
    vm_config_default(&cfg);
    cfg.budget = 200000;
    vt_card_new(&k, &cfg);
    int failures = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int16_t v = 0;
        uint16_t sw = run_case(&k, &cases[i], &v);
        if (sw != cases[i].sw || (sw == 0x9000 && v != (int16_t)cases[i].value)) {
            if (cases[i].sw == REFUSED)
                print_error("case %s: expected a verifier refusal, got SW %04X value %d\n", cases[i].name, sw, v);
            else if (sw == REFUSED)
                print_error("case %s: expected SW %04X value %d, the load was refused\n", cases[i].name,
                            cases[i].sw, cases[i].value);
            else
                print_error("case %s: expected SW %04X value %d, got SW %04X value %d\n", cases[i].name,
                            cases[i].sw, cases[i].value, sw, v);
            failures++;
        }
    }
    print_message("%zu instruction cases\n", sizeof cases / sizeof cases[0]);
    vt_card_free(&k);
    assert_int_equal(failures, 0);
}

/* A runtime error leaves persistent state as the last committed
 * transaction left it: the open transaction's writes are undone, earlier
 * non-transactional writes stay (JCRE 3.0.5 §7.6: an uncaught exception
 * aborts the transaction). fail() (token 0): st = 11 outside the
 * transaction, begin, st2 = 22, NullPointerException. read() (token 1):
 * st * 100 + st2. */
static const char *TX_PKG =
    ".package cardvm/optx {\n"
    " .aid 0xA0:0x0:0x0:0x0:0xFF:0x0:0x1;\n"
    " .version 1.0;\n"
    " .imports {\n"
    VT_JCA_IMPORT_FRAMEWORK_LANG
    " }\n"
    " .constantPool {\n"
    VT_JCA_CP_APDU_IO
    "  staticMethodRef 0.8.1()V;\n"
    "  staticFieldRef short Main/st;\n"
    "  staticFieldRef short Main/st2;\n"
    "   .descriptor Ljavacard/framework/APDU; 0.10;\n"
    " }\n"
    " .class public Main 0 extends 1.0 {\n"
    "  .fields {\n"
    "   static short st = 1;\n"
    "   static short st2 = 7;\n"
    "  }\n"
    VT_JCA_OBJECT_METHOD_TABLES
    "  .method public static fail(Ljavacard/framework/APDU;)V 0 {\n"
    "   .stack 2;\n .locals 0;\n"
    "   .descriptor Ljavacard/framework/APDU; 0.10;\n"
    "   L0: bspush 11;\n putstatic_s 4;\n invokestatic 3;\n bspush 22;\n putstatic_s 5;\n"
    "   aconst_null;\n arraylength;\n pop;\n return;\n"
    "  }\n"
    "  .method public static read(Ljavacard/framework/APDU;)V 1 {\n"
    "   .stack 5;\n .locals 0;\n"
    "   .descriptor Ljavacard/framework/APDU; 0.10;\n"
    "   L0: aload_0;\n invokevirtual 0;\n sconst_0;\n getstatic_s 4;\n bspush 100;\n smul;\n getstatic_s 5;\n"
    "   sadd;\n invokestatic 2;\n pop;\n aload_0;\n sconst_0;\n sconst_2;\n invokevirtual 1;\n return;\n"
    "  }\n"
    " }\n"
    "}\n";

static int invoke_short(vt_card *k, uint16_t method, uint16_t *sw)
{
    uint8_t apdu[] = { 0x80, 0x01, 0x00, 0x00, 0x00 }, resp[300];
    size_t rlen = 0;
    *sw = vt_invoke(k, PKG_AID, sizeof PKG_AID, method, apdu, sizeof apdu, resp, &rlen, NULL);
    return rlen == 2 ? resp[0] << 8 | resp[1] : -1;
}

static void test_error_keeps_committed_state(void **state)
{
    (void)state;
    vt_card k;
    vt_card_new(&k, NULL);
    vt_load_jca(&k, TX_PKG, "optx.jca", 0);
    vt_commit(&k);
    uint16_t sw;
    assert_int_equal(invoke_short(&k, 0x0001, &sw), 107);
    assert_int_equal(sw, 0x9000);
    assert_int_equal(invoke_short(&k, 0x0000, &sw), -1);
    assert_int_equal(sw, 0x6F00);
    assert_int_equal(invoke_short(&k, 0x0001, &sw), 1107);   /* st = 11 kept, st2 = 7 restored */
    vt_reopen(&k, NULL);
    assert_int_equal(invoke_short(&k, 0x0001, &sw), 1107);
    vt_card_free(&k);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_opcodes),
        cmocka_unit_test(test_error_keeps_committed_state),
    };
    return cmocka_run_group_tests_name("vm_opcodes", tests, NULL, NULL);
}
