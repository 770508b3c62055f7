"""Each event type, triggered by a small program and read back from the real kernel."""

from __future__ import annotations

import ctypes
import mmap
import os
import socket
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import pytest

pytestmark = pytest.mark.kernel

libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
libc.mmap.restype = ctypes.c_void_p
libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
libc.mprotect.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
PROT_READ, PROT_WRITE, PROT_EXEC = 1, 2, 4
MAP_PRIVATE_ANON = 0x02 | 0x20
ME = os.getpid()


def kdev(st_dev: int) -> int:
    """The kernel's internal dev_t (MKDEV: major << 20 | minor), as Tracee reports `dev`."""
    return os.major(st_dev) << 20 | os.minor(st_dev)


def own_comm() -> str:
    return Path("/proc/self/comm").read_text().strip()


def args(event) -> dict:
    return {a["name"]: a["value"] for a in event.args}


def test_exec_family_with_context(collector, tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "TRACEE_TEST": "exec-1", "LD_PRELOAD": ""}
    child = subprocess.Popen(["/bin/true", "arg-one", "arg two"], env=env)
    child.wait()
    pid = child.pid
    real = os.path.realpath("/bin/true")
    st = os.stat(real)

    execve = collector.wait_for(lambda e: e.event_name == "execve" and e.host_process_id == pid)
    a = args(execve)
    assert a["pathname"] == "/bin/true"
    assert a["argv"] == ["/bin/true", "arg-one", "arg two"]
    assert "TRACEE_TEST=exec-1" in a["envp"] and "LD_PRELOAD=" in a["envp"]
    # Context, compared with /proc: the caller is the forked child, still named like us.
    assert execve.process_name == own_comm()
    assert (execve.process_id, execve.thread_id) == (pid, pid)
    assert (execve.host_parent_process_id, execve.parent_process_id) == (ME, ME)
    assert execve.user_id == os.getuid()
    assert execve.mount_namespace == os.stat("/proc/self/ns/mnt").st_ino
    assert execve.pid_namespace == os.stat("/proc/self/ns/pid").st_ino
    assert execve.host_name == os.uname().nodename
    assert execve.container_id == "" and execve.origin == "host"
    assert abs(execve.timestamp / 1e9 - __import__("time").time()) < 10  # epoch nanoseconds
    assert execve.event_id == 59

    bprm = collector.wait_for(lambda e: e.event_name == "security_bprm_check" and e.host_process_id == pid)
    assert args(bprm) == {"pathname": real, "dev": kdev(st.st_dev), "inode": st.st_ino}
    assert bprm.process_name == own_comm()  # the name before exec (TRC-12 compares it)

    exe = collector.wait_for(lambda e: e.event_name == "sched_process_exec" and e.host_process_id == pid)
    a = args(exe)
    assert exe.process_name == "true"
    assert a["cmdpath"] == "/bin/true" and a["pathname"] == real
    assert a["argv"] == ["/bin/true", "arg-one", "arg two"]
    assert "TRACEE_TEST=exec-1" in a["env"]
    assert (a["dev"], a["inode"], a["inode_mode"]) == (kdev(st.st_dev), st.st_ino, st.st_mode)
    assert a["invoked_from_kernel"] == 0
    assert a["stdin_type"] in ("S_IFCHR", "S_IFIFO", "S_IFREG", "S_IFSOCK")
    assert exe.thread_start_time > 0 and exe.return_value == 0

    gone = collector.wait_for(lambda e: e.event_name == "sched_process_exit" and e.host_process_id == pid)
    assert args(gone) == {"exit_code": 0, "process_group_exit": True}


def test_exit_code_is_reported(collector) -> None:
    child = subprocess.Popen(["/bin/sh", "-c", "exit 3"])
    child.wait()
    gone = collector.wait_for(lambda e: e.event_name == "sched_process_exit" and e.host_process_id == child.pid)
    assert args(gone)["exit_code"] == 3 << 8  # the raw wait status, as Tracee prints it


def test_security_file_open_resolves_path_and_flags(collector, tmp_path: Path) -> None:
    sub = tmp_path / "dir"
    sub.mkdir()
    dir_fd = os.open(sub, os.O_RDONLY | os.O_DIRECTORY)
    fd = os.open("new-file.txt", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600, dir_fd=dir_fd)
    st = os.fstat(fd)
    os.close(fd)
    os.close(dir_fd)
    target = os.path.realpath(sub / "new-file.txt")
    ev = collector.wait_for(lambda e: e.event_name == "security_file_open" and args(e)["pathname"] == target)
    a = args(ev)
    assert a["flags"] == "O_WRONLY|O_CREAT|O_TRUNC|O_LARGEFILE"
    assert a["syscall_pathname"] == "new-file.txt"  # relative to dirfd: the path above is resolved
    assert (a["dev"], a["inode"]) == (kdev(st.st_dev), st.st_ino)
    assert a["syscall"] == "openat"
    assert a["ctime"] == st.st_ctime_ns
    assert ev.host_process_id == ME and ev.thread_id == threading.get_native_id()
    # A failed open is not an open: nothing is reported for it.
    with pytest.raises(FileNotFoundError):
        os.open(tmp_path / "missing", os.O_RDONLY)
    assert not collector.all(lambda e: e.event_name == "security_file_open"
                             and "missing" in str(args(e).get("syscall_pathname")))


def test_socket_connect_addresses(collector, tmp_path: Path) -> None:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    port = server.getsockname()[1]
    client = socket.socket()
    client.connect(("127.0.0.1", port))
    ev = collector.wait_for(lambda e: e.event_name == "security_socket_connect"
                            and args(e)["sockfd"] == client.fileno() and e.host_process_id == ME)
    assert args(ev)["remote_addr"] == {"sa_family": "AF_INET", "sin_port": str(port), "sin_addr": "127.0.0.1"}
    assert ev.return_value == 0
    client.close()
    server.close()

    six = socket.socket(socket.AF_INET6)
    six.settimeout(1)
    six.connect_ex(("::1", 9, 0, 0))
    ev = collector.wait_for(lambda e: e.event_name == "security_socket_connect"
                            and args(e)["remote_addr"].get("sa_family") == "AF_INET6")
    assert args(ev)["remote_addr"] == {"sa_family": "AF_INET6", "sin6_port": "9", "sin6_flowinfo": "0",
                                       "sin6_addr": "::1", "sin6_scopeid": "0"}
    assert ev.return_value < 0  # refused: attempts are reported with connect's result
    six.close()

    path = str(tmp_path / "s.sock")
    unix = socket.socket(socket.AF_UNIX)
    unix.connect_ex(path)
    ev = collector.wait_for(lambda e: e.event_name == "security_socket_connect"
                            and args(e)["remote_addr"].get("sun_path") == path)
    assert args(ev)["remote_addr"]["sa_family"] == "AF_UNIX"
    unix.close()


def test_dup_family_and_close(collector, tmp_path: Path) -> None:
    fd = os.open(tmp_path, os.O_RDONLY)
    new = libc.dup(fd)                  # dup(2): os.dup() uses fcntl(F_DUPFD_CLOEXEC)
    os.dup2(fd, 200)                    # dup2(2)
    os.dup2(fd, 201, inheritable=False)  # dup3(2) with O_CLOEXEC
    for f in (new, 200, 201, fd):
        os.close(f)
    mine = lambda name: (lambda e: e.event_name == name and e.host_process_id == ME)  # noqa: E731
    ev = collector.wait_for(lambda e: mine("dup")(e) and args(e)["oldfd"] == fd)
    assert ev.return_value == new
    ev = collector.wait_for(lambda e: mine("dup2")(e) and args(e)["newfd"] == 200)
    assert args(ev)["oldfd"] == fd and ev.return_value == 200
    ev = collector.wait_for(lambda e: mine("dup3")(e) and args(e)["newfd"] == 201)
    assert args(ev) == {"oldfd": fd, "newfd": 201, "flags": os.O_CLOEXEC}
    ev = collector.wait_for(lambda e: mine("close")(e) and args(e)["fd"] == 200)
    assert ev.return_value == 0
    os.closerange(9999, 10000)  # close(-1)-like failures carry their errno
    try:
        os.close(9999)
    except OSError:
        pass
    ev = collector.wait_for(lambda e: mine("close")(e) and args(e)["fd"] == 9999)
    assert ev.return_value == -9  # EBADF


def test_ptrace_traceme(collector) -> None:
    code = "import ctypes; ctypes.CDLL(None).ptrace(0, 0, 0, 0)"
    child = subprocess.run([sys.executable, "-c", code])
    assert child.returncode == 0
    ev = collector.wait_for(lambda e: e.event_name == "ptrace" and args(e)["request"] == "PTRACE_TRACEME")
    assert args(ev) == {"request": "PTRACE_TRACEME", "pid": 0, "addr": "0x0", "data": "0x0"}
    assert ev.host_parent_process_id == ME


def test_process_vm_writev(collector) -> None:
    class IOVec(ctypes.Structure):
        _fields_ = [("base", ctypes.c_void_p), ("len", ctypes.c_size_t)]
    src = ctypes.create_string_buffer(b"injected", 8)
    dst = ctypes.create_string_buffer(8)
    local, remote = IOVec(ctypes.addressof(src), 8), IOVec(ctypes.addressof(dst), 8)
    L, U = ctypes.c_long, ctypes.c_ulong  # variadic syscall(): pass full-width registers
    n = libc.syscall(L(311), L(ME), ctypes.byref(local), U(1), ctypes.byref(remote), U(1), U(0))
    assert n == 8 and dst.raw == b"injected"
    ev = collector.wait_for(lambda e: e.event_name == "process_vm_writev" and e.host_process_id == ME)
    a = args(ev)
    assert (a["pid"], a["liovcnt"], a["riovcnt"], a["flags"]) == (ME, 1, 1, 0)
    assert a["local_iov"] == hex(ctypes.addressof(local)) and ev.return_value == 8


def test_module_loading_attempts(collector, tmp_path: Path) -> None:
    image = ctypes.create_string_buffer(b"\x7fELF not a module", 64)
    libc.syscall(ctypes.c_long(175), image, ctypes.c_ulong(64), b"debug=1")                        # init_module
    ev = collector.wait_for(lambda e: e.event_name == "init_module" and e.host_process_id == ME)
    assert args(ev)["len"] == 64 and args(ev)["param_values"] == "debug=1"
    assert args(ev)["module_image"] == hex(ctypes.addressof(image))
    assert ev.return_value < 0
    ko = tmp_path / "evil.ko"
    ko.write_bytes(b"\x7fELF")
    fd = os.open(ko, os.O_RDONLY)
    libc.syscall(ctypes.c_long(313), ctypes.c_long(fd), b"", ctypes.c_long(0))                                   # finit_module
    os.close(fd)
    ev = collector.wait_for(lambda e: e.event_name == "security_kernel_read_file" and e.host_process_id == ME)
    st = ko.stat()
    assert args(ev) == {"pathname": str(ko.resolve()), "dev": kdev(st.st_dev), "inode": st.st_ino,
                        "type": "kernel-module", "ctime": st.st_ctime_ns}


def test_mount_attempt(collector, tmp_path: Path) -> None:
    target = tmp_path / "mnt"
    target.mkdir()
    rc = libc.mount(b"/dev/tracee-test-no-such-disk", str(target).encode(), b"ext4", 1, None)
    assert rc != 0  # the device does not exist: nothing is mounted
    ev = collector.wait_for(lambda e: e.event_name == "security_sb_mount" and e.host_process_id == ME)
    assert args(ev) == {"dev_name": "/dev/tracee-test-no-such-disk", "path": str(target), "type": "ext4",
                        "flags": 1}


def test_magic_write_first_bytes_at_offset_zero(collector, tmp_path: Path) -> None:
    elf = tmp_path / "dropped"
    with open(elf, "wb", buffering=0) as f:
        f.write(b"\x7fELF\x02\x01\x01" + bytes(40))
        f.write(b"more data at offset 47")  # not at offset 0: no event
    fd = os.open(tmp_path / "pw", os.O_WRONLY | os.O_CREAT)
    os.pwrite(fd, b"#!/bin/sh\necho pwned\n", 0)
    os.close(fd)
    ev = collector.wait_for(lambda e: e.event_name == "magic_write" and args(e)["pathname"] == str(elf.resolve()))
    st = elf.stat()
    assert args(ev)["bytes"] == b"\x7fELF\x02\x01\x01" + bytes(13)  # the first 20 bytes
    assert (args(ev)["dev"], args(ev)["inode"]) == (kdev(st.st_dev), st.st_ino)
    assert '"value":"f0VMRgIBAQAAAAAAAAAAAAAAAAA="' in ev.to_json()  # base64 on the wire, as Tracee
    ev = collector.wait_for(lambda e: e.event_name == "magic_write" and args(e)["pathname"].endswith("/pw"))
    assert args(ev)["bytes"] == b"#!/bin/sh\necho pwned"
    writes = collector.all(lambda e: e.event_name == "magic_write" and args(e)["pathname"] == str(elf.resolve()))
    assert len(writes) == 1


def test_mem_prot_alerts(collector) -> None:
    size = mmap.PAGESIZE
    wx = libc.mmap(None, size, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE_ANON, -1, 0)
    assert libc.mprotect(wx, size, PROT_READ | PROT_EXEC) == 0
    rw = libc.mmap(None, size, PROT_READ | PROT_WRITE, MAP_PRIVATE_ANON, -1, 0)
    assert libc.mprotect(rw, size, PROT_READ | PROT_EXEC) == 0
    for region in (wx, rw):
        libc.munmap(region, size)
    alerts = [args(e)["alert"] for e in collector.all(
        lambda e: e.event_name == "mem_prot_alert" and e.host_process_id == ME, settle=0.5)]
    assert alerts[-3:] == ["Mmaped region with W+E permissions!", "Protection changed from W+E to E!",
                           "Protection changed to Executable!"]


def test_hooked_syscalls_checked_at_start(collector) -> None:
    ev = collector.wait_for(lambda e: e.event_name == "hooked_syscalls")
    assert ev.args == [{"name": "hooked_syscalls", "type": "[]trace.HookedSymbolData", "value": []}]
    assert ev.host_process_id == ME
