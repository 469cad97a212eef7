/* The boot information a Multiboot 1 or 2 loader hands over (GRUB, QEMU's -kernel), read into
 * struct boot_info (kernel/multiboot.c, portable).
 *
 * The loader's structures are untrusted input: they are reached only through the caller's
 * map(), which returns a pointer to [phys, phys + length) or NULL when that is out of reach (the
 * x86 boot code reaches the first 4 GiB).  An entry that makes no sense is skipped or cut with a
 * warning; what leaves the kernel without a memory map is an error. */
#ifndef RAYOS_MULTIBOOT_H
#define RAYOS_MULTIBOOT_H

#include <rayos/types.h>

#define MULTIBOOT1_BOOTLOADER_MAGIC 0x2BADB002u
#define MULTIBOOT2_BOOTLOADER_MAGIC 0x36d76289u

typedef const void *(*multiboot_map_fn)(void *context, uint64_t phys, uint64_t length);

/* 0, or -EINVAL with *why saying what is wrong (not a Multiboot loader, information out of
 * reach or of an impossible size, no memory map). */
int multiboot_read(uint32_t magic, uint64_t info, multiboot_map_fn map, void *context,
                   const char **why);

#endif
