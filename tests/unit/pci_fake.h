/* A synthetic PCI configuration space for unit tests: functions with BARs that size like
 * hardware, capability lists written byte by byte, and counters that tests assert on. */
#ifndef TESTS_UNIT_PCI_FAKE_H
#define TESTS_UNIT_PCI_FAKE_H

#include <rayos/irq.h>
#include <rayos/types.h>

#include "drivers/pci/pci_core.h"

enum fake_bar_kind { FAKE_BAR_IO, FAKE_BAR_MEM32, FAKE_BAR_MEM64, FAKE_BAR_MEM64_PREF };

struct fake_function {
    uint16_t segment;
    uint8_t bus, slot, function;
    uint8_t config[4096];
    uint32_t bar_mask[7];      /* implemented address bits per BAR dword (6 = ROM) */
    uint16_t rw1c_offset;      /* a 16-bit write-1-to-clear register (slot status), or 0 */
    bool sized_with_decode_on; /* a BAR was written while I/O or memory decoding was on */
    unsigned bar_writes;
};

extern struct pci_config_access fake_access;
extern unsigned fake_reads;      /* config reads since fake_reset() */
extern unsigned fake_space_size; /* 256 (mechanism #1) or 4096 (ECAM) */

void fake_reset(void);
struct fake_function *fake_add(uint8_t bus, uint8_t slot, uint8_t function, uint16_t vendor,
                               uint16_t device, uint32_t class24, uint8_t header_type);
/* Whether fake_add put any function on bus (reads of every other bus answer all ones). */
bool fake_bus_has_functions(uint8_t bus);
/* A raw mask for malformed BARs. */
void fake_bar_raw(struct fake_function *f, unsigned index, uint32_t value, uint32_t mask);
void fake_bar(struct fake_function *f, unsigned index, enum fake_bar_kind kind, uint64_t base,
              uint64_t size);
void fake_rom(struct fake_function *f, uint32_t base, uint32_t size);
/* Appends a capability (standard list) at offset with the given id; links it after the last. */
void fake_cap(struct fake_function *f, uint8_t offset, uint8_t id);
void fake_ext_cap(struct fake_function *f, uint16_t offset, uint16_t id, uint16_t next);
void fake_bridge(struct fake_function *f, uint8_t primary, uint8_t secondary, uint8_t subordinate);
void fake_put8(struct fake_function *f, unsigned offset, uint8_t value);
void fake_put16(struct fake_function *f, unsigned offset, uint16_t value);
void fake_put32(struct fake_function *f, unsigned offset, uint32_t value);
uint32_t fake_get32(struct fake_function *f, unsigned offset);

/* Memory behind BARs: map_phys() of [fake_mmio_base, +size) returns fake_mmio. */
extern uint8_t fake_mmio[65536];
extern phys_addr_t fake_mmio_base;
extern unsigned fake_irqs_allocated, fake_irqs_released;
/* What the last irq_claim() asked for (fake_access routes INTx to the Interrupt Line register,
 * level-triggered active-low). */
extern struct irq_spec fake_last_claim;

#endif
