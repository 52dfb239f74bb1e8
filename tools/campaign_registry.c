/* campaign_registry.c — see campaign_registry.h. */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apdu.h"
#include "campaign_registry.h"

struct registry {
    sqlite3 *db;
};

static const char schema[] =
    "CREATE TABLE IF NOT EXISTS cards("
    " serial TEXT PRIMARY KEY, div_data TEXT NOT NULL, kvn INTEGER NOT NULL, scp_i INTEGER NOT NULL,"
    " isd_aid TEXT NOT NULL, counter INTEGER NOT NULL, status TEXT NOT NULL DEFAULT 'enrolled',"
    " image TEXT, campaign TEXT, host_challenge TEXT, p_aut BLOB, reply BLOB, st BLOB,"
    " attempts INTEGER NOT NULL DEFAULT 0);";

int registry_open(const char *path, int create, registry **out)
{
    registry *r = calloc(1, sizeof *r);
    if (!r) return CAMPAIGN_ERR_IO;
    /* Without `create` a missing file is an error: SQLite would otherwise
     * make an empty database, and a mistyped --registry would look like a
     * fleet with no cards. */
    int flags = SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0);
    if (sqlite3_open_v2(path, &r->db, flags, NULL) != SQLITE_OK ||
        sqlite3_exec(r->db, schema, NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_exec(r->db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;", NULL, NULL, NULL) != SQLITE_OK) {
        sqlite3_close(r->db);
        free(r);
        return CAMPAIGN_ERR_IO;
    }
    *out = r;
    return CAMPAIGN_OK;
}

void registry_close(registry *r)
{
    if (!r) return;
    sqlite3_close(r->db);
    free(r);
}

int registry_begin(registry *r) { return sqlite3_exec(r->db, "BEGIN", NULL, NULL, NULL) == SQLITE_OK ? 0 : CAMPAIGN_ERR_IO; }
int registry_commit(registry *r) { return sqlite3_exec(r->db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK ? 0 : CAMPAIGN_ERR_IO; }

static void hex_of(const uint8_t *b, size_t n, char *o) { campaign_hex(b, n, o); }

int registry_add(registry *r, const campaign_card *id, const char *image)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(r->db,
                           "INSERT OR REPLACE INTO cards(serial,div_data,kvn,scp_i,isd_aid,counter,status,image,attempts)"
                           " VALUES(?,?,?,?,?,?,'enrolled',?,0)",
                           -1, &st, NULL) != SQLITE_OK)
        return CAMPAIGN_ERR_IO;
    char s[17], d[21], a[33];
    hex_of(id->serial, 8, s);
    hex_of(id->div_data, 10, d);
    hex_of(id->isd_aid, id->isd_aid_len, a);
    sqlite3_bind_text(st, 1, s, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, d, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(st, 3, id->kvn);
    sqlite3_bind_int(st, 4, id->scp_i);
    sqlite3_bind_text(st, 5, a, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 6, id->counter);
    sqlite3_bind_text(st, 7, image ? image : "", -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : CAMPAIGN_ERR_IO;
    sqlite3_finalize(st);
    return rc;
}

static void col_hex(sqlite3_stmt *st, int i, uint8_t *out, size_t cap, size_t *n)
{
    const char *t = (const char *)sqlite3_column_text(st, i);
    long k = t ? hex_decode(t, out, cap) : 0;
    if (n) *n = k > 0 ? (size_t)k : 0;
}

int registry_get(registry *r, const uint8_t serial[8], registry_card *rc)
{
    memset(rc, 0, sizeof *rc);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(r->db,
                           "SELECT div_data,kvn,scp_i,isd_aid,counter,status,image,campaign,host_challenge,p_aut,"
                           "reply,attempts FROM cards WHERE serial=?",
                           -1, &st, NULL) != SQLITE_OK)
        return CAMPAIGN_ERR_IO;
    char s[17];
    hex_of(serial, 8, s);
    sqlite3_bind_text(st, 1, s, -1, SQLITE_TRANSIENT);
    int res = CAMPAIGN_ERR_PARAM;
    if (sqlite3_step(st) == SQLITE_ROW) {
        memcpy(rc->id.serial, serial, 8);
        col_hex(st, 0, rc->id.div_data, 10, NULL);
        rc->id.kvn = (uint8_t)sqlite3_column_int(st, 1);
        rc->id.scp_i = (uint8_t)sqlite3_column_int(st, 2);
        size_t n = 0;
        col_hex(st, 3, rc->id.isd_aid, 16, &n);
        rc->id.isd_aid_len = (uint8_t)n;
        rc->id.counter = (uint32_t)sqlite3_column_int64(st, 4);
        const char *t = (const char *)sqlite3_column_text(st, 5);
        snprintf(rc->status, sizeof rc->status, "%s", t ? t : "");
        t = (const char *)sqlite3_column_text(st, 6);
        snprintf(rc->image, sizeof rc->image, "%s", t ? t : "");
        t = (const char *)sqlite3_column_text(st, 7);
        snprintf(rc->campaign, sizeof rc->campaign, "%s", t ? t : "");
        col_hex(st, 8, rc->hc, 8, NULL);
        int pl = sqlite3_column_bytes(st, 9);
        const void *pb = sqlite3_column_blob(st, 9);
        if (pl > 0 && pb) {
            rc->paut.buf = malloc((size_t)pl);
            if (rc->paut.buf) {
                memcpy(rc->paut.buf, pb, (size_t)pl);
                rc->paut.len = rc->paut.cap = (size_t)pl;
                size_t pos = 0, k;
                const uint8_t *a;
                while (apdu_list_next(&rc->paut, &pos, &a, &k)) rc->paut.n++;
            }
        }
        int rl = sqlite3_column_bytes(st, 10);
        const void *rb = sqlite3_column_blob(st, 10);
        if (rl > 0 && rb && (size_t)rl <= sizeof rc->reply) {
            memcpy(rc->reply, rb, (size_t)rl);
            rc->reply_len = (size_t)rl;
        }
        rc->attempts = sqlite3_column_int(st, 11);
        res = CAMPAIGN_OK;
    }
    sqlite3_finalize(st);
    return res;
}

size_t registry_serials(registry *r, uint8_t (*out)[8], size_t cap)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(r->db, "SELECT serial FROM cards ORDER BY rowid", -1, &st, NULL) != SQLITE_OK) return 0;
    size_t n = 0;
    while (n < cap && sqlite3_step(st) == SQLITE_ROW) {
        const char *t = (const char *)sqlite3_column_text(st, 0);
        if (t && hex_decode(t, out[n], 8) == 8) n++;
    }
    sqlite3_finalize(st);
    return n;
}

int registry_set_paut(registry *r, const uint8_t serial[8], const char *campaign, const uint8_t hc[8],
                      const apdu_list *paut, int attempts)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(r->db,
                           "UPDATE cards SET status='prepared',campaign=?,host_challenge=?,p_aut=?,reply=NULL,"
                           "attempts=? WHERE serial=?",
                           -1, &st, NULL) != SQLITE_OK)
        return CAMPAIGN_ERR_IO;
    char s[17], h[17];
    hex_of(serial, 8, s);
    hex_of(hc, 8, h);
    sqlite3_bind_text(st, 1, campaign, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, h, -1, SQLITE_TRANSIENT);
    sqlite3_bind_blob(st, 3, paut->buf, (int)paut->len, SQLITE_TRANSIENT);
    sqlite3_bind_int(st, 4, attempts);
    sqlite3_bind_text(st, 5, s, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : CAMPAIGN_ERR_IO;
    sqlite3_finalize(st);
    return rc;
}

int registry_set_status(registry *r, const uint8_t serial[8], const char *status, uint32_t counter,
                        const uint8_t *blob, size_t blob_len, int blob_is_st)
{
    sqlite3_stmt *st;
    const char *sql = blob_is_st ? "UPDATE cards SET status=?,counter=?,st=?,reply=NULL,p_aut=NULL WHERE serial=?"
                                 : "UPDATE cards SET status=?,counter=?,reply=? WHERE serial=?";
    if (sqlite3_prepare_v2(r->db, sql, -1, &st, NULL) != SQLITE_OK) return CAMPAIGN_ERR_IO;
    char s[17];
    hex_of(serial, 8, s);
    sqlite3_bind_text(st, 1, status, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 2, counter);
    if (blob && blob_len) sqlite3_bind_blob(st, 3, blob, (int)blob_len, SQLITE_TRANSIENT);
    else sqlite3_bind_null(st, 3);
    sqlite3_bind_text(st, 4, s, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : CAMPAIGN_ERR_IO;
    sqlite3_finalize(st);
    return rc;
}

long registry_count(registry *r, const char *campaign, const char *status)
{
    sqlite3_stmt *st;
    const char *sql = status ? "SELECT COUNT(*) FROM cards WHERE campaign=? AND status=?" : "SELECT COUNT(*) FROM cards";
    if (sqlite3_prepare_v2(r->db, sql, -1, &st, NULL) != SQLITE_OK) return -1;
    if (status) {
        sqlite3_bind_text(st, 1, campaign, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 2, status, -1, SQLITE_TRANSIENT);
    }
    long n = sqlite3_step(st) == SQLITE_ROW ? (long)sqlite3_column_int64(st, 0) : -1;
    sqlite3_finalize(st);
    return n;
}
