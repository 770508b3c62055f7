"""gob encoding of tracee.Event as Go's gob.Encoder encodes trace.Event values, one after another."""

from __future__ import annotations

import base64
from typing import Any, BinaryIO, Iterable

from ...event import FIELDS, Event
from .types import EVENT, INT, REGISTERED, STRING, UINT, GoType, _children, _is_zero, concrete_type
from .wire import (_I64, _U64, FIRST_USER_ID, K_ARRAY, K_BOOL, K_BYTES, K_FLOAT, K_INT, K_INTERFACE, K_MAP,
                   K_SLICE, K_STRING, K_STRUCT, K_UINT, GobEncodeError, _put_bytes, _put_float, _put_int,
                   _put_uint)

__all__ = ["GobEncoder", "dumps"]

_ATTR = {key: attr for key, attr, _ in FIELDS}  # wire key -> tracee.Event attribute (one home: event.py)
_ATTR.update(eventId="event_id", eventName="event_name", containerId="container_id")
_E_INT, _E_UINT, _E_STR, _E_FLAGS, _E_ARGS, _E_OTHER = range(6)
_EVENT_ENCODING = tuple(
    (i, {"contextFlags": _E_FLAGS, "args": _E_ARGS}.get(key) or
     {INT: _E_INT, UINT: _E_UINT, STRING: _E_STR}.get(t, _E_OTHER), key, _ATTR.get(key, ""), t)  # type: ignore[call-overload]
    for i, (_, t, key) in enumerate(EVENT.fields))


class GobEncoder:
    """Writes trace.Event values as one Go gob.Encoder does: type definitions once, as they are
    first needed, then one message per event. `encode` returns the bytes of one event (and writes
    them to `stream` if given); an event that cannot be sent raises GobEncodeError and writes nothing."""

    def __init__(self, stream: BinaryIO | None = None) -> None:
        self.stream = stream
        self._ids: dict[int, int] = {}  # id(GoType) -> type id sent on this stream
        self._types: list[GoType] = []  # keeps the GoTypes alive while their id() is used as key
        self._next_id = FIRST_USER_ID
        self._pending = bytearray()  # type definitions the current event needs, sent before it
        self._iface_prefix: dict[str, bytes] = {}  # concrete type -> its name and id, encoded
        self._meta_cache: dict[tuple[str, str], bytes] = {}  # (name, type) -> encoded ArgMeta
        self.written = 0

    # -- type definitions --
    def _type_id(self, t: GoType) -> int:
        if t.builtin:
            return t.kind
        tid = self._ids.get(id(t))
        if tid is None:
            new: list[GoType] = []
            self._assign(t, new)
            for nt in new:  # parent first, as Go's encoder sends them
                body = bytearray()
                _put_int(body, -self._ids[id(nt)])
                self._wire_type(body, nt, self._ids[id(nt)], [self._type_id(c) for c in _children(nt)])
                _put_uint(self._pending, len(body))
                self._pending += body
            tid = self._ids[id(t)]
        return tid

    def _assign(self, t: GoType, new: list[GoType]) -> None:
        # Every new type gets its id before any definition is written, so each names its children.
        if t.builtin or id(t) in self._ids:
            return
        self._ids[id(t)] = self._next_id
        self._next_id += 1
        self._types.append(t)
        new.append(t)
        for child in _children(t):
            self._assign(child, new)

    @staticmethod
    def _wire_type(out: bytearray, t: GoType, tid: int, child_ids: list[int]) -> None:
        def common() -> None:
            _put_uint(out, 1)  # CommonType
            if t.name:
                _put_uint(out, 1)
                _put_bytes(out, t.name.encode())
                _put_uint(out, 1)
            else:
                _put_uint(out, 2)
            _put_int(out, tid)
            _put_uint(out, 0)

        if t.kind == K_STRUCT:
            _put_uint(out, 3)  # wireType.StructT
            common()
            _put_uint(out, 1)  # Field
            _put_uint(out, len(t.fields))
            for (name, _, _), fid in zip(t.fields, child_ids):
                _put_uint(out, 1)
                _put_bytes(out, name.encode())
                _put_uint(out, 1)
                _put_int(out, fid)
                _put_uint(out, 0)
        elif t.kind == K_SLICE:
            _put_uint(out, 2)  # wireType.SliceT
            common()
            _put_uint(out, 1)
            _put_int(out, child_ids[0])
        elif t.kind == K_ARRAY:
            _put_uint(out, 1)  # wireType.ArrayT
            common()
            _put_uint(out, 1)
            _put_int(out, child_ids[0])
            if t.length:
                _put_uint(out, 1)
                _put_int(out, t.length)
        elif t.kind == K_MAP:
            _put_uint(out, 4)  # wireType.MapT
            common()
            _put_uint(out, 1)
            _put_int(out, child_ids[0])  # Key
            _put_uint(out, 1)
            _put_int(out, child_ids[1])  # Elem
        else:  # pragma: no cover - only composite types are defined
            raise GobEncodeError(f"cannot define type {t.name}")
        _put_uint(out, 0)  # end of the inner type
        _put_uint(out, 0)  # end of wireType

    # -- values --
    def _value(self, out: bytearray, t: GoType, v: Any, where: str) -> None:
        k = t.kind
        try:
            if k == K_INT:
                if type(v) is not int and type(v) is not bool:
                    raise GobEncodeError(f"{where}: {v!r} is not an integer")
                if not -_I64 <= v < _I64:
                    raise GobEncodeError(f"{where}: {v} does not fit a Go int64")
                _put_int(out, int(v))
            elif k == K_UINT:
                if type(v) is not int:
                    raise GobEncodeError(f"{where}: {v!r} is not an integer")
                if not 0 <= v < _U64:
                    raise GobEncodeError(f"{where}: {v} does not fit a Go uint64")
                _put_uint(out, v)
            elif k == K_STRING:
                if type(v) is not str:
                    raise GobEncodeError(f"{where}: {v!r} is not a string")
                _put_bytes(out, v.encode("utf-8", "surrogateescape"))
            elif k == K_BOOL:
                _put_uint(out, 1 if v else 0)
            elif k == K_FLOAT:
                _put_float(out, float(v))
            elif k == K_BYTES:
                _put_bytes(out, bytes(v))
            elif k == K_SLICE or k == K_ARRAY:
                _put_uint(out, len(v))
                if t.elem is STRING:  # argv, envp: the common case, without a call per element
                    for item in v:
                        if type(item) is not str:
                            raise GobEncodeError(f"{where}: {item!r} is not a string")
                        _put_bytes(out, item.encode("utf-8", "surrogateescape"))
                    return
                for i, item in enumerate(v):
                    self._value(out, t.elem, item, f"{where}[{i}]")  # type: ignore[arg-type]
            elif k == K_MAP:
                _put_uint(out, len(v))
                for key, item in v.items():
                    self._value(out, t.key, key, f"{where} key")  # type: ignore[arg-type]
                    self._value(out, t.elem, item, f"{where}[{key!r}]")  # type: ignore[arg-type]
            elif k == K_STRUCT:
                if type(v) is not dict:
                    raise GobEncodeError(f"{where}: {v!r} is not an object")
                last = -1
                for i, (go_name, ft, json_key) in enumerate(t.fields):
                    fv = v.get(json_key, v.get(go_name)) if json_key else v
                    if _is_zero(ft, fv):
                        continue
                    _put_uint(out, i - last)
                    last = i
                    self._value(out, ft, fv, f"{where}.{json_key or go_name}")
                _put_uint(out, 0)
            elif k == K_INTERFACE:
                self._interface(out, v, "", where)
        except (TypeError, AttributeError):
            raise GobEncodeError(f"{where}: {v!r} does not fit {t.name}") from None

    def _interface(self, out: bytearray, v: Any, decl: str, where: str) -> None:
        if v is None:
            out.append(0)
            return
        try:
            name = concrete_type(decl, v)
        except GobEncodeError as exc:
            raise GobEncodeError(f"{where}: {exc}") from None
        prefix = self._iface_prefix.get(name)
        t = REGISTERED[name]
        if prefix is None:  # the type name and id, once per stream and type
            prefix = bytearray()
            _put_bytes(prefix, name.encode())
            _put_int(prefix, self._type_id(t))
            prefix = self._iface_prefix[name] = bytes(prefix)
        out += prefix
        k = t.kind
        # A value that is not a struct goes as a one-field struct: delta 0, then the value.
        if k == K_STRING or k == K_BYTES:
            raw = v.encode("utf-8", "surrogateescape") if type(v) is str else bytes(v)
            n = len(raw)
            if n < 126:  # the inner length (n + 2) fits one byte
                out.append(n + 2)
                out.append(0)
                out.append(n)
            else:
                head = bytearray(b"\x00")
                _put_uint(head, n)
                _put_uint(out, len(head) + n)
                out += head
            out += raw
        elif k == K_INT or k == K_UINT:
            u = (((~v) << 1) | 1 if v < 0 else v << 1) if k == K_INT else v
            if u < 0x80:
                out += bytes((2, 0, u))
            else:
                n = (u.bit_length() + 7) >> 3
                out += bytes((n + 2, 0, 256 - n))
                out += u.to_bytes(n, "big")
        else:
            inner = bytearray()
            if k != K_STRUCT:
                inner.append(0)
            self._value(inner, t, v, where)
            _put_bytes(out, inner)

    def _args(self, out: bytearray, args: list) -> None:
        _put_uint(out, len(args))
        for i, arg in enumerate(args):
            if type(arg) is not dict:
                raise GobEncodeError(f"args[{i}]: not an argument object")
            name, decl, value = arg.get("name", ""), arg.get("type") or "", arg.get("value")
            if type(name) is not str or type(decl) is not str:
                raise GobEncodeError(f"argument {name!r}: name and type must be strings")
            # Argument{ArgMeta{Name, Type}, Value}: ArgMeta is a struct, so always sent
            meta = self._meta_cache.get((name, decl))
            if meta is None:
                meta = bytearray(b"\x01")
                meta_last = -1
                if name:
                    meta.append(1)
                    _put_bytes(meta, name.encode("utf-8", "surrogateescape"))
                    meta_last = 0
                if decl:
                    meta.append(1 - meta_last)
                    _put_bytes(meta, decl.encode("utf-8", "surrogateescape"))
                meta.append(0)
                meta = bytes(meta)
                if len(self._meta_cache) < 4096:
                    self._meta_cache[(name, decl)] = meta
            out += meta
            if value is not None:
                if decl == "bytes" and type(value) is str:
                    try:
                        value = base64.b64decode(value, validate=True)
                    except ValueError:
                        pass  # not base64: send the text as it is
                out.append(1)
                self._interface(out, value, decl, f"argument {name!r}")
            out.append(0)

    def encode(self, event: Event) -> bytes:
        """The gob bytes of one event (type definitions first, when this encoder has not sent them)."""
        mark, next_id = len(self._types), self._next_id
        self._pending = bytearray()
        try:
            tid = self._type_id(EVENT)
            body = bytearray()
            _put_int(body, tid)
            self._event(body, event)
        except GobEncodeError:
            for t in self._types[mark:]:  # forget the definitions this event would have sent
                del self._ids[id(t)]
            del self._types[mark:]
            self._next_id = next_id
            self._iface_prefix = {k: v for k, v in self._iface_prefix.items() if REGISTERED[k].builtin
                                  or id(REGISTERED[k]) in self._ids}
            self._pending = bytearray()
            raise
        out = self._pending
        self._pending = bytearray()
        _put_uint(out, len(body))
        out += body
        data = bytes(out)
        if self.stream is not None:
            self.stream.write(data)
        self.written += 1
        return data

    def _event(self, out: bytearray, event: Event) -> None:
        last = -1
        for i, code, key, attr, t in _EVENT_ENCODING:
            if code == _E_INT or code == _E_UINT:
                v = getattr(event, attr)
                if not v:
                    continue
                if type(v) is not int:
                    raise GobEncodeError(f"field {key!r}: {v!r} is not an integer")
                if code == _E_INT:
                    if not -_I64 <= v < _I64:
                        raise GobEncodeError(f"field {key!r}: {v} does not fit a Go int64")
                    u = ((~v) << 1) | 1 if v < 0 else v << 1
                else:
                    if not 0 <= v < _U64:
                        raise GobEncodeError(f"field {key!r}: {v} does not fit a Go uint64")
                    u = v
                out.append(i - last)
                last = i
                if u < 0x80:
                    out.append(u)
                else:
                    n = (u.bit_length() + 7) >> 3
                    out.append(256 - n)
                    out += u.to_bytes(n, "big")
            elif code == _E_STR:
                v = getattr(event, attr)
                if not v:
                    continue
                if type(v) is not str:
                    raise GobEncodeError(f"field {key!r}: {v!r} is not a string")
                out.append(i - last)
                last = i
                _put_bytes(out, v.encode("utf-8", "surrogateescape"))
            elif code == _E_FLAGS:
                out.append(i - last)
                last = i
                out += b"\x01\x01\x00" if event.container_started else b"\x00"  # {true} or {}
            elif code == _E_ARGS:
                if event.args:
                    out.append(i - last)
                    last = i
                    self._args(out, event.args)
            else:
                v = getattr(event, attr)
                if _is_zero(t, v):
                    continue
                out.append(i - last)
                last = i
                self._value(out, t, v, f"field {key!r}")
        out.append(0)


def dumps(events: Iterable[Event]) -> bytes:
    """One gob stream holding `events`, as tracee-ebpf -o format:gob writes it."""
    enc = GobEncoder()
    return b"".join(enc.encode(e) for e in events)
