"""Entry point of tracee-sig-rego: registers the loader of `.rego` rule files.

regopy is imported only when Rego files are actually loaded, so `tracee plugins` works (and
reports the problem) on a machine where it cannot be imported.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Sequence

from tracee import RuleLoader, Signature, hookimpl
from tracee.api import RuleLoadContext

__all__ = ["load", "tracee_register_rule_loaders"]


def load(files: Sequence[Path], context: RuleLoadContext) -> list[Signature]:
    """Signatures for Tracee-format Rego files (see `tracee_sig_rego.loader`)."""
    try:
        from .loader import load_rules
    except Exception as exc:  # noqa: BLE001 - ImportError, or regopy's RegoError when its .so is missing
        context.fail(f"{len(files)} Rego rule file(s) not loaded: regopy cannot be used "
                     f"({type(exc).__name__}: {exc}); install it with pip install 'regopy>=1.5.2'")
        return []
    return load_rules(files, context)


@hookimpl
def tracee_register_rule_loaders(register: Callable[[RuleLoader], None]) -> None:
    # Sharing a process with CEL rules: tracee-sig-cel loads regopy's library before its own
    # (see tracee_sig_cel.loader.share_process_with_rego for why the order matters).
    # isolate: rego-cpp crashes (SIGSEGV, uncaught C++ exceptions) on some rules; in a worker such a
    # rule is named and quarantined, and rules see no environment (opa.runtime()).
    register(RuleLoader("rego", (".rego",), load, isolate=True))
