"""`tracee-rules`: the command line of Tracee's tracee-rules (v0.6-v0.9), on this engine."""

from __future__ import annotations

import sys
from typing import Sequence

import click

from .cli import (CONTEXT_SETTINGS, _fail, add_plugin_options, add_service_options, apply_plugin_options,
                  list_events, list_table, make_host, run_script)
from .config import load_config
from .errors import FatalError, UsageError
from .runner import RunOptions, load_signatures, run

# Tracee flags that tune Go/OPA internals; accepted so existing scripts keep working.
_IGNORED_FLAGS = ("--rego-partial-eval", "--rego-aio", "--rego-enable-parsed-events", "--pprof",
                  "--allow-high-capabilities", "--ahc", "--allcaps")
_IGNORED_VALUES = ("--rego-runtime-target", "--sig-buffer", "--pprof-addr")
# Tracee-rules' port (v0.7+), on loopback: --metrics/--healthz/--listen-addr (v0.8.3+) and
# --metrics-addr (v0.7-v0.8.2) work as on `tracee run`.
DEFAULT_ADDR = "127.0.0.1:4466"


def parse_input_tracee(values: Sequence[str]) -> str:
    """`--input-tracee file:PATH|file:stdin` and `format:json|gob` → this project's `file:PATH` or `gob:PATH`."""
    path, fmt = None, "json"
    for value in values:
        if value == "help":
            raise click.UsageError("--input-tracee takes file:PATH (or file:stdin) and format:json or format:gob")
        key, sep, arg = value.partition(":")
        if not sep:
            raise click.UsageError(f"--input-tracee {value}: expected key:value")
        key = key.lower()
        if key == "file":
            path = "-" if arg == "stdin" else arg
        elif key == "format":
            fmt = arg.lower()
        else:
            raise click.UsageError(f"--input-tracee {value}: unknown key {key!r} (file, format)")
    if fmt not in ("json", "gob"):
        raise click.UsageError(f"--input-tracee format:{fmt}: unknown format (json, gob)")
    if path is None:
        raise click.UsageError("--input-tracee: missing file:PATH (or file:stdin)")
    return f"{'gob' if fmt == 'gob' else 'file'}:{path}"


def build(host) -> click.Command:
    @click.command(context_settings=CONTEXT_SETTINGS)
    @click.option("--rules", multiple=True, metavar="ID", help="Load only these signature IDs (repeatable).")
    @click.option("--rules-dir", "rules_dirs", multiple=True, metavar="DIR", help="Directory of rule files.")
    @click.option("--list", "list_", is_flag=True, help="List loaded signatures and exit.")
    @click.option("--list-events", "list_events_", is_flag=True, help="Print the events the signatures need and exit.")
    @click.option("--input-tracee", multiple=True, metavar="KEY:VALUE",
                  help="file:PATH or file:stdin, and format:json or format:gob (repeatable).")
    @click.option("--output-template", metavar="PATH", help="Go (Tracee's) or Jinja2 template for each finding.")
    @click.option("--config", metavar="FILE", envvar="TRACEE_CONFIG", help="Tuning file.")
    @click.option("--strict-plugins", is_flag=True, help="Plugin or rule load failures are fatal.")
    @click.pass_context
    def tracee_rules(ctx, rules, rules_dirs, list_, list_events_, input_tracee, output_template, config,
                     strict_plugins, **options):
        """Tracee's tracee-rules: match signatures against tracee-ebpf events."""
        conf = load_config(config)
        if list_events_:
            click.echo(list_events(load_signatures(host, rules_dirs=rules_dirs, rules=rules, config=conf)))
            return
        if list_:
            click.echo(list_table(load_signatures(host, rules_dirs=rules_dirs, rules=rules, config=conf)))
            return
        if not input_tracee:
            raise click.UsageError("no flags specified: give --input-tracee file:PATH --input-tracee format:json|gob")
        opts = RunOptions(inputs=[parse_input_tracee(input_tracee)],
                          outputs=[f"template:{output_template}" if output_template else "stdout"],
                          rules=rules, rules_dirs=rules_dirs, config=config, options=options,
                          command="tracee-rules")
        apply_plugin_options(ctx, plugin_options, opts)  # e.g. --webhook URL adds the output webhook:URL
        sys.exit(run(host, opts))

    add_service_options(tracee_rules, DEFAULT_ADDR, addr_aliases=("--metrics-addr",))
    # Tracee's flags that belong to a plugin (--webhook*: tracee-output-webhook) come from it.
    plugin_options = add_plugin_options(tracee_rules, host, "tracee-rules")
    return tracee_rules


# Boolean flags Go's flag parsing also accepts as `--flag=true` / `--flag=false`.
_BOOL_FLAGS = ("--metrics", "--healthz", "--list", "--list-events")


def _strip_ignored(argv: list[str]) -> list[str]:
    out, skip = [], False
    for a in argv:
        if skip:
            skip = False
            continue
        flag, eq, value = a.partition("=")
        if eq and flag in _BOOL_FLAGS and value.lower() in ("true", "false", "1", "0"):
            if value.lower() in ("true", "1"):
                out.append(flag)
            continue
        if flag in _IGNORED_FLAGS:
            print(f"tracee-rules: note: {flag} has no effect here", file=sys.stderr)
            continue
        if flag in _IGNORED_VALUES:
            print(f"tracee-rules: note: {flag} has no effect here", file=sys.stderr)
            skip = "=" not in a
            continue
        out.append(a)
    return out


def main(argv: Sequence[str] | None = None) -> None:
    argv = _strip_ignored(list(sys.argv[1:] if argv is None else argv))

    def make() -> click.Command:
        cmd = build(make_host(argv))
        if not argv:
            click.echo(cmd.get_help(click.Context(cmd, info_name="tracee-rules")), err=True)
            _fail("no flags specified", 2)
        return cmd

    run_script(make, argv, "tracee-rules")