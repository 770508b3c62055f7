"""TRC-1 (stdio over socket): fd tracking, every sockaddr form, state bounds, and the CLI stream."""

from __future__ import annotations


import pytest

from tracee import SignatureError
from tracee_sig_builtin.stdio_over_socket import StdioOverSocket

INET = {"sa_family": "AF_INET", "sin_port": "4444", "sin_addr": "10.0.0.5"}


def connect(make_event, fd, addr=INET, pid=1000, **kw):
    return make_event("security_socket_connect", sockfd=fd, remote_addr=addr,
                      context={"process_id": pid, **kw.pop("context", {})}, **kw)


def dup2(make_event, old, new, pid=1000, ret=None, name="dup2", **kw):
    args = {"oldfd": old, "newfd": new} if name != "dup3" else {"oldfd": old, "newfd": new, "flags": 0}
    return make_event(name, context={"process_id": pid, "return_value": new if ret is None else ret,
                                     **kw.pop("context", {})}, **args, **kw)


def data(findings):
    return [(f.metadata.id, f.event.event_name, f.data) for f in findings]


@pytest.mark.parametrize("name", ["dup2", "dup3"])
def test_socket_duplicated_onto_stdin(run_signatures, make_event, name):
    findings = run_signatures([StdioOverSocket()], [connect(make_event, 3), dup2(make_event, 3, 0, name=name)])
    assert data(findings) == [("TRC-1", name, {"ip": "10.0.0.5", "port": "4444", "fd": 0})]


def test_dup_uses_the_return_value_as_new_fd(run_signatures, make_event):
    dup = make_event("dup", oldfd=3, context={"return_value": 1})
    assert data(run_signatures([StdioOverSocket()], [connect(make_event, 3), dup])) == [
        ("TRC-1", "dup", {"ip": "10.0.0.5", "port": "4444", "fd": 1})]


def test_connect_on_a_std_fd_fires_at_once_even_for_unix_sockets(run_signatures, make_event):
    events = [connect(make_event, 2),
              connect(make_event, 0, {"sa_family": "AF_UNIX", "sun_path": "/run/x.sock"})]
    assert data(run_signatures([StdioOverSocket()], events)) == [
        ("TRC-1", "security_socket_connect", {"ip": "10.0.0.5", "port": "4444", "fd": 2}),
        ("TRC-1", "security_socket_connect", {"ip": "", "port": "", "fd": 0})]


@pytest.mark.parametrize("addr, ip, port", [
    ({"sa_family": "AF_INET6", "sin6_port": "443", "sin6_flowinfo": "0", "sin6_addr": "2001:db8::2",
      "sin6_scopeid": "0"}, "2001:db8::2", "443"),
    ("{'sa_family': 'AF_INET','sin_port': '53','sin_addr': '10.225.0.2'}", "10.225.0.2", "53"),  # v0.6.0-0.6.4
    (bytes.fromhex("0200115c0a000005") + bytes(8), "10.0.0.5", "4444"),  # raw struct sockaddr_in
])
def test_every_sockaddr_form(run_signatures, make_event, addr, ip, port):
    findings = run_signatures([StdioOverSocket()], [connect(make_event, 3, addr), dup2(make_event, 3, 1)])
    assert data(findings) == [("TRC-1", "dup2", {"ip": ip, "port": port, "fd": 1})]


def test_fd_arguments_in_parse_arguments_fds_form(run_signatures, make_event):
    findings = run_signatures([StdioOverSocket()], [connect(make_event, "3=socket:[4242]"),
                                                    dup2(make_event, "3=socket:[4242]", 0)])
    assert data(findings) == [("TRC-1", "dup2", {"ip": "10.0.0.5", "port": "4444", "fd": 0})]


def test_chained_dup_through_another_fd(run_signatures, make_event):
    events = [connect(make_event, 3), dup2(make_event, 3, 7), make_event("close", fd=3), dup2(make_event, 7, 1)]
    assert data(run_signatures([StdioOverSocket()], events)) == [
        ("TRC-1", "dup2", {"ip": "10.0.0.5", "port": "4444", "fd": 1})]


@pytest.mark.parametrize("events", [
    pytest.param(lambda m: [connect(m, 3), dup2(m, 3, 10)], id="dup-onto-non-std-fd"),
    pytest.param(lambda m: [connect(m, 3), dup2(m, 4, 0)], id="untracked-fd"),
    pytest.param(lambda m: [connect(m, 3), m("close", fd=3), dup2(m, 3, 0)], id="closed"),
    pytest.param(lambda m: [connect(m, 3), m("sched_process_exit", exit_code=0, process_group_exit=True),
                            dup2(m, 3, 0)], id="process-exited"),
    pytest.param(lambda m: [connect(m, 3, {"sa_family": "AF_UNIX", "sun_path": "/x"}), dup2(m, 3, 0)], id="unix"),
    pytest.param(lambda m: [connect(m, 3, {"sa_family": "AF_INET", "sin_port": "0", "sin_addr": ""}),
                            dup2(m, 3, 0)], id="no-address"),
    pytest.param(lambda m: [connect(m, 3), dup2(m, 3, 0, pid=2000)], id="other-process"),
    pytest.param(lambda m: [connect(m, 3), dup2(m, 3, 0, context={"pid_namespace": 4026532563})],
                 id="same-pid-other-pid-namespace"),
    pytest.param(lambda m: [connect(m, 3), dup2(m, 3, 0, ret=-9)], id="failed-dup"),
    pytest.param(lambda m: [connect(m, 3), dup2(m, 4, 3), dup2(m, 3, 0)], id="tracked-fd-overwritten"),
    pytest.param(lambda m: [connect(m, 3), connect(m, 3, {"sa_family": "AF_UNIX", "sun_path": "/x"}),
                            dup2(m, 3, 0)], id="fd-reused-for-unix-socket"),
])
def test_near_misses(run_signatures, make_event, events):
    assert run_signatures([StdioOverSocket()], events(make_event)) == []


def test_a_thread_exit_keeps_the_process_state(run_signatures, make_event):
    events = [connect(make_event, 3), make_event("sched_process_exit", exit_code=0, process_group_exit=False),
              dup2(make_event, 3, 0)]
    assert len(run_signatures([StdioOverSocket()], events)) == 1


@pytest.mark.parametrize("container", [True, "init"])
def test_every_origin_is_selected(run_signatures, make_event, container):
    events = [connect(make_event, 3, container=container), dup2(make_event, 3, 0, container=container)]
    assert len(run_signatures([StdioOverSocket()], events)) == 1


def test_malformed_arguments_are_reported_not_fatal(run_signatures, make_event, tracee_logs):
    events = [make_event("security_socket_connect", sockfd=3), make_event("security_socket_connect", sockfd=3,
                                                                          remote_addr=12),
              connect(make_event, 3), dup2(make_event, 3, 0)]
    findings = run_signatures([StdioOverSocket()], events)
    assert len(findings) == 1
    assert tracee_logs.count() == 2
    assert "remote_addr' is missing" in tracee_logs.text and "sockaddr: cannot decode a int" in tracee_logs.text


def test_state_is_dropped_on_close_and_exit(make_event):
    sig = StdioOverSocket()
    sig.init(lambda f: None)
    for fd in (3, 4, 5):
        sig.on_event(connect(make_event, fd, pid=7))
    sig.on_event(dup2(make_event, 3, 9, pid=7))
    assert sig.tracked == 4 and list(sig.processes[(0, 7)]) == [3, 4, 5, 9]
    sig.on_event(make_event("close", fd=4, context={"process_id": 7}))
    assert sig.tracked == 3
    sig.on_event(make_event("sched_process_exit", exit_code=0, process_group_exit=True, context={"process_id": 7}))
    assert sig.tracked == 0 and not sig.processes
    for fd in (3, 4):
        sig.on_event(connect(make_event, fd, pid=8))
        sig.on_event(make_event("close", fd=fd, context={"process_id": 8}))
    assert sig.tracked == 0 and not sig.processes  # a process without sockets costs nothing


def test_memory_stays_flat_with_many_processes(make_event):
    sig = StdioOverSocket()
    sig.configure({"max_sockets": 100})
    sig.init(lambda f: None)
    for pid in range(1, 5001):
        sig.on_event(connect(make_event, 3, pid=pid))
        sig.on_event(dup2(make_event, 3, 5, pid=pid))
    assert sig.tracked == 100 and len(sig.processes) == 50 and sig.evicted == 9900
    assert sum(len(fds) for fds in sig.processes.values()) == sig.tracked
    for fd in range(10, 400):  # one process with many sockets cannot grow past the cap either
        sig.on_event(connect(make_event, fd, pid=1))
    assert sig.tracked == 100 and list(sig.processes) == [(0, 1)]


def test_least_recently_active_process_is_evicted_and_reported(run_signatures, make_event, capsys):
    sig = StdioOverSocket()
    sig.configure({"max_sockets": 2})
    events = [connect(make_event, 3, pid=1), connect(make_event, 3, pid=2), dup2(make_event, 3, 3, pid=1),
              connect(make_event, 3, pid=3), dup2(make_event, 3, 0, pid=2), dup2(make_event, 3, 0, pid=1)]
    findings = run_signatures([sig], events)
    assert [f.event.process_id for f in findings] == [1]  # pid 1 was active more recently than pid 2
    assert "TRC-1: 2 socket(s) evicted from its state (cap 2; raise signatures.TRC-1.max_sockets" in \
        capsys.readouterr().err


@pytest.mark.parametrize("settings, message", [
    ({"max_processes": 1}, "unknown setting 'max_processes' (known: max_sockets)"),
    ({"max_sockets": "many"}, "setting 'max_sockets' must be a positive integer, got 'many'"),
    ({"max_sockets": 0}, "setting 'max_sockets' must be a positive integer, got 0"),
    ({"max_sockets": True}, "setting 'max_sockets' must be a positive integer, got True"),
])
def test_bad_settings(settings, message):
    with pytest.raises(SignatureError) as info:
        StdioOverSocket().configure(settings)
    assert str(info.value) == message


def test_stream(run_stream):
    findings = run_stream("trc-1.jsonl")
    assert [(f["SigMetadata"]["ID"], f["Context"]["eventName"], f["Data"]) for f in findings] == [
        ("TRC-1", "dup2", {"fd": 0, "ip": "10.0.0.5", "port": "4444"})]
    assert findings[0]["SigMetadata"] == {
        "ID": "TRC-1", "Version": "0.1.0", "Name": "Standard Input/Output Over Socket",
        "Description": "Redirection of process's standard input/output to socket", "Tags": ["linux", "container"],
        "Properties": {"MITRE ATT&CK": "Persistence: Server Software Component", "Severity": 3}}


def test_near_miss_stream(run_stream):
    assert run_stream("trc-1-nearmiss.jsonl") == []
