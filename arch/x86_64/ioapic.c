/* IOAPICs from the MADT: route a global system interrupt (GSI) to a vector on this CPU. */
#define pr_fmt(fmt) "ioapic: " fmt
#include <rayos/acpi.h>
#include <rayos/io.h>
#include <rayos/printk.h>
#include "x86.h"

#define IOAPIC_MAX 8
struct ioapic {
    volatile uint8_t *registers;
    uint32_t gsi_base;
    uint32_t pins;
};
static struct ioapic ioapics[IOAPIC_MAX];
static unsigned ioapic_count;

static uint32_t ioapic_read(struct ioapic *io, uint8_t reg)
{
    mmio_write32(io->registers, reg);
    return mmio_read32(io->registers + 0x10);
}
static void ioapic_write(struct ioapic *io, uint8_t reg, uint32_t v)
{
    mmio_write32(io->registers, reg);
    mmio_write32(io->registers + 0x10, v);
}

static struct ioapic *ioapic_for(unsigned gsi, unsigned *pin)
{
    for (unsigned i = 0; i < ioapic_count; i++) {
        if (gsi >= ioapics[i].gsi_base && gsi < ioapics[i].gsi_base + ioapics[i].pins) {
            *pin = gsi - ioapics[i].gsi_base;
            return &ioapics[i];
        }
    }
    return NULL;
}

bool ioapic_init(void)
{
    const struct acpi_madt_info *madt = acpi_madt();
    if (!madt)
        return false;
    for (unsigned i = 0; i < madt->ioapic_count && ioapic_count < IOAPIC_MAX; i++) {
        struct ioapic *io = &ioapics[ioapic_count];
        io->registers = map_phys(madt->ioapics[i].address, 4096, MAP_UNCACHED);
        if (!io->registers)
            continue;
        io->gsi_base = madt->ioapics[i].gsi_base;
        io->pins = ((ioapic_read(io, 1) >> 16) & 0xff) + 1;
        for (unsigned pin = 0; pin < io->pins; pin++)
            ioapic_write(io, (uint8_t)(0x10 + 2 * pin), 1u << 16); /* masked */
        pr_info("IOAPIC %u at 0x%llx, GSI %u-%u", madt->ioapics[i].id,
                (unsigned long long)madt->ioapics[i].address, io->gsi_base,
                io->gsi_base + io->pins - 1);
        ioapic_count++;
    }
    return ioapic_count > 0;
}

bool ioapic_route(unsigned gsi, uint8_t vector, bool level, bool active_low)
{
    unsigned pin;
    struct ioapic *io = ioapic_for(gsi, &pin);
    if (!io)
        return false;
    uint32_t low = vector | (active_low ? 1u << 13 : 0) | (level ? 1u << 15 : 0);
    ioapic_write(io, (uint8_t)(0x11 + 2 * pin), lapic_id() << 24);
    ioapic_write(io, (uint8_t)(0x10 + 2 * pin), low);
    return true;
}

void ioapic_mask(unsigned gsi, bool masked)
{
    unsigned pin;
    struct ioapic *io = ioapic_for(gsi, &pin);
    if (!io)
        return;
    uint32_t low = ioapic_read(io, (uint8_t)(0x10 + 2 * pin));
    low = masked ? low | (1u << 16) : low & ~(1u << 16);
    ioapic_write(io, (uint8_t)(0x10 + 2 * pin), low);
}
