"""Shared fixtures: one compiled BPF program (all events) for the kernel tests, and a collector."""

from __future__ import annotations

import os
import threading
import time
from typing import Callable, Iterator

import pytest

from tracee import Event


def kernel_skip_reason() -> str | None:
    from tracee_input_ebpf.environment import not_usable_reason

    return not_usable_reason()


class Collector:
    """Runs a source's events() in a thread and keeps every event for the tests to search."""

    def __init__(self, source) -> None:
        self.source = source
        self.events: list[Event] = []
        self._lock = threading.Lock()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        for event in self.source.events():
            with self._lock:
                self.events.append(event)

    def wait_for(self, predicate: Callable[[Event], bool], timeout: float = 10.0) -> Event:
        # 10 s: a followed child (gcc in the ia32 test) can leave seconds of backlog to decode on a
        # slow machine; an event that never comes still fails the test
        deadline = time.monotonic() + timeout
        seen = 0
        while time.monotonic() < deadline:
            with self._lock:
                snapshot = self.events[seen:]
            for event in snapshot:
                if predicate(event):
                    return event
            seen += len(snapshot)
            time.sleep(0.02)
        raise AssertionError("no matching event within %.1fs" % timeout)

    def all(self, predicate: Callable[[Event], bool], settle: float = 0.3) -> list[Event]:
        time.sleep(settle)
        with self._lock:
            return [e for e in self.events if predicate(e)]

    def close(self) -> None:
        self.source.close()
        self.thread.join(timeout=5)


@pytest.fixture(scope="module")
def collector() -> Iterator[Collector]:
    """Every event, traced for this test process and its children (compiled once per module)."""
    why = kernel_skip_reason()
    if why:
        pytest.skip(f"kernel tests: {why}")
    from tracee_input_ebpf.program import SUPPORTED_EVENTS, Filters
    from tracee_input_ebpf.source import EbpfSource, SourceOptions

    # every event but the ones of every context switch and every syscall (their own fixture:
    # with them a busy test run would fill the buffers)
    options = SourceOptions(events=SUPPORTED_EVENTS - NOISY,
                            filters=Filters(pids=(os.getpid(),), follow=True, exec_env=True),
                            include_self=True, poll_ms=20, buffer_pages=1024)
    source = EbpfSource(options)
    c = Collector(source)
    c.wait_for(lambda e: e.event_name == "hooked_syscalls", timeout=10)
    yield c
    c.close()


NOISY = frozenset({"sched_switch", "sys_enter", "sys_exit"})


@pytest.fixture(scope="module")
def noisy_collector() -> Iterator[Collector]:
    """sched_switch, sys_enter and sys_exit, traced for this test process and its children."""
    why = kernel_skip_reason()
    if why:
        pytest.skip(f"kernel tests: {why}")
    from tracee_input_ebpf.program import Filters
    from tracee_input_ebpf.source import EbpfSource, SourceOptions

    options = SourceOptions(events=NOISY, filters=Filters(pids=(os.getpid(),), follow=True),
                            include_self=True, poll_ms=20, buffer_pages=1024)
    c = Collector(EbpfSource(options))
    yield c
    c.close()
