/* The AArch64 half of boot, in dependency order: per-CPU data, the device tree (memory, command
 * line, interrupt controller, CPUs), the boot console, physical memory, page tables, interrupts,
 * clocks, power; then the portable kernel. */
#define pr_fmt(fmt) "boot: " fmt
#include <rayos/boot_info.h>
#include <rayos/boot_modules.h>
#include <rayos/kernel_main.h>
#include <rayos/mm.h>
#include <rayos/printk.h>
#include <rayos/smp.h>
#include <rayos/time.h>
#include "aarch64.h"
#include "machine.h"

extern char _kernel_end[];
void time_record_boot(void);
void early_console_remap(void);
void arch_main(phys_addr_t dtb, phys_addr_t load_address);

void arch_main(phys_addr_t dtb, phys_addr_t load_address)
{
    time_record_boot();
    kernel_phys_base = load_address;
    smp_init_cpu_struct(0, mpidr_to_hw_id(read_sysreg(mpidr_el1)));
    write_sysreg(tpidr_el1, &cpus[0]);
    machine_from_device_tree(dtb);
    early_console_init();
    printk(LOG_INFO, "RayOS aarch64 booting (EL1, loaded at 0x%llx)",
           (unsigned long long)load_address);

    phys_addr_t kernel_end = load_address + ((uint64_t)_kernel_end - KERNEL_VIRT_BASE);
    boot_info.module_count =
        boot_modules_check(boot_info.modules, boot_info.module_count, boot_info.regions,
                           boot_info.region_count, load_address, kernel_end);
    struct pmm_reserved reserved[BOOT_MODULES_MAX + 2];
    unsigned count = 0;
    reserved[count++] = (struct pmm_reserved){load_address, kernel_end};
    reserved[count++] = (struct pmm_reserved){dtb, dtb + boot_info.dtb_size};
    for (unsigned i = 0; i < boot_info.module_count; i++)
        reserved[count++] =
            (struct pmm_reserved){boot_info.modules[i].start, boot_info.modules[i].end};
    pmm_init(boot_info.regions, boot_info.region_count, reserved, count);
    paging_init();
    early_console_remap();

    gic_init();
    time_init();
    time_start_tick();
    rtc_init();
    psci_init();
    semihosting_init();
    kernel_start();
}
