"""The repository's test command (scripts/test): its verdict comes from tox's result files, and
each run reinstalls the wheels that changed, so a rerun after an edit tests the edit."""

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tracee.testing import pip_install

ROOT = Path(__file__).resolve().parents[2]
LIB = ROOT / "scripts" / "lib"


def _result(success: bool, code: int = 0, duration: float = 1.5) -> dict:
    return {"result": {"success": success, "exit_code": code, "duration": duration, "skipped": False}}


def summary(tmp_path, envs: dict, *args: str) -> tuple[int, list[str]]:
    path = tmp_path / "tox.json"
    path.write_text(json.dumps({"reportversion": "1", "testenvs": envs}))
    done = subprocess.run([sys.executable, str(LIB / "tox_summary.py"), *args, str(path)],
                          capture_output=True, text=True)
    assert done.stdout == ""
    return done.returncode, done.stderr.splitlines()


def test_a_failed_env_makes_the_last_line_say_failed(tmp_path):
    code, lines = summary(tmp_path, {"py311-core": _result(True), "py311-rego": _result(False, 1, 40.2)},
                          "--expect", "py311-core,py311-rego")
    assert code == 1
    assert lines == ["test: py311-core  passed       1.5 s",
                     "test: py311-rego  FAILED      40.2 s (exit 1)",
                     "test: FAILED: 1 of 2 envs failed (py311-rego)"]


def test_an_env_tox_never_reached_counts_as_failed(tmp_path):
    code, lines = summary(tmp_path, {"py311-core": _result(True)}, "--expect", "py311-core,py311-e2e")
    assert code == 1
    assert lines[-2:] == ["test: py311-e2e   FAILED (no result: tox stopped before it)",
                          "test: FAILED: 1 of 2 envs failed (py311-e2e)"]


def test_tox_failing_with_every_env_passed_is_a_failure(tmp_path):
    code, lines = summary(tmp_path, {"py311-core": _result(True)}, "--exit-code", "1")
    assert code == 1 and lines[-1] == "test: FAILED: tox exited 1 although 1 envs passed"


def test_no_result_file_at_all_is_a_failure(tmp_path):
    done = subprocess.run([sys.executable, str(LIB / "tox_summary.py"), "--exit-code", "2",
                           str(tmp_path / "missing.json")], capture_output=True, text=True)
    assert done.returncode == 1 and done.stderr.splitlines()[-1] == "test: FAILED: no tox env ran (tox exited 2)"


def test_all_passed_says_so_and_names_what_did_not_run(tmp_path):
    code, lines = summary(tmp_path, {"py311-core": _result(True), "py312-core": _result(True)},
                          "--expect", "py311-core,py312-core", "--not-run", "py311-ebpf,py311-e2e",
                          "--why", "needs root")
    assert code == 0
    assert lines[-1] == "test: passed: 2 envs (not run (needs root): py311-ebpf, py311-e2e)"


@pytest.mark.slow
def test_only_changed_wheels_are_reinstalled_and_the_new_code_is_what_runs(tmp_path, fresh_venv):
    python = fresh_venv / "bin" / "python"
    source = tmp_path / "src"
    shutil.copytree(ROOT / "tests" / "fixtures" / "tracee-plugin-plain", source)
    module = source / "src" / "tracee_plugin_plain" / "__init__.py"
    wheels = tmp_path / "wheels"

    def build() -> None:  # as scripts/test does: reproducible, so only an edit changes the hash
        shutil.rmtree(wheels, ignore_errors=True)
        isolation = ["--no-build-isolation"] if importlib.util.find_spec("flit_core") else []
        subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", *isolation, "-w", str(wheels),
                        str(source)], check=True, capture_output=True, env={**os.environ, "SOURCE_DATE_EPOCH": "315532800"})

    def refresh() -> str:
        done = subprocess.run([str(python), str(LIB / "reinstall_changed_wheels.py"), str(wheels)],
                              capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        return done.stderr

    def installed_text() -> str:
        return subprocess.run([str(python), "-c", "import importlib.util, pathlib; print(pathlib.Path("
                               "importlib.util.find_spec('tracee_plugin_plain').origin).read_text())"],
                              capture_output=True, text=True, check=True).stdout

    build()
    pip_install(python, *wheels.glob("*.whl"), extra=["--no-deps"])
    assert refresh() == ""  # nothing changed: nothing reinstalled
    build()
    assert refresh() == ""  # rebuilt, same contents: still nothing
    module.write_text(module.read_text() + "EDITED = True\n")
    build()
    assert "EDITED" not in installed_text()
    assert refresh() == "reinstalling changed: tracee_plugin_plain\n"
    assert "EDITED = True" in installed_text()
    assert refresh() == ""
