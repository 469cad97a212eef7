/* Multiboot 1 and 2 boot information into struct boot_info (<rayos/multiboot.h>).  Copied at
 * once: the loader's structures live in memory the page allocator is about to hand out.  Every
 * length and offset comes from the loader and is checked before it is used; the sums are taken
 * in 64 bits, so no size can wrap a bound. */
#define pr_fmt(fmt) "boot: " fmt
#include <rayos/boot_info.h>
#include <rayos/bytes.h>
#include <rayos/errno.h>
#include <rayos/multiboot.h>
#include <rayos/printk.h>
#include <rayos/string.h>

#define MB1_INFO_SIZE     68 /* through boot_loader_name */
#define MB1_MODULES_MAX   64
#define MB1_MAP_MAX       (64 * 1024)
#define MB2_INFO_MAX      (1024 * 1024)
#define MB2_MAP_ENTRY_MIN 24
#define MB1_HAS_MEMORY    (1u << 0)
#define MB1_HAS_CMDLINE   (1u << 2)
#define MB1_HAS_MODULES   (1u << 3)
#define MB1_HAS_MAP       (1u << 6)
#define MB1_HAS_LOADER    (1u << 9)

struct reader {
    multiboot_map_fn map;
    void *context;
};

static const uint8_t *reach(const struct reader *r, uint64_t phys, uint64_t length)
{
    if (phys == 0 || phys + length < phys)
        return NULL;
    return r->map(r->context, phys, length);
}

/* A NUL-terminated string of the loader's, cut at size - 1 bytes or where it leaves reach. */
static void copy_string(const struct reader *r, char *out, size_t size, uint64_t phys)
{
    size_t n = 0;
    const uint8_t *c;
    while (n + 1 < size && (c = reach(r, phys + n, 1)) != NULL && *c)
        out[n++] = (char)*c;
    out[n] = 0;
}

/* A string inside a tag's body: at most length bytes, cut at size - 1. */
static void copy_bounded(char *out, size_t size, const uint8_t *text, size_t length)
{
    size_t n = strnlen((const char *)text, MIN(length, size - 1));
    memcpy(out, text, n);
    out[n] = 0;
}

static void mb1_modules(const struct reader *r, uint32_t count, uint32_t address)
{
    if (count > MB1_MODULES_MAX) {
        pr_warn("the loader claims %u modules: modules ignored", count);
        return;
    }
    const uint8_t *list = reach(r, address, (uint64_t)count * 16);
    if (!list && count) {
        pr_warn("module list at 0x%x is out of reach: modules ignored", address);
        return;
    }
    for (uint32_t i = 0; i < count; i++) {
        const uint8_t *m = list + 16 * i;
        struct boot_module *module = boot_info_add_module(get_le32(m), get_le32(m + 4));
        if (module && get_le32(m + 8))
            copy_string(r, module->cmdline, sizeof(module->cmdline), get_le32(m + 8));
    }
}

/* Entries of (size, base, length, type), each size bytes after its size field.  False when
 * the map cannot be read at all. */
static bool mb1_memory_map(const struct reader *r, uint32_t length, uint32_t address)
{
    const uint8_t *map = length <= MB1_MAP_MAX ? reach(r, address, length) : NULL;
    if (!map) {
        pr_warn("memory map of %u bytes at 0x%x is out of reach or too large: ignored", length,
                address);
        return false;
    }
    for (uint64_t off = 0; off + 4 <= length;) {
        uint32_t size = get_le32(map + off);
        if (size < 20 || off + 4 + size > length) {
            pr_warn("memory map entry at offset %u has size %u; rest of map ignored", (unsigned)off,
                    size);
            break;
        }
        boot_info_add_region(get_le64(map + off + 4), get_le64(map + off + 12),
                             get_le32(map + off + 20));
        off += 4 + (uint64_t)size;
    }
    return true;
}

static int read_multiboot1(const struct reader *r, uint64_t info_phys, const char **why)
{
    const uint8_t *info = reach(r, info_phys, MB1_INFO_SIZE);
    if (!info) {
        *why = "the Multiboot information is out of reach";
        return -EINVAL;
    }
    boot_info.protocol = "multiboot1";
    uint32_t flags = get_le32(info);
    if (flags & MB1_HAS_CMDLINE)
        copy_string(r, boot_info.cmdline, sizeof(boot_info.cmdline), get_le32(info + 16));
    if (flags & MB1_HAS_LOADER)
        copy_string(r, boot_info.loader_name, sizeof(boot_info.loader_name), get_le32(info + 64));
    if (flags & MB1_HAS_MODULES)
        mb1_modules(r, get_le32(info + 20), get_le32(info + 24));
    bool mapped =
        (flags & MB1_HAS_MAP) && mb1_memory_map(r, get_le32(info + 44), get_le32(info + 48));
    if (!mapped && (flags & MB1_HAS_MEMORY)) { /* below 640 KiB and from 1 MiB on */
        boot_info_add_region(0, (uint64_t)get_le32(info + 4) * KiB, MEMORY_USABLE);
        boot_info_add_region(0x100000, (uint64_t)get_le32(info + 8) * KiB, MEMORY_USABLE);
    }
    return 0;
}

/* Tag 6: entry size, entry version, then entries of (base, length, type, reserved). */
static void mb2_memory_map(const uint8_t *body, uint32_t size)
{
    if (size < 8)
        return;
    uint32_t entry_size = get_le32(body);
    if (entry_size < MB2_MAP_ENTRY_MIN) {
        pr_warn("memory map entry size %u is too small; map ignored", entry_size);
        return;
    }
    for (uint64_t e = 8; e + entry_size <= size; e += entry_size)
        boot_info_add_region(get_le64(body + e), get_le64(body + e + 8), get_le32(body + e + 16));
}

static void mb2_tag(uint32_t type, const uint8_t *body, uint32_t size)
{
    switch (type) {
    case 1: /* command line */
        copy_bounded(boot_info.cmdline, sizeof(boot_info.cmdline), body, size);
        break;
    case 2: /* boot loader name */
        copy_bounded(boot_info.loader_name, sizeof(boot_info.loader_name), body, size);
        break;
    case 3: /* module: start, end, then its command line */
        if (size >= 8) {
            struct boot_module *module = boot_info_add_module(get_le32(body), get_le32(body + 4));
            if (module)
                copy_bounded(module->cmdline, sizeof(module->cmdline), body + 8, size - 8);
        }
        break;
    case 6:
        mb2_memory_map(body, size);
        break;
    case 14: /* ACPI 1.0 RSDP copy */
    case 15: /* ACPI 2.0+ RSDP copy: preferred */
        if (size >= 20 && (type == 15 || !boot_info.has_acpi_rsdp_copy)) {
            memset(boot_info.acpi_rsdp_copy, 0, sizeof(boot_info.acpi_rsdp_copy));
            memcpy(boot_info.acpi_rsdp_copy, body, MIN(size, sizeof(boot_info.acpi_rsdp_copy)));
            boot_info.has_acpi_rsdp_copy = true;
            boot_info.firmware_tables = FIRMWARE_ACPI;
        }
        break;
    default:
        break;
    }
}

static int read_multiboot2(const struct reader *r, uint64_t info_phys, const char **why)
{
    const uint8_t *header = reach(r, info_phys, 8);
    uint32_t total = header ? get_le32(header) : 0;
    const uint8_t *info = total >= 16 && total <= MB2_INFO_MAX && !(info_phys & 7)
                              ? reach(r, info_phys, total)
                              : NULL;
    if (!info) {
        *why = "the Multiboot 2 information is out of reach, misaligned or of an impossible size";
        return -EINVAL;
    }
    boot_info.protocol = "multiboot2";
    for (uint64_t off = 8; off + 8 <= total;) {
        uint32_t type = get_le32(info + off), size = get_le32(info + off + 4);
        if (size < 8 || off + size > total) {
            pr_warn("Multiboot 2 tag %u at offset %u has size %u; the rest ignored", type,
                    (unsigned)off, size);
            return 0;
        }
        if (type == 0)
            return 0;
        mb2_tag(type, info + off + 8, size - 8);
        off += ALIGN_UP((uint64_t)size, 8);
    }
    pr_warn("Multiboot 2 information has no end tag");
    return 0;
}

int multiboot_read(uint32_t magic, uint64_t info, multiboot_map_fn map, void *context,
                   const char **why)
{
    struct reader r = {map, context};
    int error;
    if (magic == MULTIBOOT1_BOOTLOADER_MAGIC) {
        error = read_multiboot1(&r, info, why);
    } else if (magic == MULTIBOOT2_BOOTLOADER_MAGIC) {
        error = read_multiboot2(&r, info, why);
    } else {
        *why = "not started by a Multiboot loader";
        return -EINVAL;
    }
    if (error)
        return error;
    if (boot_info.region_count == 0) {
        *why = "the boot loader passed no memory map";
        return -EINVAL;
    }
    pr_info("%s%s%s, %u memory map entries, command line \"%s\"", boot_info.protocol,
            boot_info.loader_name[0] ? " from " : "", boot_info.loader_name, boot_info.region_count,
            boot_info.cmdline);
    return 0;
}
