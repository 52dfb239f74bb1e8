/*
 * lifecycle.h — the whole life of a card from the host's side, as
 * `cardvm create` and the demo run it: seal (client), mask (manufacturer),
 * then APDUs: SELF TEST and WRITE SERIAL (card mounter), UNLOCK, the
 * customization channel with the customization commands and ENTER USER MODE
 * (client).
 */
#ifndef CARDVM_LIFECYCLE_H
#define CARDVM_LIFECYCLE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "loader.h"
#include "transport.h"

typedef struct lifecycle_keyset {
    uint8_t kvn;
    uint8_t key_len;
    uint8_t enc[32], mac[32], dek[32];
} lifecycle_keyset;

typedef struct lifecycle_params {
    uint8_t unlock_key[32];
    uint8_t hash_code[32];          /* SHA-256 of the plain customization software */
    uint8_t serial[8];
    uint8_t isd_aid[16];
    uint8_t isd_aid_len;
    uint8_t scp_i;
    uint8_t div_data[10];
    lifecycle_keyset keysets[8];
    size_t n_keysets;
    int has_kos, has_kmac;
    uint8_t kos[16], kmac[16];
    /* Extra packages to load during customization (302), and applets to
     * install from them: "pkgAID:appletAID[:instanceAID]". */
    const uint8_t *const *packages;
    const size_t *package_lens;
    size_t n_packages;
} lifecycle_params;

#include "packages.h"   /* the default customization software and masked OS */

/* Defaults of `cardvm create`: ISD A000000151000000, KVN 30 with
 * ENC = MAC = DEK = 404142...4F, i = 70, serial 0000000000000001. */
void lifecycle_defaults(lifecycle_params *p);

/* Masked ROM part of the default card: the "os" package and the vectored
 * commands it serves. */
void lifecycle_mask_defaults(loader_mask_params *m);

/* Send one APDU, print "name  >> cmd  << rsp" to log when not NULL, return
 * the SW (or -1 when the card is mute). The response data go to rsp. */
int lifecycle_apdu(transport *t, FILE *log, const char *name, const uint8_t *cmd, size_t len,
                   uint8_t *rsp, size_t *rsp_len);

/* The card mounter's part, without key: SELF TEST and WRITE SERIAL NUMBER. */
int lifecycle_mount(transport *t, const lifecycle_params *p, FILE *log);
/* The client's part: UNLOCK (ISSUER mode only), then the customization
 * channel (SCP03 keyed from the unlocking key and the serial number) and
 * through it the customization commands and ENTER USER MODE. A card found in
 * CUSTOMIZATION mode is resumed (idempotent steps redone, only missing
 * packages loaded); one in USER mode is left alone. The log never shows a
 * secret: UNLOCK prints as "UNLOCK <key hidden>". Returns 0, or -1 after
 * printing what failed to stderr. */
int lifecycle_customize(transport *t, const lifecycle_params *p, FILE *log);

#endif
