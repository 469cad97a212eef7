/* The 8259A pair: remapped away from the exception vectors, and either masked entirely (when
 * the IOAPIC takes over) or used as the fallback interrupt controller. */
#include <rayos/io.h>
#include "x86.h"

#define PIC1_COMMAND    0x20
#define PIC1_DATA       0x21
#define PIC2_COMMAND    0xa0
#define PIC2_DATA       0xa1
#define PIC_VECTOR_BASE 32

static uint16_t mask = 0xffff;

static void pic_write_mask(void)
{
    io_write8(PIC1_DATA, (uint8_t)mask);
    io_write8(PIC2_DATA, (uint8_t)(mask >> 8));
}

void pic_init_legacy(void)
{
    io_write8(PIC1_COMMAND, 0x11); /* ICW1: edge, cascade, ICW4 follows */
    io_write8(PIC2_COMMAND, 0x11);
    io_write8(PIC1_DATA, PIC_VECTOR_BASE);
    io_write8(PIC2_DATA, PIC_VECTOR_BASE + 8);
    io_write8(PIC1_DATA, 4); /* slave on IRQ2 */
    io_write8(PIC2_DATA, 2);
    io_write8(PIC1_DATA, 1); /* 8086 mode */
    io_write8(PIC2_DATA, 1);
    mask = 0xffff & ~(1u << 2); /* cascade line stays open */
    pic_write_mask();
}

void pic_disable(void)
{
    pic_init_legacy(); /* remap first so a spurious IRQ cannot masquerade as an exception */
    mask = 0xffff;
    pic_write_mask();
}

void pic_mask(unsigned irq, bool masked)
{
    if (irq >= 16)
        return;
    if (masked)
        mask |= (uint16_t)(1u << irq);
    else
        mask &= (uint16_t) ~(1u << irq);
    pic_write_mask();
}

void pic_eoi(unsigned irq)
{
    if (irq >= 8)
        io_write8(PIC2_COMMAND, 0x20);
    io_write8(PIC1_COMMAND, 0x20);
}
