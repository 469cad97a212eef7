/* A loop device's extent map: requests split at extent boundaries, and maps that would send
 * requests outside the file or the device underneath refused at attach time. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <rayos/errno.h>

#include "fs/loop_map.h"

static const struct vfs_extent two[] = {{0, 100, 4}, {2048, 500, 8}}; /* 12 blocks of 512 */

static void test_pieces_follow_the_extents(void **state)
{
    (void)state;
    struct loop_map map;
    assert_int_equal(loop_map_init(&map, two, 2, 512, 6144, 1000), 0);
    uint64_t lba, bytes;
    assert_int_equal(loop_map_piece(&map, 1024, 4096, &lba, &bytes), 0);
    assert_int_equal(lba, 102);
    assert_int_equal(bytes, 1024); /* up to the end of the first extent */
    assert_int_equal(loop_map_piece(&map, 2048, 4096, &lba, &bytes), 0);
    assert_int_equal(lba, 500);
    assert_int_equal(bytes, 4096);
    assert_int_equal(loop_map_piece(&map, 6144, 512, &lba, &bytes), -EIO); /* past the end */
    assert_int_equal(loop_map_piece(&map, 100, 512, &lba, &bytes), -EIO);  /* not a block */
}

static void test_bad_maps_are_refused(void **state)
{
    (void)state;
    struct loop_map map;
    /* the second extent runs past a 505-block device */
    assert_int_equal(loop_map_init(&map, two, 2, 512, 6144, 505), -EUCLEAN);
    /* a gap: the file's second half is not mapped */
    static const struct vfs_extent gap[] = {{0, 100, 4}, {4096, 500, 8}};
    assert_int_equal(loop_map_init(&map, gap, 2, 512, 6144, 1000), -EUCLEAN);
    /* too short for the file */
    assert_int_equal(loop_map_init(&map, two, 1, 512, 6144, 1000), -EUCLEAN);
    /* a block count whose byte length wraps around */
    static const struct vfs_extent huge[] = {{0, 0, UINT64_MAX / 256}};
    assert_int_equal(loop_map_init(&map, huge, 1, 512, 512, UINT64_MAX), -EUCLEAN);
    /* slack past the end of the file is neither checked nor used */
    static const struct vfs_extent slack[] = {{0, 100, 4}, {9, 9, 0}};
    assert_int_equal(loop_map_init(&map, slack, 2, 512, 2048, 1000), 0);
    assert_int_equal(map.count, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pieces_follow_the_extents),
        cmocka_unit_test(test_bad_maps_are_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
