/* Device access in filesystem sectors and the write-back metadata cache (FAT and directory
 * sectors).  Dirty sectors are written in phases with a device flush between phases; that
 * ordering is what keeps the volume consistent across a power cut (docs/FAT.md). */
#define pr_fmt(fmt) "fat: " fmt

#include <rayos/bytes.h>
#include <rayos/errno.h>
#include <rayos/heap.h>
#include <rayos/printk.h>
#include <rayos/string.h>

#include "fat_internal.h"

int fat_device_read(struct fat_volume *vol, uint64_t sector, uint32_t count, void *buffer)
{
    /* a truncated volume (mounted read-only) has sectors the device lacks */
    if (sector > vol->device_sectors || count > vol->device_sectors - sector)
        return -EIO;
    return block_io_read(vol->io, sector * vol->blocks_per_sector, count * vol->blocks_per_sector,
                         buffer);
}

int fat_device_write(struct fat_volume *vol, uint64_t sector, uint32_t count, const void *buffer)
{
    if (vol->read_only)
        return -EROFS;
    if (sector > vol->total_sectors || count > vol->total_sectors - sector)
        return -EIO;
    return block_io_write(vol->io, sector * vol->blocks_per_sector, count * vol->blocks_per_sector,
                          buffer);
}

uint64_t fat_cluster_sector(const struct fat_volume *vol, uint32_t cluster)
{
    return vol->data_start + (uint64_t)(cluster - FAT_CLUSTER_FIRST) * vol->sectors_per_cluster;
}

static int cache_write_slot(struct fat_volume *vol, struct fat_cache_slot *slot)
{
    if (!slot->is_fat)
        return fat_device_write(vol, slot->sector, 1, slot->data);
    for (uint32_t copy = 0; copy < vol->fat_count; copy++) {
        int err =
            fat_device_write(vol, slot->sector + (uint64_t)copy * vol->fat_sectors, 1, slot->data);
        if (err)
            return err;
    }
    return 0;
}

/* Writes every dirty sector, phase by phase, in ascending sector order within a phase, with a
 * device flush after each phase that wrote something. */
int fat_cache_flush(struct fat_volume *vol)
{
    fat_forget_fresh(vol); /* what this flush writes is reachable from the disk */
    if (vol->data_unflushed) {
        /* Data before the metadata that makes it reachable. */
        int err = block_io_flush(vol->io);
        if (err)
            return err;
        vol->data_unflushed = false;
    }
    for (uint8_t phase = FAT_PHASE_CHAIN; phase <= FAT_PHASE_DIRECTORY; phase++) {
        bool wrote = false;
        for (;;) {
            struct fat_cache_slot *lowest = NULL;
            for (int i = 0; i < FAT_CACHE_SLOTS; i++) {
                struct fat_cache_slot *slot = &vol->cache[i];
                if (slot->valid && slot->phase == phase &&
                    (!lowest || slot->sector < lowest->sector))
                    lowest = slot;
            }
            if (!lowest)
                break;
            int err = cache_write_slot(vol, lowest);
            if (err)
                return err;
            lowest->phase = FAT_PHASE_CLEAN;
            wrote = true;
        }
        if (wrote) {
            int err = block_io_flush(vol->io);
            if (err)
                return err;
        }
    }
    return 0;
}

/* Valid slots are chained in buckets by sector, so a lookup (a miss above all, which the read
 * ahead makes for every sector it considers) looks at a couple of slots, not all 128. */
static uint16_t *bucket_of(struct fat_volume *vol, uint64_t sector)
{
    return &vol->cache_buckets[sector % FAT_CACHE_BUCKETS];
}

static struct fat_cache_slot *cache_lookup(struct fat_volume *vol, uint64_t sector)
{
    struct fat_cache_slot *recent = &vol->cache[vol->recent_slot];
    if (recent->valid && recent->sector == sector)
        return recent;
    for (uint16_t n = *bucket_of(vol, sector); n; n = vol->cache[n - 1].next_in_bucket) {
        struct fat_cache_slot *slot = &vol->cache[n - 1];
        if (slot->sector == sector) {
            vol->recent_slot = n - 1u;
            return slot;
        }
    }
    return NULL;
}

static void cache_invalidate(struct fat_volume *vol, struct fat_cache_slot *slot)
{
    if (!slot->valid)
        return;
    uint16_t number = (uint16_t)(slot - vol->cache + 1);
    uint16_t *link = bucket_of(vol, slot->sector);
    while (*link && *link != number)
        link = &vol->cache[*link - 1].next_in_bucket;
    if (*link) /* always: a valid slot is in its sector's bucket */
        *link = slot->next_in_bucket;
    slot->valid = false;
}

/* The least recently used slot, made clean first.  A slot gets its buffer when first used:
 * most mounts touch a few dozen sectors, and a mount allocates nothing it does not use. */
static int cache_victim(struct fat_volume *vol, struct fat_cache_slot **out)
{
    struct fat_cache_slot *victim = NULL;
    for (int i = 0; i < FAT_CACHE_SLOTS; i++) {
        struct fat_cache_slot *slot = &vol->cache[i];
        if (!slot->valid) {
            victim = slot;
            break;
        }
        if (!victim || slot->last_use < victim->last_use)
            victim = slot;
    }
    if (victim->valid && victim->phase != FAT_PHASE_CLEAN) {
        /* Evicting one dirty sector alone could break the write order: flush them all. */
        int err = fat_cache_flush(vol);
        if (err)
            return err;
    }
    cache_invalidate(vol, victim);
    if (!victim->data && !(victim->data = kmalloc(vol->sector_size)))
        return -ENOMEM;
    *out = victim;
    return 0;
}

static void cache_fill(struct fat_volume *vol, struct fat_cache_slot *slot, uint64_t sector,
                       bool is_fat)
{
    slot->valid = true;
    slot->sector = sector;
    uint16_t *bucket = bucket_of(vol, sector);
    slot->next_in_bucket = *bucket;
    *bucket = (uint16_t)(slot - vol->cache + 1);
    slot->is_fat = is_fat;
    slot->phase = FAT_PHASE_CLEAN;
    slot->last_use = ++vol->use_counter;
    vol->recent_slot = (unsigned)(slot - vol->cache);
}

/* A cached sector; on a miss up to ahead - 1 following uncached sectors are read in the same
 * device request (a directory's cluster, a stretch of the FAT). */
int fat_cache_get_ahead(struct fat_volume *vol, uint64_t sector, bool is_fat, uint32_t ahead,
                        uint8_t **data)
{
    struct fat_cache_slot *slot = cache_lookup(vol, sector);
    if (slot) {
        slot->last_use = ++vol->use_counter;
        *data = slot->data;
        return 0;
    }
    uint32_t count = 1;
    ahead = MIN(ahead, (uint32_t)FAT_READ_AHEAD);
    while (count < ahead && sector + count < vol->device_sectors &&
           !cache_lookup(vol, sector + count))
        count++;
    int err;
    if (count > 1) {
        err = fat_device_read(vol, sector, count, vol->read_ahead);
        if (err)
            return err;
        for (uint32_t i = count - 1; i >= 1; i--) {
            if ((err = cache_victim(vol, &slot)))
                return err;
            memcpy(slot->data, vol->read_ahead + (size_t)i * vol->sector_size, vol->sector_size);
            cache_fill(vol, slot, sector + i, is_fat);
        }
        if ((err = cache_victim(vol, &slot)))
            return err;
        memcpy(slot->data, vol->read_ahead, vol->sector_size);
    } else {
        if ((err = cache_victim(vol, &slot)))
            return err;
        if ((err = fat_device_read(vol, sector, 1, slot->data)))
            return err;
    }
    cache_fill(vol, slot, sector, is_fat);
    *data = slot->data;
    return 0;
}

int fat_cache_install(struct fat_volume *vol, uint64_t sector, bool is_fat, const uint8_t *data)
{
    if (cache_lookup(vol, sector))
        return 0;
    struct fat_cache_slot *slot;
    int err = cache_victim(vol, &slot);
    if (err)
        return err;
    memcpy(slot->data, data, vol->sector_size);
    cache_fill(vol, slot, sector, is_fat);
    return 0;
}

int fat_cache_get(struct fat_volume *vol, uint64_t sector, bool is_fat, uint8_t **data)
{
    return fat_cache_get_ahead(vol, sector, is_fat, 1, data);
}

bool fat_cache_has_phase(const struct fat_volume *vol, uint8_t phase)
{
    for (int i = 0; i < FAT_CACHE_SLOTS; i++)
        if (vol->cache[i].valid && vol->cache[i].phase == phase)
            return true;
    return false;
}

void fat_cache_mark(struct fat_volume *vol, uint64_t sector, uint8_t phase)
{
    struct fat_cache_slot *slot = cache_lookup(vol, sector);
    if (slot && slot->phase < phase)
        slot->phase = phase;
}

/* Forgets cached sectors of clusters being freed or rewritten directly: their contents no
 * longer matter and a stale dirty copy must never be written over new data. */
void fat_cache_drop_range(struct fat_volume *vol, uint64_t sector, uint64_t count)
{
    for (int i = 0; i < FAT_CACHE_SLOTS; i++) {
        struct fat_cache_slot *slot = &vol->cache[i];
        if (slot->valid && !slot->is_fat && slot->sector >= sector && slot->sector - sector < count)
            cache_invalidate(vol, slot);
    }
}

void fat_cache_release(struct fat_volume *vol)
{
    kfree(vol->read_ahead);
    vol->read_ahead = NULL;
    for (int i = 0; i < FAT_CACHE_SLOTS; i++) {
        kfree(vol->cache[i].data);
        vol->cache[i].data = NULL;
        vol->cache[i].valid = false;
    }
    memset(vol->cache_buckets, 0, sizeof(vol->cache_buckets));
}

static uint32_t fat1_clean_bit(const struct fat_volume *vol)
{
    return vol->type == 32 ? 0x08000000u : vol->type == 16 ? 0x8000u : 0;
}

static int set_boot_dirty(struct fat_volume *vol, bool dirty)
{
    uint32_t offset = vol->type == 32 ? 65 : 37;
    if (dirty)
        vol->boot_sector[offset] |= 1;
    else
        vol->boot_sector[offset] &= (uint8_t)~1;
    return fat_device_write(vol, 0, 1, vol->boot_sector);
}

static int set_fat1_clean(struct fat_volume *vol, bool clean)
{
    uint32_t bit = fat1_clean_bit(vol);
    if (!bit)
        return 0;
    uint32_t value;
    int err = fat_get_entry(vol, 1, &value);
    if (err)
        return err;
    value = clean ? value | bit : value & ~bit;
    return fat_set_entry(vol, 1, value, FAT_PHASE_CHAIN);
}

/* FSInfo says "free count unknown" while we are mounted dirty: fsck accepts that, whereas a
 * count that a power cut left stale would be an error. */
static int write_fsinfo(struct fat_volume *vol, bool exact)
{
    if (!vol->fsinfo_sector)
        return 0;
    uint8_t *data;
    int err = fat_cache_get(vol, vol->fsinfo_sector, false, &data);
    if (err)
        return err;
    uint32_t free_count = exact && vol->free_count_known ? vol->free_count : 0xffffffffu;
    put_le32(data + 488, free_count);
    put_le32(data + 492, vol->next_free >= FAT_CLUSTER_FIRST ? vol->next_free : 0xffffffffu);
    fat_cache_mark(vol, vol->fsinfo_sector, FAT_PHASE_DIRECTORY);
    return 0;
}

/* Before the first change: the dirty bits (and an "unknown" FSInfo count) reach the disk. */
int fat_mark_dirty(struct fat_volume *vol)
{
    if (vol->read_only)
        return -EROFS;
    if (vol->marked_dirty)
        return 0;
    /* The FSInfo count on disk may lie: forget it.  The exact count is made when something
     * asks (statfs) or at unmount, not here: counting reads the whole FAT (1 MiB on a 128 MiB
     * volume of 512-byte clusters), which would make every mount's first write slow. */
    vol->free_count_known = false;
    int err = set_boot_dirty(vol, true);
    if (!err)
        err = set_fat1_clean(vol, false);
    if (!err)
        err = write_fsinfo(vol, false);
    if (!err)
        err = fat_cache_flush(vol);
    if (!err)
        vol->marked_dirty = true;
    return err;
}

int fat_volume_sync(struct fat_volume *vol)
{
    if (vol->read_only)
        return 0;
    int err = fat_cache_flush(vol);
    if (!err)
        err = block_io_flush(vol->io);
    return err;
}

/* Clean shutdown: everything flushed, then FSInfo and the clean bits, then a final flush. */
int fat_mark_clean(struct fat_volume *vol)
{
    if (vol->read_only || !vol->marked_dirty)
        return 0;
    int err = fat_cache_flush(vol);
    if (!err && !vol->free_count_known)
        err = fat_count_free(vol);
    if (!err)
        err = write_fsinfo(vol, true);
    if (!err)
        err = set_fat1_clean(vol, true);
    if (!err)
        err = fat_cache_flush(vol);
    if (!err)
        err = set_boot_dirty(vol, false);
    if (!err)
        err = block_io_flush(vol->io);
    if (!err)
        vol->marked_dirty = false;
    return err;
}

static uint16_t clamp_field(unsigned value, unsigned low, unsigned high)
{
    return (uint16_t)(value < low ? low : value > high ? high : value);
}

void fat_now(struct fat_volume *vol, uint16_t *date, uint16_t *time)
{
    struct fat_time t = {1980, 1, 1, 0, 0, 0};
    if (vol->clock.now)
        vol->clock.now(vol->clock.context, &t);
    unsigned year = clamp_field(t.year, 1980, 2107) - 1980;
    *date = (uint16_t)(year << 9 | clamp_field(t.month, 1, 12) << 5 | clamp_field(t.day, 1, 31));
    *time = (uint16_t)(clamp_field(t.hour, 0, 23) << 11 | clamp_field(t.minute, 0, 59) << 5 |
                       clamp_field(t.second, 0, 59) / 2);
}
