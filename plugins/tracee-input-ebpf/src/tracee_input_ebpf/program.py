"""Compiles and loads the BPF program (program.c) for a set of events and filters, through BCC.

Only the probes the requested events need are compiled in (each WANT_<EVENT> switches on its
tracepoints), so the kernel runs nothing for events no signature selects.
"""

from __future__ import annotations

import ctypes as ct
import os
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from types import ModuleType
from typing import Iterable

from tracee.events import catalog

from . import layout, syscalls
from .environment import tracefs_path
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

    def drops(self) -> int:
        """Records the kernel side could not build (scratch map lookup failures)."""
        try:
            return int(sum(self.bpf[b"counters"][ct.c_int(0)]))
        except Exception:  # noqa: BLE001 - counters are informative only
            return 0

    def unpaired(self) -> int:
        """Exits of wanted syscalls whose entry was not seen (entered before the start, or the
        saved arguments evicted): their events are missing."""
        try:
            return int(sum(self.bpf[b"counters"][ct.c_int(1)]))
        except Exception:  # noqa: BLE001 - counters are informative only
            return 0

    def close(self) -> None:
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
    prog._write_config()
    _fill_syscall_table(bpf, events)
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


def _fill_syscall_table(bpf: object, events: frozenset[str]) -> None:
    """syscall_conf: the wanted syscall events' rows (the rest stay zero: not wanted)."""
    feeding = {feed for name in events & frozenset(DERIVED_FROM) for feed in DERIVED_FROM[name][0]}
    rows = syscalls.entries(events & catalog.SYSCALLS, feeding)
    if not rows:
        return
    table = bpf[b"syscall_conf"]  # type: ignore[index]
    for row in rows:
        value = table.Leaf()
        value.event_id = row.event_id
        for i, kind in enumerate(row.kinds):
            value.kinds[i] = kind
        value.flags = row.flags
        table[ct.c_int(row.key)] = value


def _compile_error(exc: BaseException) -> str:
    text = str(exc)
    if "super-user" in text or "Operation not permitted" in text:
        return "loading the BPF program was refused: run as root (CAP_BPF, CAP_PERFMON, CAP_SYS_ADMIN)"
    return f"BPF program failed to compile or load: {text.strip().splitlines()[-1] if text.strip() else exc!r}"
