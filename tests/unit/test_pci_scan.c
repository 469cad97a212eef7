/* PCI enumeration against synthetic config spaces: normal functions, BAR sizing, bridges,
 * multi-function rules, PCIe ports, capabilities, MSI/MSI-X programming, driver matching and
 * every malformed case (loops, impossible sizes, bus cycles) ending in a warning, not a hang. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <rayos/bytes.h>
#include <rayos/errno.h>
#include <rayos/pci.h>
#include <rayos/string.h>

#include "pci_fake.h"

static struct pci_scan_stats stats;

static int unregister_all(struct device *dev, void *context)
{
    if (!dev->parent)
        device_unregister(dev);
    return 0;
}

static int setup(void **state)
{
    device_for_each(unregister_all, NULL);
    fake_reset();
    memset(&stats, 0, sizeof(stats));
    return 0;
}

static struct pci_device *find(uint8_t bus, uint8_t slot, uint8_t function)
{
    struct pci_device *pdev = pci_find_device(0, bus, slot, function);
    if (pdev)
        device_put(&pdev->dev); /* the registry keeps it alive during the test */
    return pdev;
}

static void scan(void)
{
    assert_int_equal(pci_scan_root_bus(&fake_access, 0, 0, NULL, &stats), 0);
}

static void test_normal_function_fields(void **state)
{
    fake_add(0, 0x1f, 0, 0x8086, 0x2918, 0x060100, PCI_HEADER_MULTIFUNCTION);
    struct fake_function *f = fake_add(0, 0x1f, 2, 0x8086, 0x2922, 0x010601, 0);
    fake_put8(f, PCI_REVISION_ID, 0x02);
    fake_put16(f, PCI_SUBSYSTEM_VENDOR_ID, 0x1af4);
    fake_put16(f, PCI_SUBSYSTEM_ID, 0x1100);
    fake_put8(f, PCI_INTERRUPT_PIN, 1);
    fake_put8(f, PCI_INTERRUPT_LINE, 10);
    scan();
    struct pci_device *pdev = find(0, 0x1f, 2);
    assert_non_null(pdev);
    assert_string_equal(pci_name(pdev), "0000:00:1f.2");
    assert_int_equal(pdev->vendor_id, 0x8086);
    assert_int_equal(pdev->device_id, 0x2922);
    assert_int_equal(pdev->class_code, 0x01);
    assert_int_equal(pdev->subclass, 0x06);
    assert_int_equal(pdev->prog_if, 0x01);
    assert_int_equal(pdev->revision, 0x02);
    assert_int_equal(pdev->subsystem_vendor_id, 0x1af4);
    assert_int_equal(pdev->subsystem_id, 0x1100);
    assert_int_equal(pdev->interrupt_pin, 1);
    assert_int_equal(pdev->interrupt_line, 10);
    assert_int_equal(pdev->header_type, 0);
    assert_false(pdev->multifunction);
    assert_int_equal(stats.functions, 2);
    assert_int_equal(stats.buses, 1);
    assert_int_equal(stats.warnings, 0);
}

static void test_bars_sized_and_restored(void **state)
{
    struct fake_function *f = fake_add(0, 3, 0, 0x1af4, 0x1042, 0x010000, 0);
    fake_bar(f, 0, FAKE_BAR_IO, 0xc040, 0x40);
    fake_bar(f, 1, FAKE_BAR_MEM32, 0xfebd1000, 0x1000);
    fake_bar(f, 4, FAKE_BAR_MEM64_PREF, 0x380000000000ull, 0x4000);
    fake_rom(f, 0xfeb80000, 0x40000);
    uint32_t before[7];
    for (unsigned i = 0; i < 6; i++)
        before[i] = fake_get32(f, 0x10 + 4 * i);
    before[6] = fake_get32(f, 0x30);
    scan();
    struct pci_device *pdev = find(0, 3, 0);
    assert_non_null(pdev);
    assert_int_equal(pdev->bars[0].type, PCI_BAR_IO);
    assert_int_equal(pdev->bars[0].base, 0xc040);
    assert_int_equal(pdev->bars[0].size, 0x40);
    assert_int_equal(pdev->bars[1].type, PCI_BAR_MEM32);
    assert_int_equal(pdev->bars[1].base, 0xfebd1000);
    assert_int_equal(pdev->bars[1].size, 0x1000);
    assert_false(pdev->bars[1].prefetchable);
    assert_int_equal(pdev->bars[2].type, PCI_BAR_NONE);
    assert_int_equal(pdev->bars[4].type, PCI_BAR_MEM64);
    assert_true(pdev->bars[4].prefetchable);
    assert_int_equal(pdev->bars[4].base, 0x380000000000ull);
    assert_int_equal(pdev->bars[4].size, 0x4000);
    assert_int_equal(pdev->bars[5].type, PCI_BAR_NONE); /* upper half of BAR 4 */
    assert_int_equal(pdev->rom.base, 0xfeb80000);
    assert_int_equal(pdev->rom.size, 0x40000);
    /* Originals restored, decoding off while sizing, command register restored. */
    for (unsigned i = 0; i < 6; i++)
        assert_int_equal(fake_get32(f, 0x10 + 4 * i), before[i]);
    assert_int_equal(fake_get32(f, 0x30), before[6]);
    assert_false(f->sized_with_decode_on);
    assert_true(f->bar_writes > 0);
    assert_int_equal(fake_get32(f, PCI_COMMAND) & 0xffff, 0x0007);
    assert_int_equal(stats.warnings, 0);
}

static void test_large_64bit_bar_above_4g(void **state)
{
    struct fake_function *f = fake_add(0, 4, 0, 0x1b36, 0x0010, 0x010802, 0);
    fake_bar(f, 0, FAKE_BAR_MEM64, 0x800000000ull, 0x200000000ull); /* 8 GiB */
    scan();
    struct pci_device *pdev = find(0, 4, 0);
    assert_int_equal(pdev->bars[0].type, PCI_BAR_MEM64);
    assert_int_equal(pdev->bars[0].base, 0x800000000ull);
    assert_int_equal(pdev->bars[0].size, 0x200000000ull);
    assert_int_equal(pdev->bars[1].type, PCI_BAR_NONE);
}

static void test_impossible_bars_rejected(void **state)
{
    struct fake_function *f = fake_add(0, 5, 0, 0x1234, 0x5678, 0xff0000, 0);
    fake_bar_raw(f, 0, 0xfe000000, 0xff0ff000);       /* holes in the mask */
    fake_bar_raw(f, 1, 0x00000006, 0xfffff000);       /* reserved memory type 3 */
    fake_bar_raw(f, 2, 0x0000c001, 0x0000f001 & ~3u); /* I/O of 4 KiB: beyond 256 */
    fake_bar_raw(f, 3, 0xfe001000, 0xffffe000);       /* base not aligned to size */
    fake_bar_raw(f, 5, 0xfe000004, 0xfffff000);       /* 64-bit in the last slot */
    scan();
    struct pci_device *pdev = find(0, 5, 0);
    assert_non_null(pdev);
    for (unsigned i = 0; i < 6; i++) {
        assert_int_equal(pdev->bars[i].type, PCI_BAR_NONE);
        assert_int_equal(pdev->bars[i].size, 0);
    }
    assert_int_equal(fake_get32(f, 0x10), 0xfe000000);
}

static void test_multifunction_rules(void **state)
{
    struct fake_function *single = fake_add(0, 1, 0, 0x8086, 0x7000, 0x060100, 0x00);
    fake_add(0, 1, 3, 0x8086, 0x7010, 0x010180, 0); /* must be ignored: fn 0 not multi */
    fake_add(0, 2, 0, 0x8086, 0x2918, 0x060100, PCI_HEADER_MULTIFUNCTION);
    fake_add(0, 2, 2, 0x8086, 0x2922, 0x010601, 0);
    fake_add(0, 2, 7, 0x8086, 0x2930, 0x0c0500, 0);
    (void)single;
    scan();
    assert_non_null(find(0, 1, 0));
    assert_null(find(0, 1, 3));
    assert_non_null(find(0, 2, 0));
    assert_true(find(0, 2, 0)->multifunction);
    assert_non_null(find(0, 2, 2));
    assert_non_null(find(0, 2, 7));
    assert_null(find(0, 2, 1));
    assert_int_equal(stats.functions, 4);
}

static void test_absent_vendor_values(void **state)
{
    fake_add(0, 6, 0, 0xffff, 0xffff, 0xffffff, 0);
    fake_add(0, 7, 0, 0x0000, 0x0000, 0, 0);
    scan();
    assert_null(find(0, 6, 0));
    assert_null(find(0, 7, 0));
    assert_int_equal(stats.functions, 0);
}

static void test_bridge_hierarchy(void **state)
{
    struct fake_function *bridge = fake_add(0, 0x1e, 0, 0x8086, 0x244e, 0x060401, 1);
    fake_bridge(bridge, 0, 1, 2);
    fake_put8(bridge, PCI_IO_BASE, 0xc0);
    fake_put8(bridge, PCI_IO_LIMIT, 0xc0);
    fake_put16(bridge, PCI_MEMORY_BASE, 0xfe80);
    fake_put16(bridge, PCI_MEMORY_LIMIT, 0xfe90);
    fake_put16(bridge, PCI_PREF_MEMORY_BASE, 0x0001);
    fake_put16(bridge, PCI_PREF_MEMORY_LIMIT, 0x0011);
    fake_put32(bridge, PCI_PREF_BASE_UPPER32, 0x380);
    fake_put32(bridge, PCI_PREF_LIMIT_UPPER32, 0x380);
    struct fake_function *nested = fake_add(1, 3, 0, 0x1b36, 0x0001, 0x060400, 1);
    fake_bridge(nested, 1, 2, 2);
    fake_add(1, 5, 0, 0x1af4, 0x1000, 0x020000, 0);
    fake_add(2, 0, 0, 0x1af4, 0x1001, 0x010000, 0);
    fake_add(3, 0, 0, 0x1af4, 0x1001, 0x010000, 0); /* bus 3: no bridge leads there */
    scan();
    struct pci_device *b = find(0, 0x1e, 0);
    assert_non_null(b);
    assert_int_equal(b->header_type, PCI_HEADER_BRIDGE);
    assert_int_equal(b->bridge.secondary_bus, 1);
    assert_int_equal(b->bridge.subordinate_bus, 2);
    assert_int_equal(b->bridge.io_base, 0xc000);
    assert_int_equal(b->bridge.io_limit, 0xcfff);
    assert_int_equal(b->bridge.mem_base, 0xfe800000);
    assert_int_equal(b->bridge.mem_limit, 0xfe9fffff);
    assert_true(b->bridge.pref_64bit);
    assert_int_equal(b->bridge.pref_base, 0x38000000000ull);
    assert_int_equal(b->bridge.pref_limit, 0x380001fffffull);
    struct pci_device *n = find(1, 3, 0);
    assert_ptr_equal(n->dev.parent, &b->dev);
    assert_ptr_equal(find(1, 5, 0)->dev.parent, &b->dev);
    assert_ptr_equal(find(2, 0, 0)->dev.parent, &n->dev);
    assert_null(find(3, 0, 0));
    assert_int_equal(stats.buses, 3);
    assert_int_equal(stats.functions, 4);
    assert_int_equal(stats.warnings, 0);
}

static void test_pcie_root_port_only_device_zero(void **state)
{
    struct fake_function *port = fake_add(0, 0x1c, 0, 0x1b36, 0x000c, 0x060400, 1);
    fake_bridge(port, 0, 4, 4);
    fake_cap(port, 0x40, PCI_CAP_ID_EXP);
    fake_put16(port, 0x42, (uint16_t)(PCI_EXP_TYPE_ROOT_PORT << 4 | 2 | PCI_EXP_FLAGS_SLOT));
    fake_add(4, 0, 0, 0x1af4, 0x1042, 0x010000, 0);
    fake_add(4, 1, 0, 0x1af4, 0x1042, 0x010000, 0); /* a phantom: must not be scanned */
    scan();
    struct pci_device *p = find(0, 0x1c, 0);
    assert_int_equal(p->cap_pcie, 0x40);
    assert_int_equal(p->pcie_type, PCI_EXP_TYPE_ROOT_PORT);
    assert_non_null(find(4, 0, 0));
    assert_null(find(4, 1, 0));
}

static void test_bridge_bus_number_attacks(void **state)
{
    /* Secondary bus equal to its own bus: a cycle. */
    struct fake_function *loop = fake_add(0, 1, 0, 0x1234, 0x0001, 0x060400, 1);
    fake_bridge(loop, 0, 0, 0);
    fake_put8(loop, PCI_SUBORDINATE_BUS, 5); /* secondary 0, subordinate 5 */
    /* Two bridges naming the same secondary bus. */
    struct fake_function *a = fake_add(0, 2, 0, 0x1234, 0x0002, 0x060400, 1);
    fake_bridge(a, 0, 1, 1);
    struct fake_function *b = fake_add(0, 3, 0, 0x1234, 0x0003, 0x060400, 1);
    fake_bridge(b, 0, 1, 1);
    /* Subordinate below secondary. */
    struct fake_function *c = fake_add(0, 4, 0, 0x1234, 0x0004, 0x060400, 1);
    fake_bridge(c, 0, 9, 8);
    /* Behind bridge a: a bridge pointing back to bus 0 and one outside a's range. */
    struct fake_function *back = fake_add(1, 0, 0, 0x1234, 0x0005, 0x060400, 1);
    fake_bridge(back, 1, 0, 0);
    fake_put8(back, PCI_SECONDARY_BUS, 0);
    fake_put8(back, PCI_SUBORDINATE_BUS, 0x10);
    struct fake_function *outside = fake_add(1, 1, 0, 0x1234, 0x0006, 0x060400, 1);
    fake_bridge(outside, 1, 7, 7);
    /* An unconfigured bridge. */
    fake_add(0, 5, 0, 0x1234, 0x0007, 0x060400, 1);
    scan();
    assert_int_equal(stats.buses, 2); /* bus 0 and bus 1 (once) */
    assert_int_equal(stats.functions, 7);
    assert_int_equal(stats.warnings, 6);
    /* Scanning the root bus again is refused. */
    assert_int_equal(pci_scan_root_bus(&fake_access, 0, 0, NULL, &stats), -EEXIST);
}

static void test_deep_chain_terminates(void **state)
{
    /* 200 bridges each pointing one bus further: depth is bounded by bus numbers. */
    for (unsigned bus = 0; bus < 60; bus++) {
        struct fake_function *f = fake_add((uint8_t)bus, 0, 0, 0x1234, 0x1111, 0x060400, 1);
        if (!f)
            break;
        fake_bridge(f, (uint8_t)bus, (uint8_t)(bus + 1), 0xff);
    }
    scan();
    assert_int_equal(stats.buses, 61);
    assert_int_equal(stats.functions, 60);
}

static void test_scan_touches_only_what_exists(void **state)
{
    fake_add(0, 0, 0, 0x8086, 0x29c0, 0x060000, 0);
    fake_add(0, 1, 0, 0x1234, 0x1111, 0x030000, 0);
    scan();
    /* 32 slot probes plus a bounded amount of work per function, nothing per empty bus. */
    assert_true(fake_reads < 32 + 2 * 120);
}

static void test_cardbus_card_enumerated(void **state)
{
    struct fake_function *cb = fake_add(0, 9, 0, 0x104c, 0xac50, 0x060700, 2);
    fake_bridge(cb, 0, 3, 4);
    fake_bar(cb, 0, FAKE_BAR_MEM32, 0xfc402000, 0x1000);
    fake_put16(cb, PCI_CB_SUBSYSTEM_VENDOR_ID, 0x10cf);
    fake_put16(cb, PCI_CB_SUBSYSTEM_ID, 0x143d);
    fake_put32(cb, PCI_CB_IO_LIMIT_0, 0x000030fc); /* where a type 0 header has its ROM */
    fake_put16(cb, PCI_STATUS, PCI_STATUS_CAP_LIST);
    fake_put8(cb, PCI_CB_CAPABILITY_LIST, 0xa0);
    fake_put8(cb, 0xa0, PCI_CAP_ID_PM);
    fake_put8(cb, PCI_CAPABILITY_LIST, 0x44); /* 0x34 is an I/O window here, not a pointer */
    fake_add(3, 0, 0, 0x10b7, 0x6001, 0x028000, 0);
    fake_add(3, 1, 0, 0x10b7, 0x6002, 0x028000, 0); /* a socket has one card: device 0 only */
    scan();
    struct pci_device *pdev = find(0, 9, 0);
    assert_non_null(pdev);
    assert_int_equal(pdev->header_type, PCI_HEADER_CARDBUS);
    assert_int_equal(pdev->bridge.primary_bus, 0);
    assert_int_equal(pdev->bridge.secondary_bus, 3);
    assert_int_equal(pdev->bridge.subordinate_bus, 4);
    assert_int_equal(pdev->subsystem_vendor_id, 0x10cf);
    assert_int_equal(pdev->subsystem_id, 0x143d);
    assert_int_equal(pdev->cap_pm, 0xa0);
    assert_int_equal(pdev->bars[0].type, PCI_BAR_MEM32);
    assert_int_equal(pdev->bars[0].base, 0xfc402000);
    assert_int_equal(pdev->bars[0].size, 0x1000);
    assert_int_equal(pdev->rom.size, 0);
    assert_int_equal(fake_get32(cb, PCI_CB_IO_LIMIT_0), 0x000030fc);
    struct pci_device *card = find(3, 0, 0);
    assert_non_null(card);
    assert_ptr_equal(card->dev.parent, &pdev->dev);
    assert_null(find(3, 1, 0));
    assert_int_equal(stats.buses, 2);
    assert_int_equal(stats.functions, 2);
    assert_int_equal(stats.warnings, 0);
}

static void test_cardbus_bad_bus_numbers_not_scanned(void **state)
{
    struct fake_function *cb = fake_add(0, 9, 0, 0x104c, 0xac50, 0x060700, 2);
    fake_bridge(cb, 0, 0, 0);
    fake_add(3, 0, 0, 0x10b7, 0x6001, 0x028000, 0);
    scan();
    assert_non_null(find(0, 9, 0));
    assert_null(find(3, 0, 0));
    assert_int_equal(stats.buses, 1);
    assert_int_equal(stats.warnings, 1);
}

static void test_bridge_subsystem_from_its_capability(void **state)
{
    struct fake_function *br = fake_add(0, 0x1e, 0, 0x8086, 0x2448, 0x060401, 1);
    fake_bridge(br, 0, 1, 1);
    fake_put32(br, PCI_PREF_LIMIT_UPPER32, 0x12345678); /* where a type 0 header has them */
    fake_cap(br, 0x50, PCI_CAP_ID_SSVID);
    fake_put16(br, 0x50 + PCI_SSVID_VENDOR_ID, 0x10cf);
    fake_put16(br, 0x50 + PCI_SSVID_DEVICE_ID, 0x140c);
    fake_cap(br, 0x60, PCI_CAP_ID_SSVID); /* a second one: the first counts */
    fake_put16(br, 0x60 + PCI_SSVID_VENDOR_ID, 0x1af4);
    fake_put16(br, 0x60 + PCI_SSVID_DEVICE_ID, 0x1100);
    struct fake_function *plain = fake_add(0, 0x1c, 0, 0x8086, 0x283f, 0x060400, 1);
    fake_bridge(plain, 0, 2, 2);
    fake_put32(plain, PCI_PREF_LIMIT_UPPER32, 0x12345678);
    scan();
    struct pci_device *pdev = find(0, 0x1e, 0);
    assert_non_null(pdev);
    assert_int_equal(pdev->subsystem_vendor_id, 0x10cf);
    assert_int_equal(pdev->subsystem_id, 0x140c);
    pdev = find(0, 0x1c, 0);
    assert_non_null(pdev);
    assert_int_equal(pdev->subsystem_vendor_id, 0);
    assert_int_equal(pdev->subsystem_id, 0);
}

static unsigned roots_made;
static uint8_t root_buses_made[4];

static struct device *make_root(uint16_t segment, uint8_t bus, void *context)
{
    assert_int_equal(segment, 0);
    assert_ptr_equal(context, &roots_made);
    if (roots_made < ARRAY_SIZE(root_buses_made))
        root_buses_made[roots_made] = bus;
    roots_made++;
    return NULL;
}

static void test_peer_root_buses_probed_like_linux(void **state)
{
    roots_made = 0;
    struct fake_function *port = fake_add(0, 0x1c, 0, 0x8086, 0x3a40, 0x060400, 1);
    fake_bridge(port, 0, 1, 2);
    fake_add(1, 0, 0, 0x8086, 0x10d3, 0x020000, 0);
    /* An expander's root bus with a bridge of its own, and uncore devices on bus ff that no
     * bridge leads to (the X58 case): neither starts at slot 0 of a scanned bus. */
    struct fake_function *pxb = fake_add(0x40, 0, 0, 0x1b36, 0x000c, 0x060400, 1);
    fake_bridge(pxb, 0x40, 0x41, 0x41);
    fake_add(0x41, 0, 0, 0x1af4, 0x1042, 0x010000, 0);
    fake_add(0xff, 2, 0, 0x8086, 0x2c10, 0x060000, PCI_HEADER_MULTIFUNCTION);
    fake_add(0xff, 2, 1, 0x8086, 0x2c11, 0x060000, 0);
    fake_add(0xff, 3, 0, 0x8086, 0x2c18, 0x060000, 0);
    fake_add(0x80, 1, 3, 0x8086, 0x1234, 0x088000, 0); /* no function 0: nothing answers */
    scan();
    assert_int_equal(stats.functions, 2);
    assert_int_equal(pci_scan_peer_root_buses(&fake_access, &fake_access, 0, 0, 255, make_root,
                                              &roots_made, &stats),
                     2);
    assert_int_equal(roots_made, 2);
    assert_int_equal(root_buses_made[0], 0x40);
    assert_int_equal(root_buses_made[1], 0xff);
    assert_non_null(find(0x41, 0, 0));
    assert_non_null(find(0xff, 2, 1));
    assert_non_null(find(0xff, 3, 0));
    assert_null(find(0x80, 1, 3));
    assert_int_equal(stats.functions, 7);
    assert_int_equal(stats.root_buses, 3);
    assert_int_equal(stats.buses, 5);
    /* Buses 00-01 were scanned, 41 was reached through 40 before its turn: 251 empty buses
     * probed in full, 1 read to find 40, 3 to find ff. */
    assert_int_equal(stats.peer_probe_reads, 251 * 32 + 1 + 3);
    assert_int_equal(stats.warnings, 0);
    /* A second pass finds nothing new and probes only what is still unscanned. */
    stats.peer_probe_reads = 0;
    assert_int_equal(
        pci_scan_peer_root_buses(&fake_access, &fake_access, 0, 0, 255, NULL, NULL, &stats), 0);
    assert_int_equal(stats.peer_probe_reads, 251 * 32);
}

static void test_unknown_header_type(void **state)
{
    struct fake_function *f = fake_add(0, 9, 0, 0x1234, 0x9999, 0x000000, 0x05);
    fake_bar(f, 0, FAKE_BAR_MEM32, 0xfe000000, 0x1000);
    scan();
    struct pci_device *pdev = find(0, 9, 0);
    assert_non_null(pdev);
    assert_int_equal(pdev->bars[0].type, PCI_BAR_NONE);
    assert_false(f->bar_writes);
    assert_int_equal(stats.warnings, 1);
}

static void test_capabilities_found(void **state)
{
    struct fake_function *f = fake_add(0, 4, 0, 0x1af4, 0x1042, 0x010000, 0);
    fake_cap(f, 0x98, PCI_CAP_ID_MSIX);
    fake_cap(f, 0x84, PCI_CAP_ID_VNDR);
    fake_cap(f, 0x70, PCI_CAP_ID_VNDR);
    fake_cap(f, 0x60, PCI_CAP_ID_VNDR);
    fake_cap(f, 0x50, PCI_CAP_ID_EXP);
    fake_cap(f, 0x40, PCI_CAP_ID_PM);
    fake_ext_cap(f, 0x100, PCI_EXT_CAP_ID_ERR, 0x148);
    fake_ext_cap(f, 0x148, PCI_EXT_CAP_ID_DSN, 0);
    scan();
    struct pci_device *pdev = find(0, 4, 0);
    assert_int_equal(pdev->cap_msix, 0x98);
    assert_int_equal(pdev->cap_pcie, 0x50);
    assert_int_equal(pdev->cap_pm, 0x40);
    assert_int_equal(pdev->cap_msi, 0);
    assert_int_equal(pdev->config_size, 4096);
    assert_int_equal(pci_find_capability(pdev, PCI_CAP_ID_VNDR), 0x84);
    assert_int_equal(pci_find_next_capability(pdev, 0x84, PCI_CAP_ID_VNDR), 0x70);
    assert_int_equal(pci_find_next_capability(pdev, 0x70, PCI_CAP_ID_VNDR), 0x60);
    assert_int_equal(pci_find_next_capability(pdev, 0x60, PCI_CAP_ID_VNDR), 0);
    assert_int_equal(pci_find_capability(pdev, PCI_CAP_ID_MSI), 0);
    assert_int_equal(pci_find_ext_capability(pdev, PCI_EXT_CAP_ID_DSN), 0x148);
    assert_int_equal(pci_find_ext_capability(pdev, PCI_EXT_CAP_ID_ERR), 0x100);
    assert_int_equal(pci_find_ext_capability(pdev, PCI_EXT_CAP_ID_SRIOV), 0);
    assert_int_equal(stats.warnings, 0);
}

static void test_no_extended_space_with_mechanism_one(void **state)
{
    fake_space_size = 256;
    struct fake_function *f = fake_add(0, 4, 0, 0x1af4, 0x1042, 0x010000, 0);
    fake_cap(f, 0x50, PCI_CAP_ID_EXP);
    fake_ext_cap(f, 0x100, PCI_EXT_CAP_ID_ERR, 0);
    scan();
    struct pci_device *pdev = find(0, 4, 0);
    assert_int_equal(pdev->config_size, 256);
    assert_int_equal(pci_find_ext_capability(pdev, PCI_EXT_CAP_ID_ERR), 0);
    /* Out-of-range config reads are all ones, writes dropped. */
    assert_int_equal(pci_read_config32(pdev, 0x100), 0xffffffffu);
    assert_int_equal(pci_read_config16(pdev, 0x3), 0xffff); /* misaligned */
    pci_write_config32(pdev, 0x100, 0);
    assert_int_equal(fake_get32(f, 0x100) & 0xffff, PCI_EXT_CAP_ID_ERR);
}

static void test_capability_loops_and_ranges(void **state)
{
    struct fake_function *loop = fake_add(0, 1, 0, 0x1234, 0x0001, 0x020000, 0);
    fake_cap(loop, 0x40, PCI_CAP_ID_PM);
    fake_cap(loop, 0x50, PCI_CAP_ID_VNDR);
    fake_cap(loop, 0x60, PCI_CAP_ID_MSI);
    fake_put8(loop, 0x51, 0x40); /* back to the first: MSI becomes unreachable */
    struct fake_function *low = fake_add(0, 2, 0, 0x1234, 0x0002, 0x020000, 0);
    fake_cap(low, 0x40, PCI_CAP_ID_PM);
    fake_put8(low, 0x41, 0x10); /* into the header */
    struct fake_function *self = fake_add(0, 3, 0, 0x1234, 0x0003, 0x020000, 0);
    fake_cap(self, 0x80, PCI_CAP_ID_VNDR);
    fake_put8(self, 0x81, 0x80);
    struct fake_function *ext = fake_add(0, 4, 0, 0x1234, 0x0004, 0x020000, 0);
    fake_cap(ext, 0x40, PCI_CAP_ID_EXP);
    fake_ext_cap(ext, 0x100, PCI_EXT_CAP_ID_ERR, 0x140);
    fake_ext_cap(ext, 0x140, PCI_EXT_CAP_ID_VC, 0x100); /* loop */
    struct fake_function *ext2 = fake_add(0, 5, 0, 0x1234, 0x0005, 0x020000, 0);
    fake_cap(ext2, 0x40, PCI_CAP_ID_EXP);
    fake_ext_cap(ext2, 0x100, PCI_EXT_CAP_ID_ERR, 0x0c0); /* below 0x100 */
    scan();
    assert_int_equal(stats.functions, 5);
    assert_int_equal(stats.warnings, 5);
    struct pci_device *pdev = find(0, 1, 0);
    assert_int_equal(pci_find_capability(pdev, PCI_CAP_ID_MSI), 0);
    assert_int_equal(pci_find_capability(pdev, PCI_CAP_ID_VNDR), 0x50);
    assert_int_equal(pci_find_capability(find(0, 3, 0), PCI_CAP_ID_MSI), 0);
    assert_int_equal(pci_find_ext_capability(find(0, 4, 0), PCI_EXT_CAP_ID_SRIOV), 0);
    assert_int_equal(pci_find_ext_capability(find(0, 4, 0), PCI_EXT_CAP_ID_VC), 0x140);
}

static void test_interrupt_pin_out_of_range(void **state)
{
    struct fake_function *f = fake_add(0, 1, 0, 0x1234, 0x0001, 0x020000, 0);
    fake_put8(f, PCI_INTERRUPT_PIN, 9);
    scan();
    assert_int_equal(find(0, 1, 0)->interrupt_pin, 0);
    assert_int_equal(stats.warnings, 1);
}

/* ---- drivers ---- */

static int probes, removes;
static const struct pci_device_id *probed_id;
static int probe_result;

static int test_probe(struct pci_device *pdev, const struct pci_device_id *id)
{
    probes++;
    probed_id = id;
    return probe_result;
}
static void test_remove(struct pci_device *pdev)
{
    removes++;
}

static const struct pci_device_id table[] = {
    {PCI_DEVICE_CLASS(0x010000, 0xff0000), .driver_data = 1},
    {PCI_DEVICE(0x1af4, PCI_ANY_ID), .driver_data = 2},
    {PCI_DEVICE(0x1af4, 0x1042), .driver_data = 3},
    {PCI_DEVICE_SUB(0x1af4, 0x1042, 0x1af4, 0x1100), .driver_data = 4},
    {PCI_DEVICE_CLASS(0x010601, 0xffffff), .driver_data = 5},
    {0},
};

static void test_match_specificity(void **state)
{
    struct pci_device pdev = {.vendor_id = 0x1af4,
                              .device_id = 0x1042,
                              .subsystem_vendor_id = 0x1af4,
                              .subsystem_id = 0x1100,
                              .class_code = 0x01,
                              .subclass = 0x00};
    int score;
    assert_int_equal(pci_match_id(table, &pdev, &score)->driver_data, 4);
    pdev.subsystem_id = 0x1200;
    assert_int_equal(pci_match_id(table, &pdev, NULL)->driver_data, 3);
    pdev.device_id = 0x1001;
    assert_int_equal(pci_match_id(table, &pdev, NULL)->driver_data, 2);
    pdev.vendor_id = 0x8086;
    assert_int_equal(pci_match_id(table, &pdev, NULL)->driver_data, 1);
    pdev.subclass = 0x06;
    pdev.prog_if = 0x01;
    assert_int_equal(pci_match_id(table, &pdev, NULL)->driver_data, 5);
    pdev.class_code = 0x02;
    assert_null(pci_match_id(table, &pdev, &score));
    assert_int_equal(score, 0);
}

static void test_driver_binds_after_enumeration(void **state)
{
    fake_add(0, 2, 0, 0x1af4, 0x1042, 0x010000, 0);
    fake_add(0, 3, 0, 0x8086, 0x100e, 0x020000, 0);
    scan();
    static struct pci_driver drv = {
        .name = "test-virtio", .id_table = table, .probe = test_probe, .remove = test_remove};
    probes = removes = 0;
    probe_result = 0;
    assert_int_equal(pci_register_driver(&drv), 0);
    assert_int_equal(probes, 1);
    assert_int_equal(probed_id->driver_data, 3);
    struct pci_device *pdev = find(0, 2, 0);
    assert_int_equal(pdev->dev.state, DEVICE_BOUND);
    assert_int_equal(find(0, 3, 0)->dev.state, DEVICE_PRESENT);
    /* Hot removal while someone holds a reference: remove() runs, memory stays. */
    struct pci_device *held = pci_find_device(0, 0, 2, 0);
    device_unregister(&pdev->dev);
    assert_int_equal(removes, 1);
    assert_int_equal(held->dev.state, DEVICE_REMOVED);
    device_put(&held->dev);
    pci_unregister_driver(&drv);
}

static void test_probe_failure_leaves_unbound(void **state)
{
    fake_add(0, 2, 0, 0x1af4, 0x1042, 0x010000, 0);
    static struct pci_driver drv = {
        .name = "test-failing", .id_table = table, .probe = test_probe, .remove = test_remove};
    probes = removes = 0;
    probe_result = -EIO;
    assert_int_equal(pci_register_driver(&drv), 0);
    scan();
    struct pci_device *pdev = find(0, 2, 0);
    assert_int_equal(probes, 1);
    assert_int_equal(pdev->dev.state, DEVICE_PROBE_FAILED);
    assert_int_equal(pdev->dev.probe_error, -EIO);
    assert_null(pdev->dev.driver);
    pci_unregister_driver(&drv);
    assert_int_equal(removes, 0);
}

/* ---- BAR mapping, MSI, MSI-X, INTx ---- */

static void noop_handler(void *context)
{
}

static void test_map_bar_and_io_port(void **state)
{
    struct fake_function *f = fake_add(0, 2, 0, 0x1af4, 0x1000, 0x020000, 0);
    fake_bar(f, 0, FAKE_BAR_IO, 0xc000, 0x20);
    fake_bar(f, 1, FAKE_BAR_MEM32, 0xfe000000, 0x1000); /* not mappable in the fake */
    fake_bar(f, 4, FAKE_BAR_MEM64_PREF, fake_mmio_base, 0x4000);
    fake_put16(f, PCI_COMMAND, 0);
    scan();
    struct pci_device *pdev = find(0, 2, 0);
    assert_int_equal(pci_bar_io_port(pdev, 0), 0xc000);
    assert_int_equal(fake_get32(f, PCI_COMMAND) & PCI_COMMAND_IO, PCI_COMMAND_IO);
    assert_int_equal(pci_bar_io_port(pdev, 1), -ENODEV);
    assert_int_equal(pci_bar_io_port(pdev, 9), -EINVAL);
    assert_ptr_equal(pci_map_bar(pdev, 4), fake_mmio);
    assert_ptr_equal(pci_map_bar(pdev, 4), fake_mmio); /* same mapping again */
    assert_int_equal(fake_get32(f, PCI_COMMAND) & PCI_COMMAND_MEMORY, PCI_COMMAND_MEMORY);
    assert_null(pci_map_bar(pdev, 0));
    assert_null(pci_map_bar(pdev, 1));
    assert_null(pci_map_bar(pdev, 5));
    pci_enable_bus_master(pdev);
    assert_int_equal(fake_get32(f, PCI_COMMAND) & PCI_COMMAND_MASTER, PCI_COMMAND_MASTER);
}

static void test_msix_programming(void **state)
{
    struct fake_function *f = fake_add(0, 2, 0, 0x1af4, 0x1042, 0x010000, 0);
    fake_bar(f, 1, FAKE_BAR_MEM32, 0xfebd1000, 0x1000);
    fake_bar(f, 2, FAKE_BAR_MEM64_PREF, fake_mmio_base, 0x4000);
    fake_cap(f, 0x98, PCI_CAP_ID_MSIX);
    fake_put16(f, 0x9a, 3);          /* 4 entries */
    fake_put32(f, 0x9c, 0x2000 | 2); /* table in BAR 2 at 0x2000 */
    fake_put32(f, 0xa0, 0x3000 | 2);
    /* Entries start masked with a reserved bit set that must survive. */
    for (unsigned i = 0; i < 4; i++)
        put_le32(&fake_mmio[0x2000 + 16 * i + 12], 0x80000001u);
    scan();
    struct pci_device *pdev = find(0, 2, 0);
    assert_int_equal(pci_msix_table_size(pdev), 4);
    struct pci_msix_vector vectors[3] = {{noop_handler, NULL, "config", 0},
                                         {noop_handler, NULL, "q0", 0},
                                         {noop_handler, NULL, "q1", 1}};
    assert_int_equal(pci_enable_msix(pdev, vectors, 5), -EINVAL);
    assert_int_equal(pci_enable_msix(pdev, vectors, 3), 3);
    for (unsigned i = 0; i < 3; i++) {
        /* Each entry is addressed to the CPU its vector asked for (q1: CPU 1). */
        assert_int_equal(get_le32(&fake_mmio[0x2000 + 16 * i]), 0xfee00000u | (i == 2) << 12);
        assert_int_equal(get_le32(&fake_mmio[0x2000 + 16 * i + 4]), 0);
        assert_int_equal(get_le32(&fake_mmio[0x2000 + 16 * i + 8]), 0x40 + i);
        assert_int_equal(get_le32(&fake_mmio[0x2000 + 16 * i + 12]), 0x80000000u);
        assert_int_equal(pci_msix_irq(pdev, i), 100 + (int)i);
    }
    assert_int_equal(get_le32(&fake_mmio[0x2000 + 16 * 3 + 12]), 0x80000001u);
    uint16_t control = (uint16_t)(fake_get32(f, 0x98) >> 16);
    assert_int_equal(control & (PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL),
                     PCI_MSIX_FLAGS_ENABLE);
    assert_int_equal(control & PCI_MSIX_FLAGS_QSIZE, 3);
    assert_true(fake_get32(f, PCI_COMMAND) & PCI_COMMAND_INTX_DISABLE);
    assert_int_equal(pci_msix_mask(pdev, 1), 0);
    assert_int_equal(get_le32(&fake_mmio[0x2000 + 16 + 12]), 0x80000001u);
    assert_int_equal(pci_msix_unmask(pdev, 1), 0);
    assert_int_equal(get_le32(&fake_mmio[0x2000 + 16 + 12]), 0x80000000u);
    assert_int_equal(pci_msix_mask(pdev, 3), -EINVAL);
    assert_int_equal(pci_enable_msi(pdev, noop_handler, NULL, "x"), -ENODEV);
    assert_int_equal(pci_enable_msix(pdev, vectors, 1), -EBUSY);
    pci_disable_msix(pdev);
    assert_int_equal(fake_irqs_released, 3);
    control = (uint16_t)(fake_get32(f, 0x98) >> 16);
    assert_int_equal(control & PCI_MSIX_FLAGS_ENABLE, 0);
}

static void test_msix_table_outside_bar_rejected(void **state)
{
    struct fake_function *f = fake_add(0, 2, 0, 0x1af4, 0x1042, 0x010000, 0);
    fake_bar(f, 0, FAKE_BAR_MEM32, (uint32_t)fake_mmio_base, 0x1000);
    fake_cap(f, 0x98, PCI_CAP_ID_MSIX);
    fake_put16(f, 0x9a, 63);        /* 64 entries = 1 KiB */
    fake_put32(f, 0x9c, 0xe00 | 0); /* runs past the 4 KiB BAR */
    scan();
    struct pci_device *pdev = find(0, 2, 0);
    struct pci_msix_vector vector = {noop_handler, NULL, "v", 0};
    assert_int_equal(pci_enable_msix(pdev, &vector, 1), -ENOMEM);
    assert_int_equal(fake_irqs_allocated, 0);
    fake_put32(f, 0x9c, 0x000 | 7); /* BIR 7 does not exist */
    assert_int_equal(pci_enable_msix(pdev, &vector, 1), -ENOMEM);
}

static void test_msi_programming(void **state)
{
    struct fake_function *f = fake_add(0, 2, 0, 0x8086, 0x2922, 0x010601, 0);
    fake_cap(f, 0x80, PCI_CAP_ID_MSI);
    fake_put16(f, 0x82, PCI_MSI_FLAGS_64BIT | PCI_MSI_FLAGS_MASKBIT | (2 << 1));
    fake_put32(f, 0x80 + PCI_MSI_MASK_64, 0xffffffffu);
    scan();
    struct pci_device *pdev = find(0, 2, 0);
    int irq = pci_enable_msi(pdev, noop_handler, NULL, "ahci");
    assert_int_equal(irq, 100);
    assert_int_equal(fake_get32(f, 0x84), 0xfee00000u);
    assert_int_equal(fake_get32(f, 0x88), 0);
    assert_int_equal(fake_get32(f, 0x8c) & 0xffff, 0x40);
    assert_int_equal(fake_get32(f, 0x90), 0xfffffffeu);
    uint16_t flags = (uint16_t)(fake_get32(f, 0x80) >> 16);
    assert_true(flags & PCI_MSI_FLAGS_ENABLE);
    assert_int_equal(flags & PCI_MSI_FLAGS_QSIZE, 0);
    assert_int_equal(pci_enable_msi(pdev, noop_handler, NULL, "again"), -EBUSY);
    /* Unregistering the device releases what the driver left behind. */
    device_unregister(&pdev->dev);
    assert_int_equal(fake_irqs_released, 1);
}

static void test_intx(void **state)
{
    struct fake_function *f = fake_add(0, 2, 0, 0x8086, 0x100e, 0x020000, 0);
    fake_put8(f, PCI_INTERRUPT_PIN, 1);
    fake_put8(f, PCI_INTERRUPT_LINE, 11);
    fake_put16(f, PCI_COMMAND, PCI_COMMAND_INTX_DISABLE);
    struct fake_function *none = fake_add(0, 3, 0, 0x8086, 0x100e, 0x020000, 0);
    fake_put8(none, PCI_INTERRUPT_PIN, 1);
    fake_put8(none, PCI_INTERRUPT_LINE, 0xff);
    scan();
    assert_int_equal(pci_intx_irq(find(0, 2, 0), noop_handler, NULL, "e1000"), 11);
    /* The host bridge's hook named the line; the claim got its specifier whole. */
    assert_int_equal(fake_last_claim.line, 11);
    assert_int_equal(fake_last_claim.trigger, IRQ_LEVEL_LOW);
    assert_int_equal(fake_get32(f, PCI_COMMAND) & PCI_COMMAND_INTX_DISABLE, 0);
    assert_int_equal(pci_intx_irq(find(0, 2, 0), noop_handler, NULL, "e1000"), -EBUSY);
    assert_int_equal(pci_intx_irq(find(0, 3, 0), noop_handler, NULL, "x"), -ENODEV);
}

/* A host bridge without INTx routing (no hook): the claim fails cleanly, INTx stays off. */
static void test_intx_without_routing(void **state)
{
    struct fake_function *f = fake_add(0, 2, 0, 0x8086, 0x100e, 0x020000, 0);
    fake_put8(f, PCI_INTERRUPT_PIN, 1);
    fake_put8(f, PCI_INTERRUPT_LINE, 11);
    fake_put16(f, PCI_COMMAND, PCI_COMMAND_INTX_DISABLE);
    static struct pci_config_access unrouted;
    unrouted = fake_access;
    unrouted.intx_spec = NULL;
    assert_int_equal(pci_scan_root_bus(&unrouted, 0, 0, NULL, NULL), 0);
    unsigned claims = fake_irqs_allocated;
    assert_int_equal(pci_intx_irq(find(0, 2, 0), noop_handler, NULL, "e1000"), -ENODEV);
    assert_int_equal(fake_irqs_allocated, claims);
    assert_true(fake_get32(f, PCI_COMMAND) & PCI_COMMAND_INTX_DISABLE);
}

static void test_hotplug_rescan_behind_port(void **state)
{
    struct fake_function *port = fake_add(0, 0x1c, 0, 0x1b36, 0x000c, 0x060400, 1);
    fake_bridge(port, 0, 4, 4);
    fake_cap(port, 0x40, PCI_CAP_ID_EXP);
    fake_put16(port, 0x42, (uint16_t)(PCI_EXP_TYPE_ROOT_PORT << 4 | 2));
    scan();
    assert_null(find(4, 0, 0));
    fake_add(4, 0, 0, 0x1af4, 0x1042, 0x010000, 0);
    struct pci_device *bridge = find(0, 0x1c, 0);
    assert_int_equal(pci_scan_behind_bridge(bridge, &stats), 1);
    assert_non_null(find(4, 0, 0));
    assert_int_equal(pci_scan_behind_bridge(bridge, &stats), 0);
}

static struct fake_function *hotplug_port(void)
{
    struct fake_function *port = fake_add(0, 0x10, 0, 0x1b36, 0x000c, 0x060400, 1);
    fake_bridge(port, 0, 1, 1);
    fake_put16(port, PCI_MEMORY_BASE, 0xfe80);
    fake_put16(port, PCI_MEMORY_LIMIT, 0xfe90);
    fake_put16(port, PCI_PREF_MEMORY_BASE, 0xfe01);
    fake_put16(port, PCI_PREF_MEMORY_LIMIT, 0xfe11);
    fake_put8(port, PCI_IO_BASE, 0xf0); /* no I/O window */
    fake_put8(port, PCI_IO_LIMIT, 0x00);
    fake_cap(port, 0x54, PCI_CAP_ID_EXP);
    fake_put16(port, 0x56, (uint16_t)(PCI_EXP_TYPE_ROOT_PORT << 4 | 2 | PCI_EXP_FLAGS_SLOT));
    fake_put32(port, 0x54 + PCI_EXP_SLTCAP, 0x7b);            /* hot-plug capable, power control */
    fake_put16(port, 0x54 + PCI_EXP_SLTCTL, 0x0400 | 0x0300); /* empty: powered off */
    fake_put8(port, PCI_INTERRUPT_PIN, 1);
    fake_put8(port, PCI_INTERRUPT_LINE, 10);
    port->rw1c_offset = 0x54 + PCI_EXP_SLTSTA;
    return port;
}

static void test_hotplug_insert_and_attention_button(void **state)
{
    struct fake_function *port = hotplug_port();
    scan();
    struct pci_device *bridge = find(0, 0x10, 0);
    assert_true(pci_is_hotplug_port(bridge));
    assert_false(pci_hotplug_check_port(bridge)); /* nothing pending */

    static struct pci_driver drv = {
        .name = "test-hp", .id_table = table, .probe = test_probe, .remove = test_remove};
    probes = removes = 0;
    probe_result = 0;
    assert_int_equal(pci_register_driver(&drv), 0);

    /* device_add: a virtio-blk with a 4 KiB BAR 1 and a 16 KiB 64-bit prefetchable BAR 4,
     * both unassigned, and an I/O BAR that cannot fit (no window). */
    struct fake_function *card = fake_add(1, 0, 0, 0x1af4, 0x1042, 0x010000, 0);
    fake_bar(card, 0, FAKE_BAR_IO, 0, 0x40);
    fake_bar(card, 1, FAKE_BAR_MEM32, 0, 0x1000);
    fake_bar(card, 4, FAKE_BAR_MEM64_PREF, 0, 0x4000);
    fake_put16(card, PCI_COMMAND, 0);
    fake_put8(card, PCI_INTERRUPT_PIN, 1);
    fake_put16(port, 0x54 + PCI_EXP_SLTSTA, (1u << 6) | (1u << 3)); /* present, changed */
    assert_true(pci_hotplug_check_port(bridge));
    uint16_t control = (uint16_t)fake_get32(port, 0x54 + PCI_EXP_SLTCTL);
    assert_int_equal(control & 0x0400, 0);      /* powered on */
    assert_int_equal(control & 0x0300, 0x0100); /* power indicator on */
    assert_int_equal(fake_get32(port, 0x54 + PCI_EXP_SLTSTA) & 0xffff, 1u << 6);
    struct pci_device *pdev = find(1, 0, 0);
    assert_non_null(pdev);
    assert_ptr_equal(pdev->dev.parent, &bridge->dev);
    assert_int_equal(pdev->bars[1].base, 0xfe800000);
    assert_int_equal(fake_get32(card, 0x14), 0xfe800000);
    assert_int_equal(pdev->bars[4].base, 0xfe000000);
    assert_int_equal(fake_get32(card, 0x20), 0xfe00000c);
    assert_int_equal(fake_get32(card, 0x24), 0);
    assert_int_equal(pdev->bars[0].base, 0);    /* no I/O window: left unassigned */
    assert_int_equal(pdev->interrupt_line, 10); /* the port's line: INTA of slot 0 is its INTA */
    assert_int_equal(card->config[PCI_INTERRUPT_LINE], 10);
    assert_int_equal(pdev->dev.state, DEVICE_BOUND);
    assert_int_equal(probes, 1);

    /* device_del: the attention button. */
    fake_put16(port, 0x54 + PCI_EXP_SLTSTA, (1u << 6) | (1u << 0));
    assert_true(pci_hotplug_check_port(bridge));
    assert_int_equal(removes, 1);
    assert_null(find(1, 0, 0));
    control = (uint16_t)fake_get32(port, 0x54 + PCI_EXP_SLTCTL);
    assert_int_equal(control & 0x0700, 0x0700); /* power off, indicator off */
    /* The emulator completes the removal: presence changes to empty; nothing more to do. */
    fake_put16(port, 0x54 + PCI_EXP_SLTSTA, 1u << 3);
    assert_true(pci_hotplug_check_port(bridge));
    assert_null(find(1, 0, 0));
    pci_unregister_driver(&drv);
}

static void test_hotplug_multifunction_card(void **state)
{
    struct fake_function *port = hotplug_port();
    scan();
    struct pci_device *bridge = find(0, 0x10, 0);
    fake_add(1, 0, 0, 0x1af4, 0x1041, 0x020000, PCI_HEADER_MULTIFUNCTION);
    fake_put8(fake_add(1, 0, 1, 0x1af4, 0x1042, 0x010000, 0), PCI_INTERRUPT_PIN, 2);
    fake_add(1, 0, 2, 0x1af4, 0x1043, 0x078000, 0);
    fake_put16(port, 0x54 + PCI_EXP_SLTSTA, (1u << 6) | (1u << 3));
    assert_true(pci_hotplug_check_port(bridge));
    assert_non_null(find(1, 0, 0));
    assert_non_null(find(1, 0, 1));
    assert_non_null(find(1, 0, 2));
    assert_int_equal(find(1, 0, 1)->interrupt_line, 0); /* INTB: the port's INTB is unknown */
    fake_put16(port, 0x54 + PCI_EXP_SLTSTA, (1u << 6) | (1u << 0));
    assert_true(pci_hotplug_check_port(bridge));
    assert_null(find(1, 0, 0));
    assert_null(find(1, 0, 1));
    assert_null(find(1, 0, 2));
    assert_true(list_empty(&bridge->dev.children));
}

static void test_hotplug_surprise_removal(void **state)
{
    struct fake_function *port = hotplug_port();
    fake_put16(port, 0x54 + PCI_EXP_SLTCTL, 0x0100);
    fake_add(1, 0, 0, 0x1af4, 0x1042, 0x010000, 0);
    scan();
    struct pci_device *bridge = find(0, 0x10, 0);
    assert_non_null(find(1, 0, 0));
    fake_put16(port, 0x54 + PCI_EXP_SLTSTA, 1u << 3); /* changed, not present */
    assert_true(pci_hotplug_check_port(bridge));
    assert_null(find(1, 0, 0));
    /* Surprise removal does not switch the power off. */
    assert_int_equal(fake_get32(port, 0x54 + PCI_EXP_SLTCTL) & 0x0400, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_normal_function_fields, setup),
        cmocka_unit_test_setup(test_bars_sized_and_restored, setup),
        cmocka_unit_test_setup(test_large_64bit_bar_above_4g, setup),
        cmocka_unit_test_setup(test_impossible_bars_rejected, setup),
        cmocka_unit_test_setup(test_multifunction_rules, setup),
        cmocka_unit_test_setup(test_absent_vendor_values, setup),
        cmocka_unit_test_setup(test_bridge_hierarchy, setup),
        cmocka_unit_test_setup(test_pcie_root_port_only_device_zero, setup),
        cmocka_unit_test_setup(test_bridge_bus_number_attacks, setup),
        cmocka_unit_test_setup(test_deep_chain_terminates, setup),
        cmocka_unit_test_setup(test_scan_touches_only_what_exists, setup),
        cmocka_unit_test_setup(test_cardbus_card_enumerated, setup),
        cmocka_unit_test_setup(test_cardbus_bad_bus_numbers_not_scanned, setup),
        cmocka_unit_test_setup(test_bridge_subsystem_from_its_capability, setup),
        cmocka_unit_test_setup(test_peer_root_buses_probed_like_linux, setup),
        cmocka_unit_test_setup(test_unknown_header_type, setup),
        cmocka_unit_test_setup(test_capabilities_found, setup),
        cmocka_unit_test_setup(test_no_extended_space_with_mechanism_one, setup),
        cmocka_unit_test_setup(test_capability_loops_and_ranges, setup),
        cmocka_unit_test_setup(test_interrupt_pin_out_of_range, setup),
        cmocka_unit_test_setup(test_match_specificity, setup),
        cmocka_unit_test_setup(test_driver_binds_after_enumeration, setup),
        cmocka_unit_test_setup(test_probe_failure_leaves_unbound, setup),
        cmocka_unit_test_setup(test_map_bar_and_io_port, setup),
        cmocka_unit_test_setup(test_msix_programming, setup),
        cmocka_unit_test_setup(test_msix_table_outside_bar_rejected, setup),
        cmocka_unit_test_setup(test_msi_programming, setup),
        cmocka_unit_test_setup(test_intx, setup),
        cmocka_unit_test_setup(test_intx_without_routing, setup),
        cmocka_unit_test_setup(test_hotplug_rescan_behind_port, setup),
        cmocka_unit_test_setup(test_hotplug_insert_and_attention_button, setup),
        cmocka_unit_test_setup(test_hotplug_multifunction_card, setup),
        cmocka_unit_test_setup(test_hotplug_surprise_removal, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
