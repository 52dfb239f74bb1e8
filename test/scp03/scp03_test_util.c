#include "scp03_test_util.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------- JSON ---------------- */

typedef struct {
    const char *p;
    const char *end;
    int err;
} jparser;

static void skip_ws(jparser *j)
{
    while (j->p < j->end && isspace((unsigned char)*j->p)) {
        j->p++;
    }
}

static jv *jv_new(int type)
{
    jv *v = calloc(1, sizeof *v);
    if (v == NULL) {
        abort();
    }
    v->type = type;
    return v;
}

static char *parse_string_raw(jparser *j)
{
    if (j->p >= j->end || *j->p != '"') {
        j->err = 1;
        return NULL;
    }
    j->p++;
    size_t cap = 64, n = 0;
    char *s = malloc(cap);
    if (s == NULL) {
        abort();
    }
    while (j->p < j->end && *j->p != '"') {
        char c = *j->p++;
        if (c == '\\' && j->p < j->end) {
            char e = *j->p++;
            switch (e) {
            case 'n': c = '\n'; break;
            case 't': c = '\t'; break;
            case 'r': c = '\r'; break;
            case 'b': c = '\b'; break;
            case 'f': c = '\f'; break;
            case 'u':
                /* the vector file has no \u escapes; keep a placeholder */
                j->p += (j->end - j->p >= 4) ? 4 : (j->end - j->p);
                c = '?';
                break;
            default: c = e; break;
            }
        }
        if (n + 2 > cap) {
            cap *= 2;
            s = realloc(s, cap);
            if (s == NULL) {
                abort();
            }
        }
        s[n++] = c;
    }
    if (j->p >= j->end) {
        j->err = 1;
        free(s);
        return NULL;
    }
    j->p++;
    s[n] = 0;
    return s;
}

static jv *parse_value(jparser *j, int depth);

static void push(jv *v, jv *item, char *key)
{
    v->items = realloc(v->items, (v->n + 1) * sizeof *v->items);
    if (v->items == NULL) {
        abort();
    }
    v->items[v->n] = item;
    if (v->type == JV_OBJ) {
        v->keys = realloc(v->keys, (v->n + 1) * sizeof *v->keys);
        if (v->keys == NULL) {
            abort();
        }
        v->keys[v->n] = key;
    }
    v->n++;
}

static jv *parse_value(jparser *j, int depth)
{
    skip_ws(j);
    if (j->p >= j->end || depth > 32) {
        j->err = 1;
        return NULL;
    }
    char c = *j->p;
    if (c == '"') {
        jv *v = jv_new(JV_STR);
        v->str = parse_string_raw(j);
        return v;
    }
    if (c == '{' || c == '[') {
        int obj = c == '{';
        jv *v = jv_new(obj ? JV_OBJ : JV_ARR);
        j->p++;
        skip_ws(j);
        if (j->p < j->end && *j->p == (obj ? '}' : ']')) {
            j->p++;
            return v;
        }
        for (;;) {
            char *key = NULL;
            if (obj) {
                skip_ws(j);
                key = parse_string_raw(j);
                skip_ws(j);
                if (j->err || j->p >= j->end || *j->p != ':') {
                    j->err = 1;
                    free(key);
                    return v;
                }
                j->p++;
            }
            jv *item = parse_value(j, depth + 1);
            push(v, item, key);
            if (j->err) {
                return v;
            }
            skip_ws(j);
            if (j->p < j->end && *j->p == ',') {
                j->p++;
                continue;
            }
            if (j->p < j->end && *j->p == (obj ? '}' : ']')) {
                j->p++;
                return v;
            }
            j->err = 1;
            return v;
        }
    }
    if (strncmp(j->p, "null", 4) == 0) {
        j->p += 4;
        return jv_new(JV_NULL);
    }
    if (strncmp(j->p, "true", 4) == 0 || strncmp(j->p, "false", 5) == 0) {
        jv *v = jv_new(JV_BOOL);
        v->num = (*j->p == 't');
        j->p += (*j->p == 't') ? 4 : 5;
        return v;
    }
    char *endp = NULL;
    double d = strtod(j->p, &endp);
    if (endp == j->p) {
        j->err = 1;
        return NULL;
    }
    j->p = endp;
    jv *v = jv_new(JV_NUM);
    v->num = d;
    return v;
}

jv *jv_parse_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        return NULL;
    }
    fseek(f, 0, SEEK_END);
    long sz = ftell(f);
    fseek(f, 0, SEEK_SET);
    if (sz <= 0) {
        fclose(f);
        return NULL;
    }
    char *buf = malloc((size_t)sz);
    if (buf == NULL || fread(buf, 1, (size_t)sz, f) != (size_t)sz) {
        free(buf);
        fclose(f);
        return NULL;
    }
    fclose(f);
    jparser j = { buf, buf + sz, 0 };
    jv *v = parse_value(&j, 0);
    free(buf);
    if (j.err) {
        jv_free(v);
        return NULL;
    }
    return v;
}

void jv_free(jv *v)
{
    if (v == NULL) {
        return;
    }
    for (size_t i = 0; i < v->n; i++) {
        jv_free(v->items[i]);
        if (v->keys) {
            free(v->keys[i]);
        }
    }
    free(v->items);
    free(v->keys);
    free(v->str);
    free(v);
}

const jv *jv_get(const jv *obj, const char *key)
{
    if (obj == NULL || obj->type != JV_OBJ) {
        return NULL;
    }
    for (size_t i = 0; i < obj->n; i++) {
        if (obj->keys[i] != NULL && strcmp(obj->keys[i], key) == 0) {
            return obj->items[i];
        }
    }
    return NULL;
}

const jv *jv_at(const jv *arr, size_t i)
{
    if (arr == NULL || arr->type != JV_ARR || i >= arr->n) {
        return NULL;
    }
    return arr->items[i];
}

const char *jv_str(const jv *v)
{
    return (v != NULL && v->type == JV_STR) ? v->str : NULL;
}

/* ---------------- hex ---------------- */

static int nibble(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

size_t hex2bin(const char *hex, uint8_t *out, size_t cap)
{
    if (hex == NULL) {
        return (size_t)-1;
    }
    size_t len = strlen(hex);
    if (len % 2 != 0 || len / 2 > cap) {
        return (size_t)-1;
    }
    for (size_t i = 0; i < len / 2; i++) {
        int hi = nibble(hex[2 * i]), lo = nibble(hex[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            return (size_t)-1;
        }
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return len / 2;
}

void print_hex(const char *label, const uint8_t *p, size_t n)
{
    fprintf(stderr, "%s (%zu): ", label, n);
    for (size_t i = 0; i < n; i++) {
        fprintf(stderr, "%02X", p[i]);
    }
    fprintf(stderr, "\n");
}

/* ---------------- fixture ---------------- */

const uint8_t test_aid[16] = { 0xA0, 0x00, 0x00, 0x05, 0x59, 0x10, 0x10, 0xFF,
                               0xFF, 0xFF, 0xFF, 0x89, 0x00, 0x00, 0x01, 0x00 };

static int fx_commit(void *ctx, uint8_t kvn, uint32_t value)
{
    card_fixture *f = ctx;
    f->commit_calls++;
    if (f->commit_fail) {
        return -1;
    }
    f->last_kvn = kvn;
    f->last_value = value;
    return 0;
}

static int fx_random(void *ctx, uint8_t *out, size_t len)
{
    card_fixture *f = ctx;
    for (size_t i = 0; i < len; i++) {
        f->rng = f->rng * 1103515245u + 12345u;
        out[i] = (uint8_t)(f->rng >> 16);
    }
    return 0;
}

void fixture_init(card_fixture *f, size_t key_len, uint8_t i_param)
{
    memset(f, 0, sizeof *f);
    for (int k = 0; k < 3; k++) {
        f->ks[k].kvn = (uint8_t)(0x30 + k);
        f->ks[k].key_len = (uint8_t)key_len;
        for (size_t i = 0; i < key_len; i++) {
            f->ks[k].enc[i] = (uint8_t)(0x40 + i + k);
            f->ks[k].mac[i] = (uint8_t)(0x60 + i + k);
            f->ks[k].dek[i] = (uint8_t)(0x80 + i + k);
        }
        f->ks[k].counter = 0x10 * (uint32_t)k;
    }
    f->cfg.keysets = f->ks;
    f->cfg.n_keysets = 3;
    f->cfg.aid = test_aid;
    f->cfg.aid_len = sizeof test_aid;
    f->cfg.i_param = i_param;
    f->cfg.commit_counter = fx_commit;
    f->cfg.commit_ctx = f;
    f->cfg.random = fx_random;
    f->cfg.random_ctx = f;
    f->rng = 12345;
    scp03_card_reset(&f->s);
}

int card_send(card_fixture *f, const uint8_t *apdu, size_t len, uint8_t *out, size_t *out_len,
              uint16_t *sw)
{
    return scp03_card_command(&f->s, &f->cfg, apdu, len, out, 4096, out_len, sw);
}

int fixture_open(card_fixture *f, scp03_host_session *h, uint8_t level)
{
    const scp03_keyset *ks = &f->ks[0];
    if (scp03_host_init(h, ks->enc, ks->mac, ks->key_len, test_aid, sizeof test_aid) != SCP03_OK) {
        return -1;
    }
    uint8_t hc[8] = { 1, 2, 3, 4, 5, 6, 7, (uint8_t)f->commit_calls };
    uint8_t apdu[64], out[4096];
    size_t n = 0, on = 0;
    uint16_t sw = 0;
    if (scp03_host_initialize_update(h, ks->kvn, hc, apdu, sizeof apdu, &n) != SCP03_OK) return -2;
    if (card_send(f, apdu, n, out, &on, &sw) != SCP03_CARD_REPLY || sw != 0x9000) return -3;
    if (scp03_host_check_initialize_update_response(h, out, on) != SCP03_OK) return -4;
    if (scp03_host_external_authenticate(h, level, apdu, sizeof apdu, &n) != SCP03_OK) return -5;
    if (card_send(f, apdu, n, out, &on, &sw) != SCP03_CARD_REPLY || sw != 0x9000) return -6;
    return 0;
}
