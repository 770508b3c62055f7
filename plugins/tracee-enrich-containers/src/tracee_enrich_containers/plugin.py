"""The plugin's hooks: the `containers` enricher and its `tracee run` options."""

from __future__ import annotations

import click

from tracee import hookimpl

from .enricher import DEFAULT_TIMEOUT, ContainerEnricher


@hookimpl
def tracee_register_enrichers(register):
    register(ContainerEnricher().record())


@hookimpl
def tracee_cli_options(command: str, register) -> None:
    if command == "tracee run":
        for option in run_options():
            register(option)


def run_options() -> list[click.Option]:
    return [
        click.Option(["--cri", "cri"], multiple=True, metavar="RUNTIME:SOCKET",
                     help="Container runtime to read container and pod metadata from: docker:PATH or "
                          "containerd:PATH (repeatable), or `none`. Default: every socket found among "
                          "/var/run/docker.sock, /run/containerd/containerd.sock, k3s's and microk8s's."),
        click.Option(["--cri-timeout", "cri_timeout"], type=click.FloatRange(min=0.05), metavar="SECONDS",
                     help=f"Per-request timeout on a runtime socket. Default: {DEFAULT_TIMEOUT:g}."),
    ]
