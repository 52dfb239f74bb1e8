/*
 * loader_internal.h — shared between the LOADER's files; not installed.
 *
 *   loader.c    card OS entry points (card_os.h), mode dispatch, GET DATA
 *   issuer.c    ISSUER mode: SELF TEST, WRITE SERIAL, UNLOCK, RESET
 *   custom.c    CUSTOMIZATION mode: the privileged API, ENTER USER MODE
 *   isd.c       USER mode: SELECT routing, the issuer security domain
 *   isd_keys.c  USER mode: PUT KEY and DELETE [key] of the ISD
 *   gp_data.c   GlobalPlatform GET DATA objects (66, 67, E0) in BER-TLV
 *   keystore.c  key sets and common keys in NVM
 *   seal.c      the sealed customization software format and the
 *               customization channel's key derivation (both sides)
 *   mask.c      building an ISSUER-mode image (host side)
 */
#ifndef CARDVM_LOADER_INTERNAL_H
#define CARDVM_LOADER_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "apdu.h"
#include "broadcast.h"
#include "card_os.h"
#include "chip.h"
#include "layout.h"
#include "loader.h"
#include "scp03.h"
#include "vm.h"

/* A PUT KEY chain in progress (P1 b8 set: more PUT KEY commands follow,
 * GPCS 11.8.2.1): the keys received so far, applied all together by the
 * chain's last command. Secret: wiped by any other command, SELECT, reset. */
typedef struct put_key_chain {
    uint8_t active;
    uint8_t ref_kvn;             /* P1 without b8: 00 add, else the KVN replaced */
    uint8_t new_kvn;
    uint8_t key_len;
    uint8_t have;                /* bit id-1: key id received */
    uint8_t keys[3][SCP03_KEY_MAX];
} put_key_chain;

/* What lives in chip RAM (cleared at every power-on and reset). */
typedef struct loader_ram {
    uint8_t isd_selected;        /* builtin_sd.c: the security domain is selected */
    uint8_t session_channel;     /* isd.c: the logical channel `session` is bound to */
    uint8_t gp_channel;          /* isd.c: the channel of `isd_gp` and `put_key` */
    uint8_t reserved;
    uint32_t isd_channels;       /* isd.c: bit c: the security domain is
                                    selected on logical channel c */
    scp03_card_session session;  /* the ISD's secure channel; in CUSTOMIZATION
                                    mode the customization channel (custom.c) */
    uint8_t isd_gp[8];           /* isd_gp.c: GET STATUS continuation */
    broadcast_ram bc;            /* broadcast.c: seed 004 restore data and state */
    put_key_chain put_key;       /* isd_keys.c */
} loader_ram;

/* Work the customization software asked for through the privileged API that
 * touches the VM itself; run after the bytecode returns (the VM is not
 * reentrant), and undone with the rest of the APDU if one step fails. */
typedef struct loader_deferred {
    enum { DEFER_NONE, DEFER_LOAD, DEFER_INSTALL } op;
    uint8_t data[3 + 3 * 16 + 256];   /* DEFER_INSTALL: the install record */
    size_t len;
} loader_deferred;

#define CARD_OS_WORK (2u * 65536u + 128u)   /* plain command, then plain response */

typedef struct rom_descriptor {
    int present;
    uint8_t tries;
    uint8_t n_vectored;
    uint8_t vectored_ins[LOADER_MAX_VECTORED];
    uint8_t vectored_slot[LOADER_MAX_VECTORED];
    uint8_t n_masked;
    uint32_t masked_off[LOADER_MAX_MASKED];
    uint32_t masked_len[LOADER_MAX_MASKED];
} rom_descriptor;

#define ISD_SELECT_CACHE 32

struct card_os {
    chip *chip;
    vm_runtime *vm;              /* NULL on a chip without LOADER */
    rom_descriptor rom;
    uint32_t ram_off;
    vm_extension ext;
    loader_deferred deferred;
    int applet_ran;              /* this command ran applet/vectored bytecode */
    int keep_writes_on_error;    /* an error answer that must keep its NVM writes (broadcast abort) */
    /* The VM as attach made it, nothing run since, on chip contents of
     * this chip_epoch: the first power-on need not rebuild it. */
    int vm_fresh;
    uint64_t vm_epoch;
    /* SELECT's shortcut to the GP registry (isd_gp.c): by VM instance
     * index, the instance AID looked up and the offset of its KIND_GP_APP
     * record (0: it has none). Forgotten whenever such a record is made
     * or freed, and at every reset. */
    struct isd_select_entry {
        uint8_t valid, aid_len, aid[16];
        uint32_t off;
    } select_cache[ISD_SELECT_CACHE];
    /* Scratch, last (card_os_attach zeroes what precedes them): written
     * before read by every command, wiped at detach. */
    uint8_t apdu[APDU_MAX_COMMAND];   /* the short re-encoded command for the VM; the unwrapped plain command (ISD) */
    uint8_t work[CARD_OS_WORK];       /* unwrapped command, plain response */
};

loader_ram *loader_ram_of(card_os *os);

/* Lifecycle (loader.c) */
enum loader_mode loader_mode_of(const chip *c);
int loader_set_mode(chip *c, enum loader_mode m);   /* burns OTP + mirror */
uint16_t loader_get_data(card_os *os, const apdu_command *a, uint8_t *out, size_t cap, size_t *len);
uint16_t chip_status_to_sw(int chip_status);
uint16_t vm_status_to_sw(int vm_status);

/* The built-in security domain of a chip without LOADER (builtin_sd.c). */
uint16_t builtin_sd_process(chip *c, uint8_t *selected, const apdu_command *a, uint8_t *out,
                            size_t cap, size_t *out_len);

/* Modes */
uint16_t issuer_process(card_os *os, const apdu_command *a, uint8_t *out, size_t cap, size_t *len);
uint16_t custom_process(card_os *os, const apdu_command *a, uint8_t *out, size_t cap, size_t *len);
/* USER mode. cmd/len: the bytes as they arrived; a: their parse or NULL
 * (card_os.h). */
uint16_t isd_process(card_os *os, const uint8_t *cmd, size_t len, const apdu_command *a, uint8_t *out,
                     size_t cap, size_t *out_len);
void custom_init_extension(card_os *os);
extern const vm_ext_entry loader_extension_entries[];
extern const uint16_t loader_extension_count;

/* GlobalPlatform data objects (gp_data.c). Each writes one whole object
 * (tag, BER length, value) to out and returns its length; out needs the
 * object's length + 5 bytes of room (content is built in place). */
size_t gp_ber_len(uint8_t *p, size_t len);   /* 1..3 bytes */
/* 66 card recognition data (GPCS Annex H.2 format 1): GP 2.3.1, SCP03 with i. */
size_t gp_card_recognition_data(uint8_t scp_i, uint8_t *out);
/* 67 card capability information (Annex H.4); aes_sizes: Table H-7 bits. */
size_t gp_card_capability(uint8_t scp_i, uint8_t aes_sizes, uint8_t *out);
/* E0 key information template (11.3.3.1): a C0 per key present; absent[k]
 * has bit id-1 set for a key id (1 ENC, 2 MAC, 3 DEK) of sets[k] that is
 * not there (NULL: all present). At most 16 sets: 16 * 18 + 4 bytes. */
size_t gp_key_information(const scp03_keyset *sets, const uint8_t *absent, size_t n_sets, uint8_t *out);

/* Key store (keystore.c) */
int keystore_load(const chip *c, scp03_keyset *sets, size_t cap, size_t *n);
int keystore_put(chip *c, const scp03_keyset *ks);
/* The same with the absent-key masks (layout.h); absent may be NULL. */
int keystore_load_masked(const chip *c, scp03_keyset *sets, uint8_t *absent, size_t cap, size_t *n);
int keystore_put_masked(chip *c, const scp03_keyset *ks, uint8_t absent);
int keystore_delete(chip *c, uint8_t kvn);
int keystore_put_common(chip *c, uint8_t id, const uint8_t *key, size_t len);
int keystore_get_common(const chip *c, uint8_t id, uint8_t *key, size_t *len);
int keystore_set_counter(chip *c, uint8_t kvn, uint32_t value);

/* Vector table (custom.c) */
int vectors_set(chip *c, uint8_t slot, const uint8_t *aid, uint8_t aid_len, uint16_t method);
int vectors_get(const chip *c, uint8_t slot, uint8_t *aid, uint8_t *aid_len, uint16_t *method);

/* The ROM descriptor (loader.c) */
void rom_descriptor_read(const chip *c, rom_descriptor *d);

/* Sealed customization software (seal.c): card side */
int seal_open(const uint8_t *sealed, size_t sealed_len, const uint8_t key[32],
              uint8_t **plain, size_t *plain_len);
/* The customization channel's keys (seal.c): K-CUST from the unlocking key
 * and the serial number (at UNLOCK), the SCP03 key set from K-CUST. 0 or -1;
 * outputs are wiped on failure. */
int custom_root_derive(const uint8_t unlock_key[32], const uint8_t serial[8], uint8_t k_cust[32]);
int custom_keys_derive(const uint8_t k_cust[32], uint8_t enc[32], uint8_t mac[32], uint8_t dek[32]);

#endif
