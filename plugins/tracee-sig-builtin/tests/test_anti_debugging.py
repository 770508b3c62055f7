"""TRC-2 (anti-debugging): PTRACE_TRACEME parsed or raw, near misses, every origin, the CLI stream."""

from __future__ import annotations

import pytest

from tracee_sig_builtin.anti_debugging import AntiDebugging


@pytest.mark.parametrize("request_arg", ["PTRACE_TRACEME", 0])
@pytest.mark.parametrize("container", [False, True, "init"])
def test_traceme_fires(run_signatures, make_event, request_arg, container):
    event = make_event("ptrace", request=request_arg, pid=0, container=container)
    findings = run_signatures([AntiDebugging()], [event])
    assert [(f.metadata.id, f.data, f.event) for f in findings] == [("TRC-2", None, event)]


@pytest.mark.parametrize("request_arg", ["PTRACE_ATTACH", "PTRACE_SEIZE", 16, "ptrace_traceme", None, [0]])
def test_other_requests_do_not(run_signatures, make_event, request_arg):
    assert run_signatures([AntiDebugging()], [make_event("ptrace", request=request_arg, pid=0)]) == []


def test_missing_request_and_other_events(run_signatures, make_event):
    events = [make_event("ptrace", pid=0), make_event("security_file_open", request="PTRACE_TRACEME")]
    assert run_signatures([AntiDebugging()], events) == []


def test_stream(run_stream):
    findings = run_stream("trc-2.jsonl")
    assert [(f["SigMetadata"]["ID"], f["Context"]["eventName"], f["Data"]) for f in findings] == [("TRC-2", "ptrace", None)]
    assert findings[0]["SigMetadata"] == {
        "ID": "TRC-2", "Version": "0.1.0", "Name": "Anti-Debugging",
        "Description": "Process uses anti-debugging technique to block debugger", "Tags": ["linux", "container"],
        "Properties": {"MITRE ATT&CK": "Defense Evasion: Execution Guardrails", "Severity": 3}}


def test_near_miss_stream(run_stream):
    assert run_stream("trc-2-nearmiss.jsonl") == []
