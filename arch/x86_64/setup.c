/* The x86-64 half of boot, in dependency order: console, power methods, boot information,
 * descriptor tables, physical memory, page tables, heap, ACPI, interrupt controllers, clocks. */
#define pr_fmt(fmt) "boot: " fmt
#include <rayos/acpi.h>
#include <rayos/boot_info.h>
#include <rayos/boot_modules.h>
#include <rayos/kernel_main.h>
#include <rayos/mm.h>
#include <rayos/printk.h>
#include <rayos/smp.h>
#include "x86.h"

extern char _bss_end[];
void time_record_boot(void);
void time_start_pit_irq(void);
void kmain(uint32_t magic, uint32_t info);

void kmain(uint32_t magic, uint32_t info)
{
    time_record_boot();
    /* Per-CPU data first: locks (and so printk) find the CPU through it. */
    smp_init_cpu_struct(0, 0);
    cpu_set_percpu_base(&cpus[0]);
    x86_early_console_init();
    /* Before anything can panic: a panic under exit_on_panic leaves QEMU through this port. */
    qemu_exit_register();
    pc_reset_register();
    printk(LOG_INFO, "RayOS x86_64 booting");
    multiboot_parse(magic, info);
    cpu_init();

    phys_addr_t kernel_end = (phys_addr_t)_bss_end - KERNEL_VIRT_BASE;
    boot_info.module_count =
        boot_modules_check(boot_info.modules, boot_info.module_count, boot_info.regions,
                           boot_info.region_count, 0x100000, kernel_end);
    struct pmm_reserved reserved[BOOT_MODULES_MAX + 2];
    unsigned reserved_count = 0;
    /* The first MiB stays the firmware's: real-mode IVT, BIOS data area, EBDA, option ROMs
     * (and the SMP trampoline page, which smp.c checks separately). */
    reserved[reserved_count++] = (struct pmm_reserved){0, 0x100000};
    reserved[reserved_count++] = (struct pmm_reserved){0x100000, kernel_end};
    for (unsigned i = 0; i < boot_info.module_count; i++)
        reserved[reserved_count++] =
            (struct pmm_reserved){boot_info.modules[i].start, boot_info.modules[i].end};
    pmm_init(boot_info.regions, boot_info.region_count, reserved, reserved_count);
    paging_init();

    bios_find_rsdp();
    acpi_init();
    acpi_power_init();
    irq_init();
    time_init();
    time_start_pit_irq();
    rtc_init();
    kernel_start();
}
