# FAT filesystem library, partition tables, the rayfs host tool and their tests.
FAT_LIB_SRCS := fs/fat/boot.c fs/fat/io.c fs/fat/table.c fs/fat/name.c fs/fat/dir.c \
                fs/fat/path.c fs/fat/file.c fs/fat/ops.c fs/fat/mkfs.c fs/fat/check.c fs/fat/index.c \
                fs/fat/intent.c \
                fs/fat/repair.c lib/utf.c lib/crc32.c lib/guid.c
PARTITION_SRCS := drivers/block/partition.c lib/crc32.c lib/utf.c lib/guid.c

HOST_TOOLS += rayfs
rayfs_SRCS := tools/rayfs/main.c tools/rayfs/tree.c tools/rayfs/image.c tools/rayfs/lock.c lib/escape.c $(FAT_LIB_SRCS) \
              drivers/block/partition.c

.PHONY: bench-fat
bench-fat: $(BUILD)/rayfs
	@sh tools/rayfs/bench.sh $(BUILD)

FAT_TEST_SUPPORT := tests/unit/ramdisk.c
UNIT_TESTS += test_fat_volume
test_fat_volume_SRCS := tests/unit/test_fat_volume.c $(FAT_TEST_SUPPORT) $(FAT_LIB_SRCS)
UNIT_TESTS += test_fat_parallel_io
test_fat_parallel_io_SRCS := tests/unit/test_fat_parallel_io.c $(FAT_TEST_SUPPORT) $(FAT_LIB_SRCS)
UNIT_TESTS += test_fat_foreign
test_fat_foreign_SRCS := tests/unit/test_fat_foreign.c $(FAT_TEST_SUPPORT) $(FAT_LIB_SRCS)
UNIT_TESTS += test_fat_name
test_fat_name_SRCS := tests/unit/test_fat_name.c $(FAT_LIB_SRCS)
UNIT_TESTS += test_partition
test_partition_SRCS := tests/unit/test_partition.c $(FAT_TEST_SUPPORT) $(PARTITION_SRCS)
UNIT_TESTS += test_fat_model
test_fat_model_SRCS := tests/unit/test_fat_model.c $(FAT_TEST_SUPPORT) $(FAT_LIB_SRCS)
UNIT_TESTS += test_fat_crash
test_fat_crash_SRCS := tests/unit/test_fat_crash.c $(FAT_TEST_SUPPORT) $(FAT_LIB_SRCS)
FUZZ_TARGETS += fuzz_fat
fuzz_fat_SRCS := tests/fuzz/fuzz_fat.c tests/fuzz/sparse_disk.c $(FAT_LIB_SRCS) drivers/block/partition.c
# Traced: the boot sector, FSInfo, the intent record and the partition tables, whose magic values
# and fields the mutator learns from comparisons.  Untraced: the directory, index, name, FAT,
# cache, file and checker passes over every entry and cluster, which were half of each run.
fuzz_fat_UNTRACED_CMP := fs/fat/io.c fs/fat/table.c fs/fat/name.c fs/fat/dir.c fs/fat/path.c \
                         fs/fat/file.c fs/fat/ops.c fs/fat/mkfs.c fs/fat/check.c fs/fat/index.c \
                         fs/fat/repair.c lib/utf.c $(SHIM_SRCS)
