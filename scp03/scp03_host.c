/*
 * SCP03 host side: the off-card entity of Amendment D. Builds INITIALIZE
 * UPDATE and EXTERNAL AUTHENTICATE, authenticates the card, wraps commands
 * and verifies/decrypts responses. Uses the same derivation, CMAC and CBC
 * code as the card side.
 */
#include "scp03_internal.h"

#include <string.h>

static const uint8_t zero16[16];

static void host_drop_session(scp03_host_session *h)
{
    /* forget everything but the static keys and the AID */
    h->level = 0;
    h->s_key_len = 0;
    h->i_param = 0;
    h->has_rmac = 0;
    h->sequence_counter = 0;
    scp03_wipe(h->card_challenge, sizeof h->card_challenge);
    scp03_wipe(h->counter, sizeof h->counter);
    scp03_wipe(h->chain, sizeof h->chain);
    scp03_wipe(h->s_enc, sizeof h->s_enc);
    scp03_wipe(h->s_mac, sizeof h->s_mac);
    scp03_wipe(h->s_rmac, sizeof h->s_rmac);
    scp03_wipe(&h->enc, sizeof h->enc);
    scp03_wipe(&h->mac, sizeof h->mac);
    scp03_wipe(&h->rmac, sizeof h->rmac);
}

int scp03_host_init(scp03_host_session *h, const uint8_t *key_enc, const uint8_t *key_mac,
                    size_t key_len, const uint8_t *aid, size_t aid_len)
{
    if (h == NULL || key_enc == NULL || key_mac == NULL || !scp03_i_key_len_ok(key_len) ||
        (aid_len != 0 && (aid == NULL || aid_len < SCP03_AID_MIN || aid_len > SCP03_AID_MAX))) {
        return SCP03_ERR_PARAM;
    }
    if (scp03_crypto_init() != SCP03_OK) {
        return SCP03_ERR_CRYPTO;
    }
    scp03_wipe(h, sizeof *h);
    h->key_len = (uint8_t)key_len;
    memcpy(h->key_enc, key_enc, key_len);
    memcpy(h->key_mac, key_mac, key_len);
    h->aid_len = (uint8_t)aid_len;
    if (aid_len != 0) {
        memcpy(h->aid, aid, aid_len);
    }
    h->state = SCP03_HOST_IDLE;
    return SCP03_OK;
}

void scp03_host_close(scp03_host_session *h)
{
    if (h != NULL) {
        scp03_wipe(h, sizeof *h);
    }
}

int scp03_host_initialize_update(scp03_host_session *h, uint8_t kvn, const uint8_t host_challenge[8],
                                 uint8_t *apdu, size_t cap, size_t *len)
{
    if (h == NULL || host_challenge == NULL || apdu == NULL || len == NULL ||
        !scp03_i_key_len_ok(h->key_len)) {
        return SCP03_ERR_PARAM;
    }
    if (cap < 14) {
        return SCP03_ERR_BUFFER;
    }
    host_drop_session(h);
    memcpy(h->host_challenge, host_challenge, 8);
    h->kvn = kvn;
    apdu[0] = 0x80;
    apdu[1] = 0x50;
    apdu[2] = kvn;
    apdu[3] = 0x00;
    apdu[4] = 0x08;
    memcpy(apdu + 5, host_challenge, 8);
    apdu[13] = 0x00;
    *len = 14;
    h->state = SCP03_HOST_INIT_SENT;
    return SCP03_OK;
}

/* Session keys from the static keys and both challenges. */
static int host_derive(scp03_host_session *h)
{
    uint8_t ctx[16];
    memcpy(ctx, h->host_challenge, 8);
    memcpy(ctx + 8, h->card_challenge, 8);
    size_t kl = h->key_len;
    h->s_key_len = h->key_len;
    h->has_rmac = (h->i_param & SCP03_I_RMAC) != 0;
    int rc = scp03_derive(h->key_enc, kl, SCP03_DD_S_ENC, ctx, 16, h->s_enc, kl);
    if (rc == SCP03_OK) rc = scp03_derive(h->key_mac, kl, SCP03_DD_S_MAC, ctx, 16, h->s_mac, kl);
    if (rc == SCP03_OK && h->has_rmac)
        rc = scp03_derive(h->key_mac, kl, SCP03_DD_S_RMAC, ctx, 16, h->s_rmac, kl);
    if (rc == SCP03_OK) rc = scp03_i_key_setup(&h->enc, h->s_enc, kl);
    if (rc == SCP03_OK) rc = scp03_i_key_setup(&h->mac, h->s_mac, kl);
    if (rc == SCP03_OK && h->has_rmac) rc = scp03_i_key_setup(&h->rmac, h->s_rmac, kl);
    return rc;
}

static int host_predict_challenge(const scp03_host_session *h, uint32_t counter, uint8_t out[8])
{
    uint8_t ctx[3 + SCP03_AID_MAX];
    ctx[0] = (uint8_t)(counter >> 16);
    ctx[1] = (uint8_t)(counter >> 8);
    ctx[2] = (uint8_t)counter;
    memcpy(ctx + 3, h->aid, h->aid_len);
    return scp03_derive(h->key_enc, h->key_len, SCP03_DD_CARD_CHALLENGE, ctx, 3u + h->aid_len,
                        out, 8);
}

int scp03_host_check_initialize_update_response(scp03_host_session *h, const uint8_t *rsp, size_t len)
{
    if (h == NULL || (rsp == NULL && len != 0)) {
        return SCP03_ERR_PARAM;
    }
    if (h->state != SCP03_HOST_INIT_SENT) {
        return SCP03_ERR_STATE;
    }
    h->state = SCP03_HOST_IDLE;  /* until everything checks out */
    if (len < 2) {
        return SCP03_ERR_FORMAT;
    }
    uint16_t sw = (uint16_t)((rsp[len - 2] << 8) | rsp[len - 1]);
    if (sw != SCP03_SW_OK) {
        return SCP03_ERR_SW;
    }
    size_t n = len - 2;
    if (n != 29 && n != 32) {
        return SCP03_ERR_FORMAT;
    }
    uint8_t kvn = rsp[10], scp = rsp[11], i_param = rsp[12];
    int pseudo = (i_param & SCP03_I_PSEUDO_RANDOM) != 0;
    if (scp != 0x03 || !scp03_i_i_param_ok(i_param) || (n == 32) != pseudo ||
        (h->kvn != 0 && kvn != h->kvn)) {
        return SCP03_ERR_FORMAT;
    }
    h->kvn = kvn;
    h->i_param = i_param;
    memcpy(h->card_challenge, rsp + 13, 8);
    if (pseudo) {
        h->sequence_counter = ((uint32_t)rsp[29] << 16) | ((uint32_t)rsp[30] << 8) | rsp[31];
        if (h->aid_len != 0) {
            uint8_t expect[8];
            int rc = host_predict_challenge(h, h->sequence_counter, expect);
            int same = rc == SCP03_OK && scp03_ct_equal(expect, h->card_challenge, 8);
            scp03_wipe(expect, sizeof expect);
            if (rc != SCP03_OK) {
                host_drop_session(h);
                return rc;
            }
            if (!same) {
                host_drop_session(h);
                return SCP03_ERR_CHALLENGE;
            }
        }
    }
    int rc = host_derive(h);
    uint8_t cryptogram[8];
    uint8_t ctx[16];
    memcpy(ctx, h->host_challenge, 8);
    memcpy(ctx + 8, h->card_challenge, 8);
    if (rc == SCP03_OK) {
        rc = scp03_derive(h->s_mac, h->s_key_len, SCP03_DD_CARD_CRYPTOGRAM, ctx, 16, cryptogram, 8);
    }
    if (rc == SCP03_OK && !scp03_ct_equal(cryptogram, rsp + 21, 8)) {
        rc = SCP03_ERR_AUTH;
    }
    scp03_wipe(cryptogram, sizeof cryptogram);
    if (rc != SCP03_OK) {
        host_drop_session(h);
        return rc;
    }
    h->state = SCP03_HOST_CARD_OK;
    return SCP03_OK;
}

int scp03_host_begin_offline(scp03_host_session *h, uint8_t kvn, uint8_t i_param,
                             uint32_t counter, const uint8_t host_challenge[8])
{
    if (h == NULL || host_challenge == NULL || !scp03_i_key_len_ok(h->key_len) ||
        !scp03_i_i_param_ok(i_param) || !(i_param & SCP03_I_PSEUDO_RANDOM) || h->aid_len == 0 ||
        counter == 0 || counter > SCP03_COUNTER_MAX) {
        return SCP03_ERR_PARAM;
    }
    host_drop_session(h);
    memcpy(h->host_challenge, host_challenge, 8);
    h->kvn = kvn;
    h->i_param = i_param;
    h->sequence_counter = counter;
    int rc = host_predict_challenge(h, counter, h->card_challenge);
    if (rc == SCP03_OK) {
        rc = host_derive(h);
    }
    if (rc != SCP03_OK) {
        host_drop_session(h);
        h->state = SCP03_HOST_IDLE;
        return rc;
    }
    h->state = SCP03_HOST_CARD_OK;
    return SCP03_OK;
}

int scp03_host_external_authenticate(scp03_host_session *h, uint8_t level,
                                     uint8_t *apdu, size_t cap, size_t *len)
{
    if (h == NULL || apdu == NULL || len == NULL) {
        return SCP03_ERR_PARAM;
    }
    if (h->state != SCP03_HOST_CARD_OK) {
        return SCP03_ERR_STATE;
    }
    if (!scp03_i_level_ok(level, h->i_param)) {
        return SCP03_ERR_PARAM;
    }
    if (cap < 21) {
        return SCP03_ERR_BUFFER;
    }
    uint8_t ctx[16];
    memcpy(ctx, h->host_challenge, 8);
    memcpy(ctx + 8, h->card_challenge, 8);
    apdu[0] = 0x84;
    apdu[1] = 0x82;
    apdu[2] = level;
    apdu[3] = 0x00;
    apdu[4] = 0x10;
    int rc = scp03_derive(h->s_mac, h->s_key_len, SCP03_DD_HOST_CRYPTOGRAM, ctx, 16, apdu + 5, 8);
    uint8_t mac[16];
    if (rc == SCP03_OK) {
        rc = scp03_i_cmac3(&h->mac, zero16, 16, apdu, 5, apdu + 5, 8, mac);
    }
    if (rc != SCP03_OK) {
        return rc;
    }
    memcpy(apdu + 13, mac, 8);
    memcpy(h->chain, mac, 16);
    memset(h->counter, 0, sizeof h->counter);
    h->level = level;
    h->state = SCP03_HOST_ACTIVE;
    *len = 21;
    return SCP03_OK;
}

int scp03_host_wrap(scp03_host_session *h, const uint8_t *plain, size_t len,
                    uint8_t *out, size_t cap, size_t *out_len)
{
    if (h == NULL || plain == NULL || out == NULL || out_len == NULL) {
        return SCP03_ERR_PARAM;
    }
    if (h->state != SCP03_HOST_ACTIVE) {
        return SCP03_ERR_STATE;
    }
    scp03_apdu p;
    if (scp03_i_apdu_parse(plain, len, &p) != 0 || plain[0] == 0xFF ||
        scp03_i_cla_secured(plain[0])) {
        return SCP03_ERR_FORMAT;
    }
    if (!(h->level & SCP03_CMAC)) {
        if (cap < len) {
            return SCP03_ERR_BUFFER;
        }
        if (out != plain) {
            memmove(out, plain, len);
        }
        *out_len = len;
        return SCP03_OK;
    }
    int enc = (h->level & SCP03_CDEC) && p.nc != 0;
    size_t body = enc ? p.nc + scp03_i_pad_len(p.nc) : p.nc;
    size_t nc = body + 8;
    if (nc > 0xFFFFu) {
        return SCP03_ERR_PARAM;
    }
    int ext = p.extended || nc > 255;
    uint8_t le[2];
    size_t le_n = 0;
    if (p.le_len == 1 && !ext) {
        le[0] = plain[p.le_off];
        le_n = 1;
    } else if (p.le_len == 1) {
        le[0] = 0x00;                         /* short Le in extended form; 00 stays "maximum" */
        le[1] = plain[p.le_off];
        le_n = 2;
    } else if (p.le_len == 2) {
        le[0] = plain[p.le_off];
        le[1] = plain[p.le_off + 1];
        le_n = 2;
    } else if (p.le_len == 3) {
        le[0] = plain[p.le_off + 1];
        le[1] = plain[p.le_off + 2];
        le_n = 2;
    }
    size_t data_off = ext ? 7 : 5;
    size_t total = data_off + nc + le_n;
    if (cap < total) {
        return SCP03_ERR_BUFFER;
    }
    uint8_t hdr[4] = { scp03_i_cla_sm(plain[0]), plain[1], plain[2], plain[3] };
    if (p.nc != 0) {
        memmove(out + data_off, plain + p.data_off, p.nc);
    }
    memcpy(out, hdr, 4);
    scp03_i_put_lc(out + 4, nc, ext);

    scp03_i_ctr_inc(h->counter);
    if (enc) {
        out[data_off + p.nc] = 0x80;
        memset(out + data_off + p.nc + 1, 0, body - p.nc - 1);
        int rc = scp03_i_cbc(&h->enc, h->counter, 0, out + data_off, out + data_off, body);
        if (rc != SCP03_OK) {
            scp03_wipe(out, total);
            return rc;
        }
    }
    uint8_t mhdr[7];
    memcpy(mhdr, out, data_off);
    mhdr[0] = scp03_i_cla_for_mac(out[0]);
    uint8_t mac[16];
    int rc = scp03_i_cmac3(&h->mac, h->chain, 16, mhdr, data_off, out + data_off, body, mac);
    if (rc != SCP03_OK) {
        scp03_wipe(out, total);
        return rc;
    }
    memcpy(h->chain, mac, 16);
    memcpy(out + data_off + body, mac, 8);
    if (le_n != 0) {
        memcpy(out + data_off + nc, le, le_n);
    }
    *out_len = total;
    return SCP03_OK;
}

int scp03_host_unwrap(scp03_host_session *h, const uint8_t *rsp, size_t len,
                      uint8_t *data, size_t cap, size_t *data_len, uint16_t *sw)
{
    if (h == NULL || rsp == NULL || data == NULL || data_len == NULL || sw == NULL) {
        return SCP03_ERR_PARAM;
    }
    if (h->state != SCP03_HOST_ACTIVE) {
        return SCP03_ERR_STATE;
    }
    if (len < 2) {
        return SCP03_ERR_FORMAT;
    }
    size_t body = len - 2;
    uint8_t swb[2] = { rsp[len - 2], rsp[len - 1] };
    uint16_t status = (uint16_t)((swb[0] << 8) | swb[1]);
    if (!(h->level & SCP03_RMAC)) {
        if (cap < body) {
            return SCP03_ERR_BUFFER;
        }
        if (body != 0 && data != rsp) {
            memmove(data, rsp, body);
        }
        *data_len = body;
        *sw = status;
        return SCP03_OK;
    }
    if (!scp03_i_sw_protected(status)) {
        /* error status words come bare; data next to one would be unprotected */
        if (body != 0) {
            return SCP03_ERR_FORMAT;
        }
        *data_len = 0;
        *sw = status;
        return SCP03_OK;
    }
    if (body < 8) {
        h->state = SCP03_HOST_FAILED;
        return SCP03_ERR_AUTH;
    }
    size_t n = body - 8;
    if (cap < n) {
        return SCP03_ERR_BUFFER;
    }
    uint8_t mac[16];
    int rc = scp03_i_cmac3(&h->rmac, h->chain, 16, rsp, n, swb, 2, mac);
    if (rc != SCP03_OK) {
        return rc;
    }
    if (!scp03_ct_equal(mac, rsp + n, 8)) {
        h->state = SCP03_HOST_FAILED;
        return SCP03_ERR_AUTH;
    }
    size_t plain = n;
    if ((h->level & SCP03_RENC) && n != 0) {
        if ((n % 16u) != 0) {
            h->state = SCP03_HOST_FAILED;
            return SCP03_ERR_FORMAT;
        }
        uint8_t icv_in[16];
        memcpy(icv_in, h->counter, 16);
        icv_in[0] = 0x80;
        rc = scp03_i_cbc(&h->enc, icv_in, 1, rsp, data, n);
        if (rc == SCP03_OK) {
            plain = scp03_i_unpad(data, n);
        }
        if (rc != SCP03_OK || plain == (size_t)-1) {
            scp03_wipe(data, n);
            h->state = SCP03_HOST_FAILED;
            return rc != SCP03_OK ? rc : SCP03_ERR_FORMAT;
        }
    } else if (n != 0 && data != rsp) {
        memmove(data, rsp, n);
    }
    *data_len = plain;
    *sw = status;
    return SCP03_OK;
}

int scp03_host_export_context(const scp03_host_session *h, scp03_context *ctx)
{
    if (h == NULL || ctx == NULL) {
        return SCP03_ERR_PARAM;
    }
    if (h->state != SCP03_HOST_ACTIVE) {
        return SCP03_ERR_STATE;
    }
    memset(ctx, 0, sizeof *ctx);
    ctx->key_len = h->s_key_len;
    ctx->level = h->level;
    ctx->has_rmac = h->has_rmac;
    memcpy(ctx->s_enc, h->s_enc, sizeof ctx->s_enc);
    memcpy(ctx->s_mac, h->s_mac, sizeof ctx->s_mac);
    if (h->has_rmac) {
        memcpy(ctx->s_rmac, h->s_rmac, sizeof ctx->s_rmac);
    }
    memcpy(ctx->next_counter, h->counter, 16);
    scp03_i_ctr_inc(ctx->next_counter);
    memcpy(ctx->chain, h->chain, 16);
    return SCP03_OK;
}

int scp03_host_import_context(scp03_host_session *h, const scp03_context *ctx)
{
    if (h == NULL || ctx == NULL || !scp03_i_key_len_ok(ctx->key_len) ||
        !scp03_i_level_ok(ctx->level, SCP03_I_RMAC | SCP03_I_RENC) ||
        ((ctx->level & SCP03_RMAC) && !ctx->has_rmac)) {
        return SCP03_ERR_PARAM;
    }
    scp03_aes_key e, m, r;
    size_t kl = ctx->key_len;
    int rc = scp03_i_key_setup(&e, ctx->s_enc, kl);
    if (rc == SCP03_OK) rc = scp03_i_key_setup(&m, ctx->s_mac, kl);
    if (rc == SCP03_OK && ctx->has_rmac) rc = scp03_i_key_setup(&r, ctx->s_rmac, kl);
    if (rc == SCP03_OK) {
        /* the static keys stay: they belong to the key set, not the channel */
        host_drop_session(h);
        h->s_key_len = ctx->key_len;
        h->enc = e;
        h->mac = m;
        if (ctx->has_rmac) {
            h->rmac = r;
        }
        h->level = ctx->level;
        h->has_rmac = ctx->has_rmac ? 1 : 0;
        memcpy(h->s_enc, ctx->s_enc, sizeof h->s_enc);
        memcpy(h->s_mac, ctx->s_mac, sizeof h->s_mac);
        if (ctx->has_rmac) {
            memcpy(h->s_rmac, ctx->s_rmac, sizeof h->s_rmac);
        }
        memcpy(h->counter, ctx->next_counter, 16);
        scp03_i_ctr_dec(h->counter);
        memcpy(h->chain, ctx->chain, 16);
        h->state = SCP03_HOST_ACTIVE;
    }
    scp03_wipe(&e, sizeof e);
    scp03_wipe(&m, sizeof m);
    scp03_wipe(&r, sizeof r);
    return rc;
}
