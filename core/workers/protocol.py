"""What crosses between the engine and a rule worker: frames, messages, and the shared progress slot.

Frames are a 4-byte little-endian length and a payload. The engine sends pickles (its own
objects: the loader, events with their bytes values); the worker answers in JSON, so nothing a
compromised worker writes can run code in the detector when it is read.

Engine -> worker, in order: ``("path", sys.path)``, ``("load", LoadRequest)``, then any number of
``("eval", batch_id, [(seq, member indices, event state), ...], probe)``, ``("flush",)`` and
finally ``("close",)``.

Worker -> engine (JSON objects, key ``t``):
- ``log``: a record of the worker's `tracee.*` loggers (level, logger, message, rate limit);
- ``file``: the loader is about to read or compile ``path`` (names a file that kills the compiler);
- ``loaded``: the signatures, as ``[{id, meta, selectors, path}]``, or ``fatal`` (strict mode);
- ``found``: a finding ``[seq, member, data]`` (sent when its event is done, so a crash in the
  middle of an event never leaves half of its findings delivered);
- ``done``: batch ``batch`` evaluated (a probe's findings ride in it);
- ``flushed`` / ``closed``.

The progress slot is a small shared memory record the worker updates before each evaluation:
(batch id, index in the batch or -1 when idle, start time in CLOCK_MONOTONIC ns, phase). It is
how the engine knows which event a worker was on when it died or overran its time budget,
without a message per event.
"""

from __future__ import annotations

import json
import os
import pickle
import struct
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Frames", "LoadRequest", "Progress", "event_state", "send_json", "send_pickle"]

_LEN = struct.Struct("<I")
#: Largest frame accepted from a worker: a finding's data is small; anything bigger is a fault.
MAX_FRAME = 64 << 20

PHASE_EVAL, PHASE_COMPILE = 0, 1
IDLE = -1


@dataclass
class LoadRequest:
    loader: Any  # tracee.api.RuleLoader, pickled by reference
    files: list[str]
    strict: bool = False
    options: dict[str, Any] = field(default_factory=dict)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


def send_pickle(fd: int, message: Any) -> None:
    payload = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    _write_all(fd, _LEN.pack(len(payload)) + payload)


def send_json(fd: int, message: dict[str, Any]) -> None:
    payload = json.dumps(message, separators=(",", ":"), default=repr).encode("utf-8", "surrogatepass")
    _write_all(fd, _LEN.pack(len(payload)) + payload)


class Frames:
    """Splits bytes read from a pipe into frame payloads."""

    def __init__(self) -> None:
        self._buf = bytearray()

    def feed(self, data: bytes) -> list[bytes]:
        self._buf += data
        out = []
        while len(self._buf) >= 4:
            (size,) = _LEN.unpack_from(self._buf)
            if size > MAX_FRAME:
                raise ValueError(f"frame of {size} bytes")
            if len(self._buf) < 4 + size:
                break
            out.append(bytes(self._buf[4:4 + size]))
            del self._buf[:4 + size]
        return out


def read_frame(fd: int) -> bytes | None:
    """One whole frame from a blocking fd (the worker's side); None at end of file."""
    header = _read_exact(fd, 4)
    if header is None:
        return None
    (size,) = _LEN.unpack(header)
    return _read_exact(fd, size) if size else b""


def _read_exact(fd: int, n: int) -> bytes | None:
    parts, left = [], n
    while left:
        chunk = os.read(fd, min(left, 1 << 20))
        if not chunk:
            return None
        parts.append(chunk)
        left -= len(chunk)
    return b"".join(parts)


class Progress:
    """The shared progress slot (see the module docstring), over a memfd both processes map."""

    _FMT = struct.Struct("<qqqq")

    def __init__(self, fd: int) -> None:
        import mmap

        self.fd = fd
        if os.fstat(fd).st_size < self._FMT.size:
            os.ftruncate(fd, self._FMT.size)
        self._map = mmap.mmap(fd, self._FMT.size)

    @classmethod
    def create(cls) -> "Progress":
        return cls(os.memfd_create("tracee-worker-progress", os.MFD_CLOEXEC))

    def set(self, batch: int, index: int, phase: int = PHASE_EVAL) -> None:
        self._FMT.pack_into(self._map, 0, batch, index, _now_ns(), phase)

    def idle(self, batch: int) -> None:
        self._FMT.pack_into(self._map, 0, batch, IDLE, 0, PHASE_EVAL)

    def get(self) -> tuple[int, int, int, int]:
        """(batch, index, start ns, phase)."""
        return self._FMT.unpack_from(self._map, 0)

    def close(self) -> None:
        try:
            self._map.close()
            os.close(self.fd)
        except (OSError, ValueError):
            pass


def _now_ns() -> int:
    import time

    return time.monotonic_ns()


def event_state(event: Any) -> tuple:
    """What rebuilds an event in the worker (`Event.from_trusted`): its wire fields and arguments
    as decoded, bytes values and all."""
    return (event._d, event.event_name, event.event_id, event.container_id, event.container_started,
            event.args)
