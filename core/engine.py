"""The rule engine: Tracee's selector semantics, the signature life cycle, and the run's counters."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Callable, Iterable

from .api import Enricher
from .event import Event
from .log import limit
from .predicates import Predicate
from .signature import ALL, SIGNAL_SOURCE_COMPLETE, SOURCE_TRACEE, Finding, Signature, SignatureGroup

__all__ = ["Engine", "EngineStats"]

log = logging.getLogger("tracee.engine")

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


# One entry of a route: the positions (load order) of the signatures it serves, and what to call
# with the event: a signature's on_event, or a group's evaluate bound to its selecting members.
_Handler = tuple[tuple[int, ...], Callable[[Event], None]]


class Engine:
    """Dispatches events to the signatures that select them and findings to a callback.

    Selection follows Tracee: each selector is indexed under (source, name, origin) with empty
    name/origin meaning `*`; a selector without a source is never indexed (the signature is
    warned about and receives nothing). An event of (name, origin) goes to the union of the
    buckets (tracee, name, origin), (tracee, name, *), (tracee, *, origin), (tracee, *, *), each
    signature at most once, in load order. Members of a `SignatureGroup` that select an event are
    handed to their group in one call, at the place of the first of them.

    A selector's predicates (`EventSelector.where`) narrow it: a signature whose selectors for an
    event all have predicates gets the event only if one selector's predicates all may match.
    `check_predicates` says for which signatures the engine checks them: "groups" (the default:
    members of a SignatureGroup, whose evaluation costs far more than the check; a Python rule's
    own first test is as cheap as the check), "all", or "none" (every event a selector names,
    to show a declaration is sound). Inputs use the declarations to filter in the kernel anyway.
    """

    def __init__(self, signatures: Iterable[Signature], on_finding: Callable[[Finding], None],
                 *, enrichers: Iterable[Enricher] = (), check_predicates: str = "groups") -> None:
        if check_predicates not in ("groups", "all", "none"):
            raise ValueError(f"check_predicates={check_predicates!r}: 'groups', 'all' or 'none'")
        self.signatures = list(signatures)
        self.enrichers = list(enrichers)
        # event name -> the enrichers that asked for it (life-cycle events no signature selects)
        self._watched: dict[str, list[Enricher]] = {}
        for enricher in self.enrichers:
            for name in enricher.events:
                self._watched.setdefault(name, []).append(enricher)
        self.stats = EngineStats()
        self._on_finding = on_finding
        self._ids = [sig.get_metadata().id for sig in self.signatures]
        self._groups: list[SignatureGroup] = []
        for sig in self.signatures:
            if sig.group is not None and sig.group not in self._groups:
                self._groups.append(sig.group)
        # (source, name, origin) -> [(position, predicates of that selector)]
        self._index: dict[tuple[str, str, str], list[tuple[int, tuple[Predicate, ...]]]] = {}
        for pos, sig in enumerate(self.signatures):
            for sel in sig.get_selected_events():
                if not sel.source:
                    log.warning(f"signature {self._ids[pos]} has a selector without a source "
                                f"({sel.name or ALL}); it receives no events from it")
                    continue
                key = (sel.source, sel.name or ALL, sel.origin or ALL)
                checked = check_predicates == "all" or (check_predicates == "groups" and sig.group is not None)
                self._index.setdefault(key, []).append((pos, tuple(sel.where) if checked else ()))
        # Events handed to a signature by a predicate check (the others count by route hits).
        self._checked = [0] * len(self.signatures)
        # (name, origin) -> [handlers, hit count]: the hot path is one dict lookup per event.
        self._routes: dict[tuple[str, str], list[Any]] = {}
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
                self._failed((pos,), "init", exc)
        self._started = True

    def _handle_finding(self, finding: Finding) -> None:
        self.stats.findings += 1
        try:
            self._on_finding(finding)
        except Exception as exc:  # noqa: BLE001 - an output must not stop detection
            self.stats.output_errors += 1
            log.error(f"output failed on a finding of {finding.metadata.id}: {type(exc).__name__}: {exc}",
                      extra=limit(f"output:{type(exc).__name__}"))

    def _route(self, name: str, origin: str) -> list[Any]:
        index = self._index
        # position -> the predicate conjunctions of its selectors for this event; None when a
        # selector without predicates selects it (nothing to check)
        conditions: dict[int, list[tuple[Callable[[Event], bool], ...]] | None] = {}
        for key in ((SOURCE_TRACEE, name, origin), (SOURCE_TRACEE, name, ALL),
                    (SOURCE_TRACEE, ALL, origin), (SOURCE_TRACEE, ALL, ALL)):
            for pos, where in index.get(key, ()):
                checks = _compiled(name, where)
                if not checks:
                    conditions[pos] = None
                elif pos not in conditions:
                    conditions[pos] = [checks]
                elif conditions[pos] is not None:
                    conditions[pos].append(checks)  # type: ignore[union-attr]
        # In load order; a group takes the place of its first selecting member.
        order: list[Signature | SignatureGroup] = []
        served: dict[int, list[int]] = {}  # id(signature or group) -> positions
        for pos in sorted(conditions):
            sig = self.signatures[pos]
            unit: Signature | SignatureGroup = sig.group or sig
            if id(unit) not in served:
                served[id(unit)] = []
                order.append(unit)
            served[id(unit)].append(pos)
        handlers: list[_Handler] = []
        for unit in order:
            members = tuple(served[id(unit)])
            checks = [conditions[p] for p in members]
            if isinstance(unit, SignatureGroup):
                sigs = tuple(self.signatures[p] for p in members)
                if all(c is None for c in checks):
                    call = partial(unit.evaluate, members=sigs)
                else:
                    call = self._checked_group(unit, members, sigs, checks)
            elif checks[0] is None:
                call = unit.on_event
            else:
                call = self._checked_signature(unit, members[0], checks[0])
            handlers.append((members, call))
        route = [tuple(handlers), 0, tuple(p for p in conditions if conditions[p] is None)]
        self._routes[(name, origin)] = route
        return route

    def _checked_signature(self, sig: Signature, pos: int, checks: list[Any]) -> Callable[[Event], None]:
        checked = self._checked
        on_event = sig.on_event

        def call(event: Event) -> None:
            if _passes(checks, event):
                checked[pos] += 1
                on_event(event)
        return call

    def _checked_group(self, group: SignatureGroup, members: tuple[int, ...], sigs: tuple[Signature, ...],
                       checks: list[Any]) -> Callable[[Event], None]:
        checked = self._checked
        evaluate = group.evaluate
        plan = tuple(zip(members, sigs, checks))

        def call(event: Event) -> None:
            chosen = []
            for pos, sig, check in plan:
                if check is None:
                    chosen.append(sig)
                elif _passes(check, event):
                    checked[pos] += 1
                    chosen.append(sig)
            if chosen:
                evaluate(event, members=tuple(chosen))
        return call

    def dispatch(self, event: Event) -> None:
        """Hand one event to every signature that selects it."""
        key = (event.event_name, event.origin)
        route = self._routes.get(key)
        if route is None:
            route = self._route(*key)
        handlers = route[0]
        if not handlers:
            if self._watched and event.event_name in self._watched:
                self._enrich(event, self._watched[event.event_name])
            return
        route[1] += 1
        self._enrich(event, self.enrichers)
        for served, call in handlers:
            try:
                call(event)
            except Exception as exc:  # noqa: BLE001 - a broken rule must not stop the others
                self._failed(served, "on_event", exc)

    def _enrich(self, event: Event, enrichers: list[Enricher]) -> None:
        for enricher in enrichers:
            try:
                enricher.enrich(event)
            except Exception as exc:  # noqa: BLE001
                self._enricher_failed(enricher, exc)

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
        """Flush groups, send "source complete" to every signature with a tracee selector, then
        close all (groups last)."""
        if self._finished:
            return
        self._finished = True
        for group in self._groups:
            self._group_call(group, "flush")
        for pos, sig in enumerate(self.signatures):
            if any(sel.source == SOURCE_TRACEE for sel in sig.get_selected_events()):
                try:
                    sig.on_signal(SIGNAL_SOURCE_COMPLETE)
                except Exception as exc:  # noqa: BLE001
                    self._failed((pos,), "on_signal", exc)
        for pos, sig in enumerate(self.signatures):
            try:
                sig.close()
            except Exception as exc:  # noqa: BLE001
                self._failed((pos,), "close", exc)
        for group in self._groups:
            self._group_call(group, "close")
        self._count_dispatch()

    def _group_call(self, group: SignatureGroup, stage: str) -> None:
        try:
            getattr(group, stage)()
        except Exception as exc:  # noqa: BLE001
            members = tuple(p for p, s in enumerate(self.signatures) if s.group is group)
            self._failed(members, stage, exc, group=group)

    def _count_dispatch(self) -> None:
        dispatched = {sid: 0 for sid in self._ids}
        for _handlers, hits, unchecked in self._routes.values():
            for pos in unchecked:
                dispatched[self._ids[pos]] += hits
        for pos, n in enumerate(self._checked):
            dispatched[self._ids[pos]] += n
        self.stats.dispatched = dispatched

    # -- errors ---------------------------------------------------------------------------------------
    def _failed(self, served: tuple[int, ...], stage: str, exc: Exception,
                group: SignatureGroup | None = None) -> None:
        if group is None and len(served) == 1 and self.signatures[served[0]].group is None:
            sid = self._ids[served[0]]
            what = f"signature {sid}"
        else:
            group = group or self.signatures[served[0]].group
            sid = f"group:{group.name if group else '?'}"
            what = f"rule group {group.name if group else '?'} ({' '.join(self._ids[p] for p in served)})"
        errors = self.stats.signature_errors
        errors[sid] = errors.get(sid, 0) + 1
        log.error(f"{what} failed in {stage}: {type(exc).__name__}: {exc}",
                  extra=limit(f"signature:{sid}", MAX_REPORTS_PER_SIGNATURE,
                              more="further errors of this signature are only counted"))

    def _enricher_failed(self, enricher: Enricher, exc: Exception) -> None:
        errors = self.stats.enricher_errors
        errors[enricher.name] = errors.get(enricher.name, 0) + 1
        log.error(f"enricher {enricher.name} failed: {type(exc).__name__}: {exc}",
                  extra=limit(f"enricher:{enricher.name}"))


def _compiled(event_name: str, where: tuple[Predicate, ...]) -> tuple[Callable[[Event], bool], ...]:
    """The user-space checks of one selector's predicates for `event_name` (none: nothing to check)."""
    checks = (p.compile(event_name) for p in where)
    return tuple(c for c in checks if c is not None)


def _passes(conjunctions: list[tuple[Callable[[Event], bool], ...]], event: Event) -> bool:
    """One selector's predicates may all match (the union of a signature's selectors)."""
    for conjunction in conjunctions:
        for check in conjunction:
            if not check(event):
                break
        else:
            return True
    return False
