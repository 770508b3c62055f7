"""The generic syscall path on the real kernel: each family triggered by a small program, its
arguments and context checked against what the program did (native x86-64 and ia32 calls)."""

from __future__ import annotations

import ctypes
import mmap
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.kernel

libc = ctypes.CDLL(None, use_errno=True)
libc.mprotect.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
ME = os.getpid()


def args(event) -> dict:
    return {a["name"]: a["value"] for a in event.args}


def types(event) -> dict:
    return {a["name"]: a["type"] for a in event.args}


def mine(name: str, pid: int = ME):
    return lambda e: e.event_name == name and e.host_process_id == pid


def test_file_syscalls_with_paths_flags_and_results(collector, tmp_path: Path) -> None:
    target = tmp_path / "made"
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o640)   # openat(AT_FDCWD, ...)
    os.close(fd)
    dirfd = os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY)
    os.unlink("made", dir_fd=dirfd)                                     # unlinkat(dirfd, "made", 0)
    os.mkdir(tmp_path / "sub")
    os.rmdir("sub", dir_fd=dirfd)                                       # unlinkat(..., AT_REMOVEDIR)
    with pytest.raises(FileNotFoundError):
        os.unlink("missing", dir_fd=dirfd)
    os.close(dirfd)

    ev = collector.wait_for(lambda e: mine("openat")(e) and args(e)["pathname"] == str(target))
    assert args(ev) == {"dirfd": -100, "pathname": str(target),
                        "flags": "O_WRONLY|O_CREAT|O_TRUNC|O_CLOEXEC", "mode": 0o640}
    assert types(ev) == {"dirfd": "int", "pathname": "const char*", "flags": "string", "mode": "mode_t"}
    assert ev.return_value == fd and ev.process_name == Path("/proc/self/comm").read_text().strip()
    ev = collector.wait_for(lambda e: mine("unlinkat")(e) and args(e)["pathname"] == "made")
    assert args(ev) == {"dirfd": dirfd, "pathname": "made", "flags": 0} and ev.return_value == 0
    ev = collector.wait_for(lambda e: mine("unlinkat")(e) and args(e)["pathname"] == "sub")
    assert args(ev)["flags"] == 0x200 and ev.return_value == 0                # AT_REMOVEDIR
    ev = collector.wait_for(lambda e: mine("unlinkat")(e) and args(e)["pathname"] == "missing")
    assert ev.return_value == -2                                              # ENOENT


def test_socket_family_with_sockaddr_maps(collector) -> None:
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    port = server.getsockname()[1]
    server.listen(7)
    client = socket.create_connection(("127.0.0.1", port))
    conn, peer = server.accept()                                        # accept4(..., SOCK_CLOEXEC)
    for s in (conn, client, server):
        s.close()

    ev = collector.wait_for(lambda e: mine("bind")(e) and isinstance(args(e)["addr"], dict)
                            and args(e)["addr"].get("sin_addr") == "127.0.0.1")
    assert args(ev)["addr"] == {"sa_family": "AF_INET", "sin_port": "0", "sin_addr": "127.0.0.1"}
    assert args(ev)["addrlen"] == 16 and types(ev)["addr"] == "struct sockaddr*" and ev.return_value == 0
    sockfd = args(ev)["sockfd"]
    ev = collector.wait_for(lambda e: mine("listen")(e) and args(e)["sockfd"] == sockfd)
    assert args(ev)["backlog"] == 7 and ev.return_value == 0
    # the server's socket(2) (fd numbers are reused: the latest before its bind)
    made = [e for e in collector.all(lambda e: mine("socket")(e) and e.return_value == sockfd, settle=0)
            if e.timestamp <= ev.timestamp]
    assert args(made[-1])["domain"] == "AF_INET" and args(made[-1])["type"].startswith("SOCK_STREAM")
    ev = collector.wait_for(lambda e: mine("connect")(e) and args(e)["addr"].get("sin_port") == str(port))
    assert args(ev)["addr"]["sin_addr"] == "127.0.0.1"
    ev = collector.wait_for(lambda e: mine("accept4")(e) and args(e)["sockfd"] == sockfd)
    assert args(ev)["addr"] == {"sa_family": "AF_INET", "sin_port": str(peer[1]), "sin_addr": "127.0.0.1"}
    assert args(ev)["flags"] == socket.SOCK_CLOEXEC and ev.return_value > 2


def test_memory_and_memfd(collector) -> None:
    fd = os.memfd_create("tracee-probe", os.MFD_CLOEXEC)
    os.close(fd)
    m = mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE)
    addr = ctypes.addressof(ctypes.c_char.from_buffer(m))
    assert libc.mprotect(addr, 4096, mmap.PROT_READ) == 0
    m.close()
    ev = collector.wait_for(lambda e: mine("memfd_create")(e) and args(e)["name"] == "tracee-probe")
    assert args(ev)["flags"] == os.MFD_CLOEXEC and ev.return_value == fd
    ev = collector.wait_for(lambda e: mine("mprotect")(e) and args(e)["addr"] == hex(addr))
    assert args(ev) == {"addr": hex(addr), "len": 4096, "prot": "PROT_READ"} and ev.return_value == 0


def test_pipe_fds_and_exit_status_of_a_child(collector) -> None:
    r, w = os.pipe2(os.O_CLOEXEC)
    os.close(r)
    os.close(w)
    ev = collector.wait_for(lambda e: mine("pipe2")(e) and args(e)["pipefd"] == [r, w])
    assert args(ev)["flags"] == os.O_CLOEXEC
    child = subprocess.run([sys.executable, "-c", "import os; os.setuid(os.getuid()); os._exit(3)"])
    assert child.returncode == 3
    ev = collector.wait_for(lambda e: e.event_name == "setuid" and e.host_parent_process_id == ME)
    assert args(ev) == {"uid": os.getuid()} and ev.return_value == 0 and types(ev)["uid"] == "uid_t"
    pid = ev.host_process_id
    ev = collector.wait_for(mine("exit_group", pid))
    assert args(ev) == {"status": 3} and ev.host_parent_process_id == ME


def test_sys_enter_and_exit_name_the_syscall(noisy_collector) -> None:
    time.sleep(0.3)
    os.getppid()
    ev = noisy_collector.wait_for(lambda e: mine("sys_exit")(e) and args(e)["syscall"] == "getppid")
    assert ev.return_value == os.getppid()
    noisy_collector.wait_for(lambda e: mine("sys_enter")(e) and args(e)["syscall"] == "getppid")
    time.sleep(0.01)  # we sleep: a switch away from this thread
    noisy_collector.wait_for(lambda e: mine("sched_switch")(e) and args(e)["prev_tid"] == ME
                             and args(e)["prev_comm"] == e.process_name)


_INT80 = r"""
static long sys32(long nr, long a, long b, long c) {
    long ret;
    __asm__ volatile ("int $0x80" : "=a"(ret) : "a"(nr), "b"(a), "c"(b), "d"(c) : "memory");
    return ret;
}
static char path[] = "%s";
static char exe[] = "/bin/true", arg1[] = "compat-arg";
static unsigned int argv32[3];          /* an ia32 argv: 4-byte pointers */
void _start(void) {
    sys32(8, (long)path, 0644, 0);      /* creat */
    sys32(10, (long)path, 0, 0);        /* unlink */
    sys32(23, %d, 0, 0);                /* setuid (16-bit uids): Tracee's setuid16 */
    sys32(213, %d, 0, 0);               /* setuid32: Tracee's setuid */
    sys32(140, 99, 0, 0);               /* _llseek on a bad fd: llseek, EBADF */
    sys32(11, (long)exe, 0x7ff00000, 0);  /* execve with an unmapped argv: fails, EFAULT */
    argv32[0] = (unsigned int)(long)exe;
    argv32[1] = (unsigned int)(long)arg1;
    sys32(11, (long)exe, (long)argv32, 0);  /* execve: the 64-bit /bin/true replaces us */
    sys32(1, 7, 0, 0);                  /* exit(7): only if the exec failed */
}
"""


def test_ia32_syscalls_from_int80(collector, tmp_path: Path) -> None:
    """32-bit calls (int $0x80 from a static binary: the kernel runs them as ia32 syscalls) come
    as Tracee's events of the same call: native ids where the call is the same, 3000+ otherwise."""
    if not shutil.which("gcc"):
        pytest.skip("gcc not installed")
    target = tmp_path / "compat-made"
    source = tmp_path / "int80.c"
    uid = os.getuid()
    source.write_text(_INT80 % (target, uid, uid))
    binary = tmp_path / "int80"
    subprocess.run(["gcc", "-static", "-nostdlib", "-no-pie", "-O1", "-o", str(binary), str(source)],
                   check=True, capture_output=True)
    child = subprocess.run([str(binary)])
    assert child.returncode == 0   # /bin/true ran
    ev = collector.wait_for(lambda e: e.event_name == "creat" and args(e)["pathname"] == str(target))
    pid = ev.host_process_id
    assert ev.host_parent_process_id == ME and ev.process_name == "int80"
    assert args(ev)["mode"] == 0o644 and ev.return_value >= 3 and ev.event_id == 85
    ev = collector.wait_for(mine("unlink", pid))
    assert args(ev) == {"pathname": str(target)} and ev.return_value == 0
    ev = collector.wait_for(mine("setuid16", pid))
    assert ev.event_id == 3058 and args(ev) == {"uid": uid} and ev.return_value == 0
    ev = collector.wait_for(mine("setuid", pid))
    assert ev.event_id == 105 and args(ev) == {"uid": uid}
    ev = collector.wait_for(mine("llseek", pid))
    assert ev.event_id == 3033 and args(ev)["fd"] == 99 and ev.return_value == -9
    # ia32 execve: argv read as 4-byte pointers, emitted at entry (as Tracee emits execve)
    ev = collector.wait_for(lambda e: mine("execve", pid)(e) and args(e).get("argv") == [
        "/bin/true", "compat-arg"])
    assert args(ev)["pathname"] == "/bin/true" and ev.event_id == 59 and ev.process_name == "int80"
