/* Exceptions: synchronous faults get a report a developer can act on (the exception class,
 * the faulting address, the registers, a backtrace with symbol names), then the panic path;
 * interrupts go to the GIC driver. */
#define pr_fmt(fmt) fmt
#include <rayos/arch.h>
#include <rayos/backtrace.h>
#include <rayos/printk.h>
#include <rayos/smp.h>
#include <rayos/thread.h>
#include "aarch64.h"
#include "vectors.h"

void exception_sync(struct exception_frame *f, unsigned kind);
void exception_irq(struct exception_frame *f, unsigned kind);
void exception_unexpected(struct exception_frame *f, unsigned kind);

extern char _kernel_start[], _text_end[];

/* ESR_EL1.EC values (Arm ARM D17.2.37) a kernel meets. */
static const char *exception_class_name(unsigned ec)
{
    switch (ec) {
    case 0x00:
        return "unknown reason (undefined instruction)";
    case 0x01:
        return "WFI/WFE trapped";
    case 0x07:
        return "SIMD/floating point access trapped";
    case 0x0e:
        return "illegal execution state";
    case 0x15:
        return "SVC";
    case 0x16:
        return "HVC";
    case 0x17:
        return "SMC";
    case 0x18:
        return "system register access trapped";
    case 0x21:
        return "instruction abort";
    case 0x22:
        return "PC alignment fault";
    case 0x25:
        return "data abort";
    case 0x26:
        return "SP alignment fault";
    case 0x2f:
        return "SError";
    case 0x30:
        return "breakpoint";
    case 0x32:
        return "software step";
    case 0x34:
        return "watchpoint";
    case 0x3c:
        return "BRK instruction";
    default:
        return "reserved or unexpected class";
    }
}

/* AAPCS64 frame records; a return address names the instruction after the BL. */
static const struct frame_walk frame_walk = {DIRECT_MAP_BASE, 16, KERNEL_VIRT_BASE, 4};

void arch_print_backtrace(void)
{
    const uint64_t *record = __builtin_frame_address(0);
    backtrace_print(&frame_walk, record[1] - 4, record[0]);
}

void arch_stack_trace(uint64_t *out, unsigned max)
{
    backtrace_collect(&frame_walk, (uint64_t)__builtin_frame_address(0), out, max);
}

_Static_assert(sizeof(struct exception_frame) == FRAME_SIZE, "vectors.h: FRAME_SIZE");
_Static_assert(offsetof(struct cpu, id) == CPU_ID_OFFSET, "vectors.h: CPU_ID_OFFSET");
_Static_assert(offsetof(struct cpu, current) == CPU_CURRENT_OFFSET, "vectors.h: CPU_CURRENT");
_Static_assert(offsetof(struct thread, stack) == THREAD_STACK_OFFSET, "vectors.h: THREAD_STACK");

/* Each CPU's emergency stack, for exceptions taken on an exhausted kernel stack (vectors.S). */
uint8_t overflow_stacks[CPUS_MAX][1u << OVERFLOW_STACK_SHIFT] __attribute__((aligned(16)));

static void say_stack_overflow(void)
{
    static bool said; /* once: the report comes just before a panic */
    struct thread *t = thread_current();
    if (!said && t && t->stack)
        printk(LOG_EMERG,
               "kernel stack overflow in thread %s (tid %u) on CPU %u: %zu-byte stack exhausted",
               t->name, t->tid, cpu_id(), t->stack_size);
    said = true;
}

/* A fault on the guard page below the current thread's stack is a stack overflow; say so. */
static void report_stack_overflow(uint64_t far)
{
    struct thread *t = thread_current();
    if (!t || !t->stack)
        return;
    uint64_t guard = (uint64_t)t->stack - STACK_GUARD_SIZE;
    if (far >= guard && far < (uint64_t)t->stack)
        say_stack_overflow();
}

void exception_report(const char *what, const struct exception_frame *f)
{
    uint64_t esr = read_sysreg(esr_el1), far = read_sysreg(far_el1);
    unsigned ec = (unsigned)(esr >> 26) & 0x3f;
    bool abort = ec == 0x21 || ec == 0x25;
    if (abort)
        report_stack_overflow(far);
    printk(LOG_EMERG, "CPU exception: %s, %s (ESR_EL1 0x%08llx)", what, exception_class_name(ec),
           (unsigned long long)esr);
    uint64_t offset;
    const char *symbol = ksym_lookup(f->elr, &offset);
    printk(LOG_EMERG, "PC: %016llx %s+0x%llx  PSTATE: %08llx", (unsigned long long)f->elr,
           symbol ? symbol : "?", (unsigned long long)(symbol ? offset : 0),
           (unsigned long long)f->spsr);
    if (abort)
        printk(LOG_EMERG, "FAR: %016llx (%s, %s)", (unsigned long long)far,
               (esr & 0x3f) >= 0x04 && (esr & 0x3f) <= 0x07   ? "translation fault"
               : (esr & 0x3f) >= 0x0c && (esr & 0x3f) <= 0x0f ? "permission fault"
               : (esr & 0x3f) == 0x21                         ? "alignment fault"
                                                              : "other fault",
               ec == 0x21       ? "instruction fetch"
               : (esr >> 6) & 1 ? "write"
                                : "read");
    for (unsigned i = 0; i < 30; i += 3)
        printk(LOG_EMERG, "X%-2u: %016llx X%-2u: %016llx X%-2u: %016llx", i,
               (unsigned long long)f->x[i], i + 1, (unsigned long long)f->x[i + 1], i + 2,
               (unsigned long long)f->x[i + 2]);
    printk(LOG_EMERG, "X30: %016llx SP:  %016llx", (unsigned long long)f->x[30],
           (unsigned long long)f->sp);
    backtrace_print(&frame_walk, f->elr, f->x[29]);
    panic("unhandled CPU exception (%s) at %s", exception_class_name(ec), symbol ? symbol : "?");
}

extern char semihosting_trap[];

void exception_sync(struct exception_frame *f, unsigned kind)
{
    (void)kind;
    unsigned ec = (unsigned)(read_sysreg(esr_el1) >> 26) & 0x3f;
    if (ec == 0 && f->elr == (uint64_t)semihosting_trap) {
        f->x[0] = (uint64_t)-1; /* no semihosting: the probe's answer */
        f->elr += 4;
        return;
    }
    exception_report("synchronous", f);
}

/* vectors.S found no room for the frame on the thread's stack and came here on this CPU's
 * emergency stack, the exhausted stack's SP pushed just above the frame. */
void exception_on_overflow_stack(struct exception_frame *f, unsigned kind);
void exception_on_overflow_stack(struct exception_frame *f, unsigned kind)
{
    f->sp = *(const uint64_t *)((const char *)f + FRAME_SIZE);
    say_stack_overflow();
    if (kind == 4)
        exception_report("synchronous", f);
    printk(LOG_EMERG, "CPU exception: IRQ with the stack exhausted, PC %016llx SP %016llx",
           (unsigned long long)f->elr, (unsigned long long)f->sp);
    backtrace_print(&frame_walk, f->elr, f->x[29]);
    panic("kernel stack overflow");
}

void exception_irq(struct exception_frame *f, unsigned kind)
{
    (void)kind;
    gic_handle_irq(f);
}

void exception_unexpected(struct exception_frame *f, unsigned kind)
{
    static const char *const names[] = {
        "sync from SP_EL0",
        "IRQ from SP_EL0",
        "FIQ from SP_EL0",
        "SError from SP_EL0",
        "sync",
        "IRQ",
        "FIQ",
        "SError",
        "sync from EL0",
        "IRQ from EL0",
        "FIQ from EL0",
        "SError from EL0",
        "sync from AArch32",
        "IRQ from AArch32",
        "FIQ from AArch32",
        "SError from AArch32",
    };
    exception_report(names[kind & 15], f);
}

void arch_halt(void)
{
    for (;;)
        __asm__ volatile("msr daifset, #0xf; wfi" ::: "memory");
}
