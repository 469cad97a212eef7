/* Multiboot 1 and 2 boot information: copied into struct boot_info at once, because the loader's
 * structures live in memory the page allocator is about to hand out.  Everything is checked:
 * malformed information ends in a clear panic, a bad memory-map entry is skipped with a warning. */
#define pr_fmt(fmt) "boot: " fmt
#include <rayos/boot_info.h>
#include <rayos/mm.h>
#include <rayos/printk.h>
#include <rayos/string.h>
#include "x86.h"

#define MB1_BOOTLOADER_MAGIC 0x2BADB002
#define MB2_BOOTLOADER_MAGIC 0x36d76289
#define BOOT_MAP_LIMIT       (4 * GiB) /* what the boot page tables map */

/* Boot data is only reachable through the boot direct map until paging_init. */
static const void *boot_pointer(phys_addr_t phys, uint64_t length, const char *what)
{
    if (phys == 0 || phys + length < phys || phys + length > BOOT_MAP_LIMIT)
        panic("boot: %s at 0x%llx (+%llu bytes) is outside the first 4 GiB", what,
              (unsigned long long)phys, (unsigned long long)length);
    return phys_to_virt(phys);
}

static void copy_string(char *dst, size_t size, phys_addr_t phys, const char *what)
{
    const char *src = boot_pointer(phys, 1, what);
    size_t n = 0;
    while (n + 1 < size && phys + n + 1 < BOOT_MAP_LIMIT && src[n])
        n++;
    memcpy(dst, src, n);
    dst[n] = 0;
}

struct mb1_info {
    uint32_t flags;
    uint32_t mem_lower, mem_upper;
    uint32_t boot_device;
    uint32_t cmdline;
    uint32_t mods_count, mods_addr;
    uint32_t syms[4];
    uint32_t mmap_length, mmap_addr;
    uint32_t drives_length, drives_addr;
    uint32_t config_table;
    uint32_t boot_loader_name;
} __packed;

struct mb1_mmap_entry {
    uint32_t size;
    uint64_t base, length;
    uint32_t type;
} __packed;

static void parse_multiboot1(phys_addr_t info_phys)
{
    const struct mb1_info *info =
        boot_pointer(info_phys, sizeof(struct mb1_info), "Multiboot info");
    boot_info.protocol = "multiboot1";
    if (info->flags & (1u << 2))
        copy_string(boot_info.cmdline, sizeof(boot_info.cmdline), info->cmdline, "command line");
    if (info->flags & (1u << 9))
        copy_string(boot_info.loader_name, sizeof(boot_info.loader_name), info->boot_loader_name,
                    "loader name");
    if (info->flags & (1u << 3)) {
        if (info->mods_count > 64)
            panic("boot: Multiboot info claims %u modules", info->mods_count);
        const uint32_t *mods =
            boot_pointer(info->mods_addr, info->mods_count * 16ULL, "module list");
        for (uint32_t i = 0; i < info->mods_count; i++) {
            struct boot_module *module = boot_info_add_module(mods[i * 4], mods[i * 4 + 1]);
            if (module && mods[i * 4 + 2])
                copy_string(module->cmdline, sizeof(module->cmdline), mods[i * 4 + 2],
                            "module command line");
        }
    }
    if (info->flags & (1u << 6)) {
        if (info->mmap_length > 64 * KiB)
            panic("boot: Multiboot memory map length %u is impossible", info->mmap_length);
        const uint8_t *map = boot_pointer(info->mmap_addr, info->mmap_length, "memory map");
        for (uint32_t off = 0; off + 4 <= info->mmap_length;) {
            const struct mb1_mmap_entry *e = (const void *)(map + off);
            if (e->size < 20 || off + 4 + e->size > info->mmap_length) {
                pr_warn("memory map entry at offset %u has size %u; rest of map ignored", off,
                        e->size);
                break;
            }
            boot_info_add_region(e->base, e->length, e->type);
            off += e->size + 4;
        }
    } else if (info->flags & (1u << 0)) {
        boot_info_add_region(0, info->mem_lower * KiB, MEMORY_USABLE);
        boot_info_add_region(0x100000, info->mem_upper * KiB, MEMORY_USABLE);
    }
}

struct mb2_tag {
    uint32_t type, size;
};

static void parse_multiboot2(phys_addr_t info_phys)
{
    const uint32_t *header = boot_pointer(info_phys, 8, "Multiboot 2 info");
    uint32_t total = header[0];
    if (total < 16 || total > 1 * MiB || (info_phys & 7))
        panic("boot: Multiboot 2 info size %u at 0x%llx is impossible", total,
              (unsigned long long)info_phys);
    const uint8_t *base = boot_pointer(info_phys, total, "Multiboot 2 info");
    boot_info.protocol = "multiboot2";
    bool ended = false;
    for (uint32_t off = 8; off + 8 <= total;) {
        const struct mb2_tag *tag = (const void *)(base + off);
        if (tag->size < 8 || off + tag->size > total)
            panic("boot: Multiboot 2 tag %u at offset %u has size %u", tag->type, off, tag->size);
        const uint8_t *body = (const uint8_t *)(tag + 1);
        uint32_t body_size = tag->size - 8;
        switch (tag->type) {
        case 0:
            ended = true;
            break;
        case 1: /* command line */
        case 2: /* boot loader name */ {
            char *dst = tag->type == 1 ? boot_info.cmdline : boot_info.loader_name;
            size_t cap = tag->type == 1 ? sizeof(boot_info.cmdline) : sizeof(boot_info.loader_name);
            size_t n = strnlen((const char *)body, MIN(body_size, cap - 1));
            memcpy(dst, body, n);
            dst[n] = 0;
            break;
        }
        case 3: /* module: start, end, then its command line inside the tag */
            if (body_size >= 8) {
                struct boot_module *module =
                    boot_info_add_module(((const uint32_t *)body)[0], ((const uint32_t *)body)[1]);
                if (module) {
                    size_t n = strnlen((const char *)body + 8,
                                       MIN(body_size - 8, sizeof(module->cmdline) - 1));
                    memcpy(module->cmdline, body + 8, n);
                    module->cmdline[n] = 0;
                }
            }
            break;
        case 6: { /* memory map */
            if (body_size < 8)
                break;
            uint32_t entry_size = ((const uint32_t *)body)[0];
            if (entry_size < 24) {
                pr_warn("memory map entry size %u is too small; map ignored", entry_size);
                break;
            }
            for (uint32_t e = 8; e + entry_size <= body_size; e += entry_size) {
                const uint8_t *entry = body + e;
                boot_info_add_region(*(const uint64_t *)entry, *(const uint64_t *)(entry + 8),
                                     *(const uint32_t *)(entry + 16));
            }
            break;
        }
        case 14: /* ACPI 1.0 RSDP copy */
        case 15: /* ACPI 2.0+ RSDP copy */
            if (body_size >= 20 && (tag->type == 15 || !boot_info.has_acpi_rsdp_copy)) {
                memcpy(boot_info.acpi_rsdp_copy, body,
                       MIN(body_size, sizeof(boot_info.acpi_rsdp_copy)));
                boot_info.has_acpi_rsdp_copy = true;
                boot_info.firmware_tables = FIRMWARE_ACPI;
            }
            break;
        default:
            break;
        }
        if (ended)
            break;
        off += ALIGN_UP(tag->size, 8);
    }
    if (!ended)
        pr_warn("Multiboot 2 info has no end tag");
}

void multiboot_parse(uint32_t magic, phys_addr_t info)
{
    if (magic == MB1_BOOTLOADER_MAGIC)
        parse_multiboot1(info);
    else if (magic == MB2_BOOTLOADER_MAGIC)
        parse_multiboot2(info);
    else
        panic("boot: not started by a Multiboot loader (magic 0x%08x); cannot find memory", magic);
    if (boot_info.region_count == 0)
        panic("boot: the boot loader passed no memory map");
    pr_info("%s%s%s, %u memory map entries, command line \"%s\"", boot_info.protocol,
            boot_info.loader_name[0] ? " from " : "", boot_info.loader_name, boot_info.region_count,
            boot_info.cmdline);
}
