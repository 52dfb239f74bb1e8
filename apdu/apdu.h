/*
 * apdu.h — ISO/IEC 7816-4 command APDU codec and status words.
 *
 * A command APDU is one of four cases, in short or extended length:
 *
 *   case 1   CLA INS P1 P2
 *   case 2   CLA INS P1 P2 Le                 Le: 1 byte (00 = 256) or
 *                                               00 Le1 Le2 (0000 = 65536)
 *   case 3   CLA INS P1 P2 Lc data            Lc: 1 byte 01..FF or
 *                                               00 Lc1 Lc2 (0001..FFFF)
 *   case 4   CLA INS P1 P2 Lc data Le         extended Le is then 2 bytes
 *
 * apdu_parse() accepts exactly these encodings. Everything else — an empty
 * or too short APDU, an Lc that does not match the data, a short Lc with an
 * extended Le (or the reverse), trailing bytes, Lc = 0 — is malformed and
 * answered 6700 before any application sees it.
 */
#ifndef CARDVM_APDU_H
#define CARDVM_APDU_H

#include <stddef.h>
#include <stdint.h>

/* Status words used across the card (DESIGN.md §10). */
enum {
    SW_OK = 0x9000,
    SW_BYTES_REMAINING = 0x6100,      /* | number of bytes still available */
    SW_WARNING_NVM_UNCHANGED = 0x6200,
    SW_AUTH_FAILED = 0x6300,          /* | 0xC0 | tries left: 63Cx */
    SW_MEMORY_FAILURE = 0x6581,
    SW_WRONG_LENGTH = 0x6700,
    SW_LOGICAL_CHANNEL_NOT_SUPPORTED = 0x6881,
    SW_SECURE_MESSAGING_NOT_SUPPORTED = 0x6882,
    SW_SECURITY_NOT_SATISFIED = 0x6982,
    SW_AUTH_METHOD_BLOCKED = 0x6983,
    SW_DATA_INVALID = 0x6984,
    SW_CONDITIONS_NOT_SATISFIED = 0x6985,
    SW_WRONG_DATA = 0x6A80,
    SW_FUNC_NOT_SUPPORTED = 0x6A81,
    SW_FILE_NOT_FOUND = 0x6A82,
    SW_RECORD_NOT_FOUND = 0x6A83,
    SW_FILE_FULL = 0x6A84,
    SW_INCORRECT_P1P2 = 0x6A86,
    SW_REFERENCED_DATA_NOT_FOUND = 0x6A88,
    SW_WRONG_P1P2 = 0x6B00,
    SW_CORRECT_LENGTH = 0x6C00,       /* | exact length: 6Cxx */
    SW_INS_NOT_SUPPORTED = 0x6D00,
    SW_CLA_NOT_SUPPORTED = 0x6E00,
    SW_UNKNOWN = 0x6F00,
};

/* Nonzero for a normal or warning status word (9000, 61xx, 62xx, 63xx):
 * the command completed, and response data may go with it (ISO/IEC 7816-4
 * 5.1.3). Everything else is an error, which carries no data and, for the
 * card's own commands, leaves the card as it was. */
int apdu_sw_is_success(uint16_t sw);

/* Largest encodable command: header, 3-byte Lc, 65535 data bytes, 2-byte Le. */
#define APDU_MAX_COMMAND (4u + 3u + 65535u + 2u)

typedef struct apdu_command {
    uint8_t cla, ins, p1, p2;
    const uint8_t *data;   /* points into the parsed buffer; NULL when nc == 0 */
    uint32_t nc;           /* number of data bytes (Lc) */
    uint32_t ne;           /* bytes expected: 0 when Le is absent, else 1..65536 */
    uint8_t iso_case;      /* 1..4 */
    uint8_t extended;      /* extended length encoding used */
} apdu_command;

/* Parse `buf`. Returns SW_OK, or SW_WRONG_LENGTH for any malformed encoding
 * (then *out is unspecified). */
uint16_t apdu_parse(const uint8_t *buf, size_t len, apdu_command *out);

/* Encode a command (the host side of the codec). Chooses short length when
 * nc <= 255 and ne <= 256, extended otherwise. Returns the length written, or
 * 0 if `cap` is too small or the sizes cannot be encoded. c->data may point
 * into buf itself (a command parsed from buf, re-encoded in place as the
 * LOADER does) when the new encoding is not the longer one: the header is
 * written before the data, which moves down or stays. */
size_t apdu_encode(const apdu_command *c, uint8_t *buf, size_t cap);

/* The logical channel a CLA addresses (0..19), or -1 for a CLA that is not an
 * interindustry/GlobalPlatform class (CLA = FF is invalid). */
int apdu_cla_channel(uint8_t cla);
/* Nonzero when the CLA indicates secure messaging (bit 0x04, first range). */
int apdu_cla_secure(uint8_t cla);

/* Hex helpers shared by the CLI, scripts and tests. */
/* Parse hex (spaces and tabs allowed between byte pairs, case-insensitive).
 * Returns the number of bytes, or -1 for odd length, bad digits or overflow. */
long hex_decode(const char *hex, uint8_t *out, size_t cap);
/* Uppercase hex without separators; `out` needs 2*len+1 bytes. */
void hex_encode(const uint8_t *in, size_t len, char *out);

#endif
