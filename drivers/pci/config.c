/* Configuration space access for drivers: bounds and alignment checked, then handed to the
 * access method the function was enumerated through. */
#define pr_fmt(fmt) "pci: " fmt

#include <rayos/pci.h>
#include <rayos/printk.h>

#include "pci_core.h"

static uint32_t all_ones(unsigned width)
{
    return width == 4 ? 0xffffffffu : (1u << (width * 8)) - 1;
}

uint32_t pci_access_read(const struct pci_config_access *access, uint16_t segment, uint8_t bus,
                         uint8_t slot, uint8_t function, uint16_t offset, unsigned width)
{
    if (slot >= 32 || function >= 8 || offset % width != 0 ||
        offset + width > access->space_size(access->context, segment, bus))
        return all_ones(width);
    return access->read(access->context, segment, bus, slot, function, offset, width) &
           all_ones(width);
}

void pci_access_write(const struct pci_config_access *access, uint16_t segment, uint8_t bus,
                      uint8_t slot, uint8_t function, uint16_t offset, unsigned width,
                      uint32_t value)
{
    if (slot >= 32 || function >= 8 || offset % width != 0 ||
        offset + width > access->space_size(access->context, segment, bus))
        return;
    access->write(access->context, segment, bus, slot, function, offset, width,
                  value & all_ones(width));
}

static bool config_offset_ok(struct pci_device *pdev, unsigned offset, unsigned width,
                             const char *what)
{
    if (offset % width == 0 && offset + width <= pdev->config_size)
        return true;
    pr_warn("%s: config %s of %u bytes at 0x%x outside its %u-byte space or misaligned\n",
            pci_name(pdev), what, width, offset, pdev->config_size);
    return false;
}

static uint32_t config_read(struct pci_device *pdev, unsigned offset, unsigned width)
{
    if (!config_offset_ok(pdev, offset, width, "read"))
        return all_ones(width);
    return pci_access_read(pdev->access, pdev->segment, pdev->bus, pdev->slot, pdev->function,
                           (uint16_t)offset, width);
}

static void config_write(struct pci_device *pdev, unsigned offset, unsigned width, uint32_t value)
{
    if (config_offset_ok(pdev, offset, width, "write"))
        pci_access_write(pdev->access, pdev->segment, pdev->bus, pdev->slot, pdev->function,
                         (uint16_t)offset, width, value);
}

uint8_t pci_read_config8(struct pci_device *pdev, unsigned offset)
{
    return (uint8_t)config_read(pdev, offset, 1);
}
uint16_t pci_read_config16(struct pci_device *pdev, unsigned offset)
{
    return (uint16_t)config_read(pdev, offset, 2);
}
uint32_t pci_read_config32(struct pci_device *pdev, unsigned offset)
{
    return config_read(pdev, offset, 4);
}
void pci_write_config8(struct pci_device *pdev, unsigned offset, uint8_t value)
{
    config_write(pdev, offset, 1, value);
}
void pci_write_config16(struct pci_device *pdev, unsigned offset, uint16_t value)
{
    config_write(pdev, offset, 2, value);
}
void pci_write_config32(struct pci_device *pdev, unsigned offset, uint32_t value)
{
    config_write(pdev, offset, 4, value);
}

static void command_update(struct pci_device *pdev, uint16_t set, uint16_t clear)
{
    uint16_t old = pci_read_config16(pdev, PCI_COMMAND);
    uint16_t new = (uint16_t)((old & ~clear) | set);
    if (new != old)
        pci_write_config16(pdev, PCI_COMMAND, new);
}

void pci_enable_bus_master(struct pci_device *pdev)
{
    command_update(pdev, PCI_COMMAND_MASTER, 0);
}
void pci_disable_bus_master(struct pci_device *pdev)
{
    command_update(pdev, 0, PCI_COMMAND_MASTER);
}
void pci_enable_memory(struct pci_device *pdev)
{
    command_update(pdev, PCI_COMMAND_MEMORY, 0);
}
void pci_enable_io(struct pci_device *pdev)
{
    command_update(pdev, PCI_COMMAND_IO, 0);
}
void pci_intx_enable(struct pci_device *pdev, bool enable)
{
    if (enable)
        command_update(pdev, 0, PCI_COMMAND_INTX_DISABLE);
    else
        command_update(pdev, PCI_COMMAND_INTX_DISABLE, 0);
}
