"""Request bodies: rawjson, falcosidekick (as falcosidekick validates it), templates, Tracee's names."""

from __future__ import annotations

import json

import pytest

from webhook_testkit import falcosidekick_problems, make_finding
from tracee import SignatureMetadata
from tracee.formatting import rawjson
from tracee_output_webhook.payloads import PRIORITIES, falcosidekick, image_parts, priority, select_renderer


def test_rawjson_is_tracee_rawjson():
    finding = make_finding()
    name, render = select_renderer("rawjson")
    assert name == "rawjson"
    assert render(finding) == rawjson(finding)
    body = json.loads(render(finding))
    assert set(body) == {"Data", "Context", "SigMetadata"}
    assert body["SigMetadata"]["ID"] == "TEST-1"


def test_default_format_is_rawjson():
    assert select_renderer(None)[0] == "rawjson"


@pytest.mark.parametrize("severity, expected", [
    (0, "Informational"), (1, "Notice"), (2, "Warning"), (3, "Error"), (4, "Critical"),
    ("3", "Error"), ("HIGH", "Error"), ("critical", "Critical"), ("info", "Informational"),
    (None, "Warning"), (9, "Warning"), ("urgent", "Warning"), (2.0, "Warning"), (True, "Warning"),
])
def test_severity_to_priority_table(severity, expected):
    props = {} if severity is None else {"Severity": severity}
    finding = make_finding(meta=SignatureMetadata(id="S", name="s", properties=props))
    assert priority(finding) == expected


def test_every_priority_is_one_falcosidekick_parses():
    assert {p.lower() for p in PRIORITIES.values()} <= {"informational", "notice", "warning", "error", "critical"}


def test_falcosidekick_payload_passes_its_check_and_carries_the_context():
    finding = make_finding(7, container_id="c0ffee" * 10, container_name="web", container_image="nginx:1",
                           pod_name="web-0", pod_namespace="prod", host_process_id=4242, process_name="cat",
                           timestamp=1_700_000_000_123_456_789, host_name="node-1")
    body = select_renderer("falcosidekick")[1](finding).encode()
    assert falcosidekick_problems(body) == []
    p = json.loads(body)
    assert p["priority"] == "Error"
    assert p["rule"] == "Shadow file opened"
    assert p["time"] == "2023-11-14T22:13:20.123456789Z"
    assert p["source"] == "tracee"
    assert p["hostname"] == "node-1"
    assert p["tags"] == sorted({"TEST-1", "linux", "container"})
    f = p["output_fields"]
    assert f["proc.name"] == "cat" and f["proc.pid"] == 4242 and f["proc.vpid"] == 107
    assert f["container.id"] == "c0ffee" * 10 and f["container.name"] == "web"
    assert f["container.image"] == "nginx:1"
    assert f["container.image.repository"] == "nginx" and f["container.image.tag"] == "1"
    assert f["k8s.pod.name"] == "web-0" and f["k8s.ns.name"] == "prod"
    assert f["evt.type"] == "openat" and f["evt.arg.pathname"] == "/etc/shadow"
    assert f["tracee.data.path"] == "/etc/shadow" and f["tracee.data.n"] == 7
    assert f["tracee.sig.id"] == "TEST-1"
    assert p["output"].startswith("2023-11-14T22:13:20.123456789Z: Error Shadow file opened (TEST-1) process=cat")


def test_falcosidekick_flattens_nested_data_and_keeps_host_fields_out_when_empty():
    finding = make_finding(data={"remote": {"ip": "10.0.0.1", "port": 443}, "argv": ["sh", "-c"],
                                 "raw": b"\x00\x01"})
    f = falcosidekick(finding)["output_fields"]
    assert f["tracee.data.remote.ip"] == "10.0.0.1" and f["tracee.data.remote.port"] == 443
    assert f["tracee.data.argv"] == ["sh", "-c"]
    assert f["tracee.data.raw"] == "AAE="
    assert "container.id" not in f and "k8s.pod.name" not in f


def test_falcosidekick_payload_is_valid_with_no_data_no_severity_and_relative_time():
    meta = SignatureMetadata(id="BARE-1", name="")
    finding = make_finding(meta=meta, data=None, timestamp=1321321)
    p = falcosidekick(finding)
    assert falcosidekick_problems(json.dumps(p).encode()) == []
    assert p["rule"] == "BARE-1"          # the name is empty: the ID keeps `rule` non-empty
    assert p["time"] > "2020"            # boot-relative time: the send time instead of 1970
    assert p["priority"] == "Warning"


def test_tracee_template_names_and_bundled_files_select_the_builtin_formats(tmp_path):
    assert select_renderer("falcosidekick")[0] == "falcosidekick"
    # tracee-rules users pass the bundled Go template files; they are mapped to the built-ins.
    assert select_renderer("/tracee/templates/falcosidekick.tmpl")[0] == "falcosidekick"
    assert select_renderer("templates/rawjson.tmpl")[0] == "rawjson"


def test_a_jinja2_template_file(tmp_path):
    path = tmp_path / "slack.j2"
    path.write_text('{"text": "{{ Priority }}: {{ SigMetadata.Name }} by {{ Context.processName }} '
                    'at {{ Time }} {{ Data | gomap }}", "data": {{ Data | tojson }}}\n')
    name, render = select_renderer(str(path))
    assert name == "template"
    body = json.loads(render(make_finding(3, process_name="cat", timestamp=1_700_000_000_000_000_000)))
    assert body == {"text": "Error: Shadow file opened by cat at 2023-11-14T22:13:20.000000000Z "
                            "map[n:3 path:/etc/shadow]", "data": {"n": 3, "path": "/etc/shadow"}}


def test_a_go_template_file_runs_and_its_errors_name_the_line(tmp_path):
    path = tmp_path / "mine.tmpl"
    path.write_text('{"Data":{{ toJson .Data }},"id":"{{ .SigMetadata.ID }}"}')
    name, render = select_renderer(str(path))
    assert name == "template" and json.loads(render(make_finding(3)))["Data"] == {"n": 3, "path": "/etc/shadow"}
    path.write_text("{{ if .Data }}")
    with pytest.raises(ValueError, match=r"mine.tmpl:1:1: unexpected EOF"):
        select_renderer(str(path))


def test_a_missing_template_file_is_one_clear_error(tmp_path):
    with pytest.raises(ValueError, match="no such file"):
        select_renderer(str(tmp_path / "nope.j2"))



@pytest.mark.parametrize("image, parts", [
    ("nginx", ("nginx", "")), ("nginx:1.25", ("nginx", "1.25")), ("local/busybox:1", ("local/busybox", "1")),
    ("registry:5000/team/app", ("registry:5000/team/app", "")),
    ("registry:5000/team/app:2@sha256:abc", ("registry:5000/team/app", "2")),
    ("docker.io/library/redis@sha256:abc", ("docker.io/library/redis", "")),
])
def test_image_repository_and_tag(image, parts):
    assert image_parts(image) == parts
