/* crc32.h — streaming CRC-32 used by the card image checksums.
 * crc = crc32_final(crc32_update(crc32_update(CRC32_INIT, a, n), b, m)) */
#ifndef CARDVM_CRC32_H
#define CARDVM_CRC32_H
#include <stddef.h>
#include <stdint.h>
#define CRC32_INIT 0xFFFFFFFFu
uint32_t crc32_update(uint32_t state, const void *data, size_t len);
static inline uint32_t crc32_final(uint32_t state) { return state ^ 0xFFFFFFFFu; }
#endif
