# The device tree reader's host tests and fuzz target.  The QEMU virt tree they check is
# dumped by QEMU itself at build time, for the machine the aarch64 port boots on (128 MiB).

$(BUILD)/dtb/qemu-virt.dtb:
	@mkdir -p $(@D)
	@echo "  DUMPDTB $@"
	@qemu-system-aarch64 -M virt,gic-version=3,dumpdtb=$@ -cpu max -m 128M -nographic >/dev/null 2>&1

$(BUILD)/generated/qemu_virt_dtb.c: $(BUILD)/dtb/qemu-virt.dtb tests/unit/gen_dtb_c.py
	@mkdir -p $(@D)
	@echo "  GEN     $@"
	@$(PYTHON) tests/unit/gen_dtb_c.py $< qemu_virt_dtb $@

UNIT_TESTS += test_fdt
test_fdt_SRCS := tests/unit/test_fdt.c tests/unit/fdt_builder.c lib/fdt.c \
                 $(BUILD)/generated/qemu_virt_dtb.c

FUZZ_TARGETS += fuzz_fdt
fuzz_fdt_SRCS := tests/fuzz/fuzz_fdt.c lib/fdt.c drivers/platform/fdt_devices.c \
                 drivers/platform/fdt_pci_host.c drivers/pci/host_irq_map.c \
                 drivers/core/platform.c drivers/core/device.c drivers/core/devres.c \
                 tests/unit/devres_fakes.c

UNIT_TESTS += test_fdt_devices
test_fdt_devices_SRCS := tests/unit/test_fdt_devices.c tests/unit/fdt_builder.c lib/fdt.c \
                         drivers/platform/fdt_devices.c drivers/platform/fdt_pci_host.c \
                         drivers/pci/host_irq_map.c drivers/core/platform.c drivers/core/device.c \
                         drivers/core/devres.c tests/unit/devres_fakes.c \
                         $(BUILD)/generated/qemu_virt_dtb.c
