"""The template output: user templates (Jinja2) rendered per finding on stdout."""

import io
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tracee import Finding, OutputContext, SignatureMetadata
from tracee.testing import make_event
from tracee_output_stdout import Template

META = SignatureMetadata(id="TRC-1", name="Standard Input/Output Over Socket", version="0.1.0",
                         description="Redirection of process's standard input/output to socket",
                         tags=("linux", "container"),
                         properties={"Severity": 3, "MITRE ATT&CK": "Persistence: Server Software Component"})


def render(cls, finding, argument=""):
    stream = io.StringIO()
    out = cls(OutputContext(argument, {}, stream))
    out.write(finding)
    out.close()
    return stream.getvalue()


def finding(data):
    event = make_event("execve", context={"process_id": 21312, "timestamp": 1321321, "container_id": "abbc123",
                                          "process_name": "strace", "host_name": "fujitsu"}, container=True)
    event.args = []
    return Finding(data, event, META)


def test_user_template(tmp_path):
    path = tmp_path / "t.j2"
    path.write_text("{{ SigMetadata.ID }}|{{ Context.processName }}|{{ Data | gomap }}|{{ Data | tojson }}\n")
    assert render(Template, finding({"b": 1, "a": "x"}), str(path)) == 'TRC-1|strace|map[a:x b:1]|{"a":"x","b":1}\n'


def test_template_errors_name_file_and_line(tmp_path):
    path = tmp_path / "bad.j2"
    path.write_text("ok\n{{ Data | \n")
    with pytest.raises(ValueError, match=r"bad\.j2:2: "):
        render(Template, finding(None), str(path))
    with pytest.raises(ValueError, match="No such file"):
        render(Template, finding(None), str(tmp_path / "missing.j2"))


def test_entry_point_is_installed_and_discovered():
    tracee = Path(sys.executable).parent / "tracee"
    result = subprocess.run([str(tracee), "plugins", "--json"], capture_output=True, text=True, check=True)
    plugin = next(p for p in json.loads(result.stdout) if p["distribution"] == "tracee-output-stdout")
    assert plugin["provides"]["outputs"] == ["template"]
    assert "error" not in plugin


def test_bad_template_on_the_command_line_is_one_line(tmp_path):
    path = tmp_path / "bad.j2"
    path.write_text("{% for %}")
    tracee = Path(sys.executable).parent / "tracee"
    r = subprocess.run([str(tracee), "run", "--input", "file:-", "--output", f"template:{path}"],
                       capture_output=True, text=True, input="")
    if "no signatures loaded" in r.stderr:
        pytest.skip("needs an installed signature")
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "bad.j2:1:" in r.stderr


def test_output_contract(tmp_path):
    from tracee.testing import assert_output_contract
    import tracee_output_stdout

    path = tmp_path / "t.j2"
    path.write_text("{{ SigMetadata.ID }}\n")
    specs = []
    tracee_output_stdout.tracee_register_outputs(specs.append)
    assert_output_contract(next(s for s in specs if s.name == "template"), str(path))


def test_a_go_template_runs_as_tracee_rules_runs_it(tmp_path):
    path = tmp_path / "rawjson.tmpl"
    path.write_text('{"Data":{{ toJson .Data }},"Context":{{ toJson .Event.Payload }}}\n')
    out = json.loads(render(Template, finding({"a": 1}), str(path)))
    assert out["Data"] == {"a": 1} and out["Context"]["processName"] == "strace"
    path.write_text("ok\n{{ nosuch .Data }}\n")
    with pytest.raises(ValueError, match=r'rawjson\.tmpl:2:4: function "nosuch" not defined'):
        render(Template, finding(None), str(path))
