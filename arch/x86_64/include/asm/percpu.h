/* x86-64 per-CPU base: IA32_GS_BASE points at the CPU's struct cpu, whose first field points at
 * itself, so one %gs-relative load finds it. */
#ifndef ASM_PERCPU_H
#define ASM_PERCPU_H

struct cpu;

static inline struct cpu *this_cpu(void)
{
    struct cpu *self;
    __asm__ volatile("movq %%gs:0, %0" : "=r"(self));
    return self;
}

#endif
