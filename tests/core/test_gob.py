"""The gob codec on its own: round trips, Tracee's layouts, and streams an attacker shaped."""

from __future__ import annotations

import io
import random
import time

import pytest
from gob_samples import varied_events

from tracee import Event
from tracee.formats.gob import (EVENT, GobDecoder, GobEncodeError, GobEncoder, GobError, GoType, Limits,
                                dumps, loads, types, wire)


def ptrace(pid: int = 90731, name: str = "ptrace") -> Event:
    return Event(name, [{"name": "request", "type": "long", "value": 0},
                        {"name": "pid", "type": "pid_t", "value": 0}],
                 event_id=101, process_id=pid, host_process_id=pid, process_name="strace", timestamp=1)


def decode(data: bytes, **kwargs) -> tuple[list[Event], list[GobError], GobDecoder]:
    errors: list[GobError] = []
    decoder = GobDecoder(io.BytesIO(data), on_error=errors.append, **kwargs)
    return list(decoder.events()), errors, decoder


def messages(data: bytes) -> list[tuple[int, int]]:
    """(offset, total length) of each message of a well-formed stream."""
    out, pos = [], 0
    while pos < len(data):
        n, body = wire._uint(data, pos)
        out.append((pos, body - pos + n))
        pos = body + n
    return out


# -- round trips -----------------------------------------------------------------------------------
def test_round_trip_of_varied_events():
    events = varied_events(1500, seed=3)
    back = loads(dumps(events))
    for e in events:
        if e.stack_addresses == []:
            e.stack_addresses = None  # a struct field holding an empty slice is not sent (Go's rule)
    assert [e.to_dict() for e in back] == [e.to_dict() for e in events]


def test_the_point_example_of_gos_documentation_decodes():
    # `type Point struct {X, Y int}; Point{22, 33}`, bytes as printed in encoding/gob's doc.go.
    data = bytes.fromhex("1fff810301010550 6f696e7401ff8200 0102010158010400 01015901040000 00"
                         "07ff82012c014200".replace(" ", ""))
    d = GobDecoder(io.BytesIO(data))
    assert d._message(data[1:32]) is None  # the type definition
    value, _ = d._value(65, data[35:], 0, 0)  # the Point value, after its length and type id
    assert value == {"X": 22, "Y": 33}


def test_type_definitions_are_sent_once_per_stream():
    enc = GobEncoder()
    first, second = enc.encode(ptrace()), enc.encode(ptrace())
    assert len(messages(first)) > 1 and len(messages(second)) == 1
    assert b"ArgMeta" in first and b"ArgMeta" not in second


def test_an_event_that_cannot_be_sent_names_the_field_and_writes_nothing():
    enc = GobEncoder(stream=io.BytesIO())
    bad = Event("x", [{"name": "huge", "type": "int", "value": 2**70}])
    with pytest.raises(GobEncodeError, match="argument 'huge': 1180591620717411303424 does not fit"):
        enc.encode(bad)
    assert enc.stream.getvalue() == b""
    # A context field of the wrong type never reaches the encoder: the event model reads it as its
    # default (reported once), so it is sent as 0.
    assert loads(GobEncoder().encode(Event.from_dict({"eventName": "x", "processId": "12"})))[0].process_id == 0
    # the encoder is still consistent: the next event carries the definitions the failed one did not send
    good = enc.encode(ptrace())
    assert loads(good)[0].to_dict() == ptrace().to_dict()


def test_values_keep_their_exact_value_when_they_do_not_fit_the_declared_type():
    event = Event("x", [{"name": "a", "type": "int", "value": 2**40},
                        {"name": "b", "type": "unsigned int", "value": -3},
                        {"name": "c", "type": "void*", "value": 2**64 - 1},
                        {"name": "d", "type": "bytes", "value": "AAE="},
                        {"name": "e", "type": "bytes", "value": "not base64!"}])
    back = loads(dumps([event]))[0]
    assert [a["value"] for a in back.args] == [2**40, -3, 2**64 - 1, b"\x00\x01", "not base64!"]


def test_a_later_tracee_layout_decodes_its_known_fields():
    # v0.9+ adds MatchedScopes; later versions nest container and pod fields. Unknown fields are
    # ignored, as Go's decoder ignores them; the nested ones map onto the v0.8 flat fields.
    container = types._struct("Container", ("ID", types.STRING, "id"), ("Name", types.STRING, "name"),
                            ("ImageName", types.STRING, "image"))
    later = types._struct("Event", ("Timestamp", types.INT, "timestamp"), ("EventName", types.STRING, "eventName"),
                        ("MatchedScopes", types.UINT, "matchedScopes"), ("Container", container, "container"),
                        ("Args", EVENT.fields[-1][1], "args"))
    enc = GobEncoder()
    enc._pending = bytearray()
    body = bytearray()
    wire._put_int(body, enc._type_id(later))
    enc._value(body, later, {"timestamp": 7, "eventName": "openat", "matchedScopes": 3,
                             "container": {"id": "abc", "name": "web", "image": "nginx"}, "args": []}, "event")
    data = bytes(enc._pending) + bytes([len(body)]) + bytes(body)
    (event,) = loads(data)
    assert (event.timestamp, event.event_name, event.container_id, event.container_name,
            event.container_image, event.origin) == (7, "openat", "abc", "web", "nginx", "container-init")


# -- name pre-filtering ----------------------------------------------------------------------------
def test_events_no_signature_selects_are_counted_as_skipped():
    data = dumps([ptrace(1, "ptrace"), ptrace(2, "openat"), ptrace(3, "ptrace")])
    events, errors, d = decode(data, event_names={"ptrace"})
    assert [e.process_id for e in events] == [1, 3] and not errors
    assert (d.events_read, d.skipped) == (2, 1)


# -- hostile streams -------------------------------------------------------------------------------
def test_every_truncation_is_reported_without_an_exception():
    data = dumps([ptrace(1), ptrace(2)])
    for cut in range(len(data)):
        events, errors, d = decode(data[:cut])
        assert len(events) <= 2
        if cut not in {off for off, _ in messages(data)}:
            assert len(errors) == 1 and d.stopped and "the stream ends inside a message" in d.stopped, cut


def test_random_corruption_never_crashes_and_bad_messages_are_counted():
    data = dumps(varied_events(40, seed=9))
    rng = random.Random(1)
    for _ in range(400):
        broken = bytearray(data)
        for _ in range(rng.randrange(1, 6)):
            broken[rng.randrange(len(broken))] = rng.randrange(256)
        events, errors, d = decode(bytes(broken), limits=Limits(max_message=1 << 20))
        assert d.errors == len(errors)
        for err in errors:
            assert str(err).startswith("gob: offset ") and "\n" not in str(err)
            assert 0 <= err.offset <= len(broken)


def test_a_huge_length_allocates_nothing_and_the_decoder_stops_cleanly():
    data = b"\xf8\x7f\xff\xff\xff\xff\xff\xff\xff" + b"\x00" * 100  # a message of 2^63-1 bytes
    events, errors, d = decode(data)
    assert events == [] and "exceeds the limit" in errors[0].message and errors[0].offset == 0
    assert d.stopped and "cannot find the next message" in d.stopped


def test_counts_larger_than_the_message_are_refused_before_allocating():
    enc = GobEncoder()
    defs = enc.encode(ptrace())
    # an event whose Args slice claims 2^40 arguments in a 20-byte message
    body = bytearray()
    wire._put_int(body, 65)
    wire._put_uint(body, 28)  # field 27: Args
    wire._put_uint(body, 1 << 40)
    events, errors, _ = decode(defs + bytes([len(body)]) + bytes(body))
    assert len(events) == 1 and "1099511627776 arguments exceed the message" in errors[0].message
    assert errors[0].offset == len(defs) + 1 + 2 + 1  # where the count starts


def test_deeply_nested_values_are_refused():
    # type Event struct { EventName string; Kids []Event }, and a value nested 10,000 deep
    defs = _def(65, _wire_struct("Event", [("EventName", 6), ("Kids", 66)], 65)) + _def(66, _wire_slice("", 65, 66))
    value = bytearray()
    wire._put_int(value, 65)
    value += b"\x02\x01" * 10_000 + b"\x00" * 10_001
    framed = bytearray()
    wire._put_uint(framed, len(value))
    events, errors, _ = decode(defs + bytes(framed) + bytes(value))
    assert events == [] and len(errors) == 1 and "values nested too deep" in errors[0].message


def test_type_definition_limits():
    events, errors, _ = decode(_def(65, _wire_slice("", 6, 65)) * 2 + dumps([ptrace()]))
    assert any("defined twice" in e.message for e in errors)
    events, errors, _ = decode(_def(12, _wire_slice("", 6, 12)))
    assert "outside the range" in errors[0].message
    many = b"".join(_def(tid, _wire_slice("", 6, tid)) for tid in range(65, 65 + 50))
    events, errors, _ = decode(many, limits=Limits(max_types=10))
    assert sum("more than 10 type definitions" in e.message for e in errors) == 40


def test_a_value_of_an_undefined_type_is_reported():
    body = bytearray()
    wire._put_int(body, 99)
    body += b"\x00"
    events, errors, _ = decode(bytes([len(body)]) + bytes(body) + dumps([ptrace()]))
    assert "type id 99 is used but not defined" in errors[0].message
    assert len(events) == 1  # the stream goes on


def test_garbage_between_messages_is_skipped_and_the_stream_resynchronises():
    data = dumps([ptrace(1), ptrace(2), ptrace(3)])
    last = messages(data)[-1][0]
    broken = data[:last] + b"\xc7\xff\x00garbage\xf0" * 30 + data[last:]
    events, errors, d = decode(broken)
    assert [e.process_id for e in events] == [1, 2, 3]
    assert any("resynchronised: skipped" in e.message for e in errors) and not d.stopped


def test_a_stream_that_is_not_gob_stops_at_once_with_the_reason():
    events, errors, d = decode(b'{"eventName":"ptrace"}\n' * 1000)
    assert events == [] and len(errors) == 1
    assert d.stopped == "this is not a gob stream: it does not start with a type definition (it looks like JSON: use format:json)"


def test_many_bad_messages_in_a_row_end_the_stream():
    junk = b"\x02\x04\x00" * 50  # 50 messages holding an int, not an event
    events, errors, d = decode(dumps([ptrace()]) + junk, limits=Limits(max_consecutive_errors=20))
    assert len(errors) == 20 and "in a row" in d.stopped


def test_decoding_a_large_hostile_stream_is_bounded_in_time():
    rng = random.Random(5)
    junk = bytes(rng.randrange(256) for _ in range(300_000))
    start = time.monotonic()
    decode(dumps([ptrace()]) + junk)
    assert time.monotonic() - start < 30


# -- helpers to write type definitions by hand ----------------------------------------------------
def _common(name: str, tid: int) -> bytes:
    out = bytearray(b"\x01")  # CommonType
    if name:
        out += b"\x01"
        wire._put_bytes(out, name.encode())
        out += b"\x01"
    else:
        out += b"\x02"
    wire._put_int(out, tid)
    return bytes(out + b"\x00")


def _wire_struct(name: str, fields: list[tuple[str, int]], tid: int) -> bytes:
    out = bytearray(b"\x03" + _common(name, tid) + b"\x01")
    wire._put_uint(out, len(fields))
    for fname, ftid in fields:
        out += b"\x01"
        wire._put_bytes(out, fname.encode())
        out += b"\x01"
        wire._put_int(out, ftid)
        out += b"\x00"
    return bytes(out + b"\x00\x00")


def _wire_slice(name: str, elem: int, tid: int) -> bytes:
    out = bytearray(b"\x02" + _common(name, tid) + b"\x01")
    wire._put_int(out, elem)
    return bytes(out + b"\x00\x00")


def _def(tid: int, definition: bytes) -> bytes:
    body = bytearray()
    wire._put_int(body, -tid)
    body += definition
    framed = bytearray()
    wire._put_uint(framed, len(body))
    return bytes(framed + body)


def test_hand_written_definitions_match_the_encoders():
    enc = GobEncoder()
    enc._pending = bytearray()
    enc._type_id(GoType(wire.K_SLICE, "[]string", elem=types.STRING))
    assert bytes(enc._pending) == _def(65, _wire_slice("[]string", 6, 65))


def test_a_long_stream_read_in_small_pieces_decodes_whole():
    class Trickle(io.RawIOBase):
        """A pipe that hands out at most 1000 bytes per read."""

        def __init__(self, data: bytes) -> None:
            self.data, self.pos = data, 0

        def readable(self) -> bool:
            return True

        def read1(self, n: int = -1) -> bytes:
            chunk = self.data[self.pos:self.pos + min(n, 1000)]
            self.pos += len(chunk)
            return chunk

        read = read1

    events = [ptrace(pid) for pid in range(5000)]  # about 600 KB: the read buffer is recycled
    errors: list[GobError] = []
    decoder = GobDecoder(Trickle(dumps(events)), on_error=errors.append)
    assert [e.process_id for e in decoder.events()] == list(range(5000)) and not errors
