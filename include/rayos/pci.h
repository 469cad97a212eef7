/* PCI and PCI Express for drivers: the device as enumerated (IDs, class, decoded BARs,
 * capabilities), driver registration with match tables, config-space access, BAR mapping,
 * capability lookup and interrupts (INTx, MSI, MSI-X).  A driver needs nothing else.
 *
 * A driver:
 *     static const struct pci_device_id ids[] = {
 *         {PCI_DEVICE(0x1af4, 0x1001)},
 *         {PCI_DEVICE_CLASS(0x010601, 0xffffff)},
 *         {0},
 *     };
 *     static struct pci_driver my_driver = {.name = "mine", .id_table = ids,
 *                                           .probe = my_probe, .remove = my_remove};
 *     pci_register_driver(&my_driver);   (from an INITCALL at INIT_DRIVER)
 */
#ifndef RAYOS_PCI_H
#define RAYOS_PCI_H

#include <rayos/device.h>
#include <rayos/irq.h>
#include <rayos/types.h>

struct pci_config_access; /* how config space is reached (drivers/pci/config.h) */

/* Configuration header offsets (type 0 and common part). */
#define PCI_VENDOR_ID           0x00
#define PCI_DEVICE_ID           0x02
#define PCI_COMMAND             0x04
#define PCI_STATUS              0x06
#define PCI_REVISION_ID         0x08
#define PCI_PROG_IF             0x09
#define PCI_SUBCLASS            0x0a
#define PCI_CLASS               0x0b
#define PCI_CACHE_LINE_SIZE     0x0c
#define PCI_LATENCY_TIMER       0x0d
#define PCI_HEADER_TYPE         0x0e
#define PCI_BAR0                0x10
#define PCI_CARDBUS_CIS         0x28
#define PCI_SUBSYSTEM_VENDOR_ID 0x2c
#define PCI_SUBSYSTEM_ID        0x2e
#define PCI_ROM_ADDRESS         0x30
#define PCI_CAPABILITY_LIST     0x34
#define PCI_INTERRUPT_LINE      0x3c
#define PCI_INTERRUPT_PIN       0x3d

/* Type 1 (PCI-to-PCI bridge) header. */
#define PCI_PRIMARY_BUS        0x18
#define PCI_SECONDARY_BUS      0x19
#define PCI_SUBORDINATE_BUS    0x1a
#define PCI_IO_BASE            0x1c
#define PCI_IO_LIMIT           0x1d
#define PCI_MEMORY_BASE        0x20
#define PCI_MEMORY_LIMIT       0x22
#define PCI_PREF_MEMORY_BASE   0x24
#define PCI_PREF_MEMORY_LIMIT  0x26
#define PCI_PREF_BASE_UPPER32  0x28
#define PCI_PREF_LIMIT_UPPER32 0x2c
#define PCI_IO_BASE_UPPER16    0x30
#define PCI_IO_LIMIT_UPPER16   0x32
#define PCI_BRIDGE_ROM_ADDRESS 0x38
#define PCI_BRIDGE_CONTROL     0x3e

/* Type 2 (CardBus bridge) header; the bus numbers share the type 1 offsets. */
#define PCI_CB_CAPABILITY_LIST     0x14
#define PCI_CB_LATENCY_TIMER       0x1b
#define PCI_CB_MEMORY_BASE_0       0x1c
#define PCI_CB_MEMORY_LIMIT_0      0x20
#define PCI_CB_IO_BASE_0           0x2c
#define PCI_CB_IO_LIMIT_0          0x30
#define PCI_CB_BRIDGE_CONTROL      0x3e
#define PCI_CB_SUBSYSTEM_VENDOR_ID 0x40
#define PCI_CB_SUBSYSTEM_ID        0x42
#define PCI_CB_LEGACY_MODE_BASE    0x44

/* Bridge subsystem ID capability (offsets from the capability). */
#define PCI_SSVID_VENDOR_ID 0x04
#define PCI_SSVID_DEVICE_ID 0x06

#define PCI_HEADER_TYPE_MASK     0x7f
#define PCI_HEADER_MULTIFUNCTION 0x80
#define PCI_HEADER_NORMAL        0
#define PCI_HEADER_BRIDGE        1
#define PCI_HEADER_CARDBUS       2

#define PCI_COMMAND_IO           (1u << 0)
#define PCI_COMMAND_MEMORY       (1u << 1)
#define PCI_COMMAND_MASTER       (1u << 2)
#define PCI_COMMAND_INTX_DISABLE (1u << 10)
#define PCI_STATUS_INTERRUPT     (1u << 3)
#define PCI_STATUS_CAP_LIST      (1u << 4)

/* Capability IDs (PCI Local Bus / PCIe base specifications). */
#define PCI_CAP_ID_PM     0x01
#define PCI_CAP_ID_AGP    0x02
#define PCI_CAP_ID_VPD    0x03
#define PCI_CAP_ID_SLOTID 0x04
#define PCI_CAP_ID_MSI    0x05
#define PCI_CAP_ID_HT     0x08
#define PCI_CAP_ID_VNDR   0x09 /* vendor-specific (VirtIO uses it for its structures) */
#define PCI_CAP_ID_DBG    0x0a
#define PCI_CAP_ID_SSVID  0x0d /* bridge subsystem vendor ID */
#define PCI_CAP_ID_SECDEV 0x0f
#define PCI_CAP_ID_EXP    0x10 /* PCI Express */
#define PCI_CAP_ID_MSIX   0x11
#define PCI_CAP_ID_SATA   0x12
#define PCI_CAP_ID_AF     0x13

/* Extended capability IDs (PCIe, config offsets 0x100-0xfff). */
#define PCI_EXT_CAP_ID_ERR    0x0001 /* advanced error reporting */
#define PCI_EXT_CAP_ID_VC     0x0002
#define PCI_EXT_CAP_ID_DSN    0x0003
#define PCI_EXT_CAP_ID_PWR    0x0004
#define PCI_EXT_CAP_ID_ARI    0x000e
#define PCI_EXT_CAP_ID_ATS    0x000f
#define PCI_EXT_CAP_ID_SRIOV  0x0010
#define PCI_EXT_CAP_ID_LTR    0x0018
#define PCI_EXT_CAP_ID_SECPCI 0x0019
#define PCI_EXT_CAP_ID_DVSEC  0x0023

/* MSI capability (offsets from the capability). */
#define PCI_MSI_FLAGS         0x02
#define PCI_MSI_FLAGS_ENABLE  (1u << 0)
#define PCI_MSI_FLAGS_QMASK   (7u << 1)
#define PCI_MSI_FLAGS_QSIZE   (7u << 4)
#define PCI_MSI_FLAGS_64BIT   (1u << 7)
#define PCI_MSI_FLAGS_MASKBIT (1u << 8)
#define PCI_MSI_ADDRESS_LO    0x04
#define PCI_MSI_ADDRESS_HI    0x08 /* 64-bit only */
#define PCI_MSI_DATA_32       0x08
#define PCI_MSI_DATA_64       0x0c
#define PCI_MSI_MASK_32       0x0c
#define PCI_MSI_MASK_64       0x10

/* MSI-X capability and table. */
#define PCI_MSIX_FLAGS              0x02
#define PCI_MSIX_FLAGS_QSIZE        0x07ffu
#define PCI_MSIX_FLAGS_MASKALL      (1u << 14)
#define PCI_MSIX_FLAGS_ENABLE       (1u << 15)
#define PCI_MSIX_TABLE              0x04
#define PCI_MSIX_PBA                0x08
#define PCI_MSIX_BIR_MASK           0x7u
#define PCI_MSIX_ENTRY_SIZE         16
#define PCI_MSIX_ENTRY_ADDR_LO      0x0
#define PCI_MSIX_ENTRY_ADDR_HI      0x4
#define PCI_MSIX_ENTRY_DATA         0x8
#define PCI_MSIX_ENTRY_CTRL         0xc
#define PCI_MSIX_ENTRY_CTRL_MASKBIT (1u << 0)

/* PCI Express capability (offsets from the capability). */
#define PCI_EXP_FLAGS             0x02
#define PCI_EXP_FLAGS_TYPE(flags) (((flags) >> 4) & 0xf)
#define PCI_EXP_FLAGS_SLOT        (1u << 8)
#define PCI_EXP_TYPE_ENDPOINT     0x0
#define PCI_EXP_TYPE_LEG_END      0x1
#define PCI_EXP_TYPE_ROOT_PORT    0x4
#define PCI_EXP_TYPE_UPSTREAM     0x5
#define PCI_EXP_TYPE_DOWNSTREAM   0x6
#define PCI_EXP_TYPE_PCI_BRIDGE   0x7
#define PCI_EXP_TYPE_PCIE_BRIDGE  0x8
#define PCI_EXP_TYPE_RC_END       0x9
#define PCI_EXP_TYPE_RC_EC        0xa
#define PCI_EXP_DEVCAP            0x04
#define PCI_EXP_DEVCTL            0x08
#define PCI_EXP_DEVSTA            0x0a
#define PCI_EXP_LNKCAP            0x0c
#define PCI_EXP_LNKCTL            0x10
#define PCI_EXP_LNKSTA            0x12
#define PCI_EXP_SLTCAP            0x14
#define PCI_EXP_SLTCTL            0x18
#define PCI_EXP_SLTSTA            0x1a

#define PCI_ANY_ID 0xffffffffu

/* Match table entry.  class_code is class << 16 | subclass << 8 | prog_if; only the bits in
 * class_mask are compared (class_mask 0: any class).  A table ends with an all-zero entry. */
struct pci_device_id {
    uint32_t vendor, device;       /* or PCI_ANY_ID */
    uint32_t subvendor, subdevice; /* or PCI_ANY_ID */
    uint32_t class_code, class_mask;
    uintptr_t driver_data; /* the driver's own per-entry value */
};

#define PCI_DEVICE(v, d)                                                                           \
    .vendor = (v), .device = (d), .subvendor = PCI_ANY_ID, .subdevice = PCI_ANY_ID
#define PCI_DEVICE_SUB(v, d, sv, sd)                                                               \
    .vendor = (v), .device = (d), .subvendor = (sv), .subdevice = (sd)
#define PCI_DEVICE_CLASS(cls, mask)                                                                \
    .vendor = PCI_ANY_ID, .device = PCI_ANY_ID, .subvendor = PCI_ANY_ID, .subdevice = PCI_ANY_ID,  \
    .class_code = (cls), .class_mask = (mask)

enum pci_bar_type {
    PCI_BAR_NONE, /* unimplemented, or the upper half of the 64-bit BAR before it */
    PCI_BAR_IO,
    PCI_BAR_MEM32,
    PCI_BAR_MEM64, /* occupies this index and the next */
};

struct pci_bar {
    enum pci_bar_type type;
    bool prefetchable;
    phys_addr_t base; /* bus address as programmed; an I/O BAR's port number */
    uint64_t size;    /* bytes (ports for I/O); 0 when unimplemented or rejected */
};

#define PCI_NUM_BARS  6
#define PCI_ROM_INDEX 6 /* RESOURCE_BAR(6) names the expansion ROM */

/* Bridge (type 1) state as firmware left it; a CardBus bridge (type 2) fills the bus numbers. */
struct pci_bridge_info {
    uint8_t primary_bus, secondary_bus, subordinate_bus;
    uint64_t io_base, io_limit; /* limit < base: window disabled */
    uint64_t mem_base, mem_limit;
    uint64_t pref_base, pref_limit;
    bool pref_64bit;
};

/* The cap_* fields are offsets in config space, 0 when absent. */
struct pci_device {
    struct device dev; /* name "SSSS:BB:DD.F" */

    uint16_t segment;
    uint8_t bus, slot, function;
    uint16_t vendor_id, device_id;
    uint16_t subsystem_vendor_id, subsystem_id; /* bridges: from their SSVID capability */
    uint8_t class_code, subclass, prog_if, revision;
    uint8_t header_type; /* without the multi-function bit */
    bool multifunction;
    uint8_t interrupt_pin;  /* 0 none, 1-4 INTA-INTD */
    uint8_t interrupt_line; /* as firmware programmed it; 0xff unknown */
    struct pci_bar bars[PCI_NUM_BARS];
    struct pci_bar rom;            /* expansion ROM (type MEM32) */
    struct pci_bridge_info bridge; /* header types 1 and 2 */

    uint8_t cap_pm, cap_msi, cap_msix, cap_pcie;
    uint8_t pcie_type;    /* PCI_EXP_TYPE_*, valid with cap_pcie */
    uint16_t config_size; /* 256, or 4096 with extended config space */

    /* Owned by the PCI core. */
    const struct pci_config_access *access;
    void *bar_mappings[PCI_NUM_BARS];
    int msi_irq;         /* -1 when MSI is off */
    int intx_irq;        /* -1 when no INTx handler is claimed */
    unsigned msix_count; /* vectors enabled through pci_enable_msix */
    int *msix_irqs;
    volatile uint8_t *msix_table;
};

#define to_pci_device(d) container_of(d, struct pci_device, dev)

static inline void pci_set_drvdata(struct pci_device *pdev, void *data)
{
    pdev->dev.driver_data = data;
}
static inline void *pci_get_drvdata(struct pci_device *pdev)
{
    return pdev->dev.driver_data;
}
static inline const char *pci_name(const struct pci_device *pdev)
{
    return pdev->dev.name;
}
/* class << 16 | subclass << 8 | prog_if, the form match tables use. */
static inline uint32_t pci_class24(const struct pci_device *pdev)
{
    return (uint32_t)pdev->class_code << 16 | (uint32_t)pdev->subclass << 8 | pdev->prog_if;
}

struct pci_driver {
    const char *name;
    const struct pci_device_id *id_table;
    size_t priv_size; /* private data the core allocates before probe (pci_get_drvdata) */
    /* id is the entry that matched (the most specific one).  0 or a negative error. */
    int (*probe)(struct pci_device *pdev, const struct pci_device_id *id);
    void (*remove)(struct pci_device *pdev);
    struct module *owner; /* THIS_MODULE */
    struct driver driver; /* owned by the PCI core */
};

/* The "pci" bus, for device_for_each filters and tests. */
extern struct bus_type pci_bus_type;

static inline bool dev_is_pci(const struct device *dev)
{
    return dev->bus == &pci_bus_type;
}

int pci_register_driver(struct pci_driver *drv);
void pci_unregister_driver(struct pci_driver *drv);

/* The best entry of a table for a device and its specificity (> 0), or NULL / 0.  Exact
 * device IDs beat vendor-only entries, which beat class entries; more class bits beat fewer. */
const struct pci_device_id *pci_match_id(const struct pci_device_id *table,
                                         const struct pci_device *pdev, int *score);

/* Configuration space.  Offsets beyond dev->config_size or misaligned for the width read as
 * all ones and writes to them are dropped, both with a warning. */
uint8_t pci_read_config8(struct pci_device *pdev, unsigned offset);
uint16_t pci_read_config16(struct pci_device *pdev, unsigned offset);
uint32_t pci_read_config32(struct pci_device *pdev, unsigned offset);
void pci_write_config8(struct pci_device *pdev, unsigned offset, uint8_t value);
void pci_write_config16(struct pci_device *pdev, unsigned offset, uint16_t value);
void pci_write_config32(struct pci_device *pdev, unsigned offset, uint32_t value);

/* Command register bits. */
void pci_enable_bus_master(struct pci_device *pdev);
void pci_disable_bus_master(struct pci_device *pdev);
void pci_enable_memory(struct pci_device *pdev);
void pci_enable_io(struct pci_device *pdev);
void pci_intx_enable(struct pci_device *pdev, bool enable); /* clears/sets INTX_DISABLE */

/* Maps a memory BAR (32- or 64-bit, anywhere in 64 bits) uncached, whole, and enables memory
 * decoding; repeated calls return the same mapping, released when the device goes away.
 * NULL (with a log line) for an I/O or absent BAR, a base of 0 or when mapping fails. */
volatile void *pci_map_bar(struct pci_device *pdev, unsigned index);
/* The port base of an I/O BAR (and enables I/O decoding), or -ENODEV / -EINVAL. */
int pci_bar_io_port(struct pci_device *pdev, unsigned index);

/* Capability offsets, 0 when absent.  The lists are walked with loop and range protection.
 * pci_find_next_capability(pdev, pos, id) continues after the capability at pos (0: from the
 * start), so pci_find_next_capability(pdev, 0, PCI_CAP_ID_VNDR) then (pdev, found, ...) visits
 * every vendor-specific capability. */
uint8_t pci_find_capability(struct pci_device *pdev, uint8_t cap_id);
uint8_t pci_find_next_capability(struct pci_device *pdev, uint8_t pos, uint8_t cap_id);
uint16_t pci_find_ext_capability(struct pci_device *pdev, uint16_t cap_id);
uint16_t pci_find_next_ext_capability(struct pci_device *pdev, uint16_t pos, uint16_t cap_id);

/* Legacy INTx: claims the function's interrupt (level-triggered, shareable) and clears
 * INTX_DISABLE.  The host bridge names the line (the intx_spec hook of the function's config
 * access: on a PC the Interrupt Line register firmware programmed, translated through the
 * MADT's overrides when it is an ISA IRQ; see docs/PCI.md).  Returns the irq handle or -ENODEV
 * (no pin, pin not routed), -EBUSY if already claimed. */
int pci_intx_irq(struct pci_device *pdev, irq_handler_t handler, void *context, const char *name);
void pci_intx_release(struct pci_device *pdev);

/* MSI: one vector (multiple-message capable devices get one).  Disables INTx, unmasks vector 0
 * when per-vector masking exists.  Returns the irq handle or -ENODEV (no MSI capability), -EBUSY
 * (MSI or MSI-X already on), or irq_alloc_msi()'s error. */
int pci_enable_msi(struct pci_device *pdev, irq_handler_t handler, void *context, const char *name);
void pci_disable_msi(struct pci_device *pdev);

/* MSI-X: vector i is table entry i and calls vectors[i].handler(vectors[i].context).  Maps the
 * table (BIR and offset from the capability; it may share a BAR with other registers), programs
 * the entries, clears the function mask and each used entry's mask bit (other control bits are
 * kept), disables INTx.  count must be 1..pci_msix_table_size().  Returns count, or -ENODEV,
 * -EBUSY, -EINVAL, -ENOMEM, or an allocation error (nothing stays allocated on error). */
struct pci_msix_vector {
    irq_handler_t handler;
    void *context;
    const char *name;
    unsigned cpu; /* where the interrupt is delivered: 0, the boot CPU, unless said */
};
int pci_msix_table_size(struct pci_device *pdev); /* entries, or -ENODEV */
int pci_enable_msix(struct pci_device *pdev, const struct pci_msix_vector *vectors, unsigned count);
void pci_disable_msix(struct pci_device *pdev);
/* Masks/unmasks one enabled entry (0 or -EINVAL). */
int pci_msix_mask(struct pci_device *pdev, unsigned entry);
int pci_msix_unmask(struct pci_device *pdev, unsigned entry);
/* The irq handle of an enabled entry (for irq_count), or -EINVAL. */
int pci_msix_irq(struct pci_device *pdev, unsigned entry);

/* Managed forms of the interrupt calls (<rayos/devres.h>): the same results, and the interrupt
 * is released with the driver's other managed resources. */
int devm_pci_intx_irq(struct pci_device *pdev, irq_handler_t handler, void *context,
                      const char *name);
int devm_pci_enable_msi(struct pci_device *pdev, irq_handler_t handler, void *context,
                        const char *name);
int devm_pci_enable_msix(struct pci_device *pdev, const struct pci_msix_vector *vectors,
                         unsigned count);

/* Lookup by address (a reference the caller drops with device_put(&pdev->dev)), or NULL. */
struct pci_device *pci_find_device(uint16_t segment, uint8_t bus, uint8_t slot, uint8_t function);

#endif
