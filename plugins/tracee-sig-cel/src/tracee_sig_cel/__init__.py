"""tracee-sig-cel: signatures written as Tracee go-cel `SignaturesConfig` YAML, run by CEL.

Registers a rule loader for `.yaml`, `.yml` and `.cel` files found under `--rules-dir` and in
installed rule packs, and the `--cel-backend` option of `tracee run`. The CEL libraries are
imported only when rule files are loaded, so `tracee plugins` works without them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Sequence

from tracee import RuleLoader, hookimpl
from tracee.api import RuleLoadContext

__all__ = ["LOADER"]


def _load(files: Sequence[Path], context: RuleLoadContext) -> list[Any]:
    from .loader import load_rules

    return load_rules(files, context)


# isolate: in a worker of its own the fast backend never shares a process with regopy, and an
# expression that runs away (nested comprehensions) is abandoned at its time budget.
LOADER = RuleLoader(name="cel", suffixes=(".yaml", ".yml", ".cel"), load=_load, isolate=True,
                    environment=("TRACEE_CEL_BACKEND",))


@hookimpl
def tracee_register_rule_loaders(register: Callable[[RuleLoader], None]) -> None:
    register(LOADER)


@hookimpl
def tracee_cli_options(command: str, register: Callable[..., None]) -> None:
    if command != "tracee run":
        return
    import click

    from .backends import BACKENDS, ENV_VAR

    register(click.Option(
        ["--cel-backend"], type=click.Choice(BACKENDS), default=None, envvar=ENV_VAR, show_envvar=True,
        help="CEL engine for go-cel rules: cel-expr-python (C++, fast), cel-python (pure Python), "
             "or auto (the first one installed). [default: auto]"))
