/* The PCI core's internal interfaces: how config space is reached, enumeration, the ID
 * database and the lspci formatter.  Portable: unit tests drive it with synthetic config
 * spaces through struct pci_config_access. */
#ifndef DRIVERS_PCI_PCI_CORE_H
#define DRIVERS_PCI_PCI_CORE_H

#include <rayos/pci.h>
#include <rayos/types.h>
#include <stdarg.h>

/* One way of reaching configuration space (mechanism #1, ECAM, a test's memory image), and
 * the interrupt routing of the host bridge behind it: every function scanned through an
 * access keeps it (pdev->access). */
struct irq_spec;
struct pci_config_access {
    const char *name;
    void *context;
    /* width is 1, 2 or 4 and offset is aligned to it and below space_size(); a function that
     * does not exist reads as all ones. */
    uint32_t (*read)(void *context, uint16_t segment, uint8_t bus, uint8_t slot, uint8_t function,
                     uint16_t offset, unsigned width);
    void (*write)(void *context, uint16_t segment, uint8_t bus, uint8_t slot, uint8_t function,
                  uint16_t offset, unsigned width, uint32_t value);
    /* Bytes of config space this access reaches on a bus: 256 or 4096. */
    unsigned (*space_size)(void *context, uint16_t segment, uint8_t bus);
    /* The system interrupt a function's INTx pin raises (pin 1-4 for INTA-INTD as the
     * function itself reports it; swizzling across bridges up to the host bridge is the hook's
     * business): on a PC the Interrupt Line register firmware wrote (host.c), on a device tree
     * machine the host bridge's interrupt-map.  0 with *out filled, or a negative error after
     * logging why (-ENODEV: not routed).  NULL: the host bridge routes no INTx. */
    int (*intx_spec)(void *context, struct pci_device *pdev, unsigned pin, struct irq_spec *out);
    /* The device ID a function's MSIs carry to the MSI controller (an ITS's): 0 with *out, or a
     * negative error after logging why.  NULL: the requester ID (x86's MSIs carry none that
     * matters; a device tree's msi-map may translate it). */
    int (*msi_device_id)(void *context, struct pci_device *pdev, uint32_t *out);
};

/* What the function's memory writes (and so its MSIs) carry as their requester ID. */
static inline uint32_t pci_requester_id(const struct pci_device *pdev)
{
    return (uint32_t)pdev->bus << 8 | (uint32_t)pdev->slot << 3 | pdev->function;
}

/* Raw access by address, for enumeration before a struct pci_device exists. */
uint32_t pci_access_read(const struct pci_config_access *access, uint16_t segment, uint8_t bus,
                         uint8_t slot, uint8_t function, uint16_t offset, unsigned width);
void pci_access_write(const struct pci_config_access *access, uint16_t segment, uint8_t bus,
                      uint8_t slot, uint8_t function, uint16_t offset, unsigned width,
                      uint32_t value);

/* Registers the "pci" and "root" buses (idempotent). */
int pci_core_init(void);
/* A device on the "root" bus to hang a hierarchy from ("pci0000:00", "platform"). */
struct device *root_device_create(const char *name);

struct pci_scan_stats {
    unsigned functions;
    unsigned buses;
    unsigned warnings;
    uint64_t bar_sizing_ns; /* part of the scan spent sizing BARs (decode toggles) */
    unsigned root_buses;
    unsigned peer_probe_reads; /* vendor ID reads looking for peer root buses */
};

/* Enumerates a root bus depth-first through bridges, registering every function under parent
 * (NULL: no parent); the caller logs them (pci_log_function) once timing is done.  Buses already
 * scanned in the segment are warned about and skipped. */
int pci_scan_root_bus(const struct pci_config_access *access, uint16_t segment, uint8_t bus,
                      struct device *parent, struct pci_scan_stats *stats);
/* Peer root buses, the way Linux probes for them on x86: every bus in [first, last] of the
 * segment that no scan has reached yet is probed at function 0 of each slot (through probe,
 * which may be a cheaper access than access); a bus where something answers is scanned as a
 * root bus through access, under the device make_root returns (NULL: none).  Returns how many
 * root buses were found. */
unsigned pci_scan_peer_root_buses(const struct pci_config_access *access,
                                  const struct pci_config_access *probe, uint16_t segment,
                                  unsigned first, unsigned last,
                                  struct device *(*make_root)(uint16_t segment, uint8_t bus,
                                                              void *context),
                                  void *context, struct pci_scan_stats *stats);
/* True once a scan has reached the bus. */
bool pci_bus_scanned(uint16_t segment, uint8_t bus);
/* One log line describing a function (IDs, class, BARs). */
void pci_log_function(struct pci_device *pdev);
/* Forgets which buses were scanned (tests start over). */
void pci_scan_reset(void);
/* Scans device 0 behind a bridge again (hot-plug): new functions are registered, returns how
 * many. */
int pci_scan_behind_bridge(struct pci_device *bridge, struct pci_scan_stats *stats);

/* Bridge windows handed out to functions firmware did not configure (hot-plug). */
struct pci_window {
    uint64_t next, limit;
    bool usable;
};
struct pci_windows {
    struct pci_window io, mem, pref;
    unsigned failed_mask; /* BARs that did not fit */
};
void pci_windows_from_bridge(struct pci_windows *windows, const struct pci_device *bridge);
/* Assigns every implemented BAR whose base is 0; returns how many were assigned. */
unsigned pci_assign_bars(struct pci_device *pdev, struct pci_windows *windows);

/* Resource assignment without firmware (assign_all.c): numbers every bridge's buses within
 * the host's bus range, sizes and assigns every BAR and bridge window from the host's windows
 * and turns decoding on.  What does not fit is warned about by name and left unassigned with
 * decoding off.  Call before scanning the host's root bus; for hosts whose firmware_assigned
 * is false (device trees), or on x86 with pci=assign-all. */
struct pci_host_bridge_desc;
struct pci_assign_stats {
    unsigned functions, buses, bridges, assigned_bars;
    unsigned failed_bars, failed_functions, failed_bridges;
};
int pci_assign_all(const struct pci_config_access *access, const struct pci_host_bridge_desc *host,
                   struct pci_assign_stats *stats);

/* Hot-plug: checks one PCIe port's slot status and handles presence changes and attention
 * button presses (enumerate and bind, or unbind, remove and power the slot off).  Returns
 * true if something happened. */
bool pci_hotplug_check_port(struct pci_device *port);
bool pci_is_hotplug_port(struct pci_device *pdev);

/* Capability walks with loop and range protection; report logs malformed lists. */
uint8_t pci_walk_capabilities(struct pci_device *pdev, uint8_t after, uint8_t cap_id, bool report);
uint16_t pci_walk_ext_capabilities(struct pci_device *pdev, uint16_t after, uint16_t cap_id,
                                   bool report);
/* Walks both lists logging every malformation; returns how many lists had to be cut. */
unsigned pci_check_capability_lists(struct pci_device *pdev);
/* Every capability in list order: fills ids/offsets, returns the count (at most max). */
unsigned pci_list_capabilities(struct pci_device *pdev, uint8_t *ids, uint8_t *offsets,
                               unsigned max);
unsigned pci_list_ext_capabilities(struct pci_device *pdev, uint16_t *ids, uint16_t *offsets,
                                   unsigned max);

/* MCFG windows against the boot memory map (ecam.c): false, with the reason in why, for a
 * window that is misaligned, beyond physical space, in the first MiB or over RAM of any kind. */
struct acpi_mcfg_window;
struct memory_region;
bool pci_ecam_window_usable(const struct acpi_mcfg_window *window, const struct memory_region *map,
                            unsigned count, char *why, size_t size);
/* False, with the reason, when a window describes buses an accepted one already covers or its
 * memory overlaps the accepted one's (configuration space would alias). */
bool pci_ecam_windows_disjoint(const struct acpi_mcfg_window *window,
                               const struct acpi_mcfg_window *accepted, char *why, size_t size);
/* The physical range [start, end) a window's buses occupy. */
void pci_ecam_window_range(const struct acpi_mcfg_window *window, uint64_t *start, uint64_t *end);

/* BAR sizing for a freshly read function (decoding off during sizing, originals restored). */
void pci_read_bars(struct pci_device *pdev);
void pci_unmap_bars(struct pci_device *pdev);

/* Interrupt state cleanup when a device goes away (msi.c). */
void pci_release_irqs(struct pci_device *pdev);

/* Names from pci.ids (generated table).  NULL when unknown. */
const char *pci_ids_vendor(uint16_t vendor);
const char *pci_ids_device(uint16_t vendor, uint16_t device);
const char *pci_ids_subsystem(uint16_t vendor, uint16_t device, uint16_t subvendor,
                              uint16_t subdevice);
const char *pci_ids_class(uint8_t class_code);
const char *pci_ids_subclass(uint8_t class_code, uint8_t subclass);
const char *pci_ids_prog_if(uint8_t class_code, uint8_t subclass, uint8_t prog_if);

/* A growing text buffer for listings. */
struct text_buffer {
    char *data;
    size_t length, capacity;
    bool failed; /* an allocation failed: the text is truncated */
};
void text_init(struct text_buffer *text);
void text_printf(struct text_buffer *text, const char *fmt, ...) __printf(2, 3);
void text_free(struct text_buffer *text);

/* lspci: one function in pciutils' terse form (lspci), numeric form (lspci -n) or with
 * details (lspci -v); show_domain prefixes "SSSS:". */
void lspci_format(struct text_buffer *text, struct pci_device *pdev, bool verbose, bool numeric,
                  bool show_domain);
/* All registered functions sorted by address; the domain is shown when any is non-zero. */
void lspci_all(struct text_buffer *text, bool verbose, bool numeric);

#endif
