"""The events table (sources.py) against the catalog, and the record decoder against both (no root)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tracee.events import catalog, decoders
from tracee_input_ebpf import program
from tracee_input_ebpf.containers import ContainerTracker
from tracee_input_ebpf.decode import HDR, Decoder
from tracee_input_ebpf.sources import PRODUCED, RECORDED, SOURCES, USER_SPACE


def test_every_produced_event_is_a_selectable_catalog_event():
    assert len(PRODUCED) == 18
    for name in PRODUCED:
        definition = catalog.by_name(name)
        assert definition is not None, name
        assert name in catalog.SELECTABLE, name
        assert SOURCES[name].strip(), name
    assert RECORDED | USER_SPACE == PRODUCED and not RECORDED & USER_SPACE
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
    "close": _u64(3),
    "dup": _u64(3),
    "dup2": _u64(3, 4),
    "dup3": _u64(3, 4, 0o2000000, 0, 0, 0),
    "ptrace": _u64(16, 42, 0x7FFF0000, 0, 0, 0),
    "process_vm_writev": _u64(42, 0x1000, 1, 0x2000, 1, 0),
    "init_module": _u64(0x7F0000, 4096, 0, 0, 0, 0) + _item(b"debug=1\0"),
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


def _decode(name: str):
    decoder = Decoder(hostname=lambda inum: "host", containers=ContainerTracker(Path("/nonexistent"), 1),
                      boot_offset=0)
    header = HDR.pack(1, 1, 1, 0, catalog.by_name(name).id, 5, 5, 1, 5, 5, 1, 0, 1, 1, 1, 0, 0, b"ls\0")
    return decoder.decode(header + _PAYLOADS[name])


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
    assert traced == {"request": ("string", "PTRACE_ATTACH"), "pid": ("pid_t", 42),
                      "addr": ("void*", "0x7fff0000"), "data": ("void*", "0x0")}
    executed = {a["name"]: a["value"] for a in _decode("sched_process_exec").args}
    assert executed["stdin_type"] == "S_IFCHR" and executed["argv"] == ["ls", "-l"]
    assert executed["env"] == ["HOME=/root"] and executed["inode_mode"] == 0o100755
    connected = _decode("security_socket_connect").args[1]
    assert connected["value"] == {"sa_family": "AF_INET", "sin_port": "80", "sin_addr": "127.0.0.1"}


def test_trace_list_prints_every_produced_event_and_its_source():
    tracee = Path(sys.executable).with_name("tracee")
    listed = subprocess.run([str(tracee), "trace", "--list"], capture_output=True, text=True, timeout=60)
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert [line.split()[0] for line in lines] == sorted(PRODUCED)
    assert lines[sorted(PRODUCED).index("security_file_open")].endswith(SOURCES["security_file_open"])
