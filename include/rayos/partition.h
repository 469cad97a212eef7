/* Partition tables (MBR with extended/logical partitions, GPT with CRC checks and backup header).
 * Portable: the kernel's block layer and the host tool rayfs share it. */
#ifndef RAYOS_PARTITION_H
#define RAYOS_PARTITION_H

#include <rayos/block_io.h>
#include <rayos/types.h>

enum partition_scheme {
    PARTITION_SCHEME_NONE,
    PARTITION_SCHEME_MBR,
    PARTITION_SCHEME_GPT,
};

struct partition {
    unsigned number;    /* Linux numbering: MBR primaries 1-4, logicals 5+; GPT slot + 1 */
    uint64_t start_lba; /* in the disk's logical blocks */
    uint64_t block_count;
    uint8_t mbr_type;      /* MBR system id (0x0c FAT32 LBA, 0x83 Linux...); 0 on GPT */
    uint8_t type_guid[16]; /* GPT partition type GUID, on-disk byte order; zero on MBR */
    uint8_t unique_guid[16];
    char name[72]; /* GPT partition name as UTF-8; empty on MBR */
    bool bootable; /* MBR active flag / GPT legacy BIOS bootable attribute */
};

#define PARTITION_MAX 128

struct partition_table {
    enum partition_scheme scheme;
    bool used_backup_gpt; /* the primary GPT was damaged and the backup was used */
    bool truncated;       /* more than PARTITION_MAX partitions: the rest ignored (said once) */
    unsigned skipped;     /* entries skipped (outside the disk, overlapping): a few warnings,
                             then one count */
    uint32_t mbr_disk_signature; /* MBR bytes 440-443; the Linux PARTUUID prefix on MBR */
    uint8_t disk_guid[16];       /* GPT */
    unsigned count;
    struct partition entries[PARTITION_MAX];
};

/* The partition's identity as Linux's PARTUUID: the GPT unique partition GUID in lower case, or
 * on MBR "SSSSSSSS-NN" (disk signature and partition number, hex).  "" with no table. */
#define PARTITION_UUID_SIZE 37
void partition_uuid(const struct partition_table *table, const struct partition *partition,
                    char out[PARTITION_UUID_SIZE]);

/* Reads the disk's partition table.  Returns 0 (scheme NONE and count 0 when the disk has no
 * table) or a negative error: -EIO from the disk, -EUCLEAN when a table is present but both
 * copies are damaged.  Everything on disk is untrusted: entries outside the disk, overlapping
 * or looping extended chains are skipped with a warning. */
int partition_table_read(const struct block_io *disk, struct partition_table *table);

/* A human name for the partition's type: "EFI System", "Microsoft basic data", "W95 FAT32 (LBA)".
 */
const char *partition_type_name(const struct partition *partition);

/* A block_io confined to [start, start + count) of a parent; requests beyond fail with -EINVAL. */
struct block_io_slice {
    const struct block_io *parent;
    uint64_t start;
    uint64_t count; /* the slice's length: the read/write callbacks only get the context */
};
void block_io_slice_init(struct block_io_slice *slice, struct block_io *out,
                         const struct block_io *parent, uint64_t start, uint64_t count);

#endif
