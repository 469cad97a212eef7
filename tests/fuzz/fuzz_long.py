#!/usr/bin/python3
"""make fuzz-long: runs every fuzz target for a set time (or a set number of executions, whichever
ends first) from its seeds in tests/fuzz/corpus/NAME
(committed) and the inputs earlier runs found in BUILD/fuzz-corpus/NAME (where new ones go:
the repository is never written).  Prints one line per target and a Markdown table of runs,
executions per second and coverage for docs/FUZZING.md; exits 1 if any target crashed, with
the crashing inputs left in BUILD/fuzz-artifacts/.

Executions per second depend on what else the machine runs; executions per CPU second (the
target's user + system time) do not, so both are printed."""
import argparse
import os
import re
import resource
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SEEDS = os.path.join(HERE, "corpus")

# Inputs larger than libFuzzer's default 4096 bytes: disks in the sparse format.
MAX_LEN = {"fuzz_fat": 65536, "fuzz_partition": 65536}


def options(target, seconds, runs, timeout, build):
    artifacts = os.path.join(build, "fuzz-artifacts")
    os.makedirs(artifacts, exist_ok=True)
    opts = [f"-max_total_time={seconds}", f"-timeout={timeout}", "-rss_limit_mb=2048",
            "-print_final_stats=1", f"-artifact_prefix={artifacts}/{target}-"]
    if runs:
        opts.append(f"-runs={runs}")
    if target in MAX_LEN:
        opts.append(f"-max_len={MAX_LEN[target]}")
    return opts


def corpus_dirs(target, build):
    found = os.path.join(build, "fuzz-corpus", target)
    os.makedirs(found, exist_ok=True)
    seeds = os.path.join(SEEDS, target)
    return [found] + ([seeds] if os.path.isdir(seeds) else [])


def log_tail(path, size=1 << 16):
    """The end of a log: libFuzzer's last status lines, final statistics and crash report are
    there, and a whole log may be gigabytes (a target that prints per execution)."""
    with open(path, "rb") as f:
        f.seek(max(0, os.path.getsize(path) - size))
        return f.read().decode(errors="replace")


def summarize(log):
    """runs, exec/s, cov, ft and corpus size from libFuzzer's last status line and stats."""
    lines = [line for line in log.splitlines() if re.match(r"#\d+\s+(DONE|pulse|NEW|REDUCE)", line)]
    last = lines[-1] if lines else ""
    cov = re.search(r"cov: (\d+)", last)
    ft = re.search(r"ft: (\d+)", last)
    corp = re.search(r"corp: (\d+)/", last)
    runs = re.search(r"stat::number_of_executed_units:\s*(\d+)", log)
    speed = re.search(r"stat::average_exec_per_sec:\s*(\d+)", log)
    return {"runs": int(runs.group(1)) if runs else 0,
            "exec_s": int(speed.group(1)) if speed else 0,
            "cov": int(cov.group(1)) if cov else 0, "ft": int(ft.group(1)) if ft else 0,
            "corpus": int(corp.group(1)) if corp else 0}


def timeout_status(binary, log, timeout):
    """libFuzzer's timeout is wall-clock time: a fuzzer starved of CPU (low priority, busy
    machine) reports one for an input that is fast.  Runs the input again to tell them apart."""
    found = re.search(r"Test unit written to (\S+)", log)
    if not found:
        return "TIMEOUT"
    again = subprocess.run([binary, f"-timeout={timeout}", found.group(1)],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if again.returncode == 0:
        return f"TIMEOUT, not reproduced: {found.group(1)} runs in time alone (starved?)"
    return f"TIMEOUT, reproduced: {found.group(1)}"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--build", default="build")
    parser.add_argument("--seconds", type=int, default=600, help="per target, at most")
    parser.add_argument("--runs", type=int, default=0,
                        help="stop a target after this many executions (0: only --seconds)")
    parser.add_argument("--timeout", type=int, default=10,
                        help="seconds of wall-clock time one input may take (libFuzzer -timeout); "
                        "raise it when the fuzzers run at a low priority on a busy machine")
    parser.add_argument("targets", nargs="+")
    args = parser.parse_args()
    logs = os.path.join(args.build, "fuzz-logs")
    os.makedirs(logs, exist_ok=True)
    rows, crashed = [], []
    for target in args.targets:
        binary = os.path.join(args.build, "fuzz", target)
        start = time.monotonic()
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        log_path = os.path.join(logs, target + ".log")
        with open(log_path, "wb") as f:  # streamed: never held in memory
            proc = subprocess.run([binary, *options(target, args.seconds, args.runs,
                                                    args.timeout, args.build),
                                   *corpus_dirs(target, args.build)],
                                  stdout=f, stderr=subprocess.STDOUT)
        log = log_tail(log_path)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        row = summarize(log)
        status = "ok" if proc.returncode == 0 else f"CRASH (exit {proc.returncode})"
        if proc.returncode != 0 and "ERROR: libFuzzer: timeout" in log:
            status = timeout_status(binary, log, args.timeout)
        row.update(target=target, seconds=round(time.monotonic() - start), cpu=round(cpu),
                   per_cpu=round(row["runs"] / cpu) if cpu > 0 else 0, status=status)
        if proc.returncode != 0:
            crashed.append(target)
        rows.append(row)
        print(f"{target}: {row['status']}, {row['runs']} runs in {row['seconds']} s "
              f"({row['cpu']} CPU s), {row['exec_s']} exec/s, {row['per_cpu']} per CPU s, "
              f"cov {row['cov']}, ft {row['ft']}, "
              f"corpus {row['corpus']}", flush=True)
    print("\n| target | seconds (CPU) | executions | exec/s | exec per CPU s | cov | ft | corpus "
          "| result |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---|")
    for r in rows:
        print(f"| {r['target']} | {r['seconds']} ({r['cpu']}) | {r['runs']:,} | {r['exec_s']:,} | "
              f"{r['per_cpu']:,} | {r['cov']} | {r['ft']} | {r['corpus']} | {r['status']} |")
    if crashed:
        print(f"\ncrashes in {', '.join(crashed)}: inputs in {args.build}/fuzz-artifacts/, "
              f"logs in {logs}/", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
