"""Broken rules and rule files: one clear line with file, signature and position; the rest still load."""

from __future__ import annotations

import re

import pytest

from tracee.errors import FatalError
from tracee.testing import make_event, run_signatures

from conftest import RULES_HEADER


def error_lines(loaded) -> list[str]:
    return [ln for ln in loaded.output.splitlines() if ln.startswith("tracee: error:")]


THREE_RULES = RULES_HEADER + """\
signatures:
  - metadata: {id: OK-1, name: first}
    eventSelectors: [{source: tracee, name: ptrace}]
    expression: input.stringArg('request') == 'PTRACE_TRACEME'
  - metadata: {id: BAD-1, name: broken}
    eventSelectors: [{source: tracee, name: ptrace}]
    expression: |-
      input.eventName == 'ptrace' &&
        input.stringArg('request') in ['PTRACE_ATTACH', 'PTRACE_SEIZE'
  - metadata: {id: OK-2, name: last}
    eventSelectors: [{source: tracee, name: ptrace}]
    expression: "input.processName == 'test'"
"""


def test_syntax_error_names_file_signature_and_position_and_others_load(load_rules):
    loaded = load_rules(THREE_RULES)
    assert loaded.ids == ["OK-1", "OK-2"]
    (line,) = error_lines(loaded)
    # The list is left open at the end of line 11 of the file (column 71 is just past it).
    assert re.fullmatch(r"tracee: error: \S+rules\.yaml: signature BAD-1: 11:71: (?i:syntax error).*", line), line
    found = run_signatures(loaded.signatures, [make_event("ptrace", request="PTRACE_TRACEME")])
    assert found.ids == ["OK-1", "OK-2"]


def test_strict_mode_makes_a_broken_rule_fatal(load_rules):
    with pytest.raises(FatalError, match=r"signature BAD-1: 11:71: "):
        load_rules(THREE_RULES, strict=True)


@pytest.mark.parametrize("expression, position, message", [
    ("input.procesName == 'bash'", "8:13", "input has no field 'procesName' (did you mean 'processName'?)"),
    ("input.stringArgs('x') == ''", "8:13", "input has no method 'stringArgs' (did you mean 'stringArg'?); it has stringArg(name) and sockaddrArg(name)"),
    ("input.stringArg() == ''", "8:13", "input.stringArg takes one argument (the argument's name), got 0"),
    ("input.processName.endswith('sh')", "8:25", "unknown function 'endswith' (did you mean 'endsWith'?)"),
    ("input.sockaddrArg('a') == wrapper.sockaddr{sin_prot: 1u}", "8:50",
     "wrapper.sockaddr has no field 'sin_prot' (did you mean 'sin_port'?)"),
    ("input.sockaddrArg('a').sa_family == wrapper.sa_family_t.AF_INET7", "8:63",
     "wrapper.sa_family_t has no value 'AF_INET7' (did you mean 'AF_INET'?)"),
    ("__tracee_sargs.size() > 0", "8:7", "'__tracee_sargs' is a reserved name"),
])
def test_unknown_names_are_load_errors_with_positions(rule, expression, position, message):
    loaded = rule(expression)
    assert loaded.signatures == []
    (line,) = error_lines(loaded)
    assert line.endswith(f"rules.yaml: signature T-1: {position}: {message}"), line


def test_position_inside_a_rewritten_call_maps_back_to_the_user_text(rule):
    # The error is inside stringArg's argument, which the rewrite copies twice.
    loaded = rule("input.eventName == 'ptrace' &&\n  input.stringArg('req' +) == ''")
    (line,) = error_lines(loaded)
    assert re.search(r"signature T-1: 9:32: (?i:syntax error)", line), line


def test_expression_must_be_boolean(rule):
    loaded = rule("input.stringArg('request')")
    assert loaded.signatures == []
    (line,) = error_lines(loaded)
    assert re.search(r"signature T-1: 8:7: the expression must be boolean; .*\bstring\b", line), line


def test_dynamic_non_boolean_is_caught_by_the_trial_evaluation(rule):
    loaded = rule("input.processName")  # `input` is a map of dyn: only evaluation tells
    assert loaded.signatures == []
    (line,) = error_lines(loaded)
    assert re.search(r"signature T-1: 8:7: the expression must be boolean; on a sample ptrace event "
                     r"it gives a string", line), line


def test_evaluation_errors_are_counted_reported_once_and_do_not_match(rule):
    loaded = rule("int(input.stringArg('request')) > 3 || input.stringArg('request') == 'match me'")
    # A sample event has request "" → int('') fails: a warning at load, the rule still loads.
    assert [ln for ln in loaded.output.splitlines() if "warning" in ln and "sample ptrace event failed" in ln]
    (sig,) = loaded.signatures
    events = [make_event("ptrace", request="not a number") for _ in range(5)]
    events.append(make_event("ptrace", request="42"))
    found = run_signatures([sig], events)
    assert len(found) == 1 and found[0].event is events[-1]
    assert sig.eval_errors == 5
    assert loaded.errors == 5  # every error counts in the run's summary...
    reported = [ln for ln in error_lines(loaded) if "evaluation error" in ln]
    assert len(reported) == 1  # ...but is printed once per rule
    assert re.search(r"rules\.yaml: signature T-1: evaluation error on a ptrace event: .+ \(counted as no match",
                     reported[0])
    assert re.search(r"warning: \S+rules\.yaml: signature T-1: 5 evaluation error\(s\), each counted as no match",
                     loaded.output)


def test_eval_errors_of_two_rules_are_reported_separately(load_rules):
    loaded = load_rules(RULES_HEADER + """\
        signatures:
          - metadata: {id: E-1, name: a}
            eventSelectors: [{source: tracee, name: ptrace}]
            expression: input.args[3].value == 1
          - metadata: {id: E-2, name: b}
            eventSelectors: [{source: tracee, name: ptrace}]
            expression: input.args[4].value == 1
        """.replace("        ", ""))
    run_signatures(loaded.signatures, [make_event("ptrace")] * 3)
    reported = [ln for ln in error_lines(loaded) if "evaluation error" in ln]
    assert [re.search(r"signature (E-\d)", ln).group(1) for ln in reported] == ["E-1", "E-2"]
    assert [s.eval_errors for s in loaded.signatures] == [3, 3]


# -- the file format -----------------------------------------------------------------------------------
def test_invalid_yaml_is_one_line_with_position(load_rules):
    loaded = load_rules(RULES_HEADER + "signatures:\n  - metadata: {id: X\n")
    (line,) = error_lines(loaded)
    assert re.search(r"rules\.yaml: \d+:\d+: invalid YAML: ", line), line
    assert loaded.signatures == []


def test_wrong_api_version_is_an_error(load_rules):
    loaded = load_rules("kind: SignaturesConfig\napiVersion: tracee.aquasecurity.github.io/v1\nsignatures: []\n")
    (line,) = error_lines(loaded)
    assert line.endswith("rules.yaml: 2:13: apiVersion must be 'tracee.aquasecurity.github.io/v1alpha1', "
                         "not 'tracee.aquasecurity.github.io/v1'")


def test_misspelt_kind_is_an_error_other_kinds_are_skipped(load_rules):
    loaded = load_rules("kind: SignatureConfig\napiVersion: tracee.aquasecurity.github.io/v1alpha1\n")
    (line,) = error_lines(loaded)
    assert line.endswith("rules.yaml: 1:7: kind must be 'SignaturesConfig', not 'SignatureConfig'")
    loaded = load_rules("apiVersion: apps/v1\nkind: Deployment\n", name="deploy.yaml")
    assert error_lines(loaded) == []
    assert "deploy.yaml: 1:1: not a CEL SignaturesConfig (kind: Deployment); file skipped" in loaded.output


def test_signature_shape_errors_skip_only_that_signature(load_rules):
    loaded = load_rules(RULES_HEADER + """\
signatures:
  - metadata: {name: no id}
    eventSelectors: [{source: tracee, name: ptrace}]
    expression: "true"
  - metadata: {id: NO-SEL, name: x}
    expression: "true"
  - metadata: {id: NO-EXPR, name: x}
    eventSelectors: [{source: tracee, name: ptrace}]
  - metadata: {id: BAD ID, name: x}
    eventSelectors: [{source: tracee, name: ptrace}]
    expression: "true"
  - metadata: {id: SEV, name: x, properties: {Severity: 7}}
    eventSelectors: [{source: tracee, name: ptrace}]
    expression: "true"
  - metadata: {id: ORIGIN, name: x}
    eventSelectors: [{source: tracee, name: ptrace, origin: containers}]
    expression: "true"
  - metadata: {id: OK, name: fine, severity: 3}
    eventSelectors: [{source: tracee, name: ptrace}]
    expresion: "oops"
    expression: "true"
""")
    assert loaded.ids == ["OK"]
    assert [re.sub(r"^tracee: error: \S+rules\.yaml: ", "", ln) for ln in error_lines(loaded)] == [
        "signature #1: 4:15: metadata.id must be a non-empty string",
        "signature NO-SEL: 7:5: missing 'eventSelectors' (the events the rule receives)",
        "signature NO-EXPR: 9:5: missing 'expression'",
        "signature #4: 11:20: metadata.id 'BAD ID' must not contain spaces",
        "signature SEV: 14:46: metadata.properties.Severity must be 0-4, not 7",
        "signature ORIGIN: 18:22: event selector origin 'containers' is not one of container, "
        "container-init, host, *",
    ]
    assert "signature OK: 20:36: unknown metadata key 'severity' ignored" in loaded.output
    assert "signature OK: 22:5: unknown key 'expresion' ignored (did you mean 'expression'?)" in loaded.output


def test_every_file_suffix_is_read(load_rules):
    for name in ("a.yml", "b.cel", "C.YAML"):
        loaded = load_rules(RULES_HEADER + "signatures:\n  - metadata: {id: S, name: s}\n"
                            "    eventSelectors: [{source: tracee, name: ptrace}]\n    expression: 'true'\n",
                            name=name)
        assert loaded.ids == ["S"], loaded.output
