/* libFuzzer: MBR and GPT partition tables on a sparse disk (tests/fuzz/sparse_disk.h).  Bit 1
 * of the first input byte recomputes the GPT CRCs before parsing, so mutated entries get past
 * the checksums and reach the entry checks.  Whatever the table holds, the result must be a
 * set of non-overlapping, non-empty partitions inside the disk with UTF-8 names, and a slice
 * over each must refuse every request that leaves it. */
#include <rayos/bytes.h>
#include <rayos/crc32.h>
#include <rayos/partition.h>
#include <rayos/utf.h>

#include <stdlib.h>
#include <string.h>

#include "tests/fuzz/sparse_disk.h"

extern int host_log_level;

static uint8_t block[4096];
static uint8_t array[1 << 20];

/* Makes the GPT header at lba (and its entry array) carry correct CRCs. */
static void fix_gpt_crcs(struct sparse_disk *disk, uint64_t lba)
{
    const struct block_io *io = &disk->io;
    uint32_t size = io->block_size;
    if (lba >= io->block_count || block_io_read(io, lba, 1, block) != 0 ||
        memcmp(block, "EFI PART", 8) != 0)
        return;
    uint32_t header_size = get_le32(block + 12);
    if (header_size < 92 || header_size > size)
        return;
    uint64_t entries_lba = get_le64(block + 72);
    uint64_t bytes = (uint64_t)get_le32(block + 80) * get_le32(block + 84);
    uint64_t blocks = (bytes + size - 1) / size;
    if (bytes <= sizeof(array) && entries_lba < io->block_count &&
        blocks <= io->block_count - entries_lba &&
        block_io_read(io, entries_lba, (uint32_t)blocks, array) == 0)
        put_le32(block + 88, crc32_update(0, array, (size_t)bytes));
    put_le32(block + 16, 0);
    put_le32(block + 16, crc32_update(0, block, header_size));
    block_io_write(io, lba, 1, block);
}

static void check_name(const char *name, size_t size)
{
    size_t length = strnlen(name, size);
    if (length == size)
        abort(); /* not terminated */
    for (size_t pos = 0; pos < length;)
        if (utf8_decode(name, length, &pos) < 0)
            abort();
}

static void check_slice(const struct block_io *disk, const struct partition *p)
{
    struct block_io_slice slice;
    struct block_io part;
    block_io_slice_init(&slice, &part, disk, p->start_lba, p->block_count);
    if (part.block_count != p->block_count || part.block_size != disk->block_size)
        abort();
    if (block_io_read(&part, p->block_count - 1, 1, block) != 0 ||
        block_io_read(&part, p->block_count, 1, block) == 0 ||
        block_io_read(&part, p->block_count - 1, 2, block) == 0 ||
        block_io_read(&part, UINT64_MAX, 1, block) == 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *input, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *input, size_t size)
{
    static struct sparse_disk disk;
    static struct partition_table table;
    host_log_level = -1;
    if (!sparse_disk_init(&disk, input, size))
        return 0;
    if (input[0] & 2) {
        fix_gpt_crcs(&disk, 1);
        fix_gpt_crcs(&disk, disk.io.block_count - 1);
    }
    int err = partition_table_read(&disk.io, &table);
    if (err && table.count)
        abort();
    if (table.count > PARTITION_MAX || (table.scheme == PARTITION_SCHEME_NONE && table.count))
        abort();
    for (unsigned i = 0; i < table.count; i++) {
        const struct partition *p = &table.entries[i];
        if (p->start_lba == 0 || p->block_count == 0 || p->start_lba >= disk.io.block_count ||
            p->block_count > disk.io.block_count - p->start_lba)
            abort();
        for (unsigned k = 0; k < i; k++) {
            const struct partition *q = &table.entries[k];
            if (p->start_lba < q->start_lba + q->block_count &&
                q->start_lba < p->start_lba + p->block_count)
                abort(); /* overlap */
            if (p->number == q->number)
                abort();
        }
        check_name(p->name, sizeof(p->name));
        if (!partition_type_name(p))
            abort();
        check_slice(&disk.io, p);
    }
    return 0;
}
