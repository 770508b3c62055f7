"""TRC-6 (kernel module loading): init_module, kernel-module reads (parsed or raw type), the CLI stream."""

from __future__ import annotations

import pytest

from tracee_sig_builtin.kernel_module_loading import KernelModuleLoading


def run(run_signatures, *events):
    return [(f.metadata.id, f.event.event_name, f.data) for f in run_signatures([KernelModuleLoading()], list(events))]


@pytest.mark.parametrize("container", [False, True, "init"])
def test_init_module(run_signatures, make_event, container):
    event = make_event("init_module", module_image="0x7f00aa000000", len=4096, param_values="", container=container)
    assert run(run_signatures, event) == [("TRC-6", "init_module", None)]


@pytest.mark.parametrize("kind", ["kernel-module", 2])
def test_kernel_module_read(run_signatures, make_event, kind):
    event = make_event("security_kernel_read_file", pathname="/root/rk.ko", type=kind)
    assert run(run_signatures, event) == [("TRC-6", "security_kernel_read_file", {"pathname": "/root/rk.ko"})]


@pytest.mark.parametrize("kind", ["firmware", "kexec-image", 1, 3, 99, None])
def test_other_reads(run_signatures, make_event, kind):
    args = {"type": kind} if kind is not None else {}
    assert run(run_signatures, make_event("security_kernel_read_file", pathname="/lib/firmware/x", **args)) == []


def test_needs_a_pathname_and_ignores_finit_module(run_signatures, make_event):
    events = [make_event("security_kernel_read_file", type="kernel-module"),
              make_event("finit_module", fd=3, param_values="", flags=0)]
    assert run(run_signatures, *events) == []


def test_stream(run_stream):
    findings = run_stream("trc-6.jsonl")
    assert [(f["SigMetadata"]["ID"], f["Context"]["eventName"], f["Data"]) for f in findings] == [
        ("TRC-6", "security_kernel_read_file", {"pathname": "/root/diamorphine.ko"})]
    assert findings[0]["SigMetadata"] == {
        "ID": "TRC-6", "Version": "0.1.0", "Name": "kernel module loading",
        "Description": "Attempt to load a kernel module detection", "Tags": ["linux", "container"],
        "Properties": {"MITRE ATT&CK": "Persistence: Kernel Modules and Extensions", "Severity": 3}}


def test_near_miss_stream(run_stream):
    assert run_stream("trc-6-nearmiss.jsonl") == []
