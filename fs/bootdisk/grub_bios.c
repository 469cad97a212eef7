/* GRUB's BIOS boot path wired as grub-install does it, without running it.  Facts from GRUB's
 * i386-pc boot sector and diskboot layout:
 *   boot.img (512 bytes, goes into the MBR's first 440 bytes): at 0x5c the 64-bit LBA of the
 *     core image's first sector; at 0x64 the boot drive (0xff: the one the BIOS passed in DL);
 *     at 0x66 a 2-byte jump that grub-install overwrites with two NOPs on disks that are not
 *     floppies, so a bogus DL is forced to the first hard disk.
 *   core.img begins with diskboot (one 512-byte sector) which loads the rest from a block list
 *     at the end of its sector, growing downwards: 12-byte entries {u64 start LBA, u16 sector
 *     count, u16 load segment}; the first at 0x1f4; an entry with count 0 ends the list.
 *     grub-mkimage leaves the first entry as {2, sectors - 1, 0x820}. */
#include <rayos/boot_disk.h>
#include <rayos/bytes.h>
#include <rayos/errno.h>
#include <rayos/string.h>

#define BOOT_KERNEL_SECTOR 0x5c
#define BOOT_DRIVE         0x64
#define BOOT_DRIVE_CHECK   0x66
#define BOOT_CODE_END      440 /* disk signature and partition table follow */
#define BLOCKLIST_FIRST    0x1f4
#define BLOCKLIST_ENTRY    12
#define CORE_LOAD_SEGMENT  0x820
#define SECTOR             512

int grub_bios_wire_core(uint8_t *core, size_t size, uint64_t first_lba)
{
    if (size < 2 * SECTOR || size > GRUB_CORE_MAX_BYTES)
        return -EINVAL;
    uint64_t sectors = (size + SECTOR - 1) / SECTOR;
    uint8_t *entry = core + BLOCKLIST_FIRST;
    /* The list as grub-mkimage leaves it: one entry for the rest of the image, then an empty
     * entry below it. */
    if (get_le16(entry + 8) != sectors - 1 || get_le16(entry + 10) != CORE_LOAD_SEGMENT ||
        get_le16(entry - BLOCKLIST_ENTRY + 8) != 0)
        return -EINVAL;
    put_le64(entry, first_lba + 1);
    return 0;
}

int grub_bios_wire_boot_sector(const uint8_t boot_img[GRUB_BOOT_SECTOR_SIZE], uint64_t core_lba,
                               uint8_t mbr[GRUB_BOOT_SECTOR_SIZE])
{
    /* boot.img starts with a short jump over the BPB area and ends in the boot signature. */
    if (boot_img[0] != 0xeb || boot_img[510] != 0x55 || boot_img[511] != 0xaa ||
        get_le64(boot_img + BOOT_KERNEL_SECTOR) != 1)
        return -EINVAL;
    memcpy(mbr, boot_img, BOOT_CODE_END);
    put_le64(mbr + BOOT_KERNEL_SECTOR, core_lba);
    mbr[BOOT_DRIVE] = 0xff;
    mbr[BOOT_DRIVE_CHECK] = 0x90;
    mbr[BOOT_DRIVE_CHECK + 1] = 0x90;
    return 0;
}
