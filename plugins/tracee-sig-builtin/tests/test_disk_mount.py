"""TRC-11 (container device mount): /dev/ mounts in containers, the runc init exception, CLI stream."""

from __future__ import annotations

import pytest

from tracee_sig_builtin.disk_mount import DiskMount


def run(run_signatures, make_event, dev="/dev/sda1", comm="mount", tid=57, container=True):
    args = {"dev_name": dev} if dev is not None else {}
    event = make_event("security_sb_mount", path="/mnt/x", type="ext4", flags=0, container=container,
                       context={"process_name": comm, "thread_id": tid}, **args)
    return [(f.metadata.id, f.data) for f in run_signatures([DiskMount()], [event])]


@pytest.mark.parametrize("dev, comm, tid", [("/dev/sda1", "mount", 57), ("/dev/vda", "mount", 1),
                                            ("/dev/", "sh", 3), ("/dev/sda1", "runc:[2:INIT]", 2),
                                            ("/dev/sda1", "xrunc:", 1)])
def test_fires(run_signatures, make_event, dev, comm, tid):
    assert run(run_signatures, make_event, dev, comm, tid) == [("TRC-11", {"mounted device": dev})]


@pytest.mark.parametrize("kwargs", [
    {"container": False}, {"container": "init"},
    {"comm": "runc:[2:INIT]", "tid": 1}, {"comm": "runc:[1:CHILD]", "tid": 1},
    {"dev": "proc"}, {"dev": "/devx/sda"}, {"dev": "overlay"}, {"dev": None},
])
def test_near_misses(run_signatures, make_event, kwargs):
    assert run(run_signatures, make_event, **kwargs) == []


def test_stream(run_stream):
    findings = run_stream("trc-11.jsonl")
    assert [(f["SigMetadata"]["ID"], f["Context"]["eventName"], f["Data"]) for f in findings] == [
        ("TRC-11", "security_sb_mount", {"mounted device": "/dev/vda1"})]
    assert findings[0]["SigMetadata"] == {
        "ID": "TRC-11", "Version": "0.1.0", "Name": "Container Device Mount Detected",
        "Description": "Container device filesystem mount detected. A mount of a host device filesystem can be "
                       "exploited by adversaries to perform container escape.",
        "Tags": ["container"],
        "Properties": {"MITRE ATT&CK": "Privilege Escalation: Escape to Host", "Severity": 3}}


def test_near_miss_stream(run_stream):
    assert run_stream("trc-11-nearmiss.jsonl") == []
