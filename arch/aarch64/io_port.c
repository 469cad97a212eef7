/* PCI I/O space for the port accessors of <asm/io.h>: the host bridge's I/O window, mapped by
 * whoever describes the bridge (the device-tree PCI host code). */
#include <rayos/io.h>

volatile uint8_t *io_port_base;
uint32_t io_port_size;

void io_port_window(void *virt, uint32_t size)
{
    io_port_base = virt;
    io_port_size = size;
}
