/* Read-only consistency check, in the spirit of fsck.fat -n: it reports and never writes. */
#define pr_fmt(fmt) "fat: " fmt

#include <rayos/bytes.h>
#include <rayos/errno.h>
#include <rayos/heap.h>
#include <rayos/printk.h>
#include <rayos/string.h>

#include "fat_internal.h"

#define COMPARE_CHUNK_SECTORS 32
#define REPORT_LIMIT          200

struct checker {
    struct fat_volume *vol;
    void (*report)(void *context, const char *message);
    void *context;
    struct fat_check_result *result;
    uint8_t *owned;                /* bitmap: cluster belongs to some file or directory */
    struct fat_cluster_list queue; /* directories to walk */
    unsigned reported;
};

static void say(struct checker *ck, bool error, const char *fmt, ...) __printf(3, 4);
static void say(struct checker *ck, bool error, const char *fmt, ...)
{
    if (error)
        ck->result->errors++;
    else
        ck->result->warnings++;
    if (!ck->report || ck->reported++ >= REPORT_LIMIT)
        return;
    char line[200];
    va_list args;
    va_start(args, fmt);
    int n = snprintf(line, sizeof(line), "%s: ", error ? "error" : "warning");
    vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, args);
    va_end(args);
    ck->report(ck->context, line);
}

static bool owned_test_and_set(struct checker *ck, uint32_t cluster)
{
    uint32_t bit = cluster - FAT_CLUSTER_FIRST;
    bool was = ck->owned[bit / 8] & (1 << (bit % 8));
    ck->owned[bit / 8] |= (uint8_t)(1 << (bit % 8));
    return was;
}

/* Whether cluster is among the first length clusters of the chain from first (a loop rather
 * than a cross-link); only walked when a claimed cluster turns up again. */
static bool chain_holds(struct fat_volume *vol, uint32_t first, uint32_t length, uint32_t cluster)
{
    uint32_t c = first;
    for (uint32_t i = 0; i < length; i++) {
        if (c == cluster)
            return true;
        uint32_t value;
        if (fat_get_entry(vol, c, &value) != 0 || fat_classify(vol, value) != FAT_LINK_NEXT)
            return false;
        c = value;
    }
    return false;
}

/* Follows and claims a chain; returns its length, or 0 if the first link is unusable. */
static uint32_t claim_chain(struct checker *ck, const char *name, uint32_t first, bool *damaged)
{
    struct fat_volume *vol = ck->vol;
    *damaged = false;
    if (!fat_cluster_valid(vol, first)) {
        say(ck, true, "%s: first cluster %u is outside the volume", name, first);
        *damaged = true;
        return 0;
    }
    uint32_t length = 0, c = first;
    for (;;) {
        if (owned_test_and_set(ck, c)) {
            if (chain_holds(vol, first, length, c))
                say(ck, true, "%s: circular chain (cluster %u comes back)", name, c);
            else
                say(ck, true, "%s: cluster %u is cross-linked (already in use)", name, c);
            *damaged = true;
            return length;
        }
        length++;
        uint32_t value;
        if (fat_get_entry(vol, c, &value) != 0) {
            *damaged = true;
            return length;
        }
        int kind = fat_classify(vol, value);
        if (kind == FAT_LINK_END)
            return length;
        if (kind != FAT_LINK_NEXT) {
            say(ck, true, "%s: cluster %u links to %s (0x%x)", name, c,
                kind == FAT_LINK_FREE  ? "a free cluster"
                : kind == FAT_LINK_BAD ? "a bad cluster"
                                       : "nowhere",
                value);
            *damaged = true;
            return length;
        }
        c = value;
    }
}

int fat_cluster_list_push(struct fat_cluster_list *list, uint32_t cluster)
{
    if (list->length == list->capacity) {
        uint32_t capacity = list->capacity ? list->capacity * 2 : 64;
        uint32_t *items = krealloc(list->items, capacity * sizeof(*items));
        if (!items)
            return -ENOMEM;
        list->items = items;
        list->capacity = capacity;
    }
    list->items[list->length++] = cluster;
    return 0;
}

/* fsck.fat's rule for 8.3 names (found by trying every byte against it): a first byte that
 * is a space, bytes below 0x20 (but 0x05 first, which stands for 0xE5), 0x7F, and
 * " * . / : < > ? \ | are bad; lower case, other punctuation, inner spaces and OEM bytes are
 * accepted. */
bool fat_short_name_fsck_valid(const uint8_t *raw)
{
    if (raw[0] == ' ')
        return false;
    for (int i = 0; i < 11; i++) {
        uint8_t c = raw[i];
        if ((c < 0x20 && !(i == 0 && c == 0x05)) || c == 0x7f || strchr("\"*./:<>?\\|", c))
            return false;
    }
    return true;
}

/* fsck.fat judges no 8.3 name flagged as a dummy (byte 12 bit 5: Windows without short names,
 * EFS) that has its long name; flagged without one, it is bad. */
bool fat_entry_name_fsck_valid(const struct fat_entry_info *e)
{
    if (e->raw[12] & FAT_NO_SHORT_NAME)
        return e->first_index < e->index;
    return fat_short_name_fsck_valid(e->raw);
}

/* The 11 bytes as "NAME.EXT" with unprintable bytes as \xHH, for reports. */
static const char *shown_short(const uint8_t *raw, char *out, size_t size)
{
    size_t n = 0;
    for (int i = 0; i < 11 && n + 5 < size; i++) {
        if (i == 8)
            out[n++] = '.';
        /* by hand: snprintf here was a third of checking a directory of many bad names */
        static const char hex[] = "0123456789abcdef";
        uint8_t c = raw[i];
        if (c < 0x20 || c >= 0x7f || c == '\\') {
            out[n++] = '\\';
            out[n++] = 'x';
            out[n++] = hex[c >> 4];
            out[n++] = hex[c & 15];
        } else {
            out[n++] = (char)c;
        }
    }
    out[n] = 0;
    return out;
}

static uint64_t hash_bytes(uint64_t hash, const void *data, size_t size)
{
    const uint8_t *p = data;
    for (size_t i = 0; i < size; i++)
        hash = (hash ^ p[i]) * 0x100000001b3ull;
    return hash;
}

/* 1 if the record was already there, 0 if added, or an error. */
static int name_set_add(struct fat_name_set *set, const struct name_record *record);

static int name_set_grow(struct fat_name_set *set)
{
    struct fat_name_set bigger = {.capacity = set->capacity ? set->capacity * 2 : 256};
    bigger.slots = kzalloc(sizeof(*bigger.slots) * bigger.capacity);
    if (!bigger.slots)
        return -ENOMEM;
    for (uint32_t i = 0; i < set->capacity; i++)
        if (set->slots[i].key)
            name_set_add(&bigger, &set->slots[i]);
    kfree(set->slots);
    *set = bigger;
    return 0;
}

static int name_set_add(struct fat_name_set *set, const struct name_record *record)
{
    if ((set->count + 1) * 2 > set->capacity) {
        int err = name_set_grow(set);
        if (err)
            return err;
    }
    uint32_t mask = set->capacity - 1;
    for (uint32_t i = (uint32_t)record->key & mask;; i = (i + 1) & mask) {
        struct name_record *slot = &set->slots[i];
        if (!slot->key) {
            *slot = *record;
            set->count++;
            return 0;
        }
        if (slot->key == record->key && slot->is_long == record->is_long &&
            (record->is_long || memcmp(slot->short_name, record->short_name, 11) == 0))
            return 1;
    }
}

int fat_names_add_short(struct fat_name_set *set, const uint8_t short_name[11])
{
    struct name_record record = {0};
    memcpy(record.short_name, short_name, 11);
    record.key = hash_bytes(0xcbf29ce484222325ull, short_name, 11) | 1;
    return name_set_add(set, &record);
}

int fat_names_note(struct fat_name_set *set, const struct fat_entry_info *e)
{
    int r = fat_names_add_short(set, e->raw);
    if (r != 0 || !e->unit_count)
        return r;
    uint64_t hash = hash_bytes(0xcbf29ce484222325ull, &e->unit_count, sizeof(e->unit_count));
    for (uint16_t i = 0; i < e->unit_count; i++) {
        uint16_t unit = fat_fold_unit(e->units[i]);
        hash = hash_bytes(hash, &unit, sizeof(unit));
    }
    struct name_record record = {.key = hash | 1, .is_long = true};
    r = name_set_add(set, &record);
    return r == 1 ? 2 : r;
}

void fat_names_clear(struct fat_name_set *set)
{
    kfree(set->slots);
    memset(set, 0, sizeof(*set));
}

static void check_dots(struct checker *ck, const char *name, uint32_t dir, uint32_t parent)
{
    struct fat_volume *vol = ck->vol;
    struct fat_dir_cursor cursor;
    fat_cursor_init(vol, &cursor, dir);
    for (uint32_t index = 0; index < 2; index++) {
        uint64_t sector;
        uint32_t offset;
        uint8_t *data;
        if (fat_dir_slot(vol, &cursor, index, &sector, &offset) ||
            fat_cache_get(vol, sector, false, &data))
            return;
        const uint8_t *raw = data + offset;
        const char *want = index == 0 ? ".          " : "..         ";
        uint32_t target = index == 0 ? dir : parent == fat_root_cluster(vol) ? 0 : parent;
        if (memcmp(raw, want, 11) != 0 || !(raw[11] & FAT_ATTR_DIRECTORY))
            say(ck, true, "%s: missing '%s' entry", name, index ? ".." : ".");
        else if (fat_entry_cluster(vol, raw) != target)
            say(ck, true, "%s: '%s' points to cluster %u instead of %u", name, index ? ".." : ".",
                fat_entry_cluster(vol, raw), target);
    }
}

static void check_file(struct checker *ck, const struct fat_entry_info *e, uint32_t cluster)
{
    struct fat_volume *vol = ck->vol;
    uint32_t size = get_le32(e->raw + 28);
    ck->result->files++;
    if (cluster == 0) {
        if (size)
            say(ck, true, "%s: size %u but no clusters", e->name, size);
        return;
    }
    bool damaged;
    uint32_t length = claim_chain(ck, e->name, cluster, &damaged);
    uint64_t needed = DIV_ROUND_UP((uint64_t)size, vol->cluster_size);
    if (length < needed)
        say(ck, true, "%s: size %u needs %llu clusters, chain has %u", e->name, size,
            (unsigned long long)needed, length);
    else if (length > needed && !damaged)
        say(ck, false, "%s: chain of %u clusters is longer than size %u needs", e->name, length,
            size);
}

static int check_directory(struct checker *ck, uint32_t dir)
{
    struct fat_volume *vol = ck->vol;
    struct fat_entry_info *e = kmalloc(sizeof(*e));
    if (!e)
        return -ENOMEM;
    struct fat_dir_cursor cursor;
    fat_cursor_init(vol, &cursor, dir);
    uint32_t position = 0;
    int err = 0;
    struct fat_name_set names = {0};
    char shown[48];
    for (;;) {
        int r = fat_dir_next(vol, &cursor, &position, e);
        if (r < 0) {
            say(ck, true, "directory at cluster %u: unreadable (%d)", dir, r);
            break;
        }
        if (r == 0)
            break;
        if (fat_is_dot_entry(e->raw)) {
            /* only the first two slots of a subdirectory may hold them */
            if (dir == 0 || dir == fat_root_cluster(vol) || e->index >= 2)
                say(ck, true, "invalid 8.3 name \"%s\" (directory at cluster %u, entry %u)",
                    shown_short(e->raw, shown, sizeof(shown)), dir, e->index);
            continue;
        }
        if (!fat_entry_name_fsck_valid(e))
            say(ck, true, "%s: invalid 8.3 name \"%s\" (directory at cluster %u, entry %u)",
                e->name, shown_short(e->raw, shown, sizeof(shown)), dir, e->index);
        if (fat_names_note(&names, e) > 0)
            say(ck, true, "%s: duplicate name in the directory at cluster %u (entry %u)", e->name,
                dir, e->index);
        uint32_t cluster = fat_entry_cluster(vol, e->raw);
        if (!(e->raw[11] & FAT_ATTR_DIRECTORY)) {
            check_file(ck, e, cluster);
            continue;
        }
        ck->result->directories++;
        if (cluster == 0 || cluster == fat_root_cluster(vol)) {
            say(ck, true, "%s: directory without a cluster of its own", e->name);
            continue;
        }
        bool damaged;
        claim_chain(ck, e->name, cluster, &damaged);
        if (damaged)
            continue;
        check_dots(ck, e->name, cluster, dir == 0 ? fat_root_cluster(vol) : dir);
        err = fat_cluster_list_push(&ck->queue, cluster);
        if (err)
            break;
    }
    fat_names_clear(&names);
    kfree(e);
    return err;
}

static void compare_fats(struct checker *ck)
{
    struct fat_volume *vol = ck->vol;
    size_t bytes = (size_t)COMPARE_CHUNK_SECTORS * vol->sector_size;
    uint8_t *a = kmalloc(bytes), *b = kmalloc(bytes);
    if (!a || !b)
        goto out;
    for (uint32_t copy = 1; copy < vol->fat_count; copy++) {
        uint32_t differing = 0;
        for (uint32_t s = 0; s < vol->fat_sectors; s += COMPARE_CHUNK_SECTORS) {
            uint32_t n = MIN(COMPARE_CHUNK_SECTORS, vol->fat_sectors - s);
            if (fat_device_read(vol, vol->fat_start + s, n, a) ||
                fat_device_read(vol, vol->fat_start + (uint64_t)copy * vol->fat_sectors + s, n,
                                b)) {
                say(ck, true, "FAT copy %u: unreadable", copy + 1);
                goto out;
            }
            for (uint32_t k = 0; k < n; k++)
                differing += memcmp(a + (size_t)k * vol->sector_size,
                                    b + (size_t)k * vol->sector_size, vol->sector_size) != 0;
        }
        /* The first copy is the one in use; a cut between copies leaves this harmlessly. */
        if (differing)
            say(ck, false, "FAT copy %u differs from the first in %u sectors", copy + 1, differing);
    }
out:
    kfree(a);
    kfree(b);
}

struct cluster_counts {
    struct checker *ck;
    uint32_t free_count, lost, used;
};

static void count_cluster(void *context, uint32_t c, uint32_t value)
{
    struct cluster_counts *counts = context;
    struct checker *ck = counts->ck;
    uint32_t bit = c - FAT_CLUSTER_FIRST;
    bool owned = ck->owned[bit / 8] & (1 << (bit % 8));
    if (value == 0) {
        counts->free_count++;
        if (owned)
            say(ck, true, "cluster %u is in use but marked free", c);
    } else if (fat_classify(ck->vol, value) != FAT_LINK_BAD) {
        counts->used++;
        counts->lost += !owned;
    }
}

static void count_clusters(struct checker *ck)
{
    struct fat_volume *vol = ck->vol;
    struct cluster_counts counts = {.ck = ck};
    if (fat_for_each_entry(vol, count_cluster, &counts))
        return;
    uint32_t free_count = counts.free_count, lost = counts.lost;
    ck->result->free_clusters = free_count;
    ck->result->used_clusters = counts.used;
    ck->result->lost_clusters = lost;
    if (lost)
        say(ck, false, "%u lost clusters (allocated, but in no file)", lost);
    if (vol->free_count_known && vol->free_count != free_count)
        say(ck, false, "FSInfo free count %u, really %u", vol->free_count, free_count);
}

/* The boot sector's label and the root directory's label entry should agree ("NO NAME" and
 * no label are the same); fsck.fat copies the root one over. */
static void check_label(struct checker *ck)
{
    struct fat_volume *vol = ck->vol;
    uint8_t raw[32];
    uint64_t sector;
    uint32_t offset;
    int found = fat_find_label_entry(vol, raw, &sector, &offset);
    if (found < 0)
        return; /* the root directory walk reports it */
    uint8_t none[11];
    memset(none, ' ', sizeof(none));
    memcpy(none, "NO NAME", 7);
    const uint8_t *boot = vol->boot_label;
    bool boot_has =
        vol->has_boot_label && memcmp(boot, none, 11) != 0 && memcmp(boot, "           ", 11) != 0;
    bool root_has = found && memcmp(raw, none, 11) != 0 && memcmp(raw, "           ", 11) != 0;
    char a[FAT_LABEL_MAX], b[FAT_LABEL_MAX];
    fat_label_to_string(boot, a, sizeof(a));
    fat_label_to_string(raw, b, sizeof(b));
    if (boot_has && !root_has)
        say(ck, false, "label \"%s\" in the boot sector but none in the root directory", a);
    else if (!boot_has && root_has)
        say(ck, false, "label \"%s\" in the root directory but none in the boot sector", b);
    else if (boot_has && memcmp(boot, raw, 11) != 0)
        say(ck, false, "label \"%s\" in the boot sector differs from \"%s\" in the root directory",
            a, b);
}

int fat_check(const struct block_io *io, void (*report)(void *context, const char *message),
              void *context, struct fat_check_result *result)
{
    memset(result, 0, sizeof(*result));
    struct checker ck = {.report = report, .context = context, .result = result};
    int err = fat_load_volume(io, true, &ck.vol);
    if (err) {
        say(&ck, true, "no valid FAT boot sector (%d)", err);
        return err;
    }
    struct fat_volume *vol = ck.vol;
    if (vol->was_dirty)
        say(&ck, false, "the volume is marked dirty (not cleanly unmounted)");
    if (fat_intent_recover(vol) == 0 && vol->intent_pending) /* read-only: only looks */
        say(&ck, false,
            "a rename was interrupted; the next writable mount (or rayfs recover) completes "
            "or undoes it");
    fat_drop_mount_area(vol); /* read by the load for that look, as a mount reads it */
    ck.owned = kzalloc(vol->cluster_count / 8 + 1);
    if (!ck.owned) {
        fat_free_volume(vol);
        return -ENOMEM;
    }
    if (vol->truncated)
        say(&ck, true, "the volume has %llu sectors but the device holds only %llu",
            (unsigned long long)vol->total_sectors, (unsigned long long)vol->device_sectors);
    if (vol->fsinfo_bad)
        say(&ck, false,
            "FSInfo sector %u is not valid (bad signatures or outside the reserved "
            "sectors); the free count is unknown",
            get_le16(vol->boot_sector + 48));
    check_label(&ck);
    compare_fats(&ck);
    uint32_t media;
    if (fat_get_entry(vol, 0, &media) == 0 && (media & 0xff) != vol->boot_sector[21])
        say(&ck, true, "FAT[0] 0x%x does not match the media byte 0x%x", media,
            vol->boot_sector[21]);
    if (vol->type == 32) {
        bool damaged;
        claim_chain(&ck, "root directory", vol->root_cluster, &damaged);
    }
    err = fat_cluster_list_push(&ck.queue, 0);
    for (uint32_t i = 0; !err && i < ck.queue.length; i++)
        err = check_directory(&ck, ck.queue.items[i]);
    if (!err)
        count_clusters(&ck);
    kfree(ck.queue.items);
    kfree(ck.owned);
    fat_free_volume(vol);
    return err;
}
