/* x86-64 block copy and fill for lib/string.c: rep movsb/stosb, which CPUs with ERMSB (every
 * one since Ivy Bridge, and QEMU's TCG) run as fast as any hand-written loop. */
#ifndef ASM_STRING_H
#define ASM_STRING_H

#include <stddef.h>

static inline void arch_copy_bytes(void *dst, const void *src, size_t n)
{
    __asm__ volatile("rep movsb" : "+D"(dst), "+S"(src), "+c"(n) : : "memory");
}

static inline void arch_fill_bytes(void *dst, int c, size_t n)
{
    __asm__ volatile("rep stosb" : "+D"(dst), "+c"(n) : "a"(c) : "memory");
}

#endif
