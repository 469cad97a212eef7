/* Boot sector validation, volume geometry and mounting. */
#define pr_fmt(fmt) "fat: " fmt

#include <rayos/bytes.h>
#include <rayos/errno.h>
#include <rayos/heap.h>
#include <rayos/printk.h>
#include <rayos/string.h>

#include "fat_internal.h"

#define FSINFO_LEAD_SIGNATURE   0x41615252u
#define FSINFO_STRUCT_SIGNATURE 0x61417272u
#define FSINFO_TRAIL_SIGNATURE  0xaa550000u

static bool value_is_power_of_two(uint32_t value)
{
    return IS_POWER_OF_2(value);
}

/* Fills the geometry from a boot sector; every field is checked against the others and
 * against the device.  Returns -EINVAL for "not a FAT volume" and -EUCLEAN for a FAT boot
 * sector with inconsistent fields. */
int fat_parse_boot_sector(struct fat_volume *vol, const uint8_t *boot, uint64_t device_blocks,
                          uint32_t block_size)
{
    if (get_le16(boot + 510) != 0xaa55 || (boot[0] != 0xeb && boot[0] != 0xe9))
        return -EINVAL;
    uint32_t sector_size = get_le16(boot + 11);
    uint32_t sectors_per_cluster = boot[13];
    uint32_t reserved = get_le16(boot + 14);
    uint32_t fat_count = boot[16];
    uint32_t root_entries = get_le16(boot + 17);
    uint32_t total16 = get_le16(boot + 19);
    uint32_t fat_size16 = get_le16(boot + 22);
    uint32_t total32 = get_le32(boot + 32);
    if (sector_size < 512 || sector_size > 4096 || !value_is_power_of_two(sector_size))
        return -EINVAL;
    if (sector_size < block_size || sector_size % block_size != 0) {
        pr_err("sector size %u below the device's block size %u\n", sector_size, block_size);
        return -EINVAL;
    }
    if (!value_is_power_of_two(sectors_per_cluster) || sectors_per_cluster > 128 ||
        sector_size * sectors_per_cluster > 256 * 1024)
        return -EUCLEAN;
    if (reserved == 0 || fat_count == 0 || fat_count > 4)
        return -EUCLEAN;
    bool fat32_layout = fat_size16 == 0;
    uint32_t fat_sectors = fat32_layout ? get_le32(boot + 36) : fat_size16;
    uint64_t total = total16 ? total16 : total32;
    if (fat_sectors == 0 || total == 0)
        return -EUCLEAN;
    if ((uint64_t)root_entries * FAT_DIR_ENTRY_SIZE % sector_size != 0)
        return -EUCLEAN;
    uint32_t root_sectors = root_entries * FAT_DIR_ENTRY_SIZE / sector_size;
    uint64_t data_start = reserved + (uint64_t)fat_count * fat_sectors + root_sectors;
    if (data_start >= total)
        return -EUCLEAN;
    uint64_t clusters = (total - data_start) / sectors_per_cluster;
    if (clusters == 0 || clusters > 0x0ffffff5u - 2)
        return -EUCLEAN;
    /* The layout decides FAT32, as Linux, mtools and fsck.fat do: a 16-bit FAT size of 0 (with
     * the 32-bit one set) is FAT32 whatever the cluster count, so mkfs.fat -F 32 volumes with
     * fewer than 65,525 clusters mount.  Only a 16-bit FAT size leaves the choice between
     * FAT12 and FAT16 to the cluster count; such a FAT cannot address 65,525 clusters or more. */
    unsigned type = fat32_layout ? 32 : clusters < 4085 ? 12 : 16;
    if (!fat32_layout && clusters >= 65525)
        return -EUCLEAN;
    if (fat32_layout != (root_entries == 0))
        return -EUCLEAN;
    uint64_t fat_capacity = (uint64_t)fat_sectors * sector_size * 8 / type;
    if (type == 12)
        fat_capacity = (uint64_t)fat_sectors * sector_size * 2 / 3;
    if (fat_capacity < clusters + 2)
        return -EUCLEAN;
    uint32_t blocks_per_sector = sector_size / block_size;
    /* A truncated volume (an image cut short, a partition smaller than its filesystem) is
     * still read, as mtools and Linux read it, but only read: what lies past the device's end
     * reads as an I/O error.  Its boot sector, FATs and fixed root must be there. */
    uint64_t device_sectors = device_blocks / blocks_per_sector;
    vol->truncated = total > device_sectors;
    vol->device_sectors = MIN(total, device_sectors);
    if (vol->truncated) {
        pr_warn("volume of %llu sectors is larger than the device (%llu blocks): read-only\n",
                (unsigned long long)total, (unsigned long long)device_blocks);
        if (data_start > device_sectors)
            return -EUCLEAN;
    }
    vol->type = type;
    vol->sector_size = sector_size;
    vol->blocks_per_sector = blocks_per_sector;
    vol->sectors_per_cluster = sectors_per_cluster;
    vol->cluster_size = sector_size * sectors_per_cluster;
    vol->reserved_sectors = reserved;
    vol->fat_count = fat_count;
    vol->fat_sectors = fat_sectors;
    vol->root_entries = root_entries;
    vol->fat_start = reserved;
    vol->root_start = reserved + (uint64_t)fat_count * fat_sectors;
    vol->data_start = data_start;
    vol->total_sectors = total;
    vol->cluster_count = (uint32_t)clusters;
    vol->fsinfo_sector = 0;
    vol->fsinfo_bad = false;
    vol->root_cluster = 0;
    const uint8_t *extended = boot + (type == 32 ? 64 : 36);
    if (type == 32) {
        if (get_le16(boot + 42) != 0)
            return -EUCLEAN; /* an unknown FAT32 version */
        vol->root_cluster = get_le32(boot + 44);
        if (!fat_cluster_valid(vol, vol->root_cluster))
            return -EUCLEAN;
        uint32_t fsinfo = get_le16(boot + 48);
        if (fsinfo != 0 && fsinfo != 0xffff) {
            if (fsinfo >= reserved)
                vol->fsinfo_bad = true; /* a hint only: ignored, like bad signatures */
            else
                vol->fsinfo_sector = fsinfo;
        }
        vol->backup_boot_sector = get_le16(boot + 50);
    }
    vol->was_dirty = (extended[1] & 1) != 0;
    vol->has_boot_label = extended[2] == 0x29;
    memset(vol->boot_label, ' ', sizeof(vol->boot_label));
    if (vol->has_boot_label) {
        vol->volume_id = get_le32(extended + 3);
        memcpy(vol->boot_label, extended + 7, 11);
    }
    return 0;
}

static int read_fsinfo(struct fat_volume *vol)
{
    vol->free_count_known = false;
    vol->next_free = FAT_CLUSTER_FIRST;
    if (!vol->fsinfo_sector)
        return 0;
    uint8_t *data;
    int err = fat_cache_get(vol, vol->fsinfo_sector, false, &data);
    if (err)
        return err;
    if (get_le32(data) != FSINFO_LEAD_SIGNATURE ||
        get_le32(data + 484) != FSINFO_STRUCT_SIGNATURE ||
        get_le32(data + 508) != FSINFO_TRAIL_SIGNATURE) {
        /* Only a hint (Linux ignores it too): the free count is counted when needed, and the
         * sector is never written, since it may not be FSInfo at all. */
        pr_warn("FSInfo sector %u has bad signatures; free space unknown\n", vol->fsinfo_sector);
        vol->fsinfo_bad = true;
        vol->fsinfo_sector = 0;
        return 0;
    }
    uint32_t free_count = get_le32(data + 488);
    uint32_t next_free = get_le32(data + 492);
    if (free_count <= vol->cluster_count) {
        vol->free_count = free_count;
        vol->free_count_known = true;
    }
    if (fat_cluster_valid(vol, next_free))
        vol->next_free = next_free;
    return 0;
}

/* What every mount reads next, in one device request instead of four (each a round trip to the
 * device, about 0.35 ms under QEMU): FSInfo, the reserved sectors a rename record may be in
 * (kept as the mount area until the mount has looked for one, intent.c) and the FAT's first
 * sectors (FSInfo and the FAT sectors go into the cache).  Nothing here is an error: without
 * it, each of those reads makes its own request and reports its own failure. */
#define MOUNT_AREA_BYTES (64 * 1024)

static void read_mount_area(struct fat_volume *vol)
{
    uint32_t end = MIN(vol->reserved_sectors, (uint32_t)FAT_RESERVED_SCAN);
    if (vol->reserved_sectors <= FAT_RESERVED_SCAN) /* the FAT starts right after them */
        end += FAT_READ_AHEAD;
    end = (uint32_t)MIN((uint64_t)end, vol->device_sectors);
    end = MIN(end, MOUNT_AREA_BYTES / vol->sector_size + 1);
    if (end <= 2)
        return;
    uint8_t *area = kmalloc((size_t)(end - 1) * vol->sector_size);
    if (!area)
        return;
    if (fat_device_read(vol, 1, end - 1, area) != 0) {
        kfree(area);
        return;
    }
    vol->mount_area = area;
    vol->mount_area_end = end;
    if (vol->fsinfo_sector && vol->fsinfo_sector < end)
        fat_cache_install(vol, vol->fsinfo_sector, false,
                          area + (size_t)(vol->fsinfo_sector - 1) * vol->sector_size);
    uint64_t fat_end = MIN((uint64_t)end, vol->fat_start + vol->fat_sectors); /* the first copy */
    for (uint64_t sector = vol->fat_start; sector < fat_end; sector++)
        fat_cache_install(vol, sector, true, area + (size_t)(sector - 1) * vol->sector_size);
}

void fat_drop_mount_area(struct fat_volume *vol)
{
    kfree(vol->mount_area);
    vol->mount_area = NULL;
    vol->mount_area_end = 0;
}

void fat_free_volume(struct fat_volume *vol)
{
    if (!vol)
        return;
    fat_drop_mount_area(vol);
    fat_cache_release(vol);
    fat_index_drop_all(vol);
    kfree(vol->boot_sector);
    kfree(vol);
}

/* Everything about mounting except the dirty-bit policy; fat_check uses it too. */
int fat_load_volume(const struct block_io *io, bool read_only, struct fat_volume **out)
{
    *out = NULL;
    if (!io || io->block_size < 512 || io->block_size > 4096 || !IS_POWER_OF_2(io->block_size))
        return -EINVAL;
    if (io->block_count == 0)
        return -EINVAL;
    struct fat_volume *vol = kzalloc(sizeof(*vol));
    if (!vol)
        return -ENOMEM;
    vol->io = io;
    vol->read_only = read_only || io->read_only;
    vol->index_entry_budget = FAT_INDEX_ENTRY_BUDGET;
    int err = -ENOMEM;
    uint8_t *first = kmalloc(io->block_size);
    if (!first)
        goto fail;
    err = block_io_read(io, 0, 1, first);
    if (!err)
        err = fat_parse_boot_sector(vol, first, io->block_count, io->block_size);
    if (err) {
        kfree(first);
        goto fail;
    }
    if (vol->sector_size == io->block_size) {
        vol->boot_sector = first; /* the block just read is the whole boot sector */
    } else {
        kfree(first);
        vol->boot_sector = kmalloc(vol->sector_size);
        err = vol->boot_sector ? fat_device_read(vol, 0, 1, vol->boot_sector) : -ENOMEM;
        if (err)
            goto fail;
    }
    err = -ENOMEM;
    vol->read_ahead = kmalloc((size_t)FAT_READ_AHEAD * vol->sector_size);
    if (!vol->read_ahead)
        goto fail;
    if (vol->truncated)
        vol->read_only = true;
    read_mount_area(vol);
    err = read_fsinfo(vol);
    if (err)
        goto fail;
    uint32_t fat1;
    err = fat_get_entry(vol, 1, &fat1);
    if (err)
        goto fail;
    if ((vol->type == 16 && !(fat1 & 0x8000)) || (vol->type == 32 && !(fat1 & 0x08000000)))
        vol->was_dirty = true;
    *out = vol;
    return 0;
fail:
    fat_free_volume(vol);
    return err;
}

int fat_mount(const struct block_io *io, unsigned flags, const struct fat_clock *clock,
              struct fat_volume **out)
{
    struct fat_volume *vol;
    int err = fat_load_volume(io, (flags & FAT_MOUNT_READ_ONLY) != 0, &vol);
    if (err)
        return err;
    if (clock)
        vol->clock = *clock;
    if (vol->was_dirty)
        pr_warn("volume was not cleanly unmounted; run a check\n");
    /* an interrupted rename is settled before anything else touches the volume */
    err = fat_intent_recover(vol);
    fat_drop_mount_area(vol);
    if (err) {
        fat_free_volume(vol);
        return err;
    }
    *out = vol;
    return 0;
}

int fat_make_writable(struct fat_volume *vol)
{
    if (!vol->read_only)
        return 0;
    if (vol->io->read_only || vol->truncated)
        return -EROFS;
    vol->read_only = false;
    /* What a writable mount does first: settle an interrupted rename, which the read-only mount
     * has looked for already (nothing writes under a mounted volume: it cannot have appeared). */
    int err = vol->intent_pending ? fat_intent_recover(vol) : 0;
    if (err)
        vol->read_only = true;
    return err;
}

int fat_sync(struct fat_volume *vol)
{
    for (struct fat_file *file = vol->open_files; file; file = file->next_open) {
        int err = fat_file_sync(file);
        if (err)
            return err;
    }
    return fat_volume_sync(vol);
}

int fat_unmount(struct fat_volume *vol)
{
    if (!vol)
        return -EINVAL;
    if (vol->open_count)
        return -EBUSY;
    int err = fat_mark_clean(vol);
    if (!err)
        err = fat_volume_sync(vol);
    fat_free_volume(vol);
    return err;
}

int fat_statfs(struct fat_volume *vol, struct fat_statfs *out)
{
    if (!vol->free_count_known) {
        int err = fat_count_free(vol);
        if (err)
            return err;
    }
    memset(out, 0, sizeof(*out));
    out->fat_type = vol->type;
    out->sector_size = vol->sector_size;
    out->cluster_size = vol->cluster_size;
    out->cluster_count = vol->cluster_count;
    out->free_clusters = vol->free_count;
    out->volume_id = vol->volume_id;
    uint8_t raw[32];
    uint64_t sector;
    uint32_t offset;
    /* a root directory that cannot be read has no label; the rest is still worth knowing */
    if (fat_find_label_entry(vol, raw, &sector, &offset) == 1)
        fat_label_to_string(raw, out->label, sizeof(out->label));
    out->was_dirty = vol->was_dirty;
    out->free_count_hint_bad = vol->fsinfo_bad;
    out->rename_pending = vol->intent_pending;
    out->rename_recovered = vol->move_outcome;
    return 0;
}

/* What a label may hold: what fatlabel and mlabel accept, printable ASCII without the
 * characters 8.3 names forbid; case is kept, as fatlabel keeps it. */
static bool label_valid(const char *label)
{
    size_t length = strlen(label);
    if (length > 11 || label[0] == ' ')
        return false;
    for (size_t i = 0; i < length; i++) {
        uint8_t c = (uint8_t)label[i];
        if (c < 0x20 || c >= 0x7f || strchr("\"*+,./:;<=>?[\\]|", c))
            return false;
    }
    return true;
}

int fat_set_label(struct fat_volume *vol, const char *label)
{
    if (vol->read_only)
        return -EROFS;
    bool erase = !label || !label[0];
    if (!erase && !label_valid(label))
        return -EINVAL;
    uint8_t bytes[11];
    memset(bytes, ' ', sizeof(bytes));
    memcpy(bytes, erase ? "NO NAME" : label, erase ? 7 : strlen(label));
    int err = fat_mark_dirty(vol);
    if (!err)
        err = fat_write_label_entry(vol, erase ? NULL : bytes);
    if (!err)
        err = fat_volume_sync(vol);
    if (err)
        return err;
    return fat_write_boot_label(vol, bytes);
}

/* The boot sector's label and FAT32's backup's, where they have an extended boot record. */
int fat_write_boot_label(struct fat_volume *vol, const uint8_t bytes[11])
{
    int err;
    uint32_t extended = vol->type == 32 ? 64 : 36;
    if (vol->boot_sector[extended + 2] != 0x29)
        return 0;
    memcpy(vol->boot_sector + extended + 7, bytes, 11);
    memcpy(vol->boot_label, bytes, 11);
    err = fat_device_write(vol, 0, 1, vol->boot_sector);
    if (err || vol->type != 32 || !vol->backup_boot_sector ||
        vol->backup_boot_sector >= vol->reserved_sectors)
        return err;
    uint8_t *backup = kmalloc(vol->sector_size);
    if (!backup)
        return -ENOMEM;
    err = fat_device_read(vol, vol->backup_boot_sector, 1, backup);
    if (!err && get_le16(backup + 510) == 0xaa55 && backup[extended + 2] == 0x29) {
        memcpy(backup + extended + 7, bytes, 11);
        err = fat_device_write(vol, vol->backup_boot_sector, 1, backup);
    }
    kfree(backup);
    return err;
}
