"""Kernel records -> tracee.Event: a fixed header unpacked with one struct call, then the payload.

Mirrors program.c: struct hdr (96 bytes), then per event fixed u64 fields and items
([u16 length][bytes]). Written for throughput: one `unpack_from` per header, cached comm and
hostname strings, argument dicts built directly (no generic per-argument dispatch) for the hot
syscall events.
"""

from __future__ import annotations

import struct
import time
from typing import Callable

from tracee import Event
from tracee.events import catalog, decoders

from .containers import ContainerTracker

__all__ = ["HDR", "Decoder", "boot_offset_ns"]

# Event.from_trusted takes a wire-keyed dict it owns and typed arguments: no per-field checks,
# no argument conversion (the values here come typed from the kernel record).
_from_trusted = Event.from_trusted

HDR = struct.Struct("<QQQqIIIIIIIIIIIHH16s")
P0 = HDR.size
assert P0 == 96
_U64x6 = struct.Struct("<6Q")
_U64x5 = struct.Struct("<5Q")
_U64x4 = struct.Struct("<4Q")
_U64x2 = struct.Struct("<2Q")
_U64 = struct.Struct("<Q")
_Q2 = struct.Struct("<qQ")
HF_INTERNAL, HF_TRUNCATED, HF_AFTER_EXEC = 1, 2, 4
FLAGS_AT = struct.calcsize("<QQQqIIIIIIIIIIIH")  # offset of hdr.flags (78)
NOT_CAPTURED = 0xFFFF


def boot_offset_ns() -> int:
    """Add to bpf_ktime_get_ns() (CLOCK_MONOTONIC) to get epoch nanoseconds, as Tracee prints."""
    return time.time_ns() - time.clock_gettime_ns(time.CLOCK_MONOTONIC)


def _s32(v: int) -> int:
    v &= 0xFFFFFFFF
    return v - 0x1_0000_0000 if v & 0x8000_0000 else v


def _s64(v: int) -> int:
    return v - (1 << 64) if v & (1 << 63) else v


def _text(raw: bytes) -> str:
    if raw.endswith(b"\0"):
        raw = raw[:-1]
    return raw.decode("utf-8", "replace")


def _items(data: bytes, off: int, count: int) -> tuple[list[bytes], int]:
    out = []
    end = len(data)
    for _ in range(count):
        if off + 2 > end:
            out.append(b"")
            continue
        n = data[off] | data[off + 1] << 8
        off += 2
        out.append(data[off:off + n])
        off += n
    return out, off


def _strings(data: bytes, off: int, count: int) -> tuple[list[str], int]:
    raw, off = _items(data, off, count)
    return [_text(r) for r in raw], off


def _count(data: bytes, off: int) -> tuple[int | None, int]:
    """The u16 item count at `off`; None when the kernel side did not capture it (0xffff)."""
    if off + 2 > len(data):
        return None, off
    count = data[off] | data[off + 1] << 8
    return (None if count == NOT_CAPTURED else count), off + 2


def _str_array(data: bytes, off: int) -> tuple[list[str] | None, int]:
    """u16 count then items, one string each; None when not captured."""
    count, off = _count(data, off)
    if count is None:
        return None, off
    return _strings(data, off, count)


def _chunked_list(data: bytes, off: int) -> tuple[list[str] | None, int]:
    """u16 count then items that together are one NUL-separated blob (argv/env read from the new
    mm); None when not captured."""
    count, off = _count(data, off)
    if count is None:
        return None, off
    chunks, off = _items(data, off, count)
    return _nul_list(b"".join(chunks)), off


def _nul_list(blob: bytes) -> list[str]:
    # mm->arg_start..arg_end: NUL-separated strings
    if blob.endswith(b"\0"):
        blob = blob[:-1]
    return [s.decode("utf-8", "replace") for s in blob.split(b"\0")] if blob else []


def _types(event: str) -> dict[str, str]:
    definition = catalog.by_name(event)
    assert definition is not None, event
    return {a.name: a.type for a in definition.args}


def _arg(name: str, typ: str, value: object) -> dict:
    return {"name": name, "type": typ, "value": value}


class Decoder:
    """Turns raw records into Events; keeps per-run caches (comm, hostname, containers)."""

    def __init__(self, *, hostname: Callable[[int], str], containers: ContainerTracker,
                 container_ids: tuple[str, ...] = (), boot_offset: int | None = None) -> None:
        self.boot_offset = boot_offset_ns() if boot_offset is None else boot_offset
        self._hostname = hostname
        self._hostnames: dict[int, str] = {}
        self._comms: dict[bytes, str] = {}
        self.containers = containers
        self.container_ids = container_ids
        self.truncated = 0
        self.filtered = 0
        self._names = {e.id: e.name for e in catalog.EVENTS}
        self._payload: dict[int, Callable[[bytes], list[dict]]] = {}
        for name in ("close", "dup", "dup2", "dup3", "ptrace", "process_vm_writev", "init_module",
                     "execve", "sched_process_exec", "sched_process_exit", "security_bprm_check",
                     "security_file_open", "security_socket_connect", "security_sb_mount",
                     "security_kernel_read_file", "magic_write", "mem_prot_alert"):
            definition = catalog.by_name(name)
            assert definition is not None
            self._payload[definition.id] = getattr(self, "_p_" + name)
        self.exec_id = catalog.by_name("sched_process_exec").id  # type: ignore[union-attr]

    # -- header ------------------------------------------------------------------------------------
    def decode(self, data: bytes) -> Event | None:
        (ts, start_time, cgroup_id, ret, event_id, tid, pid, ppid, ns_tid, ns_pid, ns_ppid, uid,
         mnt_ns, pid_ns, uts_ns, cpu, flags, comm_raw) = HDR.unpack_from(data, 0)
        containers = self.containers
        if event_id == self.exec_id:
            containers.on_exec(cgroup_id, mnt_ns)
            if flags & HF_INTERNAL:
                return None
        container_id = containers._ids.get(cgroup_id)
        if container_id is None:
            container_id = containers.container_id(cgroup_id)
        if self.container_ids and not (container_id and container_id.startswith(self.container_ids)):
            self.filtered += 1
            return None
        if flags & HF_TRUNCATED:
            self.truncated += 1
        comm = self._comms.get(comm_raw)
        if comm is None:
            comm = self._comms[comm_raw] = comm_raw.split(b"\0", 1)[0].decode("utf-8", "replace")
        host = self._hostnames.get(uts_ns)
        if host is None:
            host = self._hostnames[uts_ns] = self._hostname(uts_ns)
        args = self._payload[event_id](data)
        return _from_trusted({
            "timestamp": ts + self.boot_offset, "threadStartTime": start_time, "processorId": cpu,
            "processId": ns_pid, "cgroupId": cgroup_id, "threadId": ns_tid,
            "parentProcessId": ns_ppid, "hostProcessId": pid, "hostThreadId": tid,
            "hostParentProcessId": ppid, "userId": uid, "mountNamespace": mnt_ns,
            "pidNamespace": pid_ns, "processName": comm, "hostName": host,
            "argsNum": len(args), "returnValue": ret},
            self._names[event_id], event_id, container_id, cgroup_id in containers.started, args)

    # -- payloads (argument names, order and types as Tracee's event definitions) -------------------
    def _p_close(self, d: bytes) -> list[dict]:
        return [{"name": "fd", "type": "int", "value": _s32(_U64.unpack_from(d, P0)[0])}]

    def _p_dup(self, d: bytes) -> list[dict]:
        return [{"name": "oldfd", "type": "int", "value": _s32(_U64.unpack_from(d, P0)[0])}]

    def _p_dup2(self, d: bytes) -> list[dict]:
        a, b = _U64x2.unpack_from(d, P0)
        return [_arg("oldfd", "int", _s32(a)), _arg("newfd", "int", _s32(b))]

    def _p_dup3(self, d: bytes) -> list[dict]:
        a, b, c, *_ = _U64x6.unpack_from(d, P0)
        return [_arg("oldfd", "int", _s32(a)), _arg("newfd", "int", _s32(b)), _arg("flags", "int", _s32(c))]

    def _p_ptrace(self, d: bytes) -> list[dict]:
        req, pid, addr, data, *_ = _U64x6.unpack_from(d, P0)
        return [_arg("request", "string", decoders.ptrace_request(_s64(req))),
                _arg("pid", "pid_t", _s32(pid)),
                _arg("addr", "void*", decoders.hex_pointer(addr)),
                _arg("data", "void*", decoders.hex_pointer(data))]

    def _p_process_vm_writev(self, d: bytes) -> list[dict]:
        pid, liov, lcnt, riov, rcnt, flags = _U64x6.unpack_from(d, P0)
        return [_arg("pid", "pid_t", _s32(pid)),
                _arg("local_iov", "const struct iovec*", decoders.hex_pointer(liov)),
                _arg("liovcnt", "unsigned long", lcnt),
                _arg("remote_iov", "const struct iovec*", decoders.hex_pointer(riov)),
                _arg("riovcnt", "unsigned long", rcnt),
                _arg("flags", "unsigned long", flags)]

    def _p_init_module(self, d: bytes) -> list[dict]:
        image, length, *_ = _U64x6.unpack_from(d, P0)
        (params,), _ = _strings(d, P0 + 48, 1)
        return [_arg("module_image", "void*", decoders.hex_pointer(image)),
                _arg("len", "unsigned long", length),
                _arg("param_values", "const char*", params)]

    def _p_execve(self, d: bytes) -> list[dict]:
        (path,), off = _strings(d, P0, 1)
        # HF_AFTER_EXEC: the strings were not readable at entry and come from the new image
        array = _chunked_list if d[FLAGS_AT] & HF_AFTER_EXEC else _str_array
        argv, off = array(d, off)
        envp, off = array(d, off)
        args = [_arg("pathname", "const char*", path), _arg("argv", "const char*const*", argv or [])]
        if envp is not None:
            args.append(_arg("envp", "const char*const*", envp))
        return args

    def _p_sched_process_exec(self, d: bytes) -> list[dict]:
        dev, ino, ctime, modes, from_kernel = _U64x5.unpack_from(d, P0)
        (cmdpath, pathname, interp), off = _strings(d, P0 + 40, 3)
        (argv_blob,), off = _items(d, off, 1)
        env: list[str] | None = None
        if off + 2 <= len(d) and d[off] | d[off + 1] << 8 != NOT_CAPTURED:
            (env_blob,), off = _items(d, off, 1)
            env = _nul_list(env_blob)
        args = [_arg("cmdpath", "const char*", cmdpath), _arg("pathname", "const char*", pathname),
                _arg("argv", "const char**", _nul_list(argv_blob))]
        if env is not None:
            args.append(_arg("env", "const char**", env))
        args += [_arg("dev", "dev_t", dev), _arg("inode", "unsigned long", ino),
                 _arg("invoked_from_kernel", "int", from_kernel), _arg("ctime", "unsigned long", ctime),
                 _arg("stdin_type", "string", decoders.stdin_type(modes >> 32)),
                 _arg("inode_mode", "umode_t", modes & 0xFFFF), _arg("interp", "const char*", interp)]
        return args

    def _p_sched_process_exit(self, d: bytes) -> list[dict]:
        code, group = _Q2.unpack_from(d, P0)
        return [_arg("exit_code", "long", code), _arg("process_group_exit", "bool", bool(group))]

    def _p_security_bprm_check(self, d: bytes) -> list[dict]:
        dev, ino = _U64x2.unpack_from(d, P0)
        (path,), _ = _strings(d, P0 + 16, 1)
        return [_arg("pathname", "const char*", path), _arg("dev", "dev_t", dev),
                _arg("inode", "unsigned long", ino)]

    def _p_security_file_open(self, d: bytes) -> list[dict]:
        dev, ino, ctime, nr_flags = _U64x4.unpack_from(d, P0)
        (path, syscall_path), _ = _strings(d, P0 + 32, 2)
        return [_arg("pathname", "const char*", path),
                _arg("flags", "string", decoders.open_flags(nr_flags & 0xFFFFFFFF)),
                _arg("dev", "dev_t", dev), _arg("inode", "unsigned long", ino),
                _arg("ctime", "unsigned long", ctime),
                _arg("syscall_pathname", "const char*", syscall_path),
                _arg("syscall", "int", decoders.syscall_name(nr_flags >> 32))]

    def _p_security_socket_connect(self, d: bytes) -> list[dict]:
        (fd,) = _U64.unpack_from(d, P0)
        (raw,), _ = _items(d, P0 + 8, 1)
        try:
            addr = decoders.sockaddr(raw)
        except ValueError:
            addr = {"sa_family": "AF_UNSPEC"}
        return [_arg("sockfd", "int", _s32(fd)), _arg("remote_addr", "struct sockaddr*", addr)]

    def _p_security_sb_mount(self, d: bytes) -> list[dict]:
        (flags,) = _U64.unpack_from(d, P0)
        (dev_name, path, fstype), _ = _strings(d, P0 + 8, 3)
        return [_arg("dev_name", "const char*", dev_name), _arg("path", "const char*", path),
                _arg("type", "const char*", fstype), _arg("flags", "unsigned long", flags)]

    def _p_security_kernel_read_file(self, d: bytes) -> list[dict]:
        dev, ino, ctime, typ = _U64x4.unpack_from(d, P0)
        (path,), _ = _strings(d, P0 + 32, 1)
        return [_arg("pathname", "const char*", path), _arg("dev", "dev_t", dev),
                _arg("inode", "unsigned long", ino),
                _arg("type", "string", decoders.kernel_read_file_type(typ)),
                _arg("ctime", "unsigned long", ctime)]

    def _p_magic_write(self, d: bytes) -> list[dict]:
        dev, ino = _U64x2.unpack_from(d, P0)
        (head,), off = _items(d, P0 + 16, 1)
        (path,), _ = _strings(d, off, 1)
        return [_arg("pathname", "const char*", path), _arg("bytes", "bytes", bytes(head)),
                _arg("dev", "dev_t", dev), _arg("inode", "unsigned long", ino)]

    def _p_mem_prot_alert(self, d: bytes) -> list[dict]:
        (alert,) = _U64.unpack_from(d, P0)
        return [_arg("alert", "string", decoders.mem_prot_alert(alert))]
