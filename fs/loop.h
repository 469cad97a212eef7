#ifndef FS_LOOP_H
#define FS_LOOP_H

#include <rayos/types.h>

/* Attaches the file at path as the next free loopN; its name is stored in name. */
int loop_attach(const char *path, bool read_only, char *name, size_t name_size);
int loop_detach(const char *name);

struct loop_info {
    char name[16];
    char path[256];
    char backing[16];
    uint64_t bytes;
    size_t extents;
    bool read_only;
};
bool loop_info(unsigned index, struct loop_info *out);

#endif
