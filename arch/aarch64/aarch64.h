/* AArch64 system registers, address-space layout and the pieces shared across arch/aarch64. */
#ifndef ARCH_AARCH64_H
#define ARCH_AARCH64_H

#include <rayos/types.h>

/* Virtual layout (48-bit VA, 4 KiB granule; TTBR1 holds everything the kernel uses). */
#define DIRECT_MAP_BASE  0xffff000000000000ULL /* every RAM range of the memory map */
#define IOMAP_BASE       0xffffc00000000000ULL /* map_phys() windows */
#define IOMAP_SIZE       (64ULL << 30)
#define KERNEL_VIRT_BASE 0xffffffff80000000ULL /* the image, wherever it was loaded */
#define MODULE_AREA_BASE 0xffffffff82000000ULL /* image < 32 MiB: BL reaches both ways */
#define MODULE_AREA_SIZE (64ULL << 20)

#define read_sysreg(name)                                                                          \
    ({                                                                                             \
        uint64_t value_;                                                                           \
        __asm__ volatile("mrs %0, " #name : "=r"(value_));                                         \
        value_;                                                                                    \
    })
#define write_sysreg(name, value)                                                                  \
    __asm__ volatile("msr " #name ", %0" : : "r"((uint64_t)(value)) : "memory")

static inline void isb(void)
{
    __asm__ volatile("isb" ::: "memory");
}

/* Exception frame saved by vectors.S: x0-x30, the interrupted pc, its PSTATE, its sp. */
struct exception_frame {
    uint64_t x[31];
    uint64_t elr, spsr, sp;
};

#define DAIF_IRQ (1u << 7)

/* The physical address the image was loaded at (KERNEL_VIRT_BASE maps there). */
extern phys_addr_t kernel_phys_base;

/* arch/aarch64 internals. */
struct cpu;
void paging_init(void);
uint64_t paging_kernel_ttbr1(void);
bool paging_map_page(uint64_t virt, phys_addr_t phys, bool executable);
void paging_unmap(uint64_t start, uint64_t end);
void paging_protect_page(uint64_t virt, bool writable, bool executable);
void paging_disable_identity(void);

void gic_init(void);
void gic_init_cpu(void);
void gic_send_sgi(unsigned cpu, unsigned sgi);
void gic_handle_irq(struct exception_frame *frame);
void gic_enable_ppi(unsigned intid);

void time_init(void);
void time_start_tick(void);
void time_handle_tick(void);
void rtc_init(void);

void psci_init(void);
void semihosting_init(void);
int psci_cpu_on(uint64_t mpidr, phys_addr_t entry, uint64_t context);

void early_console_init(void);
void exception_report(const char *what, const struct exception_frame *f);

#define SGI_RESCHEDULE    0
#define SGI_CALL_FUNCTION 1
#define SGI_STOP          2

#endif
