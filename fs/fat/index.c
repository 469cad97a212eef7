/* A name index of the most recently used directories, so that a lookup or a create in a
 * large directory costs a few hash-table probes instead of a pass over the directory: each
 * live entry's folded-name hash, 8.3 name and slots, found by 8.3 name or by long-name hash.
 * It is built by one directory scan and then kept up to date by every add and remove in that
 * directory; anything it cannot follow drops it. */
#include <rayos/errno.h>
#include <rayos/heap.h>
#include <rayos/string.h>

#include "fat_internal.h"

static uint32_t hash_units(const uint16_t *units, size_t count, bool fold)
{
    uint32_t hash = 2166136261u;
    for (size_t i = 0; i < count; i++) {
        uint16_t unit = fold ? fat_fold_unit(units[i]) : units[i];
        hash = (hash ^ (unit & 0xff)) * 16777619u;
        hash = (hash ^ (unit >> 8)) * 16777619u;
    }
    return hash;
}

uint32_t fat_key_hash(const struct fat_name_key *key)
{
    return hash_units(key->folded, key->length, false);
}

static uint32_t entry_hash(const struct fat_entry_info *e)
{
    if (e->unit_count)
        return hash_units(e->units, e->unit_count, true);
    return 0; /* short-name-only entries are matched through their 8.3 name */
}

static void index_drop(struct fat_dir_index *index)
{
    kfree(index->entries);
    for (int key = 0; key < FAT_INDEX_KEYS; key++)
        kfree(index->tables[key].buckets);
    memset(index, 0, sizeof(*index));
}

/* The tables: a lookup, and the check of a new alias against every name of the directory,
 * cost O(1) instead of a pass over the entries (which made creating N names O(N^2)). */
static uint32_t short_hash(const uint8_t name[11])
{
    uint32_t hash = 2166136261u;
    for (int i = 0; i < 11; i++)
        hash = (hash ^ name[i]) * 16777619u;
    return hash;
}

static bool in_table(const struct fat_dir_index *index, int key, uint32_t position)
{
    return key == FAT_INDEX_BY_SHORT || index->entries[position].has_long_name;
}

static uint32_t *bucket_of(const struct fat_dir_index *index, int key, uint32_t position)
{
    const struct fat_index_entry *entry = &index->entries[position];
    const struct fat_index_table *table = &index->tables[key];
    uint32_t hash = key == FAT_INDEX_BY_LONG ? entry->hash : short_hash(entry->short_name);
    return &table->buckets[hash & table->mask];
}

static void chain_insert(struct fat_dir_index *index, int key, uint32_t position)
{
    if (!in_table(index, key, position))
        return;
    uint32_t *bucket = bucket_of(index, key, position);
    index->entries[position].next[key] = *bucket;
    *bucket = position + 1;
}

/* What points at the entry in its chain (its bucket or the entry before it), or NULL when it
 * is not in that table. */
static uint32_t *chain_link_to(struct fat_dir_index *index, int key, uint32_t position)
{
    if (!in_table(index, key, position))
        return NULL;
    uint32_t *link = bucket_of(index, key, position);
    while (*link && *link != position + 1)
        link = &index->entries[*link - 1].next[key];
    return *link ? link : NULL;
}

/* Both tables sized for the entries' capacity (a power of two: capacities double from 64) and
 * refilled. */
static int tables_resize(struct fat_dir_index *index)
{
    for (int key = 0; key < FAT_INDEX_KEYS; key++) {
        uint32_t *buckets = kzalloc(sizeof(*buckets) * index->capacity);
        if (!buckets)
            return -ENOMEM;
        kfree(index->tables[key].buckets);
        index->tables[key].buckets = buckets;
        index->tables[key].mask = index->capacity - 1;
    }
    for (uint32_t i = 0; i < index->count; i++)
        for (int key = 0; key < FAT_INDEX_KEYS; key++)
            chain_insert(index, key, i);
    return 0;
}

/* Takes the entry at position out of its chains, and moves the last entry into its place. */
static void entry_remove(struct fat_dir_index *index, uint32_t position)
{
    uint32_t last = index->count - 1;
    for (int key = 0; key < FAT_INDEX_KEYS; key++) {
        uint32_t *link = chain_link_to(index, key, position);
        if (link)
            *link = index->entries[position].next[key];
    }
    if (position != last) {
        for (int key = 0; key < FAT_INDEX_KEYS; key++) {
            uint32_t *link = chain_link_to(index, key, last);
            if (link)
                *link = position + 1;
        }
        index->entries[position] = index->entries[last];
    }
    index->count = last;
}

bool fat_index_has_short(const struct fat_dir_index *index, const uint8_t short_name[11])
{
    const struct fat_index_table *table = &index->tables[FAT_INDEX_BY_SHORT];
    if (!table->buckets)
        return false;
    for (uint32_t at = table->buckets[short_hash(short_name) & table->mask]; at;
         at = index->entries[at - 1].next[FAT_INDEX_BY_SHORT])
        if (memcmp(index->entries[at - 1].short_name, short_name, 11) == 0)
            return true;
    return false;
}

uint32_t fat_index_tail_start(const struct fat_dir_index *index, const uint8_t basis[11])
{
    for (int i = 0; i < FAT_TAIL_HINTS; i++)
        if (index->tail_hints[i].next && memcmp(index->tail_hints[i].basis, basis, 11) == 0)
            return index->tail_hints[i].next;
    return 1;
}

void fat_index_tail_note(struct fat_dir_index *index, const uint8_t basis[11], uint32_t next)
{
    struct fat_tail_hint *hint = NULL;
    for (int i = 0; i < FAT_TAIL_HINTS && !hint; i++)
        if (index->tail_hints[i].next && memcmp(index->tail_hints[i].basis, basis, 11) == 0)
            hint = &index->tail_hints[i];
    if (!hint) {
        hint = &index->tail_hints[index->next_hint];
        index->next_hint = (index->next_hint + 1) % FAT_TAIL_HINTS;
        memcpy(hint->basis, basis, 11);
    }
    hint->next = next;
}

void fat_index_drop_all(struct fat_volume *vol)
{
    for (int i = 0; i < FAT_INDEX_DIRS; i++)
        index_drop(&vol->indexes[i]);
}

static uint32_t resolve_dir(const struct fat_volume *vol, uint32_t dir_cluster)
{
    return dir_cluster == 0 && vol->type == 32 ? vol->root_cluster : dir_cluster;
}

struct fat_dir_index *fat_index_of(struct fat_volume *vol, uint32_t dir_cluster)
{
    uint32_t first = resolve_dir(vol, dir_cluster);
    for (int i = 0; i < FAT_INDEX_DIRS; i++)
        if (vol->indexes[i].valid && vol->indexes[i].first_cluster == first)
            return &vol->indexes[i];
    return NULL;
}

void fat_index_drop_dir(struct fat_volume *vol, uint32_t dir_cluster)
{
    struct fat_dir_index *index = fat_index_of(vol, dir_cluster);
    if (index)
        index_drop(index);
}

static int index_append(struct fat_dir_index *index, const struct fat_entry_info *e)
{
    if (index->count == index->capacity) {
        uint32_t capacity = index->capacity ? index->capacity * 2 : 64;
        struct fat_index_entry *entries = krealloc(index->entries, sizeof(*entries) * capacity);
        if (!entries)
            return -ENOMEM;
        index->entries = entries;
        index->capacity = capacity;
        int err = tables_resize(index);
        if (err)
            return err;
    }
    struct fat_index_entry *slot = &index->entries[index->count++];
    slot->hash = entry_hash(e);
    slot->index = e->index;
    slot->first_index = e->first_index;
    slot->has_long_name = e->unit_count != 0;
    fat_short_match_form(e->raw, slot->short_name);
    if (e->index + 1 > index->end_index)
        index->end_index = e->index + 1;
    for (int key = 0; key < FAT_INDEX_KEYS; key++)
        chain_insert(index, key, index->count - 1);
    return 0;
}

/* Slots the directory's clusters hold (its chain walked, bounded). */
static int directory_capacity(struct fat_volume *vol, uint32_t first, uint32_t *out)
{
    if (first == 0) {
        *out = vol->root_entries;
        return 0;
    }
    uint32_t per_cluster = vol->cluster_size / FAT_DIR_ENTRY_SIZE, clusters = 1, c = first;
    while ((uint64_t)clusters * per_cluster < FAT_DIR_MAX_ENTRIES) {
        int r = fat_next_cluster(vol, c, &c);
        if (r < 0) {
            *out = clusters * per_cluster; /* what could be walked */
            return r;
        }
        if (r == 0)
            break;
        clusters++;
    }
    *out = (uint32_t)MIN((uint64_t)clusters * per_cluster, (uint64_t)FAT_DIR_MAX_ENTRIES);
    return 0;
}

/* An unused index for a directory of up to slots entries: the least recently used are dropped
 * while no slot is free or the entries kept would pass the budget, but never the most recently
 * used one (a caller may be between a lookup in one directory and an add in another). */
static struct fat_dir_index *index_for_new(struct fat_volume *vol, uint32_t slots)
{
    for (;;) {
        struct fat_dir_index *unused = NULL, *oldest = NULL, *newest = NULL;
        uint64_t held = 0;
        for (int i = 0; i < FAT_INDEX_DIRS; i++) {
            struct fat_dir_index *index = &vol->indexes[i];
            if (!index->valid) {
                unused = unused ? unused : index;
                continue;
            }
            held += index->capacity;
            if (!oldest || index->last_use < oldest->last_use)
                oldest = index;
            if (!newest || index->last_use > newest->last_use)
                newest = index;
        }
        bool over = held + slots > vol->index_entry_budget && oldest != newest;
        if (unused && !over)
            return unused;
        if (!unused && oldest == newest)
            return oldest; /* one index in all: it goes */
        index_drop(oldest);
    }
}

/* Builds the index for a directory (by its resolved first cluster) unless it is current. */
int fat_index_prepare(struct fat_volume *vol, uint32_t dir_cluster, struct fat_entry_info *e)
{
    struct fat_dir_cursor cursor;
    fat_cursor_init(vol, &cursor, dir_cluster);
    struct fat_dir_index *index = fat_index_of(vol, dir_cluster);
    if (index) {
        index->last_use = ++vol->index_clock;
        return 0;
    }
    uint32_t slot_capacity;
    int err = directory_capacity(vol, cursor.first_cluster, &slot_capacity);
    index = index_for_new(vol, slot_capacity);
    index_drop(index);
    index->last_use = ++vol->index_clock;
    index->first_cluster = cursor.first_cluster;
    index->slot_capacity = slot_capacity;
    uint32_t position = 0, live_slots = 0;
    /* A damaged or truncated directory is indexed up to the damage, which lookups of names
     * not found before it then report, as a scan would: without that, every lookup in it
     * would rescan it (found by fuzzing truncated images). */
    if (err == -EUCLEAN || err == -EIO) {
        index->damage = err;
        err = 0;
    }
    for (;;) {
        if (err)
            break;
        int r = fat_dir_next_raw(vol, &cursor, &position, e);
        if (r == -EUCLEAN || r == -EIO) {
            index->damage = r;
            break;
        }
        if (r < 0)
            err = r;
        if (r <= 0)
            break;
        live_slots += e->index - e->first_index + 1;
        if (fat_is_dot_entry(e->raw))
            continue;
        err = index_append(index, e);
    }
    if (err) {
        index_drop(index);
        return err;
    }
    /* slots before the end marker that no live entry uses: deleted or orphaned */
    index->end_index = position;
    index->has_holes = live_slots != position || index->damage;
    index->valid = true;
    return 0;
}

void fat_index_added(struct fat_volume *vol, uint32_t dir_cluster, const struct fat_entry_info *e)
{
    struct fat_dir_index *index = fat_index_of(vol, dir_cluster);
    if (index && index_append(index, e) != 0)
        index_drop(index);
}

void fat_index_removed(struct fat_volume *vol, uint32_t dir_cluster, uint32_t slot)
{
    struct fat_dir_index *index = fat_index_of(vol, dir_cluster);
    if (!index)
        return;
    for (uint32_t i = 0; i < index->count; i++) {
        if (index->entries[i].index != slot)
            continue;
        entry_remove(index, i);
        index->has_holes = true;
        memset(index->tail_hints, 0, sizeof(index->tail_hints)); /* a tail may be free again */
        return;
    }
    index_drop(index);
}

void fat_index_grown(struct fat_volume *vol, uint32_t dir_cluster, uint32_t slots)
{
    struct fat_dir_index *index = fat_index_of(vol, dir_cluster);
    if (index)
        index->slot_capacity =
            (uint32_t)MIN((uint64_t)index->slot_capacity + slots, FAT_DIR_MAX_ENTRIES);
}

#define FIND_CANDIDATES 16

static void add_candidate(uint32_t *candidates, uint32_t *count, uint32_t position)
{
    for (uint32_t i = 0; i < *count && i < FIND_CANDIDATES; i++)
        if (candidates[i] == position)
            return;
    if (*count < FIND_CANDIDATES)
        candidates[*count] = position;
    (*count)++; /* past FIND_CANDIDATES: too many, the caller falls back to a pass */
}

/* Positions whose 8.3 name or long-name hash could be the key's (each once); past
 * FIND_CANDIDATES it stops counting (a damaged directory's chain of one name may be long). */
static uint32_t find_candidates(const struct fat_dir_index *index, const struct fat_name_key *key,
                                uint32_t hash, uint32_t *candidates)
{
    uint32_t count = 0;
    const struct fat_index_table *table = &index->tables[FAT_INDEX_BY_SHORT];
    if (!table->buckets)
        return 0;
    if (key->has_short_form)
        for (uint32_t at = table->buckets[short_hash(key->short_form) & table->mask];
             at && count <= FIND_CANDIDATES; at = index->entries[at - 1].next[FAT_INDEX_BY_SHORT])
            if (memcmp(index->entries[at - 1].short_name, key->short_form, 11) == 0)
                add_candidate(candidates, &count, at - 1);
    table = &index->tables[FAT_INDEX_BY_LONG];
    for (uint32_t at = table->buckets[hash & table->mask]; at && count <= FIND_CANDIDATES;
         at = index->entries[at - 1].next[FAT_INDEX_BY_LONG])
        if (index->entries[at - 1].hash == hash)
            add_candidate(candidates, &count, at - 1);
    return count;
}

static bool index_entry_may_match(const struct fat_index_entry *slot,
                                  const struct fat_name_key *key, uint32_t hash)
{
    return (key->has_short_form && memcmp(slot->short_name, key->short_form, 11) == 0) ||
           (slot->has_long_name && slot->hash == hash);
}

/* Looks the key up; returns 1 with e filled, 0 if absent, or an error.  Candidates are read
 * back in the index's order, so a directory holding a name twice (damaged) answers with the
 * same entry as a pass over the index would. */
int fat_index_find(struct fat_volume *vol, uint32_t dir_cluster, const struct fat_name_key *key,
                   struct fat_entry_info *e)
{
    struct fat_dir_index *index = fat_index_of(vol, dir_cluster);
    if (!index)
        return -ENOENT;
    uint32_t hash = fat_key_hash(key), candidates[FIND_CANDIDATES];
    /* with too many candidates (one name many times): a pass over the entries, in order */
    uint32_t count = find_candidates(index, key, hash, candidates);
    bool by_table = count <= FIND_CANDIDATES;
    if (by_table) /* few: sorted by insertion */
        for (uint32_t i = 1; i < count; i++)
            for (uint32_t j = i; j > 0 && candidates[j - 1] > candidates[j]; j--) {
                uint32_t t = candidates[j];
                candidates[j] = candidates[j - 1];
                candidates[j - 1] = t;
            }
    else
        count = index->count;
    struct fat_dir_cursor cursor;
    fat_index_cursor(vol, dir_cluster, &cursor);
    int result = index->damage; /* not before the damage; after it, unknown */
    for (uint32_t i = 0; i < count; i++) {
        const struct fat_index_entry *slot = &index->entries[by_table ? candidates[i] : i];
        if (!by_table && !index_entry_may_match(slot, key, hash))
            continue;
        uint32_t position = slot->first_index;
        int r = fat_dir_next_raw(vol, &cursor, &position, e);
        if (r < 0 || (r == 1 && fat_name_key_matches(key, e))) {
            result = r;
            break;
        }
    }
    fat_index_keep_cursor(vol, dir_cluster, &cursor);
    return result;
}

void fat_index_cursor(struct fat_volume *vol, uint32_t dir_cluster, struct fat_dir_cursor *cursor)
{
    fat_cursor_init(vol, cursor, dir_cluster);
    const struct fat_dir_index *index = fat_index_of(vol, dir_cluster);
    if (index && index->cursor.first_cluster == cursor->first_cluster)
        *cursor = index->cursor;
}

void fat_index_keep_cursor(struct fat_volume *vol, uint32_t dir_cluster,
                           const struct fat_dir_cursor *cursor)
{
    struct fat_dir_index *index = fat_index_of(vol, dir_cluster);
    if (index && cursor->first_cluster == index->first_cluster)
        index->cursor = *cursor;
}
