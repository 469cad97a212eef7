/* libFuzzer target: enumeration, capability walks, BAR sizing, lspci -v and hot-plug handling
 * over config spaces built from the input.  Whatever the bytes say, scanning must end and
 * nothing may read or write outside the synthetic spaces. */
#include <rayos/bytes.h>
#include <rayos/pci.h>
#include <stdint.h>
#include <string.h>

#include "tests/unit/pci_fake.h"

extern int host_log_level;

static int unregister_all(struct device *dev, void *context)
{
    if (!dev->parent)
        device_unregister(dev);
    return 0;
}

static int inspect(struct device *dev, void *context)
{
    if (!dev_is_pci(dev))
        return 0;
    struct pci_device *pdev = to_pci_device(dev);
    pci_find_capability(pdev, PCI_CAP_ID_VNDR);
    pci_find_ext_capability(pdev, PCI_EXT_CAP_ID_ERR);
    if (pci_is_hotplug_port(pdev))
        pci_hotplug_check_port(pdev);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Input: repeated records of [bus, slot<<3|function, header byte, 256 bytes of config]. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    host_log_level = -1;
    fake_reset();
    fake_space_size = size && (data[0] & 1) ? 4096 : 256;
    const size_t record = 3 + 256;
    for (size_t at = 1; at + record <= size; at += record) {
        const uint8_t *r = data + at;
        struct fake_function *f =
            fake_add(r[0], r[1] >> 3, r[1] & 7, get_le16(r + 3), get_le16(r + 5), 0, r[2]);
        if (!f)
            break;
        memcpy(f->config, r + 3, 256);
        for (unsigned i = 0; i < 7; i++)
            f->bar_mask[i] = get_le32(r + 3 + 0x40 + 4 * i) | 0xf; /* arbitrary masks */
        if (f->config[0x34])
            f->rw1c_offset = (uint16_t)((f->config[0x34] & 0xfc) + PCI_EXP_SLTSTA);
        if (fake_space_size == 4096)
            memcpy(f->config + 0x100, r + 3, 256); /* an extended list from the same bytes */
    }
    pci_scan_root_bus(&fake_access, 0, 0, NULL, NULL);
    /* Buses no bridge reaches become peer roots (CardBus and PCI bridges behind them too).  The
     * kernel probes buses 0-255 in one call; a bus without fake functions answers nothing to
     * the probe, so probing just the buses that have some, in the same ascending order, finds
     * the same roots without 32 reads of each of the other buses (8,192 reads per input made
     * the probe two thirds of the target's time). */
    for (unsigned bus = 0; bus < 256; bus++)
        if (fake_bus_has_functions((uint8_t)bus))
            pci_scan_peer_root_buses(&fake_access, &fake_access, 0, bus, bus, NULL, NULL, NULL);
    device_for_each(inspect, NULL);
    struct text_buffer text;
    text_init(&text);
    lspci_all(&text, true, false);
    text_free(&text);
    device_for_each(unregister_all, NULL);
    return 0;
}
