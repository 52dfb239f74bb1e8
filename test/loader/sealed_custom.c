/* sealed_custom.c — see sealed_custom.h. */
#include "sealed_custom.h"

#include <string.h>

#include "packages.h"

int test_seal_custom(uint8_t unlock_key[32], uint8_t hash_code[32], uint8_t **sealed, size_t *sealed_len,
                     loader_mask_params *m)
{
    for (int i = 0; i < 32; i++)
        unlock_key[i] = (uint8_t)(0xA0 ^ i);
    static const uint8_t iv[16] = {1, 2, 3};
    if (loader_seal(example_custom_package, example_custom_package_len, unlock_key, iv, sealed, sealed_len,
                    hash_code))
        return -1;
    memset(m, 0, sizeof *m);
    chip_geometry_default(&m->geometry);
    m->sealed = *sealed;
    m->sealed_len = *sealed_len;
    return 0;
}
