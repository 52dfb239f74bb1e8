/*
 * test_vm_xdiv.c — division and remainder by a constant (vm/xdiv.h: a
 * multiply by the reciprocal, the DIVC ops of vm/cap_xlat.c) and the
 * zero-extending byte load (javac's `b[i] & 0xFF`, ELEMU).
 *
 * The oracle is C's own division of 32-bit ints, which truncates toward
 * zero and gives the remainder the dividend's sign, exactly the JCVM's
 * sdiv/srem on shorts (JCVM 3.0.5 §7.5.85, §7.5.89) once the result is
 * truncated to 16 bits ((-32768) / (-1) = 32768 -> -32768). Nothing is
 * taken from the VM's own output.
 *
 *   xdiv_exhaustive  vm_xdiv_magic / vm_xdiv_q for every dividend and the
 *                    divisors 1..300 (and their negatives), every power of
 *                    two and its negative, 32767, -32768, and random ones
 *   card_div         through the card: for a set of constant divisors, a
 *                    loop over all 65536 dividends hashing quotient and
 *                    remainder with the dividend from each place it can
 *                    be (a local, a sum of locals, a local + a constant,
 *                    the stack, a constant) and the result pushed or
 *                    stored; the bytecode count exact
 *   card_div_zero    a constant 0 divisor throws ArithmeticException at
 *                    its op, at the right iteration, caught by the handler
 *                    whose range covers that op only
 *   card_byte_mask   b[i] & 0xFF for every byte value, with the array and
 *                    index from each place; an out-of-bounds and a null
 *                    array caught at the load
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "vmtest.h"
#include "xdiv.h"

/* ---- the arithmetic, exhaustively ---- */

static int check_divisor(int16_t d)
{
    int32_t m = vm_xdiv_magic(d);
    if (d == 0 || d == 1 || d == -1) {
        if (m != 0) {
            print_error("divisor %d: multiplier %d, expected none (plain op)\n", d, m);
            return 1;
        }
        return 0;
    }
    if (m == 0) {
        print_error("divisor %d: no multiplier\n", d);
        return 1;
    }
    for (int32_t n = -32768; n <= 32767; n++) {
        int16_t q = (int16_t)(uint16_t)vm_xdiv_q(n, m);
        int16_t r = (int16_t)(uint16_t)(n - vm_xdiv_q(n, m) * d);
        int16_t wq = (int16_t)(uint16_t)(n / (int32_t)d), wr = (int16_t)(uint16_t)(n % (int32_t)d);
        if (q != wq || r != wr) {
            print_error("%d / %d: got %d rem %d, expected %d rem %d\n", n, d, q, r, wq, wr);
            return 1;
        }
    }
    return 0;
}

static void test_xdiv_exhaustive(void **state)
{
    (void)state;
    int bad = 0, n = 0;
    for (int d = 1; d <= 300; d++, n += 2)
        bad += check_divisor((int16_t)d) + check_divisor((int16_t)-d);
    for (int k = 0; k < 16; k++, n += 2)
        bad += check_divisor((int16_t)(uint16_t)(1u << k)) + check_divisor((int16_t)(uint16_t)(0u - (1u << k)));
    const int16_t more[] = { 0, 32767, -32767, 32766, -32766, 10922, 10923, 21845, 21846, 16383, 16385,
                             -16383, -16385, 641, 6700, 12345, -12345, 30000, -30000 };
    for (size_t i = 0; i < sizeof more / sizeof more[0]; i++, n++)
        bad += check_divisor(more[i]);
    /* random divisors: a fixed LCG, so a failure repeats */
    uint32_t x = 12345;
    for (int i = 0; i < 200; i++, n++) {
        x = x * 1103515245u + 12345u;
        bad += check_divisor((int16_t)(uint16_t)(x >> 16));
    }
    print_message("%d divisors x 65536 dividends\n", n);
    assert_int_equal(bad, 0);
}

/* ---- through the card ---- */

static const uint8_t PKG_AID[] = { 0xA0, 0x00, 0x00, 0x00, 0xFF, 0x0D, 0x01 };

/* main(APDU) runs BODY (which leaves its answer in local 1) and sends
 * local 1 as two bytes. Constant pool: 0 APDU.getBuffer 1
 * APDU.setOutgoingAndSend 2 Util.setShort 3 ArithmeticException 4 static
 * byte[] Main.sa 5 NullPointerException 6 ArrayIndexOutOfBoundsException */
static const char *PKG_HEAD =
    ".package cardvm/xdivtest {\n"
    " .aid 0xA0:0x0:0x0:0x0:0xFF:0xD:0x1;\n"
    " .version 1.0;\n"
    " .imports {\n"
    VT_JCA_IMPORT_FRAMEWORK_LANG
    " }\n"
    " .constantPool {\n"
    VT_JCA_CP_APDU_IO
    "  classRef 1.9;\n"
    "  staticFieldRef byte[] Main/sa;\n"
    "  classRef 1.7;\n"
    "  classRef 1.5;\n"
    "   .descriptor Ljavacard/framework/APDU; 0.10;\n"
    " }\n"
    " .class public Main 0 extends 1.0 {\n"
    "  .fields {\n"
    "   static byte[] sa;\n"
    "  }\n"
    VT_JCA_OBJECT_METHOD_TABLES
    "  .method public static main(Ljavacard/framework/APDU;)V 0 {\n"
    "   .stack 8;\n"
    "   .locals 12;\n"
    "   .descriptor Ljavacard/framework/APDU; 0.10;\n"
    "L0: ";
/* 11 bytecodes */
static const char *PKG_SEND =
    "aload_0;invokevirtual 0;sconst_0;sload_1;invokestatic 2;pop;aload_0;sconst_0;sconst_2;invokevirtual 1;return;";
enum { SEND_BYTECODES = 11 };

/* A growing text buffer; count: the bytecodes appended (one per ';'). */
typedef struct txt {
    char *s;
    size_t n, cap;
    unsigned long count;
} txt;

static void append(txt *t, const char *s, int split)
{
    for (; *s; s++) {
        if (t->n + 3 > t->cap) {
            t->cap = 2 * t->cap + 256;
            t->s = realloc(t->s, t->cap);
            assert_non_null(t->s);
        }
        t->s[t->n++] = *s;
        if (split && *s == ';') {
            t->count++;
            t->s[t->n++] = '\n';
        }
    }
    if (t->s)
        t->s[t->n] = 0;
}

/* Statements (fmt as printf), one bytecode per ';', a line each. */
static void put(txt *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    assert_true(k >= 0);
    char *tmp = malloc((size_t)k + 1);
    assert_non_null(tmp);
    va_start(ap, fmt);
    vsnprintf(tmp, (size_t)k + 1, fmt, ap);
    va_end(ap);
    append(t, tmp, 1);
    free(tmp);
}

/* Load the package made of BODY (+ the send) and HANDLERS, run main: the
 * SW, local 1 in *v, the bytecodes run in *bc. */
static uint16_t run_body(vt_card *k, const char *body, const char *handlers, int16_t *v, uint64_t *bc)
{
    txt t = { 0 };
    append(&t, PKG_HEAD, 0);
    append(&t, body, 0);
    append(&t, PKG_SEND, 1);
    if (handlers) {
        append(&t, "   .exceptionTable {\n", 0);
        append(&t, handlers, 0);
        append(&t, "   }\n", 0);
    }
    append(&t, "  }\n }\n}\n", 0);
    uint8_t *blob;
    size_t len;
    vt_jca(t.s, "xdivtest", &blob, &len);
    free(t.s);
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
    vm_stats st;
    vm_get_stats(k->rt, &st);
    *bc = st.last_bytecodes;
    return sw;
}

static int16_t hash(int16_t h, int32_t x)
{
    return (int16_t)(uint16_t)((int32_t)h * 31 + x);
}

/* The dividend n (local 2) from each place: a local; local 3 (n - 30000)
 * + local 4 (30000); local 3 + the constant 30000; the stack (n | local
 * 6, 0). The sums wrap as sadd does. */
static const char *const DIVIDEND[] = {
    "sload_2;",
    "sload_3;sload 4;sadd;",
    "sload_3;sspush 30000;sadd;",
    "sload_2;sload 6;sor;",
};
enum { NDIVIDEND = 4 };
static const int16_t CONST_DIVIDENDS[] = { -32768, -32767, -251, -1, 0, 1, 250, 251, 32767 };

/* Per dividend and place: quotient and remainder each stored into a local
 * (the op's local destination) then hashed, and pushed (hashed from the
 * stack). */
static void put_div_uses(txt *t, const char *n, int d)
{
    for (int rem = 0; rem < 2; rem++) {
        const char *op = rem ? "srem" : "sdiv";
        put(t, "%ssspush %d;%s;sstore 5;sload_1;bspush 31;smul;sload 5;sadd;sstore_1;", n, d, op);
        put(t, "sload_1;bspush 31;smul;%ssspush %d;%s;sadd;sstore_1;", n, d, op);
    }
}

static int16_t oracle_div_uses(int16_t h, int32_t n, int32_t d)
{
    for (int rem = 0; rem < 2; rem++)
        for (int k = 0; k < 2; k++)
            h = hash(h, (int16_t)(uint16_t)(rem ? n % d : n / d));
    return h;
}

static void test_card_div(void **state)
{
    (void)state;
    vt_card k;
    vm_config cfg;
    vm_config_default(&cfg);
    cfg.budget = 30000000;
    vt_card_new(&k, &cfg);
    const int divisors[] = { 2, 3, 5, 7, 10, 16, 100, 251, 255, 256, 1000, 4096, 12345, 16384, 32767,
                             -2, -3, -7, -10, -251, -256, -16384, -32767, -32768, 1, -1 };
    int bad = 0;
    for (size_t i = 0; i < sizeof divisors / sizeof divisors[0]; i++) {
        int d = divisors[i];
        txt b = { 0 }, pre = { 0 }, body = { 0 }, step = { 0 }, post = { 0 };
        /* h = 0; n = -32768; local 3 = n - 30000; local 4 = 30000; local 6 = 0 */
        put(&pre, "sconst_0;sstore_1;sspush -32768;sstore_2;sspush -32768;sspush 30000;ssub;sstore_3;"
                  "sspush 30000;sstore 4;sconst_0;sstore 6;");
        for (int p = 0; p < NDIVIDEND; p++)
            put_div_uses(&body, DIVIDEND[p], d);
        put(&body, "sload_2;sspush 32767;if_scmpeq_w L2;");
        put(&step, "sinc 2 1;sinc 3 1;goto_w L1;");
        for (size_t c = 0; c < sizeof CONST_DIVIDENDS / sizeof CONST_DIVIDENDS[0]; c++) {
            char n[32];
            snprintf(n, sizeof n, "sspush %d;", CONST_DIVIDENDS[c]);
            put_div_uses(&post, n, d);
        }
        append(&b, pre.s, 0);
        append(&b, "L1: ", 0);
        append(&b, body.s, 0);
        append(&b, step.s, 0);
        append(&b, "L2: ", 0);
        append(&b, post.s, 0);
        int16_t h = 0;
        for (int32_t n = -32768; n <= 32767; n++)
            for (int p = 0; p < NDIVIDEND; p++)
                h = oracle_div_uses(h, n, d);
        for (size_t c = 0; c < sizeof CONST_DIVIDENDS / sizeof CONST_DIVIDENDS[0]; c++)
            h = oracle_div_uses(h, CONST_DIVIDENDS[c], d);
        uint64_t want_bc = pre.count + 65536ull * body.count + 65535ull * step.count + post.count + SEND_BYTECODES;
        int16_t v;
        uint64_t bc;
        uint16_t sw = run_body(&k, b.s, NULL, &v, &bc);
        if (sw != 0x9000 || v != h || bc != want_bc) {
            print_error("divisor %d: SW %04X hash %04X bytecodes %llu, expected 9000 %04X %llu\n", d, sw,
                        (uint16_t)v, (unsigned long long)bc, (uint16_t)h, (unsigned long long)want_bc);
            bad++;
        }
        free(b.s);
        free(pre.s);
        free(body.s);
        free(step.s);
        free(post.s);
    }
    print_message("%zu constant divisors through the card\n", sizeof divisors / sizeof divisors[0]);
    vt_card_free(&k);
    assert_int_equal(bad, 0);
}

/* h = 0; for i = 0..9: h += i / 3; if i == 3, h = i % 0 (sdiv by 7 before
 * it in another handler's range). ArithmeticException at i = 3, caught by
 * the handler of the srem's range: h = h * 16 + i = (0+0+0+1) * 16 + 3.
 * The same with sdiv by a constant 0 into a local. */
static void test_card_div_zero(void **state)
{
    (void)state;
    vt_card k;
    vm_config cfg;
    vm_config_default(&cfg);
    vt_card_new(&k, &cfg);
    static const char *const ZERO_OP[] = { "sload_2;sconst_0;srem;sstore_1;", "sload_2;sconst_0;sdiv;sstore 7;" };
    int bad = 0;
    for (int z = 0; z < 2; z++) {
        txt b = { 0 };
        put(&b, "sconst_0;sstore_1;sconst_0;sstore_2;"
                "L1: sload_1;sload_2;sconst_3;sdiv;sadd;sstore_1;"
                "L3: sload_2;bspush 7;sdiv;sstore 8;"
                "L4: sload_2;sconst_3;if_scmpne L7;"
                "L6: %s"
                "L7: sinc 2 1;sload_2;bspush 10;if_scmplt L1;goto L9;"
                "L8: pop;sload_1;bspush 16;smul;sload_2;sadd;sstore_1;goto L9;"
                "L10: pop;sspush 2989;sstore_1;"
                "L9: ",
            ZERO_OP[z]);
        int16_t v;
        uint64_t bc;
        uint16_t sw = run_body(&k, b.s, "L3 L4 L10 3;\nL6 L7 L8 3;\n", &v, &bc);
        if (sw != 0x9000 || v != 1 * 16 + 3) {
            print_error("%s: SW %04X value %d, expected 9000 19\n", ZERO_OP[z], sw, v);
            bad++;
        }
        free(b.s);
    }
    vt_card_free(&k);
    assert_int_equal(bad, 0);
}

/* Local 3: a byte[256] with a[i] = (byte) i (also in the static sa);
 * local 5 = i - 1, local 6 = 0, local 7 = 1. Per i, b[i] & 0xFF from the
 * array in a local (checked once in the loop region) and from the stack
 * (getstatic), the index from a local, a sum of locals, a local + a
 * constant, the stack; the result stored into a local and pushed; the
 * mask after the load and (`0xFF & b[i]`) before it. After
 * the loop, constant indexes outside any loop, and `& 0x7F` (not the
 * zero-extension). */
static void test_card_byte_mask(void **state)
{
    (void)state;
    vt_card k;
    vm_config cfg;
    vm_config_default(&cfg);
    vt_card_new(&k, &cfg);
    txt b = { 0 }, pre = { 0 }, body = { 0 }, post = { 0 };
    put(&pre, "sspush 256;newarray 11;dup;putstatic_a 4;astore_3;sconst_0;sstore_2;"
              "L20: aload_3;sload_2;sload_2;bastore;sinc 2 1;sload_2;sspush 256;if_scmplt L20;");
    put(&pre, "sconst_0;sstore_1;sconst_0;sstore_2;sconst_m1;sstore 5;sconst_0;sstore 6;sconst_1;sstore 7;");
    static const char *const ARR[] = { "aload_3;", "getstatic_a 4;" };
    static const char *const IDX[] = { "sload_2;", "sload 5;sload 7;sadd;", "sload 5;sconst_1;sadd;",
                                       "sload_2;sload 6;sor;" };
    for (int a = 0; a < 2; a++)
        for (int i = 0; i < 4; i++) {
            put(&body, "%s%sbaload;sspush 255;sand;sstore 4;sload_1;bspush 31;smul;sload 4;sadd;sstore_1;", ARR[a],
                IDX[i]);
            put(&body, "sload_1;bspush 31;smul;%s%sbaload;sspush 255;sand;sadd;sstore_1;", ARR[a], IDX[i]);
            /* 0xFF & b[i]: the constant under the array and index */
            put(&body, "sspush 255;%s%sbaload;sand;sstore 4;sload_1;bspush 31;smul;sload 4;sadd;sstore_1;", ARR[a],
                IDX[i]);
            put(&body, "sload_1;bspush 31;smul;sspush 255;%s%sbaload;sand;sadd;sstore_1;", ARR[a], IDX[i]);
        }
    put(&body, "sinc 2 1;sinc 5 1;sload_2;sspush 256;if_scmplt_w L1;");
    for (int c = 126; c < 131; c++) {
        put(&post, "aload_3;sspush %d;baload;sspush 255;sand;sstore 4;sload_1;bspush 31;smul;sload 4;sadd;sstore_1;", c);
        put(&post, "sload_1;bspush 31;smul;aload_3;sspush %d;baload;bspush 127;sand;sadd;sstore_1;", c);
    }
    append(&b, pre.s, 0);
    append(&b, "L1: ", 0);
    append(&b, body.s, 0);
    append(&b, "L2: ", 0);
    append(&b, post.s, 0);
    int16_t h = 0;
    for (int i = 0; i < 256; i++)
        for (int j = 0; j < 32; j++)
            h = hash(h, i);
    for (int c = 126; c < 131; c++) {
        h = hash(h, c);
        h = hash(h, c & 0x7F);
    }
    int16_t v;
    uint64_t bc;
    uint16_t sw = run_body(&k, b.s, NULL, &v, &bc);
    /* the fill loop: 8 bytecodes per element */
    uint64_t want_bc = 7 + 256 * 8 + (pre.count - 15) + 256ull * body.count + post.count + SEND_BYTECODES;
    free(b.s);
    free(pre.s);
    free(body.s);
    free(post.s);
    print_message("byte mask: SW %04X hash %04X (expected %04X), %llu bytecodes (expected %llu)\n", sw,
                  (uint16_t)v, (uint16_t)h, (unsigned long long)bc, (unsigned long long)want_bc);
    assert_int_equal(sw, 0x9000);
    assert_int_equal(v, h);
    assert_int_equal(bc, want_bc);

    /* out of bounds, then null: each caught at its load (h = 0x55, 0x66),
     * after the load before it in another handler's range stored 0x7F */
    static const char *const BAD[] = { "aload_3;sspush 256;", "aconst_null;astore 8;aload 8;sconst_0;" };
    static const int16_t WANT[] = { 0x7F00 + 0x55, 0x7F00 + 0x66 };
    for (int c = 0; c < 2; c++) {
        txt t = { 0 };
        put(&t, "sspush 256;newarray 11;astore_3;aload_3;sconst_1;bspush 127;bastore;sconst_0;sstore_1;"
                "L1: aload_3;sconst_1;baload;sspush 255;sand;sstore 4;"
                "L2: %sbaload;sspush 255;sand;sstore_1;"
                "L3: goto L9;"
                "L4: pop;sload 4;bspush 8;sshl;bspush 85;sadd;sstore_1;goto L9;"
                "L5: pop;sload 4;bspush 8;sshl;bspush 102;sadd;sstore_1;goto L9;"
                "L6: pop;sspush 2989;sstore_1;"
                "L9: ",
            BAD[c]);
        sw = run_body(&k, t.s, "L1 L2 L6 3;\nL2 L3 L4 6;\nL2 L3 L5 5;\n", &v, &bc);
        free(t.s);
        assert_int_equal(sw, 0x9000);
        assert_int_equal(v, WANT[c]);
    }
    vt_card_free(&k);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_xdiv_exhaustive),
        cmocka_unit_test(test_card_div),
        cmocka_unit_test(test_card_div_zero),
        cmocka_unit_test(test_card_byte_mask),
    };
    return cmocka_run_group_tests_name("vm_xdiv", tests, NULL, NULL);
}
