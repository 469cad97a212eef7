/* The "newc" cpio archive format (the one Linux initramfs images use): how a boot loader that
 * loads one initial ramdisk (QEMU's -initrd on arm, U-Boot) carries several files.  Untrusted:
 * every header field and length is checked against the archive's size. */
#ifndef RAYOS_CPIO_H
#define RAYOS_CPIO_H

#include <rayos/types.h>

#define CPIO_NAME_MAX 256

struct cpio_entry {
    char name[CPIO_NAME_MAX]; /* as stored (NUL-terminated; longer names are refused) */
    uint32_t mode;            /* file type and permission bits */
    size_t offset;            /* of the file's data in the archive */
    size_t size;
};

#define CPIO_MODE_REGULAR 0100000u
#define CPIO_MODE_TYPE    0170000u

/* True if data starts like a newc archive. */
bool cpio_is_archive(const void *data, size_t size);
/* Reads the entry at *position (start with 0) and advances it: 1 for an entry, 0 at the
 * archive's end (the TRAILER!!! entry), -EINVAL for a malformed header, name or length. */
int cpio_next(const void *data, size_t size, size_t *position, struct cpio_entry *out);

#endif
