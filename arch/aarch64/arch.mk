# aarch64 (QEMU virt): Debian's cross compiler, the kernel as an arm64 Image.
CROSS_COMPILE ?= aarch64-linux-gnu-
ARCH_CFLAGS := -mgeneral-regs-only -mno-outline-atomics -mcmodel=small \
    -mno-omit-leaf-frame-pointer -fno-pic
ARCH_ASFLAGS :=
ARCH_LDFLAGS :=
