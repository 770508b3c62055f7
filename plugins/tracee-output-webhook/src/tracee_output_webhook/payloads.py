"""Request bodies for findings: Tracee's rawjson, falcosidekick's FalcoPayload, or a Jinja2 template."""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path
from typing import Any, Callable

from tracee import Finding
from tracee.formatting import go_repr, rawjson, rfc3339, to_json
from tracee_output_stdout.templates import compile_template, template_context

__all__ = ["BUILTIN_FORMATS", "PRIORITIES", "falcosidekick", "flatten", "load_template", "priority",
           "render_rawjson", "select_renderer"]

Renderer = Callable[[Finding], str]

#: Tracee Severity → falcosidekick priority. Tracee's legacy signatures use 0-4 (TRC-8 is 0, TRC-15
#: and TRC-16 are 4) and its detector API names the same steps INFO/LOW/MEDIUM/HIGH/CRITICAL; they
#: map in order onto five adjacent Falco levels. Emergency and Alert stay unused: no Tracee severity
#: means "the node is unusable". falcosidekick rejects a payload whose priority it cannot parse, so
#: anything else (missing, 7, "urgent") becomes UNKNOWN_PRIORITY rather than an empty string.
PRIORITIES: dict[int, str] = {0: "Informational", 1: "Notice", 2: "Warning", 3: "Error", 4: "Critical"}
_SEVERITY_NAMES = {"info": 0, "informational": 0, "low": 1, "medium": 2, "high": 3, "critical": 4}
UNKNOWN_PRIORITY = "Warning"


def priority(finding: Finding) -> str:
    """falcosidekick's `priority` for a finding (see PRIORITIES)."""
    value = finding.metadata.properties.get("Severity") if finding.metadata.properties else None
    if isinstance(value, str):
        name = value.strip().lower()
        if name in _SEVERITY_NAMES:
            return PRIORITIES[_SEVERITY_NAMES[name]]
        try:
            value = int(name)
        except ValueError:
            return UNKNOWN_PRIORITY
    if isinstance(value, (int, float)) and not isinstance(value, bool) and int(value) == value:
        return PRIORITIES.get(int(value), UNKNOWN_PRIORITY)
    return UNKNOWN_PRIORITY


# Events before 2001 carry boot-relative time (tracee-ebpf's relative-time option, or hand-made
# test events); falcosidekick would accept 1970, but alerting on it misleads, so use the send time.
_PLAUSIBLE_NS = 978_307_200 * 10**9


def event_time(finding: Finding) -> str:
    """RFC 3339 time of the event with nanoseconds, as Falco writes it (falcosidekick requires a
    non-zero time). Integer arithmetic: a float of ns since 1970 cannot hold every nanosecond."""
    ts = finding.event.timestamp
    if not (isinstance(ts, int) and not isinstance(ts, bool) and ts >= _PLAUSIBLE_NS):
        ts = time.time_ns()
    return rfc3339(ts)


def flatten(value: Any, prefix: str, into: dict[str, Any]) -> None:
    """Nested maps become dotted keys (`prefix.a.b`), as falcosidekick's outputs (Loki labels,
    Elasticsearch fields, Slack tables) expect flat output_fields; lists and scalars stay."""
    if isinstance(value, dict):
        if not value:
            return
        for key, inner in value.items():
            flatten(inner, f"{prefix}.{key}", into)
    elif isinstance(value, bytes):
        into[prefix] = json.loads(to_json(value))  # base64, as rawjson writes bytes
    elif isinstance(value, (list, tuple, set, frozenset)):
        into[prefix] = json.loads(to_json(list(value)))
    elif value is None or isinstance(value, (str, int, float, bool)):
        into[prefix] = value
    else:
        into[prefix] = str(value)


_HOSTNAME = socket.gethostname()

try:  # the containers enricher knows what Tracee's event has no field for: image id, digest, runtime
    from tracee_enrich_containers import known_container as _known_container
except ImportError:
    _known_container = None


def image_parts(image: str) -> tuple[str, str]:
    """`registry:5000/team/app:1.2@sha256:...` → (`registry:5000/team/app`, `1.2`): Falco's
    container.image.repository and .tag (a colon before the last slash is a registry port)."""
    ref = image.partition("@")[0]
    colon = ref.rfind(":")
    if colon > ref.rfind("/"):
        return ref[:colon], ref[colon + 1:]
    return ref, ""


def _container_fields(e: Any, fields: dict[str, Any]) -> None:
    """Falco's container.* and k8s.* fields; empty ones are left out rather than sent as ""."""
    for key, value in (("container.id", e.container_id), ("container.name", e.container_name),
                       ("container.image", e.container_image), ("k8s.pod.name", e.pod_name),
                       ("k8s.ns.name", e.pod_namespace), ("k8s.pod.uid", e.pod_uid)):
        if value:
            fields[key] = value
    if e.container_image:
        repository, tag = image_parts(e.container_image)
        fields["container.image.repository"] = repository
        if tag:
            fields["container.image.tag"] = tag
    info = _known_container(e.container_id) if _known_container and e.container_id else None
    if info is not None:
        fields["container.type"] = info.runtime
        if info.image_id:  # Falco's short form: 12 hex digits
            fields["container.image.id"] = info.image_id.rpartition(":")[2][:12]
        if info.image_digest:
            fields["container.image.digest"] = info.image_digest


def output_fields(finding: Finding) -> dict[str, Any]:
    """Falco-style field names where Falco has one (proc.pid is the host PID, proc.vpid the PID in
    the process's namespace, as in Falco); `tracee.*` for the rest."""
    e, m = finding.event, finding.metadata
    fields: dict[str, Any] = {
        "evt.type": e.event_name,
        "evt.res": e.return_value,
        "proc.name": e.process_name,
        "proc.pid": e.host_process_id,
        "proc.vpid": e.process_id,
        "proc.tid": e.host_thread_id,
        "proc.ppid": e.host_parent_process_id,
        "user.uid": e.user_id,
        "tracee.sig.id": m.id,
        "tracee.sig.severity": m.properties.get("Severity") if m.properties else None,
    }
    _container_fields(e, fields)
    if m.properties and m.properties.get("MITRE ATT&CK"):
        fields["tracee.sig.mitre"] = m.properties["MITRE ATT&CK"]
    for arg in e.args:
        flatten(arg.get("value"), f"evt.arg.{arg.get('name')}", fields)
    if finding.data:
        flatten(finding.data, "tracee.data", fields)
    return fields


def falcosidekick(finding: Finding) -> dict[str, Any]:
    """falcosidekick's FalcoPayload: priority, rule, time and output_fields are what its Check()
    requires; output, source, tags and hostname are what its outputs display or label with."""
    m, e = finding.metadata, finding.event
    when, prio = event_time(finding), priority(finding)
    where = f" container={e.container_id[:12]}" if e.container_id else ""
    data = f" data={go_repr(finding.data)}" if finding.data else ""
    tags = [m.id, *(str(t) for t in (m.tags or ()))]
    external = m.properties.get("external_id") if m.properties else None
    if external:
        tags.append(str(external))
    return {
        "output": f"{when}: {prio} {m.name} ({m.id}) process={e.process_name} pid={e.host_process_id}"
                  f"{where}{data}",
        "priority": prio,
        "rule": m.name or m.id,
        "time": when,
        "output_fields": output_fields(finding),
        "source": "tracee",
        "tags": sorted(set(tags)),
        "hostname": e.host_name or _HOSTNAME,
    }


def render_falcosidekick(finding: Finding) -> str:
    return to_json(falcosidekick(finding))


def render_rawjson(finding: Finding) -> str:
    return rawjson(finding)


BUILTIN_FORMATS: dict[str, Renderer] = {"rawjson": render_rawjson, "falcosidekick": render_falcosidekick}


def template_variables(finding: Finding) -> dict[str, Any]:
    """What a webhook template sees: the stdout template variables plus the falcosidekick pieces."""
    variables = template_context(finding)
    variables.update(Time=event_time(finding), Priority=priority(finding),
                     OutputFields=output_fields(finding), Hostname=finding.event.host_name or _HOSTNAME)
    return variables


def load_template(path: str) -> Renderer:
    """A template file: Jinja2, or a Go template (core's compile_template; errors name file:line)."""
    try:
        template = compile_template(path, keep_trailing_newline=False)
    except ValueError as exc:
        raise ValueError(f"webhook template {exc}") from None

    def render(finding: Finding) -> str:
        return template.render(template_variables(finding))

    return render


def select_renderer(name: str | None) -> tuple[str, Renderer]:
    """`rawjson`, `falcosidekick`, Tracee's bundled file names for them (`/tracee/templates/
    rawjson.tmpl`: Go templates we cannot run, so their built-in equivalents), or a Jinja2 file."""
    if not name:
        return "rawjson", render_rawjson
    if name in BUILTIN_FORMATS:
        return name, BUILTIN_FORMATS[name]
    path = Path(name)
    if path.suffix == ".tmpl" and path.stem in BUILTIN_FORMATS:
        return path.stem, BUILTIN_FORMATS[path.stem]
    if not path.exists():
        raise ValueError(f"webhook template {name}: no such file (or use rawjson, falcosidekick)")
    return "template", load_template(name)
