#ifndef RAYFS_BOOTDISK_H
#define RAYFS_BOOTDISK_H
int cmd_bootdisk(int argc, char **argv);
#endif
