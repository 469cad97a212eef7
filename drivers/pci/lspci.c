/* lspci: the listings pciutils users know, built from the enumerated functions.
 * Terse and numeric lines follow pciutils' format exactly; -v shows the same kind of detail
 * (BARs with sizes, IRQ, capabilities, bound driver) from what RayOS decoded. */
#include <rayos/heap.h>
#include <rayos/pci.h>
#include <rayos/string.h>

#include "pci_core.h"

static void format_class(struct text_buffer *text, const struct pci_device *pdev, bool numeric)
{
    unsigned code = (unsigned)pdev->class_code << 8 | pdev->subclass;
    const char *name = numeric ? NULL : pci_ids_subclass(pdev->class_code, pdev->subclass);
    const char *class_name = numeric ? NULL : pci_ids_class(pdev->class_code);
    if (numeric)
        text_printf(text, "%04x", code);
    else if (name)
        text_printf(text, "%s", name);
    else if (class_name)
        text_printf(text, "%s [%04x]", class_name, code);
    else
        text_printf(text, "Class %04x", code);
}

static void format_vendor_device(struct text_buffer *text, uint16_t vendor, uint16_t device,
                                 bool numeric)
{
    const char *vendor_name = numeric ? NULL : pci_ids_vendor(vendor);
    const char *device_name = vendor_name ? pci_ids_device(vendor, device) : NULL;
    if (numeric)
        text_printf(text, "%04x:%04x", vendor, device);
    else if (vendor_name && device_name)
        text_printf(text, "%s %s", vendor_name, device_name);
    else if (vendor_name)
        text_printf(text, "%s Device %04x", vendor_name, device);
    else
        text_printf(text, "Device %04x:%04x", vendor, device);
}

static void format_subsystem(struct text_buffer *text, const struct pci_device *pdev, bool numeric)
{
    uint16_t subvendor = pdev->subsystem_vendor_id, subdevice = pdev->subsystem_id;
    /* Bridges have them from their subsystem ID capability, CardBus bridges at 0x40. */
    if (pdev->header_type > PCI_HEADER_CARDBUS || subvendor == 0 || subvendor == 0xffff)
        return;
    text_printf(text, "\tSubsystem: ");
    const char *vendor_name = numeric ? NULL : pci_ids_vendor(subvendor);
    const char *name = NULL;
    if (vendor_name) {
        name = pci_ids_subsystem(pdev->vendor_id, pdev->device_id, subvendor, subdevice);
        if (!name && subvendor == pdev->vendor_id && subdevice == pdev->device_id)
            name = pci_ids_device(pdev->vendor_id, pdev->device_id);
    }
    if (numeric || !vendor_name)
        text_printf(text, "%s%04x:%04x\n", numeric ? "" : "Device ", subvendor, subdevice);
    else if (name)
        text_printf(text, "%s %s\n", vendor_name, name);
    else
        text_printf(text, "%s Device %04x\n", vendor_name, subdevice);
}

static void format_size(struct text_buffer *text, uint64_t size)
{
    static const char *const suffixes[] = {"", "K", "M", "G", "T"};
    unsigned i = 0;
    if (!size)
        return;
    while (size >= 1024 && i + 1 < ARRAY_SIZE(suffixes)) {
        size /= 1024;
        i++;
    }
    text_printf(text, " [size=%u%s]", (unsigned)size, suffixes[i]);
}

static void format_bars(struct text_buffer *text, struct pci_device *pdev, uint16_t command)
{
    for (unsigned i = 0; i < PCI_NUM_BARS; i++) {
        const struct pci_bar *bar = &pdev->bars[i];
        if (bar->type == PCI_BAR_NONE)
            continue;
        if (bar->type == PCI_BAR_IO) {
            text_printf(text, "\tI/O ports at ");
            if (bar->base || (command & PCI_COMMAND_IO))
                text_printf(text, "%04llx", (unsigned long long)bar->base);
            else
                text_printf(text, "<unassigned>");
            if (!(command & PCI_COMMAND_IO))
                text_printf(text, " [disabled]");
        } else {
            text_printf(text, "\tMemory at ");
            if (bar->base)
                text_printf(text, "%llx", (unsigned long long)bar->base);
            else
                text_printf(text, "<unassigned>");
            text_printf(text, " (%s, %sprefetchable)",
                        bar->type == PCI_BAR_MEM64 ? "64-bit" : "32-bit",
                        bar->prefetchable ? "" : "non-");
            if (!(command & PCI_COMMAND_MEMORY))
                text_printf(text, " [disabled]");
        }
        format_size(text, bar->size);
        text_printf(text, "\n");
    }
    if (pdev->rom.size) {
        uint32_t rom =
            pci_read_config32(pdev, pdev->header_type == PCI_HEADER_BRIDGE ? PCI_BRIDGE_ROM_ADDRESS
                                                                           : PCI_ROM_ADDRESS);
        text_printf(text, "\tExpansion ROM at ");
        if (pdev->rom.base)
            text_printf(text, "%llx", (unsigned long long)pdev->rom.base);
        else
            text_printf(text, "<unassigned>");
        if (!(rom & 1))
            text_printf(text, " [disabled]");
        else if (!(command & PCI_COMMAND_MEMORY))
            text_printf(text, " [disabled by cmd]");
        format_size(text, pdev->rom.size);
        text_printf(text, "\n");
    }
}

static void format_bridge(struct text_buffer *text, const struct pci_device *pdev)
{
    const struct pci_bridge_info *b = &pdev->bridge;
    text_printf(text, "\tBus: primary=%02x, secondary=%02x, subordinate=%02x\n", b->primary_bus,
                b->secondary_bus, b->subordinate_bus);
    if (b->io_base <= b->io_limit)
        text_printf(text, "\tI/O behind bridge: %08llx-%08llx\n", (unsigned long long)b->io_base,
                    (unsigned long long)b->io_limit);
    if (b->mem_base <= b->mem_limit)
        text_printf(text, "\tMemory behind bridge: %08llx-%08llx\n",
                    (unsigned long long)b->mem_base, (unsigned long long)b->mem_limit);
    if (b->pref_base <= b->pref_limit)
        text_printf(text, "\tPrefetchable memory behind bridge: %0*llx-%0*llx\n",
                    b->pref_64bit ? 16 : 8, (unsigned long long)b->pref_base,
                    b->pref_64bit ? 16 : 8, (unsigned long long)b->pref_limit);
}

/* A CardBus bridge's two memory and two I/O windows and its legacy-mode ports. */
static void format_cardbus(struct text_buffer *text, struct pci_device *pdev, uint16_t command)
{
    const struct pci_bridge_info *b = &pdev->bridge;
    uint16_t control = pci_read_config16(pdev, PCI_CB_BRIDGE_CONTROL);
    text_printf(text, "\tBus: primary=%02x, secondary=%02x, subordinate=%02x, sec-latency=%u\n",
                b->primary_bus, b->secondary_bus, b->subordinate_bus,
                pci_read_config8(pdev, PCI_CB_LATENCY_TIMER));
    for (unsigned i = 0; i < 2; i++) {
        uint32_t base = pci_read_config32(pdev, PCI_CB_MEMORY_BASE_0 + 8 * i) & 0xfffff000u;
        uint32_t limit = pci_read_config32(pdev, PCI_CB_MEMORY_LIMIT_0 + 8 * i) | 0xfffu;
        if (base > limit)
            continue;
        text_printf(text, "\tMemory window %u: %08x-%08x%s%s\n", i, base, limit,
                    command & PCI_COMMAND_MEMORY ? "" : " [disabled]",
                    control & (0x100u << i) ? " (prefetchable)" : "");
    }
    for (unsigned i = 0; i < 2; i++) {
        uint32_t base = pci_read_config32(pdev, PCI_CB_IO_BASE_0 + 8 * i);
        uint32_t limit = pci_read_config32(pdev, PCI_CB_IO_LIMIT_0 + 8 * i);
        if (!(base & 1)) { /* 16-bit decode */
            base &= 0xffff;
            limit &= 0xffff;
        }
        base &= ~3u;
        limit |= 3u;
        if (base > limit)
            continue;
        text_printf(text, "\tI/O window %u: %08x-%08x%s\n", i, base, limit,
                    command & PCI_COMMAND_IO ? "" : " [disabled]");
    }
    uint16_t legacy = pci_read_config16(pdev, PCI_CB_LEGACY_MODE_BASE);
    if (legacy)
        text_printf(text, "\t16-bit legacy interface ports at %04x\n", legacy);
}

static const char *pcie_type_name(unsigned type)
{
    switch (type) {
    case PCI_EXP_TYPE_ENDPOINT:
        return "Endpoint";
    case PCI_EXP_TYPE_LEG_END:
        return "Legacy Endpoint";
    case PCI_EXP_TYPE_ROOT_PORT:
        return "Root Port";
    case PCI_EXP_TYPE_UPSTREAM:
        return "Upstream Port";
    case PCI_EXP_TYPE_DOWNSTREAM:
        return "Downstream Port";
    case PCI_EXP_TYPE_PCI_BRIDGE:
        return "PCI-Express to PCI/PCI-X Bridge";
    case PCI_EXP_TYPE_PCIE_BRIDGE:
        return "PCI/PCI-X to PCI-Express Bridge";
    case PCI_EXP_TYPE_RC_END:
        return "Root Complex Integrated Endpoint";
    case PCI_EXP_TYPE_RC_EC:
        return "Root Complex Event Collector";
    }
    return "Unknown type";
}

static void format_capability(struct text_buffer *text, struct pci_device *pdev, uint8_t id,
                              uint8_t offset)
{
    text_printf(text, "\tCapabilities: [%02x] ", offset);
    uint16_t flags = pci_read_config16(pdev, offset + 2u);
    switch (id) {
    case PCI_CAP_ID_PM:
        text_printf(text, "Power Management version %u\n", flags & 7);
        return;
    case PCI_CAP_ID_MSI:
        text_printf(text, "MSI: Enable%c Count=%u/%u Maskable%c 64bit%c\n",
                    flags & PCI_MSI_FLAGS_ENABLE ? '+' : '-', 1u << ((flags >> 4) & 7),
                    1u << ((flags >> 1) & 7), flags & PCI_MSI_FLAGS_MASKBIT ? '+' : '-',
                    flags & PCI_MSI_FLAGS_64BIT ? '+' : '-');
        return;
    case PCI_CAP_ID_MSIX:
        text_printf(text, "MSI-X: Enable%c Count=%u Masked%c\n",
                    flags & PCI_MSIX_FLAGS_ENABLE ? '+' : '-', (flags & PCI_MSIX_FLAGS_QSIZE) + 1,
                    flags & PCI_MSIX_FLAGS_MASKALL ? '+' : '-');
        return;
    case PCI_CAP_ID_EXP:
        text_printf(text, "Express (v%u) %s%s, MSI %02x\n", flags & 0xf,
                    pcie_type_name(PCI_EXP_FLAGS_TYPE(flags)),
                    (flags & PCI_EXP_FLAGS_SLOT) ? " (Slot+)" : "", (flags >> 9) & 0x1f);
        return;
    case PCI_CAP_ID_VNDR:
        text_printf(text, "Vendor Specific Information: Len=%02x <?>\n", flags & 0xff);
        return;
    case PCI_CAP_ID_SSVID:
        text_printf(text, "Subsystem: %04x:%04x\n", pci_read_config16(pdev, offset + 4u),
                    pci_read_config16(pdev, offset + 6u));
        return;
    case PCI_CAP_ID_SATA:
        text_printf(text, "SATA HBA v%u.%u\n", (flags >> 4) & 0xf, flags & 0xf);
        return;
    case PCI_CAP_ID_AF:
        text_printf(text, "PCI Advanced Features\n");
        return;
    case PCI_CAP_ID_HT:
        text_printf(text, "HyperTransport\n");
        return;
    case PCI_CAP_ID_VPD:
        text_printf(text, "Vital Product Data\n");
        return;
    }
    text_printf(text, "#%02x [%04x]\n", id, flags);
}

static const char *ext_capability_name(uint16_t id)
{
    switch (id) {
    case PCI_EXT_CAP_ID_ERR:
        return "Advanced Error Reporting";
    case PCI_EXT_CAP_ID_VC:
        return "Virtual Channel";
    case PCI_EXT_CAP_ID_DSN:
        return "Device Serial Number";
    case PCI_EXT_CAP_ID_PWR:
        return "Power Budgeting";
    case 0x000b:
        return "Vendor Specific Information";
    case 0x000d:
        return "Access Control Services";
    case 0x0015:
        return "Physical Resizable BAR";
    case 0x001e:
        return "L1 PM Substates";
    case PCI_EXT_CAP_ID_ARI:
        return "Alternative Routing-ID Interpretation (ARI)";
    case PCI_EXT_CAP_ID_ATS:
        return "Address Translation Service (ATS)";
    case PCI_EXT_CAP_ID_SRIOV:
        return "Single Root I/O Virtualization (SR-IOV)";
    case PCI_EXT_CAP_ID_LTR:
        return "Latency Tolerance Reporting";
    case PCI_EXT_CAP_ID_SECPCI:
        return "Secondary PCI Express";
    case PCI_EXT_CAP_ID_DVSEC:
        return "Designated Vendor-Specific";
    }
    return NULL;
}

static void format_capabilities(struct text_buffer *text, struct pci_device *pdev)
{
    uint8_t ids[48], offsets[48];
    unsigned count = pci_list_capabilities(pdev, ids, offsets, ARRAY_SIZE(ids));
    for (unsigned i = 0; i < count; i++)
        format_capability(text, pdev, ids[i], offsets[i]);
    uint16_t ext_ids[64], ext_offsets[64];
    count = pci_list_ext_capabilities(pdev, ext_ids, ext_offsets, ARRAY_SIZE(ext_ids));
    for (unsigned i = 0; i < count; i++) {
        const char *name = ext_capability_name(ext_ids[i]);
        if (name)
            text_printf(text, "\tCapabilities: [%03x] %s\n", ext_offsets[i], name);
        else
            text_printf(text, "\tCapabilities: [%03x] Extended Capability ID %#x\n", ext_offsets[i],
                        ext_ids[i]);
    }
}

static void format_flags(struct text_buffer *text, struct pci_device *pdev, uint16_t command)
{
    uint16_t status = pci_read_config16(pdev, PCI_STATUS);
    static const char *const devsel[] = {"fast", "medium", "slow", "??"};
    text_printf(text, "\tFlags: ");
    if (command & PCI_COMMAND_MASTER)
        text_printf(text, "bus master, ");
    if (status & (1u << 5))
        text_printf(text, "66MHz, ");
    text_printf(text, "%s devsel", devsel[(status >> 9) & 3]);
    if (command & PCI_COMMAND_MASTER)
        text_printf(text, ", latency %u", pci_read_config8(pdev, PCI_LATENCY_TIMER));
    if (pdev->interrupt_pin && pdev->interrupt_line && pdev->interrupt_line != 0xff)
        text_printf(text, ", IRQ %u", pdev->interrupt_line);
    text_printf(text, "\n");
}

/* An IDE controller's programming interface is a bit field; pci.ids names only the common
 * combinations, and like pciutils the others are spelled out from the bits. */
static bool ide_prog_if(const struct pci_device *pdev, char *buffer, size_t size)
{
    static const struct {
        uint8_t bit;
        const char *name;
    } bits[] = {{0x80, "Master"}, {0x08, "SecP"}, {0x04, "SecO"}, {0x02, "PriP"}, {0x01, "PriO"}};
    /* Only the defined bits: with a reserved bit (0x70) set nothing is spelled out. */
    if (pdev->class_code != 0x01 || pdev->subclass != 0x01 || !(pdev->prog_if & 0x8f) ||
        (pdev->prog_if & 0x70))
        return false;
    size_t used = 0;
    buffer[0] = '\0';
    for (unsigned i = 0; i < ARRAY_SIZE(bits) && used < size; i++) {
        if (pdev->prog_if & bits[i].bit)
            used +=
                (size_t)snprintf(buffer + used, size - used, "%s%s", used ? " " : "", bits[i].name);
    }
    return true;
}

void lspci_format(struct text_buffer *text, struct pci_device *pdev, bool verbose, bool numeric,
                  bool show_domain)
{
    if (show_domain)
        text_printf(text, "%04x:", pdev->segment);
    text_printf(text, "%02x:%02x.%u ", pdev->bus, pdev->slot, pdev->function);
    format_class(text, pdev, numeric);
    text_printf(text, ": ");
    format_vendor_device(text, pdev->vendor_id, pdev->device_id, numeric);
    if (pdev->revision)
        text_printf(text, " (rev %02x)", pdev->revision);
    if (verbose) {
        /* pciutils names the programming interface even in numeric mode. */
        const char *prog_if = pci_ids_prog_if(pdev->class_code, pdev->subclass, pdev->prog_if);
        char ide_modes[32];
        if (!prog_if && ide_prog_if(pdev, ide_modes, sizeof(ide_modes)))
            prog_if = ide_modes;
        if (prog_if)
            text_printf(text, " (prog-if %02x [%s])", pdev->prog_if, prog_if);
        else if (pdev->prog_if)
            text_printf(text, " (prog-if %02x)", pdev->prog_if);
    }
    text_printf(text, "\n");
    if (!verbose)
        return;
    format_subsystem(text, pdev, numeric);
    uint16_t command = pci_read_config16(pdev, PCI_COMMAND);
    format_flags(text, pdev, command);
    if (pdev->msi_irq >= 0)
        text_printf(text, "\tInterrupts: MSI (irq %d)\n", pdev->msi_irq);
    else if (pdev->msix_count)
        text_printf(text, "\tInterrupts: MSI-X, %u vector%s\n", pdev->msix_count,
                    pdev->msix_count == 1 ? "" : "s");
    format_bars(text, pdev, command);
    if (pdev->header_type == PCI_HEADER_BRIDGE)
        format_bridge(text, pdev);
    else if (pdev->header_type == PCI_HEADER_CARDBUS)
        format_cardbus(text, pdev, command);
    if (pdev->header_type <= PCI_HEADER_CARDBUS)
        format_capabilities(text, pdev);
    if (pdev->dev.driver)
        text_printf(text, "\tKernel driver in use: %s\n", pdev->dev.driver->name);
    if (pdev->dev.state == DEVICE_PROBE_FAILED)
        text_printf(text, "\tProbe failed: error %d\n", pdev->dev.probe_error);
    text_printf(text, "\n");
}

struct pci_collect {
    struct pci_device **list;
    unsigned count, capacity;
    bool any_domain;
};

static int collect_pci(struct device *dev, void *context)
{
    struct pci_collect *collect = context;
    if (!dev_is_pci(dev))
        return 0;
    if (collect->count == collect->capacity) {
        unsigned capacity = collect->capacity ? collect->capacity * 2 : 32;
        struct pci_device **list = krealloc(collect->list, capacity * sizeof(*list));
        if (!list)
            return -1;
        collect->list = list;
        collect->capacity = capacity;
    }
    struct pci_device *pdev = to_pci_device(device_get(dev));
    collect->list[collect->count++] = pdev;
    collect->any_domain |= pdev->segment != 0;
    return 0;
}

static uint64_t address_key(const struct pci_device *pdev)
{
    return (uint64_t)pdev->segment << 16 | (uint64_t)pdev->bus << 8 | (uint64_t)pdev->slot << 3 |
           pdev->function;
}

void lspci_all(struct text_buffer *text, bool verbose, bool numeric)
{
    struct pci_collect collect = {NULL, 0, 0, false};
    if (device_for_each(collect_pci, &collect) != 0)
        text->failed = true;
    /* Insertion sort: a few dozen functions, already nearly in order. */
    for (unsigned i = 1; i < collect.count; i++) {
        struct pci_device *pdev = collect.list[i];
        unsigned j = i;
        for (; j > 0 && address_key(collect.list[j - 1]) > address_key(pdev); j--)
            collect.list[j] = collect.list[j - 1];
        collect.list[j] = pdev;
    }
    for (unsigned i = 0; i < collect.count; i++) {
        lspci_format(text, collect.list[i], verbose, numeric, collect.any_domain);
        device_put(&collect.list[i]->dev);
    }
    kfree(collect.list);
}
