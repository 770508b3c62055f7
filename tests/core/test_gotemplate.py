"""The Go-template engine: Tracee's shipped templates and the language, against goldens written by
Go's own text/template (and Go again, when it is installed); refusals name file:line.

Regenerate the goldens after changing a template or the fixed data, with Go installed:
    python tests/core/test_gotemplate.py /path/to/gointerop
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest

from tracee import Event, Finding, SignatureMetadata
from tracee.formats.gotemplate import GoTemplateError, Template, event_data, finding_data, load, sprint

DIR = Path(__file__).resolve().parent / "data" / "gotemplate"
NOW = datetime(2021, 2, 23, 1, 54, 57, tzinfo=timezone.utc)
FINDING_TEMPLATES = ["rawjson", "falcosidekick", "simple", "csv", "xml", "sprig", "detection", "constructs-finding"]
EVENT_TEMPLATES = ["constructs-event", "table"]


def the_event() -> Event:
    return Event("security_socket_connect", [
        {"name": "sockfd", "type": "int", "value": -100},
        {"name": "remote_addr", "type": "struct sockaddr*",
         "value": {"sin_port": "53", "sa_family": "AF_INET", "sin_addr": "10.225.0.2"}},
        {"name": "pathname", "type": "const char*", "value": "/etc/<shadow>&"},
        {"name": "argv", "type": "const char**", "value": ["sh", "-c", "id"]},
        {"name": "skip", "type": "int", "value": 1},
        {"name": "old_cred", "type": "slim_cred_t", "value": {
            "Uid": 1000, "Gid": 1000, "Suid": 0, "Sgid": 0, "Euid": 0, "Egid": 0, "Fsuid": 0, "Fsgid": 0,
            "UserNamespace": 4026531837, "SecureBits": 0, "CapInheritable": 0, "CapPermitted": 0,
            "CapEffective": 0, "CapBounding": 2199023255551, "CapAmbient": 0}},
        {"name": "bytes", "type": "bytes", "value": b"\x7fELF"},
        {"name": "inode", "type": "unsigned long", "value": 18446744073709551615},
        {"name": "ratio", "type": "float64", "value": 0.25},
        {"name": "stop", "type": "int", "value": 0},
        {"name": "after", "type": "bool", "value": True},
    ], event_id=2004, timestamp=1321321, process_id=21312, host_process_id=21312, thread_id=21312,
        process_name="sh", host_name="box", user_id=1000, return_value=0, cgroup_id=2**64 - 1,
        container_id="abbc123", container_started=True)


def the_finding() -> Finding:
    meta = SignatureMetadata(id="TRC-1", version="0.1.0", name="Standard Input/Output Over Socket",
                             description="Redirection of process's standard input/output to socket",
                             tags=("linux", "container"),
                             properties={"MITRE ATT&CK": "Persistence: Server Software Component", "Severity": 3})
    event = Event("execve", [{"name": "pathname", "type": "const char*", "value": "/bin/sh"}],
                  timestamp=1321321, process_id=21312, host_process_id=21312, process_name="sh",
                  host_name="box", container_id="abbc123", container_started=True, event_id=59)
    return Finding({"a": 123, "b": "c", "d": True, "f": {"123": "456", "foo": "bar"}}, event, meta)


def go_input(kind: str) -> bytes:
    if kind == "event":
        return the_event().to_json().encode()
    f = the_finding()
    return json.dumps({"Data": f.data, "SigMetadata": f.metadata.to_dict(),
                       "Event": {"Headers": {"Selector": {"Name": f.event.event_name, "Origin": f.event.origin,
                                                          "Source": "tracee"}},
                                 "Payload": f.event.to_dict()}}).encode()


def ours(name: str, kind: str) -> str:
    data = finding_data(the_finding()) if kind == "finding" else event_data(the_event())
    return load(DIR / f"{name}.tmpl").execute(data, now=NOW)


def run_go(binary: str, name: str, kind: str) -> str:
    r = subprocess.run([binary, "template", str(DIR / f"{name}.tmpl"), kind], input=go_input(kind),
                       capture_output=True, env={**os.environ, "TEMPLATE_NOW": NOW.isoformat(), "TZ": "UTC"})
    assert r.returncode == 0, r.stderr.decode()
    return r.stdout.decode()


CASES = [(n, "finding") for n in FINDING_TEMPLATES] + [(n, "event") for n in EVENT_TEMPLATES]


@pytest.mark.parametrize("name, kind", CASES)
def test_our_output_is_gos(name, kind, monkeypatch):
    monkeypatch.setenv("TZ", "UTC")
    assert ours(name, kind) == (DIR / f"{name}.golden").read_text()


@pytest.mark.parametrize("name, kind", CASES)
def test_the_goldens_are_what_go_writes(gointerop, name, kind):
    assert run_go(gointerop, name, kind) == (DIR / f"{name}.golden").read_text()


def test_rawjson_template_and_builtin_rawjson_agree():
    from tracee.formatting import rawjson

    assert json.loads(ours("rawjson", "finding")) == json.loads(rawjson(the_finding()))


# -- refusals and errors ---------------------------------------------------------------------------
@pytest.mark.parametrize("source, message", [
    ('a\n{{ define "x" }}{{ end }}', "t.tmpl:2:1: {{define}} is not supported here (only one template per file)"),
    ('{{ template "x" . }}', "t.tmpl:1:1: {{template}} is not supported here"),
    ("{{ nosuchfn .X }}", 't.tmpl:1:4: function "nosuchfn" not defined'),
    ("{{ call .F }}", 't.tmpl:1:4: function "call" not defined'),
    ("x\n\n  {{ if .A }}", "t.tmpl:3:3: unexpected EOF: {{if}} has no {{end}}"),
    ("{{ end }}", "t.tmpl:1:1: unexpected {{end}}"),
    ("{{ .A", "t.tmpl:1:1: unclosed action"),
    ("{{ .A .B }}", "t.tmpl:1:7: can't give argument to non-function .A"),
    ("{{ break }}", "t.tmpl:1:1: {{break}} outside {{range}}"),
    ("{{ 'ab' }}", "t.tmpl:1:4: malformed character constant: 'ab'"),
    ("{{ # }}", "t.tmpl:1:4: unexpected '#' in action"),
])
def test_unsupported_or_bad_templates_are_refused_naming_the_line(source, message):
    with pytest.raises(GoTemplateError) as err:
        Template(source, "t.tmpl")
    assert str(err.value).startswith(message) and "\n" not in str(err.value)


def test_execution_errors_name_the_field_and_line():
    with pytest.raises(GoTemplateError, match=r"^t.tmpl:2:4: executing at <.Nope>: can't evaluate field Nope "
                                              r"in type trace.Event$"):
        Template("x\n{{ .Nope }}", "t.tmpl").execute(event_data(the_event()))
    with pytest.raises(GoTemplateError, match=r"nil pointer evaluating interface \{\}.deeper"):
        Template("{{ .Data.missing.deeper }}", "t.tmpl").execute(finding_data(the_finding()))
    with pytest.raises(GoTemplateError, match=r"error calling index: index out of range: 99"):
        Template("{{ index .Args 99 }}", "t.tmpl").execute(event_data(the_event()))


def test_load_names_a_missing_file():
    with pytest.raises(GoTemplateError, match="^/no/such.tmpl: No such file or directory$"):
        load("/no/such.tmpl")


def test_v06_templates_may_still_use_context():
    assert Template("{{ .Context.ProcessName }}").execute(finding_data(the_finding())) == "sh"


def test_floats_print_as_go_prints_them():
    assert [sprint(f) for f in (1.5, 1e21, 1e20, 123456789.0, 0.0001, 0.00001, 3.0, -2.5e-7, 100000.0)] == \
        ["1.5", "1e+21", "1e+20", "1.23456789e+08", "0.0001", "1e-05", "3", "-2.5e-07", "100000"]


if __name__ == "__main__":  # regenerate the goldens with Go's text/template
    binary = sys.argv[1]
    os.environ["TZ"] = "UTC"
    for template, data_kind in CASES:
        (DIR / f"{template}.golden").write_text(run_go(binary, template, data_kind))
        print("wrote", template)
