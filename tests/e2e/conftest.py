"""Fixtures of the end-to-end suite (real kernel, real eBPF input, real trigger programs).

Runs as root only (it loads BPF programs, makes namespaces and cgroups); elsewhere every test is
skipped with the reason. At the end, a section of the terminal report lists each trigger and the
finding it produced, so a CI log shows what was detected without -s.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator

import pytest

from e2e_harness import Container, compile_triggers

_REPORT: list[tuple[str, str, list[str]]] = []  # (test id, trigger, lines)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.kernel)


@pytest.fixture(scope="session", autouse=True)
def _kernel_ready() -> None:
    if os.geteuid() != 0:
        pytest.skip("the e2e suite needs root (BPF, namespaces, cgroups); CI runs it as root")
    try:
        from tracee_input_ebpf.environment import not_usable_reason
    except ImportError:
        pytest.fail("tracee-input-ebpf is not installed (the e2e env installs it)")
    why = not_usable_reason()
    if why:
        pytest.fail(f"the eBPF input cannot run here: {why}")


@pytest.fixture(scope="session")
def programs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Every trigger, compiled with gcc for this machine."""
    return compile_triggers(tmp_path_factory.mktemp("e2e-bin"))


@pytest.fixture
def container(programs: dict[str, Path], tmp_path: Path) -> Iterator[Container]:
    """Each .run() is a fresh container with a new id; their cgroups go when the test ends."""
    launcher = Container(programs["container_launcher"], tmp_path / "ctr")
    try:
        yield launcher
    finally:
        launcher.cleanup()


@pytest.fixture
def report(request: pytest.FixtureRequest) -> Iterator[callable]:
    """report(trigger, line): print it now (visible with -s/-rA) and in the end-of-run section."""
    lines: list[str] = []
    holder = {"trigger": ""}

    def add(trigger: str, line: str) -> None:
        holder["trigger"] = trigger
        lines.append(line)
        print(f"[{trigger}] {line}")

    yield add
    if lines:
        _REPORT.append((request.node.nodeid.split("::")[-1], holder["trigger"], lines))


def pytest_terminal_summary(terminalreporter) -> None:  # type: ignore[no-untyped-def]
    if not _REPORT:
        return
    terminalreporter.section("e2e: triggers and the findings they produced")
    for test, trigger, lines in _REPORT:
        terminalreporter.write_line(f"{test}: trigger {trigger}")
        for line in lines:
            terminalreporter.write_line(f"    {line}")
