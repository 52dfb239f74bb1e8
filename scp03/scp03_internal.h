/*
 * Internal helpers shared by the card and host roles. Not installed.
 */
#ifndef CARDVM_SCP03_INTERNAL_H
#define CARDVM_SCP03_INTERNAL_H

#include "scp03.h"

/* ---- scheduled keys (scp03_crypto.c) ---- */

/* Schedules key (16/24/32 bytes) into k, and computes the CMAC subkeys. */
int scp03_i_key_setup(scp03_aes_key *k, const uint8_t *key, size_t key_len);

/* CMAC over a || b || c (any may be empty) with a scheduled key. */
int scp03_i_cmac3(const scp03_aes_key *k, const uint8_t *a, size_t alen, const uint8_t *b,
                  size_t blen, const uint8_t *c, size_t clen, uint8_t mac[16]);

/* AES-CBC over len bytes (multiple of 16) with ICV = AES(k, icv_in). In place
 * allowed (in == out). */
int scp03_i_cbc(const scp03_aes_key *k, const uint8_t icv_in[16], int decrypt, const uint8_t *in,
                uint8_t *out, size_t len);

/* AES-CBC with a zero ICV and a raw key (key data encryption with Key-DEK). */
int scp03_i_cbc_raw(const uint8_t *key, size_t key_len, int decrypt, const uint8_t *in,
                    uint8_t *out, size_t len);

/* ---- small helpers ---- */

int scp03_i_key_len_ok(size_t n);
int scp03_i_i_param_ok(unsigned i);
/* 1 if level is one of 00 01 03 11 13 33 and the i parameter allows it. */
int scp03_i_level_ok(unsigned level, unsigned i_param);
void scp03_i_ctr_inc(uint8_t ctr[16]);
void scp03_i_ctr_dec(uint8_t ctr[16]);
/* 1 for 9000, 62xx, 63xx: the status words that get an R-MAC. */
int scp03_i_sw_protected(uint16_t sw);

/* Number of padding bytes ('80 00..') that 4.1.4 adds to n bytes: 1..16. */
static inline size_t scp03_i_pad_len(size_t n) { return 16u - (n % 16u); }

/* Length of the data before '80 00..' padding of buf[0..n), or (size_t)-1 if
 * the padding is malformed. Looks at the last block only. */
size_t scp03_i_unpad(const uint8_t *buf, size_t n);

/* ---- APDU layout (scp03_apdu.c) ---- */

typedef struct scp03_apdu {
    size_t nc;          /* data length */
    size_t data_off;    /* 4, 5 or 7 */
    size_t le_len;      /* Le bytes present after the data: 0, 1, 2 (ext with Lc) or 3 (ext case 2) */
    size_t le_off;
    int extended;
} scp03_apdu;

/* Parses the ISO/IEC 7816-4 case of apdu[0..len). 0 ok, -1 malformed. */
int scp03_i_apdu_parse(const uint8_t *apdu, size_t len, scp03_apdu *p);

/* CLA helpers covering both interindustry codings. */
int scp03_i_cla_secured(uint8_t cla);
int scp03_i_cla_sm_unsupported(uint8_t cla); /* ISO secure messaging bits (b4) */
uint8_t scp03_i_cla_plain(uint8_t cla);   /* secure messaging indication removed */
uint8_t scp03_i_cla_sm(uint8_t cla);      /* GP secure messaging indication set */
uint8_t scp03_i_cla_for_mac(uint8_t cla); /* channel 0, first interindustry, b3 set */

/* Writes the Lc field for nc bytes in the given form; returns its length
 * (1 or 3). */
size_t scp03_i_put_lc(uint8_t *p, size_t nc, int extended);

#endif /* CARDVM_SCP03_INTERNAL_H */
