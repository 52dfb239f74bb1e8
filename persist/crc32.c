/* crc32.c — CRC-32 (IEEE 802.3, reflected, poly 0xEDB88320) for image
 * checksums, from zlib. Integrity against accidents only; not a security
 * mechanism. zlib's crc32_z takes and returns the finalized value; the
 * image code streams the pre-final state, hence the two inversions. */
#include "crc32.h"

#include <zlib.h>

uint32_t image_crc32_update(uint32_t state, const void *data, size_t len)
{
    return (uint32_t)crc32_z(state ^ 0xFFFFFFFFu, data, len) ^ 0xFFFFFFFFu;
}
