"""Acceptance, as a new user does it: pip-install the core and the pack into a fresh virtualenv,
see the rules listed and firing, uninstall the pack, and find everything else as it was."""

from __future__ import annotations

import json
import re
import subprocess
import venv
from pathlib import Path

import pytest
from tracee.testing import pip_install

from conftest import DATA, RULES, run_stream, tracee

ROOT = Path(__file__).resolve().parents[3]
PLUGINS = ROOT / "plugins"


def pip(python: Path, *args: str) -> None:
    proc = subprocess.run([str(python), "-m", "pip", *args, "-q", "--disable-pip-version-check"],
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def listed(python: Path) -> tuple[str, list[dict]]:
    """`tracee list` (stdout) and `tracee plugins --json` of the virtualenv."""
    table = tracee("list", python=str(python))
    plugins = tracee("plugins", "--json", python=str(python))
    assert table.returncode == 0 and plugins.returncode == 0, table.stderr + plugins.stderr
    return table.stdout, json.loads(plugins.stdout)


@pytest.mark.slow
def test_install_list_run_uninstall(tmp_path):
    env = tmp_path / "venv"
    venv.create(env, with_pip=True)
    python = env / "bin" / "python"
    # The core, an output, both rule languages, and the built-in pack (so that "nothing else
    # changes" is checked against a non-empty list).
    pip_install(python, ROOT, PLUGINS / "tracee-output-stdout", PLUGINS / "tracee-sig-rego",
                PLUGINS / "tracee-sig-cel", PLUGINS / "tracee-sig-builtin")
    before_table, before_plugins = listed(python)
    assert "K8S-" not in before_table and "TRC-2 " in before_table

    pip_install(python, PLUGINS / "tracee-sig-k8s")
    table, plugins = listed(python)
    assert sorted(re.findall(r"^(K8S-\d+)\s", table, re.MULTILINE)) == sorted(RULES)
    assert [p["distribution"] for p in plugins if p not in before_plugins] == ["tracee-sig-k8s"]
    for sid in sorted(RULES):
        fired = run_stream(DATA / f"{sid.lower()}.jsonl", python=str(python))
        assert fired and {f["SigMetadata"]["ID"] for f in fired} == {sid}, sid
        assert run_stream(DATA / f"{sid.lower()}-nearmiss.jsonl", python=str(python)) == [], sid

    pip(python, "uninstall", "-y", "tracee-sig-k8s")
    after_table, after_plugins = listed(python)
    assert after_table == before_table
    assert after_plugins == before_plugins
    site = next((env / "lib").glob("python3*/site-packages"))
    assert not (site / "tracee_sig_k8s").exists()
