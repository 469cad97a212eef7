/* Descriptor tables: a flat 64-bit GDT with a TSS per CPU (its IST stacks catch double faults
 * and NMIs on a known-good stack), and one IDT, shared by every CPU, pointing every vector at
 * the stubs in interrupts.S. */
#include <rayos/mm.h>
#include <rayos/printk.h>
#include <rayos/smp.h>
#include <rayos/string.h>
#include "x86.h"

struct tss {
    uint32_t reserved0;
    uint64_t rsp[3];
    uint64_t reserved1;
    uint64_t ist[7];
    uint64_t reserved2;
    uint16_t reserved3;
    uint16_t iomap_base;
} __packed;

struct idt_gate {
    uint16_t offset_low;
    uint16_t selector;
    uint8_t ist;
    uint8_t type_attributes;
    uint16_t offset_middle;
    uint32_t offset_high;
    uint32_t reserved;
} __packed;

struct descriptor_pointer {
    uint16_t limit;
    uint64_t base;
} __packed;

#define SELECTOR_CODE 0x08
#define SELECTOR_DATA 0x10
#define SELECTOR_TSS  0x18

#define DOUBLE_FAULT_STACK_SIZE 16384
#define NMI_STACK_SIZE          8192
#define MSR_GS_BASE             0xC0000101

static uint64_t gdt[CPUS_MAX][5] __aligned(16);
static struct tss tss[CPUS_MAX] __aligned(16);
static struct idt_gate idt[256] __aligned(16);
/* The boot CPU's exception stacks are static (nothing can be allocated that early); the
 * others' come from the page allocator when they start. */
static uint8_t boot_double_fault_stack[DOUBLE_FAULT_STACK_SIZE] __aligned(16);
static uint8_t boot_nmi_stack[NMI_STACK_SIZE] __aligned(16);
extern const uint64_t interrupt_stubs[256];

static void set_gate(unsigned vector, uint64_t handler, uint8_t ist)
{
    idt[vector] = (struct idt_gate){
        .offset_low = (uint16_t)handler,
        .selector = SELECTOR_CODE,
        .ist = ist,
        .type_attributes = 0x8e, /* present, ring 0, 64-bit interrupt gate */
        .offset_middle = (uint16_t)(handler >> 16),
        .offset_high = (uint32_t)(handler >> 32),
    };
}

void cpu_set_percpu_base(struct cpu *c)
{
    wrmsr(MSR_GS_BASE, (uint64_t)c);
}

static void load_tables(unsigned id)
{
    uint64_t tss_base = (uint64_t)&tss[id], tss_limit = sizeof(tss[id]) - 1;
    uint64_t *g = gdt[id];
    g[0] = 0;
    g[1] = 0x00af9a000000ffffULL; /* kernel code, 64-bit */
    g[2] = 0x00cf92000000ffffULL; /* kernel data */
    g[3] = (tss_limit & 0xffff) | (tss_base & 0xffffff) << 16 | 0x89ULL << 40 |
           ((tss_limit >> 16) & 0xf) << 48 | ((tss_base >> 24) & 0xff) << 56;
    g[4] = tss_base >> 32;

    struct descriptor_pointer gdt_pointer = {sizeof(gdt[id]) - 1, (uint64_t)g};
    __asm__ volatile("lgdt %0\n"
                     "pushq %1\n"
                     "leaq 1f(%%rip), %%rax\n"
                     "pushq %%rax\n"
                     "lretq\n"
                     "1:\n"
                     "movw %w2, %%ds\n"
                     "movw %w2, %%es\n"
                     "movw %w2, %%ss\n"
                     "ltr %w3\n"
                     :
                     : "m"(gdt_pointer), "i"(SELECTOR_CODE), "r"(SELECTOR_DATA), "r"(SELECTOR_TSS)
                     : "rax", "memory");
    /* Loading a data selector into %gs would clear its base: %gs stays untouched. */
    struct descriptor_pointer idt_pointer = {sizeof(idt) - 1, (uint64_t)idt};
    __asm__ volatile("lidt %0" : : "m"(idt_pointer));
}

void cpu_init(void)
{
    tss[0].ist[0] = (uint64_t)(boot_double_fault_stack + sizeof(boot_double_fault_stack));
    tss[0].ist[1] = (uint64_t)(boot_nmi_stack + sizeof(boot_nmi_stack));
    tss[0].iomap_base = sizeof(tss[0]);
    for (unsigned v = 0; v < 256; v++)
        set_gate(v, interrupt_stubs[v], v == 8 ? 1 : v == 2 ? 2 : 0);
    load_tables(0);
}

bool cpu_init_secondary(unsigned id)
{
    phys_addr_t stacks =
        page_alloc((DOUBLE_FAULT_STACK_SIZE + NMI_STACK_SIZE) / PAGE_SIZE, PAGE_SIZE, 0);
    if (!stacks)
        return false;
    uint8_t *base = phys_to_virt(stacks);
    tss[id].ist[0] = (uint64_t)(base + DOUBLE_FAULT_STACK_SIZE);
    tss[id].ist[1] = (uint64_t)(base + DOUBLE_FAULT_STACK_SIZE + NMI_STACK_SIZE);
    tss[id].iomap_base = sizeof(tss[id]);
    return true;
}

void cpu_load_tables(unsigned id)
{
    load_tables(id);
}
