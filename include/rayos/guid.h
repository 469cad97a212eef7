/* GUIDs as GPT and UEFI store them: 16 bytes whose first three fields are little-endian, shown
 * as "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" (lower case when we print them). */
#ifndef RAYOS_GUID_H
#define RAYOS_GUID_H

#include <rayos/types.h>

#define GUID_TEXT_SIZE 37 /* 36 characters and the NUL */

void guid_format(const uint8_t guid[16], char out[GUID_TEXT_SIZE]);
/* Parses the 36-character text form (either case); false if text is anything else. */
bool guid_parse(const char *text, uint8_t guid[16]);
/* A random (version 4, RFC 4122 variant) GUID from 16 bytes of entropy. */
void guid_from_random(const uint8_t random[16], uint8_t guid[16]);

#endif
