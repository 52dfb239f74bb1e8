/* test_cap_crypto_tear.c — power cut at every NVM page write (tear_sweep)
 * of crypto APDUs through the cryptodriver applet (test/jca/cryptodriver.jca,
 * assembled at build time): setKey of a persistent AES key from K_old to
 * K_new, then a Cipher created, initialised and used with it. Afterwards
 * (image reopened from its file) the key is K_old or K_new, never a mix:
 * exactly one of the two known answers holds, K_old = FIPS-197 C.1's key
 * (00..0f: 00112233..ff -> 69c4e0d8..c55a) and K_new = SP 800-38A F.1.1's
 * (2b7e1516..: 6bc1bee2..172a -> 3ad77bb4..ef97). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "cap_testfile.h"
#include "tear.h"
#include "vm.h"
#include "vmtest.h"

static const uint8_t PKG[] = { 0xF0, 0x63, 0x61, 0x72, 0x64, 0x76, 0x6D, 0x02 };
static const uint8_t APP[] = { 0xF0, 0x63, 0x61, 0x72, 0x64, 0x76, 0x6D, 0x02, 0x01 };
static const uint8_t BARRAY[] = { 9, 0xF0, 0x63, 0x61, 0x72, 0x64, 0x76, 0x6D, 0x02, 0x01, 1, 0, 0 };
#define SELECT "00A4040009F063617264766D0201"

typedef struct tctx {
    vt_card k;
} tctx;

static uint16_t send(tctx *t, const char *hex, uint8_t *resp, size_t *rlen)
{
    return vt_send_hex_or_cut(&t->k, hex, resp, rlen);
}

static chip *chip_of(void *ctx) { return ((tctx *)ctx)->k.c; }

static void power_on(void *ctx)
{
    vt_reset(&((tctx *)ctx)->k);
}

static void teardown(void *ctx)
{
    tctx *t = ctx;
    vt_card_free(&t->k);
    free(t);
}

static void *setup(void *arg)
{
    (void)arg;
    tctx *t = calloc(1, sizeof *t);
    assert_non_null(t);
    vt_card_new(&t->k, NULL);
    size_t len;
    uint8_t *lf = cap_test_load_file(CRYPTO_CAP, &len);
    assert_non_null(lf);
    char err[256];
    uint16_t sw;
    assert_int_equal(vm_load_package(t->k.rt, lf, len, 0, err, sizeof err), VM_OK);
    free(lf);
    assert_int_equal(vm_install(t->k.rt, PKG, sizeof PKG, APP, sizeof APP, APP, sizeof APP, BARRAY, sizeof BARRAY,
                                &sw), VM_OK);
    vt_commit(&t->k);
    uint8_t r[300];
    size_t n;
    assert_int_equal(send(t, SELECT, r, &n), 0x9000);
    assert_int_equal(send(t, "80100F01020080", r, &n), 0x9000);   /* AES-128 key in slot 1 */
    assert_int_equal(send(t, "8012010110000102030405060708090a0b0c0d0e0f", r, &n), 0x9000);
    return t;
}

static int run(void *ctx)
{
    uint8_t r[300];
    size_t n;
    if (send(ctx, "80120101102b7e151628aed2a6abf7158809cf4f3c", r, &n) != 0x9000)
        return 1;
    if (send(ctx, "80200E02", r, &n) != 0x9000 || send(ctx, "802202020101", r, &n) != 0x9000)
        return 2;
    return send(ctx, "80260002106bc1bee22e409f96e93d7e117393172a00", r, &n) == 0x9000 ? 0 : 3;
}

static int check(void *ctx, uint32_t cut_at)
{
    tctx *t = ctx;
    uint8_t r[300];
    size_t n;
    vt_reopen(&t->k, NULL);
    if (send(t, SELECT, r, &n) != 0x9000)
        return 1;
    /* a fresh ECB cipher (slot 5) with key slot 1 */
    if (send(t, "80200E05", r, &n) != 0x9000 || send(t, "802202050101", r, &n) != 0x9000)
        return 2;
    static const uint8_t c_old[] = { 0x69, 0xc4, 0xe0, 0xd8, 0x6a, 0x7b, 0x04, 0x30,
                                     0xd8, 0xcd, 0xb7, 0x80, 0x70, 0xb4, 0xc5, 0x5a };
    static const uint8_t c_new[] = { 0x3a, 0xd7, 0x7b, 0xb4, 0x0d, 0x7a, 0x36, 0x60,
                                     0xa8, 0x9e, 0xca, 0xf3, 0x24, 0x66, 0xef, 0x97 };
    if (send(t, "802600051000112233445566778899aabbccddeeff00", r, &n) != 0x9000 || n != 16)
        return 3;
    int is_old = memcmp(r, c_old, 16) == 0;
    if (send(t, "80260005106bc1bee22e409f96e93d7e117393172a00", r, &n) != 0x9000 || n != 16)
        return 4;
    int is_new = memcmp(r, c_new, 16) == 0;
    if (is_old == is_new || (cut_at == 0 && !is_new)) {
        fprintf(stderr, "cut at %u: key old %d new %d\n", cut_at, is_old, is_new);
        return 5;
    }
    return 0;
}

static void test_tear_crypto_setkey_cipher(void **state)
{
    (void)state;
    tear_scenario s = { "crypto setKey + Cipher", setup, chip_of, run, power_on, check, teardown };
    uint32_t n = tear_sweep(&s, NULL);
    print_message("crypto setKey + Cipher: %u write indexes cut\n", n);
    assert_true(n > 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tear_crypto_setkey_cipher),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
