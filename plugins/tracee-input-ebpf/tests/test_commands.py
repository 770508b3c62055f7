"""The commands as a user runs them: `tracee trace`, `tracee trace | tracee-rules`, `tracee run`, doctor."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import kernel_skip_reason

BIN = Path(sys.executable).parent
TRACEE = str(BIN / "tracee")
pytestmark = pytest.mark.kernel


@pytest.fixture(autouse=True)
def _needs_kernel() -> None:
    why = kernel_skip_reason()
    if why:
        pytest.skip(f"kernel tests: {why}")


def start(args: list[str], out: Path, ready: str, timeout: float = 30) -> subprocess.Popen:
    """Start a tracee command with stdout to a file; return once stderr shows `ready`."""
    proc = subprocess.Popen([TRACEE, *args], stdout=open(out, "wb"), stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        seen.append(line)
        if ready in line:
            return proc
        if not line and proc.poll() is not None:
            break
    proc.kill()
    raise AssertionError(f"{args} did not get ready: {''.join(seen)}")


def stop(proc: subprocess.Popen) -> str:
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=15)
    assert proc.returncode in (0, 128 + signal.SIGINT), err  # trace: 0; run: 130, as documented
    return err


def wait_for_text(path: Path, text: str, timeout: float) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if text in path.read_text(errors="replace"):
            return time.monotonic() - started
        time.sleep(0.01)
    raise AssertionError(f"{text!r} not in output within {timeout}s:\n{path.read_text()[-2000:]}")


def test_trace_prints_events_of_a_command_run_beside_it(tmp_path: Path) -> None:
    out = tmp_path / "events.json"
    proc = start(["trace", "--events", "execve,security_file_open", "--output", "json",
                  "--output", "option:parse-arguments"], out, "tracing")
    cat = subprocess.run(["/bin/cat", "/etc/hostname"], capture_output=True)
    time.sleep(0.5)
    err = stop(proc)
    events = [json.loads(line) for line in out.read_text().splitlines() if line]
    mine = [e for e in events if e["hostProcessId"] == cat_pid(events, "/etc/hostname")]
    execve = next(e for e in mine if e["eventName"] == "execve")
    assert {a["name"]: a["value"] for a in execve["args"]} == {"pathname": "/bin/cat",
                                                               "argv": ["/bin/cat", "/etc/hostname"]}
    assert execve["hostParentProcessId"] == os.getpid() and execve["eventId"] == "59"
    opened = next(e for e in mine if e["eventName"] == "security_file_open"
                  and e["args"][0]["value"] == "/etc/hostname")
    assert opened["processName"] == "cat" and opened["eventId"] == "722"
    assert {"name": "flags", "type": "string", "value": "O_RDONLY|O_LARGEFILE"} in opened["args"]
    assert cat.returncode == 0
    assert "0 lost" in err and "summary:" in err


def cat_pid(events: list[dict], path: str) -> int:
    for e in events:
        if e["eventName"] == "execve" and e["args"][1]["value"][-1:] == [path]:
            return e["hostProcessId"]
    raise AssertionError("no execve of cat")


def test_trace_comm_filter_is_applied(tmp_path: Path) -> None:
    out = tmp_path / "events.json"
    proc = start(["trace", "-e", "close", "--comm", "flt-test-comm", "-o", "json"], out, "tracing")
    code = ("import ctypes, os\nlibc = ctypes.CDLL(None)\n"
            "libc.prctl(15, b'flt-test-comm', 0, 0, 0)\n"      # PR_SET_NAME
            "for fd in range(900, 905):\n    libc.close(fd)\n")
    subprocess.run([sys.executable, "-c", code], check=True)
    os.closerange(900, 905)  # the same calls from a process of another name
    time.sleep(0.4)
    stop(proc)
    events = [json.loads(line) for line in out.read_text().splitlines() if line]
    assert {e["processName"] for e in events} == {"flt-test-comm"}
    assert [e["args"][0]["value"] for e in events if e["args"][0]["value"] >= 900] == list(range(900, 905))


def _builtin_ids() -> set[str]:
    result = subprocess.run([TRACEE, "list"], capture_output=True, text=True)
    return {line.split()[0] for line in result.stdout.splitlines()[2:] if line.strip()}


def test_trace_pipes_into_tracee_rules(tmp_path: Path) -> None:
    if "TRC-2" not in _builtin_ids():
        pytest.skip("tracee-sig-builtin is not installed")
    out = tmp_path / "detections.txt"
    shell = (f"exec {TRACEE} trace -e ptrace -o json | exec {BIN / 'tracee-rules'} --input-tracee file:stdin "
             "--input-tracee format:json --rules TRC-2")
    proc = subprocess.Popen(["/bin/sh", "-c", shell], stdout=open(out, "wb"), stderr=subprocess.PIPE,
                            text=True, start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and "tracing" not in proc.stderr.readline():
            pass
        subprocess.run([sys.executable, "-c", "import ctypes; ctypes.CDLL(None).ptrace(0, 0, 0, 0)"])
        wait_for_text(out, "Signature ID: TRC-2", 5)
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        proc.communicate(timeout=15)


@pytest.fixture
def preload_file():
    """/etc/ld.so.preload is restored (or removed) whatever the test does."""
    path = Path("/etc/ld.so.preload")
    saved = path.read_bytes() if path.exists() else None
    mode = path.stat().st_mode if path.exists() else None
    yield path
    if saved is None:
        path.unlink(missing_ok=True)
    else:
        path.write_bytes(saved)
        os.chmod(path, mode & 0o7777)


def test_run_detects_ptrace_traceme_and_ld_preload_write_live(tmp_path: Path, preload_file: Path) -> None:
    missing = {"TRC-2", "TRC-7"} - _builtin_ids()
    if missing:
        pytest.skip(f"signatures {missing} are not installed (tracee-sig-builtin)")
    out = tmp_path / "detections.txt"
    proc = start(["run", "--rules", "TRC-2", "--rules", "TRC-7"], out, "probe(s) attached")
    try:
        time.sleep(0.2)
        subprocess.run([sys.executable, "-c", "import ctypes; ctypes.CDLL(None).ptrace(0, 0, 0, 0)"], check=True)
        assert wait_for_text(out, "Signature ID: TRC-2", 1.0) < 1.0
        with open(preload_file, "a"):  # a write-open, content unchanged
            pass
        assert wait_for_text(out, "Signature ID: TRC-7", 1.0) < 1.0
    finally:
        err = stop(proc)
    assert "summary:" in err and "0 lost" in err


def test_doctor_reports_ready() -> None:
    result = subprocess.run([TRACEE, "doctor"], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    for name in ("root", "kernel", "btf", "tracefs", "bcc", "headers"):
        assert any(line.startswith("[ok ] " + name) for line in result.stdout.splitlines()), result.stdout
