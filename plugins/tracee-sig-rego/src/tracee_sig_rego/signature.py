"""A Rego rule file as a tracee signature; its evaluation is shared with the other Rego rules."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from tracee import Event, EventSelector, Signature, SignatureMetadata
from tracee.signature import ALL, SOURCE_TRACEE

if TYPE_CHECKING:
    from .runtime import RegoRuntime

__all__ = ["RegoSignature"]


class RegoSignature(Signature):
    """The signature of one `.rego` file (package `package`, defined in `path`).

    `on_event` does not evaluate this rule alone: the runtime evaluates every Rego rule that
    selects the event in one query, once per event, and each signature reads its own result.
    """

    def __init__(self, runtime: RegoRuntime, key: int, metadata: SignatureMetadata,
                 selectors: list[EventSelector], path: Path, package: str) -> None:
        self.metadata = metadata  # type: ignore[misc]  # per instance, not per class
        self.selected_events = tuple(selectors)  # type: ignore[misc]
        #: The rule file; `tracee list` and error messages name it as the provider.
        self.path = path
        self.package = package
        self.key = key
        self._runtime = runtime

    def selects(self, name: str, origin: str) -> bool:
        """Whether the engine hands this signature events of `name` and `origin` (Tracee's rules)."""
        for sel in self.selected_events:
            if (sel.source == SOURCE_TRACEE and sel.name in (name, ALL, "")
                    and sel.origin in (origin, ALL, "")):
                return True
        return False

    def init(self, callback: Any) -> None:
        super().init(callback)
        self._runtime.activate(self)

    def on_event(self, event: Event) -> None:
        value = self._runtime.result(self, event)
        if value is None or value is False:
            return
        if value is True:
            self.match(event, None)
        elif type(value) is dict:
            self.match(event, value)
        else:
            self._runtime.unexpected_value(self, value)

    def close(self) -> None:
        self._runtime.close_signature(self)

    def __repr__(self) -> str:
        return f"RegoSignature({self.metadata.id!r}, {str(self.path)!r})"
