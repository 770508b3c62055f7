"""TRC-12 (illegitimate shell): web servers executing shells, both lists extended by config, CLI stream."""

from __future__ import annotations

import pytest

from tracee import SignatureError
from tracee_sig_builtin.illegitimate_shell import IllegitimateShell


def run(run_signatures, make_event, path="/bin/sh", comm="nginx", container=False, sig=None):
    event = make_event("security_bprm_check", pathname=path, dev=2049, inode=1311, container=container,
                       context={"process_name": comm})
    return [(f.metadata.id, f.data) for f in run_signatures([sig or IllegitimateShell()], [event])]


@pytest.mark.parametrize("comm", ["nginx", "httpd", "httpd-foregroun", "lighttpd", "apache", "apache2"])
@pytest.mark.parametrize("path", ["/bin/ash", "/bin/bash", "/bin/csh", "/bin/ksh", "/bin/sh", "/usr/bin/tcsh",
                                  "/usr/bin/zsh", "/usr/bin/dash"])
def test_fires(run_signatures, make_event, comm, path):
    assert run(run_signatures, make_event, path, comm) == [("TRC-12", None)]


@pytest.mark.parametrize("container", [True, "init"])
def test_every_origin(run_signatures, make_event, container):
    assert run(run_signatures, make_event, container=container) == [("TRC-12", None)]


@pytest.mark.parametrize("path, comm", [
    ("/usr/bin/php-cgi", "apache"), ("/bin/sh", "bash"), ("/usr/bin/shellcheck", "nginx"),
    ("sh", "nginx"), ("/bin/fish", "nginx"), ("/bin/sh", "http-nio"), ("/bin/sh", "Nginx"), ("/bin/sh.bak", "httpd"),
])
def test_near_misses(run_signatures, make_event, path, comm):
    assert run(run_signatures, make_event, path, comm) == []


def test_lists_extended_from_config(run_signatures, make_event):
    sig = IllegitimateShell()
    sig.configure({"web_servers": ["http-nio", "caddy"], "shells": ["fish", "/busybox"]})
    assert run(run_signatures, make_event, "/bin/sh", "http-nio", sig=sig) == [("TRC-12", None)]
    assert run(run_signatures, make_event, "/usr/bin/fish", "nginx", sig=sig) == [("TRC-12", None)]
    assert run(run_signatures, make_event, "/bin/busybox", "caddy", sig=sig) == [("TRC-12", None)]
    assert run(run_signatures, make_event, "/bin/bash", "apache2", sig=sig) == [("TRC-12", None)]
    assert run(run_signatures, make_event, "/bin/catfish", "caddy", sig=sig) == []


@pytest.mark.parametrize("settings, message", [
    ({"webservers": []}, "unknown setting 'webservers' (known: shells, web_servers)"),
    ({"shells": "fish"}, "'shells' must be a list of strings"),
    ({"shells": ["/usr/bin/fish"]}, "give program names such as 'fish', not paths"),
    ({"web_servers": [None]}, "every entry must be a non-empty string"),
])
def test_bad_settings(settings, message):
    with pytest.raises(SignatureError) as info:
        IllegitimateShell().configure(settings)
    assert message in str(info.value)


def test_stream(run_stream):
    findings = run_stream("trc-12.jsonl")
    assert [(f["SigMetadata"]["ID"], f["Context"]["eventName"], f["Data"]) for f in findings] == [
        ("TRC-12", "security_bprm_check", None)]
    assert findings[0]["SigMetadata"] == {
        "ID": "TRC-12", "Version": "0.1.0", "Name": "Illegitimate Shell",
        "Description": "A program on your server spawned a shell program. Shell is the linux command-line program, "
                       "server programs usually don't run shell programs, so this alert might indicate an adversary "
                       "is exploiting a server program to spawn a shell on your server.",
        "Tags": ["linux", "container"],
        "Properties": {"MITRE ATT&CK": "Initial Access: Exploit Public-Facing Application", "Severity": 2}}


def test_near_miss_stream(run_stream):
    assert run_stream("trc-12-nearmiss.jsonl") == []
