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
 *                 customizes and enters USER mode (loader_personalize does
 *                 the client's part for `cardvm create`).
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

/* KT, the key that protects key data sent to the customization software,
 * derived from the unlocking key (docs/loader.md says how). The client's
 * tools use it as the DEK of GlobalPlatform key blocks. */
void loader_transport_key(const uint8_t unlock_key[LOADER_UNLOCK_KEY_LEN], uint8_t kt[16]);

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
