/* Base address registers: sizing at enumeration, mapping for drivers.
 *
 * Sizing writes all ones and reads back which address bits the device implements.  Decoding
 * is switched off meanwhile (a half-written BAR could claim someone else's addresses) and
 * nothing is logged until it is back on, since the console itself may sit behind MMIO. */
#define pr_fmt(fmt) "pci: " fmt

#include <rayos/errno.h>
#include <rayos/io.h>
#include <rayos/pci.h>
#include <rayos/printk.h>

#include "pci_core.h"

#define BAR_IO_FLAG       0x1u
#define BAR_MEM_TYPE_MASK 0x6u
#define BAR_MEM_TYPE_32   0x0u
#define BAR_MEM_TYPE_1M   0x2u
#define BAR_MEM_TYPE_64   0x4u
#define BAR_MEM_PREFETCH  0x8u
#define ROM_ADDRESS_MASK  0xfffff800u
#define ROM_ENABLE        0x1u

struct bar_probe {
    uint32_t original, sized;           /* low dword */
    uint32_t original_high, sized_high; /* upper dword of a 64-bit BAR */
};

static void probe_register(struct pci_device *pdev, unsigned offset, uint32_t pattern,
                           uint32_t *original, uint32_t *sized)
{
    *original = pci_read_config32(pdev, offset);
    pci_write_config32(pdev, offset, pattern);
    *sized = pci_read_config32(pdev, offset);
    pci_write_config32(pdev, offset, *original);
}

/* The size a mask of implemented address bits describes, or 0 if the bits are not a
 * contiguous run from the top (a device cannot decode such a range). */
static uint64_t size_from_mask(uint64_t mask)
{
    if (mask == 0)
        return 0;
    uint64_t size = mask & (~mask + 1); /* lowest implemented bit */
    if ((mask | (size - 1)) != UINT64_MAX)
        return 0;
    return size;
}

static void decode_io(struct pci_device *pdev, unsigned index, const struct bar_probe *probe)
{
    struct pci_bar *bar = &pdev->bars[index];
    uint64_t mask = probe->sized & ~0x3u;
    if (mask == 0)
        return;
    /* Devices with 16-bit I/O decoders leave the upper half zero. */
    if ((mask >> 16) == 0)
        mask |= 0xffff0000u;
    mask |= 0xffffffff00000000ull;
    uint64_t size = size_from_mask(mask);
    if (size == 0 || size > 256) {
        pr_warn("%s: BAR %u: impossible I/O size mask 0x%08x, ignored\n", pci_name(pdev), index,
                probe->sized);
        return;
    }
    bar->type = PCI_BAR_IO;
    bar->base = probe->original & ~0x3u;
    bar->size = size;
}

/* Returns how many BAR slots this one used (2 for a 64-bit pair). */
static unsigned decode_memory(struct pci_device *pdev, unsigned index, unsigned count,
                              const struct bar_probe *probe)
{
    struct pci_bar *bar = &pdev->bars[index];
    uint32_t type = probe->original & BAR_MEM_TYPE_MASK;
    bool is_64 = type == BAR_MEM_TYPE_64;
    if (type == BAR_MEM_TYPE_64 + BAR_MEM_TYPE_1M) {
        pr_warn("%s: BAR %u: reserved memory type, ignored\n", pci_name(pdev), index);
        return 1;
    }
    if (is_64 && index + 1 >= count) {
        pr_warn("%s: BAR %u: 64-bit BAR in the last slot, ignored\n", pci_name(pdev), index);
        return 1;
    }
    uint64_t mask = probe->sized & ~0xfu;
    uint64_t base = probe->original & ~0xfu;
    if (is_64) {
        mask |= (uint64_t)probe->sized_high << 32;
        base |= (uint64_t)probe->original_high << 32;
    } else {
        mask |= 0xffffffff00000000ull;
    }
    if ((mask & 0xffffffffull) == 0 && (!is_64 || probe->sized_high == 0))
        return is_64 ? 2 : 1; /* unimplemented */
    uint64_t size = size_from_mask(mask);
    if (size == 0 || size < 16) {
        pr_warn("%s: BAR %u: impossible memory size mask 0x%08x%08x, ignored\n", pci_name(pdev),
                index, is_64 ? probe->sized_high : 0xffffffffu, probe->sized);
        return is_64 ? 2 : 1;
    }
    if (!IS_ALIGNED(base, size)) {
        pr_warn("%s: BAR %u: base 0x%llx not aligned to its size 0x%llx, ignored\n", pci_name(pdev),
                index, (unsigned long long)base, (unsigned long long)size);
        return is_64 ? 2 : 1;
    }
    bar->type = is_64 ? PCI_BAR_MEM64 : PCI_BAR_MEM32;
    bar->prefetchable = probe->original & BAR_MEM_PREFETCH;
    bar->base = base;
    bar->size = size;
    return is_64 ? 2 : 1;
}

static unsigned bar_count(const struct pci_device *pdev)
{
    switch (pdev->header_type) {
    case PCI_HEADER_NORMAL:
        return 6;
    case PCI_HEADER_BRIDGE:
        return 2;
    case PCI_HEADER_CARDBUS:
        return 1; /* the socket registers */
    default:
        return 0; /* unknown layouts are not sized */
    }
}

void pci_read_bars(struct pci_device *pdev)
{
    unsigned count = bar_count(pdev);
    struct bar_probe probes[PCI_NUM_BARS] = {0};
    uint32_t rom_original = 0, rom_sized = 0;
    unsigned rom_offset =
        pdev->header_type == PCI_HEADER_BRIDGE ? PCI_BRIDGE_ROM_ADDRESS : PCI_ROM_ADDRESS;
    if (count == 0)
        return;

    uint16_t command = pci_read_config16(pdev, PCI_COMMAND);
    uint16_t decode = PCI_COMMAND_IO | PCI_COMMAND_MEMORY;
    bool host_bridge = pdev->class_code == 0x06 && pdev->subclass == 0x00;
    if ((command & decode) && !host_bridge)
        pci_write_config16(pdev, PCI_COMMAND, (uint16_t)(command & ~decode));

    for (unsigned i = 0; i < count; i++) {
        unsigned offset = PCI_BAR0 + 4 * i;
        probe_register(pdev, offset, 0xffffffffu, &probes[i].original, &probes[i].sized);
        bool is_64 = !(probes[i].original & BAR_IO_FLAG) &&
                     (probes[i].original & BAR_MEM_TYPE_MASK) == BAR_MEM_TYPE_64;
        if (is_64 && i + 1 < count) {
            probe_register(pdev, offset + 4, 0xffffffffu, &probes[i].original_high,
                           &probes[i].sized_high);
            i++;
        }
    }
    /* A CardBus bridge has no ROM register (0x30 is its first I/O limit). */
    if (pdev->header_type != PCI_HEADER_CARDBUS)
        probe_register(pdev, rom_offset, ROM_ADDRESS_MASK, &rom_original, &rom_sized);

    if ((command & decode) && !host_bridge)
        pci_write_config16(pdev, PCI_COMMAND, command);

    /* Decoding is back: now it is safe to log. */
    for (unsigned i = 0; i < count;) {
        const struct bar_probe *probe = &probes[i];
        if (probe->original == 0xffffffffu && probe->sized == 0xffffffffu) {
            pr_warn("%s: BAR %u reads all ones, ignored\n", pci_name(pdev), i);
            i++;
        } else if (probe->original & BAR_IO_FLAG) {
            decode_io(pdev, i, probe);
            i++;
        } else {
            i += decode_memory(pdev, i, count, probe);
        }
    }
    uint64_t rom_mask = (rom_sized & ROM_ADDRESS_MASK) | 0xffffffff00000000ull;
    if ((rom_sized & ROM_ADDRESS_MASK) && rom_sized != 0xffffffffu) {
        uint64_t size = size_from_mask(rom_mask);
        if (size) {
            pdev->rom.type = PCI_BAR_MEM32;
            pdev->rom.base = rom_original & ROM_ADDRESS_MASK;
            pdev->rom.size = size;
        } else {
            pr_warn("%s: impossible expansion ROM size mask 0x%08x, ignored\n", pci_name(pdev),
                    rom_sized);
        }
    }
}

volatile void *pci_map_bar(struct pci_device *pdev, unsigned index)
{
    if (index >= PCI_NUM_BARS) {
        pr_err("%s: no BAR %u\n", pci_name(pdev), index);
        return NULL;
    }
    struct pci_bar *bar = &pdev->bars[index];
    if (bar->type != PCI_BAR_MEM32 && bar->type != PCI_BAR_MEM64) {
        pr_err("%s: BAR %u is not a memory BAR\n", pci_name(pdev), index);
        return NULL;
    }
    if (bar->base == 0 || bar->size == 0) {
        pr_err("%s: BAR %u is not assigned an address\n", pci_name(pdev), index);
        return NULL;
    }
    if (!pdev->bar_mappings[index]) {
        pdev->bar_mappings[index] = map_phys(bar->base, (size_t)bar->size, MAP_UNCACHED);
        if (!pdev->bar_mappings[index]) {
            pr_err("%s: cannot map BAR %u (0x%llx, %llu bytes)\n", pci_name(pdev), index,
                   (unsigned long long)bar->base, (unsigned long long)bar->size);
            return NULL;
        }
    }
    pci_enable_memory(pdev);
    return pdev->bar_mappings[index];
}

int pci_bar_io_port(struct pci_device *pdev, unsigned index)
{
    if (index >= PCI_NUM_BARS)
        return -EINVAL;
    struct pci_bar *bar = &pdev->bars[index];
    if (bar->type != PCI_BAR_IO || bar->size == 0)
        return -ENODEV;
    if (bar->base == 0 || bar->base + bar->size > 0x10000) {
        pr_err("%s: I/O BAR %u at 0x%llx is not usable\n", pci_name(pdev), index,
               (unsigned long long)bar->base);
        return -EINVAL;
    }
    pci_enable_io(pdev);
    return (int)bar->base;
}

void pci_unmap_bars(struct pci_device *pdev)
{
    for (unsigned i = 0; i < PCI_NUM_BARS; i++) {
        if (pdev->bar_mappings[i]) {
            unmap_phys(pdev->bar_mappings[i], (size_t)pdev->bars[i].size);
            pdev->bar_mappings[i] = NULL;
        }
    }
}
