/* xxd-compatible hexdump lines (tests compare them with the real xxd). */
#include <rayos/hexdump.h>
#include <rayos/string.h>

size_t hexdump_line(char *out, uint64_t offset, const uint8_t *bytes, size_t count)
{
    static const char digits[] = "0123456789abcdef";
    if (count > 16)
        count = 16;
    size_t n = (size_t)snprintf(out, HEXDUMP_LINE_MAX, "%08llx:", (unsigned long long)offset);
    for (size_t i = 0; i < 16; i++) {
        if (i % 2 == 0)
            out[n++] = ' ';
        out[n++] = i < count ? digits[bytes[i] >> 4] : ' ';
        out[n++] = i < count ? digits[bytes[i] & 15] : ' ';
    }
    out[n++] = ' ';
    out[n++] = ' ';
    for (size_t i = 0; i < count; i++)
        out[n++] = bytes[i] >= 0x20 && bytes[i] < 0x7f ? (char)bytes[i] : '.';
    out[n++] = '\n';
    out[n] = 0;
    return n;
}
