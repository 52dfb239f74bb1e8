/*
 * campaign_cards.h — making many USER-mode cards for a campaign (tests,
 * examples, `cardvm campaign enroll`): the customization software is sealed
 * and the chip masked once (an ISSUER-mode template image); each card is a
 * copy of it that goes through its real lifecycle APDUs (SELF TEST, WRITE
 * SERIAL, UNLOCK, customization, ENTER USER MODE) with its own serial number,
 * diversification data and static keys derived from the master key
 * (campaign_derive_keys), plus the common keys Kos and K-MAC.
 *
 * The template is read once (campaign_factory_init); a card is made in
 * memory from it and written to its file once, whole and synced, at the end
 * (chip_clone, chip_save_as): one fdatasync per card in every mode, no copy
 * of the template customized on disk, nothing it erased in its file.
 */
#ifndef CARDVM_CAMPAIGN_CARDS_H
#define CARDVM_CAMPAIGN_CARDS_H

#include <stddef.h>
#include <stdint.h>

#include "campaign_core.h"
#include "chip.h"

typedef struct campaign_factory {
    char template_path[1024];
    uint8_t unlock_key[32];
    uint8_t hash_code[32];
    uint8_t kos[16], kmac[16];
    uint8_t master[16];
    /* Packages loaded during customization of every card (may be empty). */
    const uint8_t *const *packages;
    const size_t *package_lens;
    size_t n_packages;
    int fast;                  /* no effect any more: a card's file is written once, synced, either way */
    chip *tpl;                 /* the template, read once */
    struct vm_rom_trust *trust; /* its masked packages, verified once */
} campaign_factory;

/* Seal and mask the template at template_path. geometry NULL: defaults. */
int campaign_factory_init(campaign_factory *f, const char *template_path, const chip_geometry *geometry,
                          const uint8_t master[16], const uint8_t kos[16], const uint8_t kmac[16]);

/* Close the template and wipe the factory (keys). */
void campaign_factory_free(campaign_factory *f);

/* Make the card `id` (serial, div data, KVN, i, ISD AID) at path. */
int campaign_factory_make(const campaign_factory *f, const char *path, const campaign_card *id);

/* The default identity of card number n: serial 43 56 00 00 + n (BE),
 * div data from the serial, KVN 30, i 70, ISD A000000151000000, counter 0. */
void campaign_card_default(uint32_t n, campaign_card *id);

#endif
