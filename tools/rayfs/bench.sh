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
    tools/rayfs/bench_fat.c tools/rayfs/image.c tools/rayfs/lock.c fs/fat/*.c lib/utf.c lib/crc32.c lib/guid.c \
    drivers/block/partition.c tests/host_shim/shim.c lib/string.c lib/timer_wheel.c kernel/mutex.c \
    kernel/wait.c

seconds() { # seconds COMMAND...: wall time of a command, stdout discarded
    start=$(date +%s.%N)
    "$@" > /dev/null
    end=$(date +%s.%N)
    echo "$end - $start" | bc
}

head -c $((256 * 1024 * 1024)) /dev/urandom > "$WORK/file256"

# compare IMAGE_DIR LABEL: the same 256 MiB file through rayfs and through mtools.  rayfs put
# ends with fdatasync (durable); mcopy does not, so it is timed both alone and with a sync.
compare() {
    img="$1/fat32.img"
    truncate -s 1000M "$img"
    "$RAYFS" mkfs "$img" --fat 32 --cluster-size 4096
    cat "$WORK/file256" > /dev/null
    sync
    t_put=$(seconds "$RAYFS" put "$img" "$WORK/file256" /rayfs.bin)
    sync
    t_mcopy=$(seconds mcopy -i "$img" "$WORK/file256" ::/mtools.bin)
    t_mcopy_sync=$(seconds sh -c "mcopy -i '$img' '$WORK/file256' ::/mtools2.bin && sync")
    t_cat=$(seconds sh -c "'$RAYFS' cat '$img' /rayfs.bin > '$1/out1'")
    t_mtype=$(seconds sh -c "mtype -i '$img' ::/mtools.bin > '$1/out2'")
    cmp "$1/out1" "$WORK/file256"
    cmp "$1/out2" "$WORK/file256"
    "$RAYFS" cat "$img" /mtools.bin | cmp - "$WORK/file256"
    mtype -i "$img" ::/rayfs.bin | cmp - "$WORK/file256"
    echo "== 256 MiB file, FAT32 1000 MiB image, 4 KiB clusters, $2 =="
    echo "rayfs put (with fdatasync):  $t_put s"
    echo "mcopy (no sync):             $t_mcopy s"
    echo "mcopy + sync:                $t_mcopy_sync s"
    echo "rayfs cat > file:            $t_cat s"
    echo "mtype > file:                $t_mtype s"
    echo "put vs mcopy+sync: $(echo "scale=2; $t_mcopy_sync / $t_put" | bc)x, cat vs mtype: $(echo "scale=2; $t_mtype / $t_cat" | bc)x"
    rm -f "$img" "$1/out1" "$1/out2"
}
compare "$WORK" "image on disk"
if [ -d /dev/shm ] && [ -w /dev/shm ]; then
    SHM=$(mktemp -d /dev/shm/fatbench.XXXXXX)
    compare "$SHM" "image in tmpfs (no device cost: CPU and copies only)"
    rm -rf "$SHM"
fi
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
