"""The events this input produces and where each comes from: the one list the program, the record
decoder and `tracee trace --list` derive from (their ids, names and arguments are the catalog's).

The kernel here offers tracepoints and raw tracepoints only (no kprobes, no BPF-LSM), so the
events Tracee took from LSM hooks are derived from syscall tracepoints.
"""

from __future__ import annotations

from tracee.events import catalog

from .syscalls import SPECIAL_NATIVE, compat_events, native_syscalls

__all__ = ["DERIVED_FROM", "DERIVED_LAYOUT", "TRACEPOINT_EVENTS", "GENERIC_SYSCALLS", "NOT_PRODUCED", "PRODUCED", "RECORDED", "SOURCES", "USER_SPACE", "listing", "unavailable_reason"]

_GENERIC = ("raw tracepoints sys_enter/sys_exit (generic path: arguments saved at entry, emitted at "
            "exit with the return value)")
_AT_ENTER = "raw tracepoint sys_enter (generic path, emitted at entry: the call does not return)"
_COMPAT = "raw tracepoints sys_enter/sys_exit of ia32 (32-bit) tasks (generic path; i386 number {nr})"


def _syscall_sources() -> dict[str, str]:
    """Every syscall event: native ones by number, then the 32-bit-only ones from ia32 tasks."""
    out: dict[str, str] = {}
    for name in native_syscalls().values():
        if name not in SPECIAL_NATIVE:
            out[name] = _AT_ENTER if name in ("exit", "exit_group") else _GENERIC
    compat_nr: dict[str, int] = {}
    for nr, name in compat_events().items():
        compat_nr.setdefault(name, nr)
    for name, nr in compat_nr.items():
        if name not in out and name not in SPECIAL_NATIVE:
            out[name] = _COMPAT.format(nr=nr)
    return out


# Syscall events of the generic path (syscalls.bpf.c), with their source text.
GENERIC_SYSCALLS: dict[str, str] = _syscall_sources()

# event name -> where it comes from (what `tracee trace --list` prints)
SOURCES: dict[str, str] = {
    **GENERIC_SYSCALLS,
    "sys_enter": "raw tracepoint sys_enter: every syscall entry (syscall number)",
    "sys_exit": "raw tracepoint sys_exit: every syscall exit (syscall number, return value)",
    "execve": "tracepoint syscalls:sys_enter_execve (emitted at entry, returnValue 0, as Tracee); "
              "strings on pages not yet present: read from the new image at raw tracepoint "
              "sched_process_exec, or at syscalls:sys_exit_execve with its result if the exec fails",
    "sched_process_exec": "raw tracepoint sched_process_exec (task, bprm; argv/env from mm)",
    "sched_process_exit": "tracepoint sched:sched_process_exit",
    "security_bprm_check": "raw tracepoint sched_process_exec (resolved path of the new image) with "
                           "the comm saved at syscalls:sys_enter_execve/execveat; successful execs only",
    "security_file_open": "raw tracepoint sys_exit at open/openat/creat/openat2 (ia32 calls too): "
                          "successful opens only, path/flags/inode from the new fd's struct file",
    "security_socket_connect": "tracepoint syscalls:sys_exit_connect: every attempt, address read "
                               "from the caller; returnValue is connect's result",
    "security_sb_mount": "tracepoint syscalls:sys_exit_mount: every attempt (the LSM hook also runs "
                         "before the permission check); returnValue is mount's result",
    "security_kernel_read_file": "finit_module: tracepoint syscalls:sys_exit_finit_module or raw "
                                 "tracepoint sys_exit (kernels without module support); type "
                                 "kernel-module, file from the fd; attempts",
    "magic_write": "tracepoints syscalls:sys_enter_write/pwrite64/writev/pwritev on a regular file "
                   "at offset 0: first 20 bytes",
    "mem_prot_alert": "tracepoints syscalls:sys_exit_mmap/mprotect/pkey_mprotect: protections "
                      "tracked per (process, start address) in a BPF map",
    "hooked_syscalls": "user space: sys_call_table entries (read with a BPF helper) outside "
                       "kernel text per /proc/kallsyms; at start, on SIGUSR1, every --ebpf-hooks-interval",
    "container_create": "user space: a new container's cgroup (tracepoint cgroup:cgroup_mkdir, or the "
                        "cgroup directory walk); metadata from the containers enricher",
    "container_remove": "user space: the last cgroup directory of a container is gone (checked each second)",
    "existing_container": "user space: containers whose cgroups exist at start; metadata from the "
                          "containers enricher",
}

# Selectable events this input does not produce here, and why (`--list`, and the error when asked).
_NO_KPROBES = "needs a kprobe on {fn}; this kernel has no kprobes (CONFIG_KPROBES off) nor fentry"
NOT_PRODUCED: dict[str, str] = {
    "cap_capable": _NO_KPROBES.format(fn="cap_capable"),
    "kprobe_attach": _NO_KPROBES.format(fn="arm_kprobe"),
    "hooked_proc_fops": _NO_KPROBES.format(fn="security_file_permission"),
    "hooked_seq_ops": _NO_KPROBES.format(fn="security_file_permission"),
    "proc_create": _NO_KPROBES.format(fn="proc_create"),
    "debugfs_create_file": _NO_KPROBES.format(fn="debugfs_create_file"),
    "debugfs_create_dir": _NO_KPROBES.format(fn="debugfs_create_dir"),
    "register_chrdev": _NO_KPROBES.format(fn="__register_chrdev"),
    "device_add": _NO_KPROBES.format(fn="device_add"),
    "call_usermodehelper": _NO_KPROBES.format(fn="call_usermodehelper"),
    "__kernel_write": _NO_KPROBES.format(fn="__kernel_write"),
    "hidden_inodes": _NO_KPROBES.format(fn="filldir64"),
    "symbols_loaded": "derived by Tracee from shared_object_loaded and ELF symbol reads: not built here",
    "dirty_pipe_splice": "needs a kprobe on do_splice to see the pipe buffer's flags after the splice; "
                         "the splice syscall itself is traced",
    "do_init_module": "needs a kprobe on do_init_module (and this kernel has no module support); "
                      "init_module/finit_module attempts are traced",
    "net_packet": "needs a cgroup skb program per cgroup: not built in this input",
    "dns_request": "needs a cgroup skb program per cgroup: not built in this input",
    "dns_response": "needs a cgroup skb program per cgroup: not built in this input",
}

# Events derived at the exits of native syscalls (derived.bpf.c): event -> (the syscalls that
# feed it, how). The generic path saves those syscalls' arguments even when their own events
# are not selected.
DERIVED_FROM: dict[str, tuple[tuple[str, ...], str]] = {
    "security_socket_create": (("socket",), "successful socket(2); kern 0"),
    "security_socket_bind": (("bind",), "every bind(2) attempt, address read from the caller"),
    "security_socket_listen": (("listen",), "every listen(2) attempt; local_addr from the socket (struct sock)"),
    "security_socket_accept": (("accept", "accept4"), "every accept attempt; local_addr of the listening socket"),
    "security_socket_setsockopt": (("setsockopt",), "every setsockopt(2) attempt; local_addr from the socket"),
    "socket_accept": (("accept", "accept4"), "successful accepts: local and remote address of the sockets"),
    "socket_dup": (("dup", "dup2", "dup3"), "successful dups of a socket fd; remote_addr from the socket"),
    "security_bpf": (("bpf",), "every bpf(2) attempt: its cmd"),
    "security_bpf_map": (("bpf",), "successful BPF_MAP_CREATE: id and name from the new fd's struct bpf_map"),
    "security_inode_unlink": (("unlink", "unlinkat"), "successful unlinks of non-directories; pathname "
                              "absolute (relative ones joined to dirfd's path or the cwd); inode/device/ctime 0 "
                              "(gone at exit, no lookup without kprobes)"),
    "security_inode_rename": (("rename", "renameat", "renameat2"), "successful renames; paths made absolute"),
    "security_inode_mknod": (("mknod", "mknodat"), "successful mknods; file_name made absolute"),
    "security_inode_symlink": (("symlink", "symlinkat"), "successful symlinks; linkpath made absolute, "
                               "target as given"),
    "security_mmap_file": (("mmap",), "mmap(2) of a file (not MAP_ANONYMOUS): path/dev/inode from the fd"),
    "shared_object_loaded": (("mmap",), "mmap(2) of a file with PROT_EXEC: path/dev/inode from the fd"),
    "security_file_mprotect": (("mprotect", "pkey_mprotect", "mmap", "munmap"),
                               "every mprotect attempt: prot; pathname/ctime of the file this process "
                               "mapped at that start address (remembered at mmap exits), else empty/0"),
    "vfs_write": (("write", "pwrite64"), "successful writes to an fd: path/dev/inode, count, position"),
    "vfs_writev": (("writev", "pwritev"), "successful vector writes: path/dev/inode, vlen, position"),
    "security_kernel_post_read_file": (("finit_module",), "finit_module attempts: file from the fd, its "
                                       "size, type kernel-module"),
    "commit_creds": (("setuid", "setgid", "setreuid", "setregid", "setresuid", "setresgid", "setfsuid",
                      "setfsgid", "capset", "execve", "execveat"),
                     "credentials read at entry and exit of these calls; emitted when they differ"),
    "switch_task_ns": (("setns", "unshare"), "successful setns/unshare: the task's namespaces after"),
}
# Events from sched/task/cgroup tracepoints (tasks.bpf.c), in the derived record layout.
TRACEPOINT_EVENTS: dict[str, str] = {
    "sched_process_fork": "raw tracepoint sched_process_fork (parent, child tasks: ids in both pid namespaces)",
    "sched_switch": "raw tracepoint sched_switch (context: the task switched out)",
    "task_rename": "tracepoint task:task_rename; syscall from the task's pt_regs",
    "do_exit": "tracepoint sched:sched_process_exit (the exiting task)",
    "cgroup_mkdir": "tracepoint cgroup:cgroup_mkdir (every hierarchy)",
    "cgroup_rmdir": "tracepoint cgroup:cgroup_rmdir (every hierarchy)",
    "cgroup_attach_task": "tracepoint cgroup:cgroup_attach_task",
    "load_elf_phdrs": "raw tracepoint sched_process_exec: the executed file (bprm->file: the ELF, or a "
                      "script's interpreter); the ELF interpreter (ld.so) the loader opens itself is not seen",
}
SOURCES.update({name: f"derived at the exits of {'/'.join(feed)} (generic path): {how}"
                for name, (feed, how) in DERIVED_FROM.items()})
SOURCES.update(TRACEPOINT_EVENTS)
SOURCES["init_namespaces"] = "user space: pid 1's namespaces from /proc/1/ns at start"
# Events whose records use the derived layout (decoded from the catalog, no payload decoder).
DERIVED_LAYOUT: frozenset[str] = frozenset(DERIVED_FROM) | frozenset(TRACEPOINT_EVENTS)

PRODUCED: frozenset[str] = frozenset(SOURCES)
# Made in user space, not decoded from a kernel record (the program still compiles a helper for it).
USER_SPACE: frozenset[str] = frozenset({"hooked_syscalls", "init_namespaces", "container_create",
                                          "container_remove", "existing_container"})
# The events that arrive as kernel records of their own layout: decode.py has a payload decoder
# for each (the generic syscalls share one, built from the catalog).
RECORDED: frozenset[str] = PRODUCED - USER_SPACE - frozenset(GENERIC_SYSCALLS) - DERIVED_LAYOUT


def unavailable_reason(name: str) -> str:
    """Why `name` is not produced here ("" when it is)."""
    if name in PRODUCED:
        return ""
    if name in NOT_PRODUCED:
        return NOT_PRODUCED[name]
    definition = catalog.by_name(name)
    if definition is None:
        return "unknown event"
    if definition.internal:
        return "internal to Tracee, not selectable"
    return "not derived on this kernel yet (no tracepoint gives it)"


def listing() -> list[str]:
    """`tracee trace --list`: every selectable event, its sets and source, or why it is unavailable."""
    lines = []
    for definition in sorted(catalog.EVENTS, key=lambda e: e.name):
        if definition.internal:
            continue
        name = definition.name
        sets = ",".join(definition.sets) or "-"
        source = SOURCES.get(name)
        where = source if source is not None else "UNAVAILABLE: " + unavailable_reason(name)
        lines.append(f"{name:<26} [{sets}] {where}")
    produced = sum(1 for e in catalog.EVENTS if not e.internal and e.name in PRODUCED)
    lines.append(f"# {produced} of {len(catalog.SELECTABLE)} selectable events produced on this kernel")
    return lines
