/* Repair: what fsck.fat -a repairs, done through the library's ordered writes so that a cut
 * during a repair leaves a volume that another repair fixes (docs/FAT.md, "Repair").
 *
 * 1. The mount settles an interrupted rename (intent.c) and the dirty bits are set.
 * 2. The tree is walked from the root; every chain is claimed: a chain that runs into a free
 *    or bad cluster, leaves the volume, loops, or runs into a chain claimed before (a
 *    cross-link: the first owner keeps it, as fsck.fat keeps it) ends at its last good
 *    cluster; a size beyond the chain is cut to the chain, a chain longer than the size is
 *    cut to the size; an entry whose first cluster is unusable loses its clusters (a file
 *    becomes empty, a directory entry is deleted); wrong "." and ".." are rewritten;
 *    invalid 8.3 names and duplicate 8.3 names are renamed FSCKnnnn.nnn as fsck.fat names
 *    them; long-name slots that belong to no entry are deleted; "." and ".." elsewhere than
 *    a subdirectory's first two slots are deleted.  Made durable.
 * 3. Clusters allocated but claimed by nothing are freed; FAT[0] gets the media byte.
 *    Made durable.
 * 4. Every FAT copy is made equal to the first; the boot sector's label follows the root's
 *    label entry; an FSInfo sector with bad signatures is rewritten; FAT32's backup boot
 *    sector is made equal to the boot sector; the unmount writes the exact FSInfo count and
 *    clears the dirty bits.
 * Files nothing is wrong with are never written. */
#define pr_fmt(fmt) "fat: " fmt

#include <rayos/bytes.h>
#include <rayos/errno.h>
#include <rayos/heap.h>
#include <rayos/printk.h>
#include <rayos/string.h>

#include "fat_internal.h"

struct repairer {
    struct fat_volume *vol;
    void (*report)(void *context, const char *message);
    void *context;
    unsigned fixes;
    uint8_t *owned;                /* bitmap: cluster claimed by some entry */
    struct fat_cluster_list queue; /* directories to walk */
    struct fat_name_set names;     /* of the directory being walked */
    uint32_t fsck_number;
};

static void fixed(struct repairer *rp, const char *fmt, ...) __printf(2, 3);
static void fixed(struct repairer *rp, const char *fmt, ...)
{
    rp->fixes++;
    if (!rp->report)
        return;
    char line[200];
    va_list args;
    va_start(args, fmt);
    int n = snprintf(line, sizeof(line), "fixed: ");
    vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, args);
    va_end(args);
    rp->report(rp->context, line);
}

static bool owned(const struct repairer *rp, uint32_t cluster)
{
    uint32_t bit = cluster - FAT_CLUSTER_FIRST;
    return rp->owned[bit / 8] & (1 << (bit % 8));
}

static void set_owned(struct repairer *rp, uint32_t cluster, bool on)
{
    uint32_t bit = cluster - FAT_CLUSTER_FIRST;
    if (on)
        rp->owned[bit / 8] |= (uint8_t)(1 << (bit % 8));
    else
        rp->owned[bit / 8] &= (uint8_t) ~(1 << (bit % 8));
}

/* A FAT entry changed by the repair: the dirty bits go first, as for every change. */
static int set_fat(struct fat_volume *vol, uint32_t cluster, uint32_t value)
{
    int err = fat_mark_dirty(vol);
    return err ? err : fat_set_entry(vol, cluster, value, FAT_PHASE_CHAIN);
}

/* A cluster a chain may go on to: in the volume, not claimed yet, not marked free. */
static int cluster_usable(struct repairer *rp, uint32_t cluster)
{
    if (!fat_cluster_valid(rp->vol, cluster) || owned(rp, cluster))
        return 0;
    uint32_t value;
    int err = fat_get_entry(rp->vol, cluster, &value);
    return err ? err : value != 0;
}

/* Claims the chain from first, ending it at its last good cluster where it is damaged.
 * Returns the clusters claimed (0: first itself is unusable or already claimed). */
static int claim_chain(struct repairer *rp, const char *name, uint32_t first, uint32_t *length)
{
    struct fat_volume *vol = rp->vol;
    *length = 0;
    int usable = cluster_usable(rp, first);
    if (usable <= 0)
        return usable;
    uint32_t c = first;
    for (;;) {
        set_owned(rp, c, true);
        (*length)++;
        uint32_t value;
        int err = fat_get_entry(vol, c, &value);
        if (err)
            return err;
        int kind = fat_classify(vol, value);
        if (kind == FAT_LINK_END)
            return 0;
        if (kind == FAT_LINK_NEXT) {
            usable = cluster_usable(rp, value);
            if (usable < 0)
                return usable;
            if (usable) {
                c = value;
                continue;
            }
            /* a cluster whose own entry is free is no part of a chain (as for fsck.fat) */
            if (!owned(rp, value))
                kind = FAT_LINK_FREE;
        }
        fixed(rp, "%s: chain ended at cluster %u (it went on to %s)", name, c,
              kind == FAT_LINK_NEXT   ? "a cluster already in use (a loop or cross-link)"
              : kind == FAT_LINK_FREE ? "a free cluster"
              : kind == FAT_LINK_BAD  ? "a bad cluster"
                                      : "outside the volume");
        return set_fat(vol, c, fat_end_of_chain(vol));
    }
}

/* Keeps the first keep clusters of a claimed chain (keep >= 1) and gives the rest up; they
 * are freed with the lost clusters. */
static int trim_chain(struct repairer *rp, uint32_t first, uint32_t keep, uint32_t length)
{
    struct fat_volume *vol = rp->vol;
    uint32_t c = first;
    for (uint32_t i = 1; i < keep; i++)
        if (fat_next_cluster(vol, c, &c) != 1)
            return -EUCLEAN;
    uint32_t next;
    int r = fat_next_cluster(vol, c, &next);
    if (r < 0)
        return r;
    int err = set_fat(vol, c, fat_end_of_chain(vol));
    for (uint32_t i = keep; !err && r == 1 && i < length; i++) {
        set_owned(rp, next, false);
        c = next;
        r = fat_next_cluster(vol, c, &next);
        if (r < 0)
            err = r;
    }
    return err;
}

static void release_chain(struct repairer *rp, uint32_t first, uint32_t length)
{
    uint32_t c = first;
    for (uint32_t i = 0; i < length; i++) {
        set_owned(rp, c, false);
        if (fat_next_cluster(rp->vol, c, &c) != 1)
            break;
    }
}

/* Marks slots [first, last] deleted when they hold something. */
static int delete_slots(struct repairer *rp, struct fat_dir_cursor *cursor, uint32_t first,
                        uint32_t last, bool only_long_names)
{
    for (uint32_t index = first; index <= last && index >= first; index++) {
        uint64_t sector;
        uint32_t offset;
        uint8_t *data;
        int err = fat_dir_slot(rp->vol, cursor, index, &sector, &offset);
        if (!err)
            err = fat_cache_get(rp->vol, sector, false, &data);
        if (err)
            return err;
        uint8_t raw[32];
        memcpy(raw, data + offset, sizeof(raw));
        if (raw[0] == 0 || raw[0] == FAT_ENTRY_DELETED)
            continue;
        if (only_long_names && (raw[11] & 0x3f) != FAT_ATTR_LONG_NAME)
            continue;
        raw[0] = FAT_ENTRY_DELETED;
        if ((err = fat_write_entry(rp->vol, sector, offset, raw)))
            return err;
    }
    return 0;
}

/* Gives an entry fsck.fat's kind of name, FSCKnnnn.nnn, unique in its directory; its long
 * name, which no longer matches, goes. */
static int rename_entry(struct repairer *rp, struct fat_dir_cursor *cursor,
                        struct fat_entry_info *e, const char *why)
{
    uint8_t name[11];
    for (;;) {
        uint32_t n = rp->fsck_number++;
        char text[12];
        snprintf(text, sizeof(text), "FSCK%04u%03u", (n / 1000) % 10000, n % 1000);
        memcpy(name, text, 11);
        int r = fat_names_add_short(&rp->names, name);
        if (r < 0)
            return r;
        if (r == 0)
            break;
    }
    char shown[16];
    fat_short_to_string(e->raw, false, shown, sizeof(shown));
    fixed(rp, "%s: %s, renamed to %.8s.%.3s", e->name, why, (const char *)name,
          (const char *)name + 8);
    int err = 0;
    if (e->first_index < e->index)
        err = delete_slots(rp, cursor, e->first_index, e->index - 1, true);
    memcpy(e->raw, name, 11);
    e->raw[12] &= (uint8_t) ~(FAT_NT_LOWER_BASE | FAT_NT_LOWER_EXT | FAT_NO_SHORT_NAME);
    return err ? err : fat_write_entry(rp->vol, e->sector, e->offset, e->raw);
}

static int repair_file(struct repairer *rp, struct fat_entry_info *e)
{
    struct fat_volume *vol = rp->vol;
    uint32_t cluster = fat_entry_cluster(vol, e->raw);
    uint32_t size = get_le32(e->raw + 28);
    uint32_t length = 0;
    if (cluster) {
        int err = claim_chain(rp, e->name, cluster, &length);
        if (err)
            return err;
    }
    uint64_t needed = DIV_ROUND_UP((uint64_t)size, vol->cluster_size);
    uint32_t new_size = size, new_cluster = cluster;
    if (cluster && length == 0) {
        fixed(rp, "%s: first cluster %u is %s; the file is now empty", e->name, cluster,
              fat_cluster_valid(vol, cluster) ? "in use by another entry" : "outside the volume");
        new_cluster = 0;
        new_size = 0;
    } else if (length < needed) {
        new_size = length * vol->cluster_size;
        fixed(rp, "%s: size %u cut to %u, what its chain holds", e->name, size, new_size);
    } else if (length > needed) {
        fixed(rp, "%s: chain of %u clusters cut to the %llu its size %u needs", e->name, length,
              (unsigned long long)needed, size);
        if (needed == 0) {
            release_chain(rp, cluster, length);
            new_cluster = 0;
        } else {
            int err = trim_chain(rp, cluster, (uint32_t)needed, length);
            if (err)
                return err;
        }
    }
    if (new_size == size && new_cluster == cluster)
        return 0;
    put_le32(e->raw + 28, new_size);
    fat_entry_set_cluster(e->raw, new_cluster);
    return fat_write_entry(vol, e->sector, e->offset, e->raw);
}

/* Copies a slot to the first free one after the first two (keeping an end marker after it),
 * made durable before the caller overwrites the original. */
static int move_down(struct repairer *rp, struct fat_dir_cursor *cursor, const uint8_t raw[32])
{
    struct fat_volume *vol = rp->vol;
    for (uint32_t index = 2;; index++) {
        uint64_t sector;
        uint32_t offset;
        uint8_t *data;
        int err = fat_dir_slot(vol, cursor, index, &sector, &offset);
        if (!err)
            err = fat_cache_get(vol, sector, false, &data);
        if (err)
            return err == -ENOENT ? -ENOSPC : err;
        uint8_t first = data[offset];
        if (first != 0 && first != FAT_ENTRY_DELETED)
            continue;
        if (first == 0) {
            uint64_t next_sector;
            uint32_t next_offset;
            uint8_t *next;
            if (fat_dir_slot(vol, cursor, index + 1, &next_sector, &next_offset) == 0 &&
                fat_cache_get(vol, next_sector, false, &next) == 0 && next[next_offset] != 0) {
                uint8_t end[32] = {0};
                if ((err = fat_write_entry(vol, next_sector, next_offset, end)))
                    return err;
            }
        }
        fixed(rp, "entry moved from the slot of '.' or '..' to slot %u", index);
        err = fat_write_entry(vol, sector, offset, raw);
        return err ? err : fat_volume_sync(vol);
    }
}

/* A subdirectory's "." and "..": rewritten when they name the wrong cluster. */
static int repair_dots(struct repairer *rp, const char *name, uint32_t dir, uint32_t parent)
{
    struct fat_volume *vol = rp->vol;
    struct fat_dir_cursor cursor;
    fat_cursor_init(vol, &cursor, dir);
    for (uint32_t index = 0; index < 2; index++) {
        uint64_t sector;
        uint32_t offset;
        uint8_t *data;
        int err = fat_dir_slot(vol, &cursor, index, &sector, &offset);
        if (!err)
            err = fat_cache_get(vol, sector, false, &data);
        if (err)
            return err == -ENOENT ? 0 : err;
        uint8_t raw[32];
        memcpy(raw, data + offset, sizeof(raw));
        const char *want = index == 0 ? ".          " : "..         ";
        uint32_t target = index == 0 ? dir : parent == fat_root_cluster(vol) ? 0 : parent;
        if (memcmp(raw, want, 11) == 0 && (raw[11] & FAT_ATTR_DIRECTORY) &&
            fat_entry_cluster(vol, raw) == target)
            continue;
        if (raw[0] != 0 && raw[0] != FAT_ENTRY_DELETED && memcmp(raw, want, 11) != 0) {
            /* another entry holds the slot: it moves down, as fsck.fat moves it */
            if ((err = move_down(rp, &cursor, raw)))
                return err == -ENOSPC ? 0 : err;
        }
        fixed(rp, "%s: '%s' entry rewritten", name, index ? ".." : ".");
        memset(raw, 0, sizeof(raw));
        memcpy(raw, want, 11);
        raw[11] = FAT_ATTR_DIRECTORY;
        fat_entry_set_cluster(raw, target);
        if ((err = fat_write_entry(vol, sector, offset, raw)))
            return err;
    }
    return 0;
}

static int repair_subdirectory(struct repairer *rp, struct fat_dir_cursor *cursor,
                               struct fat_entry_info *e, uint32_t parent)
{
    struct fat_volume *vol = rp->vol;
    uint32_t cluster = fat_entry_cluster(vol, e->raw);
    uint32_t length = 0;
    int err = 0;
    if (cluster != 0 && cluster != fat_root_cluster(vol))
        err = claim_chain(rp, e->name, cluster, &length);
    if (err)
        return err;
    if (length == 0) {
        fixed(rp, "%s: directory without a usable cluster of its own deleted", e->name);
        return delete_slots(rp, cursor, e->first_index, e->index, false);
    }
    if (get_le32(e->raw + 28) != 0) {
        fixed(rp, "%s: directory size set to 0", e->name);
        put_le32(e->raw + 28, 0);
        if ((err = fat_write_entry(vol, e->sector, e->offset, e->raw)))
            return err;
    }
    err = repair_dots(rp, e->name, cluster, parent);
    return err ? err : fat_cluster_list_push(&rp->queue, cluster);
}

static int repair_entry(struct repairer *rp, struct fat_dir_cursor *cursor, uint32_t dir,
                        struct fat_entry_info *e)
{
    struct fat_volume *vol = rp->vol;
    if (fat_is_dot_entry(e->raw)) {
        if (dir != 0 && dir != fat_root_cluster(vol) && e->index < 2)
            return 0;
        fixed(rp, "'%s' entry where none belongs deleted", e->raw[1] == '.' ? ".." : ".");
        return delete_slots(rp, cursor, e->first_index, e->index, false);
    }
    int err = 0;
    if (!fat_entry_name_fsck_valid(e)) {
        err = rename_entry(rp, cursor, e, "invalid 8.3 name");
    } else {
        int r = fat_names_note(&rp->names, e);
        if (r < 0)
            return r;
        if (r == 1)
            err = rename_entry(rp, cursor, e, "duplicate 8.3 name");
        if (r == 2) {
            /* the same long name twice: the second goes by its (unique) 8.3 name */
            char shown[16];
            fat_short_to_string(e->raw, true, shown, sizeof(shown));
            fixed(rp, "%s: duplicate long name removed; the entry is now %s", e->name, shown);
            err = delete_slots(rp, cursor, e->first_index, e->index - 1, true);
        }
    }
    if (err)
        return err;
    if (e->raw[11] & FAT_ATTR_DIRECTORY)
        return repair_subdirectory(rp, cursor, e, dir == 0 ? fat_root_cluster(vol) : dir);
    return repair_file(rp, e);
}

static int repair_directory(struct repairer *rp, uint32_t dir)
{
    struct fat_volume *vol = rp->vol;
    struct fat_entry_info *e = kmalloc(sizeof(*e));
    if (!e)
        return -ENOMEM;
    fat_names_clear(&rp->names);
    struct fat_dir_cursor cursor;
    fat_cursor_init(vol, &cursor, dir);
    uint32_t position = 0, covered = 0; /* slots before covered belong to an entry */
    int err = 0;
    for (;;) {
        int r = fat_dir_next(vol, &cursor, &position, e);
        if (r < 0 && r != -EUCLEAN && r != -EIO)
            err = r; /* a damaged chain ends the walk; claim_chain has ended it there */
        if (r <= 0)
            break;
        /* long-name slots before this entry's own run belong to nobody */
        if (e->first_index > covered &&
            (err = delete_slots(rp, &cursor, covered, e->first_index - 1, true)))
            break;
        covered = e->index + 1;
        if ((err = repair_entry(rp, &cursor, dir, e)))
            break;
    }
    if (!err && position > covered)
        err = delete_slots(rp, &cursor, covered, position - 1, true);
    kfree(e);
    return err;
}

/* Clusters allocated but claimed by nothing are freed (fsck.fat -a frees them too). */
static int free_lost(struct repairer *rp)
{
    struct fat_volume *vol = rp->vol;
    uint32_t lost = 0;
    for (uint32_t c = FAT_CLUSTER_FIRST; c - FAT_CLUSTER_FIRST < vol->cluster_count; c++) {
        uint32_t value;
        int err = fat_get_entry(vol, c, &value);
        if (err)
            return err;
        if (value == 0 || owned(rp, c) || fat_classify(vol, value) == FAT_LINK_BAD)
            continue;
        if ((err = set_fat(vol, c, 0)))
            return err;
        lost++;
    }
    if (lost) {
        fixed(rp, "%u lost clusters freed", lost);
        vol->free_count_known = false;
    }
    uint32_t media, want = vol->boot_sector[21] | (fat_end_of_chain(vol) & ~0xffu);
    int err = fat_get_entry(vol, 0, &media);
    if (!err && media != want) {
        fixed(rp, "FAT[0] set to the media byte 0x%x", vol->boot_sector[21]);
        err = set_fat(vol, 0, want);
    }
    return err;
}

/* Every FAT copy made equal to the first, sector by sector where they differ. */
static int align_fat_copies(struct repairer *rp)
{
    struct fat_volume *vol = rp->vol;
    uint8_t *a = kmalloc(vol->sector_size), *b = kmalloc(vol->sector_size);
    int err = a && b ? 0 : -ENOMEM;
    for (uint32_t copy = 1; !err && copy < vol->fat_count; copy++) {
        uint32_t differing = 0;
        for (uint32_t s = 0; !err && s < vol->fat_sectors; s++) {
            uint64_t other = vol->fat_start + (uint64_t)copy * vol->fat_sectors + s;
            err = fat_device_read(vol, vol->fat_start + s, 1, a);
            if (!err)
                err = fat_device_read(vol, other, 1, b);
            if (!err && memcmp(a, b, vol->sector_size) != 0) {
                differing++;
                err = fat_device_write(vol, other, 1, a);
            }
        }
        if (differing)
            fixed(rp, "FAT copy %u made equal to the first (%u sectors)", copy + 1, differing);
    }
    kfree(a);
    kfree(b);
    return err ? err : block_io_flush(vol->io);
}

/* The boot sector's label follows the root directory's label entry, as fsck.fat -a does. */
static int repair_label(struct repairer *rp)
{
    struct fat_volume *vol = rp->vol;
    uint8_t raw[32];
    uint64_t sector;
    uint32_t offset;
    int found = fat_find_label_entry(vol, raw, &sector, &offset);
    if (found < 0 || !vol->has_boot_label)
        return found < 0 ? found : 0;
    uint8_t none[11];
    memset(none, ' ', sizeof(none));
    memcpy(none, "NO NAME", 7);
    const uint8_t *want = found && memcmp(raw, "           ", 11) != 0 ? raw : none;
    bool boot_none = memcmp(vol->boot_label, "           ", 11) == 0;
    if (memcmp(vol->boot_label, want, 11) == 0 || (want == none && boot_none))
        return 0;
    char text[FAT_LABEL_MAX];
    fat_label_to_string(want, text, sizeof(text));
    fixed(rp, "boot sector label set to \"%s\" (the root directory's)", text);
    return fat_write_boot_label(vol, want);
}

/* An FSInfo sector with bad signatures, where the boot sector says FSInfo is, is rewritten;
 * the unmount then writes the exact count into it. */
static int repair_fsinfo(struct repairer *rp)
{
    struct fat_volume *vol = rp->vol;
    uint32_t sector = get_le16(vol->boot_sector + 48);
    if (vol->type != 32 || !vol->fsinfo_bad || sector == 0 || sector >= vol->reserved_sectors ||
        sector == vol->backup_boot_sector)
        return 0;
    uint8_t *data = kzalloc(vol->sector_size);
    if (!data)
        return -ENOMEM;
    put_le32(data, 0x41615252);
    put_le32(data + 484, 0x61417272);
    put_le32(data + 488, 0xffffffffu);
    put_le32(data + 492, 0xffffffffu);
    put_le32(data + 508, 0xaa550000);
    int err = fat_device_write(vol, sector, 1, data);
    kfree(data);
    if (err)
        return err;
    fixed(rp, "FSInfo sector %u rewritten", sector);
    vol->fsinfo_sector = sector;
    vol->fsinfo_bad = false;
    return 0;
}

/* FAT32's backup boot sector made equal to the boot sector (as the clean unmount leaves it:
 * without the dirty bit). */
static int repair_backup_boot(struct repairer *rp)
{
    struct fat_volume *vol = rp->vol;
    uint32_t backup = vol->backup_boot_sector;
    if (vol->type != 32 || !backup || backup >= vol->reserved_sectors)
        return 0;
    uint8_t *data = kmalloc(vol->sector_size), *want = kmalloc(vol->sector_size);
    int err = data && want ? fat_device_read(vol, backup, 1, data) : -ENOMEM;
    if (!err) {
        memcpy(want, vol->boot_sector, vol->sector_size);
        want[65] &= (uint8_t)~1;
        if (memcmp(data, want, vol->sector_size) != 0) {
            fixed(rp, "backup boot sector %u made equal to the boot sector", backup);
            err = fat_device_write(vol, backup, 1, want);
        }
    }
    kfree(data);
    kfree(want);
    return err;
}

/* A free count in FSInfo that is not the real one: marking the volume dirty makes the unmount
 * write the exact count (fsck.fat accepts "unknown", 0xFFFFFFFF, and so is that left). */
static int repair_free_count(struct repairer *rp)
{
    struct fat_volume *vol = rp->vol;
    if (!vol->fsinfo_sector || vol->marked_dirty)
        return 0;
    bool known = vol->free_count_known;
    uint32_t hint = vol->free_count;
    int err = fat_count_free(vol);
    if (err || !known || hint == vol->free_count)
        return err;
    fixed(rp, "FSInfo free count %u set to %u", hint, vol->free_count);
    return fat_mark_dirty(vol);
}

static int repair_volume(struct repairer *rp)
{
    struct fat_volume *vol = rp->vol;
    if (vol->move_outcome != FAT_MOVE_NONE)
        fixed(rp, "an interrupted rename was %s",
              vol->move_outcome == FAT_MOVE_COMPLETED ? "completed"
              : vol->move_outcome == FAT_MOVE_UNDONE  ? "undone"
                                                      : "discarded");
    int err = 0;
    if (vol->was_dirty) {
        fixed(rp, "dirty bits cleared");
        err = fat_mark_dirty(vol); /* the unmount clears them */
    }
    if (!err && vol->type == 32) {
        uint32_t length;
        err = claim_chain(rp, "root directory", vol->root_cluster, &length);
        if (!err && length == 0)
            err = -EUCLEAN; /* a FAT32 root that cannot be claimed: beyond repair here */
    }
    if (!err)
        err = fat_cluster_list_push(&rp->queue, 0);
    for (uint32_t i = 0; !err && i < rp->queue.length; i++)
        err = repair_directory(rp, rp->queue.items[i]);
    /* entries first: a cut before the FAT changes leaves only lost clusters */
    if (!err)
        err = fat_volume_sync(vol);
    if (!err)
        err = free_lost(rp);
    if (!err)
        err = fat_volume_sync(vol);
    if (!err)
        err = align_fat_copies(rp);
    if (!err)
        err = repair_label(rp);
    if (!err)
        err = repair_fsinfo(rp);
    if (!err)
        err = repair_backup_boot(rp);
    if (!err)
        err = repair_free_count(rp);
    return err;
}

int fat_repair(const struct block_io *io, void (*report)(void *context, const char *message),
               void *context, unsigned *fixes)
{
    struct repairer rp = {.report = report, .context = context};
    *fixes = 0;
    int err = fat_mount(io, 0, NULL, &rp.vol); /* settles an interrupted rename */
    if (err)
        return err;
    if (rp.vol->truncated) {
        fat_unmount(rp.vol);
        return -EROFS; /* mounted read-only: the volume is larger than its device */
    }
    rp.owned = kzalloc(rp.vol->cluster_count / 8 + 1);
    err = rp.owned ? repair_volume(&rp) : -ENOMEM;
    int unmounted = fat_unmount(rp.vol);
    kfree(rp.owned);
    kfree(rp.queue.items);
    fat_names_clear(&rp.names);
    *fixes = rp.fixes;
    return err ? err : unmounted;
}
