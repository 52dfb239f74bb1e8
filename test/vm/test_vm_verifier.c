/*
 * test_vm_verifier.c — malformed packages are refused with no NVM change,
 * and random mutations of valid packages never crash the verifier (or the
 * disassembler).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "package.h"
#include "vm_asm.h"
#include "vmtest.h"

static const char *HEAD = ".package A0000000FF0201 1.0\n.static s 0\n.class C\n.field f\n";

static void refuse_blob(vt_card *k, const char *what, const uint8_t *blob, size_t len, const char *why)
{
    uint8_t *snap = vt_nvm_snapshot(k);
    char err[256] = "";
    int rc = vm_load_package(k->rt, blob, len, 0, err, sizeof err);
    if (rc != VM_ERR_VERIFY)
        fail_msg("%s: expected refusal, got %s (%s)", what, vm_strerror(rc), err);
    if (why && !strstr(err, why))
        fail_msg("%s: expected a message with '%s', got '%s'", what, why, err);
    if (!vt_nvm_same(k, snap))
        fail_msg("%s: NVM changed by a refused package", what);
    assert_false(chip_is_dirty(k->c));
    free(snap);
}

static void refuse_src(vt_card *k, const char *what, const char *body, const char *why)
{
    char src[2048];
    snprintf(src, sizeof src, "%s%s", HEAD, body);
    uint8_t *blob;
    size_t len;
    vt_asm(src, &blob, &len);
    refuse_blob(k, what, blob, len, why);
    free(blob);
}

static void rehash(uint8_t *blob, size_t len)
{
    vm_sha256(blob, len - 32, blob + len - 32);
}

static void test_malformed(void **state)
{
    (void)state;
    vt_card k;
    vt_card_new(&k, NULL);
    size_t len;
    uint8_t *good = vt_example("wallet", &len);
    uint8_t *b = malloc(len + 64);

    /* truncated: raw, and cut with a valid hash over what is left */
    refuse_blob(&k, "truncated raw", good, len - 1, "SHA-256");
    for (size_t cut = 40; cut < len - 32; cut += 37) {
        memcpy(b, good, cut);
        vm_sha256(b, cut, b + cut);
        refuse_blob(&k, "truncated rehashed", b, cut + 32, NULL);
    }
    refuse_blob(&k, "tiny", good, 10, "too short");
    /* bad hash */
    memcpy(b, good, len);
    b[len - 1] ^= 1;
    refuse_blob(&k, "bad hash", b, len, "SHA-256");
    /* a flipped byte in the body with the old hash */
    memcpy(b, good, len);
    b[len / 2] ^= 0x40;
    refuse_blob(&k, "body changed", b, len, "SHA-256");
    /* bad magic, format version, kind (rehashed) */
    memcpy(b, good, len); b[0] = 'X'; rehash(b, len);
    refuse_blob(&k, "magic", b, len, "magic");
    memcpy(b, good, len); b[4] = 2; rehash(b, len);
    refuse_blob(&k, "format", b, len, "format version");
    memcpy(b, good, len); b[5] = 9; rehash(b, len);
    refuse_blob(&k, "kind", b, len, "kind");
    /* trailing garbage before the hash */
    memcpy(b, good, len - 32); b[len - 32] = 0; vm_sha256(b, len - 31, b + len - 31);
    refuse_blob(&k, "trailing", b, len + 1, "unexpected bytes");

    /* code-level faults */
    refuse_src(&k, "branch into an operand",
               ".method m static stack=1\n sspush 1\n pop\n goto @-3\n.end\n", "middle of an instruction");
    refuse_src(&k, "branch outside", ".method m static stack=1\n goto @100\n.end\n", "outside the method");
    refuse_src(&k, "stack overflow path",
               ".method m static stack=1\n sconst_1\n ifeq x\n sconst_1\n sconst_2\n pop2\nx: return\n.end\n",
               "exceeds max_stack");
    refuse_src(&k, "stack underflow", ".method m static stack=2\n pop\n return\n.end\n", "needs 1 stack words");
    refuse_src(&k, "paths meet differently",
               ".method m static stack=3\n sconst_1\n ifeq x\n sconst_1\nx: return\n.end\n", "stack depths");
    refuse_src(&k, "out-of-range local", ".method m static args=1 locals=1 stack=1\n sload 2\n pop\n return\n.end\n",
               "local 2 out of range");
    refuse_src(&k, "out-of-range local _3", ".method m static args=0 locals=2 stack=1\n sload_3\n pop\n return\n.end\n",
               "local 3 out of range");
    refuse_src(&k, "unknown opcode", ".method m static stack=1\n .db 0xFE\n return\n.end\n", "unknown opcode 0xfe");
    refuse_src(&k, "int opcode", ".method m static stack=2\n .db 0x12 1\n return\n.end\n", "unknown opcode 0x12");
    refuse_src(&k, "unknown token", ".cp raw 6 0x09 0x99 0\n.method m static stack=1\n invokestatic #0\n return\n.end\n",
               "unknown native token");
    refuse_src(&k, "extension token unprivileged", ".cp raw 6 0x80 0x00 0\n.method m static stack=1\n return\n.end\n",
               "unknown native token");
    refuse_src(&k, "constant out of range", ".method m static stack=1\n getstatic_s #7\n pop\n return\n.end\n",
               "constant 7 out of range");
    refuse_src(&k, "constant of the wrong kind", ".cp class C\n.method m static stack=1\n getstatic_s #0\n pop\n return\n.end\n",
               "needs a constant");
    refuse_src(&k, "bad handler range",
               ".method m static stack=1\ns: sconst_1\n pop\ne: return\n.catch @0 @9 @3 any\n.end\n", "bad range");
    refuse_src(&k, "handler end inside instruction",
               ".method m static stack=1\n sspush 1\n pop\n return\n.catch @0 @1 @4 any\n.end\n", "bad range");
    refuse_src(&k, "handler entry inside instruction",
               ".method m static stack=1\n sspush 1\n pop\n return\n.catch @0 @3 @2 any\n.end\n", "not an instruction");
    refuse_src(&k, "falls off the end", ".method m static stack=1\n sconst_1\n pop\n.end\n", "falls off");
    refuse_src(&k, "sreturn in void", ".method m static stack=1\n sconst_1\n sreturn\n.end\n", "void method");
    refuse_src(&k, "getfield_this in static", ".method m static stack=1\n getfield_s_this C.f\n pop\n return\n.end\n",
               "static method");
    refuse_src(&k, "bad dup_x", ".method m static stack=4\n sconst_1\n dup_x 1 7\n return\n.end\n", "dup_x");
    refuse_src(&k, "unsorted lookupswitch",
               ".method m static stack=1\n sconst_1\n slookupswitch d 5:d 2:d\nd: return\n.end\n", "ascending");
    refuse_src(&k, "new of a system class", ".method m static stack=1\n new ISOException\n pop\n return\n.end\n",
               "system class");
    refuse_src(&k, "field slot out of range", ".cp raw 2 0 5 0\n.method m static stack=1\n return\n.end\n", "field 5");
    refuse_src(&k, "bad applet install",
               ".method inst static args=1 stack=1\n return\n.end\n.method proc args=2 stack=1\n return\n.end\n"
               ".applet A0000000FF020101 C install=inst process=proc\n", "install must be");

    /* the good package still loads after all that */
    char err[256];
    assert_int_equal(vm_load_package(k.rt, good, len, 0, err, sizeof err), VM_OK);
    /* and a second time is refused as a duplicate, without change */
    uint8_t *snap = vt_nvm_snapshot(&k);
    assert_int_equal(vm_load_package(k.rt, good, len, 0, err, sizeof err), VM_ERR_EXISTS);
    assert_true(vt_nvm_same(&k, snap));
    free(snap);
    free(b);
    free(good);
    vt_card_free(&k);
}

/* Random byte mutations of valid packages through the verifier: every one
 * is either refused or verified, never a crash (run under the sanitizers).
 * Half of the mutants get a fresh hash so the checks behind it are reached. */
/* A mutant the verifier accepted is loaded, installed and run: whatever it
 * does, the VM answers with a status word (sanitizers watch the rest). */
static void run_mutant(vt_card *k, const uint8_t *b, size_t len)
{
    vm_package p;
    if (vm_pkg_parse(b, len, &p, NULL, 0) != VM_OK)
        return;
    if (vm_load_package(k->rt, b, len, 0, NULL, 0) == VM_OK) {
        static const char *cmds[] = { "8010000000", "8001050000", "8002000000", "802000000431323334",
                                      "80300000020064", "8050000002", "8010000003616263" };
        for (unsigned i = 0; i < p.applet_count; i++) {
            uint16_t sw;
            static const uint8_t params[16] = { '1', '2', '3', '4' };
            if (vm_install(k->rt, p.aid.b, p.aid.len, p.applets[i].aid.b, p.applets[i].aid.len, NULL, 0, params,
                           p.applets[i].aid.b[p.applets[i].aid.len - 1] == 1 && p.aid.b[5] == 4 ? 16 : 4, &sw) != VM_OK)
                continue;
            uint8_t resp[300];
            size_t rlen;
            sw = 0;
            vm_select(k->rt, p.applets[i].aid.b, p.applets[i].aid.len, NULL, 0, resp, sizeof resp, &rlen, &sw);
            for (unsigned c = 0; c < sizeof cmds / sizeof cmds[0]; c++) {
                uint8_t apdu[64];
                int n = vt_hex(cmds[c], apdu, sizeof apdu);
                assert_int_equal(vm_process(k->rt, apdu, (size_t)n, resp, sizeof resp, &rlen, &sw), VM_OK);
            }
            vm_delete_instance(k->rt, p.applets[i].aid.b, p.applets[i].aid.len);
        }
        assert_int_equal(vm_delete_package(k->rt, p.aid.b, p.aid.len), VM_OK);
    }
    vm_pkg_free(&p);
}

static void test_fuzz(void **state)
{
    (void)state;
    vt_card k;
    vm_config cfg;
    vm_config_default(&cfg);
    cfg.budget = 50000;
    vt_card_new(&k, &cfg);
    const char *names[] = { "hello", "counter", "wallet", "crypto" };
    uint32_t seed = 12345;
    unsigned accepted = 0, total = 0;
    for (int e = 0; e < 4; e++) {
        size_t len;
        uint8_t *good = vt_example(names[e], &len);
        uint8_t *b = malloc(len);
        for (int iter = 0; iter < 1500; iter++) {
            memcpy(b, good, len);
            int flips = 1 + (int)((seed = seed * 1103515245u + 12345u) >> 16) % 4;
            for (int f = 0; f < flips; f++) {
                seed = seed * 1103515245u + 12345u;
                size_t at = (seed >> 8) % (len - 32);
                seed = seed * 1103515245u + 12345u;
                b[at] = (uint8_t)(seed >> 16);
            }
            if (iter & 1)
                rehash(b, len);
            char err[256];
            int rc = vm_verify(b, len, NULL, 0, err, sizeof err);
            assert_true(rc == VM_OK || rc == VM_ERR_VERIFY);
            char *text = NULL;
            if (vm_disasm(b, len, NULL, &text, err, sizeof err) == VM_OK)
                free(text);
            accepted += rc == VM_OK;
            total++;
            if (rc == VM_OK)
                run_mutant(&k, b, len);
        }
        free(b);
        free(good);
    }
    print_message("fuzz: %u of %u mutants verified (and run)\n", accepted, total);
    vt_card_free(&k);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_fuzz),
    };
    return cmocka_run_group_tests_name("vm_verifier", tests, NULL, NULL);
}
