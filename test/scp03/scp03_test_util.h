/*
 * Helpers for the SCP03 tests: hex, a tiny JSON reader for the committed
 * vector file, and a card/host fixture.
 */
#ifndef SCP03_TEST_UTIL_H
#define SCP03_TEST_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "scp03.h"

/* ---- JSON (just enough for test/scp03/vectors/scp03-vectors.json) ---- */

enum { JV_NULL, JV_BOOL, JV_NUM, JV_STR, JV_ARR, JV_OBJ };

typedef struct jv {
    int type;
    char *str;          /* JV_STR */
    double num;         /* JV_NUM, JV_BOOL */
    size_t n;           /* JV_ARR, JV_OBJ */
    struct jv **items;
    char **keys;        /* JV_OBJ */
} jv;

jv *jv_parse_file(const char *path);
void jv_free(jv *v);
const jv *jv_get(const jv *obj, const char *key);   /* NULL if absent */
const jv *jv_at(const jv *arr, size_t i);
const char *jv_str(const jv *v);                    /* NULL unless a string */

/* ---- hex ---- */

/* Decodes hex (either case) into out; returns the byte count, or (size_t)-1. */
size_t hex2bin(const char *hex, uint8_t *out, size_t cap);
void print_hex(const char *label, const uint8_t *p, size_t n);

/* ---- fixture ---- */

typedef struct card_fixture {
    scp03_keyset ks[3];
    scp03_card_config cfg;
    scp03_card_session s;
    int commit_calls;
    int commit_fail;        /* make the next commits fail */
    uint8_t last_kvn;
    uint32_t last_value;
    uint32_t rng;           /* random callback state */
} card_fixture;

/* AES keys of the given length, KVN 0x30, i and AID as given. */
void fixture_init(card_fixture *f, size_t key_len, uint8_t i_param);

extern const uint8_t test_aid[16];

/* Opens a host<->card session at `level`; returns 0 on success. */
int fixture_open(card_fixture *f, scp03_host_session *h, uint8_t level);

/* Sends apdu to the card; returns scp03_card_command's code, SW in *sw,
 * output in out/out_len (out must hold 4096 bytes). */
int card_send(card_fixture *f, const uint8_t *apdu, size_t len, uint8_t *out, size_t *out_len,
              uint16_t *sw);

#endif
