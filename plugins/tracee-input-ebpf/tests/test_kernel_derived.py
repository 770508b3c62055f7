"""Events Tracee takes from LSM hooks and kernel functions, derived here at syscall exits and from
sched/task/cgroup tracepoints: each triggered by a small program and checked against what it did."""

from __future__ import annotations

import ctypes
import mmap
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.kernel

libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
ME = os.getpid()


def args(event) -> dict:
    return {a["name"]: a["value"] for a in event.args}


def mine(name: str, pid: int = ME):
    return lambda e: e.event_name == name and e.host_process_id == pid


def kdev(st_dev: int) -> int:
    return os.major(st_dev) << 20 | os.minor(st_dev)


def test_socket_lsm_events_with_socket_addresses(collector) -> None:
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", 0))
    port = server.getsockname()[1]
    server.listen(3)
    client = socket.create_connection(("127.0.0.1", port))
    conn, peer = server.accept()
    dup = libc.dup(conn.fileno())                              # dup(2) of a socket: socket_dup
    sfd, cfd = server.fileno(), conn.fileno()
    local = {"sa_family": "AF_INET", "sin_port": str(port), "sin_addr": "127.0.0.1"}
    remote = {"sa_family": "AF_INET", "sin_port": str(peer[1]), "sin_addr": "127.0.0.1"}
    try:
        # the address the caller asked for (port 0: any), as the LSM hook sees it
        asked = {"sa_family": "AF_INET", "sin_port": "0", "sin_addr": "127.0.0.1"}
        ev = collector.wait_for(lambda e: mine("security_socket_bind")(e) and args(e)["sockfd"] == sfd
                                and args(e)["local_addr"] == asked)
        assert ev.return_value == 0
        ev = collector.wait_for(lambda e: mine("security_socket_listen")(e) and args(e)["local_addr"] == local)
        assert args(ev) == {"sockfd": sfd, "local_addr": local, "backlog": 3}
        ev = collector.wait_for(lambda e: mine("security_socket_setsockopt")(e) and args(e)["sockfd"] == sfd)
        assert (args(ev)["level"], args(ev)["optname"]) == (socket.SOL_SOCKET, socket.SO_REUSEADDR)
        assert args(ev)["local_addr"]["sa_family"] == "AF_INET"
        ev = collector.wait_for(lambda e: mine("security_socket_create")(e) and e.return_value == sfd)
        assert (args(ev)["family"], args(ev)["protocol"], args(ev)["kern"]) == ("AF_INET", 0, 0)
        ev = collector.wait_for(lambda e: mine("security_socket_accept")(e) and args(e)["local_addr"] == local)
        assert args(ev)["sockfd"] == sfd and ev.return_value == cfd
        ev = collector.wait_for(lambda e: mine("socket_accept")(e) and args(e)["local_addr"] == local)
        assert args(ev) == {"sockfd": sfd, "local_addr": local, "remote_addr": remote}
        ev = collector.wait_for(lambda e: mine("socket_dup")(e) and args(e)["newfd"] == dup)
        assert args(ev) == {"oldfd": cfd, "newfd": dup, "remote_addr": remote}
    finally:
        os.close(dup)
        for s in (conn, client, server):
            s.close()


def test_inode_lsm_events(collector, tmp_path: Path) -> None:
    a, b, link, fifo = (str(tmp_path / n) for n in ("a", "b", "link", "fifo"))
    Path(a).write_text("x")
    os.rename(a, b)
    os.symlink(b, link)
    os.mknod(fifo, 0o600 | 0o010000)
    for p in (link, fifo, b):
        os.unlink(p)
    ev = collector.wait_for(lambda e: mine("security_inode_rename")(e) and args(e)["old_path"] == a)
    assert args(ev) == {"old_path": a, "new_path": b}
    ev = collector.wait_for(lambda e: mine("security_inode_symlink")(e) and args(e)["linkpath"] == link)
    assert args(ev) == {"linkpath": link, "target": b}
    ev = collector.wait_for(lambda e: mine("security_inode_mknod")(e) and args(e)["file_name"] == fifo)
    assert args(ev)["mode"] == "S_IFIFO|S_IRUSR|S_IWUSR" and args(ev)["dev"] == 0
    for p in (link, fifo, b):
        collector.wait_for(lambda e: mine("security_inode_unlink")(e) and args(e)["pathname"] == p)
    # relative paths come out absolute, as the LSM hook sees the dentry: dirfd's path or the cwd
    Path(a).write_text("y")
    dirfd = os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY)
    os.rename("a", "c", src_dir_fd=dirfd, dst_dir_fd=dirfd)
    os.unlink("c", dir_fd=dirfd)
    os.close(dirfd)
    ev = collector.wait_for(lambda e: mine("security_inode_rename")(e) and args(e)["old_path"] == a
                            and args(e)["new_path"] == str(tmp_path / "c"))
    collector.wait_for(lambda e: mine("security_inode_unlink")(e) and args(e)["pathname"] == str(tmp_path / "c"))
    cwd = os.getcwd()
    try:
        os.chdir(tmp_path)
        Path("d").write_text("z")
        os.unlink("d")
    finally:
        os.chdir(cwd)
    collector.wait_for(lambda e: mine("security_inode_unlink")(e) and args(e)["pathname"] == str(tmp_path / "d"))


def test_file_mappings_and_writes(collector, tmp_path: Path) -> None:
    lib = Path("/bin/true").resolve()
    with open(lib, "rb") as f:
        m = mmap.mmap(f.fileno(), 4096, prot=mmap.PROT_READ | mmap.PROT_EXEC, flags=mmap.MAP_PRIVATE)
        m.close()
    st = lib.stat()
    ev = collector.wait_for(lambda e: mine("shared_object_loaded")(e) and args(e)["pathname"] == str(lib))
    assert (args(ev)["dev"], args(ev)["inode"], args(ev)["ctime"]) == (kdev(st.st_dev), st.st_ino, st.st_ctime_ns)
    ev = collector.wait_for(lambda e: mine("security_mmap_file")(e) and args(e)["pathname"] == str(lib))
    assert args(ev)["prot"] == "PROT_READ|PROT_EXEC" and args(ev)["mmap_flags"] == mmap.MAP_PRIVATE
    assert args(ev)["syscall"] == "mmap"
    out = tmp_path / "written"
    fd = os.open(out, os.O_WRONLY | os.O_CREAT)
    os.write(fd, b"hello")
    os.pwrite(fd, b"!!", 10)
    os.writev(fd, [b"ab", b"cd"])
    os.close(fd)
    st = out.stat()
    ev = collector.wait_for(lambda e: mine("vfs_write")(e) and args(e)["pathname"] == str(out)
                            and args(e)["count"] == 5)
    assert args(ev) == {"pathname": str(out), "dev": kdev(st.st_dev), "inode": st.st_ino, "count": 5, "pos": 0}
    ev = collector.wait_for(lambda e: mine("vfs_write")(e) and args(e)["pathname"] == str(out)
                            and args(e)["count"] == 2)
    assert args(ev)["pos"] == 10
    ev = collector.wait_for(lambda e: mine("vfs_writev")(e) and args(e)["pathname"] == str(out))
    assert (args(ev)["vlen"], args(ev)["pos"], ev.return_value) == (2, 5, 4)
    region = mmap.mmap(-1, 4096)
    addr = ctypes.addressof(ctypes.c_char.from_buffer(region))
    libc.mprotect(ctypes.c_void_p(addr), ctypes.c_size_t(4096), ctypes.c_int(mmap.PROT_READ))
    region.close()
    # an anonymous region: no file (the event has no address to tell ours from ld.so's)
    collector.wait_for(lambda e: mine("security_file_mprotect")(e) and args(e)["prot"] == "PROT_READ"
                       and args(e)["pathname"] == "" and args(e)["ctime"] == 0)
    # a file mapping: the file this process mapped at that address
    libc.mmap.restype = ctypes.c_void_p
    libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
    with open(lib, "rb") as f:
        at = libc.mmap(None, 4096, mmap.PROT_READ, mmap.MAP_PRIVATE, f.fileno(), 0)
    assert libc.mprotect(ctypes.c_void_p(at), ctypes.c_size_t(4096), ctypes.c_int(mmap.PROT_READ | mmap.PROT_EXEC)) == 0
    libc.munmap(ctypes.c_void_p(at), ctypes.c_size_t(4096))
    ev = collector.wait_for(lambda e: mine("security_file_mprotect")(e) and args(e)["pathname"] == str(lib))
    assert args(ev)["prot"] == "PROT_READ|PROT_EXEC" and args(ev)["ctime"] == lib.stat().st_ctime_ns


_CREDS = "import os; os.setgid(1); os.setuid(1)"
_UNSHARE = "import ctypes, os; assert ctypes.CDLL(None).unshare(0x04000000) == 0; print(os.stat('/proc/self/ns/uts').st_ino)"
_RENAME = "import ctypes; ctypes.CDLL(None).prctl(15, b'tracee-renamed', 0, 0, 0)"


def test_credentials_namespaces_and_task_lifecycle(collector) -> None:
    child = subprocess.run([sys.executable, "-c", _CREDS])
    assert child.returncode == 0
    ev = collector.wait_for(lambda e: e.event_name == "commit_creds" and e.host_parent_process_id == ME
                            and args(e)["syscall"] == "setuid")
    old, new = args(ev)["old_cred"], args(ev)["new_cred"]
    assert (old["Uid"], old["Euid"], new["Uid"], new["Euid"], new["Suid"]) == (0, 0, 1, 1, 1)
    assert new["Gid"] == 1 and new["CapEffective"] == 0 and old["CapEffective"] != 0
    pid = ev.host_process_id
    forked = collector.wait_for(lambda e: mine("sched_process_fork")(e) and args(e)["child_pid"] == pid)
    assert args(forked)["parent_pid"] == ME and args(forked)["child_tid"] == pid
    collector.wait_for(mine("do_exit", pid))

    child = subprocess.run([sys.executable, "-c", _UNSHARE], capture_output=True, text=True)
    assert child.returncode == 0, child.stderr
    new_uts = int(child.stdout)
    ev = collector.wait_for(lambda e: e.event_name == "switch_task_ns" and args(e)["new_uts"] == new_uts)
    assert ev.host_parent_process_id == ME and args(ev)["pid"] == ev.host_process_id
    assert args(ev)["new_mnt"] == os.stat("/proc/self/ns/mnt").st_ino

    subprocess.run([sys.executable, "-c", _RENAME], check=True)
    ev = collector.wait_for(lambda e: e.event_name == "task_rename" and args(e)["new_name"] == "tracee-renamed")
    assert args(ev)["syscall"] == "prctl" and ev.host_parent_process_id == ME


def _pids_cgroup() -> Path | None:
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        fields = line.split()
        if " - cgroup2 " in line and Path(fields[4]).is_dir():
            return Path(fields[4])
        if " - cgroup " in line and "pids" in line.split(" - ")[1].split()[2].split(","):
            return Path(fields[4])
    return None


def test_cgroup_events(collector) -> None:
    root = _pids_cgroup()
    if root is None:
        pytest.skip("no cgroup hierarchy to write to")
    group = root / f"tracee-probe-{ME}"
    group.mkdir()
    try:
        sleeper = subprocess.Popen(["sleep", "5"])
        (group / "cgroup.procs").write_text(str(sleeper.pid))
        sleeper.kill()
        sleeper.wait()
    finally:
        for _ in range(50):
            try:
                group.rmdir()
                break
            except OSError:
                time.sleep(0.05)
    ev = collector.wait_for(lambda e: mine("cgroup_mkdir")(e) and args(e)["cgroup_path"].endswith(group.name))
    cgroup_id = args(ev)["cgroup_id"]
    assert cgroup_id == group.stat().st_ino if group.exists() else cgroup_id > 0
    ev = collector.wait_for(lambda e: mine("cgroup_attach_task")(e) and args(e)["pid"] == sleeper.pid)
    assert args(ev)["cgroup_path"].endswith(group.name) and args(ev)["comm"] == "sleep"
    ev = collector.wait_for(lambda e: mine("cgroup_rmdir")(e) and args(e)["cgroup_id"] == cgroup_id)
    assert args(ev)["cgroup_path"].endswith(group.name)


class _MapAttr(ctypes.Structure):
    _fields_ = [("map_type", ctypes.c_uint32), ("key_size", ctypes.c_uint32), ("value_size", ctypes.c_uint32),
                ("max_entries", ctypes.c_uint32), ("map_flags", ctypes.c_uint32), ("inner_map_fd", ctypes.c_uint32),
                ("numa_node", ctypes.c_uint32), ("map_name", ctypes.c_char * 16), ("pad", ctypes.c_char * 80)]


def test_bpf_map_creation_and_module_read(collector, tmp_path: Path) -> None:
    attr = _MapAttr(2, 4, 4, 1, 0, 0, 0, b"tracee_probe")      # BPF_MAP_TYPE_ARRAY
    fd = libc.syscall(ctypes.c_long(321), ctypes.c_long(0), ctypes.byref(attr), ctypes.c_long(ctypes.sizeof(attr)))
    assert fd >= 0, ctypes.get_errno()
    os.close(fd)
    ev = collector.wait_for(lambda e: mine("security_bpf_map")(e) and args(e)["map_name"] == "tracee_probe")
    assert args(ev)["map_id"] > 0 and ev.return_value == fd
    collector.wait_for(lambda e: mine("security_bpf")(e) and args(e)["cmd"] == 0 and e.return_value == fd)
    ko = tmp_path / "probe.ko"
    ko.write_bytes(b"\x7fELF" + bytes(60))
    kfd = os.open(ko, os.O_RDONLY)
    libc.syscall(ctypes.c_long(313), ctypes.c_long(kfd), b"", ctypes.c_long(0))   # finit_module: refused
    os.close(kfd)
    ev = collector.wait_for(lambda e: mine("security_kernel_post_read_file")(e) and args(e)["pathname"] == str(ko))
    assert args(ev) == {"pathname": str(ko), "size": 64, "type": "kernel-module"}


def test_init_namespaces_at_start(collector) -> None:
    from tracee_input_ebpf.program import host_ns

    ev = collector.wait_for(lambda e: e.event_name == "init_namespaces")
    assert args(ev)["mnt"] == host_ns("mnt") and args(ev)["pid"] == host_ns("pid") and len(ev.args) == 10


def test_load_elf_phdrs_of_an_exec(collector) -> None:
    exe = Path("/bin/true").resolve()
    child = subprocess.Popen([str(exe)])
    child.wait()
    st = exe.stat()
    ev = collector.wait_for(lambda e: mine("load_elf_phdrs", child.pid)(e))
    assert args(ev) == {"pathname": str(exe), "dev": kdev(st.st_dev), "inode": st.st_ino}
