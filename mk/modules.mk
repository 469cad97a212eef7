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
# What modules may call: kernel/exports.c and the architecture's own exports (modpost.py).
KERNEL_EXPORTS   := kernel/exports.c $(wildcard arch/$(ARCH)/exports.c)
empty :=
KERNEL_EXPORTS_LIST := $(subst $(empty) $(empty),:,$(strip $(KERNEL_EXPORTS)))

$(BUILD)/modules/obj/%.o: %.c
	@mkdir -p $(@D)
	@echo "  CC [M]  $<"
	@$(CC) $(KERNEL_CFLAGS) -DMODULE -MMD -MP -c $< -o $@

# $(1): module name, $(2): output directory, $(3): the other modules it may depend on.
define module_rule
$(1)_MODULE_OBJS := $$(patsubst %.c,$(BUILD)/modules/obj/%.o,$$($(1)_DRIVER_SRCS))
$(2)/$(1).o: $$($(1)_MODULE_OBJS)
	@mkdir -p $$(@D)
	@$(LD) -r -o $$@ $$^
$(2)/$(1).ko: $(2)/$(1).o mk/modpost.py $(KERNEL_EXPORTS) \
		$(patsubst %,$(2)/%.o,$(filter-out $(1),$(3)))
	@echo "  MODPOST $$@"
	@$(PYTHON) mk/modpost.py $(1) $(MODULE_VERSION) $$< $(KERNEL_EXPORTS_LIST) \
		$(2)/$(1).modinfo.S $(2)/$(1).alias $(patsubst %,$(2)/%.o,$(filter-out $(1),$(3)))
	@$(CC) $(KERNEL_ASFLAGS) -c $(2)/$(1).modinfo.S -o $(2)/$(1).modinfo.o
	@$(LD) -r -o $$@.tmp $$< $(2)/$(1).modinfo.o
	@$(OBJCOPY) --strip-debug $$@.tmp $$@
	@rm -f $$@.tmp
ALL_DEPFILES += $$($(1)_MODULE_OBJS:.o=.d)
endef
$(foreach m,$(MODULES),$(eval $(call module_rule,$(m),$(BUILD)/modules,$(MODULES))))

# Modules only the tests load (tests/modules): built beside the others, never installed.
TEST_MODULE_KOS := $(patsubst %,$(BUILD)/test-modules/%.ko,$(TEST_MODULES))
$(foreach m,$(TEST_MODULES),$(eval $(call module_rule,$(m),$(BUILD)/test-modules,$(TEST_MODULES))))
modules: $(TEST_MODULE_KOS)

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
