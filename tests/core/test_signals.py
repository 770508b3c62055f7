"""SIGINT/SIGTERM end a run cleanly (summary, counts, 130/143); rules cannot end it by raising."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tracee import EventSelector, Signature, SignatureMetadata
from tracee.engine import Engine
from tracee.signals import Shutdown
from tracee.testing import make_event

BIN = Path(sys.executable).parent
LINE = ('{"timestamp":1,"processId":10,"processName":"cat","eventId":"257","eventName":"openat",'
        '"args":[{"name":"pathname","type":"const char*","value":"/etc/shadow"}]}\n')


def start(*args: str, stdin=subprocess.DEVNULL) -> subprocess.Popen:
    return subprocess.Popen([str(BIN / "tracee"), "run", "--rules", "EXAMPLE-1", "--output", "json", *args],
                            stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_started(proc: subprocess.Popen) -> None:
    """Until the run has loaded its signatures (its first line on stderr)."""
    assert proc.stderr is not None
    line = proc.stderr.readline()
    assert "Loaded" in line, line


@pytest.mark.parametrize("signum,code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_stdin_input_stops_on_the_first_signal(signum, code):
    reader, writer = os.pipe()  # stdin that stays open and quiet, as a live pipe would
    proc = start("--input", "file:-", stdin=reader)
    os.close(reader)
    try:
        os.write(writer, LINE.encode())
        wait_started(proc)
        time.sleep(0.3)
        proc.send_signal(signum)
        out, err = proc.communicate(timeout=5)
    finally:
        os.close(writer)
    assert proc.returncode == code, err
    assert out.count('"EXAMPLE-1"') == 1
    assert "summary: 1 events read" in err and "Traceback" not in err


def test_dev_zero_stays_small_and_stops_on_sigterm_within_a_second():
    proc = start("--input", "file:/dev/zero")
    wait_started(proc)
    time.sleep(2.0)
    rss_kb = int(next(line.split()[1] for line in Path(f"/proc/{proc.pid}/status").read_text().splitlines()
                      if line.startswith("VmRSS:")))
    began = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=5)
    took = time.monotonic() - began
    assert proc.returncode == 143, err
    assert took < 1.0, took
    assert rss_kb < 200 * 1024, rss_kb
    assert "line longer than" in err and "summary:" in err and "Traceback" not in err


def test_sigint_in_the_middle_of_a_file_ends_cleanly(tmp_path):
    path = tmp_path / "big.jsonl"
    with path.open("w") as f:
        for _ in range(400_000):
            f.write(LINE)
    proc = start("--input", f"file:{path}")
    wait_started(proc)
    time.sleep(0.5)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=10)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "closed file" not in err
    summary = next(line for line in err.splitlines() if "summary:" in line)
    findings = out.count('"EXAMPLE-1"')
    assert 0 < findings < 400_000 and f"{findings} finding(s)" in summary


def test_second_signal_calls_the_second_callback_and_keeps_the_first_number():
    calls: list[str] = []
    with Shutdown(lambda: calls.append("stop"), lambda: calls.append("hurry")) as shutdown:
        os.kill(os.getpid(), signal.SIGTERM)
        os.kill(os.getpid(), signal.SIGINT)
        os.kill(os.getpid(), signal.SIGINT)
    assert calls == ["stop", "hurry", "hurry"]
    assert shutdown.exit_code == 143
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


class _Exits(Signature):
    metadata = SignatureMetadata(id="EXITS-1", name="raises SystemExit / KeyboardInterrupt")
    selected_events = [EventSelector("openat")]

    def __init__(self, exc: BaseException) -> None:
        self.exc = exc

    def on_event(self, event):
        raise self.exc


class _Counts(Signature):
    metadata = SignatureMetadata(id="COUNTS-1", name="fires on every openat")
    selected_events = [EventSelector("openat")]

    def on_event(self, event):
        self.match(event)


def test_a_rule_raising_system_exit_is_warned_and_counted(tracee_logs):
    findings = []
    engine = Engine([_Exits(SystemExit(3)), _Counts()], findings.append)
    engine.run([make_event("openat"), make_event("openat")])
    assert len(findings) == 2
    assert engine.stats.signature_errors == {"EXITS-1": 2}
    assert "raised SystemExit(3) (a rule cannot end the run; ignored)" in tracee_logs.text


def test_a_rule_raising_keyboard_interrupt_is_counted_under_the_run_handlers(tracee_logs):
    findings = []
    engine = Engine([_Exits(KeyboardInterrupt()), _Counts()], findings.append)
    with Shutdown(lambda: None, lambda: None):
        engine.run([make_event("openat")])
    assert len(findings) == 1 and engine.stats.signature_errors == {"EXITS-1": 1}


def test_a_real_ctrl_c_under_pythons_handler_still_interrupts():
    engine = Engine([_Exits(KeyboardInterrupt())], lambda f: None)
    with pytest.raises(KeyboardInterrupt):
        engine.run([make_event("openat")])


class _Sleeps(Signature):
    metadata = SignatureMetadata(id="SLEEPS-1", name="sleeps on every openat")
    selected_events = [EventSelector("openat")]

    def on_event(self, event):
        time.sleep(0.15)


def test_a_python_rule_over_its_budget_is_quarantined_after_three_strikes(tracee_logs):
    findings = []
    engine = Engine([_Sleeps(), _Counts()], findings.append, budget_ms=50)
    began = time.monotonic()
    engine.run([make_event("openat") for _ in range(20)])
    took = time.monotonic() - began
    assert len(findings) == 20  # the other rule saw every event
    assert took < 1.5, took  # 3 slow calls, then no more
    text = tracee_logs.text
    assert text.count("SLEEPS-1 still running after") == 2
    assert "signature SLEEPS-1 quarantined: it went over its time budget (50 ms) on 3 events" in text
    assert engine.group_stats() == {"evaluation(s)_over_budget": 3, "rule(s)_quarantined": 1}
