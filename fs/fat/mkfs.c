/* Formatting: geometry by size (like mkfs.fat) or forced, then boot sector, FSInfo, FATs and
 * an empty root directory. */
#define pr_fmt(fmt) "fat: " fmt

#include <rayos/bytes.h>
#include <rayos/ctype.h>
#include <rayos/errno.h>
#include <rayos/heap.h>
#include <rayos/printk.h>
#include <rayos/string.h>

#include "fat_internal.h"

#define MKFS_ZERO_CHUNK (256 * 1024)

struct layout {
    unsigned type;
    uint32_t sector_size;
    uint32_t sectors_per_cluster;
    uint32_t reserved;
    uint32_t fat_sectors;
    uint32_t root_entries;
    uint64_t total;
    uint32_t clusters;
};

static bool count_fits(unsigned type, uint64_t clusters)
{
    if (type == 12)
        return clusters >= 1 && clusters < 4085;
    if (type == 16)
        return clusters >= 4085 && clusters < 65525;
    return clusters >= 65525 && clusters < 0x0ffffff5u - 2;
}

/* Settles the FAT size (it shrinks the data area that it describes). */
static bool compute_layout(struct layout *l)
{
    l->reserved = l->type == 32 ? 32 : 1;
    l->root_entries = l->type == 32 ? 0 : 512;
    uint32_t root_sectors = l->root_entries * FAT_DIR_ENTRY_SIZE / l->sector_size;
    uint64_t fat_sectors = 1;
    for (int round = 0; round < 64; round++) {
        uint64_t overhead = l->reserved + 2 * fat_sectors + root_sectors;
        if (overhead >= l->total)
            return false;
        uint64_t clusters = (l->total - overhead) / l->sectors_per_cluster;
        uint64_t fat_bytes =
            l->type == 12 ? DIV_ROUND_UP((clusters + 2) * 3, 2) : (clusters + 2) * (l->type / 8);
        uint64_t needed = DIV_ROUND_UP(fat_bytes, l->sector_size);
        if (needed <= fat_sectors) {
            l->fat_sectors = (uint32_t)fat_sectors;
            l->clusters = (uint32_t)MIN(clusters, (uint64_t)UINT32_MAX);
            return count_fits(l->type, clusters);
        }
        fat_sectors = needed;
    }
    return false;
}

static uint32_t default_fat32_cluster(uint64_t bytes)
{
    if (bytes <= 260 * MiB)
        return 512;
    if (bytes <= 8 * GiB)
        return 4096;
    if (bytes <= 16 * GiB)
        return 8192;
    if (bytes <= 32 * GiB)
        return 16384;
    return 32768;
}

/* Tries cluster sizes from the preferred one, first upwards then downwards. */
static bool choose_cluster(struct layout *l, uint32_t wanted_bytes, bool fixed)
{
    uint32_t start = MAX(wanted_bytes, l->sector_size);
    if (fixed) {
        l->sectors_per_cluster = start / l->sector_size;
        return compute_layout(l);
    }
    for (uint32_t bytes = start; bytes <= 64 * 1024; bytes *= 2) {
        l->sectors_per_cluster = bytes / l->sector_size;
        if (compute_layout(l))
            return true;
    }
    for (uint32_t bytes = start / 2; bytes >= l->sector_size; bytes /= 2) {
        l->sectors_per_cluster = bytes / l->sector_size;
        if (compute_layout(l))
            return true;
    }
    return false;
}

static bool plan_type(struct layout *l, unsigned type, uint32_t cluster_bytes)
{
    uint64_t bytes = l->total * l->sector_size;
    l->type = type;
    if (cluster_bytes)
        return choose_cluster(l, cluster_bytes, true);
    if (type == 12)
        return choose_cluster(l, l->sector_size, false);
    if (type == 16)
        return choose_cluster(l, bytes <= 128 * MiB ? 2048 : 4096, false);
    return choose_cluster(l, default_fat32_cluster(bytes), false);
}

static int plan(const struct fat_mkfs_options *options, struct layout *l)
{
    uint32_t cluster_bytes = options->cluster_size;
    if (cluster_bytes && (!IS_POWER_OF_2(cluster_bytes) || cluster_bytes < l->sector_size ||
                          cluster_bytes > 64 * 1024 || cluster_bytes / l->sector_size > 128)) {
        pr_err("cluster size %u must be a power of two from the sector size to 64 KiB\n",
               cluster_bytes);
        return -EINVAL;
    }
    if (options->fat_type) {
        if (options->fat_type != 12 && options->fat_type != 16 && options->fat_type != 32)
            return -EINVAL;
        if (plan_type(l, options->fat_type, cluster_bytes))
            return 0;
        pr_err("a volume of %llu sectors cannot hold FAT%u with that cluster size\n",
               (unsigned long long)l->total, options->fat_type);
        return -EINVAL;
    }
    uint64_t bytes = l->total * l->sector_size;
    unsigned preferred = bytes < 16 * MiB ? 12 : bytes < 512 * MiB ? 16 : 32;
    const unsigned order[3][3] = {{12, 16, 32}, {16, 12, 32}, {32, 16, 12}};
    const unsigned *try = order[preferred == 12 ? 0 : preferred == 16 ? 1 : 2];
    for (int i = 0; i < 3; i++)
        if (plan_type(l, try[i], cluster_bytes))
            return 0;
    pr_err("no FAT layout fits a volume of %llu sectors\n", (unsigned long long)l->total);
    return -EINVAL;
}

static void build_boot_sector(const struct layout *l, const struct fat_mkfs_options *options,
                              uint8_t *boot)
{
    memset(boot, 0, l->sector_size);
    bool fat32 = l->type == 32;
    boot[0] = 0xeb;
    boot[1] = fat32 ? 0x58 : 0x3c;
    boot[2] = 0x90;
    memcpy(boot + 3, "RAYOS   ", 8);
    put_le16(boot + 11, (uint16_t)l->sector_size);
    boot[13] = (uint8_t)l->sectors_per_cluster;
    put_le16(boot + 14, (uint16_t)l->reserved);
    boot[16] = 2;
    put_le16(boot + 17, (uint16_t)l->root_entries);
    if (l->total < 65536 && !fat32)
        put_le16(boot + 19, (uint16_t)l->total);
    else
        put_le32(boot + 32, (uint32_t)l->total);
    boot[21] = 0xf8;
    if (!fat32)
        put_le16(boot + 22, (uint16_t)l->fat_sectors);
    put_le16(boot + 24, 32);
    put_le16(boot + 26, 64);
    uint8_t *extended = boot + 36;
    if (fat32) {
        put_le32(boot + 36, l->fat_sectors);
        put_le32(boot + 44, FAT_CLUSTER_FIRST);
        put_le16(boot + 48, 1);
        put_le16(boot + 50, 6);
        extended = boot + 64;
    }
    extended[0] = 0x80;
    extended[2] = 0x29;
    put_le32(extended + 3, options->volume_id);
    memset(extended + 7, ' ', 11);
    const char *label = options->label && options->label[0] ? options->label : "NO NAME";
    for (size_t i = 0; i < 11 && label[i]; i++)
        extended[7 + i] = (uint8_t)to_upper(label[i]);
    memcpy(extended + 18, l->type == 12 ? "FAT12   " : l->type == 16 ? "FAT16   " : "FAT32   ", 8);
    /* boot code: halt forever (this volume is not bootable) */
    uint8_t *code = boot + (fat32 ? 90 : 62);
    code[0] = 0xf4;
    code[1] = 0xeb;
    code[2] = 0xfd;
    put_le16(boot + 510, 0xaa55);
}

static int write_sectors(const struct block_io *io, uint32_t ratio, uint64_t sector, uint32_t count,
                         const void *data)
{
    return block_io_write(io, sector * ratio, count * ratio, data);
}

static int zero_sectors(const struct block_io *io, uint32_t ratio, uint32_t sector_size,
                        uint64_t sector, uint64_t count)
{
    uint32_t chunk = MKFS_ZERO_CHUNK / sector_size;
    uint8_t *zeros = kzalloc(MKFS_ZERO_CHUNK);
    if (!zeros)
        return -ENOMEM;
    int err = 0;
    while (count && !err) {
        uint32_t n = (uint32_t)MIN(count, (uint64_t)chunk);
        err = write_sectors(io, ratio, sector, n, zeros);
        sector += n;
        count -= n;
    }
    kfree(zeros);
    return err;
}

int fat_mkfs(const struct block_io *io, const struct fat_mkfs_options *options)
{
    if (io->read_only)
        return -EROFS;
    struct layout l;
    memset(&l, 0, sizeof(l));
    l.sector_size = options->sector_size ? options->sector_size : io->block_size;
    if (l.sector_size < 512 || l.sector_size > 4096 || !IS_POWER_OF_2(l.sector_size) ||
        l.sector_size < io->block_size) {
        pr_err("sector size %u: must be 512..4096, a power of two, at least the block size\n",
               l.sector_size);
        return -EINVAL;
    }
    uint32_t ratio = l.sector_size / io->block_size;
    l.total = MIN(io->block_count / ratio, (uint64_t)UINT32_MAX);
    int err = plan(options, &l);
    if (err)
        return err;
    uint64_t root_sectors = (uint64_t)l.root_entries * FAT_DIR_ENTRY_SIZE / l.sector_size;
    uint64_t data_start = l.reserved + 2ull * l.fat_sectors + root_sectors;
    uint64_t clear = data_start + (l.type == 32 ? l.sectors_per_cluster : 0);
    err = zero_sectors(io, ratio, l.sector_size, 0, clear);
    if (err)
        return err;
    uint8_t *sector = kmalloc(l.sector_size);
    if (!sector)
        return -ENOMEM;
    build_boot_sector(&l, options, sector);
    err = write_sectors(io, ratio, 0, 1, sector);
    if (!err && l.type == 32)
        err = write_sectors(io, ratio, 6, 1, sector);
    if (!err && l.type == 32) {
        memset(sector, 0, l.sector_size);
        put_le32(sector, 0x41615252);
        put_le32(sector + 484, 0x61417272);
        put_le32(sector + 488, l.clusters - 1);
        put_le32(sector + 492, 3);
        put_le32(sector + 508, 0xaa550000);
        err = write_sectors(io, ratio, 1, 1, sector);
        if (!err)
            err = write_sectors(io, ratio, 7, 1, sector);
    }
    if (!err) {
        memset(sector, 0, l.sector_size);
        if (l.type == 12) {
            sector[0] = 0xf8, sector[1] = 0xff, sector[2] = 0xff;
        } else if (l.type == 16) {
            put_le16(sector, 0xfff8);
            put_le16(sector + 2, 0xffff);
        } else {
            put_le32(sector, 0x0ffffff8);
            put_le32(sector + 4, 0x0fffffff);
            put_le32(sector + 8, 0x0fffffff); /* the root directory's cluster */
        }
        for (uint32_t copy = 0; copy < 2 && !err; copy++)
            err = write_sectors(io, ratio, l.reserved + (uint64_t)copy * l.fat_sectors, 1, sector);
    }
    if (!err && options->label && options->label[0]) {
        memset(sector, 0, l.sector_size);
        memset(sector, ' ', 11);
        for (size_t i = 0; i < 11 && options->label[i]; i++)
            sector[i] = (uint8_t)to_upper(options->label[i]);
        sector[11] = FAT_ATTR_VOLUME_ID;
        err = write_sectors(io, ratio, l.reserved + 2ull * l.fat_sectors, 1, sector);
    }
    kfree(sector);
    if (!err)
        err = block_io_flush(io);
    return err;
}
