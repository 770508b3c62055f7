"""Pure parts: header fixes, container ids, syscall-table comparison, event options (no root)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tracee_input_ebpf import btf_headers
from tracee_input_ebpf.containers import ContainerTracker, container_id_from_path
from tracee_input_ebpf.hooks import KernelSymbols, find_hooked, syscall_names
from tracee_input_ebpf.program import SUPPORTED_EVENTS
from tracee_input_ebpf.source import _parse_events, options_from_mapping

CID = "4f1c1b5ac05ea8d65aa8b2cd1e1ac7a53cd2b21f0b5ed9ac5c8d6d4f2a7b9e01"

VMLINUX_H = """\
struct mm_struct {
	struct {
		long unsigned int arg_start;
		long: 64;
		long: 64;
		long unsigned int env_start;
	};
};

enum rw_hint {
	WRITE_LIFE_NOT_SET = 0,
	WRITE_LIFE_NONE = 1,
};

enum big {
	BIG_A = 0,
};
"""
RAW = """\
[10] ENUM 'rw_hint' encoding=UNSIGNED size=1 vlen=2
[11] ENUM 'big' encoding=UNSIGNED size=4 vlen=1
"""


def test_fix_vmlinux_h_splits_padding_runs_and_packs_small_enums() -> None:
    fixed = btf_headers.fix_vmlinux_h(VMLINUX_H, RAW)
    assert fixed.count("long: 0;") == 2
    assert "\t\tlong: 64;\n\t\tlong: 0;\n\t\tlong: 64;\n\t\tlong: 0;" in fixed
    assert "WRITE_LIFE_NONE = 1,\n} __attribute__((packed));" in fixed
    assert "BIG_A = 0,\n};" in fixed  # 4-byte enums are left alone


@pytest.mark.parametrize("path, expected", [
    (f"/docker/{CID}", CID),
    (f"/system.slice/docker-{CID}.scope", CID),
    (f"/kubepods.slice/kubepods-burstable.slice/cri-containerd-{CID}.scope", CID),
    (f"/kubepods/burstable/pod1234/{CID}", CID),
    (f"/machine.slice/libpod-{CID}.scope/container", CID),
    (f"/crio-{CID}.scope", CID),
    (f"/machine.slice/libpod-conmon-{CID}.scope", ""),
    ("/user.slice/user-1000.slice/session-2.scope", ""),
    ("/process_api/8232a1cf01a8606b0b7a1b23a1f5c727", ""),
    ("/", ""),
])
def test_container_id_from_cgroup_path(path: str, expected: str) -> None:
    assert container_id_from_path(path) == expected


def test_container_tracker_marks_existing_containers_started(tmp_path: Path) -> None:
    existing = tmp_path / "docker" / CID
    existing.mkdir(parents=True)
    host = tmp_path / "user.slice"
    host.mkdir()
    tracker = ContainerTracker(tmp_path, host_mnt_ns=111)
    assert tracker.container_id(existing.stat().st_ino) == CID
    assert existing.stat().st_ino in tracker.started
    assert tracker.container_id(host.stat().st_ino) == ""
    # A container created after the start is found on a miss and starts at its first exec
    # in another mount namespace.
    new_id = "ab" * 32
    new = tmp_path / "docker" / new_id
    new.mkdir()
    ino = new.stat().st_ino
    assert tracker.container_id(ino) == new_id
    assert ino not in tracker.started
    tracker.on_exec(ino, mnt_ns=111)  # runc in the host's mount namespace: not yet
    assert ino not in tracker.started
    tracker.on_exec(ino, mnt_ns=222)
    assert ino in tracker.started


def test_container_tracker_uses_the_kernels_record_and_does_not_cache_misses(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    recorded = {1001: f"/docker/{CID}",                      # made after the start, already removed
                1002: "x" * 20 + f"-slice/kubepods/pod1/{CID}"}  # the kernel kept the tail of a long path
    asked: list[int] = []

    def kernel_path(cgroup_id: int) -> str | None:
        asked.append(cgroup_id)
        return recorded.pop(cgroup_id, None)  # the kernel side forgets what it handed over
    tracker = ContainerTracker(tmp_path, host_mnt_ns=111, kernel_path=kernel_path)
    assert tracker.container_id(1001) == CID and tracker.path(1001) == f"/docker/{CID}"
    assert tracker.container_id(1001) == CID  # cached
    assert tracker.container_id(1002) == CID and tracker.path(1002) == f"/kubepods/pod1/{CID}"
    tracker.on_exec(1001, mnt_ns=222)
    assert 1001 in tracker.started
    # An id known nowhere is "" now, looked for again later (not cached as host forever).
    walks = tracker.walks
    assert tracker.container_id(4242) == "" and tracker.walks == walks + 1
    recorded[4242] = "/docker/" + "cd" * 32
    assert tracker.container_id(4242) == "" and tracker.walks == walks + 1  # not again at once
    monkeypatch.setattr(ContainerTracker, "RETRY_SECONDS", 0.0)
    assert tracker.container_id(4242) == "cd" * 32
    assert asked.count(1001) == 1


def test_find_hooked_reports_entries_outside_kernel_text() -> None:
    text = (0xFFFFFFFF81000000, 0xFFFFFFFF82000000)
    names = syscall_names()
    table = [0xFFFFFFFF81100000 + 16 * i for i in range(len(names))]
    assert find_hooked(table, names, text, lambda a: "x") == []
    table[62] = 0xFFFFFFFFC0A01000   # kill -> a module
    table[217] = 0xFFFFFFFFC0FF0000  # getdents64 -> no known owner
    symbols = KernelSymbols(text, {}, [(0xFFFFFFFFC0A00000, "diamorphine")])
    hooked = find_hooked(table, names, text, symbols.owner)
    assert hooked == [{"SymbolName": "kill", "ModuleOwner": "diamorphine"},
                      {"SymbolName": "getdents64", "ModuleOwner": "hidden"}]


def test_events_option_accepts_names_and_sets() -> None:
    from tracee.events import catalog

    # no selection: Tracee's default set (as tracee-ebpf), all of it produced here
    assert _parse_events(None) == catalog.DEFAULT_SET & SUPPORTED_EVENTS
    assert len(_parse_events(None)) >= 60
    assert _parse_events("ptrace,close,kill") == {"ptrace", "close", "kill"}
    assert "security_file_open" in _parse_events("lsm_hooks")
    assert set(catalog.names_in_set("32bit_unique")) <= _parse_events("syscalls")
    with pytest.raises(ValueError, match="unknown event or set 'nope'"):
        _parse_events("nope")
    with pytest.raises(ValueError, match="cap_capable is not produced on this kernel: needs a kprobe"):
        _parse_events("cap_capable")


def test_cli_options_become_filters() -> None:
    opts = options_from_mapping({"ebpf_pid": (12,), "ebpf_comm": ("nginx",), "ebpf_container": "abc",
                                 "ebpf_follow": True, "ebpf_exec_env": True, "ebpf_buffer_pages": 64},
                                frozenset({"execve"}))
    f = opts.filters
    assert (f.pids, f.comms, f.container, f.container_ids, f.follow, f.exec_env) == \
        ((12,), ("nginx",), True, ("abc",), True, True)
    assert opts.buffer_pages == 64
    with pytest.raises(ValueError, match="power of two"):
        options_from_mapping({"ebpf_buffer_pages": 100}, frozenset())


def test_entry_point_imports_without_bcc() -> None:
    import subprocess
    import sys

    code = ("import sys; sys.modules['bcc'] = None\n"  # any `import bcc` would now fail
            "import tracee_input_ebpf, tracee_input_ebpf.commands\n"
            "from tracee.plugins import PluginHost\n"
            "host = PluginHost().load_entry_points()\n"
            "assert 'ebpf' in host.inputs(), host.inputs()\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_not_root_gives_one_actionable_line(monkeypatch: pytest.MonkeyPatch) -> None:
    """`tracee run` with no --input picks this input; without root it stops with one line."""
    from tracee.errors import FatalError
    from tracee.plugins import PluginHost
    from tracee.runner import choose_input

    from tracee_input_ebpf import environment

    monkeypatch.setattr(environment.os, "geteuid", lambda: 1000)
    host = PluginHost().load_entry_points()
    with pytest.raises(FatalError) as info:
        choose_input(host, [])
    assert str(info.value) == ("live input ebpf: needs root (CAP_BPF, CAP_PERFMON, CAP_SYS_ADMIN): "
                               "run with sudo")


def test_exec_environments_are_captured_when_a_rule_selects_an_exec_event():
    """TRC-7/TRC-13 (or any Rego/CEL rule) selecting execve/execveat/sched_process_exec get envp/env
    with default flags; --exec-env / --no-exec-env decide when given."""
    from tracee_input_ebpf.source import options_from_mapping, reads_environment

    assert reads_environment(frozenset({"sched_process_exec"})) and reads_environment(frozenset({"execve"}))
    assert not reads_environment(frozenset({"openat", "security_file_open", "no_such_event"}))
    assert options_from_mapping({}, frozenset({"execve", "openat"})).filters.exec_env is True
    assert options_from_mapping({}, frozenset({"openat"})).filters.exec_env is False
    assert options_from_mapping({"ebpf_exec_env": False}, frozenset({"execve"})).filters.exec_env is False
    assert options_from_mapping({"ebpf_exec_env": True}, frozenset({"openat"})).filters.exec_env is True
