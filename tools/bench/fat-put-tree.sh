#!/bin/bash
# fat-put-tree.sh - issue 14's whole-tree figure: `rayfs put -r` of a local directory of 10,000
# small long-named files into an empty FAT32 image, RUNS times, with the image on disk and in
# tmpfs, then `rayfs get -r` of it back out; optionally `mcopy -s` of the same tree
# (MCOPY_LIMIT seconds, then stopped).  Prints every run, the median, the load average, and
# checks each result with `fsck.fat -n`, a file count and a byte comparison of the tree got
# back.  DEPTH=N spreads the files over N nested directories (FILES/N in each) instead of one.
# Not part of `make test` (the figures vary with the host).
#
#   tools/bench/fat-put-tree.sh           (builds build/rayfs first: make build/rayfs)
# Env: RUNS=5  FILES=10000  DEPTH=1  MCOPY_LIMIT=0 (seconds; 0 skips mcopy)
#      WORK=$TMPDIR/fat-put-tree  RAYOS_BUILD=build
set -euo pipefail
cd "$(dirname "$0")/../.."
RUNS=${RUNS:-5}; FILES=${FILES:-10000}; DEPTH=${DEPTH:-1}; MCOPY_LIMIT=${MCOPY_LIMIT:-0}
BUILD=${RAYOS_BUILD:-build}; RAYFS=$BUILD/rayfs
WORK=${WORK:-${TMPDIR:-/tmp}/fat-put-tree}
export MTOOLS_SKIP_CHECK=1
mkdir -p "$WORK"
SHM=$(mktemp -d /dev/shm/fat-put-tree.XXXXXX)
trap 'rm -rf "$SHM"' EXIT

tree=$WORK/many-$FILES-$DEPTH
if [ "$(find "$tree" -type f 2>/dev/null | wc -l)" != "$FILES" ]; then
    rm -rf "$tree"
    dir=$tree
    for ((i = 0; i < FILES; i++)); do
        if ((i % (FILES / DEPTH) == 0 && i / (FILES / DEPTH) < DEPTH)); then
            ((i == 0)) || dir="$dir/level $((i / (FILES / DEPTH)))"
            mkdir -p "$dir"
        fi
        printf -v name 'a file with a long name number %05d.txt' "$i"
        echo "hello $i" > "$dir/$name"
    done
fi

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# one_run DIR: a fresh 256 MiB FAT32 image in DIR, the tree put in and got back out, each
# timed ("PUT GET" seconds); checked afterwards.
one_run() {
    local img=$1/tree.img start end got
    rm -f "$img"
    truncate -s 256M "$img"
    mkfs.fat -F 32 "$img" > /dev/null
    sync
    start=$(date +%s.%N)
    "$RAYFS" put -r "$img" "$tree" /MANY
    end=$(date +%s.%N)
    fsck.fat -n "$img" > "$1/fsck.log" || { cat "$1/fsck.log" >&2; exit 1; }
    local count
    count=$("$RAYFS" ls "$img" /MANY | wc -l)
    [ "$count" -ge "$((FILES / DEPTH))" ] || { echo "only $count entries in /MANY" >&2; exit 1; }
    rm -rf "$1/got"
    got=$(date +%s.%N)
    "$RAYFS" get -r "$img" /MANY "$1/got"
    echo "$(echo "$end - $start" | bc) $(echo "$(date +%s.%N) - $got" | bc)"
    diff -r "$tree" "$1/got" >&2 || { echo "the tree got back differs" >&2; exit 1; }
    rm -rf "$1/got"
}

for where in disk tmpfs; do
    dir=$WORK; [ $where = tmpfs ] && dir=$SHM
    times=() gets=()
    for ((r = 0; r < RUNS; r++)); do
        result=$(one_run "$dir")
        read -r put get <<< "$result"
        times+=("$put") gets+=("$get")
    done
    echo "rayfs put -r, $FILES files $DEPTH deep, image on $where: ${times[*]} s;" \
        "median $(printf '%s\n' "${times[@]}" | median) s; load $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "rayfs get -r, $FILES files $DEPTH deep, image on $where: ${gets[*]} s;" \
        "median $(printf '%s\n' "${gets[@]}" | median) s; load $(cut -d' ' -f1-3 /proc/loadavg)"
    rm -f "$dir/tree.img" "$dir/fsck.log"
done

if [ "$MCOPY_LIMIT" -gt 0 ]; then
    img=$WORK/mcopy.img
    rm -f "$img"; truncate -s 256M "$img"; mkfs.fat -F 32 "$img" > /dev/null
    start=$(date +%s.%N)
    if timeout "$MCOPY_LIMIT" mcopy -s -i "$img" "$tree" ::/MANY; then
        end=$(date +%s.%N)
        echo "mcopy -s, image on disk: $(echo "$end - $start" | bc) s;" \
            "load $(cut -d' ' -f1-3 /proc/loadavg)"
    else
        echo "mcopy -s, image on disk: did not finish in $MCOPY_LIMIT s (stopped);" \
            "load $(cut -d' ' -f1-3 /proc/loadavg)"
    fi
    rm -f "$img"
fi
