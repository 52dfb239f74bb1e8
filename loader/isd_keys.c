/*
 * isd_keys.c — key management of the issuer security domain (USER mode):
 * PUT KEY (GPCS v2.3.1 11.8) and DELETE [key] (11.2.2.3.2), reached through
 * isd_gp_command, so a session with at least C-MAC is already checked.
 *
 * The key model is GlobalPlatform's: a key is named by (key identifier,
 * key version number). The store keeps one record per KVN with the three
 * SCP03 keys 1 ENC, 2 MAC, 3 DEK and a mask of those absent (layout.h), so
 * single keys can be added, replaced and deleted. Accepted:
 *
 *   key type   '88' AES (basic format, Table 11-68), 16, 24 or 32 bytes;
 *              every key of one KVN has the same length (Amendment D 6.1),
 *              and a replacement keeps the replaced key's length (11.8.2.3.3)
 *   component  with or without the key length byte (Tables 11-70 / 11-71)
 *   check      key check value of 3 bytes, mandatory (Annex B.6)
 *   P2         key id 1..3; b8 = several keys, ids following the first
 *   P1         b8 = more PUT KEY follow: the chain is applied atomically by
 *              its last command; until then the keys wait in RAM. Every
 *              command of a chain names the same P1 KVN and new KVN, and a
 *              key id at most once. Any other command drops the chain.
 *
 * Refused: other key types (DES 80, RSA, ECC, the extended format 'FF xx')
 * 6A80; key ids 0 and above 3 6A86 (P2) or 6A80 (implicit ids); a key that
 * already exists where PUT KEY adds (P1 00) 6A80; a KVN to replace that is
 * not there 6A88; a 17th key set 6A84; PUT KEY when the session's own key
 * set has no DEK any more 6985. DELETE [key] refuses (6985) to leave the
 * card without a key set that can open a session (ENC, MAC and DEK).
 */
#include <string.h>

#include "isd_gp.h"

#define MAX_SETS 16

/* The key store as the command will leave it: edited in RAM, then written
 * back record by record (the card commits them with the APDU). */
typedef struct key_plan {
    scp03_keyset sets[MAX_SETS + 1];
    uint8_t absent[MAX_SETS + 1];
    uint8_t touched[MAX_SETS + 1];
    size_t n;
    uint8_t deleted_kvn[MAX_SETS];
    size_t n_deleted;
} key_plan;

static uint16_t map_chip(int rc) { return rc == CHIP_ERR_POWER ? 0 : chip_status_to_sw(rc); }

void isd_put_key_forget(put_key_chain *chain) { scp03_wipe(chain, sizeof *chain); }

static void plan_load(const isd_gp_ctx *g, key_plan *p)
{
    memset(p, 0, sizeof *p);
    for (size_t i = 0; i < g->n_sets && i < MAX_SETS; i++) {
        p->sets[i] = g->sets[i];
        p->absent[i] = g->absent ? g->absent[i] : 0;
    }
    p->n = g->n_sets < MAX_SETS ? g->n_sets : MAX_SETS;
}

static int plan_find(const key_plan *p, uint8_t kvn)
{
    for (size_t i = 0; i < p->n; i++)
        if (p->sets[i].kvn == kvn) return (int)i;
    return -1;
}

static uint8_t *key_slot(scp03_keyset *ks, unsigned id)
{
    return id == 1 ? ks->enc : id == 2 ? ks->mac : ks->dek;
}

/* Removes key `id` of set i; a set with no key left goes. */
static void plan_drop_key(key_plan *p, size_t i, unsigned id)
{
    scp03_wipe(key_slot(&p->sets[i], id), SCP03_KEY_MAX);
    p->absent[i] |= (uint8_t)(1u << (id - 1));
    p->touched[i] = 1;
    if ((p->absent[i] & KEYSET_ABSENT_ALL) == KEYSET_ABSENT_ALL) {
        p->deleted_kvn[p->n_deleted++] = p->sets[i].kvn;
        scp03_wipe(&p->sets[i], sizeof p->sets[i]);
        p->n--;
        memmove(&p->sets[i], &p->sets[i + 1], (p->n - i) * sizeof p->sets[0]);
        memmove(&p->absent[i], &p->absent[i + 1], p->n - i);
        memmove(&p->touched[i], &p->touched[i + 1], p->n - i);
        scp03_wipe(&p->sets[p->n], sizeof p->sets[0]);
    }
}

static int plan_has_usable(const key_plan *p)
{
    for (size_t i = 0; i < p->n; i++)
        if ((p->absent[i] & KEYSET_ABSENT_ALL) == 0) return 1;
    return 0;
}

/* Writes the touched records and frees the deleted ones. */
static uint16_t plan_store(const isd_gp_ctx *g, const key_plan *p)
{
    chip *c = g->os->chip;
    for (size_t d = 0; d < p->n_deleted; d++) {
        if (plan_find(p, p->deleted_kvn[d]) >= 0) continue;   /* re-created in the same plan */
        int rc = keystore_delete(c, p->deleted_kvn[d]);
        if (rc && rc != CHIP_ERR_RANGE) return map_chip(rc);
    }
    for (size_t i = 0; i < p->n; i++) {
        if (!p->touched[i]) continue;
        int rc = keystore_put_masked(c, &p->sets[i], p->absent[i]);
        if (rc) return map_chip(rc);
    }
    return SW_OK;
}

/* ---- PUT KEY ---- */

/* Adds or replaces the keys of `chain` (have, keys, key_len) in the plan. */
static uint16_t plan_put(key_plan *p, const put_key_chain *ch)
{
    uint32_t counter = 0;
    if (ch->ref_kvn) {
        int r = plan_find(p, ch->ref_kvn);
        if (r < 0) return SW_REFERENCED_DATA_NOT_FOUND;
        for (unsigned id = 1; id <= 3; id++) {
            if (!(ch->have >> (id - 1) & 1)) continue;
            /* a replacement names an existing key and keeps its length */
            if (p->absent[r] >> (id - 1) & 1) return SW_REFERENCED_DATA_NOT_FOUND;
            if (p->sets[r].key_len != ch->key_len) return SW_WRONG_DATA;
        }
        counter = p->sets[r].counter;
        for (unsigned id = 1; id <= 3; id++)
            if (ch->have >> (id - 1) & 1) plan_drop_key(p, (size_t)r, id);
    }
    int t = plan_find(p, ch->new_kvn);
    if (t < 0) {
        if (p->n >= MAX_SETS) return SW_FILE_FULL;
        t = (int)p->n++;
        memset(&p->sets[t], 0, sizeof p->sets[t]);
        p->sets[t].kvn = ch->new_kvn;
        p->sets[t].key_len = ch->key_len;
        p->absent[t] = KEYSET_ABSENT_ALL;
    } else if (p->sets[t].key_len != ch->key_len && (p->absent[t] & KEYSET_ABSENT_ALL) != KEYSET_ABSENT_ALL) {
        return SW_WRONG_DATA;   /* one length per key set */
    }
    scp03_keyset *ks = &p->sets[t];
    for (unsigned id = 1; id <= 3; id++) {
        if (!(ch->have >> (id - 1) & 1)) continue;
        if (!(p->absent[t] >> (id - 1) & 1)) return SW_WRONG_DATA;   /* (id, KVN) exists: not an add */
        memcpy(key_slot(ks, id), ch->keys[id - 1], SCP03_KEY_MAX);
        p->absent[t] &= (uint8_t)~(1u << (id - 1));
    }
    ks->key_len = ch->key_len;
    /* never lower: pseudo-random challenges must not repeat */
    if (counter > ks->counter) ks->counter = counter;
    p->touched[t] = 1;
    return SW_OK;
}

uint16_t isd_put_key(const isd_gp_ctx *g, const apdu_command *a, uint8_t *out, size_t *len)
{
    put_key_chain *ch = g->chain;
    uint8_t ref = a->p1 & 0x7F, first = a->p2 & 0x7F;
    int more = (a->p1 & 0x80) != 0, several = (a->p2 & 0x80) != 0;
    if (first < 1 || first > 3) {
        isd_put_key_forget(ch);
        return SW_INCORRECT_P1P2;
    }
    /* The DEK of the session's key set decrypts the keys. */
    unsigned skvn = scp03_card_kvn(g->session);
    const scp03_keyset *ses = NULL;
    for (size_t i = 0; i < g->n_sets; i++)
        if (g->sets[i].kvn == skvn && !(g->absent && (g->absent[i] & 0x04))) ses = &g->sets[i];
    uint16_t sw = SW_OK;
    if (!ses) sw = SW_CONDITIONS_NOT_SATISFIED;
    else if (a->nc < 1 || a->data[0] == 0 || a->data[0] > 0x7F) sw = SW_WRONG_DATA;
    else if (ch->active && (ch->ref_kvn != ref || ch->new_kvn != a->data[0])) sw = SW_WRONG_DATA;
    if (sw != SW_OK) {
        isd_put_key_forget(ch);
        return sw;
    }
    if (!ch->active) {
        memset(ch, 0, sizeof *ch);
        ch->ref_kvn = ref;
        ch->new_kvn = a->data[0];
    }
    /* The key data fields: one, or (P2 b8) as many as follow. */
    const uint8_t *p = a->data + 1;
    size_t left = a->nc - 1;
    size_t n = 0;
    out[n++] = ch->new_kvn;
    unsigned id = first;
    do {
        if (id > 3 || (ch->have >> (id - 1) & 1)) { sw = SW_WRONG_DATA; break; }
        uint8_t key[SCP03_KEY_MAX];
        size_t used = 0, kl = 0;
        int r = scp03_key_block_decrypt(ses->dek, ses->key_len, p, left, &used, key, &kl);
        if (r != SCP03_OK || (ch->have && kl != ch->key_len)) {
            scp03_wipe(key, sizeof key);
            sw = SW_WRONG_DATA;
            break;
        }
        memcpy(ch->keys[id - 1], key, SCP03_KEY_MAX);
        scp03_wipe(key, sizeof key);
        ch->key_len = (uint8_t)kl;
        ch->have |= (uint8_t)(1u << (id - 1));
        memcpy(out + n, p + used - 3, 3);   /* the key check value closes the field */
        n += 3;
        p += used;
        left -= used;
        id++;
    } while (several && left > 0);
    if (sw == SW_OK && left != 0) sw = SW_WRONG_DATA;
    if (sw != SW_OK) {
        isd_put_key_forget(ch);
        return sw;
    }
    if (more) {
        ch->active = 1;   /* applied by the chain's last command */
        *len = n;
        return SW_OK;
    }
    key_plan plan;
    plan_load(g, &plan);
    sw = plan_put(&plan, ch);
    isd_put_key_forget(ch);
    if (sw == SW_OK) sw = plan_store(g, &plan);
    scp03_wipe(&plan, sizeof plan);
    if (sw == SW_OK) *len = n;
    return sw;
}

/* ---- DELETE [key] ---- */

uint16_t isd_delete_key(const isd_gp_ctx *g, const apdu_command *a, uint8_t *out, size_t *len)
{
    if (a->p1 != 0x00 || a->p2 != 0x00) return SW_INCORRECT_P1P2;
    int id = -1, kvn = -1;
    for (size_t i = 0; i < a->nc;) {
        if (a->nc - i < 3 || a->data[i + 1] != 1) return SW_WRONG_DATA;
        uint8_t tag = a->data[i], v = a->data[i + 2];
        if (tag == 0xD0 && id < 0) id = v;
        else if (tag == 0xD2 && kvn < 0) kvn = v;
        else return SW_WRONG_DATA;   /* another tag, or one given twice */
        i += 3;
    }
    key_plan plan;
    plan_load(g, &plan);
    int found = 0;
    for (size_t i = 0; i < plan.n;) {
        size_t before = plan.n;
        if (kvn < 0 || plan.sets[i].kvn == kvn) {
            for (unsigned k = 1; k <= 3 && plan.n == before; k++) {
                if ((id >= 0 && (unsigned)id != k) || (plan.absent[i] >> (k - 1) & 1)) continue;
                plan_drop_key(&plan, i, k);
                found = 1;
            }
        }
        if (plan.n == before) i++;   /* else the set went and i is the next one */
    }
    uint16_t sw = SW_OK;
    if (!found) sw = SW_REFERENCED_DATA_NOT_FOUND;
    else if (!plan_has_usable(&plan)) sw = SW_CONDITIONS_NOT_SATISFIED;
    else sw = plan_store(g, &plan);
    scp03_wipe(&plan, sizeof plan);
    if (sw == SW_OK) {
        out[0] = 0x00;   /* no delete confirmation (11.2.3.1) */
        *len = 1;
    }
    return sw;
}
