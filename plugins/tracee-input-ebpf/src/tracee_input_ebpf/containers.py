"""Container identity from cgroups: cgroup id -> path -> 64-hex container id, and `containerStarted`.

The kernel side reports a cgroup id (the kernfs inode of the task's cgroup in the hierarchy
program.py chose). Its directory under that hierarchy's mount has the same inode number, so the
path is found by a directory walk (cached; cgroup ids are never reused). Container runtimes name
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
from pathlib import Path

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


class ContainerTracker:
    """Caches cgroup id -> (path, container id) and the started state per cgroup."""

    def __init__(self, root: Path, host_mnt_ns: int) -> None:
        self.root = root
        self.host_mnt_ns = host_mnt_ns
        self._ids: dict[int, str] = {}       # cgroup id -> container id ("" = host)
        self._paths: dict[int, str] = {}
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
                                rel = "/" + os.path.relpath(entry.path, self.root)
                                self._paths[ino] = rel
                                cid = container_id_from_path(rel)
                                self._ids[ino] = cid
                                if initial and cid:
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
            self._scan()
            cid = self._ids.setdefault(cgroup_id, "")  # gone already: remember it as unknown
        return cid

    def path(self, cgroup_id: int) -> str:
        self.container_id(cgroup_id)
        return self._paths.get(cgroup_id, "")

    def on_exec(self, cgroup_id: int, mnt_ns: int) -> None:
        """An exec in this cgroup: a container's entry point has started."""
        if mnt_ns != self.host_mnt_ns and self.container_id(cgroup_id):
            self.started.add(cgroup_id)
