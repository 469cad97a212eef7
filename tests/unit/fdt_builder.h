/* Builds flattened device trees in memory for unit tests and fuzz seeds: well-formed ones
 * through the calls below, malformed ones by editing the result (fdt_builder_* offsets). */
#ifndef TESTS_UNIT_FDT_BUILDER_H
#define TESTS_UNIT_FDT_BUILDER_H

#include <rayos/types.h>

struct fdt_builder {
    uint8_t *structure, *strings, *reservations;
    size_t structure_size, strings_size, reservations_size;
    size_t structure_capacity, strings_capacity, reservations_capacity;
};

void fdt_builder_init(struct fdt_builder *b);
void fdt_builder_free(struct fdt_builder *b);
void fdt_builder_reserve(struct fdt_builder *b, uint64_t address, uint64_t size);
void fdt_builder_begin(struct fdt_builder *b, const char *name);
void fdt_builder_end(struct fdt_builder *b);
void fdt_builder_prop(struct fdt_builder *b, const char *name, const void *value, size_t len);
void fdt_builder_string(struct fdt_builder *b, const char *name, const char *value);
/* A string list: the strings separated by '\n' in list ("a\nb" -> "a\0b\0"). */
void fdt_builder_strings(struct fdt_builder *b, const char *name, const char *list);
/* count big-endian cells from the arguments (unsigned int each). */
void fdt_builder_cells(struct fdt_builder *b, const char *name, unsigned count, ...);
/* Appends a raw big-endian word to the structure block (for malformed trees). */
void fdt_builder_word(struct fdt_builder *b, uint32_t word);
/* Header, reservation block, structure (plus FDT_END), strings: a malloc'ed blob. */
uint8_t *fdt_builder_finish(struct fdt_builder *b, size_t *size);
struct fdt;
/* Finishes the tree, frees the builder and opens the blob into fdt: the blob (the caller frees
 * it), or NULL when fdt_open refuses it. */
uint8_t *fdt_builder_open(struct fdt_builder *b, struct fdt *fdt);

#define FDT_BUILDER_STRUCTURE_OFFSET(blob) get_be32((const uint8_t *)(blob) + 8)

#endif
