"""`tracee run --input gob:PATH|-` and `tracee-rules --input-tracee format:gob`, as a user runs them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tracee import Event
from tracee.formats.gob import dumps

BIN = Path(sys.executable).parent


def _stream(data) -> bytes:
    events = []
    for line in (data / "mixed.jsonl").read_text().splitlines():
        try:
            events.append(Event.from_json(line))
        except ValueError:
            continue
    return dumps(events)


def test_run_reads_a_gob_file_like_the_json_one(cli, data, tmp_path):
    path = tmp_path / "events.gob"
    path.write_bytes(_stream(data))
    r = cli("tracee", "run", "--input", f"gob:{path}", "--output", "json", "--rules", "EXAMPLE-1")
    assert r.returncode == 0, r.stderr
    assert [json.loads(x)["Context"]["processName"] for x in r.stdout.splitlines()] == ["cat", "less"]
    # events no loaded signature selects are counted as skipped, as the file input does
    assert "tracee: summary: 4 events read, 1 skipped, 0 dropped, 3 decoded, 2 finding(s)" in r.stderr


def test_gob_from_stdin_with_a_corrupt_message_reports_its_offset_and_goes_on(data):
    # a message in the middle names trace.Event field 28, which does not exist
    stream = _stream(data)
    first_event = stream.index(b"\xff\x82\x01")  # the first value message (type id 65)
    first_event = stream.rfind(b"\xfe", 0, first_event) if stream[first_event - 2] == 0xFE else first_event - 1
    stream = stream[:first_event] + b"\x03\xff\x82\x1d" + stream[first_event:]
    proc = subprocess.run([str(BIN / "tracee"), "run", "--input", "gob:-", "--output", "json",
                           "--rules", "EXAMPLE-1"], input=stream, capture_output=True, timeout=60)
    err = proc.stderr.decode()
    assert proc.returncode == 0, err
    bad = [line for line in err.splitlines() if "gob: offset" in line]
    assert bad == [f"tracee: error: stdin: gob: offset {first_event + 3}: field number 28 of trace.Event does not "
                   "exist; message skipped"]
    assert len(proc.stdout.splitlines()) == 2
    assert ", 1 dropped," in err.splitlines()[-1]
    assert "Traceback" not in err


def test_a_live_gob_pipe_is_read_as_it_arrives(data):
    # tracee-ebpf -o format:gob | tracee-rules ...: each finding comes out while the pipe is open
    import time

    from tracee.formats.gob import GobEncoder

    event = Event.from_json((data / "shadow.jsonl").read_text().splitlines()[0])
    encoder = GobEncoder()
    proc = subprocess.Popen([str(BIN / "tracee-rules"), "--input-tracee", "file:stdin", "--input-tracee",
                             "format:gob", "--rules", "EXAMPLE-1"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    def next_finding() -> float:
        start = time.monotonic()
        while True:
            line = proc.stdout.readline().decode()
            assert line, proc.stderr.read().decode()
            if line.startswith("Signature ID: EXAMPLE-1"):
                return time.monotonic() - start

    try:
        proc.stdin.write(encoder.encode(event))  # type definitions and the first event
        proc.stdin.flush()
        next_finding()  # (includes start-up)
        proc.stdin.write(encoder.encode(event))
        proc.stdin.flush()
        assert next_finding() < 1.0
        assert proc.poll() is None  # still running: the pipe is open
    finally:
        proc.stdin.close()
        proc.wait(timeout=30)
    assert proc.returncode == 0
