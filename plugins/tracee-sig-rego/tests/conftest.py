"""Fixtures for tracee-sig-rego's tests (helpers live in rego_kit.py)."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(name="rules_dir")
def _rules_dir(tmp_path: Path) -> Path:
    d = tmp_path / "rules"
    d.mkdir()
    return d


@pytest.fixture(autouse=True)
def _messages(tracee_logs):
    """Every test's `tracee.*` messages, for rego_kit's `Loaded.stderr` / `.errors`."""
    import rego_kit

    rego_kit.MESSAGES = tracee_logs
    yield
    rego_kit.MESSAGES = None
