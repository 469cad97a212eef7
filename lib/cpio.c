/* newc cpio reader (see <rayos/cpio.h>): a 110-byte ASCII header ("070701" and thirteen 8-digit
 * hexadecimal fields), the name (namesize bytes with its NUL) padded to 4 bytes from the
 * header's start, then the data padded to 4. */
#include <rayos/cpio.h>
#include <rayos/errno.h>
#include <rayos/string.h>

#define HEADER_SIZE 110
#define MAGIC       "070701"

enum { FIELD_MODE = 1, FIELD_FILESIZE = 6, FIELD_NAMESIZE = 11 };

static bool hex_field(const uint8_t *header, unsigned index, uint32_t *out)
{
    uint32_t value = 0;
    const uint8_t *p = header + 6 + index * 8;
    for (unsigned i = 0; i < 8; i++) {
        unsigned c = p[i], digit;
        if (c >= '0' && c <= '9')
            digit = c - '0';
        else if (c >= 'a' && c <= 'f')
            digit = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            digit = c - 'A' + 10;
        else
            return false;
        value = value << 4 | digit;
    }
    *out = value;
    return true;
}

bool cpio_is_archive(const void *data, size_t size)
{
    return size >= HEADER_SIZE && memcmp(data, MAGIC, 6) == 0;
}

int cpio_next(const void *data, size_t size, size_t *position, struct cpio_entry *out)
{
    const uint8_t *base = data;
    size_t at = *position;
    uint32_t mode, file_size, name_size;
    if (at > size || size - at < HEADER_SIZE || memcmp(base + at, MAGIC, 6) != 0 ||
        !hex_field(base + at, FIELD_MODE, &mode) ||
        !hex_field(base + at, FIELD_FILESIZE, &file_size) ||
        !hex_field(base + at, FIELD_NAMESIZE, &name_size))
        return -EINVAL;
    /* The name (with its NUL) must fit the archive and our buffer. */
    if (name_size < 1 || name_size > CPIO_NAME_MAX || name_size > size - at - HEADER_SIZE)
        return -EINVAL;
    const char *name = (const char *)base + at + HEADER_SIZE;
    if (name[name_size - 1] != '\0' || memchr(name, '\0', name_size - 1))
        return -EINVAL;
    size_t data_offset = ALIGN_UP(at + HEADER_SIZE + name_size, 4);
    if (data_offset > size || file_size > size - data_offset)
        return -EINVAL;
    if (strcmp(name, "TRAILER!!!") == 0)
        return 0;
    memcpy(out->name, name, name_size);
    out->mode = mode;
    out->offset = data_offset;
    out->size = file_size;
    *position = MIN(ALIGN_UP(data_offset + file_size, 4), size);
    return 1;
}
