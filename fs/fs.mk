# Portable pieces of fs/ outside the FAT and VFS libraries.
UNIT_TESTS += test_loop_map
test_loop_map_SRCS := tests/unit/test_loop_map.c fs/loop_map.c
