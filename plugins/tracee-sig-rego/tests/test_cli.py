"""The plugin as users meet it: the installed entry point, `tracee list`, `--rules`, `tracee run`."""

from __future__ import annotations

import re
import json

from tracee.testing import make_event

from rego_kit import SEEDS, TRC, run_tracee


def test_entry_point_is_installed_and_discovered():
    done = run_tracee("plugins", "--json")
    assert done.returncode == 0, done.stderr
    (mine,) = [p for p in json.loads(done.stdout) if p["distribution"] == "tracee-sig-rego"]
    assert mine["module"] == "tracee_sig_rego.plugin"
    assert mine["hooks"] == ["tracee_register_rule_loaders"]
    assert mine["provides"] == {"rule_loaders": ["rego"]}
    assert "error" not in mine


def test_list_shows_rego_rules_and_rules_selects_them_one_by_one():
    listed = run_tracee("list", "--rules-dir", str(TRC), "--rules-dir", str(SEEDS))
    assert listed.returncode == 0, listed.stderr
    assert listed.stderr == ""
    lines = listed.stdout.splitlines()
    assert lines[0].startswith("Loaded 17 signature(s): [")
    assert any(re.fullmatch(r"TCR-1 +cmd whoami +1\.0\.0 +cmd whoami", line) for line in lines)
    assert any(re.match(r"RMM-1 +Docker Socket Access Detected", line) for line in lines)

    one = run_tracee("list", "--rules-dir", str(TRC), "--rules-dir", str(SEEDS), "--rules", "RGO-3", "--rules", "TCR-1")
    assert one.stdout.splitlines()[0] == "Loaded 2 signature(s): [RGO-3 TCR-1]"
    events = run_tracee("list-events", "--rules-dir", str(TRC), "--rules", "RGO-3")
    assert events.stdout.strip() == "process_vm_writev,ptrace,security_file_open"


def test_run_with_selected_rego_rules(tmp_path):
    events = tmp_path / "events.jsonl"
    events.write_text("\n".join(e.to_json() for e in [
        make_event("ptrace", request="PTRACE_TRACEME", pid=0),
        make_event("ptrace", request="PTRACE_POKETEXT", pid=7),
        make_event("execve", pathname="/usr/bin/whoami", argv=["whoami"]),
    ]) + "\n")
    done = run_tracee("run", "--input", f"file:{events}", "--output", "json", "--rules-dir", str(TRC),
                      "--rules-dir", str(SEEDS), "--rules", "RGO-3", "--rules", "TCR-1")
    assert done.returncode == 0, done.stderr
    assert [json.loads(line)["SigMetadata"]["ID"] for line in done.stdout.splitlines()] == ["RGO-3", "TCR-1"]
    assert "Loaded 2 signature(s): [RGO-3 TCR-1]" in done.stderr
    assert "0 error(s)" in done.stderr

    block = run_tracee("run", "--input", f"file:{events}", "--rules-dir", str(SEEDS), "--rules", "TCR-1")
    assert "Signature ID: TCR-1\nSignature: cmd whoami\nData: map[]\nCommand: test" in block.stdout
