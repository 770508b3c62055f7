"""Rule workers: rule languages (Rego, CEL) loaded and evaluated in processes of their own.

A loader that sets `RuleLoader.isolate` has its files compiled and its rules evaluated in a
worker process (one per loader), behind the `SignatureGroup` seam: the engine queues events,
a pump thread sends them in batches and delivers the findings that come back. What this buys:

- a rule or rule file that crashes or hangs the native engine (rego-cpp's uncaught exceptions,
  deep recursion) is named, quarantined or skipped, and everything else goes on;
- every evaluation has a time budget (`--rule-budget`, default 50 ms per rule per event): a
  rule over it is abandoned for that event and quarantined after repeats;
- native engines that do not share a process well (regopy and cel-expr-python) each get one,
  and rules evaluate on another core than the one decoding events;
- the worker's environment is empty, so rules see none of the detector's secrets.

`TRACEE_RULE_WORKERS=0` (or `--rule-workers off`) evaluates in the detector's process instead.
"""

from __future__ import annotations

import os
from typing import Any, Callable, Mapping

from .. import rulecache
from ..hookspecs import hookimpl
from .group import DEFAULT_BUDGET_MS, RemoteSignature, WorkerGroup, load_isolated

__all__ = ["DEFAULT_BUDGET_MS", "ENV_VAR", "RemoteSignature", "WorkerGroup", "budget_ms", "enabled",
           "load_isolated"]

ENV_VAR = "TRACEE_RULE_WORKERS"
BUDGET_ENV_VAR = "TRACEE_RULE_BUDGET_MS"


def enabled(options: Mapping[str, Any]) -> bool:
    """Whether isolating loaders run in workers: `--rule-workers`, else TRACEE_RULE_WORKERS."""
    choice = options.get("rule_workers") or os.environ.get(ENV_VAR, "on")
    return str(choice).strip().lower() not in ("0", "off", "no", "false")


def budget_ms(options: Mapping[str, Any]) -> float:
    value = options.get("rule_budget") or os.environ.get(BUDGET_ENV_VAR)
    try:
        return float(value) if value else DEFAULT_BUDGET_MS
    except ValueError:
        return DEFAULT_BUDGET_MS


@hookimpl
def tracee_cli_options(command: str, register: Callable[..., None]) -> None:
    if command != "tracee run":
        return
    import click

    register(click.Option(["--rule-workers", "rule_workers"], type=click.Choice(["on", "off"]), envvar=ENV_VAR,
                          show_envvar=True, help="Evaluate Rego and CEL rules in worker processes (crash and "
                                                 "hang isolation, a second core). [default: on]"))
    register(click.Option(["--rule-cache", "rule_cache"], type=click.Choice(["on", "off"]), envvar=rulecache.ENV_VAR,
                          show_envvar=True, help="Reuse the answer of Rego and CEL rules for an event whose "
                                                 "fields they read equal an earlier event's (bounded, counted "
                                                 "in the summary). [default: on]"))
    register(click.Option(["--rule-budget", "rule_budget"], type=click.FloatRange(min=1), metavar="MS",
                          envvar=BUDGET_ENV_VAR, show_envvar=True,
                          help="Time one rule may take on one event in a worker before it is abandoned "
                               f"(quarantined after repeats). [default: {DEFAULT_BUDGET_MS:g}]"))
