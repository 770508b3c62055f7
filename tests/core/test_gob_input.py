"""`tracee run --input gob:PATH|-` and `tracee-rules --input-tracee format:gob`, as a user runs them."""

from __future__ import annotations

import json
import subprocess

from conftest import BIN

from tracee import Event
from tracee.formats.gob import dumps


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
