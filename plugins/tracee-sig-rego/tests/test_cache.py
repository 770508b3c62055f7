"""The result cache: keyed on exactly the input a group's rules read, never for impure rules."""

from __future__ import annotations

import pytest

from tracee.testing import make_event, run_signatures
from tracee_sig_rego.runtime import InputShape, rego_input
from tracee_sig_rego.source import argument_names, pure

from rego_kit import load_rules, rule_text, write_rule

@pytest.fixture(autouse=True)
def _cache_on(monkeypatch):
    """These tests are about the cache: on, even when the suite runs with TRACEE_RULE_CACHE=off."""
    monkeypatch.delenv("TRACEE_RULE_CACHE", raising=False)


READS_PATH = ('tracee_match = {"path": p} {\n\tp := helpers.get_tracee_argument("pathname")\n'
              '\tstartswith(p, "/etc/")\n}')


def test_argument_names_are_the_literal_names_passed_to_the_helper():
    assert argument_names('x := helpers.get_tracee_argument("pathname")\n'
                          'y := helpers.get_tracee_argument( `flags` ) # get_tracee_argument(n)') \
        == {"pathname", "flags"}
    assert argument_names("f(n) = v { v := helpers.get_tracee_argument(n) }\nx { f(input.k) }") is None
    assert argument_names("f(n) = v { v := helpers.get_tracee_argument(n) }") == frozenset()  # never called
    assert argument_names("import data.tracee.helpers.get_tracee_argument as g") is None
    assert argument_names('x := helpers.get_tracee_argument("a" )') == {"a"}
    assert argument_names('x := helpers.get_tracee_argument(concat("", ["a"]))') is None
    assert argument_names('s := "get_tracee_argument(n)"') == frozenset()


def test_rules_calling_the_clock_or_randomness_are_not_pure():
    assert pure(READS_PATH)
    assert not pure("tracee_match { time.now_ns() > 0 }")
    assert not pure("tracee_match { rand.intn(\"x\", 10) == 1 }")
    assert not pure("tracee_match { print(input.eventName) }")
    assert pure('tracee_match { x := "time.now_ns()"; x != "" }  # time.now_ns()')


def test_the_input_holds_only_the_arguments_named():
    shape = InputShape.of([READS_PATH])
    assert shape.fields == () and shape.arg_names == {"pathname"}
    event = make_event("security_file_open", pathname="/etc/passwd", flags="O_RDONLY").to_dict()
    assert rego_input(event, shape) == {"tracee_sig_rego_args": {"pathname": "/etc/passwd"}}
    # The same name twice: the helper searches the list, which is passed whole
    event["args"].append({"name": "pathname", "type": "const char*", "value": "/x"})
    assert rego_input(event, shape)["tracee_sig_rego_dups"] == {"pathname": True}


def test_repeated_events_are_answered_from_the_cache_with_their_own_data(rules_dir):
    sigs = load_rules(write_rule(rules_dir, "p.rego", rule_text("C-1", "C_1", ["security_file_open"], READS_PATH)))
    events = [make_event("security_file_open", context={"process_id": n}, pathname=p, flags="O_RDONLY")
              for n, p in enumerate(["/etc/a", "/tmp/b", "/etc/a", "/tmp/b", "/etc/a"])]
    findings = run_signatures(sigs, events)
    assert [f.data for f in findings] == [{"path": "/etc/a"}] * 3
    assert [f.event.process_id for f in findings] == [0, 2, 4]
    assert findings[0].data is not findings[1].data
    stats = sigs[0].runtime.stats()
    assert stats["rego_cache_hit(s)"] == 3 and stats["rego_cache_miss(es)"] == 2


def test_an_impure_rule_is_evaluated_every_time(rules_dir):
    match = 'tracee_match { helpers.get_tracee_argument("pathname") == "/etc/a"; time.now_ns() > 0 }'
    sigs = load_rules(write_rule(rules_dir, "t.rego", rule_text("C-2", "C_2", ["security_file_open"], match)))
    findings = run_signatures(sigs, [make_event("security_file_open", pathname="/etc/a")] * 3)
    assert len(findings) == 3
    assert sigs[0].runtime.stats().get("rego_cache_hit(s)", 0) == 0


def test_a_rule_reading_the_whole_input_is_not_cached(rules_dir):
    match = 'tracee_match { x := input; x.eventName == "security_file_open" }'
    sigs = load_rules(write_rule(rules_dir, "w.rego", rule_text("C-3", "C_3", ["security_file_open"], match)))
    findings = run_signatures(sigs, [make_event("security_file_open", pathname="/etc/a")] * 3)
    assert len(findings) == 3
    assert sigs[0].runtime.stats().get("rego_cache_hit(s)", 0) == 0


def test_the_cache_can_be_switched_off(rules_dir, monkeypatch):
    monkeypatch.setenv("TRACEE_RULE_CACHE", "off")
    sigs = load_rules(write_rule(rules_dir, "p.rego", rule_text("C-1", "C_1", ["security_file_open"], READS_PATH)))
    findings = run_signatures(sigs, [make_event("security_file_open", pathname="/etc/a")] * 3)
    assert len(findings) == 3 and sigs[0].runtime.stats() == {}


# -- necessary conditions read from the rules' literal comparisons ----------------------------------
TWO_BODIES = ('tracee_match {\n\tinput.eventName == "ptrace"\n\thelpers.get_tracee_argument("request") == "PTRACE_POKETEXT"\n}\n\n'
              'tracee_match = {"p": p} {\n\t"security_file_open" == input.eventName; p := helpers.get_tracee_argument("pathname")\n'
              '\tstartswith(p, "/proc/")\n}')


def test_conditions_are_read_per_body_and_only_where_sound():
    from tracee_sig_rego.source import necessary_condition

    cond = necessary_condition(TWO_BODIES)
    assert cond is not None and cond.bodies == (
        (("event", "ptrace"), ("arg", "request", "PTRACE_POKETEXT")), (("event", "security_file_open"),))
    for unsound in (TWO_BODIES.replace('"ptrace"\n', '"ptrace" with input as {}\n'),  # input replaced
                    TWO_BODIES + ' else = false {\n\ttrue\n}',  # an else chain
                    TWO_BODIES + '\n\ndefault tracee_match = true',  # matches when no body does
                    TWO_BODIES + '\n\ntracee_match {\n\tcount(input.args) > 9\n}',  # a body without a literal test
                    TWO_BODIES.replace('tracee_match {\n\tinput', 'tracee_match {\n\tnot input'),
                    TWO_BODIES.replace('tracee_match {', 'tracee_match if {')):
        c = necessary_condition(unsound)
        assert c is None or c.bodies[0] != cond.bodies[0], unsound
    assert necessary_condition(TWO_BODIES + '\n\ndefault tracee_match = false') == cond


def test_events_no_body_admits_are_not_queried_and_answers_stay(rules_dir, monkeypatch):
    import tracee_sig_rego.runtime as runtime

    path = write_rule(rules_dir, "two.rego", rule_text("C-4", "C_4", ["ptrace", "security_file_open"], TWO_BODIES))
    dup = make_event("ptrace", request="PTRACE_ATTACH")
    dup.args.append({"name": "request", "type": "string", "value": "PTRACE_POKETEXT"})  # the helper sees both
    events = [make_event("ptrace", request="PTRACE_ATTACH"), make_event("ptrace", request="PTRACE_POKETEXT"), dup,
              make_event("ptrace"), make_event("ptrace", request=4), make_event("ptrace", request=b"x"),
              make_event("security_file_open", pathname="/proc/1/mem"), make_event("security_file_open", pathname="/x")]

    def run(**patch):
        for name, value in patch.items():
            monkeypatch.setattr(runtime, name, value)
        sigs = load_rules(path)
        findings = run_signatures(sigs, events)
        return [(f.event.event_name, f.data) for f in findings], sigs.errors, sigs[0].runtime.stats()

    found, errors, stats = run()
    assert found == [("ptrace", None), ("security_file_open", {"p": "/proc/1/mem"})]
    assert stats["rego_evaluation(s)_ruled_out"] == 3  # ATTACH, no request, a raw 4
    unchecked, unchecked_errors, unchecked_stats = run(necessary_condition=lambda source: None)
    assert (found, errors) == (unchecked, unchecked_errors)  # the duplicate: Rego's own error both times
    assert "rego_evaluation(s)_ruled_out" not in unchecked_stats


def test_argument_names_through_a_function_called_with_literals():
    forwarding = 'arg(n) = v {\n\tv := helpers.get_tracee_argument(n)\n} else = ""\n'
    assert argument_names(forwarding + 'tracee_match { arg("pathname") == "/x"; arg( "flags" ) != "" }') \
        == {"pathname", "flags"}
    assert argument_names(forwarding + 'tracee_match { arg(input.processName) == "/x" }') is None
    assert argument_names('arg(n) = v {\n\tsome n\n\tv := helpers.get_tracee_argument(n)\n}\n'
                          'tracee_match { arg("a") }') is None
    # an indented head is still the rule the call is in
    assert argument_names('f(n) = 1 { true }\n  g(n) = v { v := helpers.get_tracee_argument(n) }\n'
                          'tracee_match { f("a"); g(input.x) }') is None


def test_a_function_of_one_module_called_from_another_is_seen():
    from tracee_sig_rego.source import argument_names_of

    helper = 'package tracee.mine\narg(n) = v {\n\tv := data.tracee.helpers.get_tracee_argument(n)\n}\n'
    assert argument_names_of([helper, 'tracee_match { data.tracee.mine.arg("a") }']) == {"a"}
    assert argument_names_of([helper, 'tracee_match { data.tracee.mine.arg(input.processName) }']) is None
