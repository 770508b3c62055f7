"""Bad rules: each is reported in one clear line naming its file (and line), skipped, and the
other rules still run; errors at evaluation are reported once per rule and counted."""

from __future__ import annotations

import json
import sys

import pytest

from tracee.errors import FatalError
from tracee.testing import make_event, run_signatures

from rego_kit import SEEDS, load_rules, rule_text, run_tracee, write_rule

SYNTAX_ERROR = "package tracee.BAD_1\n\nimport data.tracee.helpers\n\ntracee_match {\n\tinput.eventName == \n}\n"


def test_syntax_error_names_file_line_and_column(rules_dir):
    bad = write_rule(rules_dir, "bad.rego", SYNTAX_ERROR)
    sigs = load_rules(bad)
    assert list(sigs) == []
    assert sigs.stderr == f"tracee: error: {bad}:6:18: Invalid boolean operator; rule skipped\n"


def test_unclosed_brace_points_at_its_line(rules_dir):
    bad = write_rule(rules_dir, "unclosed.rego",
                     'package tracee.BAD_2\n\n__rego_metadoc__ := {"id": "BAD-2"\n\ntracee_match { true }\n')
    sigs = load_rules(bad)
    assert sigs.stderr.startswith(f"tracee: error: {bad}:3:21: this is unclosed")


def test_broken_and_good_rule_in_one_directory_via_tracee_run(rules_dir, tmp_path):
    write_rule(rules_dir, "broken.rego", SYNTAX_ERROR)
    (rules_dir / "whoami.rego").write_text((SEEDS / "whoami.rego").read_text(encoding="utf-8"), encoding="utf-8")
    events = tmp_path / "events.jsonl"
    events.write_text(make_event("execve", pathname="/usr/bin/whoami").to_json() + "\n"
                      + make_event("execve", pathname="/bin/true").to_json() + "\n")
    done = run_tracee("run", "--input", f"file:{events}", "--output", "json", "--rules-dir", str(rules_dir))
    assert done.returncode == 0, done.stderr
    assert f"tracee: error: {rules_dir / 'broken.rego'}:6:18: Invalid boolean operator; rule skipped" \
        in done.stderr.splitlines()
    assert "Traceback" not in done.stderr
    # stdout holds only findings: rego-cpp's own error printout never reaches it.
    findings = [json.loads(line) for line in done.stdout.splitlines()]
    assert [f["SigMetadata"]["ID"] for f in findings] == ["TCR-1"]
    assert "1 error(s)" in done.stderr

    strict = run_tracee("run", "--input", f"file:{events}", "--rules-dir", str(rules_dir), "--strict-plugins")
    assert strict.returncode == 1
    assert "broken.rego:6:18: Invalid boolean operator" in strict.stderr
    assert strict.stdout == ""


def test_strict_mode_makes_a_broken_rule_fatal(rules_dir):
    with pytest.raises(FatalError, match=r"bad\.rego:6:18"):
        load_rules(write_rule(rules_dir, "bad.rego", SYNTAX_ERROR), strict=True)


@pytest.mark.parametrize(("text", "message"), [
    ('package tracee.M_1\ntracee_selected_events[s] { s := {"source": "tracee", "name": "x"} }\ntracee_match { true }\n',
     "__rego_metadoc__ is not defined"),
    ('package tracee.M_2\n__rego_metadoc__ := {"name": "no id"}\ntracee_match { true }\n',
     '__rego_metadoc__: "id" must be a non-empty string'),
    ('package tracee.M_3\n__rego_metadoc__ := {"id": "M-3", "tags": "linux"}\ntracee_match { true }\n'
     'tracee_selected_events[s] { s := {"source": "tracee", "name": "x"} }\n',
     '__rego_metadoc__: "tags" must be a list of strings'),
    ('package tracee.M_4\n__rego_metadoc__ := {"id": "M-4"}\ntracee_match { true }\n',
     "tracee_selected_events is empty or not defined"),
    ('package tracee.M_5\n__rego_metadoc__ := {"id": "M-5"}\n'
     'tracee_selected_events[s] { s := {"source": "tracee", "name": "x"} }\n',
     "no tracee_match rule"),
    ('package tracee.helpers\n__rego_metadoc__ := {"id": "M-6"}\ntracee_match { true }\n',
     "package tracee.helpers is reserved for helper modules"),
    ('__rego_metadoc__ := {"id": "M-7"}\n', "no package declaration"),
])
def test_bad_rule_documents(rules_dir, text, message):
    path = write_rule(rules_dir, "r.rego", text)
    sigs = load_rules(path)
    assert list(sigs) == []
    assert sigs.stderr.startswith(f"tracee: error: {path}")
    assert message in sigs.stderr
    assert sigs.stderr.count("\n") == 1


def test_unknown_function_is_caught_at_load(rules_dir):
    """rego-cpp compiles calls to unknown functions; the loader's trial evaluation finds them."""
    path = write_rule(rules_dir, "typo.rego", rule_text("T-1", "T_1", ["openat"],
                                                       'tracee_match {\n\thelpers.get_tracee_arguments("x")\n}'))
    sigs = load_rules(path)
    assert list(sigs) == []
    assert "Function not found: data.tracee.helpers.get_tracee_arguments" in sigs.stderr
    assert str(path) in sigs.stderr


def test_rego_cpp_limitation_gets_a_located_message_and_a_hint(rules_dir):
    path = write_rule(rules_dir, "idx.rego", rule_text("I-1", "I_1", ["execve"],
                                                       'tracee_match {\n\tenvp := helpers.get_tracee_argument("envp")\n'
                                                       '\tstartswith(envp[_], "LD_PRELOAD")\n}'))
    sigs = load_rules(path)
    assert list(sigs) == []
    line = sigs.stderr.strip()
    assert line.startswith(f"tracee: error: {path}:15:18: Invalid bracket argument")
    assert "bind it first" in line


def test_two_rules_with_one_package(rules_dir):
    first = write_rule(rules_dir, "a.rego", rule_text("P-1", "SAME", ["openat"], "tracee_match { true }"))
    second = write_rule(rules_dir, "b.rego", rule_text("P-2", "SAME", ["openat"], "tracee_match { true }"))
    sigs = load_rules(first, second)
    assert [s.get_metadata().id for s in sigs] == ["P-1"]
    assert f"{second}:1: package tracee.SAME overlaps package tracee.SAME of {first}" in sigs.stderr


def test_unreadable_file(rules_dir):
    path = rules_dir / "latin1.rego"
    path.write_bytes(b"package tracee.X\n# caf\xe9\n")
    sigs = load_rules(path)
    assert sigs.stderr == f"tracee: error: {path}: not UTF-8 text (byte 22); rule skipped\n"


def test_no_break_spaces_inside_strings_are_kept(rules_dir):
    """Unicode spaces are made ASCII only outside string literals."""
    match = 'tracee_match {\n\thelpers.get_tracee_argument("pathname") == "/tmp/a\u00a0b"\n}'
    path = write_rule(rules_dir, "nbsp.rego", rule_text("N-1", "N_1", ["openat"], match).replace("\t", "\u00a0\u00a0"))
    sigs = load_rules(path)
    assert sigs.stderr == ""
    findings = run_signatures(sigs, [make_event("openat", pathname="/tmp/a\u00a0b"),
                                     make_event("openat", pathname="/tmp/a b")])
    assert len(findings) == 1


def test_evaluation_error_is_reported_once_counted_and_others_still_fire(rules_dir):
    """A rule that fails on some events (two `pathname` arguments make get_tracee_argument
    conflict) is reported once with its ID, counted on every event, and treated as no match;
    the rule evaluated in the same group still fires."""
    failing = rule_text("E-1", "E_1", ["openat"],
                        'tracee_match = {"p": p} {\n\tp := helpers.get_tracee_argument("pathname")\n}')
    good = rule_text("G-1", "G_1", ["openat"], 'tracee_match {\n\tinput.processName == "cat"\n}')
    sigs = load_rules(write_rule(rules_dir, "e.rego", failing), write_rule(rules_dir, "g.rego", good))
    assert sigs.stderr == ""
    doubled = [{"name": "pathname", "type": "const char*", "value": "/a"},
               {"name": "pathname", "type": "const char*", "value": "/b"}]
    events = [make_event("openat", context={"process_name": "cat"}) for _ in range(3)]
    for event in events:
        event.args = [dict(a) for a in doubled]
    events.append(make_event("openat", pathname="/c", context={"process_name": "cat"}))
    findings = run_signatures(sigs, events)
    assert findings.ids == ["G-1", "G-1", "G-1", "E-1", "G-1"]
    errors = [line for line in sigs.stderr.splitlines() if "error:" in line]
    assert len(errors) == 1
    assert errors[0].startswith("tracee: error: rego signature E-1 (")
    assert "e.rego) failed on event openat: " in errors[0]
    assert "treated as no match" in errors[0]
    assert sigs.errors == 3
    assert "rego signature E-1 failed on 3 events (treated as no match)" in sigs.stderr


def test_regopy_missing_is_one_clear_error(rules_dir, monkeypatch):
    """Without a usable regopy, Rego files are reported (not a traceback) and nothing else breaks."""
    from tracee.api import RuleLoadContext
    from tracee.testing import capture_logs
    from tracee_sig_rego import plugin

    monkeypatch.setitem(sys.modules, "tracee_sig_rego.loader", None)  # import now raises ImportError
    with capture_logs() as logs:
        assert plugin.load([write_rule(rules_dir, "a.rego", SYNTAX_ERROR)], RuleLoadContext()) == []
    assert logs.text.startswith("tracee: error: 1 Rego rule file(s) not loaded: regopy cannot be used")
