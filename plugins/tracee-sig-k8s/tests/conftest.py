"""Shared test helpers: the real `tracee` CLI of the environment the pack is installed in."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

DATA = Path(__file__).parent / "data"
#: Every rule of the pack, and the language it is written in.
RULES = {"K8S-1": "cel", "K8S-2": "rego", "K8S-3": "rego", "K8S-4": "cel", "K8S-5": "python", "K8S-6": "rego"}


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "slow: takes more than a few seconds")
    config.addinivalue_line("markers", "kernel: needs root and a BPF-capable kernel (runs in CI)")


def tracee(*args: str, python: str = sys.executable, stdin: str | None = None,
           timeout: float = 120) -> subprocess.CompletedProcess:
    """Run `tracee ARGS` with `python` (by default this interpreter: the environment under test)."""
    return subprocess.run([python, "-m", "tracee.cli", *args], input=stdin, capture_output=True, text=True,
                          timeout=timeout)


def read_events(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def run_stream(path: Path, *extra: str, python: str = sys.executable) -> list[dict[str, Any]]:
    """`tracee run --input file:PATH --output json` with every installed signature. Checks the run
    was clean (no dropped line, no error) and that each finding's Context is one of the stream's
    events as read; returns the findings of this pack (other installed packs may fire too)."""
    proc = tracee("run", "--input", f"file:{path}", "--output", "json", *extra, python=python)
    assert proc.returncode == 0, proc.stderr
    assert " 0 dropped," in proc.stderr and " 0 error(s)" in proc.stderr, proc.stderr
    events = read_events(path)
    findings = [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]
    for finding in findings:
        assert finding["Context"] in events, "a finding's Context is not the triggering event as read"
    return [f for f in findings if f["SigMetadata"]["ID"].startswith("K8S-")]
