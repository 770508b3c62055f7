"""Prometheus metrics of a run, read at scrape time from the counters the run already keeps.

Nothing here runs per event. The engine, the input, the outputs and the enrichers count as they
always did (plain ints and dicts); `RunMetrics.collect()`, called by prometheus-client when
`/metrics` is scraped, reads those counters and turns them into metric families. The only work
added to the event path is the rule-timing sample (`RuleTimings`: one evaluation in 64 is timed).

Plugins expose their own numbers through the objects the run already holds:

- an input, output or enricher with a `metrics()` method returns `Metric` records from it (called
  on the server's thread at each scrape: read counters, do not block);
- one without `metrics()` has its `stats()` counters exported as
  `tracee_<kind>_<key>_total{<kind>="<name>"}` (`tracee_enricher_cache_hits_total{enricher="containers"}`);
- an input's `read`, `skipped[_CAUSE]`, `dropped[_CAUSE]` and `lost[_CAUSE]` counters are always
  the core's `tracee_events_total` and `tracee_events_{skipped,dropped,lost}_total{cause=...}`.

prometheus-client is imported only when metrics are collected, so commands that serve none never
load it.
"""

from __future__ import annotations

import bisect
import logging
import re
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, Literal, Mapping

from .log import limit

if TYPE_CHECKING:
    from .api import Enricher
    from .engine import Engine
    from .log import Counter

__all__ = ["Metric", "RuleTimings", "RunMetrics", "TIME_BUCKETS"]

log = logging.getLogger("tracee.metrics")

_NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
_LABEL = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
PREFIX = "tracee_"

#: Upper bounds (seconds) of the rule evaluation histogram: 5 µs (a Python rule) to 5 s (a rule
#: that should be quarantined).
TIME_BUCKETS = (0.000005, 0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)

#: What an input's plain `skipped`/`dropped`/`lost` counters mean, as the `cause` label
#: (`dropped_in_kernel` has cause `in_kernel`).
DEFAULT_CAUSES = {"skipped": "not_selected", "dropped": "malformed", "lost": "buffer_full"}


@dataclass(frozen=True)
class Metric:
    """One sample of a plugin's `metrics()`.

    `name` starts with `tracee_` (others are refused); a counter is exposed with a `_total` suffix
    (given or not). Samples of one name must share a kind; samples with equal labels are added up
    (two webhooks to one host).
    """

    name: str
    value: float
    kind: Literal["counter", "gauge"] = "counter"
    help: str = ""
    labels: Mapping[str, str] = field(default_factory=dict)


class RuleTimings:
    """Evaluation times per rule language as histogram buckets, kept in plain lists.

    The engine times one evaluation in `SAMPLE_EVERY` per route (the first, then every 64th), so
    the histogram's count is a sample of evaluations, not their number (that is
    `tracee_signature_events_total`); the distribution is what it is for.
    """

    SAMPLE_EVERY = 64  # a power of two: the engine tests `hits & (SAMPLE_EVERY - 1) == 1`

    def __init__(self, bounds: tuple[float, ...] = TIME_BUCKETS) -> None:
        self.bounds = bounds
        self._counts: dict[str, list[int]] = {}
        self._sums: dict[str, float] = {}

    def observe(self, language: str, seconds: float) -> None:
        counts = self._counts.get(language)
        if counts is None:
            counts = self._counts[language] = [0] * (len(self.bounds) + 1)
            self._sums[language] = 0.0
        counts[bisect.bisect_left(self.bounds, seconds)] += 1
        self._sums[language] += seconds

    def snapshot(self) -> dict[str, tuple[list[int], float]]:
        """{language: (count per bucket, the last one above every bound; sum of seconds)}."""
        return {lang: (list(counts), self._sums.get(lang, 0.0)) for lang, counts in dict(self._counts).items()}


@dataclass
class _Family:
    kind: str
    help: str
    samples: dict[tuple[tuple[str, str], ...], float] = field(default_factory=dict)


class RunMetrics:
    """The collector of one command (prometheus-client's custom-collector protocol).

    Filled in as the command starts its parts: `input`, `engine`, `outputs`, `enrichers`, the log
    `counter`, and `sources` (callables returning `Metric`s: health, reload). Each part is read at
    scrape time; one that fails is reported (rate limited) and left out of that scrape.
    """

    def __init__(self, command: str = "tracee run") -> None:
        self.command = command
        self.input: tuple[str, Any] | None = None
        self.engine: Engine | None = None
        self.outputs: list[tuple[str, Any]] = []
        self.enrichers: list[Enricher] = []
        self.counter: Counter | None = None
        self.sources: list[Callable[[], Iterable[Metric]]] = []
        self._lock = threading.Lock()  # scrapes may overlap; the families are built one at a time

    # -- prometheus-client's collector protocol -------------------------------------------------------
    def describe(self) -> list[Any]:
        return []  # unknown until collected: registering must not collect

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import (CounterMetricFamily, GaugeMetricFamily,
                                            HistogramMetricFamily)

        with self._lock:
            families: dict[str, _Family] = {}
            for origin, produce in self._parts():
                try:
                    for metric in produce():
                        self._add(families, origin, metric)
                except Exception as exc:  # noqa: BLE001 - one broken part must not fail the scrape
                    log.error(f"metrics: {origin} failed: {type(exc).__name__}: {exc}",
                              extra=limit(f"metrics:{origin}", None, every=60.0))
            for name, fam in families.items():
                labelnames = sorted({k for labels in fam.samples for k, _ in labels})
                cls = CounterMetricFamily if fam.kind == "counter" else GaugeMetricFamily
                out = cls(name, fam.help or name, labels=labelnames)
                for labels, value in fam.samples.items():
                    values = dict(labels)
                    out.add_metric([values.get(k, "") for k in labelnames], value)
                yield out
            if self.engine is not None and self.engine.timings is not None:
                hist = HistogramMetricFamily(
                    "tracee_rule_evaluation_seconds",
                    f"Time one rule (or one rule group) takes on one event, per rule language "
                    f"(1 evaluation in {RuleTimings.SAMPLE_EVERY} is timed)", labels=["language"])
                timings = self.engine.timings
                for lang, (counts, total) in sorted(timings.snapshot().items()):
                    cumulative, running = [], 0
                    for bound, n in zip((*timings.bounds, float("inf")), counts):
                        running += n
                        cumulative.append((_le(bound), running))
                    hist.add_metric([lang], cumulative, total)
                yield hist

    # -- where samples come from --------------------------------------------------------------------------
    def _parts(self) -> Iterator[tuple[str, Callable[[], Iterable[Metric]]]]:
        yield "core", self._core
        if self.input is not None:
            name, source = self.input
            yield f"input {name}", lambda: _input_events(name, source)
            yield f"input {name}", _component("input", name, source, skip=_is_event_counter)
        for name, output in list(self.outputs):
            yield f"output {name}", _component("output", name, output)
        for enricher in list(self.enrichers):
            yield f"enricher {enricher.name}", _component("enricher", enricher.name, enricher)
        for produce in list(self.sources):
            yield getattr(produce, "__qualname__", "metrics source"), produce

    def _core(self) -> Iterator[Metric]:
        from . import __version__

        yield Metric("tracee_info", 1, "gauge", "The running tracee: version and command",
                     {"version": __version__, "command": self.command})
        if self.counter is not None:
            for level, n in dict(self.counter.counts).items():
                yield Metric("tracee_log_messages_total", n, help="Messages reported on stderr (or counted "
                             "past their rate limit), by level", labels={"level": level.lower()})
        if self.engine is not None:
            yield from engine_metrics(self.engine, self.input[1] if self.input else None)

    @staticmethod
    def _add(families: dict[str, _Family], origin: str, metric: Metric) -> None:
        name = metric.name
        if metric.kind == "counter" and name.endswith("_total"):
            name = name[: -len("_total")]
        problem = None
        if not name.startswith(PREFIX) or not _NAME.match(name):
            problem = f"metric name {metric.name!r} is not a valid name starting with {PREFIX!r}"
        elif metric.kind not in ("counter", "gauge"):
            problem = f"metric {metric.name}: kind {metric.kind!r} is not counter or gauge"
        elif any(not _LABEL.match(k) or k.startswith("__") for k in metric.labels):
            problem = f"metric {metric.name}: bad label name in {sorted(metric.labels)}"
        fam = families.get(name)
        if problem is None and fam is not None and fam.kind != metric.kind:
            problem = f"metric {metric.name} is both a {fam.kind} and a {metric.kind}; the {metric.kind} is left out"
        if problem is not None:
            log.error(f"metrics: {origin}: {problem}", extra=limit(f"metrics:{origin}:{metric.name}"))
            return
        if fam is None:
            fam = families[name] = _Family(metric.kind, metric.help)
        key = tuple(sorted((k, str(v)) for k, v in metric.labels.items()))
        fam.samples[key] = fam.samples.get(key, 0.0) + float(metric.value)


def _le(bound: float) -> str:
    return "+Inf" if bound == float("inf") else repr(bound)


def _is_event_counter(key: str) -> bool:
    return key == "read" or key.split("_", 1)[0] in DEFAULT_CAUSES


def _input_events(name: str, source: Any) -> Iterator[Metric]:
    """The event counters every input keeps (`Input.stats`)."""
    stats = dict(source.stats() or {})
    yield Metric("tracee_events_total", stats.get("read", 0), help="Events read from the input",
                 labels={"input": name})
    for key, value in stats.items():
        kind, _, cause = key.partition("_")
        if kind not in DEFAULT_CAUSES:
            continue
        what = {"skipped": "Events read and not decoded (no loaded signature selects them, or a filter)",
                "dropped": "Events read and discarded (undecodable, or dropped before user space)",
                "lost": "Events lost before they could be read (buffer full)"}[kind]
        yield Metric(f"tracee_events_{kind}_total", value, help=what,
                     labels={"input": name, "cause": cause or DEFAULT_CAUSES[kind]})


def _component(kind: str, name: str, obj: Any,
               skip: Callable[[str], bool] = lambda key: False) -> Callable[[], Iterable[Metric]]:
    """A part's own `metrics()`, or its `stats()` counters under generic names."""
    own = getattr(obj, "metrics", None)
    if callable(own):
        return own

    def from_stats() -> Iterator[Metric]:
        stats = getattr(obj, "stats", None)
        for key, value in dict((stats() if callable(stats) else None) or {}).items():
            if skip(key) or not isinstance(value, (int, float)):
                continue
            key = re.sub(r"[^a-zA-Z0-9_]", "_", str(key))
            yield Metric(f"tracee_{kind}_{key}_total", value, help=f"The {kind}'s {key} counter (stats())",
                         labels={kind: name})
    return from_stats


def engine_metrics(engine: Engine, source: Any | None = None) -> Iterator[Metric]:
    """Findings, rule errors, quarantines and dispatch counts from the engine's live counters."""
    stats = engine.stats
    sigs = list(engine.signatures)
    yield Metric("tracee_signatures_loaded", len(sigs), "gauge", "Signatures loaded (after a reload: the new set)")
    yield Metric("tracee_rules_signatures_total", len(sigs), "gauge", "Tracee's name: signatures loaded")
    severity: dict[str, str] = {}
    for sig in sigs:
        try:
            meta = sig.get_metadata()
        except Exception:  # noqa: BLE001 - reported when it was loaded
            continue
        severity[meta.id] = "" if meta.severity is None else str(meta.severity)
    findings = dict(stats.findings_by_signature)
    for sid, n in findings.items():
        yield Metric("tracee_findings_total", n, help="Findings, by signature ID and severity (0-4)",
                     labels={"signature_id": sid, "severity": severity.get(sid, "")})
    yield Metric("tracee_rules_detections_total", stats.findings, help="Tracee's name: findings made")
    if source is not None:
        yield Metric("tracee_rules_events_total", dict(source.stats() or {}).get("read", 0),
                     help="Tracee's name: events ingested")
    for sid, n in dict(stats.signature_errors).items():
        yield Metric("tracee_rule_errors_total", n, help="Rule failures (a signature or rule group raised)",
                     labels={"signature_id": sid})
    for name, n in dict(stats.enricher_errors).items():
        yield Metric("tracee_enricher_errors_total", n, help="Enricher failures", labels={"enricher": name})
    yield Metric("tracee_output_errors_total", stats.output_errors, help="Findings an output raised on")
    quarantined = dict(stats.quarantined)
    yield Metric("tracee_rules_quarantined", len(quarantined), "gauge",
                 "Signatures taken out of the run after repeated failures")
    for sid in quarantined:
        yield Metric("tracee_rule_quarantined", 1, "gauge", "1 for each quarantined signature",
                     labels={"signature_id": sid})
    # Rule groups' counters (rule workers, the Rego/CEL result cache): "<language>_cache_hit(s)"...
    for key, n in engine.group_stats().items():
        for suffix, outcome in (("_cache_hit(s)", "hit"), ("_cache_miss(es)", "miss"),
                                ("_evaluation(s)_not_cacheable", "not_cacheable"),
                                ("_evaluation(s)_cache_paused", "paused")):
            if key.endswith(suffix):
                yield Metric("tracee_rule_cache_lookups_total", n, help="Rego/CEL result cache, by rule language "
                             "and outcome (hit, miss; not_cacheable, paused: evaluated without a lookup)",
                             labels={"language": key[:-len(suffix)], "outcome": outcome})
    per_signature, per_event = engine.dispatch_counts()
    for sid, n in per_signature.items():
        yield Metric("tracee_signature_events_total", n, help="Events handed to each signature",
                     labels={"signature_id": sid})
    for event_name, n in per_event.items():
        yield Metric("tracee_events_dispatched_total", n, help="Events some signature selected, by event "
                     "name (names outside the catalog and the loaded selectors count as 'other')",
                     labels={"event_name": event_name})


def registry_for(metrics: RunMetrics) -> Any:
    """A prometheus-client registry with `metrics` and the process collector (RSS, CPU, open
    files), under both `tracee_process_*` and the standard `process_*` that Tracee's Go client
    exposes and its dashboards query."""
    from prometheus_client import CollectorRegistry, ProcessCollector

    registry = CollectorRegistry(auto_describe=False)
    registry.register(metrics)
    ProcessCollector(namespace="tracee", registry=registry)
    ProcessCollector(registry=registry)
    return registry


def families_text(metrics: RunMetrics) -> str:
    """The exposition text of `metrics` alone (tests, debugging)."""
    from prometheus_client import CollectorRegistry, generate_latest

    registry = CollectorRegistry(auto_describe=False)
    registry.register(metrics)
    return generate_latest(registry).decode()
