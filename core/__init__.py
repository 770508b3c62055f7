"""tracee: a runtime-security detection framework for Linux, built from pluggy plugins."""

from __future__ import annotations

from . import log  # noqa: F401 - messages go to stderr from the first import on
from .api import Enricher, EnricherContext, Input, InputContext, InputSpec, Output, OutputContext, OutputSpec, RuleLoader
from .event import Event, EventDecodeError
from .hookspecs import hookimpl
from .signature import (ALL, SIGNAL_SOURCE_COMPLETE, EventSelector, Finding, Signature, SignatureError,
                        SignatureGroup, SignatureMetadata)

try:
    from importlib.metadata import version as _version

    __version__ = _version("tracee")
except Exception:  # noqa: BLE001 - running from a source tree that is not installed
    __version__ = "0.0.0"

__all__ = ["ALL", "SIGNAL_SOURCE_COMPLETE", "Enricher", "EnricherContext", "Event", "EventDecodeError", "EventSelector",
           "Finding", "Input", "InputContext", "InputSpec", "Output", "OutputContext", "OutputSpec",
           "RuleLoader", "Signature", "SignatureError", "SignatureGroup", "SignatureMetadata", "__version__",
           "hookimpl"]
