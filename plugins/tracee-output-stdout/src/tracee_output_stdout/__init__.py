"""tracee output plugin: findings on stdout as the detection block, rawjson, or a user template."""

from __future__ import annotations

import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TextIO

from tracee import Finding, OutputContext, OutputSpec, hookimpl
from tracee.formatting import go_repr, rawjson, template_context, to_json


class _StreamOutput:
    def __init__(self, context: OutputContext) -> None:
        self.stream: TextIO = context.stream or sys.stdout
        self.written = 0

    def write(self, finding: Finding) -> None:
        self.stream.write(self.render(finding))
        self.stream.flush()  # findings are rare and must be seen at once, even through a pipe
        self.written += 1

    def render(self, finding: Finding) -> str:
        raise NotImplementedError

    def close(self) -> None:
        self.stream.flush()

    def stats(self) -> dict[str, int]:
        return {}


class DetectionBlock(_StreamOutput):
    """Tracee's default template; Time is the wall-clock time of printing, in UTC."""

    def render(self, finding: Finding) -> str:
        now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        return (f"\n*** Detection ***\nTime: {now}\nSignature ID: {finding.metadata.id}\n"
                f"Signature: {finding.metadata.name}\nData: {go_repr(finding.data)}\n"
                f"Command: {finding.event.process_name}\nHostname: {finding.event.host_name}\n")


class RawJSON(_StreamOutput):
    def render(self, finding: Finding) -> str:
        return rawjson(finding) + "\n"


class Template(_StreamOutput):
    def __init__(self, context: OutputContext) -> None:
        super().__init__(context)
        path = context.argument
        if not path:
            raise ValueError("template: needs a file, as template:PATH")
        self.template = load_template(path)

    def render(self, finding: Finding) -> str:
        return self.template.render(template_context(finding))


def load_template(path: str) -> Any:
    """Compile a Jinja2 template file; syntax errors name the file and line."""
    import jinja2

    try:
        source = Path(path).read_text()
    except OSError as exc:
        raise ValueError(f"{path}: {exc.strerror}") from None
    env = jinja2.Environment(keep_trailing_newline=True, undefined=jinja2.ChainableUndefined)
    env.filters["gomap"] = go_repr
    env.filters["tojson"] = to_json
    try:
        return env.from_string(source)
    except jinja2.TemplateSyntaxError as exc:
        raise ValueError(f"{path}:{exc.lineno}: {exc.message}") from None


@hookimpl
def tracee_register_outputs(register):
    register(OutputSpec("stdout", DetectionBlock, "Tracee's detection block (default)"))
    register(OutputSpec("json", RawJSON, "one rawjson finding per line"))
    register(OutputSpec("template", Template, "a Jinja2 template file: template:PATH"))
