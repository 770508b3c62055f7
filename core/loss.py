"""Loss alerts: when the input says it lost events, a finding says so, through every output.

A sensor whose buffers overflow is blind for what it lost, and flooding it is a way to blind it on
purpose: the summary and /metrics count the loss, but the people who read findings are not
looking there. So the run watches its input's `lost` counters (`lost`, `lost_<cause>`) and sends a
`TRACEE-LOSS` finding when they grow: the first loss at once, then at most one finding per
`every` seconds, each with the events lost since the one before, and a last one at the end for
loss not yet reported. Falco's "syscall event drop" alert is the same idea.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from typing import Any, Callable, Mapping

from .event import Event
from .hookspecs import hookimpl
from .signature import Finding, SignatureMetadata

__all__ = ["LOSS", "LossWatcher", "alert_every", "lost_counts"]

DEFAULT_EVERY = 30.0

LOSS = SignatureMetadata(
    id="TRACEE-LOSS", name="Events lost", version="1.0.0",
    description="The input lost events before they could be read (its buffers were full): rules "
                "did not see them and may have missed detections. A flood of events can be an "
                "attempt to blind the detector.",
    tags=("linux", "tracee"),
    properties={"Severity": 3, "Category": "defense-evasion",
                "MITRE ATT&CK": "Defense Evasion: Impair Defenses", "external_id": "T1562"})


def alert_every(options: Mapping[str, Any]) -> float:
    """`--loss-alert-interval` in seconds (0: a finding for every check that sees new loss)."""
    value = options.get("loss_alert_interval")
    return DEFAULT_EVERY if value is None else max(0.0, float(value))


@hookimpl
def tracee_cli_options(command: str, register: Callable[..., None]) -> None:
    if command != "tracee run":
        return
    import click

    register(click.Option(["--loss-alert-interval", "loss_alert_interval"], type=click.FloatRange(min=0),
                          metavar="SECONDS",
                          help="When the input loses events, a TRACEE-LOSS finding says so at once, then "
                               f"at most one per SECONDS with the count since the last. [default: {DEFAULT_EVERY:g}]"))


def lost_counts(stats: dict[str, int]) -> dict[str, int]:
    """An input's loss counters: `lost` and `lost_<cause>` (integers only)."""
    return {k: v for k, v in stats.items()
            if (k == "lost" or k.startswith("lost_")) and type(v) is int and v > 0}


class LossWatcher:
    """Polls `stats()` every `check_every` seconds on a thread of its own; `emit` gets the findings
    (the runner's finding callback, which serialises outputs)."""

    def __init__(self, stats: Callable[[], dict[str, int]], emit: Callable[[Finding], None], *,
                 check_every: float = 1.0, every: float = DEFAULT_EVERY) -> None:
        self._stats, self._emit = stats, emit
        self.check_every, self.every = check_every, every
        self.reported = 0      # events lost that a finding already counted
        self.alerts = 0
        self._last_alert: float | None = None
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="tracee loss watcher", daemon=True)

    def start(self) -> "LossWatcher":
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop watching; a last finding for loss not reported yet (whatever the interval)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(2.0)
        self.check(final=True)

    def check(self, final: bool = False) -> Finding | None:
        """One look at the counters; the finding sent, if any."""
        with self._lock:
            try:
                counts = lost_counts(self._stats() or {})
            except Exception:  # noqa: BLE001 - an input's stats() failing must not stop the run
                return None
            total = sum(counts.values())  # `lost` and `lost_<cause>` count different events
            new = total - self.reported
            now = time.monotonic()
            if new <= 0:
                return None
            if not final and self._last_alert is not None and now - self._last_alert < self.every:
                return None
            finding = Finding({"lost": new, "lost_total": total,
                               "causes": dict(sorted(counts.items())),
                               "since_seconds": None if self._last_alert is None
                               else round(now - self._last_alert, 1)},
                              _event(new), LOSS)
            self.reported, self._last_alert = total, now
            self.alerts += 1
        try:
            self._emit(finding)
        except Exception:  # noqa: BLE001 - outputs count their own failures
            pass
        return finding

    def _run(self) -> None:
        while not self._stop.wait(self.check_every):
            self.check()


def _event(lost: int) -> Event:
    """The finding's Context: the detector itself, now."""
    return Event("events_lost", [{"name": "lost", "type": "u64", "value": lost}],
                 timestamp=time.time_ns(), process_id=os.getpid(), host_process_id=os.getpid(),
                 thread_id=threading.get_native_id(), host_thread_id=threading.get_native_id(),
                 process_name="tracee", host_name=socket.gethostname())
