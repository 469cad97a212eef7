# RayOS build.  `make` builds the kernel and host tools, `make run` boots it in QEMU,
# `make test` runs every test suite and ends with one line "N passed, M failed".
#
# Each directory may add a fragment (*.mk) that appends to the variables below; the
# top level owns the rules.  Fragments are listed in mk/fragments.mk.

ARCH      ?= x86_64
BUILD     ?= $(if $(filter x86_64,$(ARCH)),build,build/$(ARCH))
SHELL     := /bin/bash
PYTHON    ?= /usr/bin/python3
HOSTCC    ?= gcc
CLANG     ?= clang

# The architecture's build fragment: toolchain prefix, flags, linker script, its own drivers,
# the QEMU line (docs/ARCHITECTURE.md, "Architecture interface").  Host tools use HOSTCC.
include arch/$(ARCH)/arch.mk
CC        := $(CROSS_COMPILE)gcc
LD        := $(CROSS_COMPILE)ld
OBJCOPY   := $(CROSS_COMPILE)objcopy
NM        := $(CROSS_COMPILE)nm

.DEFAULT_GOAL := all
.SUFFIXES:
.DELETE_ON_ERROR:

include mk/config.mk
include mk/host.mk
include mk/fragments.mk
include mk/modules.mk
include mk/kernel.mk
include mk/image.mk
include mk/qemu.mk

all: deps kernel host-tools

# Missing Debian packages are installed (as root) or named (otherwise) before anything builds.
deps: $(BUILD)/.deps-ok
$(BUILD)/.deps-ok: mk/deps.sh
	@mkdir -p $(BUILD)
	@sh mk/deps.sh
	@touch $@

# The storage driver suites run a second time with two CPUs per machine (hardware queues,
# completions on other CPUs, resets racing I/O); the rest of the suite has its own SMP tests.
SMP_PASS := tests/system/test_block.py tests/system/test_virtio_blk.py tests/system/test_nvme.py \
            tests/system/test_ahci.py tests/system/test_ide.py tests/system/test_exclusive.py

# The system tests boot QEMU as arch.mk says.
TEST_ENV = RAYOS_QEMU='$(QEMU_SYSTEM)' RAYOS_QEMU_MACHINE='$(QEMU_MACHINE)' \
           RAYOS_QEMU_ARGS='$(QEMU_ARCH_ARGS)' RAYOS_KERNEL='$(QEMU_KERNEL)'

# The other architecture: make test builds its kernel too and runs the self-tests and these
# system tests on it (tests skip their cases that need the first architecture's machine).
SECOND_ARCH  := $(if $(filter x86_64,$(ARCH)),aarch64,x86_64)
SECOND_BUILD := $(if $(filter x86_64,$(SECOND_ARCH)),build,build/$(SECOND_ARCH))
ARCH_PASS    := tests/system/test_boot.py tests/system/test_virtio_mmio.py tests/system/test_pci.py \
                tests/system/test_virtio_blk.py tests/system/test_nvme.py \
                tests/system/test_persistence.py tests/system/test_aarch64.py \
                tests/system/test_smp.py

test: all unit-tests iso disk image second-arch
	@$(TEST_ENV) $(PYTHON) tests/run.py --build $(BUILD) --kernel $(QEMU_KERNEL) \
		--unit $(UNIT_BINS) --pytest tests/host tests/system --smp-pass $(SMP_PASS) \
		--arch-pass $(SECOND_BUILD)/test.env $(ARCH_PASS)

second-arch:
	@$(MAKE) --no-print-directory ARCH=$(SECOND_ARCH) BUILD=$(SECOND_BUILD) kernel modules \
		modules-install test-env

# What the tests need to boot this architecture (run.py --arch-pass reads it).
test-env: kernel
	@printf '%s\n' RAYOS_ARCH=$(ARCH) RAYOS_BUILD=$(BUILD) RAYOS_KERNEL=$(QEMU_KERNEL) \
		'RAYOS_QEMU=$(QEMU_SYSTEM)' 'RAYOS_QEMU_MACHINE=$(QEMU_MACHINE)' \
		'RAYOS_QEMU_ARGS=$(QEMU_ARCH_ARGS)' > $(BUILD)/test.env

# The whole system suite again with two CPUs per machine (about three minutes more than
# make test on two host cores).
test-smp: all unit-tests iso disk image
	@$(TEST_ENV) $(PYTHON) tests/run.py --build $(BUILD) --smp-pass tests/system

format:
	@clang-format -i $$(git ls-files '*.c' '*.h')

format-check:
	@clang-format --dry-run --Werror $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(BUILD)

.PHONY: all deps test test-smp second-arch test-env format format-check clean

-include $(ALL_DEPFILES)
