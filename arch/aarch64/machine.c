/* The machine as the device tree describes it: RAM, the command line, the boot module (initrd),
 * and what arch/aarch64 itself drives (GIC, timer, PSCI, the console UART, the PL031, the CPUs).
 * The blob is untrusted: lib/fdt.c validates it; anything missing or malformed here is warned
 * about by name and left out. */
#define pr_fmt(fmt) "boot: " fmt
#include <rayos/boot_info.h>
#include <rayos/cpio.h>
#include <rayos/fdt.h>
#include <rayos/printk.h>
#include <rayos/string.h>
#include "aarch64.h"
#include "machine.h"

struct machine machine;

static void read_memory(const struct fdt *fdt)
{
    struct fdt_region ram[BOOT_MEMORY_REGIONS_MAX];
    unsigned count = fdt_memory_regions(fdt, ram, BOOT_MEMORY_REGIONS_MAX);
    if (count > BOOT_MEMORY_REGIONS_MAX) {
        pr_warn("device tree lists %u memory ranges; using the first %u", count,
                BOOT_MEMORY_REGIONS_MAX);
        count = BOOT_MEMORY_REGIONS_MAX;
    }
    for (unsigned i = 0; i < count; i++)
        boot_info_add_region(ram[i].base, ram[i].size, MEMORY_USABLE);
}

/* /chosen linux,initrd-start/-end: one cell or two, as the loader wrote them. */
static bool read_chosen_address(const struct fdt *fdt, int chosen, const char *name,
                                uint64_t *value)
{
    uint32_t len;
    const void *p = fdt_property(fdt, chosen, name, &len);
    if (!p || (len != 4 && len != 8))
        return false;
    *value = fdt_cells(p, len / 4);
    return true;
}

/* The initrd: a newc cpio archive is split into one boot module per regular file, named by its
 * file name (so QEMU's single -initrd can carry every driver module); anything else is one
 * module.  The boot identity map covers the gigabytes of the image and the device tree, where
 * loaders put the initrd; elsewhere it is taken whole. */
static void add_initrd(uint64_t start, uint64_t end, phys_addr_t dtb)
{
    const uint8_t *data = (const uint8_t *)start;
    size_t size = end - start;
    bool visible = start >> 30 == kernel_phys_base >> 30 || start >> 30 == dtb >> 30;
    visible = visible && (end - 1) >> 30 == start >> 30;
    if (visible && cpio_is_archive(data, size)) {
        size_t position = 0;
        struct cpio_entry e;
        int status;
        while ((status = cpio_next(data, size, &position, &e)) > 0) {
            if ((e.mode & CPIO_MODE_TYPE) != CPIO_MODE_REGULAR || e.size == 0)
                continue;
            struct boot_module *m =
                boot_info_add_module(start + e.offset, start + e.offset + e.size);
            if (m)
                strlcpy(m->cmdline, e.name, sizeof(m->cmdline));
        }
        if (status < 0)
            pr_warn("initrd: cpio archive damaged at offset %zu; files after it ignored", position);
        return;
    }
    struct boot_module *initrd = boot_info_add_module(start, end);
    if (initrd)
        strlcpy(initrd->cmdline, "initrd", sizeof(initrd->cmdline));
}

static void read_chosen(const struct fdt *fdt, phys_addr_t dtb)
{
    const char *bootargs = fdt_bootargs(fdt);
    if (bootargs)
        strlcpy(boot_info.cmdline, bootargs, sizeof(boot_info.cmdline));
    int chosen = fdt_find_path(fdt, "/chosen");
    uint64_t start, end;
    if (chosen != FDT_NONE && read_chosen_address(fdt, chosen, "linux,initrd-start", &start) &&
        read_chosen_address(fdt, chosen, "linux,initrd-end", &end)) {
        if (end > start)
            add_initrd(start, end, dtb);
        else
            pr_warn("/chosen: initrd end 0x%llx is not above its start 0x%llx; ignored",
                    (unsigned long long)end, (unsigned long long)start);
    }
    const char *options;
    int uart = fdt_stdout_node(fdt, &options);
    uint64_t base, size;
    if (uart != FDT_NONE && fdt_is_compatible(fdt, uart, "arm,pl011") &&
        fdt_reg(fdt, uart, 0, &base, &size) == 0)
        machine.uart = base;
}

/* A GICv3 (distributor, redistributors, maybe an ITS) or a GICv2 (distributor, CPU interface,
 * maybe a GICv2m MSI frame), whichever the tree has. */
static void read_gic(const struct fdt *fdt)
{
    uint64_t size;
    int gic = fdt_find_compatible(fdt, FDT_NONE, "arm,gic-v3");
    if (gic != FDT_NONE && fdt_reg(fdt, gic, 0, &machine.gicd, &size) == 0 &&
        fdt_reg(fdt, gic, 1, &machine.gicr, &machine.gicr_size) == 0) {
        machine.gic_version = 3;
        for (int its = fdt_first_child(fdt, gic); its != FDT_NONE; its = fdt_next_sibling(fdt, its))
            if (fdt_is_compatible(fdt, its, "arm,gic-v3-its") && fdt_node_enabled(fdt, its) &&
                fdt_reg(fdt, its, 0, &machine.gic_its, &size) != 0)
                machine.gic_its = 0;
        return;
    }
    static const char *const v2[] = {"arm,cortex-a15-gic", "arm,gic-400", "arm,cortex-a9-gic"};
    gic = FDT_NONE;
    for (unsigned i = 0; i < ARRAY_SIZE(v2) && gic == FDT_NONE; i++)
        gic = fdt_find_compatible(fdt, FDT_NONE, v2[i]);
    if (gic == FDT_NONE || fdt_reg(fdt, gic, 0, &machine.gicd, &size) != 0 ||
        fdt_reg(fdt, gic, 1, &machine.gicc, &size) != 0 || size < 0x2000)
        panic("the device tree has no usable interrupt controller (arm,gic-v3 with distributor "
              "and redistributors, or a GICv2 such as arm,cortex-a15-gic with distributor and "
              "an 8 KiB CPU interface)");
    machine.gic_version = 2;
    for (int frame = fdt_first_child(fdt, gic); frame != FDT_NONE;
         frame = fdt_next_sibling(fdt, frame))
        if (fdt_is_compatible(fdt, frame, "arm,gic-v2m-frame") && fdt_node_enabled(fdt, frame) &&
            !machine.gic_v2m && fdt_reg(fdt, frame, 0, &machine.gic_v2m, &size) != 0)
            machine.gic_v2m = 0;
}

/* The timer's interrupts are, in order, secure physical, non-secure physical, virtual and
 * hypervisor PPIs; the kernel uses the virtual timer (index 2). */
static void read_timer(const struct fdt *fdt)
{
    machine.timer_intid = 27; /* the architecture's recommended virtual timer PPI */
    int timer = fdt_find_compatible(fdt, FDT_NONE, "arm,armv8-timer");
    uint32_t len;
    const uint8_t *irqs = timer != FDT_NONE ? fdt_property(fdt, timer, "interrupts", &len) : NULL;
    if (irqs && len >= 36 && fdt_cells(irqs + 24, 1) == 1 /* PPI */ && fdt_cells(irqs + 28, 1) < 16)
        machine.timer_intid = 16 + (unsigned)fdt_cells(irqs + 28, 1);
    else
        pr_warn("no usable arm,armv8-timer node: assuming the virtual timer on INTID 27");
}

static void read_psci(const struct fdt *fdt)
{
    int psci = fdt_find_compatible(fdt, FDT_NONE, "arm,psci-0.2");
    if (psci == FDT_NONE)
        psci = fdt_find_compatible(fdt, FDT_NONE, "arm,psci-1.0");
    const char *method = psci != FDT_NONE ? fdt_read_string(fdt, psci, "method") : NULL;
    if (method && strcmp(method, "hvc") == 0)
        machine.psci = PSCI_HVC;
    else if (method && strcmp(method, "smc") == 0)
        machine.psci = PSCI_SMC;
}

static void read_cpus(const struct fdt *fdt)
{
    int cpus_node = fdt_find_path(fdt, "/cpus");
    if (cpus_node == FDT_NONE)
        return;
    unsigned cells = fdt_address_cells(fdt, cpus_node);
    for (int n = fdt_first_child(fdt, cpus_node); n != FDT_NONE; n = fdt_next_sibling(fdt, n)) {
        const char *type = fdt_read_string(fdt, n, "device_type");
        uint32_t len;
        const void *reg = fdt_property(fdt, n, "reg", &len);
        if (!type || strcmp(type, "cpu") != 0 || !fdt_node_enabled(fdt, n))
            continue;
        if (!reg || (cells != 1 && cells != 2) || len < cells * 4) {
            pr_warn("device tree: %s has no usable reg; CPU ignored", fdt_node_name(fdt, n));
            continue;
        }
        if (machine.cpu_count == MACHINE_CPUS_MAX) {
            machine.cpus_dropped = true;
            break;
        }
        machine.cpu_mpidr[machine.cpu_count++] = fdt_cells(reg, cells) & 0xff00ffffffULL;
    }
}

void machine_from_device_tree(phys_addr_t dtb)
{
    /* Runs on the boot identity map, which covers the blob's gigabyte. */
    const uint8_t *blob = (const uint8_t *)dtb;
    struct fdt fdt;
    uint32_t size = dtb && (dtb & 7) == 0 ? __builtin_bswap32(*(const uint32_t *)(blob + 4)) : 0;
    if (!size || fdt_open(&fdt, blob, MIN(size, 2u * (uint32_t)MiB)) != 0)
        panic("no valid device tree at 0x%llx (%s); boot with QEMU -M virt -kernel or a loader "
              "that passes one in x0",
              (unsigned long long)dtb, size ? fdt.why : "no header");
    boot_info.protocol = "arm64 Image";
    strlcpy(boot_info.loader_name, "device tree", sizeof(boot_info.loader_name));
    boot_info.firmware_tables = FIRMWARE_DEVICE_TREE;
    boot_info.dtb = dtb;
    boot_info.dtb_size = fdt.total_size;
    read_memory(&fdt);
    read_chosen(&fdt, dtb);
    read_gic(&fdt);
    read_timer(&fdt);
    read_psci(&fdt);
    read_cpus(&fdt);
    int rtc = fdt_find_compatible(&fdt, FDT_NONE, "arm,pl031");
    uint64_t rtc_size;
    if (rtc != FDT_NONE && fdt_reg(&fdt, rtc, 0, &machine.rtc, &rtc_size) != 0)
        machine.rtc = 0;
}
