# Kernel modules: drivers.conf says which drivers are modules; each driver's fragment lists
# its sources (DRIVERS += NAME, NAME_DRIVER_SRCS := ...).  A module's sources leave the kernel
# (unless a built-in driver shares them) and are compiled with -DMODULE, linked into one
# relocatable object, finished by mk/modpost.py (export check, .modinfo, aliases) and stripped
# of debugging information: build/modules/NAME.ko.

include drivers.conf

MODULES          := $(foreach d,$(DRIVERS),$(if $(filter m,$(DRIVER_$(d))),$(d)))
BUILTIN_DRIVERS  := $(filter-out $(MODULES),$(DRIVERS))
BUILTIN_DRV_SRCS := $(foreach d,$(BUILTIN_DRIVERS),$($(d)_DRIVER_SRCS))
MODULE_ONLY_SRCS := $(filter-out $(BUILTIN_DRV_SRCS),$(foreach d,$(MODULES),$($(d)_DRIVER_SRCS)))
MODULE_KOS       := $(patsubst %,$(BUILD)/modules/%.ko,$(MODULES))
MODULE_ALIASES   := $(BUILD)/modules/modules.alias
MODULE_VERSION   := $(shell git describe --always --dirty 2>/dev/null || echo unknown)

$(BUILD)/modules/obj/%.o: %.c
	@mkdir -p $(@D)
	@echo "  CC [M]  $<"
	@$(CC) $(KERNEL_CFLAGS) -DMODULE -MMD -MP -c $< -o $@

define module_rule
$(1)_MODULE_OBJS := $$(patsubst %.c,$(BUILD)/modules/obj/%.o,$$($(1)_DRIVER_SRCS))
$(BUILD)/modules/$(1).o: $$($(1)_MODULE_OBJS)
	@$(LD) -r -o $$@ $$^
$(BUILD)/modules/$(1).ko: $(BUILD)/modules/$(1).o mk/modpost.py kernel/exports.c \
		$(patsubst %,$(BUILD)/modules/%.o,$(filter-out $(1),$(MODULES)))
	@echo "  MODPOST $$@"
	@$(PYTHON) mk/modpost.py $(1) $(MODULE_VERSION) $$< kernel/exports.c \
		$(BUILD)/modules/$(1).modinfo.S $(BUILD)/modules/$(1).alias \
		$(patsubst %,$(BUILD)/modules/%.o,$(filter-out $(1),$(MODULES)))
	@$(CC) $(KERNEL_ASFLAGS) -c $(BUILD)/modules/$(1).modinfo.S -o $(BUILD)/modules/$(1).modinfo.o
	@$(LD) -r -o $$@.tmp $$< $(BUILD)/modules/$(1).modinfo.o
	@objcopy --strip-debug $$@.tmp $$@
	@rm -f $$@.tmp
ALL_DEPFILES += $$($(1)_MODULE_OBJS:.o=.d)
endef
$(foreach m,$(MODULES),$(eval $(call module_rule,$(m))))

$(MODULE_ALIASES): $(MODULE_KOS)
	@cat /dev/null $(patsubst %.ko,%.alias,$(MODULE_KOS)) > $@

modules: deps $(MODULE_KOS) $(MODULE_ALIASES)

# The default disk gets the modules and the index under /BOOT/MODULES, again whenever they
# change (rayfs put replaces files).  While a QEMU has the disk open, rayfs refuses it: the build
# says so and goes on, and the next make installs them.
$(BUILD)/.modules-installed: $(MODULE_KOS) $(MODULE_ALIASES) | $(DEFAULT_DISK) $(BUILD)/rayfs
	@echo "  INSTALL $(DEFAULT_DISK)@1:/BOOT/MODULES"
	@if $(BUILD)/rayfs --wait 0 ls $(DEFAULT_DISK)@1 / >/dev/null 2>&1; then \
		$(BUILD)/rayfs ls $(DEFAULT_DISK)@1 /BOOT/MODULES >/dev/null 2>&1 || \
			$(BUILD)/rayfs mkdir $(DEFAULT_DISK)@1 /BOOT/MODULES || exit 1; \
		for f in $(MODULE_KOS) $(MODULE_ALIASES); do \
			$(BUILD)/rayfs put $(DEFAULT_DISK)@1 $$f /BOOT/MODULES/$$(basename $$f) || exit 1; \
		done; touch $@; \
	else \
		echo "  (not installed: $(DEFAULT_DISK) is in use; make installs them once it is free)"; \
	fi

modules-install: $(BUILD)/.modules-installed
all: modules modules-install
.PHONY: modules modules-install
