/* Resource assignment without firmware (drivers/pci/assign_all.c) on the fake config space:
 * bus numbers through a switch, BARs and bridge windows from QEMU virt's host windows, 64-bit
 * prefetchable windows, a BAR larger than its window and a bus range that runs out. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <rayos/bytes.h>
#include <rayos/errno.h>
#include <rayos/pci.h>
#include <rayos/pci_host_bridge.h>
#include <rayos/string.h>

#include "pci_fake.h"

extern int host_log_level;
extern unsigned host_log_messages;

static struct pci_host_bridge_desc host;

static int unregister_all(struct device *dev, void *context)
{
    if (!dev->parent)
        device_unregister(dev);
    return 0;
}

/* QEMU virt's windows: I/O at PCI 0, 32-bit memory, 64-bit memory. */
static int setup(void **state)
{
    device_for_each(unregister_all, NULL);
    fake_reset();
    memset(&host, 0, sizeof(host));
    strcpy(host.name, "pcie@10000000");
    host.bus_last = 255;
    host.window_count = 3;
    host.windows[0] = (struct pci_host_window){PCI_WINDOW_IO, false, 0x3eff0000, 0, 0x10000};
    host.windows[1] =
        (struct pci_host_window){PCI_WINDOW_MEM32, false, 0x10000000, 0x10000000, 0x2eff0000};
    host.windows[2] =
        (struct pci_host_window){PCI_WINDOW_MEM64, false, 0x8000000000, 0x8000000000, 0x8000000000};
    return 0;
}

static struct fake_function *function(uint8_t bus, uint8_t slot, uint32_t class24)
{
    struct fake_function *f = fake_add(bus, slot, 0, 0x1b36, 0x0010, class24, 0);
    fake_put16(f, PCI_COMMAND, 0); /* nobody turned anything on */
    return f;
}

/* An unconfigured PCIe port (bridge) with a slot and a 64-bit capable prefetchable window. */
static struct fake_function *port(uint8_t bus, uint8_t slot, bool with_slot)
{
    struct fake_function *f = fake_add(bus, slot, 0, 0x1b36, 0x000c, 0x060400, 1);
    fake_put16(f, PCI_COMMAND, 0);
    fake_put16(f, PCI_PREF_MEMORY_BASE, 0x0001);
    fake_cap(f, 0x40, 0x10);
    fake_put16(f, 0x42, with_slot ? 0x0142 : 0x0042);
    return f;
}

static uint64_t bar64(struct fake_function *f, unsigned index)
{
    return (fake_get32(f, PCI_BAR0 + 4 * index) & ~0xfu) |
           (uint64_t)fake_get32(f, PCI_BAR0 + 4 * index + 4) << 32;
}

static uint32_t bar32(struct fake_function *f, unsigned index)
{
    uint32_t raw = fake_get32(f, PCI_BAR0 + 4 * index);
    return raw & (raw & 1 ? ~3u : ~0xfu);
}

struct window {
    uint64_t base, limit;
};

static struct window mem_window(struct fake_function *bridge)
{
    uint32_t raw = fake_get32(bridge, PCI_MEMORY_BASE);
    return (struct window){(uint64_t)(raw & 0xfff0) << 16,
                           (uint64_t)(raw >> 16 & 0xfff0) << 16 | 0xfffff};
}

static struct window pref_window(struct fake_function *bridge)
{
    uint32_t raw = fake_get32(bridge, PCI_PREF_MEMORY_BASE);
    return (struct window){(uint64_t)(raw & 0xfff0) << 16 |
                               (uint64_t)fake_get32(bridge, PCI_PREF_BASE_UPPER32) << 32,
                           ((uint64_t)(raw >> 16 & 0xfff0) << 16 | 0xfffff) |
                               (uint64_t)fake_get32(bridge, PCI_PREF_LIMIT_UPPER32) << 32};
}

static struct window io_window(struct fake_function *bridge)
{
    uint32_t raw = fake_get32(bridge, PCI_IO_BASE);
    return (struct window){(uint64_t)(raw & 0xf0) << 8, (uint64_t)(raw >> 8 & 0xf0) << 8 | 0xfff};
}

static void expect_inside(uint64_t base, uint64_t size, struct window w)
{
    if (base < w.base || base + size - 1 > w.limit)
        fail_msg("%#llx+%#llx outside window %#llx-%#llx", (unsigned long long)base,
                 (unsigned long long)size, (unsigned long long)w.base, (unsigned long long)w.limit);
}

static void expect_buses(struct fake_function *bridge, uint8_t primary, uint8_t secondary,
                         uint8_t subordinate)
{
    assert_int_equal(bridge->config[PCI_PRIMARY_BUS], primary);
    assert_int_equal(bridge->config[PCI_SECONDARY_BUS], secondary);
    assert_int_equal(bridge->config[PCI_SUBORDINATE_BUS], subordinate);
}

static void test_tree_with_switch_and_prefetchable(void **state)
{
    struct fake_function *hostbridge = fake_add(0, 0, 0, 0x1b36, 0x0008, 0x060000, 0);
    struct fake_function *nic = function(0, 1, 0x020000);
    fake_bar(nic, 0, FAKE_BAR_MEM32, 0, 16 * KiB);
    fake_bar(nic, 1, FAKE_BAR_IO, 0, 256);
    struct fake_function *rp1 = port(0, 2, true);
    struct fake_function *gpu = function(1, 0, 0x030000);
    fake_bar(gpu, 0, FAKE_BAR_MEM64_PREF, 0, 256 * MiB);
    fake_bar(gpu, 2, FAKE_BAR_MEM32, 0, 16 * KiB);
    struct fake_function *rp2 = port(0, 3, false);
    struct fake_function *up = port(2, 0, false);
    struct fake_function *down = port(3, 0, true);
    struct fake_function *disk = function(4, 0, 0x010802);
    fake_bar(disk, 0, FAKE_BAR_MEM64, 0, 16 * KiB);
    fake_bar(disk, 2, FAKE_BAR_IO, 0, 8);
    struct pci_assign_stats stats;
    assert_int_equal(pci_assign_all(&fake_access, &host, &stats), 0);
    assert_int_equal(stats.functions, 8);
    assert_int_equal(stats.bridges, 4);
    assert_int_equal(stats.buses, 5);
    assert_int_equal(stats.failed_bars + stats.failed_bridges, 0);
    /* Depth first: rp1 -> 1, rp2 -> 2 (up to 4), up -> 3 (up to 4), down -> 4. */
    expect_buses(rp1, 0, 1, 1);
    expect_buses(rp2, 0, 2, 4);
    expect_buses(up, 2, 3, 4);
    expect_buses(down, 3, 4, 4);
    /* The GPU's 64-bit prefetchable BAR: in the 64-bit host window, inside rp1's 64-bit
     * prefetchable window, naturally aligned. */
    uint64_t gpu_bar = bar64(gpu, 0);
    assert_true(gpu_bar >= 0x8000000000);
    assert_int_equal(gpu_bar % (256 * MiB), 0);
    expect_inside(gpu_bar, 256 * MiB, pref_window(rp1));
    assert_int_equal(fake_get32(rp1, PCI_PREF_MEMORY_BASE) & 0xf, 1);
    expect_inside(bar32(gpu, 2), 16 * KiB, mem_window(rp1));
    /* The disk's non-prefetchable 64-bit BAR goes below 4 GiB through every window. */
    uint64_t disk_bar = bar64(disk, 0);
    assert_true(disk_bar >= 0x10000000 && disk_bar < 0x3eff0000);
    expect_inside(disk_bar, 16 * KiB, mem_window(down));
    expect_inside(mem_window(down).base, 1 * MiB, mem_window(up));
    expect_inside(mem_window(up).base, 1 * MiB, mem_window(rp2));
    expect_inside(bar32(disk, 2), 8, io_window(down));
    expect_inside(io_window(down).base, 4 * KiB, io_window(up));
    /* The NIC on the root bus, never at address 0. */
    assert_true(bar32(nic, 0) >= 0x10000000);
    assert_true(bar32(nic, 1) != 0 && bar32(nic, 1) < 0x10000);
    /* Windows of sibling bridges do not overlap. */
    struct window a = mem_window(rp1), b = mem_window(rp2);
    assert_true(a.limit < b.base || b.limit < a.base);
    /* rp1 has a slot: an I/O window for hot-plug though nothing behind it uses I/O yet. */
    assert_true(io_window(rp1).limit - io_window(rp1).base + 1 >= 4 * KiB);
    /* Decoding is on where something was assigned; host bridge untouched. */
    assert_int_equal(fake_get32(nic, PCI_COMMAND) & 3, 3);
    assert_int_equal(fake_get32(gpu, PCI_COMMAND) & 3, 2);
    assert_int_equal(fake_get32(rp2, PCI_COMMAND) & 7, 7);
    assert_int_equal(fake_get32(hostbridge, PCI_COMMAND) & 0xffff, 7);
    /* The scanner then finds the hierarchy through the new bus numbers, BARs as assigned. */
    struct pci_scan_stats scan = {0};
    assert_int_equal(pci_scan_root_bus(&fake_access, 0, 0, NULL, &scan), 0);
    assert_int_equal(scan.warnings, 0);
    struct pci_device *pdev = pci_find_device(0, 1, 0, 0);
    assert_non_null(pdev);
    assert_int_equal(pdev->bars[0].base, gpu_bar);
    assert_true(pdev->bars[0].prefetchable);
    device_put(&pdev->dev);
}

static void test_bar_larger_than_window(void **state)
{
    host.window_count = 2; /* no 64-bit window: prefetchable BARs share the 32-bit one */
    host.windows[1].size = 256 * MiB;
    struct fake_function *rp = port(0, 1, false);
    struct fake_function *huge = function(1, 0, 0x030000);
    fake_bar(huge, 0, FAKE_BAR_MEM64_PREF, 0, 1 * GiB);
    fake_bar(huge, 2, FAKE_BAR_MEM32, 0, 4 * KiB);
    struct fake_function *ok = function(0, 2, 0x010000);
    fake_bar(ok, 0, FAKE_BAR_MEM64_PREF, 0, 1 * MiB);
    unsigned before = host_log_messages;
    host_log_level = -1;
    struct pci_assign_stats stats;
    assert_int_equal(pci_assign_all(&fake_access, &host, &stats), 0);
    host_log_level = 4;
    /* The bridge window holding the 1 GiB BAR cannot fit 256 MiB: the bridge's devices are
     * left unassigned (the 1 GiB BAR and its 4 KiB sibling). */
    assert_true(host_log_messages - before >= 2);
    assert_int_equal(stats.failed_bars, 2);
    assert_int_equal(bar64(huge, 0), 0);
    assert_int_equal(bar32(huge, 2), 0);
    assert_int_equal(fake_get32(huge, PCI_COMMAND) & 3, 0); /* decoding stays off */
    /* The device beside it got its BAR from the 32-bit window. */
    uint64_t ok_bar = bar64(ok, 0);
    assert_true(ok_bar >= 0x10000000 && ok_bar < 0x20000000);
    assert_int_equal(fake_get32(ok, PCI_COMMAND) & 2, 2);
    /* Once scanned, the unassigned device has no address a driver could map. */
    struct pci_scan_stats scan = {0};
    host_log_level = -1;
    pci_scan_root_bus(&fake_access, 0, 0, NULL, &scan);
    struct pci_device *pdev = pci_find_device(0, 1, 0, 0);
    assert_non_null(pdev);
    assert_null(pci_map_bar(pdev, 0));
    assert_null(pci_map_bar(pdev, 2));
    host_log_level = 4;
    device_put(&pdev->dev);
    (void)rp;
}

static void test_bus_range_exhausted(void **state)
{
    host.bus_last = 1; /* room for one bridge only */
    struct fake_function *rp1 = port(0, 1, false);
    struct fake_function *rp2 = port(0, 2, false);
    struct fake_function *behind1 = function(1, 0, 0x010000);
    fake_bar(behind1, 0, FAKE_BAR_MEM32, 0, 4 * KiB);
    struct fake_function *behind2 = function(2, 0, 0x010000); /* would be bus 2 */
    fake_bar(behind2, 0, FAKE_BAR_MEM32, 0, 4 * KiB);
    unsigned before = host_log_messages;
    host_log_level = -1;
    struct pci_assign_stats stats;
    assert_int_equal(pci_assign_all(&fake_access, &host, &stats), 0);
    host_log_level = 4;
    assert_int_equal(stats.failed_bridges, 1);
    assert_true(host_log_messages > before);
    expect_buses(rp1, 0, 1, 1);
    expect_buses(rp2, 0, 0, 0);
    assert_int_equal(fake_get32(rp2, PCI_COMMAND) & 7, 0);
    assert_true(bar32(behind1, 0) != 0);
    assert_int_equal(bar32(behind2, 0), 0); /* never reached */
    assert_int_equal(fake_get32(behind2, PCI_COMMAND) & 3, 0);
}

/* A chain of bridges deeper than the bus range (what a bridge that shows up again behind
 * itself looks like) ends where the bus numbers do. */
static void test_bridge_chain_ends(void **state)
{
    host.bus_first = 0;
    host.bus_last = 20;
    for (unsigned bus = 0; bus < 40; bus++)
        port((uint8_t)bus, 0, false);
    host_log_level = -1;
    struct pci_assign_stats stats;
    assert_int_equal(pci_assign_all(&fake_access, &host, &stats), 0);
    host_log_level = 4;
    assert_int_equal(stats.bridges, 20);
    assert_int_equal(stats.failed_bridges, 1);
    assert_int_equal(stats.functions, 21);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_tree_with_switch_and_prefetchable, setup),
        cmocka_unit_test_setup(test_bar_larger_than_window, setup),
        cmocka_unit_test_setup(test_bus_range_exhausted, setup),
        cmocka_unit_test_setup(test_bridge_chain_ends, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
