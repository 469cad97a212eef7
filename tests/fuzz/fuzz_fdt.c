/* libFuzzer: the device tree reader (lib/fdt.c) on untrusted blobs.  A blob fdt_open() accepts
 * must then be walkable by every call without leaving it: every node is reached once in
 * document order and sits in its parent's child list, depths stay within FDT_MAX_DEPTH, a
 * node's path leads back to a node of that name at that depth, its phandle finds it (or an
 * earlier node with the same one), property names lie in the strings block and values in the
 * structure block, and the region counts do not depend on the size of the caller's array.  A
 * refused blob leaves nothing to walk.  What the kernel builds from a tree is checked too: each
 * node's resources (drivers/platform/fdt_devices.c) fit the caller's array, and the PCI host
 * bridges (fdt_pci_host.c) are well-formed with their INTx and MSI maps answering as a model
 * of the bindings says. */
#include <rayos/errno.h>
#include <rayos/fdt.h>
#include <rayos/fdt_devices.h>
#include <rayos/pci_host_bridge.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern int host_log_level;

#define MAX_REGIONS 8

/* A failed check names its line, so a crash artifact tells which property broke. */
#define check(ok) check_at((ok), __LINE__)
static void check_at(bool ok, int line)
{
    if (!ok) {
        fprintf(stderr, "fuzz_fdt.c:%d: check failed\n", line);
        abort();
    }
}

static bool inside(const void *p, uint32_t len, const void *block, uint32_t size)
{
    const uint8_t *b = block, *q = p;
    return q >= b && (size_t)(q - b) <= size && len <= size - (size_t)(q - b);
}

/* Would a path component naming `name` find `sibling` first?  The same name, or name without a
 * unit address and sibling with one (fdt_find_path takes the first sibling that matches). */
static bool shadows(const char *sibling, const char *name)
{
    size_t length = strlen(name);
    return strncmp(sibling, name, length) == 0 &&
           (sibling[length] == 0 || (sibling[length] == '@' && !strchr(name, '@')));
}

/* Does an earlier sibling of node answer to its name?  Device trees must not have such
 * siblings, but a blob can, and a path then finds the earlier one. */
static bool shadowed(const struct fdt *fdt, int parent, int node)
{
    const char *name = fdt_node_name(fdt, node);
    unsigned guard = 0;
    for (int s = fdt_first_child(fdt, parent); s != FDT_NONE && s != node;
         s = fdt_next_sibling(fdt, s))
        if (shadows(fdt_node_name(fdt, s), name) || guard++ > fdt->structure_size)
            return true;
    return false;
}

/* Builds the node's path from its ancestors; false if it does not fit or is ambiguous (an empty
 * name, or a name an earlier sibling answers to). */
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
        if (length == 0 || strchr(name, '/') || used + length + 2 > size ||
            shadowed(fdt, chain[i + 1], chain[i]))
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

#define MAX_HOSTS     4
#define MAX_RESOURCES 8

static void check_resources(const struct fdt *fdt, int node)
{
    struct resource resources[MAX_RESOURCES];
    unsigned count = 0;
    char why[96];
    if (fdt_device_resources(fdt, node, resources, MAX_RESOURCES, &count, why, sizeof(why)) == 0)
        check(count <= MAX_RESOURCES);
    else
        check(why[0] != 0);
}

/* What pci_host_msi_device_id should answer, from the binding directly. */
static int msi_model(const struct pci_host_bridge_desc *host, uint32_t rid, uint32_t *id)
{
    if (host->msi_map_broken)
        return -ENOENT;
    if (host->msi_map_count == 0)
        return *id = rid, 0;
    uint32_t masked = rid & host->msi_map_mask;
    for (unsigned i = 0; i < host->msi_map_count; i++) {
        const struct pci_msi_map_entry *e = &host->msi_map[i];
        if (masked >= e->rid_base && (uint64_t)masked < (uint64_t)e->rid_base + e->length)
            return *id = e->device_id_base + (masked - e->rid_base), 0;
    }
    return -ENOENT;
}

static void check_pci_host(const struct pci_host_bridge_desc *host)
{
    check(host->bus_first <= host->bus_last);
    check(host->ecam_size >= (uint64_t)(host->bus_last - host->bus_first + 1) << 20);
    check(host->window_count >= 1 && host->window_count <= PCI_HOST_MAX_WINDOWS);
    for (unsigned i = 0; i < host->window_count; i++) {
        const struct pci_host_window *w = &host->windows[i];
        check(w->size != 0 && w->cpu_address + (w->size - 1) >= w->cpu_address);
    }
    check(host->route_count <= PCI_HOST_MAX_ROUTES);
    check(host->msi_map_count <= PCI_HOST_MAX_MSI_MAPS);
    check(!(host->msi_map_broken && host->msi_map_count));
    uint32_t rids[2 * PCI_HOST_MAX_MSI_MAPS + 4] = {0, 0x8, 0x100, 0xffff};
    unsigned n = 4;
    for (unsigned i = 0; i < host->msi_map_count; i++) {
        const struct pci_msi_map_entry *e = &host->msi_map[i];
        check(e->length >= 1 && e->rid_base + e->length <= 0x10000);
        check(e->device_id_base + (e->length - 1) >= e->device_id_base);
        rids[n++] = e->rid_base;
        rids[n++] = e->rid_base + e->length - 1;
    }
    for (unsigned i = 0; i < n; i++) {
        uint32_t id = 0, expect = 0;
        int got = pci_host_msi_device_id(host, rids[i], &id);
        check(got == msi_model(host, rids[i], &expect) && (got != 0 || id == expect));
    }
    for (uint8_t slot = 0; slot < 4; slot++)
        for (uint8_t pin = 0; pin <= 5; pin++) {
            uint32_t line;
            unsigned flags;
            int got = pci_host_intx_route(host, slot, 0, pin, &line, &flags);
            check(got == 0 || got == -ENOENT);
            check(got != 0 || (pin >= 1 && pin <= 4));
        }
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
        /* Every node's checks cost walks from the root (a node's parent, its interrupt
         * parent, its path): a sample keeps the rate up, the first nodes and a spread. */
        if (nodes <= 4 || nodes % 16 == 0)
            check_node(&fdt, node);
        if (nodes <= 2 || nodes % 64 == 0)
            check_resources(&fdt, node);
    }
    check(nodes >= 1);
    struct fdt_region regions[MAX_REGIONS];
    unsigned memory = fdt_memory_regions(&fdt, regions, MAX_REGIONS);
    check(fdt_memory_regions(&fdt, NULL, 0) == memory);
    for (unsigned i = 0; i < memory && i < MAX_REGIONS; i++)
        check(regions[i].size != 0);
    unsigned reserved = fdt_reserved_regions(&fdt, regions, MAX_REGIONS);
    check(fdt_reserved_regions(&fdt, NULL, 0) == reserved);
    static struct pci_host_bridge_desc hosts[MAX_HOSTS];
    unsigned host_count = fdt_pci_host_bridges(&fdt, hosts, MAX_HOSTS);
    check(host_count <= MAX_HOSTS);
    for (unsigned i = 0; i < host_count; i++)
        check_pci_host(&hosts[i]);
    const char *options;
    fdt_stdout_node(&fdt, &options);
    const char *bootargs = fdt_bootargs(&fdt);
    check(!bootargs ||
          inside(bootargs, (uint32_t)strlen(bootargs) + 1, fdt.structure, fdt.structure_size));
    free(blob);
    return 0;
}
