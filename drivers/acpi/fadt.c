/* FADT fields and the \_S5 sleep type, parsed from firmware bytes without touching hardware
 * (portable: tests/fuzz/fuzz_acpi.c runs them on arbitrary tables).  Fields are read with
 * get_le*: a table may sit at any address. */
#define pr_fmt(fmt) "acpi: " fmt
#include <rayos/bytes.h>
#include <rayos/printk.h>
#include <rayos/string.h>
#include "acpi_internal.h"

#define FADT_FLAG_RESET_REG_SUP (1u << 10)

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

static void generic_address(const uint8_t *p, struct acpi_generic_address *out)
{
    *out = (struct acpi_generic_address){p[0], p[1], p[2], p[3], get_le64(p + 4)};
}

bool acpi_parse_fadt(const struct acpi_table_header *fadt, struct acpi_fadt_info *out)
{
    const uint8_t *p = (const uint8_t *)fadt;
    uint32_t length = fadt->length;
    memset(out, 0, sizeof(*out));
    if (length < 116) {
        pr_warn("FADT is only %u bytes; no ACPI power control", length);
        return false;
    }
    out->smi_command = get_le32(p + 48);
    out->acpi_enable_value = p[52];
    out->pm1a_control = get_le32(p + 64);
    out->pm1b_control = get_le32(p + 68);
    uint32_t flags = get_le32(p + 112);
    if (length >= 129 && (flags & FADT_FLAG_RESET_REG_SUP)) {
        generic_address(p + 116, &out->reset_register);
        out->reset_value = p[128];
        out->reset_supported = out->reset_register.address != 0;
    }
    out->dsdt_phys = get_le32(p + 40);
    if (length >= 148 && get_le64(p + 140))
        out->dsdt_phys = get_le64(p + 140);
    if (length >= 184) { /* prefer the 64-bit X_PM1x_CNT_BLK when it is an I/O address */
        struct acpi_generic_address x;
        generic_address(p + 172, &x);
        if (x.space == 1 && x.address && x.address < 0x10000)
            out->pm1a_control = (uint32_t)x.address;
    }
    return true;
}
