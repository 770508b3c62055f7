"""Engine semantics: Tracee's selector buckets, origin filtering, life cycle, errors, counters."""

from tracee import EventSelector, Signature, SignatureGroup, SignatureMetadata
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


# -- signature groups (the batch-evaluation seam) -------------------------------------------------------
class Counting(SignatureGroup):
    """A rule language's runtime: records its calls, fires members whose ID is in `fire`."""

    name = "counting"

    def __init__(self, fire=(), boom=False):
        self.calls, self.fire, self.boom, self.stages = [], set(fire), boom, []

    def evaluate(self, event, members):
        self.calls.append((event.event_name, [m.metadata.id for m in members]))
        if self.boom:
            raise RuntimeError("runtime broke")
        for m in members:
            if m.metadata.id in self.fire:
                m.match(event, {"by": "group"})

    def flush(self):
        self.stages.append("flush")

    def close(self):
        self.stages.append("close")


class Member(Recorder):
    def __init__(self, sid, group, *selectors):
        super().__init__(sid, *selectors)
        self.group = group

    on_event = Signature.on_event  # evaluated by the group

    def on_signal(self, signal):
        self.group.stages.append(f"signal {self.metadata.id}")

    def close(self):
        self.group.stages.append(f"close {self.metadata.id}")


def test_a_group_gets_each_event_once_with_the_members_that_select_it():
    group = Counting(fire={"G-2"})
    g1 = Member("G-1", group, EventSelector("ptrace"))
    g2 = Member("G-2", group, EventSelector("ptrace"), EventSelector("openat", origin="container"))
    g3 = Member("G-3", group, EventSelector("openat"))
    plain = Recorder("P-1", EventSelector("ptrace"), fire=True)
    findings = []
    engine = Engine([g1, plain, g2, g3], findings.append)
    engine.run([make_event("ptrace"), make_event("openat"), make_event("openat", container=True), make_event("close")])
    assert group.calls == [("ptrace", ["G-1", "G-2"]), ("openat", ["G-3"]), ("openat", ["G-2", "G-3"])]
    # The group takes the place of its first member: G-1 comes before P-1, so its findings do too.
    assert [f.metadata.id for f in findings] == ["G-2", "P-1", "G-2"]
    assert engine.stats.dispatched == {"G-1": 1, "P-1": 1, "G-2": 2, "G-3": 2}
    # Flushed before members hear that the input ended; closed after the members.
    assert group.stages == ["flush", "signal G-1", "signal G-2", "signal G-3",
                            "close G-1", "close G-2", "close G-3", "close"]


def test_a_failing_group_is_reported_once_per_limit_and_counted(tracee_logs):
    group = Counting(boom=True)
    good = Recorder("A", EventSelector("ptrace"), fire=True)
    engine = Engine([Member("G-1", group, EventSelector("ptrace")), good], [].append)
    engine.run([make_event("ptrace")] * 5)
    assert engine.stats.signature_errors == {"group:counting": 5}
    assert engine.stats.findings == 5  # the other signature goes on
    printed = [line for line in tracee_logs.lines if "rule group counting (G-1)" in line]
    assert len(printed) == 3 and printed[-1].endswith("(further errors of this signature are only counted)")
    assert tracee_logs.count() == 5


def test_a_member_dispatched_alone_is_evaluated_by_its_group():
    group = Counting(fire={"G-1"})
    member = Member("G-1", group, EventSelector("ptrace"))
    member.init(lambda finding: None)
    member.on_event(make_event("ptrace"))
    assert group.calls == [("ptrace", ["G-1"])]


def test_selected_conditions_hold_every_selector_with_its_origin_and_predicates():
    from tracee.engine import selected_conditions
    from tracee.predicates import arg

    etc = EventSelector("openat", where=(arg("pathname").startswith("/etc/"),))
    a = Recorder("A", etc, EventSelector("ptrace", origin="container"))
    b = Recorder("B", EventSelector("openat"))
    conditions = selected_conditions([a, b])
    assert conditions == {"openat": (("*", etc.where), ("*", ())), "ptrace": (("container", ()),)}
    # a selector of every event: an input must not drop anything by predicates
    assert selected_conditions([a, Recorder("C", EventSelector("*"))]) is None
