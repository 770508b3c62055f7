"""The engine's side of a rule worker: a SignatureGroup whose rules run in another process.

`load_isolated(loader, files, context)` starts a worker that loads the files and answers with the
signatures' metadata; the engine gets `RemoteSignature`s whose group is a `WorkerGroup`. The
group queues each event with the members selecting it; a pump thread sends the queue in batches,
reads findings back and hands them to the members' callbacks (the engine serialises delivery).

When the worker dies or overruns its time budget, the progress slot says on which event. The
events before it are done, the ones after it are sent again to a new worker, and the event itself
is replayed to the new worker with halves of its rules until the rule that kills the worker (or
alone exceeds the budget) is found: a crash quarantines that rule at once; an overrun counts a
strike, and `STRIKES` strikes quarantine it. Each finding is delivered exactly once: a probe's
findings arrive only when the probe completes.
"""

from __future__ import annotations

import collections
import json
import logging
import os
import select
import signal
import subprocess
import sys
import tempfile
import threading
import time
import weakref
from pathlib import Path
from typing import Any, Sequence

from ..api import RuleLoadContext, RuleLoader
from ..errors import FatalError
from ..event import Event
from ..log import limit
from ..predicates import Predicate
from ..signature import EventSelector, Signature, SignatureGroup, SignatureMetadata
from .protocol import (IDLE, PHASE_COMPILE, Frames, LoadRequest, Progress, event_state, send_pickle)

__all__ = ["DEFAULT_BUDGET_MS", "RemoteSignature", "WorkerGroup", "load_isolated"]

log = logging.getLogger("tracee.workers")

#: Time one rule may take on one event before its evaluation is abandoned (milliseconds).
DEFAULT_BUDGET_MS = 50.0
#: Time one rule file may take to compile before the file is abandoned (seconds).
COMPILE_BUDGET_S = 10.0
#: Over-budget evaluations after which a rule is quarantined.
STRIKES = 3
#: A worker over its budget in wall time that spent less than half of it on a CPU was starved (a
#: busy node: another job, or an attacker loading the CPUs to get rules quarantined), not slow: it
#: gets up to this many budgets of wall time before it is stopped.
STARVED_GRACE = 10
#: Events sent per message, and how long a partial batch may wait (live inputs trickle).
BATCH = 256  # bench_workers.py: 1.47x in-process at 256, 1.07x at 64 (K8S pack, load 1.1)
MAX_DELAY_S = 0.005
#: Events waiting for the worker before the engine's thread waits too (backpressure).
MAX_QUEUE = 16 * BATCH
#: Restarts after which a worker that keeps dying without a culprit is given up.
MAX_RESTARTS = 50
_STDERR_TAIL = 300


class WorkerDied(Exception):
    def __init__(self, why: str, index: int = IDLE, batch: int = 0) -> None:
        super().__init__(why)
        self.why, self.index, self.batch = why, index, batch


class RemoteSignature(Signature):
    """A rule that lives in a worker: its metadata and selectors here, its logic there."""

    def __init__(self, group: "WorkerGroup", index: int, metadata: SignatureMetadata,
                 selectors: list[EventSelector], path: str, path_is_str: bool = False) -> None:
        self.metadata = metadata  # type: ignore[misc]
        self.selected_events = tuple(selectors)  # type: ignore[misc]
        self.group = group
        self.index = index
        if path:  # the rule file, of the type the loader gave it
            self.path: str | Path = path if path_is_str else Path(path)

    def __repr__(self) -> str:
        return f"RemoteSignature({self.metadata.id!r}, {self.group.name})"


# -- one worker process -------------------------------------------------------------------------------
class _Process:
    """A started worker: its pipes, progress slot and captured stderr."""

    def __init__(self, loader: RuleLoader) -> None:
        self.progress = Progress.create()
        to_child_r, self.to_child = os.pipe2(os.O_CLOEXEC)
        self.from_child, from_child_w = os.pipe2(os.O_CLOEXEC)
        self.stderr = tempfile.TemporaryFile()
        env = {k: os.environ[k] for k in loader.environment if k in os.environ}
        bootstrap = "import os, sys; from tracee.workers.child import main; os._exit(main(sys.argv[1:]))"
        fds = (to_child_r, from_child_w, self.progress.fd)
        self.proc = subprocess.Popen(
            [sys.executable, "-I", "-c", bootstrap, *map(str, fds)], pass_fds=fds, env=env,
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=self.stderr,
            start_new_session=True)  # Ctrl-C goes to the detector, which ends its workers itself
        os.close(to_child_r)
        os.close(from_child_w)
        self.frames = Frames()
        self.messages: collections.deque[dict[str, Any]] = collections.deque()
        self.eof = False
        self._finalizer = weakref.finalize(self, _kill, self.proc)

    def cpu_ns(self) -> int | None:
        """CPU time the worker's main thread has run, in ns (the scheduler's own count), or None."""
        try:
            with open(f"/proc/{self.proc.pid}/schedstat", "rb") as f:
                return int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def send(self, message: Any) -> None:
        try:
            send_pickle(self.to_child, message)
        except OSError as exc:  # BrokenPipeError: it died
            raise WorkerDied(self.describe_exit() or f"pipe closed ({exc.strerror})") from None

    def receive(self, timeout: float) -> dict[str, Any] | None:
        """The next message, waiting at most `timeout` seconds (None: nothing yet, or EOF)."""
        if self.messages:
            return self.messages.popleft()
        if self.eof:
            return None
        ready, _, _ = select.select([self.from_child], [], [], max(timeout, 0))
        if not ready:
            return None
        data = os.read(self.from_child, 1 << 16)
        if not data:
            self.eof = True
            return None
        try:
            for frame in self.frames.feed(data):
                self.messages.append(json.loads(frame))
        except ValueError as exc:
            self.kill()
            self.eof = True
            raise WorkerDied(f"garbled answer ({exc})") from None
        return self.messages.popleft() if self.messages else None

    def alive(self) -> bool:
        return not self.eof and self.proc.poll() is None

    def kill(self) -> None:
        _kill(self.proc)

    def describe_exit(self) -> str:
        """"killed by SIGSEGV" / "exited with status 1", and the last line it printed."""
        try:
            code = self.proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            return ""
        if code < 0:
            try:
                what = f"killed by {signal.Signals(-code).name}"
            except ValueError:
                what = f"killed by signal {-code}"
        else:
            what = f"exited with status {code}"
        tail = self.stderr_tail()
        return f"{what}: {tail}" if tail else what

    def stderr_tail(self) -> str:
        try:
            self.stderr.seek(0, os.SEEK_END)
            size = self.stderr.tell()
            self.stderr.seek(max(0, size - 4096))
            lines = [ln for ln in self.stderr.read().decode("utf-8", "replace").splitlines() if ln.strip()]
        except (OSError, ValueError):
            return ""
        text = lines[-1].strip() if lines else ""
        return text if len(text) <= _STDERR_TAIL else text[:_STDERR_TAIL] + "..."

    def close(self) -> None:
        self.kill()
        for fd in (self.to_child, self.from_child):
            try:
                os.close(fd)
            except OSError:
                pass
        self.progress.close()
        self.stderr.close()


def _kill(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        try:
            proc.kill()
        except OSError:
            pass
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass


def _reemit(message: dict[str, Any], quiet: bool) -> None:
    level = int(message.get("level", logging.ERROR))
    if quiet and level < logging.ERROR:
        return
    spec = message.get("limit")
    extra = {"tracee_limit": tuple(spec)} if spec else None
    logging.getLogger(str(message.get("name") or "tracee.workers")).log(level, str(message.get("msg", "")), extra=extra)


# -- loading -------------------------------------------------------------------------------------------
def load_isolated(loader: RuleLoader, files: Sequence[Path], context: RuleLoadContext,
                  budget_ms: float = DEFAULT_BUDGET_MS, group: "WorkerGroup | None" = None) -> list[Signature]:
    """Load `files` with `loader` in a worker; the signatures, evaluated there. `group`: one made
    (and `begin()`-started) beforehand for these files."""
    if group is None:
        group = WorkerGroup(loader, [str(f) for f in files], context, budget_ms)
    return group.load()


class WorkerGroup(SignatureGroup):
    """Rules of one loader, evaluated in a worker process (see the module docstring)."""

    def __init__(self, loader: RuleLoader, files: list[str], context: RuleLoadContext,
                 budget_ms: float = DEFAULT_BUDGET_MS) -> None:
        self.name = loader.name
        self.loader = loader
        self.files = files
        self.skipped: set[str] = set()
        self.context = context
        self.budget_ns = int(budget_ms * 1e6)
        self.members: list[RemoteSignature] = []
        self._ids: list[str] = []
        self._proc: _Process | None = None
        self._indices: dict[tuple[Signature, ...], tuple[int, ...]] = {}
        self._queue: collections.deque[tuple[int, tuple[int, ...], Event]] = collections.deque()
        self._cond = threading.Condition()
        self._io = threading.Lock()  # one conversation with the worker at a time
        self._seq = 0
        self._batch = 0
        self._busy = False
        self._flushing = False
        self._closing = False
        self._thread: threading.Thread | None = None
        self._dead: str | None = None
        self._interrupted = False
        self.quarantined: set[int] = set()
        self.strikes: dict[int, int] = {}
        self.counts = {"rule_worker_restart(s)": 0, "rule(s)_quarantined": 0, "evaluation(s)_over_budget": 0,
                       "event(s)_not_evaluated": 0, "engine_wait(s)_for_the_worker": 0}
        # The worker's groups' own counters (result cache...): the latest its process sent, and
        # the last ones of the processes before it (a restart starts them at zero).
        self._remote: dict[str, int] = {}
        self._remote_base: dict[str, int] = {}
        self._begun = False  # a worker started by begin() (or _spawn) whose load answer is unread

    # -- start and load -----------------------------------------------------------------------------
    def begin(self) -> None:
        """Start the worker and send it the files, without waiting for it: `load` then collects
        the answer, so several workers compile their rules at the same time."""
        if self._proc is None:
            try:
                self._spawn()
            except WorkerDied:
                pass  # load() starts it again and reports

    def load(self) -> list[Signature]:
        while True:
            try:
                described = self._start(first=True)
                break
            except WorkerDied as exc:
                culprit = exc.batch
                if not culprit:
                    self.context.fail(f"{len(self.files)} {self.name} rule file(s) not loaded: the rule worker "
                                      f"could not start ({exc.why})")
                    return []
                # `culprit` is 1 + the index of the file being compiled (see _load_messages)
                path = self.files[culprit - 1]
                self.skipped.add(path)
                if exc.why.startswith("still compiling"):
                    self.context.fail(f"{path}: loading this file took over {COMPILE_BUDGET_S:g} s in the "
                                      f"{self.name} rule worker; file skipped")
                else:
                    self.context.fail(f"{path}: the {self.name} rule compiler crashed on this file "
                                      f"({exc.why}); file skipped")
        for n, item in enumerate(described):
            meta = item["meta"]
            metadata = SignatureMetadata(id=item["id"], name=meta.get("name", ""), version=meta.get("version", ""),
                                         description=meta.get("description", ""), tags=tuple(meta.get("tags") or ()),
                                         properties=meta.get("properties") or {})
            selectors = [EventSelector(name=s[0], origin=s[1], source=s[2],
                                       where=tuple(Predicate(f, op, tuple(values), ctx) for f, op, values, ctx in s[3]))
                         for s in item["selectors"]]
            self.members.append(RemoteSignature(self, n, metadata, selectors, item.get("path", ""),
                                                bool(item.get("path_is_str"))))
        self._ids = [m.metadata.id for m in self.members]
        if not self.members:
            self._shutdown()
        return list(self.members)

    def _start(self, first: bool = False) -> list[dict[str, Any]]:
        """A new worker with the rules loaded; their descriptions. Raises WorkerDied with
        `batch` = 1 + the index of the file it died compiling (0: not compiling)."""
        with self._cond:
            for key, value in self._remote.items():
                self._remote_base[key] = self._remote_base.get(key, 0) + value
            self._remote = {}
        if self._begun:
            self._begun = False  # begin() started this one: its answer is what we wait for
            proc = self._proc
            assert proc is not None
        else:
            proc = self._spawn()
            self._begun = False
        current: str | None = None
        started = time.monotonic()
        while True:
            message = proc.receive(0.25)
            if message is None:
                if proc.alive():
                    if current is not None and time.monotonic() - started > COMPILE_BUDGET_S:
                        proc.kill()
                        raise WorkerDied(f"still compiling after {COMPILE_BUDGET_S:.0f} s",
                                         batch=self.files.index(current) + 1)
                    continue
                why = proc.describe_exit() or "ended without answering"
                raise WorkerDied(why, batch=self.files.index(current) + 1 if current in self.files else 0)
            kind = message.get("t")
            if kind == "log":
                _reemit(message, quiet=not first)
            elif kind == "file":
                current, started = message.get("path"), time.monotonic()
            elif kind == "fatal":
                proc.close()
                raise FatalError(str(message.get("msg")))
            elif kind == "loaded":
                if first:
                    for problem in message.get("problems") or ():
                        self.context.fail(str(problem))
                if message.get("error"):
                    self.context.fail(f"rule loader {self.name} failed: {message['error']}")
                described = list(message.get("sigs") or [])
                if not first and [d["id"] for d in described] != self._ids:
                    raise WorkerDied("the restarted worker loaded other rules than the first")
                return described

    def _spawn(self) -> _Process:
        """A new worker process, sent the load request (its answer is read by `_start`)."""
        if self._proc is not None:
            self._proc.close()
        files = [f for f in self.files if f not in self.skipped]
        proc = self._proc = _Process(self.loader)
        self._begun = True
        request = LoadRequest(self.loader, files, self.context.strict, dict(self.context.options or {}))
        try:
            proc.send(("path", list(sys.path)))
            proc.send(("load", request))
        except WorkerDied:
            pass  # read what it said before dying (in _start)
        return proc

    def interrupt(self) -> None:
        """Stop evaluating now (a second SIGINT/SIGTERM): queued events are counted as not
        evaluated and the worker is killed. Safe from a signal handler (no lock waited for)."""
        self._interrupted = True
        self._dead = "interrupted"
        proc = self._proc
        if proc is not None:
            proc.kill()

    def _restart(self, why: str) -> bool:
        """Start a new worker after a death; False (and the group given up) when that fails."""
        if self._interrupted:
            return False
        self.counts["rule_worker_restart(s)"] += 1
        if self.counts["rule_worker_restart(s)"] > MAX_RESTARTS:
            self._give_up(f"restarted {MAX_RESTARTS} times ({why})")
            return False
        try:
            self._start()
            return True
        except (WorkerDied, FatalError) as exc:
            self._give_up(f"it cannot be restarted: {exc}")
            return False

    def _give_up(self, why: str) -> None:
        self._dead = why
        log.error(f"{self.name} rules ({' '.join(self._ids)}) disabled: {why}; their events are counted "
                  f"as not evaluated")
        if self._proc is not None:
            self._proc.close()
            self._proc = None

    # -- per event (the engine's thread) ------------------------------------------------------------
    def evaluate(self, event: Event, members: Sequence[Signature]) -> None:
        indices = self._indices.get(members)  # type: ignore[arg-type]
        if indices is None:
            indices = self._indices[tuple(members)] = tuple(m.index for m in members)  # type: ignore[attr-defined]
        with self._cond:
            if self._dead is not None:
                self.counts["event(s)_not_evaluated"] += 1
                return
            if len(self._queue) >= MAX_QUEUE:
                # The worker is behind: the engine's thread waits (counted: evaluation is meant to
                # run beside the pipeline, on another core, and this says when it does not).
                self.counts["engine_wait(s)_for_the_worker"] += 1
                while len(self._queue) >= MAX_QUEUE and self._dead is None:
                    self._cond.wait(0.1)
            self._seq += 1
            self._queue.append((self._seq, indices, event))
            if self._thread is None:
                self._thread = threading.Thread(target=self._pump, name=f"rule worker {self.name}", daemon=True)
                self._thread.start()
            queued = len(self._queue)
            if queued == 1 or queued >= BATCH:  # the first wakes the pump, which waits MAX_DELAY_S for more
                self._cond.notify_all()

    def flush(self) -> None:
        """Wait until every queued event is evaluated, then let the worker's rules finish."""
        with self._cond:
            if self._interrupted:
                self.counts["event(s)_not_evaluated"] += len(self._queue)
                self._queue.clear()
            self._flushing = True
            self._cond.notify_all()
            while (self._queue or self._busy) and self._dead is None and self._thread is not None \
                    and self._thread.is_alive():
                self._cond.wait(0.1)
            self._flushing = False
        with self._io:
            if self._proc is not None and self._dead is None:
                self._converse(("flush",), "flushed")

    def close(self) -> None:
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(5)
        with self._io:
            if self._proc is not None and self._dead is None:
                self._converse(("close",), "closed")
            self._shutdown()
        for n, count in sorted(self.strikes.items()):
            if n not in self.quarantined and count:
                log.warning(f"{self.name} rule {self._ids[n]} went over its time budget on {count} event(s)")

    def _shutdown(self) -> None:
        if self._proc is not None:
            self._proc.close()
            self._proc = None

    def stats(self) -> dict[str, int]:
        with self._cond:
            total = dict(self.counts)
            for part in (self._remote_base, self._remote):
                for key, value in part.items():
                    total[key] = total.get(key, 0) + value
            return total

    def _remote_stats(self, stats: Any) -> None:
        """Keep the counters a worker sent with a batch: at most 16, string keys, int values (the
        worker is not trusted to fill the summary with anything else)."""
        if type(stats) is not dict:
            return
        clean = {k: v for k, v in list(stats.items())[:16]
                 if type(k) is str and len(k) <= 64 and type(v) is int and v >= 0}
        with self._cond:
            self._remote = clean

    def _converse(self, message: Any, answer: str, timeout: float = 10.0) -> None:
        assert self._proc is not None
        try:
            self._proc.send(message)
            end = time.monotonic() + timeout
            while time.monotonic() < end:
                reply = self._proc.receive(min(0.1, max(end - time.monotonic(), 0)))
                if reply is None:
                    if not self._proc.alive():
                        break
                    continue
                if reply.get("t") == answer:
                    return
                self._handle(reply, {})
        except WorkerDied:
            pass

    # -- the pump thread -------------------------------------------------------------------------------
    def _pump(self) -> None:
        while True:
            with self._cond:
                while not self._queue and not self._closing:
                    self._cond.wait()
                if not self._queue:
                    return
                if len(self._queue) < BATCH and not (self._flushing or self._closing):
                    self._cond.wait(MAX_DELAY_S)
                batch = [self._queue.popleft() for _ in range(min(BATCH, len(self._queue)))]
                self._busy = True
                self._cond.notify_all()
            try:
                with self._io:
                    self._run(batch)
            except Exception as exc:  # noqa: BLE001 - never lose events without a word
                log.error(f"{self.name} rule worker: {type(exc).__name__}: {exc}",
                          extra=limit(f"workers:{self.name}:pump", 3))
                with self._cond:
                    self.counts["event(s)_not_evaluated"] += len(batch)
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()

    def _run(self, batch: list[tuple[int, tuple[int, ...], Event]]) -> None:
        """Evaluate `batch`, restarting and bisecting as needed, until every event is done."""
        work = list(batch)
        unattributed = 0
        while work:
            if self._dead is not None or self._proc is None:
                with self._cond:
                    self.counts["event(s)_not_evaluated"] += len(work)
                return
            items = [(seq, tuple(i for i in idx if i not in self.quarantined), event) for seq, idx, event in work]
            items = [item for item in items if item[1]]
            if not items:
                return
            try:
                self._exchange(items, probe=False)
                return
            except WorkerDied as exc:
                at = exc.index
                if at == IDLE or at >= len(items):  # died between events: send them all again
                    unattributed += 1
                    if not self._restart(exc.why):
                        continue
                    if unattributed >= 3:
                        log.error(f"{self.name} rule worker died {unattributed} times on a batch without "
                                  f"starting an event ({exc.why}); {len(items)} event(s) not evaluated")
                        with self._cond:
                            self.counts["event(s)_not_evaluated"] += len(items)
                        return
                    work = items
                    continue
                seq, indices, event = items[at]
                overran = exc.why.startswith("over budget")
                if not self._restart(exc.why):
                    continue
                self._bisect(seq, indices, event, exc.why, overran)
                work = items[at + 1:]

    def _bisect(self, seq: int, indices: tuple[int, ...], event: Event, why: str, overran: bool) -> None:
        """Find which of `indices` kills the worker (or overruns) on `event`; deliver the others' findings."""
        if len(indices) == 1:
            self._culprit(indices[0], event, why, overran)
            return
        found_any = False

        def probe(subset: tuple[int, ...]) -> None:
            nonlocal found_any
            if self._dead is not None:
                return
            try:
                self._exchange([(seq, subset, event)], probe=True)
            except WorkerDied as exc:
                if not self._restart(exc.why):
                    return
                if len(subset) == 1:
                    found_any = True
                    self._culprit(subset[0], event, exc.why, exc.why.startswith("over budget"))
                    return
                half = len(subset) // 2
                probe(subset[:half])
                probe(subset[half:])

        half = len(indices) // 2
        probe(indices[:half])
        probe(indices[half:])
        if not found_any and self._dead is None:
            ids = " ".join(self._ids[i] for i in indices)
            log.error(f"{self.name} rule worker {why} on event {event.event_name}, but none of its rules "
                      f"({ids}) does so alone; restarted, no rule quarantined",
                      extra=limit(f"workers:{self.name}:unattributed", 3))

    def _culprit(self, member: int, event: Event, why: str, overran: bool) -> None:
        sid = self._ids[member]
        where = f" ({self.members[member].path})" if getattr(self.members[member], "path", None) else ""
        if overran:
            with self._cond:
                self.counts["evaluation(s)_over_budget"] += 1
            strikes = self.strikes[member] = self.strikes.get(member, 0) + 1
            if strikes < STRIKES:
                log.error(f"{self.name} rule {sid}{where} took over {self.budget_ns / 1e6:g} ms on event "
                          f"{event.event_name}: evaluation abandoned, no match "
                          f"({strikes} of {STRIKES} before it is quarantined)")
                return
            why = f"it went over its time budget ({self.budget_ns / 1e6:g} ms) on {strikes} events"
        else:
            why = f"it crashed the rule worker ({why}) on event {event.event_name}"
        self.quarantined.add(member)
        with self._cond:
            self.counts["rule(s)_quarantined"] += 1
        log.error(f"{self.name} rule {sid}{where} quarantined: {why}; it gets no more events, the other rules go on")

    def _exchange(self, items: list[tuple[int, tuple[int, ...], Event]], probe: bool) -> None:
        """Send one batch and deliver its findings; WorkerDied (with the index of the event it
        was on) when the worker dies or overruns its budget."""
        proc = self._proc
        assert proc is not None
        self._batch += 1
        batch = self._batch
        events = {seq: event for seq, _, event in items}
        budgets = [self.budget_ns * len(idx) for _, idx, _ in items]
        proc.send(("eval", batch, [(seq, idx, event_state(event)) for seq, idx, event in items], probe))
        poll = min(max(self.budget_ns / 4e9, 0.002), 0.05)
        timed: tuple[int, int] | None = None  # the (batch, event) whose CPU time is measured
        cpu_start: int | None = None
        while True:
            message = proc.receive(poll)
            if message is not None:
                if message.get("t") == "done" and message.get("batch") == batch:
                    for finding in message.get("found") or ():
                        self._deliver(finding, events)
                    self._remote_stats(message.get("stats"))
                    return
                self._handle(message, events)
                continue
            at_batch, index, start, phase = proc.progress.get()
            if not proc.alive():
                while True:  # what it sent before dying: findings of the events it finished
                    message = proc.receive(0.05)
                    if message is None:
                        break
                    self._handle(message, events)
                index = index if at_batch == batch else IDLE
                raise WorkerDied(proc.describe_exit() or "died", index, batch)
            if at_batch == batch and index >= 0 and index < len(budgets):
                if timed != (at_batch, index):  # seen within one poll of its start
                    timed, cpu_start = (at_batch, index), proc.cpu_ns()
                limit_ns = COMPILE_BUDGET_S * 1e9 if phase == PHASE_COMPILE else budgets[index]
                elapsed = time.monotonic_ns() - start
                if elapsed > limit_ns:
                    cpu_now = proc.cpu_ns()
                    starved = (cpu_now is not None and cpu_start is not None
                               and cpu_now - cpu_start < limit_ns / 2 and elapsed < limit_ns * STARVED_GRACE)
                    if starved:
                        continue
                    proc.kill()
                    proc.eof = True
                    raise WorkerDied(f"over budget ({(time.monotonic_ns() - start) / 1e6:.0f} ms)", index, batch)

    def _handle(self, message: dict[str, Any], events: dict[int, Event]) -> None:
        kind = message.get("t")
        if kind == "found":
            self._deliver(message.get("f"), events)
        elif kind == "log":
            _reemit(message, quiet=False)

    def _deliver(self, finding: Any, events: dict[int, Event]) -> None:
        try:
            seq, member, data = finding
            event = events[seq]
            sig = self.members[member]
        except (TypeError, ValueError, KeyError, IndexError):
            log.error(f"{self.name} rule worker sent a finding for no event it was given ({str(finding)[:100]})",
                      extra=limit(f"workers:{self.name}:finding", 3))
            return
        if data is not None and type(data) is not dict:
            data = {"value": data}
        sig.match(event, data)
