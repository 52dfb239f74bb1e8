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
void card_os_detach(card_os *os);
/* The ATR this chip was masked with. */
void card_os_atr(card_os *os, uint8_t *atr, size_t *atr_len);
/* Power-on or reset: RAM was cleared; end sessions, deselect applets. */
void card_os_reset(card_os *os);
/* The Java Card VM of this card (NULL on a chip without one), for tools
 * that observe it (`cardvm tear` sets its NVM store hook). */
struct vm_runtime *card_os_vm(card_os *os);
/* Process one well-formed command. Response data goes to out (at most cap
 * bytes); returns the status word. NVM writes made here are committed by
 * the caller when this returns. */
uint16_t card_os_process(card_os *os, const apdu_command *a, uint8_t *out, size_t cap,
                         size_t *out_len);

#endif
