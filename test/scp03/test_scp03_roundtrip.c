/*
 * Host and card talking to each other: every key length, i value and
 * security level, all APDU cases in short and extended form, logical
 * channels, response sizes, the context export/replace/restore that CHANGE
 * MODE uses, memcpy-ability of the session structs, offline (campaign)
 * preparation and the PUT KEY key format.
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

/* ---------------- APDU comparison ---------------- */

/* Le as a number with 0 meaning "maximum" in either form; -1 when absent. */
static long le_value(const uint8_t *a, const scp03_apdu *p)
{
    if (p->le_len == 0) return -1;
    if (p->le_len == 1) return a[p->le_off];
    if (p->le_len == 2) return (long)a[p->le_off] << 8 | a[p->le_off + 1];
    return (long)a[p->le_off + 1] << 8 | a[p->le_off + 2];
}

/* Same command, allowing the host's short -> extended re-encoding. */
static void assert_same_command(const uint8_t *got, size_t got_len, const uint8_t *want, size_t want_len)
{
    scp03_apdu pg, pw;
    assert_int_equal(scp03_i_apdu_parse(got, got_len, &pg), 0);
    assert_int_equal(scp03_i_apdu_parse(want, want_len, &pw), 0);
    if (pg.extended == pw.extended) {
        assert_int_equal(got_len, want_len);
        assert_memory_equal(got, want, want_len);
        return;
    }
    assert_memory_equal(got, want, 4);
    assert_int_equal(pg.nc, pw.nc);
    if (pw.nc) assert_memory_equal(got + pg.data_off, want + pw.data_off, pw.nc);
    assert_int_equal(le_value(got, &pg), le_value(want, &pw));
}

static size_t build(uint8_t *a, uint8_t cla, uint8_t ins, size_t nc, long le, int ext)
{
    size_t n = 0;
    a[n++] = cla;
    a[n++] = ins;
    a[n++] = 0x12;
    a[n++] = 0x34;
    if (nc) {
        if (ext) {
            a[n++] = 0;
            a[n++] = (uint8_t)(nc >> 8);
            a[n++] = (uint8_t)nc;
        } else {
            a[n++] = (uint8_t)nc;
        }
        for (size_t i = 0; i < nc; i++) a[n++] = (uint8_t)(i * 31 + nc);
    }
    if (le >= 0) {
        if (ext) {
            if (!nc) a[n++] = 0;
            a[n++] = (uint8_t)(le >> 8);
            a[n++] = (uint8_t)le;
        } else {
            a[n++] = (uint8_t)le;
        }
    }
    return n;
}

/* One command and its response across host and card. */
static void exchange(card_fixture *f, scp03_host_session *h, const uint8_t *plain, size_t plain_len,
                     const uint8_t *rdata, size_t rlen, uint16_t rsw)
{
    uint8_t wrapped[4096], rsp[4096], data[4096];
    size_t wn = 0, rn = 0, dn = 0;
    assert_int_equal(scp03_host_wrap(h, plain, plain_len, wrapped, sizeof wrapped, &wn), SCP03_OK);
    int rc = card_send(f, wrapped, wn, out, &out_len, &sw);
    if (rc != SCP03_CARD_PROCESS) {
        print_hex("plain", plain, plain_len);
        print_hex("wrapped", wrapped, wn);
        fprintf(stderr, "level %02X rc %d sw %04X\n", h->level, rc, sw);
    }
    assert_int_equal(rc, SCP03_CARD_PROCESS);
    assert_same_command(out, out_len, plain, plain_len);
    assert_int_equal(scp03_card_wrap_response(&f->s, rdata, rlen, rsw, rsp, sizeof rsp, &rn), SCP03_OK);
    uint16_t got = 0;
    rc = scp03_host_unwrap(h, rsp, rn, data, sizeof data, &dn, &got);
    if (rc != SCP03_OK) {
        print_hex("plain", plain, plain_len);
        print_hex("response", rsp, rn);
        fprintf(stderr, "host level %02X card level %02X rc %d\n", h->level, f->s.level, rc);
    }
    assert_int_equal(rc, SCP03_OK);
    assert_int_equal(got, rsw);
    if (scp03_i_sw_protected(rsw) || !(h->level & SCP03_RMAC)) {
        assert_int_equal(dn, rlen);
        if (rlen) assert_memory_equal(data, rdata, rlen);
    } else {
        assert_int_equal(dn, 0);
    }
}

static void test_all_modes(void **state)
{
    (void)state;
    static const uint8_t i_values[] = { 0x00, 0x10, 0x20, 0x30, 0x60, 0x70 };
    static const uint8_t levels[] = { 0x00, 0x01, 0x03, 0x11, 0x13, 0x33 };
    static const size_t ncs[] = { 0, 1, 15, 16, 17, 100, 239, 240, 247, 248, 255 };
    static const uint8_t clas[] = { 0x80, 0x81, 0x83, 0x00, 0x03, 0x90, 0xC0, 0xCF, 0x40, 0x4A, 0xD3 };
    uint8_t rdata[300];
    for (size_t i = 0; i < sizeof rdata; i++) rdata[i] = (uint8_t)(i ^ 0x5A);

    for (size_t kl = 16; kl <= 32; kl += 8) {
        for (size_t iv = 0; iv < sizeof i_values; iv++) {
            for (size_t li = 0; li < sizeof levels; li++) {
                if (!scp03_i_level_ok(levels[li], i_values[iv])) continue;
                card_fixture f;
                scp03_host_session h;
                fixture_init(&f, kl, i_values[iv]);
                assert_int_equal(fixture_open(&f, &h, levels[li]), 0);
                unsigned k = 0;
                uint8_t plain[1100];
                for (size_t ci = 0; ci < sizeof clas; ci++) {
                    for (size_t ni = 0; ni < sizeof ncs / sizeof ncs[0]; ni++) {
                        for (int withle = 0; withle < 2; withle++) {
                            size_t n = build(plain, clas[ci], 0xF2, ncs[ni], withle ? (long)(k % 3 == 0 ? 0 : k % 256) : -1, 0);
                            size_t rl = (k * 37) % 257;
                            static const uint16_t sws[] = { 0x9000, 0x9000, 0x6283, 0x6A80, 0x63C1 };
                            exchange(&f, &h, plain, n, rdata, rl, sws[k % 5]);
                            k++;
                        }
                    }
                }
                /* extended length */
                static const size_t encs[] = { 0, 1, 256, 300, 1000 };
                for (size_t e = 0; e < sizeof encs / sizeof encs[0]; e++) {
                    size_t n = build(plain, 0x80, 0xE8, encs[e], 0x0000, 1);
                    exchange(&f, &h, plain, n, rdata, 300, 0x9000);
                    if (encs[e]) {
                        n = build(plain, 0x81, 0xE8, encs[e], -1, 1);
                        exchange(&f, &h, plain, n, rdata, 0, 0x9000);
                    }
                    n = build(plain, 0x80, 0xE8, encs[e], 0x1234, 1);
                    exchange(&f, &h, plain, n, rdata, 17, 0x9000);
                }
                assert_int_equal(scp03_card_security_level(&f.s), 0x80 | levels[li]);
                scp03_host_close(&h);
            }
        }
    }
}

/* The wrapped form of each plain CLA, and the card giving the plain one back. */
static void test_cla_forms(void **state)
{
    (void)state;
    static const uint8_t map[][2] = {
        { 0x80, 0x84 }, { 0x81, 0x85 }, { 0x83, 0x87 }, { 0x00, 0x04 }, { 0x02, 0x06 },
        { 0x90, 0x94 }, { 0xC0, 0xE0 }, { 0xCF, 0xEF }, { 0x40, 0x60 }, { 0x55, 0x75 },
    };
    card_fixture f;
    scp03_host_session h;
    fixture_init(&f, 16, 0x70);
    assert_int_equal(fixture_open(&f, &h, 0x01), 0);
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++) {
        uint8_t plain[8] = { map[i][0], 0xCA, 0x00, 0x66, 0x00 };
        uint8_t w[64];
        size_t wn = 0;
        assert_int_equal(scp03_host_wrap(&h, plain, 5, w, sizeof w, &wn), SCP03_OK);
        assert_int_equal(w[0], map[i][1]);
        assert_int_equal(card_send(&f, w, wn, out, &out_len, &sw), SCP03_CARD_PROCESS);
        assert_int_equal(out_len, 5);
        assert_memory_equal(out, plain, 5);
        assert_int_equal(scp03_card_wrap_response(&f.s, NULL, 0, 0x9000, out, sizeof out, &out_len), SCP03_OK);
    }
}

static void test_in_place(void **state)
{
    (void)state;
    card_fixture f;
    scp03_host_session h;
    fixture_init(&f, 32, 0x70);
    assert_int_equal(fixture_open(&f, &h, 0x33), 0);
    uint8_t plain[300], buf[512], data[512];
    for (size_t nc = 0; nc < 260; nc += 13) {
        size_t n = build(plain, 0x80, 0xE2, nc, 0, 0);
        size_t wn = 0;
        assert_int_equal(scp03_host_wrap(&h, plain, n, buf, sizeof buf, &wn), SCP03_OK);
        size_t pn = 0;
        assert_int_equal(scp03_card_command(&f.s, &f.cfg, buf, wn, buf, sizeof buf, &pn, &sw), SCP03_CARD_PROCESS);
        assert_same_command(buf, pn, plain, n);
        /* response built in the same buffer */
        memcpy(buf, plain, nc);
        size_t rn = 0;
        assert_int_equal(scp03_card_wrap_response(&f.s, buf, nc, 0x9000, buf, sizeof buf, &rn), SCP03_OK);
        size_t dn = 0;
        uint16_t got = 0;
        assert_int_equal(scp03_host_unwrap(&h, buf, rn, data, sizeof data, &dn, &got), SCP03_OK);
        assert_int_equal(dn, nc);
        if (nc) assert_memory_equal(data, plain, nc);
    }
}

static void test_response_sizes(void **state)
{
    (void)state;
    static const uint8_t levels[] = { 0x11, 0x13, 0x33 };
    for (size_t li = 0; li < sizeof levels; li++) {
        card_fixture f;
        scp03_host_session h;
        fixture_init(&f, 24, 0x60);
        assert_int_equal(fixture_open(&f, &h, levels[li]), 0);
        uint8_t plain[8] = { 0x80, 0xCA, 0x00, 0x66, 0x00 };
        uint8_t rdata[1100];
        for (size_t i = 0; i < sizeof rdata; i++) rdata[i] = (uint8_t)(i * 3);
        for (size_t rl = 0; rl <= 1024; rl += (rl < 40 ? 1 : 97)) {
            exchange(&f, &h, plain, 5, rdata, rl, 0x9000);
        }
        /* response lengths exactly as the spec says */
        uint8_t w[64], rsp[400];
        size_t wn = 0, rn = 0;
        assert_int_equal(scp03_host_wrap(&h, plain, 5, w, sizeof w, &wn), SCP03_OK);
        assert_int_equal(card_send(&f, w, wn, out, &out_len, &sw), SCP03_CARD_PROCESS);
        assert_int_equal(scp03_card_wrap_response(&f.s, rdata, 16, 0x9000, rsp, sizeof rsp, &rn), SCP03_OK);
        assert_int_equal(rn, (levels[li] & SCP03_RENC) ? 32 + 8 + 2 : 16 + 8 + 2);
        /* too small an output buffer is reported and changes nothing visible */
        assert_int_equal(scp03_card_wrap_response(&f.s, rdata, 16, 0x9000, rsp, 16 + 25, &rn), SCP03_ERR_BUFFER);
    }
}

/* ---------------- CHANGE MODE style context switching ---------------- */

static void fill_context(scp03_context *c, uint8_t level, size_t kl, uint8_t seed, int rmac)
{
    memset(c, 0, sizeof *c);
    c->key_len = (uint8_t)kl;
    c->level = level;
    c->has_rmac = (uint8_t)rmac;
    for (size_t i = 0; i < kl; i++) {
        c->s_enc[i] = (uint8_t)(seed + i);
        c->s_mac[i] = (uint8_t)(seed * 3 + i);
        c->s_rmac[i] = rmac ? (uint8_t)(seed * 5 + i) : 0;
    }
    c->next_counter[15] = 0x05;     /* first broadcast command uses counter 5 */
    c->next_counter[14] = 0x01;
    for (int i = 0; i < 16; i++) c->chain[i] = (uint8_t)(0xC0 + i);
}

static void test_context_switch(void **state)
{
    (void)state;
    for (size_t kl = 16; kl <= 32; kl += 8) {
        card_fixture f;
        scp03_host_session h, design;
        fixture_init(&f, kl, 0x70);
        assert_int_equal(fixture_open(&f, &h, 0x33), 0);
        uint8_t plain[300], rdata[64] = "state information ST";
        size_t n = build(plain, 0x80, 0xF2, 20, 0, 0);
        exchange(&f, &h, plain, n, rdata, 20, 0x9000);

        /* CHANGE MODE (to broadcast) arrives in the diversified channel and
         * is answered there; only then does the card switch. */
        n = build(plain, 0x80, 0x5A, 40, -1, 0);
        exchange(&f, &h, plain, n, NULL, 0, 0x9000);
        scp03_context saved, bcast, back;
        assert_int_equal(scp03_card_export_context(&f.s, &saved), SCP03_OK);
        assert_int_equal(saved.level, 0x33);
        assert_int_equal(saved.next_counter[15], 3); /* two commands so far */
        fill_context(&bcast, 0x03, kl, 0x21, 0);
        assert_int_equal(scp03_card_import_context(&f.s, &bcast), SCP03_OK);
        assert_int_equal(scp03_card_security_level(&f.s), 0x83);
        assert_int_equal(scp03_card_kvn(&f.s), 0x30);
        /* round trip of the installed context */
        assert_int_equal(scp03_card_export_context(&f.s, &back), SCP03_OK);
        assert_memory_equal(&back, &bcast, sizeof back);

        /* The design system prepared the broadcast commands with nothing
         * but the broadcast context (P_SE, the same for every card). */
        memset(&design, 0, sizeof design);
        assert_int_equal(scp03_host_import_context(&design, &bcast), SCP03_OK);
        for (int k = 0; k < 5; k++) {
            n = build(plain, 0x80, 0xE8, 100 + (size_t)k * 30, -1, 0);
            exchange(&f, &design, plain, n, NULL, 0, 0x9000);
            /* the first command used the counter given */
            if (k == 0) {
                assert_int_equal(f.s.counter[15], 0x05);
                assert_int_equal(f.s.counter[14], 0x01);
            }
        }
        /* a diversified-channel command now fails and aborts */
        card_fixture g = f;          /* memcpy of the whole card, session included */
        n = build(plain, 0x80, 0xF2, 2, 0, 0);
        uint8_t w[512];
        size_t wn = 0;
        scp03_host_session hh = h;
        assert_int_equal(scp03_host_wrap(&hh, plain, n, w, sizeof w, &wn), SCP03_OK);
        g.cfg.keysets = g.ks;
        assert_int_equal(scp03_card_command(&g.s, &g.cfg, w, wn, out, sizeof out, &out_len, &sw), SCP03_CARD_REPLY);
        assert_int_equal(sw, 0x6982);

        /* CHANGE MODE (back) in the broadcast channel, then restore */
        n = build(plain, 0x80, 0x5A, 0, -1, 0);
        exchange(&f, &design, plain, n, NULL, 0, 0x9000);
        assert_int_equal(scp03_card_import_context(&f.s, &saved), SCP03_OK);
        scp03_wipe(&saved, sizeof saved);    /* restore data invalidated */
        /* AUTHORIZE_ACTION in the diversified channel, R-MAC and R-ENC intact */
        n = build(plain, 0x80, 0x5C, 16, 0, 0);
        exchange(&f, &h, plain, n, rdata, 20, 0x9000);
        assert_int_equal(scp03_card_security_level(&f.s), 0xB3);
        scp03_host_close(&design);
        scp03_host_close(&h);
    }
}

static void test_context_host_side_switch(void **state)
{
    (void)state;
    /* The terminal may also switch its own host session back and forth. */
    card_fixture f;
    scp03_host_session h;
    fixture_init(&f, 16, 0x30);
    assert_int_equal(fixture_open(&f, &h, 0x13), 0);
    uint8_t plain[64];
    size_t n = build(plain, 0x80, 0xF2, 5, 0, 0);
    exchange(&f, &h, plain, n, (const uint8_t *)"abc", 3, 0x9000);
    scp03_context hs, cs, bc;
    assert_int_equal(scp03_host_export_context(&h, &hs), SCP03_OK);
    assert_int_equal(scp03_card_export_context(&f.s, &cs), SCP03_OK);
    assert_memory_equal(&hs, &cs, sizeof hs);
    fill_context(&bc, 0x13, 32, 0x77, 1);   /* broadcast with another key length, R-MAC on */
    assert_int_equal(scp03_host_import_context(&h, &bc), SCP03_OK);
    assert_int_equal(scp03_card_import_context(&f.s, &bc), SCP03_OK);
    exchange(&f, &h, plain, n, (const uint8_t *)"defg", 4, 0x9000);
    assert_int_equal(scp03_host_export_context(&h, &bc), SCP03_OK);
    assert_int_equal(bc.key_len, 32);
    assert_int_equal(scp03_host_import_context(&h, &hs), SCP03_OK);
    assert_int_equal(scp03_card_import_context(&f.s, &cs), SCP03_OK);
    exchange(&f, &h, plain, n, (const uint8_t *)"hij", 3, 0x9000);
    /* and a new session from scratch still works on the same host struct */
    assert_int_equal(fixture_open(&f, &h, 0x03), 0);
    exchange(&f, &h, plain, n, NULL, 0, 0x9000);
}

static void test_context_rejects(void **state)
{
    (void)state;
    card_fixture f;
    scp03_host_session h;
    scp03_context c;
    fixture_init(&f, 16, 0x70);
    assert_int_equal(scp03_card_export_context(&f.s, &c), SCP03_ERR_STATE);
    memset(&h, 0, sizeof h);
    assert_int_equal(scp03_host_export_context(&h, &c), SCP03_ERR_STATE);
    assert_int_equal(fixture_open(&f, &h, 0x01), 0);
    scp03_card_session before;
    memcpy(&before, &f.s, sizeof before);
    static const uint8_t bad_levels[] = { 0x02, 0x10, 0x12, 0x23, 0x31, 0x80, 0xFF };
    for (size_t i = 0; i < sizeof bad_levels; i++) {
        fill_context(&c, bad_levels[i], 16, 1, 1);
        assert_int_equal(scp03_card_import_context(&f.s, &c), SCP03_ERR_PARAM);
        assert_int_equal(scp03_host_import_context(&h, &c), SCP03_ERR_PARAM);
    }
    fill_context(&c, 0x11, 16, 1, 0);   /* R-MAC without an R-MAC key */
    assert_int_equal(scp03_card_import_context(&f.s, &c), SCP03_ERR_PARAM);
    fill_context(&c, 0x01, 20, 1, 0);
    assert_int_equal(scp03_card_import_context(&f.s, &c), SCP03_ERR_PARAM);
    assert_memory_equal(&before, &f.s, sizeof before);
    assert_int_equal(scp03_card_import_context(NULL, &c), SCP03_ERR_PARAM);
    /* importing into an aborted session reopens it (the caller decides) */
    uint8_t junk[] = { 0x84, 0xF2, 0x00, 0x00, 0x08, 1, 2, 3, 4, 5, 6, 7, 8 };
    assert_int_equal(card_send(&f, junk, sizeof junk, out, &out_len, &sw), SCP03_CARD_REPLY);
    assert_int_equal(scp03_card_state(&f.s), SCP03_STATE_ABORTED);
    fill_context(&c, 0x03, 16, 9, 0);
    assert_int_equal(scp03_card_import_context(&f.s, &c), SCP03_OK);
    assert_int_equal(scp03_card_state(&f.s), SCP03_STATE_ACTIVE);
}

/* ---------------- memcpy-ability ---------------- */

static void test_memcpy_sessions(void **state)
{
    (void)state;
    card_fixture f;
    scp03_host_session h;
    fixture_init(&f, 24, 0x70);
    assert_int_equal(fixture_open(&f, &h, 0x33), 0);
    uint8_t plain[64];
    size_t n = build(plain, 0x80, 0xF2, 30, 0, 0);
    exchange(&f, &h, plain, n, (const uint8_t *)"0123456789", 10, 0x9000);

    /* simulated RAM: the session bytes moved elsewhere, the original wiped */
    static _Alignas(16) uint8_t ram_card[sizeof(scp03_card_session) + 8];
    static _Alignas(16) uint8_t ram_host[sizeof(scp03_host_session) + 8];
    memcpy(ram_card + 8, &f.s, sizeof f.s);
    memcpy(ram_host + 8, &h, sizeof h);
    scp03_card_reset(&f.s);
    scp03_host_close(&h);
    memcpy(&f.s, ram_card + 8, sizeof f.s);
    memcpy(&h, ram_host + 8, sizeof h);
    exchange(&f, &h, plain, n, (const uint8_t *)"abcdef", 6, 0x9000);
    assert_int_equal(scp03_card_state(&f.s), SCP03_STATE_ACTIVE);
}

/* ---------------- offline preparation (campaign P_AUT) ---------------- */

static void test_offline_campaign(void **state)
{
    (void)state;
    card_fixture f;
    fixture_init(&f, 16, 0x70);
    f.ks[0].counter = 0x000123;     /* known to the server */
    const scp03_keyset *ks = &f.ks[0];
    uint8_t hc[8] = { 0xAA, 0xBB, 0xCC, 0xDD, 0x01, 0x02, 0x03, 0x04 };

    /* the server prepares INITIALIZE UPDATE, EXTERNAL AUTHENTICATE and two commands */
    scp03_host_session srv;
    assert_int_equal(scp03_host_init(&srv, ks->enc, ks->mac, 16, test_aid, sizeof test_aid), SCP03_OK);
    uint8_t iu[32], ea[32], c1[300], c2[300];
    size_t iun = 0, ean = 0, c1n = 0, c2n = 0;
    assert_int_equal(scp03_host_initialize_update(&srv, 0x30, hc, iu, sizeof iu, &iun), SCP03_OK);
    assert_int_equal(scp03_host_begin_offline(&srv, 0x30, 0x70, 0x000124, hc), SCP03_OK);
    assert_int_equal(scp03_host_external_authenticate(&srv, 0x03, ea, sizeof ea, &ean), SCP03_OK);
    uint8_t plain[64];
    size_t n = build(plain, 0x80, 0x5A, 48, -1, 0);
    assert_int_equal(scp03_host_wrap(&srv, plain, n, c1, sizeof c1, &c1n), SCP03_OK);
    size_t n2 = build(plain, 0x80, 0x5C, 16, 0, 0);
    uint8_t plain2[64];
    memcpy(plain2, plain, n2);
    assert_int_equal(scp03_host_wrap(&srv, plain, n2, c2, sizeof c2, &c2n), SCP03_OK);

    /* the terminal plays it blind */
    card_fixture g = f;
    g.cfg.keysets = g.ks;
    g.cfg.commit_ctx = &g;
    g.cfg.random_ctx = &g;
    assert_int_equal(card_send(&g, iu, iun, out, &out_len, &sw), SCP03_CARD_REPLY);
    assert_int_equal(sw, 0x9000);
    assert_int_equal(card_send(&g, ea, ean, out, &out_len, &sw), SCP03_CARD_REPLY);
    assert_int_equal(sw, 0x9000);
    assert_int_equal(card_send(&g, c1, c1n, out, &out_len, &sw), SCP03_CARD_PROCESS);
    assert_int_equal(card_send(&g, c2, c2n, out, &out_len, &sw), SCP03_CARD_PROCESS);
    assert_memory_equal(out, plain2, n2);

    /* a card whose counter moved answers 6300 to the stale script */
    g = f;
    g.cfg.keysets = g.ks;
    g.cfg.commit_ctx = &g;
    g.ks[0].counter = 0x000124;
    assert_int_equal(card_send(&g, iu, iun, out, &out_len, &sw), SCP03_CARD_REPLY);
    assert_int_equal(card_send(&g, ea, ean, out, &out_len, &sw), SCP03_CARD_REPLY);
    assert_int_equal(sw, 0x6300);

    /* offline needs a pseudo-random i, an AID and a counter in range */
    assert_int_equal(scp03_host_begin_offline(&srv, 0x30, 0x60, 5, hc), SCP03_ERR_PARAM);
    assert_int_equal(scp03_host_begin_offline(&srv, 0x30, 0x70, 0, hc), SCP03_ERR_PARAM);
    assert_int_equal(scp03_host_begin_offline(&srv, 0x30, 0x70, 0x1000000, hc), SCP03_ERR_PARAM);
    scp03_host_session noaid;
    assert_int_equal(scp03_host_init(&noaid, ks->enc, ks->mac, 16, NULL, 0), SCP03_OK);
    assert_int_equal(scp03_host_begin_offline(&noaid, 0x30, 0x70, 5, hc), SCP03_ERR_PARAM);
    scp03_host_close(&srv);
}

/* ---------------- PUT KEY key data ---------------- */

static void test_put_key(void **state)
{
    (void)state;
    uint8_t dek[32], keys[3][32];
    for (int i = 0; i < 32; i++) {
        dek[i] = (uint8_t)(0x20 + i);
        keys[0][i] = (uint8_t)(0x40 + i);
        keys[1][i] = (uint8_t)(0x60 + i);
        keys[2][i] = (uint8_t)(0x80 + i);
    }
    for (size_t dl = 16; dl <= 32; dl += 8) {
        for (size_t kl = 16; kl <= 32; kl += 8) {
            uint8_t data[SCP03_PUT_KEY_DATA_MAX];
            size_t n = 0;
            assert_int_equal(scp03_put_key_data(dek, dl, 0x31, keys[0], keys[1], keys[2], kl, data, sizeof data, &n),
                             SCP03_OK);
            size_t blk = kl == 16 ? 23 : 39;
            assert_int_equal(n, 1 + 3 * blk);
            assert_int_equal(data[0], 0x31);
            size_t off = 1;
            for (int k = 0; k < 3; k++) {
                const uint8_t *b = data + off;
                assert_int_equal(b[0], 0x88);
                assert_int_equal(b[1], kl == 16 ? 0x11 : 0x21);
                assert_int_equal(b[2], kl);
                assert_int_equal(b[blk - 4], 0x03);
                uint8_t kcv[3];
                assert_int_equal(scp03_kcv(keys[k], kl, kcv), SCP03_OK);
                assert_memory_equal(b + blk - 3, kcv, 3);
                uint8_t key[32];
                size_t got = 0, used = 0;
                assert_int_equal(scp03_key_block_decrypt(dek, dl, b, n - off, &used, key, &got), SCP03_OK);
                assert_int_equal(used, blk);
                assert_int_equal(got, kl);
                assert_memory_equal(key, keys[k], kl);
                /* a wrong KCV or a wrong DEK is caught by the check value */
                uint8_t t[64];
                memcpy(t, b, blk);
                t[blk - 1] ^= 1;
                assert_int_equal(scp03_key_block_decrypt(dek, dl, t, blk, &used, key, &got), SCP03_ERR_AUTH);
                uint8_t zero[32] = { 0 };
                assert_memory_equal(key, zero, 32);
                uint8_t other[32];
                memcpy(other, dek, 32);
                other[0] ^= 1;
                assert_int_equal(scp03_key_block_decrypt(other, dl, b, blk, &used, key, &got), SCP03_ERR_AUTH);
                /* malformed fields */
                memcpy(t, b, blk);
                t[0] = 0x80;
                assert_int_equal(scp03_key_block_decrypt(dek, dl, t, blk, &used, key, &got), SCP03_ERR_FORMAT);
                memcpy(t, b, blk);
                t[blk - 4] = 0x02;
                assert_int_equal(scp03_key_block_decrypt(dek, dl, t, blk, &used, key, &got), SCP03_ERR_FORMAT);
                assert_int_equal(scp03_key_block_decrypt(dek, dl, b, blk - 1, &used, key, &got), SCP03_ERR_FORMAT);
                memcpy(t, b, blk);
                t[2] = (uint8_t)(kl == 16 ? 24 : 16);
                assert_int_equal(scp03_key_block_decrypt(dek, dl, t, blk, &used, key, &got), SCP03_ERR_FORMAT);
                off += blk;
            }
        }
    }
    /* CBC with a zero ICV, not ECB: equal halves encrypt differently */
    uint8_t twin[32], blk[64];
    for (int i = 0; i < 16; i++) twin[i] = twin[16 + i] = (uint8_t)(i * 9);
    size_t n = 0;
    assert_int_equal(scp03_key_block_encrypt(dek, 16, twin, 32, blk, sizeof blk, &n), SCP03_OK);
    assert_memory_not_equal(blk + 3, blk + 19, 16);
    /* first block equals AES-ECB of the first half */
    uint8_t ecb[16];
    assert_int_equal(scp03_i_cbc_raw(dek, 16, 0, twin, ecb, 16), SCP03_OK);
    assert_memory_equal(blk + 3, ecb, 16);
    /* the padding-free Key Component Block form ('10'/'20', GPCS Table 11-71) */
    uint8_t alt[40];
    alt[0] = 0x88;
    alt[1] = 0x20;
    assert_int_equal(scp03_i_cbc_raw(dek, 16, 0, twin, alt + 2, 32), SCP03_OK);
    alt[2 + 32] = 0x03;
    assert_int_equal(scp03_kcv(twin, 32, alt + 35), SCP03_OK);
    uint8_t key[32];
    size_t got = 0, used = 0;
    uint8_t altbuf[40];
    memcpy(altbuf, alt, 2 + 32 + 1 + 3);
    assert_int_equal(scp03_key_block_decrypt(dek, 16, altbuf, 38, &used, key, &got), SCP03_OK);
    assert_int_equal(got, 32);
    assert_int_equal(used, 38);
    assert_memory_equal(key, twin, 32);
    /* argument checks */
    assert_int_equal(scp03_key_block_encrypt(dek, 16, twin, 20, blk, sizeof blk, &n), SCP03_ERR_PARAM);
    assert_int_equal(scp03_key_block_encrypt(dek, 16, twin, 16, blk, 22, &n), SCP03_ERR_BUFFER);
    uint8_t small[50];
    assert_int_equal(scp03_put_key_data(dek, 16, 1, keys[0], keys[1], keys[2], 16, small, sizeof small, &n),
                     SCP03_ERR_BUFFER);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_all_modes),
        cmocka_unit_test(test_cla_forms),
        cmocka_unit_test(test_in_place),
        cmocka_unit_test(test_response_sizes),
        cmocka_unit_test(test_context_switch),
        cmocka_unit_test(test_context_host_side_switch),
        cmocka_unit_test(test_context_rejects),
        cmocka_unit_test(test_memcpy_sessions),
        cmocka_unit_test(test_offline_campaign),
        cmocka_unit_test(test_put_key),
    };
    return cmocka_run_group_tests_name("scp03_roundtrip", tests, NULL, NULL);
}
