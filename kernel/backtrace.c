/* Frame-record walks for panic reports (see <rayos/backtrace.h>). */
#include <rayos/arch.h>
#include <rayos/backtrace.h>
#include <rayos/printk.h>

#define DEPTH_MAX 24

static bool plausible_frame(const struct frame_walk *walk, uint64_t frame)
{
    return frame >= walk->lowest_frame && (frame & (walk->frame_align - 1)) == 0 &&
           frame < 0xfffffffffffff000ULL;
}

static void print_frame(unsigned depth, uint64_t address)
{
    uint64_t offset;
    const char *name = ksym_lookup(address, &offset);
    if (name)
        printk(LOG_EMERG, "  #%u 0x%016llx %s+0x%llx", depth, (unsigned long long)address, name,
               (unsigned long long)offset);
    else
        printk(LOG_EMERG, "  #%u 0x%016llx ?", depth, (unsigned long long)address);
}

void backtrace_print(const struct frame_walk *walk, uint64_t pc, uint64_t frame)
{
    printk(LOG_EMERG, "backtrace:");
    print_frame(0, pc);
    for (unsigned depth = 1; depth < DEPTH_MAX && plausible_frame(walk, frame); depth++) {
        const uint64_t *record = (const uint64_t *)frame;
        if (record[1] < walk->lowest_text)
            break;
        print_frame(depth, record[1] - walk->call_offset);
        if (record[0] <= frame) /* frames grow upwards; anything else is a corrupt chain */
            break;
        frame = record[0];
    }
}

void backtrace_collect(const struct frame_walk *walk, uint64_t frame, uint64_t *out, unsigned max)
{
    unsigned n = 0;
    while (n < max && plausible_frame(walk, frame)) {
        const uint64_t *record = (const uint64_t *)frame;
        if (record[1] < walk->lowest_text)
            break;
        out[n++] = record[1];
        if (record[0] <= frame)
            break;
        frame = record[0];
    }
    while (n < max)
        out[n++] = 0;
}
