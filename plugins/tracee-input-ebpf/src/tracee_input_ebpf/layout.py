"""The kernel-to-user record layout, described once: program.c's struct hdr, flags and argument
kinds are generated from here (`c_definitions`), and decode.py unpacks with the structs built here.

A record is the header, then the event's payload. Derived records (HF_DERIVED: events derived at
syscall exits and from tracepoints) carry one u64 per argument of kind ARG_RAW, in the catalog's
argument order, then one item per other argument, in that order. Generic syscall records (header flag
HF_GENERIC) carry the six raw argument registers as u64, then one item ([u16 length][bytes]) per
argument whose kind has a payload, in argument order (strings, socket addresses, int[2]), then
one string array per `const char*const*` argument, in argument order (u16 count, then one item
per string; 0xffff = not captured).
"""

from __future__ import annotations

import struct

__all__ = ["ARG_KINDS", "CONFIG", "FD_STATE", "HDR", "HDR_FIELDS", "HF", "SC", "SC_TABLE_SIZE", "COMPAT_BASE", "arg_kind",
           "c_definitions", "field_offset", "flags_offset"]

# (field, C type, struct code): the order is the wire order.
HDR_FIELDS: tuple[tuple[str, str, str], ...] = (
    ("ts", "u64", "Q"), ("start_time", "u64", "Q"), ("cgroup_id", "u64", "Q"), ("ret", "s64", "q"),
    ("event_id", "u32", "I"), ("tid", "u32", "I"), ("pid", "u32", "I"), ("ppid", "u32", "I"),
    ("ns_tid", "u32", "I"), ("ns_pid", "u32", "I"), ("ns_ppid", "u32", "I"), ("uid", "u32", "I"),
    ("mnt_ns", "u32", "I"), ("pid_ns", "u32", "I"), ("uts_ns", "u32", "I"),
    ("cpu", "u16", "H"), ("flags", "u16", "H"), ("comm", "char[16]", "16s"),
)
HDR = struct.Struct("<" + "".join(code for _, _, code in HDR_FIELDS))

# Header flags (hdr.flags).
HF: dict[str, int] = {
    "HF_INTERNAL": 1,     # a record for the collector's own state (container tracking), not an event
    "HF_TRUNCATED": 2,    # an argument was cut short (the record filled its buffer)
    "HF_AFTER_EXEC": 4,   # execve whose strings were read from the new image
    "HF_GENERIC": 8,      # a generic syscall record (layout in this module's docstring)
    "HF_COMPAT": 16,      # a 32-bit (ia32) syscall: registers are 32-bit, pointers 4 bytes
    "HF_DERIVED": 32,     # a derived record: the catalog's integer arguments as u64, then items
    "HF_STARTED": 64,     # its cgroup's container has started (an exec in it, seen in the kernel)
}

# Argument kinds of the generic syscall path: what the kernel side reads for an argument.
ARG_KINDS: dict[str, int] = {
    "ARG_RAW": 0,         # the register itself (integers, addresses): decoded by the catalog type
    "ARG_STR": 1,         # a NUL-terminated user string (const char*, char*)
    "ARG_SOCKADDR": 2,    # a struct sockaddr read by its family's size
    "ARG_INT_ARR2": 3,    # int[2] (pipe/socketpair fds, read at exit)
    "ARG_STR_ARRAY": 4,   # a NULL-terminated array of user strings (argv/envp), bounded
    "ARG_CRED": 5,        # slim_cred_t: an item of 15 u64, SlimCred's fields in order (derived only)
}

# config_map flags: what user space switched on (filters, optional captures).
CONFIG: dict[str, int] = {
    "F_PID": 1, "F_COMM": 2, "F_UID": 4, "F_CONTAINER": 8, "F_FOLLOW": 16, "F_EXEC_ENV": 32,
    "F_WANT_EXEC": 64,    # sched_process_exec selected (else only container tracking)
    "F_WANT_BPRM": 128,
    "F_SYS_ENTER": 256,   # the sys_enter event: every syscall entry
    "F_SYS_EXIT": 512,    # the sys_exit event: every syscall exit
    "F_MNTNS": 1024,      # only mount namespaces in mntns_filter (tracee-ebpf -t mntns=...)
    "F_PIDNS": 2048,      # only pid namespaces in pidns_filter (-t pidns=...)
    "F_OPEN_FILTER": 4096,  # security_file_open checked against the rules' selectors (open_conf)
    "F_FD_STATE": 8192,   # the inet_socket_fd state is kept (connects, and SC_FD_STATE syscalls)
    "F_READY": 16384,     # user space reads the buffers: records before it would have no reader
}

# Flags of a syscall's entry in the BPF table `syscall_conf`.
SC: dict[str, int] = {
    "SC_WANTED": 1,       # emit this syscall's event
    "SC_AT_ENTER": 2,     # emit at entry (no return, or the caller's memory is gone at exit)
    "SC_DERIVE": 4,       # events derived from this syscall are wanted (derived.bpf.c)
    "SC_FD_STATE": 8,     # emitted only for fds in the inet_socket_fd state (sc_conf.fd_state)
}

# sc_conf.fd_state of an SC_FD_STATE syscall: which fd arguments are tested, what the call does.
FD_STATE: dict[str, int] = {
    "FD_ARG0": 1,         # the first argument is an fd that may be tracked
    "FD_ARG1": 2,         # the second too
    "FD_CLOSE": 4,        # the call releases its first argument (close)
    "FD_DUP_TO_ARG1": 8,  # a dup whose new fd is the second argument (dup2/dup3); else the result
}
SC_TABLE_SIZE = 1024      # native x86-64 numbers 0..511, ia32 numbers at COMPAT_BASE + nr
COMPAT_BASE = 512


def field_offset(field: str) -> int:
    """Offset of a header field in the record."""
    codes = ""
    for name, _, code in HDR_FIELDS:
        if name == field:
            return struct.calcsize("<" + codes)
        codes += code
    raise AssertionError(f"no {field} field")


def flags_offset() -> int:
    """Offset of hdr.flags in the record."""
    return field_offset("flags")


_STRINGS = frozenset(("const char*", "const char *", "char*", "char *"))
_STRING_ARRAYS = frozenset(("const char*const*", "const char**", "char**"))
_SOCKADDRS = frozenset(("struct sockaddr*", "struct sockaddr *", "const struct sockaddr*"))


def arg_kind(arg_type: str) -> str:
    """The kind the kernel side reads for an argument of catalog type `arg_type`."""
    if arg_type in _STRINGS:
        return "ARG_STR"
    if arg_type in _STRING_ARRAYS:
        return "ARG_STR_ARRAY"
    if arg_type in _SOCKADDRS:
        return "ARG_SOCKADDR"
    if arg_type == "int[2]":
        return "ARG_INT_ARR2"
    if arg_type == "slim_cred_t":
        return "ARG_CRED"
    return "ARG_RAW"


def c_definitions() -> str:
    """The C text of this layout, put before program.c."""
    lines = ["/* generated from layout.py: the record layout's one home */"]
    for table in (HF, ARG_KINDS, SC, FD_STATE, CONFIG):
        lines += [f"#define {name} {value}" for name, value in table.items()]
    lines.append(f"#define SC_TABLE_SIZE {SC_TABLE_SIZE}")
    lines.append(f"#define COMPAT_BASE {COMPAT_BASE}")
    lines.append("#define ENOSPC 28")
    lines.append("#define TS_COMPAT 0x0002      /* thread_info.status: in an ia32 syscall (x86) */")
    lines.append("struct hdr {")
    for name, ctype, _ in HDR_FIELDS:
        if ctype.startswith("char["):
            lines.append(f"    char {name}[{ctype[5:-1]}];")
        else:
            lines.append(f"    {ctype} {name};")
    lines.append("};")
    return "\n".join(lines) + "\n"
