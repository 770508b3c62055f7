"""Renderings of findings that several outputs share: Go-style Data, Go's JSON, rawjson, RFC 3339 time."""

from __future__ import annotations

import base64
import json
from datetime import datetime, timezone
from typing import Any

from .signature import Finding

__all__ = ["go_repr", "rawjson", "rfc3339", "to_json"]


def go_repr(value: Any) -> str:
    """Render a value as Go's fmt prints it: `map[k:v k2:v2]` with sorted keys, `[a b]`, nil map as `map[]`."""
    if value is None:
        return "map[]"
    return _go(value)


def _go(value: Any) -> str:
    if isinstance(value, dict):
        return "map[" + " ".join(f"{_go(k)}:{_go(value[k])}" for k in sorted(value, key=str)) + "]"
    if isinstance(value, (list, tuple)):
        return "[" + " ".join(_go(v) for v in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "<nil>"
    if isinstance(value, bytes):
        return "[" + " ".join(str(b) for b in value) + "]"
    return str(value)


def _default(value: Any) -> Any:
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    return str(value)


def to_json(value: Any) -> str:
    """JSON as Go's encoder writes it: compact, map keys sorted, `<`, `>` and `&` escaped."""
    text = json.dumps(value, separators=(",", ":"), sort_keys=True, default=_default, ensure_ascii=False)
    return text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")


def rawjson(finding: Finding) -> str:
    """Tracee's rawjson line: {"Data", "Context" (the event, in wire order), "SigMetadata"}."""
    context = json.dumps(finding.event.to_dict(), separators=(",", ":"), default=_default, ensure_ascii=False)
    context = context.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")
    return ('{"Data":' + to_json(finding.data) + ',"Context":' + context +
            ',"SigMetadata":' + to_json(finding.metadata.to_dict()) + "}")


def rfc3339(timestamp_ns: int | None = None) -> str:
    """RFC 3339 UTC time, to the nanosecond, of an event timestamp (ns since the epoch), or now.
    Integer arithmetic: a float of nanoseconds since 1970 cannot hold every nanosecond."""
    if not timestamp_ns:
        import time

        timestamp_ns = time.time_ns()
    seconds, nanos = divmod(int(timestamp_ns), 10**9)
    return datetime.fromtimestamp(seconds, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S") + f".{nanos:09d}Z"
