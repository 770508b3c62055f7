"""Kernel records -> tracee.Event: a fixed header unpacked with one struct call, then the payload.

The layout is layout.py's (struct hdr, 96 bytes; per event fixed u64 fields and items
([u16 length][bytes]); generic syscall records as described there). Written for throughput: one
`unpack_from` per header, cached comm and hostname strings, and argument dicts built from makers
prepared once per argument (name and printed type from the catalog, decoder from Tracee's
parse-arguments rule), no per-event lookups. A record too short or malformed for its layout is
counted (`malformed`) and skipped, never raised.
"""

from __future__ import annotations

import struct
import time
from typing import Any, Callable

from tracee import Event
from tracee.events import catalog, decoders

from . import layout
from .containers import ContainerTracker
from .sources import DERIVED_LAYOUT, RECORDED

__all__ = ["HDR", "Decoder", "boot_offset_ns"]

# Event.from_trusted takes a wire-keyed dict it owns and typed arguments: no per-field checks,
# no argument conversion (the values here come typed from the kernel record).
_from_trusted = Event.from_trusted

HDR = layout.HDR
P0 = HDR.size
assert P0 == 96
_U64x6 = struct.Struct("<6Q")
_U64x5 = struct.Struct("<5Q")
_U64x4 = struct.Struct("<4Q")
_U64x2 = struct.Struct("<2Q")
_U64 = struct.Struct("<Q")
_Q2 = struct.Struct("<qQ")
HF_INTERNAL, HF_TRUNCATED, HF_AFTER_EXEC = (layout.HF[f] for f in ("HF_INTERNAL", "HF_TRUNCATED", "HF_AFTER_EXEC"))
HF_GENERIC, HF_COMPAT, HF_DERIVED = (layout.HF[f] for f in ("HF_GENERIC", "HF_COMPAT", "HF_DERIVED"))
HF_STARTED = layout.HF["HF_STARTED"]
FLAGS_AT = layout.flags_offset()
_MALFORMED = (struct.error, IndexError, ValueError, TypeError, KeyError)
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


def _maker(event: str, arg: catalog.ArgDef, parsed: bool = True) -> Callable[[object], dict]:
    """A function of the raw value that gives the argument's dict, as parse-arguments prints it
    (`parsed`), or raw with its declared type (what parse-arguments then rewrites)."""
    parse, printed_type = decoders.arg_parser(event, arg.name, arg.type)
    if parse is None or not parsed:
        head = {"name": arg.name, "type": arg.type}
        return lambda value: dict(head, value=value)
    head = {"name": arg.name, "type": printed_type}
    return lambda value: dict(head, value=parse(value))


def _makers(event: str, parsed: bool) -> tuple[Callable[[object], dict], ...]:
    definition = catalog.by_name(event)
    assert definition is not None, event
    return tuple(_maker(event, arg, parsed) for arg in definition.args)


# (parsed?) -> event name -> one maker per catalog argument, in the catalog's order; each
# `_p_<event>` unpacks its event's makers into variables named after the arguments and calls
# those it fills.
_ARGS: dict[bool, dict[str, tuple[Callable[[object], dict], ...]]] = {
    parsed: {name: _makers(name, parsed) for name in sorted(RECORDED)} for parsed in (True, False)}


# -- generic syscall records ------------------------------------------------------------------------
# Integer widths as Tracee types them (its JSON decoder's table): the register is cut to the width.
_INT32 = frozenset(("int", "pid_t", "uid_t", "gid_t", "mqd_t", "clockid_t", "const clockid_t", "key_t",
                    "key_serial_t", "timer_t", "landlock_rule_type", "qid_t"))
_UINT32 = frozenset(("unsigned int", "u32", "mode_t", "dev_t", "umode_t"))
_UINT16 = frozenset(("unsigned short", "old_uid_t", "old_gid_t", "old_old_uid_t", "u16"))


def _u32(v: int) -> int:
    return v & 0xFFFFFFFF


def _u16(v: int) -> int:
    return v & 0xFFFF


def _same(v: int) -> int:
    return v


def _cast(arg_type: str, compat: bool) -> Callable[[int], int]:
    """The register as the value of an argument of `arg_type` (ia32 longs and pointers are 32-bit)."""
    if arg_type in _INT32:
        return _s32
    if arg_type == "long":
        return _s32 if compat else _s64
    if arg_type in _UINT32:
        return _u32
    if arg_type in _UINT16:
        return _u16
    return _u32 if compat else _same


def _sockaddr(raw: bytes) -> dict:
    try:
        return decoders.sockaddr(raw) if raw else {"sa_family": "AF_UNSPEC"}
    except ValueError:
        return {"sa_family": "AF_UNSPEC"}


def _int_pair(raw: bytes) -> list[int]:
    return list(struct.unpack("<2i", raw)) if len(raw) == 8 else []


_K_RAW, _K_STR, _K_SOCKADDR, _K_INT2, _K_ARRAY = (layout.ARG_KINDS[k] for k in (
    "ARG_RAW", "ARG_STR", "ARG_SOCKADDR", "ARG_INT_ARR2", "ARG_STR_ARRAY"))


_CRED_FIELDS = ("Uid", "Gid", "Suid", "Sgid", "Euid", "Egid", "Fsuid", "Fsgid", "UserNamespace", "SecureBits",
                "CapInheritable", "CapPermitted", "CapEffective", "CapBounding", "CapAmbient")
_CRED = struct.Struct("<15Q")
_K_CRED = layout.ARG_KINDS["ARG_CRED"]


def _cred(raw: bytes) -> dict[str, int]:
    if len(raw) != _CRED.size:
        raise ValueError("slim_cred_t item of %d bytes" % len(raw))
    return dict(zip(_CRED_FIELDS, _CRED.unpack(raw)))


# How an item (an argument read from memory, not a register) of each kind is decoded: chosen
# once per event when its decoder is built, by the generic and the derived layouts alike.
_ITEM_DECODERS: dict[int, Callable[[bytes], object]] = {
    _K_STR: _text, _K_SOCKADDR: _sockaddr, _K_INT2: _int_pair, _K_CRED: _cred}


def generic_payload(event_id: int, compat: bool, parsed: bool = True) -> Callable[[bytes], list[dict]]:
    """The decoder of generic syscall records of `event_id` (layout.py's generic layout)."""
    definition = catalog.by_id(event_id)
    assert definition is not None, event_id
    name = definition.name
    scalars: list[tuple[int, int, Callable[[object], dict], Callable[[Any], object]]] = []
    arrays: list[tuple[int, Callable[[object], dict]]] = []
    for i, arg in enumerate(definition.args[:6]):
        kind = layout.ARG_KINDS[layout.arg_kind(arg.type)]
        make = _maker(name, arg, parsed)
        if kind == _K_ARRAY:
            arrays.append((i, make))
        else:
            scalars.append((i, kind, make, _cast(arg.type, compat) if kind == _K_RAW
                            else _ITEM_DECODERS.get(kind, _int_pair)))
    count = len(definition.args[:6])
    if not arrays and all(kind == _K_RAW for _, kind, _, _ in scalars):
        raws = tuple((i, make, cast) for i, _, make, cast in scalars)

        def registers_only(d: bytes) -> list[dict]:   # most syscalls: no strings to read
            regs = _U64x6.unpack_from(d, P0)
            return [make(cast(regs[i])) for i, make, cast in raws]
        return registers_only

    def payload(d: bytes) -> list[dict]:
        regs = _U64x6.unpack_from(d, P0)
        off = P0 + 48
        out: list[dict | None] = [None] * count
        for i, kind, make, convert in scalars:  # convert: the register's cast, or the item's decoder
            if kind == _K_RAW:
                out[i] = make(convert(regs[i]))
                continue
            (raw,), off = _items(d, off, 1)
            out[i] = make(convert(raw))
        for i, make in arrays:
            values, off = _str_array(d, off)
            if values is not None:          # not captured (envp without --exec-env): left out
                out[i] = make(values)
        return [a for a in out if a is not None]
    return payload


def derived_payload(event_id: int, parsed: bool = True) -> Callable[[bytes], list[dict]]:
    """The decoder of derived records of `event_id`: a u64 per integer argument, in the
    catalog's order, then an item per other argument (layout.py)."""
    definition = catalog.by_id(event_id)
    assert definition is not None, event_id
    raws: list[tuple[int, Callable[[object], dict], Callable[[int], int]]] = []
    items: list[tuple[int, Callable[[bytes], object], Callable[[object], dict]]] = []
    for i, arg in enumerate(definition.args):
        kind = layout.ARG_KINDS[layout.arg_kind(arg.type)]
        make = _maker(definition.name, arg, parsed)
        if kind == _K_RAW:
            raws.append((i, make, _cast(arg.type, False)))
        else:
            items.append((i, _ITEM_DECODERS.get(kind, _int_pair), make))
    fixed = struct.Struct("<%dQ" % len(raws))
    count = len(definition.args)
    first_item = P0 + fixed.size

    def payload(d: bytes) -> list[dict]:
        values = fixed.unpack_from(d, P0)
        out: list[dict | None] = [None] * count
        for (i, make, cast), v in zip(raws, values):
            out[i] = make(cast(v))
        off = first_item
        for i, decode, make in items:
            (raw,), off = _items(d, off, 1)
            out[i] = make(decode(raw))
        return [a for a in out if a is not None]
    return payload


class Decoder:
    """Turns raw records into Events; keeps per-run caches (comm, hostname, containers)."""

    def __init__(self, *, hostname: Callable[[int], str], containers: ContainerTracker,
                 container_ids: tuple[str, ...] = (), boot_offset: int | None = None,
                 parsed: bool = True) -> None:
        self.boot_offset = boot_offset_ns() if boot_offset is None else boot_offset
        self._hostname = hostname
        self._hostnames: dict[int, str] = {}
        self._comms: dict[bytes, str] = {}
        self.containers = containers
        self.container_ids = container_ids
        self.truncated = 0
        self.filtered = 0
        self.internal = 0  # the collector's own records (container tracking), not events
        self.malformed = 0  # records too short or inconsistent for their layout: skipped
        self.parsed = parsed
        self._args = _ARGS[parsed]
        self._generic: dict[int, Callable[[bytes], list[dict]]] = {}  # event id | compat flag << 16
        self._derived: dict[int, Callable[[bytes], list[dict]]] = {}
        self._derived_ids = frozenset(catalog.by_name(n).id for n in DERIVED_LAYOUT)  # type: ignore[union-attr]
        self._names = {e.id: e.name for e in catalog.EVENTS}
        self._payload: dict[int, Callable[[bytes], list[dict]]] = {}
        for name in RECORDED:
            definition = catalog.by_name(name)
            assert definition is not None
            self._payload[definition.id] = getattr(self, "_p_" + name)
        self.exec_id = catalog.by_name("sched_process_exec").id  # type: ignore[union-attr]

    # -- header ------------------------------------------------------------------------------------
    def decode(self, data: bytes) -> Event | None:
        """The event of one record, or None (internal, filtered, or malformed: each counted)."""
        try:
            return self._decode(data)
        except _MALFORMED:
            self.malformed += 1
            return None

    def _generic_payload(self, event_id: int, flags: int) -> Callable[[bytes], list[dict]]:
        compat = bool(flags & HF_COMPAT)
        definition = catalog.by_id(event_id)
        if definition is None or not definition.syscall:
            raise KeyError(event_id)
        payload = self._generic[event_id | (flags & HF_COMPAT) << 16] = generic_payload(event_id, compat, self.parsed)
        return payload

    def _decode(self, data: bytes) -> Event | None:
        (ts, start_time, cgroup_id, ret, event_id, tid, pid, ppid, ns_tid, ns_pid, ns_ppid, uid,
         mnt_ns, pid_ns, uts_ns, cpu, flags, comm_raw) = HDR.unpack_from(data, 0)
        containers = self.containers
        if event_id == self.exec_id:
            containers.on_exec(cgroup_id, mnt_ns)
            if flags & HF_INTERNAL:
                self.internal += 1
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
        if flags & HF_GENERIC:
            payload = self._generic.get(event_id | (flags & HF_COMPAT) << 16)
            if payload is None:
                payload = self._generic_payload(event_id, flags)
            args = payload(data)
        elif flags & HF_DERIVED:
            payload = self._derived.get(event_id)
            if payload is None:
                if event_id not in self._derived_ids:
                    raise KeyError(event_id)
                payload = self._derived[event_id] = derived_payload(event_id, self.parsed)
            args = payload(data)
        else:
            args = self._payload[event_id](data)
        return _from_trusted({
            "timestamp": ts + self.boot_offset, "threadStartTime": start_time, "processorId": cpu,
            "processId": ns_pid, "cgroupId": cgroup_id, "threadId": ns_tid,
            "parentProcessId": ns_ppid, "hostProcessId": pid, "hostThreadId": tid,
            "hostParentProcessId": ppid, "userId": uid, "mountNamespace": mnt_ns,
            "pidNamespace": pid_ns, "processName": comm, "hostName": host,
            "argsNum": len(args), "returnValue": ret},
            # started: marked in the kernel at the container's first exec (so on every CPU's
            # records at once), or a container that existed when tracing began
            self._names[event_id], event_id, container_id,
            bool(container_id) and (bool(flags & HF_STARTED) or cgroup_id in containers.started), args)

    # -- payloads (argument order and types: the catalog's, via _ARGS) -----------------------------
    def _p_sys_enter(self, d: bytes) -> list[dict]:
        (syscall,) = self._args["sys_enter"]
        return [syscall(_U64.unpack_from(d, P0)[0])]

    def _p_sys_exit(self, d: bytes) -> list[dict]:
        (syscall,) = self._args["sys_exit"]
        return [syscall(_U64.unpack_from(d, P0)[0])]

    def _p_execve(self, d: bytes) -> list[dict]:
        pathname, argv, envp = self._args["execve"]
        (path,), off = _strings(d, P0, 1)
        # HF_AFTER_EXEC: the strings were not readable at entry and come from the new image
        array = _chunked_list if d[FLAGS_AT] & HF_AFTER_EXEC else _str_array
        argv_list, off = array(d, off)
        envp_list, off = array(d, off)
        args = [pathname(path), argv(argv_list or [])]
        if envp_list is not None:
            args.append(envp(envp_list))
        return args

    def _p_sched_process_exec(self, d: bytes) -> list[dict]:
        (cmdpath, pathname, argv, env, dev, inode, invoked_from_kernel, ctime, stdin_type, inode_mode,
         interp, *_) = self._args["sched_process_exec"]  # interpreter_*: not captured
        dev_, ino, ctime_, modes, from_kernel = _U64x5.unpack_from(d, P0)
        (cmd, path, interp_), off = _strings(d, P0 + 40, 3)
        (argv_blob,), off = _items(d, off, 1)
        env_list: list[str] | None = None
        if off + 2 <= len(d) and d[off] | d[off + 1] << 8 != NOT_CAPTURED:
            (env_blob,), off = _items(d, off, 1)
            env_list = _nul_list(env_blob)
        args = [cmdpath(cmd), pathname(path), argv(_nul_list(argv_blob))]
        if env_list is not None:
            args.append(env(env_list))
        args += [dev(dev_), inode(ino), invoked_from_kernel(from_kernel), ctime(ctime_),
                 stdin_type(modes >> 32), inode_mode(modes & 0xFFFF), interp(interp_)]
        return args

    def _p_sched_process_exit(self, d: bytes) -> list[dict]:
        exit_code, process_group_exit = self._args["sched_process_exit"]
        code, group = _Q2.unpack_from(d, P0)
        return [exit_code(code), process_group_exit(bool(group))]

    def _p_security_bprm_check(self, d: bytes) -> list[dict]:
        pathname, dev, inode = self._args["security_bprm_check"]
        dev_, ino = _U64x2.unpack_from(d, P0)
        (path,), _ = _strings(d, P0 + 16, 1)
        return [pathname(path), dev(dev_), inode(ino)]

    def _p_security_file_open(self, d: bytes) -> list[dict]:
        pathname, flags, dev, inode, ctime, syscall_pathname, syscall = self._args["security_file_open"]
        dev_, ino, ctime_, nr_flags = _U64x4.unpack_from(d, P0)
        (path, syscall_path), _ = _strings(d, P0 + 32, 2)
        return [pathname(path), flags(nr_flags & 0xFFFFFFFF), dev(dev_), inode(ino), ctime(ctime_),
                syscall_pathname(syscall_path), syscall(nr_flags >> 32)]

    def _p_security_socket_connect(self, d: bytes) -> list[dict]:
        sockfd, remote_addr = self._args["security_socket_connect"]
        (fd,) = _U64.unpack_from(d, P0)
        (raw,), _ = _items(d, P0 + 8, 1)
        try:
            addr = decoders.sockaddr(raw)
        except ValueError:
            addr = {"sa_family": "AF_UNSPEC"}
        return [sockfd(_s32(fd)), remote_addr(addr)]

    def _p_security_sb_mount(self, d: bytes) -> list[dict]:
        dev_name, path, type_, flags = self._args["security_sb_mount"]
        (f,) = _U64.unpack_from(d, P0)
        (dev, mount_path, fstype), _ = _strings(d, P0 + 8, 3)
        return [dev_name(dev), path(mount_path), type_(fstype), flags(f)]

    def _p_security_kernel_read_file(self, d: bytes) -> list[dict]:
        pathname, dev, inode, type_, ctime = self._args["security_kernel_read_file"]
        dev_, ino, ctime_, typ = _U64x4.unpack_from(d, P0)
        (path,), _ = _strings(d, P0 + 32, 1)
        return [pathname(path), dev(dev_), inode(ino), type_(typ), ctime(ctime_)]

    def _p_magic_write(self, d: bytes) -> list[dict]:
        pathname, bytes_, dev, inode = self._args["magic_write"]
        dev_, ino = _U64x2.unpack_from(d, P0)
        (head,), off = _items(d, P0 + 16, 1)
        (path,), _ = _strings(d, off, 1)
        return [pathname(path), bytes_(bytes(head)), dev(dev_), inode(ino)]

    def _p_mem_prot_alert(self, d: bytes) -> list[dict]:
        (alert,) = self._args["mem_prot_alert"]
        (a,) = _U64.unpack_from(d, P0)
        return [alert(a)]
