"""The `containers` enricher: fills Tracee's container and pod fields of every event from the cache."""

from __future__ import annotations

from typing import Any

from tracee import Enricher, EnricherContext, Event
from tracee.errors import UsageError

from .cache import ContainerCache
from .metadata import ContainerInfo
from .runtimes import SocketSpec, connect, detect, parse_cri

__all__ = ["ContainerEnricher", "LIFECYCLE_EVENTS", "known_container"]

#: The sensor's container life-cycle events (Tracee's ids 2001-2003). Each names its container in
#: the `container_id` argument (or the event's own containerId) and refreshes the cache; the
#: enricher fills their metadata arguments from the cache as it does the context fields.
CREATED = frozenset({"container_create", "existing_container"})
REMOVED = frozenset({"container_remove"})
LIFECYCLE_EVENTS = CREATED | REMOVED
DEFAULT_TIMEOUT = 2.0

# (event attribute, ContainerInfo attribute): the fields Tracee's event has for container metadata.
_CONTEXT = (("container_name", "name"), ("container_image", "image"), ("pod_name", "pod_name"),
            ("pod_namespace", "pod_namespace"), ("pod_uid", "pod_uid"))
# container_create's arguments (Tracee v0.8.3) that metadata fills, when the sensor left them empty.
_ARGS = (("runtime", "runtime"), ("container_image", "image"), ("container_name", "name"),
         ("pod_name", "pod_name"), ("pod_namespace", "pod_namespace"), ("pod_uid", "pod_uid"))

_ACTIVE: list["ContainerEnricher"] = []


def known_container(container_id: str) -> ContainerInfo | None:
    """What the running enricher knows about a container, without asking any runtime: for outputs
    that have places for more than Tracee's event does (image id and digest, runtime)."""
    for enricher in _ACTIVE:
        if enricher.cache is not None:
            info = enricher.cache.known.get(container_id)
            if info is not None:
                return info
    return None


class ContainerEnricher:
    name = "containers"

    def __init__(self) -> None:
        self.cache: ContainerCache | None = None
        self.sockets: list[SocketSpec] = []

    def record(self) -> Enricher:
        return Enricher(self.name, self.enrich, close=self.close, start=self.start, stats=self.stats,
                        events=LIFECYCLE_EVENTS)

    def start(self, context: EnricherContext) -> None:
        options = context.options
        try:
            chosen = parse_cri(options.get("cri") or ())
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        self.sockets = detect() if chosen is None else chosen
        if not self.sockets:
            return  # no runtime on this host: nothing to enrich from, and nothing to say
        timeout = float(options.get("cri_timeout") or DEFAULT_TIMEOUT)
        runtimes = [connect(spec, timeout) for spec in self.sockets]
        self.cache = ContainerCache(runtimes, context.log)
        self.cache.start()
        _ACTIVE.append(self)
        where = ", ".join(f"{s.kind} ({s.path})" for s in self.sockets)
        context.log.info(f"containers: metadata from {where}")

    def enrich(self, event: Event) -> None:
        cache = self.cache
        if cache is None:
            return
        if event.event_name in LIFECYCLE_EVENTS:
            _lifecycle(event, cache)
        cid = event.container_id
        if not cid:
            return
        info = cache.get(cid)
        if info is None:
            return
        for attr, source in _CONTEXT:
            if not getattr(event, attr):
                setattr(event, attr, getattr(info, source))

    def stats(self) -> dict[str, int]:
        return self.cache.stats() if self.cache is not None else {}

    def close(self) -> None:
        if self.cache is not None:
            self.cache.close()
        if self in _ACTIVE:
            _ACTIVE.remove(self)


def _lifecycle(event: Event, cache: ContainerCache) -> None:
    """container_create / existing_container refresh the cache and get their metadata arguments
    when known; container_remove makes the cache forget the container (after a grace period)."""
    value: Any = event.get_arg("container_id")
    cid = value if isinstance(value, str) and value else event.container_id
    if not cid:
        return
    if event.event_name in REMOVED:
        cache.remove(cid)
        return
    info = cache.known.get(cid)
    if info is None:
        cache.refresh(cid)
    else:
        _fill_args(event, info)


def _fill_args(event: Event, info: ContainerInfo) -> None:
    for arg, source in _ARGS:
        if not event.get_arg(arg):
            event.set_arg(arg, getattr(info, source), "const char*")
