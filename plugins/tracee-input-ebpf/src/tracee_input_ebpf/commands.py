"""`tracee trace` (raw events, like tracee-ebpf) and `tracee doctor [--fix]`."""

from __future__ import annotations

import signal
import sys
import threading
import time
from typing import Any

import click

from tracee import Event

__all__ = ["doctor_command", "trace_command"]


def _table_line(event: Event) -> str:
    args = ", ".join(f"{a['name']}: {_short(a.get('value'))}" for a in event.args)
    t = time.strftime("%H:%M:%S", time.localtime(event.timestamp // 1_000_000_000))
    return (f"{t}.{event.timestamp // 1_000_000 % 1000:03d} {event.process_name:<16} "
            f"{event.host_process_id:>7} {event.host_thread_id:>7} {event.user_id:>5} "
            f"{event.event_name:<25} {event.return_value:>6} {args}")


def _short(value: Any) -> str:
    if isinstance(value, bytes):
        return value[:16].hex()
    text = str(value)
    return text if len(text) <= 120 else text[:117] + "..."


def trace_command() -> click.Command:
    from tracee.cli import add_service_options

    from . import filter_options

    @click.command("trace")
    @click.option("--events", "-e", "events_spec", metavar="LIST",
                  help="Comma-separated event names or Tracee sets (fs, proc, lsm_hooks, ...). "
                       "Default: every event this input produces.")
    @click.option("--output", "-o", "output", type=click.Choice(["json", "table"]), default=None,
                  help="json: Tracee JSON lines (default when stdout is not a terminal); table: readable.")
    @click.option("--list", "list_only", is_flag=True, help="List the events and their kernel sources.")
    def trace(events_spec: str | None, output: str | None, list_only: bool, **options: Any) -> None:
        """Trace kernel events (like tracee-ebpf): JSON lines for tracee-rules, or a table.

        \b
        tracee trace --events execve,security_file_open --output table
        tracee trace -e ptrace,security_file_open | tracee-rules --input-tracee file:stdin --input-tracee format:json
        """
        from tracee.errors import FatalError, UsageError

        from .environment import SetupError
        from .program import EVENT_SOURCES
        from .source import EbpfSource, _parse_events, options_from_mapping

        if list_only:
            from .sources import listing

            click.echo("\n".join(listing()))
            return
        try:
            events = _parse_events(events_spec)
            opts = options_from_mapping(options, events)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        import logging

        from tracee import log as logs
        from tracee import server

        logs.setup()
        say = logging.getLogger("tracee.input.ebpf").info
        service = server.start(options, command="tracee trace")  # --metrics / --healthz
        try:
            source = EbpfSource(opts)
        except (SetupError, RuntimeError) as exc:
            if service:
                service.close()
            raise FatalError(f"trace: {exc}") from None
        if service:
            service.watch_input("ebpf", source)
        fmt = output or ("table" if sys.stdout.isatty() else "json")
        out = sys.stdout
        if fmt == "table":
            out.write(f"{'TIME':<12} {'COMM':<16} {'PID':>7} {'TID':>7} {'UID':>5} {'EVENT':<25} {'RET':>6} ARGS\n")
        render = (lambda e: e.to_json()) if fmt == "json" else _table_line
        stopping = threading.Event()

        def stop(*_: Any) -> None:
            if stopping.is_set():
                raise KeyboardInterrupt
            stopping.set()
            source.close()
        previous = {s: signal.signal(s, stop) for s in (signal.SIGINT, signal.SIGTERM)}
        say(f"tracing {len(events)} event(s): {','.join(sorted(events))} (Ctrl-C to stop)")
        try:
            for batch in source.batches():
                out.write("\n".join(render(e) for e in batch) + "\n")
                out.flush()  # a reader at the other end of a pipe sees each batch at once
        except BrokenPipeError:
            source.close()
            raise
        except KeyboardInterrupt:
            pass
        finally:
            for s, handler in previous.items():
                signal.signal(s, handler)
            say(f"summary: {source.lost_summary()}")
            if service:
                service.close()

    trace.params.extend(filter_options())
    add_service_options(trace, stuck_after=False)  # --log-format, --metrics, --healthz, --listen-addr
    return trace


def doctor_command() -> click.Command:
    @click.command("doctor")
    @click.option("--fix", is_flag=True, help="Install and set up what is missing (apt-get, tracefs, "
                                              "bcc link, header cache). Needs root.")
    def doctor(fix: bool) -> None:
        """Check what live tracing needs (root, kernel, BTF, tracefs, BCC, bpftool, headers)."""
        from tracee.errors import FatalError

        from . import environment

        if fix:
            remaining = environment.fix(lambda m: click.echo(f"fix: {m}"))
            for problem in remaining:
                click.echo(f"fix: could not fix: {problem}", err=True)
        failed = False
        for check in environment.checks():
            mark = "ok " if check.ok else ("-- " if not check.required else "NO ")
            click.echo(f"[{mark}] {check.name:<9} {check.detail}")
            failed |= check.required and not check.ok
        if failed:
            hint = "" if fix else " (run `tracee doctor --fix` as root)"
            raise FatalError("live tracing is not ready" + hint)
        click.echo("ready: `tracee run` uses the ebpf input by default")

    return doctor
