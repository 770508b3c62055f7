"""tracee-sig-builtin: Tracee's built-in signatures TRC-1 ... TRC-15 as Python signatures."""

from __future__ import annotations

from .plugin import SIGNATURES

__all__ = ["SIGNATURES"]
