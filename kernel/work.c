/* Periodic work items, run from the idle loop rather than from the timer interrupt so they may
 * do I/O and take mutexes. */
#include <rayos/time.h>
#include <rayos/work.h>

extern struct periodic_work _periodic_work_start[], _periodic_work_end[];

void work_run_due(void)
{
    static bool running;
    if (running) /* a work item that waits for I/O must not re-enter itself */
        return;
    running = true;
    uint64_t now = time_ns();
    for (struct periodic_work *w = _periodic_work_start; w < _periodic_work_end; w++) {
        if (now >= w->next_ns) {
            w->next_ns = now + w->period_ns;
            w->run();
        }
    }
    running = false;
}
