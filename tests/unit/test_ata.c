/* IDENTIFY DEVICE parsing and READ/WRITE taskfile construction for the AHCI and IDE drivers. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <rayos/errno.h>
#include <rayos/string.h>

#include "../../drivers/ata/ata.h"

static uint16_t words[256];

static void put_string(unsigned first_word, unsigned word_count, const char *text)
{
    char padded[80];
    memset(padded, ' ', sizeof(padded));
    memcpy(padded, text, strlen(text));
    for (unsigned i = 0; i < word_count; i++)
        words[first_word + i] =
            (uint16_t)((uint8_t)padded[2 * i] << 8 | (uint8_t)padded[2 * i + 1]);
}

/* A 64 MiB LBA48 disk with NCQ depth 32, as QEMU describes its hard disk. */
static int setup_disk(void **state)
{
    (void)state;
    memset(words, 0, sizeof(words));
    words[0] = 0x0040;
    put_string(10, 10, "QM00001");
    put_string(23, 4, "2.5+");
    put_string(27, 20, "QEMU HARDDISK");
    words[49] = (1u << 9) | (1u << 8);
    words[60] = 0;
    words[61] = 0x0002; /* 131072 sectors for LBA28 too */
    words[75] = 31;
    words[76] = 1u << 8;
    words[82] = 1u << 5;
    words[83] = 0x4000 | (1u << 10) | (1u << 12) | (1u << 13);
    words[85] = 1u << 5;
    words[86] = 1u << 10;
    words[100] = 0;
    words[101] = 0x0002; /* 131072 */
    return 0;
}

static void test_identify_qemu_disk(void **state)
{
    (void)state;
    struct ata_identity id;
    const char *why = NULL;
    assert_int_equal(ata_parse_identify(words, &id, &why), 0);
    assert_string_equal(id.model, "QEMU HARDDISK");
    assert_string_equal(id.serial, "QM00001");
    assert_string_equal(id.firmware, "2.5+");
    assert_false(id.atapi);
    assert_true(id.lba48);
    assert_true(id.dma);
    assert_true(id.ncq);
    assert_int_equal(id.ncq_depth, 32);
    assert_true(id.flush_ext);
    assert_true(id.write_cache);
    assert_int_equal(id.sector_count, 131072);
    assert_int_equal(id.logical_sector_size, 512);
    assert_int_equal(id.physical_sector_size, 512);
}

static void test_identify_sector_sizes_from_words_106_and_117(void **state)
{
    (void)state;
    struct ata_identity id;
    words[106] = 0x4000 | (1u << 13) | 3; /* 8 logical per physical */
    assert_int_equal(ata_parse_identify(words, &id, NULL), 0);
    assert_int_equal(id.logical_sector_size, 512);
    assert_int_equal(id.physical_sector_size, 4096);
    words[106] = 0x4000 | (1u << 12);
    words[117] = 2048; /* words: 4096 bytes */
    words[118] = 0;
    assert_int_equal(ata_parse_identify(words, &id, NULL), 0);
    assert_int_equal(id.logical_sector_size, 4096);
    assert_int_equal(id.physical_sector_size, 4096);
    /* Word 106 without its validity pattern is ignored. */
    words[106] = 0x8000 | (1u << 12);
    assert_int_equal(ata_parse_identify(words, &id, NULL), 0);
    assert_int_equal(id.logical_sector_size, 512);
}

static void test_identify_rejects_nonsense(void **state)
{
    (void)state;
    struct ata_identity id;
    const char *why = NULL;
    words[106] = 0x4000 | (1u << 12);
    words[117] = 300; /* 600 bytes */
    assert_int_equal(ata_parse_identify(words, &id, &why), -EINVAL);
    assert_string_equal(why, "impossible logical sector size");
    words[106] = 0;
    words[100] = words[101] = words[102] = words[103] = 0;
    words[60] = words[61] = 0;
    assert_int_equal(ata_parse_identify(words, &id, &why), -EINVAL);
    assert_string_equal(why, "capacity of zero sectors");
    words[101] = 1;
    words[103] = 0x0001; /* 2^48 + ... sectors: beyond LBA48 */
    assert_int_equal(ata_parse_identify(words, &id, &why), -EINVAL);
    assert_string_equal(why, "capacity beyond what the addressing can reach");
    words[103] = 0;
    words[49] = 0;
    assert_int_equal(ata_parse_identify(words, &id, &why), -EINVAL);
    assert_string_equal(why, "device without LBA addressing");
}

static void test_identify_checksum(void **state)
{
    (void)state;
    struct ata_identity id;
    uint8_t sum = 0xa5;
    for (unsigned i = 0; i < 255; i++)
        sum = (uint8_t)(sum + (words[i] & 0xff) + (words[i] >> 8));
    words[255] = (uint16_t)((uint8_t)-sum << 8 | 0xa5);
    assert_int_equal(ata_parse_identify(words, &id, NULL), 0);
    words[60] ^= 1;
    const char *why = NULL;
    assert_int_equal(ata_parse_identify(words, &id, &why), -EINVAL);
    assert_string_equal(why, "IDENTIFY checksum mismatch");
}

static void test_identify_atapi_and_lba28_only(void **state)
{
    (void)state;
    struct ata_identity id;
    words[86] = 0; /* LBA48 supported but not enabled */
    assert_int_equal(ata_parse_identify(words, &id, NULL), 0);
    assert_false(id.lba48);
    assert_int_equal(id.sector_count, 131072); /* from words 60-61 */
    words[0] = 0x85c0;
    put_string(27, 20, "QEMU DVD-ROM");
    assert_int_equal(ata_parse_identify(words, &id, NULL), 0);
    assert_true(id.atapi);
    assert_string_equal(id.model, "QEMU DVD-ROM");
}

static void test_build_rw(void **state)
{
    (void)state;
    struct ata_taskfile tf;
    assert_int_equal(ata_build_rw(&tf, false, 0x0abcdef, 8, false, ATA_PIO), 0);
    assert_int_equal(tf.command, ATA_CMD_READ_SECTORS);
    assert_int_equal(tf.count, 8);
    assert_int_equal(tf.device, 0x40 | 0x0);
    assert_int_equal(ata_build_rw(&tf, true, 0x0fffff0, 256, false, ATA_PIO), 0);
    assert_int_equal(tf.command, ATA_CMD_WRITE_SECTORS);
    assert_int_equal(tf.count, 0); /* 256 */
    assert_int_equal(tf.device, 0x40);
    assert_int_equal(ata_build_rw(&tf, true, 0x5000000, 1, false, ATA_DMA), 0);
    assert_int_equal(tf.device, 0x45); /* LBA bits 27:24 in the device register */
    assert_int_equal(tf.command, ATA_CMD_WRITE_DMA);
    assert_int_equal(ata_build_rw(&tf, false, 1ull << 40, 65536, true, ATA_DMA), 0);
    assert_int_equal(tf.command, ATA_CMD_READ_DMA_EXT);
    assert_int_equal(tf.count, 0);
    assert_int_equal(ata_build_rw(&tf, true, 5, 2, true, ATA_PIO), 0);
    assert_int_equal(tf.command, ATA_CMD_WRITE_SECTORS_EXT);
    /* Ranges the addressing cannot express. */
    assert_int_equal(ata_build_rw(&tf, false, 0, 0, true, ATA_DMA), -EINVAL);
    assert_int_equal(ata_build_rw(&tf, false, 0, 257, false, ATA_PIO), -EINVAL);
    assert_int_equal(ata_build_rw(&tf, false, (1u << 28) - 1, 2, false, ATA_PIO), -EINVAL);
    assert_int_equal(ata_build_rw(&tf, false, 1ull << 28, 1, false, ATA_PIO), -EINVAL);
    assert_int_equal(ata_build_rw(&tf, false, (1ull << 48) - 1, 1, true, ATA_DMA), 0);
    assert_int_equal(ata_build_rw(&tf, false, (1ull << 48) - 1, 2, true, ATA_DMA), -EINVAL);
}

static void test_build_flush_identify_and_capacity_text(void **state)
{
    (void)state;
    struct ata_taskfile tf;
    ata_build_flush(&tf, true);
    assert_int_equal(tf.command, ATA_CMD_FLUSH_CACHE_EXT);
    ata_build_flush(&tf, false);
    assert_int_equal(tf.command, ATA_CMD_FLUSH_CACHE);
    ata_build_identify(&tf, true);
    assert_int_equal(tf.command, ATA_CMD_IDENTIFY_PACKET);
    char text[24];
    ata_format_capacity(64ull << 20, text, sizeof(text));
    assert_string_equal(text, "64 MiB");
    ata_format_capacity(3ull << 30, text, sizeof(text));
    assert_string_equal(text, "3 GiB");
    ata_format_capacity(1000ull * 1000 * 1000, text, sizeof(text));
    assert_string_equal(text, "953 MiB");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_identify_qemu_disk, setup_disk),
        cmocka_unit_test_setup(test_identify_sector_sizes_from_words_106_and_117, setup_disk),
        cmocka_unit_test_setup(test_identify_rejects_nonsense, setup_disk),
        cmocka_unit_test_setup(test_identify_checksum, setup_disk),
        cmocka_unit_test_setup(test_identify_atapi_and_lba28_only, setup_disk),
        cmocka_unit_test(test_build_rw),
        cmocka_unit_test(test_build_flush_identify_and_capacity_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
