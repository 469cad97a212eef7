#!/bin/sh
# Judge of one power-cut image of a rename (tests/unit/test_fat_crash.c, FAT_CRASH_JUDGE):
# "the next mount" (rayfs recover) settles it, then fsck.fat -n must find no damage: no
# clusters shared by two entries, no loops, no entry on free clusters or past the volume, no
# file larger than its chain, nothing deleted or invalid.  Lost clusters, the dirty bit and a
# stale free count are a cut's harmless leftovers (docs/FAT.md).
# usage: crash_judge.sh RAYFS IMAGE
rayfs=$1
image=$2
if ! log=$("$rayfs" recover "$image" 2>&1); then
    echo "crash_judge: rayfs recover failed on $image: $log" >&2
    exit 1
fi
report=$(fsck.fat -n "$image" 2>&1)
status=$?
if [ $status -gt 1 ]; then
    echo "crash_judge: fsck.fat -n failed ($status): $report" >&2
    exit 1
fi
if printf '%s\n' "$report" | grep -E -q \
    'share clusters|Circular cluster chain|free cluster|beyond limit|Deleting|Invalid|Bad FAT32 root|\.\. |Orphan'; then
    echo "crash_judge: damage after recovery: $report" >&2
    exit 1
fi
short=$(printf '%s\n' "$report" |
    sed -n 's/.*File size is \([0-9]*\) bytes, cluster chain length is \([0-9]*\) bytes.*/\1 \2/p' |
    awk '$2 < $1')
if [ -n "$short" ]; then
    echo "crash_judge: a chain shorter than its file after recovery: $report" >&2
    exit 1
fi
exit 0
