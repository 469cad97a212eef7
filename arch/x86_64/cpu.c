/* Descriptor tables: a flat 64-bit GDT with a TSS (its IST stacks catch double faults and NMIs
 * on a known-good stack), and an IDT pointing every vector at the stubs in interrupts.S. */
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

static uint64_t gdt[5] __aligned(16);
static struct tss tss __aligned(16);
static struct idt_gate idt[256] __aligned(16);
static uint8_t double_fault_stack[16384] __aligned(16);
static uint8_t nmi_stack[8192] __aligned(16);
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

void cpu_init(void)
{
    tss.ist[0] = (uint64_t)(double_fault_stack + sizeof(double_fault_stack));
    tss.ist[1] = (uint64_t)(nmi_stack + sizeof(nmi_stack));
    tss.iomap_base = sizeof(tss);

    uint64_t tss_base = (uint64_t)&tss, tss_limit = sizeof(tss) - 1;
    gdt[0] = 0;
    gdt[1] = 0x00af9a000000ffffULL; /* kernel code, 64-bit */
    gdt[2] = 0x00cf92000000ffffULL; /* kernel data */
    gdt[3] = (tss_limit & 0xffff) | (tss_base & 0xffffff) << 16 | 0x89ULL << 40 |
             ((tss_limit >> 16) & 0xf) << 48 | ((tss_base >> 24) & 0xff) << 56;
    gdt[4] = tss_base >> 32;

    struct descriptor_pointer gdt_pointer = {sizeof(gdt) - 1, (uint64_t)gdt};
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

    for (unsigned v = 0; v < 256; v++)
        set_gate(v, interrupt_stubs[v], v == 8 ? 1 : v == 2 ? 2 : 0);
    struct descriptor_pointer idt_pointer = {sizeof(idt) - 1, (uint64_t)idt};
    __asm__ volatile("lidt %0" : : "m"(idt_pointer));
}
