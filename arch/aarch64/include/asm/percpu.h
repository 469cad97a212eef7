/* AArch64 per-CPU base: TPIDR_EL1 holds the CPU's struct cpu. */
#ifndef ASM_PERCPU_H
#define ASM_PERCPU_H

struct cpu;
static inline struct cpu *this_cpu(void)
{
    struct cpu *self;
    __asm__ volatile("mrs %0, tpidr_el1" : "=r"(self));
    return self;
}

#endif
