/* Flattened device tree reader: the checks of fdt_open() once, then walks that can rely on
 * them (see <rayos/fdt.h>).  Walks still bound every read by the block's size, so a node
 * offset that is not a node start cannot lead them outside the blob. */
#include <rayos/bytes.h>
#include <rayos/errno.h>
#include <rayos/fdt.h>
#include <rayos/string.h>
#include <stdarg.h>

#define FDT_BEGIN_NODE 1u
#define FDT_END_NODE   2u
#define FDT_PROP       3u
#define FDT_NOP        4u
#define FDT_END        9u

#define FDT_FIRST_VERSION    16u /* older layouts lack the strings block size */
#define FDT_READABLE_VERSION 17u /* the layout this reader understands */
#define FDT_RESERVATION_SIZE 16u
#define FDT_MAX_CELLS_COUNT  8u  /* #address-cells or #size-cells above this is nonsense */
#define FDT_INTERRUPT_WALK   64u /* interrupt-parent hops before giving up (phandle loops) */
#define FDT_STRUCTURE_LIMIT  0x7ffffffcu /* node offsets are ints */

static uint32_t align4(uint32_t x)
{
    return (x + 3u) & ~3u;
}

/* ---- fdt_open: the header and one full walk of the structure block ---- */

static __printf(2, 3) int reject(struct fdt *fdt, const char *fmt, ...)
{
    va_list args;
    va_start(args, fmt);
    vsnprintf(fdt->why, sizeof(fdt->why), fmt, args);
    va_end(args);
    return -EINVAL;
}

struct block {
    uint64_t start, end;
};

static bool blocks_overlap(struct block a, struct block b)
{
    return a.start < b.end && b.start < a.end;
}

static int check_reservations(struct fdt *fdt, uint32_t offset, uint32_t limit)
{
    if (offset % 8)
        return reject(fdt, "memory reservation block at %#x is not 8-byte aligned", offset);
    for (uint64_t at = offset;; at += FDT_RESERVATION_SIZE) {
        if (at + FDT_RESERVATION_SIZE > limit)
            return reject(fdt, "memory reservation block at %#x has no end before %#x", offset,
                          limit);
        const uint8_t *entry = fdt->blob + at;
        if (get_be32(entry) == 0 && get_be32(entry + 4) == 0 && get_be32(entry + 8) == 0 &&
            get_be32(entry + 12) == 0)
            break;
        fdt->reservation_count++;
    }
    fdt->reservations = fdt->blob + offset;
    return 0;
}

static int check_header(struct fdt *fdt, const uint8_t *b, size_t size)
{
    if (size < FDT_HEADER_SIZE)
        return reject(fdt, "%zu bytes: shorter than a header (%d)", size, FDT_HEADER_SIZE);
    if (get_be32(b) != FDT_MAGIC)
        return reject(fdt, "bad magic %#x", get_be32(b));
    uint32_t total = get_be32(b + 4), off_struct = get_be32(b + 8);
    uint32_t off_strings = get_be32(b + 12), off_reserve = get_be32(b + 16);
    uint32_t version = get_be32(b + 20), last_compatible = get_be32(b + 24);
    uint32_t strings_size = get_be32(b + 32), struct_size = get_be32(b + 36);
    if (version < FDT_FIRST_VERSION || last_compatible > FDT_READABLE_VERSION ||
        last_compatible > version)
        return reject(fdt, "version %u (last compatible %u) is not readable", version,
                      last_compatible);
    if (total < FDT_HEADER_SIZE || total > size)
        return reject(fdt, "total size %u does not fit the %zu bytes given", total, size);
    if (version < 17) {
        /* No structure size: the block runs to the strings block or the end. */
        uint32_t end = off_strings > off_struct ? off_strings : total;
        struct_size = end >= off_struct ? end - off_struct : 0;
    }
    struct block header = {0, FDT_HEADER_SIZE};
    struct block structure = {off_struct, (uint64_t)off_struct + struct_size};
    struct block strings = {off_strings, (uint64_t)off_strings + strings_size};
    if (structure.end > total || strings.end > total)
        return reject(fdt, "structure or strings block ends beyond the total size %u", total);
    if (off_struct % 4 || struct_size % 4 || struct_size < 8 || struct_size > FDT_STRUCTURE_LIMIT)
        return reject(fdt, "structure block at %#x, %u bytes: misaligned or too small", off_struct,
                      struct_size);
    if (blocks_overlap(structure, header) || blocks_overlap(strings, header) ||
        blocks_overlap(structure, strings))
        return reject(fdt, "structure block (%#x) and strings block (%#x) overlap", off_struct,
                      off_strings);
    if (off_reserve < FDT_HEADER_SIZE || off_reserve >= total)
        return reject(fdt, "memory reservation block at %#x outside the tree (%u bytes)",
                      off_reserve, total);
    /* The reservation block ends at whichever block follows it (or the end). */
    uint32_t limit = total;
    if (off_struct >= off_reserve && off_struct < limit)
        limit = off_struct;
    if (off_strings >= off_reserve && off_strings < limit && strings_size)
        limit = off_strings;
    int error = check_reservations(fdt, off_reserve, limit);
    if (error)
        return error;
    struct block reserve = {off_reserve, off_reserve + (uint64_t)(fdt->reservation_count + 1) *
                                                           FDT_RESERVATION_SIZE};
    if (blocks_overlap(reserve, structure) || (strings_size && blocks_overlap(reserve, strings)))
        return reject(fdt, "memory reservation block at %#x overlaps another block", off_reserve);
    fdt->total_size = total;
    fdt->version = version;
    fdt->boot_cpu = get_be32(b + 28);
    fdt->structure = b + off_struct;
    fdt->structure_size = struct_size;
    fdt->strings = (const char *)b + off_strings;
    fdt->strings_size = strings_size;
    return 0;
}

/* A NUL-terminated string of at most limit bytes (terminator included) at p; its length. */
static bool terminated(const void *p, uint32_t limit, uint32_t *length)
{
    const char *end = memchr(p, 0, limit);
    if (!end)
        return false;
    *length = (uint32_t)(end - (const char *)p);
    return true;
}

static int check_property(struct fdt *fdt, uint32_t *at)
{
    uint32_t size = fdt->structure_size;
    if (size - *at < 8)
        return reject(fdt, "property at %#x cut off by the block end (%#x)", *at, size);
    uint32_t len = get_be32(fdt->structure + *at), name = get_be32(fdt->structure + *at + 4);
    uint32_t length;
    if (len > size - *at - 8)
        return reject(fdt, "property at %#x: length %u runs past the block", *at, len);
    if (name >= fdt->strings_size ||
        !terminated(fdt->strings + name, fdt->strings_size - name, &length))
        return reject(fdt, "property at %#x: name offset %#x not a string in the block", *at, name);
    *at = align4(*at + 8 + len);
    return 0;
}

static int check_node_name(struct fdt *fdt, uint32_t *at, unsigned depth)
{
    uint32_t length;
    if (!terminated(fdt->structure + *at, fdt->structure_size - *at, &length))
        return reject(fdt, "node name at %#x not terminated in the block", *at);
    if (depth > 0 && length == 0)
        return reject(fdt, "node at %#x has an empty name", *at);
    *at = align4(*at + length + 1);
    return 0;
}

static int check_structure(struct fdt *fdt)
{
    uint32_t at = 0, size = fdt->structure_size;
    unsigned depth = 0;
    bool properties_allowed = false;
    fdt->root = FDT_NONE;
    while (at <= size - 4) {
        uint32_t token_offset = at, token = get_be32(fdt->structure + at);
        at += 4;
        int error = 0;
        switch (token) {
        case FDT_BEGIN_NODE:
            if (depth == 0 && fdt->root != FDT_NONE)
                return reject(fdt, "second root node at %#x", token_offset);
            if (depth == FDT_MAX_DEPTH)
                return reject(fdt, "node at %#x nested deeper than %d", token_offset,
                              FDT_MAX_DEPTH);
            if (depth == 0)
                fdt->root = (int)token_offset;
            error = check_node_name(fdt, &at, depth);
            depth++;
            properties_allowed = true;
            break;
        case FDT_END_NODE:
            if (depth == 0)
                return reject(fdt, "node end at %#x outside any node", token_offset);
            depth--;
            properties_allowed = false;
            break;
        case FDT_PROP:
            if (!properties_allowed)
                return reject(fdt, "property at %#x outside a node or after a child", token_offset);
            error = check_property(fdt, &at);
            break;
        case FDT_NOP:
            break;
        case FDT_END:
            if (depth != 0 || fdt->root == FDT_NONE)
                return reject(fdt, "end token at %#x with %u nodes open or no root", token_offset,
                              depth);
            return 0;
        default:
            return reject(fdt, "unknown token %#x at %#x", token, token_offset);
        }
        if (error)
            return error;
        if (at > size)
            return reject(fdt, "token at %#x runs past the block end %#x", token_offset, size);
    }
    return reject(fdt, "structure block (%u bytes) has no end token", size);
}

static void note_phandles(struct fdt *fdt);

int fdt_open(struct fdt *fdt, const void *blob, size_t size)
{
    memset(fdt, 0, sizeof(*fdt));
    fdt->blob = blob;
    fdt->root = FDT_NONE;
    if (!blob)
        return reject(fdt, "no blob");
    int error = check_header(fdt, blob, size);
    if (!error)
        error = check_structure(fdt);
    if (error) {
        fdt->structure_size = 0; /* every walk of a rejected tree finds nothing */
        fdt->root = FDT_NONE;
    } else {
        note_phandles(fdt);
    }
    return error;
}

/* ---- Walking the checked structure ---- */

/* The token at *at, advancing *at past it and its payload; FDT_END for anything that would
 * leave the block (only reachable from an offset that is not a token start). */
static uint32_t next_token(const struct fdt *fdt, uint32_t *at)
{
    uint32_t size = fdt->structure_size;
    if (*at > size || size - *at < 4)
        return FDT_END;
    uint32_t token = get_be32(fdt->structure + *at), p = *at + 4, length;
    if (token == FDT_BEGIN_NODE) {
        if (!terminated(fdt->structure + p, size - p, &length))
            return FDT_END;
        p = align4(p + length + 1);
    } else if (token == FDT_PROP) {
        if (size - p < 8 || get_be32(fdt->structure + p) > size - p - 8)
            return FDT_END;
        p = align4(p + 8 + get_be32(fdt->structure + p));
    } else if (token != FDT_END_NODE && token != FDT_NOP) {
        return FDT_END;
    }
    *at = p;
    return token;
}

static bool is_node(const struct fdt *fdt, int node)
{
    return node >= 0 && (uint32_t)node % 4 == 0 && (uint32_t)node < fdt->structure_size &&
           fdt->structure_size - (uint32_t)node >= 4 &&
           get_be32(fdt->structure + node) == FDT_BEGIN_NODE;
}

/* The offset just past a node's name, where its properties start. */
static uint32_t node_body(const struct fdt *fdt, int node)
{
    uint32_t at = (uint32_t)node;
    next_token(fdt, &at);
    return at;
}

/* The offset past a node's FDT_END_NODE. */
static uint32_t skip_node(const struct fdt *fdt, int node)
{
    uint32_t at = node_body(fdt, node);
    unsigned depth = 1;
    while (depth > 0) {
        uint32_t token = next_token(fdt, &at);
        if (token == FDT_BEGIN_NODE)
            depth++;
        else if (token == FDT_END_NODE)
            depth--;
        else if (token == FDT_END)
            return fdt->structure_size;
    }
    return at;
}

int fdt_first_child(const struct fdt *fdt, int node)
{
    if (!is_node(fdt, node))
        return FDT_NONE;
    uint32_t at = node_body(fdt, node);
    for (;;) {
        uint32_t start = at, token = next_token(fdt, &at);
        if (token == FDT_BEGIN_NODE)
            return (int)start;
        if (token != FDT_PROP && token != FDT_NOP)
            return FDT_NONE;
    }
}

int fdt_next_sibling(const struct fdt *fdt, int node)
{
    if (!is_node(fdt, node) || node == fdt->root)
        return FDT_NONE;
    uint32_t at = skip_node(fdt, node);
    for (;;) {
        uint32_t start = at, token = next_token(fdt, &at);
        if (token == FDT_BEGIN_NODE)
            return (int)start;
        if (token != FDT_NOP)
            return FDT_NONE;
    }
}

int fdt_next_node(const struct fdt *fdt, int node)
{
    if (node == FDT_NONE)
        return fdt->root;
    if (!is_node(fdt, node))
        return FDT_NONE;
    uint32_t at = node_body(fdt, node);
    for (;;) {
        uint32_t start = at, token = next_token(fdt, &at);
        if (token == FDT_BEGIN_NODE)
            return (int)start;
        if (token == FDT_END)
            return FDT_NONE;
    }
}

/* The chain of nodes from the root down to node: fills path[0..depth-1] (path[depth-1] is
 * node) and returns depth, 0 if node is not a node of the tree. */
static unsigned node_ancestry(const struct fdt *fdt, int node, int path[FDT_MAX_DEPTH])
{
    if (!is_node(fdt, node))
        return 0;
    uint32_t at = (uint32_t)fdt->root;
    unsigned depth = 0;
    for (;;) {
        uint32_t start = at, token = next_token(fdt, &at);
        if (token == FDT_BEGIN_NODE) {
            if (depth == FDT_MAX_DEPTH)
                return 0;
            path[depth++] = (int)start;
            if ((int)start == node)
                return depth;
        } else if (token == FDT_END_NODE) {
            if (depth == 0)
                return 0;
            depth--;
        } else if (token == FDT_END) {
            return 0;
        }
    }
}

int fdt_parent(const struct fdt *fdt, int node)
{
    int path[FDT_MAX_DEPTH];
    unsigned depth = node_ancestry(fdt, node, path);
    return depth >= 2 ? path[depth - 2] : FDT_NONE;
}

const char *fdt_node_name(const struct fdt *fdt, int node)
{
    uint32_t length;
    if (!is_node(fdt, node) ||
        !terminated(fdt->structure + node + 4, fdt->structure_size - (uint32_t)node - 4, &length))
        return "";
    return (const char *)fdt->structure + node + 4;
}

/* name matches the path component [component, component + length). */
static bool name_matches(const char *name, const char *component, size_t length)
{
    if (strncmp(name, component, length) != 0)
        return false;
    if (name[length] == 0)
        return true;
    return name[length] == '@' && !memchr(component, '@', length);
}

int fdt_find_path(const struct fdt *fdt, const char *path)
{
    if (!path || path[0] != '/')
        return FDT_NONE;
    int node = fdt->root;
    while (node != FDT_NONE) {
        while (*path == '/')
            path++;
        if (*path == 0)
            return node;
        size_t length = strcspn(path, "/");
        int child = fdt_first_child(fdt, node);
        while (child != FDT_NONE && !name_matches(fdt_node_name(fdt, child), path, length))
            child = fdt_next_sibling(fdt, child);
        node = child;
        path += length;
    }
    return FDT_NONE;
}

int fdt_find_compatible(const struct fdt *fdt, int after, const char *compat)
{
    for (int node = fdt_next_node(fdt, after); node != FDT_NONE; node = fdt_next_node(fdt, node))
        if (fdt_is_compatible(fdt, node, compat))
            return node;
    return FDT_NONE;
}

/* A node's phandle: its first "phandle" property if that is one cell, else its first
 * "linux,phandle" if that is.  One pass over the node's properties (finding each name with
 * fdt_read_u32 took two, and every interrupt parent is looked up through here). */
static bool node_phandle(const struct fdt *fdt, int node, uint32_t *phandle)
{
    const void *modern = NULL, *old = NULL;
    uint32_t modern_len = 0, old_len = 0;
    const char *name;
    const void *value;
    uint32_t len;
    for (int p = fdt_next_property(fdt, node, FDT_NONE, &name, &value, &len); p != FDT_NONE;
         p = fdt_next_property(fdt, node, p, &name, &value, &len)) {
        if (!modern && strcmp(name, "phandle") == 0) {
            modern = value;
            modern_len = len;
        } else if (!old && strcmp(name, "linux,phandle") == 0) {
            old = value;
            old_len = len;
        }
    }
    if (modern && modern_len == 4)
        *phandle = get_be32(modern);
    else if (old && old_len == 4)
        *phandle = get_be32(old);
    else
        return false;
    return true;
}

static void note_phandles(struct fdt *fdt)
{
    fdt->phandle_count = 0;
    fdt->phandles_complete = false;
    for (int node = fdt_next_node(fdt, FDT_NONE); node != FDT_NONE;
         node = fdt_next_node(fdt, node)) {
        uint32_t value;
        if (!node_phandle(fdt, node, &value))
            continue;
        if (fdt->phandle_count == FDT_PHANDLES_NOTED)
            return;
        fdt->phandles[fdt->phandle_count].phandle = value;
        fdt->phandles[fdt->phandle_count++].node = node;
    }
    fdt->phandles_complete = true;
}

int fdt_find_phandle(const struct fdt *fdt, uint32_t phandle)
{
    if (phandle == 0 || phandle == 0xffffffffu)
        return FDT_NONE;
    for (unsigned i = 0; i < fdt->phandle_count; i++)
        if (fdt->phandles[i].phandle == phandle)
            return fdt->phandles[i].node; /* the first in document order, as a pass finds */
    if (fdt->phandles_complete)
        return FDT_NONE;
    for (int node = fdt_next_node(fdt, FDT_NONE); node != FDT_NONE;
         node = fdt_next_node(fdt, node)) {
        uint32_t value;
        if (node_phandle(fdt, node, &value) && value == phandle)
            return node;
    }
    return FDT_NONE;
}

/* ---- Properties ---- */

int fdt_next_property(const struct fdt *fdt, int node, int position, const char **name,
                      const void **value, uint32_t *len)
{
    if (!is_node(fdt, node))
        return FDT_NONE;
    uint32_t at = position == FDT_NONE ? node_body(fdt, node) : (uint32_t)position;
    if (position != FDT_NONE && (position < node || (uint32_t)position % 4))
        return FDT_NONE;
    for (;;) {
        uint32_t start = at, token = next_token(fdt, &at);
        if (token == FDT_NOP)
            continue;
        if (token != FDT_PROP)
            return FDT_NONE;
        uint32_t nameoff = get_be32(fdt->structure + start + 8), length;
        if (nameoff >= fdt->strings_size ||
            !terminated(fdt->strings + nameoff, fdt->strings_size - nameoff, &length))
            return FDT_NONE;
        *name = fdt->strings + nameoff;
        *value = fdt->structure + start + 12;
        *len = get_be32(fdt->structure + start + 4);
        return (int)at;
    }
}

const void *fdt_property(const struct fdt *fdt, int node, const char *name, uint32_t *len)
{
    const char *property;
    const void *value;
    uint32_t length;
    for (int p = fdt_next_property(fdt, node, FDT_NONE, &property, &value, &length); p != FDT_NONE;
         p = fdt_next_property(fdt, node, p, &property, &value, &length)) {
        if (strcmp(property, name) == 0) {
            if (len)
                *len = length;
            return value;
        }
    }
    return NULL;
}

uint64_t fdt_cells(const void *p, unsigned count)
{
    const uint8_t *b = p;
    uint64_t value = 0;
    for (unsigned i = 0; i < count && i < 2; i++)
        value = value << 32 | get_be32(b + 4 * i);
    return value;
}

bool fdt_read_u32(const struct fdt *fdt, int node, const char *name, uint32_t *value)
{
    uint32_t len;
    const void *p = fdt_property(fdt, node, name, &len);
    if (!p || len != 4)
        return false;
    *value = get_be32(p);
    return true;
}

bool fdt_read_u64(const struct fdt *fdt, int node, const char *name, uint64_t *value)
{
    uint32_t len;
    const void *p = fdt_property(fdt, node, name, &len);
    if (!p || len != 8)
        return false;
    *value = fdt_cells(p, 2);
    return true;
}

const char *fdt_read_string(const struct fdt *fdt, int node, const char *name)
{
    uint32_t len;
    const char *p = fdt_property(fdt, node, name, &len);
    if (!p || len < 2 || p[len - 1] != 0)
        return NULL;
    return p;
}

const char *fdt_stringlist_get(const void *list, uint32_t len, unsigned index)
{
    const char *p = list;
    if (!p || len == 0 || p[len - 1] != 0)
        return NULL;
    for (uint32_t at = 0; at < len; index--) {
        size_t length = strlen(p + at);
        if (index == 0)
            return p + at;
        at += (uint32_t)length + 1;
    }
    return NULL;
}

bool fdt_stringlist_contains(const void *list, uint32_t len, const char *s)
{
    const char *p = list;
    if (!p || len == 0 || p[len - 1] != 0)
        return false;
    for (uint32_t at = 0; at < len; at += (uint32_t)strlen(p + at) + 1)
        if (strcmp(p + at, s) == 0)
            return true;
    return false;
}

bool fdt_is_compatible(const struct fdt *fdt, int node, const char *compat)
{
    uint32_t len;
    const void *list = fdt_property(fdt, node, "compatible", &len);
    return fdt_stringlist_contains(list, list ? len : 0, compat);
}

bool fdt_node_enabled(const struct fdt *fdt, int node)
{
    uint32_t len;
    const char *status = fdt_property(fdt, node, "status", &len);
    if (!status)
        return true;
    return (len == 5 && memcmp(status, "okay", 5) == 0) ||
           (len == 3 && memcmp(status, "ok", 3) == 0);
}

/* ---- Addresses ---- */

/* A cells property of bus or its nearest ancestor that has one, from an ancestry path. */
static unsigned inherited_cells(const struct fdt *fdt, const int *path, unsigned depth,
                                const char *name, unsigned fallback)
{
    for (unsigned i = depth; i-- > 0;) {
        uint32_t value;
        if (fdt_read_u32(fdt, path[i], name, &value))
            return value <= FDT_MAX_CELLS_COUNT ? value : FDT_MAX_CELLS_COUNT + 1;
    }
    return fallback;
}

unsigned fdt_address_cells(const struct fdt *fdt, int bus)
{
    int path[FDT_MAX_DEPTH];
    unsigned depth = node_ancestry(fdt, bus, path);
    return inherited_cells(fdt, path, depth, "#address-cells", 2);
}

unsigned fdt_size_cells(const struct fdt *fdt, int bus)
{
    int path[FDT_MAX_DEPTH];
    unsigned depth = node_ancestry(fdt, bus, path);
    return inherited_cells(fdt, path, depth, "#size-cells", 1);
}

/* Reads entry index of a table of entries of `cells` cells; NULL past the end. */
static const uint8_t *table_entry(const void *table, uint32_t len, unsigned cells, unsigned index)
{
    if (!table || cells == 0 || len % (4 * cells) || index >= len / (4 * cells))
        return NULL;
    return (const uint8_t *)table + (size_t)index * cells * 4;
}

static int reg_in(const struct fdt *fdt, const int *path, unsigned depth, unsigned index,
                  uint64_t *address, uint64_t *size)
{
    if (depth < 2)
        return -EINVAL; /* the root has no bus to sit on */
    unsigned address_cells = inherited_cells(fdt, path, depth - 1, "#address-cells", 2);
    unsigned size_cells = inherited_cells(fdt, path, depth - 1, "#size-cells", 1);
    uint32_t len;
    const void *reg = fdt_property(fdt, path[depth - 1], "reg", &len);
    if (!reg)
        return -ENOENT;
    if (address_cells < 1 || address_cells > 2 || size_cells > 2 ||
        len % (4 * (address_cells + size_cells)))
        return -EINVAL;
    const uint8_t *entry = table_entry(reg, len, address_cells + size_cells, index);
    if (!entry)
        return -ENOENT;
    *address = fdt_cells(entry, address_cells);
    *size = fdt_cells(entry + 4 * address_cells, size_cells);
    return 0;
}

int fdt_reg_raw(const struct fdt *fdt, int node, unsigned index, uint64_t *address, uint64_t *size)
{
    int path[FDT_MAX_DEPTH];
    unsigned depth = node_ancestry(fdt, node, path);
    return depth ? reg_in(fdt, path, depth, index, address, size) : -EINVAL;
}

/* One step up: [*address, +size) in the child space of path[depth-1] to its parent's space. */
static int translate_step(const struct fdt *fdt, const int *path, unsigned depth, uint64_t *address,
                          uint64_t size)
{
    int bus = path[depth - 1];
    uint32_t len;
    const void *ranges = fdt_property(fdt, bus, "ranges", &len);
    if (!ranges)
        return -ERANGE; /* the bus's addresses are not visible from the CPU */
    if (len == 0)
        return 0; /* identity */
    unsigned child_cells = inherited_cells(fdt, path, depth, "#address-cells", 2);
    unsigned parent_cells = inherited_cells(fdt, path, depth - 1, "#address-cells", 2);
    unsigned size_cells = inherited_cells(fdt, path, depth, "#size-cells", 1);
    if (child_cells < 1 || child_cells > 2 || parent_cells < 1 || parent_cells > 2 ||
        size_cells < 1 || size_cells > 2)
        return -EINVAL;
    unsigned cells = child_cells + parent_cells + size_cells;
    for (unsigned i = 0;; i++) {
        const uint8_t *entry = table_entry(ranges, len, cells, i);
        if (!entry)
            return len % (4 * cells) ? -EINVAL : -ERANGE;
        uint64_t child = fdt_cells(entry, child_cells);
        uint64_t parent = fdt_cells(entry + 4 * child_cells, parent_cells);
        uint64_t length = fdt_cells(entry + 4 * (child_cells + parent_cells), size_cells);
        if (*address >= child && *address - child < length && size <= length - (*address - child)) {
            *address = parent + (*address - child);
            return 0;
        }
    }
}

static int translate_path(const struct fdt *fdt, const int *path, unsigned depth, uint64_t *address,
                          uint64_t size)
{
    /* path[depth-1] is the bus whose child space *address is in; stop below the root. */
    for (; depth >= 2; depth--) {
        int error = translate_step(fdt, path, depth, address, size);
        if (error)
            return error;
    }
    return 0;
}

int fdt_translate(const struct fdt *fdt, int bus, uint64_t *address, uint64_t size)
{
    int path[FDT_MAX_DEPTH];
    unsigned depth = node_ancestry(fdt, bus, path);
    return depth ? translate_path(fdt, path, depth, address, size) : -EINVAL;
}

int fdt_reg(const struct fdt *fdt, int node, unsigned index, uint64_t *address, uint64_t *size)
{
    int path[FDT_MAX_DEPTH];
    unsigned depth = node_ancestry(fdt, node, path);
    if (!depth)
        return -EINVAL;
    int error = reg_in(fdt, path, depth, index, address, size);
    if (!error)
        error = translate_path(fdt, path, depth - 1, address, *size);
    return error;
}

int fdt_range(const struct fdt *fdt, int bus, unsigned index, struct fdt_range *range)
{
    int path[FDT_MAX_DEPTH];
    unsigned depth = node_ancestry(fdt, bus, path);
    if (depth < 2)
        return -EINVAL;
    uint32_t len;
    const void *ranges = fdt_property(fdt, bus, "ranges", &len);
    if (!ranges || len == 0)
        return -ENOENT;
    unsigned child_cells = inherited_cells(fdt, path, depth, "#address-cells", 2);
    unsigned parent_cells = inherited_cells(fdt, path, depth - 1, "#address-cells", 2);
    unsigned size_cells = inherited_cells(fdt, path, depth, "#size-cells", 1);
    if (child_cells < 1 || child_cells > 3 || parent_cells < 1 || parent_cells > 2 ||
        size_cells < 1 || size_cells > 2)
        return -EINVAL;
    unsigned cells = child_cells + parent_cells + size_cells;
    if (len % (4 * cells))
        return -EINVAL;
    const uint8_t *entry = table_entry(ranges, len, cells, index);
    if (!entry)
        return -ENOENT;
    range->child_flags = child_cells == 3 ? get_be32(entry) : 0;
    range->child =
        fdt_cells(entry + (child_cells == 3 ? 4 : 0), child_cells == 3 ? 2 : child_cells);
    range->parent = fdt_cells(entry + 4 * child_cells, parent_cells);
    range->size = fdt_cells(entry + 4 * (child_cells + parent_cells), size_cells);
    return 0;
}

/* ---- Interrupts ---- */

unsigned fdt_interrupt_cells(const struct fdt *fdt, int controller)
{
    uint32_t cells;
    if (!fdt_read_u32(fdt, controller, "#interrupt-cells", &cells) || cells == 0 ||
        cells > FDT_MAX_INTERRUPT_CELLS)
        return 0;
    return cells;
}

int fdt_interrupt_parent(const struct fdt *fdt, int node)
{
    /* Up through the ancestors of current, found once (path[depth - 1] is current while depth
     * is not 0) rather than by a pass from the root per level. */
    int path[FDT_MAX_DEPTH];
    unsigned depth = 0;
    int current = node;
    for (unsigned hops = 0; hops < FDT_INTERRUPT_WALK && current != FDT_NONE; hops++) {
        uint32_t phandle;
        int next;
        if (fdt_read_u32(fdt, current, "interrupt-parent", &phandle)) {
            next = fdt_find_phandle(fdt, phandle);
            depth = 0;
        } else {
            if (depth == 0)
                depth = node_ancestry(fdt, current, path);
            next = depth >= 2 ? path[depth - 2] : FDT_NONE;
            if (depth)
                depth--;
        }
        if (next == FDT_NONE || fdt_property(fdt, next, "#interrupt-cells", NULL))
            return next;
        current = next;
    }
    return FDT_NONE;
}

/* ---- /chosen, memory ---- */

const char *fdt_bootargs(const struct fdt *fdt)
{
    uint32_t len;
    const char *p = fdt_property(fdt, fdt_find_path(fdt, "/chosen"), "bootargs", &len);
    return p && len > 0 && p[len - 1] == 0 ? p : NULL;
}

int fdt_stdout_node(const struct fdt *fdt, const char **options)
{
    *options = NULL;
    int chosen = fdt_find_path(fdt, "/chosen");
    const char *path = fdt_read_string(fdt, chosen, "stdout-path");
    if (!path)
        path = fdt_read_string(fdt, chosen, "linux,stdout-path");
    if (!path)
        return FDT_NONE;
    char name[256];
    size_t length = strcspn(path, ":");
    if (length >= sizeof(name))
        return FDT_NONE;
    memcpy(name, path, length);
    name[length] = 0;
    if (path[length] == ':')
        *options = path + length + 1;
    if (name[0] != '/') {
        /* An alias: its value is a path. */
        const char *aliased = fdt_read_string(fdt, fdt_find_path(fdt, "/aliases"), name);
        return aliased ? fdt_find_path(fdt, aliased) : FDT_NONE;
    }
    return fdt_find_path(fdt, name);
}

static void add_region(struct fdt_region *regions, unsigned max, unsigned *count, uint64_t base,
                       uint64_t size)
{
    if (*count < max) {
        regions[*count].base = base;
        regions[*count].size = size;
    }
    (*count)++;
}

unsigned fdt_memory_regions(const struct fdt *fdt, struct fdt_region *regions, unsigned max)
{
    unsigned count = 0;
    for (int node = fdt_next_node(fdt, FDT_NONE); node != FDT_NONE;
         node = fdt_next_node(fdt, node)) {
        const char *type = fdt_read_string(fdt, node, "device_type");
        if (!type || strcmp(type, "memory") != 0 || !fdt_node_enabled(fdt, node))
            continue;
        uint64_t base, size;
        for (unsigned i = 0; fdt_reg(fdt, node, i, &base, &size) == 0; i++)
            if (size)
                add_region(regions, max, &count, base, size);
    }
    return count;
}

unsigned fdt_reserved_regions(const struct fdt *fdt, struct fdt_region *regions, unsigned max)
{
    unsigned count = 0;
    for (uint32_t i = 0; i < fdt->reservation_count; i++) {
        const uint8_t *entry = fdt->reservations + i * FDT_RESERVATION_SIZE;
        uint64_t size = fdt_cells(entry + 8, 2);
        if (size)
            add_region(regions, max, &count, fdt_cells(entry, 2), size);
    }
    int reserved = fdt_find_path(fdt, "/reserved-memory");
    for (int child = fdt_first_child(fdt, reserved); child != FDT_NONE;
         child = fdt_next_sibling(fdt, child)) {
        uint64_t base, size;
        for (unsigned i = 0; fdt_reg(fdt, child, i, &base, &size) == 0; i++)
            if (size)
                add_region(regions, max, &count, base, size);
    }
    return count;
}
