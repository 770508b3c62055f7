"""tracee output plugin: findings on stdout through a user's template (`--output template:PATH`).

The detection block (`stdout`) and rawjson (`json`) outputs are the core's own
(`tracee.outputs.stdout`); this distribution adds templates, which need Jinja2.
"""

from __future__ import annotations

from tracee import Finding, OutputContext, OutputSpec, hookimpl
from tracee.outputs.stdout import StreamOutput

from .templates import compile_template, template_context

__all__ = ["Template"]


class Template(StreamOutput):
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
    register(OutputSpec("template", Template, "a Jinja2 template file: template:PATH"))
