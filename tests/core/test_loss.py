"""Loss alerts (tracee.loss): an input's lost counters become TRACEE-LOSS findings, rate-limited,
with nothing left unreported at the end."""

from __future__ import annotations

import json
import time

from tracee.loss import LOSS, LossWatcher, lost_counts


class Counters:
    """An input's stats() as the runner reads them, changed by the test between checks."""

    def __init__(self) -> None:
        self.values: dict[str, int] = {"read": 0}

    def __call__(self) -> dict[str, int]:
        return dict(self.values)


def test_lost_counters_are_lost_and_lost_causes_only():
    assert lost_counts({"read": 9, "lost": 3, "lost_kernel": 2, "dropped": 5, "lost_bad": "x", "lost_zero": 0}) == \
        {"lost": 3, "lost_kernel": 2}


def test_first_loss_at_once_then_one_finding_per_interval_then_the_rest_at_close():
    stats, sent = Counters(), []
    watcher = LossWatcher(stats, sent.append, every=3600)
    assert watcher.check() is None  # nothing lost: no finding
    stats.values["lost"] = 10
    first = watcher.check()
    assert first is not None and first.metadata is LOSS and first.data["lost"] == 10
    stats.values["lost"] = 25
    assert watcher.check() is None  # within the interval: counted, not sent yet
    watcher.close()  # the end of the run: what was not reported goes out, whatever the interval
    assert [f.data["lost"] for f in sent] == [10, 15]
    assert [f.data["lost_total"] for f in sent] == [10, 25]
    assert watcher.alerts == 2


def test_an_interval_of_zero_sends_every_growth_and_the_finding_is_tracee_shaped():
    stats, sent = Counters(), []
    watcher = LossWatcher(stats, sent.append, every=0)
    for total in (1, 1, 4, 9):
        stats.values["lost_buffer_full"] = total
        watcher.check()
    assert [f.data["lost"] for f in sent] == [1, 3, 5]
    doc = json.loads(json.dumps(sent[-1].to_dict()))
    assert doc["SigMetadata"]["ID"] == "TRACEE-LOSS" and doc["SigMetadata"]["Properties"]["Severity"] == 3
    assert doc["Context"]["eventName"] == "events_lost" and doc["Context"]["processName"] == "tracee"
    assert doc["Data"]["causes"] == {"lost_buffer_full": 9}


def test_the_watcher_thread_checks_on_its_own_and_survives_a_failing_stats():
    calls = {"n": 0}
    sent = []

    def stats() -> dict[str, int]:
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("input busy")
        return {"lost": 7}

    watcher = LossWatcher(stats, sent.append, check_every=0.05, every=3600).start()
    deadline = time.monotonic() + 5
    while not sent and time.monotonic() < deadline:
        time.sleep(0.02)
    watcher.close()
    assert [f.data["lost"] for f in sent] == [7]
