"""Rule workers with a test rule language whose rules crash, hang or exit on demand (workers_kit)."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from tracee.api import RuleLoadContext
from tracee.engine import Engine
from tracee.errors import FatalError
from tracee.testing import make_event
from tracee.workers import group as worker_group
from tracee.workers import load_isolated

from workers_kit import LOADER


def rule(directory: Path, sid: str, **spec) -> Path:
    path = directory / f"{sid}.rule"
    path.write_text(json.dumps({"id": sid, **spec}))
    return path


def run(sigs, events):
    findings = []
    engine = Engine(sigs, findings.append)
    engine.run(events)
    return findings, engine


def opens(*paths: str):
    return [make_event("openat", pathname=p, context={"process_id": 100 + n}) for n, p in enumerate(paths)]


def test_findings_come_back_from_the_worker_in_order(tmp_path):
    sigs = load_isolated(LOADER, [rule(tmp_path, "OK-1"), rule(tmp_path, "OK-2", when="/b")], RuleLoadContext())
    findings, engine = run(sigs, opens("/a", "/b", "/c"))
    assert sorted((f.metadata.id, f.data["pid"]) for f in findings) == [("OK-1", 100), ("OK-1", 101), ("OK-1", 102),
                                                                        ("OK-2", 101)]
    assert findings[0].event.get_arg("pathname") == "/a"  # the engine's own event object
    assert engine.group_stats()["rule_worker_restart(s)"] == 0


@pytest.mark.parametrize("how,signal_name", [("abort", "SIGABRT"), ("segfault", "SIGSEGV")])
def test_a_rule_that_kills_the_worker_is_quarantined(tmp_path, tracee_logs, how, signal_name):
    files = [rule(tmp_path, "A-1"), rule(tmp_path, "BAD-1", do=how, when="/boom"), rule(tmp_path, "C-1")]
    sigs = load_isolated(LOADER, files, RuleLoadContext())
    findings, engine = run(sigs, opens("/a", "/boom", "/c", "/boom", "/d"))
    assert sorted(f.metadata.id for f in findings) == ["A-1"] * 5 + ["C-1"] * 5
    lines = [line for line in tracee_logs.lines if "BAD-1" in line]
    assert len(lines) == 1 and f"quarantined: it crashed the rule worker (killed by {signal_name}" in lines[0]
    assert engine.group_stats()["rule(s)_quarantined"] == 1


def test_a_rule_over_budget_is_abandoned_and_after_three_quarantined(tmp_path, tracee_logs):
    files = [rule(tmp_path, "OK-1"), rule(tmp_path, "SLOW-1", do="spin", seconds=5, when="/slow")]
    sigs = load_isolated(LOADER, files, RuleLoadContext(), budget_ms=50)
    began = time.monotonic()
    findings, engine = run(sigs, opens("/slow", "/a", "/slow", "/slow", "/slow", "/b"))
    assert time.monotonic() - began < 5
    assert sorted(f.metadata.id for f in findings) == ["OK-1"] * 6
    assert sum("SLOW-1" in line for line in tracee_logs.lines) == 3
    stats = engine.group_stats()
    assert stats["evaluation(s)_over_budget"] == 3 and stats["rule(s)_quarantined"] == 1


def test_a_worker_kept_off_the_cpu_is_not_counted_over_budget(tmp_path, tracee_logs):
    """Wall time over the budget with little CPU time is a starved worker (a busy node, or an
    attacker loading the CPUs to get rules quarantined): given up to STARVED_GRACE budgets, not a
    strike. Here the rule sleeps 0.2 s (4 budgets of 50 ms) on each of three events."""
    files = [rule(tmp_path, "OK-1"), rule(tmp_path, "NAP-1", do="sleep", seconds=0.2, when="/nap")]
    sigs = load_isolated(LOADER, files, RuleLoadContext(), budget_ms=50)
    findings, engine = run(sigs, opens("/nap", "/a", "/nap", "/nap"))
    assert sorted(f.metadata.id for f in findings) == ["NAP-1"] * 3 + ["OK-1"] * 4
    stats = engine.group_stats()
    assert stats["evaluation(s)_over_budget"] == 0 and stats["rule(s)_quarantined"] == 0
    assert not [line for line in tracee_logs.lines if "NAP-1" in line]


def test_a_rule_raising_system_exit_in_a_worker_is_reported_and_the_worker_lives(tmp_path, tracee_logs):
    sigs = load_isolated(LOADER, [rule(tmp_path, "EXIT-1", do="exit"), rule(tmp_path, "OK-1")], RuleLoadContext())
    findings, engine = run(sigs, opens("/a", "/b"))
    assert [f.metadata.id for f in findings] == ["OK-1", "OK-1"]
    assert "SystemExit" in tracee_logs.text and engine.group_stats()["rule_worker_restart(s)"] == 0


@pytest.mark.parametrize("how", ["abort", "segfault"])
def test_a_file_that_kills_the_loader_is_skipped(tmp_path, tracee_logs, how):
    files = [rule(tmp_path, "A-1"), rule(tmp_path, "B-1", at_load=how), rule(tmp_path, "C-1")]
    sigs = load_isolated(LOADER, files, RuleLoadContext())
    assert [s.get_metadata().id for s in sigs] == ["A-1", "C-1"]
    assert "B-1.rule: the testrules rule compiler crashed on this file (killed by SIG" in tracee_logs.text
    with pytest.raises(FatalError, match="B-1.rule: the testrules rule compiler crashed"):
        load_isolated(LOADER, files, RuleLoadContext(strict=True))


def test_a_file_that_hangs_the_loader_is_skipped(tmp_path, tracee_logs, monkeypatch):
    monkeypatch.setattr(worker_group, "COMPILE_BUDGET_S", 1.0)
    sigs = load_isolated(LOADER, [rule(tmp_path, "HANG-1", at_load="hang"), rule(tmp_path, "A-1")], RuleLoadContext())
    assert [s.get_metadata().id for s in sigs] == ["A-1"]
    assert "HANG-1.rule: loading this file took over 1 s in the testrules rule worker; file skipped" in tracee_logs.text


def test_the_worker_has_no_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("WEBHOOK_TOKEN", "s3cr3t-token")
    sigs = load_isolated(LOADER, [rule(tmp_path, "ENV-1", do="env")], RuleLoadContext())
    findings, _ = run(sigs, opens("/a"))
    assert findings[0].data == {"env": {}}


def test_interrupt_stops_a_busy_worker_and_counts_what_was_left(tmp_path):
    sigs = load_isolated(LOADER, [rule(tmp_path, "SLOW-1", do="sleep", seconds=3)], RuleLoadContext(),
                         budget_ms=60_000)
    engine = Engine(sigs, lambda f: None)
    engine.start()
    for event in opens(*["/x"] * 10):
        engine.dispatch(event)
    time.sleep(0.3)
    began = time.monotonic()
    engine.interrupt()
    engine.finish()
    assert time.monotonic() - began < 1.5
    assert engine.group_stats()["event(s)_not_evaluated"] == 10


def test_no_worker_is_left_running(tmp_path):
    sigs = load_isolated(LOADER, [rule(tmp_path, "OK-1")], RuleLoadContext())
    group = sigs[0].group
    pid = group._proc.proc.pid
    run(sigs, opens("/a"))
    assert group._proc is None
    assert not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text()


def test_a_single_event_on_an_idle_stream_is_evaluated_at_once(tmp_path):
    """Live inputs trickle: an event must not wait for a batch to fill."""
    sigs = load_isolated(LOADER, [rule(tmp_path, "OK-1")], RuleLoadContext())
    findings = []
    engine = Engine(sigs, findings.append)
    engine.start()
    for n in range(3):
        engine.dispatch(make_event("openat", context={"process_id": n}))
        deadline = time.monotonic() + 2
        while len(findings) <= n and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(findings) == n + 1, f"event {n} not evaluated within 2 s"
        time.sleep(0.2)  # the pump goes idle between events
    engine.finish()


def test_the_engine_waits_for_a_worker_only_when_it_is_behind(tmp_path, monkeypatch):
    import tracee.workers.group as group_module

    sigs = load_isolated(LOADER, [rule(tmp_path, "OK-1")], RuleLoadContext())
    _, engine = run(sigs, opens(*["/x"] * 50))
    assert engine.group_stats()["engine_wait(s)_for_the_worker"] == 0
    monkeypatch.setattr(group_module, "MAX_QUEUE", 2)
    slow = load_isolated(LOADER, [rule(tmp_path, "SLOW-2", do="sleep", seconds=0.05)], RuleLoadContext(),
                         budget_ms=60_000)
    _, engine = run(slow, opens(*["/x"] * 8))
    assert engine.group_stats()["engine_wait(s)_for_the_worker"] > 0
