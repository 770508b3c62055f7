"""Container identity from cgroups: cgroup id -> path -> 64-hex container id, and `containerStarted`.

The kernel side reports a cgroup id (the kernfs inode of the task's cgroup in the hierarchy
program.py chose). Cgroups made after the start are recorded by the kernel side when they are
made (tracepoint cgroup:cgroup_mkdir: id -> path in a BPF map), so a container whose cgroup is
already removed when its events are read still resolves. Cgroups that existed before are found
by a directory walk at start (their directory under the hierarchy's mount has the same inode
number); an id found in neither is walked for again at most once a second, and never cached as
a miss. Resolved ids are cached (cgroup ids are never reused). Container runtimes name
a container's cgroup after its 64-hex id: docker (`/docker/<id>`, `docker-<id>.scope`),
containerd/CRI (`cri-containerd-<id>.scope`, `/kubepods/.../<id>`), CRI-O (`crio-<id>.scope`),
podman (`libpod-<id>.scope`). Conmon's cgroups (`crio-conmon-`, `libpod-conmon-`) are not
containers.

`containerStarted` follows Tracee: a container counts as started once a process in its cgroup,
in a mount namespace other than the host's, has executed a program; containers that already
existed when tracing began are started.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path
from typing import Callable

__all__ = ["ContainerTracker", "container_id_from_path"]

_ID = re.compile(r"^(?:docker-|cri-containerd-|crio-|libpod-)?([0-9a-f]{64})(?:\.scope)?$")


def container_id_from_path(path: str) -> str:
    """The container id in a cgroup path (the deepest matching component), or ""."""
    for part in reversed(path.split("/")):
        if "conmon" in part:
            continue
        m = _ID.match(part)
        if m:
            return m.group(1)
    return ""


def _no_kernel_paths(cgroup_id: int) -> str | None:
    return None


class ContainerTracker:
    """Caches cgroup id -> (path, container id) and the started state per cgroup."""

    RETRY_SECONDS = 1.0   # an unknown id is looked for again after this long

    def __init__(self, root: Path, host_mnt_ns: int,
                 kernel_path: Callable[[int], str | None] = _no_kernel_paths) -> None:
        """`kernel_path(id)`: the path the kernel recorded when that cgroup was made, or None."""
        self.root = root
        self.host_mnt_ns = host_mnt_ns
        self._kernel_path = kernel_path
        self._ids: dict[int, str] = {}       # cgroup id -> container id ("" = host)
        self._paths: dict[int, str] = {}
        self._misses: dict[int, float] = {}  # unknown id -> when it was last looked for
        self.started: set[int] = set()
        self.walks = 0
        self._scan(initial=True)

    def _scan(self, initial: bool = False) -> None:
        """Walk the hierarchy once: index every cgroup directory by inode."""
        self.walks += 1
        stack = [self.root]
        while stack:
            path = stack.pop()
            try:
                with os.scandir(path) as it:
                    for entry in it:
                        if entry.is_dir(follow_symlinks=False):
                            stack.append(Path(entry.path))
                            ino = entry.inode()
                            if ino not in self._paths:
                                self._learn(ino, "/" + os.path.relpath(entry.path, self.root))
                                if initial and self._ids[ino]:
                                    self.started.add(ino)  # existed before tracing began
            except OSError:
                continue
        try:
            root_ino = os.stat(self.root).st_ino
            self._paths.setdefault(root_ino, "/")
            self._ids.setdefault(root_ino, "")
        except OSError:
            pass

    def container_id(self, cgroup_id: int) -> str:
        cid = self._ids.get(cgroup_id)
        if cid is None:
            cid = self._resolve(cgroup_id)
        return cid

    def _resolve(self, cgroup_id: int) -> str:
        now = time.monotonic()
        last = self._misses.get(cgroup_id)
        if last is not None and now - last < self.RETRY_SECONDS:
            return ""
        path = self._kernel_path(cgroup_id)
        if path is not None:
            if not path.startswith("/"):  # the kernel kept the tail of a long path: drop the cut part
                path = path[path.find("/"):] if "/" in path else ""
            self._learn(cgroup_id, path)
        else:
            self._scan()
        cid = self._ids.get(cgroup_id)
        if cid is None:
            self._misses[cgroup_id] = now  # not cached as a miss: looked for again later
            return ""
        self._misses.pop(cgroup_id, None)
        return cid

    def _learn(self, cgroup_id: int, path: str) -> None:
        self._paths[cgroup_id] = path
        self._ids[cgroup_id] = container_id_from_path(path)

    def path(self, cgroup_id: int) -> str:
        self.container_id(cgroup_id)
        return self._paths.get(cgroup_id, "")

    def on_exec(self, cgroup_id: int, mnt_ns: int) -> None:
        """An exec in this cgroup: a container's entry point has started."""
        if mnt_ns != self.host_mnt_ns and self.container_id(cgroup_id):
            self.started.add(cgroup_id)
