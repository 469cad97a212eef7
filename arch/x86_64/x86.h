/* x86-64 registers and instructions, private to arch/x86_64. */
#ifndef ARCH_X86_H
#define ARCH_X86_H

#include <rayos/types.h>

#define KERNEL_VIRT_BASE 0xffffffff80000000ULL
#define DIRECT_MAP_BASE  0xffff800000000000ULL
#define IOMAP_BASE       0xffffc00000000000ULL /* map_phys() window */
#define IOMAP_SIZE       (64ULL << 30)
#define MODULE_AREA_BASE 0xffffffffc0000000ULL /* loaded modules: within -mcmodel=kernel reach */
#define MODULE_AREA_SIZE (1ULL << 30)

#define MSR_EFER      0xC0000080
#define MSR_APIC_BASE 0x1B

#define RFLAGS_IF (1UL << 9)

static inline uint64_t rdmsr(uint32_t msr)
{
    uint32_t lo, hi;
    __asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
    return (uint64_t)hi << 32 | lo;
}
static inline void wrmsr(uint32_t msr, uint64_t v)
{
    __asm__ volatile("wrmsr" : : "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)));
}
static inline void cpuid(uint32_t leaf, uint32_t sub, uint32_t *a, uint32_t *b, uint32_t *c,
                         uint32_t *d)
{
    __asm__ volatile("cpuid" : "=a"(*a), "=b"(*b), "=c"(*c), "=d"(*d) : "a"(leaf), "c"(sub));
}
static inline uint64_t rdtsc(void)
{
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return (uint64_t)hi << 32 | lo;
}
static inline uint64_t read_cr2(void)
{
    uint64_t v;
    __asm__ volatile("mov %%cr2, %0" : "=r"(v));
    return v;
}
static inline uint64_t read_cr3(void)
{
    uint64_t v;
    __asm__ volatile("mov %%cr3, %0" : "=r"(v));
    return v;
}
static inline void write_cr3(uint64_t v)
{
    __asm__ volatile("mov %0, %%cr3" : : "r"(v) : "memory");
}
static inline uint64_t read_rflags(void)
{
    uint64_t v;
    __asm__ volatile("pushfq; popq %0" : "=r"(v));
    return v;
}
static inline void invlpg(uint64_t virt)
{
    __asm__ volatile("invlpg (%0)" : : "r"(virt) : "memory");
}

/* Interrupt frame pushed by the stubs in interrupts.S. */
struct interrupt_frame {
    uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
    uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
    uint64_t vector, error_code;
    uint64_t rip, cs, rflags, rsp, ss;
};

/* Implemented across arch/x86_64. */
struct cpu;
void cpu_init(void);
void cpu_set_percpu_base(struct cpu *c);
bool cpu_init_secondary(unsigned id); /* allocates its exception stacks */
void cpu_load_tables(unsigned id);    /* on the CPU itself */
void exception_dispatch(struct interrupt_frame *frame);
void interrupt_dispatch(struct interrupt_frame *frame);
void paging_init(void);
void pic_disable(void);
void pic_init_legacy(void);
void pic_mask(unsigned irq, bool masked);
void pic_eoi(unsigned irq);
void lapic_init(phys_addr_t base);
bool lapic_present(void);
void lapic_eoi(void);
uint32_t lapic_id(void);
void lapic_init_ap(void);
void lapic_send_ipi(uint32_t apic_id, uint32_t command);
/* ICR delivery modes and shorthands (the low word's bits 8-10 and 18-19). */
#define IPI_FIXED            (0u << 8)
#define IPI_NMI              (4u << 8)
#define IPI_INIT             (5u << 8)
#define IPI_STARTUP          (6u << 8)
#define IPI_ALL_BUT_SELF     (3u << 18)
#define VECTOR_RESCHEDULE    0xf1
#define VECTOR_CALL_FUNCTION 0xf2
uint64_t paging_kernel_cr3(void);
/* 4 KiB mappings outside the fixed windows (the module area): map one page writable and
 * non-executable-unless-attributes-say-so, make one stricter, unmap a range on every CPU. */
bool paging_map_page(uint64_t virt, phys_addr_t phys, uint64_t attributes);
void paging_protect_page(uint64_t virt, bool writable, bool executable);
void paging_unmap(uint64_t start, uint64_t end);
void lapic_timer_start(uint32_t hz);
void lapic_timer_count_start(void);
void lapic_timer_count_finish(uint64_t elapsed_ns);
bool ioapic_init(void);
bool ioapic_route(unsigned gsi, uint8_t vector, bool level, bool active_low);
void ioapic_mask(unsigned gsi, bool masked);
void irq_init(void);
void timer_tick(void);
void time_init(void);
void rtc_init(void);
void x86_early_console_init(void); /* early_console.c: COM1, polled */
/* Multiboot 1 or 2 information into boot_info (multiboot.c, kernel/multiboot.c); panics with a
 * clear message when it leaves the kernel without a memory map. */
void multiboot_parse(uint32_t magic, phys_addr_t info);
/* Without an RSDP from the loader, the BIOS areas where ACPI places it (bios_rsdp.c). */
void bios_find_rsdp(void);
/* Power methods (<rayos/power.h>): QEMU's isa-debug-exit port (qemu_exit.c) and the PC reset
 * lines (reset.c). */
void qemu_exit_register(void);
void pc_reset_register(void);

extern uint32_t boot_magic, boot_info_phys;

#endif
