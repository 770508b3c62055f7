"""gob's wire format: unsigned/signed/float varints, byte strings, type definitions (wireType), errors."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any, Callable

__all__ = ["FIRST_USER_ID", "GobEncodeError", "GobError", "WireType"]


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


# -- gob's builtin type ids ----------------------------------------------------------------------
K_BOOL, K_INT, K_UINT, K_FLOAT, K_BYTES, K_STRING, K_COMPLEX, K_INTERFACE = range(1, 9)
K_SLICE, K_ARRAY, K_MAP, K_STRUCT = "slice", "array", "map", "struct"
FIRST_USER_ID = 65  # ids below are gob's own (Go's firstUserId is 64; it hands out 65 first)


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


# -- type definitions received ------------------------------------------------------------------------
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
