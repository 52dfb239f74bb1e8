/*
 * Random input to the card side in every session state: it must always
 * answer with a status word, never write outside the buffers it was given
 * (the buffers are heap blocks of the exact size, so ASan and valgrind see
 * any overrun), and leave the session in a defined state. Also random
 * responses to the host side and random key blocks.
 *
 * Deterministic: the seed is fixed unless SCP03_FUZZ_SEED is set; it is
 * printed so a failure can be replayed. SCP03_FUZZ_ROUNDS scales the count.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "scp03.h"
#include "scp03_internal.h"
#include "scp03_test_util.h"

static uint64_t rng_state;

static uint32_t rnd(void)
{
    /* xorshift64* */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (uint32_t)((rng_state * 0x2545F4914F6CDD1DULL) >> 32);
}

static uint32_t below(uint32_t n) { return n ? rnd() % n : 0; }

static unsigned rounds = 3000;

/* A random APDU, biased toward the shapes the card looks at. */
static size_t random_apdu(uint8_t *a, size_t cap, const uint8_t *valid, size_t valid_len)
{
    uint32_t kind = below(10);
    size_t len;
    if (kind < 3 && valid_len) {
        /* a valid wrapped command, mutated */
        len = valid_len;
        memcpy(a, valid, len);
        unsigned flips = 1 + below(4);
        for (unsigned i = 0; i < flips; i++) a[below((uint32_t)len)] ^= (uint8_t)(1u << below(8));
        if (below(4) == 0) len = below((uint32_t)len + 1);                    /* truncate */
        if (below(6) == 0 && len + 4 < cap) { for (int i = 0; i < 3; i++) a[len++] = (uint8_t)rnd(); }
        return len;
    }
    uint32_t r = below(100);
    if (r < 10) len = below(9);
    else if (r < 80) len = 4 + below(270);
    else len = below(700);
    if (len > cap) len = cap;
    for (size_t i = 0; i < len; i++) a[i] = (uint8_t)rnd();
    if (len >= 2 && below(2)) {
        static const uint8_t clas[] = { 0x80, 0x84, 0x00, 0x04, 0x81, 0x87, 0xE0, 0xC0, 0xC4, 0x8C, 0xFF, 0x0C, 0xA4 };
        static const uint8_t inss[] = { 0x50, 0x82, 0xF2, 0xCA, 0xE2, 0x5A, 0xE8 };
        a[0] = clas[below(sizeof clas)];
        a[1] = inss[below(sizeof inss)];
    }
    if (len >= 5 && below(2)) {
        /* make the length fields consistent: short or extended, with or without Le */
        if (below(3) == 0 && len >= 8) {
            size_t nc = len - 7 - (below(2) ? 2 : 0);
            if (nc == 0) nc = len - 7;
            a[4] = 0;
            a[5] = (uint8_t)(nc >> 8);
            a[6] = (uint8_t)nc;
        } else {
            size_t nc = len - 5 - (below(2) ? 1 : 0);
            if (nc > 255) nc = 255;
            if (nc == 0) nc = 1;
            a[4] = (uint8_t)nc;
        }
    }
    return len;
}

static unsigned n_process, n_reply, n_sw6982;
static int corrupt_mode; /* session bytes randomised: raw state may stay out of range */

static void check_one(card_fixture *f, const uint8_t *apdu, size_t len)
{
    size_t cap = len < SCP03_CARD_REPLY_MAX ? SCP03_CARD_REPLY_MAX : len;
    uint8_t *in = malloc(len ? len : 1);
    uint8_t *out = malloc(cap);
    assert_non_null(in);
    assert_non_null(out);
    if (len) memcpy(in, apdu, len);
    size_t out_len = (size_t)-1;
    uint16_t sw = 0;
    int rc = scp03_card_command(&f->s, &f->cfg, len ? in : NULL, len, out, cap, &out_len, &sw);
    if (rc != SCP03_CARD_REPLY && rc != SCP03_CARD_PROCESS) {
        print_hex("apdu", apdu, len);
        fprintf(stderr, "rc %d\n", rc);
        fail();
    }
    assert_true(sw != 0);
    assert_true(out_len <= cap);
    assert_true(scp03_card_state(&f->s) <= SCP03_STATE_ABORTED);
    if (!corrupt_mode) assert_true(f->s.state <= SCP03_STATE_ABORTED);
    if (rc == SCP03_CARD_REPLY) {
        n_reply++;
        n_sw6982 += sw == 0x6982;
        assert_true(out_len >= 2);
        assert_int_equal(out[out_len - 2], sw >> 8);
        assert_int_equal(out[out_len - 1], sw & 0xFF);
        if (sw == 0x6982) {
            /* a security error never leaves an open session */
            assert_true(f->s.state != SCP03_STATE_ACTIVE);
        }
    } else {
        n_process++;
        assert_int_equal(sw, 0x9000);
        assert_true(out_len <= len);
        assert_true(out_len >= 4);
        /* the application answers something; wrap it with an exact buffer */
        size_t rl = below(300);
        uint8_t *rd = malloc(rl ? rl : 1);
        assert_non_null(rd);
        for (size_t i = 0; i < rl; i++) rd[i] = (uint8_t)rnd();
        static const uint16_t sws[] = { 0x9000, 0x6A80, 0x6283, 0x6100, 0x6D00 };
        size_t wcap = rl + SCP03_WRAP_OVERHEAD + 2;
        uint8_t *w = malloc(wcap);
        assert_non_null(w);
        size_t wl = 0;
        int wrc = scp03_card_wrap_response(&f->s, rl ? rd : NULL, rl, sws[below(5)], w, wcap, &wl);
        if (corrupt_mode && wrc == SCP03_ERR_CRYPTO) {
            assert_int_equal(wl, 2);
            assert_int_equal(w[0], 0x6F);
        } else {
            assert_int_equal(wrc, SCP03_OK);
        }
        assert_true(wl <= wcap && wl >= 2);
        free(w);
        free(rd);
    }
    free(out);
    free(in);
}

/* Builds the card in the named state; returns a valid wrapped command for
 * it (for mutation) in valid/valid_len. */
enum { ST_NONE, ST_PENDING, ST_ABORTED, ST_ACTIVE };

static void make_state(card_fixture *f, scp03_host_session *h, int st, uint8_t level, uint8_t *valid,
                       size_t *valid_len)
{
    fixture_init(f, 16 + 8 * below(3), 0x70);
    *valid_len = 0;
    uint8_t plain[] = { 0x80, 0xE2, 0x91, 0x00, 0x06, 0xBF, 0x3E, 0x03, 0x5C, 0x01, 0x5A, 0x00 };
    if (st == ST_ACTIVE) {
        assert_int_equal(fixture_open(f, h, level), 0);
        if (level == 0x00) {
            memcpy(valid, plain, sizeof plain);
            *valid_len = sizeof plain;
        } else {
            assert_int_equal(scp03_host_wrap(h, plain, sizeof plain, valid, 512, valid_len), SCP03_OK);
        }
        return;
    }
    const scp03_keyset *ks = &f->ks[0];
    assert_int_equal(scp03_host_init(h, ks->enc, ks->mac, ks->key_len, test_aid, sizeof test_aid), SCP03_OK);
    if (st == ST_NONE) {
        return;
    }
    uint8_t hc[8] = { 1, 1, 2, 3, 5, 8, 13, 21 };
    uint8_t apdu[64], out[4096];   /* card_send promises the card 4096 bytes of room */
    size_t n = 0, on = 0;
    uint16_t sw = 0;
    assert_int_equal(scp03_host_initialize_update(h, ks->kvn, hc, apdu, sizeof apdu, &n), SCP03_OK);
    assert_int_equal(card_send(f, apdu, n, out, &on, &sw), SCP03_CARD_REPLY);
    assert_int_equal(scp03_host_check_initialize_update_response(h, out, on), SCP03_OK);
    assert_int_equal(scp03_host_external_authenticate(h, 0x33, valid, 512, valid_len), SCP03_OK);
    if (st == ST_ABORTED) {
        uint8_t junk[] = { 0x84, 0xF2, 0x00, 0x00, 0x08, 1, 2, 3, 4, 5, 6, 7, 8 };
        assert_int_equal(card_send(f, junk, sizeof junk, out, &on, &sw), SCP03_CARD_REPLY);
        assert_int_equal(scp03_card_state(&f->s), SCP03_STATE_ABORTED);
    }
}

static void fuzz_state(int st, uint8_t level)
{
    card_fixture f;
    scp03_host_session h;
    uint8_t valid[512];
    size_t valid_len = 0;
    make_state(&f, &h, st, level, valid, &valid_len);
    scp03_card_session base;
    memcpy(&base, &f.s, sizeof base);
    uint8_t apdu[800];
    /* single APDUs from the same starting state */
    for (unsigned i = 0; i < rounds; i++) {
        memcpy(&f.s, &base, sizeof base);
        size_t len = random_apdu(apdu, sizeof apdu, valid, valid_len);
        check_one(&f, apdu, len);
    }
    /* and a random walk without restoring */
    memcpy(&f.s, &base, sizeof base);
    for (unsigned i = 0; i < rounds / 3; i++) {
        size_t len = random_apdu(apdu, sizeof apdu, valid, valid_len);
        check_one(&f, apdu, len);
    }
    fprintf(stderr, "  state %d level %02X: %u passed to the application, %u answered (%u x 6982)\n", st,
            level, n_process, n_reply, n_sw6982);
    n_process = n_reply = n_sw6982 = 0;
    /* the state recovers through a proper INITIALIZE UPDATE */
    scp03_host_session h2;
    assert_int_equal(fixture_open(&f, &h2, 0x33), 0);
    assert_int_equal(scp03_card_state(&f.s), SCP03_STATE_ACTIVE);
}

static void test_fuzz_none(void **state) { (void)state; fuzz_state(ST_NONE, 0); }
static void test_fuzz_pending(void **state) { (void)state; fuzz_state(ST_PENDING, 0); }
static void test_fuzz_aborted(void **state) { (void)state; fuzz_state(ST_ABORTED, 0); }

static void test_fuzz_active(void **state)
{
    (void)state;
    static const uint8_t levels[] = { 0x00, 0x01, 0x03, 0x11, 0x13, 0x33 };
    for (size_t i = 0; i < sizeof levels; i++) {
        fuzz_state(ST_ACTIVE, levels[i]);
    }
}

/* Random bytes where a session struct should be (corrupted RAM): the card
 * must still answer with a status word and not crash. */
static void test_fuzz_corrupt_session(void **state)
{
    (void)state;
    card_fixture f;
    fixture_init(&f, 16, 0x70);
    uint8_t apdu[800];
    corrupt_mode = 1;
    for (unsigned i = 0; i < rounds / 3; i++) {
        uint8_t *p = (uint8_t *)&f.s;
        size_t span = below(4) == 0 ? sizeof f.s : 16;              /* flags only, or everything */
        for (size_t k = 0; k < span; k++) p[k] = (uint8_t)rnd();
        f.s.state = (uint8_t)below(6);
        size_t len = random_apdu(apdu, sizeof apdu, NULL, 0);
        check_one(&f, apdu, len);
    }
    corrupt_mode = 0;
}

static void test_fuzz_host_unwrap(void **state)
{
    (void)state;
    static const uint8_t levels[] = { 0x01, 0x03, 0x11, 0x13, 0x33 };
    for (size_t li = 0; li < sizeof levels; li++) {
        card_fixture f;
        scp03_host_session h;
        fixture_init(&f, 32, 0x70);
        assert_int_equal(fixture_open(&f, &h, levels[li]), 0);
        scp03_host_session base = h;
        for (unsigned i = 0; i < rounds / 3; i++) {
            h = base;
            size_t len = below(320);
            uint8_t *rsp = malloc(len ? len : 1);
            assert_non_null(rsp);
            for (size_t k = 0; k < len; k++) rsp[k] = (uint8_t)rnd();
            if (len >= 2 && below(2)) { rsp[len - 2] = 0x90; rsp[len - 1] = 0x00; }
            size_t cap = len;
            uint8_t *data = malloc(cap ? cap : 1);
            assert_non_null(data);
            size_t dl = 0;
            uint16_t sw = 0;
            int rc = scp03_host_unwrap(&h, rsp, len, data, cap, &dl, &sw);
            assert_true(rc <= 0);
            if (rc == SCP03_OK) {
                assert_true(dl <= cap);
            }
            free(data);
            free(rsp);
        }
    }
}

static void test_fuzz_key_blocks(void **state)
{
    (void)state;
    uint8_t dek[16] = { 1, 2, 3 };
    for (unsigned i = 0; i < rounds; i++) {
        size_t len = below(50);
        uint8_t *in = malloc(len ? len : 1);
        assert_non_null(in);
        for (size_t k = 0; k < len; k++) in[k] = (uint8_t)rnd();
        if (len > 0 && below(2)) in[0] = 0x88;
        if (len > 1 && below(2)) in[1] = (uint8_t)(0x10 + 0x10 * below(2) + below(2));
        uint8_t key[32];
        size_t used = 0, kl = 0;
        int rc = scp03_key_block_decrypt(dek, 16, in, len, &used, key, &kl);
        assert_true(rc == SCP03_ERR_FORMAT || rc == SCP03_ERR_AUTH || rc == SCP03_OK);
        if (rc == SCP03_OK) assert_true(used <= len);
        free(in);
    }
}

int main(void)
{
    const char *seed = getenv("SCP03_FUZZ_SEED");
    rng_state = seed ? strtoull(seed, NULL, 0) : 0x5C03F0220ULL;
    if (rng_state == 0) rng_state = 1;
    const char *r = getenv("SCP03_FUZZ_ROUNDS");
    if (r) rounds = (unsigned)strtoul(r, NULL, 0);
    fprintf(stderr, "scp03 fuzz: seed 0x%llX, %u rounds per state\n", (unsigned long long)rng_state, rounds);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fuzz_none),
        cmocka_unit_test(test_fuzz_pending),
        cmocka_unit_test(test_fuzz_aborted),
        cmocka_unit_test(test_fuzz_active),
        cmocka_unit_test(test_fuzz_corrupt_session),
        cmocka_unit_test(test_fuzz_host_unwrap),
        cmocka_unit_test(test_fuzz_key_blocks),
    };
    return cmocka_run_group_tests_name("scp03_fuzz", tests, NULL, NULL);
}
