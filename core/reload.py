"""SIGHUP: reload the rule files and the tuning file while events keep flowing.

A reload loads everything again on its own thread (the plugins' signatures, `--rules-dir` and
rule-pack files, `--config`), exactly as a start does, then compares:

- if it found a problem the running set did not have (a rule file that does not compile, a bad
  tuning file, an unknown `--rules` ID), the reload fails as a whole: each new problem is reported,
  then one line says the running signatures are kept;
- otherwise every signature that did not change (same ID, provider, class, settings and rule file
  contents) keeps its running instance, and with it its state (TRC-1's sockets, per-rule counters);
  the others are new instances. The engine switches to the new set at the next event
  (`Engine.stage`), in the thread that dispatches, so no event is dropped or seen half-way.

Events are dispatched while the loaders run; findings wait for them to finish (the rule-loader
contract lets a loader redirect file descriptor 1 while it loads, as tracee-sig-rego does).

Plugins themselves are not reloaded: a newly installed rule pack needs a restart.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import signal
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator

from .config import Config, load_config
from .engine import Engine, selected_conditions, selected_event_names
from .errors import FatalError, UsageError
from .metrics import Metric

if TYPE_CHECKING:
    from .plugins import PluginHost
    from .runner import LoadedSignature, RunOptions

__all__ = ["Reloader"]

log = logging.getLogger("tracee.reload")


class Reloader:
    """Reloads the signature set of a running `tracee run` when asked (`request`, or SIGHUP once
    `install`ed)."""

    def __init__(self, host: PluginHost, opts: RunOptions, loaded: list[LoadedSignature], problems: list[str],
                 config: Config, engine: Engine, source: Any, *, input_name: str = "input",
                 input_events: frozenset[str] | None = None, outputs_hold: Any = None) -> None:
        self.host, self.opts, self.engine, self.source = host, opts, engine, source
        self.loaded = list(loaded)
        self.problems = list(problems)
        self.config = config
        self.input_name = input_name
        self.input_events = input_events
        #: Held while loaders run: findings wait for it (a loader may redirect fd 1 as it loads).
        self.outputs_hold = outputs_hold or contextlib.nullcontext()
        self.counts = {"ok": 0, "failed": 0}
        self.last_ok: bool | None = None
        self.last_success = time.time()
        self._digests = {self._key(item): _digest(item.signature) for item in self.loaded}
        self._lock = threading.Lock()  # one reload at a time
        self._wake = threading.Event()
        self._closed = False
        self._worker: threading.Thread | None = None
        self._previous_handler: Any = None

    # -- how a reload is asked for ------------------------------------------------------------------
    def install(self) -> None:
        """Reload on SIGHUP (in the main thread only; elsewhere this does nothing)."""
        if threading.current_thread() is not threading.main_thread():
            return
        self._worker = threading.Thread(target=self._serve, name="tracee reload", daemon=True)
        self._worker.start()
        self._previous_handler = signal.signal(signal.SIGHUP, lambda *_: self.request())

    def request(self) -> None:
        """Ask for a reload (safe from a signal handler: only wakes the reload thread)."""
        self._wake.set()

    def close(self) -> None:
        if self._previous_handler is not None:
            signal.signal(signal.SIGHUP, self._previous_handler)
            self._previous_handler = None
        self._closed = True
        self._wake.set()

    def _serve(self) -> None:
        while True:
            self._wake.wait()
            self._wake.clear()
            if self._closed:
                return
            try:
                self.reload()
            except Exception as exc:  # noqa: BLE001 - a bug here must not end the run
                self._failed(f"{type(exc).__name__}: {exc}")

    # -- the reload ---------------------------------------------------------------------------------
    def reload(self) -> bool:
        """Load the rules and the tuning file again and switch to them; False (and the running set
        kept) when that found new problems."""
        from .runner import LoadedSignature, load_signatures

        with self._lock:
            started = time.monotonic()
            log.info("reload: reloading rule files and the tuning file")
            problems: list[str] = []
            try:
                config = load_config(self.opts.config)
                with self.outputs_hold:
                    fresh = load_signatures(self.host, rules_dirs=self.opts.rules_dirs, rules=self.opts.rules,
                                            config=config, options=self.opts.options, problems=problems,
                                            report=False)
            except (UsageError, FatalError) as exc:
                return self._failed(str(exc))
            new_problems = [p for p in problems if p not in self.problems]
            if new_problems:
                for problem in new_problems:
                    log.error(f"reload: {problem}")
                return self._failed(f"{len(new_problems)} new problem(s) in the rules (above)")
            if not fresh:
                return self._failed("no signatures would be loaded")

            running = {item.signature.get_metadata().id: item for item in self.loaded}
            merged: list[LoadedSignature] = []
            digests: dict[tuple[str, str], str | None] = {}
            added, changed = [], []
            for item in fresh:
                sid = item.signature.get_metadata().id
                digest = _digest(item.signature)
                digests[self._key(item)] = digest
                prev = running.get(sid)
                if prev is not None and self._unchanged(prev, item, digest, config):
                    merged.append(prev)
                else:
                    (added if prev is None else changed).append(sid)
                    merged.append(item)
            removed = [sid for sid in running if sid not in {m.signature.get_metadata().id for m in merged}]
            self.problems = problems
            if not (added or changed or removed) and [m.signature for m in merged] == [
                    i.signature for i in self.loaded]:
                self.config = config
                return self._succeeded(f"no change ({len(merged)} signature(s))")
            if not self.engine.stage([m.signature for m in merged]):
                return self._failed("the run is ending")
            self._update_input([m.signature for m in merged])
            self.loaded, self.config, self._digests = merged, config, digests
            parts = [f"{len(merged)} signature(s)"]
            for what, ids in (("added", added), ("changed", changed), ("removed", removed)):
                if ids:
                    parts.append(f"{what} {' '.join(ids)}")
            kept = len(merged) - len(added) - len(changed)
            parts.append(f"{kept} kept running with their state")
            return self._succeeded(", ".join(parts) + f" (in {time.monotonic() - started:.1f}s)")

    def _unchanged(self, prev: LoadedSignature, item: LoadedSignature, digest: str | None,
                   config: Config) -> bool:
        sid = item.signature.get_metadata().id
        return (type(prev.signature) is type(item.signature) and prev.provider == item.provider
                and self._digests.get(self._key(prev)) == digest
                and self.config.settings.get(sid) == config.settings.get(sid))

    @staticmethod
    def _key(item: LoadedSignature) -> tuple[str, str]:
        return item.signature.get_metadata().id, item.provider

    def _update_input(self, signatures: list[Any]) -> None:
        if self.source is None:  # not started yet: it is told the engine's events when it is
            return
        conditions: Callable[[Any], None] | None = getattr(self.source, "update_conditions", None)
        if callable(conditions):  # first: an input filtering by the old predicates would drop too much
            try:
                conditions(selected_conditions(signatures))
            except Exception as exc:  # noqa: BLE001
                log.error(f"reload: input {self.input_name} failed to change its filters: {type(exc).__name__}: {exc}")
        names = selected_event_names(signatures)
        update: Callable[[frozenset[str] | None], None] | None = getattr(self.source, "update_events", None)
        if callable(update):
            try:
                update(names)
                return
            except Exception as exc:  # noqa: BLE001
                log.error(f"reload: input {self.input_name} failed to change its events: {type(exc).__name__}: {exc}")
        if self.input_events is None:
            return
        missing = sorted(names - self.input_events) if names is not None else ["every event"]
        if missing:
            log.warning(f"reload: input {self.input_name} cannot change the events it reads while it runs: "
                        f"{', '.join(missing)} (selected by the new rules) will be seen after a restart")

    def _succeeded(self, message: str) -> bool:
        self.counts["ok"] += 1
        self.last_ok, self.last_success = True, time.time()
        log.info(f"reload: {message}")
        return True

    def _failed(self, why: str) -> bool:
        self.counts["failed"] += 1
        self.last_ok = False
        log.error(f"reload failed: {why}; the {len(self.loaded)} signature(s) running are kept")
        return False

    # -- /metrics -----------------------------------------------------------------------------------
    def metrics(self) -> Iterator[Metric]:
        for result, n in self.counts.items():
            yield Metric("tracee_reloads_total", n, help="Reloads (SIGHUP) of rules and tuning file, by result",
                         labels={"result": result})
        yield Metric("tracee_reload_last_successful", 0 if self.last_ok is False else 1, "gauge",
                     "0 when the last reload failed (the signatures loaded before it are running)")
        yield Metric("tracee_reload_last_success_timestamp_seconds", self.last_success, "gauge",
                     "When the signature set last loaded (start or reload), Unix time")


def _digest(signature: Any) -> str | None:
    """The contents of the rule file a signature came from (None for one that has no file)."""
    path = getattr(signature, "path", None)
    if not path:
        return None
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError:
        return "unreadable"
