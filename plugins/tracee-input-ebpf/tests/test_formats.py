"""tracee-ebpf's output formats: Tracee's table columns (as its docs and the seed show them),
table-verbose, json, gotemplate, the epilogue and parse-arguments (no root, no BCC)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import datetime, timezone

import pytest

from tracee import Event
from tracee_input_ebpf.formats import (EventTemplate, GoTemplateError, epilogue, json_line, parse_arguments,
                                       table_header, table_row)

# The seed document's sample (reference/seeds/001_*.txt; its rendering collapsed the spaces).
SEED_HEADER = "TIME UID COMM PID TID RET EVENT ARGS"
SEED_LINE = ("06:16:20:529134 0 assist_daemon 719 759 0 security_file_open pathname: /proc/stat, "
             "flags: O_RDONLY|O_LARGEFILE, dev: 5, inode: 4026532025")


@pytest.fixture(autouse=True)
def utc(monkeypatch):
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def at(hms: str, micros: int) -> int:
    h, m, s = map(int, hms.split(":"))
    day = int(datetime(2022, 7, 8, tzinfo=timezone.utc).timestamp())
    return (day + h * 3600 + m * 60 + s) * 1_000_000_000 + micros * 1000 + 123


def openat(**kw) -> Event:
    args = [{"name": "dirfd", "type": "int", "value": -100},
            {"name": "pathname", "type": "const char*", "value": "/etc/ld.so.cache"},
            {"name": "flags", "type": "string", "value": "O_RDONLY|O_CLOEXEC"},
            {"name": "mode", "type": "mode_t", "value": 0}]
    base = dict(timestamp=at("11:21:51", 254199), user_id=1000, process_name="exa", process_id=1639459,
                thread_id=1639459, host_process_id=1639459, host_thread_id=1639459, parent_process_id=3795408,
                host_parent_process_id=3795408, return_value=3, host_name="fujitsu", mount_namespace=4026531840,
                pid_namespace=4026531836)
    base.update(kw)
    return Event("openat", args, event_id=257, **base)


def test_table_matches_tracees_documented_output():
    # tracee-ebpf v0.8.3 docs (tracing/output-formats): the header and first line of `--output table`
    assert table_header() == ("TIME             UID    COMM             PID     TID     RET              "
                              "EVENT                ARGS\n")
    assert table_row(openat()) == ("11:21:51:254199  1000   exa              1639459 1639459 3                "
                                   "openat               dirfd: -100, pathname: /etc/ld.so.cache, "
                                   "flags: O_RDONLY|O_CLOEXEC, mode: 0\n")


def test_table_verbose_and_container_columns():
    assert table_header(verbose=True) == (
        "TIME             UTS_NAME         CONTAINER_ID  MNT_NS       PID_NS       UID    COMM             "
        "PID     TID     PPID    RET              EVENT                ARGS\n")
    raw = openat()
    raw.args[2] = {"name": "flags", "type": "int", "value": 524288}
    assert table_row(raw, verbose=True) == (
        "11:21:51:254199  fujitsu                        4026531840   4026531836   1000   exa              "
        "1639459 1639459 3795408 3                openat               dirfd: -100, pathname: /etc/ld.so.cache, "
        "flags: 524288, mode: 0\n")
    cid = "ab356bc4dd554" + "f" * 51
    row = table_row(openat(container_id=cid, process_id=12, thread_id=12), container_mode=True)
    assert row.startswith("11:21:51:254199  ab356bc4dd55  1000   exa              12     /1639459 12     /1639459 3")
    assert table_header(container_mode=True).split() == ["TIME", "CONTAINER_ID", "UID", "COMM", "PID/host",
                                                         "TID/host", "RET", "EVENT", "ARGS"]


def test_table_looks_like_the_seeds_sample():
    event = Event("security_file_open", [
        {"name": "pathname", "type": "const char*", "value": "/proc/stat"},
        {"name": "flags", "type": "string", "value": "O_RDONLY|O_LARGEFILE"},
        {"name": "dev", "type": "dev_t", "value": 5}, {"name": "inode", "type": "unsigned long", "value": 4026532025}],
        timestamp=at("06:16:20", 529134), user_id=0, process_name="assist_daemon", process_id=719, thread_id=759,
        return_value=0)
    assert " ".join(table_header().split()) == SEED_HEADER
    assert " ".join(table_row(event).split()) == SEED_LINE


def test_argument_values_print_as_go_prints_them():
    event = Event("x", [
        {"name": "addr", "type": "struct sockaddr*", "value": {"sin_port": "53", "sa_family": "AF_INET"}},
        {"name": "argv", "type": "const char**", "value": ["ls", "-la"]},
        {"name": "cred", "type": "slim_cred_t", "value": {"Uid": 1000, "Gid": 5}},
        {"name": "bytes", "type": "bytes", "value": b"\x01\x02"}, {"name": "none", "type": "int", "value": None},
        {"name": "ok", "type": "bool", "value": True}, {"name": "addr2", "type": "void*", "value": 140115233229699}])
    args = table_row(event).split(" x" + " " * 19 + " ", 1)[1]
    assert args == ("addr: map[sa_family:AF_INET sin_port:53], argv: [ls -la], "
                    "cred: {1000 5 0 0 0 0 0 0 0 0 0 0 0 0 0}, bytes: [1 2], none: <nil>, ok: true, "
                    "addr2: 140115233229699\n")


def test_relative_time_is_counted_in_utc_from_boot(monkeypatch):
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    event = openat(timestamp=(3600 + 62) * 1_000_000_000 + 5_000)
    assert table_row(event, relative_time=True).startswith("01:01:02:000005 ")
    assert not table_row(event).startswith("01:01:02")  # wall-clock timestamps are local time


def test_json_is_tracees_json_line():
    line = json_line(openat())
    assert line.endswith("}\n") and json.loads(line)["eventId"] == "257"


def test_gotemplate_runs_over_the_event(tmp_path):
    path = tmp_path / "line.tmpl"
    path.write_text("{{ .ProcessName }} {{ .EventName }}{{ range .Args }} {{ .Name }}={{ .Value }}{{ end }}\n")
    assert EventTemplate(path).render(openat()) == \
        "exa openat dirfd=-100 pathname=/etc/ld.so.cache flags=O_RDONLY|O_CLOEXEC mode=0\n"
    path.write_text("{{ template \"x\" }}")
    with pytest.raises(GoTemplateError, match=r"line.tmpl:1:1: \{\{template\}\} is not supported"):
        EventTemplate(path)


def test_epilogue():
    assert epilogue({"EventCount": 6, "LostEvCount": 2}) == \
        "\nEnd of events stream\nStats: {EventCount:6 NetEvCount:0 ErrorCount:0 LostEvCount:2 LostWrCount:0 LostNtCount:0}\n"


def test_parse_arguments_turns_raw_values_into_tracees_parsed_ones():
    raw = Event("ptrace", [{"name": "request", "type": "long", "value": 0},
                           {"name": "pid", "type": "pid_t", "value": 0},
                           {"name": "addr", "type": "void*", "value": 0x7F6F1EB44B83}], process_name="strace")
    parsed = parse_arguments(raw)
    assert [(a["type"], a["value"]) for a in parsed.args] == [("string", "PTRACE_TRACEME"), ("pid_t", 0),
                                                              ("void*", "0x7f6f1eb44b83")]
    assert raw.args[0]["value"] == 0 and parsed.process_name == "strace"  # the original is unchanged
    assert parse_arguments(parsed).to_dict() == parsed.to_dict()  # parsing parsed values changes nothing
    opened = parse_arguments(Event("openat", [{"name": "flags", "type": "int", "value": 524288}]))
    assert opened.args[0]["value"] == "O_RDONLY|O_CLOEXEC"


def test_importable_without_bcc():
    code = ("import sys; sys.modules['bcc'] = None; import tracee_input_ebpf.formats as f; "
            "print(f.table_header().split()[0])")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.strip() == "TIME", r.stderr


def test_a_row_is_one_line_whatever_the_comm_or_path_holds():
    # prctl(PR_SET_NAME) and file names are the attacker's: no forged line, no terminal escapes
    event = Event("close", [{"name": "pathname", "type": "const char*", "value": "/tmp/a\x1b[2J\rb\tc"}],
                  process_name="x\n06:00:00:000000 0 sshd")
    row = table_row(event)
    assert row.count("\n") == 1 and row.endswith("\n") and "\x1b" not in row and "\r" not in row
    assert "x\\n06:00:00:000000 0 sshd" in row and "/tmp/a\\x1b[2J\\rb\tc" in row
