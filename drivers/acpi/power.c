/* ACPI power control on PCs: S5 soft-off through the FADT's PM1 control registers (I/O ports;
 * the sleep type comes from the DSDT's \_S5 package) and reset through the FADT reset register,
 * registered as the "acpi" power method. */
#define pr_fmt(fmt) "acpi: " fmt
#include <rayos/io.h>
#include <rayos/power.h>
#include <rayos/printk.h>
#include <rayos/string.h>
#include <rayos/time.h>
#include "acpi_internal.h"

static uint32_t pm1a_control, pm1b_control; /* I/O ports */
static uint32_t smi_command;
static uint8_t acpi_enable_value;
static bool have_s5;
static uint8_t s5_a, s5_b;
static bool reset_supported;
static struct acpi_generic_address reset_register;
static uint8_t reset_value;

#define PM1_SCI_EN (1u << 0)
#define PM1_SLP_EN (1u << 13)

static void enable_acpi_mode(void)
{
    if (!pm1a_control || (io_read16((uint16_t)pm1a_control) & PM1_SCI_EN))
        return;
    if (!smi_command || !acpi_enable_value)
        return;
    io_write8((uint16_t)smi_command, acpi_enable_value);
    for (int i = 0; i < 300 && !(io_read16((uint16_t)pm1a_control) & PM1_SCI_EN); i++)
        mdelay(1);
}

static void acpi_power_off(void)
{
    if (!have_s5 || !pm1a_control || pm1a_control > 0xffff)
        return;
    enable_acpi_mode();
    uint16_t value = io_read16((uint16_t)pm1a_control) & ~(uint16_t)(7u << 10);
    io_write16((uint16_t)pm1a_control, value | (uint16_t)((s5_a & 7u) << 10) | PM1_SLP_EN);
    if (pm1b_control && pm1b_control <= 0xffff) {
        value = io_read16((uint16_t)pm1b_control) & ~(uint16_t)(7u << 10);
        io_write16((uint16_t)pm1b_control, value | (uint16_t)((s5_b & 7u) << 10) | PM1_SLP_EN);
    }
    mdelay(100);
}

static void acpi_reset(void)
{
    if (!reset_supported)
        return;
    if (reset_register.space == 1 && reset_register.address < 0x10000) {
        io_write8((uint16_t)reset_register.address, reset_value);
    } else if (reset_register.space == 0) {
        volatile uint8_t *reg = map_phys(reset_register.address, 1, MAP_UNCACHED);
        if (reg)
            mmio_write8(reg, reset_value);
    }
    mdelay(100);
}

/* Above the emulator's exit port and the PC reset lines: ACPI is how the machine asks to be
 * turned off. */
static struct power_method acpi_method = {.name = "acpi", .rating = 200};

void acpi_power_init(void)
{
    const struct acpi_fadt_info *fadt = acpi_fadt();
    if (!fadt)
        return;
    smi_command = fadt->smi_command;
    acpi_enable_value = fadt->acpi_enable_value;
    pm1a_control = fadt->pm1a_control;
    pm1b_control = fadt->pm1b_control;
    reset_supported = fadt->reset_supported;
    reset_register = fadt->reset_register;
    reset_value = fadt->reset_value;
    const struct acpi_table_header *dsdt = acpi_find_table("DSDT", 0);
    if (dsdt)
        have_s5 =
            acpi_parse_s5((const uint8_t *)(dsdt + 1), dsdt->length - sizeof(*dsdt), &s5_a, &s5_b);
    if (!have_s5)
        pr_warn("no \\_S5 object in the DSDT: ACPI power-off unavailable");
    if (have_s5 && pm1a_control && pm1a_control <= 0xffff)
        acpi_method.off = acpi_power_off;
    if (reset_supported)
        acpi_method.reboot = acpi_reset;
    if (acpi_method.off || acpi_method.reboot)
        power_method_register(&acpi_method);
}
