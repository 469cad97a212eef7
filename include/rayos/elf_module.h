/* Kernel module files: ELF64 relocatable objects (.ko), parsed and linked by portable code so
 * the host can test and fuzz exactly what the kernel runs.  Everything in the file is
 * untrusted: parsing checks every header, index, offset and size before use and says why it
 * refuses, in words that name the problem ("section 7 lies outside the file").
 *
 * Layout: every SHF_ALLOC section goes into one of three regions, each placed by the caller at
 * an address of its choosing: text (executable), rodata (read-only) and data (writable, with
 * the NOBITS sections zeroed).  Linking copies the sections into the caller's buffers and
 * applies the relocations as if each region sat at its address; undefined symbols are
 * resolved through the caller's callback (the kernel's and loaded modules' exports). */
#ifndef RAYOS_ELF_MODULE_H
#define RAYOS_ELF_MODULE_H

#include <rayos/types.h>

enum module_region {
    MODULE_TEXT,
    MODULE_RODATA,
    MODULE_DATA,
    MODULE_REGIONS,
};

#define MODULE_MAX_BYTES (16u * 1024 * 1024) /* per region, and for the file */
#define MODULE_WHY_MAX   160

struct elf_module {
    const uint8_t *file;
    size_t size;
    unsigned section_count;
    const uint8_t *sections; /* section header table (64 bytes each) */
    const char *section_names;
    size_t section_names_size;
    unsigned symtab, strtab; /* section indices */
    unsigned symbol_count;
    const char *strings;
    size_t strings_size;
    /* Per ELF section: its region and offset there (offset UINT64_MAX when not placed). */
    uint8_t *section_region;
    uint64_t *section_offset;
    uint64_t region_size[MODULE_REGIONS];
    uint64_t region_align[MODULE_REGIONS];
    const char *modinfo; /* the .modinfo section: NUL-separated "key=value" strings */
    size_t modinfo_size;
};

/* Checks the file and computes the layout.  0, or a negative error with *why filled. */
int elf_module_parse(struct elf_module *mod, const void *file, size_t size, char *why,
                     size_t why_size);
void elf_module_free(struct elf_module *mod);

/* Returns 0 and the address of an exported symbol, or a negative error. */
typedef int (*elf_module_resolver)(const char *name, uint64_t *address, void *context);

/* Copies the placed sections into dest[r] (region_size[r] bytes each, zero-filled first) and
 * relocates them for regions at base[r]. */
int elf_module_link(const struct elf_module *mod, uint8_t *const dest[MODULE_REGIONS],
                    const uint64_t base[MODULE_REGIONS], elf_module_resolver resolve, void *context,
                    char *why, size_t why_size);

/* The value of the n-th "key=value" entry of .modinfo with that key, or NULL. */
const char *elf_module_info(const struct elf_module *mod, const char *key, unsigned n);

/* Calls fn for each function symbol defined in a placed text section, with its address for
 * the given bases (for backtraces).  Stops at a non-zero return. */
int elf_module_for_each_function(const struct elf_module *mod, const uint64_t base[MODULE_REGIONS],
                                 int (*fn)(const char *name, uint64_t address, uint64_t size,
                                           void *context),
                                 void *context);

/* The section an address of the placed image falls in, by name (for the host tests). */
const char *elf_module_section_name(const struct elf_module *mod, unsigned index);
uint64_t elf_module_section_size(const struct elf_module *mod, unsigned index);

/* Architecture part (arch/<arch>/module_reloc.c): applies one RELA relocation of the given
 * type at where (the bytes being written, place is their final address) with the symbol's
 * value S and addend A.  0, or -ENOEXEC / -ERANGE with why naming the type or the overflow. */
int arch_module_relocate(uint32_t type, uint8_t *where, uint64_t size_left, uint64_t place,
                         uint64_t symbol, int64_t addend, char *why, size_t why_size);
/* The machine number (e_machine) the kernel runs. */
unsigned arch_module_machine(void);

#endif
