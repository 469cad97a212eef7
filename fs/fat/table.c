/* FAT entries, chain walking, allocation and freeing. */
#define pr_fmt(fmt) "fat: " fmt

#include <rayos/bytes.h>
#include <rayos/errno.h>
#include <rayos/heap.h>
#include <rayos/printk.h>
#include <rayos/string.h>

#include "fat_internal.h"

#define ZERO_CHUNK (64 * 1024)

bool fat_cluster_valid(const struct fat_volume *vol, uint32_t cluster)
{
    return cluster >= FAT_CLUSTER_FIRST && cluster - FAT_CLUSTER_FIRST < vol->cluster_count;
}

uint32_t fat_end_of_chain(const struct fat_volume *vol)
{
    return vol->type == 12 ? 0xfff : vol->type == 16 ? 0xffff : 0x0fffffff;
}

int fat_classify(const struct fat_volume *vol, uint32_t value)
{
    uint32_t bad = vol->type == 12 ? 0xff7 : vol->type == 16 ? 0xfff7 : 0x0ffffff7;
    if (value == 0)
        return FAT_LINK_FREE;
    if (value > bad)
        return FAT_LINK_END;
    if (value == bad)
        return FAT_LINK_BAD;
    if (!fat_cluster_valid(vol, value))
        return FAT_LINK_RANGE;
    return FAT_LINK_NEXT;
}

static uint64_t entry_byte_offset(const struct fat_volume *vol, uint32_t cluster)
{
    if (vol->type == 12)
        return cluster + cluster / 2;
    return (uint64_t)cluster * (vol->type / 8);
}

static bool entry_in_fat(const struct fat_volume *vol, uint32_t cluster)
{
    uint64_t last_byte = entry_byte_offset(vol, cluster) + (vol->type == 32 ? 3 : 1);
    return cluster <= vol->cluster_count + 1 &&
           last_byte < (uint64_t)vol->fat_sectors * vol->sector_size;
}

static int fat_byte_pointer(struct fat_volume *vol, uint64_t byte_offset, uint8_t **out)
{
    uint8_t *data;
    uint64_t index = byte_offset / vol->sector_size;
    uint32_t ahead = (uint32_t)MIN((uint64_t)8, vol->fat_sectors - index);
    int err = fat_cache_get_ahead(vol, vol->fat_start + index, true, ahead, &data);
    if (err)
        return err;
    *out = data + byte_offset % vol->sector_size;
    return 0;
}

/* The entry of cluster from its bytes (both bytes of the pair a FAT12 entry shares). */
static uint32_t decode_entry(const struct fat_volume *vol, uint32_t cluster, const uint8_t *p)
{
    if (vol->type == 12) {
        uint16_t pair = get_le16(p);
        return cluster & 1 ? pair >> 4 : pair & 0xfff;
    }
    return vol->type == 16 ? get_le16(p) : get_le32(p) & 0x0fffffff;
}

int fat_get_entry(struct fat_volume *vol, uint32_t cluster, uint32_t *value)
{
    if (!entry_in_fat(vol, cluster))
        return -EUCLEAN;
    uint64_t offset = entry_byte_offset(vol, cluster);
    uint8_t *p;
    int err;
    if (vol->type == 12) { /* the pair's two bytes may lie in two sectors */
        uint8_t pair[2];
        for (unsigned i = 0; i < 2; i++) {
            if ((err = fat_byte_pointer(vol, offset + i, &p)))
                return err;
            pair[i] = *p;
        }
        *value = decode_entry(vol, cluster, pair);
        return 0;
    }
    if ((err = fat_byte_pointer(vol, offset, &p)))
        return err;
    *value = decode_entry(vol, cluster, p);
    return 0;
}

static int set_byte(struct fat_volume *vol, uint64_t offset, uint8_t value, uint8_t keep_mask,
                    uint8_t phase)
{
    uint8_t *p;
    int err = fat_byte_pointer(vol, offset, &p);
    if (err)
        return err;
    *p = (uint8_t)((*p & keep_mask) | (value & ~keep_mask));
    fat_cache_mark(vol, vol->fat_start + offset / vol->sector_size, phase);
    return 0;
}

int fat_set_entry(struct fat_volume *vol, uint32_t cluster, uint32_t value, uint8_t phase)
{
    if (!entry_in_fat(vol, cluster))
        return -EUCLEAN;
    if (vol->read_only)
        return -EROFS;
    uint64_t offset = entry_byte_offset(vol, cluster);
    int err;
    if (vol->type == 12) {
        value &= 0xfff;
        if (cluster & 1) {
            err = set_byte(vol, offset, (uint8_t)(value << 4), 0x0f, phase);
            if (!err)
                err = set_byte(vol, offset + 1, (uint8_t)(value >> 4), 0, phase);
        } else {
            err = set_byte(vol, offset, (uint8_t)value, 0, phase);
            if (!err)
                err = set_byte(vol, offset + 1, (uint8_t)(value >> 8), 0xf0, phase);
        }
        return err;
    }
    uint8_t *p;
    if ((err = fat_byte_pointer(vol, offset, &p)))
        return err;
    if (vol->type == 16)
        put_le16(p, (uint16_t)value);
    else
        put_le32(p, (get_le32(p) & 0xf0000000u) | (value & 0x0fffffff));
    fat_cache_mark(vol, vol->fat_start + offset / vol->sector_size, phase);
    return 0;
}

int fat_next_cluster(struct fat_volume *vol, uint32_t cluster, uint32_t *next)
{
    uint32_t value;
    int err = fat_get_entry(vol, cluster, &value);
    if (err)
        return err;
    switch (fat_classify(vol, value)) {
    case FAT_LINK_NEXT:
        *next = value;
        return 1;
    case FAT_LINK_END:
        return 0;
    default:
        return -EUCLEAN;
    }
}

/* One cache lookup per FAT sector rather than per entry: on a volume of 65,525 clusters a
 * pass is 128 lookups instead of 65,525 (these passes are most of a mount's and a check's
 * time on a large volume). */
int fat_for_each_entry(struct fat_volume *vol, fat_entry_visit visit, void *context)
{
    uint32_t width = vol->type == 32 ? 4 : 2; /* bytes an entry touches */
    uint32_t end = FAT_CLUSTER_FIRST + vol->cluster_count;
    uint32_t c = FAT_CLUSTER_FIRST;
    while (c < end) {
        uint64_t offset = entry_byte_offset(vol, c);
        uint64_t sector_start = offset - offset % vol->sector_size;
        uint64_t sector_end = sector_start + vol->sector_size;
        uint32_t value;
        int err;
        if (!entry_in_fat(vol, c) || offset + width > sector_end) {
            /* past the FAT's end (the error), or a FAT12 entry across two sectors */
            if ((err = fat_get_entry(vol, c, &value)))
                return err;
            visit(context, c++, value);
            continue;
        }
        uint8_t *p;
        if ((err = fat_byte_pointer(vol, offset, &p)))
            return err;
        const uint8_t *sector = p - (offset - sector_start);
        /* every entry wholly inside this sector, which lies inside the FAT */
        for (; c < end && (offset = entry_byte_offset(vol, c)) + width <= sector_end; c++)
            visit(context, c, decode_entry(vol, c, sector + (offset - sector_start)));
    }
    return 0;
}

static void count_if_free(void *context, uint32_t cluster, uint32_t value)
{
    (void)cluster;
    *(uint32_t *)context += value == 0;
}

int fat_count_free(struct fat_volume *vol)
{
    uint32_t free_count = 0;
    int err = fat_for_each_entry(vol, count_if_free, &free_count);
    if (err)
        return err;
    vol->free_count = free_count;
    vol->free_count_known = true;
    return 0;
}

static uint32_t wrap_cluster(const struct fat_volume *vol, uint64_t cluster)
{
    uint64_t index = (cluster - FAT_CLUSTER_FIRST) % vol->cluster_count;
    return (uint32_t)index + FAT_CLUSTER_FIRST;
}

/* Length of the free run starting at start, capped at limit and at the volume's end. */
static int free_run_length(struct fat_volume *vol, uint32_t start, uint32_t limit, uint32_t *out)
{
    uint32_t length = 0;
    while (length < limit && fat_cluster_valid(vol, start + length)) {
        uint32_t value;
        int err = fat_get_entry(vol, start + length, &value);
        if (err)
            return err;
        if (value != 0)
            break;
        length++;
    }
    *out = length;
    return 0;
}

/* Looks once around the volume, from the hint, for a free run of count clusters. */
static int find_free_run(struct fat_volume *vol, uint32_t count, uint32_t *found)
{
    uint32_t c = fat_cluster_valid(vol, vol->next_free) ? vol->next_free : FAT_CLUSTER_FIRST;
    uint64_t examined = 0;
    while (examined < vol->cluster_count) {
        uint32_t length;
        int err = free_run_length(vol, c, count, &length);
        if (err)
            return err;
        if (length == count) {
            *found = c;
            return 1;
        }
        uint64_t step = length ? length : 1;
        examined += step;
        c = wrap_cluster(vol, (uint64_t)c + step);
    }
    return 0;
}

static int link_run(struct fat_volume *vol, uint32_t start, uint32_t length, uint32_t tail)
{
    for (uint32_t i = 0; i < length; i++) {
        uint32_t value = i + 1 < length ? start + i + 1 : tail;
        int err = fat_set_entry(vol, start + i, value, FAT_PHASE_CHAIN);
        if (err)
            return err;
    }
    return 0;
}

static void account_allocation(struct fat_volume *vol, uint32_t count, uint32_t last)
{
    if (vol->free_count_known)
        vol->free_count = vol->free_count >= count ? vol->free_count - count : 0;
    vol->next_free = wrap_cluster(vol, (uint64_t)last + 1);
}

void fat_forget_fresh(struct fat_volume *vol)
{
    memset(vol->fresh_tails, 0, sizeof(vol->fresh_tails));
}

static uint32_t *fresh_tail_of(struct fat_volume *vol, uint32_t cluster)
{
    for (int i = 0; cluster && i < FAT_FRESH_TAILS; i++)
        if (vol->fresh_tails[i] == cluster)
            return &vol->fresh_tails[i];
    return NULL;
}

/* Allocates count clusters as a new chain and links it after cluster after (0: a new chain).
 * The new chain's entries go out in the CHAIN phase and the link in the LINK phase, so a
 * power cut never leaves an existing chain pointing at an unwritten entry. */
int fat_allocate(struct fat_volume *vol, uint32_t after, uint32_t count, bool contiguous,
                 uint32_t *first)
{
    if (count == 0)
        return -EINVAL;
    int err = fat_mark_dirty(vol);
    if (err)
        return err;
    if (vol->free_count_known && vol->free_count < count)
        return -ENOSPC;
    uint32_t eoc = fat_end_of_chain(vol);
    uint32_t start = 0, last;
    if (after && fat_cluster_valid(vol, after + 1)) {
        uint32_t length;
        if ((err = free_run_length(vol, after + 1, count, &length)))
            return err;
        if (length == count)
            start = after + 1;
    }
    if (!start) {
        err = find_free_run(vol, count, &start);
        if (err < 0)
            return err;
        if (err == 0)
            start = 0;
    }
    if (start) {
        if ((err = link_run(vol, start, count, eoc)))
            return err;
        *first = start;
        last = start + count - 1;
    } else {
        if (contiguous)
            return -ENOSPC;
        /* Fragmented: collect free clusters one by one, each marked end-of-chain at once so
         * the search cannot find it again, then linked from its predecessor. */
        uint32_t previous = 0, got = 0, c = vol->next_free;
        uint64_t examined = 0;
        *first = 0;
        while (got < count && examined < vol->cluster_count) {
            c = fat_cluster_valid(vol, c) ? c : FAT_CLUSTER_FIRST;
            uint32_t value;
            if ((err = fat_get_entry(vol, c, &value)))
                return err;
            if (value == 0) {
                if ((err = fat_set_entry(vol, c, eoc, FAT_PHASE_CHAIN)))
                    return err;
                if (previous && (err = fat_set_entry(vol, previous, c, FAT_PHASE_CHAIN)))
                    return err;
                if (!previous)
                    *first = c;
                previous = c;
                got++;
            }
            c = wrap_cluster(vol, (uint64_t)c + 1);
            examined++;
        }
        if (got < count) {
            if (*first)
                fat_free_chain(vol, *first);
            vol->free_count = 0;
            vol->free_count_known = true;
            return -ENOSPC;
        }
        last = previous;
    }
    account_allocation(vol, count, last);
    uint32_t *fresh = fresh_tail_of(vol, after);
    if (fresh) {
        /* The chain grows again before any flush (a directory growing a cluster per few
         * entries): nothing durable reaches after yet, so the new clusters simply join the
         * new chain, written in the CHAIN phase before whatever link or entry publishes it. */
        err = fat_set_entry(vol, after, *first, FAT_PHASE_CHAIN);
    } else if (after) {
        /* One link at a time: a chain sector of this allocation may hold the previous link's
         * target, and both in one phase would lose the order between them. */
        if (fat_cache_has_phase(vol, FAT_PHASE_LINK) && (err = fat_cache_flush(vol)))
            return err;
        err = fat_set_entry(vol, after, *first, FAT_PHASE_LINK);
    }
    if (err)
        return err;
    if (fresh)
        *fresh = 0; /* noted again as the newest: a growing directory stays in the ring */
    vol->fresh_tails[vol->next_fresh] = last;
    vol->next_fresh = (vol->next_fresh + 1) % FAT_FRESH_TAILS;
    return 0;
}

/* Frees a chain.  Callers make sure no directory entry refers to it any more (durably). */
int fat_free_chain(struct fat_volume *vol, uint32_t first)
{
    fat_forget_fresh(vol); /* one may be in the chain */
    uint32_t c = first;
    for (uint32_t steps = 0; steps < vol->cluster_count && fat_cluster_valid(vol, c); steps++) {
        uint32_t value;
        int err = fat_get_entry(vol, c, &value);
        if (err)
            return err;
        int kind = fat_classify(vol, value);
        if (kind == FAT_LINK_FREE || kind == FAT_LINK_BAD)
            break;
        if ((err = fat_set_entry(vol, c, 0, FAT_PHASE_CHAIN)))
            return err;
        fat_cache_drop_range(vol, fat_cluster_sector(vol, c), vol->sectors_per_cluster);
        if (vol->free_count_known && vol->free_count < vol->cluster_count)
            vol->free_count++;
        if (kind != FAT_LINK_NEXT)
            break;
        c = value;
    }
    return 0;
}

int fat_zero_clusters(struct fat_volume *vol, uint32_t first, uint32_t count)
{
    uint64_t sector = fat_cluster_sector(vol, first);
    uint64_t sectors = (uint64_t)count * vol->sectors_per_cluster;
    uint32_t chunk_sectors = MAX(ZERO_CHUNK / vol->sector_size, 1u);
    uint8_t *zeros = kzalloc((size_t)chunk_sectors * vol->sector_size);
    if (!zeros)
        return -ENOMEM;
    fat_cache_drop_range(vol, sector, sectors);
    int err = 0;
    while (sectors && !err) {
        uint32_t n = (uint32_t)MIN(sectors, (uint64_t)chunk_sectors);
        err = fat_device_write(vol, sector, n, zeros);
        sector += n;
        sectors -= n;
    }
    kfree(zeros);
    return err;
}
