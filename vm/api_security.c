/*
 * api_security.c — what the crypto files share (api_crypto.h: state
 * arrays, constant-time comparison, libtomcrypt registration) and the
 * factories of the algorithm families this card does not have (KeyPair
 * and KeyAgreement are the asymmetric half's, api_asym.c; Checksum is
 * api_checksum.c's): they
 * answer CryptoException.NO_SUCH_ALGORITHM, as the API specifies for an
 * algorithm a card does not support.
 */
#include <string.h>

#include "api_crypto.h"

int api_crypto_state_new(vm_runtime *rt, vm_obj *self, uint16_t len, int jcre)
{
    /* the allocation may move the object table: keep the handle */
    uint16_t h = (uint16_t)(self - rt->objs), st;
    API_TRY(api_new_array(rt, VM_OBJ_BYTES, VM_OF_CLEAR_RESET, len, jcre, &st));
    return api_slot_set(rt, &rt->objs[h], 3, st);
}

int api_crypto_state(vm_runtime *rt, const vm_obj *self, uint16_t len, vm_obj **st)
{
    uint16_t h = api_slot(self, 3);
    if (h == 0 || h >= rt->obj_cap || rt->objs[h].kind != VM_OBJ_BYTES || rt->objs[h].length != len)
        return API_SECURITY;
    *st = &rt->objs[h];
    return 0;
}

int api_ct_equal(const uint8_t *x, const uint8_t *y, unsigned n)
{
    volatile uint8_t diff = 0;
    for (unsigned i = 0; i < n; i++)
        diff |= (uint8_t)(x[i] ^ y[i]);
    return diff == 0;
}

/* register_cipher is idempotent (it finds a descriptor already there), so
 * this needs no state of its own. */
static int cipher_index(const struct ltc_cipher_descriptor *d)
{
    int i = find_cipher(d->name);
    return i >= 0 ? i : register_cipher(d);
}

int api_aes_index(void)
{
    return cipher_index(&aes_desc);
}

int api_des_index(void)
{
    return cipher_index(&des_desc);
}

int api_des3_index(void)
{
    return cipher_index(&des3_desc);
}

/* ---- the families not on this card ---- */

