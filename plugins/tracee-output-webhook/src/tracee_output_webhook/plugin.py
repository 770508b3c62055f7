"""The plugin's hooks: the `webhook` output, its `tracee run` options, `tracee-rules --webhook*`."""

from __future__ import annotations

import os
import re
import urllib.parse
from typing import Any, Callable, Mapping

import click

from tracee import OutputContext, OutputSpec, hookimpl

from .payloads import select_renderer
from .sender import Settings, WebhookOutput, redact

# Defaults live here, not in click, so `tracee-rules --webhook` (which passes only a template and
# a content type) and `tracee run` behave the same.
DEFAULTS: dict[str, Any] = {"timeout": 5.0, "queue_size": 1000, "retries": 5, "drain_timeout": 10.0, "batch": 1,
            "connections": 1}
_HEADER_NAME = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")


@hookimpl
def tracee_register_outputs(register):
    register(OutputSpec("webhook", build_output,
                        "POST each finding to URL (rawjson, falcosidekick or a Jinja2 template): webhook:URL"))


@hookimpl
def tracee_cli_options(command: str, register: Callable[..., None]) -> None:
    if command == "tracee run":
        for option in run_options():
            register(option)
    elif command == "tracee-rules":
        # Tracee's flags: --webhook URL becomes the output webhook:URL; the other two land in the
        # options under the names `tracee run` uses, so both commands build the same output.
        register(click.Option(["--webhook", "webhook"], metavar="URL",
                              help="POST each finding to URL (tracee-output-webhook)."),
                 apply=lambda url, run: run.outputs.append(f"webhook:{url}"))
        register(click.Option(["--webhook-template", "webhook_template"], metavar="PATH|rawjson|falcosidekick",
                              help="Payload template."))
        register(click.Option(["--webhook-content-type", "webhook_content_type"], metavar="TYPE",
                              help="Content-Type of webhook requests."))


def run_options() -> list[click.Option]:
    """The options of `tracee run`, new objects each call (a process may build two command lines)."""
    return [
        click.Option(["--webhook-template", "--webhook-format", "webhook_template"],
                     metavar="rawjson|falcosidekick|PATH",
                     help="Webhook body: rawjson (Tracee's finding JSON, default), falcosidekick, or a "
                          "Jinja2 template file."),
        click.Option(["--webhook-content-type", "webhook_content_type"], metavar="TYPE",
                     help="Content-Type of webhook requests. Default: application/json."),
        click.Option(["--webhook-header", "webhook_header"], multiple=True, metavar="NAME=ENVVAR",
                     help="Add header NAME with the value of environment variable ENVVAR, so tokens stay "
                          "off the command line (repeatable)."),
        click.Option(["--webhook-timeout", "webhook_timeout"], type=click.FloatRange(min=0.1), metavar="SECONDS",
                     help=f"Per-request timeout. Default: {DEFAULTS['timeout']:g}."),
        click.Option(["--webhook-retries", "webhook_retries"], type=click.IntRange(min=0), metavar="N",
                     help="Retries after a connection error, timeout, 5xx or 429, with exponential backoff "
                          f"from 0.5s. Default: {DEFAULTS['retries']}."),
        click.Option(["--webhook-queue-size", "webhook_queue_size"], type=click.IntRange(min=1), metavar="N",
                     help="Findings waiting to be sent before new ones are dropped (and counted). "
                          f"Default: {DEFAULTS['queue_size']}."),
        click.Option(["--webhook-drain-timeout", "webhook_drain_timeout"], type=click.FloatRange(min=0),
                     metavar="SECONDS", help="At exit, time allowed to send what is queued; the rest is "
                                             f"counted as unsent. Default: {DEFAULTS['drain_timeout']:g}."),
        click.Option(["--webhook-batch", "webhook_batch"], type=click.IntRange(min=1), metavar="N",
                     help="rawjson only: send up to N queued findings per request, as a JSON array "
                          "(for receivers that accept arrays). Default: 1 (one object per request)."),
        click.Option(["--webhook-connections", "webhook_connections"], type=click.IntRange(min=1, max=16),
                     metavar="N", help="Requests in flight at once, each on its own kept-alive connection "
                                       "(findings may then arrive out of order; 1 keeps their order). "
                                       f"Default: {DEFAULTS['connections']}."),
    ]


def _option(name: str, fragment: Mapping[str, list[str]], options: Mapping[str, Any], convert: Any) -> Any:
    if name in fragment:
        raw = fragment[name][-1]
        try:
            value = convert(raw)
        except ValueError:
            raise ValueError(f"URL option {name}={raw!r}: not a valid {convert.__name__}") from None
        if value < 0 or (value == 0 and name in ("timeout", "queue_size", "batch", "connections")):
            raise ValueError(f"URL option {name}={raw!r}: out of range")
        return value
    value = options.get(f"webhook_{name}")
    return DEFAULTS[name] if value is None else value


def parse_headers(specs: list[str] | tuple[str, ...]) -> dict[str, str]:
    """`NAME=ENVVAR` → {NAME: os.environ[ENVVAR]}; an unset variable is an error, not an empty header."""
    headers: dict[str, str] = {}
    for spec in specs:
        name, sep, var = spec.partition("=")
        name, var = name.strip(), var.strip()
        if not sep or not name or not var:
            raise ValueError(f"--webhook-header {spec}: expected NAME=ENVVAR (the value is read from "
                             "the environment variable ENVVAR)")
        if not _HEADER_NAME.match(name):
            raise ValueError(f"--webhook-header {spec}: {name!r} is not a valid header name")
        value = os.environ.get(var)
        if value is None:
            raise ValueError(f"--webhook-header {name}={var}: environment variable {var} is not set")
        if "\r" in value or "\n" in value:
            raise ValueError(f"--webhook-header {name}={var}: the value of {var} contains a line break")
        headers[name] = value
    return headers


def settings_from(context: OutputContext) -> Settings:
    """CLI options, overridden per output by the URL fragment (`webhook:URL#format=falcosidekick`):
    fragments never reach the server, so each of several webhooks can have its own format."""
    url, _, frag = context.argument.partition("#")
    if not url:
        raise ValueError("webhook: needs a URL, as webhook:http://HOST:PORT/PATH")
    options = context.options or {}
    fragment = urllib.parse.parse_qs(frag, keep_blank_values=True) if frag else {}
    known = {"format", "template", "content_type", "header", *DEFAULTS}
    unknown = sorted(set(fragment) - known)
    if unknown:
        raise ValueError(f"unknown URL option {unknown[0]!r} after '#' (known: {', '.join(sorted(known))})")
    template = (fragment.get("format") or fragment.get("template") or [None])[-1] or options.get("webhook_template")
    fmt, render = select_renderer(template)
    batch = _option("batch", fragment, options, int)
    if batch > 1 and fmt != "rawjson":
        raise ValueError(f"--webhook-batch {batch}: batching sends a JSON array of rawjson findings; "
                         f"the {fmt} format sends one object per request")
    content_type = (fragment.get("content_type") or [None])[-1] or options.get("webhook_content_type") \
        or "application/json"
    header_specs = list(options.get("webhook_header") or ()) + fragment.get("header", [])
    return Settings(url=url, render=render, format=fmt, content_type=content_type,
                    headers=parse_headers(header_specs),
                    timeout=float(_option("timeout", fragment, options, float)),
                    queue_size=int(_option("queue_size", fragment, options, int)),
                    retries=int(_option("retries", fragment, options, int)),
                    drain_timeout=float(_option("drain_timeout", fragment, options, float)),
                    batch=int(batch),
                    connections=min(int(_option("connections", fragment, options, int)), 16))


def build_output(context: OutputContext) -> WebhookOutput:
    settings = settings_from(context)
    output = WebhookOutput(settings, context.log)
    context.log.info(f"webhook {redact(settings.url)}: {settings.format} findings, "
                          f"queue {settings.queue_size}, {settings.retries} retries, "
                     f"{settings.connections} connection(s)")
    return output
