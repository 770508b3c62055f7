"""tracee-ebpf's output formats (-o format:...) as pure functions of events: table, table-verbose,
json and gotemplate=FILE, the end-of-stream summary, and the parse-arguments option.

    print(table_header(), end="")
    print(table_row(event), end="")

(gob is `tracee.formats.gob.GobEncoder`.) Importable without BCC.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Mapping

from tracee import Event
from tracee.events.decoders import parse_args
from tracee.event import FIELDS
from tracee.formats.gotemplate import GoTemplateError, event_data, go_value, load, sprint

__all__ = ["EventTemplate", "GoTemplateError", "epilogue", "json_line", "parse_arguments", "table_header",
           "table_row"]

# Tracee v0.8.3's columns and widths (cmd/tracee-ebpf/internal/printer), by (verbose, container mode).
_HEADERS = {
    (False, False): ("%-16s %-6s %-16s %-7s %-7s %-16s %-20s %s",
                     ("TIME", "UID", "COMM", "PID", "TID", "RET", "EVENT", "ARGS")),
    (False, True): ("%-16s %-13s %-6s %-16s %-15s %-15s %-16s %-20s %s",
                    ("TIME", "CONTAINER_ID", "UID", "COMM", "PID/host", "TID/host", "RET", "EVENT", "ARGS")),
    (True, False): ("%-16s %-16s %-13s %-12s %-12s %-6s %-16s %-7s %-7s %-7s %-16s %-20s %s",
                    ("TIME", "UTS_NAME", "CONTAINER_ID", "MNT_NS", "PID_NS", "UID", "COMM", "PID", "TID", "PPID",
                     "RET", "EVENT", "ARGS")),
    (True, True): ("%-16s %-16s %-13s %-12s %-12s %-6s %-16s %-15s %-15s %-15s %-16s %-20s %s",
                   ("TIME", "UTS_NAME", "CONTAINER_ID", "MNT_NS", "PID_NS", "UID", "COMM", "PID/host", "TID/host",
                    "PPID/host", "RET", "EVENT", "ARGS")),
}
_ROWS = {
    (False, False): "%-16s %-6d %-16s %-7d %-7d %-16d %-20s ",
    (False, True): "%-16s %-13s %-6d %-16s %-7d/%-7d %-7d/%-7d %-16d %-20s ",
    (True, False): "%-16s %-16s %-13s %-12d %-12d %-6d %-16s %-7d %-7d %-7d %-16d %-20s ",
    (True, True): "%-16s %-16s %-13s %-12d %-12d %-6d %-16s %-7d/%-7d %-7d/%-7d %-7d/%-7d %-16d %-20s ",
}


def table_header(*, verbose: bool = False, container_mode: bool = False) -> str:
    """The table's column line (format:table, or format:table-verbose with `verbose`)."""
    fmt, names = _HEADERS[(verbose, container_mode)]
    return fmt % names + "\n"


def _clock(timestamp: int, relative: bool) -> str:
    # Tracee prints hour:minute:second:microsecond of the event, local time (UTC for relative
    # timestamps, which count from boot).
    seconds, nanos = divmod(int(timestamp), 1_000_000_000)
    when = datetime.fromtimestamp(seconds, tz=timezone.utc if relative else None)
    return f"{when.hour:02d}:{when.minute:02d}:{when.second:02d}:{nanos // 1000:06d}"


def _int(value: Any) -> int:
    return value if isinstance(value, int) else 0  # a field the input left malformed prints as 0


def table_row(event: Event, *, verbose: bool = False, container_mode: bool = False,
              relative_time: bool = False) -> str:
    """One event as a table line: Tracee's columns, then `name: value` for each argument, with the
    values as Go prints them (%v)."""
    e = event
    cid = e.container_id[:12]
    ts = _clock(_int(e.timestamp), relative_time)
    comm, host, name = str(e.process_name), str(e.host_name), e.event_name
    ret, uid = _int(e.return_value), _int(e.user_id)
    pid, tid, ppid = _int(e.process_id), _int(e.thread_id), _int(e.parent_process_id)
    hpid, htid, hppid = _int(e.host_process_id), _int(e.host_thread_id), _int(e.host_parent_process_id)
    mnt, pidns = _int(e.mount_namespace), _int(e.pid_namespace)
    values: tuple = {
        (False, False): (ts, uid, comm, pid, tid, ret, name),
        (False, True): (ts, cid, uid, comm, pid, hpid, tid, htid, ret, name),
        (True, False): (ts, host, cid, mnt, pidns, uid, comm, pid, tid, ppid, ret, name),
        (True, True): (ts, host, cid, mnt, pidns, uid, comm, pid, hpid, tid, htid, ppid, hppid, ret, name),
    }[(verbose, container_mode)]
    args = ", ".join(f"{a.get('name', '')}: {sprint(go_value(a.get('type') or '', a.get('value')))}"
                     for a in e.args)
    return (_ROWS[(verbose, container_mode)] % values + args).translate(_CONTROL) + "\n"


# A comm, a file name or a container name is the attacker's to choose (prctl(PR_SET_NAME, "x\n...")):
# a control character would start a forged line or move the terminal's cursor. Shown escaped, as
# Go's %q shows them, so one event is always one line.
_CONTROL = {c: f"\\x{c:02x}" for c in (*range(0x20), 0x7F) if c != 0x09} | {0x0A: "\\n", 0x0D: "\\r"}


def json_line(event: Event) -> str:
    """format:json: one Tracee JSON object per line."""
    return event.to_json() + "\n"


class EventTemplate:
    """format:gotemplate=FILE: the file, a Go template, executed over each event (as trace.Event)."""

    def __init__(self, path: str | Path) -> None:
        self.template = load(path)  # GoTemplateError naming file:line for what is not supported

    def render(self, event: Event) -> str:
        return self.template.execute(event_data(event))


# metrics.Stats of v0.8.3, as the table printer's epilogue prints it with %+v
_STATS = ("EventCount", "NetEvCount", "ErrorCount", "LostEvCount", "LostWrCount", "LostNtCount")


def epilogue(stats: Mapping[str, int]) -> str:
    """What the table formats print when the stream ends: a blank line, "End of events stream" and
    the counters, e.g. `Stats: {EventCount:6 NetEvCount:0 ErrorCount:0 LostEvCount:0 ...}`."""
    return "\nEnd of events stream\nStats: {" + " ".join(f"{k}:{int(stats.get(k, 0))}" for k in _STATS) + "}\n"


def parse_arguments(event: Event) -> Event:
    """A copy of `event` with its arguments as `-o option:parse-arguments` prints them (flags,
    requests, modes ... as names; pointers as 0x hex). Values already parsed are kept; the
    original event is not changed. Needs raw values from the input to have any effect."""
    args = [dict(a) for a in event.args]
    parse_args(event.event_name, args)
    fields = {attr: getattr(event, attr) for _, attr, _ in FIELDS
              if attr not in ("event_name", "event_id", "container_id")}
    return Event(event.event_name, args, event_id=event.event_id, container_id=event.container_id,
                 container_started=event.container_started, **fields)
