/* lspci formatting.  The expected lines were checked against pciutils 3.9's lspci reading
 * the same config spaces (lspci -F), so the terse and numeric forms are pciutils' exactly. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <rayos/pci.h>
#include <rayos/string.h>

#include "pci_fake.h"

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
    return 0;
}

static struct fake_function *add(uint8_t slot, uint16_t vendor, uint16_t device, uint32_t class24,
                                 uint8_t revision, uint16_t subvendor, uint16_t subdevice)
{
    struct fake_function *f = fake_add(0, slot, 0, vendor, device, class24, 0);
    fake_put8(f, PCI_REVISION_ID, revision);
    fake_put16(f, PCI_SUBSYSTEM_VENDOR_ID, subvendor);
    fake_put16(f, PCI_SUBSYSTEM_ID, subdevice);
    return f;
}

static char *listing(bool verbose, bool numeric)
{
    static char copy[16384];
    struct text_buffer text;
    text_init(&text);
    lspci_all(&text, verbose, numeric);
    assert_false(text.failed);
    snprintf(copy, sizeof(copy), "%s", text.data ? text.data : "");
    text_free(&text);
    return copy;
}

static void scan(void)
{
    assert_int_equal(pci_scan_root_bus(&fake_access, 0, 0, NULL, NULL), 0);
}

static void test_terse_names_and_numbers(void **state)
{
    add(0x01, 0x8086, 0x2922, 0x010601, 0x02, 0x1af4, 0x1100);
    add(0x03, 0x8086, 0x1234, 0xffff00, 0x00, 0, 0);
    add(0x04, 0xab34, 0x1234, 0x774400, 0x00, 0, 0);
    add(0x05, 0x8086, 0x0d57, 0x060000, 0x00, 0, 0);
    add(0x06, 0x1af4, 0x1042, 0x010000, 0x01, 0x1af4, 0x1100);
    scan();
    assert_string_equal(
        listing(false, false),
        "00:01.0 SATA controller: Intel Corporation 82801IR/IO/IH (ICH9R/DO/DH) 6 port SATA "
        "Controller [AHCI mode] (rev 02)\n"
        "00:03.0 Unassigned class [ffff]: Intel Corporation 430MX - 82371MX Mobile PCI I/O IDE "
        "Xcelerator (MPIIX)\n"
        "00:04.0 Class 7744: Device ab34:1234\n"
        "00:05.0 Host bridge: Intel Corporation Device 0d57\n"
        "00:06.0 SCSI storage controller: Red Hat, Inc. Virtio 1.0 block device (rev 01)\n");
    assert_string_equal(listing(false, true), "00:01.0 0106: 8086:2922 (rev 02)\n"
                                              "00:03.0 ffff: 8086:1234\n"
                                              "00:04.0 7744: ab34:1234\n"
                                              "00:05.0 0600: 8086:0d57\n"
                                              "00:06.0 0100: 1af4:1042 (rev 01)\n");
}

static void test_sorted_and_domain_prefix(void **state)
{
    fake_add(0, 2, 0, 0x8086, 0x100e, 0x020000, 0);
    fake_add(0, 1, 0, 0x1234, 0x1111, 0x030000, 0);
    scan();
    assert_string_equal(listing(false, true), "00:01.0 0300: 1234:1111\n"
                                              "00:02.0 0200: 8086:100e\n");
    fake_add(0, 2, 0, 0x8086, 0x100e, 0x020000, 0)->segment = 1;
    fake_add(0, 1, 0, 0x1234, 0x1111, 0x030000, 0)->segment = 1;
    assert_int_equal(pci_scan_root_bus(&fake_access, 1, 0, NULL, NULL), 0);
    assert_string_equal(listing(false, true), "0000:00:01.0 0300: 1234:1111\n"
                                              "0000:00:02.0 0200: 8086:100e\n"
                                              "0001:00:01.0 0300: 1234:1111\n"
                                              "0001:00:02.0 0200: 8086:100e\n");
}

static void test_subsystem_forms(void **state)
{
    add(0x01, 0x8086, 0x2922, 0x010601, 0, 0x9999, 0x1100); /* unknown subvendor */
    add(0x02, 0x8086, 0x0d57, 0x060000, 0, 0x1af4, 0x1100); /* unknown subsystem */
    add(0x03, 0x8086, 0x2922, 0x010601, 0, 0x8086, 0x2922); /* same as the device */
    add(0x04, 0x8086, 0x2922, 0x010601, 0, 0x1af4, 0x1100); /* listed in pci.ids */
    add(0x05, 0x8086, 0x2922, 0x010601, 0, 0, 0);           /* none */
    scan();
    const char *text = listing(true, false);
    assert_non_null(strstr(text, "00:01.0 SATA controller: Intel Corporation 82801IR/IO/IH "
                                 "(ICH9R/DO/DH) 6 port SATA Controller [AHCI mode] (prog-if 01 "
                                 "[AHCI 1.0])\n\tSubsystem: Device 9999:1100\n"));
    assert_non_null(strstr(text, "00:02.0 Host bridge: Intel Corporation Device 0d57\n"
                                 "\tSubsystem: Red Hat, Inc. Device 1100\n"));
    assert_non_null(strstr(text, "\tSubsystem: Intel Corporation 82801IR/IO/IH (ICH9R/DO/DH) 6 "
                                 "port SATA Controller [AHCI mode]\n"));
    assert_non_null(strstr(text, "\tSubsystem: Red Hat, Inc. QEMU Virtual Machine\n"));
    const char *last = strstr(text, "00:05.0");
    assert_non_null(last);
    assert_null(strstr(last, "Subsystem"));
    assert_non_null(strstr(listing(true, true), "\tSubsystem: 1af4:1100\n"));
}

static void test_ide_prog_if_spelled_out(void **state)
{
    add(0x01, 0x8086, 0x7010, 0x01010b, 0, 0, 0); /* not in pci.ids: from the bits */
    add(0x02, 0x8086, 0x7010, 0x010183, 0, 0, 0);
    add(0x03, 0x8086, 0x7010, 0x010180, 0, 0, 0); /* named in pci.ids */
    add(0x04, 0x8086, 0x7010, 0x010193, 0, 0, 0); /* a reserved bit: no name */
    scan();
    const char *text = listing(true, true);
    assert_non_null(strstr(text, "00:01.0 0101: 8086:7010 (prog-if 0b [SecP PriP PriO])\n"));
    assert_non_null(strstr(text, "00:02.0 0101: 8086:7010 (prog-if 83 [Master PriP PriO])\n"));
    assert_non_null(strstr(text, "00:03.0 0101: 8086:7010 (prog-if 80 [ISA Compatibility mode-only "
                                 "controller, supports bus mastering])\n"));
    assert_non_null(strstr(text, "00:04.0 0101: 8086:7010 (prog-if 93)\n"));
}

static int test_probe(struct pci_device *pdev, const struct pci_device_id *id)
{
    return 0;
}

static void test_verbose_details(void **state)
{
    struct fake_function *f = add(0x02, 0x1af4, 0x1042, 0x010000, 0x01, 0x1af4, 0x1100);
    fake_bar(f, 0, FAKE_BAR_IO, 0xc040, 0x40);
    fake_bar(f, 1, FAKE_BAR_MEM32, 0xfebd1000, 0x1000);
    fake_bar(f, 4, FAKE_BAR_MEM64_PREF, 0xfe000000, 0x4000);
    fake_rom(f, 0xfeb80000, 0x40000);
    fake_put8(f, PCI_INTERRUPT_PIN, 1);
    fake_put8(f, PCI_INTERRUPT_LINE, 11);
    fake_cap(f, 0x98, PCI_CAP_ID_MSIX);
    fake_put16(f, 0x9a, 3);
    fake_cap(f, 0x84, PCI_CAP_ID_VNDR);
    fake_put8(f, 0x86, 0x14);
    fake_cap(f, 0x40, PCI_CAP_ID_EXP);
    fake_put16(f, 0x42, 0x0002);
    fake_ext_cap(f, 0x100, PCI_EXT_CAP_ID_ERR, 0);
    struct fake_function *bridge = fake_add(0, 0x1c, 0, 0x1b36, 0x000c, 0x060400, 1);
    fake_bridge(bridge, 0, 1, 1);
    fake_put8(bridge, PCI_IO_BASE, 0x10);
    fake_put8(bridge, PCI_IO_LIMIT, 0x10);
    fake_put16(bridge, PCI_MEMORY_BASE, 0xfe80);
    fake_put16(bridge, PCI_MEMORY_LIMIT, 0xfe80);
    fake_put16(bridge, PCI_PREF_MEMORY_BASE, 0xfff1);
    fake_put16(bridge, PCI_PREF_MEMORY_LIMIT, 0x0001);
    scan();
    static const struct pci_device_id ids[] = {{PCI_DEVICE(0x1af4, 0x1042)}, {0}};
    static struct pci_driver drv = {.name = "virtio_blk", .id_table = ids, .probe = test_probe};
    assert_int_equal(pci_register_driver(&drv), 0);
    const char *text = listing(true, false);
    static const char expected_device[] =
        "00:02.0 SCSI storage controller: Red Hat, Inc. Virtio 1.0 block device (rev 01)\n"
        "\tSubsystem: Red Hat, Inc. Device 1100\n"
        "\tFlags: bus master, fast devsel, latency 0, IRQ 11\n"
        "\tI/O ports at c040 [size=64]\n"
        "\tMemory at febd1000 (32-bit, non-prefetchable) [size=4K]\n"
        "\tMemory at fe000000 (64-bit, prefetchable) [size=16K]\n"
        "\tExpansion ROM at feb80000 [disabled] [size=256K]\n"
        "\tCapabilities: [98] MSI-X: Enable- Count=4 Masked-\n"
        "\tCapabilities: [84] Vendor Specific Information: Len=14 <?>\n"
        "\tCapabilities: [40] Express (v2) Endpoint, MSI 00\n"
        "\tCapabilities: [100] Advanced Error Reporting\n"
        "\tKernel driver in use: virtio_blk\n\n";
    if (!strstr(text, expected_device))
        fprintf(stderr, "%s", text);
    assert_non_null(strstr(text, expected_device));
    static const char expected_bridge[] =
        "00:1c.0 PCI bridge: Red Hat, Inc. QEMU PCIe Root port (prog-if 00 [Normal decode])\n"
        "\tFlags: bus master, fast devsel, latency 0\n"
        "\tBus: primary=00, secondary=01, subordinate=01\n"
        "\tI/O behind bridge: 00001000-00001fff\n"
        "\tMemory behind bridge: fe800000-fe8fffff\n\n";
    assert_non_null(strstr(text, expected_bridge));
    pci_unregister_driver(&drv);
}

/* The CardBus bridge of a Fujitsu laptop (pciutils' tree-fujitsu-p8010 dump, registers 0x00-0x4f
 * as dumped) with the card behind it; the expected lines are what lspci -v -F prints for it. */
static void test_cardbus_bridge_and_card(void **state)
{
    static const uint8_t header[0x50] = {
        0x17, 0x12, 0x36, 0x71, 0x87, 0x00, 0x10, 0x04, 0x01, 0x00, 0x07, 0x06, 0x00, 0xa8,
        0x82, 0x00, 0x00, 0x20, 0x40, 0xfc, 0xa0, 0x00, 0x00, 0x02, 0x1c, 0x1d, 0x20, 0xb0,
        0x00, 0x00, 0x00, 0xc0, 0x00, 0xf0, 0xff, 0xc3, 0x00, 0x00, 0x00, 0xc8, 0x00, 0xf0,
        0xff, 0xcb, 0x01, 0x30, 0x00, 0x00, 0xfd, 0x30, 0x00, 0x00, 0x01, 0x34, 0x00, 0x00,
        0xfd, 0x34, 0x00, 0x00, 0x0b, 0x01, 0x00, 0x05, 0xcf, 0x10, 0x3d, 0x14, 0x01, 0x00,
    };
    struct fake_function *bridge = fake_add(0, 0x1e, 0, 0x8086, 0x2448, 0x060401, 1);
    fake_bridge(bridge, 0, 0x1c, 0x20);
    fake_cap(bridge, 0x50, PCI_CAP_ID_SSVID);
    fake_put16(bridge, 0x54, 0x10cf);
    fake_put16(bridge, 0x56, 0x140c);
    struct fake_function *cb = fake_add(0x1c, 3, 0, 0x1217, 0x7136, 0x060700, 2);
    for (unsigned i = 0; i < sizeof(header); i++)
        fake_put8(cb, i, header[i]);
    fake_put8(cb, 0xa0, PCI_CAP_ID_PM);
    fake_put16(cb, 0xa2, 0x0002);
    fake_add(0x1d, 0, 0, 0x10b7, 0x6001, 0x028000, 0);
    scan();
    const char *text = listing(true, false);
    static const char expected_bridge[] =
        "00:1e.0 PCI bridge: Intel Corporation 82801 Mobile PCI Bridge (prog-if 01 [Subtractive "
        "decode])\n"
        "\tSubsystem: Fujitsu Limited. Device 140c\n";
    static const char expected_cardbus[] =
        "1c:03.0 CardBus bridge: O2 Micro, Inc. Device 7136 (rev 01)\n"
        "\tSubsystem: Fujitsu Limited. Device 143d\n"
        "\tFlags: bus master, slow devsel, latency 168, IRQ 11\n"
        "\tBus: primary=1c, secondary=1d, subordinate=20, sec-latency=176\n"
        "\tMemory window 0: c0000000-c3ffffff (prefetchable)\n"
        "\tMemory window 1: c8000000-cbffffff\n"
        "\tI/O window 0: 00003000-000030ff\n"
        "\tI/O window 1: 00003400-000034ff\n"
        "\t16-bit legacy interface ports at 0001\n"
        "\tCapabilities: [a0] Power Management version 2\n\n"
        "1d:00.0 Network controller: 3Com Corporation Device 6001\n";
    if (!strstr(text, expected_cardbus) || !strstr(text, expected_bridge))
        fprintf(stderr, "%s", text);
    assert_non_null(strstr(text, expected_bridge));
    assert_non_null(strstr(text, expected_cardbus));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_terse_names_and_numbers, setup),
        cmocka_unit_test_setup(test_sorted_and_domain_prefix, setup),
        cmocka_unit_test_setup(test_subsystem_forms, setup),
        cmocka_unit_test_setup(test_verbose_details, setup),
        cmocka_unit_test_setup(test_ide_prog_if_spelled_out, setup),
        cmocka_unit_test_setup(test_cardbus_bridge_and_card, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
