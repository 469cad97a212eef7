/* Kernel heap.  On the host these map to the C library (see tests/host_shim). */
#ifndef RAYOS_HEAP_H
#define RAYOS_HEAP_H

#include <rayos/types.h>

void *kmalloc(size_t size);
void *kzalloc(size_t size);
void *kcalloc(size_t count, size_t size);
void *krealloc(void *ptr, size_t size);
void kfree(void *ptr);
char *kstrdup(const char *s);

#endif
