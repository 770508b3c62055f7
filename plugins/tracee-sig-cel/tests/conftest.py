"""Test options and fixtures: `--cel-backend` picks the engine every test in this folder runs on."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any, Callable

import pytest

from tracee.api import RuleLoadContext
from tracee.testing import LogCapture

DATA = Path(__file__).parent / "data"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--cel-backend", default="auto", choices=("auto", "cel-python", "cel-expr-python"),
                     help="CEL engine the tracee-sig-cel tests run on (default: auto)")


@pytest.fixture(scope="session")
def cel_backend(request: pytest.FixtureRequest) -> str:
    """The backend named on the command line (tox runs the suite once per backend)."""
    return request.config.getoption("--cel-backend")


class Loaded:
    """The result of loading rule text: signatures, and the messages of the test so far."""

    def __init__(self, signatures: list[Any], logs: LogCapture, lines: int, records: int) -> None:
        self.signatures = signatures
        self.logs = logs
        self._lines, self._records = lines, records  # where this load's messages begin

    @property
    def output(self) -> str:
        return "".join(line + "\n" for line in self.logs.lines[self._lines:])

    @property
    def errors(self) -> int:
        """Errors reported since the load (printed or only counted), as the run's summary counts them."""
        return sum(1 for r in self.logs.records[self._records:] if r.levelno >= logging.ERROR)

    @property
    def ids(self) -> list[str]:
        return [s.get_metadata().id for s in self.signatures]


RULES_HEADER = "kind: SignaturesConfig\napiVersion: tracee.aquasecurity.github.io/v1alpha1\n"


@pytest.fixture
def load_rules(tmp_path: Path, cel_backend: str, tracee_logs: LogCapture) -> Callable[..., Loaded]:
    """Write YAML text (dedented) to a file and load it with the chosen backend."""
    from tracee_sig_cel.loader import load_rules as load

    def _load(text: str, *, name: str = "rules.yaml", strict: bool = False) -> Loaded:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text))
        lines, records = len(tracee_logs.lines), len(tracee_logs.records)
        sigs = load([path], RuleLoadContext(strict=strict, options={"cel_backend": cel_backend}))
        return Loaded(sigs, tracee_logs, lines, records)

    return _load


@pytest.fixture
def rule(load_rules: Callable[..., Loaded]) -> Callable[..., Loaded]:
    """Load one signature from an expression: rule("input.eventName == 'x'", events=["ptrace"])."""

    def _rule(expression: str, *, events: tuple[str, ...] = ("ptrace",), sid: str = "T-1") -> Loaded:
        lines = [RULES_HEADER.rstrip("\n"), "signatures:", f"  - metadata: {{id: {sid}, name: test rule}}",
                 "    eventSelectors:", *(f"      - {{source: tracee, name: {e}}}" for e in events),
                 "    expression: |-", *(f"      {line}" for line in expression.splitlines())]
        body = "\n".join(lines) + "\n"
        return load_rules(body)

    return _rule


def _tracee(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None,
            stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, **(env or {})}
    full_env.pop("TRACEE_STRICT_PLUGINS", None)
    return subprocess.run([sys.executable, "-m", "tracee.cli", *args], capture_output=True, text=True,
                          env=full_env, cwd=cwd, input=stdin, timeout=120)


@pytest.fixture
def tracee(cel_backend: str) -> Callable[..., subprocess.CompletedProcess[str]]:
    """Run the installed `tracee` command; the backend goes in TRACEE_CEL_BACKEND (every command),
    and `tracee run` also gets `--cel-backend`."""

    def _run(*args: str, env: dict[str, str] | None = None, **kw: Any) -> subprocess.CompletedProcess[str]:
        if args and args[0] == "run":
            args = (*args, "--cel-backend", cel_backend)
        return _tracee(*args, env={"TRACEE_CEL_BACKEND": cel_backend, **(env or {})}, **kw)

    return _run
