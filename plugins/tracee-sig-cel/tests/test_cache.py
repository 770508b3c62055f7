"""The result cache: an event whose readable variables equal an earlier one's gets its answer."""

from __future__ import annotations

import pytest

from tracee.testing import make_event, run_signatures


@pytest.fixture(autouse=True)
def _cache_on(monkeypatch):
    """These tests are about the cache: on, even when the suite runs with TRACEE_RULE_CACHE=off."""
    monkeypatch.delenv("TRACEE_RULE_CACHE", raising=False)


def _opens(*paths: str):
    return [make_event("openat", context={"process_id": n}, pathname=p) for n, p in enumerate(paths)]


def test_repeated_variables_are_answered_from_the_cache(rule):
    loaded = rule("input.stringArg('pathname').startsWith('/etc/')", events=("openat",))
    findings = run_signatures(loaded.signatures, _opens("/etc/a", "/tmp/b", "/etc/a", "/tmp/b", "/etc/a"))
    assert [f.event.process_id for f in findings] == [0, 2, 4]
    stats = loaded.signatures[0].group.stats()
    assert stats["cel_cache_hit(s)"] == 3 and stats["cel_cache_miss(es)"] == 2


def test_fields_a_rule_reads_are_part_of_the_key(rule):
    loaded = rule("input.processID == 2 && input.stringArg('pathname') == '/etc/a'", events=("openat",))
    findings = run_signatures(loaded.signatures, _opens("/etc/a", "/etc/a", "/etc/a"))
    assert [f.event.process_id for f in findings] == [2]


def test_a_rule_reading_the_whole_input_is_not_cached(rule):
    loaded = rule("input != {} && input.args.size() == 1", events=("openat",))
    findings = run_signatures(loaded.signatures, _opens("/etc/a", "/etc/a"))
    assert len(findings) == 2
    assert loaded.signatures[0].group.stats().get("cel_cache_hit(s)", 0) == 0


def test_evaluation_errors_are_counted_on_every_event(rule):
    loaded = rule("int(input.stringArg('pathname')) > 0", events=("openat",))
    run_signatures(loaded.signatures, _opens("x", "x", "x"))
    assert loaded.signatures[0].eval_errors == 3
    assert loaded.signatures[0].group.stats().get("cel_cache_hit(s)", 0) == 0


def test_bytes_are_evaluated_not_cached(rule):
    loaded = rule("input.args.exists(a, a.name == 'buf' && a.value == b'A')", events=("write",))
    findings = run_signatures(loaded.signatures, [make_event("write", buf=b"A")] * 2)
    assert len(findings) == 2
    stats = loaded.signatures[0].group.stats()
    assert stats.get("cel_cache_hit(s)", 0) == 0


def test_the_cache_can_be_switched_off(rule, monkeypatch):
    monkeypatch.setenv("TRACEE_RULE_CACHE", "off")
    loaded = rule("input.stringArg('pathname') == '/etc/a'", events=("openat",))
    assert len(run_signatures(loaded.signatures, _opens("/etc/a", "/etc/a"))) == 2
    assert loaded.signatures[0].group.stats() == {}


def test_sockaddr_arguments_are_part_of_the_key(rule):
    loaded = rule("input.sockaddrArg('remote_addr').sin_addr == '169.254.169.254'", events=("security_socket_connect",))
    events = [make_event("security_socket_connect", remote_addr={"sa_family": "AF_INET", "sin_port": "80", "sin_addr": a})
              for a in ("10.0.0.1", "169.254.169.254", "10.0.0.1", "169.254.169.254")]
    findings = run_signatures(loaded.signatures, events)
    assert [f.event.get_arg("remote_addr")["sin_addr"] for f in findings] == ["169.254.169.254"] * 2
    assert loaded.signatures[0].group.stats()["cel_cache_hit(s)"] == 2
