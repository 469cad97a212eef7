/* Reaching configuration space on a PC (or a device tree machine's ECAM, host_fdt.c), and
 * enumerating at boot.
 *
 * ECAM (the MCFG's memory windows) reaches all 4096 bytes of every function and needs no
 * lock; configuration mechanism #1 (ports 0xCF8/0xCFC) reaches 256 bytes of segment 0 and
 * takes two port accesses, so it is serialised.  ECAM is used for the buses the MCFG covers
 * unless the kernel option pci=cam asks otherwise or firmware left the window dead. */
#define pr_fmt(fmt) "pci: " fmt

#include <rayos/acpi.h>
#include <rayos/cmdline.h>
#include <rayos/errno.h>
#include <rayos/init.h>
#include <rayos/io.h>
#include <rayos/irq.h>
#include <rayos/lock.h>
#include <rayos/pci.h>
#include <rayos/pci_host_bridge.h>
#include <rayos/printk.h>
#include <rayos/string.h>
#include <rayos/time.h>

#include <rayos/boot_info.h>
#include "pci_core.h"
#include "pci_host.h"
#include "pci_host_fdt.h"

#define CAM_ADDRESS 0xcf8
#define CAM_DATA    0xcfc

static struct spinlock cam_lock = SPINLOCK_INIT("pci-cam");

static uint32_t cam_address(uint8_t bus, uint8_t slot, uint8_t function, uint16_t offset)
{
    return 0x80000000u | (uint32_t)bus << 16 | (uint32_t)slot << 11 | (uint32_t)function << 8 |
           (offset & 0xfc);
}

static uint32_t cam_read(void *context, uint16_t segment, uint8_t bus, uint8_t slot,
                         uint8_t function, uint16_t offset, unsigned width)
{
    if (segment != 0)
        return 0xffffffffu;
    irqflags_t flags = spin_lock_irqsave(&cam_lock);
    io_write32(CAM_ADDRESS, cam_address(bus, slot, function, offset));
    uint16_t port = (uint16_t)(CAM_DATA + (offset & 3));
    uint32_t value = width == 1 ? io_read8(port) : width == 2 ? io_read16(port) : io_read32(port);
    spin_unlock_irqrestore(&cam_lock, flags);
    return value;
}

static void cam_write(void *context, uint16_t segment, uint8_t bus, uint8_t slot, uint8_t function,
                      uint16_t offset, unsigned width, uint32_t value)
{
    if (segment != 0)
        return;
    irqflags_t flags = spin_lock_irqsave(&cam_lock);
    io_write32(CAM_ADDRESS, cam_address(bus, slot, function, offset));
    uint16_t port = (uint16_t)(CAM_DATA + (offset & 3));
    if (width == 1)
        io_write8(port, (uint8_t)value);
    else if (width == 2)
        io_write16(port, (uint16_t)value);
    else
        io_write32(port, value);
    spin_unlock_irqrestore(&cam_lock, flags);
}

uint32_t pci_cam_read32(uint8_t bus, uint8_t slot, uint8_t function, uint16_t offset)
{
    return cam_read(NULL, 0, bus, slot, function, offset, 4);
}

/* ---- ECAM ---- */

struct ecam_window {
    struct acpi_mcfg_window window;
    volatile uint8_t *bus_map[256]; /* 1 MiB per bus, mapped on first use */
};

static struct ecam_window ecam_windows[8];
static unsigned ecam_window_count;
static bool ecam_enabled;
static bool force_probe; /* pci=probe: look for peer root buses even when ACPI names the roots */
static bool assign_all;  /* pci=assign-all: number buses and assign BARs, ignoring firmware */

static struct ecam_window *ecam_find(uint16_t segment, uint8_t bus)
{
    for (unsigned i = 0; i < ecam_window_count; i++) {
        struct ecam_window *w = &ecam_windows[i];
        if (w->window.segment == segment && bus >= w->window.start_bus && bus <= w->window.end_bus)
            return w;
    }
    return NULL;
}

static volatile uint8_t *ecam_address(uint16_t segment, uint8_t bus, uint8_t slot, uint8_t function,
                                      uint16_t offset)
{
    struct ecam_window *w = ecam_find(segment, bus);
    if (!w)
        return NULL;
    unsigned index = bus - w->window.start_bus;
    if (!w->bus_map[index]) {
        phys_addr_t phys = w->window.base + ((phys_addr_t)bus << 20); /* base is bus 0's */
        w->bus_map[index] = map_phys(phys, 1u << 20, MAP_UNCACHED);
        if (!w->bus_map[index])
            return NULL;
    }
    return w->bus_map[index] + ((uint32_t)slot << 15 | (uint32_t)function << 12 | offset);
}

static bool ecam_covers(uint16_t segment, uint8_t bus)
{
    return ecam_enabled && ecam_find(segment, bus);
}

static unsigned long config_reads, config_writes;

static uint32_t host_read(void *context, uint16_t segment, uint8_t bus, uint8_t slot,
                          uint8_t function, uint16_t offset, unsigned width)
{
    config_reads++;
    if (!ecam_covers(segment, bus))
        return cam_read(context, segment, bus, slot, function, offset, width);
    volatile uint8_t *address = ecam_address(segment, bus, slot, function, offset);
    if (!address)
        return 0xffffffffu;
    return width == 1   ? mmio_read8(address)
           : width == 2 ? mmio_read16(address)
                        : mmio_read32(address);
}

static void host_write(void *context, uint16_t segment, uint8_t bus, uint8_t slot, uint8_t function,
                       uint16_t offset, unsigned width, uint32_t value)
{
    config_writes++;
    if (!ecam_covers(segment, bus)) {
        cam_write(context, segment, bus, slot, function, offset, width, value);
        return;
    }
    volatile uint8_t *address = ecam_address(segment, bus, slot, function, offset);
    if (!address)
        return;
    if (width == 1)
        mmio_write8(address, (uint8_t)value);
    else if (width == 2)
        mmio_write16(address, (uint16_t)value);
    else
        mmio_write32(address, value);
}

static unsigned host_space_size(void *context, uint16_t segment, uint8_t bus)
{
    return ecam_covers(segment, bus) ? 4096 : 256;
}

/* PC firmware (SeaBIOS on QEMU) wrote the ISA IRQ its PIRQ routing chose into the Interrupt
 * Line register; QEMU's PIIX3 and ICH9 raise the IOAPIC input of that ISA IRQ as well, and the
 * MADT's overrides make it level-triggered.  Values from 16 up are taken as GSIs. */
static int firmware_intx_spec(void *context, struct pci_device *pdev, unsigned pin,
                              struct irq_spec *out)
{
    uint8_t line = pdev->interrupt_line;
    if (line == 0 || line == 0xff) {
        pr_err("%s: INT%c not routed by firmware (interrupt line 0x%02x)\n", pci_name(pdev),
               'A' + (int)(pin - 1) % 4, line);
        return -ENODEV;
    }
    if (line < 16)
        return acpi_isa_irq_spec(line, out);
    *out = (struct irq_spec){line, IRQ_LEVEL_LOW};
    return 0;
}

static struct pci_config_access host_access = {
    /* intx_spec: the firmware's, or the tree's */
    .name = "ECAM",
    .read = host_read,
    .write = host_write,
    .space_size = host_space_size,
    .intx_spec = firmware_intx_spec,
};

const char *pci_host_access_name(void)
{
    return ecam_enabled ? "ECAM" : "mechanism #1";
}

/* ECAM is trusted only when its view of 00:00.0 agrees with mechanism #1's. */
static bool ecam_works(void)
{
    uint32_t cam_id = cam_read(NULL, 0, 0, 0, 0, 0, 4);
    if (!ecam_find(0, 0))
        return true; /* nothing to compare with: other segments only */
    uint32_t ecam_id = host_read(NULL, 0, 0, 0, 0, 0, 4);
    if (cam_id == ecam_id)
        return true;
    pr_warn("ECAM reads %08x at 00:00.0 but mechanism #1 reads %08x: ECAM not used\n", ecam_id,
            cam_id);
    return false;
}

static void ecam_setup(void)
{
    char option[32];
    bool cam_only = false;
    if (cmdline_get("pci", option, sizeof(option))) { /* pci=cam,probe,assign-all */
        for (char *token = option, *next; token; token = next) {
            next = strchr(token, ',');
            if (next)
                *next++ = '\0';
            if (strcmp(token, "cam") == 0)
                cam_only = true;
            else if (strcmp(token, "probe") == 0)
                force_probe = true;
            else if (strcmp(token, "assign-all") == 0)
                assign_all = true;
            else
                pr_warn("pci=%s: unknown option ignored\n", token);
        }
    }
    if (cam_only) {
        pr_info("pci=cam: configuration mechanism #1 only\n");
        return;
    }
    const struct acpi_mcfg_window *windows;
    unsigned count;
    static struct acpi_mcfg_window tree_windows[8];
    if (boot_info.firmware_tables == FIRMWARE_DEVICE_TREE) {
        /* No mechanism #1 to fall back on or compare with: the tree's ECAM is the only way. */
        count = pci_fdt_ecam_windows(tree_windows, ARRAY_SIZE(tree_windows));
        windows = tree_windows;
        host_access.intx_spec = pci_fdt_intx_spec;
        host_access.msi_device_id = pci_fdt_msi_device_id;
    } else {
        count = acpi_mcfg_windows(&windows);
    }
    for (unsigned i = 0; i < count && ecam_window_count < ARRAY_SIZE(ecam_windows); i++) {
        char why[128];
        bool usable = pci_ecam_window_usable(&windows[i], boot_info.regions, boot_info.region_count,
                                             why, sizeof(why));
        for (unsigned j = 0; usable && j < ecam_window_count; j++)
            usable =
                pci_ecam_windows_disjoint(&windows[i], &ecam_windows[j].window, why, sizeof(why));
        if (!usable) {
            pr_warn("MCFG window segment %04x buses %02x-%02x at 0x%llx not used: %s\n",
                    windows[i].segment, windows[i].start_bus, windows[i].end_bus,
                    (unsigned long long)windows[i].base, why);
            continue;
        }
        ecam_windows[ecam_window_count].window = windows[i];
        ecam_window_count++;
        pr_info("ECAM window segment %04x buses %02x-%02x at 0x%llx\n", windows[i].segment,
                windows[i].start_bus, windows[i].end_bus, (unsigned long long)windows[i].base);
    }
    if (ecam_window_count == 0)
        return;
    ecam_enabled = true;
    if (boot_info.firmware_tables != FIRMWARE_DEVICE_TREE && !ecam_works()) {
        ecam_enabled = false;
        ecam_window_count = 0;
    }
}

/* ---- boot enumeration ---- */

static struct pci_scan_stats boot_stats;
static uint64_t boot_scan_ns;

void pci_host_boot_stats(struct pci_scan_stats *stats, uint64_t *nanoseconds)
{
    *stats = boot_stats;
    *nanoseconds = boot_scan_ns;
}

static struct device *make_root(uint16_t segment, uint8_t bus, void *context)
{
    char name[DEVICE_NAME_MAX];
    snprintf(name, sizeof(name), "pci%04x:%02x", segment, bus);
    struct device *root = root_device_create(name);
    if (!root)
        pr_err("cannot create %s\n", name);
    return root;
}

static void scan_root(uint16_t segment, uint8_t bus)
{
    if (pci_bus_scanned(segment, bus))
        return; /* described twice (an MCFG window and ACPI) or reached through a bridge */
    if (segment != 0 && !ecam_covers(segment, bus)) {
        pr_warn("root bus %04x:%02x: no ECAM window reaches it, not scanned\n", segment, bus);
        boot_stats.warnings++;
        return;
    }
    pci_scan_root_bus(&host_access, segment, bus, make_root(segment, bus, NULL), &boot_stats);
}

/* Peer-bus probing reads one vendor ID per slot.  In segment 0 mechanism #1 reaches every bus
 * without mapping anything, where ECAM would map a MiB per bus probed. */
static uint32_t probe_read(void *context, uint16_t segment, uint8_t bus, uint8_t slot,
                           uint8_t function, uint16_t offset, unsigned width)
{
    if (segment == 0) {
        config_reads++;
        return cam_read(context, segment, bus, slot, function, offset, width);
    }
    return host_read(context, segment, bus, slot, function, offset, width);
}

static struct pci_config_access probe_access = {
    .name = "probe",
    .read = probe_read,
    .write = host_write,
    .space_size = host_space_size,
    .intx_spec = firmware_intx_spec,
};

static uint64_t probe_ns;

/* The last bus of segment 0 worth probing: the end of its MCFG window, else all of them. */
static unsigned segment0_last_bus(void)
{
    for (unsigned i = 0; i < ecam_window_count; i++) {
        if (ecam_windows[i].window.segment == 0)
            return ecam_windows[i].window.end_bus;
    }
    return 255;
}

static int count_host_bridges(struct device *dev, void *context)
{
    if (dev_is_pci(dev) && to_pci_device(dev)->class_code == 0x06 &&
        to_pci_device(dev)->subclass == 0x00)
        (*(unsigned *)context)++;
    return 0;
}

static const char *probe_reason;
static uint64_t acpi_ns;

/* Root buses: every MCFG window's first bus and 0000:00, then the host bridges the ACPI
 * namespace declares with a readable _BBN.  Then, as Linux does on x86, every bus of segment 0
 * that nothing reached is probed for a peer root bus — but only when there is a reason to
 * think roots are missing, since probing costs 32 reads per empty bus (3-8 ms for 255 buses
 * under TCG): ACPI cannot say (no DSDT, no host bridge in it, or one whose _BBN or _SEG is a
 * method), pci=probe asks, or the scan found more host bridge functions (class 0600) than
 * root buses (each expander or extra host bridge shows one on its parent bus, e.g. QEMU's
 * pxb-pcie when firmware leaves it out of the DSDT). */
/* Nobody numbered the buses or placed the BARs of a device tree machine booted straight into
 * the kernel: the host bridges' own windows are the space to place them in. */
static void assign_tree_resources(void)
{
    pci_fdt_assign(&host_access);
}

static void scan_roots(void)
{
    bool scanned_segment0 = false;
    if (boot_info.firmware_tables == FIRMWARE_DEVICE_TREE)
        assign_tree_resources();
    for (unsigned i = 0; i < ecam_window_count; i++) {
        scan_root(ecam_windows[i].window.segment, ecam_windows[i].window.start_bus);
        scanned_segment0 |= ecam_windows[i].window.segment == 0;
    }
    if (boot_info.firmware_tables == FIRMWARE_DEVICE_TREE)
        return; /* the tree names every host bridge; there are no PC ports to probe with */
    if (!scanned_segment0)
        scan_root(0, 0);
    uint64_t start = time_ns();
    const struct acpi_pci_roots *acpi = acpi_pci_roots();
    acpi_ns = time_ns() - start;
    for (unsigned i = 0; acpi && i < acpi->known; i++)
        scan_root(acpi->roots[i].segment, acpi->roots[i].bus);
    unsigned host_bridges = 0;
    device_for_each(count_host_bridges, &host_bridges);
    if (force_probe)
        probe_reason = "pci=probe";
    else if (!acpi)
        probe_reason = "no DSDT";
    else if (acpi->bridges == 0)
        probe_reason = "no host bridge in the DSDT";
    else if (acpi->unknown)
        probe_reason = "a host bridge's root bus needs AML";
    else if (host_bridges > boot_stats.root_buses)
        probe_reason = "more host bridge functions than root buses";
    else
        return;
    start = time_ns();
    pci_scan_peer_root_buses(&host_access, &probe_access, 0, 0, segment0_last_bus(), make_root,
                             NULL, &boot_stats);
    probe_ns = time_ns() - start;
}

static void log_roots(void)
{
    const struct acpi_pci_roots *acpi = acpi_pci_roots();
    if (acpi && acpi->bridges)
        pr_info("ACPI: %u host bridges, %u with a root bus that needs AML to read (%llu us)\n",
                acpi->bridges, acpi->unknown, (unsigned long long)(acpi_ns / 1000));
    if (probe_reason)
        pr_info("%u root buses; probing for peer root buses (%s) took %llu us of the scan (%u "
                "reads)\n",
                boot_stats.root_buses, probe_reason, (unsigned long long)(probe_ns / 1000),
                boot_stats.peer_probe_reads);
    else
        pr_info("%u root buses\n", boot_stats.root_buses);
}

/* The end of the PC's 32-bit PCI hole: the I/O APIC, HPET, local APIC and firmware above. */
#define PC_HOLE_END 0xfec00000ull

/* pci=assign-all: segment 0 as a host bridge whose firmware assigned nothing.  Its windows are
 * the PC's usual ones: I/O above the legacy ports, and 32-bit memory from the end of whatever
 * the memory map or an ECAM window uses below the hole's end up to it.  No 64-bit window: the
 * PC's is not described without ACPI's _CRS, so 64-bit BARs get 32-bit addresses. */
static void assign_segment0(void)
{
    struct pci_host_bridge_desc host = {.name = "segment 0", .bus_last = 255};
    host.bus_last = (uint8_t)segment0_last_bus();
    uint64_t low_top = 0;
    for (unsigned i = 0; i < boot_info.region_count; i++) {
        const struct memory_region *r = &boot_info.regions[i];
        if (r->base < PC_HOLE_END)
            low_top = MAX(low_top, MIN(r->base + r->length, PC_HOLE_END));
    }
    for (unsigned i = 0; i < ecam_window_count; i++) {
        uint64_t start, end;
        pci_ecam_window_range(&ecam_windows[i].window, &start, &end);
        if (start < PC_HOLE_END)
            low_top = MAX(low_top, MIN(end, PC_HOLE_END));
    }
    low_top = ALIGN_UP(low_top, 1 * MiB);
    host.windows[host.window_count++] =
        (struct pci_host_window){PCI_WINDOW_IO, false, 0x1000, 0x1000, 0xf000};
    if (low_top < PC_HOLE_END)
        host.windows[host.window_count++] = (struct pci_host_window){
            PCI_WINDOW_MEM32, false, low_top, low_top, PC_HOLE_END - low_top};
    pr_info("pci=assign-all: I/O 0x1000-0xffff, memory 0x%llx-0x%llx, buses 0-%u\n",
            (unsigned long long)low_top, (unsigned long long)PC_HOLE_END - 1, host.bus_last);
    struct pci_assign_stats stats;
    uint64_t start = time_ns();
    if (pci_assign_all(&host_access, &host, &stats) != 0)
        pr_err("pci=assign-all: out of memory, firmware's assignment kept\n");
    else
        pr_info("pci=assign-all took %llu us\n", (unsigned long long)((time_ns() - start) / 1000));
}

static int log_pci_function(struct device *dev, void *context)
{
    if (dev_is_pci(dev))
        pci_log_function(to_pci_device(dev));
    return 0;
}

static int pci_init(void)
{
    int error = pci_core_init();
    if (error)
        return error;
    ecam_setup();
    config_reads = config_writes = 0;
    if (assign_all)
        assign_segment0();
    uint64_t start = time_ns();
    scan_roots();
    boot_scan_ns = time_ns() - start;
    device_for_each(log_pci_function, NULL);
    pr_info("%u functions on %u buses in %llu us (%s)\n", boot_stats.functions, boot_stats.buses,
            (unsigned long long)(boot_scan_ns / 1000), pci_host_access_name());
    /* Under emulation most of the scan is the emulator remapping on each decode toggle. */
    pr_info("BAR sizing took %llu us of that; %lu config reads, %lu writes\n",
            (unsigned long long)(boot_stats.bar_sizing_ns / 1000), config_reads, config_writes);
    log_roots();
    if (boot_stats.warnings)
        pr_warn("%u problems found in configuration space (see above)\n", boot_stats.warnings);
    return 0;
}
INITCALL(pci_init, INIT_BUS);
