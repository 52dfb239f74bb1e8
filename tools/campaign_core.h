/*
 * campaign_core.h — the off-card side of the broadcast update (seed 004,
 * FIG. 5), without storage: the design system (P_SE, once for all cards),
 * the management server's HSM work (static key diversification, P_AUT per
 * card), the terminal (playing P_AUT and P_SE to one card) and the check of
 * the state information ST. docs/broadcast.md describes every format.
 */
#ifndef CARDVM_CAMPAIGN_CORE_H
#define CARDVM_CAMPAIGN_CORE_H

#include <stddef.h>
#include <stdint.h>

#include "scp03.h"

#define CAMPAIGN_OK 0
#define CAMPAIGN_ERR_PARAM (-1)
#define CAMPAIGN_ERR_CRYPTO (-2)
#define CAMPAIGN_ERR_IO (-3)
#define CAMPAIGN_ERR_STALE (-4)     /* the card's sequence counter moved: reissue P_AUT */
#define CAMPAIGN_ERR_CARD (-5)      /* the card answered an error status word */
#define CAMPAIGN_ERR_ST (-6)        /* ST missing, not authentic or not the expected one */
#define CAMPAIGN_ERR_MUTE (-7)      /* no answer (transport failure, power cut) */

/* A list of APDUs: each one u16 big-endian length || bytes. */
typedef struct apdu_list {
    uint8_t *buf;
    size_t len, cap;
    size_t n;
} apdu_list;

int apdu_list_add(apdu_list *l, const uint8_t *apdu, size_t n);
/* Iterate: *pos starts at 0; returns 1 with the APDU, 0 at the end. */
int apdu_list_next(const apdu_list *l, size_t *pos, const uint8_t **apdu, size_t *n);
void apdu_list_free(apdu_list *l);

/* What AUTHORIZE_ACTION activates after the MAC check. */
typedef struct campaign_action {
    uint8_t flags;               /* BROADCAST_ACT_* */
    uint8_t applet[16], applet_len;
    uint8_t instance[16], instance_len;
    uint8_t slot;
    uint16_t method;
} campaign_action;

/* The campaign as the design system hands it to the management server. */
typedef struct campaign {
    uint8_t id[8];
    uint8_t profile;             /* 3 or 4 */
    uint8_t counter[16];         /* the broadcast channel's initial counter */
    uint8_t chain[16];           /* ... and MAC chaining value */
    uint32_t size;               /* transport bytes (sum of the Di) */
    uint8_t keys[2 * SCP03_KEY_BLOCK_MAX];  /* CHANGE MODE key field (see broadcast.h) */
    size_t keys_len;
    uint8_t mac[16];             /* the MAC of DATASEND */
    uint8_t action[64];          /* action byte || parameters */
    size_t action_len;
    uint8_t hash[32];            /* SHA-256 of DATASEND (what ST reports) */
    uint8_t aid[16], aid_len;    /* the package's AID and version */
    uint8_t major, minor;
    uint32_t n_cmdi;
} campaign;

/* Design system (E100): BK drawn at random; P_SE = the N CMDi and CHANGE MODE
 * back, wrapped in the broadcast channel. chunk: Di size (16..4096, a
 * multiple of 16 for FIG.4; 224 fits short APDUs). kmac only for FIG.4. */
int campaign_design(const uint8_t *datasend, size_t len, uint8_t profile, const uint8_t kos[16],
                    const uint8_t kmac[16], const campaign_action *act, size_t chunk,
                    campaign *out, apdu_list *pse);

/* The same with chosen BK-ENC || BK-MAC (tests, reproducible examples). */
int campaign_design_bk(const uint8_t *datasend, size_t len, uint8_t profile, const uint8_t kos[16],
                       const uint8_t kmac[16], const campaign_action *act, size_t chunk, const uint8_t bk[32],
                       campaign *out, apdu_list *pse);

/* Text files (docs/broadcast.md): the campaign record and P_SE. */
int campaign_save(const char *path, const campaign *c);
int campaign_load(const char *path, campaign *c);
int pse_save(const char *path, const apdu_list *pse);
int pse_load(const char *path, apdu_list *pse);

/* A card as the management server knows it. */
typedef struct campaign_card {
    uint8_t serial[8];
    uint8_t div_data[10];
    uint8_t kvn;
    uint8_t scp_i;
    uint8_t isd_aid[16], isd_aid_len;
    uint32_t counter;            /* last known sequence counter (GET DATA C1) */
} campaign_card;

/* HSM: static keys of a card, SP 800-108 counter-mode KDF with AES-CMAC
 * under the master key: label "CVKD" || 00 || key id (1 ENC, 2 MAC, 3 DEK),
 * context serial || div data, 128 bits. */
int campaign_derive_keys(const uint8_t master[16], const uint8_t serial[8], const uint8_t div_data[10],
                         uint8_t enc[16], uint8_t mac[16], uint8_t dek[16]);

/* HSM (E124): P_AUT = INITIALIZE UPDATE, EXTERNAL AUTHENTICATE, CHANGE MODE
 * with BK, AUTHORIZE_ACTION, for the card's next sequence counter. Leaves
 * the host session (after AUTHORIZE_ACTION) in *h when not NULL, to check ST. */
int campaign_build_paut(const campaign *c, const uint8_t master[16], const campaign_card *card,
                        const uint8_t host_challenge[8], apdu_list *paut, scp03_host_session *h);

/* Terminal (E130-E138): send(ctx, cmd, n, rsp, cap, &rlen) transmits one
 * APDU (returns 0, rsp = data || SW). Plays P_AUT's first three commands,
 * P_SE, then AUTHORIZE_ACTION; *st gets its raw response. *reported gets the
 * counter the card reported in INITIALIZE UPDATE (0 if none). */
typedef int (*campaign_send_fn)(void *ctx, const uint8_t *cmd, size_t n, uint8_t *rsp, size_t cap,
                                size_t *rlen);
int campaign_play(campaign_send_fn send, void *ctx, const apdu_list *paut, const apdu_list *pse,
                  uint8_t *st, size_t st_cap, size_t *st_len, uint32_t *reported, uint16_t *sw);

/* Server (E140-E144): verify the ATHZ response with the P_AUT host session
 * (R-MAC, R-ENC) and its content: campaign, package, hash, serial, counter. */
typedef struct campaign_st {
    uint8_t action;
    uint8_t aid[16], aid_len;
    uint8_t major, minor;
    uint8_t hash[32];
    uint8_t serial[8];
    uint32_t counter;
    uint8_t campaign[8];
} campaign_st;
int campaign_check_st(const campaign *c, const campaign_card *card, scp03_host_session *h,
                      const uint8_t *rsp, size_t len, campaign_st *st);

/* hex helpers */
void campaign_hex(const uint8_t *b, size_t n, char *out);

#endif
