/* Shared internals of the FAT library. */
#ifndef FS_FAT_INTERNAL_H
#define FS_FAT_INTERNAL_H

#include <rayos/fat.h>
#include <rayos/string.h>
#include <rayos/types.h>

#define FAT_CACHE_SLOTS     128
#define FAT_CACHE_BUCKETS   64 /* hash chains over the cached sectors */
#define FAT_READ_AHEAD      16 /* sectors per cache fill at most */
#define FAT_DIR_ENTRY_SIZE  32
#define FAT_DIR_MAX_ENTRIES 65536 /* the specification's limit: 2 MiB per directory */
#define FAT_LFN_MAX_SLOTS   20
#define FAT_PATH_DEPTH_MAX  256
#define FAT_ATTR_LONG_NAME  0x0f
#define FAT_NT_LOWER_BASE   0x08
#define FAT_NT_LOWER_EXT    0x10
#define FAT_NO_SHORT_NAME   0x20 /* byte 12: the 8.3 name is a dummy (fsck.fat's FAT_NO_83NAME) */
#define FAT_ENTRY_DELETED   0xe5
#define FAT_CLUSTER_FIRST   2
#define FAT_FRESH_TAILS     8
#define FAT_INTENT_SLOTS    4
#define FAT_INTENT_BYTES    (FAT_INTENT_SLOTS * FAT_DIR_ENTRY_SIZE)
#define FAT_RESERVED_SCAN   64 /* reserved sectors a rename record may be in, at most */

/* Write phases of cached metadata: each phase is written and flushed to the device before the
 * next starts (docs/FAT.md).  New chains, then links from existing chains into them, then
 * directory sectors that publish them. */
enum fat_phase {
    FAT_PHASE_CLEAN = 0,
    FAT_PHASE_CHAIN = 1,
    FAT_PHASE_LINK = 2,
    FAT_PHASE_DIRECTORY = 3,
};

struct fat_cache_slot {
    uint64_t sector; /* filesystem sector */
    uint8_t *data;
    uint32_t last_use;
    uint16_t next_in_bucket; /* slot number + 1 of the next valid slot in its bucket, 0: none */
    bool valid;
    bool is_fat; /* a FAT sector: written to every FAT copy */
    uint8_t phase;
};

#define FAT_LFN_UNITS_SLOT 13

/* A long-name run being collected while a directory is read. */
struct fat_lfn_state {
    int expected; /* next sequence number wanted; 0 = run complete; -1 = no run */
    uint8_t checksum;
    uint8_t slots;
    uint32_t start;
    uint16_t units[FAT_LFN_MAX_SLOTS * FAT_LFN_UNITS_SLOT];
};

/* A name prepared for many comparisons: folded UTF-16 and its 8.3 form if it has one. */
struct fat_name_key {
    uint16_t folded[FAT_NAME_MAX];
    uint16_t length;
    bool has_short_form;
    uint8_t short_form[11];
};

/* The keys a directory index finds entries by: the 8.3 name (as matched; every entry) and the
 * folded long name's hash (entries with a long name). */
enum fat_index_key { FAT_INDEX_BY_SHORT, FAT_INDEX_BY_LONG, FAT_INDEX_KEYS };

struct fat_index_entry {
    uint32_t hash; /* of the folded long name */
    uint32_t index;
    uint32_t first_index;
    /* per key, the next entry of its bucket (position + 1, 0: none) */
    uint32_t next[FAT_INDEX_KEYS];
    bool has_long_name;
    uint8_t short_name[11]; /* as matched: fat_short_match_form() of the entry's name */
};

/* Entries of an index by one key: hash chains, as many buckets as the entries' capacity, each
 * the position + 1 of its newest entry (0: none).  Entries of one key share one chain, which
 * only lookups of that key walk: a damaged directory of thousands of copies of one entry costs
 * other lookups nothing. */
struct fat_index_table {
    uint32_t *buckets;
    uint32_t mask;
};

/* Where a directory lives: a cluster chain, or cluster 0 = the FAT12/16 fixed root. */
struct fat_dir_cursor {
    uint32_t first_cluster;
    uint32_t cached_index; /* cluster index within the chain of cached_cluster */
    uint32_t cached_cluster;
};

/* Directories whose indexes are kept: every directory of a path stays indexed while a walk of a
 * deep tree looks up its files (with fewer slots than levels, the least recently used one was
 * always the next needed, and each lookup rebuilt them all). */
#define FAT_INDEX_DIRS 32
/* The entries all kept indexes may hold (a soft bound: one directory larger than it is still
 * indexed): at worst as much memory as four of the largest directories. */
#define FAT_INDEX_ENTRY_BUDGET (4 * FAT_DIR_MAX_ENTRIES)
#define FAT_TAIL_HINTS         4

/* Where the search for a free ~N alias of a basis starts: every tail below next was in use
 * when it was noted (adds only use more; a removal forgets the hints). */
struct fat_tail_hint {
    uint8_t basis[11];
    uint32_t next; /* 0: unused hint */
};

struct fat_dir_index {
    bool valid;
    uint32_t last_use;
    bool has_holes; /* free slots before the end marker: new entries need a search */
    uint32_t first_cluster;
    uint32_t end_index;     /* the end marker's slot (or the capacity) */
    uint32_t slot_capacity; /* slots in the directory's clusters */
    int damage;             /* -EUCLEAN or -EIO where the directory could not be read on */
    uint32_t count, capacity;
    struct fat_index_entry *entries;
    struct fat_index_table tables[FAT_INDEX_KEYS];
    struct fat_dir_cursor cursor; /* the last slot addressed: appends walk no chain */
    struct fat_tail_hint tail_hints[FAT_TAIL_HINTS];
    uint32_t next_hint; /* the hint to replace next */
};

struct fat_volume {
    const struct block_io *io;
    struct fat_dir_index indexes[FAT_INDEX_DIRS]; /* the directories used most recently */
    uint32_t index_clock;
    uint32_t index_entry_budget; /* FAT_INDEX_ENTRY_BUDGET (smaller in a unit test) */
    struct fat_lfn_state lfn;    /* scratch for directory reads (one caller at a time) */
    struct fat_clock clock;
    bool read_only;
    unsigned type; /* 12, 16, 32 */
    uint32_t sector_size;
    uint32_t blocks_per_sector; /* device blocks per filesystem sector */
    uint32_t sectors_per_cluster;
    uint32_t cluster_size;
    uint32_t reserved_sectors;
    uint32_t fat_count;
    uint32_t fat_sectors;
    uint32_t root_entries; /* FAT12/16 fixed root */
    uint64_t root_start;   /* FAT12/16: first sector of the fixed root */
    uint32_t root_cluster; /* FAT32 */
    uint64_t fat_start;
    uint64_t data_start;
    uint64_t total_sectors;
    uint64_t device_sectors; /* total_sectors, or fewer on a truncated volume (read-only) */
    bool truncated;
    uint32_t cluster_count; /* valid clusters are 2 .. cluster_count + 1 */
    uint32_t fsinfo_sector; /* 0 when absent or not valid */
    bool fsinfo_bad;        /* the BPB names an FSInfo sector whose signatures are wrong */
    uint32_t backup_boot_sector;
    uint32_t free_count;
    bool free_count_known;
    uint32_t next_free;
    uint32_t volume_id;
    uint8_t boot_label[11]; /* as in the boot sector (spaces if there is no extended record) */
    bool has_boot_label;
    bool was_dirty;
    bool marked_dirty;   /* we set the dirty bits on disk */
    bool data_unflushed; /* file data written straight to the device since the last flush */
    uint8_t *boot_sector;
    /* rename intent record (intent.c) */
    uint32_t intent_sector;    /* its reserved sector, 0 if none is spare (root slots then) */
    uint64_t intent_at_sector; /* where the current record stands */
    uint32_t intent_at_offset;
    uint8_t intent_saved[FAT_INTENT_BYTES]; /* root slots' bytes under the record */
    bool intent_pending;                    /* found at a read-only mount */
    bool intent_stuck;                      /* a failed rename left its record: no more */
    /* Sectors [1, mount_area_end) as the mount read them in one request (boot.c), until the
     * mount has looked for a record in them; NULL otherwise. */
    uint8_t *mount_area;
    uint32_t mount_area_end;
    int move_outcome; /* FAT_MOVE_*: what the mount did */
    /* The last clusters of the latest allocations since the last flush (0: none): nothing
     * durable reaches them yet, so extending their chains is part of the new chains (CHAIN
     * phase), not a link (table.c).  A ring: the oldest is forgotten first. */
    uint32_t fresh_tails[FAT_FRESH_TAILS];
    uint32_t next_fresh;
    uint32_t use_counter;
    uint8_t *read_ahead;  /* FAT_READ_AHEAD sectors */
    unsigned recent_slot; /* the last slot found: sequential FAT scans hit it */
    struct fat_cache_slot cache[FAT_CACHE_SLOTS];
    uint16_t cache_buckets[FAT_CACHE_BUCKETS]; /* first valid slot (number + 1) by sector */
    unsigned open_count;
    struct fat_file *open_files;
};

struct fat_entry_info {
    uint8_t raw[FAT_DIR_ENTRY_SIZE];
    uint16_t units[FAT_NAME_MAX]; /* the long name, if valid */
    uint16_t unit_count;          /* 0: no valid long name */
    uint32_t index;               /* slot of the 8.3 entry */
    uint32_t first_index;         /* first slot of its long-name run (== index without one) */
    uint64_t sector;              /* where the 8.3 entry lives */
    uint32_t offset;
    char name[FAT_NAME_UTF8_MAX + 1];
};

/* One piece of the run map: clusters [cluster, cluster + length) hold file clusters
 * [file_cluster, file_cluster + length). */
struct fat_run {
    uint32_t file_cluster;
    uint32_t cluster;
    uint32_t length;
};

struct fat_file {
    struct fat_volume *volume;
    struct fat_file *next_open;
    unsigned flags;
    uint64_t entry_sector; /* 8.3 entry location */
    uint32_t entry_offset;
    uint32_t parent_cluster;
    uint32_t first_cluster;
    uint32_t size;
    uint64_t position;
    bool entry_dirty;
    bool map_complete;
    struct fat_run *runs;
    uint32_t run_count;
    uint32_t run_capacity;
    uint32_t mapped_clusters;  /* clusters covered by runs */
    uint8_t *bounce;           /* one sector for partial-sector I/O */
    unsigned writes_in_flight; /* planned, not yet committed (fat_write_plan) */
};

struct fat_dir {
    struct fat_volume *volume;
    struct fat_dir_cursor cursor;
    uint32_t position;
};

/* io.c: device access and the metadata cache */
int fat_device_read(struct fat_volume *vol, uint64_t sector, uint32_t count, void *buffer);
int fat_device_write(struct fat_volume *vol, uint64_t sector, uint32_t count, const void *buffer);
int fat_cache_get(struct fat_volume *vol, uint64_t sector, bool is_fat, uint8_t **data);
int fat_cache_get_ahead(struct fat_volume *vol, uint64_t sector, bool is_fat, uint32_t ahead,
                        uint8_t **data);
/* Caches a sector read by other means (clean), unless it is cached already. */
int fat_cache_install(struct fat_volume *vol, uint64_t sector, bool is_fat, const uint8_t *data);
void fat_cache_mark(struct fat_volume *vol, uint64_t sector, uint8_t phase);
bool fat_cache_has_phase(const struct fat_volume *vol, uint8_t phase);
void fat_cache_drop_range(struct fat_volume *vol, uint64_t sector, uint64_t count);
int fat_cache_flush(struct fat_volume *vol);
void fat_cache_release(struct fat_volume *vol);
int fat_mark_dirty(struct fat_volume *vol);
int fat_volume_sync(struct fat_volume *vol);
int fat_mark_clean(struct fat_volume *vol);
uint64_t fat_cluster_sector(const struct fat_volume *vol, uint32_t cluster);
void fat_now(struct fat_volume *vol, uint16_t *date, uint16_t *time);

/* boot.c */
int fat_parse_boot_sector(struct fat_volume *vol, const uint8_t *boot, uint64_t device_blocks,
                          uint32_t block_size);
int fat_load_volume(const struct block_io *io, bool read_only, struct fat_volume **out);
/* Frees what the load read ahead for the mount's own look for a rename record. */
void fat_drop_mount_area(struct fat_volume *vol);
void fat_free_volume(struct fat_volume *vol);
int fat_write_boot_label(struct fat_volume *vol, const uint8_t bytes[11]);

/* table.c: FAT entries, chains and allocation */
#define FAT_NEXT_CLUSTER 0
#define FAT_NEXT_END     1
enum fat_next_kind { FAT_LINK_NEXT, FAT_LINK_END, FAT_LINK_FREE, FAT_LINK_BAD, FAT_LINK_RANGE };
int fat_get_entry(struct fat_volume *vol, uint32_t cluster, uint32_t *value);
int fat_set_entry(struct fat_volume *vol, uint32_t cluster, uint32_t value, uint8_t phase);
int fat_classify(const struct fat_volume *vol, uint32_t value);
uint32_t fat_end_of_chain(const struct fat_volume *vol);
bool fat_cluster_valid(const struct fat_volume *vol, uint32_t cluster);
/* Next cluster of a well-formed chain: 1 with *next, 0 at the end, -EUCLEAN on damage. */
int fat_next_cluster(struct fat_volume *vol, uint32_t cluster, uint32_t *next);
int fat_count_free(struct fat_volume *vol);
/* Calls visit for the entry of every cluster of the volume, in order, reading the FAT a sector
 * at a time (whole-FAT passes: the free count, check); visit must not use the volume.  Returns
 * 0, or the error of the first entry that cannot be read (those before it were visited). */
typedef void (*fat_entry_visit)(void *context, uint32_t cluster, uint32_t value);
int fat_for_each_entry(struct fat_volume *vol, fat_entry_visit visit, void *context);
int fat_allocate(struct fat_volume *vol, uint32_t after, uint32_t count, bool contiguous,
                 uint32_t *first);
int fat_free_chain(struct fat_volume *vol, uint32_t first);
/* Forgets the fresh tails (a flush made them reachable, or a chain is being freed). */
void fat_forget_fresh(struct fat_volume *vol);
int fat_zero_clusters(struct fat_volume *vol, uint32_t first, uint32_t count);

/* The "." or ".." entry of a subdirectory (by its 8.3 name; the first byte decides almost
 * always, and this runs for every entry a scan reads). */
static inline bool fat_is_dot_entry(const uint8_t raw[11])
{
    return raw[0] == '.' &&
           (memcmp(raw, ".          ", 11) == 0 || memcmp(raw, "..         ", 11) == 0);
}

/* name.c */
/* strlcpy without depending on the C library having it (the host's may not). */
void fat_copy_string(char *dst, const char *src, size_t size);
bool fat_long_name_valid(const char *name);
/* Case-insensitive name comparison (ASCII, Latin-1, Latin Extended-A, Greek, Cyrillic). */
bool fat_name_equal(const char *a, const char *b);
uint16_t fat_fold_unit(uint16_t unit);
int fat_name_key_init(struct fat_name_key *key, const char *name);
bool fat_name_key_matches(const struct fat_name_key *key, const struct fat_entry_info *e);
uint8_t fat_short_checksum(const uint8_t short_name[11]);
void fat_short_to_string(const uint8_t *raw, bool apply_case, char *out, size_t size);
bool fat_short_from_display(const char *name, uint8_t out[11]);
bool fat_short_is_odd(const uint8_t raw[11]);
/* The 11 bytes a name key's short form is compared with: the raw name, or for an odd one the
 * form of the name it is shown as (so an index compares both with one memcmp). */
void fat_short_match_form(const uint8_t raw[11], uint8_t out[11]);
/* A long name read from disk that Linux's vfat would have made: not "." or "..", no '/',
 * control characters, reserved characters or unpaired surrogates.  Others fall back to 8.3. */
bool fat_long_units_valid(const uint16_t *units, size_t count);
struct fat_short_plan {
    uint8_t basis[11];
    uint8_t case_flags;
    bool lossy;     /* needs a ~N tail */
    bool needs_lfn; /* the name is not its own 8.3 form */
    size_t name_length;
};
void fat_plan_short_name(const char *name, struct fat_short_plan *plan);
void fat_apply_tail(const uint8_t basis[11], uint32_t number, uint8_t out[11]);
int fat_tail_number(const uint8_t basis[11], const uint8_t candidate[11]);

/* dir.c */
void fat_cursor_init(const struct fat_volume *vol, struct fat_dir_cursor *cursor,
                     uint32_t dir_cluster);
/* How many sectors from this directory sector on to read in one request: the rest of its
 * cluster, or of the fixed root. */
uint32_t fat_dir_sectors_ahead(const struct fat_volume *vol, uint64_t sector);
int fat_dir_slot(struct fat_volume *vol, struct fat_dir_cursor *cursor, uint32_t index,
                 uint64_t *sector, uint32_t *offset);
int fat_dir_next(struct fat_volume *vol, struct fat_dir_cursor *cursor, uint32_t *position,
                 struct fat_entry_info *out);
int fat_dir_find(struct fat_volume *vol, uint32_t dir_cluster, const char *name,
                 struct fat_entry_info *out);
int fat_dir_add(struct fat_volume *vol, uint32_t dir_cluster, const char *name,
                const uint8_t template_entry[32], struct fat_entry_info *out);
/* An entry planned but not yet written: its alias and slots [first, first + lfn_slots]. */
struct fat_dir_plan {
    uint32_t dir_cluster;
    const char *name; /* the caller's, kept until the commit */
    uint16_t units[FAT_NAME_MAX];
    uint16_t unit_count;
    uint8_t short_name[11];
    uint8_t case_flags;
    bool needs_lfn;
    bool after_end; /* the slots start at or after the end marker */
    uint32_t lfn_slots;
    uint32_t first;
};
int fat_dir_plan_add(struct fat_volume *vol, uint32_t dir_cluster, const char *name,
                     const struct fat_entry_info *replacing, struct fat_dir_plan *plan);
int fat_dir_commit_add(struct fat_volume *vol, const struct fat_dir_plan *plan,
                       const uint8_t template_entry[32], struct fat_entry_info *out);
int fat_dir_remove(struct fat_volume *vol, uint32_t dir_cluster, const struct fat_entry_info *e);
int fat_dir_is_empty(struct fat_volume *vol, uint32_t dir_cluster);
int fat_write_entry(struct fat_volume *vol, uint64_t sector, uint32_t offset,
                    const uint8_t raw[32]);
uint32_t fat_entry_cluster(const struct fat_volume *vol, const uint8_t *raw);
void fat_entry_set_cluster(uint8_t *raw, uint32_t cluster);
void fat_entry_to_stat(const uint8_t *raw, const struct fat_volume *vol, struct fat_stat *out);

int fat_find_label_entry(struct fat_volume *vol, uint8_t raw[32], uint64_t *sector,
                         uint32_t *offset);
int fat_write_label_entry(struct fat_volume *vol, const uint8_t *name);
/* 11 label bytes as UTF-8 without the trailing spaces. */
void fat_label_to_string(const uint8_t *bytes, char *out, size_t size);
int fat_dir_next_raw(struct fat_volume *vol, struct fat_dir_cursor *cursor, uint32_t *position,
                     struct fat_entry_info *out);

/* index.c */
uint32_t fat_key_hash(const struct fat_name_key *key);
void fat_index_drop_all(struct fat_volume *vol);
void fat_index_drop_dir(struct fat_volume *vol, uint32_t dir_cluster);
int fat_index_prepare(struct fat_volume *vol, uint32_t dir_cluster, struct fat_entry_info *e);
struct fat_dir_index *fat_index_of(struct fat_volume *vol, uint32_t dir_cluster);
void fat_index_added(struct fat_volume *vol, uint32_t dir_cluster, const struct fat_entry_info *e);
void fat_index_removed(struct fat_volume *vol, uint32_t dir_cluster, uint32_t slot);
void fat_index_grown(struct fat_volume *vol, uint32_t dir_cluster, uint32_t slots);
int fat_index_find(struct fat_volume *vol, uint32_t dir_cluster, const struct fat_name_key *key,
                   struct fat_entry_info *e);
/* A cursor into the directory that starts where the index's last one stopped (the chain
 * below it is walked once), and the one to keep for next time. */
void fat_index_cursor(struct fat_volume *vol, uint32_t dir_cluster, struct fat_dir_cursor *cursor);
void fat_index_keep_cursor(struct fat_volume *vol, uint32_t dir_cluster,
                           const struct fat_dir_cursor *cursor);
/* Whether an entry of the directory has this 8.3 name (as matched). */
bool fat_index_has_short(const struct fat_dir_index *index, const uint8_t short_name[11]);
/* The first ~N worth trying for a basis (1 when nothing is known), and a note that every tail
 * below next is in use. */
uint32_t fat_index_tail_start(const struct fat_dir_index *index, const uint8_t basis[11]);
void fat_index_tail_note(struct fat_dir_index *index, const uint8_t basis[11], uint32_t next);

/* intent.c: the rename intent record */
struct fat_move_intent {
    uint32_t old_dir, old_first, old_index; /* the entry's slots before */
    uint32_t new_dir, new_first, new_index; /* and after */
    uint32_t moved_cluster;
    uint32_t old_parent, new_parent; /* what a moved directory's ".." names */
    bool is_dir;
    uint8_t old_raw[32];   /* the old 8.3 entry */
    uint8_t new_short[11]; /* the new entry's 8.3 name */
};
/* Makes the record durable: 1 written, 0 no place for it, or an error. */
int fat_intent_begin(struct fat_volume *vol, const struct fat_move_intent *m);
/* The move is complete: made durable, then the record cleared durably. */
int fat_intent_end(struct fat_volume *vol);
/* A rename failed half-way: settle it now as the next mount would. */
int fat_intent_abort(struct fat_volume *vol);
/* At mount: complete or undo an interrupted rename (a read-only mount only notes it). */
int fat_intent_recover(struct fat_volume *vol);
int fat_set_dotdot(struct fat_volume *vol, uint32_t dir_cluster, uint32_t parent);

/* check.c */
/* The directories a check or a repair has still to walk (breadth first), by first cluster. */
struct fat_cluster_list {
    uint32_t *items;
    uint32_t length, capacity;
};
int fat_cluster_list_push(struct fat_cluster_list *list, uint32_t cluster); /* 0 or -ENOMEM */
/* fsck.fat's rule for a valid 8.3 name. */
bool fat_short_name_fsck_valid(const uint8_t *raw);
bool fat_entry_name_fsck_valid(const struct fat_entry_info *e);
/* Names seen in one directory: each 8.3 name and each long name (folded, as a 64-bit hash with
 * its length) once.  An open-addressing set, grown at half full. */
struct name_record {
    uint64_t key; /* 0 = empty slot */
    uint8_t short_name[11];
    bool is_long;
};
struct fat_name_set {
    struct name_record *slots;
    uint32_t capacity, count;
};
/* Notes an entry's names: 0 both new, 1 its 8.3 name was seen, 2 its long name was. */
int fat_names_note(struct fat_name_set *set, const struct fat_entry_info *e);
/* 1 if the 8.3 name was seen, else 0 (now noted). */
int fat_names_add_short(struct fat_name_set *set, const uint8_t short_name[11]);
void fat_names_clear(struct fat_name_set *set);

/* path.c */
/* What a path's last component was: a name, or a directory reached as the root, "." or "..";
 * FAT_LAST_SLASH is or-ed in when the path ends in '/'. */
#define FAT_LAST_NAME   0
#define FAT_LAST_ROOT   1
#define FAT_LAST_DOT    2
#define FAT_LAST_DOTDOT 3
#define FAT_LAST_KIND   3
#define FAT_LAST_SLASH  4
/* Resolves path component by component ("." and ".." against the directories walked, so a
 * file or a missing entry before ".." is ENOTDIR or ENOENT, and "FILE/" is ENOTDIR).
 * *parent_cluster gets the containing directory and *last the final component when it is a
 * name (NULL after "/", "." or ".."); with that entry missing, returns -ENOENT but still
 * fills parent and last (for create).  kind (may be NULL) gets FAT_LAST_*. */
int fat_resolve(struct fat_volume *vol, const char *path, uint32_t *parent_cluster,
                const char **last, size_t *last_length, struct fat_entry_info *out, unsigned *kind);
uint32_t fat_root_cluster(const struct fat_volume *vol);

/* file.c */
int fat_create_entry(struct fat_volume *vol, uint32_t parent, const char *name, uint8_t attributes,
                     uint32_t cluster, struct fat_entry_info *out);
bool fat_entry_is_open(struct fat_volume *vol, uint64_t sector, uint32_t offset);
int fat_map_cluster(struct fat_file *file, uint32_t file_cluster, uint32_t *cluster,
                    uint32_t *run_left);

#endif
