"""K8S-5: a container talks to the node's container runtime socket (docker, containerd, cri-o).

Python rather than a rule file because it keeps state: the command line of each process in a
container, remembered from its exec, so that the finding of a bare connect() says which command
(`docker run --privileged ...`, `crictl exec ...`) drove the runtime. It also takes settings.
"""

from __future__ import annotations

from typing import Any

from tracee import Event, EventSelector, Signature, SignatureError, SignatureMetadata
from tracee.events import decoders
from tracee.predicates import arg
from tracee.state import BoundedMap

__all__ = ["RuntimeSocketAccess", "SOCKET_NAMES"]

#: File names of the runtime API sockets, wherever they are mounted in the container
#: (/var/run/docker.sock, /run/containerd/containerd.sock, /run/k3s/containerd/containerd.sock,
#: /host/run/crio/crio.sock ...).
SOCKET_NAMES = frozenset(("docker.sock", "containerd.sock", "containerd.sock.ttrpc", "crio.sock",
                          "dockershim.sock", "cri-dockerd.sock", "podman.sock"))
DEFAULT_MAX_PROCESSES = 16384
COMMAND_MAX = 512  # characters of a command line kept per process (argv can be 128 KiB)
SETTINGS = ("allowed_images", "max_processes")


class RuntimeSocketAccess(Signature):
    """Fires on a connect() to an AF_UNIX address, or an open, whose file name is a runtime socket,
    from a started container. Data: {"socket", "access": "connect"|"open", "command"} where
    `command` is the process's argv as seen at its exec ("" if the exec was not seen).

    Settings (`signatures: {K8S-5: {...}}` in the config file): `allowed_images`, images whose
    containers may use the socket (monitoring agents such as cAdvisor), as `repo` (any tag or
    digest) or `repo:tag`; `max_processes`, the bound of the per-process state (LRU).
    """

    metadata = SignatureMetadata(
        id="K8S-5", name="Container runtime socket accessed from a container", version="0.1.0",
        description="A container connected to the container runtime's API socket (docker.sock, "
                    "containerd.sock, crio.sock...). Whoever can talk to it controls every container "
                    "on the node: an adversary uses a mounted runtime socket to start a privileged "
                    "container with the host's root filesystem mounted, or to exec into other "
                    "workloads.",
        tags=("linux", "container", "kubernetes"),
        properties={"Severity": 3, "MITRE ATT&CK": "Privilege Escalation: Escape to Host",
                    "external_id": "T1611"})
    selected_events = [EventSelector("sched_process_exec", origin="container"),
                       EventSelector("sched_process_exit", origin="container"),
                       EventSelector("security_socket_connect", origin="container",
                                     where=(arg("remote_addr.sun_path").endswith(*sorted(SOCKET_NAMES)),)),
                       EventSelector("security_file_open", origin="container",
                                     where=(arg("pathname").endswith(*sorted(SOCKET_NAMES)),))]

    def __init__(self) -> None:
        self.commands = BoundedMap(DEFAULT_MAX_PROCESSES)  # (container id, host pid) -> command line
        self.allowed_images: tuple[str, ...] = ()

    def configure(self, settings: dict[str, Any]) -> None:
        for key in settings:
            if key not in SETTINGS:
                raise SignatureError(f"unknown setting {key!r} for K8S-5 (known: {', '.join(SETTINGS)})")
        if "allowed_images" in settings:
            images = settings["allowed_images"]
            if not isinstance(images, list) or not all(isinstance(i, str) and i.strip() for i in images):
                raise SignatureError(f"K8S-5 setting 'allowed_images' must be a list of image names, "
                                     f"got {images!r}")
            self.allowed_images = tuple(i.strip() for i in images)
        if "max_processes" in settings:
            cap = settings["max_processes"]
            if type(cap) is not int or cap < 1:
                raise SignatureError(f"K8S-5 setting 'max_processes' must be a positive integer, got {cap!r}")
            self.commands = BoundedMap(cap)

    def on_event(self, event: Event) -> None:
        name = event.event_name
        key = (event.container_id, event.host_process_id)
        if name == "sched_process_exec":
            self.commands.put(key, _command(event.get_arg("argv")))
        elif name == "sched_process_exit":
            # Tracee reports every thread's exit; the process is gone with the last one.
            if event.get_arg("process_group_exit") is True:
                self.commands.pop(key, None)
        elif name == "security_socket_connect":
            value = event.get_arg("remote_addr")
            if value is None:
                raise ValueError("security_socket_connect: argument 'remote_addr' is missing")
            address = decoders.sockaddr(value)  # ValueError on garbage: counted by the engine
            if address.get("sa_family") == "AF_UNIX":
                self._check(event, address.get("sun_path", ""), "connect", key)
        elif name == "security_file_open":
            path = event.get_arg("pathname")
            if type(path) is str:
                self._check(event, path, "open", key)

    def _check(self, event: Event, path: str, access: str, key: tuple[str, int]) -> None:
        if path.rsplit("/", 1)[-1] not in SOCKET_NAMES or self._allowed(event.container_image):
            return
        command = self.commands.get(key)
        self.match(event, {"socket": path, "access": access, "command": command or ""})

    def _allowed(self, image: str) -> bool:
        for allowed in self.allowed_images:
            if image == allowed or image.startswith((allowed + ":", allowed + "@")):
                return True
        return False

    def close(self) -> None:
        if self.commands.evicted:
            self.log.warning(f"K8S-5: {self.commands.evicted} process(es) evicted from its state "
                             f"(cap {self.commands.cap}); their findings lack the command line. Raise "
                             f"signatures.K8S-5.max_processes in the config file on a busy node")
        self.commands.clear()


def _command(argv: Any) -> str:
    if type(argv) is not list:
        return ""
    text = " ".join(a for a in argv if type(a) is str)
    return text if len(text) <= COMMAND_MAX else text[:COMMAND_MAX - 3] + "..."
