/*
 * test_broadcast.c — seed 004: the broadcast OS update, card side and
 * off-card side together. Tests named step_Exx / fig3_ / fig4_ / fig5_ prove
 * the step of the seed docs/seed-fidelity.md names them for.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "apdu.h"
#include "broadcast.h"
#include "campaign_cards.h"
#include "campaign_core.h"
#include "card.h"
#include "chip.h"
#include "loader.h"
#include "packages.h"
#include "scp03.h"
#include "tear.h"
#include "testfiles.h"

/* from loader_internal.h (the vector table) */
int vectors_get(const chip *c, uint8_t slot, uint8_t *aid, uint8_t *aid_len, uint16_t *method);

#define VM_TAG_PACKAGE 0x5601u

static char tmpdir[256];
static char user_template[512];
static campaign_factory factory;
static campaign_card ident;
static const uint8_t master[16] = {0x4D, 0x41, 0x53, 0x54, 0x45, 0x52, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
static const uint8_t kos[16] = {0x4B, 0x4F, 0x53, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
static const uint8_t kmac[16] = {0x4B, 0x4D, 0x41, 0x43, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
static const uint8_t bk[32] = {0xB0, 0xB1, 0xB2, 0xB3, 0xB4, 0xB5, 0xB6, 0xB7, 0xB8, 0xB9, 0xBA, 0xBB, 0xBC, 0xBD, 0xBE, 0xBF,
                               0xC0, 0xC1, 0xC2, 0xC3, 0xC4, 0xC5, 0xC6, 0xC7, 0xC8, 0xC9, 0xCA, 0xCB, 0xCC, 0xCD, 0xCE, 0xCF};
static const uint8_t update_aid[] = {0xA0, 0x00, 0x00, 0x06, 0x99, 0x01, 0x01};
/* the example hello applet's CAP (examples/applets/hello/hello.jca; its load
 * file embedded by the build) */
extern const uint8_t example_hello_package[];
extern const size_t example_hello_package_len;
static const uint8_t hello_pkg_aid[] = {0xF0, 0x63, 0x61, 0x72, 0x64, 0x76, 0x6D, 0x10};
static const uint8_t hello_applet_aid[] = {0xF0, 0x63, 0x61, 0x72, 0x64, 0x76, 0x6D, 0x10, 0x01};
static const uint8_t *hello;
static size_t hello_len;

/* Two designed campaigns reused by many tests. */
static campaign c3, c4;         /* FIG.3: OS update through vector 0; FIG.4: install hello */
static apdu_list pse3, pse4;

static const char *path_of(const char *name)
{
    static char buf[4][512];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", tmpdir, name);
    return buf[k];
}

static card *fresh_card(const char *name)
{
    assert_int_equal(test_copy_file(user_template, path_of(name)), 0);
    card *c;
    char err[256];
    if (card_open(path_of(name), &c, err, sizeof err)) fail_msg("%s", err);
    chip_set_sync(card_chip(c), CHIP_SYNC_OFF);
    card_power(c, CARD_COLD, NULL, NULL);
    return c;
}

static int send_card(void *ctx, const uint8_t *cmd, size_t n, uint8_t *rsp, size_t cap, size_t *rlen)
{
    return card_transmit(ctx, cmd, n, rsp, cap, rlen);
}

static uint16_t tx(card *c, const uint8_t *cmd, size_t n, uint8_t *rsp, size_t *rlen)
{
    static uint8_t buf[CARD_MAX_RESPONSE];
    size_t k;
    if (card_transmit(c, cmd, n, buf, sizeof buf, &k)) return 0;
    if (rsp) memcpy(rsp, buf, k - 2);
    if (rlen) *rlen = k - 2;
    return (uint16_t)(buf[k - 2] << 8 | buf[k - 1]);
}

static int pending_present(card *c)
{
    return chip_nvm_find(card_chip(c), KIND_BROADCAST_PENDING, 0xFFFF, 0, NULL, NULL) == CHIP_OK;
}

static unsigned package_count(card *c)
{
    unsigned n = 0;
    while (chip_nvm_find(card_chip(c), VM_TAG_PACKAGE, 0xFFFF, n, NULL, NULL) == CHIP_OK) n++;
    return n;
}

static int vector0_is_update(card *c)
{
    uint8_t aid[16], al;
    uint16_t m;
    if (vectors_get(card_chip(c), 0, aid, &al, &m) != CHIP_OK) return -1;
    return al == sizeof update_aid && !memcmp(aid, update_aid, al);
}

static uint32_t counter_of(card *c)
{
    uint8_t r[16];
    size_t n;
    static const uint8_t gd[] = {0x80, 0xCA, 0x00, 0xC1, 0x00};
    assert_int_equal(tx(c, gd, sizeof gd, r, &n), 0x9000);
    return (uint32_t)r[2] << 16 | (uint32_t)r[3] << 8 | r[4];
}

static void paut_for(const campaign *cp, card *c, apdu_list *paut, scp03_host_session *h)
{
    campaign_card id = ident;
    id.counter = counter_of(c);
    static const uint8_t hc[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    memset(paut, 0, sizeof *paut);
    assert_int_equal(campaign_build_paut(cp, master, &id, hc, paut, h), CAMPAIGN_OK);
}

/* Full flow; returns the campaign_play result and checks ST when it worked. */
static int run_campaign(const campaign *cp, const apdu_list *pse, card *c, uint16_t *sw)
{
    apdu_list paut;
    scp03_host_session h;
    campaign_card id = ident;
    id.counter = counter_of(c);
    paut_for(cp, c, &paut, &h);
    uint8_t st[512];
    size_t stn;
    uint32_t rep;
    int rc = campaign_play(send_card, c, &paut, pse, st, sizeof st, &stn, &rep, sw);
    if (rc == CAMPAIGN_OK) {
        campaign_st s;
        assert_int_equal(campaign_check_st(cp, &id, &h, st, stn, &s), CAMPAIGN_OK);
        assert_memory_equal(s.hash, cp->hash, 32);
        assert_int_equal(s.counter, id.counter + 1);
    }
    scp03_host_close(&h);
    apdu_list_free(&paut);
    return rc;
}

/* Play only P_AUT's first part (IU, EA, CHANGE MODE). */
static void play_first_part(card *c, const apdu_list *paut, uint16_t *sw_chm)
{
    size_t pos = 0, n;
    const uint8_t *a;
    for (int i = 0; i < 3; i++) {
        assert_true(apdu_list_next(paut, &pos, &a, &n));
        uint16_t sw = tx(c, a, n, NULL, NULL);
        if (i < 2) assert_int_equal(sw, 0x9000);
        else *sw_chm = sw;
    }
}

static const uint8_t *paut_at(const apdu_list *l, int k, size_t *n)
{
    size_t pos = 0;
    const uint8_t *a = NULL;
    for (int i = 0; i <= k; i++) assert_true(apdu_list_next(l, &pos, &a, n));
    return a;
}

/* Send P_SE's commands [from, to). */
static uint16_t play_pse(card *c, const apdu_list *pse, size_t from, size_t to)
{
    size_t pos = 0, n, i = 0;
    const uint8_t *a;
    uint16_t sw = 0x9000;
    while (apdu_list_next(pse, &pos, &a, &n)) {
        if (i >= from && i < to) {
            sw = tx(c, a, n, NULL, NULL);
            if (sw != 0x9000) return sw;
        }
        i++;
    }
    return sw;
}

/* A host session of the diversified channel, live (not precomputed). */
static void live_session(card *c, scp03_host_session *h, uint8_t level)
{
    uint8_t enc[16], mac[16], dek[16], a[64], r[64];
    size_t n = 0, rn = 0;
    assert_int_equal(campaign_derive_keys(master, ident.serial, ident.div_data, enc, mac, dek), 0);
    assert_int_equal(scp03_host_init(h, enc, mac, 16, ident.isd_aid, ident.isd_aid_len), 0);
    static const uint8_t hc[8] = {9, 8, 7, 6, 5, 4, 3, 2};
    assert_int_equal(scp03_host_initialize_update(h, 0x30, hc, a, sizeof a, &n), 0);
    assert_int_equal(tx(c, a, n, r, &rn), 0x9000);
    r[rn] = 0x90;
    r[rn + 1] = 0x00;
    assert_int_equal(scp03_host_check_initialize_update_response(h, r, rn + 2), 0);
    assert_int_equal(scp03_host_external_authenticate(h, level, a, sizeof a, &n), 0);
    assert_int_equal(tx(c, a, n, NULL, NULL), 0x9000);
}

static uint16_t wrap_send(card *c, scp03_host_session *h, const uint8_t *plain, size_t n)
{
    uint8_t w[700];
    size_t wn;
    assert_int_equal(scp03_host_wrap(h, plain, n, w, sizeof w, &wn), 0);
    return tx(c, w, wn, NULL, NULL);
}

/* ---- group setup ---- */
static int group_setup(void **s)
{
    (void)s;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/cardvm-bc-XXXXXX");
    if (!mkdtemp(tmpdir)) return -1;
    if (campaign_factory_init(&factory, path_of("issuer.img"), NULL, master, kos, kmac)) return -1;
    factory.fast = 1;
    campaign_card_default(1, &ident);
    snprintf(user_template, sizeof user_template, "%s/user.img", tmpdir);
    if (campaign_factory_make(&factory, user_template, &ident)) return -1;
    hello = example_hello_package;
    hello_len = example_hello_package_len;
    campaign_action vec = {.flags = BROADCAST_ACT_VECTOR, .slot = 0, .method = 0};
    if (campaign_design_bk(example_os_update_package, example_os_update_package_len, 3, kos, NULL, &vec, 64, bk,
                           &c3, &pse3))
        return -1;
    campaign_action ins = {.flags = BROADCAST_ACT_INSTALL, .applet_len = sizeof hello_applet_aid};
    memcpy(ins.applet, hello_applet_aid, sizeof hello_applet_aid);
    if (campaign_design_bk(hello, hello_len, 4, kos, kmac, &ins, 224, bk, &c4, &pse4)) return -1;
    return 0;
}

static int group_teardown(void **s)
{
    (void)s;
    apdu_list_free(&pse3);
    apdu_list_free(&pse4);
    campaign_factory_free(&factory);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

/* ---- the factory ---- */

/* A made card reaches its file once, finished: the sealed customization
 * software, present in the ISSUER template (the control), is nowhere in the
 * card's file, not even as dead log records, and the card is in USER mode
 * with its own serial. */
#define KIND_SEALED 0x4C04u   /* loader/layout.h */
static void factory_card_file_holds_no_customization_software(void **s)
{
    (void)s;
    char err[300];
    chip *t;
    assert_int_equal(chip_open_ex(path_of("issuer.img"), CHIP_OPEN_READ_ONLY, NULL, &t, err, sizeof err), CHIP_OK);
    chip_power_on(t);
    uint32_t off, size;
    assert_int_equal(chip_nvm_find(t, KIND_SEALED, 0xFFFF, 0, &off, &size), CHIP_OK);
    assert_true(size >= 64);
    uint8_t sealed[64];
    assert_int_equal(chip_nvm_read(t, off + 32, sealed, sizeof sealed), CHIP_OK);   /* ciphertext */
    chip_close(t);
    size_t tlen, len;
    uint8_t *tb = test_read_file(path_of("issuer.img"), &tlen);
    uint8_t *cb = test_read_file(user_template, &len);
    assert_non_null(tb);
    assert_non_null(cb);
    int in_template = 0, in_card = 0;
    for (size_t i = 0; i + sizeof sealed <= tlen; i++) in_template |= !memcmp(tb + i, sealed, sizeof sealed);
    for (size_t i = 0; i + sizeof sealed <= len; i++) in_card |= !memcmp(cb + i, sealed, sizeof sealed);
    assert_true(in_template);
    assert_false(in_card);
    free(tb);
    free(cb);
    loader_info li;
    assert_int_equal(chip_open(user_template, &t, err, sizeof err), CHIP_OK);
    assert_int_equal(loader_read_info(t, &li), 0);
    assert_int_equal(li.mode, LOADER_MODE_USER);
    assert_memory_equal(li.serial, ident.serial, 8);
    assert_false(li.has_sealed);
    chip_close(t);
}

/* ---- the whole method (FIG.2 with FIG.3 and FIG.4) ---- */

static void fig3_full_os_update_through_vector(void **s)
{
    (void)s;
    card *c = fresh_card("fig3.img");
    static const uint8_t ver[] = {0x80, 0xF0, 0x00, 0x00, 0x00};
    uint8_t r[64];
    size_t n = 0;
    assert_int_equal(tx(c, ver, sizeof ver, r, &n), 0x9000);
    uint8_t before[64];
    size_t bn = n;
    memcpy(before, r, n);
    unsigned pk = package_count(c);
    uint16_t sw;
    assert_int_equal(run_campaign(&c3, &pse3, c, &sw), CAMPAIGN_OK);
    assert_false(pending_present(c));
    assert_int_equal(package_count(c), pk + 1);
    assert_int_equal(vector0_is_update(c), 1);
    card_power(c, CARD_COLD, NULL, NULL);
    assert_int_equal(tx(c, ver, sizeof ver, r, &n), 0x9000);
    assert_int_equal(n, 6);
    assert_memory_equal(r, "CVOS\x02\x00", 6);
    assert_false(bn == n && !memcmp(before, r, n));
    card_close(c);
}

static void fig4_full_applet_install(void **s)
{
    (void)s;
    card *c = fresh_card("fig4.img");
    uint16_t sw;
    assert_int_equal(run_campaign(&c4, &pse4, c, &sw), CAMPAIGN_OK);
    assert_false(pending_present(c));
    card_power(c, CARD_COLD, NULL, NULL);
    uint8_t sel[32] = {0x00, 0xA4, 0x04, 0x00, sizeof hello_applet_aid};
    memcpy(sel + 5, hello_applet_aid, sizeof hello_applet_aid);
    assert_int_equal(tx(c, sel, 5 + sizeof hello_applet_aid, NULL, NULL), 0x9000);
    static const uint8_t hi[] = {0x00, 0x10, 0x00, 0x00, 0x00};
    uint8_t r[64];
    size_t n;
    assert_int_equal(tx(c, hi, sizeof hi, r, &n), 0x9000);
    assert_memory_equal(r, "Hello, card!", 12);
    card_close(c);
}

/* FIG.4: the card removed both layers: the pending data is the plain DATASEND. */
static void step_E24_E26_fig4_pending_is_plain_datasend_in_order(void **s)
{
    (void)s;
    card *c = fresh_card("e26.img");
    apdu_list paut;
    paut_for(&c4, c, &paut, NULL);
    uint16_t sw;
    play_first_part(c, &paut, &sw);
    assert_int_equal(sw, 0x9000);
    assert_int_equal(play_pse(c, &pse4, 0, pse4.n - 1), 0x9000);
    uint32_t off, size;
    assert_int_equal(chip_nvm_find(card_chip(c), KIND_BROADCAST_PENDING, 1, 0, &off, &size), CHIP_OK);
    const uint8_t *p = chip_nvm_view(card_chip(c)) + off;
    assert_int_equal(p[22] << 8 | p[23], (int)c4.n_cmdi);          /* next block number */
    assert_memory_equal(p + BROADCAST_PENDING_HDR, hello, hello_len);
    assert_int_equal(p[24], 0);                                       /* not complete yet */
    /* E28-E30: CHANGE MODE back, then ATHZ works in the restored channel */
    assert_int_equal(play_pse(c, &pse4, pse4.n - 1, pse4.n), 0x9000);
    assert_int_equal(p[24], 1);
    size_t n;
    const uint8_t *athz = paut_at(&paut, 3, &n);
    assert_int_equal(tx(c, athz, n, NULL, NULL), 0x9000);
    apdu_list_free(&paut);
    card_close(c);
}

/* E14-E20: CHANGE MODE switches: the next diversified command is refused
 * (it is checked with BK) and that aborts the broadcast. */
static void step_E14_E20_change_mode_switches_channel(void **s)
{
    (void)s;
    card *c = fresh_card("e20.img");
    apdu_list paut;
    paut_for(&c3, c, &paut, NULL);
    uint16_t sw;
    play_first_part(c, &paut, &sw);
    assert_int_equal(sw, 0x9000);
    assert_true(pending_present(c));
    size_t n;
    const uint8_t *athz = paut_at(&paut, 3, &n);   /* diversified keys */
    assert_int_equal(tx(c, athz, n, NULL, NULL), 0x6982);
    assert_false(pending_present(c));
    apdu_list_free(&paut);
    card_close(c);
}

/* ---- negatives ---- */

static void neg_change_mode_outside_session(void **s)
{
    (void)s;
    card *c = fresh_card("noses.img");
    uint8_t a[128] = {0x80, 0x5A, 0x01, 0x00, 80};
    memset(a + 5, 0x03, 80);
    assert_int_equal(tx(c, a, 85, NULL, NULL), 0x6982);
    static const uint8_t back[] = {0x80, 0x5A, 0x00, 0x00};
    assert_int_equal(tx(c, back, sizeof back, NULL, NULL), 0x6985);
    /* and in a C-MAC only session (keys must travel encrypted) */
    scp03_host_session h;
    live_session(c, &h, 0x01);
    apdu_command cm = {.cla = 0x80, .ins = 0x5A, .p1 = 1, .data = a + 5, .nc = 80};
    uint8_t plain[128];
    size_t pn = apdu_encode(&cm, plain, sizeof plain);
    assert_int_equal(wrap_send(c, &h, plain, pn), 0x6982);
    assert_false(pending_present(c));
    card_close(c);
}

static void neg_wrong_bk_wrapped_under_other_kos(void **s)
{
    (void)s;
    card *c = fresh_card("wrongkos.img");
    campaign bad;
    apdu_list pse = {0};
    uint8_t other_kos[16];
    memset(other_kos, 0x77, 16);
    campaign_action vec = {.flags = BROADCAST_ACT_VECTOR};
    assert_int_equal(campaign_design_bk(example_os_update_package, example_os_update_package_len, 3, other_kos, NULL,
                                        &vec, 224, bk, &bad, &pse), 0);
    apdu_list paut;
    paut_for(&bad, c, &paut, NULL);
    uint16_t sw;
    play_first_part(c, &paut, &sw);
    assert_int_equal(sw, 0x6A80);   /* KCV of BK under Kos does not match */
    assert_false(pending_present(c));
    apdu_list_free(&paut);
    apdu_list_free(&pse);
    card_close(c);
}

/* Wrong BK: CHANGE MODE of one campaign, P_SE of another (other BK). */
static void neg_pse_of_another_campaign(void **s)
{
    (void)s;
    card *c = fresh_card("othercamp.img");
    campaign other;
    apdu_list pse = {0};
    campaign_action vec = {.flags = BROADCAST_ACT_VECTOR};
    assert_int_equal(campaign_design(example_os_update_package, example_os_update_package_len, 3, kos, NULL, &vec, 224,
                                     &other, &pse), 0);
    apdu_list paut;
    paut_for(&c3, c, &paut, NULL);
    uint16_t sw;
    play_first_part(c, &paut, &sw);
    assert_int_equal(sw, 0x9000);
    assert_int_equal(play_pse(c, &pse, 0, 1), 0x6982);
    assert_false(pending_present(c));
    /* the session is over: ATHZ is refused */
    size_t n;
    const uint8_t *athz = paut_at(&paut, 3, &n);
    assert_int_equal(tx(c, athz, n, NULL, NULL), 0x6982);
    assert_int_equal(vector0_is_update(c), 0);
    apdu_list_free(&paut);
    apdu_list_free(&pse);
    card_close(c);
}

static void neg_tampered_di(void **s)
{
    (void)s;
    card *c = fresh_card("tamper.img");
    apdu_list paut, pse = {0};
    size_t pos = 0, n;
    const uint8_t *a;
    while (apdu_list_next(&pse3, &pos, &a, &n)) apdu_list_add(&pse, a, n);
    pse.buf[2 + 10] ^= 0x01;   /* a byte of D1's cryptogram */
    paut_for(&c3, c, &paut, NULL);
    uint16_t sw;
    play_first_part(c, &paut, &sw);
    assert_int_equal(play_pse(c, &pse, 0, pse.n), 0x6982);
    assert_false(pending_present(c));
    apdu_list_free(&paut);
    apdu_list_free(&pse);
    card_close(c);
}

/* Correctly MACed CMDi with wrong block numbers (the test knows BK). */
static void send_custom_pse(card *c, const campaign *cp, const int *blocks, int nb, uint16_t *sws)
{
    scp03_host_session h;
    scp03_context ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.key_len = 16;
    ctx.level = BROADCAST_LEVEL;
    memcpy(ctx.s_enc, bk, 16);
    memcpy(ctx.s_mac, bk + 16, 16);
    memcpy(ctx.next_counter, cp->counter, 16);
    memcpy(ctx.chain, cp->chain, 16);
    assert_int_equal(scp03_host_init(&h, bk, bk + 16, 16, NULL, 0), 0);
    assert_int_equal(scp03_host_import_context(&h, &ctx), 0);
    for (int i = 0; i < nb; i++) {
        uint8_t plain[300];
        size_t pn;
        if (blocks[i] < 0) {
            apdu_command b = {.cla = 0x80, .ins = 0x5A};
            pn = apdu_encode(&b, plain, sizeof plain);
        } else {
            size_t off = (size_t)blocks[i] * 64;
            size_t take = example_os_update_package_len - off < 64 ? example_os_update_package_len - off : 64;
            apdu_command b = {.cla = 0x80, .ins = 0xE8, .p1 = (uint8_t)(blocks[i] >> 8), .p2 = (uint8_t)blocks[i],
                              .data = example_os_update_package + off, .nc = (uint32_t)take};
            pn = apdu_encode(&b, plain, sizeof plain);
        }
        sws[i] = wrap_send(c, &h, plain, pn);
        if (sws[i] != 0x9000) break;
    }
    scp03_host_close(&h);
}

static void neg_reordered_and_missing_cmdi(void **s)
{
    (void)s;
    assert_true(c3.n_cmdi >= 2);
    /* reordered: block 1 first */
    card *c = fresh_card("reorder.img");
    apdu_list paut;
    paut_for(&c3, c, &paut, NULL);
    uint16_t sw, sws[8] = {0};
    play_first_part(c, &paut, &sw);
    int order[] = {1, 0};
    send_custom_pse(c, &c3, order, 2, sws);
    assert_int_equal(sws[0], 0x6A86);
    assert_false(pending_present(c));
    apdu_list_free(&paut);
    card_close(c);
    /* missing: CHANGE MODE back before the last block */
    c = fresh_card("missing.img");
    paut_for(&c3, c, &paut, NULL);
    play_first_part(c, &paut, &sw);
    int miss[] = {0, -1};
    send_custom_pse(c, &c3, miss, 2, sws);
    assert_int_equal(sws[0], 0x9000);
    assert_int_equal(sws[1], 0x6A80);
    assert_false(pending_present(c));
    size_t n;
    const uint8_t *athz = paut_at(&paut, 3, &n);
    assert_int_not_equal(tx(c, athz, n, NULL, NULL), 0x9000);
    assert_int_equal(vector0_is_update(c), 0);
    apdu_list_free(&paut);
    card_close(c);
}

/* E36-E38: AUTHORIZE_ACTION with a wrong MAC erases the pending data. */
static void step_E38_wrong_mac_erases_pending(void **s)
{
    (void)s;
    card *c = fresh_card("wrongmac.img");
    campaign bad = c3;
    bad.mac[5] ^= 0x40;
    unsigned pk = package_count(c);
    uint16_t sw;
    assert_int_equal(run_campaign(&bad, &pse3, c, &sw), CAMPAIGN_ERR_CARD);
    assert_int_equal(sw, 0x6982);
    assert_false(pending_present(c));
    assert_int_equal(package_count(c), pk);
    assert_int_equal(vector0_is_update(c), 0);
    /* FIG.4 too (K-MAC) */
    card_power(c, CARD_COLD, NULL, NULL);
    campaign bad4 = c4;
    bad4.mac[0] ^= 1;
    assert_int_equal(run_campaign(&bad4, &pse4, c, &sw), CAMPAIGN_ERR_CARD);
    assert_int_equal(sw, 0x6982);
    assert_false(pending_present(c));
    assert_int_equal(package_count(c), pk);
    card_close(c);
}

/* E40 refused (the applet to install does not exist): nothing of the
 * activation stays, and the pending data is erased durably. */
static void neg_activation_failure_leaves_old_state(void **s)
{
    (void)s;
    card *c = fresh_card("actfail.img");
    campaign cp;
    apdu_list pse = {0};
    campaign_action ins = {.flags = BROADCAST_ACT_INSTALL | BROADCAST_ACT_VECTOR, .applet_len = 8};
    memset(ins.applet, 0xEE, 8);
    assert_int_equal(campaign_design_bk(example_os_update_package, example_os_update_package_len, 3, kos, NULL, &ins,
                                        64, bk, &cp, &pse), 0);
    unsigned pk = package_count(c);
    uint16_t sw;
    assert_int_equal(run_campaign(&cp, &pse, c, &sw), CAMPAIGN_ERR_CARD);
    assert_int_not_equal(sw, 0x9000);
    assert_false(pending_present(c));
    assert_int_equal(package_count(c), pk);
    assert_int_equal(vector0_is_update(c), 0);
    /* durable: reopen the image */
    card_close(c);
    card *c2;
    char err[256];
    assert_int_equal(card_open(path_of("actfail.img"), &c2, err, sizeof err), 0);
    card_power(c2, CARD_COLD, NULL, NULL);
    assert_false(pending_present(c2));
    assert_int_equal(package_count(c2), pk);
    card_close(c2);
    apdu_list_free(&pse);
}

static void neg_authorize_without_pending(void **s)
{
    (void)s;
    card *c = fresh_card("nopending.img");
    scp03_host_session h;
    live_session(c, &h, 0x33);
    uint8_t d[17] = {0};
    memcpy(d, c3.mac, 16);
    d[16] = BROADCAST_ACT_VECTOR;
    apdu_command a = {.cla = 0x80, .ins = 0x5C, .data = d, .nc = 17};
    uint8_t plain[64];
    size_t pn = apdu_encode(&a, plain, sizeof plain);
    assert_int_equal(wrap_send(c, &h, plain, pn), 0x6985);
    scp03_host_close(&h);
    card_close(c);
}

/* E30: the restore data is invalidated: a second CHANGE MODE back, in the
 * diversified channel, is refused. */
static void step_E30_change_mode_back_twice(void **s)
{
    (void)s;
    card *c = fresh_card("backtwice.img");
    apdu_list paut;
    scp03_host_session h;
    campaign_card id = ident;
    id.counter = counter_of(c);
    static const uint8_t hc[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    memset(&paut, 0, sizeof paut);
    assert_int_equal(campaign_build_paut(&c3, master, &id, hc, &paut, &h), 0);
    uint16_t sw;
    play_first_part(c, &paut, &sw);
    assert_int_equal(sw, 0x9000);
    assert_int_equal(play_pse(c, &pse3, 0, pse3.n), 0x9000);
    /* P_SE's CHANGE MODE back again: the card is back in the diversified
     * channel, so it is refused and nothing is restored twice. */
    assert_int_not_equal(play_pse(c, &pse3, pse3.n - 1, pse3.n), 0x9000);
    scp03_host_close(&h);
    apdu_list_free(&paut);
    card_close(c);

    /* A CHANGE MODE back in the diversified channel (no restore data). */
    c = fresh_card("backtwice2.img");
    live_session(c, &h, 0x33);
    apdu_command b = {.cla = 0x80, .ins = 0x5A, .p1 = 0, .p2 = 0};
    uint8_t plain[16];
    size_t pn = apdu_encode(&b, plain, sizeof plain);
    assert_int_equal(wrap_send(c, &h, plain, pn), 0x6985);
    assert_int_equal(wrap_send(c, &h, plain, pn), 0x6985);
    scp03_host_close(&h);
    card_close(c);
}

static void neg_reset_in_broadcast_mode(void **s)
{
    (void)s;
    card *c = fresh_card("reset.img");
    apdu_list paut;
    paut_for(&c3, c, &paut, NULL);
    uint16_t sw;
    play_first_part(c, &paut, &sw);
    assert_int_equal(play_pse(c, &pse3, 0, 2), 0x9000);
    assert_true(pending_present(c));
    card_power(c, CARD_WARM, NULL, NULL);
    /* restore data gone: the rest of P_SE and ATHZ are refused */
    assert_int_not_equal(play_pse(c, &pse3, 2, pse3.n), 0x9000);
    assert_false(pending_present(c));
    size_t n;
    const uint8_t *athz = paut_at(&paut, 3, &n);
    assert_int_not_equal(tx(c, athz, n, NULL, NULL), 0x9000);
    assert_int_equal(vector0_is_update(c), 0);
    apdu_list_free(&paut);
    card_close(c);
}

static void neg_other_command_in_broadcast_mode_aborts(void **s)
{
    (void)s;
    card *c = fresh_card("other.img");
    apdu_list paut;
    paut_for(&c3, c, &paut, NULL);
    uint16_t sw;
    play_first_part(c, &paut, &sw);
    assert_int_equal(play_pse(c, &pse3, 0, 1), 0x9000);
    scp03_host_session h;
    scp03_context ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.key_len = 16;
    ctx.level = BROADCAST_LEVEL;
    memcpy(ctx.s_enc, bk, 16);
    memcpy(ctx.s_mac, bk + 16, 16);
    memcpy(ctx.next_counter, c3.counter, 16);
    memcpy(ctx.chain, c3.chain, 16);
    card_close(c);
    apdu_list_free(&paut);
    /* fresh: CMDi 0 then an unknown INS, both under BK */
    c = fresh_card("other2.img");
    paut_for(&c3, c, &paut, NULL);
    play_first_part(c, &paut, &sw);
    assert_int_equal(scp03_host_init(&h, bk, bk + 16, 16, NULL, 0), 0);
    assert_int_equal(scp03_host_import_context(&h, &ctx), 0);
    apdu_command g = {.cla = 0x80, .ins = 0xCA, .p1 = 0x00, .p2 = 0xC1};
    uint8_t plain[16];
    size_t pn = apdu_encode(&g, plain, sizeof plain);
    assert_int_equal(wrap_send(c, &h, plain, pn), 0x6985);
    assert_false(pending_present(c));
    size_t n;
    const uint8_t *athz = paut_at(&paut, 3, &n);
    assert_int_not_equal(tx(c, athz, n, NULL, NULL), 0x9000);
    scp03_host_close(&h);
    apdu_list_free(&paut);
    card_close(c);
}

/* ---- FIG.5: P_AUT precomputed from the known counter ---- */

static void fig5_replayed_paut_is_refused(void **s)
{
    (void)s;
    card *c = fresh_card("replay.img");
    apdu_list paut;
    scp03_host_session h;
    paut_for(&c3, c, &paut, &h);
    uint8_t st[512];
    size_t stn;
    uint32_t rep;
    uint16_t sw;
    assert_int_equal(campaign_play(send_card, c, &paut, &pse3, st, sizeof st, &stn, &rep, &sw), CAMPAIGN_OK);
    assert_int_equal(campaign_play(send_card, c, &paut, &pse3, st, sizeof st, &stn, &rep, &sw), CAMPAIGN_ERR_STALE);
    assert_int_equal(sw, 0x6300);
    scp03_host_close(&h);
    apdu_list_free(&paut);
    card_close(c);
}

static void fig5_stale_counter_fails_cleanly_then_reissue_succeeds(void **s)
{
    (void)s;
    card *c = fresh_card("stale.img");
    campaign_card id = ident;
    id.counter = counter_of(c);
    apdu_list paut = {0};
    static const uint8_t hc[8] = {7, 7, 7, 7, 7, 7, 7, 7};
    assert_int_equal(campaign_build_paut(&c3, master, &id, hc, &paut, NULL), 0);
    /* somebody else opens a session: the counter moves */
    scp03_host_session h;
    live_session(c, &h, 0x33);
    scp03_host_close(&h);
    card_power(c, CARD_COLD, NULL, NULL);
    uint8_t st[512];
    size_t stn;
    uint32_t rep;
    uint16_t sw;
    assert_int_equal(campaign_play(send_card, c, &paut, &pse3, st, sizeof st, &stn, &rep, &sw), CAMPAIGN_ERR_STALE);
    assert_false(pending_present(c));
    assert_int_equal(vector0_is_update(c), 0);
    apdu_list_free(&paut);
    /* the server reissues from the reported counter */
    id.counter = rep;
    scp03_host_session hs;
    assert_int_equal(campaign_build_paut(&c3, master, &id, hc, &paut, &hs), 0);
    assert_int_equal(campaign_play(send_card, c, &paut, &pse3, st, sizeof st, &stn, &rep, &sw), CAMPAIGN_OK);
    campaign_st s2;
    assert_int_equal(campaign_check_st(&c3, &id, &hs, st, stn, &s2), CAMPAIGN_OK);
    assert_int_equal(s2.action, 1 | BROADCAST_ACT_VECTOR);
    scp03_host_close(&hs);
    apdu_list_free(&paut);
    card_close(c);
}

static void fig5_st_from_another_card_is_rejected(void **s)
{
    (void)s;
    card *c = fresh_card("st.img");
    apdu_list paut;
    scp03_host_session h;
    paut_for(&c3, c, &paut, &h);
    uint8_t st[512];
    size_t stn;
    uint32_t rep;
    uint16_t sw;
    assert_int_equal(campaign_play(send_card, c, &paut, &pse3, st, sizeof st, &stn, &rep, &sw), CAMPAIGN_OK);
    st[0] ^= 1;   /* tampered on its way back: R-MAC fails */
    campaign_card id = ident;
    id.counter = rep - 1;
    campaign_st out;
    assert_int_equal(campaign_check_st(&c3, &id, &h, st, stn, &out), CAMPAIGN_ERR_ST);
    scp03_host_close(&h);
    apdu_list_free(&paut);
    card_close(c);
}

static void fig5_campaign_files_round_trip(void **s)
{
    (void)s;
    campaign back;
    apdu_list pse = {0};
    assert_int_equal(campaign_save(path_of("c4.cvc"), &c4), 0);
    assert_int_equal(campaign_load(path_of("c4.cvc"), &back), 0);
    assert_memory_equal(&back.id, &c4.id, 8);
    assert_int_equal(back.keys_len, c4.keys_len);
    assert_memory_equal(back.keys, c4.keys, c4.keys_len);
    assert_memory_equal(back.mac, c4.mac, 16);
    assert_int_equal(back.size, c4.size);
    assert_int_equal(pse_save(path_of("p4.pse"), &pse4), 0);
    assert_int_equal(pse_load(path_of("p4.pse"), &pse), 0);
    assert_int_equal(pse.n, pse4.n);
    assert_memory_equal(pse.buf, pse4.buf, pse4.len);
    apdu_list_free(&pse);
}

/* ---- power cuts ---- */
typedef struct tear_ctx {
    card *c;
    const campaign *cp;
    const apdu_list *pse;
    unsigned pk;
    int which;
} tear_ctx;

static apdu_list tear_paut[2];

static void *tear_setup(void *arg)
{
    tear_ctx *t = calloc(1, sizeof *t);
    t->which = (int)(intptr_t)arg;
    t->cp = t->which ? &c4 : &c3;
    t->pse = t->which ? &pse4 : &pse3;
    t->c = fresh_card(t->which ? "tear4.img" : "tear3.img");
    t->pk = package_count(t->c);
    if (!tear_paut[t->which].n) paut_for(t->cp, t->c, &tear_paut[t->which], NULL);
    return t;
}
static chip *tear_chip(void *ctx) { return card_chip(((tear_ctx *)ctx)->c); }
static int tear_run(void *ctx)
{
    tear_ctx *t = ctx;
    uint8_t st[512];
    size_t stn;
    uint32_t rep;
    uint16_t sw;
    return campaign_play(send_card, t->c, &tear_paut[t->which], t->pse, st, sizeof st, &stn, &rep, &sw);
}
static void tear_power(void *ctx) { card_power(((tear_ctx *)ctx)->c, CARD_COLD, NULL, NULL); }
static int tear_check(void *ctx, uint32_t cut)
{
    tear_ctx *t = ctx;
    /* a reset, then one command, clears stale pending data */
    card_power(t->c, CARD_COLD, NULL, NULL);
    static const uint8_t gd[] = {0x80, 0xCA, 0x00, 0x66, 0x00};
    if (tx(t->c, gd, sizeof gd, NULL, NULL) != 0x9000) return 1;
    if (pending_present(t->c)) {
        fprintf(stderr, "cut %u: pending data survived\n", cut);
        return 2;
    }
    unsigned pk = package_count(t->c);
    if (t->which == 0) {
        int v = vector0_is_update(t->c);
        int old = pk == t->pk && v == 0, neu = pk == t->pk + 1 && v == 1;
        if (cut == 0 && !neu) return 3;
        if (!old && !neu) {
            fprintf(stderr, "cut %u: half-activated (packages %u->%u, vector %d)\n", cut, t->pk, pk, v);
            return 4;
        }
    } else {
        uint8_t sel[32] = {0x00, 0xA4, 0x04, 0x00, sizeof hello_applet_aid};
        memcpy(sel + 5, hello_applet_aid, sizeof hello_applet_aid);
        uint16_t sw = tx(t->c, sel, 5 + sizeof hello_applet_aid, NULL, NULL);
        int old = pk == t->pk && sw != 0x9000, neu = pk == t->pk + 1 && sw == 0x9000;
        if (cut == 0 && !neu) return 5;
        if (!old && !neu) {
            fprintf(stderr, "cut %u: half-activated (packages %u->%u, select %04X)\n", cut, t->pk, pk, sw);
            return 6;
        }
    }
    return 0;
}
static void tear_teardown(void *ctx)
{
    tear_ctx *t = ctx;
    card_close(t->c);
    free(t);
}

static void tear_every_write_of_pending_store_authorize_and_activation(void **s)
{
    (void)s;
    tear_scenario sc = {"broadcast FIG.3 vector", tear_setup, tear_chip, tear_run, tear_power, tear_check,
                        tear_teardown};
    uint32_t n3 = tear_sweep(&sc, (void *)(intptr_t)0);
    assert_true(n3 > 10);
    sc.name = "broadcast FIG.4 install";
    uint32_t n4 = tear_sweep(&sc, (void *)(intptr_t)1);
    assert_true(n4 > 10);
    apdu_list_free(&tear_paut[0]);
    apdu_list_free(&tear_paut[1]);
    (void)hello_pkg_aid;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(factory_card_file_holds_no_customization_software),
        cmocka_unit_test(fig3_full_os_update_through_vector),
        cmocka_unit_test(fig4_full_applet_install),
        cmocka_unit_test(step_E24_E26_fig4_pending_is_plain_datasend_in_order),
        cmocka_unit_test(step_E14_E20_change_mode_switches_channel),
        cmocka_unit_test(step_E30_change_mode_back_twice),
        cmocka_unit_test(step_E38_wrong_mac_erases_pending),
        cmocka_unit_test(neg_change_mode_outside_session),
        cmocka_unit_test(neg_wrong_bk_wrapped_under_other_kos),
        cmocka_unit_test(neg_pse_of_another_campaign),
        cmocka_unit_test(neg_tampered_di),
        cmocka_unit_test(neg_reordered_and_missing_cmdi),
        cmocka_unit_test(neg_authorize_without_pending),
        cmocka_unit_test(neg_activation_failure_leaves_old_state),
        cmocka_unit_test(neg_reset_in_broadcast_mode),
        cmocka_unit_test(neg_other_command_in_broadcast_mode_aborts),
        cmocka_unit_test(fig5_replayed_paut_is_refused),
        cmocka_unit_test(fig5_stale_counter_fails_cleanly_then_reissue_succeeds),
        cmocka_unit_test(fig5_st_from_another_card_is_rejected),
        cmocka_unit_test(fig5_campaign_files_round_trip),
        cmocka_unit_test(tear_every_write_of_pending_store_authorize_and_activation),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
