#!/usr/bin/python3
"""Runs every RayOS test suite and ends with one line: "N passed, M failed".

Suites:
  unit      host unit tests (cmocka, AddressSanitizer + UBSan); each binary prints TAP
  pytest    host tool tests (tests/host) and QEMU system tests (tests/system); --smp-pass runs
            suites again with RAYOS_SMP=2 (make test: the storage drivers; make test-smp: all)
  selftest  the in-kernel self-tests: the kernel boots with "selftest", prints TAP and powers
            off with status 0 only if every case passed
"""
import argparse
import os
import re
import shlex
import subprocess
import sys
import xml.etree.ElementTree as ET

TAP_LINE = re.compile(r"^(not ok|ok)\s+(\d+)\s*-?\s*(.*)$")


class Tally:
    def __init__(self):
        self.passed = 0
        self.failed = 0
        self.skipped = 0
        self.failures = []

    def record(self, suite, name, ok):
        if ok:
            self.passed += 1
        else:
            self.failed += 1
            self.failures.append(f"{suite}: {name}")


def parse_tap(text):
    results = []
    for line in text.splitlines():
        m = TAP_LINE.match(line.strip())
        if m:
            results.append((m.group(3).strip() or f"case {m.group(2)}", m.group(1) == "ok"))
    return results


def run_unit(tally, binaries):
    env = dict(os.environ, CMOCKA_MESSAGE_OUTPUT="TAP")
    for binary in binaries:
        name = os.path.basename(binary)
        try:
            proc = subprocess.run([binary], capture_output=True, text=True, env=env, timeout=300)
            output, code = proc.stdout + proc.stderr, proc.returncode
        except subprocess.TimeoutExpired:
            output, code = "timed out after 300 s", -1
        results = parse_tap(output)
        for case, ok in results:
            tally.record(name, case, ok)
        if code != 0 and all(ok for _, ok in results):
            # A crash or sanitizer report after the last TAP line still fails the binary.
            tally.record(name, f"exit status {code}", False)
        if code != 0 or not results:
            sys.stdout.write(f"--- {name} (exit {code}) ---\n{output[-4000:]}\n")
        print(f"unit   {name}: {sum(ok for _, ok in results)}/{len(results)} passed")


def run_selftest(tally, build, kernel, env=os.environ, label="selftest"):
    # Four CPUs, so the scheduler, cross-CPU calls and affinity cases have somewhere to go.
    # The emulator, machine and exit device as arch/$(ARCH)/arch.mk says (make test passes them).
    cmd = [env.get("RAYOS_QEMU", "qemu-system-x86_64"),
           "-machine", env.get("RAYOS_QEMU_MACHINE", "q35"), "-accel", "tcg",
           "-m", "256M", "-smp", "4", "-display", "none", "-no-reboot", "-serial", "stdio",
           *shlex.split(env.get("RAYOS_QEMU_ARGS",
                                       "-device isa-debug-exit,iobase=0xf4,iosize=0x04")),
           "-kernel", kernel, "-append", "selftest exit_on_panic"]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
        output, code = proc.stdout, proc.returncode
    except subprocess.TimeoutExpired as e:
        output, code = (e.stdout or b"").decode(errors="replace"), -1
    with open(os.path.join(build, "selftest.log"), "w") as f:
        f.write(output)
    results = parse_tap(output)
    for case, ok in results:
        tally.record(label, case, ok)
    plan = re.search(r"^1\.\.(\d+)", output, re.M)
    all_ok = results and all(ok for _, ok in results)
    if not plan or int(plan.group(1)) != len(results):
        tally.record(label, "TAP plan matches the cases run", False)
    # QEMU exits 0 after ACPI poweroff; failures leave through isa-debug-exit (odd status).
    if bool(all_ok) != (code == 0):
        tally.record(label, f"exit status {code} agrees with results", False)
    if not all_ok or code != 0:
        sys.stdout.write(output[-4000:] + "\n")
    print(f"{label}: {sum(ok for _, ok in results)}/{len(results)} passed (qemu exit {code})")


def run_pytest(tally, build, dirs, smp=None, ignore=(), extra_env=None, label=None):
    def has_tests(path):
        if os.path.isfile(path):
            name = os.path.basename(path)
            return name.startswith("test_") and name.endswith(".py")
        return os.path.isdir(path) and any(
            f.startswith("test_") and f.endswith(".py") for f in os.listdir(path))
    dirs = [d for d in dirs if has_tests(d)]
    if not dirs:
        return
    label = label or (f"pytest-smp{smp}" if smp else "pytest")
    junit = os.path.join(build, f"{label}-junit.xml")
    workers = os.environ.get("TEST_JOBS", str(max(2, os.cpu_count() or 2)))
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", workers,
           f"--junitxml={junit}", "-o", "junit_family=xunit1",
           *[f"--ignore={path}" for path in ignore], *dirs]
    env = dict(os.environ, RAYOS_BUILD=build)
    env.update(extra_env or {})
    if smp:
        env["RAYOS_SMP"] = str(smp)
    if os.path.exists(junit):
        os.remove(junit)
    proc = subprocess.run(cmd, env=env)
    if not os.path.exists(junit):
        tally.record(label, f"pytest did not run (exit {proc.returncode})", False)
        return
    before = tally.passed + tally.failed
    for case in ET.parse(junit).getroot().iter("testcase"):
        name = f"{case.get('classname')}::{case.get('name')}"
        if case.find("skipped") is not None:
            tally.skipped += 1
            continue
        bad = case.find("failure") is not None or case.find("error") is not None
        tally.record(label, name, not bad)
    if proc.returncode not in (0, 1, 5) and tally.passed + tally.failed == before:
        tally.record(label, f"pytest exit status {proc.returncode}", False)


def run_arch_pass(tally, env_file, tests):
    """The self-tests and the given system tests on another architecture: env_file (written by
    its make) holds RAYOS_ARCH, RAYOS_BUILD, RAYOS_KERNEL and the QEMU pieces, one KEY=VALUE per
    line."""
    extra = {}
    with open(env_file) as f:
        for line in f:
            key, _, value = line.rstrip("\n").partition("=")
            if key:
                extra[key] = value
    arch, build = extra["RAYOS_ARCH"], extra["RAYOS_BUILD"]
    run_selftest(tally, build, extra["RAYOS_KERNEL"], env=dict(os.environ, **extra),
                 label=f"selftest-{arch}")
    run_pytest(tally, build, tests, extra_env=extra, label=f"pytest-{arch}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--build", default="build")
    parser.add_argument("--kernel")
    parser.add_argument("--unit", nargs="*", default=[])
    parser.add_argument("--pytest", nargs="*", default=[])
    parser.add_argument("--smp-pass", nargs="*", default=[],
                        help="suites run a second time with RAYOS_SMP=2 (two CPUs per machine)")
    parser.add_argument("--smp-skip", nargs="*", default=[],
                        help="test files left out of the second pass (see the Makefile)")
    parser.add_argument("--arch-pass", nargs="*", default=[],
                        help="ENV_FILE TEST...: the self-tests and these system tests once more "
                             "on a second architecture, as its build's test.env describes")
    args = parser.parse_args()

    tally = Tally()
    run_unit(tally, args.unit)
    if args.kernel:
        run_selftest(tally, args.build, args.kernel)
    run_pytest(tally, args.build, args.pytest)
    run_pytest(tally, args.build, args.smp_pass, smp=2, ignore=args.smp_skip)
    if args.arch_pass:
        run_arch_pass(tally, args.arch_pass[0], args.arch_pass[1:])

    for failure in tally.failures:
        print(f"FAILED {failure}")
    skipped = f", {tally.skipped} skipped" if tally.skipped else ""
    print(f"{tally.passed} passed, {tally.failed} failed{skipped}")
    return 1 if tally.failed or tally.passed == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
