"""User templates for findings: compiling a template file and the variables it sees."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from tracee import Finding
from tracee.formatting import go_repr, to_json

__all__ = ["compile_template", "template_context"]


def template_context(finding: Finding) -> dict[str, Any]:
    """Variables a user template sees: Tracee's rawjson keys, plus `Event.Payload` as in Go templates."""
    context = finding.event.to_dict()
    return {
        "Data": finding.data,
        "Context": context,
        "Event": {"Payload": context},
        "SigMetadata": finding.metadata.to_dict(),
        "finding": finding,
        "now": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


# A Go template's field access (`{{ .Data }}`, `{{ toJson .Event.Payload }}`): Jinja2 never has a
# space, `(` or `{{` right before a dot, and would otherwise render such a template as empty text.
_GO_FIELD = re.compile(r"\{\{-?[^}]*?(?:\{\{-?|\s|\()\.[A-Za-z_]")


def compile_template(path: str, *, keep_trailing_newline: bool = True) -> Any:
    """Compile a user's template file: a Go template (Tracee's format, run by the core's
    tracee.formats.gotemplate over the finding as tracee-rules shows it) or Jinja2 (filters
    `gomap`, `tojson`). Either has `render(template_context(finding))`; errors are ValueError
    naming the file and line."""
    import jinja2

    try:
        source = Path(path).read_text()
    except OSError as exc:
        raise ValueError(f"{path}: {exc.strerror}") from None
    if _GO_FIELD.search(source):
        from tracee.formats.gotemplate import FindingTemplate

        return FindingTemplate(source, path)
    env = jinja2.Environment(keep_trailing_newline=keep_trailing_newline, undefined=jinja2.ChainableUndefined)
    env.filters["gomap"] = go_repr
    env.filters["tojson"] = to_json
    try:
        return env.from_string(source)
    except jinja2.TemplateSyntaxError as exc:
        raise ValueError(f"{path}:{exc.lineno}: {exc.message}") from None
