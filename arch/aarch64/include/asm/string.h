/* AArch64 block copy and fill for lib/string.c: 16 bytes per ldp/stp when both pointers allow,
 * bytes otherwise.  Written in asm so the compiler cannot turn the loops back into calls to
 * memcpy/memset. */
#ifndef ASM_STRING_H
#define ASM_STRING_H

#include <stddef.h>
#include <stdint.h>

#define ARCH_MEMCPY
#define ARCH_MEMSET

static inline void *arch_memcpy(void *dst, const void *src, size_t n)
{
    uint8_t *d = dst;
    const uint8_t *s = src;
    if ((((uintptr_t)d | (uintptr_t)s) & 15) == 0) {
        size_t blocks = n / 16;
        uint64_t a, b;
        __asm__ volatile("cbz %2, 2f\n"
                         "1: ldp %3, %4, [%1], #16\n"
                         "stp %3, %4, [%0], #16\n"
                         "subs %2, %2, #1\n"
                         "b.ne 1b\n"
                         "2:"
                         : "+r"(d), "+r"(s), "+r"(blocks), "=&r"(a), "=&r"(b)
                         :
                         : "memory", "cc");
        n %= 16;
    }
    __asm__ volatile("cbz %2, 2f\n"
                     "1: ldrb w9, [%1], #1\n"
                     "strb w9, [%0], #1\n"
                     "subs %2, %2, #1\n"
                     "b.ne 1b\n"
                     "2:"
                     : "+r"(d), "+r"(s), "+r"(n)
                     :
                     : "x9", "memory", "cc");
    return dst;
}

static inline void *arch_memset(void *dst, int c, size_t n)
{
    uint8_t *d = dst;
    if (((uintptr_t)d & 15) == 0) {
        uint64_t v = (uint8_t)c * 0x0101010101010101ULL;
        size_t blocks = n / 16;
        __asm__ volatile("cbz %1, 2f\n"
                         "1: stp %2, %2, [%0], #16\n"
                         "subs %1, %1, #1\n"
                         "b.ne 1b\n"
                         "2:"
                         : "+r"(d), "+r"(blocks)
                         : "r"(v)
                         : "memory", "cc");
        n %= 16;
    }
    __asm__ volatile("cbz %1, 2f\n"
                     "1: strb %w2, [%0], #1\n"
                     "subs %1, %1, #1\n"
                     "b.ne 1b\n"
                     "2:"
                     : "+r"(d), "+r"(n)
                     : "r"(c)
                     : "memory", "cc");
    return dst;
}

#endif
