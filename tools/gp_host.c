/* gp_host.c — GlobalPlatform content management, host side (gp_host.h). */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <tomcrypt.h>

#include "apdu.h"
#include "cap_format.h"
#include "gp_host.h"

#define RSP_MAX (65536 + 2)

void gp_default_keys(gp_keys *k)
{
    memset(k, 0, sizeof *k);
    k->kvn = 0x30;
    k->key_len = 16;
    for (int i = 0; i < 16; i++) k->enc[i] = k->mac[i] = k->dek[i] = (uint8_t)(0x40 + i);
}

void gp_init(gp_session *gp, transport *t, FILE *verbose)
{
    memset(gp, 0, sizeof *gp);
    gp->t = t;
    gp->verbose = verbose;
}

void gp_close(gp_session *gp)
{
    scp03_host_close(&gp->h);
    scp03_wipe(&gp->keys, sizeof gp->keys);
    gp->open = 0;
}

void gp_hex(FILE *f, const uint8_t *b, size_t n)
{
    for (size_t i = 0; i < n; i++) fprintf(f, "%02X", b[i]);
}

int gp_parse_hex(const char *s, uint8_t *out, size_t cap, size_t *len)
{
    size_t n = 0;
    int hi = -1;
    for (; *s; s++) {
        if (isspace((unsigned char)*s)) continue;
        int v;
        if (*s >= '0' && *s <= '9') v = *s - '0';
        else if (*s >= 'a' && *s <= 'f') v = *s - 'a' + 10;
        else if (*s >= 'A' && *s <= 'F') v = *s - 'A' + 10;
        else return -1;
        if (hi < 0) {
            hi = v;
        } else {
            if (n >= cap) return -1;
            out[n++] = (uint8_t)(hi << 4 | v);
            hi = -1;
        }
    }
    if (hi >= 0) return -1;
    *len = n;
    return 0;
}

static int raw(gp_session *gp, const uint8_t *cmd, size_t len, uint8_t *rsp, size_t cap, size_t *rlen)
{
    if (transport_transmit(gp->t, cmd, len, rsp, cap, rlen) != 0 || *rlen < 2) {
        snprintf(gp->err, sizeof gp->err, "no response from the card (%s)", transport_error(gp->t));
        return -1;
    }
    /* T=0 style chaining: collect the rest with GET RESPONSE */
    while (rsp[*rlen - 2] == 0x61) {
        uint8_t gr[5] = {0x00, 0xC0, 0x00, 0x00, rsp[*rlen - 1]};
        size_t n = *rlen - 2, m;
        if (cap - n < 258) { snprintf(gp->err, sizeof gp->err, "response too long"); return -1; }
        if (transport_transmit(gp->t, gr, 5, rsp + n, cap - n, &m) != 0 || m < 2) {
            snprintf(gp->err, sizeof gp->err, "GET RESPONSE failed (%s)", transport_error(gp->t));
            return -1;
        }
        *rlen = n + m;
    }
    return 0;
}

int gp_send(gp_session *gp, const uint8_t *apdu, size_t len, uint8_t *rsp, size_t cap, size_t *rlen,
            uint16_t *sw)
{
    uint8_t *buf = malloc(RSP_MAX), *cmd = malloc(len + SCP03_WRAP_OVERHEAD + 8);
    int rc = -1;
    size_t n = 0, clen = len;
    if (!buf || !cmd) { snprintf(gp->err, sizeof gp->err, "out of memory"); goto out; }
    if (gp->verbose) {
        fprintf(gp->verbose, "%s> ", gp->open ? "SCP03 " : "");
        gp_hex(gp->verbose, apdu, len);
        fputc('\n', gp->verbose);
    }
    memcpy(cmd, apdu, len);
    if (gp->open && scp03_host_wrap(&gp->h, apdu, len, cmd, len + SCP03_WRAP_OVERHEAD + 8, &clen) != SCP03_OK) {
        snprintf(gp->err, sizeof gp->err, "cannot wrap the command");
        goto out;
    }
    if (raw(gp, cmd, clen, buf, RSP_MAX, &n)) goto out;
    if (gp->open) {
        size_t dl = 0;
        int r = scp03_host_unwrap(&gp->h, buf, n, rsp, cap, &dl, sw);
        if (r != SCP03_OK) {
            snprintf(gp->err, sizeof gp->err, "response fails its R-MAC or cannot be decrypted (%d)", r);
            gp->open = 0;
            goto out;
        }
        *rlen = dl;
    } else {
        *sw = (uint16_t)(buf[n - 2] << 8 | buf[n - 1]);
        if (n - 2 > cap) { snprintf(gp->err, sizeof gp->err, "response too long"); goto out; }
        memcpy(rsp, buf, n - 2);
        *rlen = n - 2;
    }
    if (*sw == 0x6982 && gp->open) gp->open = 0;   /* the card aborted the session */
    if (gp->verbose) {
        fprintf(gp->verbose, "%s< ", gp->open ? "SCP03 " : "");
        gp_hex(gp->verbose, rsp, *rlen);
        fprintf(gp->verbose, "%04X\n", *sw);
    }
    rc = 0;
out:
    free(buf);
    free(cmd);
    return rc;
}

int gp_cmd(gp_session *gp, uint8_t cla, uint8_t ins, uint8_t p1, uint8_t p2, const uint8_t *data, size_t n,
           uint8_t *rsp, size_t cap, size_t *rlen, uint16_t *sw)
{
    uint8_t apdu[300];
    if (n > 255) { snprintf(gp->err, sizeof gp->err, "command data too long"); return -1; }
    apdu_command a = {.cla = cla, .ins = ins, .p1 = p1, .p2 = p2, .data = n ? data : NULL,
                      .nc = (uint32_t)n, .ne = 256};
    size_t len = apdu_encode(&a, apdu, sizeof apdu);
    if (!len) { snprintf(gp->err, sizeof gp->err, "cannot encode the command"); return -1; }
    size_t dummy;
    uint8_t tmp[512];
    if (!rsp) { rsp = tmp; cap = sizeof tmp; }
    return gp_send(gp, apdu, len, rsp, cap, rlen ? rlen : &dummy, sw);
}

int gp_select(gp_session *gp, const uint8_t *aid, size_t aid_len, uint8_t *rsp, size_t cap, size_t *rlen,
              uint16_t *sw)
{
    if (gp->open) gp_close(gp);
    return gp_cmd(gp, 0x00, 0xA4, 0x04, 0x00, aid, aid_len, rsp, cap, rlen, sw);
}

static void random_challenge(uint8_t hc[8])
{
    if (rng_get_bytes(hc, 8, NULL) != 8) {
        FILE *f = fopen("/dev/urandom", "rb");
        if (!f || fread(hc, 1, 8, f) != 8) memset(hc, 0x5A, 8);
        if (f) fclose(f);
    }
}

int gp_open(gp_session *gp, const gp_keys *keys, uint8_t level, const uint8_t *isd_aid, size_t isd_aid_len,
            uint16_t *sw)
{
    uint8_t rsp[512], apdu[64];
    size_t rl, n;
    gp_close(gp);
    if (gp_select(gp, isd_aid, isd_aid ? isd_aid_len : 0, rsp, sizeof rsp, &rl, sw)) return -1;
    if (*sw != 0x9000) return 0;
    gp->isd_aid_len = 0;
    if (isd_aid && isd_aid_len <= 16) {
        memcpy(gp->isd_aid, isd_aid, isd_aid_len);
        gp->isd_aid_len = (uint8_t)isd_aid_len;
    } else if (rl > 4 && rsp[0] == 0x6F && rsp[2] == 0x84 && rsp[3] <= 16 && (size_t)rsp[3] + 4 <= rl) {
        memcpy(gp->isd_aid, rsp + 4, rsp[3]);
        gp->isd_aid_len = rsp[3];
    }
    if (scp03_host_init(&gp->h, keys->enc, keys->mac, keys->key_len, gp->isd_aid_len ? gp->isd_aid : NULL,
                        gp->isd_aid_len) != SCP03_OK) {
        snprintf(gp->err, sizeof gp->err, "bad static keys");
        return -1;
    }
    gp->keys = *keys;
    uint8_t hc[8];
    random_challenge(hc);
    if (scp03_host_initialize_update(&gp->h, keys->kvn, hc, apdu, sizeof apdu, &n) != SCP03_OK) {
        snprintf(gp->err, sizeof gp->err, "cannot build INITIALIZE UPDATE");
        return -1;
    }
    if (gp->verbose) { fprintf(gp->verbose, "> "); gp_hex(gp->verbose, apdu, n); fputc('\n', gp->verbose); }
    if (raw(gp, apdu, n, rsp, sizeof rsp, &rl)) return -1;
    *sw = (uint16_t)(rsp[rl - 2] << 8 | rsp[rl - 1]);
    if (gp->verbose) { fprintf(gp->verbose, "< "); gp_hex(gp->verbose, rsp, rl); fputc('\n', gp->verbose); }
    if (*sw != 0x9000) return 0;
    int r = scp03_host_check_initialize_update_response(&gp->h, rsp, rl);
    if (r != SCP03_OK) {
        if (r == SCP03_ERR_AUTH || r == SCP03_ERR_CHALLENGE)
            snprintf(gp->err, sizeof gp->err, "card cryptogram mismatch: wrong keys");
        else
            snprintf(gp->err, sizeof gp->err, "unexpected INITIALIZE UPDATE response (%d)", r);
        return -1;
    }
    if (scp03_host_external_authenticate(&gp->h, level, apdu, sizeof apdu, &n) != SCP03_OK) {
        snprintf(gp->err, sizeof gp->err, "security level %02X not possible with this card", level);
        return -1;
    }
    if (gp->verbose) { fprintf(gp->verbose, "> "); gp_hex(gp->verbose, apdu, n); fputc('\n', gp->verbose); }
    if (raw(gp, apdu, n, rsp, sizeof rsp, &rl)) return -1;
    *sw = (uint16_t)(rsp[rl - 2] << 8 | rsp[rl - 1]);
    if (gp->verbose) { fprintf(gp->verbose, "< "); gp_hex(gp->verbose, rsp, rl); fputc('\n', gp->verbose); }
    if (*sw != 0x9000) return 0;
    gp->open = 1;
    gp->level = level;
    return 0;
}

/* ---- GET STATUS ---- */
const char *gp_state_name(uint8_t kind, uint8_t state)
{
    if (kind == 0x80) {
        switch (state) {
        case 0x01: return "OP_READY";
        case 0x07: return "INITIALIZED";
        case 0x0F: return "SECURED";
        case 0x7F: return "CARD_LOCKED";
        case 0xFF: return "TERMINATED";
        default: return "?";
        }
    }
    if (kind == 0x40) {
        if (state & 0x80) return "LOCKED";
        if (state == 0x03) return "INSTALLED";
        if ((state & 0x07) == 0x07) return "SELECTABLE";
        return "?";
    }
    return state == 0x01 ? "LOADED" : "?";
}

static int parse_e3(const uint8_t *p, size_t n, uint8_t kind, gp_entry *e)
{
    memset(e, 0, sizeof *e);
    e->kind = kind;
    size_t i = 0;
    while (i < n) {
        unsigned tag = p[i++];
        if ((tag & 0x1F) == 0x1F) {
            if (i >= n) return -1;
            tag = tag << 8 | p[i++];
        }
        if (i >= n) return -1;
        size_t l = p[i++];
        if (l > n - i) return -1;
        const uint8_t *v = p + i;
        switch (tag) {
        case 0x4F: if (l <= 16) { memcpy(e->aid, v, l); e->aid_len = (uint8_t)l; } break;
        case 0x9F70: if (l >= 1) e->state = v[0]; break;
        case 0xC5: memcpy(e->priv, v, l < 3 ? l : 3); break;
        case 0xC4: if (l <= 16) { memcpy(e->elf, v, l); e->elf_len = (uint8_t)l; } break;
        case 0xCE: if (l == 2) { memcpy(e->version, v, 2); e->has_version = 1; } break;
        case 0x84:
            if (l <= 16 && e->n_modules < 8) {
                e->modules[e->n_modules][0] = (uint8_t)l;
                memcpy(e->modules[e->n_modules] + 1, v, l);
                e->n_modules++;
            }
            break;
        default: break;
        }
        i += l;
    }
    return 0;
}

int gp_get_status(gp_session *gp, uint8_t p1, gp_entry *e, size_t cap, size_t *n, uint16_t *sw)
{
    static const uint8_t all[] = {0x4F, 0x00};
    uint8_t rsp[1024];
    size_t rl;
    uint8_t p2 = 0x02;
    *n = 0;
    for (;;) {
        if (gp_cmd(gp, 0x80, 0xF2, p1, p2, all, sizeof all, rsp, sizeof rsp, &rl, sw)) return -1;
        if (*sw == 0x6A88 && *n == 0) { *sw = 0x9000; return 0; }
        if (*sw != 0x9000 && *sw != 0x6310) return 0;
        size_t i = 0;
        while (i + 2 <= rl) {
            if (rsp[i] != 0xE3) { snprintf(gp->err, sizeof gp->err, "GET STATUS: no E3 template"); return -1; }
            size_t l = rsp[i + 1];
            if (l > rl - i - 2) { snprintf(gp->err, sizeof gp->err, "GET STATUS: bad length"); return -1; }
            if (*n < cap && parse_e3(rsp + i + 2, l, p1 == 0x10 ? 0x20 : p1, &e[*n]) == 0) (*n)++;
            i += 2 + l;
        }
        if (*sw == 0x9000) return 0;
        p2 = 0x03;
    }
}

/* ---- loading ---- */
static int cap_package_aids(const uint8_t *blob, size_t len, uint8_t aid[16], uint8_t *aid_len,
                            uint8_t applets[8][17], uint8_t *n_applets)
{
    cap_view v;
    char err[128];
    int rc = cap_parse(blob, len, &v, err, sizeof err);
    if (rc == 0) {
        memcpy(aid, v.pkg_aid.b, v.pkg_aid.len);
        *aid_len = v.pkg_aid.len;
        if (applets && n_applets) {
            *n_applets = 0;
            for (unsigned i = 0; i < v.applet_count && i < 8; i++) {
                applets[i][0] = v.applets[i].aid.len;
                memcpy(applets[i] + 1, v.applets[i].aid.b, v.applets[i].aid.len);
                (*n_applets)++;
            }
        }
    }
    cap_view_free(&v);
    return rc ? -1 : 0;
}

int gp_package_aids(const uint8_t *blob, size_t len, uint8_t aid[16], uint8_t *aid_len, uint8_t applets[8][17],
                    uint8_t *n_applets)
{
    if (!cap_is_load_file(blob, len)) return -1;
    return cap_package_aids(blob, len, aid, aid_len, applets, n_applets);
}

/* INSTALL (p1, p2 as given: [for load], or the first combined one) and
 * the LOAD blocks. */
static int load_blocks(gp_session *gp, uint8_t p1, uint8_t p2, const uint8_t *blob, size_t len, int with_hash,
                       uint16_t *sw, int *failed_block)
{
    uint8_t aid[16], al;
    *failed_block = -1;
    if (len > 0xFFFF) {
        snprintf(gp->err, sizeof gp->err, "package larger than 64 KiB");
        return -1;
    }
    if (gp_package_aids(blob, len, aid, &al, NULL, NULL)) {
        /* not well formed: send it anyway (the card is the judge) when the
         * header names an AID */
        if (cap_is_load_file(blob, len) && len >= 13 && blob[12] >= 5 && blob[12] <= 16 && len >= 13u + blob[12]) {
            /* Header component: tag, size, magic, CAP version, flags,
             * package version, AID length, AID */
            al = blob[12];
            memcpy(aid, blob + 13, al);
        } else {
            snprintf(gp->err, sizeof gp->err, "not a CAP load file");
            return -1;
        }
    }
    uint8_t d[128];
    size_t n = 0;
    d[n++] = al;
    memcpy(d + n, aid, al);
    n += al;
    d[n++] = gp->isd_aid_len;
    memcpy(d + n, gp->isd_aid, gp->isd_aid_len);
    n += gp->isd_aid_len;
    if (with_hash) {
        d[n++] = 32;
        hash_state hs;
        sha256_init(&hs);
        sha256_process(&hs, blob, (unsigned long)len);
        sha256_done(&hs, d + n);
        n += 32;
    } else {
        d[n++] = 0;
    }
    d[n++] = 0;   /* load parameters */
    d[n++] = 0;   /* token */
    if (gp_cmd(gp, 0x80, 0xE6, p1, p2, d, n, NULL, 0, NULL, sw)) return -1;
    if (*sw != 0x9000) return 0;
    /* Load File Data Block: C4 L <file>, in blocks that keep the wrapped
     * command short */
    size_t hl = len < 0x80 ? 2 : len < 0x100 ? 3 : 4;
    uint8_t *lf = malloc(len + hl);
    if (!lf) { snprintf(gp->err, sizeof gp->err, "out of memory"); return -1; }
    lf[0] = 0xC4;
    if (hl == 2) lf[1] = (uint8_t)len;
    else if (hl == 3) { lf[1] = 0x81; lf[2] = (uint8_t)len; }
    else { lf[1] = 0x82; lf[2] = (uint8_t)(len >> 8); lf[3] = (uint8_t)len; }
    memcpy(lf + hl, blob, len);
    size_t total = len + hl, block = (gp->open && (gp->level & SCP03_CDEC)) ? 239 : 247;
    int rc = 0;
    unsigned no = 0;
    for (size_t off = 0; off < total; off += block, no++) {
        size_t m = total - off < block ? total - off : block;
        int last = off + m == total;
        if (no > 255) { snprintf(gp->err, sizeof gp->err, "package too large for 256 blocks"); rc = -1; break; }
        if (gp_cmd(gp, 0x80, 0xE8, last ? 0x80 : 0x00, (uint8_t)no, lf + off, m, NULL, 0, NULL, sw)) {
            rc = -1;
            break;
        }
        if (*sw != 0x9000) {
            *failed_block = (int)no;
            break;
        }
    }
    free(lf);
    return rc;
}

int gp_load_package(gp_session *gp, const uint8_t *blob, size_t len, int with_hash, uint16_t *sw,
                    int *failed_block)
{
    return load_blocks(gp, 0x02, 0x00, blob, len, with_hash, sw, failed_block);
}

int gp_load_install(gp_session *gp, const uint8_t *blob, size_t len, int with_hash, const gp_install_req *inst,
                    uint16_t *sw, int *failed_block)
{
    if (load_blocks(gp, 0x0E, 0x01, blob, len, with_hash, sw, failed_block)) return -1;
    if (*sw != 0x9000) return 0;
    gp_install_req last = *inst;
    last.p1 = 0x0E;
    last.p2 = 0x03;
    *failed_block = -2;
    return gp_install_send(gp, &last, sw);
}

int gp_install(gp_session *gp, uint8_t p1, const uint8_t *pkg, size_t pkg_len, const uint8_t *applet,
               size_t applet_len, const uint8_t *instance, size_t instance_len, const uint8_t priv[3],
               const uint8_t *params, size_t params_len, uint16_t *sw)
{
    static const uint8_t nopriv[3] = {0};
    gp_install_req r = {p1, pkg, pkg_len, applet, applet_len, instance, instance_len, priv ? priv : nopriv, 3,
                        params, params_len, 0};
    return gp_install_send(gp, &r, sw);
}

int gp_install_send(gp_session *gp, const gp_install_req *r, uint16_t *sw)
{
    uint8_t d[255];
    size_t n = 0;
    static const uint8_t nopriv[1] = {0};
    const uint8_t *pkg = r->pkg, *applet = r->applet, *instance = r->instance, *priv = r->privs,
                  *params = r->params;
    size_t pkg_len = r->pkg_len, applet_len = r->applet_len, instance_len = r->instance_len,
           priv_len = r->privs_len, params_len = r->params_len;
    if (!instance) { instance = applet; instance_len = applet_len; }
    if (!priv) { priv = nopriv; priv_len = 1; }
    if (!pkg) pkg_len = 0;   /* the combined process's last INSTALL may leave it out */
    if (pkg_len > 16 || applet_len > 16 || instance_len > 16 || params_len > 180 || (priv_len != 1 && priv_len != 3)) {
        snprintf(gp->err, sizeof gp->err, "INSTALL: AID, privileges or parameters too long");
        return -1;
    }
    d[n++] = (uint8_t)pkg_len;
    if (pkg_len) memcpy(d + n, pkg, pkg_len);
    n += pkg_len;
    d[n++] = (uint8_t)applet_len; memcpy(d + n, applet, applet_len); n += applet_len;
    d[n++] = (uint8_t)instance_len; memcpy(d + n, instance, instance_len); n += instance_len;
    d[n++] = (uint8_t)priv_len; memcpy(d + n, priv, priv_len); n += priv_len;
    d[n++] = (uint8_t)(params_len + 2);
    d[n++] = 0xC9;
    d[n++] = (uint8_t)params_len;
    if (params_len) memcpy(d + n, params, params_len);
    n += params_len;
    d[n++] = 0;   /* token */
    return gp_cmd(gp, 0x80, 0xE6, r->p1, r->p2, d, n, NULL, 0, NULL, sw);
}

int gp_make_selectable(gp_session *gp, const uint8_t *aid, size_t aid_len, uint16_t *sw)
{
    uint8_t d[32];
    size_t n = 0;
    if (aid_len > 16) return -1;
    d[n++] = 0;
    d[n++] = 0;
    d[n++] = (uint8_t)aid_len;
    memcpy(d + n, aid, aid_len);
    n += aid_len;
    d[n++] = 0;
    d[n++] = 0;
    d[n++] = 0;
    return gp_cmd(gp, 0x80, 0xE6, 0x08, 0x00, d, n, NULL, 0, NULL, sw);
}

int gp_delete(gp_session *gp, const uint8_t *aid, size_t aid_len, int related, uint16_t *sw)
{
    uint8_t d[18] = {0x4F, (uint8_t)aid_len};
    if (aid_len > 16) return -1;
    memcpy(d + 2, aid, aid_len);
    return gp_cmd(gp, 0x80, 0xE4, 0x00, related ? 0x80 : 0x00, d, aid_len + 2, NULL, 0, NULL, sw);
}

int gp_put_key(gp_session *gp, uint8_t old_kvn, const gp_keys *nk, uint8_t kcv[10], uint16_t *sw)
{
    uint8_t d[SCP03_PUT_KEY_DATA_MAX], rsp[64];
    size_t n, rl = 0;
    if (!gp->open) { snprintf(gp->err, sizeof gp->err, "PUT KEY needs a secure channel"); return -1; }
    if (scp03_put_key_data(gp->keys.dek, gp->keys.key_len, nk->kvn, nk->enc, nk->mac, nk->dek, nk->key_len, d,
                           sizeof d, &n) != SCP03_OK) {
        snprintf(gp->err, sizeof gp->err, "cannot build the PUT KEY data");
        return -1;
    }
    int rc = gp_cmd(gp, 0x80, 0xD8, old_kvn, 0x81, d, n, rsp, sizeof rsp, &rl, sw);
    scp03_wipe(d, sizeof d);
    if (rc == 0 && kcv) {
        memset(kcv, 0, 10);
        memcpy(kcv, rsp, rl < 10 ? rl : 10);
    }
    return rc;
}

int gp_set_lock(gp_session *gp, const uint8_t *aid, size_t aid_len, int lock, uint16_t *sw)
{
    return gp_cmd(gp, 0x80, 0xF0, 0x40, lock ? 0x80 : 0x00, aid, aid_len, NULL, 0, NULL, sw);
}
