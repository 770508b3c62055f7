"""TRC-5 (fileless execution): memfd / shm paths, the host runc exception, and the CLI stream."""

from __future__ import annotations

import pytest

from tracee_sig_builtin.fileless_execution import FilelessExecution


def run(run_signatures, make_event, path, container=False):
    event = make_event("sched_process_exec", pathname=path, container=container)
    return [(f.metadata.id, f.data) for f in run_signatures([FilelessExecution()], [event])]


@pytest.mark.parametrize("path, container", [
    ("memfd:payload", False),                       # rule 1: host, not runc
    ("memfd:runc_cloned:/proc/self/exe", True),     # rule 2: in a container even runc's memfd counts
    ("memfd:runc_cloned:/proc/self/exe", "init"),   # ... decided by container id, as Tracee
    ("memfd:", True),
    ("/dev/shm/x", False), ("/dev/shmfoo", False),  # rules 3, 4: prefixes without a slash, as Tracee
    ("/run/shm/x", True),
])
def test_fires(run_signatures, make_event, path, container):
    assert run(run_signatures, make_event, path, container) == [("TRC-5", None)]


@pytest.mark.parametrize("path", ["memfd:runc_cloned:/proc/self/exe", "memfd:runc", "/usr/bin/ls", "/tmp/dev/shm/x",
                                  "/memfd:x", "/run/user/1000/x", None])
def test_near_misses_on_the_host(run_signatures, make_event, path):
    if path is None:
        assert run_signatures([FilelessExecution()], [make_event("sched_process_exec")]) == []
    else:
        assert run(run_signatures, make_event, path) == []


def test_stream(run_stream):
    findings = run_stream("trc-5.jsonl")
    assert [(f["SigMetadata"]["ID"], f["Context"]["eventName"], f["Data"]) for f in findings] == [
        ("TRC-5", "sched_process_exec", None)]
    assert findings[0]["SigMetadata"] == {
        "ID": "TRC-5", "Version": "0.1.0", "Name": "Fileless Execution",
        "Description": "Executing a process from memory, without a file in the disk", "Tags": ["linux", "container"],
        "Properties": {"MITRE ATT&CK": "Defense Evasion: Obfuscated Files or Information", "Severity": 2}}


def test_near_miss_stream(run_stream):
    assert run_stream("trc-5-nearmiss.jsonl") == []
