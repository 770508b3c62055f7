"""The events table (sources.py) against the catalog, and the record decoder against both (no root)."""

from __future__ import annotations

import struct
import subprocess
import sys
from pathlib import Path

import pytest

from tracee.events import catalog, decoders
from tracee_input_ebpf import layout, program
from tracee_input_ebpf.containers import ContainerTracker
from tracee_input_ebpf.decode import HDR, Decoder
from tracee_input_ebpf.sources import DERIVED_LAYOUT, GENERIC_SYSCALLS, NOT_PRODUCED, PRODUCED, RECORDED, SOURCES, USER_SPACE


def test_every_produced_event_is_a_selectable_catalog_event():
    assert len(PRODUCED & catalog.SELECTABLE) >= 480
    assert catalog.SYSCALLS - {"execve"} <= set(GENERIC_SYSCALLS)  # every syscall, native or ia32
    for name in PRODUCED:
        definition = catalog.by_name(name)
        assert definition is not None, name
        assert name in catalog.SELECTABLE, name
        assert SOURCES[name].strip(), name
    assert RECORDED | USER_SPACE | set(GENERIC_SYSCALLS) | DERIVED_LAYOUT == PRODUCED
    assert not RECORDED & USER_SPACE and not RECORDED & DERIVED_LAYOUT
    assert program.SUPPORTED_EVENTS == PRODUCED and program.EVENT_SOURCES is SOURCES


def test_every_recorded_event_has_a_payload_decoder():
    for name in RECORDED:
        assert callable(getattr(Decoder, "_p_" + name, None)), name


def _u64(*values: int) -> bytes:
    return b"".join(v.to_bytes(8, "little") for v in values)


def _item(raw: bytes) -> bytes:
    return len(raw).to_bytes(2, "little") + raw


_PATH = _item(b"/usr/bin/ls\0")
# A well-formed payload for each record (layout: program.c, mirrored by decode.py).
_PAYLOADS = {
    "sys_enter": _u64(59),
    "sys_exit": _u64(59),
    "execve": _PATH + (2).to_bytes(2, "little") + _item(b"ls\0") + _item(b"-l\0") + (1).to_bytes(2, "little")
              + _item(b"PATH=/bin\0"),
    "sched_process_exec": _u64(2049, 55, 77, (0o20620 << 32) | 0o100755, 0) + _PATH + _PATH + _PATH
                          + _item(b"ls\0-l\0") + _item(b"HOME=/root\0"),
    "sched_process_exit": _u64(0, 1),
    "security_bprm_check": _u64(2049, 55) + _PATH,
    "security_file_open": _u64(2049, 55, 77, (257 << 32) | 0o100101) + _PATH + _PATH,
    "security_socket_connect": _u64(3) + _item(b"\x02\x00\x00\x50\x7f\x00\x00\x01" + bytes(8)),
    "security_sb_mount": _u64(0x1000) + _item(b"/dev/sda1\0") + _item(b"/mnt\0") + _item(b"ext4\0"),
    "security_kernel_read_file": _u64(2049, 55, 77, 2) + _PATH,
    "magic_write": _u64(2049, 55) + _item(b"\x7fELF") + _PATH,
    "mem_prot_alert": _u64(1),
}


def _decoder(parsed: bool = True) -> Decoder:
    return Decoder(hostname=lambda inum: "host", containers=ContainerTracker(Path("/nonexistent"), 1),
                   boot_offset=0, parsed=parsed)


def _header(name: str, flags: int = 0, ret: int = 0) -> bytes:
    return HDR.pack(1, 1, 1, ret, catalog.by_name(name).id, 5, 5, 1, 5, 5, 1, 0, 1, 1, 1, 0, flags, b"ls\0")


def _decode(name: str):
    if name in GENERIC_SYSCALLS:
        return _decoder().decode(_header(name, layout.HF["HF_GENERIC"]) + _GENERIC_PAYLOADS[name])
    return _decoder().decode(_header(name) + _PAYLOADS[name])


# Generic syscall records: the six registers, then items (layout.py)
_GENERIC_PAYLOADS = {
    "ptrace": _u64(16, 42, 0x7FFF0000, 0, 0, 0),
    "bind": _u64(3, 0x7000, 16, 0, 0, 0) + _item(b"\x02\x00\x1f\x90\x7f\x00\x00\x01" + bytes(8)),
    "openat": _u64((1 << 64) - 100, 0x7000, 0o101, 0o644, 0, 0) + _item(b"/tmp/x\0"),
    "pipe2": _u64(0x7000, 0o2000000, 0, 0, 0, 0) + _item((3).to_bytes(4, "little") + (4).to_bytes(4, "little")),
    "execveat": _u64(3, 0x7000, 0x7100, 0x7200, 0x1000, 0) + _item(b"/bin/ls\0")
                + (2).to_bytes(2, "little") + _item(b"ls\0") + _item(b"-l\0") + (0xFFFF).to_bytes(2, "little"),
}


def test_payloads_cover_every_recorded_event():
    assert set(_PAYLOADS) == RECORDED


@pytest.mark.parametrize("name", sorted(RECORDED))
def test_decoded_arguments_are_the_catalogs(name):
    event = _decode(name)
    definition = catalog.by_name(name)
    assert (event.event_name, event.event_id) == (name, definition.id)
    declared = {a.name: a.type for a in definition.args}
    order = [a.name for a in definition.args]
    names = [a["name"] for a in event.args]
    assert names, name
    # the catalog's names, in its order (an input may leave out what it cannot capture)
    assert names == [n for n in order if n in names], name
    for arg in event.args:
        parser, printed = decoders.arg_parser(name, arg["name"], declared[arg["name"]])
        assert arg["type"] == printed, (name, arg)
        if parser is not None:
            assert isinstance(arg["value"], str), (name, arg)


def test_decoded_values_as_tracee_prints_them():
    opened = {a["name"]: (a["type"], a["value"]) for a in _decode("security_file_open").args}
    assert opened["flags"] == ("string", "O_WRONLY|O_CREAT|O_LARGEFILE")
    assert opened["syscall"] == ("int", "openat")
    assert opened["pathname"] == ("const char*", "/usr/bin/ls")
    traced = {a["name"]: (a["type"], a["value"]) for a in _decode("ptrace").args}
    assert traced["request"] == ("string", "PTRACE_ATTACH")
    assert traced == {"request": ("string", "PTRACE_ATTACH"), "pid": ("pid_t", 42),
                      "addr": ("void*", "0x7fff0000"), "data": ("void*", "0x0")}
    executed = {a["name"]: a["value"] for a in _decode("sched_process_exec").args}
    assert executed["stdin_type"] == "S_IFCHR" and executed["argv"] == ["ls", "-l"]
    assert executed["env"] == ["HOME=/root"] and executed["inode_mode"] == 0o100755
    connected = _decode("security_socket_connect").args[1]
    assert connected["value"] == {"sa_family": "AF_INET", "sin_port": "80", "sin_addr": "127.0.0.1"}


def test_generic_records_decode_by_catalog_type():
    bound = {a["name"]: (a["type"], a["value"]) for a in _decode("bind").args}
    assert bound == {"sockfd": ("int", 3), "addrlen": ("int", 16),
                     "addr": ("struct sockaddr*", {"sa_family": "AF_INET", "sin_port": "8080",
                                                   "sin_addr": "127.0.0.1"})}
    opened = {a["name"]: (a["type"], a["value"]) for a in _decode("openat").args}
    assert opened == {"dirfd": ("int", -100), "pathname": ("const char*", "/tmp/x"),
                      "flags": ("string", "O_WRONLY|O_CREAT"), "mode": ("mode_t", 0o644)}
    assert {a["name"]: a["value"] for a in _decode("pipe2").args}["pipefd"] == [3, 4]
    executed = {a["name"]: a["value"] for a in _decode("execveat").args}
    assert executed["argv"] == ["ls", "-l"] and "envp" not in executed and executed["pathname"] == "/bin/ls"


def test_raw_arguments_without_parse_arguments():
    record = _header("openat", layout.HF["HF_GENERIC"]) + _GENERIC_PAYLOADS["openat"]
    raw = {a["name"]: (a["type"], a["value"]) for a in _decoder(parsed=False).decode(record).args}
    assert raw["flags"] == ("int", 0o101)
    ptrace = _decoder(parsed=False).decode(_header("ptrace", layout.HF["HF_GENERIC"]) + _GENERIC_PAYLOADS["ptrace"])
    assert {a["name"]: a["value"] for a in ptrace.args}["addr"] == 0x7FFF0000


def test_compat_records_are_32_bit():
    flags = layout.HF["HF_GENERIC"] | layout.HF["HF_COMPAT"]
    record = _header("setuid16", flags) + _u64(0xFFFF, 0, 0, 0, 0, 0)
    event = _decoder().decode(record)
    assert event.event_name == "setuid16" and event.event_id == 3058
    assert event.args == [{"name": "uid", "type": "old_old_uid_t", "value": 0xFFFF}]
    # ptrace from a 32-bit task: long is 32 bits, so -1 stays -1
    event = _decoder().decode(_header("ptrace", flags) + _u64(0xFFFFFFFF, 1, 0, 0, 0, 0))
    assert event.args[0]["value"] == -1 or event.args[0]["value"] == "-1"


@pytest.mark.parametrize("cut", [0, 10, 95, 96, 100, 140])
def test_truncated_records_are_counted_not_raised(cut):
    decoder = _decoder()
    record = _header("bind", layout.HF["HF_GENERIC"]) + _GENERIC_PAYLOADS["bind"]
    assert decoder.decode(record[:cut]) is None or cut >= 144
    assert decoder.malformed == 1


def test_derived_records_follow_the_catalog_order():
    flags = layout.HF["HF_DERIVED"]
    addr = _item(b"\x02\x00\x1f\x90\x7f\x00\x00\x01" + bytes(8))
    event = _decoder().decode(_header("security_socket_listen", flags) + _u64(3, 128) + addr)
    assert args_of(event) == {"sockfd": 3, "backlog": 128, "local_addr": {
        "sa_family": "AF_INET", "sin_port": "8080", "sin_addr": "127.0.0.1"}}
    cred = _item(struct.pack("<15Q", *range(15)))
    event = _decoder().decode(_header("commit_creds", flags) + _u64(105) + cred + cred)
    assert args_of(event)["syscall"] == "setuid" and args_of(event)["new_cred"]["CapAmbient"] == 14
    assert _decoder().decode(_header("commit_creds", flags) + _u64(105) + cred[:20]) is None


def args_of(event) -> dict:
    return {a["name"]: a["value"] for a in event.args}


def test_unknown_event_ids_are_counted():
    decoder = _decoder()
    header = HDR.pack(1, 1, 1, 0, 9999, 5, 5, 1, 5, 5, 1, 0, 1, 1, 1, 0, 0, b"ls\0")
    assert decoder.decode(header) is None and decoder.decode(header[:-1]) is None
    assert decoder.malformed == 2


def test_trace_list_prints_every_selectable_event_and_its_source():
    tracee = Path(sys.executable).with_name("tracee")
    listed = subprocess.run([str(tracee), "trace", "--list-sources"], capture_output=True, text=True, timeout=60)
    assert listed.returncode == 0, listed.stderr
    lines = [line for line in listed.stdout.splitlines() if not line.startswith("#")]
    assert [line.split()[0] for line in lines] == sorted(catalog.SELECTABLE)
    by_name = {line.split()[0]: line for line in lines}
    assert by_name["security_file_open"].endswith(SOURCES["security_file_open"])
    for name in NOT_PRODUCED:
        assert "UNAVAILABLE: " + NOT_PRODUCED[name] in by_name[name]
    produced = sum(1 for line in lines if "UNAVAILABLE" not in line)
    assert produced == len(PRODUCED & catalog.SELECTABLE)
    assert f"# {produced} of 509" in listed.stdout


def test_trace_list_prints_every_produced_event_as_tracee_lists_them():
    tracee = Path(sys.executable).with_name("tracee")
    listed = subprocess.run([str(tracee), "trace", "--list"], capture_output=True, text=True, timeout=60)
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert lines[0].split() == ["System", "Calls:", "Sets:", "Arguments:"]
    end = lines.index(next(line for line in lines if line.startswith("Not produced here:"))) \
        if any(line.startswith("Not produced here:") for line in lines) else len(lines)
    rows = {line.split()[0]: line for line in lines[:end] if line and (line[0].islower() or line[0] == "_")
            and not line.startswith("____")}
    assert set(rows) == PRODUCED & catalog.SELECTABLE
    for name in NOT_PRODUCED:  # listed apart, with the reason
        assert any(line.startswith(name + " ") and NOT_PRODUCED[name] in line for line in lines[end:]), name
    assert rows["ptrace"].split(None, 1)[1].startswith("[default syscalls proc]")
    assert rows["ptrace"].endswith("(long request, pid_t pid, void* addr, void* data)")
    short = subprocess.run([str(tracee.with_name("tracee-ebpf")), "-l"], capture_output=True, text=True, timeout=60)
    assert short.stdout == listed.stdout


def test_ia32_numbers_map_to_tracee_events():
    from tracee_input_ebpf import syscalls

    compat = syscalls.compat_events()
    assert (compat[5], compat[23], compat[213], compat[140], compat[102], compat[403], compat[265]) == (
        "open", "setuid16", "setuid", "llseek", "socketcall", "clock_gettime", "clock_gettime32")
    assert set(compat) == set(syscalls.i386_table())            # every ia32 call has its event
    assert set(catalog.names_in_set("32bit_unique")) <= set(compat.values())
    rows = {r.key: r for r in syscalls.entries({"setuid16", "openat", "execve"}, {"setuid"})}
    assert rows[512 + 23].event_id == 3058 and rows[512 + 295].event == "openat"
    assert 59 not in rows and rows[512 + 11].flags & layout.SC["SC_AT_ENTER"]   # native execve: own probes
    assert rows[105].flags == layout.SC["SC_DERIVE"]                              # setuid: derive only
    assert rows[257].kinds[:4] == (0, layout.ARG_KINDS["ARG_STR"], 0, 0)


def test_container_started_comes_from_the_kernels_flag(tmp_path: Path):
    """containerStarted: HF_STARTED on a record of a container's cgroup (the kernel marked it at
    the container's first exec); never for a cgroup that is not a container's."""
    cid = "ab" * 32
    (tmp_path / "docker" / cid).mkdir(parents=True)
    tracker = ContainerTracker(tmp_path, 1)
    (tmp_path / "docker" / cid / "late").mkdir()  # made after the start: started only when the kernel says so
    container_cgroup = (tmp_path / "docker" / cid / "late").stat().st_ino
    decoder = Decoder(hostname=lambda inum: "host", containers=tracker, boot_offset=0)

    def record(cgroup: int, flags: int) -> bytes:
        head = HDR.pack(1, 1, cgroup, 0, catalog.by_name("mem_prot_alert").id, 5, 5, 1, 5, 5, 1, 0, 2, 1, 1, 0,
                        flags, b"sh\0")
        return head + _PAYLOADS["mem_prot_alert"]
    started = layout.HF["HF_STARTED"]
    assert decoder.decode(record(container_cgroup, 0)).container_started is False
    event = decoder.decode(record(container_cgroup, started))
    assert event.container_id == cid and event.container_started is True
    assert decoder.decode(record(99, started)).container_started is False  # not a container's cgroup
