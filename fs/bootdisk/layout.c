/* The boot disk's geometry and its partition tables: protective MBR, primary and backup GPT
 * (UEFI specification, chapter 5: headers of 92 bytes with CRC32s of the header and of the
 * entry array, the backup header in the last block pointing back at the primary). */
#include <rayos/boot_disk.h>
#include <rayos/bytes.h>
#include <rayos/crc32.h>
#include <rayos/errno.h>
#include <rayos/guid.h>
#include <rayos/heap.h>
#include <rayos/string.h>
#include <rayos/utf.h>

#define GPT_ENTRIES      128
#define GPT_ENTRY_SIZE   128
#define GPT_HEADER_SIZE  92
#define GPT_REVISION_1_0 0x00010000u
#define MBR_TYPE_GPT     0xee

/* Type GUIDs in on-disk byte order. */
static const char esp_type[] = "c12a7328-f81f-11d2-ba4b-00a0c93ec93b";
static const char bios_boot_type[] = "21686148-6449-6e6f-744e-656564454649";

int boot_disk_plan(uint32_t block_size, uint64_t block_count, const uint8_t *random,
                   struct boot_disk_layout *out)
{
    if (block_size != 512 && block_size != 4096)
        return -EINVAL;
    if (block_count < BOOT_DISK_MIN_BYTES / block_size)
        return -ENOSPC;
    memset(out, 0, sizeof(*out));
    out->block_size = block_size;
    out->block_count = block_count;
    out->entry_blocks = GPT_ENTRIES * GPT_ENTRY_SIZE / block_size;
    out->first_usable = 2 + out->entry_blocks;
    out->last_usable = block_count - 2 - out->entry_blocks;
    uint64_t mib = MiB / block_size;
    if (block_size == 512) {
        out->bios_start = mib;
        out->bios_blocks = mib;
    }
    out->esp_start = 2 * mib;
    uint64_t esp_end = (out->last_usable + 1) / mib * mib; /* whole MiBs */
    out->esp_blocks = esp_end - out->esp_start;
    guid_from_random(random, out->disk_guid);
    guid_from_random(random + 16, out->esp_guid);
    guid_from_random(random + 32, out->bios_guid);
    out->mbr_signature = get_le32(random + 48);
    out->volume_id = get_le32(random + 52);
    guid_format(out->esp_guid, out->esp_partuuid);
    return 0;
}

static void put_entry(uint8_t *entry, const char *type, const uint8_t *unique, uint64_t start,
                      uint64_t blocks, const char *name)
{
    guid_parse(type, entry);
    memcpy(entry + 16, unique, 16);
    put_le64(entry + 32, start);
    put_le64(entry + 40, start + blocks - 1);
    uint16_t units[36];
    int n = utf8_to_utf16(name, units, 36);
    for (int i = 0; i < n; i++)
        put_le16(entry + 56 + 2 * i, units[i]);
}

static void put_header(uint8_t *header, const struct boot_disk_layout *layout, uint64_t my_lba,
                       uint64_t alternate_lba, uint64_t entries_lba, uint32_t entries_crc)
{
    memcpy(header, "EFI PART", 8);
    put_le32(header + 8, GPT_REVISION_1_0);
    put_le32(header + 12, GPT_HEADER_SIZE);
    put_le64(header + 24, my_lba);
    put_le64(header + 32, alternate_lba);
    put_le64(header + 40, layout->first_usable);
    put_le64(header + 48, layout->last_usable);
    memcpy(header + 56, layout->disk_guid, 16);
    put_le64(header + 72, entries_lba);
    put_le32(header + 80, GPT_ENTRIES);
    put_le32(header + 84, GPT_ENTRY_SIZE);
    put_le32(header + 88, entries_crc);
    put_le32(header + 16, crc32_update(0, header, GPT_HEADER_SIZE));
}

static void put_protective_mbr(uint8_t *mbr, const struct boot_disk_layout *layout)
{
    put_le32(mbr + 440, layout->mbr_signature);
    uint8_t *entry = mbr + 446;
    entry[0] = 0x00;
    entry[1] = 0x00; /* CHS of LBA 1: head 0, sector 2, cylinder 0 */
    entry[2] = 0x02;
    entry[3] = 0x00;
    entry[4] = MBR_TYPE_GPT;
    entry[5] = entry[6] = entry[7] = 0xff; /* CHS beyond what it can say */
    put_le32(entry + 8, 1);
    uint64_t size = layout->block_count - 1;
    put_le32(entry + 12, size > 0xffffffffu ? 0xffffffffu : (uint32_t)size);
    mbr[510] = 0x55;
    mbr[511] = 0xaa;
}

int boot_disk_write_tables(const struct block_io *disk, const struct boot_disk_layout *layout,
                           const uint8_t *boot_img)
{
    size_t bs = layout->block_size;
    size_t entry_bytes = (size_t)layout->entry_blocks * bs;
    uint8_t *entries = kzalloc(entry_bytes);
    uint8_t *block = kzalloc(bs);
    int error = -ENOMEM;
    if (!entries || !block)
        goto out;
    put_entry(entries, esp_type, layout->esp_guid, layout->esp_start, layout->esp_blocks,
              "RayOS ESP");
    if (layout->bios_blocks)
        put_entry(entries + GPT_ENTRY_SIZE, bios_boot_type, layout->bios_guid, layout->bios_start,
                  layout->bios_blocks, "RayOS BIOS boot");
    uint32_t entries_crc = crc32_update(0, entries, GPT_ENTRIES * GPT_ENTRY_SIZE);
    uint64_t last = layout->block_count - 1;
    uint64_t backup_entries = last - layout->entry_blocks;

    /* Backup first: until the primary and the protective MBR exist, nothing reads it. */
    error = block_io_write(disk, backup_entries, layout->entry_blocks, entries);
    if (error)
        goto out;
    put_header(block, layout, last, 1, backup_entries, entries_crc);
    if ((error = block_io_write(disk, last, 1, block)) != 0)
        goto out;
    if ((error = block_io_write(disk, 2, layout->entry_blocks, entries)) != 0)
        goto out;
    memset(block, 0, bs);
    put_header(block, layout, 1, last, 2, entries_crc);
    if ((error = block_io_write(disk, 1, 1, block)) != 0)
        goto out;
    if ((error = block_io_flush(disk)) != 0)
        goto out;
    memset(block, 0, bs);
    if (boot_img) {
        error = grub_bios_wire_boot_sector(boot_img, layout->bios_start, block);
        if (error)
            goto out;
    }
    put_protective_mbr(block, layout);
    if ((error = block_io_write(disk, 0, 1, block)) != 0)
        goto out;
    error = block_io_flush(disk);
out:
    kfree(entries);
    kfree(block);
    return error;
}

int boot_disk_wipe_tables(const struct block_io *disk, const struct boot_disk_layout *layout)
{
    uint32_t count = (uint32_t)layout->first_usable; /* MBR, GPT header, entries */
    uint8_t *zero = kzalloc((size_t)count * layout->block_size);
    if (!zero)
        return -ENOMEM;
    int error = block_io_write(disk, 0, count, zero);
    if (!error)
        error = block_io_write(disk, layout->block_count - (layout->entry_blocks + 1U),
                               layout->entry_blocks + 1, zero);
    if (!error)
        error = block_io_flush(disk);
    kfree(zero);
    return error;
}
