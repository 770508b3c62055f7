"""Rego signatures for tracee: rule files in Tracee's Rego format, evaluated with regopy (rego-cpp)."""

from __future__ import annotations

__all__ = ["__version__"]

try:
    from importlib.metadata import version as _version

    __version__ = _version("tracee-sig-rego")
except Exception:  # noqa: BLE001 - running from a source tree that is not installed
    __version__ = "0.0.0"
