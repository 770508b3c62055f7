"""containerd's gRPC API (grpcio, with stubs generated from _containerd/api.proto): the containers of
every namespace (`k8s.io` where the CRI keeps Kubernetes' pods, `moby` for Docker's), and its events.

Why this client: containerd's own API is what the CRI plugin, Docker and nerdctl all sit on, and
it is the only one that sees every namespace. The alternatives were worse here: `ctr`/`nerdctl`
in a subprocess cost a process per look-up and parse text meant for people (and nerdctl is not
packaged by Debian); the CRI API sees only `k8s.io` and is served only with the CRI plugin on;
the `containerd` package on PyPI was last released in 2021 against an old protobuf. grpcio is
Google's maintained gRPC library; the few messages used are declared in api.proto (field numbers
of containerd's v1 API, stable since 1.0) and compiled with grpcio-tools.
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any, Callable

import grpc

from ._containerd import api_pb2 as pb
from .metadata import ContainerInfo
from .runtimes import RuntimeDown, RuntimeFailed

__all__ = ["ContainerdRuntime", "NAMESPACE_HEADER"]

NAMESPACE_HEADER = "containerd-namespace"
SERVICES = "containerd.services"
K8S_NAMESPACE = "k8s.io"
DOCKER_NAMESPACE = "moby"
# Fallbacks in the OCI spec when a CRI container's labels lack the pod fields.
_CRI_ANNOTATIONS = {
    "io.kubernetes.cri.container-name": "k8s_container_name",
    "io.kubernetes.cri.sandbox-name": "pod_name",
    "io.kubernetes.cri.sandbox-namespace": "pod_namespace",
    "io.kubernetes.cri.sandbox-uid": "pod_uid",
}
_DOWN = (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)
NAMESPACES_TTL = 10.0  # seconds a namespace list is reused
# A Docker container appears in `moby` when it starts, after Docker's own create event: "learn"
# looks it up only if that has not happened already.
_OPS = {"/containers/create": "learn", "/containers/update": "refresh", "/containers/delete": "remove"}


class ContainerdRuntime:
    kind = "containerd"

    def __init__(self, socket: str, timeout: float) -> None:
        self.socket = socket
        self.timeout = timeout
        # No proxy for a local socket, whatever http_proxy says.
        self._channel = grpc.insecure_channel(f"unix://{socket}", options=[("grpc.enable_http_proxy", 0)])
        self._namespaces: tuple[float, list[str]] = (0.0, [])
        self._digests: dict[tuple[str, str], str] = {}
        self._stream: Any = None
        self._closed = threading.Event()

    # -- calls ----------------------------------------------------------------------------------------
    def call(self, method: str, request: Any, reply: Any, namespace: str | None = None) -> Any:
        """One unary call, e.g. call("containers.v1.Containers/Get", ...); None when not found."""
        rpc = self._channel.unary_unary(f"/{SERVICES}.{method}", request_serializer=type(request).SerializeToString,
                                        response_deserializer=reply.FromString)
        metadata = ((NAMESPACE_HEADER, namespace),) if namespace else None
        try:
            return rpc(request, timeout=self.timeout, metadata=metadata)
        except grpc.RpcError as exc:
            code = exc.code()  # type: ignore[attr-defined]
            if code == grpc.StatusCode.NOT_FOUND:
                return None
            text = f"{code.name}: {exc.details()}"  # type: ignore[attr-defined]
            raise (RuntimeDown if code in _DOWN else RuntimeFailed)(text[:300]) from None

    def namespaces(self) -> list[str]:
        """containerd's namespaces, `k8s.io` first, then `moby`, then the others."""
        when, names = self._namespaces
        if time.monotonic() - when < NAMESPACES_TTL:
            return names
        reply = self.call("namespaces.v1.Namespaces/List", pb.ListNamespacesRequest(), pb.ListNamespacesResponse)
        found = [n.name for n in reply.namespaces] if reply else []
        order = {K8S_NAMESPACE: 0, DOCKER_NAMESPACE: 1}
        names = sorted(found, key=lambda n: (order.get(n, 2), n))
        self._namespaces = (time.monotonic(), names)
        return names

    # -- the Runtime protocol -------------------------------------------------------------------------
    def lookup(self, container_id: str) -> ContainerInfo | None:
        for namespace in self.namespaces():
            reply = self.call("containers.v1.Containers/Get", pb.GetContainerRequest(id=container_id),
                              pb.GetContainerResponse, namespace)
            if reply is not None and reply.container.id == container_id:
                return self._info(reply.container, namespace)
        return None

    def list(self) -> list[ContainerInfo]:
        infos = []
        for namespace in self.namespaces():
            reply = self.call("containers.v1.Containers/List", pb.ListContainersRequest(),
                              pb.ListContainersResponse, namespace)
            infos.extend(self._info(c, namespace) for c in (reply.containers if reply else ()))
        return infos

    def _info(self, c: Any, namespace: str) -> ContainerInfo:
        labels = dict(c.labels)
        values: dict[str, Any] = {"image": c.image, "namespace": namespace,
                                  "name": labels.get("io.kubernetes.container.name") or labels.get("nerdctl/name", "")}
        if namespace == K8S_NAMESPACE and "io.kubernetes.pod.name" not in labels:
            annotations = _annotations(c.spec)
            for key, attr in _CRI_ANNOTATIONS.items():
                if annotations.get(key):
                    values[attr] = annotations[key]
            values["name"] = values["name"] or values.get("k8s_container_name", "")
            values["image"] = values["image"] or annotations.get("io.kubernetes.cri.image-name", "")
        if c.image:
            values["image_digest"] = self._digest(namespace, c.image)
        # Docker's containers live in `moby`: their engine is Docker, whichever socket answered.
        runtime = "docker" if namespace == DOCKER_NAMESPACE else "containerd"
        return ContainerInfo.build(c.id, runtime, labels, **values)

    def _digest(self, namespace: str, image: str) -> str:
        key = (namespace, image)
        if key not in self._digests:
            try:
                reply = self.call("images.v1.Images/Get", pb.GetImageRequest(name=image), pb.GetImageResponse, namespace)
            except RuntimeFailed:
                reply = None
            self._digests[key] = reply.image.target.digest if reply is not None else ""
        return self._digests[key]

    def watch(self, on_change: Callable[..., None]) -> None:
        subscribe = self._channel.unary_stream(f"/{SERVICES}.events.v1.Events/Subscribe",
                                               request_serializer=pb.SubscribeRequest.SerializeToString,
                                               response_deserializer=pb.Envelope.FromString)
        stream = subscribe(pb.SubscribeRequest(filters=['topic~="^/containers/"']))
        self._stream = stream
        if self._closed.is_set():
            stream.cancel()
        try:
            for envelope in stream:
                try:
                    cid = pb.ContainerEvent.FromString(envelope.event.value).id
                except Exception:  # noqa: BLE001 - a payload we cannot read names no container
                    continue
                if cid:
                    on_change(_OPS.get(envelope.topic, "refresh"), cid)
        except grpc.RpcError as exc:
            if not self._closed.is_set():
                raise RuntimeDown(f"event stream: {exc.code().name}: {exc.details()}"[:300]) from None  # type: ignore[attr-defined]
        if not self._closed.is_set():
            raise RuntimeDown("event stream ended")

    def close(self) -> None:
        self._closed.set()
        stream, self._stream = self._stream, None
        if stream is not None:
            stream.cancel()
        self._channel.close()


def _annotations(spec: Any) -> dict[str, str]:
    """The OCI spec's annotations (the spec is JSON in a protobuf Any)."""
    try:
        data = json.loads(spec.value) if spec.value else {}
    except ValueError:
        return {}
    annotations = data.get("annotations") if isinstance(data, dict) else None
    return {k: v for k, v in annotations.items() if isinstance(v, str)} if isinstance(annotations, dict) else {}
