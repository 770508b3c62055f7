"""The rule engine: Tracee's selector semantics, the signature life cycle, and the run's counters."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from .api import Enricher, Reporter
from .event import Event
from .signature import ALL, SIGNAL_SOURCE_COMPLETE, SOURCE_TRACEE, Finding, Signature

__all__ = ["Engine", "EngineStats"]

# A signature that keeps raising is reported this many times, then only counted.
MAX_REPORTS_PER_SIGNATURE = 3


@dataclass
class EngineStats:
    events: int = 0  # events dispatched through the engine
    findings: int = 0
    signature_errors: dict[str, int] = field(default_factory=dict)
    enricher_errors: dict[str, int] = field(default_factory=dict)
    output_errors: int = 0
    dispatched: dict[str, int] = field(default_factory=dict)  # per signature ID

    @property
    def errors(self) -> int:
        return sum(self.signature_errors.values()) + sum(self.enricher_errors.values()) + self.output_errors


class Engine:
    """Dispatches events to the signatures that select them and findings to a callback.

    Selection follows Tracee: each selector is indexed under (source, name, origin) with empty
    name/origin meaning `*`; a selector without a source is never indexed (the signature is
    warned about and receives nothing). An event of (name, origin) goes to the union of the
    buckets (tracee, name, origin), (tracee, name, *), (tracee, *, origin), (tracee, *, *), each
    signature at most once, in load order.
    """

    def __init__(self, signatures: Iterable[Signature], on_finding: Callable[[Finding], None],
                 *, reporter: Reporter | None = None, enrichers: Iterable[Enricher] = ()) -> None:
        self.reporter = reporter or Reporter()
        self.signatures = list(signatures)
        self.enrichers = list(enrichers)
        self.stats = EngineStats()
        self._on_finding = on_finding
        self._ids = [sig.get_metadata().id for sig in self.signatures]
        self._index: dict[tuple[str, str, str], list[int]] = {}
        for pos, sig in enumerate(self.signatures):
            for sel in sig.get_selected_events():
                if not sel.source:
                    self.reporter.warning(f"signature {self._ids[pos]} has a selector without a source "
                                          f"({sel.name or ALL}); it receives no events from it")
                    continue
                key = (sel.source, sel.name or ALL, sel.origin or ALL)
                bucket = self._index.setdefault(key, [])
                if pos not in bucket:
                    bucket.append(pos)
        # (name, origin) -> [handlers, hit count]: the hot path is one dict lookup per event.
        self._routes: dict[tuple[str, str], list[Any]] = {}
        self._reports: dict[str, int] = {}
        self._started = False
        self._finished = False

    # -- what inputs need to produce -----------------------------------------------------------------
    def event_names(self) -> frozenset[str] | None:
        """Names of the events some signature selects, or None if some signature selects all."""
        names = set()
        for source, name, _origin in self._index:
            if source != SOURCE_TRACEE:
                continue
            if name == ALL:
                return None
            names.add(name)
        return frozenset(names)

    # -- life cycle ---------------------------------------------------------------------------------
    def start(self) -> None:
        """init() every signature with its finding callback."""
        for pos, sig in enumerate(self.signatures):
            try:
                sig.init(self._handle_finding)
            except Exception as exc:  # noqa: BLE001
                self._signature_failed(pos, "init", exc)
        self._started = True

    def _handle_finding(self, finding: Finding) -> None:
        self.stats.findings += 1
        try:
            self._on_finding(finding)
        except Exception as exc:  # noqa: BLE001 - an output must not stop detection
            self.stats.output_errors += 1
            self.reporter.error(f"output failed on a finding of {finding.metadata.id}: "
                                f"{type(exc).__name__}: {exc}", once_key=f"output:{type(exc).__name__}")

    def _route(self, name: str, origin: str) -> list[Any]:
        index = self._index
        positions: list[int] = []
        for key in ((SOURCE_TRACEE, name, origin), (SOURCE_TRACEE, name, ALL),
                    (SOURCE_TRACEE, ALL, origin), (SOURCE_TRACEE, ALL, ALL)):
            for pos in index.get(key, ()):
                if pos not in positions:
                    positions.append(pos)
        positions.sort()
        handlers = tuple((pos, self.signatures[pos].on_event) for pos in positions)
        route = [handlers, 0]
        self._routes[(name, origin)] = route
        return route

    def dispatch(self, event: Event) -> None:
        """Hand one event to every signature that selects it."""
        if event.container_started:
            origin = "container"
        else:
            origin = "container-init" if event.container_id else "host"
        route = self._routes.get((event.event_name, origin))
        if route is None:
            route = self._route(event.event_name, origin)
        handlers = route[0]
        if not handlers:
            return
        route[1] += 1
        for enricher in self.enrichers:
            try:
                enricher.enrich(event)
            except Exception as exc:  # noqa: BLE001
                self._enricher_failed(enricher, exc)
        for pos, on_event in handlers:
            try:
                on_event(event)
            except Exception as exc:  # noqa: BLE001 - a broken rule must not stop the others
                self._signature_failed(pos, "on_event", exc)

    def run(self, events: Iterable[Event]) -> None:
        """Dispatch every event of a source, then signal its end and close the signatures."""
        if not self._started:
            self.start()
        dispatch = self.dispatch
        count = 0
        try:
            for event in events:
                count += 1
                dispatch(event)
        finally:
            self.stats.events += count
        self.finish()

    def finish(self) -> None:
        """Send "source complete" to every signature with a tracee selector, then close all."""
        if self._finished:
            return
        self._finished = True
        for pos, sig in enumerate(self.signatures):
            if any(sel.source == SOURCE_TRACEE for sel in sig.get_selected_events()):
                try:
                    sig.on_signal(SIGNAL_SOURCE_COMPLETE)
                except Exception as exc:  # noqa: BLE001
                    self._signature_failed(pos, "on_signal", exc)
        for pos, sig in enumerate(self.signatures):
            try:
                sig.close()
            except Exception as exc:  # noqa: BLE001
                self._signature_failed(pos, "close", exc)
        self._count_dispatch()

    def _count_dispatch(self) -> None:
        dispatched = {sid: 0 for sid in self._ids}
        for handlers, hits in self._routes.values():
            for pos, _ in handlers:
                dispatched[self._ids[pos]] += hits
        self.stats.dispatched = dispatched

    # -- errors ---------------------------------------------------------------------------------------
    def _signature_failed(self, pos: int, stage: str, exc: Exception) -> None:
        sid = self._ids[pos]
        errors = self.stats.signature_errors
        errors[sid] = errors.get(sid, 0) + 1
        if errors[sid] <= MAX_REPORTS_PER_SIGNATURE:
            more = " (further errors of this signature are only counted)" if errors[sid] == MAX_REPORTS_PER_SIGNATURE else ""
            self.reporter.error(f"signature {sid} failed in {stage}: {type(exc).__name__}: {exc}{more}")
        else:
            self.reporter.errors += 1

    def _enricher_failed(self, enricher: Enricher, exc: Exception) -> None:
        errors = self.stats.enricher_errors
        errors[enricher.name] = errors.get(enricher.name, 0) + 1
        self.reporter.error(f"enricher {enricher.name} failed: {type(exc).__name__}: {exc}",
                            once_key=f"enricher:{enricher.name}")
