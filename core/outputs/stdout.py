"""`--output stdout` (Tracee's detection block, the default) and `--output json` (rawjson lines).

Registered through the core's own entry point, like the file input, so `tracee run` works with
the core alone; templated outputs (Jinja2, Go templates) come from tracee-output-stdout.
"""

from __future__ import annotations

import sys
from datetime import datetime, timezone
from typing import TextIO

from ..api import OutputContext, OutputSpec
from ..formatting import go_repr, rawjson
from ..hookspecs import hookimpl
from ..signature import Finding

__all__ = ["DetectionBlock", "RawJSON", "StreamOutput"]


class StreamOutput:
    """Writes one rendering per finding to the context's stream (stdout), flushed at once."""

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


class DetectionBlock(StreamOutput):
    """Tracee's default template; Time is the wall-clock time of printing, in UTC."""

    def render(self, finding: Finding) -> str:
        now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        return (f"\n*** Detection ***\nTime: {now}\nSignature ID: {finding.metadata.id}\n"
                f"Signature: {finding.metadata.name}\nData: {go_repr(finding.data)}\n"
                f"Command: {finding.event.process_name}\nHostname: {finding.event.host_name}\n")


class RawJSON(StreamOutput):
    def render(self, finding: Finding) -> str:
        return rawjson(finding) + "\n"


@hookimpl
def tracee_register_outputs(register):
    register(OutputSpec("stdout", DetectionBlock, "Tracee's detection block (default)"))
    register(OutputSpec("json", RawJSON, "one rawjson finding per line"))
