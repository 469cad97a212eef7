/* Flattened device tree (DTB, Devicetree Specification v0.4 chapter 5) reader.
 *
 * The blob comes from the boot loader or firmware and is untrusted: fdt_open() checks the
 * header and walks the whole structure block once (tokens, lengths, NUL-terminated names,
 * property names inside the strings block, nesting at most FDT_MAX_DEPTH), so every later
 * call works on a structure known to be well-formed and stays inside the blob.  Nothing is
 * copied: the blob must stay mapped and unchanged while the struct fdt and the pointers it
 * hands out are used.  No call recurses; walks are loops bounded by the blob's size.
 *
 * Nodes are named by their offset in the structure block (>= 0); FDT_NONE means "no node".
 *
 *     struct fdt fdt;
 *     if (fdt_open(&fdt, blob, size) != 0)
 *         pr_warn("device tree rejected: %s\n", fdt.why);
 *     int uart = fdt_find_compatible(&fdt, FDT_NONE, "arm,pl011");
 *     uint64_t base, size;
 *     if (uart != FDT_NONE && fdt_reg(&fdt, uart, 0, &base, &size) == 0) ...
 *
 * Portable: built into the kernel and, for unit tests and the fuzz target, on the host. */
#ifndef RAYOS_FDT_H
#define RAYOS_FDT_H

#include <rayos/types.h>

#define FDT_MAGIC       0xd00dfeedu
#define FDT_MAX_DEPTH   32 /* nesting of nodes, the root being depth 1 */
#define FDT_NONE        (-1)
#define FDT_HEADER_SIZE 40 /* version 17 header */

#define FDT_PHANDLES_NOTED 32

struct fdt {
    const uint8_t *blob;
    uint32_t total_size;
    uint32_t version;
    uint32_t boot_cpu; /* boot_cpuid_phys */
    const uint8_t *structure;
    uint32_t structure_size;
    const char *strings;
    uint32_t strings_size;
    const uint8_t *reservations; /* memory reservation block: 16-byte entries */
    uint32_t reservation_count;  /* entries before the terminating (0, 0) */
    int root;                    /* the root node */
    char why[96];                /* fdt_open(): why the blob was rejected */
    /* Phandles noted by fdt_open in document order, so that looking one up (every device's
     * interrupt parent) is not a pass over the whole tree; complete unless there were more. */
    unsigned phandle_count;
    bool phandles_complete;
    struct {
        uint32_t phandle;
        int node;
    } phandles[FDT_PHANDLES_NOTED];
};

/* Checks and opens a blob of size bytes (the buffer may be larger than the tree's total size;
 * it may not be smaller).  0, or -EINVAL with the reason in fdt->why. */
int fdt_open(struct fdt *fdt, const void *blob, size_t size);

/* Nodes. */
int fdt_first_child(const struct fdt *fdt, int node);
int fdt_next_sibling(const struct fdt *fdt, int node);
/* The node's parent (FDT_NONE for the root); walks from the root. */
int fdt_parent(const struct fdt *fdt, int node);
/* Every node in document order (depth first, parents before children); FDT_NONE starts at the
 * root.  FDT_NONE after the last. */
int fdt_next_node(const struct fdt *fdt, int node);
/* Node name with its unit address ("pl011@9000000"; "" for the root). */
const char *fdt_node_name(const struct fdt *fdt, int node);
/* An absolute path ("/chosen", "/soc/uart@1000").  A component without '@' also matches a
 * node whose name has a unit address ("/memory" finds "memory@40000000"); the first wins. */
int fdt_find_path(const struct fdt *fdt, const char *path);
/* The next node after `after` (FDT_NONE: from the start) whose compatible list holds compat. */
int fdt_find_compatible(const struct fdt *fdt, int after, const char *compat);
/* The node whose phandle (or linux,phandle) property is phandle. */
int fdt_find_phandle(const struct fdt *fdt, uint32_t phandle);

/* Properties.  The value (len bytes, big-endian cells) or NULL when the node lacks it. */
const void *fdt_property(const struct fdt *fdt, int node, const char *name, uint32_t *len);
/* Property iteration: FDT_NONE starts; returns an opaque position, FDT_NONE after the last. */
int fdt_next_property(const struct fdt *fdt, int node, int position, const char **name,
                      const void **value, uint32_t *len);
/* A one-cell (u32) or two-cell (u64) property of exactly that length: true if read. */
bool fdt_read_u32(const struct fdt *fdt, int node, const char *name, uint32_t *value);
bool fdt_read_u64(const struct fdt *fdt, int node, const char *name, uint64_t *value);
/* A property holding one non-empty NUL-terminated string, or NULL. */
const char *fdt_read_string(const struct fdt *fdt, int node, const char *name);
/* A big-endian number of count cells (0 to 2) at p. */
uint64_t fdt_cells(const void *p, unsigned count);

/* String lists ("arm,pl011\0arm,primecell\0"): the index-th string, NULL past the end or when
 * the list is not NUL-terminated; whether it holds s. */
const char *fdt_stringlist_get(const void *list, uint32_t len, unsigned index);
bool fdt_stringlist_contains(const void *list, uint32_t len, const char *s);
bool fdt_is_compatible(const struct fdt *fdt, int node, const char *compat);
/* Status absent, "okay" or "ok". */
bool fdt_node_enabled(const struct fdt *fdt, int node);

/* #address-cells / #size-cells that describe the children of bus: the bus's own property, or
 * the nearest ancestor's (as Linux reads older trees), or the defaults 2 and 1. */
unsigned fdt_address_cells(const struct fdt *fdt, int bus);
unsigned fdt_size_cells(const struct fdt *fdt, int bus);

/* The index-th (address, size) of a node's reg translated to a CPU physical address through
 * every ancestor's `ranges`.  0; -ENOENT past the last entry or without reg; -EINVAL when reg
 * is malformed or its cells are not 1-2 (address) / 0-2 (size); -ERANGE when a bus on the
 * way has no `ranges` or no range covers the region. */
int fdt_reg(const struct fdt *fdt, int node, unsigned index, uint64_t *address, uint64_t *size);
/* The same without translation: the address on the parent bus. */
int fdt_reg_raw(const struct fdt *fdt, int node, unsigned index, uint64_t *address, uint64_t *size);
/* Translates [*address, +size) from the child space of bus up to the CPU (as fdt_reg). */
int fdt_translate(const struct fdt *fdt, int bus, uint64_t *address, uint64_t size);

/* One entry of a bus's `ranges`.  Child addresses of 3 cells (PCI) put the first cell in
 * child_flags and the other two in child. */
struct fdt_range {
    uint32_t child_flags;
    uint64_t child;
    uint64_t parent; /* in the bus's parent's address space (not translated further) */
    uint64_t size;
};
/* The index-th entry: 0, -ENOENT past the last (or no ranges), -EINVAL when malformed
 * (child cells 1-3, parent 1-2, size 1-2). */
int fdt_range(const struct fdt *fdt, int bus, unsigned index, struct fdt_range *range);

/* Interrupts: the node's interrupt parent (its interrupt-parent phandle, else its tree
 * parent's, up to a node with #interrupt-cells), or FDT_NONE. */
int fdt_interrupt_parent(const struct fdt *fdt, int node);
/* The controller's #interrupt-cells, 0 when missing or above FDT_MAX_INTERRUPT_CELLS. */
#define FDT_MAX_INTERRUPT_CELLS 4
unsigned fdt_interrupt_cells(const struct fdt *fdt, int controller);

/* /chosen: bootargs (NULL if absent) and the console named by stdout-path (a path or an
 * alias, with ":options" after it; *options gets them or NULL).  FDT_NONE if none. */
const char *fdt_bootargs(const struct fdt *fdt);
int fdt_stdout_node(const struct fdt *fdt, const char **options);

struct fdt_region {
    uint64_t base, size;
};
/* RAM: reg of every node with device_type = "memory" (empty regions skipped).  Fills at most
 * max and returns how many there are (more than max: the caller's array was too small). */
unsigned fdt_memory_regions(const struct fdt *fdt, struct fdt_region *regions, unsigned max);
/* Memory not to touch: the memory reservation block, then the reg of every child of
 * /reserved-memory (children with only size/alloc-ranges ask for an allocation and are not
 * listed).  Same counting as fdt_memory_regions. */
unsigned fdt_reserved_regions(const struct fdt *fdt, struct fdt_region *regions, unsigned max);

#endif
