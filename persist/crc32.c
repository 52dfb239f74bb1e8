/* crc32.c — CRC-32 (IEEE 802.3, reflected, poly 0xEDB88320) for image
 * checksums. Integrity against accidents only; not a security mechanism.
 *
 * From Intel's ISA-L (libisal, crc32_gzip_refl: PCLMULQDQ folding chosen at
 * run time) when it is installed, else from zlib (crc32_z): the same CRC,
 * check value CBF43926. Opening an image checks the CRC of every NVM page
 * (thousands of 64-byte pieces) and of ROM, and zlib's table code spends
 * ~140 ns per call on pieces that size: opening a default card cost 0.4 ms
 * of CRC with zlib, 0.03 ms with ISA-L. Both take and return the finalized
 * value; the image code streams the pre-final state, hence the inversions. */
#include "crc32.h"

#include <zlib.h>

#ifdef CARDVM_HAVE_ISAL
#include <isa-l/crc.h>

uint32_t image_crc32_update(uint32_t state, const void *data, size_t len)
{
    return crc32_gzip_refl(state ^ 0xFFFFFFFFu, data, (uint64_t)len) ^ 0xFFFFFFFFu;
}
#else

uint32_t image_crc32_update(uint32_t state, const void *data, size_t len)
{
    return (uint32_t)crc32_z(state ^ 0xFFFFFFFFu, data, len) ^ 0xFFFFFFFFu;
}
#endif

/* Appending n zero bytes multiplies the CRC register by x^(8n) mod P, and
 * the CRC of n zeros alone is that product applied to the initial all-ones
 * register (zlib's crc32_combine arithmetic, 1.2.12+). */
uint32_t image_crc32_zero_extend(uint32_t crc, uint64_t n)
{
    if (n == 0) return crc;
    uLong op = crc32_combine_gen((z_off_t)n);
    uLong zeros = crc32_combine_op(0xFFFFFFFFul, 0xFFFFFFFFul, op);
    return (uint32_t)crc32_combine_op(crc, zeros, op);
}
