"""The Go types Tracee v0.8.3 sends in a gob stream: trace.Event, its arguments and the argument
value types registered with gob.Register, and which one each declared argument type goes out as."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ...event import _NUMERIC
from .wire import (_I64, _U64, K_BOOL, K_FLOAT, K_INT, K_INTERFACE, K_MAP, K_SLICE, K_STRING, K_STRUCT, K_UINT,
                   K_BYTES, GobEncodeError)

__all__ = ["EVENT", "REGISTERED", "TRACE", "GoType", "concrete_type"]


@dataclass(eq=False)
class GoType:
    """A Go type as gob describes it: a builtin kind (its gob id), or a slice/array/map/struct."""

    kind: Any
    name: str = ""
    elem: "GoType | None" = None
    key: "GoType | None" = None
    fields: tuple[tuple[str, "GoType", str], ...] = ()  # (Go name, type, JSON key)
    length: int = 0

    @property
    def builtin(self) -> bool:
        return isinstance(self.kind, int)


BOOL, INT, UINT, FLOAT = GoType(K_BOOL, "bool"), GoType(K_INT, "int"), GoType(K_UINT, "uint"), GoType(K_FLOAT, "float")
BYTES, STRING, INTERFACE = GoType(K_BYTES, "[]uint8"), GoType(K_STRING, "string"), GoType(K_INTERFACE, "interface")


def _slice(elem: GoType, name: str) -> GoType:
    return GoType(K_SLICE, name, elem=elem)


def _struct(name: str, *fields: tuple[str, GoType, str]) -> GoType:
    return GoType(K_STRUCT, name, fields=tuple(fields))


TRACE = "github.com/aquasecurity/tracee/types/trace."  # gob.Register's name for package trace

# types/trace of v0.8.3: the argument value types tracee-ebpf sends and tracee-rules registers.
SLIM_CRED = _struct("SlimCred", *((n, UINT, n) for n in (
    "Uid", "Gid", "Suid", "Sgid", "Euid", "Egid", "Fsuid", "Fsgid", "UserNamespace", "SecureBits",
    "CapInheritable", "CapPermitted", "CapEffective", "CapBounding", "CapAmbient")))
PKT_META = _struct("PktMeta", ("SrcIP", STRING, "src_ip"), ("DstIP", STRING, "dst_ip"),
                   ("SrcPort", UINT, "src_port"), ("DstPort", UINT, "dst_port"),
                   ("Protocol", UINT, "protocol"), ("PacketLen", UINT, "packet_len"))
HOOKED_SYMBOL = _struct("HookedSymbolData", ("SymbolName", STRING, "SymbolName"),
                        ("ModuleOwner", STRING, "ModuleOwner"))
DNS_QUERY = _struct("DnsQueryData", ("Query", STRING, "query"), ("QueryType", STRING, "query_type"),
                    ("QueryClass", STRING, "query_class"))
DNS_ANSWER = _struct("DnsAnswer", ("Type", STRING, "answer_type"), ("Ttl", UINT, "ttl"),
                     ("Answer", STRING, "answer"))
DNS_RESPONSE = _struct("DnsResponseData", ("QueryData", DNS_QUERY, "query_data"),
                       ("DnsAnswer", _slice(DNS_ANSWER, "[]trace.DnsAnswer"), "dns_answer"))
STRING_MAP = GoType(K_MAP, "map[string]string", key=STRING, elem=STRING)

# Concrete types by the name gob.Register gives them (gob registers the basic types itself).
REGISTERED: dict[str, GoType] = {
    **{n: BOOL for n in ("bool",)},
    **{n: INT for n in ("int", "int8", "int16", "int32", "int64")},
    **{n: UINT for n in ("uint", "uint8", "uint16", "uint32", "uint64", "uintptr")},
    **{n: FLOAT for n in ("float32", "float64")},
    "string": STRING,
    "[]uint8": BYTES,
    **{f"[]{n}": _slice(INT, f"[]{n}") for n in ("int", "int8", "int16", "int32", "int64")},
    **{f"[]{n}": _slice(UINT, f"[]{n}") for n in ("uint", "uint16", "uint32", "uint64", "uintptr")},
    **{f"[]{n}": _slice(FLOAT, f"[]{n}") for n in ("float32", "float64")},
    "[]bool": _slice(BOOL, "[]bool"),
    "[]string": _slice(STRING, "[]string"),
    "map[string]string": STRING_MAP,
    TRACE + "SlimCred": SLIM_CRED,
    TRACE + "PktMeta": PKT_META,
    "[]trace.HookedSymbolData": _slice(HOOKED_SYMBOL, "[]trace.HookedSymbolData"),
    "map[string]trace.HookedSymbolData": GoType(K_MAP, "map[string]trace.HookedSymbolData",
                                                key=STRING, elem=HOOKED_SYMBOL),
    "[]trace.DnsQueryData": _slice(DNS_QUERY, "[]trace.DnsQueryData"),
    "[]trace.DnsResponseData": _slice(DNS_RESPONSE, "[]trace.DnsResponseData"),
}

# trace.Event of v0.8.3, in field order: Go name, JSON (wire) key, Go type. Argument embeds
# ArgMeta, which gob sends as a field named "ArgMeta".
ARG_META = _struct("ArgMeta", ("Name", STRING, "name"), ("Type", STRING, "type"))
ARGUMENT = _struct("Argument", ("ArgMeta", ARG_META, ""), ("Value", INTERFACE, "value"))
CONTEXT_FLAGS = _struct("ContextFlags", ("ContainerStarted", BOOL, "containerStarted"))
EVENT = _struct("Event", *(
    [(g, INT, k) for g, k in (("Timestamp", "timestamp"), ("ThreadStartTime", "threadStartTime"),
                              ("ProcessorID", "processorId"), ("ProcessID", "processId"))]
    + [("CgroupID", UINT, "cgroupId")]
    + [(g, INT, k) for g, k in (("ThreadID", "threadId"), ("ParentProcessID", "parentProcessId"),
                                ("HostProcessID", "hostProcessId"), ("HostThreadID", "hostThreadId"),
                                ("HostParentProcessID", "hostParentProcessId"), ("UserID", "userId"),
                                ("MountNS", "mountNamespace"), ("PIDNS", "pidNamespace"))]
    + [(g, STRING, k) for g, k in (("ProcessName", "processName"), ("HostName", "hostName"),
                                   ("ContainerID", "containerId"), ("ContainerImage", "containerImage"),
                                   ("ContainerName", "containerName"), ("PodName", "podName"),
                                   ("PodNamespace", "podNamespace"), ("PodUID", "podUID"))]
    + [("EventID", INT, "eventId"), ("EventName", STRING, "eventName"), ("ArgsNum", INT, "argsNum"),
       ("ReturnValue", INT, "returnValue"), ("StackAddresses", _slice(UINT, "[]uint64"), "stackAddresses"),
       ("ContextFlags", CONTEXT_FLAGS, "contextFlags"), ("Args", _slice(ARGUMENT, "[]trace.Argument"), "args")]))
REGISTERED[TRACE + "Event"] = EVENT


def _children(t: GoType) -> list[GoType]:
    if t.kind == K_STRUCT:
        return [f[1] for f in t.fields]
    if t.kind == K_MAP:
        return [t.key, t.elem]  # type: ignore[list-item]
    return [t.elem] if t.elem is not None else []


def _is_zero(t: GoType, v: Any) -> bool:
    """Struct fields holding their zero value are not sent (structs always are)."""
    if t.kind == K_STRUCT:
        return False
    return v is None or v == 0 or v == "" or v is False or (t.kind in (K_SLICE, K_MAP, K_BYTES) and len(v) == 0)


# What tracee-ebpf decodes each declared argument type into (the Go value it then sends).
_INT_TYPES: dict[str, tuple[str, int, int]] = {}
for _decl, (_bits, _signed) in _NUMERIC.items():
    _name = f"{'int' if _signed else 'uint'}{_bits}"
    _INT_TYPES[_decl] = (_name, -(1 << (_bits - 1)) if _signed else 0, (1 << (_bits - 1)) if _signed else 1 << _bits)
_STRUCT_ARGS = {"slim_cred_t": TRACE + "SlimCred", "trace.PktMeta": TRACE + "PktMeta",
                "[]trace.HookedSymbolData": "[]trace.HookedSymbolData",
                "map[string]trace.HookedSymbolData": "map[string]trace.HookedSymbolData",
                "[]trace.DnsQueryData": "[]trace.DnsQueryData",
                "[]trace.DnsResponseData": "[]trace.DnsResponseData"}
_INT_LISTS = {"unsigned long[]": "[]uint64", "int[2]": "[]int32"}  # Tracee registers no [2]int32


def concrete_type(decl: str, value: Any) -> str:
    """The registered Go type an argument value goes out as: what tracee-ebpf's decoder makes of
    its declared type `decl`, or, where the value does not fit it (already parsed, out of range),
    the closest type that keeps the value exactly. Raises GobEncodeError for a value gob cannot carry."""
    t = type(value)
    if t is str:
        return "string"
    if t is int:
        spec = _INT_TYPES.get(decl)
        if spec is not None and spec[1] <= value < spec[2]:
            return spec[0]
        if (decl.endswith("*") or decl == "void *") and 0 <= value < _U64:
            return "uintptr"  # tracee-ebpf sends pointers as uintptr
        if -_I64 <= value < _I64:
            return "int64"
        if 0 <= value < _U64:
            return "uint64"
        raise GobEncodeError(f"{value} does not fit a 64-bit integer")
    if t is bool:
        return "bool"
    if t is float:
        return "float32" if decl == "float" else "float64"
    if t is bytes or t is bytearray:
        return "[]uint8"
    if t is list or t is tuple:
        named = _STRUCT_ARGS.get(decl) or _INT_LISTS.get(decl)
        if named is not None and named.startswith("[]"):
            return named
        if all(type(v) is str for v in value):
            return "[]string"
        if all(type(v) is int for v in value):
            if all(-_I64 <= v < _I64 for v in value):
                return "[]int64"
            if all(0 <= v < _U64 for v in value):
                return "[]uint64"
        raise GobEncodeError("a list of mixed or unsupported values cannot be sent")
    if t is dict:
        named = _STRUCT_ARGS.get(decl)
        if named is not None and not named.startswith("[]"):
            return named
        if all(type(k) is str and type(v) is str for k, v in value.items()):
            return "map[string]string"  # sockaddr, as tracee-ebpf sends it
        raise GobEncodeError("a map whose keys and values are not all strings cannot be sent")
    raise GobEncodeError(f"a {t.__name__} value cannot be sent")
