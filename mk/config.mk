# Flags shared by every build.

WARNINGS := -Wall -Wextra -Werror -Wshadow -Wpointer-arith -Wstrict-prototypes \
            -Wmissing-prototypes -Wno-unused-parameter -Wvla

# Kernel code: freestanding, no red zone (interrupts push onto the same stack), no SSE/MMX
# (the FPU state is not saved on interrupts), kernel code model (linked at -2 GiB), frame
# pointers kept for the panic backtrace.
GCC_INCLUDE := $(shell $(CC) -print-file-name=include)
KERNEL_CFLAGS := -std=gnu11 -O2 -g -nostdinc -isystem $(GCC_INCLUDE) -ffreestanding \
    -fno-stack-protector -fno-pic -fno-pie -mcmodel=kernel -mno-red-zone \
    -mgeneral-regs-only -mno-mmx -mno-sse -mno-sse2 -fno-omit-frame-pointer \
    -fno-strict-aliasing -fno-common -fno-asynchronous-unwind-tables \
    $(WARNINGS) -Iinclude -Iarch/$(ARCH)/include
KERNEL_ASFLAGS := -g -D__ASSEMBLY__ -Iinclude -Iarch/$(ARCH)/include
KERNEL_LDFLAGS := -nostdlib -z max-page-size=0x1000 --no-warn-rwx-segments -z noexecstack

# Host code (unit tests and tools): portable sources built against libc.
HOST_CFLAGS := -std=gnu11 -g -O1 -fno-omit-frame-pointer $(WARNINGS) -Iinclude -I. \
    -Itests/host_shim/include
SANITIZE := -fsanitize=address,undefined -fno-sanitize-recover=all
TOOL_CFLAGS := -std=gnu11 -g -O2 $(WARNINGS) -Iinclude -I. -Itests/host_shim/include
