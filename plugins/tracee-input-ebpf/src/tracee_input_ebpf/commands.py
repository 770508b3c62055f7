"""`tracee doctor [--fix]` (`tracee trace`, the tracee-ebpf command, is cli.py)."""

from __future__ import annotations

import click

__all__ = ["doctor_command"]


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
