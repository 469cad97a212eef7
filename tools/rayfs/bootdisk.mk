# The boot disk writer (fs/bootdisk/, shared with the kernel's `install`) inside rayfs, and its
# unit test.  (This fragment sorts after fs/fat/fat.mk, which sets rayfs_SRCS.)
BOOT_DISK_SRCS := fs/bootdisk/layout.c fs/bootdisk/grub_bios.c fs/bootdisk/write.c lib/ini.c
rayfs_SRCS += tools/rayfs/bootdisk.c $(BOOT_DISK_SRCS)

UNIT_TESTS += test_boot_disk
test_boot_disk_SRCS := tests/unit/test_boot_disk.c tests/unit/ramdisk.c $(BOOT_DISK_SRCS) \
                       $(FAT_LIB_SRCS) drivers/block/partition.c
