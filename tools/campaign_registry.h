/*
 * campaign_registry.h — the management server's card registry (SQLite, the
 * embedded default). One row per card:
 *
 *   serial TEXT PRIMARY KEY   16 hex digits
 *   div_data TEXT             key diversification data (20 hex digits)
 *   kvn, scp_i INTEGER        key version number, SCP03 i parameter
 *   isd_aid TEXT              security domain AID (pseudo-random challenge)
 *   counter INTEGER           last known sequence counter
 *   status TEXT               enrolled | prepared | playing | played | stale | updated | failed
 *   image TEXT                card image path (simulation; a real fleet has none)
 *   campaign TEXT             campaign id the status refers to
 *   host_challenge TEXT, p_aut BLOB   the P_AUT issued (apdu_list bytes)
 *   reply BLOB                the terminal's raw ATHZ response (until recorded)
 *   st BLOB                   the verified state information ST
 *   attempts INTEGER          P_AUT issued for this campaign
 */
#ifndef CARDVM_CAMPAIGN_REGISTRY_H
#define CARDVM_CAMPAIGN_REGISTRY_H

#include <stddef.h>
#include <stdint.h>

#include "campaign_core.h"

typedef struct registry registry;

typedef struct registry_card {
    campaign_card id;
    char image[512];
    char status[16];
    char campaign[17];
    uint8_t hc[8];
    apdu_list paut;            /* owned: apdu_list_free */
    uint8_t reply[600];
    size_t reply_len;
    int attempts;
} registry_card;

/* Opens the registry at path; with create == 0 the file must exist. */
int registry_open(const char *path, int create, registry **out);
void registry_close(registry *r);
int registry_begin(registry *r);
int registry_commit(registry *r);

int registry_add(registry *r, const campaign_card *id, const char *image);
/* Loads one card (paut zeroed first; caller frees). */
int registry_get(registry *r, const uint8_t serial[8], registry_card *rc);
/* Serials in rowid order, up to cap; returns how many. */
size_t registry_serials(registry *r, uint8_t (*out)[8], size_t cap);
int registry_set_paut(registry *r, const uint8_t serial[8], const char *campaign, const uint8_t hc[8],
                      const apdu_list *paut, int attempts);
int registry_set_status(registry *r, const uint8_t serial[8], const char *status, uint32_t counter,
                        const uint8_t *blob, size_t blob_len, int blob_is_st);
/* Count cards with this status for this campaign (status NULL: all cards). */
long registry_count(registry *r, const char *campaign, const char *status);

#endif
