/*
 * loader.h — the masked LOADER (seed 000) and the tools around it.
 *
 * On the card, the LOADER is the card OS (apdu/card_os.h): it owns the
 * lifecycle ISSUER -> CUSTOMIZATION -> USER (or TERMINATED), every mode
 * change burnt into OTP. docs/loader.md lists its commands per mode.
 *
 * Off the card, three steps make a card, each by a different party:
 *
 *   loader_seal   the client encrypts its customization software with its
 *                 unlocking key and learns the hash code UNLOCK will need;
 *   loader_mask   the manufacturer builds the ISSUER-mode image from the
 *                 masked ROM part and the *sealed* software — it never sees
 *                 the unlocking key, the hash code or the plain software;
 *   (APDUs)       the card mounter writes the serial; the client UNLOCKs,
 *                 opens the customization channel (an SCP03 session keyed
 *                 by loader_customization_keys), customizes through it and
 *                 enters USER mode (tools/lifecycle.c does the client's part
 *                 for `cardvm create` and `cardvm personalize`).
 */
#ifndef CARDVM_LOADER_H
#define CARDVM_LOADER_H

#include <stddef.h>
#include <stdint.h>

#include "chip.h"
#include "layout.h"

#ifdef __cplusplus
extern "C" {
#endif

#define LOADER_UNLOCK_KEY_LEN 32u
#define LOADER_HASH_LEN 32u
#define LOADER_DEFAULT_TRIES 5u

/* ---- sealing (the client's step) ----
 * Sealed format: "CVMS" | version 1 | 3 zero bytes | IV (16) | length of
 * ciphertext u32 LE | AES-256-CBC(unlock key, IV, package || 80 00..).
 * hash = SHA-256(package). *sealed is malloc'ed. `iv` may be NULL: then a
 * random IV is drawn. */
int loader_seal(const uint8_t *package, size_t len, const uint8_t key[LOADER_UNLOCK_KEY_LEN],
                const uint8_t *iv, uint8_t **sealed, size_t *sealed_len,
                uint8_t hash[LOADER_HASH_LEN]);

/* ---- the customization channel (the client's step) ----
 * In CUSTOMIZATION mode every customization command travels inside an SCP03
 * session (at least C-MAC and C-DECRYPTION) opened with a static key set
 * derived from the unlocking key and the card's serial number (NIST SP
 * 800-108 counter mode, AES-CMAC; docs/loader.md gives the derivation). The
 * DEK of that set also wraps key data (GP PUT KEY key blocks). */
#define LOADER_CUSTOM_KVN 0x3Fu     /* KVN of the customization key set */
#define LOADER_CUSTOM_I 0x60u       /* i: random card challenge, R-MAC and R-ENC available */
#define LOADER_CUSTOM_MIN_LEVEL 0x03u   /* C-MAC | C-DECRYPTION */
#define LOADER_CUSTOM_LEVEL 0x13u   /* the tools' default: C-MAC, C-DECRYPTION, R-MAC */
#define LOADER_CUSTOM_KEY_LEN 32u   /* AES-256 static keys */
/* Data derivation constants (outside SCP03's 00..07). */
#define LOADER_DD_CUSTOM_ROOT 0x81u
#define LOADER_DD_CUSTOM_ENC 0x82u
#define LOADER_DD_CUSTOM_MAC 0x83u
#define LOADER_DD_CUSTOM_DEK 0x84u

/* The static key set of a card's customization channel, from the unlocking
 * key and the card's serial number (GET DATA DF20). 0 or -1. */
int loader_customization_keys(const uint8_t unlock_key[LOADER_UNLOCK_KEY_LEN], const uint8_t serial[8],
                              uint8_t enc[32], uint8_t mac[32], uint8_t dek[32]);

/* ---- masking (the manufacturer's step) ---- */
typedef struct loader_vectored_command {
    uint8_t ins;       /* CLA 80, this INS, while the security domain is selected */
    uint8_t slot;      /* vector table slot that says which code runs */
} loader_vectored_command;

typedef struct loader_mask_params {
    chip_geometry geometry;
    const uint8_t *historical;      /* ATR historical bytes (NULL: default) */
    size_t historical_len;
    const uint8_t *sealed;          /* the sealed customization software (201) */
    size_t sealed_len;
    const uint8_t *const *masked;   /* masked bytecode packages (ROM) */
    const size_t *masked_len;
    size_t n_masked;
    const loader_vectored_command *vectored;
    size_t n_vectored;
    uint8_t unlock_tries;           /* 0: LOADER_DEFAULT_TRIES */
} loader_mask_params;

/* Build an ISSUER-mode card image at `path` (replacing it). */
int loader_mask(const char *path, const loader_mask_params *p, char *err, size_t errlen);

/* ---- reading a card's lifecycle state (for `cardvm info`) ---- */
typedef struct loader_info {
    enum loader_mode mode;
    uint8_t otp_trace;              /* OTP byte 0: trace bits */
    int serial_written;
    uint8_t serial[8];
    uint8_t tries_left, tries_max;
    uint8_t isd_aid[16], isd_aid_len;
    uint8_t scp_i;
    unsigned n_keysets;
    uint8_t kvns[16];
    int has_kos, has_kmac;
    int has_sealed;                 /* part 201 still present */
    int vectors_set;                /* slots in use */
    uint8_t n_vectored;
} loader_info;

int loader_read_info(chip *c, loader_info *info);
const char *loader_mode_name(enum loader_mode m);

#ifdef __cplusplus
}
#endif
#endif
