/* What the rayfs commands share: a mounted image (a session), error reporting, and copying
 * one file in or out within a session. */
#ifndef TOOLS_RAYFS_RAYFS_H
#define TOOLS_RAYFS_RAYFS_H

#include <rayos/fat.h>

#include "image.h"

struct session {
    struct image image;
    struct fat_volume *vol;
    const char *spec;
};

/* Timestamps for what rayfs writes: the host's local time. */
extern const struct fat_clock rayfs_clock;

/* Prints "rayfs: WHAT: reason" and returns 1 (the exit status). */
int fail(const char *what, int err);
/* 0, or -1 after printing why. */
int session_open(struct session *s, const char *spec, bool writable);
/* Unmounts and closes; returns status, or 1 if the unmount failed when status was 0. */
int session_close(struct session *s, int status);

/* One file in (into path when it names a directory) or out (local NULL: standard output);
 * each returns the exit status, having printed any error. */
int import_path(struct session *s, const char *local, const char *path);
int export_path(struct session *s, const char *path, const char *local);

/* put -r and get -r (tree.c). */
int put_tree(const char *image, const char *local_dir, const char *path);
int get_tree(const char *image, const char *path, const char *local_dir);

#endif
