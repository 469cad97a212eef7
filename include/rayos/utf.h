/* UTF-8 <-> UTF-16 conversion for on-disk names (FAT long names, GPT partition names). */
#ifndef RAYOS_UTF_H
#define RAYOS_UTF_H

#include <rayos/types.h>

#define UTF_REPLACEMENT 0xfffd

/* Decodes one code point from s[*pos..length); advances *pos.  Returns the code point or -1 on
 * malformed input (overlong forms, surrogates and values above U+10FFFF are malformed). */
int32_t utf8_decode(const char *s, size_t length, size_t *pos);
/* Encodes a code point into out (at least 4 bytes); returns the byte count (0 if invalid). */
size_t utf8_encode(uint32_t code_point, char *out);

/* NUL-terminated UTF-8 to UTF-16 units (no terminator written).  Returns the unit count,
 * -EILSEQ on malformed UTF-8 or -ENAMETOOLONG when more than max units are needed. */
int utf8_to_utf16(const char *s, uint16_t *out, size_t max);
/* UTF-16 units to NUL-terminated UTF-8.  Unpaired surrogates become U+FFFD.  Returns the byte
 * count without the NUL, or -ENAMETOOLONG if out (size bytes) is too small. */
int utf16_to_utf8(const uint16_t *units, size_t count, char *out, size_t size);

#endif
