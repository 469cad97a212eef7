#ifndef FS_ROOT_H
#define FS_ROOT_H

/* Mounts block device name (auto-detected filesystem) at path; keeps the device referenced. */
int fs_mount_device(const char *name, const char *path, unsigned flags);
/* Unmounts path and drops the device reference. */
int fs_unmount_path(const char *path);

#endif
