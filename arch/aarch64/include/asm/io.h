/* AArch64 MMIO, "port" I/O and barriers (see <rayos/io.h>).  AArch64 has no I/O instructions:
 * PCI I/O space is a window of physical addresses that the PCI host bridge describes, and the
 * port accessors become MMIO at the window's mapping (io_port_window(), set by the host bridge
 * code).  A port outside the window reads as all ones and ignores writes, as an unclaimed port
 * does on a PC. */
#ifndef ASM_IO_H
#define ASM_IO_H

#include <stdint.h>

extern volatile uint8_t *io_port_base;
extern uint32_t io_port_size;

#define A64_MMIO(bits, rsuffix, reg)                                                               \
    static inline uint##bits##_t mmio_read##bits(const volatile void *a)                           \
    {                                                                                              \
        uint##bits##_t v;                                                                          \
        __asm__ volatile("ldr" rsuffix " %" reg "0, [%1]" : "=r"(v) : "r"(a) : "memory");          \
        return v;                                                                                  \
    }                                                                                              \
    static inline void mmio_write##bits(volatile void *a, uint##bits##_t v)                        \
    {                                                                                              \
        __asm__ volatile("str" rsuffix " %" reg "0, [%1]" : : "rZ"(v), "r"(a) : "memory");         \
    }
A64_MMIO(8, "b", "w")
A64_MMIO(16, "h", "w")
A64_MMIO(32, "", "w")
A64_MMIO(64, "", "x")
#undef A64_MMIO

static inline volatile void *io_port_address(uint16_t port, unsigned width)
{
    if (!io_port_base || (uint32_t)port + width > io_port_size)
        return 0;
    return io_port_base + port;
}

static inline uint8_t io_read8(uint16_t port)
{
    volatile void *a = io_port_address(port, 1);
    return a ? mmio_read8(a) : 0xff;
}
static inline uint16_t io_read16(uint16_t port)
{
    volatile void *a = io_port_address(port, 2);
    return a ? mmio_read16(a) : 0xffff;
}
static inline uint32_t io_read32(uint16_t port)
{
    volatile void *a = io_port_address(port, 4);
    return a ? mmio_read32(a) : 0xffffffff;
}
static inline void io_write8(uint16_t port, uint8_t v)
{
    volatile void *a = io_port_address(port, 1);
    if (a)
        mmio_write8(a, v);
}
static inline void io_write16(uint16_t port, uint16_t v)
{
    volatile void *a = io_port_address(port, 2);
    if (a)
        mmio_write16(a, v);
}
static inline void io_write32(uint16_t port, uint32_t v)
{
    volatile void *a = io_port_address(port, 4);
    if (a)
        mmio_write32(a, v);
}
static inline void io_read16_repeat(uint16_t port, void *buf, uint32_t count)
{
    uint16_t *p = buf;
    while (count--)
        *p++ = io_read16(port);
}
static inline void io_write16_repeat(uint16_t port, const void *buf, uint32_t count)
{
    const uint16_t *p = buf;
    while (count--)
        io_write16(port, *p++);
}

/* Full-system barriers: QEMU's virt devices are DMA coherent, so ordering (not cache
 * maintenance) is what rings need; dsb also orders against device register accesses. */
static inline void mb(void)
{
    __asm__ volatile("dsb sy" ::: "memory");
}
static inline void rmb(void)
{
    __asm__ volatile("dsb ld" ::: "memory");
}
static inline void wmb(void)
{
    __asm__ volatile("dsb st" ::: "memory");
}
static inline void cpu_relax(void)
{
    __asm__ volatile("yield" ::: "memory");
}

#endif
