UNIT_TESTS += test_vfs_path test_vfs_ramfs
test_vfs_path_SRCS := tests/unit/test_vfs_path.c fs/vfs/path.c
test_vfs_ramfs_SRCS := tests/unit/test_vfs_ramfs.c fs/vfs/path.c fs/vfs/vfs.c fs/vfs/ramfs.c
