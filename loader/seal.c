/*
 * seal.c — the sealed customization software (part 201), and the keys of
 * the customization channel, both derived from the unlocking key (both
 * sides: the client's tools and the card link this file).
 *
 * Why CBC with ISO/IEC 9797-1 padding method 2 and no MAC: the card checks
 * integrity with the hash code the client gives in UNLOCK (SHA-256 of the
 * plain package, compared in constant time), exactly as seed 000 describes;
 * a second integrity mechanism would only duplicate it.
 */
#include <stdlib.h>
#include <string.h>
#include <tomcrypt.h>

#include "loader.h"
#include "loader_internal.h"

#define SEAL_HEADER 28u

static int crypto_ready(void)
{
    if (scp03_crypto_init() != SCP03_OK) return -1;
    if (find_hash("sha256") < 0 && register_hash(&sha256_desc) < 0) return -1;
    return 0;
}

static void put32le(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}

int loader_seal(const uint8_t *package, size_t len, const uint8_t key[LOADER_UNLOCK_KEY_LEN],
                const uint8_t *iv, uint8_t **sealed, size_t *sealed_len,
                uint8_t hash[LOADER_HASH_LEN])
{
    if (!package || !len || len > 0x7FFFFFF0u || crypto_ready()) return -1;
    size_t ct_len = (len / 16 + 1) * 16;
    uint8_t *out = calloc(1, SEAL_HEADER + ct_len);
    if (!out) return -1;
    memcpy(out, "CVMS\x01\x00\x00\x00", 8);
    if (iv) memcpy(out + 8, iv, 16);
    else if (rng_get_bytes(out + 8, 16, NULL) != 16) { free(out); return -1; }
    put32le(out + 24, (uint32_t)ct_len);
    uint8_t *ct = out + SEAL_HEADER;
    memcpy(ct, package, len);
    ct[len] = 0x80;
    symmetric_CBC cbc;
    int ok = cbc_start(find_cipher("aes"), out + 8, key, LOADER_UNLOCK_KEY_LEN, 0, &cbc) == CRYPT_OK &&
             cbc_encrypt(ct, ct, ct_len, &cbc) == CRYPT_OK;
    cbc_done(&cbc);
    scp03_wipe(&cbc, sizeof cbc);
    hash_state md;
    ok = ok && sha256_init(&md) == CRYPT_OK && sha256_process(&md, package, (unsigned long)len) == CRYPT_OK &&
         sha256_done(&md, hash) == CRYPT_OK;
    if (!ok) { free(out); return -1; }
    *sealed = out;
    *sealed_len = SEAL_HEADER + ct_len;
    return 0;
}

int seal_open(const uint8_t *sealed, size_t sealed_len, const uint8_t key[32],
              uint8_t **plain, size_t *plain_len)
{
    if (crypto_ready() || sealed_len < SEAL_HEADER + 16 || memcmp(sealed, "CVMS\x01", 5) != 0) return -1;
    uint32_t ct_len = (uint32_t)sealed[24] | (uint32_t)sealed[25] << 8 | (uint32_t)sealed[26] << 16 |
                      (uint32_t)sealed[27] << 24;
    if (ct_len == 0 || ct_len % 16 || ct_len > sealed_len - SEAL_HEADER) return -1;
    uint8_t *p = malloc(ct_len);
    if (!p) return -1;
    symmetric_CBC cbc;
    int ok = cbc_start(find_cipher("aes"), sealed + 8, key, 32, 0, &cbc) == CRYPT_OK &&
             cbc_decrypt(sealed + SEAL_HEADER, p, ct_len, &cbc) == CRYPT_OK;
    cbc_done(&cbc);
    scp03_wipe(&cbc, sizeof cbc);
    /* Padding: strip zeros back to the 80 marker (within the last block). */
    size_t n = ct_len;
    while (ok && n > ct_len - 16 && p[n - 1] == 0x00) n--;
    if (!ok || n == ct_len - 16 || p[n - 1] != 0x80 || n - 1 == 0) {
        scp03_wipe(p, ct_len);
        free(p);
        return -1;
    }
    *plain = p;
    *plain_len = n - 1;
    return 0;
}

/* The customization channel's keys (docs/loader.md, "The customization
 * channel"). Two steps, both the SCP03 data derivation (NIST SP 800-108
 * counter mode, PRF AES-CMAC), so that the card keeps one 32-byte secret
 * between UNLOCK and ENTER USER MODE and still has a whole SCP03 key set:
 *
 *   K-CUST = KDF(unlocking key, 0x81, "cardvm-custom" || serial (8), 256 bits)
 *   ENC    = KDF(K-CUST, 0x82, "cardvm-custom", 256 bits)
 *   MAC    = KDF(K-CUST, 0x83, "cardvm-custom", 256 bits)
 *   DEK    = KDF(K-CUST, 0x84, "cardvm-custom", 256 bits)
 *
 * The serial number in the first step diversifies the key set per card: one
 * card's keys, even extracted, open no other card's channel. The constants
 * lie outside SCP03's own (Amendment D Table 4-1) so no derived key can equal
 * a session key or cryptogram of any channel. */
static const uint8_t custom_label[] = "cardvm-custom";
#define CUSTOM_LABEL_LEN (sizeof custom_label - 1)

int custom_root_derive(const uint8_t unlock_key[32], const uint8_t serial[8], uint8_t k_cust[32])
{
    uint8_t ctx[CUSTOM_LABEL_LEN + 8];
    memcpy(ctx, custom_label, CUSTOM_LABEL_LEN);
    memcpy(ctx + CUSTOM_LABEL_LEN, serial, 8);
    int rc = scp03_derive(unlock_key, 32, LOADER_DD_CUSTOM_ROOT, ctx, sizeof ctx, k_cust, 32);
    if (rc != SCP03_OK) scp03_wipe(k_cust, 32);
    return rc == SCP03_OK ? 0 : -1;
}

int custom_keys_derive(const uint8_t k_cust[32], uint8_t enc[32], uint8_t mac[32], uint8_t dek[32])
{
    int rc = scp03_derive(k_cust, 32, LOADER_DD_CUSTOM_ENC, custom_label, CUSTOM_LABEL_LEN, enc, 32);
    if (rc == SCP03_OK) rc = scp03_derive(k_cust, 32, LOADER_DD_CUSTOM_MAC, custom_label, CUSTOM_LABEL_LEN, mac, 32);
    if (rc == SCP03_OK) rc = scp03_derive(k_cust, 32, LOADER_DD_CUSTOM_DEK, custom_label, CUSTOM_LABEL_LEN, dek, 32);
    if (rc == SCP03_OK) return 0;
    scp03_wipe(enc, 32);
    scp03_wipe(mac, 32);
    scp03_wipe(dek, 32);
    return -1;
}

int loader_customization_keys(const uint8_t unlock_key[LOADER_UNLOCK_KEY_LEN], const uint8_t serial[8],
                              uint8_t enc[32], uint8_t mac[32], uint8_t dek[32])
{
    uint8_t k_cust[32];
    int rc = custom_root_derive(unlock_key, serial, k_cust);
    if (!rc) rc = custom_keys_derive(k_cust, enc, mac, dek);
    scp03_wipe(k_cust, sizeof k_cust);
    return rc;
}
