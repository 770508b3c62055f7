"""The pack as installed: entry point discovered, rule files shipped as package data, every rule
loaded cleanly by the loaders of tracee-sig-rego and tracee-sig-cel, selectable and disableable."""

from __future__ import annotations

import json
import re
from importlib import resources
from importlib.metadata import distribution
from pathlib import Path

from conftest import DATA, RULES, run_stream, tracee

RULE_FILES = {"cloud_metadata_access.yaml": "K8S-1", "k8s_cli_in_container.rego": "K8S-2",
              "kubelet_credentials_read.rego": "K8S-3", "namespace_escape_tool.yaml": "K8S-4",
              "kernel_parameter_write.rego": "K8S-6"}


def test_entry_point_is_installed_and_discovered():
    eps = [ep for ep in distribution("tracee-sig-k8s").entry_points if ep.group == "tracee"]
    assert [(ep.name, ep.value) for ep in eps] == [("k8s-rules", "tracee_sig_k8s.plugin")]
    proc = tracee("plugins", "--json")
    assert proc.returncode == 0, proc.stderr
    ours = [p for p in json.loads(proc.stdout) if p["distribution"] == "tracee-sig-k8s"]
    assert len(ours) == 1
    plugin = ours[0]
    assert plugin["name"] == "k8s-rules" and plugin["version"] == "0.1.0"
    assert sorted(plugin["hooks"]) == ["tracee_register_rule_paths", "tracee_register_signatures"]
    assert plugin["provides"]["signatures"] == ["K8S-5"]
    [rules_dir] = plugin["provides"]["rule_paths"]
    assert Path(rules_dir) == Path(str(resources.files("tracee_sig_k8s") / "rules"))


def test_rule_files_are_package_data():
    shipped = resources.files("tracee_sig_k8s") / "rules"
    assert sorted(p.name for p in shipped.iterdir() if p.is_file()) == sorted(RULE_FILES)
    # The installed distribution's file list names them too (they are in the wheel, not just the tree).
    recorded = {Path(str(f)).name for f in distribution("tracee-sig-k8s").files or ()}
    assert set(RULE_FILES) <= recorded or _editable_install()


def _editable_install() -> bool:
    text = distribution("tracee-sig-k8s").read_text("direct_url.json") or "{}"
    return json.loads(text).get("dir_info", {}).get("editable", False)


def test_list_shows_every_rule_loaded_cleanly():
    proc = tracee("list", "--strict-plugins")
    assert proc.returncode == 0, proc.stderr
    listed = re.findall(r"^(K8S-\d+)\s", proc.stdout, re.MULTILINE)
    assert sorted(listed) == sorted(RULES)
    # --strict-plugins makes a broken rule fatal; a load-time warning about ours is a failure too.
    ours = [line for line in proc.stderr.splitlines() if "K8S-" in line or "tracee_sig_k8s" in line]
    assert not [line for line in ours if "error" in line or "warning" in line], proc.stderr


def test_each_rule_file_defines_its_rule():
    shipped = resources.files("tracee_sig_k8s") / "rules"
    for name, sid in RULE_FILES.items():
        text = (shipped / name).read_text()
        if name.endswith(".rego"):
            # Tracee's conventions: package tracee.<ID with _>, helpers imported by that name.
            assert f"package tracee.{sid.replace('-', '_')}\n" in text
            assert f'"id": "{sid}"' in text
        else:
            assert "kind: SignaturesConfig" in text and f"id: {sid}\n" in text


def test_rules_select_only_started_containers():
    proc = tracee("list-events", *[a for sid in sorted(RULES) for a in ("--rules", sid)])
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == ("sched_process_exec,sched_process_exit,security_file_open,"
                                   "security_socket_connect")


def test_rules_option_selects_one_rule():
    findings = run_stream(DATA / "k8s-3.jsonl", "--rules", "K8S-3")
    assert {f["SigMetadata"]["ID"] for f in findings} == {"K8S-3"}
    assert run_stream(DATA / "k8s-3.jsonl", "--rules", "K8S-6") == []


def test_disable_by_tag_and_id(tmp_path):
    config = tmp_path / "tracee.yaml"
    config.write_text("disable:\n  tags: [kubernetes]\n")
    proc = tracee("list", "--config", str(config))
    assert proc.returncode == 0 and "K8S-" not in proc.stdout
    config.write_text("disable:\n  ids: [K8S-2, K8S-5]\n")
    proc = tracee("list", "--config", str(config))
    assert sorted(re.findall(r"^(K8S-\d+)\s", proc.stdout, re.MULTILINE)) == ["K8S-1", "K8S-3", "K8S-4", "K8S-6"]


def test_cel_rules_beside_rego_rules_run_on_the_fast_backend():
    """regopy and cel-expr-python grow each other's memory in one process, so each language runs
    in a rule worker of its own: with this pack's Rego and CEL rules loaded together, `auto` is the
    fast backend, said once; the rules fire."""
    result = tracee("run", "--input", f"file:{DATA / 'k8s-1.jsonl'}", "--output", "json",
                    "--rules", "K8S-1", "--rules", "K8S-3")
    assert result.returncode == 0, result.stderr
    assert re.search(r"CEL: \d+ of \d+ rule\(s\) .* loaded, backend cel-expr-python$", result.stderr, re.MULTILINE)
    assert result.stderr.count("tracee: CEL:") == 1  # the backend notice, once
    assert {json.loads(line)["SigMetadata"]["ID"] for line in result.stdout.splitlines()} == {"K8S-1"}


def test_without_rule_workers_cel_beside_rego_is_the_fast_backend_too():
    """rego-cpp's allocator is made the process's (tracee_sig_rego.regocpp), so cel-expr-python
    shares the process with regopy without growing (test_memory_flat_with_both_engines_in_one_process)."""
    result = tracee("run", "--input", f"file:{DATA / 'k8s-1.jsonl'}", "--output", "json",
                    "--rules", "K8S-1", "--rules", "K8S-3", "--rule-workers", "off")
    assert result.returncode == 0, result.stderr
    assert re.search(r"CEL: \d+ of \d+ rule\(s\) .* loaded, backend cel-expr-python$", result.stderr, re.MULTILINE)
    assert result.stderr.count("tracee: CEL:") == 1
    assert {json.loads(line)["SigMetadata"]["ID"] for line in result.stdout.splitlines()} == {"K8S-1"}


_BOTH_ENGINES = """
import sys
from pathlib import Path
from tracee.api import RuleLoadContext
from tracee.testing import capture_logs, make_event
from tracee_sig_rego.loader import load_rules as load_rego
from tracee_sig_cel.loader import load_rules as load_cel

def rss():
    return next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmRSS")) / 1024

rules = Path(sys.argv[1])
off = {"rule_cache": "off", "cel_backend": "auto"}
with capture_logs():
    rego = load_rego(sorted(rules.glob("*.rego")), RuleLoadContext(options=off))
    cel = load_cel(sorted(rules.glob("*.yaml")), RuleLoadContext(options=off, active_loaders=frozenset({"rego", "cel"})))
print(cel[0].group.backend.name)
for sig in rego + cel:
    sig.init(lambda finding: None)
event = make_event("sched_process_exec", container=True, pathname="/usr/bin/ls", cmdpath="/usr/bin/ls", argv=["ls"])
k2 = next(s for s in rego if s.metadata.id == "K8S-2")
k4 = next(s for s in cel if s.metadata.id == "K8S-4")
for n in range(4):
    for _ in range(5000):
        k2.group.evaluate(event, (k2,))
        k4.group.evaluate(event, (k4,))
    print(rss())
"""


def test_memory_flat_with_both_engines_in_one_process():
    """Measured before the shared allocator: +28 MB per 5,000 CEL evaluations with regopy loaded."""
    import subprocess
    import sys

    from tracee_sig_k8s.plugin import RULES_DIR

    proc = subprocess.run([sys.executable, "-c", _BOTH_ENGINES, str(RULES_DIR)], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr
    backend, *samples = proc.stdout.split()
    assert backend == "cel-expr-python"
    first, last = float(samples[0]), float(samples[-1])
    assert last - first < 5, samples  # MB over 15,000 evaluations of each engine
