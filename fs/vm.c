/* VM disk images: the [vm NAME] sections of the configuration, "vm list", "mkimage" to create a
 * contiguous image file, and "losetup" to attach one as a block device. */
#include <rayos/block.h>
#include <rayos/config.h>
#include <rayos/errno.h>
#include <rayos/escape.h>
#include <rayos/shell.h>
#include <rayos/string.h>
#include <rayos/vfs.h>
#include "loop.h"

static void human_size(uint64_t bytes, char *out, size_t size)
{
    block_format_size(bytes, out, size);
}

/* Why an image is unusable, or NULL when it is fine. */
static const char *image_problem(const char *image, int64_t wanted, struct vfs_stat *st, char *why,
                                 size_t size)
{
    if (!image)
        return "no 'image =' line";
    if (image[0] != '/')
        return "image path is not absolute";
    int error = vfs_stat(image, st);
    if (error) {
        snprintf(why, size, "%s (create it: mkimage %s %s)", error_name(-error), image,
                 wanted > 0 ? "SIZE" : "SIZE");
        return why;
    }
    if (st->is_directory)
        return "is a directory";
    if (st->size == 0 || st->size % 512)
        return "size is not a whole number of 512-byte blocks";
    if (wanted > 0 && (uint64_t)wanted != st->size) {
        char have[16], want[16];
        human_size(st->size, have, sizeof(have));
        human_size((uint64_t)wanted, want, sizeof(want));
        snprintf(why, size, "is %s, configured size is %s", have, want);
        return why;
    }
    return NULL;
}

static int cmd_vm(int argc, char **argv)
{
    if (argc != 2 || strcmp(argv[1], "list") != 0) {
        shell_printf("usage: vm list\n");
        return -EINVAL;
    }
    const struct ini_document *doc = config_document();
    unsigned count = 0;
    shell_printf("%-12s %-24s %8s %-3s %s\n", "NAME", "IMAGE", "SIZE", "RO", "STATUS");
    for (unsigned i = 0;; i++) {
        const char *section = ini_section(doc, i);
        if (!section)
            break;
        if (strncasecmp(section, "vm ", 3) != 0)
            continue;
        count++;
        const char *image = ini_get(doc, section, "image");
        int64_t wanted = 0;
        ini_get_integer(doc, section, "size", &wanted);
        bool read_only = false;
        ini_get_bool(doc, section, "read_only", &read_only);
        struct vfs_stat st = {0};
        char why[160];
        const char *problem = image_problem(image, wanted, &st, why, sizeof(why));
        char size[16] = "-";
        if (st.size)
            human_size(st.size, size, sizeof(size));
        char shown[256 * ESCAPE_MAX_RATIO], said[sizeof(why) * ESCAPE_MAX_RATIO];
        escape_string(shown, sizeof(shown), image ? image : "-"); /* from the file */
        escape_string(said, sizeof(said), problem ? problem : "");
        shell_printf("%-12s %-24s %8s %-3s %s%s\n", section + 3, shown, size,
                     read_only ? "yes" : "no", problem ? "unusable: " : "ok", said);
    }
    if (count == 0)
        shell_printf("(no [vm NAME] sections in %s)\n", CONFIG_PATH);
    return 0;
}
SHELL_COMMAND("vm", "list  the VM disk images of the configuration", cmd_vm);

static int cmd_mkimage(int argc, char **argv)
{
    int64_t size;
    if (argc != 3 || argv[1][0] != '/' || ini_parse_integer(argv[2], &size) || size <= 0 ||
        size % 512) {
        shell_printf("usage: mkimage /PATH SIZE   (SIZE a multiple of 512, e.g. 64M)\n");
        return -EINVAL;
    }
    struct vfs_file *file;
    int error = vfs_open(argv[1], VFS_O_WRITE | VFS_O_CREATE | VFS_O_EXCL, &file);
    if (error) {
        shell_printf("mkimage: %s: %s\n", argv[1], error_name(-error));
        return error;
    }
    error = vfs_allocate(file, (uint64_t)size, true);
    if (!error)
        error = vfs_truncate(file, (uint64_t)size);
    if (!error)
        error = vfs_file_sync(file);
    vfs_close(file);
    if (error) {
        vfs_unlink(argv[1]);
        shell_printf("mkimage: %s: %s\n", argv[1],
                     error == -ENOSPC ? "no contiguous free space of that size"
                                      : error_name(-error));
        return error;
    }
    char text[16];
    human_size((uint64_t)size, text, sizeof(text));
    shell_printf("mkimage: %s: %s, contiguous, zero-filled\n", argv[1], text);
    return 0;
}
SHELL_COMMAND("mkimage", "/PATH SIZE  create a contiguous VM disk image file", cmd_mkimage);

static int cmd_losetup(int argc, char **argv)
{
    if (argc == 1) {
        struct loop_info info;
        for (unsigned i = 0; loop_info(i, &info); i++) {
            char size[16];
            human_size(info.bytes, size, sizeof(size));
            char path[sizeof(info.path) * ESCAPE_MAX_RATIO];
            escape_string(path, sizeof(path), info.path);
            shell_printf("%s: %s on %s, %s, %zu extent%s%s\n", info.name, path, info.backing, size,
                         info.extents, info.extents == 1 ? "" : "s",
                         info.read_only ? ", read-only" : "");
        }
        return 0;
    }
    if (argc == 3 && strcmp(argv[1], "-d") == 0) {
        int error = loop_detach(argv[2]);
        struct block_device *dev = error == -EBUSY ? block_device_find(argv[2]) : NULL;
        char why[80];
        if (dev && block_device_busy(dev, why, sizeof(why)))
            shell_printf("losetup: %s: %s: %s\n", argv[2], error_name(EBUSY), why);
        else if (error)
            shell_printf("losetup: %s: %s\n", argv[2], error_name(-error));
        if (dev)
            device_put(&dev->dev);
        return error;
    }
    bool read_only = argc == 3 && strcmp(argv[1], "-r") == 0;
    if (argc != 2 && !read_only) {
        shell_printf("usage: losetup [-r] /PATH | losetup -d loopN | losetup\n");
        return -EINVAL;
    }
    const char *path = argv[argc - 1];
    char name[16];
    int error = loop_attach(path, read_only, name, sizeof(name));
    if (error == -EOPNOTSUPP)
        shell_printf("losetup: %s: not on a block device\n", path);
    else if (error == -E2BIG)
        shell_printf("losetup: %s: too fragmented (create images with mkimage)\n", path);
    else if (error == -EINVAL)
        shell_printf("losetup: %s: size is not a whole number of blocks\n", path);
    else if (error)
        shell_printf("losetup: %s: %s\n", path, error_name(-error));
    else
        shell_printf("%s\n", name);
    return error;
}
SHELL_COMMAND("losetup", "[-r] /PATH | -d loopN  attach a file as a block device", cmd_losetup);
