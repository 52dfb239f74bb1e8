/*
 * card_os.h — what the card object (card.c) asks of the software on the
 * chip. The card object owns transport matters (APDU parsing, GET RESPONSE,
 * 6Cxx, commit per APDU, power); the card OS owns meaning: which commands
 * exist in which mode, applets, secure channels.
 *
 * The masked LOADER (loader/) is the card OS of a real card image. Until a
 * chip is masked with a LOADER, a minimal built-in security domain
 * (builtin_sd.c) answers SELECT and GET DATA so the whole path can be tested.
 */
#ifndef CARDVM_CARD_OS_H
#define CARDVM_CARD_OS_H

#include <stddef.h>
#include <stdint.h>

#include "apdu.h"
#include "chip.h"

typedef struct card_os card_os;

/* Bind the OS to a chip (reserves its RAM). */
int card_os_attach(chip *c, card_os **out);
/* The same, with a set of masked packages verified before (vm.h,
 * vm_rom_trust; NULL: none), for many cards of one ROM in a row. */
struct vm_rom_trust;
int card_os_attach_trusting(chip *c, struct vm_rom_trust *trust, card_os **out);
void card_os_detach(card_os *os);
/* The ATR this chip was masked with. */
void card_os_atr(card_os *os, uint8_t *atr, size_t *atr_len);
/* Power-on or reset: RAM was cleared; end sessions, deselect applets. */
void card_os_reset(card_os *os);
/* The Java Card VM of this card (NULL on a chip without one), for tools
 * that observe it (`cardvm tear` sets its NVM store hook). */
struct vm_runtime *card_os_vm(card_os *os);
/* Process one command. cmd[0..len) are the bytes exactly as they arrived;
 * `a` is their ISO/IEC 7816-4 parse (apdu_parse), or NULL when they are not
 * a well-formed command. The OS judges a malformed command itself: plain,
 * it answers 6700; addressed to a security domain with an open secure
 * channel it is a secure messaging error that closes the channel, which
 * only the layer that sees the bytes can tell (GP Amendment D; and a C-MAC
 * covers the header as transmitted, short or extended). Response data goes
 * to out (at most cap bytes; the card object ignores it after an error SW
 * or when `a` was NULL); returns the status word. NVM writes made here are
 * committed by the caller when this returns. */
uint16_t card_os_process(card_os *os, const uint8_t *cmd, size_t len, const apdu_command *a,
                         uint8_t *out, size_t cap, size_t *out_len);

#endif
