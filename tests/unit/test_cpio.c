/* The newc cpio reader against archives written here and by the cpio(1) layout rules, and
 * against damaged ones: every malformed header, name or length is refused, never read past. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <rayos/cpio.h>
#include <rayos/errno.h>

static size_t put_entry(uint8_t *out, size_t at, const char *name, uint32_t mode, const char *data,
                        size_t size)
{
    size_t name_size = strlen(name) + 1;
    char header[160];
    snprintf(header, sizeof(header), "070701%08x%08x%08x%08x%08x%08x%08zx%08x%08x%08x%08x%08zx%08x",
             1u, mode, 0u, 0u, 1u, 0u, size, 0u, 0u, 0u, 0u, name_size, 0u);
    memcpy(out + at, header, 110);
    memcpy(out + at + 110, name, name_size);
    at = (at + 110 + name_size + 3) & ~(size_t)3;
    memcpy(out + at, data, size);
    return (at + size + 3) & ~(size_t)3;
}

static size_t build(uint8_t *out)
{
    memset(out, 0, 4096);
    size_t at = put_entry(out, 0, "nvme.ko", 0100644, "ELF-nvme", 8);
    at = put_entry(out, at, "dir", 040755, "", 0);
    at = put_entry(out, at, "modules.alias", 0100644, "alias pci:x nvme\n", 17);
    return put_entry(out, at, "TRAILER!!!", 0, "", 0);
}

static void test_reads_every_entry_then_the_end(void **state)
{
    (void)state;
    uint8_t archive[4096];
    size_t size = build(archive), position = 0;
    struct cpio_entry e;
    assert_true(cpio_is_archive(archive, size));
    assert_int_equal(cpio_next(archive, size, &position, &e), 1);
    assert_string_equal(e.name, "nvme.ko");
    assert_int_equal(e.mode & CPIO_MODE_TYPE, CPIO_MODE_REGULAR);
    assert_memory_equal(archive + e.offset, "ELF-nvme", 8);
    assert_int_equal(e.size, 8);
    assert_int_equal(cpio_next(archive, size, &position, &e), 1);
    assert_string_equal(e.name, "dir");
    assert_int_not_equal(e.mode & CPIO_MODE_TYPE, CPIO_MODE_REGULAR);
    assert_int_equal(cpio_next(archive, size, &position, &e), 1);
    assert_string_equal(e.name, "modules.alias");
    assert_memory_equal(archive + e.offset, "alias pci:x nvme\n", 17);
    assert_int_equal(cpio_next(archive, size, &position, &e), 0);
}

static void test_damaged_archives_are_refused(void **state)
{
    (void)state;
    uint8_t archive[4096];
    size_t size = build(archive), position = 0;
    struct cpio_entry e;
    /* Cut anywhere inside the first entry: a short header, name or data. */
    for (size_t cut = 0; cut < 128; cut++) {
        position = 0;
        assert_int_equal(cpio_next(archive, cut, &position, &e), -EINVAL);
    }
    uint8_t bad[4096];
    memcpy(bad, archive, size);
    bad[0] = '1'; /* magic */
    position = 0;
    assert_false(cpio_is_archive(bad, size));
    assert_int_equal(cpio_next(bad, size, &position, &e), -EINVAL);
    memcpy(bad, archive, size);
    memcpy(bad + 6 + 6 * 8, "fffffff0", 8); /* file size past the end */
    position = 0;
    assert_int_equal(cpio_next(bad, size, &position, &e), -EINVAL);
    memcpy(bad, archive, size);
    memcpy(bad + 6 + 11 * 8, "00000004", 8); /* name without its NUL where it says */
    position = 0;
    assert_int_equal(cpio_next(bad, size, &position, &e), -EINVAL);
    memcpy(bad, archive, size);
    memcpy(bad + 6 + 11 * 8, "00001000", 8); /* name longer than CPIO_NAME_MAX */
    position = 0;
    assert_int_equal(cpio_next(bad, size, &position, &e), -EINVAL);
    memcpy(bad, archive, size);
    memcpy(bad + 6 + 1 * 8, "0001000g", 8); /* not hexadecimal */
    position = 0;
    assert_int_equal(cpio_next(bad, size, &position, &e), -EINVAL);
    /* A position beyond the archive is not read from. */
    position = size + 100;
    assert_int_equal(cpio_next(archive, size, &position, &e), -EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reads_every_entry_then_the_end),
        cmocka_unit_test(test_damaged_archives_are_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
