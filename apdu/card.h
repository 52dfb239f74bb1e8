/*
 * card.h — one simulated card: the chip (persist/) plus the software that
 * runs on it, behind the four calls every client uses:
 *
 *   card_open(image)            load a card image file (powered off)
 *   card_power(card, cold|warm) power on or reset; gives the ATR
 *   card_transmit(card, cmd)    one command APDU in, one response APDU out
 *   card_close(card)
 *
 * The CLI, the script runner, the tests and the pcsc-lite IFD handler all go
 * through these calls, and only these calls, to talk to a card.
 *
 * Persistence: every NVM/OTP change one APDU makes is committed to the image
 * file when that APDU's response is produced (atomically: see persist/chip.h),
 * so another process opening the same image sees every answered command. A
 * commit that fails (disk full, I/O error) is rolled back and answered 6581.
 * A powered card holds the image's writer lock: a second writer waits, then
 * fails "card image in use by pid N".
 *
 * Transport: T=1 semantics with ISO 7816-4 response handling. A response with
 * more data than the command's Le (or than the caller's buffer) is delivered
 * through 61xx and GET RESPONSE (00 C0 00 00 Le); a short Le smaller than a
 * response of at most 256 bytes is answered 6Cxx, and the command re-sent
 * with Le = xx gets the held response without being executed twice.
 *
 * A card object holds all of its state; many cards live in one process.
 * A card object is not thread-safe: one thread talks to one card at a time.
 */
#ifndef CARDVM_CARD_H
#define CARDVM_CARD_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "chip.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct card card;

enum card_reset { CARD_COLD = 0, CARD_WARM = 1 };

#define CARD_ATR_MAX 33u
/* Largest response the card produces for one APDU (data + SW). */
#define CARD_MAX_RESPONSE (65536u + 2u)

/* Open the card image at `path`. On failure `err` gets a one-line message
 * and the file is left untouched. */
int card_open(const char *path, card **out, char *err, size_t errlen);
/* card_open with chip_open_ex flags: CHIP_OPEN_READ_ONLY gives a card that
 * answers from the last committed state, takes no lock, and answers 6581 to
 * a command that writes. */
int card_open_ex(const char *path, unsigned chip_flags, card **out, char *err, size_t errlen);

/* Wrap an already created chip (takes ownership; tests and `mask` use this). */
int card_from_chip(chip *c, card **out);
/* The same for many cards of one ROM in a row (a campaign worker): the
 * masked packages already verified for an earlier card with the same bytes
 * are not verified again (vm.h, vm_rom_trust; NULL: none). */
struct vm_rom_trust;
int card_from_chip_trusting(chip *c, struct vm_rom_trust *trust, card **out);

void card_close(card *c);

/* Power on (cold) or reset (warm). Both clear RAM and roll back uncommitted
 * work; the ATR is written to `atr` (CARD_ATR_MAX bytes). Returns 0, or a
 * chip_status when the image's writer lock could not be taken
 * (CHIP_ERR_BUSY: another process holds the card; chip_error() says which).
 * card_power_off releases the lock. */
int card_power(card *c, enum card_reset kind, uint8_t *atr, size_t *atr_len);
void card_power_off(card *c);
int card_is_powered(const card *c);

/*
 * Send one command APDU; write the response APDU (data || SW1 SW2) into
 * `rsp` (capacity `cap`, at least 2). Returns 0 with *rsp_len >= 2, or a
 * negative chip_status when the card is mute: not powered, or power was cut
 * during the command (tear injection) — then nothing of the command stays.
 * A response longer than cap - 2 is chained with 61xx.
 */
int card_transmit(card *c, const uint8_t *cmd, size_t cmd_len,
                  uint8_t *rsp, size_t cap, size_t *rsp_len);

chip *card_chip(card *c);
/* The card's Java Card VM (vm.h), NULL when it has none. */
struct vm_runtime *card_vm(card *c);

/* Optional APDU trace: each command and response with a timestamp, in the
 * style of pcsc-lite's APDU logs. NULL turns it off. */
void card_set_trace(card *c, FILE *trace);

#ifdef __cplusplus
}
#endif
#endif
