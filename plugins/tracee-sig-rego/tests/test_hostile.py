"""Hostile Rego rules: ones that crash or hang rego-cpp, read the environment or the network.

Through the real `tracee run`, where Rego rules load and evaluate in a rule worker: the bad rule
is named once on stderr and counted, every other rule's findings arrive, the run's exit code and
summary are right.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest

from rego_kit import BIN, load_rules, rule_text, run_tracee, write_rule
from tracee.testing import make_event, run_signatures

SHADOW = ('tracee_match {\n\tinput.eventName == "openat"\n'
          '\thelpers.get_tracee_argument("pathname") == "/etc/shadow"\n}')
# rego-cpp overflows its stack (SIGSEGV) on json.unmarshal of a deeply nested array.
DEEP = ('tracee_match {\n\tinput.eventName == "openat"\n\tp := helpers.get_tracee_argument("pathname")\n'
        '\tstartswith(p, "[")\n\tx := json.unmarshal(p)\n\tx != null\n}')
# Exponential backtracking: seconds per event on a string of a's with a bad end.
REDOS = ('tracee_match {\n\tinput.eventName == "openat"\n\tp := helpers.get_tracee_argument("pathname")\n'
         '\tregex.match("^(a+)+$", p)\n}')
DEEP_ARRAY = "[" * 5000 + "]" * 5000
ONLY_REGO = {"TRACEE_LOAD_PLUGINS": "tracee-sig-rego"}


def events_file(tmp_path: Path, paths: list[str]) -> Path:
    path = tmp_path / "events.jsonl"
    events = [make_event("openat", pathname=p, context={"process_id": 100 + n}) for n, p in enumerate(paths)]
    path.write_text("".join(json.dumps(e.to_dict()) + "\n" for e in events))
    return path


def findings(stdout: str) -> list[str]:
    return sorted(json.loads(line)["SigMetadata"]["ID"] for line in stdout.splitlines() if line.strip())


def summary(stderr: str) -> str:
    return next(line for line in stderr.splitlines() if "summary:" in line)


def test_a_rule_that_crashes_rego_cpp_is_quarantined_and_the_others_go_on(rules_dir, tmp_path):
    write_rule(rules_dir, "deep.rego", rule_text("DEEP-1", "DEEP", ["openat"], DEEP))
    write_rule(rules_dir, "good.rego", rule_text("GOOD-1", "GOOD", ["openat"], SHADOW))
    events = events_file(tmp_path, ["/etc/shadow", DEEP_ARRAY, "/etc/shadow", DEEP_ARRAY, "/etc/shadow"])
    # A generous budget: on a busy machine the recursion may take more than 50 ms to crash.
    done = run_tracee("run", "--input", f"file:{events}", "--output", "json", "--rules-dir", str(rules_dir),
                      "--rule-budget", "10000", env=ONLY_REGO)
    assert done.returncode == 0, done.stderr
    assert findings(done.stdout) == ["GOOD-1"] * 3
    quarantined = [line for line in done.stderr.splitlines() if "error:" in line and "DEEP-1" in line]
    assert len(quarantined) == 1 and "killed by SIGSEGV" in quarantined[0], done.stderr
    assert "1 rule(s) quarantined" in summary(done.stderr)
    assert "Traceback" not in done.stderr


def test_a_file_that_crashes_the_compiler_is_reported_and_skipped(rules_dir, tmp_path):
    # Evaluated once at load (the loader's trial run): the crash happens while this file loads.
    write_rule(rules_dir, "boom.rego", rule_text("BOOM-1", "BOOM", ["openat"],
                                                 'tracee_match {\n\tx := json.unmarshal(concat("", '
                                                 '[concat("", ["[" | numbers.range(1, 5000)[_]]), '
                                                 'concat("", ["]" | numbers.range(1, 5000)[_]])]))\n\tx != null\n}'))
    write_rule(rules_dir, "good.rego", rule_text("GOOD-1", "GOOD", ["openat"], SHADOW))
    events = events_file(tmp_path, ["/etc/shadow"])
    done = run_tracee("run", "--input", f"file:{events}", "--output", "json", "--rules-dir", str(rules_dir),
                      env=ONLY_REGO)
    assert done.returncode == 0, done.stderr
    assert findings(done.stdout) == ["GOOD-1"]
    assert re.search(r"boom\.rego: the rego rule compiler crashed on this file \(killed by SIG\w+", done.stderr)
    assert "1 error(s)" in summary(done.stderr)


def test_a_rule_over_its_time_budget_is_abandoned_then_quarantined(rules_dir, tmp_path):
    write_rule(rules_dir, "redos.rego", rule_text("REDOS-1", "REDOS", ["openat"], REDOS))
    write_rule(rules_dir, "good.rego", rule_text("GOOD-1", "GOOD", ["openat"], SHADOW))
    bad = "a" * 40 + "!"
    events = events_file(tmp_path, ["/etc/shadow", bad, bad, "/etc/shadow", bad, bad, "/etc/shadow"])
    began = time.monotonic()
    done = run_tracee("run", "--input", f"file:{events}", "--output", "json", "--rules-dir", str(rules_dir),
                      "--rule-budget", "30", env=ONLY_REGO)
    assert time.monotonic() - began < 30
    assert done.returncode == 0, done.stderr
    assert findings(done.stdout) == ["GOOD-1"] * 3
    assert done.stderr.count("REDOS-1 (") == 3  # two strikes, then the quarantine
    assert "took over 30 ms on event openat" in done.stderr
    assert "quarantined: it went over its time budget (30 ms) on 3 events" in done.stderr
    assert "3 evaluation(s) over budget" in summary(done.stderr)


def test_tracee_v083_disk_mount_shape_loads_and_fires(rules_dir):
    """`not x with input as input`, where x calls a builtin: rego-cpp 1.5 aborts compiling it."""
    write_rule(rules_dir, "mount.rego", rule_text(
        "MNT-1", "MNT", ["security_sb_mount"],
        'tracee_match = res {\n\tinput.eventName == "security_sb_mount"\n'
        '\tdevname := helpers.get_tracee_argument("dev_name")\n\tstartswith(devname, "/dev/")\n'
        '\tnot runc_process with input as input\n\tres := {"mounted device": devname}\n}\n\n'
        'runc_process {\n\tstartswith(input.processName, "runc:")\n\tinput.threadId == 1\n}',
        origin="container"))
    sigs = load_rules(rules_dir)
    assert [s.get_metadata().id for s in sigs] == ["MNT-1"], sigs.stderr
    hit = make_event("security_sb_mount", dev_name="/dev/sda1", container=True)
    runc = make_event("security_sb_mount", dev_name="/dev/sda1", container=True,
                      context={"process_name": "runc:[init]", "thread_id": 1})
    found = run_signatures(sigs, [hit, runc])
    assert [f.data for f in found] == [{"mounted device": "/dev/sda1"}]


def test_with_input_as_something_else_is_kept(rules_dir):
    from tracee_sig_rego.source import compilable

    text = "x { not y with input as input.args }\nz { not y with input as input }  # with input as input\n"
    out = compilable(text)
    assert "with input as input.args" in out and out.count("with input as input") == 2  # code one gone, comment kept
    assert len(out.encode()) == len(text.encode()) and out.count("\n") == text.count("\n")


def test_opa_runtime_gives_no_environment_and_tokens_never_appear(rules_dir, tmp_path):
    write_rule(rules_dir, "env.rego", rule_text("ENV-1", "ENV", ["openat"],
                                                'tracee_match = {"env": opa.runtime().env, "other": opa["runtime"]()} '
                                                '{\n\tinput.eventName == "openat"\n}'))
    events = events_file(tmp_path, ["/etc/shadow"])
    done = run_tracee("run", "--input", f"file:{events}", "--output", "json", "--rules-dir", str(rules_dir),
                      env={**ONLY_REGO, "TOKEN_VAR": "tok-3c9f-secret", "TRACEE_TOKEN": "tok-3c9f-secret"})
    assert done.returncode == 0, done.stderr
    assert "tok-3c9f-secret" not in done.stdout + done.stderr
    data = json.loads(done.stdout.splitlines()[0])["Data"]
    assert data["env"] == {} and data["other"]["env"] == {}
    assert "env.rego: opa.runtime() gives rules no environment" in done.stderr


def test_opa_runtime_is_refused_in_the_detectors_own_process(rules_dir):
    write_rule(rules_dir, "env.rego", rule_text("ENV-1", "ENV", ["openat"],
                                                'tracee_match = {"env": opa.runtime().env} {\n\ttrue\n}'))
    sigs = load_rules(rules_dir)
    assert not sigs
    assert "uses opa.runtime(), which would show this process's environment" in sigs.stderr


@pytest.mark.parametrize("call", ['http.send({"method": "get", "url": "http://127.0.0.1:1/"})',
                                  'net.lookup_ip_addr("localhost")'])
def test_network_builtins_are_refused_at_load(rules_dir, call):
    write_rule(rules_dir, "net.rego", rule_text("NET-1", "NET", ["openat"], f"tracee_match {{\n\tx := {call}\n\tx\n}}"))
    sigs = load_rules(rules_dir)
    assert not sigs
    assert "is not available to tracee rules (no network in the Rego sandbox); rule skipped" in sigs.stderr


def test_signals_are_handled_while_a_worker_is_busy(rules_dir, tmp_path):
    slow = ('tracee_match {\n\tinput.eventName == "openat"\n\tinput.processId > 1\n'
            '\tn := count([x | x := numbers.range(0, 3000000)[_]; x % 7 == 0])\n\tn < 0\n}')
    write_rule(rules_dir, "slow.rego", rule_text("SLOW-1", "SLOW", ["openat"], slow))
    events = events_file(tmp_path, ["/x"] * 200)
    proc = subprocess.Popen([str(BIN / "tracee"), "run", "--input", f"file:{events}", "--output", "json",
                             "--rules-dir", str(rules_dir), "--rule-budget", "60000"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, **ONLY_REGO})
    time.sleep(4)
    proc.send_signal(signal.SIGTERM)
    time.sleep(0.2)
    began = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=10)
    assert time.monotonic() - began < 2.0
    assert proc.returncode == 143, err
    assert "event(s) not evaluated" in summary(err) and "Traceback" not in err
