"""tracee input plugin: live kernel events through eBPF (BCC), in Tracee's event format.

This module is the `tracee` entry point. It must stay importable without BCC (so `tracee list`
works everywhere): bcc is imported only when the input starts or a command runs.
"""

from __future__ import annotations

from typing import Any, Callable

import click

from tracee import InputContext, InputSpec, hookimpl

__all__ = ["filter_options"]


def _make_input(context: InputContext) -> Any:
    from tracee.errors import FatalError, UsageError

    from .environment import SetupError
    from .program import SUPPORTED_EVENTS
    from .source import EbpfSource, options_from_mapping

    log = context.log
    if context.event_names is None:
        # a signature selects every event: trace Tracee's default set, as tracee-ebpf does when
        # given no events (all 487 would include sched_switch and every syscall of every process)
        from tracee.events import catalog

        events = catalog.DEFAULT_SET & SUPPORTED_EVENTS
        log.info(f"ebpf: a signature selects every event: tracing Tracee's default set ({len(events)} events)")
    else:
        events = frozenset(context.event_names) & SUPPORTED_EVENTS
        missing = sorted(set(context.event_names) - SUPPORTED_EVENTS)
        if missing:
            log.warning(f"ebpf: signatures select event(s) this input does not produce: "
                             f"{', '.join(missing)} (their rules will not fire)")
    try:
        options = options_from_mapping(context.options, events, context.conditions)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    try:
        return EbpfSource(options, log=log)
    except SetupError as exc:
        raise FatalError(f"ebpf: {exc}") from None
    except RuntimeError as exc:  # compile/load refused: one line, never a traceback
        raise FatalError(f"ebpf: {exc}") from None


def _available() -> str | None:
    from .environment import not_usable_reason

    return not_usable_reason()


def _prepare() -> None:
    # Loads BCC (libbcc and its LLVM) before rule files are loaded: with regopy's library loaded
    # first, BCC's compiler aborts the process ("double free or corruption"), measured here.
    from tracee.errors import FatalError

    from .environment import SetupError, ensure_ready

    try:
        ensure_ready()
    except SetupError as exc:
        raise FatalError(f"ebpf: {exc}") from None


@hookimpl
def tracee_register_inputs(register: Any) -> None:
    register(InputSpec("ebpf", _make_input, "live kernel events via eBPF (BCC): needs root",
                       default=True, available=_available, prepare=_prepare))


def filter_options() -> list[click.Option]:
    """Filters shared by `tracee run` and `tracee trace` (click parameter names `ebpf_*`)."""
    return [
        click.Option(["--comm", "ebpf_comm"], multiple=True, metavar="NAME",
                     help="eBPF: only processes with this command name (repeatable)."),
        click.Option(["--pid", "ebpf_pid"], multiple=True, type=int, metavar="PID",
                     help="eBPF: only this process (repeatable)."),
        click.Option(["--uid", "ebpf_uid"], multiple=True, type=int, metavar="UID",
                     help="eBPF: only processes of this user (repeatable)."),
        click.Option(["--container", "ebpf_container"], is_flag=False, flag_value="all", default=None,
                     metavar="[ID]", help="eBPF: only container processes; with ID, only that container "
                                          "(id prefix)."),
        click.Option(["--follow", "ebpf_follow"], is_flag=True,
                     help="eBPF: also trace the children of --pid/--comm processes."),
        click.Option(["--exec-env/--no-exec-env", "ebpf_exec_env"], default=None,
                     help="eBPF: capture the environment of execs (execve envp, sched_process_exec env). "
                          "Default: when a loaded rule selects one of those events (TRC-7 and TRC-13 read it)."),
        click.Option(["--ebpf-buffer-pages", "ebpf_buffer_pages"], type=int, default=1024, show_default=True,
                     metavar="N", help="eBPF: perf buffer pages per CPU (power of two)."),
        click.Option(["--ebpf-hooks-interval", "ebpf_hooks_interval"], type=float, default=0.0,
                     metavar="SECONDS", help="eBPF: re-check the syscall table this often "
                                             "(0: at start and on SIGUSR1)."),
    ]


@hookimpl
def tracee_cli_options(command: str, register: Callable[..., None]) -> None:
    if command == "tracee run":
        for option in filter_options():
            register(option)


@hookimpl
def tracee_register_commands(cli: click.Group) -> None:
    from .cli import tracee_ebpf_command
    from .commands import doctor_command

    cli.add_command(tracee_ebpf_command("trace"))  # the same command as the tracee-ebpf script
    cli.add_command(doctor_command())
