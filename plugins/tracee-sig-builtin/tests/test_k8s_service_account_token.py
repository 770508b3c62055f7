"""TRC-8 (service account token read): container-only, read flags, allow-list and its config, CLI stream."""

from __future__ import annotations

import pytest

from tracee import SignatureError
from tracee_sig_builtin.k8s_service_account_token import K8sServiceAccountToken

TOKEN = "/run/secrets/kubernetes.io/serviceaccount/..2022_08_16_12_00_00.123/token"


def run(run_signatures, make_event, path=TOKEN, flags="O_RDONLY|O_LARGEFILE", comm="cat", container=True,
        sig=None):
    event = make_event("security_file_open", pathname=path, flags=flags, container=container,
                       context={"process_name": comm})
    return [(f.metadata.id, f.data) for f in run_signatures([sig or K8sServiceAccountToken()], [event])]


@pytest.mark.parametrize("path", [TOKEN, "/var/run/secrets/kubernetes.io/serviceaccount/token",
                                  "/x/secrets/kubernetes.io/serviceaccount/my-token"])
@pytest.mark.parametrize("flags", ["O_RDONLY|O_LARGEFILE", "O_RDWR", 0, 0o100000])
def test_fires(run_signatures, make_event, path, flags):
    assert run(run_signatures, make_event, path, flags) == [("TRC-8", None)]


@pytest.mark.parametrize("kwargs", [
    {"container": False}, {"container": "init"},                          # origin container only
    {"flags": "O_WRONLY"}, {"flags": 1},                                  # not a read
    {"path": "/run/secrets/kubernetes.io/serviceaccount/ca.crt"},
    {"path": "/var/lib/kubelet/pods/x/volumes/kubernetes.io~projected/kube-api-access/token"},
    {"path": "/run/secrets/kubernetes.io/serviceaccount/token.bak"},
    *({"comm": name} for name in ("flanneld", "kube-proxy", "etcd", "kube-apiserver", "coredns",
                                  "kube-controller", "kubectl")),
])
def test_near_misses(run_signatures, make_event, kwargs):
    assert run(run_signatures, make_event, **kwargs) == []


def test_allow_list_extended_from_config(run_signatures, make_event):
    sig = K8sServiceAccountToken()
    sig.configure({"allowed_processes": ["vault-agent", "cilium-agent-long-name"]})
    assert run(run_signatures, make_event, comm="vault-agent", sig=sig) == []
    assert run(run_signatures, make_event, comm="cilium-agent-lo", sig=sig) == []  # cut to 15, as the kernel
    assert run(run_signatures, make_event, comm="coredns", sig=sig) == []          # defaults kept
    assert run(run_signatures, make_event, comm="cat", sig=sig) == [("TRC-8", None)]


@pytest.mark.parametrize("settings, message", [
    ({"allowed_process": ["x"]}, "unknown setting 'allowed_process' (known: allowed_processes)"),
    ({"allowed_processes": "vault"}, "setting 'allowed_processes' must be a list of strings"),
    ({"allowed_processes": ["ok", 3]}, "every entry must be a non-empty string"),
    ({"allowed_processes": [""]}, "every entry must be a non-empty string"),
])
def test_bad_settings(settings, message):
    with pytest.raises(SignatureError) as info:
        K8sServiceAccountToken().configure(settings)
    assert message in str(info.value)


def test_stream(run_stream):
    findings = run_stream("trc-8.jsonl")
    assert [(f["SigMetadata"]["ID"], f["Context"]["eventName"], f["Data"]) for f in findings] == [
        ("TRC-8", "security_file_open", None)]
    assert findings[0]["SigMetadata"] == {
        "ID": "TRC-8", "Version": "0.1.0", "Name": "K8S Service Account Token Use Detected",
        "Description": "The Kubernetes service account token file was read on your container. This token is used "
                       "to communicate with the K8S API server, Adversaries may try and communicate with the API "
                       "server to gather information/credentials, or even run more containers and laterally "
                       "expand their grip on your systems.",
        "Tags": ["container"],
        "Properties": {"MITRE ATT&CK": "Credential Access: Credentials from Password Stores", "Severity": 0}}


def test_near_miss_stream(run_stream):
    assert run_stream("trc-8-nearmiss.jsonl") == []
