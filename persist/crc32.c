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

#ifdef CARDVM_HAVE_ISAL
#include <isa-l/crc.h>

uint32_t image_crc32_update(uint32_t state, const void *data, size_t len)
{
    return crc32_gzip_refl(state ^ 0xFFFFFFFFu, data, (uint64_t)len) ^ 0xFFFFFFFFu;
}
#else
#include <zlib.h>

uint32_t image_crc32_update(uint32_t state, const void *data, size_t len)
{
    return (uint32_t)crc32_z(state ^ 0xFFFFFFFFu, data, len) ^ 0xFFFFFFFFu;
}
#endif
