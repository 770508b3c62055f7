"""The rule engine: Tracee's selector semantics, the signature life cycle, and the run's counters."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Callable, Iterable, Sequence

from .api import Enricher
from .event import Event
from .events import catalog
from .log import limit
from .metrics import RuleTimings
from .predicates import Predicate
from .signals import real_interrupt_possible
from .signature import ALL, SIGNAL_SOURCE_COMPLETE, SOURCE_TRACEE, Finding, Signature, SignatureGroup
from .watchdog import Watchdog

__all__ = ["Engine", "EngineStats"]

log = logging.getLogger("tracee.engine")

# A signature that keeps raising is reported this many times, then only counted.
MAX_REPORTS_PER_SIGNATURE = 3
# What a rule, enricher or output may raise without ending the run: a rule's sys.exit() or a
# KeyboardInterrupt it raises itself is its bug, reported and counted like any other. (The run's
# own SIGINT handler never raises; a real Ctrl-C under Python's default handler is re-raised.)
_CAUGHT = (Exception, SystemExit, KeyboardInterrupt)


def _own_interrupt(exc: BaseException) -> None:
    if isinstance(exc, KeyboardInterrupt) and real_interrupt_possible():
        raise exc


@dataclass
class EngineStats:
    events: int = 0  # events dispatched through the engine
    findings: int = 0
    signature_errors: dict[str, int] = field(default_factory=dict)
    enricher_errors: dict[str, int] = field(default_factory=dict)
    output_errors: int = 0
    dispatched: dict[str, int] = field(default_factory=dict)  # per signature ID, filled in by finish()
    findings_by_signature: dict[str, int] = field(default_factory=dict)
    #: Signatures taken out of the run (ID -> why); whoever quarantines records it here, so the
    #: summary and `tracee_rule_quarantined` show it.
    quarantined: dict[str, str] = field(default_factory=dict)

    @property
    def errors(self) -> int:
        return sum(self.signature_errors.values()) + sum(self.enricher_errors.values()) + self.output_errors


# One entry of a route: the positions (load order) of the signatures it serves, and what to call
# with the event: a signature's on_event, or a group's evaluate bound to its selecting members.
_Handler = tuple[tuple[int, ...], Callable[[Event], None]]
# A route is [handlers, events dispatched through it, the positions it serves unchecked (the
# others count in `_checked`), the rule language of each handler].


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

    The signature set can be replaced while events flow (`stage`, the SIGHUP reload): the new set
    takes over at the next event, in the dispatching thread; signatures in both sets keep their
    state and their counters.

    `time_rules(timings)` has one evaluation in 64 per route timed into a `RuleTimings`, per rule
    language: `python`, or the group's name (`rego`, `cel`).
    """

    def __init__(self, signatures: Iterable[Signature], on_finding: Callable[[Finding], None],
                 *, enrichers: Iterable[Enricher] = (), check_predicates: str = "groups",
                 budget_ms: float | None = None) -> None:
        if check_predicates not in ("groups", "all", "none"):
            raise ValueError(f"check_predicates={check_predicates!r}: 'groups', 'all' or 'none'")
        self.check_predicates = check_predicates
        self.enrichers = list(enrichers)
        # event name -> the enrichers that asked for it (life-cycle events no signature selects)
        self._watched: dict[str, list[Enricher]] = {}
        for enricher in self.enrichers:
            for name in enricher.events:
                self._watched.setdefault(name, []).append(enricher)
        self.stats = EngineStats()
        self.timings: RuleTimings | None = None
        # `hits & 0` is never 1: no timing until `time_rules`. One test per event either way,
        # measured cheaper than swapping in a second dispatch method for the timed runs.
        self._sample_mask = 0
        self._on_finding = on_finding
        self._load(list(signatures))
        # (name, origin) -> a route (above): the hot path is one dict lookup per event.
        self._routes: dict[tuple[str, str], list[Any]] = {}
        self._started = False
        self._finished = False
        # A reload: the staged signature list, and the routes (with their hit counts) of the set it
        # replaces, folded into the `_dispatched_*` bases when it takes over. The lock is taken only
        # then, by `stage`, and by readers of the counters on other threads, never per event.
        self._staged: list[Signature] | None = None
        self._retired_routes: list[dict[tuple[str, str], list[Any]]] = []
        self._dispatched_base: dict[str, int] = {}
        self._dispatched_names_base: dict[str, int] = {}
        self._lock = threading.Lock()
        self._deliver_lock = threading.RLock()  # rule workers deliver findings from their threads
        self._quarantined: set[int] = set()
        # Python rules over their time budget (rules in workers are timed there).
        self._watchdog = Watchdog(self, budget_ms / 1000) if budget_ms else None

    def time_rules(self, timings: RuleTimings) -> None:
        """Time one evaluation in `timings.SAMPLE_EVERY` per route (the first, then every 64th)."""
        self.timings = timings
        self._sample_mask = timings.SAMPLE_EVERY - 1

    def _load(self, signatures: list[Signature]) -> None:
        """Index `signatures` (the constructor, and a staged set taking over)."""
        ids = [sig.get_metadata().id for sig in signatures]
        groups: list[SignatureGroup] = []
        for sig in signatures:
            if sig.group is not None and sig.group not in groups:
                groups.append(sig.group)
        self.signatures, self._ids, self._groups = signatures, ids, groups
        # (source, name, origin) -> [(position, predicates of that selector)]
        self._index = selector_index(signatures, ids, self.check_predicates)
        self._selected_names = frozenset(name for _source, name, _origin in self._index)
        # Events handed to a signature by a predicate check (the others count by route hits).
        self._checked = [0] * len(signatures)

    # -- what inputs need to produce -----------------------------------------------------------------
    def event_names(self) -> frozenset[str] | None:
        """Names of the events some signature selects, or None if some signature selects all."""
        return event_names_of(self._index)

    # -- life cycle ---------------------------------------------------------------------------------
    def start(self) -> None:
        """init() every signature with its finding callback."""
        for pos, sig in enumerate(self.signatures):
            try:
                sig.init(self._handle_finding)
            except _CAUGHT as exc:  # noqa: BLE001
                self._failed((pos,), "init", exc)
        self._started = True

    def _handle_finding(self, finding: Finding) -> None:
        with self._deliver_lock:
            self._deliver(finding)

    def _deliver(self, finding: Finding) -> None:
        self.stats.findings += 1
        per_sig = self.stats.findings_by_signature
        sid = finding.metadata.id
        per_sig[sid] = per_sig.get(sid, 0) + 1
        try:
            self._on_finding(finding)
        except _CAUGHT as exc:  # noqa: BLE001 - an output must not stop detection
            _own_interrupt(exc)
            self.stats.output_errors += 1
            log.error(f"output failed on a finding of {finding.metadata.id}: {type(exc).__name__}: {exc}",
                      extra=limit(f"output:{type(exc).__name__}"))

    def _route(self, name: str, origin: str) -> list[Any]:
        while True:
            if self._staged is not None:
                self._take_over()
            if name not in self._selected_names and catalog.by_name(name) is None:
                # Neither a selector nor the catalog names this event: it shares the wildcard route
                # of its origin, cached under "*", never under its own name, so millions of
                # distinct hostile names cannot grow the table: it holds at most (catalog events
                # + named events + 1) x origins routes.
                name = ALL
                route = self._routes.get((ALL, origin))
                if route is not None and self._staged is None:
                    return route
            route = self._build_route(name, origin)
            self._routes[(name, origin)] = route
            # A reload staged while the route was built may have stored it in the new (empty) route
            # table: build it again from the staged set. `stage` sets `_staged` before it empties
            # the table, so this test sees every such case.
            if self._staged is None:
                return route

    def _build_route(self, name: str, origin: str) -> list[Any]:
        index = self._index
        # position -> the predicate conjunctions of its selectors for this event; None when a
        # selector without predicates selects it (nothing to check)
        conditions: dict[int, list[tuple[Callable[[Event], bool], ...]] | None] = {}
        for key in ((SOURCE_TRACEE, name, origin), (SOURCE_TRACEE, name, ALL),
                    (SOURCE_TRACEE, ALL, origin), (SOURCE_TRACEE, ALL, ALL)):
            for pos, where in index.get(key, ()):
                if pos in self._quarantined:
                    continue
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
        languages: list[str] = []
        for unit in order:
            members = tuple(served[id(unit)])
            checks = [conditions[p] for p in members]
            languages.append(unit.name if isinstance(unit, SignatureGroup) else "python")
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
        return [tuple(handlers), 0, tuple(p for p in conditions if conditions[p] is None), tuple(languages)]

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
        hits = route[1] = route[1] + 1
        self._enrich(event, self.enrichers)
        if hits & self._sample_mask == 1:  # with time_rules: the first event of a route, then one in 64
            self._dispatch_timed(event, handlers, route[3])
            return
        for served, call in handlers:
            try:
                call(event)
            except _CAUGHT as exc:  # noqa: BLE001 - a broken rule must not stop the others
                self._failed(served, "on_event", exc)

    @classmethod
    def dispatch_codes(cls) -> tuple[Any, ...]:
        """The code objects an event is inside while the engine handles it (see tracee.health)."""
        return (cls.dispatch.__code__,)

    def _dispatch_timed(self, event: Event, handlers: tuple[_Handler, ...], languages: tuple[str, ...]) -> None:
        timings = self.timings
        clock = time.perf_counter
        for (served, call), language in zip(handlers, languages):
            start = clock()
            try:
                call(event)
            except _CAUGHT as exc:  # noqa: BLE001 - a broken rule must not stop the others
                self._failed(served, "on_event", exc)
            if timings is not None:
                timings.observe(language, clock() - start)

    def _enrich(self, event: Event, enrichers: list[Enricher]) -> None:
        for enricher in enrichers:
            try:
                enricher.enrich(event)
            except _CAUGHT as exc:  # noqa: BLE001
                self._enricher_failed(enricher, exc)

    def run(self, events: Iterable[Event]) -> None:
        """Dispatch every event of a source, then signal its end and close the signatures."""
        if not self._started:
            self.start()
        dispatch = self.dispatch
        count = 0
        if self._watchdog is not None:
            self._watchdog.start()
        try:
            for event in events:
                count += 1
                dispatch(event)
        finally:
            self.stats.events += count
            if self._watchdog is not None:
                self._watchdog.stop()
        self.finish()

    def quarantine(self, pos: int, why: str = "") -> None:
        """Stop giving events to the signature at `pos` (it went over its time budget again and
        again). Safe from another thread: each route's handlers are replaced in one assignment."""
        self._quarantined.add(pos)
        if why:
            self.stats.quarantined[self._ids[pos]] = why
        for route in list(self._routes.values()):
            route[0] = tuple(h for h in route[0] if pos not in h[0])

    def interrupt(self) -> None:
        """Stop groups that evaluate asynchronously (rule workers) now; safe from a signal handler."""
        for group in self._groups:
            interrupt = getattr(group, "interrupt", None)
            if interrupt is not None:
                interrupt()

    def group_stats(self) -> dict[str, int]:
        """The groups' own counters added up (rule workers: restarts, quarantined rules...), and
        the watchdog's for Python rules."""
        total: dict[str, int] = {}
        if self._watchdog is not None and self._watchdog.over_budget:
            total["evaluation(s)_over_budget"] = self._watchdog.over_budget
            total["rule(s)_quarantined"] = len(self._quarantined)
        for group in self._groups:
            stats = getattr(group, "stats", None)
            for key, value in (stats() if stats is not None else {}).items():
                total[key] = total.get(key, 0) + value
        return total

    def finish(self) -> None:
        """Flush groups, send "source complete" to every signature with a tracee selector, then
        close all (groups last)."""
        if self._finished:
            return
        with self._lock:
            self._finished = True  # `stage` refuses from now on
        if self._staged is not None and self._started:
            self._take_over()
        for group in self._groups:
            self._group_call(group, "flush")
        for pos, sig in enumerate(self.signatures):
            if any(sel.source == SOURCE_TRACEE for sel in sig.get_selected_events()):
                try:
                    sig.on_signal(SIGNAL_SOURCE_COMPLETE)
                except _CAUGHT as exc:  # noqa: BLE001
                    self._failed((pos,), "on_signal", exc)
        for pos, sig in enumerate(self.signatures):
            try:
                sig.close()
            except _CAUGHT as exc:  # noqa: BLE001
                self._failed((pos,), "close", exc)
        for group in self._groups:
            self._group_call(group, "close")
        self._count_dispatch()

    def _group_call(self, group: SignatureGroup, stage: str) -> None:
        try:
            getattr(group, stage)()
        except _CAUGHT as exc:  # noqa: BLE001
            members = tuple(p for p, s in enumerate(self.signatures) if s.group is group)
            self._failed(members, stage, exc, group=group)

    def _count_dispatch(self) -> None:
        self.stats.dispatched = self.dispatch_counts()[0]

    def dispatch_counts(self) -> tuple[dict[str, int], dict[str, int]]:
        """Events dispatched so far ({signature ID: n}, {event name: n}); safe from any thread.

        Event names outside the catalog and the loaded selectors count as "other", so an input
        full of invented names cannot grow the label set."""
        with self._lock:
            per_sig = dict(self._dispatched_base)
            per_name = dict(self._dispatched_names_base)
            for sid in self._ids:
                per_sig.setdefault(sid, 0)
            # Every table here was built from the current set: a staged one has not taken over.
            self._fold([*self._retired_routes, self._routes.copy()], per_sig, per_name)
        return per_sig, per_name

    def _fold(self, tables: list[dict[tuple[str, str], list[Any]]], per_sig: dict[str, int],
              per_name: dict[str, int]) -> None:
        """Add the counts of the current set's route `tables` and predicate checks."""
        ids, known = self._ids, self._selected_names
        for table in tables:
            for (name, _origin), route in table.items():
                hits = route[1]
                if not hits:
                    continue
                for pos in route[2]:
                    per_sig[ids[pos]] = per_sig.get(ids[pos], 0) + hits
                # "*": the shared route of names nobody knows (see `_route`)
                label = name if name != ALL and (name in known or catalog.by_name(name) is not None) else "other"
                per_name[label] = per_name.get(label, 0) + hits
        for pos, n in enumerate(list(self._checked)):
            if n:
                per_sig[ids[pos]] = per_sig.get(ids[pos], 0) + n

    # -- reloading ------------------------------------------------------------------------------------
    def stage(self, signatures: Sequence[Signature]) -> bool:
        """Replace the signature set (from any thread): the next event is dispatched to
        `signatures`. Instances in both sets keep their state; new ones are `init()`ed, and the
        ones left out are closed, in the dispatching thread when the new set takes over. False
        once the engine has finished."""
        with self._lock:
            if self._finished:
                return False
            self._staged = list(signatures)
            # After `_staged` is set (see `_route`): the next event misses the empty table.
            self._retired_routes.append(self._routes)
            self._routes = {}
        return True

    def _take_over(self) -> None:
        """The staged set replaces the current one (in the dispatching thread, between events)."""
        with self._lock:
            staged, self._staged = self._staged, None
            if staged is None:
                return
            # The counts of the set being replaced go into the per-ID bases.
            self._fold([*self._retired_routes, self._routes], self._dispatched_base, self._dispatched_names_base)
            self._retired_routes = []
            old, old_groups = self.signatures, self._groups
            self._load(staged)
            self._routes = {}
        kept = {id(sig) for sig in staged}
        before = {id(sig) for sig in old}
        if self._started:
            for pos, sig in enumerate(self.signatures):
                if id(sig) not in before:
                    try:
                        sig.init(self._handle_finding)
                    except _CAUGHT as exc:  # noqa: BLE001
                        self._failed((pos,), "init", exc)
        for sig in old:
            if id(sig) not in kept:
                try:
                    sig.close()
                except _CAUGHT as exc:  # noqa: BLE001
                    self._report(f"signature {_id_of(sig)} (unloaded)", _id_of(sig), "close", exc)
        for group in old_groups:
            if group not in self._groups:
                for stage in ("flush", "close"):
                    try:
                        getattr(group, stage)()
                    except _CAUGHT as exc:  # noqa: BLE001
                        self._report(f"rule group {group.name} (unloaded)", f"group:{group.name}", stage, exc)

    # -- errors ---------------------------------------------------------------------------------------
    def _failed(self, served: tuple[int, ...], stage: str, exc: BaseException,
                group: SignatureGroup | None = None) -> None:
        _own_interrupt(exc)
        if group is None and len(served) == 1 and self.signatures[served[0]].group is None:
            sid = self._ids[served[0]]
            what = f"signature {sid}"
        else:
            group = group or self.signatures[served[0]].group
            sid = f"group:{group.name if group else '?'}"
            what = f"rule group {group.name if group else '?'} ({' '.join(self._ids[p] for p in served)})"
        self._report(what, sid, stage, exc)

    def _report(self, what: str, sid: str, stage: str, exc: BaseException) -> None:
        errors = self.stats.signature_errors
        errors[sid] = errors.get(sid, 0) + 1
        why = f"{type(exc).__name__}: {exc}"
        if isinstance(exc, (SystemExit, KeyboardInterrupt)):
            why = f"raised {type(exc).__name__}({exc}) (a rule cannot end the run; ignored)"
        log.error(f"{what} failed in {stage}: {why}",
                  extra=limit(f"signature:{sid}", MAX_REPORTS_PER_SIGNATURE,
                              more="further errors of this signature are only counted"))

    def _enricher_failed(self, enricher: Enricher, exc: BaseException) -> None:
        _own_interrupt(exc)
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


def selector_index(signatures: Sequence[Signature], ids: Sequence[str], check_predicates: str = "groups"
                   ) -> dict[tuple[str, str, str], list[tuple[int, tuple[Predicate, ...]]]]:
    """(source, name, origin) -> [(position, the predicates the engine checks for that selector)]."""
    index: dict[tuple[str, str, str], list[tuple[int, tuple[Predicate, ...]]]] = {}
    for pos, sig in enumerate(signatures):
        for sel in sig.get_selected_events():
            if not sel.source:
                log.warning(f"signature {ids[pos]} has a selector without a source "
                            f"({sel.name or ALL}); it receives no events from it",
                            extra=limit(f"selector:{ids[pos]}:{sel.name}"))
                continue
            key = (sel.source, sel.name or ALL, sel.origin or ALL)
            checked = check_predicates == "all" or (check_predicates == "groups" and sig.group is not None)
            index.setdefault(key, []).append((pos, tuple(sel.where) if checked else ()))
    return index


def event_names_of(index: dict[tuple[str, str, str], Any]) -> frozenset[str] | None:
    """Names of the events an index selects from source tracee, or None when it selects all."""
    names = set()
    for source, name, _origin in index:
        if source != SOURCE_TRACEE:
            continue
        if name == ALL:
            return None
        names.add(name)
    return frozenset(names)


def selected_event_names(signatures: Sequence[Signature]) -> frozenset[str] | None:
    """The event names `signatures` select (None: every event), as `Engine.event_names` says."""
    return event_names_of(selector_index(signatures, [_id_of(sig) for sig in signatures]))


def selected_conditions(signatures: Sequence[Signature]
                        ) -> dict[str, tuple[tuple[str, tuple[Predicate, ...]], ...]] | None:
    """Per event name of source tracee, the (origin, predicates) of every selector naming it (an
    input may drop what none can match: `InputContext.conditions`); None when some signature
    selects every event."""
    out: dict[str, list[tuple[str, tuple[Predicate, ...]]]] = {}
    for sig in signatures:
        try:
            selectors = sig.get_selected_events()
        except Exception:  # noqa: BLE001 - reported where the engine indexes them
            return None
        for sel in selectors:
            if sel.source != SOURCE_TRACEE:
                continue
            if not sel.name or sel.name == ALL:
                return None
            out.setdefault(sel.name, []).append((sel.origin or ALL, tuple(sel.where)))
    return {name: tuple(items) for name, items in out.items()}


def _id_of(sig: Signature) -> str:
    try:
        return sig.get_metadata().id
    except Exception:  # noqa: BLE001
        return "?"
