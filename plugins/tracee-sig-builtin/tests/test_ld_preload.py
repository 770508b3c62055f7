"""TRC-7 (LD_PRELOAD): environment prefixes, writes of /etc/ld.so.preload, and the CLI stream."""

from __future__ import annotations

import pytest

from tracee_sig_builtin.ld_preload import LdPreload


def run(run_signatures, *events):
    return [(f.metadata.id, f.event.event_name, f.data) for f in run_signatures([LdPreload()], list(events))]


@pytest.mark.parametrize("envp", [["PATH=/bin", "LD_PRELOAD=/tmp/hook.so"], ["LD_LIBRARY_PATH=/tmp"],
                                  ["LD_PRELOAD"], ["LD_PRELOADX=1", "LD_LIBRARY_PATH=/x"]])
@pytest.mark.parametrize("container", [False, True, "init"])
def test_execve_environment(run_signatures, make_event, envp, container):
    event = make_event("execve", pathname="/usr/bin/ls", argv=["ls"], envp=envp, container=container)
    assert run(run_signatures, event) == [("TRC-7", "execve", None)]


@pytest.mark.parametrize("envp", [["PATH=/bin", "MY_LD_PRELOAD=/x", " LD_PRELOAD=/x", "ld_preload=/x"], [], None,
                                  "LD_PRELOAD=/x"])
def test_execve_near_misses(run_signatures, make_event, envp):
    args = {"envp": envp} if envp is not None else {}
    assert run(run_signatures, make_event("execve", pathname="/usr/bin/ls", **args)) == []


@pytest.mark.parametrize("flags", ["O_WRONLY|O_CREAT|O_TRUNC", "O_RDWR", 0o1101, 2])
def test_preload_file_written(run_signatures, make_event, flags):
    event = make_event("security_file_open", pathname="/etc/ld.so.preload", flags=flags)
    assert run(run_signatures, event) == [("TRC-7", "security_file_open", None)]


@pytest.mark.parametrize("path, flags", [("/etc/ld.so.preload", "O_RDONLY|O_LARGEFILE"), ("/etc/ld.so.preload", 0),
                                         ("/etc/ld.so.preload.bak", "O_WRONLY"), ("/x/etc/ld.so.preload", "O_WRONLY"),
                                         ("/etc/ld.so.preload", None)])
def test_preload_file_near_misses(run_signatures, make_event, path, flags):
    args = {"flags": flags} if flags is not None else {}
    assert run(run_signatures, make_event("security_file_open", pathname=path, **args)) == []


def test_stream(run_stream):
    findings = run_stream("trc-7.jsonl")
    assert [(f["SigMetadata"]["ID"], f["Context"]["eventName"], f["Data"]) for f in findings] == [
        ("TRC-7", "security_file_open", None)]
    assert findings[0]["SigMetadata"] == {
        "ID": "TRC-7", "Version": "0.1.0", "Name": "LD_PRELOAD",
        "Description": "Usage of LD_PRELOAD to allow hooks on process", "Tags": ["linux", "container"],
        "Properties": {"MITRE ATT&CK": "Persistence: Hijack Execution Flow", "Severity": 2}}


def test_near_miss_stream(run_stream):
    assert run_stream("trc-7-nearmiss.jsonl") == []
