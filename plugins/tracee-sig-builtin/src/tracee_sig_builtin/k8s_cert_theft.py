"""TRC-10: a Kubernetes TLS certificate or key under /etc/kubernetes/pki/ read by an unexpected process."""

from __future__ import annotations

from tracee import Event, EventSelector, Signature
from tracee.predicates import arg as field, context

from ._common import READ, ProcessAllowList, arg, file_access, metadata

PKI_DIR = "/etc/kubernetes/pki/"
ALLOWED_PROCESSES = ("kube-apiserver", "kubelet", "kube-controller", "etcd")


class K8sCertTheft(ProcessAllowList, Signature):
    """Read-open of a path starting /etc/kubernetes/pki/ by a process not in the allow-list (any
    origin); `allowed_processes` in the config extends the allow-list."""

    # The description's typos ("to to", "kuberentes") are Tracee's; kept so findings match.
    metadata = metadata(
        "TRC-10", "K8S TLS Certificate Theft Detected",
        "Kubernetes TLS certificate theft was detected. TLS certificates are used to establish trust between "
        "systems, the kubernetes certificate is used to to enable secured communication between kubernetes "
        "components, like the kubelet, scheduler, controller and API server. An adversary may steal a "
        "kubernetes certificate on a compromised system to impersonate kuberentes components within the cluster.",
        3, "Credential Access: Steal Application Access Token")
    ALLOWED_PROCESSES = ALLOWED_PROCESSES

    def get_selected_events(self) -> list[EventSelector]:
        return [EventSelector("security_file_open", where=(
            field("pathname").startswith(PKI_DIR), field("flags").opened_for("read"),
            context("process_name").none_of(*sorted(self.allowed))))]

    def on_event(self, event: Event) -> None:
        if event.event_name != "security_file_open":
            return
        path = arg(event, "pathname")
        if (type(path) is str and path.startswith(PKI_DIR) and file_access(arg(event, "flags")) & READ
                and event.process_name not in self.allowed):
            self.match(event, None)
