"""Helpers for the core's tests: run the installed `tracee` commands, install fixture plugins."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tracee.testing import pip_install

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
DATA = Path(__file__).resolve().parent / "data"
BIN = Path(sys.executable).parent


def run_cli(command: str, *args: str, extra_path: str | None = None, env: dict | None = None,
            stdin: str | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    """Run an installed console script (`tracee`, `tracee-rules`) as a user would."""
    full_env = {**os.environ, **(env or {})}
    if extra_path:
        full_env["PYTHONPATH"] = extra_path + os.pathsep + full_env.get("PYTHONPATH", "")
    return subprocess.run([str(BIN / command), *args], capture_output=True, text=True, env=full_env,
                          input=stdin, timeout=timeout)


@pytest.fixture(scope="session")
def fixture_plugins(tmp_path_factory) -> str:
    """The broken and misspelled fixture plugins, really installed by pip into a directory that
    tests put on PYTHONPATH (so they affect only the runs that ask for them)."""
    target = tmp_path_factory.mktemp("plugins")
    pip_install(sys.executable, FIXTURES / "tracee-plugin-broken", FIXTURES / "tracee-plugin-typo",
                extra=["--no-deps", "--target", str(target)])
    return str(target)


@pytest.fixture(name="cli")
def _cli():
    """Run an installed console script: cli("tracee", "list")."""
    return run_cli


@pytest.fixture(name="data")
def _data() -> Path:
    return DATA
