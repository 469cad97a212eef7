/* In-kernel self-tests of PCI on the machine it runs on, and of the device core with a
 * throw-away platform device and driver. */
#include <rayos/errno.h>
#include <rayos/boot_info.h>
#include <rayos/pci.h>
#include <rayos/platform.h>
#include <rayos/selftest.h>
#include <rayos/string.h>

#include "pci_host.h"

struct pci_check {
    unsigned functions;
    unsigned mismatches;
    unsigned bad_bars;
};

/* ECAM and mechanism #1 must show the same header (the command/status dword is skipped: the
 * status bits may change between the two reads). */
static int compare_access(struct device *dev, void *context)
{
    struct pci_check *check = context;
    if (!dev_is_pci(dev))
        return 0;
    struct pci_device *pdev = to_pci_device(dev);
    check->functions++;
    if (pdev->segment != 0)
        return 0;
    for (unsigned offset = 0; offset < 0x40; offset += 4) {
        if (offset == PCI_COMMAND)
            continue;
        if (pci_read_config32(pdev, offset) !=
            pci_cam_read32(pdev->bus, pdev->slot, pdev->function, (uint16_t)offset))
            check->mismatches++;
    }
    return 0;
}

/* Sizing restored every BAR: the registers still hold the bases recorded at enumeration. */
static int check_bars(struct device *dev, void *context)
{
    struct pci_check *check = context;
    if (!dev_is_pci(dev))
        return 0;
    struct pci_device *pdev = to_pci_device(dev);
    for (unsigned i = 0; i < PCI_NUM_BARS; i++) {
        const struct pci_bar *bar = &pdev->bars[i];
        if (bar->type == PCI_BAR_NONE)
            continue;
        uint64_t value = pci_read_config32(pdev, PCI_BAR0 + 4 * i);
        if (bar->type == PCI_BAR_MEM64)
            value |= (uint64_t)pci_read_config32(pdev, PCI_BAR0 + 4 * i + 4) << 32;
        uint64_t base = value & (bar->type == PCI_BAR_IO ? ~0x3ull : ~0xfull);
        if (base != bar->base)
            check->bad_bars++;
    }
    return 0;
}

SELFTEST(pci_enumeration_found_functions)
{
    struct pci_check check = {0, 0, 0};
    device_for_each(compare_access, &check);
    ST_ASSERT(check.functions > 0);
    struct pci_device *host_bridge = pci_find_device(0, 0, 0, 0);
    ST_ASSERT(host_bridge != NULL);
    ST_ASSERT(host_bridge->vendor_id != 0xffff);
    device_put(&host_bridge->dev);
}

SELFTEST(pci_ecam_matches_mechanism_one)
{
    if (boot_info.firmware_tables == FIRMWARE_DEVICE_TREE) {
        /* No mechanism #1 on a device tree machine: ECAM is the only access there is. */
        ST_ASSERT(strcmp(pci_host_access_name(), "ECAM") == 0);
        return;
    }
    struct pci_check check = {0, 0, 0};
    device_for_each(compare_access, &check);
    ST_ASSERT_EQ(check.mismatches, 0);
}

SELFTEST(pci_bars_restored_after_sizing)
{
    struct pci_check check = {0, 0, 0};
    device_for_each(check_bars, &check);
    ST_ASSERT_EQ(check.bad_bars, 0);
}

static int selftest_probes, selftest_removes;

static int selftest_probe(struct platform_device *pdev)
{
    selftest_probes++;
    return selftest_probes == 1 ? -EIO : 0; /* the first attempt fails, cleanly */
}

static void selftest_remove(struct platform_device *pdev)
{
    selftest_removes++;
}

SELFTEST(device_core_bind_unbind_remove)
{
    static const struct resource resources[] = {{RESOURCE_IO, 0xe000, 8, 0}};
    struct platform_device *pdev =
        platform_device_create("selftest0", "selftest-device", resources, 1);
    ST_ASSERT(pdev != NULL);
    ST_ASSERT_EQ(pdev->dev.state, DEVICE_PRESENT);
    static const char *const types[] = {"selftest-device", NULL};
    static struct platform_driver drv = {
        .name = "selftest", .types = types, .probe = selftest_probe, .remove = selftest_remove};
    selftest_probes = selftest_removes = 0;
    ST_ASSERT_EQ(platform_register_driver(&drv), 0);
    ST_ASSERT_EQ(pdev->dev.state, DEVICE_PROBE_FAILED);
    ST_ASSERT_EQ(pdev->dev.probe_error, -EIO);
    ST_ASSERT_EQ(device_bind(&pdev->dev, &drv.driver), 0);
    ST_ASSERT_EQ(pdev->dev.state, DEVICE_BOUND);
    struct device *held = device_find_by_name("selftest0");
    ST_ASSERT(held == &pdev->dev);
    device_unregister(&pdev->dev);
    ST_ASSERT_EQ(selftest_removes, 1);
    ST_ASSERT_EQ(held->state, DEVICE_REMOVED);
    ST_ASSERT(device_find_by_name("selftest0") == NULL);
    device_put(held);
    platform_unregister_driver(&drv);
    ST_ASSERT(driver_find_by_name("selftest") == NULL);
}
