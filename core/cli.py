"""The `tracee` command: run, list, list-events, plugins, plus commands that plugins add."""

from __future__ import annotations

import json
import logging
import os
import re
import sys
from typing import Any, Callable, Sequence

import click

from . import __version__
from . import log as logs
from . import server
from .errors import FatalError, UsageError
from .plugins import CliOption, PluginHost, PluginInfo
from .runner import LoadedSignature, RunOptions, load_signatures, plugin_table, run
from .config import load_config

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


def make_host(argv: Sequence[str]) -> PluginHost:
    """Plugins load before click parses the command line (they add options), so --strict-plugins
    is read from argv here."""
    strict = True if "--strict-plugins" in argv else None
    logs.setup(_log_format_in(argv))  # messages of plugin loading already in the chosen format
    return PluginHost(strict=strict).load_entry_points()


def _log_format_in(argv: Sequence[str]) -> str | None:
    for i, arg in enumerate(argv):
        value = arg.split("=", 1)[1] if arg.startswith("--log-format=") else (
            argv[i + 1] if arg == "--log-format" and i + 1 < len(argv) else None)
        if value in logs.FORMATS:
            return value
    return None


def log_format_option() -> click.Option:
    """`--log-format text|json` (or TRACEE_LOG_FORMAT): stderr messages as text lines or one JSON
    object per line. Any command may add it; it takes effect as soon as it is parsed."""
    def choose(_ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
        if value:
            logs.setup(value)

    return click.Option(["--log-format", "log_format"], type=click.Choice(logs.FORMATS), default=None,
                        envvar="TRACEE_LOG_FORMAT", is_eager=True, expose_value=False, callback=choose,
                        help="Messages on stderr: text (default) or json (one object per line: time, "
                             "level, logger, message). [env: TRACEE_LOG_FORMAT]")


def add_service_options(cmd: click.Command, default_addr: str = server.DEFAULT_ADDR, **kwargs: Any) -> None:
    """--log-format and the /metrics, /healthz options, on a long-running command."""
    cmd.params.extend([log_format_option(), *server.server_options(default_addr, **kwargs)])


def _natural(text: str) -> list[Any]:
    # TRC-2 before TRC-10: digit runs compare as numbers
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", text)]


def list_table(sigs: Sequence[LoadedSignature]) -> str:
    """Tracee's --list: the Loaded line (load order), then ID / NAME / VERSION / DESCRIPTION sorted
    by ID. Columns are Tracee's widths (10, 35, 7), widened to the longest entry so a long name
    does not push its row out of line (Tracee's overflowed)."""
    metas = [s.signature.get_metadata() for s in sigs]
    lines = [f"Loaded {len(metas)} signature(s): [{' '.join(m.id for m in metas)}]"]
    rows = [("ID", "NAME", "VERSION", "DESCRIPTION")]
    rows += [(m.id, m.name, m.version, m.description) for m in sorted(metas, key=lambda m: _natural(m.id))]
    widths = [max(minimum, *(len(row[i]) for row in rows)) for i, minimum in enumerate((10, 35, 7))]
    for row in rows:
        lines.append(" ".join(cell.ljust(width) for cell, width in zip(row, widths)) + " " + row[3])
    return "\n".join(line.rstrip() for line in lines)


def list_events(sigs: Sequence[LoadedSignature]) -> str:
    names = {sel.name for s in sigs for sel in s.signature.get_selected_events()
             if sel.source and sel.name and sel.name != "*"}
    return ",".join(sorted(names))


rules_option = click.option("--rules", "rules", multiple=True, metavar="ID",
                            help="Load only the signature with this ID (repeatable).")
rules_dir_option = click.option("--rules-dir", "rules_dirs", multiple=True, metavar="DIR",
                                type=click.Path(file_okay=False),
                                help="Also load rule files (.rego, .yaml...) from DIR (repeatable).")
config_option = click.option("--config", "config", metavar="FILE", envvar="TRACEE_CONFIG",
                             help="Tuning file: disable signatures, extend allow-lists. [env: TRACEE_CONFIG]")
strict_option = click.option("--strict-plugins", is_flag=True,
                             help="A plugin or rule that fails to load stops the run. [env: TRACEE_STRICT_PLUGINS=1]")


PluginOptions = list[tuple[PluginInfo, CliOption]]


def add_plugin_options(cmd: click.Command, host: PluginHost, command: str) -> PluginOptions:
    """Append the options plugins register for `command` ("tracee run", "tracee-rules") to `cmd`."""
    found = host.cli_options(command)
    for info, item in found:
        flags = {flag for param in cmd.params for flag in (*param.opts, *param.secondary_opts)}
        clash = [flag for flag in (*item.option.opts, *item.option.secondary_opts) if flag in flags]
        if clash or item.option.name in {param.name for param in cmd.params}:
            what = clash[0] if clash else f"parameter {item.option.name!r}"
            raise FatalError(f"plugin {info.name!r}: option {what} clashes with an existing option of {command}")
        cmd.params.append(item.option)
    return found


def apply_plugin_options(ctx: click.Context, found: PluginOptions, run_options: RunOptions) -> None:
    """Let each plugin option the user gave change the run (`tracee-rules --webhook URL` adds an output)."""
    for info, item in found:
        name = item.option.name
        source = ctx.get_parameter_source(name) if name else None
        if item.apply is None or source in (None, click.ParameterSource.DEFAULT, click.ParameterSource.DEFAULT_MAP):
            continue
        try:
            item.apply(ctx.params[name], run_options)
        except (click.ClickException, UsageError, FatalError):
            raise
        except Exception as exc:  # noqa: BLE001 - a plugin's bug, not the user's
            raise FatalError(f"plugin {info.name!r}: option {'/'.join(item.option.opts)}: "
                             f"{type(exc).__name__}: {exc}") from exc


def build_cli(host: PluginHost) -> click.Group:
    @click.group(context_settings=CONTEXT_SETTINGS)
    @click.version_option(__version__, "--version", prog_name="tracee")
    def cli() -> None:
        """Runtime-security detection for Linux: kernel events in, findings out.

        Signatures, inputs and outputs are plugins: `tracee plugins` shows what is installed.
        """

    @cli.command("run")
    @click.option("--input", "inputs", multiple=True, metavar="NAME:ARG",
                  help="Event source: file:PATH, file:- (stdin), or a live input such as ebpf. "
                       "Default: the live input, when installed.")
    @click.option("--output", "outputs", multiple=True, metavar="NAME[:ARG]",
                  help="Where findings go: stdout (detection block), json (rawjson), template:PATH, "
                       "or a plugin's output such as webhook:URL (repeatable). Default: stdout.")
    @rules_option
    @rules_dir_option
    @config_option
    @strict_option
    @click.pass_context
    def run_cmd(ctx: click.Context, inputs, outputs, rules, rules_dirs, config, strict_plugins, **options):
        """Detect: read events, match signatures, write findings."""
        opts = RunOptions(inputs=list(inputs), outputs=list(outputs or ("stdout",)), rules=rules,
                          rules_dirs=rules_dirs, config=config, options=options)
        apply_plugin_options(ctx, run_options, opts)
        ctx.exit(run(host, opts))

    add_service_options(run_cmd)
    run_options = add_plugin_options(run_cmd, host, "tracee run")

    @cli.command("list")
    @rules_option
    @rules_dir_option
    @config_option
    @strict_option
    def list_cmd(rules, rules_dirs, config, strict_plugins):
        """List the signatures that would be loaded."""
        logs.quiet()
        sigs = load_signatures(host, rules_dirs=rules_dirs, rules=rules, config=load_config(config))
        click.echo(list_table(sigs))

    @cli.command("list-events")
    @rules_option
    @rules_dir_option
    @config_option
    @strict_option
    def list_events_cmd(rules, rules_dirs, config, strict_plugins):
        """Print the events the loaded signatures need (sorted, comma-separated)."""
        logs.quiet()
        sigs = load_signatures(host, rules_dirs=rules_dirs, rules=rules, config=load_config(config))
        click.echo(list_events(sigs))

    @cli.command("plugins")
    @click.option("--json", "as_json", is_flag=True, help="Print JSON.")
    def plugins_cmd(as_json: bool):
        """Show installed plugins: distribution, version, what each provides."""
        logs.quiet()
        # Collect everything once so `provides` is filled in (`tracee run` options already are).
        host.signatures(), host.inputs(), host.outputs(), host.rule_loaders(), host.rule_paths(), host.enrichers()
        host.cli_options("tracee-rules")
        infos = plugin_table(host)
        if as_json:
            click.echo(json.dumps([i.to_dict() for i in infos], indent=2))
            return
        for i in infos:
            status = f"  FAILED: {i.error}" if i.error else ""
            click.echo(f"{i.distribution} {i.version}  [{i.name}: {i.module}]{status}")
            for kind, what in i.provides.items():
                click.echo(f"    {kind}: {', '.join(what)}")

    host.add_commands(cli)
    return cli


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of the `tracee` script."""
    argv = list(sys.argv[1:] if argv is None else argv)
    run_script(lambda: build_cli(make_host(argv)), argv, "tracee")


def run_script(make: Callable[[], click.Command], argv: list[str], prog_name: str, *,
               unknown_flag: Callable[[str], str] | None = None) -> None:
    """Run a command the way every script of the project does (`tracee`, `tracee-rules`,
    `tracee-ebpf`): user mistakes become one line on stderr and exit 2, fatal errors exit 1, a
    reader that went away 141, Ctrl-C 130; never a traceback. `make` builds the command (inside,
    so its errors are handled too); `unknown_flag` words the error for a flag that does not exist."""
    try:
        code = make().main(argv, prog_name=prog_name, standalone_mode=False)
        if isinstance(code, int) and code:  # click returns ctx.exit's code instead of raising it
            sys.exit(code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        if unknown_flag is not None and isinstance(exc, click.exceptions.NoSuchOption):
            _fail(unknown_flag(exc.option_name), 2)
        _fail(exc.format_message(), 2, getattr(exc, "ctx", None))
    except click.exceptions.Abort:  # Ctrl-C at a prompt
        sys.exit(130)
    except UsageError as exc:
        _fail(str(exc), 2)
    except FatalError as exc:
        _fail(str(exc), 1)
    except BrokenPipeError:
        _quiet_stdout()
        sys.exit(141)
    except KeyboardInterrupt:
        sys.exit(130)


def _fail(message: str, code: int, ctx: Any = None) -> None:
    hint = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
    logging.getLogger(logs.ROOT).error(f"{message}{hint}")  # `tracee: error: ...`, or a JSON line
    sys.exit(code)


def _quiet_stdout() -> None:
    # The reader went away (`tracee ... | head`): stop writing without a traceback at exit.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


if __name__ == "__main__":
    main()
