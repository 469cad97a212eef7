"""rayfs locks images: readers shared, writers exclusive, in QEMU's byte-range scheme (OFD
locks).  Two loops putting files into one image at once lose nothing; a running QEMU's image
is refused with a message, and QEMU refuses an image rayfs holds."""
import fcntl
import socket
import struct
import subprocess
import threading
import time

import pytest

from fatutil import ENV, RAYFS, blank_image, fsck_clean, rayfs


def put_loop(image, tag, count, results):
    for i in range(count):
        name = f"/{tag}{i:02d}.TXT"
        data = f"{tag} file {i} ".encode() * (50 + i * 37)
        local = f"{image}.{tag}{i}"
        with open(local, "wb") as f:
            f.write(data)
        p = subprocess.run([RAYFS, "put", str(image), local, name], capture_output=True,
                           env=ENV, timeout=120)
        results.append((name, data, p.returncode, p.stderr))


def test_concurrent_puts_lose_nothing(tmp_path):
    image = tmp_path / "shared.img"
    blank_image(image, 16)
    rayfs("mkfs", image)
    results, reads = [], []
    loops = [threading.Thread(target=put_loop, args=(image, tag, 20, results)) for tag in "AB"]

    def read_loop():
        while any(t.is_alive() for t in loops):
            p = subprocess.run([RAYFS, "ls", str(image), "/"], capture_output=True, env=ENV)
            reads.append(p.returncode)

    reader = threading.Thread(target=read_loop)
    for t in loops + [reader]:
        t.start()
    for t in loops + [reader]:
        t.join()
    assert len(results) == 40
    for name, data, status, err in results:
        assert status == 0, (name, err)
    assert reads and all(status == 0 for status in reads)
    for name, data, _, _ in results:
        assert rayfs("cat", image, name).stdout == data, name
    assert b"0 errors" in rayfs("check", image).stdout
    clean, report = fsck_clean(image)
    assert clean, report


def hold(path, held, unshared, mark):
    """Takes locks in QEMU's scheme on path (as another process would); returns the file."""
    f = open(path, "rb+")
    for byte in [100 + p for p in held] + [200 + p for p in unshared] + ([300] if mark else []):
        fcntl.fcntl(f, fcntl.F_OFD_SETLK, struct.pack("hhqqi", fcntl.F_RDLCK, 0, byte, 1, 0))
    return f


def test_waits_for_rayfs_and_refuses_other_programs(tmp_path):
    image = tmp_path / "held.img"
    blank_image(image, 8)
    rayfs("mkfs", image)
    local = tmp_path / "x"
    local.write_bytes(b"x\n")
    # Another rayfs writing (its mark byte is locked): a reader waits, then gives up.
    holder = hold(image, held=[0, 1], unshared=[0, 1, 2, 3], mark=True)
    start = time.monotonic()
    p = rayfs("--wait", "1", "ls", image, "/", check=False)
    assert time.monotonic() - start >= 0.9
    assert p.returncode == 1
    assert b"being written by another rayfs; gave up waiting (--wait SECONDS)" in p.stderr
    # ... and succeeds once it lets go within the wait.
    threading.Timer(0.5, holder.close).start()
    assert rayfs("put", image, local, "/X.TXT").returncode == 0
    # Another program (no mark) writing: refused at once, reads too.
    holder = hold(image, held=[0, 1], unshared=[1], mark=False)
    for args in (("put", image, local, "/Y.TXT"), ("cat", image, "/X.TXT")):
        start = time.monotonic()
        p = rayfs(*args, check=False)
        assert p.returncode == 1 and time.monotonic() - start < 5
        assert b"(a running QEMU?); stop it first (Device or resource busy)" in p.stderr, p.stderr
    holder.close()
    # A reader that shares everything but writing does not stop other readers.
    holder = hold(image, held=[0], unshared=[1, 3], mark=True)
    assert rayfs("cat", image, "/X.TXT").stdout == b"x\n"
    p = rayfs("--wait", "0", "rm", image, "/X.TXT", check=False)
    assert p.returncode == 1 and b"in use by another rayfs" in p.stderr
    holder.close()


def qemu_with(image, qmp=None):
    args = ["qemu-system-x86_64", "-machine", "q35", "-accel", "tcg", "-S", "-display", "none",
            "-nodefaults", "-monitor", "none", "-serial", "none",
            "-drive", f"file={image},format=raw,if=none,id=d0",
            "-device", "virtio-blk-pci,drive=d0"]
    if qmp:
        args += ["-qmp", f"unix:{qmp},server=on,wait=off"]
    return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def wait_for_qmp(qemu, path, timeout=120):
    """QEMU answers on QMP once its devices are realized (and their images opened, locked)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert qemu.poll() is None, qemu.communicate()
        try:
            with socket.socket(socket.AF_UNIX) as s:
                s.settimeout(timeout)
                s.connect(str(path))
                assert b"QMP" in s.recv(4096)
                s.sendall(b'{"execute": "qmp_capabilities"}\n')
                assert b"return" in s.recv(4096)
                return
        except (FileNotFoundError, ConnectionRefusedError):
            time.sleep(0.1)
    pytest.fail("QEMU did not come up")


def test_qemu_and_rayfs_respect_each_other(tmp_path):
    image = tmp_path / "vm.img"
    blank_image(image, 8)
    rayfs("mkfs", image)
    local = tmp_path / "x"
    local.write_bytes(b"x\n")
    qmp = tmp_path / "qmp.sock"
    qemu = qemu_with(image, qmp)
    try:
        wait_for_qmp(qemu, qmp)  # not probing with rayfs: QEMU would rightly refuse to start
        p = rayfs("put", image, local, "/X.TXT", check=False)
        assert p.returncode == 1
        assert b"in use by another program (a running QEMU?); stop it first" in p.stderr, \
            p.stderr
        p = rayfs("ls", image, "/", check=False)
        assert p.returncode == 1 and b"being written by another program" in p.stderr
    finally:
        qemu.kill()
        qemu.wait()
    # rayfs holding the image (as a writer would): QEMU refuses to start on it.
    holder = open(image, "rb+")
    fd = holder.fileno()
    for byte in (100, 101, 200, 201, 202, 203, 300):
        fcntl.fcntl(fd, fcntl.F_OFD_SETLK, struct.pack("hhqqi", fcntl.F_RDLCK, 0, byte, 1, 0))
    qemu = qemu_with(image)
    try:
        _, err = qemu.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        qemu.kill()
        pytest.fail("QEMU started on an image rayfs holds")
    finally:
        holder.close()
    assert qemu.returncode != 0
    assert b"lock" in err, err
