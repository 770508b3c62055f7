"""End to end through the `tracee` command: go-cel rule files in --rules-dir, Tracee JSON events in."""

from __future__ import annotations

import json
import re

from tracee.testing import assert_signature_contract

from conftest import DATA

EVENTS = str(DATA / "events.jsonl")


def findings(stdout: str) -> list[tuple[str, int]]:
    """(signature ID, event timestamp) of each rawjson finding line."""
    out = []
    for line in stdout.splitlines():
        item = json.loads(line)
        out.append((item["SigMetadata"]["ID"], item["Context"]["timestamp"] % 100))
    return out


def test_rules_fire_on_matching_events_and_not_on_near_misses(tracee, cel_backend):
    result = tracee("run", "--input", f"file:{EVENTS}", "--output", "json", "--rules-dir", str(DATA / "rules"))
    assert result.returncode == 0, result.stderr
    # 1: PTRACE_TRACEME; 2: PTRACE_ATTACH and 3: a numeric request are near misses.
    # 4: /usr/bin/bash exec; 5: /usr/bin/bashbug is not; 6: openat of /bin/sh is not a selected event.
    # 7: 216.58.209.14:80; 8: the same address on port 443 and 9: a unix socket are not.
    assert findings(result.stdout) == [("CEL-2", 1), ("CEL-5", 4), ("CEL-SOCKADDR", 7)]
    assert "0 error(s)" in result.stderr
    expected = cel_backend if cel_backend != "auto" else r"cel-\S+"
    assert re.search(rf"CEL: 3 of 3 rule\(s\) from 3 file\(s\) loaded, backend {expected}\n", result.stderr)


def test_finding_carries_metadata_from_the_yaml(tracee):
    result = tracee("run", "--input", f"file:{EVENTS}", "--output", "json", "--rules-dir", str(DATA / "rules"),
                    "--rules", "CEL-2")
    assert result.returncode == 0, result.stderr
    (line,) = result.stdout.splitlines()
    item = json.loads(line)
    assert item["Data"] is None  # go-cel findings carry no data
    assert item["SigMetadata"] == {
        "ID": "CEL-2", "Version": "0.1.0", "Name": "Anti-Debugging",
        "Description": "A process used ptrace(PTRACE_TRACEME) to detect a debugger",
        "Tags": ["linux", "containers"],
        "Properties": {"Severity": 3, "MITRE ATT&CK": "Defense Evasion: Execution Guardrails"}}
    assert item["Context"]["processName"] == "evasive"


def test_default_output_detection_block(tracee):
    result = tracee("run", "--input", f"file:{EVENTS}", "--rules-dir", str(DATA / "rules"), "--rules", "CEL-5")
    assert result.returncode == 0, result.stderr
    assert "*** Detection ***" in result.stdout and "Signature ID: CEL-5" in result.stdout


def test_yaml_of_another_kind_is_skipped_with_a_warning(tracee):
    result = tracee("list", "--rules-dir", str(DATA / "rules"))
    assert result.returncode == 0, result.stderr
    assert re.search(r"not-cel\.yaml: 2:1: not a CEL SignaturesConfig \(kind: ConfigMap\); file skipped",
                     result.stderr)
    assert "Loaded 3 signature(s): [CEL-2 CEL-5 CEL-SOCKADDR]" in result.stdout


def test_broken_expression_is_reported_with_its_position_and_the_others_still_run(tracee):
    result = tracee("run", "--input", f"file:{EVENTS}", "--output", "json", "--rules-dir", str(DATA / "broken"))
    assert result.returncode == 0, result.stderr
    # The stray '=' is on line 11, column 77 of the YAML file.
    (line,) = [ln for ln in result.stderr.splitlines() if "BROKEN-1" in ln]
    assert re.fullmatch(r"tracee: error: \S*broken/rules\.yaml: signature BROKEN-1: 11:77: "
                        r"(?i:syntax error)\b.*", line), line
    assert "Traceback" not in result.stderr
    assert "Loaded 2 signature(s): [GOOD-1 GOOD-2]" in result.stderr
    assert findings(result.stdout) == [("GOOD-1", 1)]
    assert "1 error(s)" in result.stderr


def test_broken_expression_is_fatal_with_strict_plugins(tracee):
    result = tracee("run", "--input", f"file:{EVENTS}", "--rules-dir", str(DATA / "broken"), "--strict-plugins")
    assert result.returncode == 1
    assert re.search(r"signature BROKEN-1: 11:77: ", result.stderr)
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


def test_entry_point_is_discovered(tracee):
    result = tracee("plugins", "--json")
    assert result.returncode == 0, result.stderr
    (mine,) = [p for p in json.loads(result.stdout) if p["distribution"] == "tracee-sig-cel"]
    assert mine["name"] == "sig-cel" and mine["module"] == "tracee_sig_cel"
    assert mine["provides"]["rule_loaders"] == ["cel"]
    assert mine["provides"]["cli_options"] == ["--cel-backend"]
    assert "error" not in mine


def test_backend_option_is_in_run_help(tracee):
    result = tracee("run", "--help")
    assert "--cel-backend [auto|cel-python|cel-expr-python]" in result.stdout
    assert "TRACEE_CEL_BACKEND" in result.stdout


def test_unknown_backend_in_environment_is_one_clear_line(tracee):
    result = tracee("list", "--rules-dir", str(DATA / "rules"), env={"TRACEE_CEL_BACKEND": "v8"})
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == (
        "tracee: error: --cel-backend v8: unknown backend (choose from auto, cel-python, cel-expr-python)")


def test_loaded_rules_meet_the_signature_contract(installed_signatures, cel_backend, monkeypatch):
    monkeypatch.setenv("TRACEE_CEL_BACKEND", cel_backend)  # installed_signatures passes no CLI options
    sigs = installed_signatures(rules_dirs=[str(DATA / "rules")])
    cel = [s for s in sigs if getattr(s, "path", "").startswith(str(DATA))]
    assert sorted(s.get_metadata().id for s in cel) == ["CEL-2", "CEL-5", "CEL-SOCKADDR"]
    for sig in cel:
        assert_signature_contract(sig)
