"""The detector as a container image, run the way the README documents it: built from this tree
on a Debian base made here (no registry), it catches ptrace(PTRACE_TRACEME) in a sibling
container and prints the finding with the sibling's id, name and image."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import time
from pathlib import Path

import pytest

from e2e_harness import BUSYBOX_IMAGE, DockerContainers, docker_ready, sig_id
from test_docker_containers import static_programs  # noqa: F401 - a fixture

ROOT = Path(__file__).parents[2]
IMAGE = "tracee:local"
NAME = "tracee-e2e-detector"
BUILD_TIMEOUT = 1200   # a fresh machine: debootstrap, then apt and pip in the build
READY_TIMEOUT = 240


def readme_command() -> list[str]:
    """The `docker run` block of the README marked as the one CI runs, as an argument list."""
    text = (ROOT / "README.md").read_text()
    m = re.search(r"<!-- detector-run:[^>]*-->\s*```sh\n(.*?)```", text, re.S)
    assert m, "README.md has no <!-- detector-run --> block"
    return shlex.split(m.group(1).replace("\\\n", " "))


def test_readme_command_shape():
    argv = readme_command()
    assert argv[:2] == ["docker", "run"] and argv[argv.index(IMAGE) + 1] == "run"
    for flag in ("--pid=host", "--cgroupns=host", "/sys/kernel/btf:/sys/kernel/btf:ro",
                 "/var/cache/tracee:/var/cache/tracee", "/var/run/docker.sock:/var/run/docker.sock"):
        assert flag in argv, flag


@pytest.fixture(scope="module")
def image() -> str:
    why = docker_ready()
    if why:
        (pytest.fail if os.environ.get("CI") else pytest.skip)(why)
    started = time.monotonic()
    result = subprocess.run([str(ROOT / "scripts" / "build-image"), "--local-base"], capture_output=True,
                            text=True, timeout=BUILD_TIMEOUT, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-4000:]
    print(f"scripts/build-image --local-base: {time.monotonic() - started:.0f}s")
    return IMAGE


def logs(name: str) -> tuple[str, str]:
    result = subprocess.run(["docker", "logs", name], capture_output=True, text=True)
    return result.stdout, result.stderr


def test_containerised_detector_names_the_sibling(image, static_programs, report, tmp_path):
    argv = readme_command()
    # As documented, but detached and under a name of its own (so it cannot clash with a user's).
    argv = [a for a in argv if a not in ("-it", "--rm")]
    argv[argv.index("--name") + 1] = NAME
    argv.insert(2, "-d")
    subprocess.run(["docker", "rm", "-f", NAME], capture_output=True)
    subprocess.run(argv, check=True, capture_output=True, text=True)
    trigger = f"anti_debugging in sibling container web-1, watched by the detector image ({image})"
    try:
        deadline = time.monotonic() + READY_TIMEOUT
        while "Loaded " not in logs(NAME)[1]:
            state = subprocess.run(["docker", "inspect", "-f", "{{.State.Running}}", NAME],
                                   capture_output=True, text=True).stdout.strip()
            assert state == "true", f"the detector exited:\n{logs(NAME)[1]}"
            assert time.monotonic() < deadline, f"not ready after {READY_TIMEOUT}s:\n{logs(NAME)[1]}"
            time.sleep(0.5)
        report(trigger, f"{' '.join(argv[:3])} ... {image} run --output json: ready")
        sibling = DockerContainers(static_programs["anti_debugging"].parent, tmp_path, name="web-1")
        done = sibling.run(static_programs["anti_debugging"], "attack").check()
        found: list[dict] = []
        deadline = time.monotonic() + 10
        while not found and time.monotonic() < deadline:
            lines = [json.loads(line) for line in logs(NAME)[0].splitlines() if line.startswith("{")]
            found = [f for f in lines if sig_id(f) == "TRC-2" and done.owns(f)]
            time.sleep(0.2)
    finally:
        subprocess.run(["docker", "stop", "-t", "20", NAME], capture_output=True)
        out, err = logs(NAME)
        subprocess.run(["docker", "rm", "-f", NAME], capture_output=True)
    assert found, f"no TRC-2 finding for container {done.container_id[:12]}:\n{err}"
    ctx = found[0]["Context"]
    assert (ctx["containerId"], ctx["containerName"], ctx["containerImage"]) == \
        (done.container_id, "web-1", BUSYBOX_IMAGE)
    summary = next((line for line in err.splitlines() if "summary:" in line), "")
    report(trigger, f"finding: TRC-2 in container {ctx['containerId'][:12]} containerName=web-1 "
                    f"containerImage={BUSYBOX_IMAGE}")
    report(trigger, summary)
    others = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    others = [f"{sig_id(f)} {f['Context'].get('processName')}" for f in others if not done.owns(f)]
    if others:  # the detector watches the whole machine (--pid=host): other processes' findings
        report(trigger, f"other findings on the machine meanwhile: {', '.join(sorted(set(others)))}")
    assert " 0 error(s)" in summary, err
