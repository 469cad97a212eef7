/* Periodic work run from the kernel's idle loop (never in interrupt context): log flushing,
 * hot-plug polling.  Declared with PERIODIC_WORK(fn, period_ms). */
#ifndef RAYOS_WORK_H
#define RAYOS_WORK_H

#include <rayos/types.h>

struct periodic_work {
    const char *name;
    void (*run)(void);
    uint64_t period_ns;
    uint64_t next_ns;
};

#define PERIODIC_WORK(fn, period_ms)                                                               \
    static struct periodic_work __periodic_work_##fn                                               \
        __attribute__((used, section(".periodic_work"), aligned(8))) = {#fn, fn,                   \
                                                                        (period_ms)*1000000ULL, 0}

/* Runs every work item that is due.  Called by the idle loop; also safe from long shell commands.
 */
void work_run_due(void);

#endif
