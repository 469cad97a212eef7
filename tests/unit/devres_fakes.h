/* Host stand-ins for DMA memory and register mappings that log what is taken and released, for
 * the managed-resource tests. */
#ifndef TESTS_UNIT_DEVRES_FAKES_H
#define TESTS_UNIT_DEVRES_FAKES_H

#include <rayos/types.h>

extern char devres_fake_log[1024]; /* "dma+ dma- map+ map- " in call order */
extern int devres_fake_live;       /* DMA buffers and mappings not released yet */
void devres_fake_note(const char *what);

#endif
