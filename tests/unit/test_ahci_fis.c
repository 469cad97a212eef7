/* Register Host-to-Device FIS layout (Serial ATA 3.x, 10.5.6) for the commands AHCI sends. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <rayos/errno.h>
#include <rayos/string.h>

#include "../../drivers/ata/ata.h"

static void test_read_dma_ext_fis(void **state)
{
    (void)state;
    struct ata_taskfile tf;
    uint8_t fis[SATA_FIS_H2D_LENGTH];
    assert_int_equal(ata_build_rw(&tf, false, 0x123456789abcull, 0x1234, true, ATA_DMA), 0);
    ata_taskfile_to_fis(&tf, fis);
    const uint8_t expected[SATA_FIS_H2D_LENGTH] = {
        0x27, 0x80, 0x25, 0x00, 0xbc, 0x9a, 0x78, 0x40, 0x56, 0x34,
        0x12, 0x00, 0x34, 0x12, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    };
    assert_memory_equal(fis, expected, sizeof(expected));
}

static void test_ncq_fis_count_in_features_tag_in_count(void **state)
{
    (void)state;
    struct ata_taskfile tf;
    uint8_t fis[SATA_FIS_H2D_LENGTH];
    assert_int_equal(ata_build_ncq(&tf, true, 0x0102030405ull, 0x0208, 17), 0);
    ata_taskfile_to_fis(&tf, fis);
    assert_int_equal(fis[2], ATA_CMD_WRITE_FPDMA);
    assert_int_equal(fis[3], 0x08);      /* features 7:0: sectors */
    assert_int_equal(fis[11], 0x02);     /* features 15:8 */
    assert_int_equal(fis[12], 17u << 3); /* tag */
    assert_int_equal(fis[13], 0);
    assert_int_equal(fis[4], 0x05);
    assert_int_equal(fis[8], 0x02);
    assert_int_equal(fis[9], 0x01);
    assert_int_equal(fis[7], 0x40);
    assert_int_equal(ata_build_ncq(&tf, false, 0, 65536, 31), 0);
    ata_taskfile_to_fis(&tf, fis);
    assert_int_equal(fis[2], ATA_CMD_READ_FPDMA);
    assert_int_equal(fis[3] | fis[11] << 8, 0); /* 65536 sectors */
    assert_int_equal(fis[12], 31u << 3);
    assert_int_equal(ata_build_ncq(&tf, false, 0, 1, 32), -EINVAL);
    assert_int_equal(ata_build_ncq(&tf, false, 0, 0, 1), -EINVAL);
}

static void test_lba28_fis_leaves_high_bytes_clear(void **state)
{
    (void)state;
    struct ata_taskfile tf;
    uint8_t fis[SATA_FIS_H2D_LENGTH];
    assert_int_equal(ata_build_rw(&tf, true, 0x0badcafe, 1, false, ATA_DMA), 0);
    ata_taskfile_to_fis(&tf, fis);
    assert_int_equal(fis[2], ATA_CMD_WRITE_DMA);
    assert_int_equal(fis[4], 0xfe);
    assert_int_equal(fis[5], 0xca);
    assert_int_equal(fis[6], 0xad);
    assert_int_equal(fis[7], 0x40 | 0x0b);
    assert_int_equal(fis[8] | fis[9] | fis[10] | fis[11], 0);
    assert_int_equal(fis[12], 1);
}

static void test_identify_and_flush_fis(void **state)
{
    (void)state;
    struct ata_taskfile tf;
    uint8_t fis[SATA_FIS_H2D_LENGTH];
    ata_build_identify(&tf, false);
    ata_taskfile_to_fis(&tf, fis);
    uint8_t expected[SATA_FIS_H2D_LENGTH] = {0x27, 0x80, 0xec};
    assert_memory_equal(fis, expected, sizeof(expected));
    ata_build_flush(&tf, true);
    ata_taskfile_to_fis(&tf, fis);
    expected[2] = 0xea;
    assert_memory_equal(fis, expected, sizeof(expected));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_read_dma_ext_fis),
        cmocka_unit_test(test_ncq_fis_count_in_features_tag_in_count),
        cmocka_unit_test(test_lba28_fis_leaves_high_bytes_clear),
        cmocka_unit_test(test_identify_and_flush_fis),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
