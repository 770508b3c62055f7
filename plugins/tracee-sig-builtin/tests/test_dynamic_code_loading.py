"""TRC-4 (dynamic code loading): the W+E to E alert, parsed or raw, and the CLI stream."""

from __future__ import annotations

import pytest

from tracee_sig_builtin.dynamic_code_loading import DynamicCodeLoading


@pytest.mark.parametrize("alert", ["Protection changed from W+E to E!", 4])
@pytest.mark.parametrize("container", [False, True, "init"])
def test_fires(run_signatures, make_event, alert, container):
    findings = run_signatures([DynamicCodeLoading()], [make_event("mem_prot_alert", alert=alert, container=container)])
    assert [(f.metadata.id, f.data) for f in findings] == [("TRC-4", None)]


@pytest.mark.parametrize("alert", ["Mmaped region with W+E permissions!", "Protection changed to Executable!",
                                   "Protection changed from E to W+E!", 1, 2, 3, 5, None])
def test_other_alerts(run_signatures, make_event, alert):
    args = {"alert": alert} if alert is not None else {}
    assert run_signatures([DynamicCodeLoading()], [make_event("mem_prot_alert", **args)]) == []


def test_stream(run_stream):
    findings = run_stream("trc-4.jsonl")
    assert [(f["SigMetadata"]["ID"], f["Context"]["eventName"], f["Data"]) for f in findings] == [
        ("TRC-4", "mem_prot_alert", None)]
    assert findings[0]["SigMetadata"] == {
        "ID": "TRC-4", "Version": "0.1.0", "Name": "Dynamic Code Loading",
        "Description": "Writing to executable allocated memory region", "Tags": ["linux", "container"],
        "Properties": {"MITRE ATT&CK": "Defense Evasion: Obfuscated Files or Information", "Severity": 2}}


def test_near_miss_stream(run_stream):
    assert run_stream("trc-4-nearmiss.jsonl") == []
