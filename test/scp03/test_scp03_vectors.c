/*
 * Published vectors: nine real eUICC SCP03 sessions (card and host side,
 * byte for byte), RFC 4493 AES-CMAC, NIST SP 800-108 counter-mode KDF, key
 * check values. The vectors are read from the committed copy
 * test/scp03/vectors/scp03-vectors.json (path given by CMake).
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

#ifndef SCP03_VECTORS
#error "SCP03_VECTORS must name the vector file"
#endif

static jv *vectors;

static int load_vectors(void **state)
{
    (void)state;
    vectors = jv_parse_file(SCP03_VECTORS);
    if (vectors == NULL) {
        fprintf(stderr, "cannot read %s\n", SCP03_VECTORS);
        return -1;
    }
    return 0;
}

static int free_vectors(void **state)
{
    (void)state;
    jv_free(vectors);
    vectors = NULL;
    return 0;
}

static size_t hexv(const jv *v, uint8_t *out, size_t cap)
{
    const char *s = jv_str(v);
    assert_non_null(s);
    size_t n = hex2bin(s, out, cap);
    assert_true(n != (size_t)-1);
    return n;
}

static void assert_bytes(const char *what, const uint8_t *got, size_t got_len,
                         const uint8_t *want, size_t want_len)
{
    if (got_len != want_len || memcmp(got, want, want_len) != 0) {
        fprintf(stderr, "%s mismatch\n", what);
        print_hex("  got ", got, got_len);
        print_hex("  want", want, want_len);
        fail();
    }
}

/* ---------------- sessions ---------------- */

static int commit_cb(void *ctx, uint8_t kvn, uint32_t value)
{
    uint32_t *rec = ctx;
    rec[0]++;
    rec[1] = kvn;
    rec[2] = value;
    return 0;
}

typedef struct {
    const jv *sess;
    const char *name;
    uint8_t enc[32], mac[32];
    size_t key_len;
    uint8_t init_update[32];
    size_t init_update_len;
    uint8_t init_rsp[64];
    size_t init_rsp_len;
    uint8_t ext_auth[32];
    size_t ext_auth_len;
} session_vec;

static void load_session(const jv *sess, session_vec *v)
{
    memset(v, 0, sizeof *v);
    v->sess = sess;
    v->name = jv_str(jv_get(sess, "name"));
    v->key_len = hexv(jv_get(sess, "key_enc"), v->enc, sizeof v->enc);
    assert_int_equal(hexv(jv_get(sess, "key_mac"), v->mac, sizeof v->mac), v->key_len);
    v->init_update_len = hexv(jv_get(sess, "initialize_update"), v->init_update, sizeof v->init_update);
    v->init_rsp_len = hexv(jv_get(sess, "initialize_update_response"), v->init_rsp, sizeof v->init_rsp);
    v->ext_auth_len = hexv(jv_get(sess, "external_authenticate"), v->ext_auth, sizeof v->ext_auth);
    assert_int_equal(v->init_rsp_len, 32);
}

static void run_card_session(const jv *sess)
{
    session_vec v;
    load_session(sess, &v);
    fprintf(stderr, "card side: %s\n", v.name);

    uint32_t recorded_counter = ((uint32_t)v.init_rsp[29] << 16) | ((uint32_t)v.init_rsp[30] << 8) |
                                v.init_rsp[31];
    scp03_keyset ks;
    memset(&ks, 0, sizeof ks);
    ks.kvn = v.init_update[2];
    ks.key_len = (uint8_t)v.key_len;
    memcpy(ks.enc, v.enc, v.key_len);
    memcpy(ks.mac, v.mac, v.key_len);
    const jv *dek = jv_get(sess, "key_dek");
    if (dek != NULL && dek->type == JV_STR) {
        hexv(dek, ks.dek, sizeof ks.dek);
    }
    ks.counter = recorded_counter - 1;

    uint32_t rec[3] = { 0, 0, 0 };
    scp03_card_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.keysets = &ks;
    cfg.n_keysets = 1;
    cfg.aid = test_aid;
    cfg.aid_len = sizeof test_aid;
    cfg.i_param = 0x70;
    cfg.commit_counter = commit_cb;
    cfg.commit_ctx = rec;

    scp03_card_session s;
    scp03_card_reset(&s);
    uint8_t out[512], want[512];
    size_t out_len = 0, want_len;
    uint16_t sw = 0;

    assert_int_equal(scp03_card_command(&s, &cfg, v.init_update, v.init_update_len, out, sizeof out,
                                        &out_len, &sw),
                     SCP03_CARD_REPLY);
    assert_int_equal(sw, 0x9000);
    uint8_t init_rsp_sw[64];
    memcpy(init_rsp_sw, v.init_rsp, v.init_rsp_len);
    init_rsp_sw[v.init_rsp_len] = 0x90;
    init_rsp_sw[v.init_rsp_len + 1] = 0x00;
    assert_bytes("INITIALIZE UPDATE response", out, out_len, init_rsp_sw, v.init_rsp_len + 2);
    assert_int_equal(rec[0], 1);
    assert_int_equal(rec[1], ks.kvn);
    assert_int_equal(rec[2], recorded_counter);
    assert_int_equal(ks.counter, recorded_counter);
    assert_int_equal(scp03_card_state(&s), SCP03_STATE_PENDING);

    assert_int_equal(scp03_card_command(&s, &cfg, v.ext_auth, v.ext_auth_len, out, sizeof out,
                                        &out_len, &sw),
                     SCP03_CARD_REPLY);
    assert_int_equal(sw, 0x9000);
    assert_int_equal(out_len, 2);
    uint8_t level = v.ext_auth[2];
    assert_int_equal(scp03_card_security_level(&s), SCP03_AUTHENTICATED | level);
    assert_int_equal(scp03_card_kvn(&s), ks.kvn);

    const jv *plain = jv_get(vectors, "plain_commands_in_order");
    const jv *wrapped = jv_get(sess, "wrapped_commands");
    assert_int_equal(plain->n, wrapped->n);
    for (size_t i = 0; i < wrapped->n; i++) {
        uint8_t cmd[512];
        size_t cmd_len = hexv(jv_at(wrapped, i), cmd, sizeof cmd);
        want_len = hexv(jv_at(plain, i), want, sizeof want);
        int rc = scp03_card_command(&s, &cfg, cmd, cmd_len, out, sizeof out, &out_len, &sw);
        if (rc != SCP03_CARD_PROCESS) {
            fprintf(stderr, "command %zu: rc %d sw %04X\n", i, rc, sw);
        }
        assert_int_equal(rc, SCP03_CARD_PROCESS);
        assert_bytes("unwrapped command", out, out_len, want, want_len);
        if (i == 0) {
            /* the first command is GET EID; its response is recorded */
            uint8_t rdata[256], rwant[256];
            size_t rdata_len = hexv(jv_get(vectors, "get_eid_plain_response"), rdata, sizeof rdata);
            size_t rwant_len =
                hexv(jv_get(sess, "get_eid_wrapped_response_without_sw"), rwant, sizeof rwant - 2);
            rwant[rwant_len++] = 0x90;
            rwant[rwant_len++] = 0x00;
            assert_int_equal(scp03_card_wrap_response(&s, rdata, rdata_len, 0x9000, out, sizeof out,
                                                      &out_len),
                             SCP03_OK);
            assert_bytes("wrapped GET EID response", out, out_len, rwant, rwant_len);
        } else {
            assert_int_equal(scp03_card_wrap_response(&s, NULL, 0, 0x9000, out, sizeof out, &out_len),
                             SCP03_OK);
        }
    }
    assert_int_equal(scp03_card_state(&s), SCP03_STATE_ACTIVE);
    scp03_card_reset(&s);
    assert_int_equal(scp03_card_state(&s), SCP03_STATE_NONE);
}

static void run_host_session(const jv *sess)
{
    session_vec v;
    load_session(sess, &v);
    fprintf(stderr, "host side: %s\n", v.name);

    scp03_host_session h;
    assert_int_equal(scp03_host_init(&h, v.enc, v.mac, v.key_len, test_aid, sizeof test_aid), SCP03_OK);
    uint8_t apdu[512];
    size_t n = 0;
    assert_int_equal(scp03_host_initialize_update(&h, v.init_update[2], v.init_update + 5, apdu,
                                                  sizeof apdu, &n),
                     SCP03_OK);
    assert_bytes("INITIALIZE UPDATE", apdu, n, v.init_update, v.init_update_len);

    uint8_t rsp[64];
    memcpy(rsp, v.init_rsp, v.init_rsp_len);
    rsp[v.init_rsp_len] = 0x90;
    rsp[v.init_rsp_len + 1] = 0x00;
    assert_int_equal(scp03_host_check_initialize_update_response(&h, rsp, v.init_rsp_len + 2), SCP03_OK);
    assert_int_equal(h.sequence_counter,
                     ((uint32_t)v.init_rsp[29] << 16) | ((uint32_t)v.init_rsp[30] << 8) | v.init_rsp[31]);

    assert_int_equal(scp03_host_external_authenticate(&h, v.ext_auth[2], apdu, sizeof apdu, &n), SCP03_OK);
    assert_bytes("EXTERNAL AUTHENTICATE", apdu, n, v.ext_auth, v.ext_auth_len);

    const jv *plain = jv_get(vectors, "plain_commands_in_order");
    const jv *wrapped = jv_get(sess, "wrapped_commands");
    for (size_t i = 0; i < wrapped->n; i++) {
        uint8_t cmd[512], want[512];
        size_t cmd_len = hexv(jv_at(plain, i), cmd, sizeof cmd);
        size_t want_len = hexv(jv_at(wrapped, i), want, sizeof want);
        assert_int_equal(scp03_host_wrap(&h, cmd, cmd_len, apdu, sizeof apdu, &n), SCP03_OK);
        assert_bytes("wrapped command", apdu, n, want, want_len);
        if (i == 0) {
            uint8_t r[256], pwant[256], data[256];
            size_t rl = hexv(jv_get(sess, "get_eid_wrapped_response_without_sw"), r, sizeof r - 2);
            r[rl++] = 0x90;
            r[rl++] = 0x00;
            size_t pl = hexv(jv_get(vectors, "get_eid_plain_response"), pwant, sizeof pwant);
            size_t dl = 0;
            uint16_t sw = 0;
            assert_int_equal(scp03_host_unwrap(&h, r, rl, data, sizeof data, &dl, &sw), SCP03_OK);
            assert_int_equal(sw, 0x9000);
            assert_bytes("unwrapped GET EID response", data, dl, pwant, pl);
        }
    }
    scp03_host_close(&h);
}

static void test_sessions_card(void **state)
{
    (void)state;
    const jv *sessions = jv_get(vectors, "sessions");
    assert_non_null(sessions);
    assert_int_equal(sessions->n, 9);
    for (size_t i = 0; i < sessions->n; i++) {
        run_card_session(jv_at(sessions, i));
    }
}

static void test_sessions_host(void **state)
{
    (void)state;
    const jv *sessions = jv_get(vectors, "sessions");
    assert_non_null(sessions);
    for (size_t i = 0; i < sessions->n; i++) {
        run_host_session(jv_at(sessions, i));
    }
}

/* The offline (campaign) path must land on the same bytes as the online
 * one: predict the challenge from the counter alone. */
static void test_sessions_offline(void **state)
{
    (void)state;
    const jv *sessions = jv_get(vectors, "sessions");
    for (size_t i = 0; i < sessions->n; i++) {
        session_vec v;
        load_session(jv_at(sessions, i), &v);
        scp03_host_session h;
        assert_int_equal(scp03_host_init(&h, v.enc, v.mac, v.key_len, test_aid, sizeof test_aid), SCP03_OK);
        uint32_t ctr = ((uint32_t)v.init_rsp[29] << 16) | ((uint32_t)v.init_rsp[30] << 8) | v.init_rsp[31];
        assert_int_equal(scp03_host_begin_offline(&h, v.init_update[2], v.init_rsp[12], ctr,
                                                  v.init_update + 5),
                         SCP03_OK);
        assert_memory_equal(h.card_challenge, v.init_rsp + 13, 8);
        uint8_t apdu[64];
        size_t n = 0;
        assert_int_equal(scp03_host_external_authenticate(&h, v.ext_auth[2], apdu, sizeof apdu, &n), SCP03_OK);
        assert_bytes("offline EXTERNAL AUTHENTICATE", apdu, n, v.ext_auth, v.ext_auth_len);
        scp03_host_close(&h);
    }
}

/* ---------------- primitives ---------------- */

static void test_rfc4493_cmac(void **state)
{
    (void)state;
    const jv *r = jv_get(vectors, "rfc4493_aes_cmac");
    uint8_t key[16], k1[16], k2[16];
    assert_int_equal(hexv(jv_get(r, "key"), key, sizeof key), 16);
    hexv(jv_get(r, "subkey_k1"), k1, sizeof k1);
    hexv(jv_get(r, "subkey_k2"), k2, sizeof k2);

    scp03_aes_key sk;
    assert_int_equal(scp03_i_key_setup(&sk, key, 16), SCP03_OK);
    assert_memory_equal(sk.k1, k1, 16);
    assert_memory_equal(sk.k2, k2, 16);

    const jv *cases = jv_get(r, "cases");
    assert_int_equal(cases->n, 4);
    for (size_t i = 0; i < cases->n; i++) {
        uint8_t msg[128], want[16], mac[16];
        size_t ml = hexv(jv_get(jv_at(cases, i), "msg"), msg, sizeof msg);
        hexv(jv_get(jv_at(cases, i), "mac"), want, sizeof want);
        assert_int_equal(scp03_cmac(key, 16, ml ? msg : NULL, ml, mac), SCP03_OK);
        assert_memory_equal(mac, want, 16);
        /* the scheduled-key path, split at every point, gives the same tag */
        for (size_t a = 0; a <= ml; a++) {
            for (size_t b = a; b <= ml; b += 7) {
                memset(mac, 0, sizeof mac);
                assert_int_equal(scp03_i_cmac3(&sk, msg, a, msg + a, b - a, msg + b, ml - b, mac),
                                 SCP03_OK);
                assert_memory_equal(mac, want, 16);
            }
        }
    }
    scp03_wipe(&sk, sizeof sk);
}

static void test_nist_kdf(void **state)
{
    (void)state;
    const jv *cases = jv_get(jv_get(vectors, "nist_sp800_108_counter_cmac_aes128"), "cases");
    assert_non_null(cases);
    assert_int_equal(cases->n, 2);
    for (size_t i = 0; i < cases->n; i++) {
        const jv *c = jv_at(cases, i);
        uint8_t ki[16], before[128], after[128], ko[16], out[16];
        assert_int_equal(hexv(jv_get(c, "ki"), ki, sizeof ki), 16);
        size_t bl = 0, al = 0;
        if (jv_get(c, "fixed_data") != NULL) {
            al = hexv(jv_get(c, "fixed_data"), after, sizeof after); /* BEFORE_FIXED: counter first */
        } else {
            bl = hexv(jv_get(c, "data_before_counter"), before, sizeof before);
            al = hexv(jv_get(c, "data_after_counter"), after, sizeof after);
        }
        hexv(jv_get(c, "ko"), ko, sizeof ko);
        assert_int_equal(scp03_kdf_counter_cmac(ki, 16, bl ? before : NULL, bl, after, al, out, 16),
                         SCP03_OK);
        assert_memory_equal(out, ko, 16);
    }
}

/* SCP03's layout for L = 192 and 256 calls the PRF twice with i = 1, 2;
 * check against CMAC computed on the spelled-out input. */
static void test_derive_layout(void **state)
{
    (void)state;
    uint8_t key[32];
    for (int i = 0; i < 32; i++) key[i] = (uint8_t)(i * 7 + 1);
    uint8_t ctx[16];
    for (int i = 0; i < 16; i++) ctx[i] = (uint8_t)(0xF0 - i);
    static const size_t lens[] = { 8, 16, 24, 32 };
    for (size_t kl = 16; kl <= 32; kl += 8) {
        for (size_t li = 0; li < 4; li++) {
            size_t L = lens[li];
            uint8_t out[32], want[32];
            assert_int_equal(scp03_derive(key, kl, 0x06, ctx, 16, out, L), SCP03_OK);
            for (unsigned it = 1; it <= (L + 15) / 16; it++) {
                uint8_t in[32];
                memset(in, 0, 11);
                in[11] = 0x06;
                in[12] = 0x00;
                in[13] = (uint8_t)((L * 8) >> 8);
                in[14] = (uint8_t)(L * 8);
                in[15] = (uint8_t)it;
                memcpy(in + 16, ctx, 16);
                uint8_t m[16];
                assert_int_equal(scp03_cmac(key, kl, in, 32, m), SCP03_OK);
                memcpy(want + (it - 1) * 16, m, 16);
            }
            assert_memory_equal(out, want, L);
        }
    }
    uint8_t o[40];
    assert_int_equal(scp03_derive(key, 16, 0x04, ctx, 16, o, 12), SCP03_ERR_PARAM);
    assert_int_equal(scp03_derive(key, 15, 0x04, ctx, 16, o, 16), SCP03_ERR_PARAM);
}

static void test_kcv(void **state)
{
    (void)state;
    const jv *k = jv_get(vectors, "key_check_values");
    assert_non_null(k);
    assert_true(k->n >= 2);
    for (size_t i = 0; i < k->n; i++) {
        uint8_t key[32], want[3], got[3];
        size_t kl = hex2bin(k->keys[i], key, sizeof key);
        assert_int_equal(kl, 16);
        hexv(k->items[i], want, sizeof want);
        assert_int_equal(scp03_kcv(key, kl, got), SCP03_OK);
        assert_memory_equal(got, want, 3);
    }
}

static void test_ct_equal_and_wipe(void **state)
{
    (void)state;
    uint8_t a[32], b[32];
    for (int i = 0; i < 32; i++) a[i] = b[i] = (uint8_t)i;
    assert_true(scp03_ct_equal(a, b, 32));
    assert_true(scp03_ct_equal(a, b, 0));
    for (int i = 0; i < 32; i++) {
        for (int bit = 0; bit < 8; bit++) {
            b[i] ^= (uint8_t)(1 << bit);
            assert_false(scp03_ct_equal(a, b, 32));
            b[i] ^= (uint8_t)(1 << bit);
        }
    }
    scp03_wipe(a, sizeof a);
    for (int i = 0; i < 32; i++) assert_int_equal(a[i], 0);
    assert_int_equal(scp03_crypto_init(), SCP03_OK);
    assert_int_equal(scp03_crypto_init(), SCP03_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sessions_card),
        cmocka_unit_test(test_sessions_host),
        cmocka_unit_test(test_sessions_offline),
        cmocka_unit_test(test_rfc4493_cmac),
        cmocka_unit_test(test_nist_kdf),
        cmocka_unit_test(test_derive_layout),
        cmocka_unit_test(test_kcv),
        cmocka_unit_test(test_ct_equal_and_wipe),
    };
    return cmocka_run_group_tests_name("scp03_vectors", tests, load_vectors, free_vectors);
}
