"""Helpers for the core's tests: run the installed `tracee` commands, install fixture plugins."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from tracee.testing import pip_install

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
GO_SOURCE = Path(__file__).resolve().parents[1] / "interop" / "go"
DATA = Path(__file__).resolve().parent / "data"
BIN = Path(sys.executable).parent
# The plugins the core's tests are written against (the core's own entry points always load).
# TRACEE_LOAD_PLUGINS keeps every other installed distribution out, so these tests pass in an env
# that has them all (tox's py311-core installs every plugin of the repository to prove it).
CORE_PLUGINS = ("tracee-output-stdout", "tracee-sig-example")
# Fixture distributions under tests/fixtures that `fixture_plugins` installs.
FIXTURE_DISTRIBUTIONS = ("tracee-plugin-broken", "tracee-plugin-typo", "tracee-plugin-tryfirst",
                         "tracee-plugin-trylast", "tracee-plugin-plain", "tracee-plugin-wrapper")


def load_plugins(*names: str) -> dict[str, str]:
    """The environment that loads the core's test plugins plus `names`."""
    return {"TRACEE_LOAD_PLUGINS": ",".join((*CORE_PLUGINS, *names))}


@pytest.fixture(autouse=True)
def _only_the_plugins_these_tests_know(monkeypatch):
    monkeypatch.setenv("TRACEE_LOAD_PLUGINS", load_plugins()["TRACEE_LOAD_PLUGINS"])


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
    """The fixture plugins (broken import, misspelled hook, tryfirst/trylast/plain, wrapper), really
    installed by pip into a directory that tests put on PYTHONPATH (so they affect only the runs
    that ask for them, and only with their names in TRACEE_LOAD_PLUGINS)."""
    target = tmp_path_factory.mktemp("plugins")
    # Their backend, flit_core, when this env has it (a test dependency), builds all six in about
    # two seconds; without it pip fetches it into an isolated build env per fixture (~5 s each).
    isolation = ["--no-build-isolation"] if importlib.util.find_spec("flit_core") else []
    pip_install(sys.executable, *(FIXTURES / name for name in FIXTURE_DISTRIBUTIONS),
                extra=["--no-deps", *isolation, "--target", str(target)])
    return str(target)


@pytest.fixture(scope="session")
def fresh_venv(tmp_path_factory) -> Path:
    """A new virtualenv with pip and nothing else (shared: creating one costs seconds); tests
    install into it what they need. Its interpreter: `fresh_venv / "bin" / "python"`."""
    env_dir = tmp_path_factory.mktemp("fresh") / "venv"
    venv.create(env_dir, with_pip=True)
    return env_dir


@pytest.fixture(name="cli")
def _cli():
    """Run an installed console script: cli("tracee", "list")."""
    return run_cli


@pytest.fixture(name="data")
def _data() -> Path:
    return DATA


@pytest.fixture(scope="session")
def gointerop(tmp_path_factory) -> str:
    """The Go program of tests/interop/go (gob both ways, text/template), built with `go build`."""
    go = shutil.which("go")
    if go is None:
        if os.geteuid() != 0:
            pytest.skip("needs Go (apt-get install golang-go; CI installs it): not root, so not installed here")
        pytest.fail("go is not installed: scripts/test installs golang-go, or run apt-get install golang-go")
    out = tmp_path_factory.mktemp("go") / "gointerop"
    env = {**os.environ, "GOFLAGS": "-mod=mod", "GOPROXY": "off", "CGO_ENABLED": "0"}
    if "HOME" not in env:
        env["GOCACHE"] = str(out.parent / "cache")
    r = subprocess.run([go, "build", "-o", str(out), "."], cwd=GO_SOURCE, env=env,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    return str(out)
