"""The stdout outputs: Tracee's detection block, rawjson, and user templates."""

import io
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tracee import Finding, OutputContext, SignatureMetadata
from tracee.api import Reporter
from tracee.testing import make_event
from tracee_output_stdout import DetectionBlock, RawJSON, Template

META = SignatureMetadata(id="TRC-1", name="Standard Input/Output Over Socket", version="0.1.0",
                         description="Redirection of process's standard input/output to socket",
                         tags=("linux", "container"),
                         properties={"Severity": 3, "MITRE ATT&CK": "Persistence: Server Software Component"})


def render(cls, finding, argument=""):
    stream = io.StringIO()
    out = cls(OutputContext(argument, Reporter(io.StringIO()), {}, stream))
    out.write(finding)
    out.close()
    return stream.getvalue()


def finding(data):
    event = make_event("execve", context={"process_id": 21312, "timestamp": 1321321, "container_id": "abbc123",
                                          "process_name": "strace", "host_name": "fujitsu"}, container=True)
    event.args = []
    return Finding(data, event, META)


def test_detection_block_matches_tracee():
    text = render(DetectionBlock, finding({"foo1": "bar1, baz1", "foo2": ["bar2", "baz2"]}))
    assert re.fullmatch(r"\n\*\*\* Detection \*\*\*\nTime: \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\n"
                        r"Signature ID: TRC-1\nSignature: Standard Input/Output Over Socket\n"
                        r"Data: map\[foo1:bar1, baz1 foo2:\[bar2 baz2\]\]\nCommand: strace\nHostname: fujitsu\n", text)


def test_detection_block_nil_data_is_empty_map():
    assert "\nData: map[]\n" in render(DetectionBlock, finding(None))


def test_rawjson_matches_tracee_golden():
    """TRACEE.md §6.5: the v0.8.3 rawjson golden, compared as JSON."""
    line = render(RawJSON, finding({"a": 123, "b": "c", "d": True, "f": {"123": "456", "foo": "bar"}}))
    got = json.loads(line)
    assert got["Data"] == {"a": 123, "b": "c", "d": True, "f": {"123": "456", "foo": "bar"}}
    assert got["SigMetadata"] == {"ID": "TRC-1", "Version": "0.1.0", "Name": "Standard Input/Output Over Socket",
                                  "Description": "Redirection of process's standard input/output to socket",
                                  "Tags": ["linux", "container"],
                                  "Properties": {"MITRE ATT&CK": "Persistence: Server Software Component", "Severity": 3}}
    ctx = got["Context"]
    assert (ctx["timestamp"], ctx["processId"], ctx["containerId"], ctx["eventName"]) == (1321321, 21312, "abbc123", "execve")
    assert ctx["contextFlags"] == {"containerStarted": True} and ctx["args"] is None
    assert '"MITRE ATT\\u0026CK"' in line and line.endswith("}\n") and line.count("\n") == 1


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
    assert plugin["provides"]["outputs"] == ["stdout", "json", "template"]
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


@pytest.mark.parametrize("name", ["stdout", "json"])
def test_output_contract(name):
    from tracee.testing import assert_output_contract
    import tracee_output_stdout

    specs = []
    tracee_output_stdout.tracee_register_outputs(specs.append)
    assert_output_contract(next(s for s in specs if s.name == name))


def test_a_go_template_is_refused_clearly(tmp_path):
    path = tmp_path / "rawjson.tmpl"
    path.write_text('{"Data":{{ toJson .Data }}}\n')
    with pytest.raises(ValueError, match=r"rawjson\.tmpl:1: this looks like a Go template"):
        render(Template, finding(None), str(path))
