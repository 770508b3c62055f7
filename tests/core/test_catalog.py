"""Tests for the event catalog: Tracee's ids, names, argument definitions, sets and lookups."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from importlib import resources
from pathlib import Path

import pytest

from tracee.events import catalog, decoders
from tracee.events.catalog import ArgDef, EventDef

# Every event TRC-1 ... TRC-16 select (TRACEE.md §3), plus the v0.9 additions they moved to.
SIGNATURE_EVENTS = [
    "security_socket_connect", "dup", "dup2", "dup3", "close", "sched_process_exit", "ptrace",
    "security_file_open", "process_vm_writev", "mem_prot_alert", "sched_process_exec",
    "init_module", "finit_module", "security_kernel_read_file", "execve", "magic_write",
    "security_sb_mount", "security_bprm_check", "hooked_syscalls", "hooked_proc_fops",
    "security_inode_rename", "socket_dup",
]

ALSO_REQUIRED = ["sched_process_fork", "open", "openat", "openat2", "connect", "mmap", "mprotect",
                 "memfd_create", "mount", "execveat", "socket"]


def args_of(name: str) -> list[tuple[str, str]]:
    event = catalog.by_name(name)
    assert event is not None, name
    return [(a.name, a.type) for a in event.args]


@pytest.mark.parametrize("name", SIGNATURE_EVENTS + ALSO_REQUIRED)
def test_required_events_are_present(name):
    event = catalog.by_name(name)
    assert isinstance(event, EventDef)
    assert event.name == name
    assert catalog.by_id(event.id) is event


@pytest.mark.parametrize(("name", "event_id"), [
    # the ids printed in Tracee's own v0.8 sample events
    ("sched_process_exec", 707), ("security_file_open", 722), ("ptrace", 101), ("openat", 257),
    # syscalls: x86_64 numbers
    ("execve", 59), ("close", 3), ("dup", 32), ("dup2", 33), ("dup3", 292), ("open", 2),
    ("connect", 42), ("socket", 41), ("mmap", 9), ("mprotect", 10), ("mount", 165),
    ("init_module", 175), ("finit_module", 313), ("process_vm_writev", 311),
    ("memfd_create", 319), ("execveat", 322), ("openat2", 437), ("pkey_mprotect", 329),
    # Tracee's enumeration from 700, and user-space events from 2000
    ("sys_enter", 704), ("sys_exit", 705), ("sched_process_fork", 706),
    ("sched_process_exit", 708), ("mem_prot_alert", 714), ("magic_write", 717),
    ("security_bprm_check", 721), ("security_socket_connect", 726),
    ("security_sb_mount", 730), ("security_kernel_read_file", 733), ("socket_dup", 739),
    ("hooked_proc_fops", 755), ("security_inode_rename", 759), ("hooked_syscalls", 2004),
])
def test_ids(name, event_id):
    assert catalog.by_name(name).id == event_id
    assert catalog.by_id(event_id).name == name


def test_argument_definitions_match_tracee():
    assert args_of("security_socket_connect") == [("sockfd", "int"),
                                                  ("remote_addr", "struct sockaddr*")]
    assert args_of("dup") == [("oldfd", "int")]
    assert args_of("dup2") == [("oldfd", "int"), ("newfd", "int")]
    assert args_of("dup3") == [("oldfd", "int"), ("newfd", "int"), ("flags", "int")]
    assert args_of("close") == [("fd", "int")]
    assert args_of("sched_process_exit") == [("exit_code", "long"), ("process_group_exit", "bool")]
    assert args_of("ptrace") == [("request", "long"), ("pid", "pid_t"), ("addr", "void*"),
                                 ("data", "void*")]
    assert args_of("security_file_open") == [
        ("pathname", "const char*"), ("flags", "int"), ("dev", "dev_t"),
        ("inode", "unsigned long"), ("ctime", "unsigned long"),
        ("syscall_pathname", "const char*"), ("syscall", "int")]
    assert [n for n, _ in args_of("process_vm_writev")] == [
        "pid", "local_iov", "liovcnt", "remote_iov", "riovcnt", "flags"]
    assert args_of("process_vm_writev")[0] == ("pid", "pid_t")
    assert args_of("mem_prot_alert") == [("alert", "u32")]
    assert [n for n, _ in args_of("sched_process_exec")] == [
        "cmdpath", "pathname", "argv", "env", "dev", "inode", "invoked_from_kernel", "ctime",
        "stdin_type", "inode_mode", "interp", "interpreter_pathname", "interpreter_dev",
        "interpreter_inode", "interpreter_ctime"]
    assert dict(args_of("sched_process_exec"))["argv"] == "const char**"
    assert dict(args_of("sched_process_exec"))["stdin_type"] == "umode_t"
    assert args_of("init_module") == [("module_image", "void*"), ("len", "unsigned long"),
                                      ("param_values", "const char*")]
    assert args_of("finit_module") == [("fd", "int"), ("param_values", "const char*"),
                                       ("flags", "int")]
    assert args_of("security_kernel_read_file") == [
        ("pathname", "const char*"), ("dev", "dev_t"), ("inode", "unsigned long"),
        ("type", "int"), ("ctime", "unsigned long")]
    assert args_of("execve") == [("pathname", "const char*"), ("argv", "const char*const*"),
                                 ("envp", "const char*const*")]
    assert args_of("magic_write") == [("pathname", "const char*"), ("bytes", "bytes"),
                                      ("dev", "dev_t"), ("inode", "unsigned long")]
    assert args_of("security_sb_mount") == [("dev_name", "const char*"), ("path", "const char*"),
                                            ("type", "const char*"), ("flags", "unsigned long")]
    assert args_of("security_bprm_check") == [("pathname", "const char*"), ("dev", "dev_t"),
                                              ("inode", "unsigned long")]
    assert args_of("hooked_syscalls") == [("hooked_syscalls", "[]trace.HookedSymbolData")]
    assert args_of("hooked_proc_fops") == [("hooked_fops_pointers", "[]trace.HookedSymbolData")]
    assert args_of("security_inode_rename") == [("old_path", "const char*"),
                                                ("new_path", "const char*")]
    assert args_of("socket_dup") == [("oldfd", "int"), ("newfd", "int"),
                                     ("remote_addr", "struct sockaddr*")]
    assert args_of("openat") == [("dirfd", "int"), ("pathname", "const char*"), ("flags", "int"),
                                 ("mode", "mode_t")]
    assert args_of("socket") == [("domain", "int"), ("type", "int"), ("protocol", "int")]


def test_ids_and_names_are_unique():
    ids = [e.id for e in catalog.EVENTS]
    names = [e.name for e in catalog.EVENTS]
    assert len(ids) == len(set(ids))
    assert len(names) == len(set(names))


def test_every_event_is_well_formed():
    assert isinstance(catalog.EVENTS, tuple)
    for event in catalog.EVENTS:
        assert isinstance(event.args, tuple) and isinstance(event.sets, tuple)
        assert all(isinstance(a, ArgDef) and a.name and a.type for a in event.args), event.name
        assert len({a.name for a in event.args}) == len(event.args), event.name
        assert isinstance(event.syscall, bool) and isinstance(event.internal, bool), event.name
        assert catalog.by_name(event.name) is event
        assert catalog.by_id(event.id) is event


def test_syscall_events_are_numbered_like_x86_64():
    syscall_events = [e for e in catalog.EVENTS if e.syscall]
    assert len(syscall_events) == 446
    for event in syscall_events:
        assert "syscalls" in event.sets, event.name
        if "32bit_unique" in event.sets:  # no x86-64 number: Tracee numbers them from 3000
            assert 3000 <= event.id < 4000, event.name
        else:
            assert event.id < 700, event.name
            assert decoders.syscall_name(event.id) == event.name


def test_non_syscall_events_use_tracees_ranges():
    for event in catalog.EVENTS:
        if not event.syscall:
            assert "syscalls" not in event.sets, event.name
            assert 700 <= event.id < 800 or 2000 <= event.id < 3000 or 4000 <= event.id < 5000, event.name


def test_internal_events_are_tracees_own():
    internal = sorted(e.name for e in catalog.EVENTS if e.internal)
    assert internal == ["capture_exec", "capture_file_write", "capture_mem", "capture_module",
                        "capture_pcap", "capture_profile", "print_net_seq_ops", "print_syscall_table"]
    assert catalog.SELECTABLE == {e.name for e in catalog.EVENTS} - set(internal)


def test_counts_of_tracee_v0_8_3():
    assert len(catalog.EVENTS) == 517
    assert len(catalog.SYSCALLS) == 446
    assert len(catalog.SELECTABLE) == 509
    assert len(catalog.DEFAULT_SET) == 75
    assert catalog.SYSCALLS == set(catalog.names_in_set("syscalls"))
    assert catalog.DEFAULT_SET == set(catalog.names_in_set("default"))
    assert [e.id for e in catalog.EVENTS] == sorted(e.id for e in catalog.EVENTS)


@pytest.mark.parametrize(("name", "event_id", "sets", "args"), [
    # spot values of Tracee v0.8.3's pkg/events that hold without the reference file
    ("read", 0, ("syscalls", "fs", "fs_read_write"), [("fd", "int"), ("buf", "void*"), ("count", "size_t")]),
    ("process_mrelease", 448, ("syscalls",), [("pidfd", "int"), ("flags", "unsigned int")]),
    ("waitpid", 3000, ("syscalls", "32bit_unique"), [("pid", "pid_t"), ("status", "int*"), ("options", "int")]),
    ("net_packet", 700, ("network_events",), [("metadata", "trace.PktMeta")]),
    # the two the hand-written catalog had wrong: the unlink device argument and the rename id
    ("security_inode_unlink", 723, ("default", "lsm_hooks", "fs", "fs_file_ops"),
     [("pathname", "const char*"), ("inode", "unsigned long"), ("device", "dev_t"), ("ctime", "u64")]),
    ("security_inode_rename", 759, (), [("old_path", "const char*"), ("new_path", "const char*")]),
    ("hooked_seq_ops", 2005, (), [("hooked_seq_ops", "map[string]trace.HookedSymbolData")]),
    ("capture_pcap", 4005, (), []),
])
def test_spot_values(name, event_id, sets, args):
    event = catalog.by_name(name)
    assert (event.id, event.sets, [(a.name, a.type) for a in event.args]) == (event_id, sets, args)


# The reference lives beside the repository (../shared/reference, or TRACEE_REFERENCE_DIR), not in
# it: CI has it, a bare clone may not (then the counts and spot values above still hold).
_REFERENCE_DIR = Path(os.environ.get("TRACEE_REFERENCE_DIR")
                      or Path(__file__).resolve().parents[2].parent / "shared" / "reference")
REFERENCE = _REFERENCE_DIR / "tracee" / "events-v0.8.3.json"


@pytest.mark.skipif(not REFERENCE.exists(), reason=f"reference file not present: {REFERENCE}")
def test_catalog_holds_every_event_of_the_reference():
    reference = json.loads(REFERENCE.read_text())
    assert reference["about"]["counts"] == {"events": 517, "syscalls": 446, "selectable": 509, "default_set": 75}
    assert len(catalog.EVENTS) == len(reference["events"])
    for ref, event in zip(reference["events"], catalog.EVENTS):
        expected = EventDef(ref["id"], ref["name"], tuple(ArgDef(a["name"], a["type"]) for a in ref["args"]),
                            tuple(ref["sets"]), ref["syscall"], ref["internal"])
        assert event == expected, ref["name"]
    # the shipped data is the reference itself, byte for byte
    assert resources.files("tracee.events").joinpath("events.json").read_bytes() == REFERENCE.read_bytes()


def test_events_json_is_the_only_source():
    data = json.loads(resources.files("tracee.events").joinpath("events.json").read_bytes())
    assert [(e["id"], e["name"]) for e in data["events"]] == [(e.id, e.name) for e in catalog.EVENTS]
    assert data["about"]["counts"]["events"] == len(catalog.EVENTS)


def test_sets():
    lsm = catalog.names_in_set("lsm_hooks")
    assert "security_file_open" in lsm and "security_socket_connect" in lsm
    assert "execve" not in lsm
    assert lsm == sorted(lsm)
    default = catalog.names_in_set("default")
    for name in ("execve", "sched_process_exec", "security_file_open", "ptrace", "dup", "close"):
        assert name in default
    assert "dup2" not in default  # Tracee leaves dup2 out of the default set
    assert "openat" in catalog.names_in_set("fs")
    assert "connect" in catalog.names_in_set("net")
    assert "sched_process_exec" in catalog.names_in_set("proc")
    assert set(catalog.names_in_set("syscalls")) == {e.name for e in catalog.EVENTS if e.syscall}
    assert catalog.names_in_set("no-such-set") == []


def test_names_in_set_returns_a_copy():
    first = catalog.names_in_set("lsm_hooks")
    first.clear()
    assert catalog.names_in_set("lsm_hooks")


def test_unknown_lookups():
    assert catalog.by_name("no_such_event") is None
    assert catalog.by_name("") is None
    assert catalog.by_id(99999) is None
    assert catalog.by_id(-1) is None


def test_definitions_are_frozen():
    event = catalog.by_name("ptrace")
    with pytest.raises(dataclasses.FrozenInstanceError):
        event.id = 1  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        event.args[0].name = "x"  # type: ignore[misc]
    assert hash(event) == hash(catalog.by_id(101))


def test_tracee_bpf_is_a_deprecated_alias():
    warned = subprocess.run([sys.executable, "-W", "error::DeprecationWarning", "-c", "import tracee.bpf"],
                            capture_output=True, text=True)
    assert warned.returncode == 1
    assert "DeprecationWarning: tracee.bpf is deprecated" in warned.stderr
    assert "import tracee.events" in warned.stderr
    code = ("import warnings\n"
            "with warnings.catch_warnings(record=True) as caught:\n"
            "    warnings.simplefilter('always')\n"
            "    import tracee.bpf, tracee.bpf.catalog\n"
            "    from tracee.bpf import decoders\n"
            "    from tracee.bpf.catalog import by_name\n"
            "import tracee.events.catalog, tracee.events.decoders\n"
            "assert tracee.bpf.catalog is tracee.events.catalog\n"
            "assert decoders is tracee.events.decoders\n"
            "assert by_name('ptrace').id == 101\n"
            "print(sum(issubclass(w.category, DeprecationWarning) for w in caught))\n")
    once = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert once.returncode == 0, once.stderr
    assert once.stdout.strip() == "1"


def test_tracee_events_imports_without_warnings():
    run = subprocess.run([sys.executable, "-W", "error", "-c",
                          "import tracee.events; from tracee.events import catalog, decoders; "
                          "print(len(catalog.EVENTS), decoders.syscall_name(59))"], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == ["517", "execve"]
