"""The Enricher record's life cycle in a run: start() with the run's options before the input,
`events` seen though no signature selects them, stats() in the summary, close() at the end."""

from __future__ import annotations

import io
import json

from tracee import Enricher, EnricherContext, EventSelector, Signature, SignatureMetadata, hookimpl
from tracee.engine import Engine
from tracee.plugins import PluginHost, PluginInfo
from tracee.runner import RunOptions, run
from tracee.testing import FindingsCollector, make_event


class Sees(Signature):
    metadata = SignatureMetadata(id="S-1", name="sees")
    selected_events = [EventSelector("ptrace")]

    def on_event(self, event):
        self.match(event, {"name": event.container_name})


class Recorder:
    def __init__(self) -> None:
        self.calls: list[str] = []
        self.contexts: list[EnricherContext] = []

    def record(self) -> Enricher:
        return Enricher("rec", self.enrich, close=lambda: self.calls.append("close"),
                        start=self.start, stats=lambda: {"seen": len(self.calls)},
                        events=frozenset({"container_create"}))

    def start(self, context: EnricherContext) -> None:
        self.contexts.append(context)
        self.calls.append("start")

    def enrich(self, event) -> None:
        self.calls.append(event.event_name)
        event.container_name = "named"


def test_watched_events_reach_the_enricher_without_a_signature():
    rec = Recorder()
    findings = FindingsCollector()
    engine = Engine([Sees()], findings, enrichers=[rec.record()])
    engine.run([make_event("container_create", container_id="ab" * 32), make_event("openat"),
                make_event("ptrace")])
    assert rec.calls == ["container_create", "ptrace"]  # openat: selected by nobody, watched by nobody
    assert engine.stats.dispatched == {"S-1": 1}
    assert [f.data for f in findings] == [{"name": "named"}]
    assert engine.event_names() == frozenset({"ptrace"})  # what inputs are asked for is unchanged


def test_a_run_starts_counts_and_closes_enrichers(tmp_path, tracee_logs):
    rec = Recorder()

    class Plugin:
        @hookimpl
        def tracee_register_enrichers(self, register):
            register(rec.record())

        @hookimpl
        def tracee_register_signatures(self, register):
            register(Sees())

    host = PluginHost(strict=False).load_entry_points()
    host.register(Plugin(), PluginInfo("rec", "tracee-rec", "0.1", "x"))
    events = tmp_path / "events.jsonl"
    events.write_text(json.dumps(make_event("ptrace").to_dict()) + "\n")
    out = io.StringIO()
    import contextlib
    with contextlib.redirect_stdout(out):
        assert run(host, RunOptions(inputs=[f"file:{events}"], outputs=["json"], options={"flag": 1}),
                   banner=False) == 0
    assert rec.calls == ["start", "ptrace", "close"]
    assert rec.contexts[0].options == {"flag": 1} and rec.contexts[0].log.name == "tracee.enricher.rec"
    assert "rec seen 3" in tracee_logs.lines[-1]


def test_an_enricher_that_cannot_start_is_reported_and_the_run_goes_on(tmp_path, tracee_logs):
    def broken_start(context):
        raise ConnectionError("socket gone")

    class Plugin:
        @hookimpl
        def tracee_register_enrichers(self, register):
            register(Enricher("flaky", lambda e: None, start=broken_start))

        @hookimpl
        def tracee_register_signatures(self, register):
            register(Sees())

    host = PluginHost(strict=False).load_entry_points()
    host.register(Plugin(), PluginInfo("flaky", "tracee-flaky", "0.1", "x"))
    events = tmp_path / "events.jsonl"
    events.write_text(json.dumps(make_event("ptrace").to_dict()) + "\n")
    import contextlib
    with contextlib.redirect_stdout(io.StringIO()):
        assert run(host, RunOptions(inputs=[f"file:{events}"], outputs=["json"]), banner=False) == 0
    assert "tracee: error: enricher flaky failed to start: ConnectionError: socket gone" in tracee_logs.text
    assert "1 finding(s)" in tracee_logs.text
