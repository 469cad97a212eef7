/* CPU exceptions: a report a developer can act on (what, where, registers, call chain), then
 * the panic path. */
#define pr_fmt(fmt) fmt
#include <rayos/arch.h>
#include <rayos/backtrace.h>
#include <rayos/printk.h>
#include <rayos/smp.h>
#include <rayos/thread.h>
#include "x86.h"

static const char *const exception_names[32] = {
    "divide error",
    "debug",
    "non-maskable interrupt",
    "breakpoint",
    "overflow",
    "bound range exceeded",
    "invalid opcode",
    "device not available",
    "double fault",
    "coprocessor segment overrun",
    "invalid TSS",
    "segment not present",
    "stack-segment fault",
    "general protection fault",
    "page fault",
    "reserved",
    "x87 floating-point error",
    "alignment check",
    "machine check",
    "SIMD floating-point error",
    "virtualization exception",
    "control protection exception",
    "reserved",
    "reserved",
    "reserved",
    "reserved",
    "reserved",
    "reserved",
    "hypervisor injection",
    "VMM communication",
    "security exception",
    "reserved",
};

static const struct frame_walk frame_walk = {DIRECT_MAP_BASE, 8, KERNEL_VIRT_BASE, 0};

void arch_print_backtrace(void)
{
    uint64_t rbp;
    __asm__ volatile("mov %%rbp, %0" : "=r"(rbp));
    const uint64_t *frame = (const uint64_t *)rbp;
    backtrace_print(&frame_walk, frame[1], frame[0]);
}

void arch_stack_trace(uint64_t *out, unsigned max)
{
    uint64_t rbp;
    __asm__ volatile("mov %%rbp, %0" : "=r"(rbp));
    backtrace_collect(&frame_walk, rbp, out, max); /* from our caller's frame on */
}

/* A fault on the guard page below the current thread's stack is a stack overflow; say so. */
static void report_stack_overflow(const struct interrupt_frame *f)
{
    struct thread *t = thread_current();
    if (!t || !t->stack || (f->vector != 14 && f->vector != 8))
        return;
    uint64_t guard = (uint64_t)t->stack - 4096, address = read_cr2();
    if (address >= guard && address < (uint64_t)t->stack)
        printk(LOG_EMERG,
               "kernel stack overflow in thread %s (tid %u) on CPU %u: %zu-byte stack "
               "exhausted",
               t->name, t->tid, cpu_id(), t->stack_size);
}

void exception_dispatch(struct interrupt_frame *f)
{
    const char *name = exception_names[f->vector & 31];
    report_stack_overflow(f);
    printk(LOG_EMERG, "CPU exception %llu (%s), error code 0x%llx", (unsigned long long)f->vector,
           name, (unsigned long long)f->error_code);
    uint64_t offset;
    const char *symbol = ksym_lookup(f->rip, &offset);
    printk(LOG_EMERG, "RIP: %04llx:%016llx %s+0x%llx  RFLAGS: %08llx", (unsigned long long)f->cs,
           (unsigned long long)f->rip, symbol ? symbol : "?",
           (unsigned long long)(symbol ? offset : 0), (unsigned long long)f->rflags);
    if (f->vector == 14)
        printk(LOG_EMERG, "CR2: %016llx (%s, %s%s)", (unsigned long long)read_cr2(),
               f->error_code & 1 ? "protection violation" : "page not present",
               f->error_code & 2 ? "write" : "read",
               f->error_code & 16 ? ", instruction fetch" : "");
    printk(LOG_EMERG, "RAX: %016llx RBX: %016llx RCX: %016llx", (unsigned long long)f->rax,
           (unsigned long long)f->rbx, (unsigned long long)f->rcx);
    printk(LOG_EMERG, "RDX: %016llx RSI: %016llx RDI: %016llx", (unsigned long long)f->rdx,
           (unsigned long long)f->rsi, (unsigned long long)f->rdi);
    printk(LOG_EMERG, "RBP: %016llx RSP: %016llx R8:  %016llx", (unsigned long long)f->rbp,
           (unsigned long long)f->rsp, (unsigned long long)f->r8);
    printk(LOG_EMERG, "R9:  %016llx R10: %016llx R11: %016llx", (unsigned long long)f->r9,
           (unsigned long long)f->r10, (unsigned long long)f->r11);
    printk(LOG_EMERG, "R12: %016llx R13: %016llx R14: %016llx", (unsigned long long)f->r12,
           (unsigned long long)f->r13, (unsigned long long)f->r14);
    printk(LOG_EMERG, "R15: %016llx CR3: %016llx", (unsigned long long)f->r15,
           (unsigned long long)read_cr3());
    backtrace_print(&frame_walk, f->rip, f->rbp);
    panic("unhandled CPU exception %llu (%s) at %s", (unsigned long long)f->vector, name,
          symbol ? symbol : "?");
}

void arch_halt(void)
{
    for (;;)
        __asm__ volatile("cli; hlt");
}
