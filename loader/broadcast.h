/*
 * broadcast.h — the broadcast OS update of seed 004 (JP6889161B2 /
 * EP3395040B1), card side, in the issuer security domain (USER mode).
 *
 *   84 5A 01 00  CHANGE MODE to broadcast (E14-E20), in the diversified
 *                session at C-MAC + C-DECRYPTION: the broadcast keys, the
 *                channel's initial counter and MAC chaining value, profile.
 *                The card saves the diversified context in RAM (E18) and
 *                switches to the broadcast channel once its response has
 *                been wrapped with the outgoing keys (E20).
 *   84 E8 P1 P2  CMDi in broadcast mode (E22-E26): P1P2 = block number
 *                (0, 1, 2, ... big endian), data Di under BK-ENC (the
 *                channel's C-DECRYPTION); stored in NVM as pending.
 *   84 5A 00 00  CHANGE MODE back (E28-E30), in broadcast mode: restore the
 *                diversified context, then wipe the restore data.
 *   84 5C 00 00  AUTHORIZE_ACTION (E32-E40), in the diversified session:
 *                MAC of DATASEND (16) || action; answers the state
 *                information ST after activation.
 *
 * docs/broadcast.md has the byte formats, the state machine, the status
 * words and the off-card side (tools/campaign_*).
 */
#ifndef CARDVM_LOADER_BROADCAST_H
#define CARDVM_LOADER_BROADCAST_H

#include <stddef.h>
#include <stdint.h>

#include "apdu.h"
#include "card_os.h"
#include "scp03.h"

#define BROADCAST_INS_CHANGE_MODE 0x5Au
#define BROADCAST_INS_AUTHORIZE 0x5Cu
#define BROADCAST_INS_CMDI 0xE8u
#define BROADCAST_P1_BACK 0x00u
#define BROADCAST_P1_TO_BROADCAST 0x01u

/* Profiles (the seed's two contexts). */
#define BROADCAST_PROFILE_FIG3 0x03u   /* BK wrapped under Kos; MAC with BK-MAC */
#define BROADCAST_PROFILE_FIG4 0x04u   /* DATASEND under Kos; MAC with K-MAC */

/* The broadcast channel's security level: C-MAC and C-DECRYPTION. */
#define BROADCAST_LEVEL 0x03u

/* CHANGE MODE (to broadcast) data, fixed part (offsets). */
#define BCM_PROFILE 0u        /* 1: 03 or 04 */
#define BCM_CAMPAIGN 1u       /* 8: campaign identifier */
#define BCM_LEVEL 9u          /* 1: 03 */
#define BCM_COUNTER 10u       /* 16: encryption counter of the first CMDi */
#define BCM_CHAIN 26u         /* 16: MAC chaining value before the first CMDi */
#define BCM_SIZE 42u          /* 4: sum of the Di lengths, big endian */
#define BCM_KEYS 46u          /* FIG.3: key block BK-ENC || key block BK-MAC, under Kos
                                 FIG.4: key length (1) || BK-ENC || BK-MAC */
#define BCM_MAX_PENDING (1u << 20)

/* AUTHORIZE_ACTION data: MAC (16) || action (1) || parameters. */
#define BROADCAST_ACT_INSTALL 0x01u   /* + applet AID (len, bytes), instance AID (len, bytes), params (len, bytes) */
#define BROADCAST_ACT_VECTOR 0x02u    /* + vector slot (1), method (2) */
#define BROADCAST_ACT_REPLACE 0x04u   /* delete the loaded package of the same AID (and its instances) first */

/* NVM heap kind of the pending data (0x4C18..0x4C1F are broadcast.c's;
 * 0x4C10..0x4C12 are isd_gp.c's). One block, id 1:
 *   0  1  magic 'P'              1  1  profile
 *   2  8  campaign identifier    10 4  expected transport bytes (BE)
 *   14 4  received transport bytes   18 4  stored plain bytes
 *   22 2  next block number      24 1  complete (CHANGE MODE back done)
 *   25 7  reserved               32 .. plain data (never executable) */
#define KIND_BROADCAST_PENDING 0x4C18u
#define BROADCAST_PENDING_HDR 32u

/* Broadcast states in RAM. */
#define BC_IDLE 0u
#define BC_BROADCAST 1u        /* the broadcast channel is installed */
#define BC_BACK 2u             /* back in the diversified channel, pending complete */

/* What the LOADER keeps in chip RAM for the broadcast (part of loader_ram).
 * Everything goes with a reset: that is the restore data's lifetime. */
typedef struct broadcast_ram {
    uint8_t state;             /* BC_* */
    uint8_t switch_to;         /* set by CHANGE MODE; done after its response */
    uint8_t profile;
    uint8_t bk_len;
    uint8_t have_iv;           /* FIG.4: the Kos CBC IV has arrived */
    uint8_t idle_clean;        /* idle, and no pending block since the last look (cleared
                                  with RAM at reset, and by any broadcast activity) */
    uint8_t campaign[8];
    uint8_t bk_mac[SCP03_KEY_MAX];
    uint8_t cbc_iv[16];        /* FIG.4: CBC chaining of the Kos layer */
    scp03_context saved;       /* E18: the diversified context (restore data) */
    scp03_context incoming;    /* the broadcast context, until it is installed */
} broadcast_ram;

/* isd.c: nonzero when the unwrapped command is the broadcast module's:
 * INS 5A, INS 5C, or anything at all while the broadcast channel is on. */
int broadcast_routes(card_os *os, uint8_t ins);

/* isd.c: process it (plain command, after SCP03 unwrapping). */
uint16_t broadcast_command(card_os *os, const apdu_command *a, uint8_t *out, size_t cap, size_t *len);

/* loader.c: after every USER-mode command (response already wrapped). Does
 * the channel switch CHANGE MODE asked for; aborts the broadcast (erase the
 * pending data durably, end the session) on any error in broadcast mode, a
 * security error, a reset or a new session; erases stale pending data. */
void broadcast_after_command(card_os *os, uint16_t sw);

#endif
