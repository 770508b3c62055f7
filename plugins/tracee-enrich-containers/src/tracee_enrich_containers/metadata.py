"""What is known about one container, and how runtime labels map onto it (Kubernetes' CRI labels)."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, Mapping

__all__ = ["CRI_LABELS", "ContainerInfo", "clean"]

# The labels the kubelet puts on every container it asks a runtime for (CRI), whichever runtime:
# containerd keeps them as container labels, Docker (dockershim, cri-dockerd) as Docker labels.
CRI_LABELS = {
    "io.kubernetes.pod.name": "pod_name",
    "io.kubernetes.pod.namespace": "pod_namespace",
    "io.kubernetes.pod.uid": "pod_uid",
    "io.kubernetes.container.name": "k8s_container_name",
}
# containerd's CRI plugin marks a pod's sandbox ("pause") container so.
_CRI_KIND = "io.cri-containerd.kind"
MAX_FIELD = 512  # Kubernetes names are at most 253 characters; image references rarely pass 255


def clean(value: Any) -> str:
    """A runtime-supplied string made safe to put into events: text, no control characters
    (labels are set by whoever starts the container), bounded."""
    if not isinstance(value, str):
        return ""
    if not value.isprintable():
        value = "".join(ch for ch in value if ch.isprintable())
    return value[:MAX_FIELD]


@dataclass(frozen=True)
class ContainerInfo:
    """A container's metadata as one runtime reported it. Empty strings where it said nothing."""

    id: str
    runtime: str                 # "docker" or "containerd" (Falco's container.type)
    name: str = ""
    image: str = ""              # the reference it was started from: "local/busybox:1"
    image_id: str = ""           # Docker: the image's config digest ("sha256:..."); containerd: ""
    image_digest: str = ""       # the manifest digest ("sha256:..."), when the image came from a registry
    pod_name: str = ""
    pod_namespace: str = ""
    pod_uid: str = ""
    k8s_container_name: str = ""
    namespace: str = ""          # containerd namespace (k8s.io for the CRI, moby for Docker)
    sandbox: bool = False        # a pod's sandbox (pause) container

    @classmethod
    def build(cls, container_id: str, runtime: str, labels: Mapping[str, Any] | None = None,
              **values: Any) -> "ContainerInfo":
        """From a runtime's answer: every string cleaned; pod fields from the CRI labels."""
        labels = labels if isinstance(labels, Mapping) else {}
        known = {f.name for f in fields(cls)}
        data: dict[str, Any] = {k: clean(v) for k, v in values.items() if k in known and k != "sandbox"}
        for label, attr in CRI_LABELS.items():
            if not data.get(attr):
                data[attr] = clean(labels.get(label, ""))
        sandbox = bool(values.get("sandbox")) or labels.get(_CRI_KIND) == "sandbox"
        return cls(id=container_id, runtime=runtime, sandbox=sandbox, **data)

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}
