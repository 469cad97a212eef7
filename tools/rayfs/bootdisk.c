/* rayfs bootdisk: a bootable RayOS disk image (GPT, ESP, BIOS boot partition) written by the
 * same code as the shell's `install` (fs/bootdisk/). */
#include <rayos/boot_disk.h>
#include <rayos/string.h>

#include "bootdisk.h"
#include "image.h"
#include "rayfs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int fd_read(void *context, uint64_t offset, void *buffer, size_t length)
{
    int fd = (int)(intptr_t)context;
    for (size_t done = 0; done < length;) {
        ssize_t n = pread(fd, (char *)buffer + done, length - done, (off_t)(offset + done));
        if (n <= 0)
            return n < 0 ? -errno : -EIO;
        done += (size_t)n;
    }
    return 0;
}

static int open_source(struct boot_disk_source *source, const char *what, const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        fprintf(stderr, "rayfs: %s: %s\n", path, strerror(errno));
        return -1;
    }
    *source = (struct boot_disk_source){what, (uint64_t)st.st_size, fd_read, (void *)(intptr_t)fd};
    return 0;
}

static int random_bytes(uint8_t *out, size_t length)
{
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    ssize_t n = fd < 0 ? -1 : read(fd, out, length);
    if (fd >= 0)
        close(fd);
    return n == (ssize_t)length ? 0 : -1;
}

static const char usage[] =
    "usage: rayfs bootdisk IMAGE --size BYTES[K|M|G] [--sector-size 512|4096] --kernel FILE\n"
    "                      --efi FILE --config FILE [--bios-core FILE --bios-boot FILE]\n";

int cmd_bootdisk(int argc, char **argv)
{
    const char *files[6] = {NULL}; /* kernel, efi, config, core, boot, size */
    static const char *const options[6] = {"--kernel",    "--efi",       "--config",
                                           "--bios-core", "--bios-boot", "--size"};
    uint32_t sector_size = 512;
    if (argc < 1) {
        fputs(usage, stderr);
        return 2;
    }
    for (int i = 1; i < argc; i++) {
        bool known = false;
        for (unsigned k = 0; k < 6 && !known; k++) {
            if (strcmp(argv[i], options[k]) == 0 && i + 1 < argc) {
                files[k] = argv[++i];
                known = true;
            }
        }
        if (!known && strcmp(argv[i], "--sector-size") == 0 && i + 1 < argc) {
            sector_size = (uint32_t)strtoul(argv[++i], NULL, 0);
            known = true;
        }
        if (!known) {
            fprintf(stderr, "rayfs: bootdisk: unknown or incomplete option '%s'\n%s", argv[i],
                    usage);
            return 2;
        }
    }
    uint64_t bytes = 0;
    const char *end = files[5] ? parse_u64(files[5], &bytes) : NULL;
    if (end && (*end == 'K' || *end == 'M' || *end == 'G'))
        bytes <<= *end == 'K' ? 10 : *end == 'M' ? 20 : 30, end++;
    if (!end || *end || !files[0] || !files[1] || !files[2] || (!files[3] != !files[4])) {
        fputs(usage, stderr);
        return 2;
    }
    struct boot_disk_payload payload = {.clock = &rayfs_clock};
    if (open_source(&payload.kernel, "the kernel", files[0]) ||
        open_source(&payload.efi_loader, "the UEFI loader", files[1]))
        return 1;
    FILE *config = fopen(files[2], "rb");
    static char config_text[64 * 1024];
    if (!config) {
        fprintf(stderr, "rayfs: %s: %s\n", files[2], strerror(errno));
        return 1;
    }
    payload.config = config_text;
    payload.config_length = fread(config_text, 1, sizeof(config_text), config);
    fclose(config);
    bool bios = files[3] != NULL;
    if (bios && (open_source(&payload.bios_core, "GRUB's core.img", files[3]) ||
                 open_source(&payload.bios_boot, "GRUB's boot.img", files[4])))
        return 1;

    struct boot_disk_layout layout;
    uint8_t random[BOOT_DISK_ENTROPY];
    if (random_bytes(random, sizeof(random)) != 0) {
        fprintf(stderr, "rayfs: /dev/urandom: cannot read\n");
        return 1;
    }
    int error =
        boot_disk_plan(sector_size, bytes / (sector_size ? sector_size : 1), random, &layout);
    if (error) {
        fprintf(stderr, "rayfs: %s: %s\n", argv[0],
                error == -ENOSPC ? "a boot disk needs at least 64 MiB"
                                 : "the sector size must be 512 or 4096");
        return 1;
    }
    if (!bios && layout.bios_blocks) {
        fprintf(stderr, "rayfs: bootdisk: --bios-core and --bios-boot are needed for 512-byte "
                        "sectors\n");
        return 2;
    }
    /* A new file only: an existing image is never half overwritten by a failing run. */
    int fd = open(argv[0], O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) {
        fprintf(stderr, "rayfs: %s: %s%s\n", argv[0], strerror(errno),
                errno == EEXIST ? " (bootdisk writes a new image: remove it first)" : "");
        return 1;
    }
    const char *why = NULL;
    if (image_lock(fd, true, 60, &why) != 0 || ftruncate(fd, (off_t)bytes) != 0) {
        fprintf(stderr, "rayfs: %s: %s\n", argv[0], why ? why : strerror(errno));
        close(fd);
        unlink(argv[0]);
        return 1;
    }
    struct image image;
    memset(&image, 0, sizeof(image));
    image_file_io(&image, fd, sector_size, bytes, true);
    error = boot_disk_write(&image.file_io, &layout, &payload);
    if (!error && fsync(fd) != 0)
        error = -errno;
    close(fd);
    if (error) {
        fprintf(stderr, "rayfs: %s: %s: %s\n", argv[0], payload.failed_step, strerror(-error));
        unlink(argv[0]);
        return 1;
    }
    printf("%s: GPT, ESP PARTUUID %s (%llu MiB)%s\n", argv[0], layout.esp_partuuid,
           (unsigned long long)(layout.esp_blocks * sector_size >> 20),
           layout.bios_blocks ? ", BIOS boot partition" : ", UEFI only");
    return 0;
}
