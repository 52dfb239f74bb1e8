/* test_cap_crypto_tear.c — power cut at every NVM page write (tear_sweep)
 * of crypto APDUs through the cryptodriver applet (test/jca/cryptodriver.jca,
 * assembled at build time): setKey of a persistent AES key from K_old to
 * K_new, then a Cipher created, initialised and used with it. Afterwards
 * (image reopened from its file) the key is K_old or K_new, never a mix:
 * exactly one of the two known answers holds, K_old = FIPS-197 C.1's key
 * (00..0f: 00112233..ff -> 69c4e0d8..c55a) and K_new = SP 800-38A F.1.1's
 * (2b7e1516..: 6bc1bee2..172a -> 3ad77bb4..ef97).
 *
 * The same for an AEADCipher (test/jca/aeadtest.jca): getInstance(ALG_AES_GCM)
 * and its init with a nonce (the NVM writes), AAD, doFinal and the tag of
 * the GCM specification's test case 4. Afterwards the object is either not
 * there, or there and not initialized (INVALID_INIT), or initialized with
 * the key and mode, where a reset has put it back to the zero IV (the
 * ciphertext and tag of 16 zero bytes under that key and a 12-byte zero
 * IV, computed with python3-cryptography); and a new GCM object gives
 * test case 4 again. */
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

/* ---- AEADCipher ---- */

static const uint8_t AEAD_PKG[] = { 0xF0, 0x63, 0x61, 0x72, 0x64, 0x76, 0x6D, 0x05 };
static const uint8_t AEAD_APP[] = { 0xF0, 0x63, 0x61, 0x72, 0x64, 0x76, 0x6D, 0x05, 0x01 };
static const uint8_t AEAD_BARRAY[] = { 9, 0xF0, 0x63, 0x61, 0x72, 0x64, 0x76, 0x6D, 0x05, 0x01, 1, 0, 0 };
#define AEAD_SELECT "00A4040009F063617264766D0501"
#define GCM_K1 "feffe9928665731c6d6a8f9467308308"
#define GCM_IV1 "cafebabefacedbaddecaf888"
#define GCM_A "feedfacedeadbeeffeedfacedeadbeefabaddad2"
#define GCM_P60 "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72" \
                "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39"
static const char TC4_C[] = "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e"
                            "21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091";
static const char TC4_T[] = "5bc94fbc3221a5db94fae95ae7121a47";
static const char ZERO_IV_CT[] = "4ab0b4e2247071df7ec89da41518f3ad";
static const char ZERO_IV_T[] = "f0ee0f79d70786bbb8e3921dbe3753a3";

static int hex_is(const uint8_t *r, size_t n, const char *hex)
{
    uint8_t want[128];
    int wn = vt_hex(hex, want, sizeof want);
    return wn >= 0 && (size_t)wn == n && memcmp(r, want, n) == 0;
}

static void *aead_setup(void *arg)
{
    (void)arg;
    tctx *t = calloc(1, sizeof *t);
    assert_non_null(t);
    vt_card_new(&t->k, NULL);
    size_t len;
    uint8_t *lf = cap_test_load_file(AEAD_CAP, &len);
    assert_non_null(lf);
    char err[256];
    uint16_t sw;
    assert_int_equal(vm_load_package(t->k.rt, lf, len, 0, err, sizeof err), VM_OK);
    free(lf);
    assert_int_equal(vm_install(t->k.rt, AEAD_PKG, sizeof AEAD_PKG, AEAD_APP, sizeof AEAD_APP, AEAD_APP,
                                sizeof AEAD_APP, AEAD_BARRAY, sizeof AEAD_BARRAY, &sw), VM_OK);
    vt_commit(&t->k);
    uint8_t r[300];
    size_t n;
    assert_int_equal(send(t, AEAD_SELECT, r, &n), 0x9000);
    assert_int_equal(send(t, "8010000010" GCM_K1, r, &n), 0x9000);
    return t;
}

/* GCM test case 4 on object `slot` (a hex digit), a new one if `make`. */
static int gcm_tc4(tctx *t, const char *slot, int make)
{
    uint8_t r[300];
    size_t n;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "8020F30%s", slot);
    if (make && send(t, cmd, r, &n) != 0x9000)
        return 1;
    snprintf(cmd, sizeof cmd, "8022020%s0C" GCM_IV1, slot);
    if (send(t, cmd, r, &n) != 0x9000)
        return 2;
    snprintf(cmd, sizeof cmd, "8024000%s14" GCM_A, slot);
    if (send(t, cmd, r, &n) != 0x9000)
        return 3;
    snprintf(cmd, sizeof cmd, "8028000%s3C" GCM_P60 "00", slot);
    if (send(t, cmd, r, &n) != 0x9000 || !hex_is(r, n, TC4_C))
        return 4;
    snprintf(cmd, sizeof cmd, "802A100%s00", slot);
    if (send(t, cmd, r, &n) != 0x9000 || !hex_is(r, n, TC4_T))
        return 5;
    return 0;
}

static int aead_run(void *ctx)
{
    return gcm_tc4(ctx, "0", 1);
}

static int aead_check(void *ctx, uint32_t cut_at)
{
    tctx *t = ctx;
    uint8_t r[300];
    size_t n;
    vt_reopen(&t->k, NULL);
    if (send(t, AEAD_SELECT, r, &n) != 0x9000)
        return 10;
    /* object 0: not made (null: 6FEE), made but not initialized, or
     * initialized and back at the zero IV */
    uint16_t sw = send(t, "8028000010" "00000000000000000000000000000000" "00", r, &n);
    int state;
    if (sw == 0x6FEE)
        state = 0;
    else if (sw == 0x6F04)
        state = 1;
    else if (sw == 0x9000 && hex_is(r, n, ZERO_IV_CT) && send(t, "802A100000", r, &n) == 0x9000 &&
             hex_is(r, n, ZERO_IV_T))
        state = 2;
    else {
        fprintf(stderr, "cut at %u: object 0 answers %04X\n", cut_at, sw);
        return 11;
    }
    if (cut_at == 0 && state != 2)
        return 12;
    int rc = gcm_tc4(t, "1", 1);
    if (rc)
        fprintf(stderr, "cut at %u: a new GCM object fails at step %d\n", cut_at, rc);
    return rc ? 20 + rc : 0;
}

static void test_tear_aead_gcm(void **state)
{
    (void)state;
    tear_scenario s = { "AEADCipher GCM", aead_setup, chip_of, aead_run, power_on, aead_check, teardown };
    uint32_t n = tear_sweep(&s, NULL);
    print_message("AEADCipher GCM: %u write indexes cut\n", n);
    assert_true(n > 1);
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
        cmocka_unit_test(test_tear_aead_gcm),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
