"""A Rego rule file as a tracee signature; its evaluation is shared with the other Rego rules."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from tracee import Event, EventSelector, Signature, SignatureMetadata

if TYPE_CHECKING:
    from .runtime import RegoRuntime

__all__ = ["RegoSignature"]


class RegoSignature(Signature):
    """The signature of one `.rego` file (package `package`, defined in `path`).

    A member of its runtime's group: the runtime evaluates every Rego rule that selects an event
    in one query and hands each its result (`report`).
    """

    def __init__(self, runtime: RegoRuntime, key: int, metadata: SignatureMetadata,
                 selectors: list[EventSelector], path: Path, package: str) -> None:
        self.metadata = metadata  # type: ignore[misc]  # per instance, not per class
        self.selected_events = tuple(selectors)  # type: ignore[misc]
        #: The rule file; `tracee list` and error messages name it as the provider.
        self.path = path
        self.package = package
        self.key = key
        self.group = runtime

    @property
    def runtime(self) -> RegoRuntime:
        return self.group  # type: ignore[return-value]

    def report(self, event: Event, value: Any) -> None:
        """`tracee_match` gave `value` for `event`: true or an object is a finding."""
        if value is False:
            return
        if value is True:
            self.match(event, None)
        elif type(value) is dict:
            self.match(event, value)
        else:
            self.runtime.unexpected_value(self, value)

    def close(self) -> None:
        self.runtime.close_signature(self)

    def __repr__(self) -> str:
        return f"RegoSignature({self.metadata.id!r}, {str(self.path)!r})"
