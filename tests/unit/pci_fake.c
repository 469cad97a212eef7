/* Synthetic config space and kernel-service fakes for the PCI unit tests. */
#include "pci_fake.h"

#include <rayos/bytes.h>
#include <rayos/dma.h>
#include <rayos/errno.h>
#include <rayos/io.h>
#include <rayos/irq.h>
#include <string.h>

#define MAX_FAKE_FUNCTIONS 64

static struct fake_function functions[MAX_FAKE_FUNCTIONS];
static unsigned function_count;     /* functions[0 .. function_count - 1] are used, nothing else */
static uint8_t buses_used[256 / 8]; /* any segment: lets whole-bus probes skip the search */
unsigned fake_reads;
unsigned fake_space_size = 4096;
uint8_t fake_mmio[65536];
phys_addr_t fake_mmio_base = 0x800000000ull;
unsigned fake_irqs_allocated, fake_irqs_released;

bool fake_bus_has_functions(uint8_t bus)
{
    return buses_used[bus / 8] & (1u << (bus % 8));
}

static struct fake_function *lookup(uint16_t segment, uint8_t bus, uint8_t slot, uint8_t function)
{
    if (!fake_bus_has_functions(bus))
        return NULL;
    for (unsigned i = 0; i < function_count; i++) {
        struct fake_function *f = &functions[i];
        if (f->segment == segment && f->bus == bus && f->slot == slot && f->function == function)
            return f;
    }
    return NULL;
}

static uint32_t fake_read(void *context, uint16_t segment, uint8_t bus, uint8_t slot,
                          uint8_t function, uint16_t offset, unsigned width)
{
    fake_reads++;
    struct fake_function *f = lookup(segment, bus, slot, function);
    if (!f)
        return 0xffffffffu;
    uint32_t value = 0;
    for (unsigned i = 0; i < width; i++)
        value |= (uint32_t)f->config[offset + i] << (8 * i);
    return value;
}

static int bar_slot(unsigned offset, uint8_t header_type)
{
    if (offset >= 0x10 && offset < 0x28 && header_type == 0)
        return (int)(offset - 0x10) / 4;
    if (offset >= 0x10 && offset < 0x18 && header_type == 1)
        return (int)(offset - 0x10) / 4;
    if (offset == 0x10 && header_type == 2)
        return 0; /* CardBus socket registers */
    if ((offset == 0x30 && header_type == 0) || (offset == 0x38 && header_type == 1))
        return 6;
    return -1;
}

static void fake_write(void *context, uint16_t segment, uint8_t bus, uint8_t slot, uint8_t function,
                       uint16_t offset, unsigned width, uint32_t value)
{
    struct fake_function *f = lookup(segment, bus, slot, function);
    if (!f)
        return;
    int bar = bar_slot(offset & ~3u, f->config[0x0e] & 0x7f);
    if (bar >= 0 && width == 4) {
        uint32_t mask = f->bar_mask[bar];
        uint32_t old = get_le32(&f->config[offset]);
        uint32_t fixed = bar == 6 ? 0 : (old & ~mask) & (old & 1 ? 0x3u : 0xfu);
        uint32_t keep = bar == 6 ? (value & 1) : fixed;
        if (get_le16(&f->config[0x04]) & 3)
            f->sized_with_decode_on = true;
        f->bar_writes++;
        put_le32(&f->config[offset], (value & mask) | keep);
        return;
    }
    if (f->rw1c_offset && offset == f->rw1c_offset && width == 2) {
        put_le16(&f->config[offset], get_le16(&f->config[offset]) & (uint16_t)~value);
        return;
    }
    for (unsigned i = 0; i < width; i++)
        f->config[offset + i] = (uint8_t)(value >> (8 * i));
}

static unsigned fake_size(void *context, uint16_t segment, uint8_t bus)
{
    return fake_space_size;
}

/* Like a PC's firmware routing: the Interrupt Line register as a level-triggered line. */
static int fake_intx_spec(void *context, struct pci_device *pdev, unsigned pin,
                          struct irq_spec *out)
{
    if (pin < 1 || pin > 4 || pdev->interrupt_line == 0 || pdev->interrupt_line == 0xff)
        return -ENODEV;
    *out = (struct irq_spec){pdev->interrupt_line, IRQ_LEVEL_LOW};
    return 0;
}

struct pci_config_access fake_access = {
    .name = "fake",
    .read = fake_read,
    .write = fake_write,
    .space_size = fake_size,
    .intx_spec = fake_intx_spec,
};

/* Only the functions in use were written: clearing those (not all 64 of 4 KiB each) keeps a
 * reset cheap for fuzz_pci_scan, which resets for every input. */
void fake_reset(void)
{
    memset(functions, 0, function_count * sizeof(functions[0]));
    function_count = 0;
    memset(buses_used, 0, sizeof(buses_used));
    memset(fake_mmio, 0, sizeof(fake_mmio));
    fake_reads = 0;
    fake_space_size = 4096;
    fake_irqs_allocated = fake_irqs_released = 0;
    pci_scan_reset();
}

struct fake_function *fake_add(uint8_t bus, uint8_t slot, uint8_t function, uint16_t vendor,
                               uint16_t device, uint32_t class24, uint8_t header_type)
{
    if (function_count == MAX_FAKE_FUNCTIONS)
        return NULL;
    struct fake_function *f = &functions[function_count++];
    buses_used[bus / 8] |= (uint8_t)(1u << (bus % 8));
    f->bus = bus;
    f->slot = slot;
    f->function = function;
    put_le16(&f->config[0x00], vendor);
    put_le16(&f->config[0x02], device);
    put_le16(&f->config[0x04], 0x0007); /* I/O, memory, bus master on, as firmware leaves */
    put_le32(&f->config[0x08], class24 << 8 | 0x00);
    f->config[0x0e] = header_type;
    return f;
}

void fake_put8(struct fake_function *f, unsigned offset, uint8_t value)
{
    f->config[offset] = value;
}
void fake_put16(struct fake_function *f, unsigned offset, uint16_t value)
{
    put_le16(&f->config[offset], value);
}
void fake_put32(struct fake_function *f, unsigned offset, uint32_t value)
{
    put_le32(&f->config[offset], value);
}
uint32_t fake_get32(struct fake_function *f, unsigned offset)
{
    return get_le32(&f->config[offset]);
}

void fake_bar_raw(struct fake_function *f, unsigned index, uint32_t value, uint32_t mask)
{
    f->bar_mask[index] = mask;
    put_le32(&f->config[0x10 + 4 * index], value);
}

void fake_bar(struct fake_function *f, unsigned index, enum fake_bar_kind kind, uint64_t base,
              uint64_t size)
{
    uint64_t mask = ~(size - 1);
    switch (kind) {
    case FAKE_BAR_IO:
        fake_bar_raw(f, index, (uint32_t)base | 1, (uint32_t)mask & 0xfffcu);
        break;
    case FAKE_BAR_MEM32:
        fake_bar_raw(f, index, (uint32_t)base, (uint32_t)mask & ~0xfu);
        break;
    case FAKE_BAR_MEM64:
    case FAKE_BAR_MEM64_PREF:
        fake_bar_raw(f, index, (uint32_t)base | 0x4 | (kind == FAKE_BAR_MEM64_PREF ? 0x8 : 0),
                     (uint32_t)mask & ~0xfu);
        fake_bar_raw(f, index + 1, (uint32_t)(base >> 32), (uint32_t)(mask >> 32));
        break;
    }
}

void fake_rom(struct fake_function *f, uint32_t base, uint32_t size)
{
    unsigned offset = (f->config[0x0e] & 0x7f) == 1 ? 0x38 : 0x30;
    f->bar_mask[6] = ~(size - 1) & 0xfffff800u;
    put_le32(&f->config[offset], base);
}

void fake_cap(struct fake_function *f, uint8_t offset, uint8_t id)
{
    f->config[0x06] |= 0x10; /* capability list present */
    if (f->config[0x34] == 0) {
        f->config[0x34] = offset;
    } else {
        uint8_t at = f->config[0x34];
        for (int guard = 0; guard < 48 && f->config[at + 1]; guard++)
            at = f->config[at + 1];
        f->config[at + 1] = offset;
    }
    f->config[offset] = id;
    f->config[offset + 1] = 0;
}

void fake_ext_cap(struct fake_function *f, uint16_t offset, uint16_t id, uint16_t next)
{
    put_le32(&f->config[offset], (uint32_t)next << 20 | 1u << 16 | id);
}

void fake_bridge(struct fake_function *f, uint8_t primary, uint8_t secondary, uint8_t subordinate)
{
    f->config[0x18] = primary;
    f->config[0x19] = secondary;
    f->config[0x1a] = subordinate;
}

/* ---- kernel services the PCI core uses ---- */

void *map_phys(phys_addr_t phys, size_t size, enum map_attr attr)
{
    if (phys >= fake_mmio_base && phys + size <= fake_mmio_base + sizeof(fake_mmio))
        return fake_mmio + (phys - fake_mmio_base);
    return NULL;
}

void unmap_phys(void *virt, size_t size)
{
}

/* Managed DMA buffers (devm_dma_alloc) are never taken by the code under test here. */
void *dma_alloc(size_t size, size_t align, phys_addr_t *phys)
{
    return NULL;
}

void dma_free(void *virt, size_t size)
{
}

int irq_alloc_msi(uint32_t device_id, irq_handler_t handler, void *context, const char *name,
                  unsigned cpu, struct msi_message *message)
{
    message->address = 0xfee00000u | (uint64_t)cpu << 12; /* the CPU as its APIC id */
    message->data = 0x40 + fake_irqs_allocated;
    return 100 + (int)fake_irqs_allocated++;
}

struct irq_spec fake_last_claim;

int irq_claim(const struct irq_spec *spec, irq_handler_t handler, void *context, const char *name)
{
    fake_irqs_allocated++;
    fake_last_claim = *spec;
    return (int)spec->line;
}

void irq_release(int irq)
{
    fake_irqs_released++;
}
