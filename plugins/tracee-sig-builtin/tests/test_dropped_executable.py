"""TRC-9 (dropped executable): ELF magic in base64 or bytes, container only, and the CLI stream."""

from __future__ import annotations

import base64

import pytest

from tracee_sig_builtin.dropped_executable import DroppedExecutable

ELF = bytes.fromhex("7f454c4602010100000000000000000003003e00")


def run(run_signatures, make_event, data, container=True, **args):
    event = make_event("magic_write", pathname="/tmp/x", bytes=data, dev=2049, inode=12, container=container, **args)
    return [(f.metadata.id, f.data) for f in run_signatures([DroppedExecutable()], [event])]


@pytest.mark.parametrize("data", [
    base64.b64encode(ELF).decode(), ELF, list(ELF),
    base64.b64encode(b"\x00ELF").decode(),   # byte 0 is not checked, as Tracee
    base64.b64encode(b"xElf rest").decode(), # case-insensitive, as Tracee
    base64.b64encode(b"\x7fELF").decode(),   # exactly the magic
])
def test_fires(run_signatures, make_event, data):
    assert run(run_signatures, make_event, data) == [("TRC-9", {"file path": "/tmp/x"})]


@pytest.mark.parametrize("data, container", [
    (base64.b64encode(ELF).decode(), False), (base64.b64encode(ELF).decode(), "init"),  # not a started container
    (base64.b64encode(b"#!/bin/sh\n").decode(), True), (base64.b64encode(b"\x7fEL").decode(), True),
    ("not base64!", True), ("", True), (None, True), (12, True), (b"MZ\x90\x00", True),
])
def test_near_misses(run_signatures, make_event, data, container):
    assert run(run_signatures, make_event, data, container) == []


def test_needs_a_pathname(run_signatures, make_event):
    event = make_event("magic_write", bytes=ELF, container=True)
    assert run_signatures([DroppedExecutable()], [event]) == []


def test_stream(run_stream):
    findings = run_stream("trc-9.jsonl")
    assert [(f["SigMetadata"]["ID"], f["Context"]["eventName"], f["Data"]) for f in findings] == [
        ("TRC-9", "magic_write", {"file path": "/tmp/load1.so"})]
    assert findings[0]["SigMetadata"] == {
        "ID": "TRC-9", "Version": "0.1.0", "Name": "New Executable Was Dropped During Runtime",
        "Description": "An Executable file was dropped in your system during runtime. Usually container images "
                       "are built with all binaries needed inside, a dropped binary may indicate an adversary "
                       "infiltrated into your container.",
        "Tags": ["linux", "container"],
        "Properties": {"MITRE ATT&CK": "Defense Evasion: Masquerading", "Severity": 2}}


def test_near_miss_stream(run_stream):
    assert run_stream("trc-9-nearmiss.jsonl") == []
