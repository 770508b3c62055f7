"""The outputs the core ships: Tracee's detection block and rawjson."""

import io
import json
import re

import pytest

from tracee import Finding, OutputContext, SignatureMetadata
from tracee.outputs.stdout import DetectionBlock, RawJSON
from tracee.testing import make_event

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


@pytest.mark.parametrize("name", ["stdout", "json"])
def test_output_contract(name):
    from tracee.outputs import stdout
    from tracee.testing import assert_output_contract

    specs = []
    stdout.tracee_register_outputs(specs.append)
    assert_output_contract(next(s for s in specs if s.name == name))
