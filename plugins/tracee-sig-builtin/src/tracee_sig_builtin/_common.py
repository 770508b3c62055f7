"""Pieces the built-in signatures share: metadata, file-access tests, settings, bounded state."""

from __future__ import annotations

from typing import Any, Iterable, Mapping

from tracee import Event, Signature, SignatureError, SignatureMetadata
from tracee.events import decoders
from tracee.state import BoundedMap

__all__ = ["READ", "TASK_COMM_LEN", "WRITE", "BoundedMap", "ProcessAllowList", "arg", "check_settings", "fd_number", "file_access",
           "flags_text", "has_arg", "metadata", "names_setting", "positive_int_setting", "sockaddr_ip_port",
           "warn_evictions"]

# Every built-in signature of the tracee-rules era carries version 0.1.0 (TRACEE.md §3.0).
VERSION = "0.1.0"
# The kernel keeps 15 characters of a process name (comm): a longer allow-list entry could
# never match, which is why Tracee's own list spells "httpd-foregroun".
TASK_COMM_LEN = 15


def metadata(sig_id: str, name: str, description: str, severity: int, mitre: str,
             tags: tuple[str, ...] = ("linux", "container")) -> SignatureMetadata:
    """Tracee's metadata shape: version 0.1.0, properties Severity and "MITRE ATT&CK"."""
    return SignatureMetadata(id=sig_id, name=name, version=VERSION, description=description, tags=tags,
                             properties={"Severity": severity, "MITRE ATT&CK": mitre})


# -- arguments ------------------------------------------------------------------------------------
_MISSING = object()


def arg(event: Event, name: str, default: Any = None) -> Any:
    """The value of the first argument called `name` (as `Event.get_arg`), found by a scan.

    Why not get_arg: it builds a name->value map of all the arguments on first use, which costs
    more than the whole rule when a rule reads one or two of the first arguments (pathname and
    flags of security_file_open are the first two of seven; sched_process_exec has thirteen).
    """
    for item in event.args:
        if item["name"] == name:
            return item.get("value")
    return default


def has_arg(event: Event, name: str) -> bool:
    return arg(event, name, _MISSING) is not _MISSING


# -- open flags ------------------------------------------------------------------------------------
WRITE, READ = 1, 2
# Five signatures test the flags of every security_file_open, and a run sees few distinct values:
# remembering the answer per value turns the decode + lower() + substring tests into one lookup.
_ACCESS: dict[Any, int] = {}
_ACCESS_MAX = 4096  # distinct flag values remembered; crafted input cannot grow it without bound


def file_access(flags: Any) -> int:
    """WRITE|READ bits as Tracee's is_file_write/is_file_read see `flags` (parsed text or raw int)."""
    try:
        return _ACCESS[flags]
    except KeyError:
        pass
    except TypeError:  # unhashable (a list...): not flags; Rego's lower() would be undefined too
        return 0
    if type(flags) is not str and type(flags) is not int:
        return 0
    bits = (WRITE if decoders.is_file_write(flags) else 0) | (READ if decoders.is_file_read(flags) else 0)
    if len(_ACCESS) >= _ACCESS_MAX:
        _ACCESS.clear()
    _ACCESS[flags] = bits
    return bits


def flags_text(flags: Any) -> Any:
    """The flags as Tracee prints them with parse-arguments (raw ints decoded), for finding data."""
    return decoders.open_flags(flags) if type(flags) is int else flags


# -- sockets --------------------------------------------------------------------------------------
_ADDR_KEY = "tracee_sig_builtin.ip_port:"


def sockaddr_ip_port(event: Event, name: str = "remote_addr") -> tuple[str, str] | None:
    """(ip, port) of a sockaddr argument in any form the decoders read (map, old quoted string,
    raw bytes); ("", "") for non-INET families; None if the argument is missing. Memoised on the
    event, as TRC-1 and TRC-13 both read the same connect. Undecodable values raise ValueError."""
    cache = event.cache
    key = _ADDR_KEY + name
    if cache is not None:
        found = cache.get(key)
        if found is not None:
            return found
    value = arg(event, name)
    if value is None:
        return None
    result = decoders.sockaddr_ip_port(value)
    if cache is None:
        event.cache = cache = {}
    cache[key] = result
    return result


def fd_number(value: Any, what: str) -> int:
    """An fd argument: an int, or the "3=/path" text of Tracee's parse-arguments-fds option."""
    if type(value) is int:
        return value
    if type(value) is str:
        head = value.split("=", 1)[0]
        if head.lstrip("-").isdigit():
            return int(head)
    raise ValueError(f"argument {what!r}: expected an fd number, got {value!r}")


# -- settings (the `signatures: {ID: {...}}` section of the tuning file) ---------------------------
def check_settings(settings: Mapping[str, Any], known: Iterable[str]) -> None:
    """Reject keys this signature does not know, naming the ones it does."""
    known = sorted(known)
    for key in settings:
        if key not in known:
            raise SignatureError(f"unknown setting {key!r} (known: {', '.join(known)})")


def names_setting(key: str, value: Any, *, comm: bool = False) -> list[str]:
    """A list of non-empty strings; process names (`comm`) are cut to the 15 characters the kernel keeps."""
    if isinstance(value, str) or not isinstance(value, list):
        raise SignatureError(f"setting {key!r} must be a list of strings, got {value!r}")
    names = []
    for item in value:
        if not isinstance(item, str) or not item.strip():
            raise SignatureError(f"setting {key!r}: every entry must be a non-empty string, got {item!r}")
        item = item.strip()
        names.append(item[:TASK_COMM_LEN] if comm else item)
    return names


def positive_int_setting(key: str, value: Any) -> int:
    if type(value) is not int or value < 1:
        raise SignatureError(f"setting {key!r} must be a positive integer, got {value!r}")
    return value


class ProcessAllowList:
    """Mixin for the signatures whose allow-list of process names users extend with the
    `allowed_processes` setting (TRC-8, TRC-10). The class sets `ALLOWED_PROCESSES`."""

    ALLOWED_PROCESSES: tuple[str, ...] = ()

    def __init__(self) -> None:
        self.allowed = frozenset(self.ALLOWED_PROCESSES)

    def configure(self, settings: dict[str, Any]) -> None:
        check_settings(settings, ("allowed_processes",))
        if "allowed_processes" in settings:
            extra = names_setting("allowed_processes", settings["allowed_processes"], comm=True)
            self.allowed = frozenset(self.ALLOWED_PROCESSES).union(extra)


# -- bounded state (tracee.state.BoundedMap) ----------------------------------------------------------
def warn_evictions(sig: Signature, what: str, state: BoundedMap, setting: str) -> None:
    """Say at the end of a run that state was evicted (a detection may have been missed)."""
    if state.evicted:
        sid = sig.get_metadata().id
        sig.log.warning(f"{sid}: {state.evicted} {what} evicted from its state (cap {state.cap}; raise "
                        f"signatures.{sid}.{setting} in the config file if this is a busy node)")
