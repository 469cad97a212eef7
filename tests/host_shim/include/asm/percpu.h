/* Host builds: the "current CPU" is whatever a test sets in host_cpu (CPU 0 by default), so
 * per-CPU choices (hardware queues) can be tested without threads. */
#ifndef ASM_PERCPU_H
#define ASM_PERCPU_H

struct cpu;
extern struct cpu cpus[];
extern unsigned host_cpu;

static inline struct cpu *this_cpu(void)
{
    return &cpus[host_cpu];
}

#endif
