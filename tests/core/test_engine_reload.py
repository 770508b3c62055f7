"""Engine.stage: a new signature set takes over between two events; kept instances keep their state."""

from __future__ import annotations

import threading

from tracee import EventSelector, Signature, SignatureMetadata
from tracee.engine import Engine
from tracee.testing import FindingsCollector, make_event


class Counting(Signature):
    """Counts the events it sees (its state) and fires on every tenth."""

    def __init__(self, sid: str, event: str = "openat") -> None:
        self.metadata = SignatureMetadata(id=sid, name=sid)  # type: ignore[misc]
        self.selected_events = [EventSelector(event)]  # type: ignore[misc]
        self.seen = 0
        self.inits = self.closes = self.signals = 0

    def init(self, callback):
        super().init(callback)
        self.inits += 1

    def on_event(self, event):
        self.seen += 1
        if self.seen % 10 == 0:
            self.match(event, {"seen": self.seen})

    def on_signal(self, signal):
        self.signals += 1

    def close(self):
        self.closes += 1


def test_kept_signatures_keep_state_new_ones_start_removed_ones_close():
    kept, removed, added = Counting("KEEP"), Counting("GONE"), Counting("NEW", "execve")
    findings = FindingsCollector()
    engine = Engine([kept, removed], findings)
    engine.start()
    for _ in range(15):
        engine.dispatch(make_event("openat"))
    assert engine.stage([kept, added])
    assert added.inits == 0 and removed.closes == 0  # nothing happens until the next event
    for _ in range(5):
        engine.dispatch(make_event("openat"))
    engine.dispatch(make_event("execve"))
    engine.finish()

    assert kept.seen == 20 and kept.inits == 1 and kept.closes == 1  # one instance all along
    assert removed.seen == 15 and removed.closes == 1 and removed.signals == 0
    assert added.inits == 1 and added.seen == 1 and added.signals == 1 and added.closes == 1
    assert [f.data for f in findings if f.metadata.id == "KEEP"] == [{"seen": 10}, {"seen": 20}]
    # Counters per ID run on across the switch (a Prometheus counter must never go down).
    assert engine.stats.dispatched == {"KEEP": 20, "NEW": 1, "GONE": 15}
    assert engine.stats.findings_by_signature == {"KEEP": 2, "GONE": 1}
    assert engine.event_names() == frozenset({"openat", "execve"})


def test_staging_from_another_thread_while_events_flow_loses_none():
    kept = Counting("KEEP")
    engine = Engine([kept], FindingsCollector())
    engine.start()
    total = 30_000
    stager = threading.Thread(target=lambda: [engine.stage([kept, Counting(f"N{n}")]) for n in range(200)])
    stager.start()
    for _ in range(total):
        engine.dispatch(make_event("openat"))
    stager.join()
    engine.finish()
    assert kept.seen == total and engine.stats.dispatched["KEEP"] == total


def test_a_set_staged_after_the_last_event_is_closed_at_finish_and_staging_after_finish_is_refused():
    first, second = Counting("A"), Counting("B")
    engine = Engine([first], FindingsCollector())
    engine.start()
    engine.dispatch(make_event("openat"))
    engine.stage([second])
    engine.finish()
    assert first.closes == 1 and second.inits == 1 and second.signals == 1 and second.closes == 1
    assert engine.stage([first]) is False
