/* NVMe PRP construction, submission entries and namespace formats. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <rayos/bytes.h>
#include <rayos/errno.h>
#include <rayos/string.h>

#include "../../drivers/nvme/nvme_cmd.h"

#define PAGE      4096u
#define LIST_PHYS 0x7000000ull

static uint64_t list[PAGE / 8];
static uint64_t prp1, prp2;

static int build(const struct block_segment *segments, unsigned count, unsigned capacity)
{
    memset(list, 0, sizeof(list));
    prp1 = prp2 = 0xdead;
    return nvme_build_prp(segments, count, PAGE, list, LIST_PHYS, capacity, &prp1, &prp2);
}

static void test_one_and_two_pages_need_no_list(void **state)
{
    (void)state;
    struct block_segment one = {NULL, 0x100000, 4096};
    assert_int_equal(build(&one, 1, 512), 0);
    assert_int_equal(prp1, 0x100000);
    assert_int_equal(prp2, 0);
    /* 512 bytes at an offset inside a page: still one page. */
    struct block_segment small = {NULL, 0x100e00, 512};
    assert_int_equal(build(&small, 1, 512), 0);
    assert_int_equal(prp1, 0x100e00);
    assert_int_equal(prp2, 0);
    /* Crossing one page boundary: PRP2 is the second page itself. */
    struct block_segment cross = {NULL, 0x100e00, 1024};
    assert_int_equal(build(&cross, 1, 512), 0);
    assert_int_equal(prp2, 0x101000);
    struct block_segment two = {NULL, 0x200000, 8192};
    assert_int_equal(build(&two, 1, 512), 0);
    assert_int_equal(prp1, 0x200000);
    assert_int_equal(prp2, 0x201000);
}

static void test_list_for_more_pages(void **state)
{
    (void)state;
    struct block_segment big = {NULL, 0x300200, 5 * 4096};
    assert_int_equal(build(&big, 1, 512), 0);
    assert_int_equal(prp1, 0x300200);
    assert_int_equal(prp2, LIST_PHYS);
    /* 0x300200 + 20480 ends at 0x305200: pages 0x301000..0x305000 in the list. */
    for (unsigned i = 0; i < 5; i++)
        assert_int_equal(list[i], 0x301000 + i * 4096ull);
    assert_int_equal(list[5], 0);
    /* 1 MiB, page aligned: 256 pages, 255 list entries. */
    struct block_segment mib = {NULL, 0x400000, 1 << 20};
    assert_int_equal(build(&mib, 1, 512), 0);
    assert_int_equal(list[254], 0x400000 + 255 * 4096ull);
    assert_int_equal(build(&mib, 1, 254), -EINVAL); /* does not fit the list */
}

static void test_several_segments(void **state)
{
    (void)state;
    struct block_segment segments[3] = {
        {NULL, 0x10800, 0x800},
        {NULL, 0x50000, 0x2000},
        {NULL, 0x90000, 0x200},
    };
    assert_int_equal(build(segments, 3, 512), 0);
    assert_int_equal(prp1, 0x10800);
    assert_int_equal(prp2, LIST_PHYS);
    assert_int_equal(list[0], 0x50000);
    assert_int_equal(list[1], 0x51000);
    assert_int_equal(list[2], 0x90000);
    /* A middle segment that does not start on a page boundary cannot be described. */
    segments[1].phys = 0x50200;
    assert_int_equal(build(segments, 3, 512), -EINVAL);
    /* Neither can a first segment that ends inside a page before another segment. */
    segments[1].phys = 0x50000;
    segments[0].length = 0x400;
    assert_int_equal(build(segments, 3, 512), -EINVAL);
    /* Dword alignment and empty segments. */
    struct block_segment odd = {NULL, 0x1002, 512};
    assert_int_equal(build(&odd, 1, 512), -EINVAL);
    struct block_segment empty = {NULL, 0x1000, 0};
    assert_int_equal(build(&empty, 1, 512), -EINVAL);
    assert_int_equal(build(segments, 0, 512), -EINVAL);
}

static void test_submission_entries(void **state)
{
    (void)state;
    struct nvme_sqe sqe;
    assert_int_equal(nvme_build_rw(&sqe, true, 1, 0x123456789ull, 8, 42), 0);
    assert_int_equal(sqe.cdw0, NVME_CMD_WRITE | 42u << 16);
    assert_int_equal(sqe.nsid, 1);
    assert_int_equal(sqe.cdw10, 0x23456789);
    assert_int_equal(sqe.cdw11, 0x1);
    assert_int_equal(sqe.cdw12, 7);
    assert_int_equal(nvme_build_rw(&sqe, false, 1, 0, 65536, 0), 0);
    assert_int_equal(sqe.cdw0 & 0xff, NVME_CMD_READ);
    assert_int_equal(sqe.cdw12, 65535);
    assert_int_equal(nvme_build_rw(&sqe, false, 1, 0, 0, 0), -EINVAL);
    assert_int_equal(nvme_build_rw(&sqe, false, 1, 0, 65537, 0), -EINVAL);
    nvme_build_create_cq(&sqe, 1, 256, 0xabc000, 3, true, 9);
    assert_int_equal(sqe.cdw0, NVME_ADMIN_CREATE_CQ | 9u << 16);
    assert_int_equal(sqe.prp1, 0xabc000);
    assert_int_equal(sqe.cdw10, 1 | 255u << 16);
    assert_int_equal(sqe.cdw11, 3 | 3u << 16);
    nvme_build_create_sq(&sqe, 1, 64, 0xdef000, 1, 10);
    assert_int_equal(sqe.cdw10, 1 | 63u << 16);
    assert_int_equal(sqe.cdw11, 1 | 1u << 16);
    nvme_build_identify(&sqe, NVME_CNS_NAMESPACE, 5, 0x5000, 1);
    assert_int_equal(sqe.cdw0 & 0xff, NVME_ADMIN_IDENTIFY);
    assert_int_equal(sqe.nsid, 5);
    assert_int_equal(sqe.cdw10, 0);
    nvme_build_flush(&sqe, 2, 3);
    assert_int_equal(sqe.cdw0, 3u << 16);
    assert_int_equal(sqe.prp1, 0);
    nvme_build_set_queue_count(&sqe, 4, 11);
    assert_int_equal(sqe.cdw0, NVME_ADMIN_SET_FEATURES | 11u << 16);
    assert_int_equal(sqe.cdw10, NVME_FEATURE_NUMBER_OF_QUEUES);
    assert_int_equal(sqe.cdw11, 3 | 3u << 16);
    /* Granted counts are 0-based; the smaller of the two limits the pairs, never above asked. */
    assert_int_equal(nvme_queues_granted(3 | 3u << 16, 4), 4);
    assert_int_equal(nvme_queues_granted(1 | 7u << 16, 4), 2);
    assert_int_equal(nvme_queues_granted(63 | 63u << 16, 4), 4);
    assert_int_equal(nvme_queues_granted(0, 4), 1);
}

static uint8_t identify[NVME_IDENTIFY_BYTES];

static void namespace_with(uint64_t size, unsigned formats, unsigned in_use, uint32_t format)
{
    memset(identify, 0, sizeof(identify));
    put_le64(identify, size);
    identify[25] = (uint8_t)(formats - 1);
    identify[26] = (uint8_t)in_use;
    put_le32(identify + 128, 9u << 16);
    put_le32(identify + 128 + 4 * in_use, format);
}

static void test_namespace_formats(void **state)
{
    (void)state;
    struct nvme_namespace_info info;
    const char *why = NULL;
    namespace_with(131072, 1, 0, 9u << 16);
    assert_int_equal(nvme_parse_namespace(identify, &info, &why), 0);
    assert_int_equal(info.block_size, 512);
    assert_int_equal(info.block_count, 131072);
    namespace_with(16384, 2, 1, 12u << 16);
    assert_int_equal(nvme_parse_namespace(identify, &info, &why), 0);
    assert_int_equal(info.block_size, 4096);
    namespace_with(0, 1, 0, 9u << 16);
    assert_int_equal(nvme_parse_namespace(identify, &info, &why), -ENODEV);
    namespace_with(100, 1, 0, 8u << 16 | 0);
    assert_int_equal(nvme_parse_namespace(identify, &info, &why), -EINVAL);
    assert_string_equal(why, "block size outside 512..65536");
    namespace_with(100, 1, 0, 9u << 16 | 8);
    assert_int_equal(nvme_parse_namespace(identify, &info, &why), -EINVAL);
    assert_string_equal(why, "format with metadata");
    namespace_with(100, 2, 3, 9u << 16);
    assert_int_equal(nvme_parse_namespace(identify, &info, &why), -EINVAL);
    namespace_with(1ull << 60, 1, 0, 12u << 16);
    assert_int_equal(nvme_parse_namespace(identify, &info, &why), -EINVAL);
    assert_string_equal(why, "capacity beyond 2^63 bytes");
}

static void test_controller_identify(void **state)
{
    (void)state;
    memset(identify, 0, sizeof(identify));
    memcpy(identify + 4, "rayos1              ", 20);
    memcpy(identify + 24, "QEMU NVMe Ctrl                          ", 40);
    memcpy(identify + 64, "7.2     ", 8);
    identify[77] = 7;
    put_le32(identify + 516, 256);
    identify[525] = 1;
    struct nvme_controller_info info;
    nvme_parse_controller(identify, &info);
    assert_string_equal(info.serial, "rayos1");
    assert_string_equal(info.model, "QEMU NVMe Ctrl");
    assert_string_equal(info.firmware, "7.2");
    assert_int_equal(info.mdts, 7);
    assert_int_equal(info.namespace_count, 256);
    assert_true(info.volatile_write_cache);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_and_two_pages_need_no_list),
        cmocka_unit_test(test_list_for_more_pages),
        cmocka_unit_test(test_several_segments),
        cmocka_unit_test(test_submission_entries),
        cmocka_unit_test(test_namespace_formats),
        cmocka_unit_test(test_controller_identify),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
