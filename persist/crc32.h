/* crc32.h — streaming CRC-32 used by the card image checksums.
 * crc = image_crc32_final(image_crc32_update(image_crc32_update(IMAGE_CRC32_INIT, a, n), b, m)) */
#ifndef CARDVM_CRC32_H
#define CARDVM_CRC32_H
#include <stddef.h>
#include <stdint.h>
#define IMAGE_CRC32_INIT 0xFFFFFFFFu
uint32_t image_crc32_update(uint32_t state, const void *data, size_t len);
static inline uint32_t image_crc32_final(uint32_t state) { return state ^ 0xFFFFFFFFu; }
/* The CRC of (data || n zero bytes) from crc = the CRC of data (both final
 * values), in O(log n): an image region known to be zero past its extent is
 * checked without being read. */
uint32_t image_crc32_zero_extend(uint32_t crc, uint64_t n);
#endif
