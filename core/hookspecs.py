"""Every hook a tracee plugin can implement, grouped by what it adds.

A plugin is a module (or object) with functions decorated by `tracee.hookimpl`, named after the
hooks below, and published through an entry point in the `tracee` group:

    [project.entry-points.tracee]
    my-rules = "my_rules.plugin"

How the core calls them (`tracee.plugins.PluginHost`):

- **When.** At start-up, while a command is put together; never per event. A process may call a
  hook more than once (`tracee plugins` collects everything), so an implementation registers fresh
  objects each time and keeps no state between calls.
- **Order.** pluggy's: `@hookimpl(tryfirst=True)` implementations first, `trylast=True` last, and
  within each group the most recently registered first. Entry points are registered in reverse
  name order, so plugins of the same group run in entry-point name order. Where order matters
  (which of two signatures with one ID is kept, which enricher runs first, which default input
  wins) the hook says so.
- **Arguments.** Keyword arguments, as pluggy passes them: an implementation names the ones it
  uses, in any order, and may leave out the others.
- **Results.** None: registration hooks receive a `register` callable instead, so the core knows
  which plugin provided each thing (`tracee plugins`) and can name both providers of a clash. A
  hook that returns a value is reported and the value ignored.
- **Isolation.** Each implementation is called on its own: one that raises is reported with its
  plugin, distribution and version, and skipped; the others still run (`--strict-plugins` makes it
  fatal). Hook wrappers (`wrapper=True`, `hookwrapper=True`) are refused when the plugin loads:
  there is no result to wrap.

What plugins register is also asked things while a run goes on, by duck typing rather than
hooks (each documented on its record in `tracee.api`):

- `stats()` of an input, output or enricher: counters for the summary, and for `/metrics`
  (`tracee.metrics` exports them under generic names);
- `metrics()` of an input or output: its own `tracee.metrics.Metric` records for `/metrics`,
  read on the HTTP server's thread at each scrape (it replaces the generic export of `stats()`);
- `health()` of an input: a string when it is not well, which `/healthz` answers 503 with;
- `update_events(names)` of an input: a SIGHUP reload changed the events signatures select;
- `update_conditions(conditions)` of an input: a reload changed the selectors' predicates
  (`InputContext.conditions`), which an input filtering by them must follow;
- rule loaders' `load()` runs again on another thread when a run reloads (SIGHUP).
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
# Signatures: called whenever signatures are loaded (`tracee run`, `list`, `list-events`, `plugins`,
# `tracee-rules`), signatures first, then loaders and rule paths.
# ---------------------------------------------------------------------------------------------------
@hookspec
def tracee_register_signatures(register: Callable[[Signature], None]) -> None:
    """Register Python signatures.

    Called each time signatures are loaded, before rule files are. Signatures are offered to the
    engine in call order; when two plugins register the same signature ID, the one called first is
    kept and the clash is reported naming both plugins (fatal with `--strict-plugins`).

    :param register: ``register(signature)``; call it once per `tracee.Signature` instance.
    :returns: None.
    """


@hookspec
def tracee_register_rule_paths(register: Callable[[str], None]) -> None:
    """Register rule files or directories shipped by an installed rule pack.

    Called each time signatures are loaded, after `tracee_register_signatures`. The files are
    handed to the rule loader that claims their suffix (`.rego`, `.yaml`, ...), exactly like the
    files of `--rules-dir`, and after them, in call order. This is how a pack of rules written as
    data is found with no configuration. A path that does not exist is reported and skipped.

    :param register: ``register(path)``; a file, or a directory searched recursively.
    :returns: None.
    """


@hookspec
def tracee_register_rule_loaders(register: Callable[[RuleLoader], None]) -> None:
    """Register a loader that turns rule files of another language into signatures.

    Called each time signatures are loaded, after `tracee_register_signatures`; the loaders then
    load their files in call order. Two loaders claiming the same suffix is a start-up error.

    :param register: ``register(loader)``; a `tracee.api.RuleLoader` (name, suffixes, load).
    :returns: None.
    """


# ---------------------------------------------------------------------------------------------------
# Event pipeline: inputs and enrichers, called when a run starts (and by `tracee plugins`).
# ---------------------------------------------------------------------------------------------------
@hookspec
def tracee_register_inputs(register: Callable[[InputSpec], None]) -> None:
    """Register event sources, selected with `--input NAME:ARGUMENT`.

    Called when a run starts, before signatures are loaded (so an input's `prepare` can run
    first), and by `tracee plugins`. Without `--input`, the first input in call order that is
    marked `default` and available is used. Two plugins registering one name is a start-up error.

    :param register: ``register(spec)``; a `tracee.api.InputSpec` (name, factory, default, ...).
    :returns: None.
    """


@hookspec
def tracee_register_enrichers(register: Callable[[Enricher], None]) -> None:
    """Register enrichers, which add to events (container names, pod labels) before dispatch.

    Called when a run starts, after signatures and outputs are loaded. Enrichers run in call
    order on each event some signature selects, and on the events they name (`Enricher.events`).
    One that raises is reported once and counted; the event is still dispatched.

    :param register: ``register(enricher)``; a `tracee.api.Enricher` (name, enrich; optional
        close, start, stats, events).
    :returns: None.
    """


# ---------------------------------------------------------------------------------------------------
# Findings: outputs, called when a run starts (and by `tracee plugins`).
# ---------------------------------------------------------------------------------------------------
@hookspec
def tracee_register_outputs(register: Callable[[OutputSpec], None]) -> None:
    """Register finding outputs, selected with `--output NAME[:ARGUMENT]` (repeatable).

    Called when a run starts, and by `tracee plugins`. Each `--output` builds its own output, in
    the order given on the command line. Two plugins registering one name is a start-up error.

    :param register: ``register(spec)``; a `tracee.api.OutputSpec` (name, factory, description).
    :returns: None.
    """


# ---------------------------------------------------------------------------------------------------
# Command line: called while a command line is built, before it is parsed.
# ---------------------------------------------------------------------------------------------------
@hookspec
def tracee_cli_options(command: str, register: Callable[..., None]) -> None:
    """Add click options to `tracee run`, or to `tracee-rules` (Tracee's command line).

    Called once per command line built, before it is parsed: by every `tracee` invocation for
    "tracee run" (and again for "tracee-rules" by `tracee plugins`), by every `tracee-rules`
    invocation for "tracee-rules". Options are added in call order, after the command's own; one
    that clashes with an existing option is a start-up error.

    Each option's value reaches inputs, outputs and loaders as `context.options[<parameter
    name>]`. When an option must become something else (`tracee-rules --webhook URL` is the output
    `webhook:URL`), `apply(value, run)` is called after parsing, only if the user gave the option,
    with the `tracee.runner.RunOptions` being built: its `inputs` and `outputs` are lists to append
    to and its `options` a dict. Prefix option names with the plugin's name to avoid clashes.

    :param command: the command being built: ``"tracee run"`` or ``"tracee-rules"``; add only
        options that belong there (Tracee's flag names for ``"tracee-rules"``).
    :param register: ``register(option, apply=None)``; `option` is a `click.Option`, `apply` an
        optional ``apply(value, run)``.
    :returns: None.
    """


@hookspec
def tracee_register_commands(cli: click.Group) -> None:
    """Add sub-commands to the `tracee` command group (for example `tracee trace`).

    Called by every `tracee` invocation, after the core's commands and `tracee_cli_options`, in
    call order. Replacing a command that exists (the core's or an earlier plugin's) is reported
    and undone.

    :param cli: the `tracee` `click.Group`; call ``cli.add_command(command)``.
    :returns: None.
    """

