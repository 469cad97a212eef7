#!/usr/bin/python3
"""Medians of RayOS `blk bench` and Linux fio runs side by side, with the ratio and the goal.

    compare.py LINUX.txt RAYOS.txt GOAL_SEQREAD GOAL_QD1 GOAL_QD32   ('-' for no goal)
"""
import re
import statistics
import sys

TESTS = [
    ("seqread 128k qd32 (MB/s)", r"FIO seqread_128k_qd32 bw_MBps=([\d.]+)",
     r"seqread 128k qd32: ([\d.]+) MB/s"),
    ("randread 4k qd1 (IOPS)", r"FIO randread_4k_qd1 bw_MBps=[\d.]+ iops=(\d+)",
     r"randread 4k qd1: (\d+) IOPS"),
    ("randread 4k qd32 (IOPS)", r"FIO randread_4k_qd32 bw_MBps=[\d.]+ iops=(\d+)",
     r"randread 4k qd32: (\d+) IOPS"),
]


def median(pattern, text):
    values = [float(v) for v in re.findall(pattern, text)]
    return statistics.median(values) if values else float("nan")


def main():
    linux, rayos = open(sys.argv[1]).read(), open(sys.argv[2]).read()
    goals = sys.argv[3:6]
    print(f"{'test':28} {'Linux':>10} {'RayOS':>10} {'ratio':>7} {'goal':>6}")
    for (name, linux_pattern, rayos_pattern), goal in zip(TESTS, goals):
        l, r = median(linux_pattern, linux), median(rayos_pattern, rayos)
        print(f"{name:28} {l:10.1f} {r:10.1f} {r / l:7.2f} {goal:>6}")


if __name__ == "__main__":
    main()
