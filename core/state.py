"""Bounded state for stateful signatures: a map that keeps memory flat on a long run."""

from __future__ import annotations

from typing import Any, Callable

import cachetools

__all__ = ["BoundedMap"]


class BoundedMap(cachetools.LRUCache):
    """cachetools' LRU map, holding at most `cap` keys (or, with `getsizeof`, a total size of
    `cap`), that counts what it evicts in `evicted` (keys, or their sizes).

    Key it by process or container and drop entries on exit events; the cap keeps memory flat when
    exit events are lost or never come. Reading a key (`map[key]`, `get`) or writing it makes it the
    most recently used. Report `evicted` at the end of a run: a detection that needed an evicted
    entry may have been missed. A value whose size changed after it was stored is re-weighed by
    storing it again.
    """

    def __init__(self, cap: int, getsizeof: Callable[[Any], int] | None = None) -> None:
        super().__init__(cap, getsizeof)
        self.evicted = 0

    @property
    def cap(self) -> int:
        return int(self.maxsize)

    def put(self, key: Any, value: Any) -> None:
        self[key] = value

    def popitem(self) -> tuple[Any, Any]:
        key, value = super().popitem()
        self.evicted += self.getsizeof(value)
        return key, value
