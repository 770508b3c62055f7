"""Rules on syscalls of the eBPF input's generic path fire live: a Rego rule selecting unlinkat,
with `tracee run` reading the real kernel."""

from __future__ import annotations

import os
from pathlib import Path

from e2e_harness import TraceeRun

_UNLINKAT_RULE = """package tracee.UNLINK_PROBE

__rego_metadoc__ := {"id": "UNLINK-PROBE", "version": "1.0.0", "name": "unlinkat probe",
    "description": "a file named tracee-rule-probe-* is unlinked with unlinkat", "tags": ["test"],
    "properties": {"Severity": 1}}

eventSelectors := [{"source": "tracee", "name": "unlinkat", "origin": "*"}]

tracee_selected_events[eventSelector] {
    eventSelector := eventSelectors[_]
}

tracee_match = res {
    input.eventName == "unlinkat"
    arg := input.args[_]
    arg.name == "pathname"
    startswith(arg.value, "tracee-rule-probe-")
    input.returnValue == 0
    res := {"pathname": arg.value}
}
"""


def test_rego_rule_on_unlinkat_fires_live(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "unlink_probe.rego").write_text(_UNLINKAT_RULE)
    work = tmp_path / "work"
    work.mkdir()
    name = f"tracee-rule-probe-{os.getpid()}"
    with TraceeRun(["UNLINK-PROBE"], ["--rules-dir", str(rules)]) as run:
        run.wait_ready()
        (work / name).write_text("x")
        dirfd = os.open(work, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.unlink(name, dir_fd=dirfd)          # unlinkat(dirfd, name, 0)
        finally:
            os.close(dirfd)
        found = run.wait_for(lambda f: f.get("SigMetadata", {}).get("ID") == "UNLINK-PROBE", 1, timeout=20)
        assert found, run.summary()
        finding = found[0]
        assert finding["Data"] == {"pathname": name}
        assert finding["Context"]["hostProcessId"] == os.getpid()
        assert finding["Context"]["eventName"] == "unlinkat"
