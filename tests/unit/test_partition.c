/* Partition tables: MBR with extended chains, GPT with CRCs and the backup header, slices. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <rayos/bytes.h>
#include <rayos/crc32.h>
#include <rayos/errno.h>
#include <rayos/partition.h>

#include <string.h>

#include "ramdisk.h"

#define DISK_BLOCKS 4096

static struct ramdisk disk;
static struct partition_table table;

static int setup(void **state)
{
    ramdisk_init(&disk, 512, DISK_BLOCKS * 512ull);
    return 0;
}

static int teardown(void **state)
{
    ramdisk_free(&disk);
    return 0;
}

static void mbr_entry(uint64_t sector_lba, int slot, uint8_t type, uint32_t start, uint32_t count)
{
    uint8_t *sector = disk.bytes + sector_lba * 512;
    uint8_t *e = sector + 446 + slot * 16;
    e[0] = slot == 0 && sector_lba == 0 ? 0x80 : 0;
    e[4] = type;
    put_le32(e + 8, start);
    put_le32(e + 12, count);
    put_le16(sector + 510, 0xaa55);
}

static void test_no_table(void **state)
{
    assert_int_equal(partition_table_read(&disk.io, &table), 0);
    assert_int_equal(table.scheme, PARTITION_SCHEME_NONE);
    assert_int_equal(table.count, 0);
}

static void test_mbr_with_logicals(void **state)
{
    mbr_entry(0, 0, 0x0c, 64, 1000);
    mbr_entry(0, 1, 0x83, 1064, 500);
    mbr_entry(0, 2, 0x05, 2000, 2000);
    /* EBR 1 at 2000: logical at +64, next EBR at extended + 1000 */
    mbr_entry(2000, 0, 0x06, 64, 800);
    mbr_entry(2000, 1, 0x05, 1000, 900);
    mbr_entry(3000, 0, 0x0b, 32, 500);
    assert_int_equal(partition_table_read(&disk.io, &table), 0);
    assert_int_equal(table.scheme, PARTITION_SCHEME_MBR);
    assert_int_equal(table.count, 4);
    assert_int_equal(table.entries[0].number, 1);
    assert_true(table.entries[0].bootable);
    assert_int_equal(table.entries[0].start_lba, 64);
    assert_string_equal(partition_type_name(&table.entries[0]), "W95 FAT32 (LBA)");
    assert_int_equal(table.entries[2].number, 5);
    assert_int_equal(table.entries[2].start_lba, 2064);
    assert_int_equal(table.entries[2].block_count, 800);
    assert_int_equal(table.entries[3].number, 6);
    assert_int_equal(table.entries[3].start_lba, 3032);
    assert_string_equal(partition_type_name(&table.entries[3]), "W95 FAT32");
}

static void test_mbr_extended_loop_and_damage(void **state)
{
    mbr_entry(0, 0, 0x0f, 100, 3000);
    mbr_entry(100, 0, 0x83, 10, 50);
    mbr_entry(100, 1, 0x05, 200, 100); /* -> 300 */
    mbr_entry(300, 0, 0x83, 10, 50);
    mbr_entry(300, 1, 0x05, 0 + 1, 100); /* -> 101: no signature there, chain stops */
    put_le32(disk.bytes + 300 * 512 + 446 + 16 + 8, 0);       /* next = 0: end */
    put_le32(disk.bytes + 300 * 512 + 446 + 16 + 8, 200 - 0); /* back to 300 itself: a loop */
    assert_int_equal(partition_table_read(&disk.io, &table), 0);
    assert_int_equal(table.count, 2);
    /* a loop back to the first EBR */
    put_le32(disk.bytes + 300 * 512 + 446 + 16 + 8, 0 + 0);
    disk.bytes[300 * 512 + 446 + 16 + 4] = 0x05;
    assert_int_equal(partition_table_read(&disk.io, &table), 0);
    assert_int_equal(table.count, 2);
    /* a primary outside the disk and one overlapping another are skipped; one that starts on
     * the disk and runs past its end (a truncated image) is cut to the disk, as Linux does */
    memset(disk.bytes, 0, 512);
    mbr_entry(0, 0, 0x83, 100, 500);
    mbr_entry(0, 1, 0x83, 300, 500);
    mbr_entry(0, 2, 0x83, DISK_BLOCKS - 10, 100);
    mbr_entry(0, 3, 0x83, 1000, 10);
    assert_int_equal(partition_table_read(&disk.io, &table), 0);
    assert_int_equal(table.count, 3);
    assert_int_equal(table.entries[0].number, 1);
    assert_int_equal(table.entries[1].number, 3);
    assert_int_equal(table.entries[1].start_lba, DISK_BLOCKS - 10);
    assert_int_equal(table.entries[1].block_count, 10);
    assert_int_equal(table.entries[2].number, 4);
    mbr_entry(0, 2, 0x83, DISK_BLOCKS, 100);
    assert_int_equal(partition_table_read(&disk.io, &table), 0);
    assert_int_equal(table.count, 2);
    assert_int_equal(table.entries[1].number, 4);
    /* a boot sector whose partition slots hold code is not an MBR */
    disk.bytes[446] = 0x33;
    assert_int_equal(partition_table_read(&disk.io, &table), 0);
    assert_int_equal(table.scheme, PARTITION_SCHEME_NONE);
}

static const uint8_t basic_data[16] = {0xa2, 0xa0, 0xd0, 0xeb, 0xe5, 0xb9, 0x33, 0x44,
                                       0x87, 0xc0, 0x68, 0xb6, 0xb7, 0x26, 0x99, 0xc7};
static const uint8_t efi_system[16] = {0x28, 0x73, 0x2a, 0xc1, 0x1f, 0xf8, 0xd2, 0x11,
                                       0xba, 0x4b, 0x00, 0xa0, 0xc9, 0x3e, 0xc9, 0x3b};

static void write_gpt_copy(uint64_t header_lba, uint64_t alternate, uint64_t entries_lba)
{
    uint8_t *entries = disk.bytes + entries_lba * 512;
    memset(entries, 0, 128 * 128);
    memcpy(entries, efi_system, 16);
    entries[16] = 1;
    put_le64(entries + 32, 40);
    put_le64(entries + 40, 1063);
    const char *name = "EFI";
    for (int i = 0; name[i]; i++)
        put_le16(entries + 56 + 2 * i, (uint16_t)name[i]);
    memcpy(entries + 2 * 128, basic_data, 16);
    entries[2 * 128 + 16] = 2;
    put_le64(entries + 2 * 128 + 32, 2048);
    put_le64(entries + 2 * 128 + 40, 3999);
    put_le16(entries + 2 * 128 + 56, 0xe9); /* "é" */
    uint8_t *h = disk.bytes + header_lba * 512;
    memset(h, 0, 512);
    memcpy(h, "EFI PART", 8);
    put_le32(h + 8, 0x00010000);
    put_le32(h + 12, 92);
    put_le64(h + 24, header_lba);
    put_le64(h + 32, alternate);
    put_le64(h + 40, 34);
    put_le64(h + 48, DISK_BLOCKS - 34);
    put_le64(h + 72, entries_lba);
    put_le32(h + 80, 128);
    put_le32(h + 84, 128);
    put_le32(h + 88, crc32_update(0, entries, 128 * 128));
    put_le32(h + 16, crc32_update(0, h, 92));
}

static void write_gpt(void)
{
    mbr_entry(0, 0, 0xee, 1, DISK_BLOCKS - 1);
    disk.bytes[446] = 0;
    write_gpt_copy(1, DISK_BLOCKS - 1, 2);
    write_gpt_copy(DISK_BLOCKS - 1, 1, DISK_BLOCKS - 33);
}

static void test_gpt_valid(void **state)
{
    write_gpt();
    assert_int_equal(crc32_update(0, "123456789", 9), 0xcbf43926);
    assert_int_equal(partition_table_read(&disk.io, &table), 0);
    assert_int_equal(table.scheme, PARTITION_SCHEME_GPT);
    assert_false(table.used_backup_gpt);
    assert_int_equal(table.count, 2);
    assert_int_equal(table.entries[0].number, 1);
    assert_int_equal(table.entries[0].start_lba, 40);
    assert_int_equal(table.entries[0].block_count, 1024);
    assert_string_equal(table.entries[0].name, "EFI");
    assert_string_equal(partition_type_name(&table.entries[0]), "EFI System");
    assert_int_equal(table.entries[1].number, 3);
    assert_string_equal(table.entries[1].name, "\xc3\xa9");
    assert_string_equal(partition_type_name(&table.entries[1]), "Microsoft basic data");
}

static void test_gpt_backup_fallback(void **state)
{
    write_gpt();
    disk.bytes[512 + 40] ^= 1; /* header CRC no longer matches */
    assert_int_equal(partition_table_read(&disk.io, &table), 0);
    assert_true(table.used_backup_gpt);
    assert_int_equal(table.count, 2);
    write_gpt();
    disk.bytes[2 * 512 + 100] ^= 1; /* entry array CRC no longer matches */
    assert_int_equal(partition_table_read(&disk.io, &table), 0);
    assert_true(table.used_backup_gpt);
    assert_int_equal(table.count, 2);
    /* both copies damaged */
    disk.bytes[(DISK_BLOCKS - 1) * 512 + 40] ^= 1;
    assert_int_equal(partition_table_read(&disk.io, &table), -EUCLEAN);
    assert_int_equal(table.count, 0);
    /* a partition outside the usable area is skipped */
    write_gpt();
    uint8_t *entries = disk.bytes + 2 * 512;
    put_le64(entries + 2 * 128 + 40, DISK_BLOCKS + 5);
    uint8_t *h = disk.bytes + 512;
    put_le32(h + 88, crc32_update(0, entries, 128 * 128));
    put_le32(h + 16, 0);
    put_le32(h + 16, crc32_update(0, h, 92));
    assert_int_equal(partition_table_read(&disk.io, &table), 0);
    assert_false(table.used_backup_gpt);
    assert_int_equal(table.count, 1);
}

extern unsigned host_log_messages;

/* More than PARTITION_MAX partitions: the first 128 are kept and it is said once, for an MBR
 * extended chain and for a GPT alike (the GPT used to cut at slot 128 without a word). */
static void test_too_many_partitions_said_once(void **state)
{
    (void)state;
    const unsigned logicals = 200;
    mbr_entry(0, 0, 0x05, 100, 2 * logicals + 2);
    for (unsigned k = 0; k < logicals; k++) {
        uint64_t ebr = 100 + 2 * k;
        mbr_entry(ebr, 0, 0x83, 1, 1);
        if (k + 1 < logicals)
            mbr_entry(ebr, 1, 0x05, 2 * (k + 1), 2);
    }
    unsigned before = host_log_messages;
    assert_int_equal(partition_table_read(&disk.io, &table), 0);
    assert_int_equal(table.scheme, PARTITION_SCHEME_MBR);
    assert_int_equal(table.count, PARTITION_MAX);
    assert_true(table.truncated);
    assert_int_equal(table.entries[PARTITION_MAX - 1].number, 5 + PARTITION_MAX - 1);
    assert_int_equal(host_log_messages - before, 1);

    memset(disk.bytes, 0, 512 * 300);
    const unsigned slots = 256, used = 200;
    mbr_entry(0, 0, 0xee, 1, DISK_BLOCKS - 1);
    disk.bytes[446] = 0;
    uint8_t *entries = disk.bytes + 2 * 512;
    memset(entries, 0, slots * 128);
    for (unsigned i = 0; i < used; i++) {
        uint8_t *e = entries + i * 128;
        memcpy(e, basic_data, 16);
        e[16] = (uint8_t)i;
        put_le64(e + 32, 100 + i);
        put_le64(e + 40, 100 + i);
    }
    uint8_t *h = disk.bytes + 512;
    memset(h, 0, 512);
    memcpy(h, "EFI PART", 8);
    put_le32(h + 8, 0x00010000);
    put_le32(h + 12, 92);
    put_le64(h + 24, 1);
    put_le64(h + 32, DISK_BLOCKS - 1);
    put_le64(h + 40, 2 + slots * 128 / 512);
    put_le64(h + 48, DISK_BLOCKS - 2 - slots * 128 / 512);
    put_le64(h + 72, 2);
    put_le32(h + 80, slots);
    put_le32(h + 84, 128);
    put_le32(h + 88, crc32_update(0, entries, slots * 128));
    put_le32(h + 16, crc32_update(0, h, 92));
    before = host_log_messages;
    assert_int_equal(partition_table_read(&disk.io, &table), 0);
    assert_int_equal(table.scheme, PARTITION_SCHEME_GPT);
    assert_int_equal(table.count, PARTITION_MAX);
    assert_true(table.truncated);
    assert_int_equal(host_log_messages - before, 1);
}

/* Hundreds of bad entries: a few warnings and one count, not one line each. */
static void test_skipped_entries_are_counted_not_listed(void **state)
{
    (void)state;
    const unsigned logicals = 200;
    mbr_entry(0, 0, 0x05, 100, 2 * logicals + 2);
    for (unsigned k = 0; k < logicals; k++) {
        uint64_t ebr = 100 + 2 * k;
        mbr_entry(ebr, 0, 0x83, 1, 5000); /* leaves the extended partition */
        if (k + 1 < logicals)
            mbr_entry(ebr, 1, 0x05, 2 * (k + 1), 2);
    }
    unsigned before = host_log_messages;
    assert_int_equal(partition_table_read(&disk.io, &table), 0);
    assert_int_equal(table.count, 0);
    assert_int_equal(table.skipped, logicals);
    assert_int_equal(host_log_messages - before, 8 + 1);
}

static void test_slice(void **state)
{
    struct block_io_slice slice;
    struct block_io io;
    memcpy(disk.bytes + 100 * 512, "slice", 5);
    block_io_slice_init(&slice, &io, &disk.io, 100, 50);
    assert_int_equal(io.block_count, 50);
    uint8_t buffer[1024];
    assert_int_equal(block_io_read(&io, 0, 1, buffer), 0);
    assert_memory_equal(buffer, "slice", 5);
    assert_int_equal(block_io_read(&io, 49, 1, buffer), 0);
    assert_int_equal(block_io_read(&io, 49, 2, buffer), -EINVAL);
    assert_int_equal(block_io_read(&io, 50, 1, buffer), -EINVAL);
    assert_int_equal(block_io_write(&io, 60, 1, buffer), -EINVAL);
    memset(buffer, 0x77, 512);
    assert_int_equal(block_io_write(&io, 1, 1, buffer), 0);
    assert_int_equal(disk.bytes[101 * 512], 0x77);
    assert_int_equal(block_io_flush(&io), 0);
}

/* GPT checksums: the standard check value, and a CRC continued over a split buffer. */
static void test_crc32(void **state)
{
    (void)state;
    assert_int_equal(crc32_update(0, "123456789", 9), 0xcbf43926u);
    assert_int_equal(crc32_update(0, "", 0), 0);
    assert_int_equal(crc32_update(crc32_update(0, "1234", 4), "56789", 5), 0xcbf43926u);
    static const uint8_t ones[4] = {0xff, 0xff, 0xff, 0xff};
    assert_int_equal(crc32_update(0, ones, 4), 0xffffffffu);
    /* long enough for every table entry to be used (values from another implementation) */
    static uint8_t bytes[4096];
    for (unsigned i = 0; i < sizeof(bytes); i++)
        bytes[i] = (uint8_t)(i * 7 + 3);
    assert_int_equal(crc32_update(0, bytes, sizeof(bytes)), 0x5e4e1995u);
    for (unsigned i = 0; i < 256; i++)
        bytes[i] = (uint8_t)i;
    assert_int_equal(crc32_update(0, bytes, 256), 0x29058c73u);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_no_table, setup, teardown),
        cmocka_unit_test_setup_teardown(test_too_many_partitions_said_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_skipped_entries_are_counted_not_listed, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_mbr_with_logicals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mbr_extended_loop_and_damage, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gpt_valid, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gpt_backup_fallback, setup, teardown),
        cmocka_unit_test_setup_teardown(test_slice, setup, teardown),
        cmocka_unit_test(test_crc32),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
