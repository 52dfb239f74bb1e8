/*
 * isd_gp.h — GlobalPlatform card content management of the issuer security
 * domain (USER mode), between isd.c (routing, SCP03) and isd_gp.c.
 */
#ifndef CARDVM_LOADER_ISD_GP_H
#define CARDVM_LOADER_ISD_GP_H

#include <stddef.h>
#include <stdint.h>

#include "loader_internal.h"

typedef struct isd_gp_ctx {
    card_os *os;
    scp03_card_session *session;
    const scp03_keyset *sets;      /* the key store as loaded for this APDU */
    size_t n_sets;
    const uint8_t *isd_aid;
    uint8_t isd_aid_len;
    uint8_t *ram;                  /* loader_ram.isd_gp (8 bytes) */
    const uint8_t *absent;         /* per set: keys not present (layout.h) */
    put_key_chain *chain;          /* loader_ram.put_key (isd_keys.c) */
} isd_gp_ctx;

/* 1 when INS (and, for F0, P1) is a content management command of
 * isd_gp.c. */
int isd_gp_handles(uint8_t ins, uint8_t p1);

/* Run one unwrapped content management command (a->cla already without the
 * secure messaging bit). Checks the session itself (6982 without an
 * authenticated session with at least C-MAC). Returns the SW, 0 after a
 * power cut. */
uint16_t isd_gp_command(const isd_gp_ctx *g, const apdu_command *a, uint8_t *out, size_t cap,
                        size_t *len);

/* Key management (isd_keys.c), called by isd_gp_command with the session
 * already checked: PUT KEY (GPCS 11.8) and DELETE [key] (11.2.2.3.2, the
 * data field starts with D0 or D2). */
uint16_t isd_put_key(const isd_gp_ctx *g, const apdu_command *a, uint8_t *out, size_t *len);
uint16_t isd_delete_key(const isd_gp_ctx *g, const apdu_command *a, uint8_t *out, size_t *len);
/* Ends a PUT KEY chain, wiping what it had received. */
void isd_put_key_forget(put_key_chain *chain);

/* A new secure channel session was opened (EXTERNAL AUTHENTICATE answered
 * 9000): forget an interrupted load of an earlier session (staged blocks,
 * INSTALL [for load] record) and any GET STATUS continuation. Returns a
 * chip status (CHIP_ERR_POWER after a cut). */
int isd_gp_session_opened(card_os *os, uint8_t *ram);

/* Forget the GET STATUS continuation (SELECT of the ISD). */
void isd_gp_forget(uint8_t *ram);

/* SELECT filter: 0 when the application the AID selects (exact, else first
 * partial match, as vm_select resolves it) may be selected, or the SW to
 * answer (6A82 when it is INSTALLED but not SELECTABLE, or LOCKED). *idx:
 * the VM's instance (vm_select_lookup), -1 none. */
uint16_t isd_gp_select_check(card_os *os, const uint8_t *aid, uint8_t aid_len, int *idx);

#endif
