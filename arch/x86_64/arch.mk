# x86-64: the build fragment of this architecture, included by the top-level Makefile before
# anything else (ARCH=x86_64, the default).  docs/ARCHITECTURE.md ("Architecture interface")
# lists what every arch/NAME/arch.mk defines.

# The host's own toolchain builds the kernel: no prefix.
CROSS_COMPILE :=

# Kernel code model (linked at -2 GiB), no red zone (interrupts push onto the same stack), no
# SSE/MMX (the FPU state is not saved on interrupts).
ARCH_CFLAGS  := -mcmodel=kernel -mno-red-zone -mgeneral-regs-only -mno-mmx -mno-sse -mno-sse2
ARCH_ASFLAGS :=
ARCH_LDFLAGS := -z max-page-size=0x1000
KERNEL_LDS   := arch/x86_64/kernel.ld

# Portable code only PCs use (see OPTIONAL_SRCS in mk/kernel.mk): the legacy ISA device table
# (COM ports, legacy IDE channels, i8042, CMOS RTC), the 16550 UART at COM1, ACPI S5 power-off
# and the FADT reset register (port I/O), QEMU's isa-debug-exit port; the Multiboot reader.
ARCH_OPTIONAL_SRCS := drivers/platform/pc_devices.c drivers/serial/uart16550.c \
                      drivers/acpi/power.c kernel/multiboot.c

# QEMU: the emulator, the default machine (MACHINE overrides it), the file -kernel loads (QEMU's
# Multiboot 1 loader takes the ELF file), and the devices every run has: isa-debug-exit lets a
# test leave QEMU with a status (power_exit).
QEMU_SYSTEM    := qemu-system-x86_64
QEMU_MACHINE   := q35
QEMU_KERNEL     = $(BUILD)/rayos.elf
QEMU_ARCH_ARGS := -device isa-debug-exit,iobase=0xf4,iosize=0x04
