"""TRC-8: a container process reads the Kubernetes service account token (a key to the API server)."""

from __future__ import annotations

from tracee import Event, EventSelector, Signature
from tracee.predicates import arg as field, context

from ._common import READ, ProcessAllowList, arg, file_access, metadata

TOKEN_DIR = "secrets/kubernetes.io/serviceaccount"
# Tracee's latest list (2022-05-31, #1549, with kubectl); components that legitimately read it.
ALLOWED_PROCESSES = ("flanneld", "kube-proxy", "etcd", "kube-apiserver", "coredns", "kube-controller", "kubectl")


class K8sServiceAccountToken(ProcessAllowList, Signature):
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
    ALLOWED_PROCESSES = ALLOWED_PROCESSES

    def get_selected_events(self) -> list[EventSelector]:
        return [EventSelector("security_file_open", origin="container", where=(
            field("pathname").endswith("token"), field("pathname").contains(TOKEN_DIR),
            field("flags").opened_for("read"), context("process_name").none_of(*sorted(self.allowed))))]

    def on_event(self, event: Event) -> None:
        if event.event_name != "security_file_open":
            return
        path = arg(event, "pathname")
        if (type(path) is str and path.endswith("token") and TOKEN_DIR in path
                and file_access(arg(event, "flags")) & READ and event.process_name not in self.allowed):
            self.match(event, None)
