"""gob decoding of a stream of trace.Event values into tracee.Event, bounded and resynchronising."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, BinaryIO, Callable, Iterable, Iterator

from ...event import Event
from .types import EVENT, REGISTERED, GoType
from .wire import (_BUILTIN_NAMES, _BUILTIN_READERS, FIRST_USER_ID, K_ARRAY, K_BOOL, K_FLOAT, K_INT, K_INTERFACE,
                   K_MAP, K_SLICE, K_STRING, K_STRUCT, K_UINT, GobError, WireType, _Bad, _int, _NeedMore, _raw,
                   _str, _uint, _wire_type)

__all__ = ["GobDecoder", "Limits", "loads"]


@dataclass(frozen=True)
class Limits:
    """Bounds on what a stream may make the decoder do (Go allows 1 GiB messages; an event is KiBs)."""

    max_message: int = 16 << 20      # bytes in one message
    max_types: int = 4096            # type definitions in one stream
    max_depth: int = 64              # nesting of values (structs in slices in interfaces ...)
    max_name: int = 1024             # an interface value's type name (Go's own limit)
    resync_window: int = 1 << 20     # bytes searched for the next event after broken framing
    max_consecutive_errors: int = 10_000  # bad messages in a row before giving up


Reader = Callable[[bytes, int, int], tuple[Any, int]]
_SKIP = object()  # an event no signature selects
# Steps of the trace.Event reader (integers first, then strings: the loop tests ranges).
_S_INT, _S_UINT, _S_ID, _S_STR, _S_NAME, _S_CONTAINER, _S_ARGS, _S_FLAGS, _S_NESTED, _S_VALUE, _S_IGNORE = range(11)
_A_VALUE, _A_META, _A_META_ANY, _A_IGNORE = range(4)


def _json_shape(t: GoType, v: Any) -> Any:
    """A decoded value of a known Tracee type with JSON key names, as Tracee's JSON output has them."""
    if t.kind == K_STRUCT and type(v) is dict:
        return {json_key or go_name: _json_shape(ft, v.get(go_name)) for go_name, ft, json_key in t.fields}
    if t.kind in (K_SLICE, K_ARRAY) and type(v) is list and t.elem is not None and not t.elem.builtin:
        return [_json_shape(t.elem, item) for item in v]
    if t.kind == K_MAP and type(v) is dict and t.elem is not None and not t.elem.builtin:
        return {k: _json_shape(t.elem, item) for k, item in v.items()}
    return v


_EVENT_KEYS = {go_name: key for go_name, _, key in EVENT.fields}
_EVENT_KINDS = {go_name: t for go_name, t, _ in EVENT.fields}
# Later Tracee versions nest container and pod fields; they map onto the v0.8 flat fields.
_NESTED_KEYS = {"Container": {"ID": "containerId", "Name": "containerName", "ImageName": "containerImage"},
                "Kubernetes": {"PodName": "podName", "PodNamespace": "podNamespace", "PodUID": "podUID"}}


class GobDecoder:
    """Reads trace.Event values from a gob stream, one message at a time, never trusting it.

    `events()` yields `tracee.Event`s. With `event_names`, events whose name is not in it are
    counted in `skipped` and not built. Each bad message goes to `on_error` (a GobError naming
    its byte offset) and is counted in `errors`; `stopped` says why reading ended early, if it did.
    """

    def __init__(self, stream: BinaryIO, *, event_names: Iterable[str] | None = None,
                 limits: Limits = Limits(), on_error: Callable[[GobError], None] | None = None) -> None:
        self.stream = stream
        self.names = None if event_names is None else frozenset(event_names)
        self.limits = limits
        self.on_error = on_error or (lambda err: None)
        self.messages = self.events_read = self.skipped = self.errors = 0
        self.stopped: str | None = None
        self._wire: dict[int, WireType] = {}
        self._readers: dict[tuple[int, bool], Reader] = {}
        self._event_plans: dict[int, Any] = {}
        self._iface_cache: dict[tuple[bytes, int], tuple[Reader, GoType | None, bool]] = {}
        self._buf = bytearray()
        self._pos = 0       # next unread byte in _buf
        self._base = 0      # stream offset of _buf[0]
        self._eof = False
        self._read1 = getattr(stream, "read1", None)

    # -- the byte stream --
    def _fill(self, n: int) -> bool:
        """Make n bytes available after _pos; False at end of stream."""
        while len(self._buf) - self._pos < n:
            if self._eof:
                return False
            want = max(n - (len(self._buf) - self._pos), 1 << 16)
            chunk = self._read1(want) if self._read1 is not None else self.stream.read(want)
            if not chunk:
                self._eof = True
                return False
            self._buf += chunk
        return True

    def _frame(self, at: int) -> tuple[int, int] | str:
        """(header length, body length) of the message at buffer position `at`, or why not."""
        b = self._buf[at]
        if b < 0x80:
            return 1, b
        k = 256 - b
        if k > 8:
            return f"invalid message length ({k}-byte count)"
        if not self._fill(at - self._pos + 1 + k):
            return "stream ends inside a message length"
        n = int.from_bytes(self._buf[at + 1:at + 1 + k], "big")
        if n > self.limits.max_message:
            return f"message length {n} exceeds the limit of {self.limits.max_message} bytes"
        return 1 + k, n

    def _error(self, message: str, offset: int) -> None:
        self.errors += 1
        self.on_error(GobError(message, offset))

    # -- messages --
    def _take(self) -> tuple[int, int, bytes] | str | None:
        """The next message: (stream offset, header length, body); None at the end; or what is wrong
        with its framing (the stream is positioned at the message still)."""
        if self._pos > 1 << 16:  # drop what has been consumed (only here: positions stay valid)
            del self._buf[:self._pos]
            self._base += self._pos
            self._pos = 0
        if not self._fill(1):
            return None
        start = self._base + self._pos
        frame = self._frame(self._pos)
        if isinstance(frame, str):
            if self._eof and frame.startswith("stream ends"):
                self.stopped = f"the stream ends inside a message length at offset {start}"
            return frame
        hdr, n = frame
        if not self._fill(hdr + n):
            self.stopped = f"the stream ends inside a message of {n} bytes at offset {start}"
            return self.stopped
        body = bytes(self._buf[self._pos + hdr:self._pos + hdr + n])
        self._pos += hdr + n
        self.messages += 1
        return start, hdr, body

    def events(self) -> Iterator[Event]:
        consecutive = 0
        while True:
            taken = self._take()
            if taken is None:
                return
            if isinstance(taken, str):
                start = self._base + self._pos
                self._error(taken, start)
                if self.stopped or not self._resync(start):
                    return
                continue
            start, hdr, body = taken
            if self.messages == 1 and body[:1] and not body[0] & 1 and body[0] < 0x80:
                # every gob stream of events starts by defining a type (a negative id)
                hint = " (it looks like JSON: use format:json)" if self._buf[:1] == b"{" else ""
                self.stopped = f"this is not a gob stream: it does not start with a type definition{hint}"
                self._error(self.stopped, start)
                return
            try:
                event = self._whole_message(body)
            except _Bad as bad:
                consecutive += 1
                self._error(str(bad), start + hdr + bad.pos)
                if self.stopped:
                    return
                if consecutive >= self.limits.max_consecutive_errors:
                    self.stopped = f"{consecutive} bad messages in a row; this is not a usable gob stream"
                    return
                continue
            consecutive = 0
            if event is None:
                continue
            if event is _SKIP:
                self.skipped += 1
                continue
            self.events_read += 1
            yield event

    def _whole_message(self, body: bytes) -> Event | object | None:
        # Go's encoder defines a concrete type the first time an interface holds one *inside* the
        # value, and starts a new message after the definition: the value then continues in the
        # next message (whose length takes the place of the byte count that follows a definition).
        known = set(self._wire)
        while True:
            try:
                if not body:
                    raise _Bad("empty message", 0)
                return self._message(body)
            except _NeedMore:
                self._forget(set(self._wire) - known)  # decoded again below, with what follows
                if self._fill(1) and isinstance(self._frame(self._pos), tuple):
                    hdr, n = self._frame(self._pos)  # type: ignore[misc]
                    if len(body) + hdr + n <= self.limits.max_message and self._fill(hdr + n):
                        body += bytes(self._buf[self._pos:self._pos + hdr + n])
                        self._pos += hdr + n
                        self.messages += 1
                        continue
                raise _Bad("a value continues past its message, and the next message cannot be read",
                           len(body)) from None
            except (IndexError, RecursionError):
                raise _Bad("the message ends in the middle of a value", len(body)) from None

    def _forget(self, tids: set[int]) -> None:
        self._iface_cache.clear()
        for tid in tids:
            del self._wire[tid]
            self._event_plans.pop(tid, None)
            for fill in (True, False):
                self._readers.pop((tid, fill), None)

    def _message(self, body: bytes) -> Event | object | None:
        """A type definition (None), an event, or _SKIP."""
        tid, pos = _int(body, 0)
        if tid < 0:
            self._define(-tid, body, pos, interface=False)
            return None
        plan = self._event_plan(tid)
        return plan(body, pos)

    def _define(self, tid: int, buf: bytes, pos: int, *, interface: bool) -> int:
        if tid < FIRST_USER_ID - 1 or tid > 0x7FFFFFFF:
            raise _Bad(f"type id {tid} is outside the range a stream may define", pos)
        if tid in self._wire:
            raise _Bad(f"type id {tid} is defined twice", pos)
        if len(self._wire) >= self.limits.max_types:
            raise _Bad(f"more than {self.limits.max_types} type definitions", pos)
        wire, pos = _wire_type(buf, pos)
        if not interface and pos != len(buf):
            raise _Bad("extra data after a type definition", pos)
        self._wire[tid] = wire
        return pos

    def _type_sequence(self, buf: bytes, pos: int) -> tuple[int, int]:
        # Inside an interface value, definitions may precede the concrete type id (Go's
        # decodeTypeSequence), each followed by the byte count of what comes next.
        while True:
            tid, pos = _int(buf, pos)
            if tid >= 0:
                return tid, pos
            pos = self._define(-tid, buf, pos, interface=True)
            if pos == len(buf):
                raise _NeedMore()
            _, pos = _uint(buf, pos)

    # -- compiled readers, one per type id --
    def _type_name(self, tid: int) -> str:
        if tid in _BUILTIN_NAMES:
            return _BUILTIN_NAMES[tid]
        wire = self._wire.get(tid)
        return (wire.name or wire.kind) if wire else f"type {tid}"

    def _reader(self, tid: int, pos: int) -> Reader:
        """A reader of values of type `tid` that fills absent struct fields with zero values."""
        key = (tid, True)
        reader = self._readers.get(key)
        if reader is not None:
            return reader
        cell: list[Reader] = []
        self._readers[key] = lambda buf, p, depth: cell[0](buf, p, depth)  # for recursive types
        try:
            reader = self._build(tid, pos)
        except _Bad:
            del self._readers[key]
            raise
        cell.append(reader)
        self._readers[key] = reader
        return reader

    def _build(self, tid: int, pos: int) -> Reader:
        max_depth = self.limits.max_depth
        if tid == K_INTERFACE:
            return self._interface
        basic = _BUILTIN_READERS.get(tid)
        if basic is not None:
            return lambda buf, p, depth: basic(buf, p)
        wire = self._wire.get(tid)
        if wire is None:
            raise _Bad(f"type id {tid} is used but not defined", pos)
        if wire.kind in (K_SLICE, K_ARRAY):
            elem = wire.elem
            if elem == K_UINT or elem == K_INT or elem == K_STRING:
                read1 = _BUILTIN_READERS[elem]

                def read_basic_list(buf: bytes, p: int, depth: int) -> tuple[list, int]:
                    at = p
                    n, p = _uint(buf, p)
                    if n > len(buf) - p:
                        raise _Bad(f"{n} elements exceed the message", at)
                    out = []
                    for _ in range(n):
                        v, p = read1(buf, p)
                        out.append(v)
                    return out, p

                return read_basic_list
            elem_reader = self._reader(elem, pos)

            def read_list(buf: bytes, p: int, depth: int) -> tuple[list, int]:
                if depth > max_depth:
                    raise _Bad("values nested too deep", p)
                at = p
                n, p = _uint(buf, p)
                if n > len(buf) - p:
                    raise _Bad(f"{n} elements exceed the message", at)
                out = []
                for _ in range(n):
                    v, p = elem_reader(buf, p, depth + 1)
                    out.append(v)
                return out, p

            return read_list
        if wire.kind == K_MAP:
            key_reader, elem_reader = self._reader(wire.key, pos), self._reader(wire.elem, pos)

            def read_map(buf: bytes, p: int, depth: int) -> tuple[dict, int]:
                if depth > max_depth:
                    raise _Bad("values nested too deep", p)
                at = p
                n, p = _uint(buf, p)
                if 2 * n > len(buf) - p:
                    raise _Bad(f"{n} map entries exceed the message", at)
                out = {}
                for _ in range(n):
                    k, p = key_reader(buf, p, depth + 1)
                    v, p = elem_reader(buf, p, depth + 1)
                    try:
                        out[k] = v
                    except TypeError:
                        raise _Bad(f"map keys of type {self._type_name(wire.key)} are not supported", p) from None
                return out, p

            return read_map
        if wire.kind == K_STRUCT:
            names = [name for name, _ in wire.fields]
            readers = [self._reader(ftid, pos) for _, ftid in wire.fields]
            zeros = [self._zero(ftid, 0) for _, ftid in wire.fields]
            nf = len(names)

            def read_struct(buf: bytes, p: int, depth: int) -> tuple[dict, int]:
                if depth > max_depth:
                    raise _Bad("values nested too deep", p)
                out = {}
                field = -1
                while True:
                    at = p
                    delta, p = _uint(buf, p)
                    if delta == 0:
                        break
                    field += delta
                    if field >= nf:
                        raise _Bad(f"field number {field} of {wire.name or 'a struct'} does not exist", at)
                    out[names[field]], p = readers[field](buf, p, depth + 1)
                if len(out) < nf:
                    for i, name in enumerate(names):
                        if name not in out:
                            out[name] = zeros[i]()
                return out, p

            return read_struct
        # opaque (GobEncoder, BinaryMarshaler, TextMarshaler): the bytes
        return lambda buf, p, depth: _raw(buf, p)

    def _zero(self, tid: int, depth: int) -> Callable[[], Any]:
        """A factory of the zero value of type `tid`, as Go's JSON shows an unset field."""
        if tid in (K_INT, K_UINT):
            return lambda: 0
        if tid == K_FLOAT:
            return lambda: 0.0
        if tid == K_STRING:
            return lambda: ""
        if tid == K_BOOL:
            return lambda: False
        wire = self._wire.get(tid)
        if wire is not None and wire.kind == K_STRUCT and depth < 8:
            parts = [(name, self._zero(ftid, depth + 1)) for name, ftid in wire.fields]
            return lambda: {name: make() for name, make in parts}
        return lambda: None  # nil slices, maps, interfaces, []byte (and recursive structs)

    def _interface(self, buf: bytes, p: int, depth: int) -> tuple[Any, int]:
        # Fast path: a type name and type id seen before (the usual case), read as one lookup.
        b = buf[p]
        if b == 0:
            return None, p + 1  # nil
        if b < 0x80:
            q = p + 1 + b
            t = buf[q] if q < len(buf) else 1
            if t < 0x80 and not t & 1:
                known = self._iface_cache.get((buf[p + 1:q], t >> 1))
                r = q + 1
            elif t == 0xFF and q + 1 < len(buf) and not buf[q + 1] & 1:
                known = self._iface_cache.get((buf[p + 1:q], buf[q + 1] >> 1))
                r = q + 2
            else:
                known = None
            if known is not None:
                read, shape, singleton = known
                c = buf[r]
                if c < 0x80:
                    r += 1
                else:
                    c, r = _uint(buf, r)
                if c > len(buf) - r:
                    raise _Bad(f"interface value of {c} bytes exceeds the message", r)
                if singleton:
                    if buf[r] != 0:
                        raise _Bad(f"a value must start with field delta 0, not {buf[r]}", r)
                    r += 1
                value, r = read(buf, r, depth + 1)
                return (value if shape is None else _json_shape(shape, value)), r
        return self._interface_slow(buf, p, depth)

    def _interface_slow(self, buf: bytes, p: int, depth: int) -> tuple[Any, int]:
        if depth > self.limits.max_depth:
            raise _Bad("values nested too deep", p)
        n, p = _uint(buf, p)
        if n > self.limits.max_name:
            raise _Bad(f"interface type name of {n} bytes is too long", p)
        end = p + n
        if end > len(buf):
            raise _Bad("interface type name runs past the message", p)
        raw_name = buf[p:end]
        name = raw_name.decode("utf-8", "replace")
        defined = len(self._wire)
        tid, p = self._type_sequence(buf, end)
        at = p
        count, p = _uint(buf, p)
        if count > len(buf) - p:
            raise _Bad(f"interface value of {count} bytes exceeds the message", at)
        value, p = self._value(tid, buf, p, depth + 1)
        known = REGISTERED.get(name)
        shape = known if known is not None and not known.builtin else None
        if shape is not None:
            value = _json_shape(shape, value)
        if len(self._wire) == defined and len(self._iface_cache) < 1024:  # bounded: names are the stream's
            wire = self._wire.get(tid)
            self._iface_cache[(raw_name, tid)] = (self._reader(tid, 0), shape, wire is None or wire.kind != K_STRUCT)
        return value, p

    def _skip_interface(self, buf: bytes, p: int, depth: int) -> tuple[None, int]:
        n, p = _uint(buf, p)
        if n == 0:
            return None, p
        if n > self.limits.max_name or p + n > len(buf):
            raise _Bad(f"interface type name of {n} bytes is too long", p)
        _, p = self._type_sequence(buf, p + n)
        at = p
        count, p = _uint(buf, p)
        if count > len(buf) - p:
            raise _Bad(f"interface value of {count} bytes exceeds the message", at)
        return None, p + count

    def _value(self, tid: int, buf: bytes, p: int, depth: int) -> tuple[Any, int]:
        """A value as a message or an interface carries it: a struct, or a one-field struct."""
        wire = self._wire.get(tid)
        if wire is None or wire.kind != K_STRUCT:
            delta, p = _uint(buf, p)
            if delta != 0:
                raise _Bad(f"a {self._type_name(tid)} value must start with field delta 0, not {delta}", p)
        return self._reader(tid, p)(buf, p, depth)

    # -- events --
    def _event_plan(self, tid: int) -> Callable[[bytes, int], Any]:
        plan = self._event_plans.get(tid)
        if plan is None:  # a type that fails here fails each time (not cached: it is cheap)
            plan = self._build_event_plan(tid)
            self._event_plans[tid] = plan
        return plan

    def _check(self, go_name: str, expected: GoType, tid: int) -> None:
        """Go's compatibility rule between a trace.Event field and the type the stream sent."""
        if expected.builtin:
            ok = tid == expected.kind
        elif expected.kind == K_SLICE:
            wire = self._wire.get(tid)
            ok = wire is not None and wire.kind in (K_SLICE, K_ARRAY) and (
                not expected.elem.builtin or wire.elem == expected.elem.kind)  # type: ignore[union-attr]
        else:
            wire = self._wire.get(tid)
            ok = wire is not None and wire.kind == K_STRUCT
        if not ok:
            raise _Bad(f"field {go_name} is {self._type_name(tid)} on the stream, "
                       f"but {expected.name} in trace.Event", 0)

    def _build_event_plan(self, tid: int) -> Callable[[bytes, int], Any]:
        wire = self._wire.get(tid)
        if wire is None:
            raise _Bad(f"type id {tid} is used but not defined (a stream must start with its type definitions)", 0)
        if wire.kind != K_STRUCT:
            raise _Bad(f"a {self._type_name(tid)} value is not a trace.Event", 0)
        if not {name for name, _ in wire.fields} & {"EventName", "EventID"}:
            raise _Bad(f"struct {wire.name or tid} is not a trace.Event (no EventName)", 0)
        # One step per wire field: (code, reader, key). The loop below is the decoding hot path:
        # varints of one byte (most field deltas, small ints, string lengths) are read inline.
        steps: list[tuple[int, Any, str]] = []
        for go_name, ftid in wire.fields:
            expected = _EVENT_KINDS.get(go_name)
            if expected is not None:
                self._check(go_name, expected, ftid)
            key = _EVENT_KEYS.get(go_name, "")
            if go_name == "EventName":
                steps.append((_S_NAME, None, key))
            elif go_name == "EventID":
                steps.append((_S_ID, None, key))
            elif go_name == "ContainerID":
                steps.append((_S_CONTAINER, None, key))
            elif go_name == "ContextFlags":
                steps.append((_S_FLAGS, self._reader(ftid, 0), key))
            elif go_name == "Args":
                steps.append((_S_ARGS, self._args_reader(ftid), key))
            elif go_name in _NESTED_KEYS:
                steps.append((_S_NESTED, self._reader(ftid, 0), go_name))
            elif expected is not None and expected.builtin:
                steps.append(({K_INT: _S_INT, K_UINT: _S_UINT, K_STRING: _S_STR}[expected.kind], None, key))
            elif expected is not None:
                steps.append((_S_VALUE, self._reader(ftid, 0), key))
            else:
                steps.append((_S_IGNORE, self._reader(ftid, 0), go_name))  # a field v0.8.3 does not have
        nf = len(steps)
        names = self.names
        args_tid = dict(wire.fields).get("Args")
        skip_args = self._args_reader(args_tid, skip=True) if args_tid is not None else None
        from_trusted = Event.from_trusted

        codes = [code for code, _, _ in steps]

        def peek(buf: bytes, p: int) -> tuple[str, int, int] | None:
            """(event name, position after it, its field number), stepping over the fields before it
            without building them; None when a field before it is not a plain int or string."""
            field = -1
            while True:
                b = buf[p]
                if b < 0x80:
                    p += 1
                else:
                    b, p = _uint(buf, p)
                if b == 0:
                    return "", p - 1, field  # no name: the end mark is read by the caller
                field += b
                if field >= nf:
                    return None
                code = codes[field]
                b = buf[p]
                if code == _S_NAME:
                    if b < 0x80:
                        return buf[p + 1:p + 1 + b].decode("utf-8", "replace"), p + 1 + b, field
                    name, p = _str(buf, p)
                    return name, p, field
                if code <= _S_ID:
                    p += 1 if b < 0x80 else 257 - b
                elif code <= _S_CONTAINER:
                    if b < 0x80:
                        p += 1 + b
                    else:
                        n, p = _uint(buf, p)
                        p += n
                else:
                    return None

        def plan(buf: bytes, p: int) -> Any:
            data: dict[str, Any] = {}
            name, event_id, container_id, started, args = "", 0, "", False, []
            skip = False
            field = -1
            end = len(buf)
            if names is not None:
                peeked = peek(buf, p)
                if peeked is not None and peeked[0] not in names:
                    # not selected: only what may follow the name is walked (type definitions)
                    name, p, field = peeked
                    skip = True
            while True:
                at = p
                b = buf[p]
                if b < 0x80:
                    delta = b
                    p += 1
                else:
                    delta, p = _uint(buf, p)
                if delta == 0:
                    break
                field += delta
                if field >= nf:
                    raise _Bad(f"field number {field} of trace.Event does not exist", at)
                code, read, key = steps[field]
                if code <= _S_ID:  # an integer
                    b = buf[p]
                    if b < 0x80:
                        u = b
                        p += 1
                    else:
                        q = p + 257 - b
                        if b < 0xF8 or q > end:
                            raise _Bad("invalid or truncated integer", p)
                        u = int.from_bytes(buf[p + 1:q], "big")
                        p = q
                    v = u if code == _S_UINT else (~(u >> 1) if u & 1 else u >> 1)
                    if code == _S_ID:
                        event_id = v
                    else:
                        data[key] = v
                elif code <= _S_CONTAINER:  # a string
                    b = buf[p]
                    if b < 0x80:
                        q = p + 1 + b
                        if q > end:
                            raise _Bad(f"length {b} exceeds the {end - p - 1} bytes left in the message", p)
                        v = buf[p + 1:q].decode("utf-8", "replace")
                        p = q
                    else:
                        v, p = _str(buf, p)
                    if code == _S_STR:
                        data[key] = v
                    elif code == _S_NAME:
                        name = v
                        if names is not None and v not in names:
                            skip = True  # go on only for the type definitions the rest may hold
                    else:
                        container_id = v
                elif code == _S_ARGS:
                    args, p = (skip_args if skip else read)(buf, p, 1)
                elif code == _S_FLAGS:
                    flags, p = read(buf, p, 1)
                    started = flags.get("ContainerStarted") is True
                elif code == _S_NESTED:
                    nested, p = read(buf, p, 1)
                    for sub, wire_key in _NESTED_KEYS[key].items():
                        if nested.get(sub):
                            data[wire_key] = nested[sub]
                            if wire_key == "containerId":
                                container_id = nested[sub]
                else:
                    v, p = read(buf, p, 1)
                    if code == _S_VALUE:
                        data[key] = v
            if p != end:
                raise _Bad(f"{end - p} bytes follow the event in its message", p)
            if skip or (names is not None and name not in names):  # (a zero name is not sent)
                return _SKIP
            if "argsNum" not in data:
                data["argsNum"] = 0
            return from_trusted(data, name, event_id, container_id, started, args)

        return plan

    def _args_reader(self, tid: int, *, skip: bool = False) -> Reader:
        """[]Argument -> Tracee's [{"name", "type", "value"}] (ArgMeta's fields lifted, as in JSON).
        With `skip`, values are stepped over by their byte count (type definitions still read)."""
        wire = self._wire.get(tid)
        elem = self._wire.get(wire.elem) if wire else None
        if elem is None or elem.kind != K_STRUCT:
            raise _Bad("field Args is not a list of arguments", 0)
        steps = []
        for go_name, ftid in elem.fields:
            if go_name == "ArgMeta":
                meta = self._wire.get(ftid)
                if meta is None or meta.kind != K_STRUCT:
                    raise _Bad("Argument.ArgMeta is not a struct", 0)
                if meta.fields == (("Name", K_STRING), ("Type", K_STRING)):
                    steps.append((_A_META, None))  # Tracee's layout, read inline
                else:
                    steps.append((_A_META_ANY, self._reader(ftid, 0)))
            elif go_name == "Value":
                if ftid != K_INTERFACE:
                    raise _Bad(f"Argument.Value is {self._type_name(ftid)}, not an interface", 0)
                steps.append((_A_VALUE, self._skip_interface if skip else self._interface))
            else:
                steps.append((_A_IGNORE, self._reader(ftid, 0)))
        nf = len(steps)

        def read_args(buf: bytes, p: int, depth: int) -> tuple[list, int]:
            end = len(buf)
            at = p
            n, p = _uint(buf, p)
            if n > len(buf) - p:
                raise _Bad(f"{n} arguments exceed the message", at)
            out = []
            for _ in range(n):
                arg_name, arg_type, value = "", "", None
                field = -1
                while True:
                    at = p
                    b = buf[p]
                    if b < 0x80:
                        delta = b
                        p += 1
                    else:
                        delta, p = _uint(buf, p)
                    if delta == 0:
                        break
                    field += delta
                    if field >= nf:
                        raise _Bad(f"field number {field} of trace.Argument does not exist", at)
                    code, read = steps[field]
                    if code == _A_VALUE:
                        value, p = read(buf, p, depth + 1)
                    elif code == _A_META:
                        mfield = -1
                        while True:
                            at = p
                            d = buf[p]
                            p += 1
                            if d == 0:
                                break
                            mfield += d
                            if mfield > 1 or d >= 0x80:
                                raise _Bad(f"field number {mfield} of trace.ArgMeta does not exist", at)
                            b = buf[p]
                            if b < 0x80:
                                q = p + 1 + b
                                if q > end:
                                    raise _Bad(f"length {b} exceeds the message", p)
                                text = buf[p + 1:q].decode("utf-8", "replace")
                                p = q
                            else:
                                text, p = _str(buf, p)
                            if mfield == 0:
                                arg_name = text
                            else:
                                arg_type = text
                    elif code == _A_META_ANY:
                        meta, p = read(buf, p, depth + 1)
                        arg_name, arg_type = meta.get("Name", ""), meta.get("Type", "")
                        if type(arg_name) is not str or type(arg_type) is not str:
                            raise _Bad("argument name and type must be strings", p)
                    else:
                        _, p = read(buf, p, depth + 1)
                out.append({"name": arg_name, "type": arg_type, "value": value})
            return out, p

        return read_args

    # -- broken framing --
    def _resync(self, start: int) -> bool:
        """After a message length that cannot be right, find the next message that decodes as an
        event within `resync_window` bytes; report what was skipped. False: stop reading."""
        self._fill(self.limits.resync_window)
        buf, first = self._buf, self._pos + 1
        limit = min(len(buf), self._pos + self.limits.resync_window)
        plans = [tid for tid, wire in self._wire.items() if wire.kind == K_STRUCT and tid in self._event_plans]
        if plans:
            names, self.names = self.names, None  # decode in full: a candidate must be a whole event
            try:
                for at in range(first, limit):
                    b = buf[at]
                    if b >= 0x80 and 256 - b > 8:
                        continue
                    frame = self._frame(at) if b >= 0x80 else (1, b)
                    if isinstance(frame, str) or frame[1] == 0:
                        continue
                    hdr, n = frame
                    if at + hdr + n > len(buf):
                        continue
                    try:
                        tid, _ = _int(buf, at + hdr)
                        if tid not in plans:
                            continue
                        body = bytes(buf[at + hdr:at + hdr + n])
                        tid, p = _int(body, 0)
                        self._event_plans[tid](body, p)
                    except (_Bad, IndexError, RecursionError):
                        continue
                    skipped = at - self._pos
                    self._pos = at
                    self._error(f"resynchronised: skipped {skipped} bytes up to the next event", start)
                    return True
            finally:
                self.names = names
        self.stopped = f"cannot find the next message after offset {start}; stopped"
        return False

    def stats(self) -> dict[str, int]:
        return {"messages": self.messages, "events": self.events_read, "skipped": self.skipped,
                "errors": self.errors}


def loads(data: bytes, *, limits: Limits = Limits()) -> list[Event]:
    """Every event of a complete gob stream; the first bad message raises GobError."""
    import io

    def fail(err: GobError) -> None:
        raise err

    decoder = GobDecoder(io.BytesIO(data), limits=limits, on_error=fail)
    events = list(decoder.events())
    if decoder.stopped:
        raise GobError(decoder.stopped, len(data))
    return events
