"""One go-cel rule as a tracee Signature: a compiled expression, true means a finding."""

from __future__ import annotations

from typing import Any

from tracee import Event, EventSelector, Signature, SignatureMetadata
from tracee.api import Reporter

from .backends import Backend, EvalError

__all__ = ["CelSignature"]


class CelSignature(Signature):
    """Fires (with no data, as go-cel did) when its expression is true for an event it selects.

    An evaluation error counts as no match: it is counted, reported once, and the total is
    reported when the run ends.
    """

    def __init__(self, metadata: SignatureMetadata, selectors: list[EventSelector], expression: str,
                 program: Any, backend: Backend, reporter: Reporter, path: str) -> None:
        self.metadata = metadata  # type: ignore[misc] - per instance here, a class attribute in Python rules
        self.selected_events = selectors  # type: ignore[misc]
        self.expression = expression
        self.path = path  # the rule file: the core names it as the provider
        self.eval_errors = 0
        self._program = program
        self._backend = backend
        self._reporter = reporter

    def on_event(self, event: Event) -> None:
        backend = self._backend
        try:
            matched = backend.evaluate(self._program, backend.variables(event))
        except EvalError as exc:
            self.eval_errors += 1
            self._reporter.error(
                f"{self.path}: signature {self.metadata.id}: evaluation error on a "
                f"{event.event_name or '?'} event: {exc} (counted as no match; further errors of this "
                "rule are only counted)", once_key=f"tracee-sig-cel:eval:{self.metadata.id}")
            return
        if matched:
            self.match(event, None)

    def close(self) -> None:
        if self.eval_errors:
            self._reporter.warning(f"{self.path}: signature {self.metadata.id}: {self.eval_errors} "
                                   "evaluation error(s), each counted as no match")
