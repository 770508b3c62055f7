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

__all__ = ["DEFAULT_ENTRIES", "ENV_VAR", "MAX_KEY_BYTES", "ResultCache", "enabled", "setting"]

ENV_VAR = "TRACEE_RULE_CACHE"
#: Entries per group. Keys are at most MAX_KEY_BYTES: a group's cache holds at most ~16 MB.
DEFAULT_ENTRIES = 4096
#: Projections longer than this (an exec with its whole environment) are evaluated, not cached:
#: they rarely repeat, and the cap keeps the memory bound small.
MAX_KEY_BYTES = 4096
_SORTED = orjson.OPT_SORT_KEYS
_OFF = ("0", "off", "no", "false")


def setting(options: Mapping[str, Any]) -> str:
    """"on" or "off": `--rule-cache`, else TRACEE_RULE_CACHE, else on."""
    choice = options.get("rule_cache") or os.environ.get(ENV_VAR) or "on"
    return "off" if str(choice).strip().lower() in _OFF else "on"


def enabled(options: Mapping[str, Any]) -> bool:
    return setting(options) == "on"


class ResultCache:
    """Answers of one rule group by projection key; `stats()` names them after the group."""

    def __init__(self, name: str, entries: int = DEFAULT_ENTRIES) -> None:
        self.name = name
        self._map: BoundedMap = BoundedMap(entries)
        self.hits = self.misses = self.uncacheable = 0

    @staticmethod
    def key(projection: Any) -> bytes | None:
        """The projection's bytes, or None when it cannot be written exactly or is too long."""
        try:
            data = orjson.dumps(projection, option=_SORTED)
        except (TypeError, orjson.JSONEncodeError):  # bytes, ints >= 2^64, other types
            return None
        return data if len(data) <= MAX_KEY_BYTES else None

    def get(self, key: Any) -> Any:
        """The stored answer (None when absent; counted as a hit or a miss)."""
        found = self._map.get(key)
        if found is None:
            self.misses += 1
        else:
            self.hits += 1
        return found

    def put(self, key: Any, value: Any) -> None:
        self._map[key] = value

    def __len__(self) -> int:
        return len(self._map)

    def stats(self) -> dict[str, int]:
        return {f"{self.name}_cache_hit(s)": self.hits, f"{self.name}_cache_miss(es)": self.misses,
                f"{self.name}_cache_eviction(s)": self._map.evicted,
                f"{self.name}_evaluation(s)_not_cacheable": self.uncacheable}
