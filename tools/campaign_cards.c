/* campaign_cards.c — see campaign_cards.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "campaign_cards.h"
#include "card.h"
#include "lifecycle.h"
#include "loader.h"
#include "vm.h"

int campaign_factory_init(campaign_factory *f, const char *template_path, const chip_geometry *geometry,
                          const uint8_t master[16], const uint8_t kos[16], const uint8_t kmac[16])
{
    memset(f, 0, sizeof *f);
    if (strlen(template_path) >= sizeof f->template_path) return CAMPAIGN_ERR_PARAM;
    strcpy(f->template_path, template_path);
    lifecycle_params lp;
    lifecycle_defaults(&lp);
    memcpy(f->unlock_key, lp.unlock_key, 32);
    memcpy(f->master, master, 16);
    memcpy(f->kos, kos, 16);
    memcpy(f->kmac, kmac, 16);
    loader_mask_params mp;
    lifecycle_mask_defaults(&mp);
    if (geometry) mp.geometry = *geometry;
    uint8_t *sealed = NULL;
    size_t sealed_len = 0;
    if (loader_seal(example_custom_package, example_custom_package_len, f->unlock_key, NULL, &sealed, &sealed_len,
                    f->hash_code))
        return CAMPAIGN_ERR_CRYPTO;
    mp.sealed = sealed;
    mp.sealed_len = sealed_len;
    char err[256];
    int rc = loader_mask(template_path, &mp, err, sizeof err);
    free(sealed);
    if (rc) {
        fprintf(stderr, "campaign: masking the template: %s\n", err);
        return CAMPAIGN_ERR_IO;
    }
    /* Read once: every card starts as a copy of it in memory, and its
     * masked packages are verified for the first card only. */
    if (chip_open_ex(template_path, CHIP_OPEN_READ_ONLY, NULL, &f->tpl, err, sizeof err)) {
        fprintf(stderr, "campaign: reading the template: %s\n", err);
        return CAMPAIGN_ERR_IO;
    }
    if (vm_rom_trust_new(&f->trust)) {
        chip_close(f->tpl);
        f->tpl = NULL;
        return CAMPAIGN_ERR_IO;
    }
    return CAMPAIGN_OK;
}

void campaign_factory_free(campaign_factory *f)
{
    if (!f) return;
    chip_close(f->tpl);
    vm_rom_trust_free(f->trust);
    scp03_wipe(f, sizeof *f);
}

void campaign_card_default(uint32_t n, campaign_card *id)
{
    memset(id, 0, sizeof *id);
    id->serial[0] = 0x43;
    id->serial[1] = 0x56;
    for (int i = 0; i < 4; i++) id->serial[4 + i] = (uint8_t)(n >> (24 - 8 * i));
    for (int i = 0; i < 10; i++) id->div_data[i] = (uint8_t)(id->serial[i % 8] ^ (0x5A + i));
    id->kvn = 0x30;
    id->scp_i = 0x70;
    static const uint8_t isd[] = {0xA0, 0x00, 0x00, 0x01, 0x51, 0x00, 0x00, 0x00};
    memcpy(id->isd_aid, isd, sizeof isd);
    id->isd_aid_len = sizeof isd;
    id->counter = 0;
}

int campaign_factory_make(const campaign_factory *f, const char *path, const campaign_card *id)
{
    if (!f->tpl) return CAMPAIGN_ERR_PARAM;
    lifecycle_params lp;
    lifecycle_defaults(&lp);
    memcpy(lp.unlock_key, f->unlock_key, 32);
    memcpy(lp.hash_code, f->hash_code, 32);
    memcpy(lp.serial, id->serial, 8);
    memcpy(lp.div_data, id->div_data, 10);
    memcpy(lp.isd_aid, id->isd_aid, id->isd_aid_len);
    lp.isd_aid_len = id->isd_aid_len;
    lp.scp_i = id->scp_i;
    lp.n_keysets = 1;
    lp.keysets[0].kvn = id->kvn;
    lp.keysets[0].key_len = 16;
    int rc = campaign_derive_keys(f->master, id->serial, id->div_data, lp.keysets[0].enc, lp.keysets[0].mac,
                                  lp.keysets[0].dek);
    lp.has_kos = lp.has_kmac = 1;
    memcpy(lp.kos, f->kos, 16);
    memcpy(lp.kmac, f->kmac, 16);
    lp.packages = f->packages;
    lp.package_lens = f->package_lens;
    lp.n_packages = f->n_packages;
    /* The card is made in memory from the template and reaches its file
     * once, finished and synced (chip_save_as): no half-customized card is
     * ever on disk, and what customization erased was never in the file. */
    chip *ch = NULL;
    card *cd = NULL;
    transport *t = NULL;
    if (!rc && chip_clone(f->tpl, &ch)) rc = CAMPAIGN_ERR_IO;
    if (!rc && card_from_chip_trusting(ch, f->trust, &cd)) {
        chip_close(ch);
        rc = CAMPAIGN_ERR_IO;
    }
    if (!rc && transport_open_card(cd, &t)) {
        card_close(cd);
        rc = CAMPAIGN_ERR_IO;
    }
    if (!rc && (lifecycle_mount(t, &lp, NULL) || lifecycle_customize(t, &lp, NULL))) rc = CAMPAIGN_ERR_CARD;
    if (!rc && chip_save_as(ch, path)) {
        fprintf(stderr, "campaign: %s\n", chip_error(ch));
        rc = CAMPAIGN_ERR_IO;
    }
    if (t) transport_close(t);
    scp03_wipe(&lp, sizeof lp);
    return rc;
}
