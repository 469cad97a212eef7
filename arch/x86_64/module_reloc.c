/* x86-64 relocations for kernel modules (System V AMD64 ABI, "Relocation Types").  Modules are
 * built like the kernel (-mcmodel=kernel, no PIC) and placed in the top 2 GiB, so they only
 * need absolute 64- and sign-extended 32-bit addresses and PC-relative 32-bit ones; calls go
 * straight to their target (PLT32 is PC32), everything else is refused by name.  Portable C:
 * the host tests and the fuzz target run this file too. */
#include <rayos/bytes.h>
#include <rayos/elf_module.h>
#include <rayos/errno.h>
#include <rayos/string.h>

#define EM_X86_64 62

unsigned arch_module_machine(void)
{
    return EM_X86_64;
}

static const char *const type_names[] = {
    [0] = "R_X86_64_NONE",
    [1] = "R_X86_64_64",
    [2] = "R_X86_64_PC32",
    [3] = "R_X86_64_GOT32",
    [4] = "R_X86_64_PLT32",
    [5] = "R_X86_64_COPY",
    [6] = "R_X86_64_GLOB_DAT",
    [7] = "R_X86_64_JUMP_SLOT",
    [8] = "R_X86_64_RELATIVE",
    [9] = "R_X86_64_GOTPCREL",
    [10] = "R_X86_64_32",
    [11] = "R_X86_64_32S",
    [12] = "R_X86_64_16",
    [13] = "R_X86_64_PC16",
    [14] = "R_X86_64_8",
    [15] = "R_X86_64_PC8",
    [16] = "R_X86_64_DTPMOD64",
    [17] = "R_X86_64_DTPOFF64",
    [18] = "R_X86_64_TPOFF64",
    [19] = "R_X86_64_TLSGD",
    [20] = "R_X86_64_TLSLD",
    [21] = "R_X86_64_DTPOFF32",
    [22] = "R_X86_64_GOTTPOFF",
    [23] = "R_X86_64_TPOFF32",
    [24] = "R_X86_64_PC64",
    [25] = "R_X86_64_GOTOFF64",
    [26] = "R_X86_64_GOTPC32",
    [32] = "R_X86_64_SIZE32",
    [33] = "R_X86_64_SIZE64",
    [41] = "R_X86_64_GOTPCRELX",
    [42] = "R_X86_64_REX_GOTPCRELX",
};

static const char *type_name(uint32_t type)
{
    if (type < ARRAY_SIZE(type_names) && type_names[type])
        return type_names[type];
    return "an unknown type";
}

int arch_module_relocate(uint32_t type, uint8_t *where, uint64_t size_left, uint64_t place,
                         uint64_t symbol, int64_t addend, char *why, size_t why_size)
{
    uint64_t value = symbol + (uint64_t)addend;
    unsigned width;
    switch (type) {
    case 0: /* R_X86_64_NONE */
        return 0;
    case 1:  /* R_X86_64_64: S + A */
    case 24: /* R_X86_64_PC64: S + A - P */
        width = 8;
        break;
    case 2:  /* R_X86_64_PC32: S + A - P */
    case 4:  /* R_X86_64_PLT32: L + A - P, with L = S (no PLT) */
    case 10: /* R_X86_64_32: S + A, zero-extended */
    case 11: /* R_X86_64_32S: S + A, sign-extended */
        width = 4;
        break;
    default:
        snprintf(why, why_size, "relocation type %u (%s) not supported", type, type_name(type));
        return -ENOEXEC;
    }
    if (size_left < width) {
        snprintf(why, why_size, "%s runs past the end of its section", type_name(type));
        return -ENOEXEC;
    }
    if (type == 2 || type == 4 || type == 24)
        value -= place;
    bool fits = true;
    if (type == 2 || type == 4 || type == 11)
        fits = (int64_t)value == (int64_t)(int32_t)(uint32_t)value;
    else if (type == 10)
        fits = value == (uint32_t)value;
    if (!fits) {
        snprintf(why, why_size, "%s value %#llx does not fit in 32 bits", type_name(type),
                 (unsigned long long)value);
        return -ERANGE;
    }
    if (width == 8)
        put_le64(where, value);
    else
        put_le32(where, (uint32_t)value);
    return 0;
}
