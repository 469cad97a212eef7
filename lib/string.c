/* Freestanding string and memory functions for the kernel (the host uses libc's). */
#include <rayos/ctype.h>
#include <rayos/string.h>
#include "string_copy.h"

/* GCC may turn a copy or fill loop into a call to memcpy or memset: not inside them. */
#if defined(__GNUC__) && !defined(__clang__)
#define NO_LOOP_CALLS __attribute__((optimize("no-tree-loop-distribute-patterns")))
#else
#define NO_LOOP_CALLS
#endif

typedef unsigned long word_t __attribute__((may_alias));

NO_LOOP_CALLS void *portable_memcpy(void *dst, const void *src, size_t n)
{
    unsigned char *d = dst;
    const unsigned char *s = src;
    /* Words when both sides can be aligned together; bytes when they are apart (no unaligned
     * word accesses: some architectures fault on them before their MMU is on). */
    if ((((uintptr_t)d ^ (uintptr_t)s) & (sizeof(word_t) - 1)) == 0) {
        for (; n && ((uintptr_t)d & (sizeof(word_t) - 1)); n--)
            *d++ = *s++;
        for (; n >= 4 * sizeof(word_t); n -= 4 * sizeof(word_t)) {
            word_t a = ((const word_t *)s)[0], b = ((const word_t *)s)[1];
            word_t c = ((const word_t *)s)[2], e = ((const word_t *)s)[3];
            ((word_t *)d)[0] = a, ((word_t *)d)[1] = b, ((word_t *)d)[2] = c;
            ((word_t *)d)[3] = e;
            d += 4 * sizeof(word_t), s += 4 * sizeof(word_t);
        }
        for (; n >= sizeof(word_t); n -= sizeof(word_t)) {
            *(word_t *)d = *(const word_t *)s;
            d += sizeof(word_t), s += sizeof(word_t);
        }
    }
    while (n--)
        *d++ = *s++;
    return dst;
}

NO_LOOP_CALLS void *portable_memset(void *dst, int c, size_t n)
{
    unsigned char *d = dst;
    for (; n && ((uintptr_t)d & (sizeof(word_t) - 1)); n--)
        *d++ = (unsigned char)c;
    word_t w = (word_t)-1 / 0xff * (unsigned char)c; /* c in every byte */
    for (; n >= 4 * sizeof(word_t); n -= 4 * sizeof(word_t)) {
        ((word_t *)d)[0] = w, ((word_t *)d)[1] = w, ((word_t *)d)[2] = w, ((word_t *)d)[3] = w;
        d += 4 * sizeof(word_t);
    }
    for (; n >= sizeof(word_t); n -= sizeof(word_t)) {
        *(word_t *)d = w;
        d += sizeof(word_t);
    }
    while (n--)
        *d++ = (unsigned char)c;
    return dst;
}

#if !__STDC_HOSTED__

/* An architecture with faster block copies supplies <asm/string.h> (docs/ARCHITECTURE.md):
 * ARCH_MEMCPY and ARCH_MEMSET defined, arch_memcpy and arch_memset inline.  Otherwise the
 * portable loops above do the work. */
#if __has_include(<asm/string.h>)
#include <asm/string.h>
#endif

NO_LOOP_CALLS void *memcpy(void *dst, const void *src, size_t n)
{
#ifdef ARCH_MEMCPY
    return arch_memcpy(dst, src, n);
#else
    return portable_memcpy(dst, src, n);
#endif
}

NO_LOOP_CALLS void *memmove(void *dst, const void *src, size_t n)
{
    unsigned char *d = dst;
    const unsigned char *s = src;
    if (d == s || n == 0)
        return dst;
    if (d < s || d >= s + n)
        return memcpy(dst, src, n);
    while (n--)
        d[n] = s[n];
    return dst;
}

NO_LOOP_CALLS void *memset(void *dst, int c, size_t n)
{
#ifdef ARCH_MEMSET
    return arch_memset(dst, c, n);
#else
    return portable_memset(dst, c, n);
#endif
}

int memcmp(const void *a, const void *b, size_t n)
{
    const unsigned char *x = a, *y = b;
    for (size_t i = 0; i < n; i++)
        if (x[i] != y[i])
            return x[i] - y[i];
    return 0;
}

void *memchr(const void *s, int c, size_t n)
{
    const unsigned char *p = s;
    for (size_t i = 0; i < n; i++)
        if (p[i] == (unsigned char)c)
            return (void *)(p + i);
    return NULL;
}

size_t strlen(const char *s)
{
    size_t n = 0;
    while (s[n])
        n++;
    return n;
}

size_t strnlen(const char *s, size_t max)
{
    size_t n = 0;
    while (n < max && s[n])
        n++;
    return n;
}

int strcmp(const char *a, const char *b)
{
    while (*a && *a == *b)
        a++, b++;
    return (unsigned char)*a - (unsigned char)*b;
}

int strncmp(const char *a, const char *b, size_t n)
{
    for (; n; n--, a++, b++) {
        if (*a != *b || !*a)
            return (unsigned char)*a - (unsigned char)*b;
    }
    return 0;
}

int strcasecmp(const char *a, const char *b)
{
    while (*a && to_lower(*a) == to_lower(*b))
        a++, b++;
    return to_lower((unsigned char)*a) - to_lower((unsigned char)*b);
}

int strncasecmp(const char *a, const char *b, size_t n)
{
    for (; n; n--, a++, b++) {
        if (to_lower(*a) != to_lower(*b) || !*a)
            return to_lower((unsigned char)*a) - to_lower((unsigned char)*b);
    }
    return 0;
}

char *strchr(const char *s, int c)
{
    for (;; s++) {
        if (*s == (char)c)
            return (char *)s;
        if (!*s)
            return NULL;
    }
}

char *strrchr(const char *s, int c)
{
    const char *last = NULL;
    for (;; s++) {
        if (*s == (char)c)
            last = s;
        if (!*s)
            return (char *)last;
    }
}

char *strstr(const char *haystack, const char *needle)
{
    size_t n = strlen(needle);
    for (; *haystack; haystack++)
        if (strncmp(haystack, needle, n) == 0)
            return (char *)haystack;
    return n == 0 ? (char *)haystack : NULL;
}

char *strcpy(char *dst, const char *src)
{
    char *d = dst;
    while ((*d++ = *src++))
        ;
    return dst;
}

char *strncpy(char *dst, const char *src, size_t n)
{
    size_t i = 0;
    for (; i < n && src[i]; i++)
        dst[i] = src[i];
    for (; i < n; i++)
        dst[i] = 0;
    return dst;
}

char *strcat(char *dst, const char *src)
{
    strcpy(dst + strlen(dst), src);
    return dst;
}

size_t strspn(const char *s, const char *accept)
{
    size_t n = 0;
    while (s[n] && strchr(accept, s[n]))
        n++;
    return n;
}

size_t strcspn(const char *s, const char *reject)
{
    size_t n = 0;
    while (s[n] && !strchr(reject, s[n]))
        n++;
    return n;
}

unsigned long long strtoull(const char *s, char **end, int base)
{
    unsigned long long v = 0;
    while (is_space(*s))
        s++;
    if (*s == '+')
        s++;
    if ((base == 0 || base == 16) && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') &&
        is_xdigit(s[2])) {
        s += 2;
        base = 16;
    } else if (base == 0 && s[0] == '0') {
        base = 8;
    } else if (base == 0) {
        base = 10;
    }
    for (;; s++) {
        int d;
        if (is_digit(*s))
            d = *s - '0';
        else if (is_alpha(*s))
            d = to_lower(*s) - 'a' + 10;
        else
            break;
        if (d >= base)
            break;
        v = v * (unsigned)base + (unsigned)d;
    }
    if (end)
        *end = (char *)s;
    return v;
}

unsigned long strtoul(const char *s, char **end, int base)
{
    return (unsigned long)strtoull(s, end, base);
}

long strtol(const char *s, char **end, int base)
{
    while (is_space(*s))
        s++;
    if (*s == '-')
        return -(long)strtoull(s + 1, end, base);
    return (long)strtoull(s, end, base);
}

#endif /* !__STDC_HOSTED__ */

size_t strlcpy(char *dst, const char *src, size_t size)
{
    size_t n = strlen(src);
    if (size) {
        size_t copy = n < size - 1 ? n : size - 1;
        memcpy(dst, src, copy);
        dst[copy] = 0;
    }
    return n;
}

const char *parse_u64(const char *text, uint64_t *value)
{
    unsigned base = 10;
    if (text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
        base = 16;
        text += 2;
    }
    if (!is_xdigit((unsigned char)*text) || (base == 10 && !is_digit((unsigned char)*text)))
        return NULL;
    uint64_t v = 0;
    for (;; text++) {
        unsigned digit;
        if (is_digit((unsigned char)*text))
            digit = (unsigned)(*text - '0');
        else if (base == 16 && is_xdigit((unsigned char)*text))
            digit = (unsigned)(to_lower((unsigned char)*text) - 'a' + 10);
        else
            break;
        if (v > (UINT64_MAX - digit) / base)
            return NULL; /* does not fit: never wrap around to a small number */
        v = v * base + digit;
    }
    *value = v;
    return text;
}
