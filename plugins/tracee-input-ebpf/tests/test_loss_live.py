"""Forced loss on the live input: a one-page buffer and an open/close flood. The loss is counted
(summary, /metrics) and reported as TRACEE-LOSS findings; Ctrl-C after the flood exits cleanly."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import pytest

from conftest import kernel_skip_reason
from tracee.testing import LiveTracee

pytestmark = pytest.mark.kernel
# Write-opens: TRC-3 selects every one (its path conditions, "contains", are not checked in the
# kernel), so the kernel's rule filter lets them all out and the one-page buffer overflows.
FLOOD = [sys.executable, "-c",
         "import os\nfor _ in range(150000): os.close(os.open('/dev/null', os.O_WRONLY))"]


@pytest.fixture(autouse=True)
def _needs_kernel() -> None:
    why = kernel_skip_reason()
    if why:
        pytest.skip(f"kernel tests: {why}")


def test_a_flood_into_a_tiny_buffer_is_lost_counted_and_reported_as_a_finding():
    args = ["run", "--ebpf-buffer-pages", "1", "--rules", "TRC-1", "--rules", "TRC-3", "--output", "json",
            "--loss-alert-interval", "0.5"]
    with LiveTracee(args) as live:
        live.wait_for_stderr("Loaded 2 signature(s)", timeout=60)
        time.sleep(1.0)
        for _ in range(3):
            subprocess.run(FLOOD, check=True)
        time.sleep(1.5)
        assert live.stop(signal.SIGINT) == 128 + signal.SIGINT
        stderr = live.stderr
        lines = []
        while not live.stdout.empty():
            lines.append(live.stdout.get())
    findings = [json.loads(line) for line in lines if line.strip()]
    loss = [f for f in findings if f["SigMetadata"]["ID"] == "TRACEE-LOSS"]
    assert loss, f"no TRACEE-LOSS finding; stderr:\n{stderr}"
    assert all(f["Data"]["lost"] > 0 and f["Context"]["eventName"] == "events_lost" for f in loss)
    assert [f["Data"]["lost_total"] for f in loss] == sorted(f["Data"]["lost_total"] for f in loss)
    summary = next(line for line in stderr.splitlines() if "summary:" in line)
    lost = int(summary.split(" lost")[0].rsplit(", ", 1)[-1])
    assert lost > 0 and loss[-1]["Data"]["lost_total"] == lost  # the last finding covers all of it
    assert sum(f["Data"]["lost"] for f in loss) == lost
    assert f"{len(loss)} loss finding(s)" in summary
    assert "Traceback" not in stderr and "perf buffer full" in stderr
