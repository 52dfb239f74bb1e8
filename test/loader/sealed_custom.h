/*
 * sealed_custom.h — the customization software as the loader tests' issuer
 * seals it for masking (loader_seal, docs/loader.md): the example
 * customization package, the unlocking key A0 ^ i (i = 0..31), IV 01 02 03
 * 00..., shared by test_lifecycle and test_kill so both mask the same chip.
 */
#ifndef CARDVM_TEST_SEALED_CUSTOM_H
#define CARDVM_TEST_SEALED_CUSTOM_H

#include <stddef.h>
#include <stdint.h>

#include "loader.h"

/* Seal it: the unlocking key and the hash code UNLOCK needs into their
 * buffers, the sealed bytes (malloc'ed, the caller frees them) into
 * *sealed, and mask params m set to the default geometry with the sealed
 * software (nothing masked in ROM, default tries). 0, or -1. */
int test_seal_custom(uint8_t unlock_key[32], uint8_t hash_code[32], uint8_t **sealed, size_t *sealed_len,
                     loader_mask_params *m);

#endif
