/* `cpus` and `threads`: what every CPU and every thread is doing, like Linux's /proc/cpuinfo
 * summary and ps. */
#include <rayos/shell.h>
#include <rayos/smp.h>
#include <rayos/string.h>
#include <rayos/thread.h>
#include <rayos/time.h>

static const char *state_text(const struct cpu *c)
{
    switch (c->state) {
    case CPU_ONLINE:
        return "online";
    case CPU_STARTING:
    case CPU_ARRIVED:
        return "starting";
    case CPU_OFFLINE:
        return c->why && *c->why ? c->why : "offline";
    case CPU_ABSENT:
        break;
    }
    return "absent";
}

static int cmd_cpus(int argc, char **argv)
{
    uint64_t now = time_ns();
    int width = (int)strlen(arch_cpu_hw_id_name); /* the id column as wide as its name */
    shell_printf("CPU  %s  IDLE%%   INTERRUPTS  SWITCHES  STATE\n", arch_cpu_hw_id_name);
    for (unsigned i = 0; i < CPUS_MAX; i++) {
        const struct cpu *c = &cpus[i];
        if (c->state == CPU_ABSENT)
            continue;
        if (c->state != CPU_ONLINE) {
            shell_printf("%3u  %*u  %5s  %11s  %8s  %s\n", c->id, width, c->hw_id, "-", "-", "-",
                         state_text(c));
            continue;
        }
        uint64_t idle = c->idle_ns;
        uint64_t since = c->idle_since_ns;
        if (since && since < now)
            idle += now - since; /* halted right now */
        uint64_t online = c->online_ns < now ? now - c->online_ns : 1;
        uint64_t tenths = idle * 1000 / online;
        if (tenths > 1000)
            tenths = 1000;
        shell_printf("%3u  %*u  %3llu.%llu  %11llu  %8llu  online\n", c->id, width, c->hw_id,
                     (unsigned long long)(tenths / 10), (unsigned long long)(tenths % 10),
                     (unsigned long long)c->interrupts, (unsigned long long)c->context_switches);
    }
    return 0;
}
SHELL_COMMAND("cpus", "list the CPUs: hardware id, idle time, interrupts, state", cmd_cpus);

#define THREADS_SHOWN_MAX 256

struct thread_row {
    unsigned tid;
    char name[THREAD_NAME_MAX];
    enum thread_state state;
    bool running;
    unsigned cpu;
    uint64_t runtime_ns;
    int job;
    bool idle;
};

struct collect {
    struct thread_row *rows;
    unsigned count, total;
};

static void collect_one(const struct thread *t, void *context)
{
    struct collect *c = context;
    c->total++;
    if (c->count == THREADS_SHOWN_MAX)
        return;
    struct thread_row *r = &c->rows[c->count++];
    r->tid = t->tid;
    strlcpy(r->name, t->name, sizeof(r->name));
    r->state = t->state;
    r->running = t->on_cpu;
    r->cpu = t->cpu;
    r->runtime_ns = t->runtime_ns;
    if (t->on_cpu)
        r->runtime_ns += time_ns() - t->switched_in_ns;
    r->job = t->job;
    r->idle = t == cpus[t->cpu].idle;
}

static int cmd_threads(int argc, char **argv)
{
    static struct thread_row rows[THREADS_SHOWN_MAX];
    static struct mutex rows_lock = MUTEX_INIT("threads command");
    mutex_lock(&rows_lock);
    struct collect c = {rows, 0, 0};
    /* Copy under the list lock, print after: printing may sleep. */
    thread_for_each(collect_one, &c);
    shell_printf("  TID  NAME                     STATE     CPU  TIME\n");
    for (unsigned i = 0; i < c.count; i++) {
        const struct thread_row *r = &rows[i];
        const char *state = r->state == THREAD_DEAD       ? "dead"
                            : r->running && r->idle       ? "idle"
                            : r->running                  ? "running"
                            : r->idle                     ? "idle"
                            : r->state == THREAD_SLEEPING ? "sleeping"
                                                          : "runnable";
        uint64_t ms = r->runtime_ns / NSEC_PER_MSEC;
        shell_printf("%5u  %-24s %-9s %3u  %llu.%03llu s\n", r->tid, r->name, state, r->cpu,
                     (unsigned long long)(ms / 1000), (unsigned long long)(ms % 1000));
    }
    if (c.total > c.count)
        shell_printf("(%u more threads not shown)\n", c.total - c.count);
    mutex_unlock(&rows_lock);
    return 0;
}
SHELL_COMMAND("threads", "list every thread: id, name, state, CPU, run time", cmd_threads);
