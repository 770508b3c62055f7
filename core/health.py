"""`/healthz`: is the input alive, and is the pipeline moving (or only waiting for events)?

The answer is worked out by a sampler thread once a second, without any help from the event path:

- **starting** (503) until the command has started its input;
- **ok** (200) while the thread that reads the input is alive, the input reports no problem, and
  the thread is not stuck. Waiting for events (a quiet machine, an idle pipe) is healthy;
- **stuck** (503) when one event has been inside the engine (a rule, an enricher, an output) for
  `stuck_after` seconds. The sampler looks at the reading thread's stack (`sys._current_frames`):
  the same `Engine.dispatch` call on it in two samples `stuck_after` apart is one event that long.
  This costs the event path nothing, which a per-event heartbeat would not;
- **input ended / failed** (503) once the input has stopped, and while the command drains;
- the input's own word (503): an input with a `health()` method returning a string (why it is not
  well: "BPF programs detached") is unhealthy for that reason.
"""

from __future__ import annotations

import sys
import threading
import time
from types import CodeType, FrameType
from typing import Any, Iterator

from .metrics import Metric

__all__ = ["Health"]

SAMPLE_EVERY = 1.0  # seconds


class Health:
    """The state `/healthz` reports; `watch()` once the input is started, `ended()` when it stops."""

    def __init__(self, stuck_after: float = 30.0) -> None:
        self.stuck_after = stuck_after
        self._lock = threading.Lock()
        self._state = "starting"
        self._source: Any = None
        self._thread: threading.Thread | None = None
        self._busy_codes: tuple[CodeType, ...] = ()
        self._busy_frame: FrameType | None = None  # held, so its identity cannot be reused
        self._busy_since = 0.0
        self._busy_what = ""
        self._stop = threading.Event()
        self._sampler: threading.Thread | None = None

    # -- what the command tells it ------------------------------------------------------------------
    def watch(self, source: Any, thread: threading.Thread | None = None,
              busy_codes: tuple[CodeType, ...] = ()) -> None:
        """The input `source` is read by `thread` (default: the calling one). With `busy_codes`
        (`Engine.dispatch_codes()`), a call of one that lasts `stuck_after` seconds is "stuck"."""
        with self._lock:
            self._source = source
            self._thread = thread or threading.current_thread()
            self._busy_codes = tuple(busy_codes)
            self._state = "ok"
        if self._sampler is None:
            self._sampler = threading.Thread(target=self._sample_loop, name="tracee health", daemon=True)
            self._sampler.start()

    def ended(self, why: str) -> None:
        """The input stopped (`why`: "input ended: stdin closed", "input failed: OSError: ...")."""
        with self._lock:
            self._state = why
            self._busy_frame = None

    def close(self) -> None:
        self._stop.set()

    # -- what /healthz answers ----------------------------------------------------------------------
    def check(self) -> tuple[bool, str]:
        """(healthy, one line saying why)."""
        with self._lock:
            state, source, thread = self._state, self._source, self._thread
            busy_for = time.monotonic() - self._busy_since if self._busy_frame is not None else 0.0
            busy_what = self._busy_what
        if state != "ok":
            return False, state
        if thread is not None and not thread.is_alive():
            return False, f"input thread {thread.name!r} exited"
        if busy_for >= self.stuck_after:
            return False, f"stuck: {busy_what}, for {busy_for:.0f}s"
        reason = _input_problem(source)
        if reason:
            return False, f"input: {reason}"
        return True, "OK"

    def metrics(self) -> Iterator[Metric]:
        healthy, _ = self.check()
        yield Metric("tracee_healthy", 1 if healthy else 0, "gauge", "1 while /healthz answers 200")

    # -- the sampler --------------------------------------------------------------------------------
    def _sample_loop(self) -> None:
        while not self._stop.wait(min(SAMPLE_EVERY, self.stuck_after / 4)):
            self.sample()

    def sample(self) -> None:
        """Look at the reading thread once: is it inside the same dispatch call as last time?"""
        with self._lock:
            thread, codes, state = self._thread, self._busy_codes, self._state
        if not codes or thread is None or state != "ok" or thread.ident is None:
            return
        frame = sys._current_frames().get(thread.ident)  # noqa: SLF001 - see the module docstring
        inside: list[FrameType] = []  # the frames the dispatch call is running, innermost first
        busy = None
        while frame is not None:
            if frame.f_code in codes:
                busy = frame
                break
            inside.append(frame)
            frame = frame.f_back
        with self._lock:
            if busy is None:
                self._busy_frame = None
            elif busy is not self._busy_frame:
                self._busy_frame = busy
                self._busy_since = time.monotonic()
                self._busy_what = _describe(busy, inside)


def _input_problem(source: Any) -> str | None:
    check = getattr(source, "health", None)
    if not callable(check):
        return None
    try:
        return check() or None
    except Exception as exc:  # noqa: BLE001 - an input whose check fails is not known to be well
        return f"health check failed: {type(exc).__name__}: {exc}"


def _describe(dispatch: FrameType, inside: list[FrameType]) -> str:
    """What a dispatch call is running: the signature or rule group it called, the event, and the
    function at the top of the stack ("signature TRC-2 on event ptrace, in WebhookOutput.write")."""
    event = dispatch.f_locals.get("event")
    what = "the engine"
    engine_file = dispatch.f_code.co_filename
    for frame in reversed(inside):  # from the dispatch call inwards: the first frame not the engine's
        if frame.f_code.co_filename == engine_file:
            continue
        owner = frame.f_locals.get("self")
        if owner is not None and hasattr(owner, "get_metadata"):
            try:
                what = f"signature {owner.get_metadata().id}"
            except Exception:  # noqa: BLE001
                what = f"signature {type(owner).__name__}"
        elif owner is not None and hasattr(owner, "evaluate"):
            what = f"rule group {getattr(owner, 'name', type(owner).__name__)}"
        else:
            what = _qualname(frame)
        break
    if event is not None:
        what += f" on event {getattr(event, 'event_name', '?')}"
    if inside:
        what += f", in {_qualname(inside[0])}"
    return what


def _qualname(frame: FrameType) -> str:
    return getattr(frame.f_code, "co_qualname", frame.f_code.co_name)
