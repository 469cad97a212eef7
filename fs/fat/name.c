/* Name rules: long-name validity, 8.3 forms, ~N tails and the long-name checksum. */
#include <rayos/ctype.h>
#include <rayos/errno.h>
#include <rayos/string.h>
#include <rayos/utf.h>

#include "fat_internal.h"

void fat_copy_string(char *dst, const char *src, size_t size)
{
    if (size == 0)
        return;
    size_t n = strnlen(src, size - 1);
    memcpy(dst, src, n);
    dst[n] = 0;
}

/* Upper-case folding for the scripts FAT volumes commonly hold; others compare exactly. */
static uint32_t fold_case(uint32_t c)
{
    if (c >= 'a' && c <= 'z')
        return c - 32;
    if (c >= 0xe0 && c <= 0xfe && c != 0xf7)
        return c - 32;
    if (c >= 0x100 && c <= 0x17f && c != 0x130 && c != 0x131 && c != 0x138 && c != 0x149 &&
        c != 0x17f) {
        bool odd_lower = (c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17e);
        if (odd_lower ? (c & 1) == 0 : (c & 1) == 1)
            return c - 1;
        return c;
    }
    if (c >= 0x3b1 && c <= 0x3c9 && c != 0x3c2)
        return c - 32;
    if (c >= 0x430 && c <= 0x44f)
        return c - 32;
    if (c >= 0x450 && c <= 0x45f)
        return c - 80;
    return c;
}

bool fat_name_equal(const char *a, const char *b)
{
    size_t a_length = strlen(a), b_length = strlen(b), i = 0, k = 0;
    while (i < a_length && k < b_length) {
        int32_t x = utf8_decode(a, a_length, &i), y = utf8_decode(b, b_length, &k);
        if (x < 0 || y < 0)
            return false;
        if (fold_case((uint32_t)x) != fold_case((uint32_t)y))
            return false;
    }
    return i == a_length && k == b_length;
}

uint16_t fat_fold_unit(uint16_t unit)
{
    return unit >= 0xd800 && unit <= 0xdfff ? unit : (uint16_t)fold_case(unit);
}

int fat_name_key_init(struct fat_name_key *key, const char *name)
{
    int length = utf8_to_utf16(name, key->folded, FAT_NAME_MAX);
    if (length < 0)
        return length;
    key->length = (uint16_t)length;
    for (int i = 0; i < length; i++)
        key->folded[i] = fat_fold_unit(key->folded[i]);
    key->has_short_form = fat_short_from_display(name, key->short_form);
    return 0;
}

/* The 8.3 entry that fat_short_to_string shows as name (case aside), whatever characters it
 * holds: names other systems wrote with bytes RayOS never writes (">", ":", spaces, OEM bytes)
 * must open by the name listed.  ASCII letters are upper-cased; U+0080..U+00FF are the OEM
 * bytes shown as Latin-1; a first byte 0xE5 is stored as 0x05. */
bool fat_short_from_display(const char *name, uint8_t out[11])
{
    size_t length = strlen(name);
    if (length == 0 || length > 24)
        return false;
    size_t last_dot = length;
    for (size_t i = 0; i < length; i++)
        if (name[i] == '.')
            last_dot = i;
    if (last_dot == 0 || last_dot + 1 == length)
        return false; /* shown names have a base, and a dot only before an extension */
    memset(out, ' ', 11);
    size_t n = 0, limit = 8, i = 0;
    while (i < length) {
        if (i == last_dot) {
            n = 8;
            limit = 11;
            i++;
            continue;
        }
        int32_t c = utf8_decode(name, length, &i);
        if (c < 0x20 || c > 0xff || n == limit)
            return false;
        out[n++] = (uint8_t)(c >= 'a' && c <= 'z' ? c - 32 : c);
    }
    if (out[0] == FAT_ENTRY_DELETED)
        out[0] = 0x05;
    return out[0] != ' ';
}

/* An 8.3 name that does not read back byte for byte from the way it is shown: control bytes,
 * dots and a leading space (shown as '_') or lower-case ASCII letters (which no specification
 * allows, but some systems write). */
bool fat_short_is_odd(const uint8_t raw[11])
{
    if (raw[0] == ' ')
        return true;
    for (int i = 0; i < 11; i++)
        if ((raw[i] < 0x20 && !(i == 0 && raw[i] == 0x05)) || (raw[i] >= 'a' && raw[i] <= 'z') ||
            raw[i] == '.')
            return true;
    return false;
}

void fat_short_match_form(const uint8_t raw[11], uint8_t out[11])
{
    char shown[32];
    if (fat_short_is_odd(raw)) {
        fat_short_to_string(raw, false, shown, sizeof(shown));
        if (fat_short_from_display(shown, out))
            return;
    }
    memcpy(out, raw, 11);
}

static bool odd_short_matches(const struct fat_name_key *key, const uint8_t raw[11])
{
    uint8_t form[11];
    fat_short_match_form(raw, form);
    return memcmp(form, key->short_form, 11) == 0;
}

bool fat_name_key_matches(const struct fat_name_key *key, const struct fat_entry_info *e)
{
    if (key->has_short_form && memcmp(e->raw, key->short_form, 11) == 0)
        return true;
    if (key->has_short_form && fat_short_is_odd(e->raw) && odd_short_matches(key, e->raw))
        return true;
    if (e->unit_count != key->length)
        return false;
    for (uint16_t i = 0; i < key->length; i++)
        if (fat_fold_unit(e->units[i]) != key->folded[i])
            return false;
    return true;
}

bool fat_long_units_valid(const uint16_t *units, size_t count)
{
    if (count == 0 || (count <= 2 && units[0] == '.' && units[count - 1] == '.'))
        return false;
    for (size_t i = 0; i < count; i++) {
        uint16_t u = units[i];
        if (u < 0x20 || u == 0x7f || (u < 0x80 && strchr("\"*/:<>?\\|", u)))
            return false;
        if (u >= 0xd800 && u <= 0xdbff) {
            if (i + 1 == count || units[i + 1] < 0xdc00 || units[i + 1] > 0xdfff)
                return false;
            i++;
        } else if (u >= 0xdc00 && u <= 0xdfff) {
            return false;
        }
    }
    return true;
}

bool fat_long_name_valid(const char *name)
{
    size_t length = strlen(name);
    if (length == 0 || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
        return false;
    /* Windows drops trailing dots and spaces silently; refusing them keeps names exact. */
    if (name[length - 1] == '.' || name[length - 1] == ' ')
        return false;
    for (size_t i = 0; i < length; i++) {
        uint8_t c = (uint8_t)name[i];
        if (c < 0x20 || c == 0x7f || strchr("\"*/:<>?\\|", c))
            return false;
    }
    return true; /* length and UTF-8 validity: fat_dir_add converts and reports them */
}

uint8_t fat_short_checksum(const uint8_t short_name[11])
{
    uint8_t sum = 0;
    for (int i = 0; i < 11; i++)
        sum = (uint8_t)(((sum & 1) << 7) + (sum >> 1) + short_name[i]);
    return sum;
}

static bool short_char_valid(uint8_t c)
{
    if (c >= 0x80)
        return false; /* we never write OEM code-page bytes */
    if ((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return true;
    return c && strchr("$%'-_@~`!(){}^#&", c) != NULL;
}

void fat_short_to_string(const uint8_t *raw, bool apply_case, char *out, size_t size)
{
    if (fat_is_dot_entry(raw)) {
        fat_copy_string(out, raw[1] == '.' ? ".." : ".", size);
        return;
    }
    char text[32];
    size_t n = 0;
    uint8_t flags = raw[12];
    for (int part = 0; part < 2; part++) {
        int start = part ? 8 : 0, end = part ? 11 : 8;
        int last = end - 1;
        while (last >= start && raw[last] == ' ')
            last--;
        if (part == 0 && last < start)
            last = start; /* no base at all: shown as "_" (below), never as "" */
        if (part && last >= start)
            text[n++] = '.';
        bool lower = apply_case && (flags & (part ? FAT_NT_LOWER_EXT : FAT_NT_LOWER_BASE));
        for (int i = start; i <= last; i++) {
            uint8_t c = raw[i];
            if (i == 0 && c == 0x05)
                c = FAT_ENTRY_DELETED;
            if (c >= 0x80) {
                /* OEM bytes shown as Latin-1: readable, reversible, not code-page exact */
                n += utf8_encode(c, text + n);
                continue;
            }
            /* a dot inside a part or a leading space would make the name read back
             * differently: shown as '_' like control bytes */
            if (c < 0x20 || c == '.' || (i == 0 && c == ' '))
                c = '_';
            text[n++] = (char)(lower && c >= 'A' && c <= 'Z' ? c + 32 : c);
        }
    }
    text[n] = 0;
    fat_copy_string(out, text, size);
}

static bool part_case(const char *s, size_t length, bool *lower)
{
    bool has_lower = false, has_upper = false;
    for (size_t i = 0; i < length; i++) {
        has_lower |= s[i] >= 'a' && s[i] <= 'z';
        has_upper |= s[i] >= 'A' && s[i] <= 'Z';
    }
    *lower = has_lower;
    return !(has_lower && has_upper);
}

/* The name is its own 8.3 form: ASCII, one optional dot, 1-8 + 0-3 valid characters, each
 * part in one case (lower case is kept with the NT flag bits). */
static bool exact_short(const char *name, struct fat_short_plan *plan)
{
    size_t length = strlen(name);
    const char *dot = strchr(name, '.');
    size_t base_length = dot ? (size_t)(dot - name) : length;
    size_t ext_length = dot ? length - base_length - 1 : 0;
    if (base_length == 0 || base_length > 8 || ext_length > 3 || (dot && ext_length == 0))
        return false;
    if (dot && strchr(dot + 1, '.'))
        return false;
    for (size_t i = 0; i < length; i++) {
        if (name + i == dot)
            continue;
        if (!short_char_valid((uint8_t)to_upper(name[i])))
            return false;
    }
    bool base_lower, ext_lower;
    if (!part_case(name, base_length, &base_lower) ||
        !part_case(dot ? dot + 1 : name + length, ext_length, &ext_lower))
        return false;
    memset(plan->basis, ' ', 11);
    for (size_t i = 0; i < base_length; i++)
        plan->basis[i] = (uint8_t)to_upper(name[i]);
    for (size_t i = 0; i < ext_length; i++)
        plan->basis[8 + i] = (uint8_t)to_upper(dot[1 + i]);
    plan->case_flags =
        (uint8_t)((base_lower ? FAT_NT_LOWER_BASE : 0) | (ext_lower ? FAT_NT_LOWER_EXT : 0));
    if (plan->basis[0] == FAT_ENTRY_DELETED)
        plan->basis[0] = 0x05;
    return true;
}

/* Appends the 8.3 form of name[from, to) to out (up to max characters). */
static void basis_part(const char *name, size_t from, size_t to, uint8_t *out, size_t max,
                       bool *lossy)
{
    size_t n = 0;
    for (size_t i = from; i < to; i++) {
        uint8_t c = (uint8_t)name[i];
        if (c == ' ' || c == '.') {
            *lossy = true;
            continue;
        }
        if (c >= 0x80) {
            /* one '_' per code point: skip the continuation bytes */
            while (i + 1 < to && ((uint8_t)name[i + 1] & 0xc0) == 0x80)
                i++;
            c = '_';
            *lossy = true;
        } else {
            c = (uint8_t)to_upper((char)c);
            if (!short_char_valid(c)) {
                c = '_';
                *lossy = true;
            }
        }
        if (n == max) {
            *lossy = true;
            return;
        }
        out[n++] = c;
    }
}

void fat_plan_short_name(const char *name, struct fat_short_plan *plan)
{
    memset(plan, 0, sizeof(*plan));
    plan->name_length = strlen(name);
    if (exact_short(name, plan))
        return;
    plan->needs_lfn = true;
    memset(plan->basis, ' ', 11);
    size_t length = plan->name_length;
    size_t start = 0;
    while (start < length && name[start] == '.')
        start++;
    if (start)
        plan->lossy = true;
    size_t last_dot = length;
    for (size_t i = start; i < length; i++)
        if (name[i] == '.')
            last_dot = i;
    basis_part(name, start, last_dot, plan->basis, 8, &plan->lossy);
    if (last_dot < length)
        basis_part(name, last_dot + 1, length, plan->basis + 8, 3, &plan->lossy);
    if (plan->basis[0] == ' ') {
        plan->basis[0] = '_';
        plan->lossy = true;
    }
}

static size_t base_length_of(const uint8_t *short_name)
{
    size_t n = 8;
    while (n > 0 && short_name[n - 1] == ' ')
        n--;
    return n;
}

void fat_apply_tail(const uint8_t basis[11], uint32_t number, uint8_t out[11])
{
    char digits[12];
    int count = snprintf(digits, sizeof(digits), "%u", number);
    size_t keep = MIN(base_length_of(basis), (size_t)(7 - count));
    memset(out, ' ', 8);
    memcpy(out, basis, keep);
    out[keep] = '~';
    memcpy(out + keep + 1, digits, (size_t)count);
    memcpy(out + 8, basis + 8, 3);
}

/* The N of a candidate "BASIS~N" made from this basis, or -1. */
int fat_tail_number(const uint8_t basis[11], const uint8_t candidate[11])
{
    if (memcmp(basis + 8, candidate + 8, 3) != 0)
        return -1;
    size_t length = base_length_of(candidate);
    size_t tilde = length; /* the last '~': a basis may hold one too ("A~B" from "a~b c") */
    while (tilde > 0 && candidate[tilde - 1] != '~')
        tilde--;
    if (tilde == 0 || tilde == length)
        return -1;
    tilde--;
    int number = 0;
    size_t digits = length - tilde - 1;
    if (digits > 6)
        return -1;
    for (size_t i = tilde + 1; i < length; i++) {
        if (candidate[i] < '0' || candidate[i] > '9')
            return -1;
        number = number * 10 + (candidate[i] - '0');
    }
    if (number < 1 || tilde != MIN(base_length_of(basis), 7 - digits) ||
        memcmp(candidate, basis, tilde) != 0)
        return -1;
    return number;
}
