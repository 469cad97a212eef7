/* LOCAL ONLY, never committed: PCI boot scan until the pci branch has it. */
#include <rayos/init.h>
#include <rayos/io.h>
#include "pci/pci_core.h"
static uint32_t m1_read(void *c, uint16_t seg, uint8_t bus, uint8_t slot, uint8_t fn, uint16_t off,
                        unsigned width)
{
    (void)c;
    (void)seg;
    io_write32(0xcf8, 0x80000000u | bus << 16 | slot << 11 | fn << 8 | (off & 0xfc));
    uint32_t v = io_read32(0xcfc);
    v >>= (off & 3) * 8;
    return width == 4 ? v : width == 2 ? (v & 0xffff) : (v & 0xff);
}
static void m1_write(void *c, uint16_t seg, uint8_t bus, uint8_t slot, uint8_t fn, uint16_t off,
                     unsigned width, uint32_t value)
{
    (void)c;
    (void)seg;
    io_write32(0xcf8, 0x80000000u | bus << 16 | slot << 11 | fn << 8 | (off & 0xfc));
    if (width == 4)
        io_write32(0xcfc, value);
    else if (width == 2)
        io_write16(0xcfc + (off & 2), (uint16_t)value);
    else
        io_write8(0xcfc + (off & 3), (uint8_t)value);
}
static unsigned m1_size(void *c, uint16_t seg, uint8_t bus)
{
    (void)c;
    (void)seg;
    (void)bus;
    return 256;
}
static const struct pci_config_access m1 = {"mech1", NULL, m1_read, m1_write, m1_size};
static int scaffold_pci(void)
{
    pci_core_init();
    struct pci_scan_stats stats = {0};
    return pci_scan_root_bus(&m1, 0, 0, NULL, &stats);
}
INITCALL(scaffold_pci, INIT_BUS);
