/*
 * keystore.c — SCP03 key sets and the common keys (Kos, K-MAC) in NVM heap
 * blocks. Records are read into caller buffers that the caller wipes; freed
 * blocks are zeroed by the heap, so a deleted key leaves nothing behind.
 */
#include <string.h>

#include "loader_internal.h"

static void record_encode(const scp03_keyset *ks, uint8_t absent, uint8_t r[KEYSET_RECORD_SIZE])
{
    memset(r, 0, KEYSET_RECORD_SIZE);
    r[0] = ks->kvn;
    r[1] = ks->key_len;
    memcpy(r + 2, ks->enc, 32);
    memcpy(r + 34, ks->mac, 32);
    memcpy(r + 66, ks->dek, 32);
    for (int i = 0; i < 4; i++) r[98 + i] = (uint8_t)(ks->counter >> (8 * i));
    r[102] = absent & KEYSET_ABSENT_ALL;
}

static int record_decode(const uint8_t r[KEYSET_RECORD_SIZE], scp03_keyset *ks)
{
    if (r[1] != 16 && r[1] != 24 && r[1] != 32) return -1;
    memset(ks, 0, sizeof *ks);
    ks->kvn = r[0];
    ks->key_len = r[1];
    memcpy(ks->enc, r + 2, 32);
    memcpy(ks->mac, r + 34, 32);
    memcpy(ks->dek, r + 66, 32);
    ks->counter = (uint32_t)r[98] | (uint32_t)r[99] << 8 | (uint32_t)r[100] << 16 | (uint32_t)r[101] << 24;
    return 0;
}

/* Key sets in ascending KVN order, so that KVN 00 (first key set) is stable. */
int keystore_load_masked(const chip *c, scp03_keyset *sets, uint8_t *absent, size_t cap, size_t *n)
{
    *n = 0;
    for (unsigned i = 0;; i++) {
        uint32_t off, size;
        if (chip_nvm_find(c, KIND_KEYSET, 0xFFFF, i, &off, &size) != CHIP_OK) break;
        if (*n >= cap || size < KEYSET_RECORD_SIZE) return CHIP_ERR_RANGE;
        uint8_t r[KEYSET_RECORD_SIZE];
        int rc = chip_nvm_read(c, off, r, sizeof r);
        if (rc == CHIP_OK && record_decode(r, &sets[*n]) == 0) {
            size_t k = (*n)++;
            uint8_t mask = r[102] & KEYSET_ABSENT_ALL;
            while (k > 0 && sets[k - 1].kvn > sets[k].kvn) {
                scp03_keyset t = sets[k - 1];
                sets[k - 1] = sets[k];
                sets[k] = t;
                scp03_wipe(&t, sizeof t);
                if (absent) absent[k] = absent[k - 1];
                k--;
            }
            if (absent) absent[k] = mask;
        }
        scp03_wipe(r, sizeof r);
        if (rc) return rc;
    }
    return CHIP_OK;
}

int keystore_load(const chip *c, scp03_keyset *sets, size_t cap, size_t *n)
{
    return keystore_load_masked(c, sets, NULL, cap, n);
}

int keystore_put_masked(chip *c, const scp03_keyset *ks, uint8_t absent)
{
    uint32_t off, size;
    int rc = CHIP_OK;
    if (chip_nvm_find(c, KIND_KEYSET, ks->kvn, 0, &off, &size) != CHIP_OK)
        rc = chip_nvm_alloc(c, KIND_KEYSET, ks->kvn, KEYSET_RECORD_SIZE, &off);
    if (rc) return rc;
    uint8_t r[KEYSET_RECORD_SIZE];
    record_encode(ks, absent, r);
    rc = chip_nvm_write(c, off, r, sizeof r);
    scp03_wipe(r, sizeof r);
    return rc;
}

int keystore_put(chip *c, const scp03_keyset *ks) { return keystore_put_masked(c, ks, 0); }

int keystore_delete(chip *c, uint8_t kvn)
{
    uint32_t off;
    if (chip_nvm_find(c, KIND_KEYSET, kvn, 0, &off, NULL) != CHIP_OK) return CHIP_ERR_RANGE;
    return chip_nvm_free(c, off);
}

int keystore_set_counter(chip *c, uint8_t kvn, uint32_t value)
{
    uint32_t off;
    if (chip_nvm_find(c, KIND_KEYSET, kvn, 0, &off, NULL) != CHIP_OK) return CHIP_ERR_RANGE;
    uint8_t v[4];
    for (int i = 0; i < 4; i++) v[i] = (uint8_t)(value >> (8 * i));
    return chip_nvm_write(c, off + 98, v, 4);
}

int keystore_put_common(chip *c, uint8_t id, const uint8_t *key, size_t len)
{
    if (len != 16 && len != 24 && len != 32) return CHIP_ERR_ARG;
    uint32_t off, size;
    int rc = CHIP_OK;
    if (chip_nvm_find(c, KIND_COMMON_KEY, id, 0, &off, &size) != CHIP_OK)
        rc = chip_nvm_alloc(c, KIND_COMMON_KEY, id, 33, &off);
    if (rc) return rc;
    uint8_t r[33] = {(uint8_t)len};
    memcpy(r + 1, key, len);
    rc = chip_nvm_write(c, off, r, sizeof r);
    scp03_wipe(r, sizeof r);
    return rc;
}

int keystore_get_common(const chip *c, uint8_t id, uint8_t *key, size_t *len)
{
    uint32_t off;
    if (chip_nvm_find(c, KIND_COMMON_KEY, id, 0, &off, NULL) != CHIP_OK) return CHIP_ERR_RANGE;
    uint8_t r[33];
    int rc = chip_nvm_read(c, off, r, sizeof r);
    if (rc == CHIP_OK && (r[0] == 16 || r[0] == 24 || r[0] == 32)) {
        memcpy(key, r + 1, r[0]);
        *len = r[0];
    } else if (rc == CHIP_OK) {
        rc = CHIP_ERR_RANGE;
    }
    scp03_wipe(r, sizeof r);
    return rc;
}
