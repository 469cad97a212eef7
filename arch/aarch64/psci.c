/* PSCI (Arm DEN 0022): firmware calls for starting CPUs, powering off and resetting, made with
 * HVC or SMC as the device tree's /psci node says.  QEMU's virt machine implements it itself. */
#define pr_fmt(fmt) "psci: " fmt
#include <rayos/arch.h>
#include <rayos/errno.h>
#include <rayos/power.h>
#include <rayos/printk.h>
#include "aarch64.h"
#include "machine.h"

#define PSCI_CPU_ON_64    0xc4000003u
#define PSCI_SYSTEM_OFF   0x84000008u
#define PSCI_SYSTEM_RESET 0x84000009u

static int64_t psci_call(uint64_t function, uint64_t a1, uint64_t a2, uint64_t a3)
{
    register uint64_t x0 __asm__("x0") = function;
    register uint64_t x1 __asm__("x1") = a1;
    register uint64_t x2 __asm__("x2") = a2;
    register uint64_t x3 __asm__("x3") = a3;
    if (machine.psci == PSCI_HVC)
        __asm__ volatile("hvc #0" : "+r"(x0) : "r"(x1), "r"(x2), "r"(x3) : "memory");
    else if (machine.psci == PSCI_SMC)
        __asm__ volatile("smc #0" : "+r"(x0) : "r"(x1), "r"(x2), "r"(x3) : "memory");
    else
        return -1; /* NOT_SUPPORTED */
    return (int64_t)x0;
}

int psci_cpu_on(uint64_t mpidr, phys_addr_t entry, uint64_t context)
{
    int64_t result = psci_call(PSCI_CPU_ON_64, mpidr, entry, context);
    switch (result) {
    case 0:
        return 0;
    case -1:
        return -ENOSYS; /* NOT_SUPPORTED */
    case -2:
        return -EINVAL; /* INVALID_PARAMETERS */
    case -4:
        return -EALREADY; /* ALREADY_ON */
    case -5:
        return -EBUSY; /* ON_PENDING */
    default:
        return -EIO;
    }
}

static void psci_off(void)
{
    psci_call(PSCI_SYSTEM_OFF, 0, 0, 0);
}

static void psci_reboot(void)
{
    psci_call(PSCI_SYSTEM_RESET, 0, 0, 0);
}

static const struct power_method psci_power = {
    .name = "PSCI",
    .rating = 100,
    .off = psci_off,
    .reboot = psci_reboot,
    .exit_status = NULL,
};

void psci_init(void)
{
    if (machine.psci == PSCI_NONE) {
        pr_warn("no PSCI in the device tree: no power-off, reboot or secondary CPUs");
        return;
    }
    power_method_register(&psci_power);
}
