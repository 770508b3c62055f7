"""What a rule can match beyond event names: predicates on arguments and context, in its selectors.

A signature that declares, in an `EventSelector`, conditions an event must meet for the rule to
possibly match (`where=(arg("pathname").startswith("/etc/"),)`) lets the engine skip it for other
events, and lets an input drop in the kernel the events no loaded rule can match (the eBPF input
compiles the union of all declarations into BPF maps). The selectors of a signature are a union;
the predicates of one selector all have to hold. A selector without predicates receives every
event it names, so declaring nothing is always correct, and a declaration only has to be a
*necessary* condition of a match: the rule itself stays the judge.

Predicates are checked in user space *soundly*: a value that is missing or of a form the predicate
cannot read counts as "may match". Values are compared in the form Tracee prints with
parse-arguments (`"PTRACE_TRACEME"`, `"O_WRONLY|O_CREAT"`); raw integers are decoded first with the
argument's decoder (`tracee.events.decoders.PARSERS`), so a rule works on raw and parsed input alike.

The same conditions can be written as strings, in the spelling of Tracee's data filters
(`"pathname=/etc/*"`, `"pathname=*/release_agent"`, `"request=PTRACE_TRACEME,PTRACE_ATTACH"`,
`"sockfd!=0,1,2"`, `"context.processName=nginx"`), which is how Rego and CEL rules declare them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterable

from .event import Event

__all__ = ["ACCESS_READ", "ACCESS_WRITE", "OPS", "Field", "Predicate", "arg", "context", "parse"]

#: The comparisons a predicate can make (what an input's kernel filter must understand).
OPS = ("in", "not_in", "prefix", "suffix", "contains", "range", "bits", "state")

# open(2)'s access mode (flags & 3): 0 O_RDONLY, 1 O_WRONLY, 2 O_RDWR (3 prints as O_WRONLY).
_ACCMODE = 3
ACCESS_WRITE = (1, 2, 3)  # what Tracee's is_file_write accepts
ACCESS_READ = (0, 2)      # what Tracee's is_file_read accepts
_ACCMODE_NAMES = {"O_RDONLY": 0, "O_WRONLY": 1, "O_RDWR": 2}

#: Context fields a predicate may name (`context.<attribute>`): Event attributes.
CONTEXT_FIELDS = frozenset(("process_name", "user_id", "process_id", "host_process_id", "container_id",
                            "container_image", "container_name", "pod_name", "pod_namespace",
                            "mount_namespace", "pid_namespace", "host_name", "return_value"))
_CONTEXT_ALIASES = {"processName": "process_name", "comm": "process_name", "userId": "user_id",
                    "uid": "user_id", "processId": "process_id", "hostProcessId": "host_process_id",
                    "containerId": "container_id", "containerImage": "container_image",
                    "containerName": "container_name", "podName": "pod_name", "podNamespace": "pod_namespace",
                    "mountNamespace": "mount_namespace", "pidNamespace": "pid_namespace",
                    "hostName": "host_name", "returnValue": "return_value", "retval": "return_value"}


@dataclass(frozen=True)
class Predicate:
    """One necessary condition of a match.

    `field` is an argument name (`pathname`), a sub-field of a sockaddr argument
    (`remote_addr.sin_addr`, `remote_addr.sa_family`, `remote_addr.sun_path`), or, with
    `context=True`, an Event attribute (`process_name`, `user_id`, `container_id`, ...).
    `op` is one of OPS:

    - `in` / `not_in`: the value is / is not one of `values`;
    - `prefix` / `suffix` / `contains`: a string value starts with / ends with / contains one of `values`;
    - `range`: `values == (low, high)`, an integer value within them (inclusive);
    - `bits`: `values == (mask, allowed...)`, `value & mask` is one of the allowed;
    - `state`: `values == (name,)`, the value is in a set the input keeps in the kernel (for
      example `inet_socket_fd`: fds this process connect()ed to an AF_INET/AF_INET6 address, and
      their dups, until closed). User space cannot tell: it always counts as "may match".
    """

    field: str
    op: str
    values: tuple[Any, ...]
    context: bool = False

    def __post_init__(self) -> None:
        if self.op not in OPS:
            raise ValueError(f"predicate on {self.field!r}: unknown comparison {self.op!r} (one of {', '.join(OPS)})")
        if not self.values:
            raise ValueError(f"predicate on {self.field!r}: {self.op} needs at least one value")
        if self.context and self.field not in CONTEXT_FIELDS:
            raise ValueError(f"predicate on context.{self.field}: not a context field "
                             f"({', '.join(sorted(CONTEXT_FIELDS))})")
        if self.op == "range" and (len(self.values) != 2 or not all(type(v) is int for v in self.values)):
            raise ValueError(f"predicate on {self.field!r}: range takes two integers (low, high)")
        if self.op == "bits" and (len(self.values) < 2 or not all(type(v) is int for v in self.values)):
            raise ValueError(f"predicate on {self.field!r}: bits takes a mask and the allowed values")
        if self.op in ("prefix", "suffix", "contains") and not all(type(v) is str for v in self.values):
            raise ValueError(f"predicate on {self.field!r}: {self.op} compares strings")

    @property
    def argument(self) -> str:
        """The argument the predicate reads ("" for a context field)."""
        return "" if self.context else self.field.split(".", 1)[0]

    def __str__(self) -> str:
        name = f"context.{self.field}" if self.context else self.field
        shown = ",".join(str(v) for v in self.values)
        return f"{name} {self.op} {shown}"

    # -- user space ------------------------------------------------------------------------------
    def may_match(self, event: Event, parser: Callable[[Any], Any] | None = None) -> bool:
        """False only when `event` certainly fails the predicate. `parser` decodes a raw integer
        value of the argument into Tracee's printed form (see `decoder_for`)."""
        value = self._value(event)
        if value is _UNKNOWN:
            return True
        return _test(self.op, self.values, value, parser)

    def compile(self, event_name: str) -> Callable[[Event], bool] | None:
        """`may_match` for `event_name`'s events as one closure (the engine's hot path), or None
        when user space can never rule an event out (a kernel `state`)."""
        if self.op == "state":
            return None
        parser = decoder_for(event_name, self)
        if self.context or "." in self.field:
            return lambda event: self.may_match(event, parser)
        name, op, values = self.field, self.op, self.values
        test = _test
        strings = type(values[0]) is str
        if op in ("in", "prefix", "suffix") and strings:
            # The common case, values printed as strings: one scan of the arguments, one
            # comparison; anything unusual goes the careful way.
            members = frozenset(values)
            def check(event: Event) -> bool:
                for item in event.args:
                    if item["name"] == name:
                        value = item.get("value")
                        if type(value) is str:
                            if op == "in":
                                return value in members
                            return value.startswith(values) if op == "prefix" else value.endswith(values)
                        return True if value is None else test(op, values, value, parser)
                return True
            return check

        def generic(event: Event) -> bool:
            for item in event.args:
                if item["name"] == name:
                    value = item.get("value")
                    return True if value is None else test(op, values, value, parser)
            return True
        return generic

    def _value(self, event: Event) -> Any:
        if self.context:
            value = getattr(event, self.field, _UNKNOWN)
            return _UNKNOWN if value is None else value
        name, _, sub = self.field.partition(".")
        for item in event.args:
            if item["name"] == name:
                value = item.get("value")
                break
        else:
            return _UNKNOWN
        if value is None:
            return _UNKNOWN
        if sub:
            from .events import decoders

            try:
                value = decoders.sockaddr(value).get(sub, _UNKNOWN)
            except ValueError:
                return _UNKNOWN
        return value


_UNKNOWN = object()


def decoder_for(event_name: str, predicate: Predicate) -> Callable[[Any], Any] | None:
    """The parse-arguments decoder of the argument `predicate` reads in `event_name`'s events."""
    if predicate.context or "." in predicate.field:
        return None
    from .events import decoders

    return decoders.PARSERS.get((event_name, predicate.field))


def _test(op: str, values: tuple[Any, ...], value: Any, parser: Callable[[Any], Any] | None) -> bool:
    vt = type(value)
    if op in ("in", "not_in"):
        if vt is int and type(values[0]) is str:
            if parser is None:
                value = str(value)
            else:
                value = parser(value)
        elif vt is str and type(values[0]) is int:
            number = _number(value)
            if number is None:
                return True
            value = number
        elif vt not in (int, str, bool):
            return True
        found = value in values
        return found if op == "in" else not found
    if op in ("prefix", "suffix", "contains"):
        if vt is int and parser is not None:
            value = parser(value)
        elif vt is not str:
            return True
        if type(value) is not str:
            return True
        if op == "prefix":
            return value.startswith(values)
        if op == "suffix":
            return value.endswith(values)
        return any(v in value for v in values)
    if op == "range":
        number = value if vt is int else _number(value) if vt is str else None
        return True if number is None else values[0] <= number <= values[1]
    if op == "bits":
        number = value if vt is int else _flag_number(value) if vt is str else None
        return True if number is None else (number & values[0]) in values[1:]
    return True  # "state": kept by the input in the kernel, unknown here


def _number(text: str) -> int | None:
    head = text.split("=", 1)[0]  # "3=/path" is Tracee's parse-arguments-fds form of fd 3
    try:
        return int(head, 0)
    except ValueError:
        return None


def _flag_number(text: str) -> int | None:
    """The access mode of Tracee's printed open flags ("O_WRONLY|O_CREAT" -> 1); None if unknown."""
    for part in text.split("|"):
        mode = _ACCMODE_NAMES.get(part.strip().upper())
        if mode is not None:
            return mode
    return _number(text)


# -- building predicates -------------------------------------------------------------------------------
class Field:
    """`arg("pathname").startswith("/etc/")`: builds predicates on one field."""

    def __init__(self, name: str, is_context: bool = False) -> None:
        self.name = name
        self.is_context = is_context

    def _p(self, op: str, values: Iterable[Any]) -> Predicate:
        return Predicate(self.name, op, tuple(values), self.is_context)

    def equals(self, value: Any) -> Predicate:
        return self._p("in", (value,))

    def one_of(self, *values: Any) -> Predicate:
        return self._p("in", values)

    def none_of(self, *values: Any) -> Predicate:
        return self._p("not_in", values)

    def startswith(self, *prefixes: str) -> Predicate:
        return self._p("prefix", prefixes)

    def endswith(self, *suffixes: str) -> Predicate:
        return self._p("suffix", suffixes)

    def contains(self, *parts: str) -> Predicate:
        return self._p("contains", parts)

    def between(self, low: int, high: int) -> Predicate:
        return self._p("range", (low, high))

    def masked(self, mask: int, *allowed: int) -> Predicate:
        return self._p("bits", (mask, *allowed))

    def opened_for(self, access: str) -> Predicate:
        """open(2) flags whose access mode allows "write" (O_WRONLY, O_RDWR) or "read" (O_RDONLY,
        O_RDWR), as Tracee's is_file_write / is_file_read."""
        allowed = {"write": ACCESS_WRITE, "read": ACCESS_READ}.get(access)
        if allowed is None:
            raise ValueError(f"opened_for({access!r}): 'write' or 'read'")
        return self.masked(_ACCMODE, *allowed)

    def tracked(self, state: str) -> Predicate:
        return self._p("state", (state,))


def arg(name: str) -> Field:
    """An argument (`pathname`), or a field of a sockaddr argument (`remote_addr.sin_addr`)."""
    return Field(name)


def context(name: str) -> Field:
    """An event context field: `process_name` (or Tracee's `processName`, `comm`), `user_id`, ..."""
    return Field(_CONTEXT_ALIASES.get(name, name), True)


def parse(text: str) -> Predicate:
    """A predicate in the spelling of Tracee's data filters: `FIELD=V1,V2` or `FIELD!=V1,V2`, where a
    value `/etc/*` is a prefix, `*/release_agent` a suffix and `*key*` a substring; numbers are
    integers; `context.FIELD` names a context field. ValueError says what is wrong."""
    negate = "!=" in text
    field, sep, rest = text.partition("!=" if negate else "=")
    field = field.strip()
    if not sep or not field or not rest:
        raise ValueError(f"filter {text!r}: expected FIELD=VALUE[,VALUE...] or FIELD!=VALUE[,...]")
    target = context(field.removeprefix("context.")) if field.startswith("context.") else arg(field)
    values = [v for v in (part.strip() for part in rest.split(",")) if v]
    if not values:
        raise ValueError(f"filter {text!r}: no value")
    wild = [v for v in values if "*" in v]
    if wild:
        if negate:
            raise ValueError(f"filter {text!r}: '*' patterns cannot be negated")
        if len(wild) != len(values):
            raise ValueError(f"filter {text!r}: mix of patterns and plain values; give them as two filters")
        kinds = {_pattern_kind(text, v) for v in values}
        if len(kinds) > 1:
            raise ValueError(f"filter {text!r}: mix of prefix, suffix and substring patterns")
        kind = kinds.pop()
        return target._p(kind, (v.strip("*") for v in values))
    typed = [int(v) if _is_int(v) else v for v in values]
    if len({type(v) for v in typed}) > 1:
        typed = values  # "1,abc": compare as text
    return target._p("not_in" if negate else "in", typed)


def _pattern_kind(text: str, value: str) -> str:
    inner = value.strip("*")
    if not inner or "*" in inner:
        raise ValueError(f"filter {text!r}: {value!r}: '*' only at the start or the end of a value")
    if value.startswith("*") and value.endswith("*"):
        return "contains"
    return "suffix" if value.startswith("*") else "prefix"


def _is_int(text: str) -> bool:
    return text.lstrip("-").isdigit()
