"""The event catalog: ids, names, argument definitions, sets and kernel sources of Tracee's events."""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True, slots=True)
class ArgDef:
    """One argument of an event, as Tracee declares it (`type` is Tracee's C-like type name)."""

    name: str
    type: str


@dataclass(frozen=True, slots=True)
class EventDef:
    """One event: Tracee's id and name, its arguments in wire order, its sets, and where it comes from.

    `source` says which kernel facility produces the event when kprobes and BPF-LSM are not
    available (tracepoints only), or how it is derived from other events.
    """

    id: int
    name: str
    args: tuple[ArgDef, ...]
    sets: tuple[str, ...]
    source: str


def _args(*specs: str) -> tuple[ArgDef, ...]:
    # "const char* pathname" -> ArgDef("pathname", "const char*"): the name is the last word.
    out = []
    for spec in specs:
        type_, _, name = spec.rpartition(" ")
        out.append(ArgDef(name, type_))
    return tuple(out)


# Syscalls whose tracepoint is not named after the syscall.
_TRACEPOINT_NAME = {"umount2": "umount", "sendfile": "sendfile64"}


def _syscall(nr: int, name: str, sets: tuple[str, ...], *specs: str) -> EventDef:
    tp = _TRACEPOINT_NAME.get(name, name)
    return EventDef(nr, name, _args(*specs), sets,
                    f"tracepoint syscalls:sys_enter_{tp}/sys_exit_{tp}")


def _event(id_: int, name: str, sets: tuple[str, ...], source: str, *specs: str) -> EventDef:
    return EventDef(id_, name, _args(*specs), sets, source)


_SC = ("syscalls",)
_DEF = ("default", "syscalls")
_FS_OPS = ("default", "syscalls", "fs", "fs_file_ops")
_FD_OPS = ("default", "syscalls", "fs", "fs_fd_ops")
_LINK_OPS = ("default", "syscalls", "fs", "fs_link_ops")
_FILE_ATTR = ("default", "syscalls", "fs", "fs_file_attr")
_PROC_LIFE = ("default", "syscalls", "proc", "proc_life")
_PROC_MEM = ("syscalls", "proc", "proc_mem")
_PROC_IDS = ("default", "syscalls", "proc", "proc_ids")
_NET_SOCK = ("default", "syscalls", "net", "net_sock")
_MODULE = ("default", "syscalls", "system", "system_module")

# Ids: a syscall event's id is its x86_64 syscall number. Tracee numbers its other events from 700
# (net events 700-703, then sys_enter 704 ...) and its user-space events from 2000. The ids
# printed in Tracee's v0.8 sample events (sched_process_exec 707, security_file_open 722,
# ptrace 101, openat 257) anchor the table; the remaining ids follow Tracee's enumeration order
# (v0.8.3/v0.9 pkg/events/events.go) as best known. From security_sb_mount (730) on they assume
# security_socket_setsockopt (729) precedes it, as in v0.9.0; a release without it shifts them by one.
EVENTS: tuple[EventDef, ...] = (
    # -- syscalls (x86_64 numbers) ----------------------------------------------------------------
    _syscall(1, "write", ("syscalls", "fs", "fs_read_write"),
             "int fd", "void* buf", "size_t count"),
    _syscall(2, "open", _FS_OPS, "const char* pathname", "int flags", "mode_t mode"),
    _syscall(3, "close", _FS_OPS, "int fd"),
    _syscall(9, "mmap", _PROC_MEM, "void* addr", "size_t length", "int prot", "int flags",
             "int fd", "off_t off"),
    _syscall(10, "mprotect", _PROC_MEM, "void* addr", "size_t len", "int prot"),
    _syscall(21, "access", _FILE_ATTR, "const char* pathname", "int mode"),
    _syscall(32, "dup", _FD_OPS, "int oldfd"),
    _syscall(33, "dup2", ("syscalls", "fs", "fs_fd_ops"), "int oldfd", "int newfd"),
    _syscall(41, "socket", _NET_SOCK, "int domain", "int type", "int protocol"),
    _syscall(42, "connect", _NET_SOCK, "int sockfd", "struct sockaddr* addr", "int addrlen"),
    _syscall(43, "accept", _NET_SOCK, "int sockfd", "struct sockaddr* addr", "int* addrlen"),
    _syscall(49, "bind", _NET_SOCK, "int sockfd", "struct sockaddr* addr", "int addrlen"),
    _syscall(50, "listen", _NET_SOCK, "int sockfd", "int backlog"),
    _syscall(56, "clone", _PROC_LIFE, "unsigned long flags", "void* stack", "int* parent_tid",
             "int* child_tid", "unsigned long tls"),
    _syscall(57, "fork", _PROC_LIFE),
    _syscall(58, "vfork", _PROC_LIFE),
    _syscall(59, "execve", _PROC_LIFE, "const char* pathname", "const char*const* argv",
             "const char*const* envp"),
    _syscall(60, "exit", ("syscalls", "proc", "proc_life"), "int status"),
    _syscall(62, "kill", ("default", "syscalls", "signals"), "pid_t pid", "int sig"),
    _syscall(82, "rename", ("syscalls", "fs", "fs_file_ops"), "const char* oldpath",
             "const char* newpath"),
    _syscall(85, "creat", _FS_OPS, "const char* pathname", "mode_t mode"),
    _syscall(87, "unlink", _LINK_OPS, "const char* pathname"),
    _syscall(88, "symlink", _LINK_OPS, "const char* target", "const char* linkpath"),
    _syscall(90, "chmod", _FILE_ATTR, "const char* pathname", "mode_t mode"),
    _syscall(91, "fchmod", _FILE_ATTR, "int fd", "mode_t mode"),
    _syscall(101, "ptrace", ("default", "syscalls", "proc"), "long request", "pid_t pid",
             "void* addr", "void* data"),
    _syscall(105, "setuid", _PROC_IDS, "uid_t uid"),
    _syscall(106, "setgid", _PROC_IDS, "gid_t gid"),
    _syscall(133, "mknod", _FS_OPS, "const char* pathname", "mode_t mode", "dev_t dev"),
    _syscall(157, "prctl", ("default", "syscalls", "proc"), "int option", "unsigned long arg2",
             "unsigned long arg3", "unsigned long arg4", "unsigned long arg5"),
    _syscall(161, "chroot", ("syscalls", "fs", "fs_dir_ops"), "const char* path"),
    _syscall(165, "mount", ("default", "syscalls", "fs"), "const char* source",
             "const char* target", "const char* filesystemtype", "unsigned long mountflags",
             "const void* data"),
    _syscall(166, "umount2", ("default", "syscalls", "fs"), "const char* target", "int flags"),
    _syscall(175, "init_module", _MODULE, "void* module_image", "unsigned long len",
             "const char* param_values"),
    _syscall(176, "delete_module", _MODULE, "const char* name", "int flags"),
    _syscall(231, "exit_group", ("syscalls", "proc", "proc_life"), "int status"),
    _syscall(257, "openat", _FS_OPS, "int dirfd", "const char* pathname", "int flags",
             "mode_t mode"),
    _syscall(259, "mknodat", _FS_OPS, "int dirfd", "const char* pathname", "mode_t mode",
             "dev_t dev"),
    _syscall(263, "unlinkat", _LINK_OPS, "int dirfd", "const char* pathname", "int flags"),
    _syscall(264, "renameat", ("syscalls", "fs", "fs_file_ops"), "int olddirfd",
             "const char* oldpath", "int newdirfd", "const char* newpath"),
    _syscall(266, "symlinkat", _LINK_OPS, "const char* target", "int newdirfd",
             "const char* linkpath"),
    _syscall(268, "fchmodat", _FILE_ATTR, "int dirfd", "const char* pathname", "mode_t mode",
             "int flags"),
    _syscall(269, "faccessat", _FILE_ATTR, "int dirfd", "const char* pathname", "int mode",
             "int flags"),
    _syscall(272, "unshare", ("syscalls", "proc"), "int flags"),
    _syscall(288, "accept4", _NET_SOCK, "int sockfd", "struct sockaddr* addr", "int* addrlen",
             "int flags"),
    _syscall(292, "dup3", _FD_OPS, "int oldfd", "int newfd", "int flags"),
    _syscall(308, "setns", ("syscalls", "proc"), "int fd", "int nstype"),
    _syscall(310, "process_vm_readv", ("default", "syscalls", "proc"), "pid_t pid",
             "const struct iovec* local_iov", "unsigned long liovcnt",
             "const struct iovec* remote_iov", "unsigned long riovcnt", "unsigned long flags"),
    _syscall(311, "process_vm_writev", ("default", "syscalls", "proc"), "pid_t pid",
             "const struct iovec* local_iov", "unsigned long liovcnt",
             "const struct iovec* remote_iov", "unsigned long riovcnt", "unsigned long flags"),
    _syscall(313, "finit_module", _MODULE, "int fd", "const char* param_values", "int flags"),
    _syscall(316, "renameat2", ("syscalls", "fs", "fs_file_ops"), "int olddirfd",
             "const char* oldpath", "int newdirfd", "const char* newpath", "unsigned int flags"),
    _syscall(319, "memfd_create", _FS_OPS, "const char* name", "unsigned int flags"),
    _syscall(321, "bpf", ("default", "syscalls", "system"), "int cmd", "union bpf_attr* attr",
             "unsigned int size"),
    _syscall(322, "execveat", _PROC_LIFE, "int dirfd", "const char* pathname",
             "const char*const* argv", "const char*const* envp", "int flags"),
    _syscall(329, "pkey_mprotect", ("default", "syscalls", "proc", "proc_mem"), "void* addr",
             "size_t len", "int prot", "int pkey"),
    _syscall(435, "clone3", _PROC_LIFE, "struct clone_args* cl_args", "size_t size"),
    _syscall(437, "openat2", _FS_OPS, "int dirfd", "const char* pathname",
             "struct open_how* how", "size_t size"),
    # -- kernel events (Tracee's 700 range) -------------------------------------------------------
    _event(704, "sys_enter", (), "raw tracepoint sys_enter", "int syscall"),
    _event(705, "sys_exit", (), "raw tracepoint sys_exit", "int syscall"),
    _event(706, "sched_process_fork", (), "raw tracepoint sched_process_fork",
           "int parent_tid", "int parent_ns_tid", "int parent_pid", "int parent_ns_pid",
           "int child_tid", "int child_ns_tid", "int child_pid", "int child_ns_pid",
           "unsigned long start_time"),
    _event(707, "sched_process_exec", ("default", "proc"), "raw tracepoint sched_process_exec",
           "const char* cmdpath", "const char* pathname", "const char** argv",
           "const char** env", "dev_t dev", "unsigned long inode", "int invoked_from_kernel",
           "unsigned long ctime", "umode_t stdin_type", "umode_t inode_mode",
           "const char* interp", "const char* interpreter_pathname", "dev_t interpreter_dev",
           "unsigned long interpreter_inode", "unsigned long interpreter_ctime"),
    _event(708, "sched_process_exit", ("default", "proc", "proc_life"),
           "raw tracepoint sched_process_exit", "long exit_code", "bool process_group_exit"),
    _event(709, "sched_switch", (), "raw tracepoint sched_switch", "int cpu", "int prev_tid",
           "const char* prev_comm", "int next_tid", "const char* next_comm"),
    _event(714, "mem_prot_alert", (),
           "derived from syscalls:sys_enter_mmap/sys_enter_mprotect (+pkey_mprotect): "
           "protection transitions per mapping", "u32 alert"),
    _event(717, "magic_write", (),
           "derived from syscalls:sys_enter_write (+pwrite64, writev, pwritev) at file offset 0: "
           "header bytes", "const char* pathname", "bytes bytes", "dev_t dev",
           "unsigned long inode"),
    _event(718, "cgroup_attach_task", (), "tracepoint cgroup:cgroup_attach_task",
           "const char* cgroup_path", "const char* comm", "pid_t pid"),
    _event(719, "cgroup_mkdir", (), "tracepoint cgroup:cgroup_mkdir", "u64 cgroup_id",
           "const char* cgroup_path", "u32 hierarchy_id"),
    _event(720, "cgroup_rmdir", (), "tracepoint cgroup:cgroup_rmdir", "u64 cgroup_id",
           "const char* cgroup_path", "u32 hierarchy_id"),
    _event(721, "security_bprm_check", ("default", "lsm_hooks", "proc", "proc_life"),
           "derived from syscalls:sys_enter_execve (+execveat): path resolved at entry, "
           "before the new image replaces comm", "const char* pathname", "dev_t dev",
           "unsigned long inode"),
    _event(722, "security_file_open", ("default", "lsm_hooks", "fs", "fs_file_ops"),
           "derived from syscalls:sys_enter_openat (+openat2, open, creat) at exit",
           "const char* pathname", "int flags", "dev_t dev", "unsigned long inode",
           "unsigned long ctime", "const char* syscall_pathname", "int syscall"),
    _event(723, "security_inode_unlink", ("default", "lsm_hooks", "fs", "fs_file_ops"),
           "derived from syscalls:sys_enter_unlink (+unlinkat) at exit", "const char* pathname",
           "unsigned long inode", "dev_t dev", "u64 ctime"),
    _event(724, "security_socket_create", ("default", "lsm_hooks", "net", "net_sock"),
           "derived from syscalls:sys_enter_socket", "int family", "int type", "int protocol",
           "int kern"),
    _event(725, "security_socket_listen", ("default", "lsm_hooks", "net", "net_sock"),
           "derived from syscalls:sys_enter_listen", "int sockfd",
           "struct sockaddr* local_addr", "int backlog"),
    _event(726, "security_socket_connect", ("default", "lsm_hooks", "net", "net_sock"),
           "derived from syscalls:sys_enter_connect (address read at entry)", "int sockfd",
           "struct sockaddr* remote_addr"),
    _event(727, "security_socket_accept", ("default", "lsm_hooks", "net", "net_sock"),
           "derived from syscalls:sys_enter_accept (+accept4)", "int sockfd",
           "struct sockaddr* local_addr"),
    _event(728, "security_socket_bind", ("default", "lsm_hooks", "net", "net_sock"),
           "derived from syscalls:sys_enter_bind", "int sockfd", "struct sockaddr* local_addr"),
    _event(730, "security_sb_mount", ("default", "lsm_hooks", "fs"),
           "derived from syscalls:sys_enter_mount", "const char* dev_name", "const char* path",
           "const char* type", "unsigned long flags"),
    _event(731, "security_bpf", ("lsm_hooks",), "derived from syscalls:sys_enter_bpf",
           "int cmd"),
    _event(733, "security_kernel_read_file", ("lsm_hooks",),
           "derived from syscalls:sys_enter_finit_module (type kernel-module) "
           "(+kexec_file_load: kexec-image, kexec-initramfs)", "const char* pathname",
           "dev_t dev", "unsigned long inode", "int type", "unsigned long ctime"),
    _event(734, "security_inode_mknod", ("lsm_hooks",),
           "derived from syscalls:sys_enter_mknod (+mknodat)", "const char* file_name",
           "umode_t mode", "dev_t dev"),
    _event(736, "security_inode_symlink", ("lsm_hooks", "fs", "fs_file_ops"),
           "derived from syscalls:sys_enter_symlink (+symlinkat)", "const char* linkpath",
           "const char* target"),
    _event(737, "security_mmap_file", ("lsm_hooks", "fs", "fs_file_ops", "proc", "proc_mem"),
           "derived from syscalls:sys_enter_mmap (file-backed mappings)", "const char* pathname",
           "int flags", "dev_t dev", "unsigned long inode", "unsigned long ctime", "int prot",
           "int mmap_flags", "int syscall"),
    _event(738, "security_file_mprotect", ("lsm_hooks", "proc", "proc_mem", "fs", "fs_file_ops"),
           "derived from syscalls:sys_enter_mprotect (+pkey_mprotect)", "const char* pathname",
           "int prot", "unsigned long ctime"),
    _event(739, "socket_dup", (),
           "derived from syscalls:sys_exit_dup (+dup2, dup3) when oldfd is a socket",
           "int oldfd", "int newfd", "struct sockaddr* remote_addr"),
    _event(755, "hooked_proc_fops", (),
           "derived: /proc file_operations scan (user space, /proc/kallsyms + BPF read)",
           "[]trace.HookedSymbolData hooked_fops_pointers"),
    _event(757, "task_rename", ("proc",), "tracepoint task:task_rename",
           "const char* old_name", "const char* new_name", "int syscall"),
    _event(758, "security_inode_rename", (),
           "derived from syscalls:sys_enter_rename (+renameat, renameat2) at exit",
           "const char* old_path", "const char* new_path"),
    # -- user-space events (Tracee's 2000 range) --------------------------------------------------
    _event(2000, "init_namespaces", (), "derived: user space, /proc/1/ns links at start-up",
           "u32 cgroup", "u32 ipc", "u32 mnt", "u32 net", "u32 pid", "u32 pid_for_children",
           "u32 time", "u32 time_for_children", "u32 user", "u32 uts"),
    _event(2001, "container_create", (), "derived from tracepoint cgroup:cgroup_mkdir",
           "const char* runtime", "const char* container_id", "unsigned long ctime",
           "const char* container_image", "const char* container_name", "const char* pod_name",
           "const char* pod_namespace", "const char* pod_uid"),
    _event(2002, "container_remove", (), "derived from tracepoint cgroup:cgroup_rmdir",
           "const char* runtime", "const char* container_id"),
    _event(2003, "existing_container", (),
           "derived: user space, cgroup filesystem scan at start-up", "const char* runtime",
           "const char* container_id", "unsigned long ctime", "const char* container_image",
           "const char* container_name", "const char* pod_name", "const char* pod_namespace",
           "const char* pod_uid"),
    _event(2004, "hooked_syscalls", (),
           "derived: syscall table scan (user space, /proc/kallsyms + BPF read)",
           "[]trace.HookedSymbolData hooked_syscalls"),
)

# Where the eBPF input (plugins/tracee-input-ebpf) takes each event on kernels that allow only
# tracepoints and raw tracepoints (no kprobes, no BPF-LSM): the LSM-hook events are derived.
_TRACEPOINT_SOURCES: dict[str, str] = {
    "execve": "tracepoint syscalls:sys_enter_execve (emitted at entry, returnValue 0, as Tracee); "
              "strings on pages not yet present: read from the new image at raw tracepoint "
              "sched_process_exec, or at syscalls:sys_exit_execve with its result if the exec fails",
    "close": "tracepoint syscalls:sys_exit_close (arguments from the task's pt_regs)",
    "dup": "tracepoint syscalls:sys_exit_dup",
    "dup2": "tracepoint syscalls:sys_exit_dup2",
    "dup3": "tracepoint syscalls:sys_exit_dup3",
    "ptrace": "tracepoint syscalls:sys_exit_ptrace",
    "process_vm_writev": "tracepoint syscalls:sys_exit_process_vm_writev",
    "init_module": "tracepoint syscalls:sys_exit_init_module, or raw tracepoint sys_exit when the "
                   "kernel has no module support (attempts fail with ENOSYS)",
    "sched_process_exec": "raw tracepoint sched_process_exec (task, bprm; argv/env from mm)",
    "sched_process_exit": "tracepoint sched:sched_process_exit",
    "security_bprm_check": "raw tracepoint sched_process_exec (resolved path of the new image) with "
                           "the comm saved at syscalls:sys_enter_execve/execveat; successful execs only",
    "security_file_open": "tracepoints syscalls:sys_exit_openat/open/creat/openat2: successful opens "
                          "only, path/flags/inode from the new fd's struct file",
    "security_socket_connect": "tracepoint syscalls:sys_exit_connect: every attempt, address read "
                               "from the caller; returnValue is connect's result",
    "security_sb_mount": "tracepoint syscalls:sys_exit_mount: every attempt (the LSM hook also runs "
                         "before the permission check); returnValue is mount's result",
    "security_kernel_read_file": "finit_module: tracepoint syscalls:sys_exit_finit_module or raw "
                                 "tracepoint sys_exit; type kernel-module, file from the fd; attempts",
    "magic_write": "tracepoints syscalls:sys_enter_write/pwrite64/writev/pwritev on a regular file "
                   "at offset 0: first 20 bytes",
    "mem_prot_alert": "tracepoints syscalls:sys_exit_mmap/mprotect/pkey_mprotect: protections "
                      "tracked per (process, start address) in a BPF map",
    "hooked_syscalls": "user space: sys_call_table entries (read with a BPF helper) outside "
                       "kernel text per /proc/kallsyms; at start, on SIGUSR1, every --ebpf-hooks-interval",
}
EVENTS = tuple(replace(e, source=_TRACEPOINT_SOURCES.get(e.name, e.source)) for e in EVENTS)

_BY_NAME: dict[str, EventDef] = {e.name: e for e in EVENTS}
_BY_ID: dict[int, EventDef] = {e.id: e for e in EVENTS}


def _index_sets(events: tuple[EventDef, ...]) -> dict[str, list[str]]:
    index: dict[str, list[str]] = {}
    for event in events:
        for set_name in event.sets:
            index.setdefault(set_name, []).append(event.name)
    for names in index.values():
        names.sort()
    return index


_BY_SET: dict[str, list[str]] = _index_sets(EVENTS)


def by_name(name: str) -> EventDef | None:
    """The event called `name`, or None."""
    return _BY_NAME.get(name)


def by_id(id: int) -> EventDef | None:  # noqa: A002 - matches Tracee's field name
    """The event with Tracee id `id`, or None."""
    return _BY_ID.get(id)


def names_in_set(set_name: str) -> list[str]:
    """Names of the events in the set `set_name` (sorted; empty for an unknown set)."""
    return list(_BY_SET.get(set_name, ()))
