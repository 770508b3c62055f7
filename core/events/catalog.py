"""The event catalog: every Tracee v0.8.3 event (id, name, sets, arguments), read from events.json.

`events.json`, shipped beside this module, is the one home of these facts: a verbatim copy of
the reference events-v0.8.3.json (Tracee v0.8.3's pkg/events definitions, x86-64 ids), so a test
can compare it with the reference as a whole and another release's file can replace it. It is
data, not a generated module, because there is then no generator to keep in step and nothing to
review but the file itself; parsing it (orjson, ~0.9 ms) and building the definitions takes
about 2.5 ms at import, measured. Everything here is derived from it: the definitions, the
lookups by name and id, the sets, the syscalls, the default and the selectable events. Its
`tracee_probes` (the kprobes Tracee attached) are not read: where *this* project's events come
from is the input plugin's business (the eBPF input keeps its own table,
tracee_input_ebpf.sources).
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources

import orjson

__all__ = ["ArgDef", "DEFAULT_SET", "EVENTS", "EventDef", "SELECTABLE", "SYSCALLS", "by_id",
           "by_name", "names_in_set"]


@dataclass(frozen=True, slots=True)
class ArgDef:
    """One argument of an event, as Tracee declares it (`type` is Tracee's C-like type name)."""

    name: str
    type: str


@dataclass(frozen=True, slots=True)
class EventDef:
    """One event: Tracee's id and name, its arguments in wire order, and its sets.

    `syscall`: the event is a syscall (its id is the x86-64 syscall number; ids from 3000 are the
    32-bit-only syscalls). `internal`: Tracee uses the event itself and does not let users
    select it (print_syscall_table, capture_*, ...).
    """

    id: int
    name: str
    args: tuple[ArgDef, ...]
    sets: tuple[str, ...]
    syscall: bool = False
    internal: bool = False


def _load() -> tuple[EventDef, ...]:
    raw = orjson.loads(resources.files(__package__).joinpath("events.json").read_bytes())
    args: dict[tuple[str, str], ArgDef] = {}  # 1380 arguments, 605 distinct: share them
    events = []
    for e in raw["events"]:
        event_args = []
        for a in e["args"]:
            key = (a["name"], a["type"])
            arg = args.get(key)
            if arg is None:
                arg = args[key] = ArgDef(*key)
            event_args.append(arg)
        events.append(EventDef(e["id"], e["name"], tuple(event_args), tuple(e["sets"]),
                               e["syscall"], e["internal"]))
    return tuple(events)


# In the file's order, which is by id.
EVENTS: tuple[EventDef, ...] = _load()

_BY_NAME: dict[str, EventDef] = {e.name: e for e in EVENTS}
_BY_ID: dict[int, EventDef] = {e.id: e for e in EVENTS}


def _index_sets(events: tuple[EventDef, ...]) -> dict[str, list[str]]:
    index: dict[str, list[str]] = {}
    for event in events:
        for set_name in event.sets:
            index.setdefault(set_name, []).append(event.name)
    for names in index.values():
        names.sort()
    return index


_BY_SET: dict[str, list[str]] = _index_sets(EVENTS)

#: Names of the syscall events (446 in v0.8.3, the same as the `syscalls` set).
SYSCALLS: frozenset[str] = frozenset(e.name for e in EVENTS if e.syscall)
#: Names of the events a user may select (509: every event that is not internal).
SELECTABLE: frozenset[str] = frozenset(e.name for e in EVENTS if not e.internal)
#: Names of the events in Tracee's `default` set (75), what tracee-ebpf traces when given none.
DEFAULT_SET: frozenset[str] = frozenset(_BY_SET["default"])


def by_name(name: str) -> EventDef | None:
    """The event called `name`, or None."""
    return _BY_NAME.get(name)


def by_id(id: int) -> EventDef | None:  # noqa: A002 - matches Tracee's field name
    """The event with Tracee id `id`, or None."""
    return _BY_ID.get(id)


def names_in_set(set_name: str) -> list[str]:
    """Names of the events in the set `set_name` (sorted; empty for an unknown set)."""
    return list(_BY_SET.get(set_name, ()))
