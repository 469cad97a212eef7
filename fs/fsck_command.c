/* The shell's fsck: the FAT library's check (and, with --repair, its repair) on a device that
 * nothing has mounted, as rayfs check does on an image (docs/FAT.md, "Repair"). */
#include <rayos/block.h>
#include <rayos/errno.h>
#include <rayos/fat.h>
#include <rayos/shell.h>
#include <rayos/string.h>

#define FSCK_HOLDER "is being checked by fsck"

static void print_line(void *context, const char *message)
{
    (void)context;
    shell_printf("%s\n", message);
}

static int check_device(struct block_device *dev, bool repair)
{
    struct block_io io;
    block_device_io(dev, &io);
    if (repair) {
        unsigned fixes;
        int error = fat_repair(&io, print_line, NULL, &fixes);
        if (error)
            return error;
        shell_printf("%u repairs\n", fixes);
    }
    struct fat_check_result result;
    int error = fat_check(&io, print_line, NULL, &result);
    if (error)
        return error;
    shell_printf("%u files, %u directories, %u clusters used, %u free, %u lost; %u errors, "
                 "%u warnings\n",
                 result.files, result.directories, result.used_clusters, result.free_clusters,
                 result.lost_clusters, result.errors, result.warnings);
    return result.errors ? -EUCLEAN : 0;
}

static int cmd_fsck(int argc, char **argv)
{
    bool repair = argc == 3 && strcmp(argv[1], "--repair") == 0;
    if (argc != 2 && !repair) {
        shell_printf("usage: fsck [--repair] DEVICE\n");
        return -EINVAL;
    }
    const char *name = argv[argc - 1];
    struct block_device *dev = block_device_find(name);
    if (!dev) {
        shell_printf("fsck: %s: %s\n", name, error_name(ENODEV));
        return -ENODEV;
    }
    /* a mounted volume changes under a check and a repair would fight the mount: refuse */
    char why[80];
    int error = 0;
    if (block_device_busy(dev, why, sizeof(why)))
        error = -EBUSY;
    else if (repair && dev->read_only)
        error = -EROFS;
    if (error == -EBUSY) {
        shell_printf("fsck: %s: %s: %s\n", name, error_name(EBUSY), why);
    } else if (!error) {
        block_device_claim(dev, FSCK_HOLDER);
        error = check_device(dev, repair);
        block_device_unclaim(dev, FSCK_HOLDER);
        if (error && error != -EUCLEAN)
            shell_printf("fsck: %s: %s\n", name, error_name(-error));
    } else {
        shell_printf("fsck: %s: %s\n", name, error_name(-error));
    }
    device_put(&dev->dev);
    return error;
}
SHELL_COMMAND("fsck", "[--repair] DEVICE  check (and repair) an unmounted FAT volume", cmd_fsck);
