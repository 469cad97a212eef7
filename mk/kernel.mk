# The kernel: every .c and .S under the kernel's directories is part of it, except the portable
# sources only some architectures use (PC drivers, the Multiboot reader): those are listed once
# here, and each arch/NAME/arch.mk names in ARCH_OPTIONAL_SRCS the ones it builds.  Portable code
# (lib/, drivers/, fs/, kernel/) must therefore build freestanding as well as on the host.

OPTIONAL_SRCS := drivers/platform/pc_devices.c drivers/serial/uart16550.c drivers/acpi/power.c \
                 kernel/multiboot.c

KERNEL_DIRS := arch/$(ARCH) kernel mm lib drivers fs
KERNEL_SRCS := $(filter-out $(MODULE_ONLY_SRCS) \
                 $(filter-out $(ARCH_OPTIONAL_SRCS),$(OPTIONAL_SRCS)), \
               $(sort $(shell find $(KERNEL_DIRS) -name '*.c' -o -name '*.S' 2>/dev/null))) \
               $(KERNEL_GENERATED_SRCS)
KERNEL_OBJS := $(patsubst %,$(BUILD)/kernel/%.o,$(basename $(KERNEL_SRCS)))
KERNEL_ELF  := $(BUILD)/rayos.elf

kernel: deps $(KERNEL_ELF)

$(BUILD)/kernel/%.o: %.c
	@mkdir -p $(@D)
	@echo "  CC      $<"
	@$(CC) $(KERNEL_CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/kernel/%.o: $(BUILD)/%.c
	@mkdir -p $(@D)
	@echo "  CC      $<"
	@$(CC) $(KERNEL_CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/kernel/%.o: %.S
	@mkdir -p $(@D)
	@echo "  AS      $<"
	@$(CC) $(KERNEL_ASFLAGS) -MMD -MP -c $< -o $@

# Two links: the first finds where every function landed, the second embeds that symbol table
# (placed after .text, so no function moves) for panic backtraces.
$(BUILD)/rayos.pass1.elf: $(KERNEL_OBJS) $(KERNEL_LDS) $(BUILD)/kernel/ksyms-empty.o
	@echo "  LD      $@"
	@$(LD) $(KERNEL_LDFLAGS) -T $(KERNEL_LDS) -o $@ $(KERNEL_OBJS) $(BUILD)/kernel/ksyms-empty.o

$(BUILD)/kernel/ksyms-empty.S: mk/ksyms.sh
	@mkdir -p $(@D)
	@NM=$(NM) sh mk/ksyms.sh /dev/null > $@

$(BUILD)/kernel/ksyms.S: $(BUILD)/rayos.pass1.elf mk/ksyms.sh
	@NM=$(NM) sh mk/ksyms.sh $< > $@

$(BUILD)/kernel/ksyms.o $(BUILD)/kernel/ksyms-empty.o: %.o: %.S
	@$(CC) $(KERNEL_ASFLAGS) -c $< -o $@

$(KERNEL_ELF): $(BUILD)/rayos.pass1.elf $(BUILD)/kernel/ksyms.o
	@echo "  LD      $@"
	@$(LD) $(KERNEL_LDFLAGS) -T $(KERNEL_LDS) -o $@ $(KERNEL_OBJS) $(BUILD)/kernel/ksyms.o
	@cmp -s <($(NM) $< | grep -i ' t ' | sort) <($(NM) $@ | grep -i ' t ' | sort) || \
		{ echo "ksyms: functions moved between links"; rm -f $@; exit 1; }

ALL_DEPFILES += $(KERNEL_OBJS:.o=.d)
.PHONY: kernel
