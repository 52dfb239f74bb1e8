/* lifecycle.c — a card's life through APDUs (see lifecycle.h). */
#include "lifecycle.h"

#include <stdlib.h>
#include <string.h>

#include "apdu.h"
#include "card.h"
#include "scp03.h"

void lifecycle_defaults(lifecycle_params *p)
{
    memset(p, 0, sizeof *p);
    for (int i = 0; i < 32; i++) p->unlock_key[i] = (uint8_t)(0xC0 + i);
    p->serial[7] = 1;
    static const uint8_t isd[] = {0xA0, 0x00, 0x00, 0x01, 0x51, 0x00, 0x00, 0x00};
    memcpy(p->isd_aid, isd, sizeof isd);
    p->isd_aid_len = sizeof isd;
    p->scp_i = 0x70;
    p->n_keysets = 1;
    p->keysets[0].kvn = 0x30;
    p->keysets[0].key_len = 16;
    for (int i = 0; i < 16; i++)
        p->keysets[0].enc[i] = p->keysets[0].mac[i] = p->keysets[0].dek[i] = (uint8_t)(0x40 + i);
}

/* The masked "os" package serves two ISD commands through vector slots:
 * 80 F0 GET OS VERSION (slot 0) and 80 F4 OS CHECKSUM (slot 1). */
static const loader_vectored_command default_vectored[] = {{0xF0, 0}, {0xF4, 1}};

void lifecycle_mask_defaults(loader_mask_params *m)
{
    static const uint8_t *masked[1];
    static size_t masked_len[1];
    masked[0] = example_masked_os_package;
    masked_len[0] = example_masked_os_package_len;
    memset(m, 0, sizeof *m);
    chip_geometry_default(&m->geometry);
    m->masked = masked;
    m->masked_len = masked_len;
    m->n_masked = 1;
    m->vectored = default_vectored;
    m->n_vectored = sizeof default_vectored / sizeof default_vectored[0];
}

int lifecycle_apdu(transport *t, FILE *log, const char *name, const uint8_t *cmd, size_t len,
                   uint8_t *rsp, size_t *rsp_len)
{
    uint8_t *buf = malloc(CARD_MAX_RESPONSE);
    size_t n = 0;
    int sw = -1;
    if (buf && transport_transmit(t, cmd, len, buf, CARD_MAX_RESPONSE, &n) == 0 && n >= 2) {
        sw = buf[n - 2] << 8 | buf[n - 1];
        if (rsp) memcpy(rsp, buf, n - 2);
        if (rsp_len) *rsp_len = n - 2;
    }
    if (log) {
        fprintf(log, "  %-24s ", name);
        size_t shown = len > 24 ? 24 : len;
        for (size_t i = 0; i < shown; i++) fprintf(log, "%02X", cmd[i]);
        if (shown < len) fprintf(log, "...(%zu bytes)", len);
        if (sw >= 0) fprintf(log, "  -> %04X\n", sw);
        else fprintf(log, "  -> no response\n");
    }
    free(buf);
    return sw;
}

static int expect(transport *t, FILE *log, const char *name, const uint8_t *cmd, size_t len, int want)
{
    int sw = lifecycle_apdu(t, log, name, cmd, len, NULL, NULL);
    if (sw != want) {
        fprintf(stderr, "cardvm: %s answered %04X, expected %04X\n", name, sw < 0 ? 0 : sw, want);
        return -1;
    }
    return 0;
}

static size_t mk(uint8_t *b, uint8_t ins, uint8_t p1, uint8_t p2, const uint8_t *data, size_t n)
{
    /* Le = 00 on the commands that answer data, so no GET RESPONSE is needed. */
    apdu_command c = {.cla = 0x80, .ins = ins, .p1 = p1, .p2 = p2, .data = data, .nc = (uint32_t)n,
                      .ne = ins == 0x10 ? 256u : 0u};
    return apdu_encode(&c, b, 300);
}

/* LOAD a package to the customization software in blocks of at most 240
 * bytes; the first block starts with C4 and the package length. */
static int load_package(transport *t, FILE *log, const uint8_t *pkg, size_t len)
{
    uint8_t block[250], cmd[300];
    size_t pos = 0;
    unsigned blockno = 0;
    while (pos < len || blockno == 0) {
        size_t n = 0;
        if (blockno == 0) {
            block[n++] = 0xC4;
            if (len < 128) block[n++] = (uint8_t)len;
            else if (len < 256) { block[n++] = 0x81; block[n++] = (uint8_t)len; }
            else { block[n++] = 0x82; block[n++] = (uint8_t)(len >> 8); block[n++] = (uint8_t)len; }
        }
        size_t take = len - pos < 240 - n ? len - pos : 240 - n;
        memcpy(block + n, pkg + pos, take);
        n += take;
        pos += take;
        int last = pos == len;
        char name[40];
        snprintf(name, sizeof name, "LOAD PACKAGE block %u", blockno);
        if (expect(t, log, name, cmd, mk(cmd, 0x32, (uint8_t)blockno, last ? 0x80 : 0x00, block, n), 0x9000))
            return -1;
        blockno++;
        if (blockno > 255) return -1;
    }
    return 0;
}

int lifecycle_mount(transport *t, const lifecycle_params *p, FILE *log)
{
    uint8_t cmd[300], rsp[512];
    size_t rlen;
    if (log) fprintf(log, "card mounter (no key):\n");
    if (lifecycle_apdu(t, log, "SELF TEST", cmd, mk(cmd, 0x10, 0, 0, NULL, 0), rsp, &rlen) != 0x9000 ||
        rlen != 12 || rsp[3] || rsp[7] || rsp[11]) {
        fprintf(stderr, "cardvm: SELF TEST failed\n");
        return -1;
    }
    return expect(t, log, "WRITE SERIAL NUMBER", cmd, mk(cmd, 0x12, 0, 0, p->serial, 8), 0x9000);
}

int lifecycle_customize(transport *t, const lifecycle_params *p, FILE *log)
{
    uint8_t cmd[300], data[256];
    if (log) fprintf(log, "client (unlocking key and hash code):\n");
    memcpy(data, p->unlock_key, 32);
    memcpy(data + 32, p->hash_code, 32);
    int rc = expect(t, log, "UNLOCK", cmd, mk(cmd, 0x14, 0, 0, data, 64), 0x9000);
    scp03_wipe(data, 64);
    if (rc) return -1;

    uint8_t kt[16];
    loader_transport_key(p->unlock_key, kt);
    size_t n = 0;
    data[n++] = p->scp_i;
    data[n++] = p->isd_aid_len;
    memcpy(data + n, p->isd_aid, p->isd_aid_len);
    n += p->isd_aid_len;
    memcpy(data + n, p->div_data, 10);
    n += 10;
    rc = expect(t, log, "SET SECURITY DOMAIN", cmd, mk(cmd, 0x3A, 0, 0, data, n), 0x9000);
    for (size_t k = 0; !rc && k < p->n_keysets; k++) {
        const lifecycle_keyset *ks = &p->keysets[k];
        size_t dl;
        if (scp03_put_key_data(kt, 16, ks->kvn, ks->enc, ks->mac, ks->dek, ks->key_len, data, sizeof data, &dl)) {
            rc = -1;
            break;
        }
        rc = expect(t, log, "PUT KEY SET", cmd, mk(cmd, 0x36, 0, 0, data, dl), 0x9000);
    }
    const struct { int has; const uint8_t *key; uint8_t id; const char *name; } common[] = {
        {p->has_kos, p->kos, 1, "PUT COMMON KEY Kos"}, {p->has_kmac, p->kmac, 2, "PUT COMMON KEY K-MAC"}};
    for (int i = 0; !rc && i < 2; i++) {
        if (!common[i].has) continue;
        size_t dl;
        if (scp03_key_block_encrypt(kt, 16, common[i].key, 16, data, sizeof data, &dl)) {
            rc = -1;
            break;
        }
        rc = expect(t, log, common[i].name, cmd, mk(cmd, 0x38, common[i].id, 0, data, dl), 0x9000);
    }
    scp03_wipe(kt, sizeof kt);
    scp03_wipe(data, sizeof data);
    if (rc) return -1;

    /* The vector table (301): slots 0 and 1 to the masked os package's
     * methods 0 (version) and 1 (checksum). */
    static const uint8_t os_aid[] = {0xA0, 0x00, 0x00, 0x06, 0x99, 0x01, 0x00};
    for (uint8_t slot = 0; slot < 2; slot++) {
        n = 0;
        data[n++] = slot;
        data[n++] = 0;
        data[n++] = slot;
        data[n++] = sizeof os_aid;
        memcpy(data + n, os_aid, sizeof os_aid);
        n += sizeof os_aid;
        if (expect(t, log, "SET VECTOR", cmd, mk(cmd, 0x30, 0, 0, data, n), 0x9000)) return -1;
    }
    /* Additional software (302). */
    for (size_t i = 0; i < p->n_packages; i++)
        if (load_package(t, log, p->packages[i], p->package_lens[i])) return -1;

    if (expect(t, log, "ENTER USER MODE", cmd, mk(cmd, 0x3E, 0, 0, NULL, 0), 0x9000)) return -1;
    return 0;
}
