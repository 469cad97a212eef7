#!/bin/bash
# fat-big-file.sh - issue 14's big-file figures: a 256 MiB file of random bytes into and out of
# a 1000 MiB FAT32 image (4 KiB clusters), rayfs against mtools, RUNS times each, alternating:
#   put:          rayfs put (ends with fdatasync)  vs  mcopy followed by sync (durable both)
#   cat > file:   rayfs cat IMAGE PATH > FILE      vs  mtype > FILE
#   cat | pipe:   rayfs cat IMAGE PATH | cat       vs  mtype | cat   (cat writes to /dev/null)
# once with the image (and the outputs) on the disk, once in tmpfs.  Every output is compared
# with the source afterwards.  Prints each run, the medians and the ratios (mtools / rayfs),
# and a floor: `cp` of the source into the same place followed by sync, what writing the
# 256 MiB there costs any tool.
# Not part of `make test` (the figures vary with the host).
#
#   tools/bench/fat-big-file.sh            (make build/rayfs first)
# Env: RUNS=5  RAYOS_BUILD=build  WORK=$TMPDIR/fat-big-file
set -euo pipefail
cd "$(dirname "$0")/../.."
RUNS=${RUNS:-5}
RAYFS=${RAYOS_BUILD:-build}/rayfs
WORK=${WORK:-${TMPDIR:-/tmp}/fat-big-file}
export MTOOLS_SKIP_CHECK=1
mkdir -p "$WORK"
SHM=$(mktemp -d -p /dev/shm)
trap 'rm -rf "$SHM" "$WORK/image" "$WORK/out"' EXIT
source=$WORK/file256
[ "$(stat -c %s "$source" 2>/dev/null)" = 268435456 ] ||
    head -c $((256 * 1024 * 1024)) /dev/urandom > "$source"
cat "$source" > /dev/null

now() { date +%s.%N; }
since() { echo "$(now) - $1" | bc; }
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

declare -A times
record() { times[$1]="${times[$1]:-} $2"; }

# one_round DIR: a fresh image in DIR; each tool puts the file, then each reads it back out.
one_round() {
    local dir=$1 where=$2 img=$1/image t
    rm -f "$img"
    truncate -s 1000M "$img"
    "$RAYFS" mkfs "$img" --fat 32 --cluster-size 4096 > /dev/null
    sync
    t=$(now); "$RAYFS" put "$img" "$source" /rayfs.bin; record "$where put rayfs" "$(since "$t")"
    sync
    t=$(now); mcopy -i "$img" "$source" ::/mtools.bin; sync; record "$where put mtools" "$(since "$t")"
    t=$(now); "$RAYFS" cat "$img" /rayfs.bin > "$dir/out"; record "$where file rayfs" "$(since "$t")"
    cmp "$dir/out" "$source"
    t=$(now); mtype -i "$img" ::/mtools.bin > "$dir/out"; record "$where file mtools" "$(since "$t")"
    cmp "$dir/out" "$source"
    rm -f "$dir/out"
    t=$(now); "$RAYFS" cat "$img" /mtools.bin | cat > /dev/null; record "$where pipe rayfs" "$(since "$t")"
    t=$(now); mtype -i "$img" ::/rayfs.bin | cat > /dev/null; record "$where pipe mtools" "$(since "$t")"
    "$RAYFS" cat "$img" /mtools.bin | cmp - "$source"
    mtype -i "$img" ::/rayfs.bin | cmp - "$source"
    fsck.fat -n "$img" > /dev/null
    rm -f "$img"
    t=$(now); cp "$source" "$dir/out"; sync; record "$where floor" "$(since "$t")"
    rm -f "$dir/out"
}

for ((r = 0; r < RUNS; r++)); do
    one_round "$WORK" disk
    one_round "$SHM" tmpfs
done
for where in disk tmpfs; do
    for what in put file pipe; do
        rayfs=$(printf '%s\n' ${times["$where $what rayfs"]} | median)
        mtools=$(printf '%s\n' ${times["$where $what mtools"]} | median)
        echo "$what, image on $where: rayfs${times["$where $what rayfs"]} (median $rayfs s);" \
            "mtools${times["$where $what mtools"]} (median $mtools s);" \
            "ratio $(echo "scale=2; $mtools / $rayfs" | bc)x"
    done
    echo "floor, cp + sync into $where:${times["$where floor"]}" \
        "(median $(printf '%s\n' ${times["$where floor"]} | median) s)"
done
echo "load $(cut -d' ' -f1-3 /proc/loadavg)"
