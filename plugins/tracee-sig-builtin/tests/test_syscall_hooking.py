"""TRC-15 (syscall table hooking): non-empty hooked_syscalls, the data as given, and the CLI stream."""

from __future__ import annotations

import pytest

from tracee_sig_builtin.syscall_hooking import SyscallHooking

HOOKED = [{"SymbolName": "kill", "ModuleOwner": "diamorphine"}, {"SymbolName": "getdents", "ModuleOwner": "diamorphine"}]


@pytest.mark.parametrize("hooked", [HOOKED, {"62": {"SymbolName": "kill", "ModuleOwner": "diamorphine"}}])
@pytest.mark.parametrize("container", [False, True, "init"])
def test_fires(run_signatures, make_event, hooked, container):
    findings = run_signatures([SyscallHooking()], [make_event("hooked_syscalls", hooked_syscalls=hooked,
                                                              container=container)])
    assert [(f.metadata.id, f.data) for f in findings] == [("TRC-15", {"hooked syscall": hooked})]


@pytest.mark.parametrize("hooked", [[], {}, None, "kill", 3])
def test_near_misses(run_signatures, make_event, hooked):
    args = {"hooked_syscalls": hooked} if hooked is not None else {}
    assert run_signatures([SyscallHooking()], [make_event("hooked_syscalls", **args)]) == []


def test_stream(run_stream):
    findings = run_stream("trc-15.jsonl")
    assert [(f["SigMetadata"]["ID"], f["Context"]["eventName"], f["Data"]) for f in findings] == [
        ("TRC-15", "hooked_syscalls", {"hooked syscall": [
            {"ModuleOwner": "diamorphine", "SymbolName": "kill"}, {"ModuleOwner": "diamorphine", "SymbolName": "getdents"},
            {"ModuleOwner": "diamorphine", "SymbolName": "getdents64"}]})]
    assert findings[0]["SigMetadata"] == {
        "ID": "TRC-15", "Version": "0.1.0", "Name": "Hooking system calls by overriding the system call table entries",
        "Description": "Usage of kernel modules to hook system calls", "Tags": ["linux"],
        "Properties": {"MITRE ATT&CK": "Persistence: Hooking system calls entries in the system-call table",
                       "Severity": 4}}


def test_near_miss_stream(run_stream):
    assert run_stream("trc-15-nearmiss.jsonl") == []
