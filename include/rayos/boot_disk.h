/* RayOS's bootable disk layout, written by `make image` (rayfs bootdisk) and by the shell's
 * `install` from the same portable code:
 *
 *   LBA 0        protective MBR; on 512-byte disks GRUB's boot sector code (boot.img) in it
 *   LBA 1..      primary GPT header and 128 entries
 *   1 MiB        BIOS boot partition (GPT partition 2, 1 MiB): GRUB's i386-pc core image
 *   2 MiB..end   EFI system partition (GPT partition 1), FAT32 where the size allows: the
 *                root.  \EFI\BOOT\BOOTX64.EFI, /BOOT/RAYOS.ELF, /BOOT/RAYOS.CFG,
 *                /BOOT/GRUB/GRUB.CFG (names the ESP's PARTUUID), /BOOT/GRUB/CORE.IMG and
 *                /BOOT/GRUB/BOOT.IMG (so an installed system can install again)
 *   last blocks  backup GPT entries and header
 *
 * On 4096-byte-sector disks the BIOS path is left out (GRUB's boot sector reads 512-byte
 * sectors): the disk boots under UEFI only and has no BIOS boot partition.
 *
 * The order of writing makes a power cut harmless: old tables are wiped first, then the core
 * image, the filesystem and its files are written and flushed, and only then the partition
 * tables (backup, primary, protective MBR last).  An interrupted disk has no partition table:
 * no firmware boots it, and no half-written kernel is ever started. */
#ifndef RAYOS_BOOT_DISK_H
#define RAYOS_BOOT_DISK_H

#include <rayos/block_io.h>
#include <rayos/fat.h>
#include <rayos/types.h>

#define BOOT_DISK_MIN_BYTES (64ull * 1024 * 1024)
#define BOOT_DISK_ENTROPY   56 /* random bytes a plan needs: three GUIDs, two serial numbers */

#define BOOT_DISK_ESP_NUMBER  1 /* vda1, sda1, nvme0n1p1 */
#define BOOT_DISK_BIOS_NUMBER 2

/* Where the boot files live on the ESP (and therefore on an installed root). */
#define BOOT_DISK_KERNEL_PATH    "/BOOT/RAYOS.ELF"
#define BOOT_DISK_CONFIG_PATH    "/BOOT/RAYOS.CFG"
#define BOOT_DISK_EFI_PATH       "/EFI/BOOT/BOOTX64.EFI"
#define BOOT_DISK_GRUB_CFG_PATH  "/BOOT/GRUB/GRUB.CFG"
#define BOOT_DISK_BIOS_CORE_PATH "/BOOT/GRUB/CORE.IMG"
#define BOOT_DISK_BIOS_BOOT_PATH "/BOOT/GRUB/BOOT.IMG"
#define BOOT_DISK_MODULES_DIR    "/BOOT/MODULES" /* driver modules and their alias index */
#define BOOT_DISK_MODULES_MAX    32
#define BOOT_DISK_MODULE_NAME    32 /* bytes, with the terminator */

struct boot_disk_layout {
    uint32_t block_size;
    uint64_t block_count;
    uint32_t entry_blocks; /* 128 entries of 128 bytes */
    uint64_t first_usable, last_usable;
    uint64_t esp_start, esp_blocks;
    uint64_t bios_start, bios_blocks; /* 0 blocks: no BIOS path (4096-byte sectors) */
    uint8_t disk_guid[16], esp_guid[16], bios_guid[16];
    uint32_t mbr_signature;
    uint32_t volume_id;    /* the ESP's FAT serial number */
    char esp_partuuid[37]; /* lower case, as lsblk and GRUB's probe print it */
};

/* Plans the layout for a disk; random supplies BOOT_DISK_ENTROPY bytes.  -ENOSPC below
 * BOOT_DISK_MIN_BYTES, -EINVAL for a block size other than 512 or 4096. */
int boot_disk_plan(uint32_t block_size, uint64_t block_count, const uint8_t *random,
                   struct boot_disk_layout *out);

/* GRUB's BIOS images, checked and wired as grub-install does (fs/bootdisk/grub_bios.c). */
#define GRUB_BOOT_SECTOR_SIZE 512
#define GRUB_CORE_MAX_BYTES   (1024 * 1024 - 512)
/* Checks that core looks like a GRUB i386-pc core image (diskboot's block list where GRUB
 * puts it, matching the size) and patches it to load its sectors from first_lba + 1 on. */
int grub_bios_wire_core(uint8_t *core, size_t size, uint64_t first_lba);
/* Builds the protective MBR's first 440 bytes from GRUB's boot.img, pointing at the core
 * image's first sector. */
int grub_bios_wire_boot_sector(const uint8_t boot_img[GRUB_BOOT_SECTOR_SIZE], uint64_t core_lba,
                               uint8_t mbr[GRUB_BOOT_SECTOR_SIZE]);

/* One file to copy: size bytes, read in pieces through the callback (0 or -errno). */
struct boot_disk_source {
    const char *what; /* for messages: "the kernel", ... */
    uint64_t size;
    int (*read)(void *context, uint64_t offset, void *buffer, size_t length);
    void *context;
};

struct boot_disk_module {
    char name[BOOT_DISK_MODULE_NAME]; /* letters, digits, '.', '_', '-' only */
    struct boot_disk_source source;
};

struct boot_disk_payload {
    struct boot_disk_source kernel, efi_loader, bios_core, bios_boot;
    /* Optional: files for BOOT_DISK_MODULES_DIR (driver modules, modules.alias). */
    struct boot_disk_module modules[BOOT_DISK_MODULES_MAX];
    unsigned module_count;
    const char *config; /* RAYOS.CFG text to install; [boot] root is rewritten */
    size_t config_length;
    const struct fat_clock *clock;
    /* Progress: called with each step's name and bytes done of total (0 of 0 at its start). */
    void (*progress)(void *context, const char *step, uint64_t done, uint64_t total);
    void *progress_context;
    /* Why it failed, for the caller to print ("writing /BOOT/RAYOS.ELF"). */
    char failed_step[64];
};

/* Writes the whole layout to disk in the power-cut-safe order above.  0 or -errno; on error
 * payload->failed_step says where, and the disk has no valid partition table. */
int boot_disk_write(const struct block_io *disk, const struct boot_disk_layout *layout,
                    struct boot_disk_payload *payload);

/* The pieces, for tests: the GRUB configuration text for a layout, and the configuration
 * with [boot] root = PARTUUID=<esp> (a new heap string in *out, or -errno). */
int boot_disk_grub_config(const struct boot_disk_layout *layout, char *out, size_t size);
int boot_disk_rewrite_config(const char *text, size_t length, const char *partuuid, char **out,
                             size_t *out_length);
/* Zeroes the blocks where a partition table (MBR, primary and backup GPT) lives. */
int boot_disk_wipe_tables(const struct block_io *disk, const struct boot_disk_layout *layout);
/* Writes backup GPT, primary GPT, then the protective MBR (boot_img: NULL, or GRUB's boot
 * sector for the BIOS path). */
int boot_disk_write_tables(const struct block_io *disk, const struct boot_disk_layout *layout,
                           const uint8_t *boot_img);

#endif
