"""The pack as a user meets it: installed entry point, `tracee list`/`list-events`/`plugins`, tuning file."""

from __future__ import annotations

import json
from importlib.metadata import entry_points
from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"

TRACEE_NAMES = {
    "TRC-1": "Standard Input/Output Over Socket",
    "TRC-2": "Anti-Debugging",
    "TRC-3": "Code injection",
    "TRC-4": "Dynamic Code Loading",
    "TRC-5": "Fileless Execution",
    "TRC-6": "kernel module loading",
    "TRC-7": "LD_PRELOAD",
    "TRC-8": "K8S Service Account Token Use Detected",
    "TRC-9": "New Executable Was Dropped During Runtime",
    "TRC-10": "K8S TLS Certificate Theft Detected",
    "TRC-11": "Container Device Mount Detected",
    "TRC-12": "Illegitimate Shell",
    "TRC-13": "Kubernetes API server connection detected",
    "TRC-14": "CGroups Release Agent File Modification",
    "TRC-15": "Hooking system calls by overriding the system call table entries",
}
# Tracee's load order: the Go signatures, then the Rego files as the directory walk finds them.
TRACEE_ORDER = "TRC-1 TRC-13 TRC-2 TRC-14 TRC-3 TRC-11 TRC-9 TRC-4 TRC-5 TRC-12 TRC-8 TRC-6 TRC-10 TRC-7 TRC-15"
ALL_EVENTS = ("close,dup,dup2,dup3,execve,hooked_syscalls,init_module,magic_write,mem_prot_alert,process_vm_writev,"
              "ptrace,sched_process_exec,sched_process_exit,security_bprm_check,security_file_open,"
              "security_kernel_read_file,security_sb_mount,security_socket_connect")


def test_entry_point_is_installed():
    found = [ep for ep in entry_points(group="tracee") if ep.name == "builtin-signatures"]
    assert len(found) == 1
    assert found[0].value == "tracee_sig_builtin.plugin" and found[0].dist.name == "tracee-sig-builtin"


def test_discovered_by_tracee_plugins(tracee_cli):
    proc = tracee_cli("plugins", "--json")
    assert proc.returncode == 0, proc.stderr
    mine = [p for p in json.loads(proc.stdout) if p["distribution"] == "tracee-sig-builtin"]
    assert len(mine) == 1 and "error" not in mine[0]
    assert mine[0]["name"] == "builtin-signatures" and mine[0]["hooks"] == ["tracee_register_signatures"]
    assert mine[0]["provides"]["signatures"] == TRACEE_ORDER.split()


def test_tracee_list_shows_all_fifteen_with_tracee_names(tracee_cli):
    proc = tracee_cli("list")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert f"Loaded 15 signature(s): [{TRACEE_ORDER}]" in lines
    # Rows sorted by ID (TRC-2 before TRC-10); columns aligned (TRC-15's name is the longest).
    width = max(35, *(len(name) for name in TRACEE_NAMES.values()))
    rows = lines[2:]
    assert [row.split()[0] for row in rows] == sorted(TRACEE_NAMES, key=lambda s: int(s[4:]))
    for row, (sig_id, name) in zip(rows, sorted(TRACEE_NAMES.items(), key=lambda kv: int(kv[0][4:]))):
        assert row.startswith(f"{sig_id:<10} {name:<{width}} 0.1.0   "), row


def test_list_events(tracee_cli):
    assert tracee_cli("list-events", "--rules", "TRC-3").stdout == "process_vm_writev,ptrace,security_file_open\n"
    assert tracee_cli("list-events").stdout == ALL_EVENTS + "\n"


@pytest.mark.parametrize("sig_id", sorted(TRACEE_NAMES, key=lambda s: int(s[4:])))
def test_signature_contract(installed_signatures, sig_id):
    from tracee.testing import assert_signature_contract

    (sig,) = installed_signatures(rules=[sig_id])
    assert_signature_contract(sig)


def test_installed_signatures_run_through_the_engine(installed_signatures, run_signatures, make_event):
    sigs = installed_signatures(rules=["TRC-2", "TRC-3"])
    findings = run_signatures(sigs, [make_event("ptrace", request=0), make_event("ptrace", request=4)])
    assert findings.ids == ["TRC-2", "TRC-3"]


# -- tuning without forking -------------------------------------------------------------------------
def loaded(tracee_cli, config) -> list[str]:
    proc = tracee_cli("list", "--config", str(config))
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.splitlines()[0].split("[")[1].rstrip("]").split()


def test_disable_by_id_and_tag(tracee_cli, tmp_path):
    config = tmp_path / "tuning.yaml"
    config.write_text("disable:\n  ids: [TRC-8, TRC-7]\n")
    assert loaded(tracee_cli, config) == [s for s in TRACEE_ORDER.split() if s not in ("TRC-8", "TRC-7")]
    config.write_text("disable:\n  tags: [linux]\n")  # leaves the container-only ones and TRC-14 (no tags)
    assert loaded(tracee_cli, config) == ["TRC-13", "TRC-14", "TRC-11", "TRC-8"]


def test_allow_lists_extended_from_the_tuning_file(tracee_cli, tmp_path):
    config = tmp_path / "tuning.yaml"
    config.write_text("signatures:\n"
                      "  TRC-8: {allowed_processes: [cat]}\n"
                      "  TRC-10:\n    allowed_processes: [cat]\n"
                      "  TRC-12: {web_servers: [caddy], shells: [fish]}\n"
                      "  TRC-1: {max_sockets: 1000}\n"
                      "  TRC-13: {max_containers: 100}\n")
    for stream in ("trc-8.jsonl", "trc-10.jsonl"):
        proc = tracee_cli("run", "--input", f"file:{DATA / stream}", "--output", "json", "--config", str(config))
        assert proc.returncode == 0 and proc.stdout == "", proc.stderr
    # The same stream without the tuning still fires.
    proc = tracee_cli("run", "--input", f"file:{DATA / 'trc-10.jsonl'}", "--output", "json")
    assert json.loads(proc.stdout)["SigMetadata"]["ID"] == "TRC-10"


@pytest.mark.parametrize("text, message", [
    ("signatures:\n  TRC-10: {allowed: [cat]}\n",
     "signatures.TRC-10: unknown setting 'allowed' (known: allowed_processes)"),
    ("signatures:\n  TRC-12: {shells: fish}\n", "signatures.TRC-12: setting 'shells' must be a list of strings, got 'fish'"),
    ("signatures:\n  TRC-2: {x: 1}\n", "signatures.TRC-2: TRC-2 takes no settings (got x)"),
])
def test_bad_settings_are_one_clear_line(tracee_cli, tmp_path, text, message):
    config = tmp_path / "tuning.yaml"
    config.write_text(text)
    proc = tracee_cli("run", "--input", f"file:{DATA / 'trc-10.jsonl'}", "--config", str(config))
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [f"tracee: error: config {config}: {message}"]
