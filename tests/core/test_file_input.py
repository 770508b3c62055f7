"""The file input against hostile lines: BOM, over-long lines, names that could fool the peek."""

from __future__ import annotations

import json
import os
import threading

import pytest

from tracee import EventSelector, Signature, SignatureMetadata
from tracee.api import InputContext
from tracee.engine import Engine
from tracee.inputs.file import FileInput


def line(name: str = "ptrace", **extra) -> str:
    event = {"timestamp": 1, "processId": 7, "processName": "x", "eventId": "101", "eventName": name,
             "argsNum": 1, "returnValue": 0, "contextFlags": {"containerStarted": False},
             "args": [{"name": "request", "type": "long", "value": 0}]}
    event.update(extra)
    return json.dumps(event, separators=(",", ":"))


def read(tmp_path, data: bytes, names=("ptrace",), **options) -> tuple[list, FileInput]:
    path = tmp_path / "events.jsonl"
    path.write_bytes(data)
    source = FileInput(InputContext(f"{path}", None if names is None else frozenset(names), options))
    return list(source.events()), source


def test_bom_is_accepted(tmp_path):
    events, source = read(tmp_path, b"\xef\xbb\xbf" + line().encode() + b"\n" + line().encode() + b"\n")
    assert [e.event_name for e in events] == ["ptrace", "ptrace"]
    assert source.stats() == {"read": 2, "skipped": 0, "dropped": 0}


@pytest.mark.parametrize("text", [
    # a second exact key: the parser keeps the last
    line().replace('"eventName":"ptrace"', '"eventName":"openat","eventName":"ptrace"'),
    # an escaped name
    line().replace('"eventName":"ptrace"', '"eventName":"\\u0070trace"'),
    # a nested exact key before a top-level key in another case
    line().replace('"eventName":"ptrace"', '"x":{"eventName":"openat"},"EVENTNAME":"ptrace"'),
    # an exact key hidden in the tail of an escaped key, the real name in another case
    line().replace('"eventName":"ptrace"', '"a\\"eventName":"openat","eventname":"ptrace"'),
    # an escaped key
    line().replace('"eventName":"ptrace"', '"x":{"eventName":"openat"},"event\\u004eame":"ptrace"'),
    # an escaped key after the exact one (found by the fuzzer): the parser keeps the last
    line().replace('"eventName":"ptrace"', '"eventName":"openat","event\\u004eame":"ptrace"'),
])
def test_the_name_peek_never_disagrees_with_the_parser(tmp_path, text):
    events, source = read(tmp_path, text.encode() + b"\n")
    assert [e.event_name for e in events] == ["ptrace"]
    assert source.skipped == 0


def test_unselected_lines_are_skipped_undecoded(tmp_path):
    events, source = read(tmp_path, (line("openat") + "\n" + line("ptrace") + "\n").encode())
    assert [e.event_name for e in events] == ["ptrace"]
    assert source.stats() == {"read": 2, "skipped": 1, "dropped": 0}


def test_an_over_long_line_is_skipped_and_counted_without_being_held(tmp_path, tracee_logs):
    long_value = "A" * 300_000
    data = (line() + "\n" + line(pad=long_value) + "\n" + line() + "\n").encode()
    events, source = read(tmp_path, data, max_line_bytes=100_000)
    assert len(events) == 2
    assert source.stats() == {"read": 3, "skipped": 0, "dropped": 1}
    message = next(m for m in tracee_logs.lines if "longer than" in m)
    assert ":2: line longer than 100000 bytes" in message and len(message) < 300


@pytest.mark.parametrize("limit", [100, 70_000])
def test_line_limit_across_chunk_boundaries(tmp_path, limit):
    good = line()
    lines = [good, "x" * (limit + 1), good, "y" * (3 * 65536 + 7), good]
    events, source = read(tmp_path, ("\n".join(lines) + "\n").encode(), max_line_bytes=max(limit, len(good)))
    assert len(events) == 3 and source.dropped == 2


def test_lines_split_over_chunks_and_a_last_line_without_newline(tmp_path):
    lines = [line(pad="p" * n) for n in (10, 65000, 70000, 5, 131072)]
    events, source = read(tmp_path, "\n".join(lines).encode())  # no final newline
    assert len(events) == 5 and source.dropped == 0


def test_values_are_cut_in_error_messages(tmp_path, tracee_logs):
    data = line().replace('"type":"long"', '"type":["' + "B" * 1_000_000 + '"]').encode() + b"\n"
    events, source = read(tmp_path, data)
    assert not events and source.dropped == 1
    assert all(len(m) < 400 for m in tracee_logs.lines)


def test_dev_zero_is_read_in_bounded_memory_and_stops_on_close():
    source = FileInput(InputContext("/dev/zero", frozenset({"ptrace"}), {"max_line_bytes": 1 << 20}))
    timer = threading.Timer(0.5, source.close)
    timer.start()
    events = list(source.events())
    timer.join()
    assert events == [] and source.dropped >= 1


def test_close_stops_a_blocked_pipe_read(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    writer = os.open(fifo, os.O_RDWR)  # a writer that never writes, as a quiet stdin pipe
    source = FileInput(InputContext(str(fifo), None, {}))
    threading.Timer(0.2, source.close).start()
    assert list(source.events()) == []
    os.close(writer)


class _Any(Signature):
    metadata = SignatureMetadata(id="ANY-1", name="any")
    selected_events = [EventSelector("*")]

    def on_event(self, event):
        pass


def test_route_cache_is_bounded_by_what_signatures_name():
    engine = Engine([_Any()], lambda f: None)
    engine.start()
    from tracee import Event
    for n in range(5000):
        engine.dispatch(Event(f"name{n}"))
    assert len(engine._routes) <= 3
    engine.finish()
    assert engine.stats.dispatched == {"ANY-1": 5000}
