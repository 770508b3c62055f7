"""The tuning file: disable signatures by ID or tag, and pass settings (allow-lists) to signatures."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import UsageError

__all__ = ["Config", "load_config"]

_KEYS = {"disable", "signatures"}


@dataclass
class Config:
    """disable: {ids: [...], tags: [...]}; signatures: {<ID>: {<setting>: <value>}}."""

    path: str | None = None
    disabled_ids: set[str] = field(default_factory=set)
    disabled_tags: set[str] = field(default_factory=set)
    settings: dict[str, dict[str, Any]] = field(default_factory=dict)


def load_config(path: str | None) -> Config:
    """Read `path` (or $TRACEE_CONFIG); no file means the defaults. Errors name the file and key."""
    path = path or os.environ.get("TRACEE_CONFIG") or None
    if not path:
        return Config()
    import yaml  # a core dependency, imported late: most commands never read a config

    try:
        text = Path(path).read_text()
    except OSError as exc:
        raise UsageError(f"config {path}: {exc.strerror}") from None
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}:{mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise UsageError(f"config {path}{where}: {problem}") from None
    if not isinstance(data, dict):
        raise UsageError(f"config {path}: expected a mapping at the top level")
    unknown = set(data) - _KEYS
    if unknown:
        raise UsageError(f"config {path}: unknown key {sorted(unknown)[0]!r} (expected: disable, signatures)")
    config = Config(path=path)
    disable = data.get("disable") or {}
    if isinstance(disable, list):  # a plain list: IDs, or "tag:<name>"
        disable = {"ids": [d for d in disable if not str(d).startswith("tag:")],
                   "tags": [str(d)[4:] for d in disable if str(d).startswith("tag:")]}
    if not isinstance(disable, dict) or set(disable) - {"ids", "tags"}:
        raise UsageError(f"config {path}: 'disable' takes 'ids' and 'tags' lists")
    for key in ("ids", "tags"):
        values = disable.get(key) or []
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise UsageError(f"config {path}: 'disable.{key}' must be a list of strings")
    config.disabled_ids = set(disable.get("ids") or [])
    config.disabled_tags = set(disable.get("tags") or [])
    sigs = data.get("signatures") or {}
    if not isinstance(sigs, dict):
        raise UsageError(f"config {path}: 'signatures' must map signature IDs to settings")
    for sig_id, settings in sigs.items():
        if not isinstance(settings, dict):
            raise UsageError(f"config {path}: 'signatures.{sig_id}' must be a mapping of settings")
        config.settings[str(sig_id)] = settings
    return config
