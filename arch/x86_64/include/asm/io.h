/* x86-64 port I/O, MMIO and memory barriers (see <rayos/io.h>). */
#ifndef ASM_IO_H
#define ASM_IO_H

#include <stdint.h>

static inline uint8_t io_read8(uint16_t port)
{
    uint8_t v;
    __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}
static inline uint16_t io_read16(uint16_t port)
{
    uint16_t v;
    __asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}
static inline uint32_t io_read32(uint16_t port)
{
    uint32_t v;
    __asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}
static inline void io_write8(uint16_t port, uint8_t v)
{
    __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}
static inline void io_write16(uint16_t port, uint16_t v)
{
    __asm__ volatile("outw %0, %1" : : "a"(v), "Nd"(port));
}
static inline void io_write32(uint16_t port, uint32_t v)
{
    __asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port));
}
/* Repeated port transfers (PIO disk data). */
static inline void io_read16_repeat(uint16_t port, void *buf, uint32_t count)
{
    __asm__ volatile("rep insw" : "+D"(buf), "+c"(count) : "d"(port) : "memory");
}
static inline void io_write16_repeat(uint16_t port, const void *buf, uint32_t count)
{
    __asm__ volatile("rep outsw" : "+S"(buf), "+c"(count) : "d"(port) : "memory");
}

#define X86_MMIO(bits, suffix, reg)                                                                \
    static inline uint##bits##_t mmio_read##bits(const volatile void *a)                           \
    {                                                                                              \
        uint##bits##_t v;                                                                          \
        __asm__ volatile("mov" suffix " %1, %0"                                                    \
                         : "=" reg(v)                                                              \
                         : "m"(*(const volatile uint##bits##_t *)a)                                \
                         : "memory");                                                              \
        return v;                                                                                  \
    }                                                                                              \
    static inline void mmio_write##bits(volatile void *a, uint##bits##_t v)                        \
    {                                                                                              \
        __asm__ volatile("mov" suffix " %1, %0"                                                    \
                         : "=m"(*(volatile uint##bits##_t *)a)                                     \
                         : reg(v)                                                                  \
                         : "memory");                                                              \
    }
X86_MMIO(8, "b", "q")
X86_MMIO(16, "w", "r")
X86_MMIO(32, "l", "r")
X86_MMIO(64, "q", "r")
#undef X86_MMIO

/* x86 is strongly ordered for normal memory; the fences order DMA-ring stores against device
 * reads (and mfence is the full barrier that EVENT_IDX needs between a store and a load). */
static inline void mb(void)
{
    __asm__ volatile("mfence" ::: "memory");
}
static inline void rmb(void)
{
    __asm__ volatile("lfence" ::: "memory");
}
static inline void wmb(void)
{
    __asm__ volatile("sfence" ::: "memory");
}
static inline void cpu_relax(void)
{
    __asm__ volatile("pause" ::: "memory");
}

#endif
