"""Evaluates the loaded Rego rules: one compiled bundle per set of rules that select the same events.

The runtime is the rules' `SignatureGroup`: the engine hands it each event once, with the Rego
rules that select it. Why bundles per set: a rego-cpp query costs more the more modules its
bundle holds, even those it does not reach (NOTES.md: 65 us with 1 module, 243 us with 91), and
Tracee's all-rules `data.tracee[i]` query is slower still. So each set of rules the engine hands
over together is compiled, with the helpers, into one bundle whose generated aggregate module
reads every rule's `tracee_match` in one query. An event costs one input conversion and one
query, growing with the rules that select it, never with all rules loaded; events no Rego rule
selects never get here.

Threads: rego-cpp interpreters must not be shared between threads, so each thread that
dispatches events gets its own interpreter and bundles (the engine dispatches from one thread).
"""

from __future__ import annotations

import copy
import json
import logging
import threading
from dataclasses import dataclass, field
from typing import Any, Sequence

from tracee import Event, Signature, SignatureGroup
from tracee.log import limit
from tracee.rulecache import ResultCache, Trial

from .regocpp import Bundle, Interpreter, QueryError, RegoError, Runner, new_interpreter, parse_errors
from .signature import RegoSignature
from .source import Condition, argument_names_of, input_fields, necessary_condition, pure

__all__ = ["AGGREGATE_PACKAGE", "InputShape", "RegoRuntime", "rego_input"]

log = logging.getLogger("tracee.rego")

AGGREGATE_PACKAGE = "tracee_sig_rego.group"
_ENTRY_ALL = b"tracee_sig_rego/group/m"
#: Module name of the helper library compiled into every bundle (Tracee's `helpers.rego`).
BUILTIN_HELPERS_NAME = "tracee_sig_rego/helpers.rego"


@dataclass(frozen=True)
class InputShape:
    """What a group's `input` holds: the event fields its modules read (None: all), whether the
    helper's name → value object of arguments is needed (some module calls get_tracee_argument),
    and which arguments it holds (None: all; else only the names the modules pass as literals)."""

    fields: tuple[str, ...] | None = None
    argmap: bool = True
    arg_names: frozenset[str] | None = None

    @classmethod
    def of(cls, sources: list[str]) -> "InputShape":
        used = [input_fields(s) for s in sources]
        fields = None if any(f is None for f in used) else tuple(sorted(set().union(*used)))  # type: ignore[arg-type]
        # Over all the group's modules at once: a function of one may be called from another.
        names = argument_names_of(sources)
        arg_names = None if names is None or "tracee_sig_rego_args" in (fields or ("",)) else names
        return cls(fields, any("get_tracee_argument" in s for s in sources), arg_names)

    @property
    def wire_keys(self) -> tuple[str, ...] | None:
        """The event's wire fields `rego_input` reads (None: all of them)."""
        if self.fields is None:
            return None
        return self.fields + ("args",) if self.argmap and "args" not in self.fields else self.fields

    @property
    def known(self) -> bool:
        """Whether the modules' reads of `input` are derived (the input is a projection, not the event)."""
        return self.fields is not None


FULL_INPUT = InputShape()


def rego_input(event: dict[str, Any], shape: InputShape = FULL_INPUT) -> dict[str, Any]:
    """The `input` document for `event` (its `to_dict()` wire form), as the helpers expect it.

    Why trimmed: the cost of every `input` access in rego-cpp grows with the size of the input
    document, so a group gets only the fields its modules name (see `source.input_fields`).
    """
    out = dict(event) if shape.fields is None else {k: event[k] for k in shape.fields if k in event}
    if shape.argmap:
        argmap: dict[str, Any] = {}
        dups: dict[str, bool] | None = None
        wanted = shape.arg_names
        for arg in event.get("args") or ():
            name = arg.get("name")
            if wanted is not None and name not in wanted:
                continue
            if name in argmap or (dups and name in dups):
                dups = dups or {}
                dups[name] = True
                argmap.pop(name, None)
            else:
                argmap[name] = arg.get("value")
        out["tracee_sig_rego_args"] = argmap
        if dups:  # the helper searches the list for these, as Tracee did
            out["tracee_sig_rego_dups"] = dups
            out["args"] = event.get("args")
    return out


@dataclass
class Group:
    """Rego signatures that the engine hands an event together, compiled into one bundle."""

    members: tuple[RegoSignature, ...]
    bundle: Bundle | None = None
    builder: Interpreter | None = None  # kept alive as long as its bundle
    failed: str | None = None  # why the bundle could not be built
    shape: InputShape = FULL_INPUT
    wire_keys: tuple[str, ...] | None = None  # shape.wire_keys, looked up once
    #: Each member's necessary condition (None: unknown), when at least one is known.
    conditions: tuple[Condition | None, ...] | None = None
    #: Whether answers may be cached: every module's reads are known and it calls no builtin that
    #: is not a function of its input (see `source.pure`).
    cacheable: bool = False
    trial: Trial = field(default_factory=Trial)  # how the cache serves this group

    @property
    def keys(self) -> tuple[int, ...]:
        return tuple(m.key for m in self.members)


@dataclass
class _ThreadState:
    runner: Runner
    cache: ResultCache
    #: The engine's member tuples (one per route) -> their compiled group.
    groups: dict[tuple[Signature, ...], Group] = field(default_factory=dict)
    compiled: dict[tuple[int, ...], Group] = field(default_factory=dict)


def keys_of(members: tuple[RegoSignature, ...]) -> str:
    return ",".join(str(m.key) for m in members)


def aggregate_module(members: tuple[RegoSignature, ...]) -> str:
    """The generated module of a group: `m` maps each rule's key to its `tracee_match`, and
    `r<key>` reads one rule alone (used to tell which rule failed when `m` fails)."""
    lines = [f"package {AGGREGATE_PACKAGE}", ""]
    for sig in members:
        lines.append(f'm["{sig.key}"] = x {{ x := data.{sig.package}.tracee_match }}')
    for sig in members:
        lines.append(f"r{sig.key} = x {{ x := data.{sig.package}.tracee_match }}")
    return "\n".join(lines) + "\n"


class RegoRuntime(SignatureGroup):
    """The Rego signatures of one load: their sources, compiled bundles, and error counts."""

    name = "rego"

    def __init__(self, helpers: list[tuple[str, str]], cache: bool = True) -> None:
        #: (module name, source) of the helper modules compiled into every bundle.
        self.helpers = helpers
        self.sources: dict[int, tuple[str, str]] = {}
        self.eval_failures: dict[int, int] = {}
        self.cache = cache  # --rule-cache
        self._local = threading.local()
        self._caches: list[ResultCache] = []  # one per dispatching thread
        self.ruled_out = 0  # events no member's necessary condition admitted (no query made)
        self._caches_lock = threading.Lock()

    def add(self, sig: RegoSignature, module_name: str, source: str) -> None:
        self.sources[sig.key] = (module_name, source)

    # -- per event --------------------------------------------------------------------------------
    def evaluate(self, event: Event, members: Sequence[Signature]) -> None:
        """Evaluate every member for `event` in one query and report their findings."""
        state = self._state()
        key = members if type(members) is tuple else tuple(members)
        group = state.groups.get(key)
        if group is None:
            group = state.groups[key] = self._group(state, key)  # type: ignore[arg-type]
        results = self._evaluate(state, group, event)
        if not results:
            return
        for sig in group.members:
            value = results.get(sig.key)
            if value is not None:
                sig.report(event, value)

    def prepare(self, members: Sequence[Signature]) -> None:
        """Compile the bundle of `members` before their first event (a rule worker calls this
        outside the evaluation time budget: compiling, and rego-cpp's passes deferred to the
        first query, take longer than one evaluation may)."""
        state = self._state()
        key = tuple(members)
        group = state.groups.get(key)
        if group is None:
            group = state.groups[key] = self._group(state, key)  # type: ignore[arg-type]
        if group.bundle is not None:
            try:  # the first query finishes compiling; its answer on an empty input is not used
                state.runner.set_input({})
                state.runner.query(group.bundle, _ENTRY_ALL)
            except (QueryError, RegoError):
                pass

    def _state(self) -> _ThreadState:
        state: _ThreadState | None = getattr(self._local, "state", None)
        if state is None:
            state = self._local.state = _ThreadState(Runner(), cache=ResultCache("rego"))
            with self._caches_lock:
                self._caches.append(state.cache)
        return state

    def stats(self) -> dict[str, int]:
        """The result cache's counters (hits, misses...), over every dispatching thread."""
        total: dict[str, int] = {"rego_evaluation(s)_ruled_out": self.ruled_out} if self.ruled_out else {}
        if not self.cache:
            return total
        with self._caches_lock:
            caches = list(self._caches)
        for cache in caches:
            for key, value in cache.stats().items():
                total[key] = total.get(key, 0) + value
        return total

    def _group(self, state: _ThreadState, members: tuple[RegoSignature, ...]) -> Group:
        keys = tuple(s.key for s in members)
        group = state.compiled.get(keys)
        if group is None:
            group = state.compiled[keys] = self._compile(members)
        return group

    def _compile(self, members: tuple[RegoSignature, ...]) -> Group:
        group = Group(members)
        if not members:
            return group
        # The built-in helpers' own input use is what rego_input provides; extra helpers count.
        sources = ([source for name, source in self.helpers if name != BUILTIN_HELPERS_NAME]
                   + [self.sources[s.key][1] for s in members])
        group.shape = InputShape.of(sources)
        group.wire_keys = group.shape.wire_keys
        group.cacheable = self.cache and group.shape.known and all(pure(s) for s in sources)
        # A helper module that defines a match of its own could add to a rule's: then nothing is
        # ruled out before the query.
        if not any("tracee_match" in source for name, source in self.helpers if name != BUILTIN_HELPERS_NAME):
            conditions = tuple(necessary_condition(self.sources[s.key][1]) for s in members)
            if any(c is not None for c in conditions):
                group.conditions = conditions
        builder = new_interpreter()
        entrypoints = ["tracee_sig_rego/group/m"] + [f"tracee_sig_rego/group/r{s.key}" for s in members]
        try:
            for name, source in self.helpers:
                builder.add_module(name, source)
            for sig in members:
                builder.add_module(*self.sources[sig.key])
            builder.add_module("tracee_sig_rego/group.rego", aggregate_module(members))
            group.bundle = builder.build(None, entrypoints)
            group.builder = builder
        except RegoError as exc:
            # Every rule compiled alone at load; this is a clash between rules or helpers.
            errors = parse_errors(str(exc))
            group.failed = errors[0][2] if errors else str(exc).splitlines()[0]
            ids = ", ".join(s.metadata.id for s in members)
            log.error(f"rego: signatures {ids} cannot be compiled together: {group.failed}; they match nothing",
                      extra=limit(f"rego:compile:{id(self)}:{keys_of(members)}"))
        return group

    def _evaluate(self, state: _ThreadState, group: Group, event: Event) -> dict[int, Any]:
        if group.bundle is None:
            for sig in group.members:
                self._failed(sig, event, group.failed or "not compiled")
            return {}
        conditions = group.conditions
        if conditions is not None:
            for condition in conditions:
                if condition is None or condition.may_match(event):
                    break
            else:  # no member can match: Rego would say so, slower
                self.ruled_out += 1
                return {}
        runner = state.runner
        key = None
        try:
            keys = group.wire_keys
            document = rego_input(event.to_dict() if keys is None else event.wire_fields(keys), group.shape)
            if group.cacheable and state.cache.active(group.trial):
                cache = state.cache
                projection = ResultCache.key(document)
                if projection is None:
                    cache.uncacheable += 1
                else:
                    key = (id(group), projection)
                    found = cache.get(key, group.trial)
                    if found is not None:
                        # Fresh objects: a finding's data is its own, whatever an output does to it.
                        return copy.deepcopy(found) if found else found
            runner.set_input(document)
        except (QueryError, ValueError, TypeError, RecursionError) as exc:
            log.error(f"rego: cannot pass event {event.event_name} to Rego ({exc}); "
                      f"treated as no match (further failures are only counted)",
                      extra=limit(f"rego:input:{id(self)}"))
            return {}
        try:
            value = runner.query(group.bundle, _ENTRY_ALL)
        except QueryError:
            return self._evaluate_each(runner, group, event)  # a failing rule: never cached
        results = {int(k): v for k, v in value.items()} if value else {}
        if key is not None:
            state.cache.put(key, copy.deepcopy(results) if results else results)
        return results

    def _evaluate_each(self, runner: Runner, group: Group, event: Event) -> dict[int, Any]:
        """Some rule failed: evaluate the rules one by one to find it and keep the others' results."""
        assert group.bundle is not None
        results: dict[int, Any] = {}
        for sig in group.members:
            try:
                value = runner.query(group.bundle, f"tracee_sig_rego/group/r{sig.key}".encode())
            except QueryError as exc:
                self._failed(sig, event, str(exc))
                continue
            if value is not None:
                results[sig.key] = value
        return results

    # -- problems -------------------------------------------------------------------------------------
    def _failed(self, sig: RegoSignature, event: Event, why: str) -> None:
        self.eval_failures[sig.key] = self.eval_failures.get(sig.key, 0) + 1
        # Every failure is counted (the summary's errors); the first is printed.
        log.error(f"rego signature {sig.metadata.id} ({sig.path}) failed on event {event.event_name}"
                  f": {why}; treated as no match (further failures are only counted)",
                  extra=limit(f"rego:eval:{id(self)}:{sig.key}"))

    def unexpected_value(self, sig: RegoSignature, value: Any) -> None:
        text = json.dumps(value, default=str)
        if len(text) > 80:
            text = text[:77] + "..."
        log.error(f"rego signature {sig.metadata.id} ({sig.path}): tracee_match gave {text}; "
                  f"only true or an object make a finding (ignored)",
                  extra=limit(f"rego:value:{id(self)}:{sig.key}"))

    def close_signature(self, sig: RegoSignature) -> None:
        count = self.eval_failures.get(sig.key, 0)
        if count > 1:
            log.warning(f"rego signature {sig.metadata.id} failed on {count} events (treated as no match)")
