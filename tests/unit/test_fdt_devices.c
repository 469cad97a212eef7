/* Platform devices and the ECAM host bridge from a device tree: QEMU's virt tree as QEMU
 * dumps it, and built trees with nodes that must be skipped with a warning. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rayos/bytes.h>
#include <rayos/errno.h>
#include <rayos/fdt_devices.h>
#include <rayos/pci_host_bridge.h>
#include <rayos/platform.h>

#include "fdt_builder.h"
#include "qemu_virt_dtb.h"

extern unsigned host_log_messages;
extern int host_log_level;

static struct platform_device *find(const char *name)
{
    struct device *dev = device_find_by_name(name);
    if (!dev)
        fail_msg("no device %s", name);
    device_put(dev);
    return to_platform_device(dev);
}

static void expect_mem(struct platform_device *pdev, unsigned index, uint64_t base, uint64_t size)
{
    const struct resource *r = device_resource(&pdev->dev, RESOURCE_MEM, index);
    assert_non_null(r);
    assert_int_equal(r->start, base);
    assert_int_equal(r->size, size);
}

static void expect_irq(struct platform_device *pdev, unsigned index, uint64_t line, unsigned flags)
{
    const struct resource *r = device_resource(&pdev->dev, RESOURCE_IRQ, index);
    assert_non_null(r);
    assert_int_equal(r->start, line);
    assert_int_equal(r->flags, flags);
}

static int unregister_all(struct device *dev, void *context)
{
    if (dev->parent && !dev->parent->parent)
        device_unregister(dev);
    return 0;
}

static int teardown(void **state)
{
    device_for_each(unregister_all, NULL);
    return 0;
}

static void test_virt_devices(void **state)
{
    struct fdt fdt;
    assert_int_equal(fdt_open(&fdt, qemu_virt_dtb, qemu_virt_dtb_size), 0);
    struct fdt_devices_stats stats;
    unsigned created = fdt_create_platform_devices(&fdt, &stats);
    assert_int_equal(stats.skipped, 0);
    assert_int_equal(created, stats.created);
    struct platform_device *uart = find("pl011@9000000");
    assert_string_equal(uart->type, "arm,pl011");
    expect_mem(uart, 0, 0x9000000, 0x1000);
    expect_irq(uart, 0, 32 + 1, FDT_IRQ_FLAGS(false, false)); /* SPI 1, level high */
    assert_null(device_resource(&uart->dev, RESOURCE_IRQ, 1));
    struct platform_device *rtc = find("pl031@9010000");
    assert_string_equal(rtc->type, "arm,pl031");
    expect_mem(rtc, 0, 0x9010000, 0x1000);
    expect_irq(rtc, 0, 32 + 2, FDT_IRQ_FLAGS(false, false));
    /* 32 virtio-mmio transports 0x200 apart from 0xa000000, SPI 16 onwards, rising edge. */
    for (unsigned i = 0; i < 32; i++) {
        char name[32];
        snprintf(name, sizeof(name), "virtio_mmio@%x", 0xa000000 + 0x200 * i);
        struct platform_device *virtio = find(name);
        assert_string_equal(virtio->type, "virtio,mmio");
        expect_mem(virtio, 0, 0xa000000 + 0x200 * i, 0x200);
        expect_irq(virtio, 0, 32 + 16 + i, FDT_IRQ_FLAGS(true, false));
    }
    /* The PMU's PPI 7 (a 4-cell-free GIC specifier): line 16 + 7. */
    struct platform_device *pmu = find("pmu");
    expect_irq(pmu, 0, 16 + 7, FDT_IRQ_FLAGS(false, false));
    /* The ECAM host is a device too (for its driver), with its ECAM as memory. */
    struct platform_device *pcie = find("pcie@10000000");
    assert_string_equal(pcie->type, "pci-host-ecam-generic");
    expect_mem(pcie, 0, 0x4010000000, 0x10000000);
    /* The ITS is its GIC's business: not a device of its own. */
    struct device *its = device_find_by_name("its@8080000");
    assert_null(its);
    /* Types are copies: the same string for every virtio node. */
    assert_ptr_equal(find("virtio_mmio@a000000")->type, find("virtio_mmio@a003e00")->type);
}

static void test_virt_pci_host(void **state)
{
    struct fdt fdt;
    assert_int_equal(fdt_open(&fdt, qemu_virt_dtb, qemu_virt_dtb_size), 0);
    struct pci_host_bridge_desc hosts[2];
    assert_int_equal(fdt_pci_host_bridges(&fdt, hosts, 2), 1);
    struct pci_host_bridge_desc *host = &hosts[0];
    assert_string_equal(host->name, "pcie@10000000");
    assert_int_equal(host->segment, 0);
    assert_int_equal(host->ecam_base, 0x4010000000);
    assert_int_equal(host->ecam_size, 0x10000000);
    assert_int_equal(host->bus_first, 0);
    assert_int_equal(host->bus_last, 255);
    assert_true(host->dma_coherent);
    assert_false(host->firmware_assigned);
    assert_int_equal(host->window_count, 3);
    assert_int_equal(host->windows[0].kind, PCI_WINDOW_IO);
    assert_int_equal(host->windows[0].cpu_address, 0x3eff0000);
    assert_int_equal(host->windows[0].pci_address, 0);
    assert_int_equal(host->windows[0].size, 0x10000);
    assert_int_equal(host->windows[1].kind, PCI_WINDOW_MEM32);
    assert_int_equal(host->windows[1].cpu_address, 0x10000000);
    assert_int_equal(host->windows[1].pci_address, 0x10000000);
    assert_int_equal(host->windows[1].size, 0x2eff0000);
    assert_false(host->windows[1].prefetchable);
    assert_int_equal(host->windows[2].kind, PCI_WINDOW_MEM64);
    assert_int_equal(host->windows[2].cpu_address, 0x8000000000);
    assert_int_equal(host->windows[2].pci_address, 0x8000000000);
    assert_int_equal(host->windows[2].size, 0x8000000000);
    /* INTx: slot s pin p -> SPI 3 + (s + p - 1) % 4, level high. */
    assert_int_equal(host->route_count, 16);
    assert_int_equal(host->device_mask, 0x1800);
    assert_int_equal(host->pin_mask, 7);
    for (uint8_t slot = 0; slot < 8; slot++)
        for (uint8_t pin = 1; pin <= 4; pin++) {
            uint32_t line;
            unsigned flags;
            assert_int_equal(pci_host_intx_route(host, slot, 0, pin, &line, &flags), 0);
            assert_int_equal(line, 32 + 3 + (slot + pin - 1) % 4);
            assert_int_equal(flags, FDT_IRQ_FLAGS(false, false));
        }
    uint32_t line;
    unsigned flags;
    assert_int_equal(pci_host_intx_route(host, 1, 0, 0, &line, &flags), -ENOENT);
    assert_int_equal(pci_host_intx_route(host, 1, 0, 5, &line, &flags), -ENOENT);
    /* A device at slot 0 behind a root port in slot 2, pin A: swizzled to the port's pin C. */
    uint8_t pin = pci_swizzle_pin(1, 0);
    assert_int_equal(pin, 1);
    assert_int_equal(pci_swizzle_pin(1, 2), 3);
    assert_int_equal(pci_swizzle_pin(4, 1), 1);
    /* msi-map = <0 &its 0 0x10000>: device IDs are requester IDs. */
    assert_int_equal(host->msi_map_count, 1);
    assert_false(host->msi_map_broken);
    assert_int_equal(host->msi_map_mask, 0xffff);
    uint32_t id;
    assert_int_equal(pci_host_msi_device_id(host, 0x0108, &id), 0);
    assert_int_equal(id, 0x0108);
    assert_int_equal(pci_host_msi_device_id(host, 0xffff, &id), 0);
    assert_int_equal(id, 0xffff);
}

/* A host bridge node at ECAM 0x30000000 + index * 16 MiB with a window and the given msi-map
 * cells (count 0: none) and msi-map-mask (0: none). */
static void msi_host(struct fdt_builder *b, unsigned index, unsigned count, const uint32_t *map,
                     uint32_t mask)
{
    char name[32];
    snprintf(name, sizeof(name), "pcie@%x", 0x30000000 + index * 0x1000000);
    fdt_builder_begin(b, name);
    fdt_builder_string(b, "compatible", "pci-host-ecam-generic");
    fdt_builder_cells(b, "#address-cells", 1, 3);
    fdt_builder_cells(b, "#size-cells", 1, 2);
    fdt_builder_cells(b, "reg", 4, 0, 0x30000000 + index * 0x1000000, 0, 0x1000000);
    fdt_builder_cells(b, "ranges", 7, 0x02000000, 0, 0x50000000 + index * 0x1000000, 0,
                      0x50000000 + index * 0x1000000, 0, 0x1000000);
    if (count) {
        uint8_t bytes[64];
        for (unsigned i = 0; i < count; i++)
            put_be32(bytes + 4 * i, map[i]);
        fdt_builder_prop(b, "msi-map", bytes, 4 * count);
    }
    if (mask)
        fdt_builder_cells(b, "msi-map-mask", 1, mask);
    fdt_builder_end(b);
}

/* msi-map: requester IDs translated entry by entry (through the mask), an ID outside every
 * entry refused; a map naming something that is no MSI controller, malformed, or reaching
 * past the 16-bit requester IDs leaves its bridge without MSIs; no map keeps requester IDs. */
static void test_msi_map(void **state)
{
    struct fdt_builder b;
    fdt_builder_init(&b);
    fdt_builder_begin(&b, "");
    fdt_builder_cells(&b, "#address-cells", 1, 2);
    fdt_builder_cells(&b, "#size-cells", 1, 2);
    fdt_builder_begin(&b, "memory@40000000");
    fdt_builder_string(&b, "device_type", "memory");
    fdt_builder_cells(&b, "reg", 4, 0, 0x40000000, 0, 0x8000000);
    fdt_builder_end(&b);
    fdt_builder_begin(&b, "its@8080000");
    fdt_builder_string(&b, "compatible", "arm,gic-v3-its");
    fdt_builder_cells(&b, "phandle", 1, 2);
    fdt_builder_cells(&b, "#msi-cells", 1, 1);
    fdt_builder_prop(&b, "msi-controller", NULL, 0);
    fdt_builder_end(&b);
    fdt_builder_begin(&b, "uart@9000000");
    fdt_builder_cells(&b, "phandle", 1, 3);
    fdt_builder_end(&b);
    static const uint32_t two_buses[] = {0x000, 2, 0x10000, 0x100, 0x100, 2, 0x20000, 0x100};
    static const uint32_t not_msi[] = {0, 3, 0, 0x10000};
    static const uint32_t past_ids[] = {0xff00, 2, 0, 0x200};
    static const uint32_t functions_only[] = {0, 2, 0x500, 0x100};
    msi_host(&b, 0, 8, two_buses, 0);
    msi_host(&b, 1, 4, not_msi, 0);
    msi_host(&b, 2, 3, two_buses, 0); /* not a whole entry */
    msi_host(&b, 3, 4, past_ids, 0);
    msi_host(&b, 4, 4, functions_only, 0xff); /* every bus's function N is device 0x500 + N */
    msi_host(&b, 5, 0, NULL, 0);
    fdt_builder_end(&b);
    struct fdt fdt;
    uint8_t *blob = fdt_builder_open(&b, &fdt);
    assert_non_null(blob);
    struct pci_host_bridge_desc hosts[6];
    host_log_level = -1;
    assert_int_equal(fdt_pci_host_bridges(&fdt, hosts, 6), 6);
    host_log_level = 4;
    uint32_t id;
    assert_int_equal(hosts[0].msi_map_count, 2);
    assert_int_equal(pci_host_msi_device_id(&hosts[0], 0x0008, &id), 0);
    assert_int_equal(id, 0x10008);
    assert_int_equal(pci_host_msi_device_id(&hosts[0], 0x01ff, &id), 0);
    assert_int_equal(id, 0x200ff);
    assert_int_equal(pci_host_msi_device_id(&hosts[0], 0x0200, &id), -ENOENT);
    for (unsigned i = 1; i <= 3; i++) {
        assert_true(hosts[i].msi_map_broken);
        assert_int_equal(pci_host_msi_device_id(&hosts[i], 0, &id), -ENOENT);
    }
    assert_int_equal(pci_host_msi_device_id(&hosts[4], 0x0310, &id), 0);
    assert_int_equal(id, 0x510);
    assert_false(hosts[5].msi_map_broken);
    assert_int_equal(hosts[5].msi_map_count, 0);
    assert_int_equal(pci_host_msi_device_id(&hosts[5], 0x0310, &id), 0);
    assert_int_equal(id, 0x0310);
    free(blob);
}

/* A tree with broken nodes between good ones. */
static uint8_t *build_bad_board(size_t *size)
{
    struct fdt_builder b;
    fdt_builder_init(&b);
    fdt_builder_begin(&b, "");
    fdt_builder_cells(&b, "#address-cells", 1, 2);
    fdt_builder_cells(&b, "#size-cells", 1, 2);
    fdt_builder_cells(&b, "interrupt-parent", 1, 1);
    fdt_builder_begin(&b, "memory@40000000");
    fdt_builder_string(&b, "device_type", "memory");
    fdt_builder_cells(&b, "reg", 4, 0, 0x40000000, 0, 0x10000000);
    fdt_builder_end(&b);
    fdt_builder_begin(&b, "intc@8000000");
    fdt_builder_string(&b, "compatible", "arm,gic-v3");
    fdt_builder_cells(&b, "phandle", 1, 1);
    fdt_builder_cells(&b, "#interrupt-cells", 1, 3);
    fdt_builder_prop(&b, "interrupt-controller", NULL, 0);
    fdt_builder_cells(&b, "reg", 4, 0, 0x8000000, 0, 0x10000);
    fdt_builder_end(&b);
    fdt_builder_begin(&b, "good@1000");
    fdt_builder_strings(&b, "compatible", "vendor,good\nvendor,generic");
    fdt_builder_cells(&b, "reg", 4, 0, 0x1000, 0, 0x100);
    fdt_builder_cells(&b, "interrupts", 3, 0, 5, 8); /* SPI 5, level low */
    fdt_builder_end(&b);
    fdt_builder_begin(&b, "disabled@2000");
    fdt_builder_string(&b, "compatible", "vendor,good");
    fdt_builder_string(&b, "status", "disabled");
    fdt_builder_end(&b);
    fdt_builder_begin(&b, "badreg@3000");
    fdt_builder_string(&b, "compatible", "vendor,bad");
    fdt_builder_cells(&b, "reg", 3, 0, 0x3000, 0);
    fdt_builder_end(&b);
    fdt_builder_begin(&b, "badirq@4000");
    fdt_builder_string(&b, "compatible", "vendor,bad");
    fdt_builder_cells(&b, "interrupts", 2, 0, 5); /* not a whole 3-cell specifier */
    fdt_builder_end(&b);
    fdt_builder_begin(&b, "badspi@5000");
    fdt_builder_string(&b, "compatible", "vendor,bad");
    fdt_builder_cells(&b, "interrupts", 3, 7, 5, 4); /* unknown GIC interrupt type */
    fdt_builder_end(&b);
    fdt_builder_begin(&b, "wrap@6000");
    fdt_builder_string(&b, "compatible", "vendor,bad");
    fdt_builder_cells(&b, "reg", 4, 0xffffffff, 0xfffff000, 0, 0x2000);
    fdt_builder_end(&b);
    fdt_builder_begin(&b, "nocompat@7000");
    fdt_builder_prop(&b, "compatible", "x", 1); /* not NUL-terminated */
    fdt_builder_end(&b);
    fdt_builder_begin(&b, "bus");
    fdt_builder_string(&b, "compatible", "simple-bus");
    fdt_builder_cells(&b, "#address-cells", 1, 1);
    fdt_builder_cells(&b, "#size-cells", 1, 1);
    fdt_builder_cells(&b, "ranges", 4, 0, 0, 0x20000000, 0x10000);
    fdt_builder_begin(&b, "child@100");
    fdt_builder_string(&b, "compatible", "vendor,child");
    fdt_builder_cells(&b, "reg", 2, 0x100, 0x10);
    fdt_builder_end(&b);
    fdt_builder_begin(&b, "outside@20000");
    fdt_builder_string(&b, "compatible", "vendor,child");
    fdt_builder_cells(&b, "reg", 2, 0x20000, 0x10);
    fdt_builder_end(&b);
    fdt_builder_end(&b);
    /* A host bridge with small ECAM, a window over RAM and a bad interrupt map. */
    fdt_builder_begin(&b, "pcie@30000000");
    fdt_builder_string(&b, "compatible", "pci-host-ecam-generic");
    fdt_builder_string(&b, "device_type", "pci");
    fdt_builder_cells(&b, "#address-cells", 1, 3);
    fdt_builder_cells(&b, "#size-cells", 1, 2);
    fdt_builder_cells(&b, "#interrupt-cells", 1, 1);
    fdt_builder_cells(&b, "reg", 4, 0, 0x30000000, 0, 0x400000); /* 4 buses */
    fdt_builder_cells(&b, "bus-range", 2, 0, 15);
    fdt_builder_cells(&b, "ranges", 14, 0x02000000, 0, 0x50000000, 0, 0x50000000, 0,
                      0x1000000, /* good 32-bit window */
                      0x42000000, 0, 0x40000000, 0, 0x40000000, 0, 0x100000); /* over RAM */
    fdt_builder_cells(&b, "interrupt-map-mask", 4, 0x1800, 0, 0, 7);
    fdt_builder_cells(&b, "interrupt-map", 5, 0, 0, 0, 1, 99); /* unknown phandle */
    fdt_builder_end(&b);
    fdt_builder_begin(&b, "pcie@48000000"); /* its ECAM window is RAM */
    fdt_builder_string(&b, "compatible", "pci-host-ecam-generic");
    fdt_builder_cells(&b, "#address-cells", 1, 3);
    fdt_builder_cells(&b, "#size-cells", 1, 2);
    fdt_builder_cells(&b, "reg", 4, 0, 0x48000000, 0, 0x1000000);
    fdt_builder_cells(&b, "ranges", 7, 0x02000000, 0, 0x60000000, 0, 0x60000000, 0, 0x1000000);
    fdt_builder_end(&b);
    fdt_builder_end(&b);
    uint8_t *blob = fdt_builder_finish(&b, size);
    fdt_builder_free(&b);
    return blob;
}

static void test_malformed_nodes_are_skipped(void **state)
{
    size_t size;
    uint8_t *blob = build_bad_board(&size);
    struct fdt fdt;
    assert_int_equal(fdt_open(&fdt, blob, size), 0);
    unsigned before = host_log_messages;
    host_log_level = -1; /* the warnings are counted, not shown */
    struct fdt_devices_stats stats;
    fdt_create_platform_devices(&fdt, &stats);
    host_log_level = 4;
    /* intc, good, bus, bus/child and both pcie nodes come up (as devices); badreg, badirq, badspi,
     * wrap, nocompat and bus/outside are skipped with a warning each; the disabled node is silent.
     */
    assert_int_equal(stats.created, 6);
    assert_int_equal(stats.skipped, 6);
    assert_true(host_log_messages - before >= 6);
    struct platform_device *good = find("good@1000");
    assert_string_equal(good->type, "vendor,good");
    expect_mem(good, 0, 0x1000, 0x100);
    expect_irq(good, 0, 32 + 5, FDT_IRQ_FLAGS(false, true));
    expect_mem(find("child@100"), 0, 0x20000100, 0x10);
    assert_null(device_find_by_name("disabled@2000"));
    assert_null(device_find_by_name("badreg@3000"));
    char why[96];
    struct resource resources[4];
    unsigned count;
    assert_int_equal(fdt_device_resources(&fdt, fdt_find_path(&fdt, "/bus/outside"), resources, 4,
                                          &count, why, sizeof(why)),
                     -ERANGE);
    assert_non_null(strstr(why, "outside every range"));
    /* The host bridge: buses cut to the ECAM window, the window over RAM dropped, no INTx. */
    struct pci_host_bridge_desc host;
    host_log_level = -1;
    assert_int_equal(fdt_pci_host_bridge(&fdt, fdt_find_path(&fdt, "/pcie"), &host), 0);
    host_log_level = 4;
    assert_int_equal(host.bus_first, 0);
    assert_int_equal(host.bus_last, 3);
    assert_int_equal(host.window_count, 1);
    assert_int_equal(host.windows[0].cpu_address, 0x50000000);
    assert_int_equal(host.route_count, 0);
    host_log_level = -1;
    assert_int_equal(fdt_pci_host_bridge(&fdt, fdt_find_path(&fdt, "/pcie@48000000"), &host),
                     -EINVAL);
    struct pci_host_bridge_desc hosts[2];
    assert_int_equal(fdt_pci_host_bridges(&fdt, hosts, 2), 1); /* only the usable one */
    host_log_level = 4;
    free(blob);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_virt_devices, teardown),
        cmocka_unit_test(test_virt_pci_host),
        cmocka_unit_test(test_msi_map),
        cmocka_unit_test_teardown(test_malformed_nodes_are_skipped, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
