"""Every CPU, threads, background jobs and concurrent storage work (the concurrency issue)."""
import os
import re
import time

import pytest

from disk_images import default_disk, fsck, mtools, read_file, virtio_drive
from rayos_qemu import ARCH, UNKNOWN_SETTING, RayOS

CPU_ROW = re.compile(r"^\s*(\d+)\s+(\d+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(.+)$", re.M)


def cpu_rows(vm):
    out = vm.command("cpus")
    hw_id = "APIC" if ARCH == "x86_64" else "MPIDR"
    assert out.startswith(f"CPU  {hw_id}  IDLE%   INTERRUPTS  SWITCHES  STATE\n"), out
    return [m.groups() for m in CPU_ROW.finditer(out)]


@pytest.mark.parametrize("count", [1, 2, 4, 8])
def test_every_cpu_comes_online(count):
    if os.environ.get("RAYOS_SMP"):
        pytest.skip("sets its own CPU count: run once, in the first pass")
    with RayOS(smp=count) as vm:
        assert f"smp: {count} CPU{'s' if count > 1 else ''} online" in vm.boot_log
        rows = cpu_rows(vm)
        assert [int(r[0]) for r in rows] == list(range(count))
        # QEMU's APIC ids; on virt, MPIDR Aff0 0-7 in cluster 0
        assert sorted(int(r[1]) for r in rows) == list(range(count))
        assert all(r[5] == "online" for r in rows), rows
        for r in rows:
            assert 0.0 <= float(r[2]) <= 100.0 and int(r[3]) > 0  # idle %, interrupts taken
        threads = vm.command("threads")
        for cpu in range(count):
            assert re.search(rf"^\s+\d+\s+idle/{cpu}\s+(idle|running)\s+{cpu}\s", threads, re.M)
        assert re.search(r"^\s+\d+\s+shell\s+running\s+\d+\s+\d+\.\d{3} s$", threads, re.M)
        assert vm.poweroff() == 0


@pytest.mark.parametrize("cmdline,online,why", [
    ("maxcpus=2", 2, "maxcpus=2"),
    ("nosmp", 1, "nosmp"),
])
def test_cpu_limits_leave_the_others_offline(cmdline, online, why):
    with RayOS(smp=4, cmdline=cmdline) as vm:
        rows = cpu_rows(vm)
        assert len(rows) == 4
        assert [r[5] for r in rows] == ["online"] * online + [why] * (4 - online)
        assert f"smp: {online} CPU" in vm.boot_log
        assert vm.poweroff() == 0


def test_background_jobs_prefix_their_output_and_wait_reports_status():
    with RayOS(smp=2) as vm:
        assert vm.command("uptime &") == "[1] started\n"
        assert vm.command("cat /nonexistent &") == "[2] started\n"
        out = vm.command("wait")
        # Each job's lines carry its number (printed whenever the job ran); wait prints every
        # exit status.
        log = vm.output
        assert re.search(r"\[1\] up \d+:\d\d:\d\d", log), log  # maybe after a prompt
        assert re.search(r"\[2\] cat: /nonexistent: No such file or directory\n", log), log
        assert "[1] done, exit status 0: uptime\n" in out
        assert re.search(r"^\[2\] done, exit status -2 \(No such file or directory\): "
                         r"cat /nonexistent$", out, re.M), out
        assert vm.command("jobs") == ""
        assert vm.command("wait 7") == "wait: 7: no such job\n"
        assert vm.command(" & ") == "syntax error: '&' needs a command before it\n"
        assert vm.poweroff() == 0


def test_ctrl_c_interrupts_a_long_command_and_a_job_can_be_killed(tmp_path):
    disk = default_disk(tmp_path)
    drive, device = virtio_drive(disk)
    with RayOS(smp=2, drives=[drive], devices=[device]) as vm:
        vm.send("blk bench vda 60\r")
        vm.child.expect_exact("blk bench vda 60")
        time.sleep(1.5)
        start = time.time()
        vm.send("\x03")
        out = vm.expect_prompt(timeout=20)
        assert time.time() - start < 15
        assert "blk-bench: interrupted" in out, out
        assert "^C" in out
        assert vm.command("blk bench vda 60 &") == "[1] started\n"
        assert re.match(r"\[1\] running on CPU \d: blk bench vda 60\n", vm.command("jobs"))
        assert vm.command("kill 1") == ""
        out = vm.command("wait 1", timeout=30)
        assert "[1] blk-bench: interrupted" in vm.output  # whenever it stopped
        assert "[1] done, exit status -4 (Interrupted system call): blk bench vda 60" in out
        assert vm.poweroff() == 0


def test_concurrent_jobs_on_two_disks_keep_every_byte(tmp_path):
    disk = default_disk(tmp_path)
    data = os.urandom(3 * 1024 * 1024 + 1234)
    source = tmp_path / "big.bin"
    source.write_bytes(data)
    mtools("mcopy", str(source), "::/BIG.BIN", image=disk)
    other = tmp_path / "other.img"
    other.write_bytes(bytes(64 * 1024 * 1024))
    d0, v0 = virtio_drive(disk, 0)
    d1, v1 = virtio_drive(str(other), 1)
    with RayOS(smp=2, drives=[d0, d1], devices=[v0, v1]) as vm:
        for line in ["blk bench vdb 2 &", "blk bench vda 2 &", "cp /BIG.BIN /COPY1.BIN &",
                     "cp /BIG.BIN /COPY2.BIN &", "cfg set test.concurrency yes &",
                     "stress fs /STRESS 5 2 &"]:
            assert vm.command(line).endswith("started\n")
        out = vm.command("wait", timeout=120)
        assert out.count("done, exit status 0:") == 6, out
        assert "stress: 2 threads on 2 CPUs" in out and ", 0 errors" in out, out
        assert vm.poweroff() == 0
    assert read_file(disk, "/COPY1.BIN") == data
    assert read_file(disk, "/COPY2.BIN") == data
    assert "concurrency = yes" in read_file(disk, "/BOOT/RAYOS.CFG").decode()
    status, report = fsck(disk)
    assert status == 0, report


def test_virtio_blk_uses_one_queue_per_cpu(tmp_path):
    """VIRTIO_BLK_F_MQ with num-queues=2 on two CPUs: two hardware queues, a bench job pinned to
    each CPU completes requests on each queue, and the reads return the disk's bytes."""
    image = tmp_path / "mq.img"
    data = os.urandom(4 * 1024 * 1024)
    image.write_bytes(data)
    with RayOS(smp=2, drives=[f"file={image},if=none,id=d0,format=raw"],
               devices=["virtio-blk-pci,drive=d0,num-queues=2"]) as vm:
        info = vm.command("blk info vda")
        assert "2 hardware queues" in info and "MSI-X, 2 queues of" in info, info
        out = vm.command("blk bench vda 1 --jobs 2 --test randread-qd32", timeout=120)
        assert re.fullmatch(r"blk-bench: randread 4k qd32: \d+ IOPS\n", out), out
        info = vm.command("blk info vda")
        per_queue = [int(n) for n in re.findall(r"^hardware queue \d \(CPU \d\): (\d+) completed",
                                                  info, re.M)]
        assert len(per_queue) == 2 and min(per_queue) > 100, info
        assert re.search(r"requests: \d+ completed, 0 failed, 0 in flight", info), info
        for lba in (0, 4097, 8191):
            out = vm.command(f"blk read vda {lba}")
            assert bytes.fromhex("".join(line[10:49].replace(" ", "")
                                         for line in out.splitlines())) == \
                data[lba * 512:(lba + 1) * 512], out
        # Each queue's interrupts arrived on its own CPU.
        assert re.search(r"interrupts [1-9]\d* \(0 off their queue's CPU\)", info), info
        assert vm.command("blk bench vda 1 --jobs 3").startswith("blk bench: --jobs takes 1 to 2")
        assert vm.command("blk bench vda 1 --test nope").startswith("blk bench: no test nope")
        assert vm.poweroff() == 0
    # The same device limited to one queue by the kernel option.
    with RayOS(smp=2, cmdline="virtio_blk.queues=1", drives=[f"file={image},if=none,id=d0,format=raw"],
             devices=["virtio-blk-pci,drive=d0,num-queues=2"]) as vm:
        info = vm.command("blk info vda")
        assert "1 hardware queue\n" in info and "MSI-X, 1 queue of" in info, info
        assert vm.poweroff() == 0


def test_sixty_second_file_stress_on_every_cpu_then_clean_fsck(tmp_path):
    disk = default_disk(tmp_path)
    drive, device = virtio_drive(disk)
    with RayOS(smp=2, drives=[drive], devices=[device]) as vm:
        out = vm.command("stress fs /STRESS 60 4", timeout=180)
        m = re.search(r"stress: 4 threads on 2 CPUs, (\d+) file rounds in \d+ ms, 0 errors", out)
        assert m and int(m.group(1)) > 50, out
        assert "lockdep: possible deadlock" not in vm.output
        assert vm.poweroff() == 0
    assert "STRESS" not in mtools("mdir", "-b", "::/", image=disk).decode()
    status, report = fsck(disk)
    assert status == 0, report


def test_hot_unplug_under_concurrent_io(tmp_path):
    """A hot-plugged disk with a mount, an open file and block benchmarks from jobs on both
    CPUs is removed: every job ends (with an error, not a hang), the root keeps working."""
    disk = default_disk(tmp_path)
    data = os.path.join(tmp_path, "data.img")
    with open(data, "wb") as f:
        f.truncate(32 * 1024 * 1024)
    import subprocess
    subprocess.run(["mkfs.fat", "-F", "16", data], check=True, capture_output=True)
    drive0, device0 = virtio_drive(disk, 0)
    with RayOS(smp=2, qmp=True, drives=[drive0, f"file={data},format=raw,if=none,id=hot"],
               devices=[device0, "pcie-root-port,id=rp1,chassis=1,slot=1,bus=pcie.0,addr=0x10"],
               extra=["-global", "ICH9-LPC.acpi-pci-hotplug-with-bridge-support=off"]
               if ARCH == "x86_64" else []) as vm:
        vm.qmp("device_add", driver="virtio-blk-pci", drive="hot", bus="rp1", id="hotdisk")
        vm.child.expect_exact("hot-plug: 1 functions added", timeout=30)
        assert vm.command("mount vdb /mnt") == ""
        for line in ["blk bench vdb 60 &", "blk bench vdb 60 &", "stress fs /mnt/S 60 2 &",
                     "cp /BOOT/RAYOS.CFG /tmp/cfg.copy &"]:
            assert vm.command(line).endswith("started\n")
        time.sleep(2)
        vm.qmp("device_del", id="hotdisk")
        vm.child.expect_exact("hot-plug: slot powered off", timeout=60)
        out = vm.command("wait", timeout=90)
        statuses = re.findall(r"^\[(\d)\] done, exit status (-?\d+)", out, re.M)
        assert len(statuses) == 4, out
        codes = {int(n): int(code) for n, code in statuses}
        assert codes[1] < 0 and codes[2] < 0 and codes[3] < 0, out  # failed, did not hang
        assert codes[4] == 0, out  # the copy on the root was not disturbed
        assert vm.command("cfg set test.after unplug") == UNKNOWN_SETTING.format("test.after")
        assert vm.command("ls /mnt") == "ls: /mnt: No such file or directory\n"
        assert vm.poweroff() == 0
    assert "after = unplug" in read_file(disk, "/BOOT/RAYOS.CFG").decode()
    status, report = fsck(disk)
    assert status == 0, report
