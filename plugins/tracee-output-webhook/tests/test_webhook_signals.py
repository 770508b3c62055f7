"""Signals while findings drain to a slow receiver: the counts are always printed, nothing vanishes."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tracee.testing import make_event

BIN = Path(sys.executable).parent
FINDINGS = 200


@pytest.fixture
def many_findings(tmp_path) -> Path:
    path = tmp_path / "events.json"
    events = [make_event("openat", pathname="/etc/shadow", context={"process_id": 100 + i}) for i in range(FINDINGS)]
    path.write_text("".join(json.dumps(e.to_dict()) + "\n" for e in events))
    return path


def start(url: str, events: Path, drain: float, secret_url: str | None = None) -> subprocess.Popen:
    return subprocess.Popen(
        [str(BIN / "tracee"), "run", "--input", f"file:{events}", "--rules", "EXAMPLE-1",
         "--output", f"webhook:{secret_url or url}", "--webhook-drain-timeout", str(drain),
         "--webhook-timeout", "5"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ})


def counts(err: str) -> dict[str, int]:
    summary = next(line for line in err.splitlines() if "summary:" in line)
    found = dict((k, int(v)) for v, k in re.findall(r"(\d+) (finding\(s\) not delivered|finding\(s\))", summary))
    found.update({k: int(v) for k, v in re.findall(r"output webhook_(\w+) (\d+)", summary)})
    return found


def test_first_signal_during_the_drain_keeps_draining_then_prints_the_counts(receiver_factory, many_findings):
    receiver = receiver_factory(delay=0.02)
    proc = start(receiver.url, many_findings, drain=1.5)
    assert receiver.wait_for(5)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 143, err
    c = counts(err)
    assert c["finding(s)"] == FINDINGS
    assert c["delivered"] == len(receiver.accepted) > 5  # it went on sending after the signal
    assert c["delivered"] + c["finding(s) not delivered"] == FINDINGS
    assert "Traceback" not in err


def test_second_signal_cuts_the_drain_short_and_still_prints_the_counts(receiver_factory, many_findings):
    receiver = receiver_factory(delay=0.05)
    proc = start(receiver.url, many_findings, drain=60)
    assert receiver.wait_for(3)
    proc.send_signal(signal.SIGINT)
    time.sleep(0.3)
    began = time.monotonic()
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=20)
    assert time.monotonic() - began < 2.0
    assert proc.returncode == 130, err
    c = counts(err)
    assert 0 < c["delivered"] < FINDINGS
    assert c["delivered"] + c["finding(s) not delivered"] == FINDINGS
    assert c["delivered"] >= len(receiver.accepted) - 1  # at most the one in flight answered after we left
    assert "not delivered" in err and "Traceback" not in err
