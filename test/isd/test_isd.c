/*
 * test_isd.c — the issuer security domain in USER mode: GlobalPlatform card
 * content management over SCP03 (loader/isd_gp.c) driven by the host side
 * the tools use (tools/gp_host.c), on cards made by `cardvm create`.
 *
 * argv[1] = the cardvm binary, argv[2] = the directory of the example
 * applets' CAP files (build/examples/applets, made by `cardvm asm`).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <tomcrypt.h>

#include "apdu.h"
#include "cap_file.h"
#include "card.h"
#include "gp_host.h"
#include "gpcard.h"
#include "loader.h"
#include "scp03.h"
#include "tear.h"
#include "testfiles.h"

static const char *cardvm_bin, *applets_dir;
static char tmpdir[256];

typedef struct applet_ex {
    const char *name;
    const char *pkg, *applet, *params;   /* hex */
    const char *cmd, *rsp;               /* a command and its whole response (hex, SW included) */
    uint8_t *blob;
    size_t len;
} applet_ex;

static applet_ex ex[] = {
    {"hello", "F063617264766D10", "F063617264766D1001", "", "0010000000", "48656C6C6F2C2063617264219000", 0, 0},
    {"counter", "F063617264766D11", "F063617264766D1101", "", "8002000000", "00009000", 0, 0},
    {"wallet", "F063617264766D12", "F063617264766D1201", "31323334", "8050000002", "00009000", 0, 0},
    {"crypto", "F063617264766D13", "F063617264766D1301", "2B7E151628AED2A6ABF7158809CF4F3C", "8010000003616263",
     "BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD9000", 0, 0},
};
#define N_EX (sizeof ex / sizeof ex[0])

/* ---- helpers ---- */
static size_t hx(const char *s, uint8_t *out, size_t cap)
{
    size_t n = 0;
    assert_int_equal(gp_parse_hex(s, out, cap, &n), 0);
    return n;
}

static uint32_t heap_free(gpcard *f)
{
    chip_stats st;
    chip_get_stats(gpcard_chip(f), &st);
    return st.nvm_heap_free;
}

static void keys_of(gp_keys *k, uint8_t kvn, uint8_t fill)
{
    memset(k, 0, sizeof *k);
    k->kvn = kvn;
    k->key_len = 16;
    for (int i = 0; i < 16; i++) {
        k->enc[i] = (uint8_t)(fill + i);
        k->mac[i] = (uint8_t)(fill + 0x20 + i);
        k->dek[i] = (uint8_t)(fill + 0x40 + i);
    }
}

/* 9000 when the channel opened, the refusing SW, or 0xFFFF when the host
 * refused the card (card cryptogram mismatch: wrong keys). */
static unsigned open_sc(gpcard *f, const gp_keys *k, uint8_t level)
{
    uint16_t sw = 0;
    if (gp_open(&f->gp, k, level, NULL, 0, &sw)) return 0xFFFF;
    if (!f->gp.open) return sw;
    return 0x9000;
}

static void open_default(gpcard *f, uint8_t level)
{
    gp_keys k;
    gp_default_keys(&k);
    assert_int_equal(open_sc(f, &k, level), 0x9000);
}

static unsigned send_hex(gpcard *f, const char *hex, uint8_t *rsp, size_t *rl)
{
    uint8_t cmd[300], buf[1024];
    size_t n = hx(hex, cmd, sizeof cmd), l;
    uint16_t sw;
    if (gp_send(&f->gp, cmd, n, rsp ? rsp : buf, 1024, rl ? rl : &l, &sw)) return 0xFFFF;
    return sw;
}

static unsigned load(gpcard *f, const uint8_t *blob, size_t len)
{
    uint16_t sw;
    int blk;
    if (gp_load_package(&f->gp, blob, len, 1, &sw, &blk)) return 0xFFFF;
    return sw;
}

static unsigned install(gpcard *f, const applet_ex *e, const char *instance)
{
    uint8_t pkg[16], app[16], inst[16], par[64];
    size_t pl = hx(e->pkg, pkg, 16), al = hx(e->applet, app, 16), il = instance ? hx(instance, inst, 16) : 0,
           parl = hx(e->params, par, sizeof par);
    uint16_t sw;
    if (gp_install(&f->gp, 0x0C, pkg, pl, app, al, instance ? inst : NULL, il, NULL, par, parl, &sw)) return 0xFFFF;
    return sw;
}

static unsigned del(gpcard *f, const char *aid, int related)
{
    uint8_t a[16];
    size_t n = hx(aid, a, 16);
    uint16_t sw;
    if (gp_delete(&f->gp, a, n, related, &sw)) return 0xFFFF;
    return sw;
}

static int listed(gpcard *f, uint8_t p1, const char *aid)
{
    char l[2048];
    gpcard_status_list(f, p1, l, sizeof l);
    return strstr(l, aid) != NULL;
}

/* A summary of what the card holds: heap, packages, applications, key sets. */
static void card_summary(gpcard *f, char *out, size_t cap)
{
    char a[1536], p[1536];
    gpcard_status_list(f, 0x40, a, sizeof a);
    gpcard_status_list(f, 0x20, p, sizeof p);
    loader_info li;
    assert_int_equal(loader_read_info(gpcard_chip(f), &li), 0);
    char k[64] = "";
    for (unsigned i = 0; i < li.n_keysets; i++) sprintf(k + strlen(k), "%02X", li.kvns[i]);
    snprintf(out, cap, "heap %u | apps %s | pkgs %s | kvns %s", heap_free(f), a, p, k);
}

/* ---- tests ---- */

/* Load, install, select, run and delete each example applet at levels 01,
 * 03 and 33; afterwards the card holds exactly what it held before. */
static void all_applets_all_levels(void **st)
{
    (void)st;
    static const uint8_t levels[] = {0x01, 0x03, 0x33};
    for (size_t l = 0; l < 3; l++) {
        gpcard f;
        gpcard_open(&f, tmpdir, "levels.img");
        open_default(&f, levels[l]);
        char before[4096], after[4096];
        card_summary(&f, before, sizeof before);
        for (size_t i = 0; i < N_EX; i++) {
            applet_ex *e = &ex[i];
            open_default(&f, levels[l]);
            assert_int_equal(load(&f, e->blob, e->len), 0x9000);
            assert_int_equal(install(&f, e, NULL), 0x9000);
            assert_true(listed(&f, 0x40, e->applet));
            assert_true(listed(&f, 0x20, e->pkg));
            uint8_t aid[16], rsp[1024];
            size_t al = hx(e->applet, aid, 16), rl;
            uint16_t sw;
            assert_int_equal(gp_select(&f.gp, aid, al, rsp, sizeof rsp, &rl, &sw), 0);
            assert_int_equal(sw, 0x9000);
            assert_int_equal(send_hex(&f, e->cmd, rsp, &rl), 0x9000);
            uint8_t want[128];
            size_t wl = hx(e->rsp, want, sizeof want);
            assert_int_equal(rl + 2, wl);
            assert_memory_equal(rsp, want, rl);
            open_default(&f, levels[l]);
            assert_int_equal(del(&f, e->pkg, 1), 0x9000);
            assert_false(listed(&f, 0x40, e->applet));
            assert_false(listed(&f, 0x20, e->pkg));
            assert_int_equal(gp_select(&f.gp, aid, al, rsp, sizeof rsp, &rl, &sw), 0);
            assert_int_equal(sw, 0x6A82);
        }
        open_default(&f, levels[l]);
        card_summary(&f, after, sizeof after);
        assert_string_equal(before, after);
        gpcard_close(&f);
    }
}

static void wrong_keys(void **st)
{
    (void)st;
    gpcard f;
    gpcard_open(&f, tmpdir, "wrongkeys.img");
    gp_keys k;
    gp_default_keys(&k);
    k.enc[0] ^= 1;   /* wrong ENC: the card cryptogram does not match */
    assert_int_equal(open_sc(&f, &k, 0x03), 0xFFFF);
    gp_default_keys(&k);
    k.mac[5] ^= 0x80;
    assert_int_equal(open_sc(&f, &k, 0x01), 0xFFFF);
    gp_default_keys(&k);
    k.kvn = 0x31;    /* no such key set */
    assert_int_equal(open_sc(&f, &k, 0x03), 0x6A88);
    /* a host that ignores the card cryptogram: EXTERNAL AUTHENTICATE with a
     * wrong host cryptogram is refused and no session opens */
    uint8_t apdu[64], rsp[256];
    size_t n, rl;
    gp_default_keys(&k);
    scp03_host_session h;
    uint16_t sw;
    assert_int_equal(gp_select(&f.gp, NULL, 0, rsp, sizeof rsp, &rl, &sw), 0);
    uint8_t bad[16];
    memcpy(bad, k.enc, 16);
    bad[0] ^= 1;
    assert_int_equal(scp03_host_init(&h, bad, bad, 16, NULL, 0), SCP03_OK);
    static const uint8_t hc[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    assert_int_equal(scp03_host_initialize_update(&h, 0x30, hc, apdu, sizeof apdu, &n), SCP03_OK);
    assert_int_equal(transport_transmit(f.t, apdu, n, rsp, sizeof rsp, &rl), 0);
    assert_int_equal(rsp[rl - 2] << 8 | rsp[rl - 1], 0x9000);
    /* a careless host goes on: EXTERNAL AUTHENTICATE with a made-up host
     * cryptogram and C-MAC is refused */
    uint8_t ea[21] = {0x84, 0x82, 0x03, 0x00, 0x10};
    for (int i = 5; i < 21; i++) ea[i] = (uint8_t)(i * 7);
    assert_int_equal(transport_transmit(f.t, ea, sizeof ea, rsp, sizeof rsp, &rl), 0);
    assert_int_not_equal(rsp[rl - 2] << 8 | rsp[rl - 1], 0x9000);
    scp03_host_close(&h);
    /* no session: content management refused */
    assert_int_equal(send_hex(&f, "80F2800002 4F00 00", NULL, NULL), 0x6982);
    gpcard_close(&f);
}

static void no_session(void **st)
{
    (void)st;
    gpcard f;
    gpcard_open(&f, tmpdir, "nosession.img");
    static const char *cmds[] = {
        "80F2800002 4F00 00",                       /* GET STATUS */
        "80F2400202 4F00 00",
        "80E602001507A0000000620100 08A000000151000000 00 00 00 00",  /* INSTALL [for load] */
        "80E80000 04 C4020000",                     /* LOAD */
        "80E60C00 1F 07A0000000620100 08A000000062010101 08A000000062010101 0100 02C900 00",
        "80E40000 06 4F04A0000000",                 /* DELETE */
        "80D83081 04 31000000",                     /* PUT KEY */
        "80F04080 08 A000000062010101",             /* SET STATUS */
    };
    uint8_t rsp[512];
    size_t rl;
    uint16_t sw;
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        assert_int_equal(gp_select(&f.gp, NULL, 0, rsp, sizeof rsp, &rl, &sw), 0);
        assert_int_equal(send_hex(&f, cmds[i], NULL, NULL), 0x6982);
    }
    /* GET DATA needs no session */
    assert_int_equal(send_hex(&f, "80CA006600", NULL, NULL), 0x9000);
    /* inside a session, a command not secured at the session's level is
     * refused (and ends the session) */
    open_default(&f, 0x01);
    f.gp.open = 0;   /* send the next command in plain */
    assert_int_equal(send_hex(&f, "80F2800202 4F00 00", NULL, NULL), 0x6982);
    /* a C-MAC-only session is enough for content management */
    open_default(&f, 0x01);
    assert_int_equal(send_hex(&f, "80F2800202 4F00 00", NULL, NULL), 0x9000);
    gpcard_close(&f);
}

static void get_status_exact(void **st)
{
    (void)st;
    gpcard f;
    gpcard_open(&f, tmpdir, "status.img");
    open_default(&f, 0x03);
    char isd[256], apps0[2048], pkgs0[2048], l[4096], want[4096];
    gpcard_status_list(&f, 0x80, isd, sizeof isd);
    assert_string_equal(isd, "A000000151000000");
    gpcard_status_list(&f, 0x40, apps0, sizeof apps0);
    gpcard_status_list(&f, 0x20, pkgs0, sizeof pkgs0);
    assert_int_equal(load(&f, ex[0].blob, ex[0].len), 0x9000);
    assert_int_equal(load(&f, ex[1].blob, ex[1].len), 0x9000);
    /* twelve hello instances: more than one response holds (6310) */
    snprintf(want, sizeof want, "%s", apps0);
    for (int i = 0; i < 12; i++) {
        char inst[40];
        snprintf(inst, sizeof inst, "F063617264766D10%02X", 0x10 + i);
        assert_int_equal(install(&f, &ex[0], inst), 0x9000);
        snprintf(want + strlen(want), sizeof want - strlen(want), "%s%s", want[0] ? " " : "", inst);
    }
    assert_int_equal(install(&f, &ex[1], NULL), 0x9000);
    snprintf(want + strlen(want), sizeof want - strlen(want), " %s", ex[1].applet);
    gpcard_status_list(&f, 0x40, l, sizeof l);
    assert_string_equal(l, want);
    snprintf(want, sizeof want, "%s%s%s %s", pkgs0, pkgs0[0] ? " " : "", ex[0].pkg, ex[1].pkg);
    gpcard_status_list(&f, 0x20, l, sizeof l);
    assert_string_equal(l, want);
    /* the raw 6310 continuation */
    uint8_t rsp[1024];
    size_t rl;
    assert_int_equal(send_hex(&f, "80F2400202 4F00 00", rsp, &rl), 0x6310);
    assert_true(rl > 0 && rsp[0] == 0xE3);
    assert_int_equal(send_hex(&f, "80F2400302 4F00 00", rsp, &rl), 0x6310);
    /* a get-next without a get-first, and for the ISD, are refused */
    assert_int_equal(send_hex(&f, "80F2800302 4F00 00", NULL, NULL), 0x6A86);
    open_default(&f, 0x03);
    assert_int_equal(send_hex(&f, "80F2400302 4F00 00", NULL, NULL), 0x6985);
    /* filter by AID prefix, P1 10 lists the modules, legacy format P2 00 */
    assert_int_equal(send_hex(&f, "80F220020A 4F08F063617264766D11 00", rsp, &rl), 0x9000);
    assert_int_equal(rsp[0], 0xE3);
    assert_int_equal(send_hex(&f, "80F210020A 4F08F063617264766D11 00", rsp, &rl), 0x9000);
    uint8_t mod[] = {0x84, 0x09, 0xF0, 0x63, 0x61, 0x72, 0x64, 0x76, 0x6D, 0x11, 0x01};
    assert_non_null(memmem(rsp, rl, mod, sizeof mod));
    assert_int_equal(send_hex(&f, "80F220000A 4F08F063617264766D11 00", rsp, &rl), 0x9000);
    uint8_t legacy[] = {0x08, 0xF0, 0x63, 0x61, 0x72, 0x64, 0x76, 0x6D, 0x11, 0x01, 0x00};
    assert_int_equal(rl, sizeof legacy);
    assert_memory_equal(rsp, legacy, rl);
    assert_int_equal(send_hex(&f, "80F2400209 4F07A0000000FFFFFF 00", NULL, NULL), 0x6A88);
    assert_int_equal(send_hex(&f, "80F2400200", NULL, NULL), 0x6A80);
    assert_int_equal(send_hex(&f, "80F2300202 4F00 00", NULL, NULL), 0x6A86);
    /* delete the package without "related": refused while instances exist */
    assert_int_equal(del(&f, ex[0].pkg, 0), 0x6985);
    assert_int_equal(del(&f, ex[0].pkg, 1), 0x9000);
    gpcard_status_list(&f, 0x40, l, sizeof l);
    snprintf(want, sizeof want, "%s%s%s", apps0, apps0[0] ? " " : "", ex[1].applet);
    assert_string_equal(l, want);
    assert_int_equal(del(&f, "A000000151000000", 0), 0x6985);   /* the ISD */
    assert_int_equal(del(&f, "A0000006990100", 0), 0x6985);     /* the masked OS */
    assert_int_equal(del(&f, "A0000000FFFFFF", 0), 0x6A88);
    gpcard_close(&f);
}

static void install_lifecycle_and_lock(void **st)
{
    (void)st;
    gpcard f;
    gpcard_open(&f, tmpdir, "lock.img");
    open_default(&f, 0x03);
    assert_int_equal(load(&f, ex[0].blob, ex[0].len), 0x9000);
    uint8_t pkg[16], app[16], rsp[256];
    size_t pl = hx(ex[0].pkg, pkg, 16), al = hx(ex[0].applet, app, 16), rl;
    uint16_t sw;
    /* INSTALL [for install] only: INSTALLED, not selectable */
    assert_int_equal(gp_install(&f.gp, 0x04, pkg, pl, app, al, NULL, 0, NULL, NULL, 0, &sw), 0);
    assert_int_equal(sw, 0x9000);
    assert_int_equal(gp_select(&f.gp, app, al, rsp, sizeof rsp, &rl, &sw), 0);
    assert_int_equal(sw, 0x6A82);
    open_default(&f, 0x03);
    static gp_entry e[16];
    size_t n;
    assert_int_equal(gp_get_status(&f.gp, 0x40, e, 16, &n, &sw), 0);
    int seen = 0;
    for (size_t i = 0; i < n; i++)
        if (e[i].aid_len == al && !memcmp(e[i].aid, app, al)) { assert_int_equal(e[i].state, 0x03); seen = 1; }
    assert_true(seen);
    assert_int_equal(gp_make_selectable(&f.gp, app, al, &sw), 0);
    assert_int_equal(sw, 0x9000);
    assert_int_equal(gp_make_selectable(&f.gp, app, al, &sw), 0);
    assert_int_equal(sw, 0x6985);
    assert_int_equal(gp_set_lock(&f.gp, app, al, 1, &sw), 0);
    assert_int_equal(sw, 0x9000);
    assert_int_equal(gp_select(&f.gp, app, al, rsp, sizeof rsp, &rl, &sw), 0);
    assert_int_equal(sw, 0x6A82);
    open_default(&f, 0x03);
    assert_int_equal(gp_get_status(&f.gp, 0x40, e, 16, &n, &sw), 0);
    for (size_t i = 0; i < n; i++)
        if (e[i].aid_len == al && !memcmp(e[i].aid, app, al)) assert_int_equal(e[i].state, 0x87);
    assert_int_equal(gp_set_lock(&f.gp, app, al, 0, &sw), 0);
    assert_int_equal(sw, 0x9000);
    assert_int_equal(gp_set_lock(&f.gp, app, al, 0, &sw), 0);
    assert_int_equal(sw, 0x6985);
    assert_int_equal(gp_select(&f.gp, app, al, rsp, sizeof rsp, &rl, &sw), 0);
    assert_int_equal(sw, 0x9000);
    /* the masked OS's vectored F0 command still answers (P1 00) */
    open_default(&f, 0x03);
    assert_int_equal(send_hex(&f, "80F0000000", rsp, &rl), 0x9000);
    /* an applet AID that is not in the package, an unknown package */
    assert_int_equal(install(&f, &(applet_ex){"x", "F063617264766D10", "F063617264766D1099", "", 0, 0, 0, 0}, NULL),
                     0x6A88);
    assert_int_equal(install(&f, &(applet_ex){"x", "A0000000629900", "F063617264766D1001", "", 0, 0, 0, 0}, NULL),
                     0x6A88);
    /* the same instance twice */
    assert_int_equal(install(&f, &ex[0], NULL), 0x6985);
    /* SELECT keeps where an instance's life cycle record is: what it kept
     * goes with a DELETE, and the same AID installed again ([for install]
     * alone: INSTALLED) is not selectable */
    assert_int_equal(gp_select(&f.gp, app, al, rsp, sizeof rsp, &rl, &sw), 0);
    assert_int_equal(sw, 0x9000);
    open_default(&f, 0x03);
    assert_int_equal(del(&f, ex[0].applet, 0), 0x9000);
    assert_int_equal(gp_select(&f.gp, app, al, rsp, sizeof rsp, &rl, &sw), 0);
    assert_int_equal(sw, 0x6A82);
    open_default(&f, 0x03);
    assert_int_equal(gp_install(&f.gp, 0x04, pkg, pl, app, al, NULL, 0, NULL, NULL, 0, &sw), 0);
    assert_int_equal(sw, 0x9000);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(gp_select(&f.gp, app, al, rsp, sizeof rsp, &rl, &sw), 0);
        assert_int_equal(sw, 0x6A82);
    }
    open_default(&f, 0x03);
    assert_int_equal(gp_make_selectable(&f.gp, app, al, &sw), 0);
    assert_int_equal(sw, 0x9000);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(gp_select(&f.gp, app, al, rsp, sizeof rsp, &rl, &sw), 0);
        assert_int_equal(sw, 0x9000);
    }
    open_default(&f, 0x03);
    assert_int_equal(gp_set_lock(&f.gp, app, al, 1, &sw), 0);
    assert_int_equal(sw, 0x9000);
    assert_int_equal(gp_select(&f.gp, app, al, rsp, sizeof rsp, &rl, &sw), 0);
    assert_int_equal(sw, 0x6A82);
    /* and with the card opened again from its image */
    gpcard_reopen(&f);
    assert_int_equal(gp_select(&f.gp, app, al, rsp, sizeof rsp, &rl, &sw), 0);
    assert_int_equal(sw, 0x6A82);
    gpcard_close(&f);
}

/* Raw APDU outside any secure channel: the whole response in hex (data and
 * SW), for the logical channel checks. */
static void raw_hex(gpcard *f, const char *hex, char *out, size_t cap)
{
    uint8_t cmd[300], rsp[600];
    size_t n = hx(hex, cmd, sizeof cmd), rl = 0;
    assert_int_equal(transport_transmit(f->t, cmd, n, rsp, sizeof rsp, &rl), 0);
    assert_true(rl >= 2 && 2 * rl < cap);
    for (size_t i = 0; i < rl; i++) snprintf(out + 2 * i, 3, "%02X", rsp[i]);
}

#define RAW(f, hex, want)                                   \
    do {                                                    \
        char got_[1300];                                    \
        raw_hex((f), (hex), got_, sizeof got_);             \
        if (strcmp(got_, (want)))                           \
            fail_msg("%s: got %s, expected %s", (hex), got_, (want)); \
    } while (0)

/* Issue 13.5 in process: applets on logical channels 1..19 through the
 * card's router. The example applets are not MultiSelectable, so one instance (or
 * package) active on a channel cannot be selected on a second one (JCRE
 * 4.2: 6985) and that channel keeps what it had (GPCS 6.4.3.1.2). */
static void applets_on_logical_channels(void **st)
{
    (void)st;
    gpcard f;
    gpcard_open(&f, tmpdir, "channels.img");
    open_default(&f, 0x03);
    assert_int_equal(load(&f, ex[0].blob, ex[0].len), 0x9000);
    assert_int_equal(install(&f, &ex[0], NULL), 0x9000);
    assert_int_equal(load(&f, ex[1].blob, ex[1].len), 0x9000);
    assert_int_equal(install(&f, &ex[1], NULL), 0x9000);
    gp_close(&f.gp);
    RAW(&f, "00A4040009F063617264766D1001", "9000");               /* hello on the basic channel */
    RAW(&f, "0070000001", "019000");                               /* channel 1, the ISD selected there */
    RAW(&f, "81CA004500", "45080000000000000001" "9000");        /* GET DATA 45: the serial cardvm create writes by default */
    RAW(&f, "01A4040009F063617264766D1001", "6985");               /* hello is active on 0 */
    RAW(&f, "81CA004500", "45080000000000000001" "9000");        /* channel 1 kept the ISD */
    RAW(&f, "01A4040009F063617264766D1101", "9000");               /* counter on 1 */
    RAW(&f, "8102000000", "00009000");
    RAW(&f, "0010000000", ex[0].rsp);                              /* hello still on 0 */
    RAW(&f, "00700006", "9000");                                   /* channel 6 (further class 42/C2) */
    RAW(&f, "42A4040009F063617264766D1101", "6985");               /* counter is active on 1 */
    RAW(&f, "C2CA004500", "45080000000000000001" "9000");        /* channel 6 has the ISD */
    RAW(&f, "00708001", "9000");                                   /* close 1: counter deselected */
    RAW(&f, "8102000000", "6881");
    RAW(&f, "42A4040009F063617264766D1101", "9000");               /* now counter on 6 */
    RAW(&f, "C201050000", "00059000");                             /* add 5 */
    RAW(&f, "C202000000", "00059000");
    RAW(&f, "42A4040000", "6F10" "8408A000000151000000" "A5049F6501FF" "9000");  /* the ISD again on 6 */
    RAW(&f, "C202000000", "6D00");                                 /* the ISD does not know INS 02 */
    RAW(&f, "0010000000", ex[0].rsp);
    /* a card reset closes every supplementary channel */
    assert_int_equal(transport_reset(f.t, 1), 0);
    RAW(&f, "C2CA004500", "6881");
    RAW(&f, "00CA004500", "45080000000000000001" "9000");
    gpcard_close(&f);
}

static void put_key(void **st)
{
    (void)st;
    gpcard f;
    gpcard_open(&f, tmpdir, "putkey.img");
    open_default(&f, 0x03);
    gp_keys k31, k30new, def;
    keys_of(&k31, 0x31, 0x10);
    keys_of(&k30new, 0x30, 0x70);
    gp_default_keys(&def);
    uint8_t kcv[10], want[3];
    uint16_t sw;
    /* add KVN 31 */
    assert_int_equal(gp_put_key(&f.gp, 0x00, &k31, kcv, &sw), 0);
    assert_int_equal(sw, 0x9000);
    assert_int_equal(kcv[0], 0x31);
    assert_int_equal(scp03_kcv(k31.enc, 16, want), SCP03_OK);
    assert_memory_equal(kcv + 1, want, 3);
    assert_int_equal(scp03_kcv(k31.dek, 16, want), SCP03_OK);
    assert_memory_equal(kcv + 7, want, 3);
    /* adding an existing KVN is refused */
    assert_int_equal(gp_put_key(&f.gp, 0x00, &k31, kcv, &sw), 0);
    assert_int_equal(sw, 0x6A80);
    /* GET DATA E0 (key information) lists the new set */
    {
        uint8_t r[256];
        size_t rl2;
        static const uint8_t c0[] = {0xC0, 0x04, 0x01, 0x31, 0x88, 0x10};
        assert_int_equal(send_hex(&f, "80CA00E000", r, &rl2), 0x9000);
        assert_non_null(memmem(r, rl2, c0, sizeof c0));
    }
    /* the new key set works, at every level */
    assert_int_equal(open_sc(&f, &k31, 0x33), 0x9000);
    assert_int_equal(load(&f, ex[0].blob, ex[0].len), 0x9000);
    assert_int_equal(del(&f, ex[0].pkg, 1), 0x9000);
    /* replace KVN 30 (through a session of KVN 31) */
    assert_int_equal(gp_put_key(&f.gp, 0x30, &k30new, kcv, &sw), 0);
    assert_int_equal(sw, 0x9000);
    assert_int_equal(open_sc(&f, &def, 0x03), 0xFFFF);     /* the replaced keys no longer work */
    assert_int_equal(open_sc(&f, &k30new, 0x03), 0x9000);  /* the new ones do */
    /* replacing a key set that does not exist */
    gp_keys k40;
    keys_of(&k40, 0x40, 0x33);
    assert_int_equal(gp_put_key(&f.gp, 0x45, &k40, kcv, &sw), 0);
    assert_int_equal(sw, 0x6A88);
    /* a key block with a wrong KCV is refused */
    uint8_t d[SCP03_PUT_KEY_DATA_MAX], rsp[64];
    size_t n, rl;
    assert_int_equal(scp03_put_key_data(k30new.dek, 16, 0x41, k40.enc, k40.mac, k40.dek, 16, d, sizeof d, &n), 0);
    d[n - 1] ^= 1;
    assert_int_equal(gp_cmd(&f.gp, 0x80, 0xD8, 0x00, 0x81, d, n, rsp, sizeof rsp, &rl, &sw), 0);
    assert_int_equal(sw, 0x6A80);
    /* the state survives a reopen of the image */
    gpcard_reopen(&f);
    assert_int_equal(open_sc(&f, &k30new, 0x01), 0x9000);
    assert_int_equal(open_sc(&f, &k31, 0x01), 0x9000);
    assert_int_equal(open_sc(&f, &def, 0x01), 0xFFFF);
    loader_info li;
    assert_int_equal(loader_read_info(gpcard_chip(&f), &li), 0);
    assert_int_equal(li.n_keysets, 2);
    gpcard_close(&f);
}

static uint8_t *corrupt_copy(const applet_ex *e, size_t at)
{
    uint8_t *b = malloc(e->len);
    memcpy(b, e->blob, e->len);
    b[at] ^= 0x5A;
    return b;
}

/* INSTALL [for load] of package pkg naming the SHA-256 `hash` of the load
 * file (none when NULL), then LOAD of blob in 230-byte blocks: the SW of
 * the last command sent (a block refused ends the load). */
static unsigned load_with_hash(gpcard *f, const char *pkg, const uint8_t *hash, const uint8_t *blob, size_t len)
{
    uint8_t d[64];
    size_t n = 1;
    uint16_t sw;
    n += hx(pkg, d + n, 16);
    d[0] = (uint8_t)(n - 1);
    d[n++] = 0;
    d[n++] = hash ? 32 : 0;
    if (hash) memcpy(d + n, hash, 32);
    n += hash ? 32 : 0;
    d[n++] = 0;
    d[n++] = 0;
    if (gp_cmd(&f->gp, 0x80, 0xE6, 0x02, 0x00, d, n, NULL, 0, NULL, &sw) || sw != 0x9000) return sw;
    uint8_t *lf = malloc(len + 4);
    assert_non_null(lf);
    lf[0] = 0xC4; lf[1] = 0x82; lf[2] = (uint8_t)(len >> 8); lf[3] = (uint8_t)len;
    memcpy(lf + 4, blob, len);
    for (size_t at = 0, blk = 0; at < len + 4; at += 230, blk++) {
        size_t take = len + 4 - at < 230 ? len + 4 - at : 230;
        int last = at + take == len + 4;
        if (gp_cmd(&f->gp, 0x80, 0xE8, last ? 0x80 : 0x00, (uint8_t)blk, lf + at, take, NULL, 0, NULL, &sw)) sw = 0xFFFF;
        if (sw != 0x9000 || last) break;
    }
    free(lf);
    return sw;
}

static void malformed_load_leaves_nothing(void **st)
{
    (void)st;
    gpcard f;
    gpcard_open(&f, tmpdir, "malformed.img");
    open_default(&f, 0x03);
    char before[4096], after[4096];
    card_summary(&f, before, sizeof before);
    const applet_ex *e = &ex[2];   /* wallet: several blocks */
    /* a flipped byte under the original's load file data block hash (GPCS
     * 11.6.2.3): refused when the last block arrives, nothing kept */
    uint8_t hash[32];
    hash_state hs;
    sha256_init(&hs);
    sha256_process(&hs, e->blob, (unsigned long)e->len);
    sha256_done(&hs, hash);
    for (size_t at = 0; at < e->len; at += e->len / 7) {
        uint8_t *b = corrupt_copy(e, at);
        unsigned sw = load_with_hash(&f, e->pkg, hash, b, e->len);
        free(b);
        if (sw != 0x6A80 && sw != 0xFFFF) fail_msg("flipped byte %zu of %zu: SW %04X", at, e->len, sw);
        if (!f.gp.open) open_default(&f, 0x03);
        card_summary(&f, after, sizeof after);
        assert_string_equal(before, after);
    }
    /* the same hash with the original loads (and goes again) */
    assert_int_equal(load_with_hash(&f, e->pkg, hash, e->blob, e->len), 0x9000);
    assert_int_equal(del(&f, e->pkg, 1), 0x9000);
    card_summary(&f, after, sizeof after);
    assert_string_equal(before, after);
    /* without the hash: a Header component without its magic (DECAFFED,
     * JCVM 3.0.5 §6.3, at offset 3 after the tag and size) is refused */
    uint8_t *b = corrupt_copy(e, 3);
    assert_int_equal(load_with_hash(&f, e->pkg, NULL, b, e->len), 0x6A80);
    free(b);
    uint16_t sw;
    card_summary(&f, after, sizeof after);
    assert_string_equal(before, after);
    /* the AID of INSTALL [for load] differs from the package's */
    uint8_t d[64];
    size_t n = 1;
    n += hx("A0000000629900", d + n, 16);
    d[0] = (uint8_t)(n - 1);
    d[n++] = 0; d[n++] = 0; d[n++] = 0; d[n++] = 0;
    assert_int_equal(gp_cmd(&f.gp, 0x80, 0xE6, 0x02, 0x00, d, n, NULL, 0, NULL, &sw), 0);
    assert_int_equal(sw, 0x9000);
    uint8_t *lf = malloc(ex[0].len + 4);
    assert_non_null(lf);
    lf[0] = 0xC4; lf[1] = 0x82; lf[2] = (uint8_t)(ex[0].len >> 8); lf[3] = (uint8_t)ex[0].len;
    memcpy(lf + 4, ex[0].blob, ex[0].len);
    for (size_t at = 0, blk = 0; at < ex[0].len + 4; at += 230, blk++) {
        size_t take = ex[0].len + 4 - at < 230 ? ex[0].len + 4 - at : 230;
        int last = at + take == ex[0].len + 4;
        assert_int_equal(gp_cmd(&f.gp, 0x80, 0xE8, last ? 0x80 : 0x00, (uint8_t)blk, lf + at, take, NULL, 0, NULL, &sw),
                         0);
        assert_int_equal(sw, last ? 0x6A80 : 0x9000);
    }
    card_summary(&f, after, sizeof after);
    assert_string_equal(before, after);
    /* LOAD without INSTALL [for load], blocks out of order */
    assert_int_equal(gp_cmd(&f.gp, 0x80, 0xE8, 0x80, 0x00, lf, 10, NULL, 0, NULL, &sw), 0);
    assert_int_equal(sw, 0x6985);
    free(lf);
    /* an interrupted load: blocks staged, then a reset; the next session
     * discards them */
    uint8_t *lb = malloc(e->len + 8);
    lb[0] = 0xC4; lb[1] = 0x82; lb[2] = (uint8_t)(e->len >> 8); lb[3] = (uint8_t)e->len;
    memcpy(lb + 4, e->blob, e->len);
    n = 1;
    n += hx(e->pkg, d + n, 16);
    d[0] = (uint8_t)(n - 1);
    d[n++] = 0; d[n++] = 0; d[n++] = 0; d[n++] = 0;
    assert_int_equal(gp_cmd(&f.gp, 0x80, 0xE6, 0x02, 0x00, d, n, NULL, 0, NULL, &sw), 0);
    assert_int_equal(sw, 0x9000);
    assert_int_equal(gp_cmd(&f.gp, 0x80, 0xE8, 0x00, 0x00, lb, 200, NULL, 0, NULL, &sw), 0);
    assert_int_equal(sw, 0x9000);
    assert_int_equal(gp_cmd(&f.gp, 0x80, 0xE8, 0x00, 0x02, lb + 200, 200, NULL, 0, NULL, &sw), 0);
    assert_int_equal(sw, 0x6A86);
    free(lb);
    assert_int_equal(transport_reset(f.t, 1), 0);
    open_default(&f, 0x03);
    card_summary(&f, after, sizeof after);
    assert_string_equal(before, after);
    gpcard_close(&f);
}

/* ---- power cuts ---- */
typedef struct tear_ctx {
    gpcard f;
    int which;
    char before[4096];
} tear_ctx;

enum { T_LOAD, T_INSTALL, T_DELETE, T_PUTKEY };

static void *tear_setup(void *arg)
{
    tear_ctx *t = calloc(1, sizeof *t);
    t->which = *(int *)arg;
    gpcard_open(&t->f, tmpdir, "tear.img");
    open_default(&t->f, 0x03);
    if (t->which != T_LOAD) assert_int_equal(load(&t->f, ex[1].blob, ex[1].len), 0x9000);
    if (t->which == T_DELETE) assert_int_equal(install(&t->f, &ex[1], NULL), 0x9000);
    card_summary(&t->f, t->before, sizeof t->before);
    return t;
}
static chip *tear_chip(void *ctx) { return gpcard_chip(&((tear_ctx *)ctx)->f); }
static void tear_power(void *ctx) { transport_reset(((tear_ctx *)ctx)->f.t, 1); }
static void tear_teardown(void *ctx)
{
    tear_ctx *t = ctx;
    gpcard_close(&t->f);
    free(t);
}

static int tear_run(void *ctx)
{
    tear_ctx *t = ctx;
    gp_keys k;
    uint8_t kcv[10];
    uint16_t sw;
    switch (t->which) {
    case T_LOAD: return load(&t->f, ex[1].blob, ex[1].len) == 0x9000 ? 0 : 1;
    case T_INSTALL: return install(&t->f, &ex[1], NULL) == 0x9000 ? 0 : 1;
    case T_DELETE: return del(&t->f, ex[1].pkg, 1) == 0x9000 ? 0 : 1;
    case T_PUTKEY:
        keys_of(&k, 0x30, 0x55);
        if (gp_put_key(&t->f.gp, 0x30, &k, kcv, &sw)) return 1;
        return sw == 0x9000 ? 0 : 1;
    }
    return 1;
}

/* Reopen the image: the card holds the state before or the state after,
 * and from the state before the command works. */
static int tear_check(void *ctx, uint32_t cut)
{
    tear_ctx *t = ctx;
    gpcard_reopen(&t->f);
    gp_keys def, nk;
    gp_default_keys(&def);
    keys_of(&nk, 0x30, 0x55);
    if (t->which == T_PUTKEY) {
        int old_ok = open_sc(&t->f, &def, 0x03) == 0x9000;
        int new_ok = !old_ok && open_sc(&t->f, &nk, 0x03) == 0x9000;
        if (old_ok == new_ok) return 1;
        if (cut == 0 && !new_ok) return 2;
        if (old_ok && tear_run(t) != 0) return 3;
        return 0;
    }
    if (open_sc(&t->f, &def, 0x03) != 0x9000) return 4;
    char now[4096];
    card_summary(&t->f, now, sizeof now);
    int done;
    switch (t->which) {
    case T_LOAD: done = listed(&t->f, 0x20, ex[1].pkg); break;
    case T_INSTALL: done = listed(&t->f, 0x40, ex[1].applet); break;
    default: done = !listed(&t->f, 0x20, ex[1].pkg); break;
    }
    if (cut == 0 && !done) return 5;
    if (!done) {
        if (strcmp(now, t->before) != 0) {
            fprintf(stderr, "cut %u:\n before %s\n now    %s\n", cut, t->before, now);
            return 6;
        }
        if (tear_run(t) != 0) return 7;
        done = 1;
    }
    if (t->which == T_INSTALL || (t->which == T_LOAD && install(&t->f, &ex[1], NULL) == 0x9000)) {
        uint8_t aid[16], rsp[256];
        size_t al = hx(ex[1].applet, aid, 16), rl;
        uint16_t sw;
        if (gp_select(&t->f.gp, aid, al, rsp, sizeof rsp, &rl, &sw) || sw != 0x9000) return 8;
        if (send_hex(&t->f, ex[1].cmd, rsp, &rl) != 0x9000) return 9;
    }
    return 0;
}

static void sweep(const char *name, int which)
{
    tear_scenario sc = {name, tear_setup, tear_chip, tear_run, tear_power, tear_check, tear_teardown};
    uint32_t writes = tear_sweep(&sc, &which);
    print_message("%-10s %u write indexes\n", name, writes);
    assert_true(writes > 0);
}

static void tear_load(void **st) { (void)st; sweep("LOAD", T_LOAD); }
static void tear_install(void **st) { (void)st; sweep("INSTALL", T_INSTALL); }
static void tear_delete(void **st) { (void)st; sweep("DELETE", T_DELETE); }
static void tear_put_key(void **st) { (void)st; sweep("PUT KEY", T_PUTKEY); }

/* ---- random input ---- */
static void random_commands(void **st)
{
    (void)st;
    gpcard f;
    gpcard_open(&f, tmpdir, "fuzz.img");
    open_default(&f, 0x03);
    assert_int_equal(load(&f, ex[0].blob, ex[0].len), 0x9000);
    assert_int_equal(install(&f, &ex[0], NULL), 0x9000);
    char before[4096], after[4096];
    card_summary(&f, before, sizeof before);
    static const uint8_t ins[] = {0xF2, 0xE6, 0xE8, 0xE4, 0xD8, 0xF0};
    srand(6);
    uint8_t cmd[300], rsp[1024];
    for (int i = 0; i < 6000; i++) {
        int in_session = i % 2;
        if (in_session && !f.gp.open) open_default(&f, (uint8_t[]){0x01, 0x03, 0x33}[i % 3]);
        if (!in_session && f.gp.open) {
            size_t rl;
            uint16_t sw;
            assert_int_equal(gp_select(&f.gp, NULL, 0, rsp, sizeof rsp, &rl, &sw), 0);
        }
        size_t n = (size_t)(rand() % 60);
        apdu_command a = {.cla = 0x80, .ins = ins[rand() % 6], .p1 = (uint8_t)rand(), .p2 = (uint8_t)rand()};
        if (rand() % 4 == 0) a.p1 = (uint8_t[]){0x02, 0x04, 0x0C, 0x08, 0x40, 0x80, 0x20, 0x10, 0x00}[rand() % 9];
        if (rand() % 4 == 0) a.p2 = (uint8_t[]){0x00, 0x02, 0x80, 0x81, 0x03}[rand() % 5];
        uint8_t data[256];
        for (size_t j = 0; j < n; j++) data[j] = (uint8_t)rand();
        if (n > 2 && rand() % 3 == 0) { data[0] = 0x4F; data[1] = (uint8_t)(rand() % 18); }
        a.data = n ? data : NULL;
        a.nc = (uint32_t)n;
        a.ne = rand() % 2 ? 256 : 0;
        size_t len = apdu_encode(&a, cmd, sizeof cmd), rl;
        uint16_t sw;
        int garbage = 0;
        if (!in_session && rand() % 2) {
            garbage = 1;
            /* raw garbage, possibly malformed */
            len = (size_t)(rand() % 40);
            for (size_t j = 0; j < len; j++) cmd[j] = (uint8_t)rand();
            if (len) cmd[0] = 0x80;
        }
        int rc = gp_send(&f.gp, cmd, len, rsp, sizeof rsp, &rl, &sw);
        assert_int_equal(rc, 0);
        /* only GET STATUS and the vectored OS commands (F0/F4) may succeed */
        int vectored = a.ins == 0xF0 && a.p1 != 0x40 && a.p1 != 0x60 && a.p1 != 0x80;
        if (!garbage && sw == 0x9000 && a.ins != 0xF2 && !vectored)
            fail_msg("command %d (%02X %02X %02X, %zu bytes) answered 9000", i, a.ins, a.p1, a.p2, n);
    }
    open_default(&f, 0x03);
    card_summary(&f, after, sizeof after);
    assert_string_equal(before, after);
    gpcard_close(&f);
}

static int setup_all(void **st)
{
    (void)st;
    if (gpcard_make_template(cardvm_bin, "isd", tmpdir, sizeof tmpdir)) return -1;
    for (size_t i = 0; i < N_EX; i++) {
        char p[1024], err[256];
        snprintf(p, sizeof p, "%s/%s.cap", applets_dir, ex[i].name);
        capfile cf;
        if (capfile_read(p, 0, &cf, err, sizeof err)) {
            fprintf(stderr, "%s: %s\n", p, err);
            capfile_free(&cf);
            return -1;
        }
        ex[i].blob = cf.load_file;
        ex[i].len = cf.len;
    }
    return 0;
}

static int teardown_all(void **st)
{
    (void)st;
    for (size_t i = 0; i < N_EX; i++) free(ex[i].blob);
    return test_remove_dir(tmpdir);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: test_isd CARDVM APPLETS_DIR\n");
        return 2;
    }
    cardvm_bin = argv[1];
    applets_dir = argv[2];
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(all_applets_all_levels),
        cmocka_unit_test(wrong_keys),
        cmocka_unit_test(no_session),
        cmocka_unit_test(get_status_exact),
        cmocka_unit_test(install_lifecycle_and_lock),
        cmocka_unit_test(put_key),
        cmocka_unit_test(applets_on_logical_channels),
        cmocka_unit_test(malformed_load_leaves_nothing),
        cmocka_unit_test(tear_load),
        cmocka_unit_test(tear_install),
        cmocka_unit_test(tear_delete),
        cmocka_unit_test(tear_put_key),
        cmocka_unit_test(random_commands),
    };
    return cmocka_run_group_tests(tests, setup_all, teardown_all);
}
