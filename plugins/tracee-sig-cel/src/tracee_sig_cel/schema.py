"""What a CEL rule sees as `input`: a fixed schema of Tracee's fields, built once per event."""

from __future__ import annotations

from typing import Any

from tracee import Event
from tracee.event import FIELDS as EVENT_FIELDS
from tracee.events import catalog, decoders

__all__ = ["ALIASES", "FIELDS", "SA_FAMILIES", "SOCKADDR_FIELDS", "STRING_ARGS", "SOCKADDR_ARGS",
           "empty_sockaddr", "input_fields", "sample_event", "sockaddr_args", "string_args"]

# go-cel's `wrapper.Event` (the proto Tracee converted events to) has Tracee's JSON fields in the
# same order, some spelled differently: this maps those spellings, over the event model's fields.
_GO_CEL_SPELLING: dict[str, str] = {
    "processorId": "processorID", "processId": "processID", "cgroupId": "cgroupID",
    "threadId": "threadID", "parentProcessId": "parentProcessID", "hostProcessId": "hostProcessID",
    "hostThreadId": "hostThreadID", "hostParentProcessId": "hostParentProcessID", "userId": "userID",
    "mountNamespace": "mountNS", "pidNamespace": "PIDNS", "containerId": "containerID",
    "eventId": "eventID",
}
# go-cel name -> the Event attribute it comes from, in go-cel's order. Every field is always
# present: a missing key is an evaluation error in CEL, so a fixed schema keeps
# `input.containerID == ''` a plain comparison. `timestamp` is nanoseconds since the epoch, an int
# (go-cel's Timestamp was broken).
FIELDS: dict[str, str] = {
    **{_GO_CEL_SPELLING.get(key, key): attr for key, attr, _ in EVENT_FIELDS},
    "contextFlags": "",  # {containerStarted: bool}, as in Tracee's JSON
    "args": "args",  # [{name, type, value}], as in Tracee's JSON
}

# Tracee's JSON spellings of the same fields. They are rewritten to the names above when a rule is
# compiled (no cost per event), so rules written against either form work.
ALIASES: dict[str, str] = dict(_GO_CEL_SPELLING)

# `input.sockaddrArg(name)`: go-cel's `wrapper.sockaddr`, every field present. Ports and the IPv6
# extras are unsigned, as in the proto (`sin_port == 80u`).
SOCKADDR_FIELDS: dict[str, type] = {
    "sa_family": str, "sin_addr": str, "sin_port": int, "sin6_addr": str, "sin6_port": int,
    "sin6_flowinfo": int, "sin6_scopeid": int, "sun_path": str,
}
UNSIGNED_SOCKADDR_FIELDS = frozenset(("sin_port", "sin6_port", "sin6_flowinfo", "sin6_scopeid"))
# `wrapper.sa_family_t.X` is written as the string 'X'. go-cel's zero value SA_FAMILY_T_UNSPEC is
# the "AF_UNSPEC" that Tracee's decoder gives to families it does not know.
SA_FAMILIES: dict[str, str] = {"SA_FAMILY_T_UNSPEC": "AF_UNSPEC", "AF_UNSPEC": "AF_UNSPEC",
                               "AF_UNIX": "AF_UNIX", "AF_INET": "AF_INET", "AF_INET6": "AF_INET6"}

# Variables beside `input` that the rewritten expressions read (see translate.py).
STRING_ARGS = "__tracee_sargs"
SOCKADDR_ARGS = "__tracee_saddrs"

_SOCKADDR_TYPES = frozenset(("struct sockaddr*", "struct sockaddr *"))


def empty_sockaddr() -> dict[str, Any]:
    return {k: ("AF_UNSPEC" if k == "sa_family" else t()) for k, t in SOCKADDR_FIELDS.items()}


def input_fields(event: Event, fields: frozenset[str] | None = None) -> dict[str, Any]:
    """`input` as plain Python values (the backends convert them to their own CEL values).

    `fields` limits it to the fields the loaded rules read (None: all of them).
    """
    if fields is None:
        fields = _ALL_FIELDS
    out: dict[str, Any] = {}
    for name in fields:
        attr = FIELDS[name]
        if attr:
            value = getattr(event, attr)
            out[name] = value if value is not None else []  # stackAddresses: null on the wire
        elif name == "contextFlags":
            out[name] = {"containerStarted": event.container_started}
    if "args" in out:
        out["args"] = [{"name": a.get("name", ""), "type": a.get("type", ""), "value": a.get("value")}
                       for a in event.args]
    return out


_ALL_FIELDS = frozenset(FIELDS)


def string_args(event: Event, always: frozenset[str] = frozenset()) -> dict[str, str]:
    """name → value of every argument whose value is a string (what `stringArg` reads), and ""
    for each name in `always` that the event lacks."""
    out: dict[str, str] = dict.fromkeys(always, "")
    for arg in reversed(event.args):  # the first argument of a name wins, as in Event.get_arg
        value = arg.get("value")
        if type(value) is str:
            out[arg["name"]] = value
    return out


def sockaddr_args(event: Event, always: frozenset[str] = frozenset()) -> dict[str, dict[str, Any]]:
    """name → full sockaddr map for every sockaddr argument (what `sockaddrArg` reads), and the
    empty sockaddr for each name in `always` that the event lacks (as go-cel gave).

    A value that is not a decodable address gives the empty sockaddr, as in go-cel.
    """
    out: dict[str, dict[str, Any]] = {name: empty_sockaddr() for name in always}
    for arg in reversed(event.args):
        value = arg.get("value")
        if not _is_sockaddr(arg):
            continue
        addr = empty_sockaddr()
        try:
            decoded = decoders.sockaddr(value)
        except ValueError:
            decoded = {}
        for key, text in decoded.items():
            kind = SOCKADDR_FIELDS.get(key)
            if kind is str:
                addr[key] = text
            elif kind is int:
                try:
                    addr[key] = int(text)
                except ValueError:
                    pass
        out[arg["name"]] = addr
    return out


def _is_sockaddr(arg: dict[str, Any]) -> bool:
    value = arg.get("value")
    return arg.get("type") in _SOCKADDR_TYPES or (type(value) is dict and "sa_family" in value)


def projection(event: Event, fields: frozenset[str] | None, uses_sockaddr: bool) -> tuple[Any, ...]:
    """Everything the variables of `event` are built from (`input_fields`, `string_args`,
    `sockaddr_args` read nothing else), undecoded: the result cache's key. Kept beside the
    builders so that the two read the same arguments."""
    strings = [(arg["name"], arg["value"]) for arg in event.args if type(arg.get("value")) is str]
    sockaddrs = [(arg["name"], arg.get("value")) for arg in event.args if _is_sockaddr(arg)] if uses_sockaddr else ()
    return input_fields(event, fields), strings, sockaddrs


_ZERO_BY_TYPE = {"const char**": [], "const char*const*": [], "struct sockaddr*": {"sa_family": "AF_UNSPEC"}}


def sample_event(event_name: str) -> Event:
    """A representative event for trial evaluation at load: the catalog's arguments, zero-valued."""
    definition = catalog.by_name(event_name) if event_name and event_name != "*" else None
    args = []
    for arg in definition.args if definition else ():
        if arg.type in _ZERO_BY_TYPE:
            value: Any = _ZERO_BY_TYPE[arg.type]
        elif "char" in arg.type or arg.type == "string":
            value = ""
        else:
            value = 0
        args.append({"name": arg.name, "type": arg.type, "value": value})
    return Event(event_name if event_name != "*" else "", args,
                 event_id=definition.id if definition else 0)
