"""Container id → metadata, filled by background threads so that the event path never waits.

One worker thread does every look-up, in request order: a miss on the event path, a
`container_create` event, a runtime's own create/rename event, and a list of existing containers
at start. One watcher thread per runtime follows its event stream; what an event itself says
about a container (Docker's create event has the name, image and labels) is stored at once. The
event path only reads dictionaries and puts ids on a bounded queue (a full queue drops the
request and counts it).

A runtime that does not answer (connection refused, timeout) is reported once, counted, and left
alone for DOWN_RETRY seconds, so a dead or slow socket costs the worker one timeout per interval,
not one per event; when it answers again that is said too. Removed containers are forgotten
FORGET_AFTER seconds after their removal, since their last events may still be in flight.
"""

from __future__ import annotations

import queue
import re
import threading
import time
from typing import Callable, Sequence

import logging

from tracee.log import limit

from .metadata import ContainerInfo
from .runtimes import Runtime, RuntimeDown, RuntimeFailed

__all__ = ["ContainerCache"]

# LEARN looks up only if unknown; STORE takes metadata a runtime's event carried (no look-up).
REFRESH, LEARN, STORE, REMOVE, PREFETCH = "refresh", "learn", "store", "remove", "prefetch"
_WAKE = "wake"  # close(): no work, the worker sees the stop flag
# Docker, containerd's CRI, CRI-O and podman name containers with 64 hex digits, and the sensor
# finds container ids in cgroup paths in that form only.
_CONTAINER_ID = re.compile(r"[0-9a-f]{64}\Z")


class ContainerCache:
    RETRY_UNKNOWN = 2.0    # an id no runtime knew is asked about again after this long
    DOWN_RETRY = 5.0       # a runtime that did not answer is skipped this long
    FORGET_AFTER = 30.0
    # Look-ups of ids not known yet: at most LOOKUP_RATE a second, LOOKUP_BURST at once. The
    # containers that exist are listed at start and new ones announced by the runtime's event
    # stream, so a miss is only the race of a container seen before its announcement; ids beyond
    # that (a stream full of forged or foreign ids) must not make the detector hammer the
    # runtimes' sockets, nor take the event path's interpreter time (each look-up costs a
    # millisecond of Python). An id over the rate is asked about when a token is free (counted).
    LOOKUP_RATE = 5.0
    LOOKUP_BURST = 20.0
    WATCH_BACKOFF = (1.0, 30.0)

    def __init__(self, runtimes: Sequence[Runtime], log: logging.Logger | None = None, *, max_entries: int = 8192,
                 queue_size: int = 4096) -> None:
        self.runtimes = list(runtimes)
        self.log = log or logging.getLogger("tracee.enricher.containers")
        self.max_entries = max_entries
        self.known: dict[str, ContainerInfo] = {}        # written under _store_lock; read freely
        self._asked: dict[str, float] = {}               # event path only: id -> when it was requested
        self._queue: queue.Queue[tuple[str, str, ContainerInfo | None]] = queue.Queue(queue_size)
        self._forget: dict[str, float] = {}              # id -> when to drop it (under _store_lock)
        self._down_until: dict[int, float] = {}          # worker and watchers: runtime index -> time
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()                    # the counters several threads touch
        self._store_lock = threading.Lock()              # writers of `known`
        self.hits = self.misses = 0                      # event path
        self.lookups = self.unknown = self.failed = self.evicted = 0  # worker
        self.socket_errors = self.dropped = 0            # any thread, under _lock
        self.deferred = 0                                # event path: over LOOKUP_RATE
        self._tokens, self._refilled = self.LOOKUP_BURST, time.monotonic()

    # -- the event path ---------------------------------------------------------------------------
    def get(self, container_id: str) -> ContainerInfo | None:
        """The container's metadata if known; otherwise None now, and a look-up in the background."""
        info = self.known.get(container_id)
        if info is not None:
            self.hits += 1
            return info
        self.misses += 1
        now = time.monotonic()
        asked = self._asked.get(container_id)
        if asked is None or now - asked >= self.RETRY_UNKNOWN:
            self._tokens = min(self.LOOKUP_BURST, self._tokens + (now - self._refilled) * self.LOOKUP_RATE)
            self._refilled = now
            if self._tokens < 1.0:
                self.deferred += 1
                self._asked[container_id] = now - self.RETRY_UNKNOWN + 1.0 / self.LOOKUP_RATE
                return None
            self._tokens -= 1.0
            if len(self._asked) >= self.max_entries:
                self._asked.clear()
            self._asked[container_id] = now
            self._request(REFRESH, container_id)
        return None

    def refresh(self, container_id: str) -> None:
        """Look the container up again (it was created or renamed)."""
        self._request(REFRESH, container_id)

    def remove(self, container_id: str) -> None:
        self._request(REMOVE, container_id)

    def _request(self, op: str, container_id: str, info: ContainerInfo | None = None) -> None:
        if op != PREFETCH and not _CONTAINER_ID.match(container_id):
            return  # ids come from events, which may be forged: only runtime-shaped ids are asked about
        try:
            self._queue.put_nowait((op, container_id, info))
        except queue.Full:
            with self._lock:
                self.dropped += 1

    # -- threads ----------------------------------------------------------------------------------
    def start(self, *, prefetch: bool = True, watch: bool = True) -> None:
        """The worker; with `prefetch`, first a list of the existing containers; with `watch`,
        a thread per runtime following its event stream."""
        if prefetch:
            self._request(PREFETCH, "")
        self._spawn("containers-lookup", self._work)
        for index, runtime in enumerate(self.runtimes if watch else ()):
            self._spawn(f"containers-watch-{runtime.kind}", lambda i=index, r=runtime: self._watch(i, r))

    def _spawn(self, name: str, target: Callable[[], None]) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    def close(self) -> None:
        self._stop.set()
        try:  # wakes the worker now rather than at its next 1 s poll (every run's exit waited for it)
            self._queue.put_nowait((_WAKE, "", None))
        except queue.Full:
            pass  # the worker is busy, not waiting
        for runtime in self.runtimes:
            try:
                runtime.close()
            except Exception:  # noqa: BLE001 - closing: nothing left to report to
                pass
        for thread in self._threads:
            thread.join(2)

    def wait_idle(self, timeout: float) -> bool:
        """For tests and start-up: True once every queued request has been handled."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._queue.unfinished_tasks == 0:
                return True
            time.sleep(0.01)
        return False

    def _work(self) -> None:
        while not self._stop.is_set():
            try:
                op, cid, info = self._queue.get(timeout=1.0)
            except queue.Empty:
                self._expire()
                continue
            try:
                if op == REFRESH or (op == LEARN and cid not in self.known):
                    self._lookup(cid)

                elif op == REMOVE:
                    with self._store_lock:
                        self._forget[cid] = time.monotonic() + self.FORGET_AFTER
                elif op == PREFETCH:
                    self._prefetch()
            except Exception as exc:  # noqa: BLE001 - the worker must outlive any one bad answer
                if self._stop.is_set():
                    break  # close() shut the clients under a running request
                self._fail(f"look-up of {cid[:12] or 'existing containers'} failed: {type(exc).__name__}: {exc}")
            finally:
                self._queue.task_done()
            self._expire()

    def _usable(self, index: int) -> bool:
        return time.monotonic() >= self._down_until.get(index, 0.0)

    def _lookup(self, cid: str) -> None:
        for index, runtime in enumerate(self.runtimes):
            if not self._usable(index):
                continue
            self.lookups += 1
            try:
                info = runtime.lookup(cid)
            except (RuntimeDown, RuntimeFailed) as exc:
                if self._stop.is_set():
                    return  # close() shut the client under this request: no failure to report
                if isinstance(exc, RuntimeDown):
                    self._down(index, runtime, exc)
                    continue
                self._fail(f"{runtime.kind} at {runtime.socket}: look-up of {cid[:12]}: {exc}")
                continue
            self._up(index, runtime)
            if info is not None:
                self._store(info)
                return
        self.unknown += 1

    def _prefetch(self) -> None:
        for index, runtime in enumerate(self.runtimes):
            try:
                infos = runtime.list()
            except (RuntimeDown, RuntimeFailed) as exc:
                if self._stop.is_set():
                    return  # close() shut the client under the listing: nothing to report
                if isinstance(exc, RuntimeDown):
                    self._down(index, runtime, exc)
                    continue
                self._fail(f"{runtime.kind} at {runtime.socket}: listing containers: {exc}")
                continue
            self._up(index, runtime)
            for info in infos:
                if info.id not in self.known:  # a runtime listed earlier describes it better
                    self._store(info)

    def _on_change(self, op: str, cid: str, info: ContainerInfo | None = None) -> None:
        """From a watcher: what a runtime's event says. Metadata it carried is stored at once,
        not queued behind look-ups (a container's first process may be about to run)."""
        if op == STORE:
            if info is not None and _CONTAINER_ID.match(cid):
                self._store(info)
        else:
            self._request(op, cid)

    def _store(self, info: ContainerInfo) -> None:
        with self._store_lock:  # the worker and the watchers write; the event path only reads
            known = self.known
            known.pop(info.id, None)
            known[info.id] = info  # newest last: eviction drops the oldest
            self._forget.pop(info.id, None)
            while len(known) > self.max_entries:
                known.pop(next(iter(known)))
                self.evicted += 1

    def _expire(self) -> None:
        if not self._forget:
            return
        now = time.monotonic()
        for cid in [c for c, when in self._forget.items() if when <= now]:
            with self._store_lock:
                if self._forget.pop(cid, None) is not None:
                    self.known.pop(cid, None)

    def _watch(self, index: int, runtime: Runtime) -> None:
        """Follow one runtime's events; reconnect with a growing pause when the stream breaks."""
        pause, longest = self.WATCH_BACKOFF
        while not self._stop.is_set():
            try:
                runtime.watch(self._on_change)
            except RuntimeDown as exc:
                if self._stop.is_set():
                    return
                self._down(index, runtime, exc, hold=False)
            except Exception as exc:  # noqa: BLE001
                if self._stop.is_set():
                    return
                self._fail(f"{runtime.kind} at {runtime.socket}: event stream: {type(exc).__name__}: {exc}")
            if self._stop.wait(pause):
                return
            pause = min(pause * 2, longest)
            self._request(PREFETCH, "")  # whatever happened while the stream was down

    # -- reporting --------------------------------------------------------------------------------
    def _down(self, index: int, runtime: Runtime, exc: Exception, *, hold: bool = True) -> None:
        with self._lock:
            self.socket_errors += 1
            if hold:
                self._down_until[index] = time.monotonic() + self.DOWN_RETRY
        self.log.error(f"containers: {runtime.kind} at {runtime.socket} does not answer ({exc}); "
                            f"events of its containers carry no container metadata meanwhile "
                            f"(reported once, counted)", extra=limit(f"containers-down:{id(self)}:{runtime.socket}"))

    def _up(self, index: int, runtime: Runtime) -> None:
        if index in self._down_until:
            with self._lock:
                self._down_until.pop(index, None)
            self.log.info(f"containers: {runtime.kind} at {runtime.socket} answers again")

    def _fail(self, message: str) -> None:
        self.failed += 1
        self.log.error(f"containers: {message}", extra=limit(f"containers-fail:{id(self)}:{message[:60]}"))

    def stats(self) -> dict[str, int]:
        out = {"cache_hits": self.hits, "cache_misses": self.misses, "lookups": self.lookups,
               "lookups_failed": self.failed + self.unknown, "socket_errors": self.socket_errors}
        if self.dropped:
            out["lookups_dropped"] = self.dropped
        if self.deferred:
            out["lookups_deferred"] = self.deferred
        if self.evicted:
            out["evicted"] = self.evicted
        return out
