"""/metrics and /healthz on live kernel events: `tracee trace --metrics`, `tracee run --metrics
--healthz` on the eBPF input, and Tracee's pipeline `tracee trace | tracee run` whose producer dies."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from conftest import kernel_skip_reason
from tracee.testing import LiveTracee

pytestmark = pytest.mark.kernel
PTRACE_TRACEME = [sys.executable, "-c", "import ctypes; ctypes.CDLL(None).ptrace(0, 0, 0, 0)"]
SERVE = ["--metrics", "--healthz", "--listen-addr", "127.0.0.1:0"]


@pytest.fixture(autouse=True)
def _needs_kernel() -> None:
    why = kernel_skip_reason()
    if why:
        pytest.skip(f"kernel tests: {why}")


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def samples(url: str) -> dict[tuple[str, tuple], float]:
    status, text = get(url + "/metrics")
    assert status == 200, text
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def until(check, timeout: float = 20.0):
    deadline = time.monotonic() + timeout
    while not (value := check()):
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.1)
    return value


def test_trace_serves_its_counters_under_tracee_s_names():
    with LiveTracee(["trace", "-e", "execve", "--output", "json", *SERVE]) as live:
        url = live.url()
        live.wait_for_stderr("tracing 1 event(s)")
        before = samples(url)[("tracee_ebpf_events_total", ())]
        for _ in range(5):
            subprocess.run(["/bin/true"], check=True)
        after = until(lambda: (m := samples(url))[("tracee_ebpf_events_total", ())] >= before + 5 and m)
        assert after[("tracee_events_total", (("input", "ebpf"),))] == after[("tracee_ebpf_events_total", ())]
        assert after[("tracee_ebpf_lostevents_total", ())] == 0
        assert ("tracee_events_lost_total", (("cause", "buffer_full"), ("input", "ebpf"))) in after
        assert get(url + "/healthz") == (200, "OK\n")
        assert live.stop(signal.SIGINT) == 0


def test_run_on_the_ebpf_input_counts_findings_live():
    with LiveTracee(["run", "--rules", "TRC-2", "--output", "json", *SERVE]) as live:
        url = live.url()
        live.wait_for_stderr("probe(s) attached")
        until(lambda: get(url + "/healthz") == (200, "OK\n"))
        subprocess.run(PTRACE_TRACEME, check=True)
        assert live.finding(timeout=5)["SigMetadata"]["ID"] == "TRC-2"
        got = until(lambda: (m := samples(url)).get(
            ("tracee_findings_total", (("severity", "3"), ("signature_id", "TRC-2")))) == 1 and m)
        assert got[("tracee_events_total", (("input", "ebpf"),))] >= 1
        assert got[("tracee_events_dispatched_total", (("event_name", "ptrace"),))] >= 1
        assert live.stop(signal.SIGINT) == 128 + signal.SIGINT


def test_healthz_turns_503_when_the_producer_of_the_stream_is_killed(tmp_path: Path):
    trace = subprocess.Popen([str(Path(sys.executable).parent / "tracee"), "trace", "-e", "ptrace", "--output", "json"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    ready = threading.Event()

    def watch_stderr() -> None:  # "tracing N event(s)" once its probes are attached
        for line in trace.stderr:
            if b"tracing " in line:
                ready.set()
    threading.Thread(target=watch_stderr, daemon=True).start()
    try:
        with LiveTracee(["run", "--input", "file:-", "--output", "json", "--rules", "TRC-2", *SERVE],
                        stdin=trace.stdout) as live:
            trace.stdout.close()  # tracee run holds the pipe now
            url = live.url()
            until(lambda: get(url + "/healthz") == (200, "OK\n"))
            assert ready.wait(60), "tracee trace did not start tracing"
            subprocess.run(PTRACE_TRACEME, check=True)
            assert live.finding(timeout=10)["SigMetadata"]["ID"] == "TRC-2"
            assert get(url + "/healthz") == (200, "OK\n")
            trace.kill()  # the input's producer is gone: end of the stream
            until(lambda: get(url + "/healthz") == (503, "input ended\n"))
            live.wait_for_stderr("/healthz answers 503 until tracee is stopped")
            assert samples(url)[("tracee_healthy", ())] == 0
            assert live.stop(signal.SIGTERM) == 128 + signal.SIGTERM
    finally:
        if trace.poll() is None:
            trace.kill()
        trace.wait(10)
