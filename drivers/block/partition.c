/* MBR (with extended/logical chains) and GPT (with CRC checks and the backup header). */
#define pr_fmt(fmt) "partition: " fmt

#include <rayos/bytes.h>
#include <rayos/crc32.h>
#include <rayos/errno.h>
#include <rayos/heap.h>
#include <rayos/guid.h>
#include <rayos/partition.h>
#include <rayos/printk.h>
#include <rayos/string.h>
#include <rayos/utf.h>

#define MBR_TABLE_OFFSET   446
#define MBR_ENTRY_SIZE     16
#define MBR_TYPE_GPT       0xee
#define GPT_HEADER_MIN     92
#define GPT_ENTRY_MIN      128
#define GPT_ENTRIES_MAX    4096
#define GPT_ARRAY_MAX      (1024 * 1024)
#define GPT_NAME_UNITS     36
#define EXTENDED_CHAIN_MAX 256
#define SKIP_REPORTS       8 /* warnings about skipped entries, then one count */

static bool mbr_is_extended(uint8_t type)
{
    return type == 0x05 || type == 0x0f || type == 0x85;
}

static bool ranges_overlap(uint64_t a_start, uint64_t a_count, uint64_t b_start, uint64_t b_count)
{
    return a_start < b_start + b_count && b_start < a_start + a_count;
}

/* Adds a partition unless it lies outside the disk or overlaps one already accepted.  An MBR
 * partition that starts on the disk but runs past its end (a disk image cut short) is cut to
 * the disk, as Linux does ("extends beyond EOD, truncated"); GPT entries are checked against
 * the usable area instead. */
static void table_add(struct partition_table *table, const struct block_io *disk,
                      const struct partition *candidate_in, bool clip)
{
    struct partition clipped = *candidate_in;
    const struct partition *candidate = &clipped;
    if (candidate->block_count == 0)
        return;
    if (clip && candidate->start_lba != 0 && candidate->start_lba < disk->block_count &&
        candidate->block_count > disk->block_count - candidate->start_lba) {
        clipped.block_count = disk->block_count - candidate->start_lba;
        pr_warn("partition %u runs past the end of the disk, truncated to %llu blocks\n",
                candidate->number, (unsigned long long)clipped.block_count);
    }
    if (candidate->start_lba == 0 || candidate->start_lba >= disk->block_count ||
        candidate->block_count > disk->block_count - candidate->start_lba) {
        if (++table->skipped <= SKIP_REPORTS)
            pr_warn("partition %u lies outside the disk, skipped\n", candidate->number);
        return;
    }
    for (unsigned i = 0; i < table->count; i++) {
        const struct partition *other = &table->entries[i];
        if (ranges_overlap(candidate->start_lba, candidate->block_count, other->start_lba,
                           other->block_count)) {
            if (++table->skipped <= SKIP_REPORTS)
                pr_warn("partition %u overlaps partition %u, skipped\n", candidate->number,
                        other->number);
            return;
        }
    }
    if (table->count >= PARTITION_MAX) {
        if (!table->truncated) /* once per table, MBR and GPT alike */
            pr_warn("more than %u partitions: partition %u and the rest are ignored\n",
                    PARTITION_MAX, candidate->number);
        table->truncated = true;
        return;
    }
    table->entries[table->count++] = *candidate;
}

static void mbr_entry_parse(const uint8_t *raw, uint64_t base, unsigned number,
                            struct partition *out)
{
    memset(out, 0, sizeof(*out));
    out->number = number;
    out->bootable = raw[0] == 0x80;
    out->mbr_type = raw[4];
    out->start_lba = base + get_le32(raw + 8);
    out->block_count = get_le32(raw + 12);
}

static bool mbr_entries_plausible(const uint8_t *sector)
{
    if (get_le16(sector + 510) != 0xaa55)
        return false;
    bool any = false;
    for (int i = 0; i < 4; i++) {
        const uint8_t *entry = sector + MBR_TABLE_OFFSET + i * MBR_ENTRY_SIZE;
        if (entry[0] != 0x00 && entry[0] != 0x80)
            return false;
        any |= entry[4] != 0;
    }
    /* Four empty slots: a filesystem's boot sector (its signature too), not a table. */
    return any;
}

/* Walks the chain of extended boot records; every EBR must lie inside the extended partition
 * and none may be visited twice (a loop), and the walk is bounded. */
static int mbr_read_logical(const struct block_io *disk, struct partition_table *table,
                            const struct partition *extended, uint8_t *sector)
{
    uint64_t ebr_lba = extended->start_lba;
    uint64_t visited[EXTENDED_CHAIN_MAX];
    unsigned number = 5;
    for (unsigned step = 0; step < EXTENDED_CHAIN_MAX; step++) {
        for (unsigned i = 0; i < step; i++) {
            if (visited[i] == ebr_lba) {
                pr_warn("extended partition chain loops at lba %llu, stopped\n",
                        (unsigned long long)ebr_lba);
                return 0;
            }
        }
        visited[step] = ebr_lba;
        int err = block_io_read(disk, ebr_lba, 1, sector);
        if (err)
            return err;
        if (get_le16(sector + 510) != 0xaa55) {
            pr_warn("extended boot record at lba %llu has no signature, chain stopped\n",
                    (unsigned long long)ebr_lba);
            return 0;
        }
        const uint8_t *first = sector + MBR_TABLE_OFFSET;
        const uint8_t *link = first + MBR_ENTRY_SIZE;
        if (first[4] != 0 && !mbr_is_extended(first[4])) {
            struct partition logical;
            mbr_entry_parse(first, ebr_lba, number++, &logical);
            if (logical.start_lba + logical.block_count >
                    extended->start_lba + extended->block_count ||
                logical.start_lba <= ebr_lba) {
                if (++table->skipped <= SKIP_REPORTS)
                    pr_warn("logical partition %u lies outside its extended partition, "
                            "skipped\n",
                            logical.number);
            } else {
                table_add(table, disk, &logical, true);
            }
        }
        if (!mbr_is_extended(link[4]) || get_le32(link + 8) == 0)
            return 0;
        uint64_t next = extended->start_lba + get_le32(link + 8);
        if (next >= extended->start_lba + extended->block_count) {
            pr_warn("extended chain leaves its partition, stopped\n");
            return 0;
        }
        ebr_lba = next;
    }
    pr_warn("extended chain longer than %u records, stopped\n", EXTENDED_CHAIN_MAX);
    return 0;
}

static int mbr_read(const struct block_io *disk, struct partition_table *table, uint8_t *sector)
{
    struct partition primary[4];
    for (int i = 0; i < 4; i++)
        mbr_entry_parse(sector + MBR_TABLE_OFFSET + i * MBR_ENTRY_SIZE, 0, (unsigned)i + 1,
                        &primary[i]);
    table->scheme = PARTITION_SCHEME_MBR;
    struct partition extended = {0};
    bool have_extended = false;
    for (int i = 0; i < 4; i++) {
        if (primary[i].mbr_type == 0)
            continue;
        if (mbr_is_extended(primary[i].mbr_type)) {
            if (have_extended) {
                pr_warn("second extended partition %u ignored\n", primary[i].number);
                continue;
            }
            if (primary[i].start_lba == 0 || primary[i].start_lba >= disk->block_count ||
                primary[i].block_count > disk->block_count - primary[i].start_lba) {
                pr_warn("extended partition %u lies outside the disk, skipped\n",
                        primary[i].number);
                continue;
            }
            extended = primary[i];
            have_extended = true;
            continue;
        }
        table_add(table, disk, &primary[i], true);
    }
    if (!have_extended)
        return 0;
    for (unsigned i = 0; i < table->count; i++) {
        if (ranges_overlap(extended.start_lba, extended.block_count, table->entries[i].start_lba,
                           table->entries[i].block_count)) {
            pr_warn("extended partition overlaps partition %u, skipped\n",
                    table->entries[i].number);
            return 0;
        }
    }
    return mbr_read_logical(disk, table, &extended, sector);
}

/* Reads and checks one GPT header and its entry array.  Returns 0 with the table filled,
 * -EUCLEAN when this copy is damaged, or -EIO. */
static int gpt_read_copy(const struct block_io *disk, uint64_t header_lba,
                         struct partition_table *table, uint64_t *alternate_out)
{
    uint32_t block_size = disk->block_size;
    uint8_t *header = kmalloc(block_size);
    if (!header)
        return -ENOMEM;
    int err = block_io_read(disk, header_lba, 1, header);
    if (err)
        goto out;
    err = -EUCLEAN;
    if (memcmp(header, "EFI PART", 8) != 0)
        goto out;
    uint32_t header_size = get_le32(header + 12);
    if (header_size < GPT_HEADER_MIN || header_size > block_size)
        goto out;
    uint32_t stored_crc = get_le32(header + 16);
    put_le32(header + 16, 0);
    if (crc32_update(0, header, header_size) != stored_crc) {
        pr_warn("GPT header at lba %llu has a bad CRC\n", (unsigned long long)header_lba);
        goto out;
    }
    if (get_le64(header + 24) != header_lba)
        goto out;
    *alternate_out = get_le64(header + 32);
    uint64_t first_usable = get_le64(header + 40);
    uint64_t last_usable = get_le64(header + 48);
    uint64_t entries_lba = get_le64(header + 72);
    uint32_t entry_count = get_le32(header + 80);
    uint32_t entry_size = get_le32(header + 84);
    uint32_t entries_crc = get_le32(header + 88);
    if (entry_size < GPT_ENTRY_MIN || entry_size % GPT_ENTRY_MIN != 0 || entry_size > 4096 ||
        entry_count > GPT_ENTRIES_MAX || (uint64_t)entry_count * entry_size > GPT_ARRAY_MAX)
        goto out;
    if (first_usable > last_usable || last_usable >= disk->block_count)
        goto out;
    uint64_t array_bytes = (uint64_t)entry_count * entry_size;
    uint32_t array_blocks = (uint32_t)DIV_ROUND_UP(array_bytes, block_size);
    if (entries_lba == 0 || entries_lba >= disk->block_count ||
        array_blocks > disk->block_count - entries_lba)
        goto out;
    uint8_t *array = kmalloc((size_t)array_blocks * block_size + 1);
    if (!array) {
        err = -ENOMEM;
        goto out;
    }
    err = block_io_read(disk, entries_lba, array_blocks, array);
    if (err) {
        kfree(array);
        goto out;
    }
    if (crc32_update(0, array, (size_t)array_bytes) != entries_crc) {
        pr_warn("GPT entry array at lba %llu has a bad CRC\n", (unsigned long long)entries_lba);
        kfree(array);
        err = -EUCLEAN;
        goto out;
    }
    table->scheme = PARTITION_SCHEME_GPT;
    memcpy(table->disk_guid, header + 56, 16);
    table->count = 0;
    table->truncated = false;
    table->skipped = 0;
    for (uint32_t slot = 0; slot < entry_count; slot++) { /* table_add says when it is full */
        const uint8_t *entry = array + (size_t)slot * entry_size;
        static const uint8_t zero_guid[16];
        if (memcmp(entry, zero_guid, 16) == 0)
            continue;
        struct partition candidate;
        memset(&candidate, 0, sizeof(candidate));
        candidate.number = slot + 1;
        memcpy(candidate.type_guid, entry, 16);
        memcpy(candidate.unique_guid, entry + 16, 16);
        uint64_t first = get_le64(entry + 32), last = get_le64(entry + 40);
        candidate.bootable = (get_le64(entry + 48) >> 2) & 1;
        uint16_t units[GPT_NAME_UNITS];
        size_t length = 0;
        while (length < GPT_NAME_UNITS && get_le16(entry + 56 + 2 * length) != 0) {
            units[length] = get_le16(entry + 56 + 2 * length);
            length++;
        }
        if (utf16_to_utf8(units, length, candidate.name, sizeof(candidate.name)) < 0)
            candidate.name[0] = 0;
        if (first > last || first < first_usable || last > last_usable) {
            if (++table->skipped <= SKIP_REPORTS)
                pr_warn("GPT partition %u lies outside the usable area, skipped\n", slot + 1);
            continue;
        }
        candidate.start_lba = first;
        candidate.block_count = last - first + 1;
        table_add(table, disk, &candidate, false);
    }
    kfree(array);
    err = 0;
out:
    kfree(header);
    return err;
}

static int gpt_read(const struct block_io *disk, struct partition_table *table)
{
    uint64_t alternate = 0;
    int err = gpt_read_copy(disk, 1, table, &alternate);
    if (err != -EUCLEAN)
        return err;
    pr_warn("primary GPT damaged, trying the backup\n");
    uint64_t last = disk->block_count - 1;
    int backup_err = gpt_read_copy(disk, last, table, &alternate);
    if (backup_err == 0) {
        table->used_backup_gpt = true;
        return 0;
    }
    if (backup_err != -EUCLEAN)
        return backup_err;
    table->scheme = PARTITION_SCHEME_NONE;
    table->count = 0;
    pr_err("both GPT copies are damaged\n");
    return -EUCLEAN;
}

int partition_table_read(const struct block_io *disk, struct partition_table *table)
{
    memset(table, 0, sizeof(*table));
    if (disk->block_size < 512 || disk->block_count < 2)
        return 0;
    uint8_t *sector = kmalloc(disk->block_size);
    if (!sector)
        return -ENOMEM;
    int err = block_io_read(disk, 0, 1, sector);
    if (err)
        goto out;
    if (!mbr_entries_plausible(sector))
        goto out;
    bool protective = false;
    for (int i = 0; i < 4; i++)
        if (sector[MBR_TABLE_OFFSET + i * MBR_ENTRY_SIZE + 4] == MBR_TYPE_GPT)
            protective = true;
    table->mbr_disk_signature = get_le32(sector + 440);
    if (protective)
        err = gpt_read(disk, table);
    else
        err = mbr_read(disk, table, sector);
    if (table->skipped > SKIP_REPORTS)
        pr_warn("%u more partition entries skipped\n", table->skipped - SKIP_REPORTS);
out:
    kfree(sector);
    return err;
}

void partition_uuid(const struct partition_table *table, const struct partition *partition,
                    char out[PARTITION_UUID_SIZE])
{
    if (table->scheme == PARTITION_SCHEME_GPT)
        guid_format(partition->unique_guid, out);
    else if (table->scheme == PARTITION_SCHEME_MBR)
        snprintf(out, PARTITION_UUID_SIZE, "%08x-%02x", table->mbr_disk_signature,
                 partition->number);
    else
        out[0] = 0;
}

struct guid_name {
    uint8_t guid[16];
    const char *name;
};

/* Type GUIDs in on-disk byte order (the first three fields little-endian). */
static const struct guid_name gpt_type_names[] = {
    {{0x28, 0x73, 0x2a, 0xc1, 0x1f, 0xf8, 0xd2, 0x11, 0xba, 0x4b, 0x00, 0xa0, 0xc9, 0x3e, 0xc9,
      0x3b},
     "EFI System"},
    {{0xa2, 0xa0, 0xd0, 0xeb, 0xe5, 0xb9, 0x33, 0x44, 0x87, 0xc0, 0x68, 0xb6, 0xb7, 0x26, 0x99,
      0xc7},
     "Microsoft basic data"},
    {{0xaf, 0x3d, 0xc6, 0x0f, 0x83, 0x84, 0x72, 0x47, 0x8e, 0x79, 0x3d, 0x69, 0xd8, 0x47, 0x7d,
      0xe4},
     "Linux filesystem"},
    {{0x6d, 0xfd, 0x57, 0x06, 0xab, 0xa4, 0xc4, 0x43, 0x84, 0xe5, 0x09, 0x33, 0xc8, 0x4b, 0x4f,
      0x4f},
     "Linux swap"},
    {{0x48, 0x61, 0x68, 0x21, 0x49, 0x64, 0x6f, 0x6e, 0x74, 0x4e, 0x65, 0x65, 0x64, 0x45, 0x46,
      0x49},
     "BIOS boot"},
    {{0x79, 0xd3, 0xd6, 0xe6, 0x07, 0xf5, 0xc2, 0x44, 0xa2, 0x3c, 0x23, 0x8c, 0x2a, 0x3d, 0xf9,
      0x28},
     "Linux LVM"},
};

struct mbr_name {
    uint8_t type;
    const char *name;
};

static const struct mbr_name mbr_type_names[] = {
    {0x01, "FAT12"},
    {0x04, "FAT16 <32M"},
    {0x05, "Extended"},
    {0x06, "FAT16"},
    {0x07, "HPFS/NTFS/exFAT"},
    {0x0b, "W95 FAT32"},
    {0x0c, "W95 FAT32 (LBA)"},
    {0x0e, "W95 FAT16 (LBA)"},
    {0x0f, "W95 Ext'd (LBA)"},
    {0x82, "Linux swap"},
    {0x83, "Linux"},
    {0x85, "Linux extended"},
    {0x8e, "Linux LVM"},
    {0xee, "GPT"},
    {0xef, "EFI (FAT-12/16/32)"},
    {0xfd, "Linux raid autodetect"},
};

const char *partition_type_name(const struct partition *partition)
{
    static const uint8_t zero_guid[16];
    if (memcmp(partition->type_guid, zero_guid, 16) != 0) {
        for (size_t i = 0; i < ARRAY_SIZE(gpt_type_names); i++)
            if (memcmp(partition->type_guid, gpt_type_names[i].guid, 16) == 0)
                return gpt_type_names[i].name;
        return "Unknown GPT type";
    }
    for (size_t i = 0; i < ARRAY_SIZE(mbr_type_names); i++)
        if (mbr_type_names[i].type == partition->mbr_type)
            return mbr_type_names[i].name;
    return "Unknown";
}

static bool slice_range_ok(const struct block_io_slice *slice, uint64_t lba, uint32_t count)
{
    return lba <= slice->count && count <= slice->count - lba;
}

static int slice_read(void *context, uint64_t lba, uint32_t count, void *buffer)
{
    struct block_io_slice *slice = context;
    if (!slice_range_ok(slice, lba, count))
        return -EINVAL;
    return block_io_read(slice->parent, slice->start + lba, count, buffer);
}

static int slice_write(void *context, uint64_t lba, uint32_t count, const void *buffer)
{
    struct block_io_slice *slice = context;
    if (!slice_range_ok(slice, lba, count))
        return -EINVAL;
    return block_io_write(slice->parent, slice->start + lba, count, buffer);
}

static int slice_flush(void *context)
{
    struct block_io_slice *slice = context;
    return block_io_flush(slice->parent);
}

void block_io_slice_init(struct block_io_slice *slice, struct block_io *out,
                         const struct block_io *parent, uint64_t start, uint64_t count)
{
    slice->parent = parent;
    slice->start = start;
    slice->count = count;
    memset(out, 0, sizeof(*out));
    out->context = slice;
    out->block_size = parent->block_size;
    out->block_count = count;
    out->read_only = parent->read_only;
    out->read = slice_read;
    out->write = slice_write;
    out->flush = slice_flush;
}
