/*
 * isd_gp.c — card content management of the issuer security domain
 * (GlobalPlatform Card Specification v2.3.1, section 11), USER mode:
 *
 *   80 F2  GET STATUS        P1 80 ISD / 40 applications / 20 load files /
 *                            10 load files and modules; P2 02 (GP TLV) or 00
 *                            (legacy), b1 = next occurrence; 6310 = more
 *   80 E6  INSTALL           P1 02 for load, 04 for install, 08 make
 *                            selectable, 0C install and make selectable,
 *                            0E the combined load, install and make
 *                            selectable (P2 01 first, P2 03 last)
 *   80 E8  LOAD              P1 b8 last block, P2 block number
 *   80 E4  DELETE            4F AID; P2 80 = with related objects;
 *                            D0/D2 key id/KVN: DELETE [key] (isd_keys.c)
 *   80 D8  PUT KEY           (isd_keys.c) P1 b8 more, KVN (00 new); P2 b8
 *                            several keys, first key id; AES keys under DEK
 *   80 F0  SET STATUS        P1 40: P2 80 lock, 00 unlock an application
 *
 * Every command needs an authenticated session with at least C-MAC (6982);
 * isd.c has unwrapped it at the session's level already.
 *
 * What the ISD keeps besides the VM's own records (NVM heap blocks; kinds
 * 0x4C10.. are this file's, next to layout.h's 0x4C01..0x4C05):
 *   KIND_GP_APP   one per application installed over INSTALL or locked:
 *                 aid len, aid[16], life cycle state, privileges[3]
 *                 (applications without one are SELECTABLE, privileges 0)
 *   KIND_GP_CAP   one per load file (a CAP package) loaded over LOAD: aid
 *                 len, aid[16], module count, then len+aid of each
 *                 executable module, the Applet component's applet classes
 *                 (the first GP_MAX_MODULES are listed); INSTALL [for
 *                 install] gives its applets the Java Card install bArray
 *                 (below)
 *   KIND_GP_LOAD  the INSTALL [for load] of the load in progress: aid len,
 *                 aid[16], hash len, hash[32], combined flag
 * INSTALL [for install] of an applet of a CAP package passes install() the
 * bArray of the Java Card RE specification (3.0.5 §11.1.3 with GP 2.3.1
 * §11.5.2.3.7): instance AID length and bytes, privileges length and bytes
 * as the command gave them (1 or 3), application specific parameters (C9)
 * length and bytes. (An applet of a package that did not come over LOAD —
 * the customization software's packages — gets the C9 value alone.)
 *
 * The combined process (GPCS 2.3.1 §9.3.8, P1 0E): the first INSTALL (P2
 * 01, the [for load] data field) and the LOAD blocks stage the file as
 * above; the last LOAD block stores nothing. The last INSTALL (P2 03, the
 * [for install] data field, the load file AID may be empty) loads the
 * staged file and installs the application in one command: if the install
 * fails, the LOADER's rollback of the failed command takes the package
 * back too, so the card keeps either both or neither.
 *
 * The load file itself arrives in the LOADER's staging area (staging.c).
 * A refused final LOAD discards the staged bytes and the record durably
 * before the error goes out; an interrupted load (power cut, reset, SELECT,
 * end of session) is discarded when the next session opens or the next
 * INSTALL [for load] arrives. Staged bytes are never executable.
 */
#include <string.h>
#include <tomcrypt.h>

#include "cap_format.h"
#include "isd_gp.h"
#include "staging.h"

#define KIND_GP_APP 0x4C10u
#define KIND_GP_LOAD 0x4C12u
#define KIND_GP_CAP 0x4C13u   /* 0x4C11 was the record of the retired package format */
#define GP_APP_SIZE 21u
#define GP_MAX_MODULES 8u
#define GP_ELF_SIZE (18u + GP_MAX_MODULES * 17u)
#define GP_LOAD_SIZE 51u
#define GP_LOAD_COMBINED 50u   /* record byte: 1 for the combined process */

/* Life cycle states (GPCS 11.1.1) */
#define LC_ELF_LOADED 0x01u
#define LC_APP_INSTALLED 0x03u
#define LC_APP_SELECTABLE 0x07u
#define LC_APP_LOCKED 0x80u
#define LC_ISD_SECURED 0x0Fu

/* GET STATUS: at most this many plain data bytes per response, so that a
 * response wrapped with R-MAC and R-ENC still fits in 256 bytes. */
#define STATUS_MAX 224u

/* loader_ram.isd_gp: continuation of GET STATUS */
#define RAM_STATUS_ACTIVE 0   /* 0xA5 when a get-next may follow */
#define RAM_STATUS_P1 1
#define RAM_STATUS_NEXT 2     /* u16 LE: index of the next entry */
#define RAM_STATUS_FMT 4

static const uint8_t isd_privileges[3] = {0x80, 0x54, 0x00};   /* SD; authorized mgmt, global delete, global registry */

int isd_gp_handles(uint8_t ins, uint8_t p1)
{
    /* INS F0 is also the masked OS's vectored GET OS VERSION (P1 00): SET
     * STATUS is recognised by its P1 (40 application, 60/80 ISD). */
    if (ins == 0xF0) return p1 == 0x40 || p1 == 0x60 || p1 == 0x80;
    return ins == 0xF2 || ins == 0xE6 || ins == 0xE8 || ins == 0xE4 || ins == 0xD8;
}

void isd_gp_forget(uint8_t *ram) { memset(ram, 0, 8); }

/* ---- records ---- */
typedef struct app_rec {
    uint8_t aid_len, aid[16], state, priv[3];
} app_rec;

/* One walk over the heap (SELECT runs it: the n-th-of-kind lookup
 * would walk it once per record). */
static int find_record(const chip *c, uint16_t kind, const uint8_t *aid, uint8_t aid_len, uint32_t *off)
{
    uint32_t cursor = 0, o, size;
    uint16_t k;
    while (chip_nvm_next(c, &cursor, &k, NULL, &o, &size) == CHIP_OK) {
        if (k != kind) continue;
        const uint8_t *r = chip_nvm_view(c) + o;
        if (size >= 17u && r[0] == aid_len && aid_len <= 16 && memcmp(r + 1, aid, aid_len) == 0) {
            *off = o;
            return 0;
        }
    }
    return -1;
}

static void app_rec_get(const chip *c, const uint8_t *aid, uint8_t aid_len, app_rec *r)
{
    uint32_t off;
    memset(r, 0, sizeof *r);
    r->aid_len = aid_len;
    memcpy(r->aid, aid, aid_len);
    r->state = LC_APP_SELECTABLE;
    if (find_record(c, KIND_GP_APP, aid, aid_len, &off) == 0) {
        const uint8_t *p = chip_nvm_view(c) + off;
        r->state = p[17];
        memcpy(r->priv, p + 18, 3);
    }
}

/* SELECT's shortcut to the KIND_GP_APP records (card_os.select_cache):
 * forgotten whenever such a record may be made or freed. */
static void select_cache_forget(card_os *os) { memset(os->select_cache, 0, sizeof os->select_cache); }

static int app_rec_put(card_os *os, const app_rec *r)
{
    chip *c = os->chip;
    select_cache_forget(os);
    uint32_t off;
    int rc = CHIP_OK;
    if (find_record(c, KIND_GP_APP, r->aid, r->aid_len, &off) != 0)
        rc = chip_nvm_alloc(c, KIND_GP_APP, 0, GP_APP_SIZE, &off);
    if (rc) return rc;
    uint8_t b[GP_APP_SIZE] = {r->aid_len};
    memcpy(b + 1, r->aid, r->aid_len);
    b[17] = r->state;
    memcpy(b + 18, r->priv, 3);
    return chip_nvm_write(c, off, b, sizeof b);
}

static int record_free(card_os *os, uint16_t kind, const uint8_t *aid, uint8_t aid_len)
{
    chip *c = os->chip;
    if (kind == KIND_GP_APP) select_cache_forget(os);
    uint32_t off;
    if (find_record(c, kind, aid, aid_len, &off) != 0) return CHIP_OK;
    return chip_nvm_free(c, off);
}

static int load_discard(chip *c)
{
    int rc = staging_clear(c);
    uint32_t off;
    while (!rc && chip_nvm_find(c, KIND_GP_LOAD, 0xFFFF, 0, &off, NULL) == CHIP_OK) rc = chip_nvm_free(c, off);
    return rc;
}

int isd_gp_session_opened(card_os *os, uint8_t *ram)
{
    isd_gp_forget(ram);
    if (chip_nvm_find(os->chip, KIND_STAGING, 0xFFFF, 0, NULL, NULL) != CHIP_OK &&
        chip_nvm_find(os->chip, KIND_GP_LOAD, 0xFFFF, 0, NULL, NULL) != CHIP_OK)
        return CHIP_OK;
    return load_discard(os->chip);
}

/* ---- helpers ---- */
static int aid_ok(size_t n) { return n >= VM_AID_MIN && n <= VM_AID_MAX; }

/* Reads one length-prefixed field; -1 when it overruns. */
static int lv(const uint8_t **p, const uint8_t *end, const uint8_t **v, uint8_t *n)
{
    if (*p >= end || **p > end - *p - 1) return -1;
    *n = **p;
    *v = *p + 1;
    *p += 1 + **p;
    return 0;
}

static uint16_t map_chip(int rc) { return rc == CHIP_ERR_POWER ? 0 : chip_status_to_sw(rc); }

/* The applet instance a SELECT with this AID reaches (vm_select's rule). */
static int resolve_instance(vm_runtime *vm, const uint8_t *aid, uint8_t len, vm_applet_info *out)
{
    vm_applet_info ai;
    int partial = -1;
    for (unsigned i = 0; vm_applet_info_at(vm, i, &ai) == VM_OK; i++) {
        if (ai.aid_len == len && memcmp(ai.aid, aid, len) == 0) {
            *out = ai;
            return 0;
        }
        if (partial < 0 && ai.aid_len > len && memcmp(ai.aid, aid, len) == 0) partial = (int)i;
    }
    if (partial >= 0 && vm_applet_info_at(vm, (unsigned)partial, out) == VM_OK) return 0;
    return -1;
}

/* The life cycle state of instance `aid` (VM index `idx`): the heap is
 * walked for its record once, then the record's offset (or that it has
 * none) is kept per instance index until such a record is made or freed. */
static uint8_t app_state_for_select(card_os *os, int idx, const uint8_t *aid, uint8_t aid_len)
{
    struct isd_select_entry *e = &os->select_cache[(unsigned)idx % ISD_SELECT_CACHE];
    const uint8_t *nvm = chip_nvm_view(os->chip);
    if (!e->valid || e->aid_len != aid_len || memcmp(e->aid, aid, aid_len) != 0) {
        uint32_t off;
        e->valid = 1;
        e->aid_len = aid_len;
        memcpy(e->aid, aid, aid_len);
        e->off = find_record(os->chip, KIND_GP_APP, aid, aid_len, &off) == 0 ? off : 0;
    }
    if (!e->off) return LC_APP_SELECTABLE;   /* no record: SELECTABLE */
    const uint8_t *r = nvm + e->off;
    if (r[0] != aid_len || memcmp(r + 1, aid, aid_len) != 0) {   /* cannot be: forget, walk again */
        e->valid = 0;
        return app_state_for_select(os, idx, aid, aid_len);
    }
    return r[17];
}

uint16_t isd_gp_select_check(card_os *os, const uint8_t *aid, uint8_t aid_len, int *idx)
{
    uint8_t inst_aid[VM_AID_MAX], inst_len;
    *idx = vm_select_lookup(os->vm, aid, aid_len, inst_aid, &inst_len);
    if (*idx < 0) return 0;
    uint8_t state = app_state_for_select(os, *idx, inst_aid, inst_len);
    if ((state & LC_APP_LOCKED) || (state & 0x07) != LC_APP_SELECTABLE) return SW_FILE_NOT_FOUND;
    return 0;
}

static int find_package(vm_runtime *vm, const uint8_t *aid, uint8_t len, vm_package_info *out)
{
    for (unsigned i = 0; vm_package_info_at(vm, i, out) == VM_OK; i++)
        if (out->aid_len == len && memcmp(out->aid, aid, len) == 0) return 0;
    return -1;
}

/* ---- GET STATUS ---- */
typedef struct status_out {
    uint8_t *buf;
    size_t n, cap;
} status_out;

static size_t put_tlv(uint8_t *p, uint16_t tag, const uint8_t *v, size_t n)
{
    size_t i = 0;
    if (tag > 0xFF) p[i++] = (uint8_t)(tag >> 8);
    p[i++] = (uint8_t)tag;
    p[i++] = (uint8_t)n;
    memcpy(p + i, v, n);
    return i + n;
}

/* Builds entry number `index` of the P1 category into e; returns its length,
 * 0 when the entry does not match the filter, -1 past the end. */
static long status_entry(const isd_gp_ctx *g, uint8_t p1, int gp_fmt, unsigned index,
                         const uint8_t *filter, uint8_t flen, uint8_t *e)
{
    size_t n = 0, body;
    uint8_t aid[16], aid_len, state;
    if (p1 == 0x80) {
        if (index > 0) return -1;
        memcpy(aid, g->isd_aid, g->isd_aid_len);
        aid_len = g->isd_aid_len;
        if (gp_fmt) {
            e[n++] = 0xE3;
            body = n++;
            n += put_tlv(e + n, 0x4F, aid, aid_len);
            state = LC_ISD_SECURED;
            n += put_tlv(e + n, 0x9F70, &state, 1);
            n += put_tlv(e + n, 0xC5, isd_privileges, 3);
            e[body] = (uint8_t)(n - body - 1);
        } else {
            e[n++] = aid_len;
            memcpy(e + n, aid, aid_len);
            n += aid_len;
            e[n++] = LC_ISD_SECURED;
            e[n++] = isd_privileges[0];
        }
        return (long)n;
    }
    if (p1 == 0x40) {
        vm_applet_info ai;
        if (vm_applet_info_at(g->os->vm, index, &ai) != VM_OK) return -1;
        if (ai.aid_len < flen || memcmp(ai.aid, filter, flen) != 0) return 0;
        app_rec r;
        app_rec_get(g->os->chip, ai.aid, ai.aid_len, &r);
        if (gp_fmt) {
            e[n++] = 0xE3;
            body = n++;
            n += put_tlv(e + n, 0x4F, ai.aid, ai.aid_len);
            n += put_tlv(e + n, 0x9F70, &r.state, 1);
            n += put_tlv(e + n, 0xC5, r.priv, 3);
            n += put_tlv(e + n, 0xC4, ai.pkg_aid, ai.pkg_aid_len);
            n += put_tlv(e + n, 0xCC, g->isd_aid, g->isd_aid_len);
            e[body] = (uint8_t)(n - body - 1);
        } else {
            e[n++] = ai.aid_len;
            memcpy(e + n, ai.aid, ai.aid_len);
            n += ai.aid_len;
            e[n++] = r.state;
            e[n++] = r.priv[0];
        }
        return (long)n;
    }
    vm_package_info pi;
    if (vm_package_info_at(g->os->vm, index, &pi) != VM_OK) return -1;
    if (pi.aid_len < flen || memcmp(pi.aid, filter, flen) != 0) return 0;
    /* executable modules: known for load files that came over LOAD */
    const uint8_t *mods = NULL;
    uint8_t nmods = 0;
    uint32_t off;
    if (p1 == 0x10 && find_record(g->os->chip, KIND_GP_CAP, pi.aid, pi.aid_len, &off) == 0) {
        mods = chip_nvm_view(g->os->chip) + off + 18;
        nmods = chip_nvm_view(g->os->chip)[off + 17];
        if (nmods > GP_MAX_MODULES) nmods = 0;
    }
    state = LC_ELF_LOADED;
    if (gp_fmt) {
        e[n++] = 0xE3;
        body = n++;
        n += put_tlv(e + n, 0x4F, pi.aid, pi.aid_len);
        n += put_tlv(e + n, 0x9F70, &state, 1);
        uint8_t ver[2] = {pi.major, pi.minor};
        n += put_tlv(e + n, 0xCE, ver, 2);
        const uint8_t *m = mods;
        for (unsigned k = 0; k < nmods; k++) {
            n += put_tlv(e + n, 0x84, m + 1, m[0] <= 16 ? m[0] : 16);
            m += 17;
        }
        n += put_tlv(e + n, 0xCC, g->isd_aid, g->isd_aid_len);
        e[body] = (uint8_t)(n - body - 1);
    } else {
        e[n++] = pi.aid_len;
        memcpy(e + n, pi.aid, pi.aid_len);
        n += pi.aid_len;
        e[n++] = state;
        e[n++] = 0x00;
        if (p1 == 0x10) {
            e[n++] = nmods;
            const uint8_t *m = mods;
            for (unsigned k = 0; k < nmods; k++) {
                uint8_t ml = m[0] <= 16 ? m[0] : 16;
                e[n++] = ml;
                memcpy(e + n, m + 1, ml);
                n += ml;
                m += 17;
            }
        }
    }
    return (long)n;
}

static uint16_t get_status(const isd_gp_ctx *g, const apdu_command *a, uint8_t *out, size_t cap, size_t *len)
{
    uint8_t p1 = a->p1;
    if (p1 != 0x80 && p1 != 0x40 && p1 != 0x20 && p1 != 0x10) return SW_INCORRECT_P1P2;
    if (a->p2 & 0xFC) return SW_INCORRECT_P1P2;
    int gp_fmt = (a->p2 & 0x02) != 0, next = a->p2 & 0x01;
    /* search criteria: 4F L AID-prefix, other TLVs (e.g. 5C tag list) ignored */
    if (a->nc < 2 || a->data[0] != 0x4F || a->data[1] > 16 || a->data[1] > a->nc - 2) return SW_WRONG_DATA;
    const uint8_t *filter = a->data + 2;
    uint8_t flen = a->data[1];
    unsigned index = 0;
    uint8_t *ram = g->ram;
    if (next) {
        if (p1 == 0x80) return SW_INCORRECT_P1P2;
        if (ram[RAM_STATUS_ACTIVE] != 0xA5 || ram[RAM_STATUS_P1] != p1 || ram[RAM_STATUS_FMT] != gp_fmt)
            return SW_CONDITIONS_NOT_SATISFIED;
        index = (unsigned)ram[RAM_STATUS_NEXT] | (unsigned)ram[RAM_STATUS_NEXT + 1] << 8;
    }
    isd_gp_forget(ram);
    size_t n = 0, limit = cap < STATUS_MAX ? cap : STATUS_MAX;
    uint8_t e[256];
    int found = 0;
    for (;; index++) {
        long el = status_entry(g, p1, gp_fmt, index, filter, flen, e);
        if (el < 0) break;
        if (el == 0) continue;
        if (n + (size_t)el > limit) {
            if (!found) return SW_UNKNOWN;   /* an entry never exceeds the limit */
            ram[RAM_STATUS_ACTIVE] = 0xA5;
            ram[RAM_STATUS_P1] = p1;
            ram[RAM_STATUS_NEXT] = (uint8_t)index;
            ram[RAM_STATUS_NEXT + 1] = (uint8_t)(index >> 8);
            ram[RAM_STATUS_FMT] = (uint8_t)gp_fmt;
            *len = n;
            return 0x6310;
        }
        memcpy(out + n, e, (size_t)el);
        n += (size_t)el;
        found = 1;
    }
    if (!found) return SW_REFERENCED_DATA_NOT_FOUND;
    *len = n;
    return SW_OK;
}

/* ---- INSTALL ---- */
static uint16_t install_for_load(const isd_gp_ctx *g, const apdu_command *a, uint8_t *out, size_t *len, int combined)
{
    const uint8_t *p = a->data, *end = a->data + a->nc, *aid, *sd, *hash, *params, *token;
    uint8_t al, sl, hl, pl, tl;
    if (lv(&p, end, &aid, &al) || lv(&p, end, &sd, &sl) || lv(&p, end, &hash, &hl) ||
        lv(&p, end, &params, &pl) || lv(&p, end, &token, &tl) || p != end)
        return SW_WRONG_DATA;
    (void)params;
    (void)token;
    if (!aid_ok(al) || (hl != 0 && hl != 20 && hl != 32) || tl != 0) return SW_WRONG_DATA;
    if (sl != 0 && (sl != g->isd_aid_len || memcmp(sd, g->isd_aid, sl) != 0)) return SW_REFERENCED_DATA_NOT_FOUND;
    vm_package_info pi;
    if (find_package(g->os->vm, aid, al, &pi) == 0) return SW_CONDITIONS_NOT_SATISFIED;
    chip *c = g->os->chip;
    int rc = load_discard(c);
    uint32_t off;
    if (!rc) rc = chip_nvm_alloc(c, KIND_GP_LOAD, 0, GP_LOAD_SIZE, &off);
    uint8_t r[GP_LOAD_SIZE] = {al};
    memcpy(r + 1, aid, al);
    r[17] = hl;
    if (hl) memcpy(r + 18, hash, hl);
    r[GP_LOAD_COMBINED] = (uint8_t)(combined != 0);
    if (!rc) rc = chip_nvm_write(c, off, r, sizeof r);
    if (rc) return map_chip(rc);
    out[0] = 0x00;
    *len = 1;
    return SW_OK;
}

/* The last block arrived: check and load the staged file, or discard it. */
static uint16_t finish_load(const isd_gp_ctx *g, const uint8_t *rec)
{
    chip *c = g->os->chip;
    const uint8_t *blob;
    size_t blen;
    uint16_t sw = SW_OK;
    int rc, ok;
    char err[128];
    uint8_t mod[GP_ELF_SIZE];
    memset(mod, 0, sizeof mod);
    if (staging_view(c, &blob, &blen) != 0) {
        sw = SW_CONDITIONS_NOT_SATISFIED;
        goto refuse;
    }
    if (rec[17]) {
        uint8_t h[32];
        hash_state hs;
        if (rec[17] == 32) { sha256_init(&hs); sha256_process(&hs, blob, (unsigned long)blen); sha256_done(&hs, h); }
        else { sha1_init(&hs); sha1_process(&hs, blob, (unsigned long)blen); sha1_done(&hs, h); }
        if (!scp03_ct_equal(h, rec + 18, rec[17])) {
            sw = SW_WRONG_DATA;
            goto refuse;
        }
    }
    /* only the AIDs here; vm_load_package verifies everything */
    cap_view v;
    if (!cap_is_load_file(blob, blen)) {
        sw = SW_WRONG_DATA;
        goto refuse;
    }
    if (cap_parse(blob, blen, &v, err, sizeof err) != 0) {
        cap_view_free(&v);
        sw = SW_WRONG_DATA;
        goto refuse;
    }
    ok = v.pkg_aid.len == rec[0] && memcmp(v.pkg_aid.b, rec + 1, rec[0]) == 0;
    mod[0] = v.pkg_aid.len;
    memcpy(mod + 1, v.pkg_aid.b, v.pkg_aid.len);
    mod[17] = (uint8_t)(v.applet_count < GP_MAX_MODULES ? v.applet_count : GP_MAX_MODULES);
    for (unsigned k = 0; k < mod[17]; k++) {
        mod[18 + 17 * k] = v.applets[k].aid.len;
        memcpy(mod + 19 + 17 * k, v.applets[k].aid.b, v.applets[k].aid.len);
    }
    cap_view_free(&v);
    if (!ok) {
        sw = SW_WRONG_DATA;
        goto refuse;
    }
    /* VM_ERR_VERIFY 6A80, VM_ERR_FULL 6A84, VM_ERR_DEPENDENCY (an import
     * the card lacks) and VM_ERR_EXISTS 6985 */
    rc = vm_load_package(g->os->vm, blob, blen, 0, err, sizeof err);
    if (rc == VM_ERR_POWER) return 0;
    if (rc) {
        sw = rc == VM_ERR_EXISTS ? SW_CONDITIONS_NOT_SATISFIED : vm_status_to_sw(rc);
        goto refuse;
    }
    uint32_t off;
    rc = chip_nvm_alloc(c, KIND_GP_CAP, 0, GP_ELF_SIZE, &off);
    if (!rc) rc = chip_nvm_write(c, off, mod, sizeof mod);
    if (!rc) rc = load_discard(c);
    return rc ? map_chip(rc) : SW_OK;
refuse:
    /* Discard durably now: the error status makes the LOADER roll back this
     * APDU, which would otherwise bring the earlier blocks back. */
    if (!chip_is_powered(c)) return 0;
    rc = load_discard(c);
    if (!rc) rc = chip_commit(c);
    if (rc == CHIP_ERR_POWER || !chip_is_powered(c)) return 0;
    return sw;
}

static uint16_t do_load(const isd_gp_ctx *g, const apdu_command *a, uint8_t *out, size_t *len)
{
    chip *c = g->os->chip;
    if (a->p1 & 0x7F) return SW_INCORRECT_P1P2;
    uint32_t off;
    if (chip_nvm_find(c, KIND_GP_LOAD, 0xFFFF, 0, &off, NULL) != CHIP_OK) return SW_CONDITIONS_NOT_SATISFIED;
    if (a->p2 == 0 && a->nc > 0 && a->data[0] == 0xE2) return SW_WRONG_DATA;   /* DAP blocks: not supported */
    int last = 0;
    uint16_t sw = staging_block(c, a->p2, (uint8_t)(a->p1 & 0x80), a->data, a->nc, &last);
    if (!chip_is_powered(c)) return 0;
    if (sw != SW_OK) return sw;
    if (last) {
        uint8_t rec[GP_LOAD_SIZE];
        memcpy(rec, chip_nvm_view(c) + off, sizeof rec);
        /* the combined process loads at its last INSTALL */
        if (!rec[GP_LOAD_COMBINED]) sw = finish_load(g, rec);
        if (sw != SW_OK) return sw;
    }
    out[0] = 0x00;
    *len = 1;
    return SW_OK;
}

/* loaded_elf: the load file the combined process just loaded (its AID may
 * be left out of the data field), or NULL. */
static uint16_t install_for_install(const isd_gp_ctx *g, const apdu_command *a, uint8_t *out, size_t *len,
                                    const uint8_t *loaded_elf, uint8_t loaded_len)
{
    const uint8_t *p = a->data, *end = a->data + a->nc, *elf, *mod, *app, *priv, *params, *token;
    uint8_t el, ml, al, pl, il, tl;
    if (lv(&p, end, &elf, &el) || lv(&p, end, &mod, &ml) || lv(&p, end, &app, &al) ||
        lv(&p, end, &priv, &pl) || lv(&p, end, &params, &il) || lv(&p, end, &token, &tl) || p != end)
        return SW_WRONG_DATA;
    if (loaded_elf) {
        if (el == 0) {
            elf = loaded_elf;
            el = loaded_len;
        } else if (el != loaded_len || memcmp(elf, loaded_elf, el) != 0) {
            return SW_WRONG_DATA;
        }
    }
    if (!aid_ok(el) || !aid_ok(ml) || (al != 0 && !aid_ok(al)) || (pl != 1 && pl != 3) || tl != 0)
        return SW_WRONG_DATA;
    if (priv[0] & 0x80) return SW_WRONG_DATA;   /* no supplementary security domains */
    /* install parameters: C9 (application specific) is passed to install(),
     * other tags (EF system parameters, ...) are ignored */
    const uint8_t *c9 = NULL;
    uint8_t c9l = 0;
    const uint8_t *q = params, *qe = params + il;
    while (q < qe) {
        if (qe - q < 2 || q[1] > qe - q - 2 || q[1] == 0x81) return SW_WRONG_DATA;
        if (q[0] == 0xC9) { c9 = q + 2; c9l = q[1]; }
        q += 2 + q[1];
    }
    if (il && !c9 && params[0] != 0xEF && params[0] != 0xC9) return SW_WRONG_DATA;
    app_rec r;
    memset(&r, 0, sizeof r);
    const uint8_t *iaid = al ? app : mod;
    r.aid_len = al ? al : ml;
    memcpy(r.aid, iaid, r.aid_len);
    memcpy(r.priv, priv, pl);
    r.state = (a->p1 & 0x08) ? LC_APP_SELECTABLE : LC_APP_INSTALLED;
    if (!aid_ok(r.aid_len) || (r.aid_len == g->isd_aid_len && !memcmp(r.aid, g->isd_aid, r.aid_len)))
        return SW_CONDITIONS_NOT_SATISFIED;
    const uint8_t *install_params = c9;
    uint8_t install_len = c9l, barray[255];
    uint32_t cap_off;
    if (find_record(g->os->chip, KIND_GP_CAP, elf, el, &cap_off) == 0) {
        /* the Java Card install bArray (see the top of this file) */
        if (3u + r.aid_len + pl + c9l > sizeof barray) return SW_WRONG_DATA;
        size_t n = 0;
        barray[n++] = r.aid_len;
        memcpy(barray + n, r.aid, r.aid_len);
        n += r.aid_len;
        barray[n++] = pl;
        memcpy(barray + n, priv, pl);
        n += pl;
        barray[n++] = c9l;
        if (c9l) memcpy(barray + n, c9, c9l);
        n += c9l;
        install_params = barray;
        install_len = (uint8_t)n;
    }
    uint16_t sw = SW_UNKNOWN;
    int rc = vm_install(g->os->vm, elf, el, mod, ml, app, al, install_params, install_len, &sw);
    if (rc == VM_ERR_POWER || !chip_is_powered(g->os->chip)) return 0;
    if (rc == VM_ERR_NOTFOUND) return SW_REFERENCED_DATA_NOT_FOUND;
    if (rc) return vm_status_to_sw(rc);
    if (sw != SW_OK) return sw;
    rc = app_rec_put(g->os, &r);
    if (rc) return map_chip(rc);
    out[0] = 0x00;
    *len = 1;
    return SW_OK;
}

static uint16_t make_selectable(const isd_gp_ctx *g, const apdu_command *a, uint8_t *out, size_t *len)
{
    const uint8_t *p = a->data, *end = a->data + a->nc, *x, *app, *priv;
    uint8_t xl, al, pl;
    if (lv(&p, end, &x, &xl) || xl || lv(&p, end, &x, &xl) || xl || lv(&p, end, &app, &al) ||
        lv(&p, end, &priv, &pl) || lv(&p, end, &x, &xl) || xl || lv(&p, end, &x, &xl) || xl || p != end)
        return SW_WRONG_DATA;
    if (!aid_ok(al) || (pl != 0 && pl != 1 && pl != 3)) return SW_WRONG_DATA;
    vm_applet_info ai;
    if (resolve_instance(g->os->vm, app, al, &ai) != 0 || ai.aid_len != al) return SW_REFERENCED_DATA_NOT_FOUND;
    app_rec r;
    app_rec_get(g->os->chip, app, al, &r);
    if (r.state != LC_APP_INSTALLED) return SW_CONDITIONS_NOT_SATISFIED;
    r.state = LC_APP_SELECTABLE;
    if (pl) {
        if (priv[0] & 0x80) return SW_WRONG_DATA;
        memset(r.priv, 0, 3);
        memcpy(r.priv, priv, pl);
    }
    int rc = app_rec_put(g->os, &r);
    if (rc) return map_chip(rc);
    out[0] = 0x00;
    *len = 1;
    return SW_OK;
}

/* The last INSTALL [for load, install and make selectable]: load what the
 * first one and the LOAD blocks staged, then install from it. */
static uint16_t combined_finish(const isd_gp_ctx *g, const apdu_command *a, uint8_t *out, size_t *len)
{
    chip *c = g->os->chip;
    uint32_t off, size;
    const uint8_t *blob;
    size_t blen;
    if (chip_nvm_find(c, KIND_GP_LOAD, 0xFFFF, 0, &off, &size) != CHIP_OK || size < GP_LOAD_SIZE ||
        !chip_nvm_view(c)[off + GP_LOAD_COMBINED] || staging_view(c, &blob, &blen) != 0)
        return SW_CONDITIONS_NOT_SATISFIED;
    uint8_t rec[GP_LOAD_SIZE];
    memcpy(rec, chip_nvm_view(c) + off, sizeof rec);
    uint16_t sw = finish_load(g, rec);
    if (sw != SW_OK) return sw;
    return install_for_install(g, a, out, len, rec + 1, rec[0]);
}

static uint16_t do_install(const isd_gp_ctx *g, const apdu_command *a, uint8_t *out, size_t *len)
{
    if (a->p1 == 0x0E) {
        if (a->p2 == 0x01) return install_for_load(g, a, out, len, 1);
        if (a->p2 == 0x03) return combined_finish(g, a, out, len);
        return SW_INCORRECT_P1P2;
    }
    if (a->p2 != 0x00) return SW_INCORRECT_P1P2;
    switch (a->p1) {
    case 0x02: return install_for_load(g, a, out, len, 0);
    case 0x04:
    case 0x0C: return install_for_install(g, a, out, len, NULL, 0);
    case 0x08: return make_selectable(g, a, out, len);
    default: return SW_INCORRECT_P1P2;
    }
}

/* ---- DELETE ---- */
/* Packages the card's own code stands on: masked in ROM, or named by the
 * vector table (the vectored commands would lose their code). */
static int protected_package(card_os *os, const uint8_t *aid, uint8_t len)
{
    for (uint8_t slot = 0; slot < LOADER_VECTOR_SLOTS; slot++) {
        uint8_t va[16], vl;
        uint16_t m;
        if (vectors_get(os->chip, slot, va, &vl, &m) == CHIP_OK && vl == len && memcmp(va, aid, len) == 0) return 1;
    }
    const uint8_t *rom = chip_rom_view(os->chip);
    for (unsigned i = 0; i < os->rom.n_masked; i++) {
        uint8_t ma[VM_AID_MAX], ml, major, minor;
        if (vm_package_identify(rom + os->rom.masked_off[i], os->rom.masked_len[i], ma, &ml, &major, &minor) == VM_OK &&
            ml == len && memcmp(ma, aid, len) == 0)
            return 1;
    }
    return 0;
}

static uint16_t delete_instance(const isd_gp_ctx *g, const uint8_t *aid, uint8_t len)
{
    int rc = vm_delete_instance(g->os->vm, aid, len);
    if (rc == VM_ERR_POWER || !chip_is_powered(g->os->chip)) return 0;
    if (rc) return vm_status_to_sw(rc);
    rc = record_free(g->os, KIND_GP_APP, aid, len);
    return rc ? map_chip(rc) : SW_OK;
}

static uint16_t do_delete(const isd_gp_ctx *g, const apdu_command *a, uint8_t *out, size_t *len)
{
    if (a->nc >= 1 && (a->data[0] == 0xD0 || a->data[0] == 0xD2)) return isd_delete_key(g, a, out, len);
    if (a->p1 != 0x00 || (a->p2 != 0x00 && a->p2 != 0x80)) return SW_INCORRECT_P1P2;
    if (a->nc < 2 || a->data[0] != 0x4F || a->data[1] != a->nc - 2 || !aid_ok(a->data[1])) return SW_WRONG_DATA;
    const uint8_t *aid = a->data + 2;
    uint8_t al = a->data[1];
    if (al == g->isd_aid_len && memcmp(aid, g->isd_aid, al) == 0) return SW_CONDITIONS_NOT_SATISFIED;
    vm_runtime *vm = g->os->vm;
    vm_applet_info ai;
    uint16_t sw = SW_REFERENCED_DATA_NOT_FOUND;
    int is_instance = 0;
    for (unsigned i = 0; vm_applet_info_at(vm, i, &ai) == VM_OK; i++)
        if (ai.aid_len == al && memcmp(ai.aid, aid, al) == 0) is_instance = 1;
    vm_package_info pi;
    if (is_instance) {
        sw = delete_instance(g, aid, al);
    } else if (find_package(vm, aid, al, &pi) == 0) {
        if (pi.privileged || (pi.kind != VM_PKG_APPLET && pi.kind != VM_PKG_LIBRARY) ||
            protected_package(g->os, aid, al))
            return SW_CONDITIONS_NOT_SATISFIED;
        if (a->p2 == 0x80) {
            /* related objects: every instance of the package */
            for (unsigned i = 0; vm_applet_info_at(vm, i, &ai) == VM_OK;) {
                if (ai.pkg_aid_len == al && memcmp(ai.pkg_aid, aid, al) == 0) {
                    sw = delete_instance(g, ai.aid, ai.aid_len);
                    if (sw != SW_OK) return sw;
                    i = 0;
                } else {
                    i++;
                }
            }
        }
        int rc = vm_delete_package(vm, aid, al);
        if (rc == VM_ERR_POWER || !chip_is_powered(g->os->chip)) return 0;
        if (rc) return vm_status_to_sw(rc);
        rc = record_free(g->os, KIND_GP_CAP, aid, al);
        sw = rc ? map_chip(rc) : SW_OK;
    }
    if (sw == SW_OK) {
        out[0] = 0x00;
        *len = 1;
    }
    return sw;
}

/* ---- SET STATUS ---- */
static uint16_t set_status(const isd_gp_ctx *g, const apdu_command *a)
{
    if (a->p1 != 0x40) return a->p1 == 0x80 || a->p1 == 0x60 ? SW_CONDITIONS_NOT_SATISFIED : SW_INCORRECT_P1P2;
    if (a->p2 != 0x80 && a->p2 != 0x00) return SW_WRONG_DATA;
    if (!aid_ok(a->nc)) return SW_WRONG_DATA;
    uint8_t al = (uint8_t)a->nc;
    vm_applet_info ai;
    if (resolve_instance(g->os->vm, a->data, al, &ai) != 0 || ai.aid_len != al) return SW_REFERENCED_DATA_NOT_FOUND;
    app_rec r;
    app_rec_get(g->os->chip, a->data, al, &r);
    if (a->p2 == 0x80) {
        if (r.state & LC_APP_LOCKED) return SW_OK;
        r.state |= LC_APP_LOCKED;
    } else {
        if (!(r.state & LC_APP_LOCKED)) return SW_CONDITIONS_NOT_SATISFIED;
        r.state &= (uint8_t)~LC_APP_LOCKED;
    }
    int rc = app_rec_put(g->os, &r);
    return rc ? map_chip(rc) : SW_OK;
}

uint16_t isd_gp_command(const isd_gp_ctx *g, const apdu_command *a, uint8_t *out, size_t cap, size_t *len)
{
    unsigned level = scp03_card_security_level(g->session);
    if (!(level & SCP03_AUTHENTICATED) || !(level & SCP03_CMAC)) return SW_SECURITY_NOT_SATISFIED;
    if ((a->cla & 0xF0) != 0x80) return SW_CLA_NOT_SUPPORTED;
    if (a->ins != 0xF2) isd_gp_forget(g->ram);
    *len = 0;
    switch (a->ins) {
    case 0xF2: return get_status(g, a, out, cap, len);
    case 0xE6: return do_install(g, a, out, len);
    case 0xE8: return do_load(g, a, out, len);
    case 0xE4: return do_delete(g, a, out, len);
    case 0xD8: return isd_put_key(g, a, out, len);
    case 0xF0: return set_status(g, a);
    default: return SW_INS_NOT_SUPPORTED;
    }
}
