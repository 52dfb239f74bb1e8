/*
 * Crypto shared by both roles: libtomcrypt set-up, scheduled keys, CMAC,
 * CBC, the SP 800-108 KDF and the SCP03 data derivation, key check values.
 *
 * Why the hand-built libtomcrypt states: omac_init() and cbc_start() run the
 * AES key expansion every time. A session uses the same three keys for every
 * APDU, so scp03_i_key_setup() lets libtomcrypt build the state once, keeps
 * the AES schedule and the CMAC subkeys (a few hundred bytes instead of
 * libtomcrypt's ~4.7 KB states, so a session fits in card RAM), and each
 * MAC/CBC pass puts them back into a stack state exactly as omac_init() and
 * cbc_start() would have left it. The MAC and cipher work itself is
 * libtomcrypt's (omac_process/omac_done, cbc_encrypt/cbc_decrypt). The
 * RFC 4493 and session vectors in test/scp03 check the equivalence.
 */
#include "scp03_internal.h"

#include <pthread.h>
#include <stddef.h>
#include <string.h>
#include <tomcrypt.h>

_Static_assert(sizeof(struct rijndael_key) <= sizeof(((scp03_aes_key *)0)->sched),
               "scp03_aes_key too small for libtomcrypt's AES schedule");

/* ---- process-wide, immutable after the first call ---- */

static pthread_once_t aes_once = PTHREAD_ONCE_INIT;
static int aes_idx = -1;

static void aes_register(void)
{
    int idx = register_cipher(&aes_desc);
    if (idx >= 0 && cipher_descriptor[idx].block_length == 16) {
        aes_idx = idx;
    }
}

static int aes_index(void)
{
    if (pthread_once(&aes_once, aes_register) != 0) {
        return -1;
    }
    return aes_idx;
}

int scp03_crypto_init(void)
{
    return aes_index() >= 0 ? SCP03_OK : SCP03_ERR_CRYPTO;
}

/* ---- wiping and comparing ---- */

static void *(*const volatile wipe_memset)(void *, int, size_t) = memset;

void scp03_wipe(void *p, size_t n)
{
    if (p != NULL && n != 0) {
        wipe_memset(p, 0, n);
    }
}

int scp03_ct_equal(const void *a, const void *b, size_t n)
{
    const volatile uint8_t *x = a;
    const volatile uint8_t *y = b;
    uint8_t d = 0;
    for (size_t i = 0; i < n; i++) {
        d |= (uint8_t)(x[i] ^ y[i]);
    }
    /* 1 when d == 0, without a data-dependent branch */
    return (int)(1u & (((unsigned)d - 1u) >> 8));
}

/* ---- small helpers ---- */

int scp03_i_key_len_ok(size_t n)
{
    return n == 16 || n == 24 || n == 32;
}

int scp03_i_i_param_ok(unsigned i)
{
    switch (i) {
    case 0x00: case 0x10: case 0x20: case 0x30: case 0x60: case 0x70:
        return 1;
    default:
        return 0;
    }
}

int scp03_i_level_ok(unsigned level, unsigned i_param)
{
    switch (level) {
    case 0x00: case 0x01: case 0x03:
        return 1;
    case 0x11: case 0x13:
        return (i_param & SCP03_I_RMAC) != 0;
    case 0x33:
        return (i_param & SCP03_I_RENC) != 0;
    default:
        return 0;
    }
}

void scp03_i_ctr_inc(uint8_t ctr[16])
{
    for (int i = 15; i >= 0; i--) {
        if (++ctr[i] != 0) {
            break;
        }
    }
}

void scp03_i_ctr_dec(uint8_t ctr[16])
{
    for (int i = 15; i >= 0; i--) {
        if (ctr[i]-- != 0) {
            break;
        }
    }
}

int scp03_i_sw_protected(uint16_t sw)
{
    unsigned sw1 = sw >> 8;
    return sw == 0x9000u || sw1 == 0x62u || sw1 == 0x63u;
}

size_t scp03_i_unpad(const uint8_t *buf, size_t n)
{
    if (n == 0 || (n % 16u) != 0) {
        return (size_t)-1;
    }
    /* Scan the whole last block so the time does not say where the 80 is.
     * (The C-MAC is checked before decryption, so this is hygiene, not a
     * padding-oracle defence.) */
    const uint8_t *blk = buf + n - 16;
    size_t pos = 16;     /* index of the 80 marker, 16 = not found */
    unsigned seen = 0;   /* a non-zero byte was met scanning from the end */
    unsigned bad = 0;
    for (size_t i = 16; i-- > 0;) {
        unsigned b = blk[i];
        unsigned first = (seen == 0) && (b != 0);
        if (first) {
            pos = i;
            bad |= (b != 0x80u);
        }
        seen |= (b != 0);
    }
    if (bad || pos == 16) {
        return (size_t)-1;
    }
    return n - 16 + pos;
}

/* ---- scheduled keys ---- */

int scp03_i_key_setup(scp03_aes_key *k, const uint8_t *key, size_t key_len)
{
    int idx = aes_index();
    if (idx < 0) {
        return SCP03_ERR_CRYPTO;
    }
    if (k == NULL || key == NULL || !scp03_i_key_len_ok(key_len)) {
        return SCP03_ERR_PARAM;
    }
    omac_state st;
    /* AES-128/192 leave the tail of the schedule arrays unwritten: zero it,
     * so no stale stack bytes travel into the session struct */
    memset(&st.key.rijndael, 0, sizeof(struct rijndael_key));
    int err = omac_init(&st, idx, key, (unsigned long)key_len);
    if (err == CRYPT_OK) {
        memset(k, 0, sizeof *k);
        memcpy(k->sched, &st.key.rijndael, sizeof(struct rijndael_key));
        memcpy(k->k1, st.Lu[0], 16);
        memcpy(k->k2, st.Lu[1], 16);
    }
    scp03_wipe(&st.key.rijndael, sizeof(struct rijndael_key));
    scp03_wipe(st.Lu, sizeof st.Lu);
    scp03_wipe(st.prev, sizeof st.prev);
    return err == CRYPT_OK ? SCP03_OK : SCP03_ERR_CRYPTO;
}

/* A schedule with a round count AES does not have is not one libtomcrypt
 * made (a zeroed or corrupted session in RAM): its block function would run
 * off the end of the key, so refuse it. */
static int sched_ok(const scp03_aes_key *k)
{
    struct rijndael_key rk;
    memcpy(&rk.Nr, (const uint8_t *)k->sched + offsetof(struct rijndael_key, Nr), sizeof rk.Nr);
    return rk.Nr == 10 || rk.Nr == 12 || rk.Nr == 14;
}

/* The state omac_init() leaves, rebuilt from the kept schedule. */
static void omac_from_key(omac_state *st, int idx, const scp03_aes_key *k)
{
    st->cipher_idx = idx;
    st->buflen = 0;
    st->blklen = 16;
    memset(st->block, 0, 16);
    memset(st->prev, 0, 16);
    memcpy(st->Lu[0], k->k1, 16);
    memcpy(st->Lu[1], k->k2, 16);
    memcpy(&st->key.rijndael, k->sched, sizeof(struct rijndael_key));
}

static void omac_wipe(omac_state *st)
{
    scp03_wipe(&st->key.rijndael, sizeof(struct rijndael_key));
    scp03_wipe(st->Lu[0], 16);
    scp03_wipe(st->Lu[1], 16);
    scp03_wipe(st->block, 16);
    scp03_wipe(st->prev, 16);
}

/* libtomcrypt only takes its word-at-a-time path when a single
 * omac_process() call starts on an empty buffer, so short messages are
 * gathered into one contiguous piece first. */
#define CMAC_GATHER 640

int scp03_i_cmac3(const scp03_aes_key *k, const uint8_t *a, size_t alen, const uint8_t *b,
                  size_t blen, const uint8_t *c, size_t clen, uint8_t mac[16])
{
    int idx = aes_index();
    if (idx < 0 || !sched_ok(k)) {
        return SCP03_ERR_CRYPTO;
    }
    omac_state st;
    omac_from_key(&st, idx, k);
    int err = CRYPT_OK;
    size_t total = alen + blen + clen;
    if (total <= CMAC_GATHER) {
        uint8_t buf[CMAC_GATHER];
        if (alen) memcpy(buf, a, alen);
        if (blen) memcpy(buf + alen, b, blen);
        if (clen) memcpy(buf + alen + blen, c, clen);
        if (total) {
            err = omac_process(&st, buf, (unsigned long)total);
        }
        /* buf holds only public APDU bytes and the chaining value */
    } else {
        if (alen && err == CRYPT_OK) err = omac_process(&st, a, (unsigned long)alen);
        if (blen && err == CRYPT_OK) err = omac_process(&st, b, (unsigned long)blen);
        if (clen && err == CRYPT_OK) err = omac_process(&st, c, (unsigned long)clen);
    }
    if (err == CRYPT_OK) {
        unsigned long outlen = 16;
        err = omac_done(&st, mac, &outlen);
    }
    omac_wipe(&st);
    return err == CRYPT_OK ? SCP03_OK : SCP03_ERR_CRYPTO;
}

int scp03_i_cbc(const scp03_aes_key *k, const uint8_t icv_in[16], int decrypt, const uint8_t *in,
                uint8_t *out, size_t len)
{
    int idx = aes_index();
    if (idx < 0 || !sched_ok(k)) {
        return SCP03_ERR_CRYPTO;
    }
    if ((len % 16u) != 0) {
        return SCP03_ERR_PARAM;
    }
    if (len == 0) {
        return SCP03_OK;
    }
    /* the state cbc_start() leaves, with IV = AES(k, icv_in) */
    symmetric_CBC cbc;
    cbc.cipher = idx;
    cbc.blocklen = 16;
    memcpy(&cbc.key.rijndael, k->sched, sizeof(struct rijndael_key));
    int err = cipher_descriptor[idx].ecb_encrypt(icv_in, cbc.IV, &cbc.key);
    if (err == CRYPT_OK) {
        err = decrypt ? cbc_decrypt(in, out, (unsigned long)len, &cbc)
                      : cbc_encrypt(in, out, (unsigned long)len, &cbc);
    }
    scp03_wipe(&cbc.key.rijndael, sizeof(struct rijndael_key));
    scp03_wipe(cbc.IV, 16);
    return err == CRYPT_OK ? SCP03_OK : SCP03_ERR_CRYPTO;
}

int scp03_i_cbc_raw(const uint8_t *key, size_t key_len, int decrypt, const uint8_t *in,
                    uint8_t *out, size_t len)
{
    int idx = aes_index();
    if (idx < 0) {
        return SCP03_ERR_CRYPTO;
    }
    if (key == NULL || !scp03_i_key_len_ok(key_len) || (len % 16u) != 0) {
        return SCP03_ERR_PARAM;
    }
    if (len == 0) {
        return SCP03_OK;
    }
    static const uint8_t zero_iv[16];
    symmetric_CBC cbc;
    int err = cbc_start(idx, zero_iv, key, (int)key_len, 0, &cbc);
    if (err == CRYPT_OK) {
        err = decrypt ? cbc_decrypt(in, out, (unsigned long)len, &cbc)
                      : cbc_encrypt(in, out, (unsigned long)len, &cbc);
        cbc_done(&cbc);
    }
    scp03_wipe(&cbc.key.rijndael, sizeof(struct rijndael_key));
    scp03_wipe(cbc.IV, 16);
    return err == CRYPT_OK ? SCP03_OK : SCP03_ERR_CRYPTO;
}

/* ---- public primitives ---- */

int scp03_cmac(const uint8_t *key, size_t key_len, const uint8_t *msg, size_t msg_len,
               uint8_t mac[16])
{
    if (key == NULL || mac == NULL || (msg == NULL && msg_len != 0)) {
        return SCP03_ERR_PARAM;
    }
    scp03_aes_key k;
    int rc = scp03_i_key_setup(&k, key, key_len);
    if (rc == SCP03_OK) {
        rc = scp03_i_cmac3(&k, msg, msg_len, NULL, 0, NULL, 0, mac);
    }
    scp03_wipe(&k, sizeof k);
    return rc;
}

int scp03_kdf_counter_cmac(const uint8_t *key, size_t key_len,
                           const uint8_t *before, size_t before_len,
                           const uint8_t *after, size_t after_len,
                           uint8_t *out, size_t out_len)
{
    if (key == NULL || out == NULL || (before == NULL && before_len != 0) ||
        (after == NULL && after_len != 0) || out_len == 0 || out_len > 255u * 16u) {
        return SCP03_ERR_PARAM;
    }
    scp03_aes_key k;
    int rc = scp03_i_key_setup(&k, key, key_len);
    size_t done = 0;
    for (unsigned i = 1; rc == SCP03_OK && done < out_len; i++) {
        uint8_t ctr = (uint8_t)i;
        uint8_t block[16];
        rc = scp03_i_cmac3(&k, before, before_len, &ctr, 1, after, after_len, block);
        size_t n = out_len - done < 16 ? out_len - done : 16;
        if (rc == SCP03_OK) {
            memcpy(out + done, block, n);
        }
        done += n;
        scp03_wipe(block, sizeof block);
    }
    scp03_wipe(&k, sizeof k);
    if (rc != SCP03_OK) {
        scp03_wipe(out, out_len);
    }
    return rc;
}

int scp03_derive(const uint8_t *key, size_t key_len, uint8_t constant,
                 const uint8_t *context, size_t context_len, uint8_t *out, size_t out_len)
{
    if (out_len != 8 && out_len != 16 && out_len != 24 && out_len != 32) {
        return SCP03_ERR_PARAM;
    }
    /* label (11 x 00 || constant), separator 00, L in bits; the counter i
     * follows, then the context */
    uint8_t fixed[15];
    memset(fixed, 0, sizeof fixed);
    fixed[11] = constant;
    fixed[12] = 0x00;
    fixed[13] = (uint8_t)((out_len * 8u) >> 8);
    fixed[14] = (uint8_t)(out_len * 8u);
    return scp03_kdf_counter_cmac(key, key_len, fixed, sizeof fixed, context, context_len, out,
                                  out_len);
}

int scp03_kcv(const uint8_t *key, size_t key_len, uint8_t kcv[3])
{
    if (key == NULL || kcv == NULL || !scp03_i_key_len_ok(key_len)) {
        return SCP03_ERR_PARAM;
    }
    uint8_t block[16];
    memset(block, 0x01, sizeof block);
    /* one block of CBC with a zero ICV is one block of ECB */
    int rc = scp03_i_cbc_raw(key, key_len, 0, block, block, sizeof block);
    if (rc == SCP03_OK) {
        memcpy(kcv, block, 3);
    }
    scp03_wipe(block, sizeof block);
    return rc;
}
