/* The intent record that makes a rename (a move between directories, a new long name) atomic
 * across a power cut (docs/FAT.md, "Moves and renames").
 *
 * FAT cannot order its way out of a move: the new entry and the old one live in different
 * sectors, so some cut leaves both (two names sharing a chain) or neither.  Before a rename
 * writes anything, a small record naming the old slots and the planned new slots is made
 * durable; it is cleared (durably) once the move is complete.  The next writable mount finds
 * it and completes the move if the old entry was already being removed (the new one was
 * durable by then), or else undoes it, before anything else touches the volume.
 *
 * The record is 4 directory slots (128 bytes) that every FAT implementation reads as deleted
 * entries (first byte 0xE5, attribute byte 0), so that it bothers nobody wherever it stands:
 * - in a spare reserved sector (FAT32 has 32; FAT12/16 volumes with more than one), one that
 *   is all zeros or already holds a record, and never the boot sector, FSInfo, the backup
 *   boot sectors or the sectors Windows keeps boot code in (2 and 12);
 * - else in four unused slots of one sector of the root directory (FAT12/16 made with one
 *   reserved sector): deleted ones, or ones past the end marker, never the marker itself;
 *   their bytes are put back afterwards. */
#define pr_fmt(fmt) "fat: " fmt

#include <rayos/bytes.h>
#include <rayos/crc32.h>
#include <rayos/errno.h>
#include <rayos/heap.h>
#include <rayos/printk.h>
#include <rayos/string.h>

#include "fat_internal.h"

#define INTENT_MAGIC            "RAYINTNT"
#define INTENT_VERSION          1
#define INTENT_PAYLOAD_PER_SLOT 30 /* a slot's bytes but 0 (0xE5) and 11 (attribute 0) */
#define INTENT_PAYLOAD          (FAT_INTENT_SLOTS * INTENT_PAYLOAD_PER_SLOT)
#define INTENT_FLAG_DIRECTORY   1
#define ROOT_SCAN_SLOTS         2048

enum {
    AT_MAGIC = 0,
    AT_VERSION = 8,
    AT_FLAGS = 9,
    AT_OLD_DIR = 12,
    AT_OLD_FIRST = 16,
    AT_OLD_INDEX = 20,
    AT_NEW_DIR = 24,
    AT_NEW_FIRST = 28,
    AT_NEW_INDEX = 32,
    AT_MOVED = 36,
    AT_OLD_PARENT = 40,
    AT_NEW_PARENT = 44,
    AT_VOLUME_ID = 48,
    AT_OLD_RAW = 52,
    AT_NEW_SHORT = 84,
    AT_CRC = 96,
    AT_END = 100,
};

/* Payload byte p lives at this offset of the record's 128 bytes. */
static uint32_t payload_offset(uint32_t p)
{
    uint32_t slot = p / INTENT_PAYLOAD_PER_SLOT, within = p % INTENT_PAYLOAD_PER_SLOT;
    return slot * FAT_DIR_ENTRY_SIZE + (within < 10 ? 1 + within : 2 + within);
}

static void pack(const uint8_t payload[INTENT_PAYLOAD], uint8_t out[FAT_INTENT_BYTES])
{
    memset(out, 0, FAT_INTENT_BYTES);
    for (uint32_t slot = 0; slot < FAT_INTENT_SLOTS; slot++)
        out[slot * FAT_DIR_ENTRY_SIZE] = FAT_ENTRY_DELETED;
    for (uint32_t p = 0; p < INTENT_PAYLOAD; p++)
        out[payload_offset(p)] = payload[p];
}

static void unpack(const uint8_t in[FAT_INTENT_BYTES], uint8_t payload[INTENT_PAYLOAD])
{
    for (uint32_t p = 0; p < INTENT_PAYLOAD; p++)
        payload[p] = in[payload_offset(p)];
}

/* Whether 128 bytes start like a record (checksum not yet verified). */
static bool looks_like_record(const uint8_t *bytes)
{
    if (bytes[0] != FAT_ENTRY_DELETED || bytes[11] != 0)
        return false;
    return memcmp(bytes + 1, INTENT_MAGIC, 8) == 0;
}

static void encode(const struct fat_volume *vol, const struct fat_move_intent *m,
                   uint8_t out[FAT_INTENT_BYTES])
{
    uint8_t payload[INTENT_PAYLOAD];
    memset(payload, 0, sizeof(payload));
    memcpy(payload + AT_MAGIC, INTENT_MAGIC, 8);
    payload[AT_VERSION] = INTENT_VERSION;
    payload[AT_FLAGS] = m->is_dir ? INTENT_FLAG_DIRECTORY : 0;
    put_le32(payload + AT_OLD_DIR, m->old_dir);
    put_le32(payload + AT_OLD_FIRST, m->old_first);
    put_le32(payload + AT_OLD_INDEX, m->old_index);
    put_le32(payload + AT_NEW_DIR, m->new_dir);
    put_le32(payload + AT_NEW_FIRST, m->new_first);
    put_le32(payload + AT_NEW_INDEX, m->new_index);
    put_le32(payload + AT_MOVED, m->moved_cluster);
    put_le32(payload + AT_OLD_PARENT, m->old_parent);
    put_le32(payload + AT_NEW_PARENT, m->new_parent);
    put_le32(payload + AT_VOLUME_ID, vol->volume_id);
    memcpy(payload + AT_OLD_RAW, m->old_raw, 32);
    memcpy(payload + AT_NEW_SHORT, m->new_short, 11);
    put_le32(payload + AT_CRC, crc32_update(0, payload, AT_CRC));
    pack(payload, out);
}

/* 0 with *m filled, -EUCLEAN for a record that is damaged or not this volume's. */
static int decode(const struct fat_volume *vol, const uint8_t in[FAT_INTENT_BYTES],
                  struct fat_move_intent *m)
{
    uint8_t payload[INTENT_PAYLOAD];
    unpack(in, payload);
    if (get_le32(payload + AT_CRC) != crc32_update(0, payload, AT_CRC) ||
        payload[AT_VERSION] != INTENT_VERSION || get_le32(payload + AT_VOLUME_ID) != vol->volume_id)
        return -EUCLEAN;
    m->is_dir = payload[AT_FLAGS] & INTENT_FLAG_DIRECTORY;
    m->old_dir = get_le32(payload + AT_OLD_DIR);
    m->old_first = get_le32(payload + AT_OLD_FIRST);
    m->old_index = get_le32(payload + AT_OLD_INDEX);
    m->new_dir = get_le32(payload + AT_NEW_DIR);
    m->new_first = get_le32(payload + AT_NEW_FIRST);
    m->new_index = get_le32(payload + AT_NEW_INDEX);
    m->moved_cluster = get_le32(payload + AT_MOVED);
    m->old_parent = get_le32(payload + AT_OLD_PARENT);
    m->new_parent = get_le32(payload + AT_NEW_PARENT);
    memcpy(m->old_raw, payload + AT_OLD_RAW, 32);
    memcpy(m->new_short, payload + AT_NEW_SHORT, 11);
    if (m->old_first > m->old_index || m->new_first > m->new_index ||
        m->old_index - m->old_first >= FAT_LFN_MAX_SLOTS + 1 ||
        m->new_index - m->new_first >= FAT_LFN_MAX_SLOTS + 1)
        return -EUCLEAN;
    return 0;
}

/* Reserved sectors that are never a record's place. */
static bool reserved_sector_taken(const struct fat_volume *vol, uint32_t sector)
{
    if (sector <= 2 || sector == 12 || (sector >= 6 && sector <= 8))
        return true;
    if (vol->type != 32)
        return false;
    uint32_t fsinfo = get_le16(vol->boot_sector + 48);
    uint32_t backup = get_le16(vol->boot_sector + 50);
    return sector == fsinfo || (backup && sector >= backup && sector <= backup + 2);
}

/* Every byte zero: the first is, and each equals the next.  Every mount asks this of up to 61
 * whole reserved sectors; memcmp compares them a word at a time where a byte loop costs a
 * branch per byte (a third of a fuzz_fat execution under coverage instrumentation). */
static bool all_zero(const uint8_t *bytes, size_t size)
{
    return size == 0 || (bytes[0] == 0 && memcmp(bytes, bytes + 1, size - 1) == 0);
}

/* Finds the reserved sector for records: the highest spare one that is all zeros or holds a
 * record (so a record left by a cut is found where it was written).  Read in one request, or
 * none when the mount has read these sectors already (its mount area). */
static int find_reserved_place(struct fat_volume *vol)
{
    vol->intent_sector = 0;
    uint32_t end = MIN(vol->reserved_sectors, (uint32_t)FAT_RESERVED_SCAN);
    if (end <= 3)
        return 0;
    uint32_t count = end - 3;
    uint8_t *buffer = NULL;
    const uint8_t *area;
    int err = 0;
    if (vol->mount_area && end <= vol->mount_area_end) {
        area = vol->mount_area + (size_t)(3 - 1) * vol->sector_size;
    } else {
        buffer = kmalloc((size_t)count * vol->sector_size);
        if (!buffer)
            return -ENOMEM;
        err = fat_device_read(vol, 3, count, buffer);
        area = buffer;
    }
    for (uint32_t sector = end - 1; !err && sector >= 3; sector--) {
        const uint8_t *bytes = area + (size_t)(sector - 3) * vol->sector_size;
        if (reserved_sector_taken(vol, sector))
            continue;
        if (looks_like_record(bytes) &&
            all_zero(bytes + FAT_INTENT_BYTES, vol->sector_size - FAT_INTENT_BYTES)) {
            vol->intent_sector = sector;
            break;
        }
        if (all_zero(bytes, vol->sector_size) && !vol->intent_sector)
            vol->intent_sector = sector; /* a record elsewhere still wins */
    }
    /* The place is read next (for a record) and written by the next move: keep what was read.
     * Only a saving: if the cache cannot take it, the read goes to the device. */
    if (!err && vol->intent_sector)
        (void)fat_cache_install(vol, vol->intent_sector, false,
                                area + (size_t)(vol->intent_sector - 3) * vol->sector_size);
    kfree(buffer);
    return err;
}

/* Reads the root directory's slot index: its bytes and place.  -ENOENT past the root. */
static int root_slot(struct fat_volume *vol, struct fat_dir_cursor *cursor, uint32_t index,
                     uint64_t *sector, uint32_t *offset, uint8_t **bytes)
{
    int err = fat_dir_slot(vol, cursor, index, sector, offset);
    uint8_t *data;
    if (!err)
        err = fat_cache_get_ahead(vol, *sector, false, fat_dir_sectors_ahead(vol, *sector), &data);
    if (!err)
        *bytes = data + *offset;
    return err;
}

/* A record left in the root's slots: 1 with its place, 0 if none.  Every mount of a volume
 * without a reserved place looks, so the root is read a sector at a time, not a slot at a
 * time. */
static int find_root_record(struct fat_volume *vol, uint64_t *sector, uint32_t *offset)
{
    struct fat_dir_cursor cursor;
    fat_cursor_init(vol, &cursor, 0);
    uint32_t per_sector = vol->sector_size / FAT_DIR_ENTRY_SIZE;
    /* a record starts at a slot of the root (the fixed root ends at root_entries) */
    uint32_t limit =
        cursor.first_cluster ? ROOT_SCAN_SLOTS : MIN(ROOT_SCAN_SLOTS, vol->root_entries);
    for (uint32_t first = 0; first < limit; first += per_sector) {
        uint8_t *bytes;
        int err = root_slot(vol, &cursor, first, sector, offset, &bytes);
        if (err == -ENOENT)
            return 0;
        if (err)
            return err;
        /* records lie within one sector */
        for (uint32_t i = 0; i + FAT_INTENT_SLOTS <= per_sector && first + i < limit; i++) {
            if (looks_like_record(bytes + i * FAT_DIR_ENTRY_SIZE)) {
                *offset += i * FAT_DIR_ENTRY_SIZE;
                return 1;
            }
        }
    }
    return 0;
}

/* Three free root slots in one sector, none in [avoid_first, avoid_last] (the new entry's
 * slots and the end marker after them when the move goes into the root). */
static int find_root_place(struct fat_volume *vol, uint32_t avoid_first, uint32_t avoid_last,
                           uint64_t *sector, uint32_t *offset)
{
    struct fat_dir_cursor cursor;
    fat_cursor_init(vol, &cursor, 0);
    uint32_t per_sector = vol->sector_size / FAT_DIR_ENTRY_SIZE;
    uint32_t run = 0;
    bool past_end = false;
    for (uint32_t index = 0; index < ROOT_SCAN_SLOTS; index++) {
        uint64_t s;
        uint32_t o;
        uint8_t *bytes;
        int err = root_slot(vol, &cursor, index, &s, &o, &bytes);
        if (err == -ENOENT)
            return 0;
        if (err)
            return err;
        if (index % per_sector == 0)
            run = 0;
        bool avoided = index >= avoid_first && index <= avoid_last;
        /* deleted slots before the end marker, or anything after it; never the marker itself
         * (what follows it may be garbage that it hides) */
        bool usable = past_end || bytes[0] == FAT_ENTRY_DELETED;
        if (bytes[0] == 0)
            past_end = true;
        run = usable && !avoided ? run + 1 : 0;
        if (run == FAT_INTENT_SLOTS) {
            *sector = s;
            *offset = o - (FAT_INTENT_SLOTS - 1) * FAT_DIR_ENTRY_SIZE;
            return 1;
        }
    }
    return 0;
}

static int write_record_bytes(struct fat_volume *vol, uint64_t sector, uint32_t offset,
                              const uint8_t bytes[FAT_INTENT_BYTES])
{
    uint8_t *data;
    int err = fat_cache_get(vol, sector, false, &data);
    if (err)
        return err;
    memcpy(data + offset, bytes, FAT_INTENT_BYTES);
    fat_cache_mark(vol, sector, FAT_PHASE_DIRECTORY);
    return fat_volume_sync(vol);
}

int fat_intent_begin(struct fat_volume *vol, const struct fat_move_intent *m)
{
    if (vol->intent_stuck)
        return -EIO;
    int err = fat_mark_dirty(vol);
    if (err)
        return err;
    /* what came before (a directory grown for the new entry) is durable before the record */
    if ((err = fat_volume_sync(vol)))
        return err;
    uint64_t sector = vol->intent_sector;
    uint32_t offset = 0;
    if (!sector) {
        /* the root is cluster 0 or (FAT32) its first cluster, depending on who names it */
        bool into_root = m->new_dir == 0 || m->new_dir == fat_root_cluster(vol);
        int found = find_root_place(vol, into_root ? m->new_first : 1,
                                    into_root ? m->new_index + 1 : 0, &sector, &offset);
        if (found <= 0)
            return found; /* 0: no place; the caller orders the move as well as it can */
        uint8_t *data;
        if ((err = fat_cache_get(vol, sector, false, &data)))
            return err;
        memcpy(vol->intent_saved, data + offset, FAT_INTENT_BYTES);
    }
    uint8_t bytes[FAT_INTENT_BYTES];
    encode(vol, m, bytes);
    vol->intent_at_sector = sector;
    vol->intent_at_offset = offset;
    err = write_record_bytes(vol, sector, offset, bytes);
    return err ? err : 1;
}

/* Clears the record durably: zeros in a reserved sector, the root slots' old bytes (or, after
 * a cut, deleted empty slots). */
static int clear_record(struct fat_volume *vol, uint64_t sector, uint32_t offset,
                        const uint8_t *saved)
{
    uint8_t bytes[FAT_INTENT_BYTES];
    if (saved) {
        memcpy(bytes, saved, sizeof(bytes));
    } else {
        memset(bytes, 0, sizeof(bytes));
        if (sector >= vol->reserved_sectors)
            for (uint32_t slot = 0; slot < FAT_INTENT_SLOTS; slot++)
                bytes[slot * FAT_DIR_ENTRY_SIZE] = FAT_ENTRY_DELETED;
    }
    return write_record_bytes(vol, sector, offset, bytes);
}

int fat_intent_end(struct fat_volume *vol)
{
    int err = fat_volume_sync(vol); /* the move itself, before the record goes */
    if (!err)
        err = clear_record(vol, vol->intent_at_sector, vol->intent_at_offset,
                           vol->intent_at_sector == vol->intent_sector ? NULL : vol->intent_saved);
    return err;
}

int fat_set_dotdot(struct fat_volume *vol, uint32_t dir_cluster, uint32_t parent)
{
    struct fat_dir_cursor cursor;
    fat_cursor_init(vol, &cursor, dir_cluster);
    uint64_t sector;
    uint32_t offset;
    int err = fat_dir_slot(vol, &cursor, 1, &sector, &offset);
    if (err)
        return err;
    uint8_t *data;
    err = fat_cache_get(vol, sector, false, &data);
    if (err)
        return err;
    uint8_t raw[32];
    memcpy(raw, data + offset, sizeof(raw));
    if (memcmp(raw, "..         ", 11) != 0)
        return -EUCLEAN;
    uint32_t value = parent == fat_root_cluster(vol) ? 0 : parent;
    if (fat_entry_cluster(vol, raw) == value)
        return 0;
    fat_entry_set_cluster(raw, value);
    return fat_write_entry(vol, sector, offset, raw);
}

/* A slot's bytes (in the cache): NULL with *err set on failure. */
static uint8_t *slot_bytes(struct fat_volume *vol, struct fat_dir_cursor *cursor, uint32_t index,
                           uint64_t *sector, uint32_t *offset, int *err)
{
    uint8_t *data;
    *err = fat_dir_slot(vol, cursor, index, sector, offset);
    if (!*err)
        *err = fat_cache_get(vol, *sector, false, &data);
    if (*err == -ENOENT)
        *err = -EUCLEAN;
    return *err ? NULL : data + *offset;
}

/* The moved entry, under whichever name: same attributes, first cluster and size. */
static bool same_object(const struct fat_volume *vol, const uint8_t *raw,
                        const struct fat_move_intent *m)
{
    return raw[11] == m->old_raw[11] &&
           fat_entry_cluster(vol, raw) == fat_entry_cluster(vol, m->old_raw) &&
           get_le32(raw + 28) == get_le32(m->old_raw + 28);
}

static int delete_slot(struct fat_volume *vol, uint64_t sector, uint32_t offset,
                       const uint8_t *bytes)
{
    uint8_t raw[32];
    memcpy(raw, bytes, sizeof(raw));
    raw[0] = FAT_ENTRY_DELETED;
    return fat_write_entry(vol, sector, offset, raw);
}

/* Deletes the slots [first, index] that still hold the moved entry's run under the 8.3 name
 * short_name: the 8.3 slot only if it is that entry, long-name slots only with its checksum.
 * Anything else found there (written by another system since the cut) stays. */
static int delete_run(struct fat_volume *vol, uint32_t dir, uint32_t first, uint32_t index,
                      const uint8_t short_name[11], const struct fat_move_intent *m)
{
    struct fat_dir_cursor cursor;
    fat_cursor_init(vol, &cursor, dir);
    uint8_t checksum = fat_short_checksum(short_name);
    uint64_t sector;
    uint32_t offset;
    int err;
    for (uint32_t i = first; i <= index; i++) {
        const uint8_t *raw = slot_bytes(vol, &cursor, i, &sector, &offset, &err);
        if (!raw)
            return err;
        if (raw[0] == 0 || raw[0] == FAT_ENTRY_DELETED)
            continue;
        bool ours = i < index ? (raw[11] & 0x3f) == FAT_ATTR_LONG_NAME && raw[13] == checksum
                              : memcmp(raw, short_name, 11) == 0 && same_object(vol, raw, m);
        if (ours && (err = delete_slot(vol, sector, offset, raw)))
            return err;
    }
    return 0;
}

enum old_state { OLD_INTACT, OLD_REMOVING, OLD_FOREIGN };

/* How far the old entry's removal got; OLD_FOREIGN when its 8.3 slot holds something else. */
static int old_entry_state(struct fat_volume *vol, const struct fat_move_intent *m,
                           enum old_state *state)
{
    struct fat_dir_cursor cursor;
    fat_cursor_init(vol, &cursor, m->old_dir);
    uint64_t sector;
    uint32_t offset;
    int err;
    const uint8_t *raw = slot_bytes(vol, &cursor, m->old_index, &sector, &offset, &err);
    if (!raw)
        return err == -EUCLEAN ? (*state = OLD_FOREIGN, 0) : err;
    if (memcmp(raw + 1, m->old_raw + 1, 31) != 0 ||
        (raw[0] != m->old_raw[0] && raw[0] != FAT_ENTRY_DELETED)) {
        *state = OLD_FOREIGN;
        return 0;
    }
    *state = raw[0] == FAT_ENTRY_DELETED ? OLD_REMOVING : OLD_INTACT;
    for (uint32_t i = m->old_first; i < m->old_index && *state == OLD_INTACT; i++) {
        raw = slot_bytes(vol, &cursor, i, &sector, &offset, &err);
        if (!raw)
            return err;
        if (raw[0] == FAT_ENTRY_DELETED)
            *state = OLD_REMOVING;
    }
    return 0;
}

/* The new entry's 8.3 slot holds the moved entry under its new name: 1, else 0. */
static int new_entry_written(struct fat_volume *vol, const struct fat_move_intent *m)
{
    struct fat_dir_cursor cursor;
    fat_cursor_init(vol, &cursor, m->new_dir);
    uint64_t sector;
    uint32_t offset;
    int err;
    const uint8_t *raw = slot_bytes(vol, &cursor, m->new_index, &sector, &offset, &err);
    if (!raw)
        return err == -EUCLEAN ? 0 : err;
    return memcmp(raw, m->new_short, 11) == 0 && same_object(vol, raw, m);
}

/* Completes (the old entry's removal had begun) or undoes (it had not) a move.  What does not
 * match the record (the volume changed elsewhere since the cut) is left alone and the record
 * discarded: a repair then deals with whatever there is. */
static int settle(struct fat_volume *vol, const struct fat_move_intent *m, int *outcome)
{
    enum old_state state;
    int err = old_entry_state(vol, m, &state);
    int new_found = err ? err : new_entry_written(vol, m);
    if (new_found < 0)
        return new_found;
    bool dir = m->is_dir && fat_cluster_valid(vol, m->moved_cluster);
    if (state == OLD_INTACT) {
        *outcome = FAT_MOVE_UNDONE;
        /* also long-name slots written without their 8.3 slot (another sector) */
        err = delete_run(vol, m->new_dir, m->new_first, m->new_index, m->new_short, m);
        if (!err && dir)
            err = fat_set_dotdot(vol, m->moved_cluster, m->old_parent);
    } else if (state == OLD_REMOVING && new_found) {
        *outcome = FAT_MOVE_COMPLETED;
        err = delete_run(vol, m->old_dir, m->old_first, m->old_index, m->old_raw, m);
        if (!err && dir)
            err = fat_set_dotdot(vol, m->moved_cluster, m->new_parent);
    } else {
        pr_warn("a rename record that does not match the volume (changed elsewhere since?) was "
                "discarded; a check will tell what is left\n");
        *outcome = FAT_MOVE_DISCARDED;
    }
    fat_index_drop_all(vol);
    return err == -EUCLEAN ? 0 : err; /* a ".." that is not there: for a repair */
}

/* Finds a record: 1 with its place and bytes, 0 if none. */
static int find_record(struct fat_volume *vol, uint64_t *sector, uint32_t *offset,
                       uint8_t bytes[FAT_INTENT_BYTES])
{
    int err = find_reserved_place(vol);
    if (err)
        return err;
    int found = 0;
    if (vol->intent_sector) {
        *sector = vol->intent_sector;
        *offset = 0;
        found = 1;
    } else {
        found = find_root_record(vol, sector, offset);
        if (found <= 0)
            return found;
    }
    uint8_t *data;
    if ((err = fat_cache_get(vol, *sector, false, &data)))
        return err;
    memcpy(bytes, data + *offset, FAT_INTENT_BYTES);
    return looks_like_record(bytes);
}

int fat_intent_recover(struct fat_volume *vol)
{
    uint64_t sector;
    uint32_t offset;
    uint8_t bytes[FAT_INTENT_BYTES];
    int found = find_record(vol, &sector, &offset, bytes);
    if (found < 0) {
        /* a reserved area or root that cannot be read is for check to report */
        pr_warn("cannot look for an interrupted rename: error %d\n", found);
        vol->intent_sector = 0;
        vol->intent_stuck = true; /* nor may a rename leave a record there */
        return 0;
    }
    if (found == 0)
        return 0;
    vol->intent_pending = true;
    if (vol->read_only) {
        pr_warn("an interrupted rename awaits completion (mount writable or run rayfs recover)\n");
        return 0;
    }
    struct fat_move_intent m;
    int err = fat_mark_dirty(vol); /* so that the unmount after the recovery marks it clean */
    if (err)
        return err;
    err = decode(vol, bytes, &m);
    int outcome = FAT_MOVE_NONE;
    if (err == -EUCLEAN) {
        /* a record that does not check out was never acted on: the move had not begun */
        pr_warn("ignoring a damaged rename record\n");
        outcome = FAT_MOVE_DISCARDED;
        err = 0;
    } else if (!err) {
        err = settle(vol, &m, &outcome);
    }
    if (!err)
        err = fat_volume_sync(vol);
    if (!err)
        err = clear_record(vol, sector, offset, NULL);
    if (err) {
        pr_err("cannot complete an interrupted rename: error %d\n", err);
        return err;
    }
    vol->intent_pending = false;
    vol->move_outcome = outcome;
    pr_info("%s an interrupted rename\n", outcome == FAT_MOVE_COMPLETED ? "completed"
                                          : outcome == FAT_MOVE_UNDONE  ? "undid"
                                                                        : "discarded");
    return 0;
}

int fat_intent_abort(struct fat_volume *vol)
{
    /* settle from what the cache holds, exactly as the next mount would from the disk */
    uint8_t *data;
    int err = fat_cache_get(vol, vol->intent_at_sector, false, &data);
    uint8_t bytes[FAT_INTENT_BYTES];
    if (!err)
        memcpy(bytes, data + vol->intent_at_offset, sizeof(bytes));
    struct fat_move_intent m;
    int outcome;
    if (!err)
        err = decode(vol, bytes, &m);
    if (!err)
        err = settle(vol, &m, &outcome);
    if (!err)
        err = fat_intent_end(vol);
    if (err)
        vol->intent_stuck = true; /* no other rename may overwrite the record */
    return err;
}
