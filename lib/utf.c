#include <rayos/errno.h>
#include <rayos/string.h>
#include <rayos/utf.h>

int32_t utf8_decode(const char *s, size_t length, size_t *pos)
{
    const uint8_t *b = (const uint8_t *)s;
    size_t i = *pos;
    if (i >= length)
        return -1;
    uint32_t lead = b[i];
    size_t extra;
    uint32_t code_point, minimum;
    if (lead < 0x80) {
        *pos = i + 1;
        return (int32_t)lead;
    } else if ((lead & 0xe0) == 0xc0) {
        extra = 1, code_point = lead & 0x1f, minimum = 0x80;
    } else if ((lead & 0xf0) == 0xe0) {
        extra = 2, code_point = lead & 0x0f, minimum = 0x800;
    } else if ((lead & 0xf8) == 0xf0) {
        extra = 3, code_point = lead & 0x07, minimum = 0x10000;
    } else {
        return -1;
    }
    if (length - i <= extra)
        return -1;
    for (size_t k = 1; k <= extra; k++) {
        if ((b[i + k] & 0xc0) != 0x80)
            return -1;
        code_point = code_point << 6 | (b[i + k] & 0x3f);
    }
    if (code_point < minimum || code_point > 0x10ffff ||
        (code_point >= 0xd800 && code_point <= 0xdfff))
        return -1;
    *pos = i + 1 + extra;
    return (int32_t)code_point;
}

size_t utf8_encode(uint32_t code_point, char *out)
{
    uint8_t *o = (uint8_t *)out;
    if (code_point < 0x80) {
        o[0] = (uint8_t)code_point;
        return 1;
    }
    if (code_point < 0x800) {
        o[0] = (uint8_t)(0xc0 | code_point >> 6);
        o[1] = (uint8_t)(0x80 | (code_point & 0x3f));
        return 2;
    }
    if (code_point >= 0xd800 && code_point <= 0xdfff)
        return 0;
    if (code_point < 0x10000) {
        o[0] = (uint8_t)(0xe0 | code_point >> 12);
        o[1] = (uint8_t)(0x80 | ((code_point >> 6) & 0x3f));
        o[2] = (uint8_t)(0x80 | (code_point & 0x3f));
        return 3;
    }
    if (code_point <= 0x10ffff) {
        o[0] = (uint8_t)(0xf0 | code_point >> 18);
        o[1] = (uint8_t)(0x80 | ((code_point >> 12) & 0x3f));
        o[2] = (uint8_t)(0x80 | ((code_point >> 6) & 0x3f));
        o[3] = (uint8_t)(0x80 | (code_point & 0x3f));
        return 4;
    }
    return 0;
}

int utf8_to_utf16(const char *s, uint16_t *out, size_t max)
{
    size_t length = strlen(s);
    size_t pos = 0, count = 0;
    while (pos < length) {
        int32_t code_point = utf8_decode(s, length, &pos);
        if (code_point < 0)
            return -EILSEQ;
        size_t need = code_point >= 0x10000 ? 2 : 1;
        if (count + need > max)
            return -ENAMETOOLONG;
        if (need == 2) {
            uint32_t v = (uint32_t)code_point - 0x10000;
            out[count++] = (uint16_t)(0xd800 | v >> 10);
            out[count++] = (uint16_t)(0xdc00 | (v & 0x3ff));
        } else {
            out[count++] = (uint16_t)code_point;
        }
    }
    return (int)count;
}

int utf16_to_utf8(const uint16_t *units, size_t count, char *out, size_t size)
{
    size_t used = 0;
    if (size == 0)
        return -ENAMETOOLONG;
    for (size_t i = 0; i < count; i++) {
        uint32_t code_point = units[i];
        if (code_point >= 0xd800 && code_point <= 0xdbff && i + 1 < count &&
            units[i + 1] >= 0xdc00 && units[i + 1] <= 0xdfff) {
            code_point = 0x10000 + ((code_point - 0xd800) << 10) + (units[i + 1] - 0xdc00);
            i++;
        } else if (code_point >= 0xd800 && code_point <= 0xdfff) {
            code_point = UTF_REPLACEMENT;
        }
        char encoded[4];
        size_t n = utf8_encode(code_point, encoded);
        if (used + n + 1 > size) {
            out[used] = 0;
            return -ENAMETOOLONG;
        }
        for (size_t k = 0; k < n; k++)
            out[used++] = encoded[k];
    }
    out[used] = 0;
    return (int)used;
}
