"""TRC-3 (code injection): the three rules, Tracee's regex quirks, raw forms, the CLI stream."""

from __future__ import annotations

import pytest

from tracee_sig_builtin.code_injection import CodeInjection


def run(run_signatures, *events):
    return [(f.metadata.id, f.event.event_name, f.data) for f in run_signatures([CodeInjection()], list(events))]


@pytest.mark.parametrize("request_arg", ["PTRACE_POKETEXT", 4])
def test_ptrace_poketext(run_signatures, make_event, request_arg):
    assert run(run_signatures, make_event("ptrace", request=request_arg, pid=4242)) == [("TRC-3", "ptrace", None)]


@pytest.mark.parametrize("request_arg", ["PTRACE_POKEDATA", "PTRACE_PEEKTEXT", 5, 1])
def test_ptrace_other_requests(run_signatures, make_event, request_arg):
    assert run(run_signatures, make_event("ptrace", request=request_arg, pid=4242)) == []


@pytest.mark.parametrize("path", ["/proc/self/mem", "/proc/12/mem", "/proc/4242/mem",
                                  "/x/proc/123/mem/y",  # unanchored, as Rego's regex.match
                                  "/proc/12/memory"])
@pytest.mark.parametrize("flags, shown", [("O_WRONLY|O_LARGEFILE", "O_WRONLY|O_LARGEFILE"), ("O_RDWR", "O_RDWR"),
                                          (0o100001, "O_WRONLY|O_LARGEFILE"), (2, "O_RDWR")])
def test_proc_mem_write(run_signatures, make_event, path, flags, shown):
    event = make_event("security_file_open", pathname=path, flags=flags)
    assert run(run_signatures, event) == [("TRC-3", "security_file_open", {"file flags": shown, "file path": path})]


@pytest.mark.parametrize("path, flags", [
    ("/proc/self/mem", "O_RDONLY"), ("/proc/self/mem", 0),        # read only
    ("/proc/1/mem", "O_RDWR"),                                    # quirk: \d.+ needs two characters
    ("/proc/self/maps", "O_RDWR"), ("/proc/self/mem", None), (None, "O_RDWR"),
    ("/proc/abc/mem", "O_WRONLY"),
])
def test_proc_mem_near_misses(run_signatures, make_event, path, flags):
    args = {k: v for k, v in {"pathname": path, "flags": flags}.items() if v is not None}
    assert run(run_signatures, make_event("security_file_open", **args)) == []


@pytest.mark.parametrize("pid, fires", [(4242, True), ("4242", True), (1000, False), (None, False)])
def test_process_vm_writev_to_another_process(run_signatures, make_event, pid, fires):
    args = {"pid": pid} if pid is not None else {}
    event = make_event("process_vm_writev", **args, context={"process_id": 1000})
    assert run(run_signatures, event) == ([("TRC-3", "process_vm_writev", None)] if fires else [])


@pytest.mark.parametrize("container", [True, "init"])
def test_every_origin(run_signatures, make_event, container):
    event = make_event("ptrace", request="PTRACE_POKETEXT", container=container)
    assert len(run(run_signatures, event)) == 1


def test_stream(run_stream):
    findings = run_stream("trc-3.jsonl")
    assert [(f["SigMetadata"]["ID"], f["Context"]["eventName"], f["Data"]) for f in findings] == [
        ("TRC-3", "security_file_open", {"file flags": "O_RDWR|O_LARGEFILE", "file path": "/proc/self/mem"})]
    assert findings[0]["SigMetadata"] == {
        "ID": "TRC-3", "Version": "0.1.0", "Name": "Code injection",
        "Description": "Possible code injection into another process", "Tags": ["linux", "container"],
        "Properties": {"MITRE ATT&CK": "Defense Evasion: Process Injection", "Severity": 3}}


def test_near_miss_stream(run_stream):
    assert run_stream("trc-3-nearmiss.jsonl") == []
