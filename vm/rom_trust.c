/* rom_trust.c — the set of masked packages already verified (vm.h). */
#include <stdlib.h>
#include <string.h>

#include "vm_internal.h"

/* A campaign's cards carry one masked OS or a few: more are verified as
 * usual, just not remembered. */
#define ROM_TRUST_MAX 8u

struct vm_rom_trust {
    unsigned n;
    struct {
        uint8_t *bytes;
        uint32_t len;
    } pkg[ROM_TRUST_MAX];
};

int vm_rom_trust_new(vm_rom_trust **out)
{
    *out = calloc(1, sizeof **out);
    return *out ? VM_OK : VM_ERR_NOMEM;
}

void vm_rom_trust_free(vm_rom_trust *t)
{
    if (!t)
        return;
    for (unsigned i = 0; i < t->n; i++)
        free(t->pkg[i].bytes);
    free(t);
}

int vm_rom_trust_has(const vm_rom_trust *t, const uint8_t *bytes, uint32_t len)
{
    for (unsigned i = 0; i < t->n; i++)
        if (t->pkg[i].len == len && memcmp(t->pkg[i].bytes, bytes, len) == 0)
            return 1;
    return 0;
}

void vm_rom_trust_add(vm_rom_trust *t, const uint8_t *bytes, uint32_t len)
{
    if (t->n >= ROM_TRUST_MAX || vm_rom_trust_has(t, bytes, len))
        return;
    uint8_t *copy = malloc(len ? len : 1);
    if (!copy)
        return;   /* not remembered: verified again next time */
    memcpy(copy, bytes, len);
    t->pkg[t->n].bytes = copy;
    t->pkg[t->n].len = len;
    t->n++;
}
