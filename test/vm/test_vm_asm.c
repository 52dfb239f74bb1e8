/*
 * test_vm_asm.c — assembler and disassembler: asm(disasm(p)) == p byte for
 * byte for every example, and errors as file:line:column: message.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "vm_asm.h"
#include "vmtest.h"

static void roundtrip_blob(const char *what, const uint8_t *blob, size_t len)
{
    char *text = NULL, err[512];
    int rc = vm_disasm(blob, len, NULL, &text, err, sizeof err);
    if (rc != VM_OK)
        fail_msg("%s: disasm: %s", what, err);
    uint8_t *again;
    size_t alen;
    rc = vm_asm(text, strlen(text), what, NULL, &again, &alen, err, sizeof err);
    if (rc != VM_OK)
        fail_msg("%s: reassembling the disassembly: %s\n%s", what, err, text);
    if (alen != len || memcmp(again, blob, len) != 0)
        fail_msg("%s: asm(disasm(p)) differs from p (%zu vs %zu bytes)\n%s", what, alen, len, text);
    char *text2 = NULL;
    assert_int_equal(vm_disasm(again, alen, NULL, &text2, err, sizeof err), VM_OK);
    assert_string_equal(text, text2);
    free(text);
    free(text2);
    free(again);
}

static void test_roundtrip_examples(void **state)
{
    (void)state;
    const char *names[] = { "hello", "counter", "wallet", "crypto" };
    for (int i = 0; i < 4; i++) {
        char path[512];
        snprintf(path, sizeof path, "%s/%s.s", VT_EXAMPLES_SRC, names[i]);
        size_t slen, len, blen;
        char *src = (char *)vt_read_file(path, &slen);
        assert_non_null(src);
        uint8_t *blob, *built;
        char err[512];
        if (vm_asm(src, slen, path, NULL, &blob, &len, err, sizeof err) != VM_OK)
            fail_msg("%s", err);
        /* the build-time .cvp is the same bytes */
        built = vt_example(names[i], &blen);
        assert_int_equal(blen, len);
        assert_memory_equal(built, blob, len);
        assert_int_equal(vm_verify(blob, len, NULL, 0, err, sizeof err), VM_OK);
        roundtrip_blob(names[i], blob, len);
        free(built);
        free(blob);
        free(src);
    }
}

/* Unusual but valid shapes: duplicate constants, raw operands, wide forms,
 * handlers, methods outside classes, switches, imports, library kind. */
static void test_roundtrip_odd(void **state)
{
    (void)state;
    const char *src =
        ".package A0000000FF0101 2.3 library\n"
        ".import A0000000FF0100 1.0\n"
        ".static a 5\n.static b -1\n"
        ".class K\n.field x\n.field y\n"
        ".class L extends K\n.field z\n"
        ".cp class K\n.cp class K\n.cp sfield a\n"
        ".method helper static noclass args=2 returns\n sload_0\n sload_1\n sadd\n sreturn\n.end\n"
        ".method K.get returns\n getfield_s_this K.x\n sreturn\n.end\n"
        ".method L.get returns\n getfield_s_this L.z\n sreturn\n.end\n"
        ".method L.run static args=1 locals=3\n"
        "s:  sconst_1\n sconst_2\n invokestatic helper\n sstore_1\n"
        "    new L\n invokevirtual K.get\n pop\n"
        "    sload_1\n stableswitch 0 2 d a b c\n"
        "a:  sload_1\n slookupswitch d -5:b 7:c\n"
        "b:  getstatic_s #2\n putstatic_s b\n goto_w d\n"
        "c:  sinc_w 1 -300\n sinc 1 3\n sload_1\n dup_x 1 0\n pop2\n"
        "d:  new K\n checkcast #1\n instanceof K[]\n pop\n"
        "e:  return\n"
        "h:  pop\n return\n"
        ".catch s e h ArithmeticException\n"
        ".catch s d h any\n"
        ".end\n";
    uint8_t *blob;
    size_t len;
    vt_asm(src, &blob, &len);
    roundtrip_blob("odd", blob, len);
    char err[256];
    assert_int_equal(vm_verify(blob, len, NULL, 0, err, sizeof err), VM_OK);
    free(blob);
}

static void expect_error(const char *src, const char *want)
{
    uint8_t *blob = NULL;
    size_t len;
    char err[512];
    assert_int_equal(vm_asm(src, strlen(src), "t.s", NULL, &blob, &len, err, sizeof err), VM_ERR_VERIFY);
    if (strncmp(err, want, strlen(want)) != 0)
        fail_msg("expected error starting '%s', got '%s'", want, err);
    assert_null(blob);
}

static void test_errors(void **state)
{
    (void)state;
    const char *head = ".package A0000000FF0102 1.0\n.class C\n";
    char src[1024];
    snprintf(src, sizeof src, "%s.method m static\n    frob 1\n.end\n", head);
    expect_error(src, "t.s:4:5: unknown instruction 'frob'");
    snprintf(src, sizeof src, "%s.method m static\n    goto nowhere\n.end\n", head);
    expect_error(src, "t.s:4:10: unknown label 'nowhere'");
    snprintf(src, sizeof src, "%s.method m static\n    bspush 200\n    return\n.end\n", head);
    expect_error(src, "t.s:4:12: value 200 outside -128..127");
    snprintf(src, sizeof src, "%s.method m static\n    getstatic_s nope\n    return\n.end\n", head);
    expect_error(src, "t.s:4:17: unknown static field 'nope'");
    snprintf(src, sizeof src, "%s.method m static\n    sconst_1\n.end\n", head);
    expect_error(src, "t.s:3:1: method 'm': offset");
    expect_error(".class X\n", "t.s:1:1: missing .package");
    expect_error(".package A0000000FF0102 1.0\n.bogus\n", "t.s:2:1: unknown directive '.bogus'");
    expect_error(".package A000 1.0\n", "t.s:1:10: AID too short");
    snprintf(src, sizeof src, "%s.method m static\n    return\n", head);
    expect_error(src, "t.s:3:1: method 'm' has no .end");
}

static void test_auto_stack_and_locals(void **state)
{
    (void)state;
    const char *src =
        ".package A0000000FF0103 1.0\n.class C\n"
        ".method m static args=1\n sload_0\n dup\n dup2\n pop2\n sstore 9\n sconst_0\n pop\n return\n.end\n";
    uint8_t *blob;
    size_t len;
    vt_asm(src, &blob, &len);
    char *text;
    char err[256];
    assert_int_equal(vm_disasm(blob, len, NULL, &text, err, sizeof err), VM_OK);
    assert_non_null(strstr(text, "args=1 locals=9 stack=4"));
    free(text);
    free(blob);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_examples),
        cmocka_unit_test(test_roundtrip_odd),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_auto_stack_and_locals),
    };
    return cmocka_run_group_tests_name("vm_asm", tests, NULL, NULL);
}
