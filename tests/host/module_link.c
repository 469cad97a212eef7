/* The module loader's parser and linker on the host, for tests/host/test_module_relocation.py:
 *     module-link FILE.ko TEXT RODATA DATA OUT [SYMBOL=ADDRESS ...]
 * places the three regions at the given addresses, resolves undefined symbols from the
 * arguments, writes OUT.text, OUT.rodata and OUT.data, and prints one line per placed section:
 *     NAME REGION OFFSET SIZE nobits|progbits */
#include <rayos/elf_module.h>
#include <rayos/errno.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct definitions {
    int count;
    char **pairs;
};

static int resolve(const char *name, uint64_t *address, void *context)
{
    const struct definitions *defs = context;
    size_t length = strlen(name);
    for (int i = 0; i < defs->count; i++) {
        if (strncmp(defs->pairs[i], name, length) == 0 && defs->pairs[i][length] == '=') {
            *address = strtoull(defs->pairs[i] + length + 1, NULL, 0);
            return 0;
        }
    }
    return -ENOENT;
}

static unsigned char *read_all(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long length = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *data = malloc(length > 0 ? (size_t)length : 1);
    if (data && fread(data, 1, (size_t)length, f) != (size_t)length) {
        free(data);
        data = NULL;
    }
    fclose(f);
    *size = (size_t)length;
    return data;
}

int main(int argc, char **argv)
{
    if (argc < 6) {
        fprintf(stderr, "usage: module-link FILE.ko TEXT RODATA DATA OUT [SYMBOL=ADDRESS ...]\n");
        return 2;
    }
    size_t size;
    unsigned char *file = read_all(argv[1], &size);
    if (!file) {
        perror(argv[1]);
        return 1;
    }
    struct elf_module mod;
    char why[MODULE_WHY_MAX];
    if (elf_module_parse(&mod, file, size, why, sizeof(why)) < 0) {
        fprintf(stderr, "module-link: %s\n", why);
        return 1;
    }
    uint64_t base[MODULE_REGIONS];
    uint8_t *dest[MODULE_REGIONS];
    for (unsigned r = 0; r < MODULE_REGIONS; r++) {
        base[r] = strtoull(argv[2 + r], NULL, 0);
        dest[r] = calloc(1, mod.region_size[r] ? mod.region_size[r] : 1);
    }
    struct definitions defs = {argc - 6, argv + 6};
    if (elf_module_link(&mod, dest, base, resolve, &defs, why, sizeof(why)) < 0) {
        fprintf(stderr, "module-link: %s\n", why);
        return 1;
    }
    static const char *const suffix[MODULE_REGIONS] = {"text", "rodata", "data"};
    for (unsigned r = 0; r < MODULE_REGIONS; r++) {
        char path[4096];
        snprintf(path, sizeof(path), "%s.%s", argv[5], suffix[r]);
        FILE *out = fopen(path, "wb");
        if (!out || fwrite(dest[r], 1, mod.region_size[r], out) != mod.region_size[r]) {
            perror(path);
            return 1;
        }
        fclose(out);
        free(dest[r]);
    }
    for (unsigned i = 1; i < mod.section_count; i++) {
        if (mod.section_offset[i] == UINT64_MAX)
            continue;
        const uint8_t *header = mod.sections + (size_t)i * 64;
        uint32_t type = (uint32_t)header[4] | (uint32_t)header[5] << 8;
        printf("%s %s %llu %llu %s\n", elf_module_section_name(&mod, i),
               suffix[mod.section_region[i]], (unsigned long long)mod.section_offset[i],
               (unsigned long long)elf_module_section_size(&mod, i),
               type == 8 ? "nobits" : "progbits");
    }
    elf_module_free(&mod);
    free(file);
    return 0;
}
