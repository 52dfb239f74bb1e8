/*
 * vmtest.h — helpers shared by the VM tests: a chip-backed card (chip +
 * vm_runtime, image in a temporary directory), JCA assembled into a CAP load
 * file, the example applets' CAP files and APDU helpers.
 */
#ifndef CARDVM_TEST_VMTEST_H
#define CARDVM_TEST_VMTEST_H

#include <stddef.h>
#include <stdint.h>

#include "chip.h"
#include "vm.h"

typedef struct vt_card {
    chip *c;
    vm_runtime *rt;
    char dir[256];
    char path[300];
} vt_card;

/* A fresh card (default geometry) whose image lives in a new temp dir. */
void vt_card_new(vt_card *k, const vm_config *cfg);
void vt_card_free(vt_card *k);
/* Commit like the card does after each APDU. */
void vt_commit(vt_card *k);
/* Power cycle: chip_power_on + vm_reset. */
void vt_reset(vt_card *k);
/* Commit, close everything, reopen the image from its file. */
void vt_reopen(vt_card *k, const vm_config *cfg);

uint8_t *vt_read_file(const char *path, size_t *len);
/* Assemble JCA text (docs/jca.md) into the load file a card receives (the
 * CAP components in load order, no Debug), or fail the test naming
 * `filename` and the line. */
void vt_jca(const char *src, const char *filename, uint8_t **blob, size_t *len);
/* The load file of an example applet's CAP as the build made it with
 * `cardvm asm` (build/examples/applets/NAME.cap from
 * examples/applets/NAME/NAME.jca); fails the test when it cannot be read. */
uint8_t *vt_example(const char *name, size_t *len);
/* The install bArray the JCRE passes install() for a GP INSTALL [for
 * install]: instance AID, privileges (one byte, 00), application
 * parameters (length + bytes). Returns its length. */
size_t vt_barray(const uint8_t *instance, uint8_t instance_len, const uint8_t *params, uint8_t params_len,
                 uint8_t *out, size_t cap);

/* Parse hex (spaces allowed) into out; returns the byte count or -1. */
int vt_hex(const char *s, uint8_t *out, size_t cap);

/* Send one command the way the card would (SELECT by AID goes to
 * vm_select); commits afterwards. Returns the SW; response in resp. */
uint16_t vt_send(vt_card *k, const uint8_t *apdu, size_t len, uint8_t *resp, size_t *rlen);
uint16_t vt_send_hex(vt_card *k, const char *hex, uint8_t *resp, size_t *rlen);

/* A copy of the NVM working image, to prove "no change". */
uint8_t *vt_nvm_snapshot(vt_card *k);
int vt_nvm_same(vt_card *k, const uint8_t *snap);

#endif
