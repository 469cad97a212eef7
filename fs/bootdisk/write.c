/* Writing a boot disk: everything that can be refused is checked before the first write; then
 * old tables are wiped, the BIOS core image, the ESP's filesystem and its files are written
 * and flushed, and the partition tables come last (see include/rayos/boot_disk.h). */
#include <rayos/boot_disk.h>
#include <rayos/errno.h>
#include <rayos/fat.h>
#include <rayos/heap.h>
#include <rayos/ini.h>
#include <rayos/partition.h>
#include <rayos/string.h>

#define COPY_CHUNK         (64 * 1024)
#define FAT32_MIN_CLUSTERS 65525ull

int boot_disk_grub_config(const struct boot_disk_layout *layout, char *out, size_t size)
{
    /* Loaded by the GRUB images' embedded configuration from the partition GRUB started on.
     * It makes sure that partition is the one this disk's ESP is (by PARTUUID: GRUB 2.06 has
     * no search --part-uuid, so it probes the partitions it knows), then boots the kernel
     * from it and tells RayOS the same identity. */
    int n = snprintf(out, size,
                     "# Written by RayOS for the disk whose ESP has PARTUUID %s.\n"
                     "set timeout=0\n"
                     "set rayos_partuuid=%s\n"
                     "set rayos_root=\n"
                     "insmod regexp\n"
                     "probe --set=found --part-uuid $root\n"
                     "if [ \"$found\" = \"$rayos_partuuid\" ]; then set rayos_root=$root; fi\n"
                     "if [ -z \"$rayos_root\" ]; then\n"
                     "    for device in (*,gpt%u); do\n"
                     "        probe --set=found --part-uuid $device\n"
                     "        if [ \"$found\" = \"$rayos_partuuid\" ]; then\n"
                     "            regexp --set=rayos_root '^\\((.*)\\)$' $device\n"
                     "        fi\n"
                     "    done\n"
                     "fi\n"
                     "if [ -z \"$rayos_root\" ]; then\n"
                     "    echo \"RayOS: no partition with PARTUUID $rayos_partuuid\"\n"
                     "else\n"
                     "    set root=$rayos_root\n"
                     "    menuentry \"RayOS\" {\n"
                     "        multiboot2 %s root=PARTUUID=%s\n"
                     "        boot\n"
                     "    }\n"
                     "fi\n",
                     layout->esp_partuuid, layout->esp_partuuid, BOOT_DISK_ESP_NUMBER,
                     BOOT_DISK_KERNEL_PATH, layout->esp_partuuid);
    return n < 0 || (size_t)n >= size ? -ENOSPC : n;
}

int boot_disk_rewrite_config(const char *text, size_t length, const char *partuuid, char **out,
                             size_t *out_length)
{
    struct ini_document *doc = ini_parse(text, length, NULL, NULL);
    if (!doc)
        return -ENOMEM;
    char value[16 + PARTITION_UUID_SIZE];
    snprintf(value, sizeof(value), "PARTUUID=%s", partuuid);
    int error = ini_set(doc, "boot", "root", value);
    if (!error) {
        *out = ini_serialize(doc, out_length);
        error = *out ? 0 : -ENOMEM;
    }
    ini_free(doc);
    return error;
}

struct writer {
    const struct boot_disk_layout *layout;
    struct boot_disk_payload *payload;
    uint8_t *core; /* wired */
    size_t core_size;
    uint8_t boot_img[GRUB_BOOT_SECTOR_SIZE];
    char *grub_cfg;
    char *config;
    size_t config_length;
    uint8_t *chunk;
};

static int fail(struct writer *w, const char *step, int error)
{
    if (error)
        strlcpy(w->payload->failed_step, step, sizeof(w->payload->failed_step));
    return error;
}

static int read_whole(struct boot_disk_source *source, void *buffer)
{
    return source->read(source->context, 0, buffer, (size_t)source->size);
}

/* A module's name becomes a file name in one directory: nothing that could leave it. */
static bool module_name_ok(const char *name)
{
    size_t length = strnlen(name, BOOT_DISK_MODULE_NAME);
    if (length == 0 || length == BOOT_DISK_MODULE_NAME || name[0] == '.')
        return false;
    for (size_t i = 0; i < length; i++) {
        char c = name[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '_' || c == '-';
        if (!ok)
            return false;
    }
    return true;
}

/* Everything that can be refused, before anything is written. */
static int prepare(struct writer *w)
{
    struct boot_disk_payload *p = w->payload;
    if (p->kernel.size == 0)
        return fail(w, "reading the kernel (empty)", -EINVAL);
    if (p->efi_loader.size == 0)
        return fail(w, "reading the UEFI loader (empty)", -EINVAL);
    if (p->module_count > BOOT_DISK_MODULES_MAX)
        return fail(w, "counting the modules (too many)", -EINVAL);
    for (unsigned i = 0; i < p->module_count; i++)
        if (!module_name_ok(p->modules[i].name))
            return fail(w, "checking the modules' names", -EINVAL);
    if (w->layout->bios_blocks) {
        if (p->bios_boot.size != GRUB_BOOT_SECTOR_SIZE)
            return fail(w, "checking GRUB's boot.img (not 512 bytes)", -EINVAL);
        if (p->bios_core.size > w->layout->bios_blocks * w->layout->block_size ||
            p->bios_core.size > GRUB_CORE_MAX_BYTES || p->bios_core.size < 1024)
            return fail(w, "checking GRUB's core.img (size)", -EFBIG);
        w->core_size = (size_t)p->bios_core.size;
        w->core = kzalloc(ALIGN_UP(w->core_size, 512));
        if (!w->core)
            return fail(w, "reading GRUB's core.img", -ENOMEM);
        int error = read_whole(&p->bios_core, w->core);
        if (error)
            return fail(w, "reading GRUB's core.img", error);
        error = read_whole(&p->bios_boot, w->boot_img);
        if (error)
            return fail(w, "reading GRUB's boot.img", error);
        if (grub_bios_wire_core(w->core, w->core_size, w->layout->bios_start) != 0)
            return fail(w, "checking GRUB's core.img (not an i386-pc core image)", -EINVAL);
        uint8_t probe[GRUB_BOOT_SECTOR_SIZE];
        if (grub_bios_wire_boot_sector(w->boot_img, w->layout->bios_start, probe) != 0)
            return fail(w, "checking GRUB's boot.img (not GRUB's boot sector)", -EINVAL);
    }
    w->grub_cfg = kmalloc(2048);
    w->chunk = kmalloc(COPY_CHUNK);
    if (!w->grub_cfg || !w->chunk)
        return fail(w, "allocating buffers", -ENOMEM);
    int n = boot_disk_grub_config(w->layout, w->grub_cfg, 2048);
    if (n < 0)
        return fail(w, "writing GRUB.CFG", n);
    return fail(w, "rewriting RAYOS.CFG",
                boot_disk_rewrite_config(p->config ? p->config : "", p->config_length,
                                         w->layout->esp_partuuid, &w->config, &w->config_length));
}

static int write_core(const struct block_io *disk, struct writer *w)
{
    uint32_t blocks = (uint32_t)(ALIGN_UP(w->core_size, 512) / 512);
    return fail(w, "writing the BIOS boot partition",
                block_io_write(disk, w->layout->bios_start, blocks, w->core));
}

static void progress(struct writer *w, const char *step, uint64_t done, uint64_t total)
{
    if (w->payload->progress)
        w->payload->progress(w->payload->progress_context, step, done, total);
}

static int write_bytes(struct fat_volume *volume, const char *path, const void *data, size_t length)
{
    struct fat_file *file;
    int error = fat_open(volume, path, FAT_O_WRITE | FAT_O_CREATE | FAT_O_TRUNC, &file);
    if (error)
        return error;
    ssize_t n = fat_write(file, data, length);
    error = n < 0 ? (int)n : (size_t)n != length ? -EIO : 0;
    int close_error = fat_close(file);
    return error ? error : close_error;
}

static int copy_source(struct writer *w, struct fat_volume *volume, const char *path,
                       struct boot_disk_source *source)
{
    struct fat_file *file;
    int error = fat_open(volume, path, FAT_O_WRITE | FAT_O_CREATE | FAT_O_TRUNC, &file);
    if (error)
        return error;
    error = fat_file_allocate(file, source->size, false);
    for (uint64_t done = 0; !error && done < source->size;) {
        size_t n = (size_t)MIN((uint64_t)COPY_CHUNK, source->size - done);
        error = source->read(source->context, done, w->chunk, n);
        ssize_t written = error ? 0 : fat_write(file, w->chunk, n);
        if (!error && written != (ssize_t)n)
            error = written < 0 ? (int)written : -EIO;
        done += n;
        progress(w, path, done, source->size);
    }
    int close_error = fat_close(file);
    return error ? error : close_error;
}

static int copy_modules(struct writer *w, struct fat_volume *volume)
{
    struct boot_disk_payload *p = w->payload;
    if (p->module_count == 0)
        return 0;
    int error = fat_mkdir(volume, BOOT_DISK_MODULES_DIR);
    if (error)
        return fail(w, BOOT_DISK_MODULES_DIR, error);
    for (unsigned i = 0; i < p->module_count; i++) {
        char path[sizeof(BOOT_DISK_MODULES_DIR) + BOOT_DISK_MODULE_NAME + 1];
        snprintf(path, sizeof(path), "%s/%s", BOOT_DISK_MODULES_DIR, p->modules[i].name);
        if ((error = copy_source(w, volume, path, &p->modules[i].source)) != 0)
            return fail(w, path, error);
    }
    return 0;
}

static int fill_esp(struct writer *w, struct fat_volume *volume)
{
    static const char *const directories[] = {"/EFI", "/EFI/BOOT", "/BOOT", "/BOOT/GRUB", "/LOG"};
    struct boot_disk_payload *p = w->payload;
    for (unsigned i = 0; i < sizeof(directories) / sizeof(directories[0]); i++) {
        int error = fat_mkdir(volume, directories[i]);
        if (error)
            return fail(w, directories[i], error);
    }
    int error = copy_source(w, volume, BOOT_DISK_EFI_PATH, &p->efi_loader);
    if (error)
        return fail(w, BOOT_DISK_EFI_PATH, error);
    if (w->layout->bios_blocks) {
        /* Unwired copies: an installed system installs again from its own root. */
        if ((error = copy_source(w, volume, BOOT_DISK_BIOS_CORE_PATH, &p->bios_core)) != 0)
            return fail(w, BOOT_DISK_BIOS_CORE_PATH, error);
        if ((error = copy_source(w, volume, BOOT_DISK_BIOS_BOOT_PATH, &p->bios_boot)) != 0)
            return fail(w, BOOT_DISK_BIOS_BOOT_PATH, error);
    }
    error = write_bytes(volume, BOOT_DISK_GRUB_CFG_PATH, w->grub_cfg, strlen(w->grub_cfg));
    if (error)
        return fail(w, BOOT_DISK_GRUB_CFG_PATH, error);
    error = write_bytes(volume, BOOT_DISK_CONFIG_PATH, w->config, w->config_length);
    if (error)
        return fail(w, BOOT_DISK_CONFIG_PATH, error);
    if ((error = copy_modules(w, volume)) != 0)
        return error;
    /* The kernel last: the largest file, and the one the loader looks for. */
    error = copy_source(w, volume, BOOT_DISK_KERNEL_PATH, &p->kernel);
    return fail(w, BOOT_DISK_KERNEL_PATH, error);
}

static int make_esp(const struct block_io *disk, struct writer *w)
{
    struct block_io_slice slice;
    struct block_io esp;
    block_io_slice_init(&slice, &esp, disk, w->layout->esp_start, w->layout->esp_blocks);
    /* FAT32 as the UEFI specification asks, when the size allows it (at least 65525
     * clusters of at least one sector); smaller ESPs (4096-byte sectors) get what fits. */
    uint64_t fat32_fat_blocks = DIV_ROUND_UP((FAT32_MIN_CLUSTERS + 2) * 4, w->layout->block_size);
    bool fat32_fits = w->layout->esp_blocks >= 32 + 2 * fat32_fat_blocks + FAT32_MIN_CLUSTERS;
    struct fat_mkfs_options options = {
        .fat_type = fat32_fits ? 32 : 0, .volume_id = w->layout->volume_id, .label = "RAYOS"};
    progress(w, "formatting the ESP", 0, 0);
    int error = fat_mkfs(&esp, &options);
    if (error)
        return fail(w, "formatting the ESP", error);
    struct fat_volume *volume;
    error = fat_mount(&esp, 0, w->payload->clock, &volume);
    if (error)
        return fail(w, "mounting the new ESP", error);
    error = fill_esp(w, volume);
    int unmount_error = fat_unmount(volume);
    if (!error && unmount_error)
        error = fail(w, "unmounting the new ESP", unmount_error);
    return error;
}

int boot_disk_write(const struct block_io *disk, const struct boot_disk_layout *layout,
                    struct boot_disk_payload *payload)
{
    struct writer w = {.layout = layout, .payload = payload};
    payload->failed_step[0] = 0;
    int error = -EINVAL;
    if (disk->block_size != layout->block_size || disk->block_count != layout->block_count) {
        fail(&w, "checking the disk (its size changed)", error);
        goto out;
    }
    if ((error = prepare(&w)) != 0)
        goto out;
    progress(&w, "wiping old partition tables", 0, 0);
    if ((error = fail(&w, "wiping old partition tables", boot_disk_wipe_tables(disk, layout))))
        goto out;
    if (layout->bios_blocks && (error = write_core(disk, &w)) != 0)
        goto out;
    if ((error = make_esp(disk, &w)) != 0)
        goto out;
    if ((error = fail(&w, "flushing the disk", block_io_flush(disk))) != 0)
        goto out;
    progress(&w, "writing the partition tables", 0, 0);
    error = fail(&w, "writing the partition tables",
                 boot_disk_write_tables(disk, layout, layout->bios_blocks ? w.boot_img : NULL));
out:
    kfree(w.core);
    kfree(w.grub_cfg);
    kfree(w.config);
    kfree(w.chunk);
    return error;
}
