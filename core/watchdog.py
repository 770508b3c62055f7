"""The time budget of rules that run in the detector's own process (Python rule packs).

Rules in workers (Rego, CEL) are timed and stopped by `tracee.workers`. A Python rule runs on the
engine's thread and cannot be stopped from outside, but it can be seen: a thread samples what the
engine's thread executes (`sys._current_frames`) every few milliseconds, at no cost to the hot
path. When the same call of a rule's `on_event` is still running after the budget, the rule gets
a strike (reported, counted); after `STRIKES` strikes the engine stops giving it events.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from types import CodeType, FrameType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .engine import Engine

__all__ = ["STRIKES", "Watchdog"]

log = logging.getLogger("tracee.engine")

STRIKES = 3
_DEPTH = 64


class Watchdog:
    """Samples the engine's thread while `Engine.run` dispatches (see the module docstring)."""

    def __init__(self, engine: "Engine", budget_s: float) -> None:
        self.engine = engine
        self.budget = budget_s
        self.codes: dict[CodeType, int] = {}
        for pos, sig in enumerate(engine.signatures):
            if sig.group is not None:
                continue  # a group times its own members (rule workers)
            code = getattr(getattr(type(sig), "on_event", None), "__code__", None)
            if code is not None and code is not _base_on_event():
                self.codes.setdefault(code, pos)
        self.strikes: dict[int, int] = {}
        self.over_budget = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._target = 0

    def start(self) -> None:
        if not self.codes or self._thread is not None:
            return
        self._target = threading.get_ident()
        self._thread = threading.Thread(target=self._watch, name="rule watchdog", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(1)

    def _watch(self) -> None:
        interval = min(max(self.budget / 4, 0.002), 0.05)
        seen: tuple[int, CodeType | None] = (-1, None)
        since = 0.0
        reported = False
        while not self._stop.wait(interval):
            hits = sum(route[1] for route in list(self.engine._routes.values()))
            frame = sys._current_frames().get(self._target)
            code, rule_frame = self._rule_code(frame)
            now = time.monotonic()
            if code is None or (hits, code) != seen:
                seen, since, reported = (hits, code), now, False
                continue
            if not reported and now - since > self.budget:
                reported = True
                self._strike(self.codes[code], rule_frame, now - since)

    def _rule_code(self, frame: FrameType | None) -> tuple[CodeType | None, FrameType | None]:
        depth = 0
        while frame is not None and depth < _DEPTH:
            if frame.f_code in self.codes:
                return frame.f_code, frame
            frame = frame.f_back
            depth += 1
        return None, None

    def _strike(self, pos: int, frame: FrameType | None, took: float) -> None:
        sid = self.engine._ids[pos]
        event: Any = frame.f_locals.get("event") if frame is not None else None
        name = getattr(event, "event_name", "?")
        self.over_budget += 1
        strikes = self.strikes[pos] = self.strikes.get(pos, 0) + 1
        if strikes < STRIKES:
            log.error(f"signature {sid} still running after {took * 1000:.0f} ms on event {name} (budget "
                      f"{self.budget * 1000:g} ms; {strikes} of {STRIKES} before it is quarantined)")
            return
        self.engine.quarantine(pos)
        log.error(f"signature {sid} quarantined: it went over its time budget ({self.budget * 1000:g} ms) on "
                  f"{strikes} events; it gets no more events, the other rules go on")


def _base_on_event() -> CodeType:
    from .signature import Signature

    return Signature.on_event.__code__
