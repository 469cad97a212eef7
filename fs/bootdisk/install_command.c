/* The shell's `install [--force] DISK`: writes RayOS's boot disk layout (include/rayos/
 * boot_disk.h) to another disk from the running system.  Everything that can be refused is
 * checked before the first write, and each refusal says why: a partition rather than a disk,
 * the disk holding the running root or any disk in use, a read-only disk, one smaller than
 * 64 MiB, sectors other than 512 or 4096 bytes, a disk that already holds a partition table or
 * a filesystem (unless --force), boot files that are missing.  The boot files come from the
 * boot modules (/boot/modules, when GRUB started us from the ISO) or from the running root
 * (an installed ESP holds them). */
#include <rayos/block.h>
#include <rayos/boot_disk.h>
#include <rayos/boot_modules.h>
#include <rayos/bytes.h>
#include <rayos/config.h>
#include <rayos/crc32.h>
#include <rayos/errno.h>
#include <rayos/heap.h>
#include <rayos/ini.h>
#include <rayos/partition.h>
#include <rayos/shell.h>
#include <rayos/string.h>
#include <rayos/time.h>
#include <rayos/vfs.h>

#define PROGRESS_STEP      (256 * 1024)
#define MODULE_CONFIG_PATH BOOT_MODULES_PATH "/RAYOS.CFG"
#define INSTALL_HOLDER     "is being installed to"

struct install_file {
    const char *module; /* its name under /boot/modules */
    const char *esp_path;
    bool bios_only;
    struct vfs_file *file;
    char path[VFS_PATH_MAX]; /* where it was found */
};

struct install {
    struct block_device *disk;
    struct block_io io;
    bool force;
    bool claimed;
    struct install_file files[4]; /* kernel, UEFI loader, BIOS core, BIOS boot sector */
    struct install_file modules[BOOT_DISK_MODULES_MAX]; /* for /BOOT/MODULES */
    char module_names[BOOT_DISK_MODULES_MAX][BOOT_DISK_MODULE_NAME];
    unsigned module_count;
    const char *modules_from; /* the directory they were found in */
    struct boot_disk_layout layout;
    char current_step[64];
    uint64_t last_shown;
};

static const struct install_file file_table[4] = {
    {"rayos.elf", BOOT_DISK_KERNEL_PATH, false, NULL, ""},
    {"BOOTX64.EFI", BOOT_DISK_EFI_PATH, false, NULL, ""},
    {"core.img", BOOT_DISK_BIOS_CORE_PATH, true, NULL, ""},
    {"boot.img", BOOT_DISK_BIOS_BOOT_PATH, true, NULL, ""},
};

static int refuse(const char *fmt, const char *a, const char *b)
{
    shell_printf("install: ");
    shell_printf(fmt, a, b);
    shell_printf("; nothing written\n");
    return 1;
}

/* The running root's device, when it is on this disk. */
static bool holds_root(const struct block_device *disk, char *root_source, size_t size)
{
    struct vfs_mount_info info;
    for (unsigned i = 0; vfs_mount_at(i, &info); i++) {
        if (strcmp(info.path, "/") != 0)
            continue;
        struct block_device *dev = block_device_find(info.source);
        if (!dev)
            return false;
        bool same = block_device_disk(dev) == disk;
        device_put(&dev->dev);
        strlcpy(root_source, info.source, size);
        return same;
    }
    return false;
}

/* What is on the disk now: a partition table, a boot sector, a backup GPT. */
static int check_blank(struct install *in)
{
    struct partition_table *table = kzalloc(sizeof(*table));
    uint8_t *block = kmalloc(in->io.block_size);
    int error = -ENOMEM;
    const char *found = NULL;
    if (!table || !block)
        goto out;
    error = partition_table_read(&in->io, table);
    if (error == -EUCLEAN)
        found = "a damaged GPT partition table";
    else if (error)
        goto out;
    else if (table->scheme == PARTITION_SCHEME_GPT)
        found = "a GPT partition table";
    else if (table->scheme == PARTITION_SCHEME_MBR)
        found = "an MBR partition table";
    error = found ? 0 : block_io_read(&in->io, 0, 1, block);
    if (!found && !error && get_le16(block + 510) == 0xaa55)
        found = "a filesystem or boot sector (signature 55AA in block 0)";
    if (!found && !error)
        error = block_io_read(&in->io, in->io.block_count - 1, 1, block);
    if (!found && !error && memcmp(block, "EFI PART", 8) == 0)
        found = "a backup GPT header in its last block";
out:
    kfree(table);
    kfree(block);
    if (error) {
        shell_printf("install: %s: cannot read it (%s); nothing written\n", in->disk->dev.name,
                     error_name(-error));
        return 1;
    }
    if (found && !in->force)
        return refuse("%s holds %s (install --force DISK overwrites it)", in->disk->dev.name,
                      found);
    if (found)
        shell_printf("install: %s holds %s: overwriting it (--force)\n", in->disk->dev.name, found);
    return 0;
}

static int check_disk(struct install *in)
{
    struct block_device *d = in->disk;
    char why[96], size[16];
    if (d->type == BLOCK_TYPE_PARTITION)
        return refuse("%s is a partition; give the whole disk (%s)", d->dev.name,
                      block_device_disk(d)->dev.name);
    if (holds_root(d, why, sizeof(why)))
        return refuse("%s holds the running root (%s is mounted at /)", d->dev.name, why);
    if (block_device_busy(d, why, sizeof(why)))
        return refuse("%s is in use (%s)", d->dev.name, why);
    /* Ours from here on: no mount or raw writer can start while we check and write. */
    block_device_claim(d, INSTALL_HOLDER);
    in->claimed = true;
    if (d->read_only)
        return refuse("%s is read-only%s", d->dev.name, "");
    block_format_size(d->block_count * d->logical_block_size, size, sizeof(size));
    if (d->logical_block_size != 512 && d->logical_block_size != 4096)
        return refuse("%s has sectors of another size than 512 or 4096 bytes (%s)", d->dev.name,
                      size);
    if (d->block_count * d->logical_block_size < BOOT_DISK_MIN_BYTES)
        return refuse("%s is %s; a RayOS disk needs at least 64 MiB", d->dev.name, size);
    return check_blank(in);
}

static int find_file(struct install_file *f)
{
    snprintf(f->path, sizeof(f->path), "%s/%s", BOOT_MODULES_PATH, f->module);
    if (vfs_open(f->path, VFS_O_READ, &f->file) == 0)
        return 0;
    strlcpy(f->path, f->esp_path, sizeof(f->path));
    if (vfs_open(f->path, VFS_O_READ, &f->file) == 0)
        return 0;
    f->file = NULL;
    return -ENOENT;
}

static int find_files(struct install *in, bool bios)
{
    unsigned missing = 0;
    for (unsigned i = 0; i < ARRAY_SIZE(in->files); i++) {
        in->files[i] = file_table[i];
        if ((in->files[i].bios_only && !bios) || find_file(&in->files[i]) == 0)
            continue;
        shell_printf("install: missing %s: neither %s/%s nor %s exists\n", in->files[i].module,
                     BOOT_MODULES_PATH, in->files[i].module, in->files[i].esp_path);
        missing++;
    }
    if (missing)
        shell_printf("install: boot from the ISO (make iso) or from an installed disk, which "
                     "carry these files; nothing written\n");
    return missing ? 1 : 0;
}

static void close_files(struct install *in)
{
    for (unsigned i = 0; i < ARRAY_SIZE(in->files); i++)
        if (in->files[i].file)
            vfs_close(in->files[i].file);
    for (unsigned i = 0; i < in->module_count; i++)
        if (in->modules[i].file)
            vfs_close(in->modules[i].file);
}

/* Is this a file /BOOT/MODULES holds: a driver module or the alias index? */
static bool module_file(const char *name)
{
    size_t length = strlen(name);
    if (length == 0 || length >= BOOT_DISK_MODULE_NAME)
        return false;
    return strcmp(name, "modules.alias") == 0 ||
           (length > 3 && strcmp(name + length - 3, ".ko") == 0);
}

/* The driver modules go along: from the running root's /BOOT/MODULES when it has one (an
 * installed disk, the default disk), else those GRUB passed as boot modules (the ISO).  Best
 * effort: a disk without them still boots with the built-in drivers, and says so. */
static void find_modules(struct install *in)
{
    const char *dirs[] = {BOOT_DISK_MODULES_DIR, BOOT_MODULES_PATH};
    for (unsigned d = 0; d < ARRAY_SIZE(dirs) && in->module_count == 0; d++) {
        struct vfs_dir *dir;
        if (vfs_opendir(dirs[d], &dir) != 0)
            continue;
        struct vfs_dirent entry;
        while (in->module_count < BOOT_DISK_MODULES_MAX && vfs_readdir(dir, &entry) == 1) {
            if (entry.stat.is_directory || !module_file(entry.name))
                continue;
            struct install_file *f = &in->modules[in->module_count];
            char *name = in->module_names[in->module_count];
            strlcpy(name, entry.name, BOOT_DISK_MODULE_NAME);
            snprintf(f->path, sizeof(f->path), "%s/%s", dirs[d], name);
            f->module = name;
            if (vfs_open(f->path, VFS_O_READ, &f->file) == 0)
                in->module_count++;
        }
        vfs_closedir(dir);
        if (in->module_count)
            in->modules_from = dirs[d];
    }
}

static int vfs_source_read(void *context, uint64_t offset, void *buffer, size_t length)
{
    struct vfs_file *file = context;
    int64_t at = vfs_seek(file, (int64_t)offset, VFS_SEEK_SET);
    if (at < 0)
        return (int)at;
    for (size_t done = 0; done < length;) {
        ssize_t n = vfs_read(file, (char *)buffer + done, length - done);
        if (n <= 0)
            return n < 0 ? (int)n : -EIO; /* the file shrank under us */
        done += (size_t)n;
    }
    return 0;
}

static int make_source(struct install_file *f, struct boot_disk_source *out)
{
    struct vfs_stat st;
    if (!f->file) {
        *out = (struct boot_disk_source){0};
        return 0;
    }
    int error = vfs_fstat(f->file, &st);
    if (error)
        return error;
    *out = (struct boot_disk_source){f->module, st.size, vfs_source_read, f->file};
    return 0;
}

/* GUIDs must differ between installs, not resist an attacker: the clock's nanoseconds, the
 * wall time and the disk's identity, spread by splitmix64. */
static void gather_entropy(const struct block_device *disk, uint8_t *out, size_t length)
{
    uint64_t state = time_ns() ^ ((uint64_t)time_unix() << 24) ^ disk->block_count ^
                     ((uint64_t)crc32_update(0, disk->dev.name, strlen(disk->dev.name)) << 32);
    for (size_t i = 0; i < length; i += 8) {
        state += 0x9e3779b97f4a7c15ull ^ time_ns();
        uint64_t z = state;
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        z ^= z >> 31;
        for (size_t b = 0; b < 8 && i + b < length; b++)
            out[i + b] = (uint8_t)(z >> (8 * b));
    }
}

static void fat_clock_now(void *context, struct fat_time *out)
{
    struct wall_time t;
    time_wall(&t);
    *out = (struct fat_time){t.year, t.month, t.day, t.hour, t.minute, t.second};
}

static const struct fat_clock install_clock = {NULL, fat_clock_now};

static void show_progress(void *context, const char *step, uint64_t done, uint64_t total)
{
    struct install *in = context;
    bool new_step = strcmp(step, in->current_step) != 0;
    if (new_step) {
        if (in->current_step[0])
            shell_printf("\n");
        strlcpy(in->current_step, step, sizeof(in->current_step));
        in->last_shown = 0;
        shell_printf("install: %s", step);
    }
    if (total && (done == total || done - in->last_shown >= PROGRESS_STEP)) {
        in->last_shown = done;
        shell_printf("\rinstall: %s %llu/%llu KiB", step,
                     (unsigned long long)DIV_ROUND_UP(done, 1024),
                     (unsigned long long)DIV_ROUND_UP(total, 1024));
    }
}

/* The disk's partitions as they are now: the old ones go, the new ones are registered. */
static void rescan_partitions(struct install *in)
{
    device_unregister_children(&in->disk->dev);
    int count = block_device_scan_partitions(in->disk);
    if (count < 0)
        shell_printf("install: cannot read the new partition table back (%s)\n",
                     error_name(-count));
}

/* Without a configuration file on the running root (the ISO, an in-memory root) the running
 * configuration is all defaults: the commented default file from the boot modules is the better
 * start, when the loader passed it. */
static char *default_config(size_t *length)
{
    struct vfs_stat st;
    char *text = NULL;
    if (vfs_stat(CONFIG_PATH, &st) == 0 ||
        vfs_read_file(MODULE_CONFIG_PATH, 64 * 1024, &text, length) != 0)
        return NULL;
    return text;
}

static int run_install(struct install *in)
{
    uint8_t entropy[BOOT_DISK_ENTROPY];
    gather_entropy(in->disk, entropy, sizeof(entropy));
    int error = boot_disk_plan(in->io.block_size, in->io.block_count, entropy, &in->layout);
    if (error)
        return refuse("%s: no layout fits (%s)", in->disk->dev.name, error_name(-error));
    bool bios = in->layout.bios_blocks != 0;
    if (find_files(in, bios))
        return 1;
    struct boot_disk_payload payload = {
        .clock = &install_clock, .progress = show_progress, .progress_context = in};
    if ((error = make_source(&in->files[0], &payload.kernel)) != 0 ||
        (error = make_source(&in->files[1], &payload.efi_loader)) != 0 ||
        (error = make_source(&in->files[2], &payload.bios_core)) != 0 ||
        (error = make_source(&in->files[3], &payload.bios_boot)) != 0)
        return refuse("cannot read the boot files (%s)%s", error_name(-error), "");
    find_modules(in);
    for (unsigned i = 0; i < in->module_count; i++) {
        strlcpy(payload.modules[i].name, in->module_names[i], BOOT_DISK_MODULE_NAME);
        if ((error = make_source(&in->modules[i], &payload.modules[i].source)) != 0)
            return refuse("cannot read %s (%s)", in->modules[i].path, error_name(-error));
    }
    payload.module_count = in->module_count;
    size_t config_length = 0;
    const char *config_source = "the running configuration";
    char *config = default_config(&config_length);
    if (config)
        config_source = MODULE_CONFIG_PATH;
    else
        config = ini_serialize(config_document(), &config_length);
    if (!config)
        return refuse("out of memory%s%s", "", "");
    payload.config = config;
    payload.config_length = config_length;

    char size[16];
    const struct boot_disk_layout *l = &in->layout;
    block_format_size(l->esp_blocks * l->block_size, size, sizeof(size));
    shell_printf("install: %s: GPT; ESP %s%u (%s, PARTUUID %s) is the root; %s\n",
                 in->disk->dev.name, in->disk->dev.name, BOOT_DISK_ESP_NUMBER, size,
                 l->esp_partuuid,
                 bios ? "BIOS boot partition with GRUB for BIOS"
                      : "UEFI only (GRUB's BIOS boot sector needs 512-byte sectors)");
    for (unsigned i = 0; i < ARRAY_SIZE(in->files); i++)
        if (in->files[i].file)
            shell_printf("install: %s from %s\n", in->files[i].esp_path, in->files[i].path);
    shell_printf("install: %s from %s, [boot] root = PARTUUID=%s\n", BOOT_DISK_CONFIG_PATH,
                 config_source, l->esp_partuuid);
    if (in->module_count)
        shell_printf("install: %s: %u files from %s\n", BOOT_DISK_MODULES_DIR, in->module_count,
                     in->modules_from);
    else
        shell_printf("install: no driver modules found (%s, %s): only built-in drivers\n",
                     BOOT_DISK_MODULES_DIR, BOOT_MODULES_PATH);

    uint64_t started = time_ns();
    error = boot_disk_write(&in->io, l, &payload);
    kfree(config);
    if (in->current_step[0])
        shell_printf("\n");
    if (error) {
        shell_printf("install: FAILED while %s: %s; %s has no partition table and will not "
                     "boot\n",
                     payload.failed_step, error_name(-error), in->disk->dev.name);
        return 1;
    }
    uint64_t ms = (time_ns() - started) / 1000000;
    rescan_partitions(in);
    shell_printf("install: done in %llu.%03llu s; %s boots RayOS under UEFI%s\n",
                 (unsigned long long)(ms / 1000), (unsigned long long)(ms % 1000),
                 in->disk->dev.name, bios ? " and BIOS" : "");
    return 0;
}

static int cmd_install(int argc, char **argv)
{
    struct install *in = kzalloc(sizeof(*in));
    if (!in)
        return 1;
    const char *name = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--force") == 0)
            in->force = true;
        else if (!name)
            name = argv[i];
        else
            name = "";
    }
    int status = 1;
    if (!name || !name[0]) {
        shell_printf("usage: install [--force] DISK\n");
        goto out;
    }
    in->disk = block_device_find(name);
    if (!in->disk) {
        refuse("no block device %s%s", name, "");
        goto out;
    }
    block_device_io(in->disk, &in->io);
    if (check_disk(in) == 0)
        status = run_install(in);
    if (in->claimed)
        block_device_unclaim(in->disk, INSTALL_HOLDER);
    close_files(in);
    device_put(&in->disk->dev);
out:
    kfree(in);
    return status;
}
SHELL_COMMAND("install", "[--force] DISK  make DISK a bootable RayOS disk (UEFI and BIOS)",
              cmd_install);
