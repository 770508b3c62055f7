"""The event model: Tracee's event (tracee-ebpf JSON, v0.8.1+ fields), read fast and written back exactly."""

from __future__ import annotations

import base64
import json
from typing import Any, Iterable

__all__ = ["Event", "EventDecodeError", "FIELDS", "decode_args"]


class EventDecodeError(ValueError):
    """An input line or dict that is not a valid Tracee event; the message says which field."""


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


def _convert_number(arg: dict, value: Any) -> None:
    """Give a numeric argument the value Go's decoder would (wrapped to the type's width)."""
    typ = arg.get("type", "")
    if typ in _FLOATS:
        arg["value"] = float(value)
        return
    spec = _NUMERIC.get(typ)
    if spec is None:
        if typ.endswith("*"):  # any pointer type is a u64 (Tracee ≥ v0.9)
            spec = (64, False)
        else:
            raise EventDecodeError(f"argument {arg.get('name')!r}: unrecognized argument type {typ!r}")
    if type(value) is float:
        if not value.is_integer():
            raise EventDecodeError(f"argument {arg.get('name')!r}: {value} is not an integer ({typ})")
        value = int(value)
    bits, signed = spec
    lo = -(1 << (bits - 1)) if signed else 0
    if not lo <= value < lo + (1 << bits):
        value &= (1 << bits) - 1
        if signed and value >= 1 << (bits - 1):
            value -= 1 << bits
    arg["value"] = value


def decode_args(args: Any) -> list[dict]:
    """Check and normalise a Tracee `args` list in place (numbers converted by declared type)."""
    if args is None:
        return []
    if type(args) is not list:
        raise EventDecodeError("field 'args': expected a list")
    for arg in args:
        # Hot path: one subscript per key instead of type checks; anything unusual (not an
        # object, keys in other case, a missing key) falls to the careful path.
        try:
            arg["name"]
            value = arg["value"]
        except (KeyError, TypeError):
            value = _normalise_arg(arg)
        vt = type(value)
        if vt is int:
            bounds = _RANGE.get(arg.get("type"))  # type: ignore[arg-type]
            if bounds is None or not bounds[0] <= value < bounds[1]:
                _convert_number(arg, value)
        elif vt is float:
            _convert_number(arg, value)
    return args


def _normalise_arg(arg: Any) -> Any:
    """Lower-case the keys of an argument object (Go matches them in any case); its value."""
    if type(arg) is not dict:
        raise EventDecodeError("field 'args': each argument must be an object")
    for key in list(arg):
        low = key.lower()
        if low in ("name", "type", "value") and key != low:
            arg[low] = arg.pop(key)
    if "name" not in arg:
        raise EventDecodeError("field 'args': an argument has no 'name'")
    return arg.get("value")


def _field(key: str, default: Any) -> property:
    def get(self: "Event") -> Any:
        value = self._d.get(key, default)
        return default if value is None else value

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
            raise EventDecodeError(f"field 'eventName': expected a string, got {name!r}")
        self.event_name = name
        event_id = data.get("eventId", 0)
        if type(event_id) is not int:
            try:
                event_id = int(event_id or 0)
            except (TypeError, ValueError):
                raise EventDecodeError(f"field 'eventId': {event_id!r} is not a number") from None
        self.event_id = event_id
        cid = data.get("containerId") or ""
        if type(cid) is not str:
            raise EventDecodeError(f"field 'containerId': expected a string, got {cid!r}")
        self.container_id = cid
        flags = data.get("contextFlags")
        if flags:
            if type(flags) is not dict:
                raise EventDecodeError("field 'contextFlags': expected an object")
            started = flags.get("containerStarted")
            if started is None:
                started = next((v for k, v in flags.items() if k.lower() == "containerstarted"), False)
            self.container_started = bool(started)
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
        for key, _, default in FIELDS:
            value = data.get(key)
            out[key] = default if value is None else value
        out["stackAddresses"] = data.get("stackAddresses")
        out["eventName"] = self.event_name
        out["eventId"] = str(self.event_id)
        out["containerId"] = self.container_id
        out["contextFlags"] = {"containerStarted": self.container_started}
        args = self.args
        for arg in args:
            if type(arg.get("value")) is bytes:
                args = [_wire_arg(a) for a in args]
                break
        out["args"] = args if args else None
        return out

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), separators=(",", ":"))

    def __repr__(self) -> str:
        return (f"Event({self.event_name!r}, pid={self.host_process_id}, comm={self.process_name!r}, "
                f"origin={self.origin!r}, args={self.args!r})")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Event) and self.to_dict() == other.to_dict()

    __hash__ = None  # type: ignore[assignment]


for _key, _attr, _default in FIELDS:
    if _attr not in Event.__slots__:
        setattr(Event, _attr, _field(_key, _default))


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
