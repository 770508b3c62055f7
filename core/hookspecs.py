"""Every hook a tracee plugin can implement, grouped by what it adds.

A plugin is a module (or object) with functions decorated by `tracee.hookimpl`, named after the
hooks below, and published through an entry point in the `tracee` group:

    [project.entry-points.tracee]
    my-rules = "my_rules.plugin"

Registration hooks receive a `register` callable rather than returning values, so the core knows
which plugin provided each thing (for `tracee plugins`, and to name both providers when two
register the same signature ID). All hooks are called once per process, at start-up.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

import pluggy

if TYPE_CHECKING:
    import click

    from .api import Enricher, InputSpec, OutputSpec, RuleLoader
    from .signature import Signature

PROJECT = "tracee"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


# ---------------------------------------------------------------------------------------------------
# Signatures
# ---------------------------------------------------------------------------------------------------
@hookspec
def tracee_register_signatures(register: Callable[[Signature], None]) -> None:
    """Register Python signatures: call `register(SignatureInstance())` for each.

    Called once at start-up. A signature whose ID another plugin also registers is an error naming
    both plugins; neither is loaded.
    """


@hookspec
def tracee_register_rule_paths(register: Callable[[str], None]) -> None:
    """Register rule files or directories shipped by an installed rule pack.

    `register(path)` takes a file or a directory (searched recursively). The files are handed to
    the rule loader that claims their suffix (`.rego`, `.yaml`, ...), exactly like the files of
    `--rules-dir`. This is how a pack of rules written as data is found with no configuration.
    """


@hookspec
def tracee_register_rule_loaders(register: Callable[[RuleLoader], None]) -> None:
    """Register a loader that turns rule files of another language into signatures.

    See `tracee.api.RuleLoader`. Two loaders claiming the same suffix is a start-up error.
    """


# ---------------------------------------------------------------------------------------------------
# Event pipeline: inputs and enrichers
# ---------------------------------------------------------------------------------------------------
@hookspec
def tracee_register_inputs(register: Callable[[InputSpec], None]) -> None:
    """Register event sources, selected with `--input NAME:ARGUMENT` (see `tracee.api.InputSpec`)."""


@hookspec
def tracee_register_enrichers(register: Callable[[Enricher], None]) -> None:
    """Register enrichers, run in registration order on each event some signature selects,
    before it is dispatched. An enricher that raises is reported once and counted; the event
    is still dispatched."""


# ---------------------------------------------------------------------------------------------------
# Findings: outputs
# ---------------------------------------------------------------------------------------------------
@hookspec
def tracee_register_outputs(register: Callable[[OutputSpec], None]) -> None:
    """Register finding outputs, selected with `--output NAME[:ARGUMENT]` (repeatable)."""


# ---------------------------------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------------------------------
@hookspec
def tracee_cli_options() -> list[click.Option]:
    """Return click options to add to `tracee run` (for example `--webhook-format`).

    Their values reach inputs, outputs and loaders as `context.options[<parameter name>]`.
    Prefix option names with the plugin's name to avoid clashes; a clash is a start-up error.
    """


@hookspec
def tracee_register_commands(cli: click.Group) -> None:
    """Add sub-commands to the `tracee` command group (for example `tracee trace`)."""
