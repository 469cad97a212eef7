/* Parsing and linking kernel module files (see <rayos/elf_module.h>).  Fields are read with
 * get_le*() from the file bytes, never through casts, so an odd offset or a short file can
 * only lead to a refusal. */
#include <rayos/bytes.h>
#include <rayos/elf_module.h>
#include <rayos/errno.h>
#include <rayos/heap.h>
#include <rayos/string.h>

#define EHDR_SIZE     64
#define SHDR_SIZE     64
#define SYM_SIZE      24
#define RELA_SIZE     24
#define SHT_SYMTAB    2
#define SHT_STRTAB    3
#define SHT_RELA      4
#define SHT_NOBITS    8
#define SHT_REL       9
#define SHF_WRITE     0x1
#define SHF_ALLOC     0x2
#define SHF_EXEC      0x4
#define SHN_UNDEF     0
#define SHN_LORESERVE 0xff00
#define SHN_ABS       0xfff1
#define SHN_COMMON    0xfff2
#define STT_FUNC      2
#define STT_SECTION   3
#define STB_LOCAL     0
#define ALIGN_MAX     4096
#define NOT_PLACED    UINT64_MAX

struct shdr {
    uint32_t name, type;
    uint64_t flags, addr, offset, size;
    uint32_t link, info;
    uint64_t align, entsize;
};

struct sym {
    uint32_t name;
    uint8_t info;
    uint16_t shndx;
    uint64_t value, size;
};

static void refuse(char *why, size_t why_size, const char *fmt, ...) __printf(3, 4);
static void refuse(char *why, size_t why_size, const char *fmt, ...)
{
    __builtin_va_list args;
    __builtin_va_start(args, fmt);
    vsnprintf(why, why_size, fmt, args);
    __builtin_va_end(args);
}

static struct shdr section(const struct elf_module *mod, unsigned index)
{
    const uint8_t *p = mod->sections + (size_t)index * SHDR_SIZE;
    return (struct shdr){get_le32(p),      get_le32(p + 4),  get_le64(p + 8),  get_le64(p + 16),
                         get_le64(p + 24), get_le64(p + 32), get_le32(p + 40), get_le32(p + 44),
                         get_le64(p + 48), get_le64(p + 56)};
}

static struct sym symbol(const struct elf_module *mod, unsigned index)
{
    struct shdr tab = section(mod, mod->symtab);
    const uint8_t *p = mod->file + tab.offset + (size_t)index * SYM_SIZE;
    return (struct sym){get_le32(p), p[4], get_le16(p + 6), get_le64(p + 8), get_le64(p + 16)};
}

/* A NUL-terminated string at offset in a table of size bytes, or NULL. */
static const char *table_string(const char *table, size_t size, uint64_t offset)
{
    if (!table || offset >= size || !memchr(table + offset, 0, size - offset))
        return NULL;
    return table + offset;
}

const char *elf_module_section_name(const struct elf_module *mod, unsigned index)
{
    if (index >= mod->section_count)
        return NULL;
    return table_string(mod->section_names, mod->section_names_size, section(mod, index).name);
}

uint64_t elf_module_section_size(const struct elf_module *mod, unsigned index)
{
    return index < mod->section_count ? section(mod, index).size : 0;
}

static bool in_file(const struct elf_module *mod, uint64_t offset, uint64_t size)
{
    return offset <= mod->size && size <= mod->size - offset;
}

static int check_header(struct elf_module *mod, char *why, size_t why_size)
{
    const uint8_t *h = mod->file;
    if (mod->size < EHDR_SIZE) {
        refuse(why, why_size, "truncated: %zu bytes, shorter than an ELF header", mod->size);
        return -ENOEXEC;
    }
    if (memcmp(h, "\177ELF", 4) != 0) {
        refuse(why, why_size, "not an ELF file");
        return -ENOEXEC;
    }
    if (h[4] != 2) {
        refuse(why, why_size, "wrong ELF class %u (not 64-bit)", h[4]);
        return -ENOEXEC;
    }
    if (h[5] != 1) {
        refuse(why, why_size, "not little-endian");
        return -ENOEXEC;
    }
    if (get_le16(h + 16) != 1) {
        refuse(why, why_size, "ELF type %u, not a relocatable object", get_le16(h + 16));
        return -ENOEXEC;
    }
    if (get_le16(h + 18) != arch_module_machine()) {
        refuse(why, why_size, "built for ELF machine %u, this kernel runs machine %u",
               get_le16(h + 18), arch_module_machine());
        return -ENOEXEC;
    }
    uint64_t shoff = get_le64(h + 40);
    unsigned shentsize = get_le16(h + 58), shnum = get_le16(h + 60), shstrndx = get_le16(h + 62);
    if (shentsize != SHDR_SIZE || shnum == 0 || !in_file(mod, shoff, (uint64_t)shnum * SHDR_SIZE)) {
        refuse(why, why_size, "truncated: section headers (%u at %llu) lie outside the file", shnum,
               (unsigned long long)shoff);
        return -ENOEXEC;
    }
    if (shstrndx >= shnum) {
        refuse(why, why_size, "section name table index %u out of range (%u sections)", shstrndx,
               shnum);
        return -ENOEXEC;
    }
    mod->section_count = shnum;
    mod->sections = mod->file + shoff;
    struct shdr names = section(mod, shstrndx);
    if (names.type != SHT_STRTAB || !in_file(mod, names.offset, names.size)) {
        refuse(why, why_size, "section name table is not a string table inside the file");
        return -ENOEXEC;
    }
    mod->section_names = (const char *)mod->file + names.offset;
    mod->section_names_size = names.size;
    return 0;
}

static int check_sections(struct elf_module *mod, char *why, size_t why_size)
{
    mod->symtab = 0;
    for (unsigned i = 1; i < mod->section_count; i++) {
        struct shdr s = section(mod, i);
        if (s.type != SHT_NOBITS && !in_file(mod, s.offset, s.size)) {
            refuse(why, why_size,
                   "truncated: section %u (%llu bytes at %llu) lies outside the file", i,
                   (unsigned long long)s.size, (unsigned long long)s.offset);
            return -ENOEXEC;
        }
        if (!elf_module_section_name(mod, i)) {
            refuse(why, why_size, "section %u has a name outside the name table", i);
            return -ENOEXEC;
        }
        if (s.type == SHT_REL) {
            refuse(why, why_size, "section %u: REL relocations (without addends) not supported", i);
            return -ENOEXEC;
        }
        if (s.type == SHT_SYMTAB) {
            if (mod->symtab) {
                refuse(why, why_size, "more than one symbol table");
                return -ENOEXEC;
            }
            mod->symtab = i;
        }
    }
    if (!mod->symtab) {
        refuse(why, why_size, "no symbol table");
        return -ENOEXEC;
    }
    struct shdr tab = section(mod, mod->symtab);
    if (tab.entsize != SYM_SIZE || tab.size % SYM_SIZE || tab.link >= mod->section_count) {
        refuse(why, why_size, "malformed symbol table (entry size %llu, string table %u)",
               (unsigned long long)tab.entsize, tab.link);
        return -ENOEXEC;
    }
    struct shdr strings = section(mod, tab.link);
    if (strings.type != SHT_STRTAB) {
        refuse(why, why_size, "symbol names (section %u) are not a string table", tab.link);
        return -ENOEXEC;
    }
    mod->strtab = tab.link;
    mod->strings = (const char *)mod->file + strings.offset;
    mod->strings_size = strings.size;
    mod->symbol_count = (unsigned)(tab.size / SYM_SIZE);
    return 0;
}

static int check_symbols(struct elf_module *mod, char *why, size_t why_size)
{
    /* Symbol 0 as well: a relocation may name it, whatever the ELF rules say it holds. */
    for (unsigned i = 0; i < mod->symbol_count; i++) {
        struct sym s = symbol(mod, i);
        const char *name = table_string(mod->strings, mod->strings_size, s.name);
        if (!name) {
            refuse(why, why_size, "symbol %u has a name outside the string table", i);
            return -ENOEXEC;
        }
        if (s.shndx == SHN_COMMON) {
            refuse(why, why_size, "symbol %s is a common symbol (build with -fno-common)", name);
            return -ENOEXEC;
        }
        if (s.shndx != SHN_UNDEF && s.shndx != SHN_ABS &&
            (s.shndx >= mod->section_count || s.shndx >= SHN_LORESERVE)) {
            char label[48];
            if (name[0])
                snprintf(label, sizeof(label), "%.40s", name);
            else
                snprintf(label, sizeof(label), "#%u", i);
            refuse(why, why_size, "symbol %s: section index %u out of range (%u sections)", label,
                   s.shndx, mod->section_count);
            return -ENOEXEC;
        }
    }
    return 0;
}

static enum module_region region_of(const struct shdr *s)
{
    if (s->flags & SHF_EXEC)
        return MODULE_TEXT;
    return s->flags & SHF_WRITE ? MODULE_DATA : MODULE_RODATA;
}

/* Places every SHF_ALLOC section in its region, NOBITS ones after the rest of the data. */
static int place_sections(struct elf_module *mod, char *why, size_t why_size)
{
    for (unsigned r = 0; r < MODULE_REGIONS; r++)
        mod->region_align[r] = 1;
    for (unsigned pass = 0; pass < 2; pass++) {
        for (unsigned i = 1; i < mod->section_count; i++) {
            struct shdr s = section(mod, i);
            if (!(s.flags & SHF_ALLOC) || (pass == 0) == (s.type == SHT_NOBITS))
                continue;
            uint64_t align = s.align ? s.align : 1;
            if (align & (align - 1) || align > ALIGN_MAX) {
                refuse(why, why_size, "section %s: alignment %llu not a power of two up to %u",
                       elf_module_section_name(mod, i), (unsigned long long)align, ALIGN_MAX);
                return -ENOEXEC;
            }
            enum module_region r = region_of(&s);
            uint64_t offset = (mod->region_size[r] + align - 1) & ~(align - 1);
            if (s.size > MODULE_MAX_BYTES || offset + s.size > MODULE_MAX_BYTES) {
                refuse(why, why_size, "section %s makes the module larger than %u bytes",
                       elf_module_section_name(mod, i), MODULE_MAX_BYTES);
                return -E2BIG;
            }
            mod->section_region[i] = (uint8_t)r;
            mod->section_offset[i] = offset;
            mod->region_size[r] = offset + s.size;
            if (align > mod->region_align[r])
                mod->region_align[r] = align;
        }
    }
    return 0;
}

static void find_modinfo(struct elf_module *mod)
{
    for (unsigned i = 1; i < mod->section_count; i++) {
        struct shdr s = section(mod, i);
        if (s.type != SHT_NOBITS && strcmp(elf_module_section_name(mod, i), ".modinfo") == 0) {
            mod->modinfo = (const char *)mod->file + s.offset;
            mod->modinfo_size = s.size;
        }
    }
}

int elf_module_parse(struct elf_module *mod, const void *file, size_t size, char *why,
                     size_t why_size)
{
    memset(mod, 0, sizeof(*mod));
    mod->file = file;
    mod->size = size;
    if (size > MODULE_MAX_BYTES) {
        refuse(why, why_size, "file of %zu bytes is larger than %u", size, MODULE_MAX_BYTES);
        return -E2BIG;
    }
    int status = check_header(mod, why, why_size);
    if (status == 0)
        status = check_sections(mod, why, why_size);
    if (status == 0)
        status = check_symbols(mod, why, why_size);
    if (status < 0)
        return status;
    mod->section_region = kcalloc(mod->section_count, sizeof(*mod->section_region));
    mod->section_offset = kcalloc(mod->section_count, sizeof(*mod->section_offset));
    if (!mod->section_region || !mod->section_offset) {
        elf_module_free(mod);
        refuse(why, why_size, "out of memory");
        return -ENOMEM;
    }
    for (unsigned i = 0; i < mod->section_count; i++)
        mod->section_offset[i] = NOT_PLACED;
    status = place_sections(mod, why, why_size);
    if (status < 0) {
        elf_module_free(mod);
        return status;
    }
    find_modinfo(mod);
    return 0;
}

void elf_module_free(struct elf_module *mod)
{
    kfree(mod->section_region);
    kfree(mod->section_offset);
    mod->section_region = NULL;
    mod->section_offset = NULL;
}

/* The final address of a defined symbol, or of an undefined one through resolve. */
static int symbol_value(const struct elf_module *mod, unsigned index,
                        const uint64_t base[MODULE_REGIONS], elf_module_resolver resolve,
                        void *context, uint64_t *value, char *why, size_t why_size)
{
    struct sym s = symbol(mod, index);
    const char *name = table_string(mod->strings, mod->strings_size, s.name);
    if (s.shndx == SHN_ABS) {
        *value = s.value;
        return 0;
    }
    if (s.shndx == SHN_UNDEF) {
        if (index == 0) {
            *value = 0;
            return 0;
        }
        if ((s.info >> 4) == STB_LOCAL || resolve(name, value, context) < 0) {
            refuse(why, why_size,
                   "unresolved symbol %s (not exported by the kernel or a loaded "
                   "module)",
                   name);
            return -ENOENT;
        }
        return 0;
    }
    if (mod->section_offset[s.shndx] == NOT_PLACED) {
        refuse(why, why_size, "symbol %s lies in section %s, which is not loaded", name,
               elf_module_section_name(mod, s.shndx));
        return -ENOEXEC;
    }
    *value = base[mod->section_region[s.shndx]] + mod->section_offset[s.shndx] + s.value;
    return 0;
}

static int apply_relocations(const struct elf_module *mod, unsigned rela_index,
                             uint8_t *const dest[MODULE_REGIONS],
                             const uint64_t base[MODULE_REGIONS], elf_module_resolver resolve,
                             void *context, char *why, size_t why_size)
{
    struct shdr rela = section(mod, rela_index);
    const char *rela_name = elf_module_section_name(mod, rela_index);
    if (rela.info >= mod->section_count || rela.info == 0) {
        refuse(why, why_size, "%s: target section %u out of range", rela_name, rela.info);
        return -ENOEXEC;
    }
    if (mod->section_offset[rela.info] == NOT_PLACED)
        return 0; /* debugging information and the like: not loaded, not relocated */
    if (rela.link != mod->symtab || rela.entsize != RELA_SIZE || rela.size % RELA_SIZE) {
        refuse(why, why_size, "%s: malformed relocation section", rela_name);
        return -ENOEXEC;
    }
    struct shdr target = section(mod, rela.info);
    enum module_region r = mod->section_region[rela.info];
    uint8_t *bytes = dest[r] + mod->section_offset[rela.info];
    uint64_t address = base[r] + mod->section_offset[rela.info];
    for (uint64_t at = 0; at < rela.size; at += RELA_SIZE) {
        const uint8_t *p = mod->file + rela.offset + at;
        uint64_t offset = get_le64(p), info = get_le64(p + 8);
        int64_t addend = (int64_t)get_le64(p + 16);
        uint32_t type = (uint32_t)info, sym = (uint32_t)(info >> 32);
        if (sym >= mod->symbol_count) {
            refuse(why, why_size, "%s: relocation at %llu: symbol index %u out of range (%u)",
                   rela_name, (unsigned long long)offset, sym, mod->symbol_count);
            return -ENOEXEC;
        }
        if (offset >= target.size || target.type == SHT_NOBITS) {
            refuse(why, why_size, "%s: relocation at %llu lies outside its section (%llu bytes)",
                   rela_name, (unsigned long long)offset, (unsigned long long)target.size);
            return -ENOEXEC;
        }
        uint64_t value;
        int status = symbol_value(mod, sym, base, resolve, context, &value, why, why_size);
        if (status < 0)
            return status;
        char problem[96];
        status = arch_module_relocate(type, bytes + offset, target.size - offset, address + offset,
                                      value, addend, problem, sizeof(problem));
        if (status < 0) {
            refuse(why, why_size, "%s: relocation at %llu: %s", rela_name,
                   (unsigned long long)offset, problem);
            return status;
        }
    }
    return 0;
}

int elf_module_link(const struct elf_module *mod, uint8_t *const dest[MODULE_REGIONS],
                    const uint64_t base[MODULE_REGIONS], elf_module_resolver resolve, void *context,
                    char *why, size_t why_size)
{
    for (unsigned r = 0; r < MODULE_REGIONS; r++)
        if (mod->region_size[r])
            memset(dest[r], 0, mod->region_size[r]);
    for (unsigned i = 1; i < mod->section_count; i++) {
        struct shdr s = section(mod, i);
        if (mod->section_offset[i] != NOT_PLACED && s.type != SHT_NOBITS)
            memcpy(dest[mod->section_region[i]] + mod->section_offset[i], mod->file + s.offset,
                   s.size);
    }
    for (unsigned i = 1; i < mod->section_count; i++) {
        if (section(mod, i).type != SHT_RELA)
            continue;
        int status = apply_relocations(mod, i, dest, base, resolve, context, why, why_size);
        if (status < 0)
            return status;
    }
    return 0;
}

const char *elf_module_info(const struct elf_module *mod, const char *key, unsigned n)
{
    size_t key_length = strlen(key);
    size_t at = 0;
    while (mod->modinfo && at < mod->modinfo_size) {
        const char *entry = mod->modinfo + at;
        size_t length = strnlen(entry, mod->modinfo_size - at);
        if (length == mod->modinfo_size - at)
            return NULL; /* unterminated: ignore the rest */
        if (length > key_length && strncmp(entry, key, key_length) == 0 &&
            entry[key_length] == '=' && n-- == 0)
            return entry + key_length + 1;
        at += length + 1;
    }
    return NULL;
}

int elf_module_for_each_function(const struct elf_module *mod, const uint64_t base[MODULE_REGIONS],
                                 int (*fn)(const char *name, uint64_t address, uint64_t size,
                                           void *context),
                                 void *context)
{
    for (unsigned i = 1; i < mod->symbol_count; i++) {
        struct sym s = symbol(mod, i);
        if ((s.info & 0xf) != STT_FUNC || s.shndx == SHN_UNDEF || s.shndx >= mod->section_count ||
            mod->section_offset[s.shndx] == NOT_PLACED ||
            mod->section_region[s.shndx] != MODULE_TEXT)
            continue;
        uint64_t address = base[MODULE_TEXT] + mod->section_offset[s.shndx] + s.value;
        int result =
            fn(table_string(mod->strings, mod->strings_size, s.name), address, s.size, context);
        if (result)
            return result;
    }
    return 0;
}
