"""Fixtures: the real Docker and containerd of the machine (scripts/docker-up starts them), and
real sockets that refuse or never answer. Without a runtime the tests that need it are skipped,
except in CI (CI=true), where a missing runtime fails them."""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import threading
from pathlib import Path
from typing import Iterator

import pytest

import logging

DOCKER_SOCK = "/var/run/docker.sock"
CONTAINERD_SOCK = "/run/containerd/containerd.sock"
IMAGE = "local/busybox:1"


def _missing(what: str) -> None:
    message = f"{what} (start it with sudo ./scripts/docker-up)"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def docker_sock() -> str:
    if os.geteuid() != 0 or shutil.which("docker") is None:
        _missing("needs root and Docker")
    if subprocess.run(["docker", "image", "inspect", IMAGE], capture_output=True).returncode:
        _missing(f"dockerd is not running or has no {IMAGE}")
    return DOCKER_SOCK


@pytest.fixture(scope="session")
def containerd_sock() -> str:
    if os.geteuid() != 0 or not Path(CONTAINERD_SOCK).exists():
        _missing(f"needs root and containerd at {CONTAINERD_SOCK}")
    return CONTAINERD_SOCK


class Docker:
    """`docker` commands; every container made is removed at the end of the test."""

    def __init__(self) -> None:
        self.made: list[str] = []

    def __call__(self, *args: str) -> str:
        result = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, f"docker {' '.join(args)}: {result.stderr}"
        return result.stdout.strip()

    def start(self, *args: str, command: tuple[str, ...] = ("sleep", "300")) -> str:
        """`docker run -d ARGS local/busybox:1 sleep 300`: the new container's id."""
        cid = self("run", "-d", "--network", "none", *args, IMAGE, *command)
        self.made.append(cid)
        return cid

    def cleanup(self) -> None:
        if self.made:
            subprocess.run(["docker", "rm", "-f", *self.made], capture_output=True)


@pytest.fixture
def docker(docker_sock: str) -> Iterator[Docker]:
    d = Docker()
    try:
        yield d
    finally:
        d.cleanup()


@pytest.fixture
def log() -> logging.Logger:
    return logging.getLogger("tracee.enricher.containers")


def unique(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(4)}"


@pytest.fixture
def dead_socket(tmp_path: Path) -> Iterator[str]:
    """A socket file nobody listens on: connections are refused at once."""
    path = tmp_path / "dead.sock"
    s = socket.socket(socket.AF_UNIX)
    s.bind(str(path))  # bound, never listening
    try:
        yield str(path)
    finally:
        s.close()


class SilentServer:
    """A socket that accepts connections and never answers (a hung runtime)."""

    def __init__(self, path: Path) -> None:
        self.path = str(path)
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.bind(self.path)
        self.sock.listen(16)
        self.accepted = threading.Event()
        self.conns: list[socket.socket] = []
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(conn)  # read nothing, write nothing: the client waits
            self.accepted.set()

    def close(self) -> None:
        self.sock.close()
        for conn in self.conns:
            conn.close()


@pytest.fixture
def silent_socket(tmp_path: Path) -> Iterator[SilentServer]:
    server = SilentServer(tmp_path / "silent.sock")
    try:
        yield server
    finally:
        server.close()
