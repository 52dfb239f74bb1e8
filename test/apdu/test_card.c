/* test_card.c — the card object: power, ATR, dispatch, response chaining
 * (61xx / GET RESPONSE, 6Cxx), per-APDU commit, bad input, many cards. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "apdu.h"
#include "atr.h"
#include "card.h"
#include "tear.h"

static char tmpdir[256];

static card *new_card(const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    unlink(path);
    chip_geometry g;
    chip_geometry_default(&g);
    chip *ch;
    assert_int_equal(chip_create(&g, path, &ch), CHIP_OK);
    uint8_t atr[33];
    size_t n = atr_default(atr);
    assert_int_equal(rom_identity_write(ch, atr, n), CHIP_OK);
    chip_end_masking(ch);
    assert_int_equal(chip_commit(ch), CHIP_OK);
    card *c;
    assert_int_equal(card_from_chip(ch, &c), CHIP_OK);
    assert_int_equal(card_power(c, CARD_COLD, NULL, NULL), 0);
    return c;
}

/* Send hex, return the response as uppercase hex (static buffer). */
static const char *xchg(card *c, const char *hex, size_t cap)
{
    static char out[2 * 70000];
    uint8_t cmd[1024];
    long n = hex_decode(hex, cmd, sizeof cmd);
    assert_true(n >= 0);
    uint8_t *rsp = malloc(CARD_MAX_RESPONSE);
    size_t len;
    assert_int_equal(card_transmit(c, cmd, (size_t)n, rsp, cap, &len), 0);
    hex_encode(rsp, len, out);
    free(rsp);
    return out;
}
#define X(c, hex) xchg((c), (hex), CARD_MAX_RESPONSE)

static void test_atr_is_t1_and_names_the_card(void **s)
{
    (void)s;
    card *c = new_card("atr.img");
    uint8_t atr[33];
    size_t n;
    card_power(c, CARD_COLD, atr, &n);
    assert_true(atr_is_valid(atr, n));
    assert_int_equal(atr[0], 0x3B);
    assert_int_equal(atr[2] & 0x0F, 1);                  /* TD1: T=1 */
    assert_non_null(memmem(atr, n, "cardvm", 6));
    card_close(c);
}

static void test_select_and_get_data(void **s)
{
    (void)s;
    card *c = new_card("sel.img");
    assert_string_equal(X(c, "00A4040008A00000015100000000"),
                        "6F108408A000000151000000A5049F6501FF9000");
    /* Partial selection: a prefix of the AID selects it too. */
    assert_string_equal(X(c, "00A4040007A000000151000000"), "6F108408A000000151000000A5049F6501FF9000");
    assert_string_equal(X(c, "00A4040008A00000015100000100"), "6A82");
    assert_string_equal(X(c, "00A404000CA0000001510000000102030400"), "6A82");
    card_close(c);
}

static void test_response_chaining_61xx_get_response(void **s)
{
    (void)s;
    card *c = new_card("chain.img");
    /* CPLC is 45 bytes. With Le absent: 61 2D, then GET RESPONSE. */
    assert_string_equal(X(c, "80CA9F7F"), "612D");
    const char *r = X(c, "00C0000010");                  /* 16 of 45 */
    assert_int_equal(strlen(r), 2 * 16 + 4);
    assert_string_equal(r + 32, "611D");
    r = X(c, "00C0000000");                              /* the remaining 29 */
    assert_int_equal(strlen(r), 2 * 29 + 4);
    assert_string_equal(r + 58, "9000");
    assert_string_equal(X(c, "00C0000000"), "6985");     /* nothing held any more */
    /* A transport that carries only 20 bytes (+SW) gets 61xx chaining. */
    r = xchg(c, "80CA9F7F00", 22);
    assert_int_equal(strlen(r), 2 * 20 + 4);
    assert_string_equal(r + 40, "6119");
    card_close(c);
}

static void test_wrong_le_6cxx_is_not_executed_twice(void **s)
{
    (void)s;
    card *c = new_card("le.img");
    assert_string_equal(X(c, "80EE0000040102030402"), "6C04");
    /* Re-sent with the right Le: the held answer, not a second execution. */
    assert_string_equal(X(c, "80EE00000401020304" "04"), "010203049000");
    /* An extended Le that is too small: data in pieces via 61xx. */
    assert_string_equal(X(c, "80EE000000000401020304" "0002"), "0102" "6102");
    assert_string_equal(X(c, "00C0000000"), "03049000");
    card_close(c);
}

static void test_malformed_apdus_answer_6700_and_change_nothing(void **s)
{
    (void)s;
    card *c = new_card("bad.img");
    chip_stats before, after;
    chip_get_stats(card_chip(c), &before);
    static const char *bad[] = {"80", "80DA00", "80DA004205112233", "80DA00420011", "80DA0042000003112233AA"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) assert_string_equal(X(c, bad[i]), "6700");
    uint8_t empty = 0;
    size_t len;
    uint8_t rsp[4];
    assert_int_equal(card_transmit(c, &empty, 0, rsp, sizeof rsp, &len), 0);
    assert_int_equal(len, 2);
    assert_int_equal(rsp[0], 0x67);
    chip_get_stats(card_chip(c), &after);
    assert_int_equal(before.nvm_page_writes, after.nvm_page_writes);
    assert_int_equal(before.commits, after.commits);
    card_close(c);
}

static void test_status_words_for_bad_class_ins_p1p2(void **s)
{
    (void)s;
    card *c = new_card("sw.img");
    assert_string_equal(X(c, "FFCA9F7F00"), "6E00");
    assert_string_equal(X(c, "80FF000000"), "6D00");
    assert_string_equal(X(c, "00A4080000"), "6A86");
    assert_string_equal(X(c, "80DA001101AA"), "6A86");
    assert_string_equal(X(c, "81CA9F7F00"), "6881");
    assert_string_equal(X(c, "84CA9F7F00"), "6882");
    assert_string_equal(X(c, "80CA123400"), "6A88");
    card_close(c);
}

static void test_put_data_commits_per_apdu(void **s)
{
    (void)s;
    card *c = new_card("put.img");
    char path[512];
    snprintf(path, sizeof path, "%s", chip_path(card_chip(c)));
    assert_string_equal(X(c, "80DA004203A1B2C3"), "9000");
    /* A reader (here: a second card object, read-only) sees the committed
     * data while the first card is powered and holds the image. */
    card *other;
    char err[256];
    assert_int_equal(card_open_ex(path, CHIP_OPEN_READ_ONLY, &other, err, sizeof err), 0);
    assert_int_equal(card_power(other, CARD_COLD, NULL, NULL), 0);
    assert_string_equal(X(other, "80CA004200"), "4203A1B2C39000");
    /* A reader cannot write: the commit fails, the card answers 6581. */
    assert_string_equal(X(other, "80DA004203010203"), "6581");
    card_close(other);
    /* A second writer waits for the lock, then gives up. (The holder's pid is
     * named to other processes: test/cli.) */
    assert_int_equal(card_open(path, &other, err, sizeof err), 0);
    chip_set_lock_wait(card_chip(other), 50);
    assert_int_equal(card_power(other, CARD_COLD, NULL, NULL), CHIP_ERR_BUSY);
    if (!strstr(chip_error(card_chip(other)), "card image in use"))
        fail_msg("'%s'", chip_error(card_chip(other)));
    /* Once the first card is powered off, the second one gets the image and
     * sees its latest state. */
    card_power_off(c);
    assert_int_equal(card_power(other, CARD_COLD, NULL, NULL), 0);
    assert_string_equal(X(other, "80CA004200"), "4203A1B2C39000");
    assert_string_equal(X(other, "80DA004203D4E5F6"), "9000");
    card_close(other);
    assert_int_equal(card_power(c, CARD_COLD, NULL, NULL), 0);
    assert_string_equal(X(c, "80CA004200"), "4203D4E5F69000");
    card_close(c);
}

static void test_many_cards_in_one_process(void **s)
{
    (void)s;
    card *cards[8];
    char name[32], cmd[64], want[64];
    for (int i = 0; i < 8; i++) {
        snprintf(name, sizeof name, "many%d.img", i);
        cards[i] = new_card(name);
    }
    for (int i = 0; i < 8; i++) {
        snprintf(cmd, sizeof cmd, "80DA00420201%02X", i);
        assert_string_equal(X(cards[i], cmd), "9000");
    }
    for (int i = 0; i < 8; i++) {
        snprintf(want, sizeof want, "420201%02X9000", i);
        assert_string_equal(X(cards[i], "80CA004200"), want);
        card_close(cards[i]);
    }
}

static void test_transmit_without_power_is_mute(void **s)
{
    (void)s;
    card *c = new_card("off.img");
    card_power_off(c);
    uint8_t cmd[] = {0x80, 0xCA, 0x9F, 0x7F, 0x00}, rsp[64];
    size_t len;
    assert_int_equal(card_transmit(c, cmd, sizeof cmd, rsp, sizeof rsp, &len), CHIP_ERR_POWER);
    card_close(c);
}

/* Power cut at every write index of PUT DATA: old value or new, never a mix. */
typedef struct put_ctx { card *c; } put_ctx;
static void *put_setup(void *arg)
{
    (void)arg;
    put_ctx *p = calloc(1, sizeof *p);
    p->c = new_card("tearput.img");
    assert_string_equal(X(p->c, "80DA0042080101010101010101"), "9000");
    return p;
}
static chip *put_chip(void *ctx) { return card_chip(((put_ctx *)ctx)->c); }
static int put_run(void *ctx)
{
    put_ctx *p = ctx;
    uint8_t cmd[] = {0x80, 0xDA, 0x00, 0x45, 0x03, 9, 9, 9};   /* allocates a new block */
    uint8_t cmd2[] = {0x80, 0xDA, 0x00, 0x42, 0x08, 2, 2, 2, 2, 2, 2, 2, 2};
    uint8_t rsp[16];
    size_t len;
    if (card_transmit(p->c, cmd, sizeof cmd, rsp, sizeof rsp, &len)) return -1;
    if (card_transmit(p->c, cmd2, sizeof cmd2, rsp, sizeof rsp, &len)) return -1;
    return 0;
}
static void put_power_on(void *ctx) { card_power(((put_ctx *)ctx)->c, CARD_COLD, NULL, NULL); }
static int put_check(void *ctx, uint32_t cut_at)
{
    put_ctx *p = ctx;
    char path[512];
    snprintf(path, sizeof path, "%s", chip_path(card_chip(p->c)));
    card_close(p->c);
    char err[256];
    if (card_open(path, &p->c, err, sizeof err)) return 1;
    card_power(p->c, CARD_COLD, NULL, NULL);
    const char *v42 = X(p->c, "80CA004200");
    if (strcmp(v42, "420801010101010101019000") && strcmp(v42, "420802020202020202029000")) return 2;
    const char *v45 = X(p->c, "80CA004500");
    if (strcmp(v45, "6A88") && strcmp(v45, "45030909099000")) return 3;
    if (cut_at == 0 && strcmp(X(p->c, "80CA004200"), "420802020202020202029000")) return 4;
    return 0;
}
static void put_teardown(void *ctx)
{
    put_ctx *p = ctx;
    card_close(p->c);
    free(p);
}
static void test_tear_sweep_put_data(void **s)
{
    (void)s;
    tear_scenario sc = {"PUT DATA", put_setup, put_chip, put_run, put_power_on, put_check, put_teardown};
    assert_true(tear_sweep(&sc, NULL) >= 3);
}

static void test_random_bytes_always_get_a_status_word(void **s)
{
    (void)s;
    card *c = new_card("fuzz.img");
    srand(1234);
    uint8_t cmd[300], rsp[CARD_MAX_RESPONSE > 70000 ? 70000 : CARD_MAX_RESPONSE];
    for (int i = 0; i < 20000; i++) {
        size_t n = (size_t)(rand() % 270);
        for (size_t k = 0; k < n; k++) cmd[k] = (uint8_t)rand();
        if (i % 3 == 0 && n >= 2) { cmd[0] = 0x80; cmd[1] = (uint8_t)(0xC0 + rand() % 48); }
        size_t len = 0;
        assert_int_equal(card_transmit(c, cmd, n, rsp, sizeof rsp, &len), 0);
        assert_true(len >= 2);
    }
    card_close(c);
}

int main(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/cardvm-test-card-XXXXXX");
    if (!mkdtemp(tmpdir)) return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_atr_is_t1_and_names_the_card),
        cmocka_unit_test(test_select_and_get_data),
        cmocka_unit_test(test_response_chaining_61xx_get_response),
        cmocka_unit_test(test_wrong_le_6cxx_is_not_executed_twice),
        cmocka_unit_test(test_malformed_apdus_answer_6700_and_change_nothing),
        cmocka_unit_test(test_status_words_for_bad_class_ins_p1p2),
        cmocka_unit_test(test_put_data_commits_per_apdu),
        cmocka_unit_test(test_many_cards_in_one_process),
        cmocka_unit_test(test_transmit_without_power_is_mute),
        cmocka_unit_test(test_tear_sweep_put_data),
        cmocka_unit_test(test_random_bytes_always_get_a_status_word),
    };
    int rc = cmocka_run_group_tests_name("card", tests, NULL, NULL);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmpdir);
    return rc;
}
