/*
 * sw_text.h — what a status word means, for people reading the CLI's output.
 *
 * One table of the status words of ISO/IEC 7816-4 (5.6, interindustry
 * values) and of GlobalPlatform Card Specification 2.3 (11.1.3 and the
 * command sections), used by `send`, `gp` and script messages so a user
 * reads "6A88 referenced data not found" instead of a bare 6A88.
 */
#ifndef CARDVM_SW_TEXT_H
#define CARDVM_SW_TEXT_H

#include <stddef.h>
#include <stdint.h>

/* The meaning of `sw` in lower case without the code ("referenced data not
 * found"); a class meaning ("warning, state of non-volatile memory
 * unchanged") when only SW1 is known; "unknown status word" otherwise.
 * Never NULL. Counted forms (61xx, 6Cxx, 63Cx) return the generic text:
 * use sw_describe for the count. */
const char *sw_meaning(uint16_t sw);

/* "6A88 referenced data not found" into buf (always NUL-terminated);
 * counted forms carry their count ("6110 16 response bytes still
 * available"). Returns buf. */
char *sw_describe(uint16_t sw, char *buf, size_t n);

/* Whether `sw` matches `pattern`: four hex digits where X (or x) stands for
 * any digit, e.g. "9000", "61XX", "6XXX". Returns -1 when the pattern is
 * malformed, else 1 on a match and 0 otherwise. */
int sw_matches(uint16_t sw, const char *pattern);

#endif
