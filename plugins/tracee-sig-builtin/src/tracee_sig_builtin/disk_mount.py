"""TRC-11: a device (/dev/...) mounted from inside a container, a classic container escape step."""

from __future__ import annotations

from tracee import Event, EventSelector, Signature
from tracee.predicates import arg as field

from ._common import arg, metadata


class DiskMount(Signature):
    """security_sb_mount in a container of a dev_name starting "/dev/", unless it is runc's init
    thread (comm "runc:..." and thread id 1) setting the container up. Data {"mounted device"}."""

    metadata = metadata(
        "TRC-11", "Container Device Mount Detected",
        "Container device filesystem mount detected. A mount of a host device filesystem can be exploited by "
        "adversaries to perform container escape.",
        3, "Privilege Escalation: Escape to Host", tags=("container",))
    selected_events = [EventSelector("security_sb_mount", origin="container",
                                     where=(field("dev_name").startswith("/dev/"),))]

    def on_event(self, event: Event) -> None:
        if event.event_name != "security_sb_mount":
            return
        device = arg(event, "dev_name")
        if type(device) is not str or not device.startswith("/dev/"):
            return
        if event.process_name.startswith("runc:") and event.thread_id == 1:
            return
        self.match(event, {"mounted device": device})
