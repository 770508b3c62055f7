"""Renderings of findings that several outputs share: Go-style Data, rawjson, template variables."""

from __future__ import annotations

import base64
import json
from datetime import datetime, timezone
from typing import Any

from .signature import Finding

__all__ = ["go_repr", "rawjson", "rfc3339", "template_context"]


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
    """RFC 3339 UTC time of an event timestamp (ns since the epoch), or now."""
    if timestamp_ns:
        moment = datetime.fromtimestamp(timestamp_ns / 1e9, tz=timezone.utc)
    else:
        moment = datetime.now(timezone.utc)
    return moment.isoformat(timespec="microseconds").replace("+00:00", "Z")


def template_context(finding: Finding) -> dict[str, Any]:
    """Variables a user template sees: Tracee's rawjson keys, plus `Event.Payload` as in Go templates."""
    context = finding.event.to_dict()
    return {
        "Data": finding.data,
        "Context": context,
        "Event": {"Payload": context},
        "SigMetadata": finding.metadata.to_dict(),
        "finding": finding,
        "now": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
