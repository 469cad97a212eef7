/* VFS path normalisation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include <rayos/errno.h>
#include <rayos/vfs.h>

static void expect(const char *in, const char *want)
{
    char out[VFS_PATH_MAX];
    assert_int_equal(vfs_normalize_path(in, out, sizeof(out)), 0);
    assert_string_equal(out, want);
}

static void expect_error(const char *in, int error)
{
    char out[VFS_PATH_MAX];
    assert_int_equal(vfs_normalize_path(in, out, sizeof(out)), error);
}

static void test_normal_forms(void **state)
{
    expect("/", "/");
    expect("/a", "/a");
    expect("/a/", "/a");
    expect("/a/./b", "/a/b");
    expect("/a/b/..", "/a");
    expect("/a/b/../..", "/");
    expect("/BOOT/RAYOS.CFG", "/BOOT/RAYOS.CFG");
    expect("/a/../b/./c/..", "/b");
    expect("/long name with spaces/x", "/long name with spaces/x");
    /* as POSIX: repeated slashes are one, and ".." at the root is the root */
    expect("/a//b", "/a/b");
    expect("//a///", "/a");
    expect("/..", "/");
    expect("/a/../..", "/");
    expect("/../a/./../../b", "/b");
    /* 255 characters of 3 bytes each (255 UTF-16 units on FAT) fit; 766 bytes do not */
    char wide[VFS_PATH_MAX] = "/";
    for (int i = 0; i < 255; i++)
        strcat(wide, "\xe2\x82\xac");
    expect(wide, wide);
}

static void test_errors(void **state)
{
    expect_error("relative", -EINVAL);
    expect_error("", -EINVAL);
    expect_error("/a/\x01", -EINVAL);
    char name[VFS_NAME_BYTES_MAX + 3];
    memset(name, 'n', sizeof(name));
    name[0] = '/';
    name[sizeof(name) - 1] = 0;
    expect_error(name, -ENAMETOOLONG);
    char path[VFS_PATH_MAX + 10];
    for (size_t i = 0; i < sizeof(path) - 1; i += 2) {
        path[i] = '/';
        path[i + 1] = 'x';
    }
    path[sizeof(path) - 1] = 0;
    expect_error(path, -ENAMETOOLONG);
    /* A small output buffer is refused, not overrun. */
    char small[4];
    assert_int_equal(vfs_normalize_path("/abcdef", small, sizeof(small)), -ENAMETOOLONG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_normal_forms),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
