"""Bounded state for stateful signatures: a map that keeps memory flat on a long run."""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

__all__ = ["BoundedMap"]


class BoundedMap(OrderedDict):
    """A dict that keeps at most `cap` keys, evicting the least recently used; counts evictions.

    Key it by process or container and drop entries on exit events; the cap keeps memory flat when
    exit events are lost or never come. Report `evicted` at the end of a run: a detection that
    needed an evicted entry may have been missed.
    """

    def __init__(self, cap: int) -> None:
        super().__init__()
        self.cap = cap
        self.evicted = 0

    def put(self, key: Any, value: Any) -> None:
        self[key] = value
        self.move_to_end(key)
        if len(self) > self.cap:
            self.popitem(last=False)
            self.evicted += 1
