"""A third-party rule pack installed with pip into a fresh virtualenv is found with no configuration."""

import re
import subprocess
from pathlib import Path

import pytest

from tracee.testing import pip_install

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_pip_installed_pack_is_listed_and_runs(fresh_venv, data):
    env_dir = fresh_venv
    py = env_dir / "bin" / "python"
    pip_install(py, ROOT, ROOT / "plugins" / "tracee-output-stdout")
    tracee = env_dir / "bin" / "tracee"
    before = subprocess.run([str(tracee), "list"], capture_output=True, text=True)
    assert before.returncode == 0 and "EXAMPLE-1" not in before.stdout

    pip_install(py, ROOT / "tests" / "fixtures" / "tracee-sig-example")
    after = subprocess.run([str(tracee), "list"], capture_output=True, text=True)
    assert after.returncode == 0, after.stderr
    assert re.search(r"^EXAMPLE-1 +Shadow file opened +1\.0\.0 +A process opened /etc/shadow$", after.stdout, re.M)
    found = subprocess.run([str(tracee), "run", "--input", f"file:{data / 'shadow.jsonl'}", "--output", "json",
                            "--rules", "EXAMPLE-1"], capture_output=True, text=True)
    assert found.returncode == 0 and '"ID":"EXAMPLE-1"' in found.stdout

    subprocess.run([str(py), "-m", "pip", "uninstall", "-q", "-y", "tracee-sig-example"], check=True)
    gone = subprocess.run([str(tracee), "list"], capture_output=True, text=True)
    assert gone.returncode == 0 and "EXAMPLE-1" not in gone.stdout
