"""The event model: Tracee's event (tracee-ebpf JSON, v0.8.1+ fields), read fast and written back exactly."""

from __future__ import annotations

import base64
import json
import logging
from typing import Any, Iterable

from .log import limit

__all__ = ["Event", "EventDecodeError", "FIELDS", "decode_args", "shown"]


class EventDecodeError(ValueError):
    """An input line or dict that is not a valid Tracee event; the message says which field."""


#: Longest rendering of an input value inside an error message: a hostile line may carry
#: megabytes in one field, and the message must stay one readable line.
MAX_SHOWN = 80


def shown(value: Any) -> str:
    """`repr(value)` cut to MAX_SHOWN characters (with the full length said), for messages."""
    if type(value) in (str, bytes) and len(value) > MAX_SHOWN:
        return f"{value[:MAX_SHOWN]!r}... ({len(value)} {'characters' if type(value) is str else 'bytes'})"
    text = repr(value) if type(value) not in (list, dict) or len(value) < 16 else f"<{type(value).__name__} of {len(value)}>"
    return text if len(text) <= MAX_SHOWN + 20 else text[:MAX_SHOWN] + "..."


# (wire key, attribute, default) in the order tracee-ebpf writes them. `eventId` is an int here
# and a string on the wire; `contextFlags` and `args` are handled apart.
FIELDS: tuple[tuple[str, str, Any], ...] = (
    ("timestamp", "timestamp", 0),
    ("threadStartTime", "thread_start_time", 0),
    ("processorId", "processor_id", 0),
    ("processId", "process_id", 0),
    ("cgroupId", "cgroup_id", 0),
    ("threadId", "thread_id", 0),
    ("parentProcessId", "parent_process_id", 0),
    ("hostProcessId", "host_process_id", 0),
    ("hostThreadId", "host_thread_id", 0),
    ("hostParentProcessId", "host_parent_process_id", 0),
    ("userId", "user_id", 0),
    ("mountNamespace", "mount_namespace", 0),
    ("pidNamespace", "pid_namespace", 0),
    ("processName", "process_name", ""),
    ("hostName", "host_name", ""),
    ("containerId", "container_id", ""),
    ("containerImage", "container_image", ""),
    ("containerName", "container_name", ""),
    ("podName", "pod_name", ""),
    ("podNamespace", "pod_namespace", ""),
    ("podUID", "pod_uid", ""),
    ("eventId", "event_id", 0),
    ("eventName", "event_name", ""),
    ("argsNum", "args_num", 0),
    ("returnValue", "return_value", 0),
    ("stackAddresses", "stack_addresses", None),
)
_LOWER = {k.lower(): k for k, _, _ in FIELDS} | {"contextflags": "contextFlags", "args": "args"}

# Go's Argument.UnmarshalJSON converts JSON numbers by declared type (TRACEE.md §1.2); a number whose
# type is not listed is an error that drops the event. Values are (width in bits, signed).
_NUMERIC: dict[str, tuple[int, bool]] = {}
for _names, _bits, _signed in (
    ("int pid_t uid_t gid_t mqd_t clockid_t key_t key_serial_t timer_t landlock_rule_type", 32, True),
    ("long", 64, True),
    ("unsigned|int u32 mode_t dev_t", 32, False),
    ("unsigned|long u64 off_t size_t", 64, False),
    ("unsigned|short old_uid_t old_gid_t umode_t u16 uint16", 16, False),
    ("u8 uint8", 8, False),
):
    for _n in _names.split():
        _NUMERIC[_n.replace("|", " ")] = (_bits, _signed)
_NUMERIC["const clockid_t"] = (32, True)
# [low, high) per type: the in-range check of the hot path is one lookup and one comparison.
_RANGE = {t: ((-(1 << (b - 1)), 1 << (b - 1)) if s else (0, 1 << b)) for t, (b, s) in _NUMERIC.items()}
_FLOATS = frozenset(("float", "float64"))


def _convert_number(arg: dict, typ: str, value: Any) -> None:
    """Give a numeric argument the value Go's decoder would: Tracee parses it with the declared
    type's width (strconv.ParseInt(s, 10, 32) for an `int`...), so a number out of that range is
    an error that drops the event, never a value wrapped into range (2^64 as a `long` would
    wrap to 0 and look like PTRACE_TRACEME). orjson gives integers beyond 64 bits as floats: they
    are out of every range."""
    if typ in _FLOATS:
        arg["value"] = float(value)
        return
    bounds = _RANGE.get(typ)
    if bounds is None:
        if typ.endswith("*"):  # any pointer type is a u64 (Tracee >= v0.9)
            bounds = _RANGE["u64"]
        else:
            raise EventDecodeError(f"argument {shown(arg.get('name'))}: unrecognized argument type {shown(typ)}")
    if type(value) is float:
        if not value.is_integer():
            raise EventDecodeError(f"argument {shown(arg.get('name'))}: {value!r} is not an integer ({typ})")
        value = int(value)
    if not bounds[0] <= value < bounds[1]:
        raise EventDecodeError(f"argument {shown(arg.get('name'))}: {shown(value)} is out of range for "
                               f"{typ} ({bounds[0]}..{bounds[1] - 1})")
    arg["value"] = value


def decode_args(args: Any) -> list[dict]:
    """Check and normalise a Tracee `args` list in place: each argument an object with a string
    `name` and `type` (Go's ArgMeta), numbers checked against their declared type."""
    if args is None:
        return []
    if type(args) is not list:
        raise EventDecodeError("field 'args': expected a list")
    for arg in args:
        # Hot path: one subscript per key instead of type checks; anything unusual (not an
        # object, keys in other case, a missing key) falls to the careful path.
        try:
            name = arg["name"]
            typ = arg["type"]
            value = arg["value"]
        except (KeyError, TypeError):
            name, typ, value = _normalise_arg(arg)
        if type(name) is not str or type(typ) is not str:
            _bad_meta(name, typ)
        vt = type(value)
        if vt is int:
            bounds = _RANGE.get(typ)
            if bounds is None or not bounds[0] <= value < bounds[1]:
                _convert_number(arg, typ, value)
        elif vt is float:
            _convert_number(arg, typ, value)
    return args


def _bad_meta(name: Any, typ: Any) -> None:
    if type(name) is not str:
        raise EventDecodeError(f"field 'args': an argument's 'name' must be a string, got {shown(name)}")
    raise EventDecodeError(f"argument {shown(name)}: 'type' must be a string, got {shown(typ)}")


def _normalise_arg(arg: Any) -> tuple[Any, Any, Any]:
    """Lower-case the keys of an argument object (Go matches them in any case); a missing
    `type` is "" and a missing `value` null, as in Go. Returns (name, type, value)."""
    if type(arg) is not dict:
        raise EventDecodeError(f"field 'args': each argument must be an object, got {shown(arg)}")
    for key in list(arg):
        low = key.lower()
        if low in ("name", "type", "value") and key != low:
            arg[low] = arg.pop(key)
    if "name" not in arg:
        raise EventDecodeError("field 'args': an argument has no 'name'")
    arg.setdefault("type", "")
    arg.setdefault("value", None)
    return arg["name"], arg["type"], arg["value"]


# Ranges of the context fields, from Go's trace.Event: `int` (int64) everywhere but the `uint`
# cgroup id. Other fields are strings, and stackAddresses a list of uint64.
_FIELD_RANGE = {key: (0, 1 << 64) if key == "cgroupId" else (-(1 << 63), 1 << 63)
                for key, _, default in FIELDS if type(default) is int}
log = logging.getLogger("tracee.event")


def _checked(key: str, value: Any, default: Any) -> Any:
    """A context field read from hostile input: its value if it has the field's type (and fits its
    width), else the default, reported once per field and counted."""
    if value is None:
        return default
    if type(default) is int:
        low, high = _FIELD_RANGE[key]
        if type(value) is int and low <= value < high:
            return value
        why = f"{shown(value)} is not an integer of {'uint64' if low == 0 else 'int64'}"
    elif type(default) is str:
        if type(value) is str:
            return value
        why = f"expected a string, got {shown(value)}"
    else:  # stackAddresses
        if type(value) is list and all(type(v) is int and 0 <= v < 1 << 64 for v in value):
            return value
        why = f"expected a list of addresses, got {shown(value)}"
    log.error(f"event field {key!r}: {why}; read as {default!r}",
              extra=limit(f"event:field:{key}", 1, more="further ones are only counted"))
    return default


def _field(key: str, default: Any) -> property:
    kind = type(default)
    low, high = _FIELD_RANGE.get(key, (0, 0))

    if kind is int:
        def get(self: "Event") -> Any:
            value = self._d.get(key)
            if type(value) is int and low <= value < high:
                return value
            return _checked(key, value, default)
    elif kind is str:
        def get(self: "Event") -> Any:
            value = self._d.get(key)
            if type(value) is str:
                return value
            return _checked(key, value, default)
    else:
        def get(self: "Event") -> Any:
            value = self._d.get(key)
            return None if value is None else _checked(key, value, default)

    def put(self: "Event", value: Any) -> None:
        self._d[key] = value

    return property(get, put, doc=f"Tracee's `{key}`.")


class Event:
    """One kernel event. Attributes are the snake_case forms of Tracee's JSON keys.

    `args` is Tracee's list of `{"name", "type", "value"}` dicts, kept as the input gave them
    (sockaddr as a map or the older string, `bytes` as base64 text or bytes): read them with
    `get_arg()` and the decoders in `tracee.events.decoders`. `cache` is a per-event dict in which
    signature back-ends memoise work shared by several rules (one Rego input per event, ...).

    Decoding is the hot path, so an event wraps the decoded JSON object: the fields the engine
    needs are checked and stored at once, the others are read from it when asked for. Fields that
    are neither (a string where Tracee has a number) pass through unchecked.
    """

    __slots__ = ("_d", "event_name", "event_id", "container_id", "container_started", "args", "cache",
                 "_argmap")

    timestamp: int
    thread_start_time: int
    processor_id: int
    process_id: int
    cgroup_id: int
    thread_id: int
    parent_process_id: int
    host_process_id: int
    host_thread_id: int
    host_parent_process_id: int
    user_id: int
    mount_namespace: int
    pid_namespace: int
    process_name: str
    host_name: str
    container_image: str
    container_name: str
    pod_name: str
    pod_namespace: str
    pod_uid: str
    args_num: int
    return_value: int
    stack_addresses: list[int] | None

    def __init__(self, event_name: str = "", args: Iterable[dict] | None = None, *,
                 container_started: bool = False, event_id: int = 0, container_id: str = "",
                 **fields: Any) -> None:
        data: dict[str, Any] = {}
        for key, attr, _ in FIELDS:
            if attr in fields:
                data[key] = fields.pop(attr)
        if fields:
            raise TypeError(f"unknown event field(s): {', '.join(sorted(fields))}")
        self._d = data
        self.event_name = event_name
        self.event_id = event_id
        self.container_id = container_id
        self.args = list(args) if args is not None else []
        if "argsNum" not in data:
            data["argsNum"] = len(self.args)
        self.container_started = container_started
        self.cache = None
        self._argmap: dict[str, Any] | None = None

    # -- reading -------------------------------------------------------------------------------
    @classmethod
    def from_json(cls, text: str | bytes) -> "Event":
        """Parse one JSON line as tracee-ebpf `--output json` writes it."""
        try:
            data = _loads(text)
        except ValueError as exc:
            raise EventDecodeError(_json_problem(text, exc)) from None
        if type(data) is not dict:
            raise EventDecodeError("expected a JSON object")
        return cls.from_dict(data)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Event":
        """Build an event from a decoded Tracee JSON object (keys in any case, like Go's decoder).
        The event takes ownership of `data`."""
        if "eventName" not in data:
            data = {_LOWER.get(k.lower(), k): v for k, v in data.items()}
        self = cls.__new__(cls)
        self._d = data
        name = data.get("eventName", "")
        if type(name) is not str:
            if name is not None:
                raise EventDecodeError(f"field 'eventName': expected a string, got {shown(name)}")
            name = ""
        self.event_name = name
        event_id = data.get("eventId", 0)
        if type(event_id) is not int:
            # tracee-ebpf writes it as a string; a few hundred distinct ones: parsed once each
            number = _EVENT_IDS.get(event_id) if type(event_id) is str else None
            if number is None:
                number = _event_id(event_id)
                if type(event_id) is str and len(_EVENT_IDS) < 4096:
                    _EVENT_IDS[event_id] = number
            event_id = number
        elif not _INT64[0] <= event_id < _INT64[1]:
            raise EventDecodeError(f"field 'eventId': {shown(event_id)} is out of range for int64")
        self.event_id = event_id
        cid = data.get("containerId") or ""
        if type(cid) is not str:
            raise EventDecodeError(f"field 'containerId': expected a string, got {shown(cid)}")
        self.container_id = cid
        flags = data.get("contextFlags")
        if flags:
            if type(flags) is not dict:
                raise EventDecodeError(f"field 'contextFlags': expected an object, got {shown(flags)}")
            started = flags.get("containerStarted")
            if started is None:
                started = next((v for k, v in flags.items() if k.lower() == "containerstarted"), None)
            if type(started) is not bool:
                if started is not None:
                    raise EventDecodeError(f"field 'contextFlags.containerStarted': expected true or "
                                           f"false, got {shown(started)}")
                started = False
            self.container_started = started
        else:
            self.container_started = False
        self.args = decode_args(data.get("args"))
        self.cache = None
        self._argmap = None
        return self

    @classmethod
    def from_trusted(cls, data: dict[str, Any], event_name: str, event_id: int, container_id: str,
                     container_started: bool, args: list[dict]) -> "Event":
        """For inputs that build events from typed kernel values (the eBPF decoder): no checks and
        no argument conversion. `data` holds the other fields under their wire keys."""
        self = cls.__new__(cls)
        self._d = data
        self.event_name = event_name
        self.event_id = event_id
        self.container_id = container_id
        self.container_started = container_started
        self.args = args
        self.cache = None
        self._argmap = None
        return self

    # -- arguments ------------------------------------------------------------------------------
    def get_arg(self, name: str, default: Any = None) -> Any:
        """The value of the first argument called `name`, or `default`."""
        argmap = self._argmap
        if argmap is None:
            argmap = {}
            for arg in reversed(self.args):
                argmap[arg["name"]] = arg.get("value")
            self._argmap = argmap
        return argmap.get(name, default)

    def has_arg(self, name: str) -> bool:
        self.get_arg(name)
        return name in self._argmap  # type: ignore[operator]

    def set_arg(self, name: str, value: Any, type: str | None = None) -> None:
        """Set (or add) an argument; used by enrichers and inputs."""
        for arg in self.args:
            if arg["name"] == name:
                arg["value"] = value
                if type is not None:
                    arg["type"] = type
                break
        else:
            self.args.append({"name": name, "type": type or "", "value": value})
            self._d["argsNum"] = len(self.args)
        self._argmap = None

    # -- derived ---------------------------------------------------------------------------------
    @property
    def origin(self) -> str:
        """`container`, `container-init` or `host`, as Tracee v0.8.1+ computes it."""
        if self.container_started:
            return "container"
        return "container-init" if self.container_id else "host"

    # -- writing ----------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Tracee's wire form: every field in tracee-ebpf's order, eventId as a string, bytes as base64."""
        data = self._d
        out: dict[str, Any] = {}
        for key, default, kind, low, high in _WIRE:
            value = data.get(key)
            if type(value) is not kind or (kind is int and not low <= value < high):
                value = None if kind is None else _checked(key, value, default)
            out[key] = value  # kind None: a field kept in a slot, written below
        out["eventName"] = self.event_name
        out["eventId"] = str(self.event_id)
        out["containerId"] = self.container_id
        out["contextFlags"] = {"containerStarted": self.container_started}
        out["args"] = _wire_args(self)
        return out

    def wire_fields(self, keys: Iterable[str]) -> dict[str, Any]:
        """The entries of `to_dict()` for `keys` only (absent keys are left out), without building
        the rest: rule runtimes that read a few fields build their input from this."""
        out: dict[str, Any] = {}
        for key in keys:
            special = _SLOT_WIRE.get(key)
            if special is not None:
                out[key] = special(self)
                continue
            spec = _WIRE_BY_KEY.get(key)
            if spec is None:
                continue
            default, kind, low, high = spec
            value = self._d.get(key)
            if type(value) is not kind or (kind is int and not low <= value < high):
                value = _checked(key, value, default)
            out[key] = value
        return out

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), separators=(",", ":"))

    def __repr__(self) -> str:
        return (f"Event({self.event_name!r}, pid={self.host_process_id}, comm={self.process_name!r}, "
                f"origin={self.origin!r}, args={self.args!r})")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Event) and self.to_dict() == other.to_dict()

    __hash__ = None  # type: ignore[assignment]


# (wire key, default, type, low, high) for to_dict; type None for the fields kept in slots.
_WIRE = tuple((key, default, None if attr in Event.__slots__ else type(default), *_FIELD_RANGE.get(key, (0, 0)))
              for key, attr, default in FIELDS)

_WIRE_BY_KEY = {key: (default, kind, low, high) for key, default, kind, low, high in _WIRE if kind is not None}


def _wire_args(event: Event) -> list[dict] | None:
    args = event.args
    for arg in args:
        if type(arg.get("value")) is bytes:
            return [_wire_arg(a) for a in args]
    return args if args else None


# The wire keys `to_dict` writes from the event's slots, and how.
_SLOT_WIRE: dict[str, Any] = {
    "eventName": lambda e: e.event_name,
    "eventId": lambda e: str(e.event_id),
    "containerId": lambda e: e.container_id,
    "contextFlags": lambda e: {"containerStarted": e.container_started},
    "args": _wire_args,
}

for _key, _attr, _default in FIELDS:
    if _attr not in Event.__slots__:
        setattr(Event, _attr, _field(_key, _default))


_INT64 = (-(1 << 63), 1 << 63)
_EVENT_IDS: dict[str, int] = {}  # eventId text -> number, bounded


def _event_id(value: Any) -> int:
    """tracee-ebpf writes eventId as a decimal string; Go's `int` holds it."""
    if type(value) is str and len(value) <= 20 and value.isascii():
        if not value:
            return 0
        if value.lstrip("-").isdigit() and value.count("-") <= 1 and value[-1] != "-":
            number = int(value)
            if _INT64[0] <= number < _INT64[1]:
                return number
    elif value is None:
        return 0
    raise EventDecodeError(f"field 'eventId': {shown(value)} is not a number of int64")


def _json_problem(text: str | bytes, exc: ValueError) -> str:
    """The parser's complaint in our words: where the line stops being a JSON object."""
    message = str(exc)
    if "UTF-8" in message:
        return "invalid JSON: not UTF-8 text"
    column = getattr(exc, "colno", None)
    end = len(text.rstrip()) if isinstance(text, (str, bytes)) else 0
    if column is not None and column > end:
        return "invalid JSON: the line ends inside an unfinished object"
    if "after document" in message:
        return f"invalid JSON: text follows the object at column {column}"
    return f"invalid JSON: unexpected text at column {column}" if column is not None else "invalid JSON"


def _wire_arg(arg: dict) -> dict:
    value = arg.get("value")
    if type(value) is bytes:
        return {**arg, "value": base64.b64encode(value).decode("ascii")}
    return arg


try:  # orjson decodes an event ~3x faster than the stdlib; it is a hard dependency, kept optional here
    import orjson as _orjson  # so the model still works in an interpreter without it

    _loads = _orjson.loads
except ImportError:  # pragma: no cover
    _loads = json.loads
