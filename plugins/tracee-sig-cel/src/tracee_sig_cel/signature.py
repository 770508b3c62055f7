"""One go-cel rule as a tracee Signature, and the group that evaluates a load's rules together."""

from __future__ import annotations

import logging
from typing import Any, Sequence

from tracee import Event, EventSelector, Signature, SignatureGroup, SignatureMetadata
from tracee.log import limit
from tracee.rulecache import ResultCache, Trial

from . import schema
from .backends import Backend, EvalError

__all__ = ["CelGroup", "CelSignature"]

log = logging.getLogger("tracee.cel")


class CelGroup(SignatureGroup):
    """The CEL rules of one load: an event's variables are built once for every rule selecting it."""

    name = "cel"

    def __init__(self, backend: Backend, cache: bool = True) -> None:
        self.backend = backend
        #: CEL expressions are pure: the answers are cached on the variables they can read, unless
        #: some rule reads `input` as a whole (then every event differs: timestamps).
        self.cache = ResultCache("cel") if cache else None
        self._trials: dict[tuple[Signature, ...], Trial] = {}  # per member set (a route)

    def evaluate(self, event: Event, members: Sequence[Signature]) -> None:
        backend = self.backend
        cache = self.cache
        key = None
        trial = None
        if cache is not None and backend.fields is not None:
            members = members if type(members) is tuple else tuple(members)
            trial = self._trials.get(members)
            if trial is None:
                trial = self._trials[members] = Trial()
        if trial is not None and cache.active(trial):  # type: ignore[union-attr]
            # The variables are built from the fields the rules name and the string and sockaddr
            # arguments: key on those as they are, before building (decoding) anything.
            projection = ResultCache.key(schema.projection(event, backend.fields, backend.uses_sockaddr))
            if projection is None:
                cache.uncacheable += 1  # type: ignore[union-attr]
            else:
                key = (members, projection)
                found = cache.get(key, trial)  # type: ignore[union-attr]
                if found is not None:
                    for sig, matched in zip(key[0], found):
                        if matched:
                            sig.match(event, None)
                    return
            variables = backend.variables(event)
        else:
            variables = backend.variables(event)
        answers = []
        for sig in members:
            assert isinstance(sig, CelSignature)
            try:
                matched = backend.evaluate(sig.program, variables)
            except EvalError as exc:
                sig.failed(event, exc)
                key = None  # errors are counted per event: never cached
                continue
            answers.append(matched)
            if matched:
                sig.match(event, None)
        if key is not None and cache is not None:
            cache.put(key, tuple(answers))

    def stats(self) -> dict[str, int]:
        return self.cache.stats() if self.cache is not None else {}


class CelSignature(Signature):
    """Fires (with no data, as go-cel did) when its expression is true for an event it selects.

    An evaluation error counts as no match: it is counted, reported once, and the total is
    reported when the run ends.
    """

    def __init__(self, metadata: SignatureMetadata, selectors: list[EventSelector], expression: str,
                 program: Any, group: CelGroup, path: str) -> None:
        self.metadata = metadata  # type: ignore[misc] - per instance here, a class attribute in Python rules
        self.selected_events = selectors  # type: ignore[misc]
        self.expression = expression
        self.path = path  # the rule file: the core names it as the provider
        self.eval_errors = 0
        self.program = program
        self.group = group

    def failed(self, event: Event, exc: EvalError) -> None:
        self.eval_errors += 1
        log.error(f"{self.path}: signature {self.metadata.id}: evaluation error on a "
                  f"{event.event_name or '?'} event: {exc} (counted as no match; further errors of this "
                  "rule are only counted)", extra=limit(f"cel:eval:{id(self)}"))

    def close(self) -> None:
        if self.eval_errors:
            log.warning(f"{self.path}: signature {self.metadata.id}: {self.eval_errors} "
                        "evaluation error(s), each counted as no match")
