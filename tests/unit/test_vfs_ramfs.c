/* The VFS over ramfs: mounts, path resolution across mount points, the file API, errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include <rayos/errno.h>
#include <rayos/heap.h>
#include <rayos/vfs.h>

static int setup(void **state)
{
    assert_int_equal(vfs_mount(&ramfs_type, NULL, "ram0", "/", 0), 0);
    assert_int_equal(vfs_mount(&ramfs_type, NULL, "ram1", "/tmp", 0), 0);
    return 0;
}

static int teardown(void **state)
{
    vfs_unmount_all();
    struct vfs_mount_info info;
    assert_false(vfs_mount_at(0, &info));
    return 0;
}

static void write_text(const char *path, const char *text)
{
    assert_int_equal(vfs_write_file(path, text, strlen(text)), 0);
}

static void test_files_and_directories(void **state)
{
    assert_int_equal(vfs_mkdir("/etc"), 0);
    assert_int_equal(vfs_mkdir("/etc"), -EEXIST);
    write_text("/etc/motd", "hello");
    write_text("/empty", ""); /* found by fuzz_config: a zero-byte write to an empty file */
    char *data;
    size_t length;
    assert_int_equal(vfs_read_file("/etc/./../etc/motd", 100, &data, &length), 0);
    assert_int_equal(length, 5);
    assert_memory_equal(data, "hello", 5);
    kfree(data);
    assert_int_equal(vfs_read_file("/etc/motd", 3, &data, &length), -EFBIG);

    struct vfs_file *f;
    assert_int_equal(vfs_open("/etc/motd", VFS_O_WRITE | VFS_O_APPEND, &f), 0);
    assert_int_equal(vfs_write(f, " world", 6), 6);
    assert_int_equal(vfs_close(f), 0);
    assert_int_equal(vfs_open("/etc/motd", VFS_O_READ, &f), 0);
    assert_int_equal(vfs_seek(f, 6, VFS_SEEK_SET), 6);
    char buf[16] = {0};
    assert_int_equal(vfs_read(f, buf, sizeof(buf)), 5);
    assert_string_equal(buf, "world");
    assert_int_equal(vfs_write(f, "x", 1), -EBADF);
    assert_int_equal(vfs_close(f), 0);

    struct vfs_stat st;
    assert_int_equal(vfs_stat("/etc/motd", &st), 0);
    assert_int_equal(st.size, 11);
    assert_false(st.is_directory);
    assert_int_equal(vfs_stat("/etc", &st), 0);
    assert_true(st.is_directory);
    assert_int_equal(vfs_stat("/nope", &st), -ENOENT);
    assert_int_equal(vfs_stat("/etc/motd/x", &st), -ENOTDIR);
    assert_int_equal(vfs_rmdir("/etc"), -ENOTEMPTY);
    assert_int_equal(vfs_unlink("/etc"), -EISDIR);
    assert_int_equal(vfs_rename("/etc/motd", "/motd"), 0);
    assert_int_equal(vfs_stat("/motd", &st), 0);
    assert_int_equal(vfs_rmdir("/etc"), 0);
    assert_int_equal(vfs_mkdir("/a"), 0);
    assert_int_equal(vfs_mkdir("/a/b"), 0);
    assert_int_equal(vfs_rename("/a", "/a/b/c"), -EINVAL); /* into itself */
}

static void test_mount_points(void **state)
{
    write_text("/tmp/scratch", "123");
    struct vfs_stat st;
    assert_int_equal(vfs_stat("/tmp/scratch", &st), 0);
    /* The file lives on the /tmp mount, not on /. */
    assert_int_equal(vfs_unmount("/tmp"), 0);
    assert_int_equal(vfs_stat("/tmp/scratch", &st), -ENOENT);
    assert_int_equal(vfs_mount(&ramfs_type, NULL, "ram1", "/tmp", 0), 0);
    /* The mount point shows in its parent's listing, with its mounted root's times. */
    struct vfs_dir *dir;
    struct vfs_dirent entry;
    struct vfs_stat mounted_root;
    assert_int_equal(vfs_stat("/tmp", &mounted_root), 0);
    assert_true(mounted_root.modified != 0);
    assert_int_equal(vfs_opendir("/", &dir), 0);
    bool saw_tmp = false;
    int r;
    while ((r = vfs_readdir(dir, &entry)) == 1) {
        if (strcmp(entry.name, "tmp") == 0) {
            saw_tmp = entry.stat.is_directory;
            assert_int_equal(entry.stat.modified, mounted_root.modified);
        }
    }
    assert_int_equal(r, 0);
    assert_true(saw_tmp);
    assert_int_equal(vfs_unmount("/"), -EBUSY); /* open directory and child mount */
    assert_int_equal(vfs_closedir(dir), 0);
    write_text("/x", "x");
    assert_int_equal(vfs_rename("/x", "/tmp/x"), -EXDEV);
    assert_int_equal(vfs_rmdir("/tmp"), -EBUSY);
    assert_int_equal(vfs_mount(&ramfs_type, NULL, "ram2", "/tmp", 0), -EBUSY);
}

static void test_bad_paths(void **state)
{
    struct vfs_stat st;
    struct vfs_file *f;
    assert_int_equal(vfs_stat("/..", &st), 0); /* the root, as in POSIX */
    assert_true(st.is_directory);
    assert_int_equal(vfs_open("relative", VFS_O_READ, &f), -EINVAL);
    assert_int_equal(vfs_open("/a\x1b[2J", VFS_O_WRITE | VFS_O_CREATE, &f), -EINVAL);
    char longname[300];
    memset(longname, 'a', sizeof(longname));
    longname[0] = '/';
    longname[299] = 0;
    assert_int_equal(vfs_open(longname, VFS_O_WRITE | VFS_O_CREATE, &f), -ENAMETOOLONG);
    assert_int_equal(vfs_open("/missing/file", VFS_O_WRITE | VFS_O_CREATE, &f), -ENOENT);
}

/* ".", ".." and a trailing slash mean what they mean in POSIX and Linux, for every call. */
static void test_dot_and_slash_corner_cases(void **state)
{
    struct vfs_stat st;
    struct vfs_file *f;
    assert_int_equal(vfs_mkdir("/d"), 0);
    assert_int_equal(vfs_mkdir("/d/e/"), 0); /* mkdir accepts a trailing slash */
    write_text("/file", "x");
    /* rmdir(2): "." EINVAL, ".." ENOTEMPTY, the root EBUSY; the directory stays */
    assert_int_equal(vfs_rmdir("/d/e/."), -EINVAL);
    assert_int_equal(vfs_rmdir("/d/e/.."), -ENOTEMPTY);
    assert_int_equal(vfs_rmdir("/"), -EBUSY);
    assert_int_equal(vfs_rmdir("/file/"), -ENOTDIR);
    assert_int_equal(vfs_stat("/d/e", &st), 0);
    /* unlink(2): "."/".." EISDIR, "FILE/" ENOTDIR, "DIR/" EISDIR */
    assert_int_equal(vfs_unlink("/d/."), -EISDIR);
    assert_int_equal(vfs_unlink("/d/.."), -EISDIR);
    assert_int_equal(vfs_unlink("/file/"), -ENOTDIR);
    assert_int_equal(vfs_unlink("/d/"), -EISDIR);
    assert_int_equal(vfs_stat("/file", &st), 0);
    /* mkdir(2): what exists is EEXIST */
    assert_int_equal(vfs_mkdir("/d/."), -EEXIST);
    assert_int_equal(vfs_mkdir("/d/.."), -EEXIST);
    assert_int_equal(vfs_mkdir("/"), -EEXIST);
    /* ".." and "." are walked: a file or a missing name before them fails */
    assert_int_equal(vfs_stat("/file/..", &st), -ENOTDIR);
    assert_int_equal(vfs_stat("/file/.", &st), -ENOTDIR);
    assert_int_equal(vfs_stat("/nope/../file", &st), -ENOENT);
    assert_int_equal(vfs_stat("/d/e/../../file", &st), 0);
    assert_false(st.is_directory);
    assert_int_equal(vfs_stat("/file/", &st), -ENOTDIR);
    assert_int_equal(vfs_stat("/d/", &st), 0);
    /* open(2): a trailing slash or a dot names a directory */
    assert_int_equal(vfs_open("/file/", VFS_O_READ, &f), -ENOTDIR);
    assert_int_equal(vfs_open("/new/", VFS_O_WRITE | VFS_O_CREATE, &f), -EISDIR);
    assert_int_equal(vfs_open("/d/.", VFS_O_READ, &f), -EISDIR);
    assert_int_equal(vfs_stat("/new", &st), -ENOENT);
    /* rename(2): "." or ".." as the source EBUSY; as the target it exists */
    assert_int_equal(vfs_rename("/d/e/.", "/x"), -EBUSY);
    assert_int_equal(vfs_rename("/d/e/..", "/x"), -EBUSY);
    assert_int_equal(vfs_rename("/file", "/d/."), -EEXIST);
    assert_int_equal(vfs_rename("/file/", "/x"), -ENOTDIR);
    assert_int_equal(vfs_rename("/file", "/x/"), -ENOTDIR);
    assert_int_equal(vfs_rename("/d/e/", "/d/f/"), 0);
    assert_int_equal(vfs_stat("/d/f", &st), 0);
    assert_true(st.is_directory);
    /* repeated slashes are one */
    assert_int_equal(vfs_stat("//d///f", &st), 0);
}

static void test_removed_source_fails_open_files(void **state)
{
    write_text("/tmp/open", "data");
    struct vfs_file *f;
    assert_int_equal(vfs_open("/tmp/open", VFS_O_READ, &f), 0);
    vfs_source_removed("ram1");
    char buf[4];
    assert_int_equal(vfs_read(f, buf, sizeof(buf)), -ENODEV);
    assert_int_equal(vfs_close(f), -ENODEV);
    struct vfs_stat st;
    /* /tmp now resolves to the root filesystem, which has no such file. */
    assert_int_equal(vfs_stat("/tmp/open", &st), -ENOENT);
    write_text("/still-works", "yes");
}

static void test_unlink_while_open(void **state)
{
    write_text("/doomed", "bytes");
    struct vfs_file *f;
    assert_int_equal(vfs_open("/doomed", VFS_O_READ, &f), 0);
    assert_int_equal(vfs_unlink("/doomed"), 0);
    char buf[8];
    assert_int_equal(vfs_read(f, buf, sizeof(buf)), 5);
    assert_int_equal(vfs_close(f), 0);
    struct vfs_stat st;
    assert_int_equal(vfs_stat("/doomed", &st), -ENOENT);
}

/* Like FAT: a file open for writing is not opened again, and an open file is not opened for
 * writing, so copying a file onto itself cannot truncate it. */
static void test_open_file_is_not_truncated_by_a_second_open(void **state)
{
    write_text("/tmp/a", "precious");
    struct vfs_file *in, *out;
    assert_int_equal(vfs_open("/tmp/a", VFS_O_READ, &in), 0);
    assert_int_equal(vfs_open("/tmp/a", VFS_O_WRITE | VFS_O_CREATE | VFS_O_TRUNC, &out), -EBUSY);
    assert_int_equal(vfs_open("/tmp/a", VFS_O_WRITE | VFS_O_APPEND, &out), -EBUSY);
    struct vfs_file *second;
    assert_int_equal(vfs_open("/tmp/a", VFS_O_READ, &second), 0); /* readers share */
    assert_int_equal(vfs_close(second), 0);
    char buf[16] = {0};
    assert_int_equal(vfs_read(in, buf, sizeof(buf)), 8);
    assert_string_equal(buf, "precious");
    assert_int_equal(vfs_close(in), 0);

    assert_int_equal(vfs_open("/tmp/a", VFS_O_WRITE, &out), 0);
    assert_int_equal(vfs_open("/tmp/a", VFS_O_READ, &in), -EBUSY);
    assert_int_equal(vfs_close(out), 0);
    assert_int_equal(vfs_open("/tmp/a", VFS_O_WRITE | VFS_O_TRUNC, &out), 0); /* closed: fine */
    assert_int_equal(vfs_close(out), 0);
    struct vfs_stat st;
    assert_int_equal(vfs_stat("/tmp/a", &st), 0);
    assert_int_equal(st.size, 0);
}

/* A read-only mount made writable; what vfs_remount refuses. */
static void test_remount(void **state)
{
    assert_int_equal(vfs_mkdir("/ro"), 0);
    assert_int_equal(vfs_mount(&ramfs_type, NULL, "ram2", "/ro", VFS_MOUNT_READ_ONLY), 0);
    assert_int_equal(vfs_write_file("/ro/f", "x", 1), -EROFS);
    assert_int_equal(vfs_remount("/ro", VFS_MOUNT_READ_ONLY | VFS_MOUNT_QUIET), -EINVAL);
    assert_int_equal(vfs_remount("/nothing", 0), -EINVAL);
    assert_int_equal(vfs_remount("/ro/", 0), 0);
    assert_int_equal(vfs_write_file("/ro/f", "x", 1), 0);
    assert_int_equal(vfs_remount("/ro", VFS_MOUNT_READ_ONLY), -EINVAL); /* not back */
    assert_int_equal(vfs_write_file("/ro/f", "y", 1), 0);
    assert_int_equal(vfs_unmount("/ro"), 0);

    /* a filesystem that cannot become writable stays read-only */
    static struct filesystem_type frozen;
    frozen = ramfs_type;
    frozen.name = "frozen";
    frozen.make_writable = NULL;
    assert_int_equal(vfs_mount(&frozen, NULL, "ram3", "/ro", VFS_MOUNT_READ_ONLY), 0);
    assert_int_equal(vfs_remount("/ro", 0), -EROFS);
    assert_int_equal(vfs_write_file("/ro/f", "x", 1), -EROFS);
    assert_int_equal(vfs_unmount("/ro"), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_files_and_directories, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mount_points, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_paths, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dot_and_slash_corner_cases, setup, teardown),
        cmocka_unit_test_setup_teardown(test_removed_source_fails_open_files, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unlink_while_open, setup, teardown),
        cmocka_unit_test_setup_teardown(test_remount, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_file_is_not_truncated_by_a_second_open, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
