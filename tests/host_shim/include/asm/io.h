/* Host stand-in for <asm/io.h>: portable code that touches registers or DMA rings builds and
 * runs in unit tests against plain memory. */
#ifndef HOST_ASM_IO_H
#define HOST_ASM_IO_H

#include <stdint.h>

static inline void mb(void)
{
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
}
static inline void rmb(void)
{
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
}
static inline void wmb(void)
{
    __atomic_thread_fence(__ATOMIC_RELEASE);
}
static inline void cpu_relax(void)
{
}

/* A test that models a device's registers installs a window: accesses inside it go to the
 * model's functions instead of memory (everything else stays plain memory). */
struct host_mmio_model {
    uintptr_t base;
    uintptr_t size;
    uint64_t (*read)(uintptr_t offset, unsigned width);
    void (*write)(uintptr_t offset, unsigned width, uint64_t value);
};
extern struct host_mmio_model *host_mmio_model;

static inline struct host_mmio_model *host_mmio_hit(const volatile void *a)
{
    struct host_mmio_model *m = host_mmio_model;
    return m && (uintptr_t)a - m->base < m->size ? m : NULL;
}

#define HOST_MMIO(bits)                                                                            \
    static inline uint##bits##_t mmio_read##bits(const volatile void *a)                           \
    {                                                                                              \
        struct host_mmio_model *m = host_mmio_hit(a);                                              \
        if (m)                                                                                     \
            return (uint##bits##_t)m->read((uintptr_t)a - m->base, bits / 8);                      \
        return *(const volatile uint##bits##_t *)a;                                                \
    }                                                                                              \
    static inline void mmio_write##bits(volatile void *a, uint##bits##_t v)                        \
    {                                                                                              \
        struct host_mmio_model *m = host_mmio_hit(a);                                              \
        if (m)                                                                                     \
            m->write((uintptr_t)a - m->base, bits / 8, v);                                         \
        else                                                                                       \
            *(volatile uint##bits##_t *)a = v;                                                     \
    }
HOST_MMIO(8)
HOST_MMIO(16)
HOST_MMIO(32)
HOST_MMIO(64)
#undef HOST_MMIO

/* Port I/O on the host is routed to a test hook (tests may override these weak symbols). */
uint32_t host_port_read(uint16_t port, int width);
void host_port_write(uint16_t port, int width, uint32_t value);
static inline uint8_t io_read8(uint16_t p)
{
    return (uint8_t)host_port_read(p, 1);
}
static inline uint16_t io_read16(uint16_t p)
{
    return (uint16_t)host_port_read(p, 2);
}
static inline uint32_t io_read32(uint16_t p)
{
    return host_port_read(p, 4);
}
static inline void io_write8(uint16_t p, uint8_t v)
{
    host_port_write(p, 1, v);
}
static inline void io_write16(uint16_t p, uint16_t v)
{
    host_port_write(p, 2, v);
}
static inline void io_write32(uint16_t p, uint32_t v)
{
    host_port_write(p, 4, v);
}

#endif
