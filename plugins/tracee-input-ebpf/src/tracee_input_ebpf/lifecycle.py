"""Tracee's container life-cycle events, made in user space from the cgroups the input learns:
`existing_container` (2003) for each container running at start, `container_create` (2001) when a
new container's cgroup appears, `container_remove` (2002) when the last cgroup of a container is gone.

New cgroups come from the kernel's cgroup:cgroup_mkdir record (the `cgroup_paths` map, drained
here into the ContainerTracker) or, on kernels without that tracepoint, from the tracker's
directory walks; removal is seen by checking, once a second, that a container's cgroup
directories still exist (no kernel change: the kernel program is another module's concern).
The metadata arguments (image, name, pod) are the containers enricher's to fill; `runtime`
comes from the cgroup's name, `ctime` from its directory.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Callable, Iterable

from tracee import Event
from tracee.events import catalog

from .containers import ContainerTracker

__all__ = ["ContainerLifecycle", "LIFECYCLE", "runtime_from_path"]

LIFECYCLE = frozenset({"container_create", "container_remove", "existing_container"})
CHECK_REMOVED_SECONDS = 1.0


def runtime_from_path(path: str) -> str:
    """The container runtime a cgroup path names (Tracee's names), or "" when it does not say."""
    if "docker" in path:
        return "docker"
    if "cri-containerd" in path or "containerd" in path:
        return "containerd"
    if "crio-" in path:
        return "crio"
    if "libpod-" in path:
        return "podman"
    return ""


class ContainerLifecycle:
    """Tracks the container ids the tracker knows and makes the life-cycle events of `wanted`."""

    def __init__(self, tracker: ContainerTracker, wanted: Iterable[str], *,
                 drain: Callable[[], Iterable[tuple[int, str]]] = lambda: ()) -> None:
        """`drain()`: (cgroup id, path) of cgroups the kernel saw made since the last call."""
        self.tracker = tracker
        self.wanted = frozenset(wanted) & LIFECYCLE
        self._drain = drain
        self._cgroups: dict[str, set[int]] = {}  # container id -> its cgroup ids
        self._learned = 0
        self._next_check = 0.0
        self.existing = self._update()  # container ids running at start
        self._ids = {e.id: e.name for e in catalog.EVENTS if e.name in LIFECYCLE}

    def _update(self) -> list[str]:
        """Index the tracker's cgroups learned since the last call; the container ids new to us."""
        for cgroup_id, path in self._drain():
            if cgroup_id not in self.tracker._paths:
                self.tracker._learn(cgroup_id, path)
        new: list[str] = []
        ids = self.tracker._ids
        if len(ids) == self._learned:
            return new
        self._learned = len(ids)
        for cgroup_id, cid in list(ids.items()):
            if not cid:
                continue
            cgroups = self._cgroups.get(cid)
            if cgroups is None:
                self._cgroups[cid] = {cgroup_id}
                new.append(cid)
            else:
                cgroups.add(cgroup_id)
        return new

    def start_events(self) -> list[Event]:
        if "existing_container" not in self.wanted:
            return []
        return [self._event("existing_container", cid) for cid in self.existing]

    def poll(self, now: float | None = None) -> list[Event]:
        """The container_create and container_remove events since the last poll (cheap when nothing changed)."""
        out = []
        for cid in self._update():
            if "container_create" in self.wanted:
                out.append(self._event("container_create", cid))
        now = time.monotonic() if now is None else now
        if now >= self._next_check:
            self._next_check = now + CHECK_REMOVED_SECONDS
            for cid in [c for c, groups in self._cgroups.items() if not any(self._exists(g) for g in groups)]:
                if "container_remove" in self.wanted:
                    out.append(self._event("container_remove", cid))
                del self._cgroups[cid]
        return out

    def _dir(self, cgroup_id: int) -> Path:
        return self.tracker.root / self.tracker._paths.get(cgroup_id, "/").lstrip("/")

    def _exists(self, cgroup_id: int) -> bool:
        return self.tracker._paths.get(cgroup_id) is not None and self._dir(cgroup_id).is_dir()

    def _event(self, name: str, cid: str) -> Event:
        groups = sorted(self._cgroups.get(cid, ()))
        path = self.tracker._paths.get(groups[0], "") if groups else ""
        args: list[dict] = [{"name": "runtime", "type": "const char*", "value": runtime_from_path(path)},
                            {"name": "container_id", "type": "const char*", "value": cid}]
        if name != "container_remove":
            try:
                ctime = os.stat(self._dir(groups[0])).st_ctime_ns if groups else 0
            except OSError:
                ctime = 0
            args.append({"name": "ctime", "type": "unsigned long", "value": ctime})
            args += [{"name": n, "type": "const char*", "value": ""}
                     for n in ("container_image", "container_name", "pod_name", "pod_namespace", "pod_uid")]
        definition = catalog.by_name(name)
        return Event(name, args, timestamp=time.time_ns(), host_name=os.uname().nodename,
                     event_id=definition.id if definition else 0, container_id=cid,
                     cgroup_id=groups[0] if groups else 0,
                     container_started=name == "existing_container")
