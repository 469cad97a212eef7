#ifndef RAYOS_HEXDUMP_H
#define RAYOS_HEXDUMP_H

#include <rayos/types.h>

#define HEXDUMP_LINE_MAX 80

/* One line of xxd's default format for up to 16 bytes at offset:
 * "00000010: 5859 5a                                  XYZ\n".  Returns its length. */
size_t hexdump_line(char *out, uint64_t offset, const uint8_t *bytes, size_t count);

#endif
