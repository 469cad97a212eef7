/* See devres_fakes.h. */
#include "devres_fakes.h"

#include <rayos/dma.h>
#include <rayos/io.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char devres_fake_log[1024];
int devres_fake_live;

void devres_fake_note(const char *what)
{
    size_t used = strlen(devres_fake_log);
    snprintf(devres_fake_log + used, sizeof(devres_fake_log) - used, "%s ", what);
}

void *dma_alloc(size_t size, size_t align, phys_addr_t *phys)
{
    void *p = calloc(1, size);
    if (p) {
        *phys = (phys_addr_t)(uintptr_t)p;
        devres_fake_live++;
        devres_fake_note("dma+");
    }
    return p;
}

void dma_free(void *virt, size_t size)
{
    devres_fake_live--;
    devres_fake_note("dma-");
    free(virt);
}

void *map_phys(phys_addr_t phys, size_t size, enum map_attr attr)
{
    void *p = malloc(size);
    if (p) {
        devres_fake_live++;
        devres_fake_note("map+");
    }
    return p;
}

void unmap_phys(void *virt, size_t size)
{
    devres_fake_live--;
    devres_fake_note("map-");
    free(virt);
}
