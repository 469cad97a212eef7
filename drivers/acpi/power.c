/* ACPI power control: S5 soft-off through the FADT's PM1 control registers (the sleep type comes
 * from the DSDT's \_S5 package) and reset through the FADT reset register. */
#define pr_fmt(fmt) "acpi: " fmt
#include <rayos/io.h>
#include <rayos/printk.h>
#include <rayos/string.h>
#include <rayos/time.h>
#include "acpi_internal.h"

struct generic_address {
    uint8_t space; /* 0 memory, 1 I/O */
    uint8_t bit_width, bit_offset, access_size;
    uint64_t address;
} __packed;

static uint32_t pm1a_control, pm1b_control; /* I/O ports */
static uint32_t smi_command;
static uint8_t acpi_enable_value;
static bool have_s5;
static uint8_t s5_a, s5_b;
static bool reset_supported;
static struct generic_address reset_register;
static uint8_t reset_value;

#define FADT_FLAG_RESET_REG_SUP (1u << 10)
#define PM1_SCI_EN              (1u << 0)
#define PM1_SLP_EN              (1u << 13)

static uint8_t aml_pkg_length_bytes(uint8_t lead)
{
    return (uint8_t)(1 + (lead >> 6));
}

/* One small integer package element: Zero, One, Ones, BytePrefix n, or a raw byte. */
static bool aml_small_integer(const uint8_t **p, const uint8_t *end, uint8_t *value)
{
    if (*p >= end)
        return false;
    uint8_t op = *(*p)++;
    if (op == 0x0a) { /* BytePrefix */
        if (*p >= end)
            return false;
        *value = *(*p)++;
    } else if (op == 0x00 || op == 0x01) {
        *value = op;
    } else if (op == 0xff) {
        *value = 0xff;
    } else {
        return false;
    }
    return true;
}

bool acpi_parse_s5(const uint8_t *aml, size_t length, uint8_t *slp_typ_a, uint8_t *slp_typ_b)
{
    for (size_t i = 1; i + 4 < length; i++) {
        if (memcmp(aml + i, "_S5_", 4) != 0)
            continue;
        /* Must be a Name() declaration: NameOp directly before, or NameOp '\' before. */
        if (aml[i - 1] != 0x08 && !(i >= 2 && aml[i - 1] == '\\' && aml[i - 2] == 0x08))
            continue;
        const uint8_t *p = aml + i + 4, *end = aml + length;
        if (p >= end || *p++ != 0x12) /* PackageOp */
            continue;
        if (p >= end)
            return false;
        p += aml_pkg_length_bytes(*p);
        if (p >= end)
            return false;
        p++; /* NumElements */
        if (!aml_small_integer(&p, end, slp_typ_a))
            return false;
        if (!aml_small_integer(&p, end, slp_typ_b))
            *slp_typ_b = 0;
        return true;
    }
    return false;
}

void acpi_fadt_found(const struct acpi_table_header *fadt, acpi_add_table_fn add,
                     acpi_map_table_fn map)
{
    const uint8_t *p = (const uint8_t *)fadt;
    uint32_t length = fadt->length;
    if (length < 116) {
        pr_warn("FADT is only %u bytes; no ACPI power control", length);
        return;
    }
    smi_command = *(const uint32_t *)(p + 48);
    acpi_enable_value = p[52];
    pm1a_control = *(const uint32_t *)(p + 64);
    pm1b_control = *(const uint32_t *)(p + 68);
    uint32_t flags = *(const uint32_t *)(p + 112);
    if (length >= 129 && (flags & FADT_FLAG_RESET_REG_SUP)) {
        memcpy(&reset_register, p + 116, sizeof(reset_register));
        reset_value = p[128];
        reset_supported = reset_register.address != 0;
    }
    phys_addr_t dsdt_phys = *(const uint32_t *)(p + 40);
    if (length >= 148 && *(const uint64_t *)(p + 140))
        dsdt_phys = *(const uint64_t *)(p + 140);
    if (length >= 184) { /* prefer the 64-bit X_PM1x_CNT_BLK when it is an I/O address */
        struct generic_address x;
        memcpy(&x, p + 172, sizeof(x));
        if (x.space == 1 && x.address && x.address < 0x10000)
            pm1a_control = (uint32_t)x.address;
    }
    const struct acpi_table_header *dsdt = dsdt_phys ? map(dsdt_phys, "DSDT") : NULL;
    if (dsdt) {
        add(dsdt, dsdt_phys);
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
