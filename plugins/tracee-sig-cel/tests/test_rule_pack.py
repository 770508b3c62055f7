"""A rule pack: a separately installed distribution whose entry point registers a directory of rules."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

PACK = Path(__file__).parent / "fixtures" / "tracee-cel-pack-example"


@pytest.fixture(scope="module")
def pack_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example pack, really installed by pip into a directory of its own (not the test env)."""
    target = tmp_path_factory.mktemp("site")
    source = tmp_path_factory.mktemp("src") / PACK.name
    shutil.copytree(PACK, source, ignore=shutil.ignore_patterns("*.egg-info", "build"))  # keep the tree clean
    command = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(target), str(source)]
    if _setuptools_builds_wheels():
        command.insert(4, "--no-build-isolation")  # offline and seconds faster than fetching setuptools
    env = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr
    assert list(target.glob("tracee_cel_pack_example-2.0.0.dist-info"))
    return target


def _setuptools_builds_wheels() -> bool:
    try:
        import setuptools
    except ImportError:
        return False
    major, minor = (int(p) for p in setuptools.__version__.split(".")[:2])
    return (major, minor) >= (70, 1)  # bdist_wheel built in; older ones need the `wheel` package


def with_pack(site: Path) -> dict[str, str]:
    return {"PYTHONPATH": os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH")]))}


def test_pack_entry_point_is_discovered(tracee, pack_site):
    result = tracee("plugins", "--json", env=with_pack(pack_site))
    assert result.returncode == 0, result.stderr
    (pack,) = [p for p in json.loads(result.stdout) if p["distribution"] == "tracee-cel-pack-example"]
    assert pack["version"] == "2.0.0" and pack["hooks"] == ["tracee_register_rule_paths"]
    assert pack["provides"]["rule_paths"][0].endswith("tracee_cel_pack_example/rules")


def test_pack_rules_load_without_rules_dir_and_fire(tracee, pack_site, tmp_path):
    listed = tracee("list", env=with_pack(pack_site))
    assert listed.returncode == 0, listed.stderr
    assert "CELPACK-1" in listed.stdout
    started = {"containerStarted": True}
    base = {"timestamp": 1, "processId": 7, "hostProcessId": 7007, "processName": "curl", "hostName": "c1",
            "containerId": "ab" * 32, "eventId": "1029", "eventName": "security_socket_connect", "argsNum": 2,
            "returnValue": 0, "contextFlags": started}
    docker = {"sa_family": "AF_UNIX", "sun_path": "/var/run/docker.sock"}
    events = [
        {**base, "args": [{"name": "sockfd", "type": "int", "value": 3},
                          {"name": "remote_addr", "type": "struct sockaddr*", "value": docker}]},
        {**base, "timestamp": 2, "contextFlags": {"containerStarted": False}, "containerId": "",  # host
         "args": [{"name": "sockfd", "type": "int", "value": 3},
                  {"name": "remote_addr", "type": "struct sockaddr*", "value": docker}]},
        {**base, "timestamp": 3, "args": [{"name": "sockfd", "type": "int", "value": 3},
                                          {"name": "remote_addr", "type": "struct sockaddr*",
                                           "value": {"sa_family": "AF_UNIX", "sun_path": "/tmp/other.sock"}}]},
    ]
    path = tmp_path / "events.jsonl"
    path.write_text("".join(json.dumps(e) + "\n" for e in events))
    result = tracee("run", "--input", f"file:{path}", "--output", "json", env=with_pack(pack_site))
    assert result.returncode == 0, result.stderr
    hits = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(h["SigMetadata"]["ID"], h["Context"]["timestamp"]) for h in hits] == [("CELPACK-1", 1)]
