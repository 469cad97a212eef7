/* GUID text form.  The on-disk order swaps the first three fields (little-endian), so text
 * position i comes from byte order[i]. */
#include <rayos/guid.h>
#include <rayos/string.h>

static const uint8_t byte_order[16] = {3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15};

static bool dash_after(unsigned text_byte)
{
    return text_byte == 3 || text_byte == 5 || text_byte == 7 || text_byte == 9;
}

void guid_format(const uint8_t guid[16], char out[GUID_TEXT_SIZE])
{
    static const char hex[] = "0123456789abcdef";
    char *p = out;
    for (unsigned i = 0; i < 16; i++) {
        uint8_t b = guid[byte_order[i]];
        *p++ = hex[b >> 4];
        *p++ = hex[b & 15];
        if (dash_after(i))
            *p++ = '-';
    }
    *p = 0;
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

bool guid_parse(const char *text, uint8_t guid[16])
{
    uint8_t out[16];
    const char *p = text;
    for (unsigned i = 0; i < 16; i++) {
        int high = hex_value(p[0]);
        int low = high < 0 ? -1 : hex_value(p[1]);
        if (low < 0)
            return false;
        out[byte_order[i]] = (uint8_t)(high << 4 | low);
        p += 2;
        if (dash_after(i) && *p++ != '-')
            return false;
    }
    if (*p)
        return false;
    memcpy(guid, out, 16);
    return true;
}

void guid_from_random(const uint8_t random[16], uint8_t guid[16])
{
    memcpy(guid, random, 16);
    guid[7] = (uint8_t)((guid[7] & 0x0f) | 0x40); /* version 4 (time_hi field, little-endian) */
    guid[8] = (uint8_t)((guid[8] & 0x3f) | 0x80); /* RFC 4122 variant */
}
