/*
 * seal.c — the sealed customization software (part 201) and the key that
 * protects key data during customization.
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

/* KT: the key that protects key data sent to the customization software.
 * KT = KDF(unlock key) with the SCP03 derivation (NIST SP 800-108 counter
 * mode, AES-256-CMAC), derivation constant 0x80 (outside SCP03's own set) and
 * the context "cardvm-KT", 128 bits. The card derives it at UNLOCK, keeps it
 * in NVM during CUSTOMIZATION only, and wipes it at ENTER USER MODE. */
void transport_key_derive(const uint8_t unlock_key[32], uint8_t kt[16])
{
    static const uint8_t context[] = "cardvm-KT";
    if (scp03_derive(unlock_key, 32, 0x80, context, sizeof context - 1, kt, 16) != SCP03_OK)
        memset(kt, 0, 16);
}

void loader_transport_key(const uint8_t unlock_key[LOADER_UNLOCK_KEY_LEN], uint8_t kt[16])
{
    transport_key_derive(unlock_key, kt);
}
