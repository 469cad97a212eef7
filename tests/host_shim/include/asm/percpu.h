/* Host builds: one CPU, always CPU 0. */
#ifndef ASM_PERCPU_H
#define ASM_PERCPU_H

struct cpu;
extern struct cpu cpus[];

static inline struct cpu *this_cpu(void)
{
    return &cpus[0];
}

#endif
