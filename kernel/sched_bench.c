/* `sched bench`: wake-up latency between two threads (A wakes B, B wakes A) on one CPU and
 * across two, the figure docs/PERFORMANCE.md reports.  Each round trip is two wake-ups and, on
 * one CPU, two context switches; the command prints nanoseconds per one-way hand-off. */
#include <rayos/errno.h>
#include <rayos/shell.h>
#include <rayos/smp.h>
#include <rayos/string.h>
#include <rayos/thread.h>
#include <rayos/time.h>
#include <rayos/wait.h>

struct ping_pong {
    struct completion ping, pong;
    unsigned rounds;
};

static int ponger(void *arg)
{
    struct ping_pong *p = arg;
    for (unsigned i = 0; i < p->rounds; i++) {
        wait_for_completion(&p->ping);
        complete(&p->pong);
    }
    return 0;
}

/* Returns nanoseconds per hand-off, or 0 when the threads cannot be placed. */
static uint64_t run(unsigned cpu_a, unsigned cpu_b, unsigned rounds)
{
    struct ping_pong p = {COMPLETION_INIT("sched bench ping"), COMPLETION_INIT("sched bench pong"),
                          rounds};
    struct thread *self = thread_current();
    uint64_t old_affinity = self->affinity;
    thread_set_affinity(self, 1ULL << cpu_a);
    struct thread *other = thread_create("sched bench", ponger, &p, 1ULL << cpu_b);
    if (!other) {
        thread_set_affinity(self, old_affinity);
        return 0;
    }
    uint64_t start = time_ns();
    for (unsigned i = 0; i < rounds; i++) {
        complete(&p.ping);
        wait_for_completion(&p.pong);
    }
    uint64_t elapsed = time_ns() - start;
    thread_join(other);
    thread_set_affinity(self, old_affinity);
    return elapsed / (2ULL * rounds);
}

static int cmd_sched(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "bench") != 0) {
        shell_printf("usage: sched bench [ROUNDS]\n");
        return -EINVAL;
    }
    unsigned rounds = argc > 2 ? (unsigned)strtoul(argv[2], NULL, 10) : 20000;
    if (rounds == 0 || rounds > 10000000) {
        shell_printf("sched bench: 1 to 10000000 rounds\n");
        return -EINVAL;
    }
    uint64_t same = run(0, 0, rounds);
    shell_printf("sched-bench: same CPU: %llu ns per wake-up and switch (%u round trips)\n",
                 (unsigned long long)same, rounds);
    if (cpu_online_count() > 1) {
        unsigned second = 1;
        while (second < CPUS_MAX && !cpu_is_online(second))
            second++;
        uint64_t cross = run(0, second, rounds);
        shell_printf("sched-bench: CPU 0 <-> CPU %u: %llu ns per wake-up (%u round trips)\n",
                     second, (unsigned long long)cross, rounds);
    }
    return 0;
}
SHELL_COMMAND("sched", "bench [ROUNDS]  thread wake-up latency, one CPU and across two", cmd_sched);
