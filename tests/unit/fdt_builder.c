/* The flattened device tree writer of the unit tests (format: Devicetree Specification 5). */
#include "fdt_builder.h"

#include <rayos/bytes.h>
#include <rayos/fdt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* Grows by doubling: deep trees of 100,000 nodes are built word by word. */
static void append_to(uint8_t **buffer, size_t *size, size_t *capacity, const void *data,
                      size_t len)
{
    if (*size + len + 4 > *capacity) {
        *capacity = (*size + len + 4) * 2;
        *buffer = realloc(*buffer, *capacity);
    }
    memcpy(*buffer + *size, data, len);
    *size += len;
}

static void pad4(struct fdt_builder *b)
{
    static const uint8_t zeros[4];
    if (b->structure_size % 4)
        append_to(&b->structure, &b->structure_size, &b->structure_capacity, zeros,
                  4 - b->structure_size % 4);
}

void fdt_builder_init(struct fdt_builder *b)
{
    memset(b, 0, sizeof(*b));
}

void fdt_builder_free(struct fdt_builder *b)
{
    free(b->structure);
    free(b->strings);
    free(b->reservations);
    memset(b, 0, sizeof(*b));
}

void fdt_builder_word(struct fdt_builder *b, uint32_t word)
{
    uint8_t bytes[4];
    put_be32(bytes, word);
    append_to(&b->structure, &b->structure_size, &b->structure_capacity, bytes, 4);
}

void fdt_builder_reserve(struct fdt_builder *b, uint64_t address, uint64_t size)
{
    uint8_t entry[16];
    put_be32(entry, (uint32_t)(address >> 32));
    put_be32(entry + 4, (uint32_t)address);
    put_be32(entry + 8, (uint32_t)(size >> 32));
    put_be32(entry + 12, (uint32_t)size);
    append_to(&b->reservations, &b->reservations_size, &b->reservations_capacity, entry, 16);
}

void fdt_builder_begin(struct fdt_builder *b, const char *name)
{
    fdt_builder_word(b, 1);
    append_to(&b->structure, &b->structure_size, &b->structure_capacity, name, strlen(name) + 1);
    pad4(b);
}

void fdt_builder_end(struct fdt_builder *b)
{
    fdt_builder_word(b, 2);
}

static uint32_t string_offset(struct fdt_builder *b, const char *name)
{
    for (size_t at = 0; at < b->strings_size; at += strlen((char *)b->strings + at) + 1)
        if (strcmp((char *)b->strings + at, name) == 0)
            return (uint32_t)at;
    uint32_t at = (uint32_t)b->strings_size;
    append_to(&b->strings, &b->strings_size, &b->strings_capacity, name, strlen(name) + 1);
    return at;
}

void fdt_builder_prop(struct fdt_builder *b, const char *name, const void *value, size_t len)
{
    fdt_builder_word(b, 3);
    fdt_builder_word(b, (uint32_t)len);
    fdt_builder_word(b, string_offset(b, name));
    if (len)
        append_to(&b->structure, &b->structure_size, &b->structure_capacity, value, len);
    pad4(b);
}

void fdt_builder_string(struct fdt_builder *b, const char *name, const char *value)
{
    fdt_builder_prop(b, name, value, strlen(value) + 1);
}

void fdt_builder_strings(struct fdt_builder *b, const char *name, const char *list)
{
    size_t len = strlen(list) + 1;
    char *copy = malloc(len);
    memcpy(copy, list, len);
    for (size_t i = 0; i < len; i++)
        if (copy[i] == '\n')
            copy[i] = 0;
    fdt_builder_prop(b, name, copy, len);
    free(copy);
}

void fdt_builder_cells(struct fdt_builder *b, const char *name, unsigned count, ...)
{
    uint8_t *value = malloc(4 * count + 1);
    va_list args;
    va_start(args, count);
    for (unsigned i = 0; i < count; i++)
        put_be32(value + 4 * i, va_arg(args, unsigned int));
    va_end(args);
    fdt_builder_prop(b, name, value, 4 * count);
    free(value);
}

uint8_t *fdt_builder_finish(struct fdt_builder *b, size_t *size)
{
    size_t reserve_offset = FDT_HEADER_SIZE;
    size_t reserve_size = b->reservations_size + 16;
    size_t struct_offset = reserve_offset + reserve_size;
    size_t struct_size = b->structure_size + 4;
    size_t strings_offset = struct_offset + struct_size;
    size_t total = strings_offset + b->strings_size;
    uint8_t *blob = calloc(1, total);
    put_be32(blob, FDT_MAGIC);
    put_be32(blob + 4, (uint32_t)total);
    put_be32(blob + 8, (uint32_t)struct_offset);
    put_be32(blob + 12, (uint32_t)strings_offset);
    put_be32(blob + 16, (uint32_t)reserve_offset);
    put_be32(blob + 20, 17);
    put_be32(blob + 24, 16);
    put_be32(blob + 28, 0);
    put_be32(blob + 32, (uint32_t)b->strings_size);
    put_be32(blob + 36, (uint32_t)struct_size);
    if (b->reservations_size)
        memcpy(blob + reserve_offset, b->reservations, b->reservations_size);
    if (b->structure_size)
        memcpy(blob + struct_offset, b->structure, b->structure_size);
    put_be32(blob + struct_offset + b->structure_size, 9);
    if (b->strings_size)
        memcpy(blob + strings_offset, b->strings, b->strings_size);
    *size = total;
    return blob;
}

uint8_t *fdt_builder_open(struct fdt_builder *b, struct fdt *fdt)
{
    size_t size;
    uint8_t *blob = fdt_builder_finish(b, &size);
    fdt_builder_free(b);
    if (fdt_open(fdt, blob, size) != 0) {
        free(blob);
        return NULL;
    }
    return blob;
}
