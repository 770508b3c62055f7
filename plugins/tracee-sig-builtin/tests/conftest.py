"""Shared test helpers: the real `tracee` CLI of the installed environment, run as a subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable

import pytest

DATA = Path(__file__).parent / "data"


def tracee(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    """Run `tracee ARGS` with this interpreter (so: the environment the pack is installed in)."""
    return subprocess.run([sys.executable, "-m", "tracee.cli", *args], input=stdin, capture_output=True,
                          text=True, timeout=120)


def run_stream(name: str, *extra: str) -> list[dict[str, Any]]:
    """`tracee run --input file:tests/data/NAME --output json` with every installed signature;
    returns the rawjson findings after checking the run was clean and each finding's Context is,
    field for field, one of the stream's events."""
    path = DATA / name
    proc = tracee("run", "--input", f"file:{path}", "--output", "json", *extra)
    assert proc.returncode == 0, proc.stderr
    assert " 0 dropped," in proc.stderr and " 0 error(s)" in proc.stderr, proc.stderr
    events = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    findings = [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]
    for finding in findings:
        assert finding["Context"] in events, "the finding's Context is not the triggering event as read"
    return findings


@pytest.fixture(name="tracee_cli")
def _tracee_cli() -> Callable[..., subprocess.CompletedProcess]:
    return tracee


@pytest.fixture(name="run_stream")
def _run_stream() -> Callable[..., list[dict[str, Any]]]:
    return run_stream
