/* ACPI power control: S5 soft-off through the FADT's PM1 control registers (the sleep type comes
 * from the DSDT's \_S5 package) and reset through the FADT reset register. */
#define pr_fmt(fmt) "acpi: " fmt
#include <rayos/io.h>
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

void acpi_fadt_found(const struct acpi_table_header *fadt, acpi_add_table_fn add,
                     acpi_map_table_fn map)
{
    struct acpi_fadt_info info;
    if (!acpi_parse_fadt(fadt, &info))
        return;
    smi_command = info.smi_command;
    acpi_enable_value = info.acpi_enable_value;
    pm1a_control = info.pm1a_control;
    pm1b_control = info.pm1b_control;
    reset_supported = info.reset_supported;
    reset_register = info.reset_register;
    reset_value = info.reset_value;
    const struct acpi_table_header *dsdt = info.dsdt_phys ? map(info.dsdt_phys, "DSDT") : NULL;
    if (dsdt) {
        add(dsdt, info.dsdt_phys);
        have_s5 =
            acpi_parse_s5((const uint8_t *)(dsdt + 1), dsdt->length - sizeof(*dsdt), &s5_a, &s5_b);
    }
    if (!have_s5)
        pr_warn("no \\_S5 object in the DSDT: ACPI power-off unavailable");
}

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

void acpi_power_off(void)
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

void acpi_reset(void)
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
