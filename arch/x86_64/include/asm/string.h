/* x86-64 block copy and fill for lib/string.c: `rep movsb`/`rep stosb`, which CPUs with ERMSB
 * (Ivy Bridge and later, Zen) run as fast as any vector loop, without touching the FPU. */
#ifndef ASM_STRING_H
#define ASM_STRING_H

#include <stddef.h>

#define ARCH_MEMCPY
#define ARCH_MEMSET

static inline void *arch_memcpy(void *dst, const void *src, size_t n)
{
    void *ret = dst;
    __asm__ volatile("rep movsb" : "+D"(dst), "+S"(src), "+c"(n) : : "memory");
    return ret;
}

static inline void *arch_memset(void *dst, int c, size_t n)
{
    void *ret = dst;
    __asm__ volatile("rep stosb" : "+D"(dst), "+c"(n) : "a"(c) : "memory");
    return ret;
}

#endif
