"""TRC-8: a container process reads the Kubernetes service account token (a key to the API server)."""

from __future__ import annotations

from typing import Any

from tracee import Event, EventSelector, Signature

from ._common import READ, arg, check_settings, file_access, metadata, names_setting

TOKEN_DIR = "secrets/kubernetes.io/serviceaccount"
# Tracee's latest list (2022-05-31, #1549, with kubectl); components that legitimately read it.
ALLOWED_PROCESSES = ("flanneld", "kube-proxy", "etcd", "kube-apiserver", "coredns", "kube-controller", "kubectl")


class K8sServiceAccountToken(Signature):
    """Read-open, in a container, of a path containing secrets/kubernetes.io/serviceaccount and
    ending "token", by a process not in the allow-list. Tracee disabled it from v0.8.0 as noisy;
    here it is on, and `allowed_processes` in the config extends the allow-list."""

    metadata = metadata(
        "TRC-8", "K8S Service Account Token Use Detected",
        "The Kubernetes service account token file was read on your container. This token is used to "
        "communicate with the K8S API server, Adversaries may try and communicate with the API server to "
        "gather information/credentials, or even run more containers and laterally expand their grip on "
        "your systems.",
        0, "Credential Access: Credentials from Password Stores", tags=("container",))
    selected_events = [EventSelector("security_file_open", origin="container")]

    def __init__(self) -> None:
        self.allowed = frozenset(ALLOWED_PROCESSES)

    def configure(self, settings: dict[str, Any]) -> None:
        check_settings(settings, ("allowed_processes",))
        if "allowed_processes" in settings:
            extra = names_setting("allowed_processes", settings["allowed_processes"], comm=True)
            self.allowed = frozenset(ALLOWED_PROCESSES).union(extra)

    def on_event(self, event: Event) -> None:
        if event.event_name != "security_file_open":
            return
        path = arg(event, "pathname")
        if (type(path) is str and path.endswith("token") and TOKEN_DIR in path
                and file_access(arg(event, "flags")) & READ and event.process_name not in self.allowed):
            self.match(event, None)
