# PCI core: the generated pci.ids table and the host unit tests of the portable code.

KERNEL_GENERATED_SRCS += $(BUILD)/generated/pci_ids.c

$(BUILD)/generated/pci_ids.c: drivers/pci/gen_pci_ids.py /usr/share/misc/pci.ids
	@mkdir -p $(@D)
	@echo "  GEN     $@"
	@$(PYTHON) drivers/pci/gen_pci_ids.py /usr/share/misc/pci.ids $@

PCI_CORE_SRCS := drivers/core/device.c drivers/core/devres.c drivers/pci/config.c drivers/pci/caps.c \
    drivers/pci/bar.c drivers/pci/scan.c drivers/pci/bus.c drivers/pci/msi.c drivers/pci/ids.c \
    drivers/pci/lspci.c drivers/pci/text.c drivers/pci/assign.c drivers/pci/hotplug.c \
    drivers/pci/ecam.c drivers/pci/assign_all.c drivers/pci/host_irq_map.c \
    $(BUILD)/generated/pci_ids.c

UNIT_TESTS += test_device_core
test_device_core_SRCS := tests/unit/test_device_core.c drivers/core/device.c \
                         drivers/core/devres.c tests/unit/devres_fakes.c

UNIT_TESTS += test_devres
test_devres_SRCS := tests/unit/test_devres.c drivers/core/device.c drivers/core/devres.c \
                    tests/unit/devres_fakes.c

UNIT_TESTS += test_pci_scan
test_pci_scan_SRCS := tests/unit/test_pci_scan.c tests/unit/pci_fake.c $(PCI_CORE_SRCS)

UNIT_TESTS += test_pci_assign
test_pci_assign_SRCS := tests/unit/test_pci_assign.c tests/unit/pci_fake.c $(PCI_CORE_SRCS)

UNIT_TESTS += test_pci_ecam
test_pci_ecam_SRCS := tests/unit/test_pci_ecam.c drivers/acpi/mcfg.c drivers/pci/ecam.c

UNIT_TESTS += test_acpi_pci_roots
test_acpi_pci_roots_SRCS := tests/unit/test_acpi_pci_roots.c drivers/acpi/pci_roots.c

UNIT_TESTS += test_acpi_madt
test_acpi_madt_SRCS := tests/unit/test_acpi_madt.c drivers/acpi/madt.c

UNIT_TESTS += test_pci_lspci
test_pci_lspci_SRCS := tests/unit/test_pci_lspci.c tests/unit/pci_fake.c $(PCI_CORE_SRCS)

FUZZ_TARGETS += fuzz_pci_scan
fuzz_pci_scan_SRCS := tests/fuzz/fuzz_pci_scan.c tests/unit/pci_fake.c $(PCI_CORE_SRCS)

FUZZ_TARGETS += fuzz_acpi_pci_roots
fuzz_acpi_pci_roots_SRCS := tests/fuzz/fuzz_acpi_pci_roots.c drivers/acpi/pci_roots.c

# RayOS's lspci over pciutils dump files, for tests/host/test_lspci_pciutils.py.
HOST_TOOLS += pci-lspci-dump
pci-lspci-dump_SRCS := tests/host/pci_lspci_dump.c tests/unit/pci_fake.c $(PCI_CORE_SRCS)
