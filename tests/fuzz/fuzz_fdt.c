/* libFuzzer: the device tree reader (lib/fdt.c) on untrusted blobs.  A blob fdt_open() accepts
 * must then be walkable by every call without leaving it: every node is reached once in
 * document order and sits in its parent's child list, depths stay within FDT_MAX_DEPTH, a
 * node's path leads back to a node of that name at that depth, its phandle finds it (or an
 * earlier node with the same one), property names lie in the strings block and values in the
 * structure block, and the region counts do not depend on the size of the caller's array.  A
 * refused blob leaves nothing to walk. */
#include <rayos/errno.h>
#include <rayos/fdt.h>

#include <stdlib.h>
#include <string.h>

extern int host_log_level;

#define MAX_REGIONS 8

static void check(bool ok)
{
    if (!ok)
        abort();
}

static bool inside(const void *p, uint32_t len, const void *block, uint32_t size)
{
    const uint8_t *b = block, *q = p;
    return q >= b && (size_t)(q - b) <= size && len <= size - (size_t)(q - b);
}

/* Builds the node's path from its ancestors; false if it does not fit or is ambiguous. */
static bool node_path(const struct fdt *fdt, int node, char *path, size_t size, unsigned *depth)
{
    int chain[FDT_MAX_DEPTH];
    unsigned n = 0;
    for (int at = node; at != FDT_NONE; at = fdt_parent(fdt, at)) {
        check(n < FDT_MAX_DEPTH);
        chain[n++] = at;
    }
    *depth = n;
    size_t used = 0;
    path[used++] = '/';
    path[used] = 0;
    for (unsigned i = n - 1; i-- > 0;) {
        const char *name = fdt_node_name(fdt, chain[i]);
        size_t length = strlen(name);
        if (strchr(name, '/') || used + length + 2 > size)
            return false;
        memcpy(path + used, name, length);
        used += length;
        path[used++] = '/';
        path[used] = 0;
    }
    return true;
}

static void check_node(const struct fdt *fdt, int node)
{
    int parent = fdt_parent(fdt, node);
    if (parent == FDT_NONE) {
        check(node == fdt->root);
    } else {
        int child = fdt_first_child(fdt, parent);
        unsigned guard = 0;
        while (child != FDT_NONE && child != node && guard++ < fdt->structure_size)
            child = fdt_next_sibling(fdt, child);
        check(child == node);
    }
    char path[512];
    unsigned depth;
    if (node_path(fdt, node, path, sizeof(path), &depth)) {
        int found = fdt_find_path(fdt, path);
        check(found != FDT_NONE);
        const char *want = fdt_node_name(fdt, node), *got = fdt_node_name(fdt, found);
        check(strncmp(got, want, strlen(want)) == 0);
        unsigned found_depth = 0;
        for (int at = found; at != FDT_NONE; at = fdt_parent(fdt, at))
            found_depth++;
        check(found_depth == depth);
    }
    const char *name;
    const void *value;
    uint32_t len;
    for (int p = fdt_next_property(fdt, node, FDT_NONE, &name, &value, &len); p != FDT_NONE;
         p = fdt_next_property(fdt, node, p, &name, &value, &len)) {
        check(inside(name, (uint32_t)strlen(name) + 1, fdt->strings, fdt->strings_size));
        check(inside(value, len, fdt->structure, fdt->structure_size));
        check(fdt_property(fdt, node, name, NULL) != NULL);
    }
    uint64_t address, size;
    for (unsigned i = 0; i < 4 && fdt_reg(fdt, node, i, &address, &size) == 0; i++)
        check(fdt_reg_raw(fdt, node, i, &address, &size) == 0);
    struct fdt_range range;
    for (unsigned i = 0; i < 4 && fdt_range(fdt, node, i, &range) == 0; i++)
        ;
    /* a node's phandle finds it, or a node before it with the same phandle */
    uint32_t phandle;
    if ((fdt_read_u32(fdt, node, "phandle", &phandle) ||
         fdt_read_u32(fdt, node, "linux,phandle", &phandle)) &&
        phandle != 0 && phandle != 0xffffffffu) {
        int found = fdt_find_phandle(fdt, phandle);
        check(found != FDT_NONE && found <= node);
    }
    int controller = fdt_interrupt_parent(fdt, node);
    check(controller == FDT_NONE || fdt_property(fdt, controller, "#interrupt-cells", NULL));
    fdt_node_enabled(fdt, node);
    fdt_is_compatible(fdt, node, "virtio,mmio");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    host_log_level = -1;
    uint8_t *blob = malloc(size ? size : 1);
    memcpy(blob, data, size);
    struct fdt fdt;
    if (fdt_open(&fdt, blob, size) != 0) {
        check(fdt.why[0] != 0);
        check(fdt_next_node(&fdt, FDT_NONE) == FDT_NONE);
        free(blob);
        return 0;
    }
    unsigned nodes = 0;
    int last = -1;
    for (int node = fdt_next_node(&fdt, FDT_NONE); node != FDT_NONE;
         node = fdt_next_node(&fdt, node)) {
        check(node > last); /* document order, each node once */
        last = node;
        check(++nodes <= fdt.structure_size / 8);
        /* Every node's walks cost a pass over the tree: a sample keeps the rate up. */
        if (nodes <= 8 || nodes % 8 == 0)
            check_node(&fdt, node);
    }
    check(nodes >= 1);
    struct fdt_region regions[MAX_REGIONS];
    unsigned memory = fdt_memory_regions(&fdt, regions, MAX_REGIONS);
    check(fdt_memory_regions(&fdt, NULL, 0) == memory);
    for (unsigned i = 0; i < memory && i < MAX_REGIONS; i++)
        check(regions[i].size != 0);
    unsigned reserved = fdt_reserved_regions(&fdt, regions, MAX_REGIONS);
    check(fdt_reserved_regions(&fdt, NULL, 0) == reserved);
    const char *options;
    fdt_stdout_node(&fdt, &options);
    const char *bootargs = fdt_bootargs(&fdt);
    check(!bootargs ||
          inside(bootargs, (uint32_t)strlen(bootargs) + 1, fdt.structure, fdt.structure_size));
    free(blob);
    return 0;
}
