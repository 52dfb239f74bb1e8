/*
 * AES keys in the GlobalPlatform PUT KEY key data field, encrypted with the
 * static Key-DEK (Amendment D 6.2.8 and 7.2; GPCS 11.8.2.3).
 *
 * The key is encrypted with AES-CBC and a zero ICV. 16- and 32-byte keys
 * need no padding; a 24-byte key is padded to 32 (Amendment D allows
 * arbitrary pad bytes; zeros here, so the output is reproducible). On the
 * way in both Key Component Block forms are accepted: with a length byte
 * (Table 7-10, '11'/'21') and without (Table 11-71, '10'/'20').
 */
#include "scp03_internal.h"

#include <string.h>

int scp03_key_block_encrypt(const uint8_t *dek, size_t dek_len,
                            const uint8_t *key, size_t key_len,
                            uint8_t *out, size_t out_cap, size_t *out_len)
{
    if (dek == NULL || key == NULL || out == NULL || out_len == NULL ||
        !scp03_i_key_len_ok(dek_len) || !scp03_i_key_len_ok(key_len)) {
        return SCP03_ERR_PARAM;
    }
    size_t enc_len = key_len == 16 ? 16 : 32;
    size_t total = 3 + enc_len + 1 + 3;
    if (out_cap < total) {
        return SCP03_ERR_BUFFER;
    }
    uint8_t buf[32];
    memset(buf, 0, sizeof buf);
    memcpy(buf, key, key_len);
    uint8_t kcv[3];
    int rc = scp03_kcv(key, key_len, kcv);
    if (rc == SCP03_OK) {
        rc = scp03_i_cbc_raw(dek, dek_len, 0, buf, buf, enc_len);
    }
    if (rc == SCP03_OK) {
        out[0] = 0x88;
        out[1] = (uint8_t)(1 + enc_len);
        out[2] = (uint8_t)key_len;
        memcpy(out + 3, buf, enc_len);
        out[3 + enc_len] = 0x03;
        memcpy(out + 4 + enc_len, kcv, 3);
        *out_len = total;
    }
    scp03_wipe(buf, sizeof buf);
    return rc;
}

int scp03_key_block_decrypt(const uint8_t *dek, size_t dek_len,
                            const uint8_t *in, size_t in_len, size_t *consumed,
                            uint8_t key_out[SCP03_KEY_MAX], size_t *key_len)
{
    if (dek == NULL || in == NULL || consumed == NULL || key_out == NULL || key_len == NULL ||
        !scp03_i_key_len_ok(dek_len)) {
        return SCP03_ERR_PARAM;
    }
    scp03_wipe(key_out, SCP03_KEY_MAX);
    if (in_len < 2 || in[0] != 0x88) {
        return SCP03_ERR_FORMAT;
    }
    size_t block = in[1];
    size_t off = 2;               /* start of the encrypted value */
    size_t klen, enc_len;
    if (block == 0x10 || block == 0x20) {
        klen = enc_len = block;
    } else if (block == 0x11 || block == 0x21) {
        if (in_len < 3) {
            return SCP03_ERR_FORMAT;
        }
        klen = in[2];
        enc_len = block - 1;
        off = 3;
        if (!scp03_i_key_len_ok(klen) || (klen == 16) != (enc_len == 16)) {
            return SCP03_ERR_FORMAT;
        }
    } else {
        return SCP03_ERR_FORMAT;
    }
    size_t kcv_off = 2 + block;
    if (in_len < kcv_off + 1 + 3 || in[kcv_off] != 0x03) {
        return SCP03_ERR_FORMAT;
    }
    uint8_t buf[32];
    uint8_t kcv[3];
    int rc = scp03_i_cbc_raw(dek, dek_len, 1, in + off, buf, enc_len);
    if (rc == SCP03_OK) {
        rc = scp03_kcv(buf, klen, kcv);
    }
    if (rc == SCP03_OK && !scp03_ct_equal(kcv, in + kcv_off + 1, 3)) {
        rc = SCP03_ERR_AUTH;
    }
    if (rc == SCP03_OK) {
        memcpy(key_out, buf, klen);
        *key_len = klen;
        *consumed = kcv_off + 1 + 3;
    }
    scp03_wipe(buf, sizeof buf);
    return rc;
}

int scp03_put_key_data(const uint8_t *dek, size_t dek_len, uint8_t new_kvn,
                       const uint8_t *key_enc, const uint8_t *key_mac, const uint8_t *key_dek,
                       size_t key_len, uint8_t *out, size_t out_cap, size_t *out_len)
{
    if (out == NULL || out_len == NULL || key_enc == NULL || key_mac == NULL || key_dek == NULL) {
        return SCP03_ERR_PARAM;
    }
    if (out_cap < 1) {
        return SCP03_ERR_BUFFER;
    }
    const uint8_t *keys[3] = { key_enc, key_mac, key_dek };
    size_t n = 0;
    out[n++] = new_kvn;
    for (int i = 0; i < 3; i++) {
        size_t m = 0;
        int rc = scp03_key_block_encrypt(dek, dek_len, keys[i], key_len, out + n, out_cap - n, &m);
        if (rc != SCP03_OK) {
            scp03_wipe(out, out_cap);
            return rc;
        }
        n += m;
    }
    *out_len = n;
    return SCP03_OK;
}
