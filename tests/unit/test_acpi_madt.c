/* ISA IRQs to interrupt specifiers through the MADT's interrupt source overrides (ACPI 6.x,
 * 5.2.12.5), on a table built byte by byte the way QEMU's PC firmware writes it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <rayos/acpi.h>
#include <rayos/bytes.h>
#include <rayos/errno.h>
#include <rayos/irq.h>
#include <rayos/string.h>

#include "drivers/acpi/acpi_internal.h"

static uint8_t table[256];
static uint32_t length;

static void start_madt(void)
{
    memset(table, 0, sizeof(table));
    memcpy(table, "APIC", 4);
    put_le32(table + 36, 0xfee00000u); /* local APIC address */
    put_le32(table + 40, 1);           /* PC-AT compatible: 8259s present */
    length = 44;
}

static void add_override(uint8_t isa_irq, uint32_t gsi, uint16_t flags)
{
    uint8_t *e = table + length;
    e[0] = 2; /* interrupt source override */
    e[1] = 10;
    e[2] = 0; /* bus: ISA */
    e[3] = isa_irq;
    put_le32(e + 4, gsi);
    put_le16(e + 8, flags);
    length += 10;
}

static void parse(struct acpi_madt_info *info)
{
    put_le32(table + 4, length);
    assert_true(acpi_parse_madt((const struct acpi_table_header *)table, info));
}

static struct irq_spec spec_of(const struct acpi_madt_info *madt, unsigned isa_irq)
{
    struct irq_spec spec = {0xdead, IRQ_EDGE_LOW};
    assert_int_equal(acpi_madt_isa_irq_spec(madt, isa_irq, &spec), 0);
    return spec;
}

/* QEMU's overrides: the PIT (ISA 0) on GSI 2 with "conforms" flags, and the PCI IRQs 5, 9, 10
 * and 11 level-triggered active high (flags 0x0d). */
static void test_qemu_overrides(void **state)
{
    struct acpi_madt_info madt;
    start_madt();
    add_override(0, 2, 0);
    add_override(5, 5, 0x0d);
    add_override(9, 9, 0x0d);
    add_override(10, 10, 0x0d);
    add_override(11, 11, 0x0d);
    parse(&madt);
    struct irq_spec spec = spec_of(&madt, 0);
    assert_int_equal(spec.line, 2);
    assert_int_equal(spec.trigger, IRQ_EDGE_HIGH); /* "conforms to the bus": ISA's edge, high */
    spec = spec_of(&madt, 9);
    assert_int_equal(spec.line, 9);
    assert_int_equal(spec.trigger, IRQ_LEVEL_HIGH);
    spec = spec_of(&madt, 4); /* no override: identity, edge, high */
    assert_int_equal(spec.line, 4);
    assert_int_equal(spec.trigger, IRQ_EDGE_HIGH);
}

static void test_polarity_and_trigger_flags(void **state)
{
    struct acpi_madt_info madt;
    start_madt();
    add_override(3, 20, 0x0f); /* level, active low */
    add_override(4, 21, 0x07); /* edge, active low */
    add_override(6, 22, 0x05); /* edge, active high stated */
    parse(&madt);
    struct irq_spec spec = spec_of(&madt, 3);
    assert_int_equal(spec.line, 20);
    assert_int_equal(spec.trigger, IRQ_LEVEL_LOW);
    spec = spec_of(&madt, 4);
    assert_int_equal(spec.line, 21);
    assert_int_equal(spec.trigger, IRQ_EDGE_LOW);
    spec = spec_of(&madt, 6);
    assert_int_equal(spec.line, 22);
    assert_int_equal(spec.trigger, IRQ_EDGE_HIGH);
}

/* No MADT (or none valid): the PC default for every ISA IRQ; nothing above 15 is an ISA IRQ. */
static void test_without_madt_and_out_of_range(void **state)
{
    for (unsigned irq = 0; irq < 16; irq++) {
        struct irq_spec spec = spec_of(NULL, irq);
        assert_int_equal(spec.line, irq);
        assert_int_equal(spec.trigger, IRQ_EDGE_HIGH);
    }
    struct irq_spec spec;
    assert_int_equal(acpi_madt_isa_irq_spec(NULL, 16, &spec), -EINVAL);
    struct acpi_madt_info madt;
    start_madt();
    add_override(0, 2, 0);
    parse(&madt);
    assert_int_equal(acpi_madt_isa_irq_spec(&madt, 255, &spec), -EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_qemu_overrides),
        cmocka_unit_test(test_polarity_and_trigger_flags),
        cmocka_unit_test(test_without_madt_and_out_of_range),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
