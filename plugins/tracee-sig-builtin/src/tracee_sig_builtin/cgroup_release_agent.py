"""TRC-14: a container writes a cgroup release_agent file, a known container escape technique."""

from __future__ import annotations

from tracee import Event, EventSelector, Signature
from tracee.predicates import arg as field

from ._common import WRITE, arg, file_access, flags_text, metadata


class CgroupReleaseAgent(Signature):
    """Write-open, in a container, of a path ending "/release_agent"; Data {"File Flags", "File Path"}.
    No tags, as Tracee's rule has none."""

    metadata = metadata(
        "TRC-14", "CGroups Release Agent File Modification",
        "An Attempt to modify CGroups release agent file was detected. CGroups are a Linux kernel feature which "
        "can change a process's resource limitations. Adversaries may use this feature for container escaping.",
        3, "Privilege Escalation: Escape to Host", tags=())
    selected_events = [EventSelector("security_file_open", origin="container", where=(
        field("pathname").endswith("/release_agent"), field("flags").opened_for("write")))]

    def on_event(self, event: Event) -> None:
        if event.event_name != "security_file_open":
            return
        path = arg(event, "pathname")
        if type(path) is str and path.endswith("/release_agent"):
            flags = arg(event, "flags")
            if file_access(flags) & WRITE:
                self.match(event, {"File Flags": flags_text(flags), "File Path": path})
