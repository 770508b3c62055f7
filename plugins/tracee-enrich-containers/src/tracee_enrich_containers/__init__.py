"""tracee enricher: container name, image, runtime and Kubernetes pod of every event, from Docker and containerd."""

from __future__ import annotations

from .enricher import ContainerEnricher, known_container
from .metadata import ContainerInfo

__all__ = ["ContainerEnricher", "ContainerInfo", "known_container"]
