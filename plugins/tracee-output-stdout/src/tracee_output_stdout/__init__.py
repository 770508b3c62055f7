"""tracee output plugin: findings on stdout as the detection block, rawjson, or a user template."""

from __future__ import annotations

import sys
from datetime import datetime, timezone
from typing import TextIO

from tracee import Finding, OutputContext, OutputSpec, hookimpl
from tracee.formatting import compile_template, go_repr, rawjson, template_context


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
        self.template = compile_template(path)

    def render(self, finding: Finding) -> str:
        return self.template.render(template_context(finding))


@hookimpl
def tracee_register_outputs(register):
    register(OutputSpec("stdout", DetectionBlock, "Tracee's detection block (default)"))
    register(OutputSpec("json", RawJSON, "one rawjson finding per line"))
    register(OutputSpec("template", Template, "a Jinja2 template file: template:PATH"))
