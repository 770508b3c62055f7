"""The events this input produces and where each comes from: the one list the program, the record
decoder and `tracee trace --list` derive from (their ids, names and arguments are the catalog's).

The kernel here offers tracepoints and raw tracepoints only (no kprobes, no BPF-LSM), so the
events Tracee took from LSM hooks are derived from syscall tracepoints.
"""

from __future__ import annotations

__all__ = ["PRODUCED", "RECORDED", "SOURCES", "USER_SPACE"]

# event name -> where it comes from (what `tracee trace --list` prints)
SOURCES: dict[str, str] = {
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

PRODUCED: frozenset[str] = frozenset(SOURCES)
# Made in user space, not decoded from a kernel record (the program still compiles a helper for it).
USER_SPACE: frozenset[str] = frozenset({"hooked_syscalls"})
# The events that arrive as kernel records: decode.py has a payload decoder for each.
RECORDED: frozenset[str] = PRODUCED - USER_SPACE
