/* Starting the application processors (Intel SDM vol. 3, "Multiple-processor management"):
 * every CPU the MADT lists as enabled gets INIT, then two start-up IPIs pointing at the
 * trampoline page, all CPUs at once rather than one after another.  Each AP checks in from
 * ap_main(); the boot CPU does not wait here: smp_wait_started() collects the result later, so
 * the APs come up while the boot CPU goes on with the init calls. */
#define pr_fmt(fmt) "smp: " fmt
#include <rayos/acpi.h>
#include <rayos/arch.h>
#include <rayos/boot_info.h>
#include <rayos/irq.h>
#include <rayos/mm.h>
#include <rayos/printk.h>
#include <rayos/smp.h>
#include <rayos/string.h>
#include <rayos/thread.h>
#include <rayos/time.h>
#include <rayos/timer.h>
#include "x86.h"

#define TRAMPOLINE_PHYS 0x8000
#define AP_STACK_SIZE   (16 * 1024)

STATIC_ASSERT(ACPI_MADT_CPUS_MAX == CPUS_MAX, "one CPU table size");

extern char trampoline_start[], trampoline_end[];
extern char trampoline_cr3[], trampoline_nx[], trampoline_ticket[], trampoline_count[],
    trampoline_entry[], trampoline_stacks[];
extern char boot_pml4[];
extern volatile bool x86_cpus_stopping;

const char arch_cpu_hw_id_name[] = "APIC";

void ap_main(uint64_t ticket);

static void *trampoline_field(char *symbol)
{
    return (char *)phys_to_virt(TRAMPOLINE_PHYS) + (symbol - trampoline_start);
}

/* The trampoline page must be RAM that the memory map calls usable and no boot module uses. */
static bool trampoline_page_free(void)
{
    bool usable = false;
    for (unsigned i = 0; i < boot_info.region_count; i++) {
        const struct memory_region *r = &boot_info.regions[i];
        if (r->base <= TRAMPOLINE_PHYS && r->base + r->length >= TRAMPOLINE_PHYS + PAGE_SIZE)
            usable = r->type == MEMORY_USABLE;
    }
    for (unsigned i = 0; i < boot_info.module_count; i++)
        if (boot_info.modules[i].start < TRAMPOLINE_PHYS + PAGE_SIZE &&
            boot_info.modules[i].end > TRAMPOLINE_PHYS)
            usable = false;
    return usable;
}

/* INIT needs a 10 ms pause on old processors only: P6 and later Intel, and AMD from family
 * 0Fh, accept the start-up IPI right away (as do virtual CPUs). */
static bool init_needs_delay(void)
{
    uint32_t a, b, c, d;
    cpuid(0, 0, &a, &b, &c, &d);
    bool intel = b == 0x756e6547; /* "Genu" */
    bool amd = b == 0x68747541;   /* "Auth" */
    cpuid(1, 0, &a, &b, &c, &d);
    unsigned family = (a >> 8) & 0xf;
    if (family == 0xf)
        family += (a >> 20) & 0xff;
    bool hypervisor = c & (1u << 31);
    return !(hypervisor || (intel && family >= 6) || (amd && family >= 0xf));
}

static void set_offline(struct cpu *c, const char *why)
{
    c->state = CPU_OFFLINE;
    c->why = why;
}

/* Numbers every CPU in the MADT (the boot CPU is 0) and says which are to be started. */
static unsigned plan(const struct acpi_madt_info *madt, unsigned max_cpus, const char *limit_why)
{
    uint32_t boot_id = lapic_id();
    cpus[0].hw_id = boot_id;
    cpus[0].state = CPU_ONLINE;
    unsigned next = 1, to_start = 0;
    if (madt->cpus_dropped)
        pr_warn("MADT lists %u more CPUs than the %u this kernel supports; they are ignored",
                madt->cpus_dropped, CPUS_MAX);
    for (unsigned i = 0; i < madt->cpu_entries; i++) {
        const struct acpi_cpu *entry = &madt->cpus[i];
        if (entry->apic_id == boot_id)
            continue;
        bool duplicate = false;
        for (unsigned j = 0; j < next; j++)
            duplicate |= cpus[j].state != CPU_ABSENT && cpus[j].hw_id == entry->apic_id;
        if (duplicate) {
            pr_warn("MADT lists APIC id %u twice; the second entry is ignored", entry->apic_id);
            continue;
        }
        if (next == CPUS_MAX)
            break;
        struct cpu *c = &cpus[next];
        smp_init_cpu_struct(next++, entry->apic_id);
        if (!entry->enabled)
            set_offline(c, entry->online_capable ? "disabled by firmware (online capable)"
                                                 : "disabled by firmware");
        else if (entry->apic_id > 0xfe)
            set_offline(c, "x2APIC id beyond xAPIC reach");
        else if (to_start + 1 >= max_cpus)
            set_offline(c, limit_why);
        else if (!cpu_init_secondary(c->id))
            set_offline(c, "out of memory");
        else {
            c->state = CPU_STARTING;
            to_start++;
        }
    }
    return to_start;
}

void arch_smp_start(unsigned max_cpus, const char *limit_why)
{
    const struct acpi_madt_info *madt = acpi_madt();
    if (!madt || !lapic_present()) {
        cpus[0].state = CPU_ONLINE;
        return;
    }
    unsigned count = plan(madt, max_cpus, limit_why);
    if (!count)
        return;
    if (!trampoline_page_free()) {
        pr_warn("page 0x%x is not free RAM: cannot start the other CPUs", TRAMPOLINE_PHYS);
        for (unsigned i = 1; i < CPUS_MAX; i++)
            if (cpus[i].state == CPU_STARTING)
                set_offline(&cpus[i], "no page for the start-up code");
        return;
    }
    memcpy(phys_to_virt(TRAMPOLINE_PHYS), trampoline_start,
           (size_t)(trampoline_end - trampoline_start));
    *(uint32_t *)trampoline_field(trampoline_cr3) =
        (uint32_t)(uint64_t)boot_pml4 - (uint32_t)KERNEL_VIRT_BASE;
    *(uint32_t *)trampoline_field(trampoline_nx) = (rdmsr(MSR_EFER) >> 11) & 1;
    *(uint64_t *)trampoline_field(trampoline_entry) = (uint64_t)ap_main;
    uint64_t *stacks = trampoline_field(trampoline_stacks);
    for (unsigned n = 0; n < count; n++) {
        /* Below 4 GiB: the boot page tables the AP starts on map only that much. */
        phys_addr_t stack = page_alloc(AP_STACK_SIZE / PAGE_SIZE, PAGE_SIZE, 4ULL << 30);
        stacks[n] = stack ? (uint64_t)phys_to_virt(stack) + AP_STACK_SIZE : 0;
    }
    *(uint32_t *)trampoline_field(trampoline_count) = count;
    __atomic_thread_fence(__ATOMIC_SEQ_CST);

    for (unsigned i = 1; i < CPUS_MAX; i++)
        if (cpus[i].state == CPU_STARTING)
            lapic_send_ipi(cpus[i].hw_id, IPI_INIT);
    if (init_needs_delay())
        mdelay(10);
    for (unsigned round = 0; round < 2; round++) {
        for (unsigned i = 1; i < CPUS_MAX; i++)
            if (__atomic_load_n(&cpus[i].state, __ATOMIC_ACQUIRE) == CPU_STARTING)
                lapic_send_ipi(cpus[i].hw_id, IPI_STARTUP | (TRAMPOLINE_PHYS >> 12));
        if (round == 0)
            udelay(200);
    }
    smp_note_started(count);
}

static struct cpu *find_self(void)
{
    uint32_t id = lapic_id();
    for (unsigned i = 1; i < CPUS_MAX; i++)
        if (cpus[i].hw_id == id && cpus[i].self == &cpus[i])
            return &cpus[i];
    return NULL;
}

void ap_main(uint64_t ticket)
{
    (void)ticket;
    write_cr3(paging_kernel_cr3());
    struct cpu *c = find_self();
    enum cpu_state expected = CPU_STARTING;
    if (!c || !__atomic_compare_exchange_n(&c->state, &expected, CPU_ARRIVED, false,
                                           __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
        arch_halt(); /* not ours to run, or given up on: stay parked */
    cpu_set_percpu_base(c);
    cpu_load_tables(c->id);
    lapic_init_ap();
    sched_init_cpu();
    c->idle_since_ns = 0;
    c->online_ns = time_ns();
    __atomic_store_n(&c->state, CPU_ONLINE, __ATOMIC_RELEASE);
    lapic_timer_start(TIMER_HZ);
    irq_enable();
    sched_idle_loop();
}

void arch_send_reschedule(unsigned cpu)
{
    lapic_send_ipi(cpus[cpu].hw_id, IPI_FIXED | VECTOR_RESCHEDULE);
}

void arch_send_call_function(unsigned cpu)
{
    lapic_send_ipi(cpus[cpu].hw_id, IPI_FIXED | VECTOR_CALL_FUNCTION);
}

void arch_cpu_stop_others(void)
{
    if (cpu_online_count() < 2)
        return;
    x86_cpus_stopping = true;
    lapic_send_ipi(0, IPI_NMI | IPI_ALL_BUT_SELF);
}
