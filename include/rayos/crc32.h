/* CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320) as used by GPT, zlib and Ethernet. */
#ifndef RAYOS_CRC32_H
#define RAYOS_CRC32_H

#include <rayos/types.h>

/* Continues a CRC: start with crc32_update(0, ...); the result is the final CRC. */
uint32_t crc32_update(uint32_t crc, const void *data, size_t length);

#endif
