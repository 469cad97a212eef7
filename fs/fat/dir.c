/* Directories: slot addressing, listing with long names, lookup, adding and removing entries. */
#define pr_fmt(fmt) "fat: " fmt

#include <rayos/bytes.h>
#include <rayos/errno.h>
#include <rayos/heap.h>
#include <rayos/printk.h>
#include <rayos/string.h>
#include <rayos/utf.h>

#include "fat_internal.h"

#define TAIL_LIMIT     32768
#define LFN_UNITS_SLOT 13

static const uint8_t lfn_unit_offsets[LFN_UNITS_SLOT] = {1,  3,  5,  7,  9,  14, 16,
                                                         18, 20, 22, 24, 28, 30};

void fat_cursor_init(const struct fat_volume *vol, struct fat_dir_cursor *cursor,
                     uint32_t dir_cluster)
{
    if (dir_cluster == 0 && vol->type == 32)
        dir_cluster = vol->root_cluster;
    cursor->first_cluster = dir_cluster;
    cursor->cached_index = 0;
    cursor->cached_cluster = dir_cluster;
}

/* Where slot index of a directory lives.  -ENOENT past the directory's end; the walk along
 * the chain is bounded by the specification's directory size limit. */
int fat_dir_slot(struct fat_volume *vol, struct fat_dir_cursor *cursor, uint32_t index,
                 uint64_t *sector, uint32_t *offset)
{
    if (index >= FAT_DIR_MAX_ENTRIES)
        return -ENOENT;
    uint64_t byte = (uint64_t)index * FAT_DIR_ENTRY_SIZE;
    if (cursor->first_cluster == 0) {
        if (index >= vol->root_entries)
            return -ENOENT;
        *sector = vol->root_start + byte / vol->sector_size;
        *offset = (uint32_t)(byte % vol->sector_size);
        return 0;
    }
    if (!fat_cluster_valid(vol, cursor->first_cluster))
        return -EUCLEAN;
    uint32_t cluster_index = (uint32_t)(byte / vol->cluster_size);
    if (cluster_index < cursor->cached_index) {
        cursor->cached_index = 0;
        cursor->cached_cluster = cursor->first_cluster;
    }
    while (cursor->cached_index < cluster_index) {
        uint32_t next;
        int r = fat_next_cluster(vol, cursor->cached_cluster, &next);
        if (r < 0)
            return r;
        if (r == 0)
            return -ENOENT;
        cursor->cached_cluster = next;
        cursor->cached_index++;
    }
    uint32_t within = (uint32_t)(byte % vol->cluster_size);
    *sector = fat_cluster_sector(vol, cursor->cached_cluster) + within / vol->sector_size;
    *offset = within % vol->sector_size;
    return 0;
}

uint32_t fat_dir_sectors_ahead(const struct fat_volume *vol, uint64_t sector)
{
    uint64_t end = sector < vol->data_start
                       ? vol->data_start
                       : sector + vol->sectors_per_cluster -
                             (sector - vol->data_start) % vol->sectors_per_cluster;
    return (uint32_t)MIN(end - sector, 64ull);
}

/* Reads slot index.  A scan passes the sector it read the previous slot (index - 1) from in
 * *held, with *sector and *offset as that read left them: while the slot lies in the same
 * sector it is taken from there, without the cache lookup (and the cluster arithmetic) each
 * entry cost.  *held is valid until the next call into the cache; NULL: look the sector up. */
static int read_slot_held(struct fat_volume *vol, struct fat_dir_cursor *cursor, uint32_t index,
                          uint8_t **held, uint8_t raw[32], uint64_t *sector, uint32_t *offset)
{
    /* clusters and the 64 Ki-slot limit start on a sector; the fixed root may end inside one */
    if (*held && *offset + FAT_DIR_ENTRY_SIZE < vol->sector_size && index < FAT_DIR_MAX_ENTRIES &&
        (cursor->first_cluster != 0 || index < vol->root_entries)) {
        *offset += FAT_DIR_ENTRY_SIZE;
    } else {
        *held = NULL;
        int err = fat_dir_slot(vol, cursor, index, sector, offset);
        if (!err)
            err =
                fat_cache_get_ahead(vol, *sector, false, fat_dir_sectors_ahead(vol, *sector), held);
        if (err) {
            *held = NULL;
            return err;
        }
    }
    memcpy(raw, *held + *offset, FAT_DIR_ENTRY_SIZE);
    return 0;
}

static int read_slot(struct fat_volume *vol, struct fat_dir_cursor *cursor, uint32_t index,
                     uint8_t raw[32], uint64_t *sector, uint32_t *offset)
{
    uint8_t *held = NULL;
    return read_slot_held(vol, cursor, index, &held, raw, sector, offset);
}

int fat_write_entry(struct fat_volume *vol, uint64_t sector, uint32_t offset, const uint8_t raw[32])
{
    int err = fat_mark_dirty(vol);
    if (err)
        return err;
    uint8_t *data;
    err = fat_cache_get(vol, sector, false, &data);
    if (err)
        return err;
    memcpy(data + offset, raw, FAT_DIR_ENTRY_SIZE);
    fat_cache_mark(vol, sector, FAT_PHASE_DIRECTORY);
    return 0;
}

uint32_t fat_entry_cluster(const struct fat_volume *vol, const uint8_t *raw)
{
    uint32_t cluster = get_le16(raw + 26);
    if (vol->type == 32)
        cluster |= (uint32_t)get_le16(raw + 20) << 16;
    return cluster;
}

void fat_entry_set_cluster(uint8_t *raw, uint32_t cluster)
{
    put_le16(raw + 26, (uint16_t)cluster);
    put_le16(raw + 20, (uint16_t)(cluster >> 16));
}

static void decode_date_time(uint16_t date, uint16_t time, struct fat_time *out)
{
    out->year = (uint16_t)(1980 + (date >> 9));
    out->month = (uint8_t)((date >> 5) & 15);
    out->day = (uint8_t)(date & 31);
    out->hour = (uint8_t)(time >> 11);
    out->minute = (uint8_t)((time >> 5) & 63);
    out->second = (uint8_t)((time & 31) * 2);
}

void fat_entry_to_stat(const uint8_t *raw, const struct fat_volume *vol, struct fat_stat *out)
{
    memset(out, 0, sizeof(*out));
    out->attributes = raw[11];
    out->is_directory = (raw[11] & FAT_ATTR_DIRECTORY) != 0;
    out->size = out->is_directory ? 0 : get_le32(raw + 28);
    out->first_cluster = fat_entry_cluster(vol, raw);
    decode_date_time(get_le16(raw + 24), get_le16(raw + 22), &out->modified);
    decode_date_time(get_le16(raw + 16), get_le16(raw + 14), &out->created);
    decode_date_time(get_le16(raw + 18), 0, &out->accessed);
}

static void lfn_take(struct fat_lfn_state *lfn, const uint8_t *raw, uint32_t index)
{
    int sequence = raw[0] & 0x1f;
    if (raw[0] & 0x40) {
        if (sequence < 1 || sequence > FAT_LFN_MAX_SLOTS || (raw[0] & 0x80)) {
            lfn->expected = -1;
            return;
        }
        lfn->slots = (uint8_t)sequence;
        lfn->checksum = raw[13];
        lfn->start = index;
    } else if (lfn->expected <= 0 || sequence != lfn->expected || raw[13] != lfn->checksum) {
        lfn->expected = -1;
        return;
    }
    for (int i = 0; i < LFN_UNITS_SLOT; i++)
        lfn->units[(sequence - 1) * LFN_UNITS_SLOT + i] = get_le16(raw + lfn_unit_offsets[i]);
    lfn->expected = sequence - 1;
}

/* The long name's length if the run is complete and belongs to this 8.3 entry, else 0. */
static size_t lfn_length(const struct fat_lfn_state *lfn, const uint8_t *raw)
{
    if (lfn->expected != 0 || lfn->checksum != fat_short_checksum(raw))
        return 0;
    size_t total = (size_t)lfn->slots * LFN_UNITS_SLOT, length = 0;
    while (length < total && lfn->units[length] != 0)
        length++;
    /* the run must not be longer than the name needs */
    if (length > FAT_NAME_MAX || DIV_ROUND_UP(length, LFN_UNITS_SLOT) != lfn->slots)
        return 0;
    return length;
}

/* The next live entry with its long name as UTF-16 (no UTF-8 conversion). */
int fat_dir_next_raw(struct fat_volume *vol, struct fat_dir_cursor *cursor, uint32_t *position,
                     struct fat_entry_info *out)
{
    struct fat_lfn_state *lfn = &vol->lfn;
    lfn->expected = -1;
    uint8_t *held = NULL;
    uint64_t sector = 0;
    uint32_t offset = 0;
    for (uint32_t index = *position;; index++) {
        uint8_t raw[32];
        int err = read_slot_held(vol, cursor, index, &held, raw, &sector, &offset);
        if (err == -ENOENT || (!err && raw[0] == 0)) {
            *position = index;
            return 0;
        }
        if (err)
            return err;
        if (raw[0] == FAT_ENTRY_DELETED) {
            lfn->expected = -1;
            continue;
        }
        if ((raw[11] & 0x3f) == FAT_ATTR_LONG_NAME) {
            lfn_take(lfn, raw, index);
            continue;
        }
        if (raw[11] & FAT_ATTR_VOLUME_ID) {
            lfn->expected = -1;
            continue;
        }
        memcpy(out->raw, raw, sizeof(raw));
        out->index = index;
        out->sector = sector;
        out->offset = offset;
        size_t length = lfn_length(lfn, raw);
        out->first_index = length ? lfn->start : index;
        /* a run that belongs to the entry but holds a name Linux would not have made: the
         * entry goes by its 8.3 name (and removing it still removes the run) */
        if (length && !fat_long_units_valid(lfn->units, length))
            length = 0;
        out->unit_count = (uint16_t)length;
        if (length)
            memcpy(out->units, lfn->units, length * sizeof(uint16_t));
        *position = index + 1;
        return 1;
    }
}

int fat_dir_next(struct fat_volume *vol, struct fat_dir_cursor *cursor, uint32_t *position,
                 struct fat_entry_info *out)
{
    int r = fat_dir_next_raw(vol, cursor, position, out);
    if (r != 1)
        return r;
    if (!out->unit_count ||
        utf16_to_utf8(out->units, out->unit_count, out->name, sizeof(out->name)) <= 0) {
        out->unit_count = 0;
        fat_short_to_string(out->raw, true, out->name, sizeof(out->name));
    }
    return 1;
}

int fat_dir_find(struct fat_volume *vol, uint32_t dir_cluster, const char *name,
                 struct fat_entry_info *out)
{
    struct fat_name_key *key = kmalloc(sizeof(*key));
    if (!key)
        return -ENOMEM;
    int r = fat_name_key_init(key, name);
    if (r == 0 && fat_index_prepare(vol, dir_cluster, out) == 0) {
        r = fat_index_find(vol, dir_cluster, key, out);
        if (r == 1) {
            if (!out->unit_count ||
                utf16_to_utf8(out->units, out->unit_count, out->name, sizeof(out->name)) <= 0)
                fat_short_to_string(out->raw, true, out->name, sizeof(out->name));
            r = 0;
        } else if (r == 0) {
            r = -ENOENT;
        }
        kfree(key);
        return r;
    }
    struct fat_dir_cursor cursor;
    fat_cursor_init(vol, &cursor, dir_cluster);
    uint32_t position = 0;
    while (r == 0) {
        r = fat_dir_next_raw(vol, &cursor, &position, out);
        if (r <= 0) {
            r = r == 0 ? -ENOENT : r;
            break;
        }
        if (fat_name_key_matches(key, out)) {
            if (!out->unit_count ||
                utf16_to_utf8(out->units, out->unit_count, out->name, sizeof(out->name)) <= 0)
                fat_short_to_string(out->raw, true, out->name, sizeof(out->name));
            r = 0;
            break;
        }
        r = 0;
    }
    kfree(key);
    return r;
}

int fat_dir_is_empty(struct fat_volume *vol, uint32_t dir_cluster)
{
    struct fat_entry_info *e = kmalloc(sizeof(*e));
    if (!e)
        return -ENOMEM;
    struct fat_dir_cursor cursor;
    fat_cursor_init(vol, &cursor, dir_cluster);
    uint32_t position = 0;
    int result;
    for (;;) {
        result = fat_dir_next(vol, &cursor, &position, e);
        if (result <= 0)
            break;
        if (!fat_is_dot_entry(e->raw)) {
            result = -ENOTEMPTY;
            break;
        }
    }
    kfree(e);
    return result;
}

struct add_scan {
    const struct fat_short_plan *plan;
    const struct fat_name_key *key;
    struct fat_dir_index *index;            /* the directory's names, or NULL: */
    uint8_t *tails_used;                    /* ~N tails seen by a scan (bitmap) */
    const struct fat_entry_info *replacing; /* not a conflict: the entry being renamed */
    bool basis_used;
    bool name_exists;
};

/* Pass one: the name must not exist; note which ~N tails and whether the bare basis is used. */
static void note_short_name(struct add_scan *scan, const uint8_t *short_name)
{
    if (memcmp(short_name, scan->plan->basis, 11) == 0)
        scan->basis_used = true;
    int n = fat_tail_number(scan->plan->basis, short_name);
    if (n > 0 && n < TAIL_LIMIT)
        scan->tails_used[n / 8] |= (uint8_t)(1 << (n % 8));
}

static int scan_names(struct fat_volume *vol, uint32_t dir_cluster, struct add_scan *scan,
                      struct fat_entry_info *e)
{
    if (fat_index_prepare(vol, dir_cluster, e) == 0) {
        int r = fat_index_find(vol, dir_cluster, scan->key, e);
        if (r < 0)
            return r;
        scan->name_exists = r == 1 && !(scan->replacing && e->index == scan->replacing->index);
        scan->index = fat_index_of(vol, dir_cluster);
        if (scan->index)
            return 0;
    }
    scan->tails_used = kzalloc(TAIL_LIMIT / 8);
    if (!scan->tails_used)
        return -ENOMEM;
    struct fat_dir_cursor cursor;
    fat_cursor_init(vol, &cursor, dir_cluster);
    uint32_t position = 0;
    for (;;) {
        int r = fat_dir_next_raw(vol, &cursor, &position, e);
        if (r <= 0)
            return r;
        if (fat_name_key_matches(scan->key, e) &&
            !(scan->replacing && e->index == scan->replacing->index)) {
            scan->name_exists = true;
            return 0;
        }
        note_short_name(scan, e->raw);
    }
}

/* Pass two: the first run of count free slots; *end_at_marker says the run starts at or after
 * the end marker (so the slot after it must read as an end marker too). */
static int find_free_slots(struct fat_volume *vol, uint32_t dir_cluster, uint32_t count,
                           uint32_t *first, bool *after_end, uint32_t *slots_total)
{
    struct fat_dir_cursor cursor;
    fat_cursor_init(vol, &cursor, dir_cluster);
    uint32_t run_start = 0, run_length = 0;
    bool past_end = false;
    for (uint32_t index = 0;; index++) {
        uint8_t raw[32];
        uint64_t sector;
        uint32_t offset;
        int err = read_slot(vol, &cursor, index, raw, &sector, &offset);
        if (err == -ENOENT) {
            *slots_total = index;
            *first = run_length ? run_start : index;
            *after_end = past_end || run_length == 0;
            return 0; /* the run continues into space yet to be allocated */
        }
        if (err)
            return err;
        if (raw[0] == 0)
            past_end = true;
        if (past_end || raw[0] == FAT_ENTRY_DELETED) {
            if (run_length == 0)
                run_start = index;
            run_length++;
            if (run_length == count) {
                *first = run_start;
                *after_end = past_end;
                *slots_total = 0;
                return 1;
            }
        } else {
            run_length = 0;
        }
    }
}

static int extend_directory(struct fat_volume *vol, uint32_t dir_cluster, uint32_t slots_needed)
{
    struct fat_dir_cursor cursor;
    fat_index_cursor(vol, dir_cluster, &cursor);
    if (cursor.first_cluster == 0)
        return -ENOSPC; /* the FAT12/16 root cannot grow */
    /* from the last cluster addressed on: a growing directory's chain is walked once */
    uint32_t last = cursor.cached_cluster;
    for (uint32_t steps = cursor.cached_index;; steps++) {
        uint32_t next;
        int r = fat_next_cluster(vol, last, &next);
        if (r < 0)
            return r;
        if (r == 0 || steps > FAT_DIR_MAX_ENTRIES)
            break;
        last = next;
    }
    uint32_t per_cluster = vol->cluster_size / FAT_DIR_ENTRY_SIZE;
    uint32_t clusters = DIV_ROUND_UP(slots_needed, per_cluster);
    uint32_t first;
    int err = fat_allocate(vol, last, clusters, false, &first);
    if (err)
        return err;
    fat_index_grown(vol, dir_cluster, clusters * per_cluster);
    /* Zero the new clusters along their chain (they need not be contiguous). */
    uint32_t c = first;
    for (uint32_t i = 0; i < clusters && !err; i++) {
        err = fat_zero_clusters(vol, c, 1);
        if (!err && i + 1 < clusters && fat_next_cluster(vol, c, &c) != 1)
            err = -EUCLEAN;
    }
    return err;
}

static void build_lfn_slot(uint8_t raw[32], const uint16_t *units, size_t unit_count, int sequence,
                           bool last, uint8_t checksum)
{
    memset(raw, 0, 32);
    raw[0] = (uint8_t)(sequence | (last ? 0x40 : 0));
    raw[11] = FAT_ATTR_LONG_NAME;
    raw[13] = checksum;
    for (int i = 0; i < LFN_UNITS_SLOT; i++) {
        size_t at = (size_t)(sequence - 1) * LFN_UNITS_SLOT + (size_t)i;
        uint16_t unit = at < unit_count ? units[at] : at == unit_count ? 0 : 0xffff;
        put_le16(raw + lfn_unit_offsets[i], unit);
    }
}

static int write_slot(struct fat_volume *vol, struct fat_dir_cursor *cursor, uint32_t index,
                      const uint8_t raw[32], uint64_t *sector_out, uint32_t *offset_out)
{
    uint64_t sector;
    uint32_t offset;
    int err = fat_dir_slot(vol, cursor, index, &sector, &offset);
    if (!err)
        err = fat_write_entry(vol, sector, offset, raw);
    if (sector_out) {
        *sector_out = sector;
        *offset_out = offset;
    }
    return err;
}

/* The lowest free ~N by the index: each candidate is one table lookup, and the search starts
 * where the last one for this basis ended. */
static int choose_indexed_tail(struct fat_dir_index *index, const uint8_t basis[11],
                               uint8_t out[11])
{
    for (uint32_t n = fat_index_tail_start(index, basis); n < TAIL_LIMIT; n++) {
        fat_apply_tail(basis, n, out);
        if (!fat_index_has_short(index, out)) {
            fat_index_tail_note(index, basis, n);
            return 0;
        }
    }
    return -ENOSPC;
}

static int choose_short_name(const struct fat_short_plan *plan, const struct add_scan *scan,
                             uint8_t out[11])
{
    bool basis_used =
        scan->index ? fat_index_has_short(scan->index, plan->basis) : scan->basis_used;
    if (!plan->needs_lfn || (!plan->lossy && !basis_used)) {
        memcpy(out, plan->basis, 11);
        return 0;
    }
    if (scan->index)
        return choose_indexed_tail(scan->index, plan->basis, out);
    for (uint32_t n = 1; n < TAIL_LIMIT; n++) {
        if (!(scan->tails_used[n / 8] & (1 << (n % 8)))) {
            fat_apply_tail(plan->basis, n, out);
            return 0;
        }
    }
    return -ENOSPC;
}

/* Plans an entry called name in a directory: its 8.3 alias and the free slots it will take,
 * growing the directory if needed (nothing else is written).  An entry being renamed in the
 * same directory (replacing, may be NULL) does not count as a name conflict. */
int fat_dir_plan_add(struct fat_volume *vol, uint32_t dir_cluster, const char *name,
                     const struct fat_entry_info *replacing, struct fat_dir_plan *plan)
{
    int unit_count = utf8_to_utf16(name, plan->units, FAT_NAME_MAX);
    if (unit_count < 0)
        return unit_count;
    if (!fat_long_name_valid(name))
        return -EINVAL;
    plan->dir_cluster = dir_cluster;
    plan->name = name;
    plan->unit_count = (uint16_t)unit_count;
    struct fat_short_plan short_plan;
    fat_plan_short_name(name, &short_plan);
    struct fat_name_key *key = kmalloc(sizeof(*key));
    struct fat_entry_info *e = kmalloc(sizeof(*e));
    struct add_scan scan = {.plan = &short_plan, .key = key, .replacing = replacing};
    int err = key && e ? fat_name_key_init(key, name) : -ENOMEM;
    if (!err)
        err = scan_names(vol, dir_cluster, &scan, e);
    kfree(key);
    kfree(e);
    if (!err && scan.name_exists)
        err = -EEXIST;
    if (!err)
        err = choose_short_name(&short_plan, &scan, plan->short_name);
    kfree(scan.tails_used);
    if (err)
        return err;
    plan->needs_lfn = short_plan.needs_lfn;
    plan->case_flags = short_plan.case_flags;
    plan->lfn_slots = short_plan.needs_lfn ? DIV_ROUND_UP((uint32_t)unit_count, LFN_UNITS_SLOT) : 0;
    uint32_t needed = plan->lfn_slots + 1, slots_total = 0;
    int found;
    const struct fat_dir_index *index = fat_index_of(vol, dir_cluster);
    if (index && !index->has_holes) {
        plan->first = index->end_index;
        slots_total = index->slot_capacity;
        plan->after_end = true;
        found = (uint64_t)plan->first + needed <= slots_total;
    } else {
        found =
            find_free_slots(vol, dir_cluster, needed, &plan->first, &plan->after_end, &slots_total);
    }
    if (found < 0)
        return found;
    if (!found) {
        if ((uint64_t)plan->first + needed > FAT_DIR_MAX_ENTRIES)
            return -ENOSPC;
        err = extend_directory(vol, dir_cluster, plan->first + needed - slots_total);
    }
    return err;
}

/* Writes a planned entry (into the cache); template supplies everything but the 8.3 name and
 * case flags. */
int fat_dir_commit_add(struct fat_volume *vol, const struct fat_dir_plan *plan,
                       const uint8_t template_entry[32], struct fat_entry_info *out)
{
    int err = fat_mark_dirty(vol);
    if (err)
        return err;
    struct fat_dir_cursor cursor;
    fat_index_cursor(vol, plan->dir_cluster, &cursor);
    uint8_t raw[32];
    uint8_t checksum = fat_short_checksum(plan->short_name);
    for (uint32_t i = 0; i < plan->lfn_slots && !err; i++) {
        int sequence = (int)(plan->lfn_slots - i);
        build_lfn_slot(raw, plan->units, plan->unit_count, sequence, i == 0, checksum);
        err = write_slot(vol, &cursor, plan->first + i, raw, NULL, NULL);
    }
    if (err)
        return err;
    memcpy(out->raw, template_entry, 32);
    memcpy(out->raw, plan->short_name, 11);
    out->raw[12] = plan->needs_lfn ? 0 : plan->case_flags;
    out->index = plan->first + plan->lfn_slots;
    out->first_index = plan->first;
    out->unit_count = plan->needs_lfn ? plan->unit_count : 0;
    memcpy(out->units, plan->units, (size_t)plan->unit_count * sizeof(uint16_t));
    fat_copy_string(out->name, plan->name, sizeof(out->name));
    err = write_slot(vol, &cursor, out->index, out->raw, &out->sector, &out->offset);
    if (!err)
        fat_index_added(vol, plan->dir_cluster, out);
    if (!err && plan->after_end) {
        /* Slots after an end marker are unused but may hold garbage: keep an end marker
         * after us. */
        uint64_t sector;
        uint32_t offset;
        if (read_slot(vol, &cursor, out->index + 1, raw, &sector, &offset) == 0 && raw[0] != 0) {
            memset(raw, 0, sizeof(raw));
            err = fat_write_entry(vol, sector, offset, raw);
        }
    }
    fat_index_keep_cursor(vol, plan->dir_cluster, &cursor);
    return err;
}

/* Adds an entry called name; template supplies everything but the 8.3 name and case flags. */
int fat_dir_add(struct fat_volume *vol, uint32_t dir_cluster, const char *name,
                const uint8_t template_entry[32], struct fat_entry_info *out)
{
    struct fat_dir_plan *plan = kmalloc(sizeof(*plan));
    if (!plan)
        return -ENOMEM;
    int err = fat_dir_plan_add(vol, dir_cluster, name, NULL, plan);
    if (!err)
        err = fat_dir_commit_add(vol, plan, template_entry, out);
    kfree(plan);
    return err;
}

int fat_dir_remove(struct fat_volume *vol, uint32_t dir_cluster, const struct fat_entry_info *e)
{
    fat_index_removed(vol, dir_cluster, e->index);
    struct fat_dir_cursor cursor;
    fat_cursor_init(vol, &cursor, dir_cluster);
    for (uint32_t index = e->first_index; index <= e->index; index++) {
        uint8_t raw[32];
        uint64_t sector;
        uint32_t offset;
        int err = read_slot(vol, &cursor, index, raw, &sector, &offset);
        if (err)
            return err;
        raw[0] = FAT_ENTRY_DELETED;
        err = fat_write_entry(vol, sector, offset, raw);
        if (err)
            return err;
    }
    return 0;
}

/* The root directory's volume-label entry (what Windows, mtools and fatlabel call the label):
 * 1 with its slot's place and bytes, 0 if there is none. */
int fat_find_label_entry(struct fat_volume *vol, uint8_t raw[32], uint64_t *sector,
                         uint32_t *offset)
{
    struct fat_dir_cursor cursor;
    fat_cursor_init(vol, &cursor, 0);
    for (uint32_t index = 0;; index++) {
        int err = read_slot(vol, &cursor, index, raw, sector, offset);
        if (err == -ENOENT || (!err && raw[0] == 0))
            return 0;
        if (err)
            return err;
        if (raw[0] == FAT_ENTRY_DELETED || (raw[11] & 0x3f) == FAT_ATTR_LONG_NAME)
            continue;
        if ((raw[11] & FAT_ATTR_VOLUME_ID) && !(raw[11] & FAT_ATTR_DIRECTORY))
            return 1;
    }
}

void fat_label_to_string(const uint8_t *bytes, char *out, size_t size)
{
    char text[FAT_LABEL_MAX];
    size_t n = 0;
    int last = 10;
    while (last >= 0 && bytes[last] == ' ')
        last--;
    for (int i = 0; i <= last; i++) {
        if (bytes[i] >= 0x80)
            n += utf8_encode(bytes[i], text + n); /* OEM bytes as Latin-1, as for names */
        else
            text[n++] = (char)bytes[i];
    }
    text[n] = 0;
    fat_copy_string(out, text, size);
}

/* Writes the root directory's label entry: over the existing one, else in the first free slot
 * (growing a FAT32 root if needed); name NULL deletes it. */
int fat_write_label_entry(struct fat_volume *vol, const uint8_t *name)
{
    uint8_t raw[32];
    uint64_t sector;
    uint32_t offset;
    int found = fat_find_label_entry(vol, raw, &sector, &offset);
    if (found < 0)
        return found;
    fat_index_drop_dir(vol, 0); /* the index does not follow label entries */
    if (!name) {
        if (!found)
            return 0;
        raw[0] = FAT_ENTRY_DELETED;
        return fat_write_entry(vol, sector, offset, raw);
    }
    uint16_t date, time;
    fat_now(vol, &date, &time);
    if (!found) {
        uint32_t first, slots_total;
        bool after_end;
        int r = find_free_slots(vol, 0, 1, &first, &after_end, &slots_total);
        if (r < 0)
            return r;
        if (r == 0) {
            int err = extend_directory(vol, 0, first + 1 - slots_total);
            if (err)
                return err;
        }
        struct fat_dir_cursor cursor;
        fat_cursor_init(vol, &cursor, 0);
        int err = fat_dir_slot(vol, &cursor, first, &sector, &offset);
        if (err)
            return err;
        memset(raw, 0, sizeof(raw));
        raw[11] = FAT_ATTR_VOLUME_ID;
        if (after_end) {
            /* keep an end marker after the new entry */
            uint8_t next[32];
            uint64_t next_sector;
            uint32_t next_offset;
            if (read_slot(vol, &cursor, first + 1, next, &next_sector, &next_offset) == 0 &&
                next[0] != 0) {
                memset(next, 0, sizeof(next));
                err = fat_write_entry(vol, next_sector, next_offset, next);
                if (err)
                    return err;
            }
        }
    }
    memcpy(raw, name, 11);
    put_le16(raw + 22, time);
    put_le16(raw + 24, date);
    return fat_write_entry(vol, sector, offset, raw);
}
