"""pytest plugin for signature and plugin authors: an engine with chosen signatures, an event
factory, a findings collector. Installed with the core (entry point `pytest11`), so in any test:

    def test_fires(run_signatures, make_event):
        findings = run_signatures([MySig()], [make_event("ptrace", request="PTRACE_TRACEME")])
        assert [f.metadata.id for f in findings] == ["MY-1"]
"""

from __future__ import annotations

import io
from typing import Any, Callable, Iterable, Sequence

import pytest

from .api import Reporter
from .bpf import catalog
from .engine import Engine
from .event import Event
from .plugins import PluginHost
from .runner import load_signatures
from .signature import Finding, Signature

__all__ = ["make_event", "run_signatures", "FindingsCollector"]


def _arg_type(event_name: str, arg_name: str, value: Any) -> str:
    definition = catalog.by_name(event_name)
    if definition is not None:
        for arg in definition.args:
            if arg.name == arg_name:
                return "string" if isinstance(value, str) and arg.type not in (
                    "const char*", "const char *") else arg.type
    if isinstance(value, str):
        return "const char*"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, list):
        return "const char**"
    if isinstance(value, dict):
        return "struct sockaddr*"
    if isinstance(value, bytes):
        return "bytes"
    return "unknown"


def make_event(event_name: str, /, *, context: dict[str, Any] | None = None,
               container: bool | str = False, **args: Any) -> Event:
    """An event named `event_name` with `args` (types from the catalog) and context fields.

    `container=True` gives a started container (origin "container"); `container="init"` a
    container whose entry point has not executed yet ("container-init"). `context` sets any
    Event attribute (process_name, process_id, container_id, ...).
    """
    fields: dict[str, Any] = {"process_id": 1000, "thread_id": 1000, "host_process_id": 1000,
                              "host_thread_id": 1000, "parent_process_id": 1, "host_parent_process_id": 1,
                              "process_name": "test", "host_name": "testhost", "timestamp": 1_700_000_000_000_000_000}
    started = False
    if container:
        fields["container_id"] = "0123456789ab" * 5 + "cdef"
        started = container is True
    fields.update(context or {})
    definition = catalog.by_name(event_name)
    if definition is not None:
        fields.setdefault("event_id", definition.id)
    event_args = [{"name": k, "type": _arg_type(event_name, k, v), "value": v} for k, v in args.items()]
    return Event(event_name, event_args, container_started=started, **fields)


class FindingsCollector(list):
    """A list of findings that is also the engine's finding callback."""

    def __call__(self, finding: Finding) -> None:
        self.append(finding)

    @property
    def ids(self) -> list[str]:
        return [f.metadata.id for f in self]


def run_signatures(signatures: Sequence[Signature], events: Iterable[Event], *,
                   reporter: Reporter | None = None) -> FindingsCollector:
    """Run `events` through an engine holding `signatures` (origin filtering and the end-of-input
    signal included) and return the findings."""
    findings = FindingsCollector()
    engine = Engine(signatures, findings, reporter=reporter or Reporter(io.StringIO()))
    engine.run(events)
    return findings


def installed_signatures(rules: Sequence[str] = (), rules_dirs: Sequence[str] = ()) -> list[Signature]:
    """Signatures of the installed plugins, loaded through their real entry points."""
    host = PluginHost(Reporter(io.StringIO())).load_entry_points()
    return [item.signature for item in load_signatures(host, rules=rules, rules_dirs=rules_dirs)]


@pytest.fixture(name="make_event")
def _make_event_fixture() -> Callable[..., Event]:
    """Factory of events: make_event("ptrace", request="PTRACE_TRACEME", container=True)."""
    return make_event


@pytest.fixture(name="run_signatures")
def _run_signatures_fixture() -> Callable[..., FindingsCollector]:
    """Run events through a real engine with the given signatures; returns the findings."""
    return run_signatures


@pytest.fixture(name="findings")
def _findings_fixture() -> FindingsCollector:
    """An empty findings collector, usable as an engine callback."""
    return FindingsCollector()


@pytest.fixture(name="installed_signatures")
def _installed_signatures_fixture() -> Callable[..., list[Signature]]:
    """Load signatures from the installed plugins (entry points), optionally only some IDs."""
    return installed_signatures
