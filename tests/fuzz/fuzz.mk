# Fuzz targets for parsers of untrusted input (the older ones are declared beside their code),
# and `make fuzz-long`: every target for FUZZ_SECONDS, or for FUZZ_RUNS executions if that ends first,
# from the seeds in tests/fuzz/corpus/NAME, new inputs kept in $(BUILD)/fuzz-corpus/NAME
# (docs/FUZZING.md).

FUZZ_TARGETS += fuzz_partition
fuzz_partition_SRCS := tests/fuzz/fuzz_partition.c tests/fuzz/sparse_disk.c drivers/block/partition.c \
                       lib/crc32.c lib/utf.c lib/guid.c

FUZZ_TARGETS += fuzz_config
fuzz_config_SRCS := tests/fuzz/fuzz_config.c lib/ini.c fs/config.c fs/vfs/path.c fs/vfs/vfs.c \
                    fs/vfs/ramfs.c lib/escape.c lib/utf.c lib/error_name.c

FUZZ_TARGETS += fuzz_acpi
fuzz_acpi_SRCS := tests/fuzz/fuzz_acpi.c drivers/acpi/madt.c drivers/acpi/fadt.c drivers/acpi/mcfg.c \
                  drivers/acpi/pci_roots.c

FUZZ_TARGETS += fuzz_fat_name
fuzz_fat_name_SRCS := tests/fuzz/fuzz_fat_name.c $(FAT_LIB_SRCS)

FUZZ_TARGETS += fuzz_path
fuzz_path_SRCS := tests/fuzz/fuzz_path.c fs/vfs/path.c tests/unit/ramdisk.c $(FAT_LIB_SRCS)

FUZZ_TARGETS += fuzz_line_editor
fuzz_line_editor_SRCS := tests/fuzz/fuzz_line_editor.c kernel/line_editor.c lib/utf.c

FUZZ_TARGETS += fuzz_shell_tokenize
fuzz_shell_tokenize_SRCS := tests/fuzz/fuzz_shell_tokenize.c kernel/shell_tokenize.c

FUZZ_TARGETS += fuzz_multiboot
fuzz_multiboot_SRCS := tests/fuzz/fuzz_multiboot.c kernel/multiboot.c kernel/boot_info.c

FUZZ_TARGETS += fuzz_loop_map
fuzz_loop_map_SRCS := tests/fuzz/fuzz_loop_map.c fs/loop_map.c

FUZZ_SECONDS ?= 600
FUZZ_RUNS ?= 0
FUZZ_TIMEOUT ?= 10
FUZZ_LONG_TARGETS ?= $(FUZZ_TARGETS)
fuzz-long: fuzz
	@$(PYTHON) tests/fuzz/fuzz_long.py --build $(BUILD) --seconds $(FUZZ_SECONDS) \
		--runs $(FUZZ_RUNS) --timeout $(FUZZ_TIMEOUT) $(FUZZ_LONG_TARGETS)
.PHONY: fuzz-long
