"""TRC-13 (k8s API server connection): env then connect per container, every sockaddr form, LRU bound, CLI."""

from __future__ import annotations

import pytest

from tracee import SignatureError
from tracee_sig_builtin.k8s_api_connection import K8sApiConnection

C1, C2 = "a" * 64, "b" * 64
ENV = ["PATH=/usr/bin", "KUBERNETES_SERVICE_HOST=10.96.0.1", "KUBERNETES_SERVICE_PORT=443"]
API = {"sa_family": "AF_INET", "sin_port": "443", "sin_addr": "10.96.0.1"}


def execve(make_event, envp=ENV, container=True, cid=C1):
    args = {"envp": envp} if envp is not None else {}
    return make_event("execve", pathname="/usr/bin/curl", argv=["curl"], container=container,
                      context={"container_id": cid} if container else {}, **args)


def connect(make_event, addr=API, container=True, cid=C1):
    return make_event("security_socket_connect", sockfd=5, remote_addr=addr, container=container,
                      context={"container_id": cid} if container else {})


def run(run_signatures, events, sig=None):
    return [(f.metadata.id, f.event.event_name, f.data) for f in run_signatures([sig or K8sApiConnection()], events)]


@pytest.mark.parametrize("addr", [
    API, {"sa_family": "AF_INET", "sin_port": "6443", "sin_addr": "10.96.0.1"},  # any port
    "{'sa_family': 'AF_INET','sin_port': '443','sin_addr': '10.96.0.1'}",       # v0.6.0-0.6.4 string
    bytes.fromhex("020001bb0a600001") + bytes(8),                                 # raw sockaddr_in
])
def test_fires(run_signatures, make_event, addr):
    events = [execve(make_event), connect(make_event, addr)]
    assert run(run_signatures, events) == [("TRC-13", "security_socket_connect", {"ip": "10.96.0.1"})]


def test_ipv6_and_trimmed_value(run_signatures, make_event):
    addr = {"sa_family": "AF_INET6", "sin6_port": "443", "sin6_flowinfo": "0", "sin6_addr": "fd00::1",
            "sin6_scopeid": "0"}
    events = [execve(make_event, ["KUBERNETES_SERVICE_HOST= fd00::1 "]), connect(make_event, addr)]
    assert run(run_signatures, events) == [("TRC-13", "security_socket_connect", {"ip": "fd00::1"})]


def test_first_entry_containing_the_name_decides(run_signatures, make_event):
    # "contains", as Tracee: a variable whose name ends with the key is taken too.
    events = [execve(make_event, ["MY_KUBERNETES_SERVICE_HOST=1.2.3.4", "KUBERNETES_SERVICE_HOST=10.96.0.1"]),
              connect(make_event)]
    assert run(run_signatures, events) == []


def test_a_later_execve_overwrites_the_address(run_signatures, make_event):
    events = [execve(make_event), execve(make_event, ["KUBERNETES_SERVICE_HOST=10.0.0.1"]), connect(make_event)]
    assert run(run_signatures, events) == []


@pytest.mark.parametrize("events", [
    pytest.param(lambda m: [execve(m), connect(m, {"sa_family": "AF_INET", "sin_port": "53", "sin_addr": "10.96.0.10"})],
                 id="other-ip"),
    pytest.param(lambda m: [execve(m), connect(m, {"sa_family": "AF_UNIX", "sun_path": "/x"})], id="unix"),
    pytest.param(lambda m: [execve(m), connect(m, cid=C2)], id="other-container"),
    pytest.param(lambda m: [connect(m)], id="no-env-seen"),
    pytest.param(lambda m: [execve(m, ["KUBERNETES_SERVICE_HOST="]), connect(m)], id="empty-value"),
    pytest.param(lambda m: [execve(m, None), connect(m)], id="no-envp"),
    pytest.param(lambda m: [execve(m, container="init"), connect(m)], id="env-seen-in-container-init"),
    pytest.param(lambda m: [execve(m), connect(m, container="init")], id="connect-from-container-init"),
    pytest.param(lambda m: [execve(m, container=False), connect(m, container=False)], id="host"),
])
def test_near_misses(run_signatures, make_event, events):
    assert run(run_signatures, events(make_event)) == []


def test_state_is_bounded_least_recently_used_first(run_signatures, make_event, capsys):
    sig = K8sApiConnection()
    sig.configure({"max_containers": 2})
    events = [execve(make_event, cid="1" * 64), execve(make_event, cid="2" * 64), connect(make_event, cid="1" * 64),
              execve(make_event, cid="3" * 64), connect(make_event, cid="2" * 64), connect(make_event, cid="1" * 64)]
    findings = run_signatures([sig], events)
    assert [f.event.container_id[0] for f in findings] == ["1", "1"]
    assert "TRC-13: 1 container(s) evicted" in capsys.readouterr().err


def test_memory_stays_flat(make_event):
    sig = K8sApiConnection()
    sig.configure({"max_containers": 50})
    sig.init(lambda f: None)
    for n in range(5000):
        sig.on_event(execve(make_event, cid=f"{n:064x}"))
    assert len(sig.api_ips) == 50 and sig.api_ips.evicted == 4950


@pytest.mark.parametrize("settings, message", [
    ({"max_container": 5}, "unknown setting 'max_container'"),
    ({"max_containers": -1}, "'max_containers' must be a positive integer"),
    ({"max_containers": 2.5}, "'max_containers' must be a positive integer"),
])
def test_bad_settings(settings, message):
    with pytest.raises(SignatureError) as info:
        K8sApiConnection().configure(settings)
    assert message in str(info.value)


def test_stream(run_stream):
    findings = run_stream("trc-13.jsonl")
    assert [(f["SigMetadata"]["ID"], f["Context"]["eventName"], f["Data"]) for f in findings] == [
        ("TRC-13", "security_socket_connect", {"ip": "10.96.0.1"})]
    assert findings[0]["SigMetadata"] == {
        "ID": "TRC-13", "Version": "0.1.0", "Name": "Kubernetes API server connection detected",
        "Description": "A connection to the kubernetes API server was detected. The K8S API server is the brain of "
                       "your K8S cluster, adversaries may try and communicate with the K8S API server to gather "
                       "information/credentials, or even run more containers and laterally expand their grip on "
                       "your systems.",
        "Tags": ["container"],
        "Properties": {"MITRE ATT&CK": "Discovery: Cloud Service Discovery", "Severity": 1}}


def test_near_miss_stream(run_stream):
    assert run_stream("trc-13-nearmiss.jsonl") == []
