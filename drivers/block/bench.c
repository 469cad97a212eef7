/* blk bench: sequential 128 KiB at queue depth 32 and random 4 KiB at depth 1 and 32, with
 * requests resubmitted from their completion so the device never waits for the shell.  With
 * --jobs N, N threads pinned to CPUs 0..N-1 each keep that depth in flight (fio's numjobs), so
 * each submits to its own hardware queue; the figures are the sums.  Figures use integer
 * arithmetic only (no floating point in the kernel). */
#include <rayos/block.h>
#include <rayos/dma.h>
#include <rayos/errno.h>
#include <rayos/heap.h>
#include <rayos/lock.h>
#include <rayos/shell.h>
#include <rayos/smp.h>
#include <rayos/string.h>
#include <rayos/thread.h>
#include <rayos/time.h>
#include <rayos/timer.h>
#include <rayos/wait.h>

#define BENCH_MAX_DEPTH 32

struct bench;

struct bench_slot {
    struct block_request req;
    struct block_segment segment;
    struct bench *bench;
};

struct bench {
    struct block_device *dev;
    enum block_op op;
    bool random;
    uint32_t request_bytes;
    uint64_t blocks_per_request;
    uint64_t request_slots; /* request-sized positions on the device */
    uint64_t next_position;
    uint64_t random_state;
    uint64_t deadline;
    volatile bool stop;            /* Ctrl-C */
    volatile bool *stop_requested; /* the shell job's Ctrl-C, seen by worker threads */
    /* Completions run in interrupt context on any CPU: the counters are atomic and the position
     * generator is under a lock. */
    struct spinlock lock;
    struct completion drained; /* the last request in flight has finished */
    unsigned in_flight;
    uint64_t completed;
    int error;
    struct bench_slot slots[BENCH_MAX_DEPTH];
};

static uint64_t next_random(struct bench *b)
{
    /* xorshift64 */
    uint64_t x = b->random_state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return b->random_state = x;
}

static void prepare(struct bench *b, struct bench_slot *slot)
{
    irqflags_t flags = spin_lock_irqsave(&b->lock);
    uint64_t position =
        b->random ? next_random(b) % b->request_slots : b->next_position++ % b->request_slots;
    spin_unlock_irqrestore(&b->lock, flags);
    slot->req.lba = position * b->blocks_per_request;
}

static void set_error(struct bench *b, int status)
{
    int none = 0;
    __atomic_compare_exchange_n(&b->error, &none, status, false, __ATOMIC_SEQ_CST,
                                __ATOMIC_SEQ_CST);
}

static void bench_complete(struct block_request *req, int status)
{
    struct bench_slot *slot = req->context;
    struct bench *b = slot->bench;
    if (status < 0)
        set_error(b, status);
    else if (status == 0)
        __atomic_add_fetch(&b->completed, 1, __ATOMIC_RELAXED);
    if (!__atomic_load_n(&b->error, __ATOMIC_RELAXED) && time_ns() < b->deadline && !b->stop) {
        prepare(b, slot);
        if (blk_submit(&slot->req) == 0)
            return;
    }
    if (__atomic_sub_fetch(&b->in_flight, 1, __ATOMIC_ACQ_REL) == 0)
        complete(&b->drained);
}

static int run(struct bench *b, unsigned depth, uint64_t seconds, uint64_t *elapsed_ns)
{
    b->completed = 0;
    b->error = 0;
    b->next_position = 0;
    uint64_t start = time_ns();
    b->deadline = start + seconds * NSEC_PER_SEC;
    completion_init(&b->drained, "blk bench drained");
    /* The submitting thread holds one count of its own while it fills the queue, so in_flight
     * reaches zero exactly once: when it and every request are done. */
    b->in_flight = 1;
    for (unsigned i = 0; i < depth; i++) {
        struct bench_slot *slot = &b->slots[i];
        slot->req.op = b->op;
        slot->req.segments = &slot->segment;
        slot->req.segment_count = 1;
        slot->segment.length = b->request_bytes;
        slot->req.device = b->dev;
        slot->req.complete = bench_complete;
        slot->req.context = slot;
        prepare(b, slot);
        __atomic_add_fetch(&b->in_flight, 1, __ATOMIC_ACQ_REL);
        int status = blk_submit(&slot->req);
        if (status < 0) {
            __atomic_sub_fetch(&b->in_flight, 1, __ATOMIC_ACQ_REL);
            set_error(b, status);
            break;
        }
    }
    if (__atomic_sub_fetch(&b->in_flight, 1, __ATOMIC_ACQ_REL) == 0)
        complete(&b->drained);
    /* Sleep until the last request drains; service the device every tick (polled drivers,
     * timeouts) and pass Ctrl-C on to the completions. */
    while (!wait_for_completion_timeout(&b->drained, TIMER_TICK_NS)) {
        if (thread_should_stop() || *b->stop_requested)
            b->stop = true;
        blk_service(b->dev);
    }
    *elapsed_ns = time_ns() - start;
    return b->error;
}

static int alloc_buffers(struct bench *b, uint32_t bytes)
{
    for (unsigned i = 0; i < BENCH_MAX_DEPTH; i++) {
        struct bench_slot *slot = &b->slots[i];
        slot->bench = b;
        slot->segment.virt = dma_alloc(bytes, 4096, &slot->segment.phys);
        if (!slot->segment.virt)
            return -ENOMEM;
    }
    return 0;
}

static void free_buffers(struct bench *b, uint32_t bytes)
{
    for (unsigned i = 0; i < BENCH_MAX_DEPTH; i++) {
        if (b->slots[i].segment.virt)
            dma_free(b->slots[i].segment.virt, bytes);
        b->slots[i].segment.virt = NULL;
    }
}

struct bench_test {
    const char *name;
    const char *slug; /* for --test */
    enum block_op op;
    bool random;
    uint32_t request_bytes;
    unsigned depth;
    bool writes;
};

static const struct bench_test tests[] = {
    {"seqread 128k qd32", "seqread", BLOCK_OP_READ, false, 128 * 1024, 32, false},
    {"randread 4k qd1", "randread-qd1", BLOCK_OP_READ, true, 4096, 1, false},
    {"randread 4k qd32", "randread-qd32", BLOCK_OP_READ, true, 4096, 32, false},
    {"seqwrite 128k qd32", "seqwrite", BLOCK_OP_WRITE, false, 128 * 1024, 32, true},
    {"randwrite 4k qd32", "randwrite", BLOCK_OP_WRITE, true, 4096, 32, true},
};

static void print_result(const struct bench_test *test, const struct bench *b, uint64_t ns)
{
    if (ns == 0)
        ns = 1;
    if (!test->random) {
        /* MB/s (10^6 bytes) with one decimal: bytes * 10^4 / ns tenths. */
        uint64_t tenths = b->completed * test->request_bytes * 10000 / ns;
        shell_printf("blk-bench: %s: %llu.%llu MB/s\n", test->name,
                     (unsigned long long)(tenths / 10), (unsigned long long)(tenths % 10));
    } else {
        uint64_t iops = b->completed * NSEC_PER_SEC / ns;
        shell_printf("blk-bench: %s: %llu IOPS\n", test->name, (unsigned long long)iops);
    }
}

/* One job: a bench of its own on one CPU. */
struct bench_job {
    struct bench *b;
    const struct bench_test *test;
    uint64_t seconds;
    uint64_t ns;
    int status;
    struct thread *thread;
};

static void setup_test(struct bench *b, const struct bench_test *test)
{
    b->op = test->op;
    b->random = test->random;
    b->request_bytes = test->request_bytes;
    b->blocks_per_request = test->request_bytes / b->dev->logical_block_size;
    b->request_slots = b->dev->block_count / b->blocks_per_request;
}

static int job_thread(void *arg)
{
    struct bench_job *job = arg;
    setup_test(job->b, job->test);
    job->status = run(job->b, job->test->depth, job->seconds, &job->ns);
    return 0;
}

/* Runs one test on every job at once; sums the completions into jobs[0]'s bench for printing
 * and returns the longest elapsed time in *ns. */
static int run_jobs(struct bench_job *jobs, unsigned count, volatile bool *stop_requested,
                    uint64_t *ns)
{
    if (count == 1) { /* in the shell's own thread, wherever it runs */
        job_thread(&jobs[0]);
        *ns = jobs[0].ns;
        return jobs[0].status;
    }
    unsigned started = 0;
    for (; started < count; started++) {
        char name[THREAD_NAME_MAX];
        snprintf(name, sizeof(name), "blk-bench/%u", started);
        jobs[started].thread = thread_create(name, job_thread, &jobs[started], 1ull << started);
        if (!jobs[started].thread)
            break;
    }
    if (started < count)
        *stop_requested = true; /* out of memory: stop the ones that started */
    for (unsigned i = 0; i < started; i++) {
        /* Joining sleeps; Ctrl-C reaches the jobs through stop_requested. */
        while (jobs[i].thread->state != THREAD_DEAD) {
            if (thread_should_stop())
                *stop_requested = true;
            msleep(10);
        }
        thread_join(jobs[i].thread);
    }
    int status = started < count ? -ENOMEM : 0;
    *ns = 0;
    uint64_t completed = 0;
    for (unsigned i = 0; i < started; i++) {
        if (jobs[i].status < 0 && status == 0)
            status = jobs[i].status;
        completed += jobs[i].b->completed;
        *ns = MAX(*ns, jobs[i].ns);
    }
    jobs[0].b->completed = completed;
    return status;
}

static struct bench *bench_alloc(struct block_device *dev, unsigned index,
                                 volatile bool *stop_requested, uint32_t buffer_bytes)
{
    struct bench *b = kzalloc(sizeof(*b));
    if (!b)
        return NULL;
    b->dev = dev;
    b->lock = (struct spinlock)SPINLOCK_INIT("blk bench");
    b->random_state = (0x9e3779b97f4a7c15ull ^ time_ns()) + index * 0x2545f4914f6cdd1dull;
    b->stop_requested = stop_requested;
    if (alloc_buffers(b, buffer_bytes) < 0) {
        free_buffers(b, buffer_bytes);
        kfree(b);
        return NULL;
    }
    return b;
}

static int parse_arguments(int argc, char **argv, uint64_t *seconds, bool *writes, unsigned *jobs,
                           const char **only)
{
    for (int i = 3; i < argc; i++) {
        if (strcmp(argv[i], "--write") == 0) {
            *writes = true;
        } else if (strcmp(argv[i], "--test") == 0 && i + 1 < argc) {
            *only = argv[++i];
            bool known = false;
            for (unsigned t = 0; t < ARRAY_SIZE(tests); t++)
                known |= strcmp(tests[t].slug, *only) == 0;
            if (!known) {
                shell_printf("blk bench: no test %s (seqread, randread-qd1, randread-qd32, "
                             "seqwrite, randwrite)\n",
                             *only);
                return -EINVAL;
            }
        } else if (strcmp(argv[i], "--jobs") == 0 && i + 1 < argc) {
            uint64_t value;
            const char *end = parse_u64(argv[++i], &value);
            if (!end || *end || value == 0 || value > cpu_online_count()) {
                shell_printf("blk bench: --jobs takes 1 to %u (one job per online CPU)\n",
                             cpu_online_count());
                return -EINVAL;
            }
            *jobs = (unsigned)value;
        } else {
            const char *end = parse_u64(argv[i], seconds);
            if (!end || *end || *seconds == 0 || *seconds > 600) {
                shell_printf("usage: blk bench DEV [SECONDS] [--jobs N] [--test NAME] [--write]\n");
                return -EINVAL;
            }
        }
    }
    return 0;
}

int blk_bench_command(struct block_device *dev, int argc, char **argv);

int blk_bench_command(struct block_device *dev, int argc, char **argv)
{
    uint64_t seconds = 2;
    bool writes = false;
    unsigned job_count = 1;
    const char *only = NULL;
    int status = parse_arguments(argc, argv, &seconds, &writes, &job_count, &only);
    if (status < 0)
        return status;
    if (writes && dev->read_only) {
        shell_printf("blk bench: %s is read-only\n", dev->dev.name);
        return -EROFS;
    }
    /* Online CPUs are 0..count-1 unless one failed to start: pin only to online ones. */
    for (unsigned i = 0; i < job_count; i++) {
        if (!cpu_is_online(i)) {
            shell_printf("blk bench: CPU %u is not online\n", i);
            return -EINVAL;
        }
    }
    const uint32_t buffer_bytes = 128 * 1024;
    volatile bool stop_requested = false;
    struct bench_job *jobs = kcalloc(job_count, sizeof(*jobs));
    if (!jobs)
        return -ENOMEM;
    for (unsigned i = 0; i < job_count && status == 0; i++) {
        jobs[i].b = bench_alloc(dev, i, &stop_requested, buffer_bytes);
        if (!jobs[i].b)
            status = -ENOMEM;
    }
    bool stopped = false;
    for (unsigned t = 0; t < ARRAY_SIZE(tests) && status == 0 && !stopped; t++) {
        const struct bench_test *test = &tests[t];
        if ((test->writes && !writes) || (only && strcmp(test->slug, only) != 0))
            continue;
        if (test->request_bytes % dev->logical_block_size ||
            dev->block_count * dev->logical_block_size < test->request_bytes) {
            shell_printf("blk-bench: %s: skipped (device too small or blocks too large)\n",
                         test->name);
            continue;
        }
        for (unsigned i = 0; i < job_count; i++) {
            jobs[i].test = test;
            jobs[i].seconds = seconds;
        }
        uint64_t ns;
        status = run_jobs(jobs, job_count, &stop_requested, &ns);
        for (unsigned i = 0; i < job_count; i++)
            stopped |= jobs[i].b->stop;
        if (status < 0)
            shell_printf("blk-bench: %s: failed: %s (%d)\n", test->name, error_name(-status),
                         status);
        else
            print_result(test, jobs[0].b, ns);
    }
    if (status == -ENOMEM)
        shell_printf("blk-bench: no memory for the buffers or the jobs\n");
    if (stopped || stop_requested) {
        shell_printf("blk-bench: interrupted\n");
        status = -EINTR;
    }
    for (unsigned i = 0; i < job_count; i++) {
        if (jobs[i].b) {
            free_buffers(jobs[i].b, buffer_bytes);
            kfree(jobs[i].b);
        }
    }
    kfree(jobs);
    return status;
}
