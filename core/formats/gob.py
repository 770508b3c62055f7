"""Go's encoding/gob stream of Tracee's trace.Event (v0.8.3): an encoder, and a decoder that
trusts nothing in the stream, both working from and to `tracee.Event`.

`tracee-ebpf -o format:gob` writes what a Go `gob.Encoder` writes when it encodes `trace.Event`
values one after another (with the argument value types Tracee registers), and
`tracee-rules --input-tracee format:gob` reads such a stream. `GobEncoder` and `GobDecoder`
do both, here.

Why hand-written: there is no maintained Python implementation of gob (PyPI has only
abandoned, partial ports) and Go's own package cannot be called from Python. The wire format
is Go's documented one (pkg.go.dev/encoding/gob, "Encoding Details"); tests/interop/go proves
both directions against Go's own encoder and decoder.

The decoder is bounded: a message is at most `Limits.max_message` bytes, every count is
checked against the bytes left in its message before anything is allocated, nesting and the
number of type definitions are capped. A bad message is reported (`GobError`, naming its byte
offset) and skipped; when the framing itself is broken the decoder looks ahead for the next
message that decodes as an event and goes on from there, or stops cleanly.
"""

from __future__ import annotations

import base64
import struct
from dataclasses import dataclass
from typing import Any, BinaryIO, Callable, Iterable, Iterator

from ..event import _NUMERIC, FIELDS, Event

__all__ = ["GobDecoder", "GobEncodeError", "GobEncoder", "GobError", "Limits", "dumps", "loads"]


class GobError(ValueError):
    """A bad message in a gob stream; `offset` is the byte offset in the stream where it starts."""

    def __init__(self, message: str, offset: int = 0) -> None:
        super().__init__(message)
        self.message = message
        self.offset = offset

    def __str__(self) -> str:
        return f"gob: offset {self.offset}: {self.message}"


class GobEncodeError(ValueError):
    """An event that cannot be sent as a trace.Event; the message names the field."""


class _NeedMore(Exception):
    """The message ends right after a type definition inside a value: the value goes on in the next."""


class _Bad(Exception):
    """Raised inside a message; `pos` is the position in the message body."""

    def __init__(self, message: str, pos: int) -> None:
        super().__init__(message)
        self.pos = pos


@dataclass(frozen=True)
class Limits:
    """Bounds on what a stream may make the decoder do (Go allows 1 GiB messages; an event is KiBs)."""

    max_message: int = 16 << 20      # bytes in one message
    max_types: int = 4096            # type definitions in one stream
    max_depth: int = 64              # nesting of values (structs in slices in interfaces ...)
    max_name: int = 1024             # an interface value's type name (Go's own limit)
    resync_window: int = 1 << 20     # bytes searched for the next event after broken framing
    max_consecutive_errors: int = 10_000  # bad messages in a row before giving up


# -- the Go types Tracee sends ---------------------------------------------------------------------
K_BOOL, K_INT, K_UINT, K_FLOAT, K_BYTES, K_STRING, K_COMPLEX, K_INTERFACE = range(1, 9)
K_SLICE, K_ARRAY, K_MAP, K_STRUCT = "slice", "array", "map", "struct"
FIRST_USER_ID = 65  # ids below are gob's own (Go's firstUserId is 64; it hands out 65 first)


@dataclass(eq=False)
class GoType:
    """A Go type as gob describes it: a builtin kind (its gob id), or a slice/array/map/struct."""

    kind: Any
    name: str = ""
    elem: "GoType | None" = None
    key: "GoType | None" = None
    fields: tuple[tuple[str, "GoType", str], ...] = ()  # (Go name, type, JSON key)
    length: int = 0

    @property
    def builtin(self) -> bool:
        return isinstance(self.kind, int)


BOOL, INT, UINT, FLOAT = GoType(K_BOOL, "bool"), GoType(K_INT, "int"), GoType(K_UINT, "uint"), GoType(K_FLOAT, "float")
BYTES, STRING, INTERFACE = GoType(K_BYTES, "[]uint8"), GoType(K_STRING, "string"), GoType(K_INTERFACE, "interface")


def _slice(elem: GoType, name: str) -> GoType:
    return GoType(K_SLICE, name, elem=elem)


def _struct(name: str, *fields: tuple[str, GoType, str]) -> GoType:
    return GoType(K_STRUCT, name, fields=tuple(fields))


TRACE = "github.com/aquasecurity/tracee/types/trace."  # gob.Register's name for package trace

# types/trace of v0.8.3: the argument value types tracee-ebpf sends and tracee-rules registers.
SLIM_CRED = _struct("SlimCred", *((n, UINT, n) for n in (
    "Uid", "Gid", "Suid", "Sgid", "Euid", "Egid", "Fsuid", "Fsgid", "UserNamespace", "SecureBits",
    "CapInheritable", "CapPermitted", "CapEffective", "CapBounding", "CapAmbient")))
PKT_META = _struct("PktMeta", ("SrcIP", STRING, "src_ip"), ("DstIP", STRING, "dst_ip"),
                   ("SrcPort", UINT, "src_port"), ("DstPort", UINT, "dst_port"),
                   ("Protocol", UINT, "protocol"), ("PacketLen", UINT, "packet_len"))
HOOKED_SYMBOL = _struct("HookedSymbolData", ("SymbolName", STRING, "SymbolName"),
                        ("ModuleOwner", STRING, "ModuleOwner"))
DNS_QUERY = _struct("DnsQueryData", ("Query", STRING, "query"), ("QueryType", STRING, "query_type"),
                    ("QueryClass", STRING, "query_class"))
DNS_ANSWER = _struct("DnsAnswer", ("Type", STRING, "answer_type"), ("Ttl", UINT, "ttl"),
                     ("Answer", STRING, "answer"))
DNS_RESPONSE = _struct("DnsResponseData", ("QueryData", DNS_QUERY, "query_data"),
                       ("DnsAnswer", _slice(DNS_ANSWER, "[]trace.DnsAnswer"), "dns_answer"))
STRING_MAP = GoType(K_MAP, "map[string]string", key=STRING, elem=STRING)

# Concrete types by the name gob.Register gives them (gob registers the basic types itself).
REGISTERED: dict[str, GoType] = {
    **{n: BOOL for n in ("bool",)},
    **{n: INT for n in ("int", "int8", "int16", "int32", "int64")},
    **{n: UINT for n in ("uint", "uint8", "uint16", "uint32", "uint64", "uintptr")},
    **{n: FLOAT for n in ("float32", "float64")},
    "string": STRING,
    "[]uint8": BYTES,
    **{f"[]{n}": _slice(INT, f"[]{n}") for n in ("int", "int8", "int16", "int32", "int64")},
    **{f"[]{n}": _slice(UINT, f"[]{n}") for n in ("uint", "uint16", "uint32", "uint64", "uintptr")},
    **{f"[]{n}": _slice(FLOAT, f"[]{n}") for n in ("float32", "float64")},
    "[]bool": _slice(BOOL, "[]bool"),
    "[]string": _slice(STRING, "[]string"),
    "map[string]string": STRING_MAP,
    TRACE + "SlimCred": SLIM_CRED,
    TRACE + "PktMeta": PKT_META,
    "[]trace.HookedSymbolData": _slice(HOOKED_SYMBOL, "[]trace.HookedSymbolData"),
    "map[string]trace.HookedSymbolData": GoType(K_MAP, "map[string]trace.HookedSymbolData",
                                                key=STRING, elem=HOOKED_SYMBOL),
    "[]trace.DnsQueryData": _slice(DNS_QUERY, "[]trace.DnsQueryData"),
    "[]trace.DnsResponseData": _slice(DNS_RESPONSE, "[]trace.DnsResponseData"),
}

# trace.Event of v0.8.3, in field order: Go name, JSON (wire) key, Go type. Argument embeds
# ArgMeta, which gob sends as a field named "ArgMeta".
ARG_META = _struct("ArgMeta", ("Name", STRING, "name"), ("Type", STRING, "type"))
ARGUMENT = _struct("Argument", ("ArgMeta", ARG_META, ""), ("Value", INTERFACE, "value"))
CONTEXT_FLAGS = _struct("ContextFlags", ("ContainerStarted", BOOL, "containerStarted"))
EVENT = _struct("Event", *(
    [(g, INT, k) for g, k in (("Timestamp", "timestamp"), ("ThreadStartTime", "threadStartTime"),
                              ("ProcessorID", "processorId"), ("ProcessID", "processId"))]
    + [("CgroupID", UINT, "cgroupId")]
    + [(g, INT, k) for g, k in (("ThreadID", "threadId"), ("ParentProcessID", "parentProcessId"),
                                ("HostProcessID", "hostProcessId"), ("HostThreadID", "hostThreadId"),
                                ("HostParentProcessID", "hostParentProcessId"), ("UserID", "userId"),
                                ("MountNS", "mountNamespace"), ("PIDNS", "pidNamespace"))]
    + [(g, STRING, k) for g, k in (("ProcessName", "processName"), ("HostName", "hostName"),
                                   ("ContainerID", "containerId"), ("ContainerImage", "containerImage"),
                                   ("ContainerName", "containerName"), ("PodName", "podName"),
                                   ("PodNamespace", "podNamespace"), ("PodUID", "podUID"))]
    + [("EventID", INT, "eventId"), ("EventName", STRING, "eventName"), ("ArgsNum", INT, "argsNum"),
       ("ReturnValue", INT, "returnValue"), ("StackAddresses", _slice(UINT, "[]uint64"), "stackAddresses"),
       ("ContextFlags", CONTEXT_FLAGS, "contextFlags"), ("Args", _slice(ARGUMENT, "[]trace.Argument"), "args")]))
REGISTERED[TRACE + "Event"] = EVENT

_ATTR = {key: attr for key, attr, _ in FIELDS}  # wire key -> tracee.Event attribute (one home: event.py)
_ATTR.update(eventId="event_id", eventName="event_name", containerId="container_id")
_E_INT, _E_UINT, _E_STR, _E_FLAGS, _E_ARGS, _E_OTHER = range(6)
_EVENT_ENCODING = tuple(
    (i, {"contextFlags": _E_FLAGS, "args": _E_ARGS}.get(key) or
     {INT: _E_INT, UINT: _E_UINT, STRING: _E_STR}.get(t, _E_OTHER), key, _ATTR.get(key, ""), t)  # type: ignore[call-overload]
    for i, (_, t, key) in enumerate(EVENT.fields))


# -- primitives ------------------------------------------------------------------------------------
_U64 = 1 << 64
_I64 = 1 << 63


def _put_uint(out: bytearray, v: int) -> None:
    if v < 0x80:
        out.append(v)
    else:
        n = (v.bit_length() + 7) >> 3
        out.append(256 - n)
        out += v.to_bytes(n, "big")


def _put_int(out: bytearray, v: int) -> None:
    _put_uint(out, ((~v) << 1) | 1 if v < 0 else v << 1)


def _put_float(out: bytearray, v: float) -> None:
    # float64 bits, byte-reversed, so that the exponent goes first
    _put_uint(out, int.from_bytes(struct.pack(">d", v), "little"))


def _put_bytes(out: bytearray, b: bytes) -> None:
    _put_uint(out, len(b))
    out += b


def _uint(buf: bytes, pos: int) -> tuple[int, int]:
    b = buf[pos]
    if b < 0x80:
        return b, pos + 1
    n = 256 - b
    if n > 8:
        raise _Bad(f"invalid unsigned integer ({n}-byte count)", pos)
    end = pos + 1 + n
    if end > len(buf):
        raise _Bad("integer runs past the end of the message", pos)
    return int.from_bytes(buf[pos + 1:end], "big"), end


def _int(buf: bytes, pos: int) -> tuple[int, int]:
    u, pos = _uint(buf, pos)
    return (~(u >> 1) if u & 1 else u >> 1), pos


def _float(buf: bytes, pos: int) -> tuple[float, int]:
    u, pos = _uint(buf, pos)
    return struct.unpack(">d", u.to_bytes(8, "little"))[0], pos


def _raw(buf: bytes, pos: int) -> tuple[bytes, int]:
    at = pos
    n, pos = _uint(buf, pos)
    end = pos + n
    if end > len(buf):
        raise _Bad(f"length {n} exceeds the {len(buf) - pos} bytes left in the message", at)
    return buf[pos:end], end


def _str(buf: bytes, pos: int) -> tuple[str, int]:
    raw, pos = _raw(buf, pos)
    # Go strings are bytes; invalid UTF-8 becomes U+FFFD, as Go's JSON encoder writes it
    return raw.decode("utf-8", "replace"), pos


def _bool(buf: bytes, pos: int) -> tuple[bool, int]:
    u, pos = _uint(buf, pos)
    return u != 0, pos


def _complex(buf: bytes, pos: int) -> tuple[complex, int]:
    re, pos = _float(buf, pos)
    im, pos = _float(buf, pos)
    return complex(re, im), pos


_BUILTIN_READERS: dict[int, Callable[[bytes, int], tuple[Any, int]]] = {
    K_BOOL: _bool, K_INT: _int, K_UINT: _uint, K_FLOAT: _float, K_BYTES: _raw, K_STRING: _str,
    K_COMPLEX: _complex,
}
_BUILTIN_NAMES = {K_BOOL: "bool", K_INT: "int", K_UINT: "uint", K_FLOAT: "float", K_BYTES: "[]byte",
                  K_STRING: "string", K_COMPLEX: "complex", K_INTERFACE: "interface"}


# -- encoding --------------------------------------------------------------------------------------
def _children(t: GoType) -> list[GoType]:
    if t.kind == K_STRUCT:
        return [f[1] for f in t.fields]
    if t.kind == K_MAP:
        return [t.key, t.elem]  # type: ignore[list-item]
    return [t.elem] if t.elem is not None else []


def _is_zero(t: GoType, v: Any) -> bool:
    """Struct fields holding their zero value are not sent (structs always are)."""
    if t.kind == K_STRUCT:
        return False
    return v is None or v == 0 or v == "" or v is False or (t.kind in (K_SLICE, K_MAP, K_BYTES) and len(v) == 0)


# What tracee-ebpf decodes each declared argument type into (the Go value it then sends).
_INT_TYPES: dict[str, tuple[str, int, int]] = {}
for _decl, (_bits, _signed) in _NUMERIC.items():
    _name = f"{'int' if _signed else 'uint'}{_bits}"
    _INT_TYPES[_decl] = (_name, -(1 << (_bits - 1)) if _signed else 0, (1 << (_bits - 1)) if _signed else 1 << _bits)
_STRING_LISTS = frozenset(("const char**", "const char*const*", "char**"))
_SOCKADDRS = frozenset(("struct sockaddr*", "const struct sockaddr*"))
_STRUCT_ARGS = {"slim_cred_t": TRACE + "SlimCred", "trace.PktMeta": TRACE + "PktMeta",
                "[]trace.HookedSymbolData": "[]trace.HookedSymbolData",
                "map[string]trace.HookedSymbolData": "map[string]trace.HookedSymbolData",
                "[]trace.DnsQueryData": "[]trace.DnsQueryData",
                "[]trace.DnsResponseData": "[]trace.DnsResponseData"}
_INT_LISTS = {"unsigned long[]": "[]uint64", "int[2]": "[]int32"}  # Tracee registers no [2]int32


def concrete_type(decl: str, value: Any) -> str:
    """The registered Go type an argument value goes out as: what tracee-ebpf's decoder makes of
    its declared type `decl`, or, where the value does not fit it (already parsed, out of range),
    the closest type that keeps the value exactly. Raises GobEncodeError for a value gob cannot carry."""
    t = type(value)
    if t is str:
        return "string"
    if t is int:
        spec = _INT_TYPES.get(decl)
        if spec is not None and spec[1] <= value < spec[2]:
            return spec[0]
        if (decl.endswith("*") or decl == "void *") and 0 <= value < _U64:
            return "uintptr"  # tracee-ebpf sends pointers as uintptr
        if -_I64 <= value < _I64:
            return "int64"
        if 0 <= value < _U64:
            return "uint64"
        raise GobEncodeError(f"{value} does not fit a 64-bit integer")
    if t is bool:
        return "bool"
    if t is float:
        return "float32" if decl == "float" else "float64"
    if t is bytes or t is bytearray:
        return "[]uint8"
    if t is list or t is tuple:
        named = _STRUCT_ARGS.get(decl) or _INT_LISTS.get(decl)
        if named is not None and named.startswith("[]"):
            return named
        if all(type(v) is str for v in value):
            return "[]string"
        if all(type(v) is int for v in value):
            if all(-_I64 <= v < _I64 for v in value):
                return "[]int64"
            if all(0 <= v < _U64 for v in value):
                return "[]uint64"
        raise GobEncodeError("a list of mixed or unsupported values cannot be sent")
    if t is dict:
        named = _STRUCT_ARGS.get(decl)
        if named is not None and not named.startswith("[]"):
            return named
        if all(type(k) is str and type(v) is str for k, v in value.items()):
            return "map[string]string"  # sockaddr, as tracee-ebpf sends it
        raise GobEncodeError("a map whose keys and values are not all strings cannot be sent")
    raise GobEncodeError(f"a {t.__name__} value cannot be sent")


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


# -- decoding --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class WireType:
    """A type definition received on the stream."""

    kind: str  # K_STRUCT, K_SLICE, K_ARRAY, K_MAP, or "opaque" (a GobEncoder/BinaryMarshaler value)
    name: str
    elem: int = 0
    key: int = 0
    length: int = 0
    fields: tuple[tuple[str, int], ...] = ()


def _read_struct(buf: bytes, pos: int, fields: dict[int, Callable[[bytes, int], tuple[Any, int]]],
                 what: str) -> tuple[dict[int, Any], int]:
    """A struct of known layout (the pieces of a wireType): {field number: value}."""
    out: dict[int, Any] = {}
    field = -1
    while True:
        delta, pos = _uint(buf, pos)
        if delta == 0:
            return out, pos
        field += delta
        reader = fields.get(field)
        if reader is None:
            raise _Bad(f"{what}: unknown field {field}", pos)
        out[field], pos = reader(buf, pos)


def _common(buf: bytes, pos: int) -> tuple[dict[int, Any], int]:
    return _read_struct(buf, pos, {0: _str, 1: _int}, "CommonType")


def _field_types(buf: bytes, pos: int) -> tuple[list[tuple[str, int]], int]:
    n, pos = _uint(buf, pos)
    if n > len(buf) - pos:
        raise _Bad(f"struct of {n} fields exceeds the message", pos)
    out = []
    for _ in range(n):
        f, pos = _read_struct(buf, pos, {0: _str, 1: _int}, "fieldType")
        out.append((f.get(0, ""), f.get(1, 0)))
    return out, pos


_ARRAY_T = {0: _common, 1: _int, 2: _int}
_SLICE_T = {0: _common, 1: _int}
_STRUCT_T = {0: _common, 1: _field_types}
_MAP_T = {0: _common, 1: _int, 2: _int}
_OPAQUE_T = {0: _common}


def _sub(fields: dict) -> Callable[[bytes, int], tuple[Any, int]]:
    return lambda buf, pos: _read_struct(buf, pos, fields, "wireType")


_WIRE_TYPE = {0: _sub(_ARRAY_T), 1: _sub(_SLICE_T), 2: _sub(_STRUCT_T), 3: _sub(_MAP_T),
              4: _sub(_OPAQUE_T), 5: _sub(_OPAQUE_T), 6: _sub(_OPAQUE_T)}


def _wire_type(buf: bytes, pos: int) -> tuple[WireType, int]:
    parts, pos = _read_struct(buf, pos, _WIRE_TYPE, "wireType")
    if len(parts) != 1:
        raise _Bad(f"a type definition must describe exactly one type, not {len(parts)}", pos)
    (which, f), = parts.items()
    name = f.get(0, {}).get(0, "")
    if which == 0:
        return WireType(K_ARRAY, name, elem=f.get(1, 0), length=f.get(2, 0)), pos
    if which == 1:
        return WireType(K_SLICE, name, elem=f.get(1, 0)), pos
    if which == 2:
        return WireType(K_STRUCT, name, fields=tuple(f.get(1, ()))), pos
    if which == 3:
        return WireType(K_MAP, name, key=f.get(1, 0), elem=f.get(2, 0)), pos
    return WireType("opaque", name), pos


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
