"""Docker's Engine API through the `docker` SDK: a container's metadata, the running list, its events."""

from __future__ import annotations

import threading
from typing import Any, Callable

import docker
import requests
from docker.errors import APIError, DockerException, NotFound

from .metadata import ContainerInfo
from .runtimes import RuntimeDown, RuntimeFailed

__all__ = ["DockerRuntime"]

_OPS = {"create": "refresh", "rename": "refresh", "destroy": "remove"}  # Docker's action -> cache op


class DockerRuntime:
    kind = "docker"

    def __init__(self, socket: str, timeout: float) -> None:
        self.socket = socket
        self.timeout = timeout
        self._api: docker.APIClient | None = None
        self._stream: Any = None
        self._closed = threading.Event()
        self._digests: dict[str, str] = {}  # image id -> registry digest ("" when it has none)

    def _client(self) -> docker.APIClient:
        if self._api is None:
            try:  # "auto" asks the daemon for its API version: a request, so never at start-up
                self._api = docker.APIClient(base_url=f"unix://{self.socket}", version="auto",
                                             timeout=self.timeout)
            except DockerException as exc:
                raise RuntimeDown(_short(exc)) from None
        return self._api

    def _call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except NotFound:
            return None
        except (requests.exceptions.ConnectionError, requests.exceptions.Timeout, OSError) as exc:
            raise RuntimeDown(_short(exc)) from None
        except (APIError, requests.exceptions.RequestException, DockerException) as exc:
            raise RuntimeFailed(_short(exc)) from None

    def lookup(self, container_id: str) -> ContainerInfo | None:
        api = self._client()
        found = self._call(api.inspect_container, container_id)
        # Docker resolves names and id prefixes too: only the exact id is this container.
        if not isinstance(found, dict) or found.get("Id") != container_id:
            return None
        config = found.get("Config") or {}
        image_id = found.get("Image") or ""
        return ContainerInfo.build(container_id, "docker", config.get("Labels"),
                                   name=str(found.get("Name") or "").lstrip("/"), image=config.get("Image"),
                                   image_id=image_id, image_digest=self._digest(image_id))

    def list(self) -> list[ContainerInfo]:
        found = self._call(self._client().containers) or []
        infos = []
        for c in found:
            cid = c.get("Id") if isinstance(c, dict) else None
            if not isinstance(cid, str):
                continue
            names = c.get("Names") or [""]
            image_id = c.get("ImageID") or ""
            infos.append(ContainerInfo.build(cid, "docker", c.get("Labels"), name=str(names[0]).lstrip("/"),
                                             image=c.get("Image"), image_id=image_id,
                                             image_digest=self._digest(image_id)))
        return infos

    def _digest(self, image_id: Any) -> str:
        """The image's registry digest (`RepoDigests`), once per image; "" for a local image."""
        if not isinstance(image_id, str) or not image_id:
            return ""
        if image_id not in self._digests:
            try:
                image = self._call(self._client().inspect_image, image_id) or {}
            except RuntimeFailed:
                image = {}
            digests = image.get("RepoDigests") or []
            self._digests[image_id] = str(digests[0]).rpartition("@")[2] if digests else ""
        return self._digests[image_id]

    def watch(self, on_change: Callable[..., None]) -> None:
        filters = {"type": "container", "event": ["create", "destroy", "rename"]}
        stream = self._call(self._client().events, filters=filters, decode=True)
        self._stream = stream
        if self._closed.is_set():
            stream.close()
        try:
            for event in stream:
                if not isinstance(event, dict):
                    continue
                actor = event.get("Actor") or {}
                cid = event.get("id") or actor.get("ID")
                if not isinstance(cid, str):
                    continue
                action = event.get("Action", event.get("status"))
                attributes = actor.get("Attributes")
                if action == "create" and isinstance(attributes, dict):
                    # The create event carries the name, the image and the labels: enough for the
                    # event fields at once. An inspect now would wait for the container's start
                    # (Docker holds the container while starting it), racing its first process;
                    # the refresh after it adds the image id and digest.
                    on_change("store", cid, ContainerInfo.build(cid, "docker", attributes,
                                                                name=attributes.get("name"),
                                                                image=attributes.get("image")))
                on_change(_OPS.get(action, "refresh"), cid)
        except (requests.exceptions.RequestException, DockerException, OSError, ValueError) as exc:
            if not self._closed.is_set():
                raise RuntimeDown(f"event stream: {_short(exc)}") from None
        if not self._closed.is_set():
            raise RuntimeDown("event stream ended")

    def close(self) -> None:
        self._closed.set()
        stream, self._stream = self._stream, None
        if stream is not None:
            try:
                stream.close()
            except Exception:  # noqa: BLE001 - closing a socket that is already gone
                pass
        if self._api is not None:
            self._api.close()


def _short(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:300]
