/* QEMU's aarch64 virt machine's device tree (-M virt,gic-version=3 -cpu max -m 128M), dumped
 * by QEMU at build time (lib/fdt.mk). */
#ifndef TESTS_UNIT_QEMU_VIRT_DTB_H
#define TESTS_UNIT_QEMU_VIRT_DTB_H

#include <stddef.h>

extern const unsigned char qemu_virt_dtb[];
extern const size_t qemu_virt_dtb_size;

#endif
