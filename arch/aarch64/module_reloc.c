/* AArch64 relocations for kernel modules (ELF for the Arm 64-bit Architecture, "Static AArch64
 * relocations").  Modules are built like the kernel (-mcmodel=small, no PIC) and placed within
 * 128 MiB of it, so they need absolute data words, PC-relative data, ADRP page offsets with
 * their low-12-bit companions, and branches; everything else is refused by name.  Portable C:
 * the host tests run this file too. */
#include <rayos/bytes.h>
#include <rayos/elf_module.h>
#include <rayos/errno.h>
#include <rayos/string.h>

#define EM_AARCH64 183

enum {
    R_NONE = 0,
    R_ABS64 = 257,
    R_ABS32 = 258,
    R_PREL64 = 260,
    R_PREL32 = 261,
    R_ADR_PREL_LO21 = 274,
    R_ADR_PREL_PG_HI21 = 275,
    R_ADR_PREL_PG_HI21_NC = 276,
    R_ADD_ABS_LO12_NC = 277,
    R_LDST8_ABS_LO12_NC = 278,
    R_TSTBR14 = 279,
    R_CONDBR19 = 280,
    R_JUMP26 = 282,
    R_CALL26 = 283,
    R_LDST16_ABS_LO12_NC = 284,
    R_LDST32_ABS_LO12_NC = 285,
    R_LDST64_ABS_LO12_NC = 286,
    R_LDST128_ABS_LO12_NC = 299,
};

unsigned arch_module_machine(void)
{
    return EM_AARCH64;
}

static const char *type_name(uint32_t type)
{
    switch (type) {
    case R_ABS64:
        return "R_AARCH64_ABS64";
    case R_ABS32:
        return "R_AARCH64_ABS32";
    case R_PREL64:
        return "R_AARCH64_PREL64";
    case R_PREL32:
        return "R_AARCH64_PREL32";
    case R_ADR_PREL_LO21:
        return "R_AARCH64_ADR_PREL_LO21";
    case R_ADR_PREL_PG_HI21:
        return "R_AARCH64_ADR_PREL_PG_HI21";
    case R_ADR_PREL_PG_HI21_NC:
        return "R_AARCH64_ADR_PREL_PG_HI21_NC";
    case R_ADD_ABS_LO12_NC:
        return "R_AARCH64_ADD_ABS_LO12_NC";
    case R_LDST8_ABS_LO12_NC:
        return "R_AARCH64_LDST8_ABS_LO12_NC";
    case R_TSTBR14:
        return "R_AARCH64_TSTBR14";
    case R_CONDBR19:
        return "R_AARCH64_CONDBR19";
    case R_JUMP26:
        return "R_AARCH64_JUMP26";
    case R_CALL26:
        return "R_AARCH64_CALL26";
    case R_LDST16_ABS_LO12_NC:
        return "R_AARCH64_LDST16_ABS_LO12_NC";
    case R_LDST32_ABS_LO12_NC:
        return "R_AARCH64_LDST32_ABS_LO12_NC";
    case R_LDST64_ABS_LO12_NC:
        return "R_AARCH64_LDST64_ABS_LO12_NC";
    case R_LDST128_ABS_LO12_NC:
        return "R_AARCH64_LDST128_ABS_LO12_NC";
    case 311:
        return "R_AARCH64_ADR_GOT_PAGE";
    case 312:
        return "R_AARCH64_LD64_GOT_LO12_NC";
    default:
        return "an unknown type";
    }
}

static bool fits_signed(int64_t value, unsigned bits)
{
    return value >= -(1LL << (bits - 1)) && value < (1LL << (bits - 1));
}

/* Replaces the bits [shift, shift + width) of the instruction at where. */
static void patch(uint8_t *where, uint64_t field, unsigned shift, unsigned width)
{
    uint32_t insn = get_le32(where);
    uint32_t mask = (uint32_t)(((1ULL << width) - 1) << shift);
    put_le32(where, (insn & ~mask) | ((uint32_t)(field << shift) & mask));
}

/* ADR/ADRP: a 21-bit immediate split into immlo (bits 29-30) and immhi (bits 5-23). */
static void patch_adr(uint8_t *where, uint64_t imm21)
{
    patch(where, imm21 & 3, 29, 2);
    patch(where, (imm21 >> 2) & 0x7ffff, 5, 19);
}

static int out_of_range(uint32_t type, int64_t value, char *why, size_t why_size)
{
    snprintf(why, why_size, "%s value %lld is out of the instruction's range", type_name(type),
             (long long)value);
    return -ERANGE;
}

int arch_module_relocate(uint32_t type, uint8_t *where, uint64_t size_left, uint64_t place,
                         uint64_t symbol, int64_t addend, char *why, size_t why_size)
{
    uint64_t value = symbol + (uint64_t)addend;
    unsigned width = type == R_NONE ? 0 : type == R_ABS64 || type == R_PREL64 ? 8 : 4;
    if (size_left < width) {
        snprintf(why, why_size, "%s runs past the end of its section", type_name(type));
        return -ENOEXEC;
    }
    int64_t relative = (int64_t)(value - place);
    switch (type) {
    case R_NONE:
        return 0;
    case R_ABS64:
        put_le64(where, value);
        return 0;
    case R_PREL64:
        put_le64(where, (uint64_t)relative);
        return 0;
    case R_ABS32:
        if (value != (uint32_t)value && !fits_signed((int64_t)value, 32))
            return out_of_range(type, (int64_t)value, why, why_size);
        put_le32(where, (uint32_t)value);
        return 0;
    case R_PREL32:
        if (!fits_signed(relative, 32))
            return out_of_range(type, relative, why, why_size);
        put_le32(where, (uint32_t)relative);
        return 0;
    case R_ADR_PREL_LO21:
        if (!fits_signed(relative, 21))
            return out_of_range(type, relative, why, why_size);
        patch_adr(where, (uint64_t)relative);
        return 0;
    case R_ADR_PREL_PG_HI21:
    case R_ADR_PREL_PG_HI21_NC: {
        int64_t pages = (int64_t)((value & ~0xfffULL) - (place & ~0xfffULL)) >> 12;
        if (type == R_ADR_PREL_PG_HI21 && !fits_signed(pages, 21))
            return out_of_range(type, pages, why, why_size);
        patch_adr(where, (uint64_t)pages);
        return 0;
    }
    case R_ADD_ABS_LO12_NC:
    case R_LDST8_ABS_LO12_NC:
        patch(where, value & 0xfff, 10, 12);
        return 0;
    case R_LDST16_ABS_LO12_NC:
        patch(where, (value & 0xfff) >> 1, 10, 12);
        return 0;
    case R_LDST32_ABS_LO12_NC:
        patch(where, (value & 0xfff) >> 2, 10, 12);
        return 0;
    case R_LDST64_ABS_LO12_NC:
        patch(where, (value & 0xfff) >> 3, 10, 12);
        return 0;
    case R_LDST128_ABS_LO12_NC:
        patch(where, (value & 0xfff) >> 4, 10, 12);
        return 0;
    case R_JUMP26:
    case R_CALL26:
        if (!fits_signed(relative, 28) || (relative & 3))
            return out_of_range(type, relative, why, why_size);
        patch(where, (uint64_t)relative >> 2, 0, 26);
        return 0;
    case R_CONDBR19:
        if (!fits_signed(relative, 21) || (relative & 3))
            return out_of_range(type, relative, why, why_size);
        patch(where, (uint64_t)relative >> 2, 5, 19);
        return 0;
    case R_TSTBR14:
        if (!fits_signed(relative, 16) || (relative & 3))
            return out_of_range(type, relative, why, why_size);
        patch(where, (uint64_t)relative >> 2, 5, 14);
        return 0;
    default:
        snprintf(why, why_size, "relocation type %u (%s) not supported", type, type_name(type));
        return -ENOEXEC;
    }
}
