"""A rule pack installed with pip (a distribution that ships .rego files and registers their
directory through `tracee_register_rule_paths`) is listed and fires with no --rules-dir."""

from __future__ import annotations

import re
import json
import subprocess
import venv
from pathlib import Path

import pytest
from tracee.testing import pip_install
from tracee.testing import make_event

from rego_kit import ROOT, SEEDS

PACK_PLUGIN = '''"""Throwaway Rego rule pack for tracee-sig-rego's tests."""

from pathlib import Path

from tracee import hookimpl


@hookimpl
def tracee_register_rule_paths(register):
    register(str(Path(__file__).parent / "rules"))
'''

PACK_PYPROJECT = '''[build-system]
requires = ["setuptools>=68"]
build-backend = "setuptools.build_meta"

[project]
name = "tracee-rules-throwaway"
version = "0.0.1"
dependencies = ["tracee", "tracee-sig-rego"]

[project.entry-points.tracee]
throwaway-rules = "throwaway_rules"

[tool.setuptools.packages.find]
where = ["src"]

[tool.setuptools.package-data]
throwaway_rules = ["rules/*.rego"]
'''


def _make_pack(where: Path) -> Path:
    pack = where / "tracee-rules-throwaway"
    package = pack / "src" / "throwaway_rules"
    (package / "rules").mkdir(parents=True)
    (pack / "pyproject.toml").write_text(PACK_PYPROJECT)
    (package / "__init__.py").write_text(PACK_PLUGIN)
    for name in ("whoami.rego", "docker_socket.rego"):
        (package / "rules" / name).write_text((SEEDS / name).read_text(encoding="utf-8"), encoding="utf-8")
    return pack


@pytest.mark.slow
def test_pip_installed_rule_pack_is_listed_and_fires(tmp_path):
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    py = env_dir / "bin" / "python"
    tracee = str(env_dir / "bin" / "tracee")
    pip_install(py, ROOT, ROOT / "plugins" / "tracee-output-stdout", ROOT / "plugins" / "tracee-sig-rego",
                ROOT / "tests" / "fixtures" / "tracee-sig-example", _make_pack(tmp_path))

    listed = subprocess.run([tracee, "list"], capture_output=True, text=True)
    assert listed.returncode == 0, listed.stderr
    assert listed.stderr == ""
    # Rego rules from the pack beside a Python signature from another installed plugin.
    loaded = listed.stdout.splitlines()[0]
    assert loaded.startswith("Loaded ") and {"EXAMPLE-1", "RMM-1", "TCR-1"} <= set(loaded[:-1].split("[")[1].split())
    assert any(re.match(r"TCR-1 +cmd whoami ", line) for line in listed.stdout.splitlines())

    plugins = json.loads(subprocess.run([tracee, "plugins", "--json"], capture_output=True, text=True).stdout)
    (pack,) = [p for p in plugins if p["distribution"] == "tracee-rules-throwaway"]
    assert pack["provides"]["rule_paths"][0].endswith("throwaway_rules/rules")

    events = tmp_path / "events.jsonl"
    events.write_text("\n".join(e.to_json() for e in [
        make_event("execve", pathname="/usr/bin/whoami", argv=["whoami"]),
        make_event("security_socket_connect", container=True, sockfd=5,
                   remote_addr="{'sa_family': 'AF_UNIX','sun_path': '/var/run/docker.sock'}"),
    ]) + "\n")
    done = subprocess.run([tracee, "run", "--input", f"file:{events}", "--output", "json"],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert [json.loads(line)["SigMetadata"]["ID"] for line in done.stdout.splitlines()] == ["TCR-1", "RMM-1"]
