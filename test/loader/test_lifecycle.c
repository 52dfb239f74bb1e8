/*
 * test_lifecycle.c — the masked LOADER and the secure customization of
 * seed 000. Tests named claim_NN_... prove claim NN (docs/seed-fidelity.md).
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
#include "card.h"
#include "layout.h"
#include "loader.h"
#include "packages.h"
#include "scp03.h"
#include "sealed_custom.h"
#include "tear.h"
#include "testfiles.h"
#include "vm.h"

/* examples/applets/hello/hello.jca's load file, embedded by the build */
extern const uint8_t example_hello_package[];
extern const size_t example_hello_package_len;

static char tmpdir[256];
static char issuer_template[512];   /* an ISSUER-mode image, masked once */
static uint8_t *sealed_bytes;
static size_t sealed_len;
static uint8_t hash_code[32];
static uint8_t unlock_key[32];
static const uint8_t card_serial[8] = {0, 0, 0, 0, 0, 0, 0, 7};
static const uint8_t os_aid[] = {0xA0, 0x00, 0x00, 0x06, 0x99, 0x01, 0x00};
static const uint8_t update_aid[] = {0xA0, 0x00, 0x00, 0x06, 0x99, 0x01, 0x01};
static const loader_vectored_command vectored[] = {{0xF0, 0}, {0xF4, 1}};

/* ---- helpers ---- */
static const char *path_of(const char *name) { return test_path(tmpdir, name); }

static card *open_card(const char *path)
{
    card *c;
    char err[256];
    if (card_open(path, &c, err, sizeof err)) fail_msg("%s", err);
    card_power(c, CARD_COLD, NULL, NULL);
    return c;
}

static card *issuer_card(const char *name)
{
    assert_int_equal(test_copy_file(issuer_template, path_of(name)), 0);
    return open_card(path_of(name));
}

/* Transmit raw bytes; returns SW, data to rsp (if not NULL). */
static int tx(card *c, const uint8_t *cmd, size_t len, uint8_t *rsp, size_t *rlen)
{
    static uint8_t buf[CARD_MAX_RESPONSE];
    size_t n;
    if (card_transmit(c, cmd, len, buf, sizeof buf, &n) != 0) return -1;
    if (rsp) memcpy(rsp, buf, n - 2);
    if (rlen) *rlen = n - 2;
    return buf[n - 2] << 8 | buf[n - 1];
}

static int txh(card *c, const char *hex, uint8_t *rsp, size_t *rlen)
{
    uint8_t cmd[600];
    long n = hex_decode(hex, cmd, sizeof cmd);
    assert_true(n >= 4);
    return tx(c, cmd, (size_t)n, rsp, rlen);
}

static int cmd80(card *c, uint8_t ins, uint8_t p1, uint8_t p2, const uint8_t *data, size_t n)
{
    uint8_t b[300];
    apdu_command a = {.cla = 0x80, .ins = ins, .p1 = p1, .p2 = p2, .data = data, .nc = (uint32_t)n};
    size_t len = apdu_encode(&a, b, sizeof b);
    return tx(c, b, len, NULL, NULL);
}

static enum loader_mode mode_of(card *c)
{
    loader_info li;
    assert_int_equal(loader_read_info(card_chip(c), &li), 0);
    return li.mode;
}

static int unlock(card *c, const uint8_t *key, const uint8_t *hash)
{
    uint8_t d[64];
    memcpy(d, key, 32);
    memcpy(d + 32, hash, 32);
    return cmd80(c, 0x14, 0, 0, d, 64);
}

/* ---- the customization channel, from the specifications ----
 * The SCP03 data derivation (Amendment D 4.1.5; NIST SP 800-108 counter mode
 * with AES-CMAC), written here from the spec text with libtomcrypt's OMAC
 * rather than through scp03/: label = 11 zero bytes || constant, a zero
 * byte, L (bits, 2 bytes big-endian), the counter i (1 byte), the context;
 * one CMAC block per 128 bits of output. docs/loader.md fixes the constants
 * 0x81 (K-CUST from the unlocking key, context "cardvm-custom" || serial),
 * 0x82 / 0x83 / 0x84 (ENC / MAC / DEK from K-CUST, context "cardvm-custom"). */
static void spec_kdf(const uint8_t *key, size_t key_len, uint8_t constant, const uint8_t *ctx, size_t ctx_len,
                     uint8_t *out, size_t out_len)
{
    assert_true(register_cipher(&aes_desc) >= 0);
    uint8_t in[16 + 64];
    memset(in, 0, 11);
    in[11] = constant;
    in[12] = 0x00;
    in[13] = (uint8_t)((out_len * 8) >> 8);
    in[14] = (uint8_t)(out_len * 8);
    memcpy(in + 16, ctx, ctx_len);
    for (size_t i = 0; i * 16 < out_len; i++) {
        in[15] = (uint8_t)(i + 1);
        uint8_t block[16];
        unsigned long bl = sizeof block;
        assert_int_equal(omac_memory(find_cipher("aes"), key, (unsigned long)key_len, in, 16 + ctx_len, block, &bl),
                         CRYPT_OK);
        memcpy(out + 16 * i, block, out_len - 16 * i < 16 ? out_len - 16 * i : 16);
    }
}

typedef struct custom_keys {
    uint8_t enc[32], mac[32], dek[32];
} custom_keys;

static void spec_custom_keys(const uint8_t key[32], const uint8_t serial[8], custom_keys *k)
{
    uint8_t ctx[13 + 8], root[32];
    memcpy(ctx, "cardvm-custom", 13);
    memcpy(ctx + 13, serial, 8);
    spec_kdf(key, 32, 0x81, ctx, sizeof ctx, root, 32);
    spec_kdf(root, 32, 0x82, ctx, 13, k->enc, 32);
    spec_kdf(root, 32, 0x83, ctx, 13, k->mac, 32);
    spec_kdf(root, 32, 0x84, ctx, 13, k->dek, 32);
}

/* A client's end of the channel to one card. */
typedef struct chan {
    card *c;
    scp03_host_session h;
    custom_keys k;
} chan;

static int tx_full(card *c, const uint8_t *cmd, size_t len, uint8_t *rsp, size_t *rlen)
{
    size_t n = 0;
    int sw = tx(c, cmd, len, rsp, &n);
    if (sw >= 0 && (sw >> 8) == 0x61) {
        uint8_t gr[5] = {0x00, 0xC0, 0x00, 0x00, (uint8_t)sw};
        sw = tx(c, gr, sizeof gr, rsp, &n);
    }
    if (rlen) *rlen = n;
    return sw;
}

/* INITIALIZE UPDATE + EXTERNAL AUTHENTICATE with explicit keys and level;
 * the SW that ended it (9000: open). */
static int chan_open_with(chan *ch, card *c, const custom_keys *k, uint8_t level)
{
    memset(ch, 0, sizeof *ch);
    ch->c = c;
    ch->k = *k;
    uint8_t cmd[64], rsp[64];
    size_t n, rl;
    static const uint8_t hc[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    assert_int_equal(scp03_host_init(&ch->h, k->enc, k->mac, 32, NULL, 0), SCP03_OK);
    assert_int_equal(scp03_host_initialize_update(&ch->h, 0x3F, hc, cmd, sizeof cmd, &n), SCP03_OK);
    int sw = tx_full(c, cmd, n, rsp, &rl);
    if (sw != 0x9000) return sw;
    rsp[rl] = 0x90;
    rsp[rl + 1] = 0x00;
    if (scp03_host_check_initialize_update_response(&ch->h, rsp, rl + 2) != SCP03_OK) return -2;
    assert_int_equal(scp03_host_external_authenticate(&ch->h, level, cmd, sizeof cmd, &n), SCP03_OK);
    return tx_full(c, cmd, n, NULL, NULL);
}

static int chan_open(chan *ch, card *c)
{
    custom_keys k;
    spec_custom_keys(unlock_key, card_serial, &k);
    return chan_open_with(ch, c, &k, 0x13);
}

/* Wrap (with Le 00), send, unwrap: the SW, -2 when the R-MAC is wrong. */
static int chan_cmd_rsp(chan *ch, uint8_t ins, uint8_t p1, uint8_t p2, const uint8_t *data, size_t n,
                        uint8_t *rsp, size_t *rlen)
{
    uint8_t plain[300], wrapped[400], raw[600], out[600];
    apdu_command a = {.cla = 0x80, .ins = ins, .p1 = p1, .p2 = p2, .data = data, .nc = (uint32_t)n, .ne = 256};
    size_t pl = apdu_encode(&a, plain, sizeof plain), wl, rl, ol;
    assert_true(pl > 0);
    assert_int_equal(scp03_host_wrap(&ch->h, plain, pl, wrapped, sizeof wrapped, &wl), SCP03_OK);
    int sw = tx_full(ch->c, wrapped, wl, raw, &rl);
    if (sw < 0) return sw;
    raw[rl] = (uint8_t)(sw >> 8);
    raw[rl + 1] = (uint8_t)sw;
    uint16_t usw;
    if (scp03_host_unwrap(&ch->h, raw, rl + 2, out, sizeof out, &ol, &usw) != SCP03_OK) return -2;
    if (rsp) memcpy(rsp, out, ol);
    if (rlen) *rlen = ol;
    return usw;
}

static int chan_cmd(chan *ch, uint8_t ins, uint8_t p1, uint8_t p2, const uint8_t *data, size_t n)
{
    return chan_cmd_rsp(ch, ins, p1, p2, data, n, NULL, NULL);
}

/* One customization command in a channel of its own: the SW of the command,
 * or of the step that refused the channel. */
static int ccmd(card *c, uint8_t ins, uint8_t p1, uint8_t p2, const uint8_t *data, size_t n)
{
    chan ch;
    int sw = chan_open(&ch, c);
    if (sw == 0x9000) sw = chan_cmd(&ch, ins, p1, p2, data, n);
    scp03_host_close(&ch.h);
    return sw;
}

static size_t default_keyset_data(uint8_t *data, size_t cap)
{
    custom_keys k;
    spec_custom_keys(unlock_key, card_serial, &k);
    uint8_t key[16];
    for (int i = 0; i < 16; i++) key[i] = (uint8_t)(0x40 + i);
    size_t n;
    assert_int_equal(scp03_put_key_data(k.dek, 32, 0x30, key, key, key, 16, data, cap, &n), SCP03_OK);
    return n;
}

static int put_default_keyset(card *c)
{
    uint8_t data[128];
    size_t n = default_keyset_data(data, sizeof data);
    return ccmd(c, 0x36, 0, 0, data, n);
}

static int set_vector(card *c, uint8_t slot, const uint8_t *aid, uint8_t aid_len, uint16_t method)
{
    uint8_t d[32] = {slot, (uint8_t)(method >> 8), (uint8_t)method, aid_len};
    memcpy(d + 4, aid, aid_len);
    return ccmd(c, 0x30, 0, 0, d, 4u + aid_len);
}

static int load_package_in(chan *ch, const uint8_t *pkg, size_t len)
{
    uint8_t block[250];
    size_t pos = 0;
    unsigned no = 0;
    while (pos < len) {
        size_t n = 0;
        if (no == 0) {
            block[n++] = 0xC4;
            if (len < 128) block[n++] = (uint8_t)len;
            else if (len < 256) { block[n++] = 0x81; block[n++] = (uint8_t)len; }
            else { block[n++] = 0x82; block[n++] = (uint8_t)(len >> 8); block[n++] = (uint8_t)len; }
        }
        size_t take = len - pos < 200 - n ? len - pos : 200 - n;
        memcpy(block + n, pkg + pos, take);
        pos += take;
        int sw = chan_cmd(ch, 0x32, (uint8_t)no++, pos == len ? 0x80 : 0x00, block, n + take);
        if (sw != 0x9000) return sw;
    }
    return 0x9000;
}

static int load_package(card *c, const uint8_t *pkg, size_t len)
{
    chan ch;
    int sw = chan_open(&ch, c);
    if (sw == 0x9000) sw = load_package_in(&ch, pkg, len);
    scp03_host_close(&ch.h);
    return sw;
}

static card *mounted_card(const char *name)
{
    card *c = issuer_card(name);
    assert_int_equal(cmd80(c, 0x12, 0, 0, card_serial, 8), 0x9000);
    return c;
}

static card *customization_card(const char *name)
{
    card *c = mounted_card(name);
    assert_int_equal(unlock(c, unlock_key, hash_code), 0x9000);
    return c;
}

static card *user_card(const char *name)
{
    card *c = customization_card(name);
    assert_int_equal(put_default_keyset(c), 0x9000);
    assert_int_equal(set_vector(c, 0, os_aid, sizeof os_aid, 0), 0x9000);
    assert_int_equal(set_vector(c, 1, os_aid, sizeof os_aid, 1), 0x9000);
    assert_int_equal(ccmd(c, 0x3E, 0, 0, NULL, 0), 0x9000);
    return c;
}

/* ---- claims ---- */

static void claim_01_chip_accepts_unlock_key_and_runs_customization(void **s)
{
    (void)s;
    card *c = mounted_card("c01.img");
    assert_int_equal(mode_of(c), LOADER_MODE_ISSUER);
    assert_int_equal(unlock(c, unlock_key, hash_code), 0x9000);
    assert_int_equal(mode_of(c), LOADER_MODE_CUSTOMIZATION);
    /* The customization software runs: it takes a vector table entry. */
    assert_int_equal(set_vector(c, 0, os_aid, sizeof os_aid, 0), 0x9000);
    /* and refuses what it does not implement */
    assert_int_equal(ccmd(c, 0x44, 0, 0, NULL, 0), 0x6D00);
    card_close(c);
}

static void claim_02_masked_rom_and_rewritable_nvm(void **s)
{
    (void)s;
    card *c = issuer_card("c02.img");
    chip *ch = card_chip(c);
    assert_false(chip_is_masking(ch));
    assert_int_equal(chip_rom_write(ch, ROM_LOADER_OFFSET, "x", 1), CHIP_ERR_ROM);
    assert_memory_equal(chip_rom_view(ch) + ROM_LOADER_OFFSET, "CVML", 4);
    /* The sealed customization software is in the rewritable NVM. */
    assert_true(test_has_bytes(chip_nvm_view(ch), chip_get_geometry(ch)->nvm_size, sealed_bytes + 28, 64));
    card_close(c);
}

static void claim_03_masking_takes_only_the_sealed_software(void **s)
{
    (void)s;
    size_t n;
    uint8_t *img = test_read_file(issuer_template, &n);
    assert_non_null(img);
    /* Nothing of the plain customization software is in the masked image. */
    assert_false(test_has_bytes(img, n, example_custom_package + 40, 32));
    assert_true(test_has_bytes(img, n, sealed_bytes, sealed_len));
    free(img);
    /* Masking refuses plain software (it is not sealed). */
    loader_mask_params m = {0};
    chip_geometry_default(&m.geometry);
    m.sealed = example_custom_package;
    m.sealed_len = example_custom_package_len;
    char err[256];
    assert_int_not_equal(loader_mask(path_of("c03.img"), &m, err, sizeof err), 0);
    assert_non_null(strstr(err, "not sealed"));
}

/* Packages on the card, seen from a second chip object on the image file. */
static int package_kind_present(const char *image, int kind, const uint8_t *aid, size_t aid_len)
{
    chip *ch;
    char err[256];
    assert_int_equal(chip_open(image, &ch, err, sizeof err), CHIP_OK);
    chip_power_on(ch);
    vm_runtime *vm;
    assert_int_equal(vm_create(ch, NULL, &vm), VM_OK);
    vm_package_info pi;
    int found = 0;
    for (unsigned i = 0; vm_package_info_at(vm, i, &pi) == VM_OK; i++)
        found |= aid ? (pi.aid_len == aid_len && !memcmp(pi.aid, aid, aid_len)) : pi.kind == kind;
    vm_destroy(vm);
    chip_close(ch);
    return found;
}

static void claim_04_decrypted_software_stored_then_second_part_added(void **s)
{
    (void)s;
    card *c = customization_card("c04.img");
    assert_true(package_kind_present(path_of("c04.img"), VM_PKG_CUSTOMIZATION, NULL, 0));   /* part 300 */
    assert_false(package_kind_present(path_of("c04.img"), 0, update_aid, sizeof update_aid));
    assert_int_equal(load_package(c, example_os_update_package, example_os_update_package_len), 0x9000);
    assert_true(package_kind_present(path_of("c04.img"), 0, update_aid, sizeof update_aid)); /* 302/303 */
    card_close(c);
}

static void claim_05_enter_user_mode_erases_201_and_300(void **s)
{
    (void)s;
    card *c = user_card("c05.img");
    assert_int_equal(mode_of(c), LOADER_MODE_USER);
    card_close(c);
    size_t n;
    uint8_t *img = test_read_file(path_of("c05.img"), &n);
    assert_non_null(img);
    assert_false(test_has_bytes(img, n, sealed_bytes + 28, sealed_len - 28));   /* 201: ciphertext */
    for (size_t off = 0; off + 24 <= example_custom_package_len; off += 24)
        assert_false(test_has_bytes(img, n, example_custom_package + off, 24)); /* 300: any 24 bytes of it */
    free(img);
}

static void claim_06_07_completed_software_executes(void **s)
{
    (void)s;
    card *c = user_card("c06.img");
    uint8_t r[64];
    size_t rl;
    assert_int_equal(txh(c, "00A4040008A000000151000000", NULL, NULL), 0x6112);
    assert_int_equal(txh(c, "80F0000000", r, &rl), 0x9000);         /* masked ROM code via vector */
    assert_int_equal(rl, 6);
    assert_memory_equal(r, "CVOS\x01\x00", 6);
    assert_int_equal(txh(c, "80F400000301020300", r, &rl), 0x9000);
    assert_int_equal(rl, 2);
    assert_int_equal(r[0], 10);                                       /* Fletcher-16 of 01 02 03 */
    assert_int_equal(r[1], 6);
    card_close(c);
}

static void claim_08_software_amendments_redirect_vectors(void **s)
{
    (void)s;
    card *c = customization_card("c08.img");
    assert_int_equal(put_default_keyset(c), 0x9000);
    assert_int_equal(load_package(c, example_os_update_package, example_os_update_package_len), 0x9000);
    assert_int_equal(set_vector(c, 0, update_aid, sizeof update_aid, 0), 0x9000);
    assert_int_equal(ccmd(c, 0x3E, 0, 0, NULL, 0), 0x9000);
    uint8_t r[16];
    size_t rl;
    assert_int_equal(txh(c, "80F0000000", r, &rl), 0x9000);
    assert_memory_equal(r, "CVOS\x02\x00", 6);                         /* the update runs */
    assert_int_equal(txh(c, "80F4000000", r, &rl), 0x6985);           /* slot 1 never set */
    card_close(c);
}

static void claim_09_card_mounter_needs_no_key(void **s)
{
    (void)s;
    card *c = issuer_card("c09.img");
    uint8_t r[64];
    size_t rl;
    assert_int_equal(txh(c, "8010000000", r, &rl), 0x9000);
    static const uint8_t ok[] = {0xDF, 0x30, 1, 0, 0xDF, 0x31, 1, 0, 0xDF, 0x32, 1, 0};
    assert_int_equal(rl, sizeof ok);
    assert_memory_equal(r, ok, sizeof ok);
    assert_int_equal(txh(c, "801200000711223344556677", NULL, NULL), 0x6700);
    assert_int_equal(txh(c, "80120000081122334455667788", NULL, NULL), 0x9000);
    assert_int_equal(txh(c, "80CADF2000", r, &rl), 0x9000);
    assert_memory_equal(r, "\xDF\x20\x08\x11\x22\x33\x44\x55\x66\x77\x88", 11);
    assert_int_equal(txh(c, "80160000", NULL, NULL), 0x9000);
    assert_int_equal(mode_of(c), LOADER_MODE_ISSUER);
    card_close(c);
}

static void claim_10_smartcard_with_the_chip(void **s)
{
    (void)s;
    card *c = issuer_card("c10.img");
    uint8_t atr[33];
    size_t n;
    card_power(c, CARD_COLD, atr, &n);
    assert_true(n >= 7);
    assert_int_equal(atr[0], 0x3B);
    card_close(c);
}

static void claim_11_customization_writes_complementary_code(void **s)
{
    (void)s;
    card *c = customization_card("c11.img");
    chip_stats before, after;
    chip_get_stats(card_chip(c), &before);
    assert_int_equal(load_package(c, example_os_update_package, example_os_update_package_len), 0x9000);
    chip_get_stats(card_chip(c), &after);
    assert_true(after.nvm_heap_used > before.nvm_heap_used);
    /* An out-of-order block is refused and nothing is loaded. */
    assert_int_equal(ccmd(c, 0x32, 3, 0x80, (const uint8_t *)"\x01", 1), 0x6985);
    card_close(c);
}

static void claim_12_without_key_only_service_commands(void **s)
{
    (void)s;
    card *c = issuer_card("c12.img");
    chip *ch = card_chip(c);
    size_t nvm = chip_get_geometry(ch)->nvm_size;
    uint8_t *before = malloc(nvm);
    memcpy(before, chip_nvm_view(ch), nvm);
    for (int ins = 0; ins < 256; ins++) {
        if (ins == 0x10 || ins == 0x12 || ins == 0x14 || ins == 0x16 || ins == 0xCA || ins == 0xC0) continue;
        uint8_t cmd[] = {0x80, (uint8_t)ins, 0, 0, 2, 0x12, 0x34};
        int sw = tx(c, cmd, sizeof cmd, NULL, NULL);
        if (sw == 0x9000 || (sw >> 8) == 0x61) fail_msg("INS %02X accepted in ISSUER mode", ins);
        cmd[0] = 0x00;
        sw = tx(c, cmd, sizeof cmd, NULL, NULL);
        if (sw == 0x9000 || (sw >> 8) == 0x61) fail_msg("CLA 00 INS %02X accepted in ISSUER mode", ins);
    }
    assert_memory_equal(before, chip_nvm_view(ch), nvm);
    assert_int_equal(mode_of(c), LOADER_MODE_ISSUER);
    free(before);
    card_close(c);
}

/* ---- negative paths ---- */

static void test_wrong_key_and_wrong_hash_count_down_to_terminated(void **s)
{
    (void)s;
    card *c = mounted_card("neg_tries.img");
    uint8_t bad_key[32], bad_hash[32], r[8];
    size_t rl;
    memcpy(bad_key, unlock_key, 32);
    bad_key[31] ^= 1;
    memcpy(bad_hash, hash_code, 32);
    bad_hash[0] ^= 0x80;
    assert_int_equal(unlock(c, bad_key, hash_code), 0x63C4);
    assert_int_equal(unlock(c, unlock_key, bad_hash), 0x63C3);
    assert_int_equal(txh(c, "80CADF2400", r, &rl), 0x9000);
    assert_int_equal(r[3], 3);
    card_close(c);
    c = open_card(path_of("neg_tries.img"));                /* persisted */
    assert_int_equal(unlock(c, bad_key, bad_hash), 0x63C2);
    assert_int_equal(unlock(c, bad_key, hash_code), 0x63C1);
    assert_int_equal(unlock(c, bad_key, hash_code), 0x63C0);
    assert_int_equal(mode_of(c), LOADER_MODE_TERMINATED);
    /* TERMINATED: GET DATA only, even the right key is refused. */
    assert_int_equal(unlock(c, unlock_key, hash_code), 0x6985);
    assert_int_equal(txh(c, "8010000000", NULL, NULL), 0x6985);
    assert_int_equal(txh(c, "00A4040008A000000151000000", NULL, NULL), 0x6985);
    assert_int_equal(txh(c, "80CADF2100", r, &rl), 0x9000);
    assert_int_equal(r[3], LOADER_MODE_TERMINATED);
    card_close(c);
}

static void test_truncated_unlock_costs_no_try(void **s)
{
    (void)s;
    card *c = issuer_card("neg_trunc.img");
    uint8_t d[64];
    memcpy(d, unlock_key, 32);
    memcpy(d + 32, hash_code, 32);
    assert_int_equal(cmd80(c, 0x14, 0, 0, d, 63), 0x6700);
    assert_int_equal(cmd80(c, 0x14, 0, 0, d, 32), 0x6700);
    assert_int_equal(cmd80(c, 0x14, 1, 0, d, 64), 0x6A86);
    uint8_t r[8];
    size_t rl;
    assert_int_equal(txh(c, "80CADF2400", r, &rl), 0x9000);
    assert_int_equal(r[3], 5);
    card_close(c);
}

static void test_unlock_in_customization_and_user_mode_refused(void **s)
{
    (void)s;
    card *c = customization_card("neg_unlock2.img");
    assert_int_equal(unlock(c, unlock_key, hash_code), 0x6985);
    card_close(c);
    c = user_card("neg_unlock3.img");
    assert_true(unlock(c, unlock_key, hash_code) != 0x9000);
    assert_int_equal(mode_of(c), LOADER_MODE_USER);
    card_close(c);
}

static void test_write_serial_twice_refused(void **s)
{
    (void)s;
    card *c = issuer_card("neg_serial.img");
    assert_int_equal(txh(c, "80120000080102030405060708", NULL, NULL), 0x9000);
    assert_int_equal(txh(c, "80120000080102030405060708", NULL, NULL), 0x6985);
    assert_int_equal(txh(c, "8012000007010203040506", NULL, NULL), 0x6700);
    card_close(c);
}

static void test_enter_user_mode_twice_and_without_keys_refused(void **s)
{
    (void)s;
    card *c = customization_card("neg_user.img");
    assert_int_equal(ccmd(c, 0x3E, 0, 0, NULL, 0), 0x6985);      /* no key set yet */
    assert_int_equal(put_default_keyset(c), 0x9000);
    assert_int_equal(ccmd(c, 0x3E, 0, 0, NULL, 0), 0x9000);
    int sw = ccmd(c, 0x3E, 0, 0, NULL, 0);
    assert_true(sw != 0x9000);
    assert_int_equal(mode_of(c), LOADER_MODE_USER);
    card_close(c);
}

static void test_customization_commands_in_wrong_mode(void **s)
{
    (void)s;
    static const uint8_t ins[] = {0x30, 0x32, 0x34, 0x36, 0x38, 0x3A, 0x3E};
    card *c = issuer_card("neg_wrong_mode.img");
    for (size_t i = 0; i < sizeof ins; i++) assert_int_equal(cmd80(c, ins[i], 0, 0, (const uint8_t *)"\x01", 1), 0x6985);
    card_close(c);
    c = user_card("neg_wrong_mode2.img");
    for (size_t i = 0; i < sizeof ins; i++) {
        int sw = cmd80(c, ins[i], 0, 0, (const uint8_t *)"\x01", 1);
        if (sw == 0x9000) fail_msg("INS %02X accepted in USER mode", ins[i]);
    }
    card_close(c);
}

static void test_wrong_key_data_under_dek_refused(void **s)
{
    (void)s;
    card *c = customization_card("neg_kt.img");
    uint8_t wrong_kt[16] = {1}, key[16] = {2}, data[128];
    size_t n;
    assert_int_equal(scp03_put_key_data(wrong_kt, 16, 0x31, key, key, key, 16, data, sizeof data, &n), SCP03_OK);
    assert_int_equal(ccmd(c, 0x36, 0, 0, data, n), 0x6982);    /* KCV mismatch */
    loader_info li;
    loader_read_info(card_chip(c), &li);
    assert_int_equal(li.n_keysets, 0);
    card_close(c);
}

static void test_customization_entered_only_once_per_otp(void **s)
{
    (void)s;
    card *c = user_card("neg_once.img");
    chip *ch = card_chip(c);
    /* Someone rewrites the NVM mode mirror back to CUSTOMIZATION: the OTP
     * trace disagrees, and the card answers nothing but GET DATA. */
    uint8_t m = LOADER_MODE_CUSTOMIZATION;
    assert_int_equal(chip_nvm_write(ch, SYS_MODE, &m, 1), CHIP_OK);
    assert_int_equal(chip_commit(ch), CHIP_OK);
    assert_int_equal(set_vector(c, 0, os_aid, sizeof os_aid, 0), 0x6985);
    assert_int_equal(txh(c, "00A4040008A000000151000000", NULL, NULL), 0x6985);
    assert_int_equal(txh(c, "80CADF2100", NULL, NULL), 0x9000);
    card_close(c);
}

static void test_any_bytes_in_every_mode_get_a_status_word(void **s)
{
    (void)s;
    card *cards[3] = {issuer_card("fz1.img"), customization_card("fz2.img"), user_card("fz3.img")};
    srand(77);
    uint8_t cmd[300];
    for (int k = 0; k < 3; k++) {
        for (int i = 0; i < 4000; i++) {
            size_t n = (size_t)(rand() % 280);
            for (size_t j = 0; j < n; j++) cmd[j] = (uint8_t)rand();
            if (n > 1 && i % 2) cmd[0] = (uint8_t)(i % 4 ? 0x80 : 0x00);
            if (n > 4 && i % 3 == 0) cmd[4] = (uint8_t)(n - 5);
            int sw = tx(cards[k], cmd, n, NULL, NULL);
            assert_true(sw > 0);
        }
        card_close(cards[k]);
    }
}

/* DESIGN.md section 10: a command that fails leaves the card as it was. Random
 * and mutated APDUs in every mode; whenever the answer is an error status
 * word, NVM and OTP must be byte for byte what they were. */
static void test_error_status_words_leave_card_unchanged(void **s)
{
    (void)s;
    card *cards[3] = {issuer_card("inv1.img"), customization_card("inv2.img"), user_card("inv3.img")};
    static const uint8_t ins_pool[] = {0x10, 0x12, 0x14, 0x16, 0x30, 0x32, 0x34, 0x36, 0x38, 0x3A,
                                       0x3E, 0x50, 0x82, 0xA4, 0xCA, 0xC0, 0xE4, 0xE6, 0xE8, 0xF0,
                                       0xF2, 0xF4, 0xD8, 0x5A, 0x5C};
    srand(4242);
    uint8_t cmd[300];
    for (int k = 0; k < 3; k++) {
        chip *ch = card_chip(cards[k]);
        size_t nvm = chip_get_geometry(ch)->nvm_size, otp = chip_get_geometry(ch)->otp_size;
        uint8_t *before = malloc(nvm), obefore[64];
        for (int i = 0; i < 3000; i++) {
            size_t n = 4 + (size_t)(rand() % 80);
            for (size_t j = 0; j < n; j++) cmd[j] = (uint8_t)rand();
            cmd[0] = (uint8_t)((rand() % 3) == 0 ? 0x00 : (rand() % 2 ? 0x80 : 0x84));
            cmd[1] = ins_pool[rand() % sizeof ins_pool];
            if (n > 5 && rand() % 2) cmd[4] = (uint8_t)(n - 5);        /* mostly well-formed */
            memcpy(before, chip_nvm_view(ch), nvm);
            chip_otp_read(ch, 0, obefore, otp);
            uint8_t r[300];
            size_t rl;
            int sw = tx(cards[k], cmd, n, r, &rl);
            assert_true(sw > 0);
            int ok = sw == 0x9000 || (sw >> 8) == 0x61 || (sw >> 8) == 0x62 || (sw >> 8) == 0x63 ||
                     (sw >> 8) == 0x6C;
            if (!ok) {
                uint8_t oafter[64];
                chip_otp_read(ch, 0, oafter, otp);
                if (memcmp(before, chip_nvm_view(ch), nvm) || memcmp(obefore, oafter, otp)) {
                    char hex[700];
                    hex_encode(cmd, n, hex);
                    fail_msg("mode %d: %s answered %04X but changed the card", k + 1, hex, sw);
                }
            }
        }
        free(before);
        card_close(cards[k]);
    }
}

/* ---- the customization channel (issue 16) ---- */

/* NVM and OTP as they are now, to prove a refusal changed nothing. */
typedef struct snapshot {
    uint8_t *nvm;
    uint8_t otp[64];
    size_t nvm_size, otp_size;
} snapshot;

static void snap(card *c, snapshot *sn)
{
    chip *ch = card_chip(c);
    sn->nvm_size = chip_get_geometry(ch)->nvm_size;
    sn->otp_size = chip_get_geometry(ch)->otp_size;
    sn->nvm = malloc(sn->nvm_size);
    assert_non_null(sn->nvm);
    memcpy(sn->nvm, chip_nvm_view(ch), sn->nvm_size);
    assert_int_equal(chip_otp_read(ch, 0, sn->otp, sn->otp_size), CHIP_OK);
}

static void assert_unchanged(card *c, snapshot *sn)
{
    chip *ch = card_chip(c);
    uint8_t otp[64];
    assert_int_equal(chip_otp_read(ch, 0, otp, sn->otp_size), CHIP_OK);
    assert_memory_equal(sn->nvm, chip_nvm_view(ch), sn->nvm_size);
    assert_memory_equal(sn->otp, otp, sn->otp_size);
    free(sn->nvm);
    sn->nvm = NULL;
}

/* The key set follows the documented derivation (computed here from the
 * spec text): it opens the channel; the same unlocking key with another
 * serial number, or another constant, does not. The host library agrees. */
static void custom_channel_keys_follow_sp800_108(void **s)
{
    (void)s;
    custom_keys spec, lib;
    spec_custom_keys(unlock_key, card_serial, &spec);
    assert_int_equal(loader_customization_keys(unlock_key, card_serial, lib.enc, lib.mac, lib.dek), 0);
    assert_memory_equal(&spec, &lib, sizeof spec);

    card *c = customization_card("ch_kdf.img");
    chan ch;
    assert_int_equal(chan_open(&ch, c), 0x9000);
    uint8_t r[64];
    size_t rl;
    assert_int_equal(chan_cmd_rsp(&ch, 0xCA, 0xDF, 0x21, NULL, 0, r, &rl), 0x9000);
    assert_int_equal(rl, 4);
    assert_int_equal(r[3], LOADER_MODE_CUSTOMIZATION);

    static const uint8_t other_serial[8] = {0, 0, 0, 0, 0, 0, 0, 8};
    custom_keys wrong;
    spec_custom_keys(unlock_key, other_serial, &wrong);
    assert_int_equal(chan_open_with(&ch, c, &wrong, 0x13), -2);    /* card cryptogram mismatch */
    uint8_t root[32], ctx[21];
    memcpy(ctx, "cardvm-custom", 13);
    memcpy(ctx + 13, card_serial, 8);
    spec_kdf(unlock_key, 32, 0x80, ctx, sizeof ctx, root, 32);     /* KT's constant, not 0x81 */
    spec_kdf(root, 32, 0x82, ctx, 13, wrong.enc, 32);
    spec_kdf(root, 32, 0x83, ctx, 13, wrong.mac, 32);
    assert_int_equal(chan_open_with(&ch, c, &wrong, 0x13), -2);
    card_close(c);
}

/* Outside the channel every customization command gets 6982 and changes
 * nothing, in clear (CLA 80) or with a secure messaging CLA but no session. */
static void custom_plain_commands_refused(void **s)
{
    (void)s;
    card *c = customization_card("ch_plain.img");
    uint8_t keys[128];
    size_t kn = default_keyset_data(keys, sizeof keys);
    uint8_t vec[] = {0, 0, 0, 7, 0xA0, 0, 0, 6, 0x99, 1, 0};
    uint8_t sd[] = {0x70, 5, 0xA0, 0, 0, 0, 0x99};
    uint8_t blk[] = {0xC4, 2, 1, 2};
    const struct { uint8_t ins, p1, p2; const uint8_t *d; size_t n; } cmds[] = {
        {0x30, 0, 0, vec, sizeof vec}, {0x32, 0, 0x80, blk, sizeof blk}, {0x34, 0, 0, vec, sizeof vec},
        {0x36, 0, 0, keys, kn}, {0x38, 1, 0, keys + 1, 23}, {0x3A, 0, 0, sd, sizeof sd}, {0x3E, 0, 0, NULL, 0}};
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        for (int cla = 0x80; cla <= 0x84; cla += 4) {
            snapshot sn;
            snap(c, &sn);
            uint8_t b[300];
            apdu_command a = {.cla = (uint8_t)cla, .ins = cmds[i].ins, .p1 = cmds[i].p1, .p2 = cmds[i].p2,
                              .data = cmds[i].d, .nc = (uint32_t)cmds[i].n};
            size_t len = apdu_encode(&a, b, sizeof b);
            int sw = tx(c, b, len, NULL, NULL);
            if (sw != 0x6982) fail_msg("CLA %02X INS %02X outside the channel answered %04X", cla, cmds[i].ins, sw);
            assert_unchanged(c, &sn);
        }
    }
    /* The service tags still answer in clear; the mode did not move. */
    assert_int_equal(txh(c, "80CADF2100", NULL, NULL), 0x9000);
    assert_int_equal(mode_of(c), LOADER_MODE_CUSTOMIZATION);
    /* A channel below C-MAC + C-DECRYPTION is refused at EXTERNAL AUTHENTICATE. */
    chan ch;
    custom_keys k;
    spec_custom_keys(unlock_key, card_serial, &k);
    assert_int_equal(chan_open_with(&ch, c, &k, 0x01), 0x6982);
    assert_int_equal(chan_cmd(&ch, 0x30, 0, 0, vec, sizeof vec), 0x6982);
    card_close(c);
}

/* Every single bit flipped in a wrapped SET VECTOR (header, data, C-MAC):
 * 6982, nothing changed, and the session is closed (the next, genuine,
 * command is refused too). */
static void custom_bit_flips_refused_and_close_the_session(void **s)
{
    (void)s;
    card *c = customization_card("ch_flip.img");
    uint8_t plain[64];
    uint8_t vec[] = {2, 0, 1, 7, 0xA0, 0, 0, 6, 0x99, 1, 0};
    apdu_command a = {.cla = 0x80, .ins = 0x30, .data = vec, .nc = sizeof vec};
    size_t pl = apdu_encode(&a, plain, sizeof plain);
    size_t wl_ref = 0;
    for (size_t bit = 0;; bit++) {
        chan ch;
        assert_int_equal(chan_open(&ch, c), 0x9000);
        uint8_t w[128];
        size_t wl;
        assert_int_equal(scp03_host_wrap(&ch.h, plain, pl, w, sizeof w, &wl), SCP03_OK);
        wl_ref = wl;
        if (bit >= 8 * wl) break;
        if (bit / 8 == 4) continue;                 /* Lc: a length error, tested by the fuzzers */
        if (bit / 8 == 0 && (bit % 8 == 2 || bit % 8 < 2)) continue;   /* SM bit / channel bits: not this session */
        w[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        snapshot sn;
        snap(c, &sn);
        int sw = tx(c, w, wl, NULL, NULL);
        if (sw == 0x9000 || (sw >> 8) == 0x61) fail_msg("bit %zu flipped: accepted (%04X)", bit, sw);
        assert_unchanged(c, &sn);
        snap(c, &sn);
        assert_int_equal(chan_cmd(&ch, 0x30, 0, 0, vec, sizeof vec), 0x6982);   /* session gone */
        assert_unchanged(c, &sn);
        scp03_host_close(&ch.h);
    }
    assert_true(wl_ref > 20);
    loader_info li;
    loader_read_info(card_chip(c), &li);
    assert_int_equal(li.vectors_set, 0);
    card_close(c);
}

/* A recorded session replayed: on the same card later, and on a copy of
 * the card in the state the session started from. The random card
 * challenge changes the cryptograms: EXTERNAL AUTHENTICATE fails and every
 * command after it gets 6982, card unchanged. A command replayed inside its
 * own session fails the MAC chaining. */
static void custom_replayed_session_refused(void **s)
{
    (void)s;
    card *c = customization_card("ch_replay.img");
    card_close(c);
    assert_int_equal(test_copy_file(path_of("ch_replay.img"), path_of("ch_replay2.img")), 0);
    c = open_card(path_of("ch_replay.img"));

    /* Record: the whole customization of the default card in one session. */
    static uint8_t rec[16][400];
    size_t rec_len[16], nrec = 0;
    chan ch;
    custom_keys k;
    spec_custom_keys(unlock_key, card_serial, &k);
    memset(&ch, 0, sizeof ch);
    ch.c = c;
    uint8_t cmd[400], rsp[64];
    size_t n, rl;
    static const uint8_t hc[8] = {9, 9, 9, 9, 9, 9, 9, 9};
    assert_int_equal(scp03_host_init(&ch.h, k.enc, k.mac, 32, NULL, 0), SCP03_OK);
    assert_int_equal(scp03_host_initialize_update(&ch.h, 0x3F, hc, rec[nrec], sizeof rec[0], &rec_len[nrec]), SCP03_OK);
    assert_int_equal(tx_full(c, rec[nrec], rec_len[nrec], rsp, &rl), 0x9000);
    nrec++;
    rsp[rl] = 0x90;
    rsp[rl + 1] = 0;
    assert_int_equal(scp03_host_check_initialize_update_response(&ch.h, rsp, rl + 2), SCP03_OK);
    assert_int_equal(scp03_host_external_authenticate(&ch.h, 0x13, rec[nrec], sizeof rec[0], &rec_len[nrec]), SCP03_OK);
    assert_int_equal(tx_full(c, rec[nrec], rec_len[nrec], NULL, NULL), 0x9000);
    nrec++;
    uint8_t keys[128];
    size_t kn = default_keyset_data(keys, sizeof keys);
    uint8_t vec[] = {0, 0, 0, 7, 0xA0, 0, 0, 6, 0x99, 1, 0};
    const struct { uint8_t ins; const uint8_t *d; size_t n; } steps[] = {
        {0x36, keys, kn}, {0x30, vec, sizeof vec}, {0x3E, NULL, 0}};
    for (size_t i = 0; i < 3; i++) {
        apdu_command a = {.cla = 0x80, .ins = steps[i].ins, .data = steps[i].d, .nc = (uint32_t)steps[i].n, .ne = 256};
        n = apdu_encode(&a, cmd, sizeof cmd);
        assert_int_equal(scp03_host_wrap(&ch.h, cmd, n, rec[nrec], sizeof rec[0], &rec_len[nrec]), SCP03_OK);
        assert_int_equal(tx_full(c, rec[nrec], rec_len[nrec], NULL, NULL), 0x9000);
        nrec++;
    }
    assert_int_equal(mode_of(c), LOADER_MODE_USER);
    card_close(c);

    /* Replay on the copy: nothing but INITIALIZE UPDATE passes. */
    c = open_card(path_of("ch_replay2.img"));
    snapshot sn;
    snap(c, &sn);
    assert_int_equal(tx_full(c, rec[0], rec_len[0], NULL, NULL), 0x9000);
    for (size_t i = 1; i < nrec; i++) {
        int sw = tx_full(c, rec[i], rec_len[i], NULL, NULL);
        if (sw == 0x9000) fail_msg("replayed command %zu accepted", i);
    }
    assert_unchanged(c, &sn);
    assert_int_equal(mode_of(c), LOADER_MODE_CUSTOMIZATION);

    /* Inside a live session, the same wrapped command twice. */
    assert_int_equal(chan_open(&ch, c), 0x9000);
    apdu_command a = {.cla = 0x80, .ins = 0x30, .data = vec, .nc = sizeof vec};
    n = apdu_encode(&a, cmd, sizeof cmd);
    uint8_t w[128];
    size_t wl;
    assert_int_equal(scp03_host_wrap(&ch.h, cmd, n, w, sizeof w, &wl), SCP03_OK);
    assert_int_equal(tx_full(c, w, wl, NULL, NULL), 0x9000);
    snap(c, &sn);
    assert_int_equal(tx_full(c, w, wl, NULL, NULL), 0x6982);
    assert_unchanged(c, &sn);
    card_close(c);
}

/* The SCP03 session rules: an application error closes the customization
 * session too; ENTER USER MODE is its last command, and afterwards the
 * customization key set opens nothing while the issuer's key set works. */
static void custom_errors_close_session_and_user_mode_ends_it(void **s)
{
    (void)s;
    card *c = customization_card("ch_rules.img");
    chan ch;
    assert_int_equal(chan_open(&ch, c), 0x9000);
    uint8_t bad[] = {0x20, 0, 0, 7, 0xA0, 0, 0, 6, 0x99, 1, 0};   /* slot 32: no such slot */
    assert_int_equal(chan_cmd(&ch, 0x30, 0, 0, bad, sizeof bad), 0x6A80);
    uint8_t vec[] = {0, 0, 0, 7, 0xA0, 0, 0, 6, 0x99, 1, 0};
    assert_int_equal(chan_cmd(&ch, 0x30, 0, 0, vec, sizeof vec), 0x6982);

    assert_int_equal(chan_open(&ch, c), 0x9000);
    uint8_t keys[128];
    size_t kn = default_keyset_data(keys, sizeof keys);
    assert_int_equal(chan_cmd(&ch, 0x36, 0, 0, keys, kn), 0x9000);
    assert_int_equal(chan_cmd(&ch, 0x30, 0, 0, vec, sizeof vec), 0x9000);
    assert_int_equal(chan_cmd(&ch, 0x3E, 0, 0, NULL, 0), 0x9000);    /* R-MAC verified by the host */
    assert_int_equal(mode_of(c), LOADER_MODE_USER);
    assert_int_equal(chan_cmd(&ch, 0x30, 0, 0, vec, sizeof vec), 0x6982);
    assert_int_equal(chan_open(&ch, c), 0x6A88);                     /* no KVN 3F in USER mode */
    /* K-CUST is wiped with the customization software. */
    uint8_t sys[32], zero[32] = {0};
    assert_int_equal(chip_nvm_read(card_chip(c), SYS_TRANSPORT_KEY, sys, 32), CHIP_OK);
    assert_memory_equal(sys, zero, 32);
    card_close(c);
}

/* The whole seed-000 customization in one channel: security domain, key
 * set, common keys, vector table, an update package (listed by GET DATA
 * DF25 afterwards), ENTER USER MODE; then the card works as configured. */
static void custom_whole_flow_in_one_session(void **s)
{
    (void)s;
    card *c = customization_card("ch_flow.img");
    chan ch;
    assert_int_equal(chan_open(&ch, c), 0x9000);
    uint8_t sd[] = {0x70, 8, 0xA0, 0, 0, 1, 0x51, 0, 0, 0};
    assert_int_equal(chan_cmd(&ch, 0x3A, 0, 0, sd, sizeof sd), 0x9000);
    uint8_t keys[128], d[64];
    size_t kn = default_keyset_data(keys, sizeof keys), n;
    assert_int_equal(chan_cmd(&ch, 0x36, 0, 0, keys, kn), 0x9000);
    uint8_t kos[16] = {0x11}, kmac[16] = {0x22};
    assert_int_equal(scp03_key_block_encrypt(ch.k.dek, 32, kos, 16, d, sizeof d, &n), SCP03_OK);
    assert_int_equal(chan_cmd(&ch, 0x38, 1, 0, d, n), 0x9000);
    assert_int_equal(scp03_key_block_encrypt(ch.k.dek, 32, kmac, 16, d, sizeof d, &n), SCP03_OK);
    assert_int_equal(chan_cmd(&ch, 0x38, 2, 0, d, n), 0x9000);
    uint8_t r[64];
    size_t rl;
    assert_int_equal(chan_cmd_rsp(&ch, 0xCA, 0xDF, 0x25, NULL, 0, r, &rl), 0x9000);
    assert_int_equal(rl, 3);                                           /* nothing loaded yet */
    assert_int_equal(load_package_in(&ch, example_os_update_package, example_os_update_package_len), 0x9000);
    assert_int_equal(chan_cmd_rsp(&ch, 0xCA, 0xDF, 0x25, NULL, 0, r, &rl), 0x9000);
    assert_int_equal(rl, 3 + 1 + sizeof update_aid);
    assert_int_equal(r[3], sizeof update_aid);
    assert_memory_equal(r + 4, update_aid, sizeof update_aid);
    uint8_t vec[] = {0, 0, 0, 7, 0xA0, 0, 0, 6, 0x99, 1, 1};
    assert_int_equal(chan_cmd(&ch, 0x30, 0, 0, vec, sizeof vec), 0x9000);
    assert_int_equal(chan_cmd(&ch, 0x3E, 0, 0, NULL, 0), 0x9000);
    loader_info li;
    loader_read_info(card_chip(c), &li);
    assert_int_equal(li.mode, LOADER_MODE_USER);
    assert_true(li.has_kos && li.has_kmac);
    assert_int_equal(li.n_keysets, 1);
    assert_int_equal(txh(c, "80F0000000", r, &rl), 0x9000);
    assert_memory_equal(r, "CVOS\x02\x00", 6);                        /* the update, through slot 0 */
    card_close(c);
}

/* ---- power cuts ---- */
typedef struct tear_ctx {
    card *c;
    const char *stage;   /* "issuer", "custom", "custom+keys" */
    int which;
} tear_ctx;

static void *tear_setup(void *arg)
{
    tear_ctx *t = calloc(1, sizeof *t);
    const tear_ctx *proto = arg;
    *t = *proto;
    if (!strcmp(t->stage, "issuer")) t->c = issuer_card("tear.img");
    else if (!strcmp(t->stage, "mounted")) t->c = mounted_card("tear.img");
    else if (!strcmp(t->stage, "user")) t->c = user_card("tear.img");
    else t->c = customization_card("tear.img");
    if (!strcmp(t->stage, "custom+keys")) assert_int_equal(put_default_keyset(t->c), 0x9000);
    if (!strcmp(t->stage, "custom+hello")) {
        assert_int_equal(load_package(t->c, example_hello_package, example_hello_package_len), 0x9000);
    }
    return t;
}
static chip *tear_chip(void *ctx) { return card_chip(((tear_ctx *)ctx)->c); }
static void tear_power(void *ctx) { card_power(((tear_ctx *)ctx)->c, CARD_COLD, NULL, NULL); }
static void tear_teardown(void *ctx)
{
    tear_ctx *t = ctx;
    card_close(t->c);
    free(t);
}

enum { T_SERIAL, T_UNLOCK, T_VECTOR, T_LOAD, T_KEYS, T_COMMON, T_SD, T_USER, T_BAD_UNLOCK, T_INIT_UPDATE, T_INSTALL };

/* examples/applets/hello (CAP): package F063617264766D10, applet and
 * instance F063617264766D1001 */
static const uint8_t hello_install[] = {8, 0xF0, 0x63, 0x61, 0x72, 0x64, 0x76, 0x6D, 0x10,
                                        9, 0xF0, 0x63, 0x61, 0x72, 0x64, 0x76, 0x6D, 0x10, 0x01,
                                        9, 0xF0, 0x63, 0x61, 0x72, 0x64, 0x76, 0x6D, 0x10, 0x01};

static int instance_present(const char *image)
{
    chip *ch;
    char err[256];
    assert_int_equal(chip_open(image, &ch, err, sizeof err), CHIP_OK);
    chip_power_on(ch);
    vm_runtime *vm;
    assert_int_equal(vm_create(ch, NULL, &vm), VM_OK);
    vm_applet_info ai;
    int found = 0;
    for (unsigned i = 0; vm_applet_info_at(vm, i, &ai) == VM_OK; i++)
        found |= ai.aid_len == 9 && !memcmp(ai.aid, hello_install + 20, 9);
    vm_destroy(vm);
    chip_close(ch);
    return found;
}

static int tear_run(void *ctx)
{
    tear_ctx *t = ctx;
    custom_keys ck;
    uint8_t key[16] = {9}, d[64];
    size_t n;
    switch (t->which) {
    case T_SERIAL: return cmd80(t->c, 0x12, 0, 0, (const uint8_t *)"ABCDEFGH", 8) == 0x9000 ? 0 : 1;
    case T_UNLOCK: return unlock(t->c, unlock_key, hash_code) == 0x9000 ? 0 : 1;
    case T_BAD_UNLOCK: return unlock(t->c, hash_code, hash_code) == 0x63C4 ? 0 : 1;
    case T_VECTOR: return set_vector(t->c, 3, os_aid, sizeof os_aid, 1) == 0x9000 ? 0 : 1;
    case T_LOAD: return load_package(t->c, example_os_update_package, example_os_update_package_len) == 0x9000 ? 0 : 1;
    case T_KEYS: return put_default_keyset(t->c) == 0x9000 ? 0 : 1;
    case T_COMMON:
        spec_custom_keys(unlock_key, card_serial, &ck);
        assert_int_equal(scp03_key_block_encrypt(ck.dek, 32, key, 16, d, sizeof d, &n), SCP03_OK);
        return ccmd(t->c, 0x38, 1, 0, d, n) == 0x9000 ? 0 : 1;
    case T_SD: {
        uint8_t r[] = {0x70, 5, 0xA0, 0, 0, 0, 0x99};
        return ccmd(t->c, 0x3A, 0, 0, r, sizeof r) == 0x9000 ? 0 : 1;
    }
    case T_USER: return ccmd(t->c, 0x3E, 0, 0, NULL, 0) == 0x9000 ? 0 : 1;
    case T_INSTALL: return ccmd(t->c, 0x34, 0, 0, hello_install, sizeof hello_install) == 0x9000 ? 0 : 1;
    case T_INIT_UPDATE: {
        /* The pseudo-random challenge's counter is committed before use:
         * the response must carry the counter that is durable. */
        uint8_t r[64];
        size_t rl;
        if (txh(t->c, "00A4040008A000000151000000", NULL, NULL) != 0x6112) return 1;
        if (txh(t->c, "80503000080102030405060708", NULL, NULL) != 0x6120) return 1;
        if (txh(t->c, "00C0000020", r, &rl) != 0x9000 || rl != 32) return 1;
        return r[29] == 0 && r[30] == 0 && r[31] == 1 ? 0 : 2;
    }
    }
    return 1;
}

/* After reopening the image: OTP and NVM agree, and the card is either in
 * the state before the command (which then succeeds when retried) or after. */
static int tear_check(void *ctx, uint32_t cut)
{
    tear_ctx *t = ctx;
    card_close(t->c);
    t->c = open_card(path_of("tear.img"));
    chip *ch = card_chip(t->c);
    loader_info li;
    if (loader_read_info(ch, &li)) return 1;
    uint8_t mirror;
    chip_nvm_read(ch, SYS_MODE, &mirror, 1);
    if (mirror != li.mode) return 2;                   /* OTP trace consistent with NVM */
    int done;
    switch (t->which) {
    case T_SERIAL: done = li.serial_written; if (done && memcmp(li.serial, "ABCDEFGH", 8)) return 3; break;
    case T_UNLOCK:
        /* Decrement, commit, compare (restore on success): a cut at the
         * decrement's own write leaves 5 tries; any later cut in a command
         * that did not finish leaves the try counted. */
        done = li.mode == LOADER_MODE_CUSTOMIZATION;
        if (!done && li.tries_left != (cut == 1 ? 5 : 4)) return 4;
        break;
    case T_BAD_UNLOCK: done = li.tries_left == 4; if (!done && li.tries_left != 5) return 5; break;
    case T_VECTOR: done = li.vectors_set == 1; break;
    case T_LOAD:
        done = package_kind_present(path_of("tear.img"), 0, update_aid, sizeof update_aid);
        break;
    case T_KEYS: done = li.n_keysets == 1; if (li.n_keysets > 1) return 7; break;
    case T_COMMON: done = li.has_kos; break;
    case T_SD: done = li.isd_aid_len == 5; if (!done && li.isd_aid_len != 8) return 8; break;
    case T_USER: done = li.mode == LOADER_MODE_USER; if (done == li.has_sealed) return 9; break;
    case T_INSTALL: done = instance_present(path_of("tear.img")); break;
    case T_INIT_UPDATE: {
        uint8_t r[16];
        size_t rl;
        card_power(t->c, CARD_COLD, NULL, NULL);
        txh(t->c, "00A4040008A000000151000000", NULL, NULL);
        if (txh(t->c, "80CA00C100", r, &rl) != 0x9000 || rl != 5) return 13;
        done = r[4] == 1;
        if (!done && r[4] != 0) return 14;
        break;
    }
    default: return 10;
    }
    if (cut == 0 && !done) return 11;
    if (!done && t->which != T_LOAD && tear_run(t) != 0) return 12;   /* the old state works on */
    return 0;
}

static void sweep(const char *name, const char *stage, int which)
{
    tear_ctx proto = {NULL, stage, which};
    tear_scenario sc = {name, tear_setup, tear_chip, tear_run, tear_power, tear_check, tear_teardown};
    uint32_t writes = tear_sweep(&sc, &proto);
    print_message("%-28s %u write indexes\n", name, writes);
    assert_true(writes > 0);
}

static void tear_write_serial(void **s) { (void)s; sweep("WRITE SERIAL", "issuer", T_SERIAL); }
static void tear_unlock(void **s) { (void)s; sweep("UNLOCK", "mounted", T_UNLOCK); }
static void tear_failed_unlock(void **s) { (void)s; sweep("UNLOCK (wrong key)", "mounted", T_BAD_UNLOCK); }
static void tear_set_vector(void **s) { (void)s; sweep("SET VECTOR", "custom", T_VECTOR); }
static void tear_load_package(void **s) { (void)s; sweep("LOAD PACKAGE", "custom", T_LOAD); }
static void tear_put_key_set(void **s) { (void)s; sweep("PUT KEY SET", "custom", T_KEYS); }
static void tear_put_common_key(void **s) { (void)s; sweep("PUT COMMON KEY", "custom", T_COMMON); }
static void tear_set_security_domain(void **s) { (void)s; sweep("SET SECURITY DOMAIN", "custom", T_SD); }
static void tear_enter_user_mode(void **s) { (void)s; sweep("ENTER USER MODE", "custom+keys", T_USER); }
static void tear_install_applet(void **s) { (void)s; sweep("INSTALL APPLET", "custom+hello", T_INSTALL); }
static void tear_initialize_update_counter(void **s) { (void)s; sweep("INITIALIZE UPDATE counter", "user", T_INIT_UPDATE); }

static int setup_all(void **s)
{
    (void)s;
    if (test_make_dir("loader", tmpdir, sizeof tmpdir)) return -1;
    loader_mask_params m;
    if (test_seal_custom(unlock_key, hash_code, &sealed_bytes, &sealed_len, &m)) return -1;
    const uint8_t *masked[] = {example_masked_os_package};
    size_t masked_len[] = {example_masked_os_package_len};
    m.masked = masked;
    m.masked_len = masked_len;
    m.n_masked = 1;
    m.vectored = vectored;
    m.n_vectored = 2;
    snprintf(issuer_template, sizeof issuer_template, "%s/issuer-template.img", tmpdir);
    char err[256];
    if (loader_mask(issuer_template, &m, err, sizeof err)) {
        fprintf(stderr, "mask: %s\n", err);
        return -1;
    }
    return 0;
}

static int teardown_all(void **s)
{
    (void)s;
    free(sealed_bytes);
    return test_remove_dir(tmpdir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(claim_01_chip_accepts_unlock_key_and_runs_customization),
        cmocka_unit_test(claim_02_masked_rom_and_rewritable_nvm),
        cmocka_unit_test(claim_03_masking_takes_only_the_sealed_software),
        cmocka_unit_test(claim_04_decrypted_software_stored_then_second_part_added),
        cmocka_unit_test(claim_05_enter_user_mode_erases_201_and_300),
        cmocka_unit_test(claim_06_07_completed_software_executes),
        cmocka_unit_test(claim_08_software_amendments_redirect_vectors),
        cmocka_unit_test(claim_09_card_mounter_needs_no_key),
        cmocka_unit_test(claim_10_smartcard_with_the_chip),
        cmocka_unit_test(claim_11_customization_writes_complementary_code),
        cmocka_unit_test(claim_12_without_key_only_service_commands),
        cmocka_unit_test(test_wrong_key_and_wrong_hash_count_down_to_terminated),
        cmocka_unit_test(test_truncated_unlock_costs_no_try),
        cmocka_unit_test(test_unlock_in_customization_and_user_mode_refused),
        cmocka_unit_test(test_write_serial_twice_refused),
        cmocka_unit_test(test_enter_user_mode_twice_and_without_keys_refused),
        cmocka_unit_test(test_customization_commands_in_wrong_mode),
        cmocka_unit_test(test_wrong_key_data_under_dek_refused),
        cmocka_unit_test(test_customization_entered_only_once_per_otp),
        cmocka_unit_test(test_any_bytes_in_every_mode_get_a_status_word),
        cmocka_unit_test(test_error_status_words_leave_card_unchanged),
        cmocka_unit_test(custom_channel_keys_follow_sp800_108),
        cmocka_unit_test(custom_plain_commands_refused),
        cmocka_unit_test(custom_bit_flips_refused_and_close_the_session),
        cmocka_unit_test(custom_replayed_session_refused),
        cmocka_unit_test(custom_errors_close_session_and_user_mode_ends_it),
        cmocka_unit_test(custom_whole_flow_in_one_session),
        cmocka_unit_test(tear_write_serial),
        cmocka_unit_test(tear_unlock),
        cmocka_unit_test(tear_failed_unlock),
        cmocka_unit_test(tear_set_vector),
        cmocka_unit_test(tear_load_package),
        cmocka_unit_test(tear_put_key_set),
        cmocka_unit_test(tear_put_common_key),
        cmocka_unit_test(tear_set_security_domain),
        cmocka_unit_test(tear_enter_user_mode),
        cmocka_unit_test(tear_install_applet),
        cmocka_unit_test(tear_initialize_update_counter),
    };
    return cmocka_run_group_tests_name("loader", tests, setup_all, teardown_all);
}
