"""/metrics from a run's own counters: the names, the plugin seam (metrics() and stats()), rule timings."""

from __future__ import annotations

import threading
import time

from prometheus_client.parser import text_string_to_metric_families

from tracee import EventSelector, Signature, SignatureMetadata
from tracee.engine import Engine
from tracee.metrics import Metric, RuleTimings, RunMetrics, families_text
from tracee.testing import FindingsCollector, make_event


class Shadow(Signature):
    metadata = SignatureMetadata(id="M-1", name="shadow", properties={"Severity": 3})
    selected_events = [EventSelector("openat")]

    def on_event(self, event):
        if event.get_arg("pathname") == "/etc/shadow":
            self.match(event, None)


class Boom(Signature):
    metadata = SignatureMetadata(id="M-BOOM", name="boom")
    selected_events = [EventSelector("openat")]

    def on_event(self, event):
        raise RuntimeError("boom")


class Source:
    def __init__(self) -> None:
        self.counts = {"read": 0, "skipped": 0, "dropped": 0, "lost_in_kernel": 0, "truncated": 2}

    def stats(self):
        return dict(self.counts)


def scrape(metrics: RunMetrics) -> dict[tuple[str, tuple], float]:
    """{(sample name, sorted labels): value} of one scrape, parsed by prometheus-client's parser."""
    out = {}
    for family in text_string_to_metric_families(families_text(metrics)):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


def test_a_run_s_counters_under_their_names_and_tracee_s():
    engine = Engine([Shadow(), Boom()], FindingsCollector())
    source = Source()
    metrics = RunMetrics("tracee-rules")
    metrics.input, metrics.engine = ("file", source), engine
    engine.start()
    for path in ("/etc/passwd", "/etc/shadow", "/etc/shadow"):
        engine.dispatch(make_event("openat", pathname=path))
    engine.dispatch(make_event("no_such_event_anywhere"))
    source.counts.update(read=10, skipped=5, dropped=1, lost_in_kernel=4)

    got = scrape(metrics)
    assert got[("tracee_events_total", (("input", "file"),))] == 10
    assert got[("tracee_events_skipped_total", (("cause", "not_selected"), ("input", "file")))] == 5
    assert got[("tracee_events_dropped_total", (("cause", "malformed"), ("input", "file")))] == 1
    assert got[("tracee_events_lost_total", (("cause", "in_kernel"), ("input", "file")))] == 4
    # A stats() counter that is not an event counter gets the generic name.
    assert got[("tracee_input_truncated_total", (("input", "file"),))] == 2
    assert got[("tracee_findings_total", (("severity", "3"), ("signature_id", "M-1")))] == 2
    assert got[("tracee_rules_detections_total", ())] == 2
    assert got[("tracee_rules_events_total", ())] == 10
    assert got[("tracee_rules_signatures_total", ())] == 2 and got[("tracee_signatures_loaded", ())] == 2
    assert got[("tracee_rule_errors_total", (("signature_id", "M-BOOM"),))] == 3
    assert got[("tracee_signature_events_total", (("signature_id", "M-1"),))] == 3
    assert got[("tracee_events_dispatched_total", (("event_name", "openat"),))] == 3
    assert ("tracee_events_dispatched_total", (("event_name", "no_such_event_anywhere"),)) not in got
    assert got[("tracee_info", (("command", "tracee-rules"), ("version", got_version(got))))] == 1


def got_version(got) -> str:
    return next(dict(labels)["version"] for name, labels in got if name == "tracee_info")


def test_invented_event_names_count_as_other_so_labels_stay_bounded():
    class Everything(Signature):
        metadata = SignatureMetadata(id="ALL-1", name="all")
        selected_events = [EventSelector("*")]

        def on_event(self, event):
            pass

    engine = Engine([Everything()], FindingsCollector())
    engine.start()
    for n in range(500):
        engine.dispatch(make_event(f"invented_{n}"))
    engine.dispatch(make_event("openat"))
    _, per_name = engine.dispatch_counts()
    assert per_name == {"other": 500, "openat": 1}


def test_plugin_metrics_are_exported_checked_and_added_up():
    class Output:
        def __init__(self, n):
            self.n = n

        def metrics(self):
            yield Metric("tracee_thing_sent_total", self.n, help="things", labels={"endpoint": "a"})
            yield Metric("tracee_thing_queue", 3, "gauge")
            yield Metric("not_prefixed", 1)
            yield Metric("tracee_thing_queue", 1, "counter")  # clashes with the gauge above

        def stats(self):
            return {"sent": 99}  # not exported: metrics() replaces it

    class Enricher:
        name = "containers"

        def stats(self):
            return {"cache_hits": 7, "cache_misses": 2}

    metrics = RunMetrics()
    metrics.outputs = [("webhook", Output(2)), ("webhook", Output(5))]
    metrics.enrichers = [Enricher()]
    got = scrape(metrics)
    assert got[("tracee_thing_sent_total", (("endpoint", "a"),))] == 7  # same labels: added up
    assert got[("tracee_thing_queue", ())] == 6
    assert ("tracee_output_sent_total", (("output", "webhook"),)) not in got
    assert not any(name.startswith("not_prefixed") for name, _ in got)
    assert got[("tracee_enricher_cache_hits_total", (("enricher", "containers"),))] == 7
    assert got[("tracee_enricher_cache_misses_total", (("enricher", "containers"),))] == 2


def test_a_part_that_raises_is_reported_and_the_scrape_still_succeeds(tracee_logs):
    class Broken:
        def metrics(self):
            raise OSError("map gone")

    metrics = RunMetrics()
    metrics.outputs = [("broken", Broken())]
    got = scrape(metrics)
    assert ("tracee_info", ()) not in got and any(name == "tracee_info" for name, _ in got)
    assert "metrics: output broken failed: OSError: map gone" in tracee_logs.text


def test_rule_timings_sample_one_evaluation_in_64_per_route():
    engine = Engine([Shadow()], FindingsCollector())
    engine.time_rules(RuleTimings())
    engine.start()
    for _ in range(129):
        engine.dispatch(make_event("openat", pathname="/x"))
    ((language, (counts, total)),) = engine.timings.snapshot().items()
    assert language == "python" and sum(counts) == 3 and total > 0  # events 1, 65 and 129

    metrics = RunMetrics()
    metrics.engine = engine
    got = scrape(metrics)
    assert got[("tracee_rule_evaluation_seconds_count", (("language", "python"),))] == 3
    assert got[("tracee_rule_evaluation_seconds_bucket", (("language", "python"), ("le", "+Inf")))] == 3


def test_counters_read_while_the_engine_dispatches_never_go_down():
    engine = Engine([Shadow()], FindingsCollector())
    engine.start()
    stop = threading.Event()

    def dispatch():
        while not stop.is_set():
            engine.dispatch(make_event("openat", pathname="/x"))
            engine.dispatch(make_event("openat", pathname="/x", container=True))

    def read(n: int) -> list[int]:
        out = []
        for _ in range(n):
            out.append(engine.dispatch_counts()[0]["M-1"])
            time.sleep(0.001)  # let the dispatching thread run
        return out

    worker = threading.Thread(target=dispatch)
    worker.start()
    try:
        seen = read(100)
        engine.stage([engine.signatures[0]])  # a reload in the middle changes no count
        seen += read(100)
    finally:
        stop.set()
        worker.join()
    assert seen == sorted(seen) and seen[-1] > seen[0]


def test_the_rule_result_cache_counts_by_language_and_outcome():
    from tracee.signature import SignatureGroup

    class Cached(SignatureGroup):
        name = "rego"

        def evaluate(self, event, members):
            pass

        def stats(self):
            return {"rego_cache_hit(s)": 7, "rego_cache_miss(es)": 2, "rego_evaluation(s)_not_cacheable": 1,
                    "rego_evaluation(s)_cache_paused": 0, "rego_evaluation(s)_ruled_out": 4}

    class Member(Signature):
        metadata = SignatureMetadata(id="C-1", name="cached")
        selected_events = [EventSelector("openat")]
        group = Cached()

    metrics = RunMetrics()
    metrics.engine = Engine([Member()], FindingsCollector())
    got = scrape(metrics)
    assert got[("tracee_rule_cache_lookups_total", (("language", "rego"), ("outcome", "hit")))] == 7
    assert got[("tracee_rule_cache_lookups_total", (("language", "rego"), ("outcome", "miss")))] == 2
    assert got[("tracee_rule_cache_lookups_total", (("language", "rego"), ("outcome", "not_cacheable")))] == 1
