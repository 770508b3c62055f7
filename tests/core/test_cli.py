"""The `tracee` and `tracee-rules` commands as a user runs them (installed console scripts)."""

import json
import re

import pytest


def ids(stdout: str) -> list[str]:
    return [json.loads(line)["SigMetadata"]["ID"] for line in stdout.splitlines()]


def test_run_json_prints_rawjson_findings(cli, data):
    r = cli("tracee", "run", "--input", f"file:{data / 'mixed.jsonl'}", "--output", "json", "--rules", "EXAMPLE-1")
    assert r.returncode == 0, r.stderr
    findings = [json.loads(line) for line in r.stdout.splitlines()]
    assert [f["Context"]["processName"] for f in findings] == ["cat", "less"]
    first = findings[0]
    assert set(first) == {"Data", "Context", "SigMetadata"}
    assert first["Data"] == {"path": "/etc/shadow"}
    assert first["Context"]["eventId"] == "257" and first["Context"]["contextFlags"] == {"containerStarted": False}
    assert first["SigMetadata"] == {"ID": "EXAMPLE-1", "Version": "1.0.0", "Name": "Shadow file opened",
                                    "Description": "A process opened /etc/shadow", "Tags": ["linux", "example"],
                                    "Properties": {"MITRE ATT&CK": "Credential Access: OS Credential Dumping",
                                                   "Severity": 2}}
    assert "\\u0026" in r.stdout  # Go's encoder escapes '&'


def test_bad_lines_are_reported_with_line_numbers_counted_and_skipped(cli, data):
    r = cli("tracee", "run", "--input", f"file:{data / 'mixed.jsonl'}", "--output", "json")
    assert r.returncode == 0
    err = r.stderr
    assert "mixed.jsonl:3: invalid JSON: unexpected text at column 1; line skipped" in err
    assert "mixed.jsonl:4: argument 'pathname': unrecognized argument type 'weird_t'; line skipped" in err
    assert "signature EXAMPLE-BOOM failed in on_event: RuntimeError: boom" in err
    summary = err.strip().splitlines()[-1]
    assert summary.startswith("tracee: summary: 6 events read, 1 skipped, 2 dropped, 3 decoded, 2 finding(s)")
    assert "EXAMPLE-1=3" in summary and "signature errors: EXAMPLE-BOOM=3" in summary
    assert ids(r.stdout) == ["EXAMPLE-1", "EXAMPLE-1"]  # the other findings are intact
    assert "Traceback" not in err


def test_stdin_input(cli, data):
    r = cli("tracee", "run", "--input", "file:-", "--output", "json", "--rules", "EXAMPLE-1",
            stdin=(data / "shadow.jsonl").read_text())
    assert r.returncode == 0 and ids(r.stdout) == ["EXAMPLE-1"]


def test_tracee_rules_prints_the_detection_block(cli, data):
    r = cli("tracee-rules", "--input-tracee", f"file:{data / 'shadow.jsonl'}", "--input-tracee", "format:json",
            "--rules", "EXAMPLE-1")
    assert r.returncode == 0, r.stderr
    assert re.fullmatch(r"\n\*\*\* Detection \*\*\*\nTime: \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\nSignature ID: EXAMPLE-1\n"
                        r"Signature: Shadow file opened\nData: map\[path:/etc/shadow\]\nCommand: cat\nHostname: box\n",
                        r.stdout), r.stdout


def test_tracee_rules_stdin_and_template(cli, data, tmp_path):
    template = tmp_path / "t.tmpl"
    template.write_text("{{ SigMetadata.ID }} {{ Event.Payload.processName }} {{ Data | gomap }}\n")
    r = cli("tracee-rules", "--input-tracee", "file:stdin", "--input-tracee", "FORMAT:JSON", "--rules",
            "EXAMPLE-1", "--output-template", str(template), stdin=(data / "shadow.jsonl").read_text())
    assert r.returncode == 0, r.stderr
    assert r.stdout == "EXAMPLE-1 cat map[path:/etc/shadow]\n"


def test_list_table_as_tracee_prints_it(cli):
    r = cli("tracee", "list", "--rules", "EXAMPLE-1")
    assert r.stdout == ("Loaded 1 signature(s): [EXAMPLE-1]\n"
                        "ID         NAME                                VERSION DESCRIPTION\n"
                        "EXAMPLE-1  Shadow file opened                  1.0.0   A process opened /etc/shadow\n")
    assert cli("tracee-rules", "--list", "--rules", "EXAMPLE-1").stdout == r.stdout


def test_list_table_is_sorted_by_id_and_aligned_for_long_names():
    from tracee import EventSelector, Signature, SignatureMetadata
    from tracee.cli import list_table
    from tracee.runner import LoadedSignature

    def sig(sid, name):
        cls = type(sid, (Signature,), {"metadata": SignatureMetadata(id=sid, name=name, description="d"),
                                       "selected_events": [EventSelector("ptrace")]})
        return LoadedSignature(cls(), "test")

    long_name = "A signature whose name is much longer than Tracee's thirty-five columns"
    table = list_table([sig("TRC-10", "ten"), sig("TRC-2", long_name), sig("ACME-1", "acme")]).splitlines()
    assert table[0] == "Loaded 3 signature(s): [TRC-10 TRC-2 ACME-1]"  # load order, as Tracee
    assert [line.split()[0] for line in table[2:]] == ["ACME-1", "TRC-2", "TRC-10"]  # TRC-2 before TRC-10
    starts = {line.index(word) for line, word in zip(table[1:], ("VERSION", "0.1.0", "0.1.0", "0.1.0"))}
    assert len(starts) == 1 and starts.pop() == len("TRC-10".ljust(10)) + 1 + len(long_name) + 1


def test_list_events(cli):
    assert cli("tracee", "list-events").stdout == "openat\n"
    assert cli("tracee-rules", "--list-events").stdout == "openat\n"


def test_version(cli):
    r = cli("tracee", "--version")
    assert r.returncode == 0 and re.match(r"tracee, version \d+\.\d+", r.stdout)


@pytest.mark.parametrize("args,message", [
    (["run", "--input", "nope:x"], "--input nope:x: unknown input 'nope' (available: file, gob)"),
    (["run", "--input", "file:/does/not/exist"], "--input file:/does/not/exist: No such file or directory"),
    (["run", "--input", "file:-", "--output", "carrier-pigeon"], "unknown output 'carrier-pigeon'"),
    (["run", "--input", "file:-", "--rules", "NOPE-1"], "--rules: unknown signature ID NOPE-1"),
    (["run", "--input", "file:-", "--rules-dir", "/does/not/exist"], "--rules-dir /does/not/exist"),
    (["run", "--bogus"], "No such option"),
    (["frobnicate"], "No such command 'frobnicate'"),
])
def test_usage_errors_are_one_line_and_exit_2(cli, args, message):
    r = cli("tracee", *args, stdin="")
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("tracee: error: ") and message in lines[0], r.stderr
    assert r.returncode == 2


def test_tracee_rules_usage(cli):
    r = cli("tracee-rules")
    assert r.returncode == 2 and r.stderr.strip().endswith("tracee: error: no flags specified")
    r = cli("tracee-rules", "--input-tracee", "file:x", "--input-tracee", "format:xml")
    assert r.returncode == 2 and "format:xml: unknown format (json, gob)" in r.stderr
    r = cli("tracee-rules", "--input-tracee", "file:/nonexistent", "--input-tracee", "format:gob")
    assert r.returncode == 2 and "gob:/nonexistent: No such file or directory" in r.stderr


def test_config_disables_by_id_and_tag(cli, tmp_path):
    conf = tmp_path / "tuning.yaml"
    conf.write_text("disable:\n  ids: [EXAMPLE-BOOM]\n")
    assert "EXAMPLE-BOOM" not in cli("tracee", "list", "--config", str(conf)).stdout
    conf.write_text("disable:\n  tags: [example]\n")
    out = cli("tracee", "list", "--config", str(conf)).stdout
    assert "EXAMPLE-1" not in out and "EXAMPLE-BOOM" in out


@pytest.mark.parametrize("text,message", [
    ("disable: [\n", "tuning.yaml:2:1:"),
    ("colour: blue\n", "unknown key 'colour'"),
    ("signatures:\n  EXAMPLE-1:\n    allow: [x]\n", "signatures.EXAMPLE-1: EXAMPLE-1 takes no settings"),
])
def test_config_errors_name_the_file(cli, tmp_path, text, message):
    conf = tmp_path / "tuning.yaml"
    conf.write_text(text)
    r = cli("tracee", "list", "--config", str(conf))
    assert r.returncode == 2 and message in r.stderr and "Traceback" not in r.stderr, r.stderr


def test_no_live_input_installed_is_a_clear_error(cli):
    import importlib.util

    if importlib.util.find_spec("tracee_input_ebpf"):
        pytest.skip("the eBPF input is installed here")
    r = cli("tracee", "run")
    assert r.returncode == 2 and "no --input given and no live input is installed" in r.stderr
