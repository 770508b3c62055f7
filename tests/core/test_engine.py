"""Engine semantics: Tracee's selector buckets, origin filtering, life cycle, errors, counters."""

from tracee import EventSelector, Signature, SignatureMetadata
from tracee.engine import Engine
from tracee.signature import SIGNAL_SOURCE_COMPLETE
from tracee.testing import make_event, run_signatures


class Recorder(Signature):
    def __init__(self, sid, *selectors, fire=False):
        self.metadata = SignatureMetadata(id=sid, name=sid)
        self.selected_events = list(selectors)
        self.seen, self.signals, self.closed, self.fire = [], [], False, fire

    def on_event(self, event):
        self.seen.append((event.event_name, event.origin))
        if self.fire:
            self.match(event, {"n": len(self.seen)})

    def on_signal(self, signal):
        self.signals.append(signal)

    def close(self):
        self.closed = True


EVENTS = [make_event("ptrace"), make_event("ptrace", container=True), make_event("ptrace", container="init"),
          make_event("openat"), make_event("openat", container=True)]


def test_name_and_origin_selection():
    by_name = Recorder("A", EventSelector("ptrace"))
    in_container = Recorder("B", EventSelector("ptrace", origin="container"))
    on_host = Recorder("C", EventSelector("openat", origin="host"))
    everything = Recorder("D", EventSelector("*"))
    init_only = Recorder("E", EventSelector(name="", origin="container-init"))  # empty name = *
    run_signatures([by_name, in_container, on_host, everything, init_only], EVENTS)
    assert by_name.seen == [("ptrace", "host"), ("ptrace", "container"), ("ptrace", "container-init")]
    assert in_container.seen == [("ptrace", "container")]  # container-init is not container
    assert on_host.seen == [("openat", "host")]
    assert len(everything.seen) == 5
    assert init_only.seen == [("ptrace", "container-init")]


def test_selector_without_source_never_receives_events(tracee_logs):
    sig = Recorder("A", EventSelector("ptrace", source=""))
    run_signatures([sig], EVENTS)
    assert sig.seen == []
    assert "without a source" in tracee_logs.text


def test_overlapping_selectors_deliver_once():
    sig = Recorder("A", EventSelector("ptrace"), EventSelector("*"), EventSelector("ptrace", origin="host"))
    run_signatures([sig], [make_event("ptrace")])
    assert sig.seen == [("ptrace", "host")]


def test_life_cycle_signal_and_close():
    tracee_sig = Recorder("A", EventSelector("ptrace"))
    other_source = Recorder("B", EventSelector("ptrace", source="k8s-audit"))
    run_signatures([tracee_sig, other_source], [])
    assert tracee_sig.signals == [SIGNAL_SOURCE_COMPLETE] and other_source.signals == []
    assert tracee_sig.closed and other_source.closed


def test_findings_carry_event_data_and_metadata():
    findings = run_signatures([Recorder("A", EventSelector("ptrace"), fire=True)], EVENTS[:2])
    assert [f.data for f in findings] == [{"n": 1}, {"n": 2}]
    assert findings[1].event is EVENTS[1] and findings[0].metadata.id == "A"


class Raising(Signature):
    metadata = SignatureMetadata(id="BAD-1", name="raises")
    selected_events = [EventSelector("ptrace")]

    def on_event(self, event):
        raise ValueError("no good")


def test_raising_signature_is_reported_counted_and_others_go_on(tracee_logs):
    good = Recorder("A", EventSelector("ptrace"), fire=True)
    findings = []
    engine = Engine([Raising(), good], findings.append)
    engine.run([make_event("ptrace")] * 5)
    assert len(findings) == 5
    assert engine.stats.signature_errors == {"BAD-1": 5}
    text = tracee_logs.text
    assert "signature BAD-1 failed in on_event: ValueError: no good" in text
    assert text.count("BAD-1") == 3  # then only counted
    assert engine.stats.dispatched == {"BAD-1": 5, "A": 5}
    assert engine.stats.findings == 5


def test_event_names_union_or_none_for_wildcard():
    a = Recorder("A", EventSelector("ptrace"), EventSelector("close", origin="container"))
    b = Recorder("B", EventSelector("openat", source=""))
    assert Engine([a, b], print).event_names() == {"ptrace", "close"}
    c = Recorder("C", EventSelector("*"))
    assert Engine([a, c], print).event_names() is None


def test_output_failure_does_not_stop_detection(tracee_logs):
    def broken_output(finding):
        raise OSError("disk full")

    engine = Engine([Recorder("A", EventSelector("ptrace"), fire=True)], broken_output)
    engine.run([make_event("ptrace")] * 3)
    assert engine.stats.findings == 3 and engine.stats.output_errors == 3
    assert tracee_logs.text.count("disk full") == 1


def test_signature_contract_catches_a_selector_without_source():
    import pytest
    from tracee.testing import assert_signature_contract

    assert_signature_contract(Recorder("OK-1", EventSelector("ptrace")))
    with pytest.raises(AssertionError, match="without a source"):
        assert_signature_contract(Recorder("BAD-1", EventSelector("ptrace", source="")))
