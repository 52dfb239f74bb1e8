/*
 * apdu_redact.h — what an APDU log may not show.
 *
 * Some commands carry secrets in clear: UNLOCK (seed 000: the unlocking key
 * and the hash code) and PUT KEY sent outside a secure channel (GP 80 D8,
 * and the customization software's PUT KEY SET / PUT COMMON KEY, 80 36 / 38).
 * Every place that prints command APDUs — the CLI's --trace, the lifecycle
 * log of `cardvm create`/`personalize`, the IFD handler's debug log — formats
 * them with apdu_log_hex, which keeps the header and Lc, replaces the data by
 * a note saying how many bytes were hidden and why, and shows everything
 * else unchanged. Secured commands (CLA with secure messaging) are shown as
 * they are: their data is ciphertext under the session keys.
 *
 * The rule looks at CLA and INS only, not at the card's state: a log line
 * must be safe whatever the card would have done with the command.
 */
#ifndef CARDVM_APDU_REDACT_H
#define CARDVM_APDU_REDACT_H

#include <stddef.h>
#include <stdint.h>

/* Names the kind of secret a command carries in clear ("UNLOCK",
 * "PUT KEY"), or NULL when the command may be logged whole. */
const char *apdu_secret_kind(const uint8_t *cmd, size_t len);

/* Uppercase hex of the command for a log, with the data of a command that
 * carries secrets in clear replaced by "<N bytes hidden: KIND>". At most
 * `max_bytes` bytes are shown (0: all), then "...(N bytes)". Always
 * NUL-terminates `out` (cap >= 1); returns the string length. */
size_t apdu_log_hex(const uint8_t *cmd, size_t len, size_t max_bytes, char *out, size_t cap);

#endif
