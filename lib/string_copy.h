/* The portable block copy and fill behind the kernel's memcpy and memset where the architecture
 * supplies no faster ones (<asm/string.h>); built on the host too, for their unit test. */
#ifndef LIB_STRING_COPY_H
#define LIB_STRING_COPY_H

#include <rayos/types.h>

/* memcpy and memset semantics: a word at a time where alignment allows, bytes elsewhere. */
void *portable_memcpy(void *dst, const void *src, size_t n);
void *portable_memset(void *dst, int c, size_t n);

#endif
