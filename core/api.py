"""Typed records that plugins register: inputs, outputs, enrichers and rule-file loaders."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping, Protocol, Sequence

from .event import Event
from .predicates import Predicate
from .signature import Finding, Signature

__all__ = ["Enricher", "EnricherContext", "Input", "InputContext", "InputSpec", "Output", "OutputContext", "OutputSpec",
           "RuleLoader", "RuleLoadContext"]


# -- inputs ------------------------------------------------------------------------------------------
@dataclass
class InputContext:
    """What an input is told when it starts.

    `event_names` is the set of event names loaded signatures select, or None when some signature
    selects every event (`*`): an input may skip (but must count) events outside it.
    `conditions` says more, per selected event name: the (origin, predicates) of every selector
    naming it (`tracee.predicates`; None: not known). An input may drop an event that no
    selector can match (the eBPF input does it in the kernel), and must then count it. `options`
    holds the values of CLI options plugins contributed (by click parameter name). `log` is the
    logger to report on (`tracee.input.<name>`; see `tracee.log` for rate limits).
    """

    argument: str
    event_names: frozenset[str] | None
    options: Mapping[str, Any] = field(default_factory=dict)
    log: logging.Logger = field(default_factory=lambda: logging.getLogger("tracee.input"))
    conditions: Mapping[str, tuple[tuple[str, tuple[Predicate, ...]], ...]] | None = None


class Input(Protocol):
    """An event source. Besides these, an input may offer (the core looks for them):

    - `metrics()`: `tracee.metrics.Metric` records for `/metrics`, read on the server's thread;
    - `health()`: None when well, else why not (`/healthz` answers 503 with it);
    - `update_events(event_names)`: a reload changed what the signatures select (None: all);
    - `update_conditions(conditions)`: a reload changed the selectors' predicates (as
      `InputContext.conditions`); an input that filters by them must follow;
    - `finite`: True when its end is a normal end (a regular file), not the input dying.
    """

    def events(self) -> Iterator[Event]:
        """Yield events until the source ends (a file) or close() is called (a live source)."""

    def stats(self) -> dict[str, int]:
        """Counters for the summary and /metrics: at least `read`, and `skipped`, `dropped`,
        `lost` (or `<that>_<cause>`: `dropped_in_kernel`) where they apply. Read from other
        threads (the metrics server) while events flow: return plain values, do not block."""

    def close(self) -> None: ...


@dataclass(frozen=True)
class InputSpec:
    """`--input NAME:ARGUMENT` builds `factory(context)`."""

    name: str
    factory: Callable[[InputContext], Input]
    description: str = ""
    #: Used by `tracee run` when no --input is given and `available()` says yes (first wins).
    default: bool = False
    available: Callable[[], str | None] = lambda: None  # None = usable, else why not
    #: Called before signatures and rule files are loaded: set-up whose native libraries must be
    #: in the process first (BCC's LLVM before regopy's), or that should fail before slow work.
    prepare: Callable[[], None] = lambda: None


# -- outputs -----------------------------------------------------------------------------------------
@dataclass
class OutputContext:
    argument: str
    options: Mapping[str, Any] = field(default_factory=dict)
    stream: Any = None  # where stdout-like outputs write; None = sys.stdout
    log: logging.Logger = field(default_factory=lambda: logging.getLogger("tracee.output"))


class Output(Protocol):
    """A finding sink. It may also offer `metrics()` (`tracee.metrics.Metric` records for
    `/metrics`, read on the server's thread; the webhook's queue depth)."""

    def write(self, finding: Finding) -> None: ...

    def close(self) -> None:
        """Flush and release; a queued output drains here within its time limit."""

    def stats(self) -> dict[str, int]:
        """Counters for the summary (`delivered`, `failed`, `dropped`, ...); may be empty."""


@dataclass(frozen=True)
class OutputSpec:
    """`--output NAME[:ARGUMENT]` builds `factory(context)`."""

    name: str
    factory: Callable[[OutputContext], Output]
    description: str = ""


# -- enrichers ---------------------------------------------------------------------------------------
@dataclass
class EnricherContext:
    """What an enricher is told when a run starts: the CLI options plugins contributed, and the
    logger to report on (`tracee.enricher.<name>`)."""

    options: Mapping[str, Any] = field(default_factory=dict)
    log: logging.Logger = field(default_factory=lambda: logging.getLogger("tracee.enricher"))


@dataclass(frozen=True)
class Enricher:
    """Adds to an event before dispatch (container names, pod labels...). Runs only on events
    some signature selects, and on the `events` it names; `enrich` mutates the event in place
    and must not block (slow look-ups belong in the enricher's own threads)."""

    name: str
    enrich: Callable[[Event], None]
    close: Callable[[], None] = lambda: None
    #: Called by `tracee run` before the input starts (not by `tracee list`): connect, start threads.
    start: Callable[[EnricherContext], None] = lambda context: None
    #: Counters for the run summary (cache hits, failed look-ups...); may be empty.
    stats: Callable[[], dict[str, int]] = dict
    #: Events handed to this enricher even when no signature selects them, when the input
    #: produces them (container life-cycle events that refresh a cache).
    events: frozenset[str] = frozenset()


# -- rule files in other languages --------------------------------------------------------------------
@dataclass
class RuleLoadContext:
    strict: bool = False
    options: Mapping[str, Any] = field(default_factory=dict)
    #: Names of the loaders that have files in this run, so a loader can adapt to the others
    #: sharing the process (native rule engines that do not coexist well, for instance).
    active_loaders: frozenset[str] = frozenset()
    log: logging.Logger = field(default_factory=lambda: logging.getLogger("tracee.rules"))
    #: Every problem `fail` was told of, in order (a reload compares them with the running set's).
    problems: list[str] = field(default_factory=list)
    #: False while a reload loads: its problems are reported by the reload, once, not here.
    report: bool = True
    #: Told each rule file a loader is about to read or compile (see `reading`).
    on_file: Callable[[Path], None] | None = None
    #: True in a rule worker (`tracee.workers`): the process has an empty environment and its
    #: crashes are contained, so a loader may allow what it refuses in the detector's process.
    isolated: bool = False

    def reading(self, path: Path) -> None:
        """Say that the loader now reads or compiles `path`. In a rule worker this is how a file
        that crashes the compiler is named (and skipped on the next try); elsewhere a no-op."""
        if self.on_file is not None:
            self.on_file(path)

    def fail(self, message: str) -> None:
        """Report a broken rule file or rule; with --strict-plugins the run stops."""
        if self.strict:
            from .errors import FatalError
            raise FatalError(message + " [--strict-plugins]")
        self.problems.append(message)
        if self.report:
            self.log.error(message)


@dataclass(frozen=True)
class RuleLoader:
    """Turns rule files (`*.rego`, `*.yaml`...) into signatures.

    `load(files, context)` receives every file with one of `suffixes` found under the rule
    directories and rule packs, and returns the signatures it could build; it reports each broken
    file or rule through `context.fail` and goes on with the others. It runs again, on another
    thread, when a run reloads (SIGHUP) while events are dispatched; no finding is written while
    it runs, so it may capture what a native library prints on file descriptor 1.
    """

    name: str
    suffixes: tuple[str, ...]
    load: Callable[[Sequence[Path], RuleLoadContext], list[Signature]]
    #: Load and evaluate these rules in a worker process (`tracee.workers`): a rule or file that
    #: crashes or hangs the language's native engine is named and quarantined while the
    #: detector goes on. `load` must then be a module-level function (it is pickled by name).
    isolate: bool = False
    #: Environment variables `load` reads; a worker gets only these (rules see no environment).
    environment: tuple[str, ...] = ()
