"""Results of pure rule groups (Rego, CEL) cached on the exact part of the input their rules read.

A Rego or CEL rule is a pure function of its `input` (and static data): two events whose
projections on what the rules can read are equal get the same answer. A group builds that
projection per event (the trimmed Rego input document, the CEL variables), and `key` turns it
into bytes: orjson with sorted keys, which tells apart every value the engines tell apart (1 and
1.0, true and 1, "1" and 1). A projection orjson cannot write exactly (bytes, integers beyond 64
bits) gets no key and is evaluated, never guessed. A group whose rules' reads cannot be derived,
or that calls a builtin that is not a function of its input (time, random numbers, printing),
caches nothing. Findings carry the event they were made on; only the rules' answer is reused.

Bounded (`BoundedMap`, least recently used out), counted (hits, misses, evictions in the run's
summary) and switchable: `--rule-cache off` or TRACEE_RULE_CACHE=off evaluates every event.
"""

from __future__ import annotations

import os
from typing import Any, Mapping

import orjson

from .state import BoundedMap

__all__ = ["Trial", "DEFAULT_ENTRIES", "ENV_VAR", "MAX_KEY_BYTES", "ResultCache", "enabled", "setting"]

ENV_VAR = "TRACEE_RULE_CACHE"
#: Entries per group. Keys are at most MAX_KEY_BYTES: a group's cache holds at most ~16 MB.
DEFAULT_ENTRIES = 4096
#: Projections longer than this (an exec with its whole environment) are evaluated, not cached:
#: they rarely repeat, and the cap keeps the memory bound small.
MAX_KEY_BYTES = 4096
#: A group whose cache answers fewer than 1 in 50 of its first lookups (its rules read a field that
#: differs per event: a pid, a timestamp) stops caching; it tries again after RETRY_AFTER evaluations.
TRIAL, MIN_HIT_RATE, RETRY_AFTER = 1024, 0.02, 1 << 16
_SORTED = orjson.OPT_SORT_KEYS
_OFF = ("0", "off", "no", "false")


def setting(options: Mapping[str, Any]) -> str:
    """"on" or "off": `--rule-cache`, else TRACEE_RULE_CACHE, else on."""
    choice = options.get("rule_cache") or os.environ.get(ENV_VAR) or "on"
    return "off" if str(choice).strip().lower() in _OFF else "on"


def enabled(options: Mapping[str, Any]) -> bool:
    return setting(options) == "on"


class Trial:
    """How the cache serves one set of rules evaluated together: hits of the current trial, and
    the evaluations left before a paused cache is tried again for them."""

    __slots__ = ("hits", "lookups", "resume_in")

    def __init__(self) -> None:
        self.hits = self.lookups = self.resume_in = 0


class ResultCache:
    """Answers of one rule group by projection key; `stats()` names them after the group."""

    def __init__(self, name: str, entries: int = DEFAULT_ENTRIES) -> None:
        self.name = name
        self._map: BoundedMap = BoundedMap(entries)
        self.hits = self.misses = self.uncacheable = 0
        self.paused = 0  # evaluations made without the cache while paused for their rules (see TRIAL)

    def active(self, trial: "Trial") -> bool:
        """Whether to look up the answer for the rules `trial` follows; False (counted) while the
        cache is paused for them."""
        if trial.resume_in:
            trial.resume_in -= 1
            self.paused += 1
            return False
        return True

    @staticmethod
    def key(projection: Any) -> bytes | None:
        """The projection's bytes, or None when it cannot be written exactly or is too long."""
        try:
            data = orjson.dumps(projection, option=_SORTED)
        except (TypeError, orjson.JSONEncodeError):  # bytes, ints >= 2^64, other types
            return None
        return data if len(data) <= MAX_KEY_BYTES else None

    def get(self, key: Any, trial: "Trial | None" = None) -> Any:
        """The stored answer (None when absent; counted as a hit or a miss, also in `trial`)."""
        found = self._map.get(key)
        if found is None:
            self.misses += 1
        else:
            self.hits += 1
        if trial is not None:
            trial.lookups += 1
            if found is not None:
                trial.hits += 1
            if trial.lookups >= TRIAL:
                if trial.hits < MIN_HIT_RATE * trial.lookups:
                    trial.resume_in = RETRY_AFTER
                trial.hits = trial.lookups = 0
        return found

    def put(self, key: Any, value: Any) -> None:
        self._map[key] = value

    def __len__(self) -> int:
        return len(self._map)

    def stats(self) -> dict[str, int]:
        return {f"{self.name}_cache_hit(s)": self.hits, f"{self.name}_cache_miss(es)": self.misses,
                f"{self.name}_cache_eviction(s)": self._map.evicted,
                f"{self.name}_evaluation(s)_not_cacheable": self.uncacheable,
                f"{self.name}_evaluation(s)_cache_paused": self.paused}
