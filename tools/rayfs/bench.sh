#!/bin/sh
# FAT benchmark (not a test): rayfs against mtools on the same image, plus library figures.
# Usage: tools/rayfs/bench.sh [BUILD]   (make bench-fat).  Needs ~2.5 GiB in $TMPDIR.
set -eu
BUILD=${1:-build}
RAYFS=$BUILD/rayfs
WORK=$(mktemp -d "${TMPDIR:-/tmp}/fatbench.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
export MTOOLS_SKIP_CHECK=1

gcc -std=gnu11 -O2 -Iinclude -I. -Itests/host_shim/include -o "$BUILD/fat-bench" \
    tools/rayfs/bench_fat.c tools/rayfs/image.c fs/fat/*.c lib/utf.c lib/crc32.c \
    drivers/block/partition.c tests/host_shim/shim.c

seconds() { # seconds COMMAND...: wall time of a command, stdout discarded
    start=$(date +%s.%N)
    "$@" > /dev/null
    end=$(date +%s.%N)
    echo "$end - $start" | bc
}

head -c $((256 * 1024 * 1024)) /dev/urandom > "$WORK/file256"
cat "$WORK/file256" > /dev/null
truncate -s 600M "$WORK/fat32.img"
"$RAYFS" mkfs "$WORK/fat32.img" --fat 32 --cluster-size 4096

echo "== 256 MiB file, FAT32 600 MiB image, 4 KiB clusters (page cache warm) =="
sync
t_put=$(seconds "$RAYFS" put "$WORK/fat32.img" "$WORK/file256" /rayfs.bin)
t_cat=$(seconds "$RAYFS" cat "$WORK/fat32.img" /rayfs.bin)
t_mcopy=$(seconds mcopy -i "$WORK/fat32.img" "$WORK/file256" ::/mtools.bin)
t_mtype=$(seconds mtype -i "$WORK/fat32.img" ::/mtools.bin)
"$RAYFS" cat "$WORK/fat32.img" /mtools.bin | cmp - "$WORK/file256"
mtype -i "$WORK/fat32.img" ::/rayfs.bin | cmp - "$WORK/file256"
echo "rayfs put:  $t_put s"
echo "mcopy in:   $t_mcopy s"
echo "rayfs cat:  $t_cat s"
echo "mtype:      $t_mtype s"
echo "put speed-up: $(echo "scale=1; $t_mcopy / $t_put" | bc)x, cat speed-up: $(echo "scale=1; $t_mtype / $t_cat" | bc)x"
rm -f "$WORK/file256"

echo "== library figures =="
truncate -s 64M "$WORK/many.img"
"$RAYFS" mkfs "$WORK/many.img" --fat 32 --cluster-size 512
"$BUILD/fat-bench" many "$WORK/many.img"
truncate -s 1200M "$WORK/big.img"
"$RAYFS" mkfs "$WORK/big.img" --fat 32 --cluster-size 4096
"$BUILD/fat-bench" random "$WORK/big.img"
truncate -s 300M "$WORK/lookup.img"
"$RAYFS" mkfs "$WORK/lookup.img" --fat 32 --cluster-size 4096
"$BUILD/fat-bench" lookup "$WORK/lookup.img"
