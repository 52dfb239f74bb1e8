/*
 * Card-side refusals: every way a command can be wrong, and what the
 * session looks like afterwards.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "scp03.h"
#include "scp03_internal.h"
#include "scp03_test_util.h"

static uint8_t out[4096];
static size_t out_len;
static uint16_t sw;

static const uint8_t plain_case4[] = { 0x80, 0xE2, 0x91, 0x00, 0x06, 0xBF, 0x3E, 0x03, 0x5C, 0x01, 0x5A, 0x00 };
static const uint8_t plain_case3[] = { 0x80, 0xF2, 0x20, 0x02, 0x03, 0x4F, 0x01, 0x02 };

static size_t wrap(scp03_host_session *h, const uint8_t *plain, size_t len, uint8_t *buf)
{
    size_t n = 0;
    assert_int_equal(scp03_host_wrap(h, plain, len, buf, 512, &n), SCP03_OK);
    return n;
}

static void expect(card_fixture *f, const uint8_t *apdu, size_t len, int rc_want, uint16_t sw_want)
{
    int rc = card_send(f, apdu, len, out, &out_len, &sw);
    if (rc != rc_want || sw != sw_want) {
        print_hex("apdu", apdu, len);
        fprintf(stderr, "rc %d (want %d) sw %04X (want %04X)\n", rc, rc_want, sw, sw_want);
    }
    assert_int_equal(rc, rc_want);
    assert_int_equal(sw, sw_want);
    if (rc_want == SCP03_CARD_REPLY && sw_want != 0x9000) {
        assert_int_equal(out_len, 2);
        assert_int_equal(out[0], sw_want >> 8);
        assert_int_equal(out[1], sw_want & 0xFF);
    }
}

static int all_zero(const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++) {
        if (b[i]) return 0;
    }
    return 1;
}

/* After an abort nothing secret may remain, and everything is refused. */
static void assert_aborted(card_fixture *f, scp03_host_session *h)
{
    assert_int_equal(scp03_card_state(&f->s), SCP03_STATE_ABORTED);
    assert_int_equal(scp03_card_security_level(&f->s), 0);
    assert_true(all_zero(f->s.s_enc, sizeof f->s.s_enc));
    assert_true(all_zero(f->s.s_mac, sizeof f->s.s_mac));
    assert_true(all_zero(&f->s.mac, sizeof f->s.mac));
    assert_true(all_zero(&f->s.enc, sizeof f->s.enc));
    uint8_t buf[512];
    if (h != NULL && h->state == SCP03_HOST_ACTIVE) {
        size_t n = wrap(h, plain_case3, sizeof plain_case3, buf);
        expect(f, buf, n, SCP03_CARD_REPLY, 0x6982);
    }
    expect(f, plain_case3, sizeof plain_case3, SCP03_CARD_REPLY, 0x6982);
    assert_int_equal(scp03_card_state(&f->s), SCP03_STATE_ABORTED);
}

/* ---------------- EXTERNAL AUTHENTICATE ---------------- */

static void open_pending(card_fixture *f, scp03_host_session *h)
{
    const scp03_keyset *ks = &f->ks[0];
    assert_int_equal(scp03_host_init(h, ks->enc, ks->mac, ks->key_len, test_aid, sizeof test_aid), SCP03_OK);
    uint8_t hc[8] = { 9, 8, 7, 6, 5, 4, 3, 2 };
    uint8_t apdu[64];
    size_t n = 0;
    assert_int_equal(scp03_host_initialize_update(h, ks->kvn, hc, apdu, sizeof apdu, &n), SCP03_OK);
    expect(f, apdu, n, SCP03_CARD_REPLY, 0x9000);
    assert_int_equal(scp03_host_check_initialize_update_response(h, out, out_len), SCP03_OK);
    assert_int_equal(scp03_card_state(&f->s), SCP03_STATE_PENDING);
}

static void test_wrong_host_cryptogram(void **state)
{
    (void)state;
    for (int byte = 5; byte < 13; byte++) {
        card_fixture f;
        scp03_host_session h;
        fixture_init(&f, 16, 0x70);
        open_pending(&f, &h);
        uint8_t apdu[64];
        size_t n = 0;
        assert_int_equal(scp03_host_external_authenticate(&h, 0x33, apdu, sizeof apdu, &n), SCP03_OK);
        apdu[byte] ^= 0x10;
        expect(&f, apdu, n, SCP03_CARD_REPLY, 0x6300);
        assert_int_equal(scp03_card_state(&f.s), SCP03_STATE_NONE);
        assert_int_equal(scp03_card_security_level(&f.s), 0);
        assert_true(all_zero(&f.s, sizeof f.s));
        /* the genuine one is too late now: the challenge is spent */
        apdu[byte] ^= 0x10;
        expect(&f, apdu, n, SCP03_CARD_REPLY, 0x6982);
        /* secured traffic finds no session */
        uint8_t buf[512];
        size_t m = wrap(&h, plain_case3, sizeof plain_case3, buf);
        expect(&f, buf, m, SCP03_CARD_REPLY, 0x6982);
        /* unsecured traffic still goes to the application */
        expect(&f, plain_case3, sizeof plain_case3, SCP03_CARD_PROCESS, 0x9000);
    }
}

static void test_ext_auth_bad_mac(void **state)
{
    (void)state;
    card_fixture f;
    scp03_host_session h;
    fixture_init(&f, 32, 0x70);
    open_pending(&f, &h);
    uint8_t apdu[64];
    size_t n = 0;
    assert_int_equal(scp03_host_external_authenticate(&h, 0x01, apdu, sizeof apdu, &n), SCP03_OK);
    apdu[20] ^= 0x01;
    expect(&f, apdu, n, SCP03_CARD_REPLY, 0x6982);
    assert_aborted(&f, NULL);
}

static void test_ext_auth_forbidden_levels(void **state)
{
    (void)state;
    static const uint8_t i_values[] = { 0x00, 0x10, 0x20, 0x30, 0x60, 0x70 };
    for (size_t iv = 0; iv < sizeof i_values; iv++) {
        for (unsigned level = 0; level < 256; level++) {
            card_fixture f;
            scp03_host_session h;
            fixture_init(&f, 16, i_values[iv]);
            open_pending(&f, &h);
            uint8_t apdu[64];
            size_t n = 0;
            /* a valid EXTERNAL AUTHENTICATE, then P1 replaced: P1 is checked first */
            assert_int_equal(scp03_host_external_authenticate(&h, 0x01, apdu, sizeof apdu, &n), SCP03_OK);
            apdu[2] = (uint8_t)level;
            int allowed = level == 0x00 || level == 0x01 || level == 0x03 ||
                          ((level == 0x11 || level == 0x13) && (i_values[iv] & 0x20)) ||
                          (level == 0x33 && (i_values[iv] & 0x40));
            if (allowed) {
                /* right level, but the C-MAC covered P1 = 01 */
                int rc = card_send(&f, apdu, n, out, &out_len, &sw);
                assert_int_equal(rc, SCP03_CARD_REPLY);
                assert_int_equal(sw, level == 0x01 ? 0x9000 : 0x6982);
                /* and the host refuses nothing it may build */
                fixture_init(&f, 16, i_values[iv]);
                open_pending(&f, &h);
                assert_int_equal(scp03_host_external_authenticate(&h, (uint8_t)level, apdu, sizeof apdu, &n),
                                 SCP03_OK);
                expect(&f, apdu, n, SCP03_CARD_REPLY, 0x9000);
                assert_int_equal(scp03_card_security_level(&f.s), 0x80 | level);
            } else {
                expect(&f, apdu, n, SCP03_CARD_REPLY, 0x6A86);
                assert_int_equal(scp03_card_state(&f.s), SCP03_STATE_NONE);
                /* and the host side will not build one either */
                fixture_init(&f, 16, i_values[iv]);
                open_pending(&f, &h);
                assert_int_equal(scp03_host_external_authenticate(&h, (uint8_t)level, apdu, sizeof apdu, &n),
                                 SCP03_ERR_PARAM);
            }
        }
    }
}

static void test_ext_auth_format(void **state)
{
    (void)state;
    card_fixture f;
    scp03_host_session h;
    uint8_t apdu[64];
    size_t n = 0;

    /* P2 must be 00 */
    fixture_init(&f, 16, 0x70);
    open_pending(&f, &h);
    assert_int_equal(scp03_host_external_authenticate(&h, 0x01, apdu, sizeof apdu, &n), SCP03_OK);
    apdu[3] = 0x01;
    expect(&f, apdu, n, SCP03_CARD_REPLY, 0x6A86);
    assert_int_equal(scp03_card_state(&f.s), SCP03_STATE_NONE);

    /* wrong Lc */
    fixture_init(&f, 16, 0x70);
    open_pending(&f, &h);
    assert_int_equal(scp03_host_external_authenticate(&h, 0x01, apdu, sizeof apdu, &n), SCP03_OK);
    apdu[4] = 0x0F;
    expect(&f, apdu, n - 1, SCP03_CARD_REPLY, 0x6700);
    assert_int_equal(scp03_card_state(&f.s), SCP03_STATE_NONE);

    /* unsecured CLA: the mandatory C-MAC is missing */
    fixture_init(&f, 16, 0x70);
    open_pending(&f, &h);
    assert_int_equal(scp03_host_external_authenticate(&h, 0x01, apdu, sizeof apdu, &n), SCP03_OK);
    apdu[0] = 0x80;
    expect(&f, apdu, n, SCP03_CARD_REPLY, 0x6982);
    assert_aborted(&f, NULL);

    /* without INITIALIZE UPDATE (handler called directly) */
    fixture_init(&f, 16, 0x70);
    apdu[0] = 0x84;
    assert_int_equal(scp03_card_external_authenticate(&f.s, apdu, n, out, sizeof out, &out_len, &sw),
                     SCP03_CARD_REPLY);
    assert_int_equal(sw, 0x6985);
    /* and through the dispatcher: a secured command without a session */
    expect(&f, apdu, n, SCP03_CARD_REPLY, 0x6982);
    assert_int_equal(scp03_card_state(&f.s), SCP03_STATE_NONE);
}

/* ---------------- tampering with session commands ---------------- */

static void test_flipped_bits(void **state)
{
    (void)state;
    static const uint8_t levels[] = { 0x01, 0x03, 0x11, 0x13, 0x33 };
    for (size_t li = 0; li < sizeof levels; li++) {
        /* one session for a clean wrap, to learn the length */
        card_fixture f;
        scp03_host_session h;
        fixture_init(&f, 24, 0x70);
        assert_int_equal(fixture_open(&f, &h, levels[li]), 0);
        uint8_t good[512];
        size_t n = wrap(&h, plain_case4, sizeof plain_case4, good);
        size_t le_at = n - 1; /* Le is not covered by the C-MAC (Amendment D 6.2.4) */
        for (size_t byte = 0; byte < n; byte++) {
            if (byte == le_at) continue;
            for (int bit = 0; bit < 8; bit++) {
                /* the logical channel number is outside the C-MAC by design */
                if (byte == 0 && bit < 2) continue;
                fixture_init(&f, 24, 0x70);
                assert_int_equal(fixture_open(&f, &h, levels[li]), 0);
                uint8_t buf[512];
                size_t m = wrap(&h, plain_case4, sizeof plain_case4, buf);
                assert_int_equal(m, n);
                buf[byte] ^= (uint8_t)(1u << bit);
                int rc = card_send(&f, buf, m, out, &out_len, &sw);
                if (rc != SCP03_CARD_REPLY || sw != 0x6982) {
                    fprintf(stderr, "level %02X byte %zu bit %d: rc %d sw %04X\n", levels[li], byte, bit,
                            rc, sw);
                    fail();
                }
                assert_aborted(&f, &h);
                /* the way back is a new INITIALIZE UPDATE */
                assert_int_equal(fixture_open(&f, &h, levels[li]), 0);
                m = wrap(&h, plain_case4, sizeof plain_case4, buf);
                expect(&f, buf, m, SCP03_CARD_PROCESS, 0x9000);
                assert_memory_equal(out, plain_case4, sizeof plain_case4);
            }
        }
    }
}

static void test_channel_bits_and_le(void **state)
{
    (void)state;
    /* Channel bits and Le are outside the MAC: changing them is not an
     * attack on the channel (the caller routes by channel), and the plain
     * command shows the change. */
    card_fixture f;
    scp03_host_session h;
    fixture_init(&f, 16, 0x70);
    assert_int_equal(fixture_open(&f, &h, 0x33), 0);
    uint8_t buf[512];
    size_t n = wrap(&h, plain_case4, sizeof plain_case4, buf);
    buf[0] |= 0x02;
    buf[n - 1] = 0x10;
    expect(&f, buf, n, SCP03_CARD_PROCESS, 0x9000);
    assert_int_equal(out[0], 0x82);
    assert_int_equal(out[out_len - 1], 0x10);
    assert_memory_equal(out + 1, plain_case4 + 1, sizeof plain_case4 - 2);
}

static void test_replay(void **state)
{
    (void)state;
    static const uint8_t levels[] = { 0x00, 0x01, 0x03, 0x33 };
    for (size_t li = 0; li < sizeof levels; li++) {
        card_fixture f;
        scp03_host_session h;
        fixture_init(&f, 16, 0x70);
        assert_int_equal(fixture_open(&f, &h, levels[li]), 0);
        uint8_t first[512], second[512];
        /* at level 00 the host does not wrap; a secured command is still verified */
        if (levels[li] == 0x00) {
            expect(&f, plain_case3, sizeof plain_case3, SCP03_CARD_PROCESS, 0x9000);
            continue;
        }
        size_t n1 = wrap(&h, plain_case3, sizeof plain_case3, first);
        expect(&f, first, n1, SCP03_CARD_PROCESS, 0x9000);
        assert_int_equal(scp03_card_wrap_response(&f.s, NULL, 0, 0x9000, out, sizeof out, &out_len), SCP03_OK);
        size_t n2 = wrap(&h, plain_case3, sizeof plain_case3, second);
        /* same plain command twice: different bytes (chaining, counter) */
        assert_true(n1 != n2 || memcmp(first, second, n1) != 0);
        expect(&f, first, n1, SCP03_CARD_REPLY, 0x6982);
        assert_aborted(&f, &h);
        expect(&f, second, n2, SCP03_CARD_REPLY, 0x6982);
    }
}

/* Builds a command at level 03 whose MAC is right but whose decrypted
 * data field is not '80 00..' padded, using the host's session keys. */
static size_t forge_padded(scp03_host_session *h, const uint8_t *plain_body, size_t body_len, uint8_t *buf)
{
    uint8_t ctr[16];
    memcpy(ctr, h->counter, 16);
    scp03_i_ctr_inc(ctr);
    buf[0] = 0x84;
    buf[1] = 0xF2;
    buf[2] = 0x20;
    buf[3] = 0x02;
    buf[4] = (uint8_t)(body_len + 8);
    memcpy(buf + 5, plain_body, body_len);
    if (body_len % 16 == 0) {
        assert_int_equal(scp03_i_cbc(&h->enc, ctr, 0, buf + 5, buf + 5, body_len), SCP03_OK);
    }
    uint8_t mac[16];
    assert_int_equal(scp03_i_cmac3(&h->mac, h->chain, 16, buf, 5, buf + 5, body_len, mac), SCP03_OK);
    memcpy(buf + 5 + body_len, mac, 8);
    return 5 + body_len + 8;
}

static void test_bad_padding(void **state)
{
    (void)state;
    uint8_t bodies[6][32];
    size_t lens[6] = { 16, 16, 16, 32, 16, 15 };
    memset(bodies, 0x41, sizeof bodies);            /* 0: no 80 at all */
    bodies[1][15] = 0x00;                           /* 1: all zero tail, no 80 */
    memset(bodies[1], 0, 16);
    bodies[2][10] = 0x80;                           /* 2: 80 then non-zero */
    bodies[2][11] = 0x00;
    bodies[2][12] = 0x01;
    memset(bodies[2] + 13, 0, 3);
    memset(bodies[3] + 16, 0, 16);                  /* 3: last block all zero */
    bodies[4][15] = 0x81;                           /* 4: wrong marker */
    /* 5: 15 bytes: not a whole block */
    for (int i = 0; i < 6; i++) {
        card_fixture f;
        scp03_host_session h;
        fixture_init(&f, 16, 0x70);
        assert_int_equal(fixture_open(&f, &h, 0x03), 0);
        uint8_t buf[512];
        size_t n = forge_padded(&h, bodies[i], lens[i], buf);
        int rc = card_send(&f, buf, n, out, &out_len, &sw);
        if (rc != SCP03_CARD_REPLY || sw != 0x6982) {
            fprintf(stderr, "padding case %d: rc %d sw %04X\n", i, rc, sw);
            fail();
        }
        assert_aborted(&f, NULL);
    }
    /* control: the same forging with correct padding is accepted */
    card_fixture f;
    scp03_host_session h;
    fixture_init(&f, 16, 0x70);
    assert_int_equal(fixture_open(&f, &h, 0x03), 0);
    uint8_t body[16] = { 0x4F, 0x00, 0x80 };
    uint8_t buf[512];
    size_t n = forge_padded(&h, body, 16, buf);
    expect(&f, buf, n, SCP03_CARD_PROCESS, 0x9000);
    static const uint8_t want[] = { 0x80, 0xF2, 0x20, 0x02, 0x02, 0x4F, 0x00 };
    assert_int_equal(out_len, sizeof want);
    assert_memory_equal(out, want, sizeof want);
}

static void test_secured_before_ext_auth(void **state)
{
    (void)state;
    card_fixture f;
    scp03_host_session h;
    fixture_init(&f, 16, 0x70);
    open_pending(&f, &h);
    /* an unsecured command passes while pending and leaves it pending */
    expect(&f, plain_case3, sizeof plain_case3, SCP03_CARD_PROCESS, 0x9000);
    assert_int_equal(scp03_card_state(&f.s), SCP03_STATE_PENDING);
    /* a secured one (a host that skipped EXTERNAL AUTHENTICATE) aborts */
    uint8_t buf[64] = { 0x84, 0xF2, 0x20, 0x02, 0x08, 1, 2, 3, 4, 5, 6, 7, 8 };
    expect(&f, buf, 13, SCP03_CARD_REPLY, 0x6982);
    assert_aborted(&f, NULL);
    /* the EXTERNAL AUTHENTICATE that would have been right is refused */
    uint8_t apdu[64];
    size_t n = 0;
    assert_int_equal(scp03_host_external_authenticate(&h, 0x01, apdu, sizeof apdu, &n), SCP03_OK);
    expect(&f, apdu, n, SCP03_CARD_REPLY, 0x6982);
    /* a new INITIALIZE UPDATE recovers */
    assert_int_equal(fixture_open(&f, &h, 0x01), 0);
    assert_int_equal(scp03_card_state(&f.s), SCP03_STATE_ACTIVE);
}

static void test_missing_secure_messaging(void **state)
{
    (void)state;
    static const uint8_t levels[] = { 0x01, 0x03, 0x11, 0x13, 0x33 };
    for (size_t li = 0; li < sizeof levels; li++) {
        card_fixture f;
        scp03_host_session h;
        fixture_init(&f, 16, 0x70);
        assert_int_equal(fixture_open(&f, &h, levels[li]), 0);
        expect(&f, plain_case3, sizeof plain_case3, SCP03_CARD_REPLY, 0x6982);
        assert_aborted(&f, &h);
    }
    /* at level 00 an unsecured command is what is expected */
    card_fixture f;
    scp03_host_session h;
    fixture_init(&f, 16, 0x70);
    assert_int_equal(fixture_open(&f, &h, 0x00), 0);
    expect(&f, plain_case3, sizeof plain_case3, SCP03_CARD_PROCESS, 0x9000);
    assert_int_equal(scp03_card_wrap_response(&f.s, (const uint8_t *)"\x01\x02", 2, 0x9000, out, sizeof out,
                                              &out_len), SCP03_OK);
    assert_int_equal(out_len, 4);
    assert_int_equal(scp03_card_state(&f.s), SCP03_STATE_ACTIVE);
    /* ISO secure messaging (CLA b4) is not SCP03's: refused */
    uint8_t iso[] = { 0x0C, 0xB0, 0x00, 0x00, 0x08, 1, 2, 3, 4, 5, 6, 7, 8 };
    expect(&f, iso, sizeof iso, SCP03_CARD_REPLY, 0x6982);
    assert_aborted(&f, NULL);
}

static void test_reset_mid_session(void **state)
{
    (void)state;
    card_fixture f;
    scp03_host_session h;
    fixture_init(&f, 32, 0x70);
    assert_int_equal(fixture_open(&f, &h, 0x33), 0);
    uint8_t buf[512];
    size_t n = wrap(&h, plain_case4, sizeof plain_case4, buf);
    expect(&f, buf, n, SCP03_CARD_PROCESS, 0x9000);
    scp03_card_reset(&f.s);     /* power cycle, SELECT of another application */
    assert_int_equal(scp03_card_state(&f.s), SCP03_STATE_NONE);
    assert_true(all_zero(&f.s, sizeof f.s));
    /* the pending response is gone with the session: it passes through */
    assert_int_equal(scp03_card_wrap_response(&f.s, (const uint8_t *)"\xAA", 1, 0x9000, out, sizeof out,
                                              &out_len), SCP03_OK);
    assert_int_equal(out_len, 3);
    n = wrap(&h, plain_case4, sizeof plain_case4, buf);
    expect(&f, buf, n, SCP03_CARD_REPLY, 0x6982);
    assert_int_equal(scp03_card_state(&f.s), SCP03_STATE_NONE);
    expect(&f, plain_case4, sizeof plain_case4, SCP03_CARD_PROCESS, 0x9000);
    /* reset also clears an aborted session */
    n = wrap(&h, plain_case4, sizeof plain_case4, buf);
    assert_int_equal(fixture_open(&f, &h, 0x01), 0);
    buf[0] = 0x84;
    expect(&f, buf, n, SCP03_CARD_REPLY, 0x6982);
    assert_int_equal(scp03_card_state(&f.s), SCP03_STATE_ABORTED);
    scp03_card_reset(&f.s);
    expect(&f, plain_case4, sizeof plain_case4, SCP03_CARD_PROCESS, 0x9000);
}

static void test_new_initialize_update_ends_session(void **state)
{
    (void)state;
    card_fixture f;
    scp03_host_session h, h2;
    fixture_init(&f, 16, 0x70);
    assert_int_equal(fixture_open(&f, &h, 0x03), 0);
    open_pending(&f, &h2);
    uint8_t buf[512];
    size_t n = wrap(&h, plain_case3, sizeof plain_case3, buf);
    expect(&f, buf, n, SCP03_CARD_REPLY, 0x6982);
    assert_aborted(&f, NULL);
}

/* ---------------- INITIALIZE UPDATE ---------------- */

static void test_unknown_kvn(void **state)
{
    (void)state;
    card_fixture f;
    fixture_init(&f, 16, 0x70);
    uint8_t iu[] = { 0x80, 0x50, 0x42, 0x00, 0x08, 1, 2, 3, 4, 5, 6, 7, 8, 0x00 };
    expect(&f, iu, sizeof iu, SCP03_CARD_REPLY, 0x6A88);
    assert_int_equal(f.commit_calls, 0);
    assert_int_equal(scp03_card_state(&f.s), SCP03_STATE_NONE);
    /* a key set with an unusable key length is as good as absent */
    f.ks[1].key_len = 20;
    iu[2] = 0x31;
    expect(&f, iu, sizeof iu, SCP03_CARD_REPLY, 0x6A88);
    /* an empty key store */
    f.cfg.n_keysets = 0;
    iu[2] = 0x00;
    expect(&f, iu, sizeof iu, SCP03_CARD_REPLY, 0x6A88);
    /* KVN 00 picks the first key set */
    fixture_init(&f, 16, 0x70);
    expect(&f, iu, sizeof iu, SCP03_CARD_REPLY, 0x9000);
    assert_int_equal(out[10], 0x30);
    assert_int_equal(scp03_card_kvn(&f.s), 0x30);
    /* a later key set by number */
    iu[2] = 0x32;
    expect(&f, iu, sizeof iu, SCP03_CARD_REPLY, 0x9000);
    assert_int_equal(out[10], 0x32);
    assert_int_equal(f.last_kvn, 0x32);
    assert_int_equal(f.ks[2].counter, 0x21);
}

static void test_initialize_update_format(void **state)
{
    (void)state;
    card_fixture f;
    fixture_init(&f, 16, 0x70);
    uint8_t iu[] = { 0x80, 0x50, 0x30, 0x00, 0x08, 1, 2, 3, 4, 5, 6, 7, 8, 0x00 };
    /* without Le is fine too */
    expect(&f, iu, sizeof iu - 1, SCP03_CARD_REPLY, 0x9000);
    assert_int_equal(out_len, 34);
    /* extended length form */
    uint8_t ext[] = { 0x80, 0x50, 0x30, 0x00, 0x00, 0x00, 0x08, 1, 2, 3, 4, 5, 6, 7, 8, 0x00, 0x00 };
    expect(&f, ext, sizeof ext, SCP03_CARD_REPLY, 0x9000);
    /* on a logical channel */
    iu[0] = 0x83;
    expect(&f, iu, sizeof iu, SCP03_CARD_REPLY, 0x9000);
    iu[0] = 0x80;
    /* wrong host challenge length; the attempt still ends the old session */
    uint8_t shorter[] = { 0x80, 0x50, 0x30, 0x00, 0x07, 1, 2, 3, 4, 5, 6, 7, 0x00 };
    expect(&f, shorter, sizeof shorter, SCP03_CARD_REPLY, 0x6700);
    assert_int_equal(scp03_card_state(&f.s), SCP03_STATE_NONE);
    uint8_t nodata[] = { 0x80, 0x50, 0x30, 0x00, 0x00 };
    expect(&f, nodata, sizeof nodata, SCP03_CARD_REPLY, 0x6700);
    /* P2 */
    iu[3] = 0x01;
    expect(&f, iu, sizeof iu, SCP03_CARD_REPLY, 0x6A86);
    iu[3] = 0x00;
    /* secured CLA, direct handler */
    iu[0] = 0x84;
    assert_int_equal(scp03_card_initialize_update(&f.s, &f.cfg, iu, sizeof iu, out, sizeof out, &out_len, &sw),
                     SCP03_CARD_REPLY);
    assert_int_equal(sw, 0x6E00);
    /* bad configuration: internal error, nothing committed */
    iu[0] = 0x80;
    int calls = f.commit_calls;
    f.cfg.i_param = 0x50;
    expect(&f, iu, sizeof iu, SCP03_CARD_REPLY, 0x6F00);
    f.cfg.i_param = 0x70;
    f.cfg.aid_len = 4;
    expect(&f, iu, sizeof iu, SCP03_CARD_REPLY, 0x6F00);
    f.cfg.aid_len = 16;
    f.cfg.commit_counter = NULL;
    expect(&f, iu, sizeof iu, SCP03_CARD_REPLY, 0x6F00);
    assert_int_equal(f.commit_calls, calls);
    /* short buffers and NULLs are caller bugs, reported, session unchanged */
    fixture_init(&f, 16, 0x70);
    assert_int_equal(scp03_card_command(&f.s, &f.cfg, iu, sizeof iu, out, 20, &out_len, &sw), SCP03_ERR_BUFFER);
    assert_int_equal(sw, 0x6F00);
    assert_int_equal(scp03_card_command(&f.s, NULL, iu, sizeof iu, out, sizeof out, &out_len, &sw),
                     SCP03_ERR_PARAM);
    assert_int_equal(scp03_card_command(NULL, &f.cfg, iu, sizeof iu, out, sizeof out, &out_len, &sw),
                     SCP03_ERR_PARAM);
    assert_int_equal(scp03_card_command(&f.s, &f.cfg, NULL, 5, out, sizeof out, &out_len, &sw), SCP03_ERR_PARAM);
    assert_int_equal(scp03_card_command(&f.s, &f.cfg, iu, sizeof iu, out, sizeof out, &out_len, NULL),
                     SCP03_ERR_PARAM);
    assert_int_equal(f.commit_calls, 0);
    /* partial overlap of in and out */
    uint8_t big[128];
    memcpy(big, iu, sizeof iu);
    assert_int_equal(scp03_card_command(&f.s, &f.cfg, big, sizeof iu, big + 4, 100, &out_len, &sw),
                     SCP03_ERR_PARAM);
    /* exact in-place is allowed */
    assert_int_equal(scp03_card_command(&f.s, &f.cfg, big, sizeof iu, big, sizeof big, &out_len, &sw),
                     SCP03_CARD_REPLY);
    assert_int_equal(sw, 0x9000);
}

static void test_counter_at_max(void **state)
{
    (void)state;
    card_fixture f;
    fixture_init(&f, 16, 0x70);
    uint8_t iu[] = { 0x80, 0x50, 0x30, 0x00, 0x08, 1, 2, 3, 4, 5, 6, 7, 8, 0x00 };
    f.ks[0].counter = 0xFFFFFE;
    expect(&f, iu, sizeof iu, SCP03_CARD_REPLY, 0x9000);
    assert_int_equal(out[29], 0xFF);
    assert_int_equal(out[30], 0xFF);
    assert_int_equal(out[31], 0xFF);
    assert_int_equal(f.ks[0].counter, 0xFFFFFF);
    assert_int_equal(f.commit_calls, 1);
    expect(&f, iu, sizeof iu, SCP03_CARD_REPLY, 0x6985);
    assert_int_equal(f.commit_calls, 1);
    assert_int_equal(f.ks[0].counter, 0xFFFFFF);
    assert_int_equal(scp03_card_state(&f.s), SCP03_STATE_NONE);
    /* out-of-range stored values count as exhausted */
    f.ks[0].counter = 0x1000000;
    expect(&f, iu, sizeof iu, SCP03_CARD_REPLY, 0x6985);
    /* random mode has no counter to exhaust */
    fixture_init(&f, 16, 0x60);
    f.ks[0].counter = 0xFFFFFF;
    expect(&f, iu, sizeof iu, SCP03_CARD_REPLY, 0x9000);
    assert_int_equal(out_len, 31);
    assert_int_equal(f.commit_calls, 0);
}

static void test_commit_failure(void **state)
{
    (void)state;
    card_fixture f;
    fixture_init(&f, 16, 0x70);
    uint8_t iu[] = { 0x80, 0x50, 0x30, 0x00, 0x08, 1, 2, 3, 4, 5, 6, 7, 8, 0x00 };
    f.ks[0].counter = 41;
    f.commit_fail = 1;
    expect(&f, iu, sizeof iu, SCP03_CARD_REPLY, 0x6581);
    assert_int_equal(f.commit_calls, 1);
    assert_int_equal(f.ks[0].counter, 41);      /* not advanced in the store */
    assert_int_equal(scp03_card_state(&f.s), SCP03_STATE_NONE);
    assert_true(all_zero(&f.s, sizeof f.s));    /* no challenge was computed */
    /* an EXTERNAL AUTHENTICATE now finds nothing to authenticate */
    uint8_t ea[] = { 0x84, 0x82, 0x01, 0x00, 0x10, 1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8 };
    expect(&f, ea, sizeof ea, SCP03_CARD_REPLY, 0x6982);
    /* once NVM works again the next value is 42, used for the first time */
    f.commit_fail = 0;
    expect(&f, iu, sizeof iu, SCP03_CARD_REPLY, 0x9000);
    assert_int_equal(f.last_value, 42);
    assert_int_equal(out[31], 42);
    assert_int_equal(f.ks[0].counter, 42);
}

static void test_random_mode(void **state)
{
    (void)state;
    static const uint8_t i_values[] = { 0x00, 0x20, 0x60 };
    for (size_t k = 0; k < sizeof i_values; k++) {
        card_fixture f;
        scp03_host_session h;
        fixture_init(&f, 16, i_values[k]);
        assert_int_equal(fixture_open(&f, &h, 0x03), 0);
        assert_int_equal(f.commit_calls, 0);
        /* two sessions, two challenges */
        uint8_t c1[8];
        memcpy(c1, f.s.card_challenge, 8);
        assert_int_equal(fixture_open(&f, &h, 0x03), 0);
        assert_memory_not_equal(c1, f.s.card_challenge, 8);
        /* a failing random source fails the command */
        f.cfg.random = NULL;
        uint8_t iu[] = { 0x80, 0x50, 0x30, 0x00, 0x08, 1, 2, 3, 4, 5, 6, 7, 8, 0x00 };
        expect(&f, iu, sizeof iu, SCP03_CARD_REPLY, 0x6F00);
        assert_int_equal(scp03_card_state(&f.s), SCP03_STATE_NONE);
    }
}

static void test_host_rejects(void **state)
{
    (void)state;
    card_fixture f;
    scp03_host_session h;
    fixture_init(&f, 16, 0x70);
    const scp03_keyset *ks = &f.ks[0];
    uint8_t apdu[64], rsp[64];
    size_t n = 0;
    uint8_t hc[8] = { 0 };
    /* card cryptogram tampered */
    assert_int_equal(scp03_host_init(&h, ks->enc, ks->mac, 16, test_aid, sizeof test_aid), SCP03_OK);
    assert_int_equal(scp03_host_initialize_update(&h, 0x30, hc, apdu, sizeof apdu, &n), SCP03_OK);
    expect(&f, apdu, n, SCP03_CARD_REPLY, 0x9000);
    memcpy(rsp, out, out_len);
    rsp[25] ^= 1;
    assert_int_equal(scp03_host_check_initialize_update_response(&h, rsp, out_len), SCP03_ERR_AUTH);
    assert_int_equal(scp03_host_external_authenticate(&h, 0x01, apdu, sizeof apdu, &n), SCP03_ERR_STATE);
    /* card challenge not the one its counter implies */
    assert_int_equal(scp03_host_initialize_update(&h, 0x30, hc, apdu, sizeof apdu, &n), SCP03_OK);
    memcpy(rsp, out, out_len);
    rsp[31] ^= 1;
    assert_int_equal(scp03_host_check_initialize_update_response(&h, rsp, out_len), SCP03_ERR_CHALLENGE);
    /* error SW, wrong SCP id, wrong KVN, short */
    assert_int_equal(scp03_host_initialize_update(&h, 0x30, hc, apdu, sizeof apdu, &n), SCP03_OK);
    assert_int_equal(scp03_host_check_initialize_update_response(&h, (const uint8_t *)"\x6A\x88", 2), SCP03_ERR_SW);
    assert_int_equal(scp03_host_initialize_update(&h, 0x30, hc, apdu, sizeof apdu, &n), SCP03_OK);
    memcpy(rsp, out, out_len);
    rsp[11] = 0x02;
    assert_int_equal(scp03_host_check_initialize_update_response(&h, rsp, out_len), SCP03_ERR_FORMAT);
    assert_int_equal(scp03_host_initialize_update(&h, 0x31, hc, apdu, sizeof apdu, &n), SCP03_OK);
    assert_int_equal(scp03_host_check_initialize_update_response(&h, out, out_len), SCP03_ERR_FORMAT);
    assert_int_equal(scp03_host_initialize_update(&h, 0x30, hc, apdu, sizeof apdu, &n), SCP03_OK);
    memcpy(rsp, out, 29);       /* pseudo-random i without its counter */
    rsp[29] = 0x90;
    rsp[30] = 0x00;
    assert_int_equal(scp03_host_check_initialize_update_response(&h, rsp, 31), SCP03_ERR_FORMAT);
    /* wrap before the session is open */
    assert_int_equal(scp03_host_wrap(&h, plain_case3, sizeof plain_case3, apdu, sizeof apdu, &n), SCP03_ERR_STATE);

    /* R-MAC failure closes the host session */
    fixture_init(&f, 16, 0x70);
    assert_int_equal(fixture_open(&f, &h, 0x33), 0);
    uint8_t buf[512], data[512];
    size_t bn = wrap(&h, plain_case4, sizeof plain_case4, buf);
    expect(&f, buf, bn, SCP03_CARD_PROCESS, 0x9000);
    assert_int_equal(scp03_card_wrap_response(&f.s, (const uint8_t *)"hello", 5, 0x9000, out, sizeof out, &out_len),
                     SCP03_OK);
    out[3] ^= 0x40;
    size_t dl = 0;
    assert_int_equal(scp03_host_unwrap(&h, out, out_len, data, sizeof data, &dl, &sw), SCP03_ERR_AUTH);
    assert_int_equal(h.state, SCP03_HOST_FAILED);
    assert_int_equal(scp03_host_wrap(&h, plain_case3, sizeof plain_case3, buf, sizeof buf, &bn), SCP03_ERR_STATE);
    /* already-secured CLA refused by wrap */
    fixture_init(&f, 16, 0x70);
    assert_int_equal(fixture_open(&f, &h, 0x01), 0);
    uint8_t sec[] = { 0x84, 0xF2, 0x20, 0x02 };
    assert_int_equal(scp03_host_wrap(&h, sec, sizeof sec, buf, sizeof buf, &bn), SCP03_ERR_FORMAT);
    uint8_t malformed[] = { 0x80, 0xF2, 0x20, 0x02, 0x05, 0x01 };
    assert_int_equal(scp03_host_wrap(&h, malformed, sizeof malformed, buf, sizeof buf, &bn), SCP03_ERR_FORMAT);
    scp03_host_close(&h);
}

static void test_error_sw_not_protected(void **state)
{
    (void)state;
    static const struct { uint16_t sw; int protected_; } sws[] = {
        { 0x9000, 1 }, { 0x6283, 1 }, { 0x63C2, 1 }, { 0x6300, 1 }, { 0x6A80, 0 }, { 0x6982, 0 },
        { 0x6100, 0 }, { 0x6D00, 0 }, { 0x9001, 0 }, { 0x6400, 0 },
    };
    for (size_t k = 0; k < sizeof sws / sizeof sws[0]; k++) {
        card_fixture f;
        scp03_host_session h;
        fixture_init(&f, 16, 0x70);
        assert_int_equal(fixture_open(&f, &h, 0x33), 0);
        uint8_t buf[512], data[512];
        size_t n = wrap(&h, plain_case4, sizeof plain_case4, buf);
        expect(&f, buf, n, SCP03_CARD_PROCESS, 0x9000);
        assert_int_equal(scp03_card_wrap_response(&f.s, (const uint8_t *)"abc", 3, sws[k].sw, out, sizeof out,
                                                  &out_len), SCP03_OK);
        if (sws[k].protected_) {
            assert_int_equal(out_len, 16 + 8 + 2);
        } else {
            assert_int_equal(out_len, 2);
        }
        assert_int_equal(out[out_len - 2], sws[k].sw >> 8);
        assert_int_equal(out[out_len - 1], sws[k].sw & 0xFF);
        size_t dl = 0;
        uint16_t got = 0;
        assert_int_equal(scp03_host_unwrap(&h, out, out_len, data, sizeof data, &dl, &got), SCP03_OK);
        assert_int_equal(got, sws[k].sw);
        assert_int_equal(dl, sws[k].protected_ ? 3 : 0);
        /* the session goes on after an application error */
        n = wrap(&h, plain_case3, sizeof plain_case3, buf);
        expect(&f, buf, n, SCP03_CARD_PROCESS, 0x9000);
    }
}

/* GP Amendment D 5.6: any secure messaging error closes the session. Every
 * length, Lc, Le and CLA mutation of a wrapped command, given to the module
 * as raw bytes, either runs (the plain command is the original one, Le aside,
 * and the session goes on) or closes the session (6982 or 6E00, ABORTED, the
 * next correctly wrapped command refused); none answers an error and leaves
 * the session open. Channel bits are the caller's to route (the ISD closes
 * the session for a channel it does not open: test/pcsc/gp_checks.py). */
enum { MUT_COUNT = 23 };

static size_t mutate(int k, const uint8_t *w, size_t n, uint8_t *m)
{
    size_t lc = w[4];                 /* short case 4: CLA INS P1 P2 Lc body(lc) Le */
    const uint8_t *body = w + 5;
    size_t i = 0;
    memcpy(m, w, n);
    switch (k) {
    case 0: m[4] = (uint8_t)(lc + 1); return n;
    case 1: m[4] = (uint8_t)(lc - 1); return n;
    case 2: m[4] = 0; return n;
    case 3: m[n] = 0x00; return n + 1;                    /* trailing byte */
    case 4: m[n] = 0x00; m[n + 1] = 0x00; return n + 2;
    case 5: return n - 2;                                 /* Le and last data byte gone: Lc too big */
    case 6: return n - 1;                                 /* Le dropped: runs */
    case 7: m[n - 1] = 0x01; return n;                    /* Le changed: runs */
    case 8: return 3;                                     /* truncated header */
    case 9: return 4;                                     /* header only */
    case 10: case 11:                                     /* extended Lc, the short form's MAC */
        memcpy(m, w, 4);
        i = 4;
        m[i++] = 0; m[i++] = 0; m[i++] = (uint8_t)lc;
        memcpy(m + i, body, lc);
        i += lc;
        if (k == 10) { m[i++] = 0; m[i++] = 0; }
        return i;
    case 12: m[0] = 0x80; return n;                       /* secure messaging bit cleared */
    case 13: m[0] = 0x8C; return n;                       /* ISO secure messaging */
    case 14: m[0] = 0x04; return n;
    case 15: m[0] = 0x00; return n;
    case 16: m[0] = 0xFF; return n;
    case 17: m[0] = 0xA4; return n;
    case 18: m[0] = 0xC0; return n;                       /* further coding, no SM */
    case 19: m[0] = 0x88; return n;
    case 20: m[1] ^= 0x01; return n;                      /* INS */
    case 21: m[4] = (uint8_t)(lc + 2); m[n] = 0; m[n + 1] = 0; return n + 2;   /* Lc grown with the bytes */
    default: m[3] ^= 0x80; return n;                      /* P2 */
    }
}

static void test_every_mutation_runs_or_closes(void **state)
{
    (void)state;
    static const uint8_t levels[] = { 0x01, 0x03, 0x33 };
    for (size_t li = 0; li < sizeof levels; li++) {
        for (int k = 0; k < MUT_COUNT; k++) {
            card_fixture f;
            scp03_host_session h;
            fixture_init(&f, 16, 0x70);
            assert_int_equal(fixture_open(&f, &h, levels[li]), 0);
            uint8_t good[512], m[520];
            size_t n = wrap(&h, plain_case4, sizeof plain_case4, good);
            size_t mn = mutate(k, good, n, m);
            int rc = card_send(&f, m, mn, out, &out_len, &sw);
            size_t next_len;
            uint8_t next[512];
            next_len = wrap(&h, plain_case3, sizeof plain_case3, next);
            if (rc == SCP03_CARD_PROCESS) {
                /* ran: the plain command is the one the host wrapped, Le aside */
                if (out_len < sizeof plain_case4 - 1 ||
                    memcmp(out, plain_case4, sizeof plain_case4 - 1) != 0) {
                    fprintf(stderr, "level %02X mutation %d ran as something else\n", levels[li], k);
                    print_hex("plain", out, out_len);
                    fail();
                }
                assert_int_equal(scp03_card_state(&f.s), SCP03_STATE_ACTIVE);
                size_t wl = 0;
                assert_int_equal(scp03_card_wrap_response(&f.s, NULL, 0, 0x9000, out, sizeof out, &wl), SCP03_OK);
                expect(&f, next, next_len, SCP03_CARD_PROCESS, 0x9000);
            } else {
                if (rc != SCP03_CARD_REPLY || (sw != 0x6982 && sw != 0x6E00) ||
                    scp03_card_state(&f.s) != SCP03_STATE_ABORTED) {
                    fprintf(stderr, "level %02X mutation %d: rc %d sw %04X state %u: an error that left the "
                            "session open\n", levels[li], k, rc, sw, scp03_card_state(&f.s));
                    fail();
                }
                expect(&f, next, next_len, SCP03_CARD_REPLY, 0x6982);
            }
        }
    }
    /* what the caller finds itself (a channel it does not open) closes too */
    card_fixture f;
    scp03_host_session h;
    fixture_init(&f, 16, 0x70);
    assert_int_equal(fixture_open(&f, &h, 0x01), 0);
    scp03_card_abort(&f.s);
    assert_aborted(&f, &h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wrong_host_cryptogram),
        cmocka_unit_test(test_ext_auth_bad_mac),
        cmocka_unit_test(test_ext_auth_forbidden_levels),
        cmocka_unit_test(test_ext_auth_format),
        cmocka_unit_test(test_flipped_bits),
        cmocka_unit_test(test_channel_bits_and_le),
        cmocka_unit_test(test_replay),
        cmocka_unit_test(test_bad_padding),
        cmocka_unit_test(test_secured_before_ext_auth),
        cmocka_unit_test(test_missing_secure_messaging),
        cmocka_unit_test(test_reset_mid_session),
        cmocka_unit_test(test_new_initialize_update_ends_session),
        cmocka_unit_test(test_unknown_kvn),
        cmocka_unit_test(test_initialize_update_format),
        cmocka_unit_test(test_counter_at_max),
        cmocka_unit_test(test_commit_failure),
        cmocka_unit_test(test_random_mode),
        cmocka_unit_test(test_host_rejects),
        cmocka_unit_test(test_error_sw_not_protected),
        cmocka_unit_test(test_every_mutation_runs_or_closes),
    };
    return cmocka_run_group_tests_name("scp03_negative", tests, NULL, NULL);
}
