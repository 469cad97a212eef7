/* Prints RayOS's lspci listing for a pciutils dump file (the output of `lspci -x`), so tests
 * can hold it against pciutils' own `lspci -F FILE`.  Usage: pci-lspci-dump [-n] [-v] FILE
 * Functions are enumerated the way the kernel does: root bus 0 of each domain through bridges
 * (PCI-to-PCI and CardBus), then every bus nothing reached is probed for peer root buses, as
 * on a machine whose firmware describes no root bus. */
#include <ctype.h>
#include <rayos/bytes.h>
#include <rayos/pci.h>
#include <stdio.h>
#include <string.h>

#include "tests/unit/pci_fake.h"

extern int host_log_level;

static int usage(void)
{
    fprintf(stderr, "usage: pci-lspci-dump [-n] [-v] FILE\n");
    return 2;
}

/* "[DDDD:]BB:DD.F" at the start of a line. */
static int parse_address(const char *line, unsigned *domain, unsigned *bus, unsigned *slot,
                         unsigned *function)
{
    int used = 0;
    if (sscanf(line, "%x:%x:%x.%x%n", domain, bus, slot, function, &used) == 4 &&
        (line[used] == ' ' || line[used] == '\n' || line[used] == '\0'))
        return 1;
    *domain = 0;
    return sscanf(line, "%x:%x.%x", bus, slot, function) == 3;
}

static int load(FILE *file, uint16_t *domains, unsigned *domain_count)
{
    char line[512];
    struct fake_function *current = NULL;
    while (fgets(line, sizeof(line), file)) {
        unsigned domain, bus, slot, function, offset;
        int used;
        if (sscanf(line, "%x:%n", &offset, &used) == 1 && used == 3 && line[3] == ' ' && current) {
            const char *p = line + used;
            for (unsigned i = 0; i < 16 && offset + i < 4096; i++) {
                unsigned byte;
                int n;
                if (sscanf(p, " %2x%n", &byte, &n) != 1)
                    break;
                current->config[offset + i] = (uint8_t)byte;
                p += n;
            }
            continue;
        }
        if (!parse_address(line, &domain, &bus, &slot, &function))
            continue;
        if (bus > 255 || slot > 31 || function > 7 || domain > 0xffff)
            return -1;
        current = fake_add((uint8_t)bus, (uint8_t)slot, (uint8_t)function, 0, 0, 0, 0);
        if (!current)
            return -1;
        current->segment = (uint16_t)domain;
        bool known = false;
        for (unsigned i = 0; i < *domain_count; i++)
            known |= domains[i] == domain;
        if (!known && *domain_count < 16)
            domains[(*domain_count)++] = (uint16_t)domain;
    }
    return 0;
}

int main(int argc, char **argv)
{
    bool numeric = false, verbose = false;
    const char *path = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-n") == 0)
            numeric = true;
        else if (strcmp(argv[i], "-v") == 0)
            verbose = true;
        else if (argv[i][0] == '-' || path)
            return usage();
        else
            path = argv[i];
    }
    if (!path)
        return usage();
    FILE *file = fopen(path, "r");
    if (!file) {
        perror(path);
        return 1;
    }
    host_log_level = -1;
    fake_reset();
    fake_space_size = 256;
    uint16_t domains[16];
    unsigned domain_count = 0;
    int error = load(file, domains, &domain_count);
    fclose(file);
    if (error) {
        fprintf(stderr, "%s: not a pciutils dump (or too many functions)\n", path);
        return 1;
    }
    for (unsigned i = 0; i < domain_count; i++) {
        pci_scan_root_bus(&fake_access, domains[i], 0, NULL, NULL);
        pci_scan_peer_root_buses(&fake_access, &fake_access, domains[i], 0, 255, NULL, NULL, NULL);
    }
    struct text_buffer text;
    text_init(&text);
    lspci_all(&text, verbose, numeric);
    if (text.data)
        fputs(text.data, stdout);
    text_free(&text);
    return 0;
}
