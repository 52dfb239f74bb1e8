/*
 * gp_host.h — the host side of GlobalPlatform card content management over
 * SCP03, shared by `cardvm gp`, `cardvm script` and the tests: opening the
 * secure channel, sending commands through it, and builders for GET STATUS,
 * INSTALL, LOAD, DELETE, PUT KEY and SET STATUS (docs/gp.md).
 *
 * Every function returns 0 when the card answered (the status word is in
 * *sw, whatever it is) and -1 when it could not talk to the card or the
 * secure channel failed (the reason is in gp->err).
 */
#ifndef CARDVM_GP_HOST_H
#define CARDVM_GP_HOST_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "scp03.h"
#include "transport.h"

typedef struct gp_keys {
    uint8_t kvn;        /* 00: the card's first key set */
    uint8_t key_len;    /* 16, 24 or 32 */
    uint8_t enc[32], mac[32], dek[32];
} gp_keys;

typedef struct gp_session {
    transport *t;
    FILE *verbose;               /* plain APDUs before wrapping, or NULL */
    scp03_host_session h;
    int open;                    /* a secure channel is open */
    uint8_t level;
    gp_keys keys;
    uint8_t isd_aid[16];
    uint8_t isd_aid_len;         /* the AID of the last selected ISD */
    char err[256];
} gp_session;

/* The default keys of `cardvm create`: KVN 30, 404142...4F (x3). */
void gp_default_keys(gp_keys *k);

void gp_init(gp_session *gp, transport *t, FILE *verbose);
/* Forget the secure channel (wipes the keys). */
void gp_close(gp_session *gp);

/* One command: wrapped when a channel is open, plain otherwise; 61xx is
 * followed by GET RESPONSE. rsp gets the (unwrapped) data. */
int gp_send(gp_session *gp, const uint8_t *apdu, size_t len, uint8_t *rsp, size_t cap, size_t *rlen,
            uint16_t *sw);
/* Build and send CLA INS P1 P2 [data] 00. */
int gp_cmd(gp_session *gp, uint8_t cla, uint8_t ins, uint8_t p1, uint8_t p2, const uint8_t *data, size_t n,
           uint8_t *rsp, size_t cap, size_t *rlen, uint16_t *sw);

/* SELECT by AID (plain; closes the channel). aid_len 0: the default
 * application, which is the ISD after a reset. */
int gp_select(gp_session *gp, const uint8_t *aid, size_t aid_len, uint8_t *rsp, size_t cap, size_t *rlen,
              uint16_t *sw);

/* SELECT the ISD (isd_aid NULL: the default application; its AID comes from
 * the FCI), INITIALIZE UPDATE, EXTERNAL AUTHENTICATE at `level`. On a
 * refusal, *sw is the status word that stopped it (6A88 unknown KVN, 6300 /
 * 6982 wrong keys...) and the function returns 0 with gp->open == 0; a card
 * cryptogram that does not match the keys gives -1. */
int gp_open(gp_session *gp, const gp_keys *keys, uint8_t level, const uint8_t *isd_aid, size_t isd_aid_len,
            uint16_t *sw);

/* ---- GET STATUS ---- */
typedef struct gp_entry {
    uint8_t kind;                /* 0x80 ISD, 0x40 application, 0x20 load file */
    uint8_t aid[16], aid_len;
    uint8_t state;
    uint8_t priv[3];
    uint8_t elf[16], elf_len;    /* application: its load file */
    uint8_t version[2], has_version;
    uint8_t n_modules;
    uint8_t modules[8][17];      /* len, aid */
} gp_entry;

/* All entries of category p1 (80, 40, 20 or 10), following 6310. *n is the
 * number found (6A88 counts as none: *sw = 9000, *n = 0). */
int gp_get_status(gp_session *gp, uint8_t p1, gp_entry *e, size_t cap, size_t *n, uint16_t *sw);
const char *gp_state_name(uint8_t kind, uint8_t state);

/* ---- loading ---- */
/* The AID (and applet AIDs) declared by a CAP load file (components, as
 * tools/cap/cap_file.h makes it from a CAP file). 0 or -1. */
int gp_package_aids(const uint8_t *blob, size_t len, uint8_t aid[16], uint8_t *aid_len, uint8_t applets[8][17],
                    uint8_t *n_applets);

/* INSTALL [for load] of the package or CAP load file (with the SHA-256 load file data block hash when
 * with_hash) and the LOAD blocks; stops at the first status word that is
 * not 9000 (its block number in *failed_block, -1 for the INSTALL). */
int gp_load_package(gp_session *gp, const uint8_t *blob, size_t len, int with_hash, uint16_t *sw,
                    int *failed_block);

/* INSTALL [for install and make selectable] (p1 0C) or [for install] (04).
 * instance NULL: the applet AID. params are wrapped as C9. */
int gp_install(gp_session *gp, uint8_t p1, const uint8_t *pkg, size_t pkg_len, const uint8_t *applet,
               size_t applet_len, const uint8_t *instance, size_t instance_len, const uint8_t priv[3],
               const uint8_t *params, size_t params_len, uint16_t *sw);
/* The same with every field: privileges of 1 byte (GP 2.1.1 style, what
 * most Java Card tools send; privs NULL = one byte 00) or 3 bytes. An
 * applet of a CAP package receives instance AID, privileges and params in
 * its install bArray exactly as sent here. */
typedef struct gp_install_req {
    uint8_t p1;                         /* 0C install and make selectable, 04 install */
    const uint8_t *pkg;
    size_t pkg_len;
    const uint8_t *applet;              /* executable module (applet class AID) */
    size_t applet_len;
    const uint8_t *instance;            /* NULL: the applet AID */
    size_t instance_len;
    const uint8_t *privs;
    size_t privs_len;                   /* 1 or 3 */
    const uint8_t *params;              /* application specific (C9 value) */
    size_t params_len;
    uint8_t p2;                         /* 00; 03 for the combined process's last INSTALL */
} gp_install_req;
int gp_install_send(gp_session *gp, const gp_install_req *r, uint16_t *sw);
/* The combined load, install and make selectable process (GPCS 2.3.1
 * §9.3.8): INSTALL [for load, install and make selectable] P2 01 with the
 * [for load] fields, the LOAD blocks, then the same INSTALL with P2 03 and
 * inst's fields (inst->pkg may be NULL: the card takes the file just
 * loaded). *failed_block: -1 the first INSTALL, a block number, or -2 the
 * last INSTALL. */
int gp_load_install(gp_session *gp, const uint8_t *blob, size_t len, int with_hash, const gp_install_req *inst,
                    uint16_t *sw, int *failed_block);
int gp_make_selectable(gp_session *gp, const uint8_t *aid, size_t aid_len, uint16_t *sw);

int gp_delete(gp_session *gp, const uint8_t *aid, size_t aid_len, int related, uint16_t *sw);

/* PUT KEY: old_kvn 0 adds a key set. kcv (10 bytes) gets KVN || 3 KCVs. */
int gp_put_key(gp_session *gp, uint8_t old_kvn, const gp_keys *nk, uint8_t kcv[10], uint16_t *sw);

/* SET STATUS of an application: lock (1) or unlock (0). */
int gp_set_lock(gp_session *gp, const uint8_t *aid, size_t aid_len, int lock, uint16_t *sw);

/* Helpers for the tools. */
int gp_parse_hex(const char *s, uint8_t *out, size_t cap, size_t *len);   /* 0 or -1; spaces allowed */
void gp_hex(FILE *f, const uint8_t *b, size_t n);

#endif
