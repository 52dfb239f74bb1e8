/*
 * staging.h — a package arriving in numbered blocks (customization LOAD,
 * and the security domain's LOAD). The first block starts with tag C4 and
 * the BER length of the whole package, as GlobalPlatform's Load File Data
 * Block does, so the card reserves the space once. Blocks must come in
 * order (P1 = 0, 1, 2, ...); P2 bit 8 marks the last one. Staged bytes are
 * never executable: only vm_load_package, after verification, makes a
 * package of them. A new block 0 discards whatever was staged.
 */
#ifndef CARDVM_LOADER_STAGING_H
#define CARDVM_LOADER_STAGING_H

#include <stddef.h>
#include <stdint.h>

#include "chip.h"

/* Append one block. *last is set when P2 says so and the package is then
 * complete. Returns a status word (9000, 6A86 bad P1/P2 or order, 6A80 bad
 * C4 header or length, 6A84 no room, 6581 memory failure). */
uint16_t staging_block(chip *c, uint8_t p1, uint8_t p2, const uint8_t *data, size_t len, int *last);
/* The complete staged package (read-only NVM view). -1 if incomplete. */
int staging_view(const chip *c, const uint8_t **blob, size_t *len);
/* Free (and so zero) the staging area. CHIP_OK also when there was none. */
int staging_clear(chip *c);

#endif
