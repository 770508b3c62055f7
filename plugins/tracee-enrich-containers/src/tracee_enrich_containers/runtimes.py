"""What the cache needs from a container runtime, which runtime sockets exist, and `--cri` parsing."""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from typing import Callable, Iterable, Protocol

from .metadata import ContainerInfo

__all__ = ["DEFAULT_SOCKETS", "Runtime", "RuntimeDown", "RuntimeFailed", "SocketSpec", "detect", "parse_cri"]


class RuntimeDown(Exception):
    """The runtime's socket did not answer in time, or refused the connection."""


class RuntimeFailed(Exception):
    """The runtime answered with an error about one request (the socket itself works)."""


class Runtime(Protocol):
    kind: str     # "docker" or "containerd"
    socket: str

    def lookup(self, container_id: str) -> ContainerInfo | None:
        """The container's metadata, or None when this runtime has no such container.
        Raises RuntimeDown or RuntimeFailed."""

    def list(self) -> list[ContainerInfo]:
        """The containers that exist now (run at start: Tracee's `existing_container`)."""

    def watch(self, on_change: Callable[..., None]) -> None:
        """Follow the runtime's event stream, calling on_change(op, id) with op "learn" (a new
        container), "refresh" (a changed one) or "remove", or on_change("store", id, info) when
        the event itself describes the container, until close(); raises RuntimeDown when the
        stream breaks."""

    def close(self) -> None: ...


#: Where runtimes put their API sockets, in the order they are tried. Docker's daemon comes before
#: containerd: for Docker's containers (containerd namespace `moby`) only Docker knows the name
#: and image. Docker's own managed containerd (when dockerd runs without a system containerd)
#: holds only Docker's containers, which Docker describes better, so it is not listed.
DEFAULT_SOCKETS: tuple[tuple[str, str], ...] = (
    ("docker", "/var/run/docker.sock"),
    ("docker", "/run/docker.sock"),
    ("containerd", "/run/containerd/containerd.sock"),
    ("containerd", "/var/run/containerd/containerd.sock"),
    ("containerd", "/run/k3s/containerd/containerd.sock"),
    ("containerd", "/var/snap/microk8s/common/run/containerd.sock"),
)
KINDS = ("docker", "containerd")


@dataclass(frozen=True)
class SocketSpec:
    kind: str
    path: str


def parse_cri(values: Iterable[str]) -> list[SocketSpec] | None:
    """`--cri docker:/var/run/docker.sock` (repeatable) → specs; `--cri none` → []; no value → None
    (detect). Raises ValueError with the offending value."""
    specs: list[SocketSpec] = []
    values = list(values)
    if not values:
        return None
    for value in values:
        if value.strip().lower() == "none":
            return []
        kind, sep, path = value.partition(":")
        kind = kind.strip().lower()
        if not sep or kind not in KINDS or not path.startswith("/"):
            raise ValueError(f"--cri {value}: expected RUNTIME:/path/to/socket with RUNTIME one of "
                             f"{', '.join(KINDS)} (or --cri none)")
        specs.append(SocketSpec(kind, path))
    return specs


def _is_socket(path: str) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino) if stat.S_ISSOCK(st.st_mode) else None


def detect(candidates: Iterable[tuple[str, str]] = DEFAULT_SOCKETS) -> list[SocketSpec]:
    """The candidate sockets that exist, each socket once (/run and /var/run are often one)."""
    seen: set[tuple[int, int]] = set()
    found = []
    for kind, path in candidates:
        key = _is_socket(path)
        if key is None or key in seen:
            continue
        seen.add(key)
        found.append(SocketSpec(kind, path))
    return found


def connect(spec: SocketSpec, timeout: float) -> Runtime:
    """The client for a socket; imports its library only now (listing plugins never does)."""
    if spec.kind == "docker":
        from .docker_api import DockerRuntime
        return DockerRuntime(spec.path, timeout)
    from .containerd_api import ContainerdRuntime
    return ContainerdRuntime(spec.path, timeout)
