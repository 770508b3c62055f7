"""Which syscall numbers give which Tracee event: the x86-64 numbers (the catalog's ids) and the
ia32 ones (syscall_32.txt), and the BPF table entry (event id, argument kinds, flags) of each.

A 32-bit task's syscall is reported as the Tracee event of the same call: the native one when
the call is the same (`open`, `openat`), Tracee's 32-bit-only event (ids from 3000) otherwise
(`setuid` of the 16-bit uids is `setuid16`, `_llseek` is `llseek`), and the native one for the
32-bit names of 64-bit-time calls (`clock_gettime64` is `clock_gettime`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from tracee.events import catalog

from .layout import ARG_KINDS, COMPAT_BASE, FD_STATE, SC, arg_kind

__all__ = ["SyscallEntry", "compat_events", "entries", "i386_table", "native_syscalls"]

# i386 name -> Tracee event name, where they differ (the rest are the same name).
_I386_ALIASES: dict[str, str] = {
    # 16-bit uid/gid calls; their 32-bit-uid successors carry a "32" suffix
    **{n: n + "16" for n in ("lchown", "setuid", "getuid", "setgid", "getgid", "geteuid", "getegid",
                             "setreuid", "setregid", "getgroups", "setgroups", "fchown", "setresuid",
                             "getresuid", "setresgid", "getresgid", "chown", "setfsuid", "setfsgid")},
    **{n + "32": n for n in ("lchown", "getuid", "getgid", "geteuid", "getegid", "setreuid", "setregid",
                             "getgroups", "setgroups", "fchown", "setresuid", "getresuid", "setresgid",
                             "getresgid", "chown", "setuid", "setgid", "setfsuid", "setfsgid")},
    # 32-bit time calls (Tracee's *_time32 / *32 events) and their 64-bit-time successors
    **{n: n + "_time32" for n in ("clock_getres", "clock_nanosleep", "utimensat", "pselect6", "ppoll",
                                  "io_pgetevents", "recvmmsg", "mq_timedsend", "mq_timedreceive",
                                  "rt_sigtimedwait", "futex", "sched_rr_get_interval")},
    **{n: n + "32" for n in ("clock_gettime", "clock_settime", "timer_gettime", "timer_settime",
                             "timerfd_gettime", "timerfd_settime")},
    **{n + "64": n for n in ("clock_gettime", "clock_settime", "timer_gettime", "timer_settime",
                             "timerfd_gettime", "timerfd_settime")},
    **{n + "_time64": n for n in ("clock_getres", "clock_nanosleep", "utimensat", "pselect6", "ppoll",
                                  "io_pgetevents", "recvmmsg", "mq_timedsend", "mq_timedreceive",
                                  "semtimedop", "rt_sigtimedwait", "futex", "sched_rr_get_interval")},
    "_llseek": "llseek", "select": "old_select", "_newselect": "select", "getrlimit": "old_getrlimit",
    "ugetrlimit": "getrlimit", "sendfile": "sendfile32", "sendfile64": "sendfile", "fstatat64": "newfstatat",
    "_sysctl": "sysctl",
}

# Emitted at entry: the call does not return, or on success the caller's memory is gone.
_AT_ENTER = frozenset(("exit", "exit_group", "execve", "execveat"))
# Native syscalls that have their own probes (program.c), not the generic path.
SPECIAL_NATIVE = frozenset(("execve",))


@dataclass(frozen=True)
class SyscallEntry:
    """One row of the BPF table `syscall_conf`: table key, event, argument kinds, flags."""

    key: int
    event_id: int
    event: str
    kinds: tuple[int, ...]
    flags: int
    fd_state: int = 0  # with SC_FD_STATE: layout.FD_STATE bits


@lru_cache(maxsize=1)
def i386_table() -> dict[int, str]:
    """ia32 syscall number -> its kernel name."""
    table: dict[int, str] = {}
    text = resources.files(__package__).joinpath("syscall_32.txt").read_text()
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        nr, name = line.split()
        table[int(nr)] = name
    return table


def native_syscalls() -> dict[int, str]:
    """x86-64 syscall number -> Tracee event name (the catalog's syscall events below 1000)."""
    return {e.id: e.name for e in catalog.EVENTS if e.syscall and e.id < 1000}


@lru_cache(maxsize=1)
def compat_events() -> dict[int, str]:
    """ia32 syscall number -> Tracee event name, for every ia32 call with a Tracee event."""
    out = {}
    for nr, name in i386_table().items():
        event = _I386_ALIASES.get(name, name)
        definition = catalog.by_name(event)
        if definition is not None and definition.syscall:
            out[nr] = event
    return out


def _entry(key: int, event: str, wanted: bool, derive: bool = False, fd_state: int = 0) -> SyscallEntry:
    definition = catalog.by_name(event)
    assert definition is not None, event
    kinds = tuple(ARG_KINDS[arg_kind(a.type)] for a in definition.args[:6])
    flags = (SC["SC_WANTED"] if wanted else 0) | (SC["SC_AT_ENTER"] if event in _AT_ENTER else 0) | \
        (SC["SC_DERIVE"] if derive else 0) | (SC["SC_FD_STATE"] if wanted and fd_state else 0)
    return SyscallEntry(key, definition.id, event, kinds + (0,) * (6 - len(kinds)), flags,
                        fd_state if wanted else 0)


#: What an fd-state-filtered syscall tests and does (layout.FD_STATE), by event.
FD_STATE_OPS: dict[str, int] = {
    "close": FD_STATE["FD_ARG0"] | FD_STATE["FD_CLOSE"],
    "dup": FD_STATE["FD_ARG0"],
    "dup2": FD_STATE["FD_ARG0"] | FD_STATE["FD_ARG1"] | FD_STATE["FD_DUP_TO_ARG1"],
    "dup3": FD_STATE["FD_ARG0"] | FD_STATE["FD_ARG1"] | FD_STATE["FD_DUP_TO_ARG1"],
}


def entries(wanted: frozenset[str] | set[str], derive: frozenset[str] | set[str] = frozenset(),
            fd_state: frozenset[str] | set[str] = frozenset()) -> list[SyscallEntry]:
    """The table rows for the syscall events in `wanted` (native and ia32 numbers), and for the
    native syscalls in `derive` (other events are derived at their exits; ia32 calls are not:
    their argument conventions differ, e.g. old_mmap takes a struct). The events in `fd_state`
    (of FD_STATE_OPS) leave the kernel only for fds in the inet_socket_fd state."""
    rows = []
    ops = {name: FD_STATE_OPS[name] for name in fd_state}
    for nr, name in native_syscalls().items():
        emit = name in wanted and name not in SPECIAL_NATIVE
        if emit or name in derive:
            rows.append(_entry(nr, name, emit, name in derive, ops.get(name, 0)))
    rows += [_entry(COMPAT_BASE + nr, name, True, fd_state=ops.get(name, 0))
             for nr, name in compat_events().items() if name in wanted]
    return rows
