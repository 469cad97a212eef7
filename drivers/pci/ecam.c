/* Which MCFG windows may be used.  The MCFG is firmware input like any other: a window placed
 * over RAM would make enumeration read kernel memory as configuration space and BAR sizing
 * write all ones into it.  Linux checks windows against the firmware memory map; so does RayOS:
 * a window must lie in addressable physical space and must not overlap RAM of any kind in the
 * boot memory map (usable, ACPI data, ACPI NVS, bad) or the first MiB.  Firmware-reserved
 * regions are where ECAM belongs (QEMU and PC firmware list the window there), and a window
 * in a hole of the map is accepted as on most firmware. */
#include <rayos/acpi.h>
#include <rayos/mm.h>
#include <rayos/pci.h>
#include <rayos/string.h>

#include "pci_core.h"

#define PHYS_ADDRESS_LIMIT (1ull << 52) /* the architectural maximum on x86-64 */

static const char *type_name(uint32_t type)
{
    switch (type) {
    case MEMORY_USABLE:
        return "usable RAM";
    case MEMORY_ACPI_RECLAIMABLE:
        return "ACPI tables";
    case MEMORY_ACPI_NVS:
        return "ACPI NVS memory";
    default:
        return "bad RAM";
    }
}

void pci_ecam_window_range(const struct acpi_mcfg_window *window, uint64_t *start, uint64_t *end)
{
    *start = window->base + ((uint64_t)window->start_bus << 20);
    *end = window->base + ((uint64_t)(window->end_bus + 1u) << 20);
}

bool pci_ecam_window_usable(const struct acpi_mcfg_window *window, const struct memory_region *map,
                            unsigned count, char *why, size_t size)
{
    uint64_t start, end;
    if (window->base >= PHYS_ADDRESS_LIMIT || window->base & ((1u << 20) - 1)) {
        snprintf(why, size, "base 0x%llx is not a 1 MiB-aligned physical address",
                 (unsigned long long)window->base);
        return false;
    }
    pci_ecam_window_range(window, &start, &end);
    if (end > PHYS_ADDRESS_LIMIT) {
        snprintf(why, size, "it ends beyond the physical address space");
        return false;
    }
    if (start < (1u << 20)) {
        snprintf(why, size, "it overlaps the first MiB (firmware data and legacy devices)");
        return false;
    }
    for (unsigned i = 0; i < count; i++) {
        const struct memory_region *r = &map[i];
        if (!memory_type_is_ram_or_bad(r->type) || r->length == 0)
            continue;
        uint64_t r_end = r->base + r->length < r->base ? UINT64_MAX : r->base + r->length;
        if (start < r_end && r->base < end) {
            snprintf(why, size, "it overlaps %s at 0x%llx-0x%llx in the memory map",
                     type_name(r->type), (unsigned long long)r->base,
                     (unsigned long long)(r_end - 1));
            return false;
        }
    }
    return true;
}

bool pci_ecam_windows_disjoint(const struct acpi_mcfg_window *window,
                               const struct acpi_mcfg_window *accepted, char *why, size_t size)
{
    if (window->segment == accepted->segment && window->start_bus <= accepted->end_bus &&
        accepted->start_bus <= window->end_bus) {
        snprintf(why, size, "buses %02x-%02x of segment %04x already have a window",
                 accepted->start_bus, accepted->end_bus, accepted->segment);
        return false;
    }
    uint64_t start, end, other_start, other_end;
    pci_ecam_window_range(window, &start, &end);
    pci_ecam_window_range(accepted, &other_start, &other_end);
    if (start < other_end && other_start < end) {
        snprintf(why, size, "its memory overlaps the window of segment %04x buses %02x-%02x",
                 accepted->segment, accepted->start_bus, accepted->end_bus);
        return false;
    }
    return true;
}
