"""TRC-13: a container connects to the Kubernetes API server whose address its environment names."""

from __future__ import annotations

from typing import Any

from tracee import Event, EventSelector, Signature
from tracee.predicates import arg as field

from ._common import (BoundedMap, arg, check_settings, metadata, positive_int_setting, sockaddr_ip_port,
                      warn_evictions)

ENV_KEY = "KUBERNETES_SERVICE_HOST="
DEFAULT_MAX_CONTAINERS = 16384


class K8sApiConnection(Signature):
    """Remembers, per container, the KUBERNETES_SERVICE_HOST of the last execve whose envp names it
    (envp exists with `-o option:exec-env`), then fires on a connect from that container to that
    IP (any port), with {"ip"}. Works on JSON input and every sockaddr form (Tracee's Go version
    failed on JSON, issue #1371). At most `max_containers` containers are remembered (LRU)."""

    metadata = metadata(
        "TRC-13", "Kubernetes API server connection detected",
        "A connection to the kubernetes API server was detected. The K8S API server is the brain of your K8S "
        "cluster, adversaries may try and communicate with the K8S API server to gather information/credentials, "
        "or even run more containers and laterally expand their grip on your systems.",
        1, "Discovery: Cloud Service Discovery", tags=("container",))
    selected_events = [EventSelector("execve", origin="container"),
                       EventSelector("security_socket_connect", origin="container",
                                     where=(field("remote_addr.sa_family").one_of("AF_INET", "AF_INET6"),))]

    def __init__(self) -> None:
        self.api_ips = BoundedMap(DEFAULT_MAX_CONTAINERS)  # container id -> API server IP

    def configure(self, settings: dict[str, Any]) -> None:
        check_settings(settings, ("max_containers",))
        if "max_containers" in settings:
            self.api_ips = BoundedMap(positive_int_setting("max_containers", settings["max_containers"]))

    def on_event(self, event: Event) -> None:
        container = event.container_id
        if not container:
            return
        name = event.event_name
        if name == "execve":
            envp = arg(event, "envp")
            if type(envp) is not list:
                return
            for entry in envp:
                # "contains", as Tracee: the first entry naming the variable decides.
                if type(entry) is str and ENV_KEY in entry:
                    ip = entry.split("=", 1)[1].strip()
                    if ip:
                        self.api_ips.put(container, ip)
                    return
        elif name == "security_socket_connect":
            api_ip = self.api_ips.get(container)
            if api_ip is None:
                return
            address = sockaddr_ip_port(event)
            if address is None:
                raise ValueError("security_socket_connect: argument 'remote_addr' is missing")
            if address[0] and address[0] == api_ip:
                self.match(event, {"ip": api_ip})

    def close(self) -> None:
        warn_evictions(self, "container(s)", self.api_ips, "max_containers")
        self.api_ips.clear()
