"""gob against Go itself: Go's encoding/gob decodes our stream, and we decode Go's, field for field.

The Go program (tests/interop/go, the `gointerop` fixture) mirrors Tracee v0.8.3's trace.Event and
registers the types tracee-rules registers (Debian's golang-go, standard library only).
"""

from __future__ import annotations

import io
import json
import os
import random
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from gob_samples import argument, varied_events

from tracee import Event
from tracee.formats.gob import GobDecoder, GobEncoder, concrete_type, loads

N_EVENTS = 10_000


def run_go(binary: str, mode: str, data: bytes) -> bytes:
    r = subprocess.run([binary, mode], input=data, capture_output=True, timeout=300)
    assert r.returncode == 0, r.stderr.decode()[-2000:]
    return r.stdout


def expected_json(event: Event, *, by_go: bool = False) -> dict:
    """The event as JSON; `by_go`: as Go's JSON encoder prints the trace.Event Go decoded."""
    d = json.loads(event.to_json())
    if not d["stackAddresses"]:
        d["stackAddresses"] = None  # a struct field that is an empty slice is not sent at all
    if by_go:
        for arg in d["args"] or ():
            if arg["value"] in ([], ""):
                if arg["type"] == "bytes" or isinstance(arg["value"], list):
                    arg["value"] = None  # Go's decoder leaves a nil slice for an empty one
    return d


def expected_go_type(arg: dict) -> str:
    if arg["value"] is None:
        return "<nil>"
    name = concrete_type(arg["type"], arg["value"])
    return name.replace("github.com/aquasecurity/tracee/types/trace.", "trace.")


def same(got, want, path="") -> None:
    """Equal values; float32 arguments compared at float32 precision."""
    if isinstance(want, float) or isinstance(got, float):
        assert abs(got - want) <= 1e-6 * max(1.0, abs(want)), f"{path}: {got} != {want}"
    elif isinstance(want, dict):
        assert isinstance(got, dict) and got.keys() == want.keys(), f"{path}: {got} != {want}"
        for k in want:
            same(got[k], want[k], f"{path}.{k}")
    elif isinstance(want, list):
        assert isinstance(got, list) and len(got) == len(want), f"{path}: {got} != {want}"
        for i, (g, w) in enumerate(zip(got, want)):
            same(g, w, f"{path}[{i}]")
    else:
        assert got == want and type(got) is type(want), f"{path}: {got!r} != {want!r}"


# -- the tests -------------------------------------------------------------------------------------
def test_go_decodes_our_stream_with_identical_values(gointerop):
    events = varied_events(N_EVENTS)
    encoder = GobEncoder()
    stream = b"".join(encoder.encode(e) for e in events)
    lines = run_go(gointerop, "decode", stream).decode().splitlines()
    assert len(lines) == N_EVENTS
    for i, (event, line) in enumerate(zip(events, lines)):
        got = json.loads(line)
        same(got["event"], expected_json(event, by_go=True), f"event {i}")
        assert got["types"] == [expected_go_type(a) for a in event.args], f"event {i}"


def test_we_decode_gos_stream_identically(gointerop):
    events = varied_events(N_EVENTS, seed=41)
    jsonl = "".join(e.to_json() + "\n" for e in events).encode()
    stream = run_go(gointerop, "encode", jsonl)
    decoded = loads(stream)
    assert len(decoded) == N_EVENTS
    for i, (want, got) in enumerate(zip(events, decoded)):
        same(json.loads(got.to_json()), expected_json(want), f"event {i}")


def test_go_and_we_agree_on_the_argument_types_tracee_sends(gointerop):
    # The Go side converts JSON to the values tracee-ebpf's decoder makes for each declared type;
    # our encoder picks the same ones: Go sees them after our encoding with the same %T.
    events = [Event("x", [argument(random.Random(k), k)]) for k in range(24)]
    via_go = run_go(gointerop, "decode", run_go(gointerop, "encode",
                                                 "".join(e.to_json() + "\n" for e in events).encode()))
    via_us = run_go(gointerop, "decode", _stream(events))
    assert [json.loads(x)["types"] for x in via_go.splitlines()] == \
           [json.loads(x)["types"] for x in via_us.splitlines()]


def _stream(events: list[Event]) -> bytes:
    encoder = GobEncoder()
    return b"".join(encoder.encode(e) for e in events)


def test_name_prefiltering_keeps_the_type_definitions_of_skipped_events(gointerop):
    # Go's encoder defines a type inside the first event that holds one; skipping that event must
    # still read the definition, or every later event with that type would be lost.
    events = varied_events(600, seed=7)
    stream = run_go(gointerop, "encode", "".join(e.to_json() + "\n" for e in events).encode())
    errors = []
    decoder = GobDecoder(io.BytesIO(stream), event_names={"ptrace"}, on_error=errors.append)
    kept = list(decoder.events())
    want = [e for e in events if e.event_name == "ptrace"]
    assert not errors and decoder.skipped == len(events) - len(want)
    assert [json.loads(e.to_json()) for e in kept] == [expected_json(e) for e in want]


def test_tracee_rules_reads_gos_gob_stream_from_stdin(gointerop):
    # the seed's pipeline: tracee-ebpf -o format:gob | tracee-rules --input-tracee file:stdin --input-tracee format:gob
    shadow = Path(__file__).resolve().parent / "data" / "shadow.jsonl"
    stream = run_go(gointerop, "encode", shadow.read_bytes())
    r = subprocess.run([str(Path(sys.executable).parent / "tracee-rules"), "--input-tracee", "file:stdin",
                        "--input-tracee", "format:gob", "--rules", "EXAMPLE-1"],
                       input=stream, capture_output=True, timeout=120)
    assert r.returncode == 0, r.stderr.decode()
    out = r.stdout.decode()
    assert out.count("*** Detection ***") == 1
    assert "Signature ID: EXAMPLE-1" in out and "Command: cat" in out and "Hostname: box" in out
