"""Entry point of the pack: registers its rules directory and its Python signature with tracee."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from tracee import Signature, hookimpl

from .runtime_socket import RuntimeSocketAccess

#: The `.rego` and `.yaml` rule files, installed as package data next to this module.
RULES_DIR = Path(__file__).parent / "rules"


@hookimpl
def tracee_register_rule_paths(register: Callable[[str], None]) -> None:
    # tracee hands each file to the loader that claims its suffix (tracee-sig-rego for .rego,
    # tracee-sig-cel for .yaml), exactly as it does for the files of --rules-dir.
    register(str(RULES_DIR))


@hookimpl
def tracee_register_signatures(register: Callable[[Signature], None]) -> None:
    # A new object per call: the signature keeps per-process state that must not leak between runs.
    register(RuntimeSocketAccess())
