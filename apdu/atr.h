/*
 * atr.h — the Answer To Reset and the ROM identity block that holds it.
 *
 * cardvm ATRs offer T=1 only, direct convention:
 *   3B  8K  81  31  FE  45  <K historical bytes>  TCK
 *   TS  T0  TD1 TD2 TA3 TB3                       XOR of T0..last byte
 * TD1 = 81: TD2 follows, T=1. TD2 = 31: TA3 and TB3 follow, T=1.
 * TA3 = FE: IFSC 254 bytes. TB3 = 45: BWI 4, CWI 5.
 * The default historical bytes are 80 56 "cardvm": category 80 (COMPACT-TLV
 * follows), tag 5 (card issuer's data), length 6, naming the card.
 *
 * The ATR is fixed when the chip is masked: it lives in the ROM identity
 * block at ROM offset 0 (see docs/image-format.md).
 */
#ifndef CARDVM_ATR_H
#define CARDVM_ATR_H

#include <stddef.h>
#include <stdint.h>

#include "chip.h"

#define ATR_MAX_HISTORICAL 15u
#define ROM_IDENTITY_SIZE 64u

/* Build a T=1 ATR around `hist` (0..15 bytes). Returns its length (<= 33). */
size_t atr_build(const uint8_t *hist, size_t hist_len, uint8_t *atr);
/* The default cardvm ATR. */
size_t atr_default(uint8_t *atr);
/* Check structure and TCK of an ATR (accepts what atr_build makes). */
int atr_is_valid(const uint8_t *atr, size_t len);

/* ROM identity block: "CVMR" | version 1 | atr_len | atr[33] | reserved. */
int rom_identity_write(chip *c, const uint8_t *atr, size_t atr_len);
/* Reads the ATR; a ROM without identity block gives the default ATR. */
void rom_identity_atr(const chip *c, uint8_t *atr, size_t *atr_len);

#endif
