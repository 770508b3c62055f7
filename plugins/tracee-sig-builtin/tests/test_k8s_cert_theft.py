"""TRC-10 (k8s TLS certificate theft): pki reads by unexpected processes, allow-list config, CLI stream."""

from __future__ import annotations

import pytest

from tracee import SignatureError
from tracee_sig_builtin.k8s_cert_theft import K8sCertTheft


def run(run_signatures, make_event, path="/etc/kubernetes/pki/apiserver.key", flags="O_RDONLY", comm="cat",
        container=False, sig=None):
    event = make_event("security_file_open", pathname=path, flags=flags, container=container,
                       context={"process_name": comm})
    return [(f.metadata.id, f.data) for f in run_signatures([sig or K8sCertTheft()], [event])]


@pytest.mark.parametrize("flags", ["O_RDONLY|O_LARGEFILE", "O_RDWR", 0, 2])
@pytest.mark.parametrize("container", [False, True, "init"])
def test_fires(run_signatures, make_event, flags, container):
    assert run(run_signatures, make_event, flags=flags, container=container) == [("TRC-10", None)]


@pytest.mark.parametrize("kwargs", [
    {"flags": "O_WRONLY|O_CREAT"}, {"flags": 1},
    {"path": "/etc/kubernetes/pki"}, {"path": "/etc/kubernetes/admin.conf"}, {"path": "/x/etc/kubernetes/pki/ca.key"},
    *({"comm": name} for name in ("kube-apiserver", "kubelet", "kube-controller", "etcd")),
])
def test_near_misses(run_signatures, make_event, kwargs):
    assert run(run_signatures, make_event, **kwargs) == []


def test_allow_list_extended_from_config(run_signatures, make_event):
    sig = K8sCertTheft()
    sig.configure({"allowed_processes": ["kube-scheduler", "cert-manager-controller"]})
    assert run(run_signatures, make_event, comm="kube-scheduler", sig=sig) == []
    assert run(run_signatures, make_event, comm="cert-manager-co", sig=sig) == []
    assert run(run_signatures, make_event, comm="kubelet", sig=sig) == []
    assert run(run_signatures, make_event, comm="cat", sig=sig) == [("TRC-10", None)]


def test_bad_settings():
    with pytest.raises(SignatureError, match="unknown setting 'allow'"):
        K8sCertTheft().configure({"allow": []})
    with pytest.raises(SignatureError, match="must be a list of strings"):
        K8sCertTheft().configure({"allowed_processes": {"a": 1}})


def test_stream(run_stream):
    findings = run_stream("trc-10.jsonl")
    assert [(f["SigMetadata"]["ID"], f["Context"]["eventName"], f["Data"]) for f in findings] == [
        ("TRC-10", "security_file_open", None)]
    assert findings[0]["SigMetadata"] == {
        "ID": "TRC-10", "Version": "0.1.0", "Name": "K8S TLS Certificate Theft Detected",
        "Description": "Kubernetes TLS certificate theft was detected. TLS certificates are used to establish trust "
                       "between systems, the kubernetes certificate is used to to enable secured communication "
                       "between kubernetes components, like the kubelet, scheduler, controller and API server. An "
                       "adversary may steal a kubernetes certificate on a compromised system to impersonate "
                       "kuberentes components within the cluster.",
        "Tags": ["linux", "container"],
        "Properties": {"MITRE ATT&CK": "Credential Access: Steal Application Access Token", "Severity": 3}}


def test_near_miss_stream(run_stream):
    assert run_stream("trc-10-nearmiss.jsonl") == []
