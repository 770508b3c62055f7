"""tracee.rulecache: keys tell apart every value a rule engine tells apart; bounded; switchable."""

from __future__ import annotations

from tracee import rulecache
from tracee.rulecache import MAX_KEY_BYTES, RETRY_AFTER, TRIAL, ResultCache, Trial


def test_keys_tell_numbers_booleans_and_strings_apart():
    values = [1, 1.0, True, "1", None, [1], {"a": 1}, 2**64 - 1, -(2**63)]
    keys = [ResultCache.key({"v": v}) for v in values]
    assert None not in keys and len(set(keys)) == len(values)
    assert ResultCache.key({"a": 1, "b": 2}) == ResultCache.key({"b": 2, "a": 1})  # objects are unordered


def test_values_that_cannot_be_written_exactly_get_no_key():
    assert ResultCache.key({"v": b"\x00"}) is None
    assert ResultCache.key({"v": 2**64}) is None
    assert ResultCache.key({"v": "x" * MAX_KEY_BYTES}) is None


def test_bounded_and_counted():
    cache = ResultCache("t", entries=2)
    for n in range(3):
        assert cache.get(n) is None
        cache.put(n, {})
    assert cache.get(2) == {} and len(cache) == 2
    assert cache.stats() == {"t_cache_hit(s)": 1, "t_cache_miss(es)": 3, "t_cache_eviction(s)": 1,
                             "t_evaluation(s)_not_cacheable": 0, "t_evaluation(s)_cache_paused": 0}


def test_setting_from_option_then_environment(monkeypatch):
    monkeypatch.delenv(rulecache.ENV_VAR, raising=False)
    assert rulecache.setting({}) == "on"
    monkeypatch.setenv(rulecache.ENV_VAR, "off")
    assert rulecache.setting({}) == "off" and rulecache.setting({"rule_cache": "on"}) == "on"
    assert not rulecache.enabled({"rule_cache": "OFF"})


def test_a_cache_that_does_not_pay_pauses_for_those_rules_then_tries_again():
    cache, useless, useful = ResultCache("t"), Trial(), Trial()
    for n in range(TRIAL):  # a key that differs every time (a pid among the fields read)
        assert cache.active(useless)
        assert cache.get(("u", n), useless) is None
        cache.put(("u", n), {})
        assert cache.active(useful)
        if cache.get("same", useful) is None:
            cache.put("same", {})
    assert not cache.active(useless) and cache.active(useful)
    for _ in range(RETRY_AFTER - 1):
        cache.active(useless)
    assert cache.active(useless)  # tried again
    assert cache.stats()["t_evaluation(s)_cache_paused"] == RETRY_AFTER
