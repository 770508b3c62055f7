"""The signature contract: metadata, event selectors, findings, and a base class for Python rules."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar, Sequence

from .event import Event

__all__ = ["ALL", "SOURCE_TRACEE", "SIGNAL_SOURCE_COMPLETE", "EventSelector", "Finding",
           "FindingCallback", "Signature", "SignatureGroup", "SignatureMetadata", "SignatureError"]

ALL = "*"
SOURCE_TRACEE = "tracee"
#: The only signal Tracee's engine sends: the input of source "tracee" has ended.
SIGNAL_SOURCE_COMPLETE = ("source_complete", SOURCE_TRACEE)


class SignatureError(Exception):
    """A signature that cannot be loaded (bad metadata, bad rule file, ...)."""


@dataclass(frozen=True)
class SignatureMetadata:
    """Tracee's SignatureMetadata; `properties` carries "Severity" (0-4) and "MITRE ATT&CK"."""

    id: str
    name: str
    version: str = "0.1.0"
    description: str = ""
    tags: tuple[str, ...] | list[str] = ()
    properties: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Tracee's JSON shape (Go field names)."""
        return {"ID": self.id, "Version": self.version, "Name": self.name,
                "Description": self.description, "Tags": list(self.tags) if self.tags else None,
                "Properties": dict(self.properties) if self.properties else None}

    @property
    def severity(self) -> int | None:
        value = self.properties.get("Severity")
        try:
            return int(value) if value is not None else None
        except (TypeError, ValueError):
            return None


@dataclass(frozen=True)
class EventSelector:
    """Which events a signature receives. Empty name/origin mean `*`; an empty source, none.

    `where` narrows it: predicates (`tracee.predicates`, or strings in Tracee's data-filter
    spelling such as `"pathname=/etc/*"`) that an event must all meet for the rule to possibly
    match it. The engine skips the signature for events that fail them, and an input may drop
    in the kernel the events that no loaded signature's selectors can match.
    """

    name: str = ALL
    origin: str = ALL
    source: str = SOURCE_TRACEE
    where: tuple[Any, ...] = ()

    def __post_init__(self) -> None:
        if self.where:
            from .predicates import Predicate, parse

            where = tuple(p if isinstance(p, Predicate) else parse(p) for p in self.where)
            object.__setattr__(self, "where", where)


@dataclass
class Finding:
    """A detection: the signature's data (or None), the event that triggered it, the metadata."""

    data: dict[str, Any] | None
    event: Event
    metadata: SignatureMetadata

    def to_dict(self) -> dict[str, Any]:
        """Tracee's rawjson shape: {"Data", "Context", "SigMetadata"}."""
        return {"Data": self.data, "Context": self.event.to_dict(), "SigMetadata": self.metadata.to_dict()}


FindingCallback = Callable[[Finding], None]


class SignatureGroup:
    """Evaluates many signatures in one pass per event: the seam for rule-language runtimes.

    A rule language (Rego, CEL, ...) often evaluates several rules cheaper together than one by
    one: one input document per event, one engine call for every rule that selects it, or one
    message to a worker process. Its signatures stay ordinary `Signature`s (listed, selected,
    disabled and configured one by one) and point to their group with `Signature.group`. The
    engine then routes each event once to the group, with the members that select it (in load
    order): `evaluate(event, members)`. The group reports findings through each member's
    `match()`; it may do so later (an asynchronous group), at the latest in `flush()`.

    Life cycle: members are `init()`ed one by one as usual; `evaluate` per event; `flush()` when the
    input ends, before members get the source-complete signal; `close()` once, after the members
    are closed. An exception from `evaluate` is reported for the group and counted; the run goes on.
    """

    #: Shown in messages and summaries ("rego", "cel").
    name: str = "group"

    def evaluate(self, event: Event, members: Sequence["Signature"]) -> None:
        raise NotImplementedError

    def flush(self) -> None:
        """Deliver findings still pending."""

    def close(self) -> None:
        """Release what the group holds (interpreters, workers)."""


class Signature:
    """Base class for a signature written in Python.

    Set `metadata` and `selected_events`, implement `on_event`, and call `self.match(event, data)`
    when it fires. `init`, `on_signal`, `close` and `configure` have working defaults. `log` is
    the signature's logger (`tracee.signature.<ID>`): report through it, never print.
    """

    metadata: ClassVar[SignatureMetadata]
    selected_events: ClassVar[list[EventSelector] | tuple[EventSelector, ...]] = ()
    #: The group that evaluates this signature with others (see `SignatureGroup`), or None.
    group: SignatureGroup | None = None

    _callback: FindingCallback | None = None

    @property
    def log(self) -> logging.Logger:
        return logging.getLogger(f"tracee.signature.{self.get_metadata().id}")

    def get_metadata(self) -> SignatureMetadata:
        return self.metadata

    def get_selected_events(self) -> list[EventSelector]:
        return list(self.selected_events)

    def configure(self, settings: dict[str, Any]) -> None:
        """Receive this signature's section of the user's config file. Unknown keys are errors."""
        if settings:
            raise SignatureError(f"{self.get_metadata().id} takes no settings (got {', '.join(settings)})")

    def init(self, callback: FindingCallback) -> None:
        """Called once before any event, with the function that receives findings."""
        self._callback = callback

    def on_event(self, event: Event) -> None:
        """Examine one selected event. A group member is evaluated by its group."""
        if self.group is None:
            raise NotImplementedError
        self.group.evaluate(event, (self,))

    def on_signal(self, signal: Any) -> None:
        """Called with SIGNAL_SOURCE_COMPLETE when the input has ended."""

    def close(self) -> None:
        """Called once at the end of the run."""

    def match(self, event: Event, data: dict[str, Any] | None = None) -> None:
        """Report a finding for `event` with `data`."""
        if self._callback is None:
            raise SignatureError(f"{self.get_metadata().id}: match() before init()")
        self._callback(Finding(data, event, self.get_metadata()))
