"""Helpers for tracee-sig-rego's tests: load rule files through the real loader, write rules, run the CLI."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import Sequence

from tracee.api import RuleLoadContext
from tracee.testing import LogCapture
from tracee_sig_rego.plugin import load

DATA = Path(__file__).resolve().parent / "data"
SEEDS = DATA / "seeds"
TRC = DATA / "trc"
ROOT = Path(__file__).resolve().parents[3]
BIN = Path(sys.executable).parent
#: The running test's messages (conftest sets it).
MESSAGES: LogCapture | None = None


class Loaded(list):
    """Signatures from `load_rules`, with what was reported since they were loaded."""

    def __init__(self, signatures: list) -> None:
        super().__init__(signatures)
        assert MESSAGES is not None
        self._lines, self._records = len(MESSAGES.lines), len(MESSAGES.records)

    @property
    def stderr(self) -> str:
        assert MESSAGES is not None
        return "".join(line + "\n" for line in MESSAGES.lines[self._lines:])

    @property
    def errors(self) -> int:
        """Errors reported, printed or only counted (what the run's summary counts)."""
        assert MESSAGES is not None
        return sum(1 for r in MESSAGES.records[self._records:] if r.levelno >= logging.ERROR)

    def by_id(self, sid: str):
        return next(s for s in self if s.get_metadata().id == sid)


def load_rules(*paths: Path, strict: bool = False) -> Loaded:
    """Load .rego files (or every .rego under directories) as `tracee run` would."""
    files: list[Path] = []
    for p in paths:
        files.extend(sorted(p.rglob("*.rego")) if p.is_dir() else [p])
    assert MESSAGES is not None
    start = len(MESSAGES.lines), len(MESSAGES.records)
    loaded = Loaded(load(files, RuleLoadContext(strict=strict)))
    loaded._lines, loaded._records = start
    return loaded


def write_rule(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


def rule_text(rid: str, package: str, events: Sequence[str], match: str, *, origin: str = "*",
              imports: str = "import data.tracee.helpers") -> str:
    """A Tracee-style rule: metadoc, selectors for `events`, and `match` (tracee_match rules)."""
    selectors = ", ".join(f'{{"source": "tracee", "name": "{e}", "origin": "{origin}"}}' for e in events)
    return (f"package tracee.{package}\n\n{imports}\n\n"
            f'__rego_metadoc__ := {{"id": "{rid}", "version": "1.0.0", "name": "{rid} rule", '
            f'"description": "test rule {rid}", "tags": ["test"], "properties": {{"Severity": 1}}}}\n\n'
            f"eventSelectors := [{selectors}]\n\n"
            f"tracee_selected_events[eventSelector] {{\n\teventSelector := eventSelectors[_]\n}}\n\n"
            f"{match}\n")


def run_tracee(*args: str, env: dict | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    """The installed `tracee` console script, as a user runs it."""
    exe = BIN / "tracee"
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "tracee.cli"]
    return subprocess.run([*cmd, *args], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})
