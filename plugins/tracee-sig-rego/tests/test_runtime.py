"""How rules are evaluated: one bundle per set of selecting rules, one input per event, exact big integers."""

from __future__ import annotations

import pytest

from tracee.testing import make_event, run_signatures
from tracee_sig_rego.regocpp import Runner

from rego_kit import TRC, load_rules, rule_text, write_rule

U64_MAX = 2**64 - 1
KERNEL_ADDR = 0xFFFFFFFF81000000  # >= 2^63: regopy's input API would wrap it to a negative int64


def test_integers_of_2_63_and_more_are_exact(rules_dir):
    match = ('tracee_match = {"addr": a, "u64max": m, "eq": a == 18446744071578845184, "neg": n} {\n'
             '\ta := helpers.get_tracee_argument("addr")\n'
             '\tm := helpers.get_tracee_argument("max")\n'
             '\tn := input.returnValue\n'
             '\tm == 18446744073709551615\n}')
    sigs = load_rules(write_rule(rules_dir, "big.rego", rule_text("BIG-1", "BIG_1", ["hooked_syscalls"], match)))
    event = make_event("hooked_syscalls", context={"return_value": -(2**63)})
    event.args = [{"name": "addr", "type": "unsigned long", "value": KERNEL_ADDR},
                  {"name": "max", "type": "u64", "value": U64_MAX}]
    findings = run_signatures(sigs, [event])
    assert [f.data for f in findings] == [{"addr": KERNEL_ADDR, "u64max": U64_MAX, "eq": True, "neg": -(2**63)}]


def test_groups_hold_only_the_rules_that_select_the_event():
    """Cost grows with the rules that select an event: ptrace's group is RGO-2 and RGO-3 only,
    although 15 rules are loaded; origin counts (RGO-14 only sees container file opens)."""
    sigs = load_rules(TRC)
    runtime = sigs[0].runtime
    run_signatures(sigs, [make_event("ptrace", request="PTRACE_ATTACH"),
                          make_event("security_file_open", pathname="/x", flags="O_RDONLY"),
                          make_event("security_file_open", pathname="/x", flags="O_RDONLY", container=True)])
    groups = runtime._state().groups
    ids = sorted(sorted(s.metadata.id for s in group.members) for group in groups.values())
    assert ids == [["RGO-10", "RGO-14", "RGO-3", "RGO-7", "RGO-8"],  # security_file_open, container
                   ["RGO-10", "RGO-3", "RGO-7"],  # security_file_open, host
                   ["RGO-2", "RGO-3"]]  # ptrace, host


def test_one_input_conversion_per_event_shared_by_the_group(monkeypatch):
    calls = []
    original = Runner.set_input
    monkeypatch.setattr(Runner, "set_input", lambda self, value: (calls.append(value.get("eventName")),
                                                                   original(self, value))[1])
    sigs = load_rules(TRC)
    calls.clear()  # the loader's own checks
    event = make_event("security_file_open", container=True, pathname="/proc/self/mem", flags="O_RDWR")
    event2 = make_event("security_file_open", container=True, pathname="/c/release_agent", flags="O_WRONLY")
    findings = run_signatures(sigs, [event, event2, make_event("openat")])  # openat: no Rego rule selects it
    assert findings.ids == ["RGO-3", "RGO-14"]
    assert calls == ["security_file_open", "security_file_open"]


def test_an_event_dispatched_twice_is_evaluated_twice():
    sigs = load_rules(TRC)
    event = make_event("ptrace", request="PTRACE_TRACEME")
    assert run_signatures(sigs, [event, event]).ids == ["RGO-2", "RGO-2"]
    event.args[0]["value"] = "PTRACE_POKETEXT"
    assert run_signatures(sigs, [event]).ids == ["RGO-3"]


def test_groups_are_built_from_the_signatures_actually_loaded():
    """With --rules, only the selected signatures are init()ed, so only they are compiled."""
    sigs = load_rules(TRC)
    chosen = [sigs.by_id("RGO-3")]
    assert run_signatures(chosen, [make_event("ptrace", request="PTRACE_POKETEXT"),
                                   make_event("ptrace", request="PTRACE_TRACEME")]).ids == ["RGO-3"]
    groups = chosen[0].runtime._state().groups
    assert [[s.metadata.id for s in g.members] for g in groups.values()] == [["RGO-3"]]


@pytest.mark.parametrize("value", [1.5, True, None, "text", ["a", 1], {"k": [None]}])
def test_input_values_reach_rego_unchanged(rules_dir, value):
    match = 'tracee_match = {"v": v} {\n\tv := helpers.get_tracee_argument("v")\n}'
    sigs = load_rules(write_rule(rules_dir, "v.rego", rule_text("V-1", "V_1", ["openat"], match)))
    event = make_event("openat")
    event.args = [{"name": "v", "type": "unknown", "value": value}]
    findings = run_signatures(sigs, [event])
    assert [f.data for f in findings] == [{"v": value}]


def test_bytes_arguments_are_base64_as_on_the_wire(rules_dir):
    match = 'tracee_match = {"b": helpers.get_tracee_argument("bytes")} { true }'
    sigs = load_rules(write_rule(rules_dir, "b.rego", rule_text("B-1", "B_1", ["magic_write"], match)))
    findings = run_signatures(sigs, [make_event("magic_write", bytes=b"\x7fELF\x00\xff")])
    assert [f.data for f in findings] == [{"b": "f0VMRgD/"}]


def test_groups_get_only_the_fields_their_rules_read_unless_a_rule_reads_input_whole(rules_dir):
    """Trimming the input is invisible to rules: a rule reading `input.hostName` gets it, a rule
    reading `input[key]` gets every field, and a group gets the union of its rules' needs."""
    named = rule_text("F-1", "F_1", ["openat"], 'tracee_match = {"h": input.hostName} { true }')
    dynamic = rule_text("F-2", "F_2", ["openat"],
                        'tracee_match = {"keys": count(ks)} {\n\tks := {k | input[k]}\n}')
    event = make_event("openat", pathname="/x")
    expected_keys = len(event.to_dict())
    alone = load_rules(write_rule(rules_dir, "f1.rego", named))
    assert [f.data for f in run_signatures(alone, [event])] == [{"h": "testhost"}]
    shape = next(iter(alone[0].runtime._state().groups.values())).shape
    assert shape.fields == ("hostName",) and shape.argmap is False

    both = load_rules(write_rule(rules_dir, "f1.rego", named), write_rule(rules_dir, "f2.rego", dynamic))
    findings = run_signatures(both, [make_event("openat", pathname="/x")])
    assert {f.metadata.id: f.data for f in findings} == {"F-1": {"h": "testhost"}, "F-2": {"keys": expected_keys}}
    assert next(iter(both[0].runtime._state().groups.values())).shape.fields is None
