"""TRC-14 (cgroup release_agent write): container write-opens, data keys, no tags, and the CLI stream."""

from __future__ import annotations

import pytest

from tracee_sig_builtin.cgroup_release_agent import CgroupReleaseAgent


def run(run_signatures, make_event, path="/sys/fs/cgroup/rdma/release_agent", flags="O_WRONLY", container=True):
    args = {"flags": flags} if flags is not None else {}
    event = make_event("security_file_open", pathname=path, container=container, **args)
    return [(f.metadata.id, f.data) for f in run_signatures([CgroupReleaseAgent()], [event])]


@pytest.mark.parametrize("flags, shown", [("O_WRONLY|O_CREAT|O_TRUNC", "O_WRONLY|O_CREAT|O_TRUNC"), ("O_RDWR", "O_RDWR"),
                                          (0o1101, "O_WRONLY|O_CREAT|O_TRUNC"), (2, "O_RDWR")])
@pytest.mark.parametrize("path", ["/sys/fs/cgroup/rdma/release_agent", "/tmp/cgrp/release_agent", "/release_agent"])
def test_fires(run_signatures, make_event, flags, shown, path):
    assert run(run_signatures, make_event, path, flags) == [("TRC-14", {"File Flags": shown, "File Path": path})]


@pytest.mark.parametrize("kwargs", [
    {"container": False}, {"container": "init"}, {"flags": "O_RDONLY"}, {"flags": 0}, {"flags": None},
    {"path": "/sys/fs/cgroup/release_agent.bak"}, {"path": "release_agent"}, {"path": "/tmp/my_release_agent"},
])
def test_near_misses(run_signatures, make_event, kwargs):
    assert run(run_signatures, make_event, **kwargs) == []


def test_stream(run_stream):
    findings = run_stream("trc-14.jsonl")
    assert [(f["SigMetadata"]["ID"], f["Context"]["eventName"], f["Data"]) for f in findings] == [
        ("TRC-14", "security_file_open", {"File Flags": "O_WRONLY|O_CREAT|O_TRUNC|O_LARGEFILE",
                                          "File Path": "/sys/fs/cgroup/rdma/release_agent"})]
    assert findings[0]["SigMetadata"] == {
        "ID": "TRC-14", "Version": "0.1.0", "Name": "CGroups Release Agent File Modification",
        "Description": "An Attempt to modify CGroups release agent file was detected. CGroups are a Linux kernel "
                       "feature which can change a process's resource limitations. Adversaries may use this feature "
                       "for container escaping.",
        "Tags": None,
        "Properties": {"MITRE ATT&CK": "Privilege Escalation: Escape to Host", "Severity": 3}}


def test_near_miss_stream(run_stream):
    assert run_stream("trc-14-nearmiss.jsonl") == []
