/*
 * SCP03 card side: INITIALIZE UPDATE, EXTERNAL AUTHENTICATE, command
 * unwrapping and response wrapping, session context export/import.
 *
 * Rules followed (Amendment D 5.6 and GPCS chapter 10):
 *  - a new INITIALIZE UPDATE terminates whatever session there was;
 *  - once a session is open, every command is checked against the level
 *    whatever its secure messaging indication says; any security error
 *    answers 6982, wipes the session and leaves it ABORTED, where every
 *    command but INITIALIZE UPDATE is refused until the caller resets;
 *  - the MAC chaining value and the encryption counter advance only for a
 *    command whose C-MAC verified;
 *  - responses with an error status word carry neither R-MAC nor data.
 */
#include "scp03_internal.h"

#include <string.h>

static const uint8_t zero16[16];

/* ---- small output helpers ---- */

static int reply_sw(uint8_t *out, size_t *out_len, uint16_t *sw, uint16_t code)
{
    out[0] = (uint8_t)(code >> 8);
    out[1] = (uint8_t)code;
    *out_len = 2;
    *sw = code;
    return SCP03_CARD_REPLY;
}

static void session_abort(scp03_card_session *s)
{
    scp03_wipe(s, sizeof *s);
    s->state = SCP03_STATE_ABORTED;
}

static int abort_reply(scp03_card_session *s, uint8_t *out, size_t *out_len, uint16_t *sw)
{
    session_abort(s);
    return reply_sw(out, out_len, sw, SCP03_SW_SECURITY);
}

static int pass_through(scp03_card_session *s, const uint8_t *apdu, size_t len, uint8_t *out,
                        size_t *out_len, uint16_t *sw)
{
    if (out != apdu && len != 0) {
        memmove(out, apdu, len);
    }
    *out_len = len;
    *sw = SCP03_SW_OK;
    s->rsp_pending = 0;
    return SCP03_CARD_PROCESS;
}

static int args_ok(const scp03_card_session *s, const uint8_t *apdu, size_t len, const uint8_t *out,
                   const size_t *out_len, uint16_t *sw)
{
    if (s == NULL || out == NULL || out_len == NULL || sw == NULL || (apdu == NULL && len != 0)) {
        if (sw != NULL) {
            *sw = SCP03_SW_INTERNAL;
        }
        return 0;
    }
    return 1;
}

/* ---- session bookkeeping ---- */

void scp03_card_abort(scp03_card_session *s)
{
    if (s != NULL && s->state != SCP03_STATE_NONE) {
        session_abort(s);
    }
}

void scp03_card_reset(scp03_card_session *s)
{
    if (s != NULL) {
        scp03_wipe(s, sizeof *s);
        s->state = SCP03_STATE_NONE;
    }
}

unsigned scp03_card_state(const scp03_card_session *s)
{
    if (s == NULL || s->state > SCP03_STATE_ABORTED) {
        return SCP03_STATE_ABORTED;
    }
    return s->state;
}

unsigned scp03_card_security_level(const scp03_card_session *s)
{
    if (s == NULL || s->state != SCP03_STATE_ACTIVE) {
        return 0;
    }
    return SCP03_AUTHENTICATED | s->level;
}

unsigned scp03_card_kvn(const scp03_card_session *s)
{
    if (s == NULL || (s->state != SCP03_STATE_ACTIVE && s->state != SCP03_STATE_PENDING)) {
        return 0;
    }
    return s->kvn;
}

/* Derives the session keys and cryptograms into s from the static keys. */
static int derive_session(scp03_card_session *s, const scp03_keyset *ks, uint8_t card_cryptogram[8])
{
    uint8_t ctx[16];
    memcpy(ctx, s->host_challenge, 8);
    memcpy(ctx + 8, s->card_challenge, 8);
    size_t kl = ks->key_len;
    int rc = scp03_derive(ks->enc, kl, SCP03_DD_S_ENC, ctx, 16, s->s_enc, kl);
    if (rc == SCP03_OK) rc = scp03_derive(ks->mac, kl, SCP03_DD_S_MAC, ctx, 16, s->s_mac, kl);
    if (rc == SCP03_OK && s->has_rmac)
        rc = scp03_derive(ks->mac, kl, SCP03_DD_S_RMAC, ctx, 16, s->s_rmac, kl);
    if (rc == SCP03_OK)
        rc = scp03_derive(s->s_mac, kl, SCP03_DD_CARD_CRYPTOGRAM, ctx, 16, card_cryptogram, 8);
    if (rc == SCP03_OK)
        rc = scp03_derive(s->s_mac, kl, SCP03_DD_HOST_CRYPTOGRAM, ctx, 16, s->host_cryptogram, 8);
    if (rc == SCP03_OK) rc = scp03_i_key_setup(&s->enc, s->s_enc, kl);
    if (rc == SCP03_OK) rc = scp03_i_key_setup(&s->mac, s->s_mac, kl);
    if (rc == SCP03_OK && s->has_rmac) rc = scp03_i_key_setup(&s->rmac, s->s_rmac, kl);
    return rc;
}

static const scp03_keyset *find_keyset(const scp03_card_config *cfg, uint8_t kvn, size_t *index)
{
    if (cfg->keysets == NULL || cfg->n_keysets == 0) {
        return NULL;
    }
    for (size_t i = 0; i < cfg->n_keysets; i++) {
        if (kvn == 0 || cfg->keysets[i].kvn == kvn) {
            *index = i;
            return &cfg->keysets[i];
        }
    }
    return NULL;
}

/* ---- INITIALIZE UPDATE ---- */

int scp03_card_initialize_update(scp03_card_session *s, const scp03_card_config *cfg,
                                 const uint8_t *apdu, size_t len,
                                 uint8_t *out, size_t out_cap, size_t *out_len, uint16_t *sw)
{
    if (!args_ok(s, apdu, len, out, out_len, sw) || cfg == NULL) {
        if (sw != NULL) *sw = SCP03_SW_INTERNAL;
        return SCP03_ERR_PARAM;
    }
    if (out_cap < SCP03_CARD_REPLY_MAX) {
        *sw = SCP03_SW_INTERNAL;
        return SCP03_ERR_BUFFER;
    }
    if (len < 4) {
        return reply_sw(out, out_len, sw, SCP03_SW_WRONG_LENGTH);
    }
    if (scp03_i_cla_secured(apdu[0])) {
        /* GPCS D.4.1: CLA 80-83; a secured INITIALIZE UPDATE is not one */
        return reply_sw(out, out_len, sw, SCP03_SW_CLA);
    }

    /* From here on this is an attempt to open a new session: the old one ends. */
    scp03_card_reset(s);

    scp03_apdu p;
    if (scp03_i_apdu_parse(apdu, len, &p) != 0 || p.nc != 8) {
        return reply_sw(out, out_len, sw, SCP03_SW_WRONG_LENGTH);
    }
    if (apdu[3] != 0x00) {
        return reply_sw(out, out_len, sw, SCP03_SW_WRONG_P1P2);
    }
    unsigned i_param = cfg->i_param;
    if (!scp03_i_i_param_ok(i_param) || cfg->aid == NULL || cfg->aid_len < SCP03_AID_MIN ||
        cfg->aid_len > SCP03_AID_MAX) {
        return reply_sw(out, out_len, sw, SCP03_SW_INTERNAL);
    }
    size_t ks_index = 0;
    const scp03_keyset *ks = find_keyset(cfg, apdu[2], &ks_index);
    if (ks == NULL || !scp03_i_key_len_ok(ks->key_len)) {
        return reply_sw(out, out_len, sw, SCP03_SW_NOT_FOUND);
    }

    int pseudo = (i_param & SCP03_I_PSEUDO_RANDOM) != 0;
    uint32_t seq = 0;
    if (pseudo) {
        if (cfg->commit_counter == NULL) {
            return reply_sw(out, out_len, sw, SCP03_SW_INTERNAL);
        }
        if (ks->counter >= SCP03_COUNTER_MAX) {
            return reply_sw(out, out_len, sw, SCP03_SW_CONDITIONS);
        }
        seq = ks->counter + 1u;
        /* durable first: a value that a power loss could undo is never used */
        if (cfg->commit_counter(cfg->commit_ctx, ks->kvn, seq) != 0) {
            return reply_sw(out, out_len, sw, SCP03_SW_MEMORY_FAILURE);
        }
        cfg->keysets[ks_index].counter = seq;
        uint8_t ctx[3 + SCP03_AID_MAX];
        ctx[0] = (uint8_t)(seq >> 16);
        ctx[1] = (uint8_t)(seq >> 8);
        ctx[2] = (uint8_t)seq;
        memcpy(ctx + 3, cfg->aid, cfg->aid_len);
        if (scp03_derive(ks->enc, ks->key_len, SCP03_DD_CARD_CHALLENGE, ctx, 3 + cfg->aid_len,
                         s->card_challenge, 8) != SCP03_OK) {
            scp03_card_reset(s);
            return reply_sw(out, out_len, sw, SCP03_SW_INTERNAL);
        }
    } else {
        if (cfg->random == NULL || cfg->random(cfg->random_ctx, s->card_challenge, 8) != 0) {
            scp03_card_reset(s);
            return reply_sw(out, out_len, sw, SCP03_SW_INTERNAL);
        }
    }

    memcpy(s->host_challenge, apdu + p.data_off, 8);
    s->i_param = (uint8_t)i_param;
    s->kvn = ks->kvn;
    s->key_len = ks->key_len;
    s->has_rmac = (i_param & SCP03_I_RMAC) != 0;

    uint8_t card_cryptogram[8];
    if (derive_session(s, ks, card_cryptogram) != SCP03_OK) {
        scp03_card_reset(s);
        scp03_wipe(card_cryptogram, sizeof card_cryptogram);
        return reply_sw(out, out_len, sw, SCP03_SW_INTERNAL);
    }
    s->state = SCP03_STATE_PENDING;

    size_t n = 0;
    memcpy(out, cfg->div_data, SCP03_DIV_DATA_LEN);
    n += SCP03_DIV_DATA_LEN;
    out[n++] = ks->kvn;
    out[n++] = 0x03;
    out[n++] = (uint8_t)i_param;
    memcpy(out + n, s->card_challenge, 8);
    n += 8;
    memcpy(out + n, card_cryptogram, 8);
    n += 8;
    if (pseudo) {
        out[n++] = (uint8_t)(seq >> 16);
        out[n++] = (uint8_t)(seq >> 8);
        out[n++] = (uint8_t)seq;
    }
    out[n++] = 0x90;
    out[n++] = 0x00;
    *out_len = n;
    *sw = SCP03_SW_OK;
    return SCP03_CARD_REPLY;
}

/* ---- EXTERNAL AUTHENTICATE ---- */

int scp03_card_external_authenticate(scp03_card_session *s, const uint8_t *apdu, size_t len,
                                     uint8_t *out, size_t out_cap, size_t *out_len, uint16_t *sw)
{
    if (!args_ok(s, apdu, len, out, out_len, sw)) {
        return SCP03_ERR_PARAM;
    }
    if (out_cap < 2) {
        *sw = SCP03_SW_INTERNAL;
        return SCP03_ERR_BUFFER;
    }
    if (s->state == SCP03_STATE_ABORTED) {
        return reply_sw(out, out_len, sw, SCP03_SW_SECURITY);
    }
    if (s->state != SCP03_STATE_PENDING) {
        return reply_sw(out, out_len, sw, SCP03_SW_CONDITIONS);
    }
    /* Every failure below restarts mutual authentication (Amendment D 5.2):
     * the pending session is dropped, a new INITIALIZE UPDATE is needed. */
    scp03_apdu p;
    if (len < 4 || scp03_i_apdu_parse(apdu, len, &p) != 0 || p.nc != 16) {
        scp03_card_reset(s);
        return reply_sw(out, out_len, sw, SCP03_SW_WRONG_LENGTH);
    }
    if (!scp03_i_cla_secured(apdu[0]) || scp03_i_cla_sm_unsupported(apdu[0])) {
        /* the C-MAC on EXTERNAL AUTHENTICATE is mandatory */
        return abort_reply(s, out, out_len, sw);
    }
    uint8_t level = apdu[2];
    if (apdu[3] != 0x00 || !scp03_i_level_ok(level, s->i_param)) {
        scp03_card_reset(s);
        return reply_sw(out, out_len, sw, SCP03_SW_WRONG_P1P2);
    }
    const uint8_t *data = apdu + p.data_off;
    if (!scp03_ct_equal(data, s->host_cryptogram, 8)) {
        scp03_card_reset(s);
        return reply_sw(out, out_len, sw, SCP03_SW_AUTH_FAILED);
    }
    uint8_t hdr[7];
    memcpy(hdr, apdu, p.data_off);
    hdr[0] = scp03_i_cla_for_mac(apdu[0]);
    uint8_t mac[16];
    if (scp03_i_cmac3(&s->mac, zero16, 16, hdr, p.data_off, data, 8, mac) != SCP03_OK ||
        !scp03_ct_equal(mac, data + 8, 8)) {
        scp03_wipe(mac, sizeof mac);
        return abort_reply(s, out, out_len, sw);
    }
    memcpy(s->chain, mac, 16);
    memset(s->counter, 0, sizeof s->counter);
    scp03_wipe(s->host_cryptogram, sizeof s->host_cryptogram);
    s->level = level;
    s->rsp_pending = 0;
    s->state = SCP03_STATE_ACTIVE;
    /* EXTERNAL AUTHENTICATE's response carries no R-MAC (Amendment D 6.2.5) */
    return reply_sw(out, out_len, sw, SCP03_SW_OK);
}

/* ---- commands inside an open session ---- */

static int unwrap_command(scp03_card_session *s, const uint8_t *apdu, size_t len, uint8_t *out,
                          size_t *out_len, uint16_t *sw)
{
    uint8_t cla = apdu[0];
    if (!scp03_i_cla_secured(cla)) {
        if (s->level & SCP03_CMAC) {
            /* security of the command below the session's level */
            return abort_reply(s, out, out_len, sw);
        }
        return pass_through(s, apdu, len, out, out_len, sw);
    }

    /* A secured command: its C-MAC is checked even at level 00 (the command
     * exceeds the level, which GP allows). Anything malformed is treated as
     * tampering, since a flipped length bit must not be a way out. */
    scp03_apdu p;
    if (scp03_i_cla_sm_unsupported(cla) || scp03_i_apdu_parse(apdu, len, &p) != 0 || p.nc < 8) {
        return abort_reply(s, out, out_len, sw);
    }
    size_t body = p.nc - 8;
    const uint8_t *data = apdu + p.data_off;
    uint8_t hdr[7];
    memcpy(hdr, apdu, p.data_off);
    hdr[0] = scp03_i_cla_for_mac(cla);
    uint8_t mac[16];
    if (scp03_i_cmac3(&s->mac, s->chain, 16, hdr, p.data_off, data, body, mac) != SCP03_OK ||
        !scp03_ct_equal(mac, data + body, 8)) {
        scp03_wipe(mac, sizeof mac);
        return abort_reply(s, out, out_len, sw);
    }
    memcpy(s->chain, mac, 16);
    scp03_i_ctr_inc(s->counter);

    /* save what the in-place rewrite could overwrite */
    uint8_t le[2] = { 0, 0 };
    if (p.le_len == 1) {
        le[0] = apdu[p.le_off];
    } else if (p.le_len == 2) {
        le[0] = apdu[p.le_off];
        le[1] = apdu[p.le_off + 1];
    }
    uint8_t ins = apdu[1], p1 = apdu[2], p2 = apdu[3];

    size_t plain = body;
    uint8_t *pdata = out + p.data_off;
    if ((s->level & SCP03_CDEC) && body != 0) {
        if ((body % 16u) != 0) {
            return abort_reply(s, out, out_len, sw);
        }
        if (scp03_i_cbc(&s->enc, s->counter, 1, data, pdata, body) != SCP03_OK) {
            return abort_reply(s, out, out_len, sw);
        }
        plain = scp03_i_unpad(pdata, body);
        if (plain == (size_t)-1) {
            scp03_wipe(pdata, body);
            return abort_reply(s, out, out_len, sw);
        }
    } else if (body != 0 && pdata != data) {
        memmove(pdata, data, body);
    }

    out[0] = scp03_i_cla_plain(cla);
    out[1] = ins;
    out[2] = p1;
    out[3] = p2;
    size_t n = 4;
    if (plain != 0) {
        n += scp03_i_put_lc(out + 4, plain, p.extended);
        n += plain;                       /* the data is already in place */
    }
    if (p.le_len != 0) {
        if (!p.extended) {
            out[n++] = le[0];
        } else {
            if (plain == 0) {
                out[n++] = 0x00;          /* extended case 2: 00 Le1 Le2 */
            }
            out[n++] = le[0];
            out[n++] = le[1];
        }
    }
    *out_len = n;
    *sw = SCP03_SW_OK;
    s->rsp_pending = 1;
    return SCP03_CARD_PROCESS;
}

int scp03_card_command(scp03_card_session *s, const scp03_card_config *cfg,
                       const uint8_t *apdu, size_t len,
                       uint8_t *out, size_t out_cap, size_t *out_len, uint16_t *sw)
{
    if (!args_ok(s, apdu, len, out, out_len, sw)) {
        return SCP03_ERR_PARAM;
    }
    if (out_cap < len || out_cap < SCP03_CARD_REPLY_MAX) {
        *sw = SCP03_SW_INTERNAL;
        return SCP03_ERR_BUFFER;
    }
    uintptr_t o = (uintptr_t)out, a = (uintptr_t)apdu;
    if (len != 0 && o != a && o < a + len && a < o + out_cap) {
        *sw = SCP03_SW_INTERNAL;          /* partial overlap: only exact in-place works */
        return SCP03_ERR_PARAM;
    }
    if (len < 4) {
        if (s->state == SCP03_STATE_ACTIVE) {
            return abort_reply(s, out, out_len, sw);   /* a truncated command in a session */
        }
        return reply_sw(out, out_len, sw, SCP03_SW_WRONG_LENGTH);
    }
    uint8_t cla = apdu[0], ins = apdu[1];
    if (cla == 0xFF) {
        /* Not a command at all; inside an open session it is one more way a
         * command can be wrong, and every such way closes the session. */
        if (s->state == SCP03_STATE_ACTIVE) {
            session_abort(s);
        }
        return reply_sw(out, out_len, sw, SCP03_SW_CLA);
    }
    if ((cla & 0x80u) && ins == 0x50 && !scp03_i_cla_secured(cla)) {
        if (cfg == NULL) {
            *sw = SCP03_SW_INTERNAL;
            return SCP03_ERR_PARAM;
        }
        return scp03_card_initialize_update(s, cfg, apdu, len, out, out_cap, out_len, sw);
    }
    switch (s->state) {
    case SCP03_STATE_NONE:
        if (scp03_i_cla_secured(cla)) {
            /* nothing to verify it with; refuse, but there is no session to abort */
            s->rsp_pending = 0;
            return reply_sw(out, out_len, sw, SCP03_SW_SECURITY);
        }
        return pass_through(s, apdu, len, out, out_len, sw);
    case SCP03_STATE_PENDING:
        if ((cla & 0x80u) && ins == 0x82) {
            return scp03_card_external_authenticate(s, apdu, len, out, out_cap, out_len, sw);
        }
        if (scp03_i_cla_secured(cla)) {
            return abort_reply(s, out, out_len, sw);
        }
        return pass_through(s, apdu, len, out, out_len, sw);
    case SCP03_STATE_ACTIVE:
        return unwrap_command(s, apdu, len, out, out_len, sw);
    default:
        /* ABORTED, or a corrupted state byte: refuse */
        return abort_reply(s, out, out_len, sw);
    }
}

/* ---- responses ---- */

/* The response cannot be protected (a corrupted schedule): nothing of it may
 * leave unprotected, so the answer becomes 6F00 and the session ends. */
static int wrap_failed(scp03_card_session *s, uint8_t *out, size_t n, size_t *out_len)
{
    scp03_wipe(out, n);
    session_abort(s);
    out[0] = (uint8_t)(SCP03_SW_INTERNAL >> 8);
    out[1] = (uint8_t)SCP03_SW_INTERNAL;
    *out_len = 2;
    return SCP03_ERR_CRYPTO;
}

int scp03_card_wrap_response(scp03_card_session *s, const uint8_t *data, size_t len, uint16_t sw,
                             uint8_t *out, size_t out_cap, size_t *out_len)
{
    if (s == NULL || out == NULL || out_len == NULL || (data == NULL && len != 0)) {
        return SCP03_ERR_PARAM;
    }
    if (out_cap < len + SCP03_WRAP_OVERHEAD + 2) {
        return SCP03_ERR_BUFFER;
    }
    int secured = s->rsp_pending && s->state == SCP03_STATE_ACTIVE;
    s->rsp_pending = 0;
    uint8_t swb[2] = { (uint8_t)(sw >> 8), (uint8_t)sw };

    if (!secured || !(s->level & SCP03_RMAC)) {
        if (len != 0 && out != data) {
            memmove(out, data, len);
        }
        out[len] = swb[0];
        out[len + 1] = swb[1];
        *out_len = len + 2;
        return SCP03_OK;
    }
    if (!scp03_i_sw_protected(sw)) {
        out[0] = swb[0];
        out[1] = swb[1];
        *out_len = 2;
        return SCP03_OK;
    }
    size_t n = len;
    if (len != 0 && out != data) {
        memmove(out, data, len);
    }
    if ((s->level & SCP03_RENC) && len != 0) {
        size_t pad = scp03_i_pad_len(len);
        out[len] = 0x80;
        memset(out + len + 1, 0, pad - 1);
        n = len + pad;
        uint8_t icv_in[16];
        memcpy(icv_in, s->counter, 16);
        icv_in[0] = 0x80;
        if (scp03_i_cbc(&s->enc, icv_in, 0, out, out, n) != SCP03_OK) {
            return wrap_failed(s, out, n, out_len);
        }
    }
    uint8_t mac[16];
    if (scp03_i_cmac3(&s->rmac, s->chain, 16, out, n, swb, 2, mac) != SCP03_OK) {
        return wrap_failed(s, out, n, out_len);
    }
    memcpy(out + n, mac, 8);
    out[n + 8] = swb[0];
    out[n + 9] = swb[1];
    *out_len = n + 10;
    return SCP03_OK;
}

/* ---- context as a value ---- */

int scp03_card_export_context(const scp03_card_session *s, scp03_context *ctx)
{
    if (s == NULL || ctx == NULL) {
        return SCP03_ERR_PARAM;
    }
    if (s->state != SCP03_STATE_ACTIVE) {
        return SCP03_ERR_STATE;
    }
    memset(ctx, 0, sizeof *ctx);
    ctx->key_len = s->key_len;
    ctx->level = s->level;
    ctx->has_rmac = s->has_rmac;
    memcpy(ctx->s_enc, s->s_enc, sizeof ctx->s_enc);
    memcpy(ctx->s_mac, s->s_mac, sizeof ctx->s_mac);
    if (s->has_rmac) {
        memcpy(ctx->s_rmac, s->s_rmac, sizeof ctx->s_rmac);
    }
    memcpy(ctx->next_counter, s->counter, 16);
    scp03_i_ctr_inc(ctx->next_counter);
    memcpy(ctx->chain, s->chain, 16);
    return SCP03_OK;
}

int scp03_card_import_context(scp03_card_session *s, const scp03_context *ctx)
{
    if (s == NULL || ctx == NULL || !scp03_i_key_len_ok(ctx->key_len) ||
        !scp03_i_level_ok(ctx->level, SCP03_I_RMAC | SCP03_I_RENC) ||
        ((ctx->level & SCP03_RMAC) && !ctx->has_rmac)) {
        return SCP03_ERR_PARAM;
    }
    scp03_card_session t;
    memset(&t, 0, sizeof t);
    size_t kl = ctx->key_len;
    int rc = scp03_i_key_setup(&t.enc, ctx->s_enc, kl);
    if (rc == SCP03_OK) rc = scp03_i_key_setup(&t.mac, ctx->s_mac, kl);
    if (rc == SCP03_OK && ctx->has_rmac) rc = scp03_i_key_setup(&t.rmac, ctx->s_rmac, kl);
    if (rc != SCP03_OK) {
        scp03_wipe(&t, sizeof t);
        return rc;
    }
    t.state = SCP03_STATE_ACTIVE;
    t.level = ctx->level;
    t.key_len = ctx->key_len;
    t.has_rmac = ctx->has_rmac ? 1 : 0;
    /* the caller's key set and i stay those of the session being replaced */
    t.kvn = (s->state == SCP03_STATE_ACTIVE) ? s->kvn : 0;
    t.i_param = (s->state == SCP03_STATE_ACTIVE) ? s->i_param : 0;
    memcpy(t.s_enc, ctx->s_enc, sizeof t.s_enc);
    memcpy(t.s_mac, ctx->s_mac, sizeof t.s_mac);
    if (ctx->has_rmac) {
        memcpy(t.s_rmac, ctx->s_rmac, sizeof t.s_rmac);
    }
    memcpy(t.counter, ctx->next_counter, 16);
    scp03_i_ctr_dec(t.counter);
    memcpy(t.chain, ctx->chain, 16);
    scp03_wipe(s, sizeof *s);
    memcpy(s, &t, sizeof t);
    scp03_wipe(&t, sizeof t);
    return SCP03_OK;
}
