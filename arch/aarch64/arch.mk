# aarch64 (QEMU virt): the build fragment of this architecture (`make ARCH=aarch64`, output in
# build/aarch64 unless BUILD says otherwise).  docs/ARCHITECTURE.md ("Architecture interface")
# lists what every arch/NAME/arch.mk defines.

# Debian's cross toolchain (gcc-aarch64-linux-gnu, installed by mk/deps.sh).
CROSS_COMPILE := aarch64-linux-gnu-

# No FP/SIMD registers (their state is not saved on exceptions); atomics inline (no libgcc
# helpers); small code model: the image and the module area sit within 128 MiB of each other;
# leaf functions keep frame records for the panic backtrace.
ARCH_CFLAGS  := -mgeneral-regs-only -mno-outline-atomics -mcmodel=small \
                -mno-omit-leaf-frame-pointer
ARCH_ASFLAGS :=
ARCH_LDFLAGS := -z max-page-size=0x1000
KERNEL_LDS   := arch/aarch64/kernel.ld

# No PC legacy devices on this architecture, and no Multiboot loader.
ARCH_OPTIONAL_SRCS :=

# QEMU: the virt machine with a GICv3 (and its ITS), a CPU with every feature; -kernel takes the
# arm64 Image (build/aarch64/rayos.bin) and passes the device tree in x0.  Semihosting lets a
# test leave QEMU with a status (power_exit).
QEMU_SYSTEM    := qemu-system-aarch64
QEMU_MACHINE   := virt,gic-version=3
QEMU_KERNEL     = $(BUILD)/rayos.bin
QEMU_ARCH_ARGS := -cpu max -semihosting-config enable=on,target=native

$(BUILD)/rayos.bin: $(BUILD)/rayos.elf
	@echo "  OBJCOPY $@"
	@$(OBJCOPY) -O binary $< $@
kernel: $(BUILD)/rayos.bin
