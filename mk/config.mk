# Flags shared by every build.

WARNINGS := -Wall -Wextra -Werror -Wshadow -Wpointer-arith -Wstrict-prototypes \
            -Wmissing-prototypes -Wno-unused-parameter -Wvla

# Kernel code: freestanding, frame pointers kept for the panic backtrace; the architecture adds
# its own flags (arch/$(ARCH)/arch.mk: code model, no red zone, no FPU registers...).  Only
# include/ and the architecture's include/ are on the include path: no -I. (docs/ARCHITECTURE.md).
GCC_INCLUDE := $(shell $(CC) -print-file-name=include)
KERNEL_CFLAGS := -std=gnu11 -O2 -g -nostdinc -isystem $(GCC_INCLUDE) -ffreestanding \
    -fno-stack-protector -fno-pic -fno-pie $(ARCH_CFLAGS) -fno-omit-frame-pointer \
    -fno-strict-aliasing -fno-common -fno-asynchronous-unwind-tables \
    $(WARNINGS) -Iinclude -Iarch/$(ARCH)/include
KERNEL_ASFLAGS := -g -D__ASSEMBLY__ $(ARCH_ASFLAGS) -Iinclude -Iarch/$(ARCH)/include
KERNEL_LDFLAGS := -nostdlib $(ARCH_LDFLAGS) --no-warn-rwx-segments -z noexecstack

# Host code (unit tests and tools): portable sources built against libc.
HOST_CFLAGS := -std=gnu11 -g -O1 -fno-omit-frame-pointer $(WARNINGS) -Iinclude -I. \
    -Itests/host_shim/include
SANITIZE := -fsanitize=address,undefined -fno-sanitize-recover=all
TOOL_CFLAGS := -std=gnu11 -g -O2 $(WARNINGS) -Iinclude -I. -Itests/host_shim/include
