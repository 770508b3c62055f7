"""Compiles and loads the BPF program (program.c) for a set of events and filters, through BCC.

Only the probes the requested events need are compiled in (each WANT_<EVENT> switches on its
tracepoints), so the kernel runs nothing for events no signature selects.
"""

from __future__ import annotations

import ctypes as ct
import dataclasses
import os
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from types import ModuleType
from typing import Any, Iterable

from tracee.events import catalog

from . import kernel_filter, layout, syscalls
from .environment import tracefs_path
from .kernel_filter import KernelFilter
from .sources import DERIVED_FROM, GENERIC_SYSCALLS, PRODUCED, SOURCES

__all__ = ["EVENT_SOURCES", "Filters", "LoadedProgram", "SUPPORTED_EVENTS", "build_source", "load"]

# Every event this input produces, and which kernel facility each comes from (sources.py).
EVENT_SOURCES: dict[str, str] = SOURCES
SUPPORTED_EVENTS = PRODUCED
# Events with their own probes in program.c (WANT_<EVENT>); hooked_syscalls: WANT_ compiles its
# kernel-memory reader. The generic syscalls are switched on by one WANT_GENERIC and the table.
KERNEL_EVENTS = SUPPORTED_EVENTS - frozenset(GENERIC_SYSCALLS)
FLAG = layout.CONFIG


@dataclass
class Filters:
    """What to trace: in-kernel filters (pids/comms/uids OR-ed by kind, AND-ed across kinds)."""

    pids: tuple[int, ...] = ()
    comms: tuple[str, ...] = ()
    uids: tuple[int, ...] = ()
    mntns: tuple[int, ...] = ()      # mount namespace inums (ANDed with the rest, like uids)
    pidns: tuple[int, ...] = ()      # pid namespace inums
    container: bool = False          # only processes in a mount namespace other than the host's
    container_ids: tuple[str, ...] = ()  # (prefixes) checked in user space
    follow: bool = False
    exec_env: bool = False
    # What no loaded rule can match, dropped in the kernel (kernel_filter.compile_conditions)
    rules: KernelFilter = field(default_factory=KernelFilter)


def _source_text() -> str:
    return resources.files(__package__).joinpath("program.c").read_text()


def _has_tracepoint(name: str, category: str = "syscalls") -> bool:
    root = tracefs_path()
    return bool(root and (root / "events" / category / name).is_dir())


def cgroup_hierarchy_id(subsys: str | None) -> int:
    """The hierarchy id of cgroup v1 subsystem `subsys` (e.g. `cpuset_cgrp_id`), 0 for cgroup v2;
    what the cgroup:cgroup_mkdir tracepoint reports as `root`."""
    if subsys is None:
        return 0
    controller = subsys.removesuffix("_cgrp_id")
    try:
        with open("/proc/self/cgroup") as f:
            for line in f:
                hid, controllers, _ = line.split(":", 2)
                if controller in controllers.split(","):
                    return int(hid)
    except (OSError, ValueError):
        pass
    return -1  # unknown: new cgroups are then found by the directory walk only


def cgroup_mode() -> tuple[str | None, Path]:
    """(v1 subsystem enum name or None for cgroup v2, the hierarchy's mount point)."""
    mounts: dict[str, Path] = {}
    v2: Path | None = None
    try:
        with open("/proc/self/mountinfo") as f:
            for line in f:
                left, _, right = line.partition(" - ")
                fstype, _, options = right.split()[:3]
                point = Path(left.split()[4])
                if fstype == "cgroup2" and v2 is None:
                    v2 = point
                elif fstype == "cgroup":
                    for opt in options.split(","):
                        mounts.setdefault(opt, point)
    except OSError:
        pass
    for controller in ("cpuset", "memory", "pids", "cpu"):  # Tracee reads the cpuset hierarchy
        if controller in mounts:
            return f"{controller}_cgrp_id", mounts[controller]
    return None, v2 or Path("/sys/fs/cgroup")


def build_source(events: Iterable[str], filters: Filters) -> str:
    """The C text for `events` (unknown names are ignored: the caller checks them)."""
    events = set(events)
    wanted = events & KERNEL_EVENTS
    defines = [layout.c_definitions()]
    defines += [f"#define NR_{name.upper()} {nr}" for nr, name in sorted(syscalls.native_syscalls().items())]
    for name in sorted(KERNEL_EVENTS | {"sched_process_exec"}):
        definition = catalog.by_name(name)
        assert definition is not None, name
        defines.append(f"#define EV_{name.upper()} {definition.id}")
    defines += [f"#define WANT_{name.upper()} 1" for name in sorted(wanted)]
    # execve has its own probes for x86-64 calls; its ia32 calls come through the generic path too
    if events & (catalog.SYSCALLS | set(DERIVED_FROM)):
        defines.append("#define WANT_GENERIC 1")
    if filters.follow:
        defines.append("#define WANT_FOLLOW 1")
    for syscall in ("init_module", "finit_module"):
        if _has_tracepoint(f"sys_exit_{syscall}"):
            defines.append(f"#define HAVE_TP_{syscall.upper()} 1")
    subsys, _ = cgroup_mode()
    defines.append("#define CGROUP_V1_SUBSYS " + (subsys if subsys else "-1"))
    hierarchy = cgroup_hierarchy_id(subsys)
    defines.append(f"#define CGROUP_HIERARCHY_ID {hierarchy}")
    if hierarchy >= 0 and _has_tracepoint("cgroup_mkdir", "cgroup"):
        defines.append("#define HAVE_TP_CGROUP_MKDIR 1")
    text = _source_text()
    if subsys is None:  # the preprocessor cannot compare an enum name: pick the branch here
        text = text.replace("#if CGROUP_V1_SUBSYS < 0", "#if 1")
    else:
        text = text.replace("#if CGROUP_V1_SUBSYS < 0", "#if 0")
    parts = [resources.files(__package__).joinpath(name).read_text()
             for name in ("tasks.bpf.c", "syscalls.bpf.c", "derived.bpf.c")]
    return "\n".join(defines) + "\n" + text + "\n" + "\n".join(parts)


def host_ns(kind: str) -> int:
    """Inode of the host's (pid 1's) namespace of `kind`; ours when pid 1's is not readable."""
    for pid in ("1", "self"):
        try:
            return os.stat(f"/proc/{pid}/ns/{kind}").st_ino
        except OSError:
            continue
    return 0


class _Config(ct.Structure):
    _fields_ = [("self_pid", ct.c_uint32), ("flags", ct.c_uint32), ("host_mnt_ns", ct.c_uint32),
                ("host_pid_ns", ct.c_uint32)]


@dataclass
class LoadedProgram:
    bpf: object
    events: frozenset[str]
    filters: Filters
    host_mnt_ns: int
    self_pid: int
    cgroup_root: Path
    probes: list[str] = field(default_factory=list)
    _final: dict[int, int] = field(default_factory=dict)
    ready: bool = False  # the reader has opened the buffers: records may be made (F_READY)

    def set_ready(self) -> None:
        """The buffers have a reader: the kernel side starts making records."""
        self.ready = True
        self._write_config()

    def set_self_pid(self, pid: int) -> None:
        self.self_pid = pid
        self._write_config()

    def _write_config(self) -> None:
        f = self.filters
        flags = 0
        flags |= FLAG["F_PID"] if f.pids else 0
        flags |= FLAG["F_COMM"] if f.comms else 0
        flags |= FLAG["F_UID"] if f.uids else 0
        flags |= FLAG["F_MNTNS"] if f.mntns else 0
        flags |= FLAG["F_PIDNS"] if f.pidns else 0
        flags |= FLAG["F_CONTAINER"] if (f.container or f.container_ids) else 0
        flags |= FLAG["F_FOLLOW"] if f.follow else 0
        flags |= FLAG["F_EXEC_ENV"] if f.exec_env else 0
        flags |= FLAG["F_WANT_EXEC"] if "sched_process_exec" in self.events else 0
        flags |= FLAG["F_OPEN_FILTER"] if f.rules.filters_open and "security_file_open" in self.events else 0
        flags |= FLAG["F_FD_STATE"] if f.rules.fd_state_events else 0
        flags |= FLAG["F_READY"] if self.ready else 0
        host_pid_ns = host_ns("pid")
        self.bpf[b"config_map"][ct.c_int(0)] = _Config(self.self_pid, flags, self.host_mnt_ns, host_pid_ns)

    def cgroup_path(self, cgroup_id: int) -> str | None:
        """The path the kernel recorded when cgroup `cgroup_id` was made (then forgotten there:
        the caller caches it), or None."""
        table = self.bpf[b"cgroup_paths"]
        key = ct.c_uint64(cgroup_id)
        try:
            raw = bytes(table[key].p)
        except KeyError:
            return None
        try:
            del table[key]
        except KeyError:
            pass
        return raw.split(b"\0", 1)[0].decode("utf-8", "replace")

    def _counter(self, index: int) -> int:
        """A kernel counter (program.c `counters`), summed over CPUs; after close(), its last value."""
        if index in self._final:
            return self._final[index]
        try:
            return int(sum(self.bpf[b"counters"][ct.c_int(index)]))
        except Exception:  # noqa: BLE001 - counters are informative only
            return 0

    def drops(self) -> int:
        """Records the kernel side could not build (scratch map lookup failures)."""
        return self._counter(0)

    def unpaired(self) -> int:
        """Exits of wanted syscalls whose entry was not seen (entered before the start, or the
        saved arguments evicted): their events are missing."""
        return self._counter(1)

    def filtered(self) -> int:
        """Events no loaded rule can match, left in the kernel (kernel_filter.py)."""
        return self._counter(2)

    def set_rules(self, rules: KernelFilter) -> None:
        """Write a new kernel filter (a reload changed the rules). The open filter is off while
        its maps change (it keeps more meanwhile); the fd state is kept throughout."""
        old = self.filters.rules
        self.filters = dataclasses.replace(self.filters, rules=dataclasses.replace(old, open_rows=[]))
        self._write_config()
        _fill_rule_maps(self.bpf, rules, self.events)
        _fill_syscall_table(self.bpf, self.events, rules.fd_state_events)
        self.filters = dataclasses.replace(self.filters, rules=rules)
        self._write_config()

    def close(self) -> None:
        if not self._final:  # the summary reads the counters after the maps are gone
            self._final = {i: self._counter(i) for i in range(3)}
        try:
            self.bpf.cleanup()
        except Exception:  # noqa: BLE001 - best effort at shutdown
            pass


def load(bcc: ModuleType, events: Iterable[str], filters: Filters, *, self_pid: int | None = None) -> LoadedProgram:
    """Compile, load and attach; BCC attaches TRACEPOINT_PROBE/RAW_TRACEPOINT_PROBE by name."""
    events = frozenset(events)
    source = build_source(events, filters)
    try:
        bpf = bcc.BPF(text=source.encode(), cflags=["-Wno-unused-function", "-Wno-macro-redefined"])
    except Exception as exc:
        raise RuntimeError(_compile_error(exc)) from None
    _, root = cgroup_mode()
    prog = LoadedProgram(bpf, events, filters, host_ns("mnt"),
                         os.getpid() if self_pid is None else self_pid, root)
    prog.probes = sorted([*(tp.decode() if isinstance(tp, bytes) else str(tp) for tp in bpf.tracepoint_fds),
                          *("raw:" + (tp.decode() if isinstance(tp, bytes) else str(tp))
                            for tp in bpf.raw_tracepoint_fds)])
    try:
        _fill_rule_maps(bpf, filters.rules, events)
    except Exception as exc:  # noqa: BLE001 - a filter that cannot be written filters nothing
        prog.filters = filters = dataclasses.replace(filters, rules=KernelFilter(
            notes=[f"the rules' kernel filter could not be written ({type(exc).__name__}: {exc}): not filtered"]))
    _fill_syscall_table(bpf, events, filters.rules.fd_state_events)
    prog._write_config()
    for pid in filters.pids:
        bpf[b"pid_filter"][ct.c_uint32(pid)] = ct.c_uint8(1)
    for uid in filters.uids:
        bpf[b"uid_filter"][ct.c_uint32(uid)] = ct.c_uint8(1)
    for table, inums in ((b"mntns_filter", filters.mntns), (b"pidns_filter", filters.pidns)):
        for inum in inums:
            bpf[table][ct.c_uint32(inum)] = ct.c_uint8(1)
    for comm in filters.comms:
        key = bpf[b"comm_filter"].Key()
        raw = comm.encode()[:15]
        ct.memmove(ct.addressof(key), raw, len(raw))
        bpf[b"comm_filter"][key] = ct.c_uint8(1)
    return prog


def _fill_syscall_table(bpf: object, events: frozenset[str], fd_state: frozenset[str] = frozenset()) -> None:
    """syscall_conf: the wanted syscall events' rows (the rest stay zero: not wanted)."""
    feeding = {feed for name in events & frozenset(DERIVED_FROM) for feed in DERIVED_FROM[name][0]}
    rows = syscalls.entries(events & catalog.SYSCALLS, feeding, fd_state)
    if not rows:
        return
    table = bpf[b"syscall_conf"]  # type: ignore[index]
    for row in rows:
        value = table.Leaf()
        value.event_id = row.event_id
        for i, kind in enumerate(row.kinds):
            value.kinds[i] = kind
        value.flags = row.flags
        value.fd_state = row.fd_state
        table[ct.c_int(row.key)] = value


def _fill_rule_maps(bpf: Any, rules: KernelFilter, events: frozenset[str]) -> None:
    """open_conf, open_comms, open_paths from the compiled security_file_open selectors."""
    if "security_file_open" not in events:
        return
    for name in (b"open_comms", b"open_paths"):
        bpf[name].clear()
    table = bpf[b"open_conf"]
    conf = table.Leaf()  # zeroed
    rows = rules.open_rows
    conf.all_rows = (1 << len(rows)) - 1
    masks: list[int] = []
    for i, row in enumerate(rows):
        bit = 1 << i
        if row.container_only:
            conf.container_rows |= bit
        if row.comm_mode == kernel_filter.COMM_IN:
            conf.comm_in_rows |= bit
        elif row.comm_mode == kernel_filter.COMM_NOT_IN:
            conf.comm_notin_rows |= bit
        if row.eq:
            conf.eq_rows |= bit
        if row.flags_mask and row.flags_mask not in masks and len(masks) < len(conf.flag_mask):
            masks.append(row.flags_mask)
        if row.flags_mask in masks:  # else more distinct masks than the kernel has: flags unchecked
            j = masks.index(row.flags_mask)
            conf.flag_mask[j] = row.flags_mask
            conf.flag_rows[j] |= bit
            for value in range(64):
                if value & row.flags_mask == value and (row.flags_allowed >> value) & 1:
                    conf.flag_allowed[j * 64 + value] |= bit
        for b in range(kernel_filter.MAX_PATH_BITS):
            if (row.path_bits >> b) & 1:
                conf.need_rows[b] |= bit
                conf.n_bits = max(conf.n_bits, b + 1)
    conf.n_masks = len(masks)
    for b, (low, high) in rules.bit_lengths.items():
        conf.min_len[b], conf.max_len[b] = low, high
    for lengths, count, length_field, rows_field in (
            (rules.prefix_lengths, "n_prefix", "prefix_len", "prefix_rows"),
            (rules.suffix_lengths, "n_suffix", "suffix_len", "suffix_rows")):
        for j, (n, mask) in enumerate(sorted(lengths.items())):
            getattr(conf, length_field)[j] = n
            getattr(conf, rows_field)[j] = mask
        setattr(conf, count, len(lengths))
    comms = bpf[b"open_comms"]
    for comm, mask in rules.open_comms.items():
        key = comms.Key()
        ct.memmove(ct.addressof(key), comm, len(comm))
        comms[key] = ct.c_uint64(mask)
    paths = bpf[b"open_paths"]
    for (kind, value), bits in rules.open_paths.items():
        key = paths.Key()
        key.kind, key.len = kind, len(value)
        ct.memmove(ct.addressof(key.s), value, len(value))
        paths[key] = ct.c_uint64(bits)
    table[ct.c_int(0)] = conf


def _compile_error(exc: BaseException) -> str:
    text = str(exc)
    if "super-user" in text or "Operation not permitted" in text:
        return "loading the BPF program was refused: run as root (CAP_BPF, CAP_PERFMON, CAP_SYS_ADMIN)"
    return f"BPF program failed to compile or load: {text.strip().splitlines()[-1] if text.strip() else exc!r}"
