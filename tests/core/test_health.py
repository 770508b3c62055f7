"""/healthz's judgement, on a real engine in a thread: waiting for events is healthy, one event
stuck in a rule is not, nor an input that ended or says it is unwell."""

from __future__ import annotations

import queue
import threading
import time

from tracee import EventSelector, Signature, SignatureMetadata
from tracee.engine import Engine
from tracee.health import Health
from tracee.testing import FindingsCollector, make_event


class Slow(Signature):
    metadata = SignatureMetadata(id="SLOW-1", name="slow")
    selected_events = [EventSelector("openat")]

    def __init__(self) -> None:
        self.release = threading.Event()

    def on_event(self, event):
        if event.get_arg("pathname") == "/hang":
            self.release.wait(30)


class QueueInput:
    """An input fed by the test; `events()` waits on the queue like a quiet pipe."""

    def __init__(self) -> None:
        self.q: queue.Queue = queue.Queue()
        self.read = 0
        self.problem: str | None = None

    def events(self):
        while (event := self.q.get()) is not None:
            self.read += 1
            yield event

    def stats(self):
        return {"read": self.read}

    def health(self):
        return self.problem


def until(predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.02)


def test_waiting_is_healthy_a_stuck_rule_is_not_and_recovery_is_seen():
    slow, source = Slow(), QueueInput()
    engine = Engine([slow], FindingsCollector())
    health = Health(stuck_after=0.5)
    assert health.check() == (False, "starting")
    runner = threading.Thread(target=lambda: engine.run(source.events()), name="run")
    runner.start()
    health.watch(source, thread=runner, busy_codes=Engine.dispatch_codes())
    try:
        source.q.put(make_event("openat", pathname="/etc/passwd"))
        until(lambda: source.read == 1)
        for _ in range(3):  # idle: blocked on the input, not in the engine
            health.sample()
            time.sleep(0.2)
        assert health.check() == (True, "OK")

        source.q.put(make_event("openat", pathname="/hang"))
        until(lambda: source.read == 2)
        health.sample()
        time.sleep(0.6)
        health.sample()
        ok, why = health.check()
        assert not ok and why.startswith("stuck: signature SLOW-1 on event openat, in Condition.wait, for "), why

        slow.release.set()
        until(lambda: (health.sample(), health.check())[1][0])  # the next sample sees it moving
        source.problem = "BPF programs detached"
        assert health.check() == (False, "input: BPF programs detached")
        source.problem = None
    finally:
        slow.release.set()
        source.q.put(None)
        runner.join(10)
    assert health.check() == (False, "input thread 'run' exited")
    health.ended("input ended")
    assert health.check() == (False, "input ended")
    health.close()
