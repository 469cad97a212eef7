/* libFuzzer: FAT names (fs/fat/name.c) and UTF-8/UTF-16 conversion (lib/utf.c).  The first
 * byte picks what the rest is:
 *   0  a long name as UTF-16 units from disk: it converts to UTF-8 that fits, and when it is
 *      valid it converts back unit for unit, and the name shown opens the entry;
 *   1  a name typed by a user: UTF-8 converts to UTF-16 and back byte for byte, compares
 *      equal to itself, and its planned 8.3 form is a valid one that shows as the name when
 *      no long name is needed; ~N tails read back as N;
 *   2  an 8.3 entry from disk (11 name bytes and the case flags): the name it is shown as
 *      opens it, whatever bytes it holds. */
#include <rayos/errno.h>
#include <rayos/utf.h>

#include <stdlib.h>
#include <string.h>

#include "fs/fat/fat_internal.h"

extern int host_log_level;

static void check_utf8(const char *s, size_t length)
{
    for (size_t pos = 0; pos < length;)
        if (utf8_decode(s, length, &pos) < 0)
            abort();
}

static struct fat_entry_info entry;
static struct fat_name_key key;
static char text[FAT_NAME_UTF8_MAX + 1];
static uint16_t units[FAT_NAME_MAX];

static void long_name_from_disk(const uint8_t *data, size_t size)
{
    size_t count = MIN(size / 2, (size_t)FAT_NAME_MAX);
    for (size_t i = 0; i < count; i++)
        units[i] = (uint16_t)(data[2 * i] | data[2 * i + 1] << 8);
    int n = utf16_to_utf8(units, count, text, sizeof(text));
    if (n < 0)
        abort(); /* 255 units always fit in FAT_NAME_UTF8_MAX bytes */
    check_utf8(text, (size_t)n);
    if (!fat_long_units_valid(units, count))
        return;
    uint16_t back[FAT_NAME_MAX];
    if (utf8_to_utf16(text, back, FAT_NAME_MAX) != (int)count ||
        memcmp(back, units, count * 2) != 0)
        abort(); /* a valid long name survives the round trip */
    if (strchr(text, '/') || strcmp(text, ".") == 0 || strcmp(text, "..") == 0)
        abort(); /* the shown name must be usable in a path */
    memset(&entry, 0, sizeof(entry));
    memcpy(entry.raw, "ZZZZZZ~1ZZZ", 11);
    memcpy(entry.units, units, count * 2);
    entry.unit_count = (uint16_t)count;
    if (fat_name_key_init(&key, text) != 0 || !fat_name_key_matches(&key, &entry))
        abort(); /* the name shown opens the entry */
}

static bool short_char(uint8_t c)
{
    return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || strchr("$%'-_@~`!(){}^#&", c);
}

static void name_from_user(const uint8_t *data, size_t size)
{
    size_t length = MIN(size, sizeof(text) - 1);
    memcpy(text, data, length);
    text[length] = 0;
    length = strlen(text);
    int count = utf8_to_utf16(text, units, FAT_NAME_MAX);
    if (count >= 0) {
        char back[FAT_NAME_UTF8_MAX + 1];
        int n = utf16_to_utf8(units, (size_t)count, back, sizeof(back));
        if (n != (int)length || memcmp(back, text, length) != 0)
            abort(); /* valid UTF-8 survives the round trip */
        if (!fat_name_equal(text, text))
            abort();
    }
    if (length == 0)
        return;
    struct fat_short_plan plan;
    fat_plan_short_name(text, &plan);
    if (plan.basis[0] == ' ')
        abort();
    for (int i = 0; i < 11; i++)
        if (plan.basis[i] != ' ' && !short_char(plan.basis[i]) &&
            !(i == 0 && plan.basis[0] == 0x05))
            abort(); /* only characters an 8.3 name may hold */
    if (!plan.needs_lfn) {
        memset(entry.raw, 0, sizeof(entry.raw));
        memcpy(entry.raw, plan.basis, 11);
        entry.raw[12] = plan.case_flags;
        char shown[32];
        fat_short_to_string(entry.raw, true, shown, sizeof(shown));
        if (strcmp(shown, text) != 0)
            abort(); /* a name that is its own 8.3 form shows as itself */
    }
    uint32_t number = 1 + (uint32_t)(data[0] | data[size - 1] << 8) % 999999;
    uint8_t tailed[11];
    fat_apply_tail(plan.basis, number, tailed);
    if (fat_tail_number(plan.basis, tailed) != (int)number)
        abort();
}

static void short_name_from_disk(const uint8_t *data, size_t size)
{
    if (size < 12)
        return;
    memset(&entry, 0, sizeof(entry));
    memcpy(entry.raw, data, 11);
    entry.raw[12] = data[11];
    if (entry.raw[0] == 0 || entry.raw[0] == FAT_ENTRY_DELETED || !memcmp(entry.raw, ".  ", 3) ||
        !memcmp(entry.raw, ".. ", 3))
        return; /* free, deleted, or the "." and ".." entries: never listed */
    char shown[32];
    fat_short_to_string(entry.raw, true, shown, sizeof(shown));
    check_utf8(shown, strlen(shown));
    if (fat_name_key_init(&key, shown) != 0 || !fat_name_key_matches(&key, &entry))
        abort(); /* a listed name must open */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    host_log_level = -1;
    if (size < 2)
        return 0;
    switch (data[0] % 3) {
    case 0:
        long_name_from_disk(data + 1, size - 1);
        break;
    case 1:
        name_from_user(data + 1, size - 1);
        break;
    default:
        short_name_from_disk(data + 1, size - 1);
        break;
    }
    return 0;
}
